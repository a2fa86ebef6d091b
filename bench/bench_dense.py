#!/usr/bin/env python3
"""Dense retrieval benchmark, every implementation measured side by side in one run.

Exact search (1,000 queries over 100,000 x 384 float32, k = 10 and 75):
    aitl ExactIndex (Python and C++) vs faiss IndexFlatIP (PyPI faiss-cpu) vs numpy
    (matmul + argpartition), with the same thread counts (1 and --threads).
HNSW (M = 16, ef_construction = 200, k = 75, several ef):
    aitl C++ API (bench/hnsw_bench, run by this script) and aitl Python batch API vs the
    hnswlib PyPI package: build time, and queries/s at equal recall@75 (against exact
    ground truth).

Data: seeded, L2-normalised vectors from a 32-dimensional Gaussian latent space mapped to
384 dimensions plus isotropic noise (a low intrinsic dimension, like sentence embeddings),
so that HNSW recall is meaningful.

Timed runs of the implementations are interleaved (repeat by repeat; the C++ program is run
once per repeat, searching an index it built and saved) so that machine noise hits them
alike; the best of --repeat runs is kept. When faiss's bundled OpenBLAS does not recognise
the CPU (it then runs a generic kernel), faiss is measured again in a child process with
OPENBLAS_CORETYPE set to the kernel numpy's OpenBLAS picks; ratios are against the best faiss.

Writes bench/results/dense.json and prints markdown tables.
    python bench/bench_dense.py            # full size (a few minutes)
    python bench/bench_dense.py --quick    # 20,000 vectors, 200 queries
The C++ program is looked up in --bin, $AITL_BENCH_BIN (a file or a folder), then build/*/bench.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ data


def make_data(n: int, nq: int, d: int, seed: int, latent: int = 32, noise: float = 0.1):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((latent, d)).astype(np.float32)

    def draw(m: int) -> np.ndarray:
        z = rng.standard_normal((m, latent)).astype(np.float32)
        x = z @ mix + noise * np.sqrt(latent) * rng.standard_normal((m, d)).astype(np.float32)
        return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)

    return draw(n), draw(nq)


def write_bin(path: Path, a: np.ndarray, dtype) -> None:
    with open(path, "wb") as f:
        np.asarray(a.shape, dtype=np.int32).tofile(f)
        np.ascontiguousarray(a, dtype=dtype).tofile(f)


def recall(got: np.ndarray, truth: np.ndarray, k: int) -> float:
    hits = sum(len(set(g[:k].tolist()) & set(t[:k].tolist())) for g, t in zip(got, truth))
    return hits / (len(truth) * k)


# ------------------------------------------------------------------------------ environment


def blas_info() -> list[dict]:
    try:
        import threadpoolctl

        return [
            {k: i.get(k) for k in ("internal_api", "prefix", "filepath", "version", "architecture", "num_threads")}
            for i in threadpoolctl.threadpool_info()
            if i.get("user_api") == "blas"
        ]
    except ImportError:
        return []


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def find_binary(arg: str | None) -> Path | None:
    candidates = [arg, os.environ.get("AITL_BENCH_BIN")]
    for c in candidates:
        if not c:
            continue
        p = Path(c)
        if p.is_dir():
            p = p / "hnsw_bench"
        if p.is_file():
            return p
    found = sorted(glob.glob(str(REPO / "build" / "*" / "bench" / "hnsw_bench")), key=os.path.getmtime)
    return Path(found[-1]) if found else None


# ------------------------------------------------------------------------------ exact search


def numpy_search(xb: np.ndarray, xq: np.ndarray, k: int, block: int = 200):
    labels = np.empty((len(xq), k), dtype=np.int64)
    scores = np.empty((len(xq), k), dtype=np.float32)
    for b in range(0, len(xq), block):
        s = xq[b : b + block] @ xb.T
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(s, idx, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        labels[b : b + block] = np.take_along_axis(idx, order, axis=1)
        scores[b : b + block] = np.take_along_axis(top, order, axis=1)
    return labels, scores


FAISS_WORKER = r"""
import json, sys, time, numpy as np, faiss
xb = np.load(sys.argv[1]); xq = np.load(sys.argv[2])
index = faiss.IndexFlatIP(xb.shape[1]); index.add(xb)
print("ready", flush=True)
for line in sys.stdin:
    t, k = map(int, line.split())
    faiss.omp_set_num_threads(t)
    t0 = time.perf_counter(); index.search(xq, k); dt = time.perf_counter() - t0
    print(json.dumps({"seconds": dt}), flush=True)
"""


def run_cpp(binary: Path, tmp: Path, *args: str) -> dict:
    """Runs the C++ benchmark program on the data files in `tmp`; returns its JSON."""
    cmd = [str(binary), "--base", str(tmp / "base.fbin"), "--queries", str(tmp / "queries.fbin"),
           "--gt", str(tmp / "gt.ibin"), *args]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


class FaissWorker:
    """faiss in a child process with OPENBLAS_CORETYPE set (it must be set before OpenBLAS loads)."""

    def __init__(self, xb_path: Path, xq_path: Path, coretype: str):
        env = dict(os.environ, OPENBLAS_CORETYPE=coretype)
        self.proc = subprocess.Popen([sys.executable, "-c", FAISS_WORKER, str(xb_path), str(xq_path)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("faiss worker did not start")

    def search_seconds(self, threads: int, k: int) -> float:
        self.proc.stdin.write(f"{threads} {k}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["seconds"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def bench_exact(xb, xq, truth, threads_list, ks, repeat, tmp: Path, log, binary=None):
    import aitl
    import faiss

    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover
        threadpoolctl = None

    aitl_index = aitl.ExactIndex(xb.shape[1], metric="ip")
    t0 = time.perf_counter()
    aitl_index.add(np.arange(len(xb)), xb)
    log(f"  aitl ExactIndex.add: {time.perf_counter() - t0:.2f} s")
    faiss_index = faiss.IndexFlatIP(xb.shape[1])
    faiss_index.add(xb)

    # faiss's bundled OpenBLAS may not recognise this CPU (it then runs a generic kernel): faiss
    # is also measured in a child process with OpenBLAS forced to the kernel numpy's picks.
    infos = blas_info()
    faiss_arch = next((i["architecture"] for i in infos if "faiss" in str(i.get("filepath"))), None)
    numpy_arch = next((i["architecture"] for i in infos if "numpy" in str(i.get("filepath"))), None)
    worker, tuned = None, None
    if numpy_arch and faiss_arch and faiss_arch != numpy_arch:
        np.save(tmp / "xb.npy", xb)
        np.save(tmp / "xq.npy", xq)
        worker = FaissWorker(tmp / "xb.npy", tmp / "xq.npy", numpy_arch)
        tuned = f"faiss (OPENBLAS_CORETYPE={numpy_arch})"

    rows = []
    for t in threads_list:
        for k in ks:
            seconds: dict[str, list[float]] = {}
            found: dict[str, np.ndarray] = {}

            def timed(name, fn):
                t1 = time.perf_counter()
                result = fn()
                seconds.setdefault(name, []).append(time.perf_counter() - t1)
                return result

            def run_aitl():
                found["aitl (Python)"] = timed("aitl (Python)", lambda: aitl_index.search(xq, k, threads=t))[0]

            def run_faiss():
                faiss.omp_set_num_threads(t)
                timed("faiss", lambda: faiss_index.search(xq, k))

            def run_numpy():
                if threadpoolctl is not None:
                    with threadpoolctl.threadpool_limits(limits=t, user_api="blas"):
                        found["numpy"] = timed("numpy", lambda: numpy_search(xb, xq, k))[0]
                else:
                    found["numpy"] = timed("numpy", lambda: numpy_search(xb, xq, k))[0]

            def run_tuned():
                seconds.setdefault(tuned, []).append(worker.search_seconds(t, k))

            def run_cpp_exact():
                res = run_cpp(binary, tmp, "--mode", "exact", "--search-threads", str(t), "--k-list", str(k),
                                  "--k", str(max(ks)), "--repeat", "1")["exact"][0]
                seconds.setdefault("aitl (C++)", []).append(len(xq) / res["qps"])
                found["aitl (C++) recall"] = res["recall"]

            runs = [run_aitl, run_faiss, run_numpy]
            if worker is not None:
                runs.append(run_tuned)
            if binary is not None:
                runs.append(run_cpp_exact)
            # Interleaved repeats, the order rotated each time, so that machine noise and
            # ordering effects hit every implementation alike.
            for r in range(repeat):
                for i in range(len(runs)):
                    runs[(i + r) % len(runs)]()
            for impl, ts in seconds.items():
                row = {"impl": impl, "threads": t, "k": k, "qps": len(xq) / min(ts)}
                if impl in found:
                    row["recall_vs_exact"] = recall(found[impl], truth, k)
                if impl == "aitl (C++)":
                    row["recall_vs_exact"] = found["aitl (C++) recall"]
                rows.append(row)
            log(f"  exact threads={t} k={k}: " + ", ".join(f"{r['impl']} {r['qps']:.0f} q/s" for r in rows[-len(seconds):]))
    if worker is not None:
        worker.close()
    return rows


# ------------------------------------------------------------------------------ HNSW


def bench_hnsw(xb, xq, truth, k, efs, build_threads, threads_list, repeat, build_rounds, binary, tmp: Path, log):
    import aitl
    import hnswlib

    out = {"build": [], "search": []}
    n, d = xb.shape

    # Builds: aitl C++ (a separate process that saves its index; its searches below load it),
    # aitl Python and hnswlib, same threads; `build_rounds` rounds in rotated order, best kept.
    cpp_index = tmp / "aitl_cpp.hnsw"
    built: dict[str, list[float]] = {}
    index = {}

    def build_cpp():
        res = run_cpp(binary, tmp, "--mode", "build", "--k", str(k), "--M", "16", "--ef-construction", "200",
                      "--threads", str(build_threads), "--index", str(cpp_index))
        built.setdefault("aitl (C++)", []).append(res["build_seconds"])
        out["cpp_simd"] = res.get("simd")

    def build_ours():
        index.pop("ours", None)
        ours = aitl.HnswIndex(d, metric="ip", M=16, ef_construction=200, max_elements=n, seed=100)
        t0 = time.perf_counter()
        ours.add(np.arange(n), xb, threads=build_threads)
        built.setdefault("aitl (Python)", []).append(time.perf_counter() - t0)
        index["ours"] = ours

    def build_theirs():
        index.pop("theirs", None)
        theirs = hnswlib.Index(space="ip", dim=d)
        theirs.init_index(max_elements=n, M=16, ef_construction=200, random_seed=100)
        t0 = time.perf_counter()
        theirs.add_items(xb, np.arange(n), num_threads=build_threads)
        built.setdefault("hnswlib", []).append(time.perf_counter() - t0)
        index["theirs"] = theirs

    builds = ([build_cpp] if binary is not None else []) + [build_ours, build_theirs]
    for r in range(build_rounds):
        for i in range(len(builds)):
            builds[(i + r) % len(builds)]()
    for impl in ("aitl (C++)", "aitl (Python)", "hnswlib"):
        if impl in built:
            out["build"].append({"impl": impl, "threads": build_threads, "seconds": min(built[impl]),
                                 "all_seconds": built[impl]})
    log("  build: " + ", ".join(f"{b['impl']} {b['seconds']:.1f} s" for b in out["build"]))
    ours, theirs = index["ours"], index["theirs"]

    for ef in efs:
        ours.ef = ef
        theirs.set_ef(ef)
        for t in threads_list:
            seconds: dict[str, list[float]] = {}
            found: dict[str, float] = {}

            def run_ours():
                t1 = time.perf_counter()
                labels, _ = ours.search(xq, k, threads=t)
                seconds.setdefault("aitl (Python)", []).append(time.perf_counter() - t1)
                found["aitl (Python)"] = recall(labels, truth, k)

            def run_theirs():
                t1 = time.perf_counter()
                labels, _ = theirs.knn_query(xq, k=k, num_threads=t)
                seconds.setdefault("hnswlib", []).append(time.perf_counter() - t1)
                found["hnswlib"] = recall(labels.astype(np.int64), truth, k)

            def run_cpp_search():
                res = run_cpp(binary, tmp, "--mode", "search", "--index", str(cpp_index), "--k", str(k),
                              "--ef", str(ef), "--search-threads", str(t), "--repeat", "1")["hnsw"][0]
                seconds.setdefault("aitl (C++)", []).append(len(xq) / res["qps"])
                found["aitl (C++)"] = res["recall"]

            runs = [run_ours, run_theirs] + ([run_cpp_search] if binary is not None else [])
            for r in range(repeat):  # interleaved, order rotated each repeat
                for i in range(len(runs)):
                    runs[(i + r) % len(runs)]()
            for impl in ("aitl (C++)", "aitl (Python)", "hnswlib"):
                if impl in seconds:
                    out["search"].append({"impl": impl, "ef": ef, "threads": t,
                                          "qps": len(xq) / min(seconds[impl]), "recall": found[impl]})
            log(f"  hnsw ef={ef} threads={t}: " + ", ".join(
                f"{r['impl']} {r['qps']:.0f} q/s (recall {r['recall']:.4f})"
                for r in out["search"] if r["ef"] == ef and r["threads"] == t))
    return out


def qps_at_recall(curve: list[dict], target: float) -> float | None:
    """Queries/s at `target` recall, interpolated linearly between the measured ef points."""
    pts = sorted((r["recall"], r["qps"]) for r in curve)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1:
            return q0 if r1 == r0 else q0 + (q1 - q0) * (target - r0) / (r1 - r0)
    for r, q in pts:
        if abs(r - target) < 1e-9:
            return q
    return None


def equal_recall(search: list[dict], threads_list) -> list[dict]:
    rows = []
    for t in threads_list:
        base = [r for r in search if r["impl"] == "hnswlib" and r["threads"] == t]
        for impl in ("aitl (C++)", "aitl (Python)"):
            curve = [r for r in search if r["impl"] == impl and r["threads"] == t]
            if not curve:
                continue
            for ref in base:
                q = qps_at_recall(curve, ref["recall"])
                same_ef = next((r for r in curve if r["ef"] == ref["ef"]), None)
                if q is None and same_ef is not None:
                    q = same_ef["qps"]  # outside our curve: compare at the same ef
                rows.append({"impl": impl, "threads": t, "ef": ref["ef"], "recall": ref["recall"],
                             "qps": q, "hnswlib_qps": ref["qps"], "ratio": q / ref["qps"] if q else None})
    return rows


# ------------------------------------------------------------------------------ report


def markdown(result: dict) -> str:
    lines = []
    d, m = result["data"], result["machine"]
    blas = "; ".join(f"{Path(str(b.get('filepath'))).parent.name}: OpenBLAS {b.get('version')} kernel {b.get('architecture')}"
                     for b in m.get("blas", []))
    lines.append(f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs; aitl SIMD level {m.get('aitl_simd')}; "
                 f"OPENBLAS_CORETYPE={m.get('OPENBLAS_CORETYPE')}; {blas}\n")
    lines.append(f"### Exact search: {d['queries']} queries over {d['n']:,} x {d['dim']} float32\n")
    lines.append("| implementation | threads | k | queries/s | vs best faiss |")
    lines.append("|---|---:|---:|---:|---:|")
    for r in result["exact"]:
        best_faiss = max(x["qps"] for x in result["exact"]
                         if x["impl"].startswith("faiss") and x["threads"] == r["threads"] and x["k"] == r["k"])
        lines.append(f"| {r['impl']} | {r['threads']} | {r['k']} | {r['qps']:.0f} | {r['qps'] / best_faiss:.2f}x |")
    h = result["hnsw"]
    lines.append(f"\n### HNSW (M=16, ef_construction=200, k={result['k']}): build\n")
    lines.append("| implementation | threads | seconds | vs hnswlib |")
    lines.append("|---|---:|---:|---:|")
    ref = next(b["seconds"] for b in h["build"] if b["impl"] == "hnswlib")
    for b in h["build"]:
        lines.append(f"| {b['impl']} | {b['threads']} | {b['seconds']:.1f} | {b['seconds'] / ref:.2f}x |")
    lines.append(f"\n### HNSW search: queries/s and recall@{result['k']} per ef\n")
    lines.append("| ef | threads | aitl C++ | aitl Python | hnswlib | recall aitl / hnswlib |")
    lines.append("|---:|---:|---:|---:|---:|---:|")
    keys = sorted({(r["ef"], r["threads"]) for r in h["search"]})
    for ef, t in keys:
        get = {r["impl"]: r for r in h["search"] if r["ef"] == ef and r["threads"] == t}
        c, p, l = get.get("aitl (C++)"), get.get("aitl (Python)"), get.get("hnswlib")
        lines.append(f"| {ef} | {t} | {c['qps']:.0f} | {p['qps']:.0f} | {l['qps']:.0f} | "
                     f"{p['recall']:.4f} / {l['recall']:.4f} |" if c else
                     f"| {ef} | {t} | - | {p['qps']:.0f} | {l['qps']:.0f} | {p['recall']:.4f} / {l['recall']:.4f} |")
    lines.append("\n### HNSW queries/s at equal recall (interpolated on our ef curve at hnswlib's recall)\n")
    lines.append("| implementation | threads | hnswlib ef | recall | queries/s | hnswlib queries/s | ratio |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for r in h["equal_recall"]:
        q = f"{r['qps']:.0f}" if r["qps"] else "-"
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "-"
        lines.append(f"| {r['impl']} | {r['threads']} | {r['ef']} | {r['recall']:.4f} | {q} | {r['hnswlib_qps']:.0f} | {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20,000 vectors, 200 queries")
    ap.add_argument("--threads", type=int, default=2, help="thread count compared (and 1)")
    ap.add_argument("--k", type=int, default=75)
    ap.add_argument("--ef", default="75,100,150,200,300")
    ap.add_argument("--repeat", type=int, default=0, help="timed repeats per implementation (best kept), default 3")
    ap.add_argument("--build-rounds", type=int, default=2, help="HNSW builds per implementation (best kept)")
    ap.add_argument("--bin", default=None, help="path of the hnsw_bench program (or its folder)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "dense.json"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import aitl

    n, nq, d = (20_000, 200, 384) if args.quick else (100_000, 1_000, 384)
    repeat = args.repeat or 3
    threads_list = sorted({1, args.threads})
    efs = [int(e) for e in args.ef.split(",")]
    binary = find_binary(args.bin)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    log(f"aitl {aitl.__version__} from {Path(aitl.__file__).parent}; hnsw_bench: {binary}")
    log(f"data: {n} x {d} + {nq} queries (seed {args.seed})")
    xb, xq = make_data(n, nq, d, args.seed)

    import faiss

    gt_index = faiss.IndexFlatIP(d)
    gt_index.add(xb)
    _, truth = gt_index.search(xq, max(args.k, 10))
    truth = truth.astype(np.int64)

    result = {
        "machine": {
            "cpu": cpu_name(), "logical_cpus": os.cpu_count(), "python": platform.python_version(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "blas": blas_info(),
            "numpy": np.__version__, "faiss": faiss.__version__,
        },
        "data": {"n": n, "queries": nq, "dim": d, "seed": args.seed,
                 "model": "32-d Gaussian latent x random 32x384 map + 0.1*sqrt(32) isotropic noise, L2-normalised"},
        "k": args.k, "threads": threads_list, "repeat": repeat, "build_rounds": args.build_rounds,
    }
    try:
        import hnswlib

        result["machine"]["hnswlib"] = getattr(hnswlib, "__version__", "?")
    except ImportError:
        pass

    with tempfile.TemporaryDirectory(prefix="aitl_bench_dense_") as tmpname:
        tmp = Path(tmpname)
        write_bin(tmp / "base.fbin", xb, np.float32)
        write_bin(tmp / "queries.fbin", xq, np.float32)
        write_bin(tmp / "gt.ibin", truth, np.int32)
        log("exact search")
        result["exact"] = bench_exact(xb, xq, truth, threads_list, sorted({10, args.k}), repeat, tmp, log, binary)
        log("hnsw")
        result["hnsw"] = bench_hnsw(xb, xq, truth, args.k, efs, args.threads, threads_list, repeat, args.build_rounds,
                                    binary, tmp, log)
    result["machine"]["aitl_simd"] = result["hnsw"].pop("cpp_simd", None)
    result["hnsw"]["equal_recall"] = equal_recall(result["hnsw"]["search"], threads_list)

    # Targets: exact >= 1.0x the best faiss; HNSW C++ >= 1.0x and Python >= 0.95x hnswlib at
    # equal recall; build <= 1.1x hnswlib.
    def exact_ratio(impl):
        out = []
        for r in result["exact"]:
            if r["impl"] == impl:
                f = max(x["qps"] for x in result["exact"] if x["impl"].startswith("faiss")
                        and x["threads"] == r["threads"] and x["k"] == r["k"])
                out.append(r["qps"] / f)
        return min(out) if out else None

    ratios = [r["ratio"] for r in result["hnsw"]["equal_recall"] if r["ratio"]]
    build_ref = next(b["seconds"] for b in result["hnsw"]["build"] if b["impl"] == "hnswlib")
    result["targets"] = {
        "exact_python_vs_best_faiss_min": exact_ratio("aitl (Python)"),
        "exact_cpp_vs_best_faiss_min": exact_ratio("aitl (C++)"),
        "hnsw_cpp_vs_hnswlib_min": min((r["ratio"] for r in result["hnsw"]["equal_recall"]
                                        if r["impl"] == "aitl (C++)" and r["ratio"]), default=None),
        "hnsw_python_vs_hnswlib_min": min((r["ratio"] for r in result["hnsw"]["equal_recall"]
                                           if r["impl"] == "aitl (Python)" and r["ratio"]), default=None),
        "build_vs_hnswlib_max": max(b["seconds"] / build_ref for b in result["hnsw"]["build"] if b["impl"] != "hnswlib"),
    }
    del ratios

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(markdown(result))
    print("\ntargets: " + json.dumps({k: (round(v, 3) if v else v) for k, v in result["targets"].items()}))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
