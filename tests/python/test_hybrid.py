"""HybridRetriever: RRF / weighted fusion over BM25, DenseRetriever, HybridRetriever or any
object with .search(query, k)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import aitl
from test_dense import assert_releases_gil


class Fixed:
    """A retriever written in Python: returns a fixed ranked list of (id, score)."""

    def __init__(self, pairs):
        self.pairs = pairs
        self.last_k = None

    def search(self, query, k):
        self.last_k = k
        return self.pairs[:k]


A = Fixed([("A", 9.0), ("B", 5.0), ("C", 1.0)])
B = Fixed([("C", 0.9), ("A", 0.8), ("D", 0.7)])


def ids(hits):
    return [h.id for h in hits]


def test_rrf_orders_hand_made_lists():
    h = aitl.HybridRetriever(A, B)  # rrf, rrf_k = 60
    assert (h.method, h.rrf_k, h.weight, h.depth) == ("rrf", 60.0, 0.5, 100)
    top = h.search("q", 10)
    assert ids(top) == ["A", "C", "B", "D"]
    assert top[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert top[3].score == pytest.approx(1 / 63)
    assert A.last_k == 100  # depth
    assert len(h.search("q", 2)) == 2
    h.search("q", 150)
    assert A.last_k == 150  # at least k


def test_weighted_fusion_normalises_and_weights():
    a = Fixed([("A", 10.0), ("B", 5.0), ("C", 0.0)])
    b = Fixed([("C", 3.0), ("A", 2.0), ("D", 1.0)])
    top = aitl.HybridRetriever(a, b, method="weighted", weight=0.5).search("q", 10)
    assert ids(top) == ["A", "C", "B", "D"]
    assert [h.score for h in top] == pytest.approx([0.75, 0.5, 0.25, 0.0])
    top = aitl.HybridRetriever(a, b, method="weighted", weight=0.9).search("q", 10)
    assert ids(top) == ["A", "B", "C", "D"]


def test_ties_are_broken_by_id():
    top = aitl.HybridRetriever(Fixed([("y", 1.0)]), Fixed([("x", 1.0)])).search("q", 5)
    assert ids(top) == ["x", "y"]


def test_hybrid_of_hybrids_and_first_second():
    inner = aitl.HybridRetriever(Fixed([("A", 3), ("B", 2)]), Fixed([("B", 1), ("C", 0.5)]))
    outer = aitl.HybridRetriever(inner, Fixed([("C", 1)]))
    # inner: B, A, C; outer: C (1/63 + 1/61), B (1/61), A (1/62)
    assert ids(outer.search("q", 3)) == ["C", "B", "A"]
    assert outer.first is inner
    del inner  # kept alive by outer
    assert ids(outer.search("q", 1)) == ["C"]


def test_bad_settings_and_arguments():
    for kwargs in ({"method": "max"}, {"weight": 1.5}, {"weight": -0.1}, {"rrf_k": -1.0}, {"depth": 0}):
        with pytest.raises(aitl.ConfigError):
            aitl.HybridRetriever(A, B, **kwargs)
    with pytest.raises(aitl.ConfigError):
        aitl.HybridRetriever(A, object())
    h = aitl.HybridRetriever(A, B)
    for k in (0, -1):
        with pytest.raises(aitl.ConfigError):
            h.search("q", k)
        with pytest.raises(aitl.ConfigError):
            h.search_batch(["q"], k)
    with pytest.raises(aitl.ConfigError):
        h.search_batch(["q"], 3, threads=-1)


CORPUS = [
    ("refund", "Refunds", "how to get a refund for a cancelled booking"),
    ("password", "Passwords", "reset your password from the login page"),
    ("pets", "Pets", "are pets allowed in the apartment"),
    ("checkin", "Check-in", "check in time is after three in the afternoon"),
    ("parking", "Parking", "free parking is available near the hotel"),
]


@pytest.fixture()
def corpus():
    return [aitl.Document(i, title=t, text=x) for i, t, x in CORPUS]


@pytest.mark.parametrize("method", ["rrf", "weighted"])
def test_hybrid_over_bm25_and_dense(corpus, method):
    bm25 = aitl.BM25()
    bm25.add_documents(corpus)
    dense = aitl.DenseRetriever(aitl.HashedEncoder(dim=128, seed=0), index="hnsw")
    dense.add_documents(corpus)
    h = aitl.HybridRetriever(bm25, dense, method=method, depth=5)
    assert h.search("refund for my cancelled booking", 3)[0].id == "refund"
    batch = h.search_batch(["reset password", "pets apartment", "parking hotel"], 2, threads=2)
    assert [hits[0].id for hits in batch] == ["password", "pets", "parking"]
    assert ids(batch[0]) == ids(h.search("reset password", 2))
    del bm25, dense  # the hybrid keeps both alive
    assert h.search("check in time", 1)[0].id == "checkin"


def test_hybrid_search_batch_releases_the_gil():
    docs = [aitl.Document(f"d{i}", text=f"item {i} in group {i % 13} colour {i % 7}") for i in range(3000)]
    bm25 = aitl.BM25()
    bm25.add_documents(docs)
    dense = aitl.DenseRetriever(aitl.HashedEncoder(dim=64, seed=2))
    dense.add_documents(docs)
    h = aitl.HybridRetriever(bm25, dense)
    queries = [f"group {i % 13} colour {i % 7} item {i}" for i in range(2000)]
    assert_releases_gil(lambda: h.search_batch(queries, 10, threads=1))


def test_hybrid_with_python_encoder_from_two_threads(corpus):
    def letters(texts):
        out = np.zeros((len(texts), 26), dtype=np.float32)
        for i, t in enumerate(texts):
            for c in t.lower():
                if "a" <= c <= "z":
                    out[i, ord(c) - 97] += 1
        return out

    dense = aitl.DenseRetriever(aitl.CallbackEncoder(letters, 26))
    dense.add_documents(corpus)
    bm25 = aitl.BM25()
    bm25.add_documents(corpus)
    h = aitl.HybridRetriever(dense, bm25)
    expected = ids(h.search("free parking", 3))
    errors = []

    def work():
        try:
            for _ in range(30):
                assert ids(h.search_batch(["free parking"], 3, threads=2)[0]) == expected
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
