/* state.h -- --state: windows, baselines and alert states in a versioned file, saved atomically. */
#ifndef RARR_STATE_H
#define RARR_STATE_H

#include <stdio.h>

#include <jansson.h>

#include "rarr/pipeline.h"

#define STATE_VERSION 1

json_t *state_snapshot(const struct pipeline *p);
int state_write(const json_t *snap, const char *path);
int state_mark_firing(json_t *snap, const struct pipeline *p);
int state_read(const char *path, FILE *log, json_t **snap);
int state_probe(const char *path);
int state_restore(struct pipeline *p, const json_t *snap, const char *name, FILE *log);

#endif
