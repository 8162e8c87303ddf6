/*
 * Fuzz the parser of what xl save and xl migrate wrote into the config
 * about the I/O they moved off the guest's VFs
 * (libxl-plugin/iomove_record.c, read back by xl restore and xl
 * migrate-receive from an image or stream anyone may hand them).
 * Whatever parses must survive a round trip through its text; whatever
 * does not must say so in one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../libxl-plugin/iomove.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *again = NULL;
    xlp_moved *v = NULL, *w = NULL;
    size_t nr = 0, nr2 = 0;
    xenvf_err err;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    xenvf_err_init(&err);
    if (xlp_moved_parse(text, &v, &nr, &err)) {
        check(!v && !nr && err.msg[0] && !strchr(err.msg, '\n'));
    } else {
        check(v && nr > 0 && nr <= 64);
        check(!xlp_moved_format(v, nr, &again, &err));
        check(!xlp_moved_parse(again, &w, &nr2, &err) && nr2 == nr);
        check(!memcmp(v, w, nr * sizeof(*v)));
    }
    free(again);
    free(w);
    free(v);
    free(text);
    return 0;
}
