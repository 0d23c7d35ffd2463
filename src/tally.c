/*
 * tally.c -- the replay summary (--emit summary): per alert and anomaly
 * rule, and per key of one on a metric with keys, how many times it fired,
 * for how long in all and at the longest, and whether it was still firing
 * at the end. An incident replay then answers "what would have paged, and
 * for how long".
 *
 * It reads the event records emit writes (its tap), so it counts exactly
 * what the output says, whatever rule made them: a firing opens a span at
 * its record's time, the resolved record of the same rule and key closes
 * it. Quiet records (of steps a run before this one wrote) are not counted.
 * The report gives it its own events (tally_event) for its table.
 * Every rule of the rule files has a row, fired or not; the input-wide
 * volume rule only when it fired.
 */
#include "rarr/tally.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rarr/clock.h"

/*
 * A row for each rule of 'rs' (none fired yet; the names are copied, so the
 * rules may go with a reload). NULL when out of memory.
 */
struct tally *
tally_new(const struct ruleset *rs)
{
    struct tally *t = calloc(1, sizeof(*t));
    size_t i;

    if (t == NULL)
        return NULL;
    t->nrules = rs->nalerts;
    t->cap = rs->nalerts + 8;
    if ((t->rows = calloc(t->cap, sizeof(*t->rows))) == NULL) {
        free(t);
        return NULL;
    }
    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_metric *m = &rs->metrics[rs->alerts[i].metric];
        struct tally_row *r = &t->rows[t->n++];

        r->rule = strdup(rs->alerts[i].rule);
        r->metric = strdup(m->name);
        r->rarr = m->category != RULES_NONE ? strdup(rules_category_name(m->category)) : NULL;
        r->open_ms = INT64_MIN;
        r->index = i;
        if (r->rule == NULL || r->metric == NULL ||
            (m->category != RULES_NONE && r->rarr == NULL)) {
            tally_free(t);
            return NULL;
        }
    }
    return t;
}

void
tally_free(struct tally *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->n; i++) {
        free(t->rows[i].rule);
        free(t->rows[i].metric);
        free(t->rows[i].rarr);
        free(t->rows[i].key);
    }
    free(t->rows);
    free(t);
}

/* Whether 'a' and 'b' are both NULL or equal strings. */
static int
same(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* The string member 'name' of 'rec', or NULL. */
static const char *
str(const json_t *rec, const char *name)
{
    return json_string_value(json_object_get(rec, name));
}

/* A new row for 'rule' and 'key' (copied), or NULL when out of memory. */
static struct tally_row *
add_row(struct tally *t, const char *rule, const char *metric, const char *rarr, const char *key)
{
    struct tally_row *rows, *r;
    size_t i;

    if (t->n == t->cap) {
        size_t cap = t->cap > 0 ? 2 * t->cap : 8;

        if ((rows = realloc(t->rows, cap * sizeof(*rows))) == NULL)
            return NULL;
        t->rows = rows;
        t->cap = cap;
    }
    r = &t->rows[t->n];
    memset(r, 0, sizeof(*r));
    r->open_ms = INT64_MIN;
    for (r->index = SIZE_MAX, i = 0; i < t->nrules; i++)
        if (strcmp(t->rows[i].rule, rule) == 0)
            r->index = i;
    r->rule = strdup(rule);
    r->metric = strdup(metric != NULL ? metric : "");
    r->rarr = rarr != NULL ? strdup(rarr) : NULL;
    r->key = key != NULL ? strdup(key) : NULL;
    if (r->rule == NULL || r->metric == NULL || (rarr != NULL && r->rarr == NULL) ||
        (key != NULL && r->key == NULL)) {
        free(r->rule);
        free(r->metric);
        free(r->rarr);
        free(r->key);
        return NULL;
    }
    t->n++;
    return r;
}

/* The row of 'rule' and 'key': found, or added. NULL when out of memory. */
static struct tally_row *
row_of(struct tally *t, const char *rule, const char *metric, const char *rarr, const char *key)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].rule, rule) == 0 && same(t->rows[i].key, key))
            return &t->rows[i];
    return add_row(t, rule, metric, rarr, key);
}

/* Close the firing of row 'r' at 'end_ms'. */
static void
close_span(struct tally_row *r, int64_t end_ms)
{
    int64_t d;

    if (r->open_ms == INT64_MIN)
        return;
    d = end_ms > r->open_ms ? end_ms - r->open_ms : 0;
    r->total_ms += d;
    if (d > r->longest_ms)
        r->longest_ms = d;
    r->open_ms = INT64_MIN;
}

/*
 * A firing ('firing' 1) or resolution of 'rule' (on 'metric', category
 * 'rarr', 'key'; NULL for none) at 't_ms': a firing opens the span of its
 * row unless one is open, a resolution closes it. Returns 0, or -1 when out
 * of memory.
 */
int
tally_event(struct tally *t, const char *rule, const char *metric, const char *rarr,
            const char *key, int firing, int64_t t_ms)
{
    struct tally_row *r = row_of(t, rule, metric, rarr, key);

    if (r == NULL)
        return -1;
    if (firing && r->open_ms == INT64_MIN) {
        r->firings++;
        r->open_ms = t_ms;
    } else if (!firing) {
        close_span(r, t_ms);
    }
    return 0;
}

/*
 * One event record (emit's tap, 'len' bytes) for tally_event. Quiet
 * records and records that are not a firing or resolution of a rule are
 * ignored. Returns 0, or -1 when out of memory.
 */
int
tally_record(struct tally *t, const char *rec, size_t len, int quiet)
{
    json_t *o;
    const char *state, *time;
    int64_t ms;
    int rc = 0;

    if (quiet || (o = json_loadb(rec, len, 0, NULL)) == NULL)
        return 0;
    state = str(o, "state");
    time = str(o, "time");
    if (str(o, "rule") != NULL && state != NULL && time != NULL &&
        (strcmp(state, "firing") == 0 || strcmp(state, "resolved") == 0) &&
        clock_parse_rfc3339(time, strlen(time), &ms) == 0)
        rc = tally_event(t, str(o, "rule"), str(o, "metric"), str(o, "rarr"), str(o, "key"),
                         strcmp(state, "firing") == 0, ms);
    json_decref(o);
    return rc;
}

/* Close row 'r' at 'end_ms' (its open firing counted up to there) and hand it to 'fn'. */
static int
row_out(struct tally_row *r, int64_t end_ms, tally_row_fn fn, void *arg)
{
    int open = r->open_ms != INT64_MIN;

    close_span(r, end_ms);
    return fn(arg, r, open);
}

/*
 * Every row of the summary at the end of a run (the end of its last step,
 * 'end_ms'), to 'fn': the rules in rule-file order, each with its keys in
 * the order they first fired (a rule on a metric with keys that fired has
 * no row of its own), then any other rule that fired. Returns 0, or the
 * first non-zero 'fn' returned.
 */
int
tally_each(struct tally *t, int64_t end_ms, tally_row_fn fn, void *arg)
{
    size_t i, j;
    int rc = 0, keys;

    for (i = 0; i < t->nrules && rc == 0; i++) {
        for (j = t->nrules, keys = 0; j < t->n && rc == 0; j++)
            if (t->rows[j].index == i) {
                rc = row_out(&t->rows[j], end_ms, fn, arg);
                keys = 1;
            }
        if (!keys && rc == 0)
            rc = row_out(&t->rows[i], end_ms, fn, arg);
    }
    for (j = t->nrules; j < t->n && rc == 0; j++)
        if (t->rows[j].index == SIZE_MAX)
            rc = row_out(&t->rows[j], end_ms, fn, arg);
    return rc;
}

/* Where tally_write's rows go. */
struct summary_out {
    struct emit *e;
    int64_t end_ms;
};

/* tally_each's writer of summary records. */
static int
summary_record(void *arg, const struct tally_row *r, int firing_at_end)
{
    const struct summary_out *o = arg;

    return emit_summary(o->e, o->end_ms,
                        &(struct emit_summary){r->rule, r->metric, r->rarr, r->key, r->firings,
                                               r->total_ms, r->longest_ms, firing_at_end});
}

/* The summary at the end of a run ('end_ms'), as records into 'e'. Returns 0 or -1. */
int
tally_write(struct tally *t, struct emit *e, int64_t end_ms)
{
    struct summary_out o = {e, end_ms};

    return tally_each(t, end_ms, summary_record, &o);
}
