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


def test_learning_transfers_to_wordings_no_feedback_used(tmp_path):
    """--disjoint-phrasings: the evaluation questions use phrasing templates, nicknames and
    cities that no feedback question used; the trained system must still not lose anywhere and
    gain nDCG@10."""
    scenario.generate(tmp_path, ScenarioConfig(**SMALL, disjoint_phrasings=True))
    rep = learn.run_lift_experiment(tmp_path, seed=0, base="bm25", disjoint_phrasings=True,
                                    progress=False)
    base, trained = rep["base"], rep["trained"]
    print("lift on the small scenario, disjoint phrasings:",
          json.dumps({"base": base, "trained": trained, "choice": rep["selection"]["choice"]}))
    assert rep["protocol"]["overlap"]["template_excluding_shared"] == 0.0
    assert rep["protocol"]["overlap"]["nickname"] == 0.0
    for m in base:
        assert trained[m] >= base[m] - 0.01, (m, rep)
    assert trained["ndcg@10"] >= 1.05 * base["ndcg@10"], rep


# ---- disjoint phrasings ---------------------------------------------------------------------

DISJOINT = dict(products=4, regions=2)
# sha256 of the six files of ScenarioConfig(products=4, regions=2), written by the generator as
# committed before disjoint_phrasings existed (checked by importing that scenario.py from git)
HEAD_SMALL_SHA256 = "9a4eb325b119e5d209c5a44a821da9e9e81a1683a8670a4c252b92a69b2224df"


def _rows(path):
    return [json.loads(l) for l in (path / "queries.jsonl").read_text().splitlines()]


def _sides(rows):
    fb = [r["_id"] for r in rows if r["phrasing_side"] == "feedback"]
    ev = [r["_id"] for r in rows if r["phrasing_side"] == "eval"]
    return fb, ev


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    base = tmp_path_factory.mktemp("scenario_default_small")
    disj = tmp_path_factory.mktemp("scenario_disjoint_small")
    scenario.generate(base, ScenarioConfig(**DISJOINT))
    scenario.generate(disj, ScenarioConfig(disjoint_phrasings=True, **DISJOINT))
    return base, disj


def test_default_output_is_unchanged_by_the_disjoint_phrasings_field(pair):
    import hashlib

    base, _ = pair
    h = hashlib.sha256()
    for f in FILES:
        h.update((base / f).read_bytes())
    if scenario.GENERATOR_VERSION == 1:
        assert h.hexdigest() == HEAD_SMALL_SHA256
        assert ScenarioConfig().key() == "b64b4d14825a8dda"  # the cache folder stays
    rows = _rows(base)
    assert all(set(r) == {"_id", "text", "conversation", "turn", "region"} for r in rows)
    meta = json.loads((base / "scenario.json").read_text())
    assert "disjoint_phrasings" not in meta["config"]
    assert "disjoint_phrasings" not in ScenarioConfig().to_dict()
    with pytest.raises(aitl.ConfigError, match="disjoint_phrasings"):
        scenario.phrasing_sides(base)


def test_disjoint_phrasings_config_is_validated_and_keyed():
    for bad in (1, 0, "yes", None):
        with pytest.raises(aitl.ConfigError, match="disjoint_phrasings"):
            ScenarioConfig(disjoint_phrasings=bad)
    on = ScenarioConfig(disjoint_phrasings=True)
    assert on.to_dict()["disjoint_phrasings"] is True
    assert ScenarioConfig.from_dict(on.to_dict()) == on
    assert ScenarioConfig.from_dict(ScenarioConfig().to_dict()) == ScenarioConfig()
    assert ScenarioConfig.from_dict({"disjoint_phrasings": False}) == ScenarioConfig()
    assert on.key() != ScenarioConfig().key()


def test_disjoint_phrasings_sides_follow_conversations(pair):
    _, disj = pair
    rows = _rows(disj)
    assert all(r["phrasing_side"] in ("feedback", "eval") for r in rows)
    assert all(set(r["phrasing"]) == {"template", "nickname", "city"} for r in rows)
    by_conv = {}
    for r in rows:
        by_conv.setdefault(r["conversation"], set()).add(r["phrasing_side"])
    assert all(len(s) == 1 for s in by_conv.values())  # a conversation never spans sides
    fb_convs = sum(1 for s in by_conv.values() if s == {"feedback"})
    assert 0.4 <= fb_convs / len(by_conv) <= 0.6
    sides = scenario.phrasing_sides(disj)
    assert sides == {r["_id"]: r["phrasing_side"] for r in rows}
    fb, ev = _sides(rows)
    assert fb and ev


def test_disjoint_phrasings_keep_templates_nicknames_and_cities_apart(pair):
    base, disj = pair
    rows = _rows(disj)
    fb, ev = _sides(rows)
    o = scenario.phrasing_overlap(disj, fb, ev)
    assert o["feedback_questions"] == len(fb) and o["eval_questions"] == len(ev)
    assert o["template_excluding_shared"] == 0.0
    assert o["nickname"] == 0.0 and o["city"] == 0.0
    assert o["casual"]["template_excluding_shared"] == 0.0
    assert o["counts"]["nickname"]["eval"] > 50 and o["counts"]["city"]["eval"] > 20
    # only one-template lists (the withheld-candidate topics' formal questions) are shared
    assert all(t.split(":")[-1] == "formal" for t in o["shared_template_lists"])
    # the metadata tells the truth: parity of the template, nickname and city indices
    topics = {t.key: t for t in (scenario.PRODUCT_TOPICS + scenario.POLICY_TOPICS
                                 + scenario.ACCOUNT_TOPICS
                                 + [t for ts in scenario.GAP_TOPICS.values() for t in ts])}
    nick_parity = {}
    for line in scenario.PRODUCT_LINES + [scenario.GAP_GROUPS["halo-smoke-alarm"]["product"]]:
        for i, n in enumerate(line["nick"]):
            nick_parity.setdefault(n, set()).add(i % 2)
    for r in rows:
        want = 0 if r["phrasing_side"] == "feedback" else 1
        key, register, i = r["phrasing"]["template"].rsplit(":", 2)
        if len(getattr(topics[key], register)) > 1:
            assert int(i) % 2 == want, r
        if r["phrasing"]["nickname"]:
            assert nick_parity[r["phrasing"]["nickname"]] == {want}, r
        if r["phrasing"]["city"]:
            assert scenario.REGIONS[r["region"]]["cities"].index(r["phrasing"]["city"]) % 2 \
                == want, r
    # and in the texts themselves: a city of the other side's half never shows up
    for r in rows:
        other = 1 if r["phrasing_side"] == "feedback" else 0
        for c in scenario.REGIONS[r["region"]]["cities"][other::2]:
            assert c.lower() not in r["text"].lower(), r
    # without the flag the same split shares almost every wording (the issue: 97%)
    o = scenario.phrasing_overlap(base, fb, ev)
    assert o["casual"]["template"] > 0.85 and o["nickname"] > 0.9 and o["city"] > 0.9


def test_disjoint_phrasings_change_only_the_question_texts(pair):
    base, disj = pair
    for f in ("corpus.jsonl", "qrels/test.tsv", "groups.tsv", "responses.jsonl"):
        assert (base / f).read_bytes() == (disj / f).read_bytes(), f
    a, b = _rows(base), _rows(disj)
    keys = ("_id", "conversation", "turn", "region")
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    assert sum(x["text"] != y["text"] for x, y in zip(a, b)) > 0.8 * len(a)
    ma = json.loads((base / "scenario.json").read_text())
    mb = json.loads((disj / "scenario.json").read_text())
    assert mb["config"] == dict(ma["config"], disjoint_phrasings=True)
    assert ma["counts"] == mb["counts"] and ma["withheld"] == mb["withheld"]


def test_phrasing_overlap_rebuilds_a_default_scenario_and_checks_its_ids(pair, tmp_path):
    base, disj = pair
    fb, ev = _sides(_rows(disj))
    from_path = scenario.phrasing_overlap(base, fb, ev)
    assert from_path == scenario.phrasing_overlap(ScenarioConfig(**DISJOINT), fb, ev)
    assert from_path["template"] > 0.8
    with pytest.raises(aitl.NotFoundError, match="q99999"):
        scenario.phrasing_overlap(disj, fb, ev + ["q99999"])
    with pytest.raises(aitl.ConfigError, match="both sides"):
        scenario.phrasing_overlap(disj, fb, ev + fb[:1])
    # a folder whose queries no longer match its config is refused
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "scenario.json").write_bytes((base / "scenario.json").read_bytes())
    lines = (base / "queries.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    row["text"] = "edited"
    (bad / "queries.jsonl").write_text("\n".join([json.dumps(row)] + lines[1:]) + "\n")
    with pytest.raises(aitl.ConfigError, match="rebuild"):
        scenario.phrasing_overlap(bad, fb, ev)


def test_cli_scenario_disjoint_phrasings_flag(tmp_path, capsys):
    out = tmp_path / "s"
    assert cli.main(["scenario", str(out), "--products", "2", "--regions", "1",
                     "--disjoint-phrasings"]) == 0
    capsys.readouterr()
    assert set(scenario.phrasing_sides(out).values()) == {"feedback", "eval"}
    meta = json.loads((out / "scenario.json").read_text())
    assert meta["config"]["disjoint_phrasings"] is True


def test_phrasing_readers_name_the_line_of_bad_bytes_and_deep_nesting(tmp_path):
    (tmp_path / "queries.jsonl").write_bytes(
        b'{"_id": "q1", "phrasing_side": "eval"}\n\n{"_id": "q2", "phrasing_side": "feedback"}\n')
    assert scenario.phrasing_sides(tmp_path) == {"q1": "eval", "q2": "feedback"}
    (tmp_path / "queries.jsonl").write_bytes(
        b'{"_id": "q1", "phrasing_side": "eval"}\n\n{"_id": "q2", "phrasing_side": "sideways"}\n')
    with pytest.raises(aitl.ParseError, match=r"queries.jsonl:3: field 'phrasing_side'") as e:
        scenario.phrasing_sides(tmp_path)
    assert (e.value.line, e.value.field) == (3, "phrasing_side")  # blank lines still count
    (tmp_path / "queries.jsonl").write_bytes(b'{"_id": "q1", "phrasing_side": "eval"}\n{"_id": "\xff"}\n')
    with pytest.raises(aitl.ParseError, match=r"queries.jsonl:2: .*not valid UTF-8 \(got byte 0xFF"):
        scenario.phrasing_sides(tmp_path)
    (tmp_path / "queries.jsonl").write_text("[" * 100_000 + "\n")
    with pytest.raises(aitl.ParseError, match=r"queries.jsonl:1: .*nested too deeply"):
        scenario.phrasing_sides(tmp_path)
