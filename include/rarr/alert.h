/* alert.h -- threshold alert state machines: ok -> pending -> firing -> ok. */
#ifndef RARR_ALERT_H
#define RARR_ALERT_H

#include <stdint.h>

#include "rarr/rules.h"

enum alert_state { ALERT_OK, ALERT_PENDING, ALERT_FIRING };
enum alert_event { ALERT_NONE, ALERT_FIRED, ALERT_RESOLVED };

struct alert {
    enum alert_state state;
    int64_t since_ms; /* T0: the first step at which the condition held */
    int restored;     /* taken over from a state (SIGHUP, --state), anomaly rules too */
};

void alert_init(struct alert *a);
enum alert_event alert_step(struct alert *a, const struct rules_alert *rule, int64_t t_ms, double v,
                            int defined);

#endif
