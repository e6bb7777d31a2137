"""``CERTOPS_CREDENTIALS``: every node account in one JSON secret instead of two variables each.

CI keeps one secret, ``{"EXPE1_USER": "...", "EXPE1_PASSWORD": "...", ...}``, mapping the
variable names the node files give (``credentials.username_env`` ...) to their values. A
variable set on its own wins over the same name in the JSON. Values are never printed: an
invalid document is reported by its shape only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from reconciler.model import CertopsError

CREDENTIALS_VAR = "CERTOPS_CREDENTIALS"


class CredentialsInvalid(CertopsError):
    """CERTOPS_CREDENTIALS is set but is not a JSON object of names to strings."""


def with_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus the names and values of ``CERTOPS_CREDENTIALS`` (``env`` wins)."""
    text = env.get(CREDENTIALS_VAR, "").strip()
    if not text:
        return dict(env)
    try:
        data = json.loads(text)
    except ValueError:
        raise CredentialsInvalid(
            f"{CREDENTIALS_VAR} is not valid JSON: write an object like "
            '{"EXPE1_USER": "...", "EXPE1_PASSWORD": "..."} (values not shown)') from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise CredentialsInvalid(
            f"{CREDENTIALS_VAR} must be a JSON object mapping variable names to strings "
            "(values not shown)")
    return {**data, **env}
