// Python bindings of kb/ and the vocabulary types every family uses: Document, Hit,
// KnowledgeBase.
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/detail/json_parse.hpp>
#include <aitl/kb/queries.hpp>
#include <aitl/types.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;

nlohmann::json metadata_arg(const py::object& m, const char* where) {
    if (m.is_none()) return nlohmann::json::object();
    if (!py::isinstance<py::dict>(m))
        throw py::type_error(std::string(where) + ": metadata must be a dict (got " + type_name(m) + ")");
    return py_to_json(m, where);
}

std::string hit_repr(const hit& h) {
    char score[32];
    std::snprintf(score, sizeof score, "%.6g", static_cast<double>(h.score));
    return "Hit(id=" + repr_str(h.id, 200) + ", score=" + score + ")";
}

// Iterates over a snapshot of the ids; documents removed meanwhile are skipped.
struct kb_iterator {
    py::object owner;  // keeps the KnowledgeBase alive
    std::vector<std::string> ids;
    std::size_t next = 0;
};

}  // namespace

void bind_kb(py::module_& m) {
    m.attr("json_max_depth") = aitl::json_max_depth;
    m.def(
        "parse_json",
        [](const py::object& text, const std::string& file, std::size_t line) {
            std::string bytes;
            if (py::isinstance<py::bytes>(text)) bytes = text.cast<std::string>();
            else if (py::isinstance<py::str>(text)) bytes = str_arg(text, "parse_json", "text");
            else throw py::type_error("parse_json: text must be str or bytes (got " + type_name(text) + ")");
            nlohmann::json j;
            {
                py::gil_scoped_release release;
                j = aitl::detail::parse_json(bytes, file, line, "parse_json");
            }
            return json_to_py(j);
        },
        py::arg("text"), py::arg("file") = "<string>", py::arg("line") = 0,
        "Parse one JSON value (str or bytes; a UTF-8 BOM is skipped) the way every aitl loader does. "
        "Raises ParseError (.file, .line, .field) naming the byte offset for invalid UTF-8, nesting deeper "
        "than json_max_depth, or a syntax error; with line=0 the error names the line of the offending byte.");
    m.def(
        "read_queries",
        [](const py::object& path, const std::string& text_key) {
            const std::string p = path_arg(path);
            py::gil_scoped_release release;
            return aitl::read_queries(p, text_key);
        },
        py::arg("path"), py::arg("text_key") = "text",
        "Read a BEIR queries.jsonl ({\"_id\": id, text_key: text} per line) -> list of (id, text) in file order. "
        "Raises IoError (missing file), ParseError (.file, .line, .field) for a bad line, a missing or "
        "non-string id or text, a duplicate id, non-UTF-8 bytes or nesting deeper than json_max_depth.");
    py::class_<document>(m, "Document",
                         "One knowledge-base document: id, title, text, metadata (a dict) and version.")
        .def(py::init([](std::string id, std::string title, std::string text, const py::object& metadata,
                         std::uint64_t version) {
                 return document{std::move(id), std::move(title), std::move(text), metadata_arg(metadata, "Document"),
                                 version};
             }),
             "id"_a, "title"_a = "", "text"_a = "", "metadata"_a = py::none(), "version"_a = 1)
        .def_readwrite("id", &document::id)
        .def_readwrite("title", &document::title)
        .def_readwrite("text", &document::text)
        .def_property(
            "metadata", [](const document& d) { return json_to_py(d.metadata); },
            [](document& d, const py::object& v) { d.metadata = metadata_arg(v, "Document.metadata"); },
            "Free-form metadata (a copy; assign a new dict to change it).")
        .def_readwrite("version", &document::version)
        .def("indexed_text", &document::indexed_text, "Title and text joined by a newline (what retrievers index).")
        .def("__eq__",
             [](const document& a, const document& b) {
                 return a.id == b.id && a.title == b.title && a.text == b.text && a.metadata == b.metadata &&
                        a.version == b.version;
             })
        .def("__repr__",
             [](const document& d) {
                 return "Document(id=" + repr_str(d.id, 200) + ", title=" + repr_str(d.title) + ", text=" +
                        repr_str(d.text) + ", version=" + std::to_string(d.version) + ")";
             })
        .def(py::pickle(
            [](const document& d) { return py::make_tuple(d.id, d.title, d.text, json_to_py(d.metadata), d.version); },
            [](const py::tuple& t) {
                if (t.size() != 5) throw py::value_error("Document: bad pickle state");
                return document{t[0].cast<std::string>(), t[1].cast<std::string>(), t[2].cast<std::string>(),
                                metadata_arg(t[3], "Document"), t[4].cast<std::uint64_t>()};
            }));

    py::class_<hit>(m, "Hit", "One search result: a document id and its score (higher is better).")
        .def(py::init([](std::string id, float score) { return hit{std::move(id), score}; }), "id"_a, "score"_a = 0.0f)
        .def_readwrite("id", &hit::id)
        .def_readwrite("score", &hit::score)
        .def("__eq__", [](const hit& a, const hit& b) { return a == b; })
        .def("__iter__", [](const hit& h) { return py::iter(py::make_tuple(h.id, h.score)); },
             "Unpacks as (id, score).")
        .def("__repr__", &hit_repr)
        .def(py::pickle([](const hit& h) { return py::make_tuple(h.id, h.score); },
                        [](const py::tuple& t) {
                            if (t.size() != 2) throw py::value_error("Hit: bad pickle state");
                            return hit{t[0].cast<std::string>(), t[1].cast<float>()};
                        }));

    py::class_<knowledge_base>(m, "KnowledgeBase",
                               "Documents keyed by unique id, iterated in insertion order; BEIR and JSONL loaders.")
        .def(py::init<>())
        .def(py::init([](const py::iterable& docs) {
                 knowledge_base kb;
                 for (py::handle d : docs) kb.add(d.cast<document>());
                 return kb;
             }),
             "documents"_a, "A knowledge base holding these Documents (ConfigError on duplicate ids).")
        .def("add", [](knowledge_base& kb, const document& d) { kb.add(d); }, "document"_a,
             "Adds a Document. Raises ConfigError for an empty or duplicate id.")
        .def("update", [](knowledge_base& kb, const document& d) { return kb.update(d); }, "document"_a,
             "Replaces the document with the same id and returns its new version (old + 1). "
             "Raises NotFoundError for an unknown id.")
        .def("remove", [](knowledge_base& kb, const std::string& id) { kb.remove(id); }, "id"_a,
             "Removes a document. Raises NotFoundError for an unknown id.")
        .def("get", [](const knowledge_base& kb, const std::string& id) { return kb.get(id); }, "id"_a,
             "The document with this id (a copy). Raises NotFoundError (a KeyError) for an unknown id.")
        .def("__getitem__", [](const knowledge_base& kb, const std::string& id) { return kb.get(id); })
        .def("__contains__", [](const knowledge_base& kb, const std::string& id) { return kb.contains(id); })
        .def("__len__", &knowledge_base::size)
        .def(
            "__iter__",
            [](const py::object& self) { return kb_iterator{self, self.cast<const knowledge_base&>().ids()}; },
            "Documents (copies) in insertion order.")
        .def("ids", &knowledge_base::ids, "The ids in insertion order.")
        .def("clear", &knowledge_base::clear)
        .def_static(
            "load_beir",
            [](const py::object& path) {
                const std::string p = path_arg(path);
                py::gil_scoped_release release;
                return knowledge_base::load_beir(p);
            },
            "path"_a,
            "Loads a BEIR corpus (corpus.jsonl, or a folder holding it): _id, title, text; other keys go to "
            "metadata. Raises IoError (missing file), ParseError (.file, .line, .field) for a malformed line or a "
            "duplicate id, ConfigError for a corpus without documents.")
        .def_static(
            "load_jsonl",
            [](const py::object& path) {
                const std::string p = path_arg(path);
                py::gil_scoped_release release;
                return knowledge_base::load_jsonl(p);
            },
            "path"_a, "Loads aitl's JSONL (id, title, text, metadata, version); errors as load_beir.")
        .def(
            "save_jsonl",
            [](const knowledge_base& kb, const py::object& path) {
                const std::string p = path_arg(path);
                py::gil_scoped_release release;
                kb.save_jsonl(p);
            },
            "path"_a, "Writes every document as one JSON line (load_jsonl reads it back). Raises IoError.")
        .def("__repr__", [](const knowledge_base& kb) { return "KnowledgeBase(size=" + std::to_string(kb.size()) + ")"; });

    py::class_<kb_iterator>(m, "_KnowledgeBaseIterator")
        .def("__iter__", [](const py::object& self) { return self; })
        .def("__next__", [](kb_iterator& it) -> document {
            const knowledge_base& kb = it.owner.cast<const knowledge_base&>();
            while (it.next < it.ids.size())
                if (const document* d = kb.find(it.ids[it.next++])) return *d;
            throw py::stop_iteration();
        });
}

}  // namespace aitl::python
