/*
 * Fuzz the FLASK label inputs (lib/flask.c): the ACPI MCFG table read from
 * firmware and the text label list an administrator writes. Whatever is
 * accepted must format into a policy fragment.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xenvf/flask.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xenvf_flask_mcfg *mcfg = NULL;
    xenvf_flask_labels labels;
    char *text = malloc(size + 1), *policy = NULL;
    size_t nr = 0;

    if (!text)
        return 0;
    if (xenvf_flask_parse_mcfg(data, size, &mcfg, &nr, NULL) == 0) {
        for (size_t i = 0; i < nr; i++) {
            xenvf_flask_range r;
            xenvf_flask_mcfg_range(&mcfg[i], &r);
            if (r.end < r.start)
                abort();
        }
    }
    free(mcfg);

    memcpy(text, data, size);
    text[size] = '\0';
    xenvf_flask_labels_init(&labels);
    if (xenvf_flask_labels_parse_list("fuzz", text, &labels, NULL) == 0 &&
        xenvf_flask_labels_format_policy(&labels, &policy, NULL))
        abort();
    free(policy);
    xenvf_flask_labels_dispose(&labels);
    free(text);
    return 0;
}
