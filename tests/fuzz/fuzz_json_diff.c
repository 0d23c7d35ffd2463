/*
 * fuzz_json_diff.c -- the JSON scanner against jansson, the reference: the
 * same lines are valid, the same are objects, and every top-level key reads
 * as the same text (strings unescaped, integers as %lld, doubles in
 * shortest form, booleans, null as empty, byte arrays as bytes, other
 * containers as compact JSON). Any difference aborts. Lines with a raw NUL
 * byte are not compared: jansson takes a NUL after a number or a literal
 * for the end of the object ({"a":2\0} loads as {"a":2}); the scanner
 * refuses them, as JSON does.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rarr/buf.h"
#include "rarr/input_json.h"
#include "rarr/record.h"

/* What the value reads as, by jansson. */
static void
reference(json_t *v, struct buf *b)
{
    size_t i, n;

    switch (json_typeof(v)) {
    case JSON_STRING:
        buf_add(b, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        buf_printf(b, "%lld", (long long)json_integer_value(v));
        return;
    case JSON_REAL:
        buf_add_double(b, json_real_value(v));
        return;
    case JSON_TRUE:
        buf_adds(b, "true");
        return;
    case JSON_FALSE:
        buf_adds(b, "false");
        return;
    case JSON_NULL:
        return;
    case JSON_ARRAY:
        n = json_array_size(v);
        for (i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);

            if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 255)
                break;
        }
        if (i == n) {
            for (i = 0; i < n; i++)
                buf_addc(b, (int)json_integer_value(json_array_get(v, i)));
            return;
        }
        /* FALLTHROUGH */
    case JSON_OBJECT: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        if (s != NULL)
            buf_adds(b, s);
        free(s);
        return;
    }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct record r;
    static int ready;
    json_t *ref = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL), *v;
    enum diag_reason why = DIAG_NOT_CLF;
    struct buf want;
    const char *key;
    int rc;

    if (memchr(data, '\0', size) != NULL) {
        json_decref(ref);
        return 0;
    }
    if (!ready && record_init(&r, NULL, 0) == 0)
        ready = 1;
    if (!ready || record_begin(&r, RECORD_JSON, (const char *)data, size) == -1) {
        json_decref(ref);
        return 0;
    }
    rc = input_json_parse(&r, NULL, 0, &why);
    if (ref == NULL && !(rc == -1 && why == DIAG_BAD_JSON)) {
        fprintf(stderr, "jansson refuses, the scanner says %d/%d\n", rc, (int)why);
        abort();
    }
    if (ref != NULL && !json_is_object(ref) && !(rc == -1 && why == DIAG_NOT_OBJECT)) {
        fprintf(stderr, "jansson: not an object, the scanner says %d/%d\n", rc, (int)why);
        abort();
    }
    if (ref != NULL && json_is_object(ref) && rc == -1 && why != DIAG_NO_TIME &&
        why != DIAG_BAD_TIME) {
        fprintf(stderr, "jansson accepts, the scanner says %d/%d\n", rc, (int)why);
        abort();
    }
    if (ref != NULL && json_is_object(ref) && rc == 0) {
        json_object_foreach(ref, key, v)
        {
            struct record_fieldref f = {.name = (char *)key, .clf = -1};
            struct slice got = input_json_field(&r, &f);

            buf_init(&want);
            reference(v, &want);
            if (got.len != want.len || (got.len > 0 && memcmp(got.p, want.p, got.len) != 0)) {
                fprintf(stderr, "key '%s': scanner '%.*s', jansson '%.*s'\n", key, (int)got.len,
                        got.p, (int)want.len, want.p ? want.p : "");
                abort();
            }
            buf_fini(&want);
        }
    }
    record_end(&r);
    json_decref(ref);
    return 0;
}
