"""Emulated Unified CM publisher (release 14+): Certificate Management REST API + SOAP.

The same app emulates every VOS product: a ``VosProduct`` holds one product's tables (its
REST service values, restarts, seeded identities, CLI services, whether it has SOAP);
``CUCM`` is Unified CM's, ``reconciler.lab.vos_products`` the others' and the registry.

Emulates the CUCM table of device-apis.md, one row per entry of ``ROUTES`` under
``BASE``: inventory [3P], list a trust store [3P] (as a bare list or ``{"certificates":
[...]}``, chosen per node), add trust certificates [3P], read an identity [3P, weak],
generate a CSR [3P], install an identity [3P] (400 when the issuing CA is not in the
matching trust store, 500 on a stale CSR). The SOAP service control endpoint is in
``soap``; the SSH CLI in ``ssh``. A node of release 12.5 answers 404 on ``/platformcom``.

A trust change flags the services of ``TRUST_RESTARTS`` as restart pending until they
restart; an identity install flags ``identity_restarts``: the lab's own record, shown on its
control API only (``certops lab status``), never in the REST answers. [U]: every inventory
key but the PEM ones, the status codes 201/200 and every error text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp

from reconciler.lab.ca import is_ca, key_pem, load_certs, load_key, make_csr, new_key, spki
from reconciler.lab.expressway import version_tuple
from reconciler.lab.node import Node
from reconciler.lab.soap import ALL_SERVICES
from reconciler.lab.soap import ROUTES as SOAP_ROUTES
from reconciler.lab.state import PendingCsr, TrustEntry, entry_of
from reconciler.lab.web import Handler, Route, build_app, json_body

BASE = "/platformcom/api/v1/certmgr/config"
SERVICES = ("tomcat", "callmanager", "capf", "ipsec")

# Which restarts follow which trust change (device-apis.md, "which restarts" table).
TRUST_RESTARTS: dict[str, tuple[str, ...]] = {
    "tomcat": ("Cisco Tomcat",),
    "callmanager": ("Cisco CallManager", "Cisco TFTP", "Cisco HAProxy"),
    "capf": ("Cisco Certificate Authority Proxy Function",),
    "ipsec": ("Cisco DRF Master", "Cisco DRF Local"),
}
FIRST_14SU1 = (14, 0, 1, 11900)
# Stores whose uploads on a Unified CM publisher replicate to the subscribers
# (device-apis.md, "Cluster behaviour" [C]). capf-trust is per node [C]; tomcat-trust and
# ipsec-trust are not stated either way [U]: the lab keeps them per node.
REPLICATED_FROM_PUBLISHER = ("callmanager",)


def identity_restarts(service: str, version: str) -> tuple[str, ...]:
    """Restarts after an identity install (device-apis.md; HAProxy alone from 14SU1), and
    Cisco TFTP after the identities the phones' ITL holds (TAC 214231 [C])."""
    if service == "tomcat":
        return ("Cisco Tomcat",)
    if service == "callmanager":
        if _cucm_version(version) < FIRST_14SU1:
            return ("Cisco CallManager", "Cisco CTIManager", "Cisco HAProxy", "Cisco TFTP")
        return ("Cisco HAProxy", "Cisco TFTP")
    if service == "tvs":
        return ("Cisco Trust Verification Service", "Cisco TFTP")
    if service == "itlrecovery":
        return ("Cisco TFTP",)
    if service == "capf":
        return ("Cisco Certificate Authority Proxy Function", "Cisco TFTP")
    return TRUST_RESTARTS.get(service, ())


def _cucm_version(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.replace("-", ".").split(".")[:4] if p.isdigit())


@dataclass(frozen=True)
class VosProduct:
    """One VOS product as the lab emulates it.

    ``services``: the REST ``service`` values of its trust stores (store ``<service>-trust``);
    ``trust_restarts``: service -> what a trust change there marks restart pending;
    ``identities``: the identity services seeded on a new node -> CN template (``{fqdn}``,
    ``{name}``; tomcat gets the topology's key and SANs); ``seeded_trust``: the stores that
    start with the lab CAs; ``cli_services``: what ``utils service list`` shows and
    ``utils service restart`` accepts; ``soap``: whether ControlCenterServices answers.
    """

    type: str
    realm: str
    version: str
    services: tuple[str, ...]
    trust_restarts: Mapping[str, tuple[str, ...]]
    identity_restarts: Callable[[str, str], tuple[str, ...]]
    identities: Mapping[str, str]
    seeded_trust: tuple[str, ...]
    cli_services: tuple[str, ...]
    soap: bool


CUCM = VosProduct(
    type="cucm",
    realm="Cisco Unified Communications Manager",
    version="14.0.1.13900-155",
    services=SERVICES,
    trust_restarts=TRUST_RESTARTS,
    identity_restarts=identity_restarts,
    identities={"tomcat": "{fqdn}", "callmanager": "{fqdn}", "capf": "CAPF-{name}",
                "ipsec": "{fqdn}", "tvs": "TVS-{fqdn}", "itlrecovery": "ITLRecovery-{fqdn}"},
    seeded_trust=("tomcat", "callmanager"),
    cli_services=ALL_SERVICES,
    soap=True,
)


def store_name(service: str) -> str:
    """The trust store that the REST API reports for ``service`` (``<service>-trust``)."""
    return f"{service}-trust"


def has_rest(version: str) -> bool:
    return version_tuple(version)[:1] >= (14,)


def _bad(status: int, text: str) -> JSONResponse:
    return JSONResponse({"errorCode": status, "message": text}, status_code=status)


def _service_arg(product: VosProduct, request: Request) -> str | None:
    service = request.query_params.get("service", "").lower()
    return service if service in product.services else None


def _identity_service(product: VosProduct, service: str) -> bool:
    """An identity's REST ``service`` value: a store's service or an identity of the product
    (tvs, itlrecovery: no store of their own) [U: the lab's reading]."""
    return service in product.services or service in product.identities


def _one_of(product: VosProduct) -> JSONResponse:
    """400: the ``service`` value is not one of the product's."""
    return _bad(400, f"service must be one of {', '.join(product.services)}")


def _store(node: Node, service: str) -> list[TrustEntry]:
    return [*node.builtins[: node.state.builtin_cas], *node.state.trust.get(service, [])]


def _item(entry: TrustEntry, service: str, *, with_pem: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {
        "service": store_name(service), "subject": entry.subject, "issuer": entry.issuer,
        "serialNumber": entry.serial, "expiration": entry.not_after,
        "description": entry.description, "sha256": entry.sha256,
    }
    if with_pem:
        item["certificate"] = entry.pem
    return item


def _identity_item(node: Node, service: str) -> dict[str, Any] | None:
    ident = node.state.identities.get(service)
    if ident is None:
        return None
    item = _item(entry_of(load_certs(ident.cert_pem)[0]), service)
    item["service"] = service
    item["chain"] = ident.chain_pems
    return item


async def snapshot(product: VosProduct, node: Node, request: Request) -> Response:
    """The inventory in the evidenced shape: ``identities[].certificate`` and
    ``trusts[].certificate_data[].certificate`` hold PEM [3P, validated live]. The other
    keys of an entry (``service``, ``subject``...) are [U] lookalikes. No version and no
    restart-pending field: nobody has seen one on a real node (the lab's own restart state
    is on its control API). A node with ``snapshot_shape: identities`` leaves ``trusts``
    out, so that clients must read each store on its own."""
    identities = [i for s in product.identities if (i := _identity_item(node, s)) is not None]
    body: dict[str, Any] = {"identities": identities}
    if node.state.snapshot_shape == "full":
        body["trusts"] = [
            {"service": store_name(s),
             "certificate_data": [_item(e, s) for e in _store(node, s)]}
            for s in product.services
        ]
    return JSONResponse(body)


async def list_trust(product: VosProduct, node: Node, request: Request) -> Response:
    service = _service_arg(product, request)
    if service is None:
        return _one_of(product)
    items = [_item(e, service) for e in _store(node, service)]
    if node.state.trust_list_shape == "list":
        return JSONResponse(items)
    return JSONResponse({"certificates": items})


def _upload(node: Node, service: str, cert: x509.Certificate, description: str) -> bool:
    """One CA into one store, with CUCM's same-name rule (CUCM 15 Security Guide [3P]): a
    CA named like one already trusted replaces it when newer and is skipped otherwise
    [U: "newer" read as a later notBefore; the subject as the name]. True: the store changed.
    """
    store = node.state.trust.setdefault(service, [])
    entry = entry_of(cert, description)
    if any(e.sha256 == entry.sha256 for e in _store(node, service)):
        return False
    same = next((e for e in _store(node, service) if e.subject == entry.subject), None)
    if same is not None:
        old = load_certs(same.pem)[0]
        if cert.not_valid_before_utc <= old.not_valid_before_utc or same not in store:
            return False  # skipped: an older (or built-in) CA of that name stays
        store.remove(same)
    store.append(entry)
    return True


def _uploaded(product: VosProduct, node: Node, service: str, cert: x509.Certificate,
              description: str) -> bool:
    """``_upload``, and the CA is not in effect until the store's service restarts."""
    if not _upload(node, service, cert, description):
        return False
    node.trust_uploaded(service, entry_of(cert).sha256, product.trust_restarts.get(service, ()))
    return True


async def add_trust(product: VosProduct, node: Node, request: Request) -> Response:
    body = await json_body(request)
    if body is None:
        return _bad(400, "the body must be a JSON object")
    services, pems = body.get("service"), body.get("certificates")
    if (not isinstance(services, list) or not services
            or not all(isinstance(s, str) and s.lower() in product.services for s in services)):
        return _bad(400, f"service must be a list of {', '.join(product.services)}")
    if not isinstance(pems, list) or not pems or not all(isinstance(p, str) for p in pems):
        return _bad(400, "certificates must be a list of PEM texts")
    try:
        certs = [c for p in pems for c in load_certs(p)]
    except ValueError:
        return _bad(400, "a certificate is not valid PEM")
    description = str(body.get("description", ""))
    added: list[str] = []
    for service in (s.lower() for s in services):
        if any([_uploaded(product, node, service, cert, description) for cert in certs]):
            added.append(service)
        if service in added:
            node.mark_restart_pending(product.trust_restarts.get(service, ()))
    node.save()
    _replicate(product, node, [s for s in added if s in REPLICATED_FROM_PUBLISHER], certs,
               description)
    return JSONResponse(
        {"message": "Certificates uploaded", "service": [store_name(s) for s in added],
         "restartRequired": [r for s in added for r in product.trust_restarts.get(s, ())]},
        status_code=201,
    )


def _replicate(product: VosProduct, node: Node, services: list[str],
               certs: list[x509.Certificate], description: str) -> None:
    """On a Unified CM publisher: the uploads reach every subscriber after the cluster's
    ``replication_seconds`` (their services then owe the same restarts)."""
    if product.type != "cucm" or node.publisher != node.name or not services:
        return

    async def later() -> None:
        await asyncio.sleep(node.replication_seconds)
        for member in node.cluster:
            for service in services:
                if any([_uploaded(product, member, service, c, description) for c in certs]):
                    member.mark_restart_pending(product.trust_restarts.get(service, ()))
            member.save()

    node.spawn(later())


async def read_identity(product: VosProduct, node: Node, request: Request) -> Response:
    service = request.query_params.get("service", "").lower()
    if not _identity_service(product, service):
        return _one_of(product)
    item = _identity_item(node, service)
    if item is None:
        return _bad(404, f"no identity certificate for {service}")
    return JSONResponse(item)


async def generate_csr(product: VosProduct, node: Node, request: Request) -> Response:
    body = await json_body(request)
    service = str((body or {}).get("service", "")).lower()
    if body is None or not _identity_service(product, service):
        return _one_of(product)
    key_type, length = str(body.get("keyType", "rsa")).lower(), int(body.get("keyLength", 2048))
    kinds = {("rsa", 2048): "rsa2048", ("rsa", 4096): "rsa4096",
             ("ec", 256): "ec256", ("ec", 384): "ec384", ("ec", 521): "ec521"}
    kind = kinds.get((key_type, length))
    if kind is None:
        return _bad(400, "unsupported keyType/keyLength")
    alt = body.get("altNames", [])
    if not isinstance(alt, list):
        return _bad(400, "altNames must be a list")
    distribution = str(body.get("distribution") or "this-server")
    if refused := _distribution_refused(product, node, service, distribution, alt):
        return refused
    cn = str(body.get("commonName") or node.state.fqdn)
    key = new_key(kind)  # type: ignore[arg-type]
    try:
        csr = make_csr(key, cn, [str(a) for a in alt],
                       digest=str(body.get("hashAlgorithm", "sha256")))
    except ValueError as exc:
        return _bad(400, str(exc))
    pem = csr.public_bytes(Encoding.PEM).decode()
    # A new CSR replaces the pending one: a certificate for the old CSR is now stale.
    node.state.pending_csrs[service] = PendingCsr(csr_pem=pem, key_pem=key_pem(key),
                                                  distribution=distribution)
    node.save()
    return JSONResponse({"csr": pem})


def _distribution_refused(product: VosProduct, node: Node, service: str, distribution: str,
                          alt: list[Any]) -> Response | None:
    """A multi-server (SAN) CSR: tomcat only [C], on a cluster's publisher, naming every
    member's FQDN (the lab's reading: a member not named could not serve it)."""
    if distribution == "this-server":
        return None
    if distribution != "multi-server":
        return _bad(400, f"unknown distribution {distribution!r}")
    if product.type != "cucm" or service != "tomcat" or node.publisher != node.name:
        return _bad(400, "a multi-server (SAN) CSR is generated for tomcat on the publisher")
    names = {str(a).lower() for a in alt}
    missing = sorted(m.state.fqdn for m in (node, *node.cluster) if m.state.fqdn not in names)
    if missing:
        return _bad(400, f"a multi-server (SAN) CSR must name every member: {', '.join(missing)}")
    return None


def _distribute(product: VosProduct, node: Node, service: str) -> None:
    """A multi-server certificate installed on the publisher reaches every member, each
    serving it after its own Tomcat restart [C: pushed to all nodes automatically]."""
    identity = node.state.identities[service]
    for member in node.cluster:
        member.state.identities[service] = identity.model_copy(deep=True)
        member.mark_restart_pending(product.identity_restarts(service, member.state.version))
        member.save()


def _issuer_trusted(node: Node, leaf: x509.Certificate, service: str) -> bool:
    for entry in _store(node, service):
        ca = load_certs(entry.pem)[0]
        if ca.subject == leaf.issuer:
            try:
                leaf.verify_directly_issued_by(ca)
            except Exception:
                continue
            return True
    return False


async def install_identity(product: VosProduct, node: Node, request: Request) -> Response:
    body = await json_body(request)
    service = str((body or {}).get("service", "")).lower()
    if body is None or not _identity_service(product, service):
        return _one_of(product)
    pems = body.get("certificates")
    if not isinstance(pems, list) or not pems or not all(isinstance(p, str) for p in pems):
        return _bad(400, "certificates must be a list of PEM texts")
    try:
        certs = [c for p in pems for c in load_certs(p)]
    except ValueError:
        return _bad(400, "a certificate is not valid PEM")
    refused = install_certs(product, node, service, certs)
    if refused is not None:
        return _bad(*refused)
    return JSONResponse({"message": "Certificate uploaded", "service": service}, status_code=200)


def install_certs(product: VosProduct, node: Node, service: str,
                  certs: list[x509.Certificate]) -> tuple[int, str] | None:
    """Install the one leaf of ``certs`` (with the rest as its chain) as ``service``'s
    identity, as the REST API and the CLI's ``set cert import own`` do; (status, text) when
    refused: the issuing CA not in the matching trust store, or no matching key (stale CSR)."""
    leaves = [c for c in certs if not is_ca(c)]
    if len(leaves) != 1:
        return 400, "exactly one leaf certificate is expected"
    leaf = leaves[0]
    # [U] TVS and ITLRecovery have no store the lab models: their CA is not checked.
    if service in product.services and not _issuer_trusted(node, leaf, service):
        return 400, f"the issuing CA of the certificate is not in {store_name(service)}"
    key = spki(leaf.public_key())
    pending = node.state.pending_csrs.get(service)
    current = node.state.identities.get(service)
    multi = False
    if pending is not None and key == spki(load_key(pending.key_pem).public_key()):
        key_text = pending.key_pem
        multi = pending.distribution == "multi-server"
        del node.state.pending_csrs[service]
    elif current is not None and key == spki(load_key(current.key_pem).public_key()):
        key_text = current.key_pem
    else:
        return 500, "the certificate does not match the CSR (stale CSR)"
    node.state.identities[service] = node.identity_with_chain(
        leaf, key_text, [c for c in certs if c is not leaf]
    )
    node.mark_restart_pending(product.identity_restarts(service, node.state.version))
    node.save()
    if multi:
        _distribute(product, node, service)
    return None


def vos_routes(product: VosProduct) -> tuple[Route, ...]:
    """The product's API table: the REST rows, and SOAP service control where it has it."""

    def bound(handler: Callable[..., Any]) -> Handler:
        result: Handler = partial(handler, product)
        return result

    rest = (
        Route("GET", BASE + "/snapshot/server", "snapshot", bound(snapshot)),
        Route("GET", BASE + "/trust/certificate", "trust.list", bound(list_trust)),
        Route("POST", BASE + "/trust/certificates", "trust.add", bound(add_trust)),
        Route("GET", BASE + "/identity/certificate", "identity.read", bound(read_identity)),
        Route("POST", BASE + "/csr", "csr.generate", bound(generate_csr)),
        Route("POST", BASE + "/identity/certificates", "identity.install",
              bound(install_identity)),
    )
    return (*rest, *SOAP_ROUTES) if product.soap else rest


def vos_app(node: Node, product: VosProduct = CUCM) -> ASGIApp:
    """The ASGI app of one emulated VOS node (REST on /platformcom, SOAP if the product has it)."""

    def gate(request: Request) -> Response | None:
        if request.url.path.startswith("/platformcom") and not has_rest(node.state.version):
            return PlainTextResponse("Not Found", status_code=404)  # 12.5: no REST API
        return None

    return build_app(node, vos_routes(product), realm=product.realm, gate=gate)


def cucm_app(node: Node) -> ASGIApp:
    """The ASGI app of one emulated CUCM node (REST on /platformcom, SOAP service control)."""
    return vos_app(node, CUCM)
