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
    size_t index; /* the rule's place in the rules at the start; SIZE_MAX: none */
    uint64_t firings;
    int64_t total_ms, longest_ms;
    int64_t open_ms; /* when the firing under way began; INT64_MIN: none */
};

struct tally {
    size_t nrules; /* rows[0..nrules) are the rules given at the start, in order */
    struct tally_row *rows;
    size_t n, cap;
};

/* Called for each row of the summary, in order; 'firing_at_end': a firing was still open. */
typedef int (*tally_row_fn)(void *arg, const struct tally_row *r, int firing_at_end);

struct tally *tally_new(const struct ruleset *rs);
void tally_free(struct tally *t);
int tally_event(struct tally *t, const char *rule, const char *metric, const char *rarr,
                const char *key, int firing, int64_t t_ms);
int tally_record(struct tally *t, const char *rec, size_t len, int quiet);
int tally_each(struct tally *t, int64_t end_ms, tally_row_fn fn, void *arg);
int tally_write(struct tally *t, struct emit *e, int64_t end_ms);

#endif
