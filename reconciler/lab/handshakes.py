"""The lab's link check as mutual TLS with roles: refused handshakes, by reason.

For each link of the topology, who opens the TLS connection is kind knowledge
(``reconciler.kinds``: a role table's ``connects_to``). The side that connects presents its
client certificate (its only certificate before X15.5); the far end checks its chain (one CA
of it in the far end's peer-trust stores) and its clientAuth by the far end's version and
settings (``lab.eku``); the connecting side checks the far end's served certificate (chain,
serverAuth). At every change in the timeline (nothing changes between two samples) every
link whose two ends are up is checked; each distinct refusal (link, reason, certificates) is
counted once. Reasons: ``untrusted chain``, ``no clientAuth``, ``no serverAuth``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from reconciler.kinds import KINDS
from reconciler.lab.eku import CLIENT_AUTH, SERVER_AUTH, SIP_CHECKING, version_of

if TYPE_CHECKING:
    from reconciler.lab.availability import Sample

UNTRUSTED, NO_CLIENT_AUTH, NO_SERVER_AUTH = "untrusted chain", "no clientAuth", "no serverAuth"


def connects(client: Sample, server: Sample) -> str | None:
    """What ``client`` opens to ``server`` (the kind's words), or None: it does not."""
    kind = KINDS.get(client.node_type)
    if kind is None:
        return None
    uses = kind.role_table.link_to(server.node_type)
    return uses[0].what if uses else None


def checks_client_auth(client: Sample, server: Sample) -> bool:
    """Whether the far end (``server``) checks the client's clientAuth on this link [C]:
    cluster peers and the C on MRA's SIP SERVICE stop from X15.4 (TAC 225482); inbound SIP
    TLS on X15.5 follows the EKU checking mode (TAC 225693); the traversal zone (SSH tunnels
    on 2222) and Unified CM always check."""
    far = version_of(server.version) if server.node_type.startswith("expressway") else (0, 0)
    if server.node_type == client.node_type and far >= (15, 4):
        return False  # cluster replication
    if (client.node_type, server.node_type) == ("expressway-e", "expressway-c") and far >= (15, 4):
        return False  # MRA SIP SERVICE
    sip_in = server.node_type == "expressway-c" and client.node_type in ("cucm", "expressway-e")
    return not (sip_in and far >= (15, 5) and dict(server.settings).get(SIP_CHECKING) == "Off")


def check(client: Sample, server: Sample) -> list[str]:
    """The reasons one handshake of ``client`` to ``server`` is refused (empty: it works)."""
    out: list[str] = []
    if not client.client_chain_shas & server.trusted_shas:
        out.append(f"{UNTRUSTED} ({server.node} does not trust {client.node}'s client "
                   "certificate)")
    if checks_client_auth(client, server) and CLIENT_AUTH not in client.client_eku:
        out.append(f"{NO_CLIENT_AUTH} ({client.node}'s client certificate, checked by "
                   f"{server.node} {server.version})")
    if not server.chain_shas & client.trusted_shas:
        out.append(f"{UNTRUSTED} ({client.node} does not trust {server.node}'s server "
                   "certificate)")
    if SERVER_AUTH not in server.served_eku:
        out.append(f"{NO_SERVER_AUTH} ({server.node}'s server certificate)")
    if server.sip_chain_shas and client.node_type == "expressway-c" and not (
            server.sip_chain_shas & client.trusted_shas):
        out.append(f"{UNTRUSTED} ({client.node} does not trust {server.node}'s CallManager "
                   "certificate on SIP TLS)")
    return out


def refused_handshakes(samples: Sequence[Sample], links: Mapping[str, Iterable[str]],
                       start: Mapping[str, Sample] | None = None) -> list[str]:
    """Every distinct refused handshake while replaying ``samples`` from ``start``:
    ``client -> server (what): reason``. After each sample only the links of the node it
    changed are checked again (the others are as they were)."""
    state: dict[str, Sample] = dict(start or {})
    seen: dict[tuple[str, ...], str] = {}
    for name in sorted(state):
        _check_node(state, links, name, seen)
    for sample in samples:
        state[sample.node] = sample
        _check_node(state, links, sample.node, seen)
    return list(seen.values())


def _check_node(state: Mapping[str, Sample], links: Mapping[str, Iterable[str]], name: str,
                seen: dict[tuple[str, ...], str]) -> None:
    """Both directions of every link of ``name`` whose two ends are up."""
    for peer in sorted(links.get(name, ())):
        if peer not in state:
            continue
        for a, b in ((state[name], state[peer]), (state[peer], state[name])):
            what = connects(a, b)
            if what is None or not (a.up and b.up) or not a.node_type:
                continue
            for reason in check(a, b):
                key = (a.node, b.node, reason, a.client_sha, b.served_sha, b.sip_sha)
                seen.setdefault(key, f"{a.node} -> {b.node} ({what}): {reason}")
