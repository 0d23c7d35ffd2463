/*
 * input_json.c -- the JSON parser, "line -> record" for event streams.
 *
 * One JSON object a line, parsed with jansson; the record keeps the DOM until
 * record_end() frees it. Fields are looked up lazily, only those rules name:
 * a key is first tried as written ("http.request.method" as one flat key, as
 * ECS writers do), then as a dotted path into nested objects. Values match as
 * their text: strings as they are, numbers in shortest form, booleans as
 * true/false, and arrays of byte values (how journald writes a MESSAGE that
 * is not valid UTF-8) decoded to their bytes.
 */
#include "rarr/input_json.h"

#include <stdlib.h>
#include <string.h>

#include "rarr/clock.h"

/* Keys tried for the timestamp, in order (SPEC section 2). */
static const char *const time_keys[] = {"@timestamp",           "timestamp", "time", "ts",
                                        "__REALTIME_TIMESTAMP", "date"};

static json_t *
lookup(json_t *root, const char *name, char *const *path, size_t npath)
{
    json_t *v = json_object_get(root, name);
    size_t i;

    if (v != NULL || npath < 2)
        return v;
    for (v = root, i = 0; i < npath && v != NULL; i++)
        v = json_is_object(v) ? json_object_get(v, path[i]) : NULL;
    return v;
}

static int
json_time(json_t *v, int64_t *ms, int *off_min)
{
    *off_min = 0;
    if (json_is_string(v))
        return clock_parse_any_tz(json_string_value(v), json_string_length(v), ms, off_min);
    if (json_is_integer(v))
        return clock_from_number((double)json_integer_value(v), ms);
    if (json_is_real(v))
        return clock_from_number(json_real_value(v), ms);
    return -1;
}

/*
 * Parse r->line as one JSON object. The timestamp comes from 'time_field'
 * when given, else from the first present key of the standard list. With
 * 'need_time' a missing or unreadable timestamp fails the line. Returns 0,
 * or -1 with '*why' set.
 */
int
input_json_parse(struct record *r, const struct record_fieldref *time_field, int need_time,
                 enum diag_reason *why)
{
    json_error_t err;
    json_t *v = NULL;
    size_t i;

    r->json = json_loadb(r->line.p, r->line.len, JSON_ALLOW_NUL, &err);
    if (r->json == NULL) {
        *why = DIAG_BAD_JSON;
        return -1;
    }
    if (!json_is_object(r->json)) {
        *why = DIAG_NOT_OBJECT;
        return -1;
    }
    if (time_field != NULL) {
        v = lookup(r->json, time_field->name, time_field->path, time_field->npath);
    } else {
        for (i = 0; i < sizeof(time_keys) / sizeof(time_keys[0]) && v == NULL; i++)
            v = json_object_get(r->json, time_keys[i]);
    }
    if (v == NULL) {
        *why = DIAG_NO_TIME;
        return need_time ? -1 : 0;
    }
    if (json_time(v, &r->ts_ms, &r->tz_min) == -1) {
        *why = DIAG_BAD_TIME;
        return need_time ? -1 : 0;
    }
    r->has_ts = 1;
    return 0;
}

/* Room left in the scratch buffer; it is never reallocated during a line. */
static char *
scratch_room(struct record *r, size_t need)
{
    struct buf *s = &r->scratch;

    if (s->cap - s->len < need + 1)
        return NULL;
    return s->p + s->len;
}

/*
 * The compact text of 'v' when the scratch buffer has no room left (it may
 * not move: earlier slices point into it). The text lives in a JSON string
 * the record keeps until record_end. Empty on out-of-memory.
 */
static struct slice
spill_text(struct record *r, json_t *v)
{
    struct slice out = {"", 0};
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *js = s != NULL ? json_string_nocheck(s) : NULL;

    free(s);
    if (js == NULL)
        return out;
    if (r->spill == NULL && (r->spill = json_array()) == NULL) {
        json_decref(js);
        return out;
    }
    if (json_array_append_new(r->spill, js) == -1) /* takes 'js' even when it fails */
        return out;
    out.p = json_string_value(js);
    out.len = json_string_length(js);
    return out;
}

static struct slice
text_of(struct record *r, json_t *v)
{
    struct slice out = {"", 0};
    char *dst;
    size_t i, n;

    switch (json_typeof(v)) {
    case JSON_STRING:
        out.p = json_string_value(v);
        out.len = json_string_length(v);
        break;
    case JSON_INTEGER:
    case JSON_REAL: {
        size_t before = r->scratch.len;

        /* Room was reserved for 64 bytes per field, so this cannot move p. */
        if (scratch_room(r, 40) == NULL)
            break;
        if (json_is_integer(v))
            buf_printf(&r->scratch, "%lld", (long long)json_integer_value(v));
        else
            buf_add_double(&r->scratch, json_real_value(v));
        out.p = r->scratch.p + before;
        out.len = r->scratch.len - before;
        break;
    }
    case JSON_TRUE:
        out.p = "true";
        out.len = 4;
        break;
    case JSON_FALSE:
        out.p = "false";
        out.len = 5;
        break;
    case JSON_ARRAY:
        n = json_array_size(v);
        for (i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);

            if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 255)
                break;
        }
        if (i == n && (dst = scratch_room(r, n)) != NULL) {
            for (i = 0; i < n; i++)
                dst[i] = (char)json_integer_value(json_array_get(v, i));
            r->scratch.len += n;
            out.p = dst;
            out.len = n;
            break;
        }
        /* FALLTHROUGH */
    case JSON_OBJECT:
        /* Other arrays and objects match as their compact JSON text. */
        n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
        if (n > 0 && (dst = scratch_room(r, n)) != NULL) {
            json_dumpb(v, dst, n, JSON_COMPACT | JSON_ENCODE_ANY);
            r->scratch.len += n;
            out.p = dst;
            out.len = n;
        } else if (n > 0) {
            out = spill_text(r, v);
        }
        break;
    case JSON_NULL:
        break;
    }
    return out;
}

/* The text of field 'f' in the record's JSON object; empty when absent. */
struct slice
input_json_field(struct record *r, const struct record_fieldref *f)
{
    json_t *v;

    if (r->json == NULL || (v = lookup(r->json, f->name, f->path, f->npath)) == NULL)
        return (struct slice){"", 0};
    return text_of(r, v);
}
