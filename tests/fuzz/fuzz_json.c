/*
 * fuzz_json.c -- the JSON record path: parse one line as an event (with the
 * standard time keys, then with a dotted --time-field) and read fields the
 * way rules do: flat keys, dotted paths, journald's MESSAGE (text or bytes).
 */
#include "fuzz.h"

#include <string.h>

#include "rarr/input_json.h"
#include "rarr/record.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

static const char rules[] = "metric a path~'x' MESSAGE~'y' http.response.status_code~'^5'\n"
                            "metric b user.id~'.' ts~'.' _SYSTEMD_UNIT='app.service'\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ruleset *rs;
    static struct record r;
    static size_t time_field = SIZE_MAX;
    enum diag_reason why;
    struct diag d;
    size_t f, pass;

    if (rs == NULL) {
        rs = rules_new();
        if (rs == NULL || rules_parse(rs, "fuzz.rarr", rules, sizeof(rules) - 1, &d) != 0 ||
            (time_field = rules_field(rs, "event.created")) == SIZE_MAX ||
            rules_finish(rs, 60000, &d) != 0 || record_init(&r, rs->fields, rs->nfields) != 0)
            return 0;
    }
    for (pass = 0; pass < 2; pass++) {
        if (record_begin(&r, RECORD_JSON, (const char *)data, size) == -1)
            return 0;
        if (input_json_parse(&r, pass ? &rs->fields[time_field] : NULL, pass, &why) == 0)
            for (f = 0; f < rs->nfields; f++)
                (void)record_get(&r, f).len;
        record_end(&r);
    }
    return 0;
}
