/*
 * test_hll.c -- unit tests of the distinct-count sketch (src/hll.c).
 *
 * A sketch counts exactly up to HLL_SPARSE_MAX distinct values and estimates
 * within 2 % above (about 2.5 standard errors at HLL_P = 14); the same
 * values give the same sketch however they were split, merged and repeated;
 * the hash is pinned, because saved states and other hosts' sketches hold
 * its values; memory stays within the bounds stated in the header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/hll.h"

#define NPARTS 8

/* The hash of key 'i' of key set 'seed': an address-like string, as a log field would be. */
static uint64_t
key_hash(unsigned seed, unsigned i)
{
    char buf[64];
    int len;

    len = snprintf(buf, sizeof(buf), "k%u-10.%u.%u.%u", seed, i >> 16, (i >> 8) & 255u, i & 255u);
    assert_true(len > 0 && (size_t)len < sizeof(buf));
    return hll_hash(buf, (size_t)len);
}

/* A sketch of keys [from, to) of key set 'seed'. */
static void
fill(struct hll *h, unsigned seed, unsigned from, unsigned to)
{
    unsigned i;

    for (i = from; i < to; i++)
        assert_int_equal(hll_add(h, key_hash(seed, i)), 0);
}

/* Two sketches hold the same state: mode, sparse set or registers, count. */
static void
assert_same_sketch(const struct hll *a, const struct hll *b)
{
    const uint64_t *va, *vb;
    size_t na, nb;

    assert_int_equal(hll_is_dense(a), hll_is_dense(b));
    if (hll_is_dense(a)) {
        assert_memory_equal(hll_registers(a), hll_registers(b), HLL_REGISTERS);
    } else {
        na = hll_sparse_hashes(a, &va);
        nb = hll_sparse_hashes(b, &vb);
        assert_int_equal(na, nb);
        if (na > 0)
            assert_memory_equal(va, vb, na * sizeof(*va));
    }
    assert_true(hll_count(a) == hll_count(b));
}

static void
test_hll_hash_is_pinned(void **state)
{
    (void)state;
    /* Changing any of these breaks saved states and merges with other hosts. */
    assert_true(hll_hash("", 0) == 0xefd01f60ba992926u);
    assert_true(hll_hash(NULL, 0) == 0xefd01f60ba992926u);
    assert_true(hll_hash("a", 1) == 0x82a2a958a9bece5bu);
    assert_true(hll_hash("10.0.0.1", 8) == 0xc879e56ddc6c5c88u);
    assert_true(hll_hash("/login", 6) == 0xb86e4d3d6029306bu);
    assert_true(hll_hash("rarr distinct", 13) == 0x1787c093bb743fc5u);
    /* Bytes above 127 hash as unsigned, whatever the signedness of char. */
    assert_true(hll_hash("caf\xc3\xa9", 5) == 0xf50b1f8e2c0682e6u);
    /* The length counts, not a NUL. */
    assert_true(hll_hash("a\0b", 3) == 0xab78f5eca36d0e2bu);
    assert_true(hll_hash("a\0b", 3) != hll_hash("a", 1));
}

static void
test_hll_sparse_count_is_exact(void **state)
{
    static const unsigned sizes[] = {0, 1, 2, 30, 500, HLL_SPARSE_MAX};
    struct hll h;
    size_t s;

    (void)state;
    hll_init(&h);
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        hll_clear(&h);
        fill(&h, 7, 0, sizes[s]);
        fill(&h, 7, 0, sizes[s]); /* every value twice */
        assert_false(hll_is_dense(&h));
        assert_true(hll_count(&h) == (double)sizes[s]);
    }
    hll_fini(&h);
}

static void
test_hll_goes_dense_past_sparse_max(void **state)
{
    const uint64_t *v;
    struct hll h;

    (void)state;
    hll_init(&h);
    fill(&h, 3, 0, HLL_SPARSE_MAX);
    assert_false(hll_is_dense(&h));
    assert_null(hll_registers(&h));
    assert_int_equal(hll_sparse_hashes(&h, &v), HLL_SPARSE_MAX);
    fill(&h, 3, HLL_SPARSE_MAX, HLL_SPARSE_MAX + 1);
    assert_true(hll_is_dense(&h));
    assert_non_null(hll_registers(&h));
    assert_int_equal(hll_sparse_hashes(&h, &v), 0);
    assert_null(v);
    assert_true(fabs(hll_count(&h) - (HLL_SPARSE_MAX + 1)) < 0.02 * (HLL_SPARSE_MAX + 1));
    hll_fini(&h);
}

/* The largest relative error over 'nseeds' key sets of 'n' distinct keys. */
static double
worst_error(unsigned n, unsigned nseeds)
{
    double worst = 0, err;
    struct hll h;
    unsigned seed;

    hll_init(&h);
    for (seed = 1; seed <= nseeds; seed++) {
        hll_clear(&h);
        fill(&h, seed, 0, n);
        assert_true(hll_is_dense(&h));
        err = fabs(hll_count(&h) - n) / n;
        if (err > worst)
            worst = err;
    }
    hll_fini(&h);
    return worst;
}

static void
test_hll_estimate_within_two_percent(void **state)
{
    static const unsigned sizes[] = {HLL_SPARSE_MAX + 1, 2000, 10000, 100000, 1000000};
    double worst;
    size_t s;

    (void)state;
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        worst = worst_error(sizes[s], 5);
        print_message("n=%u: worst relative error over 5 key sets %.3f %%\n", sizes[s],
                      100 * worst);
        assert_true(worst <= 0.02);
    }
}

static void
test_hll_duplicate_adds_change_nothing(void **state)
{
    struct hll once, twice;

    (void)state;
    hll_init(&once);
    hll_init(&twice);
    fill(&once, 11, 0, 600);
    fill(&twice, 11, 0, 600);
    fill(&twice, 11, 0, 600);
    assert_same_sketch(&once, &twice);
    fill(&once, 11, 600, 5000);
    fill(&twice, 11, 0, 5000);
    fill(&twice, 11, 2000, 3000);
    assert_same_sketch(&once, &twice);
    hll_fini(&once);
    hll_fini(&twice);
}

/* Split keys [0, n) of set 'seed' into NPARTS overlapping parts, each a sketch. */
static void
make_parts(struct hll *parts, unsigned seed, unsigned n)
{
    unsigned k, len = n / NPARTS, from, to;

    for (k = 0; k < NPARTS; k++) {
        hll_init(&parts[k]);
        from = k * len;
        to = k == NPARTS - 1 ? n : from + len + len / 4; /* a quarter overlaps the next part */
        fill(&parts[k], seed, from, to);
    }
}

/* Merge parts[lo..hi) into 'out' as a balanced tree: (a+b)+(c+d)... */
static void
merge_tree(struct hll *out, const struct hll *parts, size_t lo, size_t hi)
{
    struct hll right;
    size_t mid = lo + (hi - lo) / 2;

    if (hi - lo == 1) {
        assert_int_equal(hll_merge(out, &parts[lo]), 0);
        return;
    }
    merge_tree(out, parts, lo, mid);
    hll_init(&right);
    merge_tree(&right, parts, mid, hi);
    assert_int_equal(hll_merge(out, &right), 0);
    hll_fini(&right);
}

/* Every grouping and order of merging the parts gives the sketch of all 'n' keys. */
static void
check_groupings(unsigned seed, unsigned n)
{
    struct hll parts[NPARTS], all, left, right, tree, rev, acc;
    size_t k;

    make_parts(parts, seed, n);
    hll_init(&all);
    fill(&all, seed, 0, n);
    hll_init(&left); /* ((a+b)+c)+... */
    for (k = 0; k < NPARTS; k++)
        assert_int_equal(hll_merge(&left, &parts[k]), 0);
    hll_init(&right); /* a+(b+(c+...)) */
    for (k = NPARTS; k-- > 0;) {
        hll_init(&acc);
        assert_int_equal(hll_merge(&acc, &parts[k]), 0);
        assert_int_equal(hll_merge(&acc, &right), 0);
        hll_fini(&right);
        right = acc;
    }
    hll_init(&tree);
    merge_tree(&tree, parts, 0, NPARTS);
    hll_init(&rev); /* h+(g+(f+...)), from the first part's sketch itself */
    assert_int_equal(hll_merge(&rev, &parts[NPARTS - 1]), 0);
    for (k = NPARTS - 1; k-- > 0;)
        assert_int_equal(hll_merge(&rev, &parts[k]), 0);
    assert_same_sketch(&left, &all);
    assert_same_sketch(&right, &all);
    assert_same_sketch(&tree, &all);
    assert_same_sketch(&rev, &all);
    for (k = 0; k < NPARTS; k++)
        hll_fini(&parts[k]);
    hll_fini(&all);
    hll_fini(&left);
    hll_fini(&right);
    hll_fini(&tree);
    hll_fini(&rev);
}

static void
test_hll_merge_any_grouping_gives_same_sketch(void **state)
{
    (void)state;
    check_groupings(21, 640);    /* sparse parts, sparse union */
    check_groupings(22, 3200);   /* sparse parts, dense union */
    check_groupings(23, 16000);  /* parts sparse and dense */
    check_groupings(24, 200000); /* dense parts */
}

static void
test_hll_sparse_merge_overflow_goes_dense(void **state)
{
    struct hll a, b, all;

    (void)state;
    hll_init(&a);
    hll_init(&b);
    hll_init(&all);
    fill(&a, 31, 0, 700);
    fill(&b, 31, 500, 1300);
    fill(&all, 31, 0, 1300);
    assert_false(hll_is_dense(&a));
    assert_false(hll_is_dense(&b));
    assert_int_equal(hll_merge(&a, &b), 0);
    assert_true(hll_is_dense(&a));
    assert_same_sketch(&a, &all);
    /* A union that just fits stays sparse and exact. */
    hll_clear(&a);
    hll_clear(&b);
    fill(&a, 31, 0, 600);
    fill(&b, 31, 400, HLL_SPARSE_MAX);
    assert_int_equal(hll_merge(&a, &b), 0);
    assert_false(hll_is_dense(&a));
    assert_true(hll_count(&a) == HLL_SPARSE_MAX);
    hll_fini(&a);
    hll_fini(&b);
    hll_fini(&all);
}

static void
test_hll_merge_mixed_modes(void **state)
{
    struct hll sparse, dense, s2d, d2s, all;

    (void)state;
    hll_init(&sparse);
    hll_init(&dense);
    hll_init(&all);
    fill(&sparse, 41, 0, 300);
    fill(&dense, 41, 200, 4000);
    fill(&all, 41, 0, 4000);
    hll_init(&s2d);
    hll_init(&d2s);
    assert_int_equal(hll_merge(&s2d, &dense), 0); /* into an empty sparse sketch */
    assert_int_equal(hll_merge(&s2d, &sparse), 0);
    assert_int_equal(hll_merge(&d2s, &sparse), 0);
    assert_int_equal(hll_merge(&d2s, &dense), 0); /* a dense one into a sparse one */
    assert_same_sketch(&s2d, &all);
    assert_same_sketch(&d2s, &all);
    /* Merging a sketch into itself, or an empty one into it, changes nothing. */
    assert_int_equal(hll_merge(&sparse, &sparse), 0);
    assert_true(hll_count(&sparse) == 300);
    hll_clear(&s2d);
    assert_int_equal(hll_merge(&all, &s2d), 0);
    assert_int_equal(hll_merge(&d2s, &d2s), 0);
    assert_same_sketch(&d2s, &all);
    hll_fini(&sparse);
    hll_fini(&dense);
    hll_fini(&s2d);
    hll_fini(&d2s);
    hll_fini(&all);
}

static void
test_hll_saved_sketch_restores(void **state)
{
    const uint64_t *v;
    struct hll h, back;
    size_t n, i;

    (void)state;
    hll_init(&h);
    hll_init(&back);
    fill(&h, 51, 0, 900);
    n = hll_sparse_hashes(&h, &v);
    assert_int_equal(n, 900);
    for (i = 0; i < n; i++)
        assert_int_equal(hll_add(&back, v[i]), 0);
    assert_same_sketch(&back, &h);
    fill(&h, 51, 900, 50000);
    hll_clear(&back);
    fill(&back, 52, 0, 100); /* whatever it held is replaced */
    assert_int_equal(hll_set_registers(&back, hll_registers(&h)), 0);
    assert_same_sketch(&back, &h);
    hll_fini(&h);
    hll_fini(&back);
}

static void
test_hll_set_registers_checks_range(void **state)
{
    uint8_t *regs;
    struct hll h;

    (void)state;
    assert_non_null(regs = calloc(HLL_REGISTERS, 1));
    hll_init(&h);
    fill(&h, 61, 0, 10);
    regs[HLL_REGISTERS - 1] = HLL_RANK_MAX + 1;
    assert_int_equal(hll_set_registers(&h, regs), -1);
    assert_false(hll_is_dense(&h));
    assert_true(hll_count(&h) == 10);
    /* All registers empty: dense, counting nothing. */
    regs[HLL_REGISTERS - 1] = 0;
    assert_int_equal(hll_set_registers(&h, regs), 0);
    assert_true(hll_is_dense(&h));
    assert_true(hll_count(&h) == 0);
    /* All saturated: a finite count, the most 64-bit hashes can tell apart. */
    memset(regs, HLL_RANK_MAX, HLL_REGISTERS);
    assert_int_equal(hll_set_registers(&h, regs), 0);
    assert_true(hll_count(&h) == ldexp(1.0, 64));
    hll_fini(&h);
    free(regs);
}

static void
test_hll_memory_stays_bounded(void **state)
{
    struct hll h;
    unsigned i;

    (void)state;
    hll_init(&h);
    assert_int_equal(hll_bytes(&h), 0);
    for (i = 0; i < HLL_SPARSE_MAX; i++) {
        assert_int_equal(hll_add(&h, key_hash(71, i)), 0);
        assert_true(hll_bytes(&h) <= HLL_SPARSE_MAX * sizeof(uint64_t));
        assert_true(hll_bytes(&h) >= (i + 1) * sizeof(uint64_t));
    }
    fill(&h, 71, HLL_SPARSE_MAX, 100000);
    assert_int_equal(hll_bytes(&h), HLL_REGISTERS);
    hll_fini(&h);
}

static void
test_hll_clear_and_fini(void **state)
{
    struct hll h;
    size_t bytes;

    (void)state;
    hll_fini(NULL);
    hll_init(&h);
    fill(&h, 81, 0, 100);
    bytes = hll_bytes(&h);
    hll_clear(&h);
    assert_true(hll_count(&h) == 0);
    assert_int_equal(hll_bytes(&h), bytes); /* the sparse array is kept */
    fill(&h, 81, 0, 3000);
    hll_clear(&h);
    assert_false(hll_is_dense(&h)); /* an empty sketch is exact again */
    assert_int_equal(hll_bytes(&h), 0);
    fill(&h, 81, 0, 30);
    assert_true(hll_count(&h) == 30);
    hll_fini(&h);
    hll_fini(&h);
    assert_int_equal(hll_bytes(&h), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hll_hash_is_pinned),
        cmocka_unit_test(test_hll_sparse_count_is_exact),
        cmocka_unit_test(test_hll_goes_dense_past_sparse_max),
        cmocka_unit_test(test_hll_estimate_within_two_percent),
        cmocka_unit_test(test_hll_duplicate_adds_change_nothing),
        cmocka_unit_test(test_hll_merge_any_grouping_gives_same_sketch),
        cmocka_unit_test(test_hll_sparse_merge_overflow_goes_dense),
        cmocka_unit_test(test_hll_merge_mixed_modes),
        cmocka_unit_test(test_hll_saved_sketch_restores),
        cmocka_unit_test(test_hll_set_registers_checks_range),
        cmocka_unit_test(test_hll_memory_stays_bounded),
        cmocka_unit_test(test_hll_clear_and_fini),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
