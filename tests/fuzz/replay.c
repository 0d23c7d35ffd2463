/*
 * replay.c -- the corpus-replay driver: a main() for a fuzz target built
 * without libFuzzer, so that the targets build and run under ctest. Each
 * argument is a file, or a directory whose files are run in name order, each
 * once through LLVMFuzzerTestOneInput. A target that finds a fault aborts.
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run the file at 'path' through the target. Returns 0, or -1 if it cannot be read. */
static int
run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *data = NULL, *grown;
    size_t len = 0, cap = 0, n;

    if (fp == NULL)
        goto err;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 65536;
            if ((grown = realloc(data, cap)) == NULL)
                goto err;
            data = grown;
        }
        n = fread(data + len, 1, cap - len, fp);
        len += n;
    } while (n > 0);
    if (ferror(fp))
        goto err;
    fclose(fp);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
err:
    perror(path);
    if (fp != NULL)
        fclose(fp);
    free(data);
    return -1;
}

/* Run every file of the directory 'path' (not its subdirectories), in name order. */
static int
run_dir(const char *path, unsigned *count)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char **names = NULL, **grown, *full;
    size_t n = 0, cap = 0, i;
    int rc = 0;
    struct stat st;

    if (d == NULL) {
        perror(path);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            if ((grown = realloc(names, cap * sizeof(*names))) == NULL)
                abort();
            names = grown;
        }
        if ((full = malloc(strlen(path) + strlen(e->d_name) + 2)) == NULL)
            abort();
        sprintf(full, "%s/%s", path, e->d_name);
        names[n++] = full;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), by_name);
    for (i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i]) == -1)
                rc = -1;
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    unsigned count = 0;
    struct stat st;
    int i, rc = 0;

    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            if (run_dir(argv[i], &count) == -1)
                rc = 1;
        } else if (run_file(argv[i]) == -1) {
            rc = 1;
        } else {
            count++;
        }
    }
    printf("replay: %u inputs\n", count);
    return rc;
}
