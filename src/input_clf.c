/*
 * input_clf.c -- the combined/common parser, "line -> record" for web logs.
 *
 *   %h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-agent}i" [extra...]
 *
 * and vcombined, the same with a virtual host first (Apache's
 * vhost_combined "%v:%p %h ...", nginx with $host first), where the referer
 * and user agent may be missing (Apache's vhost_common):
 *
 *   %v[:%p] %h %l %u [%t] "%r" %>s %b ["%{Referer}i" "%{User-agent}i"] [extra...]
 *
 * The formats exclude each other by the tokens before the '[' of the time:
 * three for combined and common, four for vcombined.
 *
 * A hand parser, no regex: it walks the line once and fills the record's
 * CLF slots with slices of the line. Only a quoted field that contains
 * backslash escapes (\" or \\, as Apache writes them) is copied, unescaped,
 * into the record's scratch buffer, which record_begin sized for the line.
 * The request is split into its parts only when a rule reads one
 * (input_clf_field). "-" means empty, and a bytes field of "-" reads as "0"
 * (docs/rules.md lists the fields of each format).
 */
#include "rarr/input_clf.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "rarr/clock.h"

/*
 * The first byte in p..end that is 'c' or 'd', or NULL: memchr for the
 * short distances between a log line's fields, inlined, 16 bytes a step
 * where SSE2 is there (a call to memchr costs more than the scan over a
 * 3-byte status or a 13-byte IP). Bytes from 'lo' to 'end' are readable: a
 * last partial block is read as the 16 bytes that end at 'end' when they
 * start at or after 'lo'. Reads nothing outside lo..end.
 */
static inline const char *
find2(const char *lo, const char *p, const char *end, char c, char d)
{
#ifdef __SSE2__
    const __m128i nc = _mm_set1_epi8(c), nd = _mm_set1_epi8(d);
    __m128i x;
    unsigned m;

    for (; end - p >= 16; p += 16) {
        x = _mm_loadu_si128((const __m128i *)(const void *)p);
        m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, nc), _mm_cmpeq_epi8(x, nd)));
        if (m != 0)
            return p + __builtin_ctz(m);
    }
    if (p < end && end - lo >= 16) {
        x = _mm_loadu_si128((const __m128i *)(const void *)(end - 16));
        m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, nc), _mm_cmpeq_epi8(x, nd)));
        m >>= 16 - (end - p); /* the bytes from p on */
        return m != 0 ? p + __builtin_ctz(m) : NULL;
    }
#else
    (void)lo;
#endif
    for (; p < end; p++)
        if (*p == c || *p == d)
            return p;
    return NULL;
}

/* The first 'c' in p..end, or NULL (see find2). */
static inline const char *
find(const char *lo, const char *p, const char *end, char c)
{
    return find2(lo, p, end, c, c);
}

static struct slice
dash_empty(const char *p, size_t len)
{
    struct slice s = {p, len};

    if (len == 1 && p[0] == '-')
        s.len = 0;
    return s;
}

/* Read a space-delimited token at *pp (the line starts at 'lo'); the cursor ends on the space. */
static inline int
token(const char *lo, const char **pp, const char *end, struct slice *out)
{
    const char *p = *pp, *q;

    if (end - p >= 2 && p[0] == '-' && p[1] == ' ') { /* the usual ident and user */
        *out = (struct slice){p, 0};
        *pp = p + 1;
        return 0;
    }
    if ((q = find(lo, p, end, ' ')) == NULL)
        q = end;
    if (q == p)
        return -1;
    *out = dash_empty(p, (size_t)(q - p));
    *pp = q;
    return 0;
}

static inline int
space(const char **pp, const char *end)
{
    if (*pp >= end || **pp != ' ')
        return -1;
    (*pp)++;
    return 0;
}

/* Copy the quoted text p..q into the scratch buffer without its \" and \\ escapes. */
static struct slice
unescape(struct record *r, const char *p, const char *q)
{
    struct buf *s = &r->scratch;
    char *dst = s->p + s->len, *w = dst;
    const char *c;

    for (c = p; c < q; c++) {
        if (*c == '\\' && c + 1 < q && (c[1] == '"' || c[1] == '\\'))
            c++;
        *w++ = *c;
    }
    s->len += (size_t)(w - dst);
    return (struct slice){dst, (size_t)(w - dst)};
}

/*
 * The rest of a quoted field from p that has a backslash at q: walked byte
 * by byte to the closing quote and unescaped into the scratch buffer (never
 * reallocated: record_begin reserved room for the whole line).
 */
static int
quoted_escaped(struct record *r, const char **pp, const char *p, const char *q, const char *end,
               struct slice *out)
{
    for (; q < end && *q != '"'; q++)
        if (*q == '\\' && q + 1 < end)
            q++;
    if (q >= end)
        return -1;
    *pp = q + 1;
    *out = unescape(r, p, q);
    return 0;
}

/*
 * Read a quoted field at *pp, honouring \" and \\ escapes: one scan for
 * the closing quote or a backslash; a field with a backslash goes the slow
 * way (quoted_escaped).
 */
static inline __attribute__((always_inline)) int
quoted(struct record *r, const char **pp, const char *end, struct slice *out)
{
    const char *p = *pp, *q;

    if (p >= end || *p != '"')
        return -1;
    p++;
    if ((q = find2(r->line.p, p, end, '"', '\\')) == NULL)
        return -1;
    if (*q != '"')
        return quoted_escaped(r, pp, p, q, end, out);
    *pp = q + 1;
    *out = dash_empty(p, (size_t)(q - p));
    return 0;
}

/* Split "METHOD TARGET PROTOCOL" and the target at its first '?'. */
static void
split_request(struct record *r)
{
    struct slice req = r->clf[RECORD_F_REQUEST], target, none = {"", 0};
    const char *sp, *last, *q;

    r->clf[RECORD_F_METHOD] = r->clf[RECORD_F_PATH] = none;
    r->clf[RECORD_F_QUERY] = r->clf[RECORD_F_PROTOCOL] = none;
    if ((sp = find(req.p, req.p, req.p + req.len, ' ')) == NULL)
        return;
    r->clf[RECORD_F_METHOD] = (struct slice){req.p, (size_t)(sp - req.p)};
    target.p = sp + 1;
    target.len = req.len - (size_t)(target.p - req.p);
    last = target.p + target.len;
    if (target.len >= 9 && memcmp(last - 9, " HTTP/", 6) == 0 && last[-3] != ' ' &&
        last[-2] != ' ' && last[-1] != ' ')
        last -= 8; /* "HTTP/1.1", "HTTP/2.0": the last word, found without a walk back */
    else
        for (; last > target.p && last[-1] != ' '; last--)
            ;
    if (last > target.p && (size_t)(target.p + target.len - last) >= 5 &&
        memcmp(last, "HTTP/", 5) == 0) {
        r->clf[RECORD_F_PROTOCOL] = (struct slice){last, (size_t)(target.p + target.len - last)};
        target.len = (size_t)(last - 1 - target.p);
    }
    q = find(req.p, target.p, target.p + target.len, '?');
    if (q == NULL) {
        r->clf[RECORD_F_PATH] = target;
    } else {
        r->clf[RECORD_F_PATH] = (struct slice){target.p, (size_t)(q - target.p)};
        r->clf[RECORD_F_QUERY] = (struct slice){q + 1, target.len - (size_t)(q + 1 - target.p)};
    }
}

/* The value of CLF slot 'slot' of a parsed line: the request is split into its parts when one is
 * first read. */
struct slice
input_clf_field(struct record *r, int slot)
{
    if (!r->clf_split && (slot == RECORD_F_METHOD || slot == RECORD_F_PATH ||
                          slot == RECORD_F_QUERY || slot == RECORD_F_PROTOCOL)) {
        split_request(r);
        r->clf_split = 1;
    }
    return r->clf[slot];
}

static int
two_digits(const char *p, int max)
{
    int v;

    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    v = (p[0] - '0') * 10 + (p[1] - '0');
    return v <= max ? v : -1;
}

/* Milliseconds into the day of "dd/Mon/yyyy:HH:MM:SS +zzzz", or -1 if not of that plain shape. */
static int64_t
time_of_day(const char *t)
{
    int h, m, s;

    if (t[14] != ':' || t[17] != ':' || (h = two_digits(t + 12, 23)) < 0 ||
        (m = two_digits(t + 15, 59)) < 0 || (s = two_digits(t + 18, 59)) < 0)
        return -1;
    return (h * 3600LL + m * 60LL + s) * 1000;
}

/*
 * A time of the same minute, or of the same day and zone, as the last one
 * parsed: only the seconds, or only the time of day, are read, and the
 * cached time moves to this one. Most lines of a log qualify.
 */
static inline int
same_day(struct record *r, struct slice t, int64_t *ms)
{
    char *k = r->time_key;
    int64_t tod;
    int sec;

    if (t.len != 26 || r->time_key_len != 26 || memcmp(t.p, k, 12) != 0 ||
        memcmp(t.p + 20, k + 20, 6) != 0)
        return 0;
    if (memcmp(t.p + 12, k + 12, 6) == 0 && (sec = two_digits(t.p + 18, 59)) >= 0) {
        *ms = r->time_key_ms + (sec - ((k[18] - '0') * 10 + (k[19] - '0'))) * 1000LL;
    } else {
        if ((tod = time_of_day(t.p)) < 0)
            return 0;
        *ms = r->time_key_day_ms + tod;
    }
    memcpy(k + 12, t.p + 12, 8);
    r->time_key_ms = *ms;
    return 1;
}

static int
digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The time at p (after '['), its ']' in '*tp': a time of the day last parsed costs no search. */
static inline __attribute__((always_inline)) int
clf_time(struct record *r, const char *p, const char *end, const char **tp)
{
    struct slice t = {p, 26};
    int64_t tod;
    const char *q;

    if (end - p > 26 && p[26] == ']' && same_day(r, t, &r->ts_ms)) {
        r->tz_min = r->time_key_tz;
        *tp = p + 26;
        return 0;
    }
    if ((q = find(r->line.p, p, end, ']')) == NULL)
        return -1;
    *tp = q;
    t.len = (size_t)(q - p);
    if (same_day(r, t, &r->ts_ms)) {
        r->tz_min = r->time_key_tz;
        return 0;
    }
    if (clock_parse_clf_tz(t.p, t.len, &r->ts_ms, &r->tz_min) == -1)
        return -1;
    r->time_key_len = SIZE_MAX;
    if (t.len == 26 && (tod = time_of_day(t.p)) >= 0) {
        memcpy(r->time_key, t.p, 26);
        r->time_key_len = 26;
        r->time_key_ms = r->ts_ms;
        r->time_key_day_ms = r->ts_ms - tod;
        r->time_key_tz = r->tz_min;
    }
    return 0;
}

/*
 * The parser proper. input_clf_parse has two copies of it: one for
 * vcombined, and one for combined and common, which so pay nothing for the
 * vhost and the optional referer and user agent. quoted() and clf_time()
 * are inlined by force into both (GCC stopped inlining them into two copies:
 * callgrind, 100k lines: 199.8 M -> 208.3 M).
 */
static inline __attribute__((always_inline)) int
parse_as(struct record *r, enum record_format fmt)
{
    int combined = fmt != RECORD_COMMON;
    const char *lo = r->line.p, *p = lo, *end = lo + r->line.len, *t, *q;
    struct slice *f = r->clf;

    if (fmt != RECORD_VCOMBINED)
        f[RECORD_F_VHOST] = (struct slice){"", 0};
    else if (token(lo, &p, end, &f[RECORD_F_VHOST]) == -1 || space(&p, end) == -1)
        return -1;
    if (token(lo, &p, end, &f[RECORD_F_REMOTE_ADDR]) == -1 || space(&p, end) == -1 ||
        token(lo, &p, end, &f[RECORD_F_IDENT]) == -1 || space(&p, end) == -1 ||
        token(lo, &p, end, &f[RECORD_F_USER]) == -1 || space(&p, end) == -1)
        return -1;
    if (p >= end || *p != '[' || clf_time(r, p + 1, end, &t) == -1)
        return -1;
    f[RECORD_F_TIME] = (struct slice){p + 1, (size_t)(t - p - 1)};
    r->has_ts = 1;
    p = t + 1;
    if (space(&p, end) == -1 || quoted(r, &p, end, &f[RECORD_F_REQUEST]) == -1)
        return -1;
    /* " %>s %b": three digits, then digits or '-' (which reads as 0). */
    if (end - p < 6 || p[0] != ' ' || !digit(p[1]) || !digit(p[2]) || !digit(p[3]) || p[4] != ' ')
        return -1;
    f[RECORD_F_STATUS] = (struct slice){p + 1, 3};
    for (p += 5, q = p; q < end && digit(*q); q++)
        ;
    if (q > p)
        f[RECORD_F_BYTES] = (struct slice){p, (size_t)(q - p)};
    else if (*q++ == '-')
        f[RECORD_F_BYTES] = (struct slice){"0", 1};
    else
        return -1;
    if (q < end && *q != ' ')
        return -1;
    p = q;
    r->clf_split = 0;
    f[RECORD_F_REFERER] = f[RECORD_F_USER_AGENT] = f[RECORD_F_EXTRA] = (struct slice){"", 0};
    /* vcombined: the referer and user agent are there when a quote follows (not in vhost_common).
     */
    if (fmt == RECORD_VCOMBINED && (end - p < 2 || p[1] != '"'))
        combined = 0;
    if (combined && (space(&p, end) == -1 || quoted(r, &p, end, &f[RECORD_F_REFERER]) == -1 ||
                     space(&p, end) == -1 || quoted(r, &p, end, &f[RECORD_F_USER_AGENT]) == -1))
        return -1;
    if (p < end) {
        /* Extra trailing fields (nginx $request_time, key=value pairs). */
        if (*p != ' ')
            return -1;
        while (p < end && *p == ' ')
            p++;
        f[RECORD_F_EXTRA] = (struct slice){p, (size_t)(end - p)};
    }
    return 0;
}

/* The vcombined copy of the parser, out of line. */
__attribute__((noinline)) static int
parse_vcombined(struct record *r)
{
    return parse_as(r, RECORD_VCOMBINED);
}

/* The record's lookup of a field: its CLF slot; a field web logs do not have is empty. */
static struct slice
lookup(struct record *r, const struct record_fieldref *f)
{
    return f->clf >= 0 ? input_clf_field(r, f->clf) : (struct slice){"", 0};
}

/*
 * Parse r->line as a combined, common or vcombined log line into the
 * record's CLF slots (every one set, empty if absent) and timestamp. The
 * vhost is kept as written ("www.example.com:443"). The request's parts are
 * split when a rule first reads one (input_clf_field).
 * Returns 0, or -1 when the line does not have the shape; then the record's
 * slots are unspecified.
 */
int
input_clf_parse(struct record *r, enum record_format fmt)
{
    r->lookup = lookup;
    if (fmt == RECORD_VCOMBINED)
        return parse_vcombined(r);
    return parse_as(r, fmt);
}
