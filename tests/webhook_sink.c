/*
 * webhook_sink.c -- an Alertmanager webhook receiver for the end-to-end
 * tests: webhook_sink PORTFILE OUTFILE.
 *
 * Listens on 127.0.0.1, on a port the kernel picks, and writes that port to
 * PORTFILE (through PORTFILE.tmp and a rename, so a reader never sees half a
 * number). Each POST body is parsed as JSON and appended to OUTFILE as one
 * compact line, flushed at once; the answer is 200 (400 for a body that is
 * not JSON, which is reported on stderr and not written). Exits 0 on SIGTERM
 * or SIGINT. One HTTP thread, so lines are never interleaved.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "rarr/buf.h"

#define SINK_BODY_MAX (1u << 20)

/* The body of one request, gathered over the calls for it. */
struct sink_request {
    struct buf body;
    int too_big;
};

/* Queue the answer 'status' with the text 'msg'. */
static enum MHD_Result
sink_reply(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    /* The API takes a 'void *' even for a buffer it only copies. */
    r = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Append the JSON text 'p'/'len' to 'out' as one compact line. Returns 0, or -1. */
static int
sink_write(FILE *out, const char *p, size_t len)
{
    json_error_t jerr;
    json_t *v;
    char *line;
    int rc = -1;

    if ((v = json_loadb(p, len, 0, &jerr)) == NULL) {
        fprintf(stderr, "webhook_sink: body is not JSON: %s\n", jerr.text);
        return -1;
    }
    if ((line = json_dumps(v, JSON_COMPACT)) != NULL) {
        if (fprintf(out, "%s\n", line) > 0 && fflush(out) == 0)
            rc = 0;
        free(line);
    }
    json_decref(v);
    return rc;
}

/*
 * The access handler: gathers a POST body over the calls for it, then
 * writes it out and answers. Anything else than POST gets 405.
 */
static enum MHD_Result
sink_answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
            const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
    struct sink_request *req = *con_cls;

    (void)url;
    (void)version;
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return sink_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n");
    if (req == NULL) {
        if ((req = calloc(1, sizeof(*req))) == NULL)
            return MHD_NO;
        buf_init(&req->body);
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_len > 0) {
        if (req->body.len + *upload_len > SINK_BODY_MAX ||
            buf_add(&req->body, upload, *upload_len) != 0)
            req->too_big = 1;
        *upload_len = 0;
        return MHD_YES;
    }
    if (req->too_big)
        return sink_reply(c, MHD_HTTP_CONTENT_TOO_LARGE, "too big\n");
    if (sink_write(cls, req->body.p != NULL ? req->body.p : "", req->body.len) == -1)
        return sink_reply(c, MHD_HTTP_BAD_REQUEST, "not JSON\n");
    return sink_reply(c, MHD_HTTP_OK, "ok\n");
}

/* Free a request's body when the request is done. */
static void
sink_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode tc)
{
    struct sink_request *req = *con_cls;

    (void)cls;
    (void)c;
    (void)tc;
    if (req == NULL)
        return;
    buf_fini(&req->body);
    free(req);
    *con_cls = NULL;
}

/* Write 'port' to 'path' through 'path'.tmp and a rename. Returns 0, or -1. */
static int
sink_write_port(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -1;
    if ((f = fopen(tmp, "w")) == NULL)
        return -1;
    if (fprintf(f, "%u\n", port) < 0) {
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

int
main(int argc, char **argv)
{
    struct sockaddr_in sa;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t stop;
    FILE *out;
    int sig;

    if (argc != 3) {
        fprintf(stderr, "usage: webhook_sink PORTFILE OUTFILE\n");
        return 2;
    }
    if ((out = fopen(argv[2], "a")) == NULL) {
        perror(argv[2]);
        return 1;
    }
    /*
     * Blocked before the HTTP thread starts, so only sigwait() sees them; set
     * to their default first, as a shell starts a background job with SIGINT
     * ignored, and an ignored signal is dropped rather than waited for.
     */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         sink_answer, out, MHD_OPTION_NOTIFY_COMPLETED, sink_done, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "webhook_sink: cannot listen on 127.0.0.1\n");
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0 || sink_write_port(argv[1], info->port) == -1) {
        fprintf(stderr, "webhook_sink: %s: cannot write the port\n", argv[1]);
        MHD_stop_daemon(d);
        return 1;
    }
    while (sigwait(&stop, &sig) != 0)
        ;
    MHD_stop_daemon(d);
    fclose(out);
    return 0;
}
