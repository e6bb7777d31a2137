"""Does one certificate's key verify another's signature (or a CSR its own)? SHA-1/MD5 too.

``Certificate.verify_directly_issued_by`` refuses SHA-1 and MD5 signatures ("Unsupported
signature algorithm"), but chains with a SHA-1 intermediate or root still exist, and certops
must build them to say *which* certificate is weak rather than "issuer not found". For
those, the signature is checked with the hazmat primitives directly.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa


def _primitive_verify(
    key: object, signed: x509.Certificate | x509.CertificateSigningRequest, data: bytes
) -> bool:
    algorithm = signed.signature_hash_algorithm
    signature = signed.signature
    if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
        params = signed.signature_algorithm_parameters
        pad = params if isinstance(params, padding.PSS) else padding.PKCS1v15()
        key.verify(signature, data, pad, algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
        key.verify(signature, data, ec.ECDSA(algorithm))
    elif isinstance(key, dsa.DSAPublicKey) and algorithm is not None:
        key.verify(signature, data, algorithm)
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key.verify(signature, data)
    else:
        return False
    return True


def signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """``parent`` is named as ``child``'s issuer and its key verifies ``child``'s signature."""
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
        return True
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pass  # a legacy hash (SHA-1, MD5) or key type the fast path refuses
    try:
        return _primitive_verify(parent.public_key(), child, child.tbs_certificate_bytes)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False


def csr_signature_ok(csr: x509.CertificateSigningRequest) -> bool:
    """The CSR's self-signature verifies (SHA-1 ones too, as OpenSSL accepts them)."""
    try:
        if csr.is_signature_valid:
            return True
    except (UnsupportedAlgorithm, ValueError, TypeError):
        pass
    try:
        return _primitive_verify(csr.public_key(), csr, csr.tbs_certrequest_bytes)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
