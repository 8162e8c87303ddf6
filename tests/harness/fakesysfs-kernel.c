/*
 * fakesysfs-kernel.so: LD_PRELOAD that plays the kernel's side of a fake
 * sysfs tree (tests/harness/fakesysfs.h), the way libvirt's virpcimock
 * does: it intercepts a process's open/openat/write/close (and fopen) and,
 * for files in a fake tree under $XENVF_FAKE_SYSFS, makes them behave like
 * sysfs:
 *
 * - a write() to a store attribute (sriov_numvfs, bind, ...) runs the
 *   kernel's store function (fakesysfs_kernel_store) and returns its
 *   count or errno; the file itself is only changed by that function;
 * - a write-open of a read-only attribute, or a read-open of a write-only
 *   one, is EACCES even for root (kernfs checks the mode, not DAC);
 * - O_CREAT of a missing file is EACCES, O_TRUNC is ignored.
 *
 * Everything else passes through untouched, and so do dot-named files (the
 * harness's own). Built without sanitizers: it is loaded into
 * uninstrumented processes too. Under an ASan binary whose runtime is
 * linked dynamically, set ASAN_OPTIONS=verify_asan_link_order=0.
 *
 * Not covered: writes that bypass libc's exported write() (stdio on a FILE
 * not from fopen, e.g. a shell's builtin echo), writev, fds duplicated by
 * fcntl(F_DUPFD) or inherited across exec, paths reaching a tree through a
 * symlink from outside $XENVF_FAKE_SYSFS.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fakesysfs.h"

#define EXPORT __attribute__((visibility("default")))

/* Tests look this up to know the stand-in is loaded. */
EXPORT const int fakesysfs_kernel_loaded = 1;

#define MAX_FDS 4096

typedef struct special {
    char *root; /* canonical tree root */
    char *dir;  /* canonical directory of the attribute */
    char *attr;
} special;

static special *fds[MAX_FDS];
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
/* Set while a store runs: its own file calls go straight to libc. */
static __thread int in_kernel;

typedef int open_fn(const char *, int, ...);
typedef int openat_fn(int, const char *, int, ...);
typedef ssize_t write_fn(int, const void *, size_t);
typedef ssize_t pwrite_fn(int, const void *, size_t, off_t);
typedef int close_fn(int);
typedef int dup_fn(int);
typedef int dup2_fn(int, int);
typedef int dup3_fn(int, int, int);
typedef FILE *fopen_fn(const char *, const char *);

static struct {
    openat_fn *openat;
    write_fn *write;
    pwrite_fn *pwrite;
    close_fn *close;
    dup_fn *dup;
    dup2_fn *dup2;
    dup3_fn *dup3;
    fopen_fn *fopen;
} real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void die(const char *msg)
{
    /* raw syscall: stdio could call back into us */
    syscall(SYS_write, 2, msg, strlen(msg));
    abort();
}

static void resolve(void)
{
    real.openat = (openat_fn *)dlsym(RTLD_NEXT, "openat");
    real.write = (write_fn *)dlsym(RTLD_NEXT, "write");
    real.pwrite = (pwrite_fn *)dlsym(RTLD_NEXT, "pwrite");
    real.close = (close_fn *)dlsym(RTLD_NEXT, "close");
    real.dup = (dup_fn *)dlsym(RTLD_NEXT, "dup");
    real.dup2 = (dup2_fn *)dlsym(RTLD_NEXT, "dup2");
    real.dup3 = (dup3_fn *)dlsym(RTLD_NEXT, "dup3");
    real.fopen = (fopen_fn *)dlsym(RTLD_NEXT, "fopen");
    if (!real.openat || !real.write || !real.pwrite || !real.close ||
        !real.dup || !real.dup2 || !real.dup3 || !real.fopen)
        die("fakesysfs-kernel: cannot find libc's file calls\n");
}

static inline void need_real(void)
{
    pthread_once(&real_once, resolve);
}

__attribute__((constructor)) static void init(void)
{
    need_real();
}

/* ---- which paths are ours ------------------------------------------ */

static bool has_prefix(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n && !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* The absolute form of (dirfd, path) if it lies under $XENVF_FAKE_SYSFS
 * and is not a dot file; NULL otherwise. */
static char *fake_abs(int dirfd, const char *path)
{
    const char *env = getenv(FAKESYSFS_ENV_ROOT), *base;
    char dir[PATH_MAX], *abs = NULL;

    if (!env || !*env || !path || !*path || in_kernel)
        return NULL;
    if (path[0] == '/') {
        abs = strdup(path);
    } else {
        if (dirfd == AT_FDCWD) {
            if (!getcwd(dir, sizeof(dir)))
                return NULL;
        } else {
            char fdpath[64];
            ssize_t n;
            snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", dirfd);
            n = readlink(fdpath, dir, sizeof(dir) - 1);
            if (n < 0)
                return NULL;
            dir[n] = '\0';
        }
        if (asprintf(&abs, "%s/%s", dir, path) < 0)
            abs = NULL;
    }
    if (!abs)
        return NULL;
    base = strrchr(abs, '/');
    base = base ? base + 1 : abs;
    if (!has_prefix(abs, env) || base[0] == '.' ||
        strstr(abs, "/.fakesysfs/")) {
        free(abs);
        return NULL;
    }
    return abs;
}

/* The canonical directory of abs and the tree it is in, or false. */
static bool locate(const char *abs, char **dir, char **root)
{
    char *copy = strdup(abs), *slash;

    *dir = *root = NULL;
    if (!copy)
        return false;
    slash = strrchr(copy, '/');
    if (slash == copy)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    *dir = realpath(copy, NULL);
    free(copy);
    if (!*dir)
        return false;
    *root = fakesysfs_find_root(*dir);
    if (*root)
        return true;
    free(*dir);
    *dir = NULL;
    return false;
}

static void remember(int fd, char *root, char *dir, const char *attr)
{
    special *s = malloc(sizeof(*s));

    if (s && fd < MAX_FDS && (s->attr = strdup(attr))) {
        s->root = root;
        s->dir = dir;
        pthread_mutex_lock(&fds_lock);
        __atomic_store_n(&fds[fd], s, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&fds_lock);
        return;
    }
    free(s);
    free(root);
    free(dir);
}

static void forget(int fd)
{
    special *s = NULL;

    if (fd < 0 || fd >= MAX_FDS)
        return;
    pthread_mutex_lock(&fds_lock);
    s = fds[fd];
    fds[fd] = NULL;
    pthread_mutex_unlock(&fds_lock);
    if (s) {
        free(s->root);
        free(s->dir);
        free(s->attr);
        free(s);
    }
}

static int fail(int e)
{
    errno = e;
    return -1;
}

/*
 * open() with kernfs's rules for a file in a fake tree. The flags are
 * already the caller's; mode only matters with O_CREAT.
 */
static int fake_open(int dirfd, const char *path, int flags, mode_t mode)
{
    int acc = flags & O_ACCMODE, fd, saved;
    bool writing = acc != O_RDONLY, store;
    char *abs, *dir = NULL, *root = NULL;
    const char *base;
    struct stat st;

    need_real();
    abs = fake_abs(dirfd, path);
    if (!abs)
        return real.openat(dirfd, path, flags, mode);
    base = strrchr(abs, '/') + 1;
    store = fakesysfs_kernel_is_store(base);
    /* reads of ordinary attributes need nothing: the fast path */
    if ((!writing && !store) || !locate(abs, &dir, &root)) {
        free(abs);
        return real.openat(dirfd, path, flags, mode);
    }
    if (stat(abs, &st) < 0) {
        /* kernfs directories cannot create files */
        fd = errno == ENOENT && (flags & O_CREAT)
                 ? fail(EACCES)
                 : real.openat(dirfd, path, flags, mode);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        fd = real.openat(dirfd, path, flags, mode);
        goto out;
    }
    if ((writing && !(st.st_mode & 0222)) ||
        (acc != O_WRONLY && !(st.st_mode & 0444))) {
        fd = fail(EACCES);
        goto out;
    }
    /* sysfs ignores truncation; appending means nothing to a store */
    flags &= ~O_TRUNC;
    if (writing && store)
        flags &= ~O_APPEND;
    fd = real.openat(dirfd, path, flags, mode);
    if (fd >= 0 && writing && store) {
        if (fd >= MAX_FDS) {
            real.close(fd);
            fd = fail(EMFILE);
            goto out;
        }
        remember(fd, root, dir, base);
        root = dir = NULL;
    }
out:
    saved = errno;
    free(abs);
    free(dir);
    free(root);
    errno = saved;
    return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
               ? (mode_t)va_arg(ap, int)
               : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    return fake_open(AT_FDCWD, path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    return fake_open(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    return fake_open(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    return fake_open(dirfd, path, flags | O_LARGEFILE, mode);
}

/* _FORTIFY_SOURCE's checked variants (no mode: they are for no O_CREAT);
 * glibc declares them only under fortification. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

EXPORT int __open_2(const char *path, int flags)
{
    return fake_open(AT_FDCWD, path, flags, 0);
}

EXPORT int __open64_2(const char *path, int flags)
{
    return fake_open(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    return fake_open(dirfd, path, flags, 0);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    return fake_open(dirfd, path, flags | O_LARGEFILE, 0);
}

static inline bool is_special(int fd)
{
    return !in_kernel && fd >= 0 && fd < MAX_FDS &&
           __atomic_load_n(&fds[fd], __ATOMIC_ACQUIRE);
}

/* One write() is one call of the store, as in kernfs. */
static ssize_t special_write(int fd, const void *buf, size_t n)
{
    ssize_t r;
    special *s;

    pthread_mutex_lock(&fds_lock);
    s = fds[fd];
    if (!s) {
        pthread_mutex_unlock(&fds_lock);
        return real.write(fd, buf, n);
    }
    in_kernel = 1;
    r = fakesysfs_kernel_store(s->root, s->dir, s->attr, buf, n);
    in_kernel = 0;
    pthread_mutex_unlock(&fds_lock);
    if (r < 0)
        return fail((int)-r);
    return r;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    need_real();
    if (is_special(fd))
        return special_write(fd, buf, n);
    return real.write(fd, buf, n);
}

/* sysfs stores ignore the offset */
EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    need_real();
    if (is_special(fd))
        return special_write(fd, buf, n);
    return real.pwrite(fd, buf, n, off);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite(fd, buf, n, off);
}

EXPORT int close(int fd)
{
    need_real();
    if (is_special(fd))
        forget(fd);
    return real.close(fd);
}

/* dup'ed fds write to the same attribute (dd, for one, dup2s onto 1) */
static int copy_special(int from, int to)
{
    special *s;
    char *root = NULL, *dir = NULL, *attr = NULL;

    if (to < 0)
        return to;
    forget(to);
    pthread_mutex_lock(&fds_lock);
    s = from >= 0 && from < MAX_FDS ? fds[from] : NULL;
    if (s) {
        root = strdup(s->root);
        dir = strdup(s->dir);
        attr = strdup(s->attr);
    }
    pthread_mutex_unlock(&fds_lock);
    if (!s)
        return to;
    if (to >= MAX_FDS || !root || !dir || !attr) {
        free(root);
        free(dir);
        free(attr);
        real.close(to);
        return fail(EMFILE);
    }
    remember(to, root, dir, attr);
    free(attr);
    return to;
}

EXPORT int dup(int fd)
{
    need_real();
    if (is_special(fd))
        return copy_special(fd, real.dup(fd));
    return real.dup(fd);
}

EXPORT int dup2(int fd, int to)
{
    need_real();
    if (is_special(fd))
        return fd == to ? to : copy_special(fd, real.dup2(fd, to));
    if (is_special(to) && fd != to && fcntl(fd, F_GETFD) >= 0)
        forget(to);
    return real.dup2(fd, to);
}

EXPORT int dup3(int fd, int to, int flags)
{
    int r;

    need_real();
    if (is_special(fd))
        return copy_special(fd, real.dup3(fd, to, flags));
    r = real.dup3(fd, to, flags);
    if (r >= 0 && is_special(to))
        forget(to);
    return r;
}

/* ---- stdio: fopen("w") of a store attribute ------------------------- */

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
    return read((int)(intptr_t)c, buf, n);
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    /* each flush is one write(), hence one store */
    return write((int)(intptr_t)c, buf, n);
}

static int cookie_close(void *c)
{
    return close((int)(intptr_t)c);
}

static FILE *fake_fopen(const char *path, const char *mode)
{
    int flags, fd, saved;
    char *abs;
    FILE *f;

    need_real();
    if (!mode || !strpbrk(mode, "wa+") || !(abs = fake_abs(AT_FDCWD, path)))
        return real.fopen(path, mode);
    free(abs);
    flags = strchr(mode, '+') ? O_RDWR : O_WRONLY;
    if (mode[0] == 'w')
        flags |= O_CREAT | O_TRUNC;
    else if (mode[0] == 'a')
        flags |= O_CREAT | O_APPEND;
    else if (mode[0] == 'r' && !strchr(mode, '+'))
        flags = O_RDONLY;
    if (strchr(mode, 'e'))
        flags |= O_CLOEXEC;
    if (strchr(mode, 'x'))
        flags |= O_EXCL;
    fd = fake_open(AT_FDCWD, path, flags, 0666);
    if (fd < 0)
        return NULL;
    if (!is_special(fd))
        return fdopen(fd, mode);
    f = fopencookie((void *)(intptr_t)fd, mode,
                    (cookie_io_functions_t){.read = cookie_read,
                                            .write = cookie_write,
                                            .close = cookie_close});
    if (!f) {
        saved = errno;
        close(fd);
        errno = saved;
    }
    return f;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
    return fake_fopen(path, mode);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
    return fake_fopen(path, mode);
}
