/*
 * alert.c -- threshold alerts, the state machine between window and emit.
 *
 * The rule (docs/rules.md, "alert"): the first step T0 at which the
 * condition holds starts an alert (pending); it fires at the first step
 * T >= T0 + for at which it has held at every step since T0, and resolves
 * when the value is no longer past 'clear' (by default the threshold
 * itself). A step where the condition fails before it fires resets it. A
 * step where the value is undefined (a ratio whose divisor is below min=)
 * changes nothing: no evidence either way. Only transitions are events, so
 * a holding state is never repeated.
 */
#include "rarr/alert.h"

/* Start in the quiet state. */
void
alert_init(struct alert *a)
{
    a->state = ALERT_OK;
    a->since_ms = 0;
    a->restored = 0;
}

/*
 * Feed the window value 'v' of the step ending at 't_ms'. Returns the event
 * this step causes: ALERT_FIRED, ALERT_RESOLVED (a->since_ms is still the
 * T0 of the episode) or ALERT_NONE.
 */
enum alert_event
alert_step(struct alert *a, const struct rules_alert *rule, int64_t t_ms, double v, int defined)
{
    int holds;

    if (!defined)
        return ALERT_NONE;
    holds = rule->above ? v > rule->threshold : v < rule->threshold;
    switch (a->state) {
    case ALERT_OK:
        if (!holds)
            return ALERT_NONE;
        a->state = ALERT_PENDING;
        a->since_ms = t_ms;
        /* FALLTHROUGH */
    case ALERT_PENDING:
        if (!holds) {
            a->state = ALERT_OK;
            return ALERT_NONE;
        }
        if (t_ms - a->since_ms < rule->for_ms)
            return ALERT_NONE;
        a->state = ALERT_FIRING;
        return ALERT_FIRED;
    case ALERT_FIRING:
        if (rule->above ? v > rule->clear : v < rule->clear)
            return ALERT_NONE;
        a->state = ALERT_OK;
        return ALERT_RESOLVED;
    }
    return ALERT_NONE;
}
