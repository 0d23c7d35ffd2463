/*
 * prom.c -- the Prometheus text exposition (format 0.0.4) of a pipeline, for
 * --listen and --prom-textfile (docs/exporters.md lists the families).
 *
 * Everything is read from the pipeline and its step stage on the thread
 * that runs them, into one text; the server hands out copies of the last
 * text, so a scrape never sees a half-updated state. Families come in a
 * fixed order, each with its HELP and TYPE, every sample of a family
 * together. Label values are escaped and valid UTF-8; a key's is bounded:
 * a key cut to PROM_LABEL_MAX bytes, or one whose bytes had to change, gets
 * its slot appended, so two keys never become one series (a duplicate
 * series fails the whole scrape), whatever bytes the input sent.
 */
#include "rarr/prom.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rarr/diag.h"
#include "rarr/emit.h"
#include "rarr/keyed.h"
#include "rarr/match.h"
#include "rarr/rules.h"
#include "rarr/step.h"

/*
 * Append 's' ('len' bytes, any bytes) escaped for a label value: backslash,
 * quote and newline escaped, each byte of invalid UTF-8 as U+FFFD; with
 * 'max' > 0, at most 'max' bytes of 's' (whole characters). '*changed' is
 * set when a byte was replaced or the value cut.
 */
static int
label_text(struct buf *b, const char *s, size_t len, size_t max, int *changed)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;
    int rc = 0;

    while (i < len && rc == 0) {
        n = emit_utf8_len(u + i, len - i);
        if (max > 0 && i + (n ? n : 1) > max) {
            *changed = 1;
            break;
        }
        if (n == 0) {
            rc = buf_add(b, "\xef\xbf\xbd", 3);
            *changed = 1;
            n = 1;
        } else if (u[i] == '\\' || u[i] == '"') {
            rc = buf_addc(b, '\\') | buf_addc(b, u[i]);
        } else if (u[i] == '\n') {
            rc = buf_add(b, "\\n", 2);
        } else {
            rc = buf_add(b, s + i, n);
        }
        i += n;
    }
    return rc;
}

/* A label value in quotes, from the rule files or rarr itself: escaped, valid UTF-8. */
int
prom_label_value(struct buf *b, const char *s, size_t len)
{
    int changed = 0;

    return buf_addc(b, '"') | label_text(b, s, len, 0, &changed) | buf_addc(b, '"');
}

/* Whether 's' ends as a mark does: '~' and eight lowercase hex digits. */
static int
ends_marked(const char *s, size_t len)
{
    size_t i;

    if (len < 9 || s[len - 9] != '~')
        return 0;
    for (i = len - 8; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/*
 * A key's label value in quotes: escaped, valid UTF-8, at most
 * PROM_LABEL_MAX bytes of the key. A key that was cut or had a byte
 * replaced, one spelled like KEYS_OTHER ('twin': not KEYS_OTHER's own
 * slot), and one that ends as a mark does get a mark: '~' and 'slot' in
 * eight hex digits. Keys of one table have distinct slots, so two keys are
 * never one series (a duplicate series fails a whole scrape), whatever
 * bytes they hold.
 */
int
prom_key_value(struct buf *b, const char *s, size_t len, size_t slot, int twin)
{
    int mark = twin || ends_marked(s, len), rc = buf_addc(b, '"');

    rc |= label_text(b, s, len, PROM_LABEL_MAX, &mark);
    if (mark)
        rc |= buf_printf(b, "~%08zx", slot);
    return rc | buf_addc(b, '"');
}

/* ,NAME="VALUE" (without the comma for the first label of a sample). */
static int
label(struct buf *b, int first, const char *name, const char *v, size_t len)
{
    return (first ? 0 : buf_addc(b, ',')) | buf_adds(b, name) | buf_addc(b, '=') |
           prom_label_value(b, v, len);
}

static int
label_s(struct buf *b, int first, const char *name, const char *v)
{
    return label(b, first, name, v, strlen(v));
}

/* Whether key 'name' is a twin of KEYS_OTHER: spelled like it, not in its slot ('other'). */
static int
twin(const char *name, size_t len, int other)
{
    return !other && len == sizeof(KEYS_OTHER) - 1 && memcmp(name, KEYS_OTHER, len) == 0;
}

/*
 * ,key="K" for 'slot' of 'k': KEYS_OTHER as it is; a key spelled like
 * KEYS_OTHER is marked, so the two stay two series.
 */
static int
key_label(struct buf *b, const struct keyed *k, size_t slot)
{
    size_t len;
    const char *name = keyed_name(k, slot, &len);

    return buf_adds(b, ",key=") |
           prom_key_value(b, name, len, slot, twin(name, len, slot == keyed_other(k)));
}

/* The HELP and TYPE lines of family 'name'. */
static int
family(struct buf *b, const char *name, const char *type, const char *help)
{
    return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* "} VALUE\n": the end of a sample (NaN and infinities as Prometheus writes them). */
static int
value(struct buf *b, double v)
{
    if (isnan(v))
        return buf_adds(b, "} NaN\n");
    if (isinf(v))
        return buf_adds(b, v > 0 ? "} +Inf\n" : "} -Inf\n");
    return buf_add(b, "} ", 2) | buf_add_double(b, v) | buf_addc(b, '\n');
}

/* NAME{metric="M"[,rarr="C"]: a metric's labels, the brace left open for more. */
static int
metric_labels(struct buf *b, const char *name, const struct rules_metric *m)
{
    int rc = buf_adds(b, name) | buf_addc(b, '{') | label_s(b, 1, "metric", m->name);

    if (m->category != RULES_NONE)
        rc |= label_s(b, 0, "rarr", rules_category_name(m->category));
    return rc;
}

/* rarr_build_info: the version, PCRE2's, and whether PCRE2 can compile to machine code. */
static int
build_info(struct buf *b)
{
    char pcre[64];
    int jit = match_library(pcre, sizeof(pcre));

    return family(b, "rarr_build_info", "gauge",
                  "rarr's version, the PCRE2 library's, and whether PCRE2's JIT is there.") |
           buf_adds(b, "rarr_build_info{") | label_s(b, 1, "version", RARR_VERSION) |
           label_s(b, 0, "pcre2", pcre) | label_s(b, 0, "jit", jit ? "true" : "false") |
           value(b, 1);
}

/* rarr_lines_total, rarr_bad_lines_total{reason} (every reason, late apart), rarr_late_lines_total.
 */
static int
line_counts(struct buf *b, const struct pipeline_counts *c)
{
    char reason[64];
    size_t i;
    int r, rc;

    rc = family(b, "rarr_lines_total", "counter", "Input lines read.") |
         buf_printf(b, "rarr_lines_total %llu\n", (unsigned long long)c->lines);
    rc |= family(b, "rarr_bad_lines_total", "counter",
                 "Input lines skipped, by reason (late lines apart).");
    for (r = 0; r < DIAG_NREASONS; r++) {
        if (r == DIAG_LATE)
            continue;
        snprintf(reason, sizeof(reason), "%s", diag_reason_name((enum diag_reason)r));
        for (i = 0; reason[i] != '\0'; i++)
            reason[i] = reason[i] == ' ' ? '_' : reason[i];
        rc |= buf_adds(b, "rarr_bad_lines_total{") | label_s(b, 1, "reason", reason) |
              value(b, (double)c->bad->count[r]);
    }
    return rc |
           family(b, "rarr_late_lines_total", "counter",
                  "Lines further behind the newest event than the lateness: not counted.") |
           buf_printf(b, "rarr_late_lines_total %llu\n",
                      (unsigned long long)c->bad->count[DIAG_LATE]);
}

/*
 * Family 'name' of every counted metric ('sums': only sum= metrics): the
 * lines each counted, or what they added; a by= metric's per key.
 */
static int
metric_counts(struct buf *b, struct pipeline *p, const struct pipeline_counts *c, int sums)
{
    const struct ruleset *rs = pipeline_rules(p);
    const struct step *s = pipeline_step(p);
    const char *name = sums ? "rarr_sum_total" : "rarr_matches_total";
    const struct keyed *k;
    struct series t;
    size_t i, slot;
    int rc = sums ? family(b, name, "counter", "What the lines of each sum= metric added.")
                  : family(b, name, "counter", "Lines counted in each metric.");

    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];

        if (m->kind == RULES_RATIO || (sums && m->kind != RULES_SUM))
            continue;
        if ((k = step_keys_of(s, i)) == NULL) {
            rc |= metric_labels(b, name, m) | value(b, sums ? c->sums[i] : (double)c->matches[i]);
            continue;
        }
        for (slot = keyed_next(k, 0); slot != KEYS_NONE; slot = keyed_next(k, slot + 1)) {
            t = step_key_total(s, i, slot);
            rc |=
                metric_labels(b, name, m) | key_label(b, k, slot) | value(b, sums ? t.value : t.n);
        }
    }
    return rc;
}

/* rarr_metric_value: each metric's value over the last evaluated step, a by= metric's per key. */
static int
metric_values(struct buf *b, struct pipeline *p)
{
    const struct ruleset *rs = pipeline_rules(p);
    const struct step *s = pipeline_step(p);
    const struct keyed *k;
    size_t i, slot;
    int rc = family(b, "rarr_metric_value", "gauge",
                    "Each metric's value over the last evaluated step."),
        defined;
    double v;

    for (i = 0; i < rs->nmetrics && step_evaluated(s); i++) {
        const struct rules_metric *m = &rs->metrics[i];

        if ((k = step_keys_of(s, i)) == NULL) {
            v = step_value(s, i, &defined);
            if (defined)
                rc |= metric_labels(b, "rarr_metric_value", m) | value(b, v);
            continue;
        }
        for (slot = keyed_next(k, 0); slot != KEYS_NONE; slot = keyed_next(k, slot + 1)) {
            v = step_key_value(s, i, slot, &defined);
            if (defined)
                rc |=
                    metric_labels(b, "rarr_metric_value", m) | key_label(b, k, slot) | value(b, v);
        }
    }
    return rc;
}

/* What the alert visitors write into. */
struct alerts_out {
    struct buf *b;
    const struct step *s;
    const struct ruleset *rs;
    int scores; /* rarr_anomaly_score (anomaly rules only), else rarr_alert_firing */
};

/*
 * An alert's sample: the labels an Alertmanager gets for it (alertname,
 * metric, rarr, key, type, the rule's own labels) and its firing state or
 * anomaly score.
 */
static int
alert_sample(void *arg, const struct step_alert *v)
{
    struct alerts_out *o = arg;
    struct buf *b = o->b;
    const struct rules_alert *a = v->alert != SIZE_MAX ? &o->rs->alerts[v->alert] : NULL;
    const struct rules_metric *m = a != NULL ? &o->rs->metrics[a->metric] : NULL;
    size_t i;
    int rc;

    if (o->scores && v->det == NULL)
        return 0;
    rc = buf_adds(b, o->scores ? "rarr_anomaly_score{" : "rarr_alert_firing{") |
         label_s(b, 1, "alertname", a != NULL ? a->rule : step_lines_rule(o->s)) |
         label_s(b, 0, "metric", m != NULL ? m->name : "lines");
    if (m != NULL && m->category != RULES_NONE)
        rc |= label_s(b, 0, "rarr", rules_category_name(m->category));
    if (v->key != NULL)
        rc |= buf_adds(b, ",key=") |
              prom_key_value(b, v->key, v->key_len, v->slot, twin(v->key, v->key_len, v->other));
    rc |= label_s(b, 0, "type", v->det != NULL ? "anomaly" : "threshold");
    for (i = 0; a != NULL && i < a->nlabels; i++)
        rc |= label_s(b, 0, a->labels[i].name, a->labels[i].value);
    return (rc | value(b, o->scores ? v->score : v->firing)) ? -1 : 0;
}

/* rarr_alert_firing and rarr_anomaly_score. */
static int
alert_states(struct buf *b, struct pipeline *p)
{
    struct alerts_out o = {b, pipeline_step(p), pipeline_rules(p), 0};
    int rc = family(b, "rarr_alert_firing", "gauge", "1 while an alert fires, else 0.");

    rc |= step_alerts(o.s, alert_sample, &o);
    o.scores = 1;
    rc |= family(b, "rarr_anomaly_score", "gauge",
                 "Each anomaly rule's score over the last step (it fires at the rule's "
                 "threshold; 0: nothing unusual).");
    return rc | step_alerts(o.s, alert_sample, &o);
}

/* rarr_event_time_seconds and rarr_step_end_seconds: the event clock. */
static int
clock_gauges(struct buf *b, struct pipeline *p)
{
    const struct step *s = pipeline_step(p);
    int rc = family(b, "rarr_event_time_seconds", "gauge",
                    "The newest event's time (the event clock), in Unix seconds.");

    if (step_started(s))
        rc |= buf_printf(b, "rarr_event_time_seconds %.3f\n", (double)step_newest(s) / 1000);
    rc |= family(b, "rarr_step_end_seconds", "gauge",
                 "The end of the last evaluated step, in Unix seconds.");
    if (step_evaluated(s))
        rc |= buf_printf(b, "rarr_step_end_seconds %.3f\n", (double)step_next(s) / 1000);
    return rc;
}

/*
 * Write the whole exposition of 'p' into 'b' (appended). Returns 0, or -1
 * when memory ran out.
 */
int
prom_render(struct buf *b, struct pipeline *p)
{
    struct pipeline_counts c;

    pipeline_counts(p, &c);
    return build_info(b) | line_counts(b, &c) | metric_counts(b, p, &c, 0) |
                   metric_counts(b, p, &c, 1) | metric_values(b, p) | alert_states(b, p) |
                   clock_gauges(b, p)
               ? -1
               : 0;
}
