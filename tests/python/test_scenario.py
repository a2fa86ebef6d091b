"""aitl.scenario: the built-in generated support scenario (determinism, BEIR shape, integrity,
the knowledge gap, the lexical gap, and that learning from feedback on it helps)."""
from __future__ import annotations

import json

import pytest

import aitl
from aitl import beir, cli, learn, scenario
from aitl.scenario import ScenarioConfig

FILES = ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "groups.tsv", "responses.jsonl",
         "scenario.json"]
SMALL = dict(products=8, regions=2)  # ~470 articles, ~1,550 questions: the lift check


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenario_full")
    counts = scenario.generate(out)
    return out, counts


@pytest.fixture(scope="module")
def full_ds(full):
    return beir.load(full[0])


def _bm25_run(ds, k=75):
    bm = aitl.BM25()
    bm.add_documents(list(ds.kb))
    qs = list(ds.queries)
    return dict(zip(qs, bm.search_batch([ds.queries[q] for q in qs], k)))


def test_same_seed_gives_identical_bytes_and_another_seed_differs(full, tmp_path):
    a, _ = full
    scenario.generate(tmp_path / "b")
    scenario.generate(tmp_path / "c", ScenarioConfig(seed=1))
    for f in FILES:
        assert (a / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    for f in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "responses.jsonl"):
        assert (a / f).read_bytes() != (tmp_path / "c" / f).read_bytes(), f


def test_loads_as_a_beir_folder_with_groups_and_responses(full, full_ds):
    _, counts = full
    ds = full_ds
    assert len(ds.kb) == counts["documents"]
    assert len(ds.queries) == counts["queries"]
    assert sum(len(v) for v in ds.qrels.values()) == counts["qrels"]
    assert set(ds.groups) == set(ds.queries) and set(ds.responses) == set(ds.queries)
    assert len(set(ds.groups.values())) == counts["conversations"]
    assert 1000 <= counts["documents"] <= 1500
    assert 3000 <= counts["queries"] <= 4000
    assert counts["products"] == 19 and counts["regions"] == 6
    header = (full[0] / "qrels" / "test.tsv").read_text().splitlines()[0]
    assert header == "query-id\tcorpus-id\tscore"
    assert (full[0] / "groups.tsv").read_text().splitlines()[0] == "query-id\tdialogue-id"
    doc = json.loads((full[0] / "corpus.jsonl").read_text().splitlines()[0])
    assert {"_id", "title", "text"} <= set(doc) and doc["title"] and len(doc["text"]) > 100


def test_qrels_are_consistent(full_ds):
    ds = full_ds
    ids = set(ds.kb.ids())
    all_q = beir.load_queries(ds.path)
    assert set(ds.qrels) == set(all_q)  # every query judged
    for q, docs in ds.qrels.items():
        assert set(docs) <= ids, q
        assert set(docs.values()) <= {1, 2}
        assert list(docs.values()).count(2) == 1, q  # one answering article per question
    several = sum(1 for d in ds.qrels.values() if len(d) > 1)
    assert several > 0.2 * len(ds.qrels)  # graded, several relevant where natural
    # conversations: turns of one conversation are consecutive and numbered 1..n
    rows = [json.loads(l) for l in (ds.path / "queries.jsonl").read_text().splitlines()]
    by_conv = {}
    for r in rows:
        by_conv.setdefault(r["conversation"], []).append(r["turn"])
        assert ds.groups[r["_id"]] == r["conversation"]
    assert all(t == list(range(1, len(t) + 1)) for t in by_conv.values())
    assert max(len(t) for t in by_conv.values()) > 1


def test_withheld_topics_are_listed_judged_and_unanswerable(full, full_ds):
    path, counts = full
    ds = full_ds
    w = scenario.withheld_ids(path)
    assert w == sorted(set(w), key=w.index) and len(w) == counts["withheld_documents"]
    assert set(w) <= set(ds.kb.ids())
    assert 0.01 <= len(w) / len(ds.kb) <= 0.025
    meta = json.loads((path / "scenario.json").read_text())
    groups = meta["withheld_topics"]
    assert len(groups) == 3 and all(5 <= len(g["doc_ids"]) <= 10 for g in groups)
    assert sorted(d for g in groups for d in g["doc_ids"]) == sorted(w)
    assert meta["config"] == ScenarioConfig().to_dict()
    ws = set(w)
    touched = [q for q, d in ds.qrels.items() if set(d) & ws]
    assert len(touched) == counts["withheld_queries"] > 20
    assert all(set(ds.qrels[q]) <= ws for q in touched)  # no answer in the served KB


def test_config_is_validated(tmp_path):
    for kw in (dict(products=0), dict(products=99), dict(generations=3), dict(regions=7),
               dict(lexical_gap=1.5), dict(typo_rate=-0.1), dict(withheld_groups=9),
               dict(questions_per_article=0), dict(company="lumora inc"),
               dict(policies=("refund", "loyalty")), dict(issue_types=()), dict(max_turns=True)):
        with pytest.raises(aitl.ConfigError, match=next(iter(kw))):
            ScenarioConfig(**kw)
    cfg = ScenarioConfig(seed=5, policies=["warranty", "refund"])
    assert cfg.policies == ("refund", "warranty")
    assert ScenarioConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(aitl.ConfigError, match="unknown"):
        ScenarioConfig.from_dict({"colour": 1})
    with pytest.raises(aitl.ConfigError):
        scenario.generate(tmp_path, {"seed": 1})


def test_subset_of_policies_issue_types_and_company(tmp_path):
    cfg = ScenarioConfig(products=3, regions=2, policies=("refund",),
                         issue_types=("setup", "returns"), withheld_groups=0, company="Zentro")
    counts = scenario.generate(tmp_path, cfg)
    ds = beir.load(tmp_path)
    rows = [json.loads(l) for l in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    assert {r["issue_type"] for r in rows if "model" in r} <= {"setup", "returns"}
    assert {r["policy"] for r in rows if "policy" in r} == {"refund"}
    assert counts["withheld_documents"] == 0 and scenario.withheld_ids(tmp_path) == []
    assert all("Lumora" not in r["text"] for r in rows) and any("Zentro" in r["text"] for r in rows)
    assert len(ds.queries) == counts["queries"] > 0


def test_the_lexical_gap_is_real_and_tunable(full_ds, tmp_path):
    run = _bm25_run(full_ds)
    r = aitl.evaluate(full_ds.qrels, run, ["recall@75", "precision@8"]).mean
    assert 0.3 <= r["recall@75"] <= 0.85
    assert r["precision@8"] < 0.1
    # the knob: with no gap customers use the articles' words and BM25 does much better
    recall = {}
    for gap in (0.0, 0.9):
        scenario.generate(tmp_path / str(gap), ScenarioConfig(lexical_gap=gap, products=4,
                                                              regions=1))
        ds = beir.load(tmp_path / str(gap))
        recall[gap] = aitl.evaluate(ds.qrels, _bm25_run(ds), ["recall@75"]).mean["recall@75"]
    assert recall[0.0] > recall[0.9] + 0.15


def test_load_generates_once_into_the_cache(tmp_path):
    p = scenario.load(seed=2, cache_dir=tmp_path, config=ScenarioConfig(seed=2, products=2,
                                                                      regions=1))
    assert p.parent == tmp_path and p.name.startswith("scenario-")
    stamp = (p / "corpus.jsonl").stat().st_mtime_ns
    again = scenario.load(cache_dir=tmp_path, config=ScenarioConfig(seed=2, products=2,
                                                                   regions=1))
    assert again == p and (p / "corpus.jsonl").stat().st_mtime_ns == stamp
    assert [x.name for x in tmp_path.iterdir()] == [p.name]  # no temporary folder left
    assert beir.load(p).groups is not None
    assert scenario.load(cache_dir=tmp_path, config=ScenarioConfig(seed=3, products=2,
                                                                  regions=1)) != p
    with pytest.raises(aitl.IoError):
        scenario.withheld_ids(tmp_path)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "scenario.json").write_text("{\"withheld\": 3}")
    with pytest.raises(aitl.ParseError):
        scenario.withheld_ids(tmp_path / "bad")


def test_cli_scenario_writes_a_beir_folder(tmp_path, capsys):
    out = tmp_path / "s"
    assert cli.main(["scenario", str(out), "--seed", "4", "--products", "2", "--regions",
                     "1"]) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts["documents"] == len(beir.load(out).kb)
    assert cli.main(["scenario", str(tmp_path / "x"), "--lexical-gap", "2"]) == 2
    assert "lexical_gap" in capsys.readouterr().err


def test_learning_from_feedback_lifts_recall_and_precision(tmp_path):
    scenario.generate(tmp_path, ScenarioConfig(**SMALL))
    rep = learn.run_lift_experiment(tmp_path, seed=0, progress=False)
    base, trained, gain = rep["base"], rep["trained"], rep["relative_gain"]
    print("lift on the small scenario:", json.dumps({"base": base, "trained": trained,
                                                     "relative_gain": gain}))
    assert trained["recall@75"] > base["recall@75"]
    assert trained["precision@8"] > base["precision@8"]
    # at least the paper's production gains (+11.7% recall@75, +14.8% precision@8)
    assert gain["recall@75"] >= 0.117
    assert gain["precision@8"] >= 0.148
    assert rep["ci95"]["recall@75"][0] > 0 and rep["ci95"]["precision@8"][0] > 0
