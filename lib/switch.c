/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The I/O switch's handshake values (switch.h, docs/migration.md).
 */
#include <stdio.h>
#include <string.h>

#include <xenvf/switch.h>
#include <xenvf/text.h>

static const char *const path_names[] = {
    [XENVF_PATH_VF] = "vf",
    [XENVF_PATH_PV] = "pv",
};

/* "vf" or "pv" at the start of text, followed by end or a space */
static int path_word(const char *text, xenvf_io_path *out, size_t *len)
{
    for (size_t i = 0; i < sizeof(path_names) / sizeof(*path_names); i++) {
        size_t n = strlen(path_names[i]);

        if (!strncmp(text, path_names[i], n) &&
            (text[n] == '\0' || text[n] == ' ')) {
            *out = (xenvf_io_path)i;
            *len = n;
            return 0;
        }
    }
    return -1;
}

static int vdev_valid(const char *s, size_t n)
{
    if (!n || n >= XENVF_SWITCH_VDEV_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

int xenvf_switch_request_parse(const char *text, xenvf_switch_request *out,
                               xenvf_err *err)
{
    xenvf_switch_request r = {0};
    size_t n;

    if (!text || path_word(text, &r.to, &n))
        return xenvf_err_set(err, XENVF_EINVAL,
                             "switch request '%.40s': not 'pv VDEV' or 'vf'",
                             text ? text : "");
    text += n;
    if (r.to == XENVF_PATH_VF) {
        if (*text)
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "switch request 'vf%.40s': 'vf' takes "
                                 "nothing after it",
                                 text);
    } else {
        if (*text++ != ' ' || !vdev_valid(text, strlen(text)))
            return xenvf_err_set(err, XENVF_EINVAL,
                                 "switch request 'pv%.40s': 'pv' takes the "
                                 "PV disk's name (xvdb)",
                                 text - 1);
        memcpy(r.vdev, text, strlen(text) + 1);
    }
    *out = r;
    return 0;
}

void xenvf_switch_request_format(const xenvf_switch_request *r,
                                 char buf[XENVF_SWITCH_REQUEST_MAX])
{
    if (r->to == XENVF_PATH_PV)
        snprintf(buf, XENVF_SWITCH_REQUEST_MAX, "pv %s", r->vdev);
    else
        snprintf(buf, XENVF_SWITCH_REQUEST_MAX, "vf");
}

#define ERROR_PREFIX "error: "

int xenvf_switch_state_parse(const char *text, xenvf_switch_state *out,
                             xenvf_err *err)
{
    xenvf_switch_state s = {.kind = XENVF_SWITCH_NONE, .paused_us = -1};
    uint64_t sec, frac = 0;
    size_t n;

    if (text && !strncmp(text, ERROR_PREFIX, strlen(ERROR_PREFIX))) {
        s.kind = XENVF_SWITCH_ERROR;
        snprintf(s.msg, sizeof(s.msg), "%s", text + strlen(ERROR_PREFIX));
    } else if (text && *text) {
        if (path_word(text, &s.on, &n))
            goto bad;
        s.kind = XENVF_SWITCH_ON;
        text += n;
        if (*text) {
            /* " paused=S.UUUUUU", exactly six decimals */
            const char *dot;
            char whole[24];

            if (strncmp(text, " paused=", 8))
                goto bad;
            text += 8;
            dot = strchr(text, '.');
            if (!dot || (size_t)(dot - text) >= sizeof(whole) ||
                strlen(dot + 1) != 6)
                goto bad;
            memcpy(whole, text, (size_t)(dot - text));
            whole[dot - text] = '\0';
            if (xenvf_parse_uint(whole, 3600, &sec, NULL) ||
                xenvf_parse_uint(dot + 1, 999999, &frac, NULL))
                goto bad;
            s.paused_us = (long)(sec * 1000000 + frac);
        }
    }
    *out = s;
    return 0;
bad:
    return xenvf_err_set(err, XENVF_EINVAL,
                         "switch state '%.40s': not 'vf', 'pv' (each with "
                         "an optional ' paused=S.UUUUUU') or 'error: TEXT'",
                         text);
}

void xenvf_switch_state_format(const xenvf_switch_state *s,
                               char buf[XENVF_SWITCH_STATE_MAX])
{
    switch (s->kind) {
    case XENVF_SWITCH_NONE:
        buf[0] = '\0';
        break;
    case XENVF_SWITCH_ERROR:
        snprintf(buf, XENVF_SWITCH_STATE_MAX, ERROR_PREFIX "%s", s->msg);
        break;
    case XENVF_SWITCH_ON:
        if (s->paused_us < 0)
            snprintf(buf, XENVF_SWITCH_STATE_MAX, "%s", path_names[s->on]);
        else
            snprintf(buf, XENVF_SWITCH_STATE_MAX, "%s paused=%ld.%06ld",
                     path_names[s->on], s->paused_us / 1000000,
                     s->paused_us % 1000000);
        break;
    }
}
