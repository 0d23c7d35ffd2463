/* save.h -- when and how --state is loaded and saved, and how a failure is told. */
#ifndef RARR_SAVE_H
#define RARR_SAVE_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "rarr/step.h"

/* --state is saved at least this often, in event time and in wall-clock time. */
#define SAVE_EVERY_MS (5 * CLOCK_MINUTE_MS)

/*
 * What another stage keeps in the same state file (the merge's hosts):
 * 'get' makes its JSON, saved under "merge"; 'put' takes it back at load.
 */
typedef json_t *(*save_get_fn)(void *arg);
typedef int (*save_put_fn)(void *arg, const json_t *saved);

struct save {
    const char *path; /* NULL: no --state */
    save_get_fn get;  /* NULL: nothing more */
    save_put_fn put;
    void *arg;
    int64_t gap_ms;      /* least wall time between saves made for event time */
    FILE *log;           /* where loads and failed saves are told */
    int64_t saved_event; /* event time (a step start) of the last save */
    int64_t saved_wall;  /* wall clock of the last save */
    int failed;          /* the last save failed (told once until one succeeds) */
    int errors;          /* saves that failed: the exit status says so */
};

void save_init(struct save *sv, const char *path, int64_t gap_ms, FILE *log);
int save_load(struct save *sv, struct step *s);
int save_due(const struct save *sv, const struct step *s);
int save_now(struct save *sv, const struct step *s, int64_t written_to);
json_t *save_hold(struct save *sv, const struct step *s);
int save_final(struct save *sv, json_t *snap, const struct step *s);
void save_adopt(struct save *sv, const struct save *old);

#endif
