"""The ``aitl`` command line (also ``python -m aitl``).

::

    aitl convert dstc11 SRC_DIR OUT_DIR [--history-turns 3]
    aitl eval --data BEIR_DIR --retriever {bm25,dense,hybrid} [--encoder {hashed,minilm}]
              [--index {hnsw,exact}] [--k 75] [--split test] [--run OUT.trec] [--threads N]
    aitl simulate --data BEIR_DIR --store PATH --impressions N [--seed S] [--split test]
              [--withhold FRACTION] [--noise P] [--noise-spread S] [--select-probability P]
              [--missing-report-probability P] [--position-bias Q] [--skip-rate P]
              [--careless-share P] [--edit-probability P] [--agents N] [--batch 256]
              [--durability {full,normal}]
    aitl store stats PATH
    aitl store export PATH OUT.jsonl
    aitl store import IN.jsonl PATH
    aitl export FORMAT --store PATH --out FILE [--data BEIR_DIR] [--after-seq N]
              [--negatives N] [--fill {mine,drop}] [--k 100] [--split test] [--keep-ties]
    aitl learn --data BEIR_DIR --seed S --report OUT.json [--eval-fraction 0.5]
              [--base {bm25,hybrid-minilm}] [--encoder {hashed,minilm}] [--encoder-dir DIR]
              [--careless-share P]
    aitl scenario OUT_DIR [--seed S] [--products N] [--regions N] [--lexical-gap G] [...]
    aitl gaps --store PATH [--format {markdown,json}] [--out FILE] [--top 10] [--since SEQ]
              [--encoder {hashed,minilm}] [--min-size 2] [--threshold T] [--half-life-days 7]
    aitl flywheel [--data BEIR_DIR] [--rounds 5] [--seed S] [--store DIR] [--report OUT.json]
              [--plot OUT.png] [--gaps OUT.md] [--withhold F] [--test-fraction F]
              [--corrupt-round R]

``flywheel`` is the main job (:mod:`aitl.flywheel`): round 0 evaluates the base system, each
later round serves a batch of the feedback stream through the champion pipeline, lets the
simulated agents annotate, and runs the gated retraining cycle when the scheduler says so; it
prints the round table and writes the report, plot and knowledge-gap report. With no --data it
runs on the built-in scenario of :mod:`aitl.scenario`.

``convert`` prints the counts as one JSON line. ``eval`` indexes the corpus, searches every
judged query of the split one at a time (timing each search), and prints as its last line one
JSON object with the mean metrics, the query and document counts and the per-query latency.
``simulate`` serves N cases of the split (the judged queries in a seeded order, repeated when N
is larger) through the placeholder copilot :class:`aitl.sim.BaseSystem` (optionally with a
seeded fraction of the documents withheld from the served knowledge base), lets the simulated
agents of :mod:`aitl.sim` annotate each impression, and appends impressions and annotations to
the SQLite store in batches (one transaction each); impressions already in the store (same seed,
same ids) are skipped, so a rerun is idempotent and a larger N extends the run. It prints one
JSON line with the counts. ``store stats`` prints the store's counts per impression and
annotation type as one JSON object; ``store export`` writes the store as JSONL (a header line,
then impressions and annotations) and ``store import`` appends such a file (all or nothing);
both print their counts as one JSON line. ``export`` compiles the store's feedback (annotations
after ``--after-seq``) and writes one of the formats of :mod:`aitl.export` (trl-preference,
trl-kto, openai-dpo, sentence-transformers, flagembedding, beir-qrels: a folder, trec-run);
``--data`` supplies the document texts; it prints the counts as one JSON line.
``learn`` runs the offline lift experiment of :mod:`aitl.learn` (split the judged queries into a
feedback and an evaluation part, serve + annotate the feedback part, train encoder + ranker,
evaluate base vs trained on the held-out part with paired bootstrap intervals); it prints a table
and writes the report as JSON to ``--report``. ``--base hybrid-minilm`` serves and compares
against RRF(BM25, zero-shot all-MiniLM-L6-v2) and fine-tunes MiniLM on the feedback (the
``models`` extra); ``--encoder minilm`` does the latter over the BM25 base too.
Progress bars go to stderr (``--quiet`` turns them off). Errors print one line to stderr and
exit with status 2.

Before any work, every command checks its paths (nothing is written when one is refused): no
output may be, or be written over, a file the command reads (compared after resolving symbolic
and hard links; a folder output is compared file by file, so ``export beir-qrels --out`` into
its own ``--data`` folder is refused), no two outputs may write the same file, and each output
must be writable (its folder exists, it is not a folder, or for a folder output not a file).
Names that become part of a path (``--split``) must be plain names: no separator, ``..``,
absolute path or control character.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

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

    si = sub.add_parser("simulate", help="serve cases to simulated agents, store their feedback",
                        description="Serve cases of a BEIR split through the placeholder copilot "
                        "(BM25 top-75, 8 shown, two extractive replies), let simulated agents "
                        "annotate every impression and append impressions and annotations to a "
                        "SQLite store; prints the counts as one JSON line.")
    si.add_argument("--data", required=True, metavar="BEIR_DIR", help="BEIR folder")
    si.add_argument("--store", required=True, metavar="PATH", help="SQLite store (created if new)")
    si.add_argument("--impressions", required=True, type=int, metavar="N",
                    help="cases to serve (the split's queries in a seeded order, repeated)")
    si.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    si.add_argument("--split", default="test", help="qrels split (default test)")
    si.add_argument("--withhold", type=float, default=0.0, metavar="FRACTION",
                    help="share of documents left out of the served knowledge base (default 0)")
    defaults = _sim_defaults()
    for flag, field, metavar, text in _SIM_FLAGS:
        si.add_argument(flag, dest=field, type=int if field == "n_agents" else float,
                        default=defaults[field], metavar=metavar,
                        help=f"{text} (default {defaults[field]})")
    si.add_argument("--batch", type=int, default=256, metavar="N",
                    help="impressions per store transaction (default 256)")
    si.add_argument("--durability", choices=["full", "normal"], default="full",
                    help="SQLite synchronous mode of the store (default full)")
    si.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    st = sub.add_parser("store", help="inspect, export or import a feedback store",
                        description="Inspect, export or import an aitl SQLite feedback store.")
    st_sub = st.add_subparsers(dest="action", metavar="ACTION", required=True)
    ss = st_sub.add_parser("stats", help="print the counts per impression/annotation type",
                           description="Print the store's counts per impression and annotation "
                           "type and its watermarks as one JSON object.")
    ss.add_argument("path", metavar="PATH", help="SQLite store")
    se = st_sub.add_parser("export", help="write the store as JSONL",
                           description="Write the store as JSONL: a header line, the impressions, "
                           "then the annotations (seq order); prints the counts as one JSON line.")
    se.add_argument("path", metavar="PATH", help="SQLite store")
    se.add_argument("out", metavar="OUT.jsonl", help="JSONL file to write")
    si2 = st_sub.add_parser("import", help="append a JSONL export to a store",
                            description="Append the records of a JSONL export to a store (all or "
                            "nothing; created if new); prints the counts as one JSON line.")
    si2.add_argument("src", metavar="IN.jsonl", help="JSONL file written by 'aitl store export'")
    si2.add_argument("path", metavar="PATH", help="SQLite store")

    from .export import FORMATS

    ex = sub.add_parser("export", help="compile the store's feedback into a training/eval format",
                        description="Compile the feedback of a store (annotations after "
                        "--after-seq) and write it in a standard format; prints the counts as "
                        "one JSON line. Formats: trl-preference {prompt, chosen, rejected}; "
                        "trl-kto {prompt, completion, label}; openai-dpo {input.messages, "
                        "preferred_output, non_preferred_output}; sentence-transformers "
                        "{anchor, positive, negative_1..n}; flagembedding {query, pos, neg}; "
                        "beir-qrels (OUT is a folder: qrels/<split>.tsv, queries.jsonl, "
                        "corpus.jsonl with --data); trec-run (BM25 over --data for each judged "
                        "query).")
    ex.add_argument("format", metavar="FORMAT", choices=FORMATS,
                    help="one of " + ", ".join(FORMATS))
    ex.add_argument("--store", required=True, metavar="PATH", help="SQLite store (read only)")
    ex.add_argument("--out", required=True, metavar="FILE", help="file to write (a folder for "
                    "beir-qrels)")
    ex.add_argument("--data", metavar="BEIR_DIR", help="BEIR folder with the documents' texts "
                    "(needed by sentence-transformers, flagembedding, trec-run)")
    ex.add_argument("--after-seq", type=int, default=0, metavar="N",
                    help="only annotations with seq > N (default 0: all)")
    ex.add_argument("--negatives", type=int, default=1, metavar="N",
                    help="negatives per row of sentence-transformers (negative_1..N) and "
                    "at least per flagembedding row (default 1)")
    ex.add_argument("--fill", choices=["mine", "drop"], default="mine",
                    help="rows with fewer hard negatives than --negatives: add BM25-mined "
                    "negatives (default), or drop them")
    ex.add_argument("--k", type=int, default=100, help="hits per query of trec-run (default 100)")
    ex.add_argument("--split", default="test", help="qrels split name of beir-qrels (default test)")
    ex.add_argument("--keep-ties", action="store_true",
                    help="preference ties become two half-weight pairs (default: dropped)")

    le = sub.add_parser("learn", help="offline lift experiment: learn from simulated feedback",
                        description="Split the judged queries of the test qrels into a feedback "
                        "and an evaluation part by a protocol (--protocol), serve the feedback "
                        "part with the base system, let the simulated agents annotate it, train, "
                        "choose by cross-validation on the feedback what to serve (the base when "
                        "nothing beats it), and evaluate base, the popularity baseline and "
                        "trained on the held-out part (recall@75, precision@8, nDCG@10, MRR@10, "
                        "paired bootstrap 95%% intervals of the difference; split by whether a "
                        "query's gold documents got feedback). Prints a table; writes the report "
                        "as JSON.")
    le.add_argument("--data", required=True, metavar="BEIR_DIR", help="BEIR folder")
    le.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    le.add_argument("--report", required=True, metavar="OUT.json", help="JSON report to write")
    le.add_argument("--eval-fraction", type=float, default=0.5, metavar="F",
                    help="share of the queries (groups) held out for evaluation (default 0.5)")
    le.add_argument("--protocol", choices=["group", "cold", "entity", "time"], default="cold",
                    help="how feedback and evaluation queries are kept apart (aitl.protocols): "
                    "cold (default) = no evaluation query has a relevant document of a feedback "
                    "query; group = whole conversations only (documents may repeat, which "
                    "rewards memorising); entity = whole entities (a DSTC11 "
                    "hotel or restaurant, a scenario product line) held out with their "
                    "documents; time = by arrival order")
    le.add_argument("--disjoint-phrasings", action="store_true",
                    help="the data is a scenario written with `aitl scenario "
                    "--disjoint-phrasings`: feedback from its feedback side, evaluation from its "
                    "eval side (phrasing templates, nicknames and cities kept apart)")
    le.add_argument("--cross-encoder", action="store_true",
                    help="also train a cross-encoder reranker from the feedback (models extra; "
                    "slow on a CPU); served over the top 30 only if it beats the rest on a "
                    "held-out cold fold of the feedback")
    le.add_argument("--expand", action="store_true",
                    help="document expansion: the trained system's BM25 also indexes the "
                    "questions agents marked each document relevant for")
    le.add_argument("--control", choices=["none", "shuffled", "shuffled-keep-positions"],
                    default="none",
                    help="shuffled: train on relevance labels shuffled across queries and "
                    "shown positions (a control with no signal: no gain may survive it); "
                    "shuffled-keep-positions: across queries only (keeps the rank profile)")
    le.add_argument("--base", choices=["auto", "bm25", "hybrid-minilm"], default="auto",
                    help="base system serving the feedback and compared against, no reranker: "
                    "bm25, or hybrid-minilm = RRF of BM25 and the zero-shot all-MiniLM-L6-v2 "
                    "(needs the models extra; corpus embeddings cached in $AITL_CACHE_DIR or "
                    "~/.cache/aitl); auto (default): hybrid-minilm when the models extra is "
                    "installed, else bm25")
    le.add_argument("--encoder", choices=["hashed", "minilm"], default=None,
                    help="encoder trainer: hashed (the C++ hashed n-gram encoder) or minilm "
                    "(fine-tune all-MiniLM-L6-v2 with sentence-transformers, "
                    "MultipleNegativesRankingLoss with the agents' hard negatives, then "
                    "re-index; the hashed encoder is still trained for the ranker) "
                    "(default: hashed with --base bm25, minilm with --base hybrid-minilm)")
    le.add_argument("--encoder-dir", default=None, metavar="DIR",
                    help="keep the fine-tuned MiniLM versions in DIR/minilm-<hash> and reuse one "
                    "when base model, data, seed and settings are the same (default: a "
                    "temporary folder)")
    le.add_argument("--careless-share", type=float, default=None, metavar="P",
                    help="share of careless agents (random labels) (default 0)")
    le.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _scenario_parser(sub)
    _gaps_parser(sub)
    _flywheel_parser(sub)
    return p


# (flag, SimConfig field, metavar, help) of the agents' parameters exposed by `simulate`
_SIM_FLAGS = [
    ("--noise", "noise", "P", "mean flip rate of careful agents' labels"),
    ("--noise-spread", "noise_spread", "S", "agents' flip rates spread over noise +/- S"),
    ("--select-probability", "select_probability", "P",
     "an agent hand-selects a relevant document that was not shown"),
    ("--missing-report-probability", "missing_report_probability", "P",
     "an agent flags a case whose relevant documents are all missing from the KB"),
    ("--position-bias", "position_bias", "Q", "on equal replies, the left one is picked"),
    ("--skip-rate", "skip_rate", "P", "an agent leaves an annotation type out"),
    ("--careless-share", "careless_share", "P", "share of careless agents"),
    ("--edit-probability", "edit_probability", "P", "a fully grounded reply is edited before use"),
    ("--agents", "n_agents", "N", "number of simulated agents"),
]


def _sim_defaults() -> Dict[str, Any]:
    import dataclasses

    from .sim import SimConfig

    return {f.name: f.default for f in dataclasses.fields(SimConfig)}


# -- paths: checked before any work, so that nothing is written when one is refused --------------

_STORE_SIDE = ("-wal", "-shm", "-journal")  # the files SQLite keeps next to a store
_BEIR_OUT = ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "groups.tsv", "responses.jsonl")


class _Out(NamedTuple):
    """An output: a file, a SQLite store (with its side files) or a folder of ``files``."""

    option: str
    path: str
    kind: str = "file"  # "file", "store" or "folder"
    files: Tuple[str, ...] = ()

    def written(self) -> List[Tuple[str, str]]:
        """(path, what) of every file it writes; what names it in messages."""
        if self.kind == "folder":
            return [(os.path.join(self.path, f), f"{self.option}'s {f}") for f in self.files]
        out = [(self.path, self.option)]
        if self.kind == "store":
            out += [(self.path + s, f"{self.option}'s {os.path.basename(self.path + s)}")
                    for s in _STORE_SIDE]
        return out


def _beir_reads(option: str, folder: Optional[str], split: str = "test") -> List[Tuple[str, str]]:
    """(path, what) of the files a command reads from a BEIR folder (and scenario.json)."""
    if not folder:
        return []
    names = ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv", "groups.tsv",
             "responses.jsonl", "scenario.json")
    return [(os.path.join(folder, n), f"{option}'s {n}") for n in names]


def _store_reads(option: str, path: str) -> List[Tuple[str, str]]:
    return [(path, option)] + [(path + s, f"{option}'s {os.path.basename(path + s)}")
                               for s in _STORE_SIDE]


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: the same real path (symbolic links, .., case on
    case-insensitive systems), or, both existing, the same inode (hard links)."""
    if os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b)):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_writable(command: str, out: _Out) -> None:
    import aitl

    p, opt = out.path, out.option
    if out.kind != "folder":
        if os.path.isdir(p):
            raise aitl.IoError(f"{command}: {opt} is a folder (got {p!r}, expected a file path)")
        parent = os.path.dirname(os.path.abspath(p))
        if not os.path.isdir(parent):
            raise aitl.IoError(f"{command}: {opt} folder not found (got {p!r}, expected a file "
                               "in an existing folder)")
        if not os.access(parent, os.W_OK | os.X_OK) or (os.path.exists(p)
                                                         and not os.access(p, os.W_OK)):
            raise aitl.IoError(f"{command}: {opt} is not writable (got {p!r}, expected a file "
                               "path you may write)")
        return
    if os.path.exists(p) and not os.path.isdir(p):
        raise aitl.IoError(f"{command}: {opt} is a file (got {p!r}, expected a folder)")
    near = os.path.abspath(p)
    while not os.path.exists(near):  # the folder is created with its parents
        near = os.path.dirname(near)
    if not os.path.isdir(near):
        raise aitl.IoError(f"{command}: {opt} cannot be created: {near!r} is a file (got {p!r}, "
                           "expected a folder path)")
    if not os.access(near, os.W_OK | os.X_OK):
        raise aitl.IoError(f"{command}: {opt} is not writable (got {p!r}, expected a folder you "
                           "may write)")
    for f in out.files:
        fp = os.path.join(p, f)
        if os.path.isdir(fp) or (os.path.exists(os.path.dirname(fp))
                                 and not os.path.isdir(os.path.dirname(fp))):
            raise aitl.IoError(f"{command}: {opt} holds a folder or file in the way of {f} (got "
                               f"{fp!r}, expected a file path)")


def _check_paths(command: str, reads: Sequence[Tuple[str, str]], outs: Sequence[_Out]) -> None:
    """Refuse, before any work: an output that is (or, for a folder output, would write over) a
    file the command reads, two outputs that write one file, an output that cannot be written.

    :param reads: (path, what) of the files read (what names it in the message).
    :raises ConfigError: an output would overwrite an input or another output.
    :raises IoError: an output's folder is missing or not writable, a file/folder is in the way.
    """
    import aitl

    outs = [o for o in outs if o.path]
    written = [(o, path, what) for o in outs for path, what in o.written()]
    for o, path, what in written:
        for rpath, rwhat in reads:
            if _same_file(path, rpath):
                raise aitl.ConfigError(
                    f"{command}: {o.option} would overwrite the input {rwhat} (got {what} "
                    f"{path!r}, the same file as {rwhat} {rpath!r}; expected an output that is "
                    "not an input)")
    for i, (o, path, what) in enumerate(written):
        for o2, path2, what2 in written[i + 1:]:
            if o2.option != o.option and _same_file(path, path2):
                raise aitl.ConfigError(
                    f"{command}: {o.option} and {o2.option} write the same file (got {what} "
                    f"{path!r} and {what2} {path2!r}; expected different files)")
    for o in outs:
        _check_writable(command, o)


def _plain(command: str, option: str, value: str, example: str = "test") -> str:
    """``value`` when it is a plain file name (as export's check: no separator, .., control)."""
    from .export import check_plain_name

    return check_plain_name(value, f"{command}: {option}", example)


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
    _plain("eval", "--split", args.split)
    _check_paths("eval", _beir_reads("--data", args.data, args.split), [_Out("--run", args.run)])
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

    src = args.src_dir
    _check_paths("convert", [(os.path.join(src, f), f"SRC_DIR's {f}") for f in
                             ("knowledge.json", "val/logs.json", "val/labels.json")],
                 [_Out("OUT_DIR", args.out_dir, "folder", _BEIR_OUT)])
    counts = dstc11.convert(args.src_dir, args.out_dir, history_turns=args.history_turns)
    print(json.dumps(counts), flush=True)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    import aitl
    from . import beir, sim

    if args.impressions < 0:
        raise aitl.ConfigError(f"simulate: --impressions must be >= 0 (got {args.impressions})")
    if args.batch < 1:
        raise aitl.ConfigError(f"simulate: --batch must be positive (got {args.batch}, "
                               "expected >= 1)")
    config = sim.SimConfig(**{field: getattr(args, field) for _, field, _, _ in _SIM_FLAGS})
    _plain("simulate", "--split", args.split)
    _check_paths("simulate", _beir_reads("--data", args.data, args.split),
                 [_Out("--store", args.store, "store")])
    ds = beir.load(args.data, split=args.split)
    kept, withheld = sim.withhold(ds.kb.ids(), args.withhold, seed=args.seed)
    agents = sim.Simulator.from_dataset(ds, kb_doc_ids=kept, config=config, seed=args.seed)
    system = sim.BaseSystem(ds.kb, doc_ids=kept, seed=args.seed)
    counts: Dict[str, int] = {k: 0 for k in sim.KINDS}
    appended = skipped = 0
    cases = sim.case_stream(ds.queries, args.impressions, seed=args.seed)
    with aitl.SqliteStore(args.store, durability=args.durability) as store, \
            _progress(args.quiet, total=args.impressions, desc="simulating", unit="imp") as bar:
        while True:
            chunk = [c for _, c in zip(range(args.batch), cases)]
            if not chunk:
                break
            imps = system.serve_many(chunk)
            new = [imp for imp in imps if not store.contains_impression(imp["id"])]
            skipped += len(imps) - len(new)
            anns = agents.annotate_many(new)
            if new:
                store.append(new + anns)  # one transaction: impressions and their annotations
            appended += len(new)
            for a in anns:
                counts[a["type"]] += 1
            bar.update(len(chunk))
    out: Dict[str, Any] = {"impressions": appended, "skipped": skipped,
                           "annotations": sum(counts.values())}
    out.update(counts)
    out.update({
        "documents": len(kept), "withheld_documents": len(withheld),
        "cases_missing_knowledge": sum(agents.missing(q) for q in ds.queries),
        "agents": config.n_agents, "careless_agents": sum(a.careless for a in agents.agents),
        "seed": args.seed, "split": args.split, "store": str(args.store),
    })
    print(json.dumps(out), flush=True)
    return 0


def _open_existing(path: str, what: str):
    import aitl

    if not os.path.isfile(path):
        raise aitl.IoError(f"{what}: store not found (got {path}, expected an existing "
                           "SQLite store)")
    return aitl.SqliteStore(path, read_only=True)


def _store(args: argparse.Namespace) -> int:
    import aitl

    if args.action == "stats":
        with _open_existing(args.path, "stats") as store:
            out = store.stats().to_dict()
            out["schema_version"] = store.schema_version
        out["path"] = str(args.path)
    elif args.action == "export":
        _check_paths("store export", _store_reads("PATH", args.path), [_Out("OUT.jsonl", args.out)])
        with _open_existing(args.path, "export") as store:
            store.export_jsonl(args.out)
            st = store.stats().to_dict()
        out = {"impressions": st["impressions"], "annotations": st["annotations"],
               "out": str(args.out)}
    else:
        _check_paths("store import", [(args.src, "IN.jsonl")], [_Out("PATH", args.path, "store")])
        with aitl.SqliteStore(args.path) as store:
            out = {"imported": int(store.import_jsonl(args.src))}
            out.update(store.stats().to_dict())
        out["path"] = str(args.path)
    print(json.dumps(out), flush=True)
    return 0


def _export(args: argparse.Namespace) -> int:
    import aitl
    from . import export

    if args.after_seq < 0:
        raise aitl.ConfigError(f"export: --after-seq must be >= 0 (got {args.after_seq})")
    if args.negatives < 0:
        raise aitl.ConfigError(f"export: --negatives must be >= 0 (got {args.negatives})")
    _plain("export", "--split", args.split)
    reads = _store_reads("--store", args.store)
    if args.data:
        reads.append((os.path.join(args.data, "corpus.jsonl"), "--data's corpus.jsonl"))
    if args.format == "beir-qrels":
        files = (f"qrels/{args.split}.tsv", "queries.jsonl")
        out = _Out("--out", args.out, "folder", files + (("corpus.jsonl",) if args.data else ()))
    else:
        out = _Out("--out", args.out)
    _check_paths("export", reads, [out])
    kb = None
    if args.data:
        if not os.path.isdir(args.data):
            raise aitl.IoError(f"export: --data folder not found (got {args.data}, expected a "
                               "BEIR folder with corpus.jsonl)")
        kb = aitl.KnowledgeBase.load_beir(str(args.data))
    with _open_existing(args.store, "export") as store:
        out = export.export(args.format, store, args.out, kb=kb, after_seq=args.after_seq,
                            negatives=args.negatives, fill=args.fill, k=args.k,
                            split=args.split, keep_ties=args.keep_ties)
    out["store"] = str(args.store)
    print(json.dumps(out), flush=True)
    return 0


def _learn(args: argparse.Namespace) -> int:
    import aitl
    from . import learn
    from .sim import SimConfig

    if not os.path.isdir(args.data):
        raise aitl.IoError(f"learn: --data folder not found (got {args.data}, expected a BEIR "
                           "folder with corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    _check_paths("learn", _beir_reads("--data", args.data),
                 [_Out("--report", args.report), _Out("--encoder-dir", args.encoder_dir, "folder")])
    cfg = SimConfig(careless_share=args.careless_share) if args.careless_share is not None else None
    rep = learn.run_lift_experiment(args.data, seed=args.seed, eval_fraction=args.eval_fraction,
                                    base=args.base, sim_config=cfg, progress=not args.quiet,
                                    encoder=args.encoder, encoder_dir=args.encoder_dir,
                                    protocol=args.protocol, control=args.control,
                                    disjoint_phrasings=args.disjoint_phrasings,
                                    expand=args.expand, cross_encoder=args.cross_encoder)
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump(rep, f, indent=1)
        f.write("\n")
    print(learn.format_report(rep))
    print(f"report: {args.report}", flush=True)
    return 0


def _scenario_parser(sub: Any) -> None:
    sc = sub.add_parser("scenario", help="write the built-in support scenario as a BEIR folder",
                        description="Generate the built-in, seeded support scenario of "
                        "aitl.scenario (a fictional smart-home company's help centre, customer "
                        "conversations with a lexical gap, withheld topics) into OUT_DIR as a "
                        "BEIR folder (+ groups.tsv, responses.jsonl, scenario.json). Prints the "
                        "counts as one JSON line.")
    sc.add_argument("out_dir", metavar="OUT_DIR", help="output folder (files are overwritten)")
    sc.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    sc.add_argument("--company", default=None, metavar="NAME", help="company name (Lumora)")
    for flag, kind, meta, what in (
            ("--products", int, "N", "product lines, 1-19 (19)"),
            ("--regions", int, "N", "sales regions, 1-6 (6)"),
            ("--questions-per-article", float, "Q", "mean questions per article (3.3)"),
            ("--lexical-gap", float, "G", "share of colloquial questions, 0-1 (0.9)"),
            ("--typo-rate", float, "P", "typo chance per long word (0.03)"),
            ("--max-turns", int, "N", "customer turns per conversation at most (3)"),
            ("--withheld-groups", int, "N", "topic groups withheld from the KB, 0-4 (3)")):
        sc.add_argument(flag, type=kind, default=None, metavar=meta, help=what)
    sc.add_argument("--disjoint-phrasings", action="store_true",
                    help="word feedback and eval conversations from disjoint halves of the "
                    "phrasings (adds phrasing_side to queries.jsonl)")


def _scenario(args: argparse.Namespace) -> int:
    from . import scenario

    kw = {k: getattr(args, k) for k in ("company", "products", "regions",
                                        "questions_per_article", "lexical_gap", "typo_rate",
                                        "max_turns", "withheld_groups")
          if getattr(args, k) is not None}
    if args.disjoint_phrasings:
        kw["disjoint_phrasings"] = True
    _check_paths("scenario", [], [_Out("OUT_DIR", args.out_dir, "folder",
                                       _BEIR_OUT + ("scenario.json",))])
    counts = scenario.generate(args.out_dir, scenario.ScenarioConfig(seed=args.seed, **kw))
    print(json.dumps({"out_dir": str(args.out_dir), **counts}), flush=True)
    return 0


def _gaps_parser(sub: Any) -> None:
    ga = sub.add_parser("gaps", help="knowledge-gap report: clustered missing-knowledge flags",
                        description="Cluster the store's missing-knowledge flags and the "
                        "impressions where agents found nothing relevant (aitl.gap_report), rank "
                        "the clusters by a recency-weighted count and write the report as "
                        "Markdown (default) or JSON to stdout or --out.")
    ga.add_argument("--store", required=True, metavar="PATH", help="SQLite store (read only)")
    ga.add_argument("--format", choices=["markdown", "json"], default="markdown",
                    help="output format (default markdown)")
    ga.add_argument("--out", metavar="FILE", help="write the report here (default: stdout)")
    ga.add_argument("--top", type=int, default=10, metavar="N",
                    help="clusters to report (default 10, 0 = all)")
    ga.add_argument("--since", type=int, default=0, metavar="SEQ",
                    help="only annotations with seq > SEQ (default 0: all)")
    ga.add_argument("--encoder", choices=["hashed", "minilm"], default="hashed",
                    help="text encoder: hashed n-gram encoder (default) or all-MiniLM-L6-v2")
    ga.add_argument("--min-size", type=int, default=2, metavar="N",
                    help="smallest cluster reported (default 2)")
    ga.add_argument("--threshold", type=float, default=None, metavar="T",
                    help="average-link cosine threshold of merging (default 0.15)")
    ga.add_argument("--half-life-days", type=float, default=7.0, metavar="D",
                    help="recency half-life of the score (default 7)")


def _gaps(args: argparse.Namespace) -> int:
    import aitl

    if args.top < 0:
        raise aitl.ConfigError(f"gaps: --top must be >= 0 (got {args.top})")
    kw: Dict[str, Any] = {"max_clusters": args.top, "since": args.since,
                          "min_cluster_size": args.min_size,
                          "half_life_days": args.half_life_days}
    if args.threshold is not None:
        kw["similarity_threshold"] = args.threshold
    _check_paths("gaps", _store_reads("--store", args.store), [_Out("--out", args.out)])
    encoder = _encoder("minilm", 0) if args.encoder == "minilm" else None
    with _open_existing(args.store, "gaps") as store:
        report = aitl.gap_report(store, encoder, **kw)
    text = (json.dumps(report.to_dict(), indent=1) + "\n" if args.format == "json"
            else report.to_markdown())
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(json.dumps({"signals": report.signals, "clusters": len(report),
                          "watermark": report.watermark, "out": str(args.out)}), flush=True)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


def _flywheel_parser(sub: Any) -> None:
    fw = sub.add_parser("flywheel", help="the main job: run the feedback loop round by round",
                        description="Split the judged queries (by groups.tsv when present) into a "
                        "held-out test set, a frozen guard set and a feedback stream; withhold "
                        "knowledge; then round by round serve a batch of the stream through the "
                        "champion pipeline, let the simulated agents annotate, let the scheduler "
                        "decide, run the cycle (compile, train, evaluate, gate, promote or reject, "
                        "rebuild) and evaluate the champion on the test set. Prints the round "
                        "table; writes the report (JSON), the plot (PNG) and the knowledge-gap "
                        "report (Markdown). With no --data: the built-in support scenario.")
    fw.add_argument("--data", metavar="BEIR_DIR", default=None,
                    help="BEIR folder (default: the built-in scenario of aitl.scenario)")
    fw.add_argument("--rounds", type=int, default=5, metavar="N", help="feedback rounds (default 5)")
    fw.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    fw.add_argument("--store", metavar="PATH", default=None,
                    help="work folder for the SQLite store (store.db) and the model registry "
                    "(registry/); must be new or empty (default: a temporary folder)")
    fw.add_argument("--report", metavar="OUT.json", help="write the report as JSON")
    fw.add_argument("--plot", metavar="OUT.png", help="save the round plot (needs matplotlib: "
                    "pip install aitl[plot])")
    fw.add_argument("--gaps", metavar="OUT.md", help="write the knowledge-gap report as Markdown")
    fw.add_argument("--withhold", type=float, default=0.1, metavar="FRACTION",
                    help="share of documents withheld from the KB when the data names no gap "
                    "(default 0.1; the built-in scenario withholds its own topics)")
    fw.add_argument("--test-fraction", type=float, default=0.3, metavar="F",
                    help="share of query groups held out as the test set (default 0.3)")
    fw.add_argument("--corrupt-round", type=int, action="append", default=[], metavar="R",
                    help="invert the training labels of round R (the gate must reject that "
                    "challenger; repeatable)")
    fw.add_argument("--protocol", choices=["group", "cold", "entity", "time"], default="group",
                    help="how the test and guard queries are kept apart from the feedback stream "
                    "(aitl.protocols): group = whole conversations (default); cold = no test "
                    "query has a relevant document of a stream query; entity = whole entities "
                    "held out, their documents never shown to the stream; time = the stream "
                    "comes first")
    fw.add_argument("--disjoint-phrasings", action="store_true",
                    help="built-in scenario only: test and guard questions worded with phrasing "
                    "templates, nicknames and cities that no stream question uses")
    fw.add_argument("--quiet", "-q", action="store_true", help="no progress bars or logs")


def _plot_title(data: Any) -> str:
    """The plot's title, naming the data folder; its $ kept literal (matplotlib reads $...$ as
    math and fails on what it cannot parse, after the whole run)."""
    from pathlib import Path

    return "aitl flywheel: " + Path(data).name.replace("$", r"\$")


def _flywheel(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .flywheel import Flywheel, FlywheelConfig, format_table, plot_rounds

    from . import ConfigError

    for r in args.corrupt_round:  # round 0 is the base; rounds 1..N may retrain
        if not 1 <= r <= args.rounds:
            raise ConfigError(f"flywheel: --corrupt-round out of range (got {r}, expected a "
                              f"feedback round from 1 to --rounds {args.rounds})")
    work_files = tuple(f"{db}{side}" for db in ("store.db", "train.db", "holdout.db")
                       for side in ("",) + _STORE_SIDE)
    _check_paths("flywheel", _beir_reads("--data", args.data),
                 [_Out("--report", args.report), _Out("--plot", args.plot),
                  _Out("--gaps", args.gaps), _Out("--store", args.store, "folder", work_files)])
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ImportError("--plot needs matplotlib (pip install 'aitl[plot]')") from None
    if args.store:
        work = Path(args.store)
        if work.exists() and (not work.is_dir() or any(work.iterdir())):
            raise ConfigError(f"flywheel: --store must be a new or empty folder (got "
                              f"{str(work)!r}, which holds files)")
    cfg = FlywheelConfig(rounds=args.rounds, seed=args.seed, withhold=args.withhold,
                         test_fraction=args.test_fraction,
                         corrupt_rounds=tuple(args.corrupt_round), protocol=args.protocol,
                         disjoint_phrasings=args.disjoint_phrasings)
    fw = Flywheel(args.data, workdir=args.store, config=cfg, progress=not args.quiet,
                  log=(lambda s: None) if args.quiet else None)
    print(format_table([], header=True), flush=True)
    for _ in range(cfg.rounds + 1):
        print(format_table([fw.run_round()], header=False), flush=True)
    print("* simulated: judged by held-out simulated agents (aitl.sim), not by people", flush=True)
    rep = fw.report()
    s = rep["gap_summary"]
    print(f"knowledge gaps: {len(rep['gaps'])} clusters; {s['withheld_cases_in_top_clusters']} of "
          f"{s['withheld_cases_signalled']} cases about the {s['withheld_documents']} withheld "
          f"documents fall in the top 10", flush=True)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(rep, f, indent=1)
    if args.plot:
        plot_rounds(rep["rounds"], args.plot, title=_plot_title(fw.data))
    if args.gaps:
        with open(args.gaps, "w", encoding="utf-8") as f:
            f.write(rep["gap_markdown"])
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 usage or data error)."""
    args = _parser().parse_args(argv)
    try:
        import aitl

        try:
            commands = {"convert": _convert, "eval": _eval, "simulate": _simulate,
                        "store": _store, "export": _export, "learn": _learn}
            commands["scenario"] = _scenario
            commands["gaps"] = _gaps
            commands["flywheel"] = _flywheel
            return commands[args.command](args)
        except (aitl.AitlError, OSError, ImportError) as e:
            print(f"aitl {args.command}: error: {e}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        print("aitl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
