/* watch.h -- --watch: a live full-screen terminal view of every metric (ncurses). */
#ifndef RARR_WATCH_H
#define RARR_WATCH_H

#include <signal.h>
#include <stddef.h>

#include "rarr/pipeline.h"

/* The view is drawn again at most this often (and at the end), and keys are read as often. */
#define WATCH_INTERVAL_MS 250
/* Event records kept for the "latest events" panel. */
#define WATCH_EVENTS 10

struct watch;

struct watch *watch_new(const char *tty, volatile sig_atomic_t *stop, char *err, size_t errlen);
int watch_update(void *arg, struct pipeline *p, int final);
int watch_record(struct watch *w, const char *rec, size_t len);
int watch_stdout_ok(void);
void watch_free(struct watch *w);

#endif
