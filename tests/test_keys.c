/*
 * test_keys.c -- unit tests for keys.c, the bounded key table of by=FIELD:
 * found / added / full, slot reuse after a release, the long-key form and
 * its digest (checked against SipHash-2-4's published reference vectors),
 * keys with any bytes, a flood of distinct keys against a small table,
 * keys built to share an index position, and the iteration order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rarr/keys.h"

#define SEED 0x5eed

/* keys_get of a C string at time 'now'. */
static enum keys_result
get(struct keys *k, const char *s, int64_t now, size_t *slot)
{
    return keys_get(k, s, strlen(s), now, slot);
}

/* Assert that slot 'slot' holds exactly the 'len' bytes at 'want'. */
static void
assert_name(const struct keys *k, size_t slot, const char *want, size_t len)
{
    size_t got_len = 0;
    const char *got = keys_name(k, slot, &got_len);

    assert_non_null(got);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, want, len);
}

static void
test_keys_found_added_full(void **state)
{
    struct keys *k = keys_new(2, SEED);
    struct keys_stats st;
    size_t slot = 99;

    (void)state;
    assert_int_equal(get(k, "/login", 1, &slot), KEYS_ADDED);
    assert_int_equal(slot, 0);
    assert_int_equal(get(k, "/cart", 1, &slot), KEYS_ADDED);
    assert_int_equal(slot, 1);
    assert_int_equal(get(k, "/login", 2, &slot), KEYS_FOUND);
    assert_int_equal(slot, 0);
    assert_int_equal(get(k, "/search", 2, &slot), KEYS_FULL);
    assert_int_equal(slot, KEYS_NONE);
    assert_int_equal(get(k, "/cart", 3, &slot), KEYS_FOUND); /* full, still found */
    assert_int_equal(slot, 1);
    assert_int_equal(keys_find(k, "/search", 7, &slot), -1);
    assert_int_equal(keys_find(k, "/cart", 5, &slot), 0);
    assert_int_equal(slot, 1);
    assert_int_equal(keys_used(k), 2);
    assert_int_equal(keys_max(k), 2);
    keys_stats(k, &st);
    assert_int_equal(st.full, 1);
    assert_int_equal(st.crowded, 0);
    assert_int_equal(st.lookups, 7);
    keys_free(k);
}

static void
test_keys_new_rejects_bad_bounds(void **state)
{
    struct keys *k;

    (void)state;
    assert_null(keys_new(0, SEED));
    assert_null(keys_new(KEYS_MAX + 1, SEED));
    k = keys_new(KEYS_MAX, SEED);
    assert_non_null(k);
    /* The bound keys.h states: 280 bytes a slot, plus the struct. */
    assert_true(keys_bytes(k) <= (size_t)KEYS_MAX * (KEYS_SLOT_BYTES + 64 + 8) + 256);
    keys_free(k);
    keys_free(NULL);
}

static void
test_keys_release_reuses_slot(void **state)
{
    struct keys *k = keys_new(4, SEED);
    size_t slot;

    (void)state;
    get(k, "a", 0, &slot);
    get(k, "b", 0, &slot);
    get(k, "c", 0, &slot);
    assert_int_equal(keys_release(k, 0), 0);
    assert_int_equal(keys_release(k, 2), 0);
    assert_int_equal(keys_release(k, 2), -1); /* already free */
    assert_int_equal(keys_release(k, 3), -1); /* never used */
    assert_int_equal(keys_release(k, 1000), -1);
    assert_null(keys_name(k, 2, &slot));
    assert_int_equal(keys_last(k, 2), INT64_MIN);
    assert_int_equal(keys_used(k), 1);
    assert_int_equal(keys_find(k, "a", 1, &slot), -1);
    /* The lowest free slot first, then the next, then a new one. */
    assert_int_equal(get(k, "d", 0, &slot), KEYS_ADDED);
    assert_int_equal(slot, 0);
    assert_int_equal(get(k, "a", 0, &slot), KEYS_ADDED);
    assert_int_equal(slot, 2);
    assert_int_equal(get(k, "e", 0, &slot), KEYS_ADDED);
    assert_int_equal(slot, 3);
    assert_name(k, 0, "d", 1);
    assert_name(k, 2, "a", 1);
    keys_free(k);
}

/* A table put back key by key from another's slots hands out the same slots after. */
static void
test_keys_put_restores_a_table(void **state)
{
    struct keys *a = keys_new(8, SEED), *b = keys_new(8, SEED + 1);
    char longv[300], name[KEYS_LEN_MAX];
    const char *n;
    size_t s, len;
    int i;

    (void)state;
    memset(longv, 'x', sizeof(longv));
    get(a, "a", 1, &s);
    get(a, "b", 2, &s);
    assert_int_equal(keys_get(a, longv, sizeof(longv), 3, &s), KEYS_ADDED);
    get(a, "c", 4, &s);
    assert_int_equal(keys_release(a, 1), 0);
    for (s = keys_next(a, 0); s != KEYS_NONE; s = keys_next(a, s + 1)) {
        n = keys_name(a, s, &len);
        assert_int_equal(keys_put(b, s, n, len, keys_last(a, s)), 0);
    }
    assert_int_equal(keys_used(b), 3);
    assert_int_equal(keys_last(b, 2), 3);
    assert_int_equal(keys_find(b, longv, sizeof(longv), &s), 0); /* the long key by its value */
    assert_int_equal(s, 2);
    /* Refused: a slot in use, a key already in, a name not normalized, out of range. */
    assert_int_equal(keys_put(b, 0, "z", 1, 0), -1);
    assert_int_equal(keys_put(b, 1, "a", 1, 0), -1);
    assert_int_equal(keys_put(b, 1, longv, KEYS_LEN_MAX, 0), -1);
    assert_int_equal(keys_put(b, 8, "z", 1, 0), -1);
    keys_normalize(longv, sizeof(longv), name);
    name[KEYS_LEN_MAX - 1] = 'g';
    assert_int_equal(keys_put(b, 1, name, KEYS_LEN_MAX, 0), -1);
    /* The same next slots in both. */
    for (i = 0; i < 4; i++) {
        char v[2] = {(char)('p' + i), 0};
        size_t sa, sb;

        assert_int_equal(keys_get(a, v, 1, 9, &sa), KEYS_ADDED);
        assert_int_equal(keys_get(b, v, 1, 9, &sb), KEYS_ADDED);
        assert_int_equal(sa, sb);
    }
    keys_free(a);
    keys_free(b);
}

/* SipHash-2-4, key 00 01 .. 0f, message 00 01 .. n-1: the reference vectors. */
static void
test_keys_digest_is_siphash24(void **state)
{
    static const struct {
        size_t n;
        uint64_t want;
    } v[] = {
        {0, UINT64_C(0x726fdb47dd0e0e31)},  {1, UINT64_C(0x74f839c593dc67fd)},
        {2, UINT64_C(0x0d6c8009d9a94f5a)},  {7, UINT64_C(0xab0200f58b01d137)},
        {8, UINT64_C(0x93f5f5799a932462)},  {15, UINT64_C(0xa129ca6149be45e5)},
        {16, UINT64_C(0x3f2acc7f57c29bdb)},
    };
    char msg[16];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(msg); i++)
        msg[i] = (char)i;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(keys_digest(msg, v[i].n), v[i].want);
}

static void
test_keys_long_keys_normalized_and_distinct(void **state)
{
    char a[1000], b[1000], out[KEYS_LEN_MAX], hex[17];
    struct keys *k = keys_new(8, SEED);
    size_t sa, sb, s199, s200;

    (void)state;
    memset(a, 'x', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[999] = 'y'; /* differs only past the kept prefix */
    /* Under KEYS_LEN_MAX bytes: itself. KEYS_LEN_MAX bytes or more: the long form. */
    assert_int_equal(keys_normalize(a, KEYS_LEN_MAX - 1, out), KEYS_LEN_MAX - 1);
    assert_memory_equal(out, a, KEYS_LEN_MAX - 1);
    assert_int_equal(keys_normalize(a, sizeof(a), out), KEYS_LEN_MAX);
    assert_memory_equal(out, a, KEYS_PREFIX_LEN);
    assert_int_equal(out[KEYS_PREFIX_LEN], '~');
    snprintf(hex, sizeof(hex), "%016" PRIx64, keys_digest(a, sizeof(a)));
    assert_memory_equal(out + KEYS_PREFIX_LEN + 1, hex, 16);

    assert_int_equal(keys_get(k, a, sizeof(a), 0, &sa), KEYS_ADDED);
    assert_int_equal(keys_get(k, b, sizeof(b), 0, &sb), KEYS_ADDED);
    assert_int_equal(keys_get(k, a, KEYS_LEN_MAX - 1, 0, &s199), KEYS_ADDED);
    assert_int_equal(keys_get(k, a, KEYS_LEN_MAX, 0, &s200), KEYS_ADDED);
    assert_int_equal(keys_used(k), 4);
    assert_name(k, sa, out, KEYS_LEN_MAX);
    assert_int_equal(keys_get(k, a, sizeof(a), 1, &sb), KEYS_FOUND);
    assert_int_equal(sb, sa);
    /* A short value spelling another's long form is still its own key. */
    assert_int_equal(keys_get(k, out, KEYS_LEN_MAX - 1, 0, &sb), KEYS_ADDED);
    assert_int_equal(keys_get(k, out, KEYS_LEN_MAX, 0, &sb), KEYS_ADDED);
    assert_true(sb != sa);
    keys_free(k);
}

static void
test_keys_nul_bytes_and_invalid_utf8(void **state)
{
    static const struct {
        const char *p;
        size_t len;
    } v[] = {
        {"", 0},     {"a", 1},     {"a\0b", 3},     {"a\0c", 3},
        {"\0", 1},   {"\0\0", 2},  {"\xff\xfe", 2}, {"\xc3\x28", 2},
        {"\xc3", 1}, {"\"q\"", 3}, {"a\\0b", 4},    {"\xed\xa0\x80", 3},
    };
    size_t n = sizeof(v) / sizeof(v[0]), i, slot;
    struct keys *k = keys_new(n, SEED);

    (void)state;
    for (i = 0; i < n; i++) {
        assert_int_equal(keys_get(k, v[i].p, v[i].len, 0, &slot), KEYS_ADDED);
        assert_int_equal(slot, i);
    }
    for (i = 0; i < n; i++) {
        assert_int_equal(keys_get(k, v[i].p, v[i].len, 0, &slot), KEYS_FOUND);
        assert_int_equal(slot, i);
        assert_name(k, i, v[i].p, v[i].len);
    }
    keys_free(k);
}

static void
test_keys_flood_keeps_max_keys(void **state)
{
    struct keys *k = keys_new(50, SEED);
    size_t bytes = keys_bytes(k), i, slot, added = 0, full = 0;
    struct keys_stats st;
    char s[32];

    (void)state;
    for (i = 0; i < 100000; i++) {
        snprintf(s, sizeof(s), "/item/%zu", i);
        switch (get(k, s, (int64_t)i, &slot)) {
        case KEYS_ADDED:
            assert_int_equal(slot, added);
            added++;
            break;
        case KEYS_FULL:
            full++;
            break;
        case KEYS_FOUND:
            fail_msg("'%s' found but never added", s);
        }
    }
    assert_int_equal(added, 50);
    assert_int_equal(full, 100000 - 50);
    assert_int_equal(keys_used(k), 50);
    keys_stats(k, &st);
    assert_int_equal(st.full, 100000 - 50);
    assert_int_equal(st.crowded, 0);
    assert_int_equal(keys_bytes(k), bytes); /* nothing grew */
    assert_true(bytes <= 50 * (KEYS_SLOT_BYTES + 64 + 8) + 256);
    assert_int_equal(keys_find(k, "/item/49", 8, &slot), 0);
    assert_int_equal(slot, 49);
    assert_int_equal(keys_find(k, "/item/50", 8, &slot), -1);
    keys_free(k);
}

/*
 * 200 keys built (with the seed, as only an attacker who knew it could)
 * to share one home position: KEYS_PROBE_MAX of them get slots, the rest
 * are refused as crowded although slots are free, no lookup examines more
 * than KEYS_PROBE_MAX entries, and other keys are unaffected.
 */
static void
test_keys_colliding_homes_cost_bounded_probes(void **state)
{
    static char names[200][16];
    struct keys *k = keys_new(1000, SEED);
    struct keys_stats before, after;
    size_t n = 0, i, home, slot;

    (void)state;
    home = keys_home(k, "seed-key", 8);
    for (i = 0; n < 200; i++) {
        snprintf(names[n], sizeof(names[n]), "c%zu", i);
        if (keys_home(k, names[n], strlen(names[n])) == home)
            n++;
    }
    for (i = 0; i < n; i++) {
        keys_stats(k, &before);
        assert_int_equal(get(k, names[i], 0, &slot), i < KEYS_PROBE_MAX ? KEYS_ADDED : KEYS_FULL);
        keys_stats(k, &after);
        assert_true(after.probes - before.probes <= KEYS_PROBE_MAX);
    }
    assert_int_equal(keys_used(k), KEYS_PROBE_MAX);
    assert_int_equal(after.crowded, 200 - KEYS_PROBE_MAX);
    assert_int_equal(after.full, 0);
    for (i = 0; i < n; i++)
        assert_int_equal(keys_find(k, names[i], strlen(names[i]), &slot),
                         i < KEYS_PROBE_MAX ? 0 : -1);
    keys_stats(k, &after);
    assert_true(after.probes <= after.lookups * KEYS_PROBE_MAX);
    /* A key elsewhere is added; after a release a crowded key fits. */
    assert_true(keys_home(k, "elsewhere", 9) != home);
    assert_int_equal(get(k, "elsewhere", 0, &slot), KEYS_ADDED);
    assert_int_equal(keys_release(k, 5), 0);
    assert_int_equal(get(k, names[KEYS_PROBE_MAX], 0, &slot), KEYS_ADDED);
    assert_int_equal(slot, 5);
    for (i = 6; i < KEYS_PROBE_MAX; i++)
        assert_int_equal(keys_find(k, names[i], strlen(names[i]), &slot), 0);
    keys_free(k);
}

/*
 * Keys sharing a home sit one after another in the index: releasing one
 * (first, middle, last: tombstone, then cleaned back to empty) must not
 * hide the others, and a new key with that home reuses a position.
 */
static void
test_keys_release_keeps_neighbours_findable(void **state)
{
    static const size_t order[] = {0, 2, 4, 3};
    char names[5][16];
    int gone[5] = {0};
    struct keys *k = keys_new(100, SEED);
    size_t n = 0, i, j, home, slot;

    (void)state;
    home = keys_home(k, "anchor", 6);
    for (i = 0; n < 5; i++) {
        snprintf(names[n], sizeof(names[n]), "n%zu", i);
        if (keys_home(k, names[n], strlen(names[n])) == home)
            n++;
    }
    for (i = 0; i < n; i++)
        assert_int_equal(get(k, names[i], 0, &slot), KEYS_ADDED);
    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        assert_int_equal(keys_release(k, order[i]), 0);
        gone[order[i]] = 1;
        for (j = 0; j < n; j++) {
            assert_int_equal(keys_find(k, names[j], strlen(names[j]), &slot), gone[j] ? -1 : 0);
            if (!gone[j])
                assert_int_equal(slot, j);
        }
    }
    assert_int_equal(get(k, names[2], 0, &slot), KEYS_ADDED);
    assert_int_equal(slot, 0); /* the lowest free slot */
    assert_int_equal(keys_find(k, names[1], strlen(names[1]), &slot), 0);
    assert_int_equal(slot, 1);
    keys_free(k);
}

/* Many adds and releases through a tiny table: tombstones never block a key. */
static void
test_keys_churn_never_crowds(void **state)
{
    struct keys *k = keys_new(8, SEED);
    struct keys_stats st;
    size_t i, slot;
    char s[32];

    (void)state;
    for (i = 0; i < 20000; i++) {
        snprintf(s, sizeof(s), "k%zu", i);
        if (keys_used(k) == 8)
            assert_int_equal(keys_release(k, i % 8), 0);
        assert_int_equal(get(k, s, 0, &slot), KEYS_ADDED);
        assert_int_equal(keys_find(k, s, strlen(s), &slot), 0);
    }
    keys_stats(k, &st);
    assert_int_equal(st.crowded, 0);
    assert_true(st.probes <= st.lookups * 32); /* the index has 32 entries */
    keys_free(k);
}

/* The same operations under two seeds: the same slots, in the same order. */
static void
test_keys_iteration_order_stable(void **state)
{
    static const char *want[] = {"a", "f", "c", "g", "e"};
    struct keys *k1 = keys_new(10, 1), *k2 = keys_new(10, 0xdeadbeef), *t;
    const char *ops = "abcde-1-3fg";
    size_t i, j, slot, n;
    int round;

    (void)state;
    for (round = 0; round < 2; round++) {
        t = round == 0 ? k1 : k2;
        for (i = 0; ops[i] != '\0'; i++) {
            if (ops[i] == '-')
                assert_int_equal(keys_release(t, (size_t)(ops[++i] - '0')), 0);
            else
                assert_int_not_equal(keys_get(t, &ops[i], 1, 0, &slot), KEYS_FULL);
        }
        for (n = 0, j = keys_next(t, 0); j != KEYS_NONE; j = keys_next(t, j + 1), n++) {
            assert_int_equal(j, n);
            assert_name(t, j, want[n], 1);
        }
        assert_int_equal(n, 5);
    }
    /* Releasing the slot being visited does not disturb the walk. */
    for (n = 0, j = keys_next(k1, 0); j != KEYS_NONE; j = keys_next(k1, j + 1), n++)
        if (j % 2 == 0)
            keys_release(k1, j);
    assert_int_equal(n, 5);
    assert_int_equal(keys_next(k1, 0), 1);
    assert_int_equal(keys_next(k1, 2), 3);
    assert_int_equal(keys_next(k1, 4), KEYS_NONE);
    keys_free(k1);
    keys_free(k2);
}

static void
test_keys_last_is_latest_get(void **state)
{
    struct keys *k = keys_new(4, SEED);
    size_t slot;

    (void)state;
    get(k, "x", 100, &slot);
    assert_int_equal(keys_last(k, slot), 100);
    get(k, "x", 50, &slot); /* a late event does not make the key look idle */
    assert_int_equal(keys_last(k, slot), 100);
    get(k, "x", 200, &slot);
    assert_int_equal(keys_last(k, slot), 200);
    assert_int_equal(keys_find(k, "x", 1, &slot), 0); /* finding does not touch */
    assert_int_equal(keys_last(k, slot), 200);
    get(k, "y", -5, &slot);
    assert_int_equal(keys_last(k, slot), -5);
    keys_free(k);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_found_added_full),
        cmocka_unit_test(test_keys_new_rejects_bad_bounds),
        cmocka_unit_test(test_keys_release_reuses_slot),
        cmocka_unit_test(test_keys_put_restores_a_table),
        cmocka_unit_test(test_keys_digest_is_siphash24),
        cmocka_unit_test(test_keys_long_keys_normalized_and_distinct),
        cmocka_unit_test(test_keys_nul_bytes_and_invalid_utf8),
        cmocka_unit_test(test_keys_flood_keeps_max_keys),
        cmocka_unit_test(test_keys_colliding_homes_cost_bounded_probes),
        cmocka_unit_test(test_keys_release_keeps_neighbours_findable),
        cmocka_unit_test(test_keys_churn_never_crowds),
        cmocka_unit_test(test_keys_iteration_order_stable),
        cmocka_unit_test(test_keys_last_is_latest_get),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
