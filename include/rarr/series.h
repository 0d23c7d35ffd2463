/* series.h -- what one metric gathered in one step: a value type with add and merge. */
#ifndef RARR_SERIES_H
#define RARR_SERIES_H

/*
 * A count adds 1 a line, a sum= its field's value; 'n' is the lines behind
 * 'value' (a sum's step with no line is missing, not zero). Two series of
 * the same metric and step merge by adding, whatever order the lines came
 * in, so a step can be gathered in parts (per key, per host) and joined.
 */
struct series {
    double value;
    double n;
};

/* Count one line that adds 'v'. */
static inline void
series_add(struct series *s, double v)
{
    s->value += v;
    s->n += 1;
}

/* Add what 'from' gathered to 'to'. */
static inline void
series_merge(struct series *to, const struct series *from)
{
    to->value += from->value;
    to->n += from->n;
}

#endif
