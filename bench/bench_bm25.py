#!/usr/bin/env python3
"""BM25 benchmark: aitl.BM25 against Xapian (PyPI xapian-bindings-binary) and bm25s (PyPI).

Two corpora, side by side in one run:

* DSTC11 Track 5 validation (10,882 FAQ / review snippets, 2,129 queries made of the last
  three dialogue turns), converted with ``aitl.dstc11.convert``; recall@75 and precision@8
  against the gold knowledge (``aitl.evaluate``).
* A generated corpus (default 1,000,000 documents, ``--quick``: 100,000) over a Zipfian
  vocabulary of 200,000 pseudo-words (exponent 1.0, 10-70 words per document, seed 42);
  each query (20-40 words) takes 5-10 words of one target document plus Zipfian words, so
  recall@75 is the rate at which that target document is found.

Every system runs in its own subprocess (peak RSS from /proc/self/status VmHWM) with the
same settings: English Snowball stemmer, aitl's English stop list, k1 = 0.5, b = 0.75,
each distinct query term once, OR semantics, top 75. On DSTC11 Xapian also runs with its
defaults (BM25Weight k1 = 1, b = 0.5, no stop list, STEM_SOME, every query word) for
reference. Measured: corpus load time, index build time (including the first query, which
for aitl computes the norms), single-thread latency per query (mean, p50, p99, query
analysis included), batch throughput with the same number of workers for each system
(aitl: search_batch threads; bm25s: retrieve n_threads; Xapian: forked processes, since
one Xapian database object cannot serve several threads), recall@75.

Writes bench/results/bm25.json and prints a markdown table.

    .venv/bin/python bench/bench_bm25.py            # full run (several minutes)
    .venv/bin/python bench/bench_bm25.py --quick    # smaller corpus and query sets
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
K = 75
K1, B = 0.5, 0.75


# ------------------------------------------------------------------------------------------
# process memory
# ------------------------------------------------------------------------------------------

def _status_mb(key: str) -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> float:
    return _status_mb("VmRSS:")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM:")


# ------------------------------------------------------------------------------------------
# datasets
# ------------------------------------------------------------------------------------------

def pseudo_words(n: int):
    """n distinct pronounceable words (consonant-vowel syllables), none an English stop word."""
    cons, vows = "bdfgklmnprstvz", "aeiou"
    syllables = [c + v for c in cons for v in vows]
    out, i = [], 0
    while len(out) < n:
        x, w = i + len(syllables) ** 2, ""
        while x:
            w += syllables[x % len(syllables)]
            x //= len(syllables)
        out.append(w)
        i += 1
    return out


def generate_synthetic(out: Path, n_docs: int, n_queries: int, vocab: int = 200_000, s: float = 1.0,
                       seed: int = 42) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    words = np.array(pseudo_words(vocab), dtype=object)
    p = 1.0 / np.arange(1, vocab + 1) ** s
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    lengths = rng.integers(10, 71, size=n_docs)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tokens = np.searchsorted(cdf, rng.random(int(offsets[-1])))
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w") as f:
        for d in range(n_docs):
            f.write(json.dumps({"_id": f"d{d}", "title": "",
                                "text": " ".join(words[tokens[offsets[d]:offsets[d + 1]]])}) + "\n")
    with open(out / "queries.jsonl", "w") as fq, open(out / "qrels" / "test.tsv", "w") as fr:
        fr.write("query-id\tcorpus-id\tscore\n")
        for q in range(n_queries):
            d = int(rng.integers(n_docs))
            own = rng.choice(tokens[offsets[d]:offsets[d + 1]], size=int(rng.integers(5, 11)), replace=False)
            extra = np.searchsorted(cdf, rng.random(int(rng.integers(15, 31))))
            mixed = np.concatenate([own, extra])
            rng.shuffle(mixed)
            fq.write(json.dumps({"_id": f"q{q}", "text": " ".join(words[mixed])}) + "\n")
            fr.write(f"q{q}\td{d}\t1\n")


def read_queries(path: Path, limit: int | None):
    queries = []
    with open(path / "queries.jsonl") as f:
        for line in f:
            if line.strip():
                j = json.loads(line)
                queries.append((j["_id"], j["text"]))
    return queries[:limit] if limit else queries


def read_qrels(path: Path):
    qrels = {}
    with open(path / "qrels" / "test.tsv") as f:
        next(f)
        for line in f:
            q, d, s = line.split("\t")
            qrels.setdefault(q, {})[d] = int(s)
    return qrels


def read_corpus_plain(path: Path):
    ids, texts = [], []
    with open(path / "corpus.jsonl") as f:
        for line in f:
            if line.strip():
                j = json.loads(line)
                ids.append(j["_id"])
                texts.append(j["title"] + "\n" + j["text"] if j.get("title") else j["text"])
    return ids, texts


def latency_summary(seconds):
    ms = sorted(x * 1000.0 for x in seconds)
    p99 = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
    return {"mean_ms": statistics.fmean(ms), "p50_ms": statistics.median(ms), "p99_ms": p99}


# ------------------------------------------------------------------------------------------
# workers (one system per process)
# ------------------------------------------------------------------------------------------

def worker_aitl(data: Path, queries, threads: int, variant: str):
    import aitl

    t = time.perf_counter()
    kb = aitl.KnowledgeBase.load_beir(data)
    load = time.perf_counter() - t
    rss_loaded = rss_mb()
    t = time.perf_counter()
    bm = aitl.BM25(k1=K1, b=B)
    bm.add_documents(kb)
    bm.search("warm up", 1)  # the first search computes the length norms and impacts
    build = time.perf_counter() - t
    rss_built = rss_mb()
    texts = [q for _, q in queries]
    for q in texts[:20]:
        bm.search(q, K)
    lat, run = [], {}
    for qid, q in queries:
        t = time.perf_counter()
        hits = bm.search(q, K)
        lat.append(time.perf_counter() - t)
        run[qid] = [(h.id, h.score) for h in hits]
    t = time.perf_counter()
    batch = bm.search_batch(texts, K, threads=threads)
    batch_s = time.perf_counter() - t
    assert [[(h.id, h.score) for h in b] for b in batch] == [run[q] for q, _ in queries]
    stats = bm.stats()
    return dict(load_s=load, build_s=build, rss_after_load_mb=rss_loaded, rss_after_build_mb=rss_built,
                latency=latency_summary(lat), batch_qps=len(texts) / batch_s, run=run, index=stats)


def _xapian_setup(variant: str):
    import xapian

    import aitl

    tg = xapian.TermGenerator()
    tg.set_stemmer(xapian.Stem("english"))
    qp = xapian.QueryParser()
    qp.set_stemmer(xapian.Stem("english"))
    qp.set_default_op(xapian.Query.OP_OR)
    if variant == "default":
        weight = xapian.BM25Weight(1.0, 0, 1, 0.5, 0.5)
        unique = False
    else:
        tg.set_stemming_strategy(xapian.TermGenerator.STEM_ALL)
        qp.set_stemming_strategy(xapian.QueryParser.STEM_ALL)
        stopper = xapian.SimpleStopper()
        for w in aitl.english_stopwords():
            stopper.add(w)
        tg.set_stopper(stopper)
        tg.set_stopper_strategy(xapian.TermGenerator.STOP_ALL)
        qp.set_stopper(stopper)
        _xapian_setup.keep = stopper  # the parser keeps a raw pointer
        weight = xapian.BM25Weight(K1, 0, 1, B, 0.5)
        unique = True
    return tg, qp, weight, unique


_X = {}


def _xapian_query(text):
    import xapian

    query = _X["qp"].parse_query(text, 0)
    if _X["unique"]:
        query = xapian.Query(xapian.Query.OP_OR, sorted(set(query)))
    _X["enquire"].set_query(query)
    ids = _X["ids"]
    return [(ids[m.docid - 1], m.weight) for m in _X["enquire"].get_mset(0, K)]


def _xapian_chunk(texts):
    return [_xapian_query(t) for t in texts]


def worker_xapian(data: Path, queries, threads: int, variant: str):
    import multiprocessing

    import xapian

    t = time.perf_counter()
    ids, texts = read_corpus_plain(data)
    load = time.perf_counter() - t
    rss_loaded = rss_mb()
    tg, qp, weight, unique = _xapian_setup(variant)
    t = time.perf_counter()
    db = xapian.WritableDatabase("", xapian.DB_BACKEND_INMEMORY)
    for text in texts:
        doc = xapian.Document()
        tg.set_document(doc)
        tg.index_text(text)
        db.add_document(doc)
    db.commit()
    qp.set_database(db)
    enquire = xapian.Enquire(db)
    enquire.set_weighting_scheme(weight)
    _X.update(qp=qp, enquire=enquire, unique=unique, ids=ids)
    _xapian_query("warm up")
    build = time.perf_counter() - t
    rss_built = rss_mb()
    del texts
    qtexts = [q for _, q in queries]
    for q in qtexts[:20]:
        _xapian_query(q)
    lat, run = [], {}
    for qid, q in queries:
        t = time.perf_counter()
        hits = _xapian_query(q)
        lat.append(time.perf_counter() - t)
        run[qid] = hits
    # batch: `threads` forked processes share the in-memory database copy-on-write
    chunks = [qtexts[i::threads] for i in range(threads)]
    with multiprocessing.get_context("fork").Pool(threads) as pool:
        pool.map(_xapian_chunk, [["warm up"]] * threads)
        t = time.perf_counter()
        pool.map(_xapian_chunk, chunks)
        batch_s = time.perf_counter() - t
    return dict(load_s=load, build_s=build, rss_after_load_mb=rss_loaded, rss_after_build_mb=rss_built,
                latency=latency_summary(lat), batch_qps=len(qtexts) / batch_s, run=run,
                index={"documents": db.get_doccount()})


def worker_bm25s(data: Path, queries, threads: int, variant: str):
    import bm25s
    import Stemmer

    import aitl

    stop = aitl.english_stopwords()
    stemmer = Stemmer.Stemmer("english")
    t = time.perf_counter()
    ids, texts = read_corpus_plain(data)
    load = time.perf_counter() - t
    rss_loaded = rss_mb()

    def tokens(batch):  # bm25s tokenizer, aitl's stop list, each distinct term once per query
        toks = bm25s.tokenize(batch, stopwords=stop, stemmer=stemmer, return_ids=False, show_progress=False)
        return [list(dict.fromkeys(x)) for x in toks]

    t = time.perf_counter()
    corpus_tokens = bm25s.tokenize(texts, stopwords=stop, stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
    retriever.index(corpus_tokens, show_progress=False)
    del corpus_tokens, texts
    retriever.retrieve(tokens(["warm up"]), k=K, show_progress=False)
    build = time.perf_counter() - t
    rss_built = rss_mb()
    known = retriever.vocab_dict

    def search(batch, n_threads=0):
        toks = [[w for w in q if w in known] or [""] for q in tokens(batch)]
        docs, scores = retriever.retrieve(toks, k=K, show_progress=False, n_threads=n_threads)
        return [[(ids[d], float(s)) for d, s in zip(row_d, row_s) if s > 0] for row_d, row_s in zip(docs, scores)]

    qtexts = [q for _, q in queries]
    for q in qtexts[:20]:
        search([q])
    lat, run = [], {}
    for qid, q in queries:
        t = time.perf_counter()
        hits = search([q])[0]
        lat.append(time.perf_counter() - t)
        run[qid] = hits
    t = time.perf_counter()
    search(qtexts, n_threads=threads)
    batch_s = time.perf_counter() - t
    return dict(load_s=load, build_s=build, rss_after_load_mb=rss_loaded, rss_after_build_mb=rss_built,
                latency=latency_summary(lat), batch_qps=len(qtexts) / batch_s, run=run,
                index={"documents": len(ids)})


WORKERS = {"aitl": worker_aitl, "xapian": worker_xapian, "bm25s": worker_bm25s}


def run_worker(args) -> None:
    system, _, variant = args.worker.partition(":")
    data = Path(args.data)
    queries = read_queries(data, args.max_queries)
    out = WORKERS[system](data, queries, args.threads, variant)
    out["peak_rss_mb"] = peak_rss_mb()
    with open(args.result, "w") as f:
        json.dump(out, f)


# ------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------

def cpp_binary():
    """bench/bm25_search.cpp built by bench/run.sh (AITL_BENCH_BIN) or in a build folder."""
    candidates = []
    if os.environ.get("AITL_BENCH_BIN"):
        candidates.append(Path(os.environ["AITL_BENCH_BIN"]) / "bm25_search")
    candidates += sorted(REPO.glob("build/*/bench/bm25_search"))
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def spawn_cpp(binary: Path, data: Path, max_queries: int | None, threads: int, work: Path) -> dict:
    run_file = work / f"run_cpp_{data.name}.json"
    t = time.perf_counter()
    proc = subprocess.run([str(binary), str(data), str(max_queries or 0), str(threads), str(run_file)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} on {data.name} failed:\n{proc.stdout}\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    with open(run_file) as f:
        out["run"] = json.load(f)
    out["wall_s"] = time.perf_counter() - t
    return out


def spawn(system: str, data: Path, max_queries: int | None, threads: int, work: Path) -> dict:
    if system == "aitl-cpp":
        return spawn_cpp(cpp_binary(), data, max_queries, threads, work)
    result = work / f"result_{system.replace(':', '_')}_{data.name}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", system, "--data", str(data),
           "--threads", str(threads), "--result", str(result)]
    if max_queries:
        cmd += ["--max-queries", str(max_queries)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{system} on {data.name} failed:\n{proc.stdout}\n{proc.stderr}")
    with open(result) as f:
        out = json.load(f)
    out["wall_s"] = time.perf_counter() - t
    return out


def evaluate(qrels, run):
    import aitl

    subset = {q: r for q, r in qrels.items() if q in run}
    pairs = {q: [(h[0], float(h[1])) for h in hits] for q, hits in run.items()}
    metrics = aitl.evaluate(subset, pairs, [f"recall@{K}", "precision@8"]).mean
    return metrics[f"recall@{K}"], metrics["precision@8"]


def overlap(run_a, run_b):
    """Mean |top-k(a) ∩ top-k(b)| / max(|top-k(a)|, 1) over the queries."""
    vals = []
    for q, hits in run_a.items():
        a = {h[0] for h in hits}
        b = {h[0] for h in run_b.get(q, [])}
        vals.append(len(a & b) / max(len(a), 1))
    return statistics.fmean(vals) if vals else 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k generated documents, fewer queries")
    ap.add_argument("--docs", type=int, help="generated corpus size (default 1,000,000; quick 100,000)")
    ap.add_argument("--queries", type=int, help="generated queries (default 200; quick 100)")
    ap.add_argument("--dstc11-queries", type=int, help="DSTC11 queries to time (default all 2,129; quick 500)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="batch workers for every system")
    ap.add_argument("--systems", default="aitl,aitl-cpp,xapian,bm25s",
                    help="aitl (Python API), aitl-cpp (bench/bm25_search.cpp, when built), xapian, bm25s")
    ap.add_argument("--data-dir", default=os.environ.get("AITL_DATA_DIR", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--out", default=str(HERE / "results" / "bm25.json"))
    ap.add_argument("--work", help="folder for the converted corpora (default: a temporary folder)")
    # worker mode (internal)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--max-queries", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0

    import aitl
    from aitl import dstc11

    n_docs = args.docs or (100_000 if args.quick else 1_000_000)
    n_queries = args.queries or (100 if args.quick else 200)
    dstc_queries = args.dstc11_queries or (500 if args.quick else None)
    systems = [s for s in args.systems.split(",") if s]
    if "aitl-cpp" in systems and cpp_binary() is None:
        print("[bench_bm25] bm25_search not built (cmake -DAITL_BUILD_BENCH=ON): skipping aitl-cpp", file=sys.stderr)
        systems.remove("aitl-cpp")
    tmp = None
    if args.work:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="aitl_bench_bm25_")
        work = Path(tmp.name)

    print(f"[bench_bm25] preparing data in {work}", file=sys.stderr)
    dstc = work / "dstc11"
    if not (dstc / "corpus.jsonl").exists():
        dstc11.convert(Path(args.data_dir) / "dstc11-track5", dstc, history_turns=3)
    synth = work / f"zipf_{n_docs}"
    if not (synth / "corpus.jsonl").exists():
        t = time.perf_counter()
        generate_synthetic(synth, n_docs, n_queries)
        print(f"[bench_bm25] generated {n_docs:,} documents in {time.perf_counter() - t:.1f} s", file=sys.stderr)

    results = {"k": K, "k1": K1, "b": B, "threads": args.threads,
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                           "python": platform.python_version(), "loadavg_at_start": list(os.getloadavg())},
               "versions": {"aitl": aitl.__version__}, "datasets": {}}
    try:
        import xapian
        results["versions"]["xapian"] = xapian.version_string()
    except ImportError:
        pass
    try:
        import bm25s
        results["versions"]["bm25s"] = bm25s.__version__
    except ImportError:
        pass

    plan = [("dstc11", dstc, dstc_queries, systems + (["xapian:default"] if "xapian" in systems else [])),
            (f"zipf-{n_docs // 1000}k", synth, None, systems)]
    for name, path, limit, which in plan:
        qrels = read_qrels(path)
        rows = {}
        for system in which:
            print(f"[bench_bm25] {name}: {system} ...", file=sys.stderr, flush=True)
            r = spawn(system, path, limit, args.threads, work)
            r["recall@75"], r["precision@8"] = evaluate(qrels, r["run"])
            rows[system] = r
            print(f"[bench_bm25]   build {r['build_s']:.2f} s, {r['latency']['mean_ms']:.3f} ms/query, "
                  f"{r['batch_qps']:.0f} q/s batch, recall@75 {r['recall@75']:.4f}, peak RSS "
                  f"{r['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
        if "aitl" in rows:
            for system, r in rows.items():
                r["top75_overlap_with_aitl"] = overlap(rows["aitl"]["run"], r["run"])
        for r in rows.values():
            r.pop("run")
        results["datasets"][name] = {"documents": rows[which[0]]["index"]["documents"],
                                     "queries": len(read_queries(path, limit)), "systems": rows}
    results["machine"]["loadavg_at_end"] = list(os.getloadavg())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(markdown(results))
    if tmp:
        tmp.cleanup()
    return 0


def markdown(results) -> str:
    load = results["machine"].get("loadavg_at_start")
    lines = [f"BM25, top {results['k']}, k1 = {results['k1']}, b = {results['b']}, "
             f"batch with {results['threads']} workers per system on {results['machine']['cpus']} CPUs"
             + (f" (load average {load[0]:.1f} at start)" if load else "") +
             "; index MB = RSS after build - RSS after loading the corpus; 'aitl faster by' = mean latency "
             "/ aitl's (Python API)\n",
             "| corpus | system | build s | index MB | peak RSS MB | mean ms | p99 ms | batch q/s | recall@75 | "
             "aitl faster by |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, ds in results["datasets"].items():
        ours = ds["systems"].get("aitl")
        for system, r in ds["systems"].items():
            speed = ours and r["latency"]["mean_ms"] / ours["latency"]["mean_ms"]
            index_mb = r.get("rss_after_build_mb", 0) - r.get("rss_after_load_mb", 0)
            lines.append(f"| {name} ({ds['documents']:,} docs) | {system} | {r['build_s']:.2f} | {index_mb:.0f} | "
                         f"{r['peak_rss_mb']:.0f} | {r['latency']['mean_ms']:.3f} | {r['latency']['p99_ms']:.3f} | "
                         f"{r['batch_qps']:.0f} | {r['recall@75']:.4f} | "
                         f"{'%.1fx' % speed if speed else '-'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
