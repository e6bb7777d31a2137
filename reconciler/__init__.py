"""certops: a GitOps reconciler for the certificates and trust stores of Cisco collaboration nodes.

The import package is ``reconciler``; the command is ``certops``. Layers (docs/architecture.md):
model < pki < kinds < checks/planning < desired < drivers/issuers < apply < usecases/report
< cli, and the lab on top.
"""

__version__ = "0.1.0"
