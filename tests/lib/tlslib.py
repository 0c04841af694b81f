"""A test PKI made by the test (python3-cryptography): a CA, and server certificates it signs
for 127.0.0.1 and localhost, written as PEM files that arca (--tls-cert/--tls-key) and the
clients (a CA file, or a containers-style certificate directory holding ca.crt) use."""
import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Arca tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class TestPki:
    """A CA in `folder`: ca.crt (and certs/ca.crt, for --cert-dir) plus server pairs."""

    def __init__(self, folder, name="Arca test CA"):
        os.makedirs(folder, exist_ok=True)
        self.folder = folder
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name)).issuer_name(_name(name))
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()),
                           critical=False)
            .sign(self.ca_key, hashes.SHA256()))
        self.ca_path = os.path.join(folder, "ca.crt")
        with open(self.ca_path, "wb") as f:
            f.write(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        # What skopeo's and podman's --cert-dir expect: a folder of *.crt CA files.
        self.cert_dir = os.path.join(folder, "certs")
        os.makedirs(self.cert_dir, exist_ok=True)
        with open(os.path.join(self.cert_dir, "ca.crt"), "wb") as f:
            f.write(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, stem, cn="arca test server", key_type="ec", names=("localhost",),
              ips=("127.0.0.1",)):
        """Writes <stem>.crt and <stem>.key in the folder; returns (cert_path, key_path,
        serial). key_type: "ec" (P-256) or "rsa" (2048)."""
        key = (ec.generate_private_key(ec.SECP256R1()) if key_type == "ec"
               else rsa.generate_private_key(public_exponent=65537, key_size=2048))
        now = datetime.datetime.now(datetime.timezone.utc)
        serial = x509.random_serial_number()
        san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i))
                                                  for i in ips]
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.ca_key.public_key()), critical=False)
            .sign(self.ca_key, hashes.SHA256()))
        cert_path = os.path.join(self.folder, stem + ".crt")
        key_path = os.path.join(self.folder, stem + ".key")
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(_pem_key(key))
        os.chmod(key_path, 0o600)
        return cert_path, key_path, serial

    def client_context(self, **kw):
        """An ssl.SSLContext that trusts this CA only (and checks host names)."""
        ctx = ssl.create_default_context(cafile=self.ca_path)
        for k, v in kw.items():
            setattr(ctx, k, v)
        return ctx


class ServerTls:
    """A server's TLS files: the PKI that signed them and the pair arca serves."""

    def __init__(self, folder, key_type="ec"):
        self.pki = TestPki(folder)
        self.cert_path, self.key_path, self.serial = self.pki.issue("server", key_type=key_type)

    @property
    def ca_path(self):
        return self.pki.ca_path

    @property
    def cert_dir(self):
        return self.pki.cert_dir

    def args(self):
        return ["--tls-cert", self.cert_path, "--tls-key", self.key_path]
