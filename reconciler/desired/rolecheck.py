"""The ``certificates:`` map of a node file against its kind: known roles, one place each.

A kind says which roles a node may declare (``kinds.roles``); ``server_certificate`` is
the kind's primary role written the old way, so declaring the primary role under
``certificates:`` as well is an input error, as is a role the kind does not have. Both
point at the key (file:line:col) and say what to write instead.
"""

from __future__ import annotations

from reconciler.desired.findings import error
from reconciler.kinds import kind_of
from reconciler.model import Code, DesiredNode, Finding


def role_findings(node: DesiredNode) -> list[Finding]:
    """Errors for unknown roles, the primary role twice, and copies of unknown roles."""
    spec = node.spec
    table = kind_of(spec.type).role_table
    known = ", ".join(table.roles)
    out: list[Finding] = []
    for role, cert in spec.certificates.items():
        where = node.pos("certificates", role)
        if role not in table.roles:
            out.append(error(
                Code.ROLE_UNKNOWN,
                f"{spec.type} has no certificate role '{role}': its roles are {known}",
                where, node.name))
            continue
        if role == table.primary and spec.server_certificate is not None:
            out.append(error(
                Code.ROLE_TWICE,
                f"'{role}' is {spec.type}'s primary role, already declared as "
                f"server_certificate at {node.pos('server_certificate')}: keep one of them",
                where, node.name))
        if cert.self_signed and not table.roles[role].self_signed_ok:
            out.append(error(
                Code.ROLE_SELF_SIGNED,
                f"role '{role}' of {spec.type} cannot be self-signed: remove self_signed and "
                "give a file or an issuer", node.pos("certificates", role, "self_signed"),
                node.name))
        copy = cert.copy_from
        if copy is not None and copy not in table.roles[role].may_copy:
            allowed = ", ".join(table.roles[role].may_copy) or "none"
            out.append(error(
                Code.ROLE_UNKNOWN,
                f"role '{role}' of {spec.type} cannot copy '{copy}' (copy_from may name: "
                f"{allowed})", node.pos("certificates", role, "copy_from"), node.name))
    return out
