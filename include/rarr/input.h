/* input.h -- the line reader: blocks in (plain or gzip), lines out, 1 MiB cap, format detection. */
#ifndef RARR_INPUT_H
#define RARR_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "rarr/record.h"

#define RARR_LINE_MAX (1024 * 1024)

/* How many non-blank lines vote on the format (--format=auto). */
#define INPUT_VOTE_LINES 16

enum input_status { INPUT_EOF, INPUT_LINE, INPUT_TOO_LONG, INPUT_ERROR, INPUT_AGAIN };

struct input_gz; /* the gzip decoder of a compressed input (input.c) */

struct input {
    int fd;
    const char *name; /* for messages: the path, or "input" for stdin */
    char *buf;
    size_t cap, start, end;
    int eof;
    int skipping; /* inside a line over the cap, dropping its bytes */
    uint64_t lineno;
    uint64_t bytes;            /* bytes read so far (compressed ones for gzip), for progress */
    int64_t read_ms;           /* wall clock of the last read that brought bytes (not for files) */
    int (*wait_ms)(void *arg); /* how long to wait for bytes (-1: block); NULL: block */
    void *wait_arg;
    int regular;         /* a regular file: never waited on */
    int sniffed;         /* the first bytes were looked at for gzip's magic */
    int failed;          /* the gzip data ended in an error: INPUT_ERROR after the last line */
    int err;             /* errno of the last INPUT_ERROR */
    struct input_gz *gz; /* NULL for plain input */
};

/* The format vote of the first lines (--format=auto): see input_vote_decide(). */
struct input_vote {
    unsigned n;                      /* lines counted */
    unsigned votes[RECORD_NFORMATS]; /* lines by input_detect()'s verdict */
};

int input_open(struct input *in, const char *path);
enum input_status input_next(struct input *in, struct slice *line);
const char *input_error(const struct input *in);
void input_close(struct input *in);
int input_is_blank(const char *p, size_t len);
int input_is_tail_header(const char *p, size_t len);
enum record_format input_detect(struct record *r, const char *p, size_t len);
void input_vote_init(struct input_vote *v);
void input_vote_add(struct input_vote *v, struct record *scratch, const char *p, size_t len);
enum record_format input_vote_decide(const struct input_vote *v);

#endif
