/*
 * match.c -- the "rule match" stage: a record tested against the metrics of
 * a finished ruleset, whose regexes rules_finish() compiled (with the JIT
 * where the platform has it). The matcher only reads the ruleset.
 *
 * Regexes match bytes (no UTF checks unless a rule opts in with (*UTF)), so
 * invalid UTF-8 in a log line never stops a match. Every match runs under a
 * match limit and a depth limit with an explicitly sized JIT stack, so one
 * pathological regex cannot stall the stream: hitting a limit, or any other
 * error PCRE2 returns (invalid UTF-8 for a (*UTF) regex), is reported as
 * MATCH_ERROR and the pipeline counts the line as bad, with the reason.
 * Named groups become fields of the record for the rest of the metric.
 */
#include "rarr/match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/clock.h"

#define MATCH_LIMIT_DEFAULT 1000000
#define DEPTH_LIMIT_DEFAULT 10000
#define JIT_STACK_MIN (32 * 1024)
#define JIT_STACK_MAX (1024 * 1024)
/*
 * The memo: a condition's verdict on a field value is a function of the
 * bytes, and log fields repeat (the same request, the same status). Each
 * field that conditions read gets a direct-mapped table of recent values;
 * an entry holds, per metric, whether the metric's conditions on that field
 * were tested on the value (known), held (ok) or met a PCRE2 error (limit),
 * and the first such error's code.
 * A line then costs one lookup per field while some metric is still in the
 * running, and a metric no field has ruled out is a hit: the work per line
 * follows the fields, not the number of rules. Values longer than
 * MEMO_KEY_MAX are tested every time in a spare entry. A field that a named
 * group captures is never memoized (its value depends on the metric).
 */
#define MEMO_KEY_MAX 120
#define MEMO_TABLE_BYTES (1 << 20) /* per field: fewer slots as rules grow */
#define MEMO_SLOTS_MAX 4096
#define MEMO_SLOTS_MIN 64

struct memo_entry {
    uint64_t hash;
    uint32_t len;
    int err; /* the PCRE2 error a condition met on this value, or 0 */
    char key[MEMO_KEY_MAX];
    uint64_t bits[]; /* known[words], ok[words], limit[words] */
};

struct memo {
    size_t field;
    uint64_t *users;      /* [words] metrics with conditions on this field */
    unsigned char *slots; /* [nslots] entries of the matcher's entry_size */
    size_t nslots;        /* a power of two */
};

struct matcher {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *stack;
    const struct ruleset *rs;
    size_t words;       /* 64-bit words in a bitset of metrics */
    size_t entry_size;  /* bytes of a memo entry, bitsets included */
    size_t *first_cond; /* [nmetrics] index of a metric's first condition below */
    int *cond_memo;     /* [all conditions] memo number, or -1 */
    struct memo *memos; /* most-read field first */
    size_t nmemos;
    uint64_t *counted;        /* [words] metrics that count or sum lines (not ratios) */
    uint64_t *scoped;         /* [words] metrics whose captures the caller must read in scope */
    uint64_t *cand;           /* [words] scratch: metrics still in the running */
    struct memo_entry *spare; /* for values too long to keep */
    int err;                  /* the PCRE2 error of the last MATCH_ERROR */
};

#define BIT(set, i) ((set)[(i) / 64] & (1ULL << ((i) % 64)))
#define SET_BIT(set, i) ((set)[(i) / 64] |= 1ULL << ((i) % 64))

/* Whether condition 'c' reads a field whose value may be a named capture. */
static int
reads_capture(const struct ruleset *rs, const struct rules_cond *c)
{
    return rs->fields[c->field].captured;
}

/* How many metrics read memo 'mo''s field. */
static size_t
memo_users(const struct matcher *mt, const struct memo *mo)
{
    size_t n = 0, w;

    for (w = 0; w < mt->words; w++)
        n += (size_t)__builtin_popcountll(mo->users[w]);
    return n;
}

/* Order the memos: fields that more metrics read first, as they rule out more. */
static void
memo_sort(struct matcher *mt)
{
    size_t i, j;

    for (i = 1; i < mt->nmemos; i++) {
        for (j = i; j > 0 && memo_users(mt, &mt->memos[j - 1]) < memo_users(mt, &mt->memos[j]);
             j--) {
            struct memo t = mt->memos[j - 1];

            mt->memos[j - 1] = mt->memos[j];
            mt->memos[j] = t;
        }
    }
}

/*
 * The number of the memo of 'field', made the first time a condition reads
 * the field; -1 on out-of-memory (the memo is counted, so match_free frees
 * what was made of it).
 */
static long
memo_for(struct matcher *mt, size_t field)
{
    struct memo *mo;
    size_t k;

    for (k = 0; k < mt->nmemos && mt->memos[k].field != field; k++)
        ;
    if (k < mt->nmemos)
        return (long)k;
    mo = &mt->memos[k];
    mo->field = field;
    mo->nslots = MEMO_SLOTS_MAX;
    while (mo->nslots > MEMO_SLOTS_MIN && mo->nslots * mt->entry_size > MEMO_TABLE_BYTES)
        mo->nslots /= 2;
    mo->users = calloc(mt->words, sizeof(uint64_t));
    mo->slots = calloc(mo->nslots, mt->entry_size);
    mt->nmemos++;
    return mo->users == NULL || mo->slots == NULL ? -1 : (long)k;
}

/*
 * Plan metric 'i', whose first condition is number 'n' of all: whether it
 * counts lines and whether the caller must read its captures in scope, and
 * the memo of each condition's field unless the field may be a named
 * capture. '*most' grows to the most groups a regex has. -1 on out-of-memory.
 */
static int
plan_metric(struct matcher *mt, size_t i, size_t n, uint32_t *most)
{
    const struct ruleset *rs = mt->rs;
    const struct rules_metric *m = &rs->metrics[i];
    size_t j;
    long k;

    mt->first_cond[i] = n;
    if (m->kind != RULES_RATIO)
        SET_BIT(mt->counted, i);
    /* A sum= or by= field that a named group captures is read while the captures are in scope. */
    if ((rules_kind_option(m) != NULL && rs->fields[m->value_field].captured) ||
        (m->by_field != SIZE_MAX && rs->fields[m->by_field].captured))
        SET_BIT(mt->scoped, i);
    for (j = 0; j < m->nconds; j++, n++) {
        const struct rules_cond *c = &m->conds[j];

        if (c->ngroups > *most)
            *most = c->ngroups;
        mt->cond_memo[n] = -1;
        if (c->groups != NULL || reads_capture(rs, c))
            SET_BIT(mt->scoped, i);
        /* A regex with named groups runs in match_metric for them: not twice. */
        if (reads_capture(rs, c) || c->groups != NULL)
            continue;
        if ((k = memo_for(mt, c->field)) == -1)
            return -1;
        mt->cond_memo[n] = (int)k;
        SET_BIT(mt->memos[k].users, i);
    }
    return 0;
}

/* After memo_sort: cond_memo numbered the memos in the order they were made; renumber by field. */
static void
memo_renumber(struct matcher *mt)
{
    const struct ruleset *rs = mt->rs;
    size_t i, j, k, n = 0;

    for (i = 0; i < rs->nmetrics; i++)
        for (j = 0; j < rs->metrics[i].nconds; j++, n++)
            if (mt->cond_memo[n] >= 0)
                for (k = 0; k < mt->nmemos; k++)
                    if (mt->memos[k].field == rs->metrics[i].conds[j].field)
                        mt->cond_memo[n] = (int)k;
}

/*
 * Make the per-thread matching state for a ruleset that rules_finish()
 * compiled, which it borrows (it must outlive the matcher): match data big
 * enough for the regex with the most groups, limits (0: the defaults), JIT
 * stack, and a memo per field that conditions read. Returns NULL on
 * out-of-memory.
 */
struct matcher *
match_new(const struct ruleset *rs, uint32_t match_limit, uint32_t depth_limit)
{
    struct matcher *mt = calloc(1, sizeof(*mt));
    uint32_t most = 1;
    size_t i, w, n = 0;

    if (mt == NULL)
        return NULL;
    mt->rs = rs;
    mt->words = rs->nmetrics > 0 ? (rs->nmetrics + 63) / 64 : 1;
    mt->entry_size = sizeof(struct memo_entry) + 3 * mt->words * sizeof(uint64_t);
    for (i = 0; i < rs->nmetrics; i++)
        n += rs->metrics[i].nconds;
    mt->first_cond = calloc(rs->nmetrics + 1, sizeof(*mt->first_cond));
    mt->cond_memo = calloc(n + 1, sizeof(*mt->cond_memo));
    mt->memos = calloc(n + 1, sizeof(*mt->memos));
    mt->counted = calloc(mt->words, sizeof(uint64_t));
    mt->scoped = calloc(mt->words, sizeof(uint64_t));
    mt->cand = calloc(mt->words, sizeof(uint64_t));
    mt->spare = calloc(1, mt->entry_size);
    if (mt->first_cond == NULL || mt->cond_memo == NULL || mt->memos == NULL ||
        mt->counted == NULL || mt->scoped == NULL || mt->cand == NULL || mt->spare == NULL)
        goto oom;
    for (i = 0, n = 0; i < rs->nmetrics; n += rs->metrics[i].nconds, i++)
        if (plan_metric(mt, i, n, &most) == -1)
            goto oom;
    memo_sort(mt);
    memo_renumber(mt);
    for (w = 0; w < mt->words; w++)
        mt->scoped[w] &= mt->counted[w];
    mt->md = pcre2_match_data_create(most, NULL);
    mt->mctx = pcre2_match_context_create(NULL);
    mt->stack = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
    if (mt->md == NULL || mt->mctx == NULL || mt->stack == NULL)
        goto oom;
    pcre2_set_match_limit(mt->mctx, match_limit ? match_limit : MATCH_LIMIT_DEFAULT);
    pcre2_set_depth_limit(mt->mctx, depth_limit ? depth_limit : DEPTH_LIMIT_DEFAULT);
    pcre2_jit_stack_assign(mt->mctx, NULL, mt->stack);
    return mt;
oom:
    match_free(mt);
    return NULL;
}

/* Free matching state. Does nothing if 'mt' is NULL. */
void
match_free(struct matcher *mt)
{
    size_t i;

    if (mt == NULL)
        return;
    pcre2_match_data_free(mt->md);
    pcre2_match_context_free(mt->mctx);
    pcre2_jit_stack_free(mt->stack);
    for (i = 0; mt->memos != NULL && i < mt->nmemos; i++) {
        free(mt->memos[i].users);
        free(mt->memos[i].slots);
    }
    free(mt->memos);
    free(mt->first_cond);
    free(mt->cond_memo);
    free(mt->counted);
    free(mt->scoped);
    free(mt->cand);
    free(mt->spare);
    free(mt);
}

/* A fast 64-bit hash of a field value (a collision only costs a memo slot). */
static uint64_t
memo_hash(const char *p, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w = 0;
    uint32_t a, b;
    const char *end = p + len;

    for (; end - p > 8; p += 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    /* The last 1 to 8 bytes, read as fixed-size loads (overlapping ones if need be). */
    if (len >= 8) {
        memcpy(&w, end - 8, 8);
    } else if (len >= 4) {
        memcpy(&a, p, 4);
        memcpy(&b, end - 4, 4);
        w = (uint64_t)a << 32 | b;
    } else if (len > 0) {
        w = (uint64_t)(unsigned char)p[0] << 16 | (uint64_t)(unsigned char)p[len / 2] << 8 |
            (unsigned char)end[-1];
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 29);
}

/* The memo entry of value 'v', emptied if it held another value; the spare entry if too long. */
static struct memo_entry *
memo_entry(struct matcher *mt, const struct memo *mo, struct slice v)
{
    struct memo_entry *e;
    uint64_t h;

    if (v.len > MEMO_KEY_MAX) {
        e = mt->spare;
    } else {
        h = memo_hash(v.p, v.len);
        e = (struct memo_entry *)(void *)(mo->slots + (h & (mo->nslots - 1)) * mt->entry_size);
        if (e->hash == h && e->len == v.len && memcmp(e->key, v.p, v.len) == 0)
            return e;
        e->hash = h;
        e->len = (uint32_t)v.len;
        e->err = 0;
        memcpy(e->key, v.p, v.len);
    }
    if (e == mt->spare)
        e->err = 0;
    memset(e->bits, 0, 3 * mt->words * sizeof(uint64_t)); /* nothing known */
    return e;
}

/* Run condition 'c' on 'v': 1 it holds, 0 it does not, -1 a PCRE2 error (in mt->err). */
static int
cond_test(struct matcher *mt, const struct rules_cond *c, struct slice v)
{
    int rc;

    if (c->op == RULES_EQUAL)
        return v.len == c->len && memcmp(v.p, c->text, v.len) == 0;
    if (c->prefix_len > 0 &&
        (v.len < c->prefix_len || memcmp(v.p, c->text + 1, c->prefix_len) != 0))
        return c->op == RULES_NOT_MATCH;
    if (v.len < c->minlen || (c->has_first && (v.len == 0 || !(c->first[(uint8_t)v.p[0] / 8] &
                                                               1u << (uint8_t)v.p[0] % 8))))
        return c->op == RULES_NOT_MATCH;
    rc = c->jit ? pcre2_jit_match(c->re, (PCRE2_SPTR)v.p, v.len, 0, 0, mt->md, mt->mctx)
                : pcre2_match(c->re, (PCRE2_SPTR)v.p, v.len, 0, 0, mt->md, mt->mctx);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        mt->err = rc;
        return -1;
    }
    return (rc >= 0) != (c->op == RULES_NOT_MATCH);
}

/*
 * Test record 'r' against every condition of metric 'm', in order, without
 * the memo. On MATCH_NO or MATCH_ERROR, '*failed' (if not NULL) is the index
 * of the condition that decided it. Named groups of matching regexes are set
 * as captures in 'r', in scope until the next metric.
 */
enum match_result
match_metric(struct matcher *mt, const struct rules_metric *m, struct record *r, size_t *failed)
{
    size_t i;
    uint32_t g;

    record_begin_metric(r);
    for (i = 0; i < m->nconds; i++) {
        const struct rules_cond *c = &m->conds[i];
        struct slice v = record_get(r, c->field);
        int hit = cond_test(mt, c, v);

        if (hit == 1 && c->groups != NULL && c->op == RULES_MATCH) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(mt->md);

            for (g = 1; g < c->ngroups; g++) {
                if (c->groups[g] == UINT32_MAX)
                    continue;
                if (ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g])
                    record_set_capture(r, c->groups[g], "", 0);
                else
                    record_set_capture(r, c->groups[g], v.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
            }
        }
        if (hit != 1) {
            if (failed != NULL)
                *failed = i;
            return hit == 0 ? MATCH_NO : MATCH_ERROR;
        }
    }
    return MATCH_YES;
}

/* Test metric 'i''s conditions on memo 'k''s field against 'v', in order: 1, 0 or -1 (limit). */
static int
metric_on_field(struct matcher *mt, size_t i, size_t k, struct slice v)
{
    const struct rules_metric *m = &mt->rs->metrics[i];
    size_t j, at = mt->first_cond[i];
    int hit;

    for (j = 0; j < m->nconds; j++)
        if (mt->cond_memo[at + j] == (int)k && (hit = cond_test(mt, &m->conds[j], v)) != 1)
            return hit;
    return 1;
}

/*
 * The metrics (ratios excepted) that record 'r' may match, ascending, into
 * 'out' (room for every metric): a metric is out as soon as a field rules
 * it out, and fields are looked up only while some metric is left. For a
 * metric that match_scoped() names, only the conditions the memo can hold
 * were tested: the caller runs match_metric() on it and reads its captures
 * then. Returns how many, or -1 when a regex met a PCRE2 error, a match
 * limit or another (the line counts nowhere; match_error() says which).
 */
long
match_line(struct matcher *mt, struct record *r, size_t *out)
{
    uint64_t *cand = mt->cand, any, c;
    size_t k, w, nw = mt->words;
    long n = 0;

    memcpy(cand, mt->counted, nw * sizeof(uint64_t));
    for (k = 0; k < mt->nmemos; k++) {
        const struct memo *mo = &mt->memos[k];
        struct memo_entry *e;
        struct slice v;
        uint64_t *known, *ok, *limit;

        for (w = 0, any = 0; w < nw; w++)
            any |= cand[w] & mo->users[w];
        if (any == 0)
            continue;
        v = record_get(r, mo->field);
        e = memo_entry(mt, mo, v);
        known = e->bits;
        ok = known + nw;
        limit = ok + nw;
        for (w = 0, any = 0; w < nw; w++) {
            uint64_t need = cand[w] & mo->users[w] & ~known[w];

            while (need != 0) {
                size_t i = w * 64 + (size_t)__builtin_ctzll(need);
                int hit = metric_on_field(mt, i, k, v);

                need &= need - 1;
                known[w] |= 1ULL << (i % 64);
                if (hit == 1)
                    ok[w] |= 1ULL << (i % 64);
                else if (hit == -1 && e->err == 0)
                    e->err = mt->err;
                if (hit == -1)
                    limit[w] |= 1ULL << (i % 64);
            }
            if (cand[w] & mo->users[w] & limit[w]) {
                mt->err = e->err;
                return -1;
            }
            cand[w] &= ok[w] | ~mo->users[w];
            any |= cand[w];
        }
        if (any == 0)
            return 0;
    }
    for (w = 0; w < nw; w++)
        for (c = cand[w]; c != 0; c &= c - 1)
            out[n++] = w * 64 + (size_t)__builtin_ctzll(c);
    return n;
}

/*
 * What the last MATCH_ERROR (or match_line's -1) met: PCRE2's message in
 * 'msg'. Returns 1 for a match, depth, heap or JIT stack limit, 0 for any
 * other error.
 */
int
match_error(const struct matcher *mt, char *msg, size_t size)
{
    int rc = mt->err;

    if (pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, size) < 0 && size > 0)
        snprintf(msg, size, "PCRE2 error %d", rc);
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
           rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

/* Whether metric 'i' must be matched again with match_metric (see match_line). */
int
match_scoped(const struct matcher *mt, size_t i)
{
    return BIT(mt->scoped, i) != 0;
}

/*
 * Find the event time of a raw line: the first regex condition with a
 * named group "time" that matches the record and whose capture reads as a
 * timestamp (raw lines read with --clock=event). Returns 0 with
 * '*ts_ms' set, or -1.
 */
int
match_time(struct matcher *mt, const struct ruleset *rs, struct record *r, int64_t *ts_ms)
{
    size_t i, j;
    uint32_t g;

    for (i = 0; i < rs->nmetrics; i++) {
        for (j = 0; j < rs->metrics[i].nconds; j++) {
            const struct rules_cond *c = &rs->metrics[i].conds[j];
            struct slice v;
            PCRE2_SIZE *ov;

            if (c->groups == NULL || c->op != RULES_MATCH)
                continue;
            for (g = 1; g < c->ngroups; g++)
                if (c->groups[g] != UINT32_MAX &&
                    strcmp(rs->fields[c->groups[g]].name, "time") == 0)
                    break;
            if (g == c->ngroups)
                continue;
            v = record_get(r, c->field);
            if (pcre2_match(c->re, (PCRE2_SPTR)v.p, v.len, 0, 0, mt->md, mt->mctx) < 0)
                continue;
            ov = pcre2_get_ovector_pointer(mt->md);
            if (ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] > ov[2 * g] &&
                clock_parse_any_tz(v.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g], ts_ms, &r->tz_min) ==
                    0)
                return 0;
        }
    }
    return -1;
}

/*
 * The PCRE2 library rarr runs with: its version into 'version' ('size'
 * bytes, at least 32), and whether it can compile regexes to machine code
 * (returns 1 for JIT, else 0).
 */
int
match_library(char *version, size_t size)
{
    char v[64] = "unknown";
    uint32_t jit = 0;

    pcre2_config(PCRE2_CONFIG_VERSION, v);
    pcre2_config(PCRE2_CONFIG_JIT, &jit);
    snprintf(version, size, "%s", v);
    return jit != 0;
}
