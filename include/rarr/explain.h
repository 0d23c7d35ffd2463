/* explain.h -- --explain: what the rules made of each line, as NDJSON, and a summary at the end. */
#ifndef RARR_EXPLAIN_H
#define RARR_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "rarr/buf.h"
#include "rarr/diag.h"
#include "rarr/match.h"
#include "rarr/record.h"
#include "rarr/rules.h"

/* The most bytes of a line or field value an explain record quotes. */
#define EXPLAIN_EXCERPT 200

/* What --explain has seen so far, for its summary. */
struct explain {
    const struct ruleset *rs;
    uint64_t lines;   /* lines explained (parsed, with a time) */
    uint64_t matched; /* of those, lines some metric counted */
    uint64_t skipped; /* lines skipped (bad, late) */
    uint64_t *hits;   /* [nmetrics] lines each metric counted */
    uint64_t *misses; /* [nmetrics] lines it did not */
};

struct explain *explain_new(const struct ruleset *rs);
void explain_free(struct explain *x);
int explain_line(struct explain *x, struct buf *b, struct matcher *mt, struct record *r,
                 const char *src, uint64_t lineno, const char *format);
int explain_skipped(struct explain *x, struct buf *b, const char *src, uint64_t lineno,
                    enum diag_reason why, const char *line, size_t len);
int explain_summary(const struct explain *x, struct buf *b);

#endif
