/*
 * diag.c -- diagnostics: located errors and bad-line reports.
 *
 * Library modules fill a struct diag and return -1; main prints it with
 * diag_print() in the jq shape: a located message, the source line and a
 * caret under the column. A struct diag holds up to RARR_DIAG_MAX errors
 * (a rule loader reports them all), and diag_nearest() finds the word a
 * typo was meant to be, for "did you mean". Bad input lines are reported here too: the first
 * RARR_BAD_SHOWN in full, then at most one summary every 10 seconds of wall
 * time (stderr only, so replay output stays free of the wall clock).
 */
#include "rarr/diag.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "rarr/clock.h"

static void vset(struct diag *d, const char *file, unsigned line, unsigned col, const char *fmt,
                 va_list ap) __attribute__((format(printf, 5, 0)));

static void
vset(struct diag *d, const char *file, unsigned line, unsigned col, const char *fmt, va_list ap)
{
    snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
    d->line = line;
    d->col = col;
    d->width = 1;
    d->src[0] = '\0';
    d->n = 1;
    d->dropped = 0;
    d->last_dropped = 0;
    d->dropped_file[0] = '\0';
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
}

/* Fill 'd' with a located message, its only error. 'file' may be NULL, line/col 0. */
void
diag_set(struct diag *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;

    if (d == NULL)
        return;
    va_start(ap, fmt);
    vset(d, file, line, col, fmt, ap);
    va_end(ap);
}

/*
 * Add one more located error to 'd', which holds the errors diag_set and
 * diag_add put there (a zeroed struct holds none: this is then diag_set).
 * When 'd' already holds RARR_DIAG_MAX errors the new one is only counted
 * (diag_print then ends with "too many errors") and -1 is returned.
 */
int
diag_add(struct diag *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
    struct diag_entry *e;
    va_list ap;

    if (d == NULL)
        return -1;
    va_start(ap, fmt);
    if (d->n == 0) {
        vset(d, file, line, col, fmt, ap);
        va_end(ap);
        return 0;
    }
    if (d->n >= RARR_DIAG_MAX) {
        va_end(ap);
        if (d->dropped++ == 0)
            snprintf(d->dropped_file, sizeof(d->dropped_file), "%s", file ? file : "");
        d->last_dropped = 1;
        return -1;
    }
    e = &d->more[d->n - 1];
    d->n++;
    d->last_dropped = 0;
    snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
    e->line = line;
    e->col = col;
    e->width = 1;
    e->src[0] = '\0';
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return 0;
}

/* Error 'i' (0: the struct's own fields) as an entry, by value. */
static struct diag_entry
get_entry(const struct diag *d, unsigned i)
{
    struct diag_entry e;

    if (i > 0)
        return d->more[i - 1];
    memcpy(e.file, d->file, sizeof(e.file));
    e.line = d->line;
    e.col = d->col;
    e.width = d->width;
    memcpy(e.msg, d->msg, sizeof(e.msg));
    memcpy(e.src, d->src, sizeof(e.src));
    return e;
}

static void
put_entry(struct diag *d, unsigned i, const struct diag_entry *e)
{
    if (i > 0) {
        d->more[i - 1] = *e;
        return;
    }
    memcpy(d->file, e->file, sizeof(d->file));
    d->line = e->line;
    d->col = e->col;
    d->width = e->width;
    memcpy(d->msg, e->msg, sizeof(d->msg));
    memcpy(d->src, e->src, sizeof(d->src));
}

/* How many errors 'd' holds: a struct filled by hand (n = 0) holds one. */
static unsigned
count(const struct diag *d)
{
    return d->n == 0 ? 1 : d->n > RARR_DIAG_MAX ? RARR_DIAG_MAX : d->n;
}

/*
 * Attach the offending source line to the error set or added last, so
 * diag_print can point into it. Does nothing after a dropped diag_add.
 */
void
diag_source(struct diag *d, const char *line, size_t len, unsigned width)
{
    char *src;

    if (d == NULL || d->last_dropped)
        return;
    if (count(d) > 1) {
        src = d->more[count(d) - 2].src;
        d->more[count(d) - 2].width = width ? width : 1;
    } else {
        src = d->src;
        d->width = width ? width : 1;
    }
    if (len >= sizeof(d->src))
        len = sizeof(d->src) - 1;
    memcpy(src, line, len);
    src[len] = '\0';
}

/* The rank of 'file' in 'files'; files not named there come after them all. */
static size_t
file_rank(const char *file, const char *const *files, size_t nfiles)
{
    size_t i;

    for (i = 0; i < nfiles; i++)
        if (strcmp(file, files[i]) == 0)
            return i;
    return nfiles;
}

static int
entry_before(const struct diag_entry *a, const struct diag_entry *b, const char *const *files,
             size_t nfiles)
{
    size_t ra = file_rank(a->file, files, nfiles), rb = file_rank(b->file, files, nfiles);

    if (ra != rb)
        return ra < rb;
    if (a->line != b->line)
        return a->line < b->line;
    return a->col < b->col;
}

/*
 * Order the errors of 'd' by file, in the order 'files' lists them, then by
 * line and column. The sort is stable: errors at one place keep their order.
 */
void
diag_sort(struct diag *d, const char *const *files, size_t nfiles)
{
    struct diag_entry cur, prev;
    unsigned i, j, n = count(d);

    /* Insertion sort: at most RARR_DIAG_MAX entries, most already in order. */
    for (i = 1; i < n; i++) {
        cur = get_entry(d, i);
        for (j = i; j > 0; j--) {
            prev = get_entry(d, j - 1);
            if (!entry_before(&cur, &prev, files, nfiles))
                break;
            put_entry(d, j, &prev);
        }
        if (j != i)
            put_entry(d, j, &cur);
    }
}

static void
print_entry(const struct diag_entry *e, FILE *fp)
{
    unsigned i;

    fputs("rarr: ", fp);
    if (e->file[0] != '\0') {
        fputs(e->file, fp);
        if (e->line > 0)
            fprintf(fp, ":%u", e->line);
        if (e->col > 0)
            fprintf(fp, ":%u", e->col);
        fputs(": error: ", fp);
    }
    fprintf(fp, "%s\n", e->msg);
    if (e->src[0] == '\0' || e->col == 0)
        return;
    fprintf(fp, "    %s\n    ", e->src);
    for (i = 1; i < e->col && e->src[i - 1] != '\0'; i++)
        fputc(e->src[i - 1] == '\t' ? '\t' : ' ', fp);
    for (i = 0; i < e->width; i++)
        fputc('^', fp);
    fputc('\n', fp);
}

/*
 * Print every error of 'd': "rarr: FILE:LINE:COL: error: MSG", then the
 * source line and a caret under the column when they are known. When errors
 * were dropped, end with "rarr: FILE: too many errors; stopping".
 */
void
diag_print(const struct diag *d, FILE *fp)
{
    struct diag_entry e;
    unsigned i;

    for (i = 0; i < count(d); i++) {
        e = get_entry(d, i);
        print_entry(&e, fp);
    }
    /* Errors of a file stop its reading; notes without a file (a state load's) are only cut. */
    if (d->n > 0 && d->dropped > 0 && d->dropped_file[0] != '\0')
        fprintf(fp, "rarr: %s: too many errors; stopping\n", d->dropped_file);
    else if (d->n > 0 && d->dropped > 0)
        fprintf(fp, "rarr: and %u more like these\n", d->dropped);
}

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

#define NEAREST_MAX 64 /* longer words are not compared */

/*
 * The optimal-string-alignment distance between 'a' and 'b', ignoring case:
 * insertions, deletions, substitutions and swaps of neighbours cost 1.
 */
static size_t
distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t rows[3][NEAREST_MAX + 1], *pp = rows[0], *p = rows[1], *c = rows[2], *t;
    size_t i, j, v;

    for (j = 0; j <= lb; j++)
        p[j] = j;
    for (i = 1; i <= la; i++) {
        c[0] = i;
        for (j = 1; j <= lb; j++) {
            int same = lower(a[i - 1]) == lower(b[j - 1]);

            v = p[j - 1] + !same;
            if (p[j] + 1 < v)
                v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
        }
        t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[lb];
}

/*
 * The one word of 'cands' (n of them) close to 'word', for "did you mean":
 * at most 2 edits away (a swap of neighbours is one, case is ignored) and
 * fewer than half the length of the longer of the two. NULL when none is
 * close, or when two different candidates are equally close.
 */
const char *
diag_nearest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t i, lw = strlen(word), bestd = SIZE_MAX;
    int tie = 0;

    if (lw > NEAREST_MAX)
        return NULL;
    for (i = 0; i < n; i++) {
        size_t lc = strlen(cands[i]), dist, longer = lc > lw ? lc : lw;

        if (lc > NEAREST_MAX || lc + 2 < lw || lw + 2 < lc)
            continue;
        dist = distance(word, lw, cands[i], lc);
        if (dist > 2 || 2 * dist >= longer)
            continue;
        if (dist < bestd) {
            best = cands[i];
            bestd = dist;
            tie = 0;
        } else if (dist == bestd && strcmp(best, cands[i]) != 0) {
            tie = 1;
        }
    }
    return tie ? NULL : best;
}

static const char *const reason_names[DIAG_NREASONS] = {
    [DIAG_TOO_LONG] = "too long",
    [DIAG_NOT_CLF] = "unparsable",
    [DIAG_BAD_JSON] = "invalid json",
    [DIAG_NOT_OBJECT] = "not a json object",
    [DIAG_NO_TIME] = "no timestamp",
    [DIAG_BAD_TIME] = "bad timestamp",
    [DIAG_LATE] = "late",
    [DIAG_TIME_JUMP] = "time jump",
    [DIAG_MATCH_LIMIT] = "match limit",
    [DIAG_MATCH_ERROR] = "match error",
    [DIAG_BAD_PARTIAL] = "bad partial",
};

/* The reason as written in reports and --stats. */
const char *
diag_reason_name(enum diag_reason r)
{
    return (unsigned)r < DIAG_NREASONS ? reason_names[r] : "unknown";
}

/* Start counting bad lines; reports go to 'fp' (NULL: count only). */
void
diag_bad_init(struct diag_bad *b, FILE *fp)
{
    memset(b, 0, sizeof(*b));
    b->fp = fp;
}

/*
 * Write the excerpt with every byte that is not printable ASCII as \xHH, so a
 * hostile line cannot drive the terminal or fake a second message.
 */
static void
put_excerpt(FILE *fp, const char *p, size_t len)
{
    size_t i;

    if (len > 80)
        len = 80;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, fp);
        else
            fprintf(fp, "\\x%02x", c);
    }
}

static void
summary(struct diag_bad *b)
{
    uint64_t n = b->total - b->reported;
    int r, first = 1;

    if (n == 0 || b->fp == NULL)
        return;
    if (b->clear_line)
        fputs("\r\033[K", b->fp);
    fprintf(b->fp, "rarr: input: %llu more bad line%s (bad so far:", (unsigned long long)n,
            n == 1 ? "" : "s");
    for (r = 0; r < DIAG_NREASONS; r++) {
        if (b->count[r] == 0)
            continue;
        fprintf(b->fp, "%s %s %llu", first ? "" : ",", reason_names[r],
                (unsigned long long)b->count[r]);
        first = 0;
    }
    fputs(")\n", b->fp);
    b->reported = b->total;
}

/*
 * Count a bad line and report it: "rarr: SRC:LINE: REASON: <first 80 bytes>"
 * for the first RARR_BAD_SHOWN, then a summary at most every 10 s.
 */
void
diag_bad_line(struct diag_bad *b, const char *src, uint64_t lineno, enum diag_reason r,
              const char *p, size_t len)
{
    int64_t now;

    b->count[r]++;
    b->total++;
    if (b->fp == NULL)
        return;
    if (b->total <= RARR_BAD_SHOWN) {
        if (b->clear_line)
            fputs("\r\033[K", b->fp);
        fprintf(b->fp, "rarr: %s:%llu: %s: ", src, (unsigned long long)lineno, reason_names[r]);
        if (r == DIAG_LATE) {
            char behind[RARR_DUR_MAX], lateness[RARR_DUR_MAX];

            clock_format_duration(b->late_last_ms, behind);
            clock_format_duration(b->lateness_ms, lateness);
            fprintf(b->fp, "%s behind the newest event, past --lateness %s: ", behind, lateness);
        } else if (r == DIAG_MATCH_ERROR) {
            fprintf(b->fp, "%s: ", b->detail);
        }
        put_excerpt(b->fp, p, len);
        fputc('\n', b->fp);
        b->reported = b->total;
        if (b->total == RARR_BAD_SHOWN)
            b->last_summary_ms = clock_mono_ms();
        return;
    }
    now = clock_mono_ms();
    if (now - b->last_summary_ms >= RARR_BAD_SUMMARY_MS) {
        summary(b);
        b->last_summary_ms = now;
    }
}

/*
 * Say how late the late lines were and which --lateness would have kept
 * them (the most any was behind, rounded up to a minute, plus a minute).
 */
void
diag_bad_late_advice(const struct diag_bad *b, FILE *fp)
{
    char most[RARR_DUR_MAX], lateness[RARR_DUR_MAX], enough[RARR_DUR_MAX];

    if (b->count[DIAG_LATE] == 0 || fp == NULL)
        return;
    clock_format_duration(b->late_max_ms, most);
    clock_format_duration(b->lateness_ms, lateness);
    clock_format_duration((b->late_max_ms + 59999) / 60000 * 60000 + 60000, enough);
    fprintf(fp,
            "rarr: input: %llu line%s came later than --lateness %s allows (the most %s behind "
            "the newest event)",
            (unsigned long long)b->count[DIAG_LATE], b->count[DIAG_LATE] == 1 ? "" : "s", lateness,
            most);
    /* Past a day it is input out of order (files, a stray line), not slow requests. */
    if (b->late_max_ms <= CLOCK_DAY_MS)
        fprintf(fp, "; --lateness %s would keep %s\n", enough,
                b->count[DIAG_LATE] == 1 ? "it" : "them");
    else
        fputs("; that is input out of time order, not slow requests\n", fp);
}

/* At the end of input: sum up the bad lines not yet reported, and advise on late ones. */
void
diag_bad_finish(struct diag_bad *b)
{
    summary(b);
    if (b->fp != NULL && b->clear_line && b->count[DIAG_LATE] > 0)
        fputs("\r\033[K", b->fp);
    diag_bad_late_advice(b, b->fp);
}
