#!/usr/bin/env python3
"""Feedback store benchmark: aitl's SQLite store against plain SQLite (C++) and Python sqlite3.

Measured in one run, on the local disk (a temporary folder; the file system is recorded):

* Durable appends (``durability::full``: WAL, ``synchronous=FULL``, an append returns after
  its commit is synced) of realistic annotations (~0.5 KB each in their JSON form: a mix of
  knowledge_relevance with 8 labels of DSTC11-style doc ids + 1 hand-selected, preference with
  a one-sentence rationale, adoption with a ~300-character final text and 2 reasons, and a few
  missing_knowledge), one per commit and in batches of 100 (``append(vector)``), through

  - ``aitl::sqlite_store`` (C++, bench/store_bench.cpp),
  - plain SQLite used directly from C++ (same program): the schema created with the same
    migration SQL (``detail::sqlite_migrations()``), the same PRAGMAs, the same rows (the
    annotation row + its relevance_labels rows), prepared statements, one
    ``BEGIN IMMEDIATE``/``COMMIT`` per append call,
  - Python's ``sqlite3`` module with the same schema, settings and rows (``executemany`` for
    batches; rows prepared before the clock starts, as the C++ structs are).

  aitl also validates each annotation, looks its impression up (validating the labels against
  the shown documents) and draws an unused id; the peers only insert. Each database starts
  with the same 1,000 impressions (75 retrieved, 8 shown, 2 replies, 3 models each).
  Systems run in separate processes, interleaved round by round (order rotated; 10 rounds
  of 200 one-at-a-time appends and 20 batches per system); medians of the rounds are
  reported, and the cost against raw SQLite is the median over rounds of the ratio within a
  round (adjacent runs see the same machine state: on a shared VM the disk's flush latency
  swings between ~0.1 and ~4 ms, so it is probed and recorded too). ``normal`` durability is
  measured the same way, for information. ``store_bench profile`` then times the steps of
  aitl's write path (validation, impression lookup, id, insert) against the raw insert.

* Reading 1,000,000 annotations (100,000 impressions x 10, filled with aitl, normal
  durability, batches of 1,000) since watermark 0 into memory: aitl ``annotations_since(0)``
  (``std::vector<annotation>``), the raw SQLite read of the same rows into the same structs,
  Python sqlite3 ``fetchall`` of the same rows, and aitl's Python binding when importable
  (``PYTHONPATH=<build>/python_pkg`` or an installed aitl). Warm page cache (the file was just
  written); wall and CPU time.

* Database size after a checkpoint per million annotations (the annotation tables and
  their indexes, from SQLite's dbstat), against the JSON of the same annotations and the JSONL
  export.

Writes bench/results/store.json and prints markdown tables.

    .venv/bin/python bench/bench_store.py            # full run (several minutes)
    .venv/bin/python bench/bench_store.py --quick    # smoke run (< 1 minute)

The C++ program (built by bench/run.sh) is looked up in --bin, $AITL_BENCH_BIN (a file or a
folder), then build/*/bench/store_bench.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SYSTEMS = ("aitl", "raw", "python")
LABEL = {"aitl": "aitl sqlite_store (C++)", "raw": "plain SQLite (C++)", "python": "Python sqlite3"}

KINDS = {"preference": 0, "adoption": 1, "knowledge_relevance": 2, "missing_knowledge": 3}
CHOICES = {"a": 0, "b": 1, "tie": 2, "both_bad": 3}
STRENGTHS = {"slight": 0, "clear": 1, "strong": 2}
OUTCOMES = {"used_as_is": 0, "used_with_edits": 1, "not_used": 2}
REASONS = {n: i for i, n in enumerate(["wrong_policy", "missing_information", "not_applicable", "tone",
                                       "too_long", "hallucinated_detail", "wrong_reference", "other"])}
ANN_COLS = ("id, impression_id, kind, annotator, timestamp_ms, time_to_annotate_ms, weight, choice, strength, "
            "rationale, outcome, reply, reasons, final_text, description, suggested_source, n_labels")
INS_ANN = f"INSERT INTO annotations (seq, {ANN_COLS}) VALUES (NULL, {', '.join('?' * 17)})"
INS_ANN_SEQ = f"INSERT INTO annotations (seq, {ANN_COLS}) VALUES ({', '.join('?' * 18)})"
INS_LAB = "INSERT INTO relevance_labels (annotation_seq, ord, doc_id, label) VALUES (?, ?, ?, ?)"


# ------------------------------------------------------------------------------------------
# machine
# ------------------------------------------------------------------------------------------

def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def filesystem(path: Path) -> dict:
    """The mount holding `path` (longest mount-point prefix in /proc/mounts)."""
    real = os.path.realpath(path)
    best = {"mount": "?", "fstype": "?", "device": "?", "options": ""}
    try:
        with open("/proc/mounts") as f:
            for line in f:
                dev, mnt, fstype, opts = line.split()[:4]
                mnt = mnt.replace("\\040", " ")
                if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best["mount"].strip("?")):
                    best = {"mount": mnt, "fstype": fstype, "device": dev, "options": opts}
    except OSError:
        pass
    best["path"] = real
    return best


def fsync_probe(folder: Path, n: int = 200) -> dict:
    """Latency of appending 32 KB (a commit's WAL frames) + fdatasync on the benchmark's disk."""
    path = folder / "fsync_probe.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    ms = []
    try:
        block = b"x" * 32768
        for i in range(n):
            os.pwrite(fd, block, i * len(block))
            t = time.perf_counter()
            os.fdatasync(fd)
            ms.append((time.perf_counter() - t) * 1000.0)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    ms.sort()
    return {"p50_ms": ms[n // 2], "p90_ms": ms[int(0.9 * (n - 1))], "p99_ms": ms[int(0.99 * (n - 1))]}


def find_binary(arg: str | None) -> Path | None:
    for c in (arg, os.environ.get("AITL_BENCH_BIN")):
        if not c:
            continue
        p = Path(c)
        if p.is_dir():
            p = p / "store_bench"
        if p.is_file() and os.access(p, os.X_OK):
            return p
    found = sorted(glob.glob(str(REPO / "build" / "*" / "bench" / "store_bench")), key=os.path.getmtime)
    return Path(found[-1]) if found else None


def run_json(cmd, what: str) -> dict:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------
# Python sqlite3 peer (worker processes)
# ------------------------------------------------------------------------------------------

def impression_rows(j):
    imp = (j["id"], j["case_id"], j.get("turn", 0), j["timestamp_ms"], j["query"],
           json.dumps(j.get("context", []), separators=(",", ":"), ensure_ascii=False),
           len(j.get("retrieved", [])), len(j.get("shown", [])), len(j.get("replies", [])))
    cands = [(stage, c["rank"], c["doc_id"], float(c["score"]))
             for stage, key in ((0, "retrieved"), (1, "shown")) for c in j.get(key, [])]
    replies = [(slot, r["variant"], 0 if r["position"] == "left" else 1, r["text"])
               for slot, r in enumerate(j.get("replies", []))]
    models = sorted(j.get("models", {}).items())
    return imp, cands, replies, models


def annotation_row(j):
    """(the annotation's columns after id, its relevance_labels rows as (ord, doc_id, label))."""
    kind = j["type"]
    choice = strength = outcome = reply = reasons = None
    rationale = final_text = description = source = None
    labels = []
    if kind == "preference":
        choice, strength, rationale = CHOICES[j["choice"]], STRENGTHS[j["strength"]], j.get("rationale", "")
    elif kind == "adoption":
        outcome, reply, final_text = OUTCOMES[j["outcome"]], j["reply"], j.get("final_text", "")
        reasons = sum(1 << REASONS[r] for r in j.get("reasons", []))
        rationale = j.get("rationale", "")
    elif kind == "knowledge_relevance":
        labels = [(o, l["doc_id"], 1 if l["relevant"] else 0) for o, l in enumerate(j["labels"])]
        labels += [(len(labels) + o, d, 2) for o, d in enumerate(j.get("selected", []))]
    else:
        description, source = j["description"], j.get("suggested_source", "")
    row = (j["impression_id"], KINDS[kind], j["annotator"], j["timestamp_ms"], j.get("time_to_annotate_ms", 0),
           float(j.get("weight", 1.0)), choice, strength, rationale, outcome, reply, reasons, final_text,
           description, source, len(labels))
    return row, labels


def py_create(path: Path, durability: str, migrations) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    con = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA busy_timeout=10000")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL" if durability == "full" else "PRAGMA synchronous=NORMAL")
    con.executescript("BEGIN IMMEDIATE;\n" + "\n".join(migrations) +
                      "\nINSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', '2');\nCOMMIT;")
    return con


def worker_write(args) -> dict:
    migrations = json.loads(Path(args.schema).read_text())["migrations"]
    imps, anns = [], []
    with open(args.data) as f:
        for line in f:
            j = json.loads(line)
            (imps if j["type"] == "impression" else anns).append(j)
    anns = [annotation_row(j) for j in anns[:args.count]]
    path = Path(args.db)
    con = py_create(path, args.durability, migrations)
    con.execute("BEGIN IMMEDIATE")
    for j in imps:
        imp, cands, replies, models = impression_rows(j)
        seq = con.execute("INSERT INTO impressions (seq, id, case_id, turn, timestamp_ms, query, context, n_retrieved, "
                          "n_shown, n_replies) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)", imp).lastrowid
        con.executemany("INSERT INTO impression_candidates (impression_seq, stage, rank, doc_id, score) "
                        "VALUES (?, ?, ?, ?, ?)", [(seq,) + c for c in cands])
        con.executemany("INSERT INTO impression_replies (impression_seq, slot, variant, position, text) "
                        "VALUES (?, ?, ?, ?, ?)", [(seq,) + r for r in replies])
        con.executemany("INSERT INTO impression_models (impression_seq, role, version) VALUES (?, ?, ?)",
                        [(seq,) + m for m in models])
    con.execute("COMMIT")

    bits = random.SystemRandom().getrandbits
    rng = random.Random(bits(64))
    batch = 1 if args.mode == "one" else args.batch
    commit_ms = []
    t0 = time.perf_counter()
    if batch == 1:
        for row, labels in anns:
            t = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            seq = con.execute(INS_ANN, ("ann-%016x" % rng.getrandbits(64),) + row).lastrowid
            if labels:
                con.executemany(INS_LAB, [(seq,) + l for l in labels])
            con.execute("COMMIT")
            commit_ms.append((time.perf_counter() - t) * 1000.0)
    else:
        for first in range(0, len(anns), batch):
            t = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            base = con.execute("SELECT coalesce(max(seq), 0) FROM annotations").fetchone()[0]
            rows, labs = [], []
            for i, (row, labels) in enumerate(anns[first:first + batch]):
                seq = base + 1 + i
                rows.append((seq, "ann-%016x" % rng.getrandbits(64)) + row)
                labs.extend((seq,) + l for l in labels)
            con.executemany(INS_ANN_SEQ, rows)
            con.executemany(INS_LAB, labs)
            con.execute("COMMIT")
            commit_ms.append((time.perf_counter() - t) * 1000.0)
    seconds = time.perf_counter() - t0
    stored = con.execute("SELECT count(*) FROM annotations").fetchone()[0]
    n_labels = con.execute("SELECT count(*) FROM relevance_labels").fetchone()[0]
    con.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    if stored != len(anns):
        raise RuntimeError(f"python: stored {stored} annotations, expected {len(anns)}")
    ms = sorted(commit_ms)
    return {"system": "python", "durability": args.durability, "mode": args.mode, "batch": batch,
            "annotations": len(anns), "relevance_labels": n_labels, "commits": len(commit_ms), "seconds": seconds,
            "annotations_per_s": len(anns) / seconds, "commits_per_s": len(commit_ms) / seconds,
            "commit_latency": {"mean_ms": statistics.fmean(ms), "p50_ms": ms[round(0.5 * (len(ms) - 1))],
                               "p99_ms": ms[round(0.99 * (len(ms) - 1))], "max_ms": ms[-1]}}


def _resources():
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def _timed_reads(read, repeats: int):
    """`read()` `repeats` times (each result dropped before the next): wall, user, sys, page faults."""
    reads, n = [], 0
    for _ in range(repeats):
        u0, s0, f0 = _resources()
        t = time.perf_counter()
        n = read()
        wall = time.perf_counter() - t
        u1, s1, f1 = _resources()
        reads.append({"seconds": wall, "user_seconds": u1 - u0, "sys_seconds": s1 - s0, "minor_faults": f1 - f0})
    return n, reads


def worker_read(args) -> dict:
    """Python sqlite3 fetchall of the rows annotations_since(0) reads (annotations, then labels)."""
    counts = {}

    def read():
        con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True, isolation_level=None)
        con.execute("PRAGMA mmap_size=1073741824")
        con.execute("BEGIN")
        rows = con.execute(f"SELECT seq, {ANN_COLS} FROM annotations WHERE seq > ? ORDER BY seq", (0,)).fetchall()
        labels = con.execute("SELECT annotation_seq, doc_id, label FROM relevance_labels WHERE annotation_seq > ? "
                             "ORDER BY annotation_seq, ord", (0,)).fetchall()
        con.execute("COMMIT")
        con.close()
        counts["relevance_labels"] = len(labels)
        return len(rows)

    n, reads = _timed_reads(read, args.repeats)
    return {"system": "python", "annotations": n, "relevance_labels": counts.get("relevance_labels"), "reads": reads}


def worker_read_aitl(args) -> dict:
    """aitl's Python binding: SqliteStore(read_only=True).annotations_since(0) (a list of Annotation)."""
    import aitl

    store = aitl.SqliteStore(args.db, read_only=True)
    n, reads = _timed_reads(lambda: len(store.annotations_since(0)), args.repeats)
    return {"system": "aitl-python", "annotations": n, "reads": reads,
            "module": getattr(aitl, "__file__", "?"), "version": getattr(aitl, "__version__", "?")}


# ------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------

def median(xs):
    return statistics.median(xs) if xs else None


def summarise_writes(runs):
    """runs[(durability, mode)][system] = list of per-round results → medians + aitl/raw costs."""
    out = {}
    for (dur, mode), per in runs.items():
        cell = {}
        for system, rs in per.items():
            cell[system] = {
                "rounds_annotations_per_s": [r["annotations_per_s"] for r in rs],
                "median_annotations_per_s": median([r["annotations_per_s"] for r in rs]),
                "median_commits_per_s": median([r["commits_per_s"] for r in rs]),
                "median_commit_p50_ms": median([r["commit_latency"]["p50_ms"] for r in rs]),
                "median_commit_p99_ms": median([r["commit_latency"]["p99_ms"] for r in rs]),
                "annotations_total": sum(r["annotations"] for r in rs),
                "commits_total": sum(r["commits"] for r in rs),
                "relevance_labels_per_round": rs[0]["relevance_labels"],
            }
        if "raw" in per:
            for system in per:
                if system == "raw":
                    continue
                # extra time per annotation against raw: the median over rounds of the ratio within a
                # round (adjacent runs, same machine state), and the ratio of the medians
                paired = [x["seconds"] / y["seconds"] for x, y in zip(per[system], per["raw"])]
                cell[system]["cost_vs_raw"] = median(paired) - 1.0
                cell[system]["cost_vs_raw_rounds"] = [p - 1.0 for p in paired]
                cell[system]["cost_vs_raw_ratio_of_medians"] = (cell["raw"]["median_annotations_per_s"] /
                                                                cell[system]["median_annotations_per_s"] - 1.0)
        out.setdefault(dur, {})[mode] = cell
    return out


def summarise_reads(scans, skipped, n, check):
    """First read of each process (fresh memory) and the later ones (warm), medians."""
    out = {"annotations": n, "check": check.get("check")}
    for name, runs in scans.items():
        first = [r["reads"][0] for r in runs]
        later = [x for r in runs for x in r["reads"][1:]]
        cell = {"runs": [r["reads"] for r in runs],
                "first_read_seconds": median([x["seconds"] for x in first]),
                "warm_read_seconds": median([x["seconds"] for x in later]) if later else None}
        cell["first_read_annotations_per_s"] = n / cell["first_read_seconds"]
        cell["warm_read_annotations_per_s"] = n / cell["warm_read_seconds"] if later else None
        cell["first_read_sys_seconds"] = median([x["sys_seconds"] for x in first])
        if later:
            cell["warm_read_sys_seconds"] = median([x["sys_seconds"] for x in later])
        if "relevance_labels" in runs[0]:
            out["relevance_labels"] = runs[0]["relevance_labels"]
        if "module" in runs[0]:
            cell["module"] = runs[0]["module"]
        out[name] = cell
    for name, why in skipped.items():
        out[name] = {"skipped": why}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run (< 1 minute)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds per measurement (default 10; quick 2)")
    ap.add_argument("--one", type=int, help="one-at-a-time appends per system in all (default 2000; quick 100)")
    ap.add_argument("--batches", type=int, help="batches per system in all (default 200; quick 10)")
    ap.add_argument("--batch", type=int, default=100, help="annotations per batch (default 100)")
    ap.add_argument("--impressions", type=int, default=1000, help="impressions in each write database")
    ap.add_argument("--read-impressions", type=int, help="impressions of the read database (default 100,000; "
                                                         "quick 5,000); 10 annotations each")
    ap.add_argument("--per-impression", type=int, default=10)
    ap.add_argument("--read-repeats", type=int, default=3, help="reads per reader process")
    ap.add_argument("--read-rounds", type=int, default=3, help="reader processes per system, interleaved")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="aitl, raw, python")
    ap.add_argument("--dir", help="folder for the databases (default: a temporary folder under $TMPDIR); "
                                  "must be a disk, not tmpfs")
    ap.add_argument("--bin", help="the store_bench program (default: $AITL_BENCH_BIN, then build/*/bench)")
    ap.add_argument("--out", default=str(HERE / "results" / "store.json"))
    # worker mode (internal)
    ap.add_argument("--worker", choices=["write", "read", "read-aitl"], help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--schema", help=argparse.SUPPRESS)
    ap.add_argument("--durability", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        res = {"write": worker_write, "read": worker_read, "read-aitl": worker_read_aitl}[args.worker](args)
        res["sqlite_version"] = sqlite3.sqlite_version
        print(json.dumps(res))
        return 0

    rounds = args.rounds or (2 if args.quick else 10)
    one_total = args.one or (100 if args.quick else 2000)
    batches_total = args.batches or (10 if args.quick else 200)
    read_imps = args.read_impressions or (5000 if args.quick else 100_000)
    one_per_round = max(1, one_total // rounds)
    batches_per_round = max(1, batches_total // rounds)
    systems = [s for s in args.systems.split(",") if s]
    binary = find_binary(args.bin)
    if binary is None:
        print("[bench_store] store_bench not built: run bench/run.sh or "
              "cmake -DAITL_BUILD_BENCH=ON && cmake --build <dir> --target store_bench", file=sys.stderr)
        return 1

    base = Path(args.dir) if args.dir else None
    if base:
        base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="aitl_bench_store_", dir=base))
    fs = filesystem(work)
    if fs["fstype"] in ("tmpfs", "ramfs"):
        shutil.rmtree(work)
        work = Path(tempfile.mkdtemp(prefix="aitl_bench_store_", dir=REPO / "build"))
        fs = filesystem(work)
        print(f"[bench_store] temporary folder is in memory: using {work} instead", file=sys.stderr)
    print(f"[bench_store] {binary}; databases in {work} ({fs['fstype']} on {fs['device']})", file=sys.stderr)
    probe = fsync_probe(work)
    print(f"[bench_store] fdatasync of 32 KB appended: p50 {probe['p50_ms']:.2f} ms, p99 {probe['p99_ms']:.2f} ms",
          file=sys.stderr)

    results = {
        "machine": {"cpu": cpu_name(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "filesystem": fs,
                    "loadavg_at_start": list(os.getloadavg()), "fdatasync_32k_at_start": probe},
        "versions": {},
        "settings": {"journal_mode": "WAL", "synchronous": {"full": "FULL", "normal": "NORMAL"},
                     "transaction": "BEGIN IMMEDIATE ... COMMIT per append call", "rounds": rounds,
                     "one_at_a_time_per_round": one_per_round, "batches_per_round": batches_per_round,
                     "batch": args.batch, "impressions_per_write_db": args.impressions,
                     "read_impressions": read_imps, "annotations_per_impression": args.per_impression,
                     "read_repeats": args.read_repeats, "read_rounds": args.read_rounds, "systems": systems},
    }
    try:
        schema = run_json([binary, "schema"], "store_bench schema")
        schema_file = work / "schema.json"
        schema_file.write_text(json.dumps(schema))
        results["versions"] = {"aitl": schema["aitl_version"], "sqlite_cpp": schema["sqlite_version"],
                               "sqlite_python": sqlite3.sqlite_version, "schema_version": schema["schema_version"]}
        mix = run_json([binary, "mix"], "store_bench mix")
        results["mix"] = {k: v for k, v in mix.items() if k not in ("sqlite_version", "aitl_version")}
        print(f"[bench_store] annotation mix: mean JSON {mix['mean_json_bytes']:.0f} bytes "
              + ", ".join(f"{k} {v['share']:.0%} {v['mean_json_bytes']:.0f} B" for k, v in mix["kinds"].items()),
              file=sys.stderr)

        n_data = max(one_per_round, batches_per_round * args.batch)
        data = work / "data.jsonl"
        run_json([binary, "data", "--out", data, "--impressions", args.impressions, "--annotations", n_data],
                 "store_bench data")

        # ---- writes: interleaved rounds, order rotated per round
        runs = {}
        for r in range(rounds):
            for dur in ("full", "normal"):
                for mode in ("one", "batch"):
                    count = one_per_round if mode == "one" else batches_per_round * args.batch
                    order = systems[r % len(systems):] + systems[:r % len(systems)]
                    for system in order:
                        db = work / f"write_{system}.db"
                        if system == "python":
                            cmd = [sys.executable, Path(__file__).resolve(), "--worker", "write", "--db", db,
                                   "--data", data, "--schema", schema_file, "--durability", dur, "--mode", mode,
                                   "--count", count, "--batch", args.batch]
                        else:
                            cmd = [binary, "write", "--system", system, "--durability", dur, "--mode", mode,
                                   "--count", count, "--batch", args.batch, "--impressions", args.impressions,
                                   "--db", db]
                        res = run_json(cmd, f"write {system} {dur} {mode}")
                        runs.setdefault((dur, mode), {}).setdefault(system, []).append(res)
                        print(f"[bench_store] round {r + 1}/{rounds} {dur:6} {mode:5} {system:6} "
                              f"{res['annotations_per_s']:10.0f} annotations/s  "
                              f"(commit p50 {res['commit_latency']['p50_ms']:.2f} ms)", file=sys.stderr, flush=True)
        results["write"] = summarise_writes(runs)
        results["machine"]["fdatasync_32k_after_writes"] = fsync_probe(work)

        # ---- a store of 1M annotations: fill, size, reads, appends to it
        db = work / "read.db"
        print(f"[bench_store] filling {read_imps:,} impressions x {args.per_impression} annotations with aitl ...",
              file=sys.stderr, flush=True)
        t = time.perf_counter()
        fill = run_json([binary, "fill", "--db", db, "--impressions", read_imps, "--per-impression",
                         args.per_impression], "store_bench fill")
        print(f"[bench_store] filled in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
        results["fill"] = fill["fill"]
        results["jsonl_export"] = jsonl = fill["jsonl"]
        size = fill["size"]
        n = fill["fill"]["annotations"]
        per_m = 1e6 / n
        size["annotation_tables_bytes_per_million"] = size["annotation_tables_bytes"] * per_m
        size["annotation_json_bytes_per_million"] = jsonl["annotation_bytes"] * per_m
        size["annotation_tables_to_json_ratio"] = size["annotation_tables_bytes"] / jsonl["annotation_bytes"]
        size["db_plus_wal_bytes"] = size["db_bytes"] + size["wal_bytes"]
        size["db_plus_wal_bytes_per_million_annotations"] = size["db_plus_wal_bytes"] * per_m
        size["db_to_jsonl_export_ratio"] = size["db_plus_wal_bytes"] / jsonl["bytes"]
        results["size"] = size

        check = run_json([binary, "scan", "--system", "raw", "--db", db, "--repeats", 0, "--check"], "scan check")
        readers = {"aitl": [binary, "scan", "--system", "aitl", "--db", db, "--repeats", args.read_repeats],
                   "raw": [binary, "scan", "--system", "raw", "--db", db, "--repeats", args.read_repeats],
                   "aitl-python": [sys.executable, Path(__file__).resolve(), "--worker", "read-aitl", "--db", db,
                                   "--repeats", args.read_repeats],
                   "python": [sys.executable, Path(__file__).resolve(), "--worker", "read", "--db", db,
                              "--repeats", max(2, args.read_repeats - 1)]}
        scans, skipped = {}, {}
        for r in range(args.read_rounds):
            names = [k for k in readers if k not in skipped]
            for name in names[r % len(names):] + names[:r % len(names)]:
                try:
                    res = run_json(readers[name], f"read {name}")
                except RuntimeError as e:
                    if name != "aitl-python":
                        raise
                    # optional: needs `import aitl` (e.g. PYTHONPATH=<build>/python_pkg)
                    skipped[name] = str(e).strip().splitlines()[-1][:300]
                    continue
                scans.setdefault(name, []).append(res)
                print(f"[bench_store] read round {r + 1}/{args.read_rounds} {name:11} "
                      + ", ".join(f"{x['seconds']:.2f}" for x in res["reads"]) + " s", file=sys.stderr, flush=True)
        results["read"] = summarise_reads(scans, skipped, n, check)

        # appends to the filled store (its newest impressions), aitl and raw interleaved, durable
        scale = {}
        for r in range(args.read_rounds):
            for mode in ("one", "batch"):
                count = one_per_round if mode == "one" else batches_per_round * args.batch
                for system in (("aitl", "raw") if r % 2 == 0 else ("raw", "aitl")):
                    res = run_json([binary, "write", "--system", system, "--durability", "full", "--mode", mode,
                                    "--count", count, "--batch", args.batch, "--impressions", args.impressions,
                                    "--db", db, "--existing"], f"write {system} to the filled store")
                    scale.setdefault(("full", mode), {}).setdefault(system, []).append(res)
                    print(f"[bench_store] filled store: round {r + 1} {mode:5} {system:4} "
                          f"{res['annotations_per_s']:9.0f} annotations/s", file=sys.stderr, flush=True)
        results["write_to_filled_store"] = summarise_writes(scale)["full"]
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)

        # ---- where aitl's append time goes (steps of its write path vs the raw insert)
        prof = run_json([binary, "profile", "--db", work / "profile.db", "--count", 2000 if args.quick else 20000,
                         "--batch", args.batch, "--impressions", args.impressions], "store_bench profile")
        results["profile"] = {k: v for k, v in prof.items() if k not in ("sqlite_version", "aitl_version")}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    w = results["write"]
    cost = {mode: w["full"][mode].get("aitl", {}).get("cost_vs_raw") for mode in ("one", "batch")}
    results["targets"] = {
        "aitl_cost_vs_raw_max": 0.15,
        "durable_one_at_a_time_cost": cost["one"],
        "durable_one_at_a_time_holds": None if cost["one"] is None else cost["one"] <= 0.15,
        "durable_batch_cost": cost["batch"],
        "durable_batch_holds": None if cost["batch"] is None else cost["batch"] <= 0.15,
        "read_min_annotations_per_s": 500_000,
        "read_warm_annotations_per_s": results["read"]["aitl"]["warm_read_annotations_per_s"],
        "read_warm_holds": (results["read"]["aitl"]["warm_read_annotations_per_s"] or 0) >= 500_000,
        "read_first_annotations_per_s": results["read"]["aitl"]["first_read_annotations_per_s"],
        "read_first_holds": results["read"]["aitl"]["first_read_annotations_per_s"] >= 500_000,
    }
    results["machine"]["loadavg_at_end"] = list(os.getloadavg())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(markdown(results))
    return 0


def _pct(x):
    return "-" if x is None else f"{x * 100:+.0f}%"


def markdown(results) -> str:
    s, w, m = results["settings"], results["write"], results["machine"]
    load = m.get("loadavg_at_start")
    lines = [f"Feedback store, SQLite {results['versions'].get('sqlite_cpp')} in WAL mode on {m['filesystem']['fstype']} "
             f"({m['filesystem']['device']}), {m['cpus']} CPUs" + (f", load average {load[0]:.1f} at start" if load else "")
             + f"; fdatasync of 32 KB: p50 {m['fdatasync_32k_at_start']['p50_ms']:.2f} ms at start, "
             f"{m.get('fdatasync_32k_after_writes', {}).get('p50_ms', float('nan')):.2f} ms after the writes"
             + f"; annotations of {results['mix']['mean_json_bytes']:.0f} bytes as JSON on average; medians of "
             f"{s['rounds']} interleaved rounds ({s['rounds'] * s['one_at_a_time_per_round']:,} one-at-a-time appends and "
             f"{s['rounds'] * s['batches_per_round']:,} batches of {s['batch']} per system and durability, each "
             f"database starting with {s['impressions_per_write_db']:,} impressions). "
             "'vs raw' = extra time per annotation against plain SQLite from C++ (same schema, settings, rows), "
             "median over the rounds of the ratio within a round.\n",
             "| append | system | durable (full) annotations/s | ms per commit p50 / p99 | vs raw | "
             "normal annotations/s | vs raw |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for mode, title in (("one", "one at a time"), ("batch", f"batches of {s['batch']}")):
        for system in s["systems"]:
            f, n = w["full"][mode].get(system), w["normal"][mode].get(system)
            if not f:
                continue
            vs_f, vs_n = f.get("cost_vs_raw"), n.get("cost_vs_raw")
            lines.append(f"| {title} | {LABEL[system]} | {f['median_annotations_per_s']:,.0f} | "
                         f"{f['median_commit_p50_ms']:.2f} / {f['median_commit_p99_ms']:.2f} | "
                         f"{_pct(vs_f) if system != 'raw' else ''} | {n['median_annotations_per_s']:,.0f} | "
                         f"{_pct(vs_n) if system != 'raw' else ''} |")
    big = results.get("write_to_filled_store")
    if big:
        for mode, title in (("one", "one at a time"), ("batch", f"batches of {s['batch']}")):
            for system in ("aitl", "raw"):
                f = big[mode].get(system)
                if f:
                    lines.append(f"| {title}, to the filled store ({results['fill']['annotations']:,} annotations) | "
                                 f"{LABEL[system]} | {f['median_annotations_per_s']:,.0f} | "
                                 f"{f['median_commit_p50_ms']:.2f} / {f['median_commit_p99_ms']:.2f} | "
                                 f"{_pct(f.get('cost_vs_raw')) if system != 'raw' else ''} | | |")
    r, z = results["read"], results["size"]
    n = r["annotations"]
    lines += ["", f"Reading {n:,} annotations ({r.get('relevance_labels', 0):,} relevance labels) since watermark 0 "
              f"into memory, warm page cache: the first read of a fresh process (which also pays for the page faults "
              f"of new memory) and the later reads in it; medians of {s['read_rounds']} processes per system x "
              f"{s['read_repeats']} reads. Size after a checkpoint.\n",
              "| measurement | system | first read | later reads |", "|---|---|---:|---:|"]
    rows = [("aitl", "aitl annotations_since(0) (C++, vector<annotation>)"),
            ("raw", "plain SQLite (C++, same structs)"),
            ("aitl-python", "aitl SqliteStore.annotations_since(0) (Python objects)"),
            ("python", "Python sqlite3 fetchall (tuples)")]
    for key, label in rows:
        v = r.get(key, {})
        if "first_read_seconds" in v:
            warm = (f"{v['warm_read_annotations_per_s']:,.0f}/s ({v['warm_read_seconds']:.2f} s)"
                    if v.get("warm_read_seconds") else "-")
            lines.append(f"| read {n:,} | {label} | {v['first_read_annotations_per_s']:,.0f}/s "
                         f"({v['first_read_seconds']:.2f} s) | {warm} |")
        else:
            lines.append(f"| read {n:,} | {label} | not run: {v.get('skipped', '')} | |")
    lines += [f"| database size | annotation tables + indexes, per million annotations | "
              f"{z['annotation_tables_bytes_per_million'] / 1e6:,.0f} MB ({z['annotation_tables_to_json_ratio']:.2f}x "
              f"their JSON, {z['annotation_json_bytes_per_million'] / 1e6:,.0f} MB) | |",
              f"| database size | whole .db + WAL ({results['fill']['impressions']:,} impressions + {n:,} annotations) | "
              f"{z['db_plus_wal_bytes'] / 1e6:,.0f} MB ({z['db_to_jsonl_export_ratio']:.2f}x the JSONL export, "
              f"{results['jsonl_export']['bytes'] / 1e6:,.0f} MB) | |",
              f"| fill (aitl, normal, batches of 1,000) | impressions / annotations per second | "
              f"{results['fill']['impressions_per_s']:,.0f} / {results['fill']['annotations_per_s']:,.0f} | |"]
    t = results["targets"]
    ok = lambda b: "holds" if b else "MISSED"  # noqa: E731
    lines += ["", f"Targets: aitl's cost vs raw SQLite <= 15% for durable appends: one at a time "
              f"{_pct(t['durable_one_at_a_time_cost'])} ({ok(t['durable_one_at_a_time_holds'])}), "
              f"batches {_pct(t['durable_batch_cost'])} ({ok(t['durable_batch_holds'])}); read >= 500,000 "
              f"annotations/s: later reads {t['read_warm_annotations_per_s'] or 0:,.0f}/s ({ok(t['read_warm_holds'])}), "
              f"first read {t['read_first_annotations_per_s']:,.0f}/s ({ok(t['read_first_holds'])})."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
