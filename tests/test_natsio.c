/*
 * test_natsio.c -- unit tests of the NATS JetStream transport (src/natsio.c).
 *
 * URI parsing is checked alone. Everything else runs against a real
 * `nats-server -js` ($NATS_SERVER, else /usr/sbin/nats-server where Debian
 * puts it, else /usr/bin), started here on a free loopback port with its
 * store in a temporary directory; the tests of a server that goes away stop it and
 * start it again on the same port and store. A server that cannot start
 * fails the run. Each test has a subject of its own, hence a stream of its
 * own. The reader killed with kill -9 is this program run again as a child
 * (--child-fetch), which fetches and then sends itself SIGKILL. Waits have
 * generous limits and nothing asserts speed: the one time measured is that
 * natsio_publish does not wait for a server that is away.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "rarr/natsio.h"

#define SERVER_START_MS 10000
/* natsio_publish must not wait for the network; this is far above a lock and a malloc. */
#define PUBLISH_BLOCK_MAX_MS 50
#define MAXMSG 64

/* A nats-server: the one of the run (srv), or one without JetStream. */
struct server {
    pid_t pid;
    int port;
    int js;       /* -js, its store in dir */
    char dir[64]; /* also where its output goes, server-PORT.log */
};

static struct server srv = {-1, 0, 1, ""};
static struct server nojs = {-1, 0, 0, ""}; /* stopped at the end even if its test failed */

static const char *self;        /* argv[0], run again as the killed reader */
static const char *nats_server; /* the nats-server binary */

/* $NATS_SERVER, else Debian's /usr/sbin/nats-server, else /usr/bin/nats-server; NULL: none. */
static const char *
find_server(void)
{
    static const char *const paths[] = {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                                        "/usr/local/bin/nats-server"};
    const char *env = getenv("NATS_SERVER");
    size_t i;

    if (env != NULL && env[0] != '\0')
        return access(env, X_OK) == 0 ? env : NULL;
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* A loopback port nobody listens on now: bind port 0 and see which came. */
static int
free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd, port = -1;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Whether something accepts connections on the loopback 'port'. */
static int
port_accepts(int port)
{
    struct sockaddr_in a;
    int fd, ok;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        return 0;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* Copy the server's output to stderr: the store directory goes at the end. */
static void
server_log(const char *path)
{
    char text[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return;
    n = fread(text, 1, sizeof(text), f);
    fwrite(text, 1, n, stderr);
    fclose(f);
}

/*
 * Start nats-server on s->port (with JetStream and its store in s->dir when
 * s->js), its output in s->dir/server-PORT.log, and wait until it accepts
 * connections (it enables JetStream before it listens). Returns 0, or -1
 * when it exited or never listened.
 */
static int
server_start(struct server *s)
{
    char port[16], logpath[128];
    int64_t deadline = mono_ms() + SERVER_START_MS;
    int status;

    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(logpath, sizeof(logpath), "%s/server-%d.log", s->dir, s->port);
    if ((s->pid = fork()) == -1)
        return -1;
    if (s->pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

        if (fd != -1) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        if (s->js)
            execl(nats_server, "nats-server", "-a", "127.0.0.1", "-p", port, "-js", "-sd", s->dir,
                  (char *)NULL);
        else
            execl(nats_server, "nats-server", "-a", "127.0.0.1", "-p", port, (char *)NULL);
        _exit(127);
    }
    while (mono_ms() < deadline) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            fprintf(stderr, "%s exited at start:\n", nats_server);
            server_log(logpath);
            s->pid = -1;
            return -1;
        }
        if (port_accepts(s->port))
            return 0;
        sleep_ms(20);
    }
    fprintf(stderr, "nats-server did not listen on port %d within %d ms\n", s->port,
            SERVER_START_MS);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = -1;
    return -1;
}

/* Stop the server by its pid (SIGTERM) and reap it. */
static void
server_stop(struct server *s)
{
    int status;

    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    while (waitpid(s->pid, &status, 0) == -1 && errno == EINTR)
        ;
    s->pid = -1;
}

/* rm -rf 'dir': the store nats-server wrote. */
static void
remove_tree(const char *dir)
{
    pid_t pid;
    int status;

    if (dir[0] == '\0' || (pid = fork()) == -1)
        return;
    if (pid == 0) {
        execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &status, 0);
}

static int
group_setup(void **state)
{
    (void)state;
    if ((nats_server = find_server()) == NULL) {
        fprintf(stderr, "no nats-server ($NATS_SERVER, /usr/sbin, /usr/bin): the NATS tests "
                        "cannot run\n");
        return -1;
    }
    snprintf(srv.dir, sizeof(srv.dir), "/tmp/natsio-test.XXXXXX");
    if (mkdtemp(srv.dir) == NULL) {
        srv.dir[0] = '\0';
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    if ((srv.port = free_port()) == -1 || server_start(&srv) == -1) {
        fprintf(stderr, "cannot start %s: the NATS tests cannot run\n", nats_server);
        remove_tree(srv.dir); /* no group teardown after a failed setup */
        return -1;
    }
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    server_stop(&srv);
    server_stop(&nojs);
    remove_tree(srv.dir);
    return 0;
}

/* Each test starts with the server up, even after one that failed with it stopped. */
static int
server_up(void **state)
{
    (void)state;
    return srv.pid > 0 ? 0 : server_start(&srv);
}

/* "nats://127.0.0.1:PORT/SUBJECT" of the test server. */
static const char *
uri_of(const char *subject)
{
    static char uri[256];

    snprintf(uri, sizeof(uri), "nats://127.0.0.1:%d/%s", srv.port, subject);
    return uri;
}

/* A log for natsio: a temporary file, read back through its descriptor. */
static FILE *
log_open(void)
{
    FILE *f = tmpfile();

    assert_non_null(f);
    return f;
}

/* What was written on the log so far (natsio flushes each line). */
static const char *
log_text(FILE *f)
{
    static char text[8192];
    ssize_t n = pread(fileno(f), text, sizeof(text) - 1, 0);

    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* How many times 'needle' is on the log. */
static int
log_count(FILE *f, const char *needle)
{
    const char *p = log_text(f);
    int k = 0;

    while ((p = strstr(p, needle)) != NULL) {
        k++;
        p += strlen(needle);
    }
    return k;
}

/* Wait up to 'ms' until 'needle' is on the log. */
static int
log_wait(FILE *f, const char *needle, int ms)
{
    int64_t deadline = mono_ms() + ms;

    while (log_count(f, needle) == 0 && mono_ms() < deadline)
        sleep_ms(10);
    return log_count(f, needle) > 0;
}

/* What natsio_fetch delivered. */
struct got {
    int n;
    int refuse_at; /* the callback returns -1 for delivery number refuse_at (0: never) */
    int calls;
    uint64_t seq[MAXMSG];
    char data[MAXMSG][32];
};

static int
collect(void *arg, const char *data, size_t len, uint64_t seq)
{
    struct got *g = arg;

    if (++g->calls == g->refuse_at) {
        errno = ENOSPC; /* natsio_fetch's caller sees it */
        return -1;
    }
    assert_true(g->n < MAXMSG);
    assert_true(len < sizeof(g->data[0]));
    memcpy(g->data[g->n], data, len);
    g->data[g->n][len] = '\0';
    g->seq[g->n++] = seq;
    return 0;
}

/* Fetch until 'want' messages came or a fetch brings none; returns how many came. */
static int
fetch_upto(struct natsio *c, struct got *g, int want, int timeout_ms)
{
    int k, rounds = 0;

    while (g->n < want && rounds++ < 50) {
        k = natsio_fetch(c, 20, timeout_ms, collect, g);
        assert_true(k >= 0);
        if (k == 0)
            break;
    }
    return g->n;
}

/* Publish 'n' messages "<prefix><i>" with ids "<prefix>-id-<i>"; every one must be queued. */
static void
publish_n(struct natsio *p, const char *prefix, int first, int n)
{
    char data[32], id[48];
    int i;

    for (i = first; i < first + n; i++) {
        snprintf(data, sizeof(data), "%s%d", prefix, i);
        snprintf(id, sizeof(id), "%s-id-%d", prefix, i);
        assert_int_equal(natsio_publish(p, id, data, strlen(data)), 0);
    }
}

static struct natsio *
publisher(const char *subject, size_t max_pending, FILE *log)
{
    char err[512] = "";
    struct natsio *p = natsio_publisher(uri_of(subject), max_pending, log, err, sizeof(err));

    if (p == NULL)
        fail_msg("natsio_publisher: %s", err);
    return p;
}

static struct natsio *
consumer(const char *subject, const char *durable, FILE *log)
{
    char err[512] = "";
    struct natsio *c = natsio_consumer(uri_of(subject), durable, log, err, sizeof(err));

    if (c == NULL)
        fail_msg("natsio_consumer: %s", err);
    return c;
}

/* Every message "<prefix><first+i>", in increasing stream order. */
static void
assert_got(const struct got *g, const char *prefix, int first, int n)
{
    char want[32];
    int i;

    assert_int_equal(g->n, n);
    for (i = 0; i < n; i++) {
        snprintf(want, sizeof(want), "%s%d", prefix, first + i);
        assert_string_equal(g->data[i], want);
        if (i > 0)
            assert_true(g->seq[i] > g->seq[i - 1]);
    }
}

static void
test_natsio_parse_good(void **state)
{
    struct natsio_uri u;
    const char *why = NULL;

    (void)state;
    assert_int_equal(natsio_parse("nats://127.0.0.1:4222/rarr.partials", &u, &why), 0);
    assert_string_equal(u.servers, "nats://127.0.0.1:4222");
    assert_string_equal(u.subject, "rarr.partials");
    assert_string_equal(u.stream, "RARR_rarr_partials");
    assert_int_equal(u.replicas, 1);

    assert_int_equal(
        natsio_parse("nats://a.example:4222,b.example:4223,c/x-y_z.w/v?replicas=3", &u, &why), 0);
    assert_string_equal(u.servers, "nats://a.example:4222,nats://b.example:4223,nats://c:4222");
    assert_string_equal(u.subject, "x-y_z.w/v");
    assert_string_equal(u.stream, "RARR_x-y_z_w_v");
    assert_int_equal(u.replicas, 3);

    assert_int_equal(natsio_parse("nats://[::1]:5000/s?replicas=5", &u, &why), 0);
    assert_string_equal(u.servers, "nats://[::1]:5000");
    assert_int_equal(u.replicas, 5);
}

static void
test_natsio_parse_bad(void **state)
{
    static const struct {
        const char *uri, *why;
    } cases[] = {
        {"http://h:1/s", "expected nats://HOST:PORT/SUBJECT"},
        {"nats://h:4222", "no /SUBJECT after the servers"},
        {"nats://h:4222/", "the subject is empty"},
        {"nats://h:4222/?replicas=1", "the subject is empty"},
        {"nats://h:4222/a.*", "the subject has a wildcard (* or >): the stream needs one subject"},
        {"nats://h:4222/a.>", "the subject has a wildcard (* or >): the stream needs one subject"},
        {"nats://h:4222/a..b", "the subject has an empty token"},
        {"nats://h:4222/.a", "the subject has an empty token"},
        {"nats://h:4222/a b", "the subject has a space or a control character"},
        {"nats://:4222/s", "a server has no host"},
        {"nats://h:4222,/s", "a server has no host"},
        {"nats://h:0/s", "a port is a number from 1 to 65535"},
        {"nats://h:65536/s", "a port is a number from 1 to 65535"},
        {"nats://h:/s", "a port is a number from 1 to 65535"},
        {"nats://h:42x/s", "a port is a number from 1 to 65535"},
        {"nats://u@h:1/s", "a server is HOST:PORT (a name, an IPv4 address or [IPv6])"},
        {"nats://[::1/s", "an IPv6 address needs its closing ]"},
        {"nats://h:1/s?replicas=0", "replicas is a number from 1 to 5"},
        {"nats://h:1/s?replicas=6", "replicas is a number from 1 to 5"},
        {"nats://h:1/s?replicas=12", "unknown option (the one known is replicas=N)"},
        {"nats://h:1/s?replica=1", "unknown option (the one known is replicas=N)"},
        {"nats://h:1/s?replicas=1&x=2", "unknown option (the one known is replicas=N)"},
    };
    struct natsio_uri u;
    const char *why;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        why = NULL;
        if (natsio_parse(cases[i].uri, &u, &why) != -1)
            fail_msg("%s: accepted", cases[i].uri);
        if (why == NULL || strcmp(why, cases[i].why) != 0)
            fail_msg("%s: got '%s', expected '%s'", cases[i].uri, why ? why : "(null)",
                     cases[i].why);
    }
}

static void
test_natsio_bad_arguments(void **state)
{
    char err[256];

    (void)state;
    assert_null(natsio_publisher("nats://h:1/a.*", 10, NULL, err, sizeof(err)));
    assert_string_equal(
        err, "nats://h:1/a.*: the subject has a wildcard (* or >): the stream needs one subject");
    assert_null(natsio_consumer(uri_of("t.args"), "a.b", NULL, err, sizeof(err)));
    assert_string_equal(err, "a consumer name is 1 to 127 letters, digits, '_' or '-', got 'a.b'");
    /* A single server has no room for three replicas: the stream cannot be made. */
    assert_null(natsio_publisher(uri_of("t.rep?replicas=3"), 10, NULL, err, sizeof(err)));
    assert_string_equal(err, "cannot create stream RARR_t_rep for subject t.rep: replicas > 1 "
                             "not supported in non-clustered mode");
    assert_int_equal(natsio_publish(NULL, "x", "y", 1), -1);
    assert_int_equal(natsio_fetch(NULL, 1, 1, collect, NULL), -1);
    assert_int_equal(natsio_ack_through(NULL, 1), -1);
    natsio_free(NULL);
    assert_non_null(strstr(natsio_library(), "libnats 3."));
}

/* Published with ids, all acked, then read back in order by a durable. */
static void
test_natsio_publish_then_consume(void **state)
{
    struct natsio *p = publisher("t.pubsub", 1000, NULL), *c;
    struct natsio_stats st;
    struct got g = {0};
    int i;

    (void)state;
    publish_n(p, "rec", 0, 50);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_stats(p, &st);
    assert_int_equal(st.published, 50);
    assert_int_equal(st.acked, 50);
    assert_int_equal(st.duplicates, 0);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.pending, 0);
    natsio_free(p);

    c = consumer("t.pubsub", "reader", NULL);
    assert_int_equal(fetch_upto(c, &g, 50, 2000), 50);
    assert_got(&g, "rec", 0, 50);
    for (i = 0; i < 50; i++)
        assert_int_equal(g.seq[i], (uint64_t)i + 1); /* a new stream starts at 1 */
    assert_int_equal(natsio_fetch(c, 20, 200, collect, &g), 0);
    natsio_stats(c, &st);
    assert_int_equal(st.received, 50);
    assert_int_equal(st.held, 50);
    assert_int_equal(natsio_ack_through(c, 50), 0);
    natsio_stats(c, &st);
    assert_int_equal(st.held, 0);
    natsio_free(c);
}

/* The same message id twice is stored once, and the ack says it was a duplicate. */
static void
test_natsio_same_msgid_stored_once(void **state)
{
    struct natsio *p = publisher("t.dup", 100, NULL), *c;
    struct natsio_stats st;
    struct got g = {0};

    (void)state;
    assert_int_equal(natsio_publish(p, "x1", "dup0", 4), 0);
    assert_int_equal(natsio_publish(p, "x1", "dup0", 4), 0);
    assert_int_equal(natsio_publish(p, "x2", "dup1", 4), 0);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_stats(p, &st);
    assert_int_equal(st.acked, 3);
    assert_int_equal(st.duplicates, 1);
    natsio_free(p);

    c = consumer("t.dup", "reader", NULL);
    assert_int_equal(fetch_upto(c, &g, 3, 1000), 2);
    assert_got(&g, "dup", 0, 2);
    natsio_free(c);
}

/* Acked through a sequence, a new reader on the durable gets only the rest, at once. */
static void
test_natsio_ack_through_then_new_reader_gets_rest(void **state)
{
    struct natsio *p = publisher("t.ack", 100, NULL), *c;
    struct natsio_stats st;
    struct got g = {0}, g2 = {0}, g3 = {0};
    FILE *log = log_open();
    char line[256];

    (void)state;
    publish_n(p, "a", 0, 10);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_free(p);

    c = consumer("t.ack", "d1", NULL);
    assert_int_equal(fetch_upto(c, &g, 10, 2000), 10);
    assert_int_equal(natsio_ack_through(c, g.seq[0] - 1), 0); /* below every held: nothing */
    assert_int_equal(natsio_ack_through(c, g.seq[3]), 0);
    natsio_stats(c, &st);
    assert_int_equal(st.held, 6);
    natsio_free(c); /* 6 delivered, never acked */

    c = consumer("t.ack", "d1", log);
    snprintf(line, sizeof(line),
             "rarr: nats: consumer d1 had 6 messages delivered and not acked; delivering again "
             "from sequence %" PRIu64 "\n",
             g.seq[4]);
    assert_string_equal(log_text(log), line);
    assert_int_equal(fetch_upto(c, &g2, 10, 2000), 6);
    assert_got(&g2, "a", 4, 6);
    assert_int_equal(g2.seq[0], g.seq[4]);
    assert_int_equal(natsio_ack_through(c, g2.seq[5]), 0);
    natsio_free(c);

    /* All acked: the next reader has nothing, and does not remake the durable. */
    c = consumer("t.ack", "d1", log);
    assert_int_equal(fetch_upto(c, &g3, 1, 300), 0);
    assert_string_equal(log_text(log), line);
    natsio_free(c);
    fclose(log);
}

/* The callback refuses a message: fetch stops, and that message comes first next time. */
static void
test_natsio_refused_message_comes_again(void **state)
{
    struct natsio *p = publisher("t.refuse", 100, NULL), *c;
    struct got g = {0};
    int rc = 0;

    (void)state;
    publish_n(p, "r", 0, 5);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_free(p);
    c = consumer("t.refuse", "d", NULL);
    g.refuse_at = 3;
    /* One fetch may bring fewer than five; the third delivery is refused either way. */
    while (g.calls < 3 && (rc = natsio_fetch(c, 5, 2000, collect, &g)) >= 0)
        ;
    assert_int_equal(rc, -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(g.calls, 3);
    assert_int_equal(g.n, 2);
    assert_int_equal(fetch_upto(c, &g, 5, 1000), 5);
    assert_got(&g, "r", 0, 5);
    natsio_free(c);
}

/* The child of test_natsio_killed_reader: fetch all there is, say how many, die by SIGKILL. */
static int
child_fetch(const char *uri, const char *durable)
{
    char err[512];
    struct natsio *c = natsio_consumer(uri, durable, NULL, err, sizeof(err));
    struct got g = {0};
    int k;

    if (c == NULL) {
        fprintf(stderr, "child: %s\n", err);
        return 1;
    }
    while ((k = natsio_fetch(c, 20, 1000, collect, &g)) > 0)
        ;
    printf("%d\n", k == 0 ? g.n : -1);
    fflush(stdout);
    raise(SIGKILL);
    return 1;
}

/* A reader killed (kill -9) with messages fetched and not acked: the next one has them at once. */
static void
test_natsio_killed_reader_redelivers_at_once(void **state)
{
    struct natsio *p = publisher("t.kill", 100, NULL), *c;
    struct got g = {0};
    FILE *log = log_open();
    char buf[32] = "";
    int fds[2], status;
    ssize_t n;
    pid_t pid;

    (void)state;
    publish_n(p, "k", 0, 8);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_free(p);

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, "--child-fetch", uri_of("t.kill"), "dk", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    assert_true(waitpid(pid, &status, 0) == pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(n > 0);
    assert_int_equal(atoi(buf), 8);

    /* Well inside the 30 s ack wait: without the remake nothing would come in 5 s. */
    c = consumer("t.kill", "dk", log);
    assert_int_equal(fetch_upto(c, &g, 8, 5000), 8);
    assert_got(&g, "k", 0, 8);
    assert_string_equal(log_text(log), "rarr: nats: consumer dk had 8 messages delivered and not "
                                       "acked; delivering again from sequence 1\n");
    natsio_free(c);
    fclose(log);
}

/*
 * No server at start: the consumer is an error; the publisher is made and
 * connects in the background. Publishing does not wait, keeps max_pending
 * messages and drops the others; once the server is up (same port, same
 * store) the kept ones are stored, in a stream the publisher makes then.
 */
static void
test_natsio_publisher_without_server_keeps_max_pending(void **state)
{
    FILE *log = log_open();
    char err[512], want[256], data[16];
    struct natsio *p, *c;
    struct natsio_stats st;
    struct got g = {0};
    int64_t t0, slowest = 0;
    int i, rc;

    (void)state;
    server_stop(&srv);
    assert_null(natsio_consumer(uri_of("t.down"), "d", NULL, err, sizeof(err)));
    snprintf(want, sizeof(want),
             "cannot connect to nats://127.0.0.1:%d: No server available for connection", srv.port);
    assert_string_equal(err, want);

    /* Freed while still connecting: nothing may be left behind (LeakSanitizer, ASan). */
    natsio_free(publisher("t.down", 5, NULL));
    p = publisher("t.down", 5, log);
    snprintf(want, sizeof(want),
             "rarr: nats: cannot connect to nats://127.0.0.1:%d yet; trying in the background\n",
             srv.port);
    assert_string_equal(log_text(log), want);
    for (i = 0; i < 20; i++) {
        snprintf(data, sizeof(data), "m%d", i);
        t0 = mono_ms();
        rc = natsio_publish(p, data, data, strlen(data));
        slowest = mono_ms() - t0 > slowest ? mono_ms() - t0 : slowest;
        assert_int_equal(rc, i < 5 ? 0 : 1);
    }
    assert_true(slowest <= PUBLISH_BLOCK_MAX_MS);
    natsio_stats(p, &st);
    assert_int_equal(st.published, 5);
    assert_int_equal(st.dropped, 15);
    assert_int_equal(st.pending, 5);
    assert_int_equal(natsio_flush(p, 200), -1);

    assert_int_equal(server_start(&srv), 0);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_stats(p, &st);
    assert_int_equal(st.acked, 5);
    assert_int_equal(st.failed, 0);
    snprintf(want, sizeof(want), "rarr: nats: connected to nats://127.0.0.1:%d\n", srv.port);
    assert_int_equal(log_count(log, want), 1);
    natsio_free(p);
    fclose(log);

    c = consumer("t.down", "d", NULL);
    assert_int_equal(fetch_upto(c, &g, 5, 2000), 5);
    assert_got(&g, "m", 0, 5);
    natsio_free(c);
}

/*
 * The server goes away while publishing: one line when the connection is
 * lost, one when it is back, max_pending kept meanwhile, and the kept ones
 * stored after the restart.
 */
static void
test_natsio_publisher_rides_out_server_restart(void **state)
{
    FILE *log = log_open();
    struct natsio *p = publisher("t.restart", 4, log), *c;
    struct natsio_stats st;
    struct got g = {0};
    char lost[256], back[256], data[16];
    int i;

    (void)state;
    publish_n(p, "s", 0, 3);
    assert_int_equal(natsio_flush(p, 10000), 0);
    snprintf(lost, sizeof(lost),
             "rarr: nats: lost the connection to nats://127.0.0.1:%d; reconnecting in the "
             "background\n",
             srv.port);
    snprintf(back, sizeof(back), "rarr: nats: reconnected to nats://127.0.0.1:%d\n", srv.port);
    server_stop(&srv);
    assert_true(log_wait(log, lost, 5000));
    for (i = 3; i < 13; i++) {
        snprintf(data, sizeof(data), "s%d", i);
        assert_int_equal(natsio_publish(p, data, data, strlen(data)), i < 7 ? 0 : 1);
    }
    sleep_ms(600); /* a few reconnect attempts fail meanwhile: still one line */
    assert_int_equal(server_start(&srv), 0);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_stats(p, &st);
    assert_int_equal(st.published, 7);
    assert_int_equal(st.acked, 7);
    assert_int_equal(st.dropped, 6);
    assert_int_equal(st.failed, 0);
    assert_int_equal(log_count(log, lost), 1);
    assert_int_equal(log_count(log, back), 1);
    assert_int_equal(log_count(log, "rarr: nats: "), 2);
    natsio_free(p);
    assert_int_equal(log_count(log, "rarr: nats: "), 2); /* our own close is not told */
    fclose(log);

    c = consumer("t.restart", "d", NULL);
    assert_int_equal(fetch_upto(c, &g, 7, 2000), 7);
    assert_got(&g, "s", 0, 7);
    natsio_free(c);
}

/* A server without JetStream: both sides say so at start. */
static void
test_natsio_without_jetstream_is_an_error(void **state)
{
    char uri[128], err[512], want[256];

    (void)state;
    snprintf(nojs.dir, sizeof(nojs.dir), "%s", srv.dir);
    assert_true((nojs.port = free_port()) > 0);
    assert_int_equal(server_start(&nojs), 0);
    snprintf(want, sizeof(want), "JetStream is not enabled on nats://127.0.0.1:%d", nojs.port);
    snprintf(uri, sizeof(uri), "nats://127.0.0.1:%d/t.nojs", nojs.port);
    assert_null(natsio_publisher(uri, 10, NULL, err, sizeof(err)));
    assert_string_equal(err, want);
    assert_null(natsio_consumer(uri, "d", NULL, err, sizeof(err)));
    assert_string_equal(err, want);
    server_stop(&nojs);
}

/* Of two servers, one dead: both sides use the live one. */
static void
test_natsio_several_servers_one_dead(void **state)
{
    char uri[256], err[512];
    struct natsio *p, *c;
    struct got g = {0};
    int dead = free_port();

    (void)state;
    snprintf(uri, sizeof(uri), "nats://127.0.0.1:%d,127.0.0.1:%d/t.multi", dead, srv.port);
    p = natsio_publisher(uri, 10, NULL, err, sizeof(err));
    if (p == NULL)
        fail_msg("natsio_publisher: %s", err);
    publish_n(p, "v", 0, 3);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_free(p);
    c = natsio_consumer(uri, "d", NULL, err, sizeof(err));
    if (c == NULL)
        fail_msg("natsio_consumer: %s", err);
    assert_int_equal(fetch_upto(c, &g, 3, 1000), 3);
    assert_got(&g, "v", 0, 3);
    natsio_free(c);
}

/*
 * A message held past the consumer's ack wait is delivered again by the
 * server; natsio skips it (the caller has it). The durable is made here
 * with an ack wait of 1 s, which natsio then uses as it is.
 */
static void
test_natsio_redelivery_of_held_is_skipped(void **state)
{
    struct natsio *p = publisher("t.redeliver", 10, NULL), *c;
    natsConnection *nc = NULL;
    jsConsumerInfo *ci = NULL;
    jsConsumerConfig cfg;
    struct natsio_stats st;
    struct got g = {0};
    jsErrCode jerr = 0;
    jsCtx *js = NULL;
    char url[64];

    (void)state;
    publish_n(p, "w", 0, 3);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_free(p);
    snprintf(url, sizeof(url), "nats://127.0.0.1:%d", srv.port);
    assert_int_equal(natsConnection_ConnectTo(&nc, url), NATS_OK);
    assert_int_equal(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    jsConsumerConfig_Init(&cfg);
    cfg.Durable = "ds";
    cfg.AckPolicy = js_AckAll;
    cfg.DeliverPolicy = js_DeliverAll;
    cfg.AckWait = 1000 * 1000 * 1000; /* 1 s */
    cfg.FilterSubject = "t.redeliver";
    assert_int_equal(js_AddConsumer(&ci, js, "RARR_t_redeliver", &cfg, NULL, &jerr), NATS_OK);
    jsConsumerInfo_Destroy(ci);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);

    c = consumer("t.redeliver", "ds", NULL);
    assert_int_equal(fetch_upto(c, &g, 3, 1000), 3);
    sleep_ms(1500);
    assert_int_equal(natsio_fetch(c, 20, 1000, collect, &g), 0);
    natsio_stats(c, &st);
    assert_int_equal(st.received, 3);
    assert_int_equal(st.redelivered, 3);
    assert_int_equal(st.held, 3);
    assert_int_equal(natsio_ack_through(c, g.seq[2]), 0);
    assert_got(&g, "w", 0, 3);
    natsio_free(c);
}

/*
 * The server goes away while reading: fetch and ack say -1 (after the
 * fetch's wait, not at once), the held messages stay held, and once the
 * server is back the same consumer acks them and reads on.
 */
static void
test_natsio_consumer_rides_out_server_restart(void **state)
{
    FILE *log = log_open();
    struct natsio *p = publisher("t.creconnect", 10, NULL), *c;
    struct natsio_stats st;
    struct got g = {0};
    char lost[256];
    int rc = -1, rounds;

    (void)state;
    publish_n(p, "c", 0, 2);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_free(p);
    c = consumer("t.creconnect", "d", log);
    assert_int_equal(fetch_upto(c, &g, 2, 1000), 2);

    snprintf(lost, sizeof(lost),
             "rarr: nats: lost the connection to nats://127.0.0.1:%d; reconnecting in the "
             "background\n",
             srv.port);
    server_stop(&srv);
    assert_true(log_wait(log, lost, 5000));
    assert_int_equal(natsio_fetch(c, 20, 200, collect, &g), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(natsio_ack_through(c, g.seq[1]), -1);
    natsio_stats(c, &st);
    assert_int_equal(st.held, 2);

    assert_int_equal(server_start(&srv), 0);
    for (rounds = 0; rounds < 50 && rc == -1; rounds++)
        rc = natsio_fetch(c, 20, 200, collect, &g);
    assert_int_equal(rc, 0);
    assert_int_equal(natsio_ack_through(c, g.seq[1]), 0);
    natsio_stats(c, &st);
    assert_int_equal(st.held, 0);

    p = publisher("t.creconnect", 10, NULL);
    publish_n(p, "c", 2, 2);
    assert_int_equal(natsio_flush(p, 10000), 0);
    natsio_free(p);
    assert_int_equal(fetch_upto(c, &g, 4, 1000), 4);
    assert_got(&g, "c", 0, 4);
    natsio_free(c);
    assert_int_equal(log_count(log, "rarr: nats: "), 2); /* lost, reconnected */
    fclose(log);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_natsio_parse_good),
        cmocka_unit_test(test_natsio_parse_bad),
        cmocka_unit_test_setup(test_natsio_bad_arguments, server_up),
        cmocka_unit_test_setup(test_natsio_publish_then_consume, server_up),
        cmocka_unit_test_setup(test_natsio_same_msgid_stored_once, server_up),
        cmocka_unit_test_setup(test_natsio_ack_through_then_new_reader_gets_rest, server_up),
        cmocka_unit_test_setup(test_natsio_refused_message_comes_again, server_up),
        cmocka_unit_test_setup(test_natsio_killed_reader_redelivers_at_once, server_up),
        cmocka_unit_test_setup(test_natsio_publisher_without_server_keeps_max_pending, server_up),
        cmocka_unit_test_setup(test_natsio_publisher_rides_out_server_restart, server_up),
        cmocka_unit_test_setup(test_natsio_without_jetstream_is_an_error, server_up),
        cmocka_unit_test_setup(test_natsio_several_servers_one_dead, server_up),
        cmocka_unit_test_setup(test_natsio_redelivery_of_held_is_skipped, server_up),
        cmocka_unit_test_setup(test_natsio_consumer_rides_out_server_restart, server_up),
    };
    int rc;

    self = argv[0];
    if (argc == 4 && strcmp(argv[1], "--child-fetch") == 0)
        return child_fetch(argv[2], argv[3]);
    rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    /* libnats' own threads and memory, once every natsio is gone (for LeakSanitizer). */
    nats_CloseAndWait(5000);
    return rc;
}
