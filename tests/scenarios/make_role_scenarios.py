"""Generate the certificate-role scenarios (issue 27): one case per row of the EKU table.

Each case is the renewal fleet of make_plan_scenarios.py (expe1 <-> expc1 <-> cucm-pub, the
Expressway leaves due for renewal) with the nodes at the versions of one row, the fleet's
``required_eku`` left unset (the per-role defaults decide), and two issuers: ``public-acme``
(``eku: [serverAuth]``, ``public: true``, like a public CA of 2027) and ``private-ca`` (a
command CA with both EKUs). Expected plans are written by
``CERTOPS_UPDATE_PLANS=1 pytest tests/scenarios`` and reviewed; the expected findings in
case.yaml are written by hand (a new case starts with none and fails until they are).

    python tests/scenarios/make_role_scenarios.py
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from cryptography.x509.oid import ExtendedKeyUsageOID
from make_plan_scenarios import LiveNodeData, World, emit
from make_scenarios import HERE, chain_pem, write_case
from pkitools import Issued, make_ca

ISSUERS = """\
issuers:
  public-acme:
    type: acme
    directory: https://acme.example.net/directory
    account_key_env: ACME_ACCOUNT_KEY
    dns01: {provider: exec, command: [/bin/true], nameservers: [127.0.0.1]}
    eku: [serverAuth]
    public: true
    ca_files: [cas/public-root.pem]
  private-ca:
    type: command
    run: [step, ca, sign, --bundle]
    eku: [serverAuth, clientAuth]
    ca_files: [cas/private-root.pem]
"""
UPLOAD_SWITCH = "XCP TLS Certificate CVS EnableServerEkuUpload"
SIP_CHECKING = "SIP TLS Certificate ExtendedKeyUsage Checking Mode"


@dataclass
class RoleLive(LiveNodeData):
    """A live node with a version, other roles' certificates and settings."""

    version: str = ""
    roles: dict[str, Issued] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    unreadable: tuple[str, ...] = ()
    role_caps: tuple[str, ...] = ()  # e.g. cert.install:client (the RAML lists the store)

    def dump(self) -> dict[str, Any]:
        data = super().dump()
        data["capabilities"] = sorted([*data["capabilities"], *self.role_caps])
        if self.version:
            data["version"] = self.version
        if self.roles:
            data["role_certificates"] = {r: c.pem.decode() for r, c in self.roles.items()}
        if self.settings:
            data["settings"] = dict(self.settings)
        if self.unreadable:
            data["roles_unreadable"] = list(self.unreadable)
        return data


class Roles:
    """The shared world plus the public and private roots."""

    def __init__(self) -> None:
        self.world = World()
        self.public = make_ca("Example Public Root R1")
        self.private = make_ca("NART Private Client CA")

    def live(self, versions: dict[str, str]) -> dict[str, RoleLive]:
        out: dict[str, RoleLive] = {}
        for name, data in self.world.live().items():
            out[name] = RoleLive(name, data.installed, stores=data.stores,
                                 version=versions.get(name, ""))
        return out


def write(
    case: str, r: Roles, live: dict[str, RoleLive], description: str,
    issuers: dict[str, str], extra_yaml: dict[str, str] | None = None,
) -> None:
    """Emit the case, then name the issuers and append the node files' extra YAML."""
    files = {"cas/public-root.pem": r.public.pem, "cas/private-root.pem": r.private.pem}
    emit(case, r.world, dict(live), files, {}, description=description)  # type: ignore[arg-type]
    root = HERE / case / "desired"
    fleet = root / "certops.yaml"
    text = fleet.read_text().replace("  required_eku: [serverAuth, clientAuth]\n", "")
    fleet.write_text(text + ISSUERS)
    for node, issuer in issuers.items():
        path = root / "nodes" / f"{node}.yaml"
        path.write_text(path.read_text().replace(
            "server_certificate:\n", f"server_certificate:\n  issuer: {issuer}\n", 1))
    for node, yaml in (extra_yaml or {}).items():
        path = root / "nodes" / f"{node}.yaml"
        path.write_text(path.read_text() + yaml)


CLIENT_PRIVATE = """\
certificates:
  client:
    issuer: private-ca
    subject_alt_names: [{name}.nart.com]
"""
CLIENT_COPY = """\
certificates:
  client:
    copy_from: server
"""


def copy_of(leaf: Issued) -> Issued:
    return leaf  # the upgrade copies the old certificate and key into the client store


def main() -> None:
    r = Roles()
    x = {"expe1": "X15.3.2", "expc1": "X15.3.2"}
    write("role-x153-public-blocked", r, r.live(x),
          "X15.3: one certificate with both EKUs on C and E; a public serverAuth-only "
          "issuer is blocked, naming the links and the ways out",
          {"expe1": "public-acme", "expc1": "public-acme"})

    x = {"expe1": "X15.4.0", "expc1": "X15.4.0"}
    write("role-x154-e-switch", r, r.live(x),
          "X15.4: the E takes serverAuth-only after the upload switch (a manual step first, "
          "the setting not readable); the C keeps both EKUs from the private CA",
          {"expe1": "public-acme", "expc1": "private-ca"})
    live = r.live(x)
    live["expe1"].settings = {UPLOAD_SWITCH: "On"}
    write("role-x154-e-switch-on", r, live,
          "X15.4: the E shows the upload switch On: no manual step",
          {"expe1": "public-acme", "expc1": "private-ca"})
    x154_file(r)
    write("role-x154-c-public-blocked", r, r.live(x),
          "X15.4: the C still needs both EKUs: a public issuer is blocked (never the switch)",
          {"expe1": "private-ca", "expc1": "public-acme"})

    x = {"expe1": "X15.5.1", "expc1": "X15.5.1"}
    live = r.live(x)
    for n in ("expe1", "expc1"):
        live[n].roles = {"client": copy_of(live[n].installed)}
        live[n].settings = {SIP_CHECKING: "On"}
    client = {n: CLIENT_PRIVATE.format(name=n) for n in ("expe1", "expc1")}
    automated = r.live(x)
    for n in ("expe1", "expc1"):
        automated[n].roles = {"client": copy_of(live[n].installed)}
        automated[n].settings = {SIP_CHECKING: "On"}
        automated[n].role_caps = ("cert.install:client", "csr.generate:client")
    write("role-x155-migration", r, automated,
          "X15.5: public server certificates, private client certificates: the private CA "
          "into every peer's trust first, then the client certificates, then the servers",
          {"expe1": "public-acme", "expc1": "public-acme"}, client)
    write("role-x155-c-client-public-blocked", r, live,
          "X15.5: the C's client certificate needs clientAuth: a public issuer is blocked",
          {"expe1": "public-acme", "expc1": "public-acme"},
          {"expe1": client["expe1"],
           "expc1": client["expc1"].replace("private-ca", "public-acme")})
    write("role-x155-e-copy", r, live,
          "X15.5: the E copies its server certificate into the client store (opt-in): "
          "a warning names the links whose far end must ignore clientAuth",
          {"expe1": "public-acme", "expc1": "public-acme"},
          {"expe1": CLIENT_COPY, "expc1": client["expc1"]})
    write("role-x155-undeclared-client", r, live,
          "X15.5: the client certificates are not declared: reported with expiry and EKUs",
          {"expe1": "private-ca", "expc1": "private-ca"})
    live_unreadable = r.live(x)
    for n in ("expe1", "expc1"):
        live_unreadable[n].unreadable = ("client",)
    write("role-x155-client-unreadable", r, live_unreadable,
          "X15.5 whose API lists no client store: the client role is reported unreadable",
          {"expe1": "private-ca", "expc1": "private-ca"})

    write("role-version-mismatch", r, r.live({"expe1": "X15.4.0", "expc1": "X15.5.1"}),
          "the C and the E of the traversal pair on different versions: a finding",
          {"expe1": "private-ca", "expc1": "private-ca"})
    live = r.live({"expe1": "X15.5.1", "expc1": "X15.5.1"})
    for n in ("expe1", "expc1"):
        live[n].roles = {"client": copy_of(live[n].installed)}
    live["cucm-pub"].roles = {"tomcat-client": copy_of(live["expc1"].installed)}
    write("role-vos-listed-client", r, live,
          "Unified CM lists a separate client certificate (15SU5; names not public): "
          "reported with its expiry, not managed",
          {}, {n: CLIENT_PRIVATE.format(name=n) for n in ("expe1", "expc1")})
    write("role-vos-public-blocked", r, r.live({"expe1": "X15.3.2", "expc1": "X15.3.2"}),
          "Unified CM (up to 15SU4 and 14): tomcat needs both EKUs: public issuer blocked",
          {"cucm-pub": "public-acme"})

    offline(r)


def x154_file(r: Roles) -> None:
    """X15.4 E with a committed serverAuth-only certificate: the upload switch first."""
    live = r.live({"expe1": "X15.4.0", "expc1": "X15.4.0"})
    live["expe1"].pending_csr = r.world.csr("expe1")
    leaf = r.world.signed("expe1", r.world.pki.new, eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    case = "role-x154-e-file-switch"
    files = {"cas/public-root.pem": r.public.pem, "cas/private-root.pem": r.private.pem,
             "certs/expe1.pem": chain_pem(leaf, r.world.pki.new, r.world.pki.root)}
    emit(case, r.world, dict(live), files, {"expe1": "expe1.pem"},  # type: ignore[arg-type]
         description="X15.4: a committed serverAuth-only certificate on the E waits for the "
         "upload switch (a manual step first)")
    fleet = HERE / case / "desired" / "certops.yaml"
    fleet.write_text(fleet.read_text().replace("  required_eku: [serverAuth, clientAuth]\n", ""))


def offline(r: Roles) -> None:
    """Input errors of ``certificates:``: a role the kind lacks, the primary role twice."""
    for case, node, yaml in (
        ("role-unknown", "expc1", "certificates:\n  tomcat:\n    subject_alt_names: [x]\n"),
        ("role-twice", "expe1", "certificates:\n  server:\n    subject_alt_names: [x]\n"),
    ):
        write_case(case, r.world.pki, files={}, node_files={})
        path = HERE / case / "desired" / "nodes" / f"{node}.yaml"
        path.write_text(path.read_text() + yaml)
        case_file = HERE / case / "case.yaml"
        if not case_file.exists():
            case_file.write_text(f"description: {case}\nat: '2026-11-26T00:00:00+00:00'\n"
                                 "exit: 1\nfindings: []\n")


if __name__ == "__main__":
    main()
