"""Opens N clients through a proxy, has each run one statement, keeps them
all connected and idle, and prints what that cost the proxy: RSS per client
(from /proc/PID/status) and the backend connections they hold (Threads_connected
on each backend, less what was there before). Used by idle_clients.sh."""
import sys

import pymysql

USER, PASSWORD, DB = "app", "app_pw", "test"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def threads_connected(port):
    c = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD)
    try:
        with c.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
            return int(cur.fetchone()[1]) - 1  # less this one
    finally:
        c.close()


def client(port):
    # pymysql's default is autocommit off, and a session with autocommit off
    # keeps its connections (it may be in a transaction): the clients here
    # are the autocommit ones most drivers and pools make.
    c = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, database=DB,
                        autocommit=True)
    with c.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchall()
    return c


def main():
    port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    backends = [int(p) for p in sys.argv[4].split(",")]
    client(port).close()  # the proxy's first-use allocations are not per client
    before_rss = rss_kib(pid)
    before_conns = sum(threads_connected(p) for p in backends)
    clients = [client(port) for _ in range(n)]
    after_rss = rss_kib(pid)
    conns = sum(threads_connected(p) for p in backends) - before_conns
    print(f"clients {n} rss_kib_before {before_rss} rss_kib_after {after_rss} "
          f"kib_per_client {(after_rss - before_rss) / n:.2f} backend_conns {conns}")
    for c in clients:
        c.close()


main()
