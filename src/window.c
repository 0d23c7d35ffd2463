/*
 * window.c -- sliding windows of step buckets, the "window" stage.
 *
 * A window is a ring of the last 'nsteps' per-step values of one metric.
 * Each alert that reads the metric registers a view (a window length in
 * steps); pushing a step updates every view's running sum, so reading a
 * window is O(1) and a step costs O(views). Memory is nsteps doubles: bounded
 * by the longest window over the step, never by the input. Sums of integer
 * counts are exact; sums of fractional values are recomputed from the ring
 * once every nsteps pushes so rounding cannot drift.
 */
#include "rarr/window.h"

#include <stdlib.h>
#include <string.h>

/* Make an empty (all-zero) window of 'nsteps' steps. Returns 0 or -1 on OOM. */
int
window_init(struct window *w, size_t nsteps)
{
    memset(w, 0, sizeof(*w));
    w->nsteps = nsteps ? nsteps : 1;
    if ((w->ring = calloc(w->nsteps, sizeof(*w->ring))) == NULL)
        return -1;
    return 0;
}

/* Free what the window owns. */
void
window_fini(struct window *w)
{
    free(w->ring);
    free(w->views);
    memset(w, 0, sizeof(*w));
}

/*
 * Register a view over the last 'steps' steps (1..nsteps) and return its
 * handle; an existing view of that length is shared. -1 on OOM or a bad
 * length. Views are registered before the first push.
 */
int
window_view(struct window *w, size_t steps)
{
    struct window_view *v;
    size_t i;

    if (steps == 0 || steps > w->nsteps)
        return -1;
    for (i = 0; i < w->nviews; i++)
        if (w->views[i].steps == steps)
            return (int)i;
    if ((v = realloc(w->views, (w->nviews + 1) * sizeof(*v))) == NULL)
        return -1;
    w->views = v;
    v[w->nviews].steps = steps;
    v[w->nviews].sum = 0;
    return (int)w->nviews++;
}

/* Forget every value: the window is all zeros again, its views kept. */
void
window_clear(struct window *w)
{
    size_t i;

    memset(w->ring, 0, w->nsteps * sizeof(*w->ring));
    for (i = 0; i < w->nviews; i++)
        w->views[i].sum = 0;
    w->head = 0;
    w->since_resum = 0;
}

/* Append the value of the step just ended; the oldest step leaves. */
void
window_push(struct window *w, double v)
{
    size_t i, j;

    for (i = 0; i < w->nviews; i++) {
        size_t s = w->views[i].steps;
        double leaving = w->ring[(w->head + w->nsteps - s) % w->nsteps];

        w->views[i].sum += v - leaving;
    }
    w->ring[w->head] = v;
    w->head = (w->head + 1) % w->nsteps;
    if (++w->since_resum < w->nsteps)
        return;
    w->since_resum = 0;
    for (i = 0; i < w->nviews; i++) {
        double sum = 0;

        for (j = 1; j <= w->views[i].steps; j++)
            sum += w->ring[(w->head + w->nsteps - j) % w->nsteps];
        w->views[i].sum = sum;
    }
}

/* The sum of a view: the metric's value over that window. */
double
window_sum(const struct window *w, int view)
{
    return w->views[view].sum;
}

/* The value of the last step pushed. */
double
window_last(const struct window *w)
{
    return w->ring[(w->head + w->nsteps - 1) % w->nsteps];
}
