/*
 * report.c -- the HTML replay report (--report FILE): one self-contained page
 * with a chart per metric (its value per step) and per alert (its window value,
 * the threshold, and the firing spans marked), plus the list of events. A
 * metric with keys (by=) gets a chart per key for its REPORT_KEYS keys with
 * the most (not KEYS_OTHER's: the metric's chart has the whole): the report
 * follows REPORT_FOLLOW keys a metric, and a key that comes when they are
 * all followed takes the place of the one with the least so far, and its
 * count (Space-Saving: a key with more than 1/REPORT_FOLLOW of the metric is
 * always followed). Keys are ranked by what they had while followed.
 *
 * It sits beside emit: the pipeline hands it every evaluated step and every
 * event. Memory grows with the number of steps replayed (one double per
 * metric, alert and followed key per step), not with the number of lines; charts are
 * reduced to at most REPORT_POINTS points (mean, min and max per bucket) so a
 * month of one-minute steps stays a small page. Plain inline SVG, no script.
 */
#include "rarr/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/keys.h"

#define REPORT_POINTS 1200
#define REPORT_KEYS 5
#define REPORT_FOLLOW 32
#define CHART_W 1000
#define CHART_H 180

struct report_event {
    size_t alert;
    int64_t t_ms;
    int firing;
    char *key; /* NULL: none */
};

/* A key the report follows: its name, what it had so far, and its value per step. */
struct report_key {
    char *name;   /* NULL: the place is free */
    double total; /* what it had, plus what the key whose place it took had */
    double own;   /* what it had while followed: its rank */
    double *v;    /* [cap], NAN where it was not followed or had no value */
};

struct report {
    const struct ruleset *rs;
    int64_t step_ms;
    size_t nsteps, cap;
    int64_t *t;              /* [cap] step end times */
    double *v;               /* [cap][nmetrics + nalerts], NAN when undefined */
    struct report_key *keys; /* [nmetrics][REPORT_FOLLOW] */
    struct report_event *ev;
    size_t nev, evcap;
};

/* Start an empty report for a finished ruleset (borrowed). NULL on OOM. */
struct report *
report_new(const struct ruleset *rs, int64_t step_ms)
{
    struct report *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->rs = rs;
    r->step_ms = step_ms;
    if ((r->keys = calloc(rs->nmetrics * REPORT_FOLLOW + 1, sizeof(*r->keys))) == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

/* Free a report. Does nothing if 'r' is NULL. */
void
report_free(struct report *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->rs->nmetrics * REPORT_FOLLOW; i++) {
        free(r->keys[i].name);
        free(r->keys[i].v);
    }
    for (i = 0; i < r->nev; i++)
        free(r->ev[i].key);
    free(r->keys);
    free(r->t);
    free(r->v);
    free(r->ev);
    free(r);
}

static size_t
width(const struct report *r)
{
    return r->rs->nmetrics + r->rs->nalerts;
}

/* Make room for the step after the last: the times, the rows and the followed keys' values. */
static int
grow(struct report *r)
{
    size_t w = width(r), cap = r->cap ? r->cap * 2 : 1024, i, j;
    int64_t *t;
    double *v;

    if (r->nsteps < r->cap)
        return 0;
    if ((t = realloc(r->t, cap * sizeof(*t))) == NULL)
        return -1;
    r->t = t;
    if (cap > SIZE_MAX / (w ? w : 1) / sizeof(*v) ||
        (v = realloc(r->v, cap * (w ? w : 1) * sizeof(*v))) == NULL)
        return -1;
    r->v = v;
    for (i = 0; i < r->rs->nmetrics * REPORT_FOLLOW; i++) {
        if (r->keys[i].name == NULL)
            continue;
        if ((v = realloc(r->keys[i].v, cap * sizeof(*v))) == NULL)
            return -1;
        for (j = r->cap; j < cap; j++)
            v[j] = NAN;
        r->keys[i].v = v;
    }
    r->cap = cap;
    return 0;
}

/*
 * Record one evaluated step: each metric's value over the step and each
 * alert's window value ('*_defined' 0: undefined). The step's key values
 * come before it (report_key). Returns 0 or -1 on OOM.
 */
int
report_step(struct report *r, int64_t t_ms, const double *metric_values,
            const unsigned char *metric_defined, const double *alert_values,
            const unsigned char *alert_defined)
{
    size_t w = width(r), i;
    double *row;

    if (grow(r) == -1)
        return -1;
    r->t[r->nsteps] = t_ms;
    row = r->v + r->nsteps * w;
    for (i = 0; i < r->rs->nmetrics; i++)
        row[i] = metric_defined[i] ? metric_values[i] : NAN;
    for (i = 0; i < r->rs->nalerts; i++)
        row[r->rs->nmetrics + i] = alert_defined[i] ? alert_values[i] : NAN;
    r->nsteps++;
    return 0;
}

/* A copy of 'len' bytes as a string (a key's NULs become '?'); NULL on OOM. */
static char *
key_copy(const char *p, size_t len)
{
    char *c = malloc(len + 1);
    size_t i;

    for (i = 0; c != NULL && i < len; i++)
        c[i] = p[i] != '\0' ? p[i] : '?';
    if (c != NULL)
        c[len] = '\0';
    return c;
}

/* Whether 'name' (a key_copy) is the copy of the 'len' bytes at 'key'. */
static int
same_key(const char *name, const char *key, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (name[i] != (key[i] != '\0' ? key[i] : '?'))
            return 0;
    return name[len] == '\0';
}

/*
 * The value 'v' ('defined' 0: none) of metric 'metric' for key 'key' ('len'
 * bytes) in the step about to be recorded. Returns 0 or -1 on OOM.
 */
int
report_key(struct report *r, size_t metric, const char *key, size_t len, double v, int defined)
{
    struct report_key *f = r->keys + metric * REPORT_FOLLOW, *least = f;
    size_t i;

    if (grow(r) == -1)
        return -1;
    for (i = 0; i < REPORT_FOLLOW; i++) {
        if (f[i].name != NULL && same_key(f[i].name, key, len))
            break;
        if (f[i].name == NULL || (least->name != NULL && f[i].total < least->total))
            least = &f[i];
    }
    if (i == REPORT_FOLLOW) { /* take the place of the key with the least so far */
        char *name = key_copy(key, len);
        double *vals = malloc(r->cap * sizeof(*vals)),
               total = least->name != NULL ? least->total : 0;

        if (name == NULL || vals == NULL) {
            free(name);
            free(vals);
            return -1;
        }
        for (i = 0; i < r->cap; i++)
            vals[i] = NAN;
        free(least->name);
        free(least->v);
        *least = (struct report_key){name, total, 0, vals};
        f = least;
    } else {
        f = &f[i];
    }
    if (defined) {
        f->v[r->nsteps] = v;
        f->total += fabs(v);
        f->own += fabs(v);
    }
    return 0;
}

/* Record an alert's firing or resolved event (for by= key 'key', NULL: none). 0 or -1 on OOM. */
int
report_event(struct report *r, size_t alert, int64_t t_ms, int firing, const char *key, size_t len)
{
    char *k = NULL;

    if (r->nev == r->evcap) {
        size_t cap = r->evcap ? r->evcap * 2 : 64;
        struct report_event *e = realloc(r->ev, cap * sizeof(*e));

        if (e == NULL)
            return -1;
        r->ev = e;
        r->evcap = cap;
    }
    if (key != NULL && (k = key_copy(key, len)) == NULL)
        return -1;
    r->ev[r->nev++] = (struct report_event){alert, t_ms, firing, k};
    return 0;
}

static void
put_text(FILE *fp, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '<')
            fputs("&lt;", fp);
        else if (*s == '>')
            fputs("&gt;", fp);
        else if (*s == '&')
            fputs("&amp;", fp);
        else if (*s == '"')
            fputs("&quot;", fp);
        else
            fputc(*s, fp);
    }
}

static void
put_num(FILE *fp, double v)
{
    struct buf b;

    buf_init(&b);
    buf_add_double(&b, v);
    fputs(buf_cstr(&b), fp);
    buf_fini(&b);
}

static double
xpos(const struct report *r, int64_t t)
{
    int64_t t0 = r->t[0], t1 = r->t[r->nsteps - 1];

    return t1 > t0 ? (double)(t - t0) / (double)(t1 - t0) * CHART_W : CHART_W / 2.0;
}

/* A series to chart: n values, the i-th at v[i * stride] (NAN: undefined). */
struct series_view {
    const double *v;
    size_t stride;
};

static double
at(const struct series_view *sv, size_t i)
{
    return sv->v[i * sv->stride];
}

/* Which events shade a chart: those of 'alert', or (alert SIZE_MAX) of 'metric''s key 'key'. */
struct spans_of {
    size_t alert, metric;
    const char *key;
};

static int
span_event(const struct report *r, const struct report_event *e, const struct spans_of *of)
{
    if (of->alert != SIZE_MAX)
        return e->alert == of->alert;
    return of->key != NULL && e->key != NULL && r->rs->alerts[e->alert].metric == of->metric &&
           strcmp(e->key, of->key) == 0;
}

/* The firing spans of the events 'of' picks, drawn first so the line draws over them. */
static void
spans(const struct report *r, FILE *fp, const struct spans_of *of)
{
    int64_t fire_t = 0;
    int firing = 0;
    double x0, x1;
    size_t k;

    for (k = 0; k <= r->nev; k++) {
        if (k < r->nev && !span_event(r, &r->ev[k], of))
            continue;
        if (k < r->nev && r->ev[k].firing) {
            firing = 1;
            fire_t = r->ev[k].t_ms;
            continue;
        }
        if (!firing)
            continue;
        x0 = xpos(r, fire_t);
        x1 = xpos(r, k < r->nev ? r->ev[k].t_ms : r->t[r->nsteps - 1]);
        fprintf(fp, "<rect class=\"fire\" x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%d\"/>\n", x0,
                x1 - x0 > 1 ? x1 - x0 : 1, CHART_H);
        firing = 0;
    }
}

/* The y of value 'v' on a chart from 'lo' to 'hi'. */
static double
ypos(double v, double lo, double hi)
{
    return CHART_H - 4 - (v - lo) / (hi - lo) * (CHART_H - 8);
}

/* The band from each bucket's min to its max, and the line of the buckets' means. */
static void
band_and_line(const struct report *r, FILE *fp, const struct series_view *sv, double lo, double hi)
{
    size_t n = r->nsteps, per = (n + REPORT_POINTS - 1) / REPORT_POINTS, i, j, k, cnt;
    double mn, mx, sum;

    fputs("<path class=\"band\" d=\"", fp);
    for (i = 0, k = 0; i < n; i += per) {
        for (mn = INFINITY, j = i; j < i + per && j < n; j++)
            mn = !isnan(at(sv, j)) && at(sv, j) < mn ? at(sv, j) : mn;
        if (!isinf(mn))
            fprintf(fp, "%s%.1f %.1f", k++ == 0 ? "M" : " L", xpos(r, r->t[i]), ypos(mn, lo, hi));
    }
    for (i = (n - 1) / per * per + per; i >= per; i -= per) {
        for (mx = -INFINITY, j = i - per; j < i && j < n; j++)
            mx = !isnan(at(sv, j)) && at(sv, j) > mx ? at(sv, j) : mx;
        if (!isinf(mx))
            fprintf(fp, " L%.1f %.1f", xpos(r, r->t[i - per]), ypos(mx, lo, hi));
    }
    fputs(k > 0 ? " Z\"/>\n" : "\"/>\n", fp); /* (no band without a value) */
    fputs("<path class=\"line\" d=\"", fp);
    for (i = 0, k = 0; i < n; i += per) {
        for (sum = 0, cnt = 0, j = i; j < i + per && j < n; j++)
            if (!isnan(at(sv, j))) {
                sum += at(sv, j);
                cnt++;
            }
        if (cnt == 0)
            k = 0; /* an undefined stretch breaks the line */
        else
            fprintf(fp, "%s%.1f %.1f", k++ == 0 ? " M" : " L", xpos(r, r->t[i]),
                    ypos(sum / (double)cnt, lo, hi));
    }
    fputs("\"/>\n", fp);
}

/*
 * One chart: the series 'sv' as a line (bucket means) over a band (bucket
 * min to max), an optional threshold line and the firing spans 'of' picks.
 */
static void
chart(const struct report *r, FILE *fp, const struct series_view *sv, const double *threshold,
      const struct spans_of *of)
{
    double lo = INFINITY, hi = -INFINITY;
    size_t i;

    for (i = 0; i < r->nsteps; i++) {
        if (!isnan(at(sv, i))) {
            lo = at(sv, i) < lo ? at(sv, i) : lo;
            hi = at(sv, i) > hi ? at(sv, i) : hi;
        }
    }
    if (threshold != NULL) {
        lo = *threshold < lo ? *threshold : lo;
        hi = *threshold > hi ? *threshold : hi;
    }
    if (lo > hi)
        lo = 0, hi = 1;
    if (lo > 0)
        lo = 0;
    if (hi == lo)
        hi = lo + 1;
    fprintf(fp, "<svg viewBox=\"0 0 %d %d\" preserveAspectRatio=\"none\">\n", CHART_W, CHART_H);
    spans(r, fp, of);
    band_and_line(r, fp, sv, lo, hi);
    if (threshold != NULL)
        fprintf(fp, "<line class=\"thr\" x1=\"0\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>\n", CHART_W,
                ypos(*threshold, lo, hi), ypos(*threshold, lo, hi));
    fputs("</svg>\n<div class=\"axis\"><span>", fp);
    put_num(fp, lo);
    fputs(" … ", fp);
    put_num(fp, hi);
    fputs("</span></div>\n", fp);
}

/* The charts of metric 'i''s REPORT_KEYS followed keys with the most, the most first. */
static void
key_charts(const struct report *r, FILE *fp, size_t i)
{
    const struct report_key *f = r->keys + i * REPORT_FOLLOW;
    unsigned char shown[REPORT_FOLLOW] = {0};
    size_t n, j, best;

    for (n = 0; n < REPORT_KEYS; n++) {
        for (best = REPORT_FOLLOW, j = 0; j < REPORT_FOLLOW; j++)
            if (f[j].name != NULL && !shown[j] && strcmp(f[j].name, KEYS_OTHER) != 0 &&
                (best == REPORT_FOLLOW || f[j].own > f[best].own ||
                 (f[j].own == f[best].own && strcmp(f[j].name, f[best].name) < 0)))
                best = j;
        if (best == REPORT_FOLLOW)
            return;
        shown[best] = 1;
        fputs("<h3>key ", fp);
        put_text(fp, f[best].name);
        fputs("</h3>\n", fp);
        chart(r, fp, &(struct series_view){f[best].v, 1}, NULL,
              &(struct spans_of){SIZE_MAX, i, f[best].name});
    }
}

/* Write the report as one HTML page. Returns 0, or -1 if writing failed. */
int
report_write(const struct report *r, FILE *fp)
{
    const struct ruleset *rs = r->rs;
    char t0[RARR_TIME_MAX], t1[RARR_TIME_MAX], st[RARR_DUR_MAX];
    size_t i;
    int keyed = 0;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>rarr report</title>\n<style>\n"
          "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1040px;color:#222}\n"
          "h2{font-size:16px;margin:1.6em 0 .3em}h3{font-size:14px;margin:1em 0 "
          ".2em}svg{width:100%;height:180px;background:#fafafa;"
          "border:1px solid #ddd}\n.line{fill:none;stroke:#1f5fa8;stroke-width:1.5;"
          "vector-effect:non-scaling-stroke}\n.band{fill:#1f5fa8;opacity:.15}\n"
          ".thr{stroke:#c0392b;stroke-dasharray:6 4;vector-effect:non-scaling-stroke}\n"
          ".fire{fill:#e74c3c;opacity:.25}\n.axis{color:#777;font-size:12px}\n"
          "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left}"
          "tr:nth-child(even){background:#f3f3f3}\n.firing{color:#c0392b}.resolved{color:#27ae60}\n"
          "</style></head><body>\n<h1>rarr report</h1>\n",
          fp);
    if (r->nsteps == 0) {
        fputs("<p>No complete step was evaluated: the input held less than one step of "
              "events.</p>\n</body></html>\n",
              fp);
        return ferror(fp) ? -1 : 0;
    }
    clock_format_time(r->t[0] - r->step_ms, t0);
    clock_format_time(r->t[r->nsteps - 1], t1);
    clock_format_duration(r->step_ms, st);
    fprintf(fp,
            "<p>%s to %s, %zu steps of %s. Shaded: firing. Dashed: threshold. Band: min to "
            "max per point.</p>\n<h2>Events</h2>\n",
            t0, t1, r->nsteps, st);
    for (i = 0; i < r->nev; i++)
        keyed |= r->ev[i].key != NULL;
    if (r->nev == 0)
        fputs("<p>None.</p>\n", fp);
    else
        fprintf(fp, "<table><tr><th>time</th><th>state</th><th>rule</th>%s</tr>\n",
                keyed ? "<th>key</th>" : "");
    for (i = 0; i < r->nev; i++) {
        clock_format_time(r->ev[i].t_ms, t0);
        fprintf(fp, "<tr><td>%s</td><td class=\"%s\">%s</td><td>", t0,
                r->ev[i].firing ? "firing" : "resolved", r->ev[i].firing ? "firing" : "resolved");
        put_text(fp, rs->alerts[r->ev[i].alert].rule);
        if (keyed)
            fputs("</td><td>", fp);
        if (r->ev[i].key != NULL)
            put_text(fp, r->ev[i].key);
        fputs("</td></tr>\n", fp);
    }
    if (r->nev > 0)
        fputs("</table>\n", fp);
    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_alert *a = &rs->alerts[i];

        fputs("<h2>alert: ", fp);
        put_text(fp, a->rule);
        fputs("</h2>\n", fp);
        chart(r, fp, &(struct series_view){r->v + rs->nmetrics + i, width(r)},
              a->anomaly ? NULL : &a->threshold, &(struct spans_of){i, 0, NULL});
    }
    for (i = 0; i < rs->nmetrics; i++) {
        fputs("<h2>metric: ", fp);
        put_text(fp, rs->metrics[i].name);
        if (rs->metrics[i].category != RULES_NONE)
            fprintf(fp, " (%s)", rules_category_name(rs->metrics[i].category));
        fprintf(fp, ", per %s</h2>\n", st);
        chart(r, fp, &(struct series_view){r->v + i, width(r)}, NULL,
              &(struct spans_of){SIZE_MAX, i, NULL});
        key_charts(r, fp, i);
    }
    fputs("</body></html>\n", fp);
    return ferror(fp) ? -1 : 0;
}
