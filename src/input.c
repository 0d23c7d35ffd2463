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
 */
#include "rarr/input.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rarr/clock.h"
#include "rarr/input_clf.h"

#define READ_SIZE (256 * 1024)

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

/* Close the file (never standard input) and free the buffer. */
void
input_close(struct input *in)
{
    if (in->fd > STDIN_FILENO)
        close(in->fd);
    in->fd = -1;
    free(in->buf);
    in->buf = NULL;
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
    if (in->wait_ms != NULL && !in->regular) {
        struct pollfd pfd = {.fd = in->fd, .events = POLLIN};
        int ms = in->wait_ms(in->wait_arg), rc;

        /* ms < 0: nothing to wait for, block in read() (a signal still ends it). */
        if (ms >= 0) {
            rc = poll(&pfd, 1, ms);
            if (rc == 0 || (rc == -1 && errno == EINTR))
                return 1;
            if (rc == -1)
                return -1;
        }
    }
    n = read(in->fd, in->buf + in->end, in->cap - in->end);
    if (n == -1 && errno == EINTR)
        return 1;
    if (n == -1)
        return -1;
    if (n == 0)
        in->eof = 1;
    else if (!in->regular)
        in->read_ms = clock_wall_ms();
    in->end += (size_t)n;
    in->bytes += (uint64_t)n;
    return 0;
}

/*
 * Hand out the next line in '*line' (borrowed until the next call).
 * Returns INPUT_LINE, INPUT_TOO_LONG (the line's number is counted, its
 * bytes are dropped; '*line' holds its first bytes for the report),
 * INPUT_EOF, INPUT_ERROR with errno set, or INPUT_AGAIN when nothing came
 * within in->wait_ms() or a signal arrived (call again; nothing is lost).
 */
enum input_status
input_next(struct input *in, struct slice *line)
{
    char *nl;
    size_t len;
    int rc;

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
                return INPUT_EOF;
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
                return INPUT_EOF;
            line->p = in->buf + in->start;
            in->start = in->end;
            in->lineno++;
            if (line->p[len - 1] == '\r')
                len--;
            line->len = len > RARR_LINE_MAX ? 80 : len;
            return len > RARR_LINE_MAX ? INPUT_TOO_LONG : INPUT_LINE;
        }
        if ((rc = fill(in)) != 0)
            return rc == 1 ? INPUT_AGAIN : INPUT_ERROR;
    }
}

/*
 * Decide the format from one line (SPEC section 2, --format=auto): '{' is
 * JSON, a line that parses as combined (else common) is that, anything else
 * is raw. 'r' is scratch space for the trial parse.
 */
/*
 * A line shaped like CLF whose fields do not parse (an impossible date, a
 * cut line): "HOST IDENT USER [..." with a quote after the "]". A corrupt
 * first line must not turn a whole web log into raw lines: it is detected
 * by its shape, then reported as unparsable like any other bad line.
 */
static enum record_format
clf_shape(const char *p, size_t len)
{
    const char *end = p + len, *q = p, *close;
    int spaces = 0, quotes = 0;

    while (q < end && *q != '[' && spaces <= 3)
        if (*q++ == ' ')
            spaces++;
    if (q == end || *q != '[' || spaces != 3 || q[-1] != ' ' ||
        (close = memchr(q, ']', (size_t)(end - q))) == NULL || close + 2 >= end ||
        close[1] != ' ' || close[2] != '"')
        return RECORD_RAW;
    for (q = close; q < end; q++)
        quotes += *q == '"';
    return quotes >= 6 ? RECORD_COMBINED : RECORD_COMMON;
}

enum record_format
input_detect(struct record *r, const char *p, size_t len)
{
    size_t i = 0;
    enum record_format fmt = RECORD_RAW;

    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i < len && p[i] == '{')
        return RECORD_JSON;
    if (record_begin(r, RECORD_COMBINED, p, len) == 0 && input_clf_parse(r, RECORD_COMBINED) == 0)
        fmt = RECORD_COMBINED;
    else if (record_begin(r, RECORD_COMMON, p, len) == 0 && input_clf_parse(r, RECORD_COMMON) == 0)
        fmt = RECORD_COMMON;
    else
        fmt = clf_shape(p + i, len - i);
    record_end(r);
    return fmt;
}
