"""Helpers shared by the driver tests: the lab topology, fast HTTP settings, fingerprints."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.drivers import HttpSettings
from reconciler.lab import LabThread
from reconciler.lab.ca import cert_pem, new_key
from reconciler.lab.topology import Topology, TopologyDefaults, TopologyNode

FAST = HttpSettings(retries=2, backoff=0.05, read_timeout=2, connect_timeout=2)
XP = "/api/provisioning"
CM = "/platformcom/api/v1/certmgr/config"


def driver_topology() -> Topology:
    """Two Expressways, CUCM 14 in both trust-list shapes, and a CUCM 12.5 (no REST API)."""
    return Topology(
        defaults=TopologyDefaults(restart_seconds=0.2, builtin_cas=3, key="ec256"),
        nodes=[
            TopologyNode(name="expe1", type="expressway-e", fqdn="expe1.nart.com",
                         sans=["expe.nart.com", "join.nart.com"], links=["expc1"]),
            TopologyNode(name="expc1", type="expressway-c", fqdn="expc1.nart.com",
                         sans=["expc.nart.com"], links=["expe1", "cucm-pub"],
                         version="X14.0.3"),
            TopologyNode(name="cucm-pub", type="cucm", fqdn="cucm-pub.nart.com",
                         links=["expc1"], trust_list_shape="wrapped"),
            TopologyNode(name="cucm-list", type="cucm", fqdn="cucm-list.nart.com",
                         trust_list_shape="list", version="14.0.1.11900-132"),
            TopologyNode(name="cucm-old", type="cucm", fqdn="cucm-old.nart.com",
                         version="12.5.1.16900-48"),
        ],
    )


def sha256(pem: str | None) -> str:
    """Fingerprint of the first certificate of a PEM text (compare certificates, not text)."""
    assert pem is not None
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def sign(lab: LabThread, node: str, csr_pem: str, ca: str = "new") -> str:
    """What ``certops lab sign`` does: the lab CA ``ca`` signs the CSR (CN and SANs copied)."""
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    return cert_pem(lab.node(node).pki.sign_csr(csr, ca))


def stranger_cert(lab: LabThread, node: str, ca: str = "new") -> str:
    """A leaf from a lab CA for a key the node never had: it matches no CSR of the node."""
    pki = lab.node(node).pki
    fqdn = lab.node(node).state.fqdn
    return cert_pem(pki.issue(ca, new_key("ec256").public_key(), fqdn, [fqdn]))


def issuing_ca(lab: LabThread, node: str, ca: str = "new") -> str:
    return cert_pem(lab.node(node).pki.issuing[ca].cert)


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class MakeDriver(Protocol):
    """The ``driver`` fixture: a driver for one lab node, with endpoint overrides."""

    def __call__(self, name: str, *, cas: bool = True, settings: HttpSettings = FAST,
                 **endpoint: Any) -> Any: ...
