/*
 * save.c -- the schedule of --state: load at the start, save every so often
 * and at the end, and say once when saving fails.
 *
 * What a save holds and how it is written safely is state.c's; this file
 * decides when, and is the one place that tells the operator how it went.
 * A failed save never stops the stream: it is told once until a save
 * succeeds again, and makes the exit status 1.
 */
#include "rarr/save.h"

#include <errno.h>
#include <string.h>

#include "rarr/diag.h"
#include "rarr/state.h"

/* Keep 'path' (borrowed; NULL: no --state), the least gap between event-time saves, the log. */
void
save_init(struct save *sv, const char *path, int64_t gap_ms, FILE *log)
{
    memset(sv, 0, sizeof(*sv));
    sv->path = path;
    sv->gap_ms = gap_ms;
    sv->log = log;
}

/* Print what a load said, if anything. */
static void
tell(const struct save *sv, const struct diag *d)
{
    if (d->n > 0)
        diag_print(d, sv->log);
}

/*
 * Count and tell how a save went ('rc' 0, or -1 with errno set): a failure
 * is told once until a save succeeds again. Returns 'rc'.
 */
static int
saved(struct save *sv, int rc)
{
    if (rc == -1) {
        if (!sv->failed)
            fprintf(sv->log, "rarr: %s: cannot save state: %s\n", sv->path, strerror(errno));
        sv->failed = 1;
        sv->errors++;
        return -1;
    }
    if (sv->failed)
        fprintf(sv->log, "rarr: %s: state saved again\n", sv->path);
    sv->failed = 0;
    return 0;
}

/*
 * Load what the state file holds into 's' (a missing file is a first
 * start; a corrupt state file of ours is told and ignored), and make sure a
 * save can be made there, so a wrong path fails now rather than at the
 * first save. Returns 0, or -1 after a message when the path holds what is
 * not a rarr state file, or the state cannot be written there.
 */
int
save_load(struct save *sv, struct step *s)
{
    struct diag d;
    json_t *snap;
    int rc;

    memset(&d, 0, sizeof(d));
    rc = state_read(sv->path, &d, &snap);
    tell(sv, &d);
    if (rc == -1)
        return -1;
    if (snap != NULL) {
        memset(&d, 0, sizeof(d));
        state_restore(s, snap, sv->path, &d);
        tell(sv, &d);
        if (sv->put != NULL && json_object_get(snap, "merge") != NULL &&
            sv->put(sv->arg, json_object_get(snap, "merge")) == -1)
            fprintf(sv->log, "rarr: %s: the merge's hosts are not readable: they start anew\n",
                    sv->path);
        json_decref(snap);
    }
    if (state_probe(sv->path) == -1) {
        saved(sv, -1);
        return -1;
    }
    return 0;
}

/*
 * Whether a periodic save is due: 5 minutes of event time or of wall-clock
 * time since the last one. A replay crosses 5 minutes of event time in
 * microseconds, so event-time saves are at least gap_ms of wall time apart.
 */
int
save_due(const struct save *sv, const struct step *s)
{
    int64_t wall;

    if (sv->path == NULL || !step_started(s))
        return 0;
    wall = clock_wall_ms();
    if (wall - sv->saved_wall >= SAVE_EVERY_MS)
        return 1;
    return step_next(s) - sv->saved_event >= SAVE_EVERY_MS && wall - sv->saved_wall >= sv->gap_ms;
}

/*
 * Save the state of 's' now. 'written_to', unless INT64_MIN, is where the
 * steps written so far end, when that is past the state's next step.
 * Returns 0 or -1 (told once).
 */
/* The step stage's snapshot and what 'get' adds; NULL on out-of-memory. */
static json_t *
snapshot(const struct save *sv, const struct step *s)
{
    json_t *snap = state_snapshot(s);

    if (snap != NULL && sv->get != NULL && json_object_set_new(snap, "merge", sv->get(sv->arg))) {
        json_decref(snap);
        return NULL;
    }
    return snap;
}

int
save_now(struct save *sv, const struct step *s, int64_t written_to)
{
    json_t *snap = snapshot(sv, s);
    int rc = -1;

    if (snap != NULL && written_to != INT64_MIN)
        state_set_written(snap, written_to);
    if (snap == NULL)
        errno = ENOMEM;
    else
        rc = state_write(snap, sv->path);
    json_decref(snap);
    sv->saved_wall = clock_wall_ms();
    sv->saved_event = step_next(s);
    return saved(sv, rc);
}

/*
 * At the end of input, before the last steps are forced out: the state the
 * final save holds (the next run evaluates those steps again with whatever
 * late lines it brings). NULL when there is nothing to save, or after
 * telling that memory ran out.
 */
json_t *
save_hold(struct save *sv, const struct step *s)
{
    json_t *snap;

    if (sv->path == NULL || !step_started(s))
        return NULL;
    if ((snap = snapshot(sv, s)) == NULL) {
        errno = ENOMEM;
        saved(sv, -1);
    }
    return snap;
}

/*
 * The final save of 'snap' (from save_hold, taken over), after the last
 * steps were forced out of 's': it says the steps before the clock's next
 * step were written, and marks the alerts that fired in them. Returns 0 or
 * -1 (told once).
 */
int
save_final(struct save *sv, json_t *snap, const struct step *s)
{
    int rc;

    if (snap == NULL)
        return 0;
    state_set_written(snap, step_next(s));
    rc = saved(sv, state_mark_firing(snap, s) == -1 ? -1 : state_write(snap, sv->path));
    json_decref(snap);
    return rc;
}

/* After a rule reload: go on with the old schedule and its failures. */
void
save_adopt(struct save *sv, const struct save *old)
{
    sv->saved_event = old->saved_event;
    sv->saved_wall = old->saved_wall;
    sv->failed = old->failed;
    sv->errors = old->errors;
}
