/*
 * Fuzz the TCB protocol decoders (what xenvfd reads from any local client,
 * and what the plugin reads back). Whatever decodes must re-encode to bytes
 * that decode to the same message: encode(decode(x)) is a fixed point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/proto.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void request_fixed_point(const char *in, size_t len)
{
    xenvf_request r, again;
    char *a = NULL, *b = NULL;

    xenvf_request_init(&r);
    xenvf_request_init(&again);
    if (xenvf_request_decode(in, len, &r, NULL) == 0) {
        if (xenvf_request_encode(&r, &a, NULL) ||
            xenvf_request_decode(a, strlen(a), &again, NULL) ||
            xenvf_request_encode(&again, &b, NULL) || strcmp(a, b))
            abort();
    }
    free(a);
    free(b);
    xenvf_request_dispose(&again);
    xenvf_request_dispose(&r);
}

static void response_fixed_point(const char *in, size_t len)
{
    xenvf_response r, again;
    char *a = NULL, *b = NULL;

    xenvf_response_init(&r);
    xenvf_response_init(&again);
    if (xenvf_response_decode(in, len, &r, NULL) == 0) {
        if (xenvf_response_encode(&r, &a, NULL) ||
            xenvf_response_decode(a, strlen(a), &again, NULL) ||
            xenvf_response_encode(&again, &b, NULL) || strcmp(a, b))
            abort();
    }
    free(a);
    free(b);
    xenvf_response_dispose(&again);
    xenvf_response_dispose(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    request_fixed_point((const char *)data, size);
    response_fixed_point((const char *)data, size);
    return 0;
}
