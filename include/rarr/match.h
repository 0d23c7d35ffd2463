/* match.h -- matching a record against the conditions of a finished ruleset's metrics. */
#ifndef RARR_MATCH_H
#define RARR_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "rarr/record.h"
#include "rarr/rules.h"

enum match_result { MATCH_NO, MATCH_YES, MATCH_ERROR };

struct matcher;

struct matcher *match_new(const struct ruleset *rs, uint32_t match_limit, uint32_t depth_limit);
void match_free(struct matcher *mt);
enum match_result match_metric(struct matcher *mt, const struct rules_metric *m, struct record *r,
                               size_t *failed);
long match_line(struct matcher *mt, struct record *r, size_t *out);
int match_scoped(const struct matcher *mt, size_t metric);
int match_error(const struct matcher *mt, char *msg, size_t size);
int match_time(struct matcher *mt, const struct ruleset *rs, struct record *r, int64_t *ts_ms);
int match_library(char *version, size_t size);

#endif
