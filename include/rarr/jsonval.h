/* jsonval.h -- the JSON forms of the value types (hex bytes, sketches), for state and partials. */
#ifndef RARR_JSONVAL_H
#define RARR_JSONVAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rarr/hll.h"
#include "rarr/quantile.h"

json_t *jsonval_hex(const char *p, size_t len);
int jsonval_unhex(const json_t *v, char *out, size_t max, size_t *len);
json_t *jsonval_hll(const struct hll *h);
int jsonval_load_hll(struct hll *h, const json_t *o);
json_t *jsonval_quantile(const struct quantile *q);
int jsonval_load_quantile(struct quantile *q, const json_t *o);
int jsonval_int(const json_t *obj, const char *key, int64_t *out);
int jsonval_num(const json_t *v, double *out);

#endif
