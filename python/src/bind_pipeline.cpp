// Python binding of pipeline.hpp: Pipeline, one instantiation of basic_pipeline whose slots are
// chosen at run time — retriever: "bm25" / "dense" / "hybrid" built over the knowledge base, a
// BM25 / DenseRetriever / HybridRetriever object, any object with .search(query, k), or a
// callable(query, k); reranker: none (identity), a FeatureRanker, an object with
// .rerank(query, hits, k) or a callable(query, hits); generator: none (extractive), an
// ExtractiveGenerator / CallbackGenerator, any object with .generate and .variants, or a
// callable(query, refs, variant) -> str.
//
// Serving runs with the GIL released; components written in Python take it back for their call.
// Python objects handed over are shared, not copied, and kept alive by the pipeline (their last
// reference is dropped with the GIL, from whichever thread lets go of it).
#include <aitl/generate/callback_generator.hpp>
#include <aitl/generate/extractive.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/pipeline.hpp>
#include <aitl/rerank/feature_ranker.hpp>
#include <aitl/retrieval/any_retriever.hpp>
#include <aitl/retrieval/bm25.hpp>
#include <aitl/retrieval/callback_encoder.hpp>
#include <aitl/retrieval/dense.hpp>
#include <aitl/retrieval/exact.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>
#include <aitl/retrieval/hybrid.hpp>
#include <aitl/store/sqlite_store.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "py_slots.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;
using nlohmann::json;

// ------------------------------------------------------------------------------------------
// Slots
// ------------------------------------------------------------------------------------------

// The generator slot: any generator behind one type.
struct py_generator {
    std::function<generated_reply(std::string_view, const std::vector<reference>&, std::string_view)> fn;
    std::vector<std::string> names;
    generated_reply generate(std::string_view q, const std::vector<reference>& refs, std::string_view v) const {
        return fn(q, refs, v);
    }
    std::vector<std::string> variants() const { return names; }
};

using impl_type = basic_pipeline<any_retriever, py_reranker, py_generator, sqlite_store>;

struct slot_info {
    py::object object;  // what Python gave (None for a built-in)
    std::string kind;   // e.g. "bm25", "feature_ranker", "callable"
};

// The retriever slot from a kind name, a retriever object, or a callable(query, k).
std::pair<any_retriever, slot_info> retriever_slot(const py::object& r, const py::object& encoder,
                                                   const knowledge_base& kb) {
    if (py::isinstance<py::str>(r)) {
        const std::string kind = r.cast<std::string>();
        auto build_bm25 = [&] {
            auto b = std::make_shared<bm25>();
            py::gil_scoped_release release;
            b->add(kb);
            return b;
        };
        using dense_type = dense_retriever<callback_encoder, exact_index>;
        auto build_dense = [&] {
            if (encoder.is_none())
                throw config_error("Pipeline: retriever \"" + kind +
                                   "\" needs an encoder (got None, expected a callable(texts) -> array (n, dim))");
            std::string probe = "dimension probe";
            for (const auto& doc : kb) {
                probe = doc.indexed_text();
                break;
            }
            callback_encoder enc = encoder_from_py(encoder, "Pipeline", &probe);
            auto d = std::make_shared<dense_type>(enc, exact_index(enc.dim(), similarity::cosine));
            py::gil_scoped_release release;
            d->add(kb);
            return d;
        };
        if (kind == "bm25") return {any_retriever(build_bm25()), {py::none(), "bm25"}};
        if (kind == "dense") return {any_retriever(build_dense()), {py::none(), "dense"}};
        if (kind == "hybrid") {
            auto b = build_bm25();
            auto d = build_dense();
            auto h = std::make_shared<hybrid<any_retriever, any_retriever>>(any_retriever(b), any_retriever(d));
            return {any_retriever(h), {py::none(), "hybrid"}};
        }
        throw config_error("Pipeline: unknown retriever (got \"" + kind +
                           "\", expected \"bm25\", \"dense\", \"hybrid\", a retriever object or a callable)");
    }
    std::string kind;
    any_retriever made = aitl::python::retriever_from_py(r, "Pipeline", &kind);
    return {std::move(made), {r, kind}};
}

std::pair<py_reranker, slot_info> reranker_slot(const py::object& r) {
    std::string kind;
    py_reranker made = reranker_from_py(r, "Pipeline", &kind);
    return {std::move(made), {r, kind}};
}

template <class G>
py_generator wrap_generator(std::shared_ptr<G> g) {
    py_generator out;
    out.names = g->variants();
    out.fn = [g](std::string_view q, const std::vector<reference>& refs, std::string_view v) {
        return g->generate(q, refs, v);
    };
    return out;
}

std::pair<py_generator, slot_info> generator_from_py(const py::object& g, const std::string& champion,
                                                     const std::string& challenger) {
    if (g.is_none()) return {wrap_generator(std::make_shared<extractive_generator>()), {py::none(), "extractive"}};
    if (py::isinstance<extractive_generator>(g))
        return {wrap_generator(g.cast<std::shared_ptr<extractive_generator>>()), {g, "extractive"}};
    if (py::isinstance<callback_generator>(g))
        return {wrap_generator(g.cast<std::shared_ptr<callback_generator>>()), {g, "callback"}};
    if (py::hasattr(g, "generate") && py::hasattr(g, "variants")) {
        // e.g. RewardSelectedGenerator: .generate(query, refs, variant) -> GeneratedReply or str
        py::object vs = g.attr("variants");
        if (callable(vs)) vs = vs();
        py_generator out;
        out.names = vs.cast<std::vector<std::string>>();
        shared_object fn = share(g.attr("generate"));
        out.fn = [fn](std::string_view q, const std::vector<reference>& refs, std::string_view v) {
            py::gil_scoped_acquire gil;
            py::object r = (*fn)(py::str(q.data(), q.size()), py::cast(refs), py::str(v.data(), v.size()));
            if (py::isinstance<generated_reply>(r)) return r.cast<generated_reply>();
            if (py::isinstance<py::str>(r)) return generated_reply{r.cast<std::string>(), {}, std::string(v)};
            throw py::type_error("Pipeline generator: .generate must return a GeneratedReply or str (got " +
                                 type_name(r) + ")");
        };
        return {std::move(out), {g, type_name(g)}};
    }
    if (callable(g)) {
        shared_object fn = share(g);
        auto cb = std::make_shared<callback_generator>(
            [fn](std::string_view q, const std::vector<reference>& refs, std::string_view v) {
                py::gil_scoped_acquire gil;
                py::object r = (*fn)(py::str(q.data(), q.size()), py::cast(refs), py::str(v.data(), v.size()));
                if (!py::isinstance<py::str>(r))
                    throw py::type_error("Pipeline generator: the function must return the reply text as str (got " +
                                         type_name(r) + ")");
                return r.cast<std::string>();
            },
            champion == challenger ? std::vector<std::string>{champion} : std::vector<std::string>{champion, challenger});
        return {wrap_generator(cb), {g, "callable"}};
    }
    throw config_error("Pipeline: not a generator (got " + type_name(g) +
                       ", expected None, an ExtractiveGenerator, a CallbackGenerator, an object with .generate and "
                       ".variants, or a callable(query, refs, variant) -> str)");
}

// ------------------------------------------------------------------------------------------
// Pipeline
// ------------------------------------------------------------------------------------------

support_case case_from_py(py::handle h, std::size_t i) {
    const std::string where = "Pipeline.suggest_many: cases[" + std::to_string(i) + "]";
    if (py::isinstance<py::dict>(h)) {
        support_case c;
        from_json(py_to_json(h, where), c);
        return c;
    }
    if (py::isinstance<py::tuple>(h) || py::isinstance<py::list>(h)) {
        auto s = h.cast<py::sequence>();
        if (py::len(s) != 2)
            throw config_error(where + ": expected (case_id, query) (got " + std::to_string(py::len(s)) + " items)");
        return support_case{s[0].cast<std::string>(), s[1].cast<std::string>()};
    }
    throw py::type_error(where + ": expected a dict {case_id, query, context, turn, timestamp_ms, impression_id} or a "
                                 "(case_id, query) tuple (got " + type_name(h) + ")");
}

class py_pipeline {
public:
    py_pipeline(py::object kb, py::object store, const py::object& retriever, const py::object& encoder,
                const py::object& reranker, const py::object& generator, pipeline_config config)
        : kb_(std::move(kb)) {
        if (!py::isinstance<knowledge_base>(kb_))
            throw py::type_error("Pipeline: kb must be a KnowledgeBase (got " + type_name(kb_) + ")");
        if (py::isinstance<py::str>(store) || py::hasattr(store, "__fspath__"))  // a path: open a SqliteStore there
            store = py::module_::import("aitl._core").attr("SqliteStore")(store);
        std::shared_ptr<sqlite_store> s = store_from_py(store, "Pipeline");
        store_ = store;
        const knowledge_base& base = kb_.cast<const knowledge_base&>();
        validate(config, "Pipeline");
        auto r = retriever_slot(retriever, encoder, base);
        auto rr = reranker_slot(reranker);
        auto g = generator_from_py(generator, config.champion_variant, config.challenger_variant);
        const std::map<std::string, std::string> defaults{
            {"retriever", r.second.kind + "@0"}, {"reranker", rr.second.kind + "@0"}, {"generator", g.second.kind + "@0"}};
        for (const auto& [role, version] : defaults) config.models.emplace(role, version);
        retriever_ = r.second;
        reranker_ = rr.second;
        generator_ = g.second;
        impl_ = std::make_unique<impl_type>(base, std::move(r.first), std::move(rr.first), std::move(g.first), s,
                                            std::move(config));
    }

    impl_type& impl() { return *impl_; }
    const py::object& kb() const { return kb_; }
    const py::object& store() const { return store_; }
    const slot_info& retriever() const { return retriever_; }
    const slot_info& reranker() const { return reranker_; }
    const slot_info& generator() const { return generator_; }

    // The setters keep the GIL: the replaced component may drop a Python reference under the
    // pipeline's mutex, and no thread may wait for the GIL while holding that mutex (serving
    // threads hold it only to copy the parts, without the GIL).
    void set_retriever(const py::object& r, const py::object& encoder, const std::string& version) {
        auto made = retriever_slot(r, encoder, kb_.cast<const knowledge_base&>());
        impl_->set_retriever(std::move(made.first), version);
        retriever_ = made.second;
    }
    void set_reranker(const py::object& r, const std::string& version) {
        auto made = reranker_slot(r);
        impl_->set_reranker(std::move(made.first), version);
        reranker_ = made.second;
    }
    void set_generator(const py::object& g, const std::string& version) {
        const pipeline_config c = impl_->config();
        auto made = generator_from_py(g, c.champion_variant, c.challenger_variant);
        impl_->set_generator(std::move(made.first), version);
        generator_ = made.second;
    }

private:
    py::object kb_, store_;
    slot_info retriever_, reranker_, generator_;
    std::unique_ptr<impl_type> impl_;
};

}  // namespace

void bind_pipeline(py::module_& m) {
    py::class_<py_pipeline>(
        m, "Pipeline",
        "The serving loop: retrieve the top k (75) documents, rerank them to the top n (8) shown, generate the "
        "champion and the challenger replies (A and B) on randomised screen sides, log the impression in the "
        "store and return it; record() stores the agent's annotations, validated against the stored impression.\n\n"
        "Pipeline(kb, store, retriever=\"bm25\", encoder=None, reranker=None, generator=None, k=75, n=8, seed=0, "
        "champion_variant=\"top\", challenger_variant=\"coverage\", randomise_positions=True, models=None)\n\n"
        "- store: a SqliteStore (shared) or a path (a SqliteStore is opened there).\n"
        "- retriever: \"bm25\", \"dense\" or \"hybrid\" (BM25 + dense, RRF) built over kb; \"dense\"/\"hybrid\" "
        "need encoder: a callable(list[str]) -> float array (n, dim) (e.g. a sentence-transformers model's encode), an "
        "object with .dim and .encode, a HashedEncoder or a CallbackEncoder. Or a BM25, DenseRetriever or "
        "HybridRetriever object, any object with .search(query, k), or a callable(query, k) -> list of Hit or "
        "(doc_id, score).\n"
        "- reranker: None (keep the first-stage order), a FeatureRanker (shared: fit it before), an object with "
        ".rerank(query, hits, k), or a callable(query, hits) -> hits (Hit or (doc_id, score), best first; the "
        "pipeline keeps the first n).\n"
        "- generator: None (ExtractiveGenerator()), an ExtractiveGenerator or CallbackGenerator, an object with "
        ".generate(query, refs, variant) and .variants, or a callable(query, refs: list[Reference], variant) -> str. "
        "The query it gets is the conversation: context turns, then the query, one per line.\n"
        "- models: role -> version logged with every impression; roles not given get \"<kind>@0\".\n\n"
        "Impression ids are 'imp-' + 16 hex digits hashed from (seed, case, serial number); reply A is on the left "
        "when a seeded hash of the id is even, so sides are reproducible per seed. Thread safety: suggest, "
        "suggest_many, record and the setters may be called from several threads (the GIL is released while "
        "serving); a setter applies to the suggestions that start after it. Raises ConfigError for invalid settings "
        "or components, TypeError for a store that is not a SqliteStore or path.")
        .def(py::init([](py::object kb, py::object store, const py::object& retriever, const py::object& encoder,
                         const py::object& reranker, const py::object& generator, py::ssize_t k, py::ssize_t n,
                         std::uint64_t seed, const std::string& champion_variant, const std::string& challenger_variant,
                         bool randomise_positions, const py::object& models) {
                 if (k <= 0) throw config_error("Pipeline: k out of range (got " + std::to_string(k) + ", expected >= 1)");
                 if (n <= 0) throw config_error("Pipeline: n out of range (got " + std::to_string(n) + ", expected >= 1)");
                 pipeline_config c;
                 c.k = static_cast<std::size_t>(k);
                 c.n = static_cast<std::size_t>(n);
                 c.seed = seed;
                 c.champion_variant = champion_variant;
                 c.challenger_variant = challenger_variant;
                 c.randomise_positions = randomise_positions;
                 if (!models.is_none()) c.models = models.cast<std::map<std::string, std::string>>();
                 return std::make_unique<py_pipeline>(std::move(kb), std::move(store), retriever, encoder, reranker,
                                                      generator, std::move(c));
             }),
             "kb"_a, "store"_a, "retriever"_a = "bm25", "encoder"_a = py::none(), "reranker"_a = py::none(),
             "generator"_a = py::none(), "k"_a = 75, "n"_a = 8, "seed"_a = 0, "champion_variant"_a = "top",
             "challenger_variant"_a = "coverage", "randomise_positions"_a = true, "models"_a = py::none())
        .def(
            "suggest",
            [](py_pipeline& self, const std::string& case_id, const std::string& query,
               const std::vector<std::string>& context, std::uint32_t turn, std::int64_t timestamp_ms,
               const std::string& impression_id) {
                support_case c{case_id, query, context, turn, timestamp_ms, impression_id};
                py::gil_scoped_release release;
                return self.impl().suggest(c);
            },
            "case_id"_a, "query"_a, "context"_a = std::vector<std::string>{}, "turn"_a = 0, "timestamp_ms"_a = 0,
            "impression_id"_a = "",
            "Serves one case and logs it: the Impression as stored (seq stays 0). context: earlier turns; "
            "timestamp_ms 0 = now; impression_id '' = derived. Raises ConfigError for an empty case_id or query, "
            "a negative timestamp or an invalid impression (e.g. a reranker returning a document it was not given); "
            "nothing is stored then.")
        .def(
            "suggest_many",
            [](py_pipeline& self, const py::iterable& cases, py::ssize_t threads) {
                if (threads < 0)
                    throw config_error("Pipeline.suggest_many: threads out of range (got " + std::to_string(threads) +
                                       ", expected >= 0; 0 = all)");
                std::vector<support_case> cs;
                for (py::handle h : cases) cs.push_back(case_from_py(h, cs.size()));
                py::gil_scoped_release release;
                return self.impl().suggest_many(cs, static_cast<std::size_t>(threads));
            },
            "cases"_a, "threads"_a = 1,
            "Serves many cases (dicts {case_id, query, context, turn, timestamp_ms, impression_id} or (case_id, query) "
            "tuples) on `threads` threads (0 = all) and logs them in one transaction: list[Impression], in order. "
            "On any error nothing is stored.")
        .def(
            "draft",
            [](py_pipeline& self, const std::string& case_id, const std::string& query,
               const std::vector<std::string>& context, std::uint32_t turn, std::int64_t timestamp_ms) {
                support_case c{case_id, query, context, turn, timestamp_ms, ""};
                py::gil_scoped_release release;
                return self.impl().draft(c);
            },
            "case_id"_a, "query"_a, "context"_a = std::vector<std::string>{}, "turn"_a = 0, "timestamp_ms"_a = 0,
            "The Impression suggest() would log, without storing it.")
        .def(
            "record",
            [](py_pipeline& self, const py::object& a) -> py::object {
                if (py::isinstance<py::list>(a) || py::isinstance<py::tuple>(a)) {
                    std::vector<annotation> anns;
                    for (py::handle h : a) anns.push_back(annotation_from_py(h));
                    std::vector<std::string> ids;
                    {
                        py::gil_scoped_release release;
                        ids = self.impl().record(anns);
                    }
                    return py::cast(ids);
                }
                const annotation one = annotation_from_py(a);
                std::string id;
                {
                    py::gil_scoped_release release;
                    id = self.impl().record(one);
                }
                return py::str(id);
            },
            "annotation"_a,
            "Validates an Annotation (or its dict) against its stored impression and stores it: its id. A list is "
            "stored in one transaction (all or none): the ids. Raises NotFoundError for an unknown impression, "
            "ConfigError naming the field (e.g. a relevance label of a reference that was not shown); nothing is "
            "stored then.")
        .def_property_readonly(
            "config", [](py_pipeline& self) { return as_dict_t(json_to_py(json(self.impl().config()))); },
            "The settings as a dict {k, n, champion_variant, challenger_variant, seed, randomise_positions, models}.")
        .def_property_readonly("kb", &py_pipeline::kb, "The KnowledgeBase.")
        .def_property_readonly("store", &py_pipeline::store, "The SqliteStore impressions are logged in.")
        .def_property_readonly("retriever", [](const py_pipeline& self) { return self.retriever().object; },
                               "The retriever object given (None for a kind built by the pipeline).")
        .def_property_readonly("reranker", [](const py_pipeline& self) { return self.reranker().object; },
                               "The reranker object given (None for the identity).")
        .def_property_readonly("generator", [](const py_pipeline& self) { return self.generator().object; },
                               "The generator object given (None for the default ExtractiveGenerator).")
        .def(
            "set_retriever",
            [](py_pipeline& self, const py::object& r, const py::object& encoder, const std::string& version) {
                self.set_retriever(r, encoder, version);
            },
            "retriever"_a, "encoder"_a = py::none(), "version"_a = "",
            "Serves later suggestions with this retriever (as in the constructor); a non-empty version becomes "
            "models['retriever'].")
        .def(
            "set_reranker",
            [](py_pipeline& self, const py::object& r, const std::string& version) { self.set_reranker(r, version); },
            "reranker"_a, "version"_a = "",
            "Serves later suggestions with this reranker (e.g. a newly promoted FeatureRanker); a non-empty version "
            "becomes models['reranker']. In-flight suggestions finish with the previous one.")
        .def(
            "set_generator",
            [](py_pipeline& self, const py::object& g, const std::string& version) { self.set_generator(g, version); },
            "generator"_a, "version"_a = "",
            "Serves later suggestions with this generator; a non-empty version becomes models['generator']. Raises "
            "ConfigError when it lacks the champion or challenger variant.")
        .def(
            "set_variants",
            [](py_pipeline& self, const std::string& champion, const std::string& challenger) {
                self.impl().set_variants(champion, challenger);
            },
            "champion"_a, "challenger"_a,
            "The generator variants of reply A and reply B (e.g. after a promotion). Raises ConfigError when empty, "
            "equal or unknown to the generator.")
        .def(
            "set_models", [](py_pipeline& self, const std::map<std::string, std::string>& models) { self.impl().set_models(models); },
            "models"_a, "Replaces the role -> version map logged with later impressions.")
        .def(
            "set_model",
            [](py_pipeline& self, const std::string& role, const std::string& version) { self.impl().set_model(role, version); },
            "role"_a, "version"_a, "Sets one role's version.")
        .def("__repr__", [](py_pipeline& self) {
            const pipeline_config c = self.impl().config();
            return "Pipeline(retriever=" + repr_str(self.retriever().kind) + ", reranker=" + repr_str(self.reranker().kind) +
                   ", generator=" + repr_str(self.generator().kind) + ", k=" + std::to_string(c.k) +
                   ", n=" + std::to_string(c.n) + ", champion_variant=" + repr_str(c.champion_variant) +
                   ", challenger_variant=" + repr_str(c.challenger_variant) + ")";
        });
}

}  // namespace aitl::python
