"""Writing the desired state (for ``certops import``): CA files, CA sets, certificates,
node files.

Existing YAML files are updated with ruamel.yaml's round trip, so comments, key order and
keys certops does not manage survive; new files start with the ``$schema`` line editors use,
pointing at the copies under ``schemas/`` in the desired-state directory itself (so that the
line resolves in the repository the files are committed to). Nothing is written here: each
function stages ``path -> text`` in ``out``, and the caller decides (``commit_files``): new
files are written, changed ones only when asked. Only public material is ever written.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.desired.safewrite import write_inside
from reconciler.model.common import colon_hex, printable
from reconciler.model.layout import (
    CA_SETS_DIR,
    CAS_DIR,
    CONFIG_FILE,
    SCHEMAS_DIR,
    cert_path,
    node_path,
)
from reconciler.pki import CertCache, CertInfo, PkiError

NODE_SCHEMA = f"# yaml-language-server: $schema=../{SCHEMAS_DIR}/node.schema.json\n"
FLEET_HEADER = (
    f"# yaml-language-server: $schema={SCHEMAS_DIR}/certops.schema.json\n"
    "# certops fleet settings (see `certops schema fleet`)\n"
)
OLD_SCHEMA = re.compile(r"\$schema=\S*reconciler/schemas/node\.schema\.json")
Staged = dict[str, str]  # root-relative path -> the text import wants there


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # a long value (an SSH host key) stays on its line
    return yaml


def _dump(data: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def stage_schemas(out: Staged) -> None:
    """The JSON Schemas the ``$schema`` lines name, as ``schemas/*.json`` (the files' own
    folder, so the lines resolve wherever the repository is checked out)."""
    from reconciler.desired.schema import fleet_schema, node_schema, render

    out[f"{SCHEMAS_DIR}/node.schema.json"] = render(node_schema())
    out[f"{SCHEMAS_DIR}/certops.schema.json"] = render(fleet_schema())


def file_diff(root: Path, rel: str, text: str) -> str | None:
    """The unified diff from ``root/rel`` to ``text``; None when the file is missing."""
    path = root / rel
    if not path.is_file():
        return None
    old = path.read_text(errors="replace")
    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), text.splitlines(keepends=True),
        fromfile=f"a/{rel}", tofile=f"b/{rel}"))


def commit_files(root: Path, out: Staged, *, overwrite: bool) -> tuple[list[str], list[str]]:
    """Write the staged files: new ones always, changed ones only with ``overwrite`` (atomic,
    inside ``root``, never through a link). Returns (written, the diffs of changed files)."""
    written: list[str] = []
    diffs: list[str] = []
    for rel, text in sorted(out.items()):
        diff = file_diff(root, rel, text)
        if diff == "":
            continue
        if diff is not None:
            diffs.append(diff)
            if not overwrite:
                continue
        write_inside(root, rel, text)
        written.append(rel)
    return written, diffs


def slug(cert: CertInfo) -> str:
    """A file name stem from the certificate's CN (or whole subject)."""
    m = re.search(r"CN=([^,]+)", cert.subject)
    text = (m.group(1) if m else cert.subject).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60] or "ca"


def write_cas(
    root: Path, cas: Sequence[CertInfo], cache: CertCache, out: Staged
) -> dict[str, str]:
    """Each CA as ``cas/<name>.pem``, reusing files that already hold it; sha256 -> path."""
    known: dict[str, str] = {}
    taken: set[str] = set()
    for path in sorted((root / CAS_DIR).glob("*.pem")):
        taken.add(path.name)
        try:
            for cert in cache.parse(path.read_bytes()):
                known.setdefault(cert.sha256, f"{CAS_DIR}/{path.name}")
        except (PkiError, OSError):
            continue
    for ca in sorted(cas, key=lambda c: (slug(c), c.sha256)):
        if ca.sha256 in known:
            continue
        name = f"{slug(ca)}.pem"
        if name in taken:
            name = f"{slug(ca)}-{ca.sha256[:8]}.pem"
        taken.add(name)
        out[f"{CAS_DIR}/{name}"] = ca.pem
        known[ca.sha256] = f"{CAS_DIR}/{name}"
    return known


SetKey = frozenset[str]  # the SHA-256s of a set's CAs: its content, whatever the file's order


def write_ca_sets(
    root: Path, wanted: Mapping[str, tuple[str, Sequence[Sequence[CertInfo]]]], cache: CertCache,
    out: Staged,
) -> dict[tuple[str, SetKey], str]:
    """Each distinct content of each group as a CA set file; (group, content) -> its path.

    ``wanted`` maps a group (``cucm-tomcat-trust``) to its title and its distinct contents.
    A group's only content is ``ca-sets/<group>.pem``; several are ``<group>-<digest>.pem``,
    the digest taken from the content, so names depend on nothing but what the nodes hold. A
    file of the group that already holds a content is kept as it is (re-import changes
    nothing); a content that changed is written over the group's file, so the update is a
    diff to review like any other."""
    existing = _group_sets(root, cache)
    paths: dict[tuple[str, SetKey], str] = {}
    for group, (title, contents) in sorted(wanted.items()):
        for certs in contents:
            key = frozenset(c.sha256 for c in certs)
            path = existing.get((group, key))
            if path is None:
                path = f"{CA_SETS_DIR}/{set_name(group, key, several=len(contents) > 1)}"
                out[path] = ca_set_text(title, certs)
            paths[(group, key)] = path
    return paths


def set_name(group: str, key: SetKey, *, several: bool) -> str:
    """``<group>.pem``, or with several contents in the group ``<group>-<8 hex>.pem``."""
    if not several:
        return f"{group}.pem"
    digest = hashlib.sha256("\n".join(sorted(key)).encode()).hexdigest()[:8]
    return f"{group}-{digest}.pem"


_SET_FILE = re.compile(r"^(?P<group>.+?)(?:-[0-9a-f]{8})?\.pem$")


def _group_sets(root: Path, cache: CertCache) -> dict[tuple[str, SetKey], str]:
    """The set files already under ca-sets/: (group, content) -> path, both the group its
    name gives with the digest and without (a digest-like tail may be the group's own)."""
    found: dict[tuple[str, SetKey], str] = {}
    for path in sorted((root / CA_SETS_DIR).glob("*.pem")):
        try:
            key = frozenset(c.sha256 for c in cache.parse(path.read_bytes()))
        except (PkiError, OSError):
            continue
        match = _SET_FILE.match(path.name)
        for group in {path.name.removesuffix(".pem"), match["group"] if match else ""}:
            found.setdefault((group, key), f"{CA_SETS_DIR}/{path.name}")
    return found


def ca_set_text(title: str, certs: Sequence[CertInfo]) -> str:
    """A CA set file: a header, then each CA (sorted by subject) under a comment naming its
    subject, SHA-256 and notAfter, so that a diff of the set reads as which CAs changed."""
    lines = [
        *(f"# {line}" for line in title.splitlines()),
        "# Written by `certops import`. One PEM block per CA, sorted by subject; the comment",
        "# lines are for review (certops reads the PEM blocks only).",
        "",
    ]
    for cert in sorted(certs, key=lambda c: (c.subject, c.sha256)):
        lines += [
            f"# subject:  {printable(cert.subject)}",
            # colons, as the nodes show it; a bare 64-hex run would also slow the key scan
            f"# SHA-256:  {colon_hex(cert.sha256)}",
            f"# notAfter: {cert.not_after:%Y-%m-%d %H:%M:%S} UTC",
            cert.pem.rstrip("\n"),
            "",
        ]
    return "\n".join(lines)


def write_certificate(node: str, chain: Sequence[CertInfo], out: Staged) -> str:
    """The node's certificate as a full-chain file ``certs/<node>.pem``; its path."""
    out[cert_path(node)] = "".join(c.pem for c in chain)
    return cert_path(node)


def write_node(root: Path, name: str, fields: Mapping[str, Any], out: Staged) -> Path:
    """Create or update ``nodes/<name>.yaml`` with ``fields`` (top-level keys)."""
    path = root / node_path(name)
    if path.is_file():
        data = _yaml().load(path.read_text())
        head = ""
    else:
        data = CommentedMap()
        head = NODE_SCHEMA
    for key, value in fields.items():
        _merge(data, key, value)
    # an older import pointed into the certops repository: point at the copy beside nodes/
    text = OLD_SCHEMA.sub(f"$schema=../{SCHEMAS_DIR}/node.schema.json", head + _dump(data))
    out[node_path(name)] = text
    return path


def _merge(data: CommentedMap, key: str, value: Any) -> None:
    """Set ``data[key]``; nested mappings are merged so unmanaged keys and comments stay."""
    if isinstance(value, Mapping) and isinstance(data.get(key), dict):
        for k, v in value.items():
            _merge(data[key], k, v)
        return
    data[key] = _to_yaml(value)


def _to_yaml(value: Any) -> Any:
    if isinstance(value, Mapping):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _to_yaml(v)
        return out
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_to_yaml(v) for v in value)
        return seq
    return value


def write_fleet(root: Path, links: Sequence[tuple[str, str]], out: Staged) -> Path:
    """Create ``certops.yaml``, or add the links it lacks (keeping everything else)."""
    path = root / CONFIG_FILE
    if path.is_file():
        data = _yaml().load(path.read_text()) or CommentedMap()
        head = ""
    else:
        data = CommentedMap([("policy", CommentedMap([("renew_before", "30d")]))])
        head = FLEET_HEADER
    have = {frozenset(map(str, link)) for link in data.get("links") or []}
    seq = data.get("links")
    if not isinstance(seq, list):
        seq = CommentedSeq()
        data["links"] = seq
    for a, b in sorted(links):
        if frozenset((a, b)) not in have:
            item = CommentedSeq([a, b])
            item.fa.set_flow_style()
            seq.append(item)
            have.add(frozenset((a, b)))
    out[CONFIG_FILE] = head + _dump(data)
    return path
