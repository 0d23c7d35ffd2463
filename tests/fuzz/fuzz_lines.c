/*
 * fuzz_lines.c -- the line reader's line assembly (input_open, input_next)
 * on a regular file or a pipe, plain or gzip, checked against a model of
 * what the lines must be: split at '\n', one '\r' before it dropped, a last
 * line without '\n' still a line, a line over RARR_LINE_MAX reported once as
 * INPUT_TOO_LONG with its first 80 bytes. Any difference aborts.
 *
 * The first byte says how the bytes come. Bit 0: a regular file (read in
 * large blocks, never waited on) or a pipe. Bit 1: compressed here as one
 * gzip member (the decoder must give the plain lines). Bit 2: long: the
 * next two bytes are a length offset K and a filler byte, and the input is
 * that byte repeated RARR_LINE_MAX - 64 + K times followed by the rest, so
 * a first line lands on every length around the cap, and the line after an
 * overlong one, with what ends it (nothing, '\r', '\r\n'), comes from the
 * fuzzer. Bits 3-7: the size of the writes into a pipe (0: as much as it
 * takes; in KiB for long inputs). Without bit 2 the rest are the bytes, so
 * lines without a newline, NUL bytes and lone '\r' come from the corpus.
 * Plain bytes that start with gzip's magic are decoded, so the model does
 * not hold for them: they are only read.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "rarr/input.h"
#include "reading.h"

#define EXCERPT 80 /* the bytes of an overlong line that INPUT_TOO_LONG shows */

/* The lines of plain bytes as input_next must give them: the model. */
static void
model(const unsigned char *bytes, size_t size, struct reading *out)
{
    const char *s = (const char *)bytes, *end = s + size, *nl;
    uint64_t lineno = 0;
    size_t len;

    while (s < end) {
        nl = memchr(s, '\n', (size_t)(end - s));
        len = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
        lineno++;
        if (len > 0 && s[len - 1] == '\r')
            len--;
        if (len > RARR_LINE_MAX)
            push(out, INPUT_TOO_LONG, lineno, s, EXCERPT);
        else
            push(out, INPUT_LINE, lineno, s, len);
        s = nl != NULL ? nl + 1 : end;
    }
    push(out, INPUT_EOF, lineno, "", 0);
}

/*
 * The lines of 'in' into 'out' until its end or error (returns 0) or
 * INPUT_AGAIN (returns 1): an empty pipe, or a read that brought no end of
 * line. The caller calls again, after writing more into a pipe.
 */
static int
drain(struct input *in, struct reading *out)
{
    struct slice line;
    enum input_status st;

    while ((st = input_next(in, &line)) == INPUT_LINE || st == INPUT_TOO_LONG)
        push(out, st, in->lineno, line.p, line.len);
    if (st == INPUT_AGAIN)
        return 1;
    push(out, st, in->lineno, "", 0);
    return 0;
}

/* Read 'data' from a regular file (an unlinked temporary one, kept between runs). */
static void
read_file(const unsigned char *data, size_t size, struct reading *out)
{
    static FILE *tmp;
    struct input in;
    char path[32];

    if (tmp == NULL && (tmp = tmpfile()) == NULL)
        abort();
    if (ftruncate(fileno(tmp), 0) == -1 || fseek(tmp, 0, SEEK_SET) == -1 ||
        fwrite(data, 1, size, tmp) != size || fflush(tmp) == EOF)
        abort();
    snprintf(path, sizeof(path), "/dev/fd/%d", fileno(tmp));
    if (input_open(&in, path) == -1)
        abort();
    if (!in.regular)
        abort();
    while (drain(&in, out))
        ;
    input_close(&in);
}

/* Read 'data' written into a pipe 'chunk' bytes at a time (0: as much as it takes), the reader
 * draining it between writes. */
static void
read_pipe(const unsigned char *data, size_t size, size_t chunk, struct reading *out)
{
    struct input in;
    char path[32];
    size_t off = 0, k;
    int fds[2];
    ssize_t n;

    if (pipe(fds) == -1 || fcntl(fds[1], F_SETFL, O_NONBLOCK) == -1)
        abort();
    snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
    if (input_open(&in, path) == -1)
        abort();
    close(fds[0]);
    in.wait_ms = no_wait; /* poll, do not block: INPUT_AGAIN when the pipe is empty */
    do {
        if (fds[1] != -1) {
            k = chunk > 0 && size - off > chunk ? chunk : size - off;
            if ((n = k > 0 ? write(fds[1], data + off, k) : 0) > 0)
                off += (size_t)n;
            else if (n == -1 && errno != EAGAIN)
                abort();
            if (off == size) {
                close(fds[1]);
                fds[1] = -1;
                in.wait_ms = NULL; /* block: the end comes */
            }
        }
    } while (drain(&in, out));
    input_close(&in);
    if (fds[1] != -1)
        close(fds[1]);
}

/*
 * The plain bytes of 'data' (after the first byte, 'flags') in a buffer to
 * free: as they are, or a long line. NULL when a long input lacks its two
 * bytes.
 */
static unsigned char *
plain_bytes(int flags, const uint8_t *data, size_t size, size_t *len)
{
    size_t fill = 0;
    unsigned char *out, filler = 'x';

    if (flags & 4) {
        if (size < 2)
            return NULL;
        fill = RARR_LINE_MAX - 64 + data[0];
        filler = data[1] != '\n' ? data[1] : 'x'; /* one line, not a million */
        data += 2;
        size -= 2;
    }
    if ((out = malloc(fill + size + 1)) == NULL)
        abort();
    memset(out, filler, fill);
    memcpy(out + fill, data, size);
    *len = fill + size;
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reading got = {0}, want = {0};
    unsigned char *plain, *gz = NULL;
    const unsigned char *bytes;
    size_t n, len, chunk;

    if (size < 1 || size > 1024 * 1024 ||
        (plain = plain_bytes(data[0], data + 1, size - 1, &n)) == NULL)
        return 0;
    bytes = plain;
    len = n;
    if (data[0] & 2) {
        size_t cap = compressBound((uLong)n) + 64;

        if ((bytes = gz = malloc(cap)) == NULL)
            abort();
        len = gzip_member(plain, n, gz, 0, cap);
    }
    chunk = (size_t)(data[0] >> 3) << (data[0] & 4 ? 10 : 0);
    if (data[0] & 1)
        read_file(bytes, len, &got);
    else
        read_pipe(bytes, len, chunk, &got);
    if (gz != NULL || n < 2 || plain[0] != 0x1f || plain[1] != 0x8b) {
        model(plain, n, &want);
        same(&got, &want);
    }
    free(got.v);
    free(want.v);
    free(gz);
    free(plain);
    return 0;
}
