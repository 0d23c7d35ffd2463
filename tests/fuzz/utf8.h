/*
 * utf8.h -- what the exporter checks (fuzz_export, fuzz_pipeline) share: a
 * UTF-8 validator written from RFC 3629's table, not taken from rarr, so
 * that the two can disagree. Each target is one translation unit that uses
 * all of it, so the functions are static.
 */
#ifndef RARR_FUZZ_UTF8_H
#define RARR_FUZZ_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at 'p' ('n' > 0 bytes left), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len, i;

    if (p[0] <= 0x7f)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (len > n || p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* Whether 'p' ('len' bytes) is valid UTF-8. */
static int
utf8_valid(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i, n;

    for (i = 0; i < len; i += n)
        if ((n = utf8_len(u + i, len - i)) == 0)
            return 0;
    return 1;
}

#endif
