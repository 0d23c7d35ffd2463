/* hll.h -- distinct counting: a HyperLogLog sketch with an exact sparse mode, a value type. */
#ifndef RARR_HLL_H
#define RARR_HLL_H

#include <stddef.h>
#include <stdint.h>

/* 2^14 one-byte registers: a standard error of 1.04 / sqrt(16384), about 0.81 %. */
#define HLL_P 14
#define HLL_REGISTERS (1u << HLL_P)
/* A register holds 0 (nothing seen) up to 64 - HLL_P + 1. */
#define HLL_RANK_MAX (64 - HLL_P + 1)
/* Distinct hashes kept exactly (8 KiB) before the sketch goes dense (16 KiB). */
#define HLL_SPARSE_MAX 1024

/*
 * A sketch is sparse while it has seen at most HLL_SPARSE_MAX distinct
 * hashes: 'hashes' holds them sorted and unique, and the count is exact.
 * The next distinct hash makes it dense: 'regs' holds HLL_REGISTERS
 * registers and 'hashes' is freed. Memory: at most HLL_SPARSE_MAX * 8 bytes
 * while sparse, exactly HLL_REGISTERS bytes while dense (both for a moment
 * while going dense). Two sketches merge into the sketch of the union of
 * what they saw, whatever the order and grouping of the merges, so a step
 * can be gathered in parts (per key, per host) and joined, and steps can be
 * joined into windows.
 */
struct hll {
    uint64_t *hashes; /* sparse: sorted, unique; NULL when dense */
    size_t n;         /* hashes held */
    size_t cap;       /* hashes room, at most HLL_SPARSE_MAX */
    uint8_t *regs;    /* dense: HLL_REGISTERS registers; NULL while sparse */
};

void hll_init(struct hll *h);
void hll_fini(struct hll *h);
void hll_clear(struct hll *h);
uint64_t hll_hash(const char *p, size_t len);
int hll_add(struct hll *h, uint64_t hash);
int hll_merge(struct hll *to, const struct hll *from);
double hll_count(const struct hll *h);
size_t hll_bytes(const struct hll *h);
int hll_is_dense(const struct hll *h);
size_t hll_sparse_hashes(const struct hll *h, const uint64_t **v);
const uint8_t *hll_registers(const struct hll *h);
int hll_set_registers(struct hll *h, const uint8_t *regs);

#endif
