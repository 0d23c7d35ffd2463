/*
 * detect.h -- the anomaly detector: predictive tails, the seasonal baseline,
 * the per-rule detector and the table that names its learned fields.
 */
#ifndef RARR_DETECT_H
#define RARR_DETECT_H

#include <stddef.h>
#include <stdint.h>

#define DETECT_WEEK_SLOTS 168
#define DETECT_DAY_SLOTS 24

enum detect_season { DETECT_NONE, DETECT_DAILY, DETECT_WEEKLY };

/* Discounted sufficient statistics of one slot: events 'a' over exposure 'b'. */
struct detect_slot {
    double a, b;
    int64_t period; /* the week, day or hour index of the last update */
};

/*
 * A hierarchical seasonal Gamma-Poisson baseline (docs/anomaly.md): a global
 * rate, hour-of-day and hour-of-week slots in local time, each shrunk to its
 * parent. One plain struct, no pointers, so it can be saved as it is.
 */
struct detect_baseline {
    struct detect_slot week[DETECT_WEEK_SLOTS];
    struct detect_slot day[DETECT_DAY_SLOTS];
    struct detect_slot global;
};

double detect_gamma_p(double a, double x);
double detect_gamma_q(double a, double x);
double detect_poisson_le(double k, double mu);
double detect_poisson_ge(double k, double mu);
double detect_pln_tail(double x, double m, double s2, int lower);

void detect_baseline_init(struct detect_baseline *bl);
void detect_baseline_add(struct detect_baseline *bl, int64_t local_ms, double x, double e);
double detect_baseline_rate(const struct detect_baseline *bl, int64_t local_ms, int64_t span_ms,
                            enum detect_season season);
void detect_baseline_slot(const struct detect_baseline *bl, int64_t local_ms,
                          enum detect_season season, double *w, double *aeff);

#define DETECT_RING 2048 /* the longest window scanned, in steps */
#define DETECT_SCALES 12 /* burstiness is learned over blocks of 1, 2, 4, ... 2048 steps */

enum detect_phase { DETECT_WARMUP, DETECT_OK, DETECT_FIRING };
enum detect_direction { DETECT_BOTH, DETECT_DROP, DETECT_SPIKE };

struct detect_config {
    enum detect_season season;
    enum detect_direction direction;
    double far; /* target chance alarms per week */
    double min; /* spikes need min effective events; drops min expected if min_given */
    int min_given;
    int64_t step_ms;
    int window_steps; /* the rule's window, at most DETECT_RING */
    int for_steps;    /* consecutive candidate steps before firing (at least 1) */
    int continuous;   /* point anomalies of a sum's step values: the continuous path */
    int sum;          /* values, not events: burstiness may fall below 1 */
};

/* One scale (log or identity) of the continuous path's statistics. */
struct detect_scale {
    double level;        /* one-step-ahead prediction */
    double slow;         /* slow EW level (half-life 2016 steps): spikes must pass it too */
    double mad;          /* EW mean |residual|, spread = 1.2533 mad */
    double hi, lo;       /* discounted envelope of past values */
    double rate[2];      /* EW rate of |u| > 3, down and up */
    double m1[2], m2[2]; /* EW moments of the excesses |u| - 3 */
    double n_mad;        /* values behind 'mad' */
    int started;
};

/*
 * The continuous path (docs/anomaly.md, sums over one step): a one-step-ahead EW
 * level, a robust spread, tails learned from the series' own residuals by
 * peaks over threshold, and a new-extreme test against a discounted envelope.
 */
struct detect_cont {
    struct detect_scale log, id;
    int use_log;      /* every value so far was > 0 */
    double fire_rate; /* EW rate of firings: thresholds rise with it */
    uint64_t seen;    /* steps with a value */
    /* Members added since version-1 state images: append only (src/state.c). */
    double past[DETECT_RING]; /* the last values y, value i (from 0) at i mod DETECT_RING */
    uint64_t past_n;          /* values kept in 'past' so far (a loaded image keeps none) */
    double sea_mad[2];        /* EW mean |g - g a day earlier|: log, identity */
    int sea_run;              /* steps in a row far from the same time a day earlier */
};

/*
 * One anomaly rule's whole state: configuration, baseline, dispersion and
 * variance estimates, the recent steps and the state machine. A plain struct
 * without pointers, so it can be copied. Every member but 'cfg' is named in
 * detect_fields: a new member needs a row there (tests/test_detect.c checks).
 */
struct detect {
    struct detect_config cfg;
    struct detect_baseline bl;
    double dow_a[7], dow_b[7]; /* day-of-week factor under season=daily */
    int64_t dow_period[7];
    double sxx[DETECT_SCALES], smu[DETECT_SCALES]; /* burstiness per block size: sxx / smu */
    double tau2; /* relative variance of the true rate, hour scale */
    double hour_x, hour_m, hour_aeff;
    int64_t hour; /* local hour index of the partial sums */
    int hour_fired;
    uint64_t n;                                      /* steps seen */
    double cx[DETECT_RING + 1], cm[DETECT_RING + 1]; /* cumulative sums, by step mod size */
    enum detect_phase phase;
    int pending, dir, clear_count;
    double effect; /* |X/M - 1| of the window that fired */
    int64_t since_ms, frozen_since_ms, rebound_until_ms;
    uint64_t usable_from, holdoff_until;
    int relearning;
    struct detect_cont cont;
};

/* What one step decided, for the anomaly record (README, "Output records"). */
struct detect_event {
    int fired;         /* 1 firing, -1 resolved, 0 nothing */
    int64_t window_ms; /* the window that triggered (firing) or was tested (resolved) */
    double value, expected, lower, upper, score, p;
    int dir; /* -1 drop, +1 spike */
    int64_t since_ms;
    const char *reason; /* resolved: "recovered" or "relearned" */
    double step_score;  /* every step: its strongest candidate's score (0: none), for exporters */
};

void detect_init(struct detect *d, const struct detect_config *cfg);
void detect_step(struct detect *d, int64_t end_ms, int64_t local_start_ms, double x, double e,
                 int inhibited, struct detect_event *ev);
void detect_value(struct detect *d, int64_t end_ms, double y, int inhibited,
                  struct detect_event *ev);
double detect_phi(const struct detect *d, int w);
int detect_check(const struct detect *d);

/*
 * The learned fields of struct detect by name, for saving a detector field by
 * field (everything but 'cfg', which comes from the rules). A row is 'count'
 * elements of 'type', the first at 'offset' in struct detect, the next
 * 'stride' bytes further. Names are the members' paths ("tau2", "cx",
 * "bl.week.a", "cont.log.level") and never change meaning: a new member gets
 * a new name. A loader starts from detect_init, overwrites the fields it
 * finds, then calls detect_check. enum members are stored as DETECT_F_INT.
 * Not in the table: cfg.continuous, which detect_step sets for good when a
 * sum goes negative; the rules' value comes back after a load.
 */
enum detect_field_type { DETECT_F_DOUBLE, DETECT_F_INT64, DETECT_F_UINT64, DETECT_F_INT };

struct detect_field {
    const char *name;
    enum detect_field_type type;
    size_t offset; /* offsetof(struct detect, ...) of the first element */
    size_t count;  /* elements: 1 for a scalar */
    size_t stride; /* bytes from one element to the next */
};

extern const struct detect_field detect_fields[];
extern const size_t detect_nfields;

#endif
