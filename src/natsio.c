/*
 * natsio.c -- partial records over NATS JetStream (--nats URI), with libnats.
 *
 * One natsio is either a publisher or a consumer of one subject, stored in
 * the stream "RARR_<subject>" (file storage, limits retention, 7 days, a
 * duplicate window of 1 hour so that a message id published twice is stored
 * once). Either side creates the stream when it is absent and uses it as it
 * is when present.
 *
 * Publisher. natsio_publish never waits on the network: it appends the
 * message to a queue and returns. A thread of its own (the pump) hands the
 * queue to libnats' asynchronous publish, in order, while the connection is
 * up and the stream has been checked since the last (re)connect; libnats
 * calls pub_acked with the outcome of each. A message is "pending" from
 * natsio_publish until its outcome: queued here, or handed and awaiting its
 * ack. At most max_pending are pending; more are dropped and counted. While
 * the server is away the queue holds the first max_pending messages and the
 * pump hands them over once it is back, so a restart of the server loses
 * nothing that fitted. A handed message with no ack after NATSIO_ACK_WAIT_MS
 * (its ack lost with the connection) counts as failed; it is not sent again.
 *
 * Consumer. A durable pull consumer (AckPolicy All) is read with
 * natsio_fetch. Delivered messages are "held": natsio keeps the ack subject
 * of each until natsio_ack_through acks the highest one asked for, which
 * acks all before it. A consumer found at start with messages delivered and
 * never acked (its process died) is made again from its ack floor, so those
 * messages come at once rather than after the 30 s ack wait.
 *
 * Threads: libnats runs its own (reader, flusher, timers, callbacks); the
 * constructors block every signal while they create them, so that signals
 * reach the main thread, whose reads they must interrupt (main.c). The
 * callbacks touch only what is under n->sync->mu. natsio_free waits for the
 * connection's last callback before freeing.
 */
#include "rarr/natsio.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#define NATSIO_SCHEME "nats://"
#define NATSIO_DEFAULT_PORT "4222"
#define NATSIO_URLS_MAX 64 /* servers in one URI */
#define NATSIO_HOST_MAX 256
#define NATSIO_URL_MAX 300 /* one "nats://host:port", NUL included */

#define NATSIO_API_MS 5000            /* a JetStream API request (stream, consumer) */
#define NATSIO_PUMP_API_MS 2000       /* the same from the pump, so that a stop is not held up */
#define NATSIO_ACK_WAIT_MS 10000      /* a publish without its ack after this has failed */
#define NATSIO_ACK_MS 2000            /* natsio_ack_through's wait for the server's reply */
#define NATSIO_RETRY_MS 1000          /* between attempts at the stream after a reconnect */
#define NATSIO_RECONNECT_MS 250       /* the first wait between reconnect attempts ... */
#define NATSIO_RECONNECT_MAX_MS 1000  /* ... doubling up to this */
#define NATSIO_PING_MS 10000          /* a dead peer is noticed after a few of these */
#define NATSIO_CLOSE_MS 5000          /* natsio_free's wait for libnats' last callback */
#define NATSIO_MAX_ACK_PENDING 100000 /* consumer: unacked deliveries the server allows */
#define NATSIO_RESEND_MS 250          /* a failed publish is sent again after this ... */
#define NATSIO_RESEND_MAX_MS 2000     /* ... doubling up to this */
#define NATSIO_RESEND_TRIES 60        /* attempts at one message before it counts as failed */
#define NATSIO_START_MS 30000         /* how long a start waits out a cluster electing leaders */

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)

/* What the callbacks share with the caller's thread; separate so that a const natsio can lock. */
struct natsio_sync {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* any change below; CLOCK_MONOTONIC */
};

/* One delivered, unacked message: its stream sequence and ack subject. */
struct natsio_held {
    uint64_t seq;
    char *reply;
};

struct natsio {
    struct natsio_uri uri;
    FILE *log;
    int consumer; /* else publisher */
    char durable[128];
    char srv[NATSIO_SERVERS_MAX]; /* uri.servers cut at the commas, for urls[] */
    const char *urls[NATSIO_URLS_MAX];
    int nurls;
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub;
    jsPubOptions pubopts;
    struct natsio_sync *sync;
    int mu_ok, cond_ok;

    /* Under sync->mu: the connection as the callbacks last saw it. */
    int connected;
    int events;               /* callbacks seen */
    int closed;               /* the closed callback ran: no callback will follow */
    int stopping;             /* natsio_free has begun */
    uint64_t conn_gen;        /* bumped at each (re)connect */
    uint64_t stream_gen;      /* the conn_gen at which the stream was last checked */
    char url[NATSIO_URL_MAX]; /* the server connected to last */
    natsStatus told_err;      /* the last asynchronous error told; NATS_OK: none */
    natsStatus api_last;      /* the status of the last JetStream API request that failed */
    struct natsio_stats st;

    /* Publisher, under sync->mu: the queue, a ring of qcap = max_pending. */
    natsMsg **queue;
    size_t qcap, qhead, qlen;
    size_t inflight;   /* handed to libnats, outcome not known yet */
    int pump_idle;     /* the pump waits for work */
    int handed;        /* a message was handed to libnats */
    int64_t ensure_ms; /* not before this (monotonic) is the stream tried again */
    int64_t resend_ms; /* not before this is the failed message at the head sent again */
    int tries;         /* attempts at the message at the head (in flight, or failed) */
    int told_stream, told_fail;
    uint64_t failed_told; /* st.failed when the failure was told */
    pthread_t pump;
    int pump_started;

    /* Consumer, the caller's thread only (the counts are in st). */
    struct natsio_held *held; /* [hhead, hlen) held, in increasing seq */
    size_t hhead, hlen, hcap;
    uint64_t last_seq; /* the highest sequence given to the callback */
    natsMsgList rest;  /* fetched, from rest_i not given to the callback yet */
    int rest_i;
    int told_fetch;
};

/* Set '*why' and return -1. */
static int
bad(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

/* Format the reason into 'err' and return -1. */
static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errsz > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Tell one line on the log, "rarr: nats: ..."; silent without one. */
static void say(const struct natsio *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(const struct natsio *n, const char *fmt, ...)
{
    va_list ap;

    if (n->log == NULL)
        return;
    va_start(ap, fmt);
    flockfile(n->log);
    fputs("rarr: nats: ", n->log);
    vfprintf(n->log, fmt, ap);
    fputc('\n', n->log);
    fflush(n->log);
    funlockfile(n->log);
    va_end(ap);
}

/* libnats' text for the last error of this thread, without its "(conn.c:2088): ", else the
 * status's. */
static const char *
nats_why(natsStatus s)
{
    natsStatus last = NATS_OK;
    const char *text = nats_GetLastError(&last), *p;

    if (text == NULL || text[0] == '\0')
        return natsStatus_GetText(s);
    if (text[0] == '(' && (p = strstr(text, "): ")) != NULL && p[3] != '\0')
        return p + 3;
    return text;
}

/* The monotonic clock in milliseconds. */
static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

/* Wait on the condition until 'deadline_ms' at the latest (mutex held). */
static void
wait_until(struct natsio_sync *y, int64_t deadline_ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(deadline_ms / 1000);
    ts.tv_nsec = (long)(deadline_ms % 1000 * NS_PER_MS);
    pthread_cond_timedwait(&y->cond, &y->mu, &ts);
}

/*
 * URI parsing.
 */

/* Host characters: a name or an IPv4 address; IPv6 comes in brackets. */
static int
host_char(int c, int bracketed)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return bracketed ? c == ':' || c == '.' : c == '.' || c == '-' || c == '_';
}

/* Parse one HOST[:PORT] of [p, end) and append "nats://HOST:PORT" to out->servers. */
static int
parse_server(const char *p, const char *end, struct natsio_uri *out, const char **why)
{
    const char *h = p, *port = NATSIO_DEFAULT_PORT;
    size_t hlen, plen = strlen(NATSIO_DEFAULT_PORT), used = strlen(out->servers);
    int bracketed = *p == '[';
    long v = 0;
    int k;

    for (p += bracketed; p < end && host_char((unsigned char)*p, bracketed); p++)
        ;
    if (bracketed && (p == end || *p++ != ']'))
        return bad(why, "an IPv6 address needs its closing ]");
    if ((hlen = (size_t)(p - h)) == (size_t)bracketed * 2)
        return bad(why, "a server has no host");
    if (p < end && *p == ':') {
        port = ++p;
        for (; p < end && *p >= '0' && *p <= '9' && v <= 65535; p++)
            v = v * 10 + (*p - '0');
        plen = (size_t)(p - port);
        if (p != end || plen == 0 || v < 1 || v > 65535)
            return bad(why, "a port is a number from 1 to 65535");
    }
    if (p != end)
        return bad(why, "a server is HOST:PORT (a name, an IPv4 address or [IPv6])");
    if (hlen >= NATSIO_HOST_MAX)
        return bad(why, "a host name is too long");
    k = snprintf(out->servers + used, sizeof(out->servers) - used, "%s" NATSIO_SCHEME "%.*s:%.*s",
                 used > 0 ? "," : "", (int)hlen, h, (int)plen, port);
    if (k < 0 || (size_t)k >= sizeof(out->servers) - used)
        return bad(why, "the server list is too long");
    return 0;
}

/* Check the subject in [p, end) and copy it: no wildcard, no empty token, no space. */
static int
parse_subject(const char *p, const char *end, struct natsio_uri *out, const char **why)
{
    size_t len = (size_t)(end - p), i;

    if (len == 0)
        return bad(why, "the subject is empty");
    if (len >= sizeof(out->subject))
        return bad(why, "the subject is too long");
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '*' || c == '>')
            return bad(why, "the subject has a wildcard (* or >): the stream needs one subject");
        if (c <= ' ' || c == 0x7f)
            return bad(why, "the subject has a space or a control character");
        if (c == '.' && (i == 0 || i == len - 1 || p[i + 1] == '.'))
            return bad(why, "the subject has an empty token");
    }
    memcpy(out->subject, p, len);
    out->subject[len] = '\0';
    return 0;
}

/* Parse the options after '?': "replicas=N" (1..NATSIO_REPLICAS_MAX), '&' between. */
static int
parse_query(const char *p, struct natsio_uri *out, const char **why)
{
    static const char key[] = "replicas=";

    for (;;) {
        size_t len = strcspn(p, "&");

        if (len != sizeof(key) || strncmp(p, key, sizeof(key) - 1) != 0)
            return bad(why, "unknown option (the one known is replicas=N)");
        if (p[len - 1] < '1' || p[len - 1] > '0' + NATSIO_REPLICAS_MAX)
            return bad(why, "replicas is a number from 1 to 5");
        out->replicas = p[len - 1] - '0';
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

/*
 * Parse 'uri', nats://HOST:PORT[,HOST:PORT...]/SUBJECT[?replicas=N], into
 * 'out'. A missing :PORT is NATS' 4222. The stream is "RARR_" and the
 * subject with every byte other than [A-Za-z0-9_-] made '_'. Returns 0, or
 * -1 with '*why' a static reason ("the subject is empty").
 */
int
natsio_parse(const char *uri, struct natsio_uri *out, const char **why)
{
    const char *p, *end, *q;
    int nsrv = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->replicas = 1;
    if (strncmp(uri, NATSIO_SCHEME, strlen(NATSIO_SCHEME)) != 0)
        return bad(why, "expected nats://HOST:PORT/SUBJECT");
    p = uri + strlen(NATSIO_SCHEME);
    if (strchr(p, '/') == NULL)
        return bad(why, "no /SUBJECT after the servers");
    for (;; p = end + 1) {
        end = p + strcspn(p, ",/");
        if (++nsrv > NATSIO_URLS_MAX)
            return bad(why, "too many servers (64 at most)");
        if (parse_server(p, end, out, why) == -1)
            return -1;
        if (*end == '/')
            break;
    }
    p = end + 1;
    q = p + strcspn(p, "?");
    if (parse_subject(p, q, out, why) == -1 || (*q == '?' && parse_query(q + 1, out, why) == -1))
        return -1;
    memcpy(out->stream, "RARR_", 5);
    for (i = 0; out->subject[i] != '\0'; i++) {
        char c = out->subject[i];

        out->stream[5 + i] = host_char((unsigned char)c, 0) && c != '.' ? c : '_';
    }
    out->stream[5 + i] = '\0';
    return 0;
}

/*
 * The connection: options, callbacks, connect.
 */

/* The wait before the next round of reconnect attempts: 250 ms, 500 ms, then 1 s. */
static int64_t
reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
    int64_t ms = NATSIO_RECONNECT_MS;

    (void)nc;
    (void)closure;
    while (--attempts > 0 && ms < NATSIO_RECONNECT_MAX_MS)
        ms *= 2;
    return ms < NATSIO_RECONNECT_MAX_MS ? ms : NATSIO_RECONNECT_MAX_MS;
}

/* The connection is up (first connect after a failed one, or a reconnect): tell, wake the pump. */
static void
conn_up(struct natsio *n, natsConnection *nc, const char *what)
{
    char url[NATSIO_URL_MAX];
    int quiet;

    if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK || url[0] == '\0')
        snprintf(url, sizeof(url), "%s", n->urls[0]);
    pthread_mutex_lock(&n->sync->mu);
    n->connected = 1;
    n->events++;
    n->conn_gen++;
    n->ensure_ms = 0;
    snprintf(n->url, sizeof(n->url), "%s", url);
    quiet = n->stopping;
    pthread_cond_broadcast(&n->sync->cond);
    pthread_mutex_unlock(&n->sync->mu);
    if (!quiet)
        say(n, "%s %s", what, url);
}

/* The first connect, when natsConnection_Connect could not, and every reconnect. */
static void
on_connected(natsConnection *nc, void *closure)
{
    conn_up(closure, nc, "connected to");
}

static void
on_reconnected(natsConnection *nc, void *closure)
{
    conn_up(closure, nc, "reconnected to");
}

/* The connection is lost; libnats reconnects by itself. One line, not one per message. */
static void
on_disconnected(natsConnection *nc, void *closure)
{
    struct natsio *n = closure;
    char url[NATSIO_URL_MAX];
    int quiet;

    (void)nc;
    pthread_mutex_lock(&n->sync->mu);
    n->connected = 0;
    n->events++;
    quiet = n->stopping;
    snprintf(url, sizeof(url), "%s", n->url);
    pthread_cond_broadcast(&n->sync->cond);
    pthread_mutex_unlock(&n->sync->mu);
    if (!quiet)
        say(n, "lost the connection to %s; reconnecting in the background", url);
}

/* The last callback of a connection: natsio_free waits for it. */
static void
on_closed(natsConnection *nc, void *closure)
{
    struct natsio *n = closure;

    (void)nc;
    pthread_mutex_lock(&n->sync->mu);
    n->closed = 1;
    pthread_cond_broadcast(&n->sync->cond);
    pthread_mutex_unlock(&n->sync->mu);
}

/* An asynchronous error (a slow consumer, a protocol error): told once until another comes. */
static void
on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    struct natsio *n = closure;
    int tell;

    (void)nc;
    (void)sub;
    pthread_mutex_lock(&n->sync->mu);
    tell = n->told_err != err && !n->stopping;
    n->told_err = err;
    pthread_mutex_unlock(&n->sync->mu);
    if (tell)
        say(n, "%s", natsStatus_GetText(err));
}

/* Cut uri.servers into n->urls (pointers into n->srv). */
static void
split_servers(struct natsio *n)
{
    char *p, *save = NULL;

    snprintf(n->srv, sizeof(n->srv), "%s", n->uri.servers);
    for (p = strtok_r(n->srv, ",", &save); p != NULL && n->nurls < NATSIO_URLS_MAX;
         p = strtok_r(NULL, ",", &save))
        n->urls[n->nurls++] = p;
}

/* The options of every natsio connection; 'retry': a failed first connect is retried. */
static natsStatus
conn_options(struct natsio *n, int retry)
{
    natsOptions *o;
    natsStatus s;

    if ((s = natsOptions_Create(&n->opts)) != NATS_OK)
        return s;
    o = n->opts;
    if ((s = natsOptions_SetServers(o, n->urls, n->nurls)) != NATS_OK ||
        (s = natsOptions_SetName(o, "rarr")) != NATS_OK ||
        (s = natsOptions_SetMaxReconnect(o, -1)) != NATS_OK ||
        (s = natsOptions_SetReconnectWait(o, NATSIO_RECONNECT_MS)) != NATS_OK ||
        (s = natsOptions_SetCustomReconnectDelay(o, reconnect_delay, NULL)) != NATS_OK ||
        (s = natsOptions_SetPingInterval(o, NATSIO_PING_MS)) != NATS_OK ||
        (s = natsOptions_SetMaxPingsOut(o, 3)) != NATS_OK ||
        (s = natsOptions_SetDisconnectedCB(o, on_disconnected, n)) != NATS_OK ||
        (s = natsOptions_SetReconnectedCB(o, on_reconnected, n)) != NATS_OK ||
        (s = natsOptions_SetClosedCB(o, on_closed, n)) != NATS_OK ||
        (s = natsOptions_SetErrorHandler(o, on_error, n)) != NATS_OK)
        return s;
    if (retry)
        s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, n);
    return s;
}

/*
 * Connect to the servers of the URI. Returns 0 connected, 1 not yet
 * ('retry': trying in the background), or -1 with the reason in err.
 */
static int
conn_open(struct natsio *n, int retry, char *err, size_t errsz)
{
    natsStatus s;
    int rc;

    split_servers(n);
    if ((s = conn_options(n, retry)) != NATS_OK)
        return fail(err, errsz, "nats options: %s", nats_why(s));
    s = natsConnection_Connect(&n->nc, n->opts);
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
        return fail(err, errsz, "cannot connect to %s: %s", n->uri.servers, nats_why(s));
    rc = s == NATS_OK ? 0 : 1;
    pthread_mutex_lock(&n->sync->mu);
    /* A callback that came first knows better (a disconnect right after the connect). */
    if (rc == 0 && n->events == 0) {
        n->connected = 1;
        n->conn_gen = 1;
        if (natsConnection_GetConnectedUrl(n->nc, n->url, sizeof(n->url)) != NATS_OK)
            n->url[0] = '\0';
    }
    if (n->url[0] == '\0')
        snprintf(n->url, sizeof(n->url), "%s", n->urls[0]);
    pthread_mutex_unlock(&n->sync->mu);
    return rc;
}

/*
 * Make sure the stream exists: look it up, create it when absent (another
 * rarr creating it at the same time is fine). An existing stream is used as
 * it is. 'wait_ms' bounds each API request. Returns 0 or -1 with err.
 */
static int
stream_ensure(struct natsio *n, int64_t wait_ms, char *err, size_t errsz)
{
    const char *subjects[1] = {n->uri.subject};
    jsStreamInfo *si = NULL;
    jsStreamConfig cfg;
    jsErrCode jerr = 0;
    jsOptions jo;
    natsStatus s;

    jsOptions_Init(&jo);
    jo.Wait = wait_ms;
    s = js_GetStreamInfo(&si, n->js, n->uri.stream, &jo, &jerr);
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK)
        return 0;
    if (s != NATS_NOT_FOUND) {
        if (jerr == JSNotEnabledErr)
            return fail(err, errsz, "JetStream is not enabled on %s", n->uri.servers);
        return n->api_last = s,
               fail(err, errsz, "cannot look up stream %s: %s", n->uri.stream, nats_why(s));
    }
    jsStreamConfig_Init(&cfg);
    cfg.Name = n->uri.stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Replicas = n->uri.replicas;
    cfg.Duplicates = 3600 * NS_PER_S;
    cfg.MaxAge = 7 * 24 * 3600 * NS_PER_S;
    si = NULL;
    jerr = 0;
    s = js_AddStream(&si, n->js, &cfg, &jo, &jerr);
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK || jerr == JSStreamNameExistErr)
        return 0;
    n->api_last = s;
    return fail(err, errsz, "cannot create stream %s for subject %s: %s", n->uri.stream,
                n->uri.subject, nats_why(s));
}

/*
 * The stream made sure of (and with 'consumer', the durable bound), asking
 * again for up to NATSIO_START_MS while the answer is a timeout or no
 * responder: a cluster electing a leader (a node just lost) answers so for
 * a few seconds. Any other failure is at once. Returns 0 or -1 with err.
 */
static int consumer_bind(struct natsio *n, char *err, size_t errsz);

static int
api_retry(struct natsio *n, int consumer, char *err, size_t errsz)
{
    int64_t deadline = now_ms() + NATSIO_START_MS;
    struct timespec pause = {1, 0};
    int told = 0;

    for (;;) {
        n->api_last = NATS_OK;
        if (stream_ensure(n, NATSIO_API_MS, err, errsz) == 0 &&
            (!consumer || consumer_bind(n, err, errsz) == 0))
            return 0;
        if ((n->api_last != NATS_TIMEOUT && n->api_last != NATS_NO_RESPONDERS) ||
            now_ms() >= deadline)
            return -1;
        if (!told)
            say(n, "%s; trying again", err);
        told = 1;
        nanosleep(&pause, NULL);
    }
}

/* A natsio with its URI parsed and its lock made; NULL with err. */
static struct natsio *
natsio_new(const char *uri, FILE *log, int consumer, char *err, size_t errsz)
{
    struct natsio *n;
    pthread_condattr_t ca;
    const char *why;

    if ((n = calloc(1, sizeof(*n))) == NULL || (n->sync = calloc(1, sizeof(*n->sync))) == NULL) {
        free(n);
        fail(err, errsz, "out of memory");
        return NULL;
    }
    n->log = log;
    n->consumer = consumer;
    n->told_err = NATS_OK;
    n->mu_ok = pthread_mutex_init(&n->sync->mu, NULL) == 0;
    if (pthread_condattr_init(&ca) == 0) {
        n->cond_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                     pthread_cond_init(&n->sync->cond, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!n->mu_ok || !n->cond_ok) {
        fail(err, errsz, "cannot make a lock");
        natsio_free(n);
        return NULL;
    }
    if (natsio_parse(uri, &n->uri, &why) == -1) {
        fail(err, errsz, "%s: %s", uri, why);
        natsio_free(n); /* no connection yet: it frees everything */
        return NULL;    /* NOLINT(clang-analyzer-unix.Malloc): freed above */
    }
    return n;
}

/*
 * Publisher.
 */

/*
 * Put a copy of 'msg' (its subject, data and message id) back at the head
 * of the queue, to be sent again after a pause (mutex held). The room is
 * there: it was in flight. Returns 0, or -1 when it cannot be copied.
 */
static int
resend(struct natsio *n, natsMsg *msg)
{
    const char *id = NULL;
    natsMsg *m = NULL;
    int64_t pause = NATSIO_RESEND_MS;
    int i;

    if (natsMsg_Create(&m, natsMsg_GetSubject(msg), NULL, natsMsg_GetData(msg),
                       natsMsg_GetDataLength(msg)) != NATS_OK ||
        (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK &&
         natsMsgHeader_Set(m, "Nats-Msg-Id", id) != NATS_OK)) {
        natsMsg_Destroy(m);
        return -1;
    }
    n->qhead = (n->qhead + n->qcap - 1) % n->qcap;
    n->queue[n->qhead] = m;
    n->qlen++;
    for (i = 1; i < n->tries && pause < NATSIO_RESEND_MAX_MS; i++)
        pause *= 2;
    n->resend_ms = now_ms() + (pause < NATSIO_RESEND_MAX_MS ? pause : NATSIO_RESEND_MAX_MS);
    return 0;
}

/*
 * libnats' outcome of one handed message (its callback thread). Takes over
 * 'msg'. A failure (no stream leader during an election, a lost ack) sends
 * it again, up to NATSIO_RESEND_TRIES times: its message id makes a second
 * copy one, and one message at a time in flight keeps the order.
 */
static void
pub_acked(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    struct natsio *n = closure;
    int tell_fail = 0, tell_back = 0;
    uint64_t failed = 0;

    (void)js;
    pthread_mutex_lock(&n->sync->mu);
    n->inflight--;
    if (pa == NULL && !n->stopping && n->tries < NATSIO_RESEND_TRIES && resend(n, msg) == 0) {
        if (!n->told_fail) {
            n->told_fail = 1;
            n->failed_told = n->st.failed + 1;
            tell_fail = 1;
        }
        pthread_cond_broadcast(&n->sync->cond);
        pthread_mutex_unlock(&n->sync->mu);
        if (tell_fail)
            say(n, "publishing to %s failed: %s; sending again", n->uri.subject,
                pae != NULL && pae->ErrText != NULL ? pae->ErrText : "no reason given");
        natsMsg_Destroy(msg);
        return;
    }
    n->tries = 0;
    if (pa != NULL) {
        n->st.acked++;
        n->st.duplicates += pa->Duplicate;
        /* The failures of one episode are told twice: at the first, and once it is over. */
        if (n->told_fail) {
            n->told_fail = 0;
            tell_back = 1;
            failed = n->st.failed - n->failed_told + 1;
        }
    } else {
        n->st.failed++;
        if (!n->told_fail && !n->stopping) {
            n->told_fail = 1;
            n->failed_told = n->st.failed;
            tell_fail = 1;
        }
    }
    pthread_cond_broadcast(&n->sync->cond);
    pthread_mutex_unlock(&n->sync->mu);
    if (tell_fail)
        say(n, "publishing to %s failed: %s", n->uri.subject,
            pae != NULL && pae->ErrText != NULL ? pae->ErrText : "no reason given");
    if (tell_back)
        say(n, "publishing to %s works again (%" PRIu64 " messages failed)", n->uri.subject,
            failed);
    natsMsg_Destroy(msg);
}

/* Hand the oldest queued message to libnats (mutex held; released around the hand-off). */
static void
pump_hand(struct natsio *n)
{
    natsMsg *m = n->queue[n->qhead];
    natsStatus s;

    n->queue[n->qhead] = NULL;
    n->qhead = (n->qhead + 1) % n->qcap;
    n->qlen--;
    n->inflight++;
    n->tries++;
    n->handed = 1;
    pthread_mutex_unlock(&n->sync->mu);
    s = js_PublishMsgAsync(n->js, &m, &n->pubopts);
    pthread_mutex_lock(&n->sync->mu);
    if (s == NATS_OK)
        return;
    /* Refused by the client (too big, closed): 'm' is still ours. */
    n->inflight--;
    n->tries = 0;
    n->st.failed++;
    if (!n->told_fail && !n->stopping) {
        n->told_fail = 1;
        n->failed_told = n->st.failed;
        pthread_mutex_unlock(&n->sync->mu);
        say(n, "publishing to %s failed: %s", n->uri.subject, nats_why(s));
        pthread_mutex_lock(&n->sync->mu);
    }
    pthread_cond_broadcast(&n->sync->cond);
    natsMsg_Destroy(m);
}

/* Check the stream after a (re)connect (mutex held; released around the requests). */
static void
pump_ensure(struct natsio *n)
{
    uint64_t gen = n->conn_gen;
    char why[512];
    int rc, told = n->told_stream;

    pthread_mutex_unlock(&n->sync->mu);
    rc = stream_ensure(n, NATSIO_PUMP_API_MS, why, sizeof(why));
    if (rc == -1 && !told)
        say(n, "%s; trying again", why);
    else if (rc == 0 && told)
        say(n, "stream %s is ready", n->uri.stream);
    pthread_mutex_lock(&n->sync->mu);
    n->told_stream = rc == -1;
    if (rc == 0)
        n->stream_gen = gen;
    else
        n->ensure_ms = now_ms() + NATSIO_RETRY_MS;
}

/*
 * The pump: after each (re)connect, check the stream; then hand the queue
 * over, oldest first, as long as the connection is up. Messages queued
 * while it is down wait here (bounded) rather than in libnats' reconnect
 * buffer, where their ack timers would run. Signals are blocked (inherited).
 */
static void *
pump_run(void *arg)
{
    struct natsio *n = arg;
    struct natsio_sync *y = n->sync;

    pthread_mutex_lock(&y->mu);
    while (!n->stopping) {
        if (n->connected && n->stream_gen != n->conn_gen) {
            if (now_ms() >= n->ensure_ms)
                pump_ensure(n);
            else
                wait_until(y, n->ensure_ms);
        } else if (n->connected && n->qlen > 0 && n->inflight == 0 && now_ms() < n->resend_ms) {
            wait_until(y, n->resend_ms);
        } else if (n->connected && n->qlen > 0 && n->inflight == 0) {
            pump_hand(n);
        } else {
            n->pump_idle = 1;
            pthread_cond_wait(&y->cond, &y->mu);
            n->pump_idle = 0;
        }
    }
    pthread_mutex_unlock(&y->mu);
    return NULL;
}

/* The publisher's part of natsio_publisher, signals blocked. */
static struct natsio *
publisher_open(const char *uri, size_t max_pending, FILE *log, char *err, size_t errsz)
{
    struct natsio *n;
    jsOptions jo;
    natsStatus s;
    int rc;

    if ((n = natsio_new(uri, log, 0, err, errsz)) == NULL)
        return NULL;
    n->qcap = max_pending > 0 ? max_pending : 1;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    if ((n->queue = calloc(n->qcap, sizeof(n->queue[0]))) == NULL) {
        fail(err, errsz, "out of memory");
        goto err;
    }
    jsPubOptions_Init(&n->pubopts);
    n->pubopts.MaxWait = NATSIO_ACK_WAIT_MS;
    if ((rc = conn_open(n, 1, err, errsz)) == -1)
        goto err;
    /* No MaxPending: natsio's bound is the one, and the pump must never stall in libnats. */
    jsOptions_Init(&jo);
    jo.Wait = NATSIO_API_MS;
    jo.PublishAsync.AckHandler = pub_acked;
    jo.PublishAsync.AckHandlerClosure = n;
    if ((s = natsConnection_JetStream(&n->js, n->nc, &jo)) != NATS_OK) {
        fail(err, errsz, "jetstream: %s", nats_why(s));
        goto err;
    }
    if (rc == 1) {
        say(n, "cannot connect to %s yet; trying in the background", n->uri.servers);
    } else {
        /* Up at start: a stream that cannot be made is an error now, not a line later. */
        if (api_retry(n, 0, err, errsz) == -1)
            goto err;
        pthread_mutex_lock(&n->sync->mu);
        n->stream_gen = n->conn_gen;
        pthread_mutex_unlock(&n->sync->mu);
    }
    if (pthread_create(&n->pump, NULL, pump_run, n) != 0) {
        fail(err, errsz, "cannot start a thread");
        goto err;
    }
    n->pump_started = 1;
    return n;
err:
    natsio_free(n);
    return NULL;
}

/*
 * Publish to the subject of 'uri' (see natsio_parse). Connects to the
 * servers; when none answers, the connect goes on in the background and
 * this still returns the publisher (one line on 'log' now, one once
 * connected). Makes sure the stream exists (created with the subject, file
 * storage, uri's replicas, a duplicate window of 1 h, max age 7 days, limits
 * retention; an existing one is used as it is): an error when connected at
 * start, else retried in the background. At most 'max_pending' messages are
 * pending (queued or awaiting their ack). 'log' (borrowed until natsio_free;
 * NULL: silent) hears of the connection lost and back, and of failures.
 * Returns the publisher, which the caller frees with natsio_free, or NULL
 * with the reason in 'err' (a bad URI, no JetStream, a stream that cannot be
 * made, out of memory).
 */
struct natsio *
natsio_publisher(const char *uri, size_t max_pending, FILE *log, char *err, size_t errsz)
{
    sigset_t all, old;
    struct natsio *n;

    /* libnats' threads, made now, inherit the mask: signals stay with the main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    n = publisher_open(uri, max_pending, log, err, errsz);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n;
}

/* Whether natsio_publish has room for a message now (a publisher; 0 otherwise). */
int
natsio_room(struct natsio *n)
{
    int room;

    if (n == NULL || n->consumer)
        return 0;
    pthread_mutex_lock(&n->sync->mu);
    room = n->qlen + n->inflight < n->qcap;
    pthread_mutex_unlock(&n->sync->mu);
    return room;
}

/*
 * Publish 'data' (len bytes, copied) with the JetStream message id 'msgid'
 * (header Nats-Msg-Id; NULL or "": none), without waiting for anything but
 * a lock: the pump sends it. Returns 0 queued, 1 dropped (max_pending
 * pending already: the server is down or slow), or -1 on an error (not a
 * publisher, out of memory; not counted).
 */
int
natsio_publish(struct natsio *n, const char *msgid, const char *data, size_t len)
{
    natsMsg *m = NULL;
    int full;

    if (n == NULL || n->consumer || len > INT32_MAX)
        return -1;
    pthread_mutex_lock(&n->sync->mu);
    if ((full = n->qlen + n->inflight >= n->qcap))
        n->st.dropped++;
    pthread_mutex_unlock(&n->sync->mu);
    if (full)
        return 1;
    /* Built unlocked, the lock being the pump's and libnats' too; room is checked again after. */
    if (natsMsg_Create(&m, n->uri.subject, NULL, data, (int)len) != NATS_OK ||
        (msgid != NULL && msgid[0] != '\0' &&
         natsMsgHeader_Set(m, "Nats-Msg-Id", msgid) != NATS_OK)) {
        natsMsg_Destroy(m);
        return -1;
    }
    pthread_mutex_lock(&n->sync->mu);
    if ((full = n->qlen + n->inflight >= n->qcap)) {
        n->st.dropped++; /* another thread took the room meanwhile */
    } else {
        n->queue[(n->qhead + n->qlen) % n->qcap] = m;
        n->qlen++;
        n->st.published++;
        if (n->pump_idle)
            pthread_cond_broadcast(&n->sync->cond);
    }
    pthread_mutex_unlock(&n->sync->mu);
    if (full)
        natsMsg_Destroy(m);
    return full;
}

/*
 * Wait up to 'timeout_ms' until no message is pending (each acked or
 * failed), as at the end of the input. Returns 0 when none is, -1 when some
 * still are (the server is away) or 'n' is not a publisher.
 */
int
natsio_flush(struct natsio *n, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int rc;

    if (n == NULL || n->consumer)
        return -1;
    pthread_mutex_lock(&n->sync->mu);
    while (n->qlen + n->inflight > 0 && now_ms() < deadline)
        wait_until(n->sync, deadline);
    rc = n->qlen + n->inflight > 0 ? -1 : 0;
    pthread_mutex_unlock(&n->sync->mu);
    return rc;
}

/*
 * Consumer.
 */

/*
 * Create the durable: rarr's configuration, or when 'base' is given a copy
 * of it starting at stream sequence 'start'. Returns 0 or -1 with err.
 */
static int
consumer_create(struct natsio *n, const jsConsumerConfig *base, uint64_t start, char *err,
                size_t errsz)
{
    jsConsumerInfo *ci = NULL;
    jsConsumerConfig cfg;
    jsErrCode jerr = 0;
    natsStatus s;

    if (base != NULL) {
        cfg = *base;
        cfg.Name = NULL; /* DURABLE.CREATE, which servers before 2.9 know too */
        cfg.DeliverPolicy = js_DeliverByStartSequence;
        cfg.OptStartSeq = start;
        cfg.OptStartTime = 0;
    } else {
        jsConsumerConfig_Init(&cfg);
        cfg.DeliverPolicy = js_DeliverAll;
        cfg.AckPolicy = js_AckAll;
        cfg.AckWait = 30 * NS_PER_S;
        cfg.MaxAckPending = NATSIO_MAX_ACK_PENDING;
        cfg.FilterSubject = n->uri.subject;
    }
    cfg.Durable = n->durable;
    s = js_AddConsumer(&ci, n->js, n->uri.stream, &cfg, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    /* Another rarr on the same durable made it first: the same thing. */
    if (s == NATS_OK || (base == NULL && jerr == JSConsumerNameExistErr))
        return 0;
    n->api_last = s;
    return fail(err, errsz, "cannot create consumer %s on stream %s: %s", n->durable, n->uri.stream,
                nats_why(s));
}

/*
 * An existing durable: check that natsio can use it (pull, AckPolicy All),
 * and when messages were delivered and never acked (its reader died, as with
 * kill -9) make it again from its ack floor, so they come at once rather
 * than after the ack wait. A reader still alive on it would lose its
 * deliveries: one durable, one rarr. Returns 0 or -1 with err.
 */
static int
consumer_resume(struct natsio *n, const jsConsumerInfo *ci, char *err, size_t errsz)
{
    const jsConsumerConfig *c = ci->Config;
    uint64_t start = ci->AckFloor.Stream + 1;
    jsErrCode jerr = 0;
    natsStatus s;

    if (c == NULL)
        return fail(err, errsz, "consumer %s: no configuration in its info", n->durable);
    if (c->DeliverSubject != NULL && c->DeliverSubject[0] != '\0')
        return fail(err, errsz, "consumer %s on stream %s is a push consumer, not a pull one",
                    n->durable, n->uri.stream);
    if (c->AckPolicy != js_AckAll)
        return fail(err, errsz, "consumer %s on stream %s does not have AckPolicy All", n->durable,
                    n->uri.stream);
    if (ci->NumAckPending <= 0)
        return 0;
    s = js_DeleteConsumer(n->js, n->uri.stream, n->durable, NULL, &jerr);
    if (s != NATS_OK && s != NATS_NOT_FOUND)
        return n->api_last = s, fail(err, errsz, "cannot delete consumer %s to restart it: %s",
                                     n->durable, nats_why(s));
    if (consumer_create(n, c, start, err, errsz) == -1)
        return -1;
    say(n,
        "consumer %s had %" PRId64 " messages delivered and not acked; delivering again from "
        "sequence %" PRIu64,
        n->durable, ci->NumAckPending, start);
    return 0;
}

/* Find or make the durable, then bind a pull subscription to it. Returns 0 or -1 with err. */
static int
consumer_bind(struct natsio *n, char *err, size_t errsz)
{
    jsConsumerInfo *ci = NULL;
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsStatus s;
    int rc;

    s = js_GetConsumerInfo(&ci, n->js, n->uri.stream, n->durable, NULL, &jerr);
    if (s == NATS_OK)
        rc = consumer_resume(n, ci, err, errsz);
    else if (s == NATS_NOT_FOUND)
        rc = consumer_create(n, NULL, 0, err, errsz);
    else
        rc = (n->api_last = s,
              fail(err, errsz, "cannot look up consumer %s: %s", n->durable, nats_why(s)));
    jsConsumerInfo_Destroy(ci);
    if (rc == -1)
        return -1;
    /* Bound by stream and name: libnats neither creates nor deletes it. */
    jsSubOptions_Init(&so);
    so.Stream = n->uri.stream;
    so.Consumer = n->durable;
    s = js_PullSubscribe(&n->sub, n->js, n->uri.subject, n->durable, NULL, &so, &jerr);
    if (s != NATS_OK)
        return n->api_last = s,
               fail(err, errsz, "cannot subscribe with consumer %s: %s", n->durable, nats_why(s));
    return 0;
}

/* A durable name: 1 to 127 of [A-Za-z0-9_-]. */
static int
durable_ok(const char *d)
{
    size_t len = d != NULL ? strlen(d) : 0;

    return len > 0 && len < 128 &&
           strspn(d, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_-") == len;
}

/* The consumer's part of natsio_consumer, signals blocked. */
static struct natsio *
consumer_open(const char *uri, const char *durable, FILE *log, char *err, size_t errsz)
{
    struct natsio *n;
    jsOptions jo;
    natsStatus s;

    if (!durable_ok(durable)) {
        fail(err, errsz, "a consumer name is 1 to 127 letters, digits, '_' or '-', got '%s'",
             durable != NULL ? durable : "");
        return NULL;
    }
    if ((n = natsio_new(uri, log, 1, err, errsz)) == NULL)
        return NULL;
    snprintf(n->durable, sizeof(n->durable), "%s", durable);
    if (conn_open(n, 0, err, errsz) == -1)
        goto err;
    jsOptions_Init(&jo);
    jo.Wait = NATSIO_API_MS;
    if ((s = natsConnection_JetStream(&n->js, n->nc, &jo)) != NATS_OK) {
        fail(err, errsz, "jetstream: %s", nats_why(s));
        goto err;
    }
    if (api_retry(n, 1, err, errsz) == -1)
        goto err;
    return n;
err:
    natsio_free(n);
    return NULL;
}

/*
 * Read the subject of 'uri' with the durable pull consumer 'durable'
 * (AckPolicy All, DeliverPolicy All, AckWait 30 s, MaxAckPending 100000),
 * made when absent, made again from its ack floor when it has deliveries
 * never acked (see consumer_resume). The stream is made as by
 * natsio_publisher. Unlike the publisher, a server down at start is an
 * error; later losses are reconnected in the background. Returns the
 * consumer (natsio_free), or NULL with the reason in 'err'.
 */
struct natsio *
natsio_consumer(const char *uri, const char *durable, FILE *log, char *err, size_t errsz)
{
    sigset_t all, old;
    struct natsio *n;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    n = consumer_open(uri, durable, log, err, errsz);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n;
}

/* Remember a delivered message's ack subject (copied). Returns 0 or -1 (out of memory). */
static int
held_add(struct natsio *n, uint64_t seq, const char *reply)
{
    struct natsio_held *h;
    char *copy;

    if (n->hhead > 0 && n->hlen == n->hcap) {
        /* Slide the held part down over the released prefix before growing. */
        memmove(n->held, n->held + n->hhead, (n->hlen - n->hhead) * sizeof(*n->held));
        n->hlen -= n->hhead;
        n->hhead = 0;
    }
    if (n->hlen == n->hcap) {
        size_t cap = n->hcap > 0 ? n->hcap * 2 : 64;

        if (cap > SIZE_MAX / sizeof(*h) || (h = realloc(n->held, cap * sizeof(*h))) == NULL)
            return -1;
        n->held = h;
        n->hcap = cap;
    }
    if ((copy = strdup(reply != NULL ? reply : "")) == NULL)
        return -1;
    n->held[n->hlen].seq = seq;
    n->held[n->hlen].reply = copy;
    n->hlen++;
    pthread_mutex_lock(&n->sync->mu);
    n->st.held++;
    pthread_mutex_unlock(&n->sync->mu);
    return 0;
}

/* Forget the message held_add remembered last (the callback refused it). */
static void
held_unadd(struct natsio *n)
{
    free(n->held[--n->hlen].reply);
    pthread_mutex_lock(&n->sync->mu);
    n->st.held--;
    pthread_mutex_unlock(&n->sync->mu);
}

/* Forget the first 'k' held messages (acked). */
static void
held_release(struct natsio *n, size_t k)
{
    size_t i;

    for (i = 0; i < k; i++)
        free(n->held[n->hhead + i].reply);
    n->hhead += k;
    if (n->hhead == n->hlen)
        n->hhead = n->hlen = 0;
    pthread_mutex_lock(&n->sync->mu);
    n->st.held -= k;
    pthread_mutex_unlock(&n->sync->mu);
}

/* How many held messages have a sequence <= 'seq' (they are in increasing order). */
static size_t
held_through(const struct natsio *n, uint64_t seq)
{
    size_t lo = n->hhead, hi = n->hlen;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (n->held[mid].seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - n->hhead;
}

/* The stream sequence of a JetStream message, from its ack subject; 0 if it has none. */
static uint64_t
msg_seq(natsMsg *m)
{
    jsMsgMetaData *meta = NULL;
    uint64_t seq = 0;

    if (natsMsg_GetMetaData(&meta, m) == NATS_OK)
        seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    return seq;
}

/*
 * Give the callback the fetched messages from rest_i on. A redelivery (the
 * server's ack wait ran out on a message still held) is skipped: the caller
 * has it. When the callback refuses a message, it and the ones after it stay
 * for the next natsio_fetch. Returns the number given, or -1.
 */
static int
fetch_deliver(struct natsio *n, natsio_msg_fn fn, void *arg)
{
    int got = 0;

    while (n->rest_i < n->rest.Count) {
        natsMsg *m = n->rest.Msgs[n->rest_i];
        uint64_t seq = msg_seq(m);

        if (seq == 0 || seq <= n->last_seq) {
            pthread_mutex_lock(&n->sync->mu);
            n->st.redelivered += seq != 0;
            pthread_mutex_unlock(&n->sync->mu);
        } else {
            if (held_add(n, seq, natsMsg_GetReply(m)) == -1) {
                errno = ENOMEM;
                return -1;
            }
            if (fn(arg, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), seq) == -1) {
                int e = errno; /* the callback's reason, for natsio_fetch's caller */

                held_unadd(n);
                errno = e;
                return -1;
            }
            n->last_seq = seq;
            got++;
            pthread_mutex_lock(&n->sync->mu);
            n->st.received++;
            pthread_mutex_unlock(&n->sync->mu);
        }
        natsMsg_Destroy(m);
        n->rest.Msgs[n->rest_i++] = NULL;
    }
    natsMsgList_Destroy(&n->rest);
    memset(&n->rest, 0, sizeof(n->rest));
    n->rest_i = 0;
    return got;
}

/* Whether the connection is up, as the callbacks last said. */
static int
is_connected(struct natsio *n)
{
    int up;

    pthread_mutex_lock(&n->sync->mu);
    up = n->connected;
    pthread_mutex_unlock(&n->sync->mu);
    return up;
}

/* Wait until 'deadline_ms' or a reconnect, so that a caller calling again at once does not spin. */
static void
wait_reconnect(struct natsio *n, int64_t deadline_ms)
{
    pthread_mutex_lock(&n->sync->mu);
    while (!n->connected && now_ms() < deadline_ms)
        wait_until(n->sync, deadline_ms);
    pthread_mutex_unlock(&n->sync->mu);
}

/* Sleep until 'deadline_ms'; a signal cuts it short, so that the caller sees its flag sooner. */
static void
sleep_until(int64_t deadline_ms)
{
    int64_t ms = deadline_ms - now_ms();
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000 * NS_PER_MS);
    nanosleep(&ts, NULL);
}

/*
 * Fetch up to 'batch' messages, waiting at most 'timeout_ms' (at least 1;
 * when fewer than 'batch' are there the wait may run to its end), and call
 * fn(arg, data, len, stream_seq) for each in stream order; 'data' is valid
 * during the call only. The messages are held, not acked (natsio_ack_through).
 * Returns the number given to fn (0 when none came in time), or -1 with
 * errno: EAGAIN, the connection is down or the fetch failed (having waited
 * out timeout_ms, so the caller can just call again); ENOMEM; or as fn left
 * it when fn returned -1 (stop; the message it refused comes first at the
 * next call, so a message fn always refuses stops the reading for good).
 */
int
natsio_fetch(struct natsio *n, int batch, int timeout_ms, natsio_msg_fn fn, void *arg)
{
    int64_t deadline;
    natsMsgList list;
    jsErrCode jerr = 0;
    natsStatus s;

    if (n == NULL || n->sub == NULL || fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (n->rest_i < n->rest.Count)
        return fetch_deliver(n, fn, arg);
    batch = batch > 0 ? batch : 1;
    timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
    deadline = now_ms() + timeout_ms;
    if (!is_connected(n)) {
        wait_reconnect(n, deadline);
        errno = EAGAIN;
        return -1;
    }
    s = natsSubscription_Fetch(&list, n->sub, batch, timeout_ms, &jerr);
    if (s == NATS_TIMEOUT) {
        errno = EAGAIN; /* libnats leaves anything there */
        return is_connected(n) ? 0 : -1;
    }
    if (s != NATS_OK) {
        if (!n->told_fetch && is_connected(n))
            say(n, "fetch from consumer %s failed: %s", n->durable, nats_why(s));
        n->told_fetch = 1;
        sleep_until(deadline);
        errno = EAGAIN;
        return -1;
    }
    n->told_fetch = 0;
    n->rest = list;
    n->rest_i = 0;
    return fetch_deliver(n, fn, arg);
}

/*
 * Ack every held message with a stream sequence <= 'seq': the highest such
 * one is acked (AckPolicy All acks those before it), waiting for the
 * server's confirmation, then they are released. Returns 0 (also when none
 * is held), or -1 when the ack could not be done (the connection is down,
 * no answer): they stay held and a later call acks them.
 */
int
natsio_ack_through(struct natsio *n, uint64_t seq)
{
    natsMsg *reply = NULL;
    natsStatus s;
    size_t k;

    if (n == NULL || n->sub == NULL)
        return -1;
    if ((k = held_through(n, seq)) == 0)
        return 0;
    if (!is_connected(n))
        return -1;
    s = natsConnection_RequestString(&reply, n->nc, n->held[n->hhead + k - 1].reply, "+ACK",
                                     NATSIO_ACK_MS);
    natsMsg_Destroy(reply);
    if (s != NATS_OK)
        return -1;
    held_release(n, k);
    return 0;
}

/*
 * Both.
 */

/* What was done so far (all zero for NULL). */
void
natsio_stats(const struct natsio *n, struct natsio_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (n == NULL)
        return;
    pthread_mutex_lock(&n->sync->mu);
    *st = n->st;
    st->pending = n->qlen + n->inflight;
    pthread_mutex_unlock(&n->sync->mu);
}

/*
 * Stop the publisher's side: the pump, then libnats' pending publishes,
 * taken back so that no ack can call pub_acked any more, then a wait for a
 * pub_acked that may be running now (libnats counts it pending until it
 * returns).
 */
static void
pub_stop(struct natsio *n)
{
    natsMsgList left;
    jsPubOptions po;

    if (n->pump_started) {
        pthread_mutex_lock(&n->sync->mu);
        n->stopping = 1;
        pthread_cond_broadcast(&n->sync->cond);
        pthread_mutex_unlock(&n->sync->mu);
        pthread_join(n->pump, NULL);
        n->pump_started = 0;
    }
    /* libnats 3.4.1 crashes taking the list of a context that never published. */
    if (n->js == NULL || !n->handed)
        return;
    if (js_PublishAsyncGetPendingList(&left, n->js) == NATS_OK)
        natsMsgList_Destroy(&left);
    jsPubOptions_Init(&po);
    po.MaxWait = NATSIO_CLOSE_MS;
    js_PublishAsyncComplete(n->js, &po);
}

/*
 * Close the connection and wait for its closed callback, the last one; until
 * then a callback may be running on 'n'. Returns 0, or -1 when it did not
 * come (then 'n' must not be freed).
 */
static int
conn_close(struct natsio *n)
{
    int64_t deadline = now_ms() + NATSIO_CLOSE_MS;
    int closed;

    if (n->nc == NULL)
        return 0;
    pthread_mutex_lock(&n->sync->mu);
    n->stopping = 1; /* our own close is not a lost connection to tell */
    pthread_mutex_unlock(&n->sync->mu);
    natsConnection_Close(n->nc);
    pthread_mutex_lock(&n->sync->mu);
    while (!n->closed && now_ms() < deadline)
        wait_until(n->sync, deadline);
    closed = n->closed;
    pthread_mutex_unlock(&n->sync->mu);
    return closed ? 0 : -1;
}

/*
 * Close and free a publisher or a consumer. Pending publishes are given up
 * (natsio_flush first to wait for them); held messages are not acked, and
 * come again to the next consumer on the durable. Does nothing for NULL.
 * Leaves the library itself open: nats_Close() is for the end of the process.
 */
void
natsio_free(struct natsio *n)
{
    size_t i;

    if (n == NULL)
        return;
    if (!n->consumer)
        pub_stop(n);
    natsSubscription_Destroy(n->sub);
    if (conn_close(n) == -1)
        return; /* a callback may still come: leak rather than free under it */
    jsCtx_Destroy(n->js);
    natsConnection_Destroy(n->nc);
    natsOptions_Destroy(n->opts);
    for (i = 0; i < n->qlen; i++)
        natsMsg_Destroy(n->queue[(n->qhead + i) % n->qcap]);
    free(n->queue);
    for (i = n->hhead; i < n->hlen; i++)
        free(n->held[i].reply);
    free(n->held);
    natsMsgList_Destroy(&n->rest);
    if (n->cond_ok)
        pthread_cond_destroy(&n->sync->cond);
    if (n->mu_ok)
        pthread_mutex_destroy(&n->sync->mu);
    free(n->sync);
    free(n);
}

/* The libnats the transport runs with ("libnats 3.4.1"), for rarr -V. */
const char *
natsio_library(void)
{
    static char version[64];

    snprintf(version, sizeof(version), "libnats %s", nats_GetVersion());
    return version;
}
