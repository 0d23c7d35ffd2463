/*
 * fuzz_pipeline.c -- the whole pipeline: the built-in rules (metrics, a
 * ratio, an alert, anomaly detectors) plus a capture and a sum, the input
 * split into lines, auto-detected, every record written to /dev/null.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "rarr/emit.h"
#include "rarr/pipeline.h"
#include "rarr/rules.h"

extern const char rarr_default_rules[];
extern const size_t rarr_default_rules_len;

static const char extra[] =
    "metric bytes sum=bytes request~'^GET /(?<page>[a-z]+)' page!~'^static'\n"
    "anomaly bytes window=1m direction=both\n"
    "alert bytes window=5m above=100000\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ruleset *rs;
    struct pipeline_opts opt = {.format = RECORD_AUTO,
                                .step_ms = 60000,
                                .lateness_ms = 10000,
                                .emit_alerts = 1,
                                .emit_metrics = 1,
                                .time_field = SIZE_MAX};
    const char *p = (const char *)data, *end = p + size, *nl;
    struct pipeline *pl;
    struct emit em;
    struct diag d;
    uint64_t n = 0;
    int fd;

    if (rs == NULL) {
        rs = rules_new();
        if (rs == NULL ||
            rules_parse(rs, "default.rarr", rarr_default_rules, rarr_default_rules_len, &d) != 0 ||
            rules_parse(rs, "extra.rarr", extra, sizeof(extra) - 1, &d) != 0 ||
            rules_finish(rs, 60000, &d) != 0)
            return 0;
    }
    if ((fd = open("/dev/null", O_WRONLY)) == -1)
        return 0;
    emit_init(&em, fd);
    if ((pl = pipeline_new(rs, &opt, &em, &d)) != NULL) {
        while (p < end) {
            nl = memchr(p, '\n', (size_t)(end - p));
            if (nl == NULL)
                nl = end;
            if (pipeline_line(pl, "fuzz", ++n, p, (size_t)(nl - p)) == -1)
                break;
            p = nl + 1;
        }
        pipeline_finish(pl);
        pipeline_free(pl);
    }
    emit_fini(&em);
    close(fd);
    return 0;
}
