#include "protocol/gtid.h"

#include <string.h>

#include "protocol/packet.h"
#include "protocol/session_track.h"

#define LAST_GTID "last_gtid"
#define UUID_LEN 36
/* MySQL transaction numbers are positive signed 64-bit values; the bound
 * also keeps hi + 1 from overflowing when intervals are chained. */
#define GNO_MAX 0x7FFFFFFFFFFFFFFFull

/* ---- session-state block ---- */

/* A text value found in an entry, pointing into the block. */
struct found {
    const uint8_t *str;
    uint64_t len;
};

/* Variable names are compared without case: the server echoes them as
 * configured in session_track_system_variables. */
static bool name_is_last_gtid(const uint8_t *name, uint64_t len)
{
    if (len != sizeof(LAST_GTID) - 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = name[i] >= 'A' && name[i] <= 'Z' ? (uint8_t)(name[i] + 32) : name[i];
        if (c != (uint8_t)LAST_GTID[i])
            return false;
    }
    return true;
}

/* Type 0 entry: lenenc name, lenenc value. Sets *f when it is last_gtid. */
static int sysvar_entry(const uint8_t *d, size_t n, struct found *f)
{
    const uint8_t *name, *value;
    uint64_t name_len, value_len;
    size_t used = lenenc_str_read(d, n, &name, &name_len);

    if (used == 0 || lenenc_str_read(d + used, n - used, &value, &value_len) == 0)
        return -1;
    if (name_is_last_gtid(name, name_len)) {
        f->str = value;
        f->len = value_len;
    }
    return 0;
}

/* Type 3 entry: encoding specification (only 0 exists), lenenc GTID set. */
static int gtids_entry(const uint8_t *d, size_t n, struct found *f)
{
    if (n < 1 || d[0] != 0 || lenenc_str_read(d + 1, n - 1, &f->str, &f->len) == 0)
        return -1;
    return 0;
}

/* One entry's data; the types the proxy does not read are skipped whole. */
static int entry(uint8_t type, const uint8_t *d, size_t n, struct found *f,
                 enum gtid_flavor *flavor)
{
    struct found here = {NULL, 0};
    int rc = 0;

    if (type == SESSION_TRACK_SYSTEM_VARIABLES)
        rc = sysvar_entry(d, n, &here);
    else if (type == SESSION_TRACK_GTIDS)
        rc = gtids_entry(d, n, &here);
    /* an empty value means the statement produced no GTID: keep looking */
    if (rc == 0 && here.len > 0) {
        *f = here;
        *flavor = type == SESSION_TRACK_GTIDS ? GTID_MYSQL : GTID_MARIADB;
    }
    return rc;
}

/* The whole block is walked, so a malformed tail is reported even after a
 * GTID was seen; the last GTID found wins. */
int session_track_find_gtid(const uint8_t *block, size_t len, char *out, size_t cap,
                            enum gtid_flavor *flavor)
{
    struct found f = {NULL, 0};
    struct session_track_iter it;
    struct session_track_entry e;
    int rc;

    session_track_begin(&it, block, len);
    while ((rc = session_track_next(&it, &e)) == 1)
        if (entry(e.type, e.data, e.len, &f, flavor) < 0)
            return -1;
    if (rc < 0)
        return -1;
    if (f.str == NULL)
        return 0;
    /* a NUL inside would silently cut the text handed on */
    if (f.len >= cap || memchr(f.str, '\0', (size_t)f.len) != NULL)
        return -1;
    memcpy(out, f.str, (size_t)f.len);
    out[f.len] = '\0';
    return 1;
}

/* ---- text helpers ---- */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static const char *skip_space(const char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

/* Decimal number of at least one digit, at most max. Returns the end, or
 * NULL when there is no digit or it overflows. */
static const char *parse_num(const char *p, uint64_t max, uint64_t *out)
{
    const char *start = p;
    uint64_t v = 0;

    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > (max - digit) / 10)
            return NULL;
        v = v * 10 + digit;
    }
    *out = v;
    return p == start ? NULL : p;
}

/* ---- MariaDB: domain-server-seq lists ---- */

/* Walks a comma-separated list (whitespace allowed around items). */
struct list_iter {
    const char *p;
    bool first;
};

static void list_init(struct list_iter *it, const char *s)
{
    it->p = skip_space(s);
    it->first = true;
}

/* Returns 1 with the next triple, 0 at the end, -1 when malformed. */
static int mariadb_next(struct list_iter *it, struct mariadb_gtid *g)
{
    const char *p = it->p;

    if (*p == '\0')
        return 0;
    if (!it->first && *p++ != ',')
        return -1;
    it->first = false;
    p = parse_num(skip_space(p), UINT32_MAX, &g->domain);
    if (p == NULL || *p++ != '-' || (p = parse_num(p, UINT32_MAX, &g->server)) == NULL ||
        *p++ != '-' || (p = parse_num(p, UINT64_MAX, &g->seq)) == NULL)
        return -1;
    it->p = skip_space(p);
    return 1;
}

/* Well-formed, possibly empty. */
static bool mariadb_valid(const char *s)
{
    struct list_iter it;
    struct mariadb_gtid g;
    int rc;

    list_init(&it, s);
    while ((rc = mariadb_next(&it, &g)) == 1)
        ;
    return rc == 0;
}

/* position (already validated) has g's domain at g's sequence or later. */
static bool mariadb_has(const char *position, const struct mariadb_gtid *g)
{
    struct list_iter it;
    struct mariadb_gtid p;

    list_init(&it, position);
    while (mariadb_next(&it, &p) == 1)
        if (p.domain == g->domain && p.seq >= g->seq)
            return true;
    return false;
}

bool mariadb_gtid_covered(const char *position, const char *gtid)
{
    struct list_iter it;
    struct mariadb_gtid g;
    int rc, seen = 0;

    if (!mariadb_valid(position))
        return false;
    list_init(&it, gtid);
    while ((rc = mariadb_next(&it, &g)) == 1) {
        if (!mariadb_has(position, &g))
            return false;
        seen++;
    }
    /* an empty gtid names no write: not something to wait for */
    return rc == 0 && seen > 0;
}

int mariadb_gtid_parse(const char *list, struct mariadb_gtid *out, size_t cap)
{
    struct list_iter it;
    struct mariadb_gtid g;
    int rc;
    size_t n = 0;

    list_init(&it, list);
    while ((rc = mariadb_next(&it, &g)) == 1) {
        if (n == cap)
            return -1;
        out[n++] = g;
    }
    return rc == 0 ? (int)n : -1;
}

/* ---- MySQL: GTID sets ---- */

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 8-4-4-4-12 hex digits; stops at the NUL of a short string. */
static bool is_uuid(const char *p)
{
    for (int i = 0; i < UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? p[i] != '-' : !is_hex(p[i]))
            return false;
    }
    return true;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static bool uuid_eq(const char *a, const char *b)
{
    for (int i = 0; i < UUID_LEN; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

/* One interval of a GTID set, with the uuid it belongs to. */
struct interval {
    const char *uuid;
    uint64_t lo, hi;
};

/* Walks "uuid:a-b:c,uuid2:d" interval by interval. */
struct set_iter {
    const char *p;
    const char *uuid; /* of the element being read; NULL before the first */
};

static void set_init(struct set_iter *it, const char *s)
{
    it->p = skip_space(s);
    it->uuid = NULL;
}

/* At an element's start (the first, or after a comma): its uuid. */
static const char *set_uuid(struct set_iter *it, const char *p)
{
    if (it->uuid != NULL) {
        if (*p != ',')
            return p; /* another interval of the same uuid, checked by the caller */
        p = skip_space(p + 1);
    }
    if (!is_uuid(p))
        return NULL;
    it->uuid = p;
    return p + UUID_LEN;
}

/* Returns 1 with the next interval, 0 at the end, -1 when malformed. */
static int set_next(struct set_iter *it, struct interval *iv)
{
    const char *p = it->p;

    if (*p == '\0')
        return 0;
    if ((p = set_uuid(it, p)) == NULL || *p++ != ':' ||
        (p = parse_num(p, GNO_MAX, &iv->lo)) == NULL || iv->lo == 0)
        return -1;
    iv->hi = iv->lo;
    if (*p == '-' && ((p = parse_num(p + 1, GNO_MAX, &iv->hi)) == NULL || iv->hi < iv->lo))
        return -1;
    iv->uuid = it->uuid;
    it->p = skip_space(p);
    return 1;
}

static bool set_valid(const char *s)
{
    struct set_iter it;
    struct interval iv;
    int rc;

    set_init(&it, s);
    while ((rc = set_next(&it, &iv)) == 1)
        ;
    return rc == 0;
}

/* Returns the first transaction after need that executed (already
 * validated) has contiguously from need, or need itself when need is not in
 * it. Intervals need not be sorted or merged. */
static uint64_t covered_from(const char *executed, const char *uuid, uint64_t need)
{
    struct set_iter it;
    struct interval e;

    set_init(&it, executed);
    while (set_next(&it, &e) == 1)
        if (e.lo <= need && need <= e.hi && uuid_eq(e.uuid, uuid))
            return e.hi + 1;
    return need;
}

/* Every transaction of iv is in executed: walk forward through executed's
 * intervals until past iv's end, or stuck on a gap. */
static bool set_has(const char *executed, const struct interval *iv)
{
    uint64_t need = iv->lo;

    while (need <= iv->hi) {
        uint64_t next = covered_from(executed, iv->uuid, need);
        if (next == need)
            return false;
        need = next;
    }
    return true;
}

bool mysql_gtid_covered(const char *executed, const char *gtids)
{
    struct set_iter it;
    struct interval iv;
    int rc, seen = 0;

    if (!set_valid(executed))
        return false;
    set_init(&it, gtids);
    while ((rc = set_next(&it, &iv)) == 1) {
        if (!set_has(executed, &iv))
            return false;
        seen++;
    }
    /* an empty set names no write: not something to wait for */
    return rc == 0 && seen > 0;
}
