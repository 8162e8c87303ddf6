/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Fault injection: XENVF_FAULT=<step>[@<n>] kills the process (SIGKILL,
 * like kill -9: no cleanup, no atexit) the n-th time it passes <step>.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenvfd.h"

/* In the order a reconcile passes them (docs/xenvfd.md). */
const char *const xenvfd_fault_points[] = {
    "intent",            /* the planned NumVFs change is persisted */
    "autoprobe-off",     /* sriov_drivers_autoprobe set to 0 */
    "vfs-unbound",       /* the old VFs left their drivers (pciback) */
    "numvfs-zero",       /* NumVFs written 0 on the way to a new count */
    "numvfs-set",        /* NumVFs written the new count */
    "vfs-wait",          /* the new VFs are all there */
    "override",          /* a VF's driver_override says pciback */
    "autoprobe-restore", /* sriov_drivers_autoprobe back to its value */
    "unbind",            /* a VF unbound from its old driver */
    "bind",              /* a VF bound to pciback */
    "state-done",        /* the result persisted */
    "publish",           /* a PF published to xenstore */
    "commit",            /* a commit persisted, not yet published */
    "flr",               /* a VF reset, not yet marked free */
    NULL,
};

static int fault_loaded;
static char fault_step[64];
static unsigned fault_nth = 1, fault_seen;

void xenvfd_fault_point(const char *step)
{
    if (!fault_loaded) {
        const char *env = getenv(XENVFD_FAULT_ENV);
        const char *at = env ? strchr(env, '@') : NULL;

        fault_loaded = 1;
        if (env && *env) {
            snprintf(fault_step, sizeof(fault_step), "%.*s",
                     at ? (int)(at - env) : (int)strlen(env), env);
            if (at && atoi(at + 1) > 0)
                fault_nth = (unsigned)atoi(at + 1);
        }
    }
    if (!fault_step[0] || strcmp(step, fault_step) || ++fault_seen < fault_nth)
        return;
    LOG(WARN, "fault injection: dying at step '%s' (hit %u)", step, fault_seen);
    fflush(NULL);
    kill(getpid(), SIGKILL);
    _exit(137); /* not reached */
}
