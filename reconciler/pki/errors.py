"""The one exception the pki layer raises: a user-facing description of unusable input.

Messages say what the data is and what was expected; they never quote the input, so a
private key pasted in the wrong place is never echoed into a log or a plan.
"""

from __future__ import annotations


class PkiError(ValueError):
    """Input that is not the certificate, chain or CSR that was expected."""
