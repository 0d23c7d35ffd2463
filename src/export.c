/*
 * export.c -- the exporters' schedule: the Prometheus text (prom.c) is made
 * on the pipeline's thread after a step, before the reader waits for input
 * and at the end of input, at most every EXPORT_INTERVAL_MS, and handed to
 * the --listen server (serve.c) and written to the --prom-textfile.
 *
 * The textfile is written to a temporary file beside it and renamed over
 * it, so node_exporter's textfile collector never reads half a file. A
 * failure to write it is told once, and again after it worked once more.
 */
#include "rarr/export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rarr/buf.h"
#include "rarr/clock.h"
#include "rarr/prom.h"

struct export
{
    struct serve *srv;    /* borrowed; NULL: none */
    const char *textfile; /* borrowed; NULL: none */
    char *tmp;            /* textfile's temporary name */
    FILE *log;
    struct buf text;
    double due;  /* monotonic seconds when the text is due again */
    int failing; /* the last textfile write failed (and was told) */
};

/*
 * The exporters for 'srv' (NULL: none) and the file 'textfile' (NULL:
 * none), both borrowed; trouble is told on 'log'. NULL when out of memory.
 */
struct export *
export_new(struct serve *srv, const char *textfile, FILE *log)
{
    struct export *x = calloc(1, sizeof(*x));
    size_t n;

    if (x == NULL)
        return NULL;
    x->srv = srv;
    x->textfile = textfile;
    x->log = log;
    buf_init(&x->text);
    if (textfile != NULL) {
        n = strlen(textfile) + 32;
        if ((x->tmp = malloc(n)) == NULL) {
            free(x);
            return NULL;
        }
        snprintf(x->tmp, n, "%s.%ld.tmp", textfile, (long)getpid());
    }
    return x;
}

void
export_free(struct export *x)
{
    if (x == NULL)
        return;
    buf_fini(&x->text);
    free(x->tmp);
    free(x);
}

/* Write the text to the textfile through its temporary name. Returns 0 or -1 with errno set. */
static int
write_textfile(const struct export *x)
{
    FILE *fp = fopen(x->tmp, "w");
    int saved;

    if (fp == NULL)
        return -1;
    if (fwrite(x->text.p, 1, x->text.len, fp) != x->text.len) {
        saved = errno;
        fclose(fp);
        unlink(x->tmp);
        errno = saved;
        return -1;
    }
    if (fclose(fp) == EOF || rename(x->tmp, x->textfile) == -1) {
        saved = errno;
        unlink(x->tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

/* Hand the text to the server and the textfile; what failed is told (once a streak). */
static void
publish(struct export *x)
{
    if (x->srv != NULL && serve_publish(x->srv, x->text.p, x->text.len) == -1 && x->log != NULL)
        fputs("rarr: --listen: out of memory: the metrics served are not up to date\n", x->log);
    if (x->textfile == NULL)
        return;
    if (write_textfile(x) == -1) {
        if (!x->failing && x->log != NULL)
            fprintf(x->log, "rarr: %s: %s (the --prom-textfile is not up to date)\n", x->textfile,
                    strerror(errno));
        x->failing = 1;
    } else if (x->failing) {
        if (x->log != NULL)
            fprintf(x->log, "rarr: %s: written again\n", x->textfile);
        x->failing = 0;
    }
}

/*
 * The pipeline's exporter hook (pipeline_export_fn, 'arg' the export):
 * make and publish the text of 'p' when it is due or 'final' is set.
 * Returns the milliseconds until it is due when it was not made now, else
 * -1 (nothing waits: a new text is made only once something changed).
 */
int
export_update(void *arg, struct pipeline *p, int final)
{
    struct export *x = arg;
    double now = clock_mono_seconds();

    if (!final && now < x->due)
        return (int)((x->due - now) * 1000) + 1;
    x->due = now + EXPORT_INTERVAL_MS / 1000.0;
    x->text.len = 0;
    if (prom_render(&x->text, p) == -1) {
        if (x->log != NULL)
            fputs("rarr: out of memory: the exported metrics are not up to date\n", x->log);
        return -1;
    }
    publish(x);
    return -1;
}
