/*
 * xs-harness: start Debian's xenstored under xs-shim.so and play dom0 (its
 * socket) and domUs (their rings) against it. API in xs-harness.h, design
 * in docs/testing-xenstored.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/io/xs_wire.h>

#include "xs-harness.h"

#define PAGE              4096
#define DEFAULT_XENSTORED "/usr/lib/xen-4.17/bin/xenstored"

extern char **environ;

struct xsh_event {
    struct xsh_event *next;
    char *path; /* the message body: path, NUL, token, NUL */
    const char *token;
};

struct xsh_guest {
    unsigned int domid;
    int sock; /* dom0's socket connection, or -1 */
    struct xenstore_domain_interface *intf; /* else domU's ring page */
    int evt_fd;  /* <dir>/dom<N>.evt: readable after xenstored notified */
    int kick_fd; /* <dir>/evtchn: our notifications to xenstored */
    uint32_t port;
    uint32_t req_id, tx_id;
    int broken; /* the errno that left the stream out of step */
    struct xsh_event *ev_head, **ev_tail;
};

struct xs_harness {
    pid_t pid; /* xenstored */
    int reaped, wstatus;
    pid_t sweeper; /* removes dir once sweep_fd is closed */
    int sweep_fd;
    int kick_fd;
    char *dir, *sock_path;
    xsh_guest *ctl; /* dom0's socket connection: introduce, kill */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* 0 when fd is ready (or in error: the next read says which), ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int64_t left;
    int n;

    for (;;) {
        left = deadline - now_ms();
        n = poll(&pfd, 1, left < 0 ? 0 : (int)left);
        if (n > 0)
            return 0;
        if (n == 0)
            return ETIMEDOUT;
        if (errno != EINTR)
            return errno;
    }
}

static void drain(int fd)
{
    char buf[64];

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void kick(int kick_fd, uint32_t port)
{
    /* EAGAIN: the FIFO is full of wakeups xenstored has yet to read. */
    if (write(kick_fd, &port, sizeof(port)) < 0)
        return;
}

static void print_tail(const char *dir, const char *name)
{
    char path[PATH_MAX], buf[2048];
    off_t size;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size = lseek(fd, 0, SEEK_END);
    if (size > (off_t)sizeof(buf))
        lseek(fd, size - (off_t)sizeof(buf), SEEK_SET);
    else
        lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    fprintf(stderr, "xs-harness: --- tail of %s ---\n%.*s\n", path,
            n > 0 ? (int)n : 0, buf);
}

/* What went wrong, xenstored's exit status and the tail of its output. */
static void report(xs_harness *h, const char *what)
{
    fprintf(stderr, "xs-harness: %s\n", what);
    if (h->reaped && WIFEXITED(h->wstatus))
        fprintf(stderr, "xs-harness: xenstored exited with status %d\n",
                WEXITSTATUS(h->wstatus));
    else if (h->reaped && WIFSIGNALED(h->wstatus))
        fprintf(stderr, "xs-harness: xenstored killed by signal %d\n",
                WTERMSIG(h->wstatus));
    print_tail(h->dir, XSH_FILE_LOG);
    print_tail(h->dir, XSH_FILE_TRACE);
}

/* Has xenstored exited? Reaps it once. */
static int xenstored_gone(xs_harness *h)
{
    if (!h->reaped && h->pid > 0 &&
        waitpid(h->pid, &h->wstatus, WNOHANG) == h->pid)
        h->reaped = 1;
    return h->reaped;
}

/* ---- byte streams: dom0's socket or a domU's ring ---- */

static int ring_write(xsh_guest *g, const char *buf, size_t len,
                      int64_t deadline)
{
    struct xenstore_domain_interface *intf = g->intf;
    XENSTORE_RING_IDX cons, prod;
    size_t n;
    int rc;

    while (len) {
        /* Drain before looking: a notify after the look is not lost. */
        drain(g->evt_fd);
        cons = __atomic_load_n(&intf->req_cons, __ATOMIC_ACQUIRE);
        prod = intf->req_prod;
        if (prod - cons > XENSTORE_RING_SIZE)
            return EIO;
        n = XENSTORE_RING_SIZE - (prod - cons);
        if (n > XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod))
            n = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod);
        if (n > len)
            n = len;
        if (!n) {
            rc = wait_fd(g->evt_fd, POLLIN, deadline);
            if (rc)
                return rc;
            continue;
        }
        memcpy(intf->req + MASK_XENSTORE_IDX(prod), buf, n);
        __atomic_store_n(&intf->req_prod, prod + n, __ATOMIC_RELEASE);
        kick(g->kick_fd, g->port);
        buf += n;
        len -= n;
    }
    return 0;
}

static int ring_read(xsh_guest *g, char *buf, size_t len, int64_t deadline,
                     size_t *got)
{
    struct xenstore_domain_interface *intf = g->intf;
    XENSTORE_RING_IDX cons, prod;
    size_t n;
    int rc;

    while (len) {
        drain(g->evt_fd);
        prod = __atomic_load_n(&intf->rsp_prod, __ATOMIC_ACQUIRE);
        cons = intf->rsp_cons;
        if (prod - cons > XENSTORE_RING_SIZE)
            return EIO;
        n = prod - cons;
        if (n > XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons))
            n = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons);
        if (n > len)
            n = len;
        if (!n) {
            rc = wait_fd(g->evt_fd, POLLIN, deadline);
            if (rc)
                return rc;
            continue;
        }
        memcpy(buf, intf->rsp + MASK_XENSTORE_IDX(cons), n);
        __atomic_store_n(&intf->rsp_cons, cons + n, __ATOMIC_RELEASE);
        /* xenstored may be waiting for room to write the rest. */
        kick(g->kick_fd, g->port);
        buf += n;
        len -= n;
        *got += n;
    }
    return 0;
}

static int sock_write(xsh_guest *g, const char *buf, size_t len,
                      int64_t deadline)
{
    ssize_t n;
    int rc;

    while (len) {
        n = send(g->sock, buf, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            rc = wait_fd(g->sock, POLLOUT, deadline);
            if (rc)
                return rc;
            continue;
        }
        if (n < 0)
            return errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int sock_read(xsh_guest *g, char *buf, size_t len, int64_t deadline,
                     size_t *got)
{
    ssize_t n;
    int rc;

    while (len) {
        n = recv(g->sock, buf, len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            rc = wait_fd(g->sock, POLLIN, deadline);
            if (rc)
                return rc;
            continue;
        }
        if (n < 0)
            return errno;
        if (n == 0)
            return EPIPE; /* xenstored closed it */
        buf += n;
        len -= (size_t)n;
        *got += (size_t)n;
    }
    return 0;
}

static int conn_write(xsh_guest *g, const void *buf, size_t len,
                      int64_t deadline)
{
    return g->sock >= 0 ? sock_write(g, buf, len, deadline)
                        : ring_write(g, buf, len, deadline);
}

static int conn_read(xsh_guest *g, void *buf, size_t len, int64_t deadline,
                     size_t *got)
{
    return g->sock >= 0 ? sock_read(g, buf, len, deadline, got)
                        : ring_read(g, buf, len, deadline, got);
}

/* ---- messages ---- */

/* One message, body NUL-terminated. A timeout before its first byte leaves
 * the stream usable; any other failure marks it broken. */
static int read_msg(xsh_guest *g, int64_t deadline, struct xsd_sockmsg *hdr,
                    char **body)
{
    size_t got = 0;
    char *b = NULL;
    int rc;

    rc = conn_read(g, hdr, sizeof(*hdr), deadline, &got);
    if (rc)
        goto out;
    if (hdr->len > XENSTORE_PAYLOAD_MAX) {
        rc = EPROTO;
        goto out;
    }
    b = malloc(hdr->len + 1);
    if (!b) {
        rc = ENOMEM;
        goto out;
    }
    rc = conn_read(g, b, hdr->len, deadline, &got);
    if (rc)
        goto out;
    b[hdr->len] = '\0';
    *body = b;
    b = NULL;
out:
    free(b);
    if (rc && !(rc == ETIMEDOUT && got == 0))
        g->broken = rc;
    return rc;
}

/* Takes body (path NUL token NUL) in all cases. */
static int queue_event(xsh_guest *g, char *body, uint32_t len)
{
    struct xsh_event *ev;
    size_t plen = strnlen(body, len);

    if (plen == len) {
        free(body);
        g->broken = EPROTO;
        return EPROTO;
    }
    ev = malloc(sizeof(*ev));
    if (!ev) {
        free(body);
        return ENOMEM;
    }
    ev->next = NULL;
    ev->path = body;
    ev->token = body + plen + 1;
    *g->ev_tail = ev;
    g->ev_tail = &ev->next;
    return 0;
}

static int xs_errno(const char *s)
{
    size_t i;

    for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (!strcmp(s, xsd_errors[i].errstring))
            return xsd_errors[i].errnum;
    return EPROTO;
}

/* Send one request and wait for its reply, queueing watch events. */
static int rpc(xsh_guest *g, uint32_t type, const void *payload, size_t len,
               char **reply, size_t *reply_len)
{
    int64_t deadline = now_ms() + XSH_TIMEOUT_MS;
    struct xsd_sockmsg hdr;
    char *body = NULL;
    uint32_t id;
    int rc;

    if (g->broken)
        return g->broken;
    if (len > UINT32_MAX)
        return EINVAL;
    id = ++g->req_id;
    hdr = (struct xsd_sockmsg){type, id, g->tx_id, (uint32_t)len};
    rc = conn_write(g, &hdr, sizeof(hdr), deadline);
    if (!rc && len)
        rc = conn_write(g, payload, len, deadline);
    if (rc) {
        g->broken = rc;
        goto out;
    }
    for (;;) {
        rc = read_msg(g, deadline, &hdr, &body);
        if (rc) {
            /* A late reply would answer the next request. */
            g->broken = rc;
            goto out;
        }
        if (hdr.type != XS_WATCH_EVENT)
            break;
        rc = queue_event(g, body, hdr.len);
        body = NULL;
        if (rc)
            goto out;
    }
    if (hdr.req_id != id) {
        rc = g->broken = EPROTO;
        goto out;
    }
    if (hdr.type == XS_ERROR) {
        rc = xs_errno(body);
        goto out;
    }
    if (hdr.type != type) {
        rc = g->broken = EPROTO;
        goto out;
    }
    if (reply_len)
        *reply_len = hdr.len;
    if (reply) {
        *reply = body;
        body = NULL;
    }
out:
    free(body);
    return rc;
}

/* Payload "a\0" then b, with its NUL if b_nul. */
static int rpc2(xsh_guest *g, uint32_t type, const char *a, const char *b,
                int b_nul, char **reply, size_t *reply_len)
{
    size_t alen = strlen(a) + 1, blen = b ? strlen(b) + !!b_nul : 0;
    char *p = malloc(alen + blen + 1);
    int rc;

    if (!p)
        return ENOMEM;
    memcpy(p, a, alen);
    if (b)
        memcpy(p + alen, b, blen);
    rc = rpc(g, type, p, alen + blen, reply, reply_len);
    free(p);
    return rc;
}

/* ---- guests ---- */

static xsh_guest *guest_alloc(unsigned int domid)
{
    xsh_guest *g = calloc(1, sizeof(*g));

    if (!g)
        return NULL;
    g->domid = domid;
    g->sock = g->evt_fd = g->kick_fd = -1;
    g->ev_tail = &g->ev_head;
    return g;
}

void xsh_guest_close(xsh_guest *g)
{
    struct xsh_event *ev;

    if (!g)
        return;
    while ((ev = g->ev_head)) {
        g->ev_head = ev->next;
        free(ev->path);
        free(ev);
    }
    if (g->intf)
        munmap(g->intf, PAGE);
    if (g->sock >= 0)
        close(g->sock);
    if (g->evt_fd >= 0)
        close(g->evt_fd);
    if (g->kick_fd >= 0)
        close(g->kick_fd);
    free(g);
}

unsigned int xsh_guest_domid(xsh_guest *g)
{
    return g->domid;
}

int xsh_guest_request(xsh_guest *g, uint32_t type, const void *payload,
                      size_t len, char **reply_out, size_t *reply_len)
{
    return rpc(g, type, payload, len, reply_out, reply_len);
}

int xsh_guest_read(xsh_guest *g, const char *path, char **value_out)
{
    return rpc2(g, XS_READ, path, NULL, 0, value_out, NULL);
}

int xsh_guest_write(xsh_guest *g, const char *path, const char *value)
{
    return rpc2(g, XS_WRITE, path, value, 0, NULL, NULL);
}

int xsh_guest_mkdir(xsh_guest *g, const char *path)
{
    return rpc2(g, XS_MKDIR, path, NULL, 0, NULL, NULL);
}

int xsh_guest_rm(xsh_guest *g, const char *path)
{
    return rpc2(g, XS_RM, path, NULL, 0, NULL, NULL);
}

int xsh_guest_directory(xsh_guest *g, const char *path, char ***entries_out,
                        unsigned int *num_out)
{
    char *body = NULL, **v, *s;
    unsigned int n = 0, i;
    size_t len, k;
    int rc;

    rc = rpc2(g, XS_DIRECTORY, path, NULL, 0, &body, &len);
    if (rc)
        goto out;
    for (k = 0; k < len; k++)
        n += body[k] == '\0';
    /* One block: n + 1 pointers, then the strings. */
    v = malloc((n + 1) * sizeof(*v) + len + 1);
    if (!v) {
        rc = ENOMEM;
        goto out;
    }
    s = (char *)(v + n + 1);
    memcpy(s, body, len + 1);
    for (i = 0; i < n; i++) {
        v[i] = s;
        s += strlen(s) + 1;
    }
    v[n] = NULL;
    *entries_out = v;
    *num_out = n;
out:
    free(body);
    return rc;
}

int xsh_guest_get_perms(xsh_guest *g, const char *path, char **perms_out)
{
    char *body = NULL;
    size_t len, k;
    int rc;

    rc = rpc2(g, XS_GET_PERMS, path, NULL, 0, &body, &len);
    if (rc)
        goto out;
    /* "n5\0r0\0" -> "n5,r0" */
    while (len && body[len - 1] == '\0')
        len--;
    body[len] = '\0';
    for (k = 0; k < len; k++)
        if (body[k] == '\0')
            body[k] = ',';
    *perms_out = body;
    body = NULL;
out:
    free(body);
    return rc;
}

int xsh_guest_set_perms(xsh_guest *g, const char *path, const char *perms)
{
    size_t alen = strlen(path) + 1, blen = strlen(perms) + 1, k;
    char *p = malloc(alen + blen);
    int rc;

    if (!p)
        return ENOMEM;
    memcpy(p, path, alen);
    memcpy(p + alen, perms, blen);
    /* "n5,r0" -> "n5\0r0\0" */
    for (k = alen; k < alen + blen; k++)
        if (p[k] == ',')
            p[k] = '\0';
    rc = rpc(g, XS_SET_PERMS, p, alen + blen, NULL, NULL);
    free(p);
    return rc;
}

int xsh_guest_watch(xsh_guest *g, const char *path, const char *token)
{
    return rpc2(g, XS_WATCH, path, token, 1, NULL, NULL);
}

int xsh_guest_unwatch(xsh_guest *g, const char *path, const char *token)
{
    return rpc2(g, XS_UNWATCH, path, token, 1, NULL, NULL);
}

int xsh_guest_read_watch(xsh_guest *g, int timeout_ms, char **path_out,
                         char **token_out)
{
    int64_t deadline = now_ms() + timeout_ms;
    struct xsd_sockmsg hdr;
    struct xsh_event *ev;
    char *body = NULL, *path = NULL, *token = NULL;
    int rc;

    while (!g->ev_head) {
        if (g->broken)
            return g->broken;
        rc = read_msg(g, deadline, &hdr, &body);
        if (rc)
            return rc;
        if (hdr.type != XS_WATCH_EVENT) {
            free(body);
            g->broken = EPROTO;
            return EPROTO;
        }
        rc = queue_event(g, body, hdr.len);
        if (rc)
            return rc;
    }
    ev = g->ev_head;
    path = strdup(ev->path);
    token = strdup(ev->token);
    if (!path || !token) {
        free(path);
        free(token);
        return ENOMEM;
    }
    g->ev_head = ev->next;
    if (!g->ev_head)
        g->ev_tail = &g->ev_head;
    free(ev->path);
    free(ev);
    *path_out = path;
    *token_out = token;
    return 0;
}

int xsh_guest_transaction_start(xsh_guest *g)
{
    char *id = NULL;
    int rc;

    if (g->tx_id)
        return EBUSY;
    rc = rpc(g, XS_TRANSACTION_START, "", 1, &id, NULL);
    if (!rc)
        g->tx_id = (uint32_t)strtoul(id, NULL, 10);
    free(id);
    return rc;
}

int xsh_guest_transaction_end(xsh_guest *g, int commit)
{
    int rc;

    if (!g->tx_id)
        return EINVAL;
    rc = rpc(g, XS_TRANSACTION_END, commit ? "T" : "F", 2, NULL, NULL);
    g->tx_id = 0;
    return rc;
}

/* ---- xenstored ---- */

/*
 * A child that removes the directory however this process ends (Check's
 * fork mode leaves a failed test with _exit, skipping teardown and atexit):
 * it waits for EOF on a pipe only we hold, then runs rm -rf. xenstored
 * itself dies with us through PR_SET_PDEATHSIG.
 */
static int spawn_sweeper(xs_harness *h)
{
    char *argv[] = {"rm", "-rf", "--", h->dir, NULL};
    char *envp[] = {NULL};
    int p[2], nullfd, rc = 0;
    char c;

    nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nullfd < 0)
        return errno;
    if (pipe2(p, O_CLOEXEC)) {
        rc = errno;
        close(nullfd);
        return rc;
    }
    h->sweeper = fork();
    if (h->sweeper == 0) {
        /* Async-signal-safe calls only. Own process group: Check kills
         * the test's group when the test ends. */
        setpgid(0, 0);
        dup2(p[0], 0);
        dup2(nullfd, 1);
        dup2(nullfd, 2);
        /* Holding other harnesses' pipes would keep them from EOF. */
        close_range(3, ~0u, 0);
        while (read(0, &c, 1) < 0 && errno == EINTR)
            ;
        execve("/bin/rm", argv, envp);
        _exit(127);
    }
    if (h->sweeper < 0)
        rc = errno;
    else
        h->sweep_fd = p[1];
    close(p[0]);
    if (rc)
        close(p[1]);
    close(nullfd);
    return rc;
}

static int write_file(const char *dir, const char *name, const char *data,
                      off_t size)
{
    char path[PATH_MAX];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    if (data && write(fd, data, strlen(data)) != (ssize_t)strlen(data))
        rc = EIO;
    if (!rc && size && ftruncate(fd, size))
        rc = errno;
    close(fd);
    return rc;
}

/* The environment of xenstored: ours, with the shim and the directory. */
static char **xenstored_env(const char *shim, const char *dir, const char *sock)
{
    size_t n = 0, i, j = 0;
    char **env;

    while (environ[n])
        n++;
    env = calloc(n + 4, sizeof(*env));
    if (!env)
        return NULL;
    for (i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) &&
            strncmp(environ[i], "XENSTORED_RUNDIR=", 17) &&
            strncmp(environ[i], "XENSTORED_PATH=", 15))
            env[j++] = environ[i];
    /* env[j..j+2] are ours to free; environ's entries are not. */
    if (asprintf(&env[j], "LD_PRELOAD=%s", shim) < 0)
        env[j] = NULL;
    if (asprintf(&env[j + 1], "XENSTORED_RUNDIR=%s", dir) < 0)
        env[j + 1] = NULL;
    if (asprintf(&env[j + 2], "XENSTORED_PATH=%s", sock) < 0)
        env[j + 2] = NULL;
    if (!env[j] || !env[j + 1] || !env[j + 2]) {
        free(env[j]);
        free(env[j + 1]);
        free(env[j + 2]);
        free(env);
        return NULL;
    }
    return env;
}

static void free_env(char **env)
{
    size_t n = 0;

    if (!env)
        return;
    while (env[n])
        n++;
    free(env[n - 3]);
    free(env[n - 2]);
    free(env[n - 1]);
    free(env);
}

static int spawn(xs_harness *h, const char *xenstored, const char *shim)
{
    char trace[PATH_MAX], log[PATH_MAX];
    char *argv[] = {(char *)xenstored, "-N", "-T", trace, NULL};
    char **env = NULL;
    pid_t parent = getpid();
    int logfd = -1, nullfd = -1, rc = 0;

    snprintf(trace, sizeof(trace), "%s/%s", h->dir, XSH_FILE_TRACE);
    snprintf(log, sizeof(log), "%s/%s", h->dir, XSH_FILE_LOG);
    env = xenstored_env(shim, h->dir, h->sock_path);
    logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (!env || logfd < 0 || nullfd < 0) {
        rc = env ? errno : ENOMEM;
        goto out;
    }
    h->pid = fork();
    if (h->pid < 0) {
        rc = errno;
        goto out;
    }
    if (h->pid == 0) {
        /* Async-signal-safe calls only: we may have threads. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
            _exit(126);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        close_range(3, ~0u, 0);
        execve(xenstored, argv, env);
        _exit(127);
    }
out:
    if (logfd >= 0)
        close(logfd);
    if (nullfd >= 0)
        close(nullfd);
    free_env(env);
    return rc;
}

/* Until dom0's socket answers a request, xenstored exits, or timeout. */
static int wait_ready(xs_harness *h)
{
    int64_t deadline = now_ms() + XSH_TIMEOUT_MS;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char *reply = NULL;
    int fd, rc;

    strcpy(addr.sun_path, h->sock_path);
    for (;;) {
        if (xenstored_gone(h)) {
            rc = ECHILD;
            report(h, "xenstored exited while starting");
            goto out;
        }
        if (now_ms() > deadline) {
            rc = ETIMEDOUT;
            report(h, "xenstored's socket did not accept within "
                      "XSH_TIMEOUT_MS");
            goto out;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            rc = errno;
            goto out;
        }
        if (!connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
            break;
        close(fd);
        sleep_ms(10);
    }
    h->ctl = guest_alloc(0);
    if (!h->ctl) {
        close(fd);
        rc = ENOMEM;
        goto out;
    }
    h->ctl->sock = fd;
    /* Answered only once dom0_init() is done and the main loop runs. */
    rc = rpc2(h->ctl, XS_DIRECTORY, "/", NULL, 0, &reply, NULL);
    if (rc) {
        xenstored_gone(h);
        fprintf(stderr, "xs-harness: first request: %s\n", strerror(rc));
        report(h, "xenstored does not answer on its socket");
    }
out:
    free(reply);
    return rc;
}

int xsh_start(xs_harness **out)
{
    const char *tmp = getenv("TMPDIR"), *shim = getenv("XENVF_XS_SHIM");
    const char *xenstored = getenv("XENSTORED");
    char path[PATH_MAX], port[16];
    xs_harness *h = NULL;
    int rc;

    if (!xenstored || !*xenstored)
        xenstored = DEFAULT_XENSTORED;
    if (!shim || access(shim, R_OK)) {
        fprintf(stderr,
                "xs-harness: XENVF_XS_SHIM (%s) is not a readable "
                "xs-shim.so; run through tests/run-tests\n",
                shim ? shim : "unset");
        return ENOENT;
    }
    if (access(xenstored, X_OK)) {
        rc = errno;
        fprintf(stderr, "xs-harness: %s: %s (apt-get install xen-utils-4.17)\n",
                xenstored, strerror(rc));
        return rc;
    }
    h = calloc(1, sizeof(*h));
    if (!h)
        return ENOMEM;
    h->sweep_fd = h->kick_fd = -1;
    if (asprintf(&h->dir, "%s/xsh.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) {
        h->dir = NULL;
        rc = ENOMEM;
        goto out;
    }
    if (!mkdtemp(h->dir)) {
        rc = errno;
        fprintf(stderr, "xs-harness: mkdtemp %s: %s\n", h->dir, strerror(rc));
        free(h->dir);
        h->dir = NULL;
        goto out;
    }
    if (!getenv("XSH_KEEP")) {
        rc = spawn_sweeper(h);
        if (rc)
            goto out;
    }
    if (asprintf(&h->sock_path, "%s/%s", h->dir, XSH_FILE_SOCKET) < 0) {
        h->sock_path = NULL;
        rc = ENOMEM;
        goto out;
    }
    if (strlen(h->sock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "xs-harness: socket path too long: %s\n", h->sock_path);
        rc = ENAMETOOLONG;
        goto out;
    }
    /* The evtchn FIFO, O_RDWR: writes never fail for want of a reader. */
    snprintf(path, sizeof(path), "%s/%s", h->dir, XSH_FILE_EVTCHN);
    if (mkfifo(path, 0600)) {
        rc = errno;
        goto out;
    }
    h->kick_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (h->kick_fd < 0) {
        rc = errno;
        goto out;
    }
    /* /proc/xen/xsd_port and xsd_kva: dom0's port and ring page. */
    snprintf(port, sizeof(port), "%u\n", XSH_PORT_BASE);
    rc = write_file(h->dir, "xsd_port", port, 0);
    if (!rc)
        rc = write_file(h->dir, "xsd_kva", NULL, PAGE);
    if (!rc)
        rc = spawn(h, xenstored, shim);
    if (!rc)
        rc = wait_ready(h);
    if (rc)
        goto out;
    if (setenv("XENSTORED_PATH", h->sock_path, 1)) {
        rc = errno;
        goto out;
    }
    *out = h;
    h = NULL;
out:
    xsh_stop(h);
    return rc;
}

const char *xsh_dir(xs_harness *h)
{
    return h->dir;
}

const char *xsh_socket(xs_harness *h)
{
    return h->sock_path;
}

pid_t xsh_pid(xs_harness *h)
{
    return h->pid;
}

int xsh_stop(xs_harness *h)
{
    const char *env;
    int rc = 0;

    if (!h)
        return 0;
    xsh_guest_close(h->ctl);
    if (h->pid > 0 && !h->reaped) {
        if (xenstored_gone(h)) {
            rc = ECHILD;
            report(h, "xenstored had died before xsh_stop");
        } else {
            kill(h->pid, SIGKILL);
            while (waitpid(h->pid, &h->wstatus, 0) < 0 && errno == EINTR)
                ;
        }
    }
    if (h->kick_fd >= 0)
        close(h->kick_fd);
    env = getenv("XENSTORED_PATH");
    if (env && h->sock_path && !strcmp(env, h->sock_path))
        unsetenv("XENSTORED_PATH");
    if (h->sweep_fd >= 0) {
        close(h->sweep_fd);
        while (waitpid(h->sweeper, NULL, 0) < 0 && errno == EINTR)
            ;
    } else if (h->dir) {
        fprintf(stderr, "xs-harness: kept %s\n", h->dir);
    }
    free(h->sock_path);
    free(h->dir);
    free(h);
    return rc;
}

/* ---- domains ---- */

static int check_domid(unsigned int domid)
{
    return domid == 0 || domid >= DOMID_FIRST_RESERVED ? EINVAL : 0;
}

static int is_introduced(xs_harness *h, unsigned int domid, int *yes)
{
    char arg[16], *reply = NULL;
    int rc;

    snprintf(arg, sizeof(arg), "%u", domid);
    rc = rpc2(h->ctl, XS_IS_DOMAIN_INTRODUCED, arg, NULL, 0, &reply, NULL);
    if (!rc)
        *yes = reply[0] == 'T';
    free(reply);
    return rc;
}

int xsh_domain_add(xs_harness *h, unsigned int domid)
{
    char name[32];
    int rc = check_domid(domid);

    if (rc)
        return rc;
    snprintf(name, sizeof(name), "dom%u.alive", domid);
    return write_file(h->dir, name, NULL, 0);
}

int xsh_domain_create(xs_harness *h, unsigned int domid, xsh_guest **out)
{
    char path[PATH_MAX], arg[64];
    xsh_guest *g = NULL;
    int fd = -1, rc, yes = 0, len;
    void *p;

    rc = xsh_domain_add(h, domid);
    if (rc)
        goto out;
    /* Introducing twice only rebinds the port: xenstored keeps its ring. */
    rc = is_introduced(h, domid, &yes);
    if (!rc && yes)
        rc = EEXIST;
    if (rc)
        goto out;
    g = guest_alloc(domid);
    if (!g) {
        rc = ENOMEM;
        goto out;
    }
    g->port = XSH_PORT_BASE + domid;
    /* A fresh page: a closed guest of an earlier life keeps the old one. */
    snprintf(path, sizeof(path), XSH_FMT_RING, h->dir, domid);
    unlink(path);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, PAGE)) {
        rc = errno;
        goto out;
    }
    p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = errno;
        goto out;
    }
    g->intf = p;
    snprintf(path, sizeof(path), XSH_FMT_EVT, h->dir, domid);
    if (mkfifo(path, 0600) && errno != EEXIST) {
        rc = errno;
        goto out;
    }
    g->evt_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    g->kick_fd = fcntl(h->kick_fd, F_DUPFD_CLOEXEC, 0);
    if (g->evt_fd < 0 || g->kick_fd < 0) {
        rc = errno;
        goto out;
    }
    /* domid, gfn (xenstored ignores it), remote port */
    len = snprintf(arg, sizeof(arg), "%u%c0%c%u", domid, 0, 0, g->port);
    rc = rpc(h->ctl, XS_INTRODUCE, arg, (size_t)len + 1, NULL, NULL);
    if (rc)
        goto out;
    if (out) {
        *out = g;
        g = NULL;
    }
out:
    if (fd >= 0)
        close(fd);
    xsh_guest_close(g);
    return rc;
}

int xsh_domain_kill(xs_harness *h, unsigned int domid)
{
    int64_t deadline = now_ms() + XSH_TIMEOUT_MS;
    char path[PATH_MAX];
    int rc, yes;

    rc = check_domid(domid);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), XSH_FMT_ALIVE, h->dir, domid);
    if (unlink(path) && errno != ENOENT)
        return errno;
    kick(h->kick_fd, XSH_VIRQ_PORT);
    /* xenstored takes one port off the FIFO per loop, and guest kicks may
     * be queued ahead of the VIRQ: ask until it has forgotten the domain. */
    for (;;) {
        rc = is_introduced(h, domid, &yes);
        if (rc || !yes)
            return rc;
        if (now_ms() > deadline)
            return ETIMEDOUT;
        sleep_ms(10);
    }
}
