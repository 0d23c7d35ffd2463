/*
 * partial.c -- what one host gathered in one step, as one NDJSON record
 * (--emit=partials), and that record added back into another rarr's step
 * stage (--merge). docs/distributed.md describes the record.
 *
 * A record holds the step, the times of its earliest and newest lines, the
 * newest line's UTC offset, the lines applied, and each base metric's
 * part: its series (a count, or a sum with its lines and rounding error),
 * its series per by= key, its sketch (HyperLogLog or quantile buckets).
 * Each of these merges exactly with the other hosts' (series.h, hll.h,
 * quantile.h), so the merged step is the step one rarr would have gathered
 * from all the lines. Ratios are not sent: the merging rarr divides the
 * merged operands. Metrics go by name; a digest of their definitions tells
 * a central whose rules differ from a host's.
 *
 * Like state.c, this file reads the step stage's pending rows directly.
 */
#include "rarr/partial.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/jsonval.h"
#include "rarr/keys.h"
#include "rarr/state.h"

/* Add 'v' under 'key' (taking it over); -1 if either is NULL or on OOM. */
static int
put(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v);
}

/* A number: a JSON integer when it is a whole one a double holds exactly (counts). */
static json_t *
num_json(double v)
{
    if (v == floor(v) && fabs(v) <= 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* A series: its count alone (a count's value is its lines), else [value, lines(, error)]. */
static json_t *
series_json(const struct series *v)
{
    if (v->err == 0 && v->value == v->n)
        return num_json(v->n);
    if (v->err == 0)
        return json_pack("[oo]", num_json(v->value), num_json(v->n));
    return json_pack("[ooo]", num_json(v->value), num_json(v->n), json_real(v->err));
}

/* The digest of the base metrics' definitions (names and what they count), in hex. */
void
partial_rules_digest(const struct ruleset *rs, char out[17])
{
    struct buf b;
    size_t i;
    int rc = 0;

    buf_init(&b);
    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].kind != RULES_RATIO)
            rc |= buf_adds(&b, rs->metrics[i].name) | buf_addc(&b, '=') |
                  state_metric_def(&b, rs, i) | buf_addc(&b, '\n');
    snprintf(out, 17, "%016llx",
             rc == 0 ? (unsigned long long)keys_digest(b.p != NULL ? b.p : "", b.len) : 0ULL);
    buf_fini(&b);
}

/*
 * Write partial records of 'rs' for host 'host' (at most PARTIAL_HOST_MAX
 * bytes) to 'sink'. Returns 0, or -1 for a host name too long or empty.
 */
int
partial_writer_init(struct partial_writer *w, const struct ruleset *rs, const char *host,
                    partial_sink_fn sink, void *arg)
{
    memset(w, 0, sizeof(*w));
    if (strlen(host) == 0 || strlen(host) > PARTIAL_HOST_MAX)
        return -1;
    w->rs = rs;
    strcpy(w->host, host);
    partial_rules_digest(rs, w->rules);
    w->sink = sink;
    w->sink_arg = arg;
    return 0;
}

/* A by= metric's keys in pending row 'row': [[key in hex (null: the overflow), series, last]]. */
static json_t *
keys_json(const struct keyed *k, size_t row)
{
    json_t *a = json_array(), *key;
    const struct series *v;
    const char *name;
    size_t slot, len;
    int rc = a == NULL ? -1 : 0;

    for (slot = keyed_next(k, 0); rc == 0 && slot != KEYS_NONE; slot = keyed_next(k, slot + 1)) {
        v = &k->pending[row * k->nslots + slot];
        if (v->n == 0)
            continue;
        name = keyed_name(k, slot, &len);
        key = slot == keyed_other(k) ? json_null() : jsonval_hex(name, len);
        rc |= json_array_append_new(
            a, json_pack("[ooI]", key, series_json(v),
                         (json_int_t)(slot == keyed_other(k) ? 0 : keys_last(k->keys, slot))));
    }
    if (rc != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* Metric 'i''s part of pending row 'row' into the "m", "k" and "s" objects. */
static int
metric_json(const struct step *s, size_t i, size_t row, json_t *m, json_t *k, json_t *sk)
{
    const struct series *v = &s->pending[row * s->rs->nmetrics + i];
    const char *name = s->rs->metrics[i].name;
    struct sketched *skd = s->sketch[i];
    int rc;

    if (v->n == 0)
        return 0;
    rc = put(m, name, series_json(v));
    if (s->keyed[i] != NULL)
        rc |= put(k, name, keys_json(s->keyed[i], row));
    if (skd != NULL)
        rc |= put(sk, name,
                  skd->distinct ? jsonval_hll(sketched_hll(skd, row))
                                : jsonval_quantile(sketched_quantile(skd, row)));
    return rc;
}

/* Hand the record 'o' (taken over) to the writer's sink. */
static int
send(struct partial_writer *w, json_t *o, int64_t step)
{
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    size_t len;
    int rc = -1;

    json_decref(o);
    if (text == NULL)
        return -1;
    len = strlen(text);
    text[len] = '\n'; /* json_dumps's NUL: the sink takes a line */
    rc = w->sink(w->sink_arg, w->host, step, text, len + 1);
    free(text);
    w->records++;
    w->bytes += len + 1;
    return rc;
}

/*
 * The partial record of the step starting at 'start', from its pending row
 * (a step_part_fn: called before the step is evaluated). Returns 0 or -1.
 */
int
partial_write(void *writer, const struct step *s, int64_t start)
{
    struct partial_writer *w = writer;
    size_t row = step_slot(s, start), i;
    json_t *o = json_object(), *m = json_object(), *k = json_object(), *sk = json_object();
    int rc = o == NULL || m == NULL || k == NULL || sk == NULL ? -1 : 0;

    rc |= put(o, "rarr_partial", json_integer(PARTIAL_VERSION));
    rc |= put(o, "host", json_string(w->host));
    rc |= put(o, "step", json_integer(start));
    rc |= put(o, "step_ms", json_integer(s->opt.step_ms));
    rc |= put(o, "lines", num_json(s->pending_lines[row]));
    if (s->pending_lines[row] > 0) {
        /* A row put back from --state (or a rule reload) has no times: the step's start. */
        int64_t first = s->pending_first[row], last = s->pending_last[row];

        first = first < start || first >= start + s->opt.step_ms ? start : first;
        last = last < first || last >= start + s->opt.step_ms ? first : last;
        rc |= put(o, "first", json_integer(first));
        rc |= put(o, "last", json_integer(last));
        rc |= put(o, "tz", json_integer(s->pending_tz[row]));
    }
    rc |= put(o, "rules", json_string(w->rules));
    for (i = 0; i < s->rs->nmetrics && rc == 0; i++)
        if (s->rs->metrics[i].kind != RULES_RATIO)
            rc |= metric_json(s, i, row, m, k, sk);
    rc |= put(o, "m", m);
    rc |= json_object_size(k) > 0 ? put(o, "k", k) : (json_decref(k), 0);
    rc |= json_object_size(sk) > 0 ? put(o, "s", sk) : (json_decref(sk), 0);
    if (rc != 0) {
        json_decref(o);
        return -1;
    }
    return send(w, o, start);
}

/* The end marker: the host's input ended, its newest line at "end". Returns 0 or -1. */
int
partial_write_end(struct partial_writer *w, const struct step *s)
{
    json_t *o = json_pack("{sIssso}", "rarr_partial", (json_int_t)PARTIAL_VERSION, "host", w->host,
                          "end", step_started(s) ? json_integer(step_newest(s)) : json_null());

    return send(w, o, INT64_MAX);
}

/* Free a record read back. */
void
partial_free(struct partial *pt)
{
    json_decref(pt->root);
    memset(pt, 0, sizeof(*pt));
}

/*
 * The time under 'key' of 'o' (NULL: the third of array 'o') into '*t': -1
 * when it is not one of years 0..9999, as the lines' times are.
 */
static int
get_time(const json_t *o, const char *key, int64_t *t)
{
    const json_t *v = key != NULL ? json_object_get(o, key) : json_array_get(o, 2);

    if (!json_is_integer(v))
        return -1;
    *t = json_integer_value(v);
    return *t < CLOCK_TIME_MIN || *t > CLOCK_TIME_MAX ? -1 : 0;
}

/* A count under 'v' into '*n': a whole number from 0 to 2^53, which a double holds exactly. */
static int
get_count(const json_t *v, double *n)
{
    return jsonval_num(v, n) == -1 || *n < 0 || *n > 9007199254740992.0 || *n != floor(*n) ? -1 : 0;
}

/* The step's times: its earliest and newest lines within it, a sane zone. */
static int
parse_times(struct partial *pt, int64_t step_ms, const char **why)
{
    int64_t tz;

    if (get_time(pt->root, "step", &pt->step) == -1 || clock_floor(pt->step, step_ms) != pt->step ||
        pt->step > CLOCK_TIME_MAX - step_ms)
        return *why = "\"step\" is not a step start", -1;
    if (pt->lines == 0)
        return 0;
    if (get_time(pt->root, "first", &pt->first) == -1 ||
        get_time(pt->root, "last", &pt->last) == -1 || pt->first < pt->step ||
        pt->last < pt->first || pt->last - pt->step >= step_ms)
        return *why = "\"first\" and \"last\" are not times within the step", -1;
    if (jsonval_int(pt->root, "tz", &tz) == -1 || tz < -24 * 60 || tz > 24 * 60)
        return *why = "\"tz\" is not a UTC offset in minutes", -1;
    pt->tz_min = (int)tz;
    return 0;
}

/*
 * Read the record 'line' ('len' bytes) of a rarr whose step is 'step_ms':
 * the fields every record has, checked. Returns 0, or -1 with '*why' said
 * (and nothing to free).
 */
int
partial_parse(struct partial *pt, const char *line, size_t len, int64_t step_ms, const char **why)
{
    const json_t *v;
    int64_t n;

    memset(pt, 0, sizeof(*pt));
    if ((pt->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
        !json_is_object(pt->root))
        return *why = "not a JSON object", partial_free(pt), -1;
    if (jsonval_int(pt->root, "rarr_partial", &n) == -1)
        return *why = "not a partial record (no \"rarr_partial\")", partial_free(pt), -1;
    if (n != PARTIAL_VERSION)
        return *why = "a partial record of another version", partial_free(pt), -1;
    pt->host = json_string_value(json_object_get(pt->root, "host"));
    if (pt->host == NULL || pt->host[0] == '\0' || strlen(pt->host) > PARTIAL_HOST_MAX)
        return *why = "no \"host\" name", partial_free(pt), -1;
    pt->rules = json_string_value(json_object_get(pt->root, "rules"));
    if ((v = json_object_get(pt->root, "end")) != NULL) {
        pt->end = 1;
        pt->last = INT64_MIN;
        if (!json_is_null(v) && get_time(pt->root, "end", &pt->last) == -1)
            return *why = "\"end\" is not a time", partial_free(pt), -1;
        return 0;
    }
    if (jsonval_int(pt->root, "step_ms", &n) == -1 || n != step_ms)
        return *why = "its step differs from --step", partial_free(pt), -1;
    if (get_count(json_object_get(pt->root, "lines"), &pt->lines) == -1)
        return *why = "\"lines\" is not a count", partial_free(pt), -1;
    if (parse_times(pt, step_ms, why) == -1)
        return partial_free(pt), -1;
    return 0;
}

/* A series as written by series_json; -1 when it is not one. */
static int
series_load(const json_t *v, struct series *out)
{
    double x[3] = {0, 0, 0};
    size_t i, n = json_is_array(v) ? json_array_size(v) : 1;

    if (!json_is_array(v)) {
        if (jsonval_num(v, &x[0]) == -1)
            return -1;
        x[1] = x[0];
    } else if (n < 2 || n > 3) {
        return -1;
    }
    for (i = 0; json_is_array(v) && i < n; i++)
        if (jsonval_num(json_array_get(v, i), &x[i]) == -1)
            return -1;
    /* A line adds less than 2^53 (pipeline.c); the error is below the sum's last digit. */
    if (get_count(json_is_array(v) ? json_array_get(v, 1) : v, &x[1]) == -1 ||
        fabs(x[0]) > x[1] * 9007199254740992.0 || fabs(x[2]) > fabs(x[0]))
        return -1;
    *out = (struct series){.value = x[0], .n = x[1], .err = x[2]};
    return 0;
}

/* What a walk over a record's metrics works on: with 'apply' 0 it only checks. */
struct walk {
    const struct partial *pt;
    struct step *s;
    size_t row;
    int apply;
    size_t unknown; /* parts of metrics this rarr has not, or not of that kind */
};

/* The base metric named 'name', when 'want' (1: by=, 2: sketched, 0: any) says it fits. */
static int
metric_of(struct walk *w, const char *name, int want, size_t *i)
{
    const struct step *s = w->s;

    if (rules_lookup_metric(s->rs, name, i) == -1 || s->rs->metrics[*i].kind == RULES_RATIO ||
        (want == 1 && s->keyed[*i] == NULL) || (want == 2 && s->sketch[*i] == NULL)) {
        w->unknown++;
        return -1;
    }
    return 0;
}

/* "m": each metric's series. */
static int
walk_series(struct walk *w)
{
    const char *name;
    const json_t *v;
    struct series x;
    size_t i;

    json_object_foreach(json_object_get(w->pt->root, "m"), name, v)
    {
        if (series_load(v, &x) == -1)
            return -1;
        if (metric_of(w, name, 0, &i) == 0 && w->apply)
            series_merge(&w->s->pending[w->row * w->s->rs->nmetrics + i], &x);
    }
    return 0;
}

/* "k": each by= metric's keys. */
static int
walk_keys(struct walk *w)
{
    char key[KEYS_LEN_MAX];
    const char *name;
    const json_t *list, *e;
    struct series x;
    size_t i, j, len = 0;
    int64_t last;
    int fits;

    json_object_foreach(json_object_get(w->pt->root, "k"), name, list)
    {
        if (!json_is_array(list))
            return -1;
        fits = metric_of(w, name, 1, &i) == 0;
        json_array_foreach(list, j, e)
        {
            const json_t *k = json_array_get(e, 0);

            if (json_array_size(e) != 3 || series_load(json_array_get(e, 1), &x) == -1 ||
                get_time(e, NULL, &last) == -1 ||
                (!json_is_null(k) && jsonval_unhex(k, key, sizeof(key), &len) == -1))
                return -1;
            if (fits && w->apply)
                keyed_merge(w->s->keyed[i], w->row, json_is_null(k) ? NULL : key, len, last, &x);
        }
    }
    return 0;
}

/* A sketch of metric 'i' read from 'v', merged into the row when applying. */
static int
walk_sketch(struct walk *w, size_t i, const json_t *v)
{
    struct sketched *sk = w->s->sketch[i];
    struct hll h;
    struct quantile q;
    int rc;

    if (sk->distinct) {
        hll_init(&h);
        rc = jsonval_load_hll(&h, v);
        if (rc == 0 && w->apply)
            rc = hll_merge(sketched_hll(sk, w->row), &h);
        hll_fini(&h);
        return rc;
    }
    quantile_init(&q);
    rc = jsonval_load_quantile(&q, v);
    if (rc == 0 && w->apply)
        rc = quantile_merge(sketched_quantile(sk, w->row), &q);
    quantile_fini(&q);
    return rc;
}

static int
walk_sketches(struct walk *w)
{
    const char *name;
    const json_t *v;
    size_t i;

    json_object_foreach(json_object_get(w->pt->root, "s"), name, v)
    {
        if (!json_is_object(v))
            return -1;
        if (metric_of(w, name, 2, &i) == 0 && walk_sketch(w, i, v) == -1)
            return -1;
    }
    return 0;
}

/*
 * Check the metrics' parts of record 'pt' against the rules of 's' (with
 * 'apply' 0), or add them to pending row 'row' (step_part_open's). A part
 * of a metric that 's' has not (another rule set) is left out and counted
 * in '*unknown'. Returns 0, or -1 when a part is malformed (checking first
 * means nothing is added from such a record).
 */
int
partial_apply(const struct partial *pt, struct step *s, size_t row, int apply, size_t *unknown)
{
    struct walk w = {.pt = pt, .s = s, .row = row, .apply = apply};
    int rc = walk_series(&w) | walk_keys(&w) | walk_sketches(&w);

    if (rc == 0 && apply)
        s->pending_lines[row] += pt->lines;
    *unknown = w.unknown;
    return rc != 0 ? -1 : 0;
}
