/*
 * test_pipeline.c -- unit tests of the per-line loop and the step stage
 * (src/pipeline.c, src/step.c; the time rules of docs/design.md), through
 * pipeline_new / pipeline_line / pipeline_finish with output written to a
 * temporary file.
 *
 * JSON event lines carry millisecond timestamps so step boundaries can be
 * tested to the millisecond. Checked: which step an event lands in, the
 * first step evaluated, gaps as zeros, lateness (late events counted, not
 * applied; out-of-order events within it applied to their own step), the
 * end of input (the last complete step evaluated, the one holding the
 * newest event not), ratios per step, threshold alerts with their time and
 * since, determinism, and a week-long gap crossed without spurious output.
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
#include <unistd.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/emit.h"
#include "rarr/pipeline.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

#define DAY "2026-05-04T"
#define STEP_MS 60000

/* A metric record of the 1m step ending at DAY 'hms'. */
#define MREC(hms, name, value)                                                                     \
    "{\"type\":\"metric\",\"time\":\"" DAY hms "Z\",\"metric\":\"" name                            \
    "\",\"step\":\"1m\",\"value\":" value "}\n"

/* A threshold record of a metric without category. */
#define TREC(time, state, rule, metric, window, value, threshold, op, since)                       \
    "{\"type\":\"threshold\",\"time\":\"" time "Z\",\"state\":\"" state "\",\"rule\":\"" rule      \
    "\",\"metric\":\"" metric "\",\"window\":\"" window "\",\"value\":" value                      \
    ",\"threshold\":" threshold ",\"op\":\"" op "\",\"since\":\"" since "Z\"}\n"

/* One pipeline over rules given as text, writing into an unlinked temporary file. */
struct run {
    struct ruleset *rs;
    struct emit em;
    struct pipeline *p;
    int fd;
    uint64_t lineno;
    char *out;
};

static void
run_start(struct run *r, const char *rules, int metrics, int alerts, int64_t lateness_ms,
          FILE *diag)
{
    struct pipeline_opts opt;
    struct diag d;
    char path[] = "/tmp/rarr-test-pipeline-XXXXXX";

    memset(r, 0, sizeof(*r));
    memset(&d, 0, sizeof(d));
    r->rs = rules_new();
    assert_non_null(r->rs);
    if (rules_parse(r->rs, "t.rarr", rules, strlen(rules), &d) != 0 ||
        rules_finish(r->rs, STEP_MS, &d) != 0)
        fail_msg("rules: %s:%u:%u: %s", d.file, d.line, d.col, d.msg);
    r->fd = mkstemp(path);
    assert_true(r->fd >= 0);
    unlink(path);
    emit_init(&r->em, r->fd);
    memset(&opt, 0, sizeof(opt));
    opt.format = RECORD_JSON;
    opt.clock = PIPELINE_EVENT;
    opt.clock_given = 1;
    opt.step_ms = STEP_MS;
    opt.lateness_ms = lateness_ms;
    opt.emit_alerts = alerts;
    opt.emit_metrics = metrics;
    opt.time_field = SIZE_MAX;
    opt.diag = diag;
    r->p = pipeline_new(r->rs, &opt, &r->em, &d);
    if (r->p == NULL)
        fail_msg("pipeline_new: %s", d.msg);
}

static void
run_line(struct run *r, const char *line)
{
    assert_int_equal(pipeline_line(r->p, "test", ++r->lineno, line, strlen(line)), 0);
}

/* Feed an event at the full RFC 3339 time 'ts' with field path 'path'. */
static void
run_event_at(struct run *r, const char *ts, const char *path)
{
    char line[256];

    snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"path\":\"%s\"}", ts, path);
    run_line(r, line);
}

/* Feed an event at DAY 'hms' (e.g. "10:00:59.999"). */
static void
run_event(struct run *r, const char *hms, const char *path)
{
    char ts[64];

    snprintf(ts, sizeof(ts), DAY "%sZ", hms);
    run_event_at(r, ts, path);
}

/* What the pipeline has written so far (borrowed until the next call or run_end). */
static const char *
run_written(struct run *r)
{
    struct stat st;
    ssize_t n;

    assert_int_equal(fstat(r->fd, &st), 0);
    free(r->out);
    r->out = malloc((size_t)st.st_size + 1);
    assert_non_null(r->out);
    n = pread(r->fd, r->out, (size_t)st.st_size, 0);
    assert_int_equal(n, st.st_size);
    r->out[n] = '\0';
    return r->out;
}

/* Everything decided so far: queued output flushed. */
static const char *
run_output(struct run *r)
{
    assert_int_equal(emit_flush(&r->em), 0);
    return run_written(r);
}

static const char *
run_finish(struct run *r)
{
    assert_int_equal(pipeline_finish(r->p), 0);
    return run_output(r);
}

static void
run_end(struct run *r)
{
    pipeline_free(r->p);
    emit_fini(&r->em);
    close(r->fd);
    rules_free(r->rs);
    free(r->out);
}

/* 'got' is exactly the concatenation of the NULL-terminated list of lines. */
static void
expect_lines(const char *got, ...)
{
    struct buf want;
    const char *line;
    va_list ap;

    buf_init(&want);
    va_start(ap, got);
    while ((line = va_arg(ap, const char *)) != NULL)
        assert_int_equal(buf_adds(&want, line), 0);
    va_end(ap);
    assert_string_equal(got, buf_cstr(&want));
    buf_fini(&want);
}

static const char ab_ratio[] = "metric a path='/a'\n"
                               "metric b path='/b'\n"
                               "ratio r = a / b * 100\n";

static void
test_pipeline_step_boundaries(void **state)
{
    struct run r;

    (void)state;
    run_start(&r, ab_ratio, 1, 1, 10000, NULL);
    run_event(&r, "10:00:59.999", "/a");
    run_event(&r, "10:01:00.000", "/a");
    run_event(&r, "10:01:30", "/a");
    run_event(&r, "10:01:59.999", "/a");
    run_event(&r, "10:02:10", "/b");
    expect_lines(run_finish(&r), MREC("10:01:00", "a", "1"), MREC("10:01:00", "b", "0"),
                 MREC("10:01:00", "r", "null"), MREC("10:02:00", "a", "3"),
                 MREC("10:02:00", "b", "0"), MREC("10:02:00", "r", "null"), NULL);
    run_end(&r);
}

static void
test_pipeline_first_step_holds_first_event(void **state)
{
    struct run r;

    (void)state;
    run_start(&r, ab_ratio, 1, 1, 10000, NULL);
    run_event(&r, "10:05:30", "/a");
    run_event(&r, "10:07:00", "/b");
    expect_lines(run_finish(&r), MREC("10:06:00", "a", "1"), MREC("10:06:00", "b", "0"),
                 MREC("10:06:00", "r", "null"), MREC("10:07:00", "a", "0"),
                 MREC("10:07:00", "b", "0"), MREC("10:07:00", "r", "null"), NULL);
    run_end(&r);
}

static void
test_pipeline_earlier_event_within_lateness_moves_first_step(void **state)
{
    struct run r;

    (void)state;
    run_start(&r, "metric a path='/a'\n", 1, 1, 10000, NULL);
    run_event(&r, "10:01:02", "/a");
    /* Before the first event but within the lateness: its step is the first. */
    run_event(&r, "10:00:58", "/a");
    run_event(&r, "10:02:00", "/z");
    expect_lines(run_finish(&r), MREC("10:01:00", "a", "1"), MREC("10:02:00", "a", "1"), NULL);
    run_end(&r);
}

static void
test_pipeline_gaps_count_as_zeros(void **state)
{
    struct run r;

    (void)state;
    run_start(&r, "metric a path='/a'\nmetric b path='/b'\n", 1, 1, 10000, NULL);
    run_event(&r, "10:00:10", "/a");
    run_event(&r, "10:04:10", "/b");
    run_event(&r, "10:04:20", "/a");
    expect_lines(run_finish(&r), MREC("10:01:00", "a", "1"), MREC("10:01:00", "b", "0"),
                 MREC("10:02:00", "a", "0"), MREC("10:02:00", "b", "0"), MREC("10:03:00", "a", "0"),
                 MREC("10:03:00", "b", "0"), MREC("10:04:00", "a", "0"), MREC("10:04:00", "b", "0"),
                 NULL);
    run_end(&r);
}

/* A step is written as soon as the event clock (newest - lateness) passes its end. */
static void
test_pipeline_step_written_once_time_passes_its_end(void **state)
{
    struct run r;

    (void)state;
    run_start(&r, "metric a path='/a'\n", 1, 1, 10000, NULL);
    run_event(&r, "10:00:30", "/a");
    run_event(&r, "10:01:09.999", "/a");
    assert_string_equal(run_output(&r), "");
    run_event(&r, "10:01:10", "/z");
    /* Decided, and queued: a replay writes in blocks, or when the reader waits. */
    assert_true(r.em.out.len > 0);
    expect_lines(run_output(&r), MREC("10:01:00", "a", "1"), NULL);
    expect_lines(run_finish(&r), MREC("10:01:00", "a", "1"), NULL);
    run_end(&r);
}

static void
test_pipeline_late_event_counted_not_applied(void **state)
{
    struct run r;
    char *diag = NULL, *stats = NULL;
    size_t diag_len = 0, stats_len = 0;
    FILE *dfp = open_memstream(&diag, &diag_len), *sfp;

    (void)state;
    assert_non_null(dfp);
    run_start(&r, "metric a path='/a'\nmetric b path='/b'\n", 1, 1, 10000, dfp);
    run_event(&r, "10:00:30", "/a");
    run_event(&r, "10:01:30", "/a");
    /* Older than newest - lateness (10:01:20): late, though its step is still open. */
    run_event(&r, "10:01:19.999", "/a");
    /* Exactly newest - lateness: applied. */
    run_event(&r, "10:01:20.000", "/a");
    /* In a step already evaluated: late. */
    run_event(&r, "10:00:50", "/a");
    run_event(&r, "10:02:00", "/b");
    expect_lines(run_finish(&r), MREC("10:01:00", "a", "1"), MREC("10:01:00", "b", "0"),
                 MREC("10:02:00", "a", "2"), MREC("10:02:00", "b", "0"), NULL);
    assert_int_equal(fclose(dfp), 0);
    assert_string_equal(
        diag, "rarr: test:3: late: 11s behind the newest event, past --lateness 10s: "
              "{\"ts\":\"2026-05-04T10:01:19.999Z\",\"path\":\"/a\"}\n"
              "rarr: test:5: late: 40s behind the newest event, past --lateness 10s: "
              "{\"ts\":\"2026-05-04T10:00:50Z\",\"path\":\"/a\"}\n"
              "rarr: input: 2 lines came later than --lateness 10s allows (the most 40s behind "
              "the newest event); --lateness 2m would keep them\n");
    sfp = open_memstream(&stats, &stats_len);
    assert_non_null(sfp);
    pipeline_stats(r.p, sfp, 0);
    assert_int_equal(fclose(sfp), 0);
    assert_non_null(strstr(stats, "rarr: stats: lines 6, parsed 4, empty 0, bad 2\n"));
    assert_non_null(strstr(
        stats, "rarr: stats: late 2 (the most 40s behind the newest event; --lateness 10s)\n"));
    assert_non_null(strstr(stats, "rarr: stats: matches a 3\n"));
    assert_non_null(strstr(stats, "rarr: stats: matches b 1\n"));
    assert_non_null(strstr(stats, "rarr: stats: events 0, metric records 4\n"));
    free(diag);
    free(stats);
    run_end(&r);
}

static void
test_pipeline_out_of_order_within_lateness_applied_to_own_step(void **state)
{
    struct run r;

    (void)state;
    run_start(&r, ab_ratio, 1, 1, 10000, NULL);
    run_event(&r, "10:00:50", "/a");
    run_event(&r, "10:01:05", "/b");
    run_event(&r, "10:00:58", "/a");
    run_event(&r, "10:01:09.999", "/a");
    /* Newest - lateness is 10:00:59.999: this one still counts for 10:00. */
    run_event(&r, "10:00:59.999", "/a");
    assert_string_equal(run_output(&r), "");
    run_event(&r, "10:01:10", "/b");
    expect_lines(run_output(&r), MREC("10:01:00", "a", "3"), MREC("10:01:00", "b", "0"),
                 MREC("10:01:00", "r", "null"), NULL);
    run_event(&r, "10:02:00", "/z");
    expect_lines(run_finish(&r), MREC("10:01:00", "a", "3"), MREC("10:01:00", "b", "0"),
                 MREC("10:01:00", "r", "null"), MREC("10:02:00", "a", "1"),
                 MREC("10:02:00", "b", "2"), MREC("10:02:00", "r", "50"), NULL);
    run_end(&r);
}

static void
test_pipeline_end_evaluates_last_complete_step_only(void **state)
{
    struct run r;

    (void)state;
    /* The newest event is inside 10:01-10:02: that step is not evaluated. */
    run_start(&r, "metric a path='/a'\n", 1, 1, 10000, NULL);
    run_event(&r, "10:00:10", "/a");
    run_event(&r, "10:01:05", "/a");
    assert_string_equal(run_output(&r), "");
    expect_lines(run_finish(&r), MREC("10:01:00", "a", "1"), NULL);
    run_end(&r);

    /* The newest event is exactly at 10:02:00: 10:01-10:02 is complete. */
    run_start(&r, "metric a path='/a'\n", 1, 1, 10000, NULL);
    run_event(&r, "10:00:10", "/a");
    run_event(&r, "10:01:05", "/a");
    run_event(&r, "10:02:00.000", "/a");
    expect_lines(run_output(&r), MREC("10:01:00", "a", "1"), NULL);
    expect_lines(run_finish(&r), MREC("10:01:00", "a", "1"), MREC("10:02:00", "a", "1"), NULL);
    run_end(&r);

    /* Lateness notwithstanding: with 5m of it nothing is decided before the end. */
    run_start(&r, "metric a path='/a'\n", 1, 1, 300000, NULL);
    run_event(&r, "10:00:10", "/a");
    run_event(&r, "10:03:30", "/a");
    assert_string_equal(run_output(&r), "");
    expect_lines(run_finish(&r), MREC("10:01:00", "a", "1"), MREC("10:02:00", "a", "0"),
                 MREC("10:03:00", "a", "0"), NULL);
    run_end(&r);

    /* No event at all: nothing. */
    run_start(&r, "metric a path='/a'\n", 1, 1, 10000, NULL);
    run_line(&r, "");
    run_line(&r, "not json");
    assert_string_equal(run_finish(&r), "");
    run_end(&r);
}

static void
test_pipeline_ratio_per_step_value_and_null(void **state)
{
    struct run r;

    (void)state;
    run_start(&r, "metric a path='/a'\nmetric b path='/b'\nratio r = a / b * 100 min=2\n", 1, 1,
              10000, NULL);
    /* 10:00: a 1, b 2 */
    run_event(&r, "10:00:01", "/a");
    run_event(&r, "10:00:02", "/b");
    run_event(&r, "10:00:03", "/b");
    /* 10:01: a 3, b 1 (below min=2) */
    run_event(&r, "10:01:01", "/a");
    run_event(&r, "10:01:02", "/a");
    run_event(&r, "10:01:03", "/a");
    run_event(&r, "10:01:04", "/b");
    /* 10:02: nothing */
    /* 10:03: a 1, b 3 */
    run_event(&r, "10:03:01", "/a");
    run_event(&r, "10:03:02", "/b");
    run_event(&r, "10:03:03", "/b");
    run_event(&r, "10:03:04", "/b");
    /* 10:04: a 0, b 2 */
    run_event(&r, "10:04:01", "/b");
    run_event(&r, "10:04:02", "/b");
    run_event(&r, "10:05:00", "/z");
    expect_lines(
        run_finish(&r), MREC("10:01:00", "a", "1"), MREC("10:01:00", "b", "2"),
        MREC("10:01:00", "r", "50"), MREC("10:02:00", "a", "3"), MREC("10:02:00", "b", "1"),
        MREC("10:02:00", "r", "null"), MREC("10:03:00", "a", "0"), MREC("10:03:00", "b", "0"),
        MREC("10:03:00", "r", "null"), MREC("10:04:00", "a", "1"), MREC("10:04:00", "b", "3"),
        MREC("10:04:00", "r", "33.33333333333333"), MREC("10:05:00", "a", "0"),
        MREC("10:05:00", "b", "2"), MREC("10:05:00", "r", "0"), NULL);
    run_end(&r);
}

static void
test_pipeline_sum_metric(void **state)
{
    struct run r;

    (void)state;
    run_start(&r, "metric paid path='/pay' sum=amount\n", 1, 1, 10000, NULL);
    run_line(&r, "{\"ts\":\"2026-05-04T10:00:01Z\",\"path\":\"/pay\",\"amount\":12.5}");
    run_line(&r, "{\"ts\":\"2026-05-04T10:00:02Z\",\"path\":\"/pay\",\"amount\":\"0.1\"}");
    /* Not a number: skipped, not counted as zero or as a line. */
    run_line(&r, "{\"ts\":\"2026-05-04T10:00:03Z\",\"path\":\"/pay\",\"amount\":\"n/a\"}");
    run_line(&r, "{\"ts\":\"2026-05-04T10:00:04Z\",\"path\":\"/pay\"}");
    run_event(&r, "10:01:00", "/z");
    expect_lines(run_finish(&r), MREC("10:01:00", "paid", "12.6"), NULL);
    run_end(&r);
}

static void
test_pipeline_threshold_alert_fires_and_resolves(void **state)
{
    struct run r;
    int i;

    (void)state;
    run_start(&r, "metric hits path='/a'\nalert hits window=3m above=2 for=1m\n", 0, 1, 10000,
              NULL);
    run_event(&r, "10:00:10", "/a");
    run_event(&r, "10:00:20", "/a");
    run_event(&r, "10:00:30", "/a");
    run_event(&r, "10:02:20", "/z");
    /* An event is written by the line that decided it, not queued. */
    expect_lines(run_written(&r),
                 TREC(DAY "10:02:00", "firing", "hits above 2 over 3m", "hits", "3m", "3", "2",
                      "above", DAY "10:01:00"),
                 NULL);
    run_event(&r, "10:05:00", "/z");
    expect_lines(run_finish(&r),
                 TREC(DAY "10:02:00", "firing", "hits above 2 over 3m", "hits", "3m", "3", "2",
                      "above", DAY "10:01:00"),
                 TREC(DAY "10:04:00", "resolved", "hits above 2 over 3m", "hits", "3m", "0", "2",
                      "above", DAY "10:01:00"),
                 NULL);
    run_end(&r);

    /* A ratio below its threshold, over window values of its operands. */
    run_start(&r,
              "metric dash path='/dash'\nmetric login path='/login'\n"
              "ratio success = dash / login * 100 min=2\nalert success window=2m below=70\n",
              0, 1, 10000, NULL);
    for (i = 0; i < 4; i++) {
        run_event(&r, "10:00:01", "/login");
        run_event(&r, "10:00:02", "/dash");
    }
    for (i = 0; i < 4; i++)
        run_event(&r, "10:01:01", "/login");
    for (i = 0; i < 4; i++) {
        run_event(&r, "10:02:01", "/login");
        run_event(&r, "10:02:02", "/dash");
    }
    for (i = 0; i < 4; i++) {
        run_event(&r, "10:03:01", "/login");
        run_event(&r, "10:03:02", "/dash");
    }
    run_event(&r, "10:05:30", "/z");
    expect_lines(run_finish(&r),
                 TREC(DAY "10:02:00", "firing", "success below 70 over 2m", "success", "2m", "50",
                      "70", "below", DAY "10:02:00"),
                 TREC(DAY "10:04:00", "resolved", "success below 70 over 2m", "success", "2m",
                      "100", "70", "below", DAY "10:02:00"),
                 NULL);
    run_end(&r);
}

/* Pseudo-random but fixed input: increasing time with jitter, some of it late. */
static void
feed_mixed(struct run *r)
{
    static const char *const paths[] = {"/login", "/dash", "/signup", "/other"};
    uint32_t s = 12345;
    int64_t t = 1777888800000LL;
    char line[256];
    int i;

    for (i = 0; i < 3000; i++) {
        int64_t ts;
        long long sec;

        s = s * 1103515245u + 12345u;
        t += (s >> 16) % 4000;
        ts = t - (int64_t)((s >> 8) % 15000); /* up to 15s back: some within 10s, some late */
        sec = (long long)(ts / 1000);
        snprintf(line, sizeof(line), "{\"ts\":%lld.%03d,\"path\":\"%s\"}", sec, (int)(ts % 1000),
                 paths[(s >> 4) % 4]);
        run_line(r, line);
    }
}

static void
test_pipeline_replay_is_deterministic(void **state)
{
    static const char rules[] = "metric login path='/login'\n"
                                "metric dash path='/dash'\n"
                                "metric signups path='/signup'\n"
                                "ratio success = dash / login * 100 min=3\n"
                                "alert success window=5m below=90 for=2m\n"
                                "alert signups window=3m above=16 clear=10\n";
    struct run r1, r2;
    const char *out1;
    char *copy;

    (void)state;
    run_start(&r1, rules, 1, 1, 10000, NULL);
    feed_mixed(&r1);
    out1 = run_finish(&r1);
    assert_true(strlen(out1) > 1000);
    assert_non_null(strstr(out1, "\"type\":\"threshold\""));
    copy = strdup(out1);
    assert_non_null(copy);
    run_end(&r1);
    run_start(&r2, rules, 1, 1, 10000, NULL);
    feed_mixed(&r2);
    assert_string_equal(run_finish(&r2), copy);
    run_end(&r2);
    free(copy);
}

/* A week without events, alerts only: crossed at once, nothing written for it but state changes. */
static void
test_pipeline_long_gap_alerts_only(void **state)
{
    struct run r;
    int i;

    (void)state;
    run_start(&r,
              "metric hits path='/a'\nalert hits window=5m above=3\nalert hits window=5m below=1\n",
              0, 1, 10000, NULL);
    for (i = 0; i < 5; i++)
        run_event(&r, "10:00:10", "/a");
    for (i = 0; i < 10; i++)
        run_event_at(&r, "2026-05-11T10:00:10Z", "/a");
    run_event_at(&r, "2026-05-11T10:02:00Z", "/z");
    expect_lines(run_finish(&r),
                 TREC(DAY "10:01:00", "firing", "hits above 3 over 5m", "hits", "5m", "5", "3",
                      "above", DAY "10:01:00"),
                 TREC(DAY "10:06:00", "resolved", "hits above 3 over 5m", "hits", "5m", "0", "3",
                      "above", DAY "10:01:00"),
                 TREC(DAY "10:06:00", "firing", "hits below 1 over 5m", "hits", "5m", "0", "1",
                      "below", DAY "10:06:00"),
                 TREC("2026-05-11T10:01:00", "firing", "hits above 3 over 5m", "hits", "5m", "10",
                      "3", "above", "2026-05-11T10:01:00"),
                 TREC("2026-05-11T10:01:00", "resolved", "hits below 1 over 5m", "hits", "5m", "10",
                      "1", "below", DAY "10:06:00"),
                 NULL);
    run_end(&r);
}

/*
 * Two days of steady traffic on /a and /b (epoch-second timestamps), then
 * at day 2 noon an hour in which 'a_factor' and 'b_factor' scale them.
 * Returns the anomaly records written.
 */
static const char *
feed_two_days(struct run *r, double a_factor, double b_factor)
{
    static const char rules[] = "metric a path='/a'\nmetric b path='/b'\n"
                                "anomaly a window=1h season=daily\n"
                                "anomaly b window=1h season=daily\n";
    int64_t t0 = 1777852800, s; /* 2026-05-04T00:00:00Z */
    char line[128];

    run_start(r, rules, 0, 1, 0, NULL);
    for (s = 0; s < 2 * 86400 + 3 * 3600; s += 6) {
        int incident = s >= 86400 + 12 * 3600 && s < 86400 + 13 * 3600;
        /* Each path gets 5 events a minute; during the incident a share of them. */
        int k = (int)(s / 6 % 10), keep_a = !incident || k < a_factor * 10,
            keep_b = !incident || k < b_factor * 10;

        snprintf(line, sizeof(line), "{\"ts\":%lld,\"path\":\"%s\"}", (long long)(t0 + s),
                 s / 6 % 2 ? "/a" : "/b");
        if (s / 6 % 2 ? keep_a : keep_b)
            run_line(r, line);
    }
    return run_finish(r);
}

static void
test_pipeline_whole_input_drop_is_one_anomaly(void **state)
{
    struct run r;
    const char *out;

    (void)state;
    out = feed_two_days(&r, 0, 0);
    /* One record pair on the input as a whole, none per metric. */
    assert_non_null(strstr(out, "\"state\":\"firing\",\"rule\":\"input lines anomaly over 1h\","
                                "\"metric\":\"lines\""));
    assert_non_null(strstr(out, "\"state\":\"resolved\",\"rule\":\"input lines anomaly"));
    assert_null(strstr(out, "\"rule\":\"a anomaly"));
    assert_null(strstr(out, "\"rule\":\"b anomaly"));
    /* Both metrics fell with it: the firing names them in "related". */
    assert_non_null(strstr(out, "\"related\":[{\"metric\":\""));
    run_end(&r);
}

static void
test_pipeline_one_metric_drop_is_that_metric(void **state)
{
    struct run r;
    const char *out;

    (void)state;
    out = feed_two_days(&r, 0, 1);
    assert_non_null(strstr(out, "\"state\":\"firing\",\"rule\":\"a anomaly over 1h\""));
    assert_null(strstr(out, "\"metric\":\"lines\""));
    assert_null(strstr(out, "\"metric\":\"b\""));
    run_end(&r);
}

/*
 * Traffic that jumps a month at a time, with anomaly rules: each jump is
 * confirmed by the lines after it, and each gap is crossed step by step for
 * a day at most (the input is gone after a day without a line), so twelve
 * months cost twelve days of steps, not a year of them.
 */
static void
test_pipeline_month_jumps_cost_a_day_each(void **state)
{
    struct run r;
    char ts[RARR_TIME_MAX];
    int i;

    (void)state;
    run_start(&r, "metric a path~'^/a'\nanomaly a window=1h\n", 0, 1, 0, NULL);
    for (i = 0; i < 36; i++) {
        /* Three lines a second apart, 30 days after the three before. */
        clock_format_time((1767225600LL + i / 3 * 30LL * 86400 + i % 3) * 1000, ts);
        run_event_at(&r, ts, "/a");
    }
    run_finish(&r);
    assert_non_null(pipeline_step(r.p)->lines_det);
    if (pipeline_step(r.p)->lines_det->n > 12 * (1440 + 10))
        fail_msg("%llu steps evaluated for 12 lines",
                 (unsigned long long)pipeline_step(r.p)->lines_det->n);
    assert_true(pipeline_step(r.p)->lines_det->n >= 11 * 1440);
    run_end(&r);
}

/*
 * A confirmed jump of a year with metric records: the gap is crossed in one
 * jump once the windows have drained, not with a record per step (half a
 * million of them here; 1970 to now would be 29 million).
 */
static void
test_pipeline_year_jump_with_metrics_is_bounded(void **state)
{
    struct run r;
    char ts[RARR_TIME_MAX];
    int i;

    (void)state;
    run_start(&r, "metric a path~'^/a'\nalert a window=1h below=1\n", 1, 1, 10000, NULL);
    for (i = 0; i < 6; i++) {
        /* Three lines in January 1970, then three a year later. */
        clock_format_time((i < 3 ? 36000LL : 36000LL + 365 * 86400LL) * 1000 + i * 1000, ts);
        run_event_at(&r, ts, "/a");
    }
    run_finish(&r);
    if (r.em.metrics > 10000)
        fail_msg("%llu metric records for a jump of a year", (unsigned long long)r.em.metrics);
    assert_true(r.em.metrics >= 60); /* the hour the window drains, step by step */
    run_end(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_step_boundaries),
        cmocka_unit_test(test_pipeline_first_step_holds_first_event),
        cmocka_unit_test(test_pipeline_earlier_event_within_lateness_moves_first_step),
        cmocka_unit_test(test_pipeline_gaps_count_as_zeros),
        cmocka_unit_test(test_pipeline_step_written_once_time_passes_its_end),
        cmocka_unit_test(test_pipeline_late_event_counted_not_applied),
        cmocka_unit_test(test_pipeline_out_of_order_within_lateness_applied_to_own_step),
        cmocka_unit_test(test_pipeline_end_evaluates_last_complete_step_only),
        cmocka_unit_test(test_pipeline_ratio_per_step_value_and_null),
        cmocka_unit_test(test_pipeline_sum_metric),
        cmocka_unit_test(test_pipeline_threshold_alert_fires_and_resolves),
        cmocka_unit_test(test_pipeline_whole_input_drop_is_one_anomaly),
        cmocka_unit_test(test_pipeline_one_metric_drop_is_that_metric),
        cmocka_unit_test(test_pipeline_replay_is_deterministic),
        cmocka_unit_test(test_pipeline_long_gap_alerts_only),
        cmocka_unit_test(test_pipeline_month_jumps_cost_a_day_each),
        cmocka_unit_test(test_pipeline_year_jump_with_metrics_is_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
