/* sy_bulk_client: a bulk insert (COM_STMT_BULK_EXECUTE, driven by
 * STMT_ATTR_ARRAY_SIZE) run twice on one prepared statement, the second time
 * without the parameter types (Connector/C sends them only after a bind),
 * with a pause in between in which the caller may kill the backend
 * connection, so that the proxy must prepare the statement again on a new
 * one and add the types the client sent before.
 *
 *   sy_bulk_client HOST PORT USER PASSWORD TABLE
 *
 * Prints "ready" after the first bulk and waits for a line on stdin; then
 * prints the table's rows ("a b" per line) and exits 0, or prints
 * "FAIL: reason" and exits 1. */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 3

static int fail(const char *what, const char *err)
{
    printf("FAIL: %s: %s\n", what, err);
    fflush(stdout);
    return 1;
}

static int bulk(MYSQL_STMT *st, int base)
{
    static int a[ROWS];
    static char b[ROWS][8];
    static char *b_ptr[ROWS]; /* column-wise arrays: strings by pointer */
    static unsigned long b_len[ROWS];
    static MYSQL_BIND bind[2];
    unsigned int rows = ROWS;

    for (int i = 0; i < ROWS; i++) {
        a[i] = base + i;
        b_len[i] = (unsigned long)snprintf(b[i], sizeof b[i], "r%d", base + i);
        b_ptr[i] = b[i];
    }
    if (base == 0) { /* bind once: the next execute sends no types */
        memset(bind, 0, sizeof bind);
        bind[0].buffer_type = MYSQL_TYPE_LONG;
        bind[0].buffer = a;
        bind[1].buffer_type = MYSQL_TYPE_STRING;
        bind[1].buffer = b_ptr;
        bind[1].length = b_len;
        if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &rows) ||
            mysql_stmt_bind_param(st, bind))
            return fail("bind", mysql_stmt_error(st));
    }
    if (mysql_stmt_execute(st))
        return fail("bulk execute", mysql_stmt_error(st));
    if (mysql_stmt_affected_rows(st) != ROWS)
        return fail("bulk execute", "affected rows is not the array size");
    return 0;
}

int main(int argc, char **argv)
{
    char sql[256], line[64];
    if (argc != 6) {
        fprintf(stderr, "usage: sy_bulk_client HOST PORT USER PASSWORD TABLE\n");
        return 2;
    }
    MYSQL *m = mysql_init(NULL);
    if (!mysql_real_connect(m, argv[1], argv[3], argv[4], "test", (unsigned)atoi(argv[2]), NULL,
                            0))
        return fail("connect", mysql_error(m));
    MYSQL_STMT *st = mysql_stmt_init(m);
    snprintf(sql, sizeof sql, "INSERT INTO %s (a, b) VALUES (?, ?)", argv[5]);
    if (mysql_stmt_prepare(st, sql, strlen(sql)))
        return fail("prepare", mysql_stmt_error(st));
    if (bulk(st, 0))
        return 1;
    printf("ready\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        return fail("stdin", "closed");
    if (bulk(st, ROWS))
        return 1;
    snprintf(sql, sizeof sql, "SELECT a, b FROM %s ORDER BY a", argv[5]);
    if (mysql_query(m, sql))
        return fail("select", mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        return fail("select", mysql_error(m));
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        printf("%s %s\n", row[0], row[1]);
    mysql_free_result(res);
    mysql_stmt_close(st);
    mysql_close(m);
    return 0;
}
