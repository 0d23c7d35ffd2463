/* series.h -- what one metric gathered in one step: a value type with add and merge. */
#ifndef RARR_SERIES_H
#define RARR_SERIES_H

/*
 * A count adds 1 a line, a sum= its field's value; 'n' is the lines behind
 * 'value' (a sum's step with no line is missing, not zero). Two series of
 * the same metric and step merge by adding, whatever order the lines came
 * in, so a step can be gathered in parts (per key, per host) and joined.
 *
 * For that to give the same bytes as one pass over the lines, a sum must
 * not depend on the order of its terms, which plain floating-point addition
 * does. The sum is kept as two doubles: 'value', the sum rounded to a
 * double, and 'err', what the rounding left out (Knuth's two-sum). Log
 * values (bytes, seconds with a few decimals, prices) then add exactly, so
 * 'value' is the exact sum correctly rounded, in any order and grouping;
 * only terms some 2^100 apart in size would lose the small one.
 */
struct series {
    double value;
    double n;
    double err;
};

/* 'value' + 'err' += 'v' exactly, 'value' left as the rounded sum. */
static inline void
series_sum(struct series *s, double v)
{
    double t = s->value + v, b = t - s->value;
    double e = (s->value - (t - b)) + (v - b) + s->err;

    s->value = t + e;
    s->err = e - (s->value - t);
}

/* Count one line that adds 'v'. */
static inline void
series_add(struct series *s, double v)
{
    series_sum(s, v);
    s->n += 1;
}

/* Add what 'from' gathered to 'to'. */
static inline void
series_merge(struct series *to, const struct series *from)
{
    series_sum(to, from->value);
    series_sum(to, from->err);
    to->n += from->n;
}

#endif
