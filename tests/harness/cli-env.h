/*
 * Shared by the xenvf CLI's integration tests (test_cli_*.c): a machine
 * made of Debian's real xenstored (xs-harness), a fake sysfs tree with
 * three SR-IOV PFs (fakesysfs) and a VF map in a private directory, and
 * helpers to run the CLI binary as a child and look at what it did.
 *
 * The machine, as the fixture builds it:
 *
 *   0000:00:1f.0  a plain function (no SR-IOV)
 *   0000:01:00.0  nvme,      TotalVFs 4, NumVFs 2 (VFs 01:00.1, 01:00.2)
 *   0000:02:00.0  ixgbe,     TotalVFs 8, NumVFs 0
 *   0000:03:00.0  mlx5_core, TotalVFs 16, not in the map
 *
 *   map: nvme0 = 01:00.0 numvfs 2, vf 0 -> web1 (function nvme, boot 1)
 *        net0  = 02:00.0 numvfs 4, vf 1 -> web1 (mac, vlan 10)
 *   xenstore: nvme0 published, state ready, vf 0 active in domain 5
 *             (named web1), vf 1 free; net0 not published.
 *
 * Tests that bring their own machine (test_cli_daemon.c runs the CLI
 * against the real xenvfd's, daemon-env.h) use the runner alone and point
 * cli_map, cli_sysfs and cli_sock at their machine.
 */
#ifndef XENVF_TEST_CLI_ENV_H
#define XENVF_TEST_CLI_ENV_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>
#include <yajl/yajl_tree.h>

#include <xenvf/map.h>
#include <xenvf/xs.h>

#include "fakesysfs.h"
#include "xs-harness.h"

#define UNUSED         __attribute__((unused))
#define CLI_TIMEOUT_MS 20000

/* What the CLI is pointed at (--map, --sysfs, --socket). */
extern const char *cli_map, *cli_sysfs, *cli_sock;
/* The fixture's map, as cli_setup() writes it. */
extern const char fixture_map[];

/* The fixture's machine (cli_setup / cli_teardown). */
extern xs_harness *cli_hs;
extern xenvf_xs cli_xs;
extern fakesysfs *cli_fs;
extern char cli_dir[PATH_MAX - 64];
extern char cli_map_path[PATH_MAX];
extern char cli_sock_path[PATH_MAX];

/* ---- files ------------------------------------------------------------ */

void write_file(const char *path, const char *text);

/* The whole file, NUL-terminated; NULL if it does not exist. */
char *read_file(const char *path);

/* ---- the machine ------------------------------------------------------ */

void enable_vfs(const char *bdf, const char *n);

void make_sysfs(void);

/* nvme0 as the TCB publishes it; vf1_domid XENVF_DOMID_NONE: vf 1 free. */
void publish_nvme0(uint32_t vf1_domid);

void xs_put(const char *path, const char *value);

void cli_setup(void);

void cli_teardown(void);

/* ---- running the CLI -------------------------------------------------- */

typedef struct cli_run {
    int status; /* exit status; 128 + signal if killed */
    char *out, *err;
} cli_run;

void cli_run_free(cli_run *r);

const char *cli_path(void);

/* argv for the CLI: the global options naming the fixture, then args. */
char **cli_argv(const char *first, va_list ap);

/* Start the CLI with pipes on stdout and stderr. */
pid_t cli_spawn_v(int *out_fd, int *err_fd, const char *first, va_list ap);

pid_t cli_spawn_(int *out_fd, int *err_fd, const char *first, ...);

int64_t now_ms(void);

/* Read both pipes to EOF, then reap: the result of a finished run. */
void cli_collect(pid_t pid, int out_fd, int err_fd, cli_run *r);

/* Run the CLI to completion. */
void cli_(cli_run *r, const char *first, ...);

/* cli(&r, "list", "--json"): the arguments, without a terminating NULL. */
#define cli(r, ...)          cli_(r, __VA_ARGS__, (const char *)NULL)
#define cli_spawn(o, e, ...) cli_spawn_(o, e, __VA_ARGS__, (const char *)NULL)

/* Assert the exit status, showing what the CLI said when it is wrong. */
#define ck_cli_status(r, want)                                                 \
    ck_assert_msg((r)->status == (want),                                       \
                  "exit %d, wanted %d\nstdout:\n%s\nstderr:\n%s", (r)->status, \
                  (want), (r)->out, (r)->err)

#define ck_contains(hay, needle)                                               \
    ck_assert_msg(strstr((hay), (needle)), "'%s' not in:\n%s", (needle), (hay))

/* Read a line from fd within timeout_ms; NULL at EOF or timeout. Bytes
 * past the line stay in *pending. */
char *read_line(int fd, char **pending, int timeout_ms);

/* ---- JSON ------------------------------------------------------------- */

yajl_val json_parse(const char *text);

/* The CLI's JSON output text equals tests/data/cli/<name> as JSON (keys in
 * any order); a failure names the first path that differs. XENVF_BLESS=1
 * writes the output there first, for a maintainer to review and commit. */
void ck_json_expected(const char *text, const char *name);

yajl_val json_get(yajl_val obj, const char *key);

/* A string member, asserted to be one. */
const char *json_get_str(yajl_val obj, const char *key);

void json_str_eq(yajl_val obj, const char *key, const char *want);

/* want < 0: null */
void json_int_eq(yajl_val obj, const char *key, long long want);

void json_bool_eq(yajl_val obj, const char *key, bool want);

yajl_val json_index(yajl_val arr, size_t i);

/* ---- a stand-in for xenvfd's socket ----------------------------------- */

typedef enum { TCB_ANSWER, TCB_SILENT } tcb_mode;

typedef struct fake_tcb {
    int fd;
    tcb_mode mode;
    pthread_t thread;
} fake_tcb;

void *fake_tcb_main(void *arg);

/* Listen on cli_sock and answer pings (or never answer). Enough of the
 * protocol for `status`; the real xenvfd is tested in its own tests. */
void fake_tcb_start(fake_tcb *t, tcb_mode mode);

void fake_tcb_stop(fake_tcb *t);

#endif
