"""Log what a copilot served, record the four agent annotations, let simulated agents annotate
a stream of cases, and read the feedback back from the SQLite store.

    python examples/python/02_feedback.py [BEIR_DIR]     # default: examples/data/helpcentre
"""
import sys
import tempfile
from pathlib import Path

import aitl
from aitl import beir, sim

data = Path(sys.argv[1]) if len(sys.argv) > 1 else \
    Path(__file__).resolve().parents[1] / "data" / "helpcentre"
ds = beir.load(data)
work = Path(tempfile.mkdtemp(prefix="aitl-feedback-"))

# The placeholder copilot: BM25 top-75, first 8 shown, two extractive replies (A/B) whose
# screen positions are randomised and recorded. Each served suggestion is an impression.
system = sim.BaseSystem(ds.kb, seed=7)
imp = aitl.Impression.from_dict(system.serve("q01", ds.queries["q01"]))
print(f"case {imp.case_id}: {imp.query!r}")
print(f"  shown: {[c.doc_id for c in imp.shown[:3]]} ...  replies: "
      f"A={imp.replies[0].variant} ({imp.replies[0].position}), "
      f"B={imp.replies[1].variant} ({imp.replies[1].position})")

with aitl.SqliteStore(work / "feedback.db", durability="full") as store:
    store.append(imp)  # logged when shown

    # An agent's four annotations, each tied to the impression (times in Unix ms).
    t = imp.timestamp_ms
    store.append([
        aitl.Annotation(imp.id, "agent-01", aitl.Preference("a", "clear", "cites the right article"),
                        timestamp_ms=t + 9000, time_to_annotate_ms=9000),
        aitl.Annotation(imp.id, "agent-01", aitl.Adoption("used_with_edits", reply=0,
                        final_text="Sorry about that! " + imp.replies[0].text, reasons=["tone"]),
                        timestamp_ms=t + 15000, time_to_annotate_ms=6000),
        aitl.Annotation(imp.id, "agent-01", aitl.KnowledgeRelevance(
                        labels=[aitl.RelevanceLabel(imp.shown[0].doc_id, True),
                                aitl.RelevanceLabel(imp.shown[1].doc_id, False)]),
                        timestamp_ms=t + 20000, time_to_annotate_ms=5000),
        aitl.Annotation(imp.id, "agent-01", aitl.MissingKnowledge("no article on refunds in store credit"),
                        timestamp_ms=t + 24000, time_to_annotate_ms=4000),
    ])

    # Bad input is refused with the field named, and nothing is stored.
    try:
        store.append(aitl.Annotation(imp.id, "agent-01", aitl.KnowledgeRelevance(
            labels=[aitl.RelevanceLabel("not-shown-doc", True)]), timestamp_ms=t))
    except aitl.ConfigError as e:
        print(f"refused: {e}")

    # Simulated agents (the paper's human annotators, from the qrels) annotate 30 more cases.
    agents = sim.Simulator.from_dataset(ds, seed=7)
    for case_id, query in sim.case_stream(ds.queries, 30, seed=7):
        served = system.serve(case_id, query)
        store.append(served)
        store.append(agents.annotate(served))

    stats = store.stats()
    print(f"store: {stats.impressions} impressions, {stats.annotations} annotations "
          f"({stats.preference} preference, {stats.adoption} adoption, "
          f"{stats.knowledge_relevance} knowledge_relevance, {stats.missing_knowledge} missing_knowledge)")

    # The flywheel reads what arrived since its last watermark.
    new = store.annotations_since(4)
    marked = sum(l.relevant for a in new if a.kind == "knowledge_relevance" for l in a.body.labels)
    print(f"since watermark 4: {len(new)} annotations, {marked} references marked relevant")
    print(f"agent-01 left {len(store.annotations(annotator='agent-01'))} annotations")

    # The whole store as JSONL, imported into a fresh store: identical.
    store.export_jsonl(work / "feedback.jsonl")
    with aitl.SqliteStore(work / "copy.db") as copy:
        copy.import_jsonl(work / "feedback.jsonl")
        same = copy.annotations(as_dict=True) == store.annotations(as_dict=True)
        print(f"exported and re-imported: identical={same}")
        if not same:
            sys.exit("round trip changed the store")
