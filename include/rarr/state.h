/* state.h -- --state: the step stage's windows, baselines and alert states as versioned JSON. */
#ifndef RARR_STATE_H
#define RARR_STATE_H

#include <stdint.h>

#include <jansson.h>

#include "rarr/buf.h"
#include "rarr/diag.h"
#include "rarr/step.h"

/* The format written; version 1 (detectors as an image of their C struct) is still read. */
#define STATE_VERSION 2

int state_metric_def(struct buf *b, const struct ruleset *rs, size_t i);
json_t *state_snapshot(const struct step *s);
void state_set_written(json_t *snap, int64_t written_to);
int state_mark_firing(json_t *snap, const struct step *s);
int state_write(const json_t *snap, const char *path);
int state_probe(const char *path);
int state_read(const char *path, struct diag *d, json_t **snap);
int state_restore(struct step *s, const json_t *snap, const char *name, struct diag *d);

#endif
