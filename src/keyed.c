/*
 * keyed.c -- a by= metric's series per key, part of the step stage: the
 * bounded key table (keys.c) and, per slot, a series per pending step, the
 * step just closed and a window of the metric's geometry.
 *
 * A value of the by= field takes a slot of its own while there is one;
 * past max_keys it is counted in the KEYS_OTHER slot, so the series of a
 * step always add up to the metric. A key without a line for idle_ms
 * (the metric's longest window) may be released by the step stage once
 * its alerts are quiet: its window is then all zero, and the slot is free
 * for another key. Memory is bounded by max_keys, never by the input.
 *
 * The two by= metrics of a ratio share one key table, so a key has the
 * same slot in both, and overflows into KEYS_OTHER in both at once: their
 * series divide key by key. The metric that owns the table releases a key
 * last, once every metric sharing it has cleared its slot.
 */
#include "rarr/keyed.h"

#include <stdlib.h>
#include <string.h>

/*
 * A table of 'max_keys' keys (hash seeded by 'seed'), 'npending' rows of
 * pending steps, windows shaped like 'shape' (its length and its views, in
 * its order, so a view number of 'shape' is one of every slot's window),
 * keys released after 'idle_ms' without a line. With 'shared' the keys are
 * in that table (of max_keys slots, another keyed's), else in a new one
 * hashed with 'seed'. NULL on out-of-memory.
 */
struct keyed *
keyed_new(size_t max_keys, uint64_t seed, size_t npending, const struct window *shape,
          int64_t idle_ms, struct keys *shared)
{
    struct keyed *k = calloc(1, sizeof(*k));
    size_t slot, v;

    if (k == NULL)
        return NULL;
    k->nslots = max_keys + 1;
    k->npending = npending;
    k->idle_ms = idle_ms;
    k->owns_keys = shared == NULL;
    k->keys = shared != NULL ? shared : keys_new(max_keys, seed);
    k->pending = calloc(npending * k->nslots, sizeof(*k->pending));
    k->now = calloc(k->nslots, sizeof(*k->now));
    k->total = calloc(k->nslots, sizeof(*k->total));
    k->win = calloc(k->nslots, sizeof(*k->win));
    k->live = calloc(k->nslots, sizeof(*k->live));
    if (k->keys == NULL || k->pending == NULL || k->now == NULL || k->total == NULL ||
        k->win == NULL || k->live == NULL)
        goto fail;
    for (slot = 0; slot < k->nslots; slot++) {
        if (window_init(&k->win[slot], shape->nsteps) == -1)
            goto fail;
        for (v = 0; v < shape->nviews; v++)
            if (window_view(&k->win[slot], shape->views[v].steps) != (int)v)
                goto fail;
    }
    return k;
fail:
    keyed_free(k);
    return NULL;
}

/* Free the series and the key table. Does nothing if 'k' is NULL. */
void
keyed_free(struct keyed *k)
{
    size_t slot;

    if (k == NULL)
        return;
    if (k->win != NULL)
        for (slot = 0; slot < k->nslots; slot++)
            window_fini(&k->win[slot]);
    if (k->owns_keys)
        keys_free(k->keys);
    free(k->pending);
    free(k->now);
    free(k->total);
    free(k->win);
    free(k->live);
    free(k);
}

/* Forget every key (in a table of its own) and value (the counts of evictions and overflow stay).
 */
void
keyed_reset(struct keyed *k)
{
    size_t slot;

    for (slot = keys_next(k->keys, 0); k->owns_keys && slot != KEYS_NONE;
         slot = keys_next(k->keys, slot + 1))
        keys_release(k->keys, slot);
    for (slot = 0; slot < k->nslots; slot++)
        window_clear(&k->win[slot]);
    memset(k->pending, 0, k->npending * k->nslots * sizeof(*k->pending));
    memset(k->now, 0, k->nslots * sizeof(*k->now));
    memset(k->total, 0, k->nslots * sizeof(*k->total));
    memset(k->live, 0, k->nslots * sizeof(*k->live));
}

/*
 * Add 'v' (a line's count or sum= value, at time 'ts') to the series of key
 * 'key' ('len' bytes, any bytes) in pending row 'row'; a key that finds no
 * slot counts in KEYS_OTHER.
 */
void
keyed_add(struct keyed *k, size_t row, const char *key, size_t len, int64_t ts, double v)
{
    size_t slot = k->last, n;
    const char *name;

    /*
     * Lines in a row often have the same key (a status of 200): the slot of
     * the last one is checked first, without hashing. A name under
     * KEYS_LEN_MAX bytes is the key as given, so equal bytes are one key.
     */
    if (len < KEYS_LEN_MAX && (name = keys_name(k->keys, slot, &n)) != NULL && n == len &&
        memcmp(name, key, len) == 0) {
        keys_touch(k->keys, slot, ts);
    } else if (keys_get(k->keys, key, len, ts, &slot) == KEYS_FULL) {
        slot = k->nslots - 1;
        k->overflow++;
    } else {
        k->last = slot;
    }
    series_add(&k->pending[row * k->nslots + slot], v);
}

/*
 * Add another table's series 'v' of key 'name' ('len' bytes, normalized as
 * keys_name gives it; NULL: KEYS_OTHER), whose newest line was at 'last',
 * to pending row 'row': a host's part of a step. A key that finds no slot
 * counts in KEYS_OTHER.
 */
void
keyed_merge(struct keyed *k, size_t row, const char *name, size_t len, int64_t last,
            const struct series *v)
{
    size_t slot = k->nslots - 1;

    if (name == NULL || keys_get_name(k->keys, name, len, last, &slot) == KEYS_FULL) {
        slot = k->nslots - 1;
        k->overflow += name == NULL ? (uint64_t)v->n : 1;
    }
    series_merge(&k->pending[row * k->nslots + slot], v);
}

/*
 * Close pending row 'row' (a step): each key's series (and KEYS_OTHER's)
 * becomes the step just closed, enters its window, and the row is cleared.
 * Returns 1 when some value was not zero, else 0.
 */
int
keyed_close(struct keyed *k, size_t row)
{
    struct series *pend = k->pending + row * k->nslots;
    size_t slot;
    int nonzero = 0;

    for (slot = keyed_next(k, 0); slot != KEYS_NONE; slot = keyed_next(k, slot + 1)) {
        k->now[slot] = pend[slot];
        series_merge(&k->total[slot], &pend[slot]);
        pend[slot] = (struct series){0};
        window_push(&k->win[slot], k->now[slot].value);
        nonzero |= k->now[slot].value != 0;
        if (k->now[slot].n > 0)
            k->live[slot] = k->win[slot].nsteps;
        else if (k->live[slot] > 0)
            k->live[slot]--;
    }
    return nonzero;
}

/* The slot of KEYS_OTHER. */
size_t
keyed_other(const struct keyed *k)
{
    return k->nslots - 1;
}

/*
 * The first slot at or after 'from' with a series: the keys' in slot order,
 * then KEYS_OTHER's; KEYS_NONE after it. Iterate with
 * for (s = keyed_next(k, 0); s != KEYS_NONE; s = keyed_next(k, s + 1)).
 */
size_t
keyed_next(const struct keyed *k, size_t from)
{
    size_t slot = from < k->nslots - 1 ? keys_next(k->keys, from) : KEYS_NONE;

    if (slot != KEYS_NONE)
        return slot;
    return from < k->nslots ? k->nslots - 1 : KEYS_NONE;
}

/*
 * Put the keys in the order their records are written: by their bytes, then
 * KEYS_OTHER. Returns how many slots keyed_at(k, 0 ..) then gives. Sorting
 * again only after keys came or went, it changes nothing a caller sees
 * but that order.
 */
size_t
keyed_sort(const struct keyed *k)
{
    return keys_sorted(k->keys) + 1;
}

/* The slot 'i'th in that order (i < keyed_sort's count). */
size_t
keyed_at(const struct keyed *k, size_t i)
{
    return i < keys_used(k->keys) ? keys_sorted_slot(k->keys, i) : k->nslots - 1;
}

/* The key of 'slot' ('*len' bytes, not NUL-terminated): its value, or KEYS_OTHER. */
const char *
keyed_name(const struct keyed *k, size_t slot, size_t *len)
{
    if (slot == k->nslots - 1) {
        *len = sizeof(KEYS_OTHER) - 1;
        return KEYS_OTHER;
    }
    return keys_name(k->keys, slot, len);
}

/* Whether the key of 'slot' has had no line for idle_ms at 'now_ms' (KEYS_OTHER never is). */
int
keyed_idle(const struct keyed *k, size_t slot, int64_t now_ms)
{
    return slot < k->nslots - 1 && keys_last(k->keys, slot) <= now_ms - k->idle_ms;
}

/*
 * Whether the window of 'slot' holds a line: a key's series is written, and
 * its alerts run, from the step of its first line until its window drains,
 * whatever the order the lines arrived in.
 */
int
keyed_live(const struct keyed *k, size_t slot)
{
    return k->live[slot] > 0;
}

/*
 * Release the key of 'slot' (idle, its alerts quiet): its window is cleared
 * for the next key. The table's owner releases the key itself, after the
 * metrics sharing the table have cleared their slots.
 */
void
keyed_release(struct keyed *k, size_t slot)
{
    if (slot >= k->nslots - 1 || keys_last(k->keys, slot) == INT64_MIN)
        return;
    window_clear(&k->win[slot]);
    k->now[slot] = (struct series){0};
    k->total[slot] = (struct series){0};
    k->live[slot] = 0;
    k->evicted++;
    if (k->owns_keys)
        keys_release(k->keys, slot);
}

/*
 * What 'slot' has gathered since its key took it: the closed steps and the
 * steps still pending (lines, and a sum='s values), for the exporters' counters.
 */
struct series
keyed_total(const struct keyed *k, size_t slot)
{
    struct series t = k->total[slot];
    size_t row;

    for (row = 0; row < k->npending; row++)
        series_merge(&t, &k->pending[row * k->nslots + slot]);
    return t;
}
