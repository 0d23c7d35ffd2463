/*
 * fuzz_export.c -- the exporters' translations of one output record: the
 * Alertmanager alert (amsend_alert) and the Prometheus label value
 * (prom_label_value) of the same bytes.
 *
 * An alert, when there is one, must be what Alertmanager accepts and what
 * the record said: labels an object of non-empty strings with "alertname"
 * (the record's rule) and "type" (the record's type), an annotations.summary
 * on one line, startsAt and endsAt times that read back, startsAt not after
 * endsAt. A label value must be one Prometheus parses: quoted, valid UTF-8,
 * no raw newline, only the escapes \\, \" and \n; unescaped, it is the
 * input (each invalid byte as U+FFFD). A key's (prom_key_value) is its
 * first PROM_LABEL_MAX bytes at most, followed by "~" and its slot in eight
 * hex digits exactly when the bytes were cut or changed, it is a twin of
 * __other__ or it ends as such a mark does; an unmarked one never ends so.
 * The replay summary (tally.c) of the record is JSON lines of whole
 * firings. Any failure aborts, after a line on stderr naming the check.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rarr/amsend.h"
#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/prom.h"
#include "rarr/tally.h"
#include "utf8.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_export.c:%d: check failed: %s\n", __LINE__, #cond);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The "now" of every alert: 2026-05-04T10:00:00Z. */
#define NOW_MS 1777888800000

/* Whether the string 't' is a time clock_parse_rfc3339 reads back. */
static int
time_ok(const char *t)
{
    int64_t ms;

    return t != NULL && clock_parse_rfc3339(t, strlen(t), &ms) == 0;
}

/* The time 't' (one time_ok accepts) in milliseconds. */
static int64_t
time_of(const char *t)
{
    int64_t ms = 0;

    clock_parse_rfc3339(t, strlen(t), &ms);
    return ms;
}

/* Check the alert 'a' amsend_alert made of the record 'rec' ('len' bytes). */
static void
check_alert(const json_t *a, const char *rec, size_t len)
{
    json_t *r = json_loadb(rec, len, 0, NULL);
    const json_t *labels = json_object_get(a, "labels"), *ann = json_object_get(a, "annotations");
    const json_t *v;
    const char *name, *summary;

    CHECK(r != NULL); /* an alert is made of a record that parses */
    CHECK(json_is_object(labels));
    json_object_foreach((json_t *)labels, name, v)
    {
        CHECK(json_is_string(v));
        CHECK(json_string_length(v) > 0);
    }
    CHECK(json_is_string(json_object_get(labels, "alertname")));
    CHECK(json_is_string(json_object_get(r, "rule")));
    CHECK(strcmp(json_string_value(json_object_get(labels, "alertname")),
                 json_string_value(json_object_get(r, "rule"))) == 0);
    CHECK(json_is_string(json_object_get(labels, "type")));
    CHECK(json_is_string(json_object_get(r, "type")));
    CHECK(strcmp(json_string_value(json_object_get(labels, "type")),
                 json_string_value(json_object_get(r, "type"))) == 0);
    CHECK(json_is_object(ann));
    CHECK(json_is_string(json_object_get(ann, "summary")));
    summary = json_string_value(json_object_get(ann, "summary"));
    CHECK(memchr(summary, '\n', json_string_length(json_object_get(ann, "summary"))) == NULL);
    CHECK(time_ok(json_string_value(json_object_get(a, "startsAt"))));
    CHECK(time_ok(json_string_value(json_object_get(a, "endsAt"))));
    CHECK(time_of(json_string_value(json_object_get(a, "startsAt"))) <=
          time_of(json_string_value(json_object_get(a, "endsAt"))));
    json_decref(r);
}

/* Whether 's' ends as prom_key_value's mark does: '~' and eight lowercase hex digits. */
static int
ends_marked(const char *s, size_t len)
{
    size_t i;

    if (len < 9 || s[len - 9] != '~')
        return 0;
    for (i = len - 8; i < len; i++)
        if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
            return 0;
    return 1;
}

/*
 * Check the label value 'b' written for 's' ('len' bytes): by
 * prom_label_value ('max' 0: all of it, never marked), or by prom_key_value
 * for 'slot' (at most 'max' bytes; marked "~%08zx" when cut, changed, a
 * 'twin' or ending as a mark does).
 */
static void
check_label(const struct buf *b, const char *s, size_t len, size_t max, size_t slot, int twin)
{
    const unsigned char *u = (const unsigned char *)s;
    char *plain = malloc(b->len + 1), *want = malloc(3 * len + 16);
    size_t i, n, kept = 0, nplain = 0, nwant = 0;
    int mark = max > 0 && (twin || ends_marked(s, len));

    CHECK(plain != NULL && want != NULL);
    /* As Prometheus reads it: quotes around escaped, valid UTF-8. */
    CHECK(b->len >= 2 && b->p[0] == '"' && b->p[b->len - 1] == '"');
    CHECK(utf8_valid(b->p, b->len));
    CHECK(memchr(b->p, '\n', b->len) == NULL);
    for (i = 1; i < b->len - 1; i++) {
        char c = b->p[i];

        CHECK(c != '"'); /* a quote inside is escaped */
        if (c == '\\') {
            CHECK(i + 1 < b->len - 1);
            c = b->p[++i];
            CHECK(c == '\\' || c == '"' || c == 'n');
            c = c == 'n' ? '\n' : c;
        }
        plain[nplain++] = c;
    }
    /* What it should say: the first bytes ('max' at most), whole sequences only. */
    for (i = 0; i < len; i += n) {
        n = utf8_len(u + i, len - i);
        if (max > 0 && kept + (n ? n : 1) > max) {
            mark = 1;
            break;
        }
        if (n == 0) {
            memcpy(want + nwant, "\xef\xbf\xbd", 3);
            nwant += 3;
            mark = max > 0;
            n = 1;
        } else {
            memcpy(want + nwant, s + i, n);
            nwant += n;
        }
        kept += n;
    }
    if (mark) {
        nwant += (size_t)snprintf(want + nwant, 16, "~%08zx", slot);
        CHECK(ends_marked(want, nwant));
    }
    CHECK(nplain == nwant);
    CHECK(memcmp(plain, want, nwant) == 0);
    /* What is not marked does not end as a mark does: the two kinds never meet. */
    CHECK(max == 0 || mark || !ends_marked(plain, nplain));
    free(plain);
    free(want);
}

/*
 * The replay summary of the record (tally.c), fed twice (a firing then the
 * same again): every summary line is one JSON object of type "summary"
 * with a rule and whole firings.
 */
static void
check_tally(const char *rec, size_t size)
{
    static const struct ruleset none; /* no rules: rows only for what fired */
    struct tally *t = tally_new(&none);
    struct emit e;
    size_t i, start = 0;
    json_t *o;

    CHECK(t != NULL);
    emit_init(&e, -1);
    CHECK(tally_record(t, rec, size, 0) == 0 && tally_record(t, rec, size, 0) == 0);
    CHECK(tally_write(t, &e, NOW_MS) == 0);
    for (i = 0; i < e.out.len; i++) {
        if (e.out.p[i] != '\n')
            continue;
        o = json_loadb(e.out.p + start, i - start, 0, NULL);
        CHECK(o != NULL);
        CHECK(json_is_string(json_object_get(o, "type")) &&
              strcmp(json_string_value(json_object_get(o, "type")), "summary") == 0);
        CHECK(json_is_string(json_object_get(o, "rule")));
        CHECK(json_integer_value(json_object_get(o, "firings")) <= 1);
        json_decref(o);
        start = i + 1;
    }
    CHECK(start == e.out.len);
    emit_fini(&e);
    tally_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *rec = (const char *)data;
    json_t *a;
    struct buf b;

    if ((a = amsend_alert(rec, size, NOW_MS, 0)) != NULL) {
        check_alert(a, rec, size);
        json_decref(a);
    }
    check_tally(rec, size);
    buf_init(&b);
    CHECK(prom_label_value(&b, rec, size) == 0);
    check_label(&b, rec, size, 0, 0, 0);
    b.len = 0;
    CHECK(prom_key_value(&b, rec, size, size * 7919, (int)(size & 1)) == 0);
    check_label(&b, rec, size, PROM_LABEL_MAX, size * 7919, (int)(size & 1));
    buf_fini(&b);
    return 0;
}
