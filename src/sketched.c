/*
 * sketched.c -- the sketches of a distinct= or quantile (p50= .. p999=,
 * max=) metric, part of the step stage: a row per pending step gathers
 * the step's values, a ring keeps the closed steps, and a window's value is
 * the merge of its steps' sketches. Sketches merge in any grouping, so a
 * window's distinct count or quantile is that of all its lines, not an
 * average of steps.
 *
 * Slots of the arrays: rows 0 .. npending - 1, then the ring, then one
 * scratch sketch for merging.
 */
#include "rarr/sketched.h"

#include <math.h>
#include <stdlib.h>

/* The number of sketches a table holds. */
static size_t
total(const struct sketched *s)
{
    return s->npending + s->nsteps + 1;
}

/*
 * Sketches for a distinct= metric ('distinct' 1) or for quantile 'q',
 * 'npending' rows of open steps and a window of 'nsteps' steps. NULL on
 * out-of-memory.
 */
struct sketched *
sketched_new(int distinct, double q, size_t npending, size_t nsteps)
{
    struct sketched *s = calloc(1, sizeof(*s));
    size_t i;

    if (s == NULL)
        return NULL;
    s->distinct = distinct;
    s->q = q;
    s->npending = npending;
    s->nsteps = nsteps;
    if (distinct)
        s->hll = calloc(total(s), sizeof(*s->hll));
    else
        s->qs = calloc(total(s), sizeof(*s->qs));
    if (s->hll == NULL && s->qs == NULL) {
        free(s);
        return NULL;
    }
    for (i = 0; i < total(s); i++) {
        if (distinct)
            hll_init(&s->hll[i]);
        else
            quantile_init(&s->qs[i]);
    }
    return s;
}

/* Free every sketch. Does nothing if 's' is NULL. */
void
sketched_free(struct sketched *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < total(s); i++) {
        if (s->hll != NULL)
            hll_fini(&s->hll[i]);
        if (s->qs != NULL)
            quantile_fini(&s->qs[i]);
    }
    free(s->hll);
    free(s->qs);
    free(s);
}

static void
clear(struct sketched *s, size_t i)
{
    if (s->distinct)
        hll_clear(&s->hll[i]);
    else
        quantile_clear(&s->qs[i]);
}

/* Forget every value. */
void
sketched_reset(struct sketched *s)
{
    size_t i;

    for (i = 0; i < total(s); i++)
        clear(s, i);
    s->head = 0;
}

/* Sketch 'i' (a row, npending + a ring position, or the scratch), for the state file. */
struct hll *
sketched_hll(struct sketched *s, size_t i)
{
    return s->hll != NULL ? &s->hll[i] : NULL;
}

/* Sketch 'i' of a quantile metric, for the state file. */
struct quantile *
sketched_quantile(struct sketched *s, size_t i)
{
    return s->qs != NULL ? &s->qs[i] : NULL;
}

/* The index of the closed step 'age' steps old (0: the newest) among the sketches. */
size_t
sketched_ring(const struct sketched *s, size_t age)
{
    return s->npending + (s->head + s->nsteps - 1 - age % s->nsteps) % s->nsteps;
}

/* A distinct= value ('len' bytes, any bytes) into row 'row'. Returns 0, or -1 on out-of-memory. */
int
sketched_add_key(struct sketched *s, size_t row, const char *p, size_t len)
{
    return hll_add(&s->hll[row], hll_hash(p, len));
}

/*
 * A quantile metric's value into row 'row'. Returns 0; -1 for a negative,
 * NaN or infinite value (nothing added: the caller skips and counts it);
 * -2 on out-of-memory.
 */
int
sketched_add_value(struct sketched *s, size_t row, double v)
{
    return quantile_add(&s->qs[row], v);
}

/* The value of sketch 'i': its distinct count, or its quantile (NaN when it has no value). */
static double
value_of(const struct sketched *s, size_t i)
{
    if (s->distinct)
        return hll_count(&s->hll[i]);
    return quantile_value(&s->qs[i], s->q);
}

/*
 * Close row 'row' (a step): its sketch becomes the newest of the ring (the
 * oldest leaves) and the row is empty again. '*value' is the step's value
 * (NaN: a quantile of no value). Returns 0, or -1 on out-of-memory.
 */
int
sketched_close(struct sketched *s, size_t row)
{
    size_t at = s->npending + s->head;

    if (s->distinct) {
        struct hll t = s->hll[at];

        s->hll[at] = s->hll[row];
        s->hll[row] = t;
    } else {
        struct quantile t = s->qs[at];

        s->qs[at] = s->qs[row];
        s->qs[row] = t;
    }
    clear(s, row);
    s->head = (s->head + 1) % s->nsteps;
    return 0;
}

/*
 * The value over the last 'steps' closed steps (at most nsteps): their
 * sketches merged. Returns 0 with '*value' set (NaN: a quantile of no
 * value), or -1 on out-of-memory.
 */
int
sketched_window(struct sketched *s, size_t steps, double *value)
{
    size_t scratch = total(s) - 1, age;
    int rc = 0;

    if (steps == 1) {
        *value = value_of(s, sketched_ring(s, 0));
        return 0;
    }
    clear(s, scratch);
    for (age = 0; age < steps && age < s->nsteps && rc == 0; age++) {
        if (s->distinct)
            rc = hll_merge(&s->hll[scratch], &s->hll[sketched_ring(s, age)]);
        else
            rc = quantile_merge(&s->qs[scratch], &s->qs[sketched_ring(s, age)]) == 0 ? 0 : -1;
    }
    *value = value_of(s, scratch);
    return rc;
}
