/*
 * The libxl plugin's test environment: Debian's real xenstored, the fake
 * sysfs tree, and the real xenvfd as the TCB (daemon-env.h), with
 * both PFs at 4 VFs (nvme0: 0000:01:00.1-4, net0: 0000:02:00.1-4,
 * TotalVFs 8). xenvfd runs --role=tcb only: the test plays the PF agent
 * and writes each PF's state itself, so it can hold the gate closed.
 */
#ifndef XENVF_TEST_PLUGIN_ENV_H
#define XENVF_TEST_PLUGIN_ENV_H

#include <xenstore.h>

#include <xenvf/libxl_nodes.h>

#include "daemon-env.h"

void penv_set_state(const char *pf, xenvf_pf_state state);

void penv_setup(void);

void penv_teardown(void);

/* The plugin's config file in the environment's directory: xenvfd's
 * socket, short limits, and `extra` lines (later keys win). */
void penv_write_conf(char *path, size_t len, const char *extra);

/* Who holds pf's VF index, from what xenvfd publishes: its domid when
 * active, XENVF_DOMID_NONE while reserved, -1 when nobody. */
long penv_holder(const char *pf, unsigned index);

/* VFs reserved or active, over both PFs. */
unsigned penv_nr_held(void);

/* xenvfd gives back a closed connection's VFs (and resets a dead domain's)
 * a moment later: wait, bounded, for the count to become `want`. */
unsigned penv_held_settles_to(unsigned want);

/* Issue 10's invariant, one VF: a VF that a live domain has by libxl's
 * PCI backend is held by that domain in xenvfd's books, and a VF the books
 * show active is in its live holder's backend. NULL, or why not. */
const char *penv_books_disagree(const xenvf_pci_backends *b, const char *pf,
                                unsigned index, char *why, size_t len);

/* Wait, bounded (xenvfd follows libxl a moment later), until the books
 * agree with libxl for every VF; the first disagreement, or NULL. */
char *penv_books_settle(void);

#define ASSERT_BOOKS_AGREE()                                                   \
    do {                                                                       \
        const char *why_ = penv_books_settle();                                \
        ck_assert_msg(!why_, "the books disagree with libxl: %s", why_);       \
    } while (0)

/* Another party's reservation, held on its own connection until closed. */
void penv_hold(xenvf_client *c, const char *domain, const char *pf, int index);

#endif
