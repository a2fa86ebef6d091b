// Python binding of flywheel/gaps.hpp: gap_report(store, encoder=None, **config) -> GapReport.
//
// The store is read and the clusters built with the GIL released; a Python encoder is called
// with the GIL held, in batches of config.batch_size, before clustering.
#include <aitl/flywheel/gaps.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>
#include <aitl/store/sqlite_store.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;
using nlohmann::json;

gap_report_config gap_config_arg(const py::object& config, const py::kwargs& kwargs) {
    json j = json::object();
    if (!config.is_none()) {
        if (!py::isinstance<py::dict>(config))
            throw config_error("gap_report: config has the wrong type (got " + type_name(config) +
                               ", expected a dict or None)");
        j = py_to_json(config, "gap_report");
    }
    for (auto kv : kwargs) j[kv.first.cast<std::string>()] = py_to_json(kv.second, "gap_report");
    gap_report_config c = j.get<gap_report_config>();
    c.validate();
    return c;
}

// Calls a Python encoder (an object with .encode, or a callable) on the signals' texts in
// batches; returns the (n, dim) matrix. The GIL must be held.
row_matrix encode_with_python(const py::object& encoder, const std::vector<gap_signal>& signals, std::size_t batch) {
    py::object fn = py::hasattr(encoder, "encode") ? encoder.attr("encode") : encoder;
    if (!PyCallable_Check(fn.ptr()))
        throw config_error("gap_report: the encoder has neither .encode nor __call__ (got " + type_name(encoder) +
                           ", expected None, a HashedEncoder, or an encoder object or function)");
    py::ssize_t dim = -1;
    if (py::hasattr(encoder, "dim")) {
        py::object d = encoder.attr("dim");
        if (PyCallable_Check(d.ptr())) d = d();
        dim = d.cast<py::ssize_t>();
    }
    row_matrix out;
    for (std::size_t start = 0; start < signals.size(); start += batch) {
        const std::size_t end = std::min(signals.size(), start + batch);
        py::list texts;
        for (std::size_t i = start; i < end; ++i) texts.append(py::str(signals[i].text()));
        py::object r = fn(texts);
        auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(r);
        if (!a || a.ndim() != 2)
            throw dimension_error("gap_report: the encoder must return a 2-D float array (got " + type_name(r) +
                                  ", expected (n, dim) floats)");
        const auto rows = static_cast<std::size_t>(a.shape(0));
        const auto cols = static_cast<py::ssize_t>(a.shape(1));
        if (rows != end - start || cols == 0 || (dim >= 0 && cols != dim) || (out.cols() > 0 && cols != out.cols()))
            throw dimension_error("gap_report: the encoder returned the wrong shape (got " + std::to_string(rows) + " x " +
                                  std::to_string(cols) + ", expected " + std::to_string(end - start) + " x " +
                                  (dim >= 0 ? std::to_string(dim) : out.cols() > 0 ? std::to_string(out.cols()) : "dim") + ")");
        if (out.cols() == 0) out.resize(static_cast<Eigen::Index>(signals.size()), static_cast<Eigen::Index>(cols));
        out.middleRows(static_cast<Eigen::Index>(start), static_cast<Eigen::Index>(rows)) =
            Eigen::Map<const row_matrix>(a.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    }
    if (signals.empty()) out.resize(0, dim > 0 ? static_cast<Eigen::Index>(dim) : 1);
    return out;
}

std::string encoder_name(const py::object& encoder) {
    if (encoder.is_none() || py::isinstance<hashed_encoder>(encoder)) return "hashed";
    if (py::hasattr(encoder, "version")) {
        py::object v = encoder.attr("version");
        if (!v.is_none()) return py::str(v);
    }
    return type_name(encoder);
}

gap_report gap_report_py(const py::object& store, const py::object& encoder, const py::object& config,
                         const py::kwargs& kwargs) {
    const gap_report_config cfg = gap_config_arg(config, kwargs);
    auto s = store_from_py(store, "gap_report");
    const std::string name = encoder_name(encoder);
    std::vector<gap_signal> signals;
    std::int64_t watermark = 0;
    {
        py::gil_scoped_release release;
        signals = collect_gap_signals(*s, cfg.since, cfg.include_no_relevant, &watermark);
    }
    if (encoder.is_none()) {
        py::gil_scoped_release release;
        static const hashed_encoder default_encoder;  // built once: its projection takes seconds
        return build_gap_report(signals, default_encoder, cfg, name, watermark);
    }
    if (py::isinstance<hashed_encoder>(encoder)) {
        const hashed_encoder& enc = encoder.cast<const hashed_encoder&>();
        py::gil_scoped_release release;
        return build_gap_report(signals, enc, cfg, name, watermark);
    }
    row_matrix x = encode_with_python(encoder, signals, cfg.batch_size);
    py::gil_scoped_release release;
    return build_gap_report(signals, std::move(x), cfg, name, watermark);
}

py::object clusters_py(const gap_report& r) { return json_to_py(json(r.clusters)); }

}  // namespace

void bind_gaps(py::module_& m) {
    py::class_<gap_report>(
        m, "GapReport",
        "The knowledge-gap report: clusters of missing-knowledge flags and \"nothing relevant shown\" "
        "impressions, ranked by a recency-weighted count (see gap_report).")
        .def_property_readonly(
            "clusters",
            [](const gap_report& r) { return py::reinterpret_steal<py::typing::List<dict_t>>(clusters_py(r).release()); },
            "The clusters, best first: dicts with rank, score, size, share, distinct_cases, missing_knowledge, "
            "no_relevant, first_seen_ms, last_seen_ms, cohesion, top_terms, representatives, selected_docs, "
            "suggested_sources, impression_ids, case_ids.")
        .def_readonly("signals", &gap_report::signals, "Gap signals read.")
        .def_readonly("missing_knowledge_signals", &gap_report::missing_knowledge_signals)
        .def_readonly("no_relevant_signals", &gap_report::no_relevant_signals)
        .def_readonly("clusters_found", &gap_report::clusters_found,
                      "Clusters of at least min_cluster_size signals (before max_clusters).")
        .def_readonly("clustered_signals", &gap_report::clustered_signals)
        .def_readonly("watermark", &gap_report::watermark,
                      "Largest annotation seq read: pass it as since= for the next report.")
        .def_readonly("now_ms", &gap_report::now_ms, "Reference time of the recency weights.")
        .def_readonly("encoder", &gap_report::encoder)
        .def_readonly("dim", &gap_report::dim)
        .def_property_readonly(
            "config", [](const gap_report& r) { return as_dict_t(json_to_py(json(r.config))); }, "The settings used.")
        .def(
            "to_dict", [](const gap_report& r) { return as_dict_t(json_to_py(json(r))); },
            "The JSON form as a dict (json.dumps-able).")
        .def_static(
            "from_dict",
            [](const py::dict& d) { return py_to_json(d, "GapReport.from_dict").get<gap_report>(); }, "d"_a,
            "The report from its dict form (to_dict()).")
        .def("to_markdown", [](const gap_report& r) { return to_markdown(r); },
             "The report as Markdown: summary, table of clusters, one section per cluster. Every text from the "
             "store (queries, flags, ids, sources) is escaped with escape_markdown: inert as Markdown and as HTML.")
        .def("__len__", [](const gap_report& r) { return r.clusters.size(); })
        .def("__repr__", [](const gap_report& r) {
            std::string s = "GapReport(signals=" + std::to_string(r.signals) +
                            ", clusters=" + std::to_string(r.clusters.size()) + "/" + std::to_string(r.clusters_found) +
                            ", encoder=" + repr_str(r.encoder);
            if (!r.clusters.empty() && !r.clusters[0].top_terms.empty())
                s += ", top=" + repr_str(r.clusters[0].top_terms[0].term);
            return s + ")";
        });

    m.def("gap_report", &gap_report_py, "store"_a, "encoder"_a = py::none(), "config"_a = py::none(),
          "Knowledge-gap report of a SqliteStore.\n\n"
          "Gap signals: impressions with a missing-knowledge flag (text: query + descriptions) or whose "
          "knowledge-relevance annotations mark no shown reference relevant and select none by hand (text: "
          "query). They are embedded with `encoder` (None: the default HashedEncoder; a HashedEncoder; or any "
          "object with .encode(list[str]) -> (n, dim) floats, or such a function, e.g. "
          "aitl.minilm.MiniLMEncoder()), centred, clustered (leader pass, then average-link merging by cosine) "
          "and ranked by score = sum of weight * 0.5^(age / half-life).\n\n"
          "Settings (dict and/or keywords): since (annotation seq watermark, 0), min_cluster_size (2), "
          "similarity_threshold (0.15), leader_threshold (0.7), max_clusters (10, 0 = all), half_life_days (7), "
          "now_ms (0 = newest signal), include_no_relevant (True), no_relevant_weight (0.25), center (True), "
          "representatives (3), top_terms (8), include_members (True), batch_size (256).\n\n"
          "Raises ConfigError for unknown or invalid settings, TypeError when store is not a SqliteStore, "
          "DimensionError when the encoder returns the wrong shape.");
}

}  // namespace aitl::python
