/*
 * input.c -- the line reader, the first stage: bytes from a file or a pipe
 * become lines.
 *
 * Reads large blocks into one buffer and hands out lines in place (no copy,
 * no allocation per line). A line is valid until the next input_next(). The
 * trailing '\r' of a "\r\n" line is dropped; a last line without '\n' is
 * still a line. A line longer than RARR_LINE_MAX is reported once as
 * INPUT_TOO_LONG and its bytes are dropped as they arrive, so memory stays
 * at the buffer's size whatever the input. How the bytes arrive (one read or
 * many small ones from a pipe) never changes the lines produced.
 *
 * An input that starts with gzip's magic bytes (1f 8b) is decompressed on
 * the way in, whatever its name: a FILE or a pipe (`cat a.gz b.gz | rarr`).
 * The first read decides; plain input then goes on exactly as before, the
 * bytes read straight into the line buffer. Compressed bytes go through a
 * buffer of their own and are inflated into the line buffer, so the lines
 * come out the same way; members follow one another (`cat a.gz b.gz`).
 * Corrupt or truncated gzip data ends the input with INPUT_ERROR after the
 * lines decoded before it.
 *
 * Then the format guess of --format=auto: input_detect() says what one line
 * looks like, and the vote of the first lines (input_vote_*) decides.
 */
#include "rarr/input.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "rarr/clock.h"
#include "rarr/input_clf.h"

#define READ_SIZE (256 * 1024)
/* Compressed bytes read at a time. */
#define GZ_READ_SIZE (64 * 1024)

struct input_gz {
    z_stream z;
    unsigned char *in; /* compressed bytes read; z.next_in points into them */
    size_t cap;
    int raw_eof;    /* the file or pipe has no more bytes */
    int member_end; /* a member ended: the input ends here, or another member follows */
    int more_out;   /* inflate filled all the room given: it may have more to give */
    int padded;     /* zero bytes followed the last member (padding to a block) */
    char msg[128];  /* what went wrong, for input_error() */
};

/*
 * Open 'path' ("-" is standard input) for reading. Returns 0, or -1 with
 * errno set (the file cannot be opened, or out of memory).
 */
int
input_open(struct input *in, const char *path)
{
    memset(in, 0, sizeof(*in));
    if (strcmp(path, "-") == 0) {
        in->fd = STDIN_FILENO;
        in->name = "input";
    } else {
        if ((in->fd = open(path, O_RDONLY)) == -1)
            return -1;
        in->name = path;
    }
    {
        struct stat st;

        in->regular = fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode);
    }
    /* Room for a whole capped line, its newline and one more read. */
    in->cap = RARR_LINE_MAX + 2 + READ_SIZE;
    if ((in->buf = malloc(in->cap)) == NULL) {
        input_close(in);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* Close the file (never standard input) and free the buffers. */
void
input_close(struct input *in)
{
    if (in->fd > STDIN_FILENO)
        close(in->fd);
    in->fd = -1;
    free(in->buf);
    in->buf = NULL;
    if (in->gz != NULL) {
        inflateEnd(&in->gz->z);
        free(in->gz->in);
        free(in->gz);
        in->gz = NULL;
    }
}

/*
 * Read at most 'cap' bytes of the file or pipe into 'dst', first waiting as
 * in->wait_ms() says for a pipe. Returns the count (0 at the end), -1 with
 * errno set (also in in->err), or -2 when no byte came within the wait (or
 * a signal interrupted it).
 */
static ssize_t
get(struct input *in, void *dst, size_t cap)
{
    ssize_t n;

    if (in->wait_ms != NULL && !in->regular) {
        struct pollfd pfd = {.fd = in->fd, .events = POLLIN};
        int ms = in->wait_ms(in->wait_arg), rc;

        /* ms < 0: nothing to wait for, block in read() (a signal still ends it). */
        if (ms >= 0) {
            rc = poll(&pfd, 1, ms);
            if (rc == 0 || (rc == -1 && errno == EINTR))
                return -2;
            if (rc == -1) {
                in->err = errno;
                return -1;
            }
        }
    }
    n = read(in->fd, dst, cap);
    if (n == -1 && errno == EINTR)
        return -2;
    if (n == -1) {
        in->err = errno;
        return -1;
    }
    if (n > 0 && !in->regular)
        in->read_ms = clock_wall_ms();
    in->bytes += (uint64_t)n;
    return n;
}

/*
 * The input ends with an error in the gzip data: what was decoded before it
 * is handed out, then INPUT_ERROR. Returns 0 (for fill()).
 */
static int
gz_fail(struct input *in, int err, const char *what, const char *detail)
{
    if (detail != NULL)
        snprintf(in->gz->msg, sizeof(in->gz->msg), "%s: %s", what, detail);
    else
        snprintf(in->gz->msg, sizeof(in->gz->msg), "%s", what);
    in->err = err;
    in->failed = 1;
    in->eof = 1;
    return 0;
}

/*
 * Inflate compressed bytes into the line buffer after 'end', reading more
 * of them when inflate has used up those it had. Returns as fill() does,
 * once some bytes came out or the input ended (in->eof set; in->failed
 * too if the gzip data was corrupt or cut short).
 */
static int
gz_fill(struct input *in)
{
    struct input_gz *g = in->gz;
    z_stream *z = &g->z;
    size_t room;
    ssize_t n;
    int zr;

    for (;;) {
        if (z->avail_in == 0 && !g->more_out) {
            if (g->raw_eof) {
                if (!g->member_end)
                    return gz_fail(in, EBADMSG, "truncated gzip data", NULL);
                in->eof = 1;
                return 0;
            }
            if ((n = get(in, g->in, g->cap)) < 0)
                return n == -2 ? 1 : -1;
            if (n == 0)
                g->raw_eof = 1;
            z->next_in = g->in;
            z->avail_in = (uInt)n;
            continue;
        }
        if (g->member_end) {
            /* Zero bytes after a member pad it to a block (tape, dd): gzip itself skips them. */
            while (z->avail_in > 0 && z->next_in[0] == 0) {
                z->next_in++;
                z->avail_in--;
                g->padded = 1;
            }
            if (z->avail_in == 0)
                continue;
            /* Bytes after a member: the next member (cat a.gz b.gz), or not gzip at all. */
            if (g->padded || z->next_in[0] != 0x1f)
                return gz_fail(in, EBADMSG, "trailing garbage after gzip data", NULL);
            if (inflateReset(z) != Z_OK)
                return gz_fail(in, EBADMSG, "corrupt gzip data", z->msg);
            g->member_end = 0;
        }
        room = in->cap - in->end;
        if (room > UINT_MAX)
            room = UINT_MAX;
        z->next_out = (unsigned char *)in->buf + in->end;
        z->avail_out = (uInt)room;
        zr = inflate(z, Z_NO_FLUSH);
        room -= z->avail_out;
        in->end += room;
        g->more_out = z->avail_out == 0;
        if (zr == Z_STREAM_END) {
            g->member_end = 1;
            g->more_out = 0;
        } else if (zr == Z_BUF_ERROR) {
            g->more_out = 0; /* no progress without more input */
        } else if (zr == Z_MEM_ERROR) {
            return gz_fail(in, ENOMEM, "corrupt gzip data", "out of memory");
        } else if (zr != Z_OK) {
            return gz_fail(in, EBADMSG, "corrupt gzip data",
                           z->msg != NULL ? z->msg : "inflate failed");
        }
        if (room > 0)
            return 0;
    }
}

/*
 * The first bytes of the input decide whether it is gzip: its magic 1f 8b.
 * One byte of it waits for the next read. A gzip input's bytes so far move
 * to the compressed buffer and are inflated. Returns as fill() does.
 */
static int
sniff(struct input *in)
{
    const unsigned char *b = (const unsigned char *)in->buf + in->start;
    size_t len = in->end - in->start;
    struct input_gz *g;

    if (len == 1 && b[0] == 0x1f && !in->eof)
        return 0;
    in->sniffed = 1;
    if (len < 2 || b[0] != 0x1f || b[1] != 0x8b)
        return 0;
    if ((g = calloc(1, sizeof(*g))) == NULL)
        goto oom;
    g->cap = len > GZ_READ_SIZE ? len : GZ_READ_SIZE;
    /* 16 + MAX_WBITS: a gzip header and trailer, CRC checked. */
    if ((g->in = malloc(g->cap)) == NULL || inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
        free(g->in);
        free(g);
        goto oom;
    }
    memcpy(g->in, b, len);
    g->z.next_in = g->in;
    g->z.avail_in = (uInt)len;
    in->gz = g;
    in->start = in->end = 0;
    return gz_fill(in);
oom:
    in->err = errno = ENOMEM;
    return -1;
}

/*
 * Read more bytes after 'end', moving the unread tail to the front first.
 * Returns 0, -1 with errno set, or 1 when no byte came within in->wait_ms()
 * (or a signal interrupted the wait): the caller gets INPUT_AGAIN and may
 * come back.
 */
static int
fill(struct input *in)
{
    ssize_t n;

    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }
    if (in->gz != NULL)
        return gz_fill(in);
    if ((n = get(in, in->buf + in->end, in->cap - in->end)) < 0)
        return n == -2 ? 1 : -1;
    if (n == 0)
        in->eof = 1;
    in->end += (size_t)n;
    return in->sniffed ? 0 : sniff(in);
}

/*
 * The end of an input whose gzip data was bad: INPUT_ERROR, errno set. Out
 * of line and cold: inlined, it made the per-line loop it sits in spill
 * registers (callgrind, 100k lines: +1.7 M instructions).
 */
__attribute__((cold, noinline)) static enum input_status
failed(struct input *in)
{
    errno = in->err;
    return INPUT_ERROR;
}

/*
 * Hand out the next line in '*line' (borrowed until the next call).
 * Returns INPUT_LINE, INPUT_TOO_LONG (the line's number is counted, its
 * bytes are dropped; '*line' holds its first bytes for the report),
 * INPUT_EOF, INPUT_ERROR with errno set (input_error() says what went
 * wrong), or INPUT_AGAIN (call again; nothing is lost) when nothing came
 * within in->wait_ms(), a signal arrived, or a read brought no end of line:
 * so the caller sees its signal flags even inside a line that never ends
 * (`rarr /dev/zero`). Corrupt or truncated gzip data gives the lines decoded
 * before it (the last one possibly cut), then INPUT_ERROR at every call.
 */
enum input_status
input_next(struct input *in, struct slice *line)
{
    char *nl;
    size_t len;
    int rc, filled = 0;

    for (;;) {
        len = in->end - in->start;
        nl = memchr(in->buf + in->start, '\n', len);
        if (in->skipping) {
            /* Drop the rest of an overlong line up to its newline. */
            if (nl != NULL) {
                in->start = (size_t)(nl - in->buf) + 1;
                in->skipping = 0;
                continue;
            }
            in->start = in->end = 0;
            if (in->eof)
                return in->failed ? failed(in) : INPUT_EOF;
            if (filled++ > 0)
                return INPUT_AGAIN;
            if ((rc = fill(in)) != 0)
                return rc == 1 ? INPUT_AGAIN : INPUT_ERROR;
            continue;
        }
        if (nl != NULL) {
            len = (size_t)(nl - (in->buf + in->start));
            line->p = in->buf + in->start;
            in->start += len + 1;
            in->lineno++;
            if (len > 0 && line->p[len - 1] == '\r')
                len--;
            if (len > RARR_LINE_MAX) {
                line->len = 80;
                return INPUT_TOO_LONG;
            }
            line->len = len;
            return INPUT_LINE;
        }
        if (len > RARR_LINE_MAX + 1) {
            /* Over the cap with no newline yet ('\r' may still follow). */
            line->p = in->buf + in->start;
            line->len = 80;
            in->lineno++;
            in->skipping = 1;
            /* Keep the excerpt readable until the next call drops it. */
            in->end = in->start + 80;
            return INPUT_TOO_LONG;
        }
        if (in->eof) {
            if (len == 0)
                return in->failed ? failed(in) : INPUT_EOF;
            line->p = in->buf + in->start;
            in->start = in->end;
            in->lineno++;
            if (line->p[len - 1] == '\r')
                len--;
            line->len = len > RARR_LINE_MAX ? 80 : len;
            return len > RARR_LINE_MAX ? INPUT_TOO_LONG : INPUT_LINE;
        }
        if (filled++ > 0)
            return INPUT_AGAIN;
        if ((rc = fill(in)) != 0)
            return rc == 1 ? INPUT_AGAIN : INPUT_ERROR;
    }
}

/*
 * What went wrong at the last INPUT_ERROR, for "rarr: NAME: MESSAGE": the
 * system's message for a failed read ("Is a directory"), or for gzip data
 * "truncated gzip data", "trailing garbage after gzip data" or "corrupt
 * gzip data: <zlib's message>". The text is borrowed until input_close().
 */
const char *
input_error(const struct input *in)
{
    if (in->failed && in->gz != NULL && in->gz->msg[0] != '\0')
        return in->gz->msg;
    return strerror(in->err);
}

/* Whether a line holds only spaces, tabs and carriage returns (or nothing): skipped unreported. */
int
input_is_blank(const char *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

/*
 * Whether a line is the header tail(1) writes before a file's lines when it
 * follows several (`tail -F a.log b.log`): exactly "==> NAME <==", NAME not
 * empty.
 */
int
input_is_tail_header(const char *p, size_t len)
{
    return len >= 9 && memcmp(p, "==> ", 4) == 0 && memcmp(p + len - 4, " <==", 4) == 0;
}

/*
 * A line shaped like CLF whose fields do not parse (an impossible date, a
 * cut request): "HOST IDENT USER [..." with a quote after the "]", or
 * vcombined's "VHOST HOST IDENT USER [...". A corrupt line must not turn a
 * whole web log into raw lines: it is detected by its shape, then reported
 * as unparsable like any other bad line. The '[' of the time is the first
 * one after a space (a vhost may be "[::1]:80").
 */
static enum record_format
clf_shape(const char *p, size_t len)
{
    const char *end = p + len, *q = p, *close;
    int spaces = 0, quotes = 0;

    while (q < end && spaces <= 4 && !(*q == '[' && q > p && q[-1] == ' '))
        if (*q++ == ' ')
            spaces++;
    if (q == end || *q != '[' || spaces < 3 || spaces > 4 ||
        (close = memchr(q, ']', (size_t)(end - q))) == NULL || close + 2 >= end ||
        close[1] != ' ' || close[2] != '"')
        return RECORD_RAW;
    if (spaces == 4)
        return RECORD_VCOMBINED;
    for (q = close; q < end; q++)
        quotes += *q == '"';
    return quotes >= 6 ? RECORD_COMBINED : RECORD_COMMON;
}

static int
parses_as(struct record *r, enum record_format fmt, const char *p, size_t len)
{
    return record_begin(r, fmt, p, len) == 0 && input_clf_parse(r, fmt) == 0;
}

/*
 * The format one line looks like (--format=auto): '{' is
 * JSON; a line that parses as combined is combined, else as vcombined (a
 * virtual host before the combined or common fields), else as common; a
 * line of one of their shapes that does not parse (see clf_shape) is that
 * format too; anything else is raw. A combined line also parses as common
 * (the rest as 'extra'): the richer format is the answer. 'r' is scratch
 * space for the trial parses. This is also the guess to name when lines fail
 * in the format in use ("they look like common").
 */
enum record_format
input_detect(struct record *r, const char *p, size_t len)
{
    size_t i = 0;
    enum record_format fmt = RECORD_RAW;

    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i < len && p[i] == '{')
        return RECORD_JSON;
    if (parses_as(r, RECORD_COMBINED, p, len))
        fmt = RECORD_COMBINED;
    else if (parses_as(r, RECORD_VCOMBINED, p, len))
        fmt = RECORD_VCOMBINED;
    else if (parses_as(r, RECORD_COMMON, p, len))
        fmt = RECORD_COMMON;
    else
        fmt = clf_shape(p + i, len - i);
    record_end(r);
    return fmt;
}

/* Start an empty vote. */
void
input_vote_init(struct input_vote *v)
{
    memset(v, 0, sizeof(*v));
}

/*
 * Count one line in the vote: its input_detect() verdict. Blank lines (only
 * spaces, tabs and '\r') and tail's "==> NAME <==" headers say nothing of
 * the format and are not counted. 'scratch' is a record for the trial
 * parses (its contents are unspecified afterwards). The caller decides
 * when enough lines were counted: INPUT_VOTE_LINES, or the end of input.
 */
void
input_vote_add(struct input_vote *v, struct record *scratch, const char *p, size_t len)
{
    if (input_is_blank(p, len) || input_is_tail_header(p, len))
        return;
    v->votes[input_detect(scratch, p, len)]++;
    v->n++;
}

/*
 * The format of a stream from the vote of its first lines. The rule, in
 * order:
 *   1. raw only when most lines (more than half) are neither JSON nor CLF;
 *   2. else JSON when more lines are JSON than CLF (any of the three);
 *   3. else vcombined when more lines are vcombined than combined or common
 *      (the two are told apart by the tokens before the time);
 *   4. else combined when more than half of the combined-or-common lines
 *      are combined, else common. Every combined line also parses as common,
 *      so common is what most lines parse as; the richer format still wins
 *      when it holds most of them, and a stray common line among combined
 *      ones is then one bad line, not referers and user agents lost.
 * A line of a CLF shape that does not parse (an impossible date) counts for
 * its format. So one cut or odd line (the first one of `tail -c`, a file
 * read from the middle) never decides. Ties go to the later choice above.
 * Returns RECORD_AUTO when no line was counted (nothing to decide on).
 */
enum record_format
input_vote_decide(const struct input_vote *v)
{
    unsigned common = v->votes[RECORD_COMBINED] + v->votes[RECORD_COMMON];
    unsigned clf = common + v->votes[RECORD_VCOMBINED];

    if (v->n == 0)
        return RECORD_AUTO;
    if (v->votes[RECORD_RAW] * 2 > v->n)
        return RECORD_RAW;
    if (v->votes[RECORD_JSON] > clf)
        return RECORD_JSON;
    if (v->votes[RECORD_VCOMBINED] > common)
        return RECORD_VCOMBINED;
    return v->votes[RECORD_COMBINED] * 2 > common ? RECORD_COMBINED : RECORD_COMMON;
}
