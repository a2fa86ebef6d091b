"""`aitl simulate` and `aitl store stats|export|import`, run as `python -m aitl` and in process."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import aitl
from aitl import beir, cli, sim
from conftest import last_json, one_line_error, run_aitl

REPO = Path(__file__).resolve().parents[2]
HELPCENTRE = REPO / "examples" / "data" / "helpcentre"
KINDS = ["preference", "adoption", "knowledge_relevance", "missing_knowledge"]

pytestmark = pytest.mark.skipif(not hasattr(aitl, "SqliteStore"), reason="store bindings not built")








def records(store: aitl.SqliteStore, what: str) -> list:
    out = []
    for r in getattr(store, what)():
        d = r.to_dict()
        d.pop("seq")
        out.append(d)
    return out


def test_simulate_helpcentre_is_idempotent_and_extends(tmp_path: Path):
    db = tmp_path / "feedback.db"
    args = ["simulate", "--data", HELPCENTRE, "--store", db, "--seed", "5", "--skip-rate", "0"]
    proc = run_aitl(*args, "--impressions", 100)
    out = last_json(proc)
    assert "simulating" in proc.stderr  # progress bar on stderr
    assert (out["impressions"], out["skipped"]) == (100, 0)
    assert (out["documents"], out["withheld_documents"], out["seed"]) == (40, 0, 5)
    # skip rate 0, two replies and shown references on every impression, nothing withheld
    assert out["knowledge_relevance"] == out["preference"] == out["adoption"] == 100
    assert out["annotations"] == sum(out[k] for k in KINDS)

    stats = last_json(run_aitl("store", "stats", db))
    assert stats["impressions"] == 100 and stats["annotations"] == out["annotations"]
    assert {k: stats[k] for k in KINDS} == {k: out[k] for k in KINDS}

    again = last_json(run_aitl(*args, "--impressions", 100, "--quiet"))
    assert (again["impressions"], again["skipped"], again["annotations"]) == (0, 100, 0)
    more = last_json(run_aitl(*args, "--impressions", 150, "--quiet"))
    assert (more["impressions"], more["skipped"]) == (50, 100)
    assert last_json(run_aitl("store", "stats", db))["impressions"] == 150


def test_simulate_stores_what_the_agents_produce(tmp_path: Path, capsys):
    db = tmp_path / "s.db"
    assert cli.main(["simulate", "--data", str(HELPCENTRE), "--store", str(db), "--impressions",
                     "60", "--seed", "2", "--withhold", "0.25", "--noise", "0.1",
                     "--careless-share", "0.2", "--agents", "10", "--batch", "16",
                     "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["withheld_documents"] == 10 and out["agents"] == 10 and out["careless_agents"] == 2

    ds = beir.load(HELPCENTRE)
    kept, _ = sim.withhold(ds.kb.ids(), 0.25, seed=2)
    system = sim.BaseSystem(ds.kb, doc_ids=kept, seed=2)
    imps = system.serve_many(sim.case_stream(ds.queries, 60, seed=2))
    agents = sim.Simulator.from_dataset(
        ds, kb_doc_ids=kept, seed=2,
        config=sim.SimConfig(noise=0.1, careless_share=0.2, n_agents=10))
    anns = agents.annotate_many(imps)

    store = aitl.SqliteStore(str(db), read_only=True)
    assert records(store, "impressions") == imps
    assert sorted(records(store, "annotations"), key=lambda a: a["id"]) == \
        sorted(anns, key=lambda a: a["id"])
    assert out["missing_knowledge"] == sum(a["type"] == "missing_knowledge" for a in anns) > 0


def test_simulate_dstc11_with_withheld_documents(dstc11_beir: Path, tmp_path: Path):
    db = tmp_path / "d11.db"
    out = last_json(run_aitl("simulate", "--data", dstc11_beir, "--store", db, "--impressions",
                             1_000, "--seed", "1", "--withhold", "0.5",
                             "--missing-report-probability", "1", "--skip-rate", "0",
                             "--quiet"))
    assert out["impressions"] == 1_000 and out["withheld_documents"] == 5_441
    assert 250 < out["cases_missing_knowledge"] < 350  # 299 for this seed
    store = aitl.SqliteStore(str(db), read_only=True)
    ds = beir.load(dstc11_beir)
    kept = set(sim.withhold(ds.kb.ids(), 0.5, seed=1)[0])
    missing = {q for q, docs in ds.qrels.items() if not set(docs) & kept}
    case = {imp.id: imp.case_id for imp in store.impressions()}
    flagged = [case[a.impression_id] for a in store.annotations(kind="missing_knowledge")]
    assert flagged and set(flagged) <= missing  # careful agents only flag real gaps
    assert len(flagged) == sum(c in missing for c in case.values()) == out["missing_knowledge"]


def test_store_export_and_import_round_trip(tmp_path: Path):
    db, copy_db = tmp_path / "a.db", tmp_path / "b.db"
    dump, dump2 = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    last_json(run_aitl("simulate", "--data", HELPCENTRE, "--store", db, "--impressions", 40,
                       "--quiet"))
    exported = last_json(run_aitl("store", "export", db, dump))
    stats = last_json(run_aitl("store", "stats", db))
    assert exported["impressions"] == 40 and exported["annotations"] == stats["annotations"]
    lines = dump.read_text().splitlines()
    assert len(lines) == 1 + 40 + stats["annotations"]  # header + records

    imported = last_json(run_aitl("store", "import", dump, copy_db))
    assert imported["imported"] == 40 + stats["annotations"]
    assert {k: imported[k] for k in KINDS + ["impressions"]} == \
        {k: stats[k] for k in KINDS + ["impressions"]}
    last_json(run_aitl("store", "export", copy_db, dump2))
    assert dump2.read_text().splitlines()[1:] == lines[1:]


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path):
    line = one_line_error(run_aitl("store", "stats", tmp_path / "none.db"))
    assert "store not found" in line and "none.db" in line
    line = one_line_error(run_aitl("simulate", "--data", HELPCENTRE, "--store", tmp_path / "x.db",
                                   "--impressions", 5, "--noise", "0.9"))
    assert "'noise'" in line and "0 <= noise <= 0.5" in line
    line = one_line_error(run_aitl("simulate", "--data", HELPCENTRE, "--store", tmp_path / "x.db",
                                   "--impressions", -1))
    assert "--impressions" in line
    line = one_line_error(run_aitl("simulate", "--data", HELPCENTRE, "--store", tmp_path / "x.db",
                                   "--impressions", 5, "--withhold", "1.5"))
    assert "0 <= fraction <= 1" in line
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "impression", "id": "i1"}\n')
    line = one_line_error(run_aitl("store", "import", bad, tmp_path / "y.db"))
    assert "bad.jsonl" in line
    assert "invalid choice" in run_aitl("store", "vacuum", tmp_path / "y.db").stderr


def _snapshot(*paths: Path) -> dict:
    return {p: p.read_bytes() for p in paths}


def test_no_command_writes_over_its_own_input(tmp_path: Path):
    """`store export self.db self.db` once replaced the store with its export: every command with
    an input and an output refuses (exit 2, one line naming both) and writes nothing."""
    db, dump = tmp_path / "self.db", tmp_path / "dump.jsonl"
    last_json(run_aitl("simulate", "--data", HELPCENTRE, "--store", db, "--impressions", 20,
                       "--quiet", "--durability", "normal"))
    last_json(run_aitl("store", "export", db, dump))
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.jsonl").symlink_to(db)
    os.link(db, tmp_path / "hard.jsonl")
    before = _snapshot(db, dump)
    for out in (db, tmp_path / "link.jsonl", tmp_path / "hard.jsonl", tmp_path / "sub" / ".." /
                "self.db", Path(str(db) + "-wal")):
        line = one_line_error(run_aitl("store", "export", db, out))
        assert "store export: OUT.jsonl would overwrite the input PATH" in line, line
        assert str(out) in line and str(db) in line
    line = one_line_error(run_aitl("store", "import", dump, dump))
    assert "store import: PATH would overwrite the input IN.jsonl" in line and str(dump) in line
    line = one_line_error(run_aitl("gaps", "--store", db, "--out", tmp_path / "link.jsonl"))
    assert "gaps: --out would overwrite the input --store" in line
    data = tmp_path / "helpcentre"  # a copy: a failing check must not touch the repository
    shutil.copytree(HELPCENTRE, data)
    corpus = _snapshot(data / "corpus.jsonl", data / "queries.jsonl")
    line = one_line_error(run_aitl("simulate", "--data", data, "--store", data / "corpus.jsonl",
                                   "--impressions", 5))
    assert "simulate: --store would overwrite the input --data's corpus.jsonl" in line
    assert _snapshot(db, dump) == before
    assert _snapshot(data / "corpus.jsonl", data / "queries.jsonl") == corpus
    with aitl.SqliteStore(str(db), read_only=True) as store:
        assert store.stats().impressions == 20


def test_store_outputs_are_checked_before_any_work(tmp_path: Path):
    db = tmp_path / "s.db"
    last_json(run_aitl("simulate", "--data", HELPCENTRE, "--store", db, "--impressions", 5,
                       "--quiet", "--durability", "normal"))
    missing = tmp_path / "missing" / "out.jsonl"
    line = one_line_error(run_aitl("store", "export", db, missing))
    assert "store export: OUT.jsonl folder not found" in line and str(missing) in line
    line = one_line_error(run_aitl("store", "export", db, tmp_path))
    assert "OUT.jsonl is a folder" in line and str(tmp_path) in line
    line = one_line_error(run_aitl("simulate", "--data", HELPCENTRE, "--store", missing,
                                   "--impressions", 5))
    assert "simulate: --store folder not found" in line and str(missing) in line
    line = one_line_error(run_aitl("gaps", "--store", db, "--out", missing))
    assert "gaps: --out folder not found" in line
    # --split becomes a file name (qrels/<split>.tsv): a plain name only
    line = one_line_error(run_aitl("simulate", "--data", HELPCENTRE, "--store", tmp_path / "x.db",
                                   "--impressions", 5, "--split", "../qrels/test"))
    assert "simulate: --split: not a plain name" in line and "'test'" in line
    assert not missing.parent.exists() and not (tmp_path / "x.db").exists()
