/* diag.h -- located errors, bad-line reports and --stats. */
#ifndef RARR_DIAG_H
#define RARR_DIAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How many located errors one struct diag holds; more are counted, not kept. */
#define RARR_DIAG_MAX 20

/* One located error: file, line and column (1-based, 0 when unknown), message, source line. */
struct diag_entry {
    char file[256];
    unsigned line;
    unsigned col;
    unsigned width; /* how many columns the caret underlines */
    char msg[1024];
    char src[512]; /* the offending source line, for the caret */
};

/*
 * Located errors filled by library code and printed by main. The first error
 * is the struct's own fields (diag_set fills them); a loader that reports
 * every error adds the others with diag_add.
 */
struct diag {
    char file[256];
    unsigned line;  /* 1-based; 0 when the error has no line */
    unsigned col;   /* 1-based; 0 when the error has no column */
    unsigned width; /* how many columns the caret underlines */
    char msg[1024];
    char src[512];          /* the offending source line, for the caret */
    unsigned n;             /* errors held: 1 after diag_set, at most RARR_DIAG_MAX */
    unsigned dropped;       /* errors added when it was full */
    int last_dropped;       /* the last diag_add was dropped: diag_source ignores it */
    char dropped_file[256]; /* the file of the first error dropped */
    struct diag_entry more[RARR_DIAG_MAX - 1]; /* errors 2..n */
};

void diag_set(struct diag *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int diag_add(struct diag *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_source(struct diag *d, const char *line, size_t len, unsigned width);
void diag_sort(struct diag *d, const char *const *files, size_t nfiles);
void diag_print(const struct diag *d, FILE *fp);
const char *diag_nearest(const char *word, const char *const *cands, size_t n);

/* Why a line was skipped: the reasons --stats and the bad-line reports name. */
enum diag_reason {
    DIAG_TOO_LONG,
    DIAG_NOT_CLF,
    DIAG_BAD_JSON,
    DIAG_NOT_OBJECT,
    DIAG_NO_TIME,
    DIAG_BAD_TIME,
    DIAG_LATE,
    DIAG_TIME_JUMP,
    DIAG_MATCH_LIMIT,
    DIAG_MATCH_ERROR,
    DIAG_BAD_PARTIAL,
    DIAG_NREASONS
};

const char *diag_reason_name(enum diag_reason r);

/* Bad-line reporting: the first few in full, then a rate-limited summary. */
#define DIAG_DETAIL_MAX 128

struct diag_bad {
    uint64_t count[DIAG_NREASONS];
    uint64_t total;
    uint64_t reported; /* lines shown or summed up so far */
    int64_t last_summary_ms;
    FILE *fp;
    int clear_line;               /* a progress line may be on the terminal: erase it first */
    int64_t lateness_ms;          /* the lateness in force when the last late line came */
    int64_t late_last_ms;         /* how far the last late line was behind the newest event */
    int64_t late_max_ms;          /* the most any late line was behind it */
    char detail[DIAG_DETAIL_MAX]; /* what a match error met (PCRE2's message) */
};

void diag_bad_init(struct diag_bad *b, FILE *fp);
void diag_bad_line(struct diag_bad *b, const char *src, uint64_t lineno, enum diag_reason r,
                   const char *p, size_t len);
void diag_bad_finish(struct diag_bad *b);
void diag_bad_late_advice(const struct diag_bad *b, FILE *fp);

#define RARR_BAD_SHOWN 5
#define RARR_BAD_SUMMARY_MS 10000

#endif
