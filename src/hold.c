/*
 * hold.c -- lines held back between input and record, copied out of the
 * reader's buffer.
 *
 * The pipeline holds the first lines of a stream until they have voted on
 * its format, and a line whose time breaks far from the clock until the
 * lines after it confirm the jump (or show it was one stray timestamp).
 * Held lines are copies (the reader's buffer moves on), at most HOLD_MAX of
 * them, so memory stays bounded whatever the input. The holder takes them
 * back in the order they came.
 */
#include "rarr/hold.h"

#include <string.h>

/* Start with nothing held. */
void
hold_init(struct hold *h)
{
    memset(h, 0, sizeof(*h));
    buf_init(&h->bytes);
}

/* Free the copies. */
void
hold_fini(struct hold *h)
{
    buf_fini(&h->bytes);
    h->n = 0;
}

/*
 * Copy the line 'p'/'len' read from 'src' (borrowed: it must outlive the
 * hold) at 'lineno', with the time 'ts_ms' the holder gives it. Returns 0, or
 * -1 when HOLD_MAX lines are held already or memory ran out.
 */
int
hold_add(struct hold *h, const char *src, uint64_t lineno, const char *p, size_t len, int64_t ts_ms)
{
    struct hold_line *l;

    if (h->n == HOLD_MAX)
        return -1;
    l = &h->v[h->n];
    l->off = h->bytes.len;
    if (buf_add(&h->bytes, p, len) != 0)
        return -1;
    l->len = len;
    l->src = src;
    l->lineno = lineno;
    l->ts_ms = ts_ms;
    h->n++;
    return 0;
}

/* The bytes of held line 'i' (valid until the next hold_add or hold_clear). */
const char *
hold_text(const struct hold *h, size_t i)
{
    return h->bytes.p != NULL ? h->bytes.p + h->v[i].off : "";
}

/* Add copies of every line 'from' holds to 'h'. Returns 0, or -1 as hold_add(). */
int
hold_copy(struct hold *h, const struct hold *from)
{
    size_t i;

    for (i = 0; i < from->n; i++)
        if (hold_add(h, from->v[i].src, from->v[i].lineno, hold_text(from, i), from->v[i].len,
                     from->v[i].ts_ms) == -1)
            return -1;
    return 0;
}

/* Forget every held line (the copies' memory is kept for the next ones). */
void
hold_clear(struct hold *h)
{
    h->n = 0;
    h->bytes.len = 0;
}
