/*
 * ruletest.c -- `rarr test PATH...`: rule unit tests on real log lines.
 *
 * A command beside the filter, not a stage of it: it runs rarr itself (this
 * very executable) on each case directory and compares the records it writes
 * with the case's expected.ndjson, the way promtool tests Prometheus rules.
 * The format and the output are in docs/ruletest.md.
 *
 * A case is a directory with one input.* file, expected.ndjson, and optional
 * rules.rarr and args. A directory with no input.* and no expected.ndjson but
 * with subdirectories is a suite: its subdirectories, in name order, each a
 * case or a suite again. The child runs in the case directory, so its
 * messages name "rules.rarr" and "input.log", not paths.
 *
 * Matching: each expected line is a JSON object; it matches a produced record
 * when every key it gives has an equal value there (numbers compare as
 * numbers). The expectations must match, in order, a subsequence of the
 * records; any threshold or anomaly record none of them took is a failure.
 * Metric records never fail a case by being there, and are asked for
 * (--emit all) only when an expectation has "type":"metric".
 *
 * Memory is bounded by the caps below, not by what a case holds: an
 * expected.ndjson over RULETEST_EXPECTED_MAX or a child writing more than
 * RULETEST_OUTPUT_MAX makes the case broken instead.
 */
#include "rarr/ruletest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <sys/auxv.h>
#endif

#include <jansson.h>

#include "rarr/buf.h"

#define RULETEST_EXPECTED_MAX (64u << 20) /* bytes of expected.ndjson */
#define RULETEST_ARGS_MAX (64u << 10)     /* bytes of args */
#define RULETEST_WORDS_MAX 1024           /* words in args */
#define RULETEST_OUTPUT_MAX (256u << 20)  /* bytes a case's rarr may write on stdout */
#define RULETEST_STDERR_KEEP 8192         /* bytes of its stderr kept for the message */
#define RULETEST_SHOW_MAX 200             /* bytes of a bad line quoted in a message */

enum ruletest_result { RULETEST_OK, RULETEST_FAIL, RULETEST_BROKEN };

/* The whole command: how to run rarr, what to print, the tally. */
struct ruletest_run {
    char exe[PATH_MAX]; /* absolute path of this executable; "" to look "rarr" up in PATH */
    int verbose;
    size_t passed, failed, broken;
};

/* One expected record: its object and its text, a slice of the file's buffer. */
struct ruletest_expect {
    json_t *obj;
    const char *text;
    size_t len;
    size_t line;
};

/* One produced record: its object and its text, a slice of the captured stdout. */
struct ruletest_record {
    json_t *obj;
    const char *text;
    size_t len;
    int metric; /* "type":"metric": never a failure by being there */
};

/* Everything one case owns while it runs; ruletest_case_fini frees it. */
struct ruletest_case {
    const char *dir; /* borrowed: the name printed */
    char input[NAME_MAX + 1];
    int has_rules;
    int want_metrics; /* some expectation has "type":"metric" */
    struct buf expected, args, out, err;
    struct ruletest_expect *exp;
    size_t nexp, exp_cap;
    struct ruletest_record *rec;
    size_t nrec, rec_cap;
    struct buf msg; /* why the case failed or is broken */
};

static void ruletest_path(struct ruletest_run *run, const char *path);

static void
usage(FILE *fp)
{
    fputs("usage: rarr test [-v] PATH...\n", fp);
}

/*
 * Append 'len' bytes of 's' to 'b' with every control byte shown as '?', so
 * a directory name or a message of the child cannot drive the terminal.
 */
static int
add_clean(struct buf *b, const char *s, size_t len)
{
    int rc = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        rc |= buf_addc(b, ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    return rc;
}

/* Set the case's message to printf-formatted text (its previous text is dropped). */
static void case_msg(struct ruletest_case *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
case_msg(struct ruletest_case *c, const char *fmt, ...)
{
    va_list ap;
    char tmp[1024];

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    c->msg.len = 0;
    if (buf_adds(&c->msg, tmp) == -1)
        c->msg.len = 0;
}

/*
 * Read the whole file 'path' into 'b' (emptied first). Returns 0, or -1 with
 * the reason in the case's message: the file cannot be read, or it is larger
 * than 'max' bytes. 'name' is what the message calls the file.
 */
static int
read_file(struct ruletest_case *c, const char *path, const char *name, size_t max, struct buf *b)
{
    char chunk[65536];
    ssize_t n;
    int fd, rc = 0;

    b->len = 0;
    if ((fd = open(path, O_RDONLY)) == -1) {
        case_msg(c, "%s: %s", name, strerror(errno));
        return -1;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            case_msg(c, "%s: %s", name, strerror(errno));
            rc = -1;
        } else if (b->len + (size_t)n > max) {
            case_msg(c, "%s: larger than %zu bytes", name, max);
            rc = -1;
        } else if (buf_add(b, chunk, (size_t)n) == -1) {
            case_msg(c, "%s: out of memory", name);
            rc = -1;
        }
        if (rc == -1)
            break;
    }
    close(fd);
    return rc;
}

/* "dir/name" into 'b' (emptied first); no doubled slash when 'dir' ends in one. */
static int
path_join(struct buf *b, const char *dir, const char *name)
{
    size_t n = strlen(dir);

    b->len = 0;
    return buf_add(b, dir, n) | (n > 0 && dir[n - 1] == '/' ? 0 : buf_addc(b, '/')) |
           buf_adds(b, name);
}

/* Whether 'path' names a directory (following symbolic links), a regular file, or neither. */
static int
path_kind(const char *path)
{
    struct stat st;

    if (stat(path, &st) == -1)
        return 0;
    return S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Free what scandir() returned. */
static void
free_names(struct dirent **names, int n)
{
    while (n > 0)
        free(names[--n]);
    free(names);
}

/*
 * Find the case's input.* file and whether it has rules.rarr. Returns 0, or
 * -1 with the message: no input.* file, more than one, or the directory
 * cannot be read.
 */
static int
case_scan(struct ruletest_case *c)
{
    struct dirent **names;
    struct buf path;
    int i, n, found = 0, rc = 0;

    if ((n = scandir(c->dir, &names, NULL, by_name)) == -1) {
        case_msg(c, "%s", strerror(errno));
        return -1;
    }
    buf_init(&path);
    for (i = 0; i < n; i++) {
        const char *name = names[i]->d_name;

        /* rules.rarr and input.* are handed to rarr as they are: it says what is wrong with them.
         */
        if (strcmp(name, "rules.rarr") == 0)
            c->has_rules = 1;
        if (strncmp(name, "input.", 6) != 0 || name[6] == '\0' ||
            (path_join(&path, c->dir, name) == 0 && path_kind(buf_cstr(&path)) == 'd'))
            continue;
        if (found++ > 0) {
            case_msg(c, "more than one input.* file (%s, %s)", c->input, name);
            rc = -1;
            break;
        }
        snprintf(c->input, sizeof(c->input), "%s", name);
    }
    if (rc == 0 && found == 0) {
        case_msg(c, "no input.* file");
        rc = -1;
    }
    buf_fini(&path);
    free_names(names, n);
    return rc;
}

/* Append one expectation; -1 when out of memory (the object is then freed). */
static int
expect_add(struct ruletest_case *c, json_t *obj, const char *text, size_t len, size_t line)
{
    if (c->nexp == c->exp_cap) {
        size_t cap = c->exp_cap ? c->exp_cap * 2 : 16;
        struct ruletest_expect *p;

        if (cap > SIZE_MAX / sizeof(*p) || (p = realloc(c->exp, cap * sizeof(*p))) == NULL) {
            json_decref(obj);
            return -1;
        }
        c->exp = p;
        c->exp_cap = cap;
    }
    c->exp[c->nexp++] = (struct ruletest_expect){obj, text, len, line};
    return 0;
}

/* Whether record or expectation 'o' has "type":"metric". */
static int
is_metric(json_t *o)
{
    const char *type = json_string_value(json_object_get(o, "type"));

    return type != NULL && strcmp(type, "metric") == 0;
}

/*
 * Load expected.ndjson: one JSON object a line, blank lines skipped. Returns
 * 0, or -1 with the message ("expected.ndjson:2: not a JSON object").
 */
static int
expect_load(struct ruletest_case *c)
{
    struct buf path;
    const char *p, *end, *nl;
    size_t line = 0;
    int rc;

    buf_init(&path);
    rc = path_join(&path, c->dir, "expected.ndjson");
    if (rc == -1)
        case_msg(c, "out of memory");
    else
        rc = read_file(c, buf_cstr(&path), "expected.ndjson", RULETEST_EXPECTED_MAX, &c->expected);
    buf_fini(&path);
    if (rc == -1)
        return -1;
    for (p = buf_cstr(&c->expected), end = p + c->expected.len; p < end; p = nl + 1) {
        size_t len, skip;
        json_t *obj;

        line++;
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;
        len = (size_t)(nl - p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
            len--;
        skip = strspn(p, " \t");
        if (skip >= len)
            continue;
        p += skip;
        len -= skip;
        if ((obj = json_loadb(p, len, 0, NULL)) == NULL || !json_is_object(obj)) {
            json_decref(obj);
            case_msg(c, "expected.ndjson:%zu: not a JSON object", line);
            return -1;
        }
        c->want_metrics |= is_metric(obj);
        if (expect_add(c, obj, p, len, line) == -1) {
            case_msg(c, "expected.ndjson: out of memory");
            return -1;
        }
    }
    return 0;
}

/*
 * Build the child's argument vector into 'argv' (RULETEST_WORDS_MAX + 8
 * slots): rarr [-r rules.rarr] ARGS... [--emit all] input.*. The words point
 * into the case's args buffer. Returns 0, or -1 with the message.
 */
static int
argv_build(struct ruletest_case *c, char **argv)
{
    struct buf path;
    size_t n = 0, words = 0;
    int has_emit = 0, rc = 0;
    char *w;

    argv[n++] = "rarr";
    if (c->has_rules) {
        argv[n++] = "-r";
        argv[n++] = "rules.rarr";
    }
    buf_init(&path);
    if (path_join(&path, c->dir, "args") == -1) {
        case_msg(c, "out of memory");
        rc = -1;
    } else if (path_kind(buf_cstr(&path)) != 0) {
        rc = read_file(c, buf_cstr(&path), "args", RULETEST_ARGS_MAX, &c->args);
    }
    buf_fini(&path);
    /* Split on whitespace, no quoting: an argument cannot hold a space (docs/ruletest.md). */
    for (w = rc == 0 ? strtok(buf_cstr(&c->args), " \t\r\n\v\f") : NULL; w != NULL;
         w = strtok(NULL, " \t\r\n\v\f")) {
        if (++words > RULETEST_WORDS_MAX) {
            case_msg(c, "args: more than %d words", RULETEST_WORDS_MAX);
            return -1;
        }
        has_emit |= strcmp(w, "--emit") == 0 || strncmp(w, "--emit=", 7) == 0;
        argv[n++] = w;
    }
    if (c->want_metrics && !has_emit) {
        argv[n++] = "--emit";
        argv[n++] = "all";
    }
    argv[n++] = c->input;
    argv[n] = NULL;
    return rc;
}

/* Make both ends of a pipe close on exec. */
static int
pipe_cloexec(int fd[2])
{
    if (pipe(fd) == -1)
        return -1;
    if (fcntl(fd[0], F_SETFD, FD_CLOEXEC) == -1 || fcntl(fd[1], F_SETFD, FD_CLOEXEC) == -1) {
        close(fd[0]);
        close(fd[1]);
        fd[0] = fd[1] = -1;
        return -1;
    }
    return 0;
}

/*
 * In the child: enter the case directory, wire stdin to /dev/null and
 * stdout/stderr to the pipes, exec rarr. On failure, tell the parent why on
 * 'report' (stage, errno) and leave with _exit: the child must not run the
 * parent's atexit handlers or flush its stdio buffers twice.
 */
static void
child_exec(const struct ruletest_run *run, const char *dir, char **argv, int out, int err,
           int report)
{
    int why[2] = {0, 0}, devnull;
    ssize_t n;

    if (chdir(dir) == -1) {
        why[0] = 'd';
    } else if ((devnull = open("/dev/null", O_RDONLY)) == -1 || dup2(devnull, 0) == -1 ||
               dup2(out, 1) == -1 || dup2(err, 2) == -1) {
        why[0] = 'p';
    } else {
        if (devnull > 2)
            close(devnull);
        signal(SIGPIPE, SIG_DFL);
        if (run->exe[0] != '\0')
            execv(run->exe, argv);
        else
            execvp("rarr", argv);
        why[0] = 'x';
    }
    why[1] = errno;
    do
        n = write(report, why, sizeof(why));
    while (n == -1 && errno == EINTR);
    _exit(127);
}

/*
 * Read the child's stdout into the case's 'out' and the first
 * RULETEST_STDERR_KEEP bytes of its stderr into 'err', until both are closed.
 * Past RULETEST_OUTPUT_MAX bytes of stdout the child is killed and the rest
 * drained. Returns 0, 1 when the output was too large, or -1 when poll
 * fails (the child is then killed and the pipes closed, so waiting for it
 * cannot hang).
 */
static int
capture(struct ruletest_case *c, pid_t pid, int out, int err)
{
    struct pollfd pf[2] = {{.fd = out, .events = POLLIN}, {.fd = err, .events = POLLIN}};
    char chunk[65536];
    int i, too_big = 0;

    while (pf[0].fd >= 0 || pf[1].fd >= 0) {
        if (poll(pf, 2, -1) == -1) {
            if (errno == EINTR)
                continue;
            kill(pid, SIGKILL);
            for (i = 0; i < 2; i++)
                if (pf[i].fd >= 0)
                    close(pf[i].fd);
            return -1;
        }
        for (i = 0; i < 2; i++) {
            struct buf *b = i == 0 ? &c->out : &c->err;
            size_t keep = i == 0 ? RULETEST_OUTPUT_MAX : RULETEST_STDERR_KEEP;
            ssize_t n;

            if (pf[i].fd < 0 || pf[i].revents == 0)
                continue;
            if ((n = read(pf[i].fd, chunk, sizeof(chunk))) == -1 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
                continue;
            }
            if (b->len + (size_t)n > keep || buf_add(b, chunk, (size_t)n) == -1) {
                if (i == 0 && !too_big)
                    kill(pid, SIGKILL); /* our own child: nothing more of it is wanted */
                too_big |= i == 0;
            }
        }
    }
    return too_big;
}

/*
 * Say why the child failed, from its wait status and its stderr: the first
 * line of stderr without rarr's "rarr: " (its rule error, "rules.rarr:3:7:
 * error: ..."), or the status itself when stderr is empty.
 */
static void
child_failed(struct ruletest_case *c, int status)
{
    const char *s = buf_cstr(&c->err), *nl;
    size_t len;

    if (WIFSIGNALED(status)) {
        case_msg(c, "rarr was killed by signal %d", WTERMSIG(status));
        return;
    }
    if (c->err.len == 0) {
        case_msg(c, "rarr exited with status %d and said nothing", WEXITSTATUS(status));
        return;
    }
    if (strncmp(s, "rarr: ", 6) == 0)
        s += 6;
    len = (nl = strchr(s, '\n')) != NULL ? (size_t)(nl - s) : strlen(s);
    c->msg.len = 0;
    if (add_clean(&c->msg, s, len) == -1)
        c->msg.len = 0;
}

/*
 * Wait for the child, reading its output meanwhile, and judge how it ended.
 * Closes the three pipe read ends. Returns 0 when rarr ran and exited 0, or
 * -1 with the message.
 */
static int
child_wait(struct ruletest_case *c, pid_t pid, int out, int err, int report)
{
    int why[2], status, got;
    ssize_t n;

    do
        n = read(report, why, sizeof(why));
    while (n == -1 && errno == EINTR);
    close(report);
    got = capture(c, pid, out, err);
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) {
            case_msg(c, "cannot wait for rarr: %s", strerror(errno));
            return -1;
        }
    if (n == (ssize_t)sizeof(why)) {
        case_msg(c, "%s: %s",
                 why[0] == 'd'   ? "cannot enter the case directory"
                 : why[0] == 'p' ? "cannot set up rarr's input and output"
                                 : "cannot run rarr",
                 strerror(why[1]));
        return -1;
    }
    if (got == -1) {
        case_msg(c, "cannot read rarr's output");
        return -1;
    }
    if (got == 1) {
        case_msg(c, "rarr wrote more than %u bytes", RULETEST_OUTPUT_MAX);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        child_failed(c, status);
        return -1;
    }
    return 0;
}

/*
 * Run rarr with 'argv' in the case directory, capturing stdout and stderr.
 * Returns 0 when it ran and exited 0, or -1 with the message (it could not
 * be run, it exited non-zero: a rule error is exit 2, an unreadable input 1).
 */
static int
execute(const struct ruletest_run *run, struct ruletest_case *c, char **argv)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
    pid_t pid;

    if (pipe_cloexec(out) == -1 || pipe_cloexec(err) == -1 || pipe_cloexec(report) == -1 ||
        (pid = fork()) == -1) {
        case_msg(c, "cannot run rarr: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (out[i] >= 0)
                close(out[i]);
            if (err[i] >= 0)
                close(err[i]);
            if (report[i] >= 0)
                close(report[i]);
        }
        return -1;
    }
    if (pid == 0)
        child_exec(run, c->dir, argv, out[1], err[1], report[1]);
    close(out[1]);
    close(err[1]);
    close(report[1]);
    return child_wait(c, pid, out[0], err[0], report[0]);
}

/* Append one produced record; -1 when out of memory (the object is then freed). */
static int
record_add(struct ruletest_case *c, json_t *obj, const char *text, size_t len)
{
    if (c->nrec == c->rec_cap) {
        size_t cap = c->rec_cap ? c->rec_cap * 2 : 64;
        struct ruletest_record *p;

        if (cap > SIZE_MAX / sizeof(*p) || (p = realloc(c->rec, cap * sizeof(*p))) == NULL) {
            json_decref(obj);
            return -1;
        }
        c->rec = p;
        c->rec_cap = cap;
    }
    c->rec[c->nrec++] = (struct ruletest_record){obj, text, len, is_metric(obj)};
    return 0;
}

/*
 * Parse what rarr wrote, one record a line. Returns 0, or -1 with the message
 * when a line is not a JSON object (rarr always writes valid JSON; a line that
 * is not is worth knowing about) or memory runs out.
 */
static int
records_parse(struct ruletest_case *c)
{
    const char *p, *end, *nl;
    size_t len;
    json_t *obj;

    for (p = buf_cstr(&c->out), end = p + c->out.len; p < end; p = nl + 1) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;
        if ((len = (size_t)(nl - p)) == 0)
            continue;
        if ((obj = json_loadb(p, len, 0, NULL)) == NULL || !json_is_object(obj)) {
            json_decref(obj);
            case_msg(c, "rarr wrote a line that is not a JSON object: ");
            if (add_clean(&c->msg, p, len < RULETEST_SHOW_MAX ? len : RULETEST_SHOW_MAX) == -1)
                c->msg.len = 0;
            return -1;
        }
        if (record_add(c, obj, p, len) == -1) {
            case_msg(c, "out of memory");
            return -1;
        }
    }
    return 0;
}

/*
 * JSON equality where numbers compare as numbers: 50 equals 50.0, 14.8 does
 * not equal 14.814814814814813. Objects and arrays below the top level must be
 * equal as a whole.
 */
static int
json_same(json_t *a, json_t *b)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        json_array_foreach(a, i, v)
        {
            if (!json_same(v, json_array_get(b, i)))
                return 0;
        }
        return 1;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach(a, key, v)
        {
            json_t *w = json_object_get(b, key);

            if (w == NULL || !json_same(v, w))
                return 0;
        }
        return 1;
    }
    return json_equal(a, b);
}

/* Whether record 'rec' has every key of expectation 'exp' with an equal value. */
static int
json_covers(json_t *rec, json_t *exp)
{
    const char *key;
    json_t *v, *r;

    json_object_foreach(exp, key, v)
    {
        if ((r = json_object_get(rec, key)) == NULL || !json_same(v, r))
            return 0;
    }
    return 1;
}

/*
 * The record produced where expectation 'e' was looked for, from index 'from'
 * on, for "got ...": the first that agrees with it on the keys naming a
 * series and state, then on fewer of them (the state, the rule, ...), down to
 * the first of the same type (or the first alert when it gives no type).
 * Returns c->nrec when there is none.
 */
static size_t
place_of(const struct ruletest_case *c, json_t *e, size_t from)
{
    static const char *const ids[] = {"type", "metric", "key", "rule", "state"};
    size_t n, k, i;

    for (n = sizeof(ids) / sizeof(ids[0]); n > 0; n--) {
        for (k = from; k < c->nrec; k++) {
            for (i = 0; i < n; i++) {
                json_t *want = json_object_get(e, ids[i]),
                       *have = json_object_get(c->rec[k].obj, ids[i]);

                if (want != NULL && (have == NULL || !json_same(want, have)))
                    break;
            }
            if (i == n && (json_object_get(e, "type") != NULL || !c->rec[k].metric))
                return k;
        }
    }
    return c->nrec;
}

/* The FAIL message for an alert record that no expectation took. */
static enum ruletest_result
fail_unexpected(struct ruletest_case *c, size_t k)
{
    c->msg.len = 0;
    if (buf_adds(&c->msg, "unexpected ") | buf_add(&c->msg, c->rec[k].text, c->rec[k].len))
        c->msg.len = 0;
    return RULETEST_FAIL;
}

/* The FAIL message for expectation 'i' not found from record 'from' on. */
static enum ruletest_result
fail_expected(struct ruletest_case *c, size_t i, size_t from)
{
    const struct ruletest_expect *e = &c->exp[i];
    size_t k = place_of(c, e->obj, from);
    int rc;

    c->msg.len = 0;
    rc = buf_adds(&c->msg, "expected ") | buf_add(&c->msg, e->text, e->len) |
         buf_printf(&c->msg, " (expected.ndjson:%zu), got ", e->line);
    if (k < c->nrec)
        rc |= buf_add(&c->msg, c->rec[k].text, c->rec[k].len);
    else
        rc |= buf_adds(&c->msg, "<none>");
    if (rc != 0)
        c->msg.len = 0;
    return RULETEST_FAIL;
}

/*
 * Compare: each expectation, in order, takes the first record from where the
 * previous one matched; an alert record skipped on the way or left at the
 * end is unexpected. The first difference is the message.
 */
static enum ruletest_result
compare(struct ruletest_case *c)
{
    size_t i, k, from = 0;

    for (i = 0; i < c->nexp; i++) {
        for (k = from; k < c->nrec && !json_covers(c->rec[k].obj, c->exp[i].obj); k++)
            ;
        if (k == c->nrec)
            return fail_expected(c, i, from);
        for (; from < k; from++)
            if (!c->rec[from].metric)
                return fail_unexpected(c, from);
        from = k + 1;
    }
    for (; from < c->nrec; from++)
        if (!c->rec[from].metric)
            return fail_unexpected(c, from);
    return RULETEST_OK;
}

/* Free what the case owns. */
static void
case_fini(struct ruletest_case *c)
{
    size_t i;

    for (i = 0; i < c->nexp; i++)
        json_decref(c->exp[i].obj);
    for (i = 0; i < c->nrec; i++)
        json_decref(c->rec[i].obj);
    free(c->exp);
    free(c->rec);
    buf_fini(&c->expected);
    buf_fini(&c->args);
    buf_fini(&c->out);
    buf_fini(&c->err);
    buf_fini(&c->msg);
}

/* Print the case's line (and, with -v, what rarr wrote), and count it. */
static void
case_report(struct ruletest_run *run, struct ruletest_case *c, enum ruletest_result r)
{
    static const char *const word[] = {"ok", "FAIL", "BROKEN"};
    struct buf line;
    struct buf *more = r == RULETEST_FAIL ? &c->out : &c->err;
    const char *p, *nl;

    buf_init(&line);
    if (buf_adds(&line, word[r]) | buf_addc(&line, ' ') | add_clean(&line, c->dir, strlen(c->dir)) |
        (r == RULETEST_OK ? 0 : buf_adds(&line, ": ") | buf_add(&line, c->msg.p, c->msg.len)))
        line.len = 0;
    fwrite(buf_cstr(&line), 1, line.len, stdout);
    putchar('\n');
    /* -v: a failing case's records, a broken case's whole stderr. */
    for (p = buf_cstr(more); run->verbose && r != RULETEST_OK && *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        line.len = 0;
        if (buf_adds(&line, "    ") |
            add_clean(&line, p, nl != NULL ? (size_t)(nl - p) : strlen(p)))
            line.len = 0;
        fwrite(buf_cstr(&line), 1, line.len, stdout);
        putchar('\n');
        if (nl == NULL)
            break;
    }
    buf_fini(&line);
    if (r == RULETEST_OK)
        run->passed++;
    else if (r == RULETEST_FAIL)
        run->failed++;
    else
        run->broken++;
}

/* Run the case in directory 'dir' (the name printed) and report it. */
static void
ruletest_case(struct ruletest_run *run, const char *dir)
{
    struct ruletest_case c = {.dir = dir};
    char *argv[RULETEST_WORDS_MAX + 8];
    enum ruletest_result r = RULETEST_BROKEN;

    buf_init(&c.expected);
    buf_init(&c.args);
    buf_init(&c.out);
    buf_init(&c.err);
    buf_init(&c.msg);
    if (case_scan(&c) == 0 && expect_load(&c) == 0 && argv_build(&c, argv) == 0 &&
        execute(run, &c, argv) == 0 && records_parse(&c) == 0)
        r = compare(&c);
    case_report(run, &c, r);
    case_fini(&c);
}

/*
 * What directory 'path' is: 'c' a case (it holds input.* or expected.ndjson,
 * or no subdirectory at all), 's' a suite, or 0 when it cannot be read (errno
 * says why). Otherwise 'names' and 'n' get its entries in name order, which
 * the caller frees with free_names.
 */
static int
dir_kind(const char *path, struct dirent ***names, int *n)
{
    struct buf sub;
    int i, dirs = 0, is_case = 0;

    if ((*n = scandir(path, names, NULL, by_name)) == -1)
        return 0;
    buf_init(&sub);
    for (i = 0; i < *n; i++) {
        const char *name = (*names)[i]->d_name;

        if (strcmp(name, "expected.ndjson") == 0 ||
            (strncmp(name, "input.", 6) == 0 && name[6] != '\0'))
            is_case = 1;
        else if (name[0] != '.' && path_join(&sub, path, name) == 0 &&
                 path_kind(buf_cstr(&sub)) == 'd')
            dirs++;
    }
    buf_fini(&sub);
    return is_case || dirs == 0 ? 'c' : 's';
}

/*
 * Run the suite at 'path': every subdirectory (hidden ones left out) in name
 * order, each a case or a suite. 'names' are what scandir found there; they
 * are freed here.
 */
static void
ruletest_suite(struct ruletest_run *run, const char *path, struct dirent **names, int n)
{
    struct buf sub;
    int i;

    buf_init(&sub);
    for (i = 0; i < n; i++) {
        const char *name = names[i]->d_name;

        if (name[0] == '.' || path_join(&sub, path, name) == -1 || path_kind(buf_cstr(&sub)) != 'd')
            continue;
        ruletest_path(run, buf_cstr(&sub));
    }
    buf_fini(&sub);
    free_names(names, n);
}

/* Report 'path' broken with 'reason', without running anything. */
static void
broken_path(struct ruletest_run *run, const char *path, const char *reason)
{
    struct ruletest_case c = {.dir = path};

    buf_init(&c.msg);
    case_msg(&c, "%s", reason);
    case_report(run, &c, RULETEST_BROKEN);
    buf_fini(&c.msg);
}

/* Run what 'path' names, a case or a suite; every outcome is counted in 'run'. */
static void
ruletest_path(struct ruletest_run *run, const char *path)
{
    struct dirent **names;
    int n;

    if (path_kind(path) != 'd') {
        broken_path(run, path, access(path, F_OK) == 0 ? "not a directory" : strerror(errno));
        return;
    }
    switch (dir_kind(path, &names, &n)) {
    case 's':
        ruletest_suite(run, path, names, n);
        break;
    case 'c':
        free_names(names, n);
        ruletest_case(run, path);
        break;
    default:
        broken_path(run, path, strerror(errno));
        break;
    }
}

/*
 * Find this executable, to run it on every case: /proc/self/exe, else the
 * path it was started as (argv[0] as the kernel saw it, made absolute before
 * the child changes directory), else "rarr" looked up in PATH.
 */
static void
find_self(struct ruletest_run *run)
{
    ssize_t n = readlink("/proc/self/exe", run->exe, sizeof(run->exe) - 1);

    run->exe[n > 0 ? n : 0] = '\0';
    if (n > 0 && access(run->exe, X_OK) == 0)
        return;
    run->exe[0] = '\0';
#if defined(__GLIBC__)
    {
        /* NOLINTNEXTLINE(performance-no-int-to-ptr): getauxval gives pointers as integers */
        const char *fn = (const char *)getauxval(AT_EXECFN);
        size_t len;

        if (fn == NULL || fn[0] == '/') {
            snprintf(run->exe, sizeof(run->exe), "%s", fn != NULL ? fn : "");
        } else if (getcwd(run->exe, sizeof(run->exe)) != NULL &&
                   (len = strlen(run->exe)) + strlen(fn) + 2 <= sizeof(run->exe)) {
            snprintf(run->exe + len, sizeof(run->exe) - len, "/%s", fn);
        } else {
            run->exe[0] = '\0';
        }
    }
#endif
}

/*
 * `rarr test [-v] PATH...`: argv[0] is "test". Runs every case under the
 * PATHs and prints one line each, then "N passed, M failed[, K broken]".
 * Returns the exit status: 0 all passed, 1 a case failed, 2 a case is broken
 * or the usage is wrong. Prints to stdout and stderr; never exits.
 */
int
ruletest_main(int argc, char **argv)
{
    struct ruletest_run run = {.verbose = 0};
    int i = 1;

    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            run.verbose = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "rarr: test: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i == argc) {
        fputs("rarr: test: expected a case or suite directory\n", stderr);
        usage(stderr);
        return 2;
    }
    find_self(&run);
    /* The child's output is read through pipes; a closed stdout of ours is reported at the end. */
    signal(SIGPIPE, SIG_IGN);
    for (; i < argc; i++)
        ruletest_path(&run, argv[i]);
    printf("%zu passed, %zu failed", run.passed, run.failed);
    if (run.broken > 0)
        printf(", %zu broken", run.broken);
    printf("\n");
    /* A reader that went away (EPIPE) ends the run quietly, as in the filter. */
    if ((fflush(stdout) == EOF || ferror(stdout)) && errno != EPIPE) {
        fprintf(stderr, "rarr: stdout: %s\n", strerror(errno));
        return 2;
    }
    return run.broken > 0 ? 2 : run.failed > 0 ? 1 : 0;
}
