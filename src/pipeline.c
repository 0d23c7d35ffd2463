/*
 * pipeline.c -- the per-line loop and the per-step tick: line -> record ->
 * rule match -> window -> alert -> emit (STYLE section 1).
 *
 * Time is the event clock (SPEC section 4): 'now' is the newest event
 * timestamp minus the lateness; a step is evaluated once 'now' passes its
 * end, and an event older than 'now' is late (counted, not applied). Events
 * not yet evaluated wait in a small ring of pending steps, one slot per step
 * that can still receive events (lateness/step + 2 of them), indexed by the
 * absolute step number. Evaluating a step moves each metric's pending value
 * into its window, writes metric records, then runs the alerts. Nothing here
 * reads the wall clock unless the arrival clock was asked for, so a replay
 * gives the same bytes however the input arrives.
 */
#include "rarr/pipeline.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/clock.h"
#include "rarr/input_clf.h"
#include "rarr/input_json.h"
#include "rarr/state.h"

/*
 * A gap longer than this (a confirmed jump of months, or a state file that
 * old) is crossed in one jump even with metric records, once the windows
 * have drained: a record per step for the whole distance would cost without
 * bound (1970 to now is 29 million steps of a minute).
 */
#define MAX_JUMP_MS (31LL * 24 * 3600 * 1000)
/* Queued output is written once it reaches this size, even inside one line. */
#define FLUSH_BYTES (64 * 1024)
/* Input whose newest timestamp is this close to the wall clock is live (SPEC 4). */
#define LIVE_MS (5 * 60 * 1000)
/*
 * Time moves with the wall clock only after this long without a line, so a
 * recent log dribbled through a pipe with short pauses gives the same bytes
 * as the same log read from a file.
 */
#define IDLE_MS 1000
#define DAY_MS (24LL * 3600 * 1000)
/*
 * A line further ahead of the newest event than the lateness (at least
 * JUMP_MIN_MS) moves the clock only once JUMP_CONFIRM lines in a row (it
 * included) agree with it: a line that moved it less leaves every later line
 * within the lateness. Before the clock has started, lines agree when within
 * START_AGREE_MS of each other.
 */
#define JUMP_MIN_MS (5 * 60 * 1000)
/* At the end of input one held line is taken if it is no further ahead than this. */
#define LONE_JUMP_MS (60 * 60 * 1000)
#define START_AGREE_MS DAY_MS
#define JUMP_CONFIRM 3
/* A late line this far behind the newest event (past the lateness) gets a hint. */
#define FAR_BEHIND_MS (60 * 60 * 1000)
/* The wrong-format watch: a stretch of lines, and the least worth a word at the end. */
#define STRETCH_LINES 64
#define STRETCH_MIN 8

/* --state is saved at least this often, in event time and in wall-clock time. */
#define SAVE_EVERY_MS (5 * 60 * 1000)
/*
 * sum= values are taken below 2^53 in magnitude: from there on doubles do
 * not even hold every integer. However many lines a step has, its sum and every window's
 * stay finite (1e9 such lines a step over a million steps is 9e30), so no
 * value, threshold, detector or state file ever meets an infinity.
 */
#define SUM_VALUE_MAX 9007199254740992.0

/* The format in use: the one given, or the one auto-detected (RECORD_AUTO before). */
enum record_format
pipeline_format(const struct pipeline *p)
{
    return p->format;
}

static int
setup_windows(struct pipeline *p)
{
    const struct ruleset *rs = p->rs;
    size_t i, *steps;
    int64_t most_for = 0, most_win = 1;
    int lines_window = 0;

    if ((steps = calloc(rs->nmetrics + 1, sizeof(*steps))) == NULL)
        return -1;
    for (i = 0; i < rs->nmetrics; i++)
        steps[i] = 1;
    /* A metric's ring holds the longest window any alert reads it over. */
    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_alert *a = &rs->alerts[i];
        const struct rules_metric *m = &rs->metrics[a->metric];
        size_t w = (size_t)(a->window_ms / p->opt.step_ms);

        if (a->anomaly)
            continue;
        if (m->kind == RULES_RATIO) {
            steps[m->a] = w > steps[m->a] ? w : steps[m->a];
            steps[m->b] = w > steps[m->b] ? w : steps[m->b];
        } else {
            steps[a->metric] = w > steps[a->metric] ? w : steps[a->metric];
        }
        if ((int64_t)w > most_win)
            most_win = (int64_t)w;
        if (a->for_ms > most_for)
            most_for = a->for_ms;
    }
    for (i = 0; i < rs->nmetrics; i++) {
        if (rs->metrics[i].kind != RULES_RATIO && window_init(&p->win[i], steps[i]) == -1) {
            free(steps);
            return -1;
        }
    }
    free(steps);
    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_alert *a = &rs->alerts[i];
        const struct rules_metric *m = &rs->metrics[a->metric];
        size_t w = (size_t)(a->window_ms / p->opt.step_ms);

        alert_init(&p->alerts[i]);
        if (a->anomaly) {
            struct detect_config cfg = {
                .season = (enum detect_season)a->season,
                .direction = a->direction == RULES_DROP    ? DETECT_DROP
                             : a->direction == RULES_SPIKE ? DETECT_SPIKE
                                                           : DETECT_BOTH,
                .far = a->far,
                .min = a->min,
                .min_given = a->min_given,
                .step_ms = p->opt.step_ms,
                .window_steps = (int)(w < DETECT_RING ? w : DETECT_RING),
                .for_steps = (int)((a->for_ms + p->opt.step_ms - 1) / p->opt.step_ms),
                /*
                 * A sum watched over one step asks for point anomalies: the
                 * continuous path. Over longer windows a sum is scanned like a
                 * count, its burstiness (free to go below 1) carrying the units.
                 */
                .continuous = m->kind == RULES_SUM && w == 1,
                .sum = m->kind == RULES_SUM,
            };

            if ((p->det[i] = malloc(sizeof(*p->det[i]))) == NULL)
                return -1;
            detect_init(p->det[i], &cfg);
            continue;
        }
        if (m->kind == RULES_RATIO) {
            p->view_a[i] = window_view(&p->win[m->a], w);
            p->view_b[i] = window_view(&p->win[m->b], w);
        } else {
            p->view_a[i] = window_view(&p->win[a->metric], w);
        }
        if (p->view_a[i] == -1 || (m->kind == RULES_RATIO && p->view_b[i] == -1))
            return -1;
    }
    /* After this many all-zero steps every window is zero and every alert settled. */
    p->quiet_steps = most_win + most_for / p->opt.step_ms + 2;
    /*
     * Anomaly detectors learn from quiet steps too, so a gap is crossed step
     * by step, but only for a day: after a whole day without a single line
     * the input is gone, not quiet (the "lines" detector has long fired), and
     * the rest of the gap is skipped. Forged timestamps a month apart cannot
     * make each line cost weeks of steps. When the whole input drops (the
     * site or the log shipper is down), one "lines" anomaly is better than
     * one per metric: a detector on all applied lines, over the longest
     * anomaly window, inhibits the others while it fires a drop (ANOMALY.md
     * 4.11).
     */
    for (i = 0; i < rs->nalerts; i++) {
        if (!rs->alerts[i].anomaly)
            continue;
        p->quiet_idle = DAY_MS / p->opt.step_ms;
        if (p->det[i]->cfg.window_steps > lines_window)
            lines_window = p->det[i]->cfg.window_steps;
    }
    if (lines_window > 0) {
        struct detect_config cfg = {.season = DETECT_WEEKLY,
                                    .direction = DETECT_DROP,
                                    .far = 0.1,
                                    .min = 10,
                                    .step_ms = p->opt.step_ms,
                                    .window_steps = lines_window,
                                    .for_steps = 1};

        if ((p->lines_det = malloc(sizeof(*p->lines_det))) == NULL)
            return -1;
        detect_init(p->lines_det, &cfg);
    }
    if (p->lines_det != NULL) {
        char dur[RARR_DUR_MAX];

        clock_format_duration((int64_t)p->lines_det->cfg.window_steps * p->opt.step_ms, dur);
        snprintf(p->lines_text, sizeof(p->lines_text), "input lines anomaly over %s", dur);
        strcpy(p->lines_name, "lines");
        p->lines_metric.name = p->lines_name;
        p->lines_rule.rule = p->lines_text;
    }
    return 0;
}

/*
 * Make a pipeline for a finished ruleset (borrowed; it must outlive the
 * pipeline) writing records through 'em' (borrowed). Returns NULL with 'd'
 * set on out-of-memory.
 */
struct pipeline *
pipeline_new(const struct ruleset *rs, const struct pipeline_opts *opt, struct emit *em,
             struct diag *d)
{
    struct pipeline *p = calloc(1, sizeof(*p));
    size_t n = rs->nmetrics ? rs->nmetrics : 1, na = rs->nalerts ? rs->nalerts : 1;

    if (p == NULL)
        goto oom;
    p->rs = rs;
    p->opt = *opt;
    p->em = em;
    p->format = opt->format;
    diag_bad_init(&p->bad, opt->diag);
    hold_init(&p->fmt_hold);
    hold_init(&p->jump_hold);
    p->bad.clear_line = opt->progress != NULL;
    p->pending_max = INT64_MIN;
    p->line_step = INT64_MIN / 2; /* no step cached */
    p->horizon = INT64_MIN;
    p->written_to = INT64_MIN;
    /* A pending event is at most lateness + one step ahead of the oldest open step. */
    p->npending = (size_t)((opt->lateness_ms + opt->step_ms - 1) / opt->step_ms) + 2;
    if (p->npending > SIZE_MAX / n / sizeof(double))
        goto oom;
    p->pending = calloc(p->npending * n, sizeof(*p->pending));
    p->pending_n = calloc(p->npending * n, sizeof(*p->pending_n));
    p->step_value = calloc(n, sizeof(*p->step_value));
    p->step_n = calloc(n, sizeof(*p->step_n));
    p->line_value = calloc(n, sizeof(*p->line_value));
    p->hits = calloc(n, sizeof(*p->hits));
    p->step_defined = calloc(n, 1);
    p->alert_value = calloc(na, sizeof(*p->alert_value));
    p->alert_defined = calloc(na, 1);
    p->matches = calloc(n, sizeof(*p->matches));
    p->sum_skipped = calloc(n, sizeof(*p->sum_skipped));
    p->win = calloc(n, sizeof(*p->win));
    p->alerts = calloc(na, sizeof(*p->alerts));
    p->det = calloc(na, sizeof(*p->det)); /* NOLINT(bugprone-sizeof-expression): pointers */
    p->pending_lines = calloc(p->npending, sizeof(*p->pending_lines));
    p->view_a = calloc(na, sizeof(*p->view_a));
    p->view_b = calloc(na, sizeof(*p->view_b));
    if (p->pending == NULL || p->pending_n == NULL || p->step_n == NULL || p->step_value == NULL ||
        p->line_value == NULL || p->hits == NULL || p->step_defined == NULL ||
        p->alert_value == NULL || p->alert_defined == NULL || p->matches == NULL ||
        p->sum_skipped == NULL || p->win == NULL || p->alerts == NULL || p->det == NULL ||
        p->pending_lines == NULL || p->view_a == NULL || p->view_b == NULL)
        goto oom;
    if ((p->mt = match_new(rs, opt->match_limit, opt->depth_limit)) == NULL ||
        record_init(&p->rec, rs->fields, rs->nfields) == -1 || setup_windows(p) == -1)
        goto oom;
    return p;
oom:
    diag_set(d, NULL, 0, 0, "out of memory");
    pipeline_free(p);
    return NULL;
}

/* Free a pipeline. Does nothing if 'p' is NULL. */
void
pipeline_free(struct pipeline *p)
{
    size_t i;

    if (p == NULL)
        return;
    if (p->win != NULL)
        for (i = 0; i < p->rs->nmetrics; i++)
            window_fini(&p->win[i]);
    record_fini(&p->rec);
    match_free(p->mt);
    free(p->pending);
    free(p->pending_n);
    free(p->step_value);
    free(p->step_n);
    free(p->line_value);
    free(p->hits);
    free(p->step_defined);
    free(p->alert_value);
    free(p->alert_defined);
    free(p->matches);
    free(p->sum_skipped);
    hold_fini(&p->fmt_hold);
    hold_fini(&p->jump_hold);
    free(p->win);
    if (p->det != NULL)
        for (i = 0; i < p->rs->nalerts; i++)
            free(p->det[i]);
    free(p->det);
    free(p->lines_det);
    free(p->pending_lines);
    free(p->alerts);
    free(p->view_a);
    free(p->view_b);
    free(p);
}

/* The pending ring's row of the step starting at 'step_start'. */
size_t
pipeline_slot(const struct pipeline *p, int64_t step_start)
{
    int64_t k = step_start / p->opt.step_ms % (int64_t)p->npending;

    return (size_t)(k < 0 ? k + (int64_t)p->npending : k);
}

/*
 * The number a sum= field holds, in '*out'. Returns 0; -1 when it is not a
 * number ("-" for no bytes); -2 when it is infinite, NaN or not below
 * SUM_VALUE_MAX in magnitude. Either way the value is skipped and counted.
 */
static int
sum_value(struct slice v, double *out)
{
    char num[64], *end;

    if (v.len == 0 || v.len >= sizeof(num))
        return -1;
    memcpy(num, v.p, v.len);
    num[v.len] = '\0';
    *out = strtod(num, &end);
    if (*end != '\0' || end == num)
        return -1;
    return fabs(*out) < SUM_VALUE_MAX ? 0 : -2; /* NaN fails too */
}

/* Count a skipped sum= value of metric 'i'; the first one out of range is said, once a run. */
static void
sum_skipped(struct pipeline *p, size_t i, int why, const char *src, uint64_t lineno)
{
    if (why == -2 && !p->sum_range_said && p->opt.diag != NULL)
        fprintf(p->opt.diag,
                "rarr: %s:%llu: %s: a sum= value of 2^53 or more (or not finite) is skipped; such "
                "values are counted in --stats\n",
                src, (unsigned long long)lineno, p->rs->metrics[i].name);
    if (why == -2)
        p->sum_range_said = 1;
    p->sum_skipped[i]++;
}

/* A ratio's value from its operands' values; 'defined' 0 below min=, at /0 or beyond a double. */
static double
ratio_value(const struct rules_metric *m, double a, double b, int *defined)
{
    double v = b != 0 ? a / b * m->k : 0;

    *defined = b >= m->min && b != 0 && isfinite(v);
    return *defined ? v : 0;
}

/*
 * Evaluate the step starting at 'start': move pending values into windows,
 * write metric records, run the alerts. Returns 0 or -1 on out-of-memory.
 */
static int
evaluate(struct pipeline *p, int64_t start)
{
    const struct ruleset *rs = p->rs;
    int64_t t = start + p->opt.step_ms;
    double *pend = p->pending + pipeline_slot(p, start) * rs->nmetrics;
    double *pend_n = p->pending_n + pipeline_slot(p, start) * rs->nmetrics;
    /* Season slots follow local time: the zone of --tz, else the lines' own offset. */
    int64_t local = start + (p->opt.tz_given ? clock_zone_offset(start) : p->tz_min) * 60000LL;
    size_t i;
    int rc = 0, all_zero = 1, defined, inhibited = 0;
    /*
     * Steps the run that saved the state already wrote are evaluated again,
     * silently for the alerts that run had (a new or changed rule's events
     * there were never written).
     */
    int alerts = p->opt.emit_alerts && start >= p->written_to, quiet = start < p->written_to;
    int metrics = p->opt.emit_metrics && start >= p->written_to;
    struct report *rep = start >= p->written_to ? p->opt.report : NULL;

    for (i = 0; i < rs->nmetrics; i++) {
        if (rs->metrics[i].kind == RULES_RATIO)
            continue;
        p->step_value[i] = pend[i];
        if (pend[i] != 0)
            all_zero = 0;
        window_push(&p->win[i], pend[i]);
        p->step_n[i] = pend_n[i];
        pend[i] = pend_n[i] = 0;
    }
    p->zero_run = all_zero ? p->zero_run + 1 : 0;
    p->evaluated = 1;
    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];

        defined = 1;
        if (m->kind == RULES_RATIO)
            p->step_value[i] = ratio_value(m, p->step_value[m->a], p->step_value[m->b], &defined);
        p->step_defined[i] = (unsigned char)defined;
        if (metrics)
            rc |= emit_metric(p->em, t, m, p->opt.step_ms, p->step_value[i], defined);
    }
    if (p->lines_det != NULL) {
        double *pl = &p->pending_lines[pipeline_slot(p, start)];
        struct detect_event dev;

        detect_step(p->lines_det, t, local, *pl, (double)p->opt.step_ms / 60000, 0, &dev);
        p->idle_run = *pl == 0 ? p->idle_run + 1 : 0;
        *pl = 0;
        if (dev.fired != 0 && alerts)
            rc |= emit_anomaly(p->em, t, &p->lines_rule, &p->lines_metric, &dev);
        inhibited = p->lines_det->phase == DETECT_FIRING && p->lines_det->dir < 0;
    }
    inhibited |= p->silent;
    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_alert *a = &rs->alerts[i];
        const struct rules_metric *m = &rs->metrics[a->metric];
        int out = p->opt.emit_alerts && !(quiet && p->alerts[i].restored);
        enum alert_event ev;
        double v;

        if (a->anomaly) {
            struct detect_event dev;
            double x = p->step_value[a->metric], e = (double)p->opt.step_ms / 60000;

            if (m->kind == RULES_RATIO) {
                x = p->step_value[m->a];
                e = p->step_value[m->b];
            }
            if (p->det[i]->cfg.continuous) {
                /* A step without any value is missing, not zero. */
                if (p->step_n[a->metric] > 0)
                    detect_value(p->det[i], t, x, inhibited, &dev);
                else
                    memset(&dev, 0, sizeof(dev));
            } else {
                detect_step(p->det[i], t, local, x, e, inhibited, &dev);
            }
            p->alert_value[i] = x;
            p->alert_defined[i] = 1;
            if (dev.fired != 0 && out)
                rc |= emit_anomaly(p->em, t, a, m, &dev);
            if (dev.fired != 0 && rep != NULL)
                rc |= report_event(rep, i, t, dev.fired > 0);
            continue;
        }
        defined = 1;
        if (m->kind == RULES_RATIO)
            v = ratio_value(m, window_sum(&p->win[m->a], p->view_a[i]),
                            window_sum(&p->win[m->b], p->view_b[i]), &defined);
        else
            v = window_sum(&p->win[a->metric], p->view_a[i]);
        /* While the input is silent its zeros say nothing: the alert holds (one "input" record). */
        ev = alert_step(&p->alerts[i], a, t, v, defined && !p->silent);
        p->alert_value[i] = v;
        p->alert_defined[i] = (unsigned char)defined;
        if (ev != ALERT_NONE && out)
            rc |= emit_threshold(p->em, t, ev == ALERT_FIRED, a, m, v, p->alerts[i].since_ms);
        if (ev != ALERT_NONE && rep != NULL)
            rc |= report_event(rep, i, t, ev == ALERT_FIRED);
    }
    if (rep != NULL)
        rc |= report_step(rep, t, p->step_value, p->step_defined, p->alert_value, p->alert_defined);
    return rc;
}

/*
 * Count and report how a save went ('rc' 0 or -1 with errno set): a failure
 * is reported once until a save succeeds again; it makes the exit status
 * 1, never stops the stream. Returns 'rc'.
 */
static int
saved(struct pipeline *p, int rc)
{
    if (rc == -1) {
        if (!p->save_failed)
            fprintf(stderr, "rarr: %s: cannot save state: %s\n", p->opt.state_path,
                    strerror(errno));
        p->save_failed = 1;
        p->save_errors++;
        return -1;
    }
    if (p->save_failed)
        fprintf(stderr, "rarr: %s: state saved again\n", p->opt.state_path);
    p->save_failed = 0;
    return 0;
}

/*
 * Save the state (--state) now. 'written_to', unless INT64_MIN, is where the
 * steps written so far end, when that is past the state's next step (the end
 * of input). Returns 0 or -1 (see saved()).
 */
int
pipeline_save(struct pipeline *p, int64_t written_to)
{
    json_t *snap = state_snapshot(p), *clk;
    int rc = -1;

    if (snap != NULL && written_to != INT64_MIN && (clk = json_object_get(snap, "clock")) != NULL)
        json_object_set_new(clk, "written_to", json_integer(written_to));
    if (snap == NULL)
        errno = ENOMEM;
    else
        rc = state_write(snap, p->opt.state_path);
    json_decref(snap);
    p->saved_wall = clock_wall_ms();
    p->saved_event = p->next_step;
    return saved(p, rc);
}

/*
 * Whether a periodic save is due (SPEC section 1): 5 minutes of event time
 * or of wall-clock time since the last one. A replay crosses 5 minutes of
 * event time in microseconds, so event-time saves are at least
 * opt.save_gap_ms of wall time apart.
 */
static int
save_due(const struct pipeline *p)
{
    int64_t wall;

    if (p->opt.state_path == NULL || !p->started)
        return 0;
    wall = clock_wall_ms();
    if (wall - p->saved_wall >= SAVE_EVERY_MS)
        return 1;
    return p->next_step - p->saved_event >= SAVE_EVERY_MS &&
           wall - p->saved_wall >= p->opt.save_gap_ms;
}

/*
 * Evaluate every step that ends at or before 'now'. After a long run of
 * all-zero steps nothing can change any more (every window is zero, every
 * alert has settled), so without metric records a gap of days is crossed in
 * one jump instead of step by step, once no pending step holds a value;
 * with metric records only a gap longer than MAX_JUMP_MS is.
 * Returns 0, or -1 with errno set (output failed, or out of memory).
 */
static int
advance(struct pipeline *p, int64_t now)
{
    int64_t step = p->opt.step_ms;

    if (now > p->horizon)
        p->horizon = now;
    while (p->next_step + step <= now) {
        if ((!p->opt.emit_metrics || now - p->next_step > MAX_JUMP_MS) &&
            p->zero_run >= p->quiet_steps && p->idle_run >= p->quiet_idle &&
            p->next_step > p->pending_max) {
            int64_t last = clock_floor(now, step) - step;

            if (last > p->next_step)
                p->next_step = last;
        }
        if (evaluate(p, p->next_step) == -1) {
            errno = ENOMEM;
            return -1;
        }
        p->next_step += step;
        if (p->em->out.len >= FLUSH_BYTES && emit_flush(p->em) == -1)
            return -1;
        if (save_due(p))
            pipeline_save(p, INT64_MIN);
    }
    return 0;
}

/* Count and report a skipped line; it never changes the exit status. */
int
pipeline_bad(struct pipeline *p, const char *src, uint64_t lineno, enum diag_reason why,
             const char *line, size_t len)
{
    diag_bad_line(&p->bad, src, lineno, why, line, len);
    if (p->opt.explain)
        buf_printf(&p->em->out, "%s:%llu: skipped: %s\n", src, (unsigned long long)lineno,
                   diag_reason_name(why));
    return 0;
}

static int
flush(struct pipeline *p)
{
    if (p->em->out.len == 0)
        return 0;
    return emit_flush(p->em);
}

/* Parse the line into p->rec by the format in use; -1 with '*why' if it does not parse. */
static int
parse(struct pipeline *p, const char *line, size_t len, enum diag_reason *why)
{
    struct record *r = &p->rec;
    int need_time = p->opt.clock == PIPELINE_EVENT;

    if (record_begin(r, p->format, line, len) == -1)
        return -2;
    switch (p->format) {
    case RECORD_COMBINED:
    case RECORD_COMMON:
    case RECORD_VCOMBINED:
        *why = DIAG_NOT_CLF;
        return input_clf_parse(r, p->format);
    case RECORD_JSON:
        return input_json_parse(
            r, p->opt.time_field == SIZE_MAX ? NULL : &p->rs->fields[p->opt.time_field], need_time,
            why);
    case RECORD_RAW:
    case RECORD_AUTO:
    case RECORD_NFORMATS:
        break;
    }
    if (need_time && match_time(p->mt, p->rs, r, &r->ts_ms) == 0)
        r->has_ts = 1;
    *why = DIAG_NO_TIME;
    return 0;
}

/* --explain: each metric's verdict on the line, and the condition that decided a miss. */
static void
explain(struct pipeline *p, const char *src, uint64_t lineno)
{
    static const char *const ops[] = {"~", "!~", "="};
    const struct ruleset *rs = p->rs;
    struct buf *b = &p->em->out;
    char t[RARR_TIME_MAX], why[DIAG_DETAIL_MAX];
    size_t i, failed = 0;

    clock_format_time(p->rec.ts_ms, t);
    buf_printf(b, "%s:%llu: %s %s\n", src, (unsigned long long)lineno,
               record_format_name(p->format), t);
    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];
        const struct rules_cond *c;
        enum match_result res;
        struct slice v;

        if (m->kind == RULES_RATIO)
            continue;
        if ((res = match_metric(p->mt, m, &p->rec, &failed)) == MATCH_YES) {
            buf_printf(b, "  %s: matched\n", m->name);
            continue;
        }
        c = &m->conds[failed];
        v = record_get(&p->rec, c->field);
        if (res == MATCH_ERROR)
            match_error(p->mt, why, sizeof(why));
        buf_printf(b, "  %s: %s: %s%s'%s' on ", m->name, res == MATCH_ERROR ? why : "no match",
                   rs->fields[c->field].name, ops[c->op], c->text);
        emit_json_string(b, v.p, v.len > 200 ? 200 : v.len);
        buf_addc(b, '\n');
    }
}

/*
 * Watch for a wrong format: when most lines of a stretch do not parse as the
 * format in use, say so once (even with -q: nothing is counted right) and
 * name the format they look like. Called for each line that did not parse
 * ('end' 0), so lines that parse cost nothing, and at the end of input. A
 * stretch is STRETCH_LINES lines from its first failure; it is called out
 * once more than half of them have failed (at the end: of the lines it had,
 * if at least STRETCH_MIN).
 */
static void
stretch(struct pipeline *p, const char *src, uint64_t lineno, const char *line, size_t len, int end)
{
    uint64_t n;

    if (p->stretch_warned || (end && p->stretch_bad == 0))
        return;
    n = p->taken - p->stretch_start;
    if (!end) {
        if (p->stretch_bad == 0 || n >= STRETCH_LINES) {
            p->stretch_start = p->taken - 1; /* a new stretch starts with this line */
            p->stretch_bad = 0;
            n = 1;
        }
        p->stretch_bad++;
        p->stretch_src = src;
        p->stretch_lineno = lineno;
        p->stretch_guess = input_detect(&p->rec, line, len);
    }
    if (p->stretch_bad * 2 > STRETCH_LINES || (end && n >= STRETCH_MIN && p->stretch_bad * 2 > n)) {
        const char *as = record_format_name(p->format),
                   *guess = record_format_name(p->stretch_guess);

        p->stretch_warned = 1;
        fprintf(stderr, "rarr: %s:%llu: warning: %u of the last %llu lines are not %s lines",
                p->stretch_src, (unsigned long long)p->stretch_lineno, p->stretch_bad,
                (unsigned long long)n, as);
        if (p->stretch_guess != p->format)
            fprintf(stderr, "; they look like %s (try -f %s)", guess, guess);
        fputs("; rarr --help lists the formats\n", stderr);
    }
}

/*
 * Count a late line (older than the clock's horizon) and say how late it was;
 * a line far behind the newest event, in another input than the one that set
 * it, most likely means the inputs were given out of time order: say that
 * once per input.
 */
static int
late(struct pipeline *p, const char *src, uint64_t lineno, int64_t ts, const char *line, size_t len)
{
    int64_t behind = (p->max_ts - ts + 999) / 1000 * 1000; /* up to a whole second */

    p->bad.lateness_ms = p->opt.lateness_ms;
    p->bad.late_last_ms = behind;
    if (behind > p->bad.late_max_ms)
        p->bad.late_max_ms = behind;
    /* Said even with -q: whole inputs may be going to waste. */
    if (behind > p->opt.lateness_ms + FAR_BEHIND_MS && src != p->hint_src) {
        char dur[RARR_DUR_MAX];

        p->hint_src = src;
        clock_format_duration(clock_floor(behind, 60000), dur);
        if (p->max_src != NULL && p->max_src != src)
            fprintf(stderr,
                    "rarr: %s:%llu: %s behind the newest event (from %s): are the inputs out of "
                    "time order? give the oldest first\n",
                    src, (unsigned long long)lineno, dur, p->max_src);
        else
            fprintf(stderr,
                    "rarr: %s:%llu: %s behind the newest event: this input is far out of time "
                    "order\n",
                    src, (unsigned long long)lineno, dur);
    }
    return pipeline_bad(p, src, lineno, DIAG_LATE, line, len);
}

/* The held lines were not confirmed by the lines after them: skip them as time jumps. */
static void
reject_held(struct pipeline *p)
{
    struct hold *h = &p->jump_hold;
    size_t i;

    for (i = 0; i < h->n; i++)
        pipeline_bad(p, h->v[i].src, h->v[i].lineno, DIAG_TIME_JUMP, hold_text(h, i), h->v[i].len);
    hold_clear(h);
}

static int take(struct pipeline *p, const char *src, uint64_t lineno, const char *line, size_t len,
                int confirmed);

/* The held lines are confirmed: apply them in the order they came. Returns 0 or -1. */
static int
release_held(struct pipeline *p, struct hold *h, int confirmed)
{
    struct hold out = *h; /* the lines leave the hold before they are taken */
    size_t i;
    int rc = 0;

    hold_init(h);
    for (i = 0; i < out.n && rc == 0; i++)
        rc = take(p, out.v[i].src, out.v[i].lineno, hold_text(&out, i), out.v[i].len, confirmed);
    hold_fini(h);
    *h = out; /* its memory serves the next lines */
    hold_clear(h);
    return rc;
}

/* How far ahead of the newest event a line may be and still be taken at once. */
static int64_t
jump_ms(const struct pipeline *p)
{
    return p->opt.lateness_ms > JUMP_MIN_MS ? p->opt.lateness_ms : JUMP_MIN_MS;
}

/*
 * A line whose time breaks from the clock (more than jump_ms() ahead of the
 * newest event, or any line before the clock has started) is held until
 * later lines confirm it: JUMP_CONFIRM lines in a row that agree with the
 * first held one (before the start: within START_AGREE_MS of it; after: not
 * falling back to the old clock), or the wall clock (a live line not ahead
 * of it by more than jump_ms()). A line
 * that agrees with neither the clock nor the held ones starts a new hold;
 * the lines it replaces are skipped as time jumps. So one stray timestamp,
 * early or far ahead, costs that line, not the lines after it.
 */
static int
hold_jump(struct pipeline *p, const char *src, uint64_t lineno, const char *line, size_t len,
          int64_t ts)
{
    struct hold *h = &p->jump_hold;
    int vouched =
        p->last_wall != 0 && ts <= p->last_wall + jump_ms(p) && ts >= p->last_wall - LIVE_MS;

    if (h->n > 0 &&
        (p->started ? ts < h->v[0].ts_ms - jump_ms(p) : llabs(ts - h->v[0].ts_ms) > START_AGREE_MS))
        reject_held(p);
    if (hold_add(h, src, lineno, line, len, ts) == -1) {
        errno = ENOMEM;
        return -1;
    }
    return h->n >= JUMP_CONFIRM || vouched ? release_held(p, h, 1) : 0;
}

/*
 * The input turned out live: without --lateness, the replay lateness drops
 * to the live one, so the steps it held back are evaluated now.
 */
static int
go_live(struct pipeline *p)
{
    if (p->opt.lateness_given || p->opt.lateness_ms <= RARR_LIVE_LATENESS_MS)
        return 0;
    p->opt.lateness_ms = RARR_LIVE_LATENESS_MS;
    return p->started ? advance(p, p->max_ts - p->opt.lateness_ms) : 0;
}

static int apply(struct pipeline *p, const char *src, uint64_t lineno, int64_t ts);

/*
 * Take one non-blank line of a known format: parse it, read its time, then
 * hold it (a clock jump to confirm), skip it (late, bad) or apply it.
 * 'confirmed' says the line was held and its time is confirmed. Returns 0,
 * or -1 with errno set when output failed or memory ran out.
 */
static int
take(struct pipeline *p, const char *src, uint64_t lineno, const char *line, size_t len,
     int confirmed)
{
    struct record *r = &p->rec;
    enum diag_reason why = DIAG_NOT_CLF;
    int64_t ts;
    int rc;

    p->taken += !confirmed; /* the lines a wrong-format stretch counts */
    if ((rc = parse(p, line, len, &why)) == -2) {
        errno = ENOMEM;
        return -1;
    }
    if (p->opt.clock == PIPELINE_ARRIVAL && rc == 0) {
        r->ts_ms = clock_wall_ms();
        r->has_ts = 1;
    }
    if (rc == -1 || !r->has_ts) {
        record_end(r);
        if (!confirmed && rc == -1 &&
            (why == DIAG_NOT_CLF || why == DIAG_BAD_JSON || why == DIAG_NOT_OBJECT))
            stretch(p, src, lineno, line, len, 0);
        return pipeline_bad(p, src, lineno, why, line, len);
    }
    ts = r->ts_ms;
    if (p->last_wall != 0) {
        p->live = p->opt.clock == PIPELINE_ARRIVAL || llabs(ts - p->last_wall) <= LIVE_MS;
        if (p->live && go_live(p) == -1)
            return -1;
    }
    if (p->restored) {
        p->restored = 0;
        if (ts - p->max_ts > MAX_JUMP_MS) {
            fprintf(stderr,
                    "rarr: %s:%llu: more than 31 days after the state's newest event; "
                    "starting without state\n",
                    src, (unsigned long long)lineno);
            pipeline_reset(p);
        }
    }
    if (p->started && ts <= p->max_ts + jump_ms(p)) {
        /* In step with the clock: lines held as a jump ahead of it were strays. */
        if (p->jump_hold.n > 0)
            reject_held(p);
    } else if (!confirmed && p->opt.clock == PIPELINE_EVENT) {
        record_end(r);
        return hold_jump(p, src, lineno, line, len, ts);
    }
    if (p->started && ts < p->horizon) {
        record_end(r);
        return late(p, src, lineno, ts, line, len);
    }
    return apply(p, src, lineno, ts);
}

/*
 * Decide the format from the lines held for the vote (--format=auto), then
 * take them. Raw lines default to the arrival clock.
 */
static int
decide_format(struct pipeline *p)
{
    struct hold *h = &p->fmt_hold;
    struct input_vote v;
    size_t i;

    input_vote_init(&v);
    for (i = 0; i < h->n; i++)
        input_vote_add(&v, &p->rec, hold_text(h, i), h->v[i].len);
    p->format = input_vote_decide(&v);
    if (p->opt.verbose)
        fprintf(stderr, "rarr: %s: format %s\n", h->v[0].src, record_format_name(p->format));
    if (p->format == RECORD_RAW && !p->opt.clock_given) {
        p->opt.clock = PIPELINE_ARRIVAL;
        p->opt.lateness_ms = 0;
    }
    rules_warn_fields(p->rs, p->format, stderr);
    return release_held(p, h, 0);
}

/*
 * Feed one line (without its newline) read from 'src' at 'lineno'. Blank
 * lines and tail's "==> FILE <==" headers are counted and skipped; with
 * --format=auto the first lines are held until they have voted on the
 * format. Bad lines are counted and reported. Returns 0, or -1 with errno
 * set when output failed (EPIPE: the reader is gone) or memory ran out.
 */
int
pipeline_line(struct pipeline *p, const char *src, uint64_t lineno, const char *line, size_t len)
{
    p->lines++;
    if (input_is_blank(line, len)) {
        p->empty++;
        return 0;
    }
    if (input_is_tail_header(line, len)) {
        p->headers++;
        return 0;
    }
    if (p->format != RECORD_AUTO)
        return take(p, src, lineno, line, len, 0);
    if (hold_add(&p->fmt_hold, src, lineno, line, len, 0) == -1) {
        errno = ENOMEM;
        return -1;
    }
    return p->fmt_hold.n >= INPUT_VOTE_LINES ? decide_format(p) : 0;
}

/*
 * Match a parsed line (in p->rec, with time 'ts') against every metric and
 * add it to its step's pending values, moving the clock on when it is the
 * newest event. Returns 0 or -1 with errno set.
 */
static int
apply(struct pipeline *p, const char *src, uint64_t lineno, int64_t ts)
{
    const struct ruleset *rs = p->rs;
    struct record *r = &p->rec;
    size_t i, j, n, step_slot;
    int64_t step_start;
    long nhits;
    int limit, why;

    p->parsed++;

    /* Match every metric before applying any: a line that hits a match limit counts nowhere. */
    nhits = match_line(p->mt, r, p->hits);
    limit = nhits < 0;
    for (j = 0, n = 0; !limit && j < (size_t)nhits; j++) {
        const struct rules_metric *m = &rs->metrics[i = p->hits[j]];
        double value = 1;

        if (match_scoped(p->mt, i)) {
            /* Its captures, a sum= field among them, are in scope until the next metric. */
            enum match_result res = match_metric(p->mt, m, r, NULL);

            limit = res == MATCH_ERROR;
            if (res != MATCH_YES)
                continue;
        }
        if (m->kind == RULES_SUM && (why = sum_value(record_get(r, m->sum_field), &value)) < 0) {
            sum_skipped(p, i, why, src, lineno);
            continue;
        }
        p->hits[n] = i;
        p->line_value[n++] = value;
    }
    if (p->opt.explain)
        explain(p, src, lineno);
    record_end(r);
    if (limit) {
        p->parsed--;
        return pipeline_bad(p, src, lineno,
                            match_error(p->mt, p->bad.detail, sizeof(p->bad.detail))
                                ? DIAG_MATCH_LIMIT
                                : DIAG_MATCH_ERROR,
                            r->line.p, r->line.len);
    }

    /* Advance time with the newest event, then apply the line to its step. */
    if (!p->started) {
        p->started = 1;
        p->max_ts = ts;
        p->tz_min = r->tz_min;
        p->max_src = src;
        p->next_step = clock_floor(ts, p->opt.step_ms);
        p->horizon = ts - p->opt.lateness_ms;
    } else if (ts > p->max_ts) {
        p->max_ts = ts;
        p->max_src = src;
        p->tz_min = r->tz_min;
        if (advance(p, ts - p->opt.lateness_ms) == -1)
            return -1;
    }
    /* Most lines fall in the step of the line before: no division. */
    if (ts < p->line_step || ts >= p->line_step + p->opt.step_ms) {
        p->line_step = clock_floor(ts, p->opt.step_ms);
        p->line_slot = pipeline_slot(p, p->line_step);
    }
    step_start = p->line_step;
    if (!p->evaluated && step_start < p->next_step)
        p->next_step = step_start; /* SPEC 4: the first step is the one holding the first event */
    p->pending_lines[p->line_slot]++;
    if (step_start > p->pending_max)
        p->pending_max = step_start;
    step_slot = p->line_slot * rs->nmetrics;
    for (j = 0; j < n; j++) {
        i = p->hits[j];
        p->matches[i]++;
        p->pending[step_slot + i] += p->line_value[j];
        p->pending_n[step_slot + i]++;
    }
    /* Events go out at once; metric records wait for a full buffer or for the reader to wait. */
    return p->em->urgent || p->em->out.len >= FLUSH_BYTES ? flush(p) : 0;
}

/*
 * Let time pass without lines (SPEC section 4, live input): when the last
 * line was live and none has come for IDLE_MS, evaluate the steps that end
 * by the wall clock minus the lateness, so a metric whose lines stopped is seen at zero; and after
 * --silence without any line, write an "input" record. Replay (old
 * timestamps, or a regular file, which is never waited on) never gets here
 * with 'live' set, so it stays deterministic. Returns 0 or -1 with errno.
 */
int
pipeline_tick(struct pipeline *p, int64_t wall_ms)
{
    /* Live input that stops after a few lines: they vote on the format without waiting. */
    if (p->fmt_hold.n > 0 && p->last_wall != 0 && wall_ms - p->last_wall >= IDLE_MS &&
        decide_format(p) == -1)
        return -1;
    if (!p->live || p->last_wall == 0 || wall_ms - p->last_wall < IDLE_MS)
        return 0;
    if (p->started && advance(p, wall_ms - p->opt.lateness_ms) == -1)
        return -1;
    if (save_due(p))
        pipeline_save(p, INT64_MIN);
    if (p->opt.silence_ms > 0 && !p->silent && wall_ms - p->last_wall >= p->opt.silence_ms) {
        p->silent = 1;
        p->silent_since = clock_floor(p->last_wall, 1000);
        if (emit_input(p->em, clock_floor(wall_ms, 1000), 1, p->silent_since) == -1)
            return -1;
    }
    return flush(p);
}

/*
 * How long the reader may wait for bytes before time must be moved on: until
 * the next step is due or the silence is up (at least 10 ms, at most a
 * minute); -1 (block) when the input is not live.
 */
static int
wait_ms(const struct pipeline *p, int64_t wall_ms)
{
    int64_t due = INT64_MAX, w;

    if (p->fmt_hold.n > 0 && p->last_wall != 0)
        return (int)(p->last_wall + IDLE_MS - wall_ms < 10 ? 10 : p->last_wall + IDLE_MS - wall_ms);
    if (!p->live || p->last_wall == 0)
        return -1;
    if (p->started)
        due = p->next_step + p->opt.step_ms + p->opt.lateness_ms;
    if (p->opt.silence_ms > 0 && !p->silent && p->last_wall + p->opt.silence_ms < due)
        due = p->last_wall + p->opt.silence_ms;
    if (due < p->last_wall + IDLE_MS)
        due = p->last_wall + IDLE_MS;
    w = due - wall_ms;
    return (int)(w < 10 ? 10 : w > 60000 ? 60000 : w);
}

static int
wait_cb(void *arg)
{
    struct pipeline *p = arg;

    /* Before any wait for input, what is decided goes out. */
    if (flush(p) == -1) {
        p->out_errno = errno;
        return 0;
    }
    return wait_ms(p, clock_wall_ms());
}

/* SIGUSR1: every metric's last step value and window values, to 'fp'. */
void
pipeline_dump(const struct pipeline *p, FILE *fp)
{
    const struct ruleset *rs = p->rs;
    char t[RARR_TIME_MAX];
    size_t i, v;

    clock_format_time(p->next_step, t);
    fprintf(fp, "rarr: windows at %s (newest event ", t);
    clock_format_time(p->max_ts, t);
    fprintf(fp, "%s)\n", t);
    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];
        char dur[RARR_DUR_MAX];

        fprintf(fp, "rarr:   %s: last step ", m->name);
        if (m->kind == RULES_RATIO && !p->step_defined[i])
            fputs("undefined", fp);
        else
            fprintf(fp, "%.17g", p->step_value[i]);
        if (m->kind != RULES_RATIO) {
            for (v = 0; v < p->win[i].nviews; v++) {
                clock_format_duration((int64_t)p->win[i].views[v].steps * p->opt.step_ms, dur);
                fprintf(fp, ", %s %.17g", dur, p->win[i].views[v].sum);
            }
        }
        fputc('\n', fp);
    }
}

/*
 * Read every line of 'in' into the pipeline. For live input (not a regular
 * file) the reader waits at most until time must move on, and time moves
 * on with the wall clock meanwhile. Returns 0; -1 with errno set when
 * reading failed (the caller reports it and goes on with the next file);
 * -2 when output failed (errno EPIPE: end quietly); -3 when opt.stop was set;
 * -4 when opt.hup was set (the caller reloads the rules and calls again).
 */
int
pipeline_feed(struct pipeline *p, struct input *in)
{
    struct slice line;
    enum input_status st;

    /* Asked only when the reader runs dry: no clock reading per line. */
    in->wait_ms = wait_cb;
    in->wait_arg = p;
    for (;;) {
        /* Flags are looked at between lines, so a line read is never dropped. */
        if (p->opt.dump != NULL && *p->opt.dump) {
            *p->opt.dump = 0;
            pipeline_dump(p, stderr);
        }
        if (p->opt.hup != NULL && *p->opt.hup) {
            *p->opt.hup = 0;
            return -4;
        }
        if (p->opt.stop != NULL && *p->opt.stop)
            return -3;
        if (p->out_errno != 0) {
            errno = p->out_errno;
            return -2;
        }
        st = input_next(in, &line);
        if (st == INPUT_EOF)
            return 0;
        if (st == INPUT_ERROR)
            return -1;
        if (st == INPUT_AGAIN) {
            if (pipeline_tick(p, clock_wall_ms()) == -1)
                return -2;
            continue;
        }
        if (!in->regular) {
            p->last_wall = in->read_ms;
            if (p->silent) {
                p->silent = 0;
                if (emit_input(p->em, clock_floor(p->last_wall, 1000), 0, p->silent_since) == -1) {
                    errno = ENOMEM;
                    return -2;
                }
            }
        }
        if (st == INPUT_TOO_LONG) {
            p->lines++;
            pipeline_bad(p, in->name, in->lineno, DIAG_TOO_LONG, line.p, line.len);
            continue;
        }
        if (pipeline_line(p, in->name, in->lineno, line.p, line.len) == -1)
            return -2;
        if (p->opt.progress != NULL && (in->lineno & 0xffff) == 0)
            p->opt.progress(p->opt.progress_arg, in, p->lines);
    }
}

/*
 * At the end of input: evaluate every step up to the last complete one (the
 * last whose end is at or before the newest event), lateness notwithstanding
 * (SPEC section 4), and flush. Returns 0 or -1 with errno set.
 */
int
pipeline_finish(struct pipeline *p)
{
    json_t *snap = NULL, *clk;
    int rc = 0;

    /*
     * Lines still held are decided now: the format from the lines there are;
     * lines held before the clock started start it (nothing contradicts
     * them), and so do two or more held after a jump (they agree with each
     * other: a sparse log's last lines); one line alone ahead was a stray.
     */
    if (p->fmt_hold.n > 0 && decide_format(p) == -1)
        rc = -1;
    if (p->jump_hold.n > 0 &&
        (!p->started || p->jump_hold.n >= 2 ||
         p->jump_hold.v[0].ts_ms - p->max_ts <= LONE_JUMP_MS) &&
        release_held(p, &p->jump_hold, 1) == -1)
        rc = -1;
    reject_held(p);
    stretch(p, NULL, 0, NULL, 0, 1);

    /*
     * The state saved is the one before the last steps are forced out: the
     * next run evaluates them again with whatever late lines it brings,
     * writing nothing for the steps this run wrote ("written_to").
     */
    if (p->opt.state_path != NULL && p->started && (snap = state_snapshot(p)) == NULL) {
        errno = ENOMEM;
        saved(p, -1);
    }
    if (p->started && advance(p, p->max_ts) == -1)
        rc = -1;
    diag_bad_finish(&p->bad);
    if (p->opt.diag == NULL)
        diag_bad_late_advice(&p->bad, stderr); /* lines lost: said even with -q */
    if (flush(p) == -1)
        rc = -1;
    if (snap != NULL) {
        if ((clk = json_object_get(snap, "clock")) != NULL)
            json_object_set_new(clk, "written_to", json_integer(p->next_step));
        saved(p, state_mark_firing(snap, p) == -1 ? -1 : state_write(snap, p->opt.state_path));
        json_decref(snap);
    }
    return rc;
}

/*
 * After a rule reload: take over from 'old' what belongs to the stream, not
 * to the rules: the format detected, the clock in use, live-input and
 * silence tracking, save bookkeeping and the counts for --stats. The
 * windows, alerts and detectors come through the state (state_restore).
 */
void
pipeline_adopt(struct pipeline *p, const struct pipeline *old)
{
    size_t i, j;

    p->format = old->format;
    p->opt.clock = old->opt.clock;
    p->opt.lateness_ms = old->opt.lateness_ms;
    p->bad = old->bad;
    p->restored = 0;
    p->last_wall = old->last_wall;
    p->live = old->live;
    p->silent = old->silent;
    p->silent_since = old->silent_since;
    p->saved_event = old->saved_event;
    p->saved_wall = old->saved_wall;
    p->save_failed = old->save_failed;
    p->save_errors = old->save_errors;
    p->lines = old->lines;
    p->empty = old->empty;
    p->parsed = old->parsed;
    p->headers = old->headers;
    p->max_src = old->max_src;
    p->hint_src = old->hint_src;
    p->stretch_warned = old->stretch_warned;
    /* Lines held by the old pipeline are the new one's to decide. */
    if (hold_copy(&p->fmt_hold, &old->fmt_hold) == -1 ||
        hold_copy(&p->jump_hold, &old->jump_hold) == -1)
        fputs("rarr: SIGHUP: out of memory: lines held back are lost\n", stderr);
    for (i = 0; i < p->rs->nmetrics; i++)
        for (j = 0; j < old->rs->nmetrics; j++)
            if (strcmp(p->rs->metrics[i].name, old->rs->metrics[j].name) == 0) {
                p->matches[i] = old->matches[j];
                p->sum_skipped[i] = old->sum_skipped[j];
            }
}

/*
 * Forget everything learned: windows, pending steps, alert states,
 * detectors, the event clock. The pipeline is as new.
 */
void
pipeline_reset(struct pipeline *p)
{
    const struct ruleset *rs = p->rs;
    size_t i, n = rs->nmetrics ? rs->nmetrics : 1;

    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].kind != RULES_RATIO)
            window_clear(&p->win[i]);
    for (i = 0; i < rs->nalerts; i++) {
        alert_init(&p->alerts[i]);
        if (p->det[i] != NULL) {
            struct detect_config cfg = p->det[i]->cfg;

            detect_init(p->det[i], &cfg);
        }
    }
    if (p->lines_det != NULL) {
        struct detect_config cfg = p->lines_det->cfg;

        detect_init(p->lines_det, &cfg);
    }
    memset(p->pending, 0, p->npending * n * sizeof(*p->pending));
    memset(p->pending_n, 0, p->npending * n * sizeof(*p->pending_n));
    memset(p->pending_lines, 0, p->npending * sizeof(*p->pending_lines));
    p->started = p->evaluated = p->restored = 0;
    p->max_ts = p->next_step = p->zero_run = p->idle_run = 0;
    p->tz_min = 0;
    p->pending_max = p->horizon = p->written_to = INT64_MIN;
}

/* Print --stats to 'fp'; 'seconds' is the run's wall time. */
void
pipeline_stats(const struct pipeline *p, FILE *fp, double seconds)
{
    const struct ruleset *rs = p->rs;
    size_t i;
    int r;

    fprintf(fp, "rarr: stats: lines %llu, parsed %llu, empty %llu, bad %llu\n",
            (unsigned long long)p->lines, (unsigned long long)p->parsed,
            (unsigned long long)p->empty, (unsigned long long)p->bad.total);
    for (r = 0; r < DIAG_NREASONS; r++)
        if (p->bad.count[r] > 0 && r != DIAG_LATE)
            fprintf(fp, "rarr: stats: bad: %s %llu\n", diag_reason_name((enum diag_reason)r),
                    (unsigned long long)p->bad.count[r]);
    fprintf(fp, "rarr: stats: late %llu", (unsigned long long)p->bad.count[DIAG_LATE]);
    if (p->bad.count[DIAG_LATE] > 0) {
        char most[RARR_DUR_MAX], lateness[RARR_DUR_MAX];

        clock_format_duration(p->bad.late_max_ms, most);
        clock_format_duration(p->bad.lateness_ms, lateness);
        fprintf(fp, " (the most %s behind the newest event; --lateness %s)", most, lateness);
    }
    fputc('\n', fp);
    if (p->headers > 0)
        fprintf(fp, "rarr: stats: tail headers %llu\n", (unsigned long long)p->headers);
    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].kind != RULES_RATIO)
            fprintf(fp, "rarr: stats: matches %s %llu\n", rs->metrics[i].name,
                    (unsigned long long)p->matches[i]);
    for (i = 0; i < rs->nmetrics; i++)
        if (p->sum_skipped[i] > 0)
            fprintf(fp, "rarr: stats: sum= values skipped %s %llu (not numbers, or beyond 2^53)\n",
                    rs->metrics[i].name,
                    (unsigned long long)p->sum_skipped[i]);
    fprintf(fp, "rarr: stats: events %llu, metric records %llu\n",
            (unsigned long long)p->em->events, (unsigned long long)p->em->metrics);
    fprintf(fp, "rarr: stats: %.3f s, %.0f lines/s\n", seconds,
            seconds > 0 ? (double)p->lines / seconds : 0.0);
}
