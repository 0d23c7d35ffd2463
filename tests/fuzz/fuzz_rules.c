/* fuzz_rules.c -- the rule-file parser: parse, finish (compiles every regex), describe. */
#include "fuzz.h"

#include <stdio.h>

#include "rarr/rules.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ruleset *rs = rules_new();
    struct diag d;
    FILE *null = fopen("/dev/null", "w");

    if (rs != NULL && rules_parse(rs, "fuzz.rarr", (const char *)data, size, &d) == 0 &&
        rules_finish(rs, 60000, &d) == 0 && null != NULL) {
        rules_describe(rs, null);
        rules_warn_fields(rs, RECORD_AUTO, null);
    }
    if (null != NULL)
        fclose(null);
    rules_free(rs);
    return 0;
}
