/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The file chores every part needs, in one place (libvirt's virfile.c is
 * the model): a whole regular file read with a bound, a file replaced
 * atomically and durably, mkdir -p, and the monotonic clock.
 */
#ifndef XENVF_FILE_H
#define XENVF_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xenvf/err.h>

/* Milliseconds and microseconds of CLOCK_MONOTONIC: for deadlines and
 * measurements. */
int64_t xenvf_now_ms(void);
int64_t xenvf_now_us(void);

/* The whole of a regular file of at most max bytes, NUL-terminated (*len
 * without the NUL). XENVF_ENOENT when it does not exist, XENVF_EINVAL
 * when it is not a regular file, XENVF_ERANGE when it is larger. */
int xenvf_file_read(const char *path, size_t max, char **out, size_t *len,
                    xenvf_err *err);

/* Replace path with data: a temp file beside it (stale ones of an earlier
 * crash removed), fsync, rename over, fsync of the directory. mode < 0
 * keeps the mode of the file it replaces (0644 for a new one). Readers
 * see the old file or the new one, never half of one. */
int xenvf_file_replace(const char *path, const void *data, size_t len, int mode,
                       xenvf_err *err);

/* mkdir -p: the parents 0755, the last one with mode. */
int xenvf_mkdir_p(const char *dir, mode_t mode, xenvf_err *err);

#endif
