/*
 * test_amsend.c -- unit tests of the Alertmanager sender (src/amsend.c).
 *
 * Translation of output records into API v2 alerts (labels, annotations,
 * times), endpoint URLs, and delivery to a real HTTP server run here with
 * libmicrohttpd on 127.0.0.1: it records every POST body and answers with
 * the statuses a test gives it. Waits poll for what the server saw, with
 * generous limits; nothing asserts speed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "rarr/amsend.h"
#include "rarr/buf.h"
#include "rarr/clock.h"

#define NOW 1796605320000LL /* 2026-12-07T01:02:00Z */

static const char threshold_firing[] =
    "{\"type\":\"threshold\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":\"firing\","
    "\"rule\":\"login_low\",\"metric\":\"login_success_pct\",\"key\":\"/checkout\","
    "\"rarr\":\"retention\",\"window\":\"5m\",\"value\":42.5,\"threshold\":80,\"op\":\"below\","
    "\"since\":\"2026-12-07T00:57:00.250Z\",\"labels\":{\"severity\":\"page\",\"team\":\"web\"},"
    "\"summary\":\"checkout logins at 42.5%\",\"runbook_url\":\"https://r.example/login\"}\n";

static const char threshold_resolved[] =
    "{\"type\":\"threshold\",\"time\":\"2026-12-07T01:10:00Z\",\"state\":\"resolved\","
    "\"rule\":\"login_low\",\"metric\":\"login_success_pct\",\"key\":\"/checkout\","
    "\"rarr\":\"retention\",\"window\":\"5m\",\"value\":85,\"threshold\":80,\"op\":\"below\","
    "\"since\":\"2026-12-07T00:57:00.250Z\",\"labels\":{\"severity\":\"page\",\"team\":\"web\"},"
    "\"summary\":\"checkout logins at 85%\",\"runbook_url\":\"https://r.example/login\"}";

static const char anomaly_firing[] =
    "{\"type\":\"anomaly\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":\"firing\","
    "\"rule\":\"logins\",\"metric\":\"logins\",\"window\":\"1h\",\"value\":12,"
    "\"expected\":80.123,\"lower\":60,\"upper\":100,\"score\":5.5,\"direction\":\"drop\","
    "\"since\":\"2026-12-07T01:00:00Z\",\"p\":0.001}";

/* The alert for 'rec' at NOW with the default resend; fails the test if there is none. */
static json_t *
alert_of(const char *rec)
{
    json_t *a = amsend_alert(rec, strlen(rec), NOW, 0);

    if (a == NULL)
        fail_msg("no alert for %s", rec);
    return a;
}

/* The string at labels/annotations member 'name' of alert 'a', or NULL. */
static const char *
part(const json_t *a, const char *obj, const char *name)
{
    return json_string_value(json_object_get(json_object_get(a, obj), name));
}

static void
test_amsend_alert_threshold_firing_with_everything(void **state)
{
    json_t *a = alert_of(threshold_firing), *want;
    char ends[RARR_TIME_MAX];

    (void)state;
    want = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "alertname", "login_low", "metric",
                     "login_success_pct", "rarr", "retention", "key", "/checkout", "type",
                     "threshold", "severity", "page", "team", "web");
    assert_true(json_equal(json_object_get(a, "labels"), want));
    assert_string_equal(part(a, "annotations", "summary"), "checkout logins at 42.5%");
    assert_string_equal(part(a, "annotations", "runbook_url"), "https://r.example/login");
    assert_string_equal(part(a, "annotations", "description"),
                        "rarr threshold rule login_low firing: metric login_success_pct, key "
                        "/checkout, category retention, value 42.5, threshold below 80, window "
                        "5m, since 2026-12-07T00:57:00.250Z");
    assert_int_equal(json_object_size(json_object_get(a, "annotations")), 3);
    assert_string_equal(json_string_value(json_object_get(a, "startsAt")),
                        "2026-12-07T00:57:00.250Z");
    clock_format_time(NOW + AMSEND_ENDS_RESENDS * AMSEND_RESEND_MS, ends);
    assert_string_equal(json_string_value(json_object_get(a, "endsAt")), ends);
    assert_int_equal(json_object_size(a), 4);
    json_decref(want);
    json_decref(a);
}

static void
test_amsend_alert_threshold_default_summary(void **state)
{
    static const char rec[] =
        "{\"type\":\"threshold\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":\"firing\","
        "\"rule\":\"r\",\"metric\":\"login_success_pct\",\"key\":\"/checkout\",\"window\":\"5m\","
        "\"value\":42.5123,\"threshold\":80,\"op\":\"below\",\"since\":\"2026-12-07T01:00:00Z\"}";
    json_t *a = alert_of(rec);

    (void)state;
    assert_string_equal(part(a, "annotations", "summary"),
                        "login_success_pct /checkout 42.5 below 80 over 5m");
    assert_null(part(a, "annotations", "runbook_url"));
    json_decref(a);
}

static void
test_amsend_alert_anomaly_default_summary(void **state)
{
    json_t *a = alert_of(anomaly_firing);
    const char *d;

    (void)state;
    assert_string_equal(part(a, "annotations", "summary"),
                        "logins dropped to 12, expected 80.1 (60\xe2\x80\x93"
                        "100) over 1h");
    d = part(a, "annotations", "description");
    assert_non_null(strstr(d, "score 5.5"));
    assert_non_null(strstr(d, "p 0.001"));
    assert_non_null(strstr(d, "direction drop"));
    assert_string_equal(part(a, "labels", "type"), "anomaly");
    assert_null(part(a, "labels", "key"));
    assert_null(part(a, "labels", "rarr"));
    json_decref(a);
}

static void
test_amsend_alert_resolved_ends_at_record_time(void **state)
{
    json_t *a = alert_of(threshold_resolved);

    (void)state;
    assert_string_equal(json_string_value(json_object_get(a, "endsAt")), "2026-12-07T01:10:00Z");
    assert_string_equal(json_string_value(json_object_get(a, "startsAt")),
                        "2026-12-07T00:57:00.250Z");
    json_decref(a);
}

static void
test_amsend_alert_retired_record(void **state)
{
    static const char rec[] =
        "{\"type\":\"threshold\",\"time\":\"2026-12-07T02:00:00Z\",\"state\":\"resolved\","
        "\"rule\":\"login_low\",\"metric\":\"login_success_pct\",\"window\":\"5m\","
        "\"since\":\"2026-12-07T00:57:00Z\",\"reason\":\"rule removed\","
        "\"labels\":{\"severity\":\"page\"}}";
    json_t *a = alert_of(rec);

    (void)state;
    assert_string_equal(part(a, "annotations", "summary"),
                        "login_success_pct resolved (rule removed)");
    assert_string_equal(part(a, "labels", "severity"), "page");
    assert_string_equal(part(a, "labels", "alertname"), "login_low");
    assert_string_equal(json_string_value(json_object_get(a, "endsAt")), "2026-12-07T02:00:00Z");
    json_decref(a);
}

static void
test_amsend_alert_null_numbers(void **state)
{
    static const char rec[] =
        "{\"type\":\"anomaly\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":\"firing\","
        "\"rule\":\"logins\",\"metric\":\"logins\",\"window\":\"1h\",\"value\":null,"
        "\"expected\":null,\"lower\":null,\"upper\":null,\"score\":null,\"direction\":\"spike\","
        "\"since\":\"2026-12-07T01:00:00Z\",\"p\":null}";
    static const char thr[] =
        "{\"type\":\"threshold\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":\"resolved\","
        "\"rule\":\"r\",\"metric\":\"m\",\"window\":\"5m\",\"value\":null,\"threshold\":null,"
        "\"op\":\"above\",\"since\":\"2026-12-07T01:00:00Z\"}";
    json_t *a = alert_of(rec), *b = alert_of(thr);

    (void)state;
    assert_string_equal(part(a, "annotations", "summary"), "logins spiked over 1h");
    assert_null(strstr(part(a, "annotations", "description"), "null"));
    assert_string_equal(part(b, "annotations", "summary"), "m resolved");
    json_decref(a);
    json_decref(b);
}

static void
test_amsend_alert_other_records_are_ignored(void **state)
{
    static const char *const recs[] = {
        "{\"type\":\"metric\",\"time\":\"2026-12-07T01:02:00Z\",\"metric\":\"m\",\"value\":1}",
        "{\"type\":\"input\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":\"firing\"}",
        "{\"type\":\"threshold\",\"state\":\"firing\",\"rule\":\"r\"", /* cut short */
        "{\"type\":\"threshold\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":\"firing\"}",
        "{\"type\":\"threshold\",\"time\":\"yesterday\",\"state\":\"firing\",\"rule\":\"r\"}",
        "{\"state\":\"firing\",\"time\":\"2026-12-07T01:02:00Z\",\"rule\":\"r\"}",
        ("{\"type\":\"anomaly\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":\"pending\","
         "\"rule\":\"r\"}"),
        "[1,2]",
        "garbage",
        "",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
        if (amsend_alert(recs[i], strlen(recs[i]), NOW, 0) != NULL)
            fail_msg("an alert for %s", recs[i]);
}

static void
test_amsend_alert_rule_label_cannot_override_own(void **state)
{
    static const char rec[] =
        "{\"type\":\"threshold\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":\"firing\","
        "\"rule\":\"r\",\"metric\":\"m\",\"key\":\"\",\"window\":\"5m\",\"value\":1,"
        "\"threshold\":0,\"op\":\"above\",\"since\":\"2026-12-07T01:00:00Z\",\"labels\":"
        "{\"alertname\":\"x\",\"metric\":\"y\",\"type\":\"z\",\"key\":\"k\",\"empty\":\"\"}}";
    json_t *a = alert_of(rec);

    (void)state;
    assert_string_equal(part(a, "labels", "alertname"), "r");
    assert_string_equal(part(a, "labels", "metric"), "m");
    assert_string_equal(part(a, "labels", "type"), "threshold");
    /* An empty key is no label, and the rule's cannot take its name. */
    assert_null(part(a, "labels", "key"));
    assert_null(part(a, "labels", "empty"));
    json_decref(a);
}

/* amsend_url of 'in' must succeed and give 'want'. */
static void
url_gives(const char *in, const char *want)
{
    char out[256], err[256];

    if (amsend_url(in, out, sizeof(out), err, sizeof(err)) != 0)
        fail_msg("%s: %s", in, err);
    assert_string_equal(out, want);
}

static void
test_amsend_url_endpoints(void **state)
{
    char out[256], err[256];

    (void)state;
    url_gives("http://h:9093", "http://h:9093/api/v2/alerts");
    url_gives("http://h:9093/", "http://h:9093/api/v2/alerts");
    url_gives("http://h/am/", "http://h/am/api/v2/alerts");
    url_gives("https://h/am", "https://h/am/api/v2/alerts");
    url_gives("http://h:9093/api/v2/alerts", "http://h:9093/api/v2/alerts");
    url_gives("http://h:9093/api/v2/alerts/", "http://h:9093/api/v2/alerts");
    assert_int_equal(amsend_url("ftp://h/x", out, sizeof(out), err, sizeof(err)), -1);
    assert_string_equal(err, "expected an http:// or https:// URL, got 'ftp://h/x'");
    assert_int_equal(amsend_url("not a url", out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "expected an http:// or https:// URL"));
    assert_int_equal(amsend_url("h:9093", out, sizeof(out), err, sizeof(err)), -1);
    assert_int_equal(amsend_url("http://", out, sizeof(out), err, sizeof(err)), -1);
    assert_int_equal(amsend_url("http://h:9093", out, 10, err, sizeof(err)), -1);
}

/* The test's Alertmanager: records POST bodies, answers from a script of statuses. */
struct server {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t mu;
    json_t *bodies;      /* every POST body, parsed (null if it was not JSON) */
    unsigned answers[8]; /* the statuses of the first POSTs; 0 and after: 200 */
    unsigned posts;
};

static enum MHD_Result
server_answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
              const char *version, const char *data, size_t *size, void **con_cls)
{
    struct server *s = cls;
    struct buf *b = *con_cls;
    struct MHD_Response *r;
    enum MHD_Result ret;
    unsigned status = 200;

    (void)version;
    if (b == NULL) {
        if ((b = calloc(1, sizeof(*b))) == NULL)
            return MHD_NO;
        buf_init(b);
        *con_cls = b;
        return MHD_YES;
    }
    if (*size > 0) {
        buf_add(b, data, *size);
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    if (strcmp(method, "POST") != 0 || strcmp(url, "/api/v2/alerts") != 0)
        status = 404;
    else if (s->posts < 8 && s->answers[s->posts] != 0)
        status = s->answers[s->posts];
    s->posts++;
    if (status == 200)
        json_array_append_new(s->bodies, json_loadb(buf_cstr(b), b->len, 0, NULL));
    pthread_mutex_unlock(&s->mu);
    r = MHD_create_response_from_buffer(9, (void *)"no, sorry", MHD_RESPMEM_PERSISTENT);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void
server_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    struct buf *b = *con_cls;

    (void)cls, (void)c, (void)t;
    if (b != NULL) {
        buf_fini(b);
        free(b);
    }
    *con_cls = NULL;
}

static struct server *
server_start(void)
{
    struct server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sin;

    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    s->bodies = json_array();
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                            server_answer, s, MHD_OPTION_NOTIFY_COMPLETED, server_done, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_END);
    assert_non_null(s->d);
    s->port = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return s;
}

static void
server_stop(struct server *s)
{
    MHD_stop_daemon(s->d);
    json_decref(s->bodies);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* The server's URL, as given to --alertmanager. */
static void
server_url(const struct server *s, char *out, size_t len)
{
    snprintf(out, len, "http://127.0.0.1:%u", s->port);
}

/* Sleep 'ms' milliseconds. */
static void
nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* How many bodies the server kept, and how many POSTs it answered (*posts). */
static size_t
server_count(struct server *s, unsigned *posts)
{
    size_t n;

    pthread_mutex_lock(&s->mu);
    n = json_array_size(s->bodies);
    if (posts != NULL)
        *posts = s->posts;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Wait (up to 10 s) until the server kept 'n' bodies; a copy of the last, or NULL. */
static json_t *
server_wait(struct server *s, size_t n)
{
    json_t *last = NULL;
    int i;

    for (i = 0; i < 1000 && last == NULL; i++) {
        pthread_mutex_lock(&s->mu);
        if (json_array_size(s->bodies) >= n)
            last = json_deep_copy(json_array_get(s->bodies, n - 1));
        pthread_mutex_unlock(&s->mu);
        if (last == NULL)
            nap(10);
    }
    if (last == NULL)
        fail_msg("the server did not get %zu bodies", n);
    return last;
}

/* A sender to the servers' URLs (or to 'url' if given), telling 'log'. */
static struct amsend *
sender(struct server **s, size_t n, const char *url, int64_t resend_ms, FILE *log)
{
    struct amsend_opts opt = {resend_ms, 2000, log};
    char urls[4][64], err[256];
    const char *u[4];
    struct amsend *am;
    size_t i;

    for (i = 0; i < n; i++) {
        if (url != NULL)
            snprintf(urls[i], sizeof(urls[i]), "%s", url);
        else
            server_url(s[i], urls[i], sizeof(urls[i]));
        u[i] = urls[i];
    }
    if ((am = amsend_new(u, n, &opt, err, sizeof(err))) == NULL)
        fail_msg("amsend_new: %s", err);
    return am;
}

static void
test_amsend_delivers_firing_then_resends_then_resolved(void **state)
{
    struct server *s = server_start();
    struct amsend *am = sender(&s, 1, NULL, 200, NULL);
    struct amsend_stats st;
    json_t *b1, *b2, *b3;
    const char *e1, *e2;

    (void)state;
    assert_int_equal(amsend_record(am, threshold_firing, strlen(threshold_firing)), 0);
    b1 = server_wait(s, 1);
    assert_int_equal(json_array_size(b1), 1);
    assert_string_equal(part(json_array_get(b1, 0), "labels", "alertname"), "login_low");
    /* Re-sent after resend_ms, with an endsAt as far ahead of a later now. */
    b2 = server_wait(s, 2);
    e1 = json_string_value(json_object_get(json_array_get(b1, 0), "endsAt"));
    e2 = json_string_value(json_object_get(json_array_get(b2, 0), "endsAt"));
    assert_true(strcmp(e2, e1) > 0);
    assert_int_equal(amsend_record(am, threshold_resolved, strlen(threshold_resolved)), 0);
    for (;;) { /* resends may come first */
        b3 = server_wait(s, server_count(s, NULL) + 1);
        if (strcmp(json_string_value(json_object_get(json_array_get(b3, 0), "endsAt")),
                   "2026-12-07T01:10:00Z") == 0)
            break;
        json_decref(b3);
    }
    amsend_stop(am, 1000);
    amsend_stats(am, &st);
    assert_int_equal(st.alerts, 2);
    assert_true(st.posts >= 3);
    assert_int_equal(st.undelivered, 0);
    assert_int_equal(st.failures, 0);
    json_decref(b1);
    json_decref(b2);
    json_decref(b3);
    amsend_free(am);
    server_stop(s);
}

static void
test_amsend_retries_after_503(void **state)
{
    struct server *s = server_start();
    struct amsend *am;
    struct amsend_stats st;
    char *text, want[512];
    size_t len;
    FILE *log;
    json_t *b;
    int i;

    (void)state;
    s->answers[0] = 503;
    s->answers[1] = 503;
    assert_non_null(log = open_memstream(&text, &len));
    am = sender(&s, 1, NULL, 60000, log);
    amsend_record(am, anomaly_firing, strlen(anomaly_firing));
    b = server_wait(s, 1);
    assert_string_equal(part(json_array_get(b, 0), "labels", "alertname"), "logins");
    /* The sender counts the post once its answer is read: after the server has the body. */
    for (i = 0; i < 500; i++) {
        amsend_stats(am, &st);
        if (st.alerts > 0)
            break;
        nap(10);
    }
    assert_int_equal(st.failures, 2);
    assert_int_equal(st.alerts, 1);
    assert_int_equal(st.posts, 1);
    amsend_stop(am, 1000);
    amsend_stats(am, &st);
    assert_int_equal(st.undelivered, 0);
    fclose(log);
    snprintf(want, sizeof(want),
             "rarr: alertmanager http://127.0.0.1:%u/api/v2/alerts: HTTP 503: no, sorry; alerts "
             "are held and retried\n"
             "rarr: alertmanager http://127.0.0.1:%u/api/v2/alerts: delivered again after 2 "
             "failed attempts\n",
             s->port, s->port);
    assert_string_equal(text, want);
    free(text);
    json_decref(b);
    amsend_free(am);
    server_stop(s);
}

static void
test_amsend_refused_batch_is_not_retried(void **state)
{
    struct server *s = server_start();
    struct amsend *am;
    struct amsend_stats st;
    unsigned posts;
    char *text, want[512];
    size_t len;
    FILE *log;
    int i;

    (void)state;
    s->answers[0] = 400;
    assert_non_null(log = open_memstream(&text, &len));
    am = sender(&s, 1, NULL, 60000, log);
    amsend_record(am, anomaly_firing, strlen(anomaly_firing));
    for (i = 0; i < 1000; i++) {
        amsend_stats(am, &st);
        if (st.failures > 0)
            break;
        nap(10);
    }
    nap(600); /* a retry would have come after 250 ms */
    amsend_stop(am, 1000);
    amsend_stats(am, &st);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.undelivered, 1);
    assert_int_equal(st.posts, 0);
    server_count(s, &posts);
    assert_int_equal(posts, 1);
    fclose(log);
    snprintf(want, sizeof(want),
             "rarr: alertmanager http://127.0.0.1:%u/api/v2/alerts: 1 alerts refused: HTTP 400: "
             "no, sorry\n"
             "rarr: alertmanager: 1 alert notifications could not be delivered\n",
             s->port);
    assert_string_equal(text, want);
    free(text);
    amsend_free(am);
    server_stop(s);
}

static void
test_amsend_no_server_counts_undelivered_at_stop(void **state)
{
    struct server *s = server_start();
    char url[64];
    struct amsend *am;
    struct amsend_stats st;
    char *text;
    size_t len;
    FILE *log;
    int64_t t0;

    (void)state;
    /* A port nobody listens on: the server's, once it is gone. */
    server_url(s, url, sizeof(url));
    server_stop(s);
    assert_non_null(log = open_memstream(&text, &len));
    am = sender(NULL, 1, url, 60000, log);
    amsend_record(am, threshold_firing, strlen(threshold_firing));
    amsend_record(am, anomaly_firing, strlen(anomaly_firing));
    nap(100);
    t0 = clock_mono_ms();
    amsend_stop(am, 300);
    assert_true(clock_mono_ms() - t0 < 300 + 2000 + 1500);
    amsend_stats(am, &st);
    assert_int_equal(st.undelivered, 2);
    assert_true(st.failures >= 1);
    assert_int_equal(st.posts, 0);
    amsend_free(am);
    fclose(log);
    /* One failure told, however many attempts; then the count at stop. */
    assert_non_null(strstr(text, "; alerts are held and retried\n"));
    assert_null(strstr(strstr(text, "retried\n") + 1, "retried"));
    assert_non_null(strstr(text, "rarr: alertmanager: 2 alert notifications could not be "
                                 "delivered\n"));
    free(text);
}

static void
test_amsend_superseded_and_dropped_are_undelivered(void **state)
{
    struct server *s = server_start();
    char url[64], rec[512], *text;
    struct amsend *am;
    struct amsend_stats st;
    size_t len;
    FILE *log;
    int i;

    (void)state;
    server_url(s, url, sizeof(url));
    server_stop(s);
    assert_non_null(log = open_memstream(&text, &len));
    am = sender(NULL, 1, url, 60000, log);
    /* The firing state never reached the dead Alertmanager before it resolved. */
    amsend_record(am, threshold_firing, strlen(threshold_firing));
    amsend_record(am, threshold_resolved, strlen(threshold_resolved));
    amsend_stats(am, &st);
    assert_true(st.undelivered <= 1);
    /* One table full of other alerts, and one more that does not fit. */
    for (i = 0; i < AMSEND_MAX_ALERTS; i++) {
        snprintf(rec, sizeof(rec),
                 "{\"type\":\"anomaly\",\"time\":\"2026-12-07T01:02:00Z\",\"state\":"
                 "\"firing\",\"rule\":\"r\",\"metric\":\"m\",\"key\":\"k%d\"}",
                 i);
        assert_int_equal(amsend_record(am, rec, strlen(rec)), 0);
    }
    amsend_stop(am, 0);
    amsend_stats(am, &st);
    assert_int_equal(st.undelivered, 2 + AMSEND_MAX_ALERTS);
    amsend_free(am);
    fclose(log);
    assert_non_null(strstr(text, "rarr: alertmanager: 10000 alerts held, the most there can be; "
                                 "new alerts are dropped\n"));
    assert_non_null(strstr(text, "rarr: alertmanager: 10002 alert notifications could not be "
                                 "delivered\n"));
    free(text);
}

static void
test_amsend_two_urls_both_receive(void **state)
{
    struct server *s[2] = {server_start(), server_start()};
    struct amsend *am = sender(s, 2, NULL, 60000, NULL);
    struct amsend_stats st;
    json_t *b0, *b1;

    (void)state;
    amsend_record(am, threshold_firing, strlen(threshold_firing));
    b0 = server_wait(s[0], 1);
    b1 = server_wait(s[1], 1);
    assert_true(json_equal(json_object_get(json_array_get(b0, 0), "labels"),
                           json_object_get(json_array_get(b1, 0), "labels")));
    amsend_stop(am, 1000);
    amsend_stats(am, &st);
    assert_int_equal(st.alerts, 2);
    json_decref(b0);
    json_decref(b1);
    amsend_free(am);
    server_stop(s[0]);
    server_stop(s[1]);
}

static void
test_amsend_new_refuses_bad_url(void **state)
{
    const char *urls[] = {"http://127.0.0.1:1", "ftp://h"};
    char err[256];

    (void)state;
    assert_null(amsend_new(urls, 2, NULL, err, sizeof(err)));
    assert_string_equal(err, "expected an http:// or https:// URL, got 'ftp://h'");
    assert_null(amsend_new(urls, 0, NULL, err, sizeof(err)));
    amsend_free(NULL);
}

/* A firing record's "related" metrics reach the description. */
static void
test_amsend_alert_description_names_related(void **state)
{
    json_t *a = alert_of(
        "{\"type\":\"threshold\",\"time\":\"2026-05-04T14:16:00Z\",\"state\":\"firing\","
        "\"rule\":\"r\",\"metric\":\"login_success\",\"window\":\"15m\",\"value\":14.8,"
        "\"threshold\":50,\"op\":\"below\",\"since\":\"2026-05-04T14:11:00Z\",\"related\":["
        "{\"metric\":\"dashboard_views\",\"value\":4,\"usual\":16.25,\"change\":-0.754},"
        "{\"metric\":\"login_views\",\"value\":27,\"usual\":17,\"change\":0.588}]}");

    (void)state;
    assert_non_null(strstr(part(a, "annotations", "description"),
                           "; related: dashboard_views 4 (usual 16.2, -75.4%), login_views 27 "
                           "(usual 17, 58.8%)"));
    json_decref(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amsend_alert_threshold_firing_with_everything),
        cmocka_unit_test(test_amsend_alert_threshold_default_summary),
        cmocka_unit_test(test_amsend_alert_anomaly_default_summary),
        cmocka_unit_test(test_amsend_alert_resolved_ends_at_record_time),
        cmocka_unit_test(test_amsend_alert_retired_record),
        cmocka_unit_test(test_amsend_alert_null_numbers),
        cmocka_unit_test(test_amsend_alert_other_records_are_ignored),
        cmocka_unit_test(test_amsend_alert_rule_label_cannot_override_own),
        cmocka_unit_test(test_amsend_alert_description_names_related),
        cmocka_unit_test(test_amsend_url_endpoints),
        cmocka_unit_test(test_amsend_delivers_firing_then_resends_then_resolved),
        cmocka_unit_test(test_amsend_retries_after_503),
        cmocka_unit_test(test_amsend_refused_batch_is_not_retried),
        cmocka_unit_test(test_amsend_no_server_counts_undelivered_at_stop),
        cmocka_unit_test(test_amsend_superseded_and_dropped_are_undelivered),
        cmocka_unit_test(test_amsend_two_urls_both_receive),
        cmocka_unit_test(test_amsend_new_refuses_bad_url),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
