/*
 * main.c -- options, usage, wiring and exit status; the only file that exits.
 *
 * rarr reads web access logs or JSON events (FILEs in order, or stdin),
 * counts the lines that match its rules per step, and writes threshold events
 * (and, on request, metric records) as NDJSON on stdout. Exit status: 0
 * success (bad input lines do not change it), 1 runtime failure (a file that
 * cannot be read), 2 usage or rule error.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "rarr/amsend.h"
#include "rarr/match.h"
#include "rarr/natsio.h"
#include "rarr/clock.h"
#include "rarr/diag.h"
#include "rarr/dist.h"
#include "rarr/emit.h"
#include "rarr/export.h"
#include "rarr/input.h"
#include "rarr/pipeline.h"
#include "rarr/report.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"
#include "rarr/ruletest.h"
#include "rarr/serve.h"
#include "rarr/tally.h"
#include "rarr/watch.h"

#ifndef RARR_VERSION
#define RARR_VERSION "0.1.0"
#endif

/* The exit statuses: success, a runtime failure, a usage or rule error, an alert fired (with
 * --fail-on-alert). */
enum { RARR_EXIT_OK = 0, RARR_EXIT_FAIL = 1, RARR_EXIT_USAGE = 2, RARR_EXIT_FIRED = 3 };

/* What the run holds: the rules in force and their pipeline, swapped on SIGHUP. */
struct run {
    const char **rule_paths;
    int nrules;
    const char **rule_texts; /* -e: rule lines given on the command line */
    int ntexts;
    const char *time_field;
    struct ruleset *rs;
    struct pipeline *p;
    int status;
};

/* patterns/default.rarr, embedded at build time (default_rules.c). */
extern const char rarr_default_rules[];
extern const size_t rarr_default_rules_len;

enum {
    OPT_EMIT = 256,
    OPT_STEP,
    OPT_LATENESS,
    OPT_CLOCK,
    OPT_SILENCE,
    OPT_STATE,
    OPT_REPORT,
    OPT_CHECK,
    OPT_EXPLAIN,
    OPT_STATS,
    OPT_TIME_FIELD,
    OPT_TZ,
    OPT_MATCH_LIMIT,
    OPT_DEPTH_LIMIT,
    OPT_ALERTMANAGER,
    OPT_LISTEN,
    OPT_PROM_TEXTFILE,
    OPT_FAIL_ON_ALERT,
    OPT_WATCH,
    OPT_HOST,
    OPT_PUBLISH,
    OPT_MERGE,
    OPT_HOSTS,
    OPT_HOST_TIMEOUT,
    OPT_DURABLE,
    OPT_SHARD,
};

static const struct option longopts[] = {
    {"rules", required_argument, NULL, 'r'},
    {"rule", required_argument, NULL, 'e'},
    {"fail-on-alert", no_argument, NULL, OPT_FAIL_ON_ALERT},
    {"watch", no_argument, NULL, OPT_WATCH},
    {"format", required_argument, NULL, 'f'},
    {"emit", required_argument, NULL, OPT_EMIT},
    {"step", required_argument, NULL, OPT_STEP},
    {"lateness", required_argument, NULL, OPT_LATENESS},
    {"clock", required_argument, NULL, OPT_CLOCK},
    {"silence", required_argument, NULL, OPT_SILENCE},
    {"state", required_argument, NULL, OPT_STATE},
    {"report", required_argument, NULL, OPT_REPORT},
    {"time-field", required_argument, NULL, OPT_TIME_FIELD},
    {"tz", required_argument, NULL, OPT_TZ},
    {"match-limit", required_argument, NULL, OPT_MATCH_LIMIT},
    {"depth-limit", required_argument, NULL, OPT_DEPTH_LIMIT},
    {"alertmanager", required_argument, NULL, OPT_ALERTMANAGER},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"prom-textfile", required_argument, NULL, OPT_PROM_TEXTFILE},
    {"host", required_argument, NULL, OPT_HOST},
    {"publish", required_argument, NULL, OPT_PUBLISH},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"hosts", required_argument, NULL, OPT_HOSTS},
    {"host-timeout", required_argument, NULL, OPT_HOST_TIMEOUT},
    {"durable", required_argument, NULL, OPT_DURABLE},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"check", no_argument, NULL, OPT_CHECK},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"stats", no_argument, NULL, OPT_STATS},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void
usage(FILE *fp)
{
    fputs("usage: rarr [-hqVv] [-r rules]... [-f format] [--emit what] [--step dur]\n"
          "            [--lateness dur] [--clock clock] [--time-field name] [--tz zone] [--check]\n"
          "            [--explain] [--stats] [--report file] [--silence dur] [--state file]\n"
          "            [--alertmanager url]... [--listen [addr:]port] [--prom-textfile file]\n"
          "            [-e rule]... [--fail-on-alert] [--watch]\n"
          "            [--host name] [--publish nats://host:port/subject] [file ...]\n"
          "       rarr --merge [--hosts a,b,...] [--host-timeout dur] [--durable name]\n"
          "            [--shard i/n] [options] source ...\n"
          "       rarr test [-v] path ...\n",
          fp);
}

static void
help(void)
{
    usage(stdout);
    fputs(
        "\nReads web access logs or JSON events (the files, or standard input) and writes\n"
        "business-metric alerts as NDJSON on standard output.\n\n"
        "  -r, --rules PATH      rule file or directory of *.rarr (default: built-in rules)\n"
        "  -e, --rule TEXT       a rule line, as in a rule file (repeatable; no built-in rules)\n"
        "  -f, --format FMT      " RECORD_FORMAT_LIST " (default auto)\n"
        "      --emit WHAT       alerts, metrics, summary, partials, all, or a list:\n"
        "                        alerts,summary (default alerts)\n"
        "      --step DUR        evaluation step and bucket size (default 1m)\n"
        "      --lateness DUR    how far out of order timestamps may arrive (default 15m,\n"
        "                        10s once the input is live)\n"
        "      --clock CLOCK     event or arrival (default event; arrival for raw)\n"
        "      --time-field KEY  JSON key holding the event time\n"
        "      --tz ZONE         time zone of anomaly season slots (default: the lines' offsets)\n"
        "      --silence DUR     live input: report when no line came for DUR (default 5m)\n"
        "      --state FILE      load windows, baselines and alert states; save them there\n"
        "      --match-limit N   PCRE2 match limit of each regex run (default 1000000)\n"
        "      --depth-limit N   PCRE2 depth limit of each regex run (default 10000)\n"
        "      --check           load the rules, print what they define, exit\n"
        "      --explain         an NDJSON record per line: which metrics matched, and why not\n"
        "      --fail-on-alert   exit 3 when an alert fired (for CI)\n"
        "      --watch           every metric live on the terminal (stdout redirected)\n"
        "      --stats           print input statistics to standard error at exit\n"
        "      --report FILE     at the end, write an HTML report of the replay to FILE\n"
        "      --alertmanager URL\n"
        "                        send the alerts to this Alertmanager too (repeatable)\n"
        "      --listen [ADDR:]PORT\n"
        "                        serve /metrics to Prometheus (ADDR default 127.0.0.1)\n"
        "      --prom-textfile FILE\n"
        "                        keep the same metrics in FILE (node_exporter's textfile)\n"
        "      --host NAME       the host named in partial records (default: hostname)\n"
        "      --publish nats://HOST:PORT/SUBJECT\n"
        "                        publish the partials to NATS JetStream, not stdout\n"
        "      --merge           read partial records from the sources (files, or one\n"
        "                        nats://HOST:PORT/SUBJECT) and run the rules on their sum\n"
        "      --hosts A,B,...   the hosts a merge waits for; it ends when all have ended\n"
        "      --host-timeout DUR\n"
        "                        a host silent this long stops holding the merge back\n"
        "      --durable NAME    the merge's JetStream consumer (default rarr-merge)\n"
        "      --shard I/N       this merge runs the I-th of N shares of the metrics\n"
        "  -q, --quiet           do not report bad input lines\n"
        "  -v, --verbose         report the detected input format\n"
        "  -h, --help            this help\n"
        "  -V, --version         print the version\n"
        "\nrarr test [-v] PATH... runs rule tests. Everything in rarr(1); the rule language in\n"
        "rarr(5).\n",
        stdout);
}

/* Report an option value that is not one of the accepted words, and exit 2. */
static void
bad_value(const char *opt, const char *arg, const char *expected)
{
    fprintf(stderr, "rarr: %s: unknown value '%s' (expected %s)\n", opt, arg, expected);
    usage(stderr);
    exit(RARR_EXIT_USAGE);
}

static int64_t
duration_arg(const char *name, const char *arg, int positive)
{
    int64_t ms;
    const char *why;

    if (clock_parse_duration(arg, strlen(arg), &ms, &why) == -1) {
        fprintf(stderr, "rarr: %s: bad duration '%s': %s (expected a duration like 1m or 1h30m)\n",
                name, arg, why);
        exit(RARR_EXIT_USAGE);
    }
    if (positive && ms == 0) {
        fprintf(stderr, "rarr: %s: must be positive, got '%s'\n", name, arg);
        exit(RARR_EXIT_USAGE);
    }
    return ms;
}

/* A PCRE2 limit: a whole number from 1 to 4294967295, else exit 2. */
static uint32_t
limit_arg(const char *name, const char *arg)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v == 0 || v > UINT32_MAX) {
        fprintf(stderr, "rarr: %s: expected a whole number from 1 to 4294967295, got '%s'\n", name,
                arg);
        exit(RARR_EXIT_USAGE);
    }
    return (uint32_t)v;
}

/*
 * The zone of region 'region' (its first 'rlen' bytes) nearest to 'city',
 * from the zoneinfo directory 'dir'; NULL when none is close. The name is
 * kept in a static buffer.
 */
static const char *
nearest_zone(const char *dir, const char *region, size_t rlen, const char *city)
{
    static char found[256];
    const char *names[1024], *near;
    char path[4096];
    struct dirent *e;
    size_t n = 0, i;
    DIR *d;

    snprintf(path, sizeof(path), "%s/%.*s", dir, (int)rlen, region);
    if ((d = opendir(path)) == NULL)
        return NULL;
    while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0]))
        if (e->d_name[0] != '.' && (names[n] = strdup(e->d_name)) != NULL)
            n++;
    closedir(d);
    near = diag_nearest(city, names, n);
    found[0] = '\0';
    if (near != NULL)
        snprintf(found, sizeof(found), "%s", near);
    for (i = 0; i < n; i++)
        free((char *)names[i]);
    return found[0] != '\0' ? found : NULL;
}

/*
 * An option getopt_long did not take: unknown ("did you mean" the nearest
 * long option), or missing its value. Exits 2.
 */
static void __attribute__((noreturn)) bad_option(int ch, const char *word)
{
    const char *names[sizeof(longopts) / sizeof(longopts[0])], *near;
    char dashed[64];
    size_t i, n = 0;

    if (ch == ':') {
        fprintf(stderr, "rarr: option '%s' needs a value\n", word);
    } else if (strncmp(word, "--", 2) != 0) {
        fprintf(stderr, "rarr: unknown option '%s'\n", word);
    } else {
        for (i = 0; longopts[i].name != NULL; i++)
            names[n++] = longopts[i].name;
        snprintf(dashed, sizeof(dashed), "%.*s", (int)strcspn(word + 2, "="), word + 2);
        near = diag_nearest(dashed, names, n);
        if (near != NULL && strcmp(near, dashed) == 0) {
            fprintf(stderr, "rarr: option '--%s' takes no value\n", near);
            usage(stderr);
            exit(RARR_EXIT_USAGE);
        }
        fprintf(stderr, "rarr: unknown option '%s'", word);
        if (near != NULL)
            fprintf(stderr, " (did you mean '--%s'?)", near);
        fputc('\n', stderr);
    }
    usage(stderr);
    exit(RARR_EXIT_USAGE);
}

/*
 * --tz: a zone the system knows (a file under /usr/share/zoneinfo, or $TZDIR)
 * or a POSIX TZ string ("EST5EDT", "<+0530>-5:30"); anything else would run
 * silently as UTC, so it is an error (exit 2), with the nearest name of the
 * same region when one is close.
 */
static void
check_tz(const char *zone)
{
    const char *dir = getenv("TZDIR") != NULL ? getenv("TZDIR") : "/usr/share/zoneinfo";
    const char *name = zone[0] == ':' ? zone + 1 : zone, *slash = strrchr(name, '/'), *near = NULL;
    char path[4096];
    struct stat st;
    size_t i = 0;

    snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : dir, name[0] == '/' ? "" : "/",
             name);
    if (name[0] != '\0' && strstr(name, "..") == NULL && stat(path, &st) == 0 &&
        S_ISREG(st.st_mode))
        return;
    /* POSIX: a name of three or more letters (or <...>) and an offset. */
    if (name[0] == '<' && strchr(name, '>') != NULL)
        i = (size_t)(strchr(name, '>') - name) + 1;
    else
        while (isalpha((unsigned char)name[i]))
            i++;
    if (i >= 3 && (isdigit((unsigned char)name[i]) || name[i] == '+' || name[i] == '-'))
        return;
    if (slash != NULL && name[0] != '/')
        near = nearest_zone(dir, name, (size_t)(slash - name), slash + 1);
    fprintf(stderr, "rarr: --tz: unknown time zone '%s'", zone);
    if (near != NULL)
        fprintf(stderr, " (did you mean '%.*s/%s'?)", (int)(slash - name), name, near);
    else
        fputs(" (expected a name like Europe/Berlin or UTC)", stderr);
    fputc('\n', stderr);
    exit(RARR_EXIT_USAGE);
}

/* Signals only set flags (the reader's poll or read returns, the loop acts). */
static volatile sig_atomic_t stop_flag, dump_flag, hup_flag;

static void
on_signal(int sig)
{
    if (sig == SIGUSR1)
        dump_flag = 1;
    else if (sig == SIGHUP)
        hup_flag = 1;
    else
        stop_flag = 1;
}

static void
catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocked read or poll returns, so the loop sees the flag. */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* The progress line: regular files only, stderr a terminal. */
struct progress {
    uint64_t total; /* bytes of all the inputs */
    uint64_t done;  /* bytes of the inputs already read */
    double start, last;
    int shown;
};

static void
progress_show(void *arg, const struct input *in, uint64_t lines)
{
    struct progress *pr = arg;
    double now = clock_mono_seconds(), rate, frac;

    if (now - pr->last < 0.25)
        return;
    pr->last = now;
    frac = (double)(pr->done + in->bytes) / (double)(pr->total ? pr->total : 1);
    rate = (double)lines / (now - pr->start);
    fprintf(stderr, "\rrarr: %3.0f%%  %.0f lines/s  eta %.0fs \033[K", frac * 100, rate,
            frac > 0 ? (now - pr->start) * (1 - frac) / frac : 0.0);
    pr->shown = 1;
}

static int
progress_setup(struct progress *pr, char **files, int n)
{
    struct stat st;
    int i;

    memset(pr, 0, sizeof(*pr));
    if (n == 0 || !isatty(STDERR_FILENO))
        return 0;
    for (i = 0; i < n; i++) {
        if (strcmp(files[i], "-") == 0 || stat(files[i], &st) == -1 || !S_ISREG(st.st_mode))
            return 0;
        pr->total += (uint64_t)st.st_size;
    }
    pr->start = pr->last = clock_mono_seconds();
    return 1;
}

/* Write the --report page, atomically; a failure is reported warn(3)-style. */
static int
write_report(const struct report *rep, const char *path)
{
    if (report_save(rep, path) == -1) {
        fprintf(stderr, "rarr: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Load the rule files of 'run' and its -e rule lines (the built-in rules
 * when there are neither) and finish them for the step; '*time_field_out'
 * gets the --time-field's field number. Returns the ruleset, or NULL after
 * printing the located error.
 */
static struct ruleset *
load_rules(const struct run *run, int64_t step_ms, size_t *time_field_out)
{
    const char **paths = run->rule_paths, *time_field = run->time_field;
    struct ruleset *rs = rules_new();
    char name[32];
    struct diag d;
    int rc = 0, i, n = run->nrules;

    memset(&d, 0, sizeof(d)); /* errors are added to it */
    if (rs == NULL) {
        fputs("rarr: out of memory\n", stderr);
        return NULL;
    }
    if (n == 0 && run->ntexts == 0)
        rc = rules_parse(rs, "default.rarr (built-in)", rarr_default_rules, rarr_default_rules_len,
                         &d);
    /* Every file is read, and finished, even after errors: all of them are told at once. */
    for (i = 0; i < n; i++)
        if (rules_load_path(rs, paths[i], &d) == -1)
            rc = -1;
    for (i = 0; i < run->ntexts; i++) {
        /* Errors are placed as "-e:1:7", or "-e#2:1:7" for the second of several. */
        snprintf(name, sizeof(name), run->ntexts == 1 ? "-e" : "-e#%d", i + 1);
        if (rules_parse(rs, name, run->rule_texts[i], strlen(run->rule_texts[i]), &d) == -1)
            rc = -1;
    }
    if (rc == 0 && time_field != NULL &&
        (*time_field_out = rules_field(rs, time_field)) == SIZE_MAX) {
        diag_set(&d, NULL, 0, 0, "out of memory");
        rc = -1;
    }
    if (rules_finish(rs, step_ms, &d) == -1)
        rc = -1;
    if (rc == -1) {
        diag_print(&d, stderr);
        rules_free(rs);
        return NULL;
    }
    if (rs->nmetrics == 0)
        fprintf(stderr, "rarr: %s: warning: no metric is defined; nothing will be counted\n",
                n == 1 && run->ntexts == 0 ? paths[0] : "the rules");
    return rs;
}

/*
 * SIGHUP: load the rule files again and go on with the new rules. Metrics
 * whose name and definition did not change keep their windows, alerts and
 * detectors (through the same path as --state); on a rule error the rules in
 * force stay, and the error is reported with FILE:LINE:COL.
 */
static void
reload(struct run *run)
{
    struct pipeline_opts opt = *pipeline_opts(run->p);
    struct pipeline *p;
    struct ruleset *rs;

    if (opt.report != NULL) {
        fputs("rarr: SIGHUP: rules are not reloaded while a --report is written\n", stderr);
        return;
    }
    if ((rs = load_rules(run, opt.step_ms, &opt.time_field)) == NULL) {
        fputs("rarr: SIGHUP: the rules in force stay in force\n", stderr);
        return;
    }
    if ((p = pipeline_reload(run->p, rs, opt.time_field)) == NULL) {
        fputs("rarr: SIGHUP: out of memory; the rules in force stay in force\n", stderr);
        rules_free(rs);
        return;
    }
    pipeline_free(run->p);
    rules_free(run->rs);
    run->p = p;
    run->rs = rs;
    fprintf(stderr, "rarr: SIGHUP: rules reloaded: %zu metrics, %zu alerts\n", rs->nmetrics,
            rs->nalerts);
}

/* Option values that are not pipeline options. */
struct cli {
    const char *clock, *report, *listen, *textfile;
    const char **am_urls; /* --alertmanager, in order */
    int nam;
    int check, stats, quiet, verbose, fail_on_alert, emit_summary, watch;
    int partials, merge;         /* --emit=partials, --merge */
    int emit_given;              /* --emit was given */
    const char *host, *publish;  /* --host, --publish */
    const char *durable, *shard; /* --durable, --shard */
    char *hosts;                 /* --hosts, split at commas in place */
    int64_t host_timeout_ms;     /* --host-timeout */
};

/*
 * --emit: a comma-separated list of alerts, metrics, summary; all is alerts
 * and metrics. A word that is none of them exits 2.
 */
static void
emit_arg(const char *arg, struct pipeline_opts *opt, struct cli *cli)
{
    const char *p = arg;
    size_t n;

    opt->emit_alerts = opt->emit_metrics = cli->emit_summary = cli->partials = 0;
    for (;;) {
        n = strcspn(p, ",");
        if (n == 3 && strncmp(p, "all", 3) == 0)
            opt->emit_alerts = opt->emit_metrics = 1;
        else if (n == 6 && strncmp(p, "alerts", 6) == 0)
            opt->emit_alerts = 1;
        else if (n == 7 && strncmp(p, "metrics", 7) == 0)
            opt->emit_metrics = 1;
        else if (n == 7 && strncmp(p, "summary", 7) == 0)
            cli->emit_summary = 1;
        else if (n == 8 && strncmp(p, "partials", 8) == 0)
            cli->partials = 1;
        else
            bad_value("--emit", arg,
                      "alerts, metrics, summary, partials or all, or a list like alerts,summary");
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
}

/* The options of many hosts: --host, --publish, --merge, --hosts, --host-timeout, --durable. */
static void
take_dist_option(int ch, char *arg, struct cli *cli)
{
    switch (ch) {
    case OPT_HOST:
        cli->host = arg;
        break;
    case OPT_PUBLISH:
        cli->publish = arg;
        cli->partials = 1;
        break;
    case OPT_MERGE:
        cli->merge = 1;
        break;
    case OPT_HOSTS:
        cli->hosts = arg;
        break;
    case OPT_HOST_TIMEOUT:
        cli->host_timeout_ms = duration_arg("--host-timeout", arg, 1);
        break;
    case OPT_DURABLE:
        cli->durable = arg;
        break;
    case OPT_SHARD:
        cli->shard = arg;
        break;
    }
}

/*
 * Take one option 'ch' with its argument 'arg' into 'opt', 'cli' and 'run'.
 * -h and -V print and end the run; a bad value exits 2.
 */
static void
take_option(int ch, char *arg, struct pipeline_opts *opt, struct cli *cli, struct run *run)
{
    switch (ch) {
    case 'f':
        if (record_format_parse(arg, &opt->format) == -1)
            bad_value("--format", arg, RECORD_FORMAT_LIST);
        break;
    case 'h':
        help();
        exit(RARR_EXIT_OK);
    case 'q':
        cli->quiet = 1;
        break;
    case 'r':
        run->rule_paths[run->nrules++] = arg;
        break;
    case 'e':
        run->rule_texts[run->ntexts++] = arg;
        break;
    case OPT_FAIL_ON_ALERT:
        cli->fail_on_alert = 1;
        break;
    case OPT_WATCH:
        cli->watch = 1;
        break;
    case 'V': {
        char pcre[64];
        int jit = match_library(pcre, sizeof(pcre));

        printf("rarr %s (PCRE2 %s, JIT %s; jansson %s, libcurl %s, libmicrohttpd %s, %s)\n",
               RARR_VERSION, pcre, jit ? "on" : "off", JANSSON_VERSION, amsend_library(),
               serve_library(), natsio_library());
        exit(RARR_EXIT_OK);
    }
    case 'v':
        cli->verbose = opt->verbose = 1;
        break;
    case OPT_EMIT:
        emit_arg(arg, opt, cli);
        cli->emit_given = 1;
        break;
    case OPT_STEP:
        opt->step_ms = duration_arg("--step", arg, 1);
        break;
    case OPT_LATENESS:
        opt->lateness_ms = duration_arg("--lateness", arg, 0);
        opt->lateness_given = 1;
        break;
    case OPT_CLOCK:
        if (strcmp(arg, "event") != 0 && strcmp(arg, "arrival") != 0)
            bad_value("--clock", arg, "event or arrival");
        cli->clock = arg;
        break;
    case OPT_SILENCE:
        /* Live input only; replay never goes silent. 0s turns it off. */
        opt->silence_ms = duration_arg("--silence", arg, 0);
        break;
    case OPT_STATE:
        opt->state_path = arg;
        break;
    case OPT_REPORT:
        cli->report = arg;
        break;
    case OPT_TIME_FIELD:
        run->time_field = arg;
        break;
    case OPT_TZ:
        /* Anomaly season slots follow this zone (DST included), not the lines' offsets. */
        check_tz(arg);
        if (setenv("TZ", arg, 1) == -1) {
            fprintf(stderr, "rarr: --tz: %s\n", strerror(errno));
            exit(RARR_EXIT_USAGE);
        }
        tzset();
        opt->tz_given = 1;
        break;
    case OPT_MATCH_LIMIT:
        opt->match_limit = limit_arg("--match-limit", arg);
        break;
    case OPT_DEPTH_LIMIT:
        opt->depth_limit = limit_arg("--depth-limit", arg);
        break;
    case OPT_CHECK:
        cli->check = 1;
        break;
    case OPT_EXPLAIN:
        opt->explain = 1;
        break;
    case OPT_STATS:
        cli->stats = 1;
        break;
    case OPT_ALERTMANAGER:
        cli->am_urls[cli->nam++] = arg;
        break;
    case OPT_LISTEN:
        cli->listen = arg;
        break;
    case OPT_PROM_TEXTFILE:
        cli->textfile = arg;
        break;
    default:
        take_dist_option(ch, arg, cli);
        break;
    }
}

/*
 * Read the options into 'opt', 'cli' and 'run'; unknown options and bad
 * values exit 2. Returns the index of the first FILE argument.
 */
static int
parse_options(int argc, char **argv, struct pipeline_opts *opt, struct cli *cli, struct run *run)
{
    int ch;

    opterr = 0; /* unknown options are told here, with "did you mean" */
    while ((ch = getopt_long(argc, argv, ":e:f:hqr:Vv", longopts, NULL)) != -1) {
        if (ch == '?' || ch == ':') {
            /* A short option is in optopt; a long one is the word getopt stopped at. */
            char shortopt[3] = {'-', (char)optopt, '\0'};

            bad_option(ch, optopt > 0 && optopt < 128 ? shortopt : argv[optind - 1]);
        }
        take_option(ch, optarg, opt, cli, run);
    }
    opt->clock_given = cli->clock != NULL;
    if (cli->clock != NULL)
        opt->clock = strcmp(cli->clock, "arrival") == 0 ? PIPELINE_ARRIVAL : PIPELINE_EVENT;
    else if (opt->format == RECORD_RAW)
        opt->clock = PIPELINE_ARRIVAL;
    if (opt->clock == PIPELINE_ARRIVAL)
        opt->lateness_ms = 0;
    opt->diag = cli->quiet ? NULL : stderr;
    opt->log = stderr;
    /* An agent publishes; what its lines alone would alert on is asked for with --emit. */
    if (cli->publish != NULL && !cli->emit_given)
        opt->emit_alerts = 0;
    if (cli->publish != NULL)
        cli->partials = 1;
    return optind;
}

/* A usage error of the options of many hosts: told, exit 2. */
static int
dist_usage(const char *what)
{
    fprintf(stderr, "rarr: %s\n", what);
    usage(stderr);
    return RARR_EXIT_USAGE;
}

/*
 * The options of many hosts must fit together: a host writes partials, a
 * merge reads them from files or one nats:// source. Returns 0, or 2 after
 * a message.
 */
static int
check_dist(const struct cli *cli, const struct pipeline_opts *opt, char **sources, int n)
{
    int i, nats = 0;

    for (i = 0; i < n; i++)
        nats += dist_is_nats(sources[i]);
    if (!cli->merge && (cli->hosts != NULL || cli->host_timeout_ms > 0 || cli->durable != NULL ||
                        cli->shard != NULL))
        return dist_usage("--hosts, --host-timeout, --durable and --shard are options of --merge");
    if (!cli->merge && nats > 0)
        return dist_usage("a nats:// source is read with --merge");
    if (!cli->partials && cli->host != NULL)
        return dist_usage("--host names the host of --emit=partials");
    if (!cli->merge)
        return 0;
    if (cli->partials)
        return dist_usage("--merge reads partial records; it does not write them");
    if (opt->explain)
        return dist_usage("--explain tells of lines; a merge reads none");
    if (n == 0)
        return dist_usage("--merge: no source (files of partial records, or "
                          "nats://HOST:PORT/SUBJECT)");
    if (nats > 0 && n > 1)
        return dist_usage("--merge: a nats:// source is the only source");
    if (cli->durable != NULL && nats == 0)
        return dist_usage("--durable names the consumer of a nats:// source");
    if (nats > 0 && cli->hosts == NULL && cli->host_timeout_ms == 0)
        fputs("rarr: --merge: without --hosts or --host-timeout, a host heard of after its "
              "steps were merged is late; the merge runs until stopped\n",
              stderr);
    return 0;
}

/*
 * Open the input at 'path', waiting for a FIFO's writer; SIGTERM or SIGINT
 * meanwhile ends the run as usual (1 returned). Returns 0, or -1 after a
 * message when it cannot be opened.
 */
static int
open_input(struct input *in, const char *path)
{
    int rc;

    while ((rc = input_open(in, path)) == -1 && errno == EINTR && !stop_flag)
        ;
    if (rc == -1 && errno == EINTR)
        return 1;
    if (rc == -1)
        fprintf(stderr, "rarr: %s: %s\n", path, strerror(errno));
    return rc;
}

/*
 * Feed every input (the FILEs, or stdin) to the pipeline, reloading the
 * rules on SIGHUP. A FILE that cannot be read is told and makes the exit
 * status 1; the others are still read. Returns how the last one ended.
 */
static enum pipeline_end
feed_all(struct run *run, char **files, int nfiles, int verbose, struct progress *pr)
{
    enum pipeline_end end = PIPELINE_EOF;
    int i, rc;

    for (i = 0; i < (nfiles > 0 ? nfiles : 1); i++) {
        const char *path = nfiles > 0 ? files[i] : "-";
        struct input in;

        if ((rc = open_input(&in, path)) == 1)
            return PIPELINE_STOPPED;
        if (rc == -1) {
            run->status = RARR_EXIT_FAIL;
            continue;
        }
        while ((end = pipeline_feed(run->p, &in)) == PIPELINE_RELOAD)
            reload(run);
        if (end == PIPELINE_READ_FAIL) {
            fprintf(stderr, "rarr: %s: %s\n", in.name, input_error(&in));
            run->status = RARR_EXIT_FAIL;
        }
        /* A detected format is told when the first lines have voted (pipeline.c). */
        if (verbose && i == 0 && pipeline_opts(run->p)->format != RECORD_AUTO)
            fprintf(stderr, "rarr: %s: format %s\n", in.name,
                    record_format_name(pipeline_opts(run->p)->format));
        pr->done += in.bytes;
        input_close(&in);
        if (end == PIPELINE_OUT_FAIL || end == PIPELINE_STOPPED)
            break;
    }
    return end;
}

/* The exporters of a run: --listen, --prom-textfile, --alertmanager. */
struct exporters {
    struct serve *srv;
    struct export *x;
    struct amsend *am;
    struct tally *tally; /* --emit summary */
    const struct ruleset *rs;
    struct emit *em;
    struct report *rep; /* --report, rewritten every minute while input is live */
    const char *report_path;
    double report_due;   /* monotonic seconds */
    struct watch *watch; /* --watch */
};

/* The sooner of two hooks' dues in ms (-1: none). */
static int
sooner(int a, int b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* The live --report is rewritten this often, and reloads itself as often in a browser. */
#define REPORT_LIVE_S 60

/*
 * The pipeline's exporter hook (pipeline_export_fn): the Prometheus text
 * when due, and while input is live the report page every minute. Returns
 * the milliseconds until one of them is due, or -1.
 */
static int
exporters_update(void *arg, struct pipeline *p, int final)
{
    struct exporters *ex = arg;
    int w = ex->x != NULL ? export_update(ex->x, p, final) : -1, r;
    double now;

    if (ex->watch != NULL)
        w = sooner(w, watch_update(ex->watch, p, final));
    if (ex->rep == NULL || final || !pipeline_live(p))
        return w;
    now = clock_mono_seconds();
    if (now >= ex->report_due) {
        report_live(ex->rep, 1);
        write_report(ex->rep, ex->report_path);
        ex->report_due = now + REPORT_LIVE_S;
    }
    r = (int)((ex->report_due - now) * 1000) + 1;
    return sooner(w, r);
}

/* emit's tap: every event record to the --watch view, the Alertmanager sender, the summary. */
static int
to_sinks(void *arg, const char *rec, size_t len, int quiet)
{
    struct exporters *ex = arg;
    int rc = 0;

    /* Quiet records too: after a restart an Alertmanager must keep hearing of them. */
    if (ex->watch != NULL)
        watch_record(ex->watch, rec, len);
    if (ex->am != NULL)
        rc |= amsend_record(ex->am, rec, len);
    if (ex->tally != NULL)
        rc |= tally_record(ex->tally, rec, len, quiet);
    return rc;
}

/*
 * Start what the options ask for: the server (its address told on stderr),
 * the textfile, the Alertmanager sender, wired into 'opt' and 'em'.
 * Returns 0, or the exit status after a message.
 */
static int
start_exporters(const struct cli *cli, struct pipeline_opts *opt, struct emit *em,
                struct exporters *ex)
{
    char err[512];

    /* Records on the terminal the view is drawn on would garble it. */
    if (cli->watch && !watch_stdout_ok()) {
        fputs("rarr: --watch draws on the terminal: redirect stdout (rarr --watch ... > "
              "events.ndjson)\n",
              stderr);
        return RARR_EXIT_USAGE;
    }
    if (cli->nam > 0) {
        if ((ex->am = amsend_new(cli->am_urls, (size_t)cli->nam,
                                 &(struct amsend_opts){.log = stderr}, err, sizeof(err))) == NULL) {
            fprintf(stderr, "rarr: --alertmanager: %s\n", err);
            return RARR_EXIT_USAGE;
        }
    }
    if (cli->emit_summary && (ex->tally = tally_new(ex->rs)) == NULL) {
        fputs("rarr: out of memory\n", stderr);
        return RARR_EXIT_FAIL;
    }
    /* Last: what the others said on stderr is seen before the view covers it. */
    if (cli->watch && (ex->watch = watch_new("/dev/tty", opt->stop, err, sizeof(err))) == NULL) {
        fprintf(stderr, "rarr: --watch: %s\n", err);
        return RARR_EXIT_FAIL;
    }
    if (ex->am != NULL || ex->tally != NULL || ex->watch != NULL) {
        em->tap = to_sinks;
        em->tap_arg = ex;
        /* Event records are made for the sinks; stdout has them only when --emit asks. */
        em->events_out = opt->emit_alerts;
        opt->emit_alerts = 1;
    }
    if (cli->listen != NULL) {
        if ((ex->srv = serve_start(cli->listen, err, sizeof(err))) == NULL) {
            fprintf(stderr, "rarr: --listen: %s\n", err);
            return errno == EINVAL ? RARR_EXIT_USAGE : RARR_EXIT_FAIL;
        }
        fprintf(stderr, "rarr: listening on http://%s/metrics\n", serve_address(ex->srv));
    }
    if (cli->listen != NULL || cli->textfile != NULL) {
        if ((ex->x = export_new(ex->srv, cli->textfile, stderr)) == NULL) {
            fputs("rarr: out of memory\n", stderr);
            return RARR_EXIT_FAIL;
        }
    }
    if (ex->x != NULL || ex->rep != NULL || ex->watch != NULL) {
        opt->exporter = exporters_update;
        opt->exporter_arg = ex;
    }
    return 0;
}

/* The group of metric 'i': the metric standing for every metric linked to it by ratios. */
static size_t
group_of(const size_t *parent, size_t i)
{
    while (parent[i] != i)
        i = parent[i];
    return i;
}

/*
 * --shard I/N: keep the I-th of N shares of the metrics. A ratio and its
 * operands are one group; groups go to shares in turn, in rule order, so
 * every central given the same rules makes the same split. '*digest' gets
 * the digest of the whole rule set (what hosts send). Returns 0 or the
 * exit status after a message.
 */
static int
apply_shard(struct ruleset *rs, const char *arg, char digest[17], struct pipeline_opts *opt)
{
    unsigned long i, n;
    size_t *parent = calloc(rs->nmetrics + 1, sizeof(*parent)), m, groups = 0;
    size_t *share = calloc(rs->nmetrics + 1, sizeof(*share));
    unsigned char *keep = calloc(rs->nmetrics + 1, 1);
    char *end;
    int rc = 0;

    errno = 0;
    i = strtoul(arg, &end, 10);
    n = *end == '/' ? strtoul(end + 1, &end, 10) : 0;
    if (parent == NULL || keep == NULL || share == NULL)
        rc = (fputs("rarr: out of memory\n", stderr), RARR_EXIT_FAIL);
    else if (errno != 0 || *end != '\0' || arg[0] == '-' || n < 1 || n > 1000 || i >= n)
        rc = dist_usage("--shard: expected I/N with 0 <= I < N <= 1000, like 0/2");
    for (m = 0; rc == 0 && m < rs->nmetrics; m++) {
        parent[m] = m;
        share[m] = SIZE_MAX;
    }
    for (m = 0; rc == 0 && m < rs->nmetrics; m++)
        if (rs->metrics[m].kind == RULES_RATIO) {
            parent[group_of(parent, rs->metrics[m].a)] = group_of(parent, m);
            parent[group_of(parent, rs->metrics[m].b)] = group_of(parent, m);
        }
    /* The groups, in the order of their first metric, take the shares in turn. */
    for (m = 0; rc == 0 && m < rs->nmetrics; m++) {
        if (share[group_of(parent, m)] == SIZE_MAX)
            share[group_of(parent, m)] = groups++ % n;
        keep[m] = share[group_of(parent, m)] == i;
    }
    if (rc == 0)
        partial_rules_digest(rs, digest);
    if (rc == 0 && rules_keep(rs, keep) == -1)
        rc = (fputs("rarr: out of memory\n", stderr), RARR_EXIT_FAIL);
    if (rc == 0 && rs->nmetrics == 0)
        fprintf(stderr, "rarr: --shard %s: no metric falls in this share (%zu groups)\n", arg,
                groups);
    opt->lines_quiet = i != 0;
    free(parent);
    free(share);
    free(keep);
    return rc;
}

/*
 * --merge: the merge of the hosts' partials into the pipeline's step stage,
 * waiting for the --hosts named (split at commas here); hosts' rules are
 * compared with 'digest' when --shard gave one. Returns 0, or the exit
 * status after a message.
 */
static int
start_merge(struct cli *cli, struct run *run, struct emit *em, const char *digest,
            struct merge **out)
{
    struct merge_opts mo = {.host_timeout_ms = cli->host_timeout_ms,
                            .log = stderr,
                            .rules = digest[0] != '\0' ? digest : NULL,
                            .sharded = cli->shard != NULL};
    const char **names = NULL;
    char *p, *save = NULL;
    size_t n = 0;

    if (cli->hosts != NULL && (names = calloc(strlen(cli->hosts) + 1, sizeof(*names))) == NULL)
        return fputs("rarr: out of memory\n", stderr), RARR_EXIT_FAIL;
    for (p = cli->hosts != NULL ? strtok_r(cli->hosts, ",", &save) : NULL; p != NULL;
         p = strtok_r(NULL, ",", &save))
        names[n++] = p;
    if (cli->hosts != NULL && n == 0) {
        free(names);
        return dist_usage("--hosts: expected a list of host names like web1,web2");
    }
    mo.hosts = names;
    mo.nhosts = n;
    *out = merge_new(run->p, em, &mo);
    free(names);
    if (*out == NULL) {
        fputs("rarr: --hosts: a host name is longer than 255 bytes, or out of memory\n", stderr);
        return RARR_EXIT_USAGE;
    }
    return 0;
}

/* Run the merge over the sources; a source that could not be read makes the status 1. */
static enum pipeline_end
run_merge(const struct cli *cli, struct run *run, struct merge *m, char **sources, int n)
{
    struct dist_central c = {.sources = sources,
                             .nsources = n,
                             .durable = cli->durable != NULL ? cli->durable : "rarr-merge",
                             .stop = &stop_flag,
                             .hup = &hup_flag};
    int failed = 0;
    enum pipeline_end end = dist_merge(&c, m, run->p, &failed);

    if (failed)
        run->status = RARR_EXIT_FAIL;
    return end;
}

/* --stats of a merge: its hosts and records. */
static void
merge_stats_print(const struct merge *m)
{
    struct merge_stats st;

    merge_stats(m, &st);
    fprintf(stderr,
            "rarr: stats: merge: %zu hosts (%zu ended, %zu silent), %llu partial records, %llu "
            "steps merged, %llu late, %llu duplicates, %llu bad\n",
            st.hosts, st.ended, st.silent, (unsigned long long)st.records,
            (unsigned long long)st.steps, (unsigned long long)st.late, (unsigned long long)st.dup,
            (unsigned long long)st.bad);
}

/* The --report page, then the exporters: what 'ex' holds. Returns 0, or the exit status. */
static int
start_outputs(const struct cli *cli, struct pipeline_opts *opt, const struct ruleset *rs,
              struct emit *em, struct exporters *ex)
{
    if (cli->report != NULL && (opt->report = ex->rep = report_new(rs, opt->step_ms)) == NULL) {
        fputs("rarr: out of memory\n", stderr);
        return RARR_EXIT_FAIL;
    }
    ex->report_path = cli->report;
    ex->rs = rs;
    ex->em = em;
    return start_exporters(cli, opt, em, ex);
}

/* How long the sender may go on delivering at exit. */
#define AM_GRACE_MS 5000

/* Stop the exporters: what the sender still holds gets AM_GRACE_MS to go out. */
static void
stop_exporters(struct exporters *ex, int stats)
{
    struct amsend_stats st;

    watch_free(ex->watch); /* first: the terminal is back before the sender's grace */
    ex->watch = NULL;
    if (ex->am != NULL) {
        amsend_stop(ex->am, AM_GRACE_MS);
        if (stats) {
            amsend_stats(ex->am, &st);
            fprintf(stderr,
                    "rarr: stats: alertmanager: %llu alert states delivered in %llu posts, %llu "
                    "posts failed, %llu undelivered\n",
                    (unsigned long long)st.alerts, (unsigned long long)st.posts,
                    (unsigned long long)st.failures, (unsigned long long)st.undelivered);
        }
    }
    amsend_free(ex->am);
    serve_stop(ex->srv);
    export_free(ex->x);
    tally_free(ex->tally);
}

/*
 * The end of the run: the last steps (unless 'finished': the merge has
 * ended the pipeline), the report, the exit status.
 */
static void
finish(struct run *run, enum pipeline_end end, const struct exporters *ex, int finished)
{
    struct report *rep = ex->rep;

    if (end != PIPELINE_OUT_FAIL && !finished && pipeline_finish(run->p) == -1)
        end = PIPELINE_OUT_FAIL;
    /* The replay summary, at the end of the last step evaluated. */
    if (end != PIPELINE_OUT_FAIL && ex->tally != NULL &&
        (tally_write(ex->tally, ex->em, step_next(pipeline_step(run->p))) == -1 ||
         emit_flush(ex->em) == -1))
        end = PIPELINE_OUT_FAIL;
    if (end == PIPELINE_OUT_FAIL && errno != EPIPE) {
        fprintf(stderr, "rarr: stdout: %s\n", strerror(errno));
        run->status = RARR_EXIT_FAIL;
    }
    if (rep != NULL)
        report_live(rep, 0); /* the last page does not reload */
    if (rep != NULL && write_report(rep, ex->report_path) == -1)
        run->status = RARR_EXIT_FAIL;
    if (pipeline_save_failed(run->p))
        run->status = RARR_EXIT_FAIL;
}

int
main(int argc, char **argv)
{
    struct pipeline_opts opt = {.format = RECORD_AUTO,
                                .step_ms = CLOCK_MINUTE_MS,
                                .lateness_ms = RARR_REPLAY_LATENESS_MS,
                                .emit_alerts = 1,
                                .time_field = SIZE_MAX,
                                .silence_ms = 5 * CLOCK_MINUTE_MS,
                                .stop = &stop_flag,
                                .dump = &dump_flag,
                                .hup = &hup_flag};
    struct run run = {.status = RARR_EXIT_OK};
    struct cli cli = {0};
    struct exporters ex = {0};
    struct report *rep = NULL;
    struct progress pr;
    struct emit em;
    struct diag d;
    double t0 = clock_mono_seconds();
    const char *gap = getenv("RARR_SAVE_GAP_MS");
    struct dist_host host = {0};
    struct merge *merge = NULL;
    char digest[17] = "";
    int first;

    /* `rarr test PATH...` runs rule tests (docs/ruletest.md); `rarr ./test` reads a file. */
    if (argc > 1 && strcmp(argv[1], "test") == 0)
        return ruletest_main(argc - 1, argv + 1);
    run.rule_paths = calloc((size_t)argc, sizeof(*run.rule_paths));
    run.rule_texts = calloc((size_t)argc, sizeof(*run.rule_texts));
    cli.am_urls = calloc((size_t)argc, sizeof(*cli.am_urls));
    if (run.rule_paths == NULL || run.rule_texts == NULL || cli.am_urls == NULL) {
        fputs("rarr: out of memory\n", stderr);
        free(run.rule_paths);
        free(run.rule_texts);
        free(cli.am_urls);
        return RARR_EXIT_FAIL;
    }
    first = parse_options(argc, argv, &opt, &cli, &run);
    argc -= first;
    argv += first;
    emit_init(&em, STDOUT_FILENO);
    if ((run.status = check_dist(&cli, &opt, argv, argc)) != 0)
        goto done;
    if ((run.rs = load_rules(&run, opt.step_ms, &opt.time_field)) == NULL) {
        run.status = RARR_EXIT_USAGE;
        goto done;
    }
    if (cli.shard != NULL && (run.status = apply_shard(run.rs, cli.shard, digest, &opt)) != 0)
        goto done;
    /* Fields the given format cannot have; auto-detection warns once it has decided. */
    rules_warn_fields(run.rs, opt.format, stderr);
    if (cli.check) {
        rules_describe(run.rs, stdout);
        run.status = fflush(stdout) == 0 ? RARR_EXIT_OK : RARR_EXIT_FAIL;
        goto done;
    }
    /* A closed stdout is seen as EPIPE from write(), not as a signal. */
    signal(SIGPIPE, SIG_IGN);
    catch_signals();
    /* Least wall time between the saves a replay makes for event time (a knob for tests). */
    opt.save_gap_ms = gap != NULL ? atoll(gap) : 1000;
    run.status = start_outputs(&cli, &opt, run.rs, &em, &ex);
    rep = ex.rep;
    if (run.status != 0)
        goto done;
    if (progress_setup(&pr, argv, argc) && !cli.watch && !cli.merge) {
        opt.progress = progress_show;
        opt.progress_arg = &pr;
    }
    if (cli.partials && dist_host_start(&host, run.rs, cli.host, cli.publish, &em, &opt) == -1) {
        run.status = RARR_EXIT_FAIL;
        goto done;
    }
    if ((run.p = pipeline_new(run.rs, &opt, &em, &d)) == NULL) {
        diag_print(&d, stderr);
        run.status = RARR_EXIT_FAIL;
        goto done;
    }
    host.p = run.p;
    host.stop = &stop_flag;
    if (cli.merge && (run.status = start_merge(&cli, &run, &em, digest, &merge)) != 0)
        goto done;
    if (pipeline_load_state(run.p) == -1 || step_resend(pipeline_step(run.p)) == -1) {
        run.status = RARR_EXIT_FAIL;
        goto done;
    }
    if (cli.merge)
        finish(&run, run_merge(&cli, &run, merge, argv, argc), &ex, 1);
    else
        finish(&run, feed_all(&run, argv, argc, cli.verbose, &pr), &ex, 0);
    if (cli.partials && dist_host_end(&host, run.p, cli.stats) == -1)
        run.status = RARR_EXIT_FAIL;
    /* The terminal is given back before anything more is said on stderr. */
    watch_free(ex.watch);
    ex.watch = NULL;
    /* For CI: a replay in which an alert fired fails (when nothing else did). */
    if (cli.fail_on_alert && run.status == RARR_EXIT_OK && em.fired > 0)
        run.status = RARR_EXIT_FIRED;
    if (pr.shown)
        fputs("\r\033[K", stderr);
    if (cli.stats)
        pipeline_stats(run.p, stderr, clock_mono_seconds() - t0);
    if (cli.stats && merge != NULL)
        merge_stats_print(merge);
done:
    stop_exporters(&ex, cli.stats && run.p != NULL);
    merge_free(merge);
    dist_host_free(&host);
    pipeline_free(run.p);
    report_free(rep);
    emit_fini(&em);
    rules_free(run.rs);
    free(run.rule_paths);
    free(run.rule_texts);
    free(cli.am_urls);
    return run.status;
}
