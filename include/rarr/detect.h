/* detect.h -- the anomaly detector's building blocks: predictive tails and the seasonal baseline.
 */
#ifndef RARR_DETECT_H
#define RARR_DETECT_H

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
 * A hierarchical seasonal Gamma-Poisson baseline (ANOMALY.md 4.2): a global
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
double detect_baseline_weight(const struct detect_baseline *bl, int64_t local_ms,
                              enum detect_season season);

#endif
