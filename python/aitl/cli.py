"""The ``aitl`` command line (also ``python -m aitl``).

::

    aitl convert dstc11 SRC_DIR OUT_DIR [--history-turns 3]
    aitl eval --data BEIR_DIR --retriever {bm25,dense,hybrid} [--encoder {hashed,minilm}]
              [--index {hnsw,exact}] [--k 75] [--split test] [--run OUT.trec] [--threads N]

``convert`` prints the counts as one JSON line. ``eval`` indexes the corpus, searches every
judged query of the split one at a time (timing each search), and prints as its last line one
JSON object with the mean metrics, the query and document counts and the per-query latency.
Progress bars go to stderr (``--quiet`` turns them off). Errors print one line to stderr and
exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

METRICS = ["recall@8", "recall@10", "recall@75", "precision@8", "precision@10",
           "precision@75", "ndcg@10", "mrr@10", "map"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aitl", description="aitl: Agent-in-the-Loop data flywheel "
                                "for LLM-based customer support.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"aitl {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    conv = sub.add_parser("convert", help="convert a public dataset into a BEIR folder")
    conv_sub = conv.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    d11 = conv_sub.add_parser("dstc11", help="DSTC11 Track 5 (knowledge.json + val/) -> BEIR",
                              description="Convert DSTC11 Track 5 validation data into a BEIR "
                              "folder (corpus.jsonl, queries.jsonl, qrels/test.tsv, groups.tsv, "
                              "responses.jsonl); prints the counts as one JSON line.")
    d11.add_argument("src_dir", metavar="SRC_DIR", help="folder with knowledge.json and val/")
    d11.add_argument("out_dir", metavar="OUT_DIR", help="output BEIR folder (created)")
    d11.add_argument("--history-turns", type=int, default=3, metavar="N",
                     help="last N dialogue turns form the query text (default 3)")

    ev = sub.add_parser("eval", help="index a BEIR corpus, search its queries, print metrics",
                        description="Index a BEIR corpus, search every judged query of a split "
                        "one at a time and print the metrics as one JSON line (the last line).")
    ev.add_argument("--data", required=True, metavar="BEIR_DIR", help="BEIR folder")
    ev.add_argument("--retriever", required=True, choices=["bm25", "dense", "hybrid"],
                    help="bm25; dense (encoder + vector index); hybrid (bm25 + dense, RRF)")
    ev.add_argument("--encoder", choices=["hashed", "minilm"], default="hashed",
                    help="encoder of dense/hybrid: hashed n-gram encoder (no weights, default) "
                    "or all-MiniLM-L6-v2 (needs aitl[models])")
    ev.add_argument("--index", choices=["hnsw", "exact"], default="hnsw",
                    help="vector index of dense/hybrid (default hnsw: M=16, ef_construction=200, "
                    "ef=max(100, k))")
    ev.add_argument("--k", type=int, default=75, help="hits per query (default 75)")
    ev.add_argument("--split", default="test", help="qrels split (default test)")
    ev.add_argument("--run", metavar="OUT.trec", help="also write the run in TREC format")
    ev.add_argument("--threads", type=int, default=0, metavar="N",
                    help="torch threads of the MiniLM encoder (default 0 = torch's default, "
                    "one per core); searches always run one query at a time")
    ev.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    return p


def _progress(quiet: bool, **kw: Any):
    from tqdm.auto import tqdm

    return tqdm(file=sys.stderr, disable=quiet, dynamic_ncols=True, **kw)


def _encoder(name: str, threads: int):
    if name == "minilm":
        from .minilm import MiniLMEncoder

        encoder = MiniLMEncoder(show_progress=False)  # first: it sets torch's environment
        if threads > 0:
            import torch

            torch.set_num_threads(threads)
        return encoder
    from . import HashedEncoder

    return HashedEncoder()


def _build(args: argparse.Namespace, kb) -> Any:
    """The retriever named on the command line, with the corpus indexed (progress on stderr)."""
    import aitl

    docs = list(kb)
    parts: List[Any] = []
    if args.retriever in ("bm25", "hybrid"):
        parts.append(("BM25", aitl.BM25()))
    if args.retriever in ("dense", "hybrid"):
        dense = aitl.DenseRetriever(_encoder(args.encoder, args.threads), index=args.index,
                                    ef=max(100, args.k))
        parts.append((f"dense ({args.encoder}, {args.index})", dense))
    chunk = 512
    for label, r in parts:
        with _progress(args.quiet, total=len(docs), desc=f"indexing {label}", unit="doc") as bar:
            for start in range(0, len(docs), chunk):
                r.add_documents(docs[start:start + chunk])
                bar.update(min(chunk, len(docs) - start))
    if args.retriever == "hybrid":
        return aitl.HybridRetriever(parts[0][1], parts[1][1], method="rrf", rrf_k=60,
                                    depth=max(100, args.k))
    return parts[0][1]


def _percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return 0.0
    s = sorted(values)
    rank = max(1, -(-len(s) * q // 100))  # ceil(n*q/100)
    return float(s[int(rank) - 1])


def _eval(args: argparse.Namespace) -> int:
    import aitl
    from . import beir

    if args.k < 1:
        raise aitl.ConfigError(f"eval: --k must be positive (got {args.k}, expected >= 1)")
    if args.threads < 0:
        raise aitl.ConfigError(f"eval: --threads must be >= 0 (got {args.threads})")
    ds = beir.load(args.data, split=args.split)
    retriever = _build(args, ds.kb)
    run: Dict[str, List[Any]] = {}
    latencies: List[float] = []
    qids = [q for q in ds.queries]
    with _progress(args.quiet, total=len(qids), desc="searching", unit="query") as bar:
        for qid in qids:
            text = ds.queries[qid]
            t0 = time.perf_counter()
            hits = retriever.search(text, args.k)
            latencies.append((time.perf_counter() - t0) * 1000.0)
            run[qid] = hits
            bar.update(1)
    metrics = list(dict.fromkeys(METRICS + [f"recall@{args.k}", f"precision@{args.k}"]))
    result = aitl.evaluate(ds.qrels, run, metrics=metrics)
    if args.run:
        aitl.write_trec_run(args.run, run, tag=f"aitl-{args.retriever}")
    out: Dict[str, Any] = {m: round(float(result.mean[m]), 6) for m in metrics}
    out.update({
        "queries": len(qids),
        "documents": len(ds.kb),
        "latency_ms_mean": round(sum(latencies) / max(1, len(latencies)), 4),
        "latency_ms_p99": round(_percentile(latencies, 99), 4),
        "retriever": args.retriever,
        "encoder": args.encoder if args.retriever != "bm25" else None,
        "index": args.index if args.retriever != "bm25" else None,
        "k": args.k,
        "split": args.split,
    })
    print(json.dumps(out), flush=True)
    return 0


def _convert(args: argparse.Namespace) -> int:
    from . import dstc11

    counts = dstc11.convert(args.src_dir, args.out_dir, history_turns=args.history_turns)
    print(json.dumps(counts), flush=True)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 usage or data error)."""
    args = _parser().parse_args(argv)
    try:
        import aitl

        try:
            if args.command == "convert":
                return _convert(args)
            return _eval(args)
        except (aitl.AitlError, OSError, ImportError) as e:
            print(f"aitl {args.command}: error: {e}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        print("aitl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
