/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * What FLASK's run-time labelling (flask.c) and the labels of a machine
 * (flask_labels.c) share; not part of the library's interface.
 */
#ifndef XENVF_FLASK_INTERNAL_H
#define XENVF_FLASK_INTERNAL_H

#include <xenvf/flask.h>

#define FRAME_SHIFT 12 /* FLASK labels I/O memory in 4 KiB frames */

/* A range in FLASK's units: I/O ports, or 4 KiB frames of memory. */
void flask_range_units(const xenvf_flask_range *r, uint64_t *first,
                       uint64_t *last);
/* Sorted, merged, in whole frames. */
int flask_normalize_ranges(const xenvf_flask_range *in, size_t nr,
                           xenvf_flask_range **out, size_t *nr_out,
                           xenvf_err *err);
/* Label one device (NULL: none, as for the MMCFG window) and its ranges. */
int flask_label_one(xenvf_flask *fl, const xenvf_bdf *bdf, const char *type,
                    const xenvf_flask_range *ranges, size_t nr, xenvf_err *err);

#endif
