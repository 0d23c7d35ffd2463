/* partial.h -- a host's steps as partial records (--emit=partials), and back into a step stage. */
#ifndef RARR_PARTIAL_H
#define RARR_PARTIAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rarr/rules.h"
#include "rarr/step.h"

/* The "rarr_partial" version written; a record of another version is refused. */
#define PARTIAL_VERSION 1

/* The longest host name. */
#define PARTIAL_HOST_MAX 255

/*
 * Where a partial record goes: 'line' ('len' bytes, ending in a newline) of
 * 'host' for the step starting at 'step' (INT64_MAX: the end marker).
 * 0, or -1 to stop.
 */
typedef int (*partial_sink_fn)(void *arg, const char *host, int64_t step, const char *line,
                               size_t len);

struct partial_writer {
    const struct ruleset *rs;
    char host[PARTIAL_HOST_MAX + 1];
    char rules[17]; /* the digest of the base metrics' definitions, in hex */
    partial_sink_fn sink;
    void *sink_arg;
    uint64_t records, bytes; /* written so far (the end marker included) */
};

/* One record read back: its JSON (owned) and the fields every record has. */
struct partial {
    json_t *root;
    const char *host; /* in 'root' */
    int end;          /* the end marker: no step, 'newest' and 'lines' only */
    int64_t step;     /* the step's start */
    int64_t first;    /* its earliest line and newest line (the end marker: the host's newest) */
    int64_t last;
    int tz_min; /* the newest line's UTC offset */
    double lines;
    const char *rules; /* the writer's digest, NULL if none; in 'root' */
};

int partial_writer_init(struct partial_writer *w, const struct ruleset *rs, const char *host,
                        partial_sink_fn sink, void *arg);
int partial_write(void *writer, const struct step *s, int64_t start);
int partial_write_end(struct partial_writer *w, const struct step *s);
void partial_rules_digest(const struct ruleset *rs, char out[17]);
int partial_parse(struct partial *pt, const char *line, size_t len, int64_t step_ms,
                  const char **why);
int partial_apply(const struct partial *pt, struct step *s, size_t row, int apply, size_t *unknown);
void partial_free(struct partial *pt);

#endif
