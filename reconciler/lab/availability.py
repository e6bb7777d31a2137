"""Each node's availability over time, and the cluster invariant checked against it.

A node records a ``Sample`` whenever its availability, its served certificate or its trust
may have changed (``Node.observe``): when it goes down, when it comes back, when a service
starts or ends a restart, and at every save of its state (a trust upload, an install). The
samples of all nodes, in time order, are the lab's timeline; between two samples nothing
changes, so checking the invariant after each sample checks it at every instant.

The invariant (issue 12): at every instant, each cluster has at least
``members - max_unavailable`` members up, and every member that is up serves a certificate
that every node linked to it (the other members, and every member of every linked cluster)
trusts. "Up" means: the HTTPS port answers and no service is restarting (a CallManager
restart drops the phones registered to that node). "Trusts" means: one CA of the served
certificate's chain (as the lab's CAs make it) is in one of the peer's stores that hold
peers' CAs (Expressway: its trusted CA list; Unified CM: tomcat-trust, callmanager-trust)
and in effect there: on a Unified CM node a CA uploaded to a store takes effect only with
the restart of the service that reads it (tomcat-trust: Cisco Tomcat; callmanager-trust:
Cisco CallManager), so between the upload and that restart it does not count (issue 21).

Calls (``lab.calls``): a sample also says whether an Expressway is in maintenance mode and
how many calls a restart dropped at that instant; ``report`` sums the drops per node.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from reconciler.lab.handshakes import refused_handshakes

# The stores in which a node holds the CAs of its peers (reconciler.kinds: peer_stores).
PEER_STORES = ("tomcat", "callmanager")


@dataclass(frozen=True)
class Sample:
    """What one node looked like from ``t`` (monotonic seconds) on."""

    t: float
    node: str
    up: bool
    served_sha: str  # SHA-256 of the served leaf
    served_subject: str
    served_issuer: str
    chain_shas: frozenset[str]  # the served leaf's issuers, as the lab's CAs make them
    trusted_shas: frozenset[str]  # the CAs in the node's peer-trust stores, in effect
    why: str = ""
    # What the mutual-TLS link check needs (lab.handshakes): the node's kind and version,
    # the certificate it presents when it connects out (X15.5: its client certificate; else
    # the served one) with its lab-CA chain, the EKUs of both, and its EKU settings.
    node_type: str = ""
    version: str = ""
    client_sha: str = ""
    client_chain_shas: frozenset[str] = frozenset()
    client_eku: tuple[str, ...] = ()
    served_eku: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    maintenance: bool = False  # Expressway maintenance mode on
    dropped: int = 0  # calls a restart dropped at this instant (lab.calls)
    # Unified CM (lab.phones): the CallManager identity SIP TLS presents, and the phones
    # registered to the node that refused a configuration since the lab started.
    sip_sha: str = ""
    sip_chain_shas: frozenset[str] = frozenset()  # its CAs; a self-signed one: itself
    phones_lost: int = 0
    # When it was taken (epoch seconds) and the served leaf's validity (epoch seconds): what
    # the soak run (lab.soak_counters) needs to count the seconds a node served an expired
    # certificate from the lab's own record.
    wall: float = 0.0
    served_not_before: float = 0.0
    served_not_after: float = 0.0
    # The same for what the node presents when it connects out (X15.5: its client
    # certificate) and for its CallManager identity on SIP TLS (Unified CM).
    client_not_after: float = 0.0
    sip_not_after: float = 0.0


@dataclass(frozen=True)
class ClusterRule:
    """One cluster as the invariant sees it."""

    name: str
    members: tuple[str, ...]
    max_unavailable: int = 1


@dataclass
class Timeline:
    """Samples of every node, in the order they were taken."""

    samples: list[Sample] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(self, sample: Sample) -> None:
        last = self.last(sample.node)
        if last is not None and _same(last, sample):
            return
        self.samples.append(sample)

    def last(self, node: str) -> Sample | None:
        return next((s for s in reversed(self.samples) if s.node == node), None)

    def mark(self) -> int:
        """A position to read the timeline from (``since``)."""
        return len(self.samples)

    def since(self, mark: int) -> list[Sample]:
        return self.samples[mark:]


def _same(a: Sample, b: Sample) -> bool:
    return not b.dropped and (
        (a.up, a.served_sha, a.trusted_shas, a.client_sha, a.settings, a.maintenance,
         a.sip_sha, a.phones_lost)
        == (b.up, b.served_sha, b.trusted_shas, b.client_sha, b.settings, b.maintenance,
            b.sip_sha, b.phones_lost))




def violations(samples: Sequence[Sample], clusters: Iterable[ClusterRule],
               links: Mapping[str, Iterable[str]], start: Mapping[str, Sample] | None = None,
               ) -> list[str]:
    """Every breach of the invariant, replaying ``samples`` from the ``start`` states.

    ``links``: node -> the nodes linked to it (both directions, clusters expanded).
    """
    rules = list(clusters)
    state: dict[str, Sample] = dict(start or {})
    out: list[str] = []
    for sample in samples:
        state[sample.node] = sample
        out.extend(_breaches(sample.t, state, rules, links))
    return out


def _breaches(t: float, state: Mapping[str, Sample], rules: Sequence[ClusterRule],
              links: Mapping[str, Iterable[str]]) -> list[str]:
    out: list[str] = []
    for rule in rules:
        known = [state[m] for m in rule.members if m in state]
        down = [s.node for s in known if not s.up]
        if len(down) > rule.max_unavailable:
            out.append(f"t={t:.3f} cluster {rule.name}: {', '.join(down)} down at once "
                       f"(max_unavailable {rule.max_unavailable})")
    for node, sample in state.items():
        if not sample.up:
            continue
        for peer in links.get(node, ()):
            other = state.get(peer)
            if other is not None and not (sample.chain_shas & other.trusted_shas):
                out.append(f"t={t:.3f} {node} serves '{sample.served_subject}' (issuer "
                           f"'{sample.served_issuer}') which {peer} does not trust")
    return out


def render(samples: Sequence[Sample], origin: float) -> list[str]:
    """One line per change of availability, served certificate or maintenance mode, and per
    restart that dropped calls, relative to ``origin``."""
    lines: list[str] = []
    last: dict[str, tuple[bool, str, bool]] = {}
    for s in samples:
        key = _render_key(s)
        if last.get(s.node) == key and not s.dropped:
            continue
        last[s.node] = key
        state = "UP  " if s.up else "DOWN"
        served = f" serves {s.served_sha[:12]} from '{s.served_issuer}'" if s.up else ""
        served += ", maintenance mode" if s.up and s.maintenance else ""
        lines.append(f"{s.t - origin:8.3f}s  {s.node:<10} {state}{served}"
                     + (f"  ({s.why})" if s.why else ""))
    return lines


_SETS = ("chain_shas", "trusted_shas", "client_chain_shas", "sip_chain_shas")
_TUPLES = ("client_eku", "served_eku")
def _render_key(s: Sample) -> tuple[bool, str, bool]:
    return (s.up, s.served_sha if s.up else "", s.maintenance)


def dropped_calls(samples: Iterable[Sample]) -> dict[str, int]:
    """Calls dropped by restarts, per node (nodes that dropped none are left out)."""
    out: dict[str, int] = {}
    for s in samples:
        if s.dropped:
            out[s.node] = out.get(s.node, 0) + s.dropped
    return dict(sorted(out.items()))


def sample_json(sample: Sample) -> dict[str, Any]:
    data = asdict(sample)
    for key in _SETS:
        data[key] = sorted(getattr(sample, key))
    data["settings"] = [list(pair) for pair in sample.settings]
    return data


def sample_of(data: dict[str, Any]) -> Sample:
    fixed: dict[str, object] = {key: frozenset(data.get(key, ())) for key in _SETS}
    fixed |= {key: tuple(data.get(key, ())) for key in _TUPLES}
    fixed["settings"] = tuple((str(k), str(v)) for k, v in data.get("settings", ()))
    return Sample(**{**data, **fixed})


def report(timeline: Timeline, clusters: Sequence[ClusterRule],
           links: Mapping[str, Iterable[str]], since: int = 0) -> dict[str, Any]:
    """The samples from position ``since`` on and the invariant's breaches among them (the
    state at ``since`` as their start): what the control API answers."""
    start: dict[str, Sample] = {}
    for sample in timeline.samples[:since]:
        start[sample.node] = sample
    samples = timeline.since(since)
    return {
        "mark": timeline.mark(),
        "start": [sample_json(s) for s in start.values()],
        "samples": [sample_json(s) for s in samples],
        "violations": violations(samples, clusters, links, start),
        "clusters": [asdict(c) for c in clusters],
        "refused": refused_handshakes(samples, links, start),
        "dropped_calls": dropped_calls(samples),
        "phones_lost": phones_lost(samples, start),
    }


def phones_lost(samples: Sequence[Sample], start: Mapping[str, Sample]) -> dict[str, int]:
    """Per node, the phones that lost trust between the start and the last sample."""
    last = dict(start)
    for sample in samples:
        last[sample.node] = sample
    return {node: s.phones_lost - (start[node].phones_lost if node in start else 0)
            for node, s in sorted(last.items()) if s.phones_lost
            - (start[node].phones_lost if node in start else 0)}
