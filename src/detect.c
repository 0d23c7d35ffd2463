/*
 * detect.c -- the anomaly detector's building blocks, the "detector" stage
 * after window: exact count tails and a seasonal baseline that learns online.
 *
 * Tails: the regularized incomplete gamma functions P and Q (series below
 * a+1, Lentz continued fraction above), so Poisson CDFs are exact for 0
 * events and for millions; the Poisson-lognormal tail mixes them over a
 * 49-node trapezoid in the log-rate (ANOMALY.md 4.4, 4.17).
 *
 * Baseline: discounted events and exposure per slot (global, hour of day,
 * hour of week in local time), each layer shrunk to its parent with a prior
 * of N0 exposure-minutes, read between hour slots by linear interpolation
 * (ANOMALY.md 4.2). Discounting is lazy: a slot remembers the period of its
 * last update and is scaled by delta^(periods since) when next touched or read.
 * No randomness, fixed iteration caps: the same input gives the same doubles.
 */
#include "rarr/detect.h"

#include <math.h>
#include <string.h>

#define EPS 1e-15
#define TINY 1e-300
#define MAX_ITER 100000
#define N0 15.0 /* prior strength, in exposure-minutes */
#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)
#define WEEK_MS (7 * DAY_MS)
#define DELTA_WEEK 0.75   /* per week: about 4 weeks of memory */
#define DELTA_DAY 0.85    /* per day: about a week */
#define DELTA_GLOBAL 0.97 /* per hour: about 33 hours */

static double
gamma_prefix(double a, double x)
{
    return exp(-x + a * log(x) - lgamma(a));
}

/* P(a, x) by its series; valid (and fast) for x < a + 1. */
static double
series_p(double a, double x)
{
    double ap = a, del = 1.0 / a, sum = del;
    int i;

    for (i = 0; i < MAX_ITER; i++) {
        ap += 1;
        del *= x / ap;
        sum += del;
        if (fabs(del) < fabs(sum) * EPS)
            break;
    }
    return sum * gamma_prefix(a, x);
}

/* Q(a, x) by Lentz's continued fraction; valid for x >= a + 1. */
static double
fraction_q(double a, double x)
{
    double b = x + 1 - a, c = 1 / TINY, d = 1 / b, h = d, an, del;
    int i;

    for (i = 1; i < MAX_ITER; i++) {
        an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < TINY)
            d = TINY;
        c = b + an / c;
        if (fabs(c) < TINY)
            c = TINY;
        d = 1 / d;
        del = d * c;
        h *= del;
        if (fabs(del - 1) < EPS)
            break;
    }
    return gamma_prefix(a, x) * h;
}

/* The regularized lower incomplete gamma P(a, x), a > 0, x >= 0. */
double
detect_gamma_p(double a, double x)
{
    if (x <= 0)
        return 0;
    if (x < a + 1)
        return series_p(a, x);
    return 1 - fraction_q(a, x);
}

/* The regularized upper incomplete gamma Q(a, x) = 1 - P(a, x). */
double
detect_gamma_q(double a, double x)
{
    if (x <= 0)
        return 1;
    if (x < a + 1)
        return 1 - series_p(a, x);
    return fraction_q(a, x);
}

/* P(X <= k) for X ~ Poisson(mu); k is floored, k < 0 gives 0. */
double
detect_poisson_le(double k, double mu)
{
    k = floor(k);
    if (k < 0)
        return 0;
    if (mu <= 0)
        return 1;
    return detect_gamma_q(k + 1, mu);
}

/* P(X >= k) for X ~ Poisson(mu); k is raised to an integer, k <= 0 gives 1. */
double
detect_poisson_ge(double k, double mu)
{
    k = ceil(k);
    if (k <= 0)
        return 1;
    if (mu <= 0)
        return 0;
    return detect_gamma_p(k, mu);
}

/*
 * The tail of a Poisson-lognormal count at 'x': X ~ Poisson(m * e^(sZ - s2/2))
 * with Z standard normal and s = sqrt(s2). 'lower' gives P(X <= x), else
 * P(X >= x). With s2 = 0 it is the plain Poisson tail.
 */
double
detect_pln_tail(double x, double m, double s2, int lower)
{
    static double w[49];
    static int ready;
    double s = sqrt(s2 > 0 ? s2 : 0), sum = 0;
    int i;

    if (s == 0)
        return lower ? detect_poisson_le(x, m) : detect_poisson_ge(x, m);
    if (!ready) {
        double total = 0;

        for (i = 0; i < 49; i++) {
            double u = -6 + 0.25 * i;

            w[i] = exp(-u * u / 2);
            total += w[i];
        }
        for (i = 0; i < 49; i++)
            w[i] /= total;
        ready = 1;
    }
    for (i = 0; i < 49; i++) {
        double mu = m * exp(s * (-6 + 0.25 * i) - s * s / 2);

        sum += w[i] * (lower ? detect_poisson_le(x, mu) : detect_poisson_ge(x, mu));
    }
    return sum > 1 ? 1 : sum;
}

static int64_t
floor_div(int64_t t, int64_t d)
{
    return t / d - (t % d != 0 && t < 0);
}

/* Start with no history: every rate reads 0 until something is added. */
void
detect_baseline_init(struct detect_baseline *bl)
{
    memset(bl, 0, sizeof(*bl));
}

/* The slot's statistics discounted to 'period'. */
static void
slot_read(const struct detect_slot *s, int64_t period, double delta, double *a, double *b)
{
    double f = period > s->period ? pow(delta, (double)(period - s->period)) : 1;

    *a = s->a * f;
    *b = s->b * f;
}

static void
slot_add(struct detect_slot *s, int64_t period, double delta, double x, double e)
{
    slot_read(s, period, delta, &s->a, &s->b);
    if (period > s->period)
        s->period = period;
    s->a += x;
    s->b += e;
}

static int
week_slot(int64_t local_ms)
{
    /* 1970-01-01 was a Thursday: shift so that slot 0 is Monday 00:00. */
    int64_t k = floor_div(local_ms + 3 * DAY_MS, HOUR_MS) % DETECT_WEEK_SLOTS;

    return (int)(k < 0 ? k + DETECT_WEEK_SLOTS : k);
}

static int
day_slot(int64_t local_ms)
{
    int64_t h = floor_div(local_ms, HOUR_MS) % DETECT_DAY_SLOTS;

    return (int)(h < 0 ? h + DETECT_DAY_SLOTS : h);
}

/*
 * Learn 'x' events over 'e' exposure-minutes observed at local time
 * 'local_ms' (the step's start in local wall-clock time) in every layer.
 */
void
detect_baseline_add(struct detect_baseline *bl, int64_t local_ms, double x, double e)
{
    int64_t shifted = local_ms + 3 * DAY_MS;

    slot_add(&bl->week[week_slot(local_ms)], floor_div(shifted, WEEK_MS), DELTA_WEEK, x, e);
    slot_add(&bl->day[day_slot(local_ms)], floor_div(local_ms, DAY_MS), DELTA_DAY, x, e);
    slot_add(&bl->global, floor_div(local_ms, HOUR_MS), DELTA_GLOBAL, x, e);
}

/* The posterior-mean rate (events per exposure-minute) of one hour slot. */
static double
slot_rate(const struct detect_baseline *bl, int64_t local_ms, enum detect_season season)
{
    double ag, bg, ad, bd, aw, bw, lg, lh;

    slot_read(&bl->global, floor_div(local_ms, HOUR_MS), DELTA_GLOBAL, &ag, &bg);
    lg = bg > 0 ? ag / bg : 0;
    if (season == DETECT_NONE)
        return lg;
    slot_read(&bl->day[day_slot(local_ms)], floor_div(local_ms, DAY_MS), DELTA_DAY, &ad, &bd);
    lh = (ad + N0 * lg) / (bd + N0);
    if (season == DETECT_DAILY)
        return lh;
    slot_read(&bl->week[week_slot(local_ms)], floor_div(local_ms + 3 * DAY_MS, WEEK_MS), DELTA_WEEK,
              &aw, &bw);
    return (aw + N0 * lh) / (bw + N0);
}

/*
 * The expected rate (events per exposure-minute) for a step starting at
 * local time 'local_ms' and 'span_ms' long: the slot rates interpolated
 * linearly by the step's midpoint between hour centres, so a steep morning
 * ramp is not a staircase.
 */
double
detect_baseline_rate(const struct detect_baseline *bl, int64_t local_ms, int64_t span_ms,
                     enum detect_season season)
{
    int64_t mid = local_ms + span_ms / 2, hour = floor_div(mid, HOUR_MS) * HOUR_MS;
    double pos = (double)(mid - hour) / (double)HOUR_MS, a = fabs(pos - 0.5);
    int64_t other = pos >= 0.5 ? hour + HOUR_MS : hour - HOUR_MS;

    if (season == DETECT_NONE)
        return slot_rate(bl, mid, season);
    return (1 - a) * slot_rate(bl, hour, season) + a * slot_rate(bl, other, season);
}

/*
 * How much of the slot's rate comes from its own data, B / (B + N0), for
 * the layer 'season' reads (1 for season=none once anything was seen).
 */
double
detect_baseline_weight(const struct detect_baseline *bl, int64_t local_ms,
                       enum detect_season season)
{
    double a, b;

    if (season == DETECT_NONE) {
        slot_read(&bl->global, floor_div(local_ms, HOUR_MS), DELTA_GLOBAL, &a, &b);
        return b > 0;
    }
    if (season == DETECT_DAILY)
        slot_read(&bl->day[day_slot(local_ms)], floor_div(local_ms, DAY_MS), DELTA_DAY, &a, &b);
    else
        slot_read(&bl->week[week_slot(local_ms)], floor_div(local_ms + 3 * DAY_MS, WEEK_MS),
                  DELTA_WEEK, &a, &b);
    return b / (b + N0);
}
