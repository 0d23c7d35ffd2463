/*
 * state.c -- what --state keeps of the step stage, as JSON: what a restarted
 * rarr needs to go on as if it had never stopped (docs/state.md).
 *
 * The snapshot holds the format version, the step, the event clock, each
 * metric's window and pending steps, each threshold alert's state and each
 * anomaly detector's memory, field by field by name. Everything is keyed by
 * the metric's name and definition (the conditions after %{NAME}
 * expansion), so loading keeps what still matches the rules in force and
 * says what it drops. A file of ours that is corrupt is told and ignored:
 * rarr starts fresh. Nothing here prints: messages go into a struct diag.
 * The bytes on disk are statefile.c's.
 */
#include "rarr/state.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/jsonval.h"
#include "rarr/statefile.h"

/* The detector image of version-1 files: its layout number, and its checksum. */
#define DETECT_LAYOUT_V1 1
/* A version-1 image's length: struct detect up to the first member added since. */
#define DETECT_IMAGE_V1_LEN offsetof(struct detect, cont.past)

static const char *const state_names[] = {"ok", "pending", "firing"};

/* What every state file begins with: how a file of ours is told from one that is not. */
static const char state_magic[] = "{\"rarr_state\":";

/* A metric's definition: what it counts, names of fields and regexes as expanded. */
int
state_metric_def(struct buf *b, const struct ruleset *rs, size_t i)
{
    const struct rules_metric *m = &rs->metrics[i];
    size_t c;
    int rc = 0;

    if (m->kind == RULES_RATIO) {
        rc |= buf_printf(b, "ratio k=%.17g min=%.17g (", m->k, m->min);
        rc |= state_metric_def(b, rs, m->a);
        rc |= buf_adds(b, ") / (");
        rc |= state_metric_def(b, rs, m->b);
        return rc | buf_addc(b, ')');
    }
    if (rules_kind_option(m) != NULL)
        rc |= buf_printf(b, "%s %s", rules_kind_option(m), rs->fields[m->value_field].name);
    else
        rc |= buf_adds(b, "count");
    for (c = 0; c < m->nconds; c++) {
        rc |= buf_printf(b, " %s%s", rs->fields[m->conds[c].field].name,
                         rules_op_name(m->conds[c].op));
        rc |= emit_json_string(b, m->conds[c].text, m->conds[c].len);
    }
    if (m->by_field != SIZE_MAX)
        rc |= buf_printf(b, " by %s max_keys=%zu", rs->fields[m->by_field].name, m->max_keys);
    return rc;
}

/*
 * An alert's definition. A detector's is its 'hard' part (what the learned
 * baseline depends on: metric, window, season, path); its other options can
 * change without losing what it learned.
 */
static int
alert_def(struct buf *b, const struct step *s, size_t i)
{
    const struct rules_alert *a = &s->rs->alerts[i];
    int rc;

    if (a->anomaly) {
        const struct detect_config *c = &s->det[i]->cfg;

        rc = buf_printf(b, "anomaly window=%d season=%d continuous=%d sum=%d of ", c->window_steps,
                        (int)c->season, c->continuous, c->sum);
    } else {
        rc = buf_printf(b, "threshold %s %.17g clear=%.17g window=%" PRId64 " for=%" PRId64 " of ",
                        a->above ? "above" : "below", a->threshold, a->clear, a->window_ms,
                        a->for_ms);
    }
    return rc | state_metric_def(b, s->rs, a->metric);
}

/* Add 'v' under 'key' (taking it over); -1 if either is NULL or on OOM. */
static int
put(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v);
}

static json_t *
def_string(struct buf *b)
{
    return b->len == 0 && b->p == NULL ? json_string("") : json_stringn(b->p, b->len);
}

/* A double as JSON: a number, or "inf", "-inf", "nan", which JSON has no numbers for. */
static json_t *
real_json(double v)
{
    if (isfinite(v))
        return json_real(v);
    return json_string(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

/* Element 'k' of detector field 'f' of 'd', as JSON. */
static json_t *
field_elem_json(const struct detect *d, const struct detect_field *f, size_t k)
{
    const char *p = (const char *)d + f->offset + k * f->stride;
    double v;
    int64_t i;
    uint64_t u;
    int n;

    switch (f->type) {
    case DETECT_F_DOUBLE:
        memcpy(&v, p, sizeof(v));
        return real_json(v);
    case DETECT_F_INT64:
        memcpy(&i, p, sizeof(i));
        return json_integer(i);
    case DETECT_F_UINT64:
        memcpy(&u, p, sizeof(u));
        return json_integer((json_int_t)u); /* read back as the same 64 bits */
    case DETECT_F_INT:
        memcpy(&n, p, sizeof(n));
        return json_integer(n);
    }
    return NULL;
}

/* A detector's learned state, field by field by name (detect_fields); its configuration is not. */
static json_t *
detector_json(const struct detect *d)
{
    json_t *o = json_object(), *v;
    size_t i, k;
    int rc = 0;

    for (i = 0; o != NULL && i < detect_nfields && rc == 0; i++) {
        const struct detect_field *f = &detect_fields[i];

        if (f->count == 1) {
            rc |= put(o, f->name, field_elem_json(d, f, 0));
            continue;
        }
        v = json_array();
        for (k = 0; v != NULL && k < f->count; k++)
            rc |= json_array_append_new(v, field_elem_json(d, f, k));
        rc |= put(o, f->name, v);
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A key's bytes as hex. */
static json_t *
hex_json(const char *p, size_t len)
{
    return jsonval_hex(p, len < KEYS_LEN_MAX ? len : KEYS_LEN_MAX);
}

/*
 * Into 'o': window 'w' ("window": oldest step first, "views", "resum") and
 * the pending steps of the series at 'pending' + row * 'stride' for each
 * pending row ("pending": [[start, value, lines], ...]). Returns 0 or -1.
 */
static int
put_series(json_t *o, const struct step *s, const struct window *w, const struct series *pending,
           size_t stride)
{
    json_t *ring = json_array(), *views = json_array(), *pend = json_array();
    int rc = put(o, "window", ring) | put(o, "views", views) | put(o, "pending", pend);
    size_t k;
    int64_t t;

    for (k = 0; rc == 0 && k < w->nsteps; k++)
        rc |= json_array_append_new(ring, json_real(w->ring[(w->head + k) % w->nsteps]));
    for (k = 0; rc == 0 && k < w->nviews; k++)
        rc |= json_array_append_new(
            views, json_pack("[If]", (json_int_t)w->views[k].steps, w->views[k].sum));
    for (t = s->next_step; rc == 0 && s->started && t <= s->pending_max; t += s->opt.step_ms) {
        const struct series *at = &pending[step_slot(s, t) * stride];

        /* A sum's rounding error too, when it has one: the sum goes on exactly after a load. */
        if (at->err != 0)
            rc |= json_array_append_new(
                pend, json_pack("[Ifff]", (json_int_t)t, at->value, at->n, at->err));
        else if (at->n != 0 || at->value != 0)
            rc |= json_array_append_new(pend, json_pack("[Iff]", (json_int_t)t, at->value, at->n));
    }
    return rc | put(o, "resum", json_integer((json_int_t)w->since_resum));
}

/* A by= metric's keys ("keys": slot, key in hex, last line, series) and KEYS_OTHER's series. */
static int
put_keys(json_t *o, const struct step *s, const struct keyed *k)
{
    json_t *keys = json_array(), *e;
    size_t slot, len;
    const char *name;
    int rc = put(o, "keys", keys);

    for (slot = keyed_next(k, 0); rc == 0 && slot != KEYS_NONE; slot = keyed_next(k, slot + 1)) {
        e = json_object();
        if (slot == keyed_other(k)) {
            rc |= put(o, "other", e);
        } else {
            name = keyed_name(k, slot, &len);
            rc |= json_array_append_new(keys, e);
            rc |= put(e, "slot", json_integer((json_int_t)slot));
            rc |= put(e, "key", hex_json(name, len));
            rc |= put(e, "last", json_integer(keys_last(k->keys, slot)));
        }
        rc |= put_series(e, s, &k->win[slot], k->pending + slot, k->nslots);
        rc |= put(e, "live", json_integer((json_int_t)k->live[slot]));
    }
    return rc;
}

/* Sketch 'i' of 'sk' as JSON. */
static json_t *
sketch_json(struct sketched *sk, size_t i)
{
    return sk->distinct ? jsonval_hll(sketched_hll(sk, i))
                        : jsonval_quantile(sketched_quantile(sk, i));
}

/*
 * A distinct= or quantile metric's sketches: "pending" [[start, sketch]]
 * and "ring", the closed steps oldest first.
 */
static int
put_sketches(json_t *o, const struct step *s, struct sketched *sk)
{
    json_t *pend = json_array(), *ring = json_array();
    int rc = put(o, "sketch_pending", pend) | put(o, "sketch_ring", ring);
    size_t age;
    int64_t t;

    for (t = s->next_step; rc == 0 && s->started && t <= s->pending_max; t += s->opt.step_ms)
        rc |= json_array_append_new(
            pend, json_pack("[Io]", (json_int_t)t, sketch_json(sk, step_slot(s, t))));
    for (age = sk->nsteps; rc == 0 && age > 0; age--)
        rc |= json_array_append_new(ring, sketch_json(sk, sketched_ring(sk, age - 1)));
    return rc;
}

/* The last steps of metric 'i' that a firing's "related" compares (oldest first). */
static json_t *
related_json(const struct related *r, size_t i)
{
    json_t *a = json_array();
    size_t j, n = related_len(r);

    for (j = 0; a != NULL && j < n; j++)
        if (json_array_append_new(a, json_real(related_at(r, i, j))) == -1) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* A metric's window and pending steps, and a by= metric's per key. */
static json_t *
metric_json(const struct step *s, size_t i, struct buf *b)
{
    json_t *o = json_object();
    int rc = 0;

    if (o == NULL)
        return NULL;
    b->len = 0;
    rc |= state_metric_def(b, s->rs, i);
    rc |= put(o, "name", json_string(s->rs->metrics[i].name));
    rc |= put(o, "definition", def_string(b));
    rc |= put_series(o, s, &s->win[i], s->pending + i, s->rs->nmetrics);
    rc |= put(o, "related", related_json(s->related, i));
    if (s->keyed[i] != NULL)
        rc |= put_keys(o, s, s->keyed[i]);
    if (s->sketch[i] != NULL)
        rc |= put_sketches(o, s, s->sketch[i]);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * One entry per key of alert 'i' on a metric with keys, for a load to go
 * on and for a resolved record should the rule go: [{"slot", "key" (hex),
 * ...}]. A threshold alert's keys whose state is not ok, with "state" and
 * "since"; an anomaly rule's keys with a detector, with "detector" (the
 * learned state) or, with 'firing', those firing, with "state", "since" and
 * "direction".
 */
static json_t *
key_alerts_json(const struct step *s, size_t i, int firing)
{
    const struct keyed *k = step_keys_of(s, s->rs->alerts[i].metric);
    const struct alert *ka = s->key_alerts[i];
    struct detect *const *kd = s->key_det[i];
    json_t *list = json_array(), *e;
    const char *name;
    size_t slot, len;
    int rc = list == NULL;

    if (ka == NULL && kd == NULL)
        return list; /* not an alert with keys */
    for (slot = keyed_next(k, 0); rc == 0 && slot != KEYS_NONE; slot = keyed_next(k, slot + 1)) {
        const struct detect *d = kd != NULL ? kd[slot] : NULL;

        if (ka != NULL ? ka[slot].state == ALERT_OK
                       : d == NULL || (firing && d->phase != DETECT_FIRING))
            continue;
        name = keyed_name(k, slot, &len);
        e = json_pack("{sI}", "slot", (json_int_t)slot);
        rc |= put(e, "key", hex_json(name, len));
        if (ka != NULL) {
            rc |= put(e, "state", json_string(state_names[ka[slot].state]));
            rc |= put(e, "since", json_integer(ka[slot].since_ms));
        } else if (firing) {
            rc |= put(e, "state", json_string("firing"));
            rc |= put(e, "since", json_integer(d->since_ms));
            rc |= put(e, "direction",
                      json_string(rules_direction_name(d->dir < 0 ? RULES_DROP : RULES_SPIKE)));
        } else {
            rc |= put(e, "detector", detector_json(d));
        }
        rc |= json_array_append_new(list, e);
    }
    if (rc != 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

/* The labels of alert 'a' as a JSON object, for its resolved record should the rule go. */
static json_t *
labels_json(const struct rules_alert *a)
{
    json_t *o = json_object();
    size_t i;
    int rc = o == NULL;

    for (i = 0; rc == 0 && i < a->nlabels; i++)
        rc = put(o, a->labels[i].name, json_string(a->labels[i].value));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * What a resolved record needs of a firing alert, should its rule change or
 * go before it resolves: its type, metric, category, labels, window, since
 * and (for an anomaly) direction.
 */
static json_t *
firing_json(const struct step *s, size_t i)
{
    const struct rules_alert *a = &s->rs->alerts[i];
    const struct rules_metric *m = &s->rs->metrics[a->metric];
    json_t *o = json_pack("{sssssIsI}", "type", a->anomaly ? "anomaly" : "threshold", "metric",
                          m->name, "window", (json_int_t)a->window_ms, "since",
                          (json_int_t)(a->anomaly ? s->det[i]->since_ms : s->alerts[i].since_ms));

    if (o != NULL && m->category != RULES_NONE &&
        put(o, "rarr", json_string(rules_category_name(m->category))) != 0) {
        json_decref(o);
        return NULL;
    }
    if (o != NULL && a->nlabels > 0 && put(o, "labels", labels_json(a)) != 0) {
        json_decref(o);
        return NULL;
    }
    if (o != NULL && step_keys_of(s, a->metric) != NULL) {
        if (put(o, "keys", key_alerts_json(s, i, 1)) != 0) {
            json_decref(o);
            return NULL;
        }
        return o; /* each key has its since and direction */
    }
    if (o != NULL && a->anomaly &&
        put(o, "direction",
            json_string(rules_direction_name(s->det[i]->dir < 0 ? RULES_DROP : RULES_SPIKE))) !=
            0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * After the end of input has forced out the last steps: mark in 'snap' (a
 * snapshot of 's' from before them) the alerts that went firing in those
 * steps, so that a later run whose rules no longer have them still writes
 * their resolved record. The alert states themselves stay as saved: the
 * next run evaluates those steps again. Returns 0, or -1 with errno ENOMEM.
 */
int
state_mark_firing(json_t *snap, const struct step *s)
{
    json_t *alerts = json_object_get(snap, "alerts");
    size_t i;
    int rc = 0;

    for (i = 0; i < s->rs->nalerts && i < json_array_size(alerts); i++) {
        json_t *o = json_array_get(alerts, i);

        /*
         * Per key, what is firing once the last steps are out is what a
         * later run must resolve: a key that resolved in them was written so.
         */
        if (step_keys_of(s, s->rs->alerts[i].metric) != NULL)
            json_object_del(o, "firing");
        if (json_object_get(o, "firing") == NULL && step_firing(s, i))
            rc |= put(o, "firing", firing_json(s, i));
    }
    if (rc != 0)
        errno = ENOMEM;
    return rc ? -1 : 0;
}

static json_t *
alert_json(const struct step *s, size_t i, struct buf *b)
{
    const struct rules_alert *a = &s->rs->alerts[i];
    json_t *o = json_object();
    int rc = 0;

    if (o == NULL)
        return NULL;
    b->len = 0;
    rc |= alert_def(b, s, i);
    rc |= put(o, "rule", json_string(a->rule));
    rc |= put(o, "definition", def_string(b));
    if (s->key_det[i] != NULL) {
        rc |= put(o, "keys", key_alerts_json(s, i, 0));
    } else if (a->anomaly) {
        rc |= put(o, "detector", detector_json(s->det[i]));
        if (s->shortfall[i].active)
            rc |= put(o, "shortfall",
                      json_pack("[fff]", s->shortfall[i].rate, s->shortfall[i].expected,
                                s->shortfall[i].actual));
    } else {
        rc |= put(o, "state", json_string(state_names[s->alerts[i].state]));
        rc |= put(o, "since", json_integer(s->alerts[i].since_ms));
        if (s->key_alerts[i] != NULL)
            rc |= put(o, "keys", key_alerts_json(s, i, 0));
    }
    if (step_firing(s, i))
        rc |= put(o, "firing", firing_json(s, i));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
clock_json(const struct step *s)
{
    return json_pack("{sIsIsIsIsIsIsisbsIsI}", "max_ts", (json_int_t)s->max_ts, "next_step",
                     (json_int_t)s->next_step, "horizon", (json_int_t)s->horizon, "pending_max",
                     (json_int_t)s->pending_max, "zero_run", (json_int_t)s->zero_run, "idle_run",
                     (json_int_t)s->idle_run, "tz_min", s->tz_min, "evaluated", s->evaluated,
                     "written_to", (json_int_t)s->next_step, "first_step",
                     (json_int_t)s->first_step);
}

/* The input-wide detector and the lines of its pending steps. */
static json_t *
lines_json(const struct step *s, struct buf *b)
{
    json_t *o = json_object(), *pend = json_array();
    int64_t t;
    int rc = 0;

    for (t = s->next_step; s->started && pend != NULL && t <= s->pending_max; t += s->opt.step_ms)
        if (s->pending_lines[step_slot(s, t)] != 0)
            rc |= json_array_append_new(
                pend, json_pack("[If]", (json_int_t)t, s->pending_lines[step_slot(s, t)]));
    b->len = 0;
    rc |= buf_printf(b, "lines window=%d", s->lines_det->cfg.window_steps);
    rc |= put(o, "definition", def_string(b));
    rc |= put(o, "pending", pend);
    rc |= put(o, "detector", detector_json(s->lines_det));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * Everything --state keeps of 's', as a JSON object the caller owns (NULL
 * on out-of-memory). "written_to" says that the steps before it have been
 * evaluated and written: the same as "next_step", unless the caller then
 * evaluates more (at the end of input) and sets it (state_set_written).
 */
json_t *
state_snapshot(const struct step *s)
{
    const struct ruleset *rs = s->rs;
    json_t *root = json_object(), *metrics = json_array(), *alerts = json_array();
    char t[RARR_TIME_MAX];
    struct buf b;
    size_t i;
    int rc = 0;

    buf_init(&b);
    if (root == NULL || metrics == NULL || alerts == NULL)
        goto fail;
    clock_format_time(clock_wall_ms(), t);
    rc |= put(root, "rarr_state", json_integer(STATE_VERSION));
    rc |= put(root, "saved", json_string(t));
    rc |= put(root, "step_ms", json_integer(s->opt.step_ms));
    if (s->started)
        rc |= put(root, "clock", clock_json(s));
    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].kind != RULES_RATIO)
            rc |= json_array_append_new(metrics, metric_json(s, i, &b));
    for (i = 0; i < rs->nalerts; i++)
        rc |= json_array_append_new(alerts, alert_json(s, i, &b));
    rc |= put(root, "metrics", metrics);
    metrics = NULL;
    rc |= put(root, "alerts", alerts);
    alerts = NULL;
    if (s->lines_det != NULL)
        rc |= put(root, "lines", lines_json(s, &b));
    if (rc != 0)
        goto fail;
    buf_fini(&b);
    return root;
fail:
    buf_fini(&b);
    json_decref(root);
    json_decref(metrics);
    json_decref(alerts);
    return NULL;
}

/* Say in 'snap' that the steps before 'written_to' were written (the end of input). */
void
state_set_written(json_t *snap, int64_t written_to)
{
    json_t *clk = json_object_get(snap, "clock");

    if (clk != NULL)
        json_object_set_new(clk, "written_to", json_integer(written_to));
}

/*
 * Write 'snap' to 'path' atomically (statefile_write). Returns 0, or -1
 * with errno set (PATH is then untouched).
 */
int
state_write(const json_t *snap, const char *path)
{
    char *text = json_dumps(snap, JSON_COMPACT);
    int rc;

    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    rc = statefile_write(path, text, strlen(text));
    free(text);
    return rc;
}

/* Whether a save to 'path' can be made. Returns 0, or -1 with errno set. */
int
state_probe(const char *path)
{
    return statefile_probe(path);
}

/*
 * Parse the state file text 'text' of 'path'. Returns the object, or NULL
 * after a message: rarr then starts without state and replaces the file.
 * Version 1 (detectors saved as an image of their C struct) is still read.
 */
static json_t *
parse_state(const char *path, const char *text, size_t len, struct diag *d)
{
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err), *v;

    if (root == NULL) {
        diag_add(d, NULL, 0, 0, "%s:%d:%d: corrupt state file: %s; starting without state", path,
                 err.line, err.column, err.text);
        return NULL;
    }
    v = json_object_get(root, "rarr_state");
    if (!json_is_object(root) || !json_is_integer(v)) {
        diag_add(d, NULL, 0, 0, "%s: corrupt state file: no format version; starting without state",
                 path);
        json_decref(root);
        return NULL;
    }
    if (json_integer_value(v) != STATE_VERSION && json_integer_value(v) != 1) {
        diag_add(d, NULL, 0, 0,
                 "%s: state format %" JSON_INTEGER_FORMAT
                 " is not known to this rarr (it reads 1 and %d); starting without state",
                 path, json_integer_value(v), STATE_VERSION);
        json_decref(root);
        return NULL;
    }
    return root;
}

/*
 * Read the state file at 'path' into '*snap' (the caller owns it). A file
 * that is absent or empty is a first start; one of ours that cannot be used
 * (corrupt, an unknown format version) is told in 'd', '*snap' is NULL and
 * rarr starts fresh. Returns 0, or -1 after a message in 'd' when what is
 * at 'path' is not a rarr state file, or not a regular file: rarr must not
 * replace it.
 */
int
state_read(const char *path, struct diag *d, json_t **snap)
{
    char *text;
    size_t len;

    *snap = NULL;
    if (statefile_read(path, state_magic, d, &text, &len) == -1)
        return -1;
    if (text != NULL)
        *snap = parse_state(path, text, len, d);
    free(text);
    return 0;
}

/* Element 'k' of detector field 'f' of 'd' from JSON 'v'. Returns 0, or -1 when it does not fit. */
static int
field_elem_load(struct detect *d, const struct detect_field *f, size_t k, const json_t *v)
{
    char *p = (char *)d + f->offset + k * f->stride;
    const char *str = json_string_value(v);
    double x;
    int64_t i;
    uint64_t u;
    int n;

    if (f->type == DETECT_F_DOUBLE) {
        if (str != NULL && (strcmp(str, "inf") == 0 || strcmp(str, "-inf") == 0))
            x = str[0] == '-' ? -INFINITY : INFINITY;
        else if (str != NULL && strcmp(str, "nan") == 0)
            x = NAN;
        else if (json_is_number(v))
            x = json_number_value(v);
        else
            return -1;
        memcpy(p, &x, sizeof(x));
        return 0;
    }
    if (!json_is_integer(v))
        return -1;
    i = json_integer_value(v);
    if (f->type == DETECT_F_INT64) {
        memcpy(p, &i, sizeof(i));
    } else if (f->type == DETECT_F_UINT64) {
        u = (uint64_t)i;
        memcpy(p, &u, sizeof(u));
    } else {
        if (i < INT32_MIN || i > INT32_MAX)
            return -1;
        n = (int)i;
        memcpy(p, &n, sizeof(n));
    }
    return 0;
}

/* Load one named field: a scalar, or an array of its 'count' elements. A missing field keeps its
 * default. */
static int
field_load(struct detect *d, const struct detect_field *f, const json_t *o)
{
    const json_t *v = json_object_get(o, f->name);
    size_t k;

    if (v == NULL)
        return 0;
    if (f->count == 1)
        return field_elem_load(d, f, 0, v);
    if (!json_is_array(v) || json_array_size(v) != f->count)
        return -1;
    for (k = 0; k < f->count; k++)
        if (field_elem_load(d, f, k, json_array_get(v, k)) == -1)
            return -1;
    return 0;
}

/* 64-bit FNV-1a: the checksum of a version-1 detector image. */
static uint64_t
fnv1a(const unsigned char *p, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/*
 * A version-1 detector: a checksummed hex image of struct detect, read only
 * when this build's struct begins with the same layout: a version-1 image
 * is struct detect up to the members added since (cont.past onwards, which
 * keep the values of a fresh detector).
 */
static int
image_load(struct detect *img, const json_t *o)
{
    const char *layout = json_string_value(json_object_get(o, "layout"));
    const char *sum = json_string_value(json_object_get(o, "fnv1a"));
    const char *text = json_string_value(json_object_get(o, "image"));
    unsigned char *bytes = (unsigned char *)img;
    char want[32], got[17];
    size_t i;

    snprintf(want, sizeof(want), "%d/%zu", DETECT_LAYOUT_V1, DETECT_IMAGE_V1_LEN);
    if (layout == NULL || strcmp(layout, want) != 0 || sum == NULL || text == NULL ||
        json_string_length(json_object_get(o, "image")) != 2 * DETECT_IMAGE_V1_LEN)
        return -1;
    if (jsonval_unhex(json_object_get(o, "image"), (char *)bytes, DETECT_IMAGE_V1_LEN, &i) == -1 ||
        i != DETECT_IMAGE_V1_LEN)
        return -1;
    snprintf(got, sizeof(got), "%016" PRIx64, fnv1a(bytes, DETECT_IMAGE_V1_LEN));
    return strcmp(got, sum) == 0 ? 0 : -1;
}

/*
 * Load a saved detector into 'd', keeping d's configuration: by name
 * (missing fields keep the value of a fresh detector), or from a version-1
 * image. Nothing changes unless the whole detector loads and is sane.
 */
static int
detector_load(struct detect *d, const json_t *o)
{
    struct detect *img = malloc(sizeof(*img));
    size_t i;
    int rc = 0;

    if (img == NULL || !json_is_object(o)) {
        free(img);
        return -1;
    }
    detect_init(img, &d->cfg);
    if (json_object_get(o, "image") != NULL)
        rc = image_load(img, o);
    for (i = 0; json_object_get(o, "image") == NULL && i < detect_nfields && rc == 0; i++)
        rc = field_load(img, &detect_fields[i], o);
    img->cfg = d->cfg;
    if (rc == 0 && detect_check(img) == 0)
        *d = *img;
    else
        rc = -1;
    free(img);
    return rc;
}

/* Fill window 'w' from a saved one: the newest values, exact sums where the geometry is equal. */
static int
window_load(struct window *w, const json_t *o)
{
    const json_t *ring = json_object_get(o, "window"), *views = json_object_get(o, "views");
    size_t n = json_array_size(ring), k, j, skip;
    int64_t resum;
    double v;
    int same;

    if (!json_is_array(ring) || !json_is_array(views) || jsonval_int(o, "resum", &resum) == -1)
        return -1;
    skip = n > w->nsteps ? n - w->nsteps : 0;
    memset(w->ring, 0, w->nsteps * sizeof(*w->ring));
    for (k = skip; k < n; k++) {
        if (jsonval_num(json_array_get(ring, k), &v) == -1)
            return -1;
        w->ring[w->nsteps - (n - k)] = v;
    }
    w->head = 0;
    w->since_resum = 0;
    for (k = 0; k < w->nviews; k++) {
        w->views[k].sum = 0;
        for (j = 1; j <= w->views[k].steps; j++)
            w->views[k].sum += w->ring[w->nsteps - j];
    }
    /* Same ring, same views: the running sums go on bit for bit. */
    same = n == w->nsteps && json_array_size(views) == w->nviews && resum >= 0 &&
           (uint64_t)resum < w->nsteps;
    for (k = 0; same && k < w->nviews; k++) {
        json_t *sv = json_array_get(views, k);

        same = json_integer_value(json_array_get(sv, 0)) == (json_int_t)w->views[k].steps &&
               jsonval_num(json_array_get(sv, 1), &v) == 0;
    }
    for (k = 0; same && k < w->nviews; k++)
        w->views[k].sum = json_number_value(json_array_get(json_array_get(views, k), 1));
    if (same)
        w->since_resum = (size_t)resum;
    return 0;
}

/*
 * One saved pending step [start, value(, n)] of 'list': its start in
 * '*start', or -1 when damaged; 1 when the step can no longer be held (a
 * smaller --lateness), else 0.
 */
static int
pending_entry(const struct step *s, const json_t *e, int with_n, int64_t *start, double *v,
              double *n)
{
    json_t *js = json_array_get(e, 0);

    *n = 0;
    if (!json_is_integer(js) || jsonval_num(json_array_get(e, 1), v) == -1 ||
        (with_n && jsonval_num(json_array_get(e, 2), n) == -1))
        return -1;
    *start = json_integer_value(js);
    return *start % s->opt.step_ms != 0 || *start < s->next_step ||
           (*start - s->next_step) / s->opt.step_ms >= (int64_t)s->npending;
}

/* A series' saved pending steps into the ring at 'base' + row * 'stride'. */
static int
pending_load(struct step *s, const json_t *list, struct series *base, size_t stride)
{
    double v, n, err = 0;
    int64_t t;
    size_t k;
    int rc;
    const json_t *e;

    for (k = 0; k < json_array_size(list); k++) {
        e = json_array_get(list, k);
        if ((rc = pending_entry(s, e, 1, &t, &v, &n)) == -1 ||
            (json_array_size(e) > 3 && jsonval_num(json_array_get(e, 3), &err) == -1))
            return -1;
        if (rc == 0)
            base[step_slot(s, t) * stride] = (struct series){.value = v, .n = n, .err = err};
        err = 0;
    }
    return 0;
}

/* The series of a by= metric's 'slot': window, pending steps, and how long it stays live. */
static int
slot_load(struct step *s, struct keyed *k, size_t slot, const json_t *e)
{
    int64_t live;

    if (window_load(&k->win[slot], e) == -1 ||
        pending_load(s, json_object_get(e, "pending"), k->pending + slot, k->nslots) == -1 ||
        jsonval_int(e, "live", &live) == -1 || live < 0)
        return -1;
    /* The window may be shorter now (an alert on the metric changed): it holds no more steps. */
    k->live[slot] = (uint64_t)live < k->win[slot].nsteps ? (size_t)live : k->win[slot].nsteps;
    return 0;
}

/* A key's bytes from its hex (KEYS_LEN_MAX at most). */
static int
unhex(const json_t *v, char *out, size_t *len)
{
    return jsonval_unhex(v, out, KEYS_LEN_MAX, len);
}

static int
sketch_load(struct sketched *sk, size_t i, const json_t *o)
{
    return sk->distinct ? jsonval_load_hll(sketched_hll(sk, i), o)
                        : jsonval_load_quantile(sketched_quantile(sk, i), o);
}

/* A distinct= or quantile metric's saved sketches: the pending steps, the newest closed steps. */
static int
sketches_load(struct step *s, struct sketched *sk, const json_t *o)
{
    const json_t *pend = json_object_get(o, "sketch_pending"),
                 *ring = json_object_get(o, "sketch_ring");
    size_t k, n = json_array_size(ring);
    int64_t t;

    if (!json_is_array(pend) || !json_is_array(ring))
        return -1;
    sketched_reset(sk);
    for (k = 0; k < json_array_size(pend); k++) {
        const json_t *e = json_array_get(pend, k);

        if (!json_is_integer(json_array_get(e, 0)))
            return -1;
        t = json_integer_value(json_array_get(e, 0));
        if (t % s->opt.step_ms != 0 || t < s->next_step ||
            (t - s->next_step) / s->opt.step_ms >= (int64_t)s->npending)
            continue; /* a smaller --lateness: the step can no longer be held */
        if (sketch_load(sk, step_slot(s, t), json_array_get(e, 1)) == -1)
            return -1;
    }
    for (k = 0; k < n && k < sk->nsteps; k++)
        if (sketch_load(sk, sketched_ring(sk, k), json_array_get(ring, n - 1 - k)) == -1)
            return -1;
    return 0;
}

/*
 * A by= metric's saved keys, each in its slot with its series, and
 * KEYS_OTHER's series. A key table shared with another metric (the
 * operands of a ratio) is saved with each. When the ratio is new and the
 * tables were two, a key already in the table from the other metric takes
 * that slot; one that no longer fits starts afresh, counted in '*dropped'.
 */
static int
keys_load(struct step *s, struct keyed *k, const json_t *o, size_t *dropped)
{
    const json_t *keys = json_object_get(o, "keys"), *e, *other = json_object_get(o, "other");
    char name[KEYS_LEN_MAX];
    int64_t slot, last;
    size_t i, len, at;

    if (!json_is_array(keys) || !json_is_object(other))
        return -1;
    for (i = 0; i < json_array_size(keys); i++) {
        e = json_array_get(keys, i);
        if (jsonval_int(e, "slot", &slot) == -1 || jsonval_int(e, "last", &last) == -1 ||
            slot < 0 || (uint64_t)slot >= k->nslots - 1 ||
            unhex(json_object_get(e, "key"), name, &len) == -1)
            return -1;
        if (keys_put(k->keys, (size_t)slot, name, len, last) == 0) {
            at = (size_t)slot;
        } else if (!k->shared) {
            return -1;
        } else if (len >= KEYS_LEN_MAX || keys_find(k->keys, name, len, &at) == -1) {
            ++*dropped; /* (a digested key is not found by its name: it starts afresh too) */
            continue;
        }
        if (slot_load(s, k, at, e) == -1)
            return -1;
    }
    return slot_load(s, k, keyed_other(k), other);
}

/* The input-wide detector's saved pending steps: lines per step. */
static int
pending_lines_load(struct step *s, const json_t *list)
{
    double v, n;
    int64_t t;
    size_t k;
    int rc;

    for (k = 0; k < json_array_size(list); k++) {
        if ((rc = pending_entry(s, json_array_get(list, k), 0, &t, &v, &n)) == -1)
            return -1;
        if (rc == 0)
            s->pending_lines[step_slot(s, t)] = v;
    }
    return 0;
}

static const json_t *
find_saved(const json_t *list, const char *key, const char *value, unsigned char *taken)
{
    size_t k;

    for (k = 0; k < json_array_size(list); k++) {
        const char *v = json_string_value(json_object_get(json_array_get(list, k), key));

        if (!taken[k] && v != NULL && strcmp(v, value) == 0) {
            taken[k] = 1;
            return json_array_get(list, k);
        }
    }
    return NULL;
}

/*
 * The start of the first step evaluated, which below= alerts wait on (a
 * state from before it was saved: long enough ago). Returns 0, or -1 when
 * it cannot be one.
 */
static int
restore_first_step(struct step *s, const json_t *c)
{
    int64_t v;

    if (json_object_get(c, "first_step") == NULL) {
        s->first_step = s->evaluated ? INT64_MIN : INT64_MAX;
        return 0;
    }
    if (jsonval_int(c, "first_step", &v) == -1)
        return -1;
    if (v != INT64_MAX && v != INT64_MIN && (v % s->opt.step_ms != 0 || v > s->next_step))
        return -1;
    s->first_step = v;
    return 0;
}

static int
restore_clock(struct step *s, const json_t *c)
{
    static const char *const keys[] = {"max_ts",   "next_step", "horizon",    "pending_max",
                                       "zero_run", "tz_min",    "written_to", "idle_run"};
    json_t *ev = json_object_get(c, "evaluated");
    int64_t v[8];
    size_t k;

    for (k = 0; k < 8; k++)
        if (jsonval_int(c, keys[k], &v[k]) == -1)
            return -1;
    /*
     * The next step to evaluate is behind the newest event by the lateness
     * and, when the state was saved between the steps of a gap being
     * crossed, by that gap, which is crossed step by step for at most
     * STEP_MAX_JUMP_MS (live input may have moved it far ahead: fine). So a
     * crafted file cannot make the next line evaluate years of steps.
     */
    if (!json_is_boolean(ev) || v[1] % s->opt.step_ms != 0 || v[4] < 0 || v[7] < 0 ||
        v[5] < -24 * 60 || v[5] > 24 * 60 ||
        v[1] < v[0] - 2 * s->opt.step_ms - s->opt.lateness_ms - STEP_MAX_JUMP_MS || v[6] < v[1])
        return -1;
    s->started = 1;
    s->evaluated = json_is_true(ev);
    s->max_ts = v[0];
    s->next_step = v[1];
    s->horizon = v[2];
    s->pending_max = v[3];
    s->zero_run = v[4];
    s->tz_min = (int)v[5];
    s->written_to = v[6];
    s->idle_run = v[7];
    s->restored = 1;
    return restore_first_step(s, c);
}

/*
 * Whether the rules of 's' still have the rule of a saved alert: one of its
 * text, or of its type on its metric.
 */
static int
rule_changed(const struct step *s, const char *rule, const char *metric, const char *type)
{
    size_t i;

    for (i = 0; i < s->rs->nalerts; i++) {
        const struct rules_alert *r = &s->rs->alerts[i];

        if (strcmp(r->rule, rule) == 0 || (metric != NULL && type != NULL &&
                                           strcmp(s->rs->metrics[r->metric].name, metric) == 0 &&
                                           (strcmp(type, "anomaly") == 0) == r->anomaly))
            return 1;
    }
    return 0;
}

/* The most labels a saved firing alert brings to its resolved record (a rule has at most 32). */
#define RETIRED_LABELS_MAX 32

/* The resolved records 'r' of a gone alert on a metric with keys: one per key that was firing. */
static int
retire_keys(struct step *s, const json_t *keys, int64_t at, struct emit_retired *r)
{
    char name[KEYS_LEN_MAX];
    int64_t since = 0;
    size_t j, len;
    int rc = 0;

    for (j = 0; j < json_array_size(keys); j++) {
        const json_t *e = json_array_get(keys, j);
        const char *st = json_string_value(json_object_get(e, "state"));

        if (st == NULL || strcmp(st, "firing") != 0 || jsonval_int(e, "since", &since) == -1 ||
            unhex(json_object_get(e, "key"), name, &len) == -1)
            continue;
        r->key = name;
        r->key_len = len;
        r->since_ms = since;
        r->direction = json_string_value(json_object_get(e, "direction"));
        rc |= emit_retired(s->em, at, r);
    }
    r->key = NULL; /* (it was this function's) */
    return rc;
}

/*
 * A saved alert that no rule in force takes over: its state is dropped, and
 * when it was firing a resolved record says so ("reason": "rule changed" when
 * a rule of the same name, or of the same kind on the same metric, is still
 * there, else "rule removed"), at the step the clock stands at, so a pager
 * keyed on the rule closes. Returns 0 or -1 when output failed.
 */
static int
retire(struct step *s, const json_t *a, const char *name, struct diag *d)
{
    const char *rule = json_string_value(json_object_get(a, "rule"));
    const json_t *f = json_object_get(a, "firing");
    const char *metric = json_string_value(json_object_get(f, "metric")),
               *type = json_string_value(json_object_get(f, "type"));
    const char *names[RETIRED_LABELS_MAX], *values[RETIRED_LABELS_MAX], *lname;
    struct emit_retired r = {0};
    const json_t *keys;
    json_t *lvalue;
    int64_t at;
    int changed;

    if (rule == NULL)
        return 0;
    if (f == NULL) {
        if (json_object_get(a, "detector") != NULL || json_object_get(a, "state") != NULL)
            diag_add(d, NULL, 0, 0, "%s: rule '%s' changed or is gone; its state is dropped", name,
                     rule);
        return 0;
    }
    changed = rule_changed(s, rule, metric, type);
    diag_add(d, NULL, 0, 0, "%s: rule '%s' %s while firing; it is resolved", name, rule,
             changed ? "changed" : "is gone");
    if (!s->opt.emit_alerts || s->em == NULL)
        return 0;
    r.type = type;
    r.rule = rule;
    r.metric = metric;
    r.rarr = json_string_value(json_object_get(f, "rarr"));
    r.direction = json_string_value(json_object_get(f, "direction"));
    r.reason = changed ? "rule changed" : "rule removed";
    jsonval_int(f, "window", &r.window_ms);
    jsonval_int(f, "since", &r.since_ms);
    json_object_foreach((json_t *)json_object_get(f, "labels"), lname, lvalue)
    {
        if (r.nlabels < RETIRED_LABELS_MAX && json_is_string(lvalue)) {
            names[r.nlabels] = lname;
            values[r.nlabels++] = json_string_value(lvalue);
        }
    }
    r.label_names = names;
    r.label_values = values;
    /* At the step the clock stands at, or after the steps the saving run wrote. */
    at = s->written_to > s->next_step ? s->written_to : s->next_step;
    if (json_is_array(keys = json_object_get(f, "keys")))
        return retire_keys(s, keys, at, &r);
    return emit_retired(s->em, at, &r);
}

/*
 * The saved last steps of metric 'i' ("related"; absent in older files:
 * none). Returns 0, or -1 when they are not finite numbers.
 */
static int
related_load(struct step *s, size_t i, const json_t *o)
{
    const json_t *a = json_object_get(o, "related");
    size_t n = json_array_size(a), k = n < s->related->nsteps ? n : s->related->nsteps, j;
    double *v;
    int rc = 0;

    if (a == NULL)
        return 0;
    /* Only the newest steps the ring can hold are read. */
    if (!json_is_array(a) || (v = calloc(k + 1, sizeof(*v))) == NULL)
        return -1;
    for (j = 0; j < k && rc == 0; j++)
        rc = jsonval_num(json_array_get(a, n - k + j), &v[j]);
    if (rc == 0)
        related_restore(s->related, i, v, k);
    free(v);
    return rc;
}

/*
 * The shortfall under way of a drop of a sum= metric ([rate, expected,
 * actual]; absent: none). Anything but three finite numbers is none.
 */
static void
shortfall_load(struct step_shortfall *sf, const json_t *a)
{
    double v[3];
    size_t k;

    memset(sf, 0, sizeof(*sf));
    if (json_array_size(a) != 3)
        return;
    for (k = 0; k < 3; k++)
        if (jsonval_num(json_array_get(a, k), &v[k]) == -1)
            return;
    *sf = (struct step_shortfall){1, v[0], v[1], v[2]};
}

/* The saved metric named 'name' not yet taken, or NULL. */
static const json_t *
saved_metric(const json_t *metrics, const char *name, unsigned char *taken)
{
    size_t k;

    for (k = 0; k < json_array_size(metrics); k++) {
        const char *n = json_string_value(json_object_get(json_array_get(metrics, k), "name"));

        if (!taken[k] && n != NULL && strcmp(n, name) == 0) {
            taken[k] = 1;
            return json_array_get(metrics, k);
        }
    }
    return NULL;
}

/* Every metric's window and pending steps whose name and definition are unchanged. */
static int
restore_metrics(struct step *s, const json_t *metrics, const char *name, struct buf *b,
                struct diag *d)
{
    const struct ruleset *rs = s->rs;
    unsigned char *taken = calloc(json_array_size(metrics) + 1, 1);
    const json_t *o;
    const char *def;
    size_t i, k, dropped;
    int rc = 0;

    for (i = 0; taken != NULL && rc == 0 && i < rs->nmetrics; i++) {
        if (rs->metrics[i].kind == RULES_RATIO ||
            (o = saved_metric(metrics, rs->metrics[i].name, taken)) == NULL)
            continue; /* a new metric */
        b->len = 0;
        if (state_metric_def(b, rs, i) != 0 || buf_addc(b, '\0') != 0) {
            rc = -1;
            break;
        }
        def = json_string_value(json_object_get(o, "definition"));
        if (def == NULL || strcmp(def, b->p) != 0) {
            diag_add(d, NULL, 0, 0, "%s: metric %s: its definition changed; its state is dropped",
                     name, rs->metrics[i].name);
            continue;
        }
        dropped = 0;
        rc = window_load(&s->win[i], o) == -1 ||
                     pending_load(s, json_object_get(o, "pending"), s->pending + i, rs->nmetrics) ==
                         -1 ||
                     (s->keyed[i] != NULL && keys_load(s, s->keyed[i], o, &dropped) == -1) ||
                     (s->sketch[i] != NULL && sketches_load(s, s->sketch[i], o) == -1) ||
                     related_load(s, i, o) == -1
                 ? -1
                 : 0;
        if (dropped > 0)
            diag_add(d, NULL, 0, 0,
                     "%s: metric %s: %zu saved keys do not fit the key table it now shares with "
                     "the other operand of a ratio; their series start afresh",
                     name, rs->metrics[i].name, dropped);
    }
    for (k = 0; taken != NULL && rc == 0 && k < json_array_size(metrics); k++)
        if (!taken[k])
            diag_add(d, NULL, 0, 0, "%s: metric %s is no longer defined; its state is dropped",
                     name, json_string_value(json_object_get(json_array_get(metrics, k), "name")));
    rc = taken == NULL ? -1 : rc;
    free(taken);
    return rc;
}

/*
 * The saved states of alert 'i' on a metric with keys, per key slot
 * ([{"slot", "key", "state", "since"}]); a state whose key is not in its
 * slot any more (the metric's keys were dropped) is dropped too.
 */
static int
key_states_load(struct step *s, size_t i, const json_t *list)
{
    const struct keyed *k = step_keys_of(s, s->rs->alerts[i].metric);
    char key[KEYS_LEN_MAX];
    const char *name;
    const json_t *e;
    const char *st;
    int64_t slot, since;
    size_t j, n, len, klen;

    if (!json_is_array(list))
        return -1;
    for (j = 0; j < json_array_size(list); j++) {
        e = json_array_get(list, j);
        st = json_string_value(json_object_get(e, "state"));
        for (n = 0; n < 3 && st != NULL && strcmp(st, state_names[n]) != 0; n++)
            ;
        if (st == NULL || n == 3 || jsonval_int(e, "slot", &slot) == -1 ||
            jsonval_int(e, "since", &since) == -1 || slot < 0 || (uint64_t)slot >= k->nslots ||
            unhex(json_object_get(e, "key"), key, &klen) == -1)
            return -1;
        name = keyed_name(k, (size_t)slot, &len);
        if (name == NULL || len != klen || memcmp(name, key, len) != 0)
            continue;
        s->key_alerts[i][slot].state = (enum alert_state)n;
        s->key_alerts[i][slot].since_ms = since;
    }
    return 0;
}

/*
 * The saved detectors of anomaly rule 'i' on a metric with keys, one per
 * key ([{"slot", "key", "detector"}]); a key no longer in its slot is
 * dropped, a damaged detector learns afresh (said in 'd'). Returns -1 on
 * out-of-memory or a list that is not one.
 */
static int
key_detectors_load(struct step *s, size_t i, const json_t *list, const char *file, struct diag *d)
{
    const struct keyed *k = step_keys_of(s, s->rs->alerts[i].metric);
    struct detect **kd = s->key_det[i];
    char key[KEYS_LEN_MAX];
    const char *name;
    const json_t *e;
    int64_t slot;
    size_t j, len, klen, damaged = 0;

    if (!json_is_array(list))
        return -1;
    for (j = 0; j < json_array_size(list); j++) {
        e = json_array_get(list, j);
        if (jsonval_int(e, "slot", &slot) == -1 || slot < 0 || (uint64_t)slot >= keyed_other(k) ||
            unhex(json_object_get(e, "key"), key, &klen) == -1)
            return -1;
        name = keyed_name(k, (size_t)slot, &len);
        if (name == NULL || len != klen || memcmp(name, key, len) != 0)
            continue;
        if (kd[slot] == NULL && (kd[slot] = malloc(sizeof(*kd[slot]))) == NULL)
            return -1;
        detect_init(kd[slot], &s->det[i]->cfg);
        if (detector_load(kd[slot], json_object_get(e, "detector")) == -1)
            damaged++;
    }
    if (damaged > 0)
        diag_add(d, NULL, 0, 0,
                 "%s: %s: %zu saved detectors are damaged or from another build of rarr; their "
                 "keys learn afresh",
                 file, s->rs->alerts[i].rule, damaged);
    return 0;
}

/* Threshold alert 'i' from its saved state. Returns 0, or -1 when damaged. */
static int
restore_threshold(struct step *s, size_t i, const json_t *o)
{
    const char *st = json_string_value(json_object_get(o, "state"));
    int64_t since;
    size_t k;

    for (k = 0; k < 3 && st != NULL && strcmp(st, state_names[k]) != 0; k++)
        ;
    if (st == NULL || k == 3 || jsonval_int(o, "since", &since) == -1)
        return -1;
    s->alerts[i].state = (enum alert_state)k;
    s->alerts[i].since_ms = since;
    return s->key_alerts[i] != NULL ? key_states_load(s, i, json_object_get(o, "keys")) : 0;
}

/* Every alert and detector whose definition is unchanged; the others are retired. */
static int
restore_alerts(struct step *s, const json_t *alerts, const char *name, struct buf *b,
               struct diag *d)
{
    const struct ruleset *rs = s->rs;
    unsigned char *taken = calloc(json_array_size(alerts) + 1, 1);
    const json_t *o;
    size_t i, k;
    int rc = taken == NULL ? -1 : 0;

    for (i = 0; rc == 0 && i < rs->nalerts; i++) {
        b->len = 0;
        if (alert_def(b, s, i) != 0 || buf_addc(b, '\0') != 0) {
            rc = -1;
            break;
        }
        if ((o = find_saved(alerts, "definition", b->p, taken)) == NULL)
            continue;
        s->alerts[i].restored = 1;
        if (!rs->alerts[i].anomaly) {
            rc = restore_threshold(s, i, o);
        } else if (s->key_det[i] != NULL) {
            rc = key_detectors_load(s, i, json_object_get(o, "keys"), name, d);
        } else if (detector_load(s->det[i], json_object_get(o, "detector")) == -1) {
            diag_add(d, NULL, 0, 0,
                     "%s: %s: the saved detector is damaged or from another build of rarr; it "
                     "learns afresh",
                     name, rs->alerts[i].rule);
            s->alerts[i].restored = 0;
        } else {
            shortfall_load(&s->shortfall[i], json_object_get(o, "shortfall"));
        }
    }
    for (k = 0; rc == 0 && k < json_array_size(alerts); k++)
        if (!taken[k] && retire(s, json_array_get(alerts, k), name, d) == -1)
            rc = -1;
    free(taken);
    return rc;
}

/* The input-wide detector, when its window is unchanged. */
static int
restore_lines(struct step *s, const json_t *o, const char *name, struct buf *b, struct diag *d)
{
    const char *def = json_string_value(json_object_get(o, "definition"));

    if (s->lines_det == NULL || o == NULL)
        return 0;
    b->len = 0;
    if (buf_printf(b, "lines window=%d", s->lines_det->cfg.window_steps) != 0 ||
        buf_addc(b, '\0') != 0)
        return -1;
    if (def == NULL || strcmp(def, b->p) != 0)
        return 0;
    if (pending_lines_load(s, json_object_get(o, "pending")) == -1)
        return -1;
    if (detector_load(s->lines_det, json_object_get(o, "detector")) == -1)
        diag_add(d, NULL, 0, 0,
                 "%s: the input-wide detector's state is damaged or from another build of rarr; "
                 "it learns afresh",
                 name);
    return 0;
}

/* A state saved with another --step: nothing of it fits. Always -1. */
static int
other_step(const struct step *s, int64_t step, const char *name, struct diag *d)
{
    char was[RARR_DUR_MAX], now[RARR_DUR_MAX];

    clock_format_duration(step > 0 ? step : 0, was);
    clock_format_duration(s->opt.step_ms, now);
    diag_add(d, NULL, 0, 0, "%s: state saved with --step %s, not %s; starting without state", name,
             was, now);
    return -1;
}

/*
 * Load 'snap' (from state_read, named 'name' in messages) into a fresh
 * stage 's': the event clock, and every window, pending step, alert state
 * and detector whose metric has the same name and definition in the rules
 * in force; what is dropped is told in 'd'. Returns 0, or -1 after a
 * message when the file does not fit (another step, a damaged entry): the
 * stage is then reset and starts fresh.
 */
int
state_restore(struct step *s, const json_t *snap, const char *name, struct diag *d)
{
    const json_t *metrics = json_object_get(snap, "metrics"),
                 *alerts = json_object_get(snap, "alerts"), *clk = json_object_get(snap, "clock");
    const char *what = "a damaged entry";
    struct buf b;
    int64_t step;
    int rc;

    if (jsonval_int(snap, "step_ms", &step) == -1 || !json_is_array(metrics) ||
        !json_is_array(alerts))
        goto bad;
    if (step != s->opt.step_ms)
        return other_step(s, step, name, d);
    if (clk == NULL)
        return 0; /* saved before the first line */
    if (restore_clock(s, clk) == -1) {
        what = "a damaged clock";
        goto bad;
    }
    buf_init(&b);
    rc = restore_metrics(s, metrics, name, &b, d);
    if (rc == 0)
        rc = restore_alerts(s, alerts, name, &b, d);
    if (rc == 0)
        rc = restore_lines(s, json_object_get(snap, "lines"), name, &b, d);
    buf_fini(&b);
    if (rc == 0)
        return 0;
bad:
    diag_add(d, NULL, 0, 0, "%s: state file has %s; starting without state", name, what);
    step_reset(s);
    return -1;
}
