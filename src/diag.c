/*
 * diag.c -- diagnostics: located errors and bad-line reports.
 *
 * Library modules fill a struct diag and return -1; main prints it with
 * diag_print() in the jq shape: a located message, the source line and a
 * caret under the column. Bad input lines are reported here too: the first
 * RARR_BAD_SHOWN in full, then at most one summary every 10 seconds of wall
 * time (stderr only, so replay output stays free of the wall clock).
 */
#include "rarr/diag.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "rarr/clock.h"

/* Fill 'd' with a located message. 'file' may be NULL, line/col 0. */
void
diag_set(struct diag *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;

    if (d == NULL)
        return;
    snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
    d->line = line;
    d->col = col;
    d->width = 1;
    d->src[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
}

/* Attach the offending source line so diag_print can point into it. */
void
diag_source(struct diag *d, const char *line, size_t len, unsigned width)
{
    if (d == NULL)
        return;
    if (len >= sizeof(d->src))
        len = sizeof(d->src) - 1;
    memcpy(d->src, line, len);
    d->src[len] = '\0';
    d->width = width ? width : 1;
}

/*
 * Print "rarr: FILE:LINE:COL: error: MSG", then the source line and a caret
 * under the column when they are known.
 */
void
diag_print(const struct diag *d, FILE *fp)
{
    unsigned i;

    fputs("rarr: ", fp);
    if (d->file[0] != '\0') {
        fputs(d->file, fp);
        if (d->line > 0)
            fprintf(fp, ":%u", d->line);
        if (d->col > 0)
            fprintf(fp, ":%u", d->col);
        fputs(": error: ", fp);
    }
    fprintf(fp, "%s\n", d->msg);
    if (d->src[0] == '\0' || d->col == 0)
        return;
    fprintf(fp, "    %s\n    ", d->src);
    for (i = 1; i < d->col && d->src[i - 1] != '\0'; i++)
        fputc(d->src[i - 1] == '\t' ? '\t' : ' ', fp);
    for (i = 0; i < d->width; i++)
        fputc('^', fp);
    fputc('\n', fp);
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
};

/* The reason as written in reports and --stats. */
const char *
diag_reason_name(enum diag_reason r)
{
    return (unsigned)r < DIAG_NREASONS ? reason_names[r] : "unknown";
}

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
        }
        put_excerpt(b->fp, p, len);
        fputc('\n', b->fp);
        b->reported = b->total;
        if (b->total == RARR_BAD_SHOWN)
            b->last_summary_ms = mono_ms();
        return;
    }
    now = mono_ms();
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
            "the newest event); --lateness %s would keep them\n",
            (unsigned long long)b->count[DIAG_LATE], b->count[DIAG_LATE] == 1 ? "" : "s", lateness,
            most, enough);
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
