/* record.h -- one parsed input line, the hand-off between input and match. */
#ifndef RARR_RECORD_H
#define RARR_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rarr/buf.h"

/* A borrowed run of bytes; not NUL-terminated. */
struct slice {
    const char *p;
    size_t len;
};

/*
 * The input formats (docs/rules.md). RECORD_VCOMBINED is combined with a
 * leading virtual host ("host:port" or "host", Apache's vhost_combined, nginx
 * with $host first). record_format_name() is the one home of their names.
 */
enum record_format {
    RECORD_AUTO,
    RECORD_COMBINED,
    RECORD_COMMON,
    RECORD_VCOMBINED,
    RECORD_JSON,
    RECORD_RAW,
    RECORD_NFORMATS
};

/* The names of the formats, in the order --help and error messages list them. */
#define RECORD_FORMAT_LIST "auto, combined, common, vcombined, json, raw"

/* The fields a CLF line has; RECORD_F_LINE exists in every format. */
enum record_field {
    RECORD_F_LINE,
    RECORD_F_REMOTE_ADDR,
    RECORD_F_IDENT,
    RECORD_F_USER,
    RECORD_F_TIME,
    RECORD_F_REQUEST,
    RECORD_F_METHOD,
    RECORD_F_PATH,
    RECORD_F_QUERY,
    RECORD_F_PROTOCOL,
    RECORD_F_STATUS,
    RECORD_F_BYTES,
    RECORD_F_REFERER,
    RECORD_F_USER_AGENT,
    RECORD_F_EXTRA,
    RECORD_F_VHOST, /* vcombined only */
    RECORD_NFIXED
};

/*
 * A field named in the rules, resolved once at load: its CLF slot (or -1)
 * and its JSON key path. Fields are numbered by their index in the ruleset's
 * field table; a record caches values by that number.
 */
struct record_fieldref {
    char *name;
    int clf;     /* enum record_field, or -1 */
    char **path; /* the name split at dots, for nested JSON keys */
    size_t npath;
    int captured; /* some regex has a named group of this name */
};

/*
 * A record borrows the input line (valid until the next line is read) and
 * owns a scratch buffer for values it had to decode. Values are cached per
 * field number: 'base' for the format's own fields (valid for the line),
 * 'cap' for named captures (valid for the metric being matched).
 */
/* A JSON object's member as the scanner found it: spans of the line, nothing copied. */
struct record_member {
    const char *key; /* the key between its quotes, as written */
    size_t key_len;
    const char *val; /* a string between its quotes; any other value whole */
    size_t val_len;
    char type;    /* s string, n number, t true, f false, z null, { object, [ array */
    char key_esc; /* the key holds backslash escapes */
    char esc;     /* the string value holds backslash escapes */
};

struct record_members {
    struct record_member *v;
    size_t n, cap;
};

struct record;

/*
 * How the parser of a line's format finds one of its fields (NULL: the
 * format has no fields but the line). The parser sets it, so the record
 * reaches the parsers without knowing them.
 */
typedef struct slice (*record_lookup_fn)(struct record *r, const struct record_fieldref *f);

struct record {
    enum record_format format;
    record_lookup_fn lookup;
    int64_t ts_ms;
    int has_ts;
    int tz_min; /* the UTC offset written with the time (minutes east), 0 if none */
    struct slice line;
    struct slice clf[RECORD_NFIXED];
    int clf_split;                 /* the request's parts are in their slots */
    int is_json;                   /* the line parsed as a JSON object */
    struct record_members members; /* a JSON line's top level */
    struct record_members nest;    /* scratch list for dotted paths */
    json_t *spill;                 /* texts that did not fit in 'scratch'; freed by record_end */
    struct buf scratch;
    const struct record_fieldref *fields;
    size_t nfields;
    struct slice *base;
    struct slice *cap;
    uint32_t *base_gen;
    uint32_t *cap_gen;
    uint32_t line_gen;
    uint32_t metric_gen;
    char time_key[26]; /* the last CLF time text parsed, and what it gave */
    size_t time_key_len;
    int64_t time_key_ms;
    int64_t time_key_day_ms; /* time_key_ms less its time of day */
    int time_key_tz;
};

int record_init(struct record *r, const struct record_fieldref *fields, size_t nfields);
void record_fini(struct record *r);
int record_begin(struct record *r, enum record_format fmt, const char *p, size_t len);
void record_end(struct record *r);
void record_begin_metric(struct record *r);
struct slice record_get(struct record *r, size_t field);
void record_set_capture(struct record *r, size_t field, const char *p, size_t len);
int record_clf_field(const char *name);
const char *record_format_name(enum record_format fmt);
int record_format_parse(const char *name, enum record_format *fmt);
int record_format_is_clf(enum record_format fmt);
int record_format_has_field(enum record_format fmt, int clf);

#endif
