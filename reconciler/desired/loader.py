"""``load(root)``: read a desired-state directory into ``Desired``, with every problem found.

The loader never stops at the first problem: each file is parsed and validated on its own,
then the checks across files run on whatever validated. Nodes with errors are left out of
``Desired`` so that later checks can trust the nodes they get, and still run on the rest.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.desired import crossfile, keyscan, shardscope
from reconciler.desired.digest import desired_digest
from reconciler.desired.findings import at_file, error, warning
from reconciler.desired.locate import position, walk
from reconciler.desired.pemfiles import FOLDERS, SUFFIXES, PemCatalog, Role, reference_role
from reconciler.desired.pending import record_problem
from reconciler.desired.publisher_roles import publisher_role_findings
from reconciler.desired.rolecheck import role_findings
from reconciler.desired.schema_check import validate, validate_node
from reconciler.desired.sourcetree import SourceTree
from reconciler.desired.yamlsource import YamlDoc, parse_yaml
from reconciler.model import (
    AcmeIssuerSpec,
    Code,
    Desired,
    DesiredNode,
    Finding,
    FleetSpec,
    IssuerSpec,
    NodeSpecBase,
    PemFile,
    Rfc2136Spec,
    SourcePos,
)
from reconciler.model.common import printable
from reconciler.model.layout import (
    CA_SETS_DIR,
    CONFIG_FILE,
    NODE_SUFFIXES,
    NODES_DIR,
    OWED_RESTARTS_FILE,
)
from reconciler.pki import CertCache

FLEET_FILE = CONFIG_FILE
NODE_DIR = NODES_DIR

START_HINT = (
    "start one with `certops import`, or copy desired-state/ from the example in the README"
)


@dataclass(frozen=True)
class LoadResult:
    """What ``load`` found: the usable desired state (None when nothing usable loaded) and
    every finding, sorted with ``Finding.sort_key``."""

    desired: Desired | None
    findings: tuple[Finding, ...]
    node_files: int = 0  # node files read, usable or not


@dataclass
class _NodeFile:
    rel: str
    doc: YamlDoc | None = None
    node: DesiredNode | None = None
    raw_name: str | None = None
    refs_ok: bool = True


@dataclass(frozen=True)
class ParsedNode:
    """A node file that validated, handed out while the rest still loads (``load_steps``):
    enough to reach the node, read-only. It may still be left out of the desired state (a bad
    reference, a duplicate name), so whoever reads it early checks again against the result."""

    node: DesiredNode
    files: Mapping[str, PemFile]  # the PEM files under cas/, ca-sets/, certs/, csrs/ that passed


def load(root: Path, cache: CertCache) -> LoadResult:
    """Read ``root`` (certops.yaml, nodes/, cas/, ca-sets/, certs/, csrs/) and check it all."""
    steps = load_steps(root, cache)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: LoadResult = done.value
            return result


def load_steps(root: Path, cache: CertCache, shard: Sequence[tuple[str, str]] | None = None,
               ) -> Generator[ParsedNode, None, LoadResult]:
    """``load``, one node file at a time: yields each node as soon as its file validates (so
    that a caller can start reading it while the rest loads) and returns the ``LoadResult``.
    With ``shard`` (``--select``'s ``key=value`` labels), only the node files of the nodes
    with those labels and of every node their links reach (``shardscope``)."""
    tree = SourceTree(root)
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        return _done(None, [error(Code.INPUT_MISSING, f"the desired-state directory {root} {what}: "
                                  f"{START_HINT}", at_file(str(root)))])
    if not tree.is_file(FLEET_FILE):
        return _done(None, [error(Code.INPUT_MISSING, f"no {FLEET_FILE} in {root}: is this the "
                                  f"desired-state directory? {START_HINT}",
                                  at_file(tree.display(FLEET_FILE)))])

    secret, findings = keyscan.scan(tree)
    findings += _layout_findings(tree)
    bad_record = record_problem(root)
    if bad_record is not None:
        findings.append(error(Code.INPUT_READ, bad_record,
                              at_file(tree.display(OWED_RESTARTS_FILE))))
    inputs = {FLEET_FILE}
    fleet_doc = _parse(tree, FLEET_FILE, secret, findings)
    fleet: FleetSpec | None = None
    if fleet_doc is not None:
        fleet, problems = validate(FleetSpec, fleet_doc)
        findings += problems

    node_files = [_NodeFile(rel) for rel in tree.files_under(NODE_DIR, NODE_SUFFIXES)
                  if rel.count("/") == 1]
    if not node_files:
        findings.append(error(Code.INPUT_MISSING, f"no node files in {tree.display(NODE_DIR)}: "
                              "add one YAML file per node, named nodes/<name>.yaml",
                              at_file(tree.display(NODE_DIR))))
    # The PEM folders first: a node's connection may name a CA file (connection.ca_file).
    catalog = PemCatalog(tree, secret, cache)
    findings += catalog.scan_folders()
    early_files = catalog.files()
    wanted: set[str] | None = None
    whole = fleet  # a shard keeps the links and clusters of its part of the fleet only
    if shard is not None and fleet is not None:
        raw = _contents(tree, {e.rel for e in node_files})
        wanted, linked = shardscope.files_to_load(raw, fleet, shard)
        wanted |= {e.rel for e in node_files if e.rel not in raw}  # unreadable: say so
        fleet = shardscope.within(fleet, linked)
    for entry in node_files:
        inputs.add(entry.rel)
        if wanted is not None and entry.rel not in wanted:
            continue  # another shard's, and nothing links this shard's nodes to it
        _load_node(tree, entry, secret, findings)
        if entry.node is not None:
            yield ParsedNode(entry.node, early_files)

    for folder in FOLDERS:
        inputs.update(tree.files_under(folder, SUFFIXES))
    nodes = _usable_nodes(tree, catalog, node_files, findings, inputs)
    if fleet is not None and fleet_doc is not None:
        _check_issuer_refs(tree, catalog, fleet, fleet_doc, findings, inputs)

    if fleet_doc is not None:
        # A node file that does not parse still names its node, by its file name.
        known = {e.raw_name or PurePosixPath(e.rel).stem for e in node_files}
        if fleet is not None:
            known |= set(whole.clusters if whole else fleet.clusters)  # a link may name one
            findings += crossfile.cluster_findings(fleet, fleet_doc.positions, nodes)
            findings += publisher_role_findings(fleet, nodes)
        links = crossfile.well_formed_links(fleet_doc.data)
        findings += crossfile.link_findings(links, fleet_doc.positions, known)
    desired = Desired(
        root=str(root),
        # An invalid certops.yaml is reported; defaults let the node checks still run.
        fleet=fleet or FleetSpec(),
        fleet_file=FLEET_FILE,
        fleet_positions=fleet_doc.positions if fleet_doc is not None else {},
        nodes=nodes,
        files=catalog.files(),
        digest=desired_digest(_contents(tree, inputs)),
    )
    return _done(desired, findings, len(node_files))


def _layout_findings(tree: SourceTree) -> list[Finding]:
    """Links that leave the tree (never followed), and node files certops would not read."""
    out = [error(Code.INPUT_FILE_OUTSIDE, f"{tree.display(rel)} is a symbolic link that "
                 "leads outside the desired-state directory: certops does not follow it; "
                 "replace the link with the file itself", at_file(tree.display(rel)))
           for rel in tree.outside()]
    out += [error(Code.INPUT_READ, f"{tree.display(rel)}: the name is not UTF-8 text: rename "
                  "it (certops skips it)", at_file(tree.display(rel))) for rel in tree.bad_names()]
    for rel in tree.files_under(NODE_DIR, NODE_SUFFIXES):
        if rel.count("/") > 1:
            out.append(warning(Code.INPUT_IGNORED, f"{tree.display(rel)} is in a subfolder of "
                               f"{NODE_DIR}/: certops reads only {NODE_DIR}/<name>.yaml, so "
                               "this file is ignored; move it up or delete it",
                               at_file(tree.display(rel))))
    return out


def _usable_nodes(
    tree: SourceTree, catalog: PemCatalog, node_files: list[_NodeFile],
    findings: list[Finding], inputs: set[str],
) -> tuple[DesiredNode, ...]:
    """The validated nodes whose files are all usable, one per name, sorted by name."""
    for entry in node_files:
        if entry.node is not None and entry.doc is not None:
            entry.refs_ok = _check_refs(tree, catalog, entry.node, entry.doc, findings, inputs)
            problems = role_findings(entry.node)
            findings += problems
            entry.refs_ok = entry.refs_ok and not problems
            entry.doc = None  # its positions were only needed to place findings: free them
    unique, problems = crossfile.unique_nodes(e.node for e in node_files if e.node is not None)
    findings += problems + crossfile.name_mismatches(unique)
    usable = {id(e.node) for e in node_files if e.node is not None and e.refs_ok}
    return tuple(sorted((n for n in unique if id(n) in usable), key=lambda n: n.name))


def _done(desired: Desired | None, findings: list[Finding], node_files: int = 0) -> LoadResult:
    return LoadResult(desired, tuple(sorted(findings, key=Finding.sort_key)), node_files)


def _parse(tree: SourceTree, rel: str, secret: set[str], findings: list[Finding]) -> YamlDoc | None:
    # A file with a private key is reported by the key scan and not parsed: its messages
    # could otherwise quote the key.
    if rel in secret:
        return None
    try:
        raw = tree.read(rel)
    except OSError as exc:
        findings.append(error(Code.INPUT_READ, f"cannot read {tree.display(rel)}: {exc.strerror}",
                              at_file(tree.display(rel))))
        return None
    parsed = parse_yaml(tree.display(rel), raw)
    if isinstance(parsed, Finding):
        findings.append(parsed)
        return None
    return parsed


def _load_node(
    tree: SourceTree, entry: _NodeFile, secret: set[str], findings: list[Finding]
) -> None:
    entry.doc = _parse(tree, entry.rel, secret, findings)
    if entry.doc is None:
        return
    name = entry.doc.data.get("name")
    entry.raw_name = name if isinstance(name, str) else None
    spec, problems = validate_node(entry.doc)
    findings += problems
    if spec is not None:
        positions = entry.doc.positions | _shorthand_aliases(entry.doc, spec)
        roots = tuple(dict.fromkeys(Path(f(tree.root)).as_posix()
                                    for f in (os.path.abspath, os.path.realpath)))
        entry.node = DesiredNode(spec=spec, file=entry.rel, positions=_lasting(positions),
                                 roots=roots)


LONG_LIST = 32


def _lasting(positions: dict[str, SourcePos]) -> dict[str, SourcePos]:
    """The positions a DesiredNode keeps once loading is done: all of them, except the items
    of long lists (a CUCM node imported with its built-in CAs names hundreds of CA files, and
    1,000 such nodes would keep millions of positions). Later findings point at a store or a
    key; ``DesiredNode.pos`` falls back to the list itself."""
    sizes: dict[str, int] = {}
    for path in positions:
        parent, _, last = path.rpartition(".")
        if last.isdigit():
            sizes[parent] = sizes.get(parent, 0) + 1
    return {
        path: pos for path, pos in positions.items()
        if sizes.get(path.rpartition(".")[0], 0) <= LONG_LIST
        or not path.rpartition(".")[2].isdigit()
    }


def _shorthand_aliases(doc: YamlDoc, spec: NodeSpecBase) -> dict[str, SourcePos]:
    """Model-shaped paths for trust stores written as bare lists.

    ``trust: [a, b]`` is recorded as ``trust.0``; the model calls it ``trust.cas.0``. Adding
    the model's paths lets ``DesiredNode.pos("trust", "cas", 1)`` find the item either way.
    """
    bases = []
    for store in spec.stores():
        keys = spec.store_path(store)
        value: object = doc.data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, tuple):
            bases.append(".".join(keys))
    aliases: dict[str, SourcePos] = {}
    for base in bases:
        prefix = base + "."
        aliases[prefix + "cas"] = doc.positions[base]
        for path, pos in doc.positions.items():
            rest = path[len(prefix):]
            if path.startswith(prefix) and rest.split(".")[0].isdigit():
                aliases[prefix + "cas." + rest] = pos
    return aliases


def _check_refs(
    tree: SourceTree, catalog: PemCatalog, node: DesiredNode, doc: YamlDoc,
    findings: list[Finding], inputs: set[str],
) -> bool:
    """Check every file the node references; True when all of them are usable."""
    ok = True
    for loc, ref, role in _references(node):
        rel = node.resolve(ref)
        where = _where(doc, loc)
        ok = _check_ref(tree, catalog, ref, rel, role, where, node.name, findings, inputs) and ok
    return ok


def _check_issuer_refs(
    tree: SourceTree, catalog: PemCatalog, fleet: FleetSpec, doc: YamlDoc,
    findings: list[Finding], inputs: set[str],
) -> None:
    """Check the CA files each issuer of certops.yaml declares (relative to certops.yaml)."""
    for name, issuer in fleet.issuers.items():
        for i, ref in enumerate(issuer.ca_files):
            rel = posixpath.normpath(ref)
            where = _where(doc, ("issuers", name, "ca_files", i))
            _check_ref(tree, catalog, ref, rel, "ca", where, None, findings, inputs)
        for loc, path in _secret_files(name, issuer):
            if _inside(tree.root, path):
                findings.append(error(
                    Code.ISSUER_SECRET_IN_REPO,
                    f"issuer {name}: {path} lies inside the desired-state directory, which is "
                    "kept in git: move the secret outside it (or name an environment variable) "
                    "and treat it as exposed",
                    _where(doc, loc)(),
                ))


def _secret_files(name: str, issuer: IssuerSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """The secret files an issuer names, with their place in certops.yaml."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(issuer, AcmeIssuerSpec):
        if issuer.account_key_file:
            out.append((("issuers", name, "account_key_file"), issuer.account_key_file))
        dns = issuer.dns01
        if isinstance(dns, Rfc2136Spec) and dns.tsig_secret_file:
            out.append((("issuers", name, "dns01", "tsig_secret_file"), dns.tsig_secret_file))
    return out


def _inside(root: Path, path: str) -> bool:
    """Whether ``path`` (absolute, ``~`` allowed) resolves inside ``root``."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.expanduser(path))
    return real == real_root or real.startswith(real_root.rstrip("/") + "/")


def _where(doc: YamlDoc, loc: tuple[str | int, ...]) -> Callable[[], SourcePos]:
    """The position of ``loc`` in ``doc``, found only when a finding needs it."""
    return lambda: position(doc.positions, walk(doc.data, loc).path, key=False)


def _outside(tree: SourceTree, rel: str) -> str:
    """Where a reference that leaves the tree really goes: the path it names, or, through a
    symlink inside the tree, the symlink's target (the link's own path would look inside)."""
    if os.path.isabs(rel):
        return printable(os.path.normpath(rel))
    textual = tree.display(rel)
    if rel == ".." or rel.startswith("../"):
        return os.path.normpath(textual)
    return printable(os.path.realpath(tree.root / rel))


def _check_ref(
    tree: SourceTree, catalog: PemCatalog, ref: str, rel: str, role: Role,
    where_of: Callable[[], SourcePos], node: str | None,
    findings: list[Finding], inputs: set[str],
) -> bool:
    """Whether the file ``ref`` (``rel`` from the root) can serve as ``role``; a finding
    at the reference when it cannot."""
    role = reference_role(rel, role)
    if not ref.isprintable():  # a NUL or a newline: no such file, and no path to build
        findings.append(error(Code.INPUT_FILE_MISSING, f"file name '{printable(ref)}' holds "
                              "control characters: write the file's name", where_of(), node))
        return False
    if catalog.known_good(rel, role) and not tree.escapes(rel):
        inputs.add(rel)
        return True  # the position is only needed for a finding: skip finding it
    where = where_of()
    finding: Finding | None
    ok = True
    if tree.escapes(rel):
        finding = error(Code.INPUT_FILE_OUTSIDE, f"'{ref}' resolves to {_outside(tree, rel)}, "
                        "outside the desired-state directory: copy the file itself into cas/, "
                        f"{CA_SETS_DIR}/ or certs/ and reference it from there", where, node)
    elif not tree.is_file(rel):
        finding = error(Code.INPUT_FILE_MISSING, f"file '{ref}' not found (looked for "
                        f"{tree.display(rel)})", where, node)
    else:
        inputs.add(rel)
        ok, finding = catalog.check_reference(rel, role, where, node)
    if finding is not None:
        findings.append(finding)
        ok = False
    return ok


def _references(node: DesiredNode) -> list[tuple[tuple[str | int, ...], str, Role]]:
    """Each file reference of a node: its model location, the text written, and its role."""
    spec = node.spec
    refs: list[tuple[tuple[str | int, ...], str, Role]] = []
    if spec.server_certificate is not None and spec.server_certificate.file is not None:
        refs.append((("server_certificate", "file"), spec.server_certificate.file, "certificate"))
    for role, cert in sorted(spec.certificates.items()):
        if cert.file is not None:
            refs.append((("certificates", role, "file"), cert.file, "certificate"))
    for name, store in spec.stores().items():
        base = spec.store_path(name)
        refs += [((*base, "cas", i), ref, "ca") for i, ref in enumerate(store.cas)]
    if spec.connection.ca_file is not None:
        refs.append((("connection", "ca_file"), spec.connection.ca_file, "ca"))
    return refs


def _contents(tree: SourceTree, rels: set[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for rel in rels:
        try:
            out[rel] = tree.read(rel)
        except OSError:
            continue  # reported as input.read where it mattered
    return out
