/* emit.h -- the NDJSON writer: events and metric records to stdout. */
#ifndef RARR_EMIT_H
#define RARR_EMIT_H

#include <stdint.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/detect.h"
#include "rarr/related.h"
#include "rarr/rules.h"

/*
 * Called with every event record (threshold, anomaly) as written, newline
 * included; 'quiet' for one of a step the run that saved the state wrote
 * already (or re-sent after a restart): not new.
 */
typedef int (*emit_tap_fn)(void *arg, const char *rec, size_t len, int quiet);

struct emit {
    int fd;
    struct buf out;
    int events_out;  /* event records go to 'fd' (else only to the tap) */
    int quiet;       /* the event records made now go to the tap only (emit_tap_fn) */
    emit_tap_fn tap; /* NULL: none */
    void *tap_arg;
    const struct related_list *related; /* set around a firing record: "related" (NULL: none) */
    double shortfall; /* set around a resolved anomaly record of a sum's drop (NAN: none) */
    uint64_t events;  /* threshold and anomaly records written */
    uint64_t fired;   /* of those, firing ones */
    uint64_t metrics; /* metric records written */
    int urgent;       /* an event is queued: flush after this line */
    struct emit_text {
        int valid; /* text is v formatted */
        int64_t v;
        char text[RARR_TIME_MAX]; /* a duration fits too (emit.c checks) */
    } time, dur;                  /* the last step time and duration written */
};

void emit_init(struct emit *e, int fd);
void emit_fini(struct emit *e);
int emit_threshold(struct emit *e, int64_t t_ms, int firing, const struct rules_alert *a,
                   const struct rules_metric *m, double v, int64_t since_ms, const char *key,
                   size_t key_len);
int emit_metric(struct emit *e, int64_t t_ms, const struct rules_metric *m, int64_t step_ms,
                double v, int defined, const char *key, size_t key_len);
int emit_anomaly(struct emit *e, int64_t t_ms, const char *rule, const char *metric,
                 const char *key, size_t key_len, const char *rarr, const struct rules_alert *meta,
                 const struct detect_event *ev);
int emit_input(struct emit *e, int64_t t_ms, int silent, int64_t since_ms, const char *host);
/* A rule's replay summary (tally.c); rarr and key NULL for none. */
struct emit_summary {
    const char *rule, *metric, *rarr, *key;
    uint64_t firings;
    int64_t total_ms, longest_ms;
    int firing_at_end;
};

int emit_summary(struct emit *e, int64_t t_ms, const struct emit_summary *s);
/* A resolved record for a rule that is gone (see emit_retired); NULL strings are left out. */
struct emit_retired {
    const char *type, *rule, *metric, *key, *rarr, *direction, *reason;
    size_t key_len;
    int64_t window_ms, since_ms;
    const char *const *label_names, *const *label_values; /* the rule's labels, as it had them */
    size_t nlabels;
};

int emit_retired(struct emit *e, int64_t t_ms, const struct emit_retired *r);
int emit_json_string(struct buf *b, const char *p, size_t len);
int emit_short_num(struct buf *b, double v);
size_t emit_utf8_len(const unsigned char *p, size_t n);
int emit_flush(struct emit *e);

#endif
