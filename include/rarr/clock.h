/* clock.h -- durations, timestamps and step arithmetic. Times are ms since the epoch, UTC. */
#ifndef RARR_CLOCK_H
#define RARR_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define RARR_TIME_MAX 48 /* bytes clock_format_time may write, NUL included */
#define RARR_DUR_MAX 48  /* bytes clock_format_duration may write, NUL included */

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

#endif
