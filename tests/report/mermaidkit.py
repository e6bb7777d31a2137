"""The real Mermaid renderer for the tests: the ``mermaid`` npm package in headless Chromium.

``scripts/setup.sh`` installs the package under ``.venv/npm`` and ``scripts/system-deps.sh``
Debian's ``chromium``; where either (or node) is missing, ``missing()`` says why and the
tests skip with that reason. The network is never used: the page loads mermaid from the
local file, and Chromium runs with its background networking off and a fresh profile.

Also the tool that made the README's picture (the same path as the tests)::

    .venv/bin/python tests/report/mermaidkit.py REPORT.md --index 0 --png docs/picture.png
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MERMAID = REPO / ".venv" / "npm" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=60000"]
WIDTH = 1100
_BLOCK = re.compile(r"^```mermaid\n(.*?)^```$", re.S | re.M)
_RESULT = re.compile(r'<pre id="result">(.*?)</pre>', re.S)

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>body{margin:16px;background:#fff;font-family:sans-serif}</style>
<script src="MERMAID"></script></head><body><div id="out"></div><pre id="result">PENDING</pre>
<script id="src" type="application/json">SOURCES</script>
<script>
const diagrams = JSON.parse(document.getElementById('src').textContent);
mermaid.initialize({startOnLoad: false, securityLevel: 'strict'});
(async () => {
  const res = [];
  for (let i = 0; i < diagrams.length; i++) {
    try {
      await mermaid.parse(diagrams[i]);
      const {svg} = await mermaid.render('d' + i, diagrams[i]);
      const box = document.createElement('div');
      box.innerHTML = svg;
      document.getElementById('out').appendChild(box);
      const r = box.querySelector('svg').getBoundingClientRect();
      res.push({ok: true, error: '', svg: svg, width: r.width, height: r.height});
    } catch (e) {
      res.push({ok: false, error: String((e && e.message) || e), svg: '', width: 0, height: 0});
    }
  }
  if (SHOT) { document.getElementById('result').style.display = 'none'; }
  document.getElementById('result').textContent = JSON.stringify(res);
})();
</script></body></html>
"""


@dataclass(frozen=True)
class Rendered:
    ok: bool
    error: str
    svg: str
    width: float
    height: float


def browser() -> str | None:
    return os.environ.get("CERTOPS_CHROMIUM") or next(
        (found for name in BROWSERS if (found := shutil.which(name))), None)


def missing() -> str | None:
    """Why the renderer cannot run here, or None."""
    if browser() is None:
        return ("no headless Chromium (chromium, chromium-browser or google-chrome): "
                "scripts/system-deps.sh installs Debian's chromium as root")
    if not MERMAID.is_file():
        return (f"{MERMAID.relative_to(REPO)} is missing: scripts/setup.sh installs the mermaid "
                "npm package where npm exists")
    return None


def blocks(markdown: str) -> list[str]:
    """The ``mermaid`` blocks of a Markdown text, in order."""
    return _BLOCK.findall(markdown)


def _chromium(page: str, extra: Sequence[str], timeout: float) -> str:
    with tempfile.TemporaryDirectory(prefix="certops-mermaid-") as tmp:
        html_file = Path(tmp) / "page.html"
        html_file.write_text(page)
        args = [str(browser()), *FLAGS, f"--user-data-dir={tmp}/profile", *extra,
                html_file.as_uri()]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=tmp,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
        return proc.stdout


def _page(diagrams: Sequence[str], shot: bool) -> str:
    sources = json.dumps(list(diagrams)).replace("</", "<\\/")
    return (PAGE.replace("MERMAID", MERMAID.as_uri()).replace("SOURCES", sources)
            .replace("SHOT", "true" if shot else "false"))


def render(diagrams: Sequence[str], timeout: float = 180) -> list[Rendered]:
    """Each diagram parsed and drawn by mermaid: its SVG, or the error mermaid reports."""
    out = _chromium(_page(diagrams, False), ["--dump-dom", f"--window-size={WIDTH},2000"],
                    timeout)
    found = _RESULT.search(out)
    if found is None or found[1] == "PENDING":
        raise RuntimeError("mermaid did not finish in the page (no result)")
    return [Rendered(**r) for r in json.loads(html.unescape(found[1]))]


def screenshot(diagram: str, png: Path, timeout: float = 180) -> Rendered:
    """A PNG of one diagram as mermaid draws it, cropped to its size."""
    (first,) = render([diagram], timeout)
    if not first.ok:
        raise RuntimeError(f"mermaid: {first.error}")
    size = f"--window-size={WIDTH},{int(first.height) + 40}"
    _chromium(_page([diagram], True), [size, f"--screenshot={png.resolve()}"], timeout)
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("markdown", type=Path)
    parser.add_argument("--index", type=int, default=0, help="which mermaid block (from 0)")
    parser.add_argument("--png", type=Path, required=True)
    args = parser.parse_args()
    reason = missing()
    if reason:
        sys.exit(reason)
    found = blocks(args.markdown.read_text())
    shot = screenshot(found[args.index], args.png)
    print(f"{args.png}: {shot.width:.0f}x{shot.height:.0f} px diagram")


if __name__ == "__main__":
    main()
