/*
 * rules.h -- the ruleset: metrics, ratios, alerts and anomaly rules as the
 * rule files define them (docs/rules.md), their names resolved and their
 * regexes compiled. src/rules_parse.c builds one; match, window, alert and
 * the rest read it.
 */
#ifndef RARR_RULES_H
#define RARR_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rarr/diag.h"
#include "rarr/record.h"

/*
 * The most keys an anomaly rule on a by= metric watches: a detector of about
 * 38 KB per key (and about 47 KB of it in a --state file) makes 3.8 MB a rule.
 */
#define RULES_ANOMALY_KEYS_MAX 100

enum rules_category {
    RULES_NONE,
    RULES_RETENTION,
    RULES_ACTIVATION,
    RULES_REVENUE,
    RULES_REFERRAL
};
enum rules_op { RULES_MATCH, RULES_NOT_MATCH, RULES_EQUAL };
/* What a metric gathers: lines, a field's sum, its distinct values, a quantile of it, or a ratio.
 */
enum rules_kind { RULES_COUNT, RULES_SUM, RULES_RATIO, RULES_DISTINCT, RULES_QUANTILE };

/* Where a rule came from: 'file' is owned by the ruleset. */
struct rules_loc {
    const char *file;
    unsigned line;
    unsigned col;
};

struct rules_cond {
    size_t field;
    enum rules_op op;
    char *text; /* the regex after %{NAME} expansion, or the literal */
    size_t len;
    size_t literal_len;   /* bytes of 'text' before the first expansion */
    struct rules_loc loc; /* column of the value's first byte */
    char *srcline;        /* the rule's line, for error carets */
    pcre2_code *re;       /* set by rules_finish */
    int jit;              /* re was JIT-compiled: pcre2_jit_match, no option checks */
    size_t prefix_len;    /* text[1..prefix_len]: literal bytes every match starts with */
    uint8_t first[32];    /* has_first: the bytes an (anchored) match can begin with, a bitmap */
    int has_first;
    uint32_t minlen;  /* an anchored match is at least this long (0: unknown) */
    uint32_t *groups; /* group number -> field number (UINT32_MAX: unnamed) */
    uint32_t ngroups;
};

struct rules_metric {
    char *name;
    enum rules_category category;
    enum rules_kind kind;
    struct rules_cond *conds;
    size_t nconds;
    size_t value_field;    /* the field of sum=, distinct=, pNN= and max= */
    double q;              /* RULES_QUANTILE: the quantile (0.5 for p50=, 1 for max=) */
    size_t by_field;       /* by=FIELD: a series per value of the field; SIZE_MAX: none */
    size_t max_keys;       /* by=: the most values with a series of their own (KEYS_DEFAULT) */
    unsigned by_col;       /* where by= is written, for errors */
    char *a_name, *b_name; /* ratio operands as written */
    unsigned a_col, b_col; /* where the operands are written, for errors */
    size_t a, b;           /* ratio operands, resolved */
    double k, min;
    struct rules_loc loc;
    char *srcline;
};

enum rules_season { RULES_SEASON_NONE, RULES_SEASON_DAILY, RULES_SEASON_WEEKLY };
enum rules_direction { RULES_BOTH, RULES_DROP, RULES_SPIKE };

/* A label of an alert's records (and of what goes to Alertmanager): label.NAME=VALUE. */
struct rules_label {
    char *name, *value;
};

/* The words summary= may use in braces: {value}, {metric}, ... (NULL-terminated). */
extern const char *const rules_summary_words[];

/* A threshold alert, or with 'anomaly' set an anomaly rule. */
struct rules_alert {
    char *metric_name;
    size_t metric;
    int anomaly;
    int above;
    double threshold, clear;
    enum rules_season season;
    enum rules_direction direction;
    double far; /* sensitivity: expected chance alarms per week (0.01, 0.1, 1) */
    double min; /* spikes need min events; drops need min expected when min_given */
    int min_given;
    int64_t window_ms, for_ms;
    char *rule; /* "name=", "METRIC below X over W" or "METRIC anomaly over W" */
    struct rules_label *labels;
    size_t nlabels;
    char *summary; /* summary=: a line with {words} filled in per record; NULL: none */
    char *runbook; /* runbook=: a URL; NULL: none */
    struct rules_loc loc, window_loc, for_loc;
    unsigned window_width, for_width;
    char *srcline;
};

struct ruleset {
    char **files;
    size_t nfiles;
    struct rules_define {
        char *name, *text; /* text NULL: it expanded past the parser's limit (an error) */
    } * defines;
    size_t ndefines;
    struct rules_metric *metrics;
    size_t nmetrics;
    struct rules_alert *alerts;
    size_t nalerts;
    struct record_fieldref *fields;
    size_t nfields;
    size_t nerrors;            /* errors reported so far into the caller's struct diag */
    int stopped;               /* out of memory or too many errors: nothing more is read */
    struct rules_names *names; /* the names above, hashed (rules.c's own) */
};

struct ruleset *rules_new(void);
void rules_free(struct ruleset *rs);
int rules_finish(struct ruleset *rs, int64_t step_ms, struct diag *d);
size_t rules_field(struct ruleset *rs, const char *name);
int rules_lookup_metric(const struct ruleset *rs, const char *name, size_t *out);
size_t rules_keyed_metric(const struct ruleset *rs, size_t i);
int rules_keep(struct ruleset *rs, const unsigned char *keep);
void rules_describe(const struct ruleset *rs, FILE *fp);
int rules_warn_fields(const struct ruleset *rs, enum record_format fmt, FILE *fp);

/* The words of the rule language for the enums above; NULL past the last value. */
const char *rules_category_name(enum rules_category c);
const char *rules_kind_option(const struct rules_metric *m);
const char *rules_op_name(enum rules_op op);
const char *rules_season_name(enum rules_season s);
const char *rules_direction_name(enum rules_direction dir);

/* Building a ruleset, for the parser: NULL or -1 on out-of-memory. */
int rules_error(struct ruleset *rs, struct diag *d, const struct rules_loc *loc, const char *src,
                size_t srclen, unsigned width, const char *msg);
const char *rules_add_file(struct ruleset *rs, const char *file);
struct rules_define *rules_add_define(struct ruleset *rs, const char *name, size_t len, char *text);
struct rules_metric *rules_add_metric(struct ruleset *rs, const char *name, size_t len,
                                      const struct rules_loc *loc, const char *src, size_t srclen);
struct rules_cond *rules_add_cond(struct rules_metric *m);
struct rules_alert *rules_add_alert(struct ruleset *rs, const char *metric, size_t len,
                                    const struct rules_loc *loc, const char *src, size_t srclen);
int rules_name_alert(struct ruleset *rs, size_t i);
const struct rules_define *rules_find_define(const struct ruleset *rs, const char *name,
                                             size_t len);
const struct rules_metric *rules_find_metric(const struct ruleset *rs, const char *name,
                                             size_t len);
const struct rules_alert *rules_find_alert(const struct ruleset *rs, const char *rule);

#endif
