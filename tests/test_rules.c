/*
 * test_rules.c -- unit tests of the rule-file parser (src/rules.c), SPEC section 3.
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

#include "rarr/buf.h"
#include "rarr/rules.h"

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
    assert_string_equal(field_name(rs, m->sum_field), "amount");
    assert_int_equal(m->nconds, 1);
    assert_string_equal(field_name(rs, m->conds[0].field), "event");
    assert_int_equal(m->category, RULES_REVENUE);
    m = &rs->metrics[1];
    assert_int_equal(m->kind, RULES_SUM);
    assert_int_equal(m->nconds, 0);
    assert_string_equal(field_name(rs, m->sum_field), "value");
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
                "unknown directive 'metrc' (expected define, metric, ratio, alert or anomaly)");
    parse_error("  Metric a\n", 1, 3,
                "unknown directive 'Metric' (expected define, metric, ratio, alert or anomaly)");
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
    /* A define must come before its use. */
    parse_error("metric a request~'%{X}'\ndefine X 'x'\n", 1, 19,
                "undefined pattern '%{X}' (define it earlier with: define NAME 'REGEX')");
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
    (void)state;
    parse_error("metric a by=status\n", 1, 10,
                "'by=' is not supported by this version of rarr (count and sum= are)");
    parse_error("metric a request~'x' distinct=user\n", 1, 22,
                "'distinct=' is not supported by this version of rarr (count and sum= are)");
    parse_error("metric a p95=request_time\n", 1, 10,
                "'p95=' is not supported by this version of rarr (count and sum= are)");
    parse_error("metric a p50=x\n", 1, 10,
                "'p50=' is not supported by this version of rarr (count and sum= are)");
    parse_error("metric a p99=x\n", 1, 10,
                "'p99=' is not supported by this version of rarr (count and sum= are)");
    parse_error("metric a max_keys=5\n", 1, 10,
                "'max_keys=' is not supported by this version of rarr (count and sum= are)");
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
                "unknown option 'below' (expected window, season, direction, sensitivity, min, "
                "for, name)");
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
    check_diag(&d, FILE_NAME, 2, 32,
               "unknown option 'windw' (expected window, below, above, for, clear, name)");
    /* The caret underlines the option's name. */
    assert_string_equal(d.src, "alert   a  window=15m below=70 windw=5m");
    assert_int_equal(d.width, 5);
    rules_free(rs);
    /* The same after a name= (its text must not leak either). */
    parse_error("alert a name=x window=1m below=1 when=now\n", 1, 34,
                "unknown option 'when' (expected window, below, above, for, clear, name)");
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
                "expected: metric NAME [rarr=CATEGORY] [CONDITION...] [sum=FIELD]");
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
 * "a / b-c" is not "a / b" (SPEC section 3: unknown options are errors).
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

/* Column of the NUL byte: SPEC section 3 reports every error as FILE:LINE:COL. */
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

static void
test_rules_finish_bad_regex(void **state)
{
    (void)state;
    finish_error("metric a request~'^GET /(login'\n", STEP_MS, 1, 31,
                 "bad regex: missing closing parenthesis (at offset 12 of '^GET /(login')");
    finish_error("metric a status~'^2' request~'a)b'\n", STEP_MS, 1, 32,
                 "bad regex: unmatched closing parenthesis (at offset 1 of 'a)b')");
    /* Past the text the user wrote on this line the column stays at the value. */
    finish_error("define B '(x'\nmetric a request~'^%{B}'\n", STEP_MS, 2, 19,
                 "bad regex: missing closing parenthesis (at offset 3 of '^(x')");
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
    check_diag(&d, path, 1, 1,
               "unknown directive 'metrc' (expected define, metric, ratio, alert or anomaly)");
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_define_used_in_later_define_and_metric),
        cmocka_unit_test(test_rules_metric_category_and_conditions),
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
        cmocka_unit_test(test_rules_finish_bad_regex),
        cmocka_unit_test(test_rules_load_directory_in_name_order),
        cmocka_unit_test(test_rules_load_missing_file),
        cmocka_unit_test(test_rules_load_single_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
