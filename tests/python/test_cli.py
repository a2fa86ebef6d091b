"""The `aitl` command line, run as `python -m aitl` in a subprocess."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import aitl
from aitl import cli
from conftest import last_json, one_line_error, run_aitl

REPO = Path(__file__).resolve().parents[2]
HELPCENTRE = REPO / "examples" / "data" / "helpcentre"
KEYS = {"recall@8", "recall@10", "recall@75", "precision@8", "precision@10", "precision@75",
        "ndcg@10", "mrr@10", "map", "queries", "documents", "latency_ms_mean", "latency_ms_p99",
        "retriever", "encoder", "k", "split"}






def check_metrics(out: dict, queries: int, documents: int) -> None:
    assert KEYS <= out.keys()
    assert out["queries"] == queries and out["documents"] == documents
    for key in KEYS - {"queries", "documents", "retriever", "encoder", "k", "split",
                       "latency_ms_mean", "latency_ms_p99"}:
        assert 0.0 <= out[key] <= 1.0, key
    assert out["recall@8"] <= out["recall@10"] <= out["recall@75"]
    assert 0.0 < out["latency_ms_mean"] <= out["latency_ms_p99"]


def test_convert_prints_the_counts(data_dir: Path, tmp_path: Path):
    out = last_json(run_aitl("convert", "dstc11", data_dir / "dstc11-track5", tmp_path / "beir",
                             "--history-turns", "2"))
    assert (out["documents"], out["queries"], out["qrels"]) == (10_882, 2_129, 8_669)
    assert (tmp_path / "beir" / "qrels" / "test.tsv").is_file()


def test_eval_bm25_on_dstc11(dstc11_beir: Path, tmp_path: Path):
    trec = tmp_path / "bm25.trec"
    out = last_json(run_aitl("eval", "--data", dstc11_beir, "--retriever", "bm25", "--run", trec))
    check_metrics(out, 2_129, 10_882)
    assert (out["retriever"], out["k"], out["split"]) == ("bm25", 75, "test")
    assert 0.60 <= out["recall@75"] <= 0.70  # 0.650 measured (aitl's BM25 defaults)
    assert out["ndcg@10"] > 0.1
    run = aitl.read_trec_run(str(trec))
    assert len(run) == 2_129 and all(len(hits) == 75 for hits in run.values())


def test_eval_dense_hashed_on_dstc11(dstc11_beir: Path):
    out = last_json(run_aitl("eval", "--data", dstc11_beir, "--retriever", "dense",
                             "--encoder", "hashed", "--quiet"))
    check_metrics(out, 2_129, 10_882)
    assert (out["retriever"], out["encoder"]) == ("dense", "hashed")
    assert 0.35 <= out["recall@75"] <= 0.50  # 0.422 measured


def test_eval_hybrid_on_dstc11(dstc11_beir: Path):
    out = last_json(run_aitl("eval", "--data", dstc11_beir, "--retriever", "hybrid", "--quiet"))
    check_metrics(out, 2_129, 10_882)
    assert (out["retriever"], out["encoder"], out["index"]) == ("hybrid", "hashed", "hnsw")
    assert 0.55 <= out["recall@75"] <= 0.68  # 0.613 measured


def test_eval_with_the_exact_index_and_another_k():
    out = last_json(run_aitl("eval", "--data", HELPCENTRE, "--retriever", "dense", "--index",
                             "exact", "--k", "10", "--quiet"))
    assert (out["index"], out["k"]) == ("exact", 10)
    assert out["recall@10"] >= out["recall@8"] > 0.3


def test_eval_shows_progress_on_stderr_and_json_last_on_stdout():
    proc = run_aitl("eval", "--data", HELPCENTRE, "--retriever", "hybrid", "--k", "5")
    out = last_json(proc)
    assert out["queries"] == 34 and out["documents"] == 40
    assert out["recall@5"] > 0.5
    assert "searching" in proc.stderr and "indexing" in proc.stderr


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path):
    proc = run_aitl("eval", "--data", tmp_path / "missing", "--retriever", "bm25")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing" in lines[0] and "not found" in lines[0]

    proc = run_aitl("eval", "--data", HELPCENTRE, "--retriever", "bm25", "--split", "dev")
    assert proc.returncode == 2 and "split 'dev'" in proc.stderr and "Traceback" not in proc.stderr

    proc = run_aitl("convert", "dstc11", tmp_path / "missing", tmp_path / "out")
    assert proc.returncode == 2 and "source folder not found" in proc.stderr

    proc = run_aitl("eval", "--data", HELPCENTRE, "--retriever", "tfidf")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_main_can_be_called_in_process(tmp_path: Path, capsys):
    assert cli.main(["eval", "--data", str(HELPCENTRE), "--retriever", "bm25", "--k", "3",
                     "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["k"] == 3 and "recall@3" in out
    assert cli.main(["eval", "--data", str(tmp_path), "--retriever", "bm25"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["--version"])




def test_outputs_never_overwrite_inputs(tmp_path: Path):
    data = tmp_path / "helpcentre"  # a copy: a failing check must not touch the repository
    shutil.copytree(HELPCENTRE, data)
    files = sorted(p for p in data.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in files}
    line = one_line_error(run_aitl("eval", "--data", data, "--retriever", "bm25", "--run",
                                   data / "qrels" / "test.tsv"))
    assert "eval: --run would overwrite the input --data's qrels/test.tsv" in line
    line = one_line_error(run_aitl("learn", "--data", data, "--report", data / "queries.jsonl"))
    assert "learn: --report would overwrite the input --data's queries.jsonl" in line
    line = one_line_error(run_aitl("flywheel", "--data", data, "--rounds", 1, "--gaps",
                                   data / "corpus.jsonl"))
    assert "flywheel: --gaps would overwrite the input --data's corpus.jsonl" in line
    line = one_line_error(run_aitl("flywheel", "--data", data, "--rounds", 1, "--report",
                                   tmp_path / "r.json", "--gaps", tmp_path / "r.json"))
    assert "flywheel: --report and --gaps write the same file" in line
    line = one_line_error(run_aitl("flywheel", "--data", data, "--rounds", 1, "--store",
                                   tmp_path / "work", "--report", tmp_path / "work" / "store.db"))
    assert "flywheel: --report and --store write the same file" in line
    # a folder output is compared file by file, through symbolic links too
    src, out = tmp_path / "src", tmp_path / "out"
    (src / "val").mkdir(parents=True)
    for name in ("knowledge.json", "val/logs.json", "val/labels.json"):
        (src / name).write_text("[]")
    out.mkdir()
    (out / "corpus.jsonl").symlink_to(src / "knowledge.json")
    line = one_line_error(run_aitl("convert", "dstc11", src, out))
    assert "convert: OUT_DIR would overwrite the input SRC_DIR's knowledge.json" in line
    assert (src / "knowledge.json").read_text() == "[]"
    assert {p: p.read_bytes() for p in files} == before
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "work").exists()


def test_outputs_are_checked_before_the_work_starts(tmp_path: Path):
    """An output into a missing folder once failed only after the whole run: now first. The data
    folder is empty, so any work would fail with another message."""
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "missing"
    cases = [
        (["eval", "--data", empty, "--retriever", "bm25", "--run", missing / "run.trec"],
         "eval: --run folder not found"),
        (["learn", "--data", empty, "--report", missing / "lift.json"],
         "learn: --report folder not found"),
        (["flywheel", "--data", empty, "--rounds", 1, "--report", missing / "fw.json"],
         "flywheel: --report folder not found"),
        (["flywheel", "--data", empty, "--rounds", 1, "--gaps", missing / "gaps.md"],
         "flywheel: --gaps folder not found"),
        (["flywheel", "--data", empty, "--rounds", 1, "--plot", missing / "fw.png"],
         "flywheel: --plot folder not found"),
        (["flywheel", "--data", empty, "--rounds", 1, "--report", tmp_path],
         "flywheel: --report is a folder"),
        (["convert", "dstc11", empty, empty / "corpus.jsonl" / "out"], None),
        (["scenario", tmp_path / "file.txt"], "scenario: OUT_DIR is a file"),
    ]
    (empty / "corpus.jsonl").write_text("")  # a file where convert's OUT_DIR would be created
    (tmp_path / "file.txt").write_text("x")
    for args, want in cases:
        line = one_line_error(run_aitl(*args))
        target = str(args[-1])
        assert target in line, (args, line)
        if want is None:
            assert "OUT_DIR cannot be created" in line, line
        else:
            assert want in line, (args, line)
    assert not missing.exists() and (tmp_path / "file.txt").read_text() == "x"
    line = one_line_error(run_aitl("eval", "--data", HELPCENTRE, "--retriever", "bm25",
                                   "--split", "../qrels/test"))
    assert "eval: --split: not a plain name (got '../qrels/test'" in line


def test_flywheel_corrupt_round_must_be_a_feedback_round(tmp_path: Path):
    """--corrupt-round 7 with --rounds 2 was silently ignored."""
    for r in ("7", "3", "0", "-1"):
        line = one_line_error(run_aitl("flywheel", "--rounds", 2, "--corrupt-round", r,
                                       "--corrupt-round", 1))
        assert (f"flywheel: --corrupt-round out of range (got {r}, expected a feedback round "
                "from 1 to --rounds 2)") in line
    from aitl.flywheel import FlywheelConfig

    with pytest.raises(aitl.ConfigError, match=r"'corrupt_rounds' out of range \(got \(1, 7\), "
                       r"expected feedback rounds from 1 to rounds=2\)"):
        FlywheelConfig(rounds=2, corrupt_rounds=(1, 7))
    with pytest.raises(aitl.ConfigError, match="corrupt_rounds"):
        FlywheelConfig(rounds=2, corrupt_rounds=(True,))
    assert FlywheelConfig(rounds=2, corrupt_rounds=[2, 1]).corrupt_rounds == (2, 1)


def test_flywheel_plot_title_keeps_a_dollar_in_the_data_name(tmp_path: Path):
    """A data folder named like mathtext ($\\frac$) made the plot fail after the whole run."""
    pytest.importorskip("matplotlib")
    from aitl.flywheel import plot_rounds

    rows = [{"round": r, "recall@75": 0.5, "precision@8": 0.2, "ndcg@10": 0.3, "helpfulness": 0.5,
             "adoption_rate": 0.2, "promoted": r == 1} for r in (0, 1)]
    title = cli._plot_title(tmp_path / "data$\\frac$x")
    assert title == "aitl flywheel: data\\$\\frac\\$x"
    plot_rounds(rows, tmp_path / "fw.png", title=title)
    assert (tmp_path / "fw.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
