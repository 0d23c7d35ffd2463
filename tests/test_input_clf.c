/*
 * test_input_clf.c -- unit tests for input_clf.c: Apache/nginx combined and
 * common lines parsed into a record and read back through record_get, as the
 * match stage does: every field, "-" as empty, escaped quotes, extra nginx
 * fields, odd requests, and the line shapes that must be rejected; and
 * vcombined, a virtual host before them, with or without referer and agent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rarr/clock.h"
#include "rarr/input_clf.h"
#include "rarr/record.h"

/*
 * A field table with one entry per CLF slot, in slot order, so a field's
 * number is its enum record_field value.
 */
static struct record_fieldref fields[RECORD_NFIXED];

static char *const names[RECORD_NFIXED] = {
    "line",  "remote_addr", "ident",  "user",  "time",    "request",    "method", "path",
    "query", "protocol",    "status", "bytes", "referer", "user_agent", "extra",  "vhost",
};

#define OCT10_MINUS0700 971211336000LL /* 10/Oct/2000:13:55:36 -0700 */

#define COMBINED                                                                                   \
    "203.0.113.7 - alice [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif?a=1&b=2 HTTP/1.0\" "    \
    "200 2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\""

#define COMMON                                                                                     \
    "198.51.100.4 ident frank [10/Oct/2000:13:55:36 -0700] \"POST /login HTTP/1.1\" 302 0"

static int
setup(void **state)
{
    static struct record r;
    size_t i;

    for (i = 0; i < RECORD_NFIXED; i++) {
        fields[i].name = names[i];
        fields[i].clf = record_clf_field(names[i]);
        fields[i].path = NULL;
        fields[i].npath = 0;
        fields[i].captured = 0;
    }
    if (record_init(&r, fields, RECORD_NFIXED) == -1)
        return -1;
    *state = &r;
    return 0;
}

static int
teardown(void **state)
{
    record_fini(*state);
    return 0;
}

/* Parse 's' as combined (1) or common (0); returns input_clf_parse's result. */
static int
parse(struct record *r, const char *s, int combined)
{
    assert_int_equal(record_begin(r, combined ? RECORD_COMBINED : RECORD_COMMON, s, strlen(s)), 0);
    return input_clf_parse(r, combined ? RECORD_COMBINED : RECORD_COMMON);
}

/* A field's value as a C string (one of a few rotating buffers). */
static const char *
get(struct record *r, enum record_field f)
{
    static char bufs[4][4096];
    static int next;
    struct slice v = record_get(r, (size_t)f);
    char *b = bufs[next++ % 4];

    assert_true(v.len < sizeof(bufs[0]));
    assert_true(v.len == 0 || v.p != NULL);
    if (v.len > 0)
        memcpy(b, v.p, v.len);
    b[v.len] = '\0';
    assert_int_equal(strlen(b), v.len);
    return b;
}

static void
assert_rejected(struct record *r, const char *s, int combined)
{
    if (parse(r, s, combined) != -1)
        fail_msg("accepted as %s: %s", combined ? "combined" : "common", s);
}

static void
test_clf_combined_every_field(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r, COMBINED, 1), 0);
    assert_string_equal(get(r, RECORD_F_LINE), COMBINED);
    assert_string_equal(get(r, RECORD_F_REMOTE_ADDR), "203.0.113.7");
    assert_string_equal(get(r, RECORD_F_IDENT), "");
    assert_string_equal(get(r, RECORD_F_USER), "alice");
    assert_string_equal(get(r, RECORD_F_TIME), "10/Oct/2000:13:55:36 -0700");
    assert_string_equal(get(r, RECORD_F_REQUEST), "GET /apache_pb.gif?a=1&b=2 HTTP/1.0");
    assert_string_equal(get(r, RECORD_F_METHOD), "GET");
    assert_string_equal(get(r, RECORD_F_PATH), "/apache_pb.gif");
    assert_string_equal(get(r, RECORD_F_QUERY), "a=1&b=2");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "HTTP/1.0");
    assert_string_equal(get(r, RECORD_F_STATUS), "200");
    assert_string_equal(get(r, RECORD_F_BYTES), "2326");
    assert_string_equal(get(r, RECORD_F_REFERER), "http://www.example.com/start.html");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "Mozilla/4.08 [en] (Win98; I ;Nav)");
    assert_string_equal(get(r, RECORD_F_EXTRA), "");
    assert_int_equal(r->has_ts, 1);
    assert_int_equal(r->ts_ms, OCT10_MINUS0700);
}

static void
test_clf_common_every_field(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r, COMMON, 0), 0);
    assert_string_equal(get(r, RECORD_F_LINE), COMMON);
    assert_string_equal(get(r, RECORD_F_REMOTE_ADDR), "198.51.100.4");
    assert_string_equal(get(r, RECORD_F_IDENT), "ident");
    assert_string_equal(get(r, RECORD_F_USER), "frank");
    assert_string_equal(get(r, RECORD_F_TIME), "10/Oct/2000:13:55:36 -0700");
    assert_string_equal(get(r, RECORD_F_REQUEST), "POST /login HTTP/1.1");
    assert_string_equal(get(r, RECORD_F_METHOD), "POST");
    assert_string_equal(get(r, RECORD_F_PATH), "/login");
    assert_string_equal(get(r, RECORD_F_QUERY), "");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "HTTP/1.1");
    assert_string_equal(get(r, RECORD_F_STATUS), "302");
    assert_string_equal(get(r, RECORD_F_BYTES), "0");
    assert_string_equal(get(r, RECORD_F_REFERER), "");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "");
    assert_string_equal(get(r, RECORD_F_EXTRA), "");
    assert_int_equal(r->has_ts, 1);
    assert_int_equal(r->ts_ms, OCT10_MINUS0700);
}

static void
test_clf_dash_means_empty(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" "
                           "200 512 \"-\" \"-\"",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_IDENT), "");
    assert_string_equal(get(r, RECORD_F_USER), "");
    assert_string_equal(get(r, RECORD_F_REFERER), "");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "");
    assert_string_equal(get(r, RECORD_F_BYTES), "512");
    /* Only a lone "-" is empty. */
    assert_int_equal(parse(r,
                           "10.0.0.1 -- -x [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" "
                           "200 512 \"--\" \"- \"",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_IDENT), "--");
    assert_string_equal(get(r, RECORD_F_USER), "-x");
    assert_string_equal(get(r, RECORD_F_REFERER), "--");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "- ");
}

static void
test_clf_bytes_dash_reads_as_zero(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" "
                           "304 - \"-\" \"curl/8.0\"",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_STATUS), "304");
    assert_string_equal(get(r, RECORD_F_BYTES), "0");
    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" "
                           "304 -",
                           0),
                     0);
    assert_string_equal(get(r, RECORD_F_BYTES), "0");
}

static void
test_clf_escaped_quotes_in_request(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /q?s=\\\"x\\\"&b=\\\\ HTTP/1.1\" 200 1 \"-\" \"ua\"",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_REQUEST), "GET /q?s=\"x\"&b=\\ HTTP/1.1");
    assert_string_equal(get(r, RECORD_F_METHOD), "GET");
    assert_string_equal(get(r, RECORD_F_PATH), "/q");
    assert_string_equal(get(r, RECORD_F_QUERY), "s=\"x\"&b=\\");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "HTTP/1.1");
    assert_string_equal(get(r, RECORD_F_STATUS), "200");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "ua");
}

/* The protocol is the request's last word when it starts with HTTP/; a space after it makes it
 * none. */
static void
test_clf_protocol_is_the_last_word(void **state)
{
    struct record *r = *state;

    assert_int_equal(
        parse(r, "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /x HTTP/2.0\" 200 1", 0), 0);
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "HTTP/2.0");
    assert_string_equal(get(r, RECORD_F_PATH), "/x");
    assert_int_equal(
        parse(r, "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /x HTTP/2 y\" 200 1", 0), 0);
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "");
    assert_string_equal(get(r, RECORD_F_PATH), "/x HTTP/2 y");
    assert_int_equal(
        parse(r, "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /x HTTP/1.1 \" 200 1", 0), 0);
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "");
    assert_int_equal(
        parse(r, "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /x HTTP/2\" 200 1", 0), 0);
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "HTTP/2");
}

static void
test_clf_escaped_backslash_before_closing_quote(void **state)
{
    struct record *r = *state;

    /* "\\" then the closing quote: the quote is not escaped. */
    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /dir\\\\\" 404 9 \"-\" \"ua\\\\\"",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_REQUEST), "GET /dir\\");
    assert_string_equal(get(r, RECORD_F_PATH), "/dir\\");
    assert_string_equal(get(r, RECORD_F_STATUS), "404");
    assert_string_equal(get(r, RECORD_F_BYTES), "9");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "ua\\");
}

static void
test_clf_escaped_quotes_in_user_agent(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" "
                           "200 1 \"http://r.example/\\\"ref\\\"\" "
                           "\"Mozilla \\\"quoted\\\" back\\\\slash\\\\\" 0.5",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_REFERER), "http://r.example/\"ref\"");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "Mozilla \"quoted\" back\\slash\\");
    assert_string_equal(get(r, RECORD_F_EXTRA), "0.5");
    /* Other backslash sequences (Apache's \xhh) are left as written. */
    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" "
                           "200 1 \"-\" \"a\\x22b\\\"c\"",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "a\\x22b\"c");
    /* Escapes before a plain closing quote are undone too. */
    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" "
                           "200 1 \"http://r.example/a\\\\b\" \"back\\\\slash \\\"q\\\" x\"",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_REFERER), "http://r.example/a\\b");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "back\\slash \"q\" x");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "back\\slash \"q\" x");
}

static void
test_clf_nginx_extra_fields(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r, COMBINED " 0.123 0.120 key=value", 1), 0);
    assert_string_equal(get(r, RECORD_F_EXTRA), "0.123 0.120 key=value");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "Mozilla/4.08 [en] (Win98; I ;Nav)");
    assert_string_equal(get(r, RECORD_F_STATUS), "200");
    /* Several spaces before the extras are skipped. */
    assert_int_equal(parse(r, COMBINED "   rt=0.001", 1), 0);
    assert_string_equal(get(r, RECORD_F_EXTRA), "rt=0.001");
}

static void
test_clf_ipv6_client(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r,
                           "2001:db8::1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/2.0\" "
                           "200 10 \"-\" \"ua\"",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_REMOTE_ADDR), "2001:db8::1");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "HTTP/2.0");
    assert_int_equal(parse(r,
                           "::ffff:192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET / HTTP/1.1\" 200 10",
                           0),
                     0);
    assert_string_equal(get(r, RECORD_F_REMOTE_ADDR), "::ffff:192.0.2.1");
}

static void
test_clf_empty_request_sets_only_request(void **state)
{
    struct record *r = *state;

    assert_int_equal(
        parse(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"\" 400 0 \"-\" \"-\"", 1), 0);
    assert_string_equal(get(r, RECORD_F_REQUEST), "");
    assert_string_equal(get(r, RECORD_F_METHOD), "");
    assert_string_equal(get(r, RECORD_F_PATH), "");
    assert_string_equal(get(r, RECORD_F_QUERY), "");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "");
    assert_string_equal(get(r, RECORD_F_STATUS), "400");
}

static void
test_clf_one_word_request_sets_only_request(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"HELP\" 400 0 \"-\" "
                           "\"-\"",
                           1),
                     0);
    assert_string_equal(get(r, RECORD_F_REQUEST), "HELP");
    assert_string_equal(get(r, RECORD_F_METHOD), "");
    assert_string_equal(get(r, RECORD_F_PATH), "");
    assert_string_equal(get(r, RECORD_F_QUERY), "");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "");
    assert_string_equal(get(r, RECORD_F_STATUS), "400");
}

static void
test_clf_two_word_request_has_no_protocol(void **state)
{
    struct record *r = *state;

    assert_int_equal(
        parse(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /old?x=1\" 200 5", 0), 0);
    assert_string_equal(get(r, RECORD_F_METHOD), "GET");
    assert_string_equal(get(r, RECORD_F_PATH), "/old");
    assert_string_equal(get(r, RECORD_F_QUERY), "x=1");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "");
}

static void
test_clf_request_with_space_in_target(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /my file.html?q=a b HTTP/1.1\" 404 0",
                           0),
                     0);
    assert_string_equal(get(r, RECORD_F_REQUEST), "GET /my file.html?q=a b HTTP/1.1");
    assert_string_equal(get(r, RECORD_F_METHOD), "GET");
    assert_string_equal(get(r, RECORD_F_PATH), "/my file.html");
    assert_string_equal(get(r, RECORD_F_QUERY), "q=a b");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "HTTP/1.1");
    /* Without a protocol the last word stays part of the target. */
    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /my file.html\" 400 0",
                           0),
                     0);
    assert_string_equal(get(r, RECORD_F_METHOD), "GET");
    assert_string_equal(get(r, RECORD_F_PATH), "/my file.html");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "");
}

static void
test_clf_query_string_split_at_first_question_mark(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /search?q=why?&page=2 HTTP/1.1\" 200 77",
                           0),
                     0);
    assert_string_equal(get(r, RECORD_F_PATH), "/search");
    assert_string_equal(get(r, RECORD_F_QUERY), "q=why?&page=2");
    /* A bare '?' gives an empty query. */
    assert_int_equal(parse(r,
                           "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /x? HTTP/1.1\" 200 77",
                           0),
                     0);
    assert_string_equal(get(r, RECORD_F_PATH), "/x");
    assert_string_equal(get(r, RECORD_F_QUERY), "");
}

static void
test_clf_fields_reset_between_lines(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r, COMBINED " extra=1", 1), 0);
    assert_string_equal(get(r, RECORD_F_QUERY), "a=1&b=2");
    assert_string_equal(get(r, RECORD_F_EXTRA), "extra=1");
    assert_int_equal(parse(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"HELP\" 400 0", 0), 0);
    assert_string_equal(get(r, RECORD_F_QUERY), "");
    assert_string_equal(get(r, RECORD_F_METHOD), "");
    assert_string_equal(get(r, RECORD_F_EXTRA), "");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "");
    assert_string_equal(get(r, RECORD_F_REQUEST), "HELP");
}

static void
test_clf_vhost_prefix_rejected(void **state)
{
    struct record *r = *state;

    assert_rejected(r, "www.example.com " COMBINED, 1);
    assert_rejected(r, "www.example.com:443 " COMBINED, 0);
}

/* Parse 's' as 'fmt'; returns input_clf_parse's result. */
static int
parse_as(struct record *r, const char *s, enum record_format fmt)
{
    assert_int_equal(record_begin(r, fmt, s, strlen(s)), 0);
    return input_clf_parse(r, fmt);
}

static void
assert_rejected_as(struct record *r, const char *s, enum record_format fmt)
{
    if (parse_as(r, s, fmt) != -1)
        fail_msg("accepted as %s: %s", record_format_name(fmt), s);
}

/* Apache's vhost_combined (Debian's other_vhosts_access.log): "%v:%p" before combined. */
static void
test_clf_vcombined_every_field(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse_as(r, "www.example.com:443 " COMBINED, RECORD_VCOMBINED), 0);
    assert_string_equal(get(r, RECORD_F_VHOST), "www.example.com:443");
    assert_string_equal(get(r, RECORD_F_LINE), "www.example.com:443 " COMBINED);
    assert_string_equal(get(r, RECORD_F_REMOTE_ADDR), "203.0.113.7");
    assert_string_equal(get(r, RECORD_F_IDENT), "");
    assert_string_equal(get(r, RECORD_F_USER), "alice");
    assert_string_equal(get(r, RECORD_F_TIME), "10/Oct/2000:13:55:36 -0700");
    assert_string_equal(get(r, RECORD_F_REQUEST), "GET /apache_pb.gif?a=1&b=2 HTTP/1.0");
    assert_string_equal(get(r, RECORD_F_METHOD), "GET");
    assert_string_equal(get(r, RECORD_F_PATH), "/apache_pb.gif");
    assert_string_equal(get(r, RECORD_F_QUERY), "a=1&b=2");
    assert_string_equal(get(r, RECORD_F_PROTOCOL), "HTTP/1.0");
    assert_string_equal(get(r, RECORD_F_STATUS), "200");
    assert_string_equal(get(r, RECORD_F_BYTES), "2326");
    assert_string_equal(get(r, RECORD_F_REFERER), "http://www.example.com/start.html");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "Mozilla/4.08 [en] (Win98; I ;Nav)");
    assert_string_equal(get(r, RECORD_F_EXTRA), "");
    assert_int_equal(r->has_ts, 1);
    assert_int_equal(r->ts_ms, OCT10_MINUS0700);
}

/* nginx with $host first: a host name without a port; extra fields after the user agent. */
static void
test_clf_vcombined_host_without_port(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse_as(r, "shop.example.org " COMBINED " 0.004", RECORD_VCOMBINED), 0);
    assert_string_equal(get(r, RECORD_F_VHOST), "shop.example.org");
    assert_string_equal(get(r, RECORD_F_REMOTE_ADDR), "203.0.113.7");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "Mozilla/4.08 [en] (Win98; I ;Nav)");
    assert_string_equal(get(r, RECORD_F_EXTRA), "0.004");
    /* An IPv6 literal with its port, as Apache writes %v:%p for one. */
    assert_int_equal(parse_as(r,
                              "[::1]:80 ::1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" "
                              "200 10 \"-\" \"curl/8.0\"",
                              RECORD_VCOMBINED),
                     0);
    assert_string_equal(get(r, RECORD_F_VHOST), "[::1]:80");
    assert_string_equal(get(r, RECORD_F_REMOTE_ADDR), "::1");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "curl/8.0");
}

/* Apache's vhost_common: no referer nor user agent; they read as empty. */
static void
test_clf_vcombined_without_referer_and_agent(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse_as(r, "www.example.com:80 " COMMON, RECORD_VCOMBINED), 0);
    assert_string_equal(get(r, RECORD_F_VHOST), "www.example.com:80");
    assert_string_equal(get(r, RECORD_F_REMOTE_ADDR), "198.51.100.4");
    assert_string_equal(get(r, RECORD_F_IDENT), "ident");
    assert_string_equal(get(r, RECORD_F_USER), "frank");
    assert_string_equal(get(r, RECORD_F_PATH), "/login");
    assert_string_equal(get(r, RECORD_F_STATUS), "302");
    assert_string_equal(get(r, RECORD_F_REFERER), "");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "");
    assert_string_equal(get(r, RECORD_F_EXTRA), "");
    /* Unquoted fields after the bytes are extra, as in common. */
    assert_int_equal(parse_as(r, "www.example.com:80 " COMMON " 0.123", RECORD_VCOMBINED), 0);
    assert_string_equal(get(r, RECORD_F_REFERER), "");
    assert_string_equal(get(r, RECORD_F_EXTRA), "0.123");
}

/* The formats exclude each other by the tokens before the time. */
static void
test_clf_vcombined_and_combined_exclude_each_other(void **state)
{
    struct record *r = *state;

    assert_rejected_as(r, COMBINED, RECORD_VCOMBINED);
    assert_rejected_as(r, COMMON, RECORD_VCOMBINED);
    assert_rejected_as(r, "www.example.com:443 " COMBINED, RECORD_COMBINED);
    assert_rejected_as(r, "www.example.com:443 " COMMON, RECORD_COMMON);
    assert_rejected_as(r, "a.example b.example " COMBINED, RECORD_VCOMBINED);
    /* A combined parse leaves no vhost from the line before. */
    assert_int_equal(parse_as(r, "www.example.com:443 " COMBINED, RECORD_VCOMBINED), 0);
    assert_string_equal(get(r, RECORD_F_VHOST), "www.example.com:443");
    assert_int_equal(parse_as(r, COMBINED, RECORD_COMBINED), 0);
    assert_string_equal(get(r, RECORD_F_VHOST), "");
    assert_int_equal(parse_as(r, COMMON, RECORD_COMMON), 0);
    assert_string_equal(get(r, RECORD_F_VHOST), "");
}

static void
test_clf_vcombined_truncated_lines_rejected(void **state)
{
    static const char *const bad[] = {
        "",
        "www.example.com:443",
        "www.example.com:443 ",
        "www.example.com:443 10.0.0.1 - -",
        "www.example.com:443 10.0.0.1 - - [10/Oct/2000:13:55:36 -0700]",
        "www.example.com:443 10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200",
        "www.example.com:443 10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 "
        "\"-\"",
        "www.example.com:443 10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 "
        "\"-\" \"Mozil",
        "www.example.com:443  10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1",
        " www.example.com:443 10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1",
    };
    struct record *r = *state;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejected_as(r, bad[i], RECORD_VCOMBINED);
}

static void
test_clf_truncated_lines_rejected(void **state)
{
    static const char *const bad[] = {
        "",
        "10.0.0.1",
        "10.0.0.1 - -",
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700",
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700]",
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1",
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\\\" 200 1",
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200",
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 \"-",
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"Mozil",
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\\\"",
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 \"-\"",
    };
    struct record *r = *state;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejected(r, bad[i], 1);
}

static void
test_clf_malformed_separators_rejected(void **state)
{
    struct record *r = *state;

    /* Two spaces between fields. */
    assert_rejected(r, "10.0.0.1  - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1", 0);
    /* No space after the time. */
    assert_rejected(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700]\"GET / HTTP/1.1\" 200 1", 0);
    /* Unquoted request. */
    assert_rejected(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] GET / 200 1", 0);
    /* Text glued to the closing quote of the user agent. */
    assert_rejected(r, COMBINED "x", 1);
    /* Text glued to bytes is part of bytes, so not a number. */
    assert_rejected(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1\"x\"",
                    0);
}

static void
test_clf_status_not_three_digits_rejected(void **state)
{
    static const char *const status[] = {"20", "2000", "2x0", "-", "+20", "abc"};
    char line[256];
    struct record *r = *state;
    size_t i;

    for (i = 0; i < sizeof(status) / sizeof(status[0]); i++) {
        snprintf(line, sizeof(line),
                 "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" %s 1 \"-\" \"-\"",
                 status[i]);
        assert_rejected(r, line, 1);
    }
    snprintf(line, sizeof(line),
             "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" %s 1 \"-\" \"-\"",
             "599");
    assert_int_equal(parse(r, line, 1), 0);
}

static void
test_clf_bytes_not_a_number_rejected(void **state)
{
    struct record *r = *state;

    assert_rejected(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 12k", 0);
    assert_rejected(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 -1", 0);
}

static void
test_clf_bad_timestamp_rejected(void **state)
{
    static const char *const times[] = {
        "31/Apr/2021:00:00:00 +0000",
        "10/Foo/2000:13:55:36 -0700",
        "10/Oct/2000:24:00:00 -0700",
        "10/Oct/2000:13:55:36",
        "10/Oct/2000:13:55:36 -07:00",
        "2000-10-10T13:55:36Z",
        "",
    };
    char line[256];
    struct record *r = *state;
    size_t i;

    for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        snprintf(line, sizeof(line), "10.0.0.1 - - [%s] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
                 times[i]);
        assert_rejected(r, line, 1);
        assert_rejected(r, line, 0);
    }
}

static void
test_clf_time_with_other_offset(void **state)
{
    struct record *r = *state;

    assert_int_equal(
        parse(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 +0530] \"GET / HTTP/1.1\" 200 1", 0), 0);
    assert_int_equal(r->ts_ms, 971166336000LL);
    assert_string_equal(get(r, RECORD_F_TIME), "10/Oct/2000:13:55:36 +0530");
}

static void
test_clf_combined_line_parsed_as_common_keeps_rest_in_extra(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r, COMBINED, 0), 0);
    assert_string_equal(get(r, RECORD_F_STATUS), "200");
    assert_string_equal(get(r, RECORD_F_BYTES), "2326");
    assert_string_equal(get(r, RECORD_F_REFERER), "");
    assert_string_equal(get(r, RECORD_F_USER_AGENT), "");
    assert_string_equal(
        get(r, RECORD_F_EXTRA),
        "\"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"");
}

static void
test_clf_common_line_rejected_as_combined(void **state)
{
    struct record *r = *state;

    assert_rejected(r, COMMON, 1);
    /* Trailing unquoted fields are not a referer either. */
    assert_rejected(r, COMMON " 0.123 0.120", 1);
}

static void
test_clf_absent_fields_are_empty_strings(void **state)
{
    /* Fields the line does not have read as "", never as a NULL pointer (record.h). */
    static const enum record_field absent[] = {
        RECORD_F_METHOD,  RECORD_F_PATH,       RECORD_F_QUERY, RECORD_F_PROTOCOL,
        RECORD_F_REFERER, RECORD_F_USER_AGENT, RECORD_F_EXTRA,
    };
    struct record *r = *state;
    struct slice v;
    size_t i;

    assert_int_equal(parse(r, "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"HELP\" 400 0", 0), 0);
    for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        v = record_get(r, (size_t)absent[i]);
        assert_int_equal(v.len, 0);
        if (v.p == NULL)
            fail_msg("field '%s' is a NULL slice", names[absent[i]]);
    }
}

static void
test_clf_record_get_caches_per_line(void **state)
{
    struct record *r = *state;

    assert_int_equal(parse(r, COMBINED, 1), 0);
    assert_string_equal(get(r, RECORD_F_PATH), "/apache_pb.gif");
    assert_int_equal(parse(r, COMMON, 0), 0);
    /* The next line's value, not the cached one. */
    assert_string_equal(get(r, RECORD_F_PATH), "/login");
    assert_string_equal(get(r, RECORD_F_PATH), "/login");
}

/*
 * The parsed time of a line is the same whether its minute or day was
 * cached from the lines before or not: every time below parsed after every
 * pair of others.
 */
static void
test_clf_time_cache_matches_full_parse(void **state)
{
    static const char *const times[] = {
        "04/May/2026:00:00:00 +0000", "04/May/2026:23:59:59 +0000", "04/May/2026:13:07:41 +0000",
        "04/May/2026:13:07:41 +0200", "05/May/2026:00:00:00 +0000", "04/May/2026:09:05:03 -0730",
        "04/May/2026:9:05:03 +0000",  "04/May/2026:24:00:00 +0000", "04/May/2026:10:60:00 +0000",
        "04/May/2026:10:00:61 +0000", "04/May/2026:10:0a:00 +0000", "04/May/2026:10:00:00.5 +0000",
        "31/Dec/1999:23:59:59 +0000", "04/May/2026:13:07:00 +0000", "04/May/2026:13:07:59 +0000",
        "04/May/2026:13:08:00 +0000", "04/May/2026:13:07:4x +0000", "04/May/2026:13:07:60 +0000",
    };
    struct record *r = *state;
    size_t i, j, k, n = sizeof(times) / sizeof(times[0]);
    char line[256];

    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            for (k = 0; k < n; k++) {
                int64_t want_ms = 0;
                int want_tz = 0, want, got;

                want = clock_parse_clf_tz(times[k], strlen(times[k]), &want_ms, &want_tz);
                snprintf(line, sizeof(line),
                         "1.2.3.4 - - [%s] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"", times[i]);
                parse(r, line, 1);
                snprintf(line, sizeof(line),
                         "1.2.3.4 - - [%s] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"", times[j]);
                parse(r, line, 1);
                snprintf(line, sizeof(line),
                         "1.2.3.4 - - [%s] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"", times[k]);
                got = parse(r, line, 1);
                if (got != want || (want == 0 && (r->ts_ms != want_ms || r->tz_min != want_tz)))
                    fail_msg("%s after %s, %s: got %d %lld %d, want %d %lld %d", times[k], times[i],
                             times[j], got, (long long)r->ts_ms, r->tz_min, want,
                             (long long)want_ms, want_tz);
            }
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clf_combined_every_field),
        cmocka_unit_test(test_clf_time_cache_matches_full_parse),
        cmocka_unit_test(test_clf_common_every_field),
        cmocka_unit_test(test_clf_dash_means_empty),
        cmocka_unit_test(test_clf_bytes_dash_reads_as_zero),
        cmocka_unit_test(test_clf_escaped_quotes_in_request),
        cmocka_unit_test(test_clf_protocol_is_the_last_word),
        cmocka_unit_test(test_clf_escaped_backslash_before_closing_quote),
        cmocka_unit_test(test_clf_escaped_quotes_in_user_agent),
        cmocka_unit_test(test_clf_nginx_extra_fields),
        cmocka_unit_test(test_clf_ipv6_client),
        cmocka_unit_test(test_clf_empty_request_sets_only_request),
        cmocka_unit_test(test_clf_one_word_request_sets_only_request),
        cmocka_unit_test(test_clf_two_word_request_has_no_protocol),
        cmocka_unit_test(test_clf_request_with_space_in_target),
        cmocka_unit_test(test_clf_query_string_split_at_first_question_mark),
        cmocka_unit_test(test_clf_fields_reset_between_lines),
        cmocka_unit_test(test_clf_vhost_prefix_rejected),
        cmocka_unit_test(test_clf_vcombined_every_field),
        cmocka_unit_test(test_clf_vcombined_host_without_port),
        cmocka_unit_test(test_clf_vcombined_without_referer_and_agent),
        cmocka_unit_test(test_clf_vcombined_and_combined_exclude_each_other),
        cmocka_unit_test(test_clf_vcombined_truncated_lines_rejected),
        cmocka_unit_test(test_clf_truncated_lines_rejected),
        cmocka_unit_test(test_clf_malformed_separators_rejected),
        cmocka_unit_test(test_clf_status_not_three_digits_rejected),
        cmocka_unit_test(test_clf_bytes_not_a_number_rejected),
        cmocka_unit_test(test_clf_bad_timestamp_rejected),
        cmocka_unit_test(test_clf_time_with_other_offset),
        cmocka_unit_test(test_clf_combined_line_parsed_as_common_keeps_rest_in_extra),
        cmocka_unit_test(test_clf_common_line_rejected_as_combined),
        cmocka_unit_test(test_clf_absent_fields_are_empty_strings),
        cmocka_unit_test(test_clf_record_get_caches_per_line),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
