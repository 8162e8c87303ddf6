/* SPDX-License-Identifier: LGPL-2.1-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenvf/log.h>
#include <xenvf/model.h>
#include <xenvf/sysfs.h>
#include <xenvf/text.h>

static const char *root_or_default(const char *root)
{
    return root && *root ? root : XENVF_SYSFS_ROOT;
}

int xenvf_sysfs_rc(int errnum)
{
    switch (errnum) {
    case ENOENT:
        return XENVF_ENOENT;
    case EBUSY:
        return XENVF_EBUSY;
    case EACCES:
    case EPERM:
    case ENODEV:
        return XENVF_EPERM;
    case EINVAL:
        return XENVF_EINVAL;
    case ERANGE:
        return XENVF_ERANGE;
    case ENOMEM:
        return XENVF_ENOMEM;
    case ENOTSUP:
        return XENVF_ENOTSUP;
    default:
        return XENVF_EIO;
    }
}

static int path_join(char **out, xenvf_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int path_join(char **out, xenvf_err *err, const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    if (n >= PATH_MAX) {
        free(p);
        return xenvf_err_set(err, XENVF_EINVAL, "sysfs path too long");
    }
    *out = p;
    return 0;
}

int xenvf_sysfs_dev_path(const char *root, const xenvf_bdf *bdf,
                         const char *attr, char **out, xenvf_err *err)
{
    char b[XENVF_BDF_STR_MAX];

    xenvf_bdf_format(bdf, b);
    if (attr)
        return path_join(out, err, "%s/bus/pci/devices/%s/%s",
                         root_or_default(root), b, attr);
    return path_join(out, err, "%s/bus/pci/devices/%s", root_or_default(root),
                     b);
}

int xenvf_sysfs_dev_exists(const char *root, const xenvf_bdf *bdf,
                           xenvf_err *err)
{
    char *path = NULL;
    struct stat st;
    int rc;

    rc = xenvf_sysfs_dev_path(root, bdf, NULL, &path, err);
    if (rc)
        goto out;
    if (stat(path, &st) < 0) {
        rc = xenvf_err_set_errno(err, xenvf_sysfs_rc(errno), errno,
                                 "PCI device %s", path);
        goto out;
    }
    if (!S_ISDIR(st.st_mode))
        rc = xenvf_err_set(err, XENVF_ENOENT, "PCI device %s: not a directory",
                           path);
out:
    free(path);
    return rc;
}

/* ---- reads --------------------------------------------------------- */

int xenvf_sysfs_read_file(const char *path, char **out, xenvf_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int fd = -1, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = xenvf_err_set_errno(err, xenvf_sysfs_rc(errno), errno, "open %s",
                                 path);
        goto out;
    }
    buf = malloc(XENVF_SYSFS_ATTR_MAX + 1);
    if (!buf) {
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
        goto out;
    }
    /* sysfs hands a show() result out in one read; loop for plain files. */
    for (;;) {
        ssize_t n = read(fd, buf + len, XENVF_SYSFS_ATTR_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = xenvf_err_set_errno(err, XENVF_EIO, errno, "read %s", path);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > XENVF_SYSFS_ATTR_MAX - 1) {
            rc = xenvf_err_set(err, XENVF_EINVAL, "%s: longer than %d bytes",
                               path, XENVF_SYSFS_ATTR_MAX - 1);
            goto out;
        }
    }
    if (memchr(buf, '\0', len)) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "%s: binary content", path);
        goto out;
    }
    if (len && buf[len - 1] == '\n')
        len--;
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

int xenvf_sysfs_read_attr(const char *root, const xenvf_bdf *bdf,
                          const char *attr, char **out, xenvf_err *err)
{
    char *path = NULL;
    int rc;

    rc = xenvf_sysfs_dev_path(root, bdf, attr, &path, err);
    if (!rc)
        rc = xenvf_sysfs_read_file(path, out, err);
    free(path);
    return rc;
}

/* Read attr and parse it as a number no larger than max; a bad value
 * names the device and the attribute. */
static int read_number(const char *root, const xenvf_bdf *bdf, const char *attr,
                       uint64_t max, uint64_t *out,
                       int (*parse)(const char *, uint64_t, uint64_t *,
                                    xenvf_err *),
                       xenvf_err *err)
{
    char *s = NULL;
    int rc;

    rc = xenvf_sysfs_read_attr(root, bdf, attr, &s, err);
    if (rc)
        goto out;
    rc = parse(s, max, out, err);
    if (rc) {
        char b[XENVF_BDF_STR_MAX];
        xenvf_bdf_format(bdf, b);
        xenvf_err_prepend(err, "%s/%s: ", b, attr);
    }
out:
    free(s);
    return rc;
}

int xenvf_sysfs_read_uint(const char *root, const xenvf_bdf *bdf,
                          const char *attr, uint64_t max, uint64_t *out,
                          xenvf_err *err)
{
    return read_number(root, bdf, attr, max, out, xenvf_parse_uint, err);
}

int xenvf_sysfs_parse_hex(const char *s, uint64_t max, uint64_t *out,
                          xenvf_err *err)
{
    const char *p = s;
    uint64_t v = 0;
    size_t n = 0;

    if (!s)
        return xenvf_err_set(err, XENVF_EINVAL, "empty hex number");
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    for (; *p; p++, n++) {
        const int d = xenvf_hex_digit(*p);

        if (d < 0)
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "'%.32s' is not a hex number", s);
        if (n == 16)
            return xenvf_err_set(err, XENVF_ERANGE, "'%.32s' is too long", s);
        v = v << 4 | (uint64_t)d;
    }
    if (n == 0)
        return xenvf_err_set(err, XENVF_EINVAL, "'%.32s' is not a hex number",
                             s);
    if (v > max)
        return xenvf_err_set(err, XENVF_ERANGE,
                             "'%.32s' is out of range (max 0x%llx)", s,
                             (unsigned long long)max);
    *out = v;
    return 0;
}

int xenvf_sysfs_read_link(const char *root, const xenvf_bdf *bdf,
                          const char *link, char **out, xenvf_err *err)
{
    char *path = NULL, *base;
    char target[PATH_MAX];
    ssize_t n;
    int rc;

    rc = xenvf_sysfs_dev_path(root, bdf, link, &path, err);
    if (rc)
        goto out;
    n = readlink(path, target, sizeof(target) - 1);
    if (n < 0) {
        rc = xenvf_err_set_errno(err, xenvf_sysfs_rc(errno), errno,
                                 "readlink %s", path);
        goto out;
    }
    target[n] = '\0';
    while (n > 1 && target[n - 1] == '/')
        target[--n] = '\0';
    base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
        rc = xenvf_err_set(err, XENVF_EINVAL, "%s: odd link target '%s'", path,
                           target);
        goto out;
    }
    if (!(*out = strdup(base)))
        rc = xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
out:
    free(path);
    return rc;
}

int xenvf_sysfs_read_driver(const char *root, const xenvf_bdf *bdf, char **out,
                            xenvf_err *err)
{
    int rc = xenvf_sysfs_read_link(root, bdf, "driver", out, err);

    if (rc == XENVF_ENOENT) {
        /* no link: unbound, as long as the device itself is there */
        rc = xenvf_sysfs_dev_exists(root, bdf, err);
        if (!rc)
            *out = NULL;
    }
    return rc;
}

/* A link to a sibling device ("../0000:03:02.0"): its BDF. */
static int read_bdf_link(const char *root, const xenvf_bdf *bdf,
                         const char *link, xenvf_bdf *out, xenvf_err *err)
{
    char *name = NULL;
    int rc;

    rc = xenvf_sysfs_read_link(root, bdf, link, &name, err);
    if (rc)
        goto out;
    rc = xenvf_bdf_parse(name, out, err);
    if (rc)
        xenvf_err_prepend(err, "link %s: ", link);
out:
    free(name);
    return rc;
}

int xenvf_sysfs_read_virtfn(const char *root, const xenvf_bdf *pf, unsigned n,
                            xenvf_bdf *out, xenvf_err *err)
{
    char link[32];

    snprintf(link, sizeof(link), "virtfn%u", n);
    return read_bdf_link(root, pf, link, out, err);
}

int xenvf_sysfs_read_physfn(const char *root, const xenvf_bdf *vf,
                            xenvf_bdf *out, xenvf_err *err)
{
    return read_bdf_link(root, vf, "physfn", out, err);
}

uint64_t xenvf_sysfs_resource_size(const xenvf_sysfs_resource *r)
{
    return r->end > r->start ? r->end - r->start + 1 : 0;
}

/* "0x" and exactly 16 hex digits, as the kernel prints them. */
static int parse_res_field(const char *s, uint64_t *out)
{
    uint64_t v;

    if (s[0] != '0' || s[1] != 'x' || strlen(s) != 18)
        return -1;
    if (xenvf_sysfs_parse_hex(s, UINT64_MAX, &v, NULL))
        return -1;
    *out = v;
    return 0;
}

int xenvf_sysfs_read_resources(const char *root, const xenvf_bdf *bdf,
                               xenvf_sysfs_resource res[XENVF_SYSFS_RES_MAX],
                               size_t *nr, xenvf_err *err)
{
    char *text = NULL, *line, *save = NULL;
    size_t n = 0;
    int rc;

    rc = xenvf_sysfs_read_attr(root, bdf, "resource", &text, err);
    if (rc)
        goto out;
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char f[3][19];
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : 0;

        if (n == XENVF_SYSFS_RES_MAX || !sp1 || !sp2 || sp1 - line > 18 ||
            sp2 - sp1 - 1 > 18 || strlen(sp2 + 1) > 18)
            goto bad;
        memcpy(f[0], line, sp1 - line);
        f[0][sp1 - line] = '\0';
        memcpy(f[1], sp1 + 1, sp2 - sp1 - 1);
        f[1][sp2 - sp1 - 1] = '\0';
        strcpy(f[2], sp2 + 1);
        if (parse_res_field(f[0], &res[n].start) ||
            parse_res_field(f[1], &res[n].end) ||
            parse_res_field(f[2], &res[n].flags))
            goto bad;
        n++;
    }
    *nr = n;
    goto out;
bad : {
    char b[XENVF_BDF_STR_MAX];
    xenvf_bdf_format(bdf, b);
    rc =
        xenvf_err_set(err, XENVF_EINVAL, "%s/resource: bad line %zu", b, n + 1);
}
out:
    free(text);
    return rc;
}

/* ---- writes -------------------------------------------------------- */

/*
 * One write() of the whole value: a sysfs store runs once per write() and
 * its errno is the answer. Returns 0 or -errno of the failing step, with
 * *step naming it for the message.
 */
static int write_once(const char *path, const char *value, const char **step)
{
    size_t len = strlen(value);
    ssize_t n;
    int fd, e;

    *step = "open";
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    *step = "write";
    do {
        n = write(fd, value, len);
    } while (n < 0 && errno == EINTR);
    e = n < 0 ? errno : (size_t)n != len ? EIO : 0;
    if (close(fd) < 0 && !e && errno != EINTR) {
        *step = "close";
        e = errno;
    }
    return -e;
}

/* Strip one trailing newline for messages. */
static void show_value(const char *value, char buf[64])
{
    size_t n = strcspn(value, "\n");

    snprintf(buf, 64, "%.*s", (int)(n > 40 ? 40 : n), value);
}

int xenvf_sysfs_write_file(const char *path, const char *value, xenvf_err *err)
{
    const char *step;
    char v[64];
    int e = write_once(path, value, &step);

    if (!e)
        return 0;
    show_value(value, v);
    return xenvf_err_set_errno(err, xenvf_sysfs_rc(-e), -e, "%s '%s' to %s",
                               step, v, path);
}

int xenvf_sysfs_write_attr(const char *root, const xenvf_bdf *bdf,
                           const char *attr, const char *value, xenvf_err *err)
{
    char *path = NULL;
    int rc;

    rc = xenvf_sysfs_dev_path(root, bdf, attr, &path, err);
    if (!rc)
        rc = xenvf_sysfs_write_file(path, value, err);
    free(path);
    return rc;
}

int xenvf_sysfs_set_numvfs(const char *root, const xenvf_bdf *pf, unsigned n,
                           xenvf_err *err)
{
    char *path = NULL, v[16];
    const char *step;
    int rc, e;

    rc = xenvf_sysfs_dev_path(root, pf, "sriov_numvfs", &path, err);
    if (rc)
        goto out;
    snprintf(v, sizeof(v), "%u", n);
    e = write_once(path, v, &step);
    if (!e)
        goto out;
    e = -e;
    if (e == ENOENT && !strcmp(step, "write"))
        /* the store's ENOENT: no driver with sriov_configure */
        rc = xenvf_err_set_errno(err, XENVF_ENOTSUP, e,
                                 "write %s to %s (the PF's driver must be "
                                 "bound and support SR-IOV)",
                                 v, path);
    else if (e == EBUSY)
        rc = xenvf_err_set_errno(err, XENVF_EBUSY, e,
                                 "write %s to %s (VFs are enabled: "
                                 "set 0 first)",
                                 v, path);
    else
        rc = xenvf_err_set_errno(err, xenvf_sysfs_rc(e), e, "%s %s to %s", step,
                                 v, path);
out:
    free(path);
    return rc;
}

int xenvf_sysfs_set_autoprobe(const char *root, const xenvf_bdf *pf, bool on,
                              xenvf_err *err)
{
    return xenvf_sysfs_write_attr(root, pf, "sriov_drivers_autoprobe",
                                  on ? "1" : "0", err);
}

static bool driver_name_ok(const char *driver)
{
    return driver && *driver && !strchr(driver, '/') && strcmp(driver, ".") &&
           strcmp(driver, "..");
}

int xenvf_sysfs_driver_bind(const char *root, const xenvf_bdf *bdf,
                            const char *driver, xenvf_err *err)
{
    char *path = NULL, b[XENVF_BDF_STR_MAX];
    const char *step;
    int rc, e;

    if (!driver_name_ok(driver))
        return xenvf_err_set(err, XENVF_EINVAL, "bad driver name '%.40s'",
                             driver ? driver : "");
    rc = xenvf_sysfs_dev_exists(root, bdf, err);
    if (rc)
        return rc;
    xenvf_bdf_format(bdf, b);
    rc = path_join(&path, err, "%s/bus/pci/drivers/%s/bind",
                   root_or_default(root), driver);
    if (rc)
        return rc;
    e = -write_once(path, b, &step);
    if (!e)
        goto out;
    if (e == ENOENT && !strcmp(step, "open"))
        rc = xenvf_err_set_errno(err, XENVF_ENOENT, e,
                                 "bind %s: no driver %s (%s)", b, driver, path);
    else if (e == ENODEV)
        rc = xenvf_err_set_errno(err, XENVF_EPERM, e,
                                 "bind %s to %s refused (a VF while "
                                 "sriov_drivers_autoprobe is 0, or "
                                 "driver_override names another driver)",
                                 b, driver);
    else
        rc =
            xenvf_err_set_errno(err, xenvf_sysfs_rc(e), e,
                                "bind %s to %s (%s %s)", b, driver, step, path);
out:
    free(path);
    return rc;
}

int xenvf_sysfs_driver_unbind(const char *root, const xenvf_bdf *bdf,
                              xenvf_err *err)
{
    char *driver = NULL, *path = NULL, b[XENVF_BDF_STR_MAX];
    const char *step;
    int rc, e;

    rc = xenvf_sysfs_read_driver(root, bdf, &driver, err);
    if (rc || !driver)
        goto out;
    xenvf_bdf_format(bdf, b);
    rc = path_join(&path, err, "%s/bus/pci/drivers/%s/unbind",
                   root_or_default(root), driver);
    if (rc)
        goto out;
    e = -write_once(path, b, &step);
    if (e == ENODEV) {
        /* someone unbound it between our readlink and the write */
        LOG(DEBUG, "%s: already unbound from %s", b, driver);
    } else if (e) {
        rc = xenvf_err_set_errno(err, xenvf_sysfs_rc(e), e,
                                 "unbind %s from %s (%s %s)", b, driver, step,
                                 path);
    }
out:
    free(driver);
    free(path);
    return rc;
}

int xenvf_sysfs_set_driver_override(const char *root, const xenvf_bdf *bdf,
                                    const char *driver, xenvf_err *err)
{
    if (driver && *driver && !driver_name_ok(driver))
        return xenvf_err_set(err, XENVF_EINVAL, "bad driver name '%.40s'",
                             driver);
    /* the kernel clears the override on an empty write ("\n") */
    return xenvf_sysfs_write_attr(root, bdf, "driver_override",
                                  driver && *driver ? driver : "\n", err);
}

int xenvf_sysfs_set_reset_methods(const char *root, const xenvf_bdf *bdf,
                                  const char *methods, xenvf_err *err)
{
    /* the kernel reads an empty line as "none" */
    return xenvf_sysfs_write_attr(root, bdf, "reset_method",
                                  *methods ? methods : "\n", err);
}

int xenvf_sysfs_reset(const char *root, const xenvf_bdf *bdf, xenvf_err *err)
{
    return xenvf_sysfs_write_attr(root, bdf, "reset", "1", err);
}
