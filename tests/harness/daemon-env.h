/*
 * Shared by the xenvfd integration tests: a real xenstored (xs-harness), a
 * fake sysfs tree with two SR-IOV PFs, and the real xenvfd binary run as a
 * child under the fake kernel (fakesysfs-kernel.so), built with the same
 * sanitizer flags as the tests. XENVFD_WRAPPER (e.g. "valgrind -q
 * --error-exitcode=1") runs the daemon under a tool.
 */
#ifndef XENVF_TEST_DAEMON_ENV_H
#define XENVF_TEST_DAEMON_ENV_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenvf/client.h>
#include <xenvf/sysfs.h>
#include <xenvf/xs.h>

#include "fakesysfs.h"
#include "xs-harness.h"

#define PF0    "0000:01:00.0" /* nvme0: 8 VFs at 01:00.1.. */
#define PF1    "0000:02:00.0" /* net0: 8 VFs at 02:00.1.. */
#define PF1_XS "0000-02-00-0" /* as libxl writes it in xenstore paths */

typedef struct denv {
    xs_harness *hs;
    fakesysfs *fs;
    char dir[PATH_MAX];
    char map[PATH_MAX + 16], state[PATH_MAX + 16], sock[PATH_MAX + 16],
        log[PATH_MAX + 16];
    pid_t pid;
    xenvf_xs xs;
} denv;

/* The machine of this test process; E.xs is dom0's connection. */
extern denv E;

void sleep_ms(unsigned ms);

void denv_write_map(const char *body);

void denv_setup(void);

void denv_print_log(void);

/* Start xenvfd in role (tcb, both, ...) under $XENVFD_WRAPPER if set;
 * fault: XENVF_FAULT value or NULL. */
void denv_start_role(const char *role, const char *fault);

/* Start xenvfd with both roles; fault: XENVF_FAULT value or NULL. */
void denv_start(const char *fault);

/* 0 when the daemon answers ping; else its wait status (it died). */
int denv_wait_ready(void);

void denv_start_ready(void);

/* SIGTERM and reap; returns the exit status (0 is a clean stop). */
int denv_stop(void);

void denv_kill9(void);

void denv_teardown(void);

/* A xenstore node's value, "" when missing (malloc'ed). */
char *xs_get(const char *path);

/* Wait (bounded) until a node reads value. */
bool xs_wait(const char *path, const char *value, int ms);

#define ASSERT_XS(path, value)                                                 \
    do {                                                                       \
        if (!xs_wait(path, value, 5000)) {                                     \
            char *v_ = xs_get(path);                                           \
            denv_print_log();                                                  \
            ck_abort_msg("%s is '%s', want '%s'", path, v_, value);            \
        }                                                                      \
    } while (0)

unsigned sysfs_uint(const char *bdf, const char *attr);

char *sysfs_driver(const char *bdf);

bool log_has(const char *needle);

bool log_wait(const char *needle, int ms);

/* One request on a fresh connection (or on c when given). */
int call(xenvf_client *c, xenvf_request *req, xenvf_response *resp);

void req_reserve(xenvf_request *req, const char *domain, const char *pf,
                 int index);

void req_add(xenvf_request *req, const char *pf, int index);

void req_commit(xenvf_request *req, const char *domain, uint32_t domid);

/* A domain as libxl makes it: exists, introduced, named. */
void make_domain(unsigned domid, const char *name);

unsigned resets(const char *bdf);

/* inode of a device's directory: a re-created VF gets a new one */
ino_t dev_ino(const char *bdf);

#define MAP_PF0(numvfs, vfs)                                                   \
    "  <pf id=\"nvme0\" address=\"" PF0 "\" numvfs=\"" #numvfs "\">" vfs       \
    "</pf>\n"
#define MAP_PF1(numvfs, vfs)                                                   \
    "  <pf id=\"net0\" address=\"" PF1 "\" numvfs=\"" #numvfs "\">" vfs        \
    "</pf>\n"
/* net0 with its driver in domain `owner` (a name, or a domid) */
#define MAP_PF1_OWNER(numvfs, owner, vfs)                                      \
    "  <pf id=\"net0\" address=\"" PF1 "\" numvfs=\"" #numvfs                  \
    "\" owner=\"" owner "\">" vfs "</pf>\n"

#endif
