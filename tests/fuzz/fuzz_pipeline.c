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
 *
 * After the end (and halfway through the lines when bit 4 of the first
 * byte is set: one render costs a quarter of a small input's run), the
 * Prometheus exposition of the pipeline (prom_render) must be text format
 * 0.0.4 as rarr writes it: "# HELP NAME TEXT" and "# TYPE NAME counter|gauge" once per family
 * before its samples, then "NAME VALUE" or "NAME{LABEL=\"VALUE\",...} VALUE"
 * samples of that family only, label values escaped and valid UTF-8, and
 * no series (name and label set) twice: a duplicate fails a whole scrape,
 * and by= keys are what could make one.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rarr/buf.h"
#include "rarr/emit.h"
#include "rarr/pipeline.h"
#include "rarr/prom.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"
#include "utf8.h"

/* A failed check names itself and the exposition's line it was reading, then aborts. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_pipeline.c:%d: check failed: %s\n", __LINE__, #cond);            \
            if (checking != NULL)                                                                  \
                fprintf(stderr, "exposition line: %.*s\n", (int)checking_len, checking);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/*
 * The exposition checker is not the code under test: libFuzzer's comparison
 * tracing of its byte loops cost more than the render they check.
 */
#ifdef __clang__
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

#define FAMILIES_MAX 32 /* families of an exposition (prom.c writes a dozen) */
#define LABELS_MAX 16   /* labels of a sample (an alert's: five of rarr's and the rule's) */

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

static const char *checking; /* the exposition's line under check, for CHECK's message */
static size_t checking_len;

/* A slice of the exposition. */
struct span {
    const char *p;
    size_t len;
};

/* Where a series is in struct expo's 'series'. */
struct sref {
    size_t off, len;
};

/* What the exposition said so far: its families, and each series as a canonical string. */
struct expo {
    struct span fam[FAMILIES_MAX];
    size_t nfam;
    int typed;         /* the last family has its TYPE line */
    struct buf series; /* each series: name, its labels sorted (values may hold NUL bytes) */
    struct sref *at;
    size_t nat, cap;
};

/* Whether 'c' may be in a metric name ('colon') or a label name; 'first': may begin one. */
NO_COVERAGE static int
name_char(char c, int colon, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/* Length of the metric name ('colon') or label name at 'p' (up to 'end'); 0: none. */
NO_COVERAGE static size_t
name_len(const char *p, const char *end, int colon)
{
    size_t n = 0;

    while (p + n < end && name_char(p[n], colon, n == 0))
        n++;
    return n;
}

/* Whether a sample's value 'p' ('len' bytes) reads as Prometheus reads it. */
NO_COVERAGE static int
is_value(const char *p, size_t len)
{
    char text[64], *end;
    size_t i;

    if ((len == 3 && memcmp(p, "NaN", 3) == 0) || (len == 4 && memcmp(p, "+Inf", 4) == 0) ||
        (len == 4 && memcmp(p, "-Inf", 4) == 0))
        return 1;
    if (len == 0 || len >= sizeof(text))
        return 0;
    for (i = 0; i < len; i++)
        if (strchr("0123456789.eE+-", p[i]) == NULL || p[i] == '\0')
            return 0;
    memcpy(text, p, len);
    text[len] = '\0';
    strtod(text, &end);
    return end == text + len;
}

/* The family of a sample named 'name': the last one described, else none. */
NO_COVERAGE static int
in_family(const struct expo *x, const char *name, size_t len)
{
    const struct span *f = x->nfam > 0 ? &x->fam[x->nfam - 1] : NULL;

    return f != NULL && f->len == len && memcmp(f->p, name, len) == 0;
}

/* Order of two labels name="value" (names are unique in a sample). */
NO_COVERAGE static int
label_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Check the HELP or TYPE line 'p'..'end' ("# " already read) of the exposition. */
NO_COVERAGE static void
check_meta(struct expo *x, const char *p, const char *end)
{
    int help = end - p > 5 && memcmp(p, "HELP ", 5) == 0;
    size_t n, i;

    CHECK(help || (end - p > 5 && memcmp(p, "TYPE ", 5) == 0));
    p += 5;
    n = name_len(p, end, 1);
    CHECK(n > 0 && p + n < end && p[n] == ' ');
    if (help) { /* a new family, never seen before */
        for (i = 0; i < x->nfam; i++)
            CHECK(x->fam[i].len != n || memcmp(x->fam[i].p, p, n) != 0);
        CHECK(x->nfam < FAMILIES_MAX);
        x->fam[x->nfam].p = p;
        x->fam[x->nfam++].len = n;
        x->typed = 0;
        for (p += n + 1; p < end; p++) /* HELP escapes only '\' and newline */
            if (*p == '\\') {
                CHECK(p + 1 < end && (p[1] == '\\' || p[1] == 'n'));
                p++;
            }
        return;
    }
    /* TYPE right after the family's HELP, once. */
    CHECK(in_family(x, p, n) && !x->typed);
    x->typed = 1;
    CHECK((end - (p + n + 1) == 7 && memcmp(p + n + 1, "counter", 7) == 0) ||
          (end - (p + n + 1) == 5 && memcmp(p + n + 1, "gauge", 5) == 0));
}

/* Check the sample line 'p'..'end' and remember its series. */
NO_COVERAGE static void
check_sample(struct expo *x, const char *p, const char *end)
{
    struct span l[LABELS_MAX];
    size_t n = name_len(p, end, 1), nl = 0, i, j, start;
    const char *v;

    CHECK(n > 0 && in_family(x, p, n) && x->typed);
    start = x->series.len;
    CHECK(buf_add(&x->series, p, n) == 0);
    p += n;
    if (p < end && *p == '{') {
        do {
            p++;
            n = name_len(p, end, 0);
            CHECK(n > 0 && p + n + 1 < end && p[n] == '=' && p[n + 1] == '"');
            CHECK(nl < LABELS_MAX);
            l[nl].p = p;
            for (i = 0; i < nl; i++) /* a label name once per sample */
                CHECK(l[i].len < n + 1 || memcmp(l[i].p, p, n + 1) != 0);
            for (v = p + n + 2; v < end && *v != '"'; v++)
                if (*v == '\\') {
                    CHECK(v + 1 < end && (v[1] == '\\' || v[1] == '"' || v[1] == 'n'));
                    v++;
                }
            CHECK(v < end);
            CHECK(utf8_valid(p + n + 2, (size_t)(v - (p + n + 2))));
            l[nl].len = (size_t)(v + 1 - p);
            nl++;
            p = v + 1;
        } while (p < end && *p == ',');
        CHECK(p < end && *p == '}');
        p++;
    }
    CHECK(p < end && *p == ' ');
    CHECK(is_value(p + 1, (size_t)(end - p - 1)));
    /* The series: its name and labels in one order, so that a reordered twin is found. */
    if (nl > 1)
        qsort(l, nl, sizeof(l[0]), label_cmp);
    for (j = 0; j < nl; j++)
        CHECK(buf_addc(&x->series, j == 0 ? '{' : ',') == 0 &&
              buf_add(&x->series, l[j].p, l[j].len) == 0);
    CHECK(nl == 0 || buf_addc(&x->series, '}') == 0);
    if (x->nat == x->cap) {
        struct sref *grown;

        x->cap = x->cap ? 2 * x->cap : 64;
        CHECK((grown = realloc(x->at, x->cap * sizeof(*grown))) != NULL);
        x->at = grown;
    }
    x->at[x->nat].off = start;
    x->at[x->nat++].len = x->series.len - start;
}

static const char *series_base; /* for series_cmp: qsort has no argument */

/* Whether series 'a' and 'b' are the same bytes. */
NO_COVERAGE static int
series_same(const struct sref *a, const struct sref *b)
{
    return a->len == b->len && memcmp(series_base + a->off, series_base + b->off, a->len) == 0;
}

NO_COVERAGE static int
series_cmp(const void *a, const void *b)
{
    const struct sref *x = a, *y = b;
    int c = memcmp(series_base + x->off, series_base + y->off, x->len < y->len ? x->len : y->len);

    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Render the exposition of 'pl' and check it (see the top of this file). */
NO_COVERAGE static void
check_prom(struct pipeline *pl)
{
    static struct expo x;
    static struct buf b; /* kept from one render to the next: growing it anew costs the most */
    const char *p, *end, *nl;
    size_t i;

    b.len = 0;
    CHECK(prom_render(&b, pl) == 0);
    CHECK(b.len > 0 && b.p[b.len - 1] == '\n');
    x.nfam = 0;
    x.series.len = 0;
    x.nat = 0;
    for (p = b.p, end = b.p + b.len; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        checking = p;
        checking_len = (size_t)(nl - p);
        CHECK(nl > p); /* no empty line */
        if (*p == '#') {
            CHECK(nl - p > 2 && p[1] == ' ');
            check_meta(&x, p + 2, nl);
        } else {
            check_sample(&x, p, nl);
        }
    }
    checking = NULL;
    if (x.nat > 1) {
        series_base = x.series.p;
        qsort(x.at, x.nat, sizeof(x.at[0]), series_cmp);
        for (i = 1; i < x.nat; i++) {
            if (series_same(&x.at[i - 1], &x.at[i]))
                fprintf(stderr, "fuzz_pipeline.c: series twice: %.*s\n", (int)x.at[i].len,
                        x.series.p + x.at[i].off);
            CHECK(!series_same(&x.at[i - 1], &x.at[i]));
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int null_fd = -1;
    const struct setup *s;
    struct pipeline_opts opt = {.emit_alerts = 1, .time_field = SIZE_MAX};
    const char *p, *end, *nl, *half = (const char *)data + 1 + (size - 1) / 2;
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
            /* Mid-run too, when bit 4 of the first byte says so: pending and firing alerts. */
            if ((data[0] & 0x10) && p < half && nl >= half)
                check_prom(pl);
        }
        pipeline_finish(pl);
        check_prom(pl);
        pipeline_free(pl);
    }
    emit_fini(&em);
    return 0;
}
