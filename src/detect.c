/*
 * detect.c -- the anomaly detector, the "detector" stage after window: one
 * struct detect per anomaly rule, fed every closed step (README, "Anomaly
 * detection"; the design is in docs/anomaly.md). Two paths: counts (and sums
 * over windows longer than a step) go through a seasonal baseline, a
 * multi-window scan and exact count tails; a sum watched over one step goes
 * through the continuous path (a one-step level and tails learned from the
 * series' own residuals). Last, the table of learned fields by name that the
 * state file saves, and the check of a loaded detector.
 *
 * Tails: the regularized incomplete gamma functions P and Q (series below
 * a+1, Lentz continued fraction above), so Poisson CDFs are exact for 0
 * events and for millions; the Poisson-lognormal tail mixes them over a
 * 49-node trapezoid in the log-rate.
 *
 * Baseline: discounted events and exposure per slot (global, hour of day,
 * hour of week in local time), each layer shrunk to its parent with a prior
 * worth K_EVENTS events, read between hour slots by linear interpolation.
 * Discounting is lazy: a slot remembers the period of its last update and is
 * scaled by delta^(periods since) when next touched or read.
 *
 * No randomness, fixed iteration caps: the same input gives the same doubles.
 */
#include "rarr/detect.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "rarr/clock.h"

#define EPS 1e-15
#define TINY 1e-300
#define MAX_ITER 100000
#define N0 15.0           /* prior exposure-minutes where the parent has no rate yet */
#define K_EVENTS 15.0     /* prior strength of a parent's rate, in events */
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
    int64_t k = floor_div(local_ms + 3 * CLOCK_DAY_MS, CLOCK_HOUR_MS) % DETECT_WEEK_SLOTS;

    return (int)(k < 0 ? k + DETECT_WEEK_SLOTS : k);
}

static int
day_slot(int64_t local_ms)
{
    int64_t h = floor_div(local_ms, CLOCK_HOUR_MS) % DETECT_DAY_SLOTS;

    return (int)(h < 0 ? h + DETECT_DAY_SLOTS : h);
}

/*
 * Learn 'x' events over 'e' exposure-minutes observed at local time
 * 'local_ms' (the step's start in local wall-clock time) in every layer.
 */
void
detect_baseline_add(struct detect_baseline *bl, int64_t local_ms, double x, double e)
{
    int64_t shifted = local_ms + 3 * CLOCK_DAY_MS;

    slot_add(&bl->week[week_slot(local_ms)], floor_div(shifted, CLOCK_WEEK_MS), DELTA_WEEK, x, e);
    slot_add(&bl->day[day_slot(local_ms)], floor_div(local_ms, CLOCK_DAY_MS), DELTA_DAY, x, e);
    slot_add(&bl->global, floor_div(local_ms, CLOCK_HOUR_MS), DELTA_GLOBAL, x, e);
}

/*
 * Shrink a slot's own rate a/b towards its parent's rate with a prior worth
 * K events: (a + K) / (b + K / parent). A prior in events, not in minutes,
 * keeps a deep night trough from being pulled up to the day's average (with
 * 15 prior minutes at a 12:1 day/night ratio the night read 2x high), and
 * still shrinks hard where events are rare. '*w' is the own-data weight.
 */
static double
shrink(double a, double b, double parent, double *w)
{
    double prior = parent > 0 ? K_EVENTS / parent : N0;

    *w = b / (b + prior);
    return (a + (parent > 0 ? K_EVENTS : 0)) / (b + prior);
}

/* The posterior-mean rate of one hour slot; '*w' and '*aeff' describe its estimate. */
static double
slot_rate(const struct detect_baseline *bl, int64_t local_ms, enum detect_season season, double *w,
          double *aeff)
{
    double ag, bg, ad, bd, aw, bw, lg, lh;

    slot_read(&bl->global, floor_div(local_ms, CLOCK_HOUR_MS), DELTA_GLOBAL, &ag, &bg);
    lg = bg > 0 ? ag / bg : 0;
    *w = bg > 0;
    *aeff = ag;
    if (season == DETECT_NONE)
        return lg;
    slot_read(&bl->day[day_slot(local_ms)], floor_div(local_ms, CLOCK_DAY_MS), DELTA_DAY, &ad, &bd);
    lh = shrink(ad, bd, lg, w);
    *aeff = ad + K_EVENTS;
    if (season == DETECT_DAILY)
        return lh;
    slot_read(&bl->week[week_slot(local_ms)], floor_div(local_ms + 3 * CLOCK_DAY_MS, CLOCK_WEEK_MS),
              DELTA_WEEK, &aw, &bw);
    *aeff = aw + K_EVENTS;
    return shrink(aw, bw, lh, w);
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
    int64_t mid = local_ms + span_ms / 2, hour = floor_div(mid, CLOCK_HOUR_MS) * CLOCK_HOUR_MS;
    double pos = (double)(mid - hour) / (double)CLOCK_HOUR_MS, a = fabs(pos - 0.5), w, aeff;
    int64_t other = pos >= 0.5 ? hour + CLOCK_HOUR_MS : hour - CLOCK_HOUR_MS;

    if (season == DETECT_NONE)
        return slot_rate(bl, mid, season, &w, &aeff);
    return (1 - a) * slot_rate(bl, hour, season, &w, &aeff) +
           a * slot_rate(bl, other, season, &w, &aeff);
}

/*
 * How much of the rate read at 'local_ms' comes from the slot's own data
 * (0 for a slot never seen), and its effective number of events: the
 * estimate's relative variance is phi / aeff.
 */
void
detect_baseline_slot(const struct detect_baseline *bl, int64_t local_ms, enum detect_season season,
                     double *w, double *aeff)
{
    (void)slot_rate(bl, local_ms, season, w, aeff);
}

/* ---- The detector: scan, score, state machine, learning. ---- */

#define Z_SCREEN 2.5   /* below this |z| no window can be significant */
#define MIN_CHANGE 0.2 /* effect gate: |X/M - 1| */
#define FREEZE_P 1e-3  /* no learning from steps this surprising */
#define RELEARN_MS (12 * CLOCK_HOUR_MS)
#define CLEAR_STEPS 10   /* recovered steps in a row to resolve */
#define RECOVER_P 0.0228 /* back: the firing side's tail above that of 2 deviations */
#define HOLDOFF_STEPS 24 /* no new firing this soon after one */
#define TAU2_INIT 0.01
#define TAU2_FLOOR 0.0025
#define UNSEEN_TAU2 0.25 /* a slot never seen may differ by +-50 % */
#define DOW_PRIOR 30.0

/* Set up a rule's detector with no history; it stays in warm-up for a day. */
void
detect_init(struct detect *d, const struct detect_config *cfg)
{
    int i;

    memset(d, 0, sizeof(*d));
    d->cfg = *cfg;
    if (d->cfg.window_steps < 1)
        d->cfg.window_steps = 1;
    if (d->cfg.window_steps > DETECT_RING)
        d->cfg.window_steps = DETECT_RING;
    if (d->cfg.for_steps < 1)
        d->cfg.for_steps = 1;
    for (i = 0; i < DETECT_SCALES; i++) {
        d->sxx[i] = 2 * 30;
        d->smu[i] = 30;
    }
    d->tau2 = TAU2_INIT;
    d->hour = INT64_MIN;
    d->phase = DETECT_WARMUP;
}

/*
 * Burstiness for a window of 'w' steps: variance over mean of block sums
 * around the prediction, learned for blocks of 1, 2, 4, ... steps; a window
 * takes the largest of the scales up to its length. Sessions and lulls make
 * counts over 8 minutes vary more than 8 one-minute counts would suggest.
 */
double
detect_phi(const struct detect *d, int w)
{
    double phi = d->cfg.sum ? 1e-9 : 1, f;
    int i;

    for (i = 0; i < DETECT_SCALES && (1 << i) <= w; i++) {
        f = d->smu[i] > 0 ? d->sxx[i] / d->smu[i] : 1;
        if (f > phi)
            phi = f;
    }
    return phi;
}

static double
steps_per_week(const struct detect *d)
{
    return (double)CLOCK_WEEK_MS / (double)d->cfg.step_ms;
}

static int
weekday(int64_t local_ms)
{
    int64_t k = floor_div(local_ms + 3 * CLOCK_DAY_MS, CLOCK_DAY_MS) % 7;

    return (int)(k < 0 ? k + 7 : k);
}

/* Weekday j's events over expected, discounted to week 'wk'. */
static double
dow_raw(const struct detect *d, int j, int64_t wk)
{
    double f = wk > d->dow_period[j] ? pow(DELTA_WEEK, (double)(wk - d->dow_period[j])) : 1;

    return (d->dow_a[j] * f + DOW_PRIOR) / (d->dow_b[j] * f + DOW_PRIOR);
}

/*
 * The day-of-week factor under season=daily: this weekday's events over
 * expected, relative to the mean over the week. The normalisation pins the
 * scale: the daily slots carry the level, the factors only the weekly shape
 * (without it the two drift apart, the slots up and the factors down).
 */
static double
dow_factor(const struct detect *d, int64_t local_ms)
{
    int64_t wk = floor_div(local_ms + 3 * CLOCK_DAY_MS, CLOCK_WEEK_MS);
    double sum = 0;
    int j;

    if (d->cfg.season != DETECT_DAILY)
        return 1;
    for (j = 0; j < 7; j++)
        sum += dow_raw(d, j, wk);
    return dow_raw(d, weekday(local_ms), wk) * 7 / sum;
}

static void
window_sums(const struct detect *d, int w, double *x, double *m)
{
    uint64_t now = d->n % (DETECT_RING + 1), then = (d->n - (uint64_t)w) % (DETECT_RING + 1);

    *x = d->cx[now] - d->cx[then];
    *m = d->cm[now] - d->cm[then];
}

struct cand {
    double score, p, x, m, s2, phi;
    int w, dir;
};

/* The predictive variance of a window's relative error. */
static double
sigma2(const struct detect *d, double w_slot, double aeff, double phi)
{
    double tau2 = d->tau2 < TAU2_FLOOR ? TAU2_FLOOR : d->tau2;

    /* A slot never seen may differ by +-50 %; a seen one is priced by tau2 and A_eff. */
    return tau2 + (w_slot > 0 ? 0 : UNSEEN_TAU2) + (aeff > 0 ? phi / aeff : 0);
}

/* The smallest (lower) or largest (upper) count not outside the band at tail 'alpha'. */
static double
band(double m, double phi, double s2, double alpha, int upper)
{
    double lo = 0, hi = m / phi, mid;
    int i;

    if (!upper) {
        /* Find the smallest k with P(X <= k) > alpha. */
        if (detect_pln_tail(0, m / phi, s2, 1) > alpha)
            return 0;
        for (i = 0; i < 60 && hi - lo > 0.5; i++) {
            mid = floor((lo + hi) / 2);
            if (detect_pln_tail(mid, m / phi, s2, 1) > alpha)
                hi = mid;
            else
                lo = mid + 1;
        }
        return ceil(hi) * phi;
    }
    /* Find the largest k with P(X >= k) > alpha. */
    lo = m / phi;
    hi = lo * 2 + 10;
    while (detect_pln_tail(hi, m / phi, s2, 0) > alpha && hi < 1e15)
        hi *= 2;
    for (i = 0; i < 80 && hi - lo > 0.5; i++) {
        mid = floor((lo + hi) / 2);
        if (detect_pln_tail(mid, m / phi, s2, 0) > alpha)
            lo = mid + 1;
        else
            hi = mid;
    }
    return floor(lo) * phi;
}

static void
fill_event(const struct detect *d, const struct cand *c, int nw, struct detect_event *ev)
{
    double phi = c->phi, alpha = d->cfg.far * c->w / (nw * steps_per_week(d));

    ev->window_ms = (int64_t)c->w * d->cfg.step_ms;
    ev->value = c->x;
    ev->expected = c->m;
    ev->lower = band(c->m, phi, c->s2, alpha, 0);
    ev->upper = band(c->m, phi, c->s2, alpha, 1);
    ev->score = c->score;
    ev->p = c->p;
    ev->dir = c->dir;
}

/*
 * Whether the recovery window 'c' (its x, m, phi, s2) shows the metric back
 * after a firing in direction d->dir whose window was off by d->effect: within
 * MIN_CHANGE of the expectation, or both past half the firing effect and no
 * longer improbable on the firing side (its exact tail above RECOVER_P).
 *
 * Improbability alone is not enough where the band is wide. While firing
 * nothing is learned, so in the first week an outage that crosses an hour
 * reaches weekly slots never seen, priced at +-50 %; there no window, however
 * long, shows even a drop to zero at two deviations (the prediction's own
 * relative error is 0.5 or more), and drops "recovered" at the hour boundary
 * while the metric was still 0. The exact tail, unlike a z score, still finds
 * 0 against 18 expected improbable there (p 7e-4), and the half-way test asks
 * for the events to come back, which no width of the band can stand in for.
 * It holds while relearning too: a metric gone for good stays firing.
 */
static int
back_in_range(const struct detect *d, const struct cand *c)
{
    double off;

    if (c->m <= 0)
        return 1;
    off = d->dir * (c->x / c->m - 1);
    if (fabs(c->x / c->m - 1) < MIN_CHANGE)
        return 1;
    if (off >= d->effect / 2)
        return 0;
    return detect_pln_tail(c->x / c->phi, c->m / c->phi, c->s2, d->dir < 0) > RECOVER_P;
}

/*
 * One step of the count path as detect_step sees it: the step's events and
 * exposure, its prediction and what the baseline knows of its slot, read
 * once before anything is learned and shared by scan, state machine and
 * learning.
 */
struct step {
    int64_t end_ms, local_ms; /* the step's end, and its start in local time */
    double x, e;              /* events (or the sum) over exposure */
    double dow;               /* the day-of-week factor (1 unless season=daily) */
    double mu_raw, mu;        /* expected events without and with that factor */
    double w_slot, aeff;      /* the slot's own-data weight and effective events */
    int nw;                   /* windows scanned each step, for the chance-alarm count */
};

/* The window after 'w' steps in the scan: twice as long, the last one the rule's own. */
static int
next_window(int w, int window_steps)
{
    return w * 2 < window_steps ? w * 2 : window_steps;
}

/* How many windows the scan tests: 1, 2, 4, ... below the rule's window, and that window. */
static int
window_count(int window_steps)
{
    int w, nw = 0;

    for (w = 1;; w = next_window(w, window_steps)) {
        nw++;
        if (w >= window_steps)
            break;
    }
    return nw;
}

static void
step_prepare(const struct detect *d, struct step *s, int64_t end_ms, int64_t local_ms, double x,
             double e)
{
    const struct detect_config *cfg = &d->cfg;
    double rate = detect_baseline_rate(&d->bl, local_ms, cfg->step_ms, cfg->season);

    s->end_ms = end_ms;
    s->local_ms = local_ms;
    s->x = x;
    s->e = e;
    s->dow = dow_factor(d, local_ms);
    s->mu_raw = e * rate;
    s->mu = s->mu_raw * s->dow;
    detect_baseline_slot(&d->bl, local_ms, cfg->season, &s->w_slot, &s->aeff);
    s->nw = window_count(cfg->window_steps);
}

/* Append the step to the cumulative sums; a day of steps ends the warm-up. */
static void
step_record(struct detect *d, const struct step *s)
{
    uint64_t k = (d->n + 1) % (DETECT_RING + 1), prev = d->n % (DETECT_RING + 1);

    d->cx[k] = d->cx[prev] + s->x;
    d->cm[k] = d->cm[prev] + s->mu;
    d->n++;
    if (d->phase == DETECT_WARMUP &&
        (double)d->n * (double)d->cfg.step_ms >= (double)CLOCK_DAY_MS) {
        d->phase = DETECT_OK;
        d->usable_from = d->n;
    }
}

/*
 * Score the window of the last 'w' steps into 'c'. Returns 1 when it passes
 * the z screen (every member of 'c' then set), 0 when it cannot be
 * significant or has nothing expected. The tests are written as in "m > 0"
 * so that a NaN fails them.
 */
static int
score_window(const struct detect *d, const struct step *s, int w, struct cand *c)
{
    double z, s2;

    window_sums(d, w, &c->x, &c->m);
    c->w = w;
    c->phi = detect_phi(d, w);
    if (c->m > 0) {
        s2 = sigma2(d, s->w_slot, s->aeff, c->phi);
        z = (c->x - c->m) / sqrt(c->phi * c->m + s2 * c->m * c->m);
        if (fabs(z) >= Z_SCREEN) {
            c->dir = z < 0 ? -1 : 1;
            c->s2 = s2;
            c->p = detect_pln_tail(c->x / c->phi, c->m / c->phi, s2, z < 0);
            c->score = -log10((c->p > 1e-300 ? c->p : 1e-300) * s->nw * steps_per_week(d) / w);
            /* After a drop, the rebound is not news: it needs 2 points more. */
            if (d->phase == DETECT_OK && c->dir > 0 && s->end_ms < d->rebound_until_ms)
                c->score -= 2;
            return 1;
        }
    }
    return 0;
}

/* Whether a screened window may fire: watched direction, effect gate and the 'min' rules. */
static int
is_candidate(const struct detect_config *cfg, const struct cand *c)
{
    return (cfg->direction == DETECT_BOTH || (cfg->direction == DETECT_DROP) == (c->dir < 0)) &&
           fabs(c->x / c->m - 1) >= MIN_CHANGE && (c->dir < 0 || c->x / c->phi >= cfg->min) &&
           (c->dir > 0 || !cfg->min_given || c->m / c->phi >= cfg->min);
}

/*
 * Test the windows ending now (none in warm-up, none reaching back into a
 * hold) and put the best-scoring candidate in '*best' (score -INFINITY if
 * none). Returns the smallest tail probability seen, candidate or not, for
 * the learning freeze; 1 when nothing was screened in.
 */
static double
scan(const struct detect *d, const struct step *s, struct cand *best)
{
    int window_steps = d->cfg.window_steps, w;
    double min_p = 1;
    struct cand c;

    *best = (struct cand){.score = -INFINITY};
    if (d->phase == DETECT_WARMUP)
        return min_p;
    for (w = 1;; w = next_window(w, window_steps)) {
        if ((uint64_t)w > d->n - d->usable_from + 1)
            break;
        if (score_window(d, s, w, &c)) {
            if (c.p < min_p)
                min_p = c.p;
            if (is_candidate(&d->cfg, &c) && c.score > best->score)
                *best = c;
        }
        if (w >= window_steps)
            break;
    }
    return min_p;
}

/* Watching: count candidate steps in one direction, fire after 'for' of them and the hold-off. */
static void
step_ok(struct detect *d, const struct step *s, const struct cand *best, struct detect_event *ev)
{
    if (best->score >= -log10(d->cfg.far) && (d->pending == 0 || best->dir == d->dir)) {
        if (d->pending++ == 0)
            d->since_ms = s->end_ms;
        d->dir = best->dir;
        if (d->pending >= d->cfg.for_steps && d->n >= d->holdoff_until) {
            d->phase = DETECT_FIRING;
            d->clear_count = 0;
            d->effect = fabs(best->x / best->m - 1);
            ev->fired = 1;
            ev->since_ms = d->since_ms;
            fill_event(d, best, s->nw, ev);
        }
    } else {
        d->pending = 0;
    }
}

/*
 * The window a firing is judged back on: the shortest that would show the
 * firing effect at z >= 3 (M >= 9 phi / effect^2, and at least 10 phi). A
 * shorter one would call a 50 % drop "recovered" from noise alone.
 */
static int
recovery_window(const struct detect *d)
{
    int window_steps = d->cfg.window_steps, w;
    double x, m, phi, need;

    for (w = 1; w < window_steps && (uint64_t)w < d->n; w *= 2) {
        window_sums(d, w, &x, &m);
        phi = detect_phi(d, w);
        need = 9 * phi / (d->effect * d->effect);
        if (m >= (need > 10 * phi ? need : 10 * phi))
            break;
    }
    return w > window_steps ? window_steps : w;
}

/*
 * Resolve a firing whose recovery window 'c' (of 'w' steps) has been back for
 * CLEAR_STEPS: hold off new firings for a while and, after a drop, make the
 * rebound spike pay for as long as the drop lasted (at most an hour).
 */
static void
resolve(struct detect *d, const struct step *s, struct cand *c, int w, struct detect_event *ev)
{
    int64_t lasted = s->end_ms - d->since_ms;

    d->phase = DETECT_OK;
    d->pending = 0;
    d->usable_from = d->n;
    d->holdoff_until = d->n + HOLDOFF_STEPS;
    if (d->dir < 0)
        d->rebound_until_ms = s->end_ms + (lasted < CLOCK_HOUR_MS ? lasted : CLOCK_HOUR_MS);
    ev->fired = -1;
    ev->since_ms = d->since_ms;
    ev->reason = d->relearning ? "relearned" : "recovered";
    c->w = w;
    c->p = 1;
    c->score = 0;
    c->dir = d->dir;
    fill_event(d, c, s->nw, ev);
}

/* Firing: count the steps in a row that are back in range; enough of them resolve it. */
static void
step_firing(struct detect *d, const struct step *s, struct detect_event *ev)
{
    int w = recovery_window(d);
    struct cand c;

    memset(&c, 0, sizeof(c));
    c.phi = detect_phi(d, w);
    window_sums(d, w, &c.x, &c.m);
    c.s2 = sigma2(d, s->w_slot, s->aeff, c.phi);
    if (back_in_range(d, &c))
        d->clear_count++;
    else
        d->clear_count = 0;
    if (d->clear_count >= CLEAR_STEPS)
        resolve(d, s, &c, w, ev);
}

/*
 * Anomalies must not become the new normal: while firing, pending, or on a
 * step this improbable, the baseline is frozen; frozen for longer than
 * RELEARN_MS, the detector learns again ("relearning") to accept a new level.
 */
static void
update_freeze(struct detect *d, int64_t end_ms, int frozen)
{
    if (!frozen) {
        d->frozen_since_ms = 0;
        d->relearning = 0;
    } else if (d->frozen_since_ms == 0) {
        d->frozen_since_ms = end_ms;
    } else if (end_ms - d->frozen_since_ms > RELEARN_MS) {
        d->relearning = 1;
    }
}

/* Learn weekday j's events 'x' over expected 'mu_raw' for season=daily, discounted per week. */
static void
dow_learn(struct detect *d, int64_t local_ms, double x, double mu_raw)
{
    int j = weekday(local_ms);
    int64_t wk = floor_div(local_ms + 3 * CLOCK_DAY_MS, CLOCK_WEEK_MS);

    if (wk > d->dow_period[j]) {
        double f = d->dow_period[j] ? pow(DELTA_WEEK, (double)(wk - d->dow_period[j])) : 1;

        d->dow_a[j] *= f;
        d->dow_b[j] *= f;
        d->dow_period[j] = wk;
    }
    d->dow_a[j] += x;
    d->dow_b[j] += mu_raw;
}

/* Burstiness: each block size learns from its own non-overlapping blocks, half-life a week. */
static void
learn_burstiness(struct detect *d)
{
    int i;

    for (i = 0; i < DETECT_SCALES && d->n % (1u << i) == 0 && d->n >= (1u << i); i++) {
        double bx, bm, r, lambda = pow(2, -(double)(1 << i) / steps_per_week(d));

        window_sums(d, 1 << i, &bx, &bm);
        r = (bx - bm) * (bx - bm) - d->tau2 * bm * bm;
        d->sxx[i] = lambda * d->sxx[i] + (r > 0 ? r : 0);
        d->smu[i] = lambda * d->smu[i] + bm;
    }
}

/*
 * tau2 from the hour just ended: its total's squared relative error against
 * the prediction, less the part counting noise and the slot's estimate
 * explain, winsorised at 9 variances, averaged over about a week of hours.
 */
static void
learn_tau2(struct detect *d)
{
    double hphi = detect_phi(d, 60),
           v = hphi / d->hour_m + (d->hour_aeff > 0 ? hphi / d->hour_aeff : 0);
    double s2 = v + (d->tau2 > TAU2_FLOOR ? d->tau2 : TAU2_FLOOR);
    double rel = (d->hour_x - d->hour_m) / d->hour_m, err = rel * rel;

    if (err > 9 * s2)
        err = 9 * s2;
    d->tau2 += (err - v - d->tau2) / 168;
}

/* Add the step to its local hour's sums; a new hour first feeds the last one to tau2. */
static void
learn_hour(struct detect *d, const struct step *s)
{
    int64_t hour = floor_div(s->local_ms, CLOCK_HOUR_MS);

    if (hour != d->hour) {
        if (d->hour != INT64_MIN && d->hour_m > 0 && d->phase != DETECT_WARMUP &&
            (!d->hour_fired || d->relearning))
            learn_tau2(d);
        d->hour = hour;
        d->hour_x = d->hour_m = 0;
        d->hour_fired = 0;
    }
    d->hour_x += s->x;
    d->hour_m += s->mu;
    d->hour_aeff = s->aeff;
    if (d->phase == DETECT_FIRING)
        d->hour_fired = 1;
}

/* Learning after the state machine: baseline and weekday factors, burstiness, tau2. */
static void
learn(struct detect *d, const struct step *s, double min_p)
{
    int frozen = d->phase == DETECT_FIRING || d->pending > 0 || min_p <= FREEZE_P;

    update_freeze(d, s->end_ms, frozen);
    if (d->phase == DETECT_WARMUP || !frozen || d->relearning) {
        detect_baseline_add(&d->bl, s->local_ms, s->x, s->e * s->dow);
        if (d->cfg.season == DETECT_DAILY && d->phase != DETECT_WARMUP)
            dow_learn(d, s->local_ms, s->x, s->mu_raw);
    }
    if (d->phase == DETECT_OK || d->relearning)
        learn_burstiness(d);
    learn_hour(d, s);
}

/*
 * Feed one closed step: 'x' events (or the sum) over exposure 'e' (minutes
 * for counts, the divisor's count for ratios), for the step ending at
 * 'end_ms' that started at local time 'local_start_ms'. Fills 'ev' with a
 * firing or resolved event when the state changes. With 'inhibited' (the
 * whole input is in a drop) the step is held: no scoring, no learning, no
 * state change, and later windows do not reach back into it. A value that
 * is not a finite number, or a negative exposure, is ignored; a negative
 * sum moves the rule to the continuous path for good (cfg.continuous).
 */
void
detect_step(struct detect *d, int64_t end_ms, int64_t local_start_ms, double x, double e,
            int inhibited, struct detect_event *ev)
{
    struct step s;
    struct cand best;
    double min_p;

    memset(ev, 0, sizeof(*ev));
    /* Values no count model can hold: skip what is not a number, and take a
     * sum with negative values (refunds) to the continuous path for good. */
    if (!isfinite(x) || !isfinite(e) || fabs(x) > 1e15 || e < 0)
        return;
    if (d->cfg.sum && x < 0) {
        d->cfg.continuous = 1;
        detect_value(d, end_ms, x, inhibited, ev);
        return;
    }
    step_prepare(d, &s, end_ms, local_start_ms, x, e);
    step_record(d, &s);
    if (inhibited) {
        /* Hold: the step is recorded but neither scored nor learned from. */
        d->usable_from = d->n + 1;
        d->pending = 0;
        return;
    }
    min_p = scan(d, &s, &best);
    ev->step_score = best.score > 0 ? best.score : 0;
    if (d->phase == DETECT_OK)
        step_ok(d, &s, &best, ev);
    else if (d->phase == DETECT_FIRING)
        step_firing(d, &s, ev);
    learn(d, &s, min_p);
}

/* ---- The continuous path: sums of values over one step (docs/anomaly.md, sums). ---- */

#define U_OVER 3.0         /* residuals beyond 3 spreads feed the tail fit */
#define ENV_MARGIN 1.0     /* a new extreme must pass the envelope by this many spreads */
#define TAIL_PRIOR 0.005   /* initial rate of |u| > 3 a step (it decays with a week's half-life) */
#define SLOW_STEPS 2016    /* half-life of the slow level */
#define FIRE_RATE_GAIN 0.4 /* score threshold per firing a week */
#define ENV_RATE_GAIN 0.5  /* envelope margin per firing a week */
#define SCORE_SLACK 1.0    /* the score threshold is -log10(far) less this: the vetoes thin it */
#define RANK_VETO 60       /* not a candidate: this many kept values as extreme or more */
#define SEA_NEAR 2         /* the seasonal residual: nearest of the values a day +-2 steps ago */
#define SEA_VETO 0.5       /* not a candidate: within this many seasonal spreads of a day ago */
#define SEA_FIRE 4.0       /* the seasonal trigger: beyond this many seasonal spreads ... */
#define SEA_RUN 12         /* ... for this many steps in a row fires once */

static void
scale_init(struct detect_scale *s, double g)
{
    int k;

    memset(s, 0, sizeof(*s));
    s->level = s->slow = s->hi = s->lo = g;
    for (k = 0; k < 2; k++) {
        s->rate[k] = TAIL_PRIOR;
        s->m1[k] = 1;
        s->m2[k] = 2;
    }
    s->started = 1;
}

/* P(u > x) for x >= 3 from the learned tail of one direction (generalised Pareto). */
static double
tail_p(const struct detect_scale *s, int k, double x)
{
    double m1 = s->m1[k], var = s->m2[k] - m1 * m1, xi, sigma;

    if (x <= U_OVER)
        return 1;
    xi = var > 0 ? 0.5 * (1 - m1 * m1 / var) : 0;
    xi = xi < 0 ? 0 : xi > 0.5 ? 0.5 : xi;
    sigma = m1 * (1 - xi);
    if (sigma <= 0)
        sigma = 1e-9;
    if (xi < 1e-9)
        return s->rate[k] * exp(-(x - U_OVER) / sigma);
    return s->rate[k] * pow(1 + xi * (x - U_OVER) / sigma, -1 / xi);
}

/* The |u| at which the tail's chance alarms per week equal 'far'. */
static double
tail_threshold(const struct detect_scale *s, int k, double per_week, double far)
{
    double lo = U_OVER, hi = U_OVER + 1;
    int i;

    while (tail_p(s, k, hi) * per_week > far && hi < 1e6)
        hi *= 2;
    for (i = 0; i < 60; i++) {
        double mid = (lo + hi) / 2;

        if (tail_p(s, k, mid) * per_week > far)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* Learn the tails from a residual of 'u' spreads: per direction, the rate of |u| > 3 and the
 * first two moments of the excess over 3, for the generalised Pareto fit of tail_p. */
static void
scale_learn_tails(struct detect_scale *s, double u, double week_steps)
{
    double a_tail = 1 - pow(2, -1 / week_steps);
    int k;

    for (k = 0; k < 2; k++) {
        double x = k ? u : -u, over = x > U_OVER;

        s->rate[k] += a_tail * (over - s->rate[k]);
        if (over) {
            double e = x - U_OVER;

            s->m1[k] += 0.05 * (e - s->m1[k]);
            s->m2[k] += 0.05 * (e * e - s->m2[k]);
        }
    }
}

/*
 * Learn one value 'g' (on the scale's own axis): spread, envelope and, with
 * 'learn_tail', the tails, all against the level before 'g'; then the
 * levels themselves.
 */
static void
scale_learn(struct detect_scale *s, double g, int learn_tail, double day_steps, double week_steps)
{
    double spread = 1.2533 * s->mad, u = spread > 0 ? (g - s->level) / spread : 0;
    double a_mad = 1 - pow(2, -1 / day_steps), env = pow(2, -1 / week_steps);
    double r = fabs(g - s->level);

    /* Until a day of values is in, the spread is their plain running mean. */
    if (++s->n_mad < day_steps && 1.0 / s->n_mad > a_mad)
        a_mad = 1.0 / s->n_mad;
    if (spread > 0 && r > 5 * spread)
        r = 5 * spread;
    s->mad += a_mad * (r - s->mad);
    s->hi = s->level + (s->hi - s->level) * env;
    s->lo = s->level + (s->lo - s->level) * env;
    if (g > s->hi)
        s->hi = g;
    if (g < s->lo)
        s->lo = g;
    if (learn_tail && spread > 0)
        scale_learn_tails(s, u, week_steps);
    s->level += 0.5 * (g - s->level); /* half-life of one step */
    s->slow += (1 - pow(2, -1.0 / SLOW_STEPS)) * (g - s->slow);
}

/* One value as the continuous path sees it, before anything learns from it. */
struct cont_step {
    struct detect_scale *sc; /* the scale scored: log while every value so far was > 0 */
    double y, g;             /* the value, and the value on that scale */
    double spread, u;        /* the scale's spread, and the value's residual in spreads */
    double p, score;         /* the residual's tail and score (1 and -INFINITY: not scored) */
    int dir, envelope;       /* -1 drop, +1 spike; whether the value is a new extreme */
    int rank;                /* past values at least as extreme in the step's direction */
    double sea;              /* seasonal residual in seasonal spreads (INFINITY: none) */
    double sea_veto;         /* the same, a day or a week earlier, whichever is nearer */
    int sea_dir;             /* the seasonal residual's sign */
};

/* The seasonal lag: a day of steps (0 when a day is more than the ring keeps). */
static uint64_t
season_lag(const struct detect *d)
{
    double day_steps = (double)CLOCK_DAY_MS / (double)d->cfg.step_ms;

    return day_steps + SEA_NEAR < DETECT_RING ? (uint64_t)(day_steps + 0.5) : 0;
}

/* Kept value 'i' (counted from 0) on the scale scored now. */
static double
past_g(const struct detect *d, uint64_t i)
{
    double y = d->cont.past[i % DETECT_RING];

    return d->cont.use_log ? log(y) : y;
}

/* The second opinions: the rank of the value among recent ones, the seasonal residual. */
static void
cont_context(const struct detect *d, struct cont_step *s)
{
    const struct detect_cont *c = &d->cont;
    uint64_t t = c->seen - 1, n = c->past_n < DETECT_RING ? c->past_n : DETECT_RING, i;
    uint64_t lag = season_lag(d), kk = SEA_NEAR;
    int k;

    /* log is monotone: the rank on either scale is the rank of the values. */
    s->rank = 0;
    for (i = 1; i <= n; i++) {
        double y = c->past[(t - i) % DETECT_RING];

        if (s->dir > 0 ? y >= s->y : y <= s->y)
            s->rank++;
    }
    s->sea = INFINITY;
    s->sea_veto = INFINITY;
    s->sea_dir = 0;
    if (lag > kk && lag + kk < DETECT_RING && c->past_n >= 2 * lag) {
        double best = INFINITY, sp = 1.2533 * c->sea_mad[!c->use_log];

        for (k = -SEA_NEAR; k <= SEA_NEAR; k++) {
            double r = fabs(s->g - past_g(d, t - lag + (uint64_t)(int64_t)k));

            if (r < best)
                best = r;
        }
        s->sea_dir = s->g < past_g(d, t - lag) ? -1 : 1;
        s->sea = sp > 0 ? best / sp : (best > 0 ? INFINITY : 0);
        s->sea_veto = s->sea;
        /* The veto also looks a week back, where the ring reaches (5-minute steps). */
        if (7 * lag + kk < DETECT_RING && c->past_n >= 7 * lag + kk) {
            for (k = -SEA_NEAR; k <= SEA_NEAR; k++) {
                double r = fabs(s->g - past_g(d, t - 7 * lag + (uint64_t)(int64_t)k));

                if (r < best)
                    best = r;
            }
            s->sea_veto = sp > 0 ? best / sp : (best > 0 ? INFINITY : 0);
        }
    }
}

/* The first value: it starts both scales' levels and envelopes and is not scored. */
static void
cont_first(struct detect *d, double y)
{
    struct detect_cont *c = &d->cont;

    c->use_log = y > 0;
    scale_init(&c->log, y > 0 ? log(y) : 0);
    scale_init(&c->id, y);
    c->past[0] = y;
    c->past_n = 1;
    c->seen = 1;
    d->n++;
}

/* Score the value by its learned tail, vetoed for spikes that the slow level explains,
 * and mark it a new extreme if it passes the envelope by a margin. */
static void
cont_score(const struct detect *d, struct cont_step *s)
{
    const struct detect_scale *sc = s->sc;
    double spw = steps_per_week(d);
    double margin = (ENV_MARGIN + ENV_RATE_GAIN * d->cont.fire_rate * spw) * s->spread;

    s->p = tail_p(sc, s->u > 0, fabs(s->u));
    s->score = -log10((s->p > 1e-300 ? s->p : 1e-300) * spw);
    s->dir = s->u < 0 ? -1 : 1;
    /* A spike must also stand out against the slow level: not a return to normal. */
    if (s->dir > 0 && tail_p(sc, 1, (s->g - sc->slow) / s->spread) * spw > 1)
        s->score = -INFINITY;
    /* A new extreme beyond the discounted envelope by a spread also counts. */
    if (s->g > sc->hi + margin || s->g < sc->lo - margin) {
        s->envelope = 1;
        s->dir = s->g > sc->hi ? 1 : -1;
    }
}

/* The continuous state machine: fire at once (after the hold-off), resolve after 3 steps
 * within 2 spreads. Thresholds rise with the series' own rate of firings. */
static void
cont_machine(struct detect *d, int64_t end_ms, const struct cont_step *s, struct detect_event *ev)
{
    const struct detect_config *cfg = &d->cfg;
    double s_star =
        -log10(cfg->far) - SCORE_SLACK + FIRE_RATE_GAIN * d->cont.fire_rate * steps_per_week(d);
    if (d->phase == DETECT_OK) {
        int cand =
            (s->score >= s_star || s->envelope) &&
            (cfg->direction == DETECT_BOTH || (cfg->direction == DETECT_DROP) == (s->dir < 0));
        int seasonal = d->cont.sea_run == SEA_RUN;
        int veto = s->rank >= RANK_VETO || s->sea_veto < SEA_VETO;

        if (seasonal && !(cand && !veto) &&
            (cfg->direction == DETECT_BOTH ||
             (cfg->direction == DETECT_DROP) == (s->sea_dir < 0))) {
            cand = 1;
            veto = 0;
            d->dir = s->sea_dir;
        }
        if (cand && !veto && d->n >= d->holdoff_until) {
            d->phase = DETECT_FIRING;
            d->since_ms = end_ms;
            if (!seasonal || s->score >= s_star || s->envelope)
                d->dir = s->dir;
            d->clear_count = 0;
            d->holdoff_until = d->n + HOLDOFF_STEPS;
            ev->fired = 1;
        }
    } else if (d->phase == DETECT_FIRING) {
        d->clear_count = fabs(s->u) < 2 ? d->clear_count + 1 : 0;
        if (d->clear_count >= 3) {
            d->phase = DETECT_OK;
            ev->fired = -1;
            ev->reason = "recovered";
        }
    }
}

/* The record of a firing or resolution: the band is the level +- the tail's threshold. */
static void
cont_event(const struct detect *d, const struct cont_step *s, struct detect_event *ev)
{
    const struct detect_scale *sc = s->sc;
    double thr = s->spread > 0
                     ? tail_threshold(sc, d->dir > 0, steps_per_week(d), d->cfg.far) * s->spread
                     : 0;
    int use_log = d->cont.use_log;

    ev->window_ms = d->cfg.step_ms;
    ev->value = s->y;
    ev->expected = use_log ? exp(sc->level) : sc->level;
    ev->lower = use_log ? exp(sc->level - thr) : sc->level - thr;
    ev->upper = use_log ? exp(sc->level + thr) : sc->level + thr;
    ev->score = ev->fired > 0 ? (isfinite(s->score) ? s->score : 0) : 0;
    ev->p = s->p;
    ev->dir = d->dir;
    ev->since_ms = d->since_ms;
}

/* Learn the seasonal spread from the value a day earlier, then keep the value. */
static void
cont_learn_season(struct detect *d, double y, double day_steps)
{
    struct detect_cont *c = &d->cont;
    uint64_t t = c->seen - 1, lag = season_lag(d);
    double a = 1 - pow(2, -1 / day_steps);
    int k;

    if (lag >= 1 && lag < DETECT_RING && c->past_n >= lag) {
        for (k = 0; k < 2; k++) {
            double y0 = c->past[(t - lag) % DETECT_RING], r;

            if (k == 0 && (y <= 0 || y0 <= 0))
                continue;
            r = k == 0 ? fabs(log(y) - log(y0)) : fabs(y - y0);
            if (c->sea_mad[k] > 0 && r > 5 * 1.2533 * c->sea_mad[k])
                r = 5 * 1.2533 * c->sea_mad[k];
            c->sea_mad[k] +=
                (t < lag + day_steps ? 1.0 / (double)(t - lag + 1) : a) * (r - c->sea_mad[k]);
        }
    }
    c->past[t % DETECT_RING] = y;
    c->past_n++;
}

/*
 * Feed one step's value 'y' of a sum metric (a step without any value is not
 * fed: no exposure is not a zero). Fills 'ev' on a state change. A value that
 * is not finite or beyond 1e300 is ignored; with 'inhibited' the value is
 * learned from but not scored, so nothing fires (a firing may resolve).
 */
void
detect_value(struct detect *d, int64_t end_ms, double y, int inhibited, struct detect_event *ev)
{
    struct detect_cont *c = &d->cont;
    struct cont_step s = {.p = 1, .score = -INFINITY};
    double spw = steps_per_week(d), day_steps = (double)CLOCK_DAY_MS / (double)d->cfg.step_ms;
    int learn_tail;

    memset(ev, 0, sizeof(*ev));
    if (!isfinite(y) || fabs(y) > 1e300)
        return;
    if (c->seen == 0) {
        cont_first(d, y);
        return;
    }
    if (y <= 0)
        c->use_log = 0;
    s.sc = c->use_log ? &c->log : &c->id;
    s.y = y;
    s.g = c->use_log ? log(y) : y;
    s.spread = 1.2533 * s.sc->mad;
    s.u = s.spread > 0 ? (s.g - s.sc->level) / s.spread : 0;
    d->n++;
    c->seen++;
    if (d->phase == DETECT_WARMUP &&
        (double)c->seen * (double)d->cfg.step_ms >= (double)CLOCK_DAY_MS)
        d->phase = DETECT_OK;
    s.sea = INFINITY;
    if (!inhibited && d->phase != DETECT_WARMUP && s.spread > 0) {
        cont_score(d, &s);
        cont_context(d, &s);
    }
    c->sea_run = isfinite(s.sea) && s.sea > SEA_FIRE ? c->sea_run + 1 : 0;
    cont_machine(d, end_ms, &s, ev);
    ev->step_score = isfinite(s.score) && s.score > 0 ? s.score : 0;
    c->fire_rate += (1 - pow(2, -1 / spw)) * ((ev->fired > 0) - c->fire_rate);
    if (ev->fired != 0)
        cont_event(d, &s, ev);
    /* Both scales learn, so a switch from log to identity starts warm. */
    learn_tail = d->phase != DETECT_FIRING && c->seen > 50;
    if (y > 0)
        scale_learn(&c->log, log(y), learn_tail, day_steps, spw);
    scale_learn(&c->id, y, learn_tail, day_steps, spw);
    cont_learn_season(d, y, day_steps);
}

/* ---- Saving: the learned fields by name, and the check of a loaded detector. ---- */

/* An enum member is saved as a DETECT_F_INT: it must be stored as one. */
_Static_assert(sizeof(enum detect_phase) == sizeof(int), "phase is saved as an int");

/*
 * The rows are built by macros from the member's path, so that offset, count,
 * stride and type all come from the compiler. clang-format cannot lay out
 * _Generic or braced rows inside macros, hence the fence.
 */
/* clang-format off */
/* A member's path cannot be parenthesized inside offsetof: the rows' macros take paths. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
/* The field type of member 'm' of struct detect; any other type does not compile. */
#define FIELD_TYPE(m)                                                                              \
    _Generic(((struct detect *)0)->m,                                                              \
             double: DETECT_F_DOUBLE, int64_t: DETECT_F_INT64, uint64_t: DETECT_F_UINT64,          \
             int: DETECT_F_INT)
#define MEMBER_SIZE(m) sizeof(((struct detect *)0)->m)
#define ARRAY_LEN(m) (MEMBER_SIZE(m) / MEMBER_SIZE(m[0]))

#define SCALAR(name, m) {name, FIELD_TYPE(m), offsetof(struct detect, m), 1, MEMBER_SIZE(m)}
#define ARRAY(name, m)                                                                             \
    {name, FIELD_TYPE(m[0]), offsetof(struct detect, m[0]), ARRAY_LEN(m), MEMBER_SIZE(m[0])}
/* One member of every slot of a layer: the slot struct is the stride. */
#define SLOTS(name, layer, f)                                                                      \
    {name, FIELD_TYPE(layer[0].f), offsetof(struct detect, layer[0].f), ARRAY_LEN(layer),          \
     MEMBER_SIZE(layer[0])}
#define LAYER(name, layer)                                                                         \
    SLOTS(name ".a", layer, a), SLOTS(name ".b", layer, b), SLOTS(name ".period", layer, period)
#define SCALE(name, s)                                                                             \
    SCALAR(name ".level", s.level), SCALAR(name ".slow", s.slow), SCALAR(name ".mad", s.mad),      \
    SCALAR(name ".hi", s.hi), SCALAR(name ".lo", s.lo), ARRAY(name ".rate", s.rate),               \
    ARRAY(name ".m1", s.m1), ARRAY(name ".m2", s.m2), SCALAR(name ".n_mad", s.n_mad),              \
    SCALAR(name ".started", s.started)
/* NOLINTEND(bugprone-macro-parentheses) */
/* clang-format on */

/*
 * Every member of struct detect but 'cfg', by the path of its name: an array
 * of slots is three rows ("bl.week.a", "bl.week.b", "bl.week.period") whose
 * stride is the slot; the global slot is three scalars ("bl.global.a"). Append
 * new members; never rename or reuse a name (tests/test_detect.c checks that
 * the rows cover every byte but cfg and padding, and that names are unique).
 */
const struct detect_field detect_fields[] = {
    LAYER("bl.week", bl.week),
    LAYER("bl.day", bl.day),
    SCALAR("bl.global.a", bl.global.a),
    SCALAR("bl.global.b", bl.global.b),
    SCALAR("bl.global.period", bl.global.period),
    ARRAY("dow_a", dow_a),
    ARRAY("dow_b", dow_b),
    ARRAY("dow_period", dow_period),
    ARRAY("sxx", sxx),
    ARRAY("smu", smu),
    SCALAR("tau2", tau2),
    SCALAR("hour_x", hour_x),
    SCALAR("hour_m", hour_m),
    SCALAR("hour_aeff", hour_aeff),
    SCALAR("hour", hour),
    SCALAR("hour_fired", hour_fired),
    SCALAR("n", n),
    ARRAY("cx", cx),
    ARRAY("cm", cm),
    {"phase", DETECT_F_INT, offsetof(struct detect, phase), 1, MEMBER_SIZE(phase)},
    SCALAR("pending", pending),
    SCALAR("dir", dir),
    SCALAR("clear_count", clear_count),
    SCALAR("effect", effect),
    SCALAR("since_ms", since_ms),
    SCALAR("frozen_since_ms", frozen_since_ms),
    SCALAR("rebound_until_ms", rebound_until_ms),
    SCALAR("usable_from", usable_from),
    SCALAR("holdoff_until", holdoff_until),
    SCALAR("relearning", relearning),
    SCALE("cont.log", cont.log),
    SCALE("cont.id", cont.id),
    SCALAR("cont.use_log", cont.use_log),
    SCALAR("cont.fire_rate", cont.fire_rate),
    SCALAR("cont.seen", cont.seen),
    ARRAY("cont.past", cont.past),
    SCALAR("cont.past_n", cont.past_n),
    ARRAY("cont.sea_mad", cont.sea_mad),
    SCALAR("cont.sea_run", cont.sea_run),
};

const size_t detect_nfields = sizeof(detect_fields) / sizeof(detect_fields[0]);

static int
is_flag(int v)
{
    return v == 0 || v == 1;
}

/* Whether 'n' doubles of 'd', the first at 'offset', 'stride' bytes apart, are >= 0 (NaN is not).
 */
static int
all_nonneg(const struct detect *d, size_t offset, size_t n, size_t stride)
{
    const char *p = (const char *)d + offset;
    size_t i;
    double x;

    for (i = 0; i < n; i++) {
        memcpy(&x, p + i * stride, sizeof(x));
        if (!(x >= 0))
            return 0;
    }
    return 1;
}

/* Whether every double of the detector is finite, found through the field table. */
static int
all_finite(const struct detect *d)
{
    const char *base = (const char *)d;
    size_t i, j;
    double x;

    for (i = 0; i < detect_nfields; i++) {
        if (detect_fields[i].type != DETECT_F_DOUBLE)
            continue;
        for (j = 0; j < detect_fields[i].count; j++) {
            memcpy(&x, base + detect_fields[i].offset + j * detect_fields[i].stride, sizeof(x));
            if (!isfinite(x))
                return 0;
        }
    }
    return 1;
}

/* NOLINTBEGIN(bugprone-macro-parentheses): member paths, as above */
#define NONNEG(m) all_nonneg(d, offsetof(struct detect, m[0]), ARRAY_LEN(m), MEMBER_SIZE(m[0]))
#define NONNEG_SLOTS(layer, f)                                                                     \
    all_nonneg(d, offsetof(struct detect, layer[0].f), ARRAY_LEN(layer), MEMBER_SIZE(layer[0]))
/* NOLINTEND(bugprone-macro-parentheses) */

/*
 * Whether a detector read back from a saved state is one that detect_step
 * and detect_value could have left: returns 0 if so, -1 if not (the caller
 * then starts it afresh with detect_init). Checked: the phase is one of the
 * enum's, dir is -1, 0 or 1, the step counts 'pending' and 'clear_count'
 * are >= 0, the flags (hour_fired, relearning, cont.use_log, the scales'
 * started) are 0 or 1, every double is finite, and the sums that only grow
 * by events and exposure are >= 0: the baseline slots' a and b, dow_a and
 * dow_b, sxx and smu, effect, and each scale's mad, n_mad and rate, and
 * cont.fire_rate. The configuration is not looked at: it comes from the rules.
 */
int
detect_check(const struct detect *d)
{
    const struct detect_scale *sc[2] = {&d->cont.log, &d->cont.id};
    size_t rate[2] = {offsetof(struct detect, cont.log.rate),
                      offsetof(struct detect, cont.id.rate)};
    uint64_t n;
    int i;

    switch (d->phase) {
    case DETECT_WARMUP:
    case DETECT_OK:
    case DETECT_FIRING:
        break;
    default:
        return -1;
    }
    if (d->dir < -1 || d->dir > 1 || d->pending < 0 || d->clear_count < 0 ||
        !is_flag(d->hour_fired) || !is_flag(d->relearning) || !is_flag(d->cont.use_log))
        return -1;
    if (!all_finite(d))
        return -1;
    if (!NONNEG_SLOTS(bl.week, a) || !NONNEG_SLOTS(bl.week, b) || !NONNEG_SLOTS(bl.day, a) ||
        !NONNEG_SLOTS(bl.day, b) || !(d->bl.global.a >= 0) || !(d->bl.global.b >= 0))
        return -1;
    if (!NONNEG(dow_a) || !NONNEG(dow_b) || !NONNEG(sxx) || !NONNEG(smu) || !(d->effect >= 0) ||
        !(d->cont.fire_rate >= 0))
        return -1;
    if (d->cont.sea_run < 0 || d->cont.past_n > d->cont.seen || !NONNEG(cont.sea_mad))
        return -1;
    /* The log scale reads kept values: while it is in use they are all > 0. */
    for (n = 0; d->cont.use_log && n < d->cont.past_n && n < DETECT_RING; n++)
        if (!(d->cont.past[(d->cont.seen - 1 - n) % DETECT_RING] > 0))
            return -1;
    for (i = 0; i < 2; i++)
        if (!is_flag(sc[i]->started) || !(sc[i]->mad >= 0) || !(sc[i]->n_mad >= 0) ||
            !all_nonneg(d, rate[i], 2, sizeof(sc[i]->rate[0])))
            return -1;
    return 0;
}
