/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The plugin's log lines: one per step, with a timestamp, on xl's stderr
 * (which xl redirects to /var/log/xen/xl-<domain>.log once it daemonizes,
 * so reboot-time lines land there too):
 *
 *   2026-11-22T04:01:28.123Z xenvf: waiting for PF nvme0 (state probing)
 *   2026-11-22T04:01:29.357Z xenvf: PF nvme0 ready after 1.234 s, unpausing
 *   domain 7
 *
 * xl's own xentoollog logger prints no time and hides info lines unless
 * xl -v, so the plugin writes its lines itself (xenvf_log's sink).
 */
#ifndef XENVF_XL_LOG_H
#define XENVF_XL_LOG_H

#include <stdint.h>

#include <xenvf/log.h>

/* Install the sink for the process (idempotent). */
void xlp_log_setup(void);

#endif
