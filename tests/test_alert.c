/*
 * test_alert.c -- unit tests of the threshold alert state machine (src/alert.c).
 *
 * The rule (docs/rules.md, "alert"): the first step T0 at which the
 * condition holds starts an alert (since = T0); it fires at the first step
 * T >= T0 + for at which it has held at every step since T0; a failing step
 * before then resets it; it resolves when the value crosses back past clear
 * (default: the threshold). Undefined steps change nothing, and a state is
 * never reported twice.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rarr/alert.h"
#include "rarr/rules.h"

#define MIN 60000LL
#define T0 1777888800000LL /* 2026-05-04T10:00:00Z */

/* An alert rule as the parser would make it. */
static struct rules_alert
rule(int above, double threshold, double clear, int64_t for_ms)
{
    struct rules_alert r;

    memset(&r, 0, sizeof(r));
    r.above = above;
    r.threshold = threshold;
    r.clear = clear;
    r.window_ms = 15 * MIN;
    r.for_ms = for_ms;
    return r;
}

/* The step ending 'k' minutes after T0. */
static int64_t
at(int k)
{
    return T0 + k * MIN;
}

static void
test_alert_starts_ok(void **state)
{
    struct alert a;

    (void)state;
    memset(&a, 0x5a, sizeof(a));
    alert_init(&a);
    assert_int_equal(a.state, ALERT_OK);
    assert_int_equal(a.since_ms, 0);
}

static void
test_alert_for_zero_fires_at_first_step(void **state)
{
    struct rules_alert r = rule(0, 70, 70, 0);
    struct alert a;

    (void)state;
    alert_init(&a);
    assert_int_equal(alert_step(&a, &r, at(0), 80, 1), ALERT_NONE);
    assert_int_equal(a.state, ALERT_OK);
    assert_int_equal(alert_step(&a, &r, at(1), 41.2, 1), ALERT_FIRED);
    assert_int_equal(a.state, ALERT_FIRING);
    assert_int_equal(a.since_ms, at(1));
}

static void
test_alert_for_fires_after_holding_every_step(void **state)
{
    struct rules_alert r = rule(0, 70, 70, 5 * MIN);
    struct alert a;
    int k;

    (void)state;
    alert_init(&a);
    for (k = 0; k < 5; k++) {
        assert_int_equal(alert_step(&a, &r, at(k), 50, 1), ALERT_NONE);
        assert_int_equal(a.state, ALERT_PENDING);
        assert_int_equal(a.since_ms, at(0));
    }
    assert_int_equal(alert_step(&a, &r, at(5), 50, 1), ALERT_FIRED);
    assert_int_equal(a.state, ALERT_FIRING);
    assert_int_equal(a.since_ms, at(0));
}

static void
test_alert_for_not_a_multiple_of_step_fires_at_first_step_after(void **state)
{
    struct rules_alert r = rule(0, 70, 70, 90000);
    struct alert a;

    (void)state;
    alert_init(&a);
    assert_int_equal(alert_step(&a, &r, at(0), 1, 1), ALERT_NONE);
    assert_int_equal(alert_step(&a, &r, at(1), 1, 1), ALERT_NONE);
    /* T0 + 1m30s falls between steps: the first step at or after it fires. */
    assert_int_equal(alert_step(&a, &r, at(2), 1, 1), ALERT_FIRED);
    assert_int_equal(a.since_ms, at(0));
}

static void
test_alert_failing_step_resets_pending(void **state)
{
    struct rules_alert r = rule(0, 70, 70, 5 * MIN);
    struct alert a;
    int k;

    (void)state;
    alert_init(&a);
    for (k = 0; k < 4; k++)
        assert_int_equal(alert_step(&a, &r, at(k), 50, 1), ALERT_NONE);
    /* At the threshold the condition "below 70" fails. */
    assert_int_equal(alert_step(&a, &r, at(4), 70, 1), ALERT_NONE);
    assert_int_equal(a.state, ALERT_OK);
    /* T0 + 5m would have been at(5): it holds again but starts over. */
    assert_int_equal(alert_step(&a, &r, at(5), 50, 1), ALERT_NONE);
    assert_int_equal(a.state, ALERT_PENDING);
    assert_int_equal(a.since_ms, at(5));
    for (k = 6; k < 10; k++)
        assert_int_equal(alert_step(&a, &r, at(k), 60, 1), ALERT_NONE);
    assert_int_equal(alert_step(&a, &r, at(10), 69.99, 1), ALERT_FIRED);
    assert_int_equal(a.since_ms, at(5));
}

static void
test_alert_resolves_at_threshold_by_default(void **state)
{
    struct rules_alert r = rule(0, 70, 70, 0);
    struct alert a;

    (void)state;
    alert_init(&a);
    assert_int_equal(alert_step(&a, &r, at(0), 41.2, 1), ALERT_FIRED);
    assert_int_equal(alert_step(&a, &r, at(1), 69.9, 1), ALERT_NONE);
    assert_int_equal(a.state, ALERT_FIRING);
    assert_int_equal(alert_step(&a, &r, at(2), 70, 1), ALERT_RESOLVED);
    assert_int_equal(a.state, ALERT_OK);
    /* since is still T0 for the resolved record. */
    assert_int_equal(a.since_ms, at(0));
    assert_int_equal(alert_step(&a, &r, at(3), 88, 1), ALERT_NONE);
}

static void
test_alert_clear_keeps_firing_until_crossed(void **state)
{
    struct rules_alert r = rule(0, 70, 80, 0);
    struct alert a;

    (void)state;
    alert_init(&a);
    assert_int_equal(alert_step(&a, &r, at(0), 60, 1), ALERT_FIRED);
    /* Back above the threshold but not past clear: still firing. */
    assert_int_equal(alert_step(&a, &r, at(1), 75, 1), ALERT_NONE);
    assert_int_equal(a.state, ALERT_FIRING);
    assert_int_equal(alert_step(&a, &r, at(2), 79.99, 1), ALERT_NONE);
    assert_int_equal(alert_step(&a, &r, at(3), 65, 1), ALERT_NONE);
    assert_int_equal(alert_step(&a, &r, at(4), 80, 1), ALERT_RESOLVED);
    assert_int_equal(a.since_ms, at(0));
    /* Between threshold and clear a quiet alert does not start. */
    assert_int_equal(alert_step(&a, &r, at(5), 75, 1), ALERT_NONE);
    assert_int_equal(a.state, ALERT_OK);
}

static void
test_alert_above(void **state)
{
    struct rules_alert r = rule(1, 100, 90, 2 * MIN);
    struct alert a;

    (void)state;
    alert_init(&a);
    assert_int_equal(alert_step(&a, &r, at(0), 100, 1), ALERT_NONE);
    assert_int_equal(a.state, ALERT_OK);
    assert_int_equal(alert_step(&a, &r, at(1), 150, 1), ALERT_NONE);
    assert_int_equal(a.state, ALERT_PENDING);
    assert_int_equal(alert_step(&a, &r, at(2), 101, 1), ALERT_NONE);
    assert_int_equal(alert_step(&a, &r, at(3), 120, 1), ALERT_FIRED);
    assert_int_equal(a.since_ms, at(1));
    assert_int_equal(alert_step(&a, &r, at(4), 95, 1), ALERT_NONE);
    assert_int_equal(alert_step(&a, &r, at(5), 90, 1), ALERT_RESOLVED);
    assert_int_equal(a.since_ms, at(1));
    /* A new episode has a new since. */
    assert_int_equal(alert_step(&a, &r, at(6), 200, 1), ALERT_NONE);
    assert_int_equal(a.since_ms, at(6));
    assert_int_equal(alert_step(&a, &r, at(7), 200, 1), ALERT_NONE);
    assert_int_equal(alert_step(&a, &r, at(8), 200, 1), ALERT_FIRED);
    assert_int_equal(a.since_ms, at(6));
}

static void
test_alert_undefined_steps_change_nothing(void **state)
{
    struct rules_alert r = rule(0, 70, 70, 3 * MIN);
    struct alert a;

    (void)state;
    alert_init(&a);
    /* Quiet: an undefined step does not start an alert, whatever its value. */
    assert_int_equal(alert_step(&a, &r, at(0), 0, 0), ALERT_NONE);
    assert_int_equal(a.state, ALERT_OK);
    /* Pending: an undefined step neither resets nor fires. */
    assert_int_equal(alert_step(&a, &r, at(1), 50, 1), ALERT_NONE);
    assert_int_equal(alert_step(&a, &r, at(2), 100, 0), ALERT_NONE);
    assert_int_equal(a.state, ALERT_PENDING);
    assert_int_equal(alert_step(&a, &r, at(3), 50, 1), ALERT_NONE);
    assert_int_equal(alert_step(&a, &r, at(4), 0, 0), ALERT_NONE);
    assert_int_equal(a.state, ALERT_PENDING);
    assert_int_equal(a.since_ms, at(1));
    assert_int_equal(alert_step(&a, &r, at(5), 50, 1), ALERT_FIRED);
    /* Firing: an undefined step does not resolve. */
    assert_int_equal(alert_step(&a, &r, at(6), 100, 0), ALERT_NONE);
    assert_int_equal(a.state, ALERT_FIRING);
    assert_int_equal(a.since_ms, at(1));
    assert_int_equal(alert_step(&a, &r, at(7), 100, 1), ALERT_RESOLVED);
}

static void
test_alert_firing_never_repeats(void **state)
{
    struct rules_alert r = rule(0, 1, 1, 0);
    struct alert a;
    int k, fired = 0, resolved = 0;

    (void)state;
    alert_init(&a);
    for (k = 0; k < 500; k++) {
        enum alert_event ev = alert_step(&a, &r, at(k), 0, 1);

        fired += ev == ALERT_FIRED;
        resolved += ev == ALERT_RESOLVED;
    }
    assert_int_equal(fired, 1);
    assert_int_equal(resolved, 0);
    assert_int_equal(a.since_ms, at(0));
    for (k = 500; k < 600; k++) {
        enum alert_event ev = alert_step(&a, &r, at(k), 5, 1);

        fired += ev == ALERT_FIRED;
        resolved += ev == ALERT_RESOLVED;
    }
    assert_int_equal(fired, 1);
    assert_int_equal(resolved, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_starts_ok),
        cmocka_unit_test(test_alert_for_zero_fires_at_first_step),
        cmocka_unit_test(test_alert_for_fires_after_holding_every_step),
        cmocka_unit_test(test_alert_for_not_a_multiple_of_step_fires_at_first_step_after),
        cmocka_unit_test(test_alert_failing_step_resets_pending),
        cmocka_unit_test(test_alert_resolves_at_threshold_by_default),
        cmocka_unit_test(test_alert_clear_keeps_firing_until_crossed),
        cmocka_unit_test(test_alert_above),
        cmocka_unit_test(test_alert_undefined_steps_change_nothing),
        cmocka_unit_test(test_alert_firing_never_repeats),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
