/* SPDX-License-Identifier: LGPL-2.1-only */
/* File chores (see file.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xenvf/file.h>

int64_t xenvf_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t xenvf_now_ms(void)
{
    return xenvf_now_us() / 1000;
}

int xenvf_file_read(const char *path, size_t max, char **out, size_t *len,
                    xenvf_err *err)
{
    size_t cap = 0, n = 0;
    char *buf = NULL, *p;
    struct stat st;
    ssize_t r;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc =
            xenvf_err_set_errno(err, errno == ENOENT ? XENVF_ENOENT : XENVF_EIO,
                                errno, "%s: cannot open", path);
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "%s: fstat", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    for (;;) {
        /* checked as we go: the file may grow while we read it */
        if (n > max || (uint64_t)st.st_size > max) {
            rc =
                xenvf_err_set(err, XENVF_ERANGE,
                              "%s: too large (more than %zu bytes)", path, max);
            goto out;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : (size_t)st.st_size + 4096;
            if (!(p = realloc(buf, cap + 1))) {
                rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
                goto out;
            }
            buf = p;
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "%s: read", path);
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Temp files "<base>.tmp.XXXXXX" an earlier writer left when it died. */
static void remove_stale_temps(int dfd, const char *base)
{
    size_t blen = strlen(base);
    struct dirent *de;
    DIR *d;
    int fd = dup(dfd);

    if (fd < 0 || !(d = fdopendir(fd))) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((de = readdir(d))) {
        if (strlen(de->d_name) == blen + 11 &&
            !strncmp(de->d_name, base, blen) &&
            !strncmp(de->d_name + blen, ".tmp.", 5))
            unlinkat(dfd, de->d_name, 0);
    }
    closedir(d);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t r = write(fd, buf, len);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        buf += r;
        len -= (size_t)r;
    }
    return 0;
}

int xenvf_file_replace(const char *path, const void *data, size_t len, int mode,
                       xenvf_err *err)
{
    char *dcopy = NULL, *bcopy = NULL, *tmp = NULL;
    const char *dir, *base;
    struct stat st;
    int fd = -1, dfd = -1, rc;

    if (!(dcopy = strdup(path)) || !(bcopy = strdup(path)) ||
        asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
        tmp = NULL;
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    dir = dirname(dcopy);
    base = basename(bcopy);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "%s: cannot open", dir);
        goto out;
    }
    remove_stale_temps(dfd, base);
    if (mode < 0)
        mode = stat(path, &st) == 0 && S_ISREG(st.st_mode)
                   ? (int)(st.st_mode & 07777)
                   : 0644;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "%s: cannot create",
                                 tmp);
        free(tmp);
        tmp = NULL; /* nothing to remove */
        goto out;
    }
    if (fchmod(fd, (mode_t)mode) < 0 || write_all(fd, data, len) < 0 ||
        fsync(fd) < 0) {
        rc =
            xenvf_err_set_errno(err, XENVF_EIO, errno, "%s: cannot write", tmp);
        goto out;
    }
    rc = close(fd);
    fd = -1;
    if (rc < 0) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "%s: close", tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno,
                                 "%s: cannot rename over %s", tmp, path);
        goto out;
    }
    free(tmp);
    tmp = NULL; /* renamed: nothing to remove */
    /* make the rename itself durable */
    if (fsync(dfd) < 0) {
        rc = xenvf_err_set_errno(err, XENVF_EIO, errno,
                                 "%s: written, but fsync of %s failed", path,
                                 dir);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
    if (dfd >= 0)
        close(dfd);
    free(tmp);
    free(bcopy);
    free(dcopy);
    return rc;
}

int xenvf_mkdir_p(const char *dir, mode_t mode, xenvf_err *err)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return xenvf_err_set(err, XENVF_EINVAL, "path too long: %s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) && errno != EEXIST)
            return xenvf_err_set_errno(err, XENVF_EIO, errno, "mkdir %s", path);
        *p = '/';
    }
    if (mkdir(path, mode) && errno != EEXIST)
        return xenvf_err_set_errno(err, XENVF_EIO, errno, "mkdir %s", path);
    return 0;
}
