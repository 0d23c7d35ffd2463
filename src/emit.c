/*
 * emit.c -- the last stage: output records as NDJSON (docs/design.md, "Output").
 *
 * Records are written by hand into one reusable buffer, keys in a fixed
 * order, numbers in shortest round-trip form, strings escaped so that
 * every output line is exactly one valid JSON object whatever bytes reached
 * it. The pipeline calls emit_flush() after a line or tick that queued an
 * event (threshold, anomaly, input: a pager must have them as soon as they
 * are decided), when 64 KiB are queued, and before the reader waits for
 * input; so metric records of a replay go out in large blocks, and a record
 * is never split across two flushes.
 */
#include "rarr/emit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rarr/clock.h"

/* Write to 'fd' (usually stdout). */
void
emit_init(struct emit *e, int fd)
{
    e->fd = fd;
    buf_init(&e->out);
    e->events_out = 1;
    e->tap = NULL;
    e->tap_arg = NULL;
    e->related = NULL;
    e->shortfall = NAN;
    e->quiet = 0;
    e->events = 0;
    e->metrics = 0;
    e->fired = 0;
    e->time.valid = 0;
    e->dur.valid = 0;
    e->urgent = 0;
}

/* Free the buffer; unflushed records are dropped. */
void
emit_fini(struct emit *e)
{
    buf_fini(&e->out);
}

/* Length of the valid UTF-8 sequence at p (n > 0 bytes left: 1..4), or 0 if it is not valid. */
size_t
emit_utf8_len(const unsigned char *p, size_t n)
{
    size_t len, i;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    /* Reject overlong forms, surrogates and code points past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/*
 * Append 'p' as a quoted JSON string: quotes, backslashes and control bytes
 * escaped, each byte of invalid UTF-8 replaced by U+FFFD (written \ufffd).
 */
int
emit_json_string(struct buf *b, const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, n;
    int rc = buf_addc(b, '"');

    while (i < len && rc == 0) {
        unsigned char c = s[i];
        size_t run;

        /* Printable ASCII other than quote and backslash goes out as a run. */
        for (run = i;
             run < len && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\'; run++)
            ;
        if (run > i) {
            rc = buf_add(b, s + i, run - i);
            i = run;
        } else if (c == '"' || c == '\\') {
            rc = buf_addc(b, '\\') | buf_addc(b, c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            rc = buf_printf(b, "\\u%04x", c);
            i++;
        } else if ((n = emit_utf8_len(s + i, len - i)) == 0) {
            rc = buf_add(b, "\\ufffd", 6);
            i++;
        } else {
            rc = buf_add(b, s + i, n);
            i += n;
        }
    }
    return rc | buf_addc(b, '"');
}

/* ,"KEY": -- keys are literals of this file: nothing to escape. No printf: records are many. */
static int
put_key(struct buf *b, const char *key)
{
    return buf_add(b, ",\"", 2) | buf_adds(b, key) | buf_add(b, "\":", 2);
}

static int
put_str(struct buf *b, const char *key, const char *s, size_t len)
{
    return put_key(b, key) | emit_json_string(b, s, len);
}

static int
put_cstr(struct buf *b, const char *key, const char *s)
{
    size_t n = 0;

    while (s[n] != '\0')
        n++;
    return put_str(b, key, s, n);
}

static int
put_time(struct buf *b, const char *key, int64_t ms)
{
    char t[RARR_TIME_MAX];

    clock_format_time(ms, t);
    return put_key(b, key) | buf_addc(b, '"') | buf_adds(b, t) | buf_addc(b, '"');
}

static int
put_num(struct buf *b, const char *key, double v)
{
    return put_key(b, key) | buf_add_double(b, v);
}

_Static_assert(RARR_DUR_MAX <= RARR_TIME_MAX, "a duration must fit in struct emit_text");

/* The text of 'v' as 'format' writes it; the last one is kept (the records of a step repeat it). */
static const char *
cached(struct emit_text *c, int64_t v, void (*format)(int64_t, char *))
{
    if (!c->valid || c->v != v) {
        format(v, c->text);
        c->v = v;
        c->valid = 1;
    }
    return c->text;
}

static int
put_dur(struct emit *e, const char *key, int64_t ms)
{
    struct buf *b = &e->out;

    return put_key(b, key) | buf_addc(b, '"') |
           buf_adds(b, cached(&e->dur, ms, clock_format_duration)) | buf_addc(b, '"');
}

/* {"type":TYPE,"time":T */
static int
begin(struct emit *e, const char *type, int64_t t_ms)
{
    struct buf *b = &e->out;

    return buf_add(b, "{\"type\":\"", 9) | buf_adds(b, type) | buf_add(b, "\",\"time\":\"", 10) |
           buf_adds(b, cached(&e->time, t_ms, clock_format_time)) | buf_addc(b, '"');
}

/* "metric", its "key" when a by= series ('key' NULL: none; any bytes, escaped), "rarr". */
static int
put_metric(struct buf *b, const struct rules_metric *m, const char *key, size_t key_len)
{
    int rc = put_cstr(b, "metric", m->name);

    if (key != NULL)
        rc |= put_key(b, "key") | emit_json_string(b, key, key_len);
    if (m->category != RULES_NONE)
        rc |= put_cstr(b, "rarr", rules_category_name(m->category));
    return rc;
}

/* What a summary= template's {words} stand for in one record (see rules_summary_words). */
struct fill {
    const char *state, *metric, *rule, *key, *direction; /* key and direction: NULL for none */
    size_t key_len;
    double value, threshold, expected, lower, upper; /* NAN: the record has none */
    int64_t window_ms;
};

/* Append 'v' for a person on a phone: at most two decimals, fewer as it grows; NaN: nothing. */
int
emit_short_num(struct buf *b, double v)
{
    char t[64];
    int d = fabs(v) >= 100 ? 0 : fabs(v) >= 10 ? 1 : 2, n;

    if (isnan(v))
        return 0;
    if (!isfinite(v) || fabs(v) >= 1e15)
        n = snprintf(t, sizeof(t), "%.3g", v);
    else
        n = snprintf(t, sizeof(t), "%.*f", d, v);
    while (d > 0 && n > 0 && t[n - 1] == '0')
        n--;
    if (n > 0 && t[n - 1] == '.')
        n--;
    return buf_add(b, t, (size_t)(n > 0 ? n : 0));
}

/* Word 'w' of rules_summary_words for the record 'f'. */
static int
add_word(struct buf *b, size_t w, const struct fill *f)
{
    char dur[RARR_DUR_MAX];
    const double nums[] = {f->value, f->threshold, 0, 0, 0, 0, 0, f->expected, f->lower, f->upper};

    switch (w) {
    case 2:
        clock_format_duration(f->window_ms, dur);
        return buf_adds(b, dur);
    case 3:
        return buf_adds(b, f->metric);
    case 4:
        return f->key != NULL ? buf_add(b, f->key, f->key_len) : 0;
    case 5:
        return buf_adds(b, f->rule);
    case 6:
        return buf_adds(b, f->state);
    case 10:
        return f->direction != NULL ? buf_adds(b, f->direction) : 0;
    default:
        return emit_short_num(b, nums[w]);
    }
}

/* ,"summary": the template 'tpl' with its {words} filled in from 'f'. */
static int
put_summary(struct buf *b, const char *tpl, const struct fill *f)
{
    struct buf s;
    const char *p = tpl, *end;
    size_t w;
    int rc = 0;

    buf_init(&s);
    while (*p != '\0') {
        if (*p == '{' && (end = strchr(p, '}')) != NULL) {
            for (w = 0; rules_summary_words[w] != NULL; w++)
                if (strlen(rules_summary_words[w]) == (size_t)(end - p - 1) &&
                    memcmp(rules_summary_words[w], p + 1, (size_t)(end - p - 1)) == 0)
                    break;
            if (rules_summary_words[w] != NULL) {
                rc |= add_word(&s, w, f);
                p = end + 1;
                continue;
            }
        }
        rc |= buf_addc(&s, *p++);
    }
    rc |= put_key(b, "summary") | emit_json_string(b, s.p != NULL ? s.p : "", s.len);
    buf_fini(&s);
    return rc;
}

/* Label 'i' of a "labels" object: "NAME":"VALUE", after a comma but for the first. */
static int
put_label(struct buf *b, size_t i, const char *name, const char *value)
{
    return (i > 0 ? buf_addc(b, ',') : 0) | emit_json_string(b, name, strlen(name)) |
           buf_addc(b, ':') | emit_json_string(b, value, strlen(value));
}

/* What the rule file gives an alert's records: "labels", "summary", "runbook_url". */
static int
put_meta(struct buf *b, const struct rules_alert *a, const struct fill *f)
{
    size_t i;
    int rc = 0;

    if (a == NULL)
        return 0;
    if (a->nlabels > 0) {
        rc |= put_key(b, "labels") | buf_addc(b, '{');
        for (i = 0; i < a->nlabels; i++)
            rc |= put_label(b, i, a->labels[i].name, a->labels[i].value);
        rc |= buf_addc(b, '}');
    }
    if (a->summary != NULL)
        rc |= put_summary(b, a->summary, f);
    if (a->runbook != NULL)
        rc |= put_cstr(b, "runbook_url", a->runbook);
    return rc;
}

/*
 * ,"related":[{"metric":M,"value":V,"usual":U,"change":C},...]: the metrics far
 * from their usual value over the window of a firing (related.c).
 */
static int
put_related(struct buf *b, const struct related_list *l)
{
    size_t i;
    int rc;

    if (l == NULL || l->n == 0)
        return 0;
    rc = put_key(b, "related") | buf_addc(b, '[');
    for (i = 0; i < l->n; i++)
        rc |= buf_add(b, i > 0 ? ",{" : "{", i > 0 ? 2 : 1) | buf_adds(b, "\"metric\":") |
              emit_json_string(b, l->v[i].name, strlen(l->v[i].name)) |
              put_num(b, "value", l->v[i].value) |
              put_num(b, "usual", round(l->v[i].usual * 1000) / 1000) |
              put_num(b, "change", round(l->v[i].change * 1000) / 1000) | buf_addc(b, '}');
    return rc | buf_addc(b, ']');
}

/*
 * An event record ('firing' or not) was written from 'start' on: hand it to
 * the tap, and keep it for the output only when event records go there and
 * it is not quiet.
 * Returns 0 or -1.
 */
static int
event_end(struct emit *e, size_t start, int rc, int firing)
{
    if (rc == 0 && e->tap != NULL &&
        e->tap(e->tap_arg, e->out.p + start, e->out.len - start, e->quiet) == -1)
        rc = -1;
    if (!e->events_out || e->quiet) {
        e->out.len = start;
        return rc ? -1 : 0;
    }
    e->events++;
    e->fired += firing != 0;
    e->urgent = 1;
    return rc ? -1 : 0;
}

/*
 * Queue a threshold record (firing or resolved) for alert 'a' on metric 'm'
 * at step end 't_ms'; 'key' (NULL: none) is the by= series it is about.
 * Returns 0 or -1 on out-of-memory.
 */
int
emit_threshold(struct emit *e, int64_t t_ms, int firing, const struct rules_alert *a,
               const struct rules_metric *m, double v, int64_t since_ms, const char *key,
               size_t key_len)
{
    struct buf *b = &e->out;
    size_t start = b->len;
    int rc;

    rc = begin(e, "threshold", t_ms);
    rc |= put_cstr(b, "state", firing ? "firing" : "resolved");
    rc |= put_cstr(b, "rule", a->rule);
    rc |= put_metric(b, m, key, key_len);
    rc |= put_dur(e, "window", a->window_ms);
    rc |= put_num(b, "value", v);
    rc |= put_num(b, "threshold", a->threshold);
    rc |= put_cstr(b, "op", a->above ? "above" : "below");
    rc |= put_time(b, "since", since_ms);
    rc |= put_meta(b, a,
                   &(struct fill){firing ? "firing" : "resolved", m->name, a->rule, key, NULL,
                                  key_len, v, a->threshold, NAN, NAN, NAN, a->window_ms});
    if (firing)
        rc |= put_related(b, e->related);
    rc |= buf_add(b, "}\n", 2);
    return event_end(e, start, rc, firing);
}

/*
 * Queue a metric record: metric 'm' over the one step ending at 't_ms';
 * 'defined' 0 writes "value":null (a ratio below its min=); 'key' (NULL:
 * none) is the by= series it is of.
 */
int
emit_metric(struct emit *e, int64_t t_ms, const struct rules_metric *m, int64_t step_ms, double v,
            int defined, const char *key, size_t key_len)
{
    struct buf *b = &e->out;
    int rc;

    rc = begin(e, "metric", t_ms);
    rc |= put_metric(b, m, key, key_len);
    rc |= put_dur(e, "step", step_ms);
    rc |= defined ? put_num(b, "value", v) : buf_adds(b, ",\"value\":null");
    rc |= buf_add(b, "}\n", 2);
    e->metrics++;
    return rc ? -1 : 0;
}

/*
 * Write every queued record. Returns 0, or -1 with errno set (EPIPE when the
 * reader has gone: the caller ends quietly).
 */
int
emit_flush(struct emit *e)
{
    size_t off = 0;
    ssize_t n;

    while (off < e->out.len) {
        n = write(e->fd, e->out.p + off, e->out.len - off);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            e->out.len = 0;
            e->urgent = 0;
            return -1;
        }
        off += (size_t)n;
    }
    e->out.len = 0;
    e->urgent = 0;
    return 0;
}

/*
 * Queue an anomaly record for the rule whose text is 'rule', on 'metric' and
 * by= key 'key' ('key_len' bytes; NULL: none), of category 'rarr' (NULL for
 * none), at step end 't_ms', with the labels, summary and runbook of
 * 'meta' (NULL: none): the values are over
 * the window that triggered it (docs/design.md lists the keys); "p" is the
 * tail probability of a firing, "reason" says why one resolved.
 */
int
emit_anomaly(struct emit *e, int64_t t_ms, const char *rule, const char *metric, const char *key,
             size_t key_len, const char *rarr, const struct rules_alert *meta,
             const struct detect_event *ev)
{
    struct buf *b = &e->out;
    size_t start = b->len;
    int rc;

    rc = begin(e, "anomaly", t_ms);
    rc |= put_cstr(b, "state", ev->fired > 0 ? "firing" : "resolved");
    rc |= put_cstr(b, "rule", rule);
    rc |= put_cstr(b, "metric", metric);
    if (key != NULL)
        rc |= put_key(b, "key") | emit_json_string(b, key, key_len);
    if (rarr != NULL)
        rc |= put_cstr(b, "rarr", rarr);
    rc |= put_dur(e, "window", ev->window_ms);
    rc |= put_num(b, "value", ev->value);
    rc |= put_num(b, "expected", round(ev->expected * 1000) / 1000);
    rc |= put_num(b, "lower", round(ev->lower * 1000) / 1000);
    rc |= put_num(b, "upper", round(ev->upper * 1000) / 1000);
    rc |= put_num(b, "score", round(ev->score * 100) / 100);
    rc |= put_cstr(b, "direction", rules_direction_name(ev->dir < 0 ? RULES_DROP : RULES_SPIKE));
    rc |= put_time(b, "since", ev->since_ms);
    if (ev->fired > 0)
        rc |= put_num(b, "p", ev->p);
    else
        rc |= put_cstr(b, "reason", ev->reason);
    rc |= put_meta(b, meta,
                   &(struct fill){ev->fired > 0 ? "firing" : "resolved", metric, rule, key,
                                  rules_direction_name(ev->dir < 0 ? RULES_DROP : RULES_SPIKE),
                                  key_len, ev->value, NAN, ev->expected, ev->lower, ev->upper,
                                  ev->window_ms});
    if (ev->fired > 0)
        rc |= put_related(b, e->related);
    else if (!isnan(e->shortfall))
        rc |= put_num(b, "shortfall", round(e->shortfall * 1000) / 1000);
    rc |= buf_add(b, "}\n", 2);
    return event_end(e, start, rc, ev->fired > 0);
}

/*
 * Queue the resolved record of an alert whose rule changed or went while it
 * was firing (SIGHUP, or a --state file from other rules): its type
 * ("threshold" or "anomaly"), rule, metric, by= key and category (NULL: none),
 * window, since, an anomaly's direction (else NULL), the reason and the
 * labels the rule had. No value is written: the rule that measured it is
 * gone.
 */
int
emit_retired(struct emit *e, int64_t t_ms, const struct emit_retired *r)
{
    struct buf *b = &e->out;
    size_t start = b->len;
    size_t i;
    int rc;

    rc = begin(e, r->type != NULL ? r->type : "threshold", t_ms);
    rc |= put_cstr(b, "state", "resolved");
    rc |= put_cstr(b, "rule", r->rule);
    if (r->metric != NULL)
        rc |= put_cstr(b, "metric", r->metric);
    if (r->key != NULL)
        rc |= put_key(b, "key") | emit_json_string(b, r->key, r->key_len);
    if (r->rarr != NULL)
        rc |= put_cstr(b, "rarr", r->rarr);
    rc |= put_dur(e, "window", r->window_ms);
    if (r->direction != NULL)
        rc |= put_cstr(b, "direction", r->direction);
    rc |= put_time(b, "since", r->since_ms);
    rc |= put_cstr(b, "reason", r->reason);
    if (r->nlabels > 0) {
        rc |= put_key(b, "labels") | buf_addc(b, '{');
        for (i = 0; i < r->nlabels; i++)
            rc |= put_label(b, i, r->label_names[i], r->label_values[i]);
        rc |= buf_addc(b, '}');
    }
    rc |= buf_add(b, "}\n", 2);
    return event_end(e, start, rc, 0);
}

/*
 * Queue an "input" record: the input (of 'host', NULL: the input read
 * here) went silent (no line at all since 'since_ms') or is flowing again.
 */
int
emit_input(struct emit *e, int64_t t_ms, int silent, int64_t since_ms, const char *host)
{
    struct buf *b = &e->out;
    int rc;

    rc = begin(e, "input", t_ms);
    if (host != NULL)
        rc |= put_str(b, "host", host, strlen(host));
    rc |= put_cstr(b, "state", silent ? "silent" : "flowing");
    rc |= put_time(b, "since", since_ms);
    rc |= buf_add(b, "}\n", 2);
    e->events++;
    e->urgent = 1;
    return rc ? -1 : 0;
}

/*
 * Queue a "summary" record at the end of a run ('t_ms'): how often rule
 * 'sm->rule' (for 'sm->key', NULL: none) fired, for how long in all and at
 * the longest, and whether it was still firing at the end.
 */
int
emit_summary(struct emit *e, int64_t t_ms, const struct emit_summary *sm)
{
    struct buf *b = &e->out;
    int rc;

    rc = begin(e, "summary", t_ms);
    rc |= put_cstr(b, "rule", sm->rule);
    rc |= put_cstr(b, "metric", sm->metric);
    if (sm->key != NULL)
        rc |= put_cstr(b, "key", sm->key);
    if (sm->rarr != NULL)
        rc |= put_cstr(b, "rarr", sm->rarr);
    rc |= put_key(b, "firings") | buf_add_double(b, (double)sm->firings);
    rc |= put_dur(e, "firing", sm->total_ms);
    rc |= put_dur(e, "longest", sm->longest_ms);
    rc |= put_key(b, "firing_at_end") | buf_adds(b, sm->firing_at_end ? "true" : "false");
    rc |= buf_add(b, "}\n", 2);
    return rc ? -1 : 0;
}
