/* amsend.h -- alerts to Alertmanager: threshold and anomaly records become its alerts. */
#ifndef RARR_AMSEND_H
#define RARR_AMSEND_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Firing alerts are sent again this often, and carry endsAt this many resends ahead. */
#define AMSEND_RESEND_MS 60000
#define AMSEND_ENDS_RESENDS 4
/* Alerts held at once (firing, or resolved and not yet delivered everywhere). */
#define AMSEND_MAX_ALERTS 10000

struct amsend_opts {
    int64_t resend_ms;  /* 0: AMSEND_RESEND_MS */
    int64_t timeout_ms; /* one POST's limit; 0: 10 s */
    FILE *log;          /* delivery trouble is told here (stderr); NULL: silent */
};

/* What was delivered, per the whole run, summed over the Alertmanagers. */
struct amsend_stats {
    uint64_t posts;       /* POSTs answered 2xx */
    uint64_t alerts;      /* alert states (a firing, a resolve) delivered */
    uint64_t failures;    /* POSTs that failed (connect, timeout, non-2xx) */
    uint64_t undelivered; /* alert states given up on, per Alertmanager */
};

struct amsend;

struct amsend *amsend_new(const char *const *urls, size_t n, const struct amsend_opts *opt,
                          char *err, size_t errlen);
int amsend_record(struct amsend *am, const char *rec, size_t len);
void amsend_stop(struct amsend *am, int64_t grace_ms);
void amsend_stats(struct amsend *am, struct amsend_stats *st);
void amsend_free(struct amsend *am);
json_t *amsend_alert(const char *rec, size_t len, int64_t now_ms, int64_t resend_ms);
int amsend_url(const char *url, char *out, size_t outlen, char *err, size_t errlen);
const char *amsend_library(void);

#endif
