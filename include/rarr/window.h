/* window.h -- sliding windows: a ring of step values with running sums. */
#ifndef RARR_WINDOW_H
#define RARR_WINDOW_H

#include <stddef.h>

struct window_view {
    size_t steps;
    double sum;
};

struct window {
    double *ring;
    size_t nsteps;
    size_t head; /* where the next value goes */
    size_t since_resum;
    struct window_view *views;
    size_t nviews;
};

int window_init(struct window *w, size_t nsteps);
void window_fini(struct window *w);
int window_view(struct window *w, size_t steps);
void window_clear(struct window *w);
void window_push(struct window *w, double v);
double window_sum(const struct window *w, int view);
double window_last(const struct window *w);

#endif
