/* pipeline.h -- the per-line loop and the per-step tick that drive every stage. */
#ifndef RARR_PIPELINE_H
#define RARR_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "rarr/diag.h"
#include "rarr/emit.h"
#include "rarr/input.h"
#include "rarr/report.h"
#include "rarr/rules.h"

enum pipeline_clock { PIPELINE_EVENT, PIPELINE_ARRIVAL };

/* Called every so many lines with the input being read (for a progress line). */
typedef void (*pipeline_progress_fn)(void *arg, const struct input *in, uint64_t lines);

struct pipeline_opts {
    enum record_format format;
    enum pipeline_clock clock;
    int clock_given; /* --clock was given: auto-detected raw keeps it */
    int64_t step_ms;
    int64_t lateness_ms;
    int emit_alerts;
    int emit_metrics;
    int explain;
    int tz_given;                  /* --tz: season slots follow the process's zone, not the lines */
    size_t time_field;             /* a field number of the ruleset; SIZE_MAX: the standard keys */
    FILE *diag;                    /* bad-line reports; NULL: count only */
    struct report *report;         /* borrowed; NULL: none */
    int64_t silence_ms;            /* live input: an "input" record after this long without lines */
    volatile int *stop;            /* set (by a signal): stop reading, finish as at end of input */
    volatile int *dump;            /* set (by SIGUSR1): print the window values to stderr */
    volatile int *hup;             /* set (by SIGHUP): rule reload was asked for */
    pipeline_progress_fn progress; /* NULL: none */
    void *progress_arg;
};

struct pipeline;

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
void pipeline_stats(const struct pipeline *p, FILE *fp, double seconds);
enum record_format pipeline_format(const struct pipeline *p);

#endif
