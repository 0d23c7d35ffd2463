/*
 * keys.h -- the bounded key table behind by=FIELD: field values to slots.
 *
 * Memory: keys_new allocates everything at once and nothing grows after:
 * KEYS_SLOT_BYTES (216) per slot, an index of 8-byte entries, the
 * smallest power of two at least 4 * max_keys of them (at most 64 bytes per
 * slot), and 8 bytes per slot for the keys' byte order, so at most 288
 * bytes per slot: about 27 KB for the default 100 keys, 26.6 MB (21.6 MB of
 * slots, 4 MiB of index, 0.8 MB of order) at KEYS_MAX.
 */
#ifndef RARR_KEYS_H
#define RARR_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEYS_DEFAULT 100       /* max_keys when by= does not say */
#define KEYS_MAX 100000        /* the largest max_keys */
#define KEYS_LEN_MAX 200       /* the longest key: values this long or longer are digested */
#define KEYS_PREFIX_LEN 183    /* the bytes of a long value kept before "~<16 hex>" */
#define KEYS_PROBE_MAX 64      /* index positions one lookup examines, at most */
#define KEYS_SLOT_BYTES 216    /* a slot: its time, index position, length and key */
#define KEYS_NONE SIZE_MAX     /* no slot */
#define KEYS_OTHER "__other__" /* the caller's overflow series */

struct keys;

enum keys_result {
    KEYS_FOUND, /* the key has a slot already */
    KEYS_ADDED, /* the key took a free slot */
    KEYS_FULL   /* no slot for it: count it in KEYS_OTHER */
};

struct keys_stats {
    uint64_t lookups; /* keys_get and keys_find calls */
    uint64_t probes;  /* index positions they examined (<= KEYS_PROBE_MAX each) */
    uint64_t full;    /* KEYS_FULL because every slot was in use */
    uint64_t crowded; /* KEYS_FULL with slots free: KEYS_PROBE_MAX positions taken */
};

size_t keys_normalize(const char *p, size_t len, char out[KEYS_LEN_MAX]);
uint64_t keys_digest(const char *p, size_t len);
struct keys *keys_new(size_t max_keys, uint64_t seed);
void keys_free(struct keys *k);
enum keys_result keys_get(struct keys *k, const char *p, size_t len, int64_t now_ms, size_t *slot);
enum keys_result keys_get_name(struct keys *k, const char *name, size_t nlen, int64_t now_ms,
                               size_t *slot);
int keys_find(struct keys *k, const char *p, size_t len, size_t *slot);
int keys_release(struct keys *k, size_t slot);
int keys_put(struct keys *k, size_t slot, const char *name, size_t len, int64_t last_ms);
const char *keys_name(const struct keys *k, size_t slot, size_t *len);
int64_t keys_last(const struct keys *k, size_t slot);
void keys_touch(struct keys *k, size_t slot, int64_t now_ms);
size_t keys_used(const struct keys *k);
size_t keys_max(const struct keys *k);
size_t keys_next(const struct keys *k, size_t from);
size_t keys_home(const struct keys *k, const char *p, size_t len);
size_t keys_bytes(const struct keys *k);
size_t keys_sorted(struct keys *k);
size_t keys_sorted_slot(const struct keys *k, size_t i);
void keys_stats(const struct keys *k, struct keys_stats *st);

#endif
