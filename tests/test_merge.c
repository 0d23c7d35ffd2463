/*
 * test_merge.c -- unit tests of --merge (src/merge.c, docs/distributed.md)
 * on hand-written partial records: a step is merged once every host that
 * holds the merge back is past it (each host seen, or each of --hosts,
 * seen or not); an end marker lets a host go; past --host-timeout a silent
 * host lets go too, said by an "input" record, and another when it is
 * back (a timeout under two steps is raised to two); records of steps merged already are late (the
 * host had not sent the step) or duplicates (it had), counted and left out; what may be
 * acknowledged (merge_ack_floor); merge_complete; records out of step
 * order and steps without lines; what a merge says and counts of records
 * it cannot use.
 *
 * The wall clock: merge_advance takes it, but merge.c notes when a host's
 * record came (and when the merge began) from the real clock. The timeout
 * tests make the hosts' records come in distinct real milliseconds and
 * pass a wall clock placed between them, so no test depends on how long
 * anything takes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/emit.h"
#include "rarr/merge.h"
#include "rarr/partial.h"
#include "rarr/pipeline.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

#define STEP_MS 60000
#define T0 1777888800000LL       /* 2026-05-04T10:00:00Z, a step start: step 0 */
#define TIMEOUT_MS (2 * STEP_MS) /* the least --host-timeout: two steps */

static const char rules[] = "metric hits\n"
                            "metric amount sum=amount\n";

/* A central: a pipeline writing into an unlinked temporary file, a merge into its step stage. */
struct central {
    struct ruleset *rs;
    struct emit em;
    struct pipeline *p;
    struct merge *m;
    int fd;
    FILE *log; /* what the merge says */
    uint64_t lineno;
    char line[1024];
    char *out;
};

/* Start a central waiting for the 'nhosts' hosts named (none: whoever sends). */
static void
start(struct central *c, const char *const *hosts, size_t nhosts, int64_t timeout_ms)
{
    struct pipeline_opts opt;
    struct merge_opts mo;
    struct diag d;
    char path[] = "/tmp/rarr-test-merge-XXXXXX";

    memset(c, 0, sizeof(*c));
    memset(&d, 0, sizeof(d));
    c->rs = rules_new();
    assert_non_null(c->rs);
    if (rules_parse(c->rs, "t.rarr", rules, strlen(rules), &d) != 0 ||
        rules_finish(c->rs, STEP_MS, &d) != 0)
        fail_msg("rules: %s", d.msg);
    c->fd = mkstemp(path);
    assert_true(c->fd >= 0);
    unlink(path);
    emit_init(&c->em, c->fd);
    c->log = tmpfile();
    assert_non_null(c->log);
    memset(&opt, 0, sizeof(opt));
    opt.format = RECORD_JSON;
    opt.clock = PIPELINE_EVENT;
    opt.clock_given = 1;
    opt.step_ms = STEP_MS;
    opt.lateness_given = 1;
    opt.emit_alerts = 1;
    opt.emit_metrics = 1;
    opt.time_field = SIZE_MAX;
    opt.log = c->log;
    c->p = pipeline_new(c->rs, &opt, &c->em, &d);
    assert_non_null(c->p);
    memset(&mo, 0, sizeof(mo));
    mo.hosts = hosts;
    mo.nhosts = nhosts;
    mo.host_timeout_ms = timeout_ms;
    mo.log = c->log;
    c->m = merge_new(c->p, &c->em, &mo);
    assert_non_null(c->m);
}

static void
end(struct central *c)
{
    merge_free(c->m);
    pipeline_free(c->p);
    emit_fini(&c->em);
    close(c->fd);
    fclose(c->log);
    rules_free(c->rs);
    free(c->out);
}

/* Host 'host''s record of step 'i' (from T0): 'n' lines at its seconds 1 and 2 (none: no times). */
static const char *
rec(struct central *c, const char *host, int i, int n)
{
    long long step = T0 + (long long)i * STEP_MS;

    if (n == 0)
        snprintf(c->line, sizeof(c->line),
                 "{\"rarr_partial\":1,\"host\":\"%s\",\"step\":%lld,\"step_ms\":60000,"
                 "\"lines\":0,\"m\":{}}",
                 host, step);
    else
        snprintf(c->line, sizeof(c->line),
                 "{\"rarr_partial\":1,\"host\":\"%s\",\"step\":%lld,\"step_ms\":60000,"
                 "\"lines\":%d,\"first\":%lld,\"last\":%lld,\"tz\":0,\"m\":{\"hits\":%d}}",
                 host, step, n, step + 1000, step + 2000, n);
    return c->line;
}

/* Host 'host''s end marker. */
static const char *
end_marker(struct central *c, const char *host)
{
    snprintf(c->line, sizeof(c->line), "{\"rarr_partial\":1,\"host\":\"%s\",\"end\":null}", host);
    return c->line;
}

/* One line through merge_line, in the message numbered 'seq' (0: none). */
static void
take(struct central *c, const char *line, uint64_t seq)
{
    assert_int_equal(merge_line(c->m, line, strlen(line), "t", ++c->lineno, seq), 0);
}

/* merge_advance at wall clock 'wall_ms'; the steps merged so far. */
static uint64_t
advance(struct central *c, int64_t wall_ms)
{
    struct merge_stats st;

    assert_int_equal(merge_advance(c->m, wall_ms), 0);
    merge_stats(c->m, &st);
    return st.steps;
}

static struct merge_stats
stats(const struct central *c)
{
    struct merge_stats st;

    merge_stats(c->m, &st);
    return st;
}

/* Everything written so far. */
static const char *
written(struct central *c)
{
    struct stat st;
    ssize_t n;

    assert_int_equal(emit_flush(&c->em), 0);
    assert_int_equal(fstat(c->fd, &st), 0);
    free(c->out);
    c->out = malloc((size_t)st.st_size + 1);
    assert_non_null(c->out);
    n = pread(c->fd, c->out, (size_t)st.st_size, 0);
    assert_int_equal(n, st.st_size);
    c->out[n] = '\0';
    return c->out;
}

/* merge_finish, then everything written. */
static const char *
finish(struct central *c)
{
    assert_int_equal(merge_finish(c->m), 0);
    return written(c);
}

/* What the merge said (a fresh string; the caller frees it). */
static char *
said(struct central *c)
{
    long len;
    char *text;

    assert_int_equal(fflush(c->log), 0);
    len = ftell(c->log);
    assert_true(len >= 0);
    text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    rewind(c->log);
    assert_int_equal(fread(text, 1, (size_t)len, c->log), (size_t)len);
    return text;
}

/* The values of the "hits" metric records in 'out', in order, joined by commas (borrowed). */
static const char *
hits(const char *out)
{
    static char text[512];
    const char *p, *nl;
    json_t *o;
    size_t used = 0;

    text[0] = '\0';
    for (p = out; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        assert_non_null(nl);
        o = json_loadb(p, (size_t)(nl - p), 0, NULL);
        assert_non_null(o);
        if (strcmp(json_string_value(json_object_get(o, "type")), "metric") == 0 &&
            strcmp(json_string_value(json_object_get(o, "metric")), "hits") == 0)
            used +=
                (size_t)snprintf(text + used, sizeof(text) - used, "%s%lld", used > 0 ? "," : "",
                                 (long long)json_integer_value(json_object_get(o, "value")));
        json_decref(o);
        assert_true(used < sizeof(text));
    }
    return text;
}

/* How many "input" records of 'host' in 'state' 'out' has; the time of the last in '*time'. */
static int
inputs(const char *out, const char *host, const char *state, char time[RARR_TIME_MAX])
{
    const char *p, *nl;
    json_t *o;
    int n = 0;

    for (p = out; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        o = json_loadb(p, (size_t)(nl - p), 0, NULL);
        assert_non_null(o);
        if (strcmp(json_string_value(json_object_get(o, "type")), "input") == 0 &&
            json_string_value(json_object_get(o, "host")) != NULL &&
            strcmp(json_string_value(json_object_get(o, "host")), host) == 0 &&
            strcmp(json_string_value(json_object_get(o, "state")), state) == 0) {
            n++;
            assert_non_null(json_string_value(json_object_get(o, "since")));
            if (time != NULL)
                snprintf(time, RARR_TIME_MAX, "%s", json_string_value(json_object_get(o, "time")));
        }
        json_decref(o);
    }
    return n;
}

/* The real clock, once it has moved past 'after': what comes next comes later than 'after'. */
static int64_t
wall_after(int64_t after)
{
    struct timespec ms = {0, 1000000};
    int64_t now;

    while ((now = clock_wall_ms()) <= after)
        nanosleep(&ms, NULL);
    return now;
}

/* Hosts seen are waited for: a step is merged when every one has sent a later one. */
static void
test_merge_waits_for_every_host_seen(void **state)
{
    struct central c;

    (void)state;
    start(&c, NULL, 0, 0);
    take(&c, rec(&c, "a", 0, 1), 0);
    take(&c, rec(&c, "b", 0, 2), 0);
    take(&c, rec(&c, "a", 1, 3), 0);
    take(&c, rec(&c, "a", 2, 4), 0);
    /* a is done with step 2, b with step 0 only. */
    assert_int_equal(advance(&c, 0), 1);
    assert_int_equal(advance(&c, 0), 1);
    take(&c, rec(&c, "b", 1, 5), 0);
    assert_int_equal(advance(&c, 0), 2);
    take(&c, rec(&c, "b", 3, 6), 0); /* past step 2 too: b has nothing of it */
    assert_int_equal(advance(&c, 0), 3);
    /* Step 3: a has not sent it. */
    assert_int_equal(advance(&c, 0), 3);
    take(&c, rec(&c, "a", 4, 1), 0);
    assert_int_equal(advance(&c, 0), 4);
    assert_string_equal(hits(finish(&c)), "3,8,4,6");
    assert_int_equal(stats(&c).hosts, 2);
    assert_int_equal(stats(&c).records, 7);
    assert_int_equal(stats(&c).late + stats(&c).dup + stats(&c).bad, 0);
    end(&c);
}

/* --hosts: the merge waits for a host it has never heard of. */
static void
test_merge_hosts_waits_for_host_never_seen(void **state)
{
    static const char *const hosts[] = {"a", "b"};
    struct central c;
    char *log;

    (void)state;
    start(&c, hosts, 2, 0);
    take(&c, rec(&c, "a", 0, 1), 0);
    take(&c, rec(&c, "a", 1, 2), 0);
    take(&c, rec(&c, "a", 2, 3), 0);
    take(&c, end_marker(&c, "a"), 0);
    /* Without a timeout, no wall clock lets b go. */
    assert_int_equal(advance(&c, clock_wall_ms() + 1000 * (int64_t)STEP_MS), 0);
    assert_int_equal(stats(&c).hosts, 1);
    /* A host not named is left out, and said. */
    take(&c, rec(&c, "c", 0, 9), 0);
    take(&c, end_marker(&c, "c"), 0);
    assert_int_equal(advance(&c, 0), 0);
    assert_int_equal(stats(&c).bad, 2);
    assert_int_equal(merge_expect(c.m, "c"), -1);
    assert_int_equal(merge_expect(c.m, "b"), 0);
    assert_int_equal(stats(&c).hosts, 2);
    assert_int_equal(advance(&c, 0), 0);
    take(&c, rec(&c, "b", 1, 10), 0);
    assert_int_equal(advance(&c, 0), 2);
    take(&c, end_marker(&c, "b"), 0);
    assert_int_equal(advance(&c, 0), 3);
    assert_string_equal(hits(finish(&c)), "1,12");
    log = said(&c);
    assert_string_equal(log, "rarr: t:5: host c is not one of --hosts: left out\n"
                             "rarr: t:6: host c is not one of --hosts: left out\n");
    free(log);
    end(&c);
}

/* An end marker: the host holds nothing back any more. */
static void
test_merge_end_marker_releases(void **state)
{
    struct central c;

    (void)state;
    start(&c, NULL, 0, 0);
    take(&c, rec(&c, "a", 0, 1), 0);
    take(&c, rec(&c, "a", 1, 2), 0);
    take(&c, rec(&c, "a", 2, 3), 0);
    take(&c, rec(&c, "b", 0, 4), 0);
    assert_int_equal(advance(&c, 0), 1);
    take(&c, end_marker(&c, "b"), 0);
    assert_int_equal(advance(&c, 0), 3); /* a sent step 2: it is done with it */
    assert_int_equal(stats(&c).ended, 1);
    take(&c, end_marker(&c, "a"), 0);
    assert_int_equal(advance(&c, 0), 3);
    assert_int_equal(stats(&c).ended, 2);
    assert_string_equal(hits(finish(&c)), "5,2");
    assert_int_equal(stats(&c).late + stats(&c).dup + stats(&c).bad, 0);
    end(&c);
}

/*
 * --host-timeout: a host silent that long stops holding the merge back,
 * said by an "input" record; when it is back, another says so, and its
 * records of steps merged meanwhile are late.
 */
static void
test_merge_silent_host_times_out_and_comes_back(void **state)
{
    char time[RARR_TIME_MAX], want[RARR_TIME_MAX];
    struct central c;
    int64_t b_before, b_heard, a_heard, wall;
    const char *out;

    (void)state;
    start(&c, NULL, 0, TIMEOUT_MS);
    b_before = clock_wall_ms();
    take(&c, rec(&c, "b", 0, 1), 0);
    b_heard = clock_wall_ms();
    a_heard = wall_after(b_heard);
    take(&c, rec(&c, "a", 0, 2), 0);
    take(&c, rec(&c, "a", 1, 3), 0);
    take(&c, rec(&c, "a", 2, 4), 0);
    /* Before the timeout, b holds back. */
    assert_int_equal(advance(&c, b_heard), 1);
    assert_int_equal(advance(&c, b_before + TIMEOUT_MS - 1), 1);
    assert_int_equal(stats(&c).silent, 0);
    wall = a_heard + TIMEOUT_MS - 1;
    /* At the timeout of b (a's is 1 ms later), b lets go. */
    assert_int_equal(advance(&c, wall), 3);
    assert_int_equal(stats(&c).silent, 1);
    out = written(&c);
    assert_int_equal(inputs(out, "b", "silent", time), 1);
    clock_format_time(clock_floor(wall, 1000), want);
    assert_string_equal(time, want);
    assert_int_equal(inputs(out, "a", "silent", NULL), 0);
    /* Said once. */
    assert_int_equal(advance(&c, wall), 3);
    assert_int_equal(inputs(written(&c), "b", "silent", NULL), 1);

    /* b is back: flowing; its steps merged without it are late. */
    take(&c, rec(&c, "b", 1, 5), 0);
    take(&c, rec(&c, "b", 2, 6), 0);
    assert_int_equal(stats(&c).silent, 0);
    assert_int_equal(stats(&c).late, 2);
    take(&c, rec(&c, "b", 3, 7), 0);
    assert_int_equal(advance(&c, 0), 3); /* a's step 3 has not come: b holds back again */
    out = written(&c);
    assert_int_equal(inputs(out, "b", "flowing", NULL), 1);
    take(&c, rec(&c, "a", 3, 8), 0);
    take(&c, rec(&c, "a", 4, 1), 0);
    take(&c, end_marker(&c, "b"), 0);
    assert_int_equal(advance(&c, 0), 5);
    assert_string_equal(hits(finish(&c)), "3,3,4,15");
    end(&c);
}

/* --hosts with a timeout: a host never seen is silent from the start of the merge. */
static void
test_merge_host_never_seen_times_out(void **state)
{
    static const char *const hosts[] = {"a", "b"};
    struct central c;
    int64_t started, a_heard;

    (void)state;
    start(&c, hosts, 2, TIMEOUT_MS);
    started = clock_wall_ms();
    a_heard = wall_after(started);
    take(&c, rec(&c, "a", 0, 1), 0);
    take(&c, rec(&c, "a", 1, 2), 0);
    assert_int_equal(advance(&c, a_heard), 0);
    assert_int_equal(advance(&c, a_heard + TIMEOUT_MS - 1), 2);
    assert_int_equal(stats(&c).silent, 1);
    assert_int_equal(stats(&c).hosts, 1);
    assert_int_equal(inputs(written(&c), "b", "silent", NULL), 1);
    assert_int_equal(inputs(written(&c), "a", "silent", NULL), 0);
    /* Still --hosts: not complete while b has not ended. */
    take(&c, end_marker(&c, "a"), 0);
    assert_false(merge_complete(c.m));
    end(&c);
}

/* A --host-timeout under two steps (a live host sends a record a step) is raised, and said. */
static void
test_merge_host_timeout_is_at_least_two_steps(void **state)
{
    struct central c;
    int64_t b_before, b_heard, a_heard;
    char *log;

    (void)state;
    start(&c, NULL, 0, 1000);
    log = said(&c);
    assert_string_equal(log, "rarr: --host-timeout 1s is less than two steps: 2m is used (a host "
                             "sends a record a step)\n");
    free(log);
    b_before = clock_wall_ms();
    take(&c, rec(&c, "b", 0, 1), 0);
    b_heard = clock_wall_ms();
    a_heard = wall_after(b_heard);
    take(&c, rec(&c, "a", 0, 1), 0);
    take(&c, rec(&c, "a", 1, 1), 0);
    assert_int_equal(advance(&c, b_before + 1000), 1);
    assert_int_equal(advance(&c, b_before + 2 * STEP_MS - 1), 1);
    assert_int_equal(stats(&c).silent, 0);
    assert_int_equal(advance(&c, a_heard + 2 * STEP_MS - 1), 2);
    assert_int_equal(stats(&c).silent, 1);
    assert_int_equal(inputs(written(&c), "b", "silent", NULL), 1);
    end(&c);
}

/* Records of steps merged already: late when the host had not sent the step, else duplicates. */
static void
test_merge_late_and_duplicate_counted(void **state)
{
    struct central c;
    char *log;

    (void)state;
    start(&c, NULL, 0, 0);
    take(&c, rec(&c, "a", 0, 1), 0);
    take(&c, rec(&c, "b", 0, 2), 0);
    take(&c, rec(&c, "a", 1, 3), 0);
    take(&c, rec(&c, "b", 1, 4), 0);
    assert_int_equal(advance(&c, 0), 2);
    /* a again (a restarted host, a redelivery): duplicates. */
    take(&c, rec(&c, "a", 0, 100), 0);
    take(&c, rec(&c, "a", 1, 100), 0);
    assert_int_equal(stats(&c).dup, 2);
    assert_int_equal(stats(&c).late, 0);
    /* c never sent them: late, said once. */
    take(&c, rec(&c, "c", 0, 1000), 0);
    take(&c, rec(&c, "c", 1, 1000), 0);
    assert_int_equal(stats(&c).late, 2);
    assert_int_equal(stats(&c).dup, 2);
    /* A record queued already, again: a duplicate. */
    take(&c, rec(&c, "a", 2, 5), 0);
    take(&c, rec(&c, "a", 2, 100), 0);
    assert_int_equal(stats(&c).dup, 3);
    take(&c, rec(&c, "b", 2, 6), 0);
    /* c, seen, holds the merge back now. */
    assert_int_equal(advance(&c, 0), 2);
    take(&c, rec(&c, "c", 2, 7), 0);
    take(&c, rec(&c, "a", 3, 1), 0);
    take(&c, rec(&c, "b", 3, 1), 0);
    take(&c, rec(&c, "c", 3, 1), 0);
    assert_int_equal(advance(&c, 0), 4);
    assert_string_equal(hits(finish(&c)), "3,7,18");
    assert_int_equal(stats(&c).records, 15);
    assert_int_equal(stats(&c).bad, 0);
    log = said(&c);
    assert_string_equal(log,
                        "rarr: host c: partials of steps already merged came: counted late, left "
                        "out\n");
    free(log);
    end(&c);
}

/* merge_ack_floor: one less than the first message still queued; else the highest taken. */
static void
test_merge_ack_floor(void **state)
{
    struct central c;

    (void)state;
    start(&c, NULL, 0, 0);
    assert_int_equal(merge_ack_floor(c.m), 0);
    take(&c, rec(&c, "a", 0, 1), 1);
    take(&c, rec(&c, "b", 0, 1), 2);
    assert_int_equal(merge_ack_floor(c.m), 0);
    take(&c, rec(&c, "a", 1, 1), 3);
    assert_int_equal(advance(&c, 0), 1);
    assert_int_equal(merge_ack_floor(c.m), 2); /* a's step 1 (3) is queued */
    /* Blank and bad lines move nothing queued. */
    take(&c, "  ", 4);
    take(&c, "not json", 5);
    assert_int_equal(merge_ack_floor(c.m), 2);
    assert_int_equal(stats(&c).bad, 1);
    take(&c, rec(&c, "b", 1, 1), 6);
    assert_int_equal(advance(&c, 0), 2);
    assert_int_equal(merge_ack_floor(c.m), 6); /* nothing queued */
    /* Messages out of order: the lowest queued counts. */
    take(&c, rec(&c, "a", 3, 1), 8);
    take(&c, rec(&c, "a", 2, 1), 7);
    assert_int_equal(merge_ack_floor(c.m), 6);
    take(&c, rec(&c, "b", 2, 1), 9);
    assert_int_equal(advance(&c, 0), 3); /* a's step 3 (8) waits for b */
    assert_int_equal(merge_ack_floor(c.m), 7);
    /* A duplicate is dropped: it holds nothing back. */
    take(&c, rec(&c, "a", 3, 1), 10);
    assert_int_equal(merge_ack_floor(c.m), 7);
    take(&c, rec(&c, "b", 3, 1), 11);
    assert_int_equal(advance(&c, 0), 4);
    assert_int_equal(merge_ack_floor(c.m), 11);
    /* Records of files (no message) hold nothing back either. */
    take(&c, rec(&c, "a", 4, 1), 0);
    assert_int_equal(merge_ack_floor(c.m), 11);
    take(&c, rec(&c, "a", 5, 1), 12);
    assert_int_equal(merge_ack_floor(c.m), 11);
    assert_string_equal(hits(finish(&c)), "2,2,2,2,1");
    assert_int_equal(merge_ack_floor(c.m), 12);
    end(&c);
}

/* merge_complete: only with --hosts, once every one of them has sent its end marker. */
static void
test_merge_complete_only_with_hosts_all_ended(void **state)
{
    static const char *const hosts[] = {"a", "b"};
    struct central c;

    (void)state;
    start(&c, NULL, 0, 0);
    take(&c, end_marker(&c, "a"), 0);
    take(&c, end_marker(&c, "b"), 0);
    assert_int_equal(stats(&c).ended, 2);
    assert_false(merge_complete(c.m));
    end(&c);

    start(&c, hosts, 2, 0);
    assert_false(merge_complete(c.m));
    take(&c, rec(&c, "a", 0, 1), 0);
    take(&c, end_marker(&c, "a"), 0);
    assert_false(merge_complete(c.m));
    take(&c, end_marker(&c, "c"), 0); /* not one of them */
    assert_false(merge_complete(c.m));
    take(&c, end_marker(&c, "b"), 0);
    assert_true(merge_complete(c.m));
    assert_int_equal(stats(&c).ended, 2);
    end(&c);
}

/* A host's records out of step order are queued in order; steps without lines are zeros. */
static void
test_merge_step_order_and_gaps(void **state)
{
    struct central c;

    (void)state;
    start(&c, NULL, 0, 0);
    take(&c, rec(&c, "a", 1, 2), 0);
    take(&c, rec(&c, "a", 0, 1), 0);
    take(&c, rec(&c, "b", 0, 4), 0);
    take(&c, rec(&c, "b", 2, 0), 0); /* a step without lines: b is past step 1 */
    take(&c, rec(&c, "b", 5, 8), 0);
    assert_int_equal(advance(&c, 0), 2);
    take(&c, rec(&c, "a", 5, 16), 0);
    assert_int_equal(advance(&c, 0), 4);
    take(&c, rec(&c, "a", 6, 1), 0);
    take(&c, rec(&c, "b", 6, 1), 0);
    assert_int_equal(advance(&c, 0), 5);
    /* Steps 2 to 4 had no line on any host: zeros, as one rarr would write. */
    assert_string_equal(hits(finish(&c)), "5,2,0,0,0,24");
    assert_int_equal(stats(&c).steps, 5);
    end(&c);
}

/* merge_finish merges what is still queued, hosts holding back or not. */
static void
test_merge_finish_merges_what_is_queued(void **state)
{
    struct central c;

    (void)state;
    start(&c, NULL, 0, 0);
    take(&c, rec(&c, "a", 0, 1), 0);
    take(&c, rec(&c, "b", 0, 2), 0);
    take(&c, rec(&c, "a", 1, 3), 0);
    take(&c, rec(&c, "a", 2, 4), 0);
    take(&c, rec(&c, "a", 3, 5), 0);
    assert_int_equal(advance(&c, 0), 1);
    assert_string_equal(hits(finish(&c)), "3,3,4");
    assert_int_equal(stats(&c).steps, 4);
    assert_int_equal(merge_ack_floor(c.m), 0);
    end(&c);
}

/* A rule set other than the central's: said once per host, the metrics merged by name. */
static void
test_merge_says_rules_differ_once(void **state)
{
    struct central c;
    char digest[17], line[512], *log;

    (void)state;
    start(&c, NULL, 0, 0);
    partial_rules_digest(c.rs, digest);
    snprintf(line, sizeof(line),
             "{\"rarr_partial\":1,\"host\":\"a\",\"step\":1777888800000,\"step_ms\":60000,"
             "\"lines\":1,\"first\":1777888801000,\"last\":1777888801000,\"tz\":0,\"rules\":"
             "\"%s\",\"m\":{\"hits\":1}}",
             digest);
    take(&c, line, 0);
    take(&c,
         "{\"rarr_partial\":1,\"host\":\"b\",\"step\":1777888800000,\"step_ms\":60000,"
         "\"lines\":2,\"first\":1777888801000,\"last\":1777888801000,\"tz\":0,\"rules\":"
         "\"ffffffffffffffff\",\"m\":{\"hits\":2,\"amount\":[0.5,2]}}",
         0);
    take(&c,
         "{\"rarr_partial\":1,\"host\":\"b\",\"step\":1777888860000,\"step_ms\":60000,"
         "\"lines\":1,\"first\":1777888861000,\"last\":1777888861000,\"tz\":0,\"rules\":"
         "\"ffffffffffffffff\",\"m\":{\"hits\":1}}",
         0);
    take(&c, "{\"rarr_partial\":1,\"host\":\"b\",\"rules\":\"ffffffffffffffff\",\"end\":null}", 0);
    take(&c, end_marker(&c, "a"), 0);
    assert_int_equal(advance(&c, 0), 2);
    assert_string_equal(hits(finish(&c)), "3");
    log = said(&c);
    assert_string_equal(log,
                        "rarr: host b: its rules differ from these: metrics are merged by name\n");
    free(log);
    end(&c);
}

/* Lines that are not partial records: counted bad, blank ones passed over; merge_new's hosts. */
static void
test_merge_bad_lines_and_hosts(void **state)
{
    char name[PARTIAL_HOST_MAX + 2];
    const char *long_host[1] = {name};
    struct central c;
    struct merge_opts mo = {.hosts = long_host, .nhosts = 1};

    (void)state;
    memset(name, 'h', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    start(&c, NULL, 0, 0);
    mo.log = c.log;
    assert_null(merge_new(c.p, &c.em, &mo));
    take(&c, "", 0);
    take(&c, " \t", 0);
    take(&c, "not json", 0);
    take(&c, "{\"rarr_partial\":2,\"host\":\"a\",\"end\":null}", 0);
    take(&c,
         "{\"rarr_partial\":1,\"host\":\"a\",\"step\":1777888800000,\"step_ms\":30000,"
         "\"lines\":0}",
         0);
    assert_int_equal(stats(&c).bad, 3);
    assert_int_equal(stats(&c).records, 0);
    assert_int_equal(stats(&c).hosts, 0);
    /* A host named by a bad line is not seen: it holds nothing back. */
    take(&c, rec(&c, "b", 0, 1), 0);
    take(&c, rec(&c, "b", 1, 1), 0);
    assert_int_equal(advance(&c, 0), 2);
    end(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_waits_for_every_host_seen),
        cmocka_unit_test(test_merge_hosts_waits_for_host_never_seen),
        cmocka_unit_test(test_merge_end_marker_releases),
        cmocka_unit_test(test_merge_silent_host_times_out_and_comes_back),
        cmocka_unit_test(test_merge_host_never_seen_times_out),
        cmocka_unit_test(test_merge_host_timeout_is_at_least_two_steps),
        cmocka_unit_test(test_merge_late_and_duplicate_counted),
        cmocka_unit_test(test_merge_ack_floor),
        cmocka_unit_test(test_merge_complete_only_with_hosts_all_ended),
        cmocka_unit_test(test_merge_step_order_and_gaps),
        cmocka_unit_test(test_merge_finish_merges_what_is_queued),
        cmocka_unit_test(test_merge_says_rules_differ_once),
        cmocka_unit_test(test_merge_bad_lines_and_hosts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
