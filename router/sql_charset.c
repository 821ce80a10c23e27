/* Character sets for the lexer. The whitespace bytes come from the ctype
 * tables MariaDB 10.11 ships (sql/share/charsets/NAME.xml, strings/ctype-NAME.c:
 * the _MY_SPC bit), the multi-byte ranges from strings/ctype-{gbk,big5,sjis,
 * cp932,euc_kr}.c. tis620, binary and the ucs2/utf16/utf32 family are left
 * unknown on purpose. */
#include "router/sql_charset.h"

#include <stdbool.h>

enum cs_index {
    CS_UNKNOWN, CS_ARMSCII8, CS_ASCII, CS_BIG5, CS_CP1250, CS_CP1251, CS_CP1256, CS_CP1257,
    CS_CP850, CS_CP852, CS_CP866, CS_CP932, CS_DEC8, CS_EUCJPMS, CS_EUCKR, CS_GB2312, CS_GBK,
    CS_GEOSTD8, CS_GREEK, CS_HEBREW, CS_HP8, CS_KEYBCS2, CS_KOI8R, CS_KOI8U, CS_LATIN1,
    CS_LATIN2, CS_LATIN5, CS_LATIN7, CS_MACCE, CS_MACROMAN, CS_SJIS, CS_SWE7, CS_UJIS,
    CS_UTF8MB3, CS_UTF8MB4, CS_COUNT
};

static const struct sql_charset charsets[CS_COUNT] = {
    [CS_ARMSCII8] = {"armscii8", SQL_MB_NONE, 0xA0}, [CS_ASCII] = {"ascii", SQL_MB_NONE, 0},
    [CS_BIG5] = {"big5", SQL_MB_BIG5, 0},           [CS_CP1250] = {"cp1250", SQL_MB_NONE, 0xA0},
    [CS_CP1251] = {"cp1251", SQL_MB_NONE, 0},       [CS_CP1256] = {"cp1256", SQL_MB_NONE, 0},
    [CS_CP1257] = {"cp1257", SQL_MB_NONE, 0},       [CS_CP850] = {"cp850", SQL_MB_NONE, 0},
    [CS_CP852] = {"cp852", SQL_MB_NONE, 0xFF},      [CS_CP866] = {"cp866", SQL_MB_NONE, 0xFF},
    [CS_CP932] = {"cp932", SQL_MB_SJIS, 0},         [CS_DEC8] = {"dec8", SQL_MB_NONE, 0xA0},
    [CS_EUCJPMS] = {"eucjpms", SQL_MB_NONE, 0},     [CS_EUCKR] = {"euckr", SQL_MB_EUCKR, 0},
    [CS_GB2312] = {"gb2312", SQL_MB_NONE, 0},       [CS_GBK] = {"gbk", SQL_MB_GBK, 0},
    [CS_GEOSTD8] = {"geostd8", SQL_MB_NONE, 0xA0},  [CS_GREEK] = {"greek", SQL_MB_NONE, 0xA0},
    [CS_HEBREW] = {"hebrew", SQL_MB_NONE, 0xA0},    [CS_HP8] = {"hp8", SQL_MB_NONE, 0},
    [CS_KEYBCS2] = {"keybcs2", SQL_MB_NONE, 0xFF},  [CS_KOI8R] = {"koi8r", SQL_MB_NONE, 0},
    [CS_KOI8U] = {"koi8u", SQL_MB_NONE, 0},         [CS_LATIN1] = {"latin1", SQL_MB_NONE, 0xA0},
    [CS_LATIN2] = {"latin2", SQL_MB_NONE, 0xA0},    [CS_LATIN5] = {"latin5", SQL_MB_NONE, 0xA0},
    [CS_LATIN7] = {"latin7", SQL_MB_NONE, 0xA0},    [CS_MACCE] = {"macce", SQL_MB_NONE, 0},
    [CS_MACROMAN] = {"macroman", SQL_MB_NONE, 0},   [CS_SJIS] = {"sjis", SQL_MB_SJIS, 0},
    [CS_SWE7] = {"swe7", SQL_MB_NONE, 0},           [CS_UJIS] = {"ujis", SQL_MB_NONE, 0},
    [CS_UTF8MB3] = {"utf8mb3", SQL_MB_NONE, 0},     [CS_UTF8MB4] = {"utf8mb4", SQL_MB_NONE, 0},
};

/* Collation ids 1-247 of MariaDB 10.11 (information_schema.COLLATIONS), as
 * runs of consecutive ids with one character set. */
struct id_run {
    unsigned char first, last, cs;
};

static const struct id_run id_runs[] = {
    {1, 1, CS_BIG5},       {2, 2, CS_LATIN2},     {3, 3, CS_DEC8},       {4, 4, CS_CP850},
    {5, 5, CS_LATIN1},     {6, 6, CS_HP8},        {7, 7, CS_KOI8R},      {8, 8, CS_LATIN1},
    {9, 9, CS_LATIN2},     {10, 10, CS_SWE7},     {11, 11, CS_ASCII},    {12, 12, CS_UJIS},
    {13, 13, CS_SJIS},     {14, 14, CS_CP1251},   {15, 15, CS_LATIN1},   {16, 16, CS_HEBREW},
    {19, 19, CS_EUCKR},    {20, 20, CS_LATIN7},   {21, 21, CS_LATIN2},   {22, 22, CS_KOI8U},
    {23, 23, CS_CP1251},   {24, 24, CS_GB2312},   {25, 25, CS_GREEK},    {26, 26, CS_CP1250},
    {27, 27, CS_LATIN2},   {28, 28, CS_GBK},      {29, 29, CS_CP1257},   {30, 30, CS_LATIN5},
    {31, 31, CS_LATIN1},   {32, 32, CS_ARMSCII8}, {33, 33, CS_UTF8MB3},  {34, 34, CS_CP1250},
    {36, 36, CS_CP866},    {37, 37, CS_KEYBCS2},  {38, 38, CS_MACCE},    {39, 39, CS_MACROMAN},
    {40, 40, CS_CP852},    {41, 42, CS_LATIN7},   {43, 43, CS_MACCE},    {44, 44, CS_CP1250},
    {45, 46, CS_UTF8MB4},  {47, 49, CS_LATIN1},   {50, 52, CS_CP1251},   {53, 53, CS_MACROMAN},
    {57, 57, CS_CP1256},   {58, 59, CS_CP1257},   {64, 64, CS_ARMSCII8}, {65, 65, CS_ASCII},
    {66, 66, CS_CP1250},   {67, 67, CS_CP1256},   {68, 68, CS_CP866},    {69, 69, CS_DEC8},
    {70, 70, CS_GREEK},    {71, 71, CS_HEBREW},   {72, 72, CS_HP8},      {73, 73, CS_KEYBCS2},
    {74, 74, CS_KOI8R},    {75, 75, CS_KOI8U},    {77, 77, CS_LATIN2},   {78, 78, CS_LATIN5},
    {79, 79, CS_LATIN7},   {80, 80, CS_CP850},    {81, 81, CS_CP852},    {82, 82, CS_SWE7},
    {83, 83, CS_UTF8MB3},  {84, 84, CS_BIG5},     {85, 85, CS_EUCKR},    {86, 86, CS_GB2312},
    {87, 87, CS_GBK},      {88, 88, CS_SJIS},     {91, 91, CS_UJIS},     {92, 93, CS_GEOSTD8},
    {94, 94, CS_LATIN1},   {95, 96, CS_CP932},    {97, 98, CS_EUCJPMS},  {99, 99, CS_CP1250},
    {192, 215, CS_UTF8MB3}, {223, 223, CS_UTF8MB3}, {224, 247, CS_UTF8MB4},
    {255, 255, CS_UTF8MB4}, /* MySQL 8's utf8mb4_0900_ai_ci, what its connectors send */
};

const struct sql_charset *sql_charset_by_collation(unsigned id)
{
    for (size_t i = 0; i < sizeof id_runs / sizeof id_runs[0]; i++) {
        if (id >= id_runs[i].first && id <= id_runs[i].last)
            return &charsets[id_runs[i].cs];
    }
    return NULL;
}

/* Case-insensitive equality of a text with a lower-case ASCII name. */
static bool name_eq(const char *text, size_t len, const char *name)
{
    size_t i = 0;
    for (; i < len && name[i] != '\0'; i++) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != name[i])
            return false;
    }
    return i == len && name[i] == '\0';
}

const struct sql_charset *sql_charset_by_name(const char *name, size_t len)
{
    if (name == NULL)
        return NULL;
    if (name_eq(name, len, "utf8"))
        return &charsets[CS_UTF8MB3];
    for (size_t i = 1; i < CS_COUNT; i++) {
        if (name_eq(name, len, charsets[i].name))
            return &charsets[i];
    }
    return NULL;
}

const struct sql_charset *sql_charset_default(void)
{
    return &charsets[CS_UTF8MB4];
}

/* Collation ids of ucs2, utf16, utf16le and utf32 (information_schema.COLLATIONS
 * of MariaDB 10.11, including the ids above 255 that COM_CHANGE_USER can
 * carry): character sets whose characters are never one byte, which the
 * server refuses as character_set_client. */
struct refused_run {
    unsigned short first, last;
    const char *name;
};

static const struct refused_run refused_runs[] = {
    {35, 35, "ucs2"},     {54, 55, "utf16"},     {56, 56, "utf16le"},   {60, 61, "utf32"},
    {62, 62, "utf16le"},  {90, 90, "ucs2"},      {101, 124, "utf16"},   {128, 151, "ucs2"},
    {159, 159, "ucs2"},   {160, 183, "utf32"},   {640, 642, "ucs2"},    {672, 674, "utf16"},
    {736, 738, "utf32"},  {1059, 1059, "ucs2"},  {1078, 1079, "utf16"}, {1080, 1080, "utf16le"},
    {1084, 1085, "utf32"}, {1086, 1086, "utf16le"}, {1114, 1114, "ucs2"}, {1125, 1125, "utf16"},
    {1147, 1147, "utf16"}, {1152, 1152, "ucs2"}, {1174, 1174, "ucs2"},  {1184, 1184, "utf32"},
    {1206, 1206, "utf32"},
};

const char *sql_charset_refused_for_client(unsigned id)
{
    for (size_t i = 0; i < sizeof refused_runs / sizeof refused_runs[0]; i++) {
        if (id >= refused_runs[i].first && id <= refused_runs[i].last)
            return refused_runs[i].name;
    }
    return NULL;
}

static bool in(unsigned char c, unsigned lo, unsigned hi)
{
    return c >= lo && c <= hi;
}

/* Is (a, b) one double-byte character of this kind? */
static bool mb_pair(enum sql_mb_kind mb, unsigned char a, unsigned char b)
{
    switch (mb) {
    case SQL_MB_GBK:
        return in(a, 0x81, 0xFE) && (in(b, 0x40, 0x7E) || in(b, 0x80, 0xFE));
    case SQL_MB_BIG5:
        return in(a, 0xA1, 0xF9) && (in(b, 0x40, 0x7E) || in(b, 0xA1, 0xFE));
    case SQL_MB_SJIS:
        return (in(a, 0x81, 0x9F) || in(a, 0xE0, 0xFC)) && (in(b, 0x40, 0x7E) || in(b, 0x80, 0xFC));
    case SQL_MB_EUCKR:
        return in(a, 0x81, 0xFE) && (in(b, 0x41, 0x5A) || in(b, 0x61, 0x7A) || in(b, 0x81, 0xFE));
    default:
        return false;
    }
}

size_t sql_charset_char_len(const struct sql_charset *cs, const unsigned char *p, size_t avail)
{
    if (cs != NULL && avail >= 2 && mb_pair(cs->mb, p[0], p[1]))
        return 2;
    return 1;
}
