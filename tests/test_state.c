/*
 * test_state.c -- unit tests of the --state file (src/state.c,
 * docs/state.md): a replay split in two with the state saved and loaded between
 * the halves writes the same records as one run; metrics keep their state
 * only under the same name and definition; a corrupt, truncated, foreign or
 * newer file is reported and ignored; a damaged detector relearns; a
 * state that cannot be written is reported.
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
#include "rarr/emit.h"
#include "rarr/pipeline.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"
#include "rarr/state.h"

#define STEP_MS 60000

static const char rules_v1[] = "metric a path~'^/a'\n"
                               "metric b path~'^/b'\n"
                               "ratio r = a / b min=1\n"
                               "alert a window=3m below=3 name=a-low\n"
                               "alert r window=2m above=4 name=r-high\n"
                               "anomaly b window=10m season=none\n";

/* One pipeline writing into an unlinked temporary file; 'state' is the --state path. */
struct run {
    struct ruleset *rs;
    struct emit em;
    struct pipeline *p;
    int fd;
    uint64_t lineno;
};

static void
run_start(struct run *r, const char *rules, const char *state)
{
    struct pipeline_opts opt;
    struct diag d;
    char path[] = "/tmp/rarr-test-state-out-XXXXXX";

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
    opt.lateness_ms = 10000;
    opt.emit_alerts = 1;
    opt.emit_metrics = 1;
    opt.time_field = SIZE_MAX;
    opt.state_path = state;
    opt.save_gap_ms = 1000;
    r->p = pipeline_new(r->rs, &opt, &r->em, &d);
    assert_non_null(r->p);
}

/* Everything written so far, appended to 'out'. */
static void
run_end(struct run *r, struct buf *out)
{
    struct stat st;
    char *text;

    assert_int_equal(pipeline_finish(r->p), 0);
    assert_int_equal(fstat(r->fd, &st), 0);
    text = malloc((size_t)st.st_size + 1);
    assert_non_null(text);
    assert_int_equal(pread(r->fd, text, (size_t)st.st_size, 0), st.st_size);
    if (out != NULL)
        assert_int_equal(buf_add(out, text, (size_t)st.st_size), 0);
    free(text);
    pipeline_free(r->p);
    emit_fini(&r->em);
    close(r->fd);
    rules_free(r->rs);
}

/*
 * The input: two hours of /a and /b events, a few a second apart and some
 * out of order within the lateness, with /a gone for 10 minutes (a-low
 * fires and resolves) and a burst of /a (r-high).
 */
static size_t
make_input(char lines[][80], size_t max)
{
    size_t n = 0;
    int64_t t;
    int64_t start = 1777852800; /* 2026-05-04T00:00:00Z */

    for (t = 0; t < 2 * 3600 && n + 3 < max; t += 7) {
        int64_t ts = start + t - (t % 91 == 0 ? 5 : 0); /* some lines late by 5 s */

        if (t < 1800 || t > 2400)
            snprintf(lines[n++], 80, "{\"ts\":%lld,\"path\":\"/a\"}", (long long)ts);
        if (t % 3 == 0)
            snprintf(lines[n++], 80, "{\"ts\":%lld,\"path\":\"/b\"}", (long long)ts);
        if (t > 4000 && t < 4200)
            snprintf(lines[n++], 80, "{\"ts\":%lld.5,\"path\":\"/a\"}", (long long)ts);
    }
    return n;
}

static char input[4096][80];

static void
state_path(char *path, size_t size)
{
    snprintf(path, size, "/tmp/rarr-test-state-%ld", (long)getpid());
    unlink(path);
}

/* state_read, its messages printed to 'log'. */
static int
read_state(const char *path, FILE *log, json_t **snap)
{
    struct diag d;
    int rc;

    memset(&d, 0, sizeof(d));
    rc = state_read(path, &d, snap);
    if (d.n > 0)
        diag_print(&d, log);
    return rc;
}

/* state_restore into the pipeline's step stage, its messages printed to 'log'. */
static int
restore(struct pipeline *p, const json_t *snap, const char *name, FILE *log)
{
    struct diag d;
    int rc;

    memset(&d, 0, sizeof(d));
    rc = state_restore(pipeline_step(p), snap, name, &d);
    if (d.n > 0)
        diag_print(&d, log);
    return rc;
}

/* The state at 'path' (NULL for none), which state_read must not refuse. */
static json_t *
read_snap(const char *path, FILE *log)
{
    json_t *snap = NULL;

    assert_int_equal(read_state(path, log, &snap), 0);
    return snap;
}

/* Run 'rules' over input lines [from, to) with --state 'state' (may be NULL). */
static void
replay(const char *rules, const char *state, size_t from, size_t to, struct buf *out)
{
    struct run r;
    size_t i;

    run_start(&r, rules, state);
    if (state != NULL) {
        json_t *snap = read_snap(state, stderr);

        if (snap != NULL) {
            assert_int_equal(restore(r.p, snap, state, stderr), 0);
            json_decref(snap);
        }
    }
    for (i = from; i < to; i++)
        assert_int_equal(pipeline_line(r.p, "test", i + 1, input[i], strlen(input[i])), 0);
    run_end(&r, out);
}

static void
split_equals_whole(void **st)
{
    size_t n = make_input(input, 4096), cuts[] = {1, 100, 257, 500, 777, 1000, 1400}, c;
    struct buf whole, split;
    char path[64];

    (void)st;
    buf_init(&whole);
    replay(rules_v1, NULL, 0, n, &whole);
    assert_non_null(strstr(buf_cstr(&whole), "\"rule\":\"a-low\""));
    assert_non_null(strstr(buf_cstr(&whole), "\"rule\":\"r-high\""));
    for (c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        state_path(path, sizeof(path));
        buf_init(&split);
        replay(rules_v1, path, 0, cuts[c], &split);
        replay(rules_v1, path, cuts[c], n, &split);
        if (strcmp(buf_cstr(&whole), buf_cstr(&split)) != 0)
            fail_msg("cut at line %zu: the split replay differs", cuts[c]);
        buf_fini(&split);
    }
    /* Three parts. */
    state_path(path, sizeof(path));
    buf_init(&split);
    replay(rules_v1, path, 0, 300, &split);
    replay(rules_v1, path, 300, 900, &split);
    replay(rules_v1, path, 900, n, &split);
    assert_string_equal(buf_cstr(&whole), buf_cstr(&split));
    buf_fini(&split);
    buf_fini(&whole);
    unlink(path);
}

/* Messages written to a log stream while 'fn' runs, as a string the caller frees. */
static char *
logged(FILE *fp)
{
    long len = ftell(fp);
    char *text = malloc((size_t)len + 1);

    assert_non_null(text);
    rewind(fp);
    assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
    text[len] = '\0';
    return text;
}

static void
changed_definition_drops_only_that_metric(void **st)
{
    size_t n = make_input(input, 4096), a, b;
    const char *rules_v2 = "metric a path~'^/a'\n"
                           "metric b path~'^/bee'\n"
                           "metric c path~'^/c'\n"
                           "alert a window=3m below=3 name=a-low\n";
    struct run r;
    char path[64], *msg;
    FILE *log = tmpfile();
    json_t *snap;

    (void)st;
    state_path(path, sizeof(path));
    replay(rules_v1, path, 0, n / 2, NULL);
    run_start(&r, rules_v2, NULL);
    assert_non_null(snap = read_snap(path, log));
    assert_int_equal(restore(r.p, snap, path, log), 0);
    json_decref(snap);
    assert_int_equal(rules_lookup_metric(r.rs, "a", &a), 0);
    assert_int_equal(rules_lookup_metric(r.rs, "b", &b), 0);
    assert_true(pipeline_step(r.p)->win[a].views[0].sum > 0); /* a's window came through */
    assert_true(pipeline_step(r.p)->win[b].views == NULL ||
                pipeline_step(r.p)->win[b].views[0].sum == 0);
    assert_int_equal(pipeline_step(r.p)->win[b].ring[0], 0);
    msg = logged(log);
    assert_non_null(strstr(msg, "metric b: its definition changed"));
    assert_non_null(strstr(msg, "rule 'b anomaly over 10m' changed or is gone"));
    assert_null(strstr(msg, "metric a"));
    free(msg);
    fclose(log);
    run_end(&r, NULL);
    unlink(path);
}

static void
write_file(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "r");
    char *text;
    long n;

    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
    text[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return text;
}

/*
 * state_read on 'text' gives no state and a message containing 'want';
 * 'rc' is 0 when rarr then starts fresh, -1 when it must refuse the path.
 */
static void
expect_read(const char *path, const char *text, size_t len, int rc, const char *want)
{
    FILE *log = tmpfile();
    json_t *snap = NULL;
    char *msg;

    write_file(path, text, len);
    assert_int_equal(read_state(path, log, &snap), rc);
    assert_null(snap);
    msg = logged(log);
    if (strstr(msg, want) == NULL)
        fail_msg("expected '%s' in: %s", want, msg);
    free(msg);
    fclose(log);
}

static void
corrupt_and_foreign_files_are_ignored(void **st)
{
    size_t n = make_input(input, 4096), len, cut, magic = strlen("{\"rarr_state\":");
    char path[64], *good;
    FILE *log = tmpfile();
    json_t *snap;
    struct run r;

    (void)st;
    state_path(path, sizeof(path));
    assert_null(read_snap(path, log)); /* absent: a first start, silently */
    write_file(path, "", 0);
    assert_null(read_snap(path, log)); /* empty: nothing to lose, silently */
    assert_int_equal(ftell(log), 0);
    fclose(log);
    /* A file of ours that cannot be used: reported, rarr starts fresh. */
    expect_read(path, "{\"rarr_state\":1,", 16, 0, "corrupt state file");
    expect_read(path, "{\"rarr_state\":\"x\"}", 19, 0, "corrupt state file");
    expect_read(path, "{\"rarr_state\":99}", 17, 0, "state format 99 is not known");
    /* Anything else is refused: rarr would replace it. */
    expect_read(path, "[1,2]", 5, -1, "not a rarr state file");
    expect_read(path, "{\"hello\":1}", 11, -1, "not a rarr state file");
    expect_read(path, "metric a path~'^/a'\n", 20, -1, "not a rarr state file");
    expect_read(path,
                "\x7f"
                "ELF\1\1\0\0",
                8, -1, "not a rarr state file");

    unlink(path);
    replay(rules_v1, path, 0, n, NULL);
    good = read_file(path, &len);
    /* Every truncation is refused or ignored, never a crash. */
    for (cut = 1; cut < len - 1; cut += len / 97 + 1)
        expect_read(path, good, cut, cut < magic ? -1 : 0,
                    cut < magic ? "not a rarr state file" : "corrupt state file");

    /* Another step: reported, ignored. */
    write_file(path, good, len);
    log = tmpfile();
    assert_non_null(snap = read_snap(path, log));
    run_start(&r, rules_v1, NULL);
    pipeline_step(r.p)->opt.step_ms = 2 * STEP_MS;
    assert_int_equal(restore(r.p, snap, path, log), -1);
    pipeline_step(r.p)->opt.step_ms = STEP_MS;
    assert_int_equal(pipeline_step(r.p)->started, 0);
    json_decref(snap);
    good[len] = '\0';
    free(logged(log));
    fclose(log);
    run_end(&r, NULL);
    free(good);
    unlink(path);
}

static void
damaged_detector_relearns(void **st)
{
    size_t n = make_input(input, 4096), len, a;
    char path[64], *text, *img;
    FILE *log = tmpfile();
    json_t *snap;
    struct run r;

    (void)st;
    state_path(path, sizeof(path));
    replay(rules_v1, path, 0, n, NULL);
    text = read_file(path, &len);
    /* The phase of b's detector out of range: it does not load. */
    img = strstr(text, "\"rule\":\"b anomaly over 10m\"");
    assert_non_null(img);
    assert_non_null(img = strstr(img, "\"phase\":"));
    img[8] = '7';
    write_file(path, text, len);
    run_start(&r, rules_v1, NULL);
    assert_non_null(snap = read_snap(path, log));
    assert_int_equal(restore(r.p, snap, path, log), 0);
    json_decref(snap);
    free(text);
    text = logged(log);
    assert_non_null(strstr(text, "b anomaly over 10m: the saved detector is damaged"));
    assert_int_equal(pipeline_step(r.p)->det[2]->n, 0);      /* learns afresh */
    assert_int_equal(rules_lookup_metric(r.rs, "a", &a), 0); /* the rest came through */
    assert_true(pipeline_step(r.p)->win[a].views[0].sum > 0);
    free(text);
    fclose(log);
    run_end(&r, NULL);
    unlink(path);
}

/* Replace the value of the clock's key 'key' in the JSON text of 'path' by 'value'. */
static void
set_clock(const char *path, const char *key, long long value)
{
    FILE *log = tmpfile();
    json_t *snap = read_snap(path, log);

    assert_non_null(snap);
    json_object_set_new(json_object_get(snap, "clock"), key, json_integer(value));
    assert_int_equal(state_write(snap, path), 0);
    json_decref(snap);
    fclose(log);
}

/*
 * A next step far behind the newest event would make the next line
 * evaluate years of steps (found by fuzzing): refused. A next step far
 * ahead of the newest event is what an idle live input leaves, and one
 * behind it by more than the lateness what a save between the steps of a
 * gap leaves (kill -9 found it): both accepted.
 */
static void
lagging_clock_is_refused(void **st)
{
    size_t n = make_input(input, 4096);
    char path[64], *msg;
    FILE *log = tmpfile();
    json_t *snap;
    struct run r;

    (void)st;
    state_path(path, sizeof(path));
    replay(rules_v1, path, 0, n, NULL);
    set_clock(path, "max_ts", 3555813598668LL);
    run_start(&r, rules_v1, NULL);
    assert_non_null(snap = read_snap(path, log));
    assert_int_equal(restore(r.p, snap, path, log), -1);
    assert_int_equal(pipeline_step(r.p)->started, 0);
    json_decref(snap);
    msg = logged(log);
    assert_non_null(strstr(msg, "damaged clock"));
    free(msg);
    run_end(&r, NULL);

    unlink(path);
    replay(rules_v1, path, 0, n, NULL);
    set_clock(path, "next_step", 1777852800000LL + 30LL * 86400000);
    set_clock(path, "written_to", 1777852800000LL + 30LL * 86400000);
    run_start(&r, rules_v1, NULL);
    assert_non_null(snap = read_snap(path, log));
    if (restore(r.p, snap, path, log) != 0)
        fail_msg("%s", logged(log));
    json_decref(snap);
    run_end(&r, NULL);

    unlink(path);
    replay(rules_v1, path, 0, n, NULL);
    assert_non_null(snap = read_snap(path, log));
    set_clock(path, "max_ts",
              json_integer_value(json_object_get(json_object_get(snap, "clock"), "next_step")) +
                  3LL * 3600000);
    json_decref(snap);
    run_start(&r, rules_v1, NULL);
    assert_non_null(snap = read_snap(path, log));
    if (restore(r.p, snap, path, log) != 0)
        fail_msg("%s", logged(log));
    json_decref(snap);
    run_end(&r, NULL);
    fclose(log);
    unlink(path);
}

static void
unwritable_state_is_reported(void **st)
{
    struct run r;

    (void)st;
    run_start(&r, rules_v1, "/nonexistent-dir/rarr.state");
    assert_int_equal(pipeline_line(r.p, "test", 1, input[0], strlen(input[0])), 0);
    assert_int_equal(pipeline_save(r.p, INT64_MIN), -1);
    assert_int_equal(pipeline_save_failed(r.p), 1);
    run_end(&r, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_equals_whole),
        cmocka_unit_test(changed_definition_drops_only_that_metric),
        cmocka_unit_test(corrupt_and_foreign_files_are_ignored),
        cmocka_unit_test(damaged_detector_relearns),
        cmocka_unit_test(lagging_clock_is_refused),
        cmocka_unit_test(unwritable_state_is_reported),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
