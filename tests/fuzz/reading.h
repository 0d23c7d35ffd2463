/*
 * reading.h -- what the line-reader targets (fuzz_input, fuzz_lines) share:
 * the results of input_next as lengths and hashes, compared exactly, and a
 * gzip member made here. Each target is one translation unit that uses all
 * of it, so the functions are static.
 */
#ifndef RARR_FUZZ_READING_H
#define RARR_FUZZ_READING_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "rarr/input.h"

/* One result of input_next: a line by its length and hash. */
struct res {
    enum input_status st;
    uint64_t lineno;
    size_t len;
    uint64_t hash;
};

struct reading {
    struct res *v;
    size_t n, cap;
    char err[160]; /* input_error() at an INPUT_ERROR */
};

static uint64_t
fnv(const char *p, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static void
push(struct reading *r, enum input_status st, uint64_t lineno, const char *p, size_t len)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct res *v = realloc(r->v, cap * sizeof(*v));

        if (v == NULL)
            abort();
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = (struct res){st, lineno, len, fnv(p, len)};
}

static int
no_wait(void *arg)
{
    (void)arg;
    return 0;
}

/* Append 'len' bytes of 'p' as one gzip member to 'out' (capacity 'cap'); returns the new length.
 */
static size_t
gzip_member(const unsigned char *p, size_t len, unsigned char *out, size_t used, size_t cap)
{
    z_stream z;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    z.next_in = (unsigned char *)(uintptr_t)p;
    z.avail_in = (uInt)len;
    z.next_out = out + used;
    z.avail_out = (uInt)(cap - used);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    used = cap - z.avail_out;
    deflateEnd(&z);
    return used;
}

static void
same(const struct reading *a, const struct reading *b)
{
    size_t i;

    if (a->n != b->n || strcmp(a->err, b->err) != 0)
        abort();
    for (i = 0; i < a->n; i++)
        if (a->v[i].st != b->v[i].st || a->v[i].lineno != b->v[i].lineno ||
            a->v[i].len != b->v[i].len || a->v[i].hash != b->v[i].hash)
            abort();
}

#endif
