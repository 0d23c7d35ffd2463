/*
 * pipeline.c -- the per-line loop: line -> record -> rule match -> step
 * (docs/design.md, "Data flow").
 *
 * A line is parsed by the format in use (voted on by the first lines when
 * not given), its time read, and then it is held (a clock jump waiting for
 * confirmation), skipped (late, bad: counted and told) or matched against
 * every metric and handed to the step stage, which owns the event clock,
 * windows, alerts and detectors. For live input the loop also moves time
 * on with the wall clock while no line comes, and tells when the input
 * goes silent. Saves of --state are scheduled by save.c, after each step.
 */
#include "rarr/pipeline.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/clock.h"
#include "rarr/explain.h"
#include "rarr/hold.h"
#include "rarr/input_clf.h"
#include "rarr/input_json.h"
#include "rarr/match.h"
#include "rarr/save.h"
#include "rarr/state.h"

/* Queued output is written once it reaches this size, even inside one line. */
#define FLUSH_BYTES (64 * 1024)
/* Input whose newest timestamp is this close to the wall clock is live. */
#define LIVE_MS (5 * CLOCK_MINUTE_MS)
/*
 * Time moves with the wall clock only after this long without a line, so a
 * recent log dribbled through a pipe with short pauses gives the same bytes
 * as the same log read from a file.
 */
#define IDLE_MS CLOCK_SECOND_MS
/*
 * A line further ahead of the newest event than the lateness (at least
 * JUMP_MIN_MS) moves the clock only once JUMP_CONFIRM lines in a row (it
 * included) agree with it: a line that moved it less leaves every later line
 * within the lateness. Before the clock has started, lines agree when within
 * START_AGREE_MS of each other.
 */
#define JUMP_MIN_MS (5 * CLOCK_MINUTE_MS)
/* At the end of input one held line is taken if it is no further ahead than this. */
#define LONE_JUMP_MS CLOCK_HOUR_MS
#define START_AGREE_MS CLOCK_DAY_MS
#define JUMP_CONFIRM 3
/* A late line this far behind the newest event (past the lateness) gets a hint. */
#define FAR_BEHIND_MS CLOCK_HOUR_MS
/* The wrong-format watch: a stretch of lines, and the least worth a word at the end. */
#define STRETCH_LINES 64
#define STRETCH_MIN 8
/*
 * sum= values are taken below 2^53 in magnitude: from there on doubles do
 * not even hold every integer. However many lines a step has, its sum and every window's
 * stay finite (1e9 such lines a step over a million steps is 9e30), so no
 * value, threshold, detector or state file ever meets an infinity.
 */
#define SUM_VALUE_MAX 9007199254740992.0

struct pipeline {
    const struct ruleset *rs;
    struct pipeline_opts opt;
    struct emit *em;
    struct matcher *mt;
    struct step *step;
    struct save save;
    struct record rec;
    enum record_format format;
    struct diag_bad bad;

    int64_t last_wall; /* wall clock when the last line was read (live input only) */
    int live;          /* the last line's time was within LIVE_MS of the wall clock */
    int silent;        /* an "input" silent record is out */
    int64_t silent_since;
    int out_errno; /* writing output failed while the reader waited (wait_cb) */

    size_t *hits;           /* [nmetrics] the metrics this line counts in */
    double *line_value;     /* [nmetrics] what it adds to each of them, by hit */
    struct slice *line_key; /* [nmetrics] a by= metric's key, by hit (borrowed from the record) */

    struct hold fmt_hold;    /* the first lines, while they vote on the format */
    struct hold jump_hold;   /* lines far from the clock, until later lines confirm them */
    const char *max_src;     /* the input of the line that set the newest event */
    const char *hint_src;    /* the input last told it may be out of order */
    uint64_t taken;          /* lines parsed so far, each once (a held line when first taken) */
    uint64_t stretch_start;  /* p->taken before the current stretch's first line */
    unsigned stretch_bad;    /* lines of the stretch that did not parse */
    int stretch_warned;      /* the wrong-format warning is out */
    const char *stretch_src; /* where the stretch's last line came from */
    uint64_t stretch_lineno;
    enum record_format stretch_guess; /* what the failed lines looked like */

    uint64_t lines, empty, headers, parsed;
    uint64_t saved_lines; /* p->lines at the last save made before a wait for input */
    struct explain *ex;       /* --explain; NULL: none */
    uint64_t *matches;        /* [nmetrics] */
    double *sums;             /* [nmetrics] what the lines added (a count's: its matches) */
    uint64_t *sum_skipped;    /* [nmetrics] sum= values that were not numbers, or out of range */
    int sum_range_said;       /* a value out of range was told */
    unsigned char *keys_said; /* [nmetrics] a by= metric's overflow was told */
};

/* Tell the operator (stderr): the one place the loop prints a warning. */
static void say(const struct pipeline *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const struct pipeline *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(p->opt.log, fmt, ap);
    va_end(ap);
}

/* The format in use: the one given, or the one auto-detected (RECORD_AUTO before). */
enum record_format
pipeline_format(const struct pipeline *p)
{
    return p->format;
}

/* The options the pipeline runs with (the lateness and clock as they are now). */
const struct pipeline_opts *
pipeline_opts(const struct pipeline *p)
{
    return &p->opt;
}

/* The step stage the pipeline feeds (for --state and tests). */
struct step *
pipeline_step(struct pipeline *p)
{
    return p->step;
}

static int
flush(struct pipeline *p)
{
    if (p->em->out.len == 0)
        return 0;
    return emit_flush(p->em);
}

/*
 * Say once per by= metric that its keys overflowed max_keys: the values past
 * it are counted in KEYS_OTHER (--stats says how many).
 */
static void
overflow_said(struct pipeline *p)
{
    uint64_t used, evicted, overflow;
    size_t i;

    for (i = 0; i < p->rs->nmetrics; i++) {
        const struct rules_metric *m = &p->rs->metrics[i];

        if (p->keys_said[i] || step_keys(p->step, i, &used, &evicted, &overflow) == -1 ||
            overflow == 0)
            continue;
        p->keys_said[i] = 1;
        say(p,
            "rarr: %s: more than max_keys=%zu values of by=%s at once; the others are counted "
            "in key " KEYS_OTHER " (--stats says how many)\n",
            m->name, m->max_keys, p->rs->fields[m->by_field].name);
    }
}

/* After each evaluated step: write what is queued once it is large, save when due. */
static int
stepped(void *arg)
{
    struct pipeline *p = arg;

    overflow_said(p);
    if (p->em->out.len >= FLUSH_BYTES && emit_flush(p->em) == -1)
        return -1;
    if (p->opt.exporter != NULL)
        p->opt.exporter(p->opt.exporter_arg, p, 0);
    if (save_due(&p->save, p->step))
        save_now(&p->save, p->step, INT64_MIN);
    return 0;
}

/* The lateness in force, for the loop and the step stage alike. */
static void
set_lateness(struct pipeline *p, int64_t ms)
{
    p->opt.lateness_ms = ms;
    step_set_lateness(p->step, ms);
}

static struct step *
new_step(struct pipeline *p)
{
    struct step_opts so = {.step_ms = p->opt.step_ms,
                           .lateness_ms = p->opt.lateness_ms,
                           .emit_alerts = p->opt.emit_alerts,
                           .emit_metrics = p->opt.emit_metrics,
                           .tz_given = p->opt.tz_given,
                           .report = p->opt.report,
                           .after = stepped,
                           .after_arg = p,
                           .part = p->opt.part,
                           .part_arg = p->opt.part_arg,
                           .lines_quiet = p->opt.lines_quiet};

    return step_new(p->rs, &so, p->em);
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
    size_t n = rs->nmetrics ? rs->nmetrics : 1;

    if (p == NULL)
        goto oom;
    p->rs = rs;
    p->opt = *opt;
    if (p->opt.log == NULL)
        p->opt.log = stderr;
    p->em = em;
    p->format = opt->format;
    diag_bad_init(&p->bad, opt->diag);
    hold_init(&p->fmt_hold);
    hold_init(&p->jump_hold);
    save_init(&p->save, opt->state_path, opt->save_gap_ms, p->opt.log);
    p->bad.clear_line = opt->progress != NULL;
    p->line_value = calloc(n, sizeof(*p->line_value));
    p->hits = calloc(n, sizeof(*p->hits));
    p->matches = calloc(n, sizeof(*p->matches));
    p->sums = calloc(n, sizeof(*p->sums));
    p->sum_skipped = calloc(n, sizeof(*p->sum_skipped));
    p->line_key = calloc(n, sizeof(*p->line_key));
    p->keys_said = calloc(n, 1);
    if (p->line_value == NULL || p->hits == NULL || p->matches == NULL || p->sums == NULL ||
        p->sum_skipped == NULL || p->line_key == NULL || p->keys_said == NULL)
        goto oom;
    if (opt->explain && (p->ex = explain_new(rs)) == NULL)
        goto oom;
    if ((p->mt = match_new(rs, opt->match_limit, opt->depth_limit)) == NULL ||
        record_init(&p->rec, rs->fields, rs->nfields) == -1 || (p->step = new_step(p)) == NULL)
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
    if (p == NULL)
        return;
    step_free(p->step);
    record_fini(&p->rec);
    match_free(p->mt);
    free(p->line_value);
    free(p->line_key);
    free(p->keys_said);
    free(p->hits);
    free(p->matches);
    explain_free(p->ex);
    free(p->sums);
    free(p->sum_skipped);
    hold_fini(&p->fmt_hold);
    hold_fini(&p->jump_hold);
    free(p);
}

/*
 * --state: load the file named by opt.state_path into the step stage (see
 * save_load). Returns 0, or -1 after a message: rarr must not go on.
 */
int
pipeline_load_state(struct pipeline *p)
{
    return p->save.path == NULL ? 0 : save_load(&p->save, p->step);
}

/*
 * Save the state (--state) now. 'written_to', unless INT64_MIN, is where the
 * steps written so far end, when that is past the state's next step (the end
 * of input). Returns 0 or -1 (told once).
 */
int
pipeline_save(struct pipeline *p, int64_t written_to)
{
    return save_now(&p->save, p->step, written_to);
}

/* The emitter the pipeline writes through. */
struct emit *
pipeline_emit(struct pipeline *p)
{
    return p->em;
}

/* Whether a save of --state failed during the run: the exit status says so. */
int
pipeline_save_failed(const struct pipeline *p)
{
    return p->save.errors > 0;
}

/* Count and report a skipped line; it never changes the exit status. Returns 0. */
static int
skip(struct pipeline *p, const char *src, uint64_t lineno, enum diag_reason why, const char *line,
     size_t len)
{
    diag_bad_line(&p->bad, src, lineno, why, line, len);
    if (p->ex != NULL)
        explain_skipped(p->ex, &p->em->out, src, lineno, why, line, len);
    return 0;
}

/* skip() for the merge's records, which are not lines of this pipeline's input. */
int
pipeline_skip(struct pipeline *p, const char *src, uint64_t lineno, enum diag_reason why,
              const char *line, size_t len)
{
    return skip(p, src, lineno, why, line, len);
}

/*
 * The merge put hosts' partials into pending row 'row': count their lines
 * and matches as if they had been read here (--stats, the exporters).
 */
void
pipeline_merged(struct pipeline *p, size_t row)
{
    double lines;
    const struct series *v = step_pending_row(p->step, row, &lines);
    size_t i;

    p->lines += (uint64_t)lines;
    p->parsed += (uint64_t)lines;
    for (i = 0; i < p->rs->nmetrics; i++) {
        p->matches[i] += (uint64_t)v[i].n;
        p->sums[i] += v[i].value;
    }
}

static int go_live(struct pipeline *p);

/*
 * A merged step's newest line was at 'newest', read at wall clock 'wall':
 * when that is live (within LIVE_MS), the lateness drops to the live one as
 * for lines read here, so a live merge alerts promptly. Returns 0 or -1.
 */
int
pipeline_merged_clock(struct pipeline *p, int64_t newest, int64_t wall)
{
    if (llabs(newest - wall) > LIVE_MS)
        return 0;
    p->live = 1;
    return go_live(p);
}

/* Keep another stage's JSON in the --state file too (see struct save). */
void
pipeline_save_also(struct pipeline *p, save_get_fn get, save_put_fn put, void *arg)
{
    p->save.get = get;
    p->save.put = put;
    p->save.arg = arg;
}

/*
 * The number a sum= field holds, in '*out'. Returns 0; -1 when it is not a
 * number ("-" for no bytes); -2 when it is infinite, NaN or not below
 * SUM_VALUE_MAX in magnitude. Either way the value is skipped and counted.
 */
static int
sum_value(struct slice v, double *out)
{
    static const double pow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    char num[64], *end;
    uint64_t n = 0;
    size_t i = v.len > 0 && v.p[0] == '-', digits = 0, frac = 0;
    int point = 0;

    /*
     * Numbers of up to 15 digits with or without a point (bytes, 0.0848
     * seconds) need no strtod: the digits and 10^frac are exact doubles, so
     * one division rounds as strtod does.
     */
    for (; i < v.len && v.len <= 17; i++) {
        if (v.p[i] >= '0' && v.p[i] <= '9') {
            n = n * 10 + (uint64_t)(v.p[i] - '0');
            digits++;
            frac += point;
        } else if (v.p[i] == '.' && !point) {
            point = 1;
        } else {
            break;
        }
    }
    if (i == v.len && digits > 0 && digits <= 15) {
        *out = (double)n / pow10[frac];
        *out = v.p[0] == '-' ? -*out : *out;
        return 0;
    }
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
                "rarr: %s:%llu: %s: a %s= value of 2^53 or more (or not finite) is skipped; such "
                "values are counted in --stats\n",
                src, (unsigned long long)lineno, p->rs->metrics[i].name,
                rules_kind_option(&p->rs->metrics[i]));
    if (why == -2)
        p->sum_range_said = 1;
    p->sum_skipped[i]++;
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
        say(p, "rarr: %s:%llu: warning: %u of the last %llu lines are not %s lines", p->stretch_src,
            (unsigned long long)p->stretch_lineno, p->stretch_bad, (unsigned long long)n, as);
        if (p->stretch_guess != p->format)
            say(p, "; they look like %s (try -f %s)", guess, guess);
        say(p, "; rarr --help lists the formats\n");
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
    int64_t behind = (step_newest(p->step) - ts + 999) / 1000 * 1000; /* up to a whole second */

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
            say(p,
                "rarr: %s:%llu: %s behind the newest event (from %s): are the inputs out of time "
                "order? give the oldest first\n",
                src, (unsigned long long)lineno, dur, p->max_src);
        else
            say(p,
                "rarr: %s:%llu: %s behind the newest event: this input is far out of time order\n",
                src, (unsigned long long)lineno, dur);
    }
    return skip(p, src, lineno, DIAG_LATE, line, len);
}

/* The held lines were not confirmed by the lines after them: skip them as time jumps. */
static void
reject_held(struct pipeline *p)
{
    struct hold *h = &p->jump_hold;
    size_t i;

    for (i = 0; i < h->n; i++)
        skip(p, h->v[i].src, h->v[i].lineno, DIAG_TIME_JUMP, hold_text(h, i), h->v[i].len);
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

    if (h->n > 0 && (step_started(p->step) ? ts < h->v[0].ts_ms - jump_ms(p)
                                           : llabs(ts - h->v[0].ts_ms) > START_AGREE_MS))
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
    set_lateness(p, RARR_LIVE_LATENESS_MS);
    return step_started(p->step) ? step_advance(p->step, step_newest(p->step) - p->opt.lateness_ms)
                                 : 0;
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
        return skip(p, src, lineno, why, line, len);
    }
    ts = r->ts_ms;
    if (p->last_wall != 0) {
        p->live = p->opt.clock == PIPELINE_ARRIVAL || llabs(ts - p->last_wall) <= LIVE_MS;
        if (p->live && go_live(p) == -1)
            return -1;
    }
    if (step_stale(p->step, ts))
        say(p,
            "rarr: %s:%llu: more than 31 days after the state's newest event; starting without "
            "state\n",
            src, (unsigned long long)lineno);
    if (step_started(p->step) && ts <= step_newest(p->step) + jump_ms(p)) {
        /* In step with the clock: lines held as a jump ahead of it were strays. */
        if (p->jump_hold.n > 0)
            reject_held(p);
    } else if (!confirmed && p->opt.clock == PIPELINE_EVENT) {
        record_end(r);
        return hold_jump(p, src, lineno, line, len, ts);
    }
    if (step_started(p->step) && ts < step_horizon(p->step)) {
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
        say(p, "rarr: %s: format %s\n", h->v[0].src, record_format_name(p->format));
    if (p->format == RECORD_RAW && !p->opt.clock_given) {
        p->opt.clock = PIPELINE_ARRIVAL;
        set_lateness(p, 0);
    }
    rules_warn_fields(p->rs, p->format, p->opt.log);
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
 * Match the parsed line in p->rec against every metric: the metrics it
 * counts in go to p->hits[0..n), what it adds to each to p->line_value.
 * Every metric is matched before any counts: a line that meets a match
 * limit or error counts nowhere (-1). Returns n, or -1.
 */
static long
match_hits(struct pipeline *p, const char *src, uint64_t lineno)
{
    struct record *r = &p->rec;
    long nhits = match_line(p->mt, r, p->hits);
    size_t i, j, n = 0;
    int why;

    for (j = 0; nhits >= 0 && j < (size_t)nhits; j++) {
        const struct rules_metric *m = &p->rs->metrics[i = p->hits[j]];
        double value = 1;

        if (match_scoped(p->mt, i)) {
            /* Its captures, a sum= field among them, are in scope until the next metric. */
            enum match_result res = match_metric(p->mt, m, r, NULL);

            if (res == MATCH_ERROR)
                return -1;
            if (res != MATCH_YES)
                continue;
        }
        if (m->kind == RULES_SUM || m->kind == RULES_QUANTILE) {
            why = sum_value(record_get(r, m->value_field), &value);
            /* A quantile's sketch holds values from zero up. */
            if (why == 0 && m->kind == RULES_QUANTILE && value < 0)
                why = -3;
            if (why < 0) {
                sum_skipped(p, i, why, src, lineno);
                continue;
            }
        }
        /* A by= key or distinct= value is read now: a captured one is in scope only until the
         * next metric. */
        if (m->by_field != SIZE_MAX)
            p->line_key[n] = record_get(r, m->by_field);
        else if (m->kind == RULES_DISTINCT)
            p->line_key[n] = record_get(r, m->value_field);
        p->hits[n] = i;
        p->line_value[n++] = value;
    }
    return nhits < 0 ? -1 : (long)n;
}

/*
 * Match a parsed line (in p->rec, with time 'ts') against every metric and
 * hand it to the step stage, which moves the clock on when it is the newest
 * event. Returns 0 or -1 with errno set.
 */
static int
apply(struct pipeline *p, const char *src, uint64_t lineno, int64_t ts)
{
    struct record *r = &p->rec;
    long n = match_hits(p, src, lineno), j;
    int rc;

    if (n < 0) {
        record_end(r);
        return skip(p, src, lineno,
                    match_error(p->mt, p->bad.detail, sizeof(p->bad.detail)) ? DIAG_MATCH_LIMIT
                                                                             : DIAG_MATCH_ERROR,
                    r->line.p, r->line.len);
    }
    if (p->ex != NULL && explain_line(p->ex, &p->em->out, p->mt, r, src, lineno,
                                      record_format_name(p->format)) == -1)
        return -1;
    p->parsed++;
    if (!step_started(p->step) || ts > step_newest(p->step))
        p->max_src = src;
    /* The keys borrow from the record: it ends after the step stage has them. */
    rc = step_line(p->step, ts, r->tz_min, p->hits, p->line_value, p->line_key, (size_t)n);
    record_end(r);
    if (rc == -1)
        return -1;
    for (j = 0; j < n; j++) {
        p->matches[p->hits[j]]++;
        p->sums[p->hits[j]] += p->line_value[j];
    }
    /* Events go out at once; metric records wait for a full buffer or for the reader to wait. */
    return p->em->urgent || p->em->out.len >= FLUSH_BYTES ? flush(p) : 0;
}

/*
 * Let time pass without lines (live input): when the last line was live
 * and none has come for IDLE_MS, evaluate the steps that end by the wall
 * clock minus the lateness, so a metric whose lines stopped is seen at
 * zero; and after --silence without any line, write an "input" record.
 * Replay (old timestamps, or a regular file, which is never waited on)
 * never gets here with 'live' set, so it stays deterministic. Returns 0 or
 * -1 with errno.
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
    if (step_started(p->step) && step_advance(p->step, wall_ms - p->opt.lateness_ms) == -1)
        return -1;
    if (save_due(&p->save, p->step))
        save_now(&p->save, p->step, INT64_MIN);
    if (p->opt.silence_ms > 0 && !p->silent && wall_ms - p->last_wall >= p->opt.silence_ms) {
        p->silent = 1;
        step_set_silent(p->step, 1);
        p->silent_since = clock_floor(p->last_wall, 1000);
        if (emit_input(p->em, clock_floor(wall_ms, 1000), 1, p->silent_since, NULL) == -1)
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
    if (step_started(p->step))
        due = step_next(p->step) + p->opt.step_ms + p->opt.lateness_ms;
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
    int w, x;

    /* Before any wait for input, what is decided goes out. */
    if (flush(p) == -1) {
        p->out_errno = errno;
        return 0;
    }
    /*
     * And --state takes in the lines read so far (at most once a save gap):
     * killed while it waits, rarr loses nothing it read, and started again
     * on the input that follows it goes on exactly.
     */
    if (p->save.path != NULL && p->lines != p->saved_lines && step_started(p->step) &&
        clock_wall_ms() - p->save.saved_wall >= p->opt.save_gap_ms) {
        save_now(&p->save, p->step, INT64_MIN);
        p->saved_lines = p->lines;
    }
    w = wait_ms(p, clock_wall_ms());
    /* The exporters' text is brought up to date too, or the wait ends when it is due. */
    if (p->opt.exporter == NULL || (x = p->opt.exporter(p->opt.exporter_arg, p, 0)) < 0)
        return w;
    return w < 0 || x < w ? x : w;
}

/*
 * A line was read from live input (not a regular file) at 'read_ms': when
 * the input was silent, it flows again. Returns 0 or -1 (out of memory).
 */
static int
arrived(struct pipeline *p, int64_t read_ms)
{
    p->last_wall = read_ms;
    if (!p->silent)
        return 0;
    p->silent = 0;
    step_set_silent(p->step, 0);
    return emit_input(p->em, clock_floor(p->last_wall, 1000), 0, p->silent_since, NULL);
}

/* What the signal flags ask for between lines, or PIPELINE_EOF for nothing. */
static enum pipeline_end
flags(struct pipeline *p)
{
    if (p->opt.dump != NULL && *p->opt.dump) {
        *p->opt.dump = 0;
        step_dump(p->step, p->opt.log);
    }
    if (p->opt.hup != NULL && *p->opt.hup) {
        *p->opt.hup = 0;
        return PIPELINE_RELOAD;
    }
    if (p->opt.stop != NULL && *p->opt.stop)
        return PIPELINE_STOPPED;
    if (p->out_errno != 0) {
        errno = p->out_errno;
        return PIPELINE_OUT_FAIL;
    }
    return PIPELINE_EOF;
}

/*
 * Read every line of 'in' into the pipeline. For live input (not a regular
 * file) the reader waits at most until time must move on, and time moves
 * on with the wall clock meanwhile. Flags are looked at between lines, so
 * a line read is never dropped. Returns how it ended (enum pipeline_end).
 */
enum pipeline_end
pipeline_feed(struct pipeline *p, struct input *in)
{
    enum pipeline_end end;
    enum input_status st;
    struct slice line;

    /* Asked only when the reader runs dry: no clock reading per line. */
    in->wait_ms = wait_cb;
    in->wait_arg = p;
    for (;;) {
        if ((end = flags(p)) != PIPELINE_EOF)
            return end;
        st = input_next(in, &line);
        if (st == INPUT_EOF)
            return PIPELINE_EOF;
        if (st == INPUT_ERROR)
            return PIPELINE_READ_FAIL;
        if (st == INPUT_AGAIN) {
            if (pipeline_tick(p, clock_wall_ms()) == -1)
                return PIPELINE_OUT_FAIL;
            continue;
        }
        if (!in->regular && arrived(p, in->read_ms) == -1) {
            errno = ENOMEM;
            return PIPELINE_OUT_FAIL;
        }
        if (st == INPUT_TOO_LONG) {
            p->lines++;
            skip(p, in->name, in->lineno, DIAG_TOO_LONG, line.p, line.len);
            continue;
        }
        if (pipeline_line(p, in->name, in->lineno, line.p, line.len) == -1)
            return PIPELINE_OUT_FAIL;
        if (p->opt.progress != NULL && (in->lineno & 0xffff) == 0)
            p->opt.progress(p->opt.progress_arg, in, p->lines);
    }
}

/*
 * Lines still held at the end of input are decided now: the format from
 * the lines there are; lines held before the clock started start it
 * (nothing contradicts them), and so do two or more held after a jump (they
 * agree with each other: a sparse log's last lines); one line alone ahead
 * was a stray.
 */
static int
decide_held(struct pipeline *p)
{
    int rc = 0;

    if (p->fmt_hold.n > 0 && decide_format(p) == -1)
        rc = -1;
    if (p->jump_hold.n > 0 &&
        (!step_started(p->step) || p->jump_hold.n >= 2 ||
         p->jump_hold.v[0].ts_ms - step_newest(p->step) <= LONE_JUMP_MS) &&
        release_held(p, &p->jump_hold, 1) == -1)
        rc = -1;
    reject_held(p);
    stretch(p, NULL, 0, NULL, 0, 1);
    return rc;
}

/*
 * At the end of input: decide the lines held, evaluate every step up to the
 * last complete one (the last whose end is at or before the newest event),
 * lateness notwithstanding (with --emit=partials, the steps after it go out
 * as partials too), flush, and make the final save. The state saved
 * is the one before the last steps are forced out: the next run evaluates
 * them again with whatever late lines it brings, writing nothing for the
 * steps this run wrote. Returns 0 or -1 with errno set.
 */
int
pipeline_finish(struct pipeline *p)
{
    int rc = decide_held(p);
    json_t *snap = save_hold(&p->save, p->step);

    if (step_finish(p->step) == -1 || step_part_rest(p->step) == -1)
        rc = -1;
    diag_bad_finish(&p->bad);
    if (p->ex != NULL && explain_summary(p->ex, &p->em->out) == -1)
        rc = -1;
    if (p->opt.diag == NULL)
        diag_bad_late_advice(&p->bad, p->opt.log); /* lines lost: said even with -q */
    if (flush(p) == -1)
        rc = -1;
    save_final(&p->save, snap, p->step);
    if (p->opt.exporter != NULL)
        p->opt.exporter(p->opt.exporter_arg, p, 1);
    return rc;
}

/*
 * After a rule reload: take over from 'old' what belongs to the stream, not
 * to the rules: the format detected, the clock in use, live-input and
 * silence tracking, save bookkeeping, the lines held and the counts for
 * --stats. The windows, alerts and detectors come through the state.
 */
static void
adopt(struct pipeline *p, const struct pipeline *old)
{
    size_t i, j;

    p->format = old->format;
    p->opt.clock = old->opt.clock;
    set_lateness(p, old->opt.lateness_ms);
    p->bad = old->bad;
    p->last_wall = old->last_wall;
    p->live = old->live;
    p->silent = old->silent;
    step_set_silent(p->step, old->silent);
    p->silent_since = old->silent_since;
    save_adopt(&p->save, &old->save);
    p->lines = old->lines;
    p->empty = old->empty;
    p->parsed = old->parsed;
    p->headers = old->headers;
    p->max_src = old->max_src;
    p->hint_src = old->hint_src;
    p->stretch_warned = old->stretch_warned;
    if (hold_copy(&p->fmt_hold, &old->fmt_hold) == -1 ||
        hold_copy(&p->jump_hold, &old->jump_hold) == -1)
        say(p, "rarr: SIGHUP: out of memory: lines held back are lost\n");
    for (i = 0; i < p->rs->nmetrics; i++)
        for (j = 0; j < old->rs->nmetrics; j++)
            if (strcmp(p->rs->metrics[i].name, old->rs->metrics[j].name) == 0) {
                p->matches[i] = old->matches[j];
                p->sums[i] = old->sums[j];
                p->sum_skipped[i] = old->sum_skipped[j];
            }
}

/*
 * SIGHUP: a pipeline for the new ruleset 'rs' (borrowed) that goes on from
 * 'old': metrics whose name and definition did not change keep their
 * windows, alerts and detectors (through the same path as --state), what
 * was dropped is told. 'time_field' is --time-field's field number in 'rs'
 * (SIZE_MAX: none); the other options are old's. Returns the new pipeline
 * ('old' is then the caller's to free), or NULL when memory ran out ('old'
 * stays in force).
 */
struct pipeline *
pipeline_reload(struct pipeline *old, const struct ruleset *rs, size_t time_field)
{
    struct pipeline_opts opt = old->opt;
    struct pipeline *p;
    struct diag d;
    json_t *snap;

    opt.time_field = time_field;
    if ((p = pipeline_new(rs, &opt, old->em, &d)) == NULL ||
        (snap = state_snapshot(old->step)) == NULL) {
        pipeline_free(p);
        return NULL;
    }
    memset(&d, 0, sizeof(d));
    state_restore(p->step, snap, "SIGHUP", &d);
    json_decref(snap);
    if (d.n > 0)
        diag_print(&d, p->opt.log);
    adopt(p, old);
    /* Not a restart: the first line goes on from the clock as it is. */
    step_stale(p->step, step_newest(p->step));
    return p;
}

/* Print --stats to 'fp'; 'seconds' is the run's wall time. */
void
pipeline_stats(const struct pipeline *p, FILE *fp, double seconds)
{
    const struct ruleset *rs = p->rs;
    uint64_t used, evicted, overflow;
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
            fprintf(fp, "rarr: stats: %s= values skipped %s %llu (not numbers%s, or beyond 2^53)\n",
                    rules_kind_option(&rs->metrics[i]), rs->metrics[i].name,
                    (unsigned long long)p->sum_skipped[i],
                    rs->metrics[i].kind == RULES_QUANTILE ? ", below zero" : "");
    for (i = 0; i < rs->nmetrics; i++)
        if (step_keys(p->step, i, &used, &evicted, &overflow) == 0)
            fprintf(fp,
                    "rarr: stats: keys %s %llu in use (max_keys %zu), %llu released idle, %llu "
                    "values in " KEYS_OTHER "\n",
                    rs->metrics[i].name, (unsigned long long)used, rs->metrics[i].max_keys,
                    (unsigned long long)evicted, (unsigned long long)overflow);
    fprintf(fp, "rarr: stats: events %llu, metric records %llu\n",
            (unsigned long long)p->em->events, (unsigned long long)p->em->metrics);
    fprintf(fp, "rarr: stats: %.3f s, %.0f lines/s\n", seconds,
            seconds > 0 ? (double)p->lines / seconds : 0.0);
}

/* What the pipeline has counted so far (kept across rule reloads), for the exporters. */
void
pipeline_counts(const struct pipeline *p, struct pipeline_counts *c)
{
    c->lines = p->lines;
    c->bad = &p->bad;
    c->matches = p->matches;
    c->sums = p->sums;
}

/* Whether the input is live: its newest line was close to the wall clock when read. */
int
pipeline_live(const struct pipeline *p)
{
    return p->live;
}

/* The rules the pipeline runs. */
const struct ruleset *
pipeline_rules(const struct pipeline *p)
{
    return p->rs;
}
