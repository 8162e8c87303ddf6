/*
 * Fuzz the TCB's state-file loader (daemon/tcb_state.c): a state file
 * damaged by a crash, a full disk or a hand edit must be refused or loaded
 * into records that stay within the model's bounds, never crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/log.h>

#include <xenvf/vf_settings.h>

#include "../../daemon/tcb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *opaque, xenvf_log_level level, const char *func,
                  const char *msg)
{
    (void)opaque, (void)level, (void)func, (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xenvfd_config cfg;
    char *text = malloc(size + 1);
    tcb t;
    tcb_pf *pf;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    xenvf_log_set_sink(quiet, NULL);
    xenvfd_config_init(&cfg);
    tcb_init(&t, &cfg);
    /* the map in force: nvme0 at 0000:01:00.0 with 4 VFs */
    t.nr_pfs = 1;
    t.pfs = calloc(1, sizeof(*t.pfs));
    pf = &t.pfs[0];
    pf->id = strdup("nvme0");
    xenvf_bdf_parse("0000:01:00.0", &pf->bdf, NULL);
    pf->nr_vfs = 4;
    pf->vfs = calloc(4, sizeof(*pf->vfs));
    for (size_t i = 0; i < 4; i++) {
        pf->vfs[i].domid = XENVF_DOMID_NONE;
        xenvf_vf_config_init(&pf->vfs[i].req);
    }

    if (tcb_state_load_text(&t, "fuzz", text, NULL) == 0) {
        for (size_t i = 0; i < pf->nr_vfs; i++) {
            const tcb_vf *v = &pf->vfs[i];
            if (v->state > XENVF_VF_FAILED ||
                (v->domid != XENVF_DOMID_NONE && v->domid >= 0x7ff0) ||
                xenvf_vf_config_check(&v->req, NULL))
                abort();
        }
    }
    tcb_dispose(&t);
    free(text);
    return 0;
}
