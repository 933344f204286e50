"""`apflow certs make DIR`: the trust's own CA for Temporal's mutual TLS, the
frontend's server certificate (used for internode traffic too) and a client
certificate for each client that connects (the worker, the API, the Web UI
and the operators' `temporal` CLI).

Temporal's frontend accepts only clients whose certificate this CA signed,
so a copy of `ca.key` is all it takes to let anyone in: keep it offline, not
beside the others."""
from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 825  # the longest a leaf certificate is trusted by common TLS clients
# The admin certificate is the operators' own (the `temporal` CLI: the namespace, backups).
CLIENTS = ("worker", "api", "ui", "admin")
SERVER_NAMES = ("temporal", "localhost", "127.0.0.1")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "apflow"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _builder(subject: x509.Name, issuer: x509.Name, key, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days)))


def _alt_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _write(path: Path, data: bytes, private: bool) -> None:
    path.write_bytes(data)
    path.chmod(0o600 if private else 0o644)


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make(directory: Path, server_names: tuple[str, ...] = SERVER_NAMES, clients: tuple[str, ...] = CLIENTS) -> list[Path]:
    """Writes ca.pem and ca.key, server.pem and server.key (for every name in
    `server_names`), and <client>.pem and <client>.key for each client; keys
    readable by their owner only. Refuses to overwrite a CA already there:
    certificates it signed would stop being trusted."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "ca.key").exists() or (directory / "ca.pem").exists():
        raise SystemExit(f"{directory} already holds a CA (ca.pem): choose an empty folder, or move it away first")
    if not server_names:
        raise SystemExit("the server certificate needs at least one name")
    ca_key = _key()
    ca_name = _name("apflow Temporal CA")
    ca = (_builder(ca_name, ca_name, ca_key, CA_DAYS)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    written = [directory / "ca.pem", directory / "ca.key"]
    _write(written[0], _pem(ca), private=False)
    _write(written[1], _pem_key(ca_key), private=True)

    def leaf(stem: str, common_name: str, usages: list, alt_names: tuple[str, ...]) -> None:
        key = _key()
        builder = (_builder(_name(common_name), ca_name, key, LEAF_DAYS)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName([_alt_name(n) for n in alt_names]), critical=False)
        cert, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        _write(cert, _pem(builder.sign(ca_key, hashes.SHA256())), private=False)
        _write(key_path, _pem_key(key), private=True)
        written.extend([cert, key_path])

    # The server's certificate serves the frontend and internode traffic, and
    # is the client certificate its own services present to each other.
    leaf("server", server_names[0], [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], server_names)
    for client in clients:
        leaf(client, f"apflow {client}", [ExtendedKeyUsageOID.CLIENT_AUTH], ())
    return written
