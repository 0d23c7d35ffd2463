/*
 * test_emit.c -- unit tests of the NDJSON writer (src/emit.c, buf_add_double
 * in src/buf.c); the records are described in docs/design.md, "Output records".
 *
 * Threshold and metric records byte for byte (key order, "rarr" only with
 * a category, "value":null when undefined), numbers in shortest
 * round-trip form, JSON string escaping of any bytes, every
 * line one JSON object as jansson reads it, and emit_flush into a pipe,
 * including EPIPE when the reader has gone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "rarr/buf.h"
#include "rarr/emit.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

#define T_0209 1777860540000LL /* 2026-05-04T02:09:00Z */
#define T_0214 1777860840000LL /* 2026-05-04T02:14:00Z */
#define T_0215 1777860900000LL /* 2026-05-04T02:15:00Z */
#define T_0251 1777863060000LL /* 2026-05-04T02:51:00Z */

static const char rules_text[] =
    "metric dashboard_views rarr=retention request~'^GET /dashboard'\n"
    "metric login_views rarr=retention request~'^GET /login'\n"
    "metric signups rarr=activation request~'^POST /signup'\n"
    "metric lines\n"
    "ratio login_success = dashboard_views / login_views * 100 min=20\n"
    "alert login_success window=15m below=70 for=5m\n"
    "alert lines window=1h above=1000 name='say \"hi\" \\ \x01'\n"
    "anomaly signups window=1h label.severity=page label.q='a\"b' runbook=https://r.example/x "
    "summary='{metric} {key}: {value} not {expected} ({lower}..{upper}) {direction}, {state} "
    "{threshold}{'\n";

static struct ruleset *
load_rules(void)
{
    struct ruleset *rs = rules_new();
    struct diag d;

    assert_non_null(rs);
    memset(&d, 0, sizeof(d));
    if (rules_parse(rs, "t.rarr", rules_text, strlen(rules_text), &d) != 0 ||
        rules_finish(rs, 60000, &d) != 0)
        fail_msg("rules: %s:%u:%u: %s", d.file, d.line, d.col, d.msg);
    return rs;
}

static const struct rules_metric *
metric(const struct ruleset *rs, const char *name)
{
    size_t i;

    assert_int_equal(rules_lookup_metric(rs, name, &i), 0);
    return &rs->metrics[i];
}

/* 'p' holds exactly one line and it parses as one JSON object with 'nkeys' keys. */
static void
check_json_line(const char *p, size_t len, size_t nkeys)
{
    json_error_t err;
    json_t *v;

    assert_true(len > 0);
    assert_int_equal(p[len - 1], '\n');
    assert_null(memchr(p, '\n', len - 1));
    v = json_loadb(p, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (v == NULL)
        fail_msg("not JSON (%s): %.*s", err.text, (int)len, p);
    assert_true(json_is_object(v));
    assert_int_equal(json_object_size(v), nkeys);
    json_decref(v);
}

/* The queued output is exactly 'want', one JSON object of 'nkeys' keys; then empty it. */
static void
expect_out(struct emit *e, const char *want, size_t nkeys)
{
    assert_string_equal(buf_cstr(&e->out), want);
    assert_int_equal(e->out.len, strlen(want));
    check_json_line(e->out.p, e->out.len, nkeys);
    e->out.len = 0;
}

static void
test_emit_threshold_firing_as_in_spec(void **state)
{
    struct ruleset *rs = load_rules();
    struct emit e;

    (void)state;
    emit_init(&e, -1);
    assert_int_equal(emit_threshold(&e, T_0214, 1, &rs->alerts[0], metric(rs, "login_success"),
                                    41.2, T_0209, NULL, 0),
                     0);
    expect_out(&e,
               "{\"type\":\"threshold\",\"time\":\"2026-05-04T02:14:00Z\",\"state\":\"firing\","
               "\"rule\":\"login_success below 70 over 15m\",\"metric\":\"login_success\","
               "\"rarr\":\"retention\",\"window\":\"15m\",\"value\":41.2,\"threshold\":70,"
               "\"op\":\"below\",\"since\":\"2026-05-04T02:09:00Z\"}\n",
               11);
    assert_int_equal(e.events, 1);
    assert_int_equal(e.metrics, 0);
    emit_fini(&e);
    rules_free(rs);
}

static void
test_emit_threshold_resolved_as_in_spec(void **state)
{
    struct ruleset *rs = load_rules();
    struct emit e;

    (void)state;
    emit_init(&e, -1);
    assert_int_equal(emit_threshold(&e, T_0251, 0, &rs->alerts[0], metric(rs, "login_success"),
                                    88.0, T_0209, NULL, 0),
                     0);
    /* A value of 88.0 is written in its shortest form that reads back exactly: 88. */
    expect_out(&e,
               "{\"type\":\"threshold\",\"time\":\"2026-05-04T02:51:00Z\",\"state\":\"resolved\","
               "\"rule\":\"login_success below 70 over 15m\",\"metric\":\"login_success\","
               "\"rarr\":\"retention\",\"window\":\"15m\",\"value\":88,\"threshold\":70,"
               "\"op\":\"below\",\"since\":\"2026-05-04T02:09:00Z\"}\n",
               11);
    emit_fini(&e);
    rules_free(rs);
}

static void
test_emit_threshold_without_category_and_escaped_name(void **state)
{
    struct ruleset *rs = load_rules();
    struct emit e;

    (void)state;
    emit_init(&e, -1);
    assert_int_equal(
        emit_threshold(&e, T_0214, 1, &rs->alerts[1], metric(rs, "lines"), 1234, T_0214, NULL, 0),
        0);
    expect_out(&e,
               "{\"type\":\"threshold\",\"time\":\"2026-05-04T02:14:00Z\",\"state\":\"firing\","
               "\"rule\":\"say \\\"hi\\\" \\\\ \\u0001\",\"metric\":\"lines\",\"window\":\"1h\","
               "\"value\":1234,\"threshold\":1000,\"op\":\"above\","
               "\"since\":\"2026-05-04T02:14:00Z\"}\n",
               10);
    /* A value with no JSON form is null. */
    assert_int_equal(
        emit_threshold(&e, T_0214, 0, &rs->alerts[1], metric(rs, "lines"), NAN, T_0209, NULL, 0),
        0);
    expect_out(&e,
               "{\"type\":\"threshold\",\"time\":\"2026-05-04T02:14:00Z\",\"state\":\"resolved\","
               "\"rule\":\"say \\\"hi\\\" \\\\ \\u0001\",\"metric\":\"lines\",\"window\":\"1h\","
               "\"value\":null,\"threshold\":1000,\"op\":\"above\","
               "\"since\":\"2026-05-04T02:09:00Z\"}\n",
               10);
    assert_int_equal(e.events, 2);
    emit_fini(&e);
    rules_free(rs);
}

static void
test_emit_anomaly_labels_summary_runbook(void **state)
{
    struct ruleset *rs = load_rules();
    struct detect_event ev = {.fired = 1,
                              .window_ms = 3600000,
                              .value = 2,
                              .expected = 31.4159,
                              .lower = 12.5,
                              .upper = 1234.567,
                              .score = 3.5,
                              .p = 1e-6,
                              .dir = -1,
                              .since_ms = T_0209};
    struct emit e;

    (void)state;
    emit_init(&e, -1);
    assert_int_equal(emit_anomaly(&e, T_0214, rs->alerts[2].rule, "signups", "/a\"b", 4,
                                  "activation", &rs->alerts[2], &ev),
                     0);
    /* Numbers for a person: two decimals at most, fewer as they grow; a word it lacks is empty. */
    expect_out(&e,
               "{\"type\":\"anomaly\",\"time\":\"2026-05-04T02:14:00Z\",\"state\":\"firing\","
               "\"rule\":\"signups anomaly over 1h\",\"metric\":\"signups\",\"key\":\"/a\\\"b\","
               "\"rarr\":\"activation\",\"window\":\"1h\",\"value\":2,\"expected\":31.416,"
               "\"lower\":12.5,\"upper\":1234.567,\"score\":3.5,\"direction\":\"drop\","
               "\"since\":\"2026-05-04T02:09:00Z\",\"p\":1e-06,"
               "\"labels\":{\"severity\":\"page\",\"q\":\"a\\\"b\"},"
               "\"summary\":\"signups /a\\\"b: 2 not 31.4 (12.5..1235) drop, firing {\","
               "\"runbook_url\":\"https://r.example/x\"}\n",
               19);
    emit_fini(&e);
    rules_free(rs);
}

static void
test_emit_metric_as_in_spec(void **state)
{
    struct ruleset *rs = load_rules();
    struct emit e;

    (void)state;
    emit_init(&e, -1);
    assert_int_equal(emit_metric(&e, T_0215, metric(rs, "signups"), 60000, 0, 1, NULL, 0), 0);
    expect_out(&e,
               "{\"type\":\"metric\",\"time\":\"2026-05-04T02:15:00Z\",\"metric\":\"signups\","
               "\"rarr\":\"activation\",\"step\":\"1m\",\"value\":0}\n",
               6);
    /* No category: no "rarr" key. */
    assert_int_equal(emit_metric(&e, T_0215, metric(rs, "lines"), 90000, 17, 1, NULL, 0), 0);
    expect_out(&e,
               "{\"type\":\"metric\",\"time\":\"2026-05-04T02:15:00Z\",\"metric\":\"lines\","
               "\"step\":\"1m30s\",\"value\":17}\n",
               5);
    /* A ratio takes its operands' category; undefined is null. */
    assert_int_equal(emit_metric(&e, T_0215, metric(rs, "login_success"), 60000, 12.5, 0, NULL, 0),
                     0);
    expect_out(&e,
               "{\"type\":\"metric\",\"time\":\"2026-05-04T02:15:00Z\","
               "\"metric\":\"login_success\",\"rarr\":\"retention\",\"step\":\"1m\","
               "\"value\":null}\n",
               6);
    assert_int_equal(
        emit_metric(&e, T_0215 + 250, metric(rs, "login_success"), 60000, 41.2, 1, NULL, 0), 0);
    expect_out(&e,
               "{\"type\":\"metric\",\"time\":\"2026-05-04T02:15:00.250Z\","
               "\"metric\":\"login_success\",\"rarr\":\"retention\",\"step\":\"1m\","
               "\"value\":41.2}\n",
               6);
    assert_int_equal(e.metrics, 4);
    assert_int_equal(e.events, 0);
    emit_fini(&e);
    rules_free(rs);
}

static void
test_emit_records_queue_in_order(void **state)
{
    struct ruleset *rs = load_rules();
    struct emit e;
    const char *p, *nl;
    size_t n = 0;

    (void)state;
    emit_init(&e, -1);
    assert_int_equal(emit_metric(&e, T_0215, metric(rs, "signups"), 60000, 1, 1, NULL, 0), 0);
    assert_int_equal(emit_metric(&e, T_0215, metric(rs, "lines"), 60000, 2, 1, NULL, 0), 0);
    assert_int_equal(emit_threshold(&e, T_0215, 1, &rs->alerts[0], metric(rs, "login_success"), 3,
                                    T_0215, NULL, 0),
                     0);
    for (p = e.out.p; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        check_json_line(p, (size_t)(nl - p) + 1, n < 2 ? 5u + (n == 0) : 11u);
        n++;
    }
    assert_int_equal(n, 3);
    assert_string_equal(p, "");
    assert_non_null(strstr(e.out.p, "\"metric\":\"signups\""));
    assert_true(strstr(e.out.p, "\"metric\":\"signups\"") <
                strstr(e.out.p, "\"metric\":\"lines\""));
    emit_fini(&e);
    rules_free(rs);
}

/* buf_add_double(v) writes exactly 'want', which reads back as 'v'. */
static void
expect_number(double v, const char *want)
{
    struct buf b;

    buf_init(&b);
    assert_int_equal(buf_add_double(&b, v), 0);
    assert_string_equal(buf_cstr(&b), want);
    if (isfinite(v))
        assert_true(strtod(buf_cstr(&b), NULL) == v);
    buf_fini(&b);
}

static void
test_emit_numbers_shortest_round_trip(void **state)
{
    (void)state;
    expect_number(41.2, "41.2");
    expect_number(3, "3");
    expect_number(0.1, "0.1");
    expect_number(1e-07, "1e-07");
    expect_number(1e21, "1e+21");
    expect_number(-1e21, "-1e+21");
    expect_number(0, "0");
    expect_number(-0.0, "0");
    expect_number(-2.5, "-2.5");
    expect_number(0.1 + 0.2, "0.30000000000000004");
    expect_number(1.0 / 3, "0.3333333333333333");
    expect_number(200.0 / 3, "66.66666666666667");
    expect_number(123456789012.0, "123456789012");
    expect_number(-42, "-42");
    expect_number(999999999999999.0, "999999999999999");
    expect_number(1e15, "1e+15");
    expect_number(12345.678, "12345.678");
    expect_number(1e-5, "1e-05");
    expect_number(5e-324, "5e-324");
    expect_number(DBL_MAX, "1.7976931348623157e+308");
}

static void
test_emit_numbers_nan_and_inf_are_null(void **state)
{
    struct ruleset *rs = load_rules();
    struct emit e;

    (void)state;
    expect_number(NAN, "null");
    expect_number(INFINITY, "null");
    expect_number(-INFINITY, "null");
    emit_init(&e, -1);
    assert_int_equal(emit_metric(&e, T_0215, metric(rs, "lines"), 60000, INFINITY, 1, NULL, 0), 0);
    expect_out(&e,
               "{\"type\":\"metric\",\"time\":\"2026-05-04T02:15:00Z\",\"metric\":\"lines\","
               "\"step\":\"1m\",\"value\":null}\n",
               5);
    emit_fini(&e);
    rules_free(rs);
}

/* A string case: input bytes, the JSON text expected, and what a JSON reader decodes. */
struct string_case {
    const char *in;
    size_t len;
    const char *json;
    const char *decoded;
    size_t decoded_len;
};

#define CASE(in, json, decoded)                                                                    \
    {                                                                                              \
        in, sizeof(in) - 1, json, decoded, sizeof(decoded) - 1                                     \
    }
#define FFFD "\xef\xbf\xbd"

static void
test_emit_json_string_escaping(void **state)
{
    static const struct string_case cases[] = {
        CASE("", "\"\"", ""),
        CASE("plain /path?q=1", "\"plain /path?q=1\"", "plain /path?q=1"),
        CASE("a\"b\\c", "\"a\\\"b\\\\c\"", "a\"b\\c"),
        CASE("\x01\n\t\r\x1f", "\"\\u0001\\u000a\\u0009\\u000d\\u001f\"", "\x01\n\t\r\x1f"),
        CASE("a\0b", "\"a\\u0000b\"", "a\0b"),
        CASE("\x7f", "\"\\u007f\"", "\x7f"),
        /* Valid multi-byte UTF-8 is kept as it is: U+00E9, U+20AC, U+1F600, U+10FFFF. */
        CASE("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
             "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"",
             "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"),
        /* Each byte of invalid UTF-8 is U+FFFD. */
        CASE("\x80", "\"\\ufffd\"", FFFD),
        CASE("x\xffy", "\"x\\ufffdy\"", "x" FFFD "y"),
        CASE("a\xe2\x82", "\"a\\ufffd\\ufffd\"", "a" FFFD FFFD),
        CASE("\xe2\x82z", "\"\\ufffd\\ufffdz\"", FFFD FFFD "z"),
        /* Overlong forms. */
        CASE("\xc0\xaf", "\"\\ufffd\\ufffd\"", FFFD FFFD),
        CASE("\xc1\xbf", "\"\\ufffd\\ufffd\"", FFFD FFFD),
        CASE("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD),
        CASE("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD FFFD),
        /* Surrogates, and code points past U+10FFFF. */
        CASE("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD),
        CASE("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD),
        CASE("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD FFFD),
        CASE("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD FFFD),
        /* The largest 3-byte form before the surrogates and the first after are valid. */
        CASE("\xed\x9f\xbf\xee\x80\x80", "\"\xed\x9f\xbf\xee\x80\x80\"",
             "\xed\x9f\xbf\xee\x80\x80"),
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct string_case *c = &cases[i];
        struct buf b;
        json_error_t err;
        json_t *v, *s;

        buf_init(&b);
        assert_int_equal(buf_adds(&b, "{\"s\":"), 0);
        assert_int_equal(emit_json_string(&b, c->in, c->len), 0);
        assert_string_equal(b.p + 5, c->json);
        assert_int_equal(buf_adds(&b, "}\n"), 0);
        check_json_line(b.p, b.len, 1);
        v = json_loadb(b.p, b.len, JSON_ALLOW_NUL, &err);
        assert_non_null(v);
        s = json_object_get(v, "s");
        assert_true(json_is_string(s));
        assert_int_equal(json_string_length(s), c->decoded_len);
        assert_memory_equal(json_string_value(s), c->decoded, c->decoded_len);
        json_decref(v);
        buf_fini(&b);
    }
}

static void
test_emit_json_string_every_byte(void **state)
{
    char in[256];
    struct buf b;
    json_error_t err;
    json_t *v;
    int i;

    (void)state;
    /* All 256 byte values in one string still make one JSON object. */
    for (i = 0; i < 256; i++)
        in[i] = (char)i;
    buf_init(&b);
    assert_int_equal(buf_adds(&b, "{\"s\":"), 0);
    assert_int_equal(emit_json_string(&b, in, sizeof(in)), 0);
    assert_int_equal(buf_adds(&b, "}\n"), 0);
    check_json_line(b.p, b.len, 1);
    v = json_loadb(b.p, b.len, JSON_ALLOW_NUL, &err);
    assert_non_null(v);
    /* 128 ASCII bytes, then 128 invalid bytes as U+FFFD (3 bytes each). */
    assert_int_equal(json_string_length(json_object_get(v, "s")), 128 + 128 * 3);
    json_decref(v);
    buf_fini(&b);
}

static void
test_emit_flush_writes_to_pipe(void **state)
{
    struct ruleset *rs = load_rules();
    struct emit e;
    int fds[2];
    char got[512];
    ssize_t n;
    const char *want =
        "{\"type\":\"metric\",\"time\":\"2026-05-04T02:15:00Z\",\"metric\":\"signups\","
        "\"rarr\":\"activation\",\"step\":\"1m\",\"value\":3}\n"
        "{\"type\":\"metric\",\"time\":\"2026-05-04T02:15:00Z\",\"metric\":\"lines\","
        "\"step\":\"1m\",\"value\":0.1}\n";

    (void)state;
    assert_int_equal(pipe(fds), 0);
    emit_init(&e, fds[1]);
    /* Nothing queued: nothing written, success. */
    assert_int_equal(emit_flush(&e), 0);
    assert_int_equal(emit_metric(&e, T_0215, metric(rs, "signups"), 60000, 3, 1, NULL, 0), 0);
    assert_int_equal(emit_metric(&e, T_0215, metric(rs, "lines"), 60000, 0.1, 1, NULL, 0), 0);
    assert_int_equal(emit_flush(&e), 0);
    assert_int_equal(e.out.len, 0);
    n = read(fds[0], got, sizeof(got) - 1);
    assert_int_equal(n, (ssize_t)strlen(want));
    got[n] = '\0';
    assert_string_equal(got, want);
    emit_fini(&e);
    close(fds[0]);
    close(fds[1]);
    rules_free(rs);
}

static void
test_emit_flush_closed_reader_is_epipe(void **state)
{
    struct ruleset *rs = load_rules();
    struct emit e;
    int fds[2];
    void (*old)(int);

    (void)state;
    old = signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    emit_init(&e, fds[1]);
    assert_int_equal(emit_metric(&e, T_0215, metric(rs, "signups"), 60000, 3, 1, NULL, 0), 0);
    errno = 0;
    assert_int_equal(emit_flush(&e), -1);
    assert_int_equal(errno, EPIPE);
    /* The queued records are dropped, not written again later. */
    assert_int_equal(e.out.len, 0);
    emit_fini(&e);
    close(fds[1]);
    signal(SIGPIPE, old);
    rules_free(rs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emit_threshold_firing_as_in_spec),
        cmocka_unit_test(test_emit_threshold_resolved_as_in_spec),
        cmocka_unit_test(test_emit_threshold_without_category_and_escaped_name),
        cmocka_unit_test(test_emit_anomaly_labels_summary_runbook),
        cmocka_unit_test(test_emit_metric_as_in_spec),
        cmocka_unit_test(test_emit_records_queue_in_order),
        cmocka_unit_test(test_emit_numbers_shortest_round_trip),
        cmocka_unit_test(test_emit_numbers_nan_and_inf_are_null),
        cmocka_unit_test(test_emit_json_string_escaping),
        cmocka_unit_test(test_emit_json_string_every_byte),
        cmocka_unit_test(test_emit_flush_writes_to_pipe),
        cmocka_unit_test(test_emit_flush_closed_reader_is_epipe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
