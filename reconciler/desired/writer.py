"""Writing the desired state (for ``certops import``): CA files, certificates, node files.

Existing YAML files are updated with ruamel.yaml's round trip, so comments, key order and
keys certops does not manage survive; new files start with the ``$schema`` line editors use,
pointing at the copies under ``schemas/`` in the desired-state directory itself (so that the
line resolves in the repository the files are committed to). Nothing is written here: each
function stages ``path -> text`` in ``out``, and the caller decides (``commit_files``): new
files are written, changed ones only when asked. Only public material is ever written.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.desired.safewrite import write_inside
from reconciler.model.layout import CAS_DIR, CONFIG_FILE, SCHEMAS_DIR, cert_path, node_path
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
