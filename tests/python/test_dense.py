"""ExactIndex, HnswIndex, CallbackEncoder and DenseRetriever from Python."""
from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

import aitl


def random_rows(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def brute_force(base: np.ndarray, queries: np.ndarray, k: int, cosine: bool):
    if cosine:
        base = base / np.linalg.norm(base, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = queries.astype(np.float64) @ base.astype(np.float64).T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


def assert_releases_gil(call) -> None:
    """Runs `call` while a Python thread counts; the count moves only if the GIL is released.

    A long switch interval stops CPython from taking the GIL away from the caller by force, so
    the counting thread runs during `call` only when `call` releases the GIL itself.
    """
    counter = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counter[0] += 1
            time.sleep(0)  # releases and retakes the GIL

    old = sys.getswitchinterval()
    thread = threading.Thread(target=count)
    thread.start()
    try:
        while counter[0] == 0:
            time.sleep(0.001)
        sys.setswitchinterval(2.0)
        before = counter[0]
        call()
        during = counter[0] - before
    finally:
        sys.setswitchinterval(old)
        stop.set()
        thread.join()
    assert during > 10, f"the counting thread ran {during} times: the GIL was not released"


def letter_vectors(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), 26), dtype=np.float32)
    for i, t in enumerate(texts):
        for c in t:
            if "a" <= c <= "z":
                out[i, ord(c) - 97] += 1.0
    return out


# ------------------------------------------------------------------------------ ExactIndex


@pytest.mark.parametrize("metric", ["ip", "cosine"])
def test_exact_index_matches_brute_force(metric):
    base, queries = random_rows(600, 33, 1), random_rows(40, 33, 2)
    index = aitl.ExactIndex(33, metric=metric)
    index.add(np.arange(100, 700, dtype=np.uint64), base)
    assert len(index) == 600 and index.dim == 33 and index.metric == metric
    labels, scores = index.search(queries, 10, threads=2)
    assert labels.shape == (40, 10) and scores.shape == (40, 10)
    assert labels.dtype == np.int64 and scores.dtype == np.float32
    ref_order, ref_scores = brute_force(base, queries, 10, metric == "cosine")
    np.testing.assert_allclose(scores, ref_scores, rtol=0, atol=1e-4)
    assert (labels == ref_order + 100).mean() > 0.99  # near-ties may swap
    # The results own their C++ buffers (moved, not copied) and are writable numpy arrays.
    assert not labels.flags.owndata and labels.base is not None
    # One 1-D query gives 1-D results.
    one_labels, one_scores = index.search(queries[3], 10)
    assert one_labels.shape == (10,)
    np.testing.assert_array_equal(one_labels, labels[3])


def test_exact_index_accepts_other_dtypes_and_layouts():
    base = random_rows(50, 8, 3)
    index = aitl.ExactIndex(8)
    index.add(list(range(50)), base.astype(np.float64))  # converted once
    strided = np.asfortranarray(base[:10])
    labels, _ = index.search(strided, 1)
    ref, _ = brute_force(base, base[:10], 1, False)
    np.testing.assert_array_equal(labels[:, 0], ref[:, 0])
    index.add(77, base[0] * 2)  # a single label and vector
    assert 77 in index and 78 not in index
    np.testing.assert_allclose(index.vector(77), base[0] * 2)


def test_exact_index_caps_k_at_the_index_size():
    index = aitl.ExactIndex(3)
    labels, scores = index.search(np.ones((1, 3), dtype=np.float32), 4)
    assert labels.tolist() == [[-1]] and np.isneginf(scores).all()  # empty: one padded column
    index.add([5, 6], np.eye(3, dtype=np.float32)[:2])
    labels, scores = index.search(np.ones((1, 3), dtype=np.float32), 4)
    assert labels.tolist() == [[5, 6]]  # equal scores: smaller label first; no padding to k
    index.remove(5)
    assert len(index) == 1 and 5 not in index


def test_exact_index_rejects_bad_input():
    index = aitl.ExactIndex(4)
    index.add([1, 2], random_rows(2, 4, 4))
    with pytest.raises(aitl.DimensionError, match="got 5, expected 4"):
        index.add([3], random_rows(1, 5, 4))
    with pytest.raises(ValueError):  # DimensionError is a ValueError
        index.search(random_rows(2, 3, 4), 1)
    with pytest.raises(aitl.DimensionError):
        index.add([3, 4], random_rows(1, 4, 4))
    with pytest.raises(aitl.DimensionError):
        index.search(np.zeros((2, 2, 4), dtype=np.float32), 1)
    bad = random_rows(3, 4, 4)
    bad[1, 2] = np.nan
    with pytest.raises(aitl.DimensionError, match="row 1"):
        index.add([5, 6, 7], bad)
    bad[1, 2] = np.inf
    with pytest.raises(aitl.DimensionError):
        index.search(bad, 1)
    for k in (0, -1, -(2**40)):
        with pytest.raises(aitl.ConfigError):
            index.search(random_rows(1, 4, 4), k)
    with pytest.raises(aitl.ConfigError):
        index.search(random_rows(1, 4, 4), 1, threads=-2)
    with pytest.raises(aitl.ConfigError, match="duplicate label"):
        index.add([1], random_rows(1, 4, 4))
    with pytest.raises(aitl.ConfigError):
        index.add([9, 9], random_rows(2, 4, 4))
    with pytest.raises(aitl.ConfigError):
        index.add([-3], random_rows(1, 4, 4))
    with pytest.raises(aitl.ConfigError):
        aitl.ExactIndex(0)
    with pytest.raises(aitl.ConfigError):
        aitl.ExactIndex(4, metric="l2")
    with pytest.raises(aitl.NotFoundError):
        index.remove(42)
    with pytest.raises(KeyError):  # NotFoundError is a KeyError
        index.remove(-1)
    assert len(index) == 2


def test_exact_index_search_releases_the_gil():
    index = aitl.ExactIndex(128)
    index.add(np.arange(20000), random_rows(20000, 128, 5))
    queries = random_rows(2000, 128, 6)
    assert_releases_gil(lambda: index.search(queries, 10, threads=1))


def test_exact_index_search_from_two_python_threads():
    index = aitl.ExactIndex(64, metric="cosine")
    index.add(np.arange(5000), random_rows(5000, 64, 7))
    queries = random_rows(300, 64, 8)
    expected = index.search(queries, 5, threads=1)
    results = [None, None]

    def work(i: int) -> None:
        results[i] = index.search(queries, 5, threads=1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for labels, scores in results:
        np.testing.assert_array_equal(labels, expected[0])
        np.testing.assert_array_equal(scores, expected[1])


# ------------------------------------------------------------------------------ HnswIndex


@pytest.mark.parametrize("metric,compact", [("ip", True), ("cosine", True), ("ip", False)])
def test_hnsw_recall_against_exact(metric, compact):
    base, queries = random_rows(3000, 32, 9), random_rows(100, 32, 10)
    exact = aitl.ExactIndex(32, metric=metric)
    exact.add(np.arange(3000), base)
    index = aitl.HnswIndex(32, metric=metric, M=16, ef_construction=200, max_elements=64, compact_search=compact)
    assert index.compact_search == compact
    index.add(np.arange(3000), base, threads=2)
    index.ef = 200
    assert index.ef == 200 and index.M == 16 and index.ef_construction == 200
    assert index.max_elements >= 3000 and len(index) == 3000
    truth, _ = exact.search(queries, 10)
    got, scores = index.search(queries, 10, threads=2)
    assert got.dtype == np.int64 and scores.dtype == np.float32 and got.shape == (100, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, truth)])
    assert recall >= 0.95
    # Scores are exact float32 scores of the returned labels, best first.
    vectors = np.stack([exact.vector(int(l)) for l in got[0]])
    q = queries[0] / np.linalg.norm(queries[0]) if metric == "cosine" else queries[0]
    np.testing.assert_allclose(scores[0], vectors @ q, atol=1e-4)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_hnsw_remove_save_load(tmp_path):
    base = random_rows(700, 12, 11)
    index = aitl.HnswIndex(12, metric="cosine", M=8, ef_construction=64, ef=55, seed=3)
    index.add(np.arange(700), base)
    for label in range(0, 700, 7):
        index.remove(label)
    assert len(index) == 600 and 7 not in index and 8 in index
    with pytest.raises(aitl.NotFoundError):
        index.remove(7)
    labels, _ = index.search(base, 20)
    assert not np.isin(labels, np.arange(0, 700, 7)).any()

    path = tmp_path / "kb.hnsw"
    index.save(path)  # os.PathLike accepted
    assert (tmp_path / "kb.hnsw.aitl.json").exists()
    loaded = aitl.HnswIndex.load(str(path))
    assert (loaded.dim, loaded.metric, loaded.M, loaded.ef_construction, loaded.ef) == (12, "cosine", 8, 64, 55)
    assert len(loaded) == 600
    queries = random_rows(30, 12, 12)
    for a, b in zip(index.search(queries, 15), loaded.search(queries, 15)):
        np.testing.assert_array_equal(a, b)

    with pytest.raises(aitl.IoError):
        aitl.HnswIndex.load(tmp_path / "missing.hnsw")
    with pytest.raises(OSError):  # IoError is an OSError
        index.save(tmp_path / "no" / "dir" / "x.hnsw")
    data = bytearray(path.read_bytes())
    data[300] ^= 0xFF
    (tmp_path / "bad.hnsw").write_bytes(bytes(data))
    (tmp_path / "bad.hnsw.aitl.json").write_text((tmp_path / "kb.hnsw.aitl.json").read_text())
    with pytest.raises(aitl.IoError, match="corrupt"):
        aitl.HnswIndex.load(tmp_path / "bad.hnsw")


def test_hnsw_rejects_bad_input():
    index = aitl.HnswIndex(4)
    index.add([1, 2], random_rows(2, 4, 13))
    with pytest.raises(aitl.DimensionError):
        index.add([3], random_rows(1, 6, 13))
    with pytest.raises(aitl.DimensionError):
        index.add([3], np.array([[1, np.inf, 0, 0]], dtype=np.float32))
    with pytest.raises(aitl.ConfigError):
        index.add([1], random_rows(1, 4, 13))
    for k in (0, -5):
        with pytest.raises(aitl.ConfigError):
            index.search(random_rows(1, 4, 13), k)
    with pytest.raises(aitl.ConfigError):
        index.ef = 0
    with pytest.raises(aitl.ConfigError):
        index.ef = -1
    with pytest.raises(aitl.ConfigError):
        aitl.HnswIndex(4, M=1)
    with pytest.raises(aitl.ConfigError):
        aitl.HnswIndex(4, max_elements=-1)
    labels, scores = index.search(random_rows(1, 4, 13), 3)
    assert labels.shape == scores.shape == (1, 2)  # k capped at the 2 stored


def test_hnsw_add_and_search_release_the_gil():
    index = aitl.HnswIndex(64, M=8, ef_construction=100)
    base = random_rows(6000, 64, 14)
    assert_releases_gil(lambda: index.add(np.arange(6000), base, threads=1))
    index.ef = 100
    assert_releases_gil(lambda: index.search(random_rows(2000, 64, 15), 10, threads=1))


# ------------------------------------------------------------------------------ CallbackEncoder


def test_callback_encoder_checks_what_the_function_returns():
    enc = aitl.CallbackEncoder(letter_vectors, 26)
    assert enc.dim == 26
    out = enc.encode(["abc", "zz"])
    assert out.shape == (2, 26) and out.dtype == np.float32 and out[1, 25] == 2.0
    with pytest.raises(aitl.DimensionError, match="got 2 x 3, expected 2 x 26"):
        aitl.CallbackEncoder(lambda t: np.zeros((len(t), 3)), 26).encode(["a", "b"])
    with pytest.raises(aitl.DimensionError):
        aitl.CallbackEncoder(lambda t: np.zeros(26), 26).encode(["a"])
    with pytest.raises(aitl.DimensionError, match="row 1"):
        aitl.CallbackEncoder(lambda t: np.array([[0.0] * 26, [np.nan] * 26]), 26).encode(["a", "b"])
    with pytest.raises(aitl.DimensionError):
        aitl.CallbackEncoder(lambda t: "not an array", 26).encode(["a"])
    with pytest.raises(ZeroDivisionError):  # the function's own errors pass through
        aitl.CallbackEncoder(lambda t: 1 / 0, 26).encode(["a"])
    with pytest.raises(aitl.ConfigError):
        aitl.CallbackEncoder(letter_vectors, 0)
    with pytest.raises(aitl.ConfigError):
        aitl.CallbackEncoder("not callable", 3)


# ------------------------------------------------------------------------------ DenseRetriever


class LetterEncoder:
    dim = 26

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        return letter_vectors(texts)


class CallableEncoder:
    def dim(self):
        return 26

    def __call__(self, texts):
        return letter_vectors(texts)


DOCS = [("zoo", "zzzooo"), ("abc", "aaabbbccc"), ("xyz", "xxyyzz"), ("kq", "kkkqqq")]


@pytest.mark.parametrize("index", ["exact", "hnsw"])
@pytest.mark.parametrize(
    "make_encoder", [LetterEncoder, CallableEncoder, lambda: aitl.CallbackEncoder(letter_vectors, 26)]
)
def test_dense_retriever_with_python_encoders(index, make_encoder):
    dense = aitl.DenseRetriever(make_encoder(), index=index, metric="cosine", ef=50)
    for doc_id, text in DOCS:
        dense.add(doc_id, text)
    dense.add_documents([aitl.Document("t1", title="title", text="eeee"), aitl.Document("t2", text="ffff")])
    assert len(dense) == 6 and "zoo" in dense and dense.dim == 26 and dense.index == index
    top = dense.search("zo zo zo", 3)
    assert isinstance(top[0], aitl.Hit) and top[0].id == "zoo"
    assert top[0].score == pytest.approx(1.0, abs=1e-5)
    assert dense.search("title", 1)[0].id == "t1"  # title + text are indexed
    batch = dense.search_batch(["abcabc", "qk", "ffff"], 2, threads=2)
    assert [hits[0].id for hits in batch] == ["abc", "kq", "t2"]
    assert [h.id for h in batch[1]] == [h.id for h in dense.search("qk", 2)]
    dense.update("t2", "xyzxyz")
    dense.remove("zoo")
    assert len(dense) == 5 and "zoo" not in dense
    with pytest.raises(aitl.NotFoundError):
        dense.remove("zoo")
    with pytest.raises(aitl.ConfigError):
        dense.add("abc", "duplicate")
    for k in (0, -1):
        with pytest.raises(aitl.ConfigError):
            dense.search("abc", k)
        with pytest.raises(aitl.ConfigError):
            dense.search_batch(["abc"], k)
    if index == "hnsw":
        dense.ef = 80
        assert dense.ef == 80
    else:
        with pytest.raises(aitl.StateError):
            dense.ef = 80


def test_dense_retriever_counts_encoder_batches_and_rejects_bad_encoders():
    enc = LetterEncoder()
    dense = aitl.DenseRetriever(enc, batch_size=4)
    dense.add_documents([aitl.Document(f"d{i}", text="a" * (i + 1)) for i in range(10)])
    assert enc.calls == 3  # 10 texts in batches of 4
    assert dense.encoder is enc
    with pytest.raises(TypeError):
        dense.add_documents(["not a Document"])
    with pytest.raises(aitl.ConfigError):
        aitl.DenseRetriever(object())
    with pytest.raises(aitl.ConfigError):
        aitl.DenseRetriever(enc, index="annoy")

    class Wrong:
        dim = 26

        def encode(self, texts):
            return np.zeros((len(texts), 25), dtype=np.float32)

    wrong = aitl.DenseRetriever(Wrong())
    with pytest.raises(aitl.DimensionError):
        wrong.add("a", "b")
    assert len(wrong) == 0


def test_dense_retriever_with_hashed_encoder_releases_the_gil():
    enc = aitl.HashedEncoder(dim=64, seed=1)
    dense = aitl.DenseRetriever(enc, index="exact")
    docs = [aitl.Document(f"d{i}", text=f"document number {i} about topic {i % 17}") for i in range(3000)]
    dense.add_documents(docs)
    assert dense.search("document number 12 about topic 12", 1)[0].id == "d12"
    queries = [f"topic {i % 17} number {i}" for i in range(3000)]
    assert_releases_gil(lambda: dense.search_batch(queries, 10, threads=1))


def test_dense_retriever_from_two_python_threads_with_a_python_encoder():
    dense = aitl.DenseRetriever(LetterEncoder(), index="hnsw")
    for doc_id, text in DOCS:
        dense.add(doc_id, text)
    expected = [h.id for h in dense.search("xyz", 4)]
    errors = []

    def work() -> None:
        try:
            for _ in range(50):
                assert [h.id for h in dense.search_batch(["xyz"], 4, threads=2)[0]] == expected
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
