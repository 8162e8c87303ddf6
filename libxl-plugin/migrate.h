/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xl save and xl migrate of a domain that holds VFs (issue 15,
 * docs/migration.md). Both end in libxl_domain_suspend; the plugin asks
 * xlp_suspend_check first. A VF is hardware state Xen cannot copy: the
 * guest's I/O on it can only survive the move if the guest moves it to a
 * second path first (the switch: the guest's xenvf-guest moves its
 * device-mapper device to a PV disk on the same namespace through the PF,
 * xenvf/switch.h; xl save moves it first when it can: iomove.h).
 *
 * xl save of a domain holding VFs goes on when the guest's I/O is on the
 * PV path already (every vf/<n>/switch says "pv"). Otherwise it is
 * refused with a message that says why, and the domain left running with
 * its VFs, unless the administrator asks for unplug-and-go
 * (XENVF_MIGRATE=unplug-and-go in xl's environment): then it goes on as libxl
 * does it (the VF is reset and freed when the saved domain is destroyed, I/O on
 * it errors in the guest; xl restore reserves a VF again and gates it).
 *
 * xl migrate with XENVF_MIGRATE=unplug-and-go unplugs before the stream
 * what the switch cannot serve, and plugs it again at the destination
 * (iomove.h): a live migration cannot keep a VF in the domain.
 *
 * xl migrate of a domain still holding VFs (the plugin moved nothing off
 * them: iomove.h) is not stopped by the plugin: on Xen 4.17 a receiving
 * xl whose stream ends before its header dies with SIGSEGV and leaves the
 * incoming domain behind (seen in the QEMU tier). Xen itself refuses
 * log-dirty mode to a domain with a passed-through device, and Debian's
 * (built without shadow paging) to every PV domain, with or without
 * devices (seen too), so the migration fails there, the receiver cleans
 * up, and xl resumes the domain with its VFs; the plugin says why
 * beforehand, with or without unplug-and-go.
 */
#ifndef XENVF_XL_MIGRATE_H
#define XENVF_XL_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include <xenvf/err.h>
#include <xenvf/xs.h>

/* "<pf id>#<index>", as the plugin names a VF in what it says */
#define XLP_VF_NAME_MAX 56

/* The environment variable an administrator sets to choose. */
#define XLP_MIGRATE_ENV "XENVF_MIGRATE"

typedef enum xlp_migrate_mode {
    XLP_MIGRATE_REFUSE,        /* unset or empty: refuse a domain with VFs */
    XLP_MIGRATE_UNPLUG_AND_GO, /* "unplug-and-go" */
} xlp_migrate_mode;

/* The variable's value (NULL: unset) into *out; anything else is
 * XENVF_EINVAL with a message naming the values known. */
int xlp_migrate_mode_parse(const char *text, xlp_migrate_mode *out,
                           xenvf_err *err);

/*
 * May libxl suspend domid now (live: xl migrate, else xl save)? mode_text
 * is the XENVF_MIGRATE value (NULL: unset). Reads xenvfd's books on xs:
 * no VF held by domid, 0. A live migration of a domain with VFs: 0, with
 * the reason it will fail in Xen logged. A save: 0 for unplug-and-go
 * (logged) or a guest whose I/O is on the PV path (logged), else
 * XENVF_EBUSY (refused: the VFs named, why, and how to go anyway),
 * XENVF_ENOTSUP (a VF with no namespace, which the switch cannot serve:
 * a NIC VF; or a guest serving the switch, its I/O still on a VF) or
 * XENVF_EINVAL (a bad mode), with err saying so. A books read that fails
 * refuses a save too (XENVF_E* of it).
 */
int xlp_suspend_check(xenvf_xs *xs, uint32_t domid, bool live,
                      const char *mode_text, xenvf_err *err);

/* xlp_suspend_check on a xenstore connection of its own, a refusal
 * logged: what libxl_domain_suspend's interposer asks. */
int xlp_suspend(uint32_t domid, bool live, const char *mode_text,
                xenvf_err *err);

#endif
