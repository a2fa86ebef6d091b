"""The flywheel (aitl.flywheel, `aitl flywheel`): rounds improve the champion; a corrupted
challenger is rejected; rollback restores the previous champion bit-for-bit; the notebook runs."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import aitl
from aitl.flywheel import METRICS, Flywheel, FlywheelConfig, format_table

REPO = Path(__file__).resolve().parents[2]


def sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def dstc11_run(dstc11_beir: Path, tmp_path_factory):
    """Three rounds on DSTC11 with whole entities held out of the stream (--protocol entity:
    the test and guard hotels and restaurants never got feedback), the last one with inverted
    labels."""
    work = tmp_path_factory.mktemp("flywheel_dstc11")
    fw = Flywheel(dstc11_beir, workdir=work, progress=False,
                  config=FlywheelConfig(rounds=3, seed=0, corrupt_rounds=(3,), protocol="entity"))
    rows = [fw.run_round() for _ in range(4)]
    return fw, rows


def test_flywheel_rounds_improve_the_champion_on_dstc11(dstc11_run):
    fw, rows = dstc11_run
    r0 = rows[0]
    assert r0["annotations"] == 0 and r0["helpfulness"] == 0.5
    assert rows[1]["promoted"] or rows[2]["promoted"], [r["reason"] for r in rows]
    best = rows[2]
    # the paper's gains on the held-out test set, after two rounds of feedback
    assert best["recall@75"] >= 1.117 * r0["recall@75"], (r0, best)
    assert best["precision@8"] >= 1.148 * r0["precision@8"], (r0, best)
    assert best["helpfulness"] > 0.5 and best["helpfulness_p"] < 0.05, best
    assert best["adoption_rate"] > r0["adoption_rate"], (r0, best)
    assert rows[2]["annotations"] > rows[1]["annotations"] > 0
    # the entity protocol: no stream query is about a test entity, whose documents were never
    # shown to the stream; the champion is at least the base on every test metric
    assert fw.split["info"]["protocol"] == "entity" and fw.hidden
    test_rel = {d for q in fw.test for d, g in fw.dataset.qrels[q].items() if g > 0}
    assert test_rel <= fw.hidden | set(fw.withheld)
    served = {c.doc_id for i in fw.store.impressions() for c in i.retrieved}
    assert not served & fw.hidden
    assert all(best[m] >= r0[m] for m in METRICS), (r0, best)
    table = format_table(rows)
    assert "R@75" in table and len(table.splitlines()) == len(rows) + 1


def test_a_challenger_trained_on_inverted_labels_is_rejected(dstc11_run):
    fw, rows = dstc11_run
    bad = rows[3]
    assert bad["corrupted"] is True
    assert bad["promoted"] is False
    assert bad["reason"].startswith("rejected"), bad["reason"]
    assert bad["champion"] == rows[2]["champion"]
    # the test-set metrics did not move: the champion kept serving
    for m in METRICS:
        assert bad[m] == pytest.approx(rows[2][m])
    rejected = fw.registry.get(bad["challenger"])
    assert rejected["status"] == "rejected"
    assert rejected["decision"]["promote"] is False


def test_rollback_restores_the_previous_champion_bit_for_bit(dstc11_run):
    fw, rows = dstc11_run
    reg = fw.registry
    promoted = [r["challenger"] for r in rows if r.get("promoted")]
    assert promoted
    current = reg.champion["version"]
    before = {a["name"]: sha(reg.file(current, a["name"])) for a in reg.champion["artifacts"]}
    assert {a["name"]: a["sha256"] for a in reg.champion["artifacts"]} == before
    if len(promoted) < 2:
        pytest.skip("only one promotion: nothing to roll back to")
    previous = promoted[-2]
    prev_hashes = {a["name"]: a["sha256"] for a in reg.get(previous)["artifacts"]}
    assert reg.rollback() == previous
    assert reg.champion["version"] == previous
    reg.verify(previous)
    assert {n: sha(reg.file(previous, n)) for n in prev_hashes} == prev_hashes
    # and forward again
    reg.promote(current, {"reason": "test: roll forward"})
    assert reg.champion["version"] == current


def test_impressions_name_the_champion_that_served_them(dstc11_run):
    """Provenance: each round's impressions name the retriever version that was champion when
    they were served (the base, then each promoted registry version), through C++ slots."""
    fw, rows = dstc11_run
    imps = fw.store.impressions()
    assert sum(r["served"] for r in rows) == len(imps)
    at = 0
    for prev, row in zip(rows, rows[1:]):
        served = imps[at:at + row["served"]]
        at += row["served"]
        versions = {i.models["retriever"] for i in served}
        assert len(versions) == 1, versions
        (name,) = versions
        assert name.endswith("@" + prev["champion"]), (name, prev["champion"])
        assert name.startswith("bm25"), name
    assert {i.models["retriever"].split("@")[1] for i in imps} >= {"base"} | {
        r["challenger"] for r in rows[:-1] if r.get("promoted")}
    # the served retriever is the C++ composition, with no Python callback per query
    assert isinstance(fw.pipeline.retriever, (aitl.FilteredRetriever, aitl.BM25))
    served = fw.pipeline.retriever
    inner = served.retriever if isinstance(served, aitl.FilteredRetriever) else served
    assert inner is fw.champion.retriever()


def test_rollback_serves_the_previous_champion_and_compile_selects_by_version(dstc11_run):
    fw, rows = dstc11_run
    promoted = [r["challenger"] for r in rows if r.get("promoted")]
    current = fw.registry.champion["version"]
    cases = fw.test[:5]
    if len(promoted) < 2:
        assert fw.rollback() is None  # nothing to roll back to: nothing changes
        assert fw.registry.champion["version"] == current
        previous = current
    else:
        previous = promoted[-2]
        assert fw.rollback() == previous
        assert fw.champion.version == previous
    imps = fw.serve(cases)
    name = imps[0]["models"]["retriever"]
    assert name.endswith("@" + previous)
    assert {i["models"]["retriever"] for i in imps} == {name}
    # the served system ranks as the champion evaluated
    q = [fw.dataset.queries[c] for c in cases]
    want = [[h.id for h in r if h.id not in fw.hidden][:fw.config.k] for r in fw.champion.rank(q)]
    assert [[c["doc_id"] for c in i["retrieved"]] for i in imps] == want
    # feedback selected by the model version that produced it
    anns = [a for imp in imps for a in fw.agents.annotate(imp, agents=fw.annotators)]
    fw.store.append(anns)
    got = aitl.compile_rerank(fw.store, models={"retriever": name})
    mine = {i["id"] for i in imps}
    by_version = {i.id for i in fw.store.impressions() if i.models["retriever"] == name}
    assert got and {l.impression_id for l in got} <= by_version
    assert {l.impression_id for l in got} & mine
    other = aitl.compile_rerank(fw.store, models={"retriever": "bm25@base"})
    assert not {l.impression_id for l in other} & by_version
    assert aitl.compile_rerank(fw.store, models={"retriever": "nobody@v9"}) == []
    with pytest.raises(aitl.ConfigError, match="models"):
        aitl.compile_rerank(fw.store, models={"retriever": ""})
    if len(promoted) >= 2:  # roll forward again, as the registry test does
        fw.registry.promote(current, {"reason": "test: roll forward"})


def test_a_cpp_program_serves_the_champion_the_flywheel_published(dstc11_run):
    """examples/cpp/05_serve_champion loads the registry's champion (serving.json + artifacts,
    SHA-256 verified) with no Python and names it as the flywheel does."""
    fw, _ = dstc11_run
    exe = REPO / "build" / "cpp" / "examples" / "cpp" / "example_05_serve_champion"
    if not exe.exists() and (REPO / "build" / "cpp" / "CMakeCache.txt").exists():
        subprocess.run(["cmake", "--build", str(REPO / "build" / "cpp"), "--target",
                        "example_05_serve_champion"], check=True, capture_output=True)
    if not exe.exists():
        pytest.skip("the C++ examples are not built (scripts/test.sh builds them)")
    champion = fw.registry.champion
    assert champion is not None
    assert "serving.json" in {a["name"] for a in champion["artifacts"]}
    out = subprocess.run([str(exe), str(fw.workdir / "registry"), str(fw.data)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    system = fw._systems.get(champion["version"], fw.champion)
    name = system.models()["retriever"]
    assert f"champion {champion['version']}: {name}" in out.stdout, (out.stdout, name)


def test_the_gap_report_surfaces_the_withheld_documents(dstc11_run):
    fw, _ = dstc11_run
    gaps = fw.gap_report()
    assert gaps["withheld_documents"] == len(fw.withheld) > 0
    assert gaps["withheld_cases_signalled"] > 0
    assert gaps["withheld_recall"] >= 0.7, gaps
    assert "#" in gaps["markdown"]


def test_flywheel_config_errors_name_the_field():
    with pytest.raises(aitl.ConfigError, match="rounds"):
        FlywheelConfig(rounds=0)
    with pytest.raises(aitl.ConfigError, match="fresh_fraction"):
        FlywheelConfig(fresh_fraction=1.5)
    with pytest.raises(aitl.ConfigError, match="n <= k <= pool"):
        FlywheelConfig(k=5, n=8)
    with pytest.raises(aitl.ConfigError, match="protocol"):
        FlywheelConfig(protocol="random")
    with pytest.raises(aitl.ConfigError, match="disjoint_phrasings"):
        Flywheel("somewhere", config=FlywheelConfig(disjoint_phrasings=True), progress=False)


def test_the_flywheel_cli_on_the_builtin_scenario_writes_table_report_and_plot(tmp_path: Path):
    report, plot = tmp_path / "fw.json", tmp_path / "fw.png"
    proc = subprocess.run([sys.executable, "-m", "aitl", "flywheel", "--rounds", "1", "--seed",
                           "0", "--store", str(tmp_path / "work"), "--report", str(report),
                           "--plot", str(plot), "--quiet"], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "R@75" in proc.stdout
    rep = json.loads(report.read_text())
    assert [r["round"] for r in rep["rounds"]] == [0, 1]
    for r in rep["rounds"]:
        for key in ("annotations", "recall@75", "precision@8", "ndcg@10", "helpfulness",
                    "adoption_rate", "promoted", "reason"):
            assert key in r, key
    assert rep["rounds"][-1]["recall@75"] > rep["rounds"][0]["recall@75"]
    assert isinstance(rep["gaps"], list) and rep["gaps"]
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_the_flywheel_notebook_runs(tmp_path: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(REPO / "examples" / "python" / "flywheel.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
