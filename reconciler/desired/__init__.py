"""Read a desired-state directory into the model (docs/architecture.md, Layers).

``load(root)`` parses certops.yaml, nodes/*.yaml and the certificate folders, and reports
every problem in every file at once, each at its ``file:line:col``. ``schema`` publishes the
JSON Schema of the YAML files.
"""

from reconciler.desired.digest import desired_digest
from reconciler.desired.loader import LoadResult, load

__all__ = ["LoadResult", "desired_digest", "load"]
