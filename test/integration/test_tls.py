"""TLS: the client leg ([tls] cert/key/require) and the backend leg ([backend.*] tls).

Certificates come from tls_certs.py (a test CA, the proxy's certificate, an unrelated
"wrong" CA), made once per session with the openssl CLI. The sandbox servers always have
TLS enabled (sandbox.sh makes their CA and certificate; `sandbox.sh tls-ca` prints the CA).

How each leg is observed:
- client leg: on the client side only (pymysql's socket is an ssl.SSLSocket; the mariadb
  CLI's `\\s` prints "SSL: Cipher in use is ..."), because anything we SELECT runs on a
  backend;
- backend leg: the session's Ssl_cipher status, which a backend reports about the proxy's
  connection to it (SHOW STATUS goes to the primary; information_schema.SESSION_STATUS in a
  SELECT goes to a replica, with @@port telling which).
"""

import hashlib
import os
import re
import socket
import ssl
import threading

import pymysql
import pytest
from pymysql.constants import CLIENT

import tls_certs
from sy_helpers import (PORTS, PRIMARY_PORT, REPLICA_PORT_SET, XProxy, connect,
                        default_backends, execute, mariadb_cli, one, proxy_factory, rows, scalar,
                        sync_replicas, unique)

TLS_ERR_RE = re.compile(r"tls|ssl|secure", re.I)
CERT_ERR_RE = re.compile(r"tls|ssl|certificate|verif|handshake", re.I)
CIPHER_SQL = ("SELECT VARIABLE_VALUE, @@port FROM information_schema.SESSION_STATUS"
              " WHERE VARIABLE_NAME = 'SSL_CIPHER'")
BIG = 64 * 1024 * 1024


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return tls_certs.make_test_pki(tmp_path_factory.mktemp("tls-pki"))


@pytest.fixture(scope="session")
def sandbox_ca(sandbox_session):
    return tls_certs.sandbox_ca()


class TlsProxy(XProxy):
    """XProxy with a [tls] section and a tls key on every backend.

    tls: {"cert": ..., "key": ..., "ca": ..., "require": "on"} for [tls] (None: no section);
    backend_tls: "off" | "on" | "verify" for every default backend (None: key absent);
    client_ssl: pymysql ssl= argument that connect() (also used while starting) passes."""

    def __init__(self, workdir, tls=None, backend_tls=None, client_ssl=None, **kw):
        self.client_ssl = client_ssl
        if backend_tls is not None and "backends" not in kw:
            kw["backends"] = [{**b, "tls": backend_tls} for b in default_backends()]
        if tls:
            kw["extra"] = "[tls]\n" + "".join(f"{k} = {v}\n" for k, v in tls.items())
        super().__init__(workdir, **kw)

    def connect(self, **kw):
        if self.client_ssl is not None:
            kw.setdefault("ssl", self.client_ssl)
        return connect(self.port, **kw)


@pytest.fixture
def tproxy(sandbox, tmp_path, request):
    """Factory: tproxy(tls=..., backend_tls=..., client_ssl=..., **xproxy kw) -> started TlsProxy."""
    yield from proxy_factory(request, lambda i, **kw: TlsProxy(tmp_path / f"tproxy{i}", **kw))


def client_tls(pki, **more):
    return {"cert": pki.proxy.cert, "key": pki.proxy.key, **more}


def ssl_arg(ca):
    """pymysql ssl= argument: verify the server's chain against ca and its name (127.0.0.1)."""
    return {"ca": str(ca)}


# --------------------------------------------------------------------------- helpers

def assert_tls_socket(conn):
    """The client leg of a pymysql connection is TLS (pymysql silently stays plaintext when
    the server does not offer CLIENT_SSL, so this must be checked)."""
    assert isinstance(conn._sock, ssl.SSLSocket), \
        f"the client connection is not TLS (socket {type(conn._sock).__name__})"
    assert conn._sock.version() in ("TLSv1.2", "TLSv1.3"), conn._sock.version()


def connect_error(port, **kw):
    """Connect and run a statement that must fail; return the exception."""
    try:
        c = connect(port, **kw)
    except (pymysql.err.MySQLError, ssl.SSLError, OSError) as e:
        return e
    try:
        with c:
            scalar(c, "SELECT 1")
    except (pymysql.err.MySQLError, ssl.SSLError, OSError) as e:
        return e
    pytest.fail(f"connecting to {port} with {kw} and SELECT 1 succeeded; a failure was expected")


def cli(port, sql, *args, timeout=60):
    return mariadb_cli(port, sql, *args, timeout=timeout)


def backend_ciphers(conn):
    """{port: Ssl_cipher of the proxy's connection to that backend} for the primary (SHOW
    STATUS, and a route=primary SELECT) and both replicas (plain SELECTs)."""
    out = {}
    show = rows(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    assert len(show) == 1, show
    cipher, port = one(conn, "/* route=primary */ " + CIPHER_SQL)
    assert port == PRIMARY_PORT, f"route=primary SELECT ran on {port}"
    assert cipher == show[0][1], f"SHOW STATUS said {show[0][1]!r}, the primary's SELECT {cipher!r}"
    out[port] = cipher or ""
    seen = {}
    for _ in range(8):
        c, p = one(conn, CIPHER_SQL)
        seen.setdefault(p, set()).add(c or "")
    assert set(seen) == REPLICA_PORT_SET, f"reads ran on {sorted(seen)}, expected both replicas"
    for p, cs in seen.items():
        assert len(cs) == 1, f"replica {p} answered different ciphers {cs}"
        out[p] = cs.pop()
    return out


# --------------------------------------------------------------------------- prerequisites
# (these pass without the proxy's TLS code: they check the certificates and the sandbox)

def _tls_echo_server(cert, key):
    """A one-shot TLS server on 127.0.0.1; returns (port, thread, errors)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    errors = []

    def serve():
        with lsock:
            for _ in range(3):
                s, _a = lsock.accept()
                try:
                    with ctx.wrap_socket(s, server_side=True) as t:
                        t.sendall(b"ok")
                except (ssl.SSLError, OSError) as e:
                    errors.append(e)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return lsock.getsockname()[1], th, errors


def test_test_certificates_verify(pki):
    assert tls_certs.verify(pki.proxy.cert, pki.ca.cert)
    assert tls_certs.verify(pki.mariadb.cert, pki.ca.cert)
    assert not tls_certs.verify(pki.proxy.cert, pki.wrong_ca.cert)
    text = tls_certs.openssl("x509", "-in", pki.proxy.cert, "-noout", "-ext", "subjectAltName")
    assert "IP Address:127.0.0.1" in text and "DNS:localhost" in text, text

    port, th, _errors = _tls_echo_server(pki.proxy.cert, pki.proxy.key)
    for host in ("127.0.0.1", "localhost"):
        ctx = ssl.create_default_context(cafile=str(pki.ca.cert))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=host) as t:
                assert t.recv(2) == b"ok"
    ctx = ssl.create_default_context(cafile=str(pki.wrong_ca.cert))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(s, server_hostname="127.0.0.1")
    th.join(10)


@pytest.mark.parametrize("name", list(PORTS))
def test_sandbox_servers_offer_tls(sandbox, sandbox_ca, name):
    port = PORTS[name]
    with connect(port, ssl=ssl_arg(sandbox_ca)) as c:
        assert_tls_socket(c)
        assert one(c, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[1], "no cipher on a TLS connection"
    with connect(port) as c:
        assert c.server_capabilities & CLIENT.SSL
        assert one(c, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[1] == "", \
            "plaintext clients must still work without TLS"


def test_sandbox_rejects_wrong_ca(sandbox, pki):
    e = connect_error(PRIMARY_PORT, ssl=ssl_arg(pki.wrong_ca.cert))
    assert CERT_ERR_RE.search(str(e)), repr(e)


# --------------------------------------------------------------------------- client leg

def test_no_tls_section_offers_no_ssl(tproxy):
    p = tproxy()
    with p.connect() as c:
        assert not c.server_capabilities & CLIENT.SSL, "CLIENT_SSL offered without [tls] cert/key"
        assert scalar(c, "SELECT 1") == 1


def test_client_tls_pymysql(tproxy, pki):
    p = tproxy(tls=client_tls(pki), client_ssl=ssl_arg(pki.ca.cert))
    with p.connect() as c:
        assert c.server_capabilities & CLIENT.SSL, "the proxy does not offer CLIENT_SSL"
        assert_tls_socket(c)
        ports = {scalar(c, "SELECT @@port") for _ in range(6)}
        assert ports == REPLICA_PORT_SET
        assert scalar(c, "/* route=primary */ SELECT @@port") == PRIMARY_PORT
        # backends stay plaintext (no tls key): only the client leg is encrypted
        assert one(c, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[1] == ""
    # require is off: plaintext clients still work
    with connect(p.port) as c:
        assert not isinstance(c._sock, ssl.SSLSocket)
        assert scalar(c, "SELECT 1") == 1
    # several TLS sessions at once
    conns = [p.connect() for _ in range(8)]
    try:
        for i, c in enumerate(conns):
            assert_tls_socket(c)
            assert scalar(c, "SELECT %s", (i,)) == i
    finally:
        for c in conns:
            c.close()


def test_client_tls_cli(tproxy, pki):
    p = tproxy(tls=client_tls(pki))
    r = cli(p.port, r"\s", "--ssl", f"--ssl-ca={pki.ca.cert}", "--ssl-verify-server-cert")
    assert r.returncode == 0, r.stderr
    m = re.search(r"^SSL:\s*(.*)$", r.stdout, re.M)
    assert m, f"no SSL line in the CLI status:\n{r.stdout}"
    assert m.group(1).startswith("Cipher in use is "), m.group(0)
    r = cli(p.port, "SELECT @@port", "--batch", "--skip-column-names", "--ssl",
            f"--ssl-ca={pki.ca.cert}", "--ssl-verify-server-cert")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) in REPLICA_PORT_SET
    # --skip-ssl: plaintext, accepted (require is off)
    r = cli(p.port, r"\s", "--skip-ssl")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^SSL:\s*Not in use", r.stdout, re.M), r.stdout


def test_client_tls_wrong_ca_fails(tproxy, pki):
    p = tproxy(tls=client_tls(pki), client_ssl=ssl_arg(pki.ca.cert))
    e = connect_error(p.port, ssl=ssl_arg(pki.wrong_ca.cert))
    assert CERT_ERR_RE.search(str(e)), repr(e)
    r = cli(p.port, "SELECT 1", f"--ssl-ca={pki.wrong_ca.cert}", "--ssl-verify-server-cert")
    assert r.returncode != 0, f"the CLI accepted a certificate from another CA:\n{r.stdout}"
    assert CERT_ERR_RE.search(r.stderr), r.stderr
    # the proxy is unharmed
    with p.connect() as c:
        assert_tls_socket(c)
        assert scalar(c, "SELECT 1") == 1


# --------------------------------------------------------------------------- require = on

def test_require_refuses_plaintext(tproxy, pki):
    p = tproxy(tls=client_tls(pki, require="on"), client_ssl=ssl_arg(pki.ca.cert))
    e = connect_error(p.port)
    assert isinstance(e, pymysql.err.OperationalError), repr(e)
    assert TLS_ERR_RE.search(str(e.args[-1])), f"the refusal does not mention TLS/SSL: {e!r}"
    r = cli(p.port, "SELECT 1", "--skip-ssl")
    assert r.returncode != 0, f"a plaintext CLI got in:\n{r.stdout}"
    assert TLS_ERR_RE.search(r.stderr), r.stderr
    # TLS clients work
    with p.connect() as c:
        assert_tls_socket(c)
        assert scalar(c, "SELECT 1") == 1
    r = cli(p.port, r"\s", "--ssl", f"--ssl-ca={pki.ca.cert}", "--ssl-verify-server-cert")
    assert r.returncode == 0, r.stderr
    assert "Cipher in use is" in r.stdout, r.stdout


# --------------------------------------------------------------------------- backend leg

def test_backend_tls_on(tproxy):
    p = tproxy(backend_tls="on")
    with p.connect() as c:
        ciphers = backend_ciphers(c)
    assert set(ciphers) == set(PORTS.values())
    assert all(ciphers.values()), f"a backend leg is not TLS: {ciphers}"


def test_backend_tls_off(tproxy):
    p = tproxy(backend_tls="off")
    with p.connect() as c:
        ciphers = backend_ciphers(c)
    assert ciphers == {port: "" for port in PORTS.values()}


def test_backend_tls_verify(tproxy, sandbox_ca):
    p = tproxy(tls={"ca": sandbox_ca}, backend_tls="verify")
    with p.connect() as c:
        ciphers = backend_ciphers(c)
    assert all(ciphers.values()), f"a backend leg is not TLS: {ciphers}"


def test_backend_tls_mixed(tproxy, sandbox_ca):
    """tls is per backend: the primary verified, replica1 on, replica2 plaintext."""
    bks = default_backends()
    keys = {"primary": "verify", "replica1": "on", "replica2": "off"}
    bks = [{**b, "tls": keys[b["name"]]} for b in bks]
    p = tproxy(tls={"ca": sandbox_ca}, backends=bks)
    with p.connect() as c:
        ciphers = backend_ciphers(c)
    assert ciphers[PORTS["primary"]] and ciphers[PORTS["replica1"]], ciphers
    assert ciphers[PORTS["replica2"]] == "", ciphers


def test_backend_tls_verify_wrong_ca(tproxy, pki):
    """The sandbox's certificates are not signed by [tls] ca: the backend login fails and the
    client gets an ERR that says why (at login, or at its first statement)."""
    p = tproxy(tls={"ca": pki.wrong_ca.cert}, backend_tls="verify", wait_replicas=False)
    for sql in ("SELECT 1", "/* route=primary */ SELECT 1"):
        try:
            with p.connect() as c:
                scalar(c, sql)
        except pymysql.err.MySQLError as e:
            assert CERT_ERR_RE.search(str(e)), f"the client's error does not say why: {e!r}"
        else:
            pytest.fail(f"{sql!r} succeeded through backends whose certificate cannot be verified")
        assert p.alive(), "the proxy exited after a failed backend TLS verification"


# --------------------------------------------------------------------------- both legs

@pytest.fixture
def both_legs(tproxy, pki, sandbox_ca):
    return tproxy(tls=client_tls(pki, ca=sandbox_ca), backend_tls="verify",
                  client_ssl=ssl_arg(pki.ca.cert))


def test_routing_over_tls_both_legs(both_legs, sandbox):
    p = both_legs
    tag = unique("tls")
    with p.connect() as c:
        assert_tls_socket(c)
        ciphers = backend_ciphers(c)
        assert all(ciphers.values()), ciphers
        assert {scalar(c, "SELECT @@port") for _ in range(6)} == REPLICA_PORT_SET
        assert execute(c, "INSERT INTO test.t_where (port, tag) VALUES (@@port, %s)", (tag,)) == 1
        assert sandbox.sql("primary", f"SELECT port FROM test.t_where WHERE tag='{tag}'") == [["3310"]]
        c.begin()
        assert scalar(c, "SELECT @@port") == PRIMARY_PORT   # in a transaction: primary
        c.commit()
        assert scalar(c, "/* route=primary */ SELECT @@port") == PRIMARY_PORT
    r = cli(p.port, "SELECT @@port", "--batch", "--skip-column-names", "--ssl",
            f"--ssl-ca={both_legs.client_ssl['ca']}", "--ssl-verify-server-cert")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) in REPLICA_PORT_SET


def test_blob_20mib_over_tls_both_legs(both_legs, sandbox):
    p = both_legs
    size = 20 * 1024 * 1024
    blob = os.urandom(size)
    digest = hashlib.sha256(blob).hexdigest()
    rid = int.from_bytes(os.urandom(3), "big")
    with p.connect(max_allowed_packet=BIG, read_timeout=300, write_timeout=300) as c:
        assert_tls_socket(c)
        execute(c, "CREATE TABLE IF NOT EXISTS test.tls_blob (id INT PRIMARY KEY, b LONGBLOB)")
        try:
            assert execute(c, "INSERT INTO test.tls_blob VALUES (%s, %s)", (rid, blob)) == 1
            got, port = one(c, "/* route=primary */ SELECT b, @@port FROM test.tls_blob WHERE id=%s",
                            (rid,))
            assert port == PRIMARY_PORT
            assert len(got) == size and hashlib.sha256(got).hexdigest() == digest, \
                "the blob read back from the primary differs"
            assert one(c, "/* route=primary */ SELECT SHA2(b, 256) FROM test.tls_blob WHERE id=%s",
                       (rid,))[0] == digest, "the blob stored on the primary differs"
            sync_replicas(sandbox, timeout=60)
            seen = set()
            for _ in range(4):
                got, port = one(c, "SELECT b, @@port FROM test.tls_blob WHERE id=%s", (rid,))
                assert port in REPLICA_PORT_SET
                assert len(got) == size and hashlib.sha256(got).hexdigest() == digest, \
                    f"the blob read back from replica {port} differs"
                seen.add(port)
            assert seen == REPLICA_PORT_SET
            # and the session is still in step after the big packets
            assert scalar(c, "SELECT 1") == 1
        finally:
            execute(c, "DELETE FROM test.tls_blob WHERE id=%s", (rid,))
