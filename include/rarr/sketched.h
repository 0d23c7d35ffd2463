/* sketched.h -- a distinct= or quantile metric's sketches: one per pending step, a window of them.
 */
#ifndef RARR_SKETCHED_H
#define RARR_SKETCHED_H

#include <stddef.h>

#include "rarr/hll.h"
#include "rarr/quantile.h"

/*
 * The sketches of one metric: 'npending' rows that gather the steps still
 * open to lines, and a ring of the last 'nsteps' closed steps that a
 * window merges. A distinct= metric holds HyperLogLogs, a quantile metric
 * quantile sketches. Memory: (npending + nsteps + 1) sketches, each at
 * most 16 KiB (HLL registers, or 2,048 quantile buckets).
 */
struct sketched {
    int distinct;        /* HyperLogLogs; else quantile sketches */
    double q;            /* the quantile answered (1: the maximum) */
    size_t npending;     /* rows gathering open steps */
    size_t nsteps;       /* closed steps kept */
    size_t head;         /* ring position of the next closed step */
    struct hll *hll;     /* [npending + nsteps + 1]: rows, ring, scratch */
    struct quantile *qs; /* the same, for quantiles */
};

struct sketched *sketched_new(int distinct, double q, size_t npending, size_t nsteps);
void sketched_free(struct sketched *s);
void sketched_reset(struct sketched *s);
int sketched_add_key(struct sketched *s, size_t row, const char *p, size_t len);
int sketched_add_value(struct sketched *s, size_t row, double v);
int sketched_close(struct sketched *s, size_t row);
int sketched_window(struct sketched *s, size_t steps, double *value);
struct hll *sketched_hll(struct sketched *s, size_t i);
struct quantile *sketched_quantile(struct sketched *s, size_t i);
size_t sketched_ring(const struct sketched *s, size_t age);

#endif
