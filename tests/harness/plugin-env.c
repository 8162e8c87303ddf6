/* The libxl plugin's test machine (see plugin-env.h). */
#include "plugin-env.h"

void penv_set_state(const char *pf, xenvf_pf_state state)
{
    ck_assert_int_eq(xenvf_xs_set_pf_state(&E.xs, pf, state, NULL), 0);
}

void penv_setup(void)
{
    denv_setup();
    /* nvme0's VF 0 has a disk (a second path for the I/O switch); net0's
     * VFs have none */
    denv_write_map(MAP_PF0(4, "<vf index=\"0\"><namespace nsid=\"2\" "
                              "size=\"32M\"/></vf>") MAP_PF1(4, ""));
    denv_start_role("tcb", NULL);
    if (denv_wait_ready()) {
        denv_print_log();
        ck_abort_msg("xenvfd died at start");
    }
    ASSERT_XS("/xenvf/pf/nvme0/vf/3/state", "free");
    ASSERT_XS("/xenvf/pf/net0/vf/3/state", "free");
    penv_set_state("nvme0", XENVF_PF_READY);
    penv_set_state("net0", XENVF_PF_READY);
}

void penv_teardown(void)
{
    denv_teardown();
}

void penv_write_conf(char *path, size_t len, const char *extra)
{
    FILE *f;

    ck_assert_int_lt(snprintf(path, len, "%.*s/xenvf-plugin.conf",
                              (int)(len > 32 ? len - 32 : 0), E.dir),
                     (int)len);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fprintf(f,
            "tcb_socket = \"%s\"\ntcb_timeout = 5\ngate_timeout = 5\n"
            "reboot_wait = 2\n%s",
            E.sock, extra ? extra : "");
    fclose(f);
}

long penv_holder(const char *pf, unsigned index)
{
    char path[128], *state, *domain;
    long who = -1;

    snprintf(path, sizeof(path), "/xenvf/pf/%s/vf/%u/state", pf, index);
    state = xs_get(path);
    snprintf(path, sizeof(path), "/xenvf/pf/%s/vf/%u/domain", pf, index);
    domain = xs_get(path);
    if (!strcmp(state, "active"))
        who = atol(domain);
    else if (!strcmp(state, "reserved"))
        who = (long)XENVF_DOMID_NONE;
    free(state);
    free(domain);
    return who;
}

unsigned penv_nr_held(void)
{
    static const char *const pfs[] = {"nvme0", "net0"};
    unsigned n = 0;

    for (int p = 0; p < 2; p++)
        for (unsigned i = 0; i < 4; i++)
            n += penv_holder(pfs[p], i) != -1;
    return n;
}

unsigned penv_held_settles_to(unsigned want)
{
    unsigned n = penv_nr_held();

    for (int i = 0; i < 250 && n != want; i++) {
        sleep_ms(20);
        n = penv_nr_held();
    }
    return n;
}

const char *penv_books_disagree(const xenvf_pci_backends *b, const char *pf,
                                unsigned index, char *why, size_t len)
{
    char path[128], *state, *bdf_s;
    long holder = penv_holder(pf, index);
    xenvf_bdf bdf;
    bool listed = false, alive;

    snprintf(path, sizeof(path), "/xenvf/pf/%s/vf/%u/state", pf, index);
    state = xs_get(path);
    snprintf(path, sizeof(path), "/xenvf/pf/%s/vf/%u/bdf", pf, index);
    bdf_s = xs_get(path);
    why[0] = '\0';
    if (!xenvf_bdf_parse(bdf_s, &bdf, NULL)) {
        for (size_t k = 0; k < b->nr_devs; k++) {
            if (!xenvf_bdf_equal(&b->devs[k].bdf, &bdf) ||
                xenvf_xs_domain_introduced(&E.xs, b->devs[k].domid, &alive,
                                           NULL) ||
                !alive)
                continue;
            listed = true;
            if (holder != (long)b->devs[k].domid)
                snprintf(why, len,
                         "%s vf %u (%s): domain %u has it, the "
                         "books say '%s' held by %ld",
                         pf, index, bdf_s, b->devs[k].domid, state, holder);
        }
        if (!listed && !strcmp(state, "active"))
            snprintf(why, len,
                     "%s vf %u (%s): active for %ld, which has "
                     "it not",
                     pf, index, bdf_s, holder);
    }
    free(state);
    free(bdf_s);
    return why[0] ? why : NULL;
}

char *penv_books_settle(void)
{
    static const char *const pfs[] = {"nvme0", "net0"};
    static char why[256];

    for (int tries = 0; tries < 250; tries++) {
        xenvf_pci_backends b;
        bool ok = true;

        ck_assert_int_eq(xenvf_libxl_read_pci_backends(&E.xs, &b, NULL), 0);
        for (int p = 0; p < 2 && ok; p++)
            for (unsigned i = 0; i < 4 && ok; i++)
                ok = !penv_books_disagree(&b, pfs[p], i, why, sizeof(why));
        xenvf_pci_backends_dispose(&b);
        if (ok)
            return NULL;
        sleep_ms(20);
    }
    return why;
}

void penv_hold(xenvf_client *c, const char *domain, const char *pf, int index)
{
    xenvf_request req;
    xenvf_response resp;

    xenvf_client_init(c);
    xenvf_request_init(&req);
    xenvf_response_init(&resp);
    ck_assert_int_eq(xenvf_client_connect(c, E.sock, NULL), 0);
    req_reserve(&req, domain, pf, index);
    ck_assert_int_eq(xenvf_client_call(c, &req, &resp, 5000, NULL), 0);
    ck_assert_msg(!resp.rc, "%s", resp.error ? resp.error : "?");
    xenvf_request_dispose(&req);
    xenvf_response_dispose(&resp);
}
