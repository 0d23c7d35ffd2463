/*
 * match.c -- the "rule match" stage: PCRE2 regexes compiled once (with the
 * JIT where the platform has it) and a record tested against a metric.
 *
 * Regexes match bytes (no UTF checks unless a rule opts in with (*UTF)), so
 * invalid UTF-8 in a log line never stops a match. Every match runs under a
 * match limit and a depth limit with an explicitly sized JIT stack, so one
 * pathological regex cannot stall the stream: hitting a limit is reported as
 * MATCH_LIMIT and the pipeline counts the line as bad. Named groups become
 * fields of the record for the rest of the metric (SPEC section 3).
 */
#include "rarr/match.h"

#include <stdlib.h>
#include <string.h>

#include "rarr/clock.h"

#define MATCH_LIMIT_DEFAULT 1000000
#define DEPTH_LIMIT_DEFAULT 10000
#define JIT_STACK_MIN (32 * 1024)
#define JIT_STACK_MAX (1024 * 1024)
/*
 * The memo: a regex's verdict on a field value is a function of the bytes,
 * and log fields repeat (the same request, the same status), so each field
 * that regexes read gets a direct-mapped table of recent values with one
 * known/yes/limit bit per condition. Values longer than MEMO_KEY_MAX, and
 * conditions whose named groups must be extracted, are matched every time.
 */
#define MEMO_SLOTS 4096
#define MEMO_KEY_MAX 120
#define MEMO_BITS 64

struct memo_entry {
    uint64_t hash;
    uint64_t known, yes, limit; /* per condition bit */
    uint32_t len;
    char key[MEMO_KEY_MAX];
};

struct memo {
    size_t field;
    struct memo_entry *slots; /* [MEMO_SLOTS] */
    uint64_t next_bit;
    uint32_t gen; /* the line and value 'last' was looked up for */
    const char *last_p;
    size_t last_len;
    struct memo_entry *last;
};

struct matcher {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *stack;
    const struct ruleset *rs;
    size_t *first_cond; /* [nmetrics] index of a metric's first condition below */
    int *cond_memo;     /* [all conditions] memo number, or -1 */
    uint64_t *cond_bit; /* [all conditions] its bit in the memo entries */
    struct memo *memos;
    size_t nmemos;
    int captures; /* some regex has named groups: a field's value depends on the metric */
};

static int
compile_cond(struct ruleset *rs, struct rules_cond *c, struct diag *d)
{
    int err;
    PCRE2_SIZE off;
    uint32_t count, size, i, groups, opts;
    PCRE2_SPTR table;

    c->re = pcre2_compile((PCRE2_SPTR)c->text, c->len, 0, &err, &off, NULL);
    if (c->re == NULL) {
        PCRE2_UCHAR msg[256];
        unsigned col = c->loc.col;

        pcre2_get_error_message(err, msg, sizeof(msg));
        /* Point into the regex when the offset is in text the user wrote. */
        if (off <= c->literal_len)
            col += (unsigned)off;
        diag_set(d, c->loc.file, c->loc.line, col, "bad regex: %s (at offset %zu of '%s')",
                 (const char *)msg, (size_t)off, c->text);
        diag_source(d, c->srcline, strlen(c->srcline), 1);
        return -1;
    }
    /* Without the JIT, pcre2_match interprets: slower, the same results. */
    /*
     * pcre2_jit_match skips pcre2_match's checks, the UTF-8 validity of the
     * subject among them: a (*UTF) regex keeps pcre2_match, which sends an
     * invalid subject to "no match" instead of undefined behaviour.
     */
    pcre2_pattern_info(c->re, PCRE2_INFO_ALLOPTIONS, &opts);
    c->jit = pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE) == 0 && !(opts & PCRE2_UTF);
    pcre2_pattern_info(c->re, PCRE2_INFO_CAPTURECOUNT, &groups);
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMETABLE, &table);
    c->ngroups = groups + 1;
    if (count == 0)
        return 0;
    if ((c->groups = malloc(c->ngroups * sizeof(*c->groups))) == NULL)
        goto oom;
    for (i = 0; i < c->ngroups; i++)
        c->groups[i] = UINT32_MAX;
    for (i = 0; i < count; i++) {
        PCRE2_SPTR e = table + (size_t)i * size;
        uint32_t g = ((uint32_t)e[0] << 8) | e[1];
        size_t f = rules_field(rs, (const char *)e + 2);

        if (f == SIZE_MAX)
            goto oom;
        c->groups[g] = (uint32_t)f;
        rs->fields[f].captured = 1;
    }
    return 0;
oom:
    diag_set(d, c->loc.file, c->loc.line, 0, "out of memory");
    return -1;
}

/*
 * Compile every regex condition of the ruleset. Named groups are entered in
 * the field table. Returns 0, or -1 with 'd' naming the rule, PCRE2's
 * message and the column of the error.
 */
int
match_compile(struct ruleset *rs, struct diag *d)
{
    size_t i, j;

    for (i = 0; i < rs->nmetrics; i++) {
        struct rules_metric *m = &rs->metrics[i];

        for (j = 0; j < m->nconds; j++)
            if (m->conds[j].op != RULES_EQUAL && m->conds[j].re == NULL &&
                compile_cond(rs, &m->conds[j], d) == -1)
                return -1;
    }
    return 0;
}

/*
 * Make the per-thread matching state for a compiled ruleset: match data
 * big enough for the regex with the most groups, limits, JIT stack.
 * Returns NULL on out-of-memory.
 */
struct matcher *
match_new(const struct ruleset *rs, uint32_t match_limit, uint32_t depth_limit)
{
    struct matcher *mt = calloc(1, sizeof(*mt));
    uint32_t most = 1;
    size_t i, j, k, n = 0;

    if (mt == NULL)
        return NULL;
    mt->rs = rs;
    for (i = 0; i < rs->nmetrics; i++)
        n += rs->metrics[i].nconds;
    mt->first_cond = calloc(rs->nmetrics + 1, sizeof(*mt->first_cond));
    mt->cond_memo = calloc(n + 1, sizeof(*mt->cond_memo));
    mt->cond_bit = calloc(n + 1, sizeof(*mt->cond_bit));
    mt->memos = calloc(n + 1, sizeof(*mt->memos));
    if (mt->first_cond == NULL || mt->cond_memo == NULL || mt->cond_bit == NULL ||
        mt->memos == NULL)
        goto oom;
    for (i = 0, n = 0; i < rs->nmetrics; i++) {
        mt->first_cond[i] = n;
        for (j = 0; j < rs->metrics[i].nconds; j++, n++) {
            const struct rules_cond *c = &rs->metrics[i].conds[j];

            if (c->ngroups > most)
                most = c->ngroups;
            if (c->groups != NULL)
                mt->captures = 1;
            mt->cond_memo[n] = -1;
            if (c->op == RULES_EQUAL || (c->groups != NULL && c->op == RULES_MATCH))
                continue;
            for (k = 0; k < mt->nmemos && mt->memos[k].field != c->field; k++)
                ;
            if (k == mt->nmemos) {
                mt->memos[k].field = c->field;
                mt->memos[k].slots = calloc(MEMO_SLOTS, sizeof(*mt->memos[k].slots));
                if (mt->memos[k].slots == NULL)
                    goto oom;
                mt->nmemos++;
            }
            if (mt->memos[k].next_bit == MEMO_BITS)
                continue;
            mt->cond_memo[n] = (int)k;
            mt->cond_bit[n] = 1ULL << mt->memos[k].next_bit++;
        }
    }
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
    for (i = 0; mt->memos != NULL && i < mt->nmemos; i++)
        free(mt->memos[i].slots);
    free(mt->memos);
    free(mt->first_cond);
    free(mt->cond_memo);
    free(mt->cond_bit);
    free(mt);
}

/* A fast 64-bit hash of a field value (a collision only costs a memo slot). */
static uint64_t
memo_hash(const char *p, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;

    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, p, len);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 29);
}

/* The memo entry of value 'v' (of this line), emptied if it held another value; NULL if too long.
 */
static struct memo_entry *
memo_entry(struct memo *mo, const struct record *r, struct slice v)
{
    struct memo_entry *e;
    uint64_t h;

    if (mo->gen == r->line_gen && mo->last_p == v.p && mo->last_len == v.len)
        return mo->last;
    mo->gen = r->line_gen;
    mo->last_p = v.p;
    mo->last_len = v.len;
    mo->last = NULL;
    if (v.len > MEMO_KEY_MAX)
        return NULL;
    h = memo_hash(v.p, v.len);
    e = &mo->slots[h & (MEMO_SLOTS - 1)];
    if (e->hash != h || e->len != v.len || memcmp(e->key, v.p, v.len) != 0) {
        e->hash = h;
        e->len = (uint32_t)v.len;
        memcpy(e->key, v.p, v.len);
        e->known = e->yes = e->limit = 0;
    }
    return mo->last = e;
}

/* Run condition 'c' on 'v': 1 match, 0 no match, -1 a match limit. */
static int
run_regex(struct matcher *mt, const struct rules_cond *c, struct slice v)
{
    int rc = c->jit ? pcre2_jit_match(c->re, (PCRE2_SPTR)v.p, v.len, 0, 0, mt->md, mt->mctx)
                    : pcre2_match(c->re, (PCRE2_SPTR)v.p, v.len, 0, 0, mt->md, mt->mctx);

    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
        return -1;
    return rc >= 0;
}

/*
 * Test record 'r' against every condition of metric 'm', in order. On
 * MATCH_NO or MATCH_LIMIT, '*failed' (if not NULL) is the index of the
 * condition that decided it. Named groups of matching regexes are set as
 * captures in 'r'. A regex's verdict on a value seen recently comes from
 * the memo.
 */
enum match_result
match_metric(struct matcher *mt, const struct rules_metric *m, struct record *r, size_t *failed)
{
    size_t i, at = mt->first_cond[m - mt->rs->metrics];
    uint32_t g;

    record_begin_metric(r);
    for (i = 0; i < m->nconds; i++, at++) {
        const struct rules_cond *c = &m->conds[i];
        struct slice v = record_get(r, c->field);
        struct memo_entry *e;
        uint64_t bit = mt->cond_bit[at];
        int hit;

        if (c->op == RULES_EQUAL) {
            hit = v.len == c->len && memcmp(v.p, c->text, v.len) == 0;
        } else {
            e = mt->cond_memo[at] >= 0 ? memo_entry(&mt->memos[mt->cond_memo[at]], r, v) : NULL;
            if (e != NULL && (e->known & bit)) {
                hit = (e->limit & bit) ? -1 : (e->yes & bit) != 0;
            } else {
                hit = run_regex(mt, c, v);
                if (e != NULL) {
                    e->known |= bit;
                    e->yes |= hit == 1 ? bit : 0;
                    e->limit |= hit == -1 ? bit : 0;
                }
            }
            if (hit == -1) {
                if (failed != NULL)
                    *failed = i;
                return MATCH_LIMIT;
            }
            if (hit && c->groups != NULL && c->op == RULES_MATCH) {
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(mt->md);

                for (g = 1; g < c->ngroups; g++) {
                    if (c->groups[g] == UINT32_MAX)
                        continue;
                    if (ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g])
                        record_set_capture(r, c->groups[g], "", 0);
                    else
                        record_set_capture(r, c->groups[g], v.p + ov[2 * g],
                                           ov[2 * g + 1] - ov[2 * g]);
                }
            }
            if (c->op == RULES_NOT_MATCH)
                hit = !hit;
        }
        if (!hit) {
            if (failed != NULL)
                *failed = i;
            return MATCH_NO;
        }
    }
    return MATCH_YES;
}

/*
 * Test record 'r' against every metric of the ruleset (ratios excepted):
 * res[i] and failed[i] as match_metric gives them. Without named captures a
 * field's value is the same for every metric of the line, so a metric whose
 * first condition the memo already decided against costs a few loads, not
 * a call. With captures, the caller must read a metric's fields right after
 * matching it (its captures are in scope only then): use match_metric.
 * Returns 1 if some metric hit a match limit, else 0.
 */
/* Whether some regex has named groups (see match_line). */
int
match_captures(const struct matcher *mt)
{
    return mt->captures;
}

int
match_line(struct matcher *mt, struct record *r, enum match_result *res, size_t *failed)
{
    const struct ruleset *rs = mt->rs;
    size_t i;
    int limit = 0;

    for (i = 0; i < rs->nmetrics; i++) {
        const struct rules_metric *m = &rs->metrics[i];

        if (m->kind == RULES_RATIO)
            continue;
        if (!mt->captures && m->nconds > 0) {
            size_t at = mt->first_cond[i];
            int k = mt->cond_memo[at];

            if (k >= 0 && mt->memos[k].gen == r->line_gen && mt->memos[k].last != NULL) {
                const struct memo_entry *e = mt->memos[k].last;
                uint64_t bit = mt->cond_bit[at];

                if ((e->known & bit) && !(e->limit & bit) &&
                    ((e->yes & bit) != 0) == (m->conds[0].op == RULES_NOT_MATCH)) {
                    res[i] = MATCH_NO;
                    failed[i] = 0;
                    continue;
                }
            }
        }
        res[i] = match_metric(mt, m, r, &failed[i]);
        limit |= res[i] == MATCH_LIMIT;
    }
    return limit;
}

/*
 * Find the event time of a raw line: the first regex condition with a
 * named group "time" that matches the record and whose capture reads as a
 * timestamp (SPEC section 2, raw with --clock=event). Returns 0 with
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
