/* Every Check binary's main() (check-main.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-main.h"
#include "fakesysfs.h"

int xenvf_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int xenvf_check_run_fake_kernel(char **argv, Suite *s)
{
    int e = fakesysfs_kernel_reexec(argv);

    if (e)
        fprintf(stderr,
                "%s: kernel stand-in not loaded (%s): its tests will fail\n",
                argv[0], strerror(e));
    return xenvf_check_run(s);
}
