/*
 * keys.c -- the bounded key table behind by=FIELD, used by the step stage:
 * each distinct field value gets a slot (a small integer), and the caller
 * keeps one series per slot. Field values are attacker text, so everything
 * here is bounded by max_keys, never by the input.
 *
 * Keys. A value of fewer than KEYS_LEN_MAX bytes is its own key, whatever
 * its bytes (NUL, invalid UTF-8, quotes). A value of KEYS_LEN_MAX bytes or
 * more becomes exactly KEYS_LEN_MAX bytes: its first KEYS_PREFIX_LEN bytes,
 * '~', and the 16 lowercase hex digits (most significant first) of
 * keys_digest of the whole value, SipHash-2-4 under the fixed key 00 01 ..
 * 0f. Values of exactly KEYS_LEN_MAX bytes are digested too, so that a short
 * value can never spell the long form of another: distinct values share a
 * key only if they share the prefix and the 64-bit digest. The key is fixed
 * so names are the same on every run and build (they reach the output).
 *
 * Slots. A new key takes the lowest free slot (0, 1, 2, ...). Slot numbers
 * depend only on the sequence of operations, never on the hash, so they are
 * the same on every run and build, and the table is known from its keys and
 * their slots alone: a saved table is put back key by key (keys_put) and
 * then hands out the same slots as the one saved. keys_next walks used
 * slots in slot order.
 *
 * Index. Open addressing with linear probing over a power-of-two array of
 * at least 4 * max_keys entries (load <= 1/4), each entry a slot reference
 * and 32 bits of the key's hash. The hash is SipHash-2-4 keyed by the
 * table's seed. A key lives within KEYS_PROBE_MAX positions of its home, so
 * every lookup examines at most KEYS_PROBE_MAX entries and compares at most
 * that many names, whatever the keys: a key that finds no free position in
 * its window is refused as KEYS_FULL ("crowded"). At load 1/4 random keys
 * land within a dozen positions of home even among 100 000, and the chance
 * of 64 is below 1e-15 per key; keys built to collide need the seed, and
 * with it an attacker gains only what filling the table with max_keys
 * distinct values already gives: new keys counted in KEYS_OTHER. Released
 * keys leave tombstones (reused by inserts; turned back to empty when the
 * next position is empty), so entries never move and a slot records where
 * its entry is: a release is O(1).
 */
#include "rarr/keys.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define REF_EMPTY 0u                           /* an index entry never used, or cleaned */
#define REF_TOMB UINT32_MAX                    /* an index entry whose key was released */
#define DIGEST_K0 UINT64_C(0x0706050403020100) /* key bytes 00 .. 07, little-endian */
#define DIGEST_K1 UINT64_C(0x0f0e0d0c0b0a0908) /* key bytes 08 .. 0f */

struct keys_slot {
    int64_t last_ms; /* the latest now_ms it was looked up with by keys_get */
    uint32_t at;     /* in use: its index position; free: the next free slot */
    uint16_t len;
    uint8_t used;
    char name[KEYS_LEN_MAX];
};

/* An index entry: REF_EMPTY, REF_TOMB or slot + 1, and the hash's upper half. */
struct keys_ref {
    uint32_t ref;
    uint32_t tag;
};

struct keys {
    struct keys_slot *slots; /* max of them */
    struct keys_ref *index;  /* mask + 1 of them */
    size_t max, used;
    size_t hw; /* slots ever handed out: [0, hw) */
    size_t mask;
    size_t probe;                   /* KEYS_PROBE_MAX, or the index size if smaller */
    size_t low;                     /* no slot below this is free */
    uint64_t k0, k1;                /* the index hash's key, from the seed */
    const struct keys_slot **order; /* max of them: the used slots in their keys' byte order */
    int sorted;                     /* 'order' is up to date */
    struct keys_stats st;
};

_Static_assert(sizeof(struct keys_slot) == KEYS_SLOT_BYTES, "KEYS_SLOT_BYTES is out of date");
_Static_assert(KEYS_PREFIX_LEN + 1 + 16 == KEYS_LEN_MAX, "the long form must fill KEYS_LEN_MAX");
_Static_assert(KEYS_LEN_MAX <= UINT16_MAX && KEYS_MAX < UINT32_MAX - 1, "field widths");

static uint64_t
rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void
sip_rounds(uint64_t v[4], int n)
{
    while (n-- > 0) {
        v[0] += v[1];
        v[1] = rotl(v[1], 13) ^ v[0];
        v[0] = rotl(v[0], 32);
        v[2] += v[3];
        v[3] = rotl(v[3], 16) ^ v[2];
        v[0] += v[3];
        v[3] = rotl(v[3], 21) ^ v[0];
        v[2] += v[1];
        v[1] = rotl(v[1], 17) ^ v[2];
        v[2] = rotl(v[2], 32);
    }
}

/* SipHash-2-4 of 'len' bytes under the key (k0, k1), words read little-endian. */
static uint64_t
siphash24(uint64_t k0, uint64_t k1, const unsigned char *p, size_t len)
{
    uint64_t v[4] = {k0 ^ UINT64_C(0x736f6d6570736575), k1 ^ UINT64_C(0x646f72616e646f6d),
                     k0 ^ UINT64_C(0x6c7967656e657261), k1 ^ UINT64_C(0x7465646279746573)};
    uint64_t m;
    size_t i, j;

    for (i = 0; len - i >= 8; i += 8) {
        for (m = 0, j = 0; j < 8; j++)
            m |= (uint64_t)p[i + j] << (8 * j);
        v[3] ^= m;
        sip_rounds(v, 2);
        v[0] ^= m;
    }
    for (m = (uint64_t)len << 56, j = 0; i + j < len; j++)
        m |= (uint64_t)p[i + j] << (8 * j);
    v[3] ^= m;
    sip_rounds(v, 2);
    v[0] ^= m;
    v[2] ^= 0xff;
    sip_rounds(v, 4);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/*
 * The digest in the long form of a key: SipHash-2-4 of the 'len' bytes at
 * 'p' under the fixed key 00 01 02 .. 0f (the reference test key), so the
 * same on every run and build. Not a secret: it keeps long values apart,
 * it does not resist someone building a colliding pair (2^32 work).
 */
uint64_t
keys_digest(const char *p, size_t len)
{
    return siphash24(DIGEST_K0, DIGEST_K1, (const unsigned char *)p, len);
}

/*
 * Write the key of the value 'p' ('len' bytes, any bytes) to 'out' and
 * return its length, at most KEYS_LEN_MAX; 'out' is not NUL-terminated.
 * Under KEYS_LEN_MAX bytes: the value itself. Otherwise exactly
 * KEYS_LEN_MAX bytes: the first KEYS_PREFIX_LEN, '~', and keys_digest of
 * the whole value as 16 lowercase hex digits, most significant first.
 */
size_t
keys_normalize(const char *p, size_t len, char out[KEYS_LEN_MAX])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t d;
    int i;

    if (len < KEYS_LEN_MAX) {
        if (len > 0)
            memcpy(out, p, len);
        return len;
    }
    memcpy(out, p, KEYS_PREFIX_LEN);
    out[KEYS_PREFIX_LEN] = '~';
    d = keys_digest(p, len);
    for (i = 15; i >= 0; i--, d >>= 4)
        out[KEYS_PREFIX_LEN + 1 + i] = hex[d & 0xf];
    return KEYS_LEN_MAX;
}

/*
 * Make an empty table of 'max_keys' slots (1 .. KEYS_MAX) whose index hash
 * is keyed by 'seed'. The seed changes no slot number and no answer except
 * a crowded KEYS_FULL (see the top of this file): a fixed seed makes even
 * those reproducible, a random one keeps the hash from anyone reading the
 * source. Allocates all the table will ever use (see keys.h). Returns NULL
 * for a max_keys out of range or out of memory; free with keys_free.
 */
struct keys *
keys_new(size_t max_keys, uint64_t seed)
{
    struct keys *k;
    size_t cap = 1;

    if (max_keys < 1 || max_keys > KEYS_MAX)
        return NULL;
    while (cap < 4 * max_keys)
        cap *= 2;
    if ((k = calloc(1, sizeof(*k))) == NULL)
        return NULL;
    k->slots = calloc(max_keys, sizeof(*k->slots));
    k->index = calloc(cap, sizeof(*k->index));
    k->order = calloc(max_keys, sizeof(*k->order)); /* NOLINT(bugprone-sizeof-expression) */
    if (k->slots == NULL || k->index == NULL || k->order == NULL) {
        keys_free(k);
        return NULL;
    }
    k->max = max_keys;
    k->mask = cap - 1;
    k->probe = cap < KEYS_PROBE_MAX ? cap : KEYS_PROBE_MAX;
    k->k0 = seed ^ UINT64_C(0x243f6a8885a308d3);
    k->k1 = rotl(seed, 32) ^ UINT64_C(0x13198a2e03707344);
    return k;
}

/* Free the table and every key it holds. Does nothing if 'k' is NULL. */
void
keys_free(struct keys *k)
{
    if (k == NULL)
        return;
    free(k->slots);
    free(k->index);
    free(k->order);
    free(k);
}

/* The index hash of a key (already normalized). */
static uint64_t
key_hash(const struct keys *k, const char *name, size_t len)
{
    return siphash24(k->k0, k->k1, (const unsigned char *)name, len);
}

/*
 * Look the key 'name' (normalized, hash 'h') up in its window of the index.
 * Returns its index position, or KEYS_NONE with '*free_at' the first
 * position in the window an insert may take (KEYS_NONE if none).
 */
static size_t
probe(struct keys *k, const char *name, size_t len, uint64_t h, size_t *free_at)
{
    const struct keys_ref *e;
    const struct keys_slot *s;
    size_t i, pos;

    *free_at = KEYS_NONE;
    k->st.lookups++;
    for (i = 0; i < k->probe; i++) {
        pos = (size_t)(h + i) & k->mask;
        e = &k->index[pos];
        k->st.probes++;
        if (e->ref == REF_EMPTY || e->ref == REF_TOMB) {
            if (*free_at == KEYS_NONE)
                *free_at = pos;
            if (e->ref == REF_EMPTY)
                break; /* inserts take the first free position: nothing lies beyond */
            continue;
        }
        s = &k->slots[e->ref - 1];
        if (e->tag == (uint32_t)(h >> 32) && s->len == len && memcmp(s->name, name, len) == 0)
            return pos;
    }
    return KEYS_NONE;
}

/* Put the key 'name' (hash 'h') in the free slot 'slot' at the index position 'at'. */
static void
place(struct keys *k, size_t slot, const char *name, size_t len, uint64_t h, size_t at,
      int64_t now_ms)
{
    struct keys_slot *s = &k->slots[slot];

    if (slot >= k->hw)
        k->hw = slot + 1;
    s->last_ms = now_ms;
    s->at = (uint32_t)at;
    s->len = (uint16_t)len;
    s->used = 1;
    if (len > 0)
        memcpy(s->name, name, len);
    k->index[at].ref = (uint32_t)slot + 1;
    k->index[at].tag = (uint32_t)(h >> 32);
    k->used++;
    k->sorted = 0;
}

/* Give the key 'name' (hash 'h') the lowest free slot and the index position 'at'. */
static size_t
take_slot(struct keys *k, const char *name, size_t len, uint64_t h, size_t at, int64_t now_ms)
{
    size_t slot;

    /* The caller made sure a slot is free: the lowest one is at or after 'low'. */
    for (slot = k->low; k->slots[slot].used; slot++)
        ;
    k->low = slot + 1;
    place(k, slot, name, len, h, at, now_ms);
    return slot;
}

/*
 * Put back a key of a saved table: 'name' ('len' bytes, as keys_name gave
 * it: already normalized) in slot 'slot', last touched at 'last_ms'.
 * Returns 0, or -1 (nothing changed) when the slot is out of range or in
 * use by another key, the name is not a normalized key, the key has another
 * slot already, or its index window is crowded. The same key put in the
 * same slot again (two metrics sharing the table saved it twice) keeps the
 * later time. A table put back key by key hands out the same slots as the
 * one saved (the lowest free first).
 */
int
keys_put(struct keys *k, size_t slot, const char *name, size_t len, int64_t last_ms)
{
    char norm[KEYS_LEN_MAX];
    size_t pos, at;
    uint64_t h;

    if (slot >= k->max || len > KEYS_LEN_MAX)
        return -1;
    if (k->slots[slot].used) {
        if (k->slots[slot].len != len || memcmp(k->slots[slot].name, name, len) != 0)
            return -1;
        if (last_ms > k->slots[slot].last_ms)
            k->slots[slot].last_ms = last_ms;
        return 0;
    }
    /* A short key is itself; a long one is a prefix, '~' and 16 hex digits. */
    if (len == KEYS_LEN_MAX) {
        if (name[KEYS_PREFIX_LEN] != '~')
            return -1;
        for (pos = KEYS_PREFIX_LEN + 1; pos < KEYS_LEN_MAX; pos++)
            if (strchr("0123456789abcdef", name[pos]) == NULL || name[pos] == '\0')
                return -1;
    } else if (keys_normalize(name, len, norm) != len) {
        return -1;
    }
    h = key_hash(k, name, len);
    if (probe(k, name, len, h, &at) != KEYS_NONE || at == KEYS_NONE)
        return -1;
    place(k, slot, name, len, h, at, last_ms);
    return 0;
}

/*
 * The slot of the value 'p' ('len' bytes, any bytes; normalized here), added
 * if new. Sets '*slot' and returns KEYS_FOUND or KEYS_ADDED; a found key's
 * time becomes the later of its time and 'now_ms', an added key's is
 * 'now_ms'. KEYS_FULL, with '*slot' = KEYS_NONE, if every slot is in use or
 * (crowded) the key's index window is: the caller counts it in KEYS_OTHER.
 * Never allocates; at most KEYS_PROBE_MAX index entries examined.
 */
enum keys_result
keys_get(struct keys *k, const char *p, size_t len, int64_t now_ms, size_t *slot)
{
    char name[KEYS_LEN_MAX];
    size_t nlen = keys_normalize(p, len, name);

    return keys_get_name(k, name, nlen, now_ms, slot);
}

/*
 * keys_get for a key already normalized, as keys_name gives it: a key of
 * another table, such as a host's. A name over KEYS_LEN_MAX bytes is
 * KEYS_FULL.
 */
enum keys_result
keys_get_name(struct keys *k, const char *name, size_t nlen, int64_t now_ms, size_t *slot)
{
    uint64_t h;
    size_t pos, at;
    struct keys_slot *s;

    *slot = KEYS_NONE;
    if (nlen > KEYS_LEN_MAX)
        return KEYS_FULL;
    h = key_hash(k, name, nlen);
    if ((pos = probe(k, name, nlen, h, &at)) != KEYS_NONE) {
        *slot = k->index[pos].ref - 1;
        s = &k->slots[*slot];
        if (now_ms > s->last_ms)
            s->last_ms = now_ms;
        return KEYS_FOUND;
    }
    *slot = KEYS_NONE;
    if (k->used == k->max) {
        k->st.full++;
        return KEYS_FULL;
    }
    if (at == KEYS_NONE) {
        k->st.crowded++;
        return KEYS_FULL;
    }
    *slot = take_slot(k, name, nlen, h, at, now_ms);
    return KEYS_ADDED;
}

/*
 * The slot of the value 'p' if it has one: 0 and '*slot' set, else -1.
 * Adds nothing and touches no time; only the statistics change.
 */
int
keys_find(struct keys *k, const char *p, size_t len, size_t *slot)
{
    char name[KEYS_LEN_MAX];
    size_t nlen = keys_normalize(p, len, name), pos, at;

    if ((pos = probe(k, name, nlen, key_hash(k, name, nlen), &at)) == KEYS_NONE)
        return -1;
    *slot = k->index[pos].ref - 1;
    return 0;
}

/*
 * Free the slot 'slot' (its key is forgotten; the next new key takes it).
 * Returns 0, or -1 and does nothing if the slot is not in use. O(1): the
 * index entry becomes a tombstone, and with the tombstones just before it
 * (at most KEYS_PROBE_MAX) turns empty again if the next entry is empty,
 * since no key's window can run through an empty entry.
 */
int
keys_release(struct keys *k, size_t slot)
{
    struct keys_slot *s;
    size_t pos, i;

    if (slot >= k->hw || !k->slots[slot].used)
        return -1;
    s = &k->slots[slot];
    pos = s->at;
    k->index[pos].ref = REF_TOMB;
    if (k->index[(pos + 1) & k->mask].ref == REF_EMPTY) {
        for (i = 0; i < k->probe && k->index[pos].ref == REF_TOMB; i++) {
            k->index[pos].ref = REF_EMPTY;
            pos = (pos - 1) & k->mask;
        }
    }
    s->used = 0;
    s->len = 0;
    if (slot < k->low)
        k->low = slot;
    k->used--;
    k->sorted = 0;
    return 0;
}

/*
 * The key in slot 'slot' (normalized: as keys_normalize wrote it), its
 * length in '*len'. Borrowed: valid until the slot is released. NULL if the
 * slot is not in use. Not NUL-terminated; may hold any bytes.
 */
const char *
keys_name(const struct keys *k, size_t slot, size_t *len)
{
    if (slot >= k->hw || !k->slots[slot].used)
        return NULL;
    *len = k->slots[slot].len;
    return k->slots[slot].name;
}

/* Slot 'slot' (in use) was got again at 'now_ms': its time becomes the later of the two. */
void
keys_touch(struct keys *k, size_t slot, int64_t now_ms)
{
    if (slot < k->hw && k->slots[slot].used && now_ms > k->slots[slot].last_ms)
        k->slots[slot].last_ms = now_ms;
}

/* The latest now_ms slot 'slot' was got with, or INT64_MIN if it is not in use. */
int64_t
keys_last(const struct keys *k, size_t slot)
{
    if (slot >= k->hw || !k->slots[slot].used)
        return INT64_MIN;
    return k->slots[slot].last_ms;
}

/* The number of slots in use, at most keys_max. */
size_t
keys_used(const struct keys *k)
{
    return k->used;
}

/* The number of slots, max_keys as given to keys_new. */
size_t
keys_max(const struct keys *k)
{
    return k->max;
}

/*
 * The first slot in use at or after 'from', or KEYS_NONE: iterate with
 * for (s = keys_next(k, 0); s != KEYS_NONE; s = keys_next(k, s + 1)).
 * Slot order, so deterministic; the current slot may be released on the
 * way. A key added on the way may or may not be visited. O(slots) a pass.
 */
size_t
keys_next(const struct keys *k, size_t from)
{
    size_t s;

    for (s = from; s < k->hw; s++)
        if (k->slots[s].used)
            return s;
    return KEYS_NONE;
}

/*
 * The index position where the value 'p' starts probing, in [0, 4 *
 * max_keys rounded up to a power of two). For tests that build colliding
 * keys and for measuring clustering; nothing else needs it.
 */
size_t
keys_home(const struct keys *k, const char *p, size_t len)
{
    char name[KEYS_LEN_MAX];
    size_t nlen = keys_normalize(p, len, name);

    return (size_t)key_hash(k, name, nlen) & k->mask;
}

/* The bytes the table has allocated: fixed at keys_new (see keys.h for the bound). */
size_t
keys_bytes(const struct keys *k)
{
    size_t order = sizeof(k->order[0]); /* NOLINT(bugprone-sizeof-expression): a pointer */

    return sizeof(*k) + k->max * (sizeof(*k->slots) + order) + (k->mask + 1) * sizeof(*k->index);
}

/* Copy the table's counters (for --stats) to '*st'. */
void
keys_stats(const struct keys *k, struct keys_stats *st)
{
    *st = k->st;
}

/* Two used slots by their keys' bytes, a key before the longer keys it begins. */
static int
by_name(const void *a, const void *b)
{
    const struct keys_slot *x = *(const struct keys_slot *const *)a;
    const struct keys_slot *y = *(const struct keys_slot *const *)b;
    int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);

    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/*
 * Sort the keys in use by their bytes (again only after keys came or went)
 * and return how many there are: keys_sorted_slot(k, 0 .. n - 1) gives
 * their slots in that order. Slot numbers follow the order keys arrived in;
 * this order does not, so what is written per key is the same whichever
 * line, or host, brought a key first.
 */
size_t
keys_sorted(struct keys *k)
{
    size_t slot, n = 0;

    if (k->sorted)
        return k->used;
    for (slot = 0; slot < k->hw; slot++)
        if (k->slots[slot].used)
            k->order[n++] = &k->slots[slot];
    qsort(k->order, n, sizeof(*k->order), by_name); /* NOLINT(bugprone-sizeof-expression) */
    k->sorted = 1;
    return n;
}

/* The slot of the 'i'th key in byte order (after keys_sorted). */
size_t
keys_sorted_slot(const struct keys *k, size_t i)
{
    return (size_t)(k->order[i] - k->slots);
}
