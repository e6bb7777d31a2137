"""benchmarks/bench_certinfo.py as a functional test: its corpora and its child process.
No timing assertions (the figures are in benchmarks/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_certinfo  # noqa: E402
import common  # noqa: E402

from reconciler.pki import CertInfo  # noqa: E402


def test_generated_corpus_has_its_mix() -> None:
    ders = bench_certinfo.corpus(11)
    infos = [CertInfo.from_der(d) for d in ders]
    # 11 leaves, a self-signed identity for leaves 0 and 10, an RSA root for leaf 0.
    assert len(infos) == 14
    assert sum(i.self_signed for i in infos) == 3
    leaves = [i for i in infos if not i.self_signed]
    assert {i.issuer for i in leaves} == {"CN=Bench Issuing CA,O=Bench"}
    assert [len(i.dns_names) for i in leaves] == list(range(1, 12))
    assert sum(len(i.ip_addresses) for i in leaves) == 3  # leaves 0, 4 and 8


def test_lab_corpus_reads_escaped_pem_once_per_certificate(tmp_path: Path) -> None:
    ders = bench_certinfo.corpus(2)
    pems = [CertInfo.from_der(d).pem for d in ders]
    (tmp_path / "nodes").mkdir()
    for name in ("a", "b"):  # both node files hold the same certificates
        (tmp_path / "nodes" / f"{name}.json").write_text(json.dumps({"certs": pems}))
    assert bench_certinfo.lab_corpus(tmp_path) == ders


def test_child_parses_the_corpus_in_this_checkout(tmp_path: Path) -> None:
    path = tmp_path / "corpus.json"
    path.write_text(json.dumps([d.hex() for d in bench_certinfo.corpus(2)]))
    env = common.checkout_env(common.ROOT)
    for workload in bench_certinfo.WORKLOADS:
        assert bench_certinfo.measure(env, path, workload, 2) >= 0
