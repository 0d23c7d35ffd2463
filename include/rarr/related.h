/* related.h -- "what else moved": the metrics far from their usual value when an alert fires. */
#ifndef RARR_RELATED_H
#define RARR_RELATED_H

#include <stddef.h>
#include <stdint.h>

#include "rarr/rules.h"

/* The most metrics a firing record names. */
#define RELATED_MAX 5
/* The windows before the current one that make a metric's usual value. */
#define RELATED_BEFORE 4

struct related_item {
    size_t metric;
    const char *name; /* the metric's (borrowed from the rules) */
    double value;     /* over the alert's window */
    double usual;     /* the mean of the RELATED_BEFORE windows before it */
    double change;    /* (value - usual) / usual (a usual of at least 1) */
};

struct related_list {
    size_t n;
    struct related_item v[RELATED_MAX];
};

/* Each counted metric's last steps (a ring): counts and sums, not ratios or sketches. */
struct related {
    const struct ruleset *rs;
    size_t nsteps; /* steps kept a metric */
    size_t head;   /* the ring's next row */
    uint64_t seen; /* steps pushed */
    double *steps; /* [nsteps][nmetrics] */
};

struct related *related_new(const struct ruleset *rs, int64_t step_ms);
void related_free(struct related *r);
void related_reset(struct related *r);
void related_push(struct related *r, const double *values);
void related_find(const struct related *r, size_t metric, size_t window_steps,
                  struct related_list *out);
size_t related_len(const struct related *r);
double related_at(const struct related *r, size_t metric, size_t j);
void related_restore(struct related *r, size_t metric, const double *v, size_t n);

#endif
