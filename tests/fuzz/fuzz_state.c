/*
 * fuzz_state.c -- the state-file loader: the bytes as a state file, read,
 * restored into a pipeline of the rules in tests/fuzz/state.rarr (a count,
 * a sum, a ratio, two threshold alerts, an anomaly detector saved field by
 * field), then a few lines run on top of whatever was restored.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rarr/emit.h"
#include "rarr/pipeline.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"
#include "rarr/state.h"

/* tests/fuzz/state.rarr, embedded at build time. */
extern const char fuzz_state_rules[];
extern const size_t fuzz_state_rules_len;

static const char *const lines[] = {
    "1.2.3.4 - - [04/May/2026:10:00:00 +0000] \"GET /login HTTP/1.1\" 200 5 \"-\" \"-\"",
    "1.2.3.4 - - [04/May/2026:10:01:00 +0000] \"GET /dashboard HTTP/1.1\" 200 5 \"-\" \"-\"",
    "1.2.3.4 - - [04/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ruleset *rs;
    static char path[64];
    struct pipeline_opts opt = {.format = RECORD_AUTO,
                                .step_ms = 60000,
                                .lateness_ms = 10000,
                                .emit_alerts = 1,
                                .time_field = SIZE_MAX};
    FILE *fp, *null;
    struct pipeline *pl;
    struct emit em;
    struct diag d;
    json_t *snap;
    size_t i;
    int fd;

    if (rs == NULL) {
        rs = rules_new();
        snprintf(path, sizeof(path), "/tmp/rarr-fuzz-state-%ld", (long)getpid());
        if (rs == NULL ||
            rules_parse(rs, "state.rarr", fuzz_state_rules, fuzz_state_rules_len, &d) != 0 ||
            rules_finish(rs, 60000, &d) != 0)
            return 0;
    }
    if ((fp = fopen(path, "w")) == NULL)
        return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    null = fopen("/dev/null", "w");
    opt.log = null; /* what a load drops, said for every input */
    fd = open("/dev/null", O_WRONLY);
    emit_init(&em, fd);
    if (null != NULL && (pl = pipeline_new(rs, &opt, &em, &d)) != NULL) {
        memset(&d, 0, sizeof(d));
        if (state_read(path, &d, &snap) == 0 && snap != NULL) {
            state_restore(pipeline_step(pl), snap, path, &d);
            json_decref(snap);
        }
        for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            pipeline_line(pl, "fuzz", i + 1, lines[i], strlen(lines[i]));
        pipeline_finish(pl);
        pipeline_free(pl);
    }
    emit_fini(&em);
    if (fd != -1)
        close(fd);
    if (null != NULL)
        fclose(null);
    return 0;
}
