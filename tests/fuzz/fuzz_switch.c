/*
 * Fuzz the I/O switch's handshake values (lib/switch.c): switch-request,
 * which dom0 writes and the guest parses, and switch, which the guest
 * writes and dom0 parses. Whatever parses survives a round trip through
 * its canonical text; a PV disk's name is a plain device name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/switch.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), req[XENVF_SWITCH_REQUEST_MAX],
         st[XENVF_SWITCH_STATE_MAX];
    xenvf_switch_request r, r2;
    xenvf_switch_state s, s2;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (!xenvf_switch_request_parse(text, &r, NULL)) {
        if (r.to == XENVF_PATH_PV &&
            (!r.vdev[0] || strspn(r.vdev, "abcdefghijklmnopqrstuvwxyz"
                                          "0123456789") != strlen(r.vdev)))
            abort();
        xenvf_switch_request_format(&r, req);
        if (strcmp(req, text) || xenvf_switch_request_parse(req, &r2, NULL) ||
            r2.to != r.to || strcmp(r2.vdev, r.vdev))
            abort();
    }
    if (!xenvf_switch_state_parse(text, &s, NULL) &&
        s.kind != XENVF_SWITCH_ERROR) {
        xenvf_switch_state_format(&s, st);
        if (xenvf_switch_state_parse(st, &s2, NULL) || s2.kind != s.kind ||
            (s.kind == XENVF_SWITCH_ON &&
             (s2.on != s.on || s2.paused_us != s.paused_us)))
            abort();
    }
    free(text);
    return 0;
}
