/*
 * Fuzz a guest's request for VF settings (xenvf_vf_config_parse_request,
 * lib/vf_settings.c) and the map's guest-settable lists: what a guest or a
 * map writes. Whatever parses is within the table's ranges and survives a
 * round trip through its canonical text; whatever does not leaves the
 * config as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/vf_settings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), again[XENVF_REQUEST_MAX * 2];
    xenvf_vf_config c, c2;
    unsigned mask = 0, mask2 = 0;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    xenvf_vf_config_init(&c);
    xenvf_vf_config_init(&c2);
    if (!xenvf_vf_config_parse_request(text, &c, &mask, NULL)) {
        if (xenvf_vf_config_check(&c, NULL) || !mask)
            abort();
        xenvf_vf_config_format_request(&c, mask, again, sizeof(again));
        if (xenvf_vf_config_parse_request(again, &c2, &mask2, NULL) ||
            mask2 != mask || !xenvf_vf_config_equal(&c, &c2))
            abort();
    } else if (!xenvf_vf_config_is_empty(&c)) {
        abort();
    }
    if (!xenvf_setting_mask_parse(text, ' ', &mask, NULL)) {
        xenvf_setting_mask_format(mask, ' ', again, sizeof(again));
        if (xenvf_setting_mask_parse(again, ' ', &mask2, NULL) || mask2 != mask)
            abort();
    }
    xenvf_vf_config_dispose(&c);
    xenvf_vf_config_dispose(&c2);
    free(text);
    return 0;
}
