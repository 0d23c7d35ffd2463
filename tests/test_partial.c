/*
 * test_partial.c -- unit tests of the partial records (src/partial.c,
 * docs/distributed.md): a host's steps written as NDJSON records by
 * partial_write, read back by partial_parse and added into another rarr's
 * step stage by partial_apply (here through merge.c, and by hand as merge.c
 * does).
 *
 * Checked: a round trip of every metric kind (counts, sums of decimals,
 * by= keys of binary bytes and of 300 bytes, digested to 200, a key table
 * that overflows, HyperLogLogs sparse and dense, quantile sketches,
 * ratios, a threshold alert) writes the same records as the host did; the
 * partials of three hosts merged write the same records as one pipeline
 * over all their lines; a sum of 0.1 ten times, split 3/3/4 across hosts,
 * is the very double one pipeline gets; what partial_parse refuses, and
 * why; what partial_apply refuses when checking (and that nothing of such
 * a record is added), and how it counts metrics it does not know.
 *
 * Lines are combined-format with " rt=SECONDS" after the user agent, at
 * second resolution from T0 (2026-05-04T10:00:00Z), step 1m.
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

#include <jansson.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/emit.h"
#include "rarr/merge.h"
#include "rarr/partial.h"
#include "rarr/pipeline.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"
#include "rarr/step.h"

#define STEP_MS 60000
#define T0 1777888800000LL /* 2026-05-04T10:00:00Z, a step start */

/* Every kind of metric a partial record carries, and an alert that fires on one. */
#define EVERY_KIND                                                                                 \
    "metric hits\n"                                                                                \
    "metric errs status~'^5'\n"                                                                    \
    "metric rt_sum extra~'rt=(?<rt>[0-9.]+)' sum=rt\n"                                             \
    "metric path_hits by=path max_keys=50\n"                                                       \
    "metric path_rt extra~'rt=(?<rt>[0-9.]+)' sum=rt by=path max_keys=50\n"                        \
    "metric visitors distinct=remote_addr\n"                                                       \
    "metric latency extra~'rt=(?<rt>[0-9.]+)' p95=rt\n"                                            \
    "ratio err_pct = errs / hits * 100\n"                                                          \
    "alert errs window=2m above=3\n"

static const char every_kind[] = EVERY_KIND;
/* The same with a by= metric of two keys: the others go to its overflow series. */
static const char every_kind_few[] = EVERY_KIND "metric few by=path max_keys=2\n";

static const char sum_rules[] = "metric amount extra~'rt=(?<rt>[0-9.]+)' sum=rt\n";

/* Keys of any bytes: binary, NUL included, and two of 300 bytes that differ only at the end. */
static char bin_path[] = "/bin\x01\x7f\xfe\xff\x00z";
#define BIN_PATH_LEN (sizeof(bin_path) - 1)
#define LONG_PATH_LEN 300
static char long_path[2][LONG_PATH_LEN];

static void
init_long_paths(void)
{
    memset(long_path, 'x', sizeof(long_path));
    memcpy(long_path[0], "/long/", 6);
    memcpy(long_path[1], "/long/", 6);
    long_path[1][LONG_PATH_LEN - 1] = 'y';
}

/*
 * A pipeline writing its records into an unlinked temporary file: a host
 * (its partial records captured in 'parts'), a central (with a merge), or
 * neither (one run over every line).
 */
struct side {
    struct emit em;
    struct pipeline *p;
    int fd;
    uint64_t lineno;
    struct partial_writer w;
    int writes; /* 'w' is the pipeline's step hook */
    struct buf parts;
    size_t nparts;
    struct merge *m;
    FILE *log; /* what the pipeline and the merge say */
    char *out;
};

/* The partial_sink_fn: each record appended to sd->parts. */
static int
sink(void *arg, const char *host, int64_t step, const char *line, size_t len)
{
    struct side *sd = arg;

    assert_string_equal(host, sd->w.host);
    assert_true(len > 0 && line[len - 1] == '\n');
    assert_true(step == INT64_MAX || clock_floor(step, STEP_MS) == step);
    sd->nparts++;
    return buf_add(&sd->parts, line, len);
}

static struct ruleset *
rules_of(const char *text)
{
    struct ruleset *rs = rules_new();
    struct diag d;

    memset(&d, 0, sizeof(d));
    assert_non_null(rs);
    if (rules_parse(rs, "t.rarr", text, strlen(text), &d) != 0 ||
        rules_finish(rs, STEP_MS, &d) != 0)
        fail_msg("rules: %s:%u:%u: %s", d.file, d.line, d.col, d.msg);
    return rs;
}

/* Start 'sd' over 'rs' (borrowed): a host named 'host' when not NULL, a central when 'central'. */
static void
side_start(struct side *sd, const struct ruleset *rs, const char *host, int central)
{
    struct pipeline_opts opt;
    struct merge_opts mo;
    struct diag d;
    char path[] = "/tmp/rarr-test-partial-XXXXXX";

    memset(sd, 0, sizeof(*sd));
    memset(&d, 0, sizeof(d));
    buf_init(&sd->parts);
    sd->fd = mkstemp(path);
    assert_true(sd->fd >= 0);
    unlink(path);
    emit_init(&sd->em, sd->fd);
    memset(&opt, 0, sizeof(opt));
    opt.format = RECORD_COMBINED;
    opt.clock = PIPELINE_EVENT;
    opt.clock_given = 1;
    opt.step_ms = STEP_MS;
    opt.lateness_ms = 10000;
    opt.lateness_given = 1;
    opt.emit_alerts = 1;
    opt.emit_metrics = 1;
    opt.time_field = SIZE_MAX;
    sd->log = tmpfile();
    assert_non_null(sd->log);
    opt.log = sd->log;
    if (host != NULL) {
        assert_int_equal(partial_writer_init(&sd->w, rs, host, sink, sd), 0);
        sd->writes = 1;
        opt.part = partial_write;
        opt.part_arg = &sd->w;
    }
    sd->p = pipeline_new(rs, &opt, &sd->em, &d);
    if (sd->p == NULL)
        fail_msg("pipeline_new: %s", d.msg);
    if (central) {
        memset(&mo, 0, sizeof(mo));
        mo.log = sd->log;
        sd->m = merge_new(sd->p, &sd->em, &mo);
        assert_non_null(sd->m);
    }
}

static void
side_line(struct side *sd, const char *line, size_t len)
{
    assert_int_equal(pipeline_line(sd->p, "test", ++sd->lineno, line, len), 0);
}

/* Every partial record of 'host' through the central's merge_line, the merge advanced after each.
 */
static void
side_merge(struct side *c, const struct side *host)
{
    const char *p = host->parts.p, *end = p + host->parts.len, *nl;

    for (; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        assert_int_equal(merge_line(c->m, p, (size_t)(nl - p), "test", ++c->lineno, 0), 0);
        assert_int_equal(merge_advance(c->m, 0), 0);
    }
}

/* End the input (the merge's, or the lines'), write a host's end marker; what was written. */
static const char *
side_finish(struct side *sd)
{
    struct stat st;
    ssize_t n;

    if (sd->m != NULL)
        assert_int_equal(merge_finish(sd->m), 0);
    else
        assert_int_equal(pipeline_finish(sd->p), 0);
    if (sd->writes)
        assert_int_equal(partial_write_end(&sd->w, pipeline_step(sd->p)), 0);
    assert_int_equal(emit_flush(&sd->em), 0);
    assert_int_equal(fstat(sd->fd, &st), 0);
    free(sd->out);
    sd->out = malloc((size_t)st.st_size + 1);
    assert_non_null(sd->out);
    n = pread(sd->fd, sd->out, (size_t)st.st_size, 0);
    assert_int_equal(n, st.st_size);
    sd->out[n] = '\0';
    return sd->out;
}

/* What the merge said (a fresh string; the caller frees it). */
static char *
side_log(struct side *sd)
{
    long len;
    char *text;

    assert_int_equal(fflush(sd->log), 0);
    len = ftell(sd->log);
    assert_true(len >= 0);
    text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    rewind(sd->log);
    assert_int_equal(fread(text, 1, (size_t)len, sd->log), (size_t)len);
    return text;
}

static void
side_end(struct side *sd)
{
    merge_free(sd->m);
    pipeline_free(sd->p);
    emit_fini(&sd->em);
    close(sd->fd);
    buf_fini(&sd->parts);
    fclose(sd->log);
    free(sd->out);
}

/* Lines to feed, and which of three hosts reads each. */
struct lines {
    struct buf text;
    struct buf host; /* a byte a line: 0, 1 or 2 */
};

/* A combined-format line at 'sec' seconds after T0 for 'path' ('len' bytes, any bytes). */
static void
add_line(struct lines *l, int host, int sec, const char *ip, const char *path, size_t len,
         int status, const char *rt)
{
    char head[128], tail[128];

    snprintf(head, sizeof(head), "%s - - [04/May/2026:%02d:%02d:%02d +0000] \"GET ", ip,
             10 + sec / 3600, sec / 60 % 60, sec % 60);
    if (rt != NULL)
        snprintf(tail, sizeof(tail), " HTTP/1.1\" %d %d \"-\" \"t\" rt=%s\n", status, 100 + sec % 7,
                 rt);
    else
        snprintf(tail, sizeof(tail), " HTTP/1.1\" %d %d \"-\" \"t\"\n", status, 100 + sec % 7);
    assert_int_equal(buf_adds(&l->text, head), 0);
    assert_int_equal(buf_add(&l->text, path, len), 0);
    assert_int_equal(buf_adds(&l->text, tail), 0);
    assert_int_equal(buf_addc(&l->host, (char)host), 0);
}

/*
 * Six steps: step 0 every kind of key and decimal sums; step 1 host 0's
 * 1100 visitors (its HyperLogLog dense) and 300 of the others', half of
 * them host 0's too; step 2 2000 visitors spread over the hosts (each
 * sparse, their union dense); step 3 no line; step 4 ten errors, sums of
 * 0.1; one line at the start of step 5 closes step 4.
 */
static void
make_lines(struct lines *l)
{
    static const char *const rts[] = {"0.1", "0.2", "0.3", "1.7", "0.05", "12.345"};
    const char *path;
    char ip[32];
    size_t len;
    int i;

    init_long_paths();
    buf_init(&l->text);
    buf_init(&l->host);
    for (i = 0; i < 30; i++) {
        switch (i % 5) {
        case 0:
            path = "/a", len = 2;
            break;
        case 1:
            path = "/b", len = 2;
            break;
        case 2:
            path = bin_path, len = BIN_PATH_LEN;
            break;
        default:
            path = long_path[i % 5 - 3], len = LONG_PATH_LEN;
            break;
        }
        snprintf(ip, sizeof(ip), "10.0.0.%d", i % 7);
        add_line(l, i % 3, 2 * i, ip, path, len, i % 4 == 0 ? 500 : 200, rts[i % 6]);
    }
    for (i = 0; i < 1400; i++) {
        int other = i >= 1100, n = other ? 900 + (i - 1100) * 2 : i; /* 100 of host 0's */

        snprintf(ip, sizeof(ip), "10.1.%d.%d", n / 250, n % 250);
        add_line(l, other ? 1 + i % 2 : 0, 60 + i * 59 / 1400, ip, "/a", 2, 200, "0.2");
    }
    for (i = 0; i < 2000; i++) {
        snprintf(ip, sizeof(ip), "10.2.%d.%d", i / 250, i % 250);
        add_line(l, i % 3, 120 + i * 59 / 2000, ip, i % 2 ? "/b" : "/c", 2, 200, rts[i % 6]);
    }
    for (i = 0; i < 10; i++)
        add_line(l, i % 3, 240 + i, "10.4.0.1", "/e", 2, 503, "0.1");
    add_line(l, 2, 300, "10.5.0.1", "/a", 2, 200, NULL);
}

/* Feed the lines of 'l' read by 'host' (-1: every line) to 'sd'. */
static void
feed(struct side *sd, const struct lines *l, int host)
{
    const char *p = l->text.p, *end = p + l->text.len, *nl;
    size_t i;

    for (i = 0; p < end; p = nl + 1, i++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        if (host == -1 || l->host.p[i] == host)
            side_line(sd, p, (size_t)(nl - p));
    }
}

static void
lines_free(struct lines *l)
{
    buf_fini(&l->text);
    buf_fini(&l->host);
}

/* How many times 'needle' is in 'hay'. */
static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
        n++;
    return n;
}

/* The partial record of step 'index' (from T0) in a host's records, parsed; fails if none. */
static json_t *
record_of(const struct side *host, int index)
{
    const char *p = host->parts.p, *end = p + host->parts.len, *nl;
    json_t *o;

    for (; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        o = json_loadb(p, (size_t)(nl - p), 0, NULL);
        assert_non_null(o);
        if (json_integer_value(json_object_get(o, "step")) == T0 + (int64_t)index * STEP_MS)
            return o;
        json_decref(o);
    }
    fail_msg("no partial record of step %d", index);
    return NULL;
}

/* One host's partials of every kind of metric, merged by a central: the records the host wrote. */
static void
test_partial_round_trip_every_kind(void **state)
{
    struct ruleset *rs = rules_of(every_kind_few);
    struct side host, central;
    struct merge_stats st;
    struct lines l;
    const char *want;
    json_t *o, *keys;
    char *log, *host_log;
    size_t i, long_keys = 0;

    (void)state;
    make_lines(&l);
    side_start(&host, rs, "a", 0);
    feed(&host, &l, -1);
    want = side_finish(&host);
    side_start(&central, rs, NULL, 1);
    side_merge(&central, &host);
    assert_string_equal(side_finish(&central), want);

    /* What was compared has every kind in it. */
    assert_true(count(want, "\"type\":\"metric\"") > 40);
    assert_int_equal(count(want, "\"metric\":\"visitors\",\"step\":\"1m\",\"value\":"), 5);
    assert_int_equal(count(want, "\"key\":\"/bin\\u0001\\u007f\\ufffd\\ufffd\\u0000z\""), 2);
    assert_int_equal(count(want, "\"key\":\"__other__\""), 2);
    assert_int_equal(count(want, "\"metric\":\"latency\""), 5);
    assert_int_equal(count(want, "\"metric\":\"err_pct\""), 5);
    assert_int_equal(count(want, "\"state\":\"firing\""), 2);
    assert_int_equal(host.nparts, 7); /* steps 0-5 (3 has no line), the end marker */

    /* Step 0: the long keys digested to 200 bytes, two apart; sums keep their error. */
    o = record_of(&host, 0);
    keys = json_object_get(json_object_get(o, "k"), "path_hits");
    assert_int_equal(json_array_size(keys), 5);
    for (i = 0; i < json_array_size(keys); i++)
        if (json_string_length(json_array_get(json_array_get(keys, i), 0)) == 2 * KEYS_LEN_MAX)
            long_keys++;
    assert_int_equal(long_keys, 2);
    assert_true(json_is_array(json_object_get(json_object_get(o, "m"), "rt_sum")));
    json_decref(o);
    /* Step 1: 1100 visitors, a dense HyperLogLog; step 4 one visitor, sparse. */
    o = record_of(&host, 1);
    assert_non_null(
        json_object_get(json_object_get(json_object_get(o, "s"), "visitors"), "registers"));
    json_decref(o);
    o = record_of(&host, 4);
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(json_object_get(o, "s"), "visitors"), "hashes")),
                     1);
    json_decref(o);

    merge_stats(central.m, &st);
    assert_int_equal(st.records, 7);
    assert_int_equal(st.bad + st.late + st.dup, 0);
    /*
     * The host said its key table overflowed; so does the central, whose
     * table got the host's two keys and its overflow series.
     */
    log = side_log(&central);
    host_log = side_log(&host);
    assert_int_equal(count(log, "few: more than max_keys=2"), 1);
    assert_int_equal(count(host_log, "few: more than max_keys=2"), 1);
    free(log);
    free(host_log);
    side_end(&central);
    side_end(&host);
    lines_free(&l);
    rules_free(rs);
}

/* Three hosts' partials merged: the records one pipeline writes over all their lines. */
static void
test_partial_three_hosts_equal_one_run(void **state)
{
    static const char *const names[3] = {"a", "b", "c"};
    struct ruleset *rs = rules_of(every_kind);
    struct side one, host[3], central;
    struct merge_stats st;
    struct lines l;
    const char *want;
    json_t *o, *hll;
    int h;

    (void)state;
    make_lines(&l);
    side_start(&one, rs, NULL, 0);
    feed(&one, &l, -1);
    want = side_finish(&one);
    side_start(&central, rs, NULL, 1);
    for (h = 0; h < 3; h++) {
        side_start(&host[h], rs, names[h], 0);
        feed(&host[h], &l, h);
        side_finish(&host[h]);
        assert_int_equal(merge_expect(central.m, names[h]), 0);
    }
    /* Host by host: the first two's records wait for the third's. */
    for (h = 0; h < 3; h++) {
        side_merge(&central, &host[h]);
        merge_stats(central.m, &st);
        assert_int_equal(st.steps, h < 2 ? 0 : 6);
    }
    assert_string_equal(side_finish(&central), want);
    assert_int_equal(count(want, "\"metric\":\"visitors\",\"step\":\"1m\",\"value\":"), 5);

    /* Host a's step 1 is dense and its step 2 sparse: the merge joined both forms. */
    o = record_of(&host[0], 1);
    hll = json_object_get(json_object_get(o, "s"), "visitors");
    assert_non_null(json_object_get(hll, "registers"));
    json_decref(o);
    o = record_of(&host[0], 2);
    hll = json_object_get(json_object_get(o, "s"), "visitors");
    assert_true(json_array_size(json_object_get(hll, "hashes")) > 600);
    json_decref(o);

    merge_stats(central.m, &st);
    assert_int_equal(st.hosts, 3);
    assert_int_equal(st.ended, 3);
    assert_int_equal(st.bad + st.late + st.dup, 0);
    for (h = 0; h < 3; h++)
        side_end(&host[h]);
    side_end(&central);
    side_end(&one);
    lines_free(&l);
    rules_free(rs);
}

/*
 * 0.1 ten times is 1 exactly when the rounding error is kept (a plain
 * double sum is 0.9999999999999999): three hosts' 3, 3 and 4 of them,
 * merged, are the very double one pipeline gets, however grouped.
 */
static void
test_partial_split_sum_is_exact(void **state)
{
    static const char *const names[3] = {"a", "b", "c"};
    struct ruleset *rs = rules_of(sum_rules);
    struct side one, host[3], central;
    struct lines l;
    double naive = 0, one_v, merged_v;
    json_t *o, *part;
    int i, h, def;

    (void)state;
    buf_init(&l.text);
    buf_init(&l.host);
    for (i = 0; i < 10; i++) {
        add_line(&l, i < 3 ? 0 : i < 6 ? 1 : 2, 1 + i, "10.0.0.1", "/", 1, 200, "0.1");
        naive += 0.1;
    }
    add_line(&l, 2, 60, "10.0.0.1", "/", 1, 200, NULL); /* closes step 0 */
    assert_true(naive != 1.0);

    side_start(&one, rs, NULL, 0);
    feed(&one, &l, -1);
    side_finish(&one);
    one_v = step_value(pipeline_step(one.p), 0, &def);
    assert_true(def);
    side_start(&central, rs, NULL, 1);
    for (h = 0; h < 3; h++) {
        side_start(&host[h], rs, names[h], 0);
        feed(&host[h], &l, h);
        side_finish(&host[h]);
        assert_int_equal(merge_expect(central.m, names[h]), 0);
    }
    for (h = 2; h >= 0; h--)
        side_merge(&central, &host[h]);
    side_finish(&central);
    merged_v = step_value(pipeline_step(central.p), 0, &def);
    assert_true(def);
    assert_memory_equal(&merged_v, &one_v, sizeof(double));
    assert_true(one_v == 1.0);

    /* Host a's part is [value, lines, error]: 0.30000000000000004 leaves an error behind. */
    o = record_of(&host[0], 0);
    part = json_object_get(json_object_get(o, "m"), "amount");
    assert_int_equal(json_array_size(part), 3);
    assert_int_equal(json_integer_value(json_array_get(part, 1)), 3);
    assert_true(json_real_value(json_array_get(part, 2)) != 0);
    json_decref(o);
    for (h = 0; h < 3; h++)
        side_end(&host[h]);
    side_end(&central);
    side_end(&one);
    lines_free(&l);
    rules_free(rs);
}

/*
 * By hand, as merge.c does: the three records of step 0 checked, then
 * added into one pending row (step_part_open), which then holds the ten
 * lines and their exact sum.
 */
static void
test_partial_apply_adds_into_pending_row(void **state)
{
    static const char *const names[3] = {"a", "b", "c"};
    struct ruleset *rs = rules_of(sum_rules);
    struct side host[3], central;
    struct step_part part = {.start = T0, .first = INT64_MAX, .last = INT64_MIN};
    struct partial pt[3];
    const struct series *row_v;
    struct lines l;
    const char *why, *p;
    double lines;
    size_t row, unknown;
    int i, h;

    (void)state;
    buf_init(&l.text);
    buf_init(&l.host);
    for (i = 0; i < 10; i++)
        add_line(&l, i < 3 ? 0 : i < 6 ? 1 : 2, 1 + i, "10.0.0.1", "/", 1, 200, "0.1");
    side_start(&central, rs, NULL, 0);
    for (h = 0; h < 3; h++) {
        side_start(&host[h], rs, names[h], 0);
        feed(&host[h], &l, h);
        side_finish(&host[h]);
        p = host[h].parts.p; /* the first record: step 0 */
        if (partial_parse(&pt[h], p, (size_t)(strchr(p, '\n') - p), STEP_MS, &why) != 0)
            fail_msg("partial_parse: %s", why);
        assert_false(pt[h].end);
        assert_true(pt[h].step == T0);
        assert_true(pt[h].lines == (h < 2 ? 3 : 4));
        assert_string_equal(pt[h].host, names[h]);
        assert_non_null(pt[h].rules);
        assert_int_equal(partial_apply(&pt[h], pipeline_step(central.p), 0, 0, &unknown), 0);
        assert_int_equal(unknown, 0);
        if (pt[h].first < part.first)
            part.first = pt[h].first;
        if (pt[h].last > part.last)
            part.last = pt[h].last;
    }
    assert_true(part.first == T0 + 1000 && part.last == T0 + 10000);
    assert_int_equal(step_part_open(pipeline_step(central.p), &part, &row), 0);
    row_v = step_pending_row(pipeline_step(central.p), row, &lines);
    assert_true(lines == 0 && row_v[0].n == 0); /* checking added nothing */
    for (h = 0; h < 3; h++)
        assert_int_equal(partial_apply(&pt[h], pipeline_step(central.p), row, 1, &unknown), 0);
    row_v = step_pending_row(pipeline_step(central.p), row, &lines);
    assert_true(lines == 10);
    assert_true(row_v[0].n == 10);
    assert_true(row_v[0].value == 1.0);
    pipeline_merged(central.p, row);
    assert_int_equal(step_part_close(pipeline_step(central.p), &part), 0);
    for (h = 0; h < 3; h++) {
        partial_free(&pt[h]);
        assert_null(pt[h].root);
        side_end(&host[h]);
    }
    side_end(&central);
    lines_free(&l);
    rules_free(rs);
}

/* partial_parse of 'line' fails saying 'want', and leaves nothing to free. */
static void
refused(const char *line, const char *want)
{
    struct partial pt;
    const char *why = NULL;

    if (partial_parse(&pt, line, strlen(line), STEP_MS, &why) == 0)
        fail_msg("partial_parse took %s", line);
    assert_non_null(why);
    if (strcmp(why, want) != 0)
        fail_msg("partial_parse of %s: said '%s', expected '%s'", line, why, want);
    assert_null(pt.root);
    partial_free(&pt); /* harmless */
}

/* partial_parse of 'line' succeeds; the caller frees 'pt'. */
static void
taken(struct partial *pt, const char *line)
{
    const char *why;

    if (partial_parse(pt, line, strlen(line), STEP_MS, &why) != 0)
        fail_msg("partial_parse of %s: %s", line, why);
}

/* A record of host a with 'fields' after its "host"; STEP0: the fields of step 0 (T0), 1m. */
#define REC(fields) "{\"rarr_partial\":1,\"host\":\"a\"," fields "}"
#define STEP0 "\"step\":1777888800000,\"step_ms\":60000,"

static void
test_partial_parse_refuses(void **state)
{
    static const char not_obj[] = "not a JSON object";
    static const char not_partial[] = "not a partial record (no \"rarr_partial\")";
    static const char no_host[] = "no \"host\" name";
    static const char times[] = "\"first\" and \"last\" are not times within the step";
    struct buf line;
    char host[PARTIAL_HOST_MAX + 2];
    struct partial pt;

    (void)state;
    refused("not json", not_obj);
    refused("", not_obj);
    refused("[1,2]", not_obj);
    refused("\"rarr_partial\"", not_obj);
    refused("{\"rarr_partial\":1,\"rarr_partial\":1,\"host\":\"a\"}", not_obj);
    refused("{\"host\":\"a\",\"step\":0}", not_partial);
    refused("{\"rarr_partial\":\"1\",\"host\":\"a\"}", not_partial);
    refused("{\"rarr_partial\":1.0,\"host\":\"a\"}", not_partial);
    refused("{\"rarr_partial\":2,\"host\":\"a\",\"end\":null}",
            "a partial record of another version");
    refused("{\"rarr_partial\":0,\"host\":\"a\",\"end\":null}",
            "a partial record of another version");
    refused("{\"rarr_partial\":1,\"end\":null}", no_host);
    refused("{\"rarr_partial\":1,\"host\":\"\",\"end\":null}", no_host);
    refused("{\"rarr_partial\":1,\"host\":7,\"end\":null}", no_host);
    refused("{\"rarr_partial\":1,\"host\":null,\"end\":null}", no_host);

    /* A host of 255 bytes is taken, of 256 not. */
    memset(host, 'h', sizeof(host));
    host[PARTIAL_HOST_MAX] = '\0';
    buf_init(&line);
    assert_int_equal(buf_adds(&line, "{\"rarr_partial\":1,\"host\":\""), 0);
    assert_int_equal(buf_adds(&line, host), 0);
    assert_int_equal(buf_adds(&line, "\",\"end\":null}"), 0);
    taken(&pt, buf_cstr(&line));
    assert_int_equal(strlen(pt.host), PARTIAL_HOST_MAX);
    partial_free(&pt);
    host[PARTIAL_HOST_MAX] = 'h';
    host[PARTIAL_HOST_MAX + 1] = '\0';
    line.len = 0;
    assert_int_equal(buf_adds(&line, "{\"rarr_partial\":1,\"host\":\""), 0);
    assert_int_equal(buf_adds(&line, host), 0);
    assert_int_equal(buf_adds(&line, "\",\"end\":null}"), 0);
    refused(buf_cstr(&line), no_host);
    buf_fini(&line);

    /* The end marker: a time or null, nothing else. */
    refused(REC("\"end\":\"x\""), "\"end\" is not a time");
    refused(REC("\"end\":1.5"), "\"end\" is not a time");

    /* The step: of this --step, a step start. */
    refused(REC("\"step\":1777888800000,\"step_ms\":30000,\"lines\":0"),
            "its step differs from --step");
    refused(REC("\"step\":1777888800000,\"lines\":0"), "its step differs from --step");
    refused(REC("\"step\":1777888800000,\"step_ms\":\"60000\",\"lines\":0"),
            "its step differs from --step");
    refused(REC("\"step\":1777888800001,\"step_ms\":60000,\"lines\":0"),
            "\"step\" is not a step start");
    refused(REC("\"step\":1777888830000,\"step_ms\":60000,\"lines\":0"),
            "\"step\" is not a step start");
    refused(REC("\"step\":\"1777888800000\",\"step_ms\":60000,\"lines\":0"),
            "\"step\" is not a step start");
    refused(REC("\"step_ms\":60000,\"lines\":0"), "\"step\" is not a step start");

    /* Lines: a count, not negative. */
    refused(REC(STEP0 "\"lines\":-1"), "\"lines\" is not a count");
    refused(REC(STEP0 "\"lines\":\"1\""), "\"lines\" is not a count");
    refused(REC(STEP0 "\"m\":{}"), "\"lines\" is not a count");

    /* With lines, their times within the step. */
    refused(REC(STEP0 "\"lines\":1,\"tz\":0"), times);
    refused(REC(STEP0 "\"lines\":1,\"first\":1777888799999,\"last\":1777888800000,\"tz\":0"),
            times);
    refused(REC(STEP0 "\"lines\":1,\"first\":1777888800000,\"last\":1777888860000,\"tz\":0"),
            times);
    refused(REC(STEP0 "\"lines\":1,\"first\":1777888810000,\"last\":1777888800000,\"tz\":0"),
            times);
    refused(REC(STEP0 "\"lines\":1,\"first\":1777888810000.0,\"last\":1777888810000,\"tz\":0"),
            times);

    /* The zone: minutes within a day either side of UTC. */
    refused(REC(STEP0 "\"lines\":1,\"first\":1777888800000,\"last\":1777888859999,\"tz\":1441"),
            "\"tz\" is not a UTC offset in minutes");
    refused(REC(STEP0 "\"lines\":1,\"first\":1777888800000,\"last\":1777888859999,\"tz\":-1441"),
            "\"tz\" is not a UTC offset in minutes");
    refused(REC(STEP0 "\"lines\":1,\"first\":1777888800000,\"last\":1777888859999"),
            "\"tz\" is not a UTC offset in minutes");

    /* What is taken: the edges of each range. */
    taken(&pt, REC(STEP0 "\"lines\":2,\"first\":1777888800000,\"last\":1777888859999,\"tz\":-1440,"
                         "\"rules\":\"0123456789abcdef\",\"m\":{}"));
    assert_false(pt.end);
    assert_true(pt.step == T0 && pt.first == T0 && pt.last == T0 + STEP_MS - 1);
    assert_int_equal(pt.tz_min, -1440);
    assert_true(pt.lines == 2);
    assert_string_equal(pt.rules, "0123456789abcdef");
    partial_free(&pt);
    taken(&pt, REC(STEP0 "\"lines\":0"));
    assert_true(pt.lines == 0);
    assert_null(pt.rules);
    partial_free(&pt);
    taken(&pt, REC("\"step\":-60000,\"step_ms\":60000,\"lines\":0"));
    assert_true(pt.step == -60000);
    partial_free(&pt);
    taken(&pt, REC("\"end\":null"));
    assert_true(pt.end);
    assert_true(pt.last == INT64_MIN);
    partial_free(&pt);
    taken(&pt, REC("\"end\":1777888859999"));
    assert_true(pt.end && pt.last == T0 + STEP_MS - 1);
    partial_free(&pt);
}

/*
 * A central with every kind of metric; 'line' parses, but partial_apply
 * refuses it when checking, adds nothing, and a merge counts it bad and
 * writes nothing of it.
 */
static void
malformed(const struct ruleset *rs, const char *line)
{
    struct side central;
    struct partial pt;
    struct merge_stats st;
    const struct series *v;
    const char *why;
    static const char *const good[2] = {
        REC(STEP0 "\"lines\":1,\"first\":1777888801000,\"last\":1777888801000,\"tz\":0,"
                  "\"m\":{\"hits\":1}"),
        REC("\"step\":1777888860000,\"step_ms\":60000,\"lines\":1,\"first\":1777888860000,"
            "\"last\":1777888860000,\"tz\":0,\"m\":{}")};
    const char *out;
    double lines;
    size_t unknown, i, row;
    char *log;

    side_start(&central, rs, NULL, 1);
    if (partial_parse(&pt, line, strlen(line), STEP_MS, &why) != 0)
        fail_msg("partial_parse of %s: %s", line, why);
    if (partial_apply(&pt, pipeline_step(central.p), 0, 0, &unknown) != -1)
        fail_msg("partial_apply took %s", line);
    row = step_slot(pipeline_step(central.p), T0);
    v = step_pending_row(pipeline_step(central.p), row, &lines);
    assert_true(lines == 0);
    for (i = 0; i < rs->nmetrics; i++)
        assert_true(v[i].n == 0 && v[i].value == 0);
    partial_free(&pt);

    /* Through the merge: bad, said with its place, and nothing of it in the step. */
    assert_int_equal(merge_line(central.m, line, strlen(line), "p", 7, 0), 0);
    assert_int_equal(merge_advance(central.m, 0), 0);
    merge_stats(central.m, &st);
    assert_int_equal(st.bad, 1);
    assert_int_equal(st.records, 1);
    log = side_log(&central);
    assert_string_equal(log, "rarr: p:7: host a: a malformed partial record: left out\n");
    free(log);
    merge_line(central.m, good[0], strlen(good[0]), "p", 8, 0);
    merge_line(central.m, good[1], strlen(good[1]), "p", 9, 0);
    out = side_finish(&central);
    assert_int_equal(count(out, "\"metric\":\"hits\",\"step\":\"1m\",\"value\":1}"), 1);
    assert_int_equal(count(out, "\"metric\":\"hits\""), 1);
    assert_int_equal(count(out, "\"metric\":\"visitors\",\"step\":\"1m\",\"value\":0}"), 1);
    assert_int_equal(count(out, "\"metric\":\"rt_sum\",\"step\":\"1m\",\"value\":0}"), 1);
    assert_int_equal(count(out, "\"key\""), 0);
    merge_stats(central.m, &st);
    assert_int_equal(st.steps, 2);
    assert_int_equal(st.bad, 1);
    side_end(&central);
}

/* Step 0's record with 'm' as its "m" and then 'rest'. */
#define WITH(m, rest)                                                                              \
    REC(STEP0 "\"lines\":1,\"first\":1777888801000,\"last\":1777888801000,\"tz\":0,\"m\":" m rest)
/* ... with one hit in "m". */
#define PARTS(rest) WITH("{\"hits\":1}", rest)

static void
test_partial_apply_refuses_malformed_parts(void **state)
{
    struct ruleset *rs = rules_of(every_kind);
    struct buf line;
    int i;

    (void)state;
    /* Series: a count, or [value, lines] or [value, lines, error]; lines not negative. */
    malformed(rs, WITH("{\"hits\":[1]}", ""));
    malformed(rs, WITH("{\"hits\":1,\"rt_sum\":[1,2,3,4]}", ""));
    malformed(rs, WITH("{\"rt_sum\":[0.5,-1]}", ""));
    malformed(rs, WITH("{\"rt_sum\":[0.5,1,\"e\"]}", ""));
    malformed(rs, WITH("{\"rt_sum\":[]}", ""));
    malformed(rs, WITH("{\"hits\":-1}", ""));
    malformed(rs, WITH("{\"hits\":\"1\"}", ""));
    malformed(rs, WITH("{\"hits\":null}", ""));
    malformed(rs, WITH("{\"hits\":{}}", ""));
    /* Keys: [hex key or null, series, last time]. */
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[[\"zz\",1,1777888801000]]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[[\"616\",1,1777888801000]]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[[\"6A\",1,1777888801000]]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[[97,1,1777888801000]]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[[\"61\",1]]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[[\"61\",1,1777888801000,0]]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[[\"61\",-1,1777888801000]]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[[\"61\",[1,-2],1777888801000]]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[[\"61\",1,1.5]]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":[\"61\"]}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":5}"));
    malformed(rs, PARTS(",\"k\":{\"path_hits\":{}}"));
    /* Even for a metric this rarr has not: checked all the same. */
    malformed(rs, PARTS(",\"k\":{\"nosuch\":[[\"zz\",1,0]]}"));
    /* A key longer than KEYS_LEN_MAX bytes. */
    buf_init(&line);
    assert_int_equal(buf_adds(&line, REC(STEP0 "\"lines\":1,\"first\":1777888801000,\"last\":"
                                               "1777888801000,\"tz\":0,\"m\":{\"hits\":1},"
                                               "\"k\":{\"path_hits\":[[\"")),
                     0);
    for (i = 0; i < KEYS_LEN_MAX + 1; i++)
        assert_int_equal(buf_adds(&line, "61"), 0);
    assert_int_equal(buf_adds(&line, "\",1,1777888801000]]}}"), 0);
    malformed(rs, buf_cstr(&line));
    buf_fini(&line);
    /* Sketches: objects, of their kind's form. */
    malformed(rs, PARTS(",\"s\":{\"visitors\":[1]}"));
    malformed(rs, PARTS(",\"s\":{\"visitors\":\"x\"}"));
    malformed(rs, PARTS(",\"s\":{\"nosuch\":[1]}"));
    malformed(rs, PARTS(",\"s\":{\"visitors\":{\"registers\":\"00\"}}"));
    malformed(rs, PARTS(",\"s\":{\"visitors\":{\"registers\":\"zz\"}}"));
    malformed(rs, PARTS(",\"s\":{\"visitors\":{\"registers\":7}}"));
    malformed(rs, PARTS(",\"s\":{\"visitors\":{\"hashes\":\"x\"}}"));
    malformed(rs, PARTS(",\"s\":{\"visitors\":{\"hashes\":[1.5]}}"));
    malformed(rs, PARTS(",\"s\":{\"visitors\":{}}"));
    malformed(rs, PARTS(",\"s\":{\"latency\":{\"first\":0}}"));
    malformed(rs, PARTS(",\"s\":{\"latency\":{\"first\":0,\"counts\":[-1],\"zero\":0,\"min\":1,"
                        "\"max\":1}}"));
    malformed(rs, PARTS(",\"s\":{\"latency\":{\"first\":0,\"counts\":[1],\"zero\":0,\"min\":2,"
                        "\"max\":1}}"));
    malformed(rs, PARTS(",\"s\":{\"latency\":{\"first\":0,\"counts\":[1],\"zero\":0}}"));
    malformed(rs, PARTS(",\"s\":{\"latency\":{\"first\":3000000000,\"counts\":[1],\"zero\":0,"
                        "\"min\":1,\"max\":1}}"));
    rules_free(rs);
}

/*
 * Parts of metrics the central has not, or not of that kind (another
 * rule set), are counted in '*unknown' and left out; the rest is added.
 */
static void
test_partial_apply_counts_unknown_metrics(void **state)
{
    static const char line[] =
        WITH("{\"hits\":2,\"nosuch\":3,\"err_pct\":50,\"rt_sum\":[0.5,2]}",
             ",\"k\":{\"hits\":[[\"61\",1,1777888801000]],\"path_hits\":[[\"61\",2,"
             "1777888801000]],\"other\":[]},"
             "\"s\":{\"hits\":{},\"path_hits\":{\"hashes\":[]},\"visitors\":{\"hashes\":[1,2]}}");
    struct ruleset *rs = rules_of(every_kind);
    struct side central;
    struct partial pt;
    struct merge_stats st;
    const struct series *v;
    double lines;
    size_t unknown = 99, row;
    char *log;

    (void)state;
    side_start(&central, rs, NULL, 1);
    taken(&pt, line);
    assert_int_equal(partial_apply(&pt, pipeline_step(central.p), 0, 0, &unknown), 0);
    /* nosuch, err_pct (a ratio) in m; hits (not by=), other in k; hits, path_hits in s. */
    assert_int_equal(unknown, 6);
    row = step_slot(pipeline_step(central.p), T0);
    assert_int_equal(partial_apply(&pt, pipeline_step(central.p), row, 1, &unknown), 0);
    assert_int_equal(unknown, 6);
    v = step_pending_row(pipeline_step(central.p), row, &lines);
    assert_true(lines == 1);
    assert_true(v[0].n == 2 && v[0].value == 2);   /* hits */
    assert_true(v[2].n == 2 && v[2].value == 0.5); /* rt_sum */
    assert_true(v[3].n == 0);                      /* path_hits: its "m" part was not sent */
    partial_free(&pt);

    /* Through a merge: said once, not bad, the known parts merged. */
    side_end(&central);
    side_start(&central, rs, NULL, 1);
    assert_int_equal(merge_line(central.m, line, strlen(line), "p", 1, 0), 0);
    assert_int_equal(merge_line(central.m, line, strlen(line), "p", 2, 0), 0);
    assert_int_equal(merge_finish(central.m), 0);
    merge_stats(central.m, &st);
    assert_int_equal(st.bad, 0);
    assert_int_equal(st.dup, 1);
    log = side_log(&central);
    assert_string_equal(log, "rarr: host a: its partials have metrics these rules do not (or of "
                             "another kind): left out\n");
    free(log);
    side_end(&central);
    rules_free(rs);
}

/* The writer's contract: a host name of 1 to 255 bytes; the digest tells rule sets apart. */
static void
test_partial_writer_host_and_digest(void **state)
{
    struct ruleset *rs = rules_of(every_kind), *rs2 = rules_of(every_kind_few);
    struct ruleset *rs3 = rules_of("metric hits\nmetric errs status~'^4'\n");
    struct ruleset *rs4 = rules_of("metric hits\nmetric errs status~'^5'\n");
    struct ruleset *rs5 = rules_of("metric hits\nmetric errs status~'^5'\n"
                                   "ratio r = errs / hits\nalert hits window=5m above=1\n");
    struct partial_writer w;
    char host[PARTIAL_HOST_MAX + 2], d1[17], d2[17], d3[17], d4[17], d5[17];

    (void)state;
    memset(host, 'h', sizeof(host));
    host[PARTIAL_HOST_MAX + 1] = '\0';
    assert_int_equal(partial_writer_init(&w, rs, host, sink, NULL), -1);
    assert_int_equal(partial_writer_init(&w, rs, "", sink, NULL), -1);
    host[PARTIAL_HOST_MAX] = '\0';
    assert_int_equal(partial_writer_init(&w, rs, host, sink, NULL), 0);
    assert_string_equal(w.host, host);
    assert_int_equal(strlen(w.rules), 16);
    partial_rules_digest(rs, d1);
    partial_rules_digest(rs2, d2);
    partial_rules_digest(rs3, d3);
    partial_rules_digest(rs4, d4);
    partial_rules_digest(rs5, d5);
    assert_string_equal(w.rules, d1);
    assert_string_not_equal(d1, d2);
    assert_string_not_equal(d3, d4);
    /* Ratios and alerts are not sent: they do not change the digest. */
    assert_string_equal(d4, d5);
    rules_free(rs);
    rules_free(rs2);
    rules_free(rs3);
    rules_free(rs4);
    rules_free(rs5);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_round_trip_every_kind),
        cmocka_unit_test(test_partial_three_hosts_equal_one_run),
        cmocka_unit_test(test_partial_split_sum_is_exact),
        cmocka_unit_test(test_partial_apply_adds_into_pending_row),
        cmocka_unit_test(test_partial_parse_refuses),
        cmocka_unit_test(test_partial_apply_refuses_malformed_parts),
        cmocka_unit_test(test_partial_apply_counts_unknown_metrics),
        cmocka_unit_test(test_partial_writer_host_and_digest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
