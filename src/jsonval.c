/*
 * jsonval.c -- the JSON forms of rarr's value types, shared by the state
 * file (state.c) and the partial records (partial.c): bytes as hex,
 * HyperLogLogs and quantile sketches, and the checked readers of numbers.
 * A sketch read back merges like the one written: the forms are exact.
 */
#include "rarr/jsonval.h"

#include <math.h>
#include <stdlib.h>

/* Add 'v' under 'key' (taking it over); -1 if either is NULL or on OOM. */
static int
put(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v);
}

/* Bytes as lowercase hex (keys and registers are any bytes; JSON strings must be UTF-8). */
json_t *
jsonval_hex(const char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *text = malloc(2 * len + 1);
    json_t *v;
    size_t i;

    if (text == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        text[2 * i] = hex[(unsigned char)p[i] >> 4];
        text[2 * i + 1] = hex[(unsigned char)p[i] & 15];
    }
    v = json_stringn(text, 2 * len);
    free(text);
    return v;
}

/* A HyperLogLog: its sparse hashes (their 64 bits as integers), or its registers in hex. */
json_t *
jsonval_hll(const struct hll *h)
{
    const uint64_t *v;
    size_t n = hll_sparse_hashes(h, &v), i;
    json_t *o = json_object(), *a;
    int rc = 0;

    if (hll_is_dense(h))
        return put(o, "registers", jsonval_hex((const char *)hll_registers(h), HLL_REGISTERS)) == 0
                   ? o
                   : NULL;
    rc |= put(o, "hashes", a = json_array());
    for (i = 0; rc == 0 && i < n; i++)
        rc |= json_array_append_new(a, json_integer((json_int_t)v[i]));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A quantile sketch: its buckets from index "first", its zero count, min and max; {} when empty. */
json_t *
jsonval_quantile(const struct quantile *q)
{
    const double *counts;
    int32_t first;
    size_t n = quantile_buckets(q, &first, &counts), i;
    json_t *o = json_object(), *a;
    int rc = 0;

    if (quantile_count(q) == 0)
        return o;
    rc |= put(o, "first", json_integer(first));
    rc |= put(o, "counts", a = json_array());
    for (i = 0; rc == 0 && i < n; i++)
        rc |= json_array_append_new(a, json_real(counts[i]));
    rc |= put(o, "zero", json_real(quantile_zero_count(q)));
    rc |= put(o, "min", json_real(quantile_min(q)));
    rc |= put(o, "max", json_real(quantile_max(q)));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The integer under 'key' of 'obj' into '*out'; -1 when there is none. */
int
jsonval_int(const json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* The finite number 'v' into '*out'; -1 when it is not one. */
int
jsonval_num(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return isfinite(*out) ? 0 : -1;
}

static int
hex_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The bytes of the hex string 'v' into 'out' ('max' at most); -1 when not such a string. */
int
jsonval_unhex(const json_t *v, char *out, size_t max, size_t *len)
{
    const char *p = json_string_value(v);
    size_t i, n = json_string_length(v);
    int hi, lo;

    if (p == NULL || n % 2 != 0 || n / 2 > max)
        return -1;
    for (i = 0; i < n / 2; i++) {
        hi = hex_digit((unsigned char)p[2 * i]);
        lo = hex_digit((unsigned char)p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (char)(hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}

/* A saved HyperLogLog into 'h': its registers, or its sparse hashes added again. */
int
jsonval_load_hll(struct hll *h, const json_t *o)
{
    const json_t *hashes = json_object_get(o, "hashes");
    uint8_t *regs;
    size_t i, len;
    int rc;

    hll_clear(h);
    if (json_object_get(o, "registers") != NULL) {
        if ((regs = malloc(HLL_REGISTERS)) == NULL)
            return -1;
        rc = jsonval_unhex(json_object_get(o, "registers"), (char *)regs, HLL_REGISTERS, &len) ==
                         -1 ||
                     len != HLL_REGISTERS || hll_set_registers(h, regs) == -1
                 ? -1
                 : 0;
        free(regs);
        return rc;
    }
    if (!json_is_array(hashes) || json_array_size(hashes) > HLL_SPARSE_MAX)
        return -1;
    for (i = 0; i < json_array_size(hashes); i++)
        if (!json_is_integer(json_array_get(hashes, i)) ||
            hll_add(h, (uint64_t)json_integer_value(json_array_get(hashes, i))) == -1)
            return -1;
    return 0;
}

/* A saved quantile sketch into 'q' ({} is an empty one); -1 when it does not fit. */
int
jsonval_load_quantile(struct quantile *q, const json_t *o)
{
    const json_t *counts = json_object_get(o, "counts");
    double *v, zero, min, max;
    int64_t first;
    size_t i, n = json_array_size(counts);
    int rc = 0;

    quantile_clear(q);
    if (json_object_size(o) == 0)
        return 0;
    if (jsonval_int(o, "first", &first) == -1 || !json_is_array(counts) ||
        n > QUANTILE_MAX_BUCKETS || first < INT32_MIN || first > INT32_MAX ||
        jsonval_num(json_object_get(o, "zero"), &zero) == -1 ||
        jsonval_num(json_object_get(o, "min"), &min) == -1 ||
        jsonval_num(json_object_get(o, "max"), &max) == -1 ||
        (v = calloc(n + 1, sizeof(*v))) == NULL)
        return -1;
    for (i = 0; i < n && rc == 0; i++)
        rc = jsonval_num(json_array_get(counts, i), &v[i]);
    if (rc == 0)
        rc = quantile_set(q, (int32_t)first, v, n, zero, min, max) == 0 ? 0 : -1;
    free(v);
    return rc;
}
