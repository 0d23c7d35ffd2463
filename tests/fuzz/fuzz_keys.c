/*
 * fuzz_keys.c -- the bounded key table (keys.c) driven by a sequence of
 * operations and checked against a model: per slot, in use or not, its key
 * and its time, with the slot rule (the lowest free slot) and a linear
 * search for lookups. The table must
 * agree on every answer, never hold more than max_keys keys, and keys_name
 * must give the normalized bytes. Any difference aborts.
 *
 * The first byte picks max_keys (1 .. 80) and the seed. Then each
 * operation is a byte OP followed by what it needs, and the time is a
 * function of the operation's position that goes back now and then:
 *   OP & 3 == 0: keys_get of the next OP >> 2 bytes (0 .. 63);
 *   OP & 3 == 1: keys_find of the next OP >> 2 bytes;
 *   OP & 3 == 2: keys_release of slot (OP >> 2) % (max_keys + 1);
 *   OP & 3 == 3: keys_get of a long value: a 2-byte length L, then
 *                (OP >> 2) % 8 + 1 copies of the next L % 1025 bytes (the
 *                rest if fewer), so values cross KEYS_LEN_MAX and share
 *                prefixes.
 */
#include "fuzz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/keys.h"

#define MODEL_MAX 80
#define PIECE_MAX 1024 /* the longest piece a long value repeats */
#define COPIES_MAX 8

struct model {
    size_t max, used, hw;
    int in_use[MODEL_MAX];
    char name[MODEL_MAX][KEYS_LEN_MAX];
    size_t len[MODEL_MAX];
    int64_t last[MODEL_MAX];
};

static struct model m;
static char value[PIECE_MAX * COPIES_MAX];

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_keys: %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The key of a value, built here from the documented form (the digest is keys_digest). */
static size_t
model_key(const char *p, size_t len, char out[KEYS_LEN_MAX])
{
    char hex[17];

    if (len < KEYS_LEN_MAX) {
        if (len > 0)
            memcpy(out, p, len);
        return len;
    }
    memcpy(out, p, KEYS_PREFIX_LEN);
    out[KEYS_PREFIX_LEN] = '~';
    snprintf(hex, sizeof(hex), "%016" PRIx64, keys_digest(p, len));
    memcpy(out + KEYS_PREFIX_LEN + 1, hex, 16);
    return KEYS_LEN_MAX;
}

/* The model's slot of a key, or KEYS_NONE. */
static size_t
model_find(const char *name, size_t len)
{
    size_t s;

    for (s = 0; s < m.hw; s++)
        if (m.in_use[s] && m.len[s] == len && memcmp(m.name[s], name, len) == 0)
            return s;
    return KEYS_NONE;
}

/* keys_get against the model. */
static void
check_get(struct keys *k, const char *p, size_t len, int64_t now)
{
    char name[KEYS_LEN_MAX] = {0}, out[KEYS_LEN_MAX];
    size_t nlen = model_key(p, len, name), want = model_find(name, nlen), slot = 0;
    struct keys_stats before, after;
    enum keys_result r;

    CHECK(keys_normalize(p, len, out) == nlen && memcmp(out, name, nlen) == 0);
    keys_stats(k, &before);
    r = keys_get(k, p, len, now, &slot);
    keys_stats(k, &after);
    CHECK(after.probes - before.probes <= KEYS_PROBE_MAX);
    if (want != KEYS_NONE) {
        CHECK(r == KEYS_FOUND && slot == want);
        if (now > m.last[want])
            m.last[want] = now;
        return;
    }
    if (r == KEYS_FULL) {
        CHECK(slot == KEYS_NONE);
        /* Full, or crowded: KEYS_PROBE_MAX keys in its window. */
        CHECK(m.used == m.max ? after.full == before.full + 1
                              : after.crowded == before.crowded + 1 && m.used >= KEYS_PROBE_MAX);
        return;
    }
    CHECK(r == KEYS_ADDED && m.used < m.max);
    for (want = 0; m.in_use[want]; want++)
        ;
    if (want >= m.hw)
        m.hw = want + 1;
    CHECK(slot == want);
    m.in_use[slot] = 1;
    memcpy(m.name[slot], name, nlen);
    m.len[slot] = nlen;
    m.last[slot] = now;
    m.used++;
}

static void
check_find(struct keys *k, const char *p, size_t len)
{
    char name[KEYS_LEN_MAX];
    size_t nlen = model_key(p, len, name), want = model_find(name, nlen), slot = KEYS_NONE;

    if (want == KEYS_NONE) {
        CHECK(keys_find(k, p, len, &slot) == -1);
    } else {
        CHECK(keys_find(k, p, len, &slot) == 0 && slot == want);
    }
}

static void
check_release(struct keys *k, size_t slot)
{
    if (slot < m.hw && m.in_use[slot]) {
        CHECK(keys_release(k, slot) == 0);
        m.in_use[slot] = 0;
        m.used--;
    } else {
        CHECK(keys_release(k, slot) == -1);
    }
}

/* Every slot, in keys_next's order, against the model. */
static void
check_all(const struct keys *k)
{
    size_t s, want = 0, len, n = 0;
    const char *name;

    CHECK(keys_used(k) == m.used && m.used <= m.max);
    for (s = keys_next(k, 0); s != KEYS_NONE; s = keys_next(k, s + 1), want++, n++) {
        while (want < m.hw && !m.in_use[want])
            want++;
        CHECK(s == want);
        CHECK((name = keys_name(k, s, &len)) != NULL);
        CHECK(len == m.len[s] && memcmp(name, m.name[s], len) == 0);
        CHECK(keys_last(k, s) == m.last[s]);
    }
    CHECK(n == m.used);
}

/* Copies of the next bytes, for a long value: its length. */
static size_t
long_value(const uint8_t *data, size_t size, size_t *i, size_t copies)
{
    size_t len, c;

    if (size - *i < 2) {
        *i = size;
        return 0;
    }
    len = ((size_t)data[*i] | (size_t)data[*i + 1] << 8) % (PIECE_MAX + 1);
    *i += 2;
    if (len > size - *i)
        len = size - *i;
    for (c = 0; c < copies; c++)
        memcpy(value + c * len, data + *i, len);
    *i += len;
    return len * copies;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct keys *k;
    size_t i = 1, len, n;
    unsigned op;
    int64_t now;

    if (size < 1)
        return 0;
    memset(&m, 0, sizeof(m));
    m.max = 1 + data[0] % MODEL_MAX;
    CHECK((k = keys_new(m.max, (uint64_t)data[0] * 0x9e3779b97f4a7c15u)) != NULL);
    for (n = 0; i < size; n++) {
        op = data[i++];
        now = (int64_t)(n * 7 % 23) - 5;
        len = op >> 2;
        if ((op & 3) < 2 && len > size - i)
            len = size - i;
        if ((op & 3) == 0)
            check_get(k, (const char *)data + i, len, now);
        else if ((op & 3) == 1)
            check_find(k, (const char *)data + i, len);
        if ((op & 3) < 2)
            i += len;
        else if ((op & 3) == 2)
            check_release(k, (op >> 2) % (m.max + 1));
        else
            check_get(k, value, long_value(data, size, &i, (op >> 2) % COPIES_MAX + 1), now);
        CHECK(keys_used(k) == m.used && m.used <= m.max);
    }
    check_all(k);
    keys_free(k);
    return 0;
}
