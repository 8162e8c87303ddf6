/*
 * Fuzz the vf= entry parser (libxl-plugin/vfcfg.c): the text of one entry,
 * as a domain config or a command line hands it to xl. Whatever parses
 * must be within bounds and survive a round trip through its canonical
 * text; whatever does not must say so in one printable line that names
 * the entry.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/text.h>
#include <xenvf/vf_settings.h>

#include "../../libxl-plugin/vfcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

/* The entry written back with every key it set, in the table's order. */
static void canonical(const vfcfg_entry *e, char *buf, size_t len)
{
    char bdf[XENVF_BDF_STR_MAX], val[XENVF_SETTING_STR_MAX];
    size_t o = 0;

    if (e->pf_is_bdf)
        xenvf_bdf_format(&e->pf_bdf, bdf);
    o += (size_t)snprintf(buf + o, len - o, "pf=%s",
                          e->pf_is_bdf ? bdf : e->pf_id);
    if (e->index >= 0)
        o += (size_t)snprintf(buf + o, len - o, ",index=%d", e->index);
    xenvf_setting_for_each(s)
    {
        const char *v = xenvf_setting_format(&e->config, s, val);

        if (v)
            o += (size_t)snprintf(buf + o, len - o, ",%s=%s",
                                  xenvf_settings[s].name, v);
    }
    if (e->function[0])
        o += (size_t)snprintf(buf + o, len - o, ",function=%s", e->function);
    if (e->timeout_ms >= 0)
        snprintf(buf + o, len - o, ",timeout=%d.%03d", e->timeout_ms / 1000,
                 e->timeout_ms % 1000);
}

static void check_bounds(const vfcfg_entry *e)
{
    check(e->pf_is_bdf != (e->pf_id[0] != '\0'));
    check(e->pf_is_bdf || xenvf_id_valid(e->pf_id));
    check(e->index >= -1 && e->index <= VFCFG_INDEX_MAX);
    check(!xenvf_vf_config_check(&e->config, NULL)); /* the table's ranges */
    check(e->timeout_ms >= -1 && e->timeout_ms <= VFCFG_TIMEOUT_MAX_S * 1000);
    check(strlen(e->function) <= XENVF_FUNCTION_MAX);
    check(!e->config.function); /* the entry owns no heap memory */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), again[1024];
    vfcfg_entry e, e2;
    xenvf_err err;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* a config string ends at its first NUL */
    vfcfg_entry_init(&e);
    vfcfg_entry_init(&e2);
    xenvf_err_init(&err);
    if (vfcfg_parse_entry(text, 3, &e, &err)) {
        check(!strncmp(err.msg, "vf[3] \"", 7));
        for (const char *p = err.msg; *p; p++)
            check(*p >= 0x20 && *p <= 0x7e); /* escaped, one line */
    } else {
        check_bounds(&e);
        canonical(&e, again, sizeof(again));
        check(!vfcfg_parse_entry(again, 3, &e2, NULL));
        check(e.index == e2.index && e.timeout_ms == e2.timeout_ms &&
              xenvf_vf_config_equal(&e.config, &e2.config) &&
              e.pf_is_bdf == e2.pf_is_bdf &&
              (e.pf_is_bdf ? xenvf_bdf_equal(&e.pf_bdf, &e2.pf_bdf)
                           : !strcmp(e.pf_id, e2.pf_id)) &&
              !strcmp(e.function, e2.function));
    }
    vfcfg_entry_dispose(&e);
    vfcfg_entry_dispose(&e2);
    free(text);
    return 0;
}
