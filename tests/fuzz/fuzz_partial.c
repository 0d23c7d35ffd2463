/*
 * fuzz_partial.c -- --merge: lines split from the input, each through
 * merge_line (partial_parse, partial_apply, the hosts' queues) of a merge
 * into a pipeline whose rules have every kind of metric a partial record
 * carries (counts, sums, by= keys with their overflow series, distinct
 * values, a quantile, a ratio) with threshold alerts and an anomaly rule on
 * them; the merge advanced after each line, then finished. Every record is
 * written to /dev/null.
 *
 * The first byte chooses the setup, the rest are the lines:
 *   bit 0    --hosts a,b (else whoever sends);
 *   bit 1    --host-timeout of two steps, the least (else none);
 *   bit 2    a lateness of 10s in the step stage (else none);
 *   bits 3-4 how far the wall clock moves a line: 0, 30 s, 2 min or 1 h;
 *   bit 5    hosts a and b expected before the first line (as files do);
 *   bit 6    no message numbers (as files; else line N is message N).
 * The wall clock given to merge_advance starts at the real clock when the
 * input starts (merge.c notes when hosts are heard from by the real clock)
 * and moves only as the setup says, so which host times out at which line
 * does not depend on how long a line takes.
 *
 * Checked besides crashes, leaks and undefined behaviour: every message
 * taken is at most what merge_ack_floor allows to be acknowledged, and
 * after merge_finish nothing is queued (the floor is the last message);
 * the counts of merge_stats add up with the lines given.
 *
 * The rules, below, are the ones of the seed corpus (tests/fuzz/corpus/
 * partial/, partial records written by `rarr --emit partials` with them).
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rarr/clock.h"
#include "rarr/emit.h"
#include "rarr/input.h"
#include "rarr/merge.h"
#include "rarr/pipeline.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_partial.c:%d: check failed: %s\n", __LINE__, #cond);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define STEP_MS 60000

static const char rules[] = "metric hits\n"
                            "metric errors status~'^[45]' by=path max_keys=4\n"
                            "metric requests by=status max_keys=8\n"
                            "metric sent sum=bytes\n"
                            "metric sent_by sum=bytes by=status max_keys=8\n"
                            "metric rt extra~'rt=(?<rt>[0-9.]+)' sum=rt\n"
                            "metric visitors distinct=remote_addr\n"
                            "metric size p95=bytes\n"
                            "ratio err_pct = errors / hits * 100\n"
                            "alert errors window=5m above=3\n"
                            "alert visitors window=10m below=1\n"
                            "alert size window=5m above=100000\n"
                            "anomaly sent window=30m direction=drop\n";

static const int64_t ticks_ms[4] = {0, 30000, 2 * STEP_MS, 3600000};

/* The rule set, parsed once and kept (read-only to the pipelines). A rule set that does not
 * parse is a bug of this file: abort. */
static const struct ruleset *
ruleset(void)
{
    static struct ruleset *rs;
    struct diag d;

    if (rs == NULL) {
        if ((rs = rules_new()) == NULL ||
            rules_parse(rs, "fuzz.rarr", rules, strlen(rules), &d) != 0 ||
            rules_finish(rs, STEP_MS, &d) != 0)
            abort();
    }
    return rs;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const hosts[2] = {"a", "b"};
    static int null_fd = -1;
    static FILE *null;
    struct pipeline_opts opt = {.format = RECORD_AUTO,
                                .clock = PIPELINE_EVENT,
                                .clock_given = 1,
                                .step_ms = STEP_MS,
                                .lateness_given = 1,
                                .emit_alerts = 1,
                                .emit_metrics = 1,
                                .time_field = SIZE_MAX};
    struct merge_opts mo = {0};
    struct merge_stats st;
    struct pipeline *pl;
    struct merge *m;
    struct emit em;
    struct diag d;
    const char *p, *end, *nl;
    uint64_t n = 0, seq = 0, nonblank = 0;
    int64_t wall, tick;
    int setup;

    if (size < 1)
        return 0;
    if (null_fd == -1 &&
        ((null_fd = open("/dev/null", O_WRONLY)) == -1 || (null = fopen("/dev/null", "w")) == NULL))
        abort();
    setup = data[0];
    opt.lateness_ms = setup & 4 ? 10000 : 0;
    opt.log = null;
    mo.hosts = setup & 1 ? hosts : NULL;
    mo.nhosts = setup & 1 ? 2 : 0;
    mo.host_timeout_ms = setup & 2 ? 2 * STEP_MS : 0;
    mo.log = null;
    tick = ticks_ms[(setup >> 3) & 3];
    emit_init(&em, null_fd);
    if ((pl = pipeline_new(ruleset(), &opt, &em, &d)) == NULL)
        goto out;
    if ((m = merge_new(pl, &em, &mo)) == NULL) {
        pipeline_free(pl);
        goto out;
    }
    wall = clock_wall_ms();
    if (setup & 32)
        CHECK(merge_expect(m, "a") == 0 && merge_expect(m, "b") == 0);
    for (p = (const char *)data + 1, end = (const char *)data + size; p < end; p = nl + 1) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;
        n++;
        seq = setup & 64 ? 0 : n;
        nonblank += !input_is_blank(p, (size_t)(nl - p));
        if (merge_line(m, p, (size_t)(nl - p), "fuzz", n, seq) == -1)
            break;
        CHECK(merge_ack_floor(m) <= n);
        wall += tick;
        if (merge_advance(m, wall) == -1)
            break;
    }
    merge_stats(m, &st);
    CHECK(st.records <= nonblank && st.records + st.bad >= nonblank);
    CHECK(st.ended <= st.hosts && st.silent <= st.hosts + 2);
    if (merge_finish(m) == 0 && p >= end)
        CHECK(merge_ack_floor(m) == seq);
    merge_free(m);
    pipeline_free(pl);
out:
    emit_fini(&em);
    return 0;
}
