/*
 * serve.c -- the --listen HTTP server, beside the pipeline: GET /metrics
 * answers with the latest exposition text the pipeline published.
 *
 * libmicrohttpd runs the HTTP on its own thread. The pipeline thread calls
 * serve_publish() with a whole new text; the HTTP thread copies the text out
 * under the same mutex into each response, so a reader never sees half of a
 * text. Memory is one text and one copy per open connection (at most
 * SERVE_MAX_CONNS of them).
 *
 * The listening socket is made here, not by libmicrohttpd, so that a bind
 * failure is reported with its own errno ("127.0.0.1:80: Permission
 * denied"); libmicrohttpd gets it with MHD_OPTION_LISTEN_SOCKET. Loopback is
 * the default address: serving every address takes an explicit ":PORT".
 */
#include "rarr/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#define SERVE_MAX_CONNS 64
#define SERVE_TIMEOUT_S 10
#define SERVE_HOST_MAX (INET6_ADDRSTRLEN + 2) /* "[::1]", "127.0.0.1" */
#define SERVE_ADDR_MAX (SERVE_HOST_MAX + 8)   /* and ":65535" */

#define SERVE_TEXT_TYPE "text/plain; charset=utf-8"
#define SERVE_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define SERVE_INDEX                                                                                \
    "rarr\n"                                                                                       \
    "/metrics  the metrics, Prometheus text format\n"                                              \
    "/healthz  ok when rarr runs\n"

struct serve {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock; /* guards text and len */
    char *text;
    size_t len;
    unsigned port;
    char address[SERVE_ADDR_MAX]; /* "ADDR:PORT" as bound */
};

/* A parsed --listen spec: the socket address and its text without the port. */
struct serve_spec {
    struct sockaddr_storage sa;
    socklen_t salen;
    int family;
    char host[SERVE_HOST_MAX]; /* "127.0.0.1", "[::1]" */
};

/*
 * Copy 'spec' into 'out' (of 'outlen' bytes, at least 1) for a message: at
 * most 64 bytes, anything that is not printable ASCII as '?', so a hostile
 * argument cannot drive the terminal.
 */
static void
serve_excerpt(char *out, size_t outlen, const char *spec)
{
    size_t i;

    for (i = 0; i < 64 && i + 1 < outlen && spec[i] != '\0'; i++)
        out[i] = spec[i] >= 0x20 && spec[i] < 0x7f ? spec[i] : '?';
    out[i] = '\0';
}

/* Read a port, 0 to 65535 in decimal digits only, from 'p'. Returns 0, or -1. */
static int
serve_parse_port(const char *p, unsigned *port)
{
    unsigned long v = 0;
    size_t n;

    for (n = 0; p[n] >= '0' && p[n] <= '9'; n++) {
        v = v * 10 + (unsigned long)(p[n] - '0');
        if (v > 65535)
            return -1;
    }
    if (n == 0 || p[n] != '\0')
        return -1;
    *port = (unsigned)v;
    return 0;
}

/*
 * Fill 'sp' with the address 'host' (its first 'hostlen' bytes): empty for
 * every IPv4 address, "localhost", an IPv4 literal, or "[IPv6]". Returns 0,
 * or -1 when it is none of those.
 */
static int
serve_parse_host(struct serve_spec *sp, const char *host, size_t hostlen)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&sp->sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sp->sa;
    char h[SERVE_ADDR_MAX], ip[INET6_ADDRSTRLEN];

    if (hostlen >= sizeof(h))
        return -1;
    memcpy(h, host, hostlen);
    h[hostlen] = '\0';
    if (hostlen > 2 && h[0] == '[' && h[hostlen - 1] == ']') {
        h[hostlen - 1] = '\0';
        if (inet_pton(AF_INET6, h + 1, &v6->sin6_addr) != 1)
            return -1;
        v6->sin6_family = AF_INET6;
        sp->family = AF_INET6;
        sp->salen = sizeof(*v6);
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
        snprintf(sp->host, sizeof(sp->host), "[%s]", ip);
        return 0;
    }
    if (hostlen == 0)
        v4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(h, "localhost") == 0)
        v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, h, &v4->sin_addr) != 1)
        return -1;
    v4->sin_family = AF_INET;
    sp->family = AF_INET;
    sp->salen = sizeof(*v4);
    inet_ntop(AF_INET, &v4->sin_addr, sp->host, sizeof(sp->host));
    return 0;
}

/*
 * Parse a --listen spec, "PORT" (127.0.0.1), "ADDR:PORT" or ":PORT" (every
 * IPv4 address), into 'sp'. Returns 0, or -1 with a message in 'err'.
 */
static int
serve_parse_spec(struct serve_spec *sp, const char *spec, char *err, size_t errlen)
{
    const char *colon = strrchr(spec, ':');
    char ex[80];
    unsigned port;

    memset(sp, 0, sizeof(*sp));
    serve_excerpt(ex, sizeof(ex), spec);
    if (serve_parse_port(colon != NULL ? colon + 1 : spec, &port) == -1) {
        snprintf(err, errlen, "expected [ADDR:]PORT with a PORT from 0 to 65535, got '%s'", ex);
        return -1;
    }
    if (colon == NULL) {
        serve_parse_host(sp, "127.0.0.1", strlen("127.0.0.1"));
    } else if (serve_parse_host(sp, spec, (size_t)(colon - spec)) == -1) {
        snprintf(err, errlen,
                 "expected an IPv4 address, localhost or [IPv6] before ':PORT', got '%s'", ex);
        return -1;
    }
    if (sp->family == AF_INET6)
        ((struct sockaddr_in6 *)&sp->sa)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&sp->sa)->sin_port = htons((uint16_t)port);
    return 0;
}

/* The port of 'sp', in host order. */
static unsigned
serve_spec_port(const struct serve_spec *sp)
{
    if (sp->family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&sp->sa)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&sp->sa)->sin_port);
}

/*
 * Make the listening socket of 'sp' (close-on-exec, address reuse, IPv6 only
 * for an IPv6 address). Returns the descriptor, or -1 with "ADDR:PORT:
 * strerror" in 'err', the address as it was to be bound ("localhost:80" says
 * "127.0.0.1:80").
 */
static int
serve_listen(const struct serve_spec *sp, char *err, size_t errlen)
{
    int fd, on = 1, e;

    if ((fd = socket(sp->family, SOCK_STREAM, 0)) == -1)
        goto fail;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
        goto fail;
    if (sp->family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
        goto fail;
    if (bind(fd, (const struct sockaddr *)&sp->sa, sp->salen) == -1 ||
        listen(fd, SERVE_MAX_CONNS) == -1)
        goto fail;
    return fd;
fail:
    e = errno;
    if (fd != -1)
        close(fd);
    snprintf(err, errlen, "%s:%u: %s", sp->host, serve_spec_port(sp), strerror(e));
    return -1;
}

/* libmicrohttpd's own messages, to stderr as ours: "rarr: listen: ...". */
__attribute__((format(printf, 2, 0))) static void
serve_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    fprintf(stderr, "rarr: listen: %s\n", msg);
}

/*
 * Queue the answer 'status' with the body 'body'/'len' (copied) of type
 * 'type' (NULL for none), and "Allow: GET, HEAD" when 'allow' is set.
 */
static enum MHD_Result
serve_reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
            size_t len, int allow)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    /* The API takes a 'void *' even for a buffer it only copies. */
    r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if ((type != NULL &&
         MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) ||
        (allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Answer /metrics with a copy of the latest text, taken under the lock. */
static enum MHD_Result
serve_metrics(struct serve *srv, struct MHD_Connection *c)
{
    enum MHD_Result ret;

    pthread_mutex_lock(&srv->lock);
    ret = serve_reply(c, MHD_HTTP_OK, SERVE_METRICS_TYPE, srv->text != NULL ? srv->text : "",
                      srv->len, 0);
    pthread_mutex_unlock(&srv->lock);
    return ret;
}

/*
 * The access handler. Every answer is queued on the first call for a request
 * (an upload body is never read: the connection closes after the answer), so
 * no per-request state is kept. Query strings never reach 'url'.
 */
static enum MHD_Result
serve_answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
             const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
    struct serve *srv = cls;
    int known, readonly;

    (void)version;
    (void)upload;
    (void)upload_len;
    (void)con_cls;
    known = strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0 || strcmp(url, "/") == 0;
    readonly =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (!known)
        return serve_reply(c, MHD_HTTP_NOT_FOUND, SERVE_TEXT_TYPE, "not found\n", 10, 0);
    if (!readonly)
        return serve_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, SERVE_TEXT_TYPE, "method not allowed\n",
                           19, 1);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(srv, c);
    if (strcmp(url, "/healthz") == 0)
        return serve_reply(c, MHD_HTTP_OK, SERVE_TEXT_TYPE, "ok\n", 3, 0);
    return serve_reply(c, MHD_HTTP_OK, SERVE_TEXT_TYPE, SERVE_INDEX, strlen(SERVE_INDEX), 0);
}

/*
 * Start serving on 'spec' ("PORT", "ADDR:PORT", ":PORT", "[IPv6]:PORT"; port
 * 0 takes an ephemeral port) on a thread of its own. /metrics is empty until
 * the first serve_publish(). Returns the server, to be stopped with
 * serve_stop(), or NULL with a message in 'err' (a bad spec, with errno
 * EINVAL; a bind failure; out of memory).
 */
struct serve *
serve_start(const char *spec, char *err, size_t errlen)
{
    struct serve_spec sp;
    struct serve *srv;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    int fd;

    if (serve_parse_spec(&sp, spec, err, errlen) == -1) {
        errno = EINVAL;
        return NULL;
    }
    if ((srv = calloc(1, sizeof(*srv))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&srv->lock, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        free(srv);
        return NULL;
    }
    if ((fd = serve_listen(&sp, err, errlen)) == -1)
        goto err;
    if (sp.family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /*
     * The logger goes first, or libmicrohttpd's own logger has the options
     * before it. On failure libmicrohttpd may have closed 'fd' already: it is
     * left, not closed twice (another thread may have the number by then).
     */
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, serve_answer, srv, MHD_OPTION_EXTERNAL_LOGGER, serve_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVE_MAX_CONNS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_TIMEOUT_S, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(err, errlen, "%s:%u: cannot start the HTTP server", sp.host, serve_spec_port(&sp));
        goto err;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL ? info->port : 0;
    snprintf(srv->address, sizeof(srv->address), "%s:%u", sp.host, srv->port);
    return srv;
err:
    serve_stop(srv);
    return NULL;
}

/* The port bound (the ephemeral one when 0 was asked for). */
unsigned
serve_port(const struct serve *srv)
{
    return srv->port;
}

/* "ADDR:PORT" as bound, IPv6 in brackets: "127.0.0.1:9100", "[::1]:9100". */
const char *
serve_address(const struct serve *srv)
{
    return srv->address;
}

/*
 * Serve 'text'/'len' (copied; borrowed only for the call) from now on, in
 * place of the text before. Returns 0, or -1 out of memory (the old text is
 * still served).
 */
int
serve_publish(struct serve *srv, const char *text, size_t len)
{
    char *copy, *old;

    /* Copy outside the lock; the HTTP thread waits only for the swap. */
    if ((copy = malloc(len > 0 ? len : 1)) == NULL)
        return -1;
    if (len > 0)
        memcpy(copy, text, len);
    pthread_mutex_lock(&srv->lock);
    old = srv->text;
    srv->text = copy;
    srv->len = len;
    pthread_mutex_unlock(&srv->lock);
    free(old);
    return 0;
}

/* Stop the server (its thread and its connections) and free it. NULL is fine. */
void
serve_stop(struct serve *srv)
{
    if (srv == NULL)
        return;
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    pthread_mutex_destroy(&srv->lock);
    free(srv->text);
    free(srv);
}

/* The version of libmicrohttpd the server runs with ("0.9.75"). */
const char *
serve_library(void)
{
    return MHD_get_version();
}
