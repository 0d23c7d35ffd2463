/* clock.h -- durations, timestamps and step arithmetic. Times are ms since the epoch, UTC. */
#ifndef RARR_CLOCK_H
#define RARR_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define RARR_TIME_MAX 48 /* bytes clock_format_time may write, NUL included */
#define RARR_DUR_MAX 48  /* bytes clock_format_duration may write, NUL included */

/* The lengths of time every stage counts in, in ms: the one home of these facts. */
#define CLOCK_SECOND_MS 1000LL
#define CLOCK_MINUTE_MS (60 * CLOCK_SECOND_MS)
#define CLOCK_HOUR_MS (60 * CLOCK_MINUTE_MS)
#define CLOCK_DAY_MS (24 * CLOCK_HOUR_MS)
#define CLOCK_WEEK_MS (7 * CLOCK_DAY_MS)

/* Times outside years 0..9999 are rejected: they cannot be printed in RFC 3339. */
#define CLOCK_TIME_MIN (-62167219200000LL)
#define CLOCK_TIME_MAX (253402300799999LL)

int clock_parse_duration(const char *s, size_t len, int64_t *ms, const char **why);
void clock_format_duration(int64_t ms, char *out);
int clock_parse_clf(const char *p, size_t len, int64_t *ms);
int clock_parse_rfc3339(const char *p, size_t len, int64_t *ms);
int clock_parse_epoch(const char *p, size_t len, int64_t *ms);
int clock_from_number(double v, int64_t *ms);
int clock_parse_any(const char *p, size_t len, int64_t *ms);
int clock_parse_clf_tz(const char *p, size_t len, int64_t *ms, int *off_min);
int clock_parse_rfc3339_tz(const char *p, size_t len, int64_t *ms, int *off_min);
int clock_parse_any_tz(const char *p, size_t len, int64_t *ms, int *off_min);
int clock_zone_offset(int64_t utc_ms);
void clock_format_time(int64_t ms, char *out);
int64_t clock_floor(int64_t t, int64_t step);
int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);
double clock_mono_seconds(void);

#endif
