/*
 * amsend.c -- alerts to Prometheus Alertmanager (--alertmanager URL), beside stdout.
 *
 * The main thread hands every output record to amsend_record(); threshold
 * and anomaly records become Alertmanager alerts (API v2, POST
 * URL/api/v2/alerts, a JSON array of alerts). What is kept is state, not a
 * queue: one entry per alert, keyed by its canonical label set, holding the
 * latest firing or resolved form and a version bumped at each change. Each
 * Alertmanager has its own thread and curl handle, and each entry remembers
 * per Alertmanager the version it was given and when, so a dead or slow one
 * delays nobody. A thread sends what its Alertmanager has not had yet,
 * re-sends firing alerts every resend_ms with endsAt AMSEND_ENDS_RESENDS
 * resends ahead (Alertmanager never times out a live alert, and resolves it
 * by itself if rarr dies), and retries failures with a backoff of 250 ms
 * doubling to 8 s, so an Alertmanager that comes up has the held alerts
 * within seconds.
 *
 * Invariants, all under am->mu: an entry is removed only when it is
 * resolved and every Alertmanager has it (delivered or given up); an entry
 * in a POST of Alertmanager u is firing or has seen[u].done < version, so
 * it cannot be removed under the thread's feet (give-ups for u are decided
 * only by u's thread, between its POSTs). Every version that never reached
 * an Alertmanager is counted once in 'undelivered' for it.
 */
#include "rarr/amsend.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/emit.h"

#define AMSEND_BATCH 500        /* alerts in one POST at most */
#define AMSEND_BACKOFF_MS 250   /* the first retry after a failure */
#define AMSEND_BACKOFF_MAX 8000 /* the longest wait between retries */
#define AMSEND_REPLY_MAX 200    /* bytes of a response kept for messages */
#define AMSEND_URL_MAX 4096     /* bytes of an endpoint URL, NUL included */
#define AMSEND_CONNECT_MS 2000  /* connect timeout */
#define AMSEND_TIMEOUT_MS 10000 /* default timeout of one POST */
#define AMSEND_PATH "/api/v2/alerts"
#define AMSEND_NEVER (INT64_MAX / 2) /* a sent_ms that is never due for a resend */

/* One Alertmanager's view of an entry. */
struct amsend_seen {
    uint64_t done;    /* version delivered or given up; 0: none */
    uint64_t sending; /* version in this Alertmanager's POST now; 0: none */
    int64_t sent_ms;  /* monotonic time a version was last delivered (AMSEND_NEVER: refused) */
};

/* One alert: the latest state rarr decided for a label set. */
struct amsend_entry {
    char *key;           /* the label set, compact JSON with sorted keys */
    json_t *alert;       /* labels, annotations, startsAt, endsAt */
    int firing;          /* else resolved */
    uint64_t version;    /* 1 when made, bumped at each change */
    int64_t resolved_ms; /* monotonic time it resolved */
    struct amsend_seen seen[];
};

/* An entry in a POST, and the version sent. */
struct amsend_item {
    struct amsend_entry *e;
    uint64_t version;
};

/* How a POST went. */
enum amsend_outcome { AMSEND_OK, AMSEND_RETRY, AMSEND_REFUSED };

/* One Alertmanager: its endpoint, thread and curl handle. Fields below 'curl' are its thread's. */
struct amsend_peer {
    struct amsend *am;
    size_t i;    /* index in am->peers and in every entry's seen[] */
    char *url;   /* the endpoint POSTed to */
    char *shown; /* the endpoint without user, password and query: for messages */
    pthread_t thread;
    int started;
    CURL *curl;
    struct curl_slist *headers;
    struct amsend_item items[AMSEND_BATCH];
    struct buf reply; /* the first AMSEND_REPLY_MAX bytes of the last response */
    char errbuf[CURL_ERROR_SIZE];
    unsigned fails;     /* failed POSTs in a row */
    int64_t backoff_ms; /* the last wait after a failure; 0: none */
    int64_t retry_ms;   /* monotonic time of the next attempt after a failure */
};

struct amsend {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* an entry changed, or stop was asked */
    int mu_ok, cond_ok, curl_ok;
    int64_t resend_ms, timeout_ms;
    FILE *log;
    struct amsend_peer *peers;
    size_t npeers;
    struct amsend_entry **tab; /* AMSEND_MAX_ALERTS slots, ntab used */
    size_t ntab;
    struct amsend_stats st;
    int stopping, told_full;
    int64_t deadline_ms; /* when stopping: the monotonic time the threads give up */
};

/* The record's string member 'name', or NULL if it has none. */
static const char *
rec_str(const json_t *rec, const char *name)
{
    return json_string_value(json_object_get(rec, name));
}

/* The record's number member 'name', or NaN if it has none or it is null. */
static double
rec_num(const json_t *rec, const char *name)
{
    const json_t *v = json_object_get(rec, name);

    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Append 'pre' then 'v' (emit_short_num) if 'v' is a number; nothing for NaN. */
static int
add_num(struct buf *b, const char *pre, double v)
{
    if (isnan(v))
        return 0;
    return buf_adds(b, pre) | emit_short_num(b, v);
}

/*
 * The alert's labels: rarr's own (alertname, metric, rarr, key, type) first,
 * then the rule's from the record's "labels" object, which cannot replace
 * rarr's own nor take their names when rarr's is absent (an empty key). Empty values are left out:
 * Alertmanager drops empty labels, and the label set must be the same here as there. NULL on
 * out-of-memory.
 */
static json_t *
alert_labels(json_t *rec)
{
    const char *own[][2] = {{"alertname", rec_str(rec, "rule")},
                            {"metric", rec_str(rec, "metric")},
                            {"rarr", rec_str(rec, "rarr")},
                            {"key", rec_str(rec, "key")},
                            {"type", rec_str(rec, "type")}};
    json_t *l, *v;
    const char *name;
    size_t i;
    int rc = 0;

    if ((l = json_object()) == NULL)
        return NULL;
    for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (own[i][1] != NULL && own[i][1][0] != '\0')
            rc |= json_object_set_new(l, own[i][0], json_string(own[i][1]));
    json_object_foreach(json_object_get(rec, "labels"), name, v)
    {
        for (i = 0; i < sizeof(own) / sizeof(own[0]) && strcmp(own[i][0], name) != 0; i++)
            ;
        if (json_is_string(v) && json_string_length(v) > 0 && i == sizeof(own) / sizeof(own[0]))
            rc |= json_object_set(l, name, v);
    }
    if (rc != 0) {
        json_decref(l);
        return NULL;
    }
    return l;
}

/* The threshold part of a summary: "42.5 below 80" (firing) or "resolved at 85, alert below 80". */
static int
summary_threshold(struct buf *b, const json_t *rec, int firing)
{
    const char *op = rec_str(rec, "op");
    double x = rec_num(rec, "threshold");

    if (op == NULL || isnan(x))
        return 0;
    return buf_adds(b, firing ? " " : ", alert ") | buf_adds(b, op) | add_num(b, " ", x);
}

/* The anomaly part of a summary: "dropped to 12, expected 80 (60–100)". */
static int
summary_anomaly(struct buf *b, const json_t *rec, int firing)
{
    const char *dir = rec_str(rec, "direction");
    double lower = rec_num(rec, "lower"), upper = rec_num(rec, "upper");
    int rc = 0;

    if (firing) {
        rc |= buf_adds(b, dir == NULL                 ? " is anomalous"
                          : strcmp(dir, "drop") == 0  ? " dropped"
                          : strcmp(dir, "spike") == 0 ? " spiked"
                                                      : " is anomalous");
        rc |= add_num(b, " to ", rec_num(rec, "value"));
    }
    rc |= add_num(b, ", expected ", rec_num(rec, "expected"));
    if (!isnan(lower) && !isnan(upper))
        rc |= add_num(b, " (", lower) | add_num(b, "\xe2\x80\x93", upper) | buf_addc(b, ')');
    return rc;
}

/*
 * A one-line summary readable on a phone, for a record without its own:
 * "login_success_pct /checkout 42.5 below 80 over 5m", "logins dropped to
 * 12, expected 80 (60–100) over 1h", "login_success_pct resolved (rule
 * removed)". Numbers have two decimals at most (emit_short_num).
 */
static int
alert_summary(struct buf *b, const json_t *rec, int firing)
{
    const char *name = rec_str(rec, "metric"), *key = rec_str(rec, "key");
    const char *w = rec_str(rec, "window"), *reason = rec_str(rec, "reason");
    double v = rec_num(rec, "value");
    int anomaly = strcmp(rec_str(rec, "type"), "anomaly") == 0, rc;

    rc = buf_adds(b, name != NULL ? name : rec_str(rec, "rule"));
    if (key != NULL && key[0] != '\0')
        rc |= buf_addc(b, ' ') | buf_adds(b, key);
    if (!firing) {
        rc |= buf_adds(b, " resolved");
        if (reason != NULL)
            rc |= buf_printf(b, " (%s)", reason);
        if (isnan(v)) /* retired, or a record without numbers */
            return rc;
        rc |= add_num(b, " at ", v);
    } else if (!anomaly) {
        rc |= add_num(b, " ", v);
    }
    rc |= anomaly ? summary_anomaly(b, rec, firing) : summary_threshold(b, rec, firing);
    if (w != NULL)
        rc |= buf_printf(b, " over %s", w);
    return rc;
}

/* Append ", NAME VALUE" for the record's member 'member' if it has one (numbers as %.6g). */
static int
describe(struct buf *b, const json_t *rec, const char *name, const char *member)
{
    const json_t *v = json_object_get(rec, member);

    if (json_is_string(v) && json_string_length(v) > 0)
        return buf_printf(b, ", %s %s", name, json_string_value(v));
    if (json_is_number(v))
        return buf_printf(b, ", %s %.6g", name, json_number_value(v));
    return 0;
}

/*
 * "; related: dashboard_views 4 (usual 16.25, -75%), ...": what else moved
 * (a firing record's "related"), for the description.
 */
static int
describe_related(struct buf *b, const json_t *related)
{
    const json_t *r;
    size_t i;
    int rc = 0;

    for (i = 0; i < json_array_size(related); i++) {
        r = json_array_get(related, i);
        if (rec_str(r, "metric") == NULL)
            continue;
        rc |= buf_adds(b, i == 0 ? "; related: " : ", ") | buf_adds(b, rec_str(r, "metric")) |
              add_num(b, " ", rec_num(r, "value")) | add_num(b, " (usual ", rec_num(r, "usual")) |
              add_num(b, ", ", rec_num(r, "change") * 100) |
              buf_adds(b, isnan(rec_num(r, "change")) ? ")" : "%)");
    }
    return rc;
}

/*
 * The longer description: everything the record says, in one sentence.
 * "rarr threshold rule login_low firing: metric login_success_pct, key
 * /checkout, category retention, value 42.5, threshold below 80, window 5m,
 * since 2026-12-07T01:02:00Z".
 */
static int
alert_description(struct buf *b, const json_t *rec, int firing)
{
    static const char *const parts[][2] = {
        {"metric", "metric"},       {"key", "key"},           {"category", "rarr"},
        {"value", "value"},         {"threshold", "op"},      {"", "threshold"},
        {"expected", "expected"},   {"lower bound", "lower"}, {"upper bound", "upper"},
        {"direction", "direction"}, {"score", "score"},       {"p", "p"},
        {"window", "window"},       {"since", "since"},       {"reason", "reason"}};
    size_t i, len;
    int rc;

    rc = buf_printf(b, "rarr %s rule %s %s:", rec_str(rec, "type"), rec_str(rec, "rule"),
                    firing ? "firing" : "resolved");
    len = b->len;
    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        /* The threshold's number follows its op: "threshold below 80". */
        if (parts[i][0][0] == '\0' && rec_str(rec, "op") != NULL &&
            json_is_number(json_object_get(rec, parts[i][1])))
            rc |= buf_printf(b, " %.6g", rec_num(rec, parts[i][1]));
        else if (parts[i][0][0] == '\0')
            rc |= describe(b, rec, "threshold", parts[i][1]);
        else
            rc |= describe(b, rec, parts[i][0], parts[i][1]);
    }
    if (rc == 0 && b->len > len) { /* "firing:, metric" reads "firing: metric" */
        memmove(b->p + len, b->p + len + 1, b->len - len);
        b->len--;
    }
    return rc | describe_related(b, json_object_get(rec, "related"));
}

/* Control characters (a key's newline, a tab) as spaces: a summary is one line on a phone. */
static void
one_line(struct buf *b)
{
    size_t i;

    for (i = 0; i < b->len; i++)
        if ((unsigned char)b->p[i] < 0x20 || b->p[i] == 0x7f)
            b->p[i] = ' ';
}

/* The annotations: summary (the record's own or alert_summary), description, runbook_url. */
static json_t *
alert_annotations(const json_t *rec, int firing)
{
    const char *summary = rec_str(rec, "summary"), *runbook = rec_str(rec, "runbook_url");
    struct buf s, d;
    json_t *a;
    int rc = 0;

    buf_init(&s);
    buf_init(&d);
    if (summary == NULL || summary[0] == '\0')
        rc |= alert_summary(&s, rec, firing);
    else
        rc |= buf_adds(&s, summary);
    one_line(&s);
    rc |= alert_description(&d, rec, firing);
    if ((a = json_object()) != NULL) {
        rc |= json_object_set_new(a, "summary", json_stringn(buf_cstr(&s), s.len));
        rc |= json_object_set_new(a, "description", json_stringn(buf_cstr(&d), d.len));
        if (runbook != NULL && runbook[0] != '\0')
            rc |= json_object_set_new(a, "runbook_url", json_string(runbook));
    }
    buf_fini(&s);
    buf_fini(&d);
    if (rc != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* Whether 'rec' may be a threshold or anomaly record, without parsing it (most are metric records).
 */
static int
alert_maybe(const char *rec, size_t len)
{
    static const char lead[] = "{\"type\":\"";
    size_t n = sizeof(lead) - 1;

    if (len <= n || memcmp(rec, lead, n) != 0)
        return 1; /* not as emit writes it: let the parser decide */
    return (len > n + 10 && memcmp(rec + n, "threshold\"", 10) == 0) ||
           (len > n + 8 && memcmp(rec + n, "anomaly\"", 8) == 0);
}

/*
 * A firing alert's endsAt: AMSEND_ENDS_RESENDS resends past now, or past
 * its start when that is later (a log ahead of the wall clock), so it is
 * never before startsAt (Alertmanager refuses a batch holding one such).
 */
static int64_t
firing_end(int64_t now_ms, int64_t starts_ms, int64_t resend_ms)
{
    return (starts_ms > now_ms ? starts_ms : now_ms) + AMSEND_ENDS_RESENDS * resend_ms;
}

/*
 * The times of an alert: startsAt from "since" (else "time"; never after
 * "time"), endsAt "time" when resolved, else firing_end.
 */
static int
alert_times(json_t *alert, const json_t *rec, int firing, int64_t now_ms, int64_t resend_ms)
{
    const char *t = rec_str(rec, "time"), *since = rec_str(rec, "since");
    char start[RARR_TIME_MAX], end[RARR_TIME_MAX];
    int64_t t_ms, since_ms;

    /* Alertmanager refuses a whole batch for one bad time: only times read back go out. */
    if (t == NULL || clock_parse_rfc3339(t, strlen(t), &t_ms) == -1)
        return -1;
    if (since == NULL || clock_parse_rfc3339(since, strlen(since), &since_ms) == -1 ||
        since_ms > t_ms)
        since_ms = t_ms;
    clock_format_time(since_ms, start);
    clock_format_time(firing ? firing_end(now_ms, since_ms, resend_ms) : t_ms, end);
    return json_object_set_new(alert, "startsAt", json_string(start)) |
           json_object_set_new(alert, "endsAt", json_string(end));
}

/* amsend_alert, also telling whether the record fires (*firing). */
static json_t *
alert_make(const char *rec, size_t len, int64_t now_ms, int64_t resend_ms, int *firing)
{
    json_t *r, *alert = NULL;
    const char *type, *state, *rule;
    int rc;

    if (!alert_maybe(rec, len) || (r = json_loadb(rec, len, 0, NULL)) == NULL)
        return NULL;
    type = rec_str(r, "type");
    state = rec_str(r, "state");
    rule = rec_str(r, "rule");
    if (type == NULL || (strcmp(type, "threshold") != 0 && strcmp(type, "anomaly") != 0) ||
        state == NULL || (strcmp(state, "firing") != 0 && strcmp(state, "resolved") != 0) ||
        rule == NULL || rule[0] == '\0')
        goto out;
    *firing = strcmp(state, "firing") == 0;
    if (resend_ms <= 0)
        resend_ms = AMSEND_RESEND_MS;
    if ((alert = json_object()) == NULL)
        goto out;
    rc = json_object_set_new(alert, "labels", alert_labels(r));
    rc |= json_object_set_new(alert, "annotations", alert_annotations(r, *firing));
    rc |= alert_times(alert, r, *firing, now_ms, resend_ms);
    if (rc != 0) {
        json_decref(alert);
        alert = NULL;
    }
out:
    json_decref(r);
    return alert;
}

/*
 * Translate one output record 'rec' ('len' bytes, one NDJSON line, a
 * trailing newline allowed) into an Alertmanager API v2 alert: labels
 * (alertname = rule, metric, rarr, key, type, then the rule's labels),
 * annotations (summary, description, runbook_url), startsAt = "since",
 * endsAt = "time" for a resolved record, now_ms + AMSEND_ENDS_RESENDS *
 * resend_ms for a firing one (resend_ms <= 0: AMSEND_RESEND_MS). Returns a
 * new reference the caller must json_decref, or NULL for any other record
 * (metric, input, not JSON, no rule, a time that does not parse) and on
 * out-of-memory.
 */
json_t *
amsend_alert(const char *rec, size_t len, int64_t now_ms, int64_t resend_ms)
{
    int firing;

    return alert_make(rec, len, now_ms, resend_ms, &firing);
}

/* Say "expected an http:// or https:// URL" for 'url' into 'err'. Returns -1. */
static int
url_bad(const char *url, const char *why, char *err, size_t errlen)
{
    snprintf(err, errlen, "expected an http:// or https:// URL%s, got '%s'", why, url);
    return -1;
}

/* Make the path of 'h' end in /api/v2/alerts (a trailing '/' dropped first). */
static int
url_path(CURLU *h)
{
    static const char tail[] = AMSEND_PATH;
    char *path = NULL;
    struct buf p;
    int rc = -1;

    buf_init(&p);
    if (curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK || buf_adds(&p, path) == -1)
        goto out;
    while (p.len > 0 && p.p[p.len - 1] == '/')
        p.p[--p.len] = '\0';
    if ((p.len < sizeof(tail) - 1 || strcmp(p.p + p.len - (sizeof(tail) - 1), tail) != 0) &&
        buf_adds(&p, tail) == -1)
        goto out;
    rc = curl_url_set(h, CURLUPART_PATH, p.p, 0) == CURLUE_OK ? 0 : -1;
out:
    curl_free(path);
    buf_fini(&p);
    return rc;
}

/*
 * Check an --alertmanager URL and write its endpoint into 'out' ('outlen'
 * bytes): the URL with the path + "/api/v2/alerts", unless the path already
 * ends so ("http://h:9093" gives "http://h:9093/api/v2/alerts", "http://h/am/"
 * gives "http://h/am/api/v2/alerts"); a fragment is dropped. The scheme must
 * be http or https and a host is required. Returns 0, or -1 with the reason
 * in 'err'.
 */
int
amsend_url(const char *url, char *out, size_t outlen, char *err, size_t errlen)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *host = NULL, *full = NULL;
    int rc = -1;

    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
        url_bad(url, "", err, errlen);
    else if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
        url_bad(url, " with a host", err, errlen);
    else if (url_path(h) == -1 || curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
             curl_url_get(h, CURLUPART_URL, &full, 0) != CURLUE_OK)
        snprintf(err, errlen, "out of memory");
    else if (strlen(full) >= outlen)
        snprintf(err, errlen, "URL too long: %.40s...", url);
    else {
        memcpy(out, full, strlen(full) + 1);
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(full);
    curl_url_cleanup(h);
    return rc;
}

/* The endpoint 'url' without user, password and query (they may hold secrets): a new string. */
static char *
url_shown(const char *url)
{
    CURLU *h = curl_url();
    char *s = NULL, *shown = NULL;

    if (h != NULL && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_OPTIONS, NULL, 0) == CURLUE_OK &&
        curl_url_set(h, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_URL, &s, 0) == CURLUE_OK)
        shown = strdup(s);
    curl_free(s);
    curl_url_cleanup(h);
    return shown;
}

/* Wait on am->cond until 'until_ms' (monotonic; INT64_MAX: until woken). Lock held. */
static void
am_wait(struct amsend *am, int64_t until_ms)
{
    struct timespec ts;

    if (until_ms == INT64_MAX) {
        pthread_cond_wait(&am->cond, &am->mu);
        return;
    }
    ts.tv_sec = (time_t)(until_ms / 1000);
    ts.tv_nsec = (long)(until_ms % 1000) * 1000000L;
    pthread_cond_timedwait(&am->cond, &am->mu, &ts);
}

/* Free an entry. */
static void
entry_free(struct amsend_entry *e)
{
    if (e == NULL)
        return;
    free(e->key);
    json_decref(e->alert);
    free(e);
}

/* Remove the resolved entries every Alertmanager has (delivered or given up). Lock held. */
static void
am_sweep(struct amsend *am)
{
    size_t i = 0, u;
    struct amsend_entry *e;

    while (i < am->ntab) {
        e = am->tab[i];
        for (u = 0; u < am->npeers && e->seen[u].done >= e->version; u++)
            ;
        if (e->firing || u < am->npeers) {
            i++;
            continue;
        }
        entry_free(e);
        am->tab[i] = am->tab[--am->ntab];
    }
}

/* The entry with label set 'key', or NULL. Lock held. Linear: alerts change rarely. */
static struct amsend_entry *
am_find(struct amsend *am, const char *key)
{
    size_t i;

    for (i = 0; i < am->ntab; i++)
        if (strcmp(am->tab[i]->key, key) == 0)
            return am->tab[i];
    return NULL;
}

/* Whether alert 'b' says what 'a' says (endsAt of firing alerts aside: it is made at send time). */
static int
alert_same(const json_t *a, const json_t *b, int firing)
{
    static const char *const parts[] = {"annotations", "startsAt", "endsAt"};
    size_t i, n = firing ? 2 : 3;

    for (i = 0; i < n; i++)
        if (!json_equal(json_object_get(a, parts[i]), json_object_get(b, parts[i])))
            return 0;
    return 1;
}

/* A new entry for 'key' and 'alert' (both taken over), or NULL (both freed). Lock held. */
static struct amsend_entry *
am_insert(struct amsend *am, char *key, json_t *alert)
{
    struct amsend_entry *e;

    if (am->ntab == AMSEND_MAX_ALERTS ||
        (e = calloc(1, sizeof(*e) + am->npeers * sizeof(e->seen[0]))) == NULL) {
        free(key);
        json_decref(alert);
        return NULL;
    }
    e->key = key;
    e->alert = alert;
    am->tab[am->ntab++] = e;
    return e;
}

/*
 * Set the entry of label set 'key' to 'alert' (both taken over): insert it,
 * or bump its version if it says something new, counting as undelivered the
 * version it replaces for each Alertmanager that has not had it and is not
 * sending it. Returns 1 if the table was full and 'alert' dropped, else 0.
 * Lock held.
 */
static int
am_update(struct amsend *am, char *key, json_t *alert, int firing)
{
    struct amsend_entry *e = am_find(am, key);
    struct amsend_seen *s;
    size_t u;

    if (e == NULL) {
        if ((e = am_insert(am, key, alert)) == NULL) {
            am->st.undelivered += am->npeers;
            return am->ntab == AMSEND_MAX_ALERTS;
        }
    } else {
        free(key);
        if (firing == e->firing && alert_same(e->alert, alert, firing)) {
            json_decref(alert);
            return 0;
        }
        for (u = 0; u < am->npeers; u++) {
            s = &e->seen[u];
            if (s->done < e->version && s->sending != e->version)
                am->st.undelivered++;
        }
        json_decref(e->alert);
        e->alert = alert;
    }
    e->firing = firing;
    e->version++;
    if (!firing)
        e->resolved_ms = clock_mono_ms();
    return 0;
}

/*
 * Hand one output record to the senders ('len' bytes, a trailing newline
 * allowed): a threshold or anomaly record sets its alert firing or resolved
 * and wakes the threads; it is delivered in the background. Other records,
 * and every record after amsend_stop, are ignored. Never blocks on the
 * network. Returns 0, or -1 on out-of-memory (the alert is lost).
 */
int
amsend_record(struct amsend *am, const char *rec, size_t len)
{
    json_t *alert;
    char *key;
    int firing, full = 0;

    if ((alert = alert_make(rec, len, clock_wall_ms(), am->resend_ms, &firing)) == NULL)
        return 0;
    key = json_dumps(json_object_get(alert, "labels"), JSON_COMPACT | JSON_SORT_KEYS);
    if (key == NULL) {
        json_decref(alert);
        return -1;
    }
    pthread_mutex_lock(&am->mu);
    if (am->stopping) {
        free(key);
        json_decref(alert);
    } else if (am_update(am, key, alert, firing) == 1 && !am->told_full) {
        full = am->told_full = 1;
    }
    pthread_cond_broadcast(&am->cond);
    pthread_mutex_unlock(&am->mu);
    if (full && am->log != NULL)
        fprintf(am->log,
                "rarr: alertmanager: %d alerts held, the most there can be; new alerts "
                "are dropped\n",
                AMSEND_MAX_ALERTS);
    return 0;
}

/*
 * Fill p->items with what this Alertmanager is due (AMSEND_BATCH at most):
 * the entries whose version it has not had, then (not when stopping) the
 * firing ones last delivered resend_ms ago or more. A resolved entry it has
 * not had AMSEND_ENDS_RESENDS resends after resolving is given up: by then
 * it timed the alert out itself by the endsAt it last got. Sets *next_ms
 * to the monotonic time something else falls due (INT64_MAX: nothing).
 * Returns the number of items. Lock held.
 */
static size_t
peer_collect(struct amsend_peer *p, int64_t now, int64_t *next_ms)
{
    struct amsend *am = p->am;
    int64_t ends_ms = AMSEND_ENDS_RESENDS * am->resend_ms, due;
    struct amsend_entry *e;
    struct amsend_seen *s;
    size_t i, n = 0, gave = 0;

    *next_ms = INT64_MAX;
    for (i = 0; i < am->ntab; i++) {
        e = am->tab[i];
        s = &e->seen[p->i];
        if (s->done < e->version) {
            if (!e->firing && now >= (due = e->resolved_ms + ends_ms)) {
                s->done = e->version;
                am->st.undelivered++;
                gave++;
                continue;
            }
            if (!e->firing && due < *next_ms)
                *next_ms = due;
        } else if (e->firing && !am->stopping) {
            if ((due = s->sent_ms + am->resend_ms) > now) {
                *next_ms = due < *next_ms ? due : *next_ms;
                continue;
            }
        } else {
            continue;
        }
        if (n < AMSEND_BATCH)
            p->items[n++] = (struct amsend_item){e, e->version};
    }
    if (gave > 0)
        am_sweep(am);
    return n;
}

/*
 * The JSON array POSTed for p->items[0..n): firing alerts get their endsAt
 * (firing_end) from now. A new string, or NULL on
 * out-of-memory. Lock held (the alerts are shared with amsend_record).
 */
static char *
peer_body(struct amsend_peer *p, size_t n)
{
    char ends[RARR_TIME_MAX];
    json_t *arr = json_array(), *alert;
    const char *starts;
    char *body = NULL;
    int64_t now = clock_wall_ms(), starts_ms;
    size_t i;
    int rc = arr == NULL;

    for (i = 0; i < n && rc == 0; i++) {
        alert = p->items[i].e->alert;
        starts = json_string_value(json_object_get(alert, "startsAt"));
        if (p->items[i].e->firing) {
            if (starts == NULL || clock_parse_rfc3339(starts, strlen(starts), &starts_ms) == -1)
                starts_ms = now;
            clock_format_time(firing_end(now, starts_ms, p->am->resend_ms), ends);
            rc |= json_object_set_new(alert, "endsAt", json_string(ends));
        }
        rc |= json_array_append(arr, alert);
    }
    if (rc == 0)
        body = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return body;
}

/* Keep the first AMSEND_REPLY_MAX bytes of a response for messages (a curl write callback). */
static size_t
peer_reply(char *data, size_t size, size_t nmemb, void *arg)
{
    struct amsend_peer *p = arg;
    size_t len = size * nmemb, room = AMSEND_REPLY_MAX - p->reply.len;

    if (p->reply.len < AMSEND_REPLY_MAX)
        buf_add(&p->reply, data, len < room ? len : room);
    return len;
}

/* Abort a POST once a stop's grace is over (a curl progress callback). */
static int
peer_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct amsend *am = arg;
    int over;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    pthread_mutex_lock(&am->mu);
    over = am->stopping && clock_mono_ms() >= am->deadline_ms;
    pthread_mutex_unlock(&am->mu);
    return over;
}

/* Write why the last POST failed into 'out': curl's reason, or the status and the reply. */
static void
peer_reason(struct amsend_peer *p, CURLcode rc, long code, char *out, size_t outlen)
{
    char text[AMSEND_REPLY_MAX + 1];
    size_t i, n = 0;

    if (rc != CURLE_OK) {
        snprintf(out, outlen, "%s", p->errbuf[0] != '\0' ? p->errbuf : curl_easy_strerror(rc));
        return;
    }
    /* The reply is the server's: no control bytes or 8-bit escapes reach the terminal. */
    for (i = 0; i < p->reply.len && n < AMSEND_REPLY_MAX; i++) {
        unsigned char c = (unsigned char)p->reply.p[i];

        text[n++] = c < 0x20 || c >= 0x7f ? ' ' : (char)c;
    }
    while (n > 0 && text[n - 1] == ' ')
        n--;
    text[n] = '\0';
    snprintf(out, outlen, "HTTP %ld%s%s", code, n > 0 ? ": " : "", text);
}

/*
 * Classify the POST of 'n' alerts that ended with 'rc' and HTTP status
 * 'code', and tell the log what a person needs: the first failure of a
 * streak, the recovery after one, a refusal. Updates the streak. Lock not held.
 */
static enum amsend_outcome
peer_tell(struct amsend_peer *p, CURLcode rc, long code, size_t n)
{
    FILE *log = p->am->log;
    char why[CURL_ERROR_SIZE + AMSEND_REPLY_MAX + 32];

    if (rc == CURLE_OK && code >= 200 && code < 300) {
        if (p->fails > 0 && log != NULL)
            fprintf(log, "rarr: alertmanager %s: delivered again after %u failed attempts\n",
                    p->shown, p->fails);
        p->fails = 0;
        return AMSEND_OK;
    }
    peer_reason(p, rc, code, why, sizeof(why));
    /* A 4xx other than 408 and 429 is an answer about the alerts: sending again won't help. */
    if (rc == CURLE_OK && code >= 400 && code < 500 && code != 408 && code != 429) {
        if (log != NULL)
            fprintf(log, "rarr: alertmanager %s: %zu alerts refused: %s\n", p->shown, n, why);
        p->fails = 0;
        return AMSEND_REFUSED;
    }
    /* A POST cut short by amsend_stop is no news. */
    if (p->fails++ == 0 && rc != CURLE_ABORTED_BY_CALLBACK && log != NULL)
        fprintf(log, "rarr: alertmanager %s: %s; alerts are held and retried\n", p->shown, why);
    return AMSEND_RETRY;
}

/*
 * Record the outcome 'how' of the POST of p->items[0..n). Delivered: each
 * version is the Alertmanager's now (a newer one may have come meanwhile and
 * stays due). Refused: counted undelivered and not sent again. Retry: a
 * version superseded meanwhile is counted undelivered; the next attempt
 * waits the backoff. Lock held.
 */
static void
peer_apply(struct amsend_peer *p, size_t n, enum amsend_outcome how)
{
    struct amsend *am = p->am;
    int64_t now = clock_mono_ms();
    struct amsend_seen *s;
    size_t i;

    for (i = 0; i < n; i++) {
        s = &p->items[i].e->seen[p->i];
        s->sending = 0;
        if (how == AMSEND_OK && p->items[i].version > s->done)
            am->st.alerts++;
        if (how != AMSEND_OK && p->items[i].version > s->done &&
            (how == AMSEND_REFUSED || p->items[i].version != p->items[i].e->version))
            am->st.undelivered++;
        if (how != AMSEND_RETRY && p->items[i].version > s->done)
            s->done = p->items[i].version;
        if (how == AMSEND_OK)
            s->sent_ms = now;
        else if (how == AMSEND_REFUSED) /* not re-sent either, until it changes */
            s->sent_ms = AMSEND_NEVER;
    }
    if (how == AMSEND_RETRY) {
        am->st.failures++;
        p->backoff_ms = p->backoff_ms == 0 ? AMSEND_BACKOFF_MS : 2 * p->backoff_ms;
        if (p->backoff_ms > AMSEND_BACKOFF_MAX)
            p->backoff_ms = AMSEND_BACKOFF_MAX;
        p->retry_ms = now + p->backoff_ms;
        return;
    }
    am->st.posts += how == AMSEND_OK;
    am->st.failures += how == AMSEND_REFUSED;
    p->backoff_ms = 0;
    p->retry_ms = 0;
    am_sweep(am);
}

/*
 * POST p->items[0..n): the body is made under the lock, the POST is made
 * without it (while stopping, no longer than the grace left), the outcome
 * recorded under it again. Lock held on entry and return.
 */
static void
peer_post(struct amsend_peer *p, size_t n)
{
    struct amsend *am = p->am;
    int64_t limit = am->timeout_ms, left;
    enum amsend_outcome how;
    long code = 0;
    CURLcode rc;
    char *body;
    size_t i;

    if ((body = peer_body(p, n)) == NULL) {
        peer_apply(p, 0, AMSEND_RETRY); /* out of memory: try again later */
        return;
    }
    for (i = 0; i < n; i++)
        p->items[i].e->seen[p->i].sending = p->items[i].version;
    if (am->stopping && (left = am->deadline_ms - clock_mono_ms()) < limit)
        limit = left > 1 ? left : 1;
    pthread_mutex_unlock(&am->mu);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, (long)limit);
    p->reply.len = 0;
    p->errbuf[0] = '\0';
    if ((rc = curl_easy_perform(p->curl)) == CURLE_OK)
        curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
    how = peer_tell(p, rc, code, n);
    free(body);
    pthread_mutex_lock(&am->mu);
    peer_apply(p, n, how);
}

/*
 * One Alertmanager's thread: POST what is due, else sleep until something
 * is (a record, a resend, the end of a backoff, a stop). When stopping, it
 * sends only what its Alertmanager has not had, and ends when nothing is
 * left or the grace is over.
 */
static void *
peer_run(void *arg)
{
    struct amsend_peer *p = arg;
    struct amsend *am = p->am;
    int64_t now, next;
    size_t n;

    pthread_mutex_lock(&am->mu);
    for (;;) {
        now = clock_mono_ms();
        if (am->stopping && now >= am->deadline_ms)
            break;
        n = peer_collect(p, now, &next);
        if (n > 0 && p->retry_ms <= now) {
            peer_post(p, n);
            continue;
        }
        if (n == 0 && am->stopping)
            break;
        if (n > 0)
            next = p->retry_ms; /* in a backoff: the next try */
        if (am->stopping && next > am->deadline_ms)
            next = am->deadline_ms;
        am_wait(am, next);
    }
    pthread_mutex_unlock(&am->mu);
    return NULL;
}

/* Set up peer 'i' for endpoint 'url' (its handle and its options). Returns 0 or -1. */
static int
peer_init(struct amsend *am, size_t i, const char *url)
{
    struct amsend_peer *p = &am->peers[i];
    CURL *c;
    struct curl_slist *h;

    p->am = am;
    p->i = i;
    buf_init(&p->reply);
    if ((p->url = strdup(url)) == NULL || (p->shown = url_shown(url)) == NULL ||
        (p->curl = c = curl_easy_init()) == NULL ||
        (h = curl_slist_append(NULL, "Content-Type: application/json")) == NULL)
        return -1;
    p->headers = h;
    /* No "Expect: 100-continue" round trip before a large batch. */
    if ((h = curl_slist_append(h, "Expect:")) == NULL)
        return -1;
    p->headers = h;
    curl_easy_setopt(c, CURLOPT_URL, p->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "rarr/" RARR_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)AMSEND_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, peer_reply);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->errbuf);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, peer_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, am);
    return 0;
}

/* Lock, condition variable (on the monotonic clock) and table of a new sender. */
static int
am_init(struct amsend *am, size_t n, const struct amsend_opts *opt)
{
    pthread_condattr_t ca;

    am->resend_ms = opt != NULL && opt->resend_ms > 0 ? opt->resend_ms : AMSEND_RESEND_MS;
    am->timeout_ms = opt != NULL && opt->timeout_ms > 0 ? opt->timeout_ms : AMSEND_TIMEOUT_MS;
    am->log = opt != NULL ? opt->log : NULL;
    am->npeers = n;
    if (pthread_mutex_init(&am->mu, NULL) != 0)
        return -1;
    am->mu_ok = 1;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    am->cond_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                  pthread_cond_init(&am->cond, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!am->cond_ok || (am->peers = calloc(n, sizeof(am->peers[0]))) == NULL ||
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): a table of pointers */
        (am->tab = calloc(AMSEND_MAX_ALERTS, sizeof(am->tab[0]))) == NULL)
        return -1;
    return 0;
}

/* Start one thread per Alertmanager, with every signal blocked: they are the main thread's. */
static int
am_start(struct amsend *am)
{
    sigset_t all, old;
    size_t i;
    int rc = 0;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (i = 0; i < am->npeers && rc == 0; i++)
        if ((rc = pthread_create(&am->peers[i].thread, NULL, peer_run, &am->peers[i])) == 0)
            am->peers[i].started = 1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc == 0 ? 0 : -1;
}

/*
 * Start sending alerts to the 'n' Alertmanagers 'urls' (each checked by
 * amsend_url), one thread each, with options 'opt' (NULL: defaults; its
 * log FILE is borrowed until amsend_free). Returns the sender, which the
 * caller frees with amsend_free, or NULL with the reason in 'err' (an
 * unusable URL, no URL, out of memory, no thread).
 */
struct amsend *
amsend_new(const char *const *urls, size_t n, const struct amsend_opts *opt, char *err,
           size_t errlen)
{
    struct amsend *am;
    char url[AMSEND_URL_MAX];
    size_t i;

    if (n == 0) {
        snprintf(err, errlen, "no Alertmanager URL");
        return NULL;
    }
    if ((am = calloc(1, sizeof(*am))) == NULL || am_init(am, n, opt) == -1)
        goto oom;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cannot initialise libcurl");
        goto err;
    }
    am->curl_ok = 1;
    for (i = 0; i < n; i++) {
        if (amsend_url(urls[i], url, sizeof(url), err, errlen) == -1)
            goto err;
        if (peer_init(am, i, url) == -1)
            goto oom;
    }
    if (am_start(am) == -1) {
        snprintf(err, errlen, "cannot start a thread");
        goto err;
    }
    return am;
oom:
    snprintf(err, errlen, "out of memory");
err:
    amsend_free(am);
    return NULL;
}

/*
 * Stop sending: the threads deliver what their Alertmanager has not had for
 * at most 'grace_ms' (a POST under way is cut at the end of it), then end.
 * What is still undelivered is counted, and told once on the log. Firing
 * alerts are not resolved: Alertmanager resolves them at their endsAt, and a
 * rarr restarted with --state sends them again. Records given after this are
 * ignored. Calling it again does nothing.
 */
void
amsend_stop(struct amsend *am, int64_t grace_ms)
{
    struct amsend_entry *e;
    uint64_t lost;
    size_t i, u;

    if (am == NULL || !am->mu_ok || !am->cond_ok)
        return;
    pthread_mutex_lock(&am->mu);
    if (am->stopping) {
        pthread_mutex_unlock(&am->mu);
        return;
    }
    am->stopping = 1;
    am->deadline_ms = clock_mono_ms() + (grace_ms > 0 ? grace_ms : 0);
    pthread_cond_broadcast(&am->cond);
    pthread_mutex_unlock(&am->mu);
    for (i = 0; i < am->npeers; i++)
        if (am->peers[i].started)
            pthread_join(am->peers[i].thread, NULL);
    pthread_mutex_lock(&am->mu);
    for (i = 0; i < am->ntab; i++)
        for (e = am->tab[i], u = 0; u < am->npeers; u++)
            if (e->seen[u].done < e->version) {
                e->seen[u].done = e->version;
                am->st.undelivered++;
            }
    lost = am->st.undelivered;
    pthread_mutex_unlock(&am->mu);
    if (lost > 0 && am->log != NULL)
        fprintf(am->log,
                "rarr: alertmanager: %" PRIu64 " alert notifications could not be delivered\n",
                lost);
}

/* Copy the counts so far into 'st'. Safe while the threads run. */
void
amsend_stats(struct amsend *am, struct amsend_stats *st)
{
    pthread_mutex_lock(&am->mu);
    *st = am->st;
    pthread_mutex_unlock(&am->mu);
}

/* Stop (with no grace, if amsend_stop was not called) and free everything. NULL is fine. */
void
amsend_free(struct amsend *am)
{
    size_t i;

    if (am == NULL)
        return;
    amsend_stop(am, 0);
    for (i = 0; am->peers != NULL && i < am->npeers; i++) {
        curl_easy_cleanup(am->peers[i].curl);
        curl_slist_free_all(am->peers[i].headers);
        buf_fini(&am->peers[i].reply);
        free(am->peers[i].url);
        free(am->peers[i].shown);
    }
    for (i = 0; am->tab != NULL && i < am->ntab; i++)
        entry_free(am->tab[i]);
    free(am->tab);
    free(am->peers);
    if (am->cond_ok)
        pthread_cond_destroy(&am->cond);
    if (am->mu_ok)
        pthread_mutex_destroy(&am->mu);
    if (am->curl_ok)
        curl_global_cleanup();
    free(am);
}

/* The version of libcurl the sender runs with ("7.88.1"). */
const char *
amsend_library(void)
{
    return curl_version_info(CURLVERSION_NOW)->version;
}
