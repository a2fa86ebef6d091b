// Python binding of store/sqlite_store.hpp: SqliteStore (the thread-safe aitl::sqlite_store)
// and StoreStats.
//
// Python objects are converted while holding the GIL; every store call runs with the GIL
// released, so appends from several Python threads are group-committed by the store. close()
// drops the binding's reference: calls already running finish on their own reference.
#include <aitl/feedback/annotation.hpp>
#include <aitl/feedback/impression.hpp>
#include <aitl/store/sqlite_store.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "bindings.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;
using nlohmann::json;
template <class T>
using records_t = std::variant<std::vector<T>, py::typing::List<dict_t>>;  // objects, or dicts (as_dict)

class py_store {
public:
    py_store(const std::string& path, const sqlite_store_config& config) {
        {
            py::gil_scoped_release release;
            s_ = std::make_shared<sqlite_store>(path, config);
        }
        path_ = s_->path();
        config_ = s_->config();
    }

    // The store for one call (a reference of its own, so close() meanwhile is harmless).
    std::shared_ptr<sqlite_store> get(const char* where) const {
        if (!s_) throw state_error(std::string("SqliteStore.") + where + ": the store is closed (expected an open store)");
        return s_;
    }
    void close() {
        std::shared_ptr<sqlite_store> s = std::move(s_);
        py::gil_scoped_release release;  // the last reference closes the connections
        s.reset();
    }
    bool closed() const { return !s_; }
    const std::string& path() const { return path_; }
    const sqlite_store_config& config() const { return config_; }

private:
    std::shared_ptr<sqlite_store> s_;
    std::string path_;
    sqlite_store_config config_;
};

std::int64_t range_arg(std::int64_t v, std::int64_t lo, std::int64_t hi, const char* where, const char* field) {
    if (v < lo || v > hi)
        throw config_error(std::string(where) + ": " + field + " out of range (got " + std::to_string(v) +
                           ", expected " + std::to_string(lo) + " <= " + field + " <= " + std::to_string(hi) + ")");
    return v;
}

// One record given to append: Impression, Annotation or a dict whose "type" says which.
enum class record_kind { impression, annotation };

record_kind kind_of(py::handle h) {
    if (py::isinstance<impression>(h)) return record_kind::impression;
    if (py::isinstance<annotation>(h)) return record_kind::annotation;
    if (!PyDict_Check(h.ptr()))
        throw py::type_error("SqliteStore.append: expected an Impression, an Annotation, a dict or a list of them (got " +
                             type_name(h) + ")");
    PyObject* t = PyDict_GetItemString(h.ptr(), "type");
    if (t == nullptr)
        throw config_error("SqliteStore.append: field 'type': missing required key (expected 'impression', "
                           "'preference', 'adoption', 'knowledge_relevance' or 'missing_knowledge')");
    if (!PyUnicode_Check(t))
        throw config_error("SqliteStore.append: field 'type': wrong type (got " + type_name(t) + ", expected string)");
    return py::str(t).cast<std::string>() == "impression" ? record_kind::impression : record_kind::annotation;
}

store_filter filter_arg(const std::optional<std::int64_t>& from_ms, const std::optional<std::int64_t>& to_ms,
                        std::optional<std::string> annotator, std::optional<std::string> case_id,
                        std::optional<std::string> model_version, std::optional<std::string> impression_id,
                        const std::optional<std::string>& kind, std::int64_t after_seq, std::int64_t limit,
                        const char* where) {
    store_filter f;
    f.from_ms = from_ms;
    f.to_ms = to_ms;
    f.annotator = std::move(annotator);
    f.case_id = std::move(case_id);
    f.model_version = std::move(model_version);
    f.impression_id = std::move(impression_id);
    if (kind) f.kind = parse_enum<annotation_kind>(*kind, "kind");
    f.after_seq = after_seq;
    f.limit = static_cast<std::size_t>(range_arg(limit, 0, LLONG_MAX, where, "limit"));
    return f;
}

template <class T>
records_t<T> records_to_py(std::vector<T>&& v, bool as_dict) {
    if (!as_dict) return std::move(v);
    py::list out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = to_py_dict(v[i]);
    return py::reinterpret_steal<py::typing::List<dict_t>>(out.release());
}

std::variant<std::string, std::vector<std::string>> append(py_store& self, const py::object& x) {
    auto s = self.get("append");
    if (!PyList_Check(x.ptr()) && !PyTuple_Check(x.ptr())) {
        std::string id;
        if (kind_of(x) == record_kind::impression) {
            impression imp = impression_from_py(x);
            py::gil_scoped_release release;
            id = s->append(imp);
        } else {
            annotation a = annotation_from_py(x);
            py::gil_scoped_release release;
            id = s->append(a);
        }
        return id;
    }
    // A batch: convert everything first (nothing is stored when an item is malformed).
    std::vector<impression> imps;
    std::vector<annotation> anns;
    std::vector<std::pair<record_kind, std::size_t>> order;
    py::sequence seq = py::reinterpret_borrow<py::sequence>(x);
    const std::size_t n = py::len(seq);
    order.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        py::object item = seq[i];
        try {
            if (kind_of(item) == record_kind::impression) {
                order.emplace_back(record_kind::impression, imps.size());
                validate(imps.emplace_back(impression_from_py(item)));
            } else {
                order.emplace_back(record_kind::annotation, anns.size());
                validate(anns.emplace_back(annotation_from_py(item)));
            }
        } catch (const config_error& e) {
            throw config_error("SqliteStore.append: item " + std::to_string(i) + ": " + e.what());
        }
    }
    std::vector<std::string> imp_ids, ann_ids;
    {
        py::gil_scoped_release release;
        if (!imps.empty() && !anns.empty()) {
            std::vector<std::string> ids = s->append(imps, anns);  // one transaction
            imp_ids.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(imps.size()));
            ann_ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(imps.size()), ids.end());
        } else if (!imps.empty()) {
            imp_ids = s->append(imps);
        } else if (!anns.empty()) {
            ann_ids = s->append(anns);
        }
    }
    std::vector<std::string> out;
    out.reserve(n);
    for (const auto& [k, j] : order) out.push_back(std::move(k == record_kind::impression ? imp_ids[j] : ann_ids[j]));
    return out;
}

std::string stats_repr(const store_stats& s) {
    return "StoreStats(impressions=" + std::to_string(s.impressions) + ", annotations=" + std::to_string(s.annotations()) +
           ", preference=" + std::to_string(s.preference) + ", adoption=" + std::to_string(s.adoption) +
           ", knowledge_relevance=" + std::to_string(s.knowledge_relevance) +
           ", missing_knowledge=" + std::to_string(s.missing_knowledge) +
           ", impression_watermark=" + std::to_string(s.impression_watermark) +
           ", annotation_watermark=" + std::to_string(s.annotation_watermark) + ")";
}

constexpr const char* filters_doc =
    "Filters (keyword arguments, None = no filter): from_ms <= timestamp_ms < to_ms, annotator, case_id, "
    "model_version (any role), impression_id, kind ('preference', 'adoption', 'knowledge_relevance', "
    "'missing_knowledge'), after_seq (seq > after_seq), limit (0 = all). ";

}  // namespace

std::shared_ptr<sqlite_store> store_from_py(py::handle h, const char* where) {
    if (!py::isinstance<py_store>(h))
        throw py::type_error(std::string(where) + ": expected a SqliteStore (got " + type_name(h) + ")");
    return h.cast<const py_store&>().get(where);
}

void bind_store(py::module_& m) {
    py::class_<store_stats>(m, "StoreStats", "Counts of a store per record type, and its watermarks (largest seq).")
        .def_readonly("impressions", &store_stats::impressions)
        .def_property_readonly("annotations", &store_stats::annotations, "All four annotation types.")
        .def_readonly("preference", &store_stats::preference)
        .def_readonly("adoption", &store_stats::adoption)
        .def_readonly("knowledge_relevance", &store_stats::knowledge_relevance)
        .def_readonly("missing_knowledge", &store_stats::missing_knowledge)
        .def_readonly("impression_watermark", &store_stats::impression_watermark, "Largest impression seq (0 if none).")
        .def_readonly("annotation_watermark", &store_stats::annotation_watermark,
                      "Largest annotation seq (0 if none): pass it to annotations_since.")
        .def(
            "count", [](const store_stats& s, const std::string& kind) { return s.count(parse_enum<annotation_kind>(kind, "kind")); },
            "kind"_a, "The number of annotations of one type.")
        .def(
            "to_dict", [](const store_stats& s) { return as_dict_t(json_to_py(json(s))); },
            "{'impressions', 'annotations', 'preference', 'adoption', 'knowledge_relevance', 'missing_knowledge', "
            "'impression_watermark', 'annotation_watermark'}.")
        .def("__eq__", [](const store_stats& a, const store_stats& b) { return a == b; }, py::is_operator())
        .def("__repr__", &stats_repr);

    py::class_<py_store>(
        m, "SqliteStore",
        "Durable store of impressions and annotations in one SQLite file (WAL; created with the current schema when "
        "missing). Every append is validated (annotations against their stored impression) and all or nothing; the "
        "store assigns seq and, for an empty id, an id. Thread-safe: appends from several threads are "
        "group-committed (the GIL is released in every call). Use as a context manager, or call close().")
        .def(py::init([](const py::object& path, const std::string& durability_name, std::int64_t busy_timeout_ms,
                         std::int64_t group_commit_max, bool read_only) {
                 sqlite_store_config c;
                 c.durability_mode = parse_enum<durability>(durability_name, "durability");
                 c.busy_timeout_ms =
                     static_cast<int>(range_arg(busy_timeout_ms, 0, INT_MAX, "SqliteStore", "busy_timeout_ms"));
                 c.group_commit_max =
                     static_cast<std::size_t>(range_arg(group_commit_max, 1, LLONG_MAX, "SqliteStore", "group_commit_max"));
                 c.read_only = read_only;
                 return std::make_unique<py_store>(path_arg(path), c);
             }),
             "path"_a, "durability"_a = "full", "busy_timeout_ms"_a = sqlite_store_config{}.busy_timeout_ms,
             "group_commit_max"_a = sqlite_store_config{}.group_commit_max, "read_only"_a = false,
             "durability 'full': an append returns once synced to disk (survives power loss); 'normal': survives a "
             "process crash. busy_timeout_ms: wait for another process's write lock. group_commit_max: most appends "
             "committed together. read_only: every write raises StateError (the file must exist). Raises "
             "ConfigError for bad settings, IoError when the file cannot be opened or is not SQLite, StateError when "
             "it is not an aitl store or its schema is newer.")
        .def("append", &append, "x"_a,
             "Stores an Impression, an Annotation or a dict in their JSON form (its 'type' says which), "
             "or a list of them as one all-or-nothing transaction (impressions of the list may be annotated in "
             "the same list). Returns the stored id, or the list of ids in order. Raises ConfigError naming the "
             "field (invalid record, duplicate id; in a list the message names the item), NotFoundError for an "
             "annotation of an unknown impression, StateError when read-only. Nothing of a failed call is stored.")
        .def(
            "get_impression",
            [](const py_store& self, const std::string& id) {
                auto s = self.get("get_impression");
                py::gil_scoped_release release;
                return s->get_impression(id);
            },
            "id"_a, "The impression with this id. Raises NotFoundError (a KeyError).")
        .def(
            "get_annotation",
            [](const py_store& self, const std::string& id) {
                auto s = self.get("get_annotation");
                py::gil_scoped_release release;
                return s->get_annotation(id);
            },
            "id"_a, "The annotation with this id. Raises NotFoundError (a KeyError).")
        .def(
            "contains_impression",
            [](const py_store& self, const std::string& id) {
                auto s = self.get("contains_impression");
                py::gil_scoped_release release;
                return s->contains_impression(id);
            },
            "id"_a)
        .def(
            "contains_annotation",
            [](const py_store& self, const std::string& id) {
                auto s = self.get("contains_annotation");
                py::gil_scoped_release release;
                return s->contains_annotation(id);
            },
            "id"_a)
        .def(
            "impressions",
            [](const py_store& self, std::optional<std::int64_t> from_ms, std::optional<std::int64_t> to_ms,
               std::optional<std::string> annotator, std::optional<std::string> case_id,
               std::optional<std::string> model_version, std::optional<std::string> impression_id,
               std::optional<std::string> kind, std::int64_t after_seq, std::int64_t limit, bool as_dict) {
                auto s = self.get("impressions");
                store_filter f = filter_arg(from_ms, to_ms, std::move(annotator), std::move(case_id),
                                            std::move(model_version), std::move(impression_id), kind, after_seq, limit,
                                            "SqliteStore.impressions");
                std::vector<impression> v;
                {
                    py::gil_scoped_release release;
                    v = s->impressions(f);
                }
                return records_to_py(std::move(v), as_dict);
            },
            py::kw_only(), "from_ms"_a = py::none(), "to_ms"_a = py::none(), "annotator"_a = py::none(),
            "case_id"_a = py::none(), "model_version"_a = py::none(), "impression_id"_a = py::none(),
            "kind"_a = py::none(), "after_seq"_a = 0, "limit"_a = 0, "as_dict"_a = false,
            (std::string("Impressions in seq order, as Impression objects or (as_dict) dicts. ") + filters_doc +
             "annotator and kind select impressions with at least one such annotation.")
                .c_str())
        .def(
            "annotations",
            [](const py_store& self, std::optional<std::int64_t> from_ms, std::optional<std::int64_t> to_ms,
               std::optional<std::string> annotator, std::optional<std::string> case_id,
               std::optional<std::string> model_version, std::optional<std::string> impression_id,
               std::optional<std::string> kind, std::int64_t after_seq, std::int64_t limit, bool as_dict) {
                auto s = self.get("annotations");
                store_filter f = filter_arg(from_ms, to_ms, std::move(annotator), std::move(case_id),
                                            std::move(model_version), std::move(impression_id), kind, after_seq, limit,
                                            "SqliteStore.annotations");
                std::vector<annotation> v;
                {
                    py::gil_scoped_release release;
                    v = s->annotations(f);
                }
                return records_to_py(std::move(v), as_dict);
            },
            py::kw_only(), "from_ms"_a = py::none(), "to_ms"_a = py::none(), "annotator"_a = py::none(),
            "case_id"_a = py::none(), "model_version"_a = py::none(), "impression_id"_a = py::none(),
            "kind"_a = py::none(), "after_seq"_a = 0, "limit"_a = 0, "as_dict"_a = false,
            (std::string("Annotations in seq order, as Annotation objects or (as_dict) dicts. ") + filters_doc +
             "case_id and model_version select annotations of impressions with that case or model version.")
                .c_str())
        .def(
            "annotations_since",
            [](const py_store& self, std::int64_t watermark, std::int64_t limit, bool as_dict) {
                auto s = self.get("annotations_since");
                const auto n = static_cast<std::size_t>(range_arg(limit, 0, LLONG_MAX, "SqliteStore.annotations_since", "limit"));
                std::vector<annotation> v;
                {
                    py::gil_scoped_release release;
                    v = s->annotations_since(watermark, n);
                }
                return records_to_py(std::move(v), as_dict);
            },
            "watermark"_a, "limit"_a = 0, "as_dict"_a = false,
            "Annotations with seq > watermark in seq order (at most limit; 0 = all). Resume from the last seq seen: "
            "nothing is missed or returned twice.")
        .def(
            "stats",
            [](const py_store& self) {
                auto s = self.get("stats");
                py::gil_scoped_release release;
                return s->stats();
            },
            "Counts per record type and the watermarks, one consistent snapshot (StoreStats; .to_dict()).")
        .def_property_readonly(
            "watermark",
            [](const py_store& self) {
                auto s = self.get("watermark");
                py::gil_scoped_release release;
                return s->watermark();
            },
            "The largest annotation seq (0 when empty): pass it to annotations_since.")
        .def(
            "export_jsonl",
            [](const py_store& self, const py::object& path) {
                auto s = self.get("export_jsonl");
                const std::string p = path_arg(path);
                py::gil_scoped_release release;
                s->export_jsonl(p);
            },
            "path"_a,
            "Writes a header line, then every impression and every annotation in seq order in their JSON forms "
            "(atomically: a temporary file, then a rename). Raises IoError.")
        .def(
            "import_jsonl",
            [](const py_store& self, const py::object& path) {
                auto s = self.get("import_jsonl");
                const std::string p = path_arg(path);
                py::gil_scoped_release release;
                return s->import_jsonl(p);
            },
            "path"_a,
            "Stores every record of a file written by export_jsonl in one transaction, keeping seq and id; returns "
            "the number of records. Raises ParseError (.file, .line, .field) and stores nothing when a line is bad; "
            "IoError when the file cannot be read; StateError when read-only.")
        .def_property_readonly(
            "schema_version", [](const py_store& self) { return self.get("schema_version")->schema_version(); },
            "Schema version of the file.")
        .def_property_readonly("path", &py_store::path, "The path the store was opened with.")
        .def_property_readonly(
            "config", [](const py_store& self) { return as_dict_t(json_to_py(json(self.config()))); },
            "The settings as a dict: durability, busy_timeout_ms, group_commit_max, read_only.")
        .def_property_readonly("closed", &py_store::closed)
        .def("close", &py_store::close,
             "Closes the store (calls already running finish first); later calls raise StateError. Idempotent.")
        .def("__enter__", [](py_store& self) -> py_store& { return self; }, py::return_value_policy::reference)
        .def(
            "__exit__", [](py_store& self, const py::args&) { self.close(); },
            "Closes the store; exceptions propagate.")
        .def("__repr__", [](const py_store& self) {
            const auto& c = self.config();
            return "SqliteStore(path=" + py::repr(py::str(self.path())).cast<std::string>() + ", durability='" +
                   std::string(to_string(c.durability_mode)) + "', read_only=" + (c.read_only ? "True" : "False") +
                   (self.closed() ? ", closed=True" : "") + ")";
        });
}

}  // namespace aitl::python
