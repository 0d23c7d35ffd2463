/*
 * fuzz_clf.c -- the combined/common parser (input_clf_parse) on one line,
 * then every field read back through record_get (the request split on
 * demand, every byte touched), twice in a row so the time cache of the
 * parser sees a line after another.
 */
#include "fuzz.h"

#include <string.h>

#include "rarr/input_clf.h"
#include "rarr/record.h"

/* Every field by name, as the rules read them: record_get, the request split on demand. */
static struct record_fieldref fields[RECORD_NFIXED];
static char names[RECORD_NFIXED][16] = {
    "line",  "remote_addr", "ident",  "user",  "time",    "request",    "method", "path",
    "query", "protocol",    "status", "bytes", "referer", "user_agent", "extra",  "vhost",
};

static volatile unsigned sink; /* the bytes read go here, so the reads stay */

static void
one(struct record *r, const char *p, size_t len, int combined)
{
    size_t f, i;

    if (record_begin(r, combined ? RECORD_COMBINED : RECORD_COMMON, p, len) == -1)
        return;
    if (input_clf_parse(r, combined ? RECORD_COMBINED : RECORD_COMMON) == 0) {
        for (f = RECORD_NFIXED; f-- > 0;) { /* the request's parts before the request */
            struct slice v = record_get(r, f);

            for (i = 0; i < v.len; i++)
                sink += (unsigned char)v.p[i];
        }
    }
    record_end(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct record r;
    static int ready;
    const char *p = (const char *)data, *nl = memchr(p, '\n', size);
    size_t first = nl != NULL ? (size_t)(nl - p) : size;

    if (!ready) {
        size_t i;

        for (i = 0; i < RECORD_NFIXED; i++) {
            fields[i].name = names[i];
            fields[i].clf = record_clf_field(names[i]);
        }
        if (record_init(&r, fields, RECORD_NFIXED) == 0)
            ready = 1;
    }
    if (!ready)
        return 0;
    one(&r, p, first, 1);
    one(&r, p, first, 0);
    if (nl != NULL)
        one(&r, nl + 1, size - first - 1, 1);
    return 0;
}
