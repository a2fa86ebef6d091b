"""aitl.Pipeline: retrieve top-k, rerank to top-n, two replies on randomised sides, logged impressions,
annotations recorded against them; components chosen at run time, Python callables in every slot."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import aitl
from aitl import beir

HELPCENTRE = Path(__file__).resolve().parents[2] / "examples" / "data" / "helpcentre"


@pytest.fixture(scope="module")
def dstc11(dstc11_beir):
    return beir.load(dstc11_beir)


@pytest.fixture(scope="module")
def dstc11_bm25(dstc11):
    b = aitl.BM25()
    b.add_documents(dstc11.kb)
    return b


@pytest.fixture(scope="module")
def helpcentre():
    return beir.load(HELPCENTRE)


def cases(ds, n, start=0):
    qids = list(ds.queries)[start:start + n]
    return [{"case_id": f"case-{q}", "query": ds.queries[q], "timestamp_ms": 1_700_000_000_000 + i * 1000}
            for i, q in enumerate(qids)]


def hashed_words(texts):
    """A tiny bag-of-words encoder written in Python: list[str] -> float32 (n, 64)."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().replace("?", " ").replace(".", " ").split():
            out[i, sum(map(ord, w)) % 64] += 1.0
    return out


def ann(imp, body, **kw):
    return aitl.Annotation(imp.id, "agent-07", body, timestamp_ms=imp.timestamp_ms + 5000, **kw)


def test_bm25_pipeline_logs_75_retrieved_8_shown_and_two_replies(dstc11, dstc11_bm25, tmp_path):
    store = aitl.SqliteStore(tmp_path / "feedback.db")
    p = aitl.Pipeline(dstc11.kb, store, retriever=dstc11_bm25, seed=3)
    assert p.config["k"] == 75 and p.config["n"] == 8
    assert p.config["models"] == {"retriever": "bm25@0", "reranker": "identity@0", "generator": "extractive@0"}
    c = cases(dstc11, 1)[0]
    imp = p.suggest(c["case_id"], c["query"], context=["Hi there"], turn=2, timestamp_ms=c["timestamp_ms"])
    assert isinstance(imp, aitl.Impression)
    assert imp.id.startswith("imp-") and len(imp.id) == 20
    assert (imp.case_id, imp.turn, imp.timestamp_ms, imp.context) == (c["case_id"], 2, c["timestamp_ms"], ["Hi there"])
    assert len(imp.retrieved) == 75 and len(imp.shown) == 8
    top = dstc11_bm25.search(c["query"], 75)
    assert [x.doc_id for x in imp.retrieved] == [h.id for h in top]
    assert [x.rank for x in imp.retrieved] == list(range(1, 76))
    assert [x.doc_id for x in imp.shown] == [h.id for h in top[:8]]
    assert [r.variant for r in imp.replies] == ["top", "coverage"]
    assert {r.position for r in imp.replies} == {"left", "right"}
    shown = {x.doc_id for x in imp.shown}
    for r in imp.replies:
        assert set(aitl.citation_markers(r.text)) <= shown and aitl.citation_markers(r.text)
    stored = store.get_impression(imp.id)
    assert stored.seq == 1 and stored.to_dict()["shown"] == imp.to_dict()["shown"]
    assert stored.replies == imp.replies
    assert p.store is store and p.retriever is dstc11_bm25 and p.reranker is None


def test_positions_are_randomised_and_reproducible_per_seed(dstc11, dstc11_bm25, tmp_path):
    batch = cases(dstc11, 120)

    def serve(seed, name):
        p = aitl.Pipeline(dstc11.kb, tmp_path / name, retriever=dstc11_bm25, seed=seed)
        return p.suggest_many(batch, threads=2)

    a, b, c = serve(11, "a.db"), serve(11, "b.db"), serve(12, "c.db")
    assert [i.id for i in a] == [i.id for i in b] and len({i.id for i in a}) == 120
    assert [i.replies[0].position for i in a] == [i.replies[0].position for i in b]
    left = sum(i.replies[0].position == "left" for i in a)
    assert 40 < left < 80  # binomial(120, 1/2): both orders, about half each
    assert sum(x.replies[0].position != y.replies[0].position for x, y in zip(a, c)) > 30
    assert all(i.replies[0].position != i.replies[1].position for i in a)
    fixed = aitl.Pipeline(dstc11.kb, tmp_path / "d.db", retriever=dstc11_bm25, randomise_positions=False)
    assert all(i.replies[0].position == "left" for i in fixed.suggest_many(batch[:10]))


def test_record_stores_valid_annotations_and_refuses_invalid_ones(dstc11, dstc11_bm25, tmp_path):
    p = aitl.Pipeline(dstc11.kb, tmp_path / "f.db", retriever=dstc11_bm25)
    c = cases(dstc11, 1, start=5)[0]
    imp = p.suggest(c["case_id"], c["query"], timestamp_ms=c["timestamp_ms"])
    s0, s1, unshown = imp.shown[0].doc_id, imp.shown[1].doc_id, imp.retrieved[30].doc_id
    aid = p.record(ann(imp, aitl.Preference("b", "clear")))
    assert aid.startswith("ann-")
    ids = p.record([ann(imp, aitl.KnowledgeRelevance(labels=[aitl.RelevanceLabel(s0, True),
                                                            aitl.RelevanceLabel(s1, False)], selected=[unshown])),
                    {"type": "missing_knowledge", "impression_id": imp.id, "annotator": "agent-07",
                     "timestamp_ms": imp.timestamp_ms + 9000, "description": "no FAQ on parking fees"}])
    assert len(ids) == 2
    before = p.store.stats()
    assert before.annotations == 3 and before.knowledge_relevance == 1

    unknown = aitl.Annotation("imp-unknown", "agent-07", aitl.MissingKnowledge("x"), timestamp_ms=1)
    with pytest.raises(aitl.NotFoundError):
        p.record(unknown)
    with pytest.raises(aitl.ConfigError, match=r"labels\[0\]\.doc_id"):
        p.record(ann(imp, aitl.KnowledgeRelevance(labels=[aitl.RelevanceLabel(unshown, True)])))
    with pytest.raises(aitl.ConfigError):
        p.record(ann(imp, aitl.KnowledgeRelevance(selected=[s0])))  # shown, so not "found by hand"
    with pytest.raises(aitl.ConfigError):
        p.record([ann(imp, aitl.MissingKnowledge("fine")),
                  ann(imp, aitl.KnowledgeRelevance(labels=[aitl.RelevanceLabel(unshown, True)]))])
    with pytest.raises(TypeError):
        p.record(42)
    assert p.store.stats() == before


def test_python_callables_for_encoder_reranker_and_generator(helpcentre, tmp_path):
    seen = {"refs": None, "variants": set(), "queries": []}

    def reverse(query, hits):
        return list(reversed(hits))

    def generate(query, refs, variant):
        seen["refs"] = refs
        seen["variants"].add(variant)
        seen["queries"].append(query)
        return f"{variant}: see [{refs[0].doc_id}]" if refs else "No article found."

    for kind in ("dense", "hybrid"):
        p = aitl.Pipeline(helpcentre.kb, tmp_path / f"{kind}.db", retriever=kind, encoder=hashed_words,
                          reranker=reverse, generator=generate, k=20, n=5)
        imp = p.suggest("case-1", "my card keeps getting declined", context=["Hello", "How can I help?"])
        assert p.config["models"] == {"retriever": f"{kind}@0", "reranker": "callable@0",
                                      "generator": "callable@0"}
        assert len(imp.retrieved) == 20
        assert [x.doc_id for x in imp.shown] == [x.doc_id for x in imp.retrieved][::-1][:5]
        assert [x.rank for x in imp.shown] == [1, 2, 3, 4, 5]
        assert [r.text for r in imp.replies] == [f"top: see [{imp.shown[0].doc_id}]",
                                                 f"coverage: see [{imp.shown[0].doc_id}]"]
        assert all(isinstance(r, aitl.Reference) for r in seen["refs"])
        assert [r.doc_id for r in seen["refs"]] == [x.doc_id for x in imp.shown]
        assert seen["refs"][0].text == helpcentre.kb[imp.shown[0].doc_id].text
        assert seen["variants"] == {"top", "coverage"}
        assert seen["queries"][-1] == "Hello\nHow can I help?\nmy card keeps getting declined"

    # dense over the Python encoder ranks like the encoder: the top document has the best cosine
    p = aitl.Pipeline(helpcentre.kb, tmp_path / "d2.db", retriever="dense", encoder=hashed_words, k=5, n=5)
    q = "where is my parcel delivery"
    imp = p.suggest("case-2", q)
    docs = list(helpcentre.kb)
    m = hashed_words([d.title + "\n" + d.text if d.title else d.text for d in docs])
    v = hashed_words([q])[0]
    cos = m @ v / (np.linalg.norm(m, axis=1) * np.linalg.norm(v) + 1e-12)
    assert imp.shown[0].doc_id == docs[int(np.argmax(cos))].id

    # a retriever callable(query, k) -> [(doc_id, score)] and a reranker object with .rerank
    class Alphabetical:
        def rerank(self, query, hits, k):
            return sorted(hits, key=lambda h: h.id)[:k]

    ids = sorted(d.id for d in helpcentre.kb)
    p = aitl.Pipeline(helpcentre.kb, tmp_path / "c.db", retriever=lambda q, k: [(i, 1.0) for i in ids[::-1][:k]],
                      reranker=Alphabetical(), k=10, n=3, models={"retriever": "fixed@7"})
    imp = p.suggest("case-3", "anything")
    assert [x.doc_id for x in imp.retrieved] == ids[::-1][:10]
    assert [x.doc_id for x in imp.shown] == sorted(ids[::-1][:10])[:3]
    assert imp.models["retriever"] == "fixed@7" and imp.models["reranker"] == "Alphabetical@0"


def test_feature_ranker_and_generator_objects(dstc11, dstc11_bm25, tmp_path):
    batch = cases(dstc11, 150)
    lists = [aitl.RankingList(c["query"], dstc11_bm25.search(c["query"], 75),
                              [(d, 1.0) for d in dstc11.qrels[c["case_id"][5:]]]) for c in batch[:120]]
    ranker = aitl.FeatureRanker(dstc11.kb, model="linear", epochs=8)
    ranker.fit(lists)
    gen = aitl.ExtractiveGenerator()
    p = aitl.Pipeline(dstc11.kb, tmp_path / "f.db", retriever=dstc11_bm25, reranker=ranker, generator=gen,
                      models={"reranker": "linear@1"})
    assert p.reranker is ranker and p.generator is gen
    imps = p.suggest_many(batch[120:])
    hits_ranker = hits_bm25 = 0
    for c, imp in zip(batch[120:], imps):
        expected = ranker.rerank(c["query"], dstc11_bm25.search(c["query"], 75), 8)
        assert [x.doc_id for x in imp.shown] == [h.id for h in expected]
        rel = set(dstc11.qrels[c["case_id"][5:]])
        hits_ranker += sum(x.doc_id in rel for x in imp.shown)
        hits_bm25 += sum(x.doc_id in rel for x in imp.retrieved[:8])
    assert hits_ranker > hits_bm25  # the learned ranker shows more relevant documents in the top 8
    assert imps[0].models["reranker"] == "linear@1"

    cb = aitl.CallbackGenerator(lambda q, refs, v: f"[{refs[0].doc_id}] {v}", ["short", "long"])
    p2 = aitl.Pipeline(dstc11.kb, tmp_path / "g.db", retriever=dstc11_bm25, generator=cb,
                       champion_variant="short", challenger_variant="long")
    imp = p2.suggest("case-x", batch[0]["query"])
    assert [r.text for r in imp.replies] == [f"[{imp.shown[0].doc_id}] short", f"[{imp.shown[0].doc_id}] long"]
    with pytest.raises(aitl.ConfigError, match="no variant 'top'"):
        p2.set_variants("top", "long")


def test_two_threads_suggest_while_the_reranker_is_swapped(dstc11, dstc11_bm25, tmp_path):
    p = aitl.Pipeline(dstc11.kb, tmp_path / "f.db", retriever=dstc11_bm25, models={"reranker": "identity@0"})
    batch = cases(dstc11, 80)
    reverse = lambda q, hits: list(reversed(hits))  # noqa: E731
    served, errors = [[], []], []

    def work(t):
        try:
            for c in batch[t::2]:
                served[t].append(p.suggest(c["case_id"], c["query"], timestamp_ms=c["timestamp_ms"]))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    swaps = 0
    while any(t.is_alive() for t in threads):
        if swaps % 2 == 0:
            p.set_reranker(reverse, version="reverse@1")
        else:
            p.set_reranker(None, version="identity@0")
        swaps += 1
    for t in threads:
        t.join()
    assert not errors and swaps > 1
    imps = served[0] + served[1]
    assert len(imps) == 80 and p.store.stats().impressions == 80
    for imp in imps:  # each impression was served by the reranker its models name
        first = [x.doc_id for x in imp.retrieved]
        expected = first[::-1][:8] if imp.models["reranker"] == "reverse@1" else first[:8]
        assert [x.doc_id for x in imp.shown] == expected


def test_errors_name_the_problem_and_store_nothing(helpcentre, tmp_path):
    kb = helpcentre.kb
    with pytest.raises(aitl.ConfigError, match="unknown retriever"):
        aitl.Pipeline(kb, tmp_path / "a.db", retriever="tfidf")
    with pytest.raises(aitl.ConfigError, match="needs an encoder"):
        aitl.Pipeline(kb, tmp_path / "a.db", retriever="dense")
    with pytest.raises(aitl.ConfigError, match="n out of range"):
        aitl.Pipeline(kb, tmp_path / "a.db", k=5, n=8)
    with pytest.raises(aitl.ConfigError):
        aitl.Pipeline(kb, tmp_path / "a.db", k=0)
    with pytest.raises(aitl.ConfigError, match="no variant 'llm'"):
        aitl.Pipeline(kb, tmp_path / "a.db", challenger_variant="llm")
    with pytest.raises(aitl.ConfigError, match="not a reranker"):
        aitl.Pipeline(kb, tmp_path / "a.db", reranker=3)
    with pytest.raises(TypeError):
        aitl.Pipeline(kb, 42)

    def broken(query, refs, variant):
        raise RuntimeError("LLM unavailable")

    p = aitl.Pipeline(kb, tmp_path / "b.db", generator=broken)
    with pytest.raises(RuntimeError, match="LLM unavailable"):
        p.suggest("case-1", "refund")
    bad_reranker = aitl.Pipeline(kb, tmp_path / "c.db", reranker=lambda q, hits: [("not-retrieved", 1.0)])
    with pytest.raises(aitl.ConfigError, match="not among the retrieved"):
        bad_reranker.suggest("case-1", "refund")
    with pytest.raises(aitl.ConfigError, match="query empty"):
        p.suggest("case-1", "")
    with pytest.raises(aitl.ConfigError):
        p.suggest_many([("case-1", "refund"), {"case_id": "case-2"}])
    assert p.store.stats().impressions == 0 and bad_reranker.store.stats().impressions == 0
    q = aitl.Pipeline(kb, p.store)
    draft = q.draft("case-9", "refund")
    assert len(draft.shown) > 0 and q.store.stats().impressions == 0
    q.set_models({"retriever": "bm25@2"})
    q.set_model("generator", "extractive@3")
    assert q.config["models"] == {"retriever": "bm25@2", "generator": "extractive@3"}
    with pytest.raises(aitl.ConfigError):
        q.set_model("", "v")
    assert "Pipeline(retriever='bm25'" in repr(q)
