/*
 * explain.c -- --explain: for each line, an NDJSON record of what the rules
 * made of it, and at the end of input a summary of matched and missed
 * lines per metric (fail2ban-regex's report, as JSON).
 *
 * An "explain" record gives the line's place (file, line), its format and
 * time, an excerpt of it, the metrics that counted it (with the key of a
 * by= metric) and, for the others, the condition that decided the miss and
 * the text it saw. Every string is escaped as emit escapes them, so stdout
 * stays one JSON object a line, and jq reads it whole.
 */
#include "rarr/explain.h"

#include <stdlib.h>
#include <string.h>

#include "rarr/clock.h"
#include "rarr/emit.h"

/* An --explain for the ruleset 'rs' (borrowed), or NULL when out of memory. */
struct explain *
explain_new(const struct ruleset *rs)
{
    struct explain *x = calloc(1, sizeof(*x));
    size_t n = rs->nmetrics ? rs->nmetrics : 1;

    if (x == NULL)
        return NULL;
    x->rs = rs;
    x->hits = calloc(n, sizeof(*x->hits));
    x->misses = calloc(n, sizeof(*x->misses));
    if (x->hits == NULL || x->misses == NULL) {
        explain_free(x);
        return NULL;
    }
    return x;
}

void
explain_free(struct explain *x)
{
    if (x == NULL)
        return;
    free(x->hits);
    free(x->misses);
    free(x);
}

/* ,"KEY": and the first EXPLAIN_EXCERPT bytes of 'p' as a JSON string. */
static int
put_text(struct buf *b, const char *key, const char *p, size_t len)
{
    return buf_printf(b, ",\"%s\":", key) |
           emit_json_string(b, p, len > EXPLAIN_EXCERPT ? EXPLAIN_EXCERPT : len);
}

/* {"type":"explain","file":SRC,"line":N -- the start of every explain record. */
static int
put_place(struct buf *b, const char *src, uint64_t lineno)
{
    return buf_adds(b, "{\"type\":\"explain\",\"file\":") | emit_json_string(b, src, strlen(src)) |
           buf_printf(b, ",\"line\":%llu", (unsigned long long)lineno);
}

/*
 * The miss of metric 'm' on 'r': the condition 'failed' (its field, operator
 * and pattern) and the text it saw, or PCRE2's error when 'res' is one.
 */
static int
put_miss(const struct explain *x, struct buf *b, struct matcher *mt, const struct rules_metric *m,
         struct record *r, size_t failed, enum match_result res)
{
    const struct rules_cond *c = &m->conds[failed];
    const char *field = x->rs->fields[c->field].name, *op = rules_op_name(c->op);
    struct slice v = record_get(r, c->field);
    char why[DIAG_DETAIL_MAX];
    int rc;

    rc = buf_adds(b, "{\"metric\":") | emit_json_string(b, m->name, strlen(m->name)) |
         buf_adds(b, ",\"field\":") | emit_json_string(b, field, strlen(field)) |
         buf_adds(b, ",\"op\":") | emit_json_string(b, op, strlen(op)) |
         buf_adds(b, ",\"pattern\":") | emit_json_string(b, c->text, c->len) |
         put_text(b, "saw", v.p, v.len);
    if (res == MATCH_ERROR) {
        match_error(mt, why, sizeof(why));
        rc |= put_text(b, "error", why, strlen(why));
    }
    return rc | buf_addc(b, '}');
}

/* A hit of metric 'm' on 'r': its name, and a by= metric's key. */
static int
put_hit(struct buf *b, const struct rules_metric *m, struct record *r)
{
    int rc = buf_adds(b, "{\"metric\":") | emit_json_string(b, m->name, strlen(m->name));
    struct slice v;

    if (m->by_field != SIZE_MAX) {
        v = record_get(r, m->by_field);
        rc |= put_text(b, "key", v.p, v.len);
    }
    return rc | buf_addc(b, '}');
}

/*
 * The explain record of the parsed line 'r' (line 'lineno' of 'src', in
 * 'format'): its time, an excerpt, and for each metric (ratios aside) a hit
 * in "matched" or a miss in "missed". Appended to 'b'. Returns 0 or -1.
 */
int
explain_line(struct explain *x, struct buf *b, struct matcher *mt, struct record *r,
             const char *src, uint64_t lineno, const char *format)
{
    const struct ruleset *rs = x->rs;
    char t[RARR_TIME_MAX];
    size_t i, failed = 0, nhit = 0, nmiss = 0;
    enum match_result *res = calloc(rs->nmetrics ? rs->nmetrics : 1, sizeof(*res));
    size_t *fail = calloc(rs->nmetrics ? rs->nmetrics : 1, sizeof(*fail));
    int rc;

    if (res == NULL || fail == NULL) {
        free(res);
        free(fail);
        return -1;
    }
    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].kind != RULES_RATIO) {
            res[i] = match_metric(mt, &rs->metrics[i], r, &failed);
            fail[i] = failed;
        }
    clock_format_time(r->ts_ms, t);
    rc = put_place(b, src, lineno) |
         buf_printf(b, ",\"format\":\"%s\",\"time\":\"%s\"", format, t) |
         put_text(b, "text", r->line.p, r->line.len) | buf_adds(b, ",\"matched\":[");
    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].kind != RULES_RATIO && res[i] == MATCH_YES) {
            rc |= (nhit++ ? buf_addc(b, ',') : 0) | put_hit(b, &rs->metrics[i], r);
            x->hits[i]++;
        }
    rc |= buf_adds(b, "],\"missed\":[");
    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].kind != RULES_RATIO && res[i] != MATCH_YES) {
            rc |= (nmiss++ ? buf_addc(b, ',') : 0) |
                  put_miss(x, b, mt, &rs->metrics[i], r, fail[i], res[i]);
            x->misses[i]++;
        }
    x->lines++;
    x->matched += nhit > 0;
    free(res);
    free(fail);
    return rc | buf_adds(b, "]}\n") ? -1 : 0;
}

/* The explain record of a line skipped as 'why' (bad, late): its place, reason and an excerpt. */
int
explain_skipped(struct explain *x, struct buf *b, const char *src, uint64_t lineno,
                enum diag_reason why, const char *line, size_t len)
{
    const char *reason = diag_reason_name(why);

    x->skipped++;
    return put_place(b, src, lineno) | buf_adds(b, ",\"skipped\":") |
                   emit_json_string(b, reason, strlen(reason)) | put_text(b, "text", line, len) |
                   buf_adds(b, "}\n")
               ? -1
               : 0;
}

/*
 * The summary at the end of input: lines explained, matched by some metric,
 * missed by all, skipped; and per metric the lines it counted and missed.
 */
int
explain_summary(const struct explain *x, struct buf *b)
{
    const struct ruleset *rs = x->rs;
    size_t i, n = 0;
    int rc;

    rc = buf_printf(b,
                    "{\"type\":\"explain_summary\",\"lines\":%llu,\"matched\":%llu,\"missed\":%llu,"
                    "\"skipped\":%llu,\"metrics\":[",
                    (unsigned long long)x->lines, (unsigned long long)x->matched,
                    (unsigned long long)(x->lines - x->matched), (unsigned long long)x->skipped);
    for (i = 0; i < rs->nmetrics; i++) {
        if (rs->metrics[i].kind == RULES_RATIO)
            continue;
        rc |= (n++ ? buf_addc(b, ',') : 0) | buf_adds(b, "{\"metric\":") |
              emit_json_string(b, rs->metrics[i].name, strlen(rs->metrics[i].name)) |
              buf_printf(b, ",\"matched\":%llu,\"missed\":%llu}", (unsigned long long)x->hits[i],
                         (unsigned long long)x->misses[i]);
    }
    return rc | buf_adds(b, "]}\n") ? -1 : 0;
}
