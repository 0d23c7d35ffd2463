/*
 * rules.c -- the ruleset model: what the rule files define, between the
 * parser (src/rules_parse.c), which builds it, and the stages that read it
 * (match, window, alert, detect, emit, state).
 *
 * The ruleset owns every string and array in it, the compiled regexes too:
 * rules_finish() resolves the names that ratios and alerts use, checks each
 * alert's window against the step and compiles every regex condition (with
 * the JIT where the platform has it), and rules_free() frees it all. Regexes
 * are compiled without options: they match bytes, with no UTF-8 checks
 * unless a rule opts in with (*UTF).
 *
 * Names of defines, metrics, fields and alerts' rules are found through hash
 * tables, so loading n rules costs O(n), not O(n^2). Errors are counted in
 * the ruleset as they are reported into the caller's struct diag
 * (rules_error), so that one run lists them all; a ruleset that had one is
 * only good for rules_free().
 */
#include "rarr/rules.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/keys.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const category_names[] = {[RULES_NONE] = "",
                                             [RULES_RETENTION] = "retention",
                                             [RULES_ACTIVATION] = "activation",
                                             [RULES_REVENUE] = "revenue",
                                             [RULES_REFERRAL] = "referral"};
static const char *const op_names[] = {
    [RULES_MATCH] = "~", [RULES_NOT_MATCH] = "!~", [RULES_EQUAL] = "="};
static const char *const season_names[] = {
    [RULES_SEASON_NONE] = "none", [RULES_SEASON_DAILY] = "daily", [RULES_SEASON_WEEKLY] = "weekly"};
static const char *const direction_names[] = {
    [RULES_BOTH] = "both", [RULES_DROP] = "drop", [RULES_SPIKE] = "spike"};

/* Entry 'i' of 'names' ('n' of them), or NULL when 'i' is out of range. */
static const char *
name_of(const char *const *names, size_t n, int i)
{
    return i >= 0 && (size_t)i < n ? names[i] : NULL;
}

/* The category as written in rules and records ("" for none); NULL past the last. */
const char *
rules_category_name(enum rules_category c)
{
    return name_of(category_names, NELEM(category_names), (int)c);
}

/* A condition's operator as written: "~", "!~" or "="; NULL past the last. */
const char *
rules_op_name(enum rules_op op)
{
    return name_of(op_names, NELEM(op_names), (int)op);
}

/* An anomaly rule's season= value: "none", "daily" or "weekly"; NULL past the last. */
const char *
rules_season_name(enum rules_season s)
{
    return name_of(season_names, NELEM(season_names), (int)s);
}

/* The option that gives metric 'm' its kind ("sum", "distinct", "p95", "max"), or NULL for a count.
 */
const char *
rules_kind_option(const struct rules_metric *m)
{
    static const struct {
        double q;
        const char *name;
    } qs[] = {{0.5, "p50"},  {0.9, "p90"},    {0.95, "p95"},
              {0.99, "p99"}, {0.999, "p999"}, {1, "max"}};
    size_t i;

    if (m->kind == RULES_SUM)
        return "sum";
    if (m->kind == RULES_DISTINCT)
        return "distinct";
    for (i = 0; m->kind == RULES_QUANTILE && i < sizeof(qs) / sizeof(qs[0]); i++)
        if (qs[i].q == m->q)
            return qs[i].name;
    return NULL;
}

/* An anomaly rule's direction= value: "both", "drop" or "spike"; NULL past the last. */
const char *
rules_direction_name(enum rules_direction dir)
{
    return name_of(direction_names, NELEM(direction_names), (int)dir);
}

/*
 * Report one error into 'd', at 'loc', with the source line 'src' ('srclen'
 * bytes, NULL for none) and a caret 'width' columns wide: the ruleset's
 * first error sets 'd', later ones are added. When 'd' is full the ruleset
 * stops reading. Every error of a ruleset, the parser's and rules_finish()'s,
 * goes through here so that they are counted. Returns -1.
 */
int
rules_error(struct ruleset *rs, struct diag *d, const struct rules_loc *loc, const char *src,
            size_t srclen, unsigned width, const char *msg)
{
    if (rs->nerrors++ == 0)
        diag_set(d, loc->file, loc->line, loc->col, "%s", msg);
    else if (diag_add(d, loc->file, loc->line, loc->col, "%s", msg) == -1)
        rs->stopped = 1;
    if (src != NULL)
        diag_source(d, src, srclen, width);
    return -1;
}

/*
 * Grow an array of 'size'-byte elements by one, zeroed; NULL on overflow or
 * OOM. The capacity is not stored: it is '*n' rounded up to a power of two,
 * so the array is reallocated, to twice its length, only when '*n' is a
 * power of two (or 0), and appending n elements copies O(n) bytes whatever
 * realloc does. Every array passed here must only ever have been grown here.
 */
static void *
grow(void *arr, size_t *n, size_t size)
{
    void *p = arr;
    size_t cap;

    if (arr == NULL || (*n & (*n - 1)) == 0) {
        cap = *n > 0 ? *n * 2 : 1;
        if (cap < *n || cap > SIZE_MAX / size)
            return NULL;
        if ((p = realloc(arr, cap * size)) == NULL)
            return NULL;
    }
    memset((char *)p + *n * size, 0, size);
    (*n)++;
    return p;
}

/*
 * A table from names to the index of their element in one of the ruleset's
 * arrays, so that looking a name up does not scan the array. Open
 * addressing with linear probing in a power-of-two number of slots, at most
 * half of them used. A slot points at the element's own copy of its name,
 * which stays where it is when the array is reallocated; the table owns
 * only its slots.
 */
struct name_slot {
    const char *name; /* NULL: the slot is empty */
    size_t len;
    size_t idx;
};

struct name_table {
    struct name_slot *slots;
    size_t size, used; /* size is 0 or a power of two */
};

/* The tables of a ruleset: names of defines, metrics, fields and alerts' rules. */
struct rules_names {
    struct name_table defines, metrics, fields, rules;
};

/* FNV-1a: short names, no adversary who gains from collisions beyond slowness. */
static size_t
name_hash(const char *p, size_t len)
{
    uint64_t h = 14695981039346656037u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211u;
    }
    return (size_t)(h ^ (h >> 32));
}

/* The slot holding 'len' bytes at 'p', or the empty slot where they would go. */
static struct name_slot *
table_slot(struct name_slot *slots, size_t size, const char *p, size_t len)
{
    size_t i = name_hash(p, len) & (size - 1);

    while (slots[i].name != NULL && !(slots[i].len == len && memcmp(slots[i].name, p, len) == 0))
        i = (i + 1) & (size - 1);
    return &slots[i];
}

/* The index entered for the name of 'len' bytes at 'p', or SIZE_MAX. */
static size_t
table_find(const struct name_table *t, const char *p, size_t len)
{
    const struct name_slot *s;

    if (t->size == 0)
        return SIZE_MAX;
    s = table_slot(t->slots, t->size, p, len);
    return s->name != NULL ? s->idx : SIZE_MAX;
}

/* Double the number of slots (64 at first). Returns -1 on overflow or OOM. */
static int
table_grow(struct name_table *t)
{
    size_t size = t->size > 0 ? t->size * 2 : 64, i;
    struct name_slot *slots;

    if (size < t->size || (slots = calloc(size, sizeof(*slots))) == NULL)
        return -1;
    for (i = 0; i < t->size; i++)
        if (t->slots[i].name != NULL)
            *table_slot(slots, size, t->slots[i].name, t->slots[i].len) = t->slots[i];
    free(t->slots);
    t->slots = slots;
    t->size = size;
    return 0;
}

/*
 * Enter 'name' ('len' bytes, owned by element 'idx') unless the name is
 * entered already: the first element of a name is the one found, as a scan
 * of the array would find it. Returns -1 on out-of-memory.
 */
static int
table_add(struct name_table *t, const char *name, size_t len, size_t idx)
{
    struct name_slot *s;

    if (t->used + 1 > t->size / 2 && table_grow(t) == -1)
        return -1;
    s = table_slot(t->slots, t->size, name, len);
    if (s->name == NULL) {
        *s = (struct name_slot){name, len, idx};
        t->used++;
    }
    return 0;
}

/* Make an empty ruleset. Returns NULL on out-of-memory. */
struct ruleset *
rules_new(void)
{
    struct ruleset *rs = calloc(1, sizeof(struct ruleset));

    if (rs != NULL && (rs->names = calloc(1, sizeof(*rs->names))) == NULL) {
        free(rs);
        return NULL;
    }
    return rs;
}

/* Free the name tables (not the names: the elements own them). Does nothing if 'n' is NULL. */
static void
names_free(struct rules_names *n)
{
    if (n == NULL)
        return;
    free(n->defines.slots);
    free(n->metrics.slots);
    free(n->fields.slots);
    free(n->rules.slots);
    free(n);
}

/* Free what an alert owns. */
static void
alert_fini(struct rules_alert *a)
{
    size_t j;

    free(a->metric_name);
    free(a->rule);
    free(a->srcline);
    free(a->summary);
    free(a->runbook);
    for (j = 0; j < a->nlabels; j++) {
        free(a->labels[j].name);
        free(a->labels[j].value);
    }
    free(a->labels);
}

/* Hash the metrics' names and the alerts' rules again (their arrays changed). */
static int
rehash(struct ruleset *rs)
{
    struct rules_names *n = rs->names;
    size_t i;
    int rc = 0;

    free(n->metrics.slots);
    free(n->rules.slots);
    memset(&n->metrics, 0, sizeof(n->metrics));
    memset(&n->rules, 0, sizeof(n->rules));
    for (i = 0; i < rs->nmetrics && rc == 0; i++)
        rc = table_add(&n->metrics, rs->metrics[i].name, strlen(rs->metrics[i].name), i);
    for (i = 0; i < rs->nalerts && rc == 0; i++)
        rc = table_add(&n->rules, rs->alerts[i].rule, strlen(rs->alerts[i].rule), i);
    return rc;
}

/* Free what a metric owns: its conditions (compiled regexes included) and strings. */
static void
metric_fini(struct rules_metric *m)
{
    size_t j;

    for (j = 0; j < m->nconds; j++) {
        free(m->conds[j].text);
        free(m->conds[j].srcline);
        free(m->conds[j].groups);
        pcre2_code_free(m->conds[j].re);
    }
    free(m->conds);
    free(m->name);
    free(m->a_name);
    free(m->b_name);
    free(m->srcline);
}

/* Free the field table and each field's JSON key path. */
static void
fields_free(struct record_fieldref *fields, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < fields[i].npath; j++)
            free(fields[i].path[j]);
        free(fields[i].path);
        free(fields[i].name);
    }
    free(fields);
}

/* Free a ruleset and everything it owns. Does nothing if 'rs' is NULL. */
void
rules_free(struct ruleset *rs)
{
    size_t i;

    if (rs == NULL)
        return;
    for (i = 0; i < rs->nfiles; i++)
        free(rs->files[i]);
    free(rs->files);
    for (i = 0; i < rs->ndefines; i++) {
        free(rs->defines[i].name);
        free(rs->defines[i].text);
    }
    free(rs->defines);
    for (i = 0; i < rs->nmetrics; i++)
        metric_fini(&rs->metrics[i]);
    free(rs->metrics);
    for (i = 0; i < rs->nalerts; i++)
        alert_fini(&rs->alerts[i]);
    free(rs->alerts);
    fields_free(rs->fields, rs->nfields);
    names_free(rs->names);
    free(rs);
}

/*
 * Keep only the metrics 'keep' marks (a ratio's operands must be kept with
 * it) and the alerts on them, in their order: --shard. The names are
 * hashed again. Returns 0, or -1 on out-of-memory (the set is then unusable).
 */
int
rules_keep(struct ruleset *rs, const unsigned char *keep)
{
    size_t *to = calloc(rs->nmetrics + 1, sizeof(*to)), i, n = 0;
    struct rules_alert *kept;

    if (to == NULL)
        return -1;
    for (i = 0; i < rs->nmetrics; i++) {
        if (!keep[i]) {
            metric_fini(&rs->metrics[i]);
            to[i] = SIZE_MAX;
            continue;
        }
        to[i] = n;
        rs->metrics[n++] = rs->metrics[i];
    }
    rs->nmetrics = n;
    for (i = 0; i < n; i++)
        if (rs->metrics[i].kind == RULES_RATIO) {
            rs->metrics[i].a = to[rs->metrics[i].a];
            rs->metrics[i].b = to[rs->metrics[i].b];
        }
    if ((kept = calloc(rs->nalerts + 1, sizeof(*kept))) == NULL) {
        free(to);
        return -1;
    }
    for (i = n = 0; i < rs->nalerts; i++) {
        if (to[rs->alerts[i].metric] == SIZE_MAX) {
            alert_fini(&rs->alerts[i]);
            continue;
        }
        kept[n] = rs->alerts[i];
        kept[n++].metric = to[rs->alerts[i].metric];
    }
    free(rs->alerts);
    rs->alerts = kept;
    rs->nalerts = n;
    free(to);
    return rehash(rs);
}

/*
 * The number of field 'name' in the ruleset's field table, adding it (with
 * its CLF slot and JSON key path) the first time. SIZE_MAX on out-of-memory.
 */
size_t
rules_field(struct ruleset *rs, const char *name)
{
    struct record_fieldref *f, *arr;
    const char *p, *dot;
    size_t i;

    if ((i = table_find(&rs->names->fields, name, strlen(name))) != SIZE_MAX)
        return i;
    if ((arr = grow(rs->fields, &rs->nfields, sizeof(*arr))) == NULL)
        return SIZE_MAX;
    rs->fields = arr;
    f = &arr[rs->nfields - 1];
    f->clf = record_clf_field(name);
    if ((f->name = strdup(name)) == NULL ||
        table_add(&rs->names->fields, f->name, strlen(f->name), rs->nfields - 1) == -1)
        return SIZE_MAX; /* the half-made entry is left for rules_free */
    for (p = name;; p = dot + 1) {
        char **path;

        dot = strchr(p, '.');
        if ((path = grow(f->path, &f->npath, sizeof(*path))) == NULL)
            return SIZE_MAX;
        f->path = path;
        if ((path[f->npath - 1] = strndup(p, dot ? (size_t)(dot - p) : strlen(p))) == NULL)
            return SIZE_MAX;
        if (dot == NULL)
            break;
    }
    return rs->nfields - 1;
}

/* Find a metric or ratio by name. Returns 0 with '*out' set, or -1. */
int
rules_lookup_metric(const struct ruleset *rs, const char *name, size_t *out)
{
    size_t i = table_find(&rs->names->metrics, name, strlen(name));

    if (i == SIZE_MAX)
        return -1;
    *out = i;
    return 0;
}

/*
 * Keep a copy of 'file', the name of a text about to be parsed: the
 * locations of its rules point at the copy until rules_free(). Returns the
 * copy, or NULL on out-of-memory.
 */
const char *
rules_add_file(struct ruleset *rs, const char *file)
{
    char **files;

    if ((files = grow(rs->files, &rs->nfiles, sizeof(*files))) == NULL)
        return NULL;
    rs->files = files;
    return files[rs->nfiles - 1] = strdup(file);
}

/*
 * Add a define named by 'len' bytes at 'name' (no NUL among them), taking
 * over 'text', its expansion (NULL: it was too long). The caller has
 * checked that no define has the name. Returns the define, or NULL on
 * out-of-memory ('text' is then freed, or owned by a half-made define).
 */
struct rules_define *
rules_add_define(struct ruleset *rs, const char *name, size_t len, char *text)
{
    struct rules_define *d;

    if ((d = grow(rs->defines, &rs->ndefines, sizeof(*d))) == NULL) {
        free(text);
        return NULL;
    }
    rs->defines = d;
    d = &d[rs->ndefines - 1];
    d->text = text;
    if ((d->name = strndup(name, len)) == NULL ||
        table_add(&rs->names->defines, d->name, len, rs->ndefines - 1) == -1)
        return NULL;
    return d;
}

/*
 * Add a metric (a count until the caller says otherwise) named by 'len'
 * bytes at 'name', defined at 'loc' on the line 'src' ('srclen' bytes,
 * copied for error carets). The caller has checked that no metric has the
 * name. Returns the zeroed metric, or NULL on out-of-memory.
 */
struct rules_metric *
rules_add_metric(struct ruleset *rs, const char *name, size_t len, const struct rules_loc *loc,
                 const char *src, size_t srclen)
{
    struct rules_metric *m;

    if ((m = grow(rs->metrics, &rs->nmetrics, sizeof(*m))) == NULL)
        return NULL;
    rs->metrics = m;
    m = &m[rs->nmetrics - 1];
    m->loc = *loc;
    m->by_field = SIZE_MAX;
    m->max_keys = KEYS_DEFAULT;
    m->name = strndup(name, len);
    m->srcline = strndup(src, srclen);
    if (m->name == NULL || m->srcline == NULL ||
        table_add(&rs->names->metrics, m->name, len, rs->nmetrics - 1) == -1)
        return NULL;
    return m;
}

/* Add a zeroed condition to metric 'm'. Returns it, or NULL on out-of-memory. */
struct rules_cond *
rules_add_cond(struct rules_metric *m)
{
    struct rules_cond *c;

    if ((c = grow(m->conds, &m->nconds, sizeof(*c))) == NULL)
        return NULL;
    m->conds = c;
    return &c[m->nconds - 1];
}

/*
 * Add an alert on the metric named by 'len' bytes at 'metric', written at
 * 'loc' on the line 'src' ('srclen' bytes, copied). Its name is entered by
 * rules_name_alert() once it has one. Returns the otherwise zeroed alert,
 * or NULL on out-of-memory.
 */
struct rules_alert *
rules_add_alert(struct ruleset *rs, const char *metric, size_t len, const struct rules_loc *loc,
                const char *src, size_t srclen)
{
    struct rules_alert *a;

    if ((a = grow(rs->alerts, &rs->nalerts, sizeof(*a))) == NULL)
        return NULL;
    rs->alerts = a;
    a = &a[rs->nalerts - 1];
    a->loc = *loc;
    if ((a->metric_name = strndup(metric, len)) == NULL ||
        (a->srcline = strndup(src, srclen)) == NULL)
        return NULL;
    return a;
}

/*
 * Enter the rule name of alert 'i' so that rules_find_alert() finds it
 * (an alert without one yet is left out). A name is entered once: the
 * first alert of a name is the one found. Returns -1 on out-of-memory.
 */
int
rules_name_alert(struct ruleset *rs, size_t i)
{
    const char *rule = rs->alerts[i].rule;

    if (rule == NULL)
        return 0;
    return table_add(&rs->names->rules, rule, strlen(rule), i);
}

/* The define named by 'len' bytes at 'name', or NULL. */
const struct rules_define *
rules_find_define(const struct ruleset *rs, const char *name, size_t len)
{
    size_t i = table_find(&rs->names->defines, name, len);

    return i != SIZE_MAX ? &rs->defines[i] : NULL;
}

/* The metric or ratio named by 'len' bytes at 'name', or NULL. */
const struct rules_metric *
rules_find_metric(const struct ruleset *rs, const char *name, size_t len)
{
    size_t i = table_find(&rs->names->metrics, name, len);

    return i != SIZE_MAX ? &rs->metrics[i] : NULL;
}

/* The first alert whose rule name rules_name_alert() entered as 'rule', or NULL. */
const struct rules_alert *
rules_find_alert(const struct ruleset *rs, const char *rule)
{
    size_t i = table_find(&rs->names->rules, rule, strlen(rule));

    return i != SIZE_MAX ? &rs->alerts[i] : NULL;
}

static int fail_at(struct ruleset *rs, struct diag *d, const struct rules_loc *loc,
                   const char *srcline, unsigned width, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Report an error found after parsing, at 'loc' of the saved line 'srcline'. */
static int
fail_at(struct ruleset *rs, struct diag *d, const struct rules_loc *loc, const char *srcline,
        unsigned width, const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof(d->msg)];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return rules_error(rs, d, loc, srcline, strlen(srcline), width, msg);
}

/* The metric name nearest to 'name', for "did you mean"; NULL if none is. */
static const char *
nearest_metric(const struct ruleset *rs, const char *name)
{
    const char **names = malloc((rs->nmetrics + 1) * sizeof(*names)), *near;
    size_t i, n = 0;

    if (names == NULL)
        return NULL;
    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].name != NULL)
            names[n++] = rs->metrics[i].name;
    near = diag_nearest(name, names, n);
    free(names);
    return near;
}

const char *const rules_summary_words[] = {"value", "threshold", "window",    "metric",
                                           "key",   "rule",      "state",     "expected",
                                           "lower", "upper",     "direction", NULL};

/* Resolve the metric 'name' used at 'loc' into '*out'; 'want_plain': not a ratio. */
static int
resolve(struct ruleset *rs, const char *name, const struct rules_loc *loc, const char *srcline,
        int want_plain, size_t *out, struct diag *d)
{
    const char *near;
    unsigned width = (unsigned)strlen(name);

    if (rules_lookup_metric(rs, name, out) == -1) {
        if ((near = nearest_metric(rs, name)) != NULL)
            return fail_at(rs, d, loc, srcline, width, "undefined metric '%s' (did you mean '%s'?)",
                           name, near);
        return fail_at(rs, d, loc, srcline, width,
                       "undefined metric '%s' (metric and ratio lines define names)", name);
    }
    if (want_plain && rs->metrics[*out].kind == RULES_RATIO)
        return fail_at(rs, d, loc, srcline, width, "'%s' is a ratio; a ratio divides two metrics",
                       name);
    return 0;
}

/* Whether metric 'm' is a count or sum: what ratios and anomaly rules read. */
static int
additive(const struct rules_metric *m)
{
    return m->kind == RULES_COUNT || m->kind == RULES_SUM;
}

/*
 * Why a ratio of 'a' over 'b' cannot be, or NULL: both are counts or sums,
 * and per key only a by= numerator over a by= denominator on the same field
 * (key by key) or over a plain one (each key over the total).
 */
static const char *
ratio_refusal(const struct ruleset *rs, const struct rules_metric *a, const struct rules_metric *b,
              char *msg, size_t size)
{
    if (!additive(a) || !additive(b))
        return "a ratio of a distinct= or quantile metric is not supported by this version of "
               "rarr (ratios divide counts and sums)";
    if (a->by_field == SIZE_MAX && b->by_field != SIZE_MAX)
        return "a ratio of a metric without by= over a by= metric is not supported (a by= "
               "metric over a plain one gives each key over the total)";
    if (a->by_field == SIZE_MAX || b->by_field == SIZE_MAX)
        return NULL;
    if (a->by_field != b->by_field)
        snprintf(msg, size,
                 "a ratio of two by= metrics needs one by= field: '%s' has by=%s, '%s' by=%s",
                 a->name, rs->fields[a->by_field].name, b->name, rs->fields[b->by_field].name);
    else if (a->max_keys != b->max_keys)
        snprintf(msg, size,
                 "a ratio of two by= metrics needs one max_keys (they share their keys): '%s' has "
                 "%zu, '%s' %zu",
                 a->name, a->max_keys, b->name, b->max_keys);
    else
        return NULL;
    return msg;
}

/* Resolve a ratio's operands; it takes their category when it has none. */
static void
finish_ratio(struct ruleset *rs, struct rules_metric *m, struct diag *d)
{
    struct rules_loc loc = m->loc;
    const char *why;
    char msg[512];
    int a, b;

    if (m->a_name == NULL || m->b_name == NULL)
        return; /* its line had an error */
    loc.col = m->a_col;
    a = resolve(rs, m->a_name, &loc, m->srcline, 1, &m->a, d);
    loc.col = m->b_col;
    b = resolve(rs, m->b_name, &loc, m->srcline, 1, &m->b, d);
    if (a != 0 || b != 0)
        return;
    why = ratio_refusal(rs, &rs->metrics[m->a], &rs->metrics[m->b], msg, sizeof(msg));
    if (why != NULL) {
        loc.col = additive(&rs->metrics[m->a]) ? m->b_col : m->a_col;
        fail_at(rs, d, &loc, m->srcline, 1, "%s", why);
        return;
    }
    if (m->category == RULES_NONE)
        m->category = rs->metrics[m->a].category != RULES_NONE ? rs->metrics[m->a].category
                                                               : rs->metrics[m->b].category;
}

/* The by= metric whose keys metric 'i' has (itself, or a ratio's numerator), or SIZE_MAX. */
size_t
rules_keyed_metric(const struct ruleset *rs, size_t i)
{
    const struct rules_metric *m = &rs->metrics[i];

    if (m->kind == RULES_RATIO)
        return m->a < rs->nmetrics && rs->metrics[m->a].by_field != SIZE_MAX ? m->a : SIZE_MAX;
    return m->by_field != SIZE_MAX ? i : SIZE_MAX;
}

/* Resolve an alert's metric; its window and for= are whole numbers of steps. */
static void
finish_alert(struct ruleset *rs, struct rules_alert *a, int64_t step_ms, struct diag *d)
{
    char v[RARR_DUR_MAX], s[RARR_DUR_MAX];

    size_t keyed;

    if (resolve(rs, a->metric_name, &a->loc, a->srcline, 0, &a->metric, d) == 0 && a->anomaly) {
        keyed = rules_keyed_metric(rs, a->metric);
        if (rs->metrics[a->metric].kind != RULES_RATIO && !additive(&rs->metrics[a->metric]))
            fail_at(rs, d, &a->loc, a->srcline, 1,
                    "an anomaly rule on a distinct= or quantile metric is not supported by this "
                    "version of rarr (threshold alerts are)");
        else if (keyed != SIZE_MAX && rs->metrics[keyed].max_keys > RULES_ANOMALY_KEYS_MAX)
            fail_at(rs, d, &a->loc, a->srcline, 1,
                    "an anomaly rule keeps a detector of about 38 KB per key: '%s' has "
                    "max_keys=%zu, at most %d here",
                    rs->metrics[keyed].name, rs->metrics[keyed].max_keys, RULES_ANOMALY_KEYS_MAX);
    }
    if (step_ms <= 0)
        return;
    clock_format_duration(step_ms, s);
    if (a->window_ms % step_ms != 0) {
        clock_format_duration(a->window_ms, v);
        fail_at(rs, d, &a->window_loc, a->srcline, a->window_width,
                "window %s is not a whole number of steps (--step is %s)", v, s);
    }
    /*
     * A wait shorter than one step waits one step: the built-in rules' for=5m
     * stays good with --step 15m. Longer, it must be whole steps (2m30s with
     * --step 1m would wait 3m).
     */
    if (a->for_ms > step_ms && a->for_ms % step_ms != 0) {
        clock_format_duration(a->for_ms, v);
        fail_at(rs, d, &a->for_loc, a->srcline, a->for_width,
                "for %s is not a whole number of steps (--step is %s)", v, s);
    }
}

/*
 * The literal bytes a regex "^abc..." requires at the start of every match:
 * after the '^', the bytes up to the first character with a meaning (a
 * quantifier takes the byte before it along), when no '|' outside groups and
 * classes offers another way to match. 0 when there is no such prefix, or
 * the pattern has anything that makes it hard to be sure.
 * The matcher rejects subjects that lack it without running PCRE2.
 */
static size_t
literal_prefix(const char *t, size_t len)
{
    size_t i, n, depth = 0;

    /* Quoted runs, comments and extended mode could hide a '|' from the scan below. */
    if (len < 2 || t[0] != '^' || memchr(t, '#', len) != NULL)
        return 0;
    for (i = 0; i + 1 < len; i++)
        if (t[i] == '\\' && t[i + 1] == 'Q')
            return 0;
    for (i = 0; i < len; i++) {
        if (t[i] == '\\') {
            i++;
        } else if (t[i] == '[') {
            /* A class: no '|' or group inside counts; a ']' first in it is a member. */
            i++;
            if (i < len && t[i] == '^')
                i++;
            if (i < len && t[i] == ']')
                i++;
            for (; i < len && t[i] != ']'; i++)
                if (t[i] == '\\')
                    i++;
        } else if (t[i] == '(') {
            depth++;
        } else if (t[i] == ')' && depth > 0) {
            depth--;
        } else if (t[i] == '|' && depth == 0) {
            return 0;
        }
    }
    for (n = 1; n < len && strchr("\\^$.|?*+()[]{}", t[n]) == NULL; n++)
        ;
    if (n < len && strchr("?*+{", t[n]) != NULL)
        n--;
    return n - 1;
}

/*
 * What PCRE2 knows of every match of an anchored regex (^[45], ^(GET|POST) ):
 * the bytes it can begin with and its shortest length, so the matcher
 * turns a subject down without running it (not for (*UTF), whose subjects
 * PCRE2 checks for valid UTF-8 first).
 */
static void
first_bytes(struct rules_cond *c, uint32_t opts)
{
    const uint8_t *map = NULL;
    uint32_t minlen = 0;

    c->has_first = 0;
    c->minlen = 0;
    if (!(opts & PCRE2_ANCHORED) || (opts & PCRE2_UTF))
        return;
    if (pcre2_pattern_info(c->re, PCRE2_INFO_MINLENGTH, &minlen) == 0)
        c->minlen = minlen;
    if (pcre2_pattern_info(c->re, PCRE2_INFO_FIRSTBITMAP, &map) == 0 && map != NULL) {
        memcpy(c->first, map, sizeof(c->first));
        c->has_first = 1;
    }
}

/*
 * Map the named groups of condition 'c''s compiled regex to fields (entered
 * in the field table, marked as captured). Returns -1 on out-of-memory.
 */
static int
cond_groups(struct ruleset *rs, struct rules_cond *c)
{
    uint32_t count, size, i, groups;
    PCRE2_SPTR table;

    pcre2_pattern_info(c->re, PCRE2_INFO_CAPTURECOUNT, &groups);
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMETABLE, &table);
    c->ngroups = groups + 1;
    if (count == 0)
        return 0;
    if ((c->groups = malloc(c->ngroups * sizeof(*c->groups))) == NULL)
        return -1;
    for (i = 0; i < c->ngroups; i++)
        c->groups[i] = UINT32_MAX;
    for (i = 0; i < count; i++) {
        PCRE2_SPTR e = table + (size_t)i * size;
        uint32_t g = ((uint32_t)e[0] << 8) | e[1];
        size_t f = rules_field(rs, (const char *)e + 2);

        if (f == SIZE_MAX)
            return -1;
        c->groups[g] = (uint32_t)f;
        rs->fields[f].captured = 1;
    }
    return 0;
}

/* Compile the regex of condition 'c' for good. Returns 0, or -1 with 'd' set. */
static int
compile_cond(struct ruleset *rs, struct rules_cond *c, struct diag *d)
{
    int err;
    PCRE2_SIZE off;
    size_t jit_size = 0;
    uint32_t opts;

    c->re = pcre2_compile((PCRE2_SPTR)c->text, c->len, 0, &err, &off, NULL);
    if (c->re == NULL) {
        PCRE2_UCHAR msg[256];
        unsigned col = c->loc.col;

        pcre2_get_error_message(err, msg, sizeof(msg));
        /* Point into the regex when the offset is in text the user wrote. */
        if (off <= c->literal_len)
            col += (unsigned)off;
        diag_set(d, c->loc.file, c->loc.line, col, "bad regex: %s (at offset %zu of '%s')",
                 (const char *)msg, (size_t)off, c->text);
        diag_source(d, c->srcline, strlen(c->srcline), 1);
        return -1;
    }
    /*
     * Without the JIT, pcre2_match interprets: slower, the same results. The
     * JIT is used only where it made code: pcre2_jit_compile succeeds without
     * any for (*NO_JIT), and pcre2_jit_match then fails on every subject.
     * pcre2_jit_match also skips pcre2_match's checks, the UTF-8 validity of
     * the subject among them: a (*UTF) regex keeps pcre2_match, which reports
     * an invalid subject as an error instead of undefined behaviour.
     */
    pcre2_pattern_info(c->re, PCRE2_INFO_ALLOPTIONS, &opts);
    c->jit = pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE) == 0 &&
             pcre2_pattern_info(c->re, PCRE2_INFO_JITSIZE, &jit_size) == 0 && jit_size > 0 &&
             !(opts & PCRE2_UTF);
    c->prefix_len = opts & (PCRE2_CASELESS | PCRE2_EXTENDED | PCRE2_MULTILINE | PCRE2_UTF)
                        ? 0
                        : literal_prefix(c->text, c->len);
    first_bytes(c, opts);
    if (cond_groups(rs, c) == -1) {
        diag_set(d, c->loc.file, c->loc.line, 0, "out of memory");
        return -1;
    }
    return 0;
}

/*
 * Compile every regex condition of the ruleset; named groups are entered in
 * the field table. Returns 0, or -1 with 'd' naming the rule, PCRE2's
 * message and the column of the error.
 */
static int
compile_regexes(struct ruleset *rs, struct diag *d)
{
    size_t i, j;

    for (i = 0; i < rs->nmetrics; i++) {
        struct rules_metric *m = &rs->metrics[i];

        for (j = 0; j < m->nconds; j++)
            if (m->conds[j].op != RULES_EQUAL && m->conds[j].re == NULL &&
                compile_cond(rs, &m->conds[j], d) == -1)
                return -1;
    }
    return 0;
}

/*
 * Finish a ruleset once every file is parsed: resolve the names ratios and
 * alerts use, check every alert's window and for= against the evaluation
 * step (each a whole number of steps) and compile the regexes. Its errors
 * are added to those parsing reported into 'd' (also after a parse error,
 * so that one run shows them all), and 'd' is sorted into file order.
 * Returns 0, or -1 when the ruleset had any error (then nothing is
 * compiled).
 */
int
rules_finish(struct ruleset *rs, int64_t step_ms, struct diag *d)
{
    size_t i;

    if (rs->stopped)
        return -1;
    for (i = 0; i < rs->nmetrics && !rs->stopped; i++)
        if (rs->metrics[i].kind == RULES_RATIO)
            finish_ratio(rs, &rs->metrics[i], d);
    for (i = 0; i < rs->nalerts && !rs->stopped; i++)
        finish_alert(rs, &rs->alerts[i], step_ms, d);
    if (rs->nerrors > 0) {
        diag_sort(d, (const char *const *)rs->files, rs->nfiles);
        return -1;
    }
    return compile_regexes(rs, d);
}

/* Print 'key' and 'v' in the shortest form that reads back to the same number. */
static void
put_number(FILE *fp, const char *key, double v)
{
    struct buf b;

    buf_init(&b);
    buf_add_double(&b, v);
    fprintf(fp, "%s%s", key, buf_cstr(&b));
    buf_fini(&b);
}

/* Print " key=DUR" with 'ms' as a duration like 1h30m. */
static void
put_duration(FILE *fp, const char *key, int64_t ms)
{
    char dur[RARR_DUR_MAX];

    clock_format_duration(ms, dur);
    fprintf(fp, " %s=%s", key, dur);
}

/*
 * A condition's value in single quotes. In a regex, the expansion of a
 * define may hold "%{", which read back would be taken for a reference:
 * it is written "%\{" (the same regex).
 */
static void
put_value(FILE *fp, const struct rules_cond *c)
{
    size_t i;

    fputc('\'', fp);
    for (i = 0; i < c->len; i++) {
        fputc(c->text[i], fp);
        if (c->op != RULES_EQUAL && c->text[i] == '%' && i + 1 < c->len && c->text[i + 1] == '{')
            fputc('\\', fp);
    }
    fputc('\'', fp);
}

/* One metric or ratio as a rule line for --check. */
static void
describe_metric(const struct ruleset *rs, const struct rules_metric *m, FILE *fp)
{
    size_t j;

    if (m->kind == RULES_RATIO) {
        fprintf(fp, "ratio  %s = %s / %s", m->name, m->a_name, m->b_name);
        put_number(fp, " * ", m->k);
        put_number(fp, " min=", m->min);
    } else {
        fprintf(fp, "metric %s", m->name);
    }
    if (m->category != RULES_NONE)
        fprintf(fp, " rarr=%s", rules_category_name(m->category));
    for (j = 0; j < m->nconds; j++) {
        fprintf(fp, " %s%s", rs->fields[m->conds[j].field].name, rules_op_name(m->conds[j].op));
        put_value(fp, &m->conds[j]);
    }
    if (rules_kind_option(m) != NULL)
        fprintf(fp, " %s=%s", rules_kind_option(m), rs->fields[m->value_field].name);
    if (m->by_field != SIZE_MAX)
        fprintf(fp, " by=%s max_keys=%zu", rs->fields[m->by_field].name, m->max_keys);
    fprintf(fp, "  # %s:%u\n", m->loc.file, m->loc.line);
}

/* One alert or anomaly rule as a rule line for --check, every default written out. */
static void
describe_alert(const struct rules_alert *a, FILE *fp)
{
    size_t j;

    if (a->anomaly) {
        fprintf(fp, "anomaly %s", a->metric_name);
        put_duration(fp, "window", a->window_ms);
        fprintf(fp, " season=%s direction=%s sensitivity=%s", rules_season_name(a->season),
                rules_direction_name(a->direction),
                a->far < 0.05  ? "low"
                : a->far < 0.5 ? "medium"
                               : "high");
        if (a->min_given)
            put_number(fp, " min=", a->min);
        put_duration(fp, "for", a->for_ms);
    } else {
        fprintf(fp, "alert  %s", a->metric_name);
        put_duration(fp, "window", a->window_ms);
        put_number(fp, a->above ? " above=" : " below=", a->threshold);
        put_duration(fp, "for", a->for_ms);
        put_number(fp, " clear=", a->clear);
    }
    fprintf(fp, " name='%s'", a->rule);
    for (j = 0; j < a->nlabels; j++)
        fprintf(fp, " label.%s='%s'", a->labels[j].name, a->labels[j].value);
    if (a->summary != NULL)
        fprintf(fp, " summary='%s'", a->summary);
    if (a->runbook != NULL)
        fprintf(fp, " runbook='%s'", a->runbook);
    fprintf(fp, "  # %s:%u", a->loc.file, a->loc.line);
    if (a->anomaly && !a->min_given) {
        put_number(fp, "; by default spikes need ", a->min);
        fputs(" events, drops none", fp);
    }
    fputc('\n', fp);
}

/*
 * Print what the rules define, for --check, as a rule file: one line per
 * metric, ratio, alert and anomaly rule, defines expanded and defaults
 * written out, each with a comment saying where it was defined. Loaded
 * again, the output defines the same rules (and prints the same but for
 * those comments).
 */
void
rules_describe(const struct ruleset *rs, FILE *fp)
{
    size_t i;

    for (i = 0; i < rs->nmetrics; i++)
        describe_metric(rs, &rs->metrics[i], fp);
    for (i = 0; i < rs->nalerts; i++)
        describe_alert(&rs->alerts[i], fp);
}

/* Whether a regex of metric 'm' has a named group for field 'f' (it sets the field for 'm'). */
static int
captures(const struct rules_metric *m, size_t f)
{
    size_t j;
    uint32_t g;

    for (j = 0; j < m->nconds; j++)
        for (g = 1; m->conds[j].groups != NULL && g < m->conds[j].ngroups; g++)
            if (m->conds[j].groups[g] == f)
                return 1;
    return 0;
}

/* The field of web logs of 'fmt' nearest to 'name', for "did you mean"; NULL if none is. */
static const char *
nearest_field(enum record_format fmt, const char *name)
{
    static const char *const names[] = {
        "line",  "remote_addr", "ident",  "user",  "time",    "request",    "method", "path",
        "query", "protocol",    "status", "bytes", "referer", "user_agent", "extra",  "vhost"};
    const char *have[NELEM(names)];
    size_t i, n = 0;

    for (i = 0; i < NELEM(names); i++)
        if (record_format_has_field(fmt, record_clf_field(names[i])))
            have[n++] = names[i];
    return diag_nearest(name, have, n);
}

/* Warn once about field 'f' that metric 'm' reads at 'loc', if lines of 'fmt' lack it. */
static int
warn_field(const struct ruleset *rs, const struct rules_metric *m, size_t f,
           const struct rules_loc *loc, enum record_format fmt, FILE *fp, unsigned char *warned)
{
    const struct record_fieldref *ref = &rs->fields[f];
    const char *near;

    if (warned[f] || record_format_has_field(fmt, ref->clf) || captures(m, f))
        return 0;
    warned[f] = 1;
    near = nearest_field(fmt, ref->name);
    fprintf(fp, "rarr: %s:%u: warning: %s lines have no field '%s'; it reads as empty%s%s%s\n",
            loc->file, loc->line, record_format_name(fmt), ref->name,
            near != NULL ? " (did you mean '" : "", near != NULL ? near : "",
            near != NULL ? "'?)" : "");
    return 1;
}

/*
 * Warn about every field the rules read (in conditions and sum=) that lines
 * of format 'fmt' cannot have: not an error, they read as empty. One warning
 * per field, at its first use, with "did you mean" when a field of that
 * format is close; a named group of the same metric is a field. Nothing is
 * known of JSON (or of a format not yet detected). Call after
 * rules_finish(), with -f or once the format is detected. Returns the
 * number of warnings.
 */
int
rules_warn_fields(const struct ruleset *rs, enum record_format fmt, FILE *fp)
{
    unsigned char *warned;
    size_t i, j;
    int n = 0;

    if (fmt == RECORD_AUTO || fmt == RECORD_JSON || rs->nfields == 0)
        return 0;
    if ((warned = calloc(rs->nfields, 1)) == NULL)
        return 0;
    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];

        for (j = 0; j < m->nconds; j++)
            n += warn_field(rs, m, m->conds[j].field, &m->conds[j].loc, fmt, fp, warned);
        if (rules_kind_option(m) != NULL)
            n += warn_field(rs, m, m->value_field, &m->loc, fmt, fp, warned);
        if (m->by_field != SIZE_MAX)
            n += warn_field(rs, m, m->by_field, &m->loc, fmt, fp, warned);
    }
    free(warned);
    return n;
}
