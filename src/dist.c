/*
 * dist.c -- rarr on many hosts (docs/distributed.md): a host writes its
 * steps as partial records (partial.c) to stdout or publishes them to NATS
 * JetStream (natsio.c); a central merges them (merge.c) from files, read
 * side by side in step order, or from a durable JetStream consumer, whose
 * messages are acknowledged only once their steps' records are written and
 * --state is saved.
 */
#include "rarr/dist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rarr/input.h"
#include "rarr/natsio.h"

/* How long a host waits at the end for JetStream to acknowledge what it published. */
#define DIST_FLUSH_MS 10000
/* A central commits (writes, saves, acknowledges) at least this often while steps merge. */
#define DIST_COMMIT_MS 1000

/* The partials of a host without --publish: on stdout, out with the line or tick that made them. */
static int
to_stdout(void *arg, const char *host, int64_t step, const char *line, size_t len)
{
    struct dist_host *h = arg;

    (void)host;
    (void)step;
    h->em->urgent = 1;
    return buf_add(&h->em->out, line, len);
}

/*
 * --publish: each record as one message, its id "HOST/STEP" ("HOST/end"),
 * so the stream keeps one copy of what a restarted host sends again. Live,
 * a record the bounded queue has no room for is counted and dropped, never
 * waited for; a replay (input that is not live) waits for room instead.
 */
static int
to_nats(void *arg, const char *host, int64_t step, const char *line, size_t len)
{
    struct dist_host *h = arg;
    struct timespec pause = {0, 5 * 1000 * 1000};

    /* A replay is not held up by waiting: it waits for room rather than drop what it read. */
    while (h->p != NULL && !pipeline_live(h->p) && !natsio_room(h->nats) &&
           (h->stop == NULL || !*h->stop))
        nanosleep(&pause, NULL);
    if (step == INT64_MAX)
        snprintf(h->msgid, sizeof(h->msgid), "%s/end", host);
    else
        snprintf(h->msgid, sizeof(h->msgid), "%s/%lld", host, (long long)step);
    return natsio_publish(h->nats, h->msgid, line, len - 1) == -1 ? -1 : 0;
}

/*
 * --emit=partials as host 'host' (NULL: this machine's name), to stdout
 * through 'em' or, with 'publish', to that nats:// URI: the pipeline's
 * step hook is set in 'opt'. Returns 0, or -1 after a message.
 */
int
dist_host_start(struct dist_host *h, const struct ruleset *rs, const char *host,
                const char *publish, struct emit *em, struct pipeline_opts *opt)
{
    char name[PARTIAL_HOST_MAX + 1], err[512];

    memset(h, 0, sizeof(*h));
    h->em = em;
    if (host == NULL) {
        if (gethostname(name, sizeof(name)) == -1)
            strcpy(name, "localhost");
        name[sizeof(name) - 1] = '\0';
        host = name;
    }
    if (partial_writer_init(&h->w, rs, host, publish != NULL ? to_nats : to_stdout, h) == -1) {
        fprintf(stderr, "rarr: --host: a name of 1 to %d bytes, not '%s'\n", PARTIAL_HOST_MAX,
                host);
        return -1;
    }
    if (publish != NULL &&
        (h->nats = natsio_publisher(publish, DIST_MAX_PENDING, stderr, err, sizeof(err))) == NULL) {
        fprintf(stderr, "rarr: --publish: %s\n", err);
        return -1;
    }
    opt->part = partial_write;
    opt->part_arg = &h->w;
    return 0;
}

/*
 * After pipeline_finish: the end marker, then (--publish) the wait for
 * JetStream's acks. What was not delivered is said even without --stats.
 * Returns 0, or -1 when records were lost.
 */
int
dist_host_end(struct dist_host *h, struct pipeline *p, int stats)
{
    struct natsio_stats st;
    int rc = partial_write_end(&h->w, pipeline_step(p));

    if (h->nats == NULL)
        return rc == 0 && h->em->out.len > 0 ? emit_flush(h->em) : rc;
    if (natsio_flush(h->nats, DIST_FLUSH_MS) == -1) {
        fputs("rarr: --publish: not every partial record was acknowledged\n", stderr);
        rc = -1;
    }
    natsio_stats(h->nats, &st);
    if (stats)
        fprintf(stderr,
                "rarr: stats: publish: %llu partial records (%llu bytes), %llu acknowledged "
                "(%llu duplicates), %llu failed, %llu dropped\n",
                (unsigned long long)h->w.records, (unsigned long long)h->w.bytes,
                (unsigned long long)st.acked, (unsigned long long)st.duplicates,
                (unsigned long long)st.failed, (unsigned long long)st.dropped);
    if (st.failed + st.dropped + st.pending > 0) {
        fprintf(stderr,
                "rarr: --publish: %llu partial records were lost (%llu dropped with the queue "
                "full, %llu failed, %llu not acknowledged in %d s)\n",
                (unsigned long long)st.failed + st.dropped + st.pending,
                (unsigned long long)st.dropped, (unsigned long long)st.failed,
                (unsigned long long)st.pending, DIST_FLUSH_MS / 1000);
        rc = -1;
    }
    return rc;
}

void
dist_host_free(struct dist_host *h)
{
    natsio_free(h->nats);
    h->nats = NULL;
}

/* Whether a --merge source is a NATS stream rather than a file. */
int
dist_is_nats(const char *source)
{
    return strncmp(source, "nats://", 7) == 0;
}

/* SIGHUP: a merge's rules stay (the hosts' partials are made with them); said once a signal. */
static void
no_reload(const struct dist_central *c)
{
    if (c->hup == NULL || !*c->hup)
        return;
    *c->hup = 0;
    fputs("rarr: SIGHUP: a merge does not reload its rules (restart it, with --state)\n", stderr);
}

/* A file of partials, read side by side with the others: its next record. */
struct file_src {
    struct input in;
    struct partial head;
    int has, open;
};

/* The next record of 'f' into f->head (f->has 0 at its end). Returns 0, or -1 on a read error. */
static int
next_record(struct merge *m, struct file_src *f)
{
    enum input_status st;
    struct slice line;

    f->has = 0;
    while (f->open && (st = input_next(&f->in, &line)) != INPUT_EOF) {
        if (st == INPUT_ERROR) {
            fprintf(stderr, "rarr: %s: %s\n", f->in.name, input_error(&f->in));
            return -1;
        }
        if (st == INPUT_LINE && !input_is_blank(line.p, line.len) &&
            merge_parse(m, &f->head, line.p, line.len, f->in.name, f->in.lineno) == 0) {
            f->has = 1;
            return 0;
        }
    }
    return 0;
}

/* The source whose next record comes first (its step; an end marker last), or -1. */
static int
earliest(const struct file_src *f, int n)
{
    int i, best = -1;
    int64_t key, best_key = INT64_MAX;

    for (i = 0; i < n; i++) {
        if (!f[i].has)
            continue;
        key = f[i].head.end ? INT64_MAX : f[i].head.step;
        if (best == -1 || key < best_key) {
            best = i;
            best_key = key;
        }
    }
    return best;
}

/*
 * The files of partials, read side by side: always the record of the
 * earliest step next, so the merge holds few records whatever the files'
 * sizes. Returns how it ended.
 */
static enum pipeline_end
merge_files(const struct dist_central *c, struct merge *m, int *failed)
{
    struct file_src *f = calloc((size_t)c->nsources, sizeof(*f));
    enum pipeline_end end = PIPELINE_EOF;
    int i, n = c->nsources;

    if (f == NULL)
        return errno = ENOMEM, PIPELINE_OUT_FAIL;
    for (i = 0; i < n; i++) {
        if (input_open(&f[i].in, c->sources[i]) == -1) {
            fprintf(stderr, "rarr: %s: %s\n", c->sources[i], strerror(errno));
            *failed = 1;
            continue;
        }
        f[i].open = 1;
        if (next_record(m, &f[i]) == -1)
            *failed = 1;
        /* Every file's host holds the merge back from the start (a file per host). */
        if (f[i].has)
            merge_expect(m, f[i].head.host);
    }
    while (end == PIPELINE_EOF && (i = earliest(f, n)) != -1) {
        if (merge_take(m, &f[i].head, f[i].in.name, f[i].in.lineno, 0) == -1 ||
            merge_advance(m, clock_wall_ms()) == -1)
            end = PIPELINE_OUT_FAIL;
        else if (*c->stop)
            end = PIPELINE_STOPPED;
        no_reload(c);
        if (next_record(m, &f[i]) == -1)
            *failed = 1;
    }
    for (i = 0; i < n; i++) {
        partial_free(&f[i].head);
        if (f[i].open)
            input_close(&f[i].in);
    }
    free(f);
    return end;
}

/* The consumer's callback: each message is one partial record. */
static int
on_message(void *arg, const char *data, size_t len, uint64_t seq)
{
    return merge_line(arg, data, len, "nats", seq, seq);
}

/* Where a central's commits stand. */
struct commit {
    uint64_t acked;  /* messages acknowledged through this sequence number */
    uint64_t events; /* event records written when it last committed */
    int64_t wall;    /* and when */
};

/*
 * Acknowledge what is merged: the records written for it go out first and
 * --state is saved, so a central killed at any point has its state, or the
 * messages again; what it wrote since its last save it writes again. It
 * commits as soon as an event record (an alert) is out, else every
 * DIST_COMMIT_MS, so that is at most a second of metric records. Returns 0
 * or -1.
 */
static int
commit(struct merge *m, struct pipeline *p, struct natsio *n, struct commit *c)
{
    uint64_t floor = merge_ack_floor(m), events = pipeline_emit(p)->events;
    int64_t wall = clock_wall_ms();

    if (floor <= c->acked || (events == c->events && wall - c->wall < DIST_COMMIT_MS))
        return 0;
    if (emit_flush(pipeline_emit(p)) == -1)
        return -1;
    c->events = events;
    c->wall = wall;
    if (pipeline_opts(p)->state_path != NULL && pipeline_save(p, INT64_MIN) == -1)
        return 0; /* told; the messages stay unacknowledged */
    if (natsio_ack_through(n, floor) == 0)
        c->acked = floor;
    return 0;
}

/*
 * A durable JetStream consumer: fetch, merge, write, save, acknowledge,
 * until every --hosts host has ended (then the queued steps are merged) or
 * rarr is stopped (then what is queued stays unacknowledged, for the next
 * run). Returns how it ended.
 */
static enum pipeline_end
merge_nats(const struct dist_central *c, struct merge *m, struct pipeline *p, int *failed)
{
    const struct pipeline_opts *opt = pipeline_opts(p);
    enum pipeline_end end = PIPELINE_EOF;
    struct commit cm = {0};
    struct natsio *n;
    char err[512];

    if ((n = natsio_consumer(c->sources[0], c->durable, stderr, err, sizeof(err))) == NULL) {
        fprintf(stderr, "rarr: %s: %s\n", c->sources[0], err);
        *failed = 1;
        return PIPELINE_EOF;
    }
    while (end == PIPELINE_EOF && !merge_complete(m)) {
        int got = natsio_fetch(n, 64, 500, on_message, m);

        if ((got == -1 && errno == ENOMEM) || merge_advance(m, clock_wall_ms()) == -1 ||
            commit(m, p, n, &cm) == -1)
            end = PIPELINE_OUT_FAIL;
        else if (*c->stop)
            end = PIPELINE_STOPPED;
        no_reload(c);
        if (opt->exporter != NULL)
            opt->exporter(opt->exporter_arg, p, 0);
    }
    /* Stopped, what waits for other hosts stays unacknowledged, for the next run. */
    if ((end == PIPELINE_EOF ? merge_finish(m) : pipeline_finish(p)) == -1)
        end = PIPELINE_OUT_FAIL;
    if (end != PIPELINE_OUT_FAIL && emit_flush(pipeline_emit(p)) == 0)
        natsio_ack_through(n, merge_ack_floor(m));
    natsio_free(n);
    return end;
}

/*
 * --merge: the sources into 'm' until they end; the pipeline is finished
 * here (merge_finish). '*failed' is set when a source could not be read.
 * Returns how it ended.
 */
enum pipeline_end
dist_merge(const struct dist_central *c, struct merge *m, struct pipeline *p, int *failed)
{
    enum pipeline_end end;

    if (c->nsources == 1 && dist_is_nats(c->sources[0]))
        return merge_nats(c, m, p, failed);
    end = merge_files(c, m, failed);
    if (end == PIPELINE_EOF || end == PIPELINE_STOPPED)
        if (merge_finish(m) == -1)
            end = PIPELINE_OUT_FAIL;
    return end;
}
