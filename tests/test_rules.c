/*
 * test_rules.c -- unit tests of the rule-file parser (src/rules_parse.c) and
 * the ruleset it builds (src/rules.c): the rule language of docs/rules.md.
 *
 * Valid files: defines expanded in later defines and metrics, categories,
 * the three condition operators, quoting and comments, sum=, ratios written
 * with and without spaces, alert options and the generated rule text. Then
 * every error the parser and rules_finish() report, each pinned to its exact
 * message and FILE:LINE:COL, and rules_load_path() on directories and on a
 * missing file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#include "rarr/buf.h"
#include "rarr/keys.h"
#include "rarr/rules.h"
#include "rarr/rules_parse.h"

#define FILE_NAME "t.rarr"
#define STEP_MS 60000

/* Parse 'text' that must be valid; the caller frees the ruleset. */
static struct ruleset *
parse_ok(const char *text)
{
    struct ruleset *rs = rules_new();
    struct diag d;

    assert_non_null(rs);
    memset(&d, 0, sizeof(d));
    if (rules_parse(rs, FILE_NAME, text, strlen(text), &d) != 0)
        fail_msg("unexpected error %s:%u:%u: %s", d.file, d.line, d.col, d.msg);
    return rs;
}

/* Parse and finish 'text' that must be valid; the caller frees the ruleset. */
static struct ruleset *
finish_ok(const char *text)
{
    struct ruleset *rs = parse_ok(text);
    struct diag d;

    memset(&d, 0, sizeof(d));
    if (rules_finish(rs, STEP_MS, &d) != 0)
        fail_msg("unexpected error %s:%u:%u: %s", d.file, d.line, d.col, d.msg);
    return rs;
}

static void
check_diag(const struct diag *d, const char *file, unsigned line, unsigned col, const char *msg)
{
    assert_string_equal(d->msg, msg);
    assert_string_equal(d->file, file);
    assert_int_equal(d->line, line);
    assert_int_equal(d->col, col);
}

/* 'len' bytes of 'text' must fail rules_parse with exactly this diagnostic. */
static void
parse_error_len(const char *text, size_t len, unsigned line, unsigned col, const char *msg)
{
    struct ruleset *rs = rules_new();
    struct diag d;

    assert_non_null(rs);
    memset(&d, 0, sizeof(d));
    assert_int_equal(rules_parse(rs, FILE_NAME, text, len, &d), -1);
    check_diag(&d, FILE_NAME, line, col, msg);
    rules_free(rs);
}

static void
parse_error(const char *text, unsigned line, unsigned col, const char *msg)
{
    parse_error_len(text, strlen(text), line, col, msg);
}

/* 'text' parses but rules_finish(step_ms) fails with exactly this diagnostic. */
static void
finish_error(const char *text, int64_t step_ms, unsigned line, unsigned col, const char *msg)
{
    struct ruleset *rs = parse_ok(text);
    struct diag d;

    memset(&d, 0, sizeof(d));
    assert_int_equal(rules_finish(rs, step_ms, &d), -1);
    check_diag(&d, FILE_NAME, line, col, msg);
    rules_free(rs);
}

static const char *
field_name(const struct ruleset *rs, size_t field)
{
    assert_true(field < rs->nfields);
    return rs->fields[field].name;
}

/* ---- valid rule files ---- */

static void
test_rules_define_used_in_later_define_and_metric(void **state)
{
    struct ruleset *rs;
    const struct rules_cond *c;

    (void)state;
    rs = finish_ok("define ID '[0-9]+'\n"
                   "define USER '/users/%{ID}'\n"
                   "metric profile request~'^GET %{USER}(/edit)?$'\n");
    assert_int_equal(rs->ndefines, 2);
    assert_string_equal(rs->defines[0].name, "ID");
    assert_string_equal(rs->defines[0].text, "[0-9]+");
    assert_string_equal(rs->defines[1].name, "USER");
    assert_string_equal(rs->defines[1].text, "/users/[0-9]+");
    assert_int_equal(rs->nmetrics, 1);
    c = &rs->metrics[0].conds[0];
    assert_string_equal(c->text, "^GET /users/[0-9]+(/edit)?$");
    assert_int_equal(c->len, strlen("^GET /users/[0-9]+(/edit)?$"));
    assert_int_equal(c->literal_len, 5);
    assert_non_null(c->re);
    rules_free(rs);
}

static void
test_rules_metric_category_and_conditions(void **state)
{
    struct ruleset *rs;
    const struct rules_metric *m;

    (void)state;
    rs = parse_ok("metric profile   rarr=retention request~'^GET /p' status!~'^5' method='GET'\n"
                  "metric a rarr=activation\n"
                  "metric b rarr=revenue\n"
                  "metric c rarr=referral\n"
                  "metric d\n");
    assert_int_equal(rs->nmetrics, 5);
    m = &rs->metrics[0];
    assert_string_equal(m->name, "profile");
    assert_int_equal(m->category, RULES_RETENTION);
    assert_int_equal(m->kind, RULES_COUNT);
    assert_string_equal(m->loc.file, FILE_NAME);
    assert_int_equal(m->loc.line, 1);
    assert_int_equal(m->loc.col, 8);
    assert_int_equal(m->nconds, 3);
    assert_string_equal(field_name(rs, m->conds[0].field), "request");
    assert_int_equal(m->conds[0].op, RULES_MATCH);
    assert_string_equal(m->conds[0].text, "^GET /p");
    assert_int_equal(m->conds[0].loc.line, 1);
    assert_int_equal(m->conds[0].loc.col, 42);
    assert_string_equal(field_name(rs, m->conds[1].field), "status");
    assert_int_equal(m->conds[1].op, RULES_NOT_MATCH);
    assert_string_equal(m->conds[1].text, "^5");
    assert_string_equal(field_name(rs, m->conds[2].field), "method");
    assert_int_equal(m->conds[2].op, RULES_EQUAL);
    assert_string_equal(m->conds[2].text, "GET");
    assert_int_equal(m->conds[2].len, 3);
    assert_int_equal(rs->metrics[1].category, RULES_ACTIVATION);
    assert_int_equal(rs->metrics[2].category, RULES_REVENUE);
    assert_int_equal(rs->metrics[3].category, RULES_REFERRAL);
    assert_int_equal(rs->metrics[4].category, RULES_NONE);
    assert_int_equal(rs->metrics[4].nconds, 0);
    assert_int_equal(rs->metrics[4].kind, RULES_COUNT);
    assert_string_equal(rules_category_name(RULES_RETENTION), "retention");
    assert_string_equal(rules_category_name(RULES_NONE), "");
    rules_free(rs);
}

/* The words of the language for operators, seasons and directions have one home. */
static void
test_rules_enum_names(void **state)
{
    (void)state;
    assert_string_equal(rules_op_name(RULES_MATCH), "~");
    assert_string_equal(rules_op_name(RULES_NOT_MATCH), "!~");
    assert_string_equal(rules_op_name(RULES_EQUAL), "=");
    assert_string_equal(rules_season_name(RULES_SEASON_NONE), "none");
    assert_string_equal(rules_season_name(RULES_SEASON_DAILY), "daily");
    assert_string_equal(rules_season_name(RULES_SEASON_WEEKLY), "weekly");
    assert_string_equal(rules_direction_name(RULES_BOTH), "both");
    assert_string_equal(rules_direction_name(RULES_DROP), "drop");
    assert_string_equal(rules_direction_name(RULES_SPIKE), "spike");
    assert_null(rules_season_name((enum rules_season)3));
    assert_null(rules_category_name((enum rules_category)5));
}

static void
test_rules_quoted_values_keep_spaces(void **state)
{
    struct ruleset *rs;
    const struct rules_metric *m;

    (void)state;
    rs = parse_ok(
        "metric agent user_agent='Mozilla 5.0 (X11; Linux)' request~'^GET '/x status=''\n");
    m = &rs->metrics[0];
    assert_int_equal(m->nconds, 3);
    assert_int_equal(m->conds[0].op, RULES_EQUAL);
    assert_string_equal(m->conds[0].text, "Mozilla 5.0 (X11; Linux)");
    assert_int_equal(m->conds[0].len, strlen("Mozilla 5.0 (X11; Linux)"));
    /* A quoted run may be followed by more of the same word. */
    assert_string_equal(m->conds[1].text, "^GET /x");
    /* '' is the empty string: equal to a field the record lacks. */
    assert_string_equal(field_name(rs, m->conds[2].field), "status");
    assert_int_equal(m->conds[2].op, RULES_EQUAL);
    assert_string_equal(m->conds[2].text, "");
    assert_int_equal(m->conds[2].len, 0);
    rules_free(rs);
}

static void
test_rules_comments_and_blank_lines(void **state)
{
    struct ruleset *rs;

    (void)state;
    rs = parse_ok("# a comment line\n"
                  "\n"
                  "   \t  \n"
                  "   # an indented comment\n"
                  "metric a referer~'#not a comment' # a trailing comment 'with a quote\n"
                  "\tmetric b\trequest~'x'#no space before this comment\n"
                  "metric c request~'y'\r\n"
                  "metric d");
    assert_int_equal(rs->nmetrics, 4);
    assert_string_equal(rs->metrics[0].name, "a");
    assert_int_equal(rs->metrics[0].loc.line, 5);
    assert_int_equal(rs->metrics[0].nconds, 1);
    assert_string_equal(rs->metrics[0].conds[0].text, "#not a comment");
    assert_string_equal(rs->metrics[1].name, "b");
    assert_int_equal(rs->metrics[1].loc.line, 6);
    assert_int_equal(rs->metrics[1].loc.col, 9);
    assert_int_equal(rs->metrics[1].nconds, 1);
    assert_string_equal(rs->metrics[1].conds[0].text, "x");
    /* A CRLF line ending is not part of the last word. */
    assert_string_equal(rs->metrics[2].conds[0].text, "y");
    /* The last line may lack a newline. */
    assert_string_equal(rs->metrics[3].name, "d");
    assert_int_equal(rs->metrics[3].loc.line, 8);
    rules_free(rs);
}

static void
test_rules_sum_kind(void **state)
{
    struct ruleset *rs;
    const struct rules_metric *m;

    (void)state;
    rs = parse_ok("metric revenue rarr=revenue event='paid' sum=amount\n"
                  "metric v sum=value\n");
    m = &rs->metrics[0];
    assert_int_equal(m->kind, RULES_SUM);
    assert_string_equal(field_name(rs, m->value_field), "amount");
    assert_int_equal(m->nconds, 1);
    assert_string_equal(field_name(rs, m->conds[0].field), "event");
    assert_int_equal(m->category, RULES_REVENUE);
    m = &rs->metrics[1];
    assert_int_equal(m->kind, RULES_SUM);
    assert_int_equal(m->nconds, 0);
    assert_string_equal(field_name(rs, m->value_field), "value");
    rules_free(rs);
}

static void
test_rules_ratio_with_and_without_spaces(void **state)
{
    struct ruleset *rs;
    const struct rules_metric *m;

    (void)state;
    rs = finish_ok("metric dashboard_views rarr=retention request~'^GET /dashboard'\n"
                   "metric login_views request~'^GET /login'\n"
                   "ratio login_success = dashboard_views / login_views * 100 min=20\n"
                   "ratio compact = dashboard_views/login_views*100\n"
                   "ratio plain = login_views / dashboard_views rarr=referral\n"
                   "ratio tight = login_views/dashboard_views # a comment\n"
                   "ratio nospace=login_views/dashboard_views*2 min=3\n");
    assert_int_equal(rs->nmetrics, 7);
    m = &rs->metrics[2];
    assert_string_equal(m->name, "login_success");
    assert_int_equal(m->kind, RULES_RATIO);
    assert_string_equal(m->a_name, "dashboard_views");
    assert_string_equal(m->b_name, "login_views");
    assert_int_equal(m->a, 0);
    assert_int_equal(m->b, 1);
    assert_true(m->k == 100);
    assert_true(m->min == 20);
    assert_int_equal(m->category, RULES_RETENTION);
    m = &rs->metrics[3];
    assert_string_equal(m->a_name, "dashboard_views");
    assert_string_equal(m->b_name, "login_views");
    assert_int_equal(m->a, 0);
    assert_int_equal(m->b, 1);
    assert_true(m->k == 100);
    assert_true(m->min == 1);
    m = &rs->metrics[4];
    assert_int_equal(m->a, 1);
    assert_int_equal(m->b, 0);
    assert_true(m->k == 1);
    assert_true(m->min == 1);
    assert_int_equal(m->category, RULES_REFERRAL);
    /* Without its own category a ratio takes A's, else B's. */
    m = &rs->metrics[5];
    assert_int_equal(m->a, 1);
    assert_int_equal(m->b, 0);
    assert_int_equal(m->category, RULES_RETENTION);
    m = &rs->metrics[6];
    assert_string_equal(m->name, "nospace");
    assert_int_equal(m->a, 1);
    assert_int_equal(m->b, 0);
    assert_true(m->k == 2);
    assert_true(m->min == 3);
    rules_free(rs);
}

static void
test_rules_alert_options(void **state)
{
    struct ruleset *rs;
    const struct rules_alert *a;

    (void)state;
    rs = finish_ok("metric signups rarr=activation request~'^POST /signup'\n"
                   "alert signups window=15m below=70 for=5m\n"
                   "alert signups window=1h30m above=2.5 clear=1 name=signup-spike\n"
                   "alert signups window=1d below=0.5 clear=0.75 for=0s name='slow signups'\n");
    assert_int_equal(rs->nalerts, 3);
    a = &rs->alerts[0];
    assert_string_equal(a->metric_name, "signups");
    assert_int_equal(a->metric, 0);
    assert_int_equal(a->above, 0);
    assert_true(a->threshold == 70);
    assert_true(a->clear == 70);
    assert_int_equal(a->window_ms, 15 * 60000);
    assert_int_equal(a->for_ms, 5 * 60000);
    assert_string_equal(a->rule, "signups below 70 over 15m");
    assert_int_equal(a->loc.line, 2);
    assert_int_equal(a->loc.col, 7);
    assert_int_equal(a->window_loc.col, 15);
    a = &rs->alerts[1];
    assert_int_equal(a->above, 1);
    assert_true(a->threshold == 2.5);
    assert_true(a->clear == 1);
    assert_int_equal(a->window_ms, 90 * 60000);
    assert_int_equal(a->for_ms, 0);
    assert_string_equal(a->rule, "signup-spike");
    a = &rs->alerts[2];
    assert_int_equal(a->above, 0);
    assert_true(a->threshold == 0.5);
    assert_true(a->clear == 0.75);
    assert_int_equal(a->window_ms, 86400000);
    assert_int_equal(a->for_ms, 0);
    assert_string_equal(a->rule, "slow signups");
    rules_free(rs);
}

static void
test_rules_generated_rule_text(void **state)
{
    struct ruleset *rs;

    (void)state;
    rs = finish_ok("metric dashboard_views\n"
                   "metric login_views\n"
                   "ratio login_success = dashboard_views / login_views * 100 min=20\n"
                   "alert login_success window=15m below=70 for=5m\n"
                   "alert login_views window=1h30m above=2.5\n"
                   "alert login_views window=1w below=0.001\n"
                   "alert login_views window=90m above=1e6 clear=-3\n");
    assert_string_equal(rs->alerts[0].rule, "login_success below 70 over 15m");
    assert_int_equal(rs->alerts[0].metric, 2);
    assert_string_equal(rs->alerts[1].rule, "login_views above 2.5 over 1h30m");
    assert_string_equal(rs->alerts[2].rule, "login_views below 0.001 over 1w");
    assert_string_equal(rs->alerts[3].rule, "login_views above 1000000 over 1h30m");
    rules_free(rs);
}

/* ---- errors reported while parsing ---- */

static void
test_rules_error_unknown_directive(void **state)
{
    (void)state;
    parse_error("# rules\n\nmetrc a request~'^GET /'\n", 3, 1,
                "unknown directive 'metrc' (did you mean 'metric'?)");
    parse_error("  Metric a\n", 1, 3, "unknown directive 'Metric' (did you mean 'metric'?)");
    parse_error("alrt a window=1m below=1\n", 1, 1,
                "unknown directive 'alrt' (did you mean 'alert'?)");
    parse_error("gauge a\n", 1, 1,
                "unknown directive 'gauge' (expected define, metric, ratio, alert or anomaly)");
}

static void
test_rules_error_unterminated_quote(void **state)
{
    (void)state;
    parse_error("metric a request~'^GET /\n", 1, 18,
                "unterminated quote (a quote inside a regex is written \\x27)");
    parse_error("metric a\nmetric b request~'it's'\n", 2, 23,
                "unterminated quote (a quote inside a regex is written \\x27)");
}

static void
test_rules_error_bad_name(void **state)
{
    (void)state;
    parse_error("metric 9lives\n", 1, 8,
                "bad name '9lives' (letters, digits and _, not starting with a digit)");
    parse_error("metric log-ins request~'x'\n", 1, 8,
                "bad name 'log-ins' (letters, digits and _, not starting with a digit)");
    parse_error("define my-pat 'x'\n", 1, 8,
                "bad name 'my-pat' (letters, digits and _, not starting with a digit)");
    parse_error("metric a\nmetric b\nratio 2r = a / b\n", 3, 7,
                "bad name '2r' (letters, digits and _, not starting with a digit)");
}

static void
test_rules_error_duplicate_metric(void **state)
{
    (void)state;
    parse_error("metric a\nmetric a request~'^POST /'\n", 2, 8,
                "'a' is already defined at t.rarr:1");
    parse_error("metric a\nmetric b\nratio a = a / b\n", 3, 7,
                "'a' is already defined at t.rarr:1");
    parse_error("metric a\nmetric b\nratio r = a / b\n\nmetric r\n", 5, 8,
                "'r' is already defined at t.rarr:3");
}

static void
test_rules_error_duplicate_define(void **state)
{
    (void)state;
    parse_error("define X 'a'\ndefine X 'b'\n", 2, 8, "pattern 'X' is already defined");
}

static void
test_rules_error_undefined_pattern(void **state)
{
    (void)state;
    parse_error("define X 'x'\nmetric a request~'^GET %{Y}'\n", 2, 24,
                "undefined pattern '%{Y}' (define it earlier with: define NAME 'REGEX')");
    parse_error("define A '(%{B})'\n", 1, 12,
                "undefined pattern '%{B}' (define it earlier with: define NAME 'REGEX')");
    /* A define must come before its use, and the error says where it is. */
    parse_error("metric a request~'%{X}'\n\n  define  X 'x'\n", 1, 19,
                "pattern '%{X}' is defined later, at line 3 (a define must come before the rules "
                "that use it)");
    /* A define of a longer name is not that one. */
    parse_error("metric a request~'%{X}'\ndefine XY 'x'\n", 1, 19,
                "undefined pattern '%{X}' (define it earlier with: define NAME 'REGEX')");
    parse_error("define LOGIN 'x'\nmetric a request~'%{LOGN}'\n", 2, 19,
                "undefined pattern '%{LOGN}' (did you mean '%{LOGIN}'?)");
}

static void
test_rules_error_unknown_category(void **state)
{
    (void)state;
    parse_error("metric a rarr=sales\n", 1, 15,
                "unknown category 'sales' (expected retention, activation, revenue or referral)");
    parse_error("metric a\nmetric b\nratio r = a / b rarr=fun\n", 3, 22,
                "unknown category 'fun' (expected retention, activation, revenue or referral)");
}

static void
test_rules_error_condition_without_operator(void **state)
{
    (void)state;
    parse_error("metric a request\n", 1, 10,
                "expected a condition like field~'regex', field!~'regex' or field='text', or an "
                "option, got 'request'");
    parse_error("metric a status~'^2' ~'x'\n", 1, 22,
                "expected a condition like field~'regex', field!~'regex' or field='text', or an "
                "option, got '~'x''");
    /* An operator inside quotes is not one. */
    parse_error("metric a 'a=b'\n", 1, 10,
                "expected a condition like field~'regex', field!~'regex' or field='text', or an "
                "option, got ''a=b''");
}

static void
test_rules_error_unsupported_kind(void **state)
{
    struct ruleset *rs;

    (void)state;
    /* distinct=, the quantiles and max= are kinds: one of them at most, not with by=. */
    rs = finish_ok("metric a distinct=remote_addr\n"
                   "metric b request~'x' p95=rt\n"
                   "metric c p50=x\nmetric d p90=x\nmetric e p99=x\nmetric f p999=x\n"
                   "metric g max=duration_ms\n"
                   "alert b window=5m above=1.5\n");
    assert_int_equal(rs->metrics[0].kind, RULES_DISTINCT);
    assert_string_equal(field_name(rs, rs->metrics[0].value_field), "remote_addr");
    assert_int_equal(rs->metrics[1].kind, RULES_QUANTILE);
    assert_true(rs->metrics[1].q == 0.95);
    assert_string_equal(rules_kind_option(&rs->metrics[1]), "p95");
    assert_string_equal(rules_kind_option(&rs->metrics[5]), "p999");
    assert_true(rs->metrics[6].q == 1);
    assert_string_equal(rules_kind_option(&rs->metrics[6]), "max");
    rules_free(rs);
    parse_error("metric a p95=x sum=y\n", 1, 16, "a metric has one kind at most");
    parse_error(
        "metric a distinct=x by=path\n", 1, 21,
        "by= with distinct= is not supported by this version of rarr (by= counts and sums)");
    finish_error("metric a p99=x\nanomaly a window=1h\n", STEP_MS, 2, 9,
                 "an anomaly rule on a distinct= or quantile metric is not supported by this "
                 "version of rarr (threshold alerts are)");
    finish_error("metric a distinct=x\nmetric b\nratio r = a / b\n", STEP_MS, 3, 11,
                 "a ratio of a distinct= or quantile metric is not supported by this version of "
                 "rarr (ratios divide counts and sums)");
}

/* by=FIELD [max_keys=N]: a series per value of the field, at most N of them. */
static void
test_rules_alert_metadata(void **state)
{
    struct ruleset *rs;

    (void)state;
    rs = finish_ok("metric a status~.\nalert a window=5m above=1 label.severity=page "
                   "label.team='web ops' summary='{value} > {threshold} {' runbook=https://x/y\n");
    assert_int_equal(rs->alerts[0].nlabels, 2);
    assert_string_equal(rs->alerts[0].labels[1].name, "team");
    assert_string_equal(rs->alerts[0].labels[1].value, "web ops");
    assert_string_equal(rs->alerts[0].summary, "{value} > {threshold} {");
    assert_string_equal(rs->alerts[0].runbook, "https://x/y");
    rules_free(rs);
    parse_error("metric a\nalert a window=5m above=1 label.alertname=x\n", 2, 27,
                "label.alertname is set by rarr itself");
    parse_error("metric a\nalert a window=5m above=1 label.__x=1\n", 2, 27,
                "a label name is letters, digits and '_', not starting with a digit or '__'");
    parse_error("metric a\nalert a window=5m above=1 label.a=1 label.a=2\n", 2, 37,
                "label.a is given twice");
    parse_error("metric a\nanomaly a window=5m summary='{vlaue}'\n", 2, 30,
                "summary= has an unknown {vlaue} (did you mean {value}?)");
    parse_error("metric a\nanomaly a window=5m runbook=''\n", 2, 21, "runbook= cannot be empty");
    parse_error("metric a\nanomaly a window=5m summary=a summary=b\n", 2, 31,
                "summary= is given twice");
}

static void
test_rules_by(void **state)
{
    struct ruleset *rs;

    (void)state;
    rs = finish_ok("metric a request~'^GET ' by=status\n"
                   "metric b sum=bytes by=path max_keys=5\n"
                   "alert b window=5m above=100\n");
    assert_string_equal(field_name(rs, rs->metrics[0].by_field), "status");
    assert_int_equal(rs->metrics[0].max_keys, KEYS_DEFAULT);
    assert_int_equal(rs->metrics[1].kind, RULES_SUM);
    assert_string_equal(field_name(rs, rs->metrics[1].by_field), "path");
    assert_int_equal(rs->metrics[1].max_keys, 5);
    rules_free(rs);
    parse_error("metric a max_keys=5\n", 1, 10,
                "max_keys= caps the keys of by=FIELD, which this metric does not have");
    parse_error("metric a by=path max_keys=0\n", 1, 27,
                "max_keys= is a whole number from 1 to 100000");
    parse_error("metric a by=path max_keys=2.5\n", 1, 27,
                "max_keys= is a whole number from 1 to 100000");
    parse_error("metric a by=path max_keys=100001\n", 1, 27,
                "max_keys= is a whole number from 1 to 100000");
    parse_error("metric a by=path by=status\n", 1, 18, "by= is given twice");
    parse_error("metric a by=''\n", 1, 10, "by= needs a field");
    finish_error("metric a by=path\nmetric b\nratio r = b / a\n", STEP_MS, 3, 15,
                 "a ratio of a metric without by= over a by= metric is not supported (a by= "
                 "metric over a plain one gives each key over the total)");
    finish_error("metric a by=path\nmetric b by=status\nratio r = a / b\n", STEP_MS, 3, 15,
                 "a ratio of two by= metrics needs one by= field: 'a' has by=path, 'b' by=status");
    finish_error("metric a by=path\nmetric b by=path max_keys=3\nratio r = a / b\n", STEP_MS, 3, 15,
                 "a ratio of two by= metrics needs one max_keys (they share their keys): 'a' has "
                 "100, 'b' 3");
    finish_error("metric a by=path max_keys=200\nmetric b by=path max_keys=200\nratio r = a / b\n"
                 "anomaly r window=1h\n",
                 STEP_MS, 4, 9,
                 "an anomaly rule keeps a detector of about 38 KB per key: 'a' has max_keys=200, "
                 "at most 100 here");
    rules_free(finish_ok("metric a by=path max_keys=100\nanomaly a window=1h\n"));
}

static void
test_rules_anomaly_options(void **state)
{
    struct ruleset *rs;
    const struct rules_alert *a;

    (void)state;
    rs = finish_ok("metric signups\n"
                   "anomaly signups window=1h\n"
                   "anomaly signups window=15m season=daily direction=drop sensitivity=high "
                   "min=5 for=2m name=no-signups\n");
    assert_int_equal(rs->nalerts, 2);
    a = &rs->alerts[0];
    assert_true(a->anomaly);
    assert_int_equal(a->season, RULES_SEASON_WEEKLY);
    assert_int_equal(a->direction, RULES_BOTH);
    assert_true(a->far == 0.1);
    assert_true(a->min == 10);
    assert_false(a->min_given);
    assert_string_equal(a->rule, "signups anomaly over 1h");
    a = &rs->alerts[1];
    assert_int_equal(a->season, RULES_SEASON_DAILY);
    assert_int_equal(a->direction, RULES_DROP);
    assert_true(a->far == 1);
    assert_true(a->min == 5);
    assert_true(a->min_given);
    assert_true(a->for_ms == 120000);
    assert_string_equal(a->rule, "no-signups");
    rules_free(rs);
}

static void
test_rules_error_anomaly(void **state)
{
    (void)state;
    parse_error("metric s\nanomaly s season=daily\n", 2, 1, "an anomaly rule needs window=");
    parse_error("metric s\nanomaly s window=1h season=monthly\n", 2, 28,
                "unknown value 'monthly' (expected none, daily or weekly)");
    parse_error("metric s\nanomaly s window=1h direction=up\n", 2, 31,
                "unknown value 'up' (expected drop, spike or both)");
    parse_error("metric s\nanomaly s window=1h sensitivity=max\n", 2, 33,
                "unknown value 'max' (expected low, medium or high)");
    parse_error("metric s\nanomaly s window=1h below=3\n", 2, 21,
                "below= is an option of alert lines, not of anomaly lines");
    parse_error("metric s\nanomaly s window=1h sesaon=daily\n", 2, 21,
                "unknown option 'sesaon' (did you mean 'season'?)");
    parse_error("metric s\nanomaly s window=1h when=now\n", 2, 21,
                "unknown option 'when' (expected window, season, direction, sensitivity, min, "
                "for, name, summary, runbook, label.NAME)");
    parse_error("metric s\nanomaly s window=1h season=dialy\n", 2, 28,
                "unknown value 'dialy' (did you mean 'daily'?)");
    parse_error("metric s\nanomaly s window=1h direction=drops\n", 2, 31,
                "unknown value 'drops' (did you mean 'drop'?)");
    parse_error("metric s\nanomaly s window=1h min=-1\n", 2, 25, "min= cannot be negative");
}

static void
test_rules_error_sum(void **state)
{
    (void)state;
    parse_error("metric a sum=x sum=y\n", 1, 16, "a metric has one kind at most");
    parse_error("metric a sum=\n", 1, 10, "sum= needs a field");
    parse_error("metric a sum=''\n", 1, 10, "sum= needs a field");
}

static void
test_rules_error_bad_number(void **state)
{
    (void)state;
    parse_error("metric a\nalert a window=1m below=abc\n", 2, 25, "expected a number, got 'abc'");
    parse_error("alert a window=1m above=1e999\n", 1, 25, "expected a number, got '1e999'");
    parse_error("alert a window=1m above=nan\n", 1, 25, "expected a number, got 'nan'");
    parse_error("alert a window=1m below=5 clear=5x\n", 1, 33, "expected a number, got '5x'");
    parse_error("metric a\nmetric b\nratio r = a / b min=x\n", 3, 21, "expected a number, got 'x'");
    parse_error("metric a\nmetric b\nratio r = a / b * x\n", 3, 19, "expected a number after '*'");
    parse_error("metric a\nmetric b\nratio r = a / b *\n", 3, 18, "expected a number after '*'");
}

static void
test_rules_error_bad_duration(void **state)
{
    (void)state;
    parse_error("metric a\nalert a window=15 below=1\n", 2, 16,
                "bad duration '15': missing unit (expected a duration like 15m or 1h30m; units ms "
                "s m h d w)");
    parse_error("alert a window=15x below=1\n", 1, 16,
                "bad duration '15x': unknown unit (expected a duration like 15m or 1h30m; units "
                "ms s m h d w)");
    parse_error("alert a window=m below=1\n", 1, 16,
                "bad duration 'm': not a number with a unit (expected a duration like 15m or "
                "1h30m; units ms s m h d w)");
    parse_error("alert a window=1m below=1 for=-1m\n", 1, 31,
                "bad duration '-1m': not a number with a unit (expected a duration like 15m or "
                "1h30m; units ms s m h d w)");
    parse_error("alert a window=0s below=1\n", 1, 16, "a window must be positive");
    parse_error("alert a window=0m0s below=1\n", 1, 16, "a window must be positive");
}

static void
test_rules_error_unknown_alert_option(void **state)
{
    struct ruleset *rs = rules_new();
    struct diag d;
    const char *text = "metric a\nalert   a  window=15m below=70 windw=5m\n";

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_int_equal(rules_parse(rs, FILE_NAME, text, strlen(text), &d), -1);
    check_diag(&d, FILE_NAME, 2, 32, "unknown option 'windw' (did you mean 'window'?)");
    /* The caret underlines the option's name. */
    assert_string_equal(d.src, "alert   a  window=15m below=70 windw=5m");
    assert_int_equal(d.width, 5);
    rules_free(rs);
    /* The same after a name= (its text must not leak either). */
    parse_error("alert a name=x window=1m below=1 when=now\n", 1, 34,
                "unknown option 'when' (expected window, below, above, for, clear, name, summary, "
                "runbook, label.NAME)");
}

static void
test_rules_error_alert_shape(void **state)
{
    (void)state;
    parse_error("alert a window=1m below=1 soon\n", 1, 27,
                "expected an option like window=15m, got 'soon'");
    parse_error("alert a window=1m below=1 clear=\n", 1, 27,
                "expected an option like window=15m, got 'clear='");
    /* After a name= too (whose text must not leak). */
    parse_error("alert a name=x window=1m below=1 soon\n", 1, 34,
                "expected an option like window=15m, got 'soon'");
    parse_error("alert a name=x window=1m below=1 above=2\n", 1, 34,
                "an alert has one of below= or above=");
    parse_error("alert a name=x window=1m below=x\n", 1, 32, "expected a number, got 'x'");
    parse_error("alert a name=x window=1x below=1\n", 1, 23,
                "bad duration '1x': unknown unit (expected a duration like 15m or 1h30m; units "
                "ms s m h d w)");
    parse_error("alert\n", 1, 6,
                "expected: alert METRIC window=DUR (below=X | above=X) [for=DUR] [clear=X] "
                "[name=ID]");
    parse_error("alert 1x window=1m below=1\n", 1, 7,
                "expected: alert METRIC window=DUR (below=X | above=X) [for=DUR] [clear=X] "
                "[name=ID]");
}

static void
test_rules_error_both_below_and_above(void **state)
{
    (void)state;
    parse_error("alert a window=1m below=1 above=2\n", 1, 27,
                "an alert has one of below= or above=");
    parse_error("alert a window=1m above=1 above=2\n", 1, 27,
                "an alert has one of below= or above=");
}

static void
test_rules_error_missing_window_or_threshold(void **state)
{
    (void)state;
    parse_error("metric a\nalert a below=1\n", 2, 1, "an alert needs window= and below= or above=");
    parse_error("alert a window=5m for=1m\n", 1, 1, "an alert needs window= and below= or above=");
}

static void
test_rules_error_clear_on_wrong_side(void **state)
{
    (void)state;
    parse_error("alert a window=1m below=70 clear=60\n", 1, 1,
                "clear=60 is on the wrong side of the threshold 70 (it must be at or above it)");
    parse_error("alert a window=1m above=5 clear=6.5\n", 1, 1,
                "clear=6.5 is on the wrong side of the threshold 5 (it must be at or below it)");
}

static void
test_rules_error_define_and_metric_shape(void **state)
{
    (void)state;
    parse_error("define X\n", 1, 9, "expected: define NAME 'REGEX'");
    parse_error("define X 'a' 'b'\n", 1, 14, "expected: define NAME 'REGEX'");
    parse_error("metric\n", 1, 7,
                "expected: metric NAME [rarr=CATEGORY] [CONDITION...] [sum=FIELD] [by=FIELD "
                "[max_keys=N]]");
}

static void
test_rules_error_ratio_shape(void **state)
{
    (void)state;
    parse_error("ratio\n", 1, 6, "expected: ratio NAME = A / B [* K] [min=N]");
    parse_error("ratio r a / b\n", 1, 9,
                "expected '=' after the ratio's name (ratio NAME = A / B)");
    parse_error("ratio r = / b\n", 1, 11, "expected a metric name");
    parse_error("ratio r = a b\n", 1, 13,
                "expected '/' between the two metrics (ratio NAME = A / B)");
    parse_error("ratio r = a /\n", 1, 14, "expected a metric name");
    parse_error("ratio r = a / b junk\n", 1, 17,
                "unknown ratio option 'junk' (expected min=N or rarr=CATEGORY)");
}

/*
 * Text glued to the end of the ratio's expression is not silently dropped:
 * "a / b-c" is not "a / b" (unknown options are errors).
 */
static void
test_rules_error_ratio_trailing_garbage(void **state)
{
    (void)state;
    parse_error("metric a\nmetric b\nratio r = a / b-c\n", 3, 16,
                "unexpected '-c' after the ratio (expected * K, min=N or rarr=CATEGORY)");
    parse_error("metric a\nmetric b\nratio r = a/b+1 min=2\n", 3, 14,
                "unexpected '+1' after the ratio (expected * K, min=N or rarr=CATEGORY)");
}

static void
test_rules_error_too_many_words(void **state)
{
    struct buf b;
    int i;

    (void)state;
    buf_init(&b);
    assert_int_equal(buf_adds(&b, "metric a"), 0);
    for (i = 0; i < 63; i++)
        assert_int_equal(buf_adds(&b, " x~'y'"), 0);
    parse_error(buf_cstr(&b), 1, 382, "too many words on one line (at most 64)");
    buf_fini(&b);
}

/* Column of the NUL byte: every error is reported as FILE:LINE:COL. */
static void
test_rules_error_nul_byte(void **state)
{
    static const char text[] = "metric a\nmetric b req\0x~'y'\n";

    (void)state;
    parse_error_len(text, sizeof(text) - 1, 2, 13, "a NUL byte in a rule file");
}

/* ---- errors reported by rules_finish ---- */

static void
test_rules_finish_undefined_metric_in_alert(void **state)
{
    (void)state;
    finish_error("metric a\nalert b window=1h below=1\n", STEP_MS, 2, 7,
                 "undefined metric 'b' (metric and ratio lines define names)");
}

static void
test_rules_finish_undefined_metric_in_ratio(void **state)
{
    (void)state;
    finish_error("metric a\nratio r = a / b * 100\n", STEP_MS, 2, 15,
                 "undefined metric 'b' (metric and ratio lines define names)");
    finish_error("metric b\nratio r = a/b\n", STEP_MS, 2, 11,
                 "undefined metric 'a' (metric and ratio lines define names)");
}

/*
 * The column of an undefined operand is the operand's, even when its name
 * also occurs earlier on the line (inside the ratio's own name or in A).
 */
static void
test_rules_finish_ratio_operand_column_is_the_operand(void **state)
{
    (void)state;
    finish_error("metric b\nratio rate = a / b\n", STEP_MS, 2, 14,
                 "undefined metric 'a' (metric and ratio lines define names)");
    finish_error("metric ab\nratio r = ab / b\n", STEP_MS, 2, 16,
                 "undefined metric 'b' (metric and ratio lines define names)");
}

static void
test_rules_finish_ratio_of_a_ratio(void **state)
{
    (void)state;
    finish_error("metric a\nmetric b\nratio r = a / b\nratio q = r / a\n", STEP_MS, 4, 11,
                 "'r' is a ratio; a ratio divides two metrics");
    finish_error("metric a\nmetric b\nratio r = a / b\nratio q = a / r * 100\n", STEP_MS, 4, 15,
                 "'r' is a ratio; a ratio divides two metrics");
}

static void
test_rules_finish_window_not_a_multiple_of_step(void **state)
{
    struct ruleset *rs = parse_ok("metric a\nalert a window=90s below=1\n");
    struct diag d;

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_int_equal(rules_finish(rs, 60000, &d), -1);
    check_diag(&d, FILE_NAME, 2, 9, "window 1m30s is not a whole number of steps (--step is 1m)");
    assert_string_equal(d.src, "alert a window=90s below=1");
    assert_int_equal(d.width, 10);
    rules_free(rs);
    /* The same window is fine with a 30s step. */
    rs = parse_ok("metric a\nalert a window=90s below=1\n");
    assert_int_equal(rules_finish(rs, 30000, &d), 0);
    rules_free(rs);
}

/* A bad regex is reported as it is read, so that it comes in file order with the rest. */
static void
test_rules_error_bad_regex(void **state)
{
    (void)state;
    parse_error("metric a request~'^GET /(login'\n", 1, 31,
                "bad regex: missing closing parenthesis (at offset 12 of '^GET /(login')");
    parse_error("metric a status~'^2' request~'a)b'\n", 1, 32,
                "bad regex: unmatched closing parenthesis (at offset 1 of 'a)b')");
    /* Past the text the user wrote on this line the column stays at the value. */
    parse_error("define B '(x'\nmetric a request~'^%{B}'\n", 2, 19,
                "bad regex: missing closing parenthesis (at offset 3 of '^(x')");
    /* A backslash before the closing quote: it escapes nothing in rarr. */
    parse_error("metric a request~'^/a\\'\n", 1, 23,
                "bad regex: \\ at end of pattern (at offset 4 of '^/a\\') (a backslash does not "
                "escape a quote: a quote is written \\x27)");
}

/* ---- rules_load_path ---- */

static void
write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

static void
remove_file(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static void
test_rules_load_directory_in_name_order(void **state)
{
    char dir[] = "/tmp/rarr-test-rules-XXXXXX";
    char path[512];
    struct ruleset *rs = rules_new();
    struct diag d;

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_non_null(mkdtemp(dir));
    /* b refers to a metric of a: names resolve after every file is read. */
    write_file(dir, "b.rarr", "metric b_views\nalert a_views window=1m below=1\n");
    write_file(dir, "a.rarr", "metric a_views request~'^GET /a'\n");
    write_file(dir, "c.rarr", "metric c_views\n");
    write_file(dir, "notes.txt", "not rules\n");
    write_file(dir, ".hidden.rarr", "not rules either\n");
    write_file(dir, "old.rarr.bak", "nor this\n");
    assert_int_equal(rules_load_path(rs, dir, &d), 0);
    assert_int_equal(rules_finish(rs, STEP_MS, &d), 0);
    assert_int_equal(rs->nfiles, 3);
    snprintf(path, sizeof(path), "%s/a.rarr", dir);
    assert_string_equal(rs->files[0], path);
    assert_string_equal(rs->metrics[0].loc.file, path);
    snprintf(path, sizeof(path), "%s/b.rarr", dir);
    assert_string_equal(rs->files[1], path);
    assert_string_equal(rs->alerts[0].loc.file, path);
    snprintf(path, sizeof(path), "%s/c.rarr", dir);
    assert_string_equal(rs->files[2], path);
    assert_int_equal(rs->nmetrics, 3);
    assert_string_equal(rs->metrics[0].name, "a_views");
    assert_string_equal(rs->metrics[1].name, "b_views");
    assert_string_equal(rs->metrics[2].name, "c_views");
    assert_int_equal(rs->alerts[0].metric, 0);
    rules_free(rs);

    /* An error in a later file names that file. */
    write_file(dir, "b.rarr", "metrc b_views\n");
    rs = rules_new();
    assert_int_equal(rules_load_path(rs, dir, &d), -1);
    snprintf(path, sizeof(path), "%s/b.rarr", dir);
    check_diag(&d, path, 1, 1, "unknown directive 'metrc' (did you mean 'metric'?)");
    rules_free(rs);

    remove_file(dir, "a.rarr");
    remove_file(dir, "b.rarr");
    remove_file(dir, "c.rarr");
    remove_file(dir, "notes.txt");
    remove_file(dir, ".hidden.rarr");
    remove_file(dir, "old.rarr.bak");
    /* A directory without rule files is an error, not an empty ruleset. */
    rs = rules_new();
    assert_int_equal(rules_load_path(rs, dir, &d), -1);
    check_diag(&d, dir, 0, 0, "no *.rarr files in this directory");
    rules_free(rs);
    assert_int_equal(rmdir(dir), 0);
}

static void
test_rules_load_missing_file(void **state)
{
    struct ruleset *rs = rules_new();
    struct diag d;

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_int_equal(rules_load_path(rs, "/nonexistent/rarr/x.rarr", &d), -1);
    check_diag(&d, "/nonexistent/rarr/x.rarr", 0, 0, "No such file or directory");
    rules_free(rs);
}

static void
test_rules_load_single_file(void **state)
{
    char dir[] = "/tmp/rarr-test-rules-XXXXXX";
    char path[512];
    struct ruleset *rs = rules_new();
    struct diag d;

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_non_null(mkdtemp(dir));
    write_file(dir, "web.conf", "metric a\nmetric b rarr=revenue\n");
    snprintf(path, sizeof(path), "%s/web.conf", dir);
    /* A file named on the command line need not end in .rarr. */
    assert_int_equal(rules_load_path(rs, path, &d), 0);
    assert_int_equal(rs->nmetrics, 2);
    assert_int_equal(rs->metrics[1].category, RULES_REVENUE);
    assert_string_equal(rs->metrics[1].loc.file, path);
    assert_int_equal(rs->metrics[1].loc.line, 2);
    rules_free(rs);
    remove_file(dir, "web.conf");
    assert_int_equal(rmdir(dir), 0);
}

/* ---- every error, in file order ---- */

/* What diag_print writes for 'd'; the caller frees it. */
static char *
printed(const struct diag *d)
{
    char *s = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&s, &len);

    assert_non_null(fp);
    diag_print(d, fp);
    assert_int_equal(fclose(fp), 0);
    return s;
}

/* 'text' fails to parse (and, with 'finish', to finish); diag_print writes exactly 'want'. */
static void
errors_are(const char *text, int finish, const char *want)
{
    struct ruleset *rs = rules_new();
    struct diag d;
    char *got;
    int rc;

    assert_non_null(rs);
    memset(&d, 0, sizeof(d));
    rc = rules_parse(rs, FILE_NAME, text, strlen(text), &d);
    if (finish)
        rc |= rules_finish(rs, STEP_MS, &d);
    assert_int_equal(rc, -1);
    got = printed(&d);
    assert_string_equal(got, want);
    free(got);
    rules_free(rs);
}

static void
test_rules_reports_every_error_in_file_order(void **state)
{
    (void)state;
    /* The regex of line 1 is not left for rules_finish: it comes first. */
    errors_are("metric a request~'^GET /(login'\n"
               "metric b status~'^2'\n"
               "alert b windw=1m below=1\n"
               "metric c rarr=sales\n",
               0,
               "rarr: t.rarr:1:31: error: bad regex: missing closing parenthesis (at offset 12 of "
               "'^GET /(login')\n"
               "    metric a request~'^GET /(login'\n"
               "                                  ^\n"
               "rarr: t.rarr:3:9: error: unknown option 'windw' (did you mean 'window'?)\n"
               "    alert b windw=1m below=1\n"
               "            ^^^^^\n"
               "rarr: t.rarr:4:15: error: unknown category 'sales' (expected retention, "
               "activation, revenue or referral)\n"
               "    metric c rarr=sales\n"
               "                  ^^^^^\n");
}

/* Several errors on one line, each word on its own; nothing about what only seems missing. */
static void
test_rules_reports_every_error_of_a_line(void **state)
{
    (void)state;
    errors_are("alert a windw=15m below=5O for=1x\n", 0,
               "rarr: t.rarr:1:9: error: unknown option 'windw' (did you mean 'window'?)\n"
               "    alert a windw=15m below=5O for=1x\n"
               "            ^^^^^\n"
               "rarr: t.rarr:1:25: error: expected a number, got '5O' (a letter O where a 0 was "
               "meant?)\n"
               "    alert a windw=15m below=5O for=1x\n"
               "                            ^^\n"
               "rarr: t.rarr:1:32: error: bad duration '1x': unknown unit (expected a duration "
               "like 15m or 1h30m; units ms s m h d w)\n"
               "    alert a windw=15m below=5O for=1x\n"
               "                                   ^^\n");
}

/*
 * rules_finish after a parse error adds its own errors (names, windows and
 * for= against the step) and sorts them all into file order.
 */
static void
test_rules_finish_after_parse_errors_sorts_all(void **state)
{
    (void)state;
    errors_are("metric a\n"
               "alert x window=1m below=1\n"
               "metric b sum=\n"
               "ratio r = a / y\n"
               "alert a window=90s below=1 for=2m30s\n",
               1,
               "rarr: t.rarr:2:7: error: undefined metric 'x' (metric and ratio lines define "
               "names)\n"
               "    alert x window=1m below=1\n"
               "          ^\n"
               "rarr: t.rarr:3:10: error: sum= needs a field\n"
               "    metric b sum=\n"
               "             ^^^^\n"
               "rarr: t.rarr:4:15: error: undefined metric 'y' (metric and ratio lines define "
               "names)\n"
               "    ratio r = a / y\n"
               "                  ^\n"
               "rarr: t.rarr:5:9: error: window 1m30s is not a whole number of steps (--step is "
               "1m)\n"
               "    alert a window=90s below=1 for=2m30s\n"
               "            ^^^^^^^^^^\n"
               "rarr: t.rarr:5:28: error: for 2m30s is not a whole number of steps (--step is 1m)\n"
               "    alert a window=90s below=1 for=2m30s\n"
               "                               ^^^^^^^^^\n");
}

static void
test_rules_too_many_errors_stop(void **state)
{
    struct ruleset *rs = rules_new();
    struct diag d;
    struct buf b;
    char *got, *p;
    int i, n = 0;

    (void)state;
    buf_init(&b);
    for (i = 0; i < 25; i++)
        assert_int_equal(buf_adds(&b, "metrc a\n"), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(rules_parse(rs, FILE_NAME, b.p, b.len, &d), -1);
    assert_int_equal(d.n, RARR_DIAG_MAX);
    assert_int_equal(d.dropped, 1); /* the 21st stopped the reading */
    assert_int_equal(d.more[RARR_DIAG_MAX - 2].line, 20);
    /* Nothing more is read or added, by a later file or by rules_finish. */
    assert_int_equal(rules_parse(rs, "u.rarr", "metrc b\n", 8, &d), -1);
    assert_int_equal(rules_finish(rs, STEP_MS, &d), -1);
    assert_int_equal(d.n, RARR_DIAG_MAX);
    got = printed(&d);
    for (p = got; (p = strstr(p, ": error: ")) != NULL; p++)
        n++;
    assert_int_equal(n, RARR_DIAG_MAX);
    p = strstr(got, "rarr: t.rarr:20:1: error:");
    assert_non_null(p);
    assert_string_equal(got + strlen(got) - strlen("rarr: t.rarr: too many errors; stopping\n"),
                        "rarr: t.rarr: too many errors; stopping\n");
    free(got);
    buf_fini(&b);
    rules_free(rs);
}

/* Values in double quotes would keep the quotes: the error shows the single-quoted form. */
static void
test_rules_error_double_quotes(void **state)
{
    struct ruleset *rs = rules_new();
    struct diag d;
    const char *text = "metric a status~\"^5 x\" request~'(('\n";

    (void)state;
    parse_error("metric a status~\"^5\"\n", 1, 17,
                "values are written in single quotes: status~'^5'");
    parse_error("metric a user_agent=\"curl 7\"\n", 1, 21,
                "values are written in single quotes: user_agent='curl 7'");
    parse_error("metric a status~\"^5\n", 1, 17,
                "values are written in single quotes: status~'^5'");
    parse_error("metric a rarr=\"retention\"\n", 1, 15,
                "values are written in single quotes: rarr='retention'");
    parse_error("alert a window=1m below=1 name=\"login down\"\n", 1, 32,
                "values are written in single quotes: name='login down'");
    parse_error("define X \"a\"\n", 1, 10, "values are written in single quotes: 'a'");
    /* The caret covers the quoted text; the rest of the line is not read (no second error). */
    memset(&d, 0, sizeof(d));
    assert_int_equal(rules_parse(rs, FILE_NAME, text, strlen(text), &d), -1);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.width, 6);
    rules_free(rs);
    /* A double quote inside single quotes is text. */
    rs = finish_ok("metric a user_agent~'\"quoted\"'\n");
    assert_string_equal(rs->metrics[0].conds[0].text, "\"quoted\"");
    rules_free(rs);
}

static void
test_rules_error_spaces_around_operator(void **state)
{
    (void)state;
    parse_error("metric a status ~ '^5'\n", 1, 10,
                "no spaces around the operator in a condition: write status~'^5'");
    parse_error("metric a status~ '^5'\n", 1, 10,
                "no spaces around the operator in a condition: write status~'^5'");
    parse_error("metric a status ~'^5'\n", 1, 10,
                "no spaces around the operator in a condition: write status~'^5'");
    parse_error("metric a path !~ '^/health'\n", 1, 10,
                "no spaces around the operator in a condition: write path!~'^/health'");
    parse_error("alert a window = 15m below=1\n", 1, 9,
                "no spaces around the operator in an option: write window=15m");
    parse_error("alert a window=15m below= 1\n", 1, 20,
                "no spaces around the operator in an option: write below=1");
    parse_error("metric a\nmetric b\nratio r = a / b min = 20\n", 3, 17,
                "no spaces around the operator in an option: write min=20");
    parse_error("metric a status~\n", 1, 17,
                "expected a value after '~' (an empty value is written '')");
    /* Empty values written as such are fine. */
    rules_free(finish_ok("metric a status='' referer~''\n"));
}

static void
test_rules_error_operators_of_other_languages(void **state)
{
    (void)state;
    parse_error("metric a status!='200'\n", 1, 16,
                "unknown operator '!=' (for 'not equal' write status!~'^200$')");
    parse_error("metric a method=='GET'\n", 1, 16, "unknown operator '==' (write method='GET')");
    parse_error("metric a path=~'^/x'\n", 1, 14, "unknown operator '=~' (write path~'^/x')");
    parse_error("metric a path~='^/x'\n", 1, 14, "unknown operator '~=' (write path~'^/x')");
    parse_error("metric a status>499\n", 1, 10,
                "expected a condition like field~'regex', field!~'regex' or field='text', or an "
                "option, got 'status>499' (conditions compare text: 5xx is status~'^5')");
    /* Quoted, an '=' or '~' at the start of the value is text. */
    rules_free(finish_ok("metric a path='=x' q='~y'\n"));
}

static void
test_rules_error_bad_field_name(void **state)
{
    (void)state;
    parse_error("metric a \"status\"~'5'\n", 1, 10,
                "bad field name '\"status\"' (field names are written without quotes, blanks, "
                "'~' or '=')");
    /* sum= names a field too; --check prints it without quotes. */
    parse_error("metric a sum='a b'\n", 1, 15,
                "bad field name 'a b' (field names are written without quotes, blanks, '~' or "
                "'=')");
    parse_error("metric a sum=a~'b'\n", 1, 14,
                "bad field name 'a~b' (field names are written without quotes, blanks, '~' or "
                "'=')");
    parse_error("metric a http..status~'5'\n", 1, 10,
                "bad field name 'http..status' (a dot needs a name on both sides)");
    parse_error("metric a .status~'5'\n", 1, 10,
                "bad field name '.status' (a dot needs a name on both sides)");
    rules_free(finish_ok("metric a http.response.status_code='200'\n"));
}

/* An alert's option or a near miss of a metric option on a metric line is no condition. */
static void
test_rules_error_option_on_metric_line(void **state)
{
    struct ruleset *rs;

    (void)state;
    parse_error("metric a window=15m\n", 1, 10,
                "window= is an option of alert and anomaly lines (to compare a field named "
                "window, quote the value: window='15m')");
    parse_error("metric a request~'^GET' for=5m\n", 1, 25,
                "for= is an option of alert and anomaly lines (to compare a field named for, "
                "quote the value: for='5m')");
    parse_error("metric a rar=retention\n", 1, 10,
                "unknown option 'rar' (did you mean 'rarr'? to compare a field named rar, quote "
                "the value: rar='retention')");
    parse_error("metric a sun=bytes\n", 1, 10,
                "unknown option 'sun' (did you mean 'sum'? to compare a field named sun, quote "
                "the value: sun='bytes')");
    /* Quoted values, and fields web logs have, are conditions. */
    rs = finish_ok("metric a window='15m' rar='retention' status=200\n");
    assert_int_equal(rs->metrics[0].nconds, 3);
    assert_int_equal(rs->metrics[0].kind, RULES_COUNT);
    rules_free(rs);
}

static void
test_rules_error_define_in_literal(void **state)
{
    (void)state;
    parse_error("define LOGIN '/login'\nmetric a path='%{LOGIN}'\n", 2, 16,
                "'%{LOGIN}' is not expanded in ='TEXT', which is compared as written (write "
                "path~'^%{LOGIN}$')");
    /* Without such a define it is text. */
    rules_free(finish_ok("metric a path='%{LOGIN}'\n"));
}

/*
 * Defines that double at each level (A1 is %{A0}%{A0}, ...) would make 2^40
 * bytes by A40: the first define past RULES_EXPAND_MAX (64 KiB) is an error
 * that names it, the later levels and the rules using them fail without
 * more errors, and nothing near their size is allocated.
 */
static void
test_rules_error_define_bomb(void **state)
{
    struct buf b;
    int i;

    (void)state;
    buf_init(&b);
    assert_int_equal(buf_adds(&b, "define A0 'x'\n"), 0);
    for (i = 1; i <= 40; i++)
        assert_int_equal(buf_printf(&b, "define A%d '%%{A%d}%%{A%d}'\n", i, i - 1, i - 1), 0);
    assert_int_equal(buf_adds(&b, "metric a request~'%{A40}'\n"
                                  "metric b request~'x%{A16}'\n"
                                  "metric c request~'%{A16}y'\n"),
                     0);
    errors_are(buf_cstr(&b), 1,
               "rarr: t.rarr:18:19: error: '%{A16}' makes pattern 'A17' longer than 65536 bytes, "
               "the most a regex may expand to\n"
               "    define A17 '%{A16}%{A16}'\n"
               "                      ^^^^^^\n"
               "rarr: t.rarr:43:20: error: '%{A16}' makes the regex longer than 65536 bytes, the "
               "most a regex may expand to\n"
               "    metric b request~'x%{A16}'\n"
               "                       ^^^^^^\n"
               "rarr: t.rarr:44:19: error: '%{A16}' makes the regex longer than 65536 bytes, the "
               "most a regex may expand to\n"
               "    metric c request~'%{A16}y'\n"
               "                      ^^^^^^\n");
    buf_fini(&b);
}

/*
 * Up to RULES_EXPAND_MAX bytes a define is good; a regex of 16 KiB of it
 * compiles (32 KiB of literal bytes would pass PCRE2's own limit of code).
 */
static void
test_rules_define_up_to_the_limit(void **state)
{
    struct ruleset *rs;
    struct buf b;
    int i;

    (void)state;
    buf_init(&b);
    assert_int_equal(buf_adds(&b, "define A0 'x'\n"), 0);
    for (i = 1; i <= 16; i++)
        assert_int_equal(buf_printf(&b, "define A%d '%%{A%d}%%{A%d}'\n", i, i - 1, i - 1), 0);
    assert_int_equal(buf_adds(&b, "metric a request~'%{A14}'\n"), 0);
    rs = finish_ok(buf_cstr(&b));
    assert_int_equal(strlen(rs->defines[16].text), RULES_EXPAND_MAX);
    assert_int_equal(rs->metrics[0].conds[0].len, RULES_EXPAND_MAX / 4);
    rules_free(rs);
    buf_fini(&b);
}

/*
 * Names are looked up in tables that grow as rules are read: with a
 * thousand of each, a repeated define, metric or rule name is still found,
 * operands resolve to the right metric and a field keeps its number.
 */
static void
test_rules_names_among_many(void **state)
{
    struct ruleset *rs;
    struct buf b;
    size_t f, g;
    int i;

    (void)state;
    buf_init(&b);
    for (i = 0; i < 1000; i++)
        assert_int_equal(buf_printf(&b,
                                    "define D%d 'd%d'\nmetric m%d f%d~'%%{D%d}'\n"
                                    "alert m%d window=1m above=1 name=n%d\n",
                                    i, i, i, i, i, i, i),
                         0);
    assert_int_equal(buf_adds(&b, "ratio r = m999 / m0\n"), 0);
    rs = finish_ok(buf_cstr(&b));
    assert_int_equal(rs->nmetrics, 1001);
    assert_int_equal(rs->metrics[1000].a, 999);
    assert_int_equal(rs->metrics[1000].b, 0);
    assert_int_equal(rs->nfields, 1000);
    f = rules_field(rs, "f731");
    assert_int_equal(f, rs->metrics[731].conds[0].field);
    g = rules_field(rs, "f1000");
    assert_int_equal(g, 1000);
    assert_int_equal(rules_field(rs, "f1000"), g);
    assert_int_equal(rules_lookup_metric(rs, "m731", &f), 0);
    assert_int_equal(f, 731);
    assert_int_equal(rules_lookup_metric(rs, "m1000", &f), -1);
    rules_free(rs);
    assert_int_equal(buf_adds(&b, "define D500 'x'\nmetric m731\n"
                                  "alert m2 window=1m above=1 name=n999\n"),
                     0);
    errors_are(buf_cstr(&b), 0,
               "rarr: t.rarr:3002:8: error: pattern 'D500' is already defined\n"
               "    define D500 'x'\n"
               "           ^^^^\n"
               "rarr: t.rarr:3003:8: error: 'm731' is already defined at t.rarr:2195\n"
               "    metric m731\n"
               "           ^^^^\n"
               "rarr: t.rarr:3004:7: error: the rule at t.rarr:3000 is already named 'n999' "
               "(give one of them another name=)\n"
               "    alert m2 window=1m above=1 name=n999\n"
               "          ^^\n");
    buf_fini(&b);
}

static void
test_rules_error_number_and_duration_hints(void **state)
{
    (void)state;
    parse_error("alert a window=15m below=5O\n", 1, 26,
                "expected a number, got '5O' (a letter O where a 0 was meant?)");
    parse_error("alert a window=15m below=70%\n", 1, 26,
                "expected a number, got '70%' (write it without the % sign)");
    parse_error("alert a window=15m below=1,5\n", 1, 26,
                "expected a number, got '1,5' (a decimal point is written '.')");
    parse_error("alert a window=1.5h below=1\n", 1, 16,
                "bad duration '1.5h': unknown unit (durations are whole numbers with units: 90m "
                "or 1h30m, not 1.5h)");
    parse_error("metric a\nmetric b\nratio r = a / b min=-1\n", 3, 21, "min= cannot be negative");
}

static void
test_rules_error_option_given_twice(void **state)
{
    (void)state;
    parse_error("alert a window=1m window=2m below=1\n", 1, 19, "window= is given twice");
    parse_error("alert a window=1m below=1 for=1m for=2m\n", 1, 34, "for= is given twice");
    parse_error("alert a window=1m below=1 name=x name=y\n", 1, 34, "name= is given twice");
    parse_error("alert a window=1m below=1 below=2\n", 1, 27,
                "an alert has one of below= or above=");
    parse_error("anomaly a window=1h season=daily season=weekly\n", 1, 34,
                "season= is given twice");
    parse_error("metric a rarr=revenue rarr=referral\n", 1, 23, "rarr= is given twice");
    parse_error("metric a\nmetric b\nratio r = a / b min=1 min=2\n", 3, 23, "min= is given twice");
    parse_error("metric a\nmetric b\nratio r = a / b mn=2\n", 3, 17,
                "unknown ratio option 'mn' (did you mean 'min'?)");
    parse_error("alert a window=1m below=1 season=daily\n", 1, 27,
                "season= is an option of anomaly lines, not of alert lines");
    parse_error("alert a window=1m below=1 min=3\n", 1, 27,
                "min= is an option of anomaly lines, not of alert lines");
}

static void
test_rules_error_alert_names(void **state)
{
    (void)state;
    parse_error("alert a window=1m below=1 name=''\n", 1, 27, "name= cannot be empty");
    parse_error("alert a window=1m below=1 name=x\nalert b window=1m below=2 name=x\n", 2, 7,
                "the rule at t.rarr:1 is already named 'x' (give one of them another name=)");
    /* Two alerts that differ only in for= would have the same generated name. */
    parse_error("alert a window=1m below=1\nalert a window=1m below=1 for=2m\n", 2, 7,
                "the rule at t.rarr:1 is already named 'a below 1 over 1m' (give one of them "
                "another name=)");
}

/* A '\' at the end of a line: one error; the continuation line is not reported again. */
static void
test_rules_error_trailing_backslash(void **state)
{
    struct ruleset *rs = rules_new();
    struct diag d;
    const char *text = "metric a request~'^GET' \\\n"
                       "    status~'^2' \\\n"
                       "    method='GET'\n"
                       "alert a window=1m below=1 \\\n"
                       "metric b x~'y'\\\n";

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_int_equal(rules_parse(rs, FILE_NAME, text, strlen(text), &d), -1);
    assert_int_equal(d.n, 3);
    check_diag(&d, FILE_NAME, 1, 25,
               "a rule is written on one line ('\\' does not continue it on the next)");
    /* Lines 2 and 3 were skipped; line 4's alert has what it needs and is read. */
    assert_int_equal(d.more[0].line, 4);
    assert_int_equal(d.more[0].col, 27);
    /* A line that starts with a directive is a rule of its own, not a continuation. */
    assert_int_equal(d.more[1].line, 5);
    assert_int_equal(d.more[1].col, 15);
    /* What the lines held is kept, so later names resolve. */
    assert_int_equal(rs->nmetrics, 2);
    assert_int_equal(rs->metrics[0].nconds, 1);
    assert_int_equal(rs->metrics[1].nconds, 1);
    assert_int_equal(rs->nalerts, 1);
    rules_free(rs);
}

static void
test_rules_finish_did_you_mean_metric(void **state)
{
    (void)state;
    finish_error("metric signups\nalert signup window=1h below=1\n", STEP_MS, 2, 7,
                 "undefined metric 'signup' (did you mean 'signups'?)");
    finish_error("metric logins\nmetric views\nratio r = logins / veiws\n", STEP_MS, 3, 20,
                 "undefined metric 'veiws' (did you mean 'views'?)");
}

static void
test_rules_finish_for_not_a_multiple_of_step(void **state)
{
    struct ruleset *rs;
    struct diag d;

    (void)state;
    finish_error("metric a\nalert a window=5m below=1 for=2m30s\n", STEP_MS, 2, 27,
                 "for 2m30s is not a whole number of steps (--step is 1m)");
    finish_error("metric a\nanomaly a window=1h for=90s\n", STEP_MS, 2, 21,
                 "for 1m30s is not a whole number of steps (--step is 1m)");
    /* A wait shorter than one step waits one step. */
    rs = parse_ok("metric a\nalert a window=15m below=1 for=5m\n");
    memset(&d, 0, sizeof(d));
    assert_int_equal(rules_finish(rs, 15 * 60000, &d), 0);
    rules_free(rs);
    rs = parse_ok("metric a\nalert a window=15m below=1 for=20m\n");
    assert_int_equal(rules_finish(rs, 15 * 60000, &d), -1);
    check_diag(&d, FILE_NAME, 2, 28, "for 20m is not a whole number of steps (--step is 15m)");
    assert_int_equal(d.width, 7);
    rules_free(rs);
}

static void
test_rules_load_directory_reports_every_file(void **state)
{
    char dir[] = "/tmp/rarr-test-rules-XXXXXX";
    char pa[512], pb[512];
    struct ruleset *rs = rules_new();
    struct diag d;

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_non_null(mkdtemp(dir));
    write_file(dir, "a.rarr", "metrc a\nmetric b\nalert b windw=1m\n");
    write_file(dir, "b.rarr", "metric c\nalert c window=1m below=x\n");
    assert_int_equal(rules_load_path(rs, dir, &d), -1);
    assert_int_equal(rules_finish(rs, STEP_MS, &d), -1);
    snprintf(pa, sizeof(pa), "%s/a.rarr", dir);
    snprintf(pb, sizeof(pb), "%s/b.rarr", dir);
    assert_int_equal(d.n, 3);
    check_diag(&d, pa, 1, 1, "unknown directive 'metrc' (did you mean 'metric'?)");
    assert_string_equal(d.more[0].file, pa);
    assert_int_equal(d.more[0].line, 3);
    assert_string_equal(d.more[1].file, pb);
    assert_string_equal(d.more[1].msg, "expected a number, got 'x'");
    rules_free(rs);
    remove_file(dir, "a.rarr");
    remove_file(dir, "b.rarr");
    assert_int_equal(rmdir(dir), 0);
}

/* ---- diag: several errors, "did you mean" ---- */

static void
test_diag_add_print_and_sort(void **state)
{
    static const char *const files[] = {"b.rarr", "a.rarr"};
    struct diag d;
    char *got;

    (void)state;
    diag_set(&d, "a.rarr", 2, 3, "second %d", 2);
    diag_source(&d, "ab cd", 5, 2);
    assert_int_equal(diag_add(&d, "b.rarr", 7, 0, "first"), 0);
    assert_int_equal(diag_add(&d, "a.rarr", 1, 1, "third"), 0);
    diag_source(&d, "x", 1, 1);
    assert_int_equal(d.n, 3);
    diag_sort(&d, files, 2);
    got = printed(&d);
    assert_string_equal(got, "rarr: b.rarr:7: error: first\n"
                             "rarr: a.rarr:1:1: error: third\n"
                             "    x\n"
                             "    ^\n"
                             "rarr: a.rarr:2:3: error: second 2\n"
                             "    ab cd\n"
                             "      ^^\n");
    free(got);
    /* The first error is the struct's own fields, as every module reads them. */
    assert_string_equal(d.msg, "first");
    /* diag_set starts afresh. */
    diag_set(&d, NULL, 0, 0, "out of memory");
    got = printed(&d);
    assert_string_equal(got, "rarr: out of memory\n");
    free(got);
}

static void
test_diag_add_to_zeroed_and_full(void **state)
{
    struct diag d;
    unsigned i;
    char *got;

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_int_equal(diag_add(&d, "t.rarr", 1, 1, "one"), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msg, "one");
    for (i = 2; i <= RARR_DIAG_MAX; i++)
        assert_int_equal(diag_add(&d, "t.rarr", i, 1, "more"), 0);
    assert_int_equal(diag_add(&d, "u.rarr", 99, 1, "dropped"), -1);
    /* The source line of a dropped error goes nowhere. */
    diag_source(&d, "zz", 2, 1);
    assert_string_equal(d.more[RARR_DIAG_MAX - 2].src, "");
    got = printed(&d);
    assert_non_null(strstr(got, "rarr: t.rarr:20:1: error: more\nrarr: u.rarr: too many errors; "
                                "stopping\n"));
    free(got);
}

static void
test_diag_nearest(void **state)
{
    static const char *const opts[] = {"window", "below", "above", "for", "clear", "name"};
    static const char *const fields[] = {"status", "path", "user_agent", "bytes"};
    static const char *const quantiles[] = {"p95", "p99"};
    static const char *const dup[] = {"window", "window"};

    (void)state;
    assert_string_equal(diag_nearest("windw", opts, 6), "window");
    assert_string_equal(diag_nearest("fro", opts, 6), "for");     /* a swap is one edit */
    assert_string_equal(diag_nearest("Clear", opts, 6), "clear"); /* case is ignored */
    assert_string_equal(diag_nearest("stauts", fields, 4), "status");
    assert_string_equal(diag_nearest("useragent", fields, 4), "user_agent");
    assert_string_equal(diag_nearest("windw", dup, 2), "window");
    assert_null(diag_nearest("when", opts, 6));
    assert_null(diag_nearest("p9", quantiles, 2)); /* two are as close: no guess */
    assert_null(diag_nearest("ab", fields, 4));
    assert_null(diag_nearest("x", opts, 6));
    assert_null(diag_nearest("", opts, 6));
    assert_null(diag_nearest("windw", opts, 0));
}

/* ---- rules_warn_fields ---- */

/* What rules_warn_fields writes for format 'fmt'; '*n' gets its count. The caller frees it. */
static char *
warnings(const struct ruleset *rs, enum record_format fmt, int *n)
{
    char *s = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&s, &len);

    assert_non_null(fp);
    *n = rules_warn_fields(rs, fmt, fp);
    assert_int_equal(fclose(fp), 0);
    return s;
}

static void
test_rules_warn_fields_once_each_with_did_you_mean(void **state)
{
    struct ruleset *rs;
    char *got;
    int n;

    (void)state;
    rs = finish_ok("metric a stauts~'^5' request~'^GET'\n"
                   "metric b stauts~'^2'\n"
                   "metric c sum=byte\n"
                   "metric d request~' (?<code>\\d+)$' code~'^5' sum=code\n"
                   "metric e code~'x'\n"
                   "metric f referer~'x' line~'y'\n");
    got = warnings(rs, RECORD_COMBINED, &n);
    assert_string_equal(got, "rarr: t.rarr:1: warning: combined lines have no field 'stauts'; it "
                             "reads as empty (did you mean 'status'?)\n"
                             "rarr: t.rarr:3: warning: combined lines have no field 'byte'; it "
                             "reads as empty (did you mean 'bytes'?)\n"
                             "rarr: t.rarr:5: warning: combined lines have no field 'code'; it "
                             "reads as empty\n");
    assert_int_equal(n, 3);
    free(got);
    /* Callable again, with another format: each call on its own. */
    got = warnings(rs, RECORD_COMMON, &n);
    assert_int_equal(n, 4);
    assert_non_null(strstr(got, "rarr: t.rarr:6: warning: common lines have no field 'referer'; "
                                "it reads as empty\n"));
    free(got);
    got = warnings(rs, RECORD_JSON, &n);
    assert_int_equal(n, 0);
    assert_null(got != NULL && got[0] != '\0' ? got : NULL);
    free(got);
    got = warnings(rs, RECORD_AUTO, &n);
    assert_int_equal(n, 0);
    free(got);
    rules_free(rs);
}

/* ---- --check prints a rule file ---- */

/* rules_describe() into a string; the caller frees it. */
static char *
described(const struct ruleset *rs)
{
    char *s = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&s, &len);

    assert_non_null(fp);
    rules_describe(rs, fp);
    assert_int_equal(fclose(fp), 0);
    return s;
}

/* 'text' with each line's "  # FILE:LINE" (up to a ';' or the end) cut to "  # @". */
static char *
without_locations(const char *text)
{
    struct buf b;
    const char *p = text, *nl, *c;

    buf_init(&b);
    for (; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        assert_non_null(nl);
        c = p;
        while (strstr(c, "  # ") != NULL && strstr(c, "  # ") < nl)
            c = strstr(c, "  # ") + 4;
        assert_true(c > p); /* every line says where it was defined */
        assert_int_equal(buf_add(&b, p, (size_t)(c - p)), 0);
        assert_int_equal(buf_adds(&b, "@"), 0);
        while (c < nl && *c != ';')
            c++;
        assert_int_equal(buf_add(&b, c, (size_t)(nl - c + 1)), 0);
    }
    assert_int_equal(buf_addc(&b, '\0'), 0);
    return b.p;
}

/* Load what --check printed for 'first' and print it again: the same but for the locations. */
static void
check_loads_back(const char *what, const char *first)
{
    struct ruleset *rs = rules_new();
    struct diag d;
    char *second, *a, *b;

    memset(&d, 0, sizeof(d));
    if (rules_parse(rs, "check.rarr", first, strlen(first), &d) != 0 ||
        rules_finish(rs, STEP_MS, &d) != 0)
        fail_msg("%s: the --check output does not load: %s:%u:%u: %s", what, d.file, d.line, d.col,
                 d.msg);
    second = described(rs);
    a = without_locations(first);
    b = without_locations(second);
    if (strcmp(a, b) != 0)
        fail_msg("%s: --check of the --check output differs:\n%s---\n%s", what, a, b);
    free(a);
    free(b);
    free(second);
    rules_free(rs);
}

static void
test_rules_check_output_is_a_rule_file(void **state)
{
    struct ruleset *rs;
    char *got;

    (void)state;
    rs = finish_ok("define PCT '%'\n"
                   "metric views rarr=referral request~'^GET %{PCT}{x} ' status!~'^5' "
                   "user_agent='Mozilla 5'\n"
                   "metric bytes_out sum=bytes\n"
                   "metric signups rarr=activation\n"
                   "ratio per_view = signups / views * 2.5 min=0.5\n"
                   "alert per_view window=1h30m above=0.123456789 for=30m clear=0.1 name='per "
                   "view'\n"
                   "anomaly views window=1h\n"
                   "anomaly signups window=2h season=daily direction=drop sensitivity=low min=3 "
                   "for=10m\n");
    got = described(rs);
    assert_string_equal(
        got, "metric views rarr=referral request~'^GET %\\{x} ' status!~'^5' user_agent='Mozilla "
             "5'  # t.rarr:2\n"
             "metric bytes_out sum=bytes  # t.rarr:3\n"
             "metric signups rarr=activation  # t.rarr:4\n"
             "ratio  per_view = signups / views * 2.5 min=0.5 rarr=activation  # t.rarr:5\n"
             "alert  per_view window=1h30m above=0.123456789 for=30m clear=0.1 name='per view'  "
             "# t.rarr:6\n"
             "anomaly views window=1h season=weekly direction=both sensitivity=medium for=0s "
             "name='views anomaly over 1h'  # t.rarr:7; by default spikes need 10 events, drops "
             "none\n"
             "anomaly signups window=2h season=daily direction=drop sensitivity=low min=3 "
             "for=10m name='signups anomaly over 2h'  # t.rarr:8\n");
    check_loads_back("inline rules", got);
    free(got);
    rules_free(rs);
}

/* The repository's top directory, from this file's path (tests/test_rules.c). */
static void
top_dir(char *out, size_t size)
{
    const char *slash = strrchr(__FILE__, '/');
    size_t len = slash != NULL ? (size_t)(slash - __FILE__) : 0;

    if (len == 0) {
        snprintf(out, size, "..");
        return;
    }
    snprintf(out, size, "%.*s/..", (int)len, __FILE__);
}

/* For every rule file of patterns/ and fixtures/rules/: check, load, check prints the same. */
static void
test_rules_check_output_of_every_rule_file_loads_back(void **state)
{
    static const char *const dirs[] = {"patterns", "fixtures/rules"};
    char top[512], dir[600], path[900];
    size_t i, len, files = 0;
    struct dirent *e;
    DIR *dp;

    (void)state;
    top_dir(top, sizeof(top));
    for (i = 0; i < 2; i++) {
        snprintf(dir, sizeof(dir), "%s/%s", top, dirs[i]);
        assert_non_null(dp = opendir(dir));
        while ((e = readdir(dp)) != NULL) {
            struct ruleset *rs = rules_new();
            struct diag d;
            char *first;

            len = strlen(e->d_name);
            if (len < 6 || strcmp(e->d_name + len - 5, ".rarr") != 0) {
                rules_free(rs);
                continue;
            }
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            memset(&d, 0, sizeof(d));
            if (rules_load_path(rs, path, &d) != 0 || rules_finish(rs, STEP_MS, &d) != 0)
                fail_msg("%s: %s:%u:%u: %s", path, d.file, d.line, d.col, d.msg);
            first = described(rs);
            check_loads_back(path, first);
            free(first);
            rules_free(rs);
            files++;
        }
        closedir(dp);
    }
    assert_true(files >= 9);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_define_used_in_later_define_and_metric),
        cmocka_unit_test(test_rules_metric_category_and_conditions),
        cmocka_unit_test(test_rules_enum_names),
        cmocka_unit_test(test_rules_quoted_values_keep_spaces),
        cmocka_unit_test(test_rules_comments_and_blank_lines),
        cmocka_unit_test(test_rules_sum_kind),
        cmocka_unit_test(test_rules_ratio_with_and_without_spaces),
        cmocka_unit_test(test_rules_alert_options),
        cmocka_unit_test(test_rules_generated_rule_text),
        cmocka_unit_test(test_rules_error_unknown_directive),
        cmocka_unit_test(test_rules_error_unterminated_quote),
        cmocka_unit_test(test_rules_error_bad_name),
        cmocka_unit_test(test_rules_error_duplicate_metric),
        cmocka_unit_test(test_rules_error_duplicate_define),
        cmocka_unit_test(test_rules_error_undefined_pattern),
        cmocka_unit_test(test_rules_error_unknown_category),
        cmocka_unit_test(test_rules_error_condition_without_operator),
        cmocka_unit_test(test_rules_error_unsupported_kind),
        cmocka_unit_test(test_rules_by),
        cmocka_unit_test(test_rules_alert_metadata),
        cmocka_unit_test(test_rules_anomaly_options),
        cmocka_unit_test(test_rules_error_anomaly),
        cmocka_unit_test(test_rules_error_sum),
        cmocka_unit_test(test_rules_error_bad_number),
        cmocka_unit_test(test_rules_error_bad_duration),
        cmocka_unit_test(test_rules_error_unknown_alert_option),
        cmocka_unit_test(test_rules_error_alert_shape),
        cmocka_unit_test(test_rules_error_both_below_and_above),
        cmocka_unit_test(test_rules_error_missing_window_or_threshold),
        cmocka_unit_test(test_rules_error_clear_on_wrong_side),
        cmocka_unit_test(test_rules_error_define_and_metric_shape),
        cmocka_unit_test(test_rules_error_ratio_shape),
        cmocka_unit_test(test_rules_error_ratio_trailing_garbage),
        cmocka_unit_test(test_rules_error_too_many_words),
        cmocka_unit_test(test_rules_error_nul_byte),
        cmocka_unit_test(test_rules_finish_undefined_metric_in_alert),
        cmocka_unit_test(test_rules_finish_undefined_metric_in_ratio),
        cmocka_unit_test(test_rules_finish_ratio_operand_column_is_the_operand),
        cmocka_unit_test(test_rules_finish_ratio_of_a_ratio),
        cmocka_unit_test(test_rules_finish_window_not_a_multiple_of_step),
        cmocka_unit_test(test_rules_error_bad_regex),
        cmocka_unit_test(test_rules_load_directory_in_name_order),
        cmocka_unit_test(test_rules_load_missing_file),
        cmocka_unit_test(test_rules_load_single_file),
        cmocka_unit_test(test_rules_reports_every_error_in_file_order),
        cmocka_unit_test(test_rules_reports_every_error_of_a_line),
        cmocka_unit_test(test_rules_finish_after_parse_errors_sorts_all),
        cmocka_unit_test(test_rules_too_many_errors_stop),
        cmocka_unit_test(test_rules_error_double_quotes),
        cmocka_unit_test(test_rules_error_spaces_around_operator),
        cmocka_unit_test(test_rules_error_operators_of_other_languages),
        cmocka_unit_test(test_rules_error_bad_field_name),
        cmocka_unit_test(test_rules_error_option_on_metric_line),
        cmocka_unit_test(test_rules_error_define_in_literal),
        cmocka_unit_test(test_rules_error_define_bomb),
        cmocka_unit_test(test_rules_define_up_to_the_limit),
        cmocka_unit_test(test_rules_names_among_many),
        cmocka_unit_test(test_rules_error_number_and_duration_hints),
        cmocka_unit_test(test_rules_error_option_given_twice),
        cmocka_unit_test(test_rules_error_alert_names),
        cmocka_unit_test(test_rules_error_trailing_backslash),
        cmocka_unit_test(test_rules_finish_did_you_mean_metric),
        cmocka_unit_test(test_rules_finish_for_not_a_multiple_of_step),
        cmocka_unit_test(test_rules_load_directory_reports_every_file),
        cmocka_unit_test(test_diag_add_print_and_sort),
        cmocka_unit_test(test_diag_add_to_zeroed_and_full),
        cmocka_unit_test(test_diag_nearest),
        cmocka_unit_test(test_rules_warn_fields_once_each_with_did_you_mean),
        cmocka_unit_test(test_rules_check_output_is_a_rule_file),
        cmocka_unit_test(test_rules_check_output_of_every_rule_file_loads_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
