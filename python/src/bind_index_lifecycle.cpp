// Python bindings of flywheel/index_lifecycle.hpp: ServingIndex (blue/green index rebuilds with
// a recall check, published to a model registry directory).
//
#include <aitl/flywheel/index_lifecycle.hpp>
#include <aitl/flywheel/registry.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/retrieval/callback_encoder.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>

// hnsw.hpp is included by bind_retrieval.cpp too (see the header).
#define AITL_HNSW_TU_PREFIX aitl_bind_index_lifecycle
#include <aitl/detail/hnsw_extra_tu.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "py_slots.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;

// The encoder of a generation: a private copy of a HashedEncoder (saved as encoder.bin), or a
// CallbackEncoder / Python encoder (not saved).
struct lifecycle_encoder {
    std::shared_ptr<const hashed_encoder> hashed;
    std::optional<callback_encoder> callback;

    std::size_t dim() const { return hashed ? hashed->dim() : callback->dim(); }
    row_matrix encode(const std::vector<std::string>& texts) const {
        return hashed ? hashed->encode(texts) : callback->encode(texts);
    }
    bool save_artifact(const std::string& path) const {
        if (!hashed) return false;
        hashed->save(path);
        return true;
    }
};

using py_serving = basic_serving_index<lifecycle_encoder, hnsw_index>;

lifecycle_encoder encoder_arg(const py::object& obj, const char* where) {
    lifecycle_encoder e;
    if (py::isinstance<hashed_encoder>(obj)) {
        e.hashed = std::make_shared<const hashed_encoder>(obj.cast<const hashed_encoder&>());  // a snapshot
        return e;
    }
    e.callback = encoder_from_py(obj, where);
    return e;
}

// A registry directory: a path, or an object with .dir / .path (e.g. the registry's own class).
model_registry registry_arg(const py::object& obj) {
    if (py::isinstance<py::str>(obj) || py::hasattr(obj, "__fspath__"))
        return model_registry(py::str(py::module_::import("os").attr("fspath")(obj)).cast<std::string>());
    for (const char* name : {"dir", "path"})
        if (py::hasattr(obj, name)) {
            py::object p = obj.attr(name);
            if (PyCallable_Check(p.ptr())) p = p();
            return model_registry(py::str(py::module_::import("os").attr("fspath")(p)).cast<std::string>());
        }
    throw config_error("ServingIndex: not a registry (got " + type_name(obj) +
                       ", expected a folder path or a registry object with .dir)");
}

std::vector<document> documents_arg(const py::object& obj) {
    std::vector<document> docs;
    if (py::isinstance<knowledge_base>(obj)) {
        const auto& kb = obj.cast<const knowledge_base&>();
        for (const document& d : kb) docs.push_back(d);
        return docs;
    }
    for (py::handle h : obj.cast<py::iterable>()) docs.push_back(h.cast<document>());
    return docs;
}

std::size_t positive_k(py::ssize_t k, const char* where) {
    if (k <= 0)
        throw config_error(std::string(where) + ": k must be positive (got " + std::to_string(k) + ", expected k >= 1)");
    return static_cast<std::size_t>(k);
}

// Loads `version` (champion when None) and returns the generation.
py_serving::snapshot_type load_generation(const py::object& registry, const std::optional<std::string>& version,
                                          const py::object& encoder) {
    model_registry reg = registry_arg(registry);
    std::optional<lifecycle_encoder> enc;
    if (!encoder.is_none()) enc = encoder_arg(encoder, "ServingIndex.load");
    py::gil_scoped_release release;
    std::string v;
    if (version) v = *version;
    else {
        auto champion = reg.champion();
        if (!champion)
            throw not_found("ServingIndex.load: the registry has no champion (got none in '" + reg.dir().string() +
                            "', expected a promoted version)");
        v = champion->version;
    }
    if (!enc) {
        reg.verify(v);
        lifecycle_encoder e;
        e.hashed = std::make_shared<const hashed_encoder>(hashed_encoder::load(reg.file(v, "encoder.bin").string()));
        enc = std::move(e);
    }
    return py_serving::load(reg, v, std::move(*enc));
}

}  // namespace

void bind_index_lifecycle(py::module_& m) {
    py::class_<py_serving, std::shared_ptr<py_serving>>(
        m, "ServingIndex",
        "Blue/green dense index: searches use the active index; rebuild() re-embeds every document with a new "
        "encoder into a new HNSW index while the active one keeps serving, checks its recall@k against exact search "
        "on a sample, publishes it to a registry folder (optional) and switches atomically. Searches in flight "
        "finish on the index they started with. Thread-safe.")
        .def(py::init([]() { return std::make_shared<py_serving>(); }), "An empty serving index (no active index).")
        .def_property_readonly(
            "version",
            [](const py_serving& s) -> std::optional<std::string> {
                std::string v = s.version();
                if (v.empty()) return std::nullopt;
                return v;
            },
            "The active version (registry id such as 'v000003', or 'memory-N'); None when there is none.")
        .def_property_readonly("dim", [](const py_serving& s) -> std::optional<std::size_t> {
                auto g = s.snapshot();
                if (!g) return std::nullopt;
                return g->dim();
            }, "The active index's vector dimension; None when there is none.")
        .def("__len__", &py_serving::size, "Documents in the active index (0 when none).")
        .def(
            "search",
            [](const py_serving& s, const std::string& query, py::ssize_t k) {
                const std::size_t kk = positive_k(k, "ServingIndex.search");
                py::gil_scoped_release release;
                return s.search(query, kk);
            },
            "query"_a, "k"_a = 10,
            "The k best documents of the active index, best first (list[Hit]). Raises StateError when there is no "
            "active index, ConfigError when k <= 0.")
        .def(
            "search_batch",
            [](const py_serving& s, const std::vector<std::string>& queries, py::ssize_t k, std::size_t threads) {
                const std::size_t kk = positive_k(k, "ServingIndex.search_batch");
                py::gil_scoped_release release;
                return s.search_batch(queries, kk, threads);
            },
            "queries"_a, "k"_a = 10, "threads"_a = 0,
            "search() for every query on one snapshot of the active index (list[list[Hit]]), on `threads` threads "
            "(0 = all).")
        .def(
            "rebuild",
            [](py_serving& s, const py::object& kb, const py::object& encoder, const py::object& registry,
               const std::optional<std::vector<std::string>>& queries, const py::object& progress,
               const py::kwargs& config) {
                rebuild_config cfg;
                from_json(py_to_json(config, "ServingIndex.rebuild"), cfg);
                const std::vector<document> docs = documents_arg(kb);
                lifecycle_encoder enc = encoder_arg(encoder, "ServingIndex.rebuild");
                std::optional<model_registry> reg;
                if (!registry.is_none()) reg.emplace(registry_arg(registry));
                rebuild_progress on_progress;
                if (!progress.is_none()) {
                    auto p = share(progress);
                    on_progress = [p](const std::string& stage, std::size_t done, std::size_t total) {
                        py::gil_scoped_acquire gil;
                        (*p)(stage, done, total);
                    };
                }
                const std::vector<std::string> qs = queries ? *queries : std::vector<std::string>{};
                rebuild_report r;
                {
                    py::gil_scoped_release release;
                    r = s.rebuild(docs, std::move(enc), cfg, reg ? &*reg : nullptr, qs, on_progress);
                }
                return as_dict_t(json_to_py(nlohmann::json(r)));
            },
            "kb"_a, "encoder"_a, "registry"_a = py::none(), "queries"_a = py::none(), "progress"_a = py::none(),
            "Re-embeds every document of `kb` (a KnowledgeBase or Documents) with `encoder` (a HashedEncoder, copied; "
            "a CallbackEncoder; or an object with .dim and .encode), builds a new HNSW index while the active one "
            "keeps serving, and measures its recall@k against exact search on a seeded sample of `queries` (texts; "
            "document texts when None). Only when recall >= min_recall: publishes index files, ids and the encoder "
            "(HashedEncoder only) to `registry` (a folder path or registry object; None = in memory) as a new "
            "promoted version, and switches. `progress(stage, done, total)` is called for 'embed', 'build', "
            "'check', 'publish'. Settings as keywords: sample=200, k=10, min_recall=0.9, hnsw={M, ef_construction, "
            "ef, metric, seed, compact_search, max_elements}, seed=42, threads=0, batch_size=256, staging_dir=''. "
            "Returns the report dict: switched, reason, version, recall, sample, k, min_recall, documents, dim, "
            "seconds_embed, seconds_build, seconds_check, seconds_publish. Raises ConfigError for an invalid "
            "setting or duplicate document ids; IoError when publishing fails (the active index stays).")
        .def(
            "open",
            [](py_serving& s, const py::object& registry, const std::optional<std::string>& version,
               const py::object& encoder) {
                auto g = load_generation(registry, version, encoder);
                std::string v = g->version();
                s.switch_to(std::move(g));
                return v;
            },
            "registry"_a, "version"_a = py::none(), "encoder"_a = py::none(),
            "Loads `version` of the registry (its champion when None) after checking its files against the "
            "manifest, switches to it atomically and returns the version. The encoder is read from the version's "
            "encoder.bin when None. Raises NotFoundError (no champion, unknown version), IoError (files that do not "
            "verify), DimensionError (an encoder that does not fit).")
        .def_static(
            "load",
            [](const py::object& registry, const std::optional<std::string>& version, const py::object& encoder) {
                return std::make_shared<py_serving>(load_generation(registry, version, encoder));
            },
            "registry"_a, "version"_a = py::none(), "encoder"_a = py::none(),
            "A new ServingIndex serving `version` of the registry (its champion when None); see open().")
        .def_static(
            "default_config", []() { return as_dict_t(json_to_py(nlohmann::json(rebuild_config{}))); },
            "The default rebuild settings (the keywords rebuild() accepts) as a dict.")
        .def("__repr__", [](const py_serving& s) {
            auto g = s.snapshot();
            if (!g) return std::string("ServingIndex(version=None)");
            return "ServingIndex(version=" + repr_str(g->version()) + ", documents=" + std::to_string(g->size()) +
                   ", dim=" + std::to_string(g->dim()) + ")";
        });
    register_retriever<py_serving>("ServingIndex");  // shared, searched in C++ on the active index
}

}  // namespace aitl::python
