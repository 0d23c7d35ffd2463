/* tally.h -- the replay summary: per rule, how often it fired and for how long. */
#ifndef RARR_TALLY_H
#define RARR_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "rarr/emit.h"
#include "rarr/rules.h"

/* One rule's (one key's, on a metric with keys) firings. */
struct tally_row {
    char *rule, *metric, *rarr, *key; /* rarr, key: NULL for none */
    uint64_t firings;
    int64_t total_ms, longest_ms;
    int64_t open_ms; /* when the firing under way began; INT64_MIN: none */
};

struct tally {
    size_t nrules; /* rows[0..nrules) are the rules given at the start, in order */
    struct tally_row *rows;
    size_t n, cap;
};

struct tally *tally_new(const struct ruleset *rs);
void tally_free(struct tally *t);
int tally_record(struct tally *t, const char *rec, size_t len, int quiet);
int tally_write(struct tally *t, struct emit *e, int64_t end_ms);

#endif
