/* serve.h -- the --listen HTTP server: GET /metrics serves the latest exposition text. */
#ifndef RARR_SERVE_H
#define RARR_SERVE_H

#include <stddef.h>

struct serve;

struct serve *serve_start(const char *spec, char *err, size_t errlen);
unsigned serve_port(const struct serve *srv);
const char *serve_address(const struct serve *srv);
int serve_publish(struct serve *srv, const char *text, size_t len);
void serve_stop(struct serve *srv);
const char *serve_library(void);

#endif
