/*
 * step.c -- the "step" stage: the event clock, the steps still open to late
 * lines, and what runs once a step is final (windows, metric records,
 * threshold alerts, anomaly detectors).
 *
 * Time is the event clock (docs/design.md, "Time"): 'now' is the newest
 * event timestamp minus the lateness; a step is evaluated once 'now' passes
 * its end, and an event older than 'now' is late (the caller counts it). Events
 * not yet evaluated wait in a small ring of pending steps, one row per step
 * that can still receive events (lateness/step + 2 of them), indexed by the
 * absolute step number; a row holds one series per metric. Evaluating a
 * step moves each metric's series into its window, writes metric records,
 * then runs the alerts and detectors. A by= metric also keeps a series per
 * key (keyed.c), a distinct= or quantile metric a sketch per step
 * (sketched.c), closed with the same step. Nothing here reads the wall
 * clock, so a replay gives the same bytes however the input arrives.
 */
#include "rarr/step.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The input-wide detector: drops of all applied lines, which inhibit the others. */
static const struct detect_config lines_config = {
    .season = DETECT_WEEKLY, .direction = DETECT_DROP, .far = 0.1, .min = 10, .for_steps = 1};

/* The longest window of each metric's threshold alerts, in steps (at least 1). */
static size_t *
window_steps(const struct step *s)
{
    const struct ruleset *rs = s->rs;
    size_t i, w, *steps = calloc(rs->nmetrics + 1, sizeof(*steps));

    if (steps == NULL)
        return NULL;
    for (i = 0; i < rs->nmetrics; i++)
        steps[i] = 1;
    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_alert *a = &rs->alerts[i];
        const struct rules_metric *m = &rs->metrics[a->metric];

        if (a->anomaly)
            continue;
        w = (size_t)(a->window_ms / s->opt.step_ms);
        if (m->kind == RULES_RATIO) {
            steps[m->a] = w > steps[m->a] ? w : steps[m->a];
            steps[m->b] = w > steps[m->b] ? w : steps[m->b];
        } else {
            steps[a->metric] = w > steps[a->metric] ? w : steps[a->metric];
        }
    }
    return steps;
}

/* A metric's ring holds the longest window any alert reads it over. */
static int
setup_windows(struct step *s)
{
    const struct ruleset *rs = s->rs;
    size_t i, *steps = window_steps(s);
    int rc = 0;

    if (steps == NULL)
        return -1;
    for (i = 0; i < rs->nmetrics && rc == 0; i++)
        if (rs->metrics[i].kind != RULES_RATIO)
            rc = window_init(&s->win[i], steps[i]);
    free(steps);
    return rc;
}

/* A rule's season= is the detector's season: the two enums list them in one order. */
_Static_assert((int)RULES_SEASON_NONE == (int)DETECT_NONE &&
                   (int)RULES_SEASON_DAILY == (int)DETECT_DAILY &&
                   (int)RULES_SEASON_WEEKLY == (int)DETECT_WEEKLY,
               "season enums differ");

/* The detector of anomaly rule 'a', configured for the step. */
static struct detect *
new_detector(const struct step *s, const struct rules_alert *a)
{
    const struct rules_metric *m = &s->rs->metrics[a->metric];
    size_t w = (size_t)(a->window_ms / s->opt.step_ms);
    struct detect_config cfg = {
        .season = (enum detect_season)a->season,
        .direction = a->direction == RULES_DROP    ? DETECT_DROP
                     : a->direction == RULES_SPIKE ? DETECT_SPIKE
                                                   : DETECT_BOTH,
        .far = a->far,
        .min = a->min,
        .min_given = a->min_given,
        .step_ms = s->opt.step_ms,
        .window_steps = (int)(w < DETECT_RING ? w : DETECT_RING),
        .for_steps = (int)((a->for_ms + s->opt.step_ms - 1) / s->opt.step_ms),
        /*
         * A sum watched over one step asks for point anomalies: the
         * continuous path. Over longer windows a sum is scanned like a
         * count, its burstiness (free to go below 1) carrying the units.
         */
        .continuous = m->kind == RULES_SUM && w == 1,
        .sum = m->kind == RULES_SUM,
    };
    struct detect *d = malloc(sizeof(*d));

    if (d != NULL)
        detect_init(d, &cfg);
    return d;
}

/* Alert 'i': a detector for an anomaly rule, else the window views its value reads. */
static int
setup_alert(struct step *s, size_t i)
{
    const struct rules_alert *a = &s->rs->alerts[i];
    const struct rules_metric *m = &s->rs->metrics[a->metric];
    size_t w = (size_t)(a->window_ms / s->opt.step_ms);

    alert_init(&s->alerts[i]);
    if (a->anomaly)
        return (s->det[i] = new_detector(s, a)) == NULL ? -1 : 0;
    if (m->kind == RULES_RATIO) {
        s->view_a[i] = window_view(&s->win[m->a], w);
        s->view_b[i] = window_view(&s->win[m->b], w);
        return s->view_a[i] == -1 || s->view_b[i] == -1 ? -1 : 0;
    }
    s->view_a[i] = window_view(&s->win[a->metric], w);
    return s->view_a[i] == -1 ? -1 : 0;
}

/*
 * How long a run of empty steps must be before a gap may be crossed in one
 * jump, and the input-wide detector. Anomaly detectors learn from quiet
 * steps too, so a gap is crossed step by step, but only for a day: after a
 * whole day without a single line the input is gone, not quiet (the "lines"
 * detector has long fired), and the rest of the gap is skipped. Forged
 * timestamps a month apart cannot make each line cost weeks of steps. When
 * the whole input drops (the site or the log shipper is down), one "lines"
 * anomaly is better than one per metric: a detector on all applied lines,
 * over the longest anomaly window, inhibits the others while it fires a
 * drop (docs/anomaly.md).
 */
static int
setup_quiet(struct step *s)
{
    const struct ruleset *rs = s->rs;
    int64_t most_for = 0, most_win = 1, w;
    int lines_window = 0;
    size_t i;

    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_alert *a = &rs->alerts[i];

        if (a->anomaly) {
            s->quiet_idle = CLOCK_DAY_MS / s->opt.step_ms;
            if (s->det[i]->cfg.window_steps > lines_window)
                lines_window = s->det[i]->cfg.window_steps;
            continue;
        }
        w = a->window_ms / s->opt.step_ms;
        most_win = w > most_win ? w : most_win;
        most_for = a->for_ms > most_for ? a->for_ms : most_for;
    }
    /* After this many all-zero steps every window is zero and every alert settled. */
    s->quiet_steps = most_win + most_for / s->opt.step_ms + 2;
    if (lines_window > 0) {
        struct detect_config cfg = lines_config;
        char dur[RARR_DUR_MAX];

        cfg.step_ms = s->opt.step_ms;
        cfg.window_steps = lines_window;
        if ((s->lines_det = malloc(sizeof(*s->lines_det))) == NULL)
            return -1;
        detect_init(s->lines_det, &cfg);
        clock_format_duration((int64_t)lines_window * s->opt.step_ms, dur);
        snprintf(s->lines_rule, sizeof(s->lines_rule), "input lines anomaly over %s", dur);
    }
    return 0;
}

static int
alloc_arrays(struct step *s)
{
    size_t n = s->rs->nmetrics ? s->rs->nmetrics : 1, na = s->rs->nalerts ? s->rs->nalerts : 1;

    /* A pending event is at most lateness + one step ahead of the oldest open step. */
    s->npending = (size_t)((s->opt.lateness_ms + s->opt.step_ms - 1) / s->opt.step_ms) + 2;
    if (s->npending > SIZE_MAX / n / sizeof(*s->pending))
        return -1;
    s->pending = calloc(s->npending * n, sizeof(*s->pending));
    s->pending_lines = calloc(s->npending, sizeof(*s->pending_lines));
    s->pending_first = calloc(s->npending, sizeof(*s->pending_first));
    s->pending_last = calloc(s->npending, sizeof(*s->pending_last));
    s->pending_tz = calloc(s->npending, sizeof(*s->pending_tz));
    s->now = calloc(n, sizeof(*s->now));
    s->value = calloc(n, sizeof(*s->value));
    s->defined = calloc(n, 1);
    s->alert_value = calloc(na, sizeof(*s->alert_value));
    s->alert_defined = calloc(na, 1);
    s->win = calloc(n, sizeof(*s->win));
    s->alerts = calloc(na, sizeof(*s->alerts));
    s->det = calloc(na, sizeof(*s->det)); /* NOLINT(bugprone-sizeof-expression): pointers */
    s->view_a = calloc(na, sizeof(*s->view_a));
    s->view_b = calloc(na, sizeof(*s->view_b));
    s->keyed = calloc(n, sizeof(*s->keyed));            /* NOLINT(bugprone-sizeof-expression) */
    s->sketch = calloc(n, sizeof(*s->sketch));          /* NOLINT(bugprone-sizeof-expression) */
    s->key_alerts = calloc(na, sizeof(*s->key_alerts)); /* NOLINT(bugprone-sizeof-expression) */
    s->key_group = calloc(n, sizeof(*s->key_group));
    s->key_det = calloc(na, sizeof(*s->key_det)); /* NOLINT(bugprone-sizeof-expression) */
    s->score = calloc(na + 1, sizeof(*s->score));
    s->key_score = calloc(na, sizeof(*s->key_score)); /* NOLINT(bugprone-sizeof-expression) */
    s->related = related_new(s->rs, s->opt.step_ms);
    s->shortfall = calloc(na, sizeof(*s->shortfall));
    if (s->keyed == NULL || s->key_alerts == NULL || s->sketch == NULL || s->key_group == NULL ||
        s->key_det == NULL || s->score == NULL || s->key_score == NULL || s->related == NULL ||
        s->shortfall == NULL)
        return -1;
    if (s->pending_first == NULL || s->pending_last == NULL || s->pending_tz == NULL)
        return -1;
    return s->pending == NULL || s->pending_lines == NULL || s->now == NULL || s->value == NULL ||
                   s->defined == NULL || s->alert_value == NULL || s->alert_defined == NULL ||
                   s->win == NULL || s->alerts == NULL || s->det == NULL || s->view_a == NULL ||
                   s->view_b == NULL
               ? -1
               : 0;
}

/*
 * Which key table each metric's keys are in: a by= metric's own, but the
 * two by= operands of a ratio share one (and so do all metrics linked by
 * such ratios), owned by the group's first metric; a ratio with a by=
 * numerator has its operands' keys.
 */
static void
group_keys(struct step *s)
{
    const struct ruleset *rs = s->rs;
    size_t i, j, lo, hi;

    for (i = 0; i < rs->nmetrics; i++)
        s->key_group[i] = rs->metrics[i].kind != RULES_RATIO ? rules_keyed_metric(rs, i) : SIZE_MAX;
    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];

        if (m->kind != RULES_RATIO || s->key_group[m->a] == SIZE_MAX ||
            s->key_group[m->b] == SIZE_MAX)
            continue;
        lo = s->key_group[m->a] < s->key_group[m->b] ? s->key_group[m->a] : s->key_group[m->b];
        hi = s->key_group[m->a] ^ s->key_group[m->b] ^ lo;
        for (j = 0; j < rs->nmetrics; j++)
            if (s->key_group[j] == hi)
                s->key_group[j] = lo;
    }
    for (i = 0; i < rs->nmetrics; i++)
        if (rules_keyed_metric(rs, i) != SIZE_MAX)
            s->key_group[i] = s->key_group[rules_keyed_metric(rs, i)];
}

/*
 * How long a key of group 'g' stays without a line: the longest window of
 * its metrics' alerts; with an anomaly rule on them at least its season (a
 * day without one), for the key's detector is what it learned of the key,
 * and a quiet night is no reason to forget it.
 */
static int64_t
group_idle_ms(const struct step *s, size_t g)
{
    const struct rules_alert *a;
    size_t j, most = 1;
    int64_t ms;

    for (j = 0; j < s->rs->nmetrics; j++)
        if (s->key_group[j] == g && s->rs->metrics[j].kind != RULES_RATIO &&
            s->win[j].nsteps > most)
            most = s->win[j].nsteps;
    ms = (int64_t)most * s->opt.step_ms;
    for (j = 0; j < s->rs->nalerts; j++) {
        a = &s->rs->alerts[j];
        if (s->key_group[a->metric] != g || !a->anomaly)
            continue;
        ms = a->window_ms > ms ? a->window_ms : ms;
        ms = a->season == RULES_SEASON_WEEKLY && ms < 7 * CLOCK_DAY_MS ? 7 * CLOCK_DAY_MS : ms;
        ms = ms < CLOCK_DAY_MS ? CLOCK_DAY_MS : ms;
    }
    return ms;
}

/* The sketches of distinct= and quantile metrics. */
static int
setup_sketches(struct step *s)
{
    size_t i;

    for (i = 0; i < s->rs->nmetrics; i++) {
        const struct rules_metric *m = &s->rs->metrics[i];

        if ((m->kind == RULES_DISTINCT || m->kind == RULES_QUANTILE) &&
            (s->sketch[i] = sketched_new(m->kind == RULES_DISTINCT, m->q, s->npending,
                                         s->win[i].nsteps)) == NULL)
            return -1;
    }
    return 0;
}

/*
 * The series per key of every by= metric, shaped like the metric's window
 * (its views made for its alerts), and the alert states per key of the
 * threshold alerts on them and on ratios of them. A key is released once
 * it has had no line for the longest window of the metrics sharing its
 * table. A key table's hash is seeded by its owner's name: the same on
 * every run.
 */
static int
setup_keyed(struct step *s)
{
    const struct ruleset *rs = s->rs;
    size_t i, g, slot;

    group_keys(s);
    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];

        if ((g = s->key_group[i]) == SIZE_MAX || m->kind == RULES_RATIO)
            continue;
        s->keyed[i] = keyed_new(m->max_keys, keys_digest(m->name, strlen(m->name)), s->npending,
                                &s->win[i], group_idle_ms(s, g), g != i ? s->keyed[g]->keys : NULL);
        if (s->keyed[i] == NULL)
            return -1;
        s->keyed[i]->shared = s->keyed[g]->shared = g != i || s->keyed[g]->shared;
    }
    for (i = 0; i < rs->nalerts; i++) {
        const struct keyed *k = step_keys_of(s, rs->alerts[i].metric);

        if (k == NULL)
            continue;
        if (rs->alerts[i].anomaly) {
            /* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
            if ((s->key_det[i] = calloc(k->nslots, sizeof(*s->key_det[i]))) == NULL ||
                (s->key_score[i] = calloc(k->nslots, sizeof(*s->key_score[i]))) == NULL)
                return -1;
            continue;
        }
        if ((s->key_alerts[i] = calloc(k->nslots, sizeof(*s->key_alerts[i]))) == NULL)
            return -1;
        for (slot = 0; slot < k->nslots; slot++)
            alert_init(&s->key_alerts[i][slot]);
    }
    return 0;
}

/*
 * Make the step stage for a finished ruleset (borrowed; it must outlive the
 * stage) writing records through 'em' (borrowed). Returns NULL on
 * out-of-memory.
 */
struct step *
step_new(const struct ruleset *rs, const struct step_opts *opt, struct emit *em)
{
    struct step *s = calloc(1, sizeof(*s));
    size_t i;

    if (s == NULL)
        return NULL;
    s->rs = rs;
    s->opt = *opt;
    s->em = em;
    s->pending_max = INT64_MIN;
    s->line_step = INT64_MIN / 2; /* no step cached */
    s->horizon = INT64_MIN;
    s->written_to = INT64_MIN;
    s->first_step = INT64_MAX;
    if (alloc_arrays(s) == -1 || setup_windows(s) == -1)
        goto fail;
    for (i = 0; i < rs->nalerts; i++)
        if (setup_alert(s, i) == -1)
            goto fail;
    if (setup_quiet(s) == -1 || setup_sketches(s) == -1 || setup_keyed(s) == -1)
        goto fail;
    return s;
fail:
    step_free(s);
    return NULL;
}

/* Free the per-key detectors of anomaly rule 'i', and with 'all' their array. */
static void
free_key_detectors(struct step *s, size_t i, int all)
{
    size_t slot, n;

    if (s->key_det[i] == NULL)
        return;
    n = step_keys_of(s, s->rs->alerts[i].metric)->nslots;
    for (slot = 0; slot < n; slot++) {
        free(s->key_det[i][slot]);
        s->key_det[i][slot] = NULL;
    }
    if (s->key_score != NULL && s->key_score[i] != NULL)
        memset(s->key_score[i], 0, n * sizeof(*s->key_score[i]));
    if (all) {
        free(s->key_det[i]);
        s->key_det[i] = NULL;
        if (s->key_score != NULL) {
            free(s->key_score[i]);
            s->key_score[i] = NULL;
        }
    }
}

/* Free the stage. Does nothing if 's' is NULL. */
void
step_free(struct step *s)
{
    size_t i;

    if (s == NULL)
        return;
    if (s->win != NULL)
        for (i = 0; i < s->rs->nmetrics; i++)
            window_fini(&s->win[i]);
    if (s->det != NULL)
        for (i = 0; i < s->rs->nalerts; i++)
            free(s->det[i]);
    if (s->key_det != NULL) /* (before the keys, which say how many) */
        for (i = 0; i < s->rs->nalerts; i++)
            free_key_detectors(s, i, 1);
    free(s->key_det);
    free(s->key_score);
    related_free(s->related);
    free(s->shortfall);
    free(s->score);
    if (s->keyed != NULL)
        for (i = 0; i < s->rs->nmetrics; i++)
            keyed_free(s->keyed[i]);
    if (s->sketch != NULL)
        for (i = 0; i < s->rs->nmetrics; i++)
            sketched_free(s->sketch[i]);
    free(s->sketch);
    if (s->key_alerts != NULL)
        for (i = 0; i < s->rs->nalerts; i++)
            free(s->key_alerts[i]);
    free(s->keyed);
    free(s->key_group);
    free(s->key_alerts);
    free(s->pending);
    free(s->pending_lines);
    free(s->pending_first);
    free(s->pending_last);
    free(s->pending_tz);
    free(s->now);
    free(s->value);
    free(s->defined);
    free(s->alert_value);
    free(s->alert_defined);
    free(s->win);
    free(s->alerts);
    free(s->det);
    free(s->lines_det);
    free(s->view_a);
    free(s->view_b);
    free(s);
}

/*
 * Forget everything learned: windows, pending steps, alert states,
 * detectors, the event clock. The stage is as new.
 */
void
step_reset(struct step *s)
{
    const struct ruleset *rs = s->rs;
    size_t i, j, n = rs->nmetrics ? rs->nmetrics : 1;

    related_reset(s->related);
    memset(s->shortfall, 0, rs->nalerts * sizeof(*s->shortfall));
    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].kind != RULES_RATIO)
            window_clear(&s->win[i]);
    for (i = 0; i < rs->nmetrics; i++) {
        if (s->keyed[i] != NULL)
            keyed_reset(s->keyed[i]);
        if (s->sketch[i] != NULL)
            sketched_reset(s->sketch[i]);
    }
    for (i = 0; i < rs->nalerts; i++) {
        alert_init(&s->alerts[i]);
        for (j = 0; s->key_alerts[i] != NULL && j < step_keys_of(s, rs->alerts[i].metric)->nslots;
             j++)
            alert_init(&s->key_alerts[i][j]);
        free_key_detectors(s, i, 0);
        if (s->det[i] != NULL) {
            struct detect_config cfg = s->det[i]->cfg;

            detect_init(s->det[i], &cfg);
        }
    }
    if (s->lines_det != NULL) {
        struct detect_config cfg = s->lines_det->cfg;

        detect_init(s->lines_det, &cfg);
    }
    memset(s->pending, 0, s->npending * n * sizeof(*s->pending));
    memset(s->pending_lines, 0, s->npending * sizeof(*s->pending_lines));
    s->started = s->evaluated = s->restored = 0;
    s->max_ts = s->next_step = s->zero_run = s->idle_run = 0;
    s->tz_min = 0;
    s->pending_max = s->horizon = s->written_to = INT64_MIN;
    s->first_step = INT64_MAX;
}

/* The pending ring's row of the step starting at 'step_start'. */
size_t
step_slot(const struct step *s, int64_t step_start)
{
    int64_t k = step_start / s->opt.step_ms % (int64_t)s->npending;

    return (size_t)(k < 0 ? k + (int64_t)s->npending : k);
}

/* A ratio's value from its operands' values; 'defined' 0 below min=, at /0 or beyond a double. */
static double
ratio_value(const struct rules_metric *m, double a, double b, int *defined)
{
    double v = b != 0 ? a / b * m->k : 0;

    *defined = b >= m->min && b != 0 && isfinite(v);
    return *defined ? v : 0;
}

/* What a step writes: nothing for the steps the run that saved the state already wrote. */
struct out {
    int metrics, quiet;
    struct report *rep;
};

/*
 * Begin the event record of an alert ('restored': taken over from a
 * state): 0 when none is to be made. Else it goes to the output, or, at a
 * step the run that saved the state already wrote, to emit's tap alone,
 * marked quiet (an Alertmanager hears of it again, stdout does not).
 * event_end ends it.
 */
static int
event_begin(struct step *s, const struct out *o, int restored)
{
    if (!s->opt.emit_alerts)
        return 0;
    if (o->quiet && restored) {
        if (s->em->tap == NULL)
            return 0;
        s->em->quiet = 1;
    }
    return 1;
}

static void
event_end(struct step *s)
{
    s->em->quiet = 0;
    s->em->related = NULL;
    s->em->shortfall = NAN;
}

/*
 * The report's "what else moved" for the firing of alert 'i' on 'metric'
 * over 'window_ms' at 't' (just given to report_event). Returns 0 or -1.
 */
static int
report_related_of(struct step *s, size_t i, size_t metric, int64_t window_ms, int64_t t)
{
    struct related_list rel;

    related_find(s->related, metric, (size_t)(window_ms / s->opt.step_ms), &rel);
    return report_related(s->opt.report, i, t, &rel);
}

/*
 * The shortfall of anomaly rule 'i' on a sum= metric at a step whose value
 * is 'x' ('was_firing': its detector fired before the step): a drop that
 * fires starts it with the window that fired (expected and actual); each
 * step until it resolves adds the rate expected when it fired, and its
 * value. The resolved record says expected minus actual (anomaly_out).
 */
static void
shortfall_step(struct step *s, size_t i, const struct detect_event *dev, int was_firing, double x)
{
    struct step_shortfall *sf = &s->shortfall[i];
    double w = (double)dev->window_ms / (double)s->opt.step_ms;

    if (was_firing && sf->active && isfinite(x)) {
        sf->expected += sf->rate;
        sf->actual += x;
    }
    if (dev->fired > 0 && dev->dir < 0 && w >= 1 && isfinite(dev->expected) &&
        isfinite(dev->value)) {
        sf->active = 1;
        sf->rate = dev->expected / w;
        sf->expected = dev->expected;
        sf->actual = dev->value;
    }
}

/*
 * The "related" metrics of a firing on 'metric' (SIZE_MAX: none of the
 * rules') over 'window_ms', into 'l', for the record emit writes next
 * (event_end clears it).
 */
static void
related_begin(struct step *s, size_t metric, int64_t window_ms, struct related_list *l)
{
    related_find(s->related, metric, (size_t)(window_ms / s->opt.step_ms), l);
    s->em->related = l;
}

/* Whether metric 'i' (by=, or a ratio of a by= metric) has a line for 'slot' in its window. */
static int
key_live(const struct step *s, size_t i, size_t slot)
{
    const struct rules_metric *m = &s->rs->metrics[i];

    if (m->kind != RULES_RATIO)
        return keyed_live(s->keyed[i], slot);
    return keyed_live(s->keyed[m->a], slot) ||
           (s->keyed[m->b] != NULL && keyed_live(s->keyed[m->b], slot));
}

/* The series of 'slot' of 'k': its step just closed (view -1) or its sum over window view 'view'.
 */
static double
key_series(const struct keyed *k, size_t slot, int view)
{
    return view < 0 ? k->now[slot].value : window_sum(&k->win[slot], view);
}

/*
 * The value of metric 'i' for 'slot' of its keys: of the step just closed
 * (views -1), or over an alert's window (its views 'va' and 'vb'). A ratio
 * divides key by key, or each key by a plain denominator's total;
 * '*defined' is 0 where the ratio is not.
 */
static double
key_value(const struct step *s, size_t i, size_t slot, int va, int vb, int *defined)
{
    const struct rules_metric *m = &s->rs->metrics[i];
    double b;

    *defined = 1;
    if (m->kind != RULES_RATIO)
        return key_series(s->keyed[i], slot, va);
    if (s->keyed[m->b] != NULL)
        b = key_series(s->keyed[m->b], slot, vb);
    else
        b = vb < 0 ? s->value[m->b] : window_sum(&s->win[m->b], vb);
    return ratio_value(m, key_series(s->keyed[m->a], slot, va), b, defined);
}

/*
 * The metric records of metric 'i' with keys for the step ending 't': one
 * per key whose window holds a line (a by= metric's add up to the metric),
 * KEYS_OTHER's too; and the same values for the report.
 */
static int
key_records(struct step *s, size_t i, int64_t t, const struct out *o)
{
    const struct keyed *k = step_keys_of(s, i);
    const char *name;
    size_t slot, len, j, n = keyed_sort(k);
    int rc = 0, defined;
    double v;

    for (j = 0; j < n; j++) {
        slot = keyed_at(k, j);
        if (!key_live(s, i, slot))
            continue;
        name = keyed_name(k, slot, &len);
        v = key_value(s, i, slot, -1, -1, &defined);
        if (o->metrics)
            rc |= emit_metric(s->em, t, &s->rs->metrics[i], s->opt.step_ms, v, defined, name, len);
        if (o->rep != NULL)
            rc |= report_key(o->rep, i, name, len, v, defined);
    }
    return rc;
}

/*
 * Move the step's pending series into the windows and compute every
 * metric's value (ratios from their operands); write the metric records.
 */
static int
close_metrics(struct step *s, int64_t start, const struct out *o)
{
    const struct ruleset *rs = s->rs;
    struct series *pend = s->pending + step_slot(s, start) * rs->nmetrics;
    int64_t t = start + s->opt.step_ms;
    int rc = 0, all_zero = 1, defined;
    size_t i;

    for (i = 0; i < rs->nmetrics; i++) {
        if (rs->metrics[i].kind == RULES_RATIO)
            continue;
        s->now[i] = pend[i];
        s->value[i] = pend[i].value;
        if (pend[i].value != 0)
            all_zero = 0;
        window_push(&s->win[i], pend[i].value);
        pend[i] = (struct series){0};
        /* Keys' sums may cancel out in the metric's: each must be zero too. */
        if (s->keyed[i] != NULL && keyed_close(s->keyed[i], step_slot(s, start)))
            all_zero = 0;
        if (s->sketch[i] != NULL) {
            sketched_close(s->sketch[i], step_slot(s, start));
            rc |= sketched_window(s->sketch[i], 1, &s->value[i]);
        }
    }
    s->zero_run = all_zero ? s->zero_run + 1 : 0;
    s->evaluated = 1;
    if (s->first_step == INT64_MAX)
        s->first_step = start;
    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];

        /* A quantile of a step without a value is undefined, as a ratio below min=. */
        defined = !isnan(s->value[i]);
        if (m->kind == RULES_RATIO)
            s->value[i] = ratio_value(m, s->value[m->a], s->value[m->b], &defined);
        s->defined[i] = (unsigned char)defined;
        if (s->key_group[i] != SIZE_MAX && (o->metrics || o->rep != NULL))
            rc |= key_records(s, i, t, o);
        else if (o->metrics)
            rc |= emit_metric(s->em, t, m, s->opt.step_ms, s->value[i], defined, NULL, 0);
    }
    return rc;
}

/* The input-wide detector's step. Returns whether it inhibits the others (a drop firing). */
static int
lines_step(struct step *s, int64_t start, int64_t local, const struct out *o, int *rc)
{
    double *pl = &s->pending_lines[step_slot(s, start)];
    int64_t t = start + s->opt.step_ms;
    struct detect_event dev;
    struct related_list rel;

    if (s->lines_det == NULL)
        return 0;
    detect_step(s->lines_det, t, local, *pl, (double)s->opt.step_ms / 60000, 0, &dev);
    s->score[s->rs->nalerts] = dev.step_score;
    s->idle_run = *pl == 0 ? s->idle_run + 1 : 0;
    if (dev.fired != 0 && !s->opt.lines_quiet && event_begin(s, o, 1)) {
        if (dev.fired > 0)
            related_begin(s, SIZE_MAX, dev.window_ms, &rel);
        *rc |= emit_anomaly(s->em, t, s->lines_rule, "lines", NULL, 0, NULL, NULL, &dev);
        event_end(s);
    }
    return s->lines_det->phase == DETECT_FIRING && s->lines_det->dir < 0;
}

/* What anomaly rule 'i' reads of a step: 'x' over exposure 'e', and whether the step has a value.
 */
struct reading {
    double x, e;
    int has;
};

/* Detector 'd' at the step ending 't' reads 'r'; what it decided in 'dev'. */
static void
detector_run(struct detect *d, int64_t t, int64_t local, const struct reading *r, int inhibited,
             struct detect_event *dev)
{
    if (!d->cfg.continuous)
        detect_step(d, t, local, r->x, r->e, inhibited, dev);
    else if (r->has) /* a step without any value is missing, not zero */
        detect_value(d, t, r->x, inhibited, dev);
    else
        memset(dev, 0, sizeof(*dev));
}

/* Write what detector of rule 'i' decided at 't' (for by= key 'key', NULL: none). */
static int
anomaly_out(struct step *s, size_t i, int64_t t, const struct detect_event *dev, const char *key,
            size_t key_len, const struct out *o)
{
    const struct rules_alert *a = &s->rs->alerts[i];
    const struct rules_metric *m = &s->rs->metrics[a->metric];
    int rc = 0;
    struct related_list rel;
    double shortfall = NAN;

    if (dev->fired == 0)
        return 0;
    if (dev->fired < 0 && key == NULL && s->shortfall[i].active) {
        shortfall = s->shortfall[i].expected - s->shortfall[i].actual;
        s->shortfall[i].active = 0;
    }
    if (event_begin(s, o, s->alerts[i].restored)) {
        if (dev->fired > 0)
            related_begin(s, a->metric, dev->window_ms, &rel);
        s->em->shortfall = shortfall;
        rc |= emit_anomaly(s->em, t, a->rule, m->name, key, key_len,
                           m->category != RULES_NONE ? rules_category_name(m->category) : NULL, a,
                           dev);
        event_end(s);
    }
    if (o->rep != NULL) {
        rc |= report_event(o->rep, i, t, dev->fired > 0, key, key_len) |
              report_band(o->rep, i, t, dev, key, key_len);
        if (dev->fired > 0)
            rc |= report_related_of(s, i, a->metric, dev->window_ms, t);
    }
    return rc;
}

/* What anomaly rule 'i' reads for 'slot' of its metric's keys: the key's (over the total). */
static void
key_reading(const struct step *s, size_t i, size_t slot, struct reading *r)
{
    const struct rules_metric *m = &s->rs->metrics[s->rs->alerts[i].metric];
    const struct keyed *k = s->keyed[m->kind == RULES_RATIO ? m->a : s->rs->alerts[i].metric];

    r->x = k->now[slot].value;
    r->has = k->now[slot].n > 0;
    r->e = (double)s->opt.step_ms / 60000;
    if (m->kind == RULES_RATIO)
        r->e = s->keyed[m->b] != NULL ? s->keyed[m->b]->now[slot].value : s->value[m->b];
}

/*
 * Anomaly rule 'i' on a metric with keys at the step ending 't': a detector
 * per key (not KEYS_OTHER, a mix that changes as keys come and go), made
 * when the key has a line and freed with the key, whose records carry it.
 */
static int
key_anomalies(struct step *s, size_t i, int64_t t, int64_t local, int inhibited,
              const struct out *o)
{
    const struct keyed *k = step_keys_of(s, s->rs->alerts[i].metric);
    struct detect **kd = s->key_det[i];
    struct detect_event dev;
    struct reading r;
    const char *name;
    size_t slot, len, j, n = keyed_sort(k) - 1; /* not KEYS_OTHER */
    int rc = 0;

    for (j = 0; j < n; j++) {
        slot = keyed_at(k, j);
        if (kd[slot] == NULL) {
            if (!key_live(s, s->rs->alerts[i].metric, slot))
                continue;
            if ((kd[slot] = malloc(sizeof(*kd[slot]))) == NULL)
                return -1;
            detect_init(kd[slot], &s->det[i]->cfg);
        }
        key_reading(s, i, slot, &r);
        detector_run(kd[slot], t, local, &r, inhibited, &dev);
        s->key_score[i][slot] = dev.step_score;
        name = keyed_name(k, slot, &len);
        rc |= anomaly_out(s, i, t, &dev, name, len, o);
    }
    s->alert_defined[i] = 0; /* no one value for the report's chart */
    return rc;
}

/* Anomaly rule 'i' at the step ending 't'. */
static int
anomaly_step(struct step *s, size_t i, int64_t t, int64_t local, int inhibited, const struct out *o)
{
    const struct rules_alert *a = &s->rs->alerts[i];
    const struct rules_metric *m = &s->rs->metrics[a->metric];
    struct reading r = {s->value[a->metric], (double)s->opt.step_ms / 60000,
                        s->now[a->metric].n > 0};
    struct detect_event dev;
    int was_firing;

    if (s->key_det[i] != NULL)
        return key_anomalies(s, i, t, local, inhibited, o);
    if (m->kind == RULES_RATIO) {
        r.x = s->value[m->a];
        r.e = s->value[m->b];
    }
    was_firing = s->det[i]->phase == DETECT_FIRING;
    detector_run(s->det[i], t, local, &r, inhibited, &dev);
    if (m->kind == RULES_SUM)
        shortfall_step(s, i, &dev, was_firing, r.x);
    s->score[i] = dev.step_score;
    s->alert_value[i] = r.x;
    s->alert_defined[i] = 1;
    return anomaly_out(s, i, t, &dev, NULL, 0, o);
}

/*
 * Whether threshold alert 'a' can judge its window at the step ending 't'.
 * A below= alert on a count, a sum or a number of distinct values waits
 * until the window lies wholly after the start of the first step
 * evaluated: before, the time before the first event would read as zeros,
 * and a metric whose first line came a minute after the others' would fire
 * at once. A part of a window only counts less, so an above= alert judges
 * it at once; a ratio or a quantile is not a sum of its steps.
 */
static int
window_covered(const struct step *s, const struct rules_alert *a, int64_t t)
{
    enum rules_kind kind = s->rs->metrics[a->metric].kind;

    if (a->above || kind == RULES_RATIO || kind == RULES_QUANTILE || s->first_step == INT64_MIN)
        return 1;
    return s->first_step != INT64_MAX && t - a->window_ms >= s->first_step;
}

/*
 * Threshold alert 'i' on a metric with keys at the step ending 't': one
 * state machine per key, whose records carry the key. A key's runs while
 * its window holds a line, or until it has resolved.
 */
static int
key_thresholds(struct step *s, size_t i, int64_t t, const struct out *o)
{
    const struct rules_alert *a = &s->rs->alerts[i];
    const struct keyed *k = step_keys_of(s, a->metric);
    struct alert *ka = s->key_alerts[i];
    enum alert_event ev;
    const char *name;
    size_t slot, len, j, n = keyed_sort(k);
    int rc = 0, defined;
    struct related_list rel;
    double v;

    for (j = 0; j < n; j++) {
        slot = keyed_at(k, j);
        if (!key_live(s, a->metric, slot) && ka[slot].state == ALERT_OK)
            continue;
        v = key_value(s, a->metric, slot, s->view_a[i], s->view_b[i], &defined);
        ev = alert_step(&ka[slot], a, t, v, defined && !s->silent && window_covered(s, a, t));
        if (ev == ALERT_NONE)
            continue;
        name = keyed_name(k, slot, &len);
        if (event_begin(s, o, s->alerts[i].restored)) {
            if (ev == ALERT_FIRED)
                related_begin(s, a->metric, a->window_ms, &rel);
            rc |= emit_threshold(s->em, t, ev == ALERT_FIRED, a, &s->rs->metrics[a->metric], v,
                                 ka[slot].since_ms, name, len);
            event_end(s);
        }
        if (o->rep != NULL) {
            rc |= report_event(o->rep, i, t, ev == ALERT_FIRED, name, len);
            if (ev == ALERT_FIRED)
                rc |= report_related_of(s, i, a->metric, a->window_ms, t);
        }
    }
    s->alert_defined[i] = 0; /* no one value for the report's chart */
    return rc;
}

/* Whether every alert on the metrics of key table 'g' is quiet (not pending or firing) for 'slot'.
 */
static int
key_quiet(const struct step *s, size_t g, size_t slot)
{
    size_t a;

    for (a = 0; a < s->rs->nalerts; a++) {
        if (s->key_group[s->rs->alerts[a].metric] != g)
            continue;
        if (s->key_alerts[a] != NULL && s->key_alerts[a][slot].state != ALERT_OK)
            return 0;
        if (s->key_det[a] != NULL && s->key_det[a][slot] != NULL &&
            s->key_det[a][slot]->phase == DETECT_FIRING)
            return 0;
    }
    return 1;
}

/*
 * Release the keys idle for the longest window of the metrics sharing their
 * table, their alerts quiet, at 't': the table's owner (its first metric)
 * last.
 */
static void
evict_keys(struct step *s, int64_t t)
{
    size_t g, j, slot;

    for (g = 0; g < s->rs->nmetrics; g++) {
        struct keyed *k = s->keyed[g];

        if (k == NULL || !k->owns_keys)
            continue;
        for (slot = 0; (slot = keyed_next(k, slot)) != KEYS_NONE; slot++) {
            if (!keyed_idle(k, slot, t) || !key_quiet(s, g, slot))
                continue;
            for (j = 0; j < s->rs->nalerts; j++)
                if (s->key_det[j] != NULL && s->key_group[s->rs->alerts[j].metric] == g) {
                    free(s->key_det[j][slot]);
                    s->key_det[j][slot] = NULL;
                    s->key_score[j][slot] = 0;
                }
            for (j = s->rs->nmetrics; j-- > g;)
                if (s->keyed[j] != NULL && s->key_group[j] == g)
                    keyed_release(s->keyed[j], slot);
        }
    }
}

/* Threshold alert 'i' at the step ending 't'. */
static int
threshold_step(struct step *s, size_t i, int64_t t, const struct out *o)
{
    const struct rules_alert *a = &s->rs->alerts[i];
    const struct rules_metric *m = &s->rs->metrics[a->metric];
    enum alert_event ev;
    int defined = 1, rc = 0;
    struct related_list rel;
    double v;

    if (s->key_alerts[i] != NULL)
        return key_thresholds(s, i, t, o);

    if (m->kind == RULES_RATIO) {
        v = ratio_value(m, window_sum(&s->win[m->a], s->view_a[i]),
                        window_sum(&s->win[m->b], s->view_b[i]), &defined);
    } else if (s->sketch[a->metric] != NULL) {
        /* Distinct values or a quantile over the window: its steps' sketches merged. */
        rc |= sketched_window(s->sketch[a->metric], (size_t)(a->window_ms / s->opt.step_ms), &v);
        defined = !isnan(v);
    } else {
        v = window_sum(&s->win[a->metric], s->view_a[i]);
    }
    /* While the input is silent its zeros say nothing: the alert holds (one "input" record). */
    ev = alert_step(&s->alerts[i], a, t, v, defined && !s->silent && window_covered(s, a, t));
    s->alert_value[i] = v;
    s->alert_defined[i] = (unsigned char)defined;
    if (ev != ALERT_NONE && event_begin(s, o, s->alerts[i].restored)) {
        if (ev == ALERT_FIRED)
            related_begin(s, a->metric, a->window_ms, &rel);
        rc |= emit_threshold(s->em, t, ev == ALERT_FIRED, a, m, v, s->alerts[i].since_ms, NULL, 0);
        event_end(s);
    }
    if (ev != ALERT_NONE && o->rep != NULL) {
        rc |= report_event(o->rep, i, t, ev == ALERT_FIRED, NULL, 0);
        if (ev == ALERT_FIRED)
            rc |= report_related_of(s, i, a->metric, a->window_ms, t);
    }
    return rc;
}

/*
 * Evaluate the step starting at 'start': move pending values into windows,
 * write metric records, run the alerts. Steps the run that saved the state
 * already wrote are evaluated again, silently for the alerts that run had
 * (a new or changed rule's events there were never written). Returns 0 or
 * -1 on out-of-memory.
 */
static int
evaluate(struct step *s, int64_t start)
{
    int64_t t = start + s->opt.step_ms;
    /* Season slots follow local time: the zone of --tz, else the lines' own offset. */
    int64_t local =
        start + (s->opt.tz_given ? clock_zone_offset(start) : s->tz_min) * CLOCK_MINUTE_MS;
    int written = start < s->written_to;
    struct out o = {.metrics = s->opt.emit_metrics && !written,
                    .quiet = written,
                    .rep = written ? NULL : s->opt.report};
    int rc = s->opt.part != NULL ? s->opt.part(s->opt.part_arg, s, start) : 0, inhibited;
    size_t i;

    rc |= close_metrics(s, start, &o);
    related_push(s->related, s->value);
    inhibited = lines_step(s, start, local, &o, &rc) | s->silent;
    s->pending_lines[step_slot(s, start)] = 0;
    for (i = 0; i < s->rs->nalerts; i++)
        rc |= s->rs->alerts[i].anomaly ? anomaly_step(s, i, t, local, inhibited, &o)
                                       : threshold_step(s, i, t, &o);
    evict_keys(s, t);
    if (o.rep != NULL)
        rc |= report_step(o.rep, t, s->value, s->defined, s->alert_value, s->alert_defined);
    return rc;
}

/*
 * Evaluate every step that ends at or before 'now'. After a long run of
 * all-zero steps nothing can change any more (every window is zero, every
 * alert has settled), so without metric records a gap of days is crossed in
 * one jump instead of step by step, once no pending step holds a value;
 * with metric records only a gap longer than STEP_MAX_JUMP_MS is. The hook
 * runs after each step. Returns 0, or -1 with errno set (out of memory, or
 * the hook failed).
 */
int
step_advance(struct step *s, int64_t now)
{
    int64_t step = s->opt.step_ms;

    if (now > s->horizon)
        s->horizon = now;
    while (s->next_step + step <= now) {
        if ((!s->opt.emit_metrics || now - s->next_step > STEP_MAX_JUMP_MS) &&
            s->zero_run >= s->quiet_steps && s->idle_run >= s->quiet_idle &&
            s->next_step > s->pending_max) {
            int64_t last = clock_floor(now, step) - step;

            if (last > s->next_step)
                s->next_step = last;
        }
        if (evaluate(s, s->next_step) == -1) {
            errno = ENOMEM;
            return -1;
        }
        s->next_step += step;
        if (s->opt.after != NULL && s->opt.after(s->opt.after_arg) == -1)
            return -1;
    }
    return 0;
}

/* A line's value into a sketch: the key of a distinct= metric, the number of a quantile's. */
static int
sketch_add(struct sketched *sk, size_t row, struct slice key, double v)
{
    if (sk->distinct)
        return sketched_add_key(sk, row, key.p, key.len);
    return sketched_add_value(sk, row, v) == -2 ? -1 : 0;
}

/*
 * An event at 'ts' (zone 'tz_min') comes: the clock moves on when it is the
 * newest, and s->line_slot becomes the pending row of its step, which
 * notes the event's time. Returns 0, or -1 with errno set.
 */
static int
clock_event(struct step *s, int64_t ts, int tz_min)
{
    size_t r;

    if (!s->started) {
        s->started = 1;
        s->max_ts = ts;
        s->tz_min = tz_min;
        s->next_step = clock_floor(ts, s->opt.step_ms);
        s->horizon = ts - s->opt.lateness_ms;
    } else if (ts > s->max_ts) {
        s->max_ts = ts;
        s->tz_min = tz_min;
        if (step_advance(s, ts - s->opt.lateness_ms) == -1)
            return -1;
    }
    /* Most lines fall in the step of the line before: no division. */
    if (ts < s->line_step || ts >= s->line_step + s->opt.step_ms) {
        s->line_step = clock_floor(ts, s->opt.step_ms);
        s->line_slot = step_slot(s, s->line_step);
    }
    if (!s->evaluated && s->line_step < s->next_step)
        s->next_step = s->line_step; /* the first step is the one holding the first event */
    if (s->line_step > s->pending_max)
        s->pending_max = s->line_step;
    r = s->line_slot;
    if (s->pending_lines[r] == 0 || ts < s->pending_first[r])
        s->pending_first[r] = ts;
    if (s->pending_lines[r] == 0 || ts >= s->pending_last[r]) {
        s->pending_last[r] = ts;
        s->pending_tz[r] = tz_min;
    }
    return 0;
}

/*
 * Apply one line with time 'ts' (its zone 'tz_min' minutes east of UTC)
 * that counts in the 'n' metrics 'metrics', adding 'values' to them (to
 * the series of 'keys[j]' for a by= metric; 'keys[j]' is the value of a
 * distinct= metric; borrowed for the call): the
 * clock moves on when it is the newest event, then the line joins its
 * step's pending series. The caller has made sure the line is not late.
 * Returns 0, or -1 with errno set (see step_advance).
 */
int
step_line(struct step *s, int64_t ts, int tz_min, const size_t *metrics, const double *values,
          const struct slice *keys, size_t n)
{
    struct series *row;
    size_t j;

    if (clock_event(s, ts, tz_min) == -1)
        return -1;
    s->pending_lines[s->line_slot]++;
    row = s->pending + s->line_slot * s->rs->nmetrics;
    for (j = 0; j < n; j++) {
        /* A sketched metric's series counts its lines: a step of zeros still has values. */
        series_add(&row[metrics[j]], s->sketch[metrics[j]] != NULL ? 1 : values[j]);
        if (s->keyed[metrics[j]] != NULL)
            keyed_add(s->keyed[metrics[j]], s->line_slot, keys[j].p, keys[j].len, ts, values[j]);
        if (s->sketch[metrics[j]] != NULL &&
            sketch_add(s->sketch[metrics[j]], s->line_slot, keys[j], values[j]) == -1) {
            errno = ENOMEM;
            return -1;
        }
    }
    return 0;
}

/*
 * At the end of input: evaluate every step up to the last complete one (the
 * last whose end is at or before the newest event), lateness notwithstanding.
 * Returns 0, or -1 with errno set.
 */
int
step_finish(struct step *s)
{
    return s->started ? step_advance(s, s->max_ts) : 0;
}

/*
 * At the end of input, with --emit=partials: the steps still pending (the
 * last one, incomplete here, may be complete on the hosts together) go to
 * opt.part as they are, unevaluated. Returns 0 or -1.
 */
int
step_part_rest(struct step *s)
{
    int64_t t;

    if (!s->started || s->opt.part == NULL)
        return 0;
    for (t = s->next_step; t <= s->pending_max; t += s->opt.step_ms)
        if (s->pending_lines[step_slot(s, t)] > 0 && s->opt.part(s->opt.part_arg, s, t) == -1)
            return -1;
    return 0;
}

/*
 * --merge: the hosts' partials of step p->start come, as one line would at
 * p->first: the clock moves on as it would have for that line (steps end,
 * a gap is crossed alike), and '*row' is the pending row for the partials'
 * values (partial.c adds them). step_part_close then moves the clock to the
 * step's newest line. The step must not be before the next one to
 * evaluate (merge.c sees to it). Returns 0, or -1 with errno set.
 */
int
step_part_open(struct step *s, const struct step_part *p, size_t *row)
{
    if (clock_event(s, p->first, p->tz_min) == -1)
        return -1;
    *row = s->line_slot;
    return 0;
}

int
step_part_close(struct step *s, const struct step_part *p)
{
    return clock_event(s, p->last, p->tz_min);
}

/* Pending row 'row': its series, one per metric, and in '*lines' the lines it has. */
const struct series *
step_pending_row(const struct step *s, size_t row, double *lines)
{
    *lines = s->pending_lines[row];
    return s->pending + row * s->rs->nmetrics;
}

/*
 * The first line after a state was loaded, at 'ts': when it is more than
 * STEP_MAX_JUMP_MS after the state's newest event, the state is forgotten
 * (step_reset) and 1 is returned for the caller to say so; else 0.
 */
int
step_stale(struct step *s, int64_t ts)
{
    if (!s->restored)
        return 0;
    s->restored = 0;
    if (ts - s->max_ts <= STEP_MAX_JUMP_MS)
        return 0;
    step_reset(s);
    return 1;
}

/* Change the lateness (the input turned out live, or raw lines take the arrival clock). */
void
step_set_lateness(struct step *s, int64_t lateness_ms)
{
    s->opt.lateness_ms = lateness_ms;
}

/* The input went silent (1) or flows again (0): while silent, alerts hold and detectors rest. */
void
step_set_silent(struct step *s, int silent)
{
    s->silent = silent;
}

/* Whether an event has been applied (the clock has started). */
int
step_started(const struct step *s)
{
    return s->started;
}

/* The newest event's time. */
int64_t
step_newest(const struct step *s)
{
    return s->max_ts;
}

/* Lines before this time are late. */
int64_t
step_horizon(const struct step *s)
{
    return s->horizon;
}

/* The start of the next step to evaluate. */
int64_t
step_next(const struct step *s)
{
    return s->next_step;
}

/* Whether alert 'i' (threshold or anomaly) on a metric with keys is firing for 'slot'. */
static int
key_firing(const struct step *s, size_t i, size_t slot)
{
    if (s->key_alerts[i] != NULL)
        return s->key_alerts[i][slot].state == ALERT_FIRING;
    return s->key_det[i] != NULL && s->key_det[i][slot] != NULL &&
           s->key_det[i][slot]->phase == DETECT_FIRING;
}

/* Whether alert 'i' (threshold or anomaly; on a metric with keys: for some key) is firing. */
int
step_firing(const struct step *s, size_t i)
{
    const struct keyed *k = step_keys_of(s, s->rs->alerts[i].metric);
    size_t slot;

    if (k != NULL) {
        for (slot = 0; slot < k->nslots; slot++)
            if (key_firing(s, i, slot))
                return 1;
        return 0;
    }
    return s->rs->alerts[i].anomaly ? s->det[i]->phase == DETECT_FIRING
                                    : s->alerts[i].state == ALERT_FIRING;
}

/* SIGUSR1: every metric's last step value and window values, to 'fp'. */
void
step_dump(const struct step *s, FILE *fp)
{
    const struct ruleset *rs = s->rs;
    char t[RARR_TIME_MAX];
    size_t i, v;

    clock_format_time(s->next_step, t);
    fprintf(fp, "rarr: windows at %s (newest event ", t);
    clock_format_time(s->max_ts, t);
    fprintf(fp, "%s)\n", t);
    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];
        char dur[RARR_DUR_MAX];

        fprintf(fp, "rarr:   %s: last step ", m->name);
        if (m->kind == RULES_RATIO && !s->defined[i])
            fputs("undefined", fp);
        else
            fprintf(fp, "%.17g", s->value[i]);
        if (m->kind != RULES_RATIO) {
            for (v = 0; v < s->win[i].nviews; v++) {
                clock_format_duration((int64_t)s->win[i].views[v].steps * s->opt.step_ms, dur);
                fprintf(fp, ", %s %.17g", dur, s->win[i].views[v].sum);
            }
        }
        fputc('\n', fp);
    }
}

/* The rule text of the input-wide detector ("input lines anomaly over 1h"), or NULL. */
const char *
step_lines_rule(const struct step *s)
{
    return s->lines_det != NULL ? s->lines_rule : NULL;
}

/* The key table of metric 'metric' (a by= metric's, or a ratio's of by= metrics), or NULL. */
const struct keyed *
step_keys_of(const struct step *s, size_t metric)
{
    return s->key_group[metric] == SIZE_MAX ? NULL : s->keyed[s->key_group[metric]];
}

/*
 * The keys of by= metric 'metric': how many are in use, how many were
 * released for being idle, how many values went to KEYS_OTHER. Returns 0,
 * or -1 when the metric has no by=.
 */
int
step_keys(const struct step *s, size_t metric, uint64_t *used, uint64_t *evicted,
          uint64_t *overflow)
{
    const struct keyed *k = s->keyed[metric];

    if (k == NULL)
        return -1;
    *used = keys_used(k->keys);
    *evicted = k->evicted;
    *overflow = k->overflow;
    return 0;
}

/* Whether a step has been evaluated (the values below mean something). */
int
step_evaluated(const struct step *s)
{
    return s->evaluated;
}

/* Metric 'metric''s value over the last evaluated step; '*defined' 0 where it has none. */
double
step_value(const struct step *s, size_t metric, int *defined)
{
    *defined = s->evaluated && s->defined[metric];
    return s->value[metric];
}

/* The value over the last evaluated step of 'slot' of metric 'metric''s keys. */
double
step_key_value(const struct step *s, size_t metric, size_t slot, int *defined)
{
    return key_value(s, metric, slot, -1, -1, defined);
}

/* What 'slot' of by= metric 'metric' (not a ratio) has gathered since its key took it. */
struct series
step_key_total(const struct step *s, size_t metric, size_t slot)
{
    return keyed_total(s->keyed[metric], slot);
}

/* Call 'fn' for every key of threshold or anomaly rule 'i' on a metric with keys. */
static int
key_alerts_each(const struct step *s, size_t i, step_alert_fn fn, void *arg)
{
    const struct keyed *k = step_keys_of(s, s->rs->alerts[i].metric);
    struct step_alert v = {.alert = i};
    size_t slot;
    int rc = 0;

    for (slot = keyed_next(k, 0); slot != KEYS_NONE && rc == 0; slot = keyed_next(k, slot + 1)) {
        v.key = keyed_name(k, slot, &v.key_len);
        v.slot = slot;
        v.other = slot == keyed_other(k);
        v.firing = key_firing(s, i, slot);
        if (s->key_alerts[i] != NULL) {
            v.since_ms = s->key_alerts[i][slot].since_ms;
        } else {
            /* A key without its own detector (KEYS_OTHER, or not yet seen) has no state. */
            if ((v.det = s->key_det[i][slot]) == NULL)
                continue;
            v.since_ms = v.det->since_ms;
            v.score = s->key_score[i][slot];
        }
        rc = fn(arg, &v);
    }
    return rc;
}

/*
 * Call 'fn' for the state of every alert: each rule's (each key's, on a
 * metric with keys), then the input-wide lines rule's when there is one.
 * Stops at, and returns, the first non-zero return of 'fn'.
 */
int
step_alerts(const struct step *s, step_alert_fn fn, void *arg)
{
    struct step_alert v;
    size_t i;
    int rc = 0;

    for (i = 0; i < s->rs->nalerts && rc == 0; i++) {
        if (step_keys_of(s, s->rs->alerts[i].metric) != NULL) {
            rc = key_alerts_each(s, i, fn, arg);
            continue;
        }
        v = (struct step_alert){.alert = i, .det = s->rs->alerts[i].anomaly ? s->det[i] : NULL};
        v.firing =
            v.det != NULL ? v.det->phase == DETECT_FIRING : s->alerts[i].state == ALERT_FIRING;
        v.since_ms = v.det != NULL ? v.det->since_ms : s->alerts[i].since_ms;
        v.score = s->score[i];
        rc = fn(arg, &v);
    }
    if (rc == 0 && s->lines_det != NULL)
        rc = fn(arg, &(struct step_alert){.alert = SIZE_MAX,
                                          .firing = s->lines_det->phase == DETECT_FIRING,
                                          .since_ms = s->lines_det->since_ms,
                                          .det = s->lines_det,
                                          .score = s->score[s->rs->nalerts]});
    return rc;
}

/* step_resend's visitor: the firing record of one alert taken over from a state. */
static int
resend_one(void *arg, const struct step_alert *v)
{
    const struct step *s = arg;
    const struct rules_alert *a = v->alert != SIZE_MAX ? &s->rs->alerts[v->alert] : NULL;
    const struct rules_metric *m = a != NULL ? &s->rs->metrics[a->metric] : NULL;
    struct detect_event dev = {.fired = 1, .since_ms = v->since_ms};
    int64_t t = s->next_step;

    if (!v->firing || (a != NULL && !s->alerts[v->alert].restored))
        return 0;
    if (v->det == NULL)
        return emit_threshold(s->em, t, 1, a, m, NAN, v->since_ms, v->key, v->key_len);
    dev.window_ms = (int64_t)v->det->cfg.window_steps * s->opt.step_ms;
    dev.value = dev.expected = dev.lower = dev.upper = dev.p = NAN;
    dev.score = v->score;
    dev.dir = v->det->dir;
    if (a == NULL)
        return emit_anomaly(s->em, t, s->lines_rule, "lines", NULL, 0, NULL, NULL, &dev);
    return emit_anomaly(s->em, t, a->rule, m->name, v->key, v->key_len,
                        m->category != RULES_NONE ? rules_category_name(m->category) : NULL, a,
                        &dev);
}

/*
 * The firing records of the alerts a --state file says are firing, to the
 * output's tap only (stdout had them from the run that saved the state): an
 * Alertmanager keeps hearing of them after a restart. Values are null: the
 * state holds when they fired, not what they measured. Returns 0 or -1.
 */
int
step_resend(struct step *s)
{
    int rc;

    if (s->em->tap == NULL || !s->opt.emit_alerts)
        return 0;
    s->em->quiet = 1;
    rc = step_alerts(s, resend_one, s);
    s->em->quiet = 0;
    return rc;
}
