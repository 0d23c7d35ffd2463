/*
 * test_window.c -- unit tests of the sliding windows (src/window.c); how windows
 * slide over steps is in docs/design.md, "Time".
 *
 * A window is a ring of per-step values with one running sum per view:
 * views of the same length are shared, every view's sum equals the plain
 * sum of its last steps however many values were pushed (integers exactly,
 * fractions without drift), window_last is the newest step, and a one-step
 * window holds just that step.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "rarr/window.h"

/* The plain sum of the last 'steps' of the 'n' values pushed so far. */
static double
brute_sum(const double *pushed, size_t n, size_t steps)
{
    double sum = 0;
    size_t i;

    for (i = 0; i < steps && i < n; i++)
        sum += pushed[n - 1 - i];
    return sum;
}

/* A deterministic pseudo-random sequence (xorshift), the same on every machine. */
static uint32_t
next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void
test_window_views_of_same_length_are_shared(void **state)
{
    struct window w;

    (void)state;
    assert_int_equal(window_init(&w, 10), 0);
    assert_int_equal(w.nsteps, 10);
    assert_int_equal(window_view(&w, 5), 0);
    assert_int_equal(window_view(&w, 10), 1);
    assert_int_equal(window_view(&w, 5), 0);
    assert_int_equal(window_view(&w, 10), 1);
    assert_int_equal(window_view(&w, 1), 2);
    assert_int_equal(w.nviews, 3);
    /* A view is 1..nsteps steps long. */
    assert_int_equal(window_view(&w, 0), -1);
    assert_int_equal(window_view(&w, 11), -1);
    assert_int_equal(w.nviews, 3);
    window_push(&w, 4);
    window_push(&w, 3);
    assert_true(window_sum(&w, 0) == 7);
    assert_true(window_sum(&w, 1) == 7);
    assert_true(window_sum(&w, 2) == 3);
    window_fini(&w);
}

static void
test_window_new_window_is_zero(void **state)
{
    struct window w;
    int v;

    (void)state;
    assert_int_equal(window_init(&w, 4), 0);
    v = window_view(&w, 4);
    assert_int_equal(v, 0);
    assert_true(window_sum(&w, v) == 0);
    assert_true(window_last(&w) == 0);
    window_fini(&w);
}

static void
test_window_integer_sums_equal_brute_force(void **state)
{
    enum { NSTEPS = 7, NPUSH = 5000 };
    static const size_t lengths[] = {1, 3, 6, 7};
    double *pushed = malloc(NPUSH * sizeof(*pushed));
    struct window w;
    uint32_t seed = 2463534242u;
    size_t i, j;

    (void)state;
    assert_non_null(pushed);
    assert_int_equal(window_init(&w, NSTEPS), 0);
    for (j = 0; j < 4; j++)
        assert_int_equal(window_view(&w, lengths[j]), (int)j);
    for (i = 0; i < NPUSH; i++) {
        /* Counts, with runs of zeros (gaps). */
        pushed[i] = next_rand(&seed) % 3 == 0 ? 0 : (double)(next_rand(&seed) % 1000);
        window_push(&w, pushed[i]);
        for (j = 0; j < 4; j++)
            assert_true(window_sum(&w, (int)j) == brute_sum(pushed, i + 1, lengths[j]));
        assert_true(window_last(&w) == pushed[i]);
    }
    window_fini(&w);
    free(pushed);
}

/* Push 'v', remember it, and check every view against the plain sum within 'tol'. */
static void
push_check(struct window *w, double *pushed, size_t *n, double v, const size_t *lengths,
           size_t nviews, double tol)
{
    size_t j;

    pushed[(*n)++] = v;
    window_push(w, v);
    for (j = 0; j < nviews; j++) {
        double want = brute_sum(pushed, *n, lengths[j]);

        if (fabs(window_sum(w, (int)j) - want) > tol)
            fail_msg("push %zu, view %zu: sum %.17g, want %.17g", *n, lengths[j],
                     window_sum(w, (int)j), want);
    }
}

/*
 * Running sums of fractions accumulate rounding error push after push; the
 * window recomputes them from the ring so the error cannot outlive the
 * values that caused it. Rounds of large values (1e9 beside 0.1) leave an
 * uncorrected running sum off by about 1e-6 for ever; after two windows of
 * small fractions a corrected sum is exact to 1e-12.
 */
static void
test_window_fractional_sums_do_not_drift(void **state)
{
    enum { NSTEPS = 60, ROUNDS = 500, BIG = 37 };
    static const size_t lengths[] = {1, 15, 60};
    double *pushed = malloc(ROUNDS * (BIG + 2 * NSTEPS) * sizeof(*pushed));
    struct window w;
    uint32_t seed = 88172645u;
    size_t n = 0, round, i;

    (void)state;
    assert_non_null(pushed);
    assert_int_equal(window_init(&w, NSTEPS), 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(window_view(&w, lengths[i]), (int)i);
    for (round = 0; round < ROUNDS; round++) {
        for (i = 0; i < BIG; i++) {
            uint32_t r = next_rand(&seed);
            double v = r % 3 == 0 ? 1e9 + 0.1 * (r % 7) : 0.1 * (r % 11);

            /* Sums reach some 1e10, where a double's ulp is about 2e-6. */
            push_check(&w, pushed, &n, v, lengths, 3, 1e-3);
        }
        for (i = 0; i < 2 * NSTEPS; i++)
            push_check(&w, pushed, &n, 0.1 * (next_rand(&seed) % 11), lengths, 3, 1e-3);
        for (i = 0; i < 3; i++) {
            double want = brute_sum(pushed, n, lengths[i]);

            if (fabs(window_sum(&w, (int)i) - want) > 1e-12)
                fail_msg("round %zu, view %zu: sum %.17g, want %.17g", round, lengths[i],
                         window_sum(&w, (int)i), want);
        }
    }
    window_fini(&w);
    free(pushed);
}

/* Many pushes of small fractions only: every sum stays within 1e-12. */
static void
test_window_small_fraction_sums_stay_exact(void **state)
{
    enum { NSTEPS = 15, NPUSH = 100000 };
    static const size_t lengths[] = {1, 5, 15};
    double *pushed = malloc(NPUSH * sizeof(*pushed));
    struct window w;
    uint32_t seed = 521288629u;
    size_t n = 0, i;

    (void)state;
    assert_non_null(pushed);
    assert_int_equal(window_init(&w, NSTEPS), 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(window_view(&w, lengths[i]), (int)i);
    for (i = 0; i < NPUSH; i++)
        push_check(&w, pushed, &n, 0.1 * (next_rand(&seed) % 10) + 0.01, lengths, 3, 1e-12);
    window_fini(&w);
    free(pushed);
}

static void
test_window_last_is_newest_step(void **state)
{
    struct window w;

    (void)state;
    assert_int_equal(window_init(&w, 3), 0);
    window_push(&w, 1.5);
    assert_true(window_last(&w) == 1.5);
    window_push(&w, 2);
    window_push(&w, 3);
    assert_true(window_last(&w) == 3);
    /* The ring wraps: the newest is still the last pushed. */
    window_push(&w, 4.25);
    assert_true(window_last(&w) == 4.25);
    window_push(&w, 0);
    assert_true(window_last(&w) == 0);
    window_fini(&w);
}

static void
test_window_one_step(void **state)
{
    struct window w;
    int v;

    (void)state;
    assert_int_equal(window_init(&w, 1), 0);
    v = window_view(&w, 1);
    assert_int_equal(v, 0);
    assert_int_equal(window_view(&w, 2), -1);
    window_push(&w, 5);
    assert_true(window_sum(&w, v) == 5);
    assert_true(window_last(&w) == 5);
    window_push(&w, 0.3);
    assert_true(window_sum(&w, v) == 0.3);
    assert_true(window_last(&w) == 0.3);
    window_push(&w, 0);
    assert_true(window_sum(&w, v) == 0);
    window_fini(&w);

    /* Zero steps asked for is one step. */
    assert_int_equal(window_init(&w, 0), 0);
    assert_int_equal(w.nsteps, 1);
    assert_int_equal(window_view(&w, 1), 0);
    window_push(&w, 2);
    assert_true(window_sum(&w, 0) == 2);
    window_fini(&w);
}

static void
test_window_step_leaves_after_its_window(void **state)
{
    struct window w;
    int v3, v5;

    (void)state;
    assert_int_equal(window_init(&w, 5), 0);
    v3 = window_view(&w, 3);
    v5 = window_view(&w, 5);
    window_push(&w, 10);
    window_push(&w, 0);
    window_push(&w, 0);
    assert_true(window_sum(&w, v3) == 10);
    window_push(&w, 0);
    assert_true(window_sum(&w, v3) == 0);
    assert_true(window_sum(&w, v5) == 10);
    window_push(&w, 0);
    assert_true(window_sum(&w, v5) == 10);
    window_push(&w, 0);
    assert_true(window_sum(&w, v5) == 0);
    window_fini(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_views_of_same_length_are_shared),
        cmocka_unit_test(test_window_new_window_is_zero),
        cmocka_unit_test(test_window_integer_sums_equal_brute_force),
        cmocka_unit_test(test_window_fractional_sums_do_not_drift),
        cmocka_unit_test(test_window_small_fraction_sums_stay_exact),
        cmocka_unit_test(test_window_last_is_newest_step),
        cmocka_unit_test(test_window_one_step),
        cmocka_unit_test(test_window_step_leaves_after_its_window),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
