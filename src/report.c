/*
 * report.c -- the HTML replay report (--report FILE): one self-contained page
 * with a chart per metric (its value per step) and per alert (its window value,
 * the threshold, and the firing spans marked), plus the list of events.
 *
 * It sits beside emit: the pipeline hands it every evaluated step and every
 * event. Memory grows with the number of steps replayed (one double per
 * metric and alert per step), not with the number of lines; charts are
 * reduced to at most REPORT_POINTS points (mean, min and max per bucket) so a
 * month of one-minute steps stays a small page. Plain inline SVG, no script.
 */
#include "rarr/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/buf.h"
#include "rarr/clock.h"

#define REPORT_POINTS 1200
#define CHART_W 1000
#define CHART_H 180

struct report_event {
    size_t alert;
    int64_t t_ms;
    int firing;
};

struct report {
    const struct ruleset *rs;
    int64_t step_ms;
    size_t nsteps, cap;
    int64_t *t; /* [cap] step end times */
    double *v;  /* [cap][nmetrics + nalerts], NAN when undefined */
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
    return r;
}

/* Free a report. Does nothing if 'r' is NULL. */
void
report_free(struct report *r)
{
    if (r == NULL)
        return;
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

/*
 * Record one evaluated step: each metric's value over the step and each
 * alert's window value ('*_defined' 0: undefined). Returns 0 or -1 on OOM.
 */
int
report_step(struct report *r, int64_t t_ms, const double *metric_values,
            const unsigned char *metric_defined, const double *alert_values,
            const unsigned char *alert_defined)
{
    size_t w = width(r), i;
    double *row;

    if (r->nsteps == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        int64_t *t = realloc(r->t, cap * sizeof(*t));
        double *v;

        if (t == NULL)
            return -1;
        r->t = t;
        if (w > 0 && cap > SIZE_MAX / w / sizeof(*v))
            return -1;
        if ((v = realloc(r->v, cap * (w ? w : 1) * sizeof(*v))) == NULL)
            return -1;
        r->v = v;
        r->cap = cap;
    }
    r->t[r->nsteps] = t_ms;
    row = r->v + r->nsteps * w;
    for (i = 0; i < r->rs->nmetrics; i++)
        row[i] = metric_defined[i] ? metric_values[i] : NAN;
    for (i = 0; i < r->rs->nalerts; i++)
        row[r->rs->nmetrics + i] = alert_defined[i] ? alert_values[i] : NAN;
    r->nsteps++;
    return 0;
}

/* Record an alert's firing or resolved event. Returns 0 or -1 on OOM. */
int
report_event(struct report *r, size_t alert, int64_t t_ms, int firing)
{
    if (r->nev == r->evcap) {
        size_t cap = r->evcap ? r->evcap * 2 : 64;
        struct report_event *e = realloc(r->ev, cap * sizeof(*e));

        if (e == NULL)
            return -1;
        r->ev = e;
        r->evcap = cap;
    }
    r->ev[r->nev++] = (struct report_event){alert, t_ms, firing};
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

/*
 * One chart: column 'col' of the steps as a line (bucket means) over a band
 * (bucket min to max), an optional threshold line and the firing spans of
 * alert 'alert' (SIZE_MAX: none).
 */
static void
chart(const struct report *r, FILE *fp, size_t col, const double *threshold, size_t alert)
{
    size_t w = width(r), n = r->nsteps, per = (n + REPORT_POINTS - 1) / REPORT_POINTS, i, j, k;
    double lo = INFINITY, hi = -INFINITY, y0, y1;
    int64_t fire_t = 0;
    int firing = 0;

    for (i = 0; i < n; i++) {
        double v = r->v[i * w + col];

        if (!isnan(v)) {
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
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
#define Y(v) (CHART_H - 4 - ((v)-lo) / (hi - lo) * (CHART_H - 8))
    fprintf(fp, "<svg viewBox=\"0 0 %d %d\" preserveAspectRatio=\"none\">\n", CHART_W, CHART_H);
    /* Firing spans first, so the line draws over them. */
    for (k = 0; alert != SIZE_MAX && k <= r->nev; k++) {
        if (k < r->nev && r->ev[k].alert != alert)
            continue;
        if (k < r->nev && r->ev[k].firing) {
            firing = 1;
            fire_t = r->ev[k].t_ms;
            continue;
        }
        if (!firing)
            continue;
        y0 = xpos(r, fire_t);
        y1 = xpos(r, k < r->nev ? r->ev[k].t_ms : r->t[n - 1]);
        fprintf(fp, "<rect class=\"fire\" x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%d\"/>\n", y0,
                y1 - y0 > 1 ? y1 - y0 : 1, CHART_H);
        firing = 0;
    }
    fputs("<path class=\"band\" d=\"", fp);
    for (i = 0; i < n; i += per) {
        double mn = INFINITY;

        for (j = i; j < i + per && j < n; j++)
            if (!isnan(r->v[j * w + col]) && r->v[j * w + col] < mn)
                mn = r->v[j * w + col];
        if (isinf(mn))
            continue;
        fprintf(fp, "%s%.1f %.1f", i == 0 ? "M" : " L", xpos(r, r->t[i]), Y(mn));
    }
    for (i = (n - 1) / per * per + per; i >= per; i -= per) {
        double mx = -INFINITY;

        for (j = i - per; j < i && j < n; j++)
            if (!isnan(r->v[j * w + col]) && r->v[j * w + col] > mx)
                mx = r->v[j * w + col];
        if (isinf(mx))
            continue;
        fprintf(fp, " L%.1f %.1f", xpos(r, r->t[i - per]), Y(mx));
    }
    fputs(" Z\"/>\n<path class=\"line\" d=\"", fp);
    for (i = 0, k = 0; i < n; i += per) {
        double sum = 0;
        size_t cnt = 0;

        for (j = i; j < i + per && j < n; j++) {
            if (!isnan(r->v[j * w + col])) {
                sum += r->v[j * w + col];
                cnt++;
            }
        }
        if (cnt == 0) {
            k = 0; /* an undefined stretch breaks the line */
            continue;
        }
        fprintf(fp, "%s%.1f %.1f", k++ == 0 ? " M" : " L", xpos(r, r->t[i]), Y(sum / (double)cnt));
    }
    fputs("\"/>\n", fp);
    if (threshold != NULL)
        fprintf(fp, "<line class=\"thr\" x1=\"0\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>\n", CHART_W,
                Y(*threshold), Y(*threshold));
    fputs("</svg>\n", fp);
    fputs("<div class=\"axis\"><span>", fp);
    put_num(fp, lo);
    fputs(" … ", fp);
    put_num(fp, hi);
    fputs("</span></div>\n", fp);
#undef Y
}

/* Write the report as one HTML page. Returns 0, or -1 if writing failed. */
int
report_write(const struct report *r, FILE *fp)
{
    const struct ruleset *rs = r->rs;
    char t0[RARR_TIME_MAX], t1[RARR_TIME_MAX], st[RARR_DUR_MAX];
    size_t i;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>rarr report</title>\n<style>\n"
          "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1040px;color:#222}\n"
          "h2{font-size:16px;margin:1.6em 0 .3em}svg{width:100%;height:180px;background:#fafafa;"
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
    if (r->nev == 0)
        fputs("<p>None.</p>\n", fp);
    else
        fputs("<table><tr><th>time</th><th>state</th><th>rule</th></tr>\n", fp);
    for (i = 0; i < r->nev; i++) {
        clock_format_time(r->ev[i].t_ms, t0);
        fprintf(fp, "<tr><td>%s</td><td class=\"%s\">%s</td><td>", t0,
                r->ev[i].firing ? "firing" : "resolved", r->ev[i].firing ? "firing" : "resolved");
        put_text(fp, rs->alerts[r->ev[i].alert].rule);
        fputs("</td></tr>\n", fp);
    }
    if (r->nev > 0)
        fputs("</table>\n", fp);
    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_alert *a = &rs->alerts[i];

        fputs("<h2>alert: ", fp);
        put_text(fp, a->rule);
        fputs("</h2>\n", fp);
        chart(r, fp, rs->nmetrics + i, a->anomaly ? NULL : &a->threshold, i);
    }
    for (i = 0; i < rs->nmetrics; i++) {
        fputs("<h2>metric: ", fp);
        put_text(fp, rs->metrics[i].name);
        if (rs->metrics[i].category != RULES_NONE)
            fprintf(fp, " (%s)", rules_category_name(rs->metrics[i].category));
        fprintf(fp, ", per %s</h2>\n", st);
        chart(r, fp, i, NULL, SIZE_MAX);
    }
    fputs("</body></html>\n", fp);
    return ferror(fp) ? -1 : 0;
}
