"""The yardstick of ``certops validate``: a plain ruamel load of the same files, nothing else.

    python benchmarks/plain_ruamel_load.py DIR     # certops.yaml and nodes/*.yaml under DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from ruamel.yaml import YAML


def main() -> None:
    root = Path(sys.argv[1])
    yaml = YAML(typ="safe")
    files = [root / "certops.yaml", *sorted((root / "nodes").glob("*.yaml"))]
    loaded = [yaml.load(path.read_text()) for path in files]
    print(f"loaded {len(loaded)} files")


if __name__ == "__main__":
    main()
