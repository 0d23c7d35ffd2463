/*
 * record.c -- one parsed line and its field values, between input and match.
 *
 * Rules name fields; the ruleset numbers them once at load time. A record
 * resolves a field the first time a rule asks for it in this line and caches
 * the value by number, so a JSON key is looked up once per line however many
 * rules read it. Named captures set by a metric's regexes shadow the format's
 * fields for the rest of that metric only; generation counters make clearing
 * both caches O(1) per line and per metric.
 */
#include "rarr/record.h"

#include <stdlib.h>
#include <string.h>

static const char *const clf_names[RECORD_NFIXED] = {
    [RECORD_F_LINE] = "line",       [RECORD_F_REMOTE_ADDR] = "remote_addr",
    [RECORD_F_IDENT] = "ident",     [RECORD_F_USER] = "user",
    [RECORD_F_TIME] = "time",       [RECORD_F_REQUEST] = "request",
    [RECORD_F_METHOD] = "method",   [RECORD_F_PATH] = "path",
    [RECORD_F_QUERY] = "query",     [RECORD_F_PROTOCOL] = "protocol",
    [RECORD_F_STATUS] = "status",   [RECORD_F_BYTES] = "bytes",
    [RECORD_F_REFERER] = "referer", [RECORD_F_USER_AGENT] = "user_agent",
    [RECORD_F_EXTRA] = "extra",     [RECORD_F_VHOST] = "vhost",
};

static const char *const format_names[RECORD_NFORMATS] = {
    [RECORD_AUTO] = "auto",           [RECORD_COMBINED] = "combined", [RECORD_COMMON] = "common",
    [RECORD_VCOMBINED] = "vcombined", [RECORD_JSON] = "json",         [RECORD_RAW] = "raw",
};

/* The name of a format ("combined"), as -f takes it. */
const char *
record_format_name(enum record_format fmt)
{
    return (unsigned)fmt < RECORD_NFORMATS ? format_names[fmt] : "?";
}

/* Read a format name as -f takes it into '*fmt'. Returns 0, or -1 for an unknown name. */
int
record_format_parse(const char *name, enum record_format *fmt)
{
    int i;

    for (i = 0; i < RECORD_NFORMATS; i++)
        if (strcmp(name, format_names[i]) == 0) {
            *fmt = (enum record_format)i;
            return 0;
        }
    return -1;
}

/* Whether lines of 'fmt' are web access log lines (their fields are CLF slots). */
int
record_format_is_clf(enum record_format fmt)
{
    return fmt == RECORD_COMBINED || fmt == RECORD_COMMON || fmt == RECORD_VCOMBINED;
}

/*
 * Whether lines of 'fmt' can have the CLF slot 'clf' (enum record_field; -1
 * for a name that is no CLF field). JSON can have any field, and so can a
 * format not yet detected; every format has 'line'.
 */
int
record_format_has_field(enum record_format fmt, int clf)
{
    if (fmt == RECORD_AUTO || fmt == RECORD_JSON || clf == RECORD_F_LINE)
        return 1;
    if (!record_format_is_clf(fmt) || clf < 0)
        return 0;
    if (clf == RECORD_F_VHOST)
        return fmt == RECORD_VCOMBINED;
    return fmt != RECORD_COMMON || (clf != RECORD_F_REFERER && clf != RECORD_F_USER_AGENT);
}

/* The CLF slot of a field name, or -1 when web logs have no such field. */
int
record_clf_field(const char *name)
{
    int i;

    for (i = 0; i < RECORD_NFIXED; i++)
        if (strcmp(name, clf_names[i]) == 0)
            return i;
    return -1;
}

/*
 * Prepare a record for a ruleset's field table 'fields' (borrowed; it must
 * outlive the record). Returns 0 or -1 on out-of-memory.
 */
int
record_init(struct record *r, const struct record_fieldref *fields, size_t nfields)
{
    size_t n = nfields ? nfields : 1;

    memset(r, 0, sizeof(*r));
    buf_init(&r->scratch);
    r->time_key_len = SIZE_MAX; /* nothing cached */
    r->fields = fields;
    r->nfields = nfields;
    r->base = calloc(n, sizeof(*r->base));
    r->cap = calloc(n, sizeof(*r->cap));
    r->base_gen = calloc(n, sizeof(*r->base_gen));
    r->cap_gen = calloc(n, sizeof(*r->cap_gen));
    if (r->base == NULL || r->cap == NULL || r->base_gen == NULL || r->cap_gen == NULL) {
        record_fini(r);
        return -1;
    }
    return 0;
}

/* Free what the record owns. */
void
record_fini(struct record *r)
{
    record_end(r);
    buf_fini(&r->scratch);
    free(r->members.v);
    free(r->nest.v);
    free(r->base);
    free(r->cap);
    free(r->base_gen);
    free(r->cap_gen);
    memset(r, 0, sizeof(*r));
}

static void
bump(uint32_t *gen, uint32_t *tags, size_t n)
{
    if (++*gen == 0) {
        memset(tags, 0, n * sizeof(*tags));
        *gen = 1;
    }
}

/*
 * Start a new line: borrow 'p' (until record_end), forget every cached value
 * and make room in the scratch buffer for everything a line can decode into
 * it (unescaped fields, numbers as text), so slices into it never move.
 * Returns 0 or -1 on out-of-memory.
 */
int
record_begin(struct record *r, enum record_format fmt, const char *p, size_t len)
{
    record_end(r);
    r->format = fmt;
    r->lookup = NULL;
    r->line = (struct slice){p, len};
    r->has_ts = 0;
    r->ts_ms = 0;
    r->tz_min = 0;
    r->clf[RECORD_F_LINE] = r->line; /* the other slots: set by the CLF parser */
    r->members.n = 0;
    r->is_json = 0;
    r->scratch.len = 0;
    if (buf_reserve(&r->scratch, len + 64 * r->nfields + 64) == -1)
        return -1;
    bump(&r->line_gen, r->base_gen, r->nfields);
    bump(&r->metric_gen, r->cap_gen, r->nfields);
    return 0;
}

/* Release what the line held (the JSON value). */
void
record_end(struct record *r)
{
    if (r->spill != NULL) {
        json_decref(r->spill);
        r->spill = NULL;
    }
}

/* Forget the captures of the previous metric. */
void
record_begin_metric(struct record *r)
{
    bump(&r->metric_gen, r->cap_gen, r->nfields);
}

/* Set the value of a named capture for the rest of this metric. */
void
record_set_capture(struct record *r, size_t field, const char *p, size_t len)
{
    r->cap[field] = (struct slice){p, len};
    r->cap_gen[field] = r->metric_gen;
}

/*
 * The value of field number 'field': a capture of this metric, else the
 * format's own field (found by the lookup its parser set); the empty string
 * when the record lacks it.
 * The slice is valid until the next record_begin().
 */
struct slice
record_get(struct record *r, size_t field)
{
    const struct record_fieldref *f = &r->fields[field];
    struct slice v = {"", 0};

    if (r->cap_gen[field] == r->metric_gen)
        return r->cap[field];
    if (r->base_gen[field] == r->line_gen)
        return r->base[field];
    if (f->clf == RECORD_F_LINE)
        v = r->line;
    else if (r->lookup != NULL)
        v = r->lookup(r, f);
    if (v.p == NULL)
        v.p = ""; /* a slot the parser did not set: still the empty string */
    r->base[field] = v;
    r->base_gen[field] = r->line_gen;
    return v;
}
