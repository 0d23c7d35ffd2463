/*
 * test_clock.c -- unit tests for clock.c: durations ("1h30m") both ways, the
 * timestamp forms the inputs carry (CLF with any offset, RFC 3339, epoch
 * seconds / ms / us / ns), clock_parse_any, RFC 3339 output and clock_floor.
 *
 * Expected instants were computed independently (Python's datetime), never
 * by the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>
#include <time.h>

#include "rarr/clock.h"

#define SENTINEL ((int64_t)-424242)

/* 2000-10-10T13:55:36 local time, as UTC ms, for several offsets. */
#define OCT10_UTC 971186136000LL       /* +0000 */
#define OCT10_MINUS0700 971211336000LL /* -0700 */
#define OCT10_PLUS0530 971166336000LL  /* +0530 */
#define OCT10_PLUS1400 971135736000LL  /* +1400 */

#define MAY04_0214 1777860840000LL  /* 2026-05-04T02:14:00Z */
#define JOURNALD_MS 1777899909123LL /* 2026-05-04T13:05:09.123Z */

/* Parse a duration given as a C string; the length excludes the NUL. */
static int
dur(const char *s, int64_t *ms, const char **why)
{
    return clock_parse_duration(s, strlen(s), ms, why);
}

static int
clf(const char *s, int64_t *ms)
{
    return clock_parse_clf(s, strlen(s), ms);
}

static int
rfc(const char *s, int64_t *ms)
{
    return clock_parse_rfc3339(s, strlen(s), ms);
}

static int
epoch(const char *s, int64_t *ms)
{
    return clock_parse_epoch(s, strlen(s), ms);
}

static int
any(const char *s, int64_t *ms)
{
    return clock_parse_any(s, strlen(s), ms);
}

/* Assert that a duration fails, leaves '*ms' alone and gives a reason containing 'word'. */
static void
assert_bad_duration(const char *s, const char *word)
{
    int64_t ms = SENTINEL;
    const char *why = NULL;

    assert_int_equal(dur(s, &ms, &why), -1);
    assert_int_equal(ms, SENTINEL);
    assert_non_null(why);
    assert_true(why[0] != '\0');
    if (word != NULL && strstr(why, word) == NULL)
        fail_msg("duration '%s': reason '%s' does not mention '%s'", s, why, word);
}

/* ---- durations ---------------------------------------------------------- */

static void
test_duration_seconds(void **state)
{
    int64_t ms = SENTINEL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(dur("90s", &ms, &why), 0);
    assert_int_equal(ms, 90000);
}

static void
test_duration_minutes(void **state)
{
    int64_t ms = SENTINEL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(dur("15m", &ms, &why), 0);
    assert_int_equal(ms, 900000);
}

static void
test_duration_combined_units(void **state)
{
    int64_t ms = SENTINEL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(dur("1h30m", &ms, &why), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(dur("1d2h3m4s5ms", &ms, &why), 0);
    assert_int_equal(ms, 86400000LL + 2 * 3600000LL + 3 * 60000 + 4000 + 5);
}

static void
test_duration_zero(void **state)
{
    int64_t ms = SENTINEL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(dur("0s", &ms, &why), 0);
    assert_int_equal(ms, 0);
}

static void
test_duration_milliseconds_not_minutes(void **state)
{
    int64_t ms = SENTINEL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(dur("250ms", &ms, &why), 0);
    assert_int_equal(ms, 250);
    /* "m" followed by something other than "s" stays minutes. */
    assert_int_equal(dur("2m5s", &ms, &why), 0);
    assert_int_equal(ms, 125000);
}

static void
test_duration_days_and_weeks(void **state)
{
    int64_t ms = SENTINEL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(dur("1w", &ms, &why), 0);
    assert_int_equal(ms, 604800000LL);
    assert_int_equal(dur("1d", &ms, &why), 0);
    assert_int_equal(ms, 86400000LL);
}

static void
test_duration_reads_only_len_bytes(void **state)
{
    int64_t ms = SENTINEL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(clock_parse_duration("15mjunk", 3, &ms, &why), 0);
    assert_int_equal(ms, 900000);
    /* Cut inside "ms": the 'm' alone is minutes. */
    assert_int_equal(clock_parse_duration("5ms", 2, &ms, &why), 0);
    assert_int_equal(ms, 300000);
}

static void
test_duration_empty_rejected(void **state)
{
    (void)state;
    assert_bad_duration("", "empty");
}

static void
test_duration_number_without_unit_rejected(void **state)
{
    (void)state;
    assert_bad_duration("15", "unit");
    assert_bad_duration("1h30", "unit");
}

static void
test_duration_unknown_unit_rejected(void **state)
{
    (void)state;
    assert_bad_duration("1x", "unit");
    assert_bad_duration("1.5h", NULL);
    assert_bad_duration("1H", NULL);
}

static void
test_duration_negative_rejected(void **state)
{
    (void)state;
    assert_bad_duration("-1m", NULL);
}

static void
test_duration_garbage_rejected(void **state)
{
    (void)state;
    assert_bad_duration("m", NULL);
    assert_bad_duration(" 1m", NULL);
    assert_bad_duration("1m ", NULL);
    assert_bad_duration("1m+1s", NULL);
}

static void
test_duration_overflow_rejected(void **state)
{
    (void)state;
    /* Just over the 10000-year cap, in two spellings. */
    assert_bad_duration("3650001d", "large");
    assert_bad_duration("521429w", "large");
    /* The sum of parts over the cap. */
    assert_bad_duration("3650000d1ms", "large");
    /* More digits than an int64 holds. */
    assert_bad_duration("99999999999999999999s", "large");
    assert_bad_duration("99999999999999999999999999999999ms", "large");
}

static void
test_duration_overflow_at_int64_limit_rejected(void **state)
{
    (void)state;
    /* INT64_MAX + 1 and the like: the digit loop must not wrap. */
    assert_bad_duration("9223372036854775808ms", "large");
    assert_bad_duration("9223372036854775809s", "large");
}

static void
test_duration_largest_accepted(void **state)
{
    int64_t ms = SENTINEL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(dur("3650000d", &ms, &why), 0);
    assert_int_equal(ms, 3650000LL * 86400000LL);
}

static void
test_duration_format_shortest_units(void **state)
{
    char out[RARR_DUR_MAX];

    (void)state;
    clock_format_duration(5400000, out);
    assert_string_equal(out, "1h30m");
    clock_format_duration(900000, out);
    assert_string_equal(out, "15m");
    clock_format_duration(90000, out);
    assert_string_equal(out, "1m30s");
    clock_format_duration(250, out);
    assert_string_equal(out, "250ms");
    clock_format_duration(604800000LL, out);
    assert_string_equal(out, "1w");
    clock_format_duration(1500, out);
    assert_string_equal(out, "1s500ms");
    clock_format_duration(604800000LL + 86400000LL + 3600000 + 60000 + 1000 + 1, out);
    assert_string_equal(out, "1w1d1h1m1s1ms");
}

static void
test_duration_format_zero_and_negative(void **state)
{
    char out[RARR_DUR_MAX];

    (void)state;
    clock_format_duration(0, out);
    assert_string_equal(out, "0s");
    clock_format_duration(-5000, out);
    assert_string_equal(out, "0s");
}

static void
test_duration_format_largest_fits(void **state)
{
    char out[RARR_DUR_MAX];
    int64_t ms = SENTINEL;
    const char *why = NULL;

    (void)state;
    clock_format_duration(3650000LL * 86400000LL - 1, out);
    assert_string_equal(out, "521428w3d23h59m59s999ms");
    assert_int_equal(dur(out, &ms, &why), 0);
    assert_int_equal(ms, 3650000LL * 86400000LL - 1);
}

static void
test_duration_format_round_trips(void **state)
{
    static const int64_t values[] = {
        1,
        999,
        1000,
        59999,
        60000,
        90000,
        3599999,
        3600000,
        5400000,
        86400000LL,
        86400001LL,
        604800000LL,
        1209600000LL + 3723004LL,
        31536000000LL,
    };
    static const char *const texts[] = {"250ms", "1m30s", "15m",          "1h30m",
                                        "1d",    "1w",    "2w3d4h5m6s7ms"};
    char out[RARR_DUR_MAX];
    int64_t ms;
    const char *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        clock_format_duration(values[i], out);
        ms = SENTINEL;
        assert_int_equal(dur(out, &ms, &why), 0);
        assert_int_equal(ms, values[i]);
    }
    /* Already-shortest spellings come back as written. */
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(dur(texts[i], &ms, &why), 0);
        clock_format_duration(ms, out);
        assert_string_equal(out, texts[i]);
    }
}

/* ---- CLF times ---------------------------------------------------------- */

static void
test_clf_time_utc(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(clf("10/Oct/2000:13:55:36 +0000", &ms), 0);
    assert_int_equal(ms, OCT10_UTC);
}

static void
test_clf_time_negative_offset(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(clf("10/Oct/2000:13:55:36 -0700", &ms), 0);
    assert_int_equal(ms, OCT10_MINUS0700);
}

static void
test_clf_time_half_hour_offset(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(clf("10/Oct/2000:13:55:36 +0530", &ms), 0);
    assert_int_equal(ms, OCT10_PLUS0530);
}

static void
test_clf_time_plus_fourteen_offset(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(clf("10/Oct/2000:13:55:36 +1400", &ms), 0);
    assert_int_equal(ms, OCT10_PLUS1400);
}

static void
test_clf_time_offset_crosses_day_and_year(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    /* 2025-12-31T20:00:00-0700 is 2026-01-01T03:00:00Z. */
    assert_int_equal(clf("31/Dec/2025:20:00:00 -0700", &ms), 0);
    assert_int_equal(ms, 1767236400000LL);
}

static void
test_clf_time_every_month_name(void **state)
{
    static const char *const names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    /* The 1st of each month of 2021, 00:00:00Z. */
    static const int64_t want[] = {
        1609459200000LL, 1612137600000LL, 1614556800000LL, 1617235200000LL,
        1619827200000LL, 1622505600000LL, 1625097600000LL, 1627776000000LL,
        1630454400000LL, 1633046400000LL, 1635724800000LL, 1638316800000LL,
    };
    char s[32];
    int64_t ms;
    size_t i;

    (void)state;
    for (i = 0; i < 12; i++) {
        snprintf(s, sizeof(s), "01/%s/2021:00:00:00 +0000", names[i]);
        ms = SENTINEL;
        assert_int_equal(clf(s, &ms), 0);
        assert_int_equal(ms, want[i]);
    }
}

static void
test_clf_time_leap_day(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(clf("29/Feb/2024:23:59:59 +0000", &ms), 0);
    assert_int_equal(ms, 1709251199000LL);
    assert_int_equal(clf("29/Feb/2000:00:00:00 +0000", &ms), 0);
    assert_int_equal(ms, 951782400000LL);
}

static void
test_clf_time_leap_second_is_last_ms(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    /* :60 reads as the last millisecond of :59, keeping order. */
    assert_int_equal(clf("31/Dec/2016:23:59:60 +0000", &ms), 0);
    assert_int_equal(ms, 1483228799999LL);
}

static void
test_clf_time_impossible_dates_rejected(void **state)
{
    static const char *const bad[] = {
        "31/Apr/2021:00:00:00 +0000", /* April has 30 days */
        "29/Feb/2023:00:00:00 +0000", /* not a leap year */
        "29/Feb/1900:00:00:00 +0000", /* century, not a leap year */
        "00/Jan/2021:00:00:00 +0000", "32/Jan/2021:00:00:00 +0000",
        "10/Oct/2000:24:00:00 +0000", /* hour 24 */
        "10/Oct/2000:13:60:00 +0000", "10/Oct/2000:13:55:61 +0000",
        "10/Foo/2000:13:55:36 +0000", /* month Foo */
        "10/oct/2000:13:55:36 +0000", /* month names are capitalised */
    };
    int64_t ms;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = SENTINEL;
        if (clf(bad[i], &ms) != -1)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, SENTINEL);
    }
}

static void
test_clf_time_malformed_rejected(void **state)
{
    static const char *const bad[] = {
        "",
        "10/Oct/2000:13:55:36",        /* no zone */
        "10/Oct/2000:13:55:36 +000",   /* short zone */
        "10/Oct/2000:13:55:36 +00000", /* long zone */
        "10/Oct/2000:13:55:36 0000x",
        "10/Oct/2000:13:55:36 +2400", /* offset hour out of range */
        "10/Oct/2000:13:55:36 +0060",
        "10/Oct/2000:13:55:36 +07:0",
        "1/Oct/2000:13:55:36 +00000", /* one-digit day */
        "10-Oct-2000:13:55:36 +0000",
        "10/Oct/2000 13:55:36 +0000",
        "10/Oct/2000:13:55:36-+0000",
        "aa/Oct/2000:13:55:36 +0000",
        "[10/Oct/2000:13:55:36 +0000", /* brackets are not part of it */
    };
    int64_t ms;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = SENTINEL;
        if (clf(bad[i], &ms) != -1)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, SENTINEL);
    }
}

/* ---- RFC 3339 ----------------------------------------------------------- */

static void
test_rfc3339_zulu(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(rfc("2026-05-04T02:14:00Z", &ms), 0);
    assert_int_equal(ms, MAY04_0214);
}

static void
test_rfc3339_offset_with_colon(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(rfc("2026-05-04T02:14:00+02:00", &ms), 0);
    assert_int_equal(ms, MAY04_0214 - 2 * 3600000LL);
    assert_int_equal(rfc("2026-05-04T02:14:00-07:30", &ms), 0);
    assert_int_equal(ms, MAY04_0214 + 7 * 3600000LL + 30 * 60000LL);
}

static void
test_rfc3339_offset_without_colon(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(rfc("2026-05-04T02:14:00+0200", &ms), 0);
    assert_int_equal(ms, MAY04_0214 - 2 * 3600000LL);
}

static void
test_rfc3339_fraction_truncated_to_ms(void **state)
{
    /* ".1", ".12", ..., ".123456789": ms is the first three digits, truncated. */
    static const int64_t want[] = {100, 120, 123, 123, 123, 123, 123, 123, 123};
    const char *digits9 = "123456789";
    char s[64];
    int64_t ms;
    int n;

    (void)state;
    for (n = 1; n <= 9; n++) {
        snprintf(s, sizeof(s), "2026-05-04T02:14:00.%.*sZ", n, digits9);
        ms = SENTINEL;
        assert_int_equal(rfc(s, &ms), 0);
        assert_int_equal(ms, MAY04_0214 + want[n - 1]);
    }
    /* Truncated, not rounded. */
    assert_int_equal(rfc("2026-05-04T02:14:00.999999999Z", &ms), 0);
    assert_int_equal(ms, MAY04_0214 + 999);
    assert_int_equal(rfc("2026-05-04T02:14:00.0009Z", &ms), 0);
    assert_int_equal(ms, MAY04_0214);
}

static void
test_rfc3339_fraction_with_offset(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(rfc("2026-05-04T02:14:00.123+02:00", &ms), 0);
    assert_int_equal(ms, 1777853640123LL);
    assert_int_equal(rfc("2026-05-04T02:14:00.123456-0700", &ms), 0);
    assert_int_equal(ms, MAY04_0214 + 7 * 3600000LL + 123);
}

static void
test_rfc3339_space_instead_of_t(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(rfc("2026-05-04 02:14:00Z", &ms), 0);
    assert_int_equal(ms, MAY04_0214);
}

static void
test_rfc3339_lowercase_t_and_z(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(rfc("2026-05-04t02:14:00z", &ms), 0);
    assert_int_equal(ms, MAY04_0214);
}

static void
test_rfc3339_missing_zone_is_utc(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(rfc("2026-05-04T02:14:00", &ms), 0);
    assert_int_equal(ms, MAY04_0214);
    assert_int_equal(rfc("2026-05-04 02:14:00.5", &ms), 0);
    assert_int_equal(ms, MAY04_0214 + 500);
}

static void
test_rfc3339_comma_fraction(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    /* ISO 8601 allows a comma as the decimal sign. */
    assert_int_equal(rfc("2026-05-04T02:14:00,25Z", &ms), 0);
    assert_int_equal(ms, MAY04_0214 + 250);
}

static void
test_rfc3339_before_epoch(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(rfc("1969-12-31T23:59:59.500Z", &ms), 0);
    assert_int_equal(ms, -500);
    assert_int_equal(rfc("1968-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(ms, -58060800000LL);
}

static void
test_rfc3339_reads_only_len_bytes(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(clock_parse_rfc3339("2026-05-04T02:14:00Zjunk", 20, &ms), 0);
    assert_int_equal(ms, MAY04_0214);
}

static void
test_rfc3339_garbage_rejected(void **state)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "2026-05-04",
        "2026-05-04T02:14Z",
        "2026-05-04T02:14:00X",
        "2026-05-04T02:14:00ZZ",
        "2026-05-04T02:14:00.Z",
        "2026-05-04T02:14:00.",
        "2026-05-04T02:14:00+2:00",
        "2026-05-04T02:14:00+02",
        "2026-05-04T02:14:00+02:00junk",
        "2026-05-04T02:14:00+24:00",
        "2026-05-04T02:14:00 +02:00",
        "2026/05/04T02:14:00Z",
        "2026-05-04X02:14:00Z",
        "2026-13-04T02:14:00Z",
        "2026-00-04T02:14:00Z",
        "2026-02-30T02:14:00Z",
        "2023-02-29T00:00:00Z",
        "2026-05-04T24:00:00Z",
        "2026-05-04T02:60:00Z",
        "2026-5-04T02:14:00Z",
        "+026-05-04T02:14:00Z",
    };
    int64_t ms;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = SENTINEL;
        if (rfc(bad[i], &ms) != -1)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, SENTINEL);
    }
}

/* ---- epoch numbers ------------------------------------------------------ */

static void
test_epoch_seconds_integer(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(epoch("1777899909", &ms), 0);
    assert_int_equal(ms, 1777899909000LL);
    assert_int_equal(epoch("0", &ms), 0);
    assert_int_equal(ms, 0);
}

static void
test_epoch_seconds_fraction(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(epoch("1777899909.5", &ms), 0);
    assert_int_equal(ms, 1777899909500LL);
    assert_int_equal(epoch("1777899909.123", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
    /* Beyond the millisecond: truncated. */
    assert_int_equal(epoch("1777899909.123999", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
}

static void
test_epoch_seconds_fraction_near_1970_exact(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    /* Decimal fractions that binary doubles cannot hold must not lose a ms. */
    assert_int_equal(epoch("1.001", &ms), 0);
    assert_int_equal(ms, 1001);
    assert_int_equal(epoch("0.035", &ms), 0);
    assert_int_equal(ms, 35);
    assert_int_equal(epoch("86400.003", &ms), 0);
    assert_int_equal(ms, 86400003);
}

static void
test_epoch_negative_seconds(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(epoch("-1", &ms), 0);
    assert_int_equal(ms, -1000);
    assert_int_equal(epoch("-1.5", &ms), 0);
    assert_int_equal(ms, -1500);
}

static void
test_epoch_milliseconds(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(epoch("1777899909123", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
}

static void
test_epoch_journald_microseconds(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    /* 16 digits: read as integers, no precision lost through a double. */
    assert_int_equal(epoch("1777899909123456", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
    assert_int_equal(epoch("1777899909123999", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
}

static void
test_epoch_nanoseconds(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    /* A 2026 time in ns has 19 digits. */
    assert_int_equal(epoch("1777899909123456789", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
    /* 1973-03-03T09:46:40Z in ns: 18 digits. */
    assert_int_equal(epoch("100000000000000000", &ms), 0);
    assert_int_equal(ms, 100000000000LL);
}

static void
test_epoch_garbage_rejected(void **state)
{
    static const char *const bad[] = {
        "",
        "-",
        "abc",
        "12a",
        "1.",
        ".5",
        "1e9",
        "1.2.3",
        " 1",
        "1 ",
        "+1",
        "--1",
        "99999999999999999999", /* more digits than int64 */
    };
    int64_t ms;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = SENTINEL;
        if (epoch(bad[i], &ms) != -1)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, SENTINEL);
    }
}

static void
test_from_number_scales_by_magnitude(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(clock_from_number(1777899909.0, &ms), 0);
    assert_int_equal(ms, 1777899909000LL);
    assert_int_equal(clock_from_number(1777899909.5, &ms), 0);
    assert_int_equal(ms, 1777899909500LL);
    assert_int_equal(clock_from_number(1777899909123.0, &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
    assert_int_equal(clock_from_number(1777899909123456.0, &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
    assert_int_equal(clock_from_number(1777899909123456789.0, &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
    assert_int_equal(clock_from_number(-1.5, &ms), 0);
    assert_int_equal(ms, -1500);
}

static void
test_from_number_fraction_near_1970_exact(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(clock_from_number(1.001, &ms), 0);
    assert_int_equal(ms, 1001);
    assert_int_equal(clock_from_number(0.035, &ms), 0);
    assert_int_equal(ms, 35);
}

static void
test_from_number_non_finite_and_out_of_range_rejected(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(clock_from_number(NAN, &ms), -1);
    assert_int_equal(clock_from_number(INFINITY, &ms), -1);
    assert_int_equal(clock_from_number(-INFINITY, &ms), -1);
    /* 1e21 ns is 1e15 ms, past year 9999. */
    assert_int_equal(clock_from_number(1e21, &ms), -1);
    assert_int_equal(ms, SENTINEL);
}

/* ---- clock_parse_any ---------------------------------------------------- */

static void
test_parse_any_rfc3339(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(any("2026-05-04T02:14:00.123+02:00", &ms), 0);
    assert_int_equal(ms, 1777853640123LL);
}

static void
test_parse_any_clf_with_and_without_brackets(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(any("10/Oct/2000:13:55:36 -0700", &ms), 0);
    assert_int_equal(ms, OCT10_MINUS0700);
    ms = SENTINEL;
    assert_int_equal(any("[10/Oct/2000:13:55:36 -0700]", &ms), 0);
    assert_int_equal(ms, OCT10_MINUS0700);
}

static void
test_parse_any_epoch_forms(void **state)
{
    int64_t ms = SENTINEL;

    (void)state;
    assert_int_equal(any("1777899909", &ms), 0);
    assert_int_equal(ms, 1777899909000LL);
    assert_int_equal(any("1777899909.123", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
    assert_int_equal(any("1777899909123", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
    assert_int_equal(any("1777899909123456", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
    assert_int_equal(any("1777899909123456789", &ms), 0);
    assert_int_equal(ms, JOURNALD_MS);
}

static void
test_parse_any_garbage_rejected(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "yesterday",
        "2026-05-04T02:14:00Q",
        "[2026-05-04T02:14:00Z]",
        "[10/Oct/2000:13:55:36 -0700",
        "31/Apr/2021:00:00:00 +0000",
        "12:00",
    };
    int64_t ms;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = SENTINEL;
        if (any(bad[i], &ms) != -1)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, SENTINEL);
    }
}

/* ---- clock_format_time -------------------------------------------------- */

static void
test_format_time_without_ms(void **state)
{
    char out[RARR_TIME_MAX];

    (void)state;
    clock_format_time(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    clock_format_time(MAY04_0214, out);
    assert_string_equal(out, "2026-05-04T02:14:00Z");
}

static void
test_format_time_with_ms(void **state)
{
    char out[RARR_TIME_MAX];

    (void)state;
    clock_format_time(JOURNALD_MS, out);
    assert_string_equal(out, "2026-05-04T13:05:09.123Z");
    clock_format_time(MAY04_0214 + 5, out);
    assert_string_equal(out, "2026-05-04T02:14:00.005Z");
}

static void
test_format_time_before_1970(void **state)
{
    char out[RARR_TIME_MAX];

    (void)state;
    clock_format_time(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    clock_format_time(-1000, out);
    assert_string_equal(out, "1969-12-31T23:59:59Z");
    clock_format_time(-86400000LL, out);
    assert_string_equal(out, "1969-12-31T00:00:00Z");
    clock_format_time(-86400001LL, out);
    assert_string_equal(out, "1969-12-30T23:59:59.999Z");
}

static void
test_format_time_around_leap_days(void **state)
{
    char out[RARR_TIME_MAX];

    (void)state;
    clock_format_time(-58060800000LL, out);
    assert_string_equal(out, "1968-02-29T00:00:00Z");
    clock_format_time(-58060800001LL, out);
    assert_string_equal(out, "1968-02-28T23:59:59.999Z");
    clock_format_time(951782400000LL, out);
    assert_string_equal(out, "2000-02-29T00:00:00Z");
    clock_format_time(1709251199999LL, out);
    assert_string_equal(out, "2024-02-29T23:59:59.999Z");
    clock_format_time(1709251200000LL, out);
    assert_string_equal(out, "2024-03-01T00:00:00Z");
    /* 1900 is not a leap year: Feb 28 is followed by Mar 1. */
    clock_format_time(-2203891200001LL, out);
    assert_string_equal(out, "1900-02-28T23:59:59.999Z");
    clock_format_time(-2203891200000LL, out);
    assert_string_equal(out, "1900-03-01T00:00:00Z");
}

static void
test_format_time_range_ends(void **state)
{
    char out[RARR_TIME_MAX];

    (void)state;
    clock_format_time(-62167219200000LL, out);
    assert_string_equal(out, "0000-01-01T00:00:00Z");
    clock_format_time(253402300799999LL, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
}

static void
test_format_time_round_trips_through_rfc3339(void **state)
{
    static const int64_t values[] = {
        0,
        1,
        -1,
        999,
        -999,
        JOURNALD_MS,
        MAY04_0214,
        -58060800000LL,
        951782399999LL,
        -2203891200001LL,
        -62135596800000LL,
        253402300799999LL,
        -62167219200000LL,
    };
    char out[RARR_TIME_MAX];
    int64_t ms;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        clock_format_time(values[i], out);
        ms = SENTINEL;
        assert_int_equal(rfc(out, &ms), 0);
        assert_int_equal(ms, values[i]);
    }
}

/* ---- clock_floor -------------------------------------------------------- */

static void
test_floor_positive(void **state)
{
    (void)state;
    assert_int_equal(clock_floor(0, 60000), 0);
    assert_int_equal(clock_floor(59999, 60000), 0);
    assert_int_equal(clock_floor(60000, 60000), 60000);
    assert_int_equal(clock_floor(JOURNALD_MS, 60000), 1777899900000LL);
}

static void
test_floor_negative_rounds_down(void **state)
{
    (void)state;
    assert_int_equal(clock_floor(-1, 60000), -60000);
    assert_int_equal(clock_floor(-59999, 60000), -60000);
    assert_int_equal(clock_floor(-60000, 60000), -60000);
    assert_int_equal(clock_floor(-60001, 60000), -120000);
    assert_int_equal(clock_floor(-1, 86400000LL), -86400000LL);
}

/* --tz: the zone's offset at a time, daylight saving included (a POSIX TZ rule, no tzdata). */
static void
test_zone_offset_follows_daylight_saving(void **state)
{
    (void)state;
    assert_int_equal(setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1), 0);
    tzset();
    assert_int_equal(clock_zone_offset(1767225600000LL), -300); /* 2026-01-01T00:00Z */
    assert_int_equal(clock_zone_offset(1782864000000LL), -240); /* 2026-07-01T00:00Z */
    assert_int_equal(setenv("TZ", "UTC0", 1), 0);
    tzset();
    assert_int_equal(clock_zone_offset(1782864000000LL), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_seconds),
        cmocka_unit_test(test_duration_minutes),
        cmocka_unit_test(test_duration_combined_units),
        cmocka_unit_test(test_duration_zero),
        cmocka_unit_test(test_duration_milliseconds_not_minutes),
        cmocka_unit_test(test_duration_days_and_weeks),
        cmocka_unit_test(test_duration_reads_only_len_bytes),
        cmocka_unit_test(test_duration_empty_rejected),
        cmocka_unit_test(test_duration_number_without_unit_rejected),
        cmocka_unit_test(test_duration_unknown_unit_rejected),
        cmocka_unit_test(test_duration_negative_rejected),
        cmocka_unit_test(test_duration_garbage_rejected),
        cmocka_unit_test(test_duration_overflow_rejected),
        cmocka_unit_test(test_duration_overflow_at_int64_limit_rejected),
        cmocka_unit_test(test_duration_largest_accepted),
        cmocka_unit_test(test_duration_format_shortest_units),
        cmocka_unit_test(test_duration_format_zero_and_negative),
        cmocka_unit_test(test_duration_format_largest_fits),
        cmocka_unit_test(test_duration_format_round_trips),
        cmocka_unit_test(test_clf_time_utc),
        cmocka_unit_test(test_clf_time_negative_offset),
        cmocka_unit_test(test_clf_time_half_hour_offset),
        cmocka_unit_test(test_clf_time_plus_fourteen_offset),
        cmocka_unit_test(test_clf_time_offset_crosses_day_and_year),
        cmocka_unit_test(test_clf_time_every_month_name),
        cmocka_unit_test(test_clf_time_leap_day),
        cmocka_unit_test(test_clf_time_leap_second_is_last_ms),
        cmocka_unit_test(test_clf_time_impossible_dates_rejected),
        cmocka_unit_test(test_clf_time_malformed_rejected),
        cmocka_unit_test(test_rfc3339_zulu),
        cmocka_unit_test(test_rfc3339_offset_with_colon),
        cmocka_unit_test(test_rfc3339_offset_without_colon),
        cmocka_unit_test(test_rfc3339_fraction_truncated_to_ms),
        cmocka_unit_test(test_rfc3339_fraction_with_offset),
        cmocka_unit_test(test_rfc3339_space_instead_of_t),
        cmocka_unit_test(test_rfc3339_lowercase_t_and_z),
        cmocka_unit_test(test_rfc3339_missing_zone_is_utc),
        cmocka_unit_test(test_rfc3339_comma_fraction),
        cmocka_unit_test(test_rfc3339_before_epoch),
        cmocka_unit_test(test_rfc3339_reads_only_len_bytes),
        cmocka_unit_test(test_rfc3339_garbage_rejected),
        cmocka_unit_test(test_epoch_seconds_integer),
        cmocka_unit_test(test_epoch_seconds_fraction),
        cmocka_unit_test(test_epoch_seconds_fraction_near_1970_exact),
        cmocka_unit_test(test_epoch_negative_seconds),
        cmocka_unit_test(test_epoch_milliseconds),
        cmocka_unit_test(test_epoch_journald_microseconds),
        cmocka_unit_test(test_epoch_nanoseconds),
        cmocka_unit_test(test_epoch_garbage_rejected),
        cmocka_unit_test(test_from_number_scales_by_magnitude),
        cmocka_unit_test(test_from_number_fraction_near_1970_exact),
        cmocka_unit_test(test_from_number_non_finite_and_out_of_range_rejected),
        cmocka_unit_test(test_parse_any_rfc3339),
        cmocka_unit_test(test_parse_any_clf_with_and_without_brackets),
        cmocka_unit_test(test_parse_any_epoch_forms),
        cmocka_unit_test(test_parse_any_garbage_rejected),
        cmocka_unit_test(test_format_time_without_ms),
        cmocka_unit_test(test_format_time_with_ms),
        cmocka_unit_test(test_format_time_before_1970),
        cmocka_unit_test(test_format_time_around_leap_days),
        cmocka_unit_test(test_format_time_range_ends),
        cmocka_unit_test(test_format_time_round_trips_through_rfc3339),
        cmocka_unit_test(test_floor_positive),
        cmocka_unit_test(test_floor_negative_rounds_down),
        cmocka_unit_test(test_zone_offset_follows_daylight_saving),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
