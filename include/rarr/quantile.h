/* quantile.h -- a mergeable relative-error quantile sketch: what p50= .. max= gather. */
#ifndef RARR_QUANTILE_H
#define RARR_QUANTILE_H

#include <stddef.h>
#include <stdint.h>

/* Relative accuracy: an answer is within this fraction of the true value at its rank. */
#define QUANTILE_ALPHA 0.01
/* Bound on buckets; past it the lowest buckets collapse into one. */
#define QUANTILE_MAX_BUCKETS 2048
/* Values below this (zero included) are counted apart and reported as the minimum. */
#define QUANTILE_MIN_VALUE 1e-9

/*
 * Logarithmic buckets of ratio gamma = (1 + alpha) / (1 - alpha): a value
 * v >= QUANTILE_MIN_VALUE goes to bucket i = ceil(log(v) / log(gamma)), the
 * range (gamma^(i-1), gamma^i], answered by 2 gamma^i / (gamma + 1), within
 * alpha of anything in it. Counts are whole numbers held in doubles, so two
 * sketches merge exactly, in any grouping and order.
 *
 * Rank: with n values, quantile_value(q, p) answers for the value at 0-based
 * rank floor(p * (n - 1)) of the values sorted ascending (computed in double);
 * the answer is within QUANTILE_ALPHA of that value (relative), always inside
 * [min, max]; p = 0 gives the exact min and p = 1 the exact max.
 *
 * Bound: at most QUANTILE_MAX_BUCKETS buckets, so the heap is at most
 * QUANTILE_MAX_BUCKETS * sizeof(double) = 16 KiB per sketch, whatever the
 * input. 2048 buckets span a ratio of about 6e17 (1 ns .. 19 years in
 * seconds). When the values span more, the buckets below the highest 2048
 * are folded into the lowest kept one: the ranks above it stay within alpha,
 * but a rank landing in the folded bucket gets that bucket's value, too high
 * by up to the ratio the values span beyond the bound (p = 0 stays exact).
 */
struct quantile {
    double *counts;    /* counts[k]: values in bucket first + k; 'cap' long, zero past 'n' */
    size_t n;          /* buckets in use; counts[0] and counts[n - 1] are non-zero */
    size_t cap;        /* allocated, at most QUANTILE_MAX_BUCKETS */
    int32_t first;     /* bucket index of counts[0] */
    double zero_count; /* values below QUANTILE_MIN_VALUE */
    double count;      /* every value: zero_count plus the buckets */
    double min, max;   /* exact; meaningful while count > 0 */
};

void quantile_init(struct quantile *q);
void quantile_fini(struct quantile *q);
void quantile_clear(struct quantile *q);
int quantile_add(struct quantile *q, double v);
int quantile_merge(struct quantile *to, const struct quantile *from);
double quantile_value(const struct quantile *q, double p);
double quantile_count(const struct quantile *q);
double quantile_min(const struct quantile *q);
double quantile_max(const struct quantile *q);
double quantile_zero_count(const struct quantile *q);
size_t quantile_bytes(const struct quantile *q);
size_t quantile_buckets(const struct quantile *q, int32_t *first_index, const double **counts);
int quantile_set(struct quantile *q, int32_t first_index, const double *counts, size_t n,
                 double zero_count, double min, double max);

#endif
