"""Test certificates for the TLS tests, made with the `openssl` CLI.

make_ca(dir, name)                      -> Cert(cert, key) of a self-signed CA
make_server_cert(dir, name, ca)         -> Cert(cert, key) signed by `ca`, for IP:127.0.0.1
                                           and DNS:localhost (serverAuth)
make_test_pki(dir)                      -> TestPki: a CA, the proxy's server certificate and a
                                           MariaDB server certificate signed by it, and an
                                           unrelated CA ("wrong_ca") that signed nothing we use

The sandbox servers have their own CA and certificate (test/sandbox/sandbox.sh makes them at
`start`; `sandbox.sh tls-ca` prints the CA's path); sandbox_ca() returns that path.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from sy_helpers import SANDBOX_SH

SAN = "IP:127.0.0.1,DNS:localhost"


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path


@dataclass(frozen=True)
class TestPki:
    __test__ = False  # not a pytest test class
    dir: Path
    ca: Cert            # signs proxy and mariadb
    proxy: Cert         # the proxy's [tls] cert/key
    mariadb: Cert       # a server certificate for MariaDB servers (sandbox.sh enable-tls)
    wrong_ca: Cert      # a CA that signed none of the above


def openssl(*args, cwd=None):
    p = subprocess.run(["openssl", *map(str, args)], cwd=cwd, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed ({p.returncode}):\n"
                           f"{p.stdout}\n{p.stderr}")
    return p.stdout


def make_ca(directory, name):
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    c = Cert(d / f"{name}.pem", d / f"{name}-key.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-sha256",
            "-keyout", c.key, "-out", c.cert, "-subj", f"/CN=switchyard test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return c


def make_server_cert(directory, name, ca, san=SAN, cn="localhost"):
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    c = Cert(d / f"{name}-cert.pem", d / f"{name}-key.pem")
    csr, ext = d / f"{name}.csr", d / f"{name}.ext"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", c.key, "-out", csr,
            "-subj", f"/CN={cn}")
    ext.write_text("basicConstraints=CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\n"
                   f"subjectAltName={san}\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
            "-CAserial", d / f"{Path(ca.cert).stem}.srl", "-days", "30", "-sha256",
            "-extfile", ext, "-out", c.cert)
    csr.unlink()
    ext.unlink()
    return c


def make_test_pki(directory):
    d = Path(directory)
    ca = make_ca(d, "ca")
    return TestPki(dir=d, ca=ca,
                   proxy=make_server_cert(d, "proxy", ca),
                   mariadb=make_server_cert(d, "mariadb", ca),
                   wrong_ca=make_ca(d, "wrong-ca"))


def verify(cert, ca):
    """True if `openssl verify` accepts cert against ca (chain only, no host name)."""
    p = subprocess.run(["openssl", "verify", "-CAfile", str(ca), str(cert)],
                       capture_output=True, text=True, timeout=30)
    return p.returncode == 0


def sandbox_ca():
    """Path of the CA of the sandbox servers' certificates (sandbox.sh tls-ca)."""
    p = subprocess.run([str(SANDBOX_SH), "tls-ca"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"sandbox.sh tls-ca failed ({p.returncode}): {p.stderr}")
    return Path(p.stdout.strip().splitlines()[-1])
