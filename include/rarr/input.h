/* input.h -- the line reader: blocks in, lines out, 1 MiB cap, format detection. */
#ifndef RARR_INPUT_H
#define RARR_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "rarr/record.h"

#define RARR_LINE_MAX (1024 * 1024)

enum input_status { INPUT_EOF, INPUT_LINE, INPUT_TOO_LONG, INPUT_ERROR, INPUT_AGAIN };

struct input {
    int fd;
    const char *name; /* for messages: the path, or "input" for stdin */
    char *buf;
    size_t cap, start, end;
    int eof;
    int skipping; /* inside a line over the cap, dropping its bytes */
    uint64_t lineno;
    uint64_t bytes;            /* bytes read so far, for progress */
    int64_t read_ms;           /* wall clock of the last read that brought bytes (not for files) */
    int (*wait_ms)(void *arg); /* how long to wait for bytes (-1: block); NULL: block */
    void *wait_arg;
    int regular; /* a regular file: never waited on */
};

int input_open(struct input *in, const char *path);
enum input_status input_next(struct input *in, struct slice *line);
void input_close(struct input *in);
enum record_format input_detect(struct record *r, const char *p, size_t len);

#endif
