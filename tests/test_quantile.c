/*
 * test_quantile.c -- unit tests of the quantile sketch (src/quantile.c).
 *
 * Every answer is checked against the exact sorted values: within
 * QUANTILE_ALPHA (relative) of the value at the rank quantile.h defines,
 * 0-based floor(p * (n - 1)), and so also of a value whose rank is within
 * 0.5 % of p * n. Streams come from a fixed pseudo-random sequence, so every
 * run sees the same values. The one slack beyond alpha is REL_SLACK, the
 * rounding of the doubles themselves, never a bucket's worth.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/quantile.h"

#define REL_SLACK 1e-12
#define MAX_VALUES 100000
#define NPARTS 8

static const double probes[] = {0, 0.5, 0.9, 0.95, 0.99, 0.999, 1};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static const size_t sizes[] = {1, 2, 10, 1000, MAX_VALUES};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* A deterministic pseudo-random sequence (splitmix64), the same on every machine. */
static uint64_t
next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1), never 0 or 1. */
static double
next_unit(uint64_t *s)
{
    return ((double)(next_rand(s) >> 11) + 0.5) / 9007199254740992.0;
}

/* A standard normal deviate (Box-Muller). */
static double
next_normal(uint64_t *s)
{
    double u = next_unit(s), v = next_unit(s);

    return sqrt(-2 * log(u)) * cos(2 * 3.14159265358979323846 * v);
}

/* Latencies in seconds: log-normal around 120 ms, kept within 1 ms .. 30 s. */
static double
next_latency(uint64_t *s)
{
    double v = exp(log(0.12) + 1.3 * next_normal(s));

    return v < 0.001 ? 0.001 : v > 30 ? 30 : v;
}

enum dist { UNIFORM, LOGNORMAL, CONSTANT, CLUSTERS, INTEGER_MS, HEAVY_TAIL, NDISTS };
static const char *const dist_names[] = {"uniform",      "log-normal", "constant",
                                         "two clusters", "integer ms", "heavy tail"};

/* One value of distribution 'd'. */
static double
next_value(enum dist d, uint64_t *s)
{
    switch (d) {
    case UNIFORM:
        return next_unit(s);
    case LOGNORMAL:
        return next_latency(s);
    case CONSTANT:
        return 0.25;
    case CLUSTERS:
        /* 90 % near 5 ms, 10 % near 2 s: p90 .. p95 fall in the gap's edges. */
        return next_unit(s) < 0.9 ? 0.005 * (0.9 + 0.2 * next_unit(s))
                                  : 2.0 * (0.9 + 0.2 * next_unit(s));
    case INTEGER_MS:
        return floor(next_latency(s) * 1000) + 1;
    case HEAVY_TAIL:
        /* Pareto with shape 1.1 from 1 ms: p999 is thousands of times p50. */
        return 0.001 / pow(next_unit(s), 1 / 1.1);
    case NDISTS:
        break;
    }
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* |got - want| / want, and 0 when both are 0. */
static double
rel_err(double got, double want)
{
    if (want == 0)
        return got == 0 ? 0 : INFINITY;
    return fabs(got - want) / want;
}

/* The exact value at the rank quantile.h defines, in sorted 'x'. */
static double
exact_at(const double *x, size_t n, double p)
{
    return x[(size_t)floor(p * (double)(n - 1))];
}

/*
 * Whether 'got' is within alpha of some value whose 1-based rank r is within
 * 0.5 % of p * n (r from floor(p n - n / 200) to ceil(p n + n / 200), so a
 * tiny n still has a whole rank to offer).
 */
static int
near_some_rank(const double *x, size_t n, double p, double got)
{
    double lo = floor(p * (double)n - (double)n / 200), hi = ceil(p * (double)n + (double)n / 200);
    size_t r;

    if (lo < 1)
        lo = 1;
    if (hi > (double)n)
        hi = (double)n;
    for (r = (size_t)lo; r <= (size_t)hi; r++)
        if (rel_err(got, x[r - 1]) <= QUANTILE_ALPHA + REL_SLACK)
            return 1;
    return 0;
}

/* Fill 'x' with 'n' values of 'd', add them to 'q' and sort 'x'. */
static void
fill(struct quantile *q, double *x, size_t n, enum dist d, uint64_t seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        x[i] = next_value(d, &seed);
        assert_int_equal(quantile_add(q, x[i]), 0);
    }
    qsort(x, n, sizeof(*x), cmp_double);
}

/*
 * Check every probe of 'q' against sorted 'x' and keep the worst relative
 * error at the exact rank per probe in 'worst'.
 */
static void
check_probes(const struct quantile *q, const double *x, size_t n, double *worst)
{
    double got, want, err;
    size_t j;

    assert_true(quantile_count(q) == (double)n);
    assert_true(quantile_min(q) == x[0]);
    assert_true(quantile_max(q) == x[n - 1]);
    for (j = 0; j < NPROBES; j++) {
        got = quantile_value(q, probes[j]);
        want = exact_at(x, n, probes[j]);
        err = rel_err(got, want);
        if (err > QUANTILE_ALPHA + REL_SLACK)
            fail_msg("n=%zu p=%g: got %.17g, exact %.17g", n, probes[j], got, want);
        assert_true(near_some_rank(x, n, probes[j], got));
        if (err > worst[j])
            worst[j] = err;
    }
    assert_true(quantile_value(q, 0) == x[0]);
    assert_true(quantile_value(q, 1) == x[n - 1]);
}

static void
test_quantile_within_alpha_of_exact_rank(void **state)
{
    double *x = malloc(MAX_VALUES * sizeof(*x)), worst[NPROBES];
    struct quantile q;
    size_t s, j;
    int d;

    (void)state;
    assert_non_null(x);
    quantile_init(&q);
    printf("worst relative error at the exact rank, over n = 1, 2, 10, 1000, 100000:\n");
    printf("%-13s", "");
    for (j = 0; j < NPROBES; j++)
        printf(" p=%-7g", probes[j]);
    printf("\n");
    for (d = 0; d < NDISTS; d++) {
        memset(worst, 0, sizeof(worst));
        for (s = 0; s < NSIZES; s++) {
            quantile_clear(&q);
            fill(&q, x, sizes[s], (enum dist)d, 1000 * (uint64_t)d + s);
            check_probes(&q, x, sizes[s], worst);
            assert_true(q.n <= QUANTILE_MAX_BUCKETS);
        }
        printf("%-13s", dist_names[d]);
        for (j = 0; j < NPROBES; j++)
            printf(" %-9.2e", worst[j]);
        printf("\n");
    }
    quantile_fini(&q);
    free(x);
}

/*
 * Values right at bucket edges, where the log can land one bucket off, and
 * one ulp either side: each answered within alpha. A min and max 1000
 * times away keep the clamp to [min, max] from hiding an error.
 */
static void
test_quantile_bucket_edges_within_alpha(void **state)
{
    const double gamma = (1 + QUANTILE_ALPHA) / (1 - QUANTILE_ALPHA);
    double worst = 0, v, got;
    struct quantile q;
    int i, k;

    (void)state;
    quantile_init(&q);
    for (i = -1000; i <= 1700; i++) {
        for (k = -1; k <= 1; k++) {
            v = pow(gamma, i);
            v = k < 0 ? nextafter(v, 0) : k > 0 ? nextafter(v, INFINITY) : v;
            quantile_clear(&q);
            assert_int_equal(quantile_add(&q, v / 1000), 0);
            assert_int_equal(quantile_add(&q, v), 0);
            assert_int_equal(quantile_add(&q, v * 1000), 0);
            got = quantile_value(&q, 0.5);
            if (rel_err(got, v) > worst)
                worst = rel_err(got, v);
        }
    }
    printf("bucket edges: worst relative error %.17g\n", worst);
    assert_true(worst <= QUANTILE_ALPHA + REL_SLACK);
    quantile_fini(&q);
}

static void
test_quantile_rejects_negative_nan_infinite(void **state)
{
    struct quantile q;

    (void)state;
    quantile_init(&q);
    assert_int_equal(quantile_add(&q, 2.5), 0);
    assert_int_equal(quantile_add(&q, -1), -1);
    assert_int_equal(quantile_add(&q, -DBL_MIN), -1);
    assert_int_equal(quantile_add(&q, NAN), -1);
    assert_int_equal(quantile_add(&q, INFINITY), -1);
    assert_int_equal(quantile_add(&q, -INFINITY), -1);
    assert_true(quantile_count(&q) == 1);
    assert_true(quantile_min(&q) == 2.5);
    assert_true(quantile_max(&q) == 2.5);
    assert_int_equal(q.n, 1);
    quantile_fini(&q);
}

/* Zero, values under the threshold, DBL_MIN and DBL_MAX all count; answers stay finite. */
static void
test_quantile_extremes(void **state)
{
    struct quantile q;
    double v;

    (void)state;
    quantile_init(&q);
    assert_int_equal(quantile_add(&q, 0), 0);
    assert_int_equal(quantile_add(&q, -0.0), 0);
    assert_int_equal(quantile_add(&q, DBL_MIN), 0);
    assert_int_equal(quantile_add(&q, 5e-10), 0);
    assert_true(q.zero_count == 4);
    assert_int_equal(quantile_add(&q, DBL_MAX), 0);
    assert_int_equal(quantile_add(&q, DBL_MAX / 2), 0);
    assert_true(quantile_count(&q) == 6);
    assert_true(quantile_value(&q, 0) == 0);
    assert_true(quantile_value(&q, 1) == DBL_MAX);
    /* Rank floor(0.5 * 5) = 2: a value under the threshold, answered by the min. */
    assert_true(quantile_value(&q, 0.5) == 0);
    v = quantile_value(&q, 0.9); /* rank 4: DBL_MAX / 2 */
    assert_true(isfinite(v));
    assert_true(rel_err(v, DBL_MAX / 2) <= QUANTILE_ALPHA + REL_SLACK);
    assert_true(isnan(quantile_value(&q, NAN)));
    assert_true(quantile_value(&q, -3) == 0);
    assert_true(quantile_value(&q, 7) == DBL_MAX);
    quantile_fini(&q);
}

static void
test_quantile_empty_is_nan_and_fini_is_null_safe(void **state)
{
    struct quantile q;

    (void)state;
    quantile_init(&q);
    assert_true(isnan(quantile_value(&q, 0.5)));
    assert_true(isnan(quantile_value(&q, 0)));
    assert_true(isnan(quantile_min(&q)));
    assert_true(isnan(quantile_max(&q)));
    assert_true(quantile_count(&q) == 0);
    assert_int_equal(quantile_bytes(&q), 0);
    quantile_fini(&q);
    quantile_fini(&q);
    quantile_fini(NULL);
}

/* Clearing forgets the values but keeps the array: the next step does not allocate. */
static void
test_quantile_clear_keeps_memory(void **state)
{
    struct quantile q;
    size_t bytes;
    int i;

    (void)state;
    quantile_init(&q);
    for (i = 1; i <= 1000; i++)
        assert_int_equal(quantile_add(&q, i * 0.001), 0);
    bytes = quantile_bytes(&q);
    assert_true(bytes > 0);
    quantile_clear(&q);
    assert_true(isnan(quantile_value(&q, 0.5)));
    assert_true(quantile_count(&q) == 0);
    assert_int_equal(quantile_bytes(&q), bytes);
    for (i = 1; i <= 1000; i++)
        assert_int_equal(quantile_add(&q, i * 0.001), 0);
    assert_int_equal(quantile_bytes(&q), bytes);
    assert_true(quantile_value(&q, 1) == 1);
    quantile_fini(&q);
}

/* A value spread evenly in log between 'lo' and 'hi'. */
static double
next_log_uniform(uint64_t *s, double lo, double hi)
{
    return lo * pow(hi / lo, next_unit(s));
}

/*
 * Values from 1e-9 to 1e15 need about 2763 buckets: the lowest ~715 fold
 * into one and the array stays at the bound. From p = 0.3 up the answers are
 * still within alpha; a rank in the folded bucket (about the lowest 26 %) is
 * answered too high, never too low, and the min stays exact.
 */
static void
test_quantile_wide_span_is_bounded(void **state)
{
    static const double high[] = {0.3, 0.5, 0.9, 0.95, 0.99, 0.999, 1};
    double *x = malloc(MAX_VALUES * sizeof(*x)), got, want, err;
    uint64_t seed = 42;
    struct quantile q;
    size_t i;

    (void)state;
    assert_non_null(x);
    quantile_init(&q);
    for (i = 0; i < MAX_VALUES; i++) {
        x[i] = next_log_uniform(&seed, 1e-9, 1e15);
        assert_int_equal(quantile_add(&q, x[i]), 0);
        assert_true(q.n <= QUANTILE_MAX_BUCKETS);
    }
    qsort(x, MAX_VALUES, sizeof(*x), cmp_double);
    assert_int_equal(q.n, QUANTILE_MAX_BUCKETS);
    assert_true(quantile_bytes(&q) <= QUANTILE_MAX_BUCKETS * sizeof(double));
    for (i = 0; i < sizeof(high) / sizeof(high[0]); i++) {
        got = quantile_value(&q, high[i]);
        want = exact_at(x, MAX_VALUES, high[i]);
        err = rel_err(got, want);
        printf("span 1e-9..1e15: p=%-5g relative error %.2e\n", high[i], err);
        assert_true(err <= QUANTILE_ALPHA + REL_SLACK);
    }
    assert_true(quantile_value(&q, 0) == x[0]);
    got = quantile_value(&q, 0.1);
    want = exact_at(x, MAX_VALUES, 0.1);
    printf("span 1e-9..1e15: p=0.1   folded, answered %.3g for %.3g\n", got, want);
    assert_true(got >= want);
    quantile_fini(&q);
    free(x);
}

/* Buckets climbing or falling one by one over the whole double range stay within the bound. */
static void
test_quantile_bound_holds_in_any_order(void **state)
{
    const double gamma = (1 + QUANTILE_ALPHA) / (1 - QUANTILE_ALPHA);
    struct quantile up, down;
    double v;
    int k;

    (void)state;
    quantile_init(&up);
    quantile_init(&down);
    for (k = 0; k < 36000; k++) {
        v = 1e-9 * pow(gamma, k);
        if (!isfinite(v))
            break;
        assert_int_equal(quantile_add(&up, v), 0);
        assert_int_equal(quantile_add(&down, DBL_MAX / pow(gamma, k)), 0);
        assert_true(up.n <= QUANTILE_MAX_BUCKETS && up.cap <= QUANTILE_MAX_BUCKETS);
        assert_true(down.n <= QUANTILE_MAX_BUCKETS && down.cap <= QUANTILE_MAX_BUCKETS);
    }
    assert_int_equal(up.n, QUANTILE_MAX_BUCKETS);
    assert_int_equal(down.n, QUANTILE_MAX_BUCKETS);
    assert_true(quantile_bytes(&up) == QUANTILE_MAX_BUCKETS * sizeof(double));
    assert_true(quantile_count(&up) == k && quantile_count(&down) == k);
    quantile_fini(&up);
    quantile_fini(&down);
}

/* Same buckets, counts, min, max, and the same answer (bit for bit) at every permille. */
static void
assert_same(const struct quantile *a, const struct quantile *b)
{
    const double *ca, *cb;
    int32_t fa, fb;
    size_t n, k;
    double pa, pb;

    n = quantile_buckets(a, &fa, &ca);
    assert_int_equal(quantile_buckets(b, &fb, &cb), n);
    assert_int_equal(fa, fb);
    for (k = 0; k < n; k++)
        assert_true(ca[k] == cb[k]);
    assert_true(quantile_zero_count(a) == quantile_zero_count(b));
    assert_true(quantile_count(a) == quantile_count(b));
    assert_memory_equal(&a->min, &b->min, sizeof(a->min));
    assert_memory_equal(&a->max, &b->max, sizeof(a->max));
    for (k = 0; k <= 1000; k++) {
        pa = quantile_value(a, (double)k / 1000);
        pb = quantile_value(b, (double)k / 1000);
        assert_memory_equal(&pa, &pb, sizeof(pa));
    }
}

/*
 * Eight parts of one stream. With 'wide', parts 0..6 hold 1e-9 .. 1e6 and
 * zeros, part 7 reaches 1e15: only sketches that hold part 7 are folded, so
 * groupings fold at different times and must still agree.
 */
static void
make_parts(struct quantile *parts, struct quantile *all, struct quantile *rev, int wide)
{
    double v[NPARTS][3000];
    uint64_t seed = wide ? 7 : 8;
    int k, i;

    for (k = 0; k < NPARTS; k++) {
        quantile_init(&parts[k]);
        for (i = 0; i < 3000; i++) {
            if (!wide)
                v[k][i] = next_latency(&seed);
            else if (i % 100 == 0)
                v[k][i] = 0;
            else
                v[k][i] = next_log_uniform(&seed, k < 7 ? 1e-9 : 1e3, k < 7 ? 1e6 : 1e15);
            assert_int_equal(quantile_add(&parts[k], v[k][i]), 0);
            assert_int_equal(quantile_add(all, v[k][i]), 0);
        }
    }
    for (k = NPARTS - 1; k >= 0; k--)
        for (i = 2999; i >= 0; i--)
            assert_int_equal(quantile_add(rev, v[k][i]), 0);
}

/* Merge parts[order[0..n)] into 'to' one after another. */
static void
merge_in(struct quantile *to, struct quantile *parts, const int *order, int n)
{
    int i;

    for (i = 0; i < n; i++)
        assert_int_equal(quantile_merge(to, &parts[order[i]]), 0);
}

static void
check_groupings(int wide)
{
    static const int forward[] = {0, 1, 2, 3, 4, 5, 6, 7}, backward[] = {7, 6, 5, 4, 3, 2, 1, 0};
    static const int shuffled[] = {3, 6, 0, 5, 2, 7, 1, 4};
    struct quantile parts[NPARTS], all, rev, g, t[4];
    int i;

    quantile_init(&all);
    quantile_init(&rev);
    make_parts(parts, &all, &rev, wide);
    assert_same(&all, &rev);
    if (wide)
        assert_int_equal(all.n, QUANTILE_MAX_BUCKETS);
    quantile_init(&g);
    merge_in(&g, parts, forward, NPARTS);
    assert_same(&g, &all);
    quantile_clear(&g);
    merge_in(&g, parts, backward, NPARTS);
    assert_same(&g, &all);
    quantile_clear(&g);
    merge_in(&g, parts, shuffled, NPARTS);
    assert_same(&g, &all);
    /* A balanced tree: ((0 1)(2 3))((4 5)(6 7)), each pair merged into a copy. */
    for (i = 0; i < 4; i++) {
        quantile_init(&t[i]);
        merge_in(&t[i], parts, forward + 2 * i, 2);
    }
    assert_int_equal(quantile_merge(&t[0], &t[1]), 0);
    assert_int_equal(quantile_merge(&t[3], &t[2]), 0);
    assert_int_equal(quantile_merge(&t[3], &t[0]), 0);
    assert_same(&t[3], &all);
    for (i = 0; i < 4; i++)
        quantile_fini(&t[i]);
    for (i = 0; i < NPARTS; i++)
        quantile_fini(&parts[i]);
    quantile_fini(&g);
    quantile_fini(&all);
    quantile_fini(&rev);
}

static void
test_quantile_merge_any_grouping_is_identical(void **state)
{
    (void)state;
    check_groupings(0);
}

static void
test_quantile_merge_folds_the_same_in_any_grouping(void **state)
{
    (void)state;
    check_groupings(1);
}

static void
test_quantile_merge_empty_changes_nothing(void **state)
{
    struct quantile a, copy, empty;
    uint64_t seed = 3;
    int i;

    (void)state;
    quantile_init(&a);
    quantile_init(&copy);
    quantile_init(&empty);
    for (i = 0; i < 500; i++)
        assert_int_equal(quantile_add(&a, next_latency(&seed)), 0);
    assert_int_equal(quantile_add(&a, 0), 0);
    assert_int_equal(quantile_merge(&copy, &a), 0);
    assert_same(&copy, &a);
    assert_int_equal(quantile_merge(&a, &empty), 0);
    assert_same(&copy, &a);
    /* A cleared sketch is as empty as a new one. */
    quantile_clear(&copy);
    assert_int_equal(quantile_merge(&a, &copy), 0);
    assert_int_equal(quantile_merge(&empty, &empty), 0);
    assert_true(quantile_count(&empty) == 0);
    assert_int_equal(quantile_merge(&empty, &a), 0);
    assert_same(&empty, &a);
    quantile_fini(&a);
    quantile_fini(&copy);
    quantile_fini(&empty);
}

/* Rebuild 'to' from what 'from' would save. */
static int
round_trip(struct quantile *to, const struct quantile *from)
{
    const double *c;
    int32_t first;
    size_t n = quantile_buckets(from, &first, &c);

    return quantile_set(to, first, c, n, quantile_zero_count(from), quantile_min(from),
                        quantile_max(from));
}

static void
test_quantile_set_round_trips(void **state)
{
    struct quantile a, b;
    uint64_t seed = 5;
    int i;

    (void)state;
    quantile_init(&a);
    quantile_init(&b);
    assert_int_equal(round_trip(&b, &a), 0); /* empty: min and max are NaN */
    assert_same(&b, &a);
    for (i = 0; i < 20000; i++)
        assert_int_equal(quantile_add(&a, i % 50 ? next_log_uniform(&seed, 1e-9, 1e15) : 0), 0);
    assert_int_equal(a.n, QUANTILE_MAX_BUCKETS);
    assert_int_equal(round_trip(&b, &a), 0);
    assert_same(&b, &a);
    quantile_clear(&a);
    for (i = 0; i < 20000; i++)
        assert_int_equal(quantile_add(&a, next_latency(&seed)), 0);
    assert_int_equal(round_trip(&b, &a), 0);
    assert_same(&b, &a);
    quantile_fini(&a);
    quantile_fini(&b);
}

/* Zero counts at either end are dropped, so the rebuilt sketch equals the one saved. */
static void
test_quantile_set_trims_zero_ends(void **state)
{
    double c[64] = {0};
    struct quantile a, b;
    const double *ca;
    int32_t first;
    size_t n;

    (void)state;
    quantile_init(&a);
    quantile_init(&b);
    assert_int_equal(quantile_add(&a, 0.001), 0);
    assert_int_equal(quantile_add(&a, 0.00103), 0);
    assert_int_equal(quantile_add(&a, 0.0011), 0);
    n = quantile_buckets(&a, &first, &ca);
    assert_in_range(n, 3, 8);
    memcpy(c + 2, ca, n * sizeof(*c));
    assert_int_equal(quantile_set(&b, first - 2, c, n + 4, 0, 0.001, 0.0011), 0);
    assert_same(&b, &a);
    quantile_fini(&a);
    quantile_fini(&b);
}

/* One inconsistent variant of valid saved parts, and what quantile_set must say. */
struct bad_case {
    const char *what;
    int32_t first_shift;
    size_t at;    /* which count to replace (SIZE_MAX: none) */
    double count; /* its replacement */
    double zero_count, min, max;
};

/*
 * Saved parts of {0.001, 0.002, 0.5} (min 0.001, max 0.5, no zero count),
 * each spoilt one way: rejected with -1, and the sketch loaded before is
 * left as it was.
 */
static void
test_quantile_set_rejects_inconsistent(void **state)
{
    const struct bad_case bad[] = {
        {"negative count", 0, 1, -1, 0, 0.001, 0.5},
        {"NaN count", 0, 1, NAN, 0, 0.001, 0.5},
        {"infinite count", 0, 1, INFINITY, 0, 0.001, 0.5},
        {"counts overflow", 0, 1, DBL_MAX, 0, 0.001, 0.5},
        {"negative zero count", 0, SIZE_MAX, 0, -1, 0.001, 0.5},
        {"NaN zero count", 0, SIZE_MAX, 0, NAN, 0.001, 0.5},
        {"min > max", 0, SIZE_MAX, 0, 0, 0.5, 0.001},
        {"negative min", 0, SIZE_MAX, 0, 0, -1, 0.5},
        {"values without a min", 0, SIZE_MAX, 0, 0, NAN, 0.5},
        {"values without a max", 0, SIZE_MAX, 0, 0, 0.001, NAN},
        {"zero count with min above the threshold", 0, SIZE_MAX, 0, 1, 0.001, 0.5},
        {"min under the threshold without a zero count", 0, SIZE_MAX, 0, 0, 0, 0.5},
        {"max not in the top bucket", 0, SIZE_MAX, 0, 0, 0.001, 100},
        {"min above the bottom bucket", 0, SIZE_MAX, 0, 0, 0.4, 0.5},
        {"buckets shifted from min and max", 40, SIZE_MAX, 0, 0, 0.001, 0.5},
    };
    double c[QUANTILE_MAX_BUCKETS + 1] = {0}, saved[QUANTILE_MAX_BUCKETS + 1];
    struct quantile a, b;
    const double *ca;
    int32_t first;
    size_t n, i;

    (void)state;
    quantile_init(&a);
    quantile_init(&b);
    assert_int_equal(quantile_add(&a, 0.001), 0);
    assert_int_equal(quantile_add(&a, 0.002), 0);
    assert_int_equal(quantile_add(&a, 0.5), 0);
    n = quantile_buckets(&a, &first, &ca);
    memcpy(saved, ca, n * sizeof(*ca));
    assert_int_equal(round_trip(&b, &a), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(c, saved, n * sizeof(*c));
        if (bad[i].at != SIZE_MAX)
            c[bad[i].at] = bad[i].count;
        if (bad[i].count == DBL_MAX)
            c[0] = DBL_MAX;
        if (quantile_set(&b, first + bad[i].first_shift, c, n, bad[i].zero_count, bad[i].min,
                         bad[i].max) != -1)
            fail_msg("accepted: %s", bad[i].what);
        assert_same(&b, &a);
    }
    quantile_fini(&a);
    quantile_fini(&b);
}

/* Sizes and indices no sketch can have, and counts without values or values without counts. */
static void
test_quantile_set_rejects_impossible_shapes(void **state)
{
    double c[QUANTILE_MAX_BUCKETS + 1] = {0};
    struct quantile b;

    (void)state;
    quantile_init(&b);
    c[0] = 1;
    c[QUANTILE_MAX_BUCKETS] = 1;
    assert_int_equal(quantile_set(&b, 0, c, QUANTILE_MAX_BUCKETS + 1, 0, 1, 1e17), -1);
    assert_int_equal(quantile_set(&b, 0, NULL, 3, 0, 1, 1), -1);
    assert_int_equal(quantile_set(&b, INT32_MIN, c, 1, 0, 1, 1), -1);
    assert_int_equal(quantile_set(&b, INT32_MAX, c, 1, 0, 1, 1), -1);
    /* No values, yet a min and a max; values only under the threshold, yet a large max. */
    assert_int_equal(quantile_set(&b, 0, c, 0, 0, 1, 1), -1);
    assert_int_equal(quantile_set(&b, 0, c, 0, 2, 0, 1), -1);
    assert_true(quantile_count(&b) == 0);
    /* The consistent forms of the last two. */
    assert_int_equal(quantile_set(&b, 0, c, 0, 0, NAN, NAN), 0);
    assert_true(quantile_count(&b) == 0);
    assert_int_equal(quantile_set(&b, 0, NULL, 0, 2, 0, 5e-10), 0);
    assert_true(quantile_count(&b) == 2);
    assert_true(quantile_value(&b, 1) == 5e-10);
    assert_int_equal(quantile_set(&b, 0, c, 1, 0, 1, 1), 0);
    assert_true(quantile_value(&b, 0.5) == 1);
    quantile_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantile_within_alpha_of_exact_rank),
        cmocka_unit_test(test_quantile_bucket_edges_within_alpha),
        cmocka_unit_test(test_quantile_rejects_negative_nan_infinite),
        cmocka_unit_test(test_quantile_extremes),
        cmocka_unit_test(test_quantile_empty_is_nan_and_fini_is_null_safe),
        cmocka_unit_test(test_quantile_clear_keeps_memory),
        cmocka_unit_test(test_quantile_wide_span_is_bounded),
        cmocka_unit_test(test_quantile_bound_holds_in_any_order),
        cmocka_unit_test(test_quantile_merge_any_grouping_is_identical),
        cmocka_unit_test(test_quantile_merge_folds_the_same_in_any_grouping),
        cmocka_unit_test(test_quantile_merge_empty_changes_nothing),
        cmocka_unit_test(test_quantile_set_round_trips),
        cmocka_unit_test(test_quantile_set_trims_zero_ends),
        cmocka_unit_test(test_quantile_set_rejects_inconsistent),
        cmocka_unit_test(test_quantile_set_rejects_impossible_shapes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
