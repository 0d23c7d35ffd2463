/*
 * test_input_json.c -- unit tests for input_json.c: JSON event lines parsed
 * with input_json_parse and read back through record_get (which calls
 * input_json_field), as the match stage does: the timestamp keys and their
 * order, --time-field, every accepted timestamp form, the bad-line reasons,
 * dotted keys, values as text and journald's byte-array MESSAGE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/diag.h"
#include "rarr/input_json.h"
#include "rarr/record.h"

#define MAY04_0214 1777860840000LL  /* 2026-05-04T02:14:00Z */
#define JOURNALD_MS 1777899909123LL /* 2026-05-04T13:05:09.123Z */

/* A field table built the way the ruleset builds one: names split at dots. */
struct table {
    struct record_fieldref f[32];
    size_t n;
};

static size_t
add_field(struct table *t, const char *name)
{
    struct record_fieldref *f = &t->f[t->n];
    const char *p = name, *dot;
    size_t i = 0, n = 1;

    assert_true(t->n < sizeof(t->f) / sizeof(t->f[0]));
    for (dot = name; (dot = strchr(dot, '.')) != NULL; dot++)
        n++;
    memset(f, 0, sizeof(*f));
    f->name = malloc(strlen(name) + 1);
    f->path = calloc(n, sizeof(*f->path));
    assert_non_null(f->name);
    assert_non_null(f->path);
    strcpy(f->name, name);
    f->clf = record_clf_field(name);
    for (;;) {
        size_t len;

        dot = strchr(p, '.');
        len = dot != NULL ? (size_t)(dot - p) : strlen(p);
        f->path[i] = malloc(len + 1);
        assert_non_null(f->path[i]);
        memcpy(f->path[i], p, len);
        f->path[i][len] = '\0';
        i++;
        if (dot == NULL)
            break;
        p = dot + 1;
    }
    f->npath = n;
    return t->n++;
}

static void
table_free(struct table *t)
{
    size_t i, j;

    for (i = 0; i < t->n; i++) {
        for (j = 0; j < t->f[i].npath; j++)
            free(t->f[i].path[j]);
        free(t->f[i].path);
        free(t->f[i].name);
    }
    t->n = 0;
}

/* The fixture: a table with every field the tests read, and a record over it. */
struct fix {
    struct table t;
    struct record r;
    size_t line, status, msg, method_nested, method_flat, ms, tr, fl, nul, arr, obj, message,
        empty_arr, missing, deep, absent_nested, time_nested, when, num, neg, big, exp, small;
};

static int
setup(void **state)
{
    struct fix *x = calloc(1, sizeof(*x));

    if (x == NULL)
        return -1;
    x->line = add_field(&x->t, "line");
    x->status = add_field(&x->t, "status");
    x->msg = add_field(&x->t, "msg");
    x->method_nested = add_field(&x->t, "http.request.method");
    x->method_flat = add_field(&x->t, "http.method");
    x->ms = add_field(&x->t, "dur_ms");
    x->tr = add_field(&x->t, "ok");
    x->fl = add_field(&x->t, "cached");
    x->nul = add_field(&x->t, "parent");
    x->arr = add_field(&x->t, "tags");
    x->obj = add_field(&x->t, "user");
    x->message = add_field(&x->t, "MESSAGE");
    x->empty_arr = add_field(&x->t, "none");
    x->missing = add_field(&x->t, "no_such_key");
    x->deep = add_field(&x->t, "a.b.c.d");
    x->absent_nested = add_field(&x->t, "http.response.status");
    x->time_nested = add_field(&x->t, "event.created");
    x->when = add_field(&x->t, "when");
    x->num = add_field(&x->t, "n");
    x->neg = add_field(&x->t, "neg");
    x->big = add_field(&x->t, "big");
    x->exp = add_field(&x->t, "exp");
    x->small = add_field(&x->t, "small");
    if (record_init(&x->r, x->t.f, x->t.n) == -1) {
        table_free(&x->t);
        free(x);
        return -1;
    }
    *state = x;
    return 0;
}

static int
teardown(void **state)
{
    struct fix *x = *state;

    record_fini(&x->r);
    table_free(&x->t);
    free(x);
    return 0;
}

/* Begin a JSON line and parse it; '*why' is set to DIAG_NREASONS first. */
static int
parse(struct fix *x, const char *s, const struct record_fieldref *tf, int need_time,
      enum diag_reason *why)
{
    *why = DIAG_NREASONS;
    assert_int_equal(record_begin(&x->r, RECORD_JSON, s, strlen(s)), 0);
    return input_json_parse(&x->r, tf, need_time, why);
}

/* Parse a line that must succeed with a timestamp. */
static void
parse_ok(struct fix *x, const char *s)
{
    enum diag_reason why;

    if (parse(x, s, NULL, 1, &why) != 0)
        fail_msg("rejected (reason %d): %s", (int)why, s);
}

/* A field's value as a C string (rotating buffers); it must hold no NUL. */
static const char *
get(struct fix *x, size_t field)
{
    static char bufs[4][4096];
    static int next;
    struct slice v = record_get(&x->r, field);
    char *b = bufs[next++ % 4];

    assert_true(v.len < sizeof(bufs[0]));
    assert_true(v.len == 0 || v.p != NULL);
    if (v.len > 0)
        memcpy(b, v.p, v.len);
    b[v.len] = '\0';
    assert_int_equal(strlen(b), v.len);
    return b;
}

/* ---- timestamps --------------------------------------------------------- */

static void
test_json_timestamp_key_order_of_preference(void **state)
{
    static const char *const keys[] = {"@timestamp",           "timestamp", "time", "ts",
                                       "__REALTIME_TIMESTAMP", "date"};
    struct fix *x = *state;
    char line[512];
    size_t k, j, n;

    /* Keys k..5 present, written in reverse order: key k must win. */
    for (k = 0; k < 6; k++) {
        n = (size_t)snprintf(line, sizeof(line), "{\"other\":\"2001-01-01T00:00:00Z\"");
        for (j = 6; j-- > k;)
            n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"%s\":\"%d\"", keys[j],
                                  1000000000 + (int)j);
        snprintf(line + n, sizeof(line) - n, "}");
        parse_ok(x, line);
        assert_int_equal(x->r.has_ts, 1);
        if (x->r.ts_ms != (1000000000LL + (int64_t)k) * 1000)
            fail_msg("with keys from '%s' on: got %lld", keys[k], (long long)x->r.ts_ms);
    }
}

static void
test_json_time_field_flat(void **state)
{
    struct fix *x = *state;
    enum diag_reason why;

    assert_int_equal(parse(x,
                           "{\"@timestamp\":\"2001-01-01T00:00:00Z\","
                           "\"when\":\"2026-05-04T02:14:00Z\"}",
                           &x->t.f[x->when], 1, &why),
                     0);
    assert_int_equal(x->r.has_ts, 1);
    assert_int_equal(x->r.ts_ms, MAY04_0214);
}

static void
test_json_time_field_dotted(void **state)
{
    struct fix *x = *state;
    enum diag_reason why;

    assert_int_equal(parse(x, "{\"time\":1,\"event\":{\"created\":\"2026-05-04T02:14:00Z\"}}",
                           &x->t.f[x->time_nested], 1, &why),
                     0);
    assert_int_equal(x->r.ts_ms, MAY04_0214);
    /* The flat key with the dotted name wins over the nested one. */
    assert_int_equal(parse(x,
                           "{\"event\":{\"created\":\"2001-01-01T00:00:00Z\"},"
                           "\"event.created\":\"2026-05-04T02:14:00Z\"}",
                           &x->t.f[x->time_nested], 1, &why),
                     0);
    assert_int_equal(x->r.ts_ms, MAY04_0214);
}

static void
test_json_time_field_replaces_standard_keys(void **state)
{
    struct fix *x = *state;
    enum diag_reason why;

    /* With --time-field, @timestamp is not a fallback. */
    assert_int_equal(
        parse(x, "{\"@timestamp\":\"2026-05-04T02:14:00Z\"}", &x->t.f[x->when], 1, &why), -1);
    assert_int_equal(why, DIAG_NO_TIME);
    assert_int_equal(x->r.has_ts, 0);
}

static void
test_json_rfc3339_with_fraction_and_offset(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"@timestamp\":\"2026-05-04T02:14:00.123456+02:00\"}");
    assert_int_equal(x->r.ts_ms, MAY04_0214 - 2 * 3600000LL + 123);
    parse_ok(x, "{\"timestamp\":\"2026-05-04 02:14:00.5-0130\"}");
    assert_int_equal(x->r.ts_ms, MAY04_0214 + 90 * 60000LL + 500);
}

static void
test_json_clf_time_string(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"time\":\"[10/Oct/2000:13:55:36 -0700]\"}");
    assert_int_equal(x->r.ts_ms, 971211336000LL);
}

static void
test_json_epoch_seconds_integer(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909}");
    assert_int_equal(x->r.ts_ms, 1777899909000LL);
    parse_ok(x, "{\"ts\":\"1777899909\"}");
    assert_int_equal(x->r.ts_ms, 1777899909000LL);
}

static void
test_json_epoch_seconds_float(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909.123}");
    assert_int_equal(x->r.ts_ms, JOURNALD_MS);
    parse_ok(x, "{\"ts\":1777899909.5}");
    assert_int_equal(x->r.ts_ms, 1777899909500LL);
    parse_ok(x, "{\"ts\":\"1777899909.123\"}");
    assert_int_equal(x->r.ts_ms, JOURNALD_MS);
}

static void
test_json_epoch_milliseconds(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"time\":1777899909123}");
    assert_int_equal(x->r.ts_ms, JOURNALD_MS);
    parse_ok(x, "{\"time\":\"1777899909123\"}");
    assert_int_equal(x->r.ts_ms, JOURNALD_MS);
}

static void
test_json_journald_realtime_microseconds(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"__REALTIME_TIMESTAMP\":\"1777899909123456\",\"MESSAGE\":\"hello\","
                "\"_SYSTEMD_UNIT\":\"app.service\"}");
    assert_int_equal(x->r.has_ts, 1);
    assert_int_equal(x->r.ts_ms, JOURNALD_MS);
    assert_string_equal(get(x, x->message), "hello");
}

static void
test_json_missing_timestamp_needed(void **state)
{
    struct fix *x = *state;
    enum diag_reason why;

    assert_int_equal(parse(x, "{\"msg\":\"no time here\",\"Time\":1777899909}", NULL, 1, &why), -1);
    assert_int_equal(why, DIAG_NO_TIME);
    assert_int_equal(x->r.has_ts, 0);
}

static void
test_json_missing_timestamp_not_needed(void **state)
{
    struct fix *x = *state;
    enum diag_reason why;

    assert_int_equal(parse(x, "{\"msg\":\"no time here\"}", NULL, 0, &why), 0);
    assert_int_equal(why, DIAG_NO_TIME);
    assert_int_equal(x->r.has_ts, 0);
    /* The line is still usable. */
    assert_string_equal(get(x, x->msg), "no time here");
}

static void
test_json_unreadable_timestamp(void **state)
{
    static const char *const lines[] = {
        "{\"@timestamp\":\"yesterday\"}", "{\"@timestamp\":\"2026-02-30T00:00:00Z\"}",
        "{\"@timestamp\":true}",          "{\"@timestamp\":null}",
        "{\"@timestamp\":{\"sec\":1}}",   "{\"@timestamp\":[1777899909]}",
        "{\"@timestamp\":1e300}",
    };
    struct fix *x = *state;
    enum diag_reason why;
    size_t i;

    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (parse(x, lines[i], NULL, 1, &why) != -1)
            fail_msg("accepted: %s", lines[i]);
        assert_int_equal(why, DIAG_BAD_TIME);
        assert_int_equal(x->r.has_ts, 0);
    }
    assert_int_equal(parse(x, lines[0], NULL, 0, &why), 0);
    assert_int_equal(why, DIAG_BAD_TIME);
    assert_int_equal(x->r.has_ts, 0);
}

static void
test_json_present_but_unreadable_key_is_not_skipped(void **state)
{
    struct fix *x = *state;
    enum diag_reason why;

    /* The first present key decides, even when a later one would parse. */
    assert_int_equal(parse(x, "{\"@timestamp\":\"bad\",\"ts\":1777899909}", NULL, 1, &why), -1);
    assert_int_equal(why, DIAG_BAD_TIME);
}

/* ---- bad lines ---------------------------------------------------------- */

static void
test_json_invalid_json(void **state)
{
    static const char *const lines[] = {
        "{",
        "{\"a\":}",
        "{\"a\":1,}",
        "{a:1}",
        "not json",
        "{\"a\":1} trailing",
        "",
        "{\"a\":\"unterminated}",
        "{\"a\":1}{\"b\":2}",
    };
    struct fix *x = *state;
    enum diag_reason why;
    size_t i;

    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (parse(x, lines[i], NULL, 1, &why) != -1)
            fail_msg("accepted: %s", lines[i]);
        assert_int_equal(why, DIAG_BAD_JSON);
    }
    /* Also when no timestamp is needed. */
    assert_int_equal(parse(x, "{", NULL, 0, &why), -1);
    assert_int_equal(why, DIAG_BAD_JSON);
}

static void
test_json_array_line_is_not_object(void **state)
{
    struct fix *x = *state;
    enum diag_reason why;

    assert_int_equal(parse(x, "[{\"@timestamp\":\"2026-05-04T02:14:00Z\"}]", NULL, 1, &why), -1);
    assert_int_equal(why, DIAG_NOT_OBJECT);
    assert_int_equal(parse(x, "[]", NULL, 0, &why), -1);
    assert_int_equal(why, DIAG_NOT_OBJECT);
}

/* ---- fields ------------------------------------------------------------- */

static void
test_json_line_field_is_whole_line(void **state)
{
    static const char s[] = "{\"ts\":1777899909, \"msg\" : \"x\"}";
    struct fix *x = *state;

    parse_ok(x, s);
    assert_string_equal(get(x, x->line), s);
}

static void
test_json_string_field(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"msg\":\"say \\\"hi\\\" \\\\ caf\\u00e9 \\n\"}");
    assert_string_equal(get(x, x->msg), "say \"hi\" \\ caf\xc3\xa9 \n");
}

static void
test_json_missing_field_is_empty(void **state)
{
    struct fix *x = *state;
    struct slice v;

    parse_ok(x, "{\"ts\":1777899909}");
    v = record_get(&x->r, x->missing);
    assert_int_equal(v.len, 0);
    assert_non_null(v.p);
    assert_string_equal(get(x, x->absent_nested), "");
}

static void
test_json_dotted_key_reads_nested_object(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"http\":{\"request\":{\"method\":\"POST\"},"
                "\"method\":\"nested-short\"},\"a\":{\"b\":{\"c\":{\"d\":42}}}}");
    assert_string_equal(get(x, x->method_nested), "POST");
    assert_string_equal(get(x, x->method_flat), "nested-short");
    assert_string_equal(get(x, x->deep), "42");
}

static void
test_json_flat_dotted_key_takes_precedence(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"http\":{\"request\":{\"method\":\"POST\"}},"
                "\"http.request.method\":\"GET\"}");
    assert_string_equal(get(x, x->method_nested), "GET");
    /* And the order in the line does not matter. */
    parse_ok(x, "{\"ts\":1777899909,\"http.request.method\":\"PUT\","
                "\"http\":{\"request\":{\"method\":\"POST\"}}}");
    assert_string_equal(get(x, x->method_nested), "PUT");
}

static void
test_json_dotted_key_through_non_object_is_empty(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"http\":\"GET\",\"a\":{\"b\":[1,2]}}");
    assert_string_equal(get(x, x->method_nested), "");
    assert_string_equal(get(x, x->deep), "");
}

static void
test_json_numbers_as_text(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"status\":200,\"dur_ms\":12.5,\"neg\":-3,"
                "\"big\":9007199254740993,\"exp\":1e3,\"small\":0.1,\"n\":0}");
    assert_string_equal(get(x, x->status), "200");
    assert_string_equal(get(x, x->ms), "12.5");
    assert_string_equal(get(x, x->neg), "-3");
    assert_string_equal(get(x, x->big), "9007199254740993");
    assert_string_equal(get(x, x->exp), "1000");
    assert_string_equal(get(x, x->small), "0.1");
    assert_string_equal(get(x, x->num), "0");
    /* Integers read as written, -0 as 0, the 64-bit edges exactly. */
    parse_ok(x, "{\"ts\":1777899909,\"neg\":-0,\"big\":9223372036854775807,"
                "\"n\":-9223372036854775808,\"status\":123456789012345678}");
    assert_string_equal(get(x, x->neg), "0");
    assert_string_equal(get(x, x->big), "9223372036854775807");
    assert_string_equal(get(x, x->num), "-9223372036854775808");
    assert_string_equal(get(x, x->status), "123456789012345678");
}

static void
test_json_booleans_as_text(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"ok\":true,\"cached\":false}");
    assert_string_equal(get(x, x->tr), "true");
    assert_string_equal(get(x, x->fl), "false");
}

static void
test_json_null_as_empty(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"parent\":null}");
    assert_string_equal(get(x, x->nul), "");
}

static void
test_json_journald_message_byte_array_decoded(void **state)
{
    static const char want[] = {'H', 'i', ' ', (char)0xff, '\0', '\n', 'A'};
    struct fix *x = *state;
    struct slice v;

    parse_ok(x, "{\"__REALTIME_TIMESTAMP\":\"1777899909123456\","
                "\"MESSAGE\":[72,105,32,255,0,10,65]}");
    v = record_get(&x->r, x->message);
    assert_int_equal(v.len, sizeof(want));
    assert_memory_equal(v.p, want, sizeof(want));
    assert_int_equal(x->r.ts_ms, JOURNALD_MS);
}

static void
test_json_other_arrays_as_compact_json(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"tags\":[ \"a\", 1, true, null ],"
                "\"MESSAGE\":[72, 256],\"none\":[-1, 2]}");
    assert_string_equal(get(x, x->arr), "[\"a\",1,true,null]");
    /* Not all byte values: 256 and -1 are out of range. */
    assert_string_equal(get(x, x->message), "[72,256]");
    assert_string_equal(get(x, x->empty_arr), "[-1,2]");
}

static void
test_json_objects_as_compact_json(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"user\": { \"id\" : 7, \"roles\" : [ \"admin\" ],"
                " \"name\" : \"\\\"q\\\"\" } }");
    assert_string_equal(get(x, x->obj), "{\"id\":7,\"roles\":[\"admin\"],\"name\":\"\\\"q\\\"\"}");
}

/* Parse 'line' with a fresh record over a table of just 'names'. */
static void
parse_fresh(struct table *t, struct record *r, const char *const *names, size_t n, const char *line)
{
    enum diag_reason why = DIAG_NREASONS;
    size_t i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < n; i++)
        add_field(t, names[i]);
    assert_int_equal(record_init(r, t->f, t->n), 0);
    assert_int_equal(record_begin(r, RECORD_JSON, line, strlen(line)), 0);
    assert_int_equal(input_json_parse(r, NULL, 1, &why), 0);
}

static void
test_json_compact_text_longer_than_line(void **state)
{
    static const char *const names[] = {"tags"};
    struct table t;
    struct record r;
    struct slice v;
    char *line, *want;
    size_t n = 0, w = 0, i;

    (void)state;
    line = malloc(8192);
    want = malloc(16384);
    assert_non_null(line);
    assert_non_null(want);
    /* 1e5 is written "100000.0" when re-encoded: the text outgrows the line. */
    n += (size_t)snprintf(line + n, 8192 - n, "{\"ts\":1777899909,\"tags\":[1e5");
    w += (size_t)snprintf(want + w, 16384 - w, "[100000.0");
    for (i = 1; i < 400; i++) {
        n += (size_t)snprintf(line + n, 8192 - n, ",1e5");
        w += (size_t)snprintf(want + w, 16384 - w, ",100000.0");
    }
    snprintf(line + n, 8192 - n, "]}");
    snprintf(want + w, 16384 - w, "]");
    parse_fresh(&t, &r, names, 1, line);
    v = record_get(&r, 0);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.p, want, v.len);
    record_fini(&r);
    table_free(&t);
    free(line);
    free(want);
}

static void
test_json_nested_object_text_at_several_depths(void **state)
{
    static const char *const names[] = {"a", "a.b", "a.b.c"};
    struct table t;
    struct record r;
    struct slice v;
    char *line, *want;
    size_t i;

    (void)state;
    line = malloc(2048);
    want = malloc(2048);
    assert_non_null(line);
    assert_non_null(want);
    memset(want, 'x', 1000);
    want[1000] = '\0';
    snprintf(line, 2048, "{\"ts\":1777899909,\"a\":{\"b\":{\"c\":{\"d\":\"%s\"}}}}", want);
    parse_fresh(&t, &r, names, 3, line);
    /* Each depth is its own compact text, all valid together for the line. */
    for (i = 0; i < 3; i++) {
        static const char *const pre[] = {"{\"b\":{\"c\":{\"d\":\"", "{\"c\":{\"d\":\"",
                                          "{\"d\":\""};
        static const char *const post[] = {"\"}}}", "\"}}", "\"}"};
        size_t lp = strlen(pre[i]), lq = strlen(post[i]);

        v = record_get(&r, i);
        if (v.len != lp + 1000 + lq)
            fail_msg("field '%s': %zu bytes, want %zu", names[i], v.len, lp + 1000 + lq);
        assert_memory_equal(v.p, pre[i], lp);
        assert_memory_equal(v.p + lp, want, 1000);
        assert_memory_equal(v.p + lp + 1000, post[i], lq);
    }
    record_fini(&r);
    table_free(&t);
    free(line);
    free(want);
}

static void
test_json_nul_escape_inside_string(void **state)
{
    struct fix *x = *state;
    struct slice v;

    parse_ok(x, "{\"ts\":1777899909,\"msg\":\"a\\u0000b\"}");
    v = record_get(&x->r, x->msg);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.p, "a\0b", 3);
}

static void
test_json_values_do_not_leak_between_lines(void **state)
{
    struct fix *x = *state;

    parse_ok(x, "{\"ts\":1777899909,\"status\":500}");
    assert_string_equal(get(x, x->status), "500");
    parse_ok(x, "{\"ts\":1777899909}");
    assert_string_equal(get(x, x->status), "");
    parse_ok(x, "{\"ts\":1777899909,\"status\":\"404\"}");
    assert_string_equal(get(x, x->status), "404");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_timestamp_key_order_of_preference),
        cmocka_unit_test(test_json_time_field_flat),
        cmocka_unit_test(test_json_time_field_dotted),
        cmocka_unit_test(test_json_time_field_replaces_standard_keys),
        cmocka_unit_test(test_json_rfc3339_with_fraction_and_offset),
        cmocka_unit_test(test_json_clf_time_string),
        cmocka_unit_test(test_json_epoch_seconds_integer),
        cmocka_unit_test(test_json_epoch_seconds_float),
        cmocka_unit_test(test_json_epoch_milliseconds),
        cmocka_unit_test(test_json_journald_realtime_microseconds),
        cmocka_unit_test(test_json_missing_timestamp_needed),
        cmocka_unit_test(test_json_missing_timestamp_not_needed),
        cmocka_unit_test(test_json_unreadable_timestamp),
        cmocka_unit_test(test_json_present_but_unreadable_key_is_not_skipped),
        cmocka_unit_test(test_json_invalid_json),
        cmocka_unit_test(test_json_array_line_is_not_object),
        cmocka_unit_test(test_json_line_field_is_whole_line),
        cmocka_unit_test(test_json_string_field),
        cmocka_unit_test(test_json_missing_field_is_empty),
        cmocka_unit_test(test_json_dotted_key_reads_nested_object),
        cmocka_unit_test(test_json_flat_dotted_key_takes_precedence),
        cmocka_unit_test(test_json_dotted_key_through_non_object_is_empty),
        cmocka_unit_test(test_json_numbers_as_text),
        cmocka_unit_test(test_json_booleans_as_text),
        cmocka_unit_test(test_json_null_as_empty),
        cmocka_unit_test(test_json_journald_message_byte_array_decoded),
        cmocka_unit_test(test_json_other_arrays_as_compact_json),
        cmocka_unit_test(test_json_objects_as_compact_json),
        cmocka_unit_test(test_json_compact_text_longer_than_line),
        cmocka_unit_test(test_json_nested_object_text_at_several_depths),
        cmocka_unit_test(test_json_nul_escape_inside_string),
        cmocka_unit_test(test_json_values_do_not_leak_between_lines),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
