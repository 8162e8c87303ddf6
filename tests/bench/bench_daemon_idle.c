/*
 * make bench: an idle xenvfd (both roles) makes no wakeups. The real binary
 * under the fake kernel and the real xenstored; counts its threads'
 * voluntary context switches over 10 s, and shows `strace -c -f` for the
 * same window when strace is installed.
 */
#include <dirent.h>

#include "../harness/daemon-env.h"

static unsigned long wakeups(pid_t pid)
{
    char path[300], line[256];
    unsigned long sum = 0, v;
    struct dirent *de;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    d = opendir(path);
    while (d && (de = readdir(d))) {
        FILE *f;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid,
                 de->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "voluntary_ctxt_switches: %lu", &v) == 1)
                sum += v;
        fclose(f);
    }
    if (d)
        closedir(d);
    return sum;
}

static int result = 1;

START_TEST(idle)
{
    const int secs = 10;
    unsigned long before, after;
    char cmd[128];

    denv_setup();
    denv_write_map(MAP_PF0(4, "") MAP_PF1(4, ""));
    denv_start_ready();
    sleep_ms(500);
    /* window 1: context switches alone (strace's ptrace stops would
     * count as switches) */
    before = wakeups(E.pid);
    sleep_ms(secs * 1000);
    after = wakeups(E.pid);
    printf("idle xenvfd: %lu voluntary context switches in %d s = %.2f "
           "wakeups/s\n",
           after - before, secs, (double)(after - before) / secs);
    /* window 2: every syscall it makes */
    if (!system("command -v strace >/dev/null 2>&1")) {
        snprintf(cmd, sizeof(cmd), "timeout -s INT %d strace -c -f -p %d 2>&1",
                 secs, E.pid);
        printf("strace -c -f -p <xenvfd> for %d s (no table = no "
               "syscalls):\n",
               secs);
        fflush(stdout);
        if (system(cmd) < 0)
            perror("strace");
    }
    denv_teardown();
    result = after != before;
}
END_TEST

/* A Check runner only for the helpers' assertions (no fork). */
int main(void)
{
    Suite *s = suite_create("bench_idle");
    TCase *tc = tcase_create("idle");
    SRunner *sr;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, idle);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    if (srunner_ntests_failed(sr))
        srunner_print(sr, CK_NORMAL);
    srunner_free(sr);
    return result;
}
