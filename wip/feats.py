import pickle, math, collections, numpy as np
from aitl import Analyzer
D = pickle.load(open("/tmp/proto4/data.pkl","rb"))
an = Analyzer()
meta = D["meta"]; queries = D["queries"]; qrels = D["qrels"]
N = len(meta)
doc_terms = {}; title_terms = {}
df = collections.Counter(); tdf = collections.Counter()
titles = {}
for d, m in meta.items():
    doc_terms[d] = set(an.tokens(m["text"]))
    df.update(doc_terms[d])
    titles.setdefault(m["title"], set(an.tokens(m["title"])))
for t, s in titles.items(): tdf.update(s)
NT = len(titles)
def idf(t): return math.log((N + 1) / (df.get(t, 0) + 0.5))
def tidf(t): return math.log((NT + 1) / (tdf.get(t, 0) + 0.5))
qinfo = {}
for q, text in queries.items():
    lines = [l for l in text.split("\n") if l.strip()]
    qinfo[q] = (set(an.tokens(text)), set(an.tokens(lines[-1] if lines else text)))
def feedback_stats(anns):
    pos = collections.Counter(); neg = collections.Counter(); sel = collections.Counter()
    for a in anns:
        if a["type"] != "knowledge_relevance": continue
        for l in a["labels"]:
            (pos if l["relevant"] else neg)[l["doc_id"]] += a.get("weight",1)
        for s in a["selected"]: sel[s] += 1
    return pos, neg, sel
def features(q, cands, stats, dense=None):
    qt, lt = qinfo[q]
    pos, neg, sel = stats
    smax = cands[0][1] if cands else 1.0
    rows = []
    tm = []
    for d, s in cands:
        tt = titles[meta[d]["title"]]
        w = sum(tidf(t) for t in tt) or 1.0
        tm.append(sum(tidf(t) for t in tt if t in qt) / w)
    tmax = max(tm) if tm else 1.0
    for i, (d, s) in enumerate(cands):
        dt = doc_terms[d]
        lw = sum(idf(t) for t in lt) or 1.0
        ov_last = sum(idf(t) for t in lt if t in dt) / lw
        qw = sum(idf(t) for t in qt) or 1.0
        ov_all = sum(idf(t) for t in qt if t in dt) / qw
        p, n_, se = pos[d], neg[d], sel[d]
        rows.append([s / smax, math.log1p(i), tm[i], tm[i] / tmax if tmax > 0 else 0, float(tm[i] == tmax and tmax > 0),
                     ov_last, ov_all, float(meta[d]["doc_type"] == "faq"),
                     (p + se + 0.1) / (p + n_ + se + 1.0), math.log1p(p + n_ + se)] + ([dense[i]] if dense is not None else []))
    A = np.array(rows, dtype=np.float64)
    import os
    for c in [int(x) for x in os.environ.get("DROP","").split(",") if x]: A[:, c] = 0
    return A
