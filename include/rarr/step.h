/* step.h -- the "step" stage: the event clock, pending steps, windows, alerts and detectors. */
#ifndef RARR_STEP_H
#define RARR_STEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rarr/alert.h"
#include "rarr/clock.h"
#include "rarr/detect.h"
#include "rarr/emit.h"
#include "rarr/keyed.h"
#include "rarr/record.h"
#include "rarr/related.h"
#include "rarr/report.h"
#include "rarr/rules.h"
#include "rarr/series.h"
#include "rarr/sketched.h"
#include "rarr/window.h"

/*
 * A gap longer than this (a confirmed jump of months, or a state file that
 * old) is crossed in one jump, also with metric records, once the windows
 * have drained; a state this far behind the first line is dropped.
 */
#define STEP_MAX_JUMP_MS (31 * CLOCK_DAY_MS)

/* Called after each evaluated step (flush what is queued, save when due): 0, or -1 to stop. */
typedef int (*step_hook_fn)(void *arg);

struct step;

/*
 * --emit=partials: called with each step before it is evaluated, and at the
 * end with each step still pending (step_part_rest), to write what the step
 * gathered (partial.c). 0, or -1 to stop.
 */
typedef int (*step_part_fn)(void *arg, const struct step *s, int64_t start);

/* What the hosts' partials of one step say of its lines, for step_part_open and _close. */
struct step_part {
    int64_t start; /* the step */
    int64_t first; /* its earliest line, of any host */
    int64_t last;  /* its newest line */
    int tz_min;    /* the UTC offset of the newest line */
};

struct step_opts {
    int64_t step_ms;
    int64_t lateness_ms; /* how far behind the newest event a line may come */
    int emit_alerts;
    int emit_metrics;
    int tz_given;          /* season slots follow the process's zone, not the lines' offsets */
    struct report *report; /* borrowed; NULL: none */
    step_hook_fn after;    /* NULL: none */
    void *after_arg;
    step_part_fn part; /* NULL: none */
    void *part_arg;
    int lines_quiet; /* the input-wide lines detector writes no record (--shard other than 0) */
};

/*
 * The fields are step.c's, and state.c's, which saves and restores them;
 * everyone else goes through the functions below.
 */
struct step {
    const struct ruleset *rs;
    struct step_opts opt;
    struct emit *em;

    int started;         /* an event has been applied */
    int evaluated;       /* a step has been evaluated */
    int restored;        /* a state was loaded and no line has come yet */
    int silent;          /* the input is silent: alerts hold, detectors are inhibited */
    int tz_min;          /* UTC offset of the newest event's line */
    int64_t max_ts;      /* newest event timestamp */
    int64_t next_step;   /* start of the next step to evaluate */
    int64_t horizon;     /* events before this are late: steps up to it are evaluated */
    int64_t pending_max; /* newest step start holding a pending value */
    int64_t zero_run;    /* steps in a row where every metric was zero */
    int64_t quiet_steps; /* zero steps after which nothing can change */
    int64_t idle_run;    /* steps in a row without a line (with anomaly rules) */
    int64_t quiet_idle;  /* steps without a line before a gap may be skipped */
    int64_t written_to;  /* steps before this were written by the run that saved the state */
    int64_t first_step;  /* start of the first step evaluated (INT64_MAX: none yet; INT64_MIN:
                            before a state that did not say) */

    size_t npending;   /* rows of the pending ring: steps that can still get lines */
    int64_t line_step; /* the step of the last line applied, and its row */
    size_t line_slot;
    struct series *pending; /* [npending][nmetrics] */
    double *pending_lines;  /* [npending] lines applied per pending step */
    int64_t *pending_first; /* [npending] their earliest time, newest time, and its UTC offset */
    int64_t *pending_last;
    int *pending_tz;
    struct series *now;     /* [nmetrics] the step being evaluated */
    double *value;          /* [nmetrics] its value (a ratio's from its operands) */
    unsigned char *defined; /* [nmetrics] */
    double *alert_value;    /* [nalerts] window values, for the report */
    unsigned char *alert_defined;
    struct window *win;        /* [nmetrics], unused for ratios */
    int *view_a, *view_b;      /* [nalerts] window views of the metric / ratio operands */
    struct alert *alerts;      /* [nalerts] */
    struct detect **det;       /* [nalerts], anomaly rules only */
    struct detect *lines_det;  /* all applied lines, when there are anomaly rules */
    struct keyed **keyed;      /* [nmetrics]: by= metrics only */
    size_t *key_group;         /* [nmetrics]: the by= metric owning the key table of the metric's
                                  keys (a ratio's: its operands'); SIZE_MAX: none */
    struct sketched **sketch;  /* [nmetrics]: distinct= and quantile metrics only */
    struct alert **key_alerts; /* [nalerts]: per slot, for threshold alerts on by= metrics */
    struct detect ***key_det;  /* [nalerts]: per slot, for anomaly rules on by= metrics: a
                                  detector while the key is live (s->det[i] the template) */
    double *score;             /* [nalerts + 1]: anomaly rules' last step score (the lines rule's
                                  last), for exporters */
    double **key_score;        /* [nalerts]: per slot, beside key_det */
    struct related *related;   /* the metrics' last steps, for a firing's "related" */
    struct step_shortfall {
        int active;      /* a drop of a sum= metric fires */
        double rate;     /* the expected value a step, when it fired */
        double expected; /* over the window that fired and the steps since */
        double actual;
    } * shortfall; /* [nalerts]: anomaly rules on sum= metrics (not by=) */
    char lines_rule[32 + RARR_DUR_MAX];
};

/* One alert's state, for exporters (step_alerts). */
struct step_alert {
    size_t alert;    /* index in rs->alerts; SIZE_MAX: the input-wide lines rule */
    const char *key; /* the by= key (key_len bytes); NULL: none */
    size_t key_len;
    size_t slot;              /* the key's slot in its table */
    int other;                /* the key is KEYS_OTHER's slot */
    int firing;               /* 1 firing, else 0 */
    int64_t since_ms;         /* when it started firing */
    const struct detect *det; /* an anomaly rule's detector; NULL: a threshold alert */
    double score;             /* an anomaly rule's last step score (0: nothing unusual) */
};

typedef int (*step_alert_fn)(void *arg, const struct step_alert *a);

struct step *step_new(const struct ruleset *rs, const struct step_opts *opt, struct emit *em);
void step_free(struct step *s);
void step_reset(struct step *s);
int step_line(struct step *s, int64_t ts, int tz_min, const size_t *metrics, const double *values,
              const struct slice *keys, size_t n);
int step_advance(struct step *s, int64_t now);
int step_finish(struct step *s);
int step_stale(struct step *s, int64_t ts);
void step_set_lateness(struct step *s, int64_t lateness_ms);
void step_set_silent(struct step *s, int silent);
int step_started(const struct step *s);
int64_t step_newest(const struct step *s);
int64_t step_horizon(const struct step *s);
int64_t step_next(const struct step *s);
size_t step_slot(const struct step *s, int64_t step_start);
int step_firing(const struct step *s, size_t alert);
void step_dump(const struct step *s, FILE *fp);
const char *step_lines_rule(const struct step *s);
const struct keyed *step_keys_of(const struct step *s, size_t metric);
int step_keys(const struct step *s, size_t metric, uint64_t *used, uint64_t *evicted,
              uint64_t *overflow);
int step_evaluated(const struct step *s);
double step_value(const struct step *s, size_t metric, int *defined);
double step_key_value(const struct step *s, size_t metric, size_t slot, int *defined);
struct series step_key_total(const struct step *s, size_t metric, size_t slot);
int step_alerts(const struct step *s, step_alert_fn fn, void *arg);
int step_resend(struct step *s);
int step_part_rest(struct step *s);
int step_part_open(struct step *s, const struct step_part *p, size_t *row);
int step_part_close(struct step *s, const struct step_part *p);
const struct series *step_pending_row(const struct step *s, size_t row, double *lines);

#endif
