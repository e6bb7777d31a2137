"""DNS-01 for the ACME issuer: set the TXT record, wait until the authoritative servers
serve it, clear it afterwards.

Two providers (``certops.yaml`` ``issuers.<name>.dns01.provider``):

- ``rfc2136``: dynamic updates (RFC 2136) signed with TSIG, to any primary that accepts
  them (BIND, PowerDNS, Knot, Windows DNS). The zone is given or found from the server's SOA.
- ``exec``: a command, as lego's exec provider: ``<command> present <fqdn> <value>`` and
  ``<command> cleanup <fqdn> <value>``.

Propagation is checked by asking the configured authoritative servers directly (never the
system resolver) until each one serves the value, up to a deadline. Blocking code: the ACME
issuer runs it in a worker thread. No message holds the TSIG secret.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from reconciler.issuers.base import IssueFailed
from reconciler.model import ExecDnsSpec, Rfc2136Spec

QUERY_TIMEOUT = 3.0  # seconds for one DNS query or update
POLL = 0.5  # seconds between two looks at the authoritative servers


class Dns01Provider(Protocol):
    """Sets and clears one TXT record; names the servers that must serve it."""

    @property
    def nameservers(self) -> tuple[tuple[str, int], ...]: ...

    def present(self, fqdn: str, value: str) -> None: ...

    def cleanup(self, fqdn: str, value: str) -> None: ...


def host_port(text: str, default: int = 53) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` → (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default


class Rfc2136:
    """RFC 2136 updates with TSIG (see the module docstring)."""

    def __init__(self, spec: Rfc2136Spec, secret: str) -> None:
        self.spec = spec
        self.server = host_port(spec.server)
        key = (spec.tsig_algorithm, secret)
        self._keyring = dns.tsigkeyring.from_text({spec.tsig_key_name: key})
        self._algorithm = dns.name.from_text(spec.tsig_algorithm)
        servers = spec.nameservers or (spec.server,)
        self._nameservers = tuple(host_port(s) for s in servers)

    @property
    def nameservers(self) -> tuple[tuple[str, int], ...]:
        return self._nameservers

    def present(self, fqdn: str, value: str) -> None:
        self._update(fqdn, value, add=True)

    def cleanup(self, fqdn: str, value: str) -> None:
        self._update(fqdn, value, add=False)

    def _update(self, fqdn: str, value: str, *, add: bool) -> None:
        """One signed update adding or deleting the TXT record ``fqdn`` = ``value``."""
        zone = self.spec.zone or find_zone(fqdn, self.server)
        update = dns.update.UpdateMessage(
            zone, keyring=self._keyring, keyname=dns.name.from_text(self.spec.tsig_key_name),
            keyalgorithm=self._algorithm,
        )
        rdata = f'"{value}"'
        if add:
            update.add(f"{fqdn}.", self.spec.ttl, "TXT", rdata)
        else:
            update.delete(f"{fqdn}.", "TXT", rdata)
        verb = "add" if add else "delete"
        host, port = self.server
        try:
            answer = dns.query.tcp(update, host, port=port, timeout=QUERY_TIMEOUT)
        except (OSError, dns.exception.DNSException) as exc:
            raise IssueFailed(
                f"RFC 2136: cannot {verb} the TXT record {fqdn} on {host}:{port}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if answer.rcode() != dns.rcode.NOERROR:
            raise IssueFailed(
                f"RFC 2136: {host}:{port} refused to {verb} the TXT record {fqdn} in zone "
                f"{zone}: {dns.rcode.to_text(answer.rcode())} (check the TSIG key name and "
                "the zone's update policy)"
            )


def find_zone(fqdn: str, server: tuple[str, int]) -> str:
    """The zone that holds ``fqdn`` on ``server``: the owner of the SOA it answers with."""
    query = dns.message.make_query(f"{fqdn}.", dns.rdatatype.SOA)
    host, port = server
    try:
        answer = dns.query.udp(query, host, port=port, timeout=QUERY_TIMEOUT)
    except (OSError, dns.exception.DNSException) as exc:
        raise IssueFailed(
            f"RFC 2136: cannot find the zone of {fqdn} on {host}:{port}: {exc} "
            "(set dns01.zone in certops.yaml)"
        ) from None
    for rrset in (*answer.answer, *answer.authority):
        if rrset.rdtype == dns.rdatatype.SOA:
            return str(rrset.name.to_text(omit_final_dot=True))
    raise IssueFailed(
        f"RFC 2136: {host}:{port} is not authoritative for {fqdn} (no SOA in its answer); "
        "set dns01.zone and dns01.server in certops.yaml"
    )


class ExecHook:
    """A command that sets and clears the record (see the module docstring)."""

    def __init__(self, spec: ExecDnsSpec, env: Mapping[str, str]) -> None:
        self.spec = spec
        self.env = dict(env)
        self._nameservers = tuple(host_port(s) for s in spec.nameservers)

    @property
    def nameservers(self) -> tuple[tuple[str, int], ...]:
        return self._nameservers

    def present(self, fqdn: str, value: str) -> None:
        self._run("present", fqdn, value)

    def cleanup(self, fqdn: str, value: str) -> None:
        self._run("cleanup", fqdn, value)

    def _run(self, verb: str, fqdn: str, value: str) -> None:
        argv = [*self.spec.command, verb, f"{fqdn}.", value]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.spec.timeout,
                env=self.env, check=False,
            )
        except subprocess.TimeoutExpired:
            raise IssueFailed(
                f"DNS hook {argv[0]} {verb} {fqdn} did not finish within {self.spec.timeout}s"
            ) from None
        except OSError as exc:
            raise IssueFailed(f"DNS hook: cannot run {argv[0]!r}: {exc.strerror}") from None
        if done.returncode != 0:
            tail = done.stderr.strip()[-500:] or "(no message on standard error)"
            raise IssueFailed(
                f"DNS hook {argv[0]} {verb} {fqdn} exited {done.returncode}: {tail}"
            )


def txt_values(fqdn: str, server: tuple[str, int]) -> set[str]:
    """The TXT strings ``server`` serves for ``fqdn`` right now (none on any error)."""
    query = dns.message.make_query(f"{fqdn}.", dns.rdatatype.TXT)
    host, port = server
    try:
        answer = dns.query.udp(query, host, port=port, timeout=QUERY_TIMEOUT)
    except (OSError, dns.exception.DNSException):
        return set()
    out: set[str] = set()
    for rrset in answer.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            for rdata in rrset:
                out.add(b"".join(rdata.strings).decode(errors="replace"))
    return out


@dataclass(frozen=True)
class Record:
    """One DNS-01 record to publish: ``_acme-challenge.<name>`` = ``value``."""

    fqdn: str
    value: str


def wait_visible(records: list[Record], provider: Dns01Provider, timeout: float) -> None:
    """Block until every authoritative server serves every record; IssueFailed at the deadline."""
    deadline = time.monotonic() + timeout
    waiting = [(r, s) for r in records for s in provider.nameservers]
    while waiting:
        waiting = [(r, s) for r, s in waiting if r.value not in txt_values(r.fqdn, s)]
        if not waiting:
            return
        if time.monotonic() >= deadline:
            record, (host, port) = waiting[0]
            raise IssueFailed(
                f"DNS-01: the TXT record {record.fqdn} was not visible on {host}:{port} "
                f"within {timeout:g}s (propagation_timeout): check the DNS provider and "
                "dns01.nameservers; the CA was not asked to validate, nothing was installed"
            )
        time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))


def provider_for(spec: Rfc2136Spec | ExecDnsSpec, env: Mapping[str, str]) -> Dns01Provider:
    """The DNS-01 provider of ``spec``, its secret read from the environment or a file."""
    if isinstance(spec, ExecDnsSpec):
        return ExecHook(spec, env)
    return Rfc2136(spec, tsig_secret(spec, env))


def tsig_secret(spec: Rfc2136Spec, env: Mapping[str, str]) -> str:
    """The base64 TSIG secret, from ``tsig_secret_env`` or ``tsig_secret_file``."""
    if spec.tsig_secret_env:
        value = env.get(spec.tsig_secret_env, "").strip()
        if not value:
            raise IssueFailed(f"RFC 2136: the environment variable {spec.tsig_secret_env} "
                              "(tsig_secret_env) is not set")
        return value
    path = os.path.expanduser(spec.tsig_secret_file or "")
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as exc:
        raise IssueFailed(
            f"RFC 2136: cannot read tsig_secret_file {path}: {exc.strerror}"
        ) from None
