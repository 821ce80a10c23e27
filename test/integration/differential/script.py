"""Deterministic SQL script for the differential test (test_differential.py).

``generate(seed)`` returns a list of statements. ``{P}`` in a statement stands for the
run's table-name prefix (every name it creates starts with ``{P}dt_``); the item
``SYNC`` is not SQL: the runner waits there until both replicas have applied
everything the primary has binlogged. The script never reads, in autocommit mode
outside a pinned session, data written since the last SYNC (replication is
asynchronous; read-your-writes is not promised), and never uses @@port,
@@server_id, CONNECTION_ID(), NOW() or RAND() without a seed.

Run ``python3 script.py [seed]`` to print it.
"""

import random
import sys

SYNC = "SYNC"
CATS = "abcde"
TABLES = ("items", "cats", "log", "uniq", "tmp", "tmp2", "ev", "seq")  # every {P}dt_<name> the script may create


def _q(s):
    return "'" + s.replace("'", "''") + "'"


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.out = []
        self.next_name = 0

    def add(self, *stmts):
        self.out.extend(stmts)

    def sync(self):
        if self.out and self.out[-1] != SYNC:
            self.out.append(SYNC)

    # ------------------------------------------------------------------ data
    def item_values(self):
        r = self.r
        self.next_name += 1
        name = f"n{self.next_name:04d}"
        note = r.choice([None, "x", "12abc", "7", "note " + str(r.randint(1, 99)), "-3.5"])
        return (f"({_q(r.choice(CATS))}, {_q(name)}, {r.randint(0, 200)}, "
                f"{r.randint(100, 99999) / 100:.2f}, {'NULL' if note is None else _q(note)})")

    def insert_items(self, rows=None):
        rows = rows or self.r.choice([1, 1, 1, 2, 3, 5])
        vals = ", ".join(self.item_values() for _ in range(rows))
        self.add(f"INSERT INTO {{P}}dt_items (cat, name, qty, price, note) VALUES {vals}")

    def some_name(self):
        return f"n{self.r.randint(1, max(1, self.next_name)):04d}"

    # ------------------------------------------------------------------ reads
    def read(self):
        r = self.r
        c = _q(r.choice(CATS))
        a = r.randint(0, 150)
        b = a + r.randint(5, 80)
        k = r.randint(1, 8)
        pick = r.randrange(22)
        if pick == 0:
            return f"SELECT id, name, qty FROM {{P}}dt_items WHERE cat = {c} ORDER BY id"
        if pick == 1:
            return (f"SELECT COUNT(*), SUM(qty), MIN(price), MAX(price) FROM {{P}}dt_items "
                    f"WHERE qty BETWEEN {a} AND {b}")
        if pick == 2:
            return ("SELECT cat, COUNT(*) AS n, SUM(qty), AVG(price) FROM {P}dt_items "
                    "GROUP BY cat ORDER BY cat")
        if pick == 3:
            return (f"SELECT i.name, c.label, i.qty FROM {{P}}dt_items i JOIN {{P}}dt_cats c "
                    f"ON c.cat = i.cat WHERE i.qty > {a} ORDER BY i.id LIMIT {k}")
        if pick == 4:
            return ("SELECT c.label, COUNT(i.id), COALESCE(SUM(i.qty), 0) FROM {P}dt_cats c "
                    "LEFT JOIN {P}dt_items i ON i.cat = c.cat GROUP BY c.label ORDER BY c.label")
        if pick == 5:
            return (f"SELECT name, price * qty AS total FROM {{P}}dt_items "
                    f"ORDER BY total DESC, id LIMIT {k}")
        if pick == 6:
            return ("SELECT cat, GROUP_CONCAT(name ORDER BY name SEPARATOR ',') FROM {P}dt_items "
                    f"GROUP BY cat HAVING COUNT(*) > {r.randint(1, 4)} ORDER BY cat")
        if pick == 7:
            return "SELECT DISTINCT cat FROM {P}dt_items ORDER BY cat DESC"
        if pick == 8:
            return f"SELECT id, name FROM {{P}}dt_items WHERE name LIKE 'n00{r.randint(0, 9)}%' ORDER BY id"
        if pick == 9:
            return (f"SELECT name FROM {{P}}dt_items WHERE cat IN (SELECT cat FROM {{P}}dt_cats "
                    f"WHERE weight > {r.randint(0, 5)}) AND qty < {b} ORDER BY name LIMIT {k}")
        if pick == 10:
            return (f"SELECT name AS v FROM {{P}}dt_items WHERE cat = {c} UNION "
                    "SELECT label FROM {P}dt_cats ORDER BY 1 LIMIT 12")
        if pick == 11:
            return (f"SELECT id, CASE WHEN qty > {a} THEN 'big' WHEN qty > 10 THEN 'mid' ELSE 'small' END "
                    f"AS size FROM {{P}}dt_items WHERE cat = {c} ORDER BY id")
        if pick == 12:
            return (f"WITH t AS (SELECT cat, SUM(qty) AS s FROM {{P}}dt_items GROUP BY cat) "
                    f"SELECT c.label, t.s FROM t JOIN {{P}}dt_cats c USING (cat) WHERE t.s > {a} ORDER BY c.label")
        if pick == 13:
            return f"SELECT * FROM {{P}}dt_items WHERE name = {_q(self.some_name())}"
        if pick == 14:
            return (f"SELECT id, name, ROUND(price / {r.randint(1, 9)}, 3) FROM {{P}}dt_items "
                    f"ORDER BY price, id LIMIT {k} OFFSET {r.randint(0, 10)}")
        if pick == 15:
            return "SELECT COUNT(*), COUNT(note), COUNT(DISTINCT cat) FROM {P}dt_items"
        if pick == 16:
            return ("SELECT cat, MAX(qty) - MIN(qty), STDDEV_POP(qty) > 0 FROM {P}dt_items "
                    "GROUP BY cat ORDER BY cat")
        if pick == 17:
            return "SELECT id, msg, n FROM {P}dt_log ORDER BY id"
        if pick == 18:
            return (f"SELECT i.id, (SELECT COUNT(*) FROM {{P}}dt_items j WHERE j.cat = i.cat AND j.id < i.id) "
                    f"AS rank_in_cat FROM {{P}}dt_items i WHERE i.cat = {c} ORDER BY i.id")
        if pick == 19:
            return (f"SELECT UPPER(name), CONCAT(cat, '-', qty), LENGTH(COALESCE(note, '')) "
                    f"FROM {{P}}dt_items WHERE id % {r.randint(2, 7)} = 0 ORDER BY id LIMIT {k}")
        if pick == 20:
            return "SELECT cat, label, weight FROM {P}dt_cats ORDER BY weight, cat"
        return (f"SELECT EXISTS(SELECT 1 FROM {{P}}dt_items WHERE qty = {a}), "
                f"(SELECT MAX(id) FROM {{P}}dt_items WHERE cat = {c})")

    def reads(self, n):
        for _ in range(n):
            self.add(self.read())
            x = self.r.random()
            if x < 0.12:
                self.add("SELECT FOUND_ROWS()")
            elif x < 0.18:
                self.add("SELECT ROW_COUNT()")
            elif x < 0.22:
                self.add("SHOW WARNINGS")

    def special_reads(self):
        r = self.r
        k = r.randint(1, 3)
        self.add(f"SELECT SQL_CALC_FOUND_ROWS id, name FROM {{P}}dt_items ORDER BY id LIMIT {k}",
                 "SELECT FOUND_ROWS()",
                 f"SELECT SQL_CALC_FOUND_ROWS name FROM {{P}}dt_items WHERE cat = {_q(r.choice(CATS))} "
                 f"ORDER BY name LIMIT {k}",
                 "SELECT FOUND_ROWS()",
                 # warnings from a read: notes like 'x' and '12abc' are not numbers
                 "SELECT id, CAST(note AS SIGNED) FROM {P}dt_items WHERE note IS NOT NULL ORDER BY id LIMIT 6",
                 "SHOW WARNINGS",
                 "SHOW COUNT(*) WARNINGS",
                 "SELECT 1/0, 7 DIV 0",
                 "SHOW WARNINGS",
                 # errors from reads
                 "SELECT no_such_column FROM {P}dt_items",
                 "SHOW WARNINGS",
                 "SELECT * FROM {P}dt_nosuch",
                 "SHOW ERRORS",
                 "SELEC name FROM {P}dt_items",
                 "SHOW COUNT(*) ERRORS",
                 "DESCRIBE {P}dt_items",
                 "SHOW COLUMNS FROM {P}dt_cats",
                 "SHOW TABLES LIKE '{P}dt%'",
                 "EXPLAIN SELECT id FROM {P}dt_items WHERE id = 3")

    # ------------------------------------------------------------------ writes
    def write(self):
        r = self.r
        pick = r.randrange(10)
        if pick <= 2:
            self.insert_items()
            if r.random() < 0.6:
                self.add("SELECT LAST_INSERT_ID()")
        elif pick == 3:
            self.add(f"UPDATE {{P}}dt_items SET qty = qty + {r.randint(1, 9)} WHERE cat = {_q(r.choice(CATS))}",
                     "SELECT ROW_COUNT()")
        elif pick == 4:
            self.add(f"UPDATE {{P}}dt_items SET price = price * 1.1 WHERE qty < {r.randint(10, 100)}",
                     "SHOW WARNINGS")
        elif pick == 5:
            self.add(f"DELETE FROM {{P}}dt_items WHERE qty > {r.randint(150, 230)} AND cat = {_q(r.choice(CATS))}",
                     "SELECT ROW_COUNT()")
        elif pick == 6:
            self.add(f"INSERT INTO {{P}}dt_items (cat, name, qty, price) VALUES "
                     f"({_q(r.choice(CATS))}, {_q(self.some_name())}, 1, 1.00) "
                     f"ON DUPLICATE KEY UPDATE qty = qty + 1",
                     "SELECT ROW_COUNT(), LAST_INSERT_ID()")
        elif pick == 7:
            # duplicate key: an error
            self.add(f"INSERT INTO {{P}}dt_items (cat, name, qty, price) VALUES ('a', {_q(self.some_name())}, 1, 1)",
                     "SHOW WARNINGS")
        elif pick == 8:
            self.add(f"INSERT INTO {{P}}dt_log (msg, n) VALUES ('w{len(self.out)}', {r.randint(0, 9)})",
                     "SELECT LAST_INSERT_ID(), ROW_COUNT()")
        else:
            self.add(f"REPLACE INTO {{P}}dt_cats (cat, label, weight) VALUES "
                     f"({_q(r.choice(CATS))}, 'cat {r.randint(0, 99)}', {r.randint(0, 9)})",
                     "SELECT ROW_COUNT()")

    def writes(self, n):
        for _ in range(n):
            self.write()

    # ------------------------------------------------------------------ blocks
    def setup(self):
        self.add("CREATE TABLE {P}dt_items (id INT AUTO_INCREMENT PRIMARY KEY, cat CHAR(1) NOT NULL, "
                 "name VARCHAR(32) NOT NULL, qty INT NOT NULL, price DECIMAL(8,2) NOT NULL, "
                 "note VARCHAR(32) NULL, UNIQUE KEY (name), KEY (cat)) ENGINE=InnoDB",
                 "CREATE TABLE {P}dt_cats (cat CHAR(1) PRIMARY KEY, label VARCHAR(20) NOT NULL, "
                 "weight INT NOT NULL) ENGINE=InnoDB",
                 "CREATE TABLE {P}dt_log (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(64) NOT NULL, "
                 "n INT) ENGINE=InnoDB",
                 "CREATE TABLE {P}dt_uniq (k INT PRIMARY KEY, v VARCHAR(8) NOT NULL) ENGINE=InnoDB",
                 "CREATE TABLE {P}dt_items (id INT)")  # error 1050
        for i, c in enumerate(CATS):
            self.add(f"INSERT INTO {{P}}dt_cats VALUES ({_q(c)}, 'label {c}', {i * 2})")
        self.add("SELECT LAST_INSERT_ID(), ROW_COUNT()")
        for _ in range(12):
            self.insert_items(self.r.choice([1, 3, 4]))
        self.add("SELECT LAST_INSERT_ID()", "SELECT ROW_COUNT()")

    def session_block(self):
        r = self.r
        v = r.randint(2, 9)
        self.add(f"SET @v = {v}",
                 f"SET @name = {_q(self.some_name())}, @lim = {r.randint(1, 5)}",
                 "SELECT @v, @name, @lim, @never_set",
                 "SELECT id, qty * @v FROM {P}dt_items WHERE name >= @name ORDER BY id LIMIT 5",
                 "SET @total = (SELECT SUM(qty) FROM {P}dt_items)",
                 "SELECT @total, @total / @v",
                 "SET @r = 0",
                 "SELECT @r := @r + 1 AS rn, name FROM {P}dt_items ORDER BY id LIMIT 4",
                 # character sets
                 "SET NAMES latin1",
                 "SELECT @@character_set_client, @@character_set_results, @@collation_connection",
                 "SELECT name, cat FROM {P}dt_items ORDER BY id LIMIT 3",
                 "SET CHARACTER SET utf8mb4",
                 "SELECT @@character_set_client, @@character_set_connection, @@character_set_results",
                 "SET NAMES utf8mb4",
                 "SELECT CHARSET(name), COLLATION(CONCAT(name, '')) FROM {P}dt_items ORDER BY id LIMIT 1",
                 # sql_mode
                 "SET SESSION sql_mode = 'PIPES_AS_CONCAT'",
                 "SELECT name || '-' || cat FROM {P}dt_items ORDER BY id LIMIT 3",
                 "SET SESSION sql_mode = 'ANSI_QUOTES'",
                 "SELECT \"name\", \"qty\" FROM {P}dt_items ORDER BY id LIMIT 2",
                 "SELECT 'a' || 'b'",
                 "SHOW WARNINGS",
                 "SET SESSION sql_mode = DEFAULT",
                 "SELECT @@sql_mode",
                 "SELECT \"name\" FROM {P}dt_items ORDER BY id LIMIT 1",
                 # time zone
                 "SET time_zone = '+05:00'",
                 "SELECT @@time_zone, FROM_UNIXTIME(0), FROM_UNIXTIME(86400 * 365)",
                 "SET time_zone = '-02:30'",
                 "SELECT FROM_UNIXTIME(1000000000), UNIX_TIMESTAMP('2001-09-09 00:00:00')",
                 "SET time_zone = '+00:00'",
                 # isolation level, other session variables
                 "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                 "SELECT @@tx_isolation",
                 "SET SESSION group_concat_max_len = 12",
                 "SELECT GROUP_CONCAT(name ORDER BY id) FROM {P}dt_items",
                 "SHOW WARNINGS",
                 "SET SESSION group_concat_max_len = DEFAULT",
                 "SET SESSION div_precision_increment = 8",
                 "SELECT 1 / 3, SUM(qty) / 7 FROM {P}dt_items",
                 "SET SESSION div_precision_increment = DEFAULT",
                 "SELECT 1 / 3",
                 # databases
                 "USE sbtest",
                 "SELECT DATABASE()",
                 "SELECT COUNT(*) FROM test.{P}dt_cats",
                 "SELECT COUNT(*) FROM {P}dt_cats",
                 "USE test",
                 "SELECT DATABASE(), COUNT(*) FROM {P}dt_cats",
                 "USE no_such_database_sy",
                 "SELECT DATABASE()",
                 "SET no_such_variable_sy = 1",
                 "SET @@session.sql_mode = 'NOT_A_MODE'",
                 "SELECT @@sql_mode")

    def strict_off_block(self):
        self.add("SET SESSION sql_mode = ''",
                 "INSERT INTO {P}dt_log (msg, n) VALUES (REPEAT('z', 80), 'abc')",
                 "SHOW WARNINGS",
                 "SELECT ROW_COUNT(), LAST_INSERT_ID(), @@warning_count",
                 "SET SESSION sql_mode = DEFAULT",
                 "INSERT INTO {P}dt_log (msg, n) VALUES (REPEAT('z', 80), 1)",
                 "SHOW WARNINGS",
                 "INSERT INTO {P}dt_log (msg, n) VALUES (NULL, 1)",
                 "SELECT LAST_INSERT_ID()")

    def transaction_block(self, begin, end, with_error):
        self.add(begin)
        self.reads(2)
        self.insert_items(2)
        self.add("SELECT LAST_INSERT_ID()",
                 "SELECT COUNT(*), MAX(id) FROM {P}dt_items",
                 f"UPDATE {{P}}dt_items SET note = 'in trx' WHERE cat = {_q(self.r.choice(CATS))}",
                 "SELECT ROW_COUNT()",
                 "SELECT id, note FROM {P}dt_items WHERE note = 'in trx' ORDER BY id")
        if with_error:
            self.add(f"INSERT INTO {{P}}dt_items (cat, name, qty, price) VALUES ('a', {_q(self.some_name())}, 1, 1)",
                     "SELECT @@in_transaction",
                     "SELECT * FROM {P}dt_nosuch",
                     "SELECT COUNT(*) FROM {P}dt_items WHERE note = 'in trx'",
                     "SHOW WARNINGS")
        self.reads(3)
        self.add("SELECT @@in_transaction", end, "SELECT @@in_transaction")
        self.sync()

    def temp_table_block(self):
        self.add("CREATE TEMPORARY TABLE {P}dt_tmp AS SELECT id, name, qty FROM {P}dt_items WHERE qty > 50",
                 "SELECT COUNT(*) FROM {P}dt_tmp",
                 "INSERT INTO {P}dt_tmp VALUES (-1, 'temp row', 0)",
                 "SELECT id, name FROM {P}dt_tmp WHERE id < 5 ORDER BY id",
                 "SELECT t.name, i.cat FROM {P}dt_tmp t JOIN {P}dt_items i USING (id) ORDER BY t.id LIMIT 5",
                 # shadow a permanent table
                 "CREATE TEMPORARY TABLE {P}dt_cats (cat CHAR(1), label VARCHAR(20), weight INT)",
                 "INSERT INTO {P}dt_cats VALUES ('t', 'temporary', 0)",
                 "SELECT * FROM {P}dt_cats ORDER BY cat",
                 "DROP TEMPORARY TABLE {P}dt_cats",
                 "SELECT cat, label FROM {P}dt_cats ORDER BY cat",
                 "CREATE TEMPORARY TABLE {P}dt_tmp2 (a INT)",
                 "INSERT INTO {P}dt_tmp2 VALUES (1), (2), (3)",
                 "SELECT ROW_COUNT()",
                 "DROP TEMPORARY TABLE {P}dt_tmp",
                 "SELECT COUNT(*) FROM {P}dt_tmp",
                 "SELECT SUM(a) FROM {P}dt_tmp2",
                 "DROP TEMPORARY TABLE IF EXISTS {P}dt_tmp",
                 "SHOW WARNINGS",
                 "DROP TEMPORARY TABLE {P}dt_tmp2")
        self.reads(3)

    def autocommit_block(self):
        self.add("SET autocommit = 0")
        self.insert_items(1)
        self.add("SELECT COUNT(*) FROM {P}dt_items", "ROLLBACK", "SELECT COUNT(*) FROM {P}dt_items")
        self.insert_items(2)
        self.add("COMMIT", "SELECT COUNT(*), MAX(id) FROM {P}dt_items", "SELECT @@autocommit",
                 "SET autocommit = 1", "SELECT @@autocommit")
        self.sync()

    def locks_block(self):
        self.add("SELECT GET_LOCK('{P}dt_lock', 5)",
                 "SELECT IS_FREE_LOCK('{P}dt_lock')")
        self.reads(2)
        self.add("SELECT RELEASE_LOCK('{P}dt_lock')",
                 "SELECT RELEASE_LOCK('{P}dt_lock')",
                 "LOCK TABLES {P}dt_items READ, {P}dt_cats READ")
        self.reads(2)
        self.add("INSERT INTO {P}dt_log (msg) VALUES ('locked')",  # error 1100: not locked
                 "UNLOCK TABLES")
        self.reads(2)

    def read_only_trx_block(self):
        self.add("START TRANSACTION READ ONLY")
        self.reads(4)
        self.add("SELECT @@in_transaction", "COMMIT")

    def uniq_block(self):
        self.add("INSERT INTO {P}dt_uniq VALUES (1, 'one'), (2, 'two')",
                 "INSERT INTO {P}dt_uniq VALUES (3, 'three'), (2, 'again')",  # 1062, nothing inserted
                 "SELECT ROW_COUNT()",
                 "INSERT IGNORE INTO {P}dt_uniq VALUES (3, 'three'), (2, 'again')",
                 "SHOW WARNINGS",
                 "SELECT ROW_COUNT()",
                 "UPDATE {P}dt_uniq SET v = 'ONE' WHERE k = 1",
                 "UPDATE {P}dt_uniq SET v = 'ONE' WHERE k = 1",  # 0 changed
                 "SELECT ROW_COUNT()",
                 "DELETE FROM {P}dt_uniq WHERE k > 100",
                 "SELECT ROW_COUNT()")

    def events_block(self):
        """TIMESTAMP values read back under other time zones (after a SYNC)."""
        self.add("CREATE TABLE {P}dt_ev (id INT PRIMARY KEY, ts TIMESTAMP NULL, d DATETIME NULL) ENGINE=InnoDB",
                 "SET time_zone = '+00:00'")
        for i in range(1, 6):
            self.add(f"INSERT INTO {{P}}dt_ev VALUES ({i}, '2020-0{i}-0{i} 1{i}:00:00', '2020-0{i}-0{i} 1{i}:00:00')")
        self.add("CREATE SEQUENCE {P}dt_seq START WITH 100 INCREMENT BY 5",
                 "SELECT NEXTVAL({P}dt_seq)", "SELECT NEXTVAL({P}dt_seq), LASTVAL({P}dt_seq)",
                 "SELECT NEXT VALUE FOR {P}dt_seq", "SELECT LASTVAL({P}dt_seq)")
        self.sync()
        self.add("SET time_zone = '+05:00'",
                 "SELECT id, ts, d, UNIX_TIMESTAMP(ts) FROM {P}dt_ev ORDER BY id",
                 "SHOW SESSION VARIABLES LIKE 'time_zone'",
                 "SET @@session.time_zone = '-08:00'",
                 "SELECT id, ts FROM {P}dt_ev WHERE ts > '2020-03-01' ORDER BY id",
                 "SELECT @@session.time_zone",
                 "SET time_zone = DEFAULT",
                 "SELECT COUNT(*) FROM {P}dt_ev WHERE ts < '2020-04-04 14:00:00'",
                 "SET NAMES latin1",
                 "SELECT HEX('\u00e9'), LENGTH('\u00e9'), CHAR_LENGTH('\u00e9')",
                 "SHOW SESSION VARIABLES LIKE 'character\\_set\\_c%'",
                 "SET NAMES utf8mb4",
                 "SELECT HEX('\u00e9'), LENGTH('\u00e9'), CHAR_LENGTH('\u00e9')",
                 "SET @@sql_mode := CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')",
                 "SELECT 'x' || 'y', @@sql_mode",
                 "SET sql_mode = DEFAULT")

    def query_variables_block(self):
        """User variables assigned by queries, used after the data changed: they keep the value
        computed when they were assigned."""
        self.add("SET @sum_before = (SELECT SUM(qty) FROM {P}dt_items)",
                 "SELECT COUNT(*) INTO @count_before FROM {P}dt_items",
                 "SELECT @max_before := MAX(id) FROM {P}dt_items",
                 "PREPARE {P}dt_stmt FROM 'SELECT COUNT(*) FROM {P}dt_items WHERE qty > ?'",
                 "SET @lim = 50",
                 "EXECUTE {P}dt_stmt USING @lim")

    def query_variables_use(self):
        self.add("SELECT @sum_before, @count_before, @max_before",
                 "SELECT COUNT(*) - @count_before, MAX(id) - @max_before FROM {P}dt_items",
                 "EXECUTE {P}dt_stmt USING @lim",
                 "DEALLOCATE PREPARE {P}dt_stmt",
                 "EXECUTE {P}dt_stmt USING @lim")

    def build(self):
        self.setup()
        self.sync()
        self.reads(25)
        self.special_reads()
        self.session_block()
        self.events_block()
        for round_ in range(4):
            if round_ == 1:
                self.query_variables_block()
            self.writes(12)
            self.sync()
            self.reads(20)
            if round_ == 0:
                self.transaction_block("BEGIN", "COMMIT", with_error=False)
            elif round_ == 1:
                self.transaction_block("START TRANSACTION", "ROLLBACK", with_error=True)
            elif round_ == 2:
                self.transaction_block("START TRANSACTION WITH CONSISTENT SNAPSHOT", "COMMIT",
                                       with_error=True)
            else:
                self.autocommit_block()
            if round_ == 1:
                self.query_variables_use()
            self.reads(5)
        self.temp_table_block()
        self.locks_block()
        self.read_only_trx_block()
        self.uniq_block()
        self.strict_off_block()
        self.sync()
        self.special_reads()
        self.reads(20)
        return self.out


def generate(seed=20240611):
    return Gen(seed).build()


if __name__ == "__main__":
    for s in generate(int(sys.argv[1]) if len(sys.argv) > 1 else 20240611):
        print(s if s == SYNC else s + ";")
