/*
 * test_detect.c -- the detector's building blocks: incomplete gamma and
 * Poisson tails against closed forms, the Poisson-lognormal tail, and the
 * seasonal baseline learning a level, a daily shape and a weekly shape; the
 * detector on generated traffic; the table of learned fields that the state
 * file saves by name, and the check of a loaded detector.
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
 * A daily square wave at 5-minute steps (100, and 300 from 08:00 to 16:00)
 * with 1 % noise, 'days' days; from day 'broken' on the high part stays at
 * 100 (the jump does not come). Returns the firings after the first two days
 * (the seasonal opinions need two days of values) and the step of the first.
 */
static int
feed_wave(struct detect *d, int days, int broken, int *first)
{
    int step, fired = 0;

    rng = 88172645463325252ULL;
    *first = -1;
    for (step = 0; step < days * 288; step++) {
        int slot = step % 288, high = slot >= 96 && slot < 192 && step / 288 < broken;
        double y = (high ? 300 : 100) * (1 + 0.01 * (2 * unit() - 1));
        struct detect_event ev;

        detect_value(d, (int64_t)(step + 1) * 300000, y, 0, &ev);
        if (ev.fired > 0 && step >= 2 * 288) {
            if (fired++ == 0)
                *first = step;
        }
    }
    return fired;
}

static void
test_detect_values_season_vetoes_and_fires(void **state)
{
    static struct detect d;
    int first;

    (void)state;
    /* Every jump of the wave is a one-step surprise, but it came at this time yesterday. */
    setup_values(&d);
    if (feed_wave(&d, 14, 14, &first) != 0)
        fail_msg("clean wave fired at step %d", first);
    /* On day 10 the jump does not come: the seasonal trigger fires once, when 12 steps in a
     * row are far from all of the 5 values around the same time a day earlier. */
    setup_values(&d);
    if (feed_wave(&d, 12, 10, &first) != 1 || first < 10 * 288 + 96 ||
        first > 10 * 288 + 96 + 2 + 12)
        fail_msg("broken wave: first firing at step %d (day %d, slot %d)", first, first / 288,
                 first % 288);
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

/* ---- The learned fields by name, and the check of a loaded detector. ---- */

static size_t
field_size(enum detect_field_type type)
{
    switch (type) {
    case DETECT_F_DOUBLE:
        return sizeof(double);
    case DETECT_F_INT64:
        return sizeof(int64_t);
    case DETECT_F_UINT64:
        return sizeof(uint64_t);
    case DETECT_F_INT:
        return sizeof(int);
    }
    return 0;
}

#if defined(__has_builtin)
#if __has_builtin(__builtin_clear_padding)
#define HAVE_CLEAR_PADDING 1
#endif
#endif

#ifdef HAVE_CLEAR_PADDING
/* The nesting of struct detect in small: an array of structs inside a struct, then a hole. */
struct probe {
    int k;
    struct {
        struct detect_slot s[3];
        struct detect_slot g;
    } in;
    double x[9];
    int i;
    int64_t j;
};

/*
 * Whether __builtin_clear_padding finds the padding of 'struct probe' where
 * offsetof says it is. GCC 12 does not: after an array of structs inside a
 * struct it clears bytes one array too early (members' bytes, in struct
 * detect), so there it cannot be asked.
 */
static int
clear_padding_works(void)
{
    static struct probe p;
    const unsigned char *b = (const unsigned char *)&p;
    size_t hole = offsetof(struct probe, i) + sizeof(int), i;

    memset(&p, 0xff, sizeof(p));
    __builtin_clear_padding(&p);
    for (i = 0; i < sizeof(p); i++)
        if ((b[i] == 0) != ((i >= sizeof(int) && i < 8) || (i >= hole && i < hole + 4)))
            return 0;
    return 1;
}
#endif

/*
 * Mark in 'is_member' the bytes of struct detect that belong to a member, as
 * opposed to padding, and return 1; return 0 where the compiler cannot say.
 * It is asked, not guessed: every byte is set, then __builtin_clear_padding
 * zeroes exactly the padding, so the bytes still set are the members'.
 */
static int
member_bytes(unsigned char *is_member)
{
#ifdef HAVE_CLEAR_PADDING
    static struct detect d;
    const unsigned char *b = (const unsigned char *)&d;
    size_t i;

    if (!clear_padding_works())
        return 0;
    memset(&d, 0xff, sizeof(d));
    __builtin_clear_padding(&d);
    for (i = 0; i < sizeof(d); i++)
        is_member[i] = b[i] != 0;
    return 1;
#else
    (void)is_member;
    return 0;
#endif
}

/*
 * The rows of detect_fields cover every byte of struct detect but cfg and
 * padding, each byte once. A byte map of the struct is marked row by row
 * (an overlap, a row past the end or into cfg fails at once), then
 * compared with the member bytes the compiler reports; a member added
 * without a row shows up as bytes no row covers, wherever it lands.
 *
 * Where the compiler cannot report them (clang 14, GCC 12: see
 * clear_padding_works) the test falls back on what padding can look like
 * in this struct, whose members are 4 and 8 bytes: every gap the rows leave
 * outside cfg must be shorter than 8 bytes and end on an 8-byte boundary
 * (the hole before an 8-byte member, or the tail). That still catches any
 * new 8-byte member and any 4-byte member that does not land in one of the
 * existing 4-byte holes after an int; the exact check catches those too.
 */
static void
test_detect_fields_cover_every_learned_byte(void **state)
{
    static unsigned char covered[sizeof(struct detect)], member[sizeof(struct detect)];
    size_t cfg_at = offsetof(struct detect, cfg);
    size_t cfg_end = cfg_at + sizeof(((struct detect *)0)->cfg);
    size_t i, j, k, size, at, gap = 0;

    (void)state;
    memset(covered, 0, sizeof(covered));
    for (i = 0; i < detect_nfields; i++) {
        const struct detect_field *f = &detect_fields[i];

        size = field_size(f->type);
        if (size == 0 || f->count < 1 || f->stride < size)
            fail_msg("%s: type %d, count %zu, stride %zu", f->name, (int)f->type, f->count,
                     f->stride);
        for (j = 0; j < f->count; j++) {
            at = f->offset + j * f->stride;
            if (at + size > sizeof(struct detect))
                fail_msg("%s[%zu] ends past struct detect", f->name, j);
            if (at < cfg_end && at + size > cfg_at)
                fail_msg("%s[%zu] is inside cfg", f->name, j);
            for (k = at; k < at + size; k++) {
                if (covered[k])
                    fail_msg("%s[%zu] overlaps another field at byte %zu", f->name, j, k);
                covered[k] = 1;
            }
        }
    }
    if (member_bytes(member)) {
        for (k = 0; k < sizeof(struct detect); k++)
            if ((k < cfg_at || k >= cfg_end) && covered[k] != member[k])
                fail_msg("byte %zu of struct detect: %s", k,
                         member[k] ? "a member no field names" : "padding named as a field");
        return;
    }
    for (k = 0; k <= sizeof(struct detect); k++) {
        if (k < sizeof(struct detect) && (k >= cfg_at && k < cfg_end))
            continue;
        if (k < sizeof(struct detect) && !covered[k]) {
            gap++;
            continue;
        }
        if (gap > 0 && (gap >= _Alignof(struct detect) || k % _Alignof(struct detect) != 0))
            fail_msg("%zu bytes before byte %zu are named by no field", gap, k);
        gap = 0;
    }
}

/*
 * The saved names: unique, member paths in lower case, and the same set as
 * ever. A saved file finds its fields by these names, so the list below
 * changes only by additions: a renamed field would be lost on load.
 */
static const struct {
    const char *name;
    enum detect_field_type type;
    size_t count;
} saved_names[] = {
    {"bl.week.a", DETECT_F_DOUBLE, DETECT_WEEK_SLOTS},
    {"bl.week.b", DETECT_F_DOUBLE, DETECT_WEEK_SLOTS},
    {"bl.week.period", DETECT_F_INT64, DETECT_WEEK_SLOTS},
    {"bl.day.a", DETECT_F_DOUBLE, DETECT_DAY_SLOTS},
    {"bl.day.b", DETECT_F_DOUBLE, DETECT_DAY_SLOTS},
    {"bl.day.period", DETECT_F_INT64, DETECT_DAY_SLOTS},
    {"bl.global.a", DETECT_F_DOUBLE, 1},
    {"bl.global.b", DETECT_F_DOUBLE, 1},
    {"bl.global.period", DETECT_F_INT64, 1},
    {"dow_a", DETECT_F_DOUBLE, 7},
    {"dow_b", DETECT_F_DOUBLE, 7},
    {"dow_period", DETECT_F_INT64, 7},
    {"sxx", DETECT_F_DOUBLE, DETECT_SCALES},
    {"smu", DETECT_F_DOUBLE, DETECT_SCALES},
    {"tau2", DETECT_F_DOUBLE, 1},
    {"hour_x", DETECT_F_DOUBLE, 1},
    {"hour_m", DETECT_F_DOUBLE, 1},
    {"hour_aeff", DETECT_F_DOUBLE, 1},
    {"hour", DETECT_F_INT64, 1},
    {"hour_fired", DETECT_F_INT, 1},
    {"n", DETECT_F_UINT64, 1},
    {"cx", DETECT_F_DOUBLE, DETECT_RING + 1},
    {"cm", DETECT_F_DOUBLE, DETECT_RING + 1},
    {"phase", DETECT_F_INT, 1},
    {"pending", DETECT_F_INT, 1},
    {"dir", DETECT_F_INT, 1},
    {"clear_count", DETECT_F_INT, 1},
    {"effect", DETECT_F_DOUBLE, 1},
    {"since_ms", DETECT_F_INT64, 1},
    {"frozen_since_ms", DETECT_F_INT64, 1},
    {"rebound_until_ms", DETECT_F_INT64, 1},
    {"usable_from", DETECT_F_UINT64, 1},
    {"holdoff_until", DETECT_F_UINT64, 1},
    {"relearning", DETECT_F_INT, 1},
    {"cont.log.level", DETECT_F_DOUBLE, 1},
    {"cont.log.slow", DETECT_F_DOUBLE, 1},
    {"cont.log.mad", DETECT_F_DOUBLE, 1},
    {"cont.log.hi", DETECT_F_DOUBLE, 1},
    {"cont.log.lo", DETECT_F_DOUBLE, 1},
    {"cont.log.rate", DETECT_F_DOUBLE, 2},
    {"cont.log.m1", DETECT_F_DOUBLE, 2},
    {"cont.log.m2", DETECT_F_DOUBLE, 2},
    {"cont.log.n_mad", DETECT_F_DOUBLE, 1},
    {"cont.log.started", DETECT_F_INT, 1},
    {"cont.id.level", DETECT_F_DOUBLE, 1},
    {"cont.id.slow", DETECT_F_DOUBLE, 1},
    {"cont.id.mad", DETECT_F_DOUBLE, 1},
    {"cont.id.hi", DETECT_F_DOUBLE, 1},
    {"cont.id.lo", DETECT_F_DOUBLE, 1},
    {"cont.id.rate", DETECT_F_DOUBLE, 2},
    {"cont.id.m1", DETECT_F_DOUBLE, 2},
    {"cont.id.m2", DETECT_F_DOUBLE, 2},
    {"cont.id.n_mad", DETECT_F_DOUBLE, 1},
    {"cont.id.started", DETECT_F_INT, 1},
    {"cont.use_log", DETECT_F_INT, 1},
    {"cont.fire_rate", DETECT_F_DOUBLE, 1},
    {"cont.seen", DETECT_F_UINT64, 1},
    {"cont.past", DETECT_F_DOUBLE, 2048},
    {"cont.past_n", DETECT_F_UINT64, 1},
    {"cont.sea_mad", DETECT_F_DOUBLE, 2},
    {"cont.sea_run", DETECT_F_INT, 1},
};

/* The row named 'name', or detect_nfields. */
static size_t
find_field(const char *name)
{
    size_t i;

    for (i = 0; i < detect_nfields; i++)
        if (strcmp(detect_fields[i].name, name) == 0)
            break;
    return i;
}

static void
test_detect_field_names_are_unique_and_stable(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < detect_nfields; i++) {
        const char *name = detect_fields[i].name;

        if (name == NULL || name[0] == '\0' ||
            strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.") != strlen(name) ||
            name[0] == '.' || name[strlen(name) - 1] == '.' || strstr(name, "..") != NULL)
            fail_msg("field %zu: bad name '%s'", i, name ? name : "(null)");
        for (j = 0; j < i; j++)
            if (strcmp(detect_fields[j].name, name) == 0)
                fail_msg("field name '%s' twice", name);
    }
    assert_int_equal(detect_nfields, sizeof(saved_names) / sizeof(saved_names[0]));
    for (i = 0; i < sizeof(saved_names) / sizeof(saved_names[0]); i++) {
        if ((j = find_field(saved_names[i].name)) == detect_nfields)
            fail_msg("field '%s' is gone", saved_names[i].name);
        if (detect_fields[j].type != saved_names[i].type ||
            detect_fields[j].count != saved_names[i].count)
            fail_msg("field '%s': type %d count %zu, want %d and %zu", saved_names[i].name,
                     (int)detect_fields[j].type, detect_fields[j].count, (int)saved_names[i].type,
                     saved_names[i].count);
    }
}

/* Copy every field of the table, element by element, as a save and a load would. */
static void
copy_fields(struct detect *to, const struct detect *from)
{
    size_t i, j, at;

    for (i = 0; i < detect_nfields; i++)
        for (j = 0; j < detect_fields[i].count; j++) {
            at = detect_fields[i].offset + j * detect_fields[i].stride;
            memcpy((char *)to + at, (const char *)from + at, field_size(detect_fields[i].type));
        }
}

static int
same_fields(const struct detect *a, const struct detect *b)
{
    size_t i, j, at;

    for (i = 0; i < detect_nfields; i++)
        for (j = 0; j < detect_fields[i].count; j++) {
            at = detect_fields[i].offset + j * detect_fields[i].stride;
            if (memcmp((const char *)a + at, (const char *)b + at,
                       field_size(detect_fields[i].type)) != 0)
                return 0;
        }
    return 1;
}

static void
assert_same_event(const struct detect_event *a, const struct detect_event *b, int step)
{
    if (a->fired != b->fired || a->window_ms != b->window_ms || a->dir != b->dir ||
        a->since_ms != b->since_ms || memcmp(&a->value, &b->value, sizeof(a->value)) != 0 ||
        memcmp(&a->expected, &b->expected, sizeof(a->expected)) != 0 ||
        memcmp(&a->lower, &b->lower, sizeof(a->lower)) != 0 ||
        memcmp(&a->upper, &b->upper, sizeof(a->upper)) != 0 ||
        memcmp(&a->score, &b->score, sizeof(a->score)) != 0 ||
        memcmp(&a->p, &b->p, sizeof(a->p)) != 0 || (a->reason == NULL) != (b->reason == NULL) ||
        (a->reason != NULL && strcmp(a->reason, b->reason) != 0))
        fail_msg("step %d: the carried-over detector's event differs: fired %d value %.17g "
                 "score %.17g, the original's %d %.17g %.17g",
                 step, b->fired, b->value, b->score, a->fired, a->value, a->score);
}

/* Step 'step' of a one-minute series: a count step, or a value on the continuous path. */
static void
drive(struct detect *d, int step, double x, struct detect_event *ev)
{
    int64_t t = MONDAY + (int64_t)step * 60000;

    if (d->cfg.continuous)
        detect_value(d, t + 60000, x, 0, ev);
    else
        detect_step(d, t + 60000, t, x, 1, 0, ev);
}

/* Counts at 10 a minute with a daily shape, nothing for an hour from day 5 noon; or
 * (values) 100 +- 5 % with a spike at step 1500. */
static double
traffic(int continuous, int step)
{
    int start = 5 * 1440 + 12 * 60;
    double shape = 0.55 + 0.45 * sin(2 * 3.14159265358979 * (step % 1440) / 1440.0);

    if (continuous)
        return 100 * (1 + 0.05 * (2 * unit() - 1)) * (step == 1500 ? 3 : 1);
    return poisson(10 * shape * (step >= start && step < start + 60 ? 0 : 1));
}

/*
 * Run 'a' to step 'split', carry its fields alone into 'b' (a fresh
 * detector whose every learned byte was garbage), then feed both to 'end':
 * they must decide the same at every step and end with the same fields.
 * Returns the events after the split.
 */
static int
carry_over(struct detect *a, struct detect *b, int split, int end)
{
    struct detect_config cfg = a->cfg;
    struct detect_event ea, eb;
    int step, events = 0;
    double x;

    rng = 88172645463325252ULL;
    for (step = 0; step < split; step++)
        drive(a, step, traffic(a->cfg.continuous, step), &ea);
    detect_init(b, &cfg);
    memset(b, 0xa5, sizeof(*b));
    b->cfg = a->cfg;
    copy_fields(b, a);
    assert_int_equal(detect_check(b), 0);
    for (step = split; step < end; step++) {
        x = traffic(a->cfg.continuous, step);
        drive(a, step, x, &ea);
        drive(b, step, x, &eb);
        assert_same_event(&ea, &eb, step);
        events += ea.fired != 0;
    }
    assert_true(same_fields(a, b));
    return events;
}

/* A detector carried over by its fields alone, mid-firing, goes on exactly as the original. */
static void
test_detect_fields_carry_a_detector(void **state)
{
    static struct detect a, b;
    int start = 5 * 1440 + 12 * 60;

    (void)state;
    setup_detect(&a, DETECT_DAILY, DETECT_BOTH, 60);
    /* Split in the middle of the outage: firing, frozen, with a rebound ahead. */
    assert_true(carry_over(&a, &b, start + 30, 7 * 1440) >= 1);
    assert_int_equal(a.phase, DETECT_OK);
    setup_values(&a);
    assert_true(carry_over(&a, &b, 1400, 2000) >= 1);
}

/* What the detector leaves, from the start through warm-up, firing and resolving, passes. */
static void
test_detect_check_accepts_what_the_detector_leaves(void **state)
{
    static struct detect d;
    struct detect_event ev;
    int step, firing = 0;

    (void)state;
    setup_detect(&d, DETECT_WEEKLY, DETECT_BOTH, 60);
    assert_int_equal(detect_check(&d), 0);
    rng = 88172645463325252ULL;
    for (step = 0; step < 7 * 1440; step++) {
        drive(&d, step, traffic(0, step), &ev);
        firing |= d.phase == DETECT_FIRING;
        if (step % 97 == 0 || d.phase == DETECT_FIRING)
            assert_int_equal(detect_check(&d), 0);
    }
    assert_true(firing);
    setup_values(&d);
    for (step = 0; step < 2000; step++) {
        drive(&d, step, traffic(1, step), &ev);
        assert_int_equal(detect_check(&d), 0);
    }
}

/* One kind of damage a loaded detector may carry; 'k' from 0 while it returns 1. */
static int
damage(struct detect *d, int k)
{
    int bad;

    switch (k) {
    case 0:
        bad = 3;
        memcpy(&d->phase, &bad, sizeof(bad));
        return 1;
    case 1:
        bad = -1;
        memcpy(&d->phase, &bad, sizeof(bad));
        return 1;
    case 2:
        d->dir = 2;
        return 1;
    case 3:
        d->pending = -1;
        return 1;
    case 4:
        d->clear_count = -3;
        return 1;
    case 5:
        d->relearning = 2;
        return 1;
    case 6:
        d->tau2 = NAN;
        return 1;
    case 7:
        d->cx[17] = INFINITY;
        return 1;
    case 8:
        d->bl.week[100].b = -1;
        return 1;
    case 9:
        d->bl.global.a = -0.5;
        return 1;
    case 10:
        d->dow_a[3] = -1;
        return 1;
    case 11:
        d->smu[11] = -2;
        return 1;
    case 12:
        d->cont.id.mad = -1;
        return 1;
    case 13:
        d->cont.log.rate[1] = NAN;
        return 1;
    case 14:
        d->cont.use_log = 7;
        return 1;
    case 15:
        d->cont.id.started = -1;
        return 1;
    case 16:
        d->hour_fired = 9;
        return 1;
    case 17:
        d->cont.fire_rate = -1e-9;
        return 1;
    }
    return 0;
}

static void
test_detect_check_refuses_damage(void **state)
{
    static struct detect good, d;
    struct detect_event ev;
    int step, k;

    (void)state;
    setup_detect(&good, DETECT_DAILY, DETECT_BOTH, 60);
    rng = 88172645463325252ULL;
    for (step = 0; step < 2 * 1440; step++)
        drive(&good, step, traffic(0, step), &ev);
    assert_int_equal(detect_check(&good), 0);
    for (k = 0;; k++) {
        d = good;
        if (!damage(&d, k))
            break;
        if (detect_check(&d) != -1)
            fail_msg("damage %d was accepted", k);
    }
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
        cmocka_unit_test(test_detect_values_season_vetoes_and_fires),
        cmocka_unit_test(test_detect_dst_change_is_not_an_anomaly),
        cmocka_unit_test(test_detect_fields_cover_every_learned_byte),
        cmocka_unit_test(test_detect_field_names_are_unique_and_stable),
        cmocka_unit_test(test_detect_fields_carry_a_detector),
        cmocka_unit_test(test_detect_check_accepts_what_the_detector_leaves),
        cmocka_unit_test(test_detect_check_refuses_damage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
