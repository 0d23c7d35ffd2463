/*
 * fuzz_clf.c -- the CLF parser (input_clf_parse) on one line as combined,
 * common and vcombined, then every field read back through record_get (the
 * request split on demand, every byte touched), several times in a row so
 * the time cache of the parser sees a line after another; then the next
 * line. The formats exclude each other as they must: a line that parses as
 * combined also parses as common, and never as vcombined.
 */
#include "fuzz.h"

#include <stdlib.h>
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

/* Parse the line as 'fmt' and read every field. Returns input_clf_parse's result. */
static int
one(struct record *r, const char *p, size_t len, enum record_format fmt)
{
    size_t f, i;
    int rc;

    if (record_begin(r, fmt, p, len) == -1)
        return -2;
    if ((rc = input_clf_parse(r, fmt)) == 0) {
        for (f = RECORD_NFIXED; f-- > 0;) { /* the request's parts before the request */
            struct slice v = record_get(r, f);

            for (i = 0; i < v.len; i++)
                sink += (unsigned char)v.p[i];
        }
    }
    record_end(r);
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct record r;
    static int ready;
    const char *p = (const char *)data, *nl = memchr(p, '\n', size);
    size_t first = nl != NULL ? (size_t)(nl - p) : size;
    int combined, common, vcombined;

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
    combined = one(&r, p, first, RECORD_COMBINED);
    common = one(&r, p, first, RECORD_COMMON);
    vcombined = one(&r, p, first, RECORD_VCOMBINED);
    if (combined == 0 && (common != 0 || vcombined == 0))
        abort();
    if (nl != NULL) {
        one(&r, nl + 1, size - first - 1, RECORD_COMBINED);
        one(&r, nl + 1, size - first - 1, RECORD_VCOMBINED);
    }
    return 0;
}
