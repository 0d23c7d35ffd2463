/*
 * test_serve.c -- unit tests of the --listen HTTP server (src/serve.c), with
 * libcurl as the client over loopback.
 *
 * A spec binds where it says (loopback unless asked otherwise), a bad one
 * or a taken port is refused with a message; /metrics serves the last text
 * published, whole; /healthz and / answer GET and HEAD; other methods get
 * 405 with Allow, other paths 404.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "rarr/serve.h"

#define BODY_MAX (1 << 20)

/* What one request got back. */
struct reply {
    long status;
    char body[BODY_MAX];
    size_t len;
    char type[128]; /* Content-Type */
    char allow[64]; /* Allow */
    curl_off_t content_length;
};

static size_t
on_body(char *p, size_t size, size_t n, void *cls)
{
    struct reply *r = cls;
    size_t len = size * n;

    if (r->len + len > BODY_MAX)
        return 0;
    memcpy(r->body + r->len, p, len);
    r->len += len;
    return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *cls)
{
    struct reply *r = cls;
    size_t len = size * n, vlen;

    if (len > 7 && strncmp(p, "Allow: ", 7) == 0) {
        vlen = len - 7;
        while (vlen > 0 && (p[7 + vlen - 1] == '\r' || p[7 + vlen - 1] == '\n'))
            vlen--;
        if (vlen < sizeof(r->allow)) {
            memcpy(r->allow, p + 7, vlen);
            r->allow[vlen] = '\0';
        }
    }
    return len;
}

/*
 * Send 'method' for 'path' to 127.0.0.1:'port' (a POST with a small body)
 * and fill 'r'. Returns curl's result.
 */
static CURLcode
request(unsigned port, const char *method, const char *path, struct reply *r)
{
    char url[256];
    char *type = NULL;
    CURL *c;
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "a=1&b=2");
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    if (type != NULL)
        snprintf(r->type, sizeof(r->type), "%s", type);
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->content_length);
    curl_easy_cleanup(c);
    return rc;
}

/* A server on an ephemeral loopback port; fails the test when it cannot start. */
static struct serve *
start(const char *spec)
{
    char err[256] = "";
    struct serve *srv = serve_start(spec, err, sizeof(err));

    if (srv == NULL)
        fail_msg("serve_start(%s): %s", spec, err);
    return srv;
}

/* The address starts with 'prefix' and ends with the port bound. */
static void
assert_address(const struct serve *srv, const char *prefix)
{
    char want[128];

    assert_true(serve_port(srv) > 0 && serve_port(srv) <= 65535);
    snprintf(want, sizeof(want), "%s:%u", prefix, serve_port(srv));
    assert_string_equal(serve_address(srv), want);
}

static void
test_serve_port_alone_binds_loopback(void **state)
{
    struct serve *srv = start("0");

    (void)state;
    assert_address(srv, "127.0.0.1");
    serve_stop(srv);
}

static void
test_serve_parses_addresses(void **state)
{
    struct serve *srv;

    (void)state;
    srv = start("127.0.0.1:0");
    assert_address(srv, "127.0.0.1");
    serve_stop(srv);
    srv = start("localhost:0");
    assert_address(srv, "127.0.0.1");
    serve_stop(srv);
    srv = start(":0");
    assert_address(srv, "0.0.0.0");
    serve_stop(srv);
}

static void
test_serve_parses_ipv6(void **state)
{
    char err[256] = "";
    struct serve *srv;

    (void)state;
    srv = serve_start("[::1]:0", err, sizeof(err));
    /* A host without IPv6 loopback refuses the bind, not the spec. */
    if (srv == NULL) {
        assert_null(strstr(err, "expected"));
        return;
    }
    assert_address(srv, "[::1]");
    serve_stop(srv);
}

static void
test_serve_rejects_bad_specs(void **state)
{
    static const char *bad[] = {"",
                                "x",
                                "65536",
                                "-1",
                                "80 ",
                                "0x50",
                                "127.0.0.1:",
                                "1.2.3:80",
                                "host:80",
                                "::1:80",
                                "[::1]",
                                "[zz]:1",
                                "[]:80",
                                "1:2:3",
                                "99999999999999999999",
                                "127.0.0.1:+80"};
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (serve_start(bad[i], err, sizeof(err)) != NULL)
            fail_msg("'%s' was accepted", bad[i]);
        if (strncmp(err, "expected ", 9) != 0)
            fail_msg("'%s': %s", bad[i], err);
    }
}

static void
test_serve_names_the_spec_in_its_message(void **state)
{
    char err[256];

    (void)state;
    assert_null(serve_start("x", err, sizeof(err)));
    assert_string_equal(err, "expected [ADDR:]PORT with a PORT from 0 to 65535, got 'x'");
    assert_null(serve_start("web:80", err, sizeof(err)));
    assert_string_equal(
        err, "expected an IPv4 address, localhost or [IPv6] before ':PORT', got 'web:80'");
    assert_null(serve_start("\033[2J", err, sizeof(err)));
    assert_string_equal(err, "expected [ADDR:]PORT with a PORT from 0 to 65535, got '?[2J'");
}

static void
test_serve_reports_a_taken_port(void **state)
{
    struct serve *srv = start("127.0.0.1:0");
    char spec[64], err[256], want[128];

    (void)state;
    snprintf(spec, sizeof(spec), "%u", serve_port(srv));
    assert_null(serve_start(spec, err, sizeof(err)));
    snprintf(want, sizeof(want), "127.0.0.1:%u: Address already in use", serve_port(srv));
    assert_string_equal(err, want);
    snprintf(spec, sizeof(spec), "localhost:%u", serve_port(srv));
    assert_null(serve_start(spec, err, sizeof(err)));
    snprintf(want, sizeof(want), "127.0.0.1:%u: Address already in use", serve_port(srv));
    assert_string_equal(err, want);
    /* 192.0.2.1 (TEST-NET-1) is no address of this host. */
    assert_null(serve_start("192.0.2.1:0", err, sizeof(err)));
    assert_string_equal(err, "192.0.2.1:0: Cannot assign requested address");
    serve_stop(srv);
}

static void
test_serve_metrics_empty_before_publish(void **state)
{
    struct serve *srv = start("0");
    struct reply *r = malloc(sizeof(*r));

    (void)state;
    assert_non_null(r);
    assert_int_equal(request(serve_port(srv), "GET", "/metrics", r), CURLE_OK);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->len, 0);
    assert_string_equal(r->type, "text/plain; version=0.0.4; charset=utf-8");
    free(r);
    serve_stop(srv);
}

static void
test_serve_get_returns_the_latest_text(void **state)
{
    static const char a[] = "# TYPE rarr_lines_total counter\nrarr_lines_total 3\n";
    static const char b[] = "rarr_lines_total 4\n";
    struct serve *srv = start("0");
    struct reply *r = malloc(sizeof(*r));

    (void)state;
    assert_non_null(r);
    assert_int_equal(serve_publish(srv, a, strlen(a)), 0);
    assert_int_equal(request(serve_port(srv), "GET", "/metrics", r), CURLE_OK);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->type, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(r->len, strlen(a));
    assert_memory_equal(r->body, a, strlen(a));
    assert_int_equal(serve_publish(srv, b, strlen(b)), 0);
    assert_int_equal(request(serve_port(srv), "GET", "/metrics?x=1", r), CURLE_OK);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->len, strlen(b));
    assert_memory_equal(r->body, b, strlen(b));
    assert_int_equal(serve_publish(srv, "", 0), 0);
    assert_int_equal(request(serve_port(srv), "GET", "/metrics", r), CURLE_OK);
    assert_int_equal(r->len, 0);
    free(r);
    serve_stop(srv);
}

static void
test_serve_head_has_no_body(void **state)
{
    static const char a[] = "rarr_lines_total 3\n";
    struct serve *srv = start("0");
    struct reply *r = malloc(sizeof(*r));

    (void)state;
    assert_non_null(r);
    assert_int_equal(serve_publish(srv, a, strlen(a)), 0);
    assert_int_equal(request(serve_port(srv), "HEAD", "/metrics", r), CURLE_OK);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->len, 0);
    assert_int_equal(r->content_length, (curl_off_t)strlen(a));
    assert_string_equal(r->type, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(request(serve_port(srv), "HEAD", "/healthz", r), CURLE_OK);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->len, 0);
    free(r);
    serve_stop(srv);
}

static void
test_serve_other_methods_get_405_with_allow(void **state)
{
    static const char *paths[] = {"/metrics", "/healthz", "/"};
    static const char *methods[] = {"POST", "PUT", "DELETE"};
    struct serve *srv = start("0");
    struct reply *r = malloc(sizeof(*r));
    size_t i, j;

    (void)state;
    assert_non_null(r);
    for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++) {
            assert_int_equal(request(serve_port(srv), methods[j], paths[i], r), CURLE_OK);
            assert_int_equal(r->status, 405);
            assert_string_equal(r->allow, "GET, HEAD");
        }
    /* The server still answers after bodies it did not read. */
    assert_int_equal(request(serve_port(srv), "GET", "/healthz", r), CURLE_OK);
    assert_int_equal(r->status, 200);
    free(r);
    serve_stop(srv);
}

static void
test_serve_unknown_path_is_404(void **state)
{
    static const char *paths[] = {"/nope", "/metrics/", "/metricsx", "/healthz/x", "//"};
    struct serve *srv = start("0");
    struct reply *r = malloc(sizeof(*r));
    size_t i;

    (void)state;
    assert_non_null(r);
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(request(serve_port(srv), "GET", paths[i], r), CURLE_OK);
        if (r->status != 404)
            fail_msg("%s: %ld", paths[i], r->status);
    }
    assert_int_equal(request(serve_port(srv), "POST", "/nope", r), CURLE_OK);
    assert_int_equal(r->status, 404);
    free(r);
    serve_stop(srv);
}

static void
test_serve_healthz_and_index(void **state)
{
    struct serve *srv = start("0");
    struct reply *r = malloc(sizeof(*r));

    (void)state;
    assert_non_null(r);
    assert_int_equal(request(serve_port(srv), "GET", "/healthz", r), CURLE_OK);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->len, 3);
    assert_memory_equal(r->body, "ok\n", 3);
    assert_int_equal(request(serve_port(srv), "GET", "/", r), CURLE_OK);
    assert_int_equal(r->status, 200);
    r->body[r->len] = '\0';
    assert_non_null(strstr(r->body, "/metrics"));
    assert_non_null(strstr(r->body, "/healthz"));
    free(r);
    serve_stop(srv);
}

/* The publisher of test_serve_never_serves_half_a_text. */
struct flipper {
    struct serve *srv;
    atomic_int stop;
    char *a, *b;
    size_t alen, blen;
};

static void *
flip(void *cls)
{
    struct flipper *f = cls;
    struct timespec pause = {0, 100000}; /* lets the HTTP thread in under valgrind */
    unsigned i;

    for (i = 0; !f->stop; i++) {
        if (i % 2 == 0)
            serve_publish(f->srv, f->a, f->alen);
        else
            serve_publish(f->srv, f->b, f->blen);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void
test_serve_never_serves_half_a_text(void **state)
{
    struct flipper f = {.srv = start("0"), .alen = 200000, .blen = 100000};
    struct reply *r = malloc(sizeof(*r));
    pthread_t t;
    size_t i, j;

    (void)state;
    f.a = malloc(f.alen);
    f.b = malloc(f.blen);
    assert_true(r != NULL && f.a != NULL && f.b != NULL);
    memset(f.a, 'a', f.alen);
    memset(f.b, 'b', f.blen);
    assert_int_equal(serve_publish(f.srv, f.a, f.alen), 0);
    assert_int_equal(pthread_create(&t, NULL, flip, &f), 0);
    for (i = 0; i < 50; i++) {
        assert_int_equal(request(serve_port(f.srv), "GET", "/metrics", r), CURLE_OK);
        assert_true(r->len == f.alen || r->len == f.blen);
        for (j = 1; j < r->len; j++)
            assert_int_equal(r->body[j], r->body[0]);
        assert_true(r->body[0] == (r->len == f.alen ? 'a' : 'b'));
    }
    f.stop = 1;
    pthread_join(t, NULL);
    serve_stop(f.srv);
    free(f.a);
    free(f.b);
    free(r);
}

static void
test_serve_stop_accepts_null(void **state)
{
    (void)state;
    serve_stop(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_port_alone_binds_loopback),
        cmocka_unit_test(test_serve_parses_addresses),
        cmocka_unit_test(test_serve_parses_ipv6),
        cmocka_unit_test(test_serve_rejects_bad_specs),
        cmocka_unit_test(test_serve_names_the_spec_in_its_message),
        cmocka_unit_test(test_serve_reports_a_taken_port),
        cmocka_unit_test(test_serve_metrics_empty_before_publish),
        cmocka_unit_test(test_serve_get_returns_the_latest_text),
        cmocka_unit_test(test_serve_head_has_no_body),
        cmocka_unit_test(test_serve_other_methods_get_405_with_allow),
        cmocka_unit_test(test_serve_unknown_path_is_404),
        cmocka_unit_test(test_serve_healthz_and_index),
        cmocka_unit_test(test_serve_never_serves_half_a_text),
        cmocka_unit_test(test_serve_stop_accepts_null),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
