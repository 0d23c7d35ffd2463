/*
 * rules.c -- the rule-file parser: text in SPEC section 3's language becomes
 * a struct ruleset that match, window and alert read.
 *
 * One directive a line; a line is cut into tokens at white space, where a
 * single-quoted run is taken literally and may hold spaces, and '#' outside
 * quotes ends the line. Every error names FILE:LINE:COL and carries the
 * source line so main can underline the offending text. Names (of metrics in
 * ratios and alerts) are resolved in rules_finish(), after every file is read,
 * so the order of files in a rules directory does not matter. Regexes are
 * compiled by match_compile() from rules_finish().
 */
#include "rarr/rules.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/clock.h"
#include "rarr/match.h"

#define MAX_TOKENS 64

struct token {
    const char *p; /* as written, quotes included */
    size_t len;
    unsigned col;
};

/* What the parser of one line knows: where it is, for errors. */
struct cursor {
    struct ruleset *rs;
    const char *file; /* owned by rs */
    unsigned line;
    const char *src; /* the line, without its newline */
    size_t srclen;
    struct diag *d;
};

static const char *const category_names[] = {[RULES_NONE] = "",
                                             [RULES_RETENTION] = "retention",
                                             [RULES_ACTIVATION] = "activation",
                                             [RULES_REVENUE] = "revenue",
                                             [RULES_REFERRAL] = "referral"};

/* The category as written in rules and records ("" for none). */
const char *
rules_category_name(enum rules_category c)
{
    return category_names[c];
}

static int fail(struct cursor *c, unsigned col, unsigned width, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct cursor *c, unsigned col, unsigned width, const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof(c->d->msg)];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_set(c->d, c->file, c->line, col, "%s", msg);
    diag_source(c->d, c->src, c->srclen, width);
    return -1;
}

static int
oom(struct cursor *c)
{
    return fail(c, 0, 0, "out of memory");
}

static char *
xstrndup(const char *p, size_t len)
{
    char *s = malloc(len + 1);

    if (s != NULL) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

/* Grow an array of 'size'-byte elements by one; NULL on overflow or OOM. */
static void *
grow(void *arr, size_t *n, size_t size)
{
    void *p;

    if (*n >= SIZE_MAX / size - 1)
        return NULL;
    if ((p = realloc(arr, (*n + 1) * size)) == NULL)
        return NULL;
    memset((char *)p + *n * size, 0, size);
    (*n)++;
    return p;
}

/* Make an empty ruleset. Returns NULL on out-of-memory. */
struct ruleset *
rules_new(void)
{
    return calloc(1, sizeof(struct ruleset));
}

static void
cond_fini(struct rules_cond *c)
{
    free(c->text);
    free(c->srcline);
    free(c->groups);
    pcre2_code_free(c->re);
}

/* Free a ruleset and everything it owns. Does nothing if 'rs' is NULL. */
void
rules_free(struct ruleset *rs)
{
    size_t i, j;

    if (rs == NULL)
        return;
    for (i = 0; i < rs->nfiles; i++)
        free(rs->files[i]);
    free(rs->files);
    for (i = 0; i < rs->ndefines; i++) {
        free(rs->defines[i].name);
        free(rs->defines[i].text);
    }
    free(rs->defines);
    for (i = 0; i < rs->nmetrics; i++) {
        struct rules_metric *m = &rs->metrics[i];

        for (j = 0; j < m->nconds; j++)
            cond_fini(&m->conds[j]);
        free(m->conds);
        free(m->name);
        free(m->a_name);
        free(m->b_name);
        free(m->srcline);
    }
    free(rs->metrics);
    for (i = 0; i < rs->nalerts; i++) {
        free(rs->alerts[i].metric_name);
        free(rs->alerts[i].rule);
        free(rs->alerts[i].srcline);
    }
    free(rs->alerts);
    for (i = 0; i < rs->nfields; i++) {
        for (j = 0; j < rs->fields[i].npath; j++)
            free(rs->fields[i].path[j]);
        free(rs->fields[i].path);
        free(rs->fields[i].name);
    }
    free(rs->fields);
    free(rs);
}

/*
 * The number of field 'name' in the ruleset's field table, adding it (with
 * its CLF slot and JSON key path) the first time. SIZE_MAX on out-of-memory.
 */
size_t
rules_field(struct ruleset *rs, const char *name)
{
    struct record_fieldref *f, *arr;
    const char *p, *dot;
    size_t i;

    for (i = 0; i < rs->nfields; i++)
        if (strcmp(rs->fields[i].name, name) == 0)
            return i;
    if ((arr = grow(rs->fields, &rs->nfields, sizeof(*arr))) == NULL)
        return SIZE_MAX;
    rs->fields = arr;
    f = &arr[rs->nfields - 1];
    f->clf = record_clf_field(name);
    if ((f->name = strdup(name)) == NULL)
        goto oom;
    for (p = name;; p = dot + 1) {
        char **path;

        dot = strchr(p, '.');
        if ((path = grow(f->path, &f->npath, sizeof(*path))) == NULL)
            goto oom;
        f->path = path;
        if ((path[f->npath - 1] = xstrndup(p, dot ? (size_t)(dot - p) : strlen(p))) == NULL)
            goto oom;
        if (dot == NULL)
            break;
    }
    return rs->nfields - 1;
oom:
    /* Leave the half-made entry: rules_free frees it. */
    return SIZE_MAX;
}

/* Find a metric or ratio by name. Returns 0 with '*out' set, or -1. */
int
rules_lookup_metric(const struct ruleset *rs, const char *name, size_t *out)
{
    size_t i;

    for (i = 0; i < rs->nmetrics; i++) {
        if (strcmp(rs->metrics[i].name, name) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

/*
 * Cut a line into tokens. A quote runs to the next quote; '#' outside quotes
 * ends the line. Returns the number of tokens or -1 (unterminated quote).
 */
static int
tokenize(struct cursor *c, struct token *tok)
{
    const char *p = c->src, *end = c->src + c->srclen;
    int n = 0;

    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end || *p == '#')
            return n;
        if (n == MAX_TOKENS)
            return fail(c, (unsigned)(p - c->src) + 1, 1, "too many words on one line (at most %d)",
                        MAX_TOKENS);
        tok[n].p = p;
        tok[n].col = (unsigned)(p - c->src) + 1;
        while (p < end && *p != ' ' && *p != '\t' && *p != '#') {
            if (*p == '\'') {
                const char *q = memchr(p + 1, '\'', (size_t)(end - p - 1));

                if (q == NULL)
                    return fail(c, (unsigned)(p - c->src) + 1, 1,
                                "unterminated quote (a quote inside a regex is written \\x27)");
                p = q;
            }
            p++;
        }
        tok[n].len = (size_t)(p - tok[n].p);
        n++;
    }
}

/* Copy a token's text without its quotes ("'a b'c" -> "a bc"). */
static char *
unquote(const char *p, size_t len)
{
    char *s = malloc(len + 1), *w = s;
    size_t i;

    if (s == NULL)
        return NULL;
    for (i = 0; i < len; i++)
        if (p[i] != '\'')
            *w++ = p[i];
    *w = '\0';
    return s;
}

static int
is_name(const char *p, size_t len)
{
    size_t i;

    if (len == 0 || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '_'))
        return 0;
    for (i = 1; i < len; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
              (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
            return 0;
    return 1;
}

/*
 * Expand %{NAME} references to earlier defines in a regex written at column
 * 'col'. Returns a new string (caller frees) or NULL with the error set.
 */
static char *
expand(struct cursor *c, const char *p, size_t len, unsigned col, size_t *literal_len)
{
    struct buf b;
    size_t i = 0, j;
    int expanded = 0;

    buf_init(&b);
    *literal_len = len;
    while (i < len) {
        const char *close;

        if (!(p[i] == '%' && i + 1 < len && p[i + 1] == '{') ||
            (close = memchr(p + i, '}', len - i)) == NULL) {
            if (buf_addc(&b, p[i++]) == -1)
                goto oom;
            continue;
        }
        for (j = 0; j < c->rs->ndefines; j++)
            if (strlen(c->rs->defines[j].name) == (size_t)(close - p - i - 2) &&
                memcmp(c->rs->defines[j].name, p + i + 2, (size_t)(close - p - i - 2)) == 0)
                break;
        if (j == c->rs->ndefines) {
            fail(c, col + (unsigned)i, (unsigned)(close - p - i + 1),
                 "undefined pattern '%.*s' (define it earlier with: define NAME 'REGEX')",
                 (int)(close - p - i + 1), p + i);
            buf_fini(&b);
            return NULL;
        }
        if (!expanded)
            *literal_len = b.len;
        expanded = 1;
        if (buf_adds(&b, c->rs->defines[j].text) == -1)
            goto oom;
        i = (size_t)(close - p) + 1;
    }
    if (buf_addc(&b, '\0') == -1)
        goto oom;
    b.len--;
    return b.p;
oom:
    buf_fini(&b);
    oom(c);
    return NULL;
}

/*
 * The column in the source line of the first byte of a token's value (after
 * 'skip' bytes of key and operator, and after an opening quote).
 */
static unsigned
value_col(const struct token *t, size_t skip)
{
    return t->col + (unsigned)skip + (skip < t->len && t->p[skip] == '\'');
}

static int
parse_define(struct cursor *c, struct token *tok, int n)
{
    struct ruleset *rs = c->rs;
    struct rules_define *d;
    size_t i, lit;
    char *text;

    if (n != 3)
        return fail(c, n < 3 ? (unsigned)c->srclen + 1 : tok[3].col, 1,
                    "expected: define NAME 'REGEX'");
    if (!is_name(tok[1].p, tok[1].len))
        return fail(c, tok[1].col, (unsigned)tok[1].len,
                    "bad name '%.*s' (letters, digits and _, not starting with a digit)",
                    (int)tok[1].len, tok[1].p);
    for (i = 0; i < rs->ndefines; i++)
        if (strlen(rs->defines[i].name) == tok[1].len &&
            memcmp(rs->defines[i].name, tok[1].p, tok[1].len) == 0)
            return fail(c, tok[1].col, (unsigned)tok[1].len, "pattern '%.*s' is already defined",
                        (int)tok[1].len, tok[1].p);
    {
        char *raw = unquote(tok[2].p, tok[2].len);

        if (raw == NULL)
            return oom(c);
        text = expand(c, raw, strlen(raw), value_col(&tok[2], 0), &lit);
        free(raw);
    }
    if (text == NULL)
        return -1;
    if ((d = grow(rs->defines, &rs->ndefines, sizeof(*d))) == NULL) {
        free(text);
        return oom(c);
    }
    rs->defines = d;
    d[rs->ndefines - 1].text = text;
    if ((d[rs->ndefines - 1].name = xstrndup(tok[1].p, tok[1].len)) == NULL)
        return oom(c);
    return 0;
}

static int
check_new_name(struct cursor *c, const struct token *t)
{
    size_t i;

    if (!is_name(t->p, t->len))
        return fail(c, t->col, (unsigned)t->len,
                    "bad name '%.*s' (letters, digits and _, not starting with a digit)",
                    (int)t->len, t->p);
    for (i = 0; i < c->rs->nmetrics; i++)
        if (strlen(c->rs->metrics[i].name) == t->len &&
            memcmp(c->rs->metrics[i].name, t->p, t->len) == 0)
            return fail(c, t->col, (unsigned)t->len, "'%.*s' is already defined at %s:%u",
                        (int)t->len, t->p, c->rs->metrics[i].loc.file, c->rs->metrics[i].loc.line);
    return 0;
}

static struct rules_metric *
new_metric(struct cursor *c, const struct token *name)
{
    struct rules_metric *m;

    if ((m = grow(c->rs->metrics, &c->rs->nmetrics, sizeof(*m))) == NULL) {
        oom(c);
        return NULL;
    }
    c->rs->metrics = m;
    m = &m[c->rs->nmetrics - 1];
    m->loc = (struct rules_loc){c->file, c->line, name->col};
    m->name = xstrndup(name->p, name->len);
    m->srcline = xstrndup(c->src, c->srclen);
    if (m->name == NULL || m->srcline == NULL) {
        oom(c);
        return NULL;
    }
    return m;
}

static int
parse_category(struct cursor *c, const struct token *t, const char *v, enum rules_category *out)
{
    int i;

    for (i = RULES_RETENTION; i <= RULES_REFERRAL; i++) {
        if (strcmp(v, category_names[i]) == 0) {
            *out = (enum rules_category)i;
            return 0;
        }
    }
    return fail(c, value_col(t, 5), (unsigned)strlen(v),
                "unknown category '%s' (expected retention, activation, revenue or referral)", v);
}

/* Find the operator of "key~v", "key!~v" or "key=v" outside quotes. */
static size_t
find_op(const struct token *t, enum rules_op *op, size_t *oplen)
{
    size_t i;

    for (i = 0; i < t->len && t->p[i] != '\''; i++) {
        if (t->p[i] == '~') {
            *op = RULES_MATCH;
            *oplen = 1;
            if (i > 0 && t->p[i - 1] == '!') {
                *op = RULES_NOT_MATCH;
                *oplen = 2;
                return i - 1;
            }
            return i;
        }
        if (t->p[i] == '=') {
            *op = RULES_EQUAL;
            *oplen = 1;
            return i;
        }
    }
    return SIZE_MAX;
}

static int
add_cond(struct cursor *c, struct rules_metric *m, const struct token *t, size_t at,
         enum rules_op op, size_t oplen)
{
    struct rules_cond *cond;
    char *field, *raw;
    size_t vstart = at + oplen;

    if ((cond = grow(m->conds, &m->nconds, sizeof(*cond))) == NULL)
        return oom(c);
    m->conds = cond;
    cond = &cond[m->nconds - 1];
    if ((field = xstrndup(t->p, at)) == NULL)
        return oom(c);
    cond->field = rules_field(c->rs, field);
    free(field);
    if (cond->field == SIZE_MAX)
        return oom(c);
    cond->op = op;
    cond->loc = (struct rules_loc){c->file, c->line, value_col(t, vstart)};
    if ((cond->srcline = xstrndup(c->src, c->srclen)) == NULL ||
        (raw = unquote(t->p + vstart, t->len - vstart)) == NULL)
        return oom(c);
    if (op == RULES_EQUAL) {
        cond->text = raw;
        cond->len = cond->literal_len = strlen(raw);
        return 0;
    }
    cond->text = expand(c, raw, strlen(raw), cond->loc.col, &cond->literal_len);
    free(raw);
    if (cond->text == NULL)
        return -1;
    cond->len = strlen(cond->text);
    return 0;
}

static int
parse_metric(struct cursor *c, struct token *tok, int n)
{
    struct rules_metric *m;
    int i, have_kind = 0;

    if (n < 2)
        return fail(c, (unsigned)c->srclen + 1, 1,
                    "expected: metric NAME [rarr=CATEGORY] [CONDITION...] [sum=FIELD]");
    if (check_new_name(c, &tok[1]) == -1 || (m = new_metric(c, &tok[1])) == NULL)
        return -1;
    for (i = 2; i < n; i++) {
        struct token *t = &tok[i];
        enum rules_op op;
        size_t oplen, at = find_op(t, &op, &oplen);
        char *v;

        if (at == SIZE_MAX || at == 0)
            return fail(c, t->col, (unsigned)t->len,
                        "expected a condition like field~'regex', field!~'regex' or "
                        "field='text', or an option, got '%.*s'",
                        (int)t->len, t->p);
        if (op != RULES_EQUAL) {
            if (add_cond(c, m, t, at, op, oplen) == -1)
                return -1;
            continue;
        }
#define KEY(s) (at == sizeof(s) - 1 && memcmp(t->p, s, at) == 0)
        if (!KEY("rarr") && !KEY("sum") && !KEY("distinct") && !KEY("p50") && !KEY("p95") &&
            !KEY("p99") && !KEY("by") && !KEY("max_keys")) {
            if (add_cond(c, m, t, at, op, oplen) == -1)
                return -1;
            continue;
        }
        if ((v = unquote(t->p + at + 1, t->len - at - 1)) == NULL)
            return oom(c);
        if (KEY("rarr")) {
            int rc = parse_category(c, t, v, &m->category);

            free(v);
            if (rc == -1)
                return -1;
        } else if (KEY("sum")) {
            if (have_kind++ || v[0] == '\0') {
                free(v);
                return fail(c, t->col, (unsigned)t->len,
                            have_kind > 1 ? "a metric has one kind at most" : "sum= needs a field");
            }
            m->kind = RULES_SUM;
            m->sum_field = rules_field(c->rs, v);
            free(v);
            if (m->sum_field == SIZE_MAX)
                return oom(c);
        } else {
            free(v);
            return fail(c, t->col, (unsigned)at,
                        "'%.*s=' is not supported by this version of rarr (count and sum= are)",
                        (int)at, t->p);
        }
#undef KEY
    }
    return 0;
}

static int
parse_number(struct cursor *c, const struct token *t, size_t skip, double *out)
{
    char *v = unquote(t->p + skip, t->len - skip), *end;
    int rc = 0;

    if (v == NULL)
        return oom(c);
    errno = 0;
    *out = strtod(v, &end);
    if (v[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(*out))
        rc = fail(c, value_col(t, skip), (unsigned)(t->len - skip), "expected a number, got '%s'",
                  v);
    free(v);
    return rc;
}

static int
parse_duration(struct cursor *c, const struct token *t, size_t skip, int64_t *out, int positive)
{
    const char *why;
    char *v = unquote(t->p + skip, t->len - skip);
    int rc = 0;

    if (v == NULL)
        return oom(c);
    if (clock_parse_duration(v, strlen(v), out, &why) == -1)
        rc = fail(c, value_col(t, skip), (unsigned)(t->len - skip),
                  "bad duration '%s': %s (expected a duration like 15m or 1h30m; units ms s m h "
                  "d w)",
                  v, why);
    else if (positive && *out == 0)
        rc = fail(c, value_col(t, skip), (unsigned)(t->len - skip), "a window must be positive");
    free(v);
    return rc;
}

/* ratio NAME = A / B [* K] [min=N] [rarr=CATEGORY] */
static int
parse_ratio(struct cursor *c, struct token *tok, int n)
{
    struct rules_metric *m;
    struct token name;
    const char *p, *end = c->src + c->srclen, *s;
    int i;

    if (n < 2)
        return fail(c, (unsigned)c->srclen + 1, 1, "expected: ratio NAME = A / B [* K] [min=N]");
    /* "ratio r=a/b": the name ends at '=' even without a space. */
    name = tok[1];
    if ((s = memchr(name.p, '=', name.len)) != NULL)
        name.len = (size_t)(s - name.p);
    if (check_new_name(c, &name) == -1 || (m = new_metric(c, &name)) == NULL)
        return -1;
    m->kind = RULES_RATIO;
    m->k = 1;
    m->min = 1;
    /* The expression is read by characters: "a/b*100" and "a / b * 100" alike. */
    p = name.p + name.len;
#define SKIP()                                                                                     \
    while (p < end && (*p == ' ' || *p == '\t'))                                                   \
    p++
#define WANT(ch, what)                                                                             \
    do {                                                                                           \
        SKIP();                                                                                    \
        if (p >= end || *p != (ch))                                                                \
            return fail(c, (unsigned)(p - c->src) + 1, 1, "expected %s", what);                    \
        p++;                                                                                       \
    } while (0)
#define NAME(dst)                                                                                  \
    do {                                                                                           \
        SKIP();                                                                                    \
        for (s = p; p < end && (is_name(s, (size_t)(p - s + 1))); p++)                             \
            ;                                                                                      \
        if (p == s)                                                                                \
            return fail(c, (unsigned)(s - c->src) + 1, 1, "expected a metric name");               \
        if (((dst) = xstrndup(s, (size_t)(p - s))) == NULL)                                        \
            return oom(c);                                                                         \
    } while (0)
    WANT('=', "'=' after the ratio's name (ratio NAME = A / B)");
    NAME(m->a_name);
    m->a_col = (unsigned)(s - c->src) + 1;
    WANT('/', "'/' between the two metrics (ratio NAME = A / B)");
    NAME(m->b_name);
    m->b_col = (unsigned)(s - c->src) + 1;
    SKIP();
    if (p < end && *p == '*') {
        char *num, *numend;
        int bad;

        p++;
        SKIP();
        for (s = p; p < end && *p != ' ' && *p != '\t' && *p != '#'; p++)
            ;
        if ((num = xstrndup(s, (size_t)(p - s))) == NULL)
            return oom(c);
        m->k = strtod(num, &numend);
        bad = num[0] == '\0' || *numend != '\0' || !isfinite(m->k);
        free(num);
        if (bad)
            return fail(c, (unsigned)(s - c->src) + 1, p > s ? (unsigned)(p - s) : 1,
                        "expected a number after '*'");
    }
    /* Text glued to the expression ("a / b-c") is an error, not an ignored tail. */
    if (p < end && *p != ' ' && *p != '\t' && *p != '#' && p[-1] != ' ' && p[-1] != '\t') {
        for (s = p; p < end && *p != ' ' && *p != '\t' && *p != '#'; p++)
            ;
        return fail(c, (unsigned)(s - c->src) + 1, (unsigned)(p - s),
                    "unexpected '%.*s' after the ratio (expected * K, min=N or rarr=CATEGORY)",
                    (int)(p - s), s);
    }
#undef SKIP
#undef WANT
#undef NAME
    /* The rest are options: the tokens that start at or after p. */
    for (i = 2; i < n; i++) {
        struct token *t = &tok[i];

        if (t->p < p)
            continue;
        if (t->len > 4 && memcmp(t->p, "min=", 4) == 0) {
            if (parse_number(c, t, 4, &m->min) == -1)
                return -1;
        } else if (t->len > 5 && memcmp(t->p, "rarr=", 5) == 0) {
            char *v = unquote(t->p + 5, t->len - 5);
            int rc;

            if (v == NULL)
                return oom(c);
            rc = parse_category(c, t, v, &m->category);
            free(v);
            if (rc == -1)
                return -1;
        } else {
            return fail(c, t->col, (unsigned)t->len,
                        "unknown ratio option '%.*s' (expected min=N or rarr=CATEGORY)",
                        (int)t->len, t->p);
        }
    }
    return 0;
}

/* Read the value of option 't' (after 'skip' bytes) as one of 'words'; -1 with an error. */
static int
parse_word(struct cursor *c, const struct token *t, size_t skip, const char *const *words,
           int nwords, const char *expected)
{
    size_t len = t->len - skip;
    int i;

    for (i = 0; i < nwords; i++)
        if (strlen(words[i]) == len && memcmp(t->p + skip, words[i], len) == 0)
            return i;
    return fail(c, value_col(t, skip), (unsigned)len, "unknown value '%.*s' (expected %s)",
                (int)len, t->p + skip, expected);
}

/*
 * alert METRIC window=DUR (below=X | above=X) [for=DUR] [clear=X] [name=ID]
 * anomaly METRIC window=DUR [season=none|daily|weekly] [direction=drop|spike|both]
 *         [sensitivity=low|medium|high] [min=N] [for=DUR] [name=ID]
 * Both watch one metric over a window and share the state machine's shape,
 * so they share one struct and this one parser.
 */
static int
parse_alert(struct cursor *c, struct token *tok, int n, int anomaly)
{
    static const char *const seasons[] = {"none", "daily", "weekly"};
    static const char *const directions[] = {"both", "drop", "spike"};
    static const char *const sensitivities[] = {"low", "medium", "high"};
    static const double fars[] = {0.01, 0.1, 1};
    struct rules_alert *a;
    int i, w, have_op = 0, have_window = 0, have_clear = 0;
    char dur[RARR_DUR_MAX];
    struct buf b;

    if (n < 2 || !is_name(tok[1].p, tok[1].len))
        return fail(c, n < 2 ? (unsigned)c->srclen + 1 : tok[1].col,
                    n < 2 ? 1 : (unsigned)tok[1].len,
                    anomaly ? "expected: anomaly METRIC window=DUR [season=…] [direction=…] "
                              "[sensitivity=…] [min=N] [for=DUR] [name=ID]"
                            : "expected: alert METRIC window=DUR (below=X | above=X) [for=DUR] "
                              "[clear=X] [name=ID]");
    if ((a = grow(c->rs->alerts, &c->rs->nalerts, sizeof(*a))) == NULL)
        return oom(c);
    c->rs->alerts = a;
    a = &a[c->rs->nalerts - 1];
    a->anomaly = anomaly;
    a->season = RULES_SEASON_WEEKLY;
    a->far = 0.1;
    a->min = 10;
    a->loc = (struct rules_loc){c->file, c->line, tok[1].col};
    if ((a->metric_name = xstrndup(tok[1].p, tok[1].len)) == NULL ||
        (a->srcline = xstrndup(c->src, c->srclen)) == NULL)
        return oom(c);
    for (i = 2; i < n; i++) {
        struct token *t = &tok[i];
        const char *eq = memchr(t->p, '=', t->len);
        size_t k = eq ? (size_t)(eq - t->p) : t->len;

#define KEY(s) (k == sizeof(s) - 1 && memcmp(t->p, s, k) == 0)
        if (eq == NULL || eq + 1 == t->p + t->len) {
            return fail(c, t->col, (unsigned)t->len,
                        "expected an option like window=15m, got '%.*s'", (int)t->len, t->p);
        } else if (KEY("window")) {
            a->window_loc = (struct rules_loc){c->file, c->line, t->col};
            a->window_width = (unsigned)t->len;
            have_window = 1;
            if (parse_duration(c, t, k + 1, &a->window_ms, 1) == -1)
                return -1;
        } else if (KEY("for")) {
            if (parse_duration(c, t, k + 1, &a->for_ms, 0) == -1)
                return -1;
        } else if (KEY("name")) {
            free(a->rule);
            if ((a->rule = unquote(t->p + k + 1, t->len - k - 1)) == NULL)
                return oom(c);
        } else if (!anomaly && (KEY("below") || KEY("above"))) {
            if (have_op++)
                return fail(c, t->col, (unsigned)t->len, "an alert has one of below= or above=");
            a->above = KEY("above");
            if (parse_number(c, t, k + 1, &a->threshold) == -1)
                return -1;
        } else if (!anomaly && KEY("clear")) {
            have_clear = 1;
            if (parse_number(c, t, k + 1, &a->clear) == -1)
                return -1;
        } else if (anomaly && KEY("season")) {
            if ((w = parse_word(c, t, k + 1, seasons, 3, "none, daily or weekly")) == -1)
                return -1;
            a->season = (enum rules_season)w;
        } else if (anomaly && KEY("direction")) {
            if ((w = parse_word(c, t, k + 1, directions, 3, "drop, spike or both")) == -1)
                return -1;
            a->direction = (enum rules_direction)w;
        } else if (anomaly && KEY("sensitivity")) {
            if ((w = parse_word(c, t, k + 1, sensitivities, 3, "low, medium or high")) == -1)
                return -1;
            a->far = fars[w];
        } else if (anomaly && KEY("min")) {
            a->min_given = 1;
            if (parse_number(c, t, k + 1, &a->min) == -1)
                return -1;
            if (a->min < 0)
                return fail(c, value_col(t, k + 1), (unsigned)(t->len - k - 1),
                            "min= cannot be negative");
        } else {
            return fail(c, t->col, (unsigned)k, "unknown option '%.*s' (expected %s)", (int)k, t->p,
                        anomaly ? "window, season, direction, sensitivity, min, for, name"
                                : "window, below, above, for, clear, name");
        }
#undef KEY
    }
    if (anomaly && !have_window)
        return fail(c, tok[0].col, (unsigned)tok[0].len, "an anomaly rule needs window=");
    if (!anomaly && (!have_window || !have_op))
        return fail(c, tok[0].col, (unsigned)tok[0].len,
                    "an alert needs window= and below= or above=");
    if (!have_clear) {
        a->clear = a->threshold;
    } else if (a->above ? a->clear > a->threshold : a->clear < a->threshold) {
        return fail(c, tok[0].col, (unsigned)tok[0].len,
                    "clear=%g is on the wrong side of the threshold %g (it must be %s it)",
                    a->clear, a->threshold, a->above ? "at or below" : "at or above");
    }
    if (a->rule != NULL)
        return 0;
    clock_format_duration(a->window_ms, dur);
    buf_init(&b);
    if (anomaly
            ? buf_printf(&b, "%s anomaly over %s", a->metric_name, dur) == -1
            : (buf_printf(&b, "%s %s ", a->metric_name, a->above ? "above" : "below") == -1 ||
               buf_add_double(&b, a->threshold) == -1 || buf_printf(&b, " over %s", dur) == -1)) {
        buf_fini(&b);
        return oom(c);
    }
    a->rule = b.p;
    return 0;
}

static int
parse_line(struct cursor *c)
{
    struct token tok[MAX_TOKENS] = {{0}};
    int n = tokenize(c, tok);

#define IS(s) (tok[0].len == sizeof(s) - 1 && memcmp(tok[0].p, s, tok[0].len) == 0)
    if (n <= 0)
        return n;
    if (IS("define"))
        return parse_define(c, tok, n);
    if (IS("metric"))
        return parse_metric(c, tok, n);
    if (IS("ratio"))
        return parse_ratio(c, tok, n);
    if (IS("alert"))
        return parse_alert(c, tok, n, 0);
    if (IS("anomaly"))
        return parse_alert(c, tok, n, 1);
    return fail(c, tok[0].col, (unsigned)tok[0].len,
                "unknown directive '%.*s' (expected define, metric, ratio, alert or anomaly)",
                (int)tok[0].len, tok[0].p);
#undef IS
}

/*
 * Parse rule text 'text' read from 'file' (a name for messages) into 'rs'.
 * Returns 0, or -1 with 'd' set to the first error.
 */
int
rules_parse(struct ruleset *rs, const char *file, const char *text, size_t len, struct diag *d)
{
    struct cursor c = {.rs = rs, .d = d};
    const char *p = text, *end = text + len, *nl, *nul;
    char **files;

    if ((files = grow(rs->files, &rs->nfiles, sizeof(*files))) == NULL) {
        diag_set(d, file, 0, 0, "out of memory");
        return -1;
    }
    rs->files = files;
    if ((files[rs->nfiles - 1] = strdup(file)) == NULL) {
        diag_set(d, file, 0, 0, "out of memory");
        return -1;
    }
    c.file = files[rs->nfiles - 1];
    for (; p < end; p = nl + 1) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;
        c.line++;
        c.src = p;
        c.srclen = (size_t)(nl - p);
        if (c.srclen > 0 && p[c.srclen - 1] == '\r')
            c.srclen--;
        if ((nul = memchr(p, '\0', c.srclen)) != NULL)
            return fail(&c, (unsigned)(nul - p) + 1, 1, "a NUL byte in a rule file");
        if (parse_line(&c) == -1)
            return -1;
        if (nl == end)
            break;
    }
    return 0;
}

static int
read_file(const char *path, struct buf *b)
{
    FILE *fp = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (fp == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (buf_add(b, chunk, n) == -1) {
            errno = ENOMEM;
            rc = -1;
            break;
        }
    }
    if (ferror(fp))
        rc = -1;
    fclose(fp);
    return rc;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Load a rule file, or every "*.rarr" file of a directory in name order.
 * Returns 0 or -1 with 'd' set.
 */
int
rules_load_path(struct ruleset *rs, const char *path, struct diag *d)
{
    struct buf b;
    DIR *dir;
    int rc = -1;

    if ((dir = opendir(path)) != NULL) {
        struct dirent *e;
        char **names = NULL;
        size_t n = 0, i, len;

        rc = 0;
        while ((e = readdir(dir)) != NULL) {
            char **nn;

            len = strlen(e->d_name);
            if (len < 6 || strcmp(e->d_name + len - 5, ".rarr") != 0 || e->d_name[0] == '.')
                continue;
            if ((nn = grow(names, &n, sizeof(*nn))) == NULL ||
                (nn[n - 1] = malloc(strlen(path) + len + 2)) == NULL) {
                if (nn != NULL)
                    names = nn;
                diag_set(d, path, 0, 0, "out of memory");
                rc = -1;
                break;
            }
            names = nn;
            sprintf(names[n - 1], "%s/%s", path, e->d_name);
        }
        closedir(dir);
        if (rc == 0 && n == 0) {
            diag_set(d, path, 0, 0, "no *.rarr files in this directory");
            rc = -1;
        }
        if (names != NULL)
            qsort(names, n, sizeof(*names), cmp_names);
        for (i = 0; names != NULL && i < n; i++) {
            if (rc == 0 && names[i] != NULL)
                rc = rules_load_path(rs, names[i], d);
            free(names[i]);
        }
        free(names);
        return rc;
    }
    buf_init(&b);
    if (read_file(path, &b) == -1)
        diag_set(d, path, 0, 0, "%s", strerror(errno));
    else
        rc = rules_parse(rs, path, buf_cstr(&b), b.len, d);
    buf_fini(&b);
    return rc;
}

static int fail_at(struct diag *d, const struct rules_loc *loc, const char *srcline, unsigned width,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail_at(struct diag *d, const struct rules_loc *loc, const char *srcline, unsigned width,
        const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof(d->msg)];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_set(d, loc->file, loc->line, loc->col, "%s", msg);
    diag_source(d, srcline, strlen(srcline), width);
    return -1;
}

static int
resolve(const struct ruleset *rs, const char *name, const struct rules_loc *loc,
        const char *srcline, int want_plain, size_t *out, struct diag *d)
{
    if (rules_lookup_metric(rs, name, out) == -1)
        return fail_at(d, loc, srcline, (unsigned)strlen(name),
                       "undefined metric '%s' (metric and ratio lines define names)", name);
    if (want_plain && rs->metrics[*out].kind == RULES_RATIO)
        return fail_at(d, loc, srcline, (unsigned)strlen(name),
                       "'%s' is a ratio; a ratio divides two metrics", name);
    return 0;
}

/*
 * Finish a ruleset once every file is parsed: resolve the names ratios and
 * alerts use, compile the regexes, and check every alert window against the
 * evaluation step (a window is a whole number of steps). Returns 0 or -1.
 */
int
rules_finish(struct ruleset *rs, int64_t step_ms, struct diag *d)
{
    size_t i;
    char w[RARR_DUR_MAX], s[RARR_DUR_MAX];

    for (i = 0; i < rs->nmetrics; i++) {
        struct rules_metric *m = &rs->metrics[i];
        struct rules_loc loc = m->loc;

        if (m->kind != RULES_RATIO)
            continue;
        loc.col = m->a_col;
        if (resolve(rs, m->a_name, &loc, m->srcline, 1, &m->a, d) == -1)
            return -1;
        loc.col = m->b_col;
        if (resolve(rs, m->b_name, &loc, m->srcline, 1, &m->b, d) == -1)
            return -1;
        if (m->category == RULES_NONE)
            m->category = rs->metrics[m->a].category != RULES_NONE ? rs->metrics[m->a].category
                                                                   : rs->metrics[m->b].category;
    }
    for (i = 0; i < rs->nalerts; i++) {
        struct rules_alert *a = &rs->alerts[i];

        if (resolve(rs, a->metric_name, &a->loc, a->srcline, 0, &a->metric, d) == -1)
            return -1;
        if (a->window_ms % step_ms != 0) {
            clock_format_duration(a->window_ms, w);
            clock_format_duration(step_ms, s);
            return fail_at(d, &a->window_loc, a->srcline, a->window_width,
                           "window %s is not a whole number of steps (--step is %s)", w, s);
        }
    }
    return match_compile(rs, d);
}

static void
put_number(FILE *fp, const char *key, double v)
{
    struct buf b;

    buf_init(&b);
    buf_add_double(&b, v);
    fprintf(fp, "%s%s", key, buf_cstr(&b));
    buf_fini(&b);
}

static void
put_duration(FILE *fp, const char *key, int64_t ms)
{
    char dur[RARR_DUR_MAX];

    clock_format_duration(ms, dur);
    fprintf(fp, " %s=%s", key, dur);
}

/* Print what the rules define, one line each, for --check. */
void
rules_describe(const struct ruleset *rs, FILE *fp)
{
    static const char *const ops[] = {"~", "!~", "="};
    size_t i, j;

    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];

        fprintf(fp, "%s %s", m->kind == RULES_RATIO ? "ratio " : "metric", m->name);
        if (m->category != RULES_NONE)
            fprintf(fp, " rarr=%s", category_names[m->category]);
        if (m->kind == RULES_RATIO) {
            fprintf(fp, " = %s / %s", m->a_name, m->b_name);
            put_number(fp, " * ", m->k);
            put_number(fp, " min=", m->min);
        }
        for (j = 0; j < m->nconds; j++)
            fprintf(fp, " %s%s'%s'", rs->fields[m->conds[j].field].name, ops[m->conds[j].op],
                    m->conds[j].text);
        if (m->kind == RULES_SUM)
            fprintf(fp, " sum=%s", rs->fields[m->sum_field].name);
        fprintf(fp, "  # %s:%u\n", m->loc.file, m->loc.line);
    }
    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_alert *a = &rs->alerts[i];

        if (a->anomaly) {
            static const char *const seasons[] = {"none", "daily", "weekly"};
            static const char *const directions[] = {"both", "drop", "spike"};

            fprintf(fp, "anomaly %s", a->metric_name);
            put_duration(fp, "window", a->window_ms);
            fprintf(fp, " season=%s direction=%s", seasons[a->season], directions[a->direction]);
            fprintf(fp, " sensitivity=%s",
                    a->far < 0.05  ? "low"
                    : a->far < 0.5 ? "medium"
                                   : "high");
            put_number(fp, " min=", a->min);
            if (!a->min_given)
                fputs("(spikes)", fp);
            put_duration(fp, "for", a->for_ms);
        } else {
            fprintf(fp, "alert  %s", a->metric_name);
            put_duration(fp, "window", a->window_ms);
            put_number(fp, a->above ? " above=" : " below=", a->threshold);
            put_duration(fp, "for", a->for_ms);
            put_number(fp, " clear=", a->clear);
        }
        fprintf(fp, " name='%s'  # %s:%u\n", a->rule, a->loc.file, a->loc.line);
    }
}

/*
 * For --check with a known format: warn about conditions on fields that
 * format cannot have (not an error, SPEC section 3: they read as empty).
 * Returns the number of warnings.
 */
int
rules_warn_fields(const struct ruleset *rs, enum record_format fmt, FILE *fp)
{
    size_t i, j;
    int n = 0;

    if (fmt == RECORD_AUTO || fmt == RECORD_JSON)
        return 0;
    for (i = 0; i < rs->nmetrics; i++) {
        for (j = 0; j < rs->metrics[i].nconds; j++) {
            const struct rules_cond *c = &rs->metrics[i].conds[j];
            const struct record_fieldref *f = &rs->fields[c->field];
            int ok = f->captured || record_format_has_field(fmt, f->clf);

            if (!ok) {
                fprintf(fp,
                        "rarr: %s:%u: warning: %s lines have no field '%s'; it reads as empty\n",
                        c->loc.file, c->loc.line, record_format_name(fmt), f->name);
                n++;
            }
        }
    }
    return n;
}
