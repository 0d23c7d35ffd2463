/* statefile.h -- the --state file's bytes on disk: read without following, write atomically. */
#ifndef RARR_STATEFILE_H
#define RARR_STATEFILE_H

#include <stddef.h>

#include "rarr/diag.h"

int statefile_read(const char *path, const char *magic, struct diag *d, char **text, size_t *len);
int statefile_write(const char *path, const char *text, size_t len);
int statefile_probe(const char *path);

#endif
