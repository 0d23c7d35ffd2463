/* fuzz_time.c -- every timestamp parser and the duration parser on the same bytes. */
#include "fuzz.h"

#include "rarr/clock.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *why;
    char out[RARR_TIME_MAX > RARR_DUR_MAX ? RARR_TIME_MAX : RARR_DUR_MAX];
    int64_t ms;
    int off;

    if (clock_parse_clf_tz(p, size, &ms, &off) == 0)
        clock_format_time(ms, out);
    if (clock_parse_rfc3339_tz(p, size, &ms, &off) == 0)
        clock_format_time(ms, out);
    if (clock_parse_epoch(p, size, &ms) == 0)
        clock_format_time(ms, out);
    if (clock_parse_any_tz(p, size, &ms, &off) == 0)
        clock_format_time(ms, out);
    if (clock_parse_duration(p, size, &ms, &why) == 0)
        clock_format_duration(ms, out);
    return 0;
}
