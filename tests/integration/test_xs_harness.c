/*
 * The xenstored harness against Debian's real xenstored: dom0 through
 * libxenstore on the socket, guests on their rings, xenstored's own
 * permission checks, watches, transactions and domain death.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include "../harness/xs-harness.h"
#include "../harness/check-main.h"

static xs_harness *h;
static struct xs_handle *xs; /* dom0 */

static void setup(void)
{
    ck_assert_int_eq(xsh_start(&h), 0);
    xs = xs_open(0);
    ck_assert_ptr_nonnull(xs);
}

static void teardown(void)
{
    xs_close(xs);
    xs = NULL;
    /* ECHILD: xenstored died during the test. */
    ck_assert_int_eq(xsh_stop(h), 0);
    h = NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dom0_write(const char *path, const char *value)
{
    ck_assert_msg(xs_write(xs, XBT_NULL, path, value, strlen(value)),
                  "dom0 write %s: %s", path, strerror(errno));
}

/* perms as the harness spells them: "n5,r0" */
static void dom0_set_perms(const char *path, const char *perms)
{
    struct xs_permissions p[8];
    char buf[64];
    unsigned int n = 1;
    char *c;

    ck_assert_uint_lt(strlen(perms), sizeof(buf));
    strcpy(buf, perms);
    for (c = buf; *c; c++)
        if (*c == ',') {
            *c = '\0';
            n++;
        }
    ck_assert(xs_strings_to_perms(p, n, buf));
    ck_assert_msg(xs_set_permissions(xs, XBT_NULL, path, p, n),
                  "dom0 set perms %s: %s", path, strerror(errno));
}

/* What libxl does for a new domain: its home, owned by it. */
static void dom0_make_home(unsigned int domid)
{
    char path[64], perms[16];

    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    snprintf(perms, sizeof(perms), "n%u,r0", domid);
    ck_assert(xs_mkdir(xs, XBT_NULL, path));
    dom0_set_perms(path, perms);
}

static void dom0_watch(const char *path, const char *token)
{
    ck_assert(xs_watch(xs, path, token));
}

/* Wait for the dom0 watch event (path, token); others are skipped. */
static int dom0_wait_event(const char *path, const char *token)
{
    struct pollfd pfd = {.fd = xs_fileno(xs), .events = POLLIN};
    int64_t deadline = now_ms() + XSH_TIMEOUT_MS, left;
    char **v;
    int match;

    for (;;) {
        while ((v = xs_check_watch(xs))) {
            match = !strcmp(v[XS_WATCH_PATH], path) &&
                    !strcmp(v[XS_WATCH_TOKEN], token);
            free(v);
            if (match)
                return 1;
        }
        left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return 0;
    }
}

/* The guest's next watch event must be (path, token). */
static void guest_expect_event(xsh_guest *g, const char *path,
                               const char *token)
{
    char *p = NULL, *t = NULL;

    ck_assert_int_eq(xsh_guest_read_watch(g, XSH_TIMEOUT_MS, &p, &t), 0);
    ck_assert_str_eq(p, path);
    ck_assert_str_eq(t, token);
    free(p);
    free(t);
}

static void guest_expect_value(xsh_guest *g, const char *path,
                               const char *value)
{
    char *v = NULL;

    ck_assert_int_eq(xsh_guest_read(g, path, &v), 0);
    ck_assert_str_eq(v, value);
    free(v);
}

static void dom0_expect_value(const char *path, const char *value)
{
    unsigned int len;
    char *v = xs_read(xs, XBT_NULL, path, &len);

    ck_assert_msg(v, "dom0 read %s: %s", path, strerror(errno));
    ck_assert_str_eq(v, value);
    free(v);
}

static void dom0_expect_enoent(const char *path)
{
    unsigned int len;
    char *v = xs_read(xs, XBT_NULL, path, &len);

    ck_assert_ptr_null(v);
    ck_assert_int_eq(errno, ENOENT);
}

START_TEST(test_dom0_write_read)
{
    char *dir = strdup(xsh_dir(h));

    /* xs_open(0) reached our xenstored, not a system one. */
    ck_assert_str_eq(getenv("XENSTORED_PATH"), xsh_socket(h));
    dom0_write("/xenvf/pf/0000-03-00-0/state", "ready");
    dom0_expect_value("/xenvf/pf/0000-03-00-0/state", "ready");
    /* the store starts with /tool/xenstored only */
    dom0_expect_value("/tool/xenstored", "");
    dom0_expect_enoent("/local");
    free(dir);
}
END_TEST

START_TEST(test_introduce)
{
    xsh_guest *g = NULL;
    char *path, **v = NULL;
    unsigned int n;

    dom0_watch("@introduceDomain", "intro");
    ck_assert(dom0_wait_event("@introduceDomain", "intro")); /* at once */
    ck_assert(!xs_is_domain_introduced(xs, 5));
    ck_assert_int_eq(xsh_domain_create(h, 5, &g), 0);
    ck_assert(dom0_wait_event("@introduceDomain", "intro"));
    ck_assert(xs_is_domain_introduced(xs, 5));
    ck_assert_uint_eq(xsh_guest_domid(g), 5);
    path = xs_get_domain_path(xs, 5);
    ck_assert_str_eq(path, "/local/domain/5");
    free(path);
    /* xenstored leaves /local/domain/5 to the toolstack */
    dom0_expect_enoent("/local/domain/5");
    /* the guest talks, and is not privileged: / is dom0's, others none */
    ck_assert_int_eq(xsh_guest_directory(g, "/", &v, &n), EACCES);
    ck_assert_int_eq(xsh_guest_read(g, "/tool/xenstored", &path), EACCES);
    ck_assert_int_eq(xsh_domain_create(h, 5, NULL), EEXIST);
    xsh_guest_close(g);
}
END_TEST

START_TEST(test_guest_reads_granted)
{
    xsh_guest *g = NULL;
    char *v = NULL;

    ck_assert_int_eq(xsh_domain_create(h, 5, &g), 0);
    dom0_write("/xenvf/pf/0000-03-00-0/state", "ready");
    ck_assert_int_eq(xsh_guest_read(g, "/xenvf/pf/0000-03-00-0/state", &v),
                     EACCES);
    dom0_set_perms("/xenvf/pf/0000-03-00-0/state", "n0,r5");
    guest_expect_value(g, "/xenvf/pf/0000-03-00-0/state", "ready");
    ck_assert_int_eq(xsh_guest_get_perms(g, "/xenvf/pf/0000-03-00-0/state", &v),
                     0);
    ck_assert_str_eq(v, "n0,r5");
    free(v);
    /* read is not write */
    ck_assert_int_eq(xsh_guest_write(g, "/xenvf/pf/0000-03-00-0/state", "evil"),
                     EACCES);
    dom0_expect_value("/xenvf/pf/0000-03-00-0/state", "ready");
    /* a missing node reads EACCES unless its parent is readable */
    ck_assert_int_eq(xsh_guest_read(g, "/xenvf/pf/nope", &v), EACCES);
    dom0_make_home(5);
    ck_assert_int_eq(xsh_guest_read(g, "nope", &v), ENOENT);
    xsh_guest_close(g);
}
END_TEST

START_TEST(test_guest_denied)
{
    xsh_guest *g5 = NULL, *g6 = NULL;
    char *v = NULL;

    ck_assert_int_eq(xsh_domain_create(h, 5, &g5), 0);
    ck_assert_int_eq(xsh_domain_create(h, 6, &g6), 0);
    dom0_write("/xenvf/pf/0000-03-00-0/numvfs", "4");
    dom0_set_perms("/xenvf/pf/0000-03-00-0/numvfs", "n0");
    ck_assert_int_eq(xsh_guest_write(g5, "/xenvf/pf/0000-03-00-0/numvfs", "8"),
                     EACCES);
    ck_assert_int_eq(xsh_guest_mkdir(g5, "/xenvf/mine"), EACCES);
    ck_assert_int_eq(xsh_guest_rm(g5, "/xenvf/pf/0000-03-00-0"), EACCES);
    ck_assert_int_eq(
        xsh_guest_set_perms(g5, "/xenvf/pf/0000-03-00-0/numvfs", "b5"), EACCES);
    dom0_expect_value("/xenvf/pf/0000-03-00-0/numvfs", "4");
    /* another guest's node */
    dom0_make_home(6);
    ck_assert_int_eq(xsh_guest_write(g6, "secret", "s6"), 0);
    ck_assert_int_eq(xsh_guest_read(g5, "/local/domain/6/secret", &v), EACCES);
    ck_assert_int_eq(xsh_guest_write(g5, "/local/domain/6/secret", "x"),
                     EACCES);
    guest_expect_value(g6, "/local/domain/6/secret", "s6");
    xsh_guest_close(g5);
    xsh_guest_close(g6);
}
END_TEST

START_TEST(test_guest_writes_own)
{
    xsh_guest *g = NULL;
    char **v = NULL, *perms = NULL;
    unsigned int n;

    ck_assert_int_eq(xsh_domain_create(h, 5, &g), 0);
    ck_assert_int_eq(xsh_guest_write(g, "/local/domain/5/data/x", "1"), EACCES);
    dom0_make_home(5);
    ck_assert_int_eq(xsh_guest_write(g, "/local/domain/5/data/x", "1"), 0);
    /* relative to /local/domain/5 */
    ck_assert_int_eq(xsh_guest_write(g, "data/y", "2"), 0);
    dom0_expect_value("/local/domain/5/data/x", "1");
    dom0_expect_value("/local/domain/5/data/y", "2");
    ck_assert_int_eq(xsh_guest_directory(g, "data", &v, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(!strcmp(v[0], "x") || !strcmp(v[1], "x"));
    ck_assert(!strcmp(v[0], "y") || !strcmp(v[1], "y"));
    ck_assert_ptr_null(v[2]);
    free(v);
    ck_assert_int_eq(xsh_guest_get_perms(g, "data/x", &perms), 0);
    ck_assert_str_eq(perms, "n5,r0");
    free(perms);
    /* the owner may hand it on */
    ck_assert_int_eq(xsh_guest_set_perms(g, "data/x", "n5,r6"), 0);
    ck_assert_int_eq(xsh_guest_get_perms(g, "data/x", &perms), 0);
    ck_assert_str_eq(perms, "n5,r6");
    free(perms);
    ck_assert_int_eq(xsh_guest_rm(g, "data/y"), 0);
    dom0_expect_enoent("/local/domain/5/data/y");
    xsh_guest_close(g);
}
END_TEST

START_TEST(test_dom0_watch_fires_on_guest_write)
{
    xsh_guest *g = NULL;

    ck_assert_int_eq(xsh_domain_create(h, 5, &g), 0);
    dom0_make_home(5);
    dom0_watch("/local/domain/5/out", "w");
    ck_assert(dom0_wait_event("/local/domain/5/out", "w"));
    ck_assert_int_eq(xsh_guest_write(g, "out/v", "42"), 0);
    ck_assert(dom0_wait_event("/local/domain/5/out/v", "w"));
    xsh_guest_close(g);
}
END_TEST

START_TEST(test_guest_watch_fires_on_dom0_write)
{
    xsh_guest *g = NULL;
    char *p = NULL, *t = NULL;

    ck_assert_int_eq(xsh_domain_create(h, 5, &g), 0);
    dom0_make_home(5);
    ck_assert_int_eq(xsh_guest_watch(g, "/local/domain/5/in", "abs"), 0);
    guest_expect_event(g, "/local/domain/5/in", "abs");
    ck_assert_int_eq(xsh_guest_watch(g, "in", "rel"), 0);
    guest_expect_event(g, "in", "rel");
    ck_assert_int_eq(xsh_guest_read_watch(g, 100, &p, &t), ETIMEDOUT);
    dom0_write("/local/domain/5/in/cmd", "go");
    guest_expect_event(g, "/local/domain/5/in/cmd", "abs");
    guest_expect_event(g, "in/cmd", "rel");
    /* no event for what the guest may not read */
    ck_assert_int_eq(xsh_guest_watch(g, "/xenvf", "pf"), 0);
    guest_expect_event(g, "/xenvf", "pf");
    dom0_write("/xenvf/pf/0000-03-00-0/state", "ready");
    ck_assert_int_eq(xsh_guest_read_watch(g, 200, &p, &t), ETIMEDOUT);
    ck_assert_int_eq(xsh_guest_unwatch(g, "in", "rel"), 0);
    dom0_write("/local/domain/5/in/cmd", "again");
    guest_expect_event(g, "/local/domain/5/in/cmd", "abs");
    ck_assert_int_eq(xsh_guest_read_watch(g, 100, &p, &t), ETIMEDOUT);
    xsh_guest_close(g);
}
END_TEST

START_TEST(test_domain_kill)
{
    xsh_guest *g5 = NULL, *g6 = NULL;
    char *v = NULL;

    ck_assert_int_eq(xsh_domain_create(h, 5, &g5), 0);
    ck_assert_int_eq(xsh_domain_create(h, 6, &g6), 0);
    dom0_make_home(5);
    dom0_make_home(6);
    ck_assert_int_eq(xsh_guest_write(g5, "device/vf/0/state", "1"), 0);
    ck_assert_int_eq(xsh_guest_write(g6, "device/vf/0/state", "1"), 0);
    /* a dom0 node granting 5 read access: stays, the grant goes stale */
    dom0_write("/xenvf/pf/0000-03-00-0/state", "ready");
    dom0_set_perms("/xenvf/pf/0000-03-00-0/state", "n0,r5");
    dom0_watch("@releaseDomain", "rel");
    ck_assert(dom0_wait_event("@releaseDomain", "rel")); /* at once */

    ck_assert_int_eq(xsh_domain_kill(h, 5), 0);
    ck_assert(dom0_wait_event("@releaseDomain", "rel"));
    ck_assert(!xs_is_domain_introduced(xs, 5));
    dom0_expect_enoent("/local/domain/5");
    dom0_expect_value("/xenvf/pf/0000-03-00-0/state", "ready");
    /* 6 lives on */
    ck_assert(xs_is_domain_introduced(xs, 6));
    guest_expect_value(g6, "device/vf/0/state", "1");
    dom0_expect_value("/local/domain/6/device/vf/0/state", "1");
    xsh_guest_close(g5);

    /* a new domain 5 does not inherit the old one's grant */
    ck_assert_int_eq(xsh_domain_create(h, 5, &g5), 0);
    ck_assert_int_eq(xsh_guest_read(g5, "/xenvf/pf/0000-03-00-0/state", &v),
                     EACCES);
    dom0_set_perms("/xenvf/pf/0000-03-00-0/state", "n0,r5");
    guest_expect_value(g5, "/xenvf/pf/0000-03-00-0/state", "ready");
    xsh_guest_close(g5);
    xsh_guest_close(g6);
}
END_TEST

START_TEST(test_two_guests)
{
    xsh_guest *g[2] = {NULL, NULL};
    char path[64], value[16], *v = NULL;
    unsigned int i, k;

    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(xsh_domain_create(h, 5 + i, &g[i]), 0);
        dom0_make_home(5 + i);
        ck_assert_int_eq(xsh_guest_watch(g[i], "cmd", "c"), 0);
        guest_expect_event(g[i], "cmd", "c");
    }
    /* interleaved traffic on both rings */
    for (k = 0; k < 20; k++)
        for (i = 0; i < 2; i++) {
            snprintf(path, sizeof(path), "data/%u", k);
            snprintf(value, sizeof(value), "%u-%u", 5 + i, k);
            ck_assert_int_eq(xsh_guest_write(g[i], path, value), 0);
        }
    for (i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/local/domain/%u/data/19", 5 + i);
        snprintf(value, sizeof(value), "%u-19", 5 + i);
        dom0_expect_value(path, value);
        guest_expect_value(g[i], "data/19", value);
    }
    /* each guest sees only its own command */
    dom0_write("/local/domain/6/cmd", "six");
    guest_expect_event(g[1], "cmd", "c");
    dom0_write("/local/domain/5/cmd", "five");
    guest_expect_event(g[0], "cmd", "c");
    guest_expect_value(g[0], "cmd", "five");
    guest_expect_value(g[1], "cmd", "six");
    ck_assert_int_eq(xsh_guest_read(g[0], "/local/domain/6/cmd", &v), EACCES);
    ck_assert_int_eq(xsh_guest_read(g[1], "/local/domain/5/cmd", &v), EACCES);
    xsh_guest_close(g[0]);
    xsh_guest_close(g[1]);
}
END_TEST

START_TEST(test_transactions)
{
    xsh_guest *g = NULL;

    ck_assert_int_eq(xsh_domain_create(h, 5, &g), 0);
    dom0_make_home(5);
    ck_assert_int_eq(xsh_guest_transaction_start(g), 0);
    ck_assert_int_eq(xsh_guest_write(g, "tx/a", "1"), 0);
    guest_expect_value(g, "tx/a", "1");
    dom0_expect_enoent("/local/domain/5/tx/a");
    ck_assert_int_eq(xsh_guest_transaction_end(g, 1), 0);
    dom0_expect_value("/local/domain/5/tx/a", "1");

    /* aborted */
    ck_assert_int_eq(xsh_guest_transaction_start(g), 0);
    ck_assert_int_eq(xsh_guest_write(g, "tx/b", "1"), 0);
    ck_assert_int_eq(xsh_guest_transaction_end(g, 0), 0);
    dom0_expect_enoent("/local/domain/5/tx/b");

    /* a conflicting dom0 write makes the commit fail with EAGAIN */
    ck_assert_int_eq(xsh_guest_transaction_start(g), 0);
    guest_expect_value(g, "tx/a", "1");
    dom0_write("/local/domain/5/tx/a", "dom0");
    ck_assert_int_eq(xsh_guest_write(g, "tx/a", "guest"), 0);
    ck_assert_int_eq(xsh_guest_transaction_end(g, 1), EAGAIN);
    dom0_expect_value("/local/domain/5/tx/a", "dom0");
    xsh_guest_close(g);
}
END_TEST

START_TEST(test_large_messages)
{
    xsh_guest *g = NULL;
    static char big[4000], mid[1800];
    char *v = NULL;
    int i;

    ck_assert_int_eq(xsh_domain_create(h, 5, &g), 0);
    dom0_make_home(5);
    /* Requests and replies larger than the 1 KiB ring, wrapping the
     * indexes. A guest's node must stay under 2 KiB (ENOSPC: the -S
     * entry-size quota), dom0's need not. */
    for (i = 0; i < 5; i++) {
        memset(mid, 'a' + i, sizeof(mid) - 1);
        ck_assert_int_eq(xsh_guest_write(g, "mid", mid), 0);
        ck_assert_int_eq(xsh_guest_read(g, "mid", &v), 0);
        ck_assert_str_eq(v, mid);
        free(v);
    }
    memset(big, 'z', sizeof(big) - 1);
    ck_assert_int_eq(xsh_guest_write(g, "big", big), ENOSPC);
    dom0_write("/local/domain/5/big", big);
    guest_expect_value(g, "big", big);
    xsh_guest_close(g);
}
END_TEST

/* No fixture: harnesses one after another, two at once, and one that
 * cannot start. */
START_TEST(test_sequential_harnesses)
{
    xs_harness *hs, *hs2;
    xsh_guest *g = NULL, *g2 = NULL;
    struct stat st;
    char *dir, *saved;
    pid_t pid;
    int i;

    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(xsh_start(&hs), 0);
        ck_assert_int_eq(xsh_domain_create(hs, 5, &g), 0);
        ck_assert_int_eq(xsh_guest_mkdir(g, "/nope"), EACCES);
        pid = xsh_pid(hs);
        dir = strdup(xsh_dir(hs));
        ck_assert_int_eq(xsh_stop(hs), 0);
        /* reaped, directory gone, XENSTORED_PATH no longer ours */
        ck_assert_int_eq(kill(pid, 0), -1);
        ck_assert_int_eq(errno, ESRCH);
        ck_assert_int_eq(stat(dir, &st), -1);
        ck_assert_ptr_null(getenv("XENSTORED_PATH"));
        free(dir);
        /* closing a guest after its xenstored is gone is fine */
        xsh_guest_close(g);
    }

    /* two at once are independent */
    ck_assert_int_eq(xsh_start(&hs), 0);
    ck_assert_int_eq(xsh_start(&hs2), 0);
    ck_assert_str_ne(xsh_dir(hs), xsh_dir(hs2));
    ck_assert_int_eq(xsh_domain_create(hs, 5, &g), 0);
    ck_assert_int_eq(xsh_domain_create(hs2, 5, &g2), 0);
    ck_assert_int_eq(xsh_domain_kill(hs, 5), 0);
    ck_assert_int_eq(xsh_guest_mkdir(g2, "/nope"), EACCES);
    ck_assert_int_eq(xsh_domain_create(hs2, 5, NULL), EEXIST);
    ck_assert_int_eq(xsh_domain_create(hs, 5, NULL), 0);
    xsh_guest_close(g);
    xsh_guest_close(g2);
    ck_assert_int_eq(xsh_stop(hs2), 0);
    ck_assert_int_eq(xsh_stop(hs), 0);

    saved = getenv("XENSTORED") ? strdup(getenv("XENSTORED")) : NULL;
    setenv("XENSTORED", "/bin/false", 1);
    fprintf(stderr, "test_sequential_harnesses: a failed start follows\n");
    ck_assert_int_eq(xsh_start(&hs), ECHILD);
    if (saved)
        setenv("XENSTORED", saved, 1);
    else
        unsetenv("XENSTORED");
    free(saved);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xs_harness");
    TCase *tc = tcase_create("xenstored");
    TCase *bare = tcase_create("lifecycle");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_dom0_write_read);
    tcase_add_test(tc, test_introduce);
    tcase_add_test(tc, test_guest_reads_granted);
    tcase_add_test(tc, test_guest_denied);
    tcase_add_test(tc, test_guest_writes_own);
    tcase_add_test(tc, test_dom0_watch_fires_on_guest_write);
    tcase_add_test(tc, test_guest_watch_fires_on_dom0_write);
    tcase_add_test(tc, test_domain_kill);
    tcase_add_test(tc, test_two_guests);
    tcase_add_test(tc, test_transactions);
    tcase_add_test(tc, test_large_messages);
    suite_add_tcase(s, tc);
    tcase_add_test(bare, test_sequential_harnesses);
    suite_add_tcase(s, bare);

    return xenvf_check_run(s);
}
