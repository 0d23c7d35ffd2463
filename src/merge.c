/*
 * merge.c -- --merge: partial records of many hosts (partial.c) into one
 * step stage, which then runs its alerts, detectors and records as if it
 * had read every host's lines itself (docs/distributed.md).
 *
 * Each host's records wait in a queue of their own, in step order. A
 * host's "done" is the end of the last step it sent: it will send nothing
 * before it. A step is merged once every host that holds the merge back is
 * done with it: each host named by --hosts, or else each host seen, unless
 * it sent its end marker or has been silent past --host-timeout (an
 * "input" record with its host says so, and another when it is back). The
 * hosts' parts of the step are then added into one pending row, and the
 * step stage's clock moves as it would have for the step's earliest and
 * newest lines, so steps are evaluated, and gaps crossed, as one rarr
 * reading all the lines in time order would.
 *
 * A record of a step already merged is a duplicate when its host had sent
 * that step (a restarted host, a message delivered again), else late; both
 * are counted, neither is added. With --state, the hosts and the next step
 * to merge are saved with the step stage, so a restarted merge takes every
 * step once.
 */
#include "rarr/merge.h"

#include <stdlib.h>
#include <string.h>

#include "rarr/input.h"

/* A record waiting in its host's queue, with the sequence number of the message that brought it. */
struct qrec {
    struct partial pt;
    uint64_t seq;
};

struct host {
    char name[PARTIAL_HOST_MAX + 1];
    int expected; /* named by --hosts */
    int seen;     /* a record of it came */
    int ended;    /* its end marker came */
    int silent;   /* past --host-timeout: it does not hold the merge back */
    int said;     /* what was said of it: 1 rules differ, 2 unknown metrics, 4 late */
    int64_t done; /* the end of the last step it sent (INT64_MIN: none) */
    int64_t wall; /* the wall clock when its last record came */
    struct qrec *q;
    size_t nq, capq;
};

struct merge {
    struct pipeline *p;
    struct step *s;
    struct emit *em;
    struct merge_opts opt;
    int64_t step_ms;
    char rules[17];
    struct host *hosts;
    size_t nhosts, caphosts;
    int64_t next;       /* steps before this are merged (INT64_MIN: none yet) */
    int64_t start_wall; /* when the merge began: --hosts not seen yet are silent from it */
    uint64_t seq_max;   /* the highest sequence number taken */
    struct merge_stats st;
};

static json_t *merge_save(void *arg);
static int merge_load(void *arg, const json_t *saved);

/* A host by name; a new one is added when 'add' (NULL on out-of-memory, or when not found). */
static struct host *
host_get(struct merge *m, const char *name, int add)
{
    struct host *h;
    size_t i;

    for (i = 0; i < m->nhosts; i++)
        if (strcmp(m->hosts[i].name, name) == 0)
            return &m->hosts[i];
    if (!add || strlen(name) > PARTIAL_HOST_MAX)
        return NULL;
    if (m->nhosts == m->caphosts) {
        size_t cap = m->caphosts ? 2 * m->caphosts : 8;

        if ((h = realloc(m->hosts, cap * sizeof(*h))) == NULL)
            return NULL;
        m->hosts = h;
        m->caphosts = cap;
    }
    h = &m->hosts[m->nhosts++];
    memset(h, 0, sizeof(*h));
    strcpy(h->name, name);
    h->done = INT64_MIN;
    return h;
}

/*
 * A merge into the step stage of 'p' (borrowed), writing through 'em'
 * (the pipeline's). With --state, the pipeline's state file keeps the
 * merge's hosts too: call before pipeline_load_state. NULL on
 * out-of-memory or a bad --hosts name.
 */
struct merge *
merge_new(struct pipeline *p, struct emit *em, const struct merge_opts *opt)
{
    struct merge *m = calloc(1, sizeof(*m));
    struct host *h;
    size_t i;

    if (m == NULL)
        return NULL;
    m->p = p;
    m->s = pipeline_step(p);
    m->em = em;
    m->opt = *opt;
    m->step_ms = pipeline_opts(p)->step_ms;
    m->next = INT64_MIN;
    m->start_wall = clock_wall_ms();
    /* A live host sends a record a step, a lateness after the step's end. */
    if (opt->host_timeout_ms > 0 && opt->host_timeout_ms < 2 * m->step_ms) {
        char given[RARR_DUR_MAX], least[RARR_DUR_MAX];

        clock_format_duration(opt->host_timeout_ms, given);
        clock_format_duration(2 * m->step_ms, least);
        fprintf(opt->log,
                "rarr: --host-timeout %s is less than two steps: %s is used (a host sends a "
                "record a step)\n",
                given, least);
        m->opt.host_timeout_ms = 2 * m->step_ms;
    }
    if (opt->rules != NULL)
        snprintf(m->rules, sizeof(m->rules), "%s", opt->rules);
    else
        partial_rules_digest(pipeline_rules(p), m->rules);
    for (i = 0; i < opt->nhosts; i++) {
        if ((h = host_get(m, opt->hosts[i], 1)) == NULL) {
            merge_free(m);
            return NULL;
        }
        h->expected = 1;
    }
    pipeline_save_also(p, merge_save, merge_load, m);
    return m;
}

/*
 * Host 'name' will send: it holds the merge back from now on, as if named
 * by --hosts (a file's first record names its host before it is taken).
 * Returns 0, or -1 on out-of-memory or with --hosts not naming it.
 */
int
merge_expect(struct merge *m, const char *name)
{
    struct host *h = host_get(m, name, m->opt.nhosts == 0);

    if (h == NULL)
        return -1;
    h->seen = 1;
    return 0;
}

/* Free the merge and the records it holds. Does nothing if 'm' is NULL. */
void
merge_free(struct merge *m)
{
    size_t i, j;

    if (m == NULL)
        return;
    for (i = 0; i < m->nhosts; i++) {
        for (j = 0; j < m->hosts[i].nq; j++)
            partial_free(&m->hosts[i].q[j].pt);
        free(m->hosts[i].q);
    }
    free(m->hosts);
    free(m);
}

/* Whether host 'h' holds the merge back (it may still send steps not merged). */
static int
holds_back(const struct host *h)
{
    return !h->ended && !h->silent && (h->seen || h->expected);
}

/* Say 'what' of host 'h' once ('bit' of h->said). */
static void
say_once(struct merge *m, struct host *h, int bit, const char *what)
{
    if (h->said & bit)
        return;
    h->said |= bit;
    fprintf(m->opt.log, "rarr: host %s: %s\n", h->name, what);
}

/* Queue record 'pt' (taken over) of host 'h', in step order. Returns 0 or -1 (out of memory). */
static int
enqueue(struct host *h, struct partial *pt, uint64_t seq)
{
    size_t at = h->nq;

    if (h->nq == h->capq) {
        size_t cap = h->capq ? 2 * h->capq : 16;
        struct qrec *q = realloc(h->q, cap * sizeof(*q));

        if (q == NULL)
            return -1;
        h->q = q;
        h->capq = cap;
    }
    while (at > 0 && h->q[at - 1].pt.step > pt->step)
        at--;
    memmove(&h->q[at + 1], &h->q[at], (h->nq - at) * sizeof(*h->q));
    h->q[at].pt = *pt;
    h->q[at].seq = seq;
    h->nq++;
    memset(pt, 0, sizeof(*pt));
    return 0;
}

/* Whether host 'h' has step 'step' queued already. */
static int
queued(const struct host *h, int64_t step)
{
    size_t i;

    for (i = h->nq; i-- > 0 && h->q[i].pt.step >= step;)
        if (h->q[i].pt.step == step)
            return 1;
    return 0;
}

/* Host 'h' sent a record: it is no longer silent. Returns 0 or -1. */
static int
heard(struct merge *m, struct host *h)
{
    h->seen = 1;
    h->wall = clock_wall_ms();
    if (!h->silent)
        return 0;
    h->silent = 0;
    return emit_input(m->em, clock_floor(h->wall, 1000), 0, clock_floor(h->wall, 1000), h->name);
}

/*
 * A step record of host 'h': dropped when its step is merged already (late
 * or a duplicate), else checked against the rules (1: malformed) and queued.
 */
static int
take_step(struct merge *m, struct host *h, struct partial *pt, uint64_t seq)
{
    size_t unknown;

    if ((m->next != INT64_MIN && pt->step < m->next) || queued(h, pt->step)) {
        if (pt->step < h->done) {
            m->st.dup++;
        } else {
            m->st.late++;
            say_once(m, h, 4, "partials of steps already merged came: counted late, left out");
        }
        partial_free(pt);
        return 0;
    }
    if (partial_apply(pt, m->s, 0, 0, &unknown) == -1)
        return 1;
    if (unknown > 0 && !m->opt.sharded)
        say_once(m, h, 2,
                 "its partials have metrics these rules do not (or of another kind): left out");
    if (pt->step + m->step_ms > h->done)
        h->done = pt->step + m->step_ms;
    return enqueue(h, pt, seq) == -1 ? -1 : 0;
}

/*
 * Take record 'pt' (parsed; taken over whatever happens) that came from
 * 'src' line 'lineno' (for messages) in the message numbered 'seq' (0:
 * none). Returns 0, or -1 on out-of-memory or failed output.
 */
int
merge_take(struct merge *m, struct partial *pt, const char *src, uint64_t lineno, uint64_t seq)
{
    struct host *h = host_get(m, pt->host, m->opt.nhosts == 0);
    int rc;

    m->st.records++;
    if (seq > m->seq_max)
        m->seq_max = seq;
    if (h == NULL) {
        m->st.bad++;
        if (m->opt.nhosts > 0)
            fprintf(m->opt.log, "rarr: %s:%llu: host %s is not one of --hosts: left out\n", src,
                    (unsigned long long)lineno, pt->host);
        partial_free(pt);
        return m->opt.nhosts > 0 ? 0 : -1;
    }
    if (pt->rules != NULL && strcmp(pt->rules, m->rules) != 0)
        say_once(m, h, 1, "its rules differ from these: metrics are merged by name");
    if (heard(m, h) == -1) {
        partial_free(pt);
        return -1;
    }
    if (pt->end) {
        h->ended = 1;
        partial_free(pt);
        return 0;
    }
    if (h->ended) {
        /* Restarted after its end marker (a stopped agent started again): it holds back again. */
        h->ended = 0;
        fprintf(m->opt.log, "rarr: host %s: sends again after its end\n", h->name);
    }
    if ((rc = take_step(m, h, pt, seq)) == 1) {
        m->st.bad++;
        fprintf(m->opt.log, "rarr: %s:%llu: host %s: a malformed partial record: left out\n", src,
                (unsigned long long)lineno, h->name);
        partial_free(pt);
        return 0;
    }
    return rc;
}

/*
 * Read the record 'line' ('len' bytes) into 'pt': 0, or 1 when it is not
 * one (counted, and told as a bad line of 'src' with its reason).
 */
int
merge_parse(struct merge *m, struct partial *pt, const char *line, size_t len, const char *src,
            uint64_t lineno)
{
    const char *why;

    if (partial_parse(pt, line, len, m->step_ms, &why) == 0)
        return 0;
    m->st.bad++;
    if (pipeline_opts(m->p)->diag != NULL)
        fprintf(m->opt.log, "rarr: %s:%llu: %s\n", src, (unsigned long long)lineno, why);
    pipeline_skip(m->p, src, lineno, DIAG_BAD_PARTIAL, line, len);
    return 1;
}

/* merge_parse and merge_take: a blank line is passed over. Returns 0 or -1. */
int
merge_line(struct merge *m, const char *line, size_t len, const char *src, uint64_t lineno,
           uint64_t seq)
{
    struct partial pt;

    if (seq > m->seq_max)
        m->seq_max = seq;
    if (input_is_blank(line, len) || merge_parse(m, &pt, line, len, src, lineno) == 1)
        return 0;
    return merge_take(m, &pt, src, lineno, seq);
}

/* The first step any host has queued (INT64_MAX: none). */
static int64_t
first_queued(const struct merge *m)
{
    int64_t first = INT64_MAX;
    size_t i;

    for (i = 0; i < m->nhosts; i++)
        if (m->hosts[i].nq > 0 && m->hosts[i].q[0].pt.step < first)
            first = m->hosts[i].q[0].pt.step;
    return first;
}

/* Steps before this are sent by every host holding the merge back (INT64_MAX: none holds). */
static int64_t
all_done(const struct merge *m)
{
    int64_t w = INT64_MAX;
    size_t i;

    for (i = 0; i < m->nhosts; i++)
        if (holds_back(&m->hosts[i]) && m->hosts[i].done < w)
            w = m->hosts[i].done;
    return w;
}

/* What the hosts' records of step 'step' (each host's first) say of its lines, and how many. */
static double
step_lines(const struct merge *m, int64_t step, struct step_part *part)
{
    double lines = 0;
    size_t i;

    *part = (struct step_part){.start = step, .first = INT64_MAX, .last = INT64_MIN};
    for (i = 0; i < m->nhosts; i++) {
        const struct partial *pt = m->hosts[i].nq > 0 ? &m->hosts[i].q[0].pt : NULL;

        if (pt == NULL || pt->step != step || pt->lines == 0)
            continue;
        lines += pt->lines;
        if (pt->first < part->first)
            part->first = pt->first;
        if (pt->last >= part->last) {
            part->last = pt->last;
            part->tz_min = pt->tz_min;
        }
    }
    return lines;
}

/* Drop the first record of every host whose first is of step 'step'. */
static void
pop_step(struct merge *m, int64_t step)
{
    struct host *h;
    size_t i;

    for (i = 0; i < m->nhosts; i++) {
        h = &m->hosts[i];
        if (h->nq == 0 || h->q[0].pt.step != step)
            continue;
        partial_free(&h->q[0].pt);
        memmove(&h->q[0], &h->q[1], (h->nq - 1) * sizeof(*h->q));
        h->nq--;
    }
}

/*
 * Merge step 'step': every host's part into one pending row, the clock
 * moved for its earliest and newest lines (which may evaluate earlier
 * steps). A step without lines changes nothing. Returns 0 or -1.
 */
static int
merge_step(struct merge *m, int64_t step)
{
    struct step_part part;
    size_t i, row, unknown;
    int rc = 0;

    if (step_lines(m, step, &part) > 0 && step >= step_next(m->s)) {
        rc = step_part_open(m->s, &part, &row);
        for (i = 0; i < m->nhosts && rc == 0; i++)
            if (m->hosts[i].nq > 0 && m->hosts[i].q[0].pt.step == step)
                rc = partial_apply(&m->hosts[i].q[0].pt, m->s, row, 1, &unknown);
        if (rc == 0) {
            pipeline_merged(m->p, row);
            rc = step_part_close(m->s, &part);
        }
        if (rc == 0)
            rc = pipeline_merged_clock(m->p, part.last, clock_wall_ms());
    }
    pop_step(m, step);
    m->next = step + m->step_ms;
    m->st.steps++;
    if (rc == 0 && (m->em->urgent || m->em->out.len >= 64 * 1024))
        rc = emit_flush(m->em);
    return rc;
}

/* Hosts silent for --host-timeout stop holding the merge back, said by an "input" record. */
static int
time_out(struct merge *m, int64_t wall_ms)
{
    struct host *h;
    int64_t since;
    size_t i;
    int rc = 0;

    if (m->opt.host_timeout_ms <= 0)
        return 0;
    for (i = 0; i < m->nhosts; i++) {
        h = &m->hosts[i];
        since = h->seen ? h->wall : m->start_wall;
        if (!holds_back(h) || wall_ms - since < m->opt.host_timeout_ms)
            continue;
        h->silent = 1;
        rc |= emit_input(m->em, clock_floor(wall_ms, 1000), 1, clock_floor(since, 1000), h->name);
    }
    return rc;
}

/*
 * Merge every step that every host holding the merge back is done with;
 * first let hosts silent past --host-timeout go (wall clock 'wall_ms').
 * Returns 0, or -1 with errno set.
 */
int
merge_advance(struct merge *m, int64_t wall_ms)
{
    int64_t step;

    if (time_out(m, wall_ms) == -1)
        return -1;
    while ((step = first_queued(m)) != INT64_MAX && step + m->step_ms <= all_done(m))
        if (merge_step(m, step) == -1)
            return -1;
    return m->em->out.len > 0 ? emit_flush(m->em) : 0;
}

/*
 * The sources ended (or rarr is stopped): merge every step still queued,
 * then end as at the end of input (pipeline_finish). Returns 0 or -1.
 */
int
merge_finish(struct merge *m)
{
    int64_t step;
    int rc = 0;

    while (rc == 0 && (step = first_queued(m)) != INT64_MAX)
        rc = merge_step(m, step);
    return pipeline_finish(m->p) | rc;
}

/* With --hosts: whether every one of them has sent its end marker. */
int
merge_complete(const struct merge *m)
{
    size_t i;

    if (m->opt.nhosts == 0)
        return 0;
    for (i = 0; i < m->nhosts; i++)
        if (m->hosts[i].expected && !m->hosts[i].ended)
            return 0;
    return 1;
}

/*
 * The highest message number whose record, and every one before it, is
 * merged (or dropped): what may be acknowledged once the records written
 * for them are out and the state is saved.
 */
uint64_t
merge_ack_floor(const struct merge *m)
{
    uint64_t floor = m->seq_max;
    size_t i, j;

    for (i = 0; i < m->nhosts; i++)
        for (j = 0; j < m->hosts[i].nq; j++)
            if (m->hosts[i].q[j].seq > 0 && m->hosts[i].q[j].seq - 1 < floor)
                floor = m->hosts[i].q[j].seq - 1;
    return floor;
}

void
merge_stats(const struct merge *m, struct merge_stats *st)
{
    size_t i;

    *st = m->st;
    st->hosts = st->ended = st->silent = 0;
    for (i = 0; i < m->nhosts; i++) {
        st->hosts += m->hosts[i].seen;
        st->ended += m->hosts[i].ended;
        st->silent += m->hosts[i].silent;
    }
}

/* The merge's part of --state: the next step to merge, and each host's progress. */
static json_t *
merge_save(void *arg)
{
    const struct merge *m = arg;
    json_t *o = json_object(), *hosts = json_array();
    size_t i;
    int rc = o == NULL || hosts == NULL ? -1 : 0;

    rc |= json_object_set_new(o, "hosts", hosts);
    rc |=
        json_object_set_new(o, "next", m->next != INT64_MIN ? json_integer(m->next) : json_null());
    for (i = 0; i < m->nhosts && rc == 0; i++) {
        const struct host *h = &m->hosts[i];
        /* What is queued is not in the state: it comes again (it was not acknowledged). */
        int64_t done = h->nq > 0 && h->done > m->next ? m->next : h->done;

        if (h->seen)
            rc |= json_array_append_new(hosts, json_pack("{sssIsb}", "name", h->name, "done",
                                                         (json_int_t)done, "ended",
                                                         h->ended && h->nq == 0));
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Take back what merge_save kept (hosts named by --hosts keep that mark). Returns 0 or -1. */
static int
merge_load(void *arg, const json_t *saved)
{
    struct merge *m = arg;
    json_t *hosts = json_object_get(saved, "hosts"), *e;
    const char *name;
    struct host *h;
    json_int_t done;
    int ended;
    size_t i;

    if (!json_is_array(hosts))
        return -1;
    if (json_is_integer(json_object_get(saved, "next")))
        m->next = json_integer_value(json_object_get(saved, "next"));
    json_array_foreach(hosts, i, e)
    {
        if (json_unpack(e, "{s:s,s:I,s:b}", "name", &name, "done", &done, "ended", &ended) == -1)
            return -1;
        if ((h = host_get(m, name, m->opt.nhosts == 0)) == NULL)
            continue;
        h->seen = 1;
        h->wall = clock_wall_ms();
        h->done = done;
        h->ended = ended;
    }
    return 0;
}
