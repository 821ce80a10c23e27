/* Address ranges for the allow/deny lists: parsing and matching only. Pure:
 * no allocation, no I/O, safe from any thread. */
#ifndef SY_CONFIG_CIDR_H
#define SY_CONFIG_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config/config.h"

/* One range: "a.b.c.d/n" (n 0..32), "a.b.c.d" (= /32), "x::y/n" (n 0..128)
 * or "x::y" (= /128); no blanks. Host bits beyond the prefix are cleared.
 * An IPv4-mapped IPv6 range (::ffff:a.b.c.d/96..128) is stored as the
 * IPv4 range it covers, so it matches the same clients. Returns 0, or -1
 * (out untouched). */
int cidr_parse(const char *text, struct cidr *out);

/* A comma-separated list, blanks allowed around the commas; "" or blanks
 * only is the empty list. Returns 0, or -1 with out->n = 0 and err holding
 * "'ITEM': reason" for the first bad item (or the first one beyond
 * CONFIG_MAX_CIDRS). */
int cidr_list_parse(const char *text, struct cidr_list *out, char *err, size_t errcap);

/* Whether the client address sa (AF_INET or AF_INET6) is in c. An IPv4
 * client seen through a dual-stack socket (::ffff:a.b.c.d) is an IPv4
 * client: it matches IPv4 ranges only. Other families never match. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);

/* Whether sa is in any range of l; false for an empty list (callers decide
 * what an empty allow list means). */
bool cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa);

#endif
