/* pipeline.h -- the per-line loop and the per-step tick that drive every stage. */
#ifndef RARR_PIPELINE_H
#define RARR_PIPELINE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "rarr/alert.h"
#include "rarr/clock.h"
#include "rarr/detect.h"
#include "rarr/diag.h"
#include "rarr/emit.h"
#include "rarr/hold.h"
#include "rarr/input.h"
#include "rarr/match.h"
#include "rarr/record.h"
#include "rarr/report.h"
#include "rarr/rules.h"
#include "rarr/window.h"

enum pipeline_clock { PIPELINE_EVENT, PIPELINE_ARRIVAL };

/*
 * The lateness when --lateness is not given: a replay keeps real logs'
 * disorder (lines minutes out of order); once the input is live it drops to
 * the live lateness, so alerts stay prompt.
 */
#define RARR_REPLAY_LATENESS_MS (15 * 60 * 1000)
#define RARR_LIVE_LATENESS_MS (10 * 1000)

/* Called every so many lines with the input being read (for a progress line). */
typedef void (*pipeline_progress_fn)(void *arg, const struct input *in, uint64_t lines);

struct pipeline_opts {
    enum record_format format;
    enum pipeline_clock clock;
    int clock_given; /* --clock was given: auto-detected raw keeps it */
    int64_t step_ms;
    int64_t lateness_ms;
    int lateness_given; /* --lateness: kept as given; else it drops to the live lateness */
    int emit_alerts;
    int emit_metrics;
    int explain;
    int verbose;                   /* -v: tell the format detected */
    int tz_given;                  /* --tz: season slots follow the process's zone, not the lines */
    size_t time_field;             /* a field number of the ruleset; SIZE_MAX: the standard keys */
    FILE *diag;                    /* bad-line reports; NULL: count only */
    struct report *report;         /* borrowed; NULL: none */
    int64_t silence_ms;            /* live input: an "input" record after this long without lines */
    volatile sig_atomic_t *stop;   /* set (by a signal): stop reading, finish as at end of input */
    volatile sig_atomic_t *dump;   /* set (by SIGUSR1): print the window values to stderr */
    volatile sig_atomic_t *hup;    /* set (by SIGHUP): rule reload was asked for */
    const char *state_path;        /* --state: saved every so often and at the end; NULL: none */
    int64_t save_gap_ms;           /* least wall time between saves made for event time */
    uint32_t match_limit;          /* PCRE2 match limit per regex run (0: the default) */
    uint32_t depth_limit;          /* PCRE2 depth limit (0: the default) */
    pipeline_progress_fn progress; /* NULL: none */
    void *progress_arg;
};

/*
 * The pipeline's state. Fields are read by state.c (the --state file) and
 * otherwise private to pipeline.c.
 */
struct pipeline {
    const struct ruleset *rs;
    struct pipeline_opts opt;
    struct emit *em;
    struct matcher *mt;
    struct record rec;
    enum record_format format;
    struct diag_bad bad;

    int started;         /* an event has been applied */
    int evaluated;       /* a step has been evaluated */
    int64_t max_ts;      /* newest event timestamp */
    int64_t next_step;   /* start of the next step to evaluate */
    int64_t zero_run;    /* steps in a row where every metric was zero */
    int64_t quiet_steps; /* zero steps after which nothing can change */
    int64_t idle_run;    /* steps in a row without a line (with anomaly rules) */
    int64_t quiet_idle;  /* steps without a line before a gap may be skipped */
    int64_t pending_max; /* newest step start holding a pending value */
    int64_t horizon;     /* events before this are late: steps up to it are evaluated */
    int64_t last_wall;   /* wall clock when the last line was read (live input only) */
    int live;            /* the last line's time was within 5 minutes of the wall clock */
    int silent;          /* an "input" silent record is out */
    int64_t silent_since;
    int64_t written_to;  /* steps before this were written by the run that saved the state */
    int restored;        /* a state was loaded and no line has come yet */
    int64_t saved_event; /* event time (a step end) of the last save */
    int64_t saved_wall;  /* wall clock of the last save */
    int save_failed;     /* the last save failed (reported once) */
    int save_errors;     /* saves that failed: the exit status says so */
    int out_errno;       /* writing output failed while the reader waited (wait_cb) */

    size_t npending;
    int64_t line_step; /* the step of the last line applied, and its pending row */
    size_t line_slot;
    double *pending;             /* [npending][nmetrics] */
    double *pending_n;           /* [npending][nmetrics] lines behind each pending value */
    double *step_value;          /* [nmetrics] this step's value */
    double *step_n;              /* [nmetrics] lines behind it */
    size_t *hits;                /* [nmetrics] the metrics this line counts in */
    double *line_value;          /* [nmetrics] what it adds to each of them, by hit */
    unsigned char *step_defined; /* [nmetrics] for the report */
    double *alert_value;         /* [nalerts] window values, for the report */
    unsigned char *alert_defined;
    struct window *win;       /* [nmetrics], unused for ratios */
    struct alert *alerts;     /* [nalerts] */
    struct detect **det;      /* [nalerts], anomaly rules only */
    struct detect *lines_det; /* all applied lines, when there are anomaly rules */
    double *pending_lines;    /* [npending] lines applied per pending step */
    struct rules_metric lines_metric;
    struct rules_alert lines_rule;
    char lines_name[8], lines_text[32 + RARR_DUR_MAX];
    int tz_min;           /* UTC offset of the newest event's line */
    int *view_a, *view_b; /* [nalerts] window views of the metric / ratio operands */

    struct hold fmt_hold;    /* the first lines, while they vote on the format */
    struct hold jump_hold;   /* lines far from the clock, until later lines confirm them */
    const char *max_src;     /* the input of the line that set max_ts */
    const char *hint_src;    /* the input last told it may be out of order */
    int64_t late_max_ms;     /* the most a late line was behind the newest event */
    uint64_t taken;          /* lines parsed so far, each once (a held line when first taken) */
    uint64_t stretch_start;  /* p->taken before the current stretch's first line */
    unsigned stretch_bad;    /* lines of the stretch that did not parse */
    int stretch_warned;      /* the wrong-format warning is out */
    const char *stretch_src; /* where the stretch's last line came from */
    uint64_t stretch_lineno;
    enum record_format stretch_guess; /* what the failed lines looked like */

    uint64_t lines, empty, headers, parsed;
    uint64_t *matches;     /* [nmetrics] */
    uint64_t *sum_skipped; /* [nmetrics] sum= values that were not numbers, or out of range */
    int sum_range_said;    /* a value out of range was reported */
};

struct pipeline *pipeline_new(const struct ruleset *rs, const struct pipeline_opts *opt,
                              struct emit *em, struct diag *d);
void pipeline_free(struct pipeline *p);
int pipeline_line(struct pipeline *p, const char *src, uint64_t lineno, const char *line,
                  size_t len);
int pipeline_bad(struct pipeline *p, const char *src, uint64_t lineno, enum diag_reason why,
                 const char *line, size_t len);
int pipeline_feed(struct pipeline *p, struct input *in);
int pipeline_finish(struct pipeline *p);
int pipeline_tick(struct pipeline *p, int64_t wall_ms);
void pipeline_dump(const struct pipeline *p, FILE *fp);
size_t pipeline_slot(const struct pipeline *p, int64_t step_start);
void pipeline_reset(struct pipeline *p);
void pipeline_adopt(struct pipeline *p, const struct pipeline *old);
int pipeline_save(struct pipeline *p, int64_t written_to);
void pipeline_stats(const struct pipeline *p, FILE *fp, double seconds);
enum record_format pipeline_format(const struct pipeline *p);

#endif
