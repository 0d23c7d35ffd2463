/*
 * bareloop.c -- the practical limit for rarr's job: read 1 MiB blocks, split
 * lines with memchr, find the request field (between the first two double
 * quotes) and run the built-in rules' request regexes on it, anchored and
 * JIT-compiled, with one reused match data. Prints the match counts.
 *
 *   cc -O2 -o bareloop bench/bareloop.c $(pkg-config --cflags --libs libpcre2-8)
 *   ./bareloop < access.log
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const patterns[] = {
    "^GET /(login|log-in|signin|sign-in|sign_in|users/sign_in|session/new|auth/login)\\b",
    "^GET /(dashboard|home)\\b",
    "^POST /(signup|sign-up|sign_up|register|registration|users/sign_up|join)\\b",
    "^POST /(billing/|api/(v\\d+/)?)?(subscribe|subscriptions?|checkout|purchase|orders?)\\b",
    "^GET /(pricing|features|blog|landing|about|customers|product)\\b|^GET /(\\?|$)",
};
#define NPAT (sizeof(patterns) / sizeof(patterns[0]))
#define BLOCK (1 << 20)

int
main(void)
{
    pcre2_code *re[NPAT];
    pcre2_match_data *md;
    unsigned long long count[NPAT] = {0}, lines = 0;
    char *buf = malloc(2 * BLOCK);
    size_t have = 0, i;
    int err;
    PCRE2_SIZE off;

    if (buf == NULL)
        return 1;
    for (i = 0; i < NPAT; i++) {
        re[i] = pcre2_compile((PCRE2_SPTR)patterns[i], PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
        if (re[i] == NULL || pcre2_jit_compile(re[i], PCRE2_JIT_COMPLETE) != 0)
            return 1;
    }
    md = pcre2_match_data_create(8, NULL);
    for (;;) {
        ssize_t n = read(0, buf + have, BLOCK);
        char *p = buf, *end, *nl;

        if (n < 0)
            return 1;
        have += (size_t)n;
        end = buf + have;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            char *q1 = memchr(p, '"', (size_t)(nl - p)), *q2;

            lines++;
            if (q1 != NULL && (q2 = memchr(q1 + 1, '"', (size_t)(nl - q1 - 1))) != NULL)
                for (i = 0; i < NPAT; i++)
                    if (pcre2_jit_match(re[i], (PCRE2_SPTR)(q1 + 1), (size_t)(q2 - q1 - 1), 0, 0,
                                        md, NULL) >= 0)
                        count[i]++;
            p = nl + 1;
        }
        have = (size_t)(end - p);
        memmove(buf, p, have);
        if (n == 0)
            break;
    }
    printf("lines %llu", lines);
    for (i = 0; i < NPAT; i++)
        printf(" %llu", count[i]);
    putchar('\n');
    return 0;
}
