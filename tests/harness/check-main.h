/*
 * Every Check binary's main(): XENVF_CHECK_MAIN(suite_fn) runs the suite
 * suite_fn() returns and exits with its verdict; a binary that must do
 * something first calls xenvf_check_run() from its own main().
 */
#ifndef XENVF_CHECK_MAIN_H
#define XENVF_CHECK_MAIN_H

#include <check.h>

/* Run every test of s; EXIT_SUCCESS when none failed. Frees s. */
int xenvf_check_run(Suite *s);

#define XENVF_CHECK_MAIN(suite_fn)                                             \
    int main(void)                                                             \
    {                                                                          \
        return xenvf_check_run(suite_fn());                                    \
    }

/* The same for tests that play the kernel: re-exec under
 * fakesysfs-kernel.so first (fakesysfs.h); if it cannot be loaded, say so
 * and run anyway (the tests that need it fail, naming it). */
int xenvf_check_run_fake_kernel(char **argv, Suite *s);

#define XENVF_CHECK_MAIN_FAKE_KERNEL(suite_fn)                                 \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        (void)argc;                                                            \
        return xenvf_check_run_fake_kernel(argv, suite_fn());                  \
    }

#endif
