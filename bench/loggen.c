/*
 * loggen.c -- a deterministic generator of realistic web-app traffic, used to
 * make test fixtures and benchmark inputs for rarr.
 *
 * It simulates a small SaaS web app: marketing pages, the login flow (page,
 * submit, dashboard), dashboards, signups, subscriptions, API calls, static
 * assets, 404 scanners and Googlebot. Arrivals are a Poisson process whose
 * rate follows a daily cycle in local time, with quieter weekends. Incidents
 * (a login outage, drops, halvings, declines and spikes of one kind of
 * traffic) can be laid over it, and their windows written to a labels file.
 *
 * Output is one of four formats: Apache combined or common access logs, JSON
 * app events, or journald records as "journalctl -o json" prints them. The
 * program keeps its own PRNG, so the same options give the same bytes.
 *
 * Lines come in time order unless --disorder asks for the order of real logs:
 * a log sorted to the minute only (lines shuffled within their minute), slow
 * requests written when they end (the line keeps its start time but comes
 * later). The order is drawn from a PRNG of its own, so the lines are the
 * same with and without it; only where they come changes.
 *
 * Build: gcc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 bench/loggen.c -lm
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
#define US_PER_S 1000000LL

/* The longest time span accepted anywhere: 200 years, in seconds. */
#define MAX_SPAN (200LL * 366 * 86400)

/* Share of the peak rate at the quietest time of day (04:00 local). */
#define LOW_SHARE 0.12

/* Weekend days carry this share of a weekday's traffic. */
#define WEEKEND_SHARE 0.7

/*
 * Mean number of output lines that one arrival (the start of a visit) leads
 * to, counting follow-ups such as static assets and login submits. The rate
 * option counts lines, so arrivals are drawn at rate / LINES_PER_ARRIVAL.
 * Measured by running the generator with no incidents.
 */
#define LINES_PER_ARRIVAL 2.13

#define NBROWSER 8000
#define NAPI 48
#define MAX_INCIDENTS 64
#define OUTBUF_SIZE (1 << 16)
#define MAX_LINE 4096

/* Output formats. */
enum fmt { FMT_COMBINED, FMT_COMMON, FMT_JSON, FMT_JOURNALD };

/* Traffic categories; incidents scale them, arrivals are drawn from them. */
enum cat {
    CAT_MARKETING,
    CAT_LOGIN,
    CAT_DASHBOARD,
    CAT_SIGNUP,
    CAT_SUBSCRIBE,
    CAT_API,
    CAT_NOTFOUND,
    CAT_BOT,
    NCAT
};

/* Relative weights of arrivals per category, in the order of enum cat. */
static const double cat_weight[NCAT] = {200, 80, 100, 11, 3, 100, 20, 5};

/* Metrics an incident can name; all but MET_ALL map to one category. */
enum metric { MET_LOGIN, MET_DASHBOARD, MET_SIGNUP, MET_SUBSCRIBE, MET_MARKETING, MET_ALL, NMET };

static const char *const metric_name[NMET] = {"login",     "dashboard", "signup",
                                              "subscribe", "marketing", "all"};

static const enum cat metric_cat[NMET] = {CAT_LOGIN,     CAT_DASHBOARD, CAT_SIGNUP,
                                          CAT_SUBSCRIBE, CAT_MARKETING, CAT_MARKETING};

/* Incident kinds. */
enum kind { K_LOGIN_OUTAGE, K_DROP, K_HALF, K_DECLINE, K_SPIKE, NKIND };

static const char *const kind_name[NKIND] = {"login_outage", "drop", "half", "decline", "spike"};

/* One incident; times are seconds since the epoch, end exclusive. */
struct incident {
    enum kind kind;
    enum metric metric;
    int64_t start;
    int64_t end;
};

/* What a scheduled event does when its time comes. */
enum act {
    A_MARKETING,
    A_LOGIN_PAGE,
    A_LOGIN_POST,
    A_LOGIN_DASH,
    A_DASHBOARD,
    A_SIGNUP_PAGE,
    A_SIGNUP_POST,
    A_SUBSCRIBE,
    A_API,
    A_NOTFOUND,
    A_BOT,
    A_ASSET
};

/* Pages that can be requested and named as a referer. */
enum page {
    PG_HOME,
    PG_PRICING,
    PG_FEATURES,
    PG_BLOG,
    PG_LANDING,
    PG_LOGIN,
    PG_DASHBOARD,
    PG_PROJECT,
    PG_SIGNUP,
    PG_BILLING
};

/* Messages the app writes to the journal, besides "METHOD PATH STATUS". */
enum msg { M_GENERIC, M_LOGIN_OK, M_LOGIN_FAIL, M_SIGNUP, M_SIGNUP_FAIL, M_SUB, M_SUB_FAIL };

/* A pending event in the time-ordered queue. */
struct ev {
    int64_t t;       /* When, in microseconds since the epoch. */
    uint64_t seq;    /* Push order, so equal times pop deterministically. */
    uint32_t client; /* Index into the browser pool. */
    uint32_t aux;    /* Page index (blog slug, project number). */
    uint8_t act;     /* An enum act. */
    uint8_t arg;     /* Retry count, or asset index plus 304 flag. */
    uint8_t page;    /* An enum page: the page that caused this event. */
};

/* A simulated client: where it connects from and what it runs. */
struct client {
    char ip[40];
    uint32_t user; /* Account id, shown as "u<id>". */
    uint8_t ua;    /* Index into the user-agent table of its pool. */
    uint8_t h2;    /* Speaks HTTP/2. */
    uint8_t basic; /* Sends HTTP basic auth, so %u is set. */
};

/* One request, ready to be formatted. */
struct req {
    int64_t t; /* Microseconds since the epoch. */
    const char *ip;
    const char *ua;
    const char *proto;
    const char *method;
    const char *event;  /* Event name in the JSON format. */
    const char *reason; /* Failure reason, or NULL. */
    const char *plan;   /* Plan name, or NULL. */
    char path[256];     /* Path with query string. */
    size_t plen;        /* Length of path. */
    size_t qpos;        /* Where the '?' is, or plen. */
    char ref[320];      /* Referer, "-" for none. */
    char user[24];      /* The %u field, "-" for none. */
    uint32_t uid;       /* Account id for the JSON and journal formats, 0 if anonymous. */
    int status;
    long bytes; /* Response size; 0 prints as "-" in CLF. */
    int amount_cents;
    enum msg msg;
    int dur_lo; /* Range of duration_ms, in tenths of a millisecond. */
    int dur_hi;
};

/* xoshiro256** state. */
struct rng {
    uint64_t s[4];
};

/* Browser user agents and their shares among browser clients. */
static const char *const browser_ua[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
};
static const double browser_ua_weight[] = {35, 15, 8, 15, 12, 7, 6, 2};
#define NBROWSER_UA (sizeof browser_ua / sizeof browser_ua[0])

/* User agents of API clients. */
static const char *const api_ua[] = {
    "curl/8.5.0",  "python-requests/2.31.0", "Go-http-client/1.1", "okhttp/4.12.0", "axios/1.6.8",
    "curl/7.88.1",
};
#define NAPI_UA (sizeof api_ua / sizeof api_ua[0])

/* User agents of vulnerability scanners. */
static const char *const scanner_ua[] = {
    "Mozilla/5.0 zgrab/0.x",
    "python-requests/2.28.2",
    "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
    "curl/7.68.0",
};
#define NSCANNER_UA (sizeof scanner_ua / sizeof scanner_ua[0])

static const char googlebot_ua[] =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

static const char site[] = "https://www.example.com";

/* Blog posts and their page sizes. */
static const char *const blog_slug[] = {
    "launch-week-2026",    "how-we-scaled-postgres",   "pricing-update",
    "release-notes-4-2",   "customer-story-northwind", "faster-builds-with-caching",
    "security-audit-2026", "year-in-review",           "migrating-from-spreadsheets",
    "team-offsite-lisbon",
};
static const long blog_bytes[] = {24310, 38122, 17450, 29877, 26540,
                                  33019, 21760, 41288, 27703, 19915};
#define NBLOG (sizeof blog_slug / sizeof blog_slug[0])

/* Landing-page campaigns. */
static const char *const campaign[] = {
    "spring-sale", "webinar-may", "partner-acme", "search-brand", "newsletter-42", "devops-guide",
};
#define NCAMPAIGN (sizeof campaign / sizeof campaign[0])

/* Query strings seen on blog posts. */
static const char *const blog_query[] = {
    "?utm_source=news",
    "?utm_source=newsletter&utm_medium=email&utm_campaign=weekly",
    "?utm_source=twitter&utm_medium=social",
    "?ref=hn",
    "?utm_source=linkedin",
};
#define NBLOG_QUERY (sizeof blog_query / sizeof blog_query[0])

/* External referers with weights; "-" means none. */
static const char *const ext_ref[] = {
    "-",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://t.co/",
    "https://www.linkedin.com/",
    "https://news.ycombinator.com/",
    "https://www.reddit.com/",
};
static const double ext_ref_weight[] = {46, 32, 4, 5, 4, 3, 3, 3};
#define NEXT_REF (sizeof ext_ref / sizeof ext_ref[0])

/* Paths that do not exist, asked for by scanners and broken links. */
static const char *const scan_path[] = {
    "/wp-login.php",
    "/.env",
    "/admin/",
    "/phpmyadmin/index.php",
    "/xmlrpc.php",
    "/.git/config",
    "/cgi-bin/luci",
    "/server-status",
    "/wp-content/plugins/",
    "/config.json",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
};
#define NSCAN_PATH (sizeof scan_path / sizeof scan_path[0])

static const char *const broken_path[] = {
    "/apple-touch-icon.png",
    "/apple-touch-icon-precomposed.png",
    "/blog/old-launch-post",
    "/pricing.html",
    "/ads.txt",
    "/favicon-32x32.png",
    "/docs/getting-started",
    "/careers",
};
#define NBROKEN_PATH (sizeof broken_path / sizeof broken_path[0])

/* Static assets: path and size. */
static const char *const asset_path[] = {"/static/app.js", "/static/app.css", "/img/logo.png",
                                         "/favicon.ico"};
static const long asset_bytes[] = {184321, 48213, 12840, 15086};

/* First octets of the IPv4 addresses of browser clients. */
static const unsigned char v4_first[] = {
    23, 31, 37, 46, 62,  66,  73,  77,  78,  81,  82,  84,  85,  86,  88,  89,  90,  91, 92, 93,
    94, 95, 98, 99, 104, 109, 151, 176, 178, 185, 188, 193, 195, 203, 212, 213, 217, 24, 67, 71};

/* IPv6 prefixes of consumer ISPs. */
static const char *const v6_prefix[] = {"2a02:810d", "2a01:e0a", "2600:1700",
                                        "2601:646",  "2003:e2",  "2a00:23c6"};

/* First octets of API clients, which live in clouds. */
static const unsigned char cloud_first[] = {3, 13, 18, 34, 35, 52, 54, 104, 159, 167};

/* Options. */
static enum fmt g_fmt = FMT_COMBINED;
static int64_t g_start;
static int64_t g_duration = 86400;
static int g_have_duration;
static uint64_t g_max_lines;
static double g_rate = 3000;
static double g_growth; /* traffic growth per week, as a fraction */
static uint64_t g_seed = 1;
static int g_tzoff; /* Seconds east of UTC. */
static char g_tzstr[8] = "+0000";
static struct incident g_inc[MAX_INCIDENTS];
static int g_ninc;
static const char *g_labels;
static int g_request_time;   /* --request-time: CLF lines end with " rt=SECONDS" */
static int g_disorder;       /* --disorder was given. */
static int64_t g_shuffle_us; /* Lines are shuffled within each span this long, 0 for none. */
static double g_slow_share;  /* Share of lines written late, as slow requests are. */
static int64_t g_slow_us;    /* The most a slow line comes after its time. */

/* Generator state. */
static struct rng g_rng;  /* What happens: the traffic itself. */
static struct rng g_frng; /* Details only some formats show, so formats share traffic. */
static struct rng g_drng; /* The order of --disorder, so it changes no line. */
static struct client g_browser[NBROWSER];
static struct client g_api[NAPI];
static double g_shape[86400];
static double g_browser_ua_cum[NBROWSER_UA];
static double g_ext_ref_cum[NEXT_REF];
static double g_cat_cum[NCAT];
static uint32_t g_next_user = 120000;

/* Per-second incident state. */
static double g_mult[NCAT]; /* Scale of arrivals, from all incidents. */
static double g_own[NCAT];  /* Scale from incidents naming this category only. */
static double g_mmax;       /* Largest of g_mult. */
static int g_outage;        /* A login outage is on. */

/* The event queue, a binary min-heap on (t, seq). */
static struct ev *g_heap;
static size_t g_nheap;
static size_t g_capheap;
static uint64_t g_seq;

/*
 * A line held back by --disorder until no line still to come can be written
 * before it. Lines are written in the order of (span, key, seq).
 */
struct held {
    int64_t span; /* The shuffle span it is written in; without shuffling, when it is written. */
    uint64_t key; /* Random within a shuffled span, else 0. */
    uint64_t seq; /* Emit order, the last tie-break. */
    char *line;
    size_t len;
};

/* The held lines, a binary min-heap on (span, key, seq). */
static struct held *g_held;
static size_t g_nheld;
static size_t g_capheld;
static uint64_t g_heldseq;

/* Output. */
static char g_out[OUTBUF_SIZE];
static size_t g_outlen;
static uint64_t g_lines;
static int g_done;

/* Journal identity. */
static char g_boot_id[33];
static char g_seqnum_id[33];
static char g_machine_id[33];
static char g_invocation_id[33];
static char g_stream_id[33];
static char g_pid[12];
static int64_t g_boot_us;
static uint64_t g_jseq;

/* Timestamp caches, one second each. */
static int64_t g_clf_sec = INT64_MIN;
static char g_clf_ts[40];
static size_t g_clf_len;
static int64_t g_iso_sec = INT64_MIN;
static char g_iso_ts[24];

/* Advance a splitmix64 state and return its next output. */
static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
    int i;

    for (i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The next 64 random bits of xoshiro256**. */
static uint64_t
rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* A uniform double in [0, 1). */
static double
rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* A uniform integer in [0, n), n below 2^32. */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* A uniform integer in [lo, hi]. */
static long
rng_range(struct rng *r, long lo, long hi)
{
    return lo + (long)rng_below(r, (uint32_t)(hi - lo + 1));
}

/* Shorthands on the traffic stream. */
static double
unit(void)
{
    return rng_unit(&g_rng);
}

static uint32_t
below(uint32_t n)
{
    return rng_below(&g_rng, n);
}

static long
range(long lo, long hi)
{
    return rng_range(&g_rng, lo, hi);
}

static int
chance(double p)
{
    return rng_unit(&g_rng) < p;
}

/* A size jittered by up to +-pct percent. */
static long
jitter(long base, int pct)
{
    long d = base * pct / 100;

    return d > 0 ? base + range(-d, d) : base;
}

/* Fill a cumulative table from weights. */
static void
cumulate(double *cum, const double *w, size_t n)
{
    double sum = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        sum += w[i];
        cum[i] = sum;
    }
}

/* Pick an index from a cumulative table. */
static size_t
pick(const double *cum, size_t n)
{
    double u = unit() * cum[n - 1];
    size_t i;

    for (i = 0; i + 1 < n; i++)
        if (u < cum[i])
            return i;
    return n - 1;
}

/* A Poisson-distributed count with mean lam (Knuth, in chunks for large lam). */
static unsigned long
poisson(double lam)
{
    unsigned long n = 0;

    while (lam > 0) {
        double l = lam > 30 ? 30 : lam;
        double limit = exp(-l);
        double p = unit();

        lam -= l;
        while (p > limit) {
            n++;
            p *= unit();
        }
    }
    return n;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day number (days since 1970-01-01). */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Floor division and modulo for seconds into days. */
static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Write a time as YYYY-MM-DDTHH:MM:SSZ (no NUL). Returns the end. */
static char *
put_rfc3339(char *p, int64_t t)
{
    int64_t day = floor_div(t, 86400), y;
    int sod = (int)(t - day * 86400), m, d;

    civil_from_days(day, &y, &m, &d);
    p += sprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d, sod / 3600, sod / 60 % 60,
                 sod % 60);
    return p;
}

/* Append a NUL-terminated string. */
static char *
put_str(char *p, const char *s)
{
    size_t n = strlen(s);

    memcpy(p, s, n);
    return p + n;
}

/* Append bytes. */
static char *
put_mem(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* Append an unsigned decimal. */
static char *
put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* Append a signed decimal. */
static char *
put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

/* Append lowercase hex without leading zeros. */
static char *
put_hex(char *p, uint64_t v)
{
    static const char hexd[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;

    do {
        tmp[n++] = hexd[v & 15];
        v >>= 4;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* Append exactly 16 lowercase hex digits. */
static char *
put_hex16(char *p, uint64_t v)
{
    static const char hexd[] = "0123456789abcdef";
    int i;

    for (i = 15; i >= 0; i--) {
        p[i] = hexd[v & 15];
        v >>= 4;
    }
    return p + 16;
}

/* Append two decimal digits. */
static char *
put_2d(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* Append a fixed-point number with the given count of decimals. */
static char *
put_fixed(char *p, long v, int decimals)
{
    long scale = decimals == 1 ? 10 : 100;

    p = put_i64(p, v / scale);
    *p++ = '.';
    if (decimals == 2)
        return put_2d(p, (int)(v % scale));
    *p++ = (char)('0' + v % scale);
    return p;
}

/* Fill a 32-hex-digit id from the formatting stream. */
static void
make_id(char *out)
{
    put_hex16(out, rng_next(&g_frng));
    put_hex16(out + 16, rng_next(&g_frng));
    out[32] = '\0';
}

/* The share of the peak rate at a local second of the day. */
static double
daily_shape(int sod)
{
    double h = sod / 3600.0, x;

    /* Rise from 04:00 to 14:00 and fall until 04:00 again, as half cosines. */
    if (h < 4)
        h += 24;
    if (h <= 14)
        x = (h - 4) / 10.0;
    else
        x = 1.0 - (h - 14) / 14.0;
    return LOW_SHARE + (1 - LOW_SHARE) * 0.5 * (1 - cos(PI * x));
}

/* An IPv4 address in a consumer-looking range. */
static void
make_ipv4(char *out, const unsigned char *first, size_t nfirst)
{
    sprintf(out, "%u.%u.%u.%u", (unsigned)first[below((uint32_t)nfirst)], (unsigned)below(256),
            (unsigned)below(256), (unsigned)range(1, 254));
}

/* An IPv6 address under a consumer ISP prefix. */
static void
make_ipv6(char *out)
{
    sprintf(out, "%s:%x:%x:%x:%x:%x:%x", v6_prefix[below(sizeof v6_prefix / sizeof v6_prefix[0])],
            (unsigned)below(65536), (unsigned)below(65536), (unsigned)below(65536),
            (unsigned)below(65536), (unsigned)below(65536), (unsigned)below(65536));
}

/* Make the client pools, the tables and the journal identity. */
static void
setup(void)
{
    int i;

    rng_seed(&g_rng, g_seed);
    rng_seed(&g_frng, g_seed ^ 0x6a09e667f3bcc908ULL);
    rng_seed(&g_drng, g_seed ^ 0xbb67ae8584caa73bULL);
    cumulate(g_browser_ua_cum, browser_ua_weight, NBROWSER_UA);
    cumulate(g_ext_ref_cum, ext_ref_weight, NEXT_REF);
    cumulate(g_cat_cum, cat_weight, NCAT);
    for (i = 0; i < 86400; i++)
        g_shape[i] = daily_shape(i);
    for (i = 0; i < NBROWSER; i++) {
        struct client *c = &g_browser[i];

        if (chance(0.06))
            make_ipv6(c->ip);
        else
            make_ipv4(c->ip, v4_first, sizeof v4_first);
        c->ua = (uint8_t)pick(g_browser_ua_cum, NBROWSER_UA);
        c->h2 = (uint8_t)chance(0.55);
        c->user = 100 + below(60000);
        c->basic = 0;
    }
    for (i = 0; i < NAPI; i++) {
        struct client *c = &g_api[i];

        make_ipv4(c->ip, cloud_first, sizeof cloud_first);
        c->ua = (uint8_t)below(NAPI_UA);
        c->h2 = 0;
        c->user = 100 + below(60000);
        c->basic = (uint8_t)chance(0.5);
    }
    make_id(g_boot_id);
    make_id(g_seqnum_id);
    make_id(g_machine_id);
    make_id(g_invocation_id);
    make_id(g_stream_id);
    sprintf(g_pid, "%u", (unsigned)rng_range(&g_frng, 700, 48000));
    g_boot_us = (g_start - rng_range(&g_frng, 2 * 86400, 9 * 86400)) * US_PER_S -
                rng_range(&g_frng, 0, 999999);
    g_jseq = (uint64_t)rng_range(&g_frng, 0x100000, 0x8fffff);
}

/* Push an event on the queue. */
static void
push(const struct ev *e)
{
    size_t i;

    if (g_nheap == g_capheap) {
        size_t cap = g_capheap ? g_capheap * 2 : 1024;
        struct ev *h = realloc(g_heap, cap * sizeof *h);

        if (h == NULL) {
            fputs("loggen: out of memory\n", stderr);
            exit(1);
        }
        g_heap = h;
        g_capheap = cap;
    }
    i = g_nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        const struct ev *pe = &g_heap[parent];

        if (pe->t < e->t || (pe->t == e->t && pe->seq < e->seq))
            break;
        g_heap[i] = g_heap[parent];
        i = parent;
    }
    g_heap[i] = *e;
}

/* Pop the earliest event into *out. */
static void
pop(struct ev *out)
{
    struct ev last;
    size_t i = 0;

    *out = g_heap[0];
    last = g_heap[--g_nheap];
    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= g_nheap)
            break;
        if (c + 1 < g_nheap &&
            (g_heap[c + 1].t < g_heap[c].t ||
             (g_heap[c + 1].t == g_heap[c].t && g_heap[c + 1].seq < g_heap[c].seq)))
            c++;
        if (last.t < g_heap[c].t || (last.t == g_heap[c].t && last.seq < g_heap[c].seq))
            break;
        g_heap[i] = g_heap[c];
        i = c;
    }
    if (g_nheap > 0)
        g_heap[i] = last;
}

/* Schedule a follow-up event. */
static void
schedule(int64_t t, enum act act, uint32_t client, unsigned arg, enum page page, uint32_t aux)
{
    struct ev e;

    e.t = t;
    e.seq = g_seq++;
    e.client = client;
    e.aux = aux;
    e.act = (uint8_t)act;
    e.arg = (uint8_t)arg;
    e.page = (uint8_t)page;
    push(&e);
}

/* Write out what is buffered. */
static void
flush_out(void)
{
    if (g_outlen > 0 && fwrite(g_out, 1, g_outlen, stdout) != g_outlen) {
        fprintf(stderr, "loggen: write error: %s\n", strerror(errno));
        exit(1);
    }
    g_outlen = 0;
}

/* Append the path of a page. */
static char *
put_page(char *p, enum page page, uint32_t idx)
{
    switch (page) {
    case PG_HOME:
        return put_str(p, "/");
    case PG_PRICING:
        return put_str(p, "/pricing");
    case PG_FEATURES:
        return put_str(p, "/features");
    case PG_BLOG:
        p = put_str(p, "/blog/");
        return put_str(p, blog_slug[idx % NBLOG]);
    case PG_LANDING:
        p = put_str(p, "/landing/");
        return put_str(p, campaign[idx % NCAMPAIGN]);
    case PG_LOGIN:
        return put_str(p, "/login");
    case PG_DASHBOARD:
        return put_str(p, "/dashboard");
    case PG_PROJECT:
        p = put_str(p, "/app/projects/");
        return put_u64(p, idx);
    case PG_SIGNUP:
        return put_str(p, "/signup");
    case PG_BILLING:
        return put_str(p, "/billing");
    }
    return p;
}

/* Set the referer to a page of this site. */
static void
ref_page(struct req *r, enum page page, uint32_t idx)
{
    char *p = put_str(r->ref, site);

    p = put_page(p, page, idx);
    *p = '\0';
}

/* Set the referer to a fixed string. */
static void
ref_str(struct req *r, const char *s)
{
    size_t n = strlen(s);

    memcpy(r->ref, s, n + 1);
}

/* Set the referer to a random outside site (or none). */
static void
ref_external(struct req *r)
{
    ref_str(r, ext_ref[pick(g_ext_ref_cum, NEXT_REF)]);
}

/* Start a request from a client of the given pool. */
static void
req_init(struct req *r, int64_t t, const struct client *c, const char *ua)
{
    r->t = t;
    r->ip = c->ip;
    r->ua = ua;
    r->proto = c->h2 ? "HTTP/2.0" : "HTTP/1.1";
    r->method = "GET";
    r->event = "page_view";
    r->reason = NULL;
    r->plan = NULL;
    r->path[0] = '\0';
    r->plen = 0;
    r->qpos = SIZE_MAX;
    r->ref[0] = '-';
    r->ref[1] = '\0';
    r->user[0] = '-';
    r->user[1] = '\0';
    r->uid = 0;
    r->status = 200;
    r->bytes = 0;
    r->amount_cents = 0;
    r->msg = M_GENERIC;
    r->dur_lo = 40;
    r->dur_hi = 600;
}

/* Set the path to a page, with an optional query string. */
static void
set_path(struct req *r, enum page page, uint32_t idx, const char *query)
{
    char *p = put_page(r->path, page, idx);

    r->qpos = (size_t)(p - r->path);
    if (query != NULL)
        p = put_str(p, query);
    *p = '\0';
    r->plen = (size_t)(p - r->path);
}

/* Set the path to a string that may hold a query. */
static void
set_path_str(struct req *r, const char *path)
{
    const char *q = strchr(path, '?');
    size_t n = strlen(path);

    memcpy(r->path, path, n + 1);
    r->plen = n;
    r->qpos = q ? (size_t)(q - path) : n;
}

/* Mark the query string as starting where the path ends now. */
static void
path_mark_query(struct req *r, char *p)
{
    r->qpos = (size_t)(p - r->path);
}

/* End the path at p; with no query marked, the whole path is the path. */
static void
path_end(struct req *r, char *p)
{
    *p = '\0';
    r->plen = (size_t)(p - r->path);
    if (r->qpos > r->plen)
        r->qpos = r->plen;
}

/* The CLF time field for second s, cached. */
static void
clf_time(int64_t s)
{
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t local = s + g_tzoff, day = floor_div(local, 86400), y;
    int sod = (int)(local - day * 86400), m, d;
    char *p = g_clf_ts;

    civil_from_days(day, &y, &m, &d);
    p = put_2d(p, d);
    *p++ = '/';
    p = put_mem(p, mon[m - 1], 3);
    *p++ = '/';
    p += sprintf(p, "%04d", (int)y);
    *p++ = ':';
    p = put_2d(p, sod / 3600);
    *p++ = ':';
    p = put_2d(p, sod / 60 % 60);
    *p++ = ':';
    p = put_2d(p, sod % 60);
    *p++ = ' ';
    p = put_str(p, g_tzstr);
    g_clf_len = (size_t)(p - g_clf_ts);
    g_clf_sec = s;
}

/* The UTC RFC 3339 time of second s without the 'Z', cached. */
static void
iso_time(int64_t s)
{
    put_rfc3339(g_iso_ts, s);
    g_iso_ts[19] = '\0';
    g_iso_sec = s;
}

/*
 * " rt=S.SSSS": the seconds a request took (its duration_ms of the JSON
 * format, the same few slow ones), as an nginx log_format with
 * $request_time writes it after the combined fields.
 */
static char *
put_request_time(char *p, const struct req *r)
{
    long dur = rng_range(&g_frng, r->dur_lo, r->dur_hi); /* tenths of a millisecond */

    if (rng_below(&g_frng, 100) == 0)
        dur *= 8;
    p = put_mem(p, " rt=", 4);
    p = put_i64(p, dur / 10000);
    *p++ = '.';
    p = put_2d(p, (int)(dur % 10000 / 100));
    return put_2d(p, (int)(dur % 100));
}

/* A CLF or combined line. */
static char *
format_clf(char *p, const struct req *r)
{
    int64_t s = floor_div(r->t, US_PER_S);

    if (s != g_clf_sec)
        clf_time(s);
    p = put_str(p, r->ip);
    p = put_mem(p, " - ", 3);
    p = put_str(p, r->user);
    p = put_mem(p, " [", 2);
    p = put_mem(p, g_clf_ts, g_clf_len);
    p = put_mem(p, "] \"", 3);
    p = put_str(p, r->method);
    *p++ = ' ';
    p = put_mem(p, r->path, r->plen);
    *p++ = ' ';
    p = put_str(p, r->proto);
    p = put_mem(p, "\" ", 2);
    p = put_u64(p, (uint64_t)r->status);
    *p++ = ' ';
    if (r->bytes > 0)
        p = put_u64(p, (uint64_t)r->bytes);
    else
        *p++ = '-';
    if (g_fmt == FMT_COMBINED) {
        p = put_mem(p, " \"", 2);
        p = put_str(p, r->ref);
        p = put_mem(p, "\" \"", 3);
        p = put_str(p, r->ua);
        *p++ = '"';
    }
    if (g_request_time)
        p = put_request_time(p, r);
    *p++ = '\n';
    return p;
}

/* Append "u<id>" or "-". */
static char *
put_uid(char *p, uint32_t uid)
{
    if (uid == 0)
        return put_mem(p, "-", 1);
    *p++ = 'u';
    return put_u64(p, uid);
}

/* A JSON app-event line. */
static char *
format_json(char *p, const struct req *r)
{
    int64_t s = floor_div(r->t, US_PER_S);
    int ms = (int)((r->t - s * US_PER_S) / 1000);
    long dur = rng_range(&g_frng, r->dur_lo, r->dur_hi);

    /* A few requests are slow, as in life. */
    if (rng_below(&g_frng, 100) == 0)
        dur *= 8;
    if (s != g_iso_sec)
        iso_time(s);
    p = put_mem(p, "{\"@timestamp\":\"", 15);
    p = put_mem(p, g_iso_ts, 19);
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    p = put_2d(p, ms % 100);
    p = put_mem(p, "Z\",\"event\":\"", 12);
    p = put_str(p, r->event);
    p = put_mem(p, "\",\"method\":\"", 12);
    p = put_str(p, r->method);
    p = put_mem(p, "\",\"path\":\"", 10);
    p = put_mem(p, r->path, r->qpos);
    *p++ = '"';
    if (r->qpos < r->plen) {
        p = put_mem(p, ",\"query\":\"", 10);
        p = put_mem(p, r->path + r->qpos + 1, r->plen - r->qpos - 1);
        *p++ = '"';
    }
    p = put_mem(p, ",\"status\":", 10);
    p = put_u64(p, (uint64_t)r->status);
    p = put_mem(p, ",\"bytes\":", 9);
    p = put_u64(p, (uint64_t)r->bytes);
    p = put_mem(p, ",\"duration_ms\":", 15);
    p = put_fixed(p, dur, 1);
    if (r->plan != NULL) {
        p = put_mem(p, ",\"plan\":\"", 9);
        p = put_str(p, r->plan);
        *p++ = '"';
    }
    if (r->amount_cents > 0) {
        p = put_mem(p, ",\"amount\":", 10);
        p = put_fixed(p, r->amount_cents, 2);
    }
    if (r->reason != NULL) {
        p = put_mem(p, ",\"reason\":\"", 11);
        p = put_str(p, r->reason);
        *p++ = '"';
    }
    p = put_mem(p, ",\"client\":{\"ip\":\"", 17);
    p = put_str(p, r->ip);
    p = put_mem(p, "\"},\"user\":{\"id\":\"", 17);
    p = put_uid(p, r->uid);
    p = put_mem(p, "\"},\"http\":{\"request\":{\"method\":\"", 32);
    p = put_str(p, r->method);
    if (r->ref[0] != '-') {
        p = put_mem(p, "\",\"referrer\":\"", 14);
        p = put_str(p, r->ref);
    }
    p = put_mem(p, "\"},\"response\":{\"status_code\":", 29);
    p = put_u64(p, (uint64_t)r->status);
    p = put_mem(p, "}},\"user_agent\":{\"original\":\"", 29);
    p = put_str(p, r->ua);
    p = put_mem(p, "\"}}\n", 4);
    return p;
}

/* The text the app writes to the journal for a request. */
static char *
put_message(char *p, const struct req *r)
{
    switch (r->msg) {
    case M_LOGIN_OK:
        p = put_str(p, "login ok user=");
        return put_uid(p, r->uid);
    case M_LOGIN_FAIL:
        p = put_str(p, "login failed user=");
        p = put_uid(p, r->uid);
        p = put_str(p, " reason=");
        return put_str(p, r->reason);
    case M_SIGNUP:
        p = put_str(p, "signup user=");
        p = put_uid(p, r->uid);
        p = put_str(p, " plan=");
        return put_str(p, r->plan);
    case M_SIGNUP_FAIL:
        p = put_str(p, "signup failed reason=");
        return put_str(p, r->reason);
    case M_SUB:
        p = put_str(p, "subscription created user=");
        p = put_uid(p, r->uid);
        p = put_str(p, " plan=");
        p = put_str(p, r->plan);
        p = put_str(p, " amount=");
        return put_fixed(p, r->amount_cents, 2);
    case M_SUB_FAIL:
        p = put_str(p, "subscription failed user=");
        p = put_uid(p, r->uid);
        p = put_str(p, " plan=");
        p = put_str(p, r->plan);
        p = put_str(p, " reason=");
        return put_str(p, r->reason);
    case M_GENERIC:
        break;
    }
    p = put_str(p, r->method);
    *p++ = ' ';
    p = put_mem(p, r->path, r->qpos);
    *p++ = ' ';
    return put_u64(p, (uint64_t)r->status);
}

/* Append a JSON string field "key":"value" with a leading comma. */
static char *
put_field(char *p, const char *key, const char *value)
{
    p = put_mem(p, ",\"", 2);
    p = put_str(p, key);
    p = put_mem(p, "\":\"", 3);
    p = put_str(p, value);
    *p++ = '"';
    return p;
}

/* A journald record as "journalctl -o json" prints it. */
static char *
format_journald(char *p, const struct req *r)
{
    char msg[512];
    size_t mlen = (size_t)(put_message(msg, r) - msg);
    uint64_t rt = (uint64_t)r->t, mono = (uint64_t)(r->t - g_boot_us);
    uint64_t seq = g_jseq++;
    const char *prio;

    if (r->status >= 500)
        prio = "3";
    else if (r->msg == M_LOGIN_FAIL || r->msg == M_SIGNUP_FAIL || r->msg == M_SUB_FAIL)
        prio = "4";
    else if (r->status >= 400)
        prio = "5";
    else
        prio = "6";
    p = put_mem(p, "{\"__CURSOR\":\"s=", 15);
    p = put_mem(p, g_seqnum_id, 32);
    p = put_mem(p, ";i=", 3);
    p = put_hex(p, seq);
    p = put_mem(p, ";b=", 3);
    p = put_mem(p, g_boot_id, 32);
    p = put_mem(p, ";m=", 3);
    p = put_hex(p, mono);
    p = put_mem(p, ";t=", 3);
    p = put_hex(p, rt);
    p = put_mem(p, ";x=", 3);
    {
        uint64_t x = seq ^ rt;

        p = put_hex16(p, splitmix64(&x));
    }
    p = put_mem(p, "\",\"__REALTIME_TIMESTAMP\":\"", 26);
    p = put_u64(p, rt);
    p = put_mem(p, "\",\"__MONOTONIC_TIMESTAMP\":\"", 27);
    p = put_u64(p, mono);
    p = put_mem(p, "\",\"_BOOT_ID\":\"", 14);
    p = put_mem(p, g_boot_id, 32);
    *p++ = '"';
    p = put_field(p, "PRIORITY", prio);
    p = put_field(p, "SYSLOG_FACILITY", "3");
    p = put_field(p, "_UID", "998");
    p = put_field(p, "_GID", "998");
    p = put_field(p, "_TRANSPORT", "stdout");
    p = put_field(p, "_STREAM_ID", g_stream_id);
    p = put_field(p, "_MACHINE_ID", g_machine_id);
    p = put_field(p, "_HOSTNAME", "web-1");
    p = put_field(p, "_SYSTEMD_SLICE", "system.slice");
    p = put_field(p, "_SYSTEMD_CGROUP", "/system.slice/myapp.service");
    p = put_field(p, "_SYSTEMD_UNIT", "myapp.service");
    p = put_field(p, "_SYSTEMD_INVOCATION_ID", g_invocation_id);
    p = put_field(p, "SYSLOG_IDENTIFIER", "myapp");
    p = put_field(p, "_COMM", "myapp");
    p = put_field(p, "_EXE", "/usr/local/bin/myapp");
    p = put_field(p, "_CMDLINE", "/usr/local/bin/myapp --config /etc/myapp/config.toml");
    p = put_field(p, "_PID", g_pid);
    p = put_mem(p, ",\"MESSAGE\":", 11);
    if (rng_below(&g_frng, 50) == 0) {
        /* How journald writes a message it does not take for UTF-8 text. */
        size_t i;

        if (rng_below(&g_frng, 2) == 0)
            msg[mlen++] = (char)0xff;
        *p++ = '[';
        for (i = 0; i < mlen; i++) {
            if (i > 0)
                *p++ = ',';
            p = put_u64(p, (unsigned char)msg[i]);
        }
        *p++ = ']';
    } else {
        *p++ = '"';
        p = put_mem(p, msg, mlen);
        *p++ = '"';
    }
    p = put_mem(p, "}\n", 2);
    return p;
}

/* Whether held line a is written before held line b. */
static int
held_before(const struct held *a, const struct held *b)
{
    if (a->span != b->span)
        return a->span < b->span;
    if (a->key != b->key)
        return a->key < b->key;
    return a->seq < b->seq;
}

/* Hold back a copy of the line of a request at time t (microseconds). */
static void
hold(int64_t t, const char *line, size_t len)
{
    struct held h;
    int64_t w = t;
    size_t i;

    if (g_slow_share > 0 && rng_unit(&g_drng) < g_slow_share) {
        int64_t d = (int64_t)(rng_unit(&g_drng) * (double)g_slow_us) + 1;

        w += d < g_slow_us ? d : g_slow_us;
    }
    h.span = g_shuffle_us > 0 ? floor_div(w, g_shuffle_us) : w;
    h.key = g_shuffle_us > 0 ? rng_next(&g_drng) : 0;
    h.seq = g_heldseq++;
    h.len = len;
    h.line = malloc(len);
    if (h.line == NULL) {
        fputs("loggen: out of memory\n", stderr);
        exit(1);
    }
    memcpy(h.line, line, len);
    if (g_nheld == g_capheld) {
        size_t cap = g_capheld ? g_capheld * 2 : 1024;
        struct held *a = realloc(g_held, cap * sizeof *a);

        if (a == NULL) {
            fputs("loggen: out of memory\n", stderr);
            exit(1);
        }
        g_held = a;
        g_capheld = cap;
    }
    i = g_nheld++;
    while (i > 0 && held_before(&h, &g_held[(i - 1) / 2])) {
        g_held[i] = g_held[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    g_held[i] = h;
}

/*
 * Write the held lines that no line of a request at time t or later can come
 * before: those of an earlier span, or written before t. INT64_MAX writes all.
 */
static void
release(int64_t t)
{
    int64_t span = g_shuffle_us > 0 && t != INT64_MAX ? floor_div(t, g_shuffle_us) : t;

    while (g_nheld > 0 && g_held[0].span < span) {
        struct held h = g_held[0], last = g_held[--g_nheld];
        size_t i = 0;

        for (;;) {
            size_t c = 2 * i + 1;

            if (c >= g_nheld)
                break;
            if (c + 1 < g_nheld && held_before(&g_held[c + 1], &g_held[c]))
                c++;
            if (held_before(&last, &g_held[c]))
                break;
            g_held[i] = g_held[c];
            i = c;
        }
        if (g_nheld > 0)
            g_held[i] = last;
        if (g_outlen > OUTBUF_SIZE - h.len)
            flush_out();
        memcpy(g_out + g_outlen, h.line, h.len);
        g_outlen += h.len;
        free(h.line);
    }
}

/* Format a request and count the line; with --disorder, hold it back. */
static void
emit(const struct req *r)
{
    char *p;

    if (g_disorder)
        release(r->t);
    if (g_outlen > OUTBUF_SIZE - MAX_LINE)
        flush_out();
    p = g_out + g_outlen;
    switch (g_fmt) {
    case FMT_COMBINED:
    case FMT_COMMON:
        p = format_clf(p, r);
        break;
    case FMT_JSON:
        p = format_json(p, r);
        break;
    case FMT_JOURNALD:
        p = format_journald(p, r);
        break;
    }
    if (g_disorder)
        hold(r->t, g_out + g_outlen, (size_t)(p - (g_out + g_outlen)));
    else
        g_outlen = (size_t)(p - g_out);
    if (++g_lines == g_max_lines)
        g_done = 1;
}

/* A browser client; half the picks favour low indices, so some clients come back often. */
static uint32_t
pick_browser(void)
{
    double u = unit();

    if (chance(0.5))
        u *= u;
    return (uint32_t)(u * NBROWSER);
}

/* A browser request from pool client ci. */
static void
req_browser(struct req *r, int64_t t, uint32_t ci)
{
    const struct client *c = &g_browser[ci];

    req_init(r, t, c, browser_ua[c->ua]);
}

/* After an HTML page, the browser fetches what is not in its cache. */
static void
schedule_assets(int64_t t, uint32_t ci, enum page page, uint32_t idx)
{
    double u = unit();

    if (u < 0.20) {
        /* A first visit: everything, in the order the page names it. */
        int64_t at = t + range(15000, 120000);

        schedule(at, A_ASSET, ci, 1, page, idx);
        schedule(at + range(500, 20000), A_ASSET, ci, 0, page, idx);
        schedule(at + range(60000, 400000), A_ASSET, ci, 2, page, idx);
        if (chance(0.6))
            schedule(at + range(200000, 900000), A_ASSET, ci, 3, page, idx);
    } else if (u < 0.31) {
        /* A revalidation: the scripts come back 304 Not Modified. */
        int64_t at = t + range(15000, 120000);

        schedule(at, A_ASSET, ci, 1 | 0x10, page, idx);
        schedule(at + range(500, 20000), A_ASSET, ci, 0 | 0x10, page, idx);
    }
}

/* A static asset, from the page that links it. */
static void
do_asset(const struct ev *e)
{
    struct req r;
    unsigned which = e->arg & 0x0f;

    req_browser(&r, e->t, e->client);
    set_path_str(&r, asset_path[which]);
    ref_page(&r, (enum page)e->page, e->aux);
    r.event = "asset";
    r.dur_lo = 2;
    r.dur_hi = 30;
    if (e->arg & 0x10) {
        r.status = 304;
        r.bytes = 0;
    } else {
        r.bytes = asset_bytes[which];
    }
    emit(&r);
}

/* A marketing page view. */
static void
do_marketing(int64_t t)
{
    struct req r;
    uint32_t ci = pick_browser(), idx = 0;
    double u = unit();
    enum page page;
    const char *query = NULL;
    char q[160];

    req_browser(&r, t, ci);
    if (u < 0.25) {
        page = PG_HOME;
        r.bytes = jitter(18234, 1);
    } else if (u < 0.47) {
        page = PG_PRICING;
        r.bytes = jitter(14820, 1);
        if (chance(0.1))
            query = "?plan=pro";
    } else if (u < 0.60) {
        page = PG_FEATURES;
        r.bytes = jitter(16511, 1);
    } else if (u < 0.88) {
        page = PG_BLOG;
        idx = below(NBLOG);
        r.bytes = jitter(blog_bytes[idx], 1);
        if (chance(0.25))
            query = blog_query[below(NBLOG_QUERY)];
    } else {
        page = PG_LANDING;
        idx = below(NCAMPAIGN);
        r.bytes = jitter(12090, 2);
        if (chance(0.7)) {
            char *p = put_str(q, "?utm_source=google&utm_medium=cpc&utm_campaign=");
            int i;

            p = put_str(p, campaign[idx]);
            p = put_str(p, "&gclid=");
            for (i = 0; i < 22; i++)
                *p++ =
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"[below(64)];
            *p = '\0';
            query = q;
        }
    }
    set_path(&r, page, idx, query);
    if (page == PG_LANDING && query != NULL)
        ref_str(&r, "https://www.google.com/");
    else if (page != PG_HOME && chance(0.3))
        ref_page(&r, chance(0.7) ? PG_HOME : PG_PRICING, 0);
    else
        ref_external(&r);
    r.dur_lo = 30;
    r.dur_hi = 250;
    emit(&r);
    schedule_assets(t, ci, page, idx);
}

/* The login page; retry counts earlier failed attempts in this visit. */
static void
do_login_page(int64_t t, uint32_t ci, unsigned retry)
{
    struct req r;
    double u;

    req_browser(&r, t, ci);
    if (retry == 0 && chance(0.2))
        set_path_str(&r, "/login?next=%2Fdashboard");
    else
        set_path(&r, PG_LOGIN, 0, NULL);
    r.bytes = jitter(4213, 1);
    u = unit();
    if (retry > 0)
        ref_page(&r, PG_LOGIN, 0);
    else if (u < 0.4)
        ref_page(&r, PG_HOME, 0);
    else if (u < 0.5)
        ref_page(&r, PG_PRICING, 0);
    else if (u < 0.85)
        ref_str(&r, "-");
    else
        ref_str(&r, "https://www.google.com/");
    r.dur_lo = 20;
    r.dur_hi = 120;
    emit(&r);
    schedule_assets(t, ci, PG_LOGIN, 0);
    if (chance(0.9))
        schedule(t + range(3 * US_PER_S, 25 * US_PER_S), A_LOGIN_POST, ci, retry, PG_LOGIN, 0);
}

/* A login form submit. */
static void
do_login_post(int64_t t, uint32_t ci, unsigned retry)
{
    struct req r;

    req_browser(&r, t, ci);
    r.method = "POST";
    set_path(&r, PG_LOGIN, 0, NULL);
    ref_page(&r, PG_LOGIN, 0);
    r.uid = g_browser[ci].user;
    r.msg = M_LOGIN_FAIL;
    r.event = "login_failure";
    if (g_outage) {
        /* The auth backend is down: errors and false rejections, no way in. */
        if (chance(0.8)) {
            r.status = 500;
            r.bytes = jitter(1532, 0);
            r.reason = "upstream_timeout";
            r.dur_lo = 30000;
            r.dur_hi = 50000;
        } else {
            r.status = 401;
            r.bytes = jitter(4388, 1);
            r.reason = "auth_backend_unavailable";
            r.dur_lo = 200;
            r.dur_hi = 900;
        }
        emit(&r);
        if (retry < 2 && chance(0.35))
            schedule(t + range(5 * US_PER_S, 40 * US_PER_S), A_LOGIN_PAGE, ci, retry + 1, PG_LOGIN,
                     0);
        return;
    }
    r.dur_lo = 600;
    r.dur_hi = 1800;
    if (chance(0.95)) {
        r.status = 302;
        r.bytes = range(180, 240);
        r.msg = M_LOGIN_OK;
        r.event = "login_success";
        emit(&r);
        schedule(t + range(150000, 2500000), A_LOGIN_DASH, ci, 0, PG_LOGIN, 0);
        return;
    }
    r.status = 401;
    r.bytes = jitter(4388, 1);
    {
        double u = unit();

        r.reason = u < 0.85 ? "bad_password" : u < 0.97 ? "unknown_user" : "account_locked";
    }
    emit(&r);
    if (retry < 2 && chance(0.6))
        schedule(t + range(4 * US_PER_S, 15 * US_PER_S), A_LOGIN_POST, ci, retry + 1, PG_LOGIN, 0);
}

/* The dashboard a successful login redirects to. */
static void
do_login_dash(int64_t t, uint32_t ci)
{
    struct req r;

    /* Only incidents that name the dashboard thin these out: the login was already counted. */
    if (g_own[CAT_DASHBOARD] < 1 && !chance(g_own[CAT_DASHBOARD]))
        return;
    req_browser(&r, t, ci);
    set_path(&r, PG_DASHBOARD, 0, NULL);
    ref_page(&r, PG_LOGIN, 0);
    r.uid = g_browser[ci].user;
    r.bytes = jitter(23450, 15);
    r.dur_lo = 80;
    r.dur_hi = 900;
    emit(&r);
    schedule_assets(t, ci, PG_DASHBOARD, 0);
}

/* A project number, skewed towards old, busy projects. */
static uint32_t
project_id(void)
{
    double u = unit();

    return 1 + (uint32_t)(u * u * 480);
}

/* A direct dashboard or app view by a logged-in user. */
static void
do_dashboard(int64_t t)
{
    struct req r;
    uint32_t ci = pick_browser(), idx = 0;
    enum page page;
    double u;

    req_browser(&r, t, ci);
    r.uid = g_browser[ci].user;
    if (chance(0.15)) {
        page = PG_DASHBOARD;
        r.bytes = jitter(23450, 15);
    } else {
        page = PG_PROJECT;
        idx = project_id();
        r.bytes = jitter(31000, 30);
    }
    set_path(&r, page, idx, NULL);
    if (page == PG_PROJECT && chance(0.15)) {
        char *p = r.path + r.plen;

        path_mark_query(&r, p);
        p = put_str(p, chance(0.5) ? "?tab=settings" : "?view=timeline&range=7d");
        path_end(&r, p);
    }
    u = unit();
    if (u < 0.3)
        ref_str(&r, "-");
    else if (u < 0.8)
        ref_page(&r, PG_DASHBOARD, 0);
    else
        ref_page(&r, PG_PROJECT, project_id());
    r.dur_lo = 80;
    r.dur_hi = 1200;
    emit(&r);
    schedule_assets(t, ci, page, idx);
}

/* The signup page. */
static void
do_signup_page(int64_t t)
{
    struct req r;
    uint32_t ci = pick_browser();
    double u = unit();

    req_browser(&r, t, ci);
    set_path(&r, PG_SIGNUP, 0, chance(0.2) ? "?plan=pro" : NULL);
    r.bytes = jitter(6120, 1);
    if (u < 0.45)
        ref_page(&r, PG_PRICING, 0);
    else if (u < 0.75)
        ref_page(&r, PG_HOME, 0);
    else
        ref_external(&r);
    r.dur_lo = 20;
    r.dur_hi = 150;
    emit(&r);
    schedule_assets(t, ci, PG_SIGNUP, 0);
    if (chance(0.62))
        schedule(t + range(25 * US_PER_S, 150 * US_PER_S), A_SIGNUP_POST, ci, 0, PG_SIGNUP, 0);
}

/* A signup form submit. */
static void
do_signup_post(int64_t t, uint32_t ci)
{
    struct req r;

    req_browser(&r, t, ci);
    r.method = "POST";
    set_path(&r, PG_SIGNUP, 0, NULL);
    ref_page(&r, PG_SIGNUP, 0);
    r.dur_lo = 800;
    r.dur_hi = 2500;
    if (chance(0.9)) {
        double u = unit();

        r.status = 201;
        r.bytes = range(88, 104);
        r.uid = g_next_user++;
        r.plan = u < 0.75 ? "free" : u < 0.95 ? "pro" : "team";
        r.msg = M_SIGNUP;
        r.event = "signup";
    } else {
        r.status = 422;
        r.bytes = range(110, 140);
        r.reason = chance(0.7) ? "email_taken" : "weak_password";
        r.msg = M_SIGNUP_FAIL;
        r.event = "signup_failure";
    }
    emit(&r);
}

/* A subscription checkout. */
static void
do_subscribe(int64_t t)
{
    struct req r;
    uint32_t ci = pick_browser();
    double u = unit();

    req_browser(&r, t, ci);
    r.method = "POST";
    set_path_str(&r, "/billing/subscribe");
    ref_page(&r, PG_BILLING, 0);
    r.uid = g_browser[ci].user;
    if (u < 0.7) {
        r.plan = "pro";
        r.amount_cents = 2900;
    } else if (u < 0.95) {
        r.plan = "team";
        r.amount_cents = 9900;
    } else {
        r.plan = "business";
        r.amount_cents = 29900;
    }
    r.dur_lo = 3000;
    r.dur_hi = 12000;
    if (chance(0.95)) {
        r.status = 200;
        r.bytes = range(130, 160);
        r.msg = M_SUB;
        r.event = "subscription_created";
    } else {
        r.status = 402;
        r.bytes = range(90, 110);
        r.reason = "card_declined";
        r.msg = M_SUB_FAIL;
        r.event = "subscription_failed";
    }
    emit(&r);
}

/* An API call from a script or an integration. */
static void
do_api(int64_t t)
{
    struct req r;
    const struct client *c = &g_api[below(NAPI)];
    char *p;
    double u = unit();

    req_init(&r, t, c, api_ua[c->ua]);
    r.event = "api_request";
    r.uid = c->user;
    if (c->basic) {
        p = put_uid(r.user, c->user);
        *p = '\0';
    }
    r.dur_lo = 20;
    r.dur_hi = 900;
    p = put_str(r.path, "/api/v1/");
    if (u < 0.12) {
        r.method = "POST";
        p = put_str(p, "events");
        r.status = 202;
        r.bytes = range(40, 60);
    } else if (u < 0.32) {
        p = put_str(p, "projects");
        r.bytes = jitter(8200, 40);
    } else if (u < 0.57) {
        p = put_str(p, "projects/");
        p = put_u64(p, project_id());
        r.bytes = jitter(2100, 30);
    } else if (u < 0.77) {
        p = put_str(p, "projects/");
        p = put_u64(p, project_id());
        p = put_str(p, "/events");
        path_mark_query(&r, p);
        p = put_str(p, "?limit=100&cursor=");
        p = put_hex(p, rng_next(&g_rng) >> 32);
        r.bytes = jitter(11800, 20);
    } else if (u < 0.89) {
        p = put_str(p, "me");
        r.bytes = jitter(420, 5);
    } else if (u < 0.96) {
        p = put_str(p, "usage");
        path_mark_query(&r, p);
        p = put_str(p, "?period=day");
        r.bytes = jitter(960, 10);
    } else {
        p = put_str(p, "health");
        r.bytes = 16;
        r.dur_lo = 5;
        r.dur_hi = 30;
    }
    path_end(&r, p);
    u = unit();
    if (u < 0.015) {
        r.status = 401;
        r.bytes = 64;
    } else if (u < 0.025) {
        r.status = 429;
        r.bytes = 71;
    } else if (u < 0.028) {
        r.status = 500;
        r.bytes = 52;
    }
    emit(&r);
}

/* A request for a path that is not there. */
static void
do_notfound(int64_t t)
{
    struct req r;
    struct client c;

    if (chance(0.6)) {
        /* A scanner: a fresh address and a tool's user agent. */
        make_ipv4(c.ip, v4_first, sizeof v4_first);
        c.h2 = 0;
        req_init(&r, t, &c, scanner_ua[below(NSCANNER_UA)]);
        set_path_str(&r, scan_path[below(NSCAN_PATH)]);
        if (chance(0.3))
            r.method = "POST";
        r.bytes = 153;
    } else {
        uint32_t ci = pick_browser();

        req_browser(&r, t, ci);
        if (chance(0.15)) {
            char *p = put_str(r.path, "/app/projects/");

            p = put_u64(p, 900 + below(9000));
            path_end(&r, p);
            r.uid = g_browser[ci].user;
        } else {
            set_path_str(&r, broken_path[below(NBROKEN_PATH)]);
        }
        ref_external(&r);
        r.bytes = 1534;
    }
    r.status = 404;
    r.event = "not_found";
    r.dur_lo = 5;
    r.dur_hi = 50;
    emit(&r);
}

/* Googlebot crawling. */
static void
do_bot(int64_t t)
{
    struct req r;
    struct client c;
    double u = unit();

    sprintf(c.ip, "66.249.%u.%u", 64 + below(16), (unsigned)range(1, 254));
    c.h2 = 0;
    req_init(&r, t, &c, googlebot_ua);
    r.event = "crawl";
    /* Its page fetches count as marketing traffic, so incidents on that thin them too. */
    if (u >= 0.75 && g_own[CAT_MARKETING] < 1 && !chance(g_own[CAT_MARKETING]))
        u = 0;
    if (u < 0.6) {
        set_path_str(&r, "/robots.txt");
        r.bytes = 68;
        r.dur_lo = 2;
        r.dur_hi = 20;
    } else if (u < 0.75) {
        set_path_str(&r, "/sitemap.xml");
        r.bytes = 4211;
    } else {
        uint32_t idx = below(NBLOG);

        set_path(&r, PG_BLOG, idx, NULL);
        r.bytes = jitter(blog_bytes[idx], 1);
    }
    emit(&r);
}

/* Carry out one event from the queue. */
static void
run_event(const struct ev *e)
{
    switch ((enum act)e->act) {
    case A_MARKETING:
        do_marketing(e->t);
        break;
    case A_LOGIN_PAGE:
        do_login_page(e->t, e->client, e->arg);
        break;
    case A_LOGIN_POST:
        do_login_post(e->t, e->client, e->arg);
        break;
    case A_LOGIN_DASH:
        do_login_dash(e->t, e->client);
        break;
    case A_DASHBOARD:
        do_dashboard(e->t);
        break;
    case A_SIGNUP_PAGE:
        do_signup_page(e->t);
        break;
    case A_SIGNUP_POST:
        do_signup_post(e->t, e->client);
        break;
    case A_SUBSCRIBE:
        do_subscribe(e->t);
        break;
    case A_API:
        do_api(e->t);
        break;
    case A_NOTFOUND:
        do_notfound(e->t);
        break;
    case A_BOT:
        do_bot(e->t);
        break;
    case A_ASSET:
        do_asset(e);
        break;
    }
}

/* Work out the incident multipliers for second s. */
static void
update_incidents(int64_t s)
{
    int i, c;

    for (c = 0; c < NCAT; c++) {
        g_mult[c] = 1;
        g_own[c] = 1;
    }
    g_outage = 0;
    for (i = 0; i < g_ninc; i++) {
        const struct incident *in = &g_inc[i];
        double f = 1;

        if (s < in->start || s >= in->end)
            continue;
        switch (in->kind) {
        case K_LOGIN_OUTAGE:
            g_outage = 1;
            continue;
        case K_DROP:
            f = 0;
            break;
        case K_HALF:
            f = 0.5;
            break;
        case K_DECLINE:
            f = 1 - 0.3 * (double)(s - in->start) / (double)(in->end - in->start);
            break;
        case K_SPIKE:
            f = 5;
            break;
        case NKIND:
            break;
        }
        if (in->metric == MET_ALL) {
            for (c = 0; c < NCAT; c++)
                g_mult[c] *= f;
        } else {
            g_mult[metric_cat[in->metric]] *= f;
            g_own[metric_cat[in->metric]] *= f;
        }
    }
    g_mmax = 0;
    for (c = 0; c < NCAT; c++)
        if (g_mult[c] > g_mmax)
            g_mmax = g_mult[c];
}

/* The arrival action of each category. */
static const enum act cat_act[NCAT] = {A_MARKETING, A_LOGIN_PAGE, A_DASHBOARD, A_SIGNUP_PAGE,
                                       A_SUBSCRIBE, A_API,        A_NOTFOUND,  A_BOT};

/* Simulate second after second until the end or the line limit. */
static void
generate(void)
{
    int64_t s, end = g_start + g_duration;
    double base = g_rate / 3600.0 / LINES_PER_ARRIVAL;
    int bounded = g_have_duration || g_max_lines == 0;

    g_mmax = 1;
    update_incidents(g_start);
    for (s = g_start; !g_done && (!bounded || s < end); s++) {
        int64_t local = s + g_tzoff, day = floor_div(local, 86400);
        int sod = (int)(local - day * 86400);
        int wday = (int)((day + 4) % 7 + 7) % 7; /* 0 is Sunday. */
        double lam = base * g_shape[sod] * (wday == 0 || wday == 6 ? WEEKEND_SHARE : 1) *
                     pow(1 + g_growth, (double)(s - g_start) / (7 * 86400.0));
        int64_t next = (s + 1) * US_PER_S;
        unsigned long n, i;

        if (g_ninc > 0)
            update_incidents(s);
        n = g_mmax > 0 ? poisson(lam * g_mmax) : 0;
        for (i = 0; i < n; i++) {
            size_t c = pick(g_cat_cum, NCAT);

            uint32_t ci;

            if (g_mult[c] < g_mmax && unit() * g_mmax >= g_mult[c])
                continue;
            /* A login visit carries its client through retries; others pick their own. */
            ci = cat_act[c] == A_LOGIN_PAGE ? pick_browser() : 0;
            schedule(s * US_PER_S + below(US_PER_S), cat_act[c], ci, 0, PG_HOME, 0);
        }
        while (!g_done && g_nheap > 0 && g_heap[0].t < next) {
            struct ev e;

            pop(&e);
            run_event(&e);
        }
    }
    release(INT64_MAX);
    flush_out();
}

/* Report a bad option and exit 2. */
static void
bad(const char *what, const char *arg)
{
    fprintf(stderr, "loggen: %s: '%s' (try -h)\n", what, arg);
    exit(2);
}

/* Parse a duration such as 90, 40m, 1h30m or 2w into seconds. */
static int
parse_duration(const char *s, int64_t *out)
{
    int64_t total = 0;
    const char *p = s;

    if (*p == '\0')
        return -1;
    while (*p != '\0') {
        int64_t v = 0, unit_s;

        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            if (v > MAX_SPAN)
                return -1;
            p++;
        }
        switch (*p) {
        case '\0':
            /* A bare number is seconds, but only on its own. */
            if (p != s && total == 0 && strspn(s, "0123456789") == strlen(s)) {
                *out = v;
                return 0;
            }
            return -1;
        case 's':
            unit_s = 1;
            break;
        case 'm':
            unit_s = 60;
            break;
        case 'h':
            unit_s = 3600;
            break;
        case 'd':
            unit_s = 86400;
            break;
        case 'w':
            unit_s = 7 * 86400;
            break;
        default:
            return -1;
        }
        p++;
        total += v * unit_s;
        if (total > MAX_SPAN)
            return -1;
    }
    *out = total;
    return 0;
}

/* Read n decimal digits. */
static int
digits(const char *s, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parse YYYY-MM-DDTHH:MM:SSZ into seconds since the epoch. */
static int
parse_time(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, se;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':' || (s[19] != 'Z' && s[19] != 'z'))
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
        return -1;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

/* Parse +HHMM, -HHMM, +HH:MM or Z into seconds east of UTC. */
static int
parse_tz(const char *s, int *out)
{
    int h, m, sign;
    size_t n = strlen(s);

    if (strcmp(s, "Z") == 0 || strcmp(s, "z") == 0) {
        *out = 0;
        strcpy(g_tzstr, "+0000");
        return 0;
    }
    if ((s[0] != '+' && s[0] != '-') || (n != 5 && n != 6))
        return -1;
    sign = s[0] == '-' ? -1 : 1;
    if (digits(s + 1, 2, &h))
        return -1;
    if (n == 6 ? (s[3] != ':' || digits(s + 4, 2, &m)) : digits(s + 3, 2, &m))
        return -1;
    if (h > 14 || m > 59)
        return -1;
    *out = sign * (h * 3600 + m * 60);
    g_tzstr[0] = s[0];
    put_2d(g_tzstr + 1, h);
    put_2d(g_tzstr + 3, m);
    g_tzstr[5] = '\0';
    return 0;
}

/* Parse an unsigned decimal. */
static int
parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Parse a percentage above 0 and at most 100 into a share. */
static int
parse_share(const char *s, double *out)
{
    char *end;
    double v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !(v > 0) || v > 100)
        return -1;
    *out = v / 100;
    return 0;
}

/* Parse the --disorder list: shuffle=DUR and slow=PCT:DUR, comma-separated; the last option wins.
 */
static int
parse_disorder(const char *s)
{
    char buf[128], *item = buf, *next;
    int64_t d;

    if (strlen(s) >= sizeof buf || *s == '\0')
        return -1;
    strcpy(buf, s);
    g_shuffle_us = 0;
    g_slow_share = 0;
    for (; item != NULL; item = next) {
        next = strchr(item, ',');
        if (next != NULL)
            *next++ = '\0';
        if (strncmp(item, "shuffle=", 8) == 0) {
            if (parse_duration(item + 8, &d) || d <= 0)
                return -1;
            g_shuffle_us = d * US_PER_S;
        } else if (strncmp(item, "slow=", 5) == 0) {
            char *colon = strchr(item + 5, ':');

            if (colon == NULL)
                return -1;
            *colon = '\0';
            if (parse_share(item + 5, &g_slow_share) || parse_duration(colon + 1, &d) || d <= 0)
                return -1;
            g_slow_us = d * US_PER_S;
        } else {
            return -1;
        }
    }
    g_disorder = 1;
    return 0;
}

/* Parse KIND:START:DURATION[:METRIC]; times are offsets from --start. */
static int
parse_incident(const char *s, struct incident *in, int64_t *off, int64_t *len)
{
    char buf[128], *field[5];
    int n = 0, k, m;
    char *p;

    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    field[n++] = buf;
    for (p = buf; *p != '\0'; p++) {
        if (*p == ':') {
            if (n == 5)
                return -1;
            *p = '\0';
            field[n++] = p + 1;
        }
    }
    if (n < 3 || n > 4)
        return -1;
    for (k = 0; k < NKIND; k++)
        if (strcmp(field[0], kind_name[k]) == 0)
            break;
    if (k == NKIND)
        return -1;
    in->kind = (enum kind)k;
    if (parse_duration(field[1], off) || parse_duration(field[2], len) || *len <= 0)
        return -1;
    if (k == K_LOGIN_OUTAGE) {
        if (n == 4 && strcmp(field[3], "login") != 0)
            return -1;
        in->metric = MET_LOGIN;
        return 0;
    }
    if (n == 3) {
        in->metric = MET_ALL;
        return 0;
    }
    for (m = 0; m < NMET; m++)
        if (strcmp(field[3], metric_name[m]) == 0)
            break;
    if (m == NMET)
        return -1;
    in->metric = (enum metric)m;
    return 0;
}

static void
usage(FILE *f)
{
    fputs("usage: loggen [options]\n"
          "Write deterministic, realistic web-app traffic logs to standard output.\n"
          "\n"
          "  --format FMT       combined (default), common, json or journald\n"
          "  --start TIME       first second, YYYY-MM-DDTHH:MM:SSZ (default 2026-05-04T00:00:00Z)\n"
          "  --duration DUR     time to cover, units s m h d w, e.g. 90m, 1h30m, 2w (default 1d)\n"
          "  --lines N          stop after N lines; without --duration, time runs as needed\n"
          "  --rate N           mean requests per hour at the weekday peak (default 3000)\n"
          "  --growth PCT       traffic growth per week in percent (default 0)\n"
          "  --seed N           seed of the generator (default 1); same options, same bytes\n"
          "  --incident SPEC    KIND:START:DURATION[:METRIC], repeatable; START and DURATION\n"
          "                     are durations, START an offset from --start\n"
          "  --labels FILE      write one line per incident: KIND METRIC START END\n"
          "  --request-time     end CLF lines with \" rt=SECONDS\", the time taken, as\n"
          "                     nginx's $request_time in a log_format\n"
          "  --tz +HHMM         UTC offset of printed CLF times and of the local daily cycle\n"
          "                     (default +0000; JSON and journald times stay UTC)\n"
          "  --disorder SPEC    write lines out of time order as real logs come; SPEC is a\n"
          "                     comma-separated list of:\n"
          "                       shuffle=DUR   lines shuffled within each DUR (of when they\n"
          "                                     are written, from the epoch; 1m: a log\n"
          "                                     sorted to the minute only)\n"
          "                       slow=PCT:DUR  PCT percent of lines come up to DUR late, as\n"
          "                                     slow requests logged when they end\n"
          "                     Lines keep their times and bytes; only the order changes,\n"
          "                     and --seed decides it\n"
          "  -h, --help         show this help\n"
          "\n"
          "Incident kinds:\n"
          "  login_outage       POST /login fails (500 or 401), no dashboard follow-ups\n"
          "  drop               METRIC traffic falls to 0\n"
          "  half               METRIC traffic at 50%\n"
          "  decline            METRIC traffic falls linearly by 30% over the incident\n"
          "  spike              METRIC traffic at 5x\n"
          "METRIC is one of login, dashboard, signup, subscribe, marketing, all (default all).\n"
          "\n"
          "Examples: loggen --seed 7 --incident login_outage:14h:40m --labels /tmp/labels\n"
          "          loggen --seed 7 --disorder shuffle=1m,slow=5:2m\n",
          f);
}

/* Write the labels file. */
static void
write_labels(const char *path)
{
    FILE *f = fopen(path, "w");
    int i;

    if (f == NULL) {
        fprintf(stderr, "loggen: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    for (i = 0; i < g_ninc; i++) {
        char a[32], b[32];

        *put_rfc3339(a, g_inc[i].start) = '\0';
        *put_rfc3339(b, g_inc[i].end) = '\0';
        fprintf(f, "%s %s %s %s\n", kind_name[g_inc[i].kind], metric_name[g_inc[i].metric], a, b);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "loggen: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

enum {
    OPT_FORMAT = 256,
    OPT_START,
    OPT_DURATION,
    OPT_RATE,
    OPT_SEED,
    OPT_INCIDENT,
    OPT_LABELS,
    OPT_LINES,
    OPT_TZ,
    OPT_GROWTH,
    OPT_DISORDER,
    OPT_REQUEST_TIME
};

static const struct option long_opts[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {"start", required_argument, NULL, OPT_START},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"rate", required_argument, NULL, OPT_RATE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"incident", required_argument, NULL, OPT_INCIDENT},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"lines", required_argument, NULL, OPT_LINES},
    {"tz", required_argument, NULL, OPT_TZ},
    {"growth", required_argument, NULL, OPT_GROWTH},
    {"disorder", required_argument, NULL, OPT_DISORDER},
    {"request-time", no_argument, NULL, OPT_REQUEST_TIME},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int
main(int argc, char **argv)
{
    /* Incident times are offsets until --start is known. */
    int64_t inc_off[MAX_INCIDENTS], inc_len[MAX_INCIDENTS];
    int c, i;

    parse_time("2026-05-04T00:00:00Z", &g_start);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT:
            if (strcmp(optarg, "combined") == 0)
                g_fmt = FMT_COMBINED;
            else if (strcmp(optarg, "common") == 0)
                g_fmt = FMT_COMMON;
            else if (strcmp(optarg, "json") == 0)
                g_fmt = FMT_JSON;
            else if (strcmp(optarg, "journald") == 0)
                g_fmt = FMT_JOURNALD;
            else
                bad("unknown format", optarg);
            break;
        case OPT_START:
            if (parse_time(optarg, &g_start))
                bad("bad start time, want YYYY-MM-DDTHH:MM:SSZ", optarg);
            break;
        case OPT_DURATION:
            if (parse_duration(optarg, &g_duration) || g_duration <= 0)
                bad("bad duration", optarg);
            g_have_duration = 1;
            break;
        case OPT_RATE: {
            char *end;

            errno = 0;
            g_rate = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(g_rate > 0) || g_rate > 1e9)
                bad("bad rate", optarg);
            break;
        }
        case OPT_GROWTH: {
            char *end;

            errno = 0;
            g_growth = strtod(optarg, &end) / 100;
            if (errno != 0 || end == optarg || *end != '\0' || g_growth <= -1 || g_growth > 10)
                bad("bad growth (percent per week)", optarg);
            break;
        }
        case OPT_SEED:
            if (parse_u64(optarg, &g_seed))
                bad("bad seed", optarg);
            break;
        case OPT_INCIDENT:
            if (g_ninc == MAX_INCIDENTS)
                bad("too many incidents", optarg);
            if (parse_incident(optarg, &g_inc[g_ninc], &inc_off[g_ninc], &inc_len[g_ninc]))
                bad("bad incident, want KIND:START:DURATION[:METRIC]", optarg);
            g_ninc++;
            break;
        case OPT_LABELS:
            g_labels = optarg;
            break;
        case OPT_REQUEST_TIME:
            g_request_time = 1;
            break;
        case OPT_LINES:
            if (parse_u64(optarg, &g_max_lines) || g_max_lines == 0)
                bad("bad line count", optarg);
            break;
        case OPT_TZ:
            if (parse_tz(optarg, &g_tzoff))
                bad("bad time zone, want +HHMM", optarg);
            break;
        case OPT_DISORDER:
            if (parse_disorder(optarg))
                bad("bad disorder, want shuffle=DUR and/or slow=PCT:DUR", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            bad("option needs an argument", argv[optind - 1]);
            break;
        default:
            bad("unknown option", argv[optind - 1]);
            break;
        }
    }
    if (optind < argc)
        bad("unexpected argument", argv[optind]);
    for (i = 0; i < g_ninc; i++) {
        g_inc[i].start = g_start + inc_off[i];
        g_inc[i].end = g_inc[i].start + inc_len[i];
    }
    if (g_labels != NULL)
        write_labels(g_labels);
    setvbuf(stdout, NULL, _IOFBF, 1 << 20);
    setup();
    generate();
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "loggen: write error: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
