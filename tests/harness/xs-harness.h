/*
 * xs-harness: run Debian's real C xenstored (4.17) without a hypervisor and
 * play guest domains on its shared-memory rings. See
 * docs/testing-xenstored.md.
 *
 * xsh_start() forks $XENSTORED (default /usr/lib/xen-4.17/bin/xenstored)
 * with LD_PRELOAD=$XENVF_XS_SHIM (tests/harness/xs-shim.so) in a private
 * directory under $TMPDIR, and points XENSTORED_PATH of this process at its
 * socket, so xs_open(0) from libxenstore is dom0 (socket clients are always
 * privileged). xsh_domain_create() makes domain N exist, gives it a ring page
 * and an event channel and introduces it (XS_INTRODUCE); the returned guest
 * speaks the xs_wire protocol on that ring, so every permission check is
 * xenstored's own.
 *
 * Every int-returning call returns 0 or a positive errno value: the one
 * xenstored sent in XS_ERROR (EACCES, ENOENT, EAGAIN, ...), or a harness
 * failure (ETIMEDOUT when xenstored did not answer within XSH_TIMEOUT_MS,
 * EPROTO for a malformed reply, EIO for a broken ring or socket).
 *
 * Strings handed out (values, paths, tokens, directory lists) are malloc'd
 * and freed by the caller with free(). Nothing here is thread-safe: use one
 * harness and its guests from one thread. Harnesses may be started and
 * stopped any number of times in one process, one after another or several
 * at once (the most recent xsh_start() owns XENSTORED_PATH).
 *
 * Cleanup: xsh_stop() kills xenstored and removes the directory. If the
 * test process ends without it (a failed Check assertion in fork mode is an
 * _exit, a timeout a SIGKILL), xenstored gets SIGKILL (PR_SET_PDEATHSIG:
 * call xsh_start from a thread that outlives the harness) and a small
 * sweeper child removes the directory. Set XSH_KEEP=1 to keep the
 * directory (trace.log, xenstored.log) for debugging.
 */
#ifndef XENVF_XS_HARNESS_H
#define XENVF_XS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct xs_harness xs_harness;
typedef struct xsh_guest xsh_guest;

/* Bound on every wait for xenstored: startup, each request, domain kill. */
#define XSH_TIMEOUT_MS 5000

/* Start xenstored; *out on success. On failure, says why on stderr with the
 * tail of xenstored's output. */
int xsh_start(xs_harness **out);
/* The private directory (xenstored's XENSTORED_RUNDIR). */
const char *xsh_dir(xs_harness *h);
/* The unix socket path (what XENSTORED_PATH was set to). */
const char *xsh_socket(xs_harness *h);
pid_t xsh_pid(xs_harness *h);
/* Kill xenstored, reap it, remove the directory, free h; NULL is a no-op.
 * Returns ECHILD (and prints its output's tail) if xenstored had already
 * died, else 0. Guests may be closed before or after. */
int xsh_stop(xs_harness *h);

/* Make domain domid (1..0x7fef) exist for the shim without introducing it:
 * xenstored honours permissions only for domains that exist (others are
 * marked ignored), as libxl writes a domain's nodes before XS_INTRODUCE. */
int xsh_domain_add(xs_harness *h, unsigned int domid);
/* xsh_domain_add, a fresh ring page and event channel, then XS_INTRODUCE
 * from dom0's socket connection. *out (may be NULL) is the guest's client;
 * close it with xsh_guest_close. Note xenstored does not create
 * /local/domain/<domid>: that is the toolstack's job, as in real life. */
int xsh_domain_create(xs_harness *h, unsigned int domid, xsh_guest **out);
/* The domain is gone for the shim, and VIRQ_DOM_EXC fires: xenstored drops
 * the connection, deletes the nodes the domain owns and fires
 * @releaseDomain. Returns once xenstored has forgotten the domain. The
 * guest's requests then time out. */
int xsh_domain_kill(xs_harness *h, unsigned int domid);

unsigned int xsh_guest_domid(xsh_guest *g);
/* Paths may be relative to /local/domain/<domid>, as for any guest. */
int xsh_guest_read(xsh_guest *g, const char *path, char **value_out);
int xsh_guest_write(xsh_guest *g, const char *path, const char *value);
int xsh_guest_mkdir(xsh_guest *g, const char *path);
int xsh_guest_rm(xsh_guest *g, const char *path);
/* *entries_out is one allocation (array then strings): free() it once. */
int xsh_guest_directory(xsh_guest *g, const char *path, char ***entries_out,
                        unsigned int *num_out);
/* Permissions as xenstore spells them, comma-separated: "n5,r0" is owner 5,
 * others none, dom0 read (b: both, w: write). */
int xsh_guest_get_perms(xsh_guest *g, const char *path, char **perms_out);
int xsh_guest_set_perms(xsh_guest *g, const char *path, const char *perms);
/* xenstored fires each new watch once straight away: read that event. */
int xsh_guest_watch(xsh_guest *g, const char *path, const char *token);
int xsh_guest_unwatch(xsh_guest *g, const char *path, const char *token);
/* Next watch event (queued ones first); ETIMEDOUT after timeout_ms. */
int xsh_guest_read_watch(xsh_guest *g, int timeout_ms, char **path_out,
                         char **token_out);
/* Requests between start and end run in the transaction. end returns EAGAIN
 * when xenstored aborted it for a conflict. */
int xsh_guest_transaction_start(xsh_guest *g);
int xsh_guest_transaction_end(xsh_guest *g, int commit);
/* Any request, raw (type is enum xsd_sockmsg_type): payload as sent, reply
 * payload NUL-terminated in *reply_out (may be NULL), its length without
 * that NUL in *reply_len (may be NULL). */
int xsh_guest_request(xsh_guest *g, uint32_t type, const void *payload,
                      size_t len, char **reply_out, size_t *reply_len);
/* Unmaps the ring and closes the event channel; xenstored is not told. */
void xsh_guest_close(xsh_guest *g);

/*
 * Shared with xs-shim.c: the files in xsh_dir() through which xenstored (via
 * the shim) and this process stand in for the hypervisor.
 */
#define XSH_FILE_EVTCHN "evtchn"        /* FIFO into xenstored: 4-byte ports */
#define XSH_FILE_LOG    "xenstored.log" /* its stdout and stderr */
#define XSH_FILE_TRACE  "trace.log"     /* its -T trace */
#define XSH_FILE_SOCKET "socket"
/* /proc/xen/<name> opened by xenstored is <dir>/<name> */
#define XSH_PROC_XEN "/proc/xen/"
/* Per domain: ring page, FIFO out of xenstored (a byte per notify), and
 * the marker that the domain exists (dom0 always does). */
#define XSH_FMT_RING  "%s/dom%u.ring"
#define XSH_FMT_EVT   "%s/dom%u.evt"
#define XSH_FMT_ALIVE "%s/dom%u.alive"
/* Local event channel ports inside xenstored. */
#define XSH_VIRQ_PORT 1u  /* VIRQ_DOM_EXC */
#define XSH_PORT_BASE 16u /* domain N is bound to XSH_PORT_BASE + N */

#endif /* XENVF_XS_HARNESS_H */
