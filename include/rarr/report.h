/* report.h -- the self-contained HTML replay report (--report). */
#ifndef RARR_REPORT_H
#define RARR_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "rarr/detect.h"
#include "rarr/related.h"
#include "rarr/rules.h"

struct report;

struct report *report_new(const struct ruleset *rs, int64_t step_ms);
void report_free(struct report *r);
int report_step(struct report *r, int64_t t_ms, const double *metric_values,
                const unsigned char *metric_defined, const double *alert_values,
                const unsigned char *alert_defined);
int report_key(struct report *r, size_t metric, const char *key, size_t len, double v, int defined);
int report_event(struct report *r, size_t alert, int64_t t_ms, int firing, const char *key,
                 size_t len);
int report_related(struct report *r, size_t alert, int64_t t_ms, const struct related_list *l);
int report_band(struct report *r, size_t alert, int64_t t_ms, const struct detect_event *dev,
                const char *key, size_t len);
void report_live(struct report *r, int live);
int report_write(const struct report *r, FILE *fp);
int report_save(const struct report *r, const char *path);

#endif
