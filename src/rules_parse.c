/*
 * rules_parse.c -- the rule-file parser: text in the rule language
 * (docs/rules.md) becomes a struct ruleset (src/rules.c) that match, window
 * and alert read.
 *
 * One directive a line; a line is cut into tokens at white space, where a
 * single-quoted run is taken literally and may hold spaces, and '#' outside
 * quotes ends the line. Every error names FILE:LINE:COL and carries the
 * source line so main can underline the offending text. Names (of metrics in
 * ratios and alerts) are resolved by rules_finish(), after every file is
 * read, so the order of files in a rules directory does not matter; it also
 * compiles the regexes for good.
 *
 * Every error is reported, not only the first: a line with an error is
 * left as far as it was built and parsing goes on with the next word or the
 * next line, so one run of --check lists all that is wrong (up to
 * RARR_DIAG_MAX). Regexes are test-compiled as they are read, so their
 * errors come in file order with the others. %{NAME} in a regex or define
 * expands to an earlier define, to at most RULES_EXPAND_MAX bytes, so that
 * defines that double at each level cannot ask for unbounded memory.
 */
#include "rarr/rules_parse.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/keys.h"
#include "rarr/rules.h"

#define MAX_TOKENS 64
#define WORD_MAX 64 /* longest word copied for a "did you mean" */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

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
    const char *rest, *end; /* the text after this line, for "defined later" */
    int stop_line;          /* an error left the rest of the line unreadable */
    int partial;            /* the line ended in '\': do not ask for what is missing */
    int skip_next;          /* the next line is this one's continuation: skip it */
    unsigned keys_col;      /* where a metric line's max_keys= is, for an error */
    struct diag *d;
};

static int fail(struct cursor *c, unsigned col, unsigned width, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Report an error at column 'col' of the line being parsed. Returns -1. */
static int
fail(struct cursor *c, unsigned col, unsigned width, const char *fmt, ...)
{
    struct rules_loc loc = {c->file, c->line, col};
    va_list ap;
    char msg[sizeof(c->d->msg)];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return rules_error(c->rs, c->d, &loc, c->src, c->srclen, width, msg);
}

/* Out of memory: report it and read nothing more. */
static int
oom(struct cursor *c)
{
    fail(c, 0, 0, "out of memory");
    c->rs->stopped = 1;
    return -1;
}

/* Whether 'len' bytes at 'p' spell the word 's'. */
static int
same(const char *p, size_t len, const char *s)
{
    return strlen(s) == len && memcmp(p, s, len) == 0;
}

/* diag_nearest() for a word that is not NUL-terminated. */
static const char *
nearest(const char *p, size_t len, const char *const *cands, size_t n)
{
    char word[WORD_MAX + 1];

    if (len == 0 || len > WORD_MAX)
        return NULL;
    memcpy(word, p, len);
    word[len] = '\0';
    return diag_nearest(word, cands, n);
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

/* Whether a token holds a quote after its first 'skip' bytes. */
static int
quoted(const struct token *t, size_t skip)
{
    return skip < t->len && memchr(t->p + skip, '\'', t->len - skip) != NULL;
}

/* Whether 'len' bytes at 'p' are a name: letters, digits and _, not starting with a digit. */
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
 * The column in the source line of the first byte of a token's value (after
 * 'skip' bytes of key and operator, and after an opening quote).
 */
static unsigned
value_col(const struct token *t, size_t skip)
{
    return t->col + (unsigned)skip + (skip < t->len && t->p[skip] == '\'');
}

/*
 * A value written in double quotes ("status~\"^5\"", "name=\"a b\"") would
 * keep its quotes as part of the text and never match: an error that shows
 * the single-quoted form. 'skip' bytes of key and operator come first. The
 * rest of the line is not read (a double-quoted space cut it into words).
 * Returns -1 with the error, or 0.
 */
static int
check_double_quotes(struct cursor *c, const struct token *t, size_t skip)
{
    const char *open = t->p + skip, *end = c->src + c->srclen, *close;
    unsigned width;

    if (skip >= t->len || *open != '"')
        return 0;
    if ((close = memchr(open + 1, '"', (size_t)(end - open - 1))) != NULL) {
        width = (unsigned)(close - open) + 1;
    } else {
        close = t->p + t->len;
        width = (unsigned)(close - open);
    }
    c->stop_line = 1;
    return fail(c, t->col + (unsigned)skip, width,
                "values are written in single quotes: %.*s'%.*s'", (int)skip, t->p,
                (int)(close - open - 1), open + 1);
}

/* The length of an operator ("~", "!~", "=", "!=") at the start of 'p', or 0. */
static size_t
op_at(const char *p, size_t len)
{
    if (len >= 2 && p[0] == '!' && (p[1] == '~' || p[1] == '='))
        return 2;
    return len >= 1 && (p[0] == '~' || p[0] == '=') ? 1 : 0;
}

/*
 * "status ~ '^5'", "status~ '^5'", "window = 15m": a condition or option cut
 * by spaces around its operator reads as several broken words. Token 'i' has
 * no operator or ends in one ('has_op' says which); if a neighbour completes
 * it, this is an error that shows the words joined, and the rest of the line
 * is not read. Returns -1 with the error, or 0.
 */
static int
check_spaced(struct cursor *c, const struct token *tok, int n, int i, int has_op, const char *what)
{
    const struct token *t = &tok[i];
    size_t oplen;
    int j = i + 1, k;
    char join[512];
    size_t w = 0;

    if (j >= n)
        return 0;
    if (has_op) {
        if (t->p[t->len - 1] != '~' && t->p[t->len - 1] != '=')
            return 0;
    } else if ((oplen = op_at(tok[j].p, tok[j].len)) == 0) {
        return 0;
    } else if (oplen == tok[j].len && j + 1 < n) {
        j++;
    }
    for (k = i; k <= j && w + tok[k].len < sizeof(join); k++) {
        memcpy(join + w, tok[k].p, tok[k].len);
        w += tok[k].len;
    }
    c->stop_line = 1;
    return fail(c, t->col, tok[j].col + (unsigned)tok[j].len - t->col,
                "no spaces around the operator in %s: write %.*s", what, (int)w, join);
}

/*
 * The line, after the one being parsed, where the same text writes "define
 * NAME", or 0: a pattern used before its define is another mistake than a
 * misspelt one, and says so.
 */
static unsigned
defined_later(const struct cursor *c, const char *name, size_t len)
{
    const char *p, *nl, *q;
    unsigned line = c->line;

    for (p = c->rest; p != NULL && p < c->end; p = nl + 1) {
        line++;
        if ((nl = memchr(p, '\n', (size_t)(c->end - p))) == NULL)
            nl = c->end;
        for (q = p; q < nl && (*q == ' ' || *q == '\t'); q++)
            ;
        if ((size_t)(nl - q) > 7 && memcmp(q, "define", 6) == 0 && (q[6] == ' ' || q[6] == '\t')) {
            for (q += 6; q < nl && (*q == ' ' || *q == '\t'); q++)
                ;
            if ((size_t)(nl - q) >= len && memcmp(q, name, len) == 0 &&
                (q + len == nl || q[len] == ' ' || q[len] == '\t' || q[len] == '\r'))
                return line;
        }
    }
    return 0;
}

/* The define name nearest to 'len' bytes at 'p', for "did you mean"; NULL if none is. */
static const char *
nearest_define(const struct ruleset *rs, const char *p, size_t len)
{
    const char **names = malloc((rs->ndefines + 1) * sizeof(*names)), *near;
    size_t i;

    if (names == NULL)
        return NULL;
    for (i = 0; i < rs->ndefines; i++)
        names[i] = rs->defines[i].name;
    near = nearest(p, len, names, rs->ndefines);
    free(names);
    return near;
}

/* Report the reference '%{NAME}' ('len' bytes at 'ref', column 'col') no earlier define names. */
static int
undefined_pattern(struct cursor *c, const char *ref, size_t len, unsigned col)
{
    unsigned later = defined_later(c, ref + 2, len - 3);
    const char *near;

    if (later > 0)
        return fail(c, col, (unsigned)len,
                    "pattern '%.*s' is defined later, at line %u (a define must come before the "
                    "rules that use it)",
                    (int)len, ref, later);
    if ((near = nearest_define(c->rs, ref + 2, len - 3)) != NULL)
        return fail(c, col, (unsigned)len, "undefined pattern '%.*s' (did you mean '%%{%s}'?)",
                    (int)len, ref, near);
    return fail(c, col, (unsigned)len,
                "undefined pattern '%.*s' (define it earlier with: define NAME 'REGEX')", (int)len,
                ref);
}

/* How expand() ended. */
enum expansion {
    EXPAND_OK,
    EXPAND_BAD,     /* an undefined pattern or out of memory, reported */
    EXPAND_TOO_LONG /* past RULES_EXPAND_MAX, reported here or at the define used */
};

/*
 * The text expanding reference 'ref' ('len' bytes, at column 'col') would
 * pass RULES_EXPAND_MAX: an error naming it, and the define being written
 * ('name', NULL in a condition's regex).
 */
static enum expansion
too_long(struct cursor *c, const struct token *name, const char *ref, size_t len, unsigned col)
{
    if (name != NULL)
        fail(c, col, (unsigned)len,
             "'%.*s' makes pattern '%.*s' longer than %d bytes, the most a regex may expand to",
             (int)len, ref, (int)name->len, name->p, RULES_EXPAND_MAX);
    else
        fail(c, col, (unsigned)len,
             "'%.*s' makes the regex longer than %d bytes, the most a regex may expand to",
             (int)len, ref, RULES_EXPAND_MAX);
    return EXPAND_TOO_LONG;
}

/*
 * Expand %{NAME} references to earlier defines in a regex written at column
 * 'col', for define 'name' (NULL: a condition). '*out' gets a new string
 * (caller frees) when it returns EXPAND_OK, else NULL with the error set.
 * The length is checked before each byte is added, so a text that would
 * pass RULES_EXPAND_MAX costs at most that much memory. A reference to a
 * define that was too long fails without a word: that define had its error.
 */
static enum expansion
expand(struct cursor *c, const struct token *name, const char *p, size_t len, unsigned col,
       char **out, size_t *literal_len)
{
    const struct rules_define *def;
    struct buf b;
    size_t i = 0, ref = 0, reflen = 0, dlen;
    enum expansion rc = EXPAND_BAD;

    buf_init(&b);
    *out = NULL;
    *literal_len = len;
    while (i < len) {
        const char *close;

        if (!(p[i] == '%' && i + 1 < len && p[i + 1] == '{') ||
            (close = memchr(p + i, '}', len - i)) == NULL) {
            /* Once something is expanded, every byte counts against the limit. */
            if (reflen > 0 && b.len >= RULES_EXPAND_MAX) {
                rc = too_long(c, name, p + ref, reflen, col + (unsigned)ref);
                goto out;
            }
            if (buf_addc(&b, p[i++]) == -1)
                goto oom;
            continue;
        }
        if ((def = rules_find_define(c->rs, p + i + 2, (size_t)(close - p - i - 2))) == NULL) {
            undefined_pattern(c, p + i, (size_t)(close - p - i + 1), col + (unsigned)i);
            goto out;
        }
        if (reflen == 0)
            *literal_len = b.len;
        ref = i;
        reflen = (size_t)(close - p - i + 1);
        if (def->text == NULL) {
            rc = EXPAND_TOO_LONG;
            goto out;
        }
        if ((dlen = strlen(def->text)) > RULES_EXPAND_MAX || b.len > RULES_EXPAND_MAX - dlen) {
            rc = too_long(c, name, p + ref, reflen, col + (unsigned)ref);
            goto out;
        }
        if (buf_add(&b, def->text, dlen) == -1)
            goto oom;
        i = (size_t)(close - p) + 1;
    }
    if (buf_addc(&b, '\0') == -1)
        goto oom;
    *out = b.p;
    return EXPAND_OK;
oom:
    oom(c);
out:
    buf_fini(&b);
    return rc;
}

/* Report token 't' as a bad name. Returns -1. */
static int
bad_name(struct cursor *c, const struct token *t)
{
    return fail(c, t->col, (unsigned)t->len,
                "bad name '%.*s' (letters, digits and _, not starting with a digit)", (int)t->len,
                t->p);
}

/* define NAME 'REGEX': the regex expanded now, so a define only sees earlier ones. */
static int
parse_define(struct cursor *c, struct token *tok, int n)
{
    struct ruleset *rs = c->rs;
    enum expansion rc;
    size_t lit;
    char *text, *raw;

    if (n >= 3 && check_double_quotes(c, &tok[2], 0) == -1)
        return -1;
    if (n != 3)
        return fail(c, n < 3 ? (unsigned)c->srclen + 1 : tok[3].col, 1,
                    "expected: define NAME 'REGEX'");
    if (!is_name(tok[1].p, tok[1].len))
        return bad_name(c, &tok[1]);
    if (rules_find_define(rs, tok[1].p, tok[1].len) != NULL)
        return fail(c, tok[1].col, (unsigned)tok[1].len, "pattern '%.*s' is already defined",
                    (int)tok[1].len, tok[1].p);
    if ((raw = unquote(tok[2].p, tok[2].len)) == NULL)
        return oom(c);
    rc = expand(c, &tok[1], raw, strlen(raw), value_col(&tok[2], 0), &text, &lit);
    free(raw);
    if (rc == EXPAND_BAD)
        return -1;
    /*
     * One that is too long is kept without its text, so that the lines using
     * it fail quietly: in a chain of doubling defines only the first one past
     * the limit is an error, not every later level as "undefined".
     */
    if (rules_add_define(rs, tok[1].p, tok[1].len, text) == NULL)
        return oom(c);
    return rc == EXPAND_OK ? 0 : -1;
}

/* Token 't' must be a name no metric or ratio has yet; -1 with an error if not. */
static int
check_new_name(struct cursor *c, const struct token *t)
{
    const struct rules_metric *m;

    if (!is_name(t->p, t->len))
        return bad_name(c, t);
    if ((m = rules_find_metric(c->rs, t->p, t->len)) == NULL)
        return 0;
    return fail(c, t->col, (unsigned)t->len, "'%.*s' is already defined at %s:%u", (int)t->len,
                t->p, m->loc.file, m->loc.line);
}

/* A new metric named by 'name' on the line being parsed; NULL on out-of-memory (reported). */
static struct rules_metric *
new_metric(struct cursor *c, const struct token *name)
{
    struct rules_loc loc = {c->file, c->line, name->col};
    struct rules_metric *m = rules_add_metric(c->rs, name->p, name->len, &loc, c->src, c->srclen);

    if (m == NULL)
        oom(c);
    return m;
}

/* Read the value of 't' after 'skip' bytes as a category. */
static int
parse_category(struct cursor *c, const struct token *t, size_t skip, enum rules_category *out)
{
    char *v = unquote(t->p + skip, t->len - skip);
    const char *names[RULES_REFERRAL], *near;
    int i, rc;

    if (v == NULL)
        return oom(c);
    for (i = RULES_RETENTION; i <= RULES_REFERRAL; i++) {
        names[i - 1] = rules_category_name((enum rules_category)i);
        if (strcmp(v, names[i - 1]) == 0) {
            *out = (enum rules_category)i;
            free(v);
            return 0;
        }
    }
    if ((near = diag_nearest(v, names, NELEM(names))) != NULL)
        rc = fail(c, value_col(t, skip), (unsigned)(t->len - skip),
                  "unknown category '%s' (did you mean '%s'?)", v, near);
    else
        rc = fail(c, value_col(t, skip), (unsigned)(t->len - skip),
                  "unknown category '%s' (expected retention, activation, revenue or referral)", v);
    free(v);
    return rc;
}

/*
 * Find the operator of "key~v", "key!~v" or "key=v" outside quotes: the
 * first one written as rules_op_name() spells it, "!~" before "~".
 */
static size_t
find_op(const struct token *t, enum rules_op *op, size_t *oplen)
{
    static const enum rules_op ops[] = {RULES_NOT_MATCH, RULES_MATCH, RULES_EQUAL};
    const char *name;
    size_t i, k;

    for (i = 0; i < t->len && t->p[i] != '\''; i++) {
        for (k = 0; k < NELEM(ops); k++) {
            name = rules_op_name(ops[k]);
            if (strlen(name) <= t->len - i && memcmp(t->p + i, name, strlen(name)) == 0) {
                *op = ops[k];
                *oplen = strlen(name);
                return i;
            }
        }
    }
    return SIZE_MAX;
}

/*
 * Operators other languages have: "!=" (the field would be "status!"),
 * "==" and "=~" (the value would start with '=' or '~'), "~=". Each is an
 * error that shows the rarr way. The operator found is at 'at'.
 */
static int
check_operator(struct cursor *c, const struct token *t, size_t at, enum rules_op op)
{
    const char *v = t->p + at + 2;
    size_t flen = at, vlen = t->len - at - 2;
    unsigned col = t->col + (unsigned)at;
    char *raw;
    int rc;

    if (op == RULES_EQUAL && at > 0 && t->p[at - 1] == '!') {
        flen--;
        col--;
        v--;
        vlen++;
        if ((raw = unquote(v, vlen)) == NULL)
            return oom(c);
        rc = fail(c, col, 2, "unknown operator '!=' (for 'not equal' write %.*s!~'^%s$')",
                  (int)flen, t->p, raw);
        free(raw);
        return rc;
    }
    if (at + 1 >= t->len || (op == RULES_EQUAL ? t->p[at + 1] != '=' && t->p[at + 1] != '~'
                                               : op != RULES_MATCH || t->p[at + 1] != '='))
        return 0;
    if ((raw = unquote(v, vlen)) == NULL)
        return oom(c);
    rc = fail(c, col, 2, "unknown operator '%.2s' (write %.*s%s'%s')", t->p + at, (int)flen, t->p,
              t->p[at] == '=' && t->p[at + 1] == '=' ? "=" : "~", raw);
    free(raw);
    return rc;
}

/*
 * A field name ('len' bytes at 'p', written at column 'col'): no quotes,
 * blanks or operators in it (it is printed back unquoted by --check), no
 * empty part between dots.
 */
static int
check_field(struct cursor *c, const char *p, size_t len, unsigned col)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\0' || strchr("\"' \t~=", p[i]) != NULL)
            return fail(c, col, (unsigned)len,
                        "bad field name '%.*s' (field names are written without quotes, blanks, "
                        "'~' or '=')",
                        (int)len, p);
        if (p[i] == '.' && (i == 0 || i + 1 == len || p[i + 1] == '.'))
            return fail(c, col, (unsigned)len,
                        "bad field name '%.*s' (a dot needs a name on both sides)", (int)len, p);
    }
    return 0;
}

/* The options of a metric line. Those from 1 on, but by= and max_keys=, set its kind. */
static const char *const metric_opts[] = {"rarr", "sum",      "distinct", "p50",  "p95", "p99",
                                          "by",   "max_keys", "p90",      "p999", "max"};
/* The quantile each kind option asks for (0: not a quantile). */
static const double metric_q[] = {0, 0, 0, 0.5, 0.95, 0.99, 0, 0, 0.9, 0.999, 1};
#define NMETRIC_OPTS NELEM(metric_opts)

/* Options of alert and anomaly lines that are a mistake on a metric line. */
static const char *const misplaced_opts[] = {"window", "for",    "below",     "above",
                                             "clear",  "season", "direction", "sensitivity"};
#define NMISPLACED NELEM(misplaced_opts)

/*
 * Test-compile a condition's regex as it is read, so that its error comes
 * in file order with the others; rules_finish() compiles it for good.
 * The message is the one rules_finish() gives.
 */
static int
check_regex(struct cursor *c, const struct rules_cond *cond)
{
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off;
    pcre2_code *re;
    unsigned col = cond->loc.col;
    int err;

    if ((re = pcre2_compile((PCRE2_SPTR)cond->text, cond->len, 0, &err, &off, NULL)) != NULL) {
        pcre2_code_free(re);
        return 0;
    }
    pcre2_get_error_message(err, msg, sizeof(msg));
    /* Point into the regex when the offset is in text the user wrote. */
    if (off <= cond->literal_len)
        col += (unsigned)off;
    return fail(c, col, 1, "bad regex: %s (at offset %zu of '%s')%s", (const char *)msg,
                (size_t)off, cond->text,
                err == PCRE2_ERROR_END_BACKSLASH
                    ? " (a backslash does not escape a quote: a quote is written \\x27)"
                    : "");
}

/*
 * In field='TEXT' nothing is expanded: a '%{NAME}' of a define there would
 * be compared as written, so it is an error that shows the regex to write.
 */
static int
check_literal(struct cursor *c, const struct token *t, size_t at, const char *raw)
{
    const char *p, *close;

    for (p = strstr(raw, "%{"); p != NULL; p = strstr(p + 2, "%{")) {
        if ((close = strchr(p, '}')) == NULL)
            return 0;
        if (rules_find_define(c->rs, p + 2, (size_t)(close - p - 2)) != NULL)
            return fail(c, value_col(t, at + 1) + (unsigned)(p - raw), (unsigned)(close - p + 1),
                        "'%.*s' is not expanded in ='TEXT', which is compared as written (write "
                        "%.*s~'^%s$')",
                        (int)(close - p + 1), p, (int)at, t->p, raw);
    }
    return 0;
}

/* Add condition 't' (field, operator at 'at' of 'oplen' bytes, value) to metric 'm'. */
static int
add_cond(struct cursor *c, struct rules_metric *m, const struct token *t, size_t at,
         enum rules_op op, size_t oplen)
{
    struct rules_cond *cond;
    enum expansion rc;
    char *field, *raw;
    size_t vstart = at + oplen;

    if ((cond = rules_add_cond(m)) == NULL)
        return oom(c);
    if ((field = strndup(t->p, at)) == NULL)
        return oom(c);
    cond->field = rules_field(c->rs, field);
    free(field);
    if (cond->field == SIZE_MAX)
        return oom(c);
    cond->op = op;
    cond->loc = (struct rules_loc){c->file, c->line, value_col(t, vstart)};
    if ((cond->srcline = strndup(c->src, c->srclen)) == NULL ||
        (raw = unquote(t->p + vstart, t->len - vstart)) == NULL)
        return oom(c);
    if (op == RULES_EQUAL) {
        cond->text = raw;
        cond->len = cond->literal_len = strlen(raw);
        return check_literal(c, t, at, raw);
    }
    rc = expand(c, NULL, raw, strlen(raw), cond->loc.col, &cond->text, &cond->literal_len);
    free(raw);
    if (rc != EXPAND_OK)
        return -1;
    cond->len = strlen(cond->text);
    return check_regex(c, cond);
}

/* The field named by the value of 't' after 'at' bytes (sum=FIELD, by=FIELD) into '*out'. */
static int
option_field(struct cursor *c, const struct token *t, size_t at, const char *opt, size_t *out)
{
    char *v;

    if ((v = unquote(t->p + at + 1, t->len - at - 1)) == NULL)
        return oom(c);
    if (v[0] == '\0') {
        free(v);
        return fail(c, t->col, (unsigned)t->len, "%s= needs a field", opt);
    }
    if (check_field(c, v, strlen(v), value_col(t, at + 1)) == -1) {
        free(v);
        return -1;
    }
    *out = rules_field(c->rs, v);
    free(v);
    return *out == SIZE_MAX ? oom(c) : 0;
}

static int parse_number(struct cursor *c, const struct token *t, size_t skip, double *out);

/* max_keys=N: a whole number from 1 to KEYS_MAX. */
static int
parse_max_keys(struct cursor *c, const struct token *t, size_t at, struct rules_metric *m)
{
    double v;

    if (parse_number(c, t, at + 1, &v) == -1)
        return -1;
    if (v < 1 || v > KEYS_MAX || v != floor(v))
        return fail(c, value_col(t, at + 1), (unsigned)(t->len - at - 1),
                    "max_keys= is a whole number from 1 to %d", KEYS_MAX);
    m->max_keys = (size_t)v;
    return 0;
}

/*
 * rarr=CATEGORY, a kind (sum=, distinct=, p50= .. p999=, max= FIELD),
 * by=FIELD or max_keys=N on a metric line ('at' bytes of key); 'seen' has a
 * bit for each option already given, bit 1 for any kind.
 */
static int
metric_option(struct cursor *c, struct rules_metric *m, const struct token *t, size_t at,
              unsigned *seen)
{
    size_t i, bit;

    for (i = 0; i < NMETRIC_OPTS && !same(t->p, at, metric_opts[i]); i++)
        ;
    bit = i == 0 || i == 6 || i == 7 ? i : 1;
    if (*seen & (1u << bit))
        return fail(c, t->col, (unsigned)t->len,
                    bit == 1 ? "a metric has one kind at most" : "%s= is given twice",
                    metric_opts[i]);
    *seen |= 1u << bit;
    switch (i) {
    case 0:
        return parse_category(c, t, at + 1, &m->category);
    case 6:
        m->by_col = t->col;
        return option_field(c, t, at, "by", &m->by_field);
    case 7:
        c->keys_col = t->col;
        return parse_max_keys(c, t, at, m);
    default:
        m->kind = i == 1 ? RULES_SUM : i == 2 ? RULES_DISTINCT : RULES_QUANTILE;
        m->q = metric_q[i];
        return option_field(c, t, at, metric_opts[i], &m->value_field);
    }
}

/*
 * "key=value" on a metric line is a condition unless the key is a metric
 * option. An alert's option (window=15m) or a near miss of a metric option
 * (rar=retention) with an unquoted value is taken for a mistake, not for a
 * condition on a field of that name: a quoted value says a field is meant.
 */
static int
check_misplaced(struct cursor *c, const struct token *t, size_t at)
{
    const char *near, *v = t->p + at + 1;
    int vlen = (int)(t->len - at - 1);
    char key[WORD_MAX + 1];
    size_t i;

    if (quoted(t, at + 1) || at > WORD_MAX)
        return 0;
    memcpy(key, t->p, at);
    key[at] = '\0';
    for (i = 0; i < NMISPLACED; i++)
        if (strcmp(key, misplaced_opts[i]) == 0)
            return fail(c, t->col, (unsigned)at,
                        "%s= is an option of alert and anomaly lines (to compare a field named "
                        "%s, quote the value: %s='%.*s')",
                        key, key, key, vlen, v);
    if (record_clf_field(key) >= 0 || (near = diag_nearest(key, metric_opts, NMETRIC_OPTS)) == NULL)
        return 0;
    return fail(c, t->col, (unsigned)at,
                "unknown option '%s' (did you mean '%s'? to compare a field named %s, quote the "
                "value: %s='%.*s')",
                key, near, key, key, vlen, v);
}

/* One word after a metric's name: a condition or an option. */
static int
metric_word(struct cursor *c, struct rules_metric *m, const struct token *tok, int n, int i,
            unsigned *seen)
{
    const struct token *t = &tok[i];
    enum rules_op op = RULES_MATCH;
    size_t oplen = 0, at = find_op(t, &op, &oplen);

    if (at == SIZE_MAX || at == 0) {
        if (at == SIZE_MAX && check_spaced(c, tok, n, i, 0, "a condition") == -1)
            return -1;
        return fail(c, t->col, (unsigned)t->len,
                    "expected a condition like field~'regex', field!~'regex' or field='text', or "
                    "an option, got '%.*s'%s",
                    (int)t->len, t->p,
                    memchr(t->p, '<', t->len) || memchr(t->p, '>', t->len)
                        ? " (conditions compare text: 5xx is status~'^5')"
                        : "");
    }
    if (at + oplen == t->len) {
        if (check_spaced(c, tok, n, i, 1, "a condition") == -1)
            return -1;
        if (same(t->p, at, "sum"))
            return fail(c, t->col, (unsigned)t->len, "sum= needs a field");
        return fail(c, t->col + (unsigned)t->len, 1,
                    "expected a value after '%.*s' (an empty value is written '')", (int)oplen,
                    t->p + at);
    }
    if (check_operator(c, t, at, op) == -1 || check_field(c, t->p, at, t->col) == -1 ||
        check_double_quotes(c, t, at + oplen) == -1)
        return -1;
    if (op == RULES_EQUAL) {
        size_t k;

        for (k = 0; k < NMETRIC_OPTS && !same(t->p, at, metric_opts[k]); k++)
            ;
        if (k < NMETRIC_OPTS)
            return metric_option(c, m, t, at, seen);
        if (check_misplaced(c, t, at) == -1)
            return -1;
    }
    return add_cond(c, m, t, at, op, oplen);
}

/* metric NAME [rarr=CATEGORY] [CONDITION...] [sum=FIELD] [by=FIELD [max_keys=N]] */
static int
parse_metric(struct cursor *c, struct token *tok, int n)
{
    struct rules_metric *m;
    unsigned seen = 0;
    int i, bad = 0;

    if (n < 2)
        return fail(c, (unsigned)c->srclen + 1, 1,
                    "expected: metric NAME [rarr=CATEGORY] [CONDITION...] [sum=FIELD] [by=FIELD "
                    "[max_keys=N]]");
    if (check_new_name(c, &tok[1]) == -1 || (m = new_metric(c, &tok[1])) == NULL)
        return -1;
    /* Each word is checked on its own: one line may show several errors. */
    for (i = 2; i < n && !c->stop_line && !c->rs->stopped; i++)
        if (metric_word(c, m, tok, n, i, &seen) == -1)
            bad = 1;
    if (!bad && m->by_field != SIZE_MAX && (m->kind == RULES_DISTINCT || m->kind == RULES_QUANTILE))
        return fail(c, m->by_col, 2,
                    "by= with %s= is not supported by this version of rarr (by= counts and sums)",
                    rules_kind_option(m));
    if (!bad && (seen & 1u << 7) && !(seen & 1u << 6))
        return fail(c, c->keys_col, 9,
                    "max_keys= caps the keys of by=FIELD, which this metric does not have");
    return bad ? -1 : 0;
}

/* Why 'v' is not a number, when a common slip explains it ("" otherwise). */
static const char *
number_hint(const char *v)
{
    if (strchr(v, '%') != NULL)
        return " (write it without the % sign)";
    if (strchr(v, ',') != NULL)
        return " (a decimal point is written '.')";
    if (strpbrk(v, "Oo") != NULL && strspn(v, "0123456789.+-Oo") == strlen(v))
        return " (a letter O where a 0 was meant?)";
    return "";
}

/* Read the value of 't' after 'skip' bytes as a finite number into '*out'. */
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
        rc = fail(c, value_col(t, skip), (unsigned)(t->len - skip), "expected a number, got '%s'%s",
                  v, number_hint(v));
    free(v);
    return rc;
}

/* Read the value of 't' after 'skip' bytes as a duration; 'positive': 0 is an error. */
static int
parse_duration(struct cursor *c, const struct token *t, size_t skip, int64_t *out, int positive)
{
    const char *why;
    char *v = unquote(t->p + skip, t->len - skip);
    int rc = 0;

    if (v == NULL)
        return oom(c);
    if (clock_parse_duration(v, strlen(v), out, &why) == -1)
        rc = fail(c, value_col(t, skip), (unsigned)(t->len - skip), "bad duration '%s': %s (%s)", v,
                  why,
                  strchr(v, '.') != NULL
                      ? "durations are whole numbers with units: 90m or 1h30m, not 1.5h"
                      : "expected a duration like 15m or 1h30m; units ms s m h d w");
    else if (positive && *out == 0)
        rc = fail(c, value_col(t, skip), (unsigned)(t->len - skip), "a window must be positive");
    free(v);
    return rc;
}

/* The first byte at or after 'p' that is not a space or tab ('end' if none). */
static const char *
skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Expect 'ch' after blanks at '*pp' and step over it; -1 with "expected WHAT". */
static int
ratio_char(struct cursor *c, const char **pp, char ch, const char *what)
{
    const char *end = c->src + c->srclen, *p = skip_blank(*pp, end);

    if (p >= end || *p != ch)
        return fail(c, (unsigned)(p - c->src) + 1, 1, "expected %s", what);
    *pp = p + 1;
    return 0;
}

/* Read a metric name after blanks at '*pp' into '*dst' (caller frees), its column into '*col'. */
static int
ratio_name(struct cursor *c, const char **pp, char **dst, unsigned *col)
{
    const char *end = c->src + c->srclen, *s = skip_blank(*pp, end), *p = s;

    while (p < end && is_name(s, (size_t)(p - s + 1)))
        p++;
    if (p == s)
        return fail(c, (unsigned)(s - c->src) + 1, 1, "expected a metric name");
    if ((*dst = strndup(s, (size_t)(p - s))) == NULL)
        return oom(c);
    *col = (unsigned)(s - c->src) + 1;
    *pp = p;
    return 0;
}

/* The "* K" after the operands, if written; '*pp' moves past it (or past blanks). */
static int
ratio_factor(struct cursor *c, struct rules_metric *m, const char **pp)
{
    const char *end = c->src + c->srclen, *p = skip_blank(*pp, end), *s;
    char *num, *numend;
    int bad;

    *pp = p;
    if (p >= end || *p != '*')
        return 0;
    for (s = p = skip_blank(p + 1, end); p < end && *p != ' ' && *p != '\t' && *p != '#'; p++)
        ;
    *pp = p;
    if ((num = strndup(s, (size_t)(p - s))) == NULL)
        return oom(c);
    m->k = strtod(num, &numend);
    bad = num[0] == '\0' || *numend != '\0' || !isfinite(m->k);
    free(num);
    if (bad)
        return fail(c, (unsigned)(s - c->src) + 1, p > s ? (unsigned)(p - s) : 1,
                    "expected a number after '*'");
    return 0;
}

/*
 * The expression "= A / B [* K]" from '*pp', read by characters: "a/b*100"
 * and "a / b * 100" alike. '*pp' ends where the options start.
 */
static int
ratio_expr(struct cursor *c, struct rules_metric *m, const char **pp)
{
    const char *end = c->src + c->srclen, *p, *s;

    if (ratio_char(c, pp, '=', "'=' after the ratio's name (ratio NAME = A / B)") == -1 ||
        ratio_name(c, pp, &m->a_name, &m->a_col) == -1 ||
        ratio_char(c, pp, '/', "'/' between the two metrics (ratio NAME = A / B)") == -1 ||
        ratio_name(c, pp, &m->b_name, &m->b_col) == -1 || ratio_factor(c, m, pp) == -1)
        return -1;
    p = *pp;
    /* Text glued to the expression ("a / b-c") is an error, not an ignored tail. */
    if (p < end && *p != ' ' && *p != '\t' && *p != '#' && p[-1] != ' ' && p[-1] != '\t') {
        for (s = p; p < end && *p != ' ' && *p != '\t' && *p != '#'; p++)
            ;
        return fail(c, (unsigned)(s - c->src) + 1, (unsigned)(p - s),
                    "unexpected '%.*s' after the ratio (expected * K, min=N or rarr=CATEGORY)",
                    (int)(p - s), s);
    }
    return 0;
}

/* One option after a ratio's expression: min=N or rarr=CATEGORY, each at most once. */
static int
ratio_option(struct cursor *c, struct rules_metric *m, const struct token *tok, int n, int i,
             unsigned *seen)
{
    static const char *const opts[] = {"min", "rarr"};
    const struct token *t = &tok[i];
    const char *eq = memchr(t->p, '=', t->len), *near;
    size_t k = eq != NULL ? (size_t)(eq - t->p) : t->len;
    int o;

    for (o = 0; o < 2 && !same(t->p, k, opts[o]); o++)
        ;
    if ((eq == NULL || eq + 1 == t->p + t->len) &&
        check_spaced(c, tok, n, i, eq != NULL, "an option") == -1)
        return -1;
    if (o == 2 && eq != NULL && (near = nearest(t->p, k, opts, 2)) != NULL)
        return fail(c, t->col, (unsigned)k, "unknown ratio option '%.*s' (did you mean '%s'?)",
                    (int)k, t->p, near);
    if (o == 2 || eq == NULL || eq + 1 == t->p + t->len)
        return fail(c, t->col, (unsigned)t->len,
                    "unknown ratio option '%.*s' (expected min=N or rarr=CATEGORY)", (int)t->len,
                    t->p);
    if (check_double_quotes(c, t, k + 1) == -1)
        return -1;
    if (*seen & (1u << o))
        return fail(c, t->col, (unsigned)t->len, "%s= is given twice", opts[o]);
    *seen |= 1u << o;
    if (o == 1)
        return parse_category(c, t, k + 1, &m->category);
    if (parse_number(c, t, k + 1, &m->min) == -1)
        return -1;
    return m->min < 0
               ? fail(c, value_col(t, k + 1), (unsigned)(t->len - k - 1), "min= cannot be negative")
               : 0;
}

/* ratio NAME = A / B [* K] [min=N] [rarr=CATEGORY] */
static int
parse_ratio(struct cursor *c, struct token *tok, int n)
{
    struct rules_metric *m;
    struct token name;
    const char *p, *s;
    unsigned seen = 0;
    int i, bad = 0;

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
    p = name.p + name.len;
    if (ratio_expr(c, m, &p) == -1)
        return -1;
    /* The rest are options: the tokens that start at or after p. */
    for (i = 2; i < n && !c->stop_line && !c->rs->stopped; i++)
        if (tok[i].p >= p && ratio_option(c, m, tok, n, i, &seen) == -1)
            bad = 1;
    return bad ? -1 : 0;
}

/* Read the value of option 't' (after 'skip' bytes) as one of 'words'; -1 with an error. */
static int
parse_word(struct cursor *c, const struct token *t, size_t skip, const char *const *words,
           int nwords, const char *expected)
{
    size_t len = t->len - skip;
    const char *near;
    int i;

    for (i = 0; i < nwords; i++)
        if (same(t->p + skip, len, words[i]))
            return i;
    if ((near = nearest(t->p + skip, len, words, (size_t)nwords)) != NULL)
        return fail(c, value_col(t, skip), (unsigned)len,
                    "unknown value '%.*s' (did you mean '%s'?)", (int)len, t->p + skip, near);
    return fail(c, value_col(t, skip), (unsigned)len, "unknown value '%.*s' (expected %s)",
                (int)len, t->p + skip, expected);
}

/* The options of alert and anomaly lines, and which of them each takes. */
enum alert_opt {
    AO_WINDOW,
    AO_FOR,
    AO_NAME,
    AO_BELOW,
    AO_ABOVE,
    AO_CLEAR,
    AO_SEASON,
    AO_DIRECTION,
    AO_SENSITIVITY,
    AO_MIN,
    AO_SUMMARY,
    AO_RUNBOOK,
    AO_N
};
static const char *const alert_opts[AO_N] = {"window",      "for",   "name",    "below",
                                             "above",       "clear", "season",  "direction",
                                             "sensitivity", "min",   "summary", "runbook"};
#define AO_META (1u << AO_NAME | 1u << AO_SUMMARY | 1u << AO_RUNBOOK)
static const unsigned alert_takes =
    1u << AO_WINDOW | 1u << AO_FOR | 1u << AO_BELOW | 1u << AO_ABOVE | 1u << AO_CLEAR | AO_META;
static const unsigned anomaly_takes = 1u << AO_WINDOW | 1u << AO_FOR | 1u << AO_SEASON |
                                      1u << AO_DIRECTION | 1u << AO_SENSITIVITY | 1u << AO_MIN |
                                      AO_META;
/* The labels rarr gives every alert itself; a rule's label.NAME= cannot be one of them. */
static const char *const own_labels[] = {"alertname", "metric", "rarr", "key", "type"};
#define LABELS_MAX 32

/* An option that line does not take: the other kind's, a near miss, or unknown. */
static int
unknown_alert_option(struct cursor *c, const struct token *t, size_t k, int o, int anomaly)
{
    const char *cands[AO_N], *near;
    unsigned takes = anomaly ? anomaly_takes : alert_takes;
    size_t nc = 0;
    int i;

    if (o < AO_N)
        return fail(c, t->col, (unsigned)k, "%s= is an option of %s lines, not of %s lines",
                    alert_opts[o], anomaly ? "alert" : "anomaly", anomaly ? "anomaly" : "alert");
    for (i = 0; i < AO_N; i++)
        if (takes & (1u << i))
            cands[nc++] = alert_opts[i];
    if ((near = nearest(t->p, k, cands, nc)) != NULL)
        return fail(c, t->col, (unsigned)k, "unknown option '%.*s' (did you mean '%s'?)", (int)k,
                    t->p, near);
    return fail(c, t->col, (unsigned)k, "unknown option '%.*s' (expected %s)", (int)k, t->p,
                anomaly ? "window, season, direction, sensitivity, min, for, name, summary, "
                          "runbook, label.NAME"
                        : "window, below, above, for, clear, name, summary, runbook, label.NAME");
}

/*
 * Read the value (after 'skip' bytes of 't') of season=, direction= or
 * sensitivity= ('o') into anomaly rule 'a': one of three words, the first
 * two spelt as the ruleset names them.
 */
static int
anomaly_value(struct cursor *c, struct rules_alert *a, const struct token *t, size_t skip,
              enum alert_opt o)
{
    static const char *const sensitivities[] = {"low", "medium", "high"};
    static const double fars[] = {0.01, 0.1, 1};
    const char *const seasons[] = {rules_season_name(RULES_SEASON_NONE),
                                   rules_season_name(RULES_SEASON_DAILY),
                                   rules_season_name(RULES_SEASON_WEEKLY)};
    const char *const directions[] = {rules_direction_name(RULES_BOTH),
                                      rules_direction_name(RULES_DROP),
                                      rules_direction_name(RULES_SPIKE)};
    int w;

    if (o == AO_SEASON) {
        if ((w = parse_word(c, t, skip, seasons, 3, "none, daily or weekly")) == -1)
            return -1;
        a->season = (enum rules_season)w;
    } else if (o == AO_DIRECTION) {
        if ((w = parse_word(c, t, skip, directions, 3, "drop, spike or both")) == -1)
            return -1;
        a->direction = (enum rules_direction)w;
    } else {
        if ((w = parse_word(c, t, skip, sensitivities, 3, "low, medium or high")) == -1)
            return -1;
        a->far = fars[w];
    }
    return 0;
}

/*
 * Check the {words} of summary= text 's' (the value of 't' after 'skip'):
 * each one of rules_summary_words; '{' alone is itself.
 */
static int
summary_words(struct cursor *c, const struct token *t, size_t skip, const char *s)
{
    const char *p, *end, *near;
    size_t n, nw;

    for (nw = 0; rules_summary_words[nw] != NULL; nw++)
        ;
    for (p = strchr(s, '{'); p != NULL; p = strchr(p + 1, '{')) {
        if ((end = strchr(p, '}')) == NULL)
            break;
        for (n = 0; n < nw && !same(p + 1, (size_t)(end - p - 1), rules_summary_words[n]); n++)
            ;
        if (n < nw)
            continue;
        if ((near = nearest(p + 1, (size_t)(end - p - 1), rules_summary_words, nw)) != NULL)
            return fail(c, value_col(t, skip), (unsigned)(t->len - skip),
                        "summary= has an unknown {%.*s} (did you mean {%s}?)", (int)(end - p - 1),
                        p + 1, near);
        return fail(c, value_col(t, skip), (unsigned)(t->len - skip),
                    "summary= has an unknown {%.*s} (the words are value, threshold, window, "
                    "metric, key, rule, state, expected, lower, upper, direction)",
                    (int)(end - p - 1), p + 1);
    }
    return 0;
}

/*
 * label.NAME=VALUE of 't' ('k' bytes before the '='): a Prometheus label
 * name not starting with "__", none of rarr's own labels, given once.
 */
static int
alert_label(struct cursor *c, struct rules_alert *a, const struct token *t, size_t k)
{
    const char *name = t->p + 6;
    size_t len = k - 6, i;
    struct rules_label *l;

    if (!is_name(name, len) || (len >= 2 && name[0] == '_' && name[1] == '_'))
        return fail(c, t->col, (unsigned)k,
                    "a label name is letters, digits and '_', not starting with a digit or '__'");
    for (i = 0; i < sizeof(own_labels) / sizeof(own_labels[0]); i++)
        if (same(name, len, own_labels[i]))
            return fail(c, t->col, (unsigned)k, "label.%s is set by rarr itself", own_labels[i]);
    for (i = 0; i < a->nlabels; i++)
        if (same(name, len, a->labels[i].name))
            return fail(c, t->col, (unsigned)k, "label.%.*s is given twice", (int)len, name);
    if (a->nlabels == LABELS_MAX)
        return fail(c, t->col, (unsigned)k, "at most %d labels a rule", LABELS_MAX);
    if (check_double_quotes(c, t, k + 1) == -1)
        return -1;
    if ((l = realloc(a->labels, (a->nlabels + 1) * sizeof(*l))) == NULL)
        return oom(c);
    a->labels = l;
    l = &l[a->nlabels];
    l->name = strndup(name, len);
    l->value = unquote(t->p + k + 1, t->len - k - 1);
    a->nlabels++;
    return l->name == NULL || l->value == NULL ? oom(c) : 0;
}

/* Read the value (after 'skip' bytes of 't') of alert option 'o' into 'a'. */
static int
alert_value(struct cursor *c, struct rules_alert *a, const struct token *t, size_t skip,
            enum alert_opt o)
{
    switch (o) {
    case AO_WINDOW:
        a->window_loc = (struct rules_loc){c->file, c->line, t->col};
        a->window_width = (unsigned)t->len;
        return parse_duration(c, t, skip, &a->window_ms, 1);
    case AO_FOR:
        a->for_loc = (struct rules_loc){c->file, c->line, t->col};
        a->for_width = (unsigned)t->len;
        return parse_duration(c, t, skip, &a->for_ms, 0);
    case AO_NAME:
        if ((a->rule = unquote(t->p + skip, t->len - skip)) == NULL)
            return oom(c);
        return a->rule[0] == '\0' ? fail(c, t->col, (unsigned)t->len, "name= cannot be empty") : 0;
    case AO_BELOW:
    case AO_ABOVE:
        a->above = o == AO_ABOVE;
        return parse_number(c, t, skip, &a->threshold);
    case AO_CLEAR:
        return parse_number(c, t, skip, &a->clear);
    case AO_SEASON:
    case AO_DIRECTION:
    case AO_SENSITIVITY:
        return anomaly_value(c, a, t, skip, o);
    case AO_MIN:
        a->min_given = 1;
        if (parse_number(c, t, skip, &a->min) == -1)
            return -1;
        return a->min < 0 ? fail(c, value_col(t, skip), (unsigned)(t->len - skip),
                                 "min= cannot be negative")
                          : 0;
    case AO_SUMMARY:
        if ((a->summary = unquote(t->p + skip, t->len - skip)) == NULL)
            return oom(c);
        return summary_words(c, t, skip, a->summary);
    case AO_RUNBOOK:
        if ((a->runbook = unquote(t->p + skip, t->len - skip)) == NULL)
            return oom(c);
        return a->runbook[0] == '\0' ? fail(c, t->col, (unsigned)t->len, "runbook= cannot be empty")
                                     : 0;
    case AO_N:
        break;
    }
    return 0;
}

/* One option of an alert or anomaly line; 'seen' has a bit for each one given. */
static int
alert_option(struct cursor *c, struct rules_alert *a, const struct token *tok, int n, int i,
             unsigned *seen)
{
    const struct token *t = &tok[i];
    const char *eq = memchr(t->p, '=', t->len);
    size_t k = eq != NULL ? (size_t)(eq - t->p) : t->len;
    unsigned takes = a->anomaly ? anomaly_takes : alert_takes;
    int o;

    if (eq == NULL || eq + 1 == t->p + t->len) {
        if (check_spaced(c, tok, n, i, eq != NULL, "an option") == -1)
            return -1;
        return fail(c, t->col, (unsigned)t->len, "expected an option like window=15m, got '%.*s'",
                    (int)t->len, t->p);
    }
    if (k > 6 && memcmp(t->p, "label.", 6) == 0)
        return alert_label(c, a, t, k);
    for (o = 0; o < AO_N && !same(t->p, k, alert_opts[o]); o++)
        ;
    if (o == AO_N || !(takes & (1u << o)))
        return unknown_alert_option(c, t, k, o, a->anomaly);
    if (check_double_quotes(c, t, k + 1) == -1)
        return -1;
    if ((o == AO_BELOW || o == AO_ABOVE) && (*seen & (1u << AO_BELOW | 1u << AO_ABOVE)))
        return fail(c, t->col, (unsigned)t->len, "an alert has one of below= or above=");
    if (*seen & (1u << o))
        return fail(c, t->col, (unsigned)t->len, "%s= is given twice", alert_opts[o]);
    *seen |= 1u << o;
    return alert_value(c, a, t, k + 1, (enum alert_opt)o);
}

/* A new alert (or anomaly rule) on the metric named by 't', with the defaults. */
static struct rules_alert *
new_alert(struct cursor *c, const struct token *t, int anomaly)
{
    struct rules_loc loc = {c->file, c->line, t->col};
    struct rules_alert *a = rules_add_alert(c->rs, t->p, t->len, &loc, c->src, c->srclen);

    if (a == NULL) {
        oom(c);
        return NULL;
    }
    a->anomaly = anomaly;
    a->season = RULES_SEASON_WEEKLY;
    a->far = 0.1;
    a->min = 10;
    return a;
}

/* The rule text of an alert without name=: "METRIC below X over W", "METRIC anomaly over W". */
static int
alert_rule_text(struct cursor *c, struct rules_alert *a)
{
    char dur[RARR_DUR_MAX];
    struct buf b;

    clock_format_duration(a->window_ms, dur);
    buf_init(&b);
    if (a->anomaly
            ? buf_printf(&b, "%s anomaly over %s", a->metric_name, dur) == -1
            : (buf_printf(&b, "%s %s ", a->metric_name, a->above ? "above" : "below") == -1 ||
               buf_add_double(&b, a->threshold) == -1 || buf_printf(&b, " over %s", dur) == -1)) {
        buf_fini(&b);
        return oom(c);
    }
    a->rule = b.p;
    return 0;
}

/*
 * After the options: what the line must have, clear= on the right side, the
 * rule text, and a name no earlier alert has (events are told apart by it).
 */
static int
alert_end(struct cursor *c, struct rules_alert *a, const struct token *word, unsigned seen)
{
    const struct rules_alert *o;

    if (!c->partial && !(seen & (1u << AO_WINDOW)) && a->anomaly)
        return fail(c, word->col, (unsigned)word->len, "an anomaly rule needs window=");
    if (!c->partial && !a->anomaly &&
        (!(seen & (1u << AO_WINDOW)) || !(seen & (1u << AO_BELOW | 1u << AO_ABOVE))))
        return fail(c, word->col, (unsigned)word->len,
                    "an alert needs window= and below= or above=");
    if (!(seen & (1u << AO_CLEAR)))
        a->clear = a->threshold;
    else if (a->above ? a->clear > a->threshold : a->clear < a->threshold)
        return fail(c, word->col, (unsigned)word->len,
                    "clear=%g is on the wrong side of the threshold %g (it must be %s it)",
                    a->clear, a->threshold, a->above ? "at or below" : "at or above");
    if (a->rule == NULL && alert_rule_text(c, a) == -1)
        return -1;
    if ((o = rules_find_alert(c->rs, a->rule)) == NULL)
        return 0;
    return fail(c, a->loc.col, (unsigned)strlen(a->metric_name),
                "the rule at %s:%u is already named '%s' (give one of them another name=)",
                o->loc.file, o->loc.line, a->rule);
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
    struct rules_alert *a;
    unsigned seen = 0;
    int i, bad = 0;

    if (n < 2 || !is_name(tok[1].p, tok[1].len))
        return fail(c, n < 2 ? (unsigned)c->srclen + 1 : tok[1].col,
                    n < 2 ? 1 : (unsigned)tok[1].len,
                    anomaly ? "expected: anomaly METRIC window=DUR [season=…] [direction=…] "
                              "[sensitivity=…] [min=N] [for=DUR] [name=ID]"
                            : "expected: alert METRIC window=DUR (below=X | above=X) [for=DUR] "
                              "[clear=X] [name=ID]");
    if ((a = new_alert(c, &tok[1], anomaly)) == NULL)
        return -1;
    for (i = 2; i < n && !c->stop_line && !c->rs->stopped; i++)
        if (alert_option(c, a, tok, n, i, &seen) == -1)
            bad = 1;
    /* After an error, what seems missing may only be misspelt: say nothing more. */
    if (!bad && alert_end(c, a, &tok[0], seen) == -1)
        bad = 1;
    /* Its name, even on a line with an error, is taken: later rules are told so. */
    if (rules_name_alert(c->rs, c->rs->nalerts - 1) == -1)
        return oom(c);
    return bad ? -1 : 0;
}

static const char *const directives[] = {"define", "metric", "ratio", "alert", "anomaly"};
#define NDIRECTIVES NELEM(directives)

/*
 * A line ending in '\' (outside quotes): rules are one line each, so this
 * is an error. The '\' is dropped and the line read as far as it goes, and
 * the next line, the intended continuation, is skipped (not reported twice).
 */
static int
check_backslash(struct cursor *c, struct token *tok, int *n)
{
    struct token *t = &tok[*n - 1];

    if (t->p[t->len - 1] != '\\')
        return 0;
    c->partial = 1;
    c->skip_next = 1;
    fail(c, t->col + (unsigned)t->len - 1, 1,
         "a rule is written on one line ('\\' does not continue it on the next)");
    if (--t->len == 0)
        (*n)--;
    return -1;
}

/* Tokenize and parse the line in 'c' by its directive. Returns 0, or -1 after an error. */
static int
parse_line(struct cursor *c)
{
    struct token tok[MAX_TOKENS] = {{0}};
    const char *near;
    int n = tokenize(c, tok), bad, rc;

    if (n <= 0)
        return n;
    bad = check_backslash(c, tok, &n);
    if (n == 0)
        return -1;
    if (same(tok[0].p, tok[0].len, "define"))
        rc = parse_define(c, tok, n);
    else if (same(tok[0].p, tok[0].len, "metric"))
        rc = parse_metric(c, tok, n);
    else if (same(tok[0].p, tok[0].len, "ratio"))
        rc = parse_ratio(c, tok, n);
    else if (same(tok[0].p, tok[0].len, "alert"))
        rc = parse_alert(c, tok, n, 0);
    else if (same(tok[0].p, tok[0].len, "anomaly"))
        rc = parse_alert(c, tok, n, 1);
    else if ((near = nearest(tok[0].p, tok[0].len, directives, NDIRECTIVES)) != NULL)
        rc = fail(c, tok[0].col, (unsigned)tok[0].len,
                  "unknown directive '%.*s' (did you mean '%s'?)", (int)tok[0].len, tok[0].p, near);
    else
        rc = fail(c, tok[0].col, (unsigned)tok[0].len,
                  "unknown directive '%.*s' (expected define, metric, ratio, alert or anomaly)",
                  (int)tok[0].len, tok[0].p);
    return bad ? -1 : rc;
}

/*
 * The line after one that ended in '\' is skipped, unless it starts with a
 * directive (then it is a rule of its own). Sets c->skip_next again when it
 * too ends in '\'. Returns whether to skip it.
 */
static int
skip_continuation(struct cursor *c)
{
    const char *p = skip_blank(c->src, c->src + c->srclen), *e = c->src + c->srclen;
    size_t i, len;

    for (i = 0; i < NDIRECTIVES; i++) {
        len = strlen(directives[i]);
        if ((size_t)(e - p) >= len && memcmp(p, directives[i], len) == 0 &&
            (p + len == e || p[len] == ' ' || p[len] == '\t'))
            return 0;
    }
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    c->skip_next = e > p && e[-1] == '\\';
    return 1;
}

/* Parse the line from 'p' to 'nl' (its newline or the end of the text). */
static void
parse_text_line(struct cursor *c, const char *p, const char *nl)
{
    const char *nul;
    int skip = c->skip_next;

    c->line++;
    c->src = p;
    c->srclen = (size_t)(nl - p);
    c->rest = nl < c->end ? nl + 1 : c->end;
    c->stop_line = c->partial = c->skip_next = 0;
    if (c->srclen > 0 && p[c->srclen - 1] == '\r')
        c->srclen--;
    if (skip && skip_continuation(c))
        return;
    if ((nul = memchr(p, '\0', c->srclen)) != NULL) {
        fail(c, (unsigned)(nul - p) + 1, 1, "a NUL byte in a rule file");
        return;
    }
    parse_line(c);
}

/*
 * Parse rule text 'text' read from 'file' (a name for messages) into 'rs'.
 * Every error is reported into 'd', in file order, after those that earlier
 * calls on 'rs' reported into the same 'd' (pass the same one to every call
 * on a ruleset, and to rules_finish). Returns 0, or -1 when this text had an
 * error or the ruleset had stopped reading (out of memory, too many errors).
 */
int
rules_parse(struct ruleset *rs, const char *file, const char *text, size_t len, struct diag *d)
{
    struct cursor c = {.rs = rs, .d = d, .end = text + len};
    const char *p = text, *end = text + len, *nl;
    size_t before = rs->nerrors;

    if (rs->stopped)
        return -1;
    if ((c.file = rules_add_file(rs, file)) == NULL) {
        struct rules_loc loc = {file, 0, 0};

        rs->stopped = 1;
        return rules_error(rs, d, &loc, NULL, 0, 0, "out of memory");
    }
    for (; p < end && !rs->stopped; p = nl + 1) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;
        parse_text_line(&c, p, nl);
        if (nl == end)
            break;
    }
    return rs->nerrors > before || rs->stopped ? -1 : 0;
}

/* Append the contents of file 'path' to 'b'. Returns -1 with errno set on failure. */
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

/* qsort comparison of two C strings. */
static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths of the "*.rarr" files of directory 'dir' ('path'), sorted; -1 on out-of-memory. */
static int
dir_files(DIR *dir, const char *path, char ***out, size_t *n)
{
    struct dirent *e;
    char **names = NULL, **nn;
    size_t len, cap = 0;

    *n = 0;
    while ((e = readdir(dir)) != NULL) {
        len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".rarr") != 0 || e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            if (cap > SIZE_MAX / 2 / sizeof(*nn) - 16 ||
                (nn = realloc(names, (cap * 2 + 16) * sizeof(*nn))) == NULL)
                break;
            names = nn;
            cap = cap * 2 + 16;
        }
        if ((names[(*n)++] = malloc(strlen(path) + len + 2)) == NULL)
            break;
        sprintf(names[*n - 1], "%s/%s", path, e->d_name);
    }
    *out = names;
    if (e != NULL)
        return -1;
    if (names != NULL)
        qsort(names, *n, sizeof(*names), cmp_names);
    return 0;
}

/* Load every "*.rarr" file of a directory in name order, each with all its errors. */
static int
load_dir(struct ruleset *rs, const char *path, DIR *dir, struct diag *d)
{
    struct rules_loc loc = {path, 0, 0};
    char **names;
    size_t n, i;
    int rc = 0;

    if (dir_files(dir, path, &names, &n) == -1) {
        rs->stopped = 1;
        rc = rules_error(rs, d, &loc, NULL, 0, 0, "out of memory");
    } else if (n == 0) {
        rc = rules_error(rs, d, &loc, NULL, 0, 0, "no *.rarr files in this directory");
    }
    for (i = 0; i < n; i++) {
        if (names[i] != NULL && rules_load_path(rs, names[i], d) == -1)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

/*
 * Load a rule file, or every "*.rarr" file of a directory in name order.
 * Errors go into 'd' as rules_parse() reports them (a file that cannot be
 * read is one). Returns 0, or -1 when there was an error.
 */
int
rules_load_path(struct ruleset *rs, const char *path, struct diag *d)
{
    struct rules_loc loc = {path, 0, 0};
    struct buf b;
    DIR *dir;
    int rc = -1;

    if (rs->stopped)
        return -1;
    if ((dir = opendir(path)) != NULL) {
        rc = load_dir(rs, path, dir, d);
        closedir(dir);
        return rc;
    }
    buf_init(&b);
    if (read_file(path, &b) == -1)
        rules_error(rs, d, &loc, NULL, 0, 0, strerror(errno));
    else
        rc = rules_parse(rs, path, buf_cstr(&b), b.len, d);
    buf_fini(&b);
    return rc;
}
