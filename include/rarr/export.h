/* export.h -- when the Prometheus text is made, and where it goes (--listen, --prom-textfile). */
#ifndef RARR_EXPORT_H
#define RARR_EXPORT_H

#include <stdio.h>

#include "rarr/pipeline.h"
#include "rarr/serve.h"

/* The text is made again at most this often (and at the end of input). */
#define EXPORT_INTERVAL_MS 500

struct export;

struct export *export_new(struct serve *srv, const char *textfile, FILE *log);
int export_update(void *arg, struct pipeline *p, int final);
void export_free(struct export *x);

#endif
