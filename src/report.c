/*
 * report.c -- the HTML replay report (--report FILE): one self-contained page
 * with a chart per alert (its window value, the threshold, the firing spans
 * shaded and, for an anomaly rule, the band it expected) and per metric (its
 * value per step), plus the table of events. A metric with keys (by=) gets a
 * chart per key for its REPORT_KEYS keys with the most (not KEYS_OTHER's: the
 * metric's chart has the whole): the report follows REPORT_FOLLOW keys a
 * metric, and a key that comes when they are all followed takes the place of
 * the one with the least so far, and its count (Space-Saving: a key with more
 * than 1/REPORT_FOLLOW of the metric is always followed). Keys are ranked by
 * what they had while followed.
 *
 * It sits beside emit: the pipeline hands it every evaluated step, every
 * event and, for anomaly rules, what the detector expected. Memory grows with
 * the number of steps replayed (one double per metric, alert and followed key
 * per step), not with the number of lines; charts are reduced to at most
 * REPORT_POINTS points (mean, min and max per bucket) so a month of one-minute
 * steps stays a small page.
 *
 * The page is inline SVG and CSS with one inline script for the hover
 * tooltips; nothing is loaded from the network, so it works from file://.
 * Text from rules and keys only ever lands in HTML text or attributes, always
 * escaped (put_text); the script reads numbers from data- attributes and
 * never holds rule text, so there is no script context to escape for. Every
 * SVG path is written only when it has a point, so no path has an empty or
 * NaN 'd'. Times are UTC throughout, and the page says so.
 */
#include "rarr/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/keys.h"
#include "rarr/statefile.h"
#include "rarr/tally.h"

#define REPORT_POINTS 1200
#define REPORT_KEYS 5
#define REPORT_FOLLOW 32

/* The chart's geometry in viewBox units: the plot, and margins for the axes' labels. */
#define CHART_W 1000
#define CHART_H 210
#define PLOT_L 60
#define PLOT_R 14
#define PLOT_T 10
#define PLOT_B 40
#define PLOT_W (CHART_W - PLOT_L - PLOT_R)
#define PLOT_H (CHART_H - PLOT_T - PLOT_B)
#define X_TICKS_MAX 12 /* at most this many time labels: about 80 units apart */

/* One of the metrics that moved with a firing (report_related): a copy of a related_item. */
struct report_moved {
    size_t metric;
    double value, usual, change;
};

struct report_event {
    size_t alert;
    int64_t t_ms;
    int firing;
    char *key;                  /* NULL: none */
    struct report_moved *moved; /* [nmoved], strongest first; NULL: none */
    size_t nmoved;
};

/* What an anomaly rule's detector expected over the window that ended at t_ms. */
struct report_band {
    size_t alert;
    int64_t t_ms, window_ms;
    int firing; /* the figures of a firing (else of a resolution) */
    double value, expected, lower, upper;
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
    struct report_band *bands;
    size_t nbands, bandcap;
    int live; /* the page is rewritten while input is live: it reloads itself */
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
    for (i = 0; i < r->nev; i++) {
        free(r->ev[i].key);
        free(r->ev[i].moved);
    }
    for (i = 0; i < r->nbands; i++)
        free(r->bands[i].key);
    free(r->keys);
    free(r->t);
    free(r->v);
    free(r->ev);
    free(r->bands);
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
    r->ev[r->nev++] = (struct report_event){alert, t_ms, firing, k, NULL, 0};
    return 0;
}

/*
 * The metrics that moved with the firing of 'alert' at 't_ms' ('l',
 * borrowed: a related_list as the firing record's "related" holds it):
 * copied to that event, which must be the last report_event recorded for
 * the alert (call this right after it). The events table shows them beside
 * the firing. Does nothing when no firing of 'alert' at 't_ms' was
 * recorded or 'l' is empty; a second call for the event replaces the
 * first's. Returns 0 or -1 on OOM.
 */
int
report_related(struct report *r, size_t alert, int64_t t_ms, const struct related_list *l)
{
    struct report_event *e = NULL;
    struct report_moved *m;
    size_t i;

    for (i = r->nev; i-- > 0;)
        if (r->ev[i].alert == alert) {
            e = &r->ev[i];
            break;
        }
    if (e == NULL || !e->firing || e->t_ms != t_ms || l->n == 0)
        return 0;
    if ((m = calloc(l->n, sizeof(*m))) == NULL)
        return -1;
    for (i = 0; i < l->n; i++)
        m[i] = (struct report_moved){l->v[i].metric, l->v[i].value, l->v[i].usual, l->v[i].change};
    free(e->moved);
    e->moved = m;
    e->nmoved = l->n;
    return 0;
}

/*
 * Record what anomaly rule 'alert' expected over the window that ended at
 * 't_ms' (for by= key 'key', NULL: none): the window, value, expected value
 * and band of 'dev' (borrowed), and whether it fired. The chart of the rule
 * (or of the key) draws the band over that window as a value per step (the
 * window's figures times step over window), and on through a firing to its
 * resolution; the events table shows the figures beside the event at
 * 't_ms'. Called with the firing and resolved events' figures it draws the
 * band over the firings; called every step with a one-step window it would
 * draw it all along. Does nothing for a 'dev' without a window (no event).
 * Returns 0 or -1 on OOM.
 */
int
report_band(struct report *r, size_t alert, int64_t t_ms, const struct detect_event *dev,
            const char *key, size_t len)
{
    char *k = NULL;

    if (dev->window_ms <= 0)
        return 0;
    if (r->nbands == r->bandcap) {
        size_t cap = r->bandcap ? r->bandcap * 2 : 64;
        struct report_band *b = realloc(r->bands, cap * sizeof(*b));

        if (b == NULL)
            return -1;
        r->bands = b;
        r->bandcap = cap;
    }
    if (key != NULL && (k = key_copy(key, len)) == NULL)
        return -1;
    r->bands[r->nbands++] = (struct report_band){alert,          t_ms,       dev->window_ms,
                                                 dev->fired > 0, dev->value, dev->expected,
                                                 dev->lower,     dev->upper, k};
    return 0;
}

/*
 * Mark the page as one rewritten while input is live ('live' 1): it then
 * reloads itself every minute. The last page, at the end of input, is
 * written with 'live' 0 and stays still.
 */
void
report_live(struct report *r, int live)
{
    r->live = live;
}

/* ---- Writing the page. ---- */

/* 's' as HTML text or a quoted attribute value; control bytes become U+FFFD. */
static void
put_text(FILE *fp, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '<')
            fputs("&lt;", fp);
        else if (c == '>')
            fputs("&gt;", fp);
        else if (c == '&')
            fputs("&amp;", fp);
        else if (c == '"')
            fputs("&quot;", fp);
        else if (c == '\'')
            fputs("&#39;", fp);
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            fputs("&#xfffd;", fp);
        else
            fputc(c, fp);
    }
}

/* 'v' as the shortest exact decimal (NDJSON's form): for the tables. */
static void
put_num(FILE *fp, double v)
{
    struct buf b;

    buf_init(&b);
    if (buf_add_double(&b, v) == 0)
        fputs(buf_cstr(&b), fp);
    buf_fini(&b);
}

/* 'v' rounded for a reader: 4 significant digits, whole numbers from 10,000 on. */
static void
put_short(FILE *fp, double v)
{
    if (!isfinite(v))
        fputs("?", fp);
    else if (fabs(v) >= 1e4)
        fprintf(fp, "%.0f", v);
    else
        fprintf(fp, "%.4g", v);
}

/* The UTC civil date of day 'days' since the epoch (H. Hinnant's days_from_civil, inverted). */
static void
civil(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Where the page's time axis starts and ends: the start of the first step, the end of the last. */
static int64_t
t_first(const struct report *r)
{
    return r->t[0] - r->step_ms;
}

static double
xpos(const struct report *r, int64_t t)
{
    int64_t t0 = t_first(r), t1 = r->t[r->nsteps - 1];

    return PLOT_L + (double)(t - t0) / (double)(t1 - t0) * PLOT_W;
}

/* The y of value 'v' on a chart from 'lo' to 'hi'. */
static double
ypos(double v, double lo, double hi)
{
    return PLOT_T + PLOT_H - (v - lo) / (hi - lo) * PLOT_H;
}

/* Steps a chart point stands for: charts have at most REPORT_POINTS points. */
static size_t
per_point(const struct report *r)
{
    size_t per = (r->nsteps + REPORT_POINTS - 1) / REPORT_POINTS;

    return per > 0 ? per : 1;
}

/* The step that ends at 't', or SIZE_MAX when none was recorded. */
static size_t
step_at(const struct report *r, int64_t t)
{
    size_t lo = 0, hi = r->nsteps;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (r->t[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->nsteps && r->t[lo] == t ? lo : SIZE_MAX;
}

/* A series to chart: n values, the i-th at v[i * stride] (NAN: undefined). */
struct series_view {
    const double *v;
    size_t stride;
};

static double
at(const struct series_view *sv, size_t i)
{
    double v = sv->v[i * sv->stride];

    return isfinite(v) ? v : NAN;
}

/*
 * Which events and bands belong on a chart: those of 'alert', or (alert
 * SIZE_MAX) those of the alerts on 'metric' for its key 'key'.
 */
struct pick {
    size_t alert, metric;
    const char *key;
};

static int
picked(const struct report *r, size_t alert, const char *key, const struct pick *p)
{
    if (p->alert != SIZE_MAX)
        return alert == p->alert && key == NULL;
    return p->key != NULL && key != NULL && r->rs->alerts[alert].metric == p->metric &&
           strcmp(key, p->key) == 0;
}

/* A chart's points: per bucket of steps, the mean, min and max, the band and whether it fired. */
struct points {
    size_t n, per;
    double *mean, *mn, *mx;
    double *exp, *elo, *ehi; /* NAN where no band covers the point */
    char *fire;              /* '1' where firing, '0' else; a string */
    int has_value, has_band;
};

static void
points_free(struct points *p)
{
    free(p->mean);
    free(p->mn);
    free(p->mx);
    free(p->exp);
    free(p->elo);
    free(p->ehi);
    free(p->fire);
}

/* Shade the points from 'from' (exclusive) to 'to' (inclusive) as firing. */
static void
mark_fire(const struct report *r, struct points *p, int64_t from, int64_t to)
{
    size_t i;

    for (i = 0; i < p->n; i++) {
        int64_t t = r->t[i * p->per];

        if (t > from && t <= to)
            p->fire[i] = '1';
    }
}

/* Band record 'b' as a value per step: its window's figures times step over window. */
static int
band_per_step(const struct report *r, const struct report_band *b, double *e, double *lo,
              double *hi)
{
    double f = (double)r->step_ms / (double)b->window_ms;

    *e = b->expected * f;
    *lo = b->lower * f;
    *hi = b->upper * f;
    return isfinite(*e) && isfinite(*lo) && isfinite(*hi);
}

/*
 * The band of the point ending at 't' from the bands 'pk' picks, as a value
 * per step: that of the latest record whose window holds 't'; else, after a
 * firing's record, the firing's, moving in a straight line to the figures of
 * the resolution that follows (from the start of its window), so the band
 * spans the whole firing. Returns 0 when there is none.
 */
static int
band_at(const struct report *r, const struct pick *pk, int64_t t, double *e, double *lo, double *hi)
{
    const struct report_band *next = NULL;
    double ne, nlo, nhi, w;
    size_t k;

    for (k = r->nbands; k-- > 0;) {
        const struct report_band *b = &r->bands[k];
        int64_t from;

        if (!picked(r, b->alert, b->key, pk))
            continue;
        if (b->t_ms >= t) {
            if (b->t_ms - b->window_ms < t)
                return band_per_step(r, b, e, lo, hi);
            next = b;
            continue;
        }
        /* The latest record before 't': a band goes on only through a firing. */
        if (!b->firing || !band_per_step(r, b, e, lo, hi))
            return 0;
        if (next == NULL || next->firing || !band_per_step(r, next, &ne, &nlo, &nhi))
            return 1;
        from = next->t_ms - next->window_ms;
        w = from > b->t_ms ? (double)(t - b->t_ms) / (double)(from - b->t_ms) : 1;
        w = w > 1 ? 1 : w;
        *e += (ne - *e) * w;
        *lo += (nlo - *lo) * w;
        *hi += (nhi - *hi) * w;
        return 1;
    }
    return 0;
}

/* Reduce series 'sv' to points, with the firing and bands 'pk' picks. Returns 0 or -1 on OOM. */
static int
points_make(const struct report *r, const struct series_view *sv, const struct pick *pk,
            struct points *p)
{
    size_t n = r->nsteps, i, j, k, cnt;
    int64_t fire_t = 0;
    int firing = 0;
    double sum;

    memset(p, 0, sizeof(*p));
    p->per = per_point(r);
    p->n = (n + p->per - 1) / p->per;
    p->mean = malloc(p->n * sizeof(double));
    p->mn = malloc(p->n * sizeof(double));
    p->mx = malloc(p->n * sizeof(double));
    p->exp = malloc(p->n * sizeof(double));
    p->elo = malloc(p->n * sizeof(double));
    p->ehi = malloc(p->n * sizeof(double));
    p->fire = malloc(p->n + 1);
    if (p->mean == NULL || p->mn == NULL || p->mx == NULL || p->exp == NULL || p->elo == NULL ||
        p->ehi == NULL || p->fire == NULL) {
        points_free(p);
        return -1;
    }
    for (k = 0, i = 0; i < n; i += p->per, k++) {
        p->mn[k] = INFINITY;
        p->mx[k] = -INFINITY;
        for (sum = 0, cnt = 0, j = i; j < i + p->per && j < n; j++) {
            double v = at(sv, j);

            if (isnan(v))
                continue;
            sum += v;
            cnt++;
            p->mn[k] = v < p->mn[k] ? v : p->mn[k];
            p->mx[k] = v > p->mx[k] ? v : p->mx[k];
        }
        p->mean[k] = cnt > 0 ? sum / (double)cnt : NAN;
        if (cnt == 0)
            p->mn[k] = p->mx[k] = NAN;
        else
            p->has_value = 1;
        p->exp[k] = p->elo[k] = p->ehi[k] = NAN;
        if (band_at(r, pk, r->t[i], &p->exp[k], &p->elo[k], &p->ehi[k]))
            p->has_band = 1;
        else
            p->exp[k] = p->elo[k] = p->ehi[k] = NAN;
    }
    memset(p->fire, '0', p->n);
    p->fire[p->n] = '\0';
    for (k = 0; k <= r->nev; k++) {
        if (k < r->nev && !picked(r, r->ev[k].alert, r->ev[k].key, pk))
            continue;
        if (k < r->nev && r->ev[k].firing) {
            if (!firing)
                fire_t = r->ev[k].t_ms;
            firing = 1;
            continue;
        }
        if (firing)
            mark_fire(r, p, fire_t - 1, k < r->nev ? r->ev[k].t_ms - 1 : r->t[n - 1]);
        firing = 0;
    }
    return 0;
}

/* The firing spans of the points, drawn first so everything else draws over them. */
static void
spans(const struct report *r, FILE *fp, const struct points *p)
{
    size_t i, j;

    for (i = 0; i < p->n; i = j) {
        for (j = i; j < p->n && p->fire[j] == p->fire[i]; j++)
            ;
        if (p->fire[i] != '1')
            continue;
        {
            double x0 = xpos(r, r->t[i * p->per]),
                   x1 = j < p->n ? xpos(r, r->t[j * p->per]) : PLOT_L + PLOT_W;

            fprintf(fp, "<rect class=\"fire\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>\n",
                    x0, PLOT_T, x1 - x0 > 1 ? x1 - x0 : 1, PLOT_H);
        }
    }
}

/*
 * One SVG path of class 'cls': with 'hi' a closed area per stretch of
 * defined points from lo[] up to hi[], else a line through lo[] broken where
 * a point is undefined. Nothing is written when no point is defined, so no
 * path has an empty 'd'.
 */
static void
path(const struct report *r, FILE *fp, const char *cls, const struct points *p, const double *lo,
     const double *hi, double ylo, double yhi)
{
    struct buf b;
    size_t i, j, k;

    buf_init(&b);
    for (i = 0; i < p->n; i = j) {
        if (isnan(lo[i]) || (hi != NULL && isnan(hi[i]))) {
            j = i + 1;
            continue;
        }
        for (j = i; j < p->n && !isnan(lo[j]) && (hi == NULL || !isnan(hi[j])); j++)
            buf_printf(&b, "%s%.1f %.1f", j == i ? (b.len > 0 ? " M" : "M") : " L",
                       xpos(r, r->t[j * p->per]), ypos(lo[j], ylo, yhi));
        if (hi == NULL) {
            if (j == i + 1) /* a lone point: a dot (the line's round cap) */
                buf_adds(&b, " l0.1 0");
            continue;
        }
        if (j == i + 1) /* a lone point: give the area a step's width */
            buf_printf(&b, " L%.1f %.1f", xpos(r, r->t[i * p->per]) + 1, ypos(lo[i], ylo, yhi));
        for (k = j; k-- > i;)
            buf_printf(&b, " L%.1f %.1f", xpos(r, r->t[k * p->per]) + (j == i + 1),
                       ypos(hi[k], ylo, yhi));
        buf_adds(&b, " Z");
    }
    if (b.len > 0) {
        fprintf(fp, "<path class=\"%s\" d=\"", cls);
        fwrite(b.p, 1, b.len, fp);
        fputs("\"/>\n", fp);
    }
    buf_fini(&b);
}

/* A round step for about 4 intervals from 'lo' to 'hi' (1, 2, 2.5 or 5 times a power of 10). */
static double
nice_step(double lo, double hi)
{
    double raw = (hi - lo) / 4, mag = pow(10, floor(log10(raw))), f = raw / mag;

    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/* A y-axis label: 'v' with the decimals step 'step' needs, thousands as k and M. */
static void
put_tick_num(FILE *fp, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);

    if (step == 2.5 * pow(10, floor(log10(step))) && step < 10)
        dec++;
    if (fabs(v) < step / 2)
        v = 0;
    if (fabs(v) >= 1e6 && step >= 1e5)
        fprintf(fp, "%gM", v / 1e6);
    else if (fabs(v) >= 1e4 && step >= 1e3)
        fprintf(fp, "%gk", v / 1e3);
    else
        fprintf(fp, "%.*f", dec > 9 ? 9 : dec, v);
}

/* The y axis: a gridline and a label at each multiple of 'step' from 'lo' to 'hi'. */
static void
y_axis(FILE *fp, double lo, double hi, double step)
{
    double v;
    int k;

    fputs("<g class=\"axis y\">\n", fp);
    for (k = 0, v = lo; v <= hi + step / 2 && k < 20; k++, v = lo + k * step) {
        double y = ypos(v, lo, hi);

        fprintf(fp, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>\n", PLOT_L,
                PLOT_L + PLOT_W, y, y);
        fprintf(fp, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", PLOT_L - 6,
                y + 4);
        put_tick_num(fp, v, step);
        fputs("</text>\n", fp);
    }
    fputs("</g>\n", fp);
}

/*
 * The time between the time axis' labels: the first of these, no shorter
 * than a step, that gives at most X_TICKS_MAX labels over the replay, from
 * seconds to weeks.
 */
static int64_t
x_interval(int64_t span, int64_t step_ms)
{
    static const int64_t iv[] = {
        CLOCK_SECOND_MS,      2 * CLOCK_SECOND_MS,  5 * CLOCK_SECOND_MS,  10 * CLOCK_SECOND_MS,
        15 * CLOCK_SECOND_MS, 30 * CLOCK_SECOND_MS, CLOCK_MINUTE_MS,      2 * CLOCK_MINUTE_MS,
        5 * CLOCK_MINUTE_MS,  10 * CLOCK_MINUTE_MS, 15 * CLOCK_MINUTE_MS, 30 * CLOCK_MINUTE_MS,
        CLOCK_HOUR_MS,        2 * CLOCK_HOUR_MS,    3 * CLOCK_HOUR_MS,    6 * CLOCK_HOUR_MS,
        12 * CLOCK_HOUR_MS,   CLOCK_DAY_MS,         2 * CLOCK_DAY_MS,     CLOCK_WEEK_MS,
        2 * CLOCK_WEEK_MS,    4 * CLOCK_WEEK_MS};
    size_t i;

    for (i = 0; i < sizeof(iv) / sizeof(iv[0]); i++)
        if (iv[i] >= step_ms && span / iv[i] <= X_TICKS_MAX)
            return iv[i];
    return (span / X_TICKS_MAX / (4 * CLOCK_WEEK_MS) + 1) * 4 * CLOCK_WEEK_MS;
}

/*
 * The time axis, in UTC: a gridline and a label at each multiple of a
 * round interval (weeks start on Monday), the time of day on the first row
 * and the date under the first label and wherever the date changes. From a
 * day's interval on, the first row is the date (MM-DD), the year under it.
 */
static void
x_axis(const struct report *r, FILE *fp)
{
    int64_t t0 = t_first(r), t1 = r->t[r->nsteps - 1], iv = x_interval(t1 - t0, r->step_ms), t;
    int64_t monday = 4 * CLOCK_DAY_MS; /* 1970-01-01 was a Thursday */
    int64_t origin = iv >= CLOCK_WEEK_MS ? monday : 0, prev_day = INT64_MIN;
    int prev_year = -1, y, m, d;

    fputs("<g class=\"axis x\">\n", fp);
    t = clock_floor(t0 - origin, iv) + origin;
    if (t < t0)
        t += iv;
    for (; t <= t1; t += iv) {
        int64_t day = clock_floor(t, CLOCK_DAY_MS) / CLOCK_DAY_MS, ms = t - day * CLOCK_DAY_MS;
        double x = xpos(r, t);
        const char *anchor = x > CHART_W - 30 ? "end" : "middle";

        civil(day, &y, &m, &d);
        fprintf(fp, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>\n", x, x,
                PLOT_T, PLOT_T + PLOT_H + 4);
        fprintf(fp, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">", x,
                PLOT_T + PLOT_H + 16, anchor);
        if (iv >= CLOCK_DAY_MS)
            fprintf(fp, "%02d-%02d", m, d);
        else if (iv < CLOCK_MINUTE_MS)
            fprintf(fp, "%02d:%02d:%02d", (int)(ms / CLOCK_HOUR_MS),
                    (int)(ms / CLOCK_MINUTE_MS % 60), (int)(ms / CLOCK_SECOND_MS % 60));
        else
            fprintf(fp, "%02d:%02d", (int)(ms / CLOCK_HOUR_MS), (int)(ms / CLOCK_MINUTE_MS % 60));
        fputs("</text>\n", fp);
        if (iv >= CLOCK_DAY_MS ? y != prev_year : day != prev_day) {
            fprintf(fp, "<text class=\"tick date\" x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">", x,
                    PLOT_T + PLOT_H + 30, anchor);
            if (iv >= CLOCK_DAY_MS)
                fprintf(fp, "%d", y);
            else
                fprintf(fp, "%04d-%02d-%02d", y, m, d);
            fputs("</text>\n", fp);
        }
        prev_day = day;
        prev_year = y;
    }
    fprintf(fp, "<text class=\"tick\" x=\"4\" y=\"%d\">UTC</text>\n</g>\n", PLOT_T + PLOT_H + 16);
}

/* The numbers of 'a' as a data- attribute: the list, "" where a number is NAN. */
static void
put_data(FILE *fp, const char *name, const double *a, size_t n)
{
    size_t i;

    fprintf(fp, " data-%s=\"", name);
    for (i = 0; i < n; i++) {
        if (i > 0)
            fputc(',', fp);
        if (!isnan(a[i]))
            fprintf(fp, "%.6g", a[i]);
    }
    fputc('"', fp);
}

/* What one chart shows. */
struct chart_spec {
    struct series_view sv;
    const struct rules_alert *thr; /* a threshold alert: its threshold dashed; NULL: none */
    struct pick pick;              /* the firing spans and bands drawn */
    const char *empty;             /* what to say when the series has no value */
};

/*
 * One chart: the series as a line (bucket means) over a band (bucket min to
 * max), the time and value axes, the threshold, the firing spans and the
 * expected band. A series without any value is a sentence instead of an
 * empty frame. The hover script reads the data- attributes. Returns 0 or
 * -1 on OOM.
 */
static int
chart(const struct report *r, FILE *fp, const struct chart_spec *c)
{
    double lo = INFINITY, hi = -INFINITY, step;
    struct points p;
    size_t i;

    if (points_make(r, &c->sv, &c->pick, &p) == -1)
        return -1;
    if (!p.has_value) {
        fputs("<p class=\"empty\">", fp);
        put_text(fp, c->empty != NULL ? c->empty : "no value in this replay");
        fputs("</p>\n", fp);
        points_free(&p);
        return 0;
    }
    for (i = 0; i < p.n; i++) {
        if (!isnan(p.mn[i])) {
            lo = p.mn[i] < lo ? p.mn[i] : lo;
            hi = p.mx[i] > hi ? p.mx[i] : hi;
        }
        if (!isnan(p.elo[i])) {
            lo = p.elo[i] < lo ? p.elo[i] : lo;
            hi = p.ehi[i] > hi ? p.ehi[i] : hi;
        }
    }
    if (c->thr != NULL) {
        lo = c->thr->threshold < lo ? c->thr->threshold : lo;
        hi = c->thr->threshold > hi ? c->thr->threshold : hi;
    }
    if (lo > 0)
        lo = 0;
    if (hi <= lo)
        hi = lo + 1;
    step = nice_step(lo, hi);
    lo = floor(lo / step) * step;
    hi = ceil(hi / step) * step;
    if (hi <= lo)
        hi = lo + step;

    fprintf(fp, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" data-lo=\"%.9g\" data-hi=\"%.9g\"",
            CHART_W, CHART_H, lo, hi);
    put_data(fp, "v", p.mean, p.n);
    if (p.per > 1) {
        put_data(fp, "mn", p.mn, p.n);
        put_data(fp, "mx", p.mx, p.n);
    }
    if (p.has_band) {
        put_data(fp, "e", p.exp, p.n);
        put_data(fp, "el", p.elo, p.n);
        put_data(fp, "eu", p.ehi, p.n);
    }
    if (c->thr != NULL)
        fprintf(fp, " data-thr=\"%.9g\" data-op=\"%s\"", c->thr->threshold,
                c->thr->above ? "above" : "below");
    fprintf(fp, " data-f=\"%s\">\n", p.fire);
    fprintf(fp, "<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", PLOT_L,
            PLOT_T, PLOT_W, PLOT_H);
    spans(r, fp, &p);
    y_axis(fp, lo, hi, step);
    x_axis(r, fp);
    if (p.has_band) {
        path(r, fp, "expband", &p, p.elo, p.ehi, lo, hi);
        path(r, fp, "exp", &p, p.exp, NULL, lo, hi);
    }
    if (p.per > 1)
        path(r, fp, "band", &p, p.mn, p.mx, lo, hi);
    path(r, fp, "line", &p, p.mean, NULL, lo, hi);
    if (c->thr != NULL)
        fprintf(fp, "<line class=\"thr\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>\n", PLOT_L,
                PLOT_L + PLOT_W, ypos(c->thr->threshold, lo, hi), ypos(c->thr->threshold, lo, hi));
    fprintf(fp,
            "<line class=\"guide\" x1=\"0\" x2=\"0\" y1=\"%d\" y2=\"%d\" visibility=\"hidden\"/>\n"
            "<circle class=\"dot\" cx=\"0\" cy=\"0\" r=\"3.5\" visibility=\"hidden\"/>\n</svg>\n",
            PLOT_T, PLOT_T + PLOT_H);
    points_free(&p);
    return 0;
}

/* Whether followed key 'j' of metric 'i' goes before 'best' (SIZE_MAX: none yet). */
static int
ranks_before(const struct report_key *f, size_t j, size_t best)
{
    return best == SIZE_MAX || f[j].own > f[best].own ||
           (f[j].own == f[best].own && strcmp(f[j].name, f[best].name) < 0);
}

/*
 * The places in metric 'i''s followed keys of its REPORT_KEYS keys with the
 * most, the most first, into 'top'. Returns how many.
 */
static size_t
top_keys(const struct report *r, size_t i, size_t top[REPORT_KEYS])
{
    const struct report_key *f = r->keys + i * REPORT_FOLLOW;
    unsigned char shown[REPORT_FOLLOW] = {0};
    size_t n, j, best;

    for (n = 0; n < REPORT_KEYS; n++) {
        for (best = SIZE_MAX, j = 0; j < REPORT_FOLLOW; j++)
            if (f[j].name != NULL && !shown[j] && strcmp(f[j].name, KEYS_OTHER) != 0 &&
                ranks_before(f, j, best))
                best = j;
        if (best == SIZE_MAX)
            break;
        shown[best] = 1;
        top[n] = best;
    }
    return n;
}

/* The place in the followed keys of metric 'i' of shown key 'key', or SIZE_MAX. */
static size_t
shown_key(const struct report *r, size_t i, const char *key)
{
    size_t top[REPORT_KEYS], n = top_keys(r, i, top), j;

    for (j = 0; key != NULL && j < n; j++)
        if (strcmp(r->keys[i * REPORT_FOLLOW + top[j]].name, key) == 0)
            return top[j];
    return SIZE_MAX;
}

/* The charts of metric 'i''s REPORT_KEYS followed keys with the most, the most first. */
static int
key_charts(const struct report *r, FILE *fp, size_t i)
{
    const struct report_key *f = r->keys + i * REPORT_FOLLOW;
    size_t top[REPORT_KEYS], n = top_keys(r, i, top), j;
    int rc = 0;

    for (j = 0; j < n; j++) {
        fprintf(fp, "<h3 id=\"m%zuk%zu\">key ", i, top[j]);
        put_text(fp, f[top[j]].name);
        fputs("</h3>\n", fp);
        rc |= chart(
            r, fp,
            &(struct chart_spec){{f[top[j]].v, 1}, NULL, {SIZE_MAX, i, f[top[j]].name}, NULL});
    }
    return rc;
}

/* The anchor of the chart of event 'e': its key's chart when shown, else its alert's. */
static void
put_anchor(const struct report *r, FILE *fp, const struct report_event *e)
{
    size_t m = r->rs->alerts[e->alert].metric, k = shown_key(r, m, e->key);

    if (k != SIZE_MAX)
        fprintf(fp, "#m%zuk%zu", m, k);
    else
        fprintf(fp, "#a%zu", e->alert);
}

/* The band recorded for event 'e', or NULL. */
static const struct report_band *
event_band(const struct report *r, const struct report_event *e)
{
    size_t k;

    for (k = r->nbands; k-- > 0;) {
        const struct report_band *b = &r->bands[k];

        if (b->alert == e->alert && b->t_ms == e->t_ms &&
            (b->key == NULL ? e->key == NULL : e->key != NULL && strcmp(b->key, e->key) == 0))
            return b;
    }
    return NULL;
}

/*
 * For each event, the other end of its firing: a firing's resolution, a
 * resolution's firing (SIZE_MAX: none in the replay). An event is matched
 * with the open firing of the same alert and key. Returns NULL on OOM.
 */
static size_t *
pair_events(const struct report *r)
{
    size_t *pair = malloc((r->nev + 1) * sizeof(*pair)),
           *open = malloc((r->nev + 1) * sizeof(*open));
    size_t nopen = 0, i, j;

    if (pair == NULL || open == NULL) {
        free(pair);
        free(open);
        return NULL;
    }
    for (i = 0; i < r->nev; i++) {
        const struct report_event *e = &r->ev[i];

        pair[i] = SIZE_MAX;
        for (j = 0; j < nopen; j++) {
            const struct report_event *o = &r->ev[open[j]];

            if (o->alert == e->alert &&
                (o->key == NULL ? e->key == NULL : e->key != NULL && strcmp(o->key, e->key) == 0))
                break;
        }
        if (e->firing) {
            if (j == nopen) /* a second firing while open keeps the first */
                open[nopen++] = i;
            continue;
        }
        if (j < nopen) {
            pair[i] = open[j];
            pair[open[j]] = i;
            open[j] = open[--nopen];
        }
    }
    free(open);
    return pair;
}

/* 'v' rounded for a glance: whole numbers from 10 on, else 2 significant digits. */
static void
put_about(FILE *fp, double v)
{
    if (!isfinite(v))
        fputs("?", fp);
    else if (fabs(v) >= 10)
        fprintf(fp, "%.0f", v);
    else
        fprintf(fp, "%.2g", v);
}

/*
 * What else moved with firing 'e': "dashboard_views 4 (usual 16, -75 %)",
 * each metric's value over the firing's window, its usual value and the
 * relative change (a true minus sign, and a no-break space before '%').
 */
static void
put_moved(const struct report *r, FILE *fp, const struct report_event *e)
{
    size_t i;
    double pct;

    fputs("<div class=\"moved\">what else moved: ", fp);
    for (i = 0; i < e->nmoved; i++) {
        const struct report_moved *m = &e->moved[i];

        pct = round(m->change * 100);
        if (i > 0)
            fputs(", ", fp);
        fputs("<span class=\"mm\">", fp);
        put_text(fp, r->rs->metrics[m->metric].name);
        fputs("</span> ", fp);
        put_about(fp, m->value);
        fputs(" <span class=\"note\">(usual ", fp);
        put_about(fp, m->usual);
        fprintf(fp, ", %s%.0f&nbsp;%%)</span>", pct < 0 ? "&minus;" : "+", fabs(pct));
    }
    fputs("</div>", fp);
}

/* The events table: when, which rule, metric and key, the state, the value and how long it fired.
 */
static int
events_table(const struct report *r, FILE *fp)
{
    const struct ruleset *rs = r->rs;
    char tm[RARR_TIME_MAX], dur[RARR_DUR_MAX];
    size_t *pair, i, s;

    if (r->nev == 0) {
        fputs("<p>No alert fired.</p>\n", fp);
        return 0;
    }
    if ((pair = pair_events(r)) == NULL)
        return -1;
    fputs("<table class=\"events\"><thead><tr><th>time (UTC)</th><th>rule</th><th>metric</th>"
          "<th>key</th><th>state</th><th>value</th><th>firing for</th></tr></thead><tbody>\n",
          fp);
    for (i = 0; i < r->nev; i++) {
        const struct report_event *e = &r->ev[i];
        const struct rules_alert *a = &rs->alerts[e->alert];
        const struct report_band *b = event_band(r, e);

        clock_format_time(e->t_ms, tm);
        fprintf(fp, "<tr class=\"%s\"><td>%s</td><td><a href=\"", e->firing ? "firing" : "resolved",
                tm);
        put_anchor(r, fp, e);
        fputs("\">", fp);
        put_text(fp, a->rule);
        fputs("</a></td><td>", fp);
        put_text(fp, rs->metrics[a->metric].name);
        fputs("</td><td>", fp);
        if (e->key != NULL)
            put_text(fp, e->key);
        fprintf(fp, "</td><td class=\"state\">%s</td><td>", e->firing ? "firing" : "resolved");
        if (b != NULL) {
            put_short(fp, b->value);
            fputs(" <span class=\"note\">expected ", fp);
            put_short(fp, b->expected);
            fputs(" (", fp);
            put_short(fp, b->lower);
            fputs(" to ", fp);
            put_short(fp, b->upper);
            clock_format_duration(b->window_ms, dur);
            fprintf(fp, ") over %s</span>", dur);
        } else if (!a->anomaly && e->key == NULL && (s = step_at(r, e->t_ms)) != SIZE_MAX &&
                   !isnan(r->v[s * width(r) + rs->nmetrics + e->alert])) {
            put_short(fp, r->v[s * width(r) + rs->nmetrics + e->alert]);
            fprintf(fp, " <span class=\"note\">%s ", a->above ? "above" : "below");
            put_num(fp, a->threshold);
            fputs("</span>", fp);
        }
        if (e->firing && e->nmoved > 0)
            put_moved(r, fp, e);
        fputs("</td><td>", fp);
        if (pair[i] != SIZE_MAX) {
            int64_t from = e->firing ? e->t_ms : r->ev[pair[i]].t_ms,
                    to = e->firing ? r->ev[pair[i]].t_ms : e->t_ms;

            clock_format_duration(to - from, dur);
            fprintf(fp, "%s", dur);
        } else if (e->firing && r->nsteps > 0 && r->t[r->nsteps - 1] >= e->t_ms) {
            clock_format_duration(r->t[r->nsteps - 1] - e->t_ms, dur);
            fprintf(fp, "%s, still firing at the end", dur);
        }
        fputs("</td></tr>\n", fp);
    }
    fputs("</tbody></table>\n", fp);
    free(pair);
    return 0;
}

/* Where the rows of "What would have paged" go. */
struct paged_out {
    const struct report *r;
    FILE *fp;
};

/* A row of "What would have paged" (a tally_row_fn). */
static int
paged_row(void *arg, const struct tally_row *t, int firing_at_end)
{
    const struct paged_out *o = arg;
    char total[RARR_DUR_MAX], longest[RARR_DUR_MAX];

    clock_format_duration(t->total_ms, total);
    clock_format_duration(t->longest_ms, longest);
    fprintf(o->fp, "<tr class=\"%s\"><td>", t->firings > 0 ? "fired" : "quiet");
    if (t->index != SIZE_MAX)
        fprintf(o->fp, "<a href=\"#a%zu\">", t->index);
    put_text(o->fp, t->rule);
    fputs(t->index != SIZE_MAX ? "</a></td><td>" : "</td><td>", o->fp);
    if (t->key != NULL)
        put_text(o->fp, t->key);
    fprintf(
        o->fp,
        "</td><td class=\"n\">%llu</td><td>%s</td><td>%s</td><td class=\"state\">%s</td></tr>\n",
        (unsigned long long)t->firings, total, longest, firing_at_end ? "firing" : "");
    return 0;
}

/*
 * "What would have paged": per rule (per key of one judged per key), how
 * many times it fired, for how long in all and at the longest, and whether
 * it still fired at the end of the last step: the numbers of --emit
 * summary, counted by the same tally.c from the report's events. Returns 0
 * or -1 on OOM.
 */
static int
paged_table(const struct report *r, FILE *fp)
{
    const struct ruleset *rs = r->rs;
    struct tally *t = tally_new(rs);
    struct paged_out o = {r, fp};
    size_t i;
    int rc = t == NULL ? -1 : 0;

    for (i = 0; i < r->nev && rc == 0; i++) {
        const struct report_event *e = &r->ev[i];
        const struct rules_metric *m = &rs->metrics[rs->alerts[e->alert].metric];

        rc = tally_event(t, rs->alerts[e->alert].rule, m->name, NULL, e->key, e->firing, e->t_ms);
    }
    if (rc == 0) {
        fputs("<table class=\"paged\"><thead><tr><th>rule</th><th>key</th><th>firings</th>"
              "<th>firing in all</th><th>longest</th><th>at the end</th></tr></thead><tbody>\n",
              fp);
        rc = tally_each(t, r->nsteps > 0 ? r->t[r->nsteps - 1] : 0, paged_row, &o);
        fputs("</tbody></table>\n", fp);
    }
    tally_free(t);
    return rc;
}

/* What a metric's chart says when it has no value: why a ratio has none. */
static const char *
empty_metric(const struct rules_metric *m, char *buf, size_t size)
{
    char num[64];
    struct buf b;

    if (m->kind != RULES_RATIO)
        return "no value in this replay";
    buf_init(&b);
    buf_add_double(&b, m->min);
    snprintf(num, sizeof(num), "%s", b.p != NULL ? buf_cstr(&b) : "0");
    buf_fini(&b);
    if (m->min > 0)
        snprintf(buf, size,
                 "no value in this replay (below min=%s: the denominator never reached %s in "
                 "one step; an alert's window may)",
                 num, num);
    else
        snprintf(buf, size, "no value in this replay (the denominator was 0 at every step)");
    return buf;
}

static const char STYLE[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1040px;padding:0 12px;"
    "color:#222}\n"
    "h2{font-size:16px;margin:1.8em 0 .3em}h3{font-size:14px;margin:1em 0 .2em;font-weight:600}\n"
    "a{color:#1f5fa8}nav a{margin-right:.8em;white-space:nowrap}\n"
    "svg.chart{display:block;width:100%;height:auto}\n"
    ".plot{fill:#fafafa;stroke:#ddd}.grid{stroke:#e6e6e6}\n"
    ".tick{font:11px system-ui,sans-serif;fill:#666}.date{fill:#333}\n"
    ".line{fill:none;stroke:#1f5fa8;stroke-width:1.5;stroke-linejoin:round;stroke-linecap:round}\n"
    ".band{fill:#1f5fa8;opacity:.18}\n"
    ".expband{fill:#8e44ad;opacity:.16}.exp{fill:none;stroke:#8e44ad;stroke-width:1;"
    "stroke-dasharray:3 3}\n"
    ".thr{stroke:#c0392b;stroke-width:1.2;stroke-dasharray:6 4}\n"
    ".fire{fill:#e74c3c;opacity:.22}\n"
    ".guide{stroke:#444;stroke-width:1}.dot{fill:#1f5fa8;stroke:#fff;stroke-width:1.5}\n"
    ".empty{color:#777;font-style:italic;margin:.3em 0 1em}\n"
    ".note{color:#777}.legend span{margin-right:1.2em}\n"
    ".sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}\n"
    "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;vertical-align:top}\n"
    "tbody tr:nth-child(even){background:#f3f3f3}\n"
    "tr.firing .state{color:#c0392b;font-weight:600}tr.resolved .state{color:#27ae60}\n"
    "table.paged .state{color:#c0392b;font-weight:600}table.paged tr.quiet{color:#777}\n"
    "td.n{text-align:right}.moved{font-size:13px;margin-top:2px}.mm{font-weight:600}\n"
    ".tooltip{position:fixed;z-index:9;pointer-events:none;background:#222;color:#fff;"
    "padding:4px 8px;border-radius:3px;font-size:12px;white-space:pre;"
    "box-shadow:0 1px 4px rgba(0,0,0,.3)}\n"
    ".tooltip[hidden]{display:none}\n";

/* The hover tooltips: no rule text in here, only numbers read from data- attributes. */
static const char SCRIPT[] =
    "(function(){'use strict';\n"
    "var R=window.RARR,tip=document.getElementById('tip');\n"
    "if(!R||!tip)return;\n"
    "function num(v){if(!isFinite(v))return '?';"
    "return Math.abs(v)>=1e4?String(Math.round(v)):String(Number(v.toPrecision(4)));}\n"
    "function when(ms){var s=new Date(ms).toISOString();"
    "return s.slice(0,10)+' '+s.slice(11,R.step<60000?19:16);}\n"
    "function arr(el,n){var a=el.getAttribute(n);if(a===null)return null;"
    "return a.split(',').map(function(x){return x===''?NaN:Number(x);});}\n"
    "function near(t){var T=R.T,lo=0,hi=T.length-1;while(lo<hi){var m=(lo+hi)>>1;"
    "if(T[m]<t)lo=m+1;else hi=m;}if(lo>0&&t-T[lo-1]<T[lo]-t)lo--;return lo;}\n"
    "function xof(t){return R.L+(t-R.t0)/(R.t1-R.t0)*R.PW;}\n"
    "Array.prototype.forEach.call(document.querySelectorAll('svg.chart'),function(svg){\n"
    "var d={v:arr(svg,'data-v'),mn:arr(svg,'data-mn'),mx:arr(svg,'data-mx'),"
    "e:arr(svg,'data-e'),el:arr(svg,'data-el'),eu:arr(svg,'data-eu'),"
    "f:svg.getAttribute('data-f')||'',thr:svg.getAttribute('data-thr'),"
    "op:svg.getAttribute('data-op'),lo:Number(svg.getAttribute('data-lo')),"
    "hi:Number(svg.getAttribute('data-hi'))};\n"
    "var g=svg.querySelector('.guide'),dot=svg.querySelector('.dot');\n"
    "function hide(){tip.hidden=true;g.setAttribute('visibility','hidden');"
    "dot.setAttribute('visibility','hidden');}\n"
    "svg.addEventListener('mouseleave',hide);\n"
    "svg.addEventListener('mousemove',function(ev){\n"
    "var b=svg.getBoundingClientRect(),x=(ev.clientX-b.left)/b.width*R.W;\n"
    "if(x<R.L-4||x>R.L+R.PW+4){hide();return;}\n"
    "var i=near(R.t0+(x-R.L)/R.PW*(R.t1-R.t0)),xi=xof(R.T[i]),v=d.v[i];\n"
    "var l=[when(R.T[i])+(R.U&&R.U[i]!==R.T[i]?' to '+when(R.U[i]).slice(11):'')+' UTC'];\n"
    "l.push(isNaN(v)?'no value':'value '+num(v)+(d.mn&&d.mn[i]!==d.mx[i]?"
    "' (min '+num(d.mn[i])+', max '+num(d.mx[i])+')':''));\n"
    "if(d.e&&!isNaN(d.e[i]))l.push('expected '+num(d.e[i])+' ('+num(d.el[i])+' to '"
    "+num(d.eu[i])+')');\n"
    "if(d.thr!==null)l.push('threshold: '+d.op+' '+num(Number(d.thr)));\n"
    "if(d.f.charAt(i)==='1')l.push('FIRING');\n"
    "tip.textContent=l.join('\\n');tip.hidden=false;\n"
    "var tx=ev.clientX+14,ty=ev.clientY+14;\n"
    "if(tx+tip.offsetWidth>window.innerWidth-4)tx=ev.clientX-14-tip.offsetWidth;\n"
    "if(ty+tip.offsetHeight>window.innerHeight-4)ty=ev.clientY-14-tip.offsetHeight;\n"
    "tip.style.left=tx+'px';tip.style.top=ty+'px';\n"
    "g.setAttribute('x1',xi);g.setAttribute('x2',xi);g.setAttribute('visibility','visible');\n"
    "if(isNaN(v)){dot.setAttribute('visibility','hidden');}else{dot.setAttribute('cx',xi);"
    "dot.setAttribute('cy',R.T0+R.PH-(v-d.lo)/(d.hi-d.lo)*R.PH);"
    "dot.setAttribute('visibility','visible');}\n"
    "});\n});\n})();\n";

/* The numbers the hover script shares across charts: the geometry and each point's times. */
static void
put_script_data(const struct report *r, FILE *fp)
{
    size_t per = per_point(r), i, k;

    fprintf(fp, "<script>\nvar RARR={W:%d,L:%d,PW:%d,T0:%d,PH:%d,step:%lld,t0:%lld,t1:%lld,\nT:[",
            CHART_W, PLOT_L, PLOT_W, PLOT_T, PLOT_H, (long long)r->step_ms, (long long)t_first(r),
            (long long)r->t[r->nsteps - 1]);
    for (k = 0, i = 0; i < r->nsteps; i += per, k++)
        fprintf(fp, "%s%lld", k > 0 ? "," : "", (long long)r->t[i]);
    fputs("]", fp);
    if (per > 1) {
        fputs(",\nU:[", fp);
        for (k = 0, i = 0; i < r->nsteps; i += per, k++)
            fprintf(fp, "%s%lld", k > 0 ? "," : "",
                    (long long)r->t[i + per < r->nsteps ? i + per - 1 : r->nsteps - 1]);
        fputs("]", fp);
    }
    fputs("};\n</script>\n", fp);
}

/* Whether alert 'i' judges each key of its metric apart: no one value to chart. */
static int
alert_keyed(const struct report *r, size_t i)
{
    size_t s;

    for (s = 0; s < r->nsteps; s++)
        if (!isnan(r->v[s * width(r) + r->rs->nmetrics + i]))
            return 0;
    for (s = 0; s < r->nev; s++)
        if (r->ev[s].alert == i && r->ev[s].key != NULL)
            return 1;
    return rules_keyed_metric(r->rs, r->rs->alerts[i].metric) != SIZE_MAX;
}

/* The charts: one per alert, then one per metric and its keys. */
static int
charts(const struct report *r, FILE *fp)
{
    const struct ruleset *rs = r->rs;
    char st[RARR_DUR_MAX], why[256];
    size_t i, k, fired;
    int rc = 0, banded;

    clock_format_duration(r->step_ms, st);
    for (i = 0; i < rs->nalerts; i++) {
        const struct rules_alert *a = &rs->alerts[i];

        for (fired = 0, k = 0; k < r->nev; k++)
            fired += r->ev[k].alert == i && r->ev[k].firing;
        fprintf(fp, "<h2 id=\"a%zu\">%s: ", i, a->anomaly ? "anomaly" : "alert");
        put_text(fp, a->rule);
        fputs("</h2>\n<p class=\"note\">", fp);
        for (banded = 0, k = 0; k < r->nbands; k++)
            banded |= r->bands[k].alert == i && r->bands[k].key == NULL;
        if (a->anomaly)
            fprintf(fp, "what the detector read per %s; shaded: firing%s", st,
                    banded ? "; dotted, in its band: what it expected, per step, from the "
                             "firing and resolved records"
                           : "");
        else
            fprintf(fp, "the value over the window; dashed: the threshold; shaded: firing");
        if (!a->anomaly && rs->metrics[a->metric].kind == RULES_RATIO) {
            fputs("; a gap: no value (the denominator below min=", fp);
            put_num(fp, rs->metrics[a->metric].min);
            fputs(" over the window)", fp);
        }
        if (fired > 0)
            fprintf(fp, "; fired %zu time%s", fired, fired > 1 ? "s" : "");
        fputs("</p>\n", fp);
        if (alert_keyed(r, i)) {
            fputs("<p class=\"empty\">judged per key of ", fp);
            fprintf(fp, "<a href=\"#m%zu\">", a->metric);
            put_text(fp, rs->metrics[a->metric].name);
            fputs("</a>: no single value; see the metric's key charts</p>\n", fp);
            continue;
        }
        rc |= chart(
            r, fp,
            &(struct chart_spec){
                {r->v + rs->nmetrics + i, width(r)}, a->anomaly ? NULL : a, {i, 0, NULL}, NULL});
    }
    for (i = 0; i < rs->nmetrics; i++) {
        fprintf(fp, "<h2 id=\"m%zu\">metric: ", i);
        put_text(fp, rs->metrics[i].name);
        if (rs->metrics[i].category != RULES_NONE)
            fprintf(fp, " (%s)", rules_category_name(rs->metrics[i].category));
        fprintf(fp, ", per %s</h2>\n", st);
        rc |= chart(r, fp,
                    &(struct chart_spec){{r->v + i, width(r)},
                                         NULL,
                                         {SIZE_MAX, i, NULL},
                                         empty_metric(&rs->metrics[i], why, sizeof(why))});
        rc |= key_charts(r, fp, i);
    }
    return rc;
}

/* The page, with 'live' its self-reload. Returns 0, or -1 on OOM or if writing failed. */
static int
page(const struct report *r, FILE *fp)
{
    const struct ruleset *rs = r->rs;
    char t0[RARR_TIME_MAX], t1[RARR_TIME_MAX], st[RARR_DUR_MAX];
    size_t i;
    int rc = 0;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n", fp);
    if (r->live)
        fputs("<meta http-equiv=\"refresh\" content=\"60\">\n", fp);
    fprintf(fp, "<title>rarr report</title>\n<style>\n%s</style></head><body>\n", STYLE);
    fputs(
        "<div id=\"tip\" class=\"tooltip\" role=\"tooltip\" hidden></div>\n<h1>rarr report</h1>\n",
        fp);
    if (r->nsteps == 0) {
        fputs("<p>No complete step was evaluated: the input held less than one step of "
              "events.</p>\n</body></html>\n",
              fp);
        return ferror(fp) ? -1 : 0;
    }
    clock_format_time(t_first(r), t0);
    clock_format_time(r->t[r->nsteps - 1], t1);
    clock_format_duration(r->step_ms, st);
    fprintf(fp, "<p>%s to %s, %zu steps of %s. All times are UTC.%s</p>\n", t0, t1, r->nsteps, st,
            r->live ? " Live: this page is rewritten and reloads every minute." : "");
    fputs("<p class=\"legend note\"><span><i class=\"sw\" style=\"background:#f5b7b1\"></i>"
          "firing</span><span><i class=\"sw\" style=\"border-top:2px dashed #c0392b\"></i>"
          "threshold</span><span><i class=\"sw\" style=\"background:#d9c6e3\"></i>expected "
          "band (anomaly)</span><span><i class=\"sw\" style=\"background:#c9d7e9\"></i>min to "
          "max within a point</span>Hover a chart for its values.</p>\n<nav>",
          fp);
    for (i = 0; i < rs->nalerts; i++) {
        fprintf(fp, "<a href=\"#a%zu\">", i);
        put_text(fp, rs->alerts[i].rule);
        fputs("</a>\n", fp);
    }
    for (i = 0; i < rs->nmetrics; i++) {
        fprintf(fp, "<a href=\"#m%zu\">", i);
        put_text(fp, rs->metrics[i].name);
        fputs("</a>\n", fp);
    }
    fputs("</nav>\n<h2 id=\"paged\">What would have paged</h2>\n", fp);
    rc |= paged_table(r, fp);
    fputs("<h2 id=\"events\">Events</h2>\n", fp);
    rc |= events_table(r, fp);
    rc |= charts(r, fp);
    put_script_data(r, fp);
    fprintf(fp, "<script>\n%s</script>\n</body></html>\n", SCRIPT);
    return rc == 0 && !ferror(fp) ? 0 : -1;
}

/*
 * Write the report as one HTML page to 'fp' (borrowed). A live report
 * (report_live) reloads itself every minute. Returns 0, or -1 if writing
 * failed or memory ran out (errno set).
 */
int
report_write(const struct report *r, FILE *fp)
{
    if (page(r, fp) == -1) {
        if (errno == 0)
            errno = ENOMEM;
        return -1;
    }
    return 0;
}

/*
 * Write the report to 'path' atomically: the page is made in memory, then
 * written to a new temporary file beside PATH that is renamed over it
 * (statefile_write: mode 0600, fsynced), so a browser reloading the page
 * never reads half of one. For the live rewrite every minute and for the
 * last page. Returns 0, or -1 with errno set (PATH is then untouched).
 */
int
report_save(const struct report *r, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    int rc, saved;

    if (fp == NULL)
        return -1;
    errno = 0;
    rc = page(r, fp);
    saved = errno;
    if (fclose(fp) == EOF || rc == -1) {
        free(text);
        errno = saved != 0 ? saved : ENOMEM;
        return -1;
    }
    /* statefile_write adds the page's last newline itself. */
    rc = statefile_write(path, text, len > 0 && text[len - 1] == '\n' ? len - 1 : len);
    saved = errno;
    free(text);
    errno = saved;
    return rc;
}
