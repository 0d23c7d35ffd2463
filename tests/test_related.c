/*
 * test_related.c -- unit tests of "what else moved" (src/related.c): the
 * metrics far from the mean of the windows before, strongest relative change
 * first, at most RELATED_MAX; nothing before two windows of history; small
 * counts not news; the ring put back from --state gives the same answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rarr/related.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

static struct ruleset *
ruleset_of(const char *text)
{
    struct ruleset *rs = rules_new();
    struct diag d;

    memset(&d, 0, sizeof(d));
    assert_non_null(rs);
    if (rules_parse(rs, "t.rarr", text, strlen(text), &d) != 0 || rules_finish(rs, 60000, &d) != 0)
        fail_msg("rules: %s", d.msg);
    return rs;
}

/* Metrics a..g (g a ratio), an alert on a over 10m: rings of 50 steps. */
static const char rules[] = "metric a path~a\nmetric b path~b\nmetric c path~c\nmetric d path~d\n"
                            "metric e path~e\nmetric f path~f\nmetric h path~h\n"
                            "ratio g = b / c\nalert a window=10m below=1\n";

/* Push 'n' steps where metric i has base[i], then 10 steps with now[i]. */
static void
feed(struct related *r, const double *base, const double *now, int n)
{
    int k;

    for (k = 0; k < n; k++)
        related_push(r, base);
    for (k = 0; k < 10; k++)
        related_push(r, now);
}

static void
test_related_names_what_moved_strongest_first(void **state)
{
    struct ruleset *rs = ruleset_of(rules);
    struct related *r = related_new(rs, 60000);
    /*                a   b    c    d   e    f    h    g */
    double base[] = {10, 10, 100, 20, 5, 50, 50, 0};
    double now[] = {0, 1, 100, 40, 6, 0, 150, 0};
    struct related_list l;

    (void)state;
    assert_non_null(r);
    feed(r, base, now, 40);
    related_find(r, 0, 10, &l);
    /* h +200 %, d +100 %, f -100 % (a tie keeps rule order), b -90 %; e +20 % and c are not
     * far; a is the alert's own. */
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[0].name, "h");
    assert_true(l.v[0].change > 1.99 && l.v[0].change < 2.01);
    assert_string_equal(l.v[1].name, "d");
    assert_string_equal(l.v[2].name, "f");
    assert_string_equal(l.v[3].name, "b");
    assert_true(l.v[3].value == 10 && l.v[3].usual == 100);
    related_free(r);
    rules_free(rs);
}

static void
test_related_needs_history_and_counts(void **state)
{
    struct ruleset *rs = ruleset_of(rules);
    struct related *r = related_new(rs, 60000);
    double base[] = {1, 1, 1, 1, 1, 1, 1, 0}, now[] = {0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 0};
    struct related_list l;

    (void)state;
    feed(r, base, now, 5);
    related_find(r, 0, 10, &l); /* 15 steps: less than two windows */
    assert_int_equal(l.n, 0);
    feed(r, base, now, 40);
    related_find(r, 0, 10, &l); /* 15 against 10 a window: 50 %, but 5 < 2 sqrt(11) */
    assert_int_equal(l.n, 0);
    related_free(r);
    rules_free(rs);
}

static void
test_related_restore_gives_the_same(void **state)
{
    struct ruleset *rs = ruleset_of(rules);
    struct related *r = related_new(rs, 60000), *back = related_new(rs, 60000);
    double base[] = {10, 10, 100, 20, 5, 50, 50, 0}, now[] = {0, 1, 100, 40, 6, 0, 150, 0};
    double v[64];
    struct related_list l1, l2;
    size_t i, j, n;

    (void)state;
    feed(r, base, now, 60);
    n = related_len(r);
    assert_int_equal(n, 50);
    for (i = 0; i < rs->nmetrics; i++) {
        for (j = 0; j < n; j++)
            v[j] = related_at(r, i, j);
        related_restore(back, i, v, n);
    }
    related_find(r, 0, 10, &l1);
    related_find(back, 0, 10, &l2);
    assert_int_equal(l1.n, l2.n);
    for (i = 0; i < l1.n; i++)
        assert_true(l1.v[i].metric == l2.v[i].metric && l1.v[i].usual == l2.v[i].usual);
    related_free(r);
    related_free(back);
    rules_free(rs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_related_names_what_moved_strongest_first),
        cmocka_unit_test(test_related_needs_history_and_counts),
        cmocka_unit_test(test_related_restore_gives_the_same),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
