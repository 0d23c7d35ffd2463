/*
 * clock.c -- time for every stage: durations ("1h30m"), the timestamp forms
 * the input formats carry (CLF, RFC 3339, epoch s/ms/us), RFC 3339 output and
 * step arithmetic.
 *
 * All times are int64 milliseconds since the Unix epoch, UTC. Calendar maths
 * uses the proleptic Gregorian "days from civil" algorithm, so no libc time
 * zone state is touched and parsing is the same on every machine.
 */
#include "rarr/clock.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : mdays[m - 1];
}

/* Read exactly 'n' digits at p; -1 if any is not a digit. */
static int
digits(const char *p, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/*
 * Validate a broken-down time and turn it into ms since the epoch; 'off_min'
 * is the UTC offset written with the time (east positive). A leap second
 * (:60) is read as the last millisecond of :59's second, keeping order.
 */
static int
make_time(int64_t y, int mo, int d, int h, int mi, int s, int ms, int off_min, int64_t *out)
{
    int64_t t;

    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo) || h > 23 ||
        mi > 59 || s > 60)
        return -1;
    if (s == 60) {
        s = 59;
        ms = 999;
    }
    t = days_from_civil(y, (unsigned)mo, (unsigned)d) * CLOCK_DAY_MS +
        ((int64_t)h * 3600 + mi * 60 + s) * 1000 + ms - (int64_t)off_min * 60000;
    if (t < CLOCK_TIME_MIN || t > CLOCK_TIME_MAX)
        return -1;
    *out = t;
    return 0;
}

/*
 * Parse a duration: whole numbers with units ms s m h d w, combinable
 * ("1h30m", "90s", "0s"). On error return -1 and point '*why' at a message.
 */
int
clock_parse_duration(const char *s, size_t len, int64_t *ms, const char **why)
{
    int64_t total = 0, n, unit;
    size_t i = 0;

    if (len == 0) {
        *why = "empty";
        return -1;
    }
    while (i < len) {
        if (s[i] < '0' || s[i] > '9') {
            *why = "not a number with a unit";
            return -1;
        }
        for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (n > (INT64_MAX - (s[i] - '0')) / 10)
                goto big;
            n = n * 10 + (s[i] - '0');
        }
        if (i == len) {
            *why = "missing unit";
            return -1;
        }
        switch (s[i]) {
        case 'm':
            if (i + 1 < len && s[i + 1] == 's') {
                unit = 1;
                i++;
            } else {
                unit = 60000;
            }
            break;
        case 's':
            unit = 1000;
            break;
        case 'h':
            unit = 3600000;
            break;
        case 'd':
            unit = CLOCK_DAY_MS;
            break;
        case 'w':
            unit = 7 * CLOCK_DAY_MS;
            break;
        default:
            *why = "unknown unit";
            return -1;
        }
        i++;
        /* A century is far beyond any window; refusing more keeps sums exact. */
        if (n > 3650000LL * CLOCK_DAY_MS / unit)
            goto big;
        total += n * unit;
        if (total > 3650000LL * CLOCK_DAY_MS)
            goto big;
    }
    *ms = total;
    return 0;
big:
    *why = "too large";
    return -1;
}

/* Write 'ms' in the shortest unit form ("1h30m", "15m", "0s") to 'out'. */
void
clock_format_duration(int64_t ms, char *out)
{
    static const struct {
        const char *u;
        int64_t ms;
    } units[] = {{"w", 7 * CLOCK_DAY_MS}, {"d", CLOCK_DAY_MS},    {"h", CLOCK_HOUR_MS},
                 {"m", CLOCK_MINUTE_MS},  {"s", CLOCK_SECOND_MS}, {"ms", 1}};
    size_t i, n = 0;

    if (ms <= 0) {
        strcpy(out, "0s");
        return;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms >= units[i].ms) {
            n += (size_t)snprintf(out + n, RARR_DUR_MAX - n, "%lld%s",
                                  (long long)(ms / units[i].ms), units[i].u);
            ms %= units[i].ms;
        }
    }
}

static int
month_from_name(const char *p)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int i;

    for (i = 0; i < 12; i++)
        if (memcmp(p, names + 3 * i, 3) == 0)
            return i + 1;
    return -1;
}

/* Read a "+HHMM" or "-HHMM" offset: minutes east, or -10000 when malformed. */
static int
offset_hhmm(const char *p, int colon)
{
    int h, m, sign;

    if (p[0] != '+' && p[0] != '-')
        return -10000;
    sign = p[0] == '-' ? -1 : 1;
    h = digits(p + 1, 2);
    if (colon && p[3] != ':')
        return -10000;
    m = digits(p + 3 + (colon != 0), 2);
    if (h < 0 || m < 0 || h > 23 || m > 59)
        return -10000;
    return sign * (h * 60 + m);
}

/*
 * Parse a CLF time "10/Oct/2000:13:55:36 -0700" (exactly 26 bytes; the
 * brackets are not included). Returns 0 or -1.
 */
int
clock_parse_clf(const char *p, size_t len, int64_t *ms)
{
    int off;

    return clock_parse_clf_tz(p, len, ms, &off);
}

/* clock_parse_clf, also giving the UTC offset written in the line (minutes east). */
int
clock_parse_clf_tz(const char *p, size_t len, int64_t *ms, int *off_min)
{
    int d, mo, y, h, mi, s, off;

    if (len != 26 || p[2] != '/' || p[6] != '/' || p[11] != ':' || p[14] != ':' || p[17] != ':' ||
        p[20] != ' ')
        return -1;
    d = digits(p, 2);
    mo = month_from_name(p + 3);
    y = digits(p + 7, 4);
    h = digits(p + 12, 2);
    mi = digits(p + 15, 2);
    s = digits(p + 18, 2);
    off = offset_hhmm(p + 21, 0);
    if (d < 0 || mo < 0 || y < 0 || h < 0 || mi < 0 || s < 0 || off == -10000)
        return -1;
    *off_min = off;
    return make_time(y, mo, d, h, mi, s, 0, off, ms);
}

/*
 * Parse RFC 3339 / ISO 8601: "2026-05-04T02:14:00Z", with 'T' or a space,
 * an optional fraction of any length (read to the millisecond, truncated),
 * and "Z", "+02:00", "+0200" or no zone (read as UTC).
 */
int
clock_parse_rfc3339(const char *p, size_t len, int64_t *ms)
{
    int off;

    return clock_parse_rfc3339_tz(p, len, ms, &off);
}

/* clock_parse_rfc3339, also giving the offset written (0 for Z or none). */
int
clock_parse_rfc3339_tz(const char *p, size_t len, int64_t *ms, int *off_min)
{
    int y, mo, d, h, mi, s, frac = 0, off = 0, scale = 100;
    size_t i = 19;

    if (len < 19 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
        p[13] != ':' || p[16] != ':')
        return -1;
    y = digits(p, 4);
    mo = digits(p + 5, 2);
    d = digits(p + 8, 2);
    h = digits(p + 11, 2);
    mi = digits(p + 14, 2);
    s = digits(p + 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0)
        return -1;
    if (i < len && (p[i] == '.' || p[i] == ',')) {
        i++;
        if (i == len || p[i] < '0' || p[i] > '9')
            return -1;
        for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
            frac += (p[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (i < len) {
        if (p[i] == 'Z' || p[i] == 'z') {
            i++;
        } else if (len - i == 6) {
            off = offset_hhmm(p + i, 1);
            i += 6;
        } else if (len - i == 5) {
            off = offset_hhmm(p + i, 0);
            i += 5;
        } else {
            return -1;
        }
        if (off == -10000)
            return -1;
    }
    if (i != len)
        return -1;
    *off_min = off;
    return make_time(y, mo, d, h, mi, s, frac, off, ms);
}

/*
 * Read an epoch number by its size: up to 1e11 is seconds (until year 5138),
 * up to 1e14 milliseconds, up to 1e17 microseconds (journald), else
 * nanoseconds. Fractions are kept to the millisecond.
 */
int
clock_from_number(double v, int64_t *ms)
{
    double a = fabs(v), t;

    if (!isfinite(v))
        return -1;
    if (a < 1e11)
        t = round(v * 1e6) / 1000.0; /* to the us first: 1.001 is 1000.999.. ms */
    else if (a < 1e14)
        t = v;
    else if (a < 1e17)
        t = v / 1000.0;
    else
        t = v / 1e6;
    t = floor(t);
    if (t < (double)CLOCK_TIME_MIN || t > (double)CLOCK_TIME_MAX)
        return -1;
    *ms = (int64_t)t;
    return 0;
}

/*
 * Parse an epoch number written as text ("1777899909", "1777899909.5",
 * journald's "1777899909123456"). Integers are read exactly, so microsecond
 * strings do not lose precision through a double.
 */
int
clock_parse_epoch(const char *p, size_t len, int64_t *ms)
{
    size_t i = 0, ndig = 0, fd = 0;
    int64_t n = 0, fms = 0, t, div = 1;
    int neg = 0, fnz = 0, rest = 0, inexact;

    if (len > 0 && p[0] == '-') {
        neg = 1;
        i++;
    }
    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++, ndig++) {
        if (n > (INT64_MAX - (p[i] - '0')) / 10)
            return -1;
        n = n * 10 + (p[i] - '0');
    }
    if (ndig == 0)
        return -1;
    if (i < len && p[i] == '.') {
        for (i++; i < len && p[i] >= '0' && p[i] <= '9'; i++, fd++) {
            fnz |= p[i] != '0';
            if (fd < 3)
                fms = fms * 10 + (p[i] - '0');
            else
                rest |= p[i] != '0';
        }
        if (fd == 0)
            return -1;
        for (; fd < 3; fd++)
            fms *= 10;
    }
    if (i != len)
        return -1;
    /* By size, as clock_from_number: s, ms, us, ns; floor for negative values. */
    if (n < 100000000000LL) {
        t = n * 1000 + fms;
        inexact = rest;
    } else {
        if (n >= 100000000000000LL)
            div = n < 100000000000000000LL ? 1000 : 1000000;
        t = n / div;
        inexact = fnz || n % div != 0;
    }
    if (neg)
        t = -t - inexact;
    if (t < CLOCK_TIME_MIN || t > CLOCK_TIME_MAX)
        return -1;
    *ms = t;
    return 0;
}

/* Try every text form: RFC 3339, CLF (with or without brackets), epoch. */
int
clock_parse_any(const char *p, size_t len, int64_t *ms)
{
    int off;

    return clock_parse_any_tz(p, len, ms, &off);
}

/* clock_parse_any, also giving the offset written (0 for epoch numbers). */
int
clock_parse_any_tz(const char *p, size_t len, int64_t *ms, int *off_min)
{
    *off_min = 0;
    if (len >= 2 && p[0] == '[' && p[len - 1] == ']')
        return clock_parse_clf_tz(p + 1, len - 2, ms, off_min);
    if (clock_parse_rfc3339_tz(p, len, ms, off_min) == 0)
        return 0;
    if (clock_parse_clf_tz(p, len, ms, off_min) == 0)
        return 0;
    *off_min = 0;
    return clock_parse_epoch(p, len, ms);
}

/*
 * The UTC offset (minutes east) of the process's time zone (TZ) at 'utc_ms',
 * daylight saving included: what --tz sets.
 */
int
clock_zone_offset(int64_t utc_ms)
{
    time_t t = (time_t)clock_floor(utc_ms, 1000) / 1000;
    struct tm tm;
    int64_t local;

    if (localtime_r(&t, &tm) == NULL)
        return 0;
    local =
        days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) *
            86400 +
        tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return (int)((local - (int64_t)t) / 60);
}

/* Write 'ms' as RFC 3339 UTC with a trailing Z; milliseconds only if non-zero. */
void
clock_format_time(int64_t ms, char *out)
{
    int64_t days = clock_floor(ms, CLOCK_DAY_MS) / CLOCK_DAY_MS, y;
    unsigned rem = (unsigned)(ms - days * CLOCK_DAY_MS), m, d;
    unsigned h = rem / 3600000 % 24, mi = rem / 60000 % 60, s = rem / 1000 % 60, f = rem % 1000;

    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        snprintf(out, RARR_TIME_MAX, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m % 100,
                 d % 100, h, mi, s, f);
        if (f == 0)
            strcpy(out + strlen(out) - 5, "Z");
        return;
    }
    /* Digits by hand: a record per metric and step formats a time. */
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = 'T';
    out[11] = (char)('0' + h / 10);
    out[12] = (char)('0' + h % 10);
    out[13] = ':';
    out[14] = (char)('0' + mi / 10);
    out[15] = (char)('0' + mi % 10);
    out[16] = ':';
    out[17] = (char)('0' + s / 10);
    out[18] = (char)('0' + s % 10);
    if (f == 0) {
        memcpy(out + 19, "Z", 2);
        return;
    }
    out[19] = '.';
    out[20] = (char)('0' + f / 100);
    out[21] = (char)('0' + f / 10 % 10);
    out[22] = (char)('0' + f % 10);
    memcpy(out + 23, "Z", 2);
}

/* The largest multiple of 'step' at or before 't' (floor, also for t < 0). */
int64_t
clock_floor(int64_t t, int64_t step)
{
    int64_t q = t / step;

    if (t % step != 0 && t < 0)
        q--;
    return q * step;
}

/* The wall clock in ms since the epoch. Never used by replay with the event clock. */
int64_t
clock_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The monotonic clock in ms: for intervals (rate limits, progress), never for event time. */
int64_t
clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The monotonic clock in seconds, with its nanoseconds: how long a run took. */
double
clock_mono_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
