/*
 * related.c -- "what else moved" when an alert fires: the other metrics
 * whose value over the same window is far from their usual value, the
 * strongest relative change first.
 *
 * Each count and sum metric keeps its last steps in a ring long enough for
 * the longest alert window and the RELATED_BEFORE windows before it. A
 * metric's usual value is the mean of those earlier windows: what it did in
 * the hour or so before, which on a login outage at 14:00 is the traffic of
 * 13:00. A count is far when it is at least RELATED_MIN_CHANGE off in
 * relative terms and RELATED_Z Poisson standard deviations off (so that 2
 * events against a usual 1 is not news; the list is context for a person,
 * not an alarm, so two deviations do); a sum, whose scale is unknown, when
 * it is RELATED_MIN_SUM_CHANGE off. Ratios are left out (their operands
 * are in), and so are distinct and quantile metrics (their windows do not
 * add up from steps).
 */
#include "rarr/related.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RELATED_MIN_CHANGE 0.3
#define RELATED_MIN_SUM_CHANGE 0.5
#define RELATED_Z 2.0
/* At most a week of steps a metric. */
#define RELATED_MAX_STEPS 10080

/* Whether metric 'm' keeps steps: counts and sums. */
static int
kept(const struct rules_metric *m)
{
    return m->kind == RULES_COUNT || m->kind == RULES_SUM;
}

/*
 * The rings for 'rs' at 'step_ms': as long as the longest alert window
 * times RELATED_BEFORE + 1 (at most RELATED_MAX_STEPS). NULL when out of
 * memory.
 */
struct related *
related_new(const struct ruleset *rs, int64_t step_ms)
{
    struct related *r = calloc(1, sizeof(*r));
    size_t i, w = 1;

    if (r == NULL)
        return NULL;
    for (i = 0; i < rs->nalerts; i++)
        if ((size_t)(rs->alerts[i].window_ms / step_ms) > w)
            w = (size_t)(rs->alerts[i].window_ms / step_ms);
    r->rs = rs;
    r->nsteps = w * (RELATED_BEFORE + 1);
    if (r->nsteps > RELATED_MAX_STEPS)
        r->nsteps = RELATED_MAX_STEPS;
    if ((r->steps = calloc(r->nsteps * (rs->nmetrics ? rs->nmetrics : 1), sizeof(double))) ==
        NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void
related_free(struct related *r)
{
    if (r == NULL)
        return;
    free(r->steps);
    free(r);
}

/* Forget every step (a state load starts the history afresh). */
void
related_reset(struct related *r)
{
    memset(r->steps, 0, r->nsteps * r->rs->nmetrics * sizeof(double));
    r->head = 0;
    r->seen = 0;
}

/* One evaluated step: 'values' [nmetrics] are its values (only counts and sums are kept). */
void
related_push(struct related *r, const double *values)
{
    size_t i, n = r->rs->nmetrics;

    for (i = 0; i < n; i++)
        r->steps[r->head * n + i] = kept(&r->rs->metrics[i]) ? values[i] : 0;
    r->head = (r->head + 1) % r->nsteps;
    r->seen++;
}

/* The sum of metric 'i' over 'len' steps ending 'back' steps before the newest. */
static double
ring_sum(const struct related *r, size_t i, size_t back, size_t len)
{
    size_t n = r->rs->nmetrics, k, row;
    double sum = 0;

    for (k = 0; k < len; k++) {
        row = (r->head + r->nsteps - 1 - back - k) % r->nsteps;
        sum += r->steps[row * n + i];
    }
    return sum;
}

/*
 * How far 'value' is from 'usual' for metric 'm': the relative change (of
 * at least 1, so that a metric usually at 0 has a finite one), or 0 when
 * not far.
 */
static double
change(const struct rules_metric *m, double value, double usual)
{
    double rel = (value - usual) / (fabs(usual) > 1 ? fabs(usual) : 1);

    if (m->kind == RULES_SUM)
        return fabs(rel) >= RELATED_MIN_SUM_CHANGE ? rel : 0;
    if (fabs(rel) < RELATED_MIN_CHANGE || fabs(value - usual) < RELATED_Z * sqrt(usual + 1))
        return 0;
    return rel;
}

/*
 * Put item 'it' (relative change 'rel') into 'out', kept sorted strongest
 * first, at most RELATED_MAX; 'rels' holds the items' changes.
 */
static void
insert(struct related_list *out, double *rels, const struct related_item *it, double rel)
{
    size_t k;

    if (out->n == RELATED_MAX && fabs(rel) <= fabs(rels[RELATED_MAX - 1]))
        return;
    k = out->n < RELATED_MAX ? out->n++ : RELATED_MAX - 1;
    while (k > 0 && fabs(rels[k - 1]) < fabs(rel)) {
        out->v[k] = out->v[k - 1];
        rels[k] = rels[k - 1];
        k--;
    }
    out->v[k] = *it;
    rels[k] = rel;
}

/*
 * The metrics other than 'metric' whose sum over the last 'window_steps'
 * steps is far from the mean of the RELATED_BEFORE windows before it,
 * strongest first, into 'out' (none until the history holds two windows).
 */
void
related_find(const struct related *r, size_t metric, size_t window_steps, struct related_list *out)
{
    size_t i, before;
    double rels[RELATED_MAX];
    struct related_item it;

    out->n = 0;
    if (window_steps == 0 || r->seen < 2 * window_steps || 2 * window_steps > r->nsteps)
        return;
    before = (size_t)((r->seen < r->nsteps ? r->seen : r->nsteps) / window_steps) - 1;
    if (before > RELATED_BEFORE)
        before = RELATED_BEFORE;
    for (i = 0; i < r->rs->nmetrics; i++) {
        if (i == metric || !kept(&r->rs->metrics[i]))
            continue;
        it.metric = i;
        it.name = r->rs->metrics[i].name;
        it.value = ring_sum(r, i, 0, window_steps);
        it.usual = ring_sum(r, i, window_steps, before * window_steps) / (double)before;
        if ((it.change = change(&r->rs->metrics[i], it.value, it.usual)) != 0)
            insert(out, rels, &it, it.change);
    }
}

/* How many steps the rings hold (the same for every metric), for --state. */
size_t
related_len(const struct related *r)
{
    return r->seen < r->nsteps ? (size_t)r->seen : r->nsteps;
}

/* Step 'j' (0: the oldest of related_len) of metric 'metric'. */
double
related_at(const struct related *r, size_t metric, size_t j)
{
    size_t len = related_len(r);

    return r->steps[((r->head + r->nsteps - len + j) % r->nsteps) * r->rs->nmetrics + metric];
}

/*
 * Put back the saved steps 'v' (oldest first, 'n' of them) of 'metric' as
 * the newest of its ring. The first metric put back sets how many steps the
 * rings hold; a metric that has none saved (a new one) stays at zero.
 */
void
related_restore(struct related *r, size_t metric, const double *v, size_t n)
{
    size_t k = n < r->nsteps ? n : r->nsteps, j;

    if (r->seen == 0) {
        r->seen = n;
        r->head = k % r->nsteps;
    }
    if (k > related_len(r))
        k = related_len(r);
    for (j = 0; j < k; j++)
        r->steps[((r->head + r->nsteps - k + j) % r->nsteps) * r->rs->nmetrics + metric] =
            v[n - k + j];
}
