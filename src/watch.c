/*
 * watch.c -- --watch: a live full-screen view of every metric on the
 * terminal. It reads the step stage as the exporters do (export.c), and
 * the event records through emit's tap.
 *
 * It runs on the pipeline's thread as its exporter hook (watch_update:
 * after each evaluated step, before the reader waits for input, and at the
 * end). Each newly evaluated step's values go into a ring per metric that
 * holds the last hour of steps (at most WATCH_RING_MAX); the screen is drawn
 * at most every WATCH_INTERVAL_MS and the keyboard read as often, since the
 * hook's return value caps the reader's wait. Event records come through
 * watch_record, for the "latest events" panel and the anomaly rules'
 * expected bands. Memory is bounded by the rules and the step, never by the
 * input.
 *
 * The terminal is opened by name (/dev/tty: stdin is the log, stdout the
 * NDJSON) with newterm, so nothing is drawn on stdout. Whatever the way out
 * -- watch_free, or exit() through the atexit fallback -- the terminal is
 * restored. SIGINT and SIGTERM keep the program's dispositions (ncurses
 * puts its own where they are SIG_DFL: they are put back at once), and
 * SIGTSTP's and SIGWINCH's, ncurses' while the view is up, are put back by
 * watch_free.
 *
 * Text from the input (keys, anything in a record) is shown with control
 * bytes and invalid UTF-8 replaced by '?', so a log line cannot drive the
 * terminal.
 */
#include "rarr/watch.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <curses.h>

#include <jansson.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/emit.h"
#include "rarr/related.h"
#include "rarr/rules.h"
#include "rarr/step.h"

/* The most steps a ring holds: an hour of 1 s steps. */
#define WATCH_RING_MAX 3600
/* Every so often the whole screen is painted again: lines on stderr may have garbled it. */
#define WATCH_REPAINT_S 5.0
/* A sparkline narrower than this is left out. */
#define WATCH_SPARK_MIN 4
/* The bytes of a by= key kept beside a firing metric. */
#define WATCH_KEY_MAX 40
/* Firings whose "related" metrics are marked (the newest kept), and the metrics shown after one. */
#define WATCH_FIRINGS 32
#define WATCH_RELATED_SHOWN 2

/* The last hour of one metric's step values: 'n' values, the newest at 'head - 1'. */
struct watch_ring {
    double *v;          /* [cap] */
    unsigned char *def; /* [cap] the step had a value */
    size_t head, n;
};

struct watch_metric {
    char *name;
    struct watch_ring ring;
    int keyed;                   /* the metric has by= keys: its alerts are per key */
    size_t nfiring;              /* its alerts (or their keys) firing now */
    char key[WATCH_KEY_MAX + 1]; /* the first firing key, when keyed */
    size_t key_len;
};

/* The expected band of the last anomaly record of 'metric' (without a key). */
struct watch_band {
    char *metric;
    double expected, lower, upper;
};

/* A metric a firing record named in "related": its name and relative change. */
struct watch_moved {
    char *metric;
    double change;
};

/*
 * A firing that named related metrics, kept until its resolved record (the
 * same rule and key) comes: its metrics' rows are marked while it fires.
 */
struct watch_firing {
    char *rule, *key; /* key NULL: none */
    struct watch_moved v[RELATED_MAX];
    size_t n;
};

/* One line of the "latest events" panel, as its record said it. */
struct watch_event {
    char text[256];
    int firing;
};

/* The columns of a metric row, in order. */
enum { COL_NAME, COL_CAT, COL_STEP, COL_WIN, COL_MOVED, COL_BAND, COL_SPARK, COL_STATE, COL_N };

struct watch {
    FILE *tty;
    SCREEN *scr;
    volatile sig_atomic_t *stop;
    int utf8;     /* the locale's characters are UTF-8: block characters, keys as they are */
    int quitting; /* q was pressed */
    struct sigaction old_tstp, old_winch;

    const struct ruleset *rs; /* borrowed: the rules 'm' follows */
    struct watch_metric *m;   /* [nmetrics] */
    size_t nmetrics;
    size_t cap; /* ring length */
    int64_t step_ms;
    int64_t last_next; /* step_next when the last step was taken in; INT64_MIN: none yet */
    int lines_firing;  /* the input-wide lines rule fires */

    uint64_t lines; /* lines read */
    int64_t newest; /* newest event time */
    int started;    /* an event came */
    double rate;    /* lines/s over the last second or so */
    double rate_t;  /* monotonic seconds of the rate's last sample; 0: none */
    uint64_t rate_lines;
    double drawn, repainted; /* monotonic seconds of the last draw and the last full repaint */
    int dirty;               /* a key or a resize: draw at this call */

    struct watch_band *bands;
    size_t nbands;
    struct watch_event ev[WATCH_EVENTS]; /* a ring, the newest at ev_next - 1 */
    size_t nev, ev_next;
    struct watch_firing firings[WATCH_FIRINGS]; /* the oldest first */
    size_t nfirings;
    struct buf tmp; /* text being put on the screen */
};

/* The watch whose terminal is in use, for the atexit fallback. */
static struct watch *watch_live;
static int watch_atexit_set;

/* At exit, a terminal left in curses mode (a path that did not call watch_free) is restored. */
static void
watch_atexit(void)
{
    if (watch_live != NULL && watch_live->scr != NULL && !isendwin())
        endwin();
}

/* How many steps of 'step_ms' make the last hour: 1 to WATCH_RING_MAX. */
static size_t
ring_cap(int64_t step_ms)
{
    int64_t n = (CLOCK_HOUR_MS + step_ms - 1) / step_ms;

    return n < 1 ? 1 : n > WATCH_RING_MAX ? WATCH_RING_MAX : (size_t)n;
}

static int
ring_init(struct watch_ring *r, size_t cap)
{
    r->head = r->n = 0;
    r->v = calloc(cap, sizeof(*r->v));
    r->def = calloc(cap, 1);
    return r->v != NULL && r->def != NULL ? 0 : -1;
}

static void
ring_fini(struct watch_ring *r)
{
    free(r->v);
    free(r->def);
    memset(r, 0, sizeof(*r));
}

static void
ring_push(struct watch_ring *r, size_t cap, double v, int defined)
{
    if (r->v == NULL)
        return;
    r->v[r->head] = defined ? v : 0;
    r->def[r->head] = defined != 0;
    r->head = (r->head + 1) % cap;
    if (r->n < cap)
        r->n++;
}

/* Value 'i' of 'r' counting from the oldest held (0 <= i < n); '*defined' 0 for a gap. */
static double
ring_at(const struct watch_ring *r, size_t cap, size_t i, int *defined)
{
    size_t k = (r->head + cap - r->n + i) % cap;

    *defined = r->def[k];
    return r->v[k];
}

/* The sum of the last 'steps' values of 'r' into '*sum'; -1 when it holds fewer. */
static int
ring_sum(const struct watch_ring *r, size_t cap, size_t steps, double *sum)
{
    size_t i;
    int defined;
    double v;

    if (steps == 0 || steps > r->n)
        return -1;
    *sum = 0;
    for (i = r->n - steps; i < r->n; i++) {
        v = ring_at(r, cap, i, &defined);
        if (defined)
            *sum += v;
    }
    return 0;
}

static void
metrics_free(struct watch_metric *m, size_t n)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < n; i++) {
        free(m[i].name);
        ring_fini(&m[i].ring);
    }
    free(m);
}

/*
 * Start curses on the terminal 'w->tty' (already open): no echo, cbreak, a
 * keyboard that never blocks. SIGINT and SIGTERM keep the dispositions they
 * had: the program's handlers only set flags, so the pipeline ends as
 * usual. Returns 0, or -1 with a message in 'err' (TERM unset or unknown).
 */
static int
screen_open(struct watch *w, const char *tty, char *err, size_t errlen)
{
    const char *term = getenv("TERM");
    struct sigaction old_int, old_term;

    if (term == NULL || term[0] == '\0') {
        snprintf(err, errlen, "TERM is not set (a terminal type is needed)");
        return -1;
    }
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    sigaction(SIGTSTP, NULL, &w->old_tstp);
    sigaction(SIGWINCH, NULL, &w->old_winch);
    if ((w->scr = newterm(NULL, w->tty, w->tty)) == NULL) {
        snprintf(err, errlen, "%s: cannot draw on a terminal of type '%.64s'", tty, term);
        return -1;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    cbreak();
    noecho();
    nodelay(stdscr, TRUE);
    keypad(stdscr, TRUE);
    leaveok(stdscr, TRUE);
    curs_set(0);
    return 0;
}

/*
 * Open the terminal 'tty' (normally "/dev/tty") for drawing and for keys.
 * Pressing q sets '*stop' (borrowed: the pipeline's stop flag). Also sets
 * the locale's LC_CTYPE (for the UTF-8 test and ncursesw), never
 * LC_NUMERIC. Returns the watch, to be freed with watch_free; NULL with a
 * message in 'err' (no terminal, TERM unset or unknown, out of memory, a
 * watch already open).
 */
struct watch *
watch_new(const char *tty, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    struct watch *w;

    if (watch_live != NULL) {
        snprintf(err, errlen, "the terminal is already in use");
        return NULL;
    }
    if ((w = calloc(1, sizeof(*w))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->stop = stop;
    w->last_next = INT64_MIN;
    buf_init(&w->tmp);
    if ((w->tty = fopen(tty, "r+")) == NULL) {
        snprintf(err, errlen, "%s: %s (a terminal is needed)", tty, strerror(errno));
        goto err;
    }
    if (!isatty(fileno(w->tty))) {
        snprintf(err, errlen, "%s: not a terminal", tty);
        goto err;
    }
    setlocale(LC_CTYPE, "");
    w->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    if (screen_open(w, tty, err, errlen) == -1)
        goto err;
    watch_live = w;
    if (!watch_atexit_set && atexit(watch_atexit) == 0)
        watch_atexit_set = 1;
    return w;
err:
    watch_free(w);
    return NULL;
}

/* Forget firing 'i' of 'w->firings'; the later ones move up. */
static void
firing_drop(struct watch *w, size_t i)
{
    struct watch_firing *f = &w->firings[i];
    size_t j;

    free(f->rule);
    free(f->key);
    for (j = 0; j < f->n; j++)
        free(f->v[j].metric);
    memmove(f, f + 1, (w->nfirings - i - 1) * sizeof(*f));
    w->nfirings--;
}

/*
 * Restore the terminal (endwin), the dispositions of SIGTSTP and SIGWINCH,
 * and free everything. Does nothing if 'w' is NULL.
 */
void
watch_free(struct watch *w)
{
    size_t i;

    if (w == NULL)
        return;
    if (w->scr != NULL) {
        set_term(w->scr);
        if (!isendwin())
            endwin();
        delscreen(w->scr);
        sigaction(SIGTSTP, &w->old_tstp, NULL);
        sigaction(SIGWINCH, &w->old_winch, NULL);
    }
    if (watch_live == w)
        watch_live = NULL;
    if (w->tty != NULL)
        fclose(w->tty);
    metrics_free(w->m, w->nmetrics);
    for (i = 0; i < w->nbands; i++)
        free(w->bands[i].metric);
    free(w->bands);
    while (w->nfirings > 0)
        firing_drop(w, 0);
    buf_fini(&w->tmp);
    free(w);
}

/*
 * Whether the NDJSON may go to stdout while the view is drawn: 1 unless
 * stdout is the terminal the view is on (the controlling terminal, which
 * /dev/tty opens), where the records would garble the screen.
 */
int
watch_stdout_ok(void)
{
    /* tcgetsid succeeds only on the caller's controlling terminal. */
    return !isatty(STDOUT_FILENO) || tcgetsid(STDOUT_FILENO) == -1;
}

/* Whether 'rs' is the ruleset whose metrics 'w' holds (a reload may reuse its address). */
static int
same_rules(const struct watch *w, const struct ruleset *rs)
{
    size_t i;

    if (rs != w->rs || rs->nmetrics != w->nmetrics)
        return 0;
    for (i = 0; i < rs->nmetrics; i++)
        if (strcmp(rs->metrics[i].name, w->m[i].name) != 0)
            return 0;
    return 1;
}

/* The metric of 'old' ('n' of them) named 'name', or NULL. */
static struct watch_metric *
find_metric(struct watch_metric *old, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(old[i].name, name) == 0)
            return &old[i];
    return NULL;
}

/*
 * Follow the rules of 'p' (new after a SIGHUP reload): a metric whose name
 * stays keeps its history. Returns 0, or -1 out of memory (the view keeps
 * the metrics it had, and tries again at the next call).
 */
static int
follow_rules(struct watch *w, struct pipeline *p)
{
    const struct ruleset *rs = pipeline_rules(p);
    struct watch_metric *m, *old;
    size_t i;

    if (w->cap == 0) {
        w->step_ms = pipeline_opts(p)->step_ms;
        w->cap = ring_cap(w->step_ms);
    }
    if (same_rules(w, rs))
        return 0;
    if ((m = calloc(rs->nmetrics + 1, sizeof(*m))) == NULL)
        return -1;
    for (i = 0; i < rs->nmetrics; i++) {
        if ((m[i].name = strdup(rs->metrics[i].name)) == NULL)
            goto oom;
        if (find_metric(w->m, w->nmetrics, m[i].name) == NULL &&
            ring_init(&m[i].ring, w->cap) == -1)
            goto oom;
    }
    /* Nothing can fail from here: the rings that stay move over. */
    for (i = 0; i < rs->nmetrics; i++)
        if ((old = find_metric(w->m, w->nmetrics, m[i].name)) != NULL) {
            m[i].ring = old->ring;
            memset(&old->ring, 0, sizeof(old->ring));
        }
    metrics_free(w->m, w->nmetrics);
    w->m = m;
    w->nmetrics = rs->nmetrics;
    w->rs = rs;
    return 0;
oom:
    metrics_free(m, rs->nmetrics);
    return -1;
}

/* Whether a step of metric 'm' without lines is 0 (a count, a sum) rather than no value. */
static int
zero_when_idle(const struct rules_metric *m)
{
    return m->kind == RULES_COUNT || m->kind == RULES_SUM || m->kind == RULES_DISTINCT;
}

/*
 * Take in the step evaluated since the last call, if any (step_next moved
 * on). Steps crossed in one jump after a long all-zero run (step_advance)
 * were all zero: they go in as zeros (no value for ratios and quantiles).
 */
static void
take_step(struct watch *w, struct pipeline *p)
{
    const struct step *s = pipeline_step(p);
    int64_t next = step_next(s), skipped = 0, k;
    size_t i;
    int defined;
    double v;

    if (!step_evaluated(s) || next == w->last_next || w->rs != pipeline_rules(p))
        return;
    if (w->last_next != INT64_MIN && next > w->last_next)
        skipped = (next - w->last_next) / w->step_ms - 1;
    if (skipped > (int64_t)w->cap)
        skipped = (int64_t)w->cap;
    for (k = 0; k < skipped; k++)
        for (i = 0; i < w->nmetrics; i++)
            ring_push(&w->m[i].ring, w->cap, 0, zero_when_idle(&w->rs->metrics[i]));
    for (i = 0; i < w->nmetrics; i++) {
        v = step_value(s, i, &defined);
        ring_push(&w->m[i].ring, w->cap, v, defined && isfinite(v));
    }
    w->last_next = next;
}

/* The input counters and the event clock, and lines/s over the last second or so. */
static void
take_counts(struct watch *w, struct pipeline *p, double now)
{
    const struct step *s = pipeline_step(p);
    struct pipeline_counts c;

    pipeline_counts(p, &c);
    w->lines = c.lines;
    w->started = step_started(s);
    w->newest = step_newest(s);
    if (w->rate_t == 0 || c.lines < w->rate_lines) {
        w->rate_t = now;
        w->rate_lines = c.lines;
    } else if (now - w->rate_t >= 1.0) {
        w->rate = (double)(c.lines - w->rate_lines) / (now - w->rate_t);
        w->rate_t = now;
        w->rate_lines = c.lines;
    }
}

/* step_alerts' visitor: count what fires per metric, and keep the first firing key. */
static int
alert_seen(void *arg, const struct step_alert *a)
{
    struct watch *w = arg;
    struct watch_metric *m;
    size_t n;

    if (!a->firing)
        return 0;
    if (a->alert == SIZE_MAX) {
        w->lines_firing = 1;
        return 0;
    }
    if (a->alert >= w->rs->nalerts || w->rs->alerts[a->alert].metric >= w->nmetrics)
        return 0;
    m = &w->m[w->rs->alerts[a->alert].metric];
    if (m->nfiring++ == 0 && a->key != NULL) {
        n = a->key_len < WATCH_KEY_MAX ? a->key_len : WATCH_KEY_MAX;
        memcpy(m->key, a->key, n);
        m->key[n] = '\0';
        m->key_len = n;
    }
    return 0;
}

/* Which metrics have keys, and which alerts fire now (step_alerts: firing or not, no pending). */
static void
take_alerts(struct watch *w, struct pipeline *p)
{
    const struct step *s = pipeline_step(p);
    size_t i;

    if (w->rs != pipeline_rules(p))
        return;
    w->lines_firing = 0;
    for (i = 0; i < w->nmetrics; i++) {
        w->m[i].keyed = step_keys_of(s, i) != NULL;
        w->m[i].nfiring = 0;
        w->m[i].key_len = 0;
    }
    step_alerts(s, alert_seen, w);
}

/* Read every key waiting: q stops the run, a resize or ^L draws again. */
static void
read_keys(struct watch *w)
{
    int ch;

    while ((ch = getch()) != ERR) {
        if (ch == 'q' || ch == 'Q') {
            *w->stop = 1;
            w->quitting = 1;
            w->dirty = 1;
        } else if (ch == KEY_RESIZE) {
            w->dirty = 1;
        } else if (ch == 'L' - '@') {
            clearok(curscr, TRUE);
            w->dirty = 1;
        }
    }
}

/*
 * Append to 'b' at most 'cols' columns of 's' ('len' bytes) as they may be
 * shown: a control byte, or a byte that does not begin valid UTF-8 (any
 * byte above 0x7f outside a UTF-8 locale), becomes '?'. A character counts
 * one column. Returns the columns appended.
 */
static int
safe_text(const struct watch *w, struct buf *b, const char *s, size_t len, int cols)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;
    int used = 0;

    while (i < len && used < cols) {
        n = u[i] < 0x80 || !w->utf8 ? 1 : emit_utf8_len(u + i, len - i);
        if (u[i] < 0x20 || u[i] == 0x7f || (u[i] >= 0x80 && (!w->utf8 || n == 0))) {
            buf_addc(b, '?');
            n = 1;
        } else {
            buf_add(b, s + i, n);
        }
        i += n;
        used++;
    }
    return used;
}

/*
 * Put 's' ('len' bytes) at row 'y', column 'x', in at most 'width'
 * columns and never past the screen's edge; 'right' aligns it right.
 */
static void
put(struct watch *w, int y, int x, const char *s, size_t len, int width, int right)
{
    int room = width < COLS - x ? width : COLS - x, cols;

    if (y < 0 || y >= LINES || x < 0 || room <= 0)
        return;
    w->tmp.len = 0;
    cols = safe_text(w, &w->tmp, s, len, room);
    if (w->tmp.len > 0)
        mvaddnstr(y, right ? x + room - cols : x, w->tmp.p, (int)w->tmp.len);
}

static void
puts_at(struct watch *w, int y, int x, const char *s, int width)
{
    put(w, y, x, s, strlen(s), width, 0);
}

/* 'v' as the records give it, shortened for a person (emit_short_num); "-" when not 'defined'. */
static void
num_text(char *out, size_t outlen, double v, int defined)
{
    struct buf b;

    buf_init(&b);
    if (!defined || emit_short_num(&b, v) == -1 || b.len == 0)
        snprintf(out, outlen, "-");
    else
        snprintf(out, outlen, "%.*s", (int)b.len, b.p);
    buf_fini(&b);
}

/* The first threshold alert (not an anomaly rule) on metric 'i', or NULL. */
static const struct rules_alert *
threshold_of(const struct ruleset *rs, size_t i)
{
    size_t j;

    for (j = 0; j < rs->nalerts; j++)
        if (rs->alerts[j].metric == i && !rs->alerts[j].anomaly)
            return &rs->alerts[j];
    return NULL;
}

/*
 * The value of metric 'i' over the window of alert 'a', from the rings: a
 * count's or a sum's steps added up, a ratio from its operands' sums.
 * Returns -1 (nothing to show) when the rings do not reach back that far,
 * for a by= metric (its alerts are per key), for a distinct= or quantile
 * metric (their steps do not add up), and for a ratio without a value.
 */
static int
window_value(const struct watch *w, size_t i, const struct rules_alert *a, double *v)
{
    const struct rules_metric *m = &w->rs->metrics[i];
    size_t steps = (size_t)(a->window_ms / w->step_ms);
    double x, y;

    if (w->m[i].keyed)
        return -1;
    if (m->kind == RULES_COUNT || m->kind == RULES_SUM)
        return ring_sum(&w->m[i].ring, w->cap, steps, v);
    if (m->kind != RULES_RATIO || m->a >= w->nmetrics || m->b >= w->nmetrics ||
        ring_sum(&w->m[m->a].ring, w->cap, steps, &x) == -1 ||
        ring_sum(&w->m[m->b].ring, w->cap, steps, &y) == -1)
        return -1;
    if (y == 0 || y < m->min || !isfinite(*v = x / y * m->k))
        return -1;
    return 0;
}

/* The WINDOW cell of metric 'i': "VALUE/WINDOW <THRESHOLD", or "" without a threshold alert. */
static void
window_text(const struct watch *w, size_t i, char *out, size_t outlen)
{
    const struct rules_alert *a = threshold_of(w->rs, i);
    char v[32], t[32], dur[RARR_DUR_MAX];
    double x = 0;

    out[0] = '\0';
    if (a == NULL)
        return;
    num_text(v, sizeof(v), x, window_value(w, i, a, &x) == 0);
    num_text(t, sizeof(t), a->threshold, 1);
    clock_format_duration(a->window_ms, dur);
    snprintf(out, outlen, "%s/%s %c%s", v, dur, a->above ? '>' : '<', t);
}

/* The BAND cell of metric 'i': "EXPECTED (LOWER..UPPER)" from its last anomaly record, or "". */
static void
band_text(const struct watch *w, size_t i, char *out, size_t outlen)
{
    char e[32], lo[32], hi[32];
    size_t j;

    out[0] = '\0';
    for (j = 0; j < w->nbands; j++)
        if (strcmp(w->bands[j].metric, w->m[i].name) == 0)
            break;
    if (j == w->nbands)
        return;
    num_text(e, sizeof(e), w->bands[j].expected, 1);
    num_text(lo, sizeof(lo), w->bands[j].lower, 1);
    num_text(hi, sizeof(hi), w->bands[j].upper, 1);
    snprintf(out, outlen, "%s (%s..%s)", e, lo, hi);
}

/* Whether the alert or anomaly rule named 'rule' fires now (as step_alerts last said). */
static int
rule_firing(const struct watch *w, const char *rule)
{
    size_t j;

    for (j = 0; j < w->rs->nalerts; j++)
        if (strcmp(w->rs->alerts[j].rule, rule) == 0)
            return w->rs->alerts[j].metric < w->nmetrics &&
                   w->m[w->rs->alerts[j].metric].nfiring > 0;
    return w->lines_firing; /* not a rule of the files: the input-wide lines rule */
}

/* 'change' as a short signed percentage: "-75%", "+59%" (a true minus and arrows in UTF-8). */
static void
change_text(const struct watch *w, double change, int arrow, char *out, size_t outlen)
{
    double pct = round(fabs(change) * 100);
    const char *sign = change < 0 ? (w->utf8 ? (arrow ? "\u2193" : "\u2212") : "-")
                                  : (w->utf8 && arrow ? "\u2191" : "+");

    if (pct > 999)
        snprintf(out, outlen, "%s>999%%", sign);
    else
        snprintf(out, outlen, "%s%.0f%%", sign, pct);
}

/*
 * The MOVED cell of metric 'i': its change ("\u219375%": down 75 %) as a
 * firing that fires now named it in "related" (the strongest, when several
 * did), or "".
 */
static void
moved_text(const struct watch *w, size_t i, char *out, size_t outlen)
{
    const struct watch_moved *best = NULL;
    size_t f, j;

    out[0] = '\0';
    for (f = 0; f < w->nfirings; f++) {
        if (!rule_firing(w, w->firings[f].rule))
            continue;
        for (j = 0; j < w->firings[f].n; j++)
            if (strcmp(w->firings[f].v[j].metric, w->m[i].name) == 0 &&
                (best == NULL || fabs(w->firings[f].v[j].change) > fabs(best->change)))
                best = &w->firings[f].v[j];
    }
    if (best != NULL)
        change_text(w, best->change, 1, out, outlen);
}

/*
 * The mean of the values of 'r' from 'from' to 'to' (exclusive) into
 * '*mean'; 0 when none of them has a value.
 */
static int
ring_mean(const struct watch_ring *r, size_t cap, size_t from, size_t to, double *mean)
{
    size_t i, n = 0;
    int defined;
    double v, sum = 0;

    for (i = from; i < to; i++) {
        v = ring_at(r, cap, i, &defined);
        if (defined) {
            sum += v;
            n++;
        }
    }
    *mean = n > 0 ? sum / (double)n : 0;
    return n > 0;
}

/*
 * Put the sparkline of ring 'r' at row 'y', column 'x', in 'width'
 * columns: one column a step, or, when the ring holds more steps than
 * that, the mean of as many steps as a column takes; the newest on the
 * right. Eight levels from 0 (or the lowest value, when one is below 0) to
 * the highest; a column without any value is blank.
 */
static void
put_spark(struct watch *w, int y, int x, int width, const struct watch_ring *r)
{
    static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ascii[] = "_.-~=+*#";
    double v[WATCH_RING_MAX], lo = 0, hi = 0;
    unsigned char has[WATCH_RING_MAX];
    int cols = (int)r->n < width ? (int)r->n : width, j, level;

    if (width > COLS - x)
        width = cols = COLS - x < cols ? COLS - x : cols;
    if (y >= LINES || cols <= 0)
        return;
    for (j = 0; j < cols; j++) {
        has[j] = (unsigned char)ring_mean(r, w->cap, r->n * (size_t)j / (size_t)cols,
                                          r->n * (size_t)(j + 1) / (size_t)cols, &v[j]);
        if (has[j] && v[j] < lo)
            lo = v[j];
        if (has[j] && v[j] > hi)
            hi = v[j];
    }
    w->tmp.len = 0;
    for (j = 0; j < cols; j++) {
        level = hi > lo ? (int)lround((v[j] - lo) / (hi - lo) * 7) : 0;
        level = level < 0 ? 0 : level > 7 ? 7 : level;
        if (!has[j])
            buf_addc(&w->tmp, ' ');
        else if (w->utf8)
            buf_adds(&w->tmp, blocks[level]);
        else
            buf_addc(&w->tmp, ascii[level]);
    }
    if (w->tmp.len > 0)
        mvaddnstr(y, x + width - cols, w->tmp.p, (int)w->tmp.len);
}

/*
 * The widths of the columns for a screen 'cols' wide (0: left out): the
 * name, the step value and the state always; the window, what moved, the
 * category and the band as they fit, in that order, beside a sparkline of at least
 * WATCH_SPARK_MIN columns, which takes what is left (no wider than the ring).
 */
static void
layout(const struct watch *w, int cols, int *width)
{
    static const int want[COL_N] = {0, 10, 9, 14, 6, 18, 0, 6};
    static const int optional[] = {COL_WIN, COL_MOVED, COL_CAT, COL_BAND};
    size_t i, name = 6, used;
    int spark;

    for (i = 0; i < w->nmetrics; i++)
        if (strlen(w->m[i].name) > name)
            name = strlen(w->m[i].name);
    memset(width, 0, COL_N * sizeof(*width));
    width[COL_NAME] = name > 24 ? 24 : (int)name;
    width[COL_STEP] = want[COL_STEP];
    width[COL_STATE] = want[COL_STATE];
    used = (size_t)width[COL_NAME] + 1 + (size_t)width[COL_STEP] + 1 + (size_t)width[COL_STATE];
    for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
        if (used + 1 + (size_t)want[optional[i]] + 1 + WATCH_SPARK_MIN <= (size_t)cols) {
            width[optional[i]] = want[optional[i]];
            used += 1 + (size_t)want[optional[i]];
        }
    spark = cols - (int)used - 1;
    if (spark >= WATCH_SPARK_MIN)
        width[COL_SPARK] = spark > (int)w->cap ? (int)w->cap : spark;
}

/* The column where column 'c' begins. */
static int
col_x(const int *width, int c)
{
    int x = 0, i;

    for (i = 0; i < c; i++)
        if (width[i] > 0)
            x += width[i] + 1;
    return x;
}

/* The header: what was read, how fast, the event clock, the step, and how to quit. */
static void
draw_header(struct watch *w)
{
    char t[RARR_TIME_MAX], dur[RARR_DUR_MAX], line[256];

    if (w->started)
        clock_format_time(w->newest, t);
    else
        snprintf(t, sizeof(t), "-");
    clock_format_duration(w->step_ms > 0 ? w->step_ms : CLOCK_MINUTE_MS, dur);
    snprintf(line, sizeof(line), "rarr  %llu lines  %.1f lines/s  event %s  step %s%s%s",
             (unsigned long long)w->lines, w->rate, t, dur,
             w->lines_firing ? "  input lines FIRING" : "", w->quitting ? "  stopping" : "");
    attron(A_BOLD);
    puts_at(w, 0, 0, line, COLS);
    if (COLS > 7)
        puts_at(w, 0, COLS - 7, "q quits", 7);
    attroff(A_BOLD);
}

/* The column titles, on row 'y'. */
static void
draw_titles(struct watch *w, int y, const int *width)
{
    static const char *const title[COL_N] = {"METRIC", "CATEGORY", "STEP",      "WINDOW",
                                             "MOVED",  "BAND",     "LAST HOUR", "STATE"};
    int c;

    attron(A_UNDERLINE);
    for (c = 0; c < COL_N; c++)
        if (width[c] > 0)
            put(w, y, col_x(width, c), title[c], strlen(title[c]), width[c], c == COL_STEP);
    attroff(A_UNDERLINE);
}

/* The STATE cell of metric 'i' on row 'y': FIRING (and its first key), ok, or nothing: no alert. */
static void
draw_state(struct watch *w, int y, size_t i, const int *width)
{
    struct watch_metric *m = &w->m[i];
    int x = col_x(width, COL_STATE);
    size_t j;
    char more[32];

    for (j = 0; j < w->rs->nalerts && w->rs->alerts[j].metric != i; j++)
        ;
    if (j == w->rs->nalerts)
        return;
    if (m->nfiring == 0) {
        puts_at(w, y, x, "ok", COLS);
        return;
    }
    attron(A_BOLD | A_REVERSE);
    puts_at(w, y, x, "FIRING", 6);
    attroff(A_BOLD | A_REVERSE);
    if (m->key_len > 0)
        put(w, y, x + 7, m->key, m->key_len, COLS, 0);
    if (m->nfiring > 1) {
        snprintf(more, sizeof(more), " +%zu", m->nfiring - 1);
        puts_at(w, y, x + 7 + (m->key_len > 0 ? (int)m->key_len : 0), more, COLS);
    }
}

/* The row of metric 'i' at row 'y'. */
static void
draw_metric(struct watch *w, int y, size_t i, const int *width)
{
    const struct rules_metric *rm = &w->rs->metrics[i];
    const struct watch_ring *r = &w->m[i].ring;
    char text[128];
    int defined = 0;
    double v = 0;

    put(w, y, 0, rm->name, strlen(rm->name), width[COL_NAME], 0);
    if (width[COL_CAT] > 0 && rm->category != RULES_NONE)
        puts_at(w, y, col_x(width, COL_CAT), rules_category_name(rm->category), width[COL_CAT]);
    if (r->n > 0)
        v = ring_at(r, w->cap, r->n - 1, &defined);
    num_text(text, sizeof(text), v, defined);
    put(w, y, col_x(width, COL_STEP), text, strlen(text), width[COL_STEP], 1);
    if (width[COL_WIN] > 0) {
        window_text(w, i, text, sizeof(text));
        puts_at(w, y, col_x(width, COL_WIN), text, width[COL_WIN]);
    }
    if (width[COL_MOVED] > 0) {
        moved_text(w, i, text, sizeof(text));
        put(w, y, col_x(width, COL_MOVED), text, strlen(text), width[COL_MOVED], 1);
    }
    if (width[COL_BAND] > 0) {
        band_text(w, i, text, sizeof(text));
        puts_at(w, y, col_x(width, COL_BAND), text, width[COL_BAND]);
    }
    if (width[COL_SPARK] > 0)
        put_spark(w, y, col_x(width, COL_SPARK), width[COL_SPARK], r);
    draw_state(w, y, i, width);
}

/* The "latest events" panel from row 'y' to the bottom, the newest first. */
static void
draw_events(struct watch *w, int y)
{
    size_t k;
    struct watch_event *e;

    if (y >= LINES)
        return;
    attron(A_BOLD);
    puts_at(w, y++, 0, w->nev > 0 ? "latest events" : "latest events: none yet", COLS);
    attroff(A_BOLD);
    for (k = 0; k < w->nev && y < LINES; k++, y++) {
        e = &w->ev[(w->ev_next + WATCH_EVENTS - 1 - k) % WATCH_EVENTS];
        if (e->firing)
            attron(A_BOLD);
        puts_at(w, y, 0, e->text, COLS);
        if (e->firing)
            attroff(A_BOLD);
    }
}

/*
 * Draw the whole view: the header, a row per metric (as many as fit; the
 * last row says how many more there are), then the latest events below.
 */
static void
draw(struct watch *w, double now)
{
    int width[COL_N], y = 2, rows = LINES - 2;
    size_t i, shown;
    char more[64];

    if (now - w->repainted >= WATCH_REPAINT_S) {
        clearok(curscr, TRUE);
        w->repainted = now;
    }
    erase();
    draw_header(w);
    layout(w, COLS, width);
    if (rows > 0 && w->nmetrics > 0)
        draw_titles(w, 1, width);
    else if (rows > 0)
        puts_at(w, 1, 0, "no metric is defined", COLS);
    /* All metrics fit with a blank row below, or the last row says how many more there are. */
    if (w->nmetrics + 1 <= (size_t)(rows > 0 ? rows : 0))
        shown = w->nmetrics;
    else
        shown = rows > 2 ? (size_t)rows - 2 : 0;
    for (i = 0; i < shown; i++)
        draw_metric(w, y++, i, width);
    if (shown < w->nmetrics && y < LINES) {
        snprintf(more, sizeof(more), "... %zu more metrics", w->nmetrics - shown);
        puts_at(w, y++, 0, more, COLS);
    }
    draw_events(w, y + 1);
    refresh();
}

/*
 * The pipeline's exporter hook (pipeline_export_fn, 'arg' the watch):
 * take in each newly evaluated step of 'p', read the keys, and draw the
 * view when WATCH_INTERVAL_MS has passed since the last time, after a key
 * or a resize, or when 'final'. Returns the milliseconds until it wants to
 * be called again (at most WATCH_INTERVAL_MS), so that keys are read while
 * the input is idle; -1 when the rules could not be followed (out of
 * memory).
 */
int
watch_update(void *arg, struct pipeline *p, int final)
{
    struct watch *w = arg;
    double now = clock_mono_seconds(), due;

    if (follow_rules(w, p) == -1)
        return -1;
    take_step(w, p);
    take_counts(w, p, now);
    read_keys(w);
    if (final || w->dirty || now - w->drawn >= WATCH_INTERVAL_MS / 1000.0) {
        take_alerts(w, p);
        draw(w, now);
        w->drawn = now;
        w->dirty = 0;
    }
    due = (w->drawn + WATCH_INTERVAL_MS / 1000.0 - now) * 1000;
    return due < 1 ? 1 : (int)due + 1;
}

/* A string member of 'o', or "" when it has none. */
static const char *
str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : "";
}

/* The clock time of an RFC 3339 'time' (HH:MM:SS), or as much of it as there is. */
static void
clock_of(const char *time, char *out, size_t outlen)
{
    const char *t = strchr(time, 'T');

    snprintf(out, outlen, "%.8s", t != NULL ? t + 1 : time);
}

/* Keep the expected band of an anomaly record 'o' without a key, per metric. */
static void
band_take(struct watch *w, json_t *o)
{
    json_t *e = json_object_get(o, "expected"), *lo = json_object_get(o, "lower"),
           *hi = json_object_get(o, "upper");
    const char *metric = json_string_value(json_object_get(o, "metric"));
    struct watch_band *b;
    size_t i;

    if (metric == NULL || json_object_get(o, "key") != NULL || !json_is_number(e) ||
        !json_is_number(lo) || !json_is_number(hi))
        return;
    for (i = 0; i < w->nbands && strcmp(w->bands[i].metric, metric) != 0; i++)
        ;
    if (i == w->nbands) {
        /* One band per metric name: bounded by the rules (and their reloads). */
        if ((b = realloc(w->bands, (w->nbands + 1) * sizeof(*b))) == NULL)
            return;
        w->bands = b;
        if ((b[i].metric = strdup(metric)) == NULL)
            return;
        w->nbands++;
    }
    w->bands[i].expected = json_number_value(e);
    w->bands[i].lower = json_number_value(lo);
    w->bands[i].upper = json_number_value(hi);
}

/*
 * The first WATCH_RELATED_SHOWN metrics of the "related" list 'rel' of a
 * firing record, as "  [dashboard_views -75%, login_views +59%]", into
 * 'out'; "" when it names none.
 */
static void
related_text(const struct watch *w, json_t *rel, char *out, size_t outlen)
{
    size_t i, n = json_array_size(rel), used = 0;
    json_t *it;
    char pct[16];
    const char *name;

    out[0] = '\0';
    for (i = 0; i < n && i < WATCH_RELATED_SHOWN && used < outlen; i++) {
        it = json_array_get(rel, i);
        if ((name = json_string_value(json_object_get(it, "metric"))) == NULL)
            continue;
        change_text(w, json_number_value(json_object_get(it, "change")), 0, pct, sizeof(pct));
        used += (size_t)snprintf(out + used, outlen - used, "%s%s %s", used == 0 ? "  [" : ", ",
                                 name, pct);
    }
    if (used > 0 && used < outlen)
        snprintf(out + used, outlen - used, "]");
}

/*
 * Add record 'o' to the "latest events" panel: "TIME TYPE STATE RULE
 * key=KEY value V", and for a firing what else moved.
 */
static void
event_take(struct watch *w, json_t *o)
{
    struct watch_event *e = &w->ev[w->ev_next];
    json_t *v = json_object_get(o, "value");
    const char *key = json_string_value(json_object_get(o, "key"));
    char t[16], num[32], moved[160];

    clock_of(str_of(o, "time"), t, sizeof(t));
    num_text(num, sizeof(num), json_number_value(v), json_is_number(v));
    related_text(w, json_object_get(o, "related"), moved, sizeof(moved));
    snprintf(e->text, sizeof(e->text), "%-8s  %-9s  %-8s  %s%s%s  value %s%s", t, str_of(o, "type"),
             str_of(o, "state"), str_of(o, "rule"), key != NULL ? "  key=" : "",
             key != NULL ? key : "", num, moved);
    e->firing = strcmp(str_of(o, "state"), "firing") == 0;
    w->ev_next = (w->ev_next + 1) % WATCH_EVENTS;
    if (w->nev < WATCH_EVENTS)
        w->nev++;
}

/* Whether strings 'a' and 'b' are both NULL or equal. */
static int
same_str(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/*
 * Follow the firings of record 'o' for the MOVED column: a firing with a
 * "related" list is kept (in place of one of the same rule and key; the
 * oldest goes when WATCH_FIRINGS are kept), its resolution forgets it.
 * Out of memory, the firing is left out.
 */
static void
firing_take(struct watch *w, json_t *o)
{
    const char *rule = json_string_value(json_object_get(o, "rule")),
               *key = json_string_value(json_object_get(o, "key")), *state = str_of(o, "state"),
               *name;
    json_t *rel = json_object_get(o, "related"), *it;
    struct watch_firing *f;
    size_t i;

    if (rule == NULL)
        return;
    for (i = 0; i < w->nfirings; i++)
        if (strcmp(w->firings[i].rule, rule) == 0 && same_str(w->firings[i].key, key)) {
            firing_drop(w, i);
            break;
        }
    if (strcmp(state, "firing") != 0 || json_array_size(rel) == 0)
        return;
    if (w->nfirings == WATCH_FIRINGS)
        firing_drop(w, 0);
    f = &w->firings[w->nfirings];
    memset(f, 0, sizeof(*f));
    if ((f->rule = strdup(rule)) == NULL || (key != NULL && (f->key = strdup(key)) == NULL)) {
        free(f->rule);
        return;
    }
    w->nfirings++;
    for (i = 0; i < json_array_size(rel) && f->n < RELATED_MAX; i++) {
        it = json_array_get(rel, i);
        if ((name = json_string_value(json_object_get(it, "metric"))) == NULL ||
            (f->v[f->n].metric = strdup(name)) == NULL)
            continue;
        f->v[f->n++].change = json_number_value(json_object_get(it, "change"));
    }
}

/*
 * Take in one event record 'rec' ('len' bytes, one NDJSON line, borrowed)
 * as emit's tap hands it over: it joins the latest events (a firing with
 * the first metrics of its "related" list), an anomaly record's expected
 * band is kept for its metric, and a firing's related metrics are marked
 * in the MOVED column until it resolves. It is drawn at the next
 * watch_update. Returns 0: a record that cannot be read or kept is left
 * out (the view must not stop the run).
 */
int
watch_record(struct watch *w, const char *rec, size_t len)
{
    json_t *o = json_loadb(rec, len, 0, NULL);

    if (o != NULL && json_is_object(o)) {
        event_take(w, o);
        band_take(w, o);
        firing_take(w, o);
    }
    json_decref(o);
    return 0;
}
