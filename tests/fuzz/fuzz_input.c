/*
 * fuzz_input.c -- the line reader (input_open, input_next) on bytes that
 * come through a pipe in chunks, plain or gzip, checked against itself: the
 * lines must not depend on how the bytes arrive.
 *
 * The first byte says what the rest is. Its low two bits: 0 the bytes as
 * they are (gzip when they start with 1f 8b: the decoder on any bytes), 1
 * the bytes compressed here as one gzip member, 2 as two members split at a
 * point the second byte chooses. Its high six bits: the chunk size of the
 * writes (1 to 64 bytes; 0 means all at once). Each input is read twice,
 * in those chunks and all at once, and the two readings must give the same
 * statuses, line numbers and lines, and the same message at an error. Bytes
 * compressed here must also give the lines of the plain bytes, and no
 * error. Any difference aborts. (Inputs of the size the fuzzer makes stay
 * far below the 1 MiB line cap unless they are gzip that inflates to more.)
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

/*
 * Read every line of 'data' written into a pipe 'chunk' bytes at a time
 * (0: as much as the pipe takes), the reader draining it between writes.
 * Returns 0, or -1 when the pipe could not be set up.
 */
static int
read_chunked(const unsigned char *data, size_t size, size_t chunk, struct reading *out)
{
    struct input in;
    struct slice line;
    enum input_status st;
    char path[32];
    size_t off = 0;
    int fds[2], writing = 1;
    ssize_t n;

    if (pipe(fds) == -1)
        return -1;
    if (fcntl(fds[1], F_SETFL, O_NONBLOCK) == -1)
        goto fail;
    snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
    if (input_open(&in, path) == -1)
        goto fail;
    close(fds[0]);
    fds[0] = -1;
    in.wait_ms = no_wait; /* poll, do not block: INPUT_AGAIN when the pipe is empty */
    for (;;) {
        if (writing) {
            size_t k = size - off;

            if (chunk > 0 && k > chunk)
                k = chunk;
            n = k > 0 ? write(fds[1], data + off, k) : 0;
            if (n > 0)
                off += (size_t)n;
            else if (n == -1 && errno != EAGAIN)
                abort();
            if (off == size) {
                close(fds[1]);
                fds[1] = -1;
                writing = 0;
                in.wait_ms = NULL; /* block: the end comes */
            }
        }
        while ((st = input_next(&in, &line)) == INPUT_LINE || st == INPUT_TOO_LONG)
            push(out, st, in.lineno, line.p, line.len);
        if (st == INPUT_AGAIN)
            continue; /* the pipe is empty for now (or a signal came) */
        push(out, st, in.lineno, "", 0);
        if (st == INPUT_ERROR)
            snprintf(out->err, sizeof(out->err), "%s", input_error(&in));
        break;
    }
    input_close(&in);
    if (fds[1] != -1)
        close(fds[1]);
    return 0;
fail:
    if (fds[0] != -1)
        close(fds[0]);
    close(fds[1]);
    return -1;
}

/* The lines of plain bytes, as input_next must give them (inputs are far below the cap). */
static void
split(const unsigned char *p, size_t size, struct reading *out)
{
    const char *s = (const char *)p, *end = s + size, *nl;
    uint64_t lineno = 0;
    size_t len;

    while (s < end) {
        nl = memchr(s, '\n', (size_t)(end - s));
        len = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
        lineno++;
        push(out, INPUT_LINE, lineno, s, len > 0 && s[len - 1] == '\r' ? len - 1 : len);
        s += len + (nl != NULL);
    }
    push(out, INPUT_EOF, lineno, "", 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reading chunked = {0}, whole = {0}, plain = {0};
    const unsigned char *p, *bytes;
    unsigned char *gz = NULL;
    size_t n, len, cap, chunk, cut;
    int mode;

    if (size < 1 || size > 1024 * 1024)
        return 0;
    mode = data[0] & 3;
    chunk = data[0] >> 2;
    p = bytes = data + 1;
    n = len = size - 1;
    if (mode == 1 || mode == 2) {
        cut = n;
        if (mode == 2 && n > 0) {
            cut = (size_t)p[0] * (n - 1) / 255;
            p++;
            n--;
        }
        cap = 2 * compressBound((uLong)n) + 64;
        if ((gz = malloc(cap)) == NULL)
            return 0;
        len = gzip_member(p, cut, gz, 0, cap);
        if (mode == 2)
            len = gzip_member(p + cut, n - cut, gz, len, cap);
        bytes = gz;
    }
    if (read_chunked(bytes, len, chunk, &chunked) == 0 &&
        read_chunked(bytes, len, 0, &whole) == 0) {
        same(&chunked, &whole);
        if (gz != NULL) {
            split(p, n, &plain);
            same(&plain, &whole);
        }
    }
    free(chunked.v);
    free(whole.v);
    free(plain.v);
    free(gz);
    return 0;
}
