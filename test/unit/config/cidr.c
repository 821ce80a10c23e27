/* config/cidr: parsing single ranges and lists, and matching client
 * addresses, including IPv4 clients seen through a dual-stack socket. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "config/cidr.h"

struct parse_case {
    const char *text;
    int rc;
    int family;
    const char *addr; /* the stored network address, as text */
    int prefix;
};

static const struct parse_case parse_cases[] = {
    {"10.0.0.0/8", 0, AF_INET, "10.0.0.0", 8},
    {"10.1.2.3/8", 0, AF_INET, "10.0.0.0", 8}, /* host bits masked */
    {"192.168.1.77/30", 0, AF_INET, "192.168.1.76", 30},
    {"1.2.3.4", 0, AF_INET, "1.2.3.4", 32},
    {"1.2.3.4/32", 0, AF_INET, "1.2.3.4", 32},
    {"255.255.255.255/0", 0, AF_INET, "0.0.0.0", 0},
    {"0.0.0.0/0", 0, AF_INET, "0.0.0.0", 0},
    {"::1", 0, AF_INET6, "::1", 128},
    {"::1/128", 0, AF_INET6, "::1", 128},
    {"fd00::1234/8", 0, AF_INET6, "fd00::", 8},
    {"2001:db8:ffff::/33", 0, AF_INET6, "2001:db8:8000::", 33},
    {"::/0", 0, AF_INET6, "::", 0},
    {"ffff::/0", 0, AF_INET6, "::", 0},
    {"::ffff:10.1.2.3/104", 0, AF_INET, "10.0.0.0", 8}, /* a mapped range is IPv4 */
    {"::ffff:10.1.2.3", 0, AF_INET, "10.1.2.3", 32},
    {"::ffff:0:0/96", 0, AF_INET, "0.0.0.0", 0},
    {"::ffff:0:0/95", 0, AF_INET6, "::fffe:0:0", 95}, /* wider than IPv4: stays IPv6 */
    {"1.2.3.4/33", -1, 0, NULL, 0},
    {"::1/129", -1, 0, NULL, 0},
    {"1.2.3.4/", -1, 0, NULL, 0},
    {"1.2.3.4/-1", -1, 0, NULL, 0},
    {"1.2.3.4/+1", -1, 0, NULL, 0},
    {"1.2.3.4/ 8", -1, 0, NULL, 0},
    {"1.2.3.4/8x", -1, 0, NULL, 0},
    {"1.2.3.4/0008", -1, 0, NULL, 0},
    {"1.2.3.4/8/8", -1, 0, NULL, 0},
    {" 1.2.3.4", -1, 0, NULL, 0},
    {"1.2.3", -1, 0, NULL, 0},
    {"1.2.3.256", -1, 0, NULL, 0},
    {"localhost", -1, 0, NULL, 0},
    {"fe80::1%eth0", -1, 0, NULL, 0},
    {"[::1]", -1, 0, NULL, 0},
    {"", -1, 0, NULL, 0},
    {"/8", -1, 0, NULL, 0},
    {"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee:ffff/8", -1, 0,
     NULL, 0},
};

static void test_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        struct cidr got = {.family = -7};
        int rc = cidr_parse(c->text, &got);
        if (rc != c->rc)
            fail_msg("'%s': rc %d, want %d", c->text, rc, c->rc);
        if (rc != 0) {
            assert_int_equal(got.family, -7); /* untouched */
            continue;
        }
        uint8_t want[16] = {0};
        assert_int_equal(inet_pton(c->family, c->addr, want), 1);
        if (got.family != c->family || got.prefix != c->prefix ||
            memcmp(got.addr, want, sizeof want) != 0)
            fail_msg("'%s': family %d prefix %d, want %d /%d at %s", c->text, got.family,
                     got.prefix, c->family, c->prefix, c->addr);
    }
}

/* A client address as the kernel reports it. */
static struct sockaddr_storage client(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
        in6->sin6_family = AF_INET6;
    }
    return ss;
}

struct match_case {
    const char *cidr;
    const char *addr;
    bool match;
};

static const struct match_case match_cases[] = {
    {"10.0.0.0/8", "10.255.1.2", true},
    {"10.0.0.0/8", "11.0.0.0", false},
    {"10.0.0.0/8", "::ffff:10.9.9.9", true}, /* dual-stack socket */
    {"10.0.0.0/8", "::ffff:11.9.9.9", false},
    {"10.0.0.0/8", "::a00:1", false},        /* IPv4-compatible is not mapped */
    {"192.168.1.76/30", "192.168.1.79", true},
    {"192.168.1.76/30", "192.168.1.80", false},
    {"192.168.1.76/30", "192.168.1.75", false},
    {"1.2.3.4", "1.2.3.4", true},
    {"1.2.3.4", "1.2.3.5", false},
    {"1.2.3.4", "::ffff:1.2.3.4", true},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"0.0.0.0/0", "::ffff:203.0.113.9", true},
    {"0.0.0.0/0", "2001:db8::1", false},     /* IPv4 ranges never match IPv6 */
    {"::/0", "2001:db8::1", true},
    {"::/0", "1.2.3.4", false},              /* IPv6 ranges never match IPv4 */
    {"::/0", "::ffff:1.2.3.4", false},
    {"::1", "::1", true},
    {"::1/128", "::2", false},
    {"fd00::/8", "fdff:1::1", true},
    {"fd00::/8", "fe00::1", false},
    {"2001:db8:8000::/33", "2001:db8:ffff::1", true},
    {"2001:db8:8000::/33", "2001:db8:7fff::1", false},
    {"::ffff:10.0.0.0/104", "10.1.1.1", true},
    {"::ffff:10.0.0.0/104", "::ffff:10.1.1.1", true},
    {"127.0.0.1", "::1", false},
};

static void test_match(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
        const struct match_case *c = &match_cases[i];
        struct cidr range;
        assert_int_equal(cidr_parse(c->cidr, &range), 0);
        struct sockaddr_storage ss = client(c->addr);
        if (cidr_match(&range, (struct sockaddr *)&ss) != c->match)
            fail_msg("%s in %s: want %s", c->addr, c->cidr, c->match ? "match" : "no match");
    }
}

/* Only IP clients can match; a zeroed range matches nothing. */
static void test_match_other_families(void **state)
{
    (void)state;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    struct cidr any;
    assert_int_equal(cidr_parse("0.0.0.0/0", &any), 0);
    assert_false(cidr_match(&any, (struct sockaddr *)&un));
    struct cidr zero = {0};
    assert_false(cidr_match(&zero, (struct sockaddr *)&un));
    struct sockaddr_storage ss = client("1.2.3.4");
    assert_false(cidr_match(&zero, (struct sockaddr *)&ss));
}

static struct cidr_list list;
static char err[128];

static void test_list(void **state)
{
    (void)state;
    assert_int_equal(cidr_list_parse("10.0.0.0/8,192.168.0.0/16 ,\t::1 , fd00::/8", &list, err,
                                     sizeof err),
                     0);
    assert_int_equal(list.n, 4);
    assert_int_equal(list.items[1].prefix, 16);
    assert_int_equal(list.items[2].family, AF_INET6);
    struct sockaddr_storage a = client("192.168.3.4"), b = client("::1"), c = client("8.8.8.8");
    assert_true(cidr_list_match(&list, (struct sockaddr *)&a));
    assert_true(cidr_list_match(&list, (struct sockaddr *)&b));
    assert_false(cidr_list_match(&list, (struct sockaddr *)&c));
    assert_int_equal(cidr_list_parse("  1.2.3.4  ", &list, err, sizeof err), 0);
    assert_int_equal(list.n, 1);
}

/* The empty list parses, and matches nobody: callers decide what it means. */
static void test_empty_list(void **state)
{
    (void)state;
    assert_int_equal(cidr_list_parse("", &list, err, sizeof err), 0);
    assert_int_equal(list.n, 0);
    assert_int_equal(cidr_list_parse(" \t ", &list, err, sizeof err), 0);
    assert_int_equal(list.n, 0);
    struct sockaddr_storage a = client("1.2.3.4");
    assert_false(cidr_list_match(&list, (struct sockaddr *)&a));
}

struct list_error {
    const char *text;
    const char *err;
};

static const struct list_error list_errors[] = {
    {"1.2.3.4, bogus", "'bogus': not an IPv4 or IPv6 address range, e.g. 10.0.0.0/8 or fd00::/8"},
    {"1.2.3.4/40", "'1.2.3.4/40': the prefix must be a number from 0 to 32"},
    {"::/200, 1.2.3.4", "'::/200': the prefix must be a number from 0 to 128"},
    {"1.2.3.4,", "'': empty item (two commas in a row, or a trailing comma)"},
    {",1.2.3.4", "'': empty item"},
    {"1.2.3.4, ,5.6.7.8", "'': empty item"},
    {"1.2.3.4 5.6.7.8", "'1.2.3.4 5.6.7.8': not an IPv4 or IPv6"},
    {"1.2.3.4;5.6.7.8", "'1.2.3.4;5.6.7.8': not an IPv4 or IPv6"},
};

static void test_list_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof list_errors / sizeof list_errors[0]; i++) {
        const struct list_error *c = &list_errors[i];
        list.n = 99;
        if (cidr_list_parse(c->text, &list, err, sizeof err) != -1 ||
            strncmp(err, c->err, strlen(c->err)) != 0)
            fail_msg("'%s': got '%s', want '%s'", c->text, err, c->err);
        assert_int_equal(list.n, 0);
    }
}

/* CONFIG_MAX_CIDRS ranges fit; one more is reported by its text. */
static void test_list_overflow(void **state)
{
    (void)state;
    char text[2048] = "";
    for (int i = 0; i < CONFIG_MAX_CIDRS; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s10.0.%d.0/24", i ? ", " : "",
                 i);
    assert_int_equal(cidr_list_parse(text, &list, err, sizeof err), 0);
    assert_int_equal(list.n, CONFIG_MAX_CIDRS);
    strcat(text, ", 10.1.0.0/24");
    assert_int_equal(cidr_list_parse(text, &list, err, sizeof err), -1);
    assert_string_equal(err, "'10.1.0.0/24': too many ranges (at most 64)");
    assert_int_equal(list.n, 0);
}

/* A long bad item is cut in the message, which always fits err. */
static void test_list_error_truncated(void **state)
{
    (void)state;
    char text[300];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    char small[16];
    assert_int_equal(cidr_list_parse(text, &list, small, sizeof small), -1);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(strncmp(small, "'xxxx", 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_match_other_families),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_empty_list),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_list_overflow),
        cmocka_unit_test(test_list_error_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
