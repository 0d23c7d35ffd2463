/*
 * hll.c -- distinct counting for distinct=FIELD: a HyperLogLog sketch with an
 * exact sparse mode, the value type the step stage gathers per step and the
 * windows merge.
 *
 * Hash: 64-bit FNV-1a over the bytes, then the 64-bit finalizer of murmur3
 * (xor-shift, multiply, twice) so every input bit reaches every output bit.
 * It works byte by byte, so it is the same on every host and build; sketches
 * are merged across hosts and saved in state files, so it must never change
 * (tests/test_hll.c pins a few values).
 *
 * Sparse mode: up to HLL_SPARSE_MAX distinct hashes, sorted and unique; the
 * count is their number, exact (up to 64-bit collisions, about n^2 / 2^65).
 *
 * Dense mode: the top HLL_P bits of a hash pick a register; the register
 * keeps the largest rank seen, the rank being 1 + the leading zeros of the
 * other 64 - HLL_P bits (HLL_RANK_MAX when they are all zero). Dense sketches
 * merge by taking the larger of each pair of registers.
 *
 * Estimator: Otmar Ertl's improved estimator (2017), computed from the
 * histogram C[0..q+1] of the register values, q = 64 - HLL_P:
 *
 *     z = m tau(1 - C[q+1]/m);  z = (z + C[k]) / 2 for k = q..1;
 *     z += m sigma(C[0]/m);     estimate = m^2 / (2 ln 2 z)
 *
 *     sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1)
 *     tau(x)   = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3
 *
 * sigma accounts for empty registers (it takes over from linear counting at
 * small counts), tau for saturated ones, so the estimate is unbiased within
 * a fraction of the standard error over the whole range without empirical
 * bias tables or a switch point.
 *
 * Invariant: the state of a sketch is a function of the set of hashes it was
 * given (by adds and merges): sparse with exactly that set while it has at
 * most HLL_SPARSE_MAX members, otherwise dense with the registers of that set.
 * Merging is therefore associative, commutative and idempotent. Only
 * hll_set_registers makes a dense sketch from outside.
 */
#include "rarr/hll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HLL_FNV_OFFSET 0xcbf29ce484222325u
#define HLL_FNV_PRIME 0x100000001b3u
#define HLL_SPARSE_MIN 16

/* Make an empty sparse sketch that owns nothing yet. */
void
hll_init(struct hll *h)
{
    h->hashes = NULL;
    h->n = 0;
    h->cap = 0;
    h->regs = NULL;
}

/* Free what the sketch owns and make it empty. Does nothing if 'h' is NULL. */
void
hll_fini(struct hll *h)
{
    if (h == NULL)
        return;
    free(h->hashes);
    free(h->regs);
    hll_init(h);
}

/*
 * Make the sketch empty again. A sparse sketch keeps its array for the next
 * step; a dense one frees its registers, because an empty sketch is sparse
 * (exact) and most steps of most fields see few values.
 */
void
hll_clear(struct hll *h)
{
    if (h->regs != NULL) {
        hll_fini(h);
        return;
    }
    h->n = 0;
}

/*
 * The stable 64-bit hash of 'len' bytes at 'p' (which may be NULL when 'len'
 * is 0): FNV-1a, then the murmur3 finalizer. Never change it: saved states
 * and sketches from other hosts hold its values.
 */
uint64_t
hll_hash(const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p;
    uint64_t x = HLL_FNV_OFFSET;
    size_t i;

    for (i = 0; i < len; i++) {
        x ^= s[i];
        x *= HLL_FNV_PRIME;
    }
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    x ^= x >> 33;
    return x;
}

/* Leading zero bits of 'x', which is not 0 (portable: no compiler builtin). */
static unsigned
hll_clz64(uint64_t x)
{
    unsigned n = 0;

    if ((x >> 32) == 0) {
        n += 32;
        x <<= 32;
    }
    if ((x >> 48) == 0) {
        n += 16;
        x <<= 16;
    }
    if ((x >> 56) == 0) {
        n += 8;
        x <<= 8;
    }
    if ((x >> 60) == 0) {
        n += 4;
        x <<= 4;
    }
    if ((x >> 62) == 0) {
        n += 2;
        x <<= 2;
    }
    if ((x >> 63) == 0)
        n += 1;
    return n;
}

/* Put one hash into dense registers: its register keeps the larger rank. */
static void
hll_regs_add(uint8_t *regs, uint64_t hash)
{
    uint64_t rest = hash << HLL_P;
    unsigned rank = rest == 0 ? HLL_RANK_MAX : hll_clz64(rest) + 1;
    uint8_t *r = &regs[hash >> (64 - HLL_P)];

    if (*r < rank)
        *r = (uint8_t)rank;
}

/*
 * Make a sparse sketch dense: registers from its hashes, the hashes freed.
 * Returns 0, or -1 on out-of-memory with the sketch unchanged.
 */
static int
hll_go_dense(struct hll *h)
{
    size_t i;

    if ((h->regs = calloc(HLL_REGISTERS, 1)) == NULL)
        return -1;
    for (i = 0; i < h->n; i++)
        hll_regs_add(h->regs, h->hashes[i]);
    free(h->hashes);
    h->hashes = NULL;
    h->n = 0;
    h->cap = 0;
    return 0;
}

/*
 * Make room for 'need' (at most HLL_SPARSE_MAX) sparse hashes. The room
 * doubles from HLL_SPARSE_MIN and stops at HLL_SPARSE_MAX, which bounds the
 * array at HLL_SPARSE_MAX * 8 bytes. Returns 0, or -1 on out-of-memory with
 * the sketch unchanged.
 */
static int
hll_reserve(struct hll *h, size_t need)
{
    size_t cap = h->cap ? h->cap : HLL_SPARSE_MIN;
    uint64_t *v;

    if (need <= h->cap)
        return 0;
    while (cap < need)
        cap *= 2;
    if (cap > HLL_SPARSE_MAX)
        cap = HLL_SPARSE_MAX;
    if ((v = realloc(h->hashes, cap * sizeof(*v))) == NULL)
        return -1;
    h->hashes = v;
    h->cap = cap;
    return 0;
}

/* Where 'hash' is or would go in the sorted sparse hashes (the first not below it). */
static size_t
hll_find(const struct hll *h, uint64_t hash)
{
    size_t lo = 0, hi = h->n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (h->hashes[mid] < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Count one value by its hash (from hll_hash). A hash seen before changes
 * nothing. The HLL_SPARSE_MAX + 1st distinct hash makes the sketch dense.
 * Returns 0, or -1 on out-of-memory with the sketch as it was.
 */
int
hll_add(struct hll *h, uint64_t hash)
{
    size_t at;

    if (h->regs != NULL) {
        hll_regs_add(h->regs, hash);
        return 0;
    }
    at = hll_find(h, hash);
    if (at < h->n && h->hashes[at] == hash)
        return 0;
    if (h->n == HLL_SPARSE_MAX) {
        if (hll_go_dense(h) == -1)
            return -1;
        hll_regs_add(h->regs, hash);
        return 0;
    }
    if (hll_reserve(h, h->n + 1) == -1)
        return -1;
    memmove(&h->hashes[at + 1], &h->hashes[at], (h->n - at) * sizeof(*h->hashes));
    h->hashes[at] = hash;
    h->n++;
    return 0;
}

/* The number of distinct hashes in the union of two sorted unique arrays. */
static size_t
hll_union_size(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t i = 0, j = 0, u = 0;

    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (b[j] < a[i])
            j++;
        else {
            i++;
            j++;
        }
        u++;
    }
    return u + (na - i) + (nb - j);
}

/*
 * Unite the sparse hashes of 'from' into those of 'to', staying sparse while
 * the union fits, going dense otherwise. The union is written from the back
 * into 'to's array, so no second array is needed: the write position never
 * falls below the next element of 'to' still to be read.
 */
static int
hll_merge_sparse(struct hll *to, const struct hll *from)
{
    const uint64_t *b = from->hashes;
    size_t i = to->n, j = from->n, k, u;

    u = hll_union_size(to->hashes, to->n, b, from->n);
    if (u > HLL_SPARSE_MAX) {
        if (hll_go_dense(to) == -1)
            return -1;
        for (j = 0; j < from->n; j++)
            hll_regs_add(to->regs, b[j]);
        return 0;
    }
    if (hll_reserve(to, u) == -1)
        return -1;
    for (k = u; k > 0; k--) {
        if (j == 0 || (i > 0 && to->hashes[i - 1] >= b[j - 1])) {
            if (j > 0 && to->hashes[i - 1] == b[j - 1])
                j--; /* in both: written once */
            to->hashes[k - 1] = to->hashes[--i];
        } else {
            to->hashes[k - 1] = b[--j];
        }
    }
    to->n = u;
    return 0;
}

/*
 * Add what 'from' saw to 'to' ('from' is borrowed and unchanged): registers
 * take the larger value, sparse sets unite, and 'to' goes dense when 'from'
 * is dense or the union has more than HLL_SPARSE_MAX hashes. The result is
 * the sketch of the union, so merges may be grouped and ordered freely.
 * Returns 0, or -1 on out-of-memory with 'to' as it was.
 */
int
hll_merge(struct hll *to, const struct hll *from)
{
    size_t i;

    if (to == from)
        return 0;
    if (from->regs == NULL && to->regs == NULL)
        return hll_merge_sparse(to, from);
    if (from->regs == NULL) {
        for (i = 0; i < from->n; i++)
            hll_regs_add(to->regs, from->hashes[i]);
        return 0;
    }
    if (to->regs == NULL && hll_go_dense(to) == -1)
        return -1;
    for (i = 0; i < HLL_REGISTERS; i++)
        if (to->regs[i] < from->regs[i])
            to->regs[i] = from->regs[i];
    return 0;
}

/* sigma(x) for 0 <= x <= 1: x + sum over k >= 1 of x^(2^k) 2^(k-1); infinite at 1. */
static double
hll_sigma(double x)
{
    double y = 1, z = x, z_old;

    if (x == 1)
        return HUGE_VAL;
    do {
        x *= x;
        z_old = z;
        z += x * y;
        y += y;
    } while (z != z_old);
    return z;
}

/* tau(x) for 0 <= x <= 1: (1 - x - sum over k >= 1 of (1 - x^(2^-k))^2 2^-k) / 3. */
static double
hll_tau(double x)
{
    double y = 1, z = 1 - x, z_old;

    if (x == 0 || x == 1)
        return 0;
    do {
        x = sqrt(x);
        z_old = z;
        y *= 0.5;
        z -= (1 - x) * (1 - x) * y;
    } while (z != z_old);
    return z / 3;
}

/* Ertl's improved estimate from dense registers (see the top of the file). */
static double
hll_estimate(const uint8_t *regs)
{
    const double m = HLL_REGISTERS, most = ldexp(1.0, 64);
    double c[HLL_RANK_MAX + 1] = {0}, z, est;
    size_t i;
    int k;

    for (i = 0; i < HLL_REGISTERS; i++)
        c[regs[i]]++;
    z = m * hll_tau(1 - c[HLL_RANK_MAX] / m);
    for (k = HLL_RANK_MAX - 1; k >= 1; k--)
        z = 0.5 * (z + c[k]);
    z += m * hll_sigma(c[0] / m);
    /* Every register saturated gives z = 0: say 2^64, the most 64-bit hashes can tell apart. */
    if (z == 0)
        return most;
    est = m * m / (2 * log(2.0) * z);
    return est < most ? est : most;
}

/*
 * The number of distinct values counted: exact (an integer) while sparse,
 * Ertl's estimate when dense (standard error about 0.81 %; 0 for all-zero
 * registers, at most 2^64).
 */
double
hll_count(const struct hll *h)
{
    if (h->regs == NULL)
        return (double)h->n;
    return hll_estimate(h->regs);
}

/* Heap bytes the sketch holds: up to HLL_SPARSE_MAX * 8 sparse, HLL_REGISTERS dense. */
size_t
hll_bytes(const struct hll *h)
{
    if (h->regs != NULL)
        return HLL_REGISTERS;
    return h->cap * sizeof(*h->hashes);
}

/* 1 if the sketch is dense (an estimate), 0 if sparse (exact). */
int
hll_is_dense(const struct hll *h)
{
    return h->regs != NULL;
}

/*
 * For saving: point '*v' at the sparse hashes (sorted, unique, borrowed until
 * the sketch next changes) and return how many; 0 and NULL when dense. A
 * sparse sketch is restored by hll_add of each hash into an empty one.
 */
size_t
hll_sparse_hashes(const struct hll *h, const uint64_t **v)
{
    if (h->regs != NULL) {
        *v = NULL;
        return 0;
    }
    *v = h->hashes;
    return h->n;
}

/* For saving: the HLL_REGISTERS registers (borrowed), or NULL while sparse. */
const uint8_t *
hll_registers(const struct hll *h)
{
    return h->regs;
}

/*
 * For restoring: make 'h' dense with a copy of the HLL_REGISTERS bytes at
 * 'regs', replacing whatever it held. Returns 0; -1 with 'h' unchanged if a
 * register is above HLL_RANK_MAX (the bytes come from a file) or on
 * out-of-memory.
 */
int
hll_set_registers(struct hll *h, const uint8_t *regs)
{
    size_t i;

    for (i = 0; i < HLL_REGISTERS; i++)
        if (regs[i] > HLL_RANK_MAX)
            return -1;
    if (h->regs == NULL) {
        if ((h->regs = malloc(HLL_REGISTERS)) == NULL)
            return -1;
        free(h->hashes);
        h->hashes = NULL;
        h->n = 0;
        h->cap = 0;
    }
    memcpy(h->regs, regs, HLL_REGISTERS);
    return 0;
}
