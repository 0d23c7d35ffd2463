/*
 * quantile.c -- the quantile sketch behind p50= .. p999= and max=: a value
 * type like struct series, added to per step and merged over windows.
 *
 * A sketch is a dense array of bucket counts with the index of its first
 * bucket, a count of values too small for a bucket, the total and the exact
 * min and max. Invariants, kept by every function:
 *   - counts[0] and counts[n - 1] are non-zero when n > 0, and counts[k] is
 *     zero for n <= k < cap, so the array is the same for the same values
 *     however they were gathered (merge is exact: counts are whole numbers);
 *   - n <= cap <= QUANTILE_MAX_BUCKETS. Where the values need more buckets,
 *     a value in bucket i is counted in bucket max(i, H - MAX + 1), H the
 *     highest bucket seen. That floor only rises and max(max(i, a), b) is
 *     max(i, b) for a <= b, so folding early or late gives the same counts.
 * Adding a value to an existing bucket costs a log and no allocation; a new
 * bucket may grow the array (doubling, up to the bound) or move it.
 */
#include "rarr/quantile.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* log(gamma) and log(1 - alpha): constants the compiler can fold. */
#define QUANTILE_LOG_GAMMA log((1 + QUANTILE_ALPHA) / (1 - QUANTILE_ALPHA))
#define QUANTILE_LOG_REP log(1 - QUANTILE_ALPHA)

/* The upper edge gamma^i of bucket i, as the index computation sees it. */
static double
quantile_edge(double i)
{
    return exp(i * QUANTILE_LOG_GAMMA);
}

/*
 * The bucket of 'v' (finite, >= QUANTILE_MIN_VALUE): the i with
 * edge(i - 1) < v <= edge(i). The log can land one off right at an edge, so
 * the guess is checked against the edges the representative is built from;
 * that keeps every value within alpha of its bucket's answer.
 */
static int32_t
quantile_index(double v)
{
    /*
     * The edges of the buckets met lately: exp() is the dear part, and the
     * values of a metric cluster in a few hundred buckets. (The stages run
     * on one thread.)
     */
    static struct {
        double lo, hi;
        int32_t i;
        unsigned char set;
    } cache[256];
    double g = ceil(log(v) / QUANTILE_LOG_GAMMA);
    int32_t i = (int32_t)g;
    size_t c = (uint32_t)i & 255;

    if (!cache[c].set || cache[c].i != i) {
        cache[c].lo = quantile_edge(g - 1);
        cache[c].hi = quantile_edge(g);
        cache[c].i = i;
        cache[c].set = 1;
    }
    if (v > cache[c].hi)
        return i + 1;
    return v <= cache[c].lo ? i - 1 : i;
}

/*
 * The answer for bucket i: 2 gamma^i / (gamma + 1), which is gamma^i
 * (1 - alpha), taken as one exp so the top bucket of DBL_MAX stays finite.
 */
static double
quantile_rep(int32_t i)
{
    return exp((double)i * QUANTILE_LOG_GAMMA + QUANTILE_LOG_REP);
}

/* Make room for 'want' buckets (<= QUANTILE_MAX_BUCKETS). 0, or -1 on OOM. */
static int
quantile_grow(struct quantile *q, size_t want)
{
    size_t cap;
    double *c;

    if (want <= q->cap)
        return 0;
    cap = q->cap * 2 > 16 ? q->cap * 2 : 16;
    if (cap > QUANTILE_MAX_BUCKETS)
        cap = QUANTILE_MAX_BUCKETS;
    if (cap < want)
        cap = want;
    if ((c = realloc(q->counts, cap * sizeof(*c))) == NULL)
        return -1;
    memset(c + q->cap, 0, (cap - q->cap) * sizeof(*c));
    q->counts = c;
    q->cap = cap;
    return 0;
}

/* Fold every bucket below 'lo' (> first) into bucket lo, which becomes the first. */
static void
quantile_fold(struct quantile *q, int32_t lo)
{
    size_t k = (size_t)((int64_t)lo - q->first), j;
    double s = 0;

    for (j = 0; j < k && j < q->n; j++)
        s += q->counts[j];
    if (k < q->n) {
        memmove(q->counts, q->counts + k, (q->n - k) * sizeof(*q->counts));
        memset(q->counts + q->n - k, 0, k * sizeof(*q->counts));
        q->n -= k;
    } else {
        memset(q->counts, 0, q->n * sizeof(*q->counts));
        q->n = 1;
    }
    q->counts[0] += s;
    q->first = lo;
}

/* Widen the array to buckets lo..hi (lo <= first, hi >= last; capacity there). */
static void
quantile_extend(struct quantile *q, int32_t lo, int32_t hi)
{
    size_t shift;

    if (q->n > 0 && q->first > lo) {
        shift = (size_t)((int64_t)q->first - lo);
        memmove(q->counts + shift, q->counts, q->n * sizeof(*q->counts));
        memset(q->counts, 0, shift * sizeof(*q->counts));
    }
    q->first = lo;
    q->n = (size_t)((int64_t)hi - lo + 1);
}

/*
 * Make the array cover buckets lo..hi besides its own, folding what falls
 * below the bound, and set '*bottom' to the lowest bucket kept: an incoming
 * index under it is counted there. The allocation comes first, so on OOM
 * (-1) the sketch is unchanged. The new end buckets are left at zero for the
 * caller to fill.
 */
static int
quantile_reserve(struct quantile *q, int32_t lo, int32_t hi, int32_t *bottom)
{
    int64_t last, f;

    if (q->n > 0) {
        last = (int64_t)q->first + (int64_t)q->n - 1;
        if (q->first < lo)
            lo = q->first;
        if (last > hi)
            hi = (int32_t)last;
    }
    f = (int64_t)hi - QUANTILE_MAX_BUCKETS + 1;
    if (lo < f)
        lo = (int32_t)f;
    if (quantile_grow(q, (size_t)((int64_t)hi - lo + 1)) == -1)
        return -1;
    if (q->n > 0 && q->first < lo)
        quantile_fold(q, lo);
    quantile_extend(q, lo, hi);
    *bottom = lo;
    return 0;
}

/* Make 'q' an empty sketch. It owns nothing until the first value. */
void
quantile_init(struct quantile *q)
{
    memset(q, 0, sizeof(*q));
}

/* Free what 'q' owns and leave it empty. Does nothing if 'q' is NULL. */
void
quantile_fini(struct quantile *q)
{
    if (q == NULL)
        return;
    free(q->counts);
    memset(q, 0, sizeof(*q));
}

/*
 * Forget every value. The bucket array is kept (zeroed) for the next step,
 * so a sketch reused step after step stops allocating.
 */
void
quantile_clear(struct quantile *q)
{
    if (q->cap > 0)
        memset(q->counts, 0, q->cap * sizeof(*q->counts));
    q->n = 0;
    q->first = 0;
    q->zero_count = 0;
    q->count = 0;
    q->min = 0;
    q->max = 0;
}

/* Take 'v' into the exact min and max and the total. */
static void
quantile_count_value(struct quantile *q, double v)
{
    if (q->count == 0 || v < q->min)
        q->min = v;
    if (q->count == 0 || v > q->max)
        q->max = v;
    q->count += 1;
}

/*
 * Add one value. Returns 0; -1 when 'v' is negative, NaN or infinite (nothing
 * is added: the caller skips the value and counts it); -2 when a new bucket
 * could not be allocated (nothing is added). Zero and values below
 * QUANTILE_MIN_VALUE go to the zero count.
 */
int
quantile_add(struct quantile *q, double v)
{
    int32_t i, bottom;

    if (!isfinite(v) || v < 0)
        return -1;
    if (v < QUANTILE_MIN_VALUE) {
        q->zero_count += 1;
        quantile_count_value(q, v);
        return 0;
    }
    i = quantile_index(v);
    if (q->n == 0 || i < q->first || (int64_t)i >= (int64_t)q->first + (int64_t)q->n) {
        if (quantile_reserve(q, i, i, &bottom) == -1)
            return -2;
        if (i < bottom)
            i = bottom;
    }
    q->counts[i - q->first] += 1;
    quantile_count_value(q, v);
    return 0;
}

/*
 * Add every value 'from' gathered to 'to' (distinct sketches): bucket counts
 * add, the zero counts and totals add, min and max combine. The result is
 * the sketch of all the values, whatever grouping and order the parts are
 * merged in. 'from' is only read; an empty 'from' changes nothing. Returns 0,
 * or -2 on OOM with 'to' unchanged.
 */
int
quantile_merge(struct quantile *to, const struct quantile *from)
{
    int32_t bottom, idx;
    size_t k;

    if (from->count == 0)
        return 0;
    if (from->n > 0) {
        if (quantile_reserve(to, from->first, (int32_t)(from->first + (int64_t)from->n - 1),
                             &bottom) == -1)
            return -2;
        for (k = 0; k < from->n; k++) {
            idx = (int32_t)(from->first + (int64_t)k);
            if (idx < bottom)
                idx = bottom;
            to->counts[idx - to->first] += from->counts[k];
        }
    }
    if (to->count == 0 || from->min < to->min)
        to->min = from->min;
    if (to->count == 0 || from->max > to->max)
        to->max = from->max;
    to->zero_count += from->zero_count;
    to->count += from->count;
    return 0;
}

/*
 * The value at 0-based rank floor(p * (n - 1)) of the n values sorted,
 * within QUANTILE_ALPHA relative (see quantile.h for the folded low end),
 * clamped to [min, max]. p = 0 is the exact min, p = 1 the exact max, p is
 * clamped to [0, 1]. NaN when the sketch is empty or p is NaN.
 */
double
quantile_value(const struct quantile *q, double p)
{
    double rank, cum, v;
    size_t k;

    if (q->count == 0 || isnan(p))
        return NAN;
    if (p <= 0)
        return q->min;
    if (p >= 1)
        return q->max;
    rank = floor(p * (q->count - 1));
    /* Values under QUANTILE_MIN_VALUE are answered by the min, at most 1e-9 off. */
    if (rank < (cum = q->zero_count))
        return q->min;
    for (k = 0; k < q->n; k++) {
        if (rank < (cum += q->counts[k])) {
            v = quantile_rep((int32_t)(q->first + (int64_t)k));
            return v < q->min ? q->min : v > q->max ? q->max : v;
        }
    }
    return q->max;
}

/* The number of values added (and merged in). */
double
quantile_count(const struct quantile *q)
{
    return q->count;
}

/* The exact smallest value, or NaN when empty. */
double
quantile_min(const struct quantile *q)
{
    return q->count > 0 ? q->min : NAN;
}

/* The exact largest value, or NaN when empty. */
double
quantile_max(const struct quantile *q)
{
    return q->count > 0 ? q->max : NAN;
}

/* How many values were below QUANTILE_MIN_VALUE: saved beside the buckets. */
double
quantile_zero_count(const struct quantile *q)
{
    return q->zero_count;
}

/* Heap bytes the sketch holds: at most QUANTILE_MAX_BUCKETS * sizeof(double). */
size_t
quantile_bytes(const struct quantile *q)
{
    return q->cap * sizeof(*q->counts);
}

/*
 * The buckets, for saving: returns their number n and sets '*first_index'
 * to the first one's index and '*counts' to n counts (borrowed from 'q',
 * valid until it next changes; NULL when n is 0). With quantile_zero_count,
 * quantile_min and quantile_max they are all quantile_set needs.
 */
size_t
quantile_buckets(const struct quantile *q, int32_t *first_index, const double **counts)
{
    *first_index = q->n > 0 ? q->first : 0;
    *counts = q->n > 0 ? q->counts : NULL;
    return q->n;
}

/*
 * Check saved counts: each finite and >= 0, their sum finite. Sets '*total'
 * and the offsets of the first and last non-zero count (*lo = n when none).
 */
static int
quantile_check_counts(const double *counts, size_t n, double *total, size_t *lo, size_t *hi)
{
    size_t k;

    *total = 0;
    *lo = n;
    *hi = 0;
    for (k = 0; k < n; k++) {
        if (!isfinite(counts[k]) || counts[k] < 0)
            return -1;
        if (counts[k] > 0) {
            if (*lo == n)
                *lo = k;
            *hi = k;
        }
        *total += counts[k];
    }
    return isfinite(*total) ? 0 : -1;
}

/*
 * Check non-empty saved buckets bottom..top against the values: indices a
 * finite value can have, the max in the top bucket and, with no zero count,
 * the min in the bottom one (or below it when the sketch is full, as after
 * folding). One bucket of slack allows for another libm rounding the log
 * differently at an edge.
 */
static int
quantile_check_range(int64_t bottom, int64_t top, double zero_count, double min, double max)
{
    int64_t imin;

    if (bottom < quantile_index(QUANTILE_MIN_VALUE) || top > quantile_index(DBL_MAX))
        return -1;
    if (max < QUANTILE_MIN_VALUE || llabs(quantile_index(max) - top) > 1)
        return -1;
    if (zero_count > 0)
        return 0;
    imin = quantile_index(min);
    if (imin > bottom + 1)
        return -1;
    if (imin < bottom - 1 && top - bottom + 1 < QUANTILE_MAX_BUCKETS)
        return -1;
    return 0;
}

/*
 * Rebuild 'q' from saved parts: 'n' counts of buckets first_index.., the
 * zero count, and the exact min and max (NaN, as quantile_min and
 * quantile_max give, when there are no values). 'counts' is copied and must
 * not point into 'q'. Zero counts at either end are dropped. Returns 0; -1
 * when the parts are inconsistent: a negative or non-finite count, more than
 * QUANTILE_MAX_BUCKETS buckets, an index no value has, min > max, min or max
 * present without values or absent with them, or outside the buckets that
 * hold them; -2 on OOM. On an error 'q' is unchanged.
 */
int
quantile_set(struct quantile *q, int32_t first_index, const double *counts, size_t n,
             double zero_count, double min, double max)
{
    double total;
    size_t lo, hi;
    int64_t bottom;

    if (n > QUANTILE_MAX_BUCKETS || (n > 0 && counts == NULL))
        return -1;
    if (!isfinite(zero_count) || zero_count < 0)
        return -1;
    if (quantile_check_counts(counts, n, &total, &lo, &hi) == -1 || !isfinite(total += zero_count))
        return -1;
    if (total == 0) {
        if (!isnan(min) || !isnan(max))
            return -1;
        quantile_clear(q);
        return 0;
    }
    if (!isfinite(min) || !isfinite(max) || min < 0 || min > max)
        return -1;
    if ((zero_count > 0) != (min < QUANTILE_MIN_VALUE))
        return -1;
    bottom = (int64_t)first_index + (int64_t)lo;
    if (lo == n && max >= QUANTILE_MIN_VALUE)
        return -1; /* every value is in the zero count, so the max is too */
    if (lo < n &&
        quantile_check_range(bottom, bottom + (int64_t)(hi - lo), zero_count, min, max) == -1)
        return -1;
    if (lo < n && quantile_grow(q, hi - lo + 1) == -1)
        return -2;
    quantile_clear(q);
    if (lo < n) {
        memcpy(q->counts, counts + lo, (hi - lo + 1) * sizeof(*counts));
        q->n = hi - lo + 1;
        q->first = (int32_t)bottom;
    }
    q->zero_count = zero_count;
    q->count = total;
    q->min = min;
    q->max = max;
    return 0;
}
