/* keyed.h -- a by= metric's series per key: a bounded key table and, per slot, steps and a window.
 */
#ifndef RARR_KEYED_H
#define RARR_KEYED_H

#include <stddef.h>
#include <stdint.h>

#include "rarr/keys.h"
#include "rarr/series.h"
#include "rarr/window.h"

/*
 * Slots 0 .. max_keys - 1 are the keys' (keys.c); slot max_keys is
 * KEYS_OTHER, where the values go that found no slot. Memory per slot: the
 * key table's 280 bytes, a series per pending step, and the window's ring.
 */
struct keyed {
    struct keys *keys; /* its own, or (owns_keys 0) another by= metric's it shares */
    int owns_keys;
    int shared;             /* the table has other metrics' keys too */
    size_t nslots;          /* max_keys + 1 */
    size_t npending;        /* rows of 'pending' */
    struct series *pending; /* [npending][nslots] */
    struct window *win;     /* [nslots] */
    struct series *now;     /* [nslots] the step just closed */
    struct series *total;   /* [nslots] every closed step since the key took the slot */
    size_t *live;           /* [nslots] steps left in which the slot's window holds a line */
    int64_t idle_ms;        /* a key without a line this long may be released */
    size_t last;            /* the slot of the last key added (checked first) */
    uint64_t evicted;       /* keys released for being idle */
    uint64_t overflow;      /* values counted in KEYS_OTHER */
};

struct keyed *keyed_new(size_t max_keys, uint64_t seed, size_t npending, const struct window *shape,
                        int64_t idle_ms, struct keys *shared);
void keyed_free(struct keyed *k);
void keyed_reset(struct keyed *k);
void keyed_add(struct keyed *k, size_t row, const char *key, size_t len, int64_t ts, double v);
void keyed_merge(struct keyed *k, size_t row, const char *name, size_t len, int64_t last,
                 const struct series *v);
int keyed_close(struct keyed *k, size_t row);
size_t keyed_next(const struct keyed *k, size_t from);
size_t keyed_other(const struct keyed *k);
size_t keyed_sort(const struct keyed *k);
size_t keyed_at(const struct keyed *k, size_t i);
const char *keyed_name(const struct keyed *k, size_t slot, size_t *len);
int keyed_idle(const struct keyed *k, size_t slot, int64_t now_ms);
int keyed_live(const struct keyed *k, size_t slot);
struct series keyed_total(const struct keyed *k, size_t slot);
void keyed_release(struct keyed *k, size_t slot);

#endif
