/* merge.h -- --merge: the hosts' partial records into one step stage, a step once every host is
 * past it. */
#ifndef RARR_MERGE_H
#define RARR_MERGE_H

#include <stdint.h>
#include <stdio.h>

#include "rarr/emit.h"
#include "rarr/partial.h"
#include "rarr/pipeline.h"

struct merge_opts {
    const char *const *hosts; /* --hosts: the hosts to wait for (NULL: whoever sends) */
    size_t nhosts;
    int64_t
        host_timeout_ms; /* --host-timeout: a host this long silent stops holding back (0: none) */
    FILE *log;           /* what is said about hosts (stderr) */
    const char *rules;   /* the digest hosts' rules are compared with (NULL: these rules') */
    int sharded;         /* --shard: parts of the other shares' metrics are expected */
};

struct merge_stats {
    uint64_t records; /* partial records taken (end markers included) */
    uint64_t steps;   /* steps merged */
    uint64_t late;    /* records of steps already merged, from hosts that had not sent them */
    uint64_t dup;     /* records a host had sent already (a restarted host, a redelivery) */
    uint64_t bad;     /* lines that are not partial records, or of hosts not in --hosts */
    size_t hosts, ended, silent;
};

struct merge;

struct merge *merge_new(struct pipeline *p, struct emit *em, const struct merge_opts *opt);
void merge_free(struct merge *m);
int merge_expect(struct merge *m, const char *name);
int merge_parse(struct merge *m, struct partial *pt, const char *line, size_t len, const char *src,
                uint64_t lineno);
int merge_line(struct merge *m, const char *line, size_t len, const char *src, uint64_t lineno,
               uint64_t seq);
int merge_take(struct merge *m, struct partial *pt, const char *src, uint64_t lineno, uint64_t seq);
int merge_advance(struct merge *m, int64_t wall_ms);
int merge_finish(struct merge *m);
int merge_complete(const struct merge *m);
uint64_t merge_ack_floor(const struct merge *m);
void merge_stats(const struct merge *m, struct merge_stats *st);

#endif
