/*
 * test_detect.c -- the detector's building blocks: incomplete gamma and
 * Poisson tails against closed forms, the Poisson-lognormal tail, and the
 * seasonal baseline learning a level, a daily shape and a weekly shape.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "rarr/detect.h"

#define HOUR (3600000LL)
#define DAY (24 * HOUR)
/* 2026-05-04T00:00:00Z, a Monday. */
#define MONDAY 1777852800000LL

static void
assert_close(double got, double want, double rel)
{
    if (fabs(got - want) > rel * fabs(want) + 1e-300)
        fail_msg("got %.17g, want %.17g", got, want);
}

static void
test_detect_poisson_le_closed_form(void **state)
{
    (void)state;
    /* P(X <= 2; 1) = e^-1 (1 + 1 + 1/2) */
    assert_close(detect_poisson_le(2, 1), exp(-1) * 2.5, 1e-12);
    assert_close(detect_poisson_le(0, 3), exp(-3), 1e-12);
    assert_close(detect_poisson_le(0, 30), exp(-30), 1e-10);
    assert_true(detect_poisson_le(-1, 3) == 0);
    assert_true(detect_poisson_le(5, 0) == 1);
}

static void
test_detect_poisson_ge_closed_form(void **state)
{
    (void)state;
    assert_close(detect_poisson_ge(1, 3), 1 - exp(-3), 1e-12);
    assert_close(detect_poisson_ge(2, 1), 1 - exp(-1) * 2, 1e-12);
    assert_true(detect_poisson_ge(0, 3) == 1);
    assert_true(detect_poisson_ge(1, 0) == 0);
    /* Non-integer counts round towards the conservative side. */
    assert_close(detect_poisson_ge(1.2, 3), detect_poisson_ge(2, 3), 1e-15);
    assert_close(detect_poisson_le(1.8, 3), detect_poisson_le(1, 3), 1e-15);
}

static void
test_detect_gamma_p_and_q_sum_to_one(void **state)
{
    static const double as[] = {0.5, 1, 3, 10, 100, 1000};
    static const double xs[] = {0.01, 0.5, 2, 9, 11, 99, 101, 950, 1050};
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(as) / sizeof(as[0]); i++)
        for (j = 0; j < sizeof(xs) / sizeof(xs[0]); j++)
            assert_close(detect_gamma_p(as[i], xs[j]) + detect_gamma_q(as[i], xs[j]), 1, 1e-12);
    /* P(1, x) = 1 - e^-x */
    assert_close(detect_gamma_p(1, 0.5), 1 - exp(-0.5), 1e-13);
}

static void
test_detect_poisson_large_mean_is_normal_like(void **state)
{
    (void)state;
    /* Around the mean of a large Poisson the CDF is near one half. */
    assert_true(fabs(detect_poisson_le(1e6, 1e6) - 0.5) < 0.01);
    /* Ten standard deviations below: tiny but not zero. */
    assert_true(detect_poisson_le(1e6 - 10000, 1e6) < 1e-20);
    assert_true(detect_poisson_le(1e6 - 10000, 1e6) > 0);
}

static void
test_detect_pln_without_spread_is_poisson(void **state)
{
    (void)state;
    assert_close(detect_pln_tail(3, 10, 0, 1), detect_poisson_le(3, 10), 1e-15);
    assert_close(detect_pln_tail(20, 10, 0, 0), detect_poisson_ge(20, 10), 1e-15);
}

static void
test_detect_pln_spread_fattens_both_tails(void **state)
{
    (void)state;
    /* Rate uncertainty makes a deficit and an excess less surprising. */
    assert_true(detect_pln_tail(0, 20, 0.04, 1) > detect_poisson_le(0, 20));
    assert_true(detect_pln_tail(40, 20, 0.04, 0) > detect_poisson_ge(40, 20));
    assert_true(detect_pln_tail(0, 20, 0.04, 1) < 1e-6);
    /* A full tail is a probability. */
    assert_close(detect_pln_tail(0, 20, 0.25, 0), 1, 1e-12);
}

static void
test_detect_baseline_empty_reads_zero(void **state)
{
    struct detect_baseline bl;
    double w, aeff;

    (void)state;
    detect_baseline_init(&bl);
    assert_true(detect_baseline_rate(&bl, MONDAY, 60000, DETECT_WEEKLY) == 0);
    detect_baseline_slot(&bl, MONDAY, DETECT_WEEKLY, &w, &aeff);
    assert_true(w == 0);
}

static void
test_detect_baseline_learns_a_level(void **state)
{
    struct detect_baseline bl;
    int64_t t;

    (void)state;
    detect_baseline_init(&bl);
    /* Two days of exactly 3 events a minute. */
    for (t = MONDAY; t < MONDAY + 2 * DAY; t += 60000)
        detect_baseline_add(&bl, t, 3, 1);
    assert_close(detect_baseline_rate(&bl, t, 60000, DETECT_NONE), 3, 1e-9);
    assert_close(detect_baseline_rate(&bl, t, 60000, DETECT_DAILY), 3, 1e-9);
    assert_close(detect_baseline_rate(&bl, t + 13 * HOUR, 60000, DETECT_WEEKLY), 3, 1e-9);
}

static void
test_detect_baseline_learns_a_daily_shape(void **state)
{
    struct detect_baseline bl;
    int64_t t;
    double noon, night;

    (void)state;
    detect_baseline_init(&bl);
    /* A week: 10 a minute from 09:00 to 17:00, 1 a minute otherwise. */
    for (t = MONDAY; t < MONDAY + 7 * DAY; t += 60000) {
        int h = (int)((t - MONDAY) % DAY / HOUR);

        detect_baseline_add(&bl, t, h >= 9 && h < 17 ? 10 : 1, 1);
    }
    noon = detect_baseline_rate(&bl, t + 12 * HOUR, 60000, DETECT_DAILY);
    night = detect_baseline_rate(&bl, t + 3 * HOUR, 60000, DETECT_DAILY);
    /* Each slot is shrunk a little towards the global rate (a prior worth 15 events). */
    assert_close(noon, 10, 0.01);
    assert_close(night, 1, 0.05);
    assert_true(noon < 10 && night > 1);
    /* Between hour centres the rate is interpolated: 09:00 is half way. */
    assert_close(detect_baseline_rate(&bl, t + 9 * HOUR - 30000, 60000, DETECT_DAILY),
                 (noon + night) / 2, 0.01);
}

static void
test_detect_baseline_weekly_slots_see_the_weekend(void **state)
{
    struct detect_baseline bl;
    int64_t t;

    (void)state;
    detect_baseline_init(&bl);
    /* Four weeks: 4 a minute on weekdays, 1 on Saturday and Sunday. */
    for (t = MONDAY; t < MONDAY + 28 * DAY; t += 60000)
        detect_baseline_add(&bl, t, (t - MONDAY) % (7 * DAY) >= 5 * DAY ? 1 : 4, 1);
    /* t is Monday again: Saturday noon is 5.5 days later. */
    assert_close(detect_baseline_rate(&bl, t + 5 * DAY + 12 * HOUR, 60000, DETECT_WEEKLY), 1, 0.25);
    assert_close(detect_baseline_rate(&bl, t + 2 * DAY + 12 * HOUR, 60000, DETECT_WEEKLY), 4, 0.05);
    /* The daily layer alone mixes them. */
    assert_true(detect_baseline_rate(&bl, t + 5 * DAY + 12 * HOUR, 60000, DETECT_DAILY) > 2.5);
    /*
     * Read in week 5: 4 hours of own data, 60 min x (0.75 + ... + 0.75^4) = 123.05
     * minutes, against a prior worth 15 events at the daily rate (about 3.1 a minute).
     */
    {
        double w, aeff, daily = detect_baseline_rate(&bl, t + 12 * HOUR, HOUR, DETECT_DAILY);

        detect_baseline_slot(&bl, t + 12 * HOUR, DETECT_WEEKLY, &w, &aeff);
        assert_close(w, 123.046875 / (123.046875 + 15 / daily), 1e-9);
        assert_close(aeff, 4 * 123.046875 + 15, 1e-9);
    }
}

static void
test_detect_baseline_forgets_old_weeks(void **state)
{
    struct detect_baseline bl;
    int64_t t;

    (void)state;
    detect_baseline_init(&bl);
    /*
     * Four weeks at 8 a minute, then four at 2: with 0.75 a week the old weeks
     * keep 0.86 of weight against 2.73, so the weekly slot reads about 3.4;
     * the daily layer (0.85 a day) has all but forgotten them.
     */
    for (t = MONDAY; t < MONDAY + 28 * DAY; t += 60000)
        detect_baseline_add(&bl, t, 8, 1);
    for (; t < MONDAY + 56 * DAY; t += 60000)
        detect_baseline_add(&bl, t, 2, 1);
    assert_true(detect_baseline_rate(&bl, t + HOUR, 60000, DETECT_WEEKLY) < 3.6);
    assert_true(detect_baseline_rate(&bl, t + HOUR, 60000, DETECT_WEEKLY) > 3.0);
    assert_close(detect_baseline_rate(&bl, t + HOUR, 60000, DETECT_DAILY), 2, 0.05);
}

/* ---- The state machine on generated Poisson traffic. ---- */

static uint64_t rng = 88172645463325252ULL;

static double
unit(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* A Poisson draw by inversion: deterministic for a given seed. */
static double
poisson(double mu)
{
    double u = unit(), p = exp(-mu), c = p;
    int k = 0;

    while (u > c && k < 10000) {
        k++;
        p *= mu / k;
        c += p;
    }
    return k;
}

struct run {
    int firing, resolved, first_fire_step, first_resolve_step;
    struct detect_event fire, resolve;
};

/*
 * Feed 'days' of one-minute steps at 'rate' a minute, with a daily shape
 * unless 'flat', multiplied by 'factor' during steps [from, to). Counts the
 * events; 'resolve' is the first resolved event.
 */
static void
feed_shaped(struct detect *d, int days, double rate, int from, int to, double factor, int flat,
            struct run *r)
{
    int step;

    memset(r, 0, sizeof(*r));
    r->first_fire_step = r->first_resolve_step = -1;
    rng = 88172645463325252ULL;
    for (step = 0; step < days * 1440; step++) {
        int64_t t = MONDAY + (int64_t)step * 60000;
        double shape = flat ? 1 : 0.55 + 0.45 * sin(2 * 3.14159265358979 * (step % 1440) / 1440.0);
        double x = poisson(rate * shape * (step >= from && step < to ? factor : 1));
        struct detect_event ev;

        detect_step(d, t + 60000, t, x, 1, 0, &ev);
        if (ev.fired > 0) {
            if (r->firing++ == 0)
                r->first_fire_step = step;
            r->fire = ev;
        } else if (ev.fired < 0 && r->resolved++ == 0) {
            r->first_resolve_step = step;
            r->resolve = ev;
        }
    }
}

static void
feed(struct detect *d, int days, double rate, int from, int to, double factor, struct run *r)
{
    feed_shaped(d, days, rate, from, to, factor, 0, r);
}

static void
setup_detect(struct detect *d, enum detect_season season, enum detect_direction dir, int window)
{
    struct detect_config cfg = {.season = season,
                                .direction = dir,
                                .far = 0.1,
                                .min = 10,
                                .step_ms = 60000,
                                .window_steps = window,
                                .for_steps = 1};

    detect_init(d, &cfg);
}

static void
test_detect_silent_during_warmup(void **state)
{
    static struct detect d;
    struct run r;

    (void)state;
    setup_detect(&d, DETECT_DAILY, DETECT_BOTH, 60);
    /* A drop to zero in the first hours: no history, no alarm. */
    feed(&d, 1, 10, 120, 600, 0, &r);
    assert_int_equal(r.firing, 0);
    assert_int_equal(d.phase, DETECT_OK);
}

static void
test_detect_quiet_on_normal_traffic(void **state)
{
    static struct detect d;
    struct run r;

    (void)state;
    setup_detect(&d, DETECT_DAILY, DETECT_BOTH, 60);
    feed(&d, 7, 5, 0, 0, 1, &r);
    assert_int_equal(r.firing, 0);
}

static void
test_detect_drop_to_zero_fires_once_and_resolves(void **state)
{
    static struct detect d;
    struct run r;
    int start = 5 * 1440 + 12 * 60;

    (void)state;
    setup_detect(&d, DETECT_DAILY, DETECT_BOTH, 60);
    /* 10 a minute at the daily peak; from day 5 noon, nothing for an hour. */
    feed(&d, 6, 10, start, start + 60, 0, &r);
    assert_int_equal(r.firing, 1);
    assert_int_equal(r.resolved, 1);
    assert_true(r.first_fire_step >= start && r.first_fire_step <= start + 3);
    assert_int_equal(r.fire.dir, -1);
    assert_true(r.fire.value == 0);
    assert_true(r.fire.expected > 10);
    assert_true(r.fire.score >= 1);
    assert_true(r.fire.lower > 0 && r.fire.upper > r.fire.expected);
    assert_true(r.resolve.since_ms == r.fire.since_ms);
    assert_string_equal(r.resolve.reason, "recovered");
}

static void
test_detect_spike_fires_unless_only_drops_are_watched(void **state)
{
    static struct detect d;
    struct run r;
    int start = 5 * 1440 + 12 * 60;

    (void)state;
    setup_detect(&d, DETECT_DAILY, DETECT_BOTH, 60);
    feed(&d, 6, 2, start, start + 30, 5, &r);
    assert_int_equal(r.firing, 1);
    assert_int_equal(r.fire.dir, 1);
    assert_true(r.first_fire_step < start + 15);
    setup_detect(&d, DETECT_DAILY, DETECT_DROP, 60);
    feed(&d, 6, 2, start, start + 30, 5, &r);
    assert_int_equal(r.firing, 0);
}

static void
test_detect_half_drop_caught_within_the_hour(void **state)
{
    static struct detect d;
    struct run r;
    int start = 5 * 1440 + 10 * 60;

    (void)state;
    setup_detect(&d, DETECT_DAILY, DETECT_BOTH, 60);
    /* About 190 an hour at this time of day, halved for three hours. */
    feed(&d, 6, 4, start, start + 180, 0.5, &r);
    assert_int_equal(r.firing, 1);
    assert_true(r.first_fire_step < start + 60);
    assert_int_equal(r.resolved, 1);
}

/*
 * A drop (to 0, 5 % and 20 % of normal) longer than the window, on every
 * season, on day 2 and day 3 of history and after two weeks: it fires once,
 * and resolves only once the metric is back, within half an hour. While firing nothing is learned,
 * so under season=weekly in the first week every hour of the outage reaches a weekly slot never
 * seen, priced at +-50 %; the drop used to "recover" there at the first hour boundary while the
 * metric was still 0. season=none has no daily shape to learn, so it gets flat traffic.
 */
static void
test_detect_drop_resolves_only_once_back(void **state)
{
    static const enum detect_season seasons[] = {DETECT_NONE, DETECT_DAILY, DETECT_WEEKLY};
    static const int days[] = {1, 2, 15};
    static const double factors[] = {0, 0.05, 0.2};
    static struct detect d;
    struct run r;
    size_t i, j, k;

    (void)state;
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            for (k = 0; k < 3; k++) {
                /* 10:20 to 12:50: two hour boundaries inside the outage. */
                int from = days[j] * 1440 + 10 * 60 + 20, to = from + 150;

                setup_detect(&d, seasons[i], DETECT_DROP, 60);
                feed_shaped(&d, days[j] + 1, 10, from, to, factors[k], seasons[i] == DETECT_NONE,
                            &r);
                if (r.firing != 1 || r.resolved != 1 || r.first_fire_step < from ||
                    r.first_fire_step > from + 10 || r.first_resolve_step < to ||
                    r.first_resolve_step > to + 30 || r.resolve.value < 0.5 * r.resolve.expected)
                    fail_msg("season %d, day %d, factor %g: %d firing (step %d), %d resolved "
                             "(step %d, value %g of %g); the drop is steps %d to %d",
                             (int)seasons[i], days[j] + 1, factors[k], r.firing, r.first_fire_step,
                             r.resolved, r.first_resolve_step, r.resolve.value, r.resolve.expected,
                             from, to);
                assert_string_equal(r.resolve.reason, "recovered");
            }
        }
    }
}

/*
 * Longer than the 12 hours after which learning resumes: the baseline
 * starts to move, but the alert holds while the metric is still 0 and
 * resolves (as relearned) only once events come back.
 */
static void
test_detect_long_drop_holds_while_relearning(void **state)
{
    static const enum detect_season seasons[] = {DETECT_DAILY, DETECT_WEEKLY};
    static struct detect d;
    struct run r;
    size_t i;
    int from = 2 * 1440 + 10 * 60, to = from + 16 * 60;

    (void)state;
    for (i = 0; i < 2; i++) {
        setup_detect(&d, seasons[i], DETECT_DROP, 60);
        feed(&d, 4, 10, from, to, 0, &r);
        if (r.firing != 1 || r.resolved != 1 || r.first_resolve_step < to ||
            r.first_resolve_step > to + 60)
            fail_msg("season %d: %d firing, %d resolved (step %d); the drop is steps %d to %d",
                     (int)seasons[i], r.firing, r.resolved, r.first_resolve_step, from, to);
        assert_string_equal(r.resolve.reason, "relearned");
    }
}

/*
 * A metric gone for good: learning resumes after 12 hours, and the zeros
 * teach the burstiness estimate that anything goes, but that is no recovery.
 * It used to resolve as "relearned" at 0 against 16 expected and fire again
 * the next morning, every day.
 */
static void
test_detect_dead_metric_stays_firing(void **state)
{
    static const enum detect_season seasons[] = {DETECT_DAILY, DETECT_WEEKLY};
    static struct detect d;
    struct run r;
    size_t i;
    int from = 2 * 1440 + 10 * 60;

    (void)state;
    for (i = 0; i < 2; i++) {
        setup_detect(&d, seasons[i], DETECT_DROP, 60);
        feed(&d, 10, 10, from, 10 * 1440, 0, &r);
        if (r.firing != 1 || r.resolved != 0)
            fail_msg("season %d: %d firing, %d resolved (step %d, value %g of %g)", (int)seasons[i],
                     r.firing, r.resolved, r.first_resolve_step, r.resolve.value,
                     r.resolve.expected);
    }
}

/* Feed 'n' steps of 100 +- 5 % noise (5-minute steps), with 'spike' times the value at 'at'. */
static int
feed_values(struct detect *d, int n, int at, double spike, double base, struct detect_event *fire)
{
    int step, fired = 0;

    rng = 88172645463325252ULL;
    for (step = 0; step < n; step++) {
        double y = base * (1 + 0.05 * (2 * unit() - 1)) * (step == at ? spike : 1);
        struct detect_event ev;

        detect_value(d, (int64_t)(step + 1) * 300000, y, 0, &ev);
        if (ev.fired > 0) {
            fired++;
            *fire = ev;
        }
    }
    return fired;
}

static void
setup_values(struct detect *d)
{
    struct detect_config cfg = {.season = DETECT_WEEKLY,
                                .direction = DETECT_BOTH,
                                .far = 0.1,
                                .min = 10,
                                .step_ms = 300000,
                                .window_steps = 1,
                                .for_steps = 1,
                                .continuous = 1,
                                .sum = 1};

    detect_init(d, &cfg);
}

static void
test_detect_values_quiet_on_noise(void **state)
{
    static struct detect d;
    struct detect_event ev;

    (void)state;
    setup_values(&d);
    assert_int_equal(feed_values(&d, 4000, -1, 1, 100, &ev), 0);
}

static void
test_detect_values_point_spike_fires(void **state)
{
    static struct detect d;
    struct detect_event ev;

    (void)state;
    setup_values(&d);
    assert_int_equal(feed_values(&d, 2000, 1500, 3, 100, &ev), 1);
    assert_int_equal(ev.dir, 1);
    assert_true(ev.value > 250);
    assert_true(ev.expected > 90 && ev.expected < 110);
    assert_true(ev.upper < ev.value && ev.lower > 0);
    /* The same spike during warm-up (the first day: 288 steps) is not reported. */
    setup_values(&d);
    assert_int_equal(feed_values(&d, 2000, 100, 3, 100, &ev), 0);
}

static void
test_detect_values_scale_free(void **state)
{
    static struct detect a, b;
    struct detect_event ea, eb;

    (void)state;
    /* The same series in other units fires at the same step with the same score. */
    setup_values(&a);
    setup_values(&b);
    assert_int_equal(feed_values(&a, 2000, 1500, 0.2, 100, &ea), 1);
    assert_int_equal(feed_values(&b, 2000, 1500, 0.2, 0.001, &eb), 1);
    assert_int_equal(ea.dir, -1);
    assert_true(fabs(ea.score - eb.score) < 1e-6);
}

/*
 * Three weeks of traffic with a smooth daily shape in local time (5 to 50 a
 * minute, peak at 15:00) whose clock goes from UTC+1 to UTC+2 on day 14, as
 * at a daylight-saving change. Slots fed local time (UTC plus the offset the
 * lines carry) see no anomaly; slots fed UTC see the shifted hours as drops
 * and spikes, which is what the local slots are for.
 */
static int
dst_firings(int use_local)
{
    static struct detect d;
    int step, firings = 0;

    setup_detect(&d, DETECT_DAILY, DETECT_BOTH, 60);
    rng = 88172645463325252ULL;
    for (step = 0; step < 21 * 1440; step++) {
        int64_t utc = MONDAY + (int64_t)step * 60000, off = step < 14 * 1440 ? HOUR : 2 * HOUR;
        int64_t local = utc + off;
        double h = (double)(local % (24 * HOUR)) / HOUR;
        double shape = 0.1 + 0.9 * 0.5 * (1 - cos(2 * 3.14159265358979 * (h - 3) / 24));
        struct detect_event ev;

        detect_step(&d, utc + 60000, use_local ? local : utc, poisson(50 * shape), 1, 0, &ev);
        if (ev.fired > 0 && step >= 14 * 1440)
            firings++;
    }
    return firings;
}

static void
test_detect_dst_change_is_not_an_anomaly(void **state)
{
    (void)state;
    assert_int_equal(dst_firings(1), 0);
    assert_true(dst_firings(0) > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_poisson_le_closed_form),
        cmocka_unit_test(test_detect_poisson_ge_closed_form),
        cmocka_unit_test(test_detect_gamma_p_and_q_sum_to_one),
        cmocka_unit_test(test_detect_poisson_large_mean_is_normal_like),
        cmocka_unit_test(test_detect_pln_without_spread_is_poisson),
        cmocka_unit_test(test_detect_pln_spread_fattens_both_tails),
        cmocka_unit_test(test_detect_baseline_empty_reads_zero),
        cmocka_unit_test(test_detect_baseline_learns_a_level),
        cmocka_unit_test(test_detect_baseline_learns_a_daily_shape),
        cmocka_unit_test(test_detect_baseline_weekly_slots_see_the_weekend),
        cmocka_unit_test(test_detect_baseline_forgets_old_weeks),
        cmocka_unit_test(test_detect_silent_during_warmup),
        cmocka_unit_test(test_detect_quiet_on_normal_traffic),
        cmocka_unit_test(test_detect_drop_to_zero_fires_once_and_resolves),
        cmocka_unit_test(test_detect_spike_fires_unless_only_drops_are_watched),
        cmocka_unit_test(test_detect_half_drop_caught_within_the_hour),
        cmocka_unit_test(test_detect_drop_resolves_only_once_back),
        cmocka_unit_test(test_detect_long_drop_holds_while_relearning),
        cmocka_unit_test(test_detect_dead_metric_stays_firing),
        cmocka_unit_test(test_detect_values_quiet_on_noise),
        cmocka_unit_test(test_detect_values_point_spike_fires),
        cmocka_unit_test(test_detect_values_scale_free),
        cmocka_unit_test(test_detect_dst_change_is_not_an_anomaly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
