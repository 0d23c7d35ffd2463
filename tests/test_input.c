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
 *
 * gzip input (compressed here with zlib) must give the lines of the plain
 * bytes, through a file or a pipe, one member or several, and end in
 * INPUT_ERROR with a message when its data is cut or corrupt. Then the
 * format vote of the first lines (input_vote_*) and the tail header.
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

#include <zlib.h>

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
    char err[160];   /* input_error() after an INPUT_ERROR */
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
        if (st == INPUT_AGAIN) /* a read without an end of line: no line yet */
            continue;
        lines_push(out, st, in->lineno, line.p, st == INPUT_EOF ? 0 : line.len);
        limit--;
    } while (st != INPUT_EOF && st != INPUT_ERROR && limit > 0);
    if (st == INPUT_ERROR)
        snprintf(out->err, sizeof(out->err), "%s", input_error(in));
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
            if (n == -1 && errno == EPIPE)
                _exit(0); /* the reader stopped early (an error in the data): not the writer's */
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

/* ---- gzip input --------------------------------------------------------- */

/* 'len' bytes of 'data' as one gzip member (compression level 'level'), appended to 'out'. */
static void
gzip_add(struct text *out, const void *data, size_t len, int level)
{
    z_stream z;
    unsigned char chunk[16384];
    int rc;

    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    z.next_in = (unsigned char *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        rc = deflate(&z, Z_FINISH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        text_add(out, chunk, sizeof(chunk) - z.avail_out);
    } while (rc != Z_STREAM_END);
    deflateEnd(&z);
}

/* The same results as 'want' (the plain reading), whatever the bytes read. */
static void
assert_same_lines(const struct lines *want, const struct lines *got)
{
    size_t i;

    assert_int_equal(want->n, got->n);
    for (i = 0; i < want->n; i++)
        assert_got(got, i, want->v[i].st, want->v[i].lineno, want->v[i].p, want->v[i].len);
    assert_int_equal(want->lineno, got->lineno);
}

static void
test_input_gzip_file_gives_plain_lines(void **state)
{
    struct text t = {0}, z = {0};
    struct lines plain = {0}, gz = {0};

    (void)state;
    small_mixed_input(&t);
    gzip_add(&z, t.p, t.len, 6);
    read_via_file(t.p, t.len, &plain);
    read_via_file(z.p, z.len, &gz);
    assert_same_lines(&plain, &gz);
    /* Progress counts the compressed bytes, as the file's size does. */
    assert_int_equal(gz.bytes, z.len);
    lines_free(&plain);
    lines_free(&gz);
    text_free(&t);
    text_free(&z);
}

/* A pipe, read a byte at a time and in other chunks: the same lines as the plain file. */
static void
test_input_gzip_pipe_chunking_gives_plain_lines(void **state)
{
    static const size_t chunks[] = {1, 2, 7, 4093, 65536};
    struct text t = {0}, z = {0};
    struct lines plain = {0}, gz = {0};
    size_t i;

    (void)state;
    small_mixed_input(&t);
    gzip_add(&z, t.p, t.len, 9);
    read_via_file(t.p, t.len, &plain);
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        read_via_pipe(z.p, z.len, chunks[i], &gz);
        assert_same_lines(&plain, &gz);
        assert_int_equal(gz.bytes, z.len);
        lines_free(&gz);
    }
    lines_free(&plain);
    text_free(&t);
    text_free(&z);
}

/*
 * Members one after another (cat a.gz b.gz c.gz) read as their bytes joined:
 * a line split across two members is one line, an empty member is nothing.
 */
static void
test_input_gzip_members_are_read_through(void **state)
{
    static const char a[] = "first\nsecond line sp", b[] = "lit across members\nthird\n",
                      c[] = "last, no newline";
    static const char *const want[] = {"first", "second line split across members", "third",
                                       "last, no newline"};
    struct text z = {0};
    struct lines l = {0};

    (void)state;
    gzip_add(&z, a, strlen(a), 6);
    gzip_add(&z, "", 0, 6);
    gzip_add(&z, b, strlen(b), 1);
    gzip_add(&z, c, strlen(c), 0); /* stored, not deflated */
    read_via_file(z.p, z.len, &l);
    assert_plain_lines(&l, want, 4);
    lines_free(&l);
    read_via_pipe(z.p, z.len, 1, &l);
    assert_plain_lines(&l, want, 4);
    lines_free(&l);
    text_free(&z);
}

/* A line split across reads of the compressed bytes (a pipe that stalls mid-member). */
static void
test_input_gzip_line_split_across_reads(void **state)
{
    struct text t = {0}, z = {0};
    struct lines plain = {0}, gz = {0};
    size_t pauses[3];

    (void)state;
    small_mixed_input(&t);
    gzip_add(&z, t.p, t.len, 6);
    pauses[0] = 1; /* between the two magic bytes */
    pauses[1] = z.len / 3;
    pauses[2] = z.len - 5; /* in the trailer */
    read_via_file(t.p, t.len, &plain);
    read_via_pipe_paused(z.p, z.len, 65536, pauses, 3, &gz);
    assert_same_lines(&plain, &gz);
    lines_free(&plain);
    lines_free(&gz);
    text_free(&t);
    text_free(&z);
}

/* The cap holds for decompressed lines: one over 1 MiB is reported once, the next is intact. */
static void
test_input_gzip_long_lines(void **state)
{
    struct text t = {0}, z = {0};
    struct lines plain = {0}, gz = {0};

    (void)state;
    text_adds(&t, "start\n");
    text_fill(&t, 'a', RARR_LINE_MAX);
    text_adds(&t, "\nmid\n");
    text_fill(&t, 'b', 3 * RARR_LINE_MAX);
    text_adds(&t, "\r\nafter b\nend");
    gzip_add(&z, t.p, t.len, 6);
    read_via_file(t.p, t.len, &plain);
    assert_int_equal(plain.n, 7);
    assert_int_equal(plain.v[3].st, INPUT_TOO_LONG);
    read_via_file(z.p, z.len, &gz);
    assert_same_lines(&plain, &gz);
    lines_free(&gz);
    read_via_pipe(z.p, z.len, 4093, &gz);
    assert_same_lines(&plain, &gz);
    lines_free(&gz);
    lines_free(&plain);
    text_free(&t);
    text_free(&z);
}

/*
 * Cut gzip data (a file still being written, a partial copy): the lines
 * decoded from it come out, the last one possibly cut, then INPUT_ERROR,
 * "truncated gzip data", at every call after.
 */
static void
test_input_gzip_truncated_is_an_error_after_the_lines(void **state)
{
    struct text t = {0}, z = {0};
    struct lines plain = {0}, gz = {0};
    size_t cut, i;

    (void)state;
    small_mixed_input(&t);
    gzip_add(&z, t.p, t.len, 6);
    read_via_file(t.p, t.len, &plain);
    for (cut = 2; cut < z.len; cut += cut < 40 ? 1 : 97) {
        read_via_file(z.p, cut, &gz);
        assert_true(gz.n >= 1);
        assert_int_equal(gz.v[gz.n - 1].st, INPUT_ERROR);
        assert_string_equal(gz.err, "truncated gzip data");
        /* Every line before the last one decoded is whole; the last one is a prefix. */
        assert_true(gz.n - 1 <= plain.n - 1);
        for (i = 0; i + 1 < gz.n; i++) {
            const struct got *g = &gz.v[i], *w = &plain.v[i];

            assert_int_equal(g->lineno, w->lineno);
            if (i + 2 < gz.n)
                assert_got(&plain, i, g->st, g->lineno, g->p, g->len);
            else
                assert_true(g->len <= w->len && memcmp(g->p, w->p, g->len) == 0);
        }
        lines_free(&gz);
    }
    /* Cut in the trailer: every line, then the error. */
    read_via_pipe(z.p, z.len - 1, 1, &gz);
    assert_int_equal(gz.n, plain.n);
    assert_int_equal(gz.v[gz.n - 1].st, INPUT_ERROR);
    assert_string_equal(gz.err, "truncated gzip data");
    for (i = 0; i + 1 < gz.n; i++)
        assert_got(&plain, i, gz.v[i].st, gz.v[i].lineno, gz.v[i].p, gz.v[i].len);
    lines_free(&gz);
    lines_free(&plain);
    text_free(&t);
    text_free(&z);
}

static void
test_input_gzip_error_is_sticky(void **state)
{
    static const char data[] = "one\ntwo\n";
    struct text z = {0};
    struct slice line;
    struct input in;
    char *path;

    (void)state;
    gzip_add(&z, data, sizeof(data) - 1, 6);
    path = write_temp(z.p, z.len - 3);
    assert_int_equal(input_open(&in, path), 0);
    assert_int_equal(input_next(&in, &line), INPUT_LINE);
    assert_int_equal(input_next(&in, &line), INPUT_LINE);
    errno = 0;
    assert_int_equal(input_next(&in, &line), INPUT_ERROR);
    assert_int_equal(errno, EBADMSG);
    assert_int_equal(input_next(&in, &line), INPUT_ERROR);
    assert_string_equal(input_error(&in), "truncated gzip data");
    input_close(&in);
    unlink(path);
    free(path);
    text_free(&z);
}

/* A changed byte: the deflate data is wrong, or the CRC of the trailer does not match. */
static void
test_input_gzip_corrupt_is_an_error(void **state)
{
    struct text t = {0}, z = {0};
    struct lines gz = {0};

    (void)state;
    small_mixed_input(&t);
    gzip_add(&z, t.p, t.len, 6);

    z.p[z.len - 6] ^= 0x55; /* the CRC-32 */
    read_via_file(z.p, z.len, &gz);
    assert_int_equal(gz.v[gz.n - 1].st, INPUT_ERROR);
    assert_string_equal(gz.err, "corrupt gzip data: incorrect data check");
    lines_free(&gz);
    z.p[z.len - 6] ^= 0x55;

    z.p[10] = (char)0xff; /* the first deflate block's header: an invalid block type */
    read_via_pipe(z.p, z.len, 7, &gz);
    assert_int_equal(gz.n, 1);
    assert_int_equal(gz.v[0].st, INPUT_ERROR);
    assert_int_equal(strncmp(gz.err, "corrupt gzip data: ", 19), 0);
    assert_true(strlen(gz.err) > 19);
    lines_free(&gz);
    text_free(&t);
    text_free(&z);
}

/* Zero bytes after the last member are padding, as gzip itself reads them; bytes after them are
 * not. */
static void
test_input_gzip_zero_padding_is_skipped(void **state)
{
    static const char zeros[512] = {0};
    struct text z = {0};
    struct lines l = {0};

    (void)state;
    gzip_add(&z, "one\ntwo\n", 8, 6);
    text_add(&z, zeros, sizeof(zeros));
    read_via_file(z.p, z.len, &l);
    assert_int_equal(l.n, 3);
    assert_got(&l, 1, INPUT_LINE, 2, "two", 3);
    assert_int_equal(l.v[2].st, INPUT_EOF);
    lines_free(&l);
    text_add(&z, "x", 1);
    read_via_file(z.p, z.len, &l);
    assert_int_equal(l.v[2].st, INPUT_ERROR);
    assert_string_equal(l.err, "trailing garbage after gzip data");
    lines_free(&l);
    text_free(&z);
}

/* Bytes after the last member that are no gzip member: its lines, then an error. */
static void
test_input_gzip_trailing_garbage_is_an_error(void **state)
{
    static const char *const want[] = {"one", "two"};
    struct text z = {0};
    struct lines l = {0};

    (void)state;
    gzip_add(&z, "one\ntwo\n", 8, 6);
    text_adds(&z, "plain text\n");
    read_via_file(z.p, z.len, &l);
    assert_int_equal(l.n, 3);
    assert_got(&l, 0, INPUT_LINE, 1, want[0], 3);
    assert_got(&l, 1, INPUT_LINE, 2, want[1], 3);
    assert_int_equal(l.v[2].st, INPUT_ERROR);
    assert_string_equal(l.err, "trailing garbage after gzip data");
    lines_free(&l);
    text_free(&z);

    /* A second member with a bad magic's second byte. */
    gzip_add(&z, "one\n", 4, 6);
    text_add(&z, "\x1f\x8c", 2);
    read_via_file(z.p, z.len, &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[1].st, INPUT_ERROR);
    assert_string_equal(l.err, "corrupt gzip data: incorrect header check");
    lines_free(&l);
    text_free(&z);
}

/* The magic is looked for at the start only, and both bytes of it are needed. */
static void
test_input_gzip_only_by_magic_at_start(void **state)
{
    static const char one[] = "\x1f", other[] = "\x1f\x8c rest\nnext\n", nl[] = "\x1f\n\x8b\n";
    struct text z = {0}, t = {0};
    struct lines l = {0};

    (void)state;
    read_via_file(one, 1, &l);
    assert_got(&l, 0, INPUT_LINE, 1, one, 1);
    assert_got(&l, 1, INPUT_EOF, 1, NULL, 0);
    lines_free(&l);
    read_via_pipe(one, 1, 1, &l);
    assert_got(&l, 0, INPUT_LINE, 1, one, 1);
    lines_free(&l);
    read_via_pipe(other, sizeof(other) - 1, 1, &l);
    assert_got(&l, 0, INPUT_LINE, 1, other, 7);
    assert_got(&l, 1, INPUT_LINE, 2, "next", 4);
    assert_got(&l, 2, INPUT_EOF, 2, NULL, 0);
    lines_free(&l);
    read_via_pipe(nl, sizeof(nl) - 1, 1, &l);
    assert_got(&l, 0, INPUT_LINE, 1, "\x1f", 1);
    assert_got(&l, 1, INPUT_LINE, 2, "\x8b", 1);
    lines_free(&l);

    /* gzip bytes after a plain line are plain bytes (no sniffing in the middle). */
    gzip_add(&z, "x\n", 2, 6);
    text_adds(&t, "plain\n");
    text_add(&t, z.p, z.len);
    read_via_file(t.p, t.len, &l);
    assert_got(&l, 0, INPUT_LINE, 1, "plain", 5);
    assert_int_equal(l.v[1].st, INPUT_LINE);
    assert_int_equal(l.v[1].p[0], 0x1f);
    lines_free(&l);
    text_free(&z);
    text_free(&t);
}

static int wait_calls;

static int
wait_20ms(void *arg)
{
    (void)arg;
    wait_calls++;
    return 20;
}

/*
 * Live waiting on a gzip pipe: the reader says INPUT_AGAIN while the writer
 * pauses mid-member, hands out the lines decoded so far first, and misses
 * nothing.
 */
static void
test_input_gzip_pipe_waits_live(void **state)
{
    struct text t = {0}, z = {0};
    struct lines plain = {0};
    struct slice line;
    struct input in;
    enum input_status st;
    int fds[2], saved, status, again = 0;
    size_t i = 0, half;
    pid_t pid;

    (void)state;
    small_mixed_input(&t);
    gzip_add(&z, t.p, t.len, 6);
    read_via_file(t.p, t.len, &plain);
    half = z.len / 2;
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct timespec pause = {0, 200 * 1000 * 1000};

        close(fds[0]);
        if (write(fds[1], z.p, half) != (ssize_t)half)
            _exit(1);
        nanosleep(&pause, NULL);
        if (write(fds[1], z.p + half, z.len - half) != (ssize_t)(z.len - half))
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    saved = dup(STDIN_FILENO);
    assert_true(dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
    close(fds[0]);
    assert_int_equal(input_open(&in, "-"), 0);
    in.wait_ms = wait_20ms;
    wait_calls = 0;
    while ((st = input_next(&in, &line)) != INPUT_EOF) {
        assert_int_not_equal(st, INPUT_ERROR);
        if (st == INPUT_AGAIN) {
            /* Every line decoded from the first half came out before the wait. */
            if (again++ == 0)
                assert_true(i > 0);
            continue;
        }
        assert_got(&plain, i, st, in.lineno, line.p, line.len);
        i++;
    }
    assert_int_equal(i, plain.n - 1);
    assert_true(again > 0);
    assert_true(wait_calls > again);
    assert_true(in.read_ms > 0);
    assert_int_equal(in.bytes, z.len);
    input_close(&in);
    assert_true(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
    close(saved);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lines_free(&plain);
    text_free(&t);
    text_free(&z);
}

/* A read error is told by input_error() as the system says it. */
static void
test_input_read_error_message(void **state)
{
    struct lines l = {0};
    struct input in;

    (void)state;
    assert_int_equal(input_open(&in, "/"), 0);
    collect(&in, &l);
    input_close(&in);
    assert_int_equal(l.v[0].st, INPUT_ERROR);
    assert_string_equal(l.err, strerror(EISDIR));
    lines_free(&l);
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
}

#define VHOST_LINE "www.example.com:443 " COMBINED_LINE
#define VHOST_COMMON_LINE "shop.example.org " COMMON_LINE
#define JSON_LINE "{\"@timestamp\":\"2026-05-04T02:14:00Z\",\"msg\":\"hi\"}"
#define RAW_LINE "May  4 02:14:00 host sshd[42]: Accepted publickey"

static void
test_detect_vcombined_line(void **state)
{
    (void)state;
    assert_int_equal(detect(VHOST_LINE), RECORD_VCOMBINED);
    assert_int_equal(detect("www.example.com " COMBINED_LINE), RECORD_VCOMBINED);
    assert_int_equal(detect(VHOST_COMMON_LINE), RECORD_VCOMBINED);
    assert_int_equal(detect("[::1]:80 " COMBINED_LINE), RECORD_VCOMBINED);
    /* Of the vcombined shape, an impossible date. */
    assert_int_equal(
        detect("h:80 1.2.3.4 - - [31/Feb/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5"),
        RECORD_VCOMBINED);
    assert_int_equal(detect("[::1]:80 1.2.3.4 - - [] \"GET / HTTP/1.1\" 200 5"), RECORD_VCOMBINED);
    /* Two leading fields are neither. */
    assert_int_equal(detect("a.example b.example " COMBINED_LINE), RECORD_RAW);
}

static void
test_input_tail_header_exactly(void **state)
{
    static const char *const yes[] = {"==> a.log <==", "==> x <==", "==> standard input <==",
                                      "==> /var/log/nginx/access.log <=="};
    static const char *const no[] = {"==>  <==x",  "==> <==",        "==>a.log <==", "==> a.log<==",
                                     " ==> a <==", "==> a <== ",     "==> a <=",     "",
                                     "==> a.log",  "==> a.log <==\r"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!input_is_tail_header(yes[i], strlen(yes[i])))
            fail_msg("not a header: '%s'", yes[i]);
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (input_is_tail_header(no[i], strlen(no[i])))
            fail_msg("taken for a header: '%s'", no[i]);
}

static void
test_input_blank_lines(void **state)
{
    (void)state;
    assert_true(input_is_blank("", 0));
    assert_true(input_is_blank("\r", 1));
    assert_true(input_is_blank(" \t\r ", 4));
    assert_false(input_is_blank(" x", 2));
    assert_false(input_is_blank("\0", 1));
}

/* The vote's verdict on 'n' lines (blank lines and headers among them are not counted). */
static enum record_format
vote(const char *const *lines, size_t n, unsigned *counted)
{
    struct input_vote v;
    struct record r;
    size_t i;
    enum record_format fmt;

    assert_int_equal(record_init(&r, NULL, 0), 0);
    input_vote_init(&v);
    for (i = 0; i < n; i++)
        input_vote_add(&v, &r, lines[i], strlen(lines[i]));
    fmt = input_vote_decide(&v);
    if (counted != NULL)
        *counted = v.n;
    record_fini(&r);
    return fmt;
}

/* The first INPUT_VOTE_LINES lines of a stream: 'k' of 'odd' first, the rest 'usual'. */
static enum record_format
vote_mix(const char *odd, size_t k, const char *usual)
{
    const char *lines[INPUT_VOTE_LINES];
    size_t i;

    for (i = 0; i < INPUT_VOTE_LINES; i++)
        lines[i] = i < k ? odd : usual;
    return vote(lines, INPUT_VOTE_LINES, NULL);
}

static void
test_vote_needs_lines(void **state)
{
    unsigned n = 99;

    (void)state;
    assert_int_equal(INPUT_VOTE_LINES >= 8, 1);
    assert_int_equal(vote(NULL, 0, &n), RECORD_AUTO);
    assert_int_equal(n, 0);
}

/* A first line cut in the middle (tail -c, a file read from an offset) does not decide. */
static void
test_vote_cut_first_line(void **state)
{
    static const char cut[] = "TTP/1.0\" 200 2326 \"http://example.com/\" \"Mozilla/4.08\"";

    (void)state;
    assert_int_equal(vote_mix(cut, 1, COMBINED_LINE), RECORD_COMBINED);
    assert_int_equal(vote_mix(cut, 1, COMMON_LINE), RECORD_COMMON);
    assert_int_equal(vote_mix(cut, 1, JSON_LINE), RECORD_JSON);
    assert_int_equal(vote_mix("\"msg\":\"hi\"}", 1, JSON_LINE), RECORD_JSON);
    /* Also in a short stream: two lines. */
    {
        const char *two[] = {cut, COMBINED_LINE};

        assert_int_equal(vote(two, 2, NULL), RECORD_COMBINED);
    }
}

/* A line of only '\r' (a CRLF file's empty line) and tail's headers are not counted. */
static void
test_vote_ignores_blank_lines_and_tail_headers(void **state)
{
    const char *lines[] = {"\r", "==> a.log <==", COMBINED_LINE, "",  " \t",
                           "",   "==> b.log <==", COMBINED_LINE, "\r"};
    unsigned n;

    (void)state;
    assert_int_equal(vote(lines, sizeof(lines) / sizeof(lines[0]), &n), RECORD_COMBINED);
    assert_int_equal(n, 2);
    /* Only blanks and headers: nothing to decide on. */
    assert_int_equal(vote(lines, 2, &n), RECORD_AUTO);
    assert_int_equal(n, 0);
}

/* 2 of 16 lines raw (a banner, a stack trace's lines) do not make the stream raw. */
static void
test_vote_mixed_stream_with_raw_lines(void **state)
{
    (void)state;
    assert_int_equal(vote_mix(RAW_LINE, 2, COMBINED_LINE), RECORD_COMBINED);
    assert_int_equal(vote_mix(RAW_LINE, 2, JSON_LINE), RECORD_JSON);
    assert_int_equal(vote_mix(RAW_LINE, 2, VHOST_LINE), RECORD_VCOMBINED);
    /* Raw needs more than half of the lines. */
    assert_int_equal(vote_mix(RAW_LINE, INPUT_VOTE_LINES / 2, COMBINED_LINE), RECORD_COMBINED);
    assert_int_equal(vote_mix(RAW_LINE, INPUT_VOTE_LINES / 2 + 1, COMBINED_LINE), RECORD_RAW);
}

static void
test_vote_all_raw(void **state)
{
    (void)state;
    assert_int_equal(vote_mix(RAW_LINE, INPUT_VOTE_LINES, COMBINED_LINE), RECORD_RAW);
    /* A line that looks like CLF among raw lines does not make them CLF. */
    assert_int_equal(vote_mix(COMBINED_LINE, 1, RAW_LINE), RECORD_RAW);
    assert_int_equal(vote_mix(JSON_LINE, 1, RAW_LINE), RECORD_RAW);
}

/*
 * A combined line also parses as common; the richer format wins while it
 * holds most of the CLF lines, common when most lines are only common.
 */
static void
test_vote_common_versus_combined(void **state)
{
    (void)state;
    assert_int_equal(vote_mix(COMMON_LINE, 0, COMBINED_LINE), RECORD_COMBINED);
    assert_int_equal(vote_mix(COMMON_LINE, INPUT_VOTE_LINES, COMBINED_LINE), RECORD_COMMON);
    assert_int_equal(vote_mix(COMMON_LINE, 1, COMBINED_LINE), RECORD_COMBINED);
    assert_int_equal(vote_mix(COMBINED_LINE, 1, COMMON_LINE), RECORD_COMMON);
    assert_int_equal(vote_mix(COMMON_LINE, 7, COMBINED_LINE), RECORD_COMBINED);
    assert_int_equal(vote_mix(COMMON_LINE, 8, COMBINED_LINE), RECORD_COMMON);
    /* nginx's extra fields after the user agent keep it combined. */
    assert_int_equal(vote_mix(COMMON_LINE, 2, COMBINED_LINE " 0.123 0.120"), RECORD_COMBINED);
}

static void
test_vote_vcombined(void **state)
{
    const char *lines[] = {VHOST_LINE,        VHOST_COMMON_LINE, VHOST_LINE,
                           VHOST_COMMON_LINE, VHOST_LINE,        COMBINED_LINE};

    (void)state;
    assert_int_equal(vote(lines, 6, NULL), RECORD_VCOMBINED);
    assert_int_equal(vote_mix(VHOST_LINE, 15, COMBINED_LINE), RECORD_VCOMBINED);
    assert_int_equal(vote_mix(COMBINED_LINE, 15, VHOST_LINE), RECORD_COMBINED);
    assert_int_equal(vote_mix(VHOST_LINE, 1, COMBINED_LINE), RECORD_COMBINED);
}

static void
test_vote_json(void **state)
{
    (void)state;
    assert_int_equal(vote_mix(JSON_LINE, INPUT_VOTE_LINES, RAW_LINE), RECORD_JSON);
    /* A '{' line that is not valid JSON still looks like JSON. */
    assert_int_equal(vote_mix("{\"cut\":", 3, JSON_LINE), RECORD_JSON);
    assert_int_equal(vote_mix(COMBINED_LINE, 3, JSON_LINE), RECORD_JSON);
    assert_int_equal(vote_mix(JSON_LINE, 3, COMBINED_LINE), RECORD_COMBINED);
}

/* Lines of the CLF shape whose date is impossible still vote for CLF (then are bad lines). */
static void
test_vote_impossible_dates_count_for_clf(void **state)
{
    static const char bad_date[] =
        "1.2.3.4 - - [31/Feb/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"";

    (void)state;
    assert_int_equal(vote_mix(bad_date, INPUT_VOTE_LINES, RAW_LINE), RECORD_COMBINED);
    assert_int_equal(vote_mix(bad_date, 8, COMBINED_LINE), RECORD_COMBINED);
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
        cmocka_unit_test(test_input_gzip_file_gives_plain_lines),
        cmocka_unit_test(test_input_gzip_pipe_chunking_gives_plain_lines),
        cmocka_unit_test(test_input_gzip_members_are_read_through),
        cmocka_unit_test(test_input_gzip_line_split_across_reads),
        cmocka_unit_test(test_input_gzip_long_lines),
        cmocka_unit_test(test_input_gzip_truncated_is_an_error_after_the_lines),
        cmocka_unit_test(test_input_gzip_error_is_sticky),
        cmocka_unit_test(test_input_gzip_corrupt_is_an_error),
        cmocka_unit_test(test_input_gzip_zero_padding_is_skipped),
        cmocka_unit_test(test_input_gzip_trailing_garbage_is_an_error),
        cmocka_unit_test(test_input_gzip_only_by_magic_at_start),
        cmocka_unit_test(test_input_gzip_pipe_waits_live),
        cmocka_unit_test(test_input_read_error_message),
        cmocka_unit_test(test_detect_json_line),
        cmocka_unit_test(test_detect_combined_line),
        cmocka_unit_test(test_detect_common_line),
        cmocka_unit_test(test_detect_broken_clf_by_shape),
        cmocka_unit_test(test_detect_raw_text),
        cmocka_unit_test(test_detect_vcombined_line),
        cmocka_unit_test(test_input_tail_header_exactly),
        cmocka_unit_test(test_input_blank_lines),
        cmocka_unit_test(test_vote_needs_lines),
        cmocka_unit_test(test_vote_cut_first_line),
        cmocka_unit_test(test_vote_ignores_blank_lines_and_tail_headers),
        cmocka_unit_test(test_vote_mixed_stream_with_raw_lines),
        cmocka_unit_test(test_vote_all_raw),
        cmocka_unit_test(test_vote_common_versus_combined),
        cmocka_unit_test(test_vote_vcombined),
        cmocka_unit_test(test_vote_json),
        cmocka_unit_test(test_vote_impossible_dates_count_for_clf),
    };

    /* A failing test must not kill the run through a child's closed pipe. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
