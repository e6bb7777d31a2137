"""certops: a GitOps reconciler for the certificates and trust stores of Cisco collaboration nodes.

The import package is ``reconciler``; the command is ``certops``. Layers (DESIGN.md section 2):
model < pki < checks/planning < desired < drivers < apply < report < cli, and the lab on top.
"""

__version__ = "0.1.0"
