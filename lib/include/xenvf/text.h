/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Values read from text: strict decimal numbers, hex digits, MAC addresses,
 * and user text quoted safely for a message. Every parser of the library
 * (the map, vf=, xenstore, the TCB's files) reads its numbers and MACs here.
 */
#ifndef XENVF_TEXT_H
#define XENVF_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include <xenvf/err.h>

/* Strict decimal parse of an unsigned value <= max: no sign, no spaces, no
 * trailing text, no overflow. Used for every number read from text. */
int xenvf_parse_uint(const char *s, uint64_t max, uint64_t *out,
                     xenvf_err *err);

/* text[0..len) as a decimal number in min..max, for the value of `what`:
 * "vlan \"x\" is not a decimal number", "vlan 5000 is out of range 0-4094"
 * (no NUL needed at text[len]). */
int xenvf_parse_dec(const char *what, const char *text, size_t len,
                    uint64_t min, uint64_t max, uint64_t *out, xenvf_err *err);

/* The value of one hex digit (either case), -1 if c is not one. */
int xenvf_hex_digit(char c);

/* "00:16:3e:00:00:01" (case-insensitive) <-> 6 bytes; unicast only. */
int xenvf_mac_parse(const char *s, uint8_t mac[6], xenvf_err *err);
/* Just the syntax: xx:xx:xx:xx:xx:xx into mac; 0, or -1 if it is not that. */
int xenvf_mac_digits(const char *s, uint8_t mac[6]);
void xenvf_mac_format(const uint8_t mac[6], char buf[18]);

/* s for a message, into buf: printable ASCII as is, '"' and '\\' escaped,
 * the rest as \xNN, cut after 64 characters with "...", so that hostile
 * input cannot garble a terminal or a log. */
#define XENVF_QUOTE_MAX 400
void xenvf_quote(const char *s, char *buf, size_t len);
/* The same for s[0..n), which need not end in a NUL. */
void xenvf_quote_n(const char *s, size_t n, char *buf, size_t len);

/*
 * Counters as text, "name=N name=N ...": a NIC VF's (vf_stats.c) and the
 * records of /xenvf/stats (xs.c). names[0..nr) (nr <= 32) are the names
 * known; a name found sets its values[i] and bit i of *mask. Refused: an
 * empty text, an unknown name, a name twice, a bad number, a trailing
 * space. Format writes the counters of mask in names' order.
 */
int xenvf_counters_parse(const char *text, size_t len, const char *const *names,
                         size_t nr, uint64_t *values, uint32_t *mask,
                         xenvf_err *err);
void xenvf_counters_format(const char *const *names, size_t nr,
                           const uint64_t *values, uint32_t mask, char *buf,
                           size_t size);

#endif
