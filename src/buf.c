/*
 * buf.c -- the one growable byte buffer used by every stage.
 *
 * A buf owns 'cap' bytes at 'p', of which 'len' are used. Growth doubles, so
 * appending is amortised O(1). Every function that can grow returns -1 on
 * out-of-memory or size overflow and leaves the buffer as it was.
 */
#include "rarr/buf.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Make an empty buffer that owns nothing yet. */
void
buf_init(struct buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Free what the buffer owns and make it empty again. */
void
buf_fini(struct buf *b)
{
    free(b->p);
    buf_init(b);
}

/* Make room for 'extra' more bytes plus a terminating NUL. */
int
buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > SIZE_MAX - b->len - 1)
        return -1;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    if ((p = realloc(b->p, cap)) == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Append 'len' bytes; the buffer stays NUL-terminated. */
int
buf_add(struct buf *b, const void *p, size_t len)
{
    if (buf_reserve(b, len) == -1)
        return -1;
    if (len > 0)
        memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

/* Append a C string. */
int
buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

/* Append one byte. */
int
buf_addc(struct buf *b, int c)
{
    char ch = (char)c;

    return buf_add(b, &ch, 1);
}

/* Append printf-formatted text. */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) == -1)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* The contents as a C string; an empty buffer gives "". Borrowed. */
char *
buf_cstr(struct buf *b)
{
    static char empty[1];

    return b->p ? b->p : empty;
}

/*
 * Append 'v' in the shortest form that reads back to the same double
 * ("41.2", "3", "1e-07"): every number in an output record is written so
 * (docs/design.md, "Output records"). NaN and infinities have no JSON form
 * and are written as null.
 */
int
buf_add_double(struct buf *b, double v)
{
    char tmp[40];
    int prec;

    if (!isfinite(v))
        return buf_add(b, "null", 4);
    if (v == 0)
        return buf_add(b, "0", 1);
    if (fabs(v) < 1e15 && v == (double)(long long)v) {
        /* Whole numbers (most counts) by hand. */
        long long n = (long long)v;
        unsigned long long u = n < 0 ? (unsigned long long)-n : (unsigned long long)n;
        char *w = tmp + sizeof(tmp);

        do {
            *--w = (char)('0' + u % 10);
            u /= 10;
        } while (u != 0);
        if (n < 0)
            *--w = '-';
        return buf_add(b, w, (size_t)(tmp + sizeof(tmp) - w));
    }
    /*
     * %g drops trailing zeros: if 15 digits read back, no shorter form does
     * (subnormals, with fewer digits of precision, excepted).
     */
    for (prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return buf_adds(b, tmp);
}
