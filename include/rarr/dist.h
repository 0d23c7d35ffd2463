/* dist.h -- many hosts: a host's partials to stdout or NATS, a central merging files or NATS. */
#ifndef RARR_DIST_H
#define RARR_DIST_H

#include <signal.h>
#include <stdint.h>

#include "rarr/emit.h"
#include "rarr/merge.h"
#include "rarr/partial.h"
#include "rarr/pipeline.h"

/* The publisher's bounded queue: partial records awaiting JetStream's ack. */
#define DIST_MAX_PENDING 4096

struct natsio;

/* A host (--emit=partials): where its partial records go. */
struct dist_host {
    struct partial_writer w;
    struct emit *em;             /* stdout, when not --publish */
    struct natsio *nats;         /* --publish; NULL: stdout */
    const struct pipeline *p;    /* a replay waits for room in the queue; live input drops */
    volatile sig_atomic_t *stop; /* ... until rarr is stopped */
    char msgid[PARTIAL_HOST_MAX + 32];
};

int dist_host_start(struct dist_host *h, const struct ruleset *rs, const char *host,
                    const char *publish, struct emit *em, struct pipeline_opts *opt);
int dist_host_end(struct dist_host *h, struct pipeline *p, int stats);
void dist_host_free(struct dist_host *h);

/* A central (--merge): its sources and how it reads them. */
struct dist_central {
    char **sources; /* files ("-": stdin), or one nats:// URI */
    int nsources;
    const char *durable; /* the NATS consumer's name */
    volatile sig_atomic_t *stop;
    volatile sig_atomic_t *hup; /* SIGHUP: a merge keeps its rules, and says so */
};

int dist_is_nats(const char *source);
enum pipeline_end dist_merge(const struct dist_central *c, struct merge *m, struct pipeline *p,
                             int *failed);

#endif
