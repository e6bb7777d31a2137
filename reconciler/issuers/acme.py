"""ACME (RFC 8555) issuer: certbot's ``acme`` library, DNS-01, orders that survive a crash.

For each node's CSR: register (or find) the account, resume the order recorded for this
node and CSR or place a new one and record it (``issuers.orders``), publish the DNS-01
records (``issuers.dns01``), wait until the authoritative servers serve them, tell the CA to
validate, finalize with the node's CSR, download the chain, clear the records and forget the
order. The order names the issuer's ACME ``profile`` and, when the CA offers ARI and certops
holds its renewal window for the node's current certificate, ``replaces`` that certificate
(RFC 9773 section 5; the ``acme`` library sends no ``replaces``, so certops builds the
newOrder itself). Before that, at plan time, ``directory()`` reads the CA's directory
(``renewalInfo``, ``meta.profiles``: ``check_profile``) and ``renewal_window`` asks ARI about
a certificate (``issuers.ari``). The private key stays on the node; the account key comes
from an environment variable or a file outside the repository; External Account Binding
(kid + HMAC key) from the environment. The ``acme`` library is blocking (requests): it runs
in a worker thread. TLS to the ACME server is verified against ``tls_ca_file`` (or the system
store). Messages name what failed and the CA's problem detail (and Retry-After when
rate-limited), never a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import josepy as jose
import requests
from acme import challenges, crypto_util, errors, messages
from acme.client import ClientNetwork, ClientV2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from josepy.jwa import ES256, ES384, ES512, RS256, JWASignature
from josepy.jwk import JWK, JWKEC, JWKRSA

from reconciler.issuers.ari import AcmeDirectory, read_cache, window_from
from reconciler.issuers.base import Issued, IssueFailed, Pending
from reconciler.issuers.dns01 import Dns01Provider, Record, provider_for, tsig_secret, wait_visible
from reconciler.issuers.orders import OrderRecord, drop_order, read_order, write_order
from reconciler.model import AcmeIssuerSpec, Rfc2136Spec
from reconciler.model.layout import order_path
from reconciler.model.renewal import RenewalWindow

ARI_TIMEOUT = 20.0  # seconds for one directory or renewalInfo GET at plan time

USER_AGENT = "certops"
EC_ALGORITHMS = {"secp256r1": ES256, "secp384r1": ES384, "secp521r1": ES512}


class _NewOrder(messages.NewOrder):
    """RFC 8555 newOrder with RFC 9773's ``replaces`` (the ``acme`` library lacks it)."""

    replaces: str | None = jose.field("replaces", omitempty=True)  # type: ignore[attr-defined]


class _Network(ClientNetwork):
    """The ``acme`` network client, remembering the last response (for its Retry-After)."""

    last: requests.Response | None = None

    def _send_request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        response = super()._send_request(method, url, *args, **kwargs)
        self.last = response
        return response


@dataclass
class _Session:
    """One logged-in ACME client for one submit."""

    client: ClientV2
    net: _Network
    key: JWK
    url: str


class AcmeIssuer:
    """An issuer that gets certificates from an ACME CA (see the module docstring)."""

    def __init__(
        self, name: str, spec: AcmeIssuerSpec, env: Mapping[str, str] | None = None,
        desired_root: Path | None = None,
    ) -> None:
        self._name = name
        self.spec = spec
        self.env = dict(os.environ if env is None else env)
        self.root = desired_root or Path(".")
        self._known_directory: AcmeDirectory | None = None
        self._directory_failed: IssueFailed | None = None

    @property
    def name(self) -> str:
        return self._name

    async def submit(self, node: str, csr_pem: str) -> Issued | Pending:
        return await asyncio.to_thread(self._submit, node, csr_pem)

    async def resume(self, node: str, ticket: str) -> Issued | Pending:
        raise IssueFailed(f"issuer {self.name}: run certops apply again: submit resumes the "
                          f"order recorded for {node}")

    # --- plan time: the directory, profiles, ARI --------------------------------------------

    async def directory(self) -> AcmeDirectory:
        """The CA's directory (IssueFailed when it cannot be read)."""
        return await asyncio.to_thread(self._directory)

    async def check_profile(self) -> str | None:
        """Why this issuer's ``profile`` cannot be ordered from its CA (None: it can)."""
        if self.spec.profile is None:
            return None
        return (await self.directory()).profile_problem(self.name, self.spec.profile)

    async def renewal_window(self, node: str, cert_id: str,
                             now: datetime) -> RenewalWindow | None:
        """The CA's renewal window for ``node``'s certificate ``cert_id`` (None: the CA offers
        no ARI); IssueFailed when the CA does not answer with one."""
        return await asyncio.to_thread(self._renewal_window, node, cert_id, now)

    def _directory(self) -> AcmeDirectory:
        """The directory, read once per issuer object (one plan asks it for every node; a CA
        that did not answer is not asked again in the same run)."""
        if self._directory_failed is not None:
            raise self._directory_failed
        if self._known_directory is None:
            url = self.spec.directory_url
            try:
                data = self._get_json(url, "its directory")[0]
            except IssueFailed as exc:
                self._directory_failed = exc
                raise
            self._known_directory = AcmeDirectory.from_json(url, data)
        return self._known_directory

    def _renewal_window(self, node: str, cert_id: str, now: datetime) -> RenewalWindow | None:
        base = self._directory().renewal_info
        if base is None:
            return None
        data, retry = self._get_json(f"{base}/{cert_id}", f"renewalInfo for {cert_id}")
        try:
            return window_from(self.name, node, cert_id, data, retry, now)
        except ValueError as exc:
            raise IssueFailed(f"issuer {self.name}: renewalInfo for {cert_id} from "
                              f"{base}: {exc}") from None

    def _get_json(self, url: str, what: str) -> tuple[dict[str, Any], str | None]:
        """GET ``url`` (TLS verified) as a JSON object, with the Retry-After header."""
        try:
            response = requests.get(url, timeout=ARI_TIMEOUT, verify=self._tls_bundle() or True,
                                    headers={"User-Agent": USER_AGENT})
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise IssueFailed(f"issuer {self.name}: cannot read {what} at {url}: "
                              f"{type(exc).__name__}: {exc}") from None
        if not isinstance(data, dict):
            raise IssueFailed(f"issuer {self.name}: {what} at {url} is not a JSON object")
        return data, response.headers.get("Retry-After")

    # --- apply time -------------------------------------------------------------------------

    def _submit(self, node: str, csr_pem: str) -> Issued:
        """The whole order, blocking; every failure an IssueFailed without secrets."""
        session: _Session | None = None
        try:
            with self._redacted():
                session = self._open()
                return self._order(session, node, csr_pem)
        except messages.Error as exc:
            raise IssueFailed(self._redact(self._problem(exc, node, session))) from None
        except errors.Error as exc:
            raise IssueFailed(self._redact(
                f"issuer {self.name}: the ACME exchange for {node} failed: "
                f"{type(exc).__name__}: {exc}")) from None
        except requests.RequestException as exc:
            raise IssueFailed(self._redact(
                f"issuer {self.name}: cannot reach the ACME server {self.spec.directory_url}: "
                f"{type(exc).__name__}: {exc}")) from None

    # --- account -------------------------------------------------------------------------

    def _open(self) -> _Session:
        """The directory, then the account (registered once, found again by its key)."""
        key = self._account_key()
        alg = RS256 if isinstance(key, JWKRSA) else _ec_alg(key)
        verify: Any = self._tls_bundle() or True  # requests accepts a CA bundle path
        net = _Network(key, alg=alg, verify_ssl=verify, user_agent=USER_AGENT)
        url = self.spec.directory_url
        client = ClientV2(ClientV2.get_directory(url, net), net)
        eab = self._eab(key, client)
        if client.external_account_required() and eab is None:
            raise IssueFailed(f"issuer {self.name}: {url} requires External Account Binding: "
                              "set eab_kid_env and eab_hmac_key_env in certops.yaml")
        registration = messages.NewRegistration.from_data(
            email=self.spec.email, terms_of_service_agreed=True, external_account_binding=eab
        )
        try:
            client.new_account(registration)
        except errors.ConflictError as exc:  # the account exists: use it
            net.account = messages.RegistrationResource(
                uri=exc.location, body=messages.Registration()
            )
        return _Session(client=client, net=net, key=key, url=url)

    def _account_key(self) -> JWK:
        """The account key (RSA or ECDSA, PEM) from the variable or the file named."""
        spec = self.spec
        if spec.account_key_env:
            data = self.env.get(spec.account_key_env, "").encode()
            where = f"the environment variable {spec.account_key_env}"
        else:
            path = os.path.expanduser(spec.account_key_file or "")
            where = f"account_key_file {path}"
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                raise IssueFailed(f"issuer {self.name}: cannot read {where}: {exc.strerror}"
                                  ) from None
        try:
            key = load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise IssueFailed(f"issuer {self.name}: {where} holds no unencrypted PEM private "
                              "key (RSA or ECDSA)") from None
        if isinstance(key, rsa.RSAPrivateKey):
            return JWKRSA(key=key)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return JWKEC(key=key)
        raise IssueFailed(f"issuer {self.name}: {where} is neither an RSA nor an ECDSA key")

    def _eab(self, key: JWK, client: ClientV2) -> dict[str, Any] | None:
        """The External Account Binding of the new-account request, when configured."""
        spec = self.spec
        if not (spec.eab_kid_env and spec.eab_hmac_key_env):
            return None
        kid, hmac = self.env.get(spec.eab_kid_env, ""), self.env.get(spec.eab_hmac_key_env, "")
        if not kid or not hmac:
            raise IssueFailed(f"issuer {self.name}: {spec.eab_kid_env} and "
                              f"{spec.eab_hmac_key_env} (External Account Binding) must be set")
        return messages.ExternalAccountBinding.from_data(
            account_public_key=key.public_key(), kid=kid, hmac_key=hmac,
            directory=client.directory,
        )

    def tls_bundle(self) -> str | None:
        """The CA bundle for the ACME server's (and its CRLs') TLS, or None: the system's."""
        return self._tls_bundle()

    def _tls_bundle(self) -> str | None:
        """The CA bundle for the ACME server's TLS (relative paths: to certops.yaml)."""
        if not self.spec.tls_ca_file:
            return None
        path = Path(os.path.expanduser(self.spec.tls_ca_file))
        return str(path if path.is_absolute() else self.root / path)

    # --- the order ------------------------------------------------------------------------

    def _order(self, session: _Session, node: str, csr_pem: str) -> Issued:
        """Resume the recorded order or place (and record) a new one; authorize; finalize."""
        csr_sha = hashlib.sha256(csr_pem.strip().encode()).hexdigest()
        orderr = self._resumed(session, node, csr_sha, csr_pem)
        how = "resumed the recorded ACME order"
        if orderr is None:
            orderr = self._new_order(session, node, csr_pem)
            write_order(self.root, OrderRecord(
                issuer=self.name, node=node, order_url=str(orderr.uri), csr_sha256=csr_sha,
                directory=session.url, placed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            ))
            how = "ACME order"
        deadline = datetime.now() + timedelta(seconds=self.spec.timeout)  # acme: naive local
        try:
            self._authorize(session, orderr, deadline)
            done = finalize(session.client, orderr, deadline)
        except (errors.ValidationError, errors.IssuanceError) as exc:
            drop_order(self.root, self.name, node)
            raise IssueFailed(f"issuer {self.name}: the ACME order for {node} is invalid: "
                              f"{_invalid_detail(exc)}; nothing was installed") from None
        except IssueFailed as exc:
            raise IssueFailed(f"{exc}. The order {orderr.uri} stays recorded in "
                              f"{order_path(self.name, node)}: the next apply resumes it"
                              ) from None
        drop_order(self.root, self.name, node)
        if not done.fullchain_pem:
            raise IssueFailed(f"issuer {self.name}: the CA returned no certificate for {node}")
        return Issued(chain_pem=str(done.fullchain_pem), note=f"{how} {orderr.uri}")

    def _new_order(self, session: _Session, node: str, csr_pem: str) -> messages.OrderResource:
        """newOrder with the issuer's profile and ``replaces`` (the certificate of ``node``
        whose ARI window certops holds); once more without ``replaces`` if the CA refuses it
        as already replaced (RFC 9773 section 5)."""
        replaces = self._replaces(session, node)
        try:
            return self._place(session, csr_pem, replaces)
        except messages.Error as exc:
            if replaces is None or exc.code not in ("alreadyReplaced", "conflict"):
                raise
            return self._place(session, csr_pem, None)

    def _replaces(self, session: _Session, node: str) -> str | None:
        """The certID of the certificate this order replaces, if the CA offers ARI (``node``:
        the order's ``<node>`` or ``<node>.<role>``, as ``RenewalWindow.key``)."""
        try:
            session.client.directory["renewalInfo"]
        except KeyError:  # (acme's Directory has no __contains__)
            return None
        windows = read_cache(self.root).windows.values()
        found = [w.cert_id for w in windows if w.issuer == self.name and w.key == node]
        return found[0] if found else None

    def _place(self, session: _Session, csr_pem: str,
               replaces: str | None) -> messages.OrderResource:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        names, addresses = crypto_util.get_identifiers_from_x509(csr.subject, csr.extensions)
        identifiers = [messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=n)
                       for n in names]
        identifiers += [messages.Identifier(typ=messages.IDENTIFIER_IP, value=str(a))
                        for a in addresses]
        order = _NewOrder(identifiers=identifiers, profile=self.spec.profile,
                          replaces=replaces)
        new_nonce = session.client.directory["newNonce"]
        response = session.net.post(session.client.directory["newOrder"], order,
                                    new_nonce_url=new_nonce)
        body = messages.Order.from_json(response.json())
        authzs = [messages.AuthorizationResource(
            uri=url, body=messages.Authorization.from_json(_post_as_get(session, url).json()))
            for url in body.authorizations]
        return messages.OrderResource(body=body, uri=response.headers.get("Location"),
                                      authorizations=authzs, csr_pem=csr_pem.encode())

    def _resumed(
        self, session: _Session, node: str, csr_sha: str, csr_pem: str
    ) -> messages.OrderResource | None:
        """The order recorded for this node and CSR, still usable; else None (record dropped)."""
        record = read_order(self.root, self.name, node)
        if record is None:
            return None
        if record.csr_sha256 != csr_sha or record.directory != session.url:
            drop_order(self.root, self.name, node)
            return None
        try:
            body = messages.Order.from_json(_post_as_get(session, record.order_url).json())
            authzs = [
                messages.AuthorizationResource(
                    uri=url,
                    body=messages.Authorization.from_json(_post_as_get(session, url).json()),
                )
                for url in body.authorizations
            ]
        except messages.Error:
            body, authzs = None, []
        if body is None or body.status == messages.STATUS_INVALID:
            drop_order(self.root, self.name, node)
            return None
        return messages.OrderResource(
            uri=record.order_url, body=body, authorizations=authzs, csr_pem=csr_pem.encode()
        )

    def _authorize(
        self, session: _Session, orderr: messages.OrderResource, deadline: datetime
    ) -> None:
        """DNS-01 for every pending authorization: publish, wait, answer, poll, clean up."""
        provider = provider_for(self.spec.dns01, self.env)
        todo = [
            (authzr, _dns01(authzr, self.name))
            for authzr in orderr.authorizations
            if authzr.body.status == messages.STATUS_PENDING
        ]
        records = [
            Record(challb.chall.validation_domain_name(_base(authzr)),
                   challb.chall.validation(session.key))
            for authzr, challb in todo
        ]
        with _published(provider, records):
            wait_visible(records, provider, self.spec.dns01.propagation_timeout)
            for _, challb in todo:
                session.client.answer_challenge(challb, challb.chall.response(session.key))
            session.client.poll_authorizations(orderr, deadline)

    # --- messages -------------------------------------------------------------------------

    def _problem(self, exc: messages.Error, node: str, session: _Session | None) -> str:
        """A CA's problem document as one line; rate limits with the CA's Retry-After."""
        text = f"{exc.code or exc.typ}: {exc.detail or exc.description or ''}".strip()
        if exc.code == "rateLimited":
            last = session.net.last if session else None
            after = last.headers.get("Retry-After") if last is not None else None
            when = f"retry after {after} seconds" if after and after.isdigit() else (
                f"retry after {after}" if after else "the CA gave no Retry-After"
            )
            return (f"issuer {self.name}: the ACME server {self.spec.directory_url} rate-limited "
                    f"the order for {node} ({text}); {when}. Nothing was installed")
        return f"issuer {self.name}: the ACME server refused the order for {node}: {text}"

    def _secrets(self) -> list[str]:
        """Values that must never appear in a message: EAB and TSIG secrets, the key's lines."""
        spec = self.spec
        names = [n for n in (spec.account_key_env, spec.eab_hmac_key_env) if n]
        dns = spec.dns01
        if isinstance(dns, Rfc2136Spec) and dns.tsig_secret_env:
            names.append(dns.tsig_secret_env)
        values = [self.env.get(n, "") for n in names]
        if isinstance(dns, Rfc2136Spec) and dns.tsig_secret_file:
            with contextlib.suppress(IssueFailed):
                values.append(tsig_secret(dns, self.env))
        lines = [line for v in values for line in v.splitlines() if len(line.strip()) >= 8]
        return [v for v in (*values, *lines) if len(v.strip()) >= 8]

    def _redact(self, text: str) -> str:
        for secret in sorted(self._secrets(), key=len, reverse=True):
            text = text.replace(secret.strip(), "[secret]")
        return text

    @contextmanager
    def _redacted(self) -> Iterator[None]:
        """IssueFailed raised inside, with every secret value masked."""
        try:
            yield
        except IssueFailed as exc:
            raise IssueFailed(self._redact(str(exc))) from None


def finalize(
    client: ClientV2, orderr: messages.OrderResource, deadline: datetime
) -> messages.OrderResource:
    """Finalize with the node's CSR (or find the order already finalized) and download."""
    return client.finalize_order(orderr, deadline)


def _post_as_get(session: _Session, url: str) -> requests.Response:
    """RFC 8555 POST-as-GET of ``url`` with the account's key."""
    new_nonce = session.client.directory["newNonce"]
    response: requests.Response = session.net.post(url, None, new_nonce_url=new_nonce)
    return response


def _dns01(authzr: messages.AuthorizationResource, issuer: str) -> messages.ChallengeBody:
    """The authorization's dns-01 challenge (IssueFailed when the CA offers none)."""
    for challb in authzr.body.challenges:
        if isinstance(challb.chall, challenges.DNS01):
            return challb
    raise IssueFailed(f"issuer {issuer}: the CA offers no dns-01 challenge for "
                      f"{authzr.body.identifier.value}")


def _base(authzr: messages.AuthorizationResource) -> str:
    """The name a DNS-01 record is published under (a wildcard's base name)."""
    return str(authzr.body.identifier.value).removeprefix("*.")


@contextmanager
def _published(provider: Dns01Provider, records: list[Record]) -> Iterator[None]:
    """The records set for the duration of the block, then cleared (best effort)."""
    done: list[Record] = []
    try:
        for record in records:
            provider.present(record.fqdn, record.value)
            done.append(record)
        yield
    finally:
        for record in done:
            # A leftover TXT record is harmless: best effort.
            with contextlib.suppress(IssueFailed):
                provider.cleanup(record.fqdn, record.value)


def _invalid_detail(exc: errors.Error) -> str:
    """What the CA said about an invalid authorization or order."""
    if isinstance(exc, errors.ValidationError):
        parts = []
        for authzr in exc.failed_authzrs:
            for challb in authzr.body.challenges:
                if challb.error is not None:
                    parts.append(f"{authzr.body.identifier.value}: {challb.error.code}: "
                                 f"{challb.error.detail}")
        return "; ".join(parts) or "an authorization failed"
    if isinstance(exc, errors.IssuanceError):
        return f"{exc.error.code}: {exc.error.detail}"
    return str(exc)


def _ec_alg(key: JWK) -> JWASignature:
    """The JWS algorithm of an ECDSA account key, by its curve."""
    curve = getattr(key.key, "curve", None)
    alg = EC_ALGORITHMS.get(getattr(curve, "name", ""))
    if alg is None:
        raise IssueFailed("the ACME account key's curve is not P-256, P-384 or P-521")
    return alg
