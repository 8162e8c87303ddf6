/*
 * Fuzz xenvfd's kernel uevent parser (daemon/devwatch.c): any datagram,
 * and what it returns must point inside the datagram at NUL-terminated
 * fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/xenvfd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *buf, size_t len, const char *p)
{
    if (p < buf || p >= buf + len || !memchr(p, '\0', buf + len - p))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so ASan sees any read past the end */
    char *buf = malloc(size ? size : 1);
    const char *action, *slot;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (xenvfd_uevent_parse(buf, size, &action, &slot)) {
        inside(buf, size, action);
        inside(buf, size, slot);
    }
    free(buf);
    return 0;
}
