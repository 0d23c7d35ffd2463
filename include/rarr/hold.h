/* hold.h -- lines held back, copied, until the format or the clock is known. */
#ifndef RARR_HOLD_H
#define RARR_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "rarr/buf.h"

/* At most this many lines are held at once (16 MiB of copies at the 1 MiB line cap). */
#define HOLD_MAX 16

struct hold_line {
    size_t off, len; /* the copy in 'bytes' */
    const char *src; /* borrowed: an input's name, which outlives the run */
    uint64_t lineno;
    int64_t ts_ms; /* the line's time, when the holder knows it */
};

struct hold {
    struct buf bytes;
    struct hold_line v[HOLD_MAX];
    size_t n;
};

void hold_init(struct hold *h);
void hold_fini(struct hold *h);
int hold_add(struct hold *h, const char *src, uint64_t lineno, const char *p, size_t len,
             int64_t ts_ms);
const char *hold_text(const struct hold *h, size_t i);
int hold_copy(struct hold *h, const struct hold *from);
void hold_clear(struct hold *h);

#endif
