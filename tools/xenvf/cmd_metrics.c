/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenvf metrics [-o FILE]: the merged view (the map, sysfs, xenstore) in
 * the Prometheus text exposition format, for node_exporter's textfile
 * collector (docs/xenvf.md#metrics). With --output the text replaces FILE
 * atomically (xenvf_file_replace: a temp file beside it, renamed over it),
 * so the collector never reads half a file; xenvf-metrics.timer runs it.
 *
 * The text format wants every sample of a metric family together, after
 * its HELP and TYPE lines; the view is walked once, so each family
 * collects its samples in its own buffer and they are joined at the end.
 * A source that cannot be read is a sample (xenvf_source_up 0), not an
 * error: a half-blind exporter must still say what it sees.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/file.h>
#include <xenvf/vf_stats.h>

#include "xenvf.h"

/* The metric families, in output order. */
enum {
    M_SOURCE_UP,
    M_TCB_UP,
    M_MAP_PRESENT,
    M_MAP_VALID,
    M_PF_INFO,
    M_PF_MANAGED,
    M_PF_PUBLISHED,
    M_PF_STATE,
    M_PF_TOTAL,
    M_PF_NUM,
    M_PF_MAP_NUM,
    M_PF_VFS,
    M_PF_ASSIGNED,
    M_VF_STATE,
    M_VF_HOLDER,
    M_VF_ASSIGNED,
    M_GATE_WAITS,
    M_GATE_SECONDS,
    M_RECONCILE_SECONDS,
    M_RECONCILE_ERRORS,
    M_VF_COUNTERS_GIVEN,
#define VF_STAT_FAMILY_ENUM(ID, ...) M_VF_##ID,
    XENVF_VF_STATS(VF_STAT_FAMILY_ENUM)
#undef VF_STAT_FAMILY_ENUM
        NR_FAMILIES,
};

/* The family's TYPE; gauge unless said. */
static const char *const family_types[NR_FAMILIES] = {
    [M_GATE_WAITS] = "counter",
    [M_GATE_SECONDS] = "histogram",
    [M_RECONCILE_SECONDS] = "summary",
    [M_RECONCILE_ERRORS] = "counter",
#define VF_STAT_FAMILY_TYPE(ID, ...) [M_VF_##ID] = "counter",
    XENVF_VF_STATS(VF_STAT_FAMILY_TYPE)
#undef VF_STAT_FAMILY_TYPE
};

static const struct family_def {
    const char *name, *help;
} family_defs[NR_FAMILIES] = {
    [M_SOURCE_UP] = {"xenvf_source_up",
                     "Whether a source of xenvf's view could be read: the VF "
                     "map (1 when absent: nothing is managed), sysfs "
                     "(SR-IOV discovery), xenstore."},
    [M_TCB_UP] = {"xenvf_tcb_up",
                  "Whether xenvfd (tcb) answered a ping on its socket."},
    [M_MAP_PRESENT] = {"xenvf_map_present", "Whether the VF map file exists."},
    [M_MAP_VALID] = {"xenvf_map_valid",
                     "Whether the VF map passes the schema, the rules and, "
                     "where discovery works, the hardware check (0 when "
                     "absent)."},
    [M_PF_INFO] = {"xenvf_pf_info",
                   "An SR-IOV physical function and its bound driver."},
    [M_PF_MANAGED] = {"xenvf_pf_managed", "Whether the VF map manages the PF."},
    [M_PF_PUBLISHED] = {"xenvf_pf_published",
                        "Whether xenvfd published the PF in xenstore."},
    [M_PF_STATE] = {"xenvf_pf_state",
                    "The PF agent's state of a published PF (1 for the "
                    "current state)."},
    [M_PF_TOTAL] = {"xenvf_pf_total_vfs",
                    "TotalVFs: the VFs the kernel accepts for the PF."},
    [M_PF_NUM] = {"xenvf_pf_num_vfs", "NumVFs: the VFs enabled now."},
    [M_PF_MAP_NUM] = {"xenvf_pf_map_num_vfs",
                      "The VFs the map wants the PF to have."},
    [M_PF_VFS] = {"xenvf_pf_vfs",
                  "VFs of a published PF by the state xenvfd publishes."},
    [M_PF_ASSIGNED] = {"xenvf_pf_assigned_vfs",
                       "VFs of the PF the map assigns to a domain."},
    [M_VF_STATE] = {"xenvf_vf_state",
                    "A published VF's state (1 for the current state)."},
    [M_VF_HOLDER] = {"xenvf_vf_holder_info",
                     "The domain holding a VF now (reserved or active)."},
    [M_VF_ASSIGNED] = {"xenvf_vf_assigned_info",
                       "The domain the map assigns a VF to."},
    [M_GATE_WAITS] = {"xenvf_gate_waits_total",
                      "Unpause gate waits on a PF (by xl's plugin) by how "
                      "they ended; a wait on several PFs counts on each."},
    [M_GATE_SECONDS] = {"xenvf_gate_wait_seconds",
                        "How long unpause gate waits on a PF took, from "
                        "the start of the wait to its end."},
    [M_RECONCILE_SECONDS] = {"xenvf_reconcile_duration_seconds",
                             "xenvfd (tcb) reconciles and their duration."},
    [M_RECONCILE_ERRORS] = {"xenvf_reconcile_errors_total",
                            "xenvfd (tcb) reconcile errors: refused (the "
                            "reconcile failed, nothing applied), "
                            "failed_step (a NumVFs change, bind or reset "
                            "failed), skipped (a conflict a rescan left "
                            "as it was)."},
    [M_VF_COUNTERS_GIVEN] = {"xenvf_vf_counters_given",
                             "Whether the PF driver gives a NIC VF's traffic "
                             "counters (0: not given by the driver, no "
                             "xenvf_vf_*_total series)."},
#define VF_STAT_FAMILY_DEF(ID, name, help)                                     \
    [M_VF_##ID] = {"xenvf_vf_" name "_total",                                  \
                   help ", as its PF driver counts them."},
    XENVF_VF_STATS(VF_STAT_FAMILY_DEF)
#undef VF_STAT_FAMILY_DEF
};

typedef struct family {
    FILE *f;
    char *buf;
    size_t len;
    size_t nr;
} family;

typedef struct metrics {
    family fam[NR_FAMILIES];
} metrics;

static void metrics_init(metrics *m)
{
    memset(m, 0, sizeof(*m));
}

static void metrics_dispose(metrics *m)
{
    for (int i = 0; i < NR_FAMILIES; i++) {
        if (m->fam[i].f)
            fclose(m->fam[i].f);
        free(m->fam[i].buf);
    }
    metrics_init(m);
}

/* A label value as the text format wants it: \, " and newline escaped;
 * bytes outside printable ASCII are '?' (xv_clean), as everywhere in the
 * CLI. */
static void put_label(FILE *f, const char *name, const char *value)
{
    char *c = xv_clean(value ? value : "");

    fprintf(f, "%s=\"", name);
    for (const char *p = c; *p; p++) {
        if (*p == '\\' || *p == '"')
            fputc('\\', f);
        fputc(*p, f);
    }
    fputc('"', f);
    free(c);
}

/* Label name, value pairs for sample(), ending with a NULL name. */
#define LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})

/*
 * One sample of a family: its name with suffix ("" or a histogram's
 * "_bucket", "_sum", "_count") and a value as text; labels NULL for none.
 * Aborts on ENOMEM (open_memstream), as the rest of the CLI's output does.
 */
static void sample_text(metrics *m, int which, const char *suffix,
                        const char *value, const char *const *labels)
{
    family *fm = &m->fam[which];

    if (!fm->f && !(fm->f = open_memstream(&fm->buf, &fm->len))) {
        fputs("xenvf: out of memory\n", stderr);
        abort();
    }
    fprintf(fm->f, "%s%s", family_defs[which].name, suffix);
    for (size_t i = 0; labels && labels[i]; i += 2) {
        fputc(i ? ',' : '{', fm->f);
        put_label(fm->f, labels[i], labels[i + 1]);
    }
    fprintf(fm->f, "%s %s\n", labels && labels[0] ? "}" : "", value);
    fm->nr++;
}

static void sample(metrics *m, int which, long long value,
                   const char *const *labels)
{
    char v[24];

    snprintf(v, sizeof(v), "%lld", value);
    sample_text(m, which, "", v, labels);
}

/* A count of ms as seconds, exactly (no float rounding). */
static void fmt_seconds(char buf[32], uint64_t ms)
{
    snprintf(buf, 32, "%" PRIu64 ".%03u", ms / 1000, (unsigned)(ms % 1000));
}

/* The whole text: HELP, TYPE and the samples of each family that has any.
 * *out is malloc'ed. */
static int metrics_text(metrics *m, char **out, size_t *len, xenvf_err *err)
{
    FILE *f = open_memstream(out, len);

    if (!f)
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    for (int i = 0; i < NR_FAMILIES; i++) {
        family *fm = &m->fam[i];

        if (!fm->nr)
            continue;
        if (fflush(fm->f))
            break;
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", family_defs[i].name,
                family_defs[i].help, family_defs[i].name,
                family_types[i] ? family_types[i] : "gauge");
        fwrite(fm->buf, 1, fm->len, f);
    }
    if (fclose(f) || !*out) {
        free(*out);
        *out = NULL;
        return xenvf_err_set(err, XENVF_ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- the view as samples ---------------------------------------------- */

typedef struct pf_labels {
    const char *pf; /* "" for a PF the map does not name */
    char addr[XENVF_BDF_STR_MAX];
} pf_labels;

static void pf_metrics(metrics *m, const xv_pf *pf, const pf_labels *l)
{
    const char *driver = pf->hw && pf->hw->driver ? pf->hw->driver : "";
    size_t counts[XENVF_VF_FAILED + 1] = {0};

    sample(m, M_PF_INFO, 1,
           LABELS("pf", l->pf, "pci_addr", l->addr, "driver", driver));
    sample(m, M_PF_MANAGED, pf->map_pf != NULL,
           LABELS("pf", l->pf, "pci_addr", l->addr));
    sample(m, M_PF_PUBLISHED, pf->xs_pf != NULL,
           LABELS("pf", l->pf, "pci_addr", l->addr));
    if (pf->totalvfs >= 0)
        sample(m, M_PF_TOTAL, pf->totalvfs,
               LABELS("pf", l->pf, "pci_addr", l->addr));
    if (pf->numvfs >= 0)
        sample(m, M_PF_NUM, pf->numvfs,
               LABELS("pf", l->pf, "pci_addr", l->addr));
    if (pf->map_numvfs >= 0)
        sample(m, M_PF_MAP_NUM, pf->map_numvfs,
               LABELS("pf", l->pf, "pci_addr", l->addr));
    if (pf->nr_assigned >= 0)
        sample(m, M_PF_ASSIGNED, pf->nr_assigned,
               LABELS("pf", l->pf, "pci_addr", l->addr));
    if (!pf->xs_pf)
        return;
    for (int s = XENVF_PF_UNKNOWN; s <= XENVF_PF_FAILED; s++)
        sample(m, M_PF_STATE, pf->xs_pf->state == (xenvf_pf_state)s,
               LABELS("pf", l->pf, "pci_addr", l->addr, "state",
                      xenvf_pf_state_name((xenvf_pf_state)s)));
    for (size_t i = 0; i < pf->xs_pf->nr_vfs; i++)
        counts[pf->xs_pf->vfs[i].state]++;
    for (int s = XENVF_VF_ABSENT; s <= XENVF_VF_FAILED; s++)
        sample(m, M_PF_VFS, (long long)counts[s],
               LABELS("pf", l->pf, "pci_addr", l->addr, "state",
                      xenvf_vf_state_name((xenvf_vf_state)s)));
}

/* A NIC VF's traffic counters, labelled with the domain holding the VF
 * now ("" when free): only those the driver gives, never its zeros. */
static void vf_counter_metrics(metrics *m, const pf_labels *l, const xv_vf *vf,
                               const char *index, const char *addr)
{
    const xenvf_vf_stats *st = &vf->xs_vf->stats;
    char domid[16] = "", v[24];

    if (st->status != XENVF_VF_STATS_GIVEN &&
        st->status != XENVF_VF_STATS_NOT_GIVEN)
        return;
    sample(m, M_VF_COUNTERS_GIVEN, st->status == XENVF_VF_STATS_GIVEN,
           LABELS("pf", l->pf, "vf", index, "pci_addr", addr));
    if (st->status != XENVF_VF_STATS_GIVEN)
        return;
    if (vf->xs_vf->domid != XENVF_DOMID_NONE)
        snprintf(domid, sizeof(domid), "%u", vf->xs_vf->domid);
    for (int s = 0; s < XENVF_NR_VF_STATS; s++) {
        if (!(st->mask & (1u << s)))
            continue;
        snprintf(v, sizeof(v), "%" PRIu64, st->v[s]);
        sample_text(m, M_VF_RX_PACKETS + s, "", v,
                    LABELS("pf", l->pf, "vf", index, "pci_addr", addr, "domain",
                           vf->holder_name ? vf->holder_name : "", "domid",
                           domid));
    }
}

static void vf_metrics(metrics *m, const xv_pf *pf, const pf_labels *l,
                       const xv_vf *vf)
{
    char index[16], addr[XENVF_BDF_STR_MAX], domid[16];

    snprintf(index, sizeof(index), "%u", vf->index);
    if (vf->bdf_known)
        xenvf_bdf_format(&vf->bdf, addr);
    else
        addr[0] = '\0';
    if (vf->xs_vf) {
        for (int s = XENVF_VF_ABSENT; s <= XENVF_VF_FAILED; s++)
            sample(m, M_VF_STATE, vf->xs_vf->state == (xenvf_vf_state)s,
                   LABELS("pf", l->pf, "vf", index, "pci_addr", addr, "state",
                          xenvf_vf_state_name((xenvf_vf_state)s)));
        if (vf->xs_vf->domid != XENVF_DOMID_NONE) {
            snprintf(domid, sizeof(domid), "%u", vf->xs_vf->domid);
            sample(m, M_VF_HOLDER, 1,
                   LABELS("pf", l->pf, "vf", index, "pci_addr", addr, "domain",
                          vf->holder_name ? vf->holder_name : "", "domid",
                          domid));
        }
    }
    if (vf->map_vf && vf->map_vf->domain)
        sample(m, M_VF_ASSIGNED, 1,
               LABELS("pf", l->pf, "vf", index, "pci_addr", addr, "domain",
                      vf->map_vf->domain));
    if (vf->xs_vf)
        vf_counter_metrics(m, l, vf, index, addr);
}

/* The PCI address of the view's PF with this id, "" if it has none. */
static void addr_of(const xv_view *v, const char *pf_id,
                    char addr[XENVF_BDF_STR_MAX])
{
    addr[0] = '\0';
    for (size_t i = 0; i < v->nr_pfs; i++)
        if (v->pfs[i].id && !strcmp(v->pfs[i].id, pf_id))
            xenvf_bdf_format(&v->pfs[i].bdf, addr);
}

static void gate_metrics(metrics *m, const char *pf_id, const char *addr,
                         const xenvf_gate_stats *s)
{
    char le[32], v[32];
    uint64_t count = 0;

    for (int r = 0; r < XENVF_GATE_NR_RESULTS; r++) {
        sample(m, M_GATE_WAITS, (long long)s->waits[r],
               LABELS("pf", pf_id, "pci_addr", addr, "result",
                      xenvf_gate_result_name((xenvf_gate_result)r)));
        count += s->waits[r];
    }
    for (int b = 0; b < XENVF_GATE_NR_BUCKETS; b++) {
        fmt_seconds(le, xenvf_gate_bucket_ms[b]);
        snprintf(v, sizeof(v), "%" PRIu64, s->le[b]);
        sample_text(m, M_GATE_SECONDS, "_bucket", v,
                    LABELS("pf", pf_id, "pci_addr", addr, "le", le));
    }
    snprintf(v, sizeof(v), "%" PRIu64, count);
    sample_text(m, M_GATE_SECONDS, "_bucket", v,
                LABELS("pf", pf_id, "pci_addr", addr, "le", "+Inf"));
    fmt_seconds(v, s->sum_ms);
    sample_text(m, M_GATE_SECONDS, "_sum", v,
                LABELS("pf", pf_id, "pci_addr", addr));
    snprintf(v, sizeof(v), "%" PRIu64, count);
    sample_text(m, M_GATE_SECONDS, "_count", v,
                LABELS("pf", pf_id, "pci_addr", addr));
}

/*
 * The counters the gate (xl's plugin) and the TCB keep in xenstore
 * (/xenvf/stats). One that cannot be read is left out with a warning on
 * stderr: the rest of the text still goes out.
 */
static void stats_metrics(metrics *m, xv_view *v)
{
    xenvf_reconcile_stats rs;
    xenvf_gate_stats gs;
    xenvf_err e;
    char **ids = NULL, buf[32];
    unsigned nr = 0;
    bool present;

    xenvf_err_init(&e);
    if (xenvf_xs_list_gate_stats(&v->xs, &ids, &nr, &e))
        xv_warn("metrics: %s", e.msg);
    for (unsigned i = 0; i < nr; i++) {
        char addr[XENVF_BDF_STR_MAX];

        if (xenvf_xs_read_gate_stats(&v->xs, ids[i], &gs, &e)) {
            xv_warn("metrics: %s", e.msg);
        } else {
            addr_of(v, ids[i], addr);
            gate_metrics(m, ids[i], addr, &gs);
        }
        free(ids[i]);
    }
    free(ids);
    if (xenvf_xs_read_reconcile_stats(&v->xs, &rs, &present, &e)) {
        xv_warn("metrics: %s", e.msg);
        return;
    }
    if (!present)
        return;
    fmt_seconds(buf, rs.sum_ms);
    sample_text(m, M_RECONCILE_SECONDS, "_sum", buf, NULL);
    snprintf(buf, sizeof(buf), "%" PRIu64, rs.runs);
    sample_text(m, M_RECONCILE_SECONDS, "_count", buf, NULL);
    sample(m, M_RECONCILE_ERRORS, (long long)rs.refused,
           LABELS("kind", "refused"));
    sample(m, M_RECONCILE_ERRORS, (long long)rs.failed_steps,
           LABELS("kind", "failed_step"));
    sample(m, M_RECONCILE_ERRORS, (long long)rs.skipped,
           LABELS("kind", "skipped"));
}

static int collect(metrics *m, const xv_ctx *ctx, xv_view *v, xenvf_err *err)
{
    xenvf_err ping_err;
    int rc;

    xenvf_err_init(&ping_err);
    sample(m, M_SOURCE_UP, !v->map_present || v->map_ok,
           LABELS("source", "map"));
    sample(m, M_SOURCE_UP, v->hw_ok, LABELS("source", "sysfs"));
    sample(m, M_SOURCE_UP, v->xs_ok, LABELS("source", "xenstore"));
    sample(m, M_TCB_UP, !xv_tcb_ping(ctx, XV_PING_TIMEOUT_MS, &ping_err), NULL);
    sample(m, M_MAP_PRESENT, v->map_present, NULL);
    sample(m, M_MAP_VALID,
           v->map_present && v->map_ok && !(v->map_hw_checked && v->map_hw_rc),
           NULL);

    for (size_t i = 0; i < v->nr_pfs; i++) {
        xv_pf *pf = &v->pfs[i];
        pf_labels l = {.pf = pf->id ? pf->id : ""};

        xenvf_bdf_format(&pf->bdf, l.addr);
        pf_metrics(m, pf, &l);
        if ((rc = xv_view_vfs(v, pf, err)))
            return rc;
        for (size_t j = 0; j < pf->nr_vfs; j++)
            vf_metrics(m, pf, &l, &pf->vfs[j]);
    }
    if (v->xs_ok)
        stats_metrics(m, v);
    return 0;
}

int xv_cmd_metrics(xv_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    xv_view v;
    metrics m;
    xenvf_err err;
    char *text = NULL;
    size_t len = 0;
    int c, rc;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 'h':
            xv_help_command("metrics", stdout);
            return XV_EXIT_OK;
        case ':':
            return xv_usage_error("metrics",
                                  "metrics: option '%s' needs an argument",
                                  argv[optind - 1]);
        default:
            return xv_bad_option("metrics", argv[optind - 1]);
        }
    }
    if (ctx->json)
        return xv_usage_error("metrics",
                              "metrics: --json is for list, show, status, "
                              "watch");
    if (optind < argc)
        return xv_usage_error("metrics", "metrics: unexpected argument '%s'",
                              argv[optind]);
    if (output && !*output)
        return xv_usage_error("metrics", "metrics: --output: empty path");

    xv_view_init(&v);
    metrics_init(&m);
    xenvf_err_init(&err);
    rc = xv_view_load(&v, ctx, &err);
    if (rc)
        goto fail;
    rc = collect(&m, ctx, &v, &err);
    if (rc)
        goto fail;
    rc = metrics_text(&m, &text, &len, &err);
    if (rc)
        goto fail;
    if (output) {
        rc = xenvf_file_replace(output, text, len, 0644, &err);
        if (rc)
            goto fail;
    } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout)) {
        xv_error("metrics: write to stdout failed");
        rc = XV_EXIT_ERROR;
        goto out;
    }
    rc = XV_EXIT_OK;
    goto out;
fail:
    xv_error("metrics: %s", err.msg);
    rc = XV_EXIT_ERROR;
out:
    free(text);
    metrics_dispose(&m);
    xv_view_dispose(&v);
    return rc;
}
