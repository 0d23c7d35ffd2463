/*
 * test_match.c -- unit tests of the rule match stage (src/match.c).
 *
 * Records are built the way the pipeline builds them (record_begin, then
 * input_clf_parse for web log lines, or the raw format's single `line`
 * field) and tested against metrics compiled by rules_finish: every
 * condition must hold, `!~` and `=`, missing fields read as empty, named
 * captures live for the rest of their metric only, regexes match bytes
 * (unless a rule opts into (*UTF)), a pathological regex stops at the match
 * limit, and match_time finds a named `time` capture.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rarr/input_clf.h"
#include "rarr/match.h"
#include "rarr/record.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

/* A compiled ruleset with its matcher and one record to fill. */
struct fixture {
    struct ruleset *rs;
    struct matcher *mt;
    struct record rec;
};

static void
setup(struct fixture *f, const char *rules)
{
    struct diag d;

    memset(&d, 0, sizeof(d));
    f->rs = rules_new();
    assert_non_null(f->rs);
    if (rules_parse(f->rs, "t.rarr", rules, strlen(rules), &d) != 0 ||
        rules_finish(f->rs, 60000, &d) != 0)
        fail_msg("rules: %s:%u:%u: %s", d.file, d.line, d.col, d.msg);
    f->mt = match_new(f->rs, 0, 0);
    assert_non_null(f->mt);
    assert_int_equal(record_init(&f->rec, f->rs->fields, f->rs->nfields), 0);
}

static void
teardown(struct fixture *f)
{
    record_fini(&f->rec);
    match_free(f->mt);
    rules_free(f->rs);
}

/* Load a combined log line into the record. */
static void
load_clf(struct fixture *f, const char *line)
{
    assert_int_equal(record_begin(&f->rec, RECORD_COMBINED, line, strlen(line)), 0);
    assert_int_equal(input_clf_parse(&f->rec, RECORD_COMBINED), 0);
}

/* Load 'len' bytes as a raw line (the field `line` only). */
static void
load_raw(struct fixture *f, const char *line, size_t len)
{
    assert_int_equal(record_begin(&f->rec, RECORD_RAW, line, len), 0);
}

static const struct rules_metric *
metric(const struct fixture *f, const char *name)
{
    size_t i;

    assert_int_equal(rules_lookup_metric(f->rs, name, &i), 0);
    return &f->rs->metrics[i];
}

static enum match_result
match(struct fixture *f, const char *name, size_t *failed)
{
    return match_metric(f->mt, metric(f, name), &f->rec, failed);
}

/* Whether match_line lists metric 'name' for the loaded record; -1 on a match limit. */
static int
line_lists(struct fixture *f, const char *name)
{
    size_t out[200], want;
    long i, n;

    assert_true(f->rs->nmetrics <= 200);
    assert_int_equal(rules_lookup_metric(f->rs, name, &want), 0);
    if ((n = match_line(f->mt, &f->rec, out)) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (i > 0)
            assert_true(out[i] > out[i - 1]);
        if (out[i] == want)
            return 1;
    }
    return 0;
}

#define SIGNUP_201                                                                                 \
    "203.0.113.7 - - [04/May/2026:10:00:01 +0000] \"POST /signup?plan=pro HTTP/1.1\" 201 12 "      \
    "\"-\" \"Mozilla/5.0\""
#define SIGNUP_500                                                                                 \
    "203.0.113.7 - - [04/May/2026:10:00:02 +0000] \"POST /signup HTTP/1.1\" 500 12 \"-\" "         \
    "\"Mozilla/5.0\""
#define GET_SIGNUP                                                                                 \
    "203.0.113.7 - - [04/May/2026:10:00:03 +0000] \"GET /signup HTTP/1.1\" 201 12 \"-\" "          \
    "\"Mozilla/5.0\""

static void
test_match_all_conditions_must_hold(void **state)
{
    struct fixture f;
    size_t failed = 99;

    (void)state;
    setup(&f, "metric signups method='POST' path~'^/signup$' status~'^20[01]$'\n");
    load_clf(&f, SIGNUP_201);
    assert_int_equal(match(&f, "signups", &failed), MATCH_YES);
    load_clf(&f, SIGNUP_500);
    assert_int_equal(match(&f, "signups", &failed), MATCH_NO);
    assert_int_equal(failed, 2);
    load_clf(&f, GET_SIGNUP);
    assert_int_equal(match(&f, "signups", &failed), MATCH_NO);
    assert_int_equal(failed, 0);
    /* 'failed' may be NULL. */
    assert_int_equal(match(&f, "signups", NULL), MATCH_NO);
    teardown(&f);
}

static void
test_match_metric_without_conditions_takes_every_record(void **state)
{
    struct fixture f;

    (void)state;
    setup(&f, "metric lines\n");
    load_clf(&f, SIGNUP_500);
    assert_int_equal(match(&f, "lines", NULL), MATCH_YES);
    load_raw(&f, "", 0);
    assert_int_equal(match(&f, "lines", NULL), MATCH_YES);
    teardown(&f);
}

static void
test_match_not_match(void **state)
{
    struct fixture f;
    size_t failed = 99;

    (void)state;
    setup(&f, "metric ok request~'^POST ' status!~'^5'\n");
    load_clf(&f, SIGNUP_201);
    assert_int_equal(match(&f, "ok", &failed), MATCH_YES);
    load_clf(&f, SIGNUP_500);
    assert_int_equal(match(&f, "ok", &failed), MATCH_NO);
    assert_int_equal(failed, 1);
    teardown(&f);
}

static void
test_match_first_bytes_turn_down_what_cannot_match(void **state)
{
    struct fixture f;
    static const struct {
        const char *line;
        int err, err_not, any, caseless;
    } cases[] = {
        {"404", 1, 0, 1, 1}, {"500", 1, 0, 1, 1}, {"200", 0, 1, 1, 1},
        {"", 0, 1, 0, 0},    {"4", 1, 0, 1, 1},   {"Get x", 0, 1, 1, 1},
    };
    size_t i;

    (void)state;
    /* ^[45]: PCRE2's first-byte bitmap; ^\w{1,3}: its shortest length; (?i): both cases. */
    setup(&f, "metric err line~'^[45]\\d*$'\nmetric err_not line!~'^[45]\\d*$'\n"
              "metric any line~'^\\w{1,3}'\nmetric caseless line~'(?i)^(get|[0-9])'\n");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        load_raw(&f, cases[i].line, strlen(cases[i].line));
        assert_int_equal(match(&f, "err", NULL) == MATCH_YES, cases[i].err);
        assert_int_equal(match(&f, "err_not", NULL) == MATCH_YES, cases[i].err_not);
        assert_int_equal(match(&f, "any", NULL) == MATCH_YES, cases[i].any);
        assert_int_equal(match(&f, "caseless", NULL) == MATCH_YES, cases[i].caseless);
    }
    teardown(&f);
}

static void
test_match_equal_is_exact(void **state)
{
    struct fixture f;

    (void)state;
    setup(&f, "metric post method='POST'\n"
              "metric pos method='POS'\n"
              "metric posts method='POSTS'\n"
              "metric dot path='/sign.p'\n"
              "metric path_only path='/signup'\n"
              "metric status status='201'\n");
    load_clf(&f, SIGNUP_201);
    assert_int_equal(match(&f, "post", NULL), MATCH_YES);
    assert_int_equal(match(&f, "pos", NULL), MATCH_NO);
    assert_int_equal(match(&f, "posts", NULL), MATCH_NO);
    /* '=' is not a regex: '.' is a dot. */
    assert_int_equal(match(&f, "dot", NULL), MATCH_NO);
    /* The query is not part of the path. */
    assert_int_equal(match(&f, "path_only", NULL), MATCH_YES);
    assert_int_equal(match(&f, "status", NULL), MATCH_YES);
    teardown(&f);
}

static void
test_match_missing_field_is_empty(void **state)
{
    struct fixture f;

    (void)state;
    setup(&f, "metric no_status status!~'.'\n"
              "metric empty_status status~'^$'\n"
              "metric eq_empty status=''\n"
              "metric has_status status~'.'\n"
              "metric unknown nosuch~'^$' nosuch!~'x'\n"
              "metric unknown_eq nosuch='x'\n");
    /* A raw record has only `line`. */
    load_raw(&f, "hello world", 11);
    assert_int_equal(match(&f, "no_status", NULL), MATCH_YES);
    assert_int_equal(match(&f, "empty_status", NULL), MATCH_YES);
    assert_int_equal(match(&f, "eq_empty", NULL), MATCH_YES);
    assert_int_equal(match(&f, "has_status", NULL), MATCH_NO);
    assert_int_equal(match(&f, "unknown", NULL), MATCH_YES);
    assert_int_equal(match(&f, "unknown_eq", NULL), MATCH_NO);
    /* A web log line has a status; a field web logs do not have is empty. */
    load_clf(&f, SIGNUP_201);
    assert_int_equal(match(&f, "no_status", NULL), MATCH_NO);
    assert_int_equal(match(&f, "empty_status", NULL), MATCH_NO);
    assert_int_equal(match(&f, "has_status", NULL), MATCH_YES);
    assert_int_equal(match(&f, "unknown", NULL), MATCH_YES);
    teardown(&f);
}

static void
test_match_named_capture_visible_to_later_conditions_only_in_its_metric(void **state)
{
    struct fixture f;
    size_t failed = 99;

    (void)state;
    setup(&f, "metric plan query~'plan=(?<plan>\\w+)' plan='pro'\n"
              "metric no_plan plan~'^$'\n"
              "metric plan_before plan='pro' query~'plan=(?<plan>\\w+)'\n");
    load_clf(&f, SIGNUP_201);
    assert_int_equal(match(&f, "plan", &failed), MATCH_YES);
    /* The capture is gone for the next metric. */
    assert_int_equal(match(&f, "no_plan", NULL), MATCH_YES);
    /* A condition before the capturing regex sees no capture. */
    assert_int_equal(match(&f, "plan_before", &failed), MATCH_NO);
    assert_int_equal(failed, 0);
    /* Matching "plan" again after another metric sets it again. */
    assert_int_equal(match(&f, "plan", NULL), MATCH_YES);
    teardown(&f);

    setup(&f, "metric plan query~'plan=(?<plan>\\w+)' plan='pro'\n");
    load_clf(&f, "203.0.113.7 - - [04/May/2026:10:00:01 +0000] \"POST /signup?plan=free HTTP/1.1\" "
                 "201 12 \"-\" \"-\"");
    assert_int_equal(match(&f, "plan", &failed), MATCH_NO);
    assert_int_equal(failed, 1);
    teardown(&f);
}

static void
test_match_capture_shadows_format_field(void **state)
{
    struct fixture f;

    (void)state;
    /* A group named like a CLF field shadows it for the rest of the metric. */
    setup(&f, "metric m request~'^(?<method>\\w)' method='P'\n"
              "metric n method='POST'\n");
    load_clf(&f, SIGNUP_201);
    assert_int_equal(match(&f, "m", NULL), MATCH_YES);
    assert_int_equal(match(&f, "n", NULL), MATCH_YES);
    teardown(&f);
}

static void
test_match_invalid_utf8_and_nul_match_bytewise(void **state)
{
    static const char line[] = "abc\xff\xfe\0def\xc3";
    struct fixture f;

    (void)state;
    setup(&f, "metric bytes line~'c\\xff\\xfe\\x00d'\n"
              "metric any line~'^abc.{3}def.$'\n"
              "metric tail line~'def\\xc3$'\n"
              "metric eq line='abc'\n");
    load_raw(&f, line, sizeof(line) - 1);
    assert_int_equal(match(&f, "bytes", NULL), MATCH_YES);
    assert_int_equal(match(&f, "any", NULL), MATCH_YES);
    /* The subject is not cut at the NUL byte. */
    assert_int_equal(match(&f, "tail", NULL), MATCH_YES);
    assert_int_equal(match(&f, "eq", NULL), MATCH_NO);
    teardown(&f);
}

/*
 * The memo of regex verdicts: a value seen again gives the same answer, and
 * the next line's value at the same address with other bytes is matched
 * afresh, for ~ and !~ alike, also after thousands of other values.
 */
static void
test_match_memo_follows_the_bytes(void **state)
{
    char line[16];
    struct fixture f;
    int i;

    (void)state;
    setup(&f, "metric a line~'^abc'\n"
              "metric b line!~'^abc'\n"
              "metric c line~'^abc' line~'d$'\n");
    for (i = 0; i < 3; i++) {
        strcpy(line, "abcd");
        load_raw(&f, line, 4);
        assert_int_equal(match(&f, "a", NULL), MATCH_YES);
        assert_int_equal(match(&f, "b", NULL), MATCH_NO);
        assert_int_equal(match(&f, "c", NULL), MATCH_YES);
        assert_int_equal(line_lists(&f, "a"), 1);
        assert_int_equal(line_lists(&f, "b"), 0);
        assert_int_equal(line_lists(&f, "c"), 1);
        record_end(&f.rec);
        line[0] = 'x'; /* same address, same length, other bytes */
        load_raw(&f, line, 4);
        assert_int_equal(match(&f, "a", NULL), MATCH_NO);
        assert_int_equal(match(&f, "b", NULL), MATCH_YES);
        assert_int_equal(match(&f, "c", NULL), MATCH_NO);
        assert_int_equal(line_lists(&f, "a"), 0);
        assert_int_equal(line_lists(&f, "b"), 1);
        assert_int_equal(line_lists(&f, "c"), 0);
        record_end(&f.rec);
    }
    for (i = 0; i < 10000; i++) {
        snprintf(line, sizeof(line), "abc%dd", i % 7 == 0 ? i : i + 1);
        load_raw(&f, line, strlen(line));
        assert_int_equal(match(&f, "a", NULL), MATCH_YES);
        assert_int_equal(match(&f, "c", NULL), MATCH_YES);
        assert_int_equal(line_lists(&f, "a"), 1);
        assert_int_equal(line_lists(&f, "b"), 0);
        assert_int_equal(line_lists(&f, "c"), 1);
        record_end(&f.rec);
        snprintf(line, sizeof(line), "zbc%d", i);
        load_raw(&f, line, strlen(line));
        assert_int_equal(match(&f, "a", NULL), MATCH_NO);
        assert_int_equal(match(&f, "b", NULL), MATCH_YES);
        assert_int_equal(line_lists(&f, "a"), 0);
        assert_int_equal(line_lists(&f, "b"), 1);
        assert_int_equal(line_lists(&f, "c"), 0);
        record_end(&f.rec);
    }
    teardown(&f);
}

/*
 * match_line over many metrics and several fields: a metric is listed when
 * every condition holds, whichever field rules it out first, also past 64
 * metrics (several words of the metric bitsets), and never a ratio.
 */
static void
test_match_line_many_metrics_and_fields(void **state)
{
    char rules[16384], name[16];
    size_t len = 0;
    struct fixture f;
    int i;

    (void)state;
    for (i = 0; i < 150; i++)
        len += (size_t)snprintf(rules + len, sizeof(rules) - len,
                                "metric m%d path~'^/p%d$' status~'^%d'\n", i, i % 75, 2 + i / 75);
    snprintf(rules + len, sizeof(rules) - len, "ratio r = m1 / m2\n");
    setup(&f, rules);
    load_clf(&f,
             "1.2.3.4 - - [04/May/2026:10:00:00 +0000] \"GET /p70 HTTP/1.1\" 300 1 \"-\" \"x\"");
    for (i = 0; i < 150; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        assert_int_equal(line_lists(&f, name), i == 145);
    }
    assert_int_equal(line_lists(&f, "r"), 0);
    load_clf(&f,
             "1.2.3.4 - - [04/May/2026:10:00:00 +0000] \"GET /p70 HTTP/1.1\" 200 1 \"-\" \"x\"");
    for (i = 0; i < 150; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        assert_int_equal(line_lists(&f, name), i == 70);
    }
    teardown(&f);
}

/*
 * A metric with named captures is listed when the conditions the memo can
 * hold allow it, and marked scoped: match_metric then decides, with its
 * captures in scope. Other metrics are not scoped.
 */
static void
test_match_line_scoped_metrics(void **state)
{
    static const char ok[] = "POST /signup?plan=pro";
    static const char get[] = "GET /signup?plan=pro";
    struct fixture f;
    size_t i;

    (void)state;
    setup(&f, "metric plans line~'^POST ' line~'plan=(?<plan>\\w+)' plan='pro'\n"
              "metric posts line~'^POST '\n");
    load_raw(&f, ok, sizeof(ok) - 1);
    assert_int_equal(line_lists(&f, "plans"), 1);
    assert_int_equal(rules_lookup_metric(f.rs, "plans", &i), 0);
    assert_true(match_scoped(f.mt, i));
    assert_int_equal(match(&f, "plans", NULL), MATCH_YES);
    assert_int_equal(rules_lookup_metric(f.rs, "posts", &i), 0);
    assert_false(match_scoped(f.mt, i));
    load_raw(&f, get, sizeof(get) - 1);
    assert_int_equal(line_lists(&f, "plans"), 0);
    assert_int_equal(line_lists(&f, "posts"), 0);
    teardown(&f);
}

/*
 * A regex's literal prefix ("^/login" of "^/login(/|$)") rejects subjects
 * before PCRE2 runs: every verdict still equals PCRE2's own, whatever the
 * pattern hides after the '^' (alternatives, quantifiers, classes, quoted
 * runs, comments, options).
 */
static void
test_match_prefix_filter_agrees_with_pcre2(void **state)
{
    static const char *const patterns[] = {
        "^/login(/|$)", "^ab?c",   "^ab*",           "^ab{0}c",       "^a|^b",
        "^(a|b)c",      "^a[]|]x", "^a[|]b|^c",      "^a\\Q(\\E|^b",  "^a(?#(|)|^b",
        "^abc(?i)DEF",  "^a\\.b",  "^(?i)abc",       "^a(?x) # (|^b", "^abc$",
        "^a\\Q|\\E",    "^[ab]c",  "^GET /(a|b)\\b", "^a)|^b",        "^",
    };
    static const char *const subjects[] = {
        "",       "a",      "b",        "c",       "ac",     "abc",     "abbc", "bc",
        "x",      "/login", "/login/x", "/logout", "a|b",    "a]x",     "a|x",  "abcdef",
        "abcDEF", "ABC",    "a.b",      "axb",     "GET /a", "GET /ab", "a|",   "a(",
    };
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        char rules[256];
        struct fixture f;
        pcre2_code *re;
        pcre2_match_data *md;
        int err;
        PCRE2_SIZE off;

        re = pcre2_compile((PCRE2_SPTR)patterns[i], PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
        if (re == NULL)
            continue; /* not a regex: nothing to compare */
        md = pcre2_match_data_create_from_pattern(re, NULL);
        snprintf(rules, sizeof(rules), "metric m line~'%s'\n", patterns[i]);
        setup(&f, rules);
        for (j = 0; j < sizeof(subjects) / sizeof(subjects[0]); j++) {
            int want =
                pcre2_match(re, (PCRE2_SPTR)subjects[j], strlen(subjects[j]), 0, 0, md, NULL) >= 0;

            load_raw(&f, subjects[j], strlen(subjects[j]));
            if ((match(&f, "m", NULL) == MATCH_YES) != want)
                fail_msg("'%s' on '%s': rarr says %d, PCRE2 %d", patterns[i], subjects[j], !want,
                         want);
        }
        teardown(&f);
        pcre2_match_data_free(md);
        pcre2_code_free(re);
    }
}

static void
test_match_utf_mode_invalid_subject_is_an_error(void **state)
{
    static const char bad[] = "abc\xff";
    static const char good[] = "abc\xc3\xa9";
    struct fixture f;
    char msg[128];

    (void)state;
    setup(&f, "metric utf line~'(*UTF)^abc'\n"
              "metric not_utf line!~'(*UTF)^x'\n"
              "metric utf_char line~'(*UTF)^abc.$'\n"
              "metric bytes line~'^abc'\n");
    load_raw(&f, bad, sizeof(bad) - 1);
    /* Neither a match nor a miss, for ~ and !~ alike: the line cannot be read as UTF-8. */
    assert_int_equal(match(&f, "utf", NULL), MATCH_ERROR);
    assert_int_equal(match_error(f.mt, msg, sizeof(msg)), 0);
    if (strstr(msg, "UTF-8") == NULL)
        fail_msg("PCRE2's message: %s", msg);
    assert_int_equal(match(&f, "not_utf", NULL), MATCH_ERROR);
    assert_int_equal(match(&f, "bytes", NULL), MATCH_YES);
    assert_int_equal(line_lists(&f, "bytes"), -1);
    load_raw(&f, good, sizeof(good) - 1);
    assert_int_equal(match(&f, "utf", NULL), MATCH_YES);
    assert_int_equal(match(&f, "not_utf", NULL), MATCH_YES);
    /* In UTF mode '.' is one character, two bytes here. */
    assert_int_equal(match(&f, "utf_char", NULL), MATCH_YES);
    teardown(&f);
}

/* (*NO_JIT) and the other start-of-pattern verbs match as the plain regex does. */
static void
test_match_no_jit_matches_as_jit(void **state)
{
    static const char *const lines[] = {"GET /login HTTP/1.1", "POST /login", "GET /", ""};
    struct fixture f;
    size_t i;

    (void)state;
    setup(&f, "metric jit line~'^GET /login'\n"
              "metric no_jit line~'(*NO_JIT)^GET /login'\n"
              "metric not_jit line!~'^GET /login'\n"
              "metric not_no_jit line!~'(*NO_JIT)^GET /login'\n"
              "metric limited line~'(*NO_JIT)(*LIMIT_MATCH=100000)login'\n");
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        load_raw(&f, lines[i], strlen(lines[i]));
        assert_int_equal(match(&f, "no_jit", NULL), match(&f, "jit", NULL));
        assert_int_equal(match(&f, "not_no_jit", NULL), match(&f, "not_jit", NULL));
        assert_int_equal(match(&f, "limited", NULL),
                         strstr(lines[i], "login") != NULL ? MATCH_YES : MATCH_NO);
    }
    teardown(&f);
}

static void
test_match_pathological_regex_hits_limit(void **state)
{
    size_t n = 100000, failed = 99;
    char *line = malloc(n + 1);
    struct fixture f;

    (void)state;
    assert_non_null(line);
    memset(line, 'a', n);
    line[n] = 'b';
    setup(&f, "metric m line~'x' line~'(a+)+$'\n"
              "metric ok line~'^a'\n");
    load_raw(&f, line, n + 1);
    /* The first condition fails before the bad regex runs. */
    assert_int_equal(match(&f, "m", &failed), MATCH_NO);
    assert_int_equal(failed, 0);
    teardown(&f);

    setup(&f, "metric m line~'^a' line~'(a+)+$'\n"
              "metric ok line~'^a'\n");
    load_raw(&f, line, n + 1);
    assert_int_equal(match(&f, "m", &failed), MATCH_ERROR);
    assert_int_equal(failed, 1);
    /* The matcher is still usable after hitting the limit. */
    assert_int_equal(match(&f, "ok", NULL), MATCH_YES);
    /* The whole line: a limit in a metric still in the running, also from the memo. */
    assert_int_equal(line_lists(&f, "ok"), -1);
    assert_int_equal(line_lists(&f, "ok"), -1);
    teardown(&f);

    /* A metric another field ruled out never runs its regex (status, read by more, goes first). */
    setup(&f, "metric m status~'^5' line~'(a+)+$'\n"
              "metric ok line~'^a'\n"
              "metric s4 status~'^4'\n"
              "metric s3 status~'^3'\n");
    load_raw(&f, line, n + 1);
    assert_int_equal(line_lists(&f, "ok"), 1);
    teardown(&f);
    free(line);
}

static void
test_match_time_finds_named_time_capture(void **state)
{
    static const char line[] = "app[12]: 2026-05-04T10:00:00.250Z login ok user=alice";
    static const char clf[] = "<13> [04/May/2026:12:00:00 +0200] login ok";
    struct fixture f;
    int64_t ts = 0;

    (void)state;
    setup(&f, "metric logins line~'login ok'\n"
              "metric other line~'^(?<who>\\S+)'\n"
              "metric timed line~'^\\S+ (?<time>\\S+) '\n");
    load_raw(&f, line, sizeof(line) - 1);
    assert_int_equal(match_time(f.mt, f.rs, &f.rec, &ts), 0);
    assert_int_equal(ts, 1777888800250LL);
    /* A capture that is not a timestamp gives no time. */
    load_raw(&f, "x notatime y", 12);
    ts = 7;
    assert_int_equal(match_time(f.mt, f.rs, &f.rec, &ts), -1);
    assert_int_equal(ts, 7);
    /* A line the time regex does not match gives no time. */
    load_raw(&f, "nospace", 7);
    assert_int_equal(match_time(f.mt, f.rs, &f.rec, &ts), -1);
    teardown(&f);

    /* CLF timestamps, with their offset, and rules without a time capture. */
    setup(&f, "metric timed line~'\\[(?<time>[^]]+)\\]'\n");
    load_raw(&f, clf, sizeof(clf) - 1);
    assert_int_equal(match_time(f.mt, f.rs, &f.rec, &ts), 0);
    assert_int_equal(ts, 1777888800000LL);
    teardown(&f);
    setup(&f, "metric m line~'(?<when>\\S+)'\n");
    load_raw(&f, line, sizeof(line) - 1);
    assert_int_equal(match_time(f.mt, f.rs, &f.rec, &ts), -1);
    teardown(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_all_conditions_must_hold),
        cmocka_unit_test(test_match_metric_without_conditions_takes_every_record),
        cmocka_unit_test(test_match_not_match),
        cmocka_unit_test(test_match_first_bytes_turn_down_what_cannot_match),
        cmocka_unit_test(test_match_equal_is_exact),
        cmocka_unit_test(test_match_missing_field_is_empty),
        cmocka_unit_test(test_match_named_capture_visible_to_later_conditions_only_in_its_metric),
        cmocka_unit_test(test_match_capture_shadows_format_field),
        cmocka_unit_test(test_match_invalid_utf8_and_nul_match_bytewise),
        cmocka_unit_test(test_match_memo_follows_the_bytes),
        cmocka_unit_test(test_match_line_many_metrics_and_fields),
        cmocka_unit_test(test_match_line_scoped_metrics),
        cmocka_unit_test(test_match_prefix_filter_agrees_with_pcre2),
        cmocka_unit_test(test_match_utf_mode_invalid_subject_is_an_error),
        cmocka_unit_test(test_match_no_jit_matches_as_jit),
        cmocka_unit_test(test_match_pathological_regex_hits_limit),
        cmocka_unit_test(test_match_time_finds_named_time_capture),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
