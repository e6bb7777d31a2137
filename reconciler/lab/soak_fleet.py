"""The soak run's fleet: the lab topology and the desired state it renews (issue 25).

The clustered fleet of ``scripts/demo-clusters.sh`` as a team of 2027 would run it:

- the Expressway pairs on X15.5 (server and client certificates apart): the **server**
  certificate from the lab's ACME CA (acme2certifier with ARI: serverAuth only, as public
  CAs issue from 2026), the **client** certificate from the soak's command CA (both EKUs);
- the Unified CM cluster (publisher + two subscribers, release 14, REST): Tomcat and the
  CallManager identity from the command CA (phones registered to each node: the phones'
  trust is counted), the self-signed identities left to their own long lifetimes;
- ``cucm125``, a Unified CM 12.5 node on its own, read and changed over the platform CLI
  (``connection.transport: cli``), Tomcat from the command CA: the node the hung-CLI fault
  needs;
- ``nodes`` larger than the base fleet adds Expressway-E pairs behind the same
  Expressway-C pair (``--nodes``).

Calls and restarts are scaled with the simulated day (a call is a small fraction of a day,
so a drain waits a fraction of one), and so is the Unified CM trust replication.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.lab.topology import (
    Topology,
    TopologyCalls,
    TopologyCluster,
    TopologyDefaults,
    TopologyNode,
    clustered_topology,
)

EXPRESSWAY_VERSION = "X15.5.1"  # server and client certificates apart (the EKU sunset)
CUCM_125 = "12.5.1.16900-48"  # no REST API: the platform CLI (scripts/demo-lib.sh)
CLI_NODE = "cucm125"
CUCM = ("cucm-pub", "cucm-sub1", "cucm-sub2")
# Cisco's built-in CAs in each Unified CM trust store (a real node has about 100): the soak
# is not a benchmark of reading them (benchmarks/README.md, issue 23, is), and the 12.5
# node's CLI read types one command per trust file.
BUILTIN_CAS = 5
BASE_NODES = 8  # the clustered fleet (7) + the 12.5 node
DOMAIN = "nart.com"
# Calls offered to every node, per simulated day: two or three calls up at a time on each, each
# lasting 2-6 % of a day (at 0.5 s a day: 40-120 ms); drains wait for them in real time.
CALLS_PER_DAY = 60.0
CALL_DAYS = (0.02, 0.06)


def extra_pairs(nodes: int) -> int:
    """Expressway-E pairs added to reach ``nodes`` (at least the base fleet's 8)."""
    if nodes < BASE_NODES:
        raise ValueError(f"--nodes {nodes}: the soak's fleet has at least {BASE_NODES} nodes "
                         "(the clustered fleet and a 12.5 node); ask for 8 or more")
    return (nodes - BASE_NODES) // 2


def topology(nodes: int, day_seconds: float, restart_seconds: float) -> Topology:
    """The lab's topology for a fleet of ``nodes`` (see the module docstring)."""
    low, high = (d * day_seconds for d in CALL_DAYS)
    calls = TopologyCalls(per_minute=CALLS_PER_DAY * 60 / day_seconds,
                          duration_seconds=(low, high))
    base = clustered_topology(replication_seconds=restart_seconds, calls=calls)
    out = [n.model_copy(update={"version": EXPRESSWAY_VERSION})
           if n.type.startswith("expressway") else n for n in base.nodes]
    expc = ["expc1", "expc2"]
    clusters = dict(base.clusters)
    for k in range(2, 2 + extra_pairs(nodes)):
        members = [f"expe{2 * k - 1}", f"expe{2 * k}"]
        shared = f"expe-p{k}.{DOMAIN}"
        for name in members:
            out.append(TopologyNode(name=name, type="expressway-e", fqdn=f"{name}.{DOMAIN}",
                                    sans=[f"{name}.{DOMAIN}", shared], links=list(expc),
                                    version=EXPRESSWAY_VERSION))
        clusters[f"expe-p{k}"] = TopologyCluster(members=members)
    out.append(TopologyNode(name=CLI_NODE, type="cucm", fqdn=f"{CLI_NODE}.{DOMAIN}",
                            sans=[f"{CLI_NODE}.{DOMAIN}"], links=list(expc), version=CUCM_125))
    linked = {n.name for n in out if n.name not in expc}
    for node in out:
        if node.name in expc:
            node.links = sorted(linked)
    return Topology(defaults=TopologyDefaults(calls=calls, restart_seconds=restart_seconds,
                                              builtin_cas=BUILTIN_CAS),
                    nodes=out, clusters=clusters, seed=base.seed)


def write_topology(path: Path, topo: Topology) -> None:
    yaml = YAML()
    yaml.default_flow_style = None
    with path.open("w") as out:
        yaml.dump(topo.model_dump(mode="json", exclude_defaults=True), out)


def write_desired(src: Path, ds: Path, topo: Topology, config_tail: str,
                  drain: bool, cli_timeout: float) -> None:
    """The desired state: ``src``'s certops.yaml (policy, clusters, links) with the soak's
    additions and ``config_tail`` (windows, issuers), and one file per node of ``topo``."""
    shutil.copytree(src, ds)
    for old in (ds / "nodes").glob("*.yaml"):
        old.unlink()
    config = ds / "certops.yaml"
    text = config.read_text()
    # X15.5's per-role EKU defaults decide (server: serverAuth, client: clientAuth);
    # onboarding renews every node (99 % of the lab's long-lived starting certificates).
    text = text.replace("  required_eku: [serverAuth, clientAuth]\n", "")
    text = text.replace("renew_before: 30d", "renew_before: '99%'")
    pairs = [name for name in topo.clusters if name.startswith("expe-p")]
    extra = "".join(f"  {name}: {{members: {topo.clusters[name].members}, "
                    f"shared_names: [{name}.{DOMAIN}]}}\n" for name in pairs)
    text = text.replace("links:\n", f"{extra}links:\n", 1)
    links = "".join(f"  - [expc, {name}]\n" for name in [*pairs, CLI_NODE])
    text = text.replace("defaults:\n", f"{links}defaults:\n  restart_window: soak\n"
                        + ("" if drain else "  drain: false\n"), 1)
    config.write_text(text + config_tail)
    for node in topo.nodes:
        (ds / "nodes" / f"{node.name}.yaml").write_text(_dump(node_file(node, cli_timeout)))


def node_file(node: TopologyNode, cli_timeout: float) -> dict[str, Any]:
    """One node's desired state (see the module docstring); ``cli_timeout``: the CLI node's
    ``connection.read_timeout`` (a hung CLI command gives up after it)."""
    env = node.name.upper().replace("-", "_")
    out: dict[str, Any] = {"name": node.name, "type": node.type,
                           "api": f"https://{node.fqdn}" + (":8443" if node.type == "cucm"
                                                            else ""),
                           "credentials": {"username_env": f"{env}_USER",
                                           "password_env": f"{env}_PASSWORD"}}
    if node.type.startswith("expressway"):
        out["server_certificate"] = {"issuer": "acme", "subject_alt_names": node.sans}
        out["certificates"] = {"client": {"issuer": "soak",
                                          "subject_alt_names": [node.fqdn]}}
        out["trust"] = []
        return out
    out["app_credentials"] = {"username_env": f"{env}_APP_USER",
                              "password_env": f"{env}_APP_PASSWORD"}
    # hands-off: no pending CSR is kept on the lab's nodes, so a new one may replace it
    out["server_certificate"] = {"issuer": "soak", "replace_pending_csr": True,
                                 "subject_alt_names": node.sans}
    if node.name == CLI_NODE:
        out["connection"] = {"transport": "cli", "read_timeout": cli_timeout}
    else:
        # ITLRecovery and CAPF are the cluster's, on the publisher only (role.publisher_only)
        units = ("tvs", "itlrecovery", "capf") if node.name == CUCM[0] else ("tvs",)
        out["certificates"] = {
            "callmanager": {"issuer": "soak", "replace_pending_csr": True,
                            "subject_alt_names": [node.fqdn]},
            **{unit: {"self_signed": True, "renew_before": "10d"} for unit in units}}
    out["trust"] = {"tomcat-trust": [], "callmanager-trust": []}
    return out


def _dump(data: dict[str, Any]) -> str:
    from io import StringIO

    yaml = YAML()
    yaml.default_flow_style = False
    buf = StringIO()
    yaml.dump(data, buf)
    return "# yaml-language-server: $schema=../../reconciler/schemas/node.schema.json\n" \
        + buf.getvalue()
