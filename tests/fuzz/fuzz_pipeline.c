/*
 * fuzz_pipeline.c -- the whole pipeline: lines split from the input, parsed,
 * matched, windowed, alerted on, every record written to /dev/null.
 *
 * The first byte chooses the setup, the rest are the lines. Its low two
 * bits pick one of four small rule sets, each parsed once and kept (a rule
 * set is read-only to the pipelines that use it); bits 2-3 the format
 * (auto twice, json, combined), so the format vote is skipped now and
 * then. The rule sets stay small because each line is matched against
 * every metric and each step writes a record per metric and runs every
 * detector: the built-in rules made a run ten times slower for no more
 * coverage. Steps are long where metric records are written, so a forged
 * timestamp weeks ahead crosses hundreds of steps, not tens of thousands.
 *
 *   0 counts, '=' and '!~' conditions, a define, a ratio with min=, a
 *     threshold alert with for= and one below=, errors by=path capped at 3
 *     keys with an alert per key (with a label and a summary that writes
 *     the key), ratios of them per key (over another
 *     by=path metric sharing their key table, and over a plain total);
 *     metric records written.
 *   1 sums of a CLF or JSON field and of a capture (line~'n=(?<n>...)'),
 *     so numbers near DBL_MAX add up to infinity; above= and below= alerts
 *     on them, a captured sum by=user capped at 2 keys; metric records
 *     written.
 *   2 one count anomaly detector (daily season, window of six steps)
 *     beside the detector of all lines the pipeline adds.
 *   3 a sum watched over one step: the continuous anomaly path.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rarr/emit.h"
#include "rarr/pipeline.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

struct setup {
    const char *rules;
    int64_t step_ms, lateness_ms;
    int emit_metrics;
};

static const struct setup setups[4] = {
    {"define GET '^(GET|HEAD)$'\n"
     "metric hits method~'%{GET}'\n"
     "metric errors status~'^5' path!~'^/static/'\n"
     "metric logins rarr=retention method='POST' path='/login'\n"
     "ratio err_pct = errors / hits * 100 min=3\n"
     "alert err_pct window=2h above=20 for=1h\n"
     "alert logins window=1h below=1 name=no_logins\n"
     "metric by_path status~'^[45]' by=path max_keys=3\n"
     "alert by_path window=2h above=2 label.sev=x summary='{key}: {value} {window} {state} {'\n"
     "metric all_by_path method~'.' by=path max_keys=3\n"
     "ratio path_err = by_path / all_by_path * 100 min=1\n"
     "ratio path_share = all_by_path / hits * 100\n"
     "alert path_err window=2h above=50\n",
     3600000, 600000, 1},
    {"metric bytes sum=bytes\n"
     "metric n rarr=revenue sum=n line~'[?&,\"]n[=:]\"?(?<n>[-+.0-9a-zA-Z]+)'\n"
     "metric errbytes sum=bytes status~'^[45]'\n"
     "alert bytes window=15m above=1e300\n"
     "alert n window=5m below=-1e300 clear=0\n"
     "metric n_by sum=n by=user max_keys=2 line~'[?&,\"]n[=:]\"?(?<n>[-+.0-9a-zA-Z]+)'\n",
     300000, 60000, 1},
    {"metric views method='GET'\n"
     "anomaly views window=1h direction=both season=daily\n",
     600000, 60000, 0},
    {"metric bytes sum=bytes\n"
     "anomaly bytes window=10m direction=both\n",
     600000, 0, 0},
};

static const enum record_format formats[4] = {RECORD_AUTO, RECORD_AUTO, RECORD_JSON,
                                              RECORD_COMBINED};

/* The rule set of setup 'i', parsed and finished on first use. A setup that does not parse is a
 * bug of this file: abort. */
static const struct ruleset *
ruleset(int i)
{
    static struct ruleset *rs[4];
    const struct setup *s = &setups[i];
    struct diag d;

    if (rs[i] == NULL) {
        if ((rs[i] = rules_new()) == NULL ||
            rules_parse(rs[i], "fuzz.rarr", s->rules, strlen(s->rules), &d) != 0 ||
            rules_finish(rs[i], s->step_ms, &d) != 0)
            abort();
    }
    return rs[i];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int null_fd = -1;
    const struct setup *s;
    struct pipeline_opts opt = {.emit_alerts = 1, .time_field = SIZE_MAX};
    const char *p, *end, *nl;
    struct pipeline *pl;
    struct emit em;
    struct diag d;
    uint64_t n = 0;

    if (size < 1)
        return 0;
    if (null_fd == -1 && (null_fd = open("/dev/null", O_WRONLY)) == -1)
        abort();
    s = &setups[data[0] & 3];
    opt.format = formats[(data[0] >> 2) & 3];
    opt.step_ms = s->step_ms;
    opt.lateness_ms = s->lateness_ms;
    opt.emit_metrics = s->emit_metrics;
    emit_init(&em, null_fd);
    if ((pl = pipeline_new(ruleset(data[0] & 3), &opt, &em, &d)) != NULL) {
        for (p = (const char *)data + 1, end = (const char *)data + size; p < end; p = nl + 1) {
            if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
                nl = end;
            if (pipeline_line(pl, "fuzz", ++n, p, (size_t)(nl - p)) == -1)
                break;
        }
        pipeline_finish(pl);
        pipeline_free(pl);
    }
    emit_fini(&em);
    return 0;
}
