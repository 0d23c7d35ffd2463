/*
 * state.c -- the --state file: what a restarted rarr needs to go on as if it
 * had never stopped (SPEC section 6).
 *
 * The file is one JSON object (README, "State file"): the format version,
 * the step, the event clock, each metric's window and pending step values,
 * each threshold alert's state and each anomaly detector's memory, the last
 * as a checksummed hex image of its plain struct. Everything is keyed by the
 * metric's name and definition (the conditions after %{NAME} expansion), so
 * loading keeps what still matches the rules in force and reports what it
 * drops. A file of ours that is corrupt is reported and ignored: rarr
 * starts fresh. Anything else at the path (another file, a link, a device,
 * a FIFO) is refused, never replaced. Writing goes to a new temporary file
 * of mode 0600 beside FILE, which is fsync'd and renamed over FILE, so a
 * crash at any moment leaves the old file or the new one, and nothing an
 * attacker plants in the directory is followed.
 */
#include "rarr/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rarr/buf.h"
#include "rarr/clock.h"

/* A state file bigger than this is not one of ours. */
#define STATE_MAX_BYTES (64L << 20)
/* Bump when struct detect changes: older detector images are then dropped. */
#define DETECT_LAYOUT 1

static const char *const state_names[] = {"ok", "pending", "firing"};

/* 64-bit FNV-1a: a checksum of the detector images. */
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

/* A metric's definition: what it counts, names of fields and regexes as expanded. */
static int
metric_def(struct buf *b, const struct ruleset *rs, size_t i)
{
    static const char *const ops[] = {"~", "!~", "="};
    const struct rules_metric *m = &rs->metrics[i];
    size_t c;
    int rc = 0;

    if (m->kind == RULES_RATIO) {
        rc |= buf_printf(b, "ratio k=%.17g min=%.17g (", m->k, m->min);
        rc |= metric_def(b, rs, m->a);
        rc |= buf_adds(b, ") / (");
        rc |= metric_def(b, rs, m->b);
        return rc | buf_addc(b, ')');
    }
    if (m->kind == RULES_SUM)
        rc |= buf_printf(b, "sum %s", rs->fields[m->sum_field].name);
    else
        rc |= buf_adds(b, "count");
    for (c = 0; c < m->nconds; c++) {
        rc |= buf_printf(b, " %s%s", rs->fields[m->conds[c].field].name, ops[m->conds[c].op]);
        rc |= emit_json_string(b, m->conds[c].text, m->conds[c].len);
    }
    return rc;
}

/*
 * An alert's definition. A detector's is its 'hard' part (what the learned
 * baseline depends on: metric, window, season, path); its other options can
 * change without losing what it learned.
 */
static int
alert_def(struct buf *b, const struct pipeline *p, size_t i)
{
    const struct rules_alert *a = &p->rs->alerts[i];
    int rc;

    if (a->anomaly) {
        const struct detect_config *c = &p->det[i]->cfg;

        rc = buf_printf(b, "anomaly window=%d season=%d continuous=%d sum=%d of ", c->window_steps,
                        (int)c->season, c->continuous, c->sum);
    } else {
        rc = buf_printf(b, "threshold %s %.17g clear=%.17g window=%" PRId64 " for=%" PRId64 " of ",
                        a->above ? "above" : "below", a->threshold, a->clear, a->window_ms,
                        a->for_ms);
    }
    return rc | metric_def(b, p->rs, a->metric);
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

static json_t *
detector_json(const struct detect *d)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *bytes = (const unsigned char *)d;
    char layout[32], sum[17];
    json_t *o = json_object();
    size_t i, len = 2 * sizeof(struct detect);
    char *text = malloc(len);

    if (o == NULL || text == NULL) {
        json_decref(o);
        free(text);
        return NULL;
    }
    for (i = 0; i < sizeof(*d); i++) {
        text[2 * i] = hex[bytes[i] >> 4];
        text[2 * i + 1] = hex[bytes[i] & 15];
    }
    snprintf(layout, sizeof(layout), "%d/%zu", DETECT_LAYOUT, sizeof(*d));
    snprintf(sum, sizeof(sum), "%016" PRIx64, fnv1a(bytes, sizeof(*d)));
    if (put(o, "layout", json_string(layout)) == -1 || put(o, "fnv1a", json_string(sum)) == -1 ||
        put(o, "image", json_stringn(text, 2 * sizeof(*d))) == -1) {
        json_decref(o);
        o = NULL;
    }
    free(text);
    return o;
}

/* A metric's window, oldest step first, and the pending steps' values. */
static json_t *
metric_json(const struct pipeline *p, size_t i, struct buf *b)
{
    const struct window *w = &p->win[i];
    json_t *o = json_object(), *ring = json_array(), *views = json_array(), *pend = json_array();
    size_t k, n = p->rs->nmetrics;
    int64_t s;
    int rc = 0;

    if (o == NULL || ring == NULL || views == NULL || pend == NULL) {
        json_decref(o);
        json_decref(ring);
        json_decref(views);
        json_decref(pend);
        return NULL;
    }
    for (k = 0; k < w->nsteps; k++)
        rc |= json_array_append_new(ring, json_real(w->ring[(w->head + k) % w->nsteps]));
    for (k = 0; k < w->nviews; k++)
        rc |= json_array_append_new(
            views, json_pack("[If]", (json_int_t)w->views[k].steps, w->views[k].sum));
    if (p->started) {
        for (s = p->next_step; s <= p->pending_max; s += p->opt.step_ms) {
            size_t at = pipeline_slot(p, s) * n + i;

            if (p->pending_n[at] != 0 || p->pending[at] != 0)
                rc |= json_array_append_new(
                    pend, json_pack("[Iff]", (json_int_t)s, p->pending[at], p->pending_n[at]));
        }
    }
    b->len = 0;
    rc |= metric_def(b, p->rs, i);
    rc |= put(o, "name", json_string(p->rs->metrics[i].name));
    rc |= put(o, "definition", def_string(b));
    rc |= put(o, "window", ring);
    rc |= put(o, "views", views);
    rc |= put(o, "resum", json_integer((json_int_t)w->since_resum));
    rc |= put(o, "pending", pend);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * What a resolved record needs of a firing alert, should its rule change or
 * go before it resolves: its type, metric, category, window, since and (for
 * an anomaly) direction.
 */
static json_t *
firing_json(const struct pipeline *p, size_t i)
{
    const struct rules_alert *a = &p->rs->alerts[i];
    const struct rules_metric *m = &p->rs->metrics[a->metric];
    json_t *o = json_pack("{sssssIsI}", "type", a->anomaly ? "anomaly" : "threshold", "metric",
                          m->name, "window", (json_int_t)a->window_ms, "since",
                          (json_int_t)(a->anomaly ? p->det[i]->since_ms : p->alerts[i].since_ms));

    if (o != NULL && m->category != RULES_NONE &&
        put(o, "rarr", json_string(rules_category_name(m->category))) != 0) {
        json_decref(o);
        return NULL;
    }
    if (o != NULL && a->anomaly &&
        put(o, "direction", json_string(p->det[i]->dir < 0 ? "drop" : "spike")) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Whether alert 'i' (threshold or anomaly) is firing. */
static int
firing(const struct pipeline *p, size_t i)
{
    return p->rs->alerts[i].anomaly ? p->det[i]->phase == DETECT_FIRING
                                    : p->alerts[i].state == ALERT_FIRING;
}

/*
 * After the end of input has forced out the last steps: mark in 'snap' (a
 * snapshot of 'p' from before them) the alerts that went firing in those
 * steps, so that a later run whose rules no longer have them still writes
 * their resolved record. The alert states themselves stay as saved: the
 * next run evaluates those steps again. Returns 0, or -1 with errno ENOMEM.
 */
int
state_mark_firing(json_t *snap, const struct pipeline *p)
{
    json_t *alerts = json_object_get(snap, "alerts");
    size_t i;
    int rc = 0;

    for (i = 0; i < p->rs->nalerts && i < json_array_size(alerts); i++) {
        json_t *o = json_array_get(alerts, i);

        if (json_object_get(o, "firing") == NULL && firing(p, i))
            rc |= put(o, "firing", firing_json(p, i));
    }
    if (rc != 0)
        errno = ENOMEM;
    return rc ? -1 : 0;
}

static json_t *
alert_json(const struct pipeline *p, size_t i, struct buf *b)
{
    const struct rules_alert *a = &p->rs->alerts[i];
    json_t *o = json_object();
    int rc = 0;

    if (o == NULL)
        return NULL;
    b->len = 0;
    rc |= alert_def(b, p, i);
    rc |= put(o, "rule", json_string(a->rule));
    rc |= put(o, "definition", def_string(b));
    if (a->anomaly) {
        rc |= put(o, "detector", detector_json(p->det[i]));
    } else {
        rc |= put(o, "state", json_string(state_names[p->alerts[i].state]));
        rc |= put(o, "since", json_integer(p->alerts[i].since_ms));
    }
    if (firing(p, i))
        rc |= put(o, "firing", firing_json(p, i));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * Everything --state keeps, as a JSON object the caller owns (NULL on
 * out-of-memory). "written_to" says that the steps before it have been
 * evaluated and written: the same as "next_step", unless the caller then
 * evaluates more (at the end of input) and sets it.
 */
json_t *
state_snapshot(const struct pipeline *p)
{
    const struct ruleset *rs = p->rs;
    json_t *root = json_object(), *metrics = json_array(), *alerts = json_array(), *o;
    char t[RARR_TIME_MAX];
    struct buf b;
    size_t i;
    int64_t s;
    int rc = 0;

    buf_init(&b);
    if (root == NULL || metrics == NULL || alerts == NULL)
        goto fail;
    clock_format_time(clock_wall_ms(), t);
    rc |= put(root, "rarr_state", json_integer(STATE_VERSION));
    rc |= put(root, "saved", json_string(t));
    rc |= put(root, "step_ms", json_integer(p->opt.step_ms));
    if (p->started) {
        o = json_pack("{sIsIsIsIsIsIsisbsI}", "max_ts", (json_int_t)p->max_ts, "next_step",
                      (json_int_t)p->next_step, "horizon", (json_int_t)p->horizon, "pending_max",
                      (json_int_t)p->pending_max, "zero_run", (json_int_t)p->zero_run, "idle_run",
                      (json_int_t)p->idle_run, "tz_min", p->tz_min, "evaluated", p->evaluated,
                      "written_to", (json_int_t)p->next_step);
        rc |= put(root, "clock", o);
    }
    for (i = 0; i < rs->nmetrics; i++)
        if (rs->metrics[i].kind != RULES_RATIO)
            rc |= json_array_append_new(metrics, metric_json(p, i, &b));
    for (i = 0; i < rs->nalerts; i++)
        rc |= json_array_append_new(alerts, alert_json(p, i, &b));
    rc |= put(root, "metrics", metrics);
    metrics = NULL;
    rc |= put(root, "alerts", alerts);
    alerts = NULL;
    if (p->lines_det != NULL) {
        json_t *pend = json_array();

        for (s = p->next_step; p->started && pend != NULL && s <= p->pending_max;
             s += p->opt.step_ms)
            if (p->pending_lines[pipeline_slot(p, s)] != 0)
                rc |= json_array_append_new(
                    pend, json_pack("[If]", (json_int_t)s, p->pending_lines[pipeline_slot(p, s)]));
        b.len = 0;
        rc |= buf_printf(&b, "lines window=%d", p->lines_det->cfg.window_steps);
        o = json_object();
        rc |= put(o, "definition", def_string(&b));
        rc |= put(o, "pending", pend);
        rc |= put(o, "detector", detector_json(p->lines_det));
        rc |= put(root, "lines", o);
    }
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

static int
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * A new temporary file beside 'path' for a save: "PATH.tmp.XXXXXX", made by
 * mkstemp, so it is a fresh regular file of mode 0600 whatever an attacker
 * planted in the directory (O_EXCL: a link or FIFO there is never followed
 * or opened). Returns the descriptor and the name in '*tmp' (the caller
 * frees it), or -1 with errno set.
 */
static int
tmp_create(const char *path, char **tmp)
{
    size_t len = strlen(path);
    int fd;

    if ((*tmp = malloc(len + sizeof(".tmp.XXXXXX"))) == NULL) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(*tmp, path, len);
    memcpy(*tmp + len, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
    if ((fd = mkstemp(*tmp)) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
        fchmod(fd, 0600) == -1) {
        int saved = errno;

        if (fd != -1) {
            close(fd);
            unlink(*tmp);
        }
        free(*tmp);
        *tmp = NULL;
        errno = saved;
        return -1;
    }
    return fd;
}

/* fsync the directory holding 'path', so a rename there survives a power cut. */
static void
sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? strdup(".") : strndup(path, slash == path ? 1 : (size_t)(slash - path));
    int fd;

    if (dir != NULL && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/*
 * Whether a save to 'path' can be made: a temporary file beside it is
 * created and removed. Returns 0, or -1 with errno set.
 */
int
state_probe(const char *path)
{
    char *tmp;
    int fd = tmp_create(path, &tmp);

    if (fd == -1)
        return -1;
    close(fd);
    unlink(tmp);
    free(tmp);
    return 0;
}

/*
 * Write 'snap' to 'path' atomically: into a new temporary file beside it
 * (tmp_create), fsync, rename over PATH, fsync the directory. The rename
 * replaces whatever name PATH is without following it. Returns 0, or -1
 * with errno set (PATH is then untouched).
 */
int
state_write(const json_t *snap, const char *path)
{
    char *text = json_dumps(snap, JSON_COMPACT), *tmp = NULL;
    int fd = -1, saved;

    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if ((fd = tmp_create(path, &tmp)) == -1)
        goto fail;
    if (write_all(fd, text, strlen(text)) == -1 || write_all(fd, "\n", 1) == -1 || fsync(fd) == -1)
        goto fail;
    saved = close(fd);
    fd = -1;
    if (saved == -1 || rename(tmp, path) == -1)
        goto fail;
    sync_dir(path);
    free(text);
    free(tmp);
    return 0;
fail:
    saved = errno;
    if (fd != -1)
        close(fd);
    if (tmp != NULL)
        unlink(tmp);
    free(text);
    free(tmp);
    errno = saved;
    return -1;
}

/* What every state file begins with: how a file of ours is told from one that is not. */
static const char state_magic[] = "{\"rarr_state\":";

/*
 * Refuse the file at 'path': it is not one rarr may replace. Always -1.
 */
static int
refuse(FILE *log, const char *path, const char *why)
{
    fprintf(log,
            "rarr: %s: %s; refusing to use it as --state, which would replace it (give a new "
            "path or a rarr state file)\n",
            path, why);
    return -1;
}

/*
 * Open the file at 'path' for reading, never following a symbolic link nor
 * waiting on a FIFO, and check that it is a regular file of ours to read.
 * Returns the descriptor; -2 when there is no file (a first start); -1 after
 * a message when it must not be used.
 */
static int
open_state(const char *path, FILE *log, off_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    if (fd == -1 && errno == ENOENT)
        return -2;
    if (fd == -1 && errno == ELOOP)
        return refuse(log, path, "is a symbolic link (name the file itself)");
    if (fd == -1) {
        char why[256];

        snprintf(why, sizeof(why), "cannot be read: %s", strerror(errno));
        return refuse(log, path, why);
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        return refuse(log, path, "is not a regular file");
    }
    *size = st.st_size;
    return fd;
}

/* Read the 'size' bytes of 'fd' into a new string (NUL-terminated); NULL on error. */
static char *
slurp(int fd, off_t size)
{
    char *text = malloc((size_t)size + 1);
    size_t got = 0;
    ssize_t n;

    while (text != NULL && got < (size_t)size) {
        n = read(fd, text + got, (size_t)size - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(text);
            return NULL;
        }
        got += (size_t)n;
    }
    if (text != NULL)
        text[got] = '\0';
    return text;
}

/*
 * Parse the state file text 'text' of 'path'. Returns the object, or NULL
 * after a message: rarr then starts without state and replaces the file.
 */
static json_t *
parse_state(const char *path, const char *text, size_t len, FILE *log)
{
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err), *v;

    if (root == NULL) {
        fprintf(log, "rarr: %s:%d:%d: corrupt state file: %s; starting without state\n", path,
                err.line, err.column, err.text);
        return NULL;
    }
    v = json_object_get(root, "rarr_state");
    if (!json_is_object(root) || !json_is_integer(v)) {
        fprintf(log, "rarr: %s: corrupt state file: no format version; starting without state\n",
                path);
        json_decref(root);
        return NULL;
    }
    if (json_integer_value(v) != STATE_VERSION) {
        fprintf(log,
                "rarr: %s: state format %" JSON_INTEGER_FORMAT
                " is not known to this rarr (it reads %d); starting without state\n",
                path, json_integer_value(v), STATE_VERSION);
        json_decref(root);
        return NULL;
    }
    return root;
}

/*
 * Read the state file at 'path' into '*snap' (the caller owns it). A file
 * that is absent or empty is a first start; one of ours that cannot be used
 * (corrupt, another format version) is reported, '*snap' is NULL and rarr
 * starts fresh. Returns 0, or -1 after a message when what is at 'path' is
 * not a rarr state file, or not a regular file: rarr must not replace it.
 */
int
state_read(const char *path, FILE *log, json_t **snap)
{
    off_t size = 0;
    int fd = open_state(path, log, &size);
    size_t magic = sizeof(state_magic) - 1;
    char *text;

    *snap = NULL;
    if (fd < 0)
        return fd == -2 ? 0 : -1;
    if (size > STATE_MAX_BYTES) {
        close(fd);
        return refuse(log, path, "is not a rarr state file (too big)");
    }
    text = slurp(fd, size);
    close(fd);
    if (text == NULL) {
        fprintf(log, "rarr: %s: %s\n", path, errno != 0 ? strerror(errno) : "cannot be read");
        return -1;
    }
    if (size > 0 && ((size_t)size < magic || memcmp(text, state_magic, magic) != 0)) {
        free(text);
        return refuse(log, path, "is not a rarr state file");
    }
    if (size > 0)
        *snap = parse_state(path, text, (size_t)size, log);
    free(text);
    return 0;
}

static int
get_int(const json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int
get_num(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return isfinite(*out) ? 0 : -1;
}

/* Decode and check a detector image into 'd', keeping d's configuration. */
static int
detector_load(struct detect *d, const json_t *o)
{
    const char *layout = json_string_value(json_object_get(o, "layout"));
    const char *sum = json_string_value(json_object_get(o, "fnv1a"));
    const char *text = json_string_value(json_object_get(o, "image"));
    unsigned char *bytes;
    struct detect_config cfg = d->cfg;
    struct detect *img;
    char want[32], got[17];
    size_t i;
    int ok;

    snprintf(want, sizeof(want), "%d/%zu", DETECT_LAYOUT, sizeof(*d));
    if (layout == NULL || strcmp(layout, want) != 0 || sum == NULL || text == NULL ||
        json_string_length(json_object_get(o, "image")) != 2 * sizeof(*d))
        return -1;
    if ((img = malloc(sizeof(*img))) == NULL)
        return -1;
    bytes = (unsigned char *)img;
    for (i = 0; i < sizeof(*d); i++) {
        int hi = (unsigned char)text[2 * i], lo = (unsigned char)text[2 * i + 1];

        hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
        lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
        if (hi < 0 || lo < 0) {
            free(img);
            return -1;
        }
        bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    snprintf(got, sizeof(got), "%016" PRIx64, fnv1a(bytes, sizeof(*img)));
    ok = strcmp(got, sum) == 0 && img->phase >= DETECT_WARMUP && img->phase <= DETECT_FIRING &&
         img->dir >= -1 && img->dir <= 1;
    if (ok) {
        *d = *img;
        d->cfg = cfg;
    }
    free(img);
    return ok ? 0 : -1;
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

    if (!json_is_array(ring) || !json_is_array(views) || get_int(o, "resum", &resum) == -1)
        return -1;
    skip = n > w->nsteps ? n - w->nsteps : 0;
    memset(w->ring, 0, w->nsteps * sizeof(*w->ring));
    for (k = skip; k < n; k++) {
        if (get_num(json_array_get(ring, k), &v) == -1)
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
               get_num(json_array_get(sv, 1), &v) == 0;
    }
    for (k = 0; same && k < w->nviews; k++)
        w->views[k].sum = json_number_value(json_array_get(json_array_get(views, k), 1));
    if (same)
        w->since_resum = (size_t)resum;
    return 0;
}

/* Put saved pending step values [[start, value, n], ...] into column 'col' of the ring. */
static int
pending_load(struct pipeline *p, const json_t *list, double *vals, double *ns, size_t stride,
             size_t col)
{
    size_t k;

    for (k = 0; k < json_array_size(list); k++) {
        const json_t *e = json_array_get(list, k);
        json_t *js = json_array_get(e, 0);
        double v, n = 0;
        int64_t s;

        if (!json_is_integer(js) || get_num(json_array_get(e, 1), &v) == -1 ||
            (ns != NULL && get_num(json_array_get(e, 2), &n) == -1))
            return -1;
        s = json_integer_value(js);
        if (s % p->opt.step_ms != 0 || s < p->next_step ||
            (s - p->next_step) / p->opt.step_ms >= (int64_t)p->npending)
            continue; /* a smaller --lateness: the step can no longer be held */
        vals[pipeline_slot(p, s) * stride + col] = v;
        if (ns != NULL)
            ns[pipeline_slot(p, s) * stride + col] = n;
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

static int
restore_clock(struct pipeline *p, const json_t *c)
{
    int64_t v[8];
    json_t *ev = json_object_get(c, "evaluated");

    if (get_int(c, "max_ts", &v[0]) == -1 || get_int(c, "next_step", &v[1]) == -1 ||
        get_int(c, "horizon", &v[2]) == -1 || get_int(c, "pending_max", &v[3]) == -1 ||
        get_int(c, "zero_run", &v[4]) == -1 || get_int(c, "tz_min", &v[5]) == -1 ||
        get_int(c, "written_to", &v[6]) == -1 || get_int(c, "idle_run", &v[7]) == -1 ||
        !json_is_boolean(ev))
        return -1;
    /*
     * The next step to evaluate is at most a step and the lateness behind
     * the newest event (live input may have moved it far ahead: fine), so
     * a crafted file cannot make the next line evaluate years of steps.
     */
    if (v[1] % p->opt.step_ms != 0 || v[4] < 0 || v[7] < 0 || v[5] < -24 * 60 || v[5] > 24 * 60 ||
        v[1] < v[0] - 2 * p->opt.step_ms - p->opt.lateness_ms || v[6] < v[1])
        return -1;
    p->started = 1;
    p->evaluated = json_is_true(ev);
    p->max_ts = v[0];
    p->next_step = v[1];
    p->horizon = v[2];
    p->pending_max = v[3];
    p->zero_run = v[4];
    p->idle_run = v[7];
    p->tz_min = (int)v[5];
    p->written_to = v[6];
    p->restored = 1;
    return 0;
}

/*
 * A saved alert that no rule in force takes over: its state is dropped, and
 * when it was firing a resolved record says so ("reason": "rule changed" when
 * a rule of the same name, or of the same kind on the same metric, is still
 * there, else "rule removed"), at the step
 * the clock stands at, so a pager keyed on the rule closes. Returns 0 or -1
 * when output failed.
 */
static int
retire(struct pipeline *p, const json_t *a, const char *name, FILE *log)
{
    const char *rule = json_string_value(json_object_get(a, "rule")), *reason = "rule removed",
               *what = "is gone";
    const json_t *f = json_object_get(a, "firing");
    const char *metric = json_string_value(json_object_get(f, "metric")),
               *type = json_string_value(json_object_get(f, "type"));
    int64_t window = 0, since = 0;
    size_t i;

    if (rule == NULL)
        return 0;
    if (f == NULL) {
        if (json_object_get(a, "detector") != NULL || json_object_get(a, "state") != NULL)
            fprintf(log, "rarr: %s: rule '%s' changed or is gone; its state is dropped\n", name,
                    rule);
        return 0;
    }
    /* Changed: a rule of that name, or of that kind on that metric, is still there. */
    for (i = 0; i < p->rs->nalerts; i++) {
        const struct rules_alert *r = &p->rs->alerts[i];

        if (strcmp(r->rule, rule) == 0 || (metric != NULL && type != NULL &&
                                           strcmp(p->rs->metrics[r->metric].name, metric) == 0 &&
                                           (strcmp(type, "anomaly") == 0) == r->anomaly)) {
            reason = "rule changed";
            what = "changed";
        }
    }
    fprintf(log, "rarr: %s: rule '%s' %s while firing; it is resolved\n", name, rule, what);
    if (!p->opt.emit_alerts || p->em == NULL)
        return 0;
    get_int(f, "window", &window);
    get_int(f, "since", &since);
    /* At the step the clock stands at, or after the steps the saving run wrote. */
    return emit_retired(p->em, p->written_to > p->next_step ? p->written_to : p->next_step, type,
                        rule, metric, json_string_value(json_object_get(f, "rarr")), window, since,
                        json_string_value(json_object_get(f, "direction")), reason);
}

/*
 * Load 'snap' (from state_read, named 'name' in messages) into a fresh
 * pipeline: the event clock, and every window, pending step, alert state and
 * detector whose metric has the same name and definition in the rules in
 * force; what is dropped is reported on 'log'. Returns 0, or -1 after a
 * message when the file does not fit (another step, a damaged entry): the
 * pipeline is then reset and starts fresh.
 */
int
state_restore(struct pipeline *p, const json_t *snap, const char *name, FILE *log)
{
    const struct ruleset *rs = p->rs;
    const json_t *metrics = json_object_get(snap, "metrics"),
                 *alerts = json_object_get(snap, "alerts"), *clk = json_object_get(snap, "clock"),
                 *o;
    unsigned char *mtaken = NULL, *ataken = NULL;
    const char *what = "a damaged entry";
    struct buf b;
    int64_t step;
    size_t i, k;

    buf_init(&b);
    if (get_int(snap, "step_ms", &step) == -1 || !json_is_array(metrics) || !json_is_array(alerts))
        goto bad;
    if (step != p->opt.step_ms) {
        char was[RARR_DUR_MAX], now[RARR_DUR_MAX];

        clock_format_duration(step > 0 ? step : 0, was);
        clock_format_duration(p->opt.step_ms, now);
        fprintf(log, "rarr: %s: state saved with --step %s, not %s; starting without state\n", name,
                was, now);
        return -1;
    }
    if (clk == NULL)
        return 0; /* saved before the first line */
    if ((mtaken = calloc(json_array_size(metrics) + 1, 1)) == NULL ||
        (ataken = calloc(json_array_size(alerts) + 1, 1)) == NULL) {
        what = "out of memory";
        goto bad;
    }
    if (restore_clock(p, clk) == -1) {
        what = "a damaged clock";
        goto bad;
    }
    for (i = 0; i < rs->nmetrics; i++) {
        if (rs->metrics[i].kind == RULES_RATIO)
            continue;
        b.len = 0;
        if (metric_def(&b, rs, i) != 0 || buf_addc(&b, '\0') != 0)
            goto bad;
        for (k = 0; k < json_array_size(metrics); k++) {
            const char *n = json_string_value(json_object_get(json_array_get(metrics, k), "name"));

            if (!mtaken[k] && n != NULL && strcmp(n, rs->metrics[i].name) == 0)
                break;
        }
        o = k < json_array_size(metrics) ? json_array_get(metrics, k) : NULL;
        if (o == NULL)
            continue; /* a new metric */
        mtaken[k] = 1;
        if (json_string_value(json_object_get(o, "definition")) == NULL ||
            strcmp(json_string_value(json_object_get(o, "definition")), b.p) != 0) {
            fprintf(log, "rarr: %s: metric %s: its definition changed; its state is dropped\n",
                    name, rs->metrics[i].name);
            continue;
        }
        if (window_load(&p->win[i], o) == -1 ||
            pending_load(p, json_object_get(o, "pending"), p->pending, p->pending_n, rs->nmetrics,
                         i) == -1)
            goto bad;
    }
    for (k = 0; k < json_array_size(metrics); k++)
        if (!mtaken[k])
            fprintf(log, "rarr: %s: metric %s is no longer defined; its state is dropped\n", name,
                    json_string_value(json_object_get(json_array_get(metrics, k), "name")));
    for (i = 0; i < rs->nalerts; i++) {
        b.len = 0;
        if (alert_def(&b, p, i) != 0 || buf_addc(&b, '\0') != 0)
            goto bad;
        if ((o = find_saved(alerts, "definition", b.p, ataken)) == NULL)
            continue;
        p->alerts[i].restored = 1;
        if (rs->alerts[i].anomaly) {
            if (detector_load(p->det[i], json_object_get(o, "detector")) == -1) {
                fprintf(log,
                        "rarr: %s: %s: the saved detector is damaged or from another build of "
                        "rarr; it learns afresh\n",
                        name, rs->alerts[i].rule);
                p->alerts[i].restored = 0;
            }
        } else {
            const char *st = json_string_value(json_object_get(o, "state"));
            int64_t since;

            for (k = 0; k < 3 && st != NULL && strcmp(st, state_names[k]) != 0; k++)
                ;
            if (st == NULL || k == 3 || get_int(o, "since", &since) == -1)
                goto bad;
            p->alerts[i].state = (enum alert_state)k;
            p->alerts[i].since_ms = since;
        }
    }
    for (k = 0; k < json_array_size(alerts); k++)
        if (!ataken[k] && retire(p, json_array_get(alerts, k), name, log) == -1) {
            what = "out of memory";
            goto bad;
        }
    o = json_object_get(snap, "lines");
    if (p->lines_det != NULL && o != NULL) {
        b.len = 0;
        if (buf_printf(&b, "lines window=%d", p->lines_det->cfg.window_steps) != 0 ||
            buf_addc(&b, '\0') != 0)
            goto bad;
        if (json_string_value(json_object_get(o, "definition")) != NULL &&
            strcmp(json_string_value(json_object_get(o, "definition")), b.p) == 0) {
            if (pending_load(p, json_object_get(o, "pending"), p->pending_lines, NULL, 1, 0) == -1)
                goto bad;
            if (detector_load(p->lines_det, json_object_get(o, "detector")) == -1)
                fprintf(log,
                        "rarr: %s: the input-wide detector's state is damaged or from "
                        "another build of rarr; it learns afresh\n",
                        name);
        }
    }
    free(mtaken);
    free(ataken);
    buf_fini(&b);
    return 0;
bad:
    fprintf(log, "rarr: %s: state file has %s; starting without state\n", name, what);
    free(mtaken);
    free(ataken);
    buf_fini(&b);
    pipeline_reset(p);
    return -1;
}
