/*
 * test_prom.c -- unit tests of the Prometheus text (src/prom.c) and of the
 * emit tap that feeds the Alertmanager sender (src/emit.c).
 *
 * Label values: escaping, invalid UTF-8, the 128-byte bound and the hash
 * mark. The exposition of a small pipeline fed JSON events: the counters
 * per metric and per key, the last step's values, the alert states with the
 * rule's labels, a key spelled like __other__ kept apart. The tap: every
 * event record reaches it, and with events_out 0 none reaches the output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rarr/buf.h"
#include "rarr/emit.h"
#include "rarr/pipeline.h"
#include "rarr/prom.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

/* prom_label_value of 's' ('len' bytes), or with 'key' prom_key_value for slot 'slot' (static). */
static const char *
label_of(const char *s, size_t len, int key, size_t slot, int twin)
{
    static char out[1024];
    struct buf b;

    buf_init(&b);
    if (key)
        assert_int_equal(prom_key_value(&b, s, len, slot, twin), 0);
    else
        assert_int_equal(prom_label_value(&b, s, len), 0);
    assert_true(b.len < sizeof(out));
    memcpy(out, b.p, b.len);
    out[b.len] = '\0';
    buf_fini(&b);
    return out;
}

static void
test_prom_label_escapes(void **state)
{
    (void)state;
    assert_string_equal(label_of("/login", 6, 0, 0, 0), "\"/login\"");
    assert_string_equal(label_of("a\"b\\c\nd", 7, 0, 0, 0), "\"a\\\"b\\\\c\\nd\"");
    assert_string_equal(label_of("caf\xc3\xa9", 5, 0, 0, 0), "\"caf\xc3\xa9\"");
    assert_string_equal(label_of("", 0, 0, 0, 0), "\"\"");
    /* Rule text is never cut or marked. */
    assert_string_equal(label_of("a\xff", 2, 0, 0, 0), "\"a\xef\xbf\xbd\"");
    /* A key as it is, when nothing had to change. */
    assert_string_equal(label_of("/login", 6, 1, 7, 0), "\"/login\"");
}

static void
test_prom_key_marks_changed_and_long_values(void **state)
{
    char long_key[300];
    const char *a;

    (void)state;
    /* Invalid UTF-8: replaced, and marked with the slot, so "a\xff" and "a\xfe" stay apart. */
    assert_string_equal(label_of("a\xff", 2, 1, 3, 0), "\"a\xef\xbf\xbd~00000003\"");
    assert_string_equal(label_of("a\xfe", 2, 1, 4, 0), "\"a\xef\xbf\xbd~00000004\"");
    /* A key that ends as a mark does is marked too: it cannot pose as another key's. */
    assert_string_equal(label_of("a\xef\xbf\xbd~00000003", 13, 1, 9, 0),
                        "\"a\xef\xbf\xbd~00000003~00000009\"");
    /* A twin of __other__. */
    assert_string_equal(label_of("__other__", 9, 1, 5, 1), "\"__other__~00000005\"");
    /* Cut to PROM_LABEL_MAX bytes, marked. */
    memset(long_key, 'k', sizeof(long_key));
    a = label_of(long_key, sizeof(long_key), 1, 0x2a, 0);
    assert_int_equal(strlen(a), 1 + PROM_LABEL_MAX + 9 + 1);
    assert_string_equal(a + 1 + PROM_LABEL_MAX, "~0000002a\"");
    /* A multi-byte character is not cut in the middle. */
    memcpy(long_key + PROM_LABEL_MAX - 1, "\xc3\xa9", 2);
    a = label_of(long_key, sizeof(long_key), 1, 1, 0);
    assert_int_equal(a[PROM_LABEL_MAX], '~');
}

/* A pipeline over rules 'rules' fed JSON events, writing to 'fd' (-1: /dev/null). */
struct run {
    struct ruleset *rs;
    struct emit em;
    struct pipeline *p;
    uint64_t lineno;
    struct buf text;
    int devnull;
};

static void
run_start(struct run *r, const char *rules, int fd)
{
    struct pipeline_opts opt;
    struct diag d;

    memset(r, 0, sizeof(*r));
    memset(&d, 0, sizeof(d));
    r->rs = rules_new();
    assert_non_null(r->rs);
    if (rules_parse(r->rs, "t.rarr", rules, strlen(rules), &d) != 0 ||
        rules_finish(r->rs, 60000, &d) != 0)
        fail_msg("rules: %s:%u:%u: %s", d.file, d.line, d.col, d.msg);
    r->devnull = fd < 0 ? open("/dev/null", O_WRONLY) : -1;
    emit_init(&r->em, fd < 0 ? r->devnull : fd);
    memset(&opt, 0, sizeof(opt));
    opt.format = RECORD_JSON;
    opt.clock = PIPELINE_EVENT;
    opt.clock_given = 1;
    opt.step_ms = 60000;
    opt.emit_alerts = 1;
    opt.time_field = SIZE_MAX;
    r->p = pipeline_new(r->rs, &opt, &r->em, &d);
    assert_non_null(r->p);
    buf_init(&r->text);
}

static void
run_event(struct run *r, const char *hms, const char *path, int status)
{
    char line[256];

    snprintf(line, sizeof(line), "{\"ts\":\"2026-05-04T%sZ\",\"path\":\"%s\",\"status\":%d}", hms,
             path, status);
    assert_int_equal(pipeline_line(r->p, "test", ++r->lineno, line, strlen(line)), 0);
}

/* The exposition as a C string (borrowed until the next call). */
static const char *
run_text(struct run *r)
{
    r->text.len = 0;
    assert_int_equal(prom_render(&r->text, r->p), 0);
    return buf_cstr(&r->text);
}

static void
run_end(struct run *r)
{
    pipeline_free(r->p);
    emit_fini(&r->em);
    rules_free(r->rs);
    buf_fini(&r->text);
    if (r->devnull >= 0)
        close(r->devnull);
}

static const char rules[] = "metric logins rarr=retention path~'^/login'\n"
                            "metric errors by=path max_keys=2 status~'^5'\n"
                            "alert logins above=2 window=1m name=logins_high label.severity=page\n";

static void
test_prom_counts_values_and_alerts(void **state)
{
    struct run r;
    const char *t;

    (void)state;
    run_start(&r, rules, -1);
    run_event(&r, "10:00:01", "/login", 200);
    run_event(&r, "10:00:02", "/login", 200);
    run_event(&r, "10:00:03", "/login", 503);
    run_event(&r, "10:00:04", "__other__", 500);
    run_event(&r, "10:00:05", "/b", 500);
    run_event(&r, "10:00:06", "/c", 500); /* past max_keys=2: __other__ */
    t = run_text(&r);
    assert_non_null(strstr(t, "rarr_lines_total 6\n"));
    assert_non_null(strstr(t, "rarr_matches_total{metric=\"logins\",rarr=\"retention\"} 3\n"));
    /* Per key, pending steps included; a real key spelled __other__ is marked. */
    assert_non_null(strstr(t, "rarr_matches_total{metric=\"errors\",key=\"/login\"} 1\n"));
    assert_non_null(strstr(t, "rarr_matches_total{metric=\"errors\",key=\"__other__~0000000"));
    assert_non_null(strstr(t, "rarr_matches_total{metric=\"errors\",key=\"__other__\"} 2\n"));
    assert_null(strstr(t, "rarr_metric_value{")); /* no step evaluated yet */
    assert_non_null(strstr(t, "rarr_alert_firing{alertname=\"logins_high\",metric=\"logins\","
                              "rarr=\"retention\",type=\"threshold\",severity=\"page\"} 0\n"));
    run_event(&r, "10:20:00", "/x", 200);
    assert_int_equal(pipeline_finish(r.p), 0);
    t = run_text(&r);
    assert_non_null(strstr(t, "rarr_alert_firing{alertname=\"logins_high\",metric=\"logins\","
                              "rarr=\"retention\",type=\"threshold\",severity=\"page\"} 0\n"));
    assert_non_null(strstr(t, "rarr_metric_value{metric=\"logins\",rarr=\"retention\"} 0\n"));
    assert_non_null(strstr(t, "rarr_step_end_seconds 1777890000.000\n"));
    assert_non_null(strstr(t, "# TYPE rarr_matches_total counter\n"));
    run_end(&r);
}

static void
test_prom_alert_firing_is_one(void **state)
{
    struct run r;

    (void)state;
    run_start(&r, rules, -1);
    run_event(&r, "10:00:01", "/login", 200);
    run_event(&r, "10:00:02", "/login", 200);
    run_event(&r, "10:00:03", "/login", 200);
    run_event(&r, "10:01:30", "/x", 200);
    assert_int_equal(pipeline_finish(r.p), 0);
    assert_non_null(strstr(run_text(&r), "type=\"threshold\",severity=\"page\"} 1\n"));
    assert_non_null(
        strstr(run_text(&r), "rarr_metric_value{metric=\"logins\",rarr=\"retention\"} 3\n"));
    run_end(&r);
}

/* The tap's view: every record it was given, concatenated. */
static int
tap(void *arg, const char *rec, size_t len, int quiet)
{
    (void)quiet;
    return buf_add(arg, rec, len);
}

static void
test_emit_tap_gets_events_without_output(void **state)
{
    char path[] = "/tmp/rarr-test-prom-XXXXXX";
    struct buf seen;
    struct run r;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    unlink(path);
    buf_init(&seen);
    run_start(&r, rules, fd);
    r.em.tap = tap;
    r.em.tap_arg = &seen;
    r.em.events_out = 0;
    run_event(&r, "10:00:01", "/login", 200);
    run_event(&r, "10:00:02", "/login", 200);
    run_event(&r, "10:00:03", "/login", 200);
    run_event(&r, "10:01:30", "/x", 200);
    assert_int_equal(pipeline_finish(r.p), 0);
    assert_non_null(strstr(buf_cstr(&seen),
                           "{\"type\":\"threshold\",\"time\":\"2026-05-04T10:01:00Z\","
                           "\"state\":\"firing\",\"rule\":\"logins_high\""));
    assert_non_null(strstr(buf_cstr(&seen), "\"labels\":{\"severity\":\"page\"}}\n"));
    assert_int_equal(lseek(fd, 0, SEEK_END), 0);
    assert_int_equal(r.em.events, 0);
    run_end(&r);
    buf_fini(&seen);
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_label_escapes),
        cmocka_unit_test(test_prom_key_marks_changed_and_long_values),
        cmocka_unit_test(test_prom_counts_values_and_alerts),
        cmocka_unit_test(test_prom_alert_firing_is_one),
        cmocka_unit_test(test_emit_tap_gets_events_without_output),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
