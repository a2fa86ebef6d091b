// Bindings of eval/: evaluate (trec_eval's metrics), qrels and TREC run files.
#include <aitl/error.hpp>
#include <aitl/eval/metrics.hpp>
#include <aitl/eval/qrels.hpp>
#include <aitl/eval/trec.hpp>
#include <aitl/types.hpp>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <climits>
#include <deque>
#include <sstream>

#include "bindings.hpp"
#include "py_slots.hpp"

namespace aitl::python {
namespace {

bool is_mapping(py::handle h) {
    return PyDict_Check(h.ptr()) || (py::hasattr(h, "items") && py::hasattr(h, "keys"));
}

bool is_hit_list(py::handle v) {
    return !is_mapping(v) && !PyUnicode_Check(v.ptr()) && py::isinstance<py::iterable>(v);
}

// Calls fn(key, value) for each item of a dict (fast path) or of any mapping's items().
template <class Fn>
void for_each_item(py::handle mapping, Fn fn) {
    if (PyDict_Check(mapping.ptr())) {
        PyObject *key = nullptr, *value = nullptr;
        Py_ssize_t pos = 0;
        while (PyDict_Next(mapping.ptr(), &pos, &key, &value)) {
            py::object k = py::reinterpret_borrow<py::object>(key);  // owned: fn may run Python code
            py::object v = py::reinterpret_borrow<py::object>(value);
            fn(k, v);
        }
        return;
    }
    for (py::handle item : py::iter(mapping.attr("items")())) {
        py::tuple kv = py::reinterpret_borrow<py::tuple>(item);
        py::object k = kv[0], v = kv[1];
        fn(k, v);
    }
}

// UTF-8 view of a Python str; valid while the str object lives.
std::string_view str_view(py::handle s, const char* who, const char* what) {
    if (!PyUnicode_Check(s.ptr())) {
        throw py::type_error(std::string(who) + ": " + what + " must be str (got " + type_name(s) + ")");
    }
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(s.ptr(), &size);
    if (data == nullptr) throw py::error_already_set();
    return {data, static_cast<std::size_t>(size)};
}

double score_of(py::handle v, const char* who, std::string_view qid, std::string_view docid) {
    if (PyFloat_Check(v.ptr())) return PyFloat_AS_DOUBLE(v.ptr());
    if (!PyUnicode_Check(v.ptr()) && PyNumber_Check(v.ptr())) {
        double d = PyFloat_AsDouble(v.ptr());
        if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
        return d;
    }
    throw py::type_error(std::string(who) + ": score of document '" + std::string(docid) + "' for query '" +
                         std::string(qid) + "' must be a number (got " + type_name(v) + ")");
}

int grade_of(py::handle v, std::string_view qid, std::string_view docid) {
    if (PyFloat_Check(v.ptr()) || !PyIndex_Check(v.ptr())) {
        throw py::type_error("qrels: grade of document '" + std::string(docid) + "' for query '" +
                             std::string(qid) + "' must be int (got " + type_name(v) + ")");
    }
    long long g = py::reinterpret_steal<py::int_>(PyNumber_Index(v.ptr())).cast<long long>();
    if (g < INT_MIN || g > INT_MAX) {
        throw aitl::config_error("qrels: grade out of range for document '" + std::string(docid) +
                                 "' of query '" + std::string(qid) + "' (got " + std::to_string(g) +
                                 ", expected a 32-bit integer)");
    }
    return static_cast<int>(g);
}

aitl::qrels to_qrels(py::handle obj) {
    if (!is_mapping(obj)) {
        throw py::type_error("qrels must be a dict[str, dict[str, int]] (got " + type_name(obj) + ")");
    }
    aitl::qrels q;
    for_each_item(obj, [&](py::handle key, py::handle inner) {
        std::string qid(str_view(key, "qrels", "query ids"));
        if (!is_mapping(inner)) {
            throw py::type_error("qrels: judgements of query '" + qid + "' must be a dict[str, int] (got " +
                                 type_name(inner) + ")");
        }
        auto& judged = q[qid];
        for_each_item(inner, [&](py::handle dkey, py::handle grade) {
            std::string_view docid = str_view(dkey, "qrels", "document ids");
            judged[std::string(docid)] = grade_of(grade, qid, docid);
        });
    });
    return q;
}

// Calls emit(id, score, owner) for each hit of a list: Hit objects (aitl.Hit, or anything with
// .id and .score) or (id, score) pairs. `owner` keeps the id's storage alive.
template <class Emit>
void for_each_hit(py::handle list, const char* who, std::string_view qid, Emit emit) {
    for (py::handle item : py::reinterpret_borrow<py::iterable>(list)) {
        if (py::isinstance<aitl::hit>(item)) {
            const aitl::hit& h = item.cast<const aitl::hit&>();
            emit(std::string_view(h.id), static_cast<double>(h.score), item);
            continue;
        }
        py::object id, score;
        if (PyTuple_Check(item.ptr()) && PyTuple_GET_SIZE(item.ptr()) == 2) {
            id = py::reinterpret_borrow<py::object>(PyTuple_GET_ITEM(item.ptr(), 0));
            score = py::reinterpret_borrow<py::object>(PyTuple_GET_ITEM(item.ptr(), 1));
        } else if (PyList_Check(item.ptr()) && PyList_GET_SIZE(item.ptr()) == 2) {
            id = py::reinterpret_borrow<py::object>(PyList_GET_ITEM(item.ptr(), 0));
            score = py::reinterpret_borrow<py::object>(PyList_GET_ITEM(item.ptr(), 1));
        } else if (py::hasattr(item, "id") && py::hasattr(item, "score")) {
            id = item.attr("id");
            score = item.attr("score");
        } else {
            throw py::type_error(std::string(who) + ": hits of query '" + std::string(qid) +
                                 "' must be Hit objects or (id, score) pairs (got " + type_name(item) + ")");
        }
        std::string_view docid = str_view(id, who, "document ids");
        emit(docid, score_of(score, who, qid, docid), id);
    }
}

void check_run_value(py::handle v, const char* who, std::string_view qid) {
    if (!is_mapping(v) && !is_hit_list(v)) {
        throw py::type_error(std::string(who) + ": run of query '" + std::string(qid) +
                             "' must be a list of Hit or a dict[str, float] (got " + type_name(v) + ")");
    }
}

// A run whose document ids are views into Python objects that `keep` holds alive; aitl.Hit ids
// are copied into `pool` (a Hit is mutable, and the GIL is released while evaluating).
struct view_run {
    std::map<std::string, std::vector<aitl::detail::ranked_entry>> queries;
    std::vector<py::object> keep;
    std::deque<std::string> pool;
};

// Queries the qrels do not judge are kept empty: evaluate skips them anyway, and trec_eval never
// looks at them (so neither does the duplicate check).
void to_view_run(py::handle obj, const aitl::qrels& judgements, view_run& out) {
    if (!is_mapping(obj)) {
        throw py::type_error("evaluate: run must be a dict[str, list[Hit] | dict[str, float]] (got " +
                             type_name(obj) + ")");
    }
    for_each_item(obj, [&](py::handle key, py::handle v) {
        std::string qid(str_view(key, "evaluate", "query ids"));
        check_run_value(v, "evaluate", qid);
        auto& entries = out.queries[qid];
        auto jq = judgements.find(qid);
        if (jq == judgements.end() || jq->second.empty()) return;
        if (is_mapping(v)) {
            for_each_item(v, [&](py::handle dkey, py::handle score) {
                std::string_view docid = str_view(dkey, "evaluate", "document ids");
                entries.emplace_back(docid, score_of(score, "evaluate", qid, docid));
                out.keep.push_back(py::reinterpret_borrow<py::object>(dkey));
            });
        } else {
            for_each_hit(v, "evaluate", qid, [&](std::string_view docid, double score, py::handle owner) {
                if (py::isinstance<aitl::hit>(owner)) {
                    out.pool.emplace_back(docid);
                    docid = out.pool.back();
                } else {
                    out.keep.push_back(py::reinterpret_borrow<py::object>(owner));
                }
                entries.emplace_back(docid, score);
            });
            aitl::detail::check_unique(qid, entries);
        }
    });
}

// The Python face of aitl::evaluation: its fields converted to Python objects once, so that
// `e.per_query[q][m]` in a loop does not convert the whole map on every access.
struct py_evaluation {
    py::list metrics;
    py::dict mean;
    py::dict per_query;
    std::size_t queries = 0;
    py::list queries_without_qrels;
    py::list queries_without_run;

    explicit py_evaluation(const aitl::evaluation& e)
        : metrics(py::cast(e.metrics)),
          mean(py::cast(e.mean)),
          per_query(py::cast(e.per_query)),
          queries(e.queries),
          queries_without_qrels(py::cast(e.queries_without_qrels)),
          queries_without_run(py::cast(e.queries_without_run)) {}
};

std::string repr_evaluation(const py_evaluation& e) {
    std::ostringstream os;
    os << "Evaluation(queries=" << e.queries << ", mean={";
    bool first = true;
    for (py::handle name : e.metrics) {
        os << (first ? "" : ", ") << std::string(py::repr(name)) << ": " << e.mean[name].cast<double>();
        first = false;
    }
    os << "})";
    return os.str();
}

}  // namespace

void bind_eval(py::module_& m) {
    py::class_<py_evaluation>(m, "Evaluation",
                              "Result of evaluate(): per-query values and means (trec_eval's definitions).")
        .def_readonly("metrics", &py_evaluation::metrics, "list[str]: canonical metric names, in request order.")
        .def_readonly("mean", &py_evaluation::mean, "dict[metric, float]: mean over the evaluated queries.")
        .def_readonly("per_query", &py_evaluation::per_query, "dict[query id, dict[metric, float]].")
        .def_readonly("queries", &py_evaluation::queries, "int: number of evaluated queries.")
        .def_readonly("queries_without_qrels", &py_evaluation::queries_without_qrels,
                      "list[str]: queries of the run that the qrels do not judge (skipped).")
        .def_readonly("queries_without_run", &py_evaluation::queries_without_run,
                      "list[str]: judged queries absent from the run (skipped unless average_complete).")
        .def(
            "to_dict",
            [](const py_evaluation& e) {
                py::dict d, per_query;
                for (auto item : e.per_query) per_query[item.first] = item.second.attr("copy")();
                d["metrics"] = e.metrics.attr("copy")();
                d["mean"] = e.mean.attr("copy")();
                d["per_query"] = per_query;
                d["queries"] = e.queries;
                d["queries_without_qrels"] = e.queries_without_qrels.attr("copy")();
                d["queries_without_run"] = e.queries_without_run.attr("copy")();
                return d;
            },
            "All fields as a new plain dict (JSON-serialisable).")
        .def("__repr__", &repr_evaluation);

    m.def("default_metrics", &aitl::default_metrics,
          "The default metric names of evaluate(): recall@8, recall@10, recall@75, precision@8, "
          "precision@10, precision@75, ndcg@10, mrr@10, map, hit_rate@10.");

    m.def(
        "evaluate",
        [](py::handle qrels_obj, py::handle run_obj, const std::vector<std::string>& metrics,
           int relevance_level, bool average_complete) {
            aitl::eval_config cfg;
            cfg.metrics = metrics;
            cfg.relevance_level = relevance_level;
            cfg.average_complete = average_complete;
            aitl::detail::validate_eval_config(cfg);  // fail fast, before converting the run
            const aitl::qrels judgements = to_qrels(qrels_obj);
            view_run r;  // destroyed after the GIL is taken back (it holds Python references)
            to_view_run(run_obj, judgements, r);
            aitl::evaluation e;
            {
                py::gil_scoped_release release;
                e = aitl::detail::evaluate_run(
                    judgements, r.queries, cfg,
                    [](const std::string&, const std::vector<aitl::detail::ranked_entry>& list,
                       std::vector<aitl::detail::ranked_entry>& out) { out = list; });
            }
            return py_evaluation(e);
        },
        py::arg("qrels"), py::arg("run"), py::arg("metrics") = aitl::default_metrics(),
        py::arg("relevance_level") = 1, py::arg("average_complete") = false,
        R"doc(Evaluate a run against qrels with trec_eval's definitions.

qrels: dict[query id, dict[doc id, int grade]]; run: dict[query id, list[Hit] | dict[doc id, score]]
(lists may also hold (id, score) pairs). Hits are ranked by score descending, ties by doc id in
decreasing byte order (trec_eval); a doc listed twice for one judged query raises ConfigError.
Metrics: recall@k, precision@k, ndcg@k, ndcg, mrr@k, mrr, map, map@k, hit_rate@k. Queries in both
run and qrels are evaluated; means are over them (or over every judged query, missing ones as 0,
with average_complete=True, trec_eval -c). A grade >= relevance_level is relevant; nDCG gains are
the grades. Raises ConfigError on a bad metric name, k <= 0, relevance_level < 1, NaN scores.)doc");

    m.def(
        "read_qrels",
        [](const std::filesystem::path& path) {
            aitl::qrels q;
            {
                py::gil_scoped_release release;
                q = aitl::read_qrels(path);
            }
            return q;
        },
        py::arg("path"),
        "Read BEIR qrels TSV (query-id corpus-id score, header) or TREC qrels (qid iter docid rel) "
        "-> dict[str, dict[str, int]]. Raises IoError (missing file), ParseError (.file, .line, .field).");

    m.def(
        "write_qrels",
        [](const std::filesystem::path& path, py::handle qrels_obj, const std::string& format) {
            aitl::qrels_format f;
            if (format == "beir") {
                f = aitl::qrels_format::beir;
            } else if (format == "trec") {
                f = aitl::qrels_format::trec;
            } else {
                throw aitl::config_error("write_qrels: unknown format (got '" + format +
                                         "', expected 'beir' or 'trec')");
            }
            const aitl::qrels q = to_qrels(qrels_obj);
            py::gil_scoped_release release;
            aitl::write_qrels(path, q, f);
        },
        py::arg("path"), py::arg("qrels"), py::arg("format") = "beir",
        "Write qrels as BEIR TSV (with header) or TREC qrels (format='trec').");

    m.def(
        "read_trec_run",
        [](const std::filesystem::path& path) {
            aitl::run r;
            {
                py::gil_scoped_release release;
                r = aitl::read_trec_run(path);
            }
            py::dict out;  // aitl.Hit is bound in bind_kb.cpp
            for (auto& [qid, list] : r) {
                py::list hits(list.size());
                for (std::size_t i = 0; i < list.size(); ++i) {
                    hits[i] = py::cast(std::move(list[i]), py::return_value_policy::move);
                }
                out[py::str(qid)] = std::move(hits);
            }
            return out;
        },
        py::arg("path"),
        "Read a TREC run file (qid Q0 docid rank score tag) -> dict[str, list[Hit]], each list in "
        "trec_eval's order (score descending, ties by doc id descending; the rank column is ignored). "
        "Raises IoError, ParseError (.file, .line, .field; also on a duplicate doc for one query).");

    m.def(
        "write_trec_run",
        [](const std::filesystem::path& path, py::handle run_obj, const std::string& tag) {
            if (!is_mapping(run_obj)) {
                throw py::type_error("write_trec_run: run must be a dict[str, list[Hit] | dict[str, float]] (got " +
                                     type_name(run_obj) + ")");
            }
            // Lists of Hit keep float32 scores (written shortest, e.g. 0.1); dicts keep doubles.
            bool all_lists = true;
            for_each_item(run_obj, [&](py::handle key, py::handle v) {
                std::string_view qid = str_view(key, "write_trec_run", "query ids");
                check_run_value(v, "write_trec_run", qid);
                all_lists = all_lists && !is_mapping(v);
            });
            if (all_lists) {
                aitl::run r;
                for_each_item(run_obj, [&](py::handle key, py::handle v) {
                    std::string qid(str_view(key, "write_trec_run", "query ids"));
                    auto& list = r[qid];
                    for_each_hit(v, "write_trec_run", qid, [&](std::string_view docid, double score, py::handle) {
                        list.push_back(aitl::hit{std::string(docid), static_cast<float>(score)});
                    });
                });
                py::gil_scoped_release release;
                aitl::write_trec_run(path, r, tag);
                return;
            }
            aitl::scored_run r;
            for_each_item(run_obj, [&](py::handle key, py::handle v) {
                std::string qid(str_view(key, "write_trec_run", "query ids"));
                auto& docs = r[qid];
                auto add = [&](std::string_view docid, double score) {
                    auto [it, inserted] = docs.emplace(std::string(docid), score);
                    if (!inserted) {
                        throw aitl::config_error("write_trec_run: duplicate document '" + it->first +
                                                 "' for query '" + qid +
                                                 "' (got it twice, expected each document once per query)");
                    }
                };
                if (is_mapping(v)) {
                    for_each_item(v, [&](py::handle dkey, py::handle score) {
                        std::string_view docid = str_view(dkey, "write_trec_run", "document ids");
                        add(docid, score_of(score, "write_trec_run", qid, docid));
                    });
                } else {
                    for_each_hit(v, "write_trec_run", qid,
                                 [&](std::string_view docid, double score, py::handle) { add(docid, score); });
                }
            });
            py::gil_scoped_release release;
            aitl::write_trec_run(path, r, tag);
        },
        py::arg("path"), py::arg("run"), py::arg("tag") = "aitl",
        "Write a run (dict[str, list[Hit] | dict[str, float]]) as a TREC run file: lines "
        "'qid Q0 docid rank score tag', each query in trec_eval's order with ranks 1, 2, ...; a query "
        "with no hit writes nothing. Raises ConfigError on ids or tag with whitespace, NaN, duplicates.");
}

}  // namespace aitl::python
