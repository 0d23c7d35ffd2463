/*
 * fuzz_rules.c -- the rule-file parser: parse, finish (compiles every regex),
 * describe, and warn about the fields each web log format lacks (JSON and
 * an undetected format have every field, so they warn of nothing).
 */
#include "fuzz.h"

#include <stdio.h>

#include "rarr/rules.h"
#include "rarr/rules_parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum record_format formats[] = {RECORD_COMBINED, RECORD_COMMON, RECORD_VCOMBINED,
                                                 RECORD_RAW};
    struct ruleset *rs = rules_new();
    struct diag d;
    FILE *null = fopen("/dev/null", "w");
    size_t i;

    if (rs != NULL && rules_parse(rs, "fuzz.rarr", (const char *)data, size, &d) == 0 &&
        rules_finish(rs, 60000, &d) == 0 && null != NULL) {
        rules_describe(rs, null);
        for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
            rules_warn_fields(rs, formats[i], null);
    }
    if (null != NULL)
        fclose(null);
    rules_free(rs);
    return 0;
}
