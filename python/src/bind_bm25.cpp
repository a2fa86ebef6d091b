// Python binding of retrieval/bm25.hpp: BM25 (the thread-safe bm25 = basic_bm25<shared_mutex>).
// The GIL is released while indexing and searching.
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/retrieval/bm25.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "py_slots.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;

std::size_t k_arg(py::ssize_t k, const char* where) {
    if (k <= 0)
        throw config_error(std::string(where) + ": k must be positive (got " + std::to_string(k) + ", expected k >= 1)");
    return static_cast<std::size_t>(k);
}

std::size_t threads_arg(py::ssize_t t, const char* where) {
    if (t < 0)
        throw config_error(std::string(where) + ": threads must not be negative (got " + std::to_string(t) +
                           ", expected 0 for all hardware threads or a count)");
    return static_cast<std::size_t>(t);
}

std::string num(float x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(x));
    return buf;
}

}  // namespace

void bind_bm25(py::module_& m) {
    py::class_<bm25>(m, "BM25",
                     "Okapi BM25 over an in-memory inverted index (Xapian's BM25 formula), with incremental add/"
                     "remove, exact top-k with dynamic pruning and parallel batch search. Thread-safe.")
        .def(py::init([](float k1, float b, bool unique_query_terms, bool dynamic_pruning, bool lowercase,
                         bool stopwords, bool stem, std::string language) {
                 bm25_config c;
                 c.k1 = k1;
                 c.b = b;
                 c.unique_query_terms = unique_query_terms;
                 c.dynamic_pruning = dynamic_pruning;
                 c.analyzer = {lowercase, stopwords, stem, std::move(language)};
                 return std::make_unique<bm25>(std::move(c));
             }),
             "k1"_a = bm25_config{}.k1, "b"_a = bm25_config{}.b, "unique_query_terms"_a = true,
             "dynamic_pruning"_a = true, "lowercase"_a = true, "stopwords"_a = true, "stem"_a = true,
             "language"_a = "english",
             "Defaults (k1=0.5, b=0.75, English stop words, each distinct query word once) are tuned for "
             "dialogue queries over short snippets; k1=1, b=0.5, stopwords=False, unique_query_terms=False "
             "reproduce Xapian's default BM25 ranking. Raises ConfigError for k1 < 0 or b outside [0, 1].")
        .def(
            "add",
            [](bm25& self, const std::string& id, const std::string& text) {
                py::gil_scoped_release release;
                self.add(id, text);
            },
            "id"_a, "text"_a, "Indexes one text. Raises ConfigError on an empty or duplicate id.")
        .def(
            "add_documents",
            [](bm25& self, const py::object& docs) {
                if (py::isinstance<knowledge_base>(docs)) {
                    const knowledge_base& kb = docs.cast<const knowledge_base&>();
                    py::gil_scoped_release release;
                    self.add(kb);
                    return;
                }
                std::vector<document> batch;
                for (py::handle d : docs) {
                    if (!py::isinstance<document>(d))
                        throw py::type_error("BM25.add_documents: expected a KnowledgeBase or Documents (got " +
                                             type_name(d) + ")");
                    batch.push_back(d.cast<document>());
                }
                py::gil_scoped_release release;
                self.add(batch);
            },
            "documents"_a,
            "Indexes a KnowledgeBase or an iterable of Document (title + text). All ids are checked first: "
            "ConfigError on an empty or duplicate id, and then nothing is added. The GIL is released while "
            "indexing: do not modify the KnowledgeBase from another thread meanwhile.")
        .def(
            "update",
            [](bm25& self, const std::string& id, const std::string& text) {
                py::gil_scoped_release release;
                self.update(id, text);
            },
            "id"_a, "text"_a, "Replaces the text of a document. Raises NotFoundError for an unknown id.")
        .def(
            "remove",
            [](bm25& self, const std::string& id) {
                py::gil_scoped_release release;
                self.remove(id);
            },
            "id"_a, "Removes a document (later searches never return it). Raises NotFoundError for an unknown id.")
        .def("clear", &bm25::clear, py::call_guard<py::gil_scoped_release>(), "Removes every document.")
        .def(
            "search",
            [](const bm25& self, const std::string& query, py::ssize_t k) {
                const std::size_t kk = k_arg(k, "BM25.search");
                py::gil_scoped_release release;
                return self.search(query, kk);
            },
            "query"_a, "k"_a,
            "The k best documents for `query` (list[Hit], best first; fewer when fewer match). "
            "Raises ConfigError when k <= 0.")
        .def(
            "search_batch",
            [](const bm25& self, const std::vector<std::string>& queries, py::ssize_t k, py::ssize_t threads) {
                const std::size_t kk = k_arg(k, "BM25.search_batch");
                const std::size_t tt = threads_arg(threads, "BM25.search_batch");
                py::gil_scoped_release release;
                return self.search_batch(queries, kk, tt);
            },
            "queries"_a, "k"_a, "threads"_a = 0,
            "search() for every query (list[list[Hit]]), on `threads` threads (0 = one per hardware thread).")
        .def("__len__", &bm25::size)
        .def("__contains__", [](const bm25& self, const std::string& id) { return self.contains(id); })
        .def(
            "stats",
            [](const bm25& self) {
                const bm25_stats s = self.stats();
                return py::dict("documents"_a = s.documents, "terms"_a = s.terms, "postings"_a = s.postings,
                                "average_length"_a = s.average_length);
            },
            "Index statistics: documents, terms, postings, average_length (live documents only).")
        .def_property_readonly("config", [](const bm25& self) { return json_to_py(nlohmann::json(self.config())); },
                               "The settings as a dict (k1, b, unique_query_terms, dynamic_pruning, analyzer).")
        .def("__repr__", [](const bm25& self) {
            return "BM25(documents=" + std::to_string(self.size()) + ", k1=" + num(self.config().k1) +
                   ", b=" + num(self.config().b) + ")";
        });
    register_retriever<bm25>("bm25");  // shared with pipelines and composed retrievers, searched in C++
}

}  // namespace aitl::python
