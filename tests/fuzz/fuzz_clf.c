/*
 * fuzz_clf.c -- the combined/common parser (input_clf_parse) on one line,
 * then every field read back, twice in a row so the day cache of the time
 * parser sees a line after another.
 */
#include "fuzz.h"

#include <string.h>

#include "rarr/input_clf.h"
#include "rarr/record.h"

static void
one(struct record *r, const char *p, size_t len, int combined)
{
    size_t f;

    if (record_begin(r, combined ? RECORD_COMBINED : RECORD_COMMON, p, len) == -1)
        return;
    if (input_clf_parse(r, combined) == 0)
        for (f = 0; f < RECORD_NFIXED; f++)
            (void)r->clf[f].len;
    record_end(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct record r;
    static int ready;
    const char *p = (const char *)data, *nl = memchr(p, '\n', size);
    size_t first = nl != NULL ? (size_t)(nl - p) : size;

    if (!ready && record_init(&r, NULL, 0) == 0)
        ready = 1;
    if (!ready)
        return 0;
    one(&r, p, first, 1);
    one(&r, p, first, 0);
    if (nl != NULL)
        one(&r, nl + 1, size - first - 1, 1);
    return 0;
}
