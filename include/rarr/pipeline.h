/* pipeline.h -- the per-line loop and the per-step tick that drive every stage. */
#ifndef RARR_PIPELINE_H
#define RARR_PIPELINE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "rarr/diag.h"
#include "rarr/emit.h"
#include "rarr/input.h"
#include "rarr/record.h"
#include "rarr/report.h"
#include "rarr/rules.h"
#include "rarr/save.h"
#include "rarr/step.h"

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

struct pipeline;

/*
 * Called after each evaluated step, before the reader waits for input, and
 * ('final' 1) at the end: bring the exporters' view of 'p' up to date when it
 * is due. Returns the milliseconds until it is due again (the reader waits no
 * longer), or -1 when nothing is waiting.
 */
typedef int (*pipeline_export_fn)(void *arg, struct pipeline *p, int final);

/* What the pipeline has counted since it started, for the exporters (pipeline_counts). */
struct pipeline_counts {
    uint64_t lines;             /* lines read */
    const struct diag_bad *bad; /* lines skipped, per reason (DIAG_LATE: late) */
    const uint64_t *matches;    /* [nmetrics] lines counted in each metric (ratios: 0) */
    const double *sums;         /* [nmetrics] what they added (a sum='s values) */
};

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
    FILE *log;                     /* warnings said even with -q (stderr) */
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
    pipeline_export_fn exporter; /* NULL: none */
    void *exporter_arg;
    step_part_fn part; /* --emit=partials: each step's partial record (partial.c); NULL: none */
    void *part_arg;
    int lines_quiet; /* --shard other than 0/N: the input-wide lines anomaly is another's */
};

/* What pipeline_feed ended with. */
enum pipeline_end {
    PIPELINE_EOF,       /* the input ended */
    PIPELINE_READ_FAIL, /* reading failed (errno; input_error says more): go on with the next */
    PIPELINE_OUT_FAIL,  /* output failed (errno; EPIPE: the reader is gone, end quietly) */
    PIPELINE_STOPPED,   /* opt.stop was set: finish as at the end of input */
    PIPELINE_RELOAD,    /* opt.hup was set: reload the rules, then feed again */
};

struct pipeline *pipeline_new(const struct ruleset *rs, const struct pipeline_opts *opt,
                              struct emit *em, struct diag *d);
void pipeline_free(struct pipeline *p);
int pipeline_load_state(struct pipeline *p);
struct pipeline *pipeline_reload(struct pipeline *old, const struct ruleset *rs, size_t time_field);
int pipeline_line(struct pipeline *p, const char *src, uint64_t lineno, const char *line,
                  size_t len);
enum pipeline_end pipeline_feed(struct pipeline *p, struct input *in);
int pipeline_tick(struct pipeline *p, int64_t wall_ms);
int pipeline_finish(struct pipeline *p);
int pipeline_save(struct pipeline *p, int64_t written_to);
int pipeline_save_failed(const struct pipeline *p);
void pipeline_stats(const struct pipeline *p, FILE *fp, double seconds);
enum record_format pipeline_format(const struct pipeline *p);
const struct pipeline_opts *pipeline_opts(const struct pipeline *p);
struct step *pipeline_step(struct pipeline *p);
struct emit *pipeline_emit(struct pipeline *p);
void pipeline_counts(const struct pipeline *p, struct pipeline_counts *c);
const struct ruleset *pipeline_rules(const struct pipeline *p);
int pipeline_live(const struct pipeline *p);
int pipeline_skip(struct pipeline *p, const char *src, uint64_t lineno, enum diag_reason why,
                  const char *line, size_t len);
void pipeline_merged(struct pipeline *p, size_t row);
int pipeline_merged_clock(struct pipeline *p, int64_t newest, int64_t wall);
void pipeline_save_also(struct pipeline *p, save_get_fn get, save_put_fn put, void *arg);

#endif
