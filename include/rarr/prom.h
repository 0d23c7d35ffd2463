/* prom.h -- the Prometheus text exposition of a pipeline: counters, values, alert states. */
#ifndef RARR_PROM_H
#define RARR_PROM_H

#include <stddef.h>

#include "rarr/buf.h"
#include "rarr/pipeline.h"

/* The most bytes of a key kept in a label value (a longer key is cut and marked with its slot). */
#define PROM_LABEL_MAX 128

int prom_render(struct buf *b, struct pipeline *p);
int prom_label_value(struct buf *b, const char *s, size_t len);
int prom_key_value(struct buf *b, const char *s, size_t len, size_t slot, int twin);

#endif
