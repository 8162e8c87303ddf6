/*
 * Fuzz the xenstore value parsers: the input is lines "relpath=value", as a
 * monitoring tool would read them from /xenvf/pf/<id>. Each is applied to a
 * PF; whatever is accepted must stay within the model's bounds. Every value
 * is also tried as a namespace list and as a VF's counters (vf/<n>/stats):
 * an accepted one must pass the checks and survive format -> parse
 * unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/vf_settings.h>
#include <xenvf/vf_stats.h>
#include <xenvf/xs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ns_list_value(const char *value)
{
    char buf[XENVF_NS_LIST_STR_MAX];
    xenvf_ns_list l, back;
    xenvf_err err;

    xenvf_ns_list_init(&l);
    xenvf_ns_list_init(&back);
    xenvf_err_init(&err);
    if (xenvf_ns_list_parse(value, &l, &err)) {
        if (err.rc == 0 || err.msg[0] == '\0' || l.nr)
            abort(); /* refused: said why, and left the list alone */
        return;
    }
    if (!l.nr || l.nr > XENVF_NS_MAX || xenvf_ns_list_check(&l, NULL) ||
        xenvf_ns_list_format(&l, buf, NULL) ||
        xenvf_ns_list_parse(buf, &back, NULL) ||
        !xenvf_ns_list_equal(&l, &back))
        abort();
    xenvf_ns_list_dispose(&l);
    xenvf_ns_list_dispose(&back);
}

static void vf_stats_value(const char *value)
{
    char buf[XENVF_VF_STATS_STR_MAX];
    xenvf_vf_stats s, back;
    xenvf_err err;

    xenvf_err_init(&err);
    if (xenvf_vf_stats_parse(value, strlen(value), &s, &err)) {
        if (err.rc == 0 || err.msg[0] == '\0' ||
            s.status != XENVF_VF_STATS_UNKNOWN)
            abort(); /* refused: said why, and left nothing */
        return;
    }
    if (s.status == XENVF_VF_STATS_GIVEN &&
        (!s.mask || s.mask >> XENVF_NR_VF_STATS))
        abort();
    if (xenvf_vf_stats_format(&s, buf, NULL) ||
        strlen(buf) >= sizeof(buf) - 1 ||
        xenvf_vf_stats_parse(buf, strlen(buf), &back, NULL) ||
        !xenvf_vf_stats_equal(&s, &back))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *line, *save = NULL;
    xenvf_pf pf;
    uint32_t domid;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    xenvf_pf_init(&pf);
    for (line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        xenvf_err err;

        if (!eq)
            continue;
        *eq = '\0';
        xenvf_err_init(&err);
        if (xenvf_xs_apply_pf_node(&pf, line, eq + 1, &err) &&
            (err.rc == 0 || err.msg[0] == '\0'))
            abort(); /* every failure must say what and why */
        ns_list_value(eq + 1);
        vf_stats_value(eq + 1);
        if (!xenvf_xs_parse_domid(eq + 1, &domid, NULL) &&
            domid != XENVF_DOMID_NONE && domid >= 0x7ff0)
            abort();
    }
    if (pf.total_vfs > UINT16_MAX || pf.num_vfs > UINT16_MAX ||
        pf.nr_vfs > UINT16_MAX)
        abort();
    for (size_t i = 0; i < pf.nr_vfs; i++)
        if (pf.vfs[i].index != i ||
            xenvf_vf_config_check(&pf.vfs[i].config, NULL) ||
            xenvf_ns_list_check(&pf.vfs[i].config.ns, NULL))
            abort();
    xenvf_pf_dispose(&pf);
    free(buf);
    return 0;
}
