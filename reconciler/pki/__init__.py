"""Pure certificate logic on ``cryptography`` (docs/architecture.md, Layers).

Parse PEM/DER certificates and CSRs into ``CertInfo``/``CsrInfo`` (through a content-addressed
cache), split full-chain files, build and verify chains, and run the policy checks of Cisco's
renewal procedure. No file or network I/O and no clock: time is always an argument. Imports
``cryptography``, the standard library and ``reconciler.model`` only.
"""

from reconciler.pki.cache import CacheStats, CertCache
from reconciler.pki.certinfo import CertInfo, CsrInfo, key_matches
from reconciler.pki.chain import ChainResult, build_chain, issued_by, same_subject, split_leaf
from reconciler.pki.errors import PkiError
from reconciler.pki.findings import (
    EKU_LABELS,
    LeafRules,
    chain_findings,
    leaf_findings,
    wildcard_findings,
)
from reconciler.pki.names import covers, ip_of
from reconciler.pki.parse import parse_certificates, parse_csr
from reconciler.pki.pem import contains_private_key, pem_kinds
from reconciler.pki.verify import VerifyResult, verify

__all__ = [
    "EKU_LABELS",
    "CacheStats",
    "CertCache",
    "CertInfo",
    "ChainResult",
    "CsrInfo",
    "LeafRules",
    "PkiError",
    "VerifyResult",
    "build_chain",
    "chain_findings",
    "contains_private_key",
    "covers",
    "ip_of",
    "issued_by",
    "key_matches",
    "leaf_findings",
    "parse_certificates",
    "parse_csr",
    "pem_kinds",
    "same_subject",
    "split_leaf",
    "verify",
    "wildcard_findings",
]
