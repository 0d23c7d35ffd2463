/*
 * test_input.c -- unit tests for input.c: the line reader (input_open,
 * input_next, input_close) fed through a temporary file and through a pipe
 * on standard input written in odd chunk sizes by a child process, and the
 * format guess input_detect.
 *
 * The reader must give the same lines whatever the chunking: '\r\n' ends a
 * line like '\n', a last line without newline is a line, NUL bytes stay,
 * a line of exactly RARR_LINE_MAX bytes is kept and a longer one is reported
 * once as INPUT_TOO_LONG without disturbing the next line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rarr/input.h"
#include "rarr/record.h"

/* One result of input_next, with a copy of the bytes it handed out. */
struct got {
    enum input_status st;
    uint64_t lineno;
    char *p;
    size_t len;
};

struct lines {
    struct got *v;
    size_t n, cap;
    uint64_t bytes;  /* in->bytes at the end */
    uint64_t lineno; /* in->lineno at the end */
};

/* Input text assembled piece by piece. */
struct text {
    char *p;
    size_t len, cap;
};

static void
text_add(struct text *t, const void *p, size_t len)
{
    if (t->len + len > t->cap) {
        size_t cap = t->cap ? t->cap : 256;

        while (cap < t->len + len)
            cap *= 2;
        t->p = realloc(t->p, cap);
        assert_non_null(t->p);
        t->cap = cap;
    }
    memcpy(t->p + t->len, p, len);
    t->len += len;
}

static void
text_adds(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* Append 'n' copies of byte 'c'. */
static void
text_fill(struct text *t, int c, size_t n)
{
    if (t->len + n > t->cap) {
        t->p = realloc(t->p, t->len + n);
        assert_non_null(t->p);
        t->cap = t->len + n;
    }
    memset(t->p + t->len, c, n);
    t->len += n;
}

static void
text_free(struct text *t)
{
    free(t->p);
    memset(t, 0, sizeof(*t));
}

static void
lines_push(struct lines *l, enum input_status st, uint64_t lineno, const char *p, size_t len)
{
    struct got *g;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    g = &l->v[l->n++];
    g->st = st;
    g->lineno = lineno;
    g->len = len;
    g->p = malloc(len + 1);
    assert_non_null(g->p);
    if (len > 0)
        memcpy(g->p, p, len);
    g->p[len] = '\0';
}

static void
lines_free(struct lines *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i].p);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/*
 * Read every line up to INPUT_EOF (recorded too) or INPUT_ERROR (recorded,
 * then stop). 'limit' guards against a reader that never ends.
 */
static void
collect(struct input *in, struct lines *out)
{
    struct slice line;
    enum input_status st;
    size_t limit = 100000;

    do {
        line.p = NULL;
        line.len = 0;
        st = input_next(in, &line);
        lines_push(out, st, in->lineno, line.p, st == INPUT_EOF ? 0 : line.len);
    } while (st != INPUT_EOF && st != INPUT_ERROR && --limit > 0);
    out->bytes = in->bytes;
    out->lineno = in->lineno;
}

/* Write 'len' bytes to a new temporary file; returns its path (free it). */
static char *
write_temp(const void *data, size_t len)
{
    const char *dir = getenv("TMPDIR");
    char *path;
    size_t off = 0;
    ssize_t n;
    int fd;

    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    path = malloc(strlen(dir) + 32);
    assert_non_null(path);
    sprintf(path, "%s/test_input.XXXXXX", dir);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    while (off < len) {
        n = write(fd, (const char *)data + off, len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    assert_int_equal(close(fd), 0);
    return path;
}

/* All lines of 'data' read from a regular file. */
static void
read_via_file(const void *data, size_t len, struct lines *out)
{
    struct input in;
    char *path = write_temp(data, len);

    assert_int_equal(input_open(&in, path), 0);
    assert_string_equal(in.name, path);
    collect(&in, out);
    input_close(&in);
    unlink(path);
    free(path);
}

/*
 * All lines of 'data' read from standard input ("-") when it is a pipe that
 * a child process writes in 'chunk'-byte writes. The child also breaks its
 * writes at the offsets in 'pause_at' (ascending) and waits a moment there,
 * so the reader is likely to have drained the pipe and to see exactly the
 * bytes before that offset (correct code gives the same lines either way).
 */
static void
read_via_pipe_paused(const void *data, size_t len, size_t chunk, const size_t *pause_at,
                     size_t npause, struct lines *out)
{
    struct input in;
    int fds[2], saved, status;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        size_t off = 0, k, next = 0;
        ssize_t n;

        close(fds[0]);
        while (off < len) {
            k = len - off < chunk ? len - off : chunk;
            if (next < npause && off + k > pause_at[next])
                k = pause_at[next] - off;
            n = write(fds[1], (const char *)data + off, k);
            if (n == -1 && errno == EINTR)
                continue;
            if (n <= 0)
                _exit(1);
            off += (size_t)n;
            if (next < npause && off == pause_at[next]) {
                nanosleep(&pause, NULL);
                next++;
            }
        }
        close(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
    close(fds[0]);

    assert_int_equal(input_open(&in, "-"), 0);
    assert_string_equal(in.name, "input");
    collect(&in, out);
    input_close(&in);

    /* input_close never closes standard input; put the real one back. */
    assert_true(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
    close(saved);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void
read_via_pipe(const void *data, size_t len, size_t chunk, struct lines *out)
{
    read_via_pipe_paused(data, len, chunk, NULL, 0, out);
}

static void
assert_got(const struct lines *l, size_t i, enum input_status st, uint64_t lineno, const void *p,
           size_t len)
{
    const struct got *g;

    if (i >= l->n)
        fail_msg("result %zu missing: only %zu results", i, l->n);
    g = &l->v[i];
    if (g->st != st || g->lineno != lineno || g->len != len)
        fail_msg("result %zu: status %d lineno %llu len %zu, want status %d lineno %llu len %zu", i,
                 (int)g->st, (unsigned long long)g->lineno, g->len, (int)st,
                 (unsigned long long)lineno, len);
    if (len > 0)
        assert_memory_equal(g->p, p, len);
}

/* Assert the results are exactly these lines (as C strings) then EOF. */
static void
assert_plain_lines(const struct lines *l, const char *const *want, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        assert_got(l, i, INPUT_LINE, i + 1, want[i], strlen(want[i]));
    assert_got(l, n, INPUT_EOF, n, NULL, 0);
    assert_int_equal(l->n, n + 1);
}

static void
assert_lines_equal(const struct lines *a, const struct lines *b)
{
    size_t i;

    assert_int_equal(a->n, b->n);
    for (i = 0; i < a->n; i++)
        assert_got(b, i, a->v[i].st, a->v[i].lineno, a->v[i].p, a->v[i].len);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->lineno, b->lineno);
}

/* ---- the line reader ---------------------------------------------------- */

static void
test_input_file_lines(void **state)
{
    static const char data[] = "alpha\nbeta\ngamma delta\n";
    static const char *const want[] = {"alpha", "beta", "gamma delta"};
    struct lines l = {0};

    (void)state;
    read_via_file(data, sizeof(data) - 1, &l);
    assert_plain_lines(&l, want, 3);
    assert_int_equal(l.bytes, sizeof(data) - 1);
    lines_free(&l);
}

static void
test_input_pipe_lines(void **state)
{
    static const char data[] = "alpha\nbeta\ngamma delta\n";
    static const char *const want[] = {"alpha", "beta", "gamma delta"};
    struct lines l = {0};

    (void)state;
    read_via_pipe(data, sizeof(data) - 1, 3, &l);
    assert_plain_lines(&l, want, 3);
    assert_int_equal(l.bytes, sizeof(data) - 1);
    lines_free(&l);
}

static void
test_input_empty_input_is_eof(void **state)
{
    struct lines l = {0};

    (void)state;
    read_via_file("", 0, &l);
    assert_int_equal(l.n, 1);
    assert_got(&l, 0, INPUT_EOF, 0, NULL, 0);
    assert_int_equal(l.bytes, 0);
    lines_free(&l);
}

static void
test_input_crlf_is_stripped(void **state)
{
    static const char data[] = "a\r\nbb\r\n\r\nc\rd\r\n";
    static const char *const want[] = {"a", "bb", "", "c\rd"};
    struct lines l = {0};

    (void)state;
    read_via_file(data, sizeof(data) - 1, &l);
    assert_plain_lines(&l, want, 4);
    lines_free(&l);
}

static void
test_input_only_one_cr_is_stripped(void **state)
{
    static const char data[] = "a\r\r\n";
    static const char *const want[] = {"a\r"};
    struct lines l = {0};

    (void)state;
    read_via_file(data, sizeof(data) - 1, &l);
    assert_plain_lines(&l, want, 1);
    lines_free(&l);
}

static void
test_input_last_line_without_newline(void **state)
{
    static const char data[] = "first\nlast";
    static const char *const want[] = {"first", "last"};
    struct lines l = {0};

    (void)state;
    read_via_file(data, sizeof(data) - 1, &l);
    assert_plain_lines(&l, want, 2);
    assert_int_equal(l.bytes, sizeof(data) - 1);
    lines_free(&l);
}

static void
test_input_last_line_without_newline_drops_cr(void **state)
{
    static const char data[] = "first\r\nlast\r";
    static const char *const want[] = {"first", "last"};
    struct lines l = {0};

    (void)state;
    read_via_pipe(data, sizeof(data) - 1, 1, &l);
    assert_plain_lines(&l, want, 2);
    lines_free(&l);
}

static void
test_input_empty_lines(void **state)
{
    static const char data[] = "\n\nx\n\n";
    static const char *const want[] = {"", "", "x", ""};
    struct lines l = {0};

    (void)state;
    read_via_file(data, sizeof(data) - 1, &l);
    assert_plain_lines(&l, want, 4);
    lines_free(&l);
}

static void
test_input_nul_bytes_kept(void **state)
{
    static const char data[] = "a\0b\n\0\nc\0";
    struct lines l = {0};

    (void)state;
    read_via_pipe(data, sizeof(data) - 1, 2, &l);
    assert_int_equal(l.n, 4);
    assert_got(&l, 0, INPUT_LINE, 1, "a\0b", 3);
    assert_got(&l, 1, INPUT_LINE, 2, "\0", 1);
    assert_got(&l, 2, INPUT_LINE, 3, "c\0", 2);
    assert_got(&l, 3, INPUT_EOF, 3, NULL, 0);
    lines_free(&l);
}

static void
test_input_eof_is_sticky(void **state)
{
    struct input in;
    struct slice line;
    char *path = write_temp("x\n", 2);

    (void)state;
    assert_int_equal(input_open(&in, path), 0);
    assert_int_equal(input_next(&in, &line), INPUT_LINE);
    assert_int_equal(input_next(&in, &line), INPUT_EOF);
    assert_int_equal(input_next(&in, &line), INPUT_EOF);
    assert_int_equal(in.lineno, 1);
    input_close(&in);
    assert_null(in.buf);
    unlink(path);
    free(path);
}

static void
test_input_open_missing_file_fails(void **state)
{
    struct input in;

    (void)state;
    errno = 0;
    assert_int_equal(input_open(&in, "/nonexistent/dir/rarr-no-such-file.log"), -1);
    assert_int_equal(errno, ENOENT);
}

static void
test_input_line_of_exactly_line_max_accepted(void **state)
{
    struct text t = {0};
    struct lines l = {0};
    size_t i;

    (void)state;
    text_adds(&t, "head\n");
    text_fill(&t, 'x', RARR_LINE_MAX - 1);
    text_adds(&t, "Z\nnext\n");
    read_via_file(t.p, t.len, &l);
    assert_int_equal(l.n, 4);
    assert_got(&l, 0, INPUT_LINE, 1, "head", 4);
    assert_got(&l, 1, INPUT_LINE, 2, t.p + 5, RARR_LINE_MAX);
    assert_int_equal(l.v[1].p[RARR_LINE_MAX - 1], 'Z');
    assert_got(&l, 2, INPUT_LINE, 3, "next", 4);
    assert_got(&l, 3, INPUT_EOF, 3, NULL, 0);
    for (i = 0; i < RARR_LINE_MAX - 1; i++)
        if (l.v[1].p[i] != 'x')
            fail_msg("byte %zu of the long line changed", i);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_line_of_line_max_with_crlf_accepted(void **state)
{
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_fill(&t, 'x', RARR_LINE_MAX);
    text_adds(&t, "\r\nnext\r\n");
    read_via_pipe(t.p, t.len, 65536, &l);
    assert_int_equal(l.n, 3);
    assert_got(&l, 0, INPUT_LINE, 1, t.p, RARR_LINE_MAX);
    assert_got(&l, 1, INPUT_LINE, 2, "next", 4);
    assert_got(&l, 2, INPUT_EOF, 2, NULL, 0);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_line_max_with_crlf_split_before_newline_accepted(void **state)
{
    /* The reader holds exactly the line and its '\r' when the '\n' is still to come. */
    size_t pauses[] = {RARR_LINE_MAX, RARR_LINE_MAX + 1};
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_fill(&t, 'x', RARR_LINE_MAX);
    text_adds(&t, "\r\nnext\n");
    read_via_pipe_paused(t.p, t.len, 65536, pauses, 2, &l);
    assert_int_equal(l.n, 3);
    assert_got(&l, 0, INPUT_LINE, 1, t.p, RARR_LINE_MAX);
    assert_got(&l, 1, INPUT_LINE, 2, "next", 4);
    assert_got(&l, 2, INPUT_EOF, 2, NULL, 0);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_line_max_plus_one_split_before_newline_too_long_once(void **state)
{
    size_t pauses[] = {RARR_LINE_MAX, RARR_LINE_MAX + 1, RARR_LINE_MAX + 2};
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_fill(&t, 'y', RARR_LINE_MAX + 1);
    text_adds(&t, "\r\nnext\n");
    read_via_pipe_paused(t.p, t.len, 65536, pauses, 3, &l);
    assert_int_equal(l.n, 3);
    assert_got(&l, 0, INPUT_TOO_LONG, 1, t.p, 80);
    assert_got(&l, 1, INPUT_LINE, 2, "next", 4);
    assert_got(&l, 2, INPUT_EOF, 2, NULL, 0);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_last_line_of_line_max_without_newline_accepted(void **state)
{
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_adds(&t, "a\n");
    text_fill(&t, 'q', RARR_LINE_MAX);
    read_via_file(t.p, t.len, &l);
    assert_int_equal(l.n, 3);
    assert_got(&l, 1, INPUT_LINE, 2, t.p + 2, RARR_LINE_MAX);
    assert_got(&l, 2, INPUT_EOF, 2, NULL, 0);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_line_max_plus_one_too_long_once(void **state)
{
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_adds(&t, "before\n");
    text_adds(&t, "LONG");
    text_fill(&t, 'y', RARR_LINE_MAX + 1 - 4);
    text_adds(&t, "\nafter line\n");
    read_via_file(t.p, t.len, &l);
    assert_int_equal(l.n, 4);
    assert_got(&l, 0, INPUT_LINE, 1, "before", 6);
    /* Reported once, with its first 80 bytes for the message. */
    assert_got(&l, 1, INPUT_TOO_LONG, 2, t.p + 7, 80);
    assert_got(&l, 2, INPUT_LINE, 3, "after line", 10);
    assert_got(&l, 3, INPUT_EOF, 3, NULL, 0);
    assert_int_equal(l.bytes, t.len);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_line_max_plus_one_with_crlf_too_long(void **state)
{
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_fill(&t, 'y', RARR_LINE_MAX + 1);
    text_adds(&t, "\r\nafter\r\n");
    read_via_pipe(t.p, t.len, 65536, &l);
    assert_int_equal(l.n, 3);
    assert_got(&l, 0, INPUT_TOO_LONG, 1, t.p, 80);
    assert_got(&l, 1, INPUT_LINE, 2, "after", 5);
    assert_got(&l, 2, INPUT_EOF, 2, NULL, 0);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_two_mib_line_too_long_once(void **state)
{
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_adds(&t, "one\n");
    text_adds(&t, "HUGE:");
    text_fill(&t, 'z', 2 * RARR_LINE_MAX - 5);
    text_adds(&t, "\nthree\nfour");
    read_via_file(t.p, t.len, &l);
    assert_int_equal(l.n, 5);
    assert_got(&l, 0, INPUT_LINE, 1, "one", 3);
    assert_got(&l, 1, INPUT_TOO_LONG, 2, t.p + 4, 80);
    assert_got(&l, 2, INPUT_LINE, 3, "three", 5);
    assert_got(&l, 3, INPUT_LINE, 4, "four", 4);
    assert_got(&l, 4, INPUT_EOF, 4, NULL, 0);
    assert_int_equal(l.bytes, t.len);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_two_mib_line_through_pipe_too_long_once(void **state)
{
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_adds(&t, "one\n");
    text_fill(&t, 'z', 2 * RARR_LINE_MAX);
    text_adds(&t, "\nthree\n");
    read_via_pipe(t.p, t.len, 4093, &l);
    assert_int_equal(l.n, 4);
    assert_got(&l, 0, INPUT_LINE, 1, "one", 3);
    assert_got(&l, 1, INPUT_TOO_LONG, 2, t.p + 4, 80);
    assert_got(&l, 2, INPUT_LINE, 3, "three", 5);
    assert_got(&l, 3, INPUT_EOF, 3, NULL, 0);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_too_long_last_line_without_newline(void **state)
{
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_adds(&t, "a\n");
    text_fill(&t, 'w', RARR_LINE_MAX + 1);
    read_via_file(t.p, t.len, &l);
    assert_int_equal(l.n, 3);
    assert_got(&l, 0, INPUT_LINE, 1, "a", 1);
    assert_got(&l, 1, INPUT_TOO_LONG, 2, t.p + 2, 80);
    assert_got(&l, 2, INPUT_EOF, 2, NULL, 0);
    lines_free(&l);

    /* And one far over the cap: still reported once. */
    text_fill(&t, 'w', 2 * RARR_LINE_MAX);
    read_via_file(t.p, t.len, &l);
    assert_int_equal(l.n, 3);
    assert_got(&l, 1, INPUT_TOO_LONG, 2, t.p + 2, 80);
    assert_got(&l, 2, INPUT_EOF, 2, NULL, 0);
    lines_free(&l);
    text_free(&t);
}

static void
test_input_consecutive_too_long_lines(void **state)
{
    struct text t = {0};
    struct lines l = {0};

    (void)state;
    text_fill(&t, '1', RARR_LINE_MAX + 1);
    text_adds(&t, "\n");
    text_fill(&t, '2', 2 * RARR_LINE_MAX + 7);
    text_adds(&t, "\n");
    text_fill(&t, '3', RARR_LINE_MAX + 100);
    text_adds(&t, "\nok\n");
    read_via_file(t.p, t.len, &l);
    assert_int_equal(l.n, 5);
    assert_got(&l, 0, INPUT_TOO_LONG, 1, t.p, 80);
    assert_got(&l, 1, INPUT_TOO_LONG, 2, t.p + RARR_LINE_MAX + 2, 80);
    assert_int_equal(l.v[1].p[0], '2');
    assert_got(&l, 2, INPUT_TOO_LONG, 3, t.p + 3 * RARR_LINE_MAX + 10, 80);
    assert_int_equal(l.v[2].p[0], '3');
    assert_got(&l, 3, INPUT_LINE, 4, "ok", 2);
    assert_got(&l, 4, INPUT_EOF, 4, NULL, 0);
    lines_free(&l);
    text_free(&t);
}

/* A few KiB of every small case: CRLF, empty lines, NULs, a last line without newline. */
static void
small_mixed_input(struct text *t)
{
    char line[128];
    int i;

    text_adds(t, "\n");
    for (i = 0; i < 150; i++) {
        snprintf(line, sizeof(line), "line %d of the mixed input%s", i, i % 3 == 0 ? "\r\n" : "\n");
        text_adds(t, line);
        if (i % 17 == 0)
            text_add(t, "nul\0inside\n", 11);
        if (i % 23 == 0)
            text_adds(t, "\n\r\n");
    }
    text_fill(t, 'm', 3000);
    text_adds(t, "\r\nthe end without newline");
}

static void
test_input_chunking_does_not_change_small_lines(void **state)
{
    struct text t = {0};
    struct lines file = {0}, one = {0}, seven = {0}, big = {0};

    (void)state;
    small_mixed_input(&t);
    read_via_file(t.p, t.len, &file);
    read_via_pipe(t.p, t.len, 1, &one);
    read_via_pipe(t.p, t.len, 7, &seven);
    read_via_pipe(t.p, t.len, 65536, &big);

    /* Spot-check the reference itself before comparing with it. */
    assert_got(&file, 0, INPUT_LINE, 1, "", 0);
    assert_got(&file, 1, INPUT_LINE, 2, "line 0 of the mixed input", 25);
    assert_got(&file, 2, INPUT_LINE, 3, "nul\0inside", 10);
    assert_got(&file, 3, INPUT_LINE, 4, "", 0);
    assert_got(&file, 4, INPUT_LINE, 5, "", 0);
    assert_got(&file, 5, INPUT_LINE, 6, "line 1 of the mixed input", 25);
    assert_got(&file, file.n - 2, INPUT_LINE, file.n - 1, "the end without newline", 23);
    assert_got(&file, file.n - 1, INPUT_EOF, file.n - 1, NULL, 0);
    assert_int_equal(file.n, 1 + 150 + 9 + 2 * 7 + 2 + 1);
    assert_int_equal(file.bytes, t.len);

    assert_lines_equal(&file, &one);
    assert_lines_equal(&file, &seven);
    assert_lines_equal(&file, &big);
    lines_free(&file);
    lines_free(&one);
    lines_free(&seven);
    lines_free(&big);
    text_free(&t);
}

static void
test_input_chunking_does_not_change_long_lines(void **state)
{
    static const size_t chunks[] = {7, 4093, 65536};
    struct text t = {0};
    struct lines file = {0}, pipe_l = {0};
    size_t i;

    (void)state;
    text_adds(&t, "start\n");
    text_fill(&t, 'a', RARR_LINE_MAX); /* kept */
    text_adds(&t, "\nmid\n");
    text_fill(&t, 'b', RARR_LINE_MAX + 1); /* too long */
    text_adds(&t, "\r\nafter b\n");
    text_fill(&t, 'c', 2 * RARR_LINE_MAX); /* too long */
    text_adds(&t, "\nafter c\n");
    text_fill(&t, 'd', RARR_LINE_MAX); /* kept, CRLF */
    text_adds(&t, "\r\nend");

    read_via_file(t.p, t.len, &file);
    assert_int_equal(file.n, 10);
    assert_got(&file, 0, INPUT_LINE, 1, "start", 5);
    assert_got(&file, 1, INPUT_LINE, 2, t.p + 6, RARR_LINE_MAX);
    assert_got(&file, 2, INPUT_LINE, 3, "mid", 3);
    assert_int_equal(file.v[3].st, INPUT_TOO_LONG);
    assert_int_equal(file.v[3].p[0], 'b');
    assert_got(&file, 4, INPUT_LINE, 5, "after b", 7);
    assert_int_equal(file.v[5].st, INPUT_TOO_LONG);
    assert_int_equal(file.v[5].p[0], 'c');
    assert_got(&file, 6, INPUT_LINE, 7, "after c", 7);
    assert_int_equal(file.v[7].st, INPUT_LINE);
    assert_int_equal(file.v[7].len, RARR_LINE_MAX);
    assert_int_equal(file.v[7].p[RARR_LINE_MAX - 1], 'd');
    assert_got(&file, 8, INPUT_LINE, 9, "end", 3);
    assert_got(&file, 9, INPUT_EOF, 9, NULL, 0);

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        read_via_pipe(t.p, t.len, chunks[i], &pipe_l);
        assert_lines_equal(&file, &pipe_l);
        lines_free(&pipe_l);
    }
    lines_free(&file);
    text_free(&t);
}

/* ---- format detection --------------------------------------------------- */

#define COMBINED_LINE                                                                              \
    "203.0.113.7 - - [10/Oct/2000:13:55:36 -0700] \"GET /a.gif HTTP/1.0\" 200 2326 "               \
    "\"http://example.com/\" \"Mozilla/4.08\""
#define COMMON_LINE                                                                                \
    "203.0.113.7 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a.gif HTTP/1.0\" 200 2326"

static enum record_format
detect(const char *s)
{
    struct record r;
    enum record_format fmt;

    assert_int_equal(record_init(&r, NULL, 0), 0);
    fmt = input_detect(&r, s, strlen(s));
    assert_int_equal(r.is_json, 0);
    record_fini(&r);
    return fmt;
}

static void
test_detect_json_line(void **state)
{
    (void)state;
    assert_int_equal(detect("{\"@timestamp\":\"2026-05-04T02:14:00Z\",\"msg\":\"hi\"}"),
                     RECORD_JSON);
    assert_int_equal(detect("  \t{\"a\":1}"), RECORD_JSON);
}

static void
test_detect_combined_line(void **state)
{
    (void)state;
    assert_int_equal(detect(COMBINED_LINE), RECORD_COMBINED);
    assert_int_equal(detect(COMBINED_LINE " 0.123 0.120"), RECORD_COMBINED);
}

static void
test_detect_common_line(void **state)
{
    (void)state;
    assert_int_equal(detect(COMMON_LINE), RECORD_COMMON);
}

/* A first line that is CLF but broken keeps the stream CLF (it is then a bad line). */
static void
test_detect_broken_clf_by_shape(void **state)
{
    (void)state;
    assert_int_equal(detect("1.2.3.4 - - [31/Feb/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 "
                            "\"-\" \"-\""),
                     RECORD_COMBINED);
    assert_int_equal(detect("1.2.3.4 - - [] \"GET / HTTP/1.1\" 200 5"), RECORD_COMMON);
    assert_int_equal(detect("1.2.3.4 - - [04/May/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 2000 5 "
                            "\"-\" \"-\""),
                     RECORD_COMBINED);
    assert_int_equal(detect("1.2.3.4 - - [04/May/2026:10:00:00 +0000] GET / 200 5"), RECORD_RAW);
    assert_int_equal(detect("a b [x] \"y\""), RECORD_RAW);
    assert_int_equal(detect("[04/May/2026:10:00:00 +0000] \"GET /\""), RECORD_RAW);
}

static void
test_detect_raw_text(void **state)
{
    (void)state;
    assert_int_equal(detect("May  4 02:14:00 host sshd[42]: Accepted publickey"), RECORD_RAW);
    assert_int_equal(detect(""), RECORD_RAW);
    assert_int_equal(detect("[1,2,3]"), RECORD_RAW);
    /* A vhost prefix is not CLF (SPEC section 2). */
    assert_int_equal(detect("www.example.com " COMBINED_LINE), RECORD_RAW);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_file_lines),
        cmocka_unit_test(test_input_pipe_lines),
        cmocka_unit_test(test_input_empty_input_is_eof),
        cmocka_unit_test(test_input_crlf_is_stripped),
        cmocka_unit_test(test_input_only_one_cr_is_stripped),
        cmocka_unit_test(test_input_last_line_without_newline),
        cmocka_unit_test(test_input_last_line_without_newline_drops_cr),
        cmocka_unit_test(test_input_empty_lines),
        cmocka_unit_test(test_input_nul_bytes_kept),
        cmocka_unit_test(test_input_eof_is_sticky),
        cmocka_unit_test(test_input_open_missing_file_fails),
        cmocka_unit_test(test_input_line_of_exactly_line_max_accepted),
        cmocka_unit_test(test_input_line_of_line_max_with_crlf_accepted),
        cmocka_unit_test(test_input_line_max_with_crlf_split_before_newline_accepted),
        cmocka_unit_test(test_input_line_max_plus_one_split_before_newline_too_long_once),
        cmocka_unit_test(test_input_last_line_of_line_max_without_newline_accepted),
        cmocka_unit_test(test_input_line_max_plus_one_too_long_once),
        cmocka_unit_test(test_input_line_max_plus_one_with_crlf_too_long),
        cmocka_unit_test(test_input_two_mib_line_too_long_once),
        cmocka_unit_test(test_input_two_mib_line_through_pipe_too_long_once),
        cmocka_unit_test(test_input_too_long_last_line_without_newline),
        cmocka_unit_test(test_input_consecutive_too_long_lines),
        cmocka_unit_test(test_input_chunking_does_not_change_small_lines),
        cmocka_unit_test(test_input_chunking_does_not_change_long_lines),
        cmocka_unit_test(test_detect_json_line),
        cmocka_unit_test(test_detect_combined_line),
        cmocka_unit_test(test_detect_common_line),
        cmocka_unit_test(test_detect_broken_clf_by_shape),
        cmocka_unit_test(test_detect_raw_text),
    };

    /* A failing test must not kill the run through a child's closed pipe. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
