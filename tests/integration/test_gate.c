/*
 * The unpause gate (libxl-plugin/gate.c) against Debian's real xenstored:
 * a PF ready before the wait, after it, never (timeout), failed while
 * waiting; two domains waiting on one PF; watches that fire for nodes the
 * gate does not care about; several PFs; cancel. The "PF agent" is a
 * thread (or process) with its own xenstore connection that writes the
 * state while the gate sleeps in poll(2).
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include <xenvf/file.h>
#include <xenvf/xs.h>

#include "../../libxl-plugin/gate.h"
#include "../../libxl-plugin/log.h"
#include "../harness/xs-harness.h"
#include "../harness/check-main.h"

static xs_harness *hs;
static xenvf_xs xs;
static xenvf_err err;
static char logbuf[8192];

static void capture(void *opaque, xenvf_log_level level, const char *func,
                    const char *msg)
{
    size_t n = strlen(logbuf);

    snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static void publish(const char *id, const char *state)
{
    xenvf_pf pf;
    xenvf_pf_state s;

    xenvf_pf_init(&pf);
    ck_assert_int_eq(xenvf_pf_set_id(&pf, id, NULL), 0);
    pf.bdf = (xenvf_bdf){.bus = 1};
    pf.total_vfs = 4;
    ck_assert_msg(!xenvf_xs_publish_pf(&xs, &pf, NULL, &err), "%s", err.msg);
    ck_assert_int_eq(xenvf_pf_state_parse(state, &s, NULL), 0);
    ck_assert_int_eq(xenvf_xs_set_pf_state(&xs, id, s, NULL), 0);
    xenvf_pf_dispose(&pf);
}

static void setup(void)
{
    ck_assert_int_eq(xsh_start(&hs), 0);
    xenvf_err_init(&err);
    ck_assert_msg(!xenvf_xs_open(&xs, &err), "%s", err.msg);
    ck_assert_msg(!xenvf_xs_setup_root(&xs, &err), "%s", err.msg);
    publish("nvme0", "probing");
    publish("net0", "probing");
    logbuf[0] = '\0';
    xenvf_log_set_sink(capture, NULL);
}

static void teardown(void)
{
    xenvf_log_set_sink(NULL, NULL);
    xenvf_xs_dispose(&xs);
    xsh_stop(hs);
    hs = NULL;
}

/* ---- the PF agent: a thread writing states on its own connection ------- */

struct step {
    int delay_ms;
    const char *path;  /* NULL: write to the cancel pipe */
    const char *value; /* NULL: remove the node */
};

static struct agent {
    pthread_t thread;
    bool started;
    const struct step *steps;
    size_t nr;
    int cancel_fd;
    int64_t last_write_ms;
} agent;

static void *agent_main(void *arg)
{
    struct agent *a = arg;
    struct xs_handle *h = xs_open(0);

    for (size_t i = 0; h && i < a->nr; i++) {
        const struct step *s = &a->steps[i];

        usleep((useconds_t)s->delay_ms * 1000);
        a->last_write_ms = xenvf_now_ms();
        if (!s->path) {
            if (write(a->cancel_fd, "c", 1) != 1)
                break;
        } else if (s->value) {
            xs_write(h, XBT_NULL, s->path, s->value, strlen(s->value));
        } else {
            xs_rm(h, XBT_NULL, s->path);
        }
    }
    if (h)
        xs_close(h);
    return NULL;
}

static unsigned nr_waiting, nr_ready;
static size_t ready_last;

/* The gate is in place: now the agent may act. */
static void on_waiting(void *opaque, const gate_plan *p)
{
    nr_waiting++;
    if (agent.nr && !agent.started) {
        ck_assert_int_eq(
            pthread_create(&agent.thread, NULL, agent_main, &agent), 0);
        agent.started = true;
    }
}

static int on_ready(void *opaque, const gate_plan *p, size_t last, xenvf_err *e)
{
    nr_ready++;
    ready_last = last;
    return 0;
}

static const gate_hooks hooks = {.waiting = on_waiting, .ready = on_ready};
static int cancel_write_fd = -1; /* the agent's end of the cancel pipe */

/* Run the gate on `pfs` (timeouts in ms) with the agent doing `steps`. */
static int run_gate(gate_plan *p, const char *const *pfs, const int *timeouts,
                    size_t nr_pfs, const struct step *steps, size_t nr_steps,
                    int cancel_fd)
{
    int rc;

    gate_plan_init(p);
    p->domid = 7;
    for (size_t i = 0; i < nr_pfs; i++)
        ck_assert_int_eq(gate_plan_add(p, pfs[i], timeouts[i], NULL), 0);
    agent = (struct agent){
        .steps = steps, .nr = nr_steps, .cancel_fd = cancel_write_fd};
    nr_waiting = nr_ready = 0;
    xenvf_err_init(&err);
    rc = gate_wait(&xs, p, cancel_fd, &hooks, &err);
    if (agent.started)
        pthread_join(agent.thread, NULL);
    return rc;
}

#define NVME0_STATE "/xenvf/pf/nvme0/state"
#define NET0_STATE  "/xenvf/pf/net0/state"

static const char *const one_pf[] = {"nvme0"};
static const int no_limit[] = {-1, -1};

START_TEST(ready_before_the_wait)
{
    gate_plan p;

    ck_assert_int_eq(xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_READY, NULL),
                     0);
    ck_assert_int_eq(run_gate(&p, one_pf, no_limit, 1, NULL, 0, -1), 0);
    ck_assert_uint_eq(nr_waiting, 0); /* never slept */
    ck_assert_uint_eq(nr_ready, 1);
    ck_assert_int_lt(p.elapsed_ms, 1000);
    ck_assert_ptr_null(strstr(logbuf, "waiting for"));
    gate_plan_dispose(&p);
}
END_TEST

START_TEST(ready_after_the_wait_began)
{
    const struct step steps[] = {{100, NVME0_STATE, "ready"}};
    gate_plan p;

    ck_assert_int_eq(run_gate(&p, one_pf, no_limit, 1, steps, 1, -1), 0);
    ck_assert_uint_eq(nr_waiting, 1);
    ck_assert_uint_eq(nr_ready, 1);
    ck_assert_int_ge(p.elapsed_ms, 100);
    ck_assert_int_lt(p.elapsed_ms, 2000);
    ck_assert_int_eq(p.pfs[0].state, XENVF_PF_READY);
    ck_assert_ptr_nonnull(strstr(logbuf, "waiting for PF nvme0 (state "
                                         "probing)"));
    gate_plan_dispose(&p);
}
END_TEST

START_TEST(never_ready_times_out)
{
    const int limit[] = {300};
    gate_plan p;

    ck_assert_int_eq(run_gate(&p, one_pf, limit, 1, NULL, 0, -1),
                     XENVF_ETIMEDOUT);
    ck_assert_str_eq(err.msg, "PF nvme0 not ready after 0.300 s (last state: "
                              "probing)");
    ck_assert_int_ge(p.elapsed_ms, 299);
    ck_assert_int_lt(p.elapsed_ms, 2000);
    ck_assert_uint_eq(p.culprit, 0);
    ck_assert_uint_eq(nr_ready, 0);
    gate_plan_dispose(&p);
}
END_TEST

START_TEST(zero_timeout_means_ready_now)
{
    const int zero[] = {0};
    gate_plan p;

    ck_assert_int_eq(run_gate(&p, one_pf, zero, 1, NULL, 0, -1),
                     XENVF_ETIMEDOUT);
    gate_plan_dispose(&p);
    ck_assert_int_eq(xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_READY, NULL),
                     0);
    ck_assert_int_eq(run_gate(&p, one_pf, zero, 1, NULL, 0, -1), 0);
    gate_plan_dispose(&p);
}
END_TEST

START_TEST(failed_while_waiting)
{
    const struct step steps[] = {{50, NVME0_STATE, "failed"}};
    gate_plan p;

    ck_assert_int_eq(run_gate(&p, one_pf, no_limit, 1, steps, 1, -1),
                     XENVF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "PF nvme0 failed after"));
    ck_assert_int_eq(p.pfs[0].state, XENVF_PF_FAILED);
    ck_assert_uint_eq(nr_ready, 0);
    gate_plan_dispose(&p);
}
END_TEST

/* Things that wake the gate but must not release it. */
START_TEST(unrelated_watch_events)
{
    const struct step steps[] = {
        {20, "/xenvf/pf/nvme0/numvfs", "4"}, /* not watched */
        {20, NVME0_STATE, "probing"},        /* fires, same state */
        {20, NVME0_STATE "/extra", "x"},     /* fires: a child node */
        {20, NET0_STATE, "ready"},           /* a PF not in the plan */
        {20, "/test/other", "1"},            /* another token */
        {20, NVME0_STATE, "garbage!"},       /* a buggy agent */
        {20, NVME0_STATE, "degraded"},       /* not ready either */
        {60, NVME0_STATE, "ready"},
    };
    gate_plan p;

    /* someone else's watch on the same connection */
    ck_assert_int_eq(xenvf_xs_watch(&xs, "/test/other", "someone-else", NULL),
                     0);
    ck_assert_int_eq(run_gate(&p, one_pf, no_limit, 1, steps,
                              sizeof(steps) / sizeof(steps[0]), -1),
                     0);
    /* released by the last write, not before */
    ck_assert_int_ge(xenvf_now_ms(), agent.last_write_ms);
    ck_assert_int_ge(p.elapsed_ms, 200);
    ck_assert_uint_eq(nr_ready, 1);
    ck_assert_ptr_nonnull(strstr(logbuf, "treating it as unknown"));
    gate_plan_dispose(&p);
}
END_TEST

START_TEST(its_watches_are_gone_afterwards)
{
    char *path = NULL, *token = NULL;
    gate_plan p;

    ck_assert_int_eq(xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_READY, NULL),
                     0);
    ck_assert_int_eq(run_gate(&p, one_pf, no_limit, 1, NULL, 0, -1), 0);
    gate_plan_dispose(&p);
    /* drain anything queued, then a change must not wake anyone */
    while (!xenvf_xs_wait_event(&xs, 0, &path, &token, NULL)) {
        free(path);
        free(token);
    }
    ck_assert_int_eq(
        xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_PROBING, NULL), 0);
    ck_assert_int_eq(xenvf_xs_wait_event(&xs, 200, &path, &token, NULL),
                     XENVF_ETIMEDOUT);
}
END_TEST

START_TEST(several_pfs_all_at_once)
{
    const char *const pfs[] = {"nvme0", "net0"};
    const struct step steps[] = {
        {30, NET0_STATE, "ready"},
        {30, NET0_STATE, "resetting"}, /* ready, then not again */
        {30, NVME0_STATE, "ready"},    /* one ready is not enough */
        {80, NET0_STATE, "ready"},     /* now both */
    };
    gate_plan p;

    ck_assert_int_eq(run_gate(&p, pfs, no_limit, 2, steps, 4, -1), 0);
    ck_assert_uint_eq(nr_ready, 1);
    ck_assert_uint_eq(ready_last, 1); /* net0 completed the set */
    ck_assert_int_ge(p.elapsed_ms, 170);
    ck_assert_ptr_nonnull(strstr(logbuf, "PF net0 ready after"));
    gate_plan_dispose(&p);
}
END_TEST

START_TEST(each_pf_its_own_timeout)
{
    const char *const pfs[] = {"net0", "nvme0"};
    const int limits[] = {-1, 200};
    const struct step steps[] = {{10, NET0_STATE, "ready"}};
    gate_plan p;

    ck_assert_int_eq(run_gate(&p, pfs, limits, 2, steps, 1, -1),
                     XENVF_ETIMEDOUT);
    ck_assert_uint_eq(p.culprit, 1);
    ck_assert_ptr_nonnull(strstr(err.msg, "PF nvme0 not ready after 0.200 s"));
    gate_plan_dispose(&p);
}
END_TEST

START_TEST(cancelled)
{
    const struct step steps[] = {{50, NULL, NULL}};
    int fds[2];
    gate_plan p;

    ck_assert_int_eq(pipe(fds), 0);
    cancel_write_fd = fds[1];
    ck_assert_int_eq(run_gate(&p, one_pf, no_limit, 1, steps, 1, fds[0]),
                     XENVF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "interrupted after"));
    ck_assert_ptr_nonnull(strstr(err.msg, "PF nvme0 (last state: probing)"));
    close(fds[0]);
    close(fds[1]);
    gate_plan_dispose(&p);
}
END_TEST

START_TEST(a_pf_that_does_not_exist_yet)
{
    const char *const pfs[] = {"nvme9"};
    const struct step steps[] = {{50, "/xenvf/pf/nvme9/state", "ready"}};
    gate_plan p;

    ck_assert_int_eq(run_gate(&p, pfs, no_limit, 1, steps, 1, -1), 0);
    gate_plan_dispose(&p);
}
END_TEST

/* In a child: tell the parent through the fd in opaque that the gate is
 * in place. */
static void tell_parent(void *opaque, const gate_plan *p)
{
    if (write(*(const int *)opaque, "w", 1) != 1)
        _exit(4);
}

/* One domain's xl: its own xenstore connection, its own gate. */
static void child_gate(uint32_t domid, int ready_fd, int result_fd)
{
    const gate_hooks h = {.waiting = tell_parent, .opaque = &ready_fd};
    xenvf_xs mine;
    gate_plan p;
    int rc;

    gate_plan_init(&p);
    p.domid = domid;
    if (xenvf_xs_open(&mine, NULL) || gate_plan_add(&p, "nvme0", 5000, NULL))
        _exit(2);
    rc = gate_wait(&mine, &p, -1, &h, NULL);
    if (write(result_fd, rc ? "F" : "R", 1) != 1)
        _exit(3);
    _exit(rc ? 1 : 0);
}

/* Two domains (two xl processes) waiting on one PF: one write releases
 * both. */
START_TEST(two_domains_one_pf)
{
    int ready_pipe[2], result_pipe[2];
    pid_t kids[2];
    char c;

    ck_assert_int_eq(pipe(ready_pipe), 0);
    ck_assert_int_eq(pipe(result_pipe), 0);
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0)
            child_gate(10 + (uint32_t)k, ready_pipe[1], result_pipe[1]);
    }
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(read(ready_pipe[0], &c, 1), 1);
    ck_assert_int_eq(xenvf_xs_set_pf_state(&xs, "nvme0", XENVF_PF_READY, NULL),
                     0);
    for (int k = 0; k < 2; k++) {
        int status;

        ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        ck_assert_int_eq(read(result_pipe[0], &c, 1), 1);
        ck_assert_int_eq(c, 'R');
    }
    close(ready_pipe[0]);
    close(ready_pipe[1]);
    close(result_pipe[0]);
    close(result_pipe[1]);
}
END_TEST

static Suite *gate_suite(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("xenstored");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ready_before_the_wait);
    tcase_add_test(tc, ready_after_the_wait_began);
    tcase_add_test(tc, never_ready_times_out);
    tcase_add_test(tc, zero_timeout_means_ready_now);
    tcase_add_test(tc, failed_while_waiting);
    tcase_add_test(tc, unrelated_watch_events);
    tcase_add_test(tc, its_watches_are_gone_afterwards);
    tcase_add_test(tc, several_pfs_all_at_once);
    tcase_add_test(tc, each_pf_its_own_timeout);
    tcase_add_test(tc, cancelled);
    tcase_add_test(tc, a_pf_that_does_not_exist_yet);
    tcase_add_test(tc, two_domains_one_pf);
    suite_add_tcase(s, tc);
    return s;
}

XENVF_CHECK_MAIN(gate_suite)
