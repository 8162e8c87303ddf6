/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * What the plugin does around libxl's domain build and unpause, with libxl
 * behind a table of operations (xlp_ops): interpose.c fills it with the
 * real libxl, tests with fakes, so every step and every failure path runs
 * without a hypervisor (against the real xenstored and a TCB).
 *
 * Create (libxl_domain_create_new), for a config with vf=:
 *   resolve the PFs, reserve the VFs (xenvfd), add them to the config's PCI
 *   devices, create (paused: libxl never unpauses), commit the VFs to the
 *   new domid, publish the guest's VF nodes, store the gate plan with the
 *   domain. A failure at any step undoes the earlier ones: no reservation,
 *   no xenstore node, no domain.
 * Unpause (libxl_domain_unpause), for a domain that has a gate plan:
 *   wait until every PF is ready, then unpause; on timeout, a failed PF or
 *   a cancel, destroy the domain and release its VFs.
 * Reboot: xl builds the domain again in the same process; the plugin
 *   strips the VFs it added last time from the config libxl hands back,
 *   asks for the same VFs again, and the gate applies again.
 */
#ifndef XENVF_XL_BUILD_H
#define XENVF_XL_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include <libxl.h>
#include <libxlutil.h>

#include <xenvf/err.h>

#include "conf.h"
#include "gate.h"
#include "vfcfg.h"

#define XLP_NO_DOMID 0x7ff4u      /* DOMID_INVALID */
#define XLP_PLAN_KEY "xenvf-gate" /* libxl userdata key of the gate plan */

/* libxl, as the plugin needs it. Each returns 0 or a libxl ERROR_* rc. */
typedef struct xlp_ops {
    /* the real, synchronous libxl_domain_create_new */
    int (*create)(void *opaque, libxl_domain_config *d, uint32_t *domid);
    /* the real, synchronous libxl_domain_create_restore (the saved image
     * and its parameters are the interposer's) */
    int (*restore)(void *opaque, libxl_domain_config *d, uint32_t *domid);
    int (*unpause)(void *opaque, uint32_t domid);
    int (*destroy)(void *opaque, uint32_t domid);
    /* the gate plan, kept with the domain (removed when it is destroyed) */
    int (*plan_store)(void *opaque, uint32_t domid, const char *text);
    /* *text_out NULL and rc 0 when the domain has no plan */
    int (*plan_load)(void *opaque, uint32_t domid, char **text_out);
    void (*plan_remove)(void *opaque, uint32_t domid);
    /* optional: around the gate's wait (signal handlers for cancel_fd) */
    void (*wait_begin)(void *opaque);
    void (*wait_end)(void *opaque);
    /* optional: the gate is in place and about to sleep (tests) */
    void (*gate_waiting)(void *opaque, const gate_plan *p);
    void *opaque;
} xlp_ops;

/* A domain this process built with VFs: what a reboot needs. */
typedef struct xlp_dom {
    char *name;
    uint32_t domid;
    size_t nr;       /* vf= entries */
    char **pf_ids;   /* per entry */
    int *indexes;    /* per entry: the VF it got */
    xenvf_bdf *bdfs; /* per entry: what was added to the config */
} xlp_dom;

typedef struct xlp {
    xlp_ops ops;
    const char *conf_path; /* NULL: $XENVF_PLUGIN_CONF or the default */
    bool conf_loaded;
    plugin_conf conf;
    /* vf= of the config xl parsed last */
    const XLU_Config *cfg_handle; /* compared, never dereferenced */
    bool have_cfg;
    vfcfg cfg;
    int cfg_rc;
    xenvf_err cfg_err;
    size_t nr_doms;
    xlp_dom *doms;
    int cancel_fd; /* readable: stop waiting (-1: none) */
} xlp;

void xlp_init(xlp *p, const xlp_ops *ops);
void xlp_dispose(xlp *p);

/*
 * xl parsed a config (xlu_cfg_readdata): keep its vf=. Lookups only, so a
 * config without vf= costs one. With xl_reports_pci, the pci_* defaults
 * are not looked up here: xl looks them up itself right after the parse
 * (parse_config_data), and the interposed xlu_cfg_get_long hands each
 * result to xlp_note_long.
 */
void xlp_capture(xlp *p, const XLU_Config *cfg, const char *source,
                 bool xl_reports_pci);
void xlp_note_long(xlp *p, const XLU_Config *cfg, const char *key, long value);

/* Has the plugin anything to do for this build? (vf=, or a reboot of a
 * domain it built.) If not, call libxl directly. */
bool xlp_has_work(const xlp *p, const libxl_domain_config *d);

/*
 * Around libxl_domain_create_new. pci= devices that are VFs xenvf manages
 * are checked (not in another live domain's hands), reserved for the
 * domain through xenvfd before libxl assigns them (so xenvfd labels them
 * for the guest first, with or without vf=) and committed once it
 * exists; vf= entries are reserved, added, committed and published.
 * Returns 0 or XENVF_E* (err, which must
 * not be NULL, says why; it is also logged, before anything is undone);
 * *libxl_rc is libxl's rc when libxl's create ran and failed. On failure
 * nothing is left behind and *domid is XLP_NO_DOMID.
 */
int xlp_create(xlp *p, libxl_domain_config *d, uint32_t *domid, int *libxl_rc,
               xenvf_err *err);

/*
 * Around libxl_domain_create_restore (xl restore, xl migrate-receive):
 * the saved config's PCI devices that are VFs xenvf manages are reserved
 * for the domain before libxl touches them (a VF taken meanwhile: a clear
 * error and no domain), committed once it exists, published, and gated
 * as at create. An incoming migration (a "<name>--incoming" domain) whose
 * source still holds its VFs gets other free VFs of the same PFs. Returns
 * as xlp_create.
 */
int xlp_restore(xlp *p, libxl_domain_config *d, uint32_t *domid, int *libxl_rc,
                xenvf_err *err);

/*
 * Around libxl_domain_unpause: a domain with a gate plan is unpaused only
 * when its PFs are ready; on failure (logged, as for xlp_create) it is
 * destroyed and its VFs released.
 * Others are unpaused at once. Returns 0 or XENVF_E*; *libxl_rc is
 * libxl's unpause rc when it ran.
 */
int xlp_unpause(xlp *p, uint32_t domid, int *libxl_rc, xenvf_err *err);

/*
 * Around libxl_device_pci_add (xl pci-attach): a VF xenvf manages goes
 * only to the domain that holds it or, free, to any domain (xenvfd adopts
 * it when libxl's backend lists it). A VF another domain holds is refused
 * before libxl touches it: libxl would reset it under its holder first.
 * Returns 0 (go ahead) or XENVF_EBUSY with err saying who holds it.
 */
int xlp_pci_attach(xlp *p, uint32_t domid, const xenvf_bdf *bdf,
                   xenvf_err *err);
/*
 * After libxl gave domid that device: for a VF xenvf manages, the guest's
 * nodes for it as at create (vf/<n> with its PF, index, address and
 * settings, and the nodes the guest writes: its helper binds it, its I/O
 * switch answers for it) at the lowest n the domain does not use; none
 * when one of its vf/<n> is that VF already. Failures are logged: the
 * device is the domain's either way.
 */
void xlp_pci_attached(uint32_t domid, const xenvf_bdf *bdf);

#endif
