#include "config/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Longest item worth trying: a full IPv6 address with an embedded IPv4 and
 * "/128" is 50 characters. */
#define CIDR_TEXT_MAX 64

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Digits only (no sign, no blanks), at most max. */
static bool parse_prefix(const char *s, int max, int *out)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 3 || s[n])
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* Clears the bits beyond the prefix, so matching can compare whole bytes. */
static void mask_host_bits(uint8_t *addr, size_t len, int prefix)
{
    for (size_t i = 0; i < len; i++) {
        int keep = prefix - (int)i * 8; /* bits of this byte inside the prefix */
        if (keep <= 0)
            addr[i] = 0;
        else if (keep < 8)
            addr[i] &= (uint8_t)(0xff << (8 - keep));
    }
}

/* ::ffff:a.b.c.d/96..128 covers only IPv4 clients: store it as IPv4 so it
 * matches them (clients are compared as IPv4, see cidr_match). */
static void unmap_v4(struct cidr *c)
{
    if (c->family != AF_INET6 || c->prefix < 96 ||
        memcmp(c->addr, v4_mapped_prefix, sizeof v4_mapped_prefix) != 0)
        return;
    uint8_t v4[4];
    memcpy(v4, c->addr + 12, 4);
    memset(c->addr, 0, sizeof c->addr);
    memcpy(c->addr, v4, 4);
    c->family = AF_INET;
    c->prefix -= 96;
}

int cidr_parse(const char *text, struct cidr *out)
{
    char addr[CIDR_TEXT_MAX];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    if (len >= sizeof addr)
        return -1;
    memcpy(addr, text, len);
    addr[len] = '\0';

    struct cidr c = {0};
    int max;
    if (inet_pton(AF_INET, addr, c.addr) == 1) {
        c.family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, c.addr) == 1) {
        c.family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    c.prefix = max;
    if (slash && !parse_prefix(slash + 1, max, &c.prefix))
        return -1;
    mask_host_bits(c.addr, max / 8, c.prefix);
    unmap_v4(&c);
    *out = c;
    return 0;
}

/* Why item (not NUL-terminated, blanks trimmed) is not a range. */
static const char *item_problem(const char *item, size_t len, struct cidr *out)
{
    char text[CIDR_TEXT_MAX];
    if (len == 0)
        return "empty item (two commas in a row, or a trailing comma)";
    if (len >= sizeof text)
        return "not an address range";
    memcpy(text, item, len);
    text[len] = '\0';
    if (cidr_parse(text, out) == 0)
        return NULL;
    const char *slash = strchr(text, '/');
    struct cidr addr_only;
    if (slash) {
        text[slash - text] = '\0';
        if (cidr_parse(text, &addr_only) == 0)
            return addr_only.family == AF_INET ? "the prefix must be a number from 0 to 32"
                                               : "the prefix must be a number from 0 to 128";
    }
    return "not an IPv4 or IPv6 address range, e.g. 10.0.0.0/8 or fd00::/8";
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

int cidr_list_parse(const char *text, struct cidr_list *out, char *err, size_t errcap)
{
    out->n = 0;
    const char *p = text;
    while (is_blank(*p))
        p++;
    if (!*p)
        return 0; /* the empty list */
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t trimmed = len;
        while (trimmed && is_blank(p[trimmed - 1]))
            trimmed--;
        struct cidr c;
        const char *problem = out->n == CONFIG_MAX_CIDRS ? "too many ranges (at most 64)"
                                                         : item_problem(p, trimmed, &c);
        if (problem) {
            snprintf(err, errcap, "'%.*s': %s", (int)(trimmed > 60 ? 60 : trimmed), p, problem);
            out->n = 0;
            return -1;
        }
        out->items[out->n++] = c;
        if (!end)
            return 0;
        p = end + 1;
        while (is_blank(*p))
            p++;
    }
}

/* The client as an IPv4 (4 bytes) or IPv6 (16 bytes) address; mapped IPv6
 * addresses become IPv4. Returns the family, or 0 for other families. */
static int client_addr(const struct sockaddr *sa, uint8_t addr[16])
{
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in in; /* copied: sa may be a differently typed buffer */
        memcpy(&in, sa, sizeof in);
        memcpy(addr, &in.sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family != AF_INET6)
        return 0;
    struct sockaddr_in6 in6;
    memcpy(&in6, sa, sizeof in6);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
        memcpy(addr, in6.sin6_addr.s6_addr + 12, 4);
        return AF_INET;
    }
    memcpy(addr, in6.sin6_addr.s6_addr, 16);
    return AF_INET6;
}

bool cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
    uint8_t addr[16];
    int family = client_addr(sa, addr);
    if (family == 0 || family != c->family)
        return false;
    mask_host_bits(addr, c->family == AF_INET ? 4 : 16, c->prefix);
    return memcmp(addr, c->addr, c->family == AF_INET ? 4 : 16) == 0;
}

bool cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa)
{
    for (size_t i = 0; i < l->n; i++)
        if (cidr_match(&l->items[i], sa))
            return true;
    return false;
}
