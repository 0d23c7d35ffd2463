/* natsio.h -- partial records over NATS JetStream (libnats): publish, and read with a durable
 * consumer. */
#ifndef RARR_NATSIO_H
#define RARR_NATSIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NATSIO_SERVERS_MAX 1024                    /* "nats://h:p,nats://h:p", NUL included */
#define NATSIO_SUBJECT_MAX 256                     /* subject bytes, NUL included */
#define NATSIO_STREAM_MAX (NATSIO_SUBJECT_MAX + 5) /* "RARR_" and the mapped subject */
#define NATSIO_REPLICAS_MAX 5

/* A parsed nats://HOST:PORT[,HOST:PORT...]/SUBJECT[?replicas=N]. */
struct natsio_uri {
    char servers[NATSIO_SERVERS_MAX]; /* "nats://host:port" URLs, comma separated */
    char subject[NATSIO_SUBJECT_MAX]; /* no wildcard, no empty token */
    char stream[NATSIO_STREAM_MAX];   /* "RARR_" then the subject, [A-Za-z0-9_-] */
    int replicas;                     /* 1..NATSIO_REPLICAS_MAX, default 1 */
};

struct natsio_stats {
    uint64_t published;   /* publisher: messages accepted by natsio_publish (queued) */
    uint64_t acked;       /* publish acks received from JetStream (duplicates included) */
    uint64_t duplicates;  /* of those, ones the stream said were duplicates (same message id) */
    uint64_t failed;      /* accepted publishes that failed (error ack, no ack in time, refused) */
    uint64_t dropped;     /* messages not published because the bounded queue was full */
    uint64_t pending;     /* accepted, outcome not known yet (now) */
    uint64_t received;    /* consumer: messages delivered to the callback */
    uint64_t redelivered; /* consumer: redeliveries of messages already delivered, skipped */
    uint64_t held;        /* consumer: delivered, not acked yet (now) */
};

struct natsio;

/* Called by natsio_fetch for each message; 'data' is valid during the call only. */
typedef int (*natsio_msg_fn)(void *arg, const char *data, size_t len, uint64_t seq);

int natsio_parse(const char *uri, struct natsio_uri *out, const char **why);
struct natsio *natsio_publisher(const char *uri, size_t max_pending, FILE *log, char *err,
                                size_t errsz);
int natsio_publish(struct natsio *n, const char *msgid, const char *data, size_t len);
int natsio_flush(struct natsio *n, int64_t timeout_ms);
int natsio_room(struct natsio *n);
struct natsio *natsio_consumer(const char *uri, const char *durable, FILE *log, char *err,
                               size_t errsz);
int natsio_fetch(struct natsio *n, int batch, int timeout_ms, natsio_msg_fn fn, void *arg);
int natsio_ack_through(struct natsio *n, uint64_t seq);
void natsio_stats(const struct natsio *n, struct natsio_stats *st);
void natsio_free(struct natsio *n);
const char *natsio_library(void);

#endif
