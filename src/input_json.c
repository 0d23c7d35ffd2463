/*
 * input_json.c -- the JSON parser, "line -> record" for event streams.
 *
 * One JSON object a line. The line is checked in one pass by a scanner that
 * accepts what jansson accepts (RFC 8259, UTF-8 strings, \u0000 allowed,
 * 64-bit integers and finite doubles, nesting up to 2,048) and records where
 * each top-level member's key and value are; nothing is built or copied.
 * Fields are looked up lazily, only those rules name: a key is first tried
 * as written ("http.request.method" as one flat key, as ECS writers do),
 * then as a dotted path into nested objects; of duplicate keys the last
 * wins. Values match as their text: strings as they are (unescaped when
 * they hold escapes), numbers in shortest form, booleans as true/false,
 * arrays of byte values (how journald writes a MESSAGE that is not valid
 * UTF-8) decoded to their bytes, other arrays and objects as compact JSON
 * (those alone go through jansson).
 */
#include "rarr/input_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "rarr/clock.h"

/* Keys tried for the timestamp, in order (docs/rules.md, the json format). */
static const char *const time_keys[] = {"@timestamp",           "timestamp", "time", "ts",
                                        "__REALTIME_TIMESTAMP", "date"};

#define DEPTH_MAX 2048

static const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int
hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    int i;

    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        int c = (unsigned char)p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence at 'p' (lead byte >= 0x80), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
    size_t n, i;
    unsigned c = p[0], cp;

    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/*
 * Check the string whose opening quote is at 'p': escapes, surrogate pairs,
 * no raw control bytes, valid UTF-8. Returns the byte after the closing
 * quote, or NULL; '*esc' tells whether it holds escapes.
 */
static const char *
scan_string(const char *p, const char *end, int *esc)
{
    unsigned u = 0, lo = 0;
    size_t n;

    *esc = 0;
    for (p++; p < end; p++) {
        unsigned char c;

#ifdef __SSE2__
        /* Plain ASCII, 16 bytes a step: stop at a quote, a backslash, a control or non-ASCII byte.
         */
        for (; end - p >= 16; p += 16) {
            const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                          _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                             _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)))); /* signed: >= 0x80 too */

            if (m != 0) {
                p += __builtin_ctz(m);
                break;
            }
        }
        if (p >= end)
            break;
#endif
        c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c >= 0x80) {
            if ((n = utf8_seq((const unsigned char *)p, (const unsigned char *)end)) == 0)
                return NULL;
            p += n - 1;
            continue;
        }
        if (c != '\\')
            continue;
        *esc = 1;
        if (++p >= end)
            return NULL;
        switch (*p) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            break;
        case 'u':
            if (hex4(p + 1, end, &u) == -1)
                return NULL;
            p += 4;
            if (u >= 0xdc00 && u <= 0xdfff)
                return NULL;
            if (u >= 0xd800 && u <= 0xdbff) {
                if (end - p < 7 || p[1] != '\\' || p[2] != 'u' || hex4(p + 3, end, &lo) == -1 ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return NULL;
                p += 6;
            }
            break;
        default:
            return NULL;
        }
    }
    return NULL;
}

/* Unescape the checked string body [p, p+len) into 'out' (room for len bytes); returns the length.
 */
static size_t
unescape(const char *p, size_t len, char *out)
{
    const char *end = p + len;
    char *w = out;
    unsigned u = 0, lo = 0;

    while (p < end) {
        if (*p != '\\') {
            *w++ = *p++;
            continue;
        }
        p++;
        switch (*p++) {
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        case 'n':
            *w++ = '\n';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'u':
            hex4(p, end, &u);
            p += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                hex4(p + 2, end, &lo);
                p += 6;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (u < 0x80) {
                *w++ = (char)u;
            } else if (u < 0x800) {
                *w++ = (char)(0xc0 | u >> 6);
                *w++ = (char)(0x80 | (u & 0x3f));
            } else if (u < 0x10000) {
                *w++ = (char)(0xe0 | u >> 12);
                *w++ = (char)(0x80 | (u >> 6 & 0x3f));
                *w++ = (char)(0x80 | (u & 0x3f));
            } else {
                *w++ = (char)(0xf0 | u >> 18);
                *w++ = (char)(0x80 | (u >> 12 & 0x3f));
                *w++ = (char)(0x80 | (u >> 6 & 0x3f));
                *w++ = (char)(0x80 | (u & 0x3f));
            }
            break;
        default: /* " \ / */
            *w++ = p[-1];
            break;
        }
    }
    return (size_t)(w - out);
}

/* Read a checked number: -1 out of range, 0 an integer in '*i', 1 a double in '*d'. */
static int
number_value(const char *p, size_t len, long long *i, double *d)
{
    char small[64], *text = small, *endp;
    int integer = memchr(p, '.', len) == NULL && memchr(p, 'e', len) == NULL &&
                  memchr(p, 'E', len) == NULL,
        rc;

    if (integer && len > 21)
        return -1; /* beyond 64 bits for sure */
    if (integer && len - (*p == '-') <= 18) {
        /* Within 64 bits for sure, and the scanner checked the digits: no strtoll. */
        size_t k;

        for (*i = 0, k = *p == '-'; k < len; k++)
            *i = *i * 10 + (p[k] - '0');
        if (*p == '-')
            *i = -*i;
        return 0;
    }
    if (len >= sizeof(small) && (text = malloc(len + 1)) == NULL)
        return -1;
    memcpy(text, p, len);
    text[len] = '\0';
    errno = 0;
    if (integer) {
        *i = strtoll(text, &endp, 10);
        rc = errno == ERANGE ? -1 : 0;
    } else {
        *d = strtod(text, &endp);
        rc = isfinite(*d) ? 1 : -1; /* like jansson: overflow fails, underflow does not */
    }
    if (text != small)
        free(text);
    return rc;
}

static const char *
scan_number(const char *p, const char *end)
{
    const char *start = p;
    long long i;
    double d;

    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (p < end && *p >= '1' && *p <= '9')
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (p < end && *p == '.') {
        if (++p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return number_value(start, (size_t)(p - start), &i, &d) == -1 ? NULL : p;
}

static const char *scan_value(const char *p, const char *end, int depth, char *type, int *esc);

static int
key_has_nul(const char *key, size_t len)
{
    char small[256], *buf = small;
    int nul;

    if (len > sizeof(small) && (buf = malloc(len)) == NULL)
        return 1;
    nul = memchr(buf, '\0', unescape(key, len, buf)) != NULL;
    if (buf != small)
        free(buf);
    return nul;
}

/*
 * Check the object or array at 'p' ('{' or '['). With 'm' not NULL (the top
 * level), record each member. Returns the byte after it, or NULL.
 */
static const char *
scan_container(const char *p, const char *end, int depth, struct record_members *m)
{
    int object = *p == '{', esc;
    char close = object ? '}' : ']', type;
    const char *key = "", *v;
    size_t key_len = 0;
    int key_esc = 0;

    if (++depth > DEPTH_MAX)
        return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        if (object) {
            if (p >= end || *p != '"' || (v = scan_string(p, end, &key_esc)) == NULL)
                return NULL;
            key = p + 1;
            key_len = (size_t)(v - p - 2);
            if (key_esc && key_has_nul(key, key_len))
                return NULL; /* jansson refuses a NUL in a key */
            p = skip_ws(v, end);
            if (p >= end || *p != ':')
                return NULL;
            p = skip_ws(p + 1, end);
        }
        if ((v = scan_value(p, end, depth, &type, &esc)) == NULL)
            return NULL;
        if (m != NULL) {
            struct record_member *e;

            if (m->n == m->cap) {
                size_t cap = m->cap ? 2 * m->cap : 16;

                if ((e = realloc(m->v, cap * sizeof(*e))) == NULL)
                    return NULL;
                m->v = e;
                m->cap = cap;
            }
            e = &m->v[m->n++];
            e->key = key;
            e->key_len = key_len;
            e->key_esc = (char)key_esc;
            e->val = type == 's' ? p + 1 : p;
            e->val_len = (size_t)(v - p) - (type == 's' ? 2 : 0);
            e->type = type;
            e->esc = (char)esc;
        }
        p = skip_ws(v, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == close)
            return p + 1;
        return NULL;
    }
}

/* Check one value at 'p'; '*type' is s, n, t, f, z (null), { or [. */
static const char *
scan_value(const char *p, const char *end, int depth, char *type, int *esc)
{
    *esc = 0;
    if (p >= end)
        return NULL;
    *type = *p;
    switch (*p) {
    case '"':
        *type = 's';
        return scan_string(p, end, esc);
    case '{':
    case '[':
        return scan_container(p, end, depth, NULL);
    case 't':
        return end - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return end - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        *type = 'z';
        return end - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default:
        *type = 'n';
        return scan_number(p, end);
    }
}

/* Whether member 'e''s key is 'name' (unescaping the key if it must). */
static int
key_is(const struct record_member *e, const char *name, size_t len)
{
    char small[256], *buf = small;
    size_t n;
    int eq;

    if (!e->key_esc)
        return e->key_len == len && memcmp(e->key, name, len) == 0;
    if (e->key_len > sizeof(small) && (buf = malloc(e->key_len)) == NULL)
        return 0;
    n = unescape(e->key, e->key_len, buf);
    eq = n == len && memcmp(buf, name, len) == 0;
    if (buf != small)
        free(buf);
    return eq;
}

/* The last member of 'm' named 'name', or NULL. */
static const struct record_member *
member(const struct record_members *m, const char *name, size_t len)
{
    size_t i;

    for (i = m->n; i-- > 0;)
        if (key_is(&m->v[i], name, len))
            return &m->v[i];
    return NULL;
}

/*
 * The member of record 'r' that field 'f' names: the key as written at the
 * top level, else the dotted path into nested objects (each level scanned
 * again into r->nest; '*hold' keeps the level being entered).
 */
static const struct record_member *
lookup(struct record *r, const char *name, char *const *path, size_t npath,
       struct record_member *hold)
{
    const struct record_member *v = member(&r->members, name, strlen(name));
    size_t i;

    if (v != NULL || npath < 2)
        return v;
    v = member(&r->members, path[0], strlen(path[0]));
    for (i = 1; i < npath && v != NULL && v->type == '{'; i++) {
        *hold = *v;
        r->nest.n = 0;
        if (scan_container(hold->val, hold->val + hold->val_len, 0, &r->nest) == NULL)
            return NULL;
        v = member(&r->nest, path[i], strlen(path[i]));
    }
    return i == npath ? v : NULL;
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
 * Keep 'len' bytes for the rest of the line: in the scratch buffer when it
 * has room (it may not move: earlier slices point into it), else in a JSON
 * string the record keeps until record_end. Empty on out-of-memory.
 */
static struct slice
keep(struct record *r, const char *p, size_t len)
{
    struct slice out = {"", 0};
    char *dst = scratch_room(r, len);
    json_t *js;

    if (dst != NULL) {
        memcpy(dst, p, len);
        r->scratch.len += len;
        return (struct slice){dst, len};
    }
    if ((js = json_stringn_nocheck(p, len)) == NULL)
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
json_text(struct record *r, json_t *v)
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

/*
 * The text of member 'e' as a rule sees it. Strings without escapes are
 * slices of the line; everything else is written into the scratch buffer,
 * which record_begin sized for the line (unescaped text is never longer
 * than its escaped form) plus 64 bytes a field.
 */
static struct slice
member_text(struct record *r, const struct record_member *e)
{
    struct slice out = {"", 0};
    const char *p, *end, *v;
    long long i;
    double d;
    char *dst, type;
    size_t n;
    int esc, rc;

    switch (e->type) {
    case 's':
        if (!e->esc)
            return (struct slice){e->val, e->val_len};
        if ((dst = scratch_room(r, e->val_len)) != NULL) {
            out.p = dst;
            out.len = unescape(e->val, e->val_len, dst);
            r->scratch.len += out.len;
        } else if ((dst = malloc(e->val_len)) != NULL) {
            out = keep(r, dst, unescape(e->val, e->val_len, dst));
            free(dst);
        }
        break;
    case 'n': {
        struct buf num;

        if ((rc = number_value(e->val, e->val_len, &i, &d)) == -1)
            break;
        /* An integer as JSON writes it (no leading zeros, no '+') is its own shortest text. */
        if (rc == 0 && !(e->val_len == 2 && e->val[0] == '-' && e->val[1] == '0'))
            return (struct slice){e->val, e->val_len};
        buf_init(&num);
        if ((rc == 0 ? buf_printf(&num, "%lld", i) : buf_add_double(&num, d)) == 0)
            out = keep(r, num.p, num.len);
        buf_fini(&num);
        break;
    }
    case 't':
        return (struct slice){"true", 4};
    case 'f':
        return (struct slice){"false", 5};
    case '[':
        /* An array of integers 0..255 is bytes (journald's MESSAGE that is not UTF-8). */
        p = skip_ws(e->val + 1, end = e->val + e->val_len);
        n = 0;
        while (p < end && *p != ']') {
            if ((v = scan_value(p, end, 1, &type, &esc)) == NULL || type != 'n' ||
                number_value(p, (size_t)(v - p), &i, &d) != 0 || i < 0 || i > 255)
                break;
            n++;
            p = skip_ws(v, end);
            if (p < end && *p == ',')
                p = skip_ws(p + 1, end);
        }
        if (p < end && *p == ']' && (dst = malloc(n + 1)) != NULL) {
            for (p = skip_ws(e->val + 1, end), n = 0; *p != ']'; n++) {
                v = scan_value(p, end, 1, &type, &esc);
                number_value(p, (size_t)(v - p), &i, &d);
                dst[n] = (char)i;
                p = skip_ws(v, end);
                if (*p == ',')
                    p = skip_ws(p + 1, end);
            }
            out = keep(r, dst, n);
            free(dst);
            break;
        }
        /* FALLTHROUGH */
    case '{': {
        /* Other arrays and objects match as their compact JSON text, by jansson. */
        json_t *j = json_loadb(e->val, e->val_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

        if (j != NULL) {
            out = json_text(r, j);
            json_decref(j);
        }
        break;
    }
    default: /* null */
        break;
    }
    return out;
}

/* The event time of member 'e': a string in any standard form, or epoch seconds/milliseconds. */
static int
member_time(struct record *r, const struct record_member *e, int64_t *ms, int *off_min)
{
    long long i;
    double d;
    int rc;

    *off_min = 0;
    if (e->type == 's') {
        struct slice t = member_text(r, e);

        return clock_parse_any_tz(t.p, t.len, ms, off_min);
    }
    if (e->type != 'n' || (rc = number_value(e->val, e->val_len, &i, &d)) == -1)
        return -1;
    return clock_from_number(rc == 0 ? (double)i : d, ms);
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
    const char *p = skip_ws(r->line.p, r->line.p + r->line.len), *end = r->line.p + r->line.len;
    const struct record_member *v = NULL;
    struct record_member hold;
    size_t i;

    r->lookup = input_json_field;
    r->members.n = 0;
    /* Like jansson: an object or an array at the top, nothing after it. */
    if (p == end || (*p != '{' && *p != '[') ||
        (p = scan_container(p, end, 0, *p == '{' ? &r->members : NULL)) == NULL ||
        skip_ws(p, end) != end) {
        *why = DIAG_BAD_JSON;
        return -1;
    }
    if (*skip_ws(r->line.p, end) != '{') {
        *why = DIAG_NOT_OBJECT;
        return -1;
    }
    r->is_json = 1;
    if (time_field != NULL) {
        v = lookup(r, time_field->name, time_field->path, time_field->npath, &hold);
    } else {
        for (i = 0; i < sizeof(time_keys) / sizeof(time_keys[0]) && v == NULL; i++)
            v = member(&r->members, time_keys[i], strlen(time_keys[i]));
    }
    if (v == NULL) {
        *why = DIAG_NO_TIME;
        return need_time ? -1 : 0;
    }
    if (member_time(r, v, &r->ts_ms, &r->tz_min) == -1) {
        *why = DIAG_BAD_TIME;
        return need_time ? -1 : 0;
    }
    r->has_ts = 1;
    return 0;
}

/* The text of field 'f' in the record's JSON object; empty when absent. */
struct slice
input_json_field(struct record *r, const struct record_fieldref *f)
{
    const struct record_member *v;
    struct record_member hold;

    if (!r->is_json || (v = lookup(r, f->name, f->path, f->npath, &hold)) == NULL)
        return (struct slice){"", 0};
    return member_text(r, v);
}
