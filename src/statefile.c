/*
 * statefile.c -- the bytes of the --state file: read only what is a regular
 * file of ours, write a new one atomically. What the bytes mean is state.c's.
 *
 * A save writes a new temporary file of mode 0600 beside FILE (mkstemp:
 * created exclusively, so a link or FIFO planted there is never followed or
 * opened), fsyncs it, renames it over FILE and fsyncs the directory: a crash
 * at any moment leaves the old file or the new one. Reading never follows a
 * symbolic link nor waits on a FIFO, and anything at the path that is not a
 * state file of ours (another file, a link, a device) is refused, so rarr
 * never replaces it.
 */
#include "rarr/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A state file bigger than this is not one of ours. */
#define STATEFILE_MAX_BYTES (64L << 20)

static int
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * A new temporary file beside 'path' for a save: "PATH.tmp.XXXXXX", made by
 * mkstemp, so it is a fresh regular file of mode 0600 whatever an attacker
 * planted in the directory. Returns the descriptor and the name in '*tmp'
 * (the caller frees it), or -1 with errno set.
 */
static int
tmp_create(const char *path, char **tmp)
{
    size_t len = strlen(path);
    int fd;

    if ((*tmp = malloc(len + sizeof(".tmp.XXXXXX"))) == NULL) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(*tmp, path, len);
    memcpy(*tmp + len, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
    if ((fd = mkstemp(*tmp)) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
        fchmod(fd, 0600) == -1) {
        int saved = errno;

        if (fd != -1) {
            close(fd);
            unlink(*tmp);
        }
        free(*tmp);
        *tmp = NULL;
        errno = saved;
        return -1;
    }
    return fd;
}

/* fsync the directory holding 'path', so a rename there survives a power cut. */
static void
sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        slash == NULL ? strdup(".") : strndup(path, slash == path ? 1 : (size_t)(slash - path));
    int fd;

    if (dir != NULL && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/*
 * Whether a save to 'path' can be made: a temporary file beside it is
 * created and removed. Returns 0, or -1 with errno set.
 */
int
statefile_probe(const char *path)
{
    char *tmp;
    int fd = tmp_create(path, &tmp);

    if (fd == -1)
        return -1;
    close(fd);
    unlink(tmp);
    free(tmp);
    return 0;
}

/*
 * Write 'len' bytes of 'text' and a newline to 'path' atomically: into a
 * new temporary file beside it, fsync, rename over PATH, fsync the
 * directory. The rename replaces whatever name PATH is without following
 * it. Returns 0, or -1 with errno set (PATH is then untouched).
 */
int
statefile_write(const char *path, const char *text, size_t len)
{
    char *tmp = NULL;
    int fd, saved;

    if ((fd = tmp_create(path, &tmp)) == -1)
        return -1;
    if (write_all(fd, text, len) == -1 || write_all(fd, "\n", 1) == -1 || fsync(fd) == -1)
        goto fail;
    saved = close(fd);
    fd = -1;
    if (saved == -1 || rename(tmp, path) == -1)
        goto fail;
    sync_dir(path);
    free(tmp);
    return 0;
fail:
    saved = errno;
    if (fd != -1)
        close(fd);
    unlink(tmp);
    free(tmp);
    errno = saved;
    return -1;
}

/* Refuse the file at 'path': it is not one rarr may replace. Always -1. */
static int
refuse(struct diag *d, const char *path, const char *why)
{
    diag_add(d, NULL, 0, 0,
             "%s: %s; refusing to use it as --state, which would replace it (give a new path or "
             "a rarr state file)",
             path, why);
    return -1;
}

/*
 * Open the file at 'path' for reading, never following a symbolic link nor
 * waiting on a FIFO, and check that it is a regular file. Returns the
 * descriptor; -2 when there is no file (a first start); -1 after a message
 * when it must not be used.
 */
static int
open_state(const char *path, struct diag *d, off_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    if (fd == -1 && errno == ENOENT)
        return -2;
    if (fd == -1 && errno == ELOOP)
        return refuse(d, path, "is a symbolic link (name the file itself)");
    if (fd == -1) {
        char why[256];

        snprintf(why, sizeof(why), "cannot be read: %s", strerror(errno));
        return refuse(d, path, why);
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        return refuse(d, path, "is not a regular file");
    }
    *size = st.st_size;
    return fd;
}

/* Read the 'size' bytes of 'fd' into a new string (NUL-terminated); NULL on error. */
static char *
slurp(int fd, off_t size)
{
    char *text = malloc((size_t)size + 1);
    size_t got = 0;
    ssize_t n;

    while (text != NULL && got < (size_t)size) {
        n = read(fd, text + got, (size_t)size - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(text);
            return NULL;
        }
        got += (size_t)n;
    }
    if (text != NULL)
        text[got] = '\0';
    return text;
}

/*
 * Read the state file at 'path' into '*text' (NUL-terminated, the caller
 * frees it) and its length into '*len'. An absent or empty file is a first
 * start: '*text' is NULL. Returns 0, or -1 after a message in 'd' when what
 * is at 'path' is not a regular file that begins with 'magic', or cannot be
 * read: rarr must not replace it.
 */
int
statefile_read(const char *path, const char *magic, struct diag *d, char **text, size_t *len)
{
    size_t mlen = strlen(magic);
    off_t size = 0;
    int fd = open_state(path, d, &size);

    *text = NULL;
    *len = 0;
    if (fd < 0)
        return fd == -2 ? 0 : -1;
    if (size > STATEFILE_MAX_BYTES) {
        close(fd);
        return refuse(d, path, "is not a rarr state file (too big)");
    }
    if (size == 0) {
        close(fd);
        return 0;
    }
    *text = slurp(fd, size);
    close(fd);
    if (*text == NULL) {
        diag_add(d, NULL, 0, 0, "%s: %s", path, errno != 0 ? strerror(errno) : "cannot be read");
        return -1;
    }
    if ((size_t)size < mlen || memcmp(*text, magic, mlen) != 0) {
        free(*text);
        *text = NULL;
        return refuse(d, path, "is not a rarr state file");
    }
    *len = (size_t)size;
    return 0;
}
