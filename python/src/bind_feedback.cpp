// Python bindings of feedback/: Candidate, Reply, Impression, the four annotation bodies
// (Preference, Adoption, KnowledgeRelevance with RelevanceLabel, MissingKnowledge) and Annotation.
//
// Enums are plain str in Python, parsed by aitl::parse_enum (ConfigError naming the field).
// Every class has to_dict()/from_dict(d) in the JSON form of the C++ to_json/from_json, __eq__,
// __repr__ and pickling (through the dict). List-, dict- and body-valued properties return
// copies: assign a new value to change them.
#include <aitl/feedback/annotation.hpp>
#include <aitl/feedback/impression.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;
using nlohmann::json;

std::string repr_of(const std::string& s) { return repr_str(s, 60); }

std::string repr_of(double x) { return py::repr(py::float_(x)).cast<std::string>(); }

// rank, turn and reply are uint32 in C++: take any Python int and name the field when out of range.
std::uint32_t u32_arg(std::int64_t v, const char* where, const char* field) {
    if (v < 0 || v > static_cast<std::int64_t>(UINT32_MAX))
        detail::record_field_error(where, field,
                                   "out of range (got " + std::to_string(v) + ", expected 0 <= " + field + " < 2^32)");
    return static_cast<std::uint32_t>(v);
}

bool is_bool(py::handle h) {
    if (PyBool_Check(h.ptr())) return true;
    const std::string t = Py_TYPE(h.ptr())->tp_name;
    return t == "numpy.bool_" || t == "numpy.bool";
}

std::vector<adoption_reason> reasons_arg(const std::vector<std::string>& names) {
    std::vector<adoption_reason> out;
    out.reserve(names.size());
    for (std::size_t i = 0; i < names.size(); ++i)
        out.push_back(parse_enum<adoption_reason>(names[i], "reasons[" + std::to_string(i) + "]"));
    return out;
}

std::vector<std::string> reason_names(const std::vector<adoption_reason>& rs) {
    std::vector<std::string> out;
    out.reserve(rs.size());
    for (auto r : rs) out.emplace_back(to_string(r));
    return out;
}

// labels: a list of RelevanceLabel or (doc_id, relevant) pairs, or a dict {doc_id: relevant}.
std::vector<relevance_label> labels_arg(py::handle h) {
    std::vector<relevance_label> out;
    auto label_of = [](py::handle doc, py::handle rel, const std::string& f) {
        if (!PyUnicode_Check(doc.ptr()))
            throw py::type_error("KnowledgeRelevance: field '" + f + ".doc_id' must be str (got " + type_name(doc) + ")");
        if (!is_bool(rel))
            throw py::type_error("KnowledgeRelevance: field '" + f + ".relevant' must be bool (got " +
                                 type_name(rel) + ")");
        return relevance_label{doc.cast<std::string>(), PyObject_IsTrue(rel.ptr()) == 1};
    };
    if (PyDict_Check(h.ptr())) {
        std::size_t i = 0;
        for (auto item : h.cast<py::dict>()) {
            out.push_back(label_of(item.first, item.second, "labels[" + std::to_string(i) + "]"));
            ++i;
        }
        return out;
    }
    if (PyUnicode_Check(h.ptr()) || !py::isinstance<py::iterable>(h))
        throw py::type_error("KnowledgeRelevance: field 'labels' must be a list of RelevanceLabel or (doc_id, relevant) "
                             "pairs, or a dict {doc_id: relevant} (got " + type_name(h) + ")");
    std::size_t i = 0;
    for (py::handle item : py::reinterpret_borrow<py::iterable>(h)) {
        const std::string f = "labels[" + std::to_string(i++) + "]";
        if (py::isinstance<relevance_label>(item)) {
            out.push_back(item.cast<relevance_label>());
        } else if ((PyTuple_Check(item.ptr()) || PyList_Check(item.ptr())) && py::len(item) == 2) {
            py::sequence pair = py::reinterpret_borrow<py::sequence>(item);
            out.push_back(label_of(pair[0], pair[1], f));
        } else {
            throw py::type_error("KnowledgeRelevance: field '" + f +
                                 "' must be a RelevanceLabel or a (doc_id, relevant) pair (got " + type_name(item) + ")");
        }
    }
    return out;
}

// ---- JSON forms ----------------------------------------------------------------------------

json dict_arg(const py::object& d, const char* where) { return py_to_json(d, where); }

// A body's JSON keys are read by the annotation reader: check the keys here (so common keys are
// refused), then complete the record with placeholder common fields.
template <class Body>
Body body_from_json(json j, const char* kind, std::initializer_list<const char*> keys) {
    const std::string where = std::string(kind) + "::from_json";
    detail::record_check_object(j, where, "");
    detail::record_check_keys(j, where, "", keys);
    j["type"] = kind;
    j["impression_id"] = "-";
    j["annotator"] = "-";
    j["timestamp_ms"] = 0;
    annotation a;
    from_json(j, a);
    return std::get<Body>(std::move(a.body));
}

template <class Body>
json body_to_json(const Body& b) {
    annotation a;
    a.body = b;
    json j = a;
    for (const char* k : {"type", "seq", "id", "impression_id", "annotator", "timestamp_ms", "time_to_annotate_ms", "weight"})
        j.erase(k);
    return j;
}

candidate candidate_from_json(const json& j) {
    const char* w = "candidate::from_json";
    detail::record_check_object(j, w, "");
    detail::record_check_keys(j, w, "", {"doc_id", "rank", "score"});
    candidate c;
    detail::record_read(j, w, "", "doc_id", c.doc_id, true);
    detail::record_read(j, w, "", "rank", c.rank, true);
    detail::record_read(j, w, "", "score", c.score, true);
    return c;
}

reply reply_from_json(const json& j) {
    const char* w = "reply::from_json";
    detail::record_check_object(j, w, "");
    detail::record_check_keys(j, w, "", {"variant", "position", "text"});
    reply r;
    detail::record_read(j, w, "", "variant", r.variant, true);
    detail::record_read(j, w, "", "text", r.text, true);
    detail::record_read_enum(j, w, "", "position", r.position, false);
    return r;
}

relevance_label label_from_json(const json& j) {
    const char* w = "relevance_label::from_json";
    detail::record_check_object(j, w, "");
    detail::record_check_keys(j, w, "", {"doc_id", "relevant"});
    relevance_label l;
    detail::record_read(j, w, "", "doc_id", l.doc_id, true);
    detail::record_read(j, w, "", "relevant", l.relevant, true);
    return l;
}

// ---- bodies <-> Python ---------------------------------------------------------------------

annotation_body body_arg(py::handle h) {
    if (py::isinstance<preference>(h)) return h.cast<preference>();
    if (py::isinstance<adoption>(h)) return h.cast<adoption>();
    if (py::isinstance<knowledge_relevance>(h)) return h.cast<knowledge_relevance>();
    if (py::isinstance<missing_knowledge>(h)) return h.cast<missing_knowledge>();
    throw py::type_error("Annotation: body must be a Preference, Adoption, KnowledgeRelevance or MissingKnowledge (got " +
                         type_name(h) + ")");
}

std::string body_repr(const annotation_body& b);

std::string candidate_repr(const candidate& c) {
    return "Candidate(doc_id=" + repr_of(c.doc_id) + ", rank=" + std::to_string(c.rank) + ", score=" + repr_of(c.score) + ")";
}

std::string reply_repr(const reply& r) {
    return "Reply(variant=" + repr_of(r.variant) + ", text=" + repr_of(r.text) + ", position='" +
           std::string(to_string(r.position)) + "')";
}

std::string preference_repr(const preference& p) {
    return "Preference(choice='" + std::string(to_string(p.choice)) + "', strength='" +
           std::string(to_string(p.strength)) + "', rationale=" + repr_of(p.rationale) + ")";
}

std::string adoption_repr(const adoption& d) {
    return "Adoption(outcome='" + std::string(to_string(d.outcome)) + "', reply=" + std::to_string(d.reply) +
           ", final_text=" + repr_of(d.final_text) + ", reasons=" + py::repr(py::cast(reason_names(d.reasons))).cast<std::string>() +
           ", rationale=" + repr_of(d.rationale) + ")";
}

std::string label_repr(const relevance_label& l) {
    return "RelevanceLabel(doc_id=" + repr_of(l.doc_id) + ", relevant=" + (l.relevant ? "True" : "False") + ")";
}

std::string relevance_repr(const knowledge_relevance& r) {
    std::string s = "KnowledgeRelevance(labels=[";
    for (std::size_t i = 0; i < r.labels.size(); ++i) s += (i ? ", " : "") + label_repr(r.labels[i]);
    return s + "], selected=" + py::repr(py::cast(r.selected)).cast<std::string>() + ")";
}

std::string missing_repr(const missing_knowledge& m) {
    return "MissingKnowledge(description=" + repr_of(m.description) + ", suggested_source=" +
           repr_of(m.suggested_source) + ")";
}

std::string body_repr(const annotation_body& b) {
    if (const auto* p = std::get_if<preference>(&b)) return preference_repr(*p);
    if (const auto* d = std::get_if<adoption>(&b)) return adoption_repr(*d);
    if (const auto* r = std::get_if<knowledge_relevance>(&b)) return relevance_repr(*r);
    if (const auto* m = std::get_if<missing_knowledge>(&b)) return missing_repr(*m);
    return "None";
}

std::string impression_repr(const impression& i) {
    return "Impression(id=" + repr_of(i.id) + ", seq=" + std::to_string(i.seq) + ", case_id=" + repr_of(i.case_id) +
           ", turn=" + std::to_string(i.turn) + ", timestamp_ms=" + std::to_string(i.timestamp_ms) +
           ", query=" + repr_of(i.query) + ", retrieved=<" + std::to_string(i.retrieved.size()) + ">, shown=<" +
           std::to_string(i.shown.size()) + ">, replies=<" + std::to_string(i.replies.size()) + ">)";
}

std::string annotation_repr(const annotation& a) {
    return "Annotation(id=" + repr_of(a.id) + ", seq=" + std::to_string(a.seq) + ", impression_id=" +
           repr_of(a.impression_id) + ", annotator=" + repr_of(a.annotator) + ", timestamp_ms=" +
           std::to_string(a.timestamp_ms) + ", time_to_annotate_ms=" + std::to_string(a.time_to_annotate_ms) +
           ", weight=" + repr_of(a.weight) + ", body=" + body_repr(a.body) + ")";
}

// The dict of x: `to` gives its JSON form (or the dict itself).
template <class To, class T>
dict_t dict_of(const To& to, const T& x) {
    if constexpr (std::is_same_v<std::decay_t<decltype(to(x))>, json>) return as_dict_t(json_to_py(to(x)));
    else return as_dict_t(to(x));
}

// Adds to_dict, from_dict, __eq__, pickling to a class whose JSON form is given by to/from.
template <class T, class Cls, class To, class From>
void add_dict_support(Cls& cls, To to, From from, const char* from_doc) {
    const std::string name = py::str(cls.attr("__name__"));
    cls.def("to_dict", [to](const T& x) { return dict_of(to, x); }, "The JSON form as a dict.")
        .def_static(
            "from_dict", [from, name](const dict_t& d) { return from(dict_arg(d, (name + ".from_dict").c_str())); },
            "d"_a, from_doc)
        .def("__eq__", [](const T& a, const T& b) { return a == b; }, py::is_operator())
        .def(py::pickle([to](const T& x) { return dict_of(to, x); },
                        [from, name](const py::object& d) { return from(dict_arg(d, (name + ".__setstate__").c_str())); }));
}

}  // namespace

// ---- shared with bind_store.cpp --------------------------------------------------------------

// The JSON forms built directly as Python dicts (5x faster than through nlohmann::json, for
// reads of many records); tests check them against the C++ to_json (JSONL export).
namespace {

py::object checked(PyObject* o) {
    if (o == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(o);
}
py::object py_text(const std::string& s) {
    return checked(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr));
}
py::object py_text(std::string_view s) {
    return checked(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr));
}
py::object py_int(long long v) { return checked(PyLong_FromLongLong(v)); }
py::object py_real(double v) { return checked(PyFloat_FromDouble(v)); }
py::object py_flag(bool v) { return py::reinterpret_borrow<py::object>(v ? Py_True : Py_False); }

// Interned keys, created once and never freed (they outlive the module's static destructors).
PyObject* key(const char* name) {
    PyObject* k = PyUnicode_InternFromString(name);
    if (k == nullptr) throw py::error_already_set();
    return k;
}
struct dict_keys {
    PyObject *type = key("type"), *seq = key("seq"), *id = key("id"), *case_id = key("case_id"), *turn = key("turn"),
             *timestamp_ms = key("timestamp_ms"), *query = key("query"), *context = key("context"),
             *retrieved = key("retrieved"), *shown = key("shown"), *replies = key("replies"), *models = key("models"),
             *doc_id = key("doc_id"), *rank = key("rank"), *score = key("score"), *variant = key("variant"),
             *position = key("position"), *text = key("text"), *impression_id = key("impression_id"),
             *annotator = key("annotator"), *time_to_annotate_ms = key("time_to_annotate_ms"), *weight = key("weight"),
             *choice = key("choice"), *strength = key("strength"), *rationale = key("rationale"),
             *outcome = key("outcome"), *reply = key("reply"), *final_text = key("final_text"),
             *reasons = key("reasons"), *labels = key("labels"), *selected = key("selected"),
             *relevant = key("relevant"), *description = key("description"),
             *suggested_source = key("suggested_source"), *impression = key("impression");
};
const dict_keys& keys() {
    static const dict_keys* k = new dict_keys();  // first call holds the GIL
    return *k;
}

void put(py::dict& d, PyObject* k, const py::object& v) {
    if (PyDict_SetItem(d.ptr(), k, v.ptr()) != 0) throw py::error_already_set();
}

template <class T, class F>
py::object py_list(const std::vector<T>& v, F each) {
    py::object out = checked(PyList_New(static_cast<Py_ssize_t>(v.size())));
    for (std::size_t i = 0; i < v.size(); ++i)
        PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), each(v[i]).release().ptr());
    return out;
}

py::object candidates_dict(const std::vector<candidate>& v) {
    const auto& k = keys();
    return py_list(v, [&](const candidate& c) {
        py::dict d;
        put(d, k.doc_id, py_text(c.doc_id));
        put(d, k.rank, py_int(c.rank));
        put(d, k.score, py_real(c.score));
        return py::object(std::move(d));
    });
}

}  // namespace

py::object to_py_dict(const impression& i) {
    const auto& k = keys();
    py::dict d;
    put(d, k.type, py::reinterpret_borrow<py::object>(k.impression));
    put(d, k.seq, py_int(i.seq));
    put(d, k.id, py_text(i.id));
    put(d, k.case_id, py_text(i.case_id));
    put(d, k.turn, py_int(i.turn));
    put(d, k.timestamp_ms, py_int(i.timestamp_ms));
    put(d, k.query, py_text(i.query));
    put(d, k.context, py_list(i.context, [](const std::string& s) { return py_text(s); }));
    put(d, k.retrieved, candidates_dict(i.retrieved));
    put(d, k.shown, candidates_dict(i.shown));
    put(d, k.replies, py_list(i.replies, [&](const reply& r) {
            py::dict e;
            put(e, k.variant, py_text(r.variant));
            put(e, k.position, py_text(to_string(r.position)));
            put(e, k.text, py_text(r.text));
            return py::object(std::move(e));
        }));
    py::dict models;
    for (const auto& [role, version] : i.models)
        if (PyDict_SetItem(models.ptr(), py_text(role).ptr(), py_text(version).ptr()) != 0) throw py::error_already_set();
    put(d, k.models, models);
    return std::move(d);
}

py::object to_py_dict(const annotation& a) {
    const auto& k = keys();
    py::dict d;
    put(d, k.type, py_text(to_string(a.kind())));
    put(d, k.seq, py_int(a.seq));
    put(d, k.id, py_text(a.id));
    put(d, k.impression_id, py_text(a.impression_id));
    put(d, k.annotator, py_text(a.annotator));
    put(d, k.timestamp_ms, py_int(a.timestamp_ms));
    put(d, k.time_to_annotate_ms, py_int(a.time_to_annotate_ms));
    put(d, k.weight, py_real(a.weight));
    if (const auto* p = std::get_if<preference>(&a.body)) {
        put(d, k.choice, py_text(to_string(p->choice)));
        put(d, k.strength, py_text(to_string(p->strength)));
        put(d, k.rationale, py_text(p->rationale));
    } else if (const auto* o = std::get_if<adoption>(&a.body)) {
        put(d, k.outcome, py_text(to_string(o->outcome)));
        put(d, k.reply, py_int(o->reply));
        put(d, k.final_text, py_text(o->final_text));
        put(d, k.reasons, py_list(o->reasons, [](adoption_reason r) { return py_text(to_string(r)); }));
        put(d, k.rationale, py_text(o->rationale));
    } else if (const auto* r = std::get_if<knowledge_relevance>(&a.body)) {
        put(d, k.labels, py_list(r->labels, [&](const relevance_label& l) {
                py::dict e;
                put(e, k.doc_id, py_text(l.doc_id));
                put(e, k.relevant, py_flag(l.relevant));
                return py::object(std::move(e));
            }));
        put(d, k.selected, py_list(r->selected, [](const std::string& s) { return py_text(s); }));
    } else if (const auto* m = std::get_if<missing_knowledge>(&a.body)) {
        put(d, k.description, py_text(m->description));
        put(d, k.suggested_source, py_text(m->suggested_source));
    }
    return std::move(d);
}

impression impression_from_py(py::handle h) {
    if (py::isinstance<impression>(h)) return h.cast<impression>();
    if (!PyDict_Check(h.ptr()))
        throw py::type_error("expected an Impression or a dict (got " + type_name(h) + ")");
    impression out;
    from_json(py_to_json(h, "Impression.from_dict"), out);
    return out;
}

annotation annotation_from_py(py::handle h) {
    if (py::isinstance<annotation>(h)) return h.cast<annotation>();
    if (!PyDict_Check(h.ptr()))
        throw py::type_error("expected an Annotation or a dict (got " + type_name(h) + ")");
    annotation out;
    from_json(py_to_json(h, "Annotation.from_dict"), out);
    return out;
}

void bind_feedback(py::module_& m) {
    // ---- Candidate ----
    py::class_<candidate> cand(m, "Candidate", "One ranked candidate of a stage: doc_id, 1-based rank, score.");
    cand.def(py::init([](std::string doc_id, std::int64_t rank, double score) {
                 return candidate{std::move(doc_id), u32_arg(rank, "Candidate", "rank"), score};
             }),
             "doc_id"_a, "rank"_a, "score"_a = 0.0)
        .def_readwrite("doc_id", &candidate::doc_id)
        .def_property(
            "rank", [](const candidate& c) { return c.rank; },
            [](candidate& c, std::int64_t v) { c.rank = u32_arg(v, "Candidate", "rank"); }, "1-based rank in its stage.")
        .def_readwrite("score", &candidate::score)
        .def("__repr__", &candidate_repr);
    add_dict_support<candidate>(cand, [](const candidate& c) { return json(c); }, &candidate_from_json,
                                "A Candidate from {'doc_id', 'rank', 'score'}. Raises ConfigError naming the field.");

    // ---- Reply ----
    py::class_<reply> rep(m, "Reply", "One suggested reply as shown: the generator variant, the text and the screen side.");
    rep.def(py::init([](std::string variant, std::string text, const std::string& position) {
                return reply{std::move(variant), std::move(text), parse_enum<screen_position>(position, "position")};
            }),
            "variant"_a, "text"_a, "position"_a = "left", "position: 'left' or 'right' (ConfigError otherwise).")
        .def_readwrite("variant", &reply::variant)
        .def_readwrite("text", &reply::text)
        .def_property(
            "position", [](const reply& r) { return std::string(to_string(r.position)); },
            [](reply& r, const std::string& s) { r.position = parse_enum<screen_position>(s, "position"); },
            "'left' or 'right'.")
        .def("__repr__", &reply_repr);
    add_dict_support<reply>(rep, [](const reply& r) { return json(r); }, &reply_from_json,
                            "A Reply from {'variant', 'text', 'position'}. Raises ConfigError naming the field.");

    // ---- Impression ----
    py::class_<impression> imp(
        m, "Impression",
        "The served context of one suggestion: query and conversation, the retrieved and shown candidates, the "
        "replies (replies[0] is A, replies[1] is B) with their screen sides, and the model versions. List and dict "
        "properties return copies: assign a new list to change them.");
    imp.def(py::init([](std::string case_id, std::string query, std::int64_t timestamp_ms, std::string id,
                        std::int64_t turn, std::vector<std::string> context, std::vector<candidate> retrieved,
                        std::vector<candidate> shown, std::vector<reply> replies,
                        std::map<std::string, std::string> models, std::int64_t seq) {
                impression i;
                i.seq = seq;
                i.id = std::move(id);
                i.case_id = std::move(case_id);
                i.turn = u32_arg(turn, "Impression", "turn");
                i.timestamp_ms = timestamp_ms;
                i.query = std::move(query);
                i.context = std::move(context);
                i.retrieved = std::move(retrieved);
                i.shown = std::move(shown);
                i.replies = std::move(replies);
                i.models = std::move(models);
                return i;
            }),
            "case_id"_a, "query"_a, "timestamp_ms"_a, "id"_a = "", "turn"_a = 0, "context"_a = std::vector<std::string>{},
            "retrieved"_a = std::vector<candidate>{}, "shown"_a = std::vector<candidate>{},
            "replies"_a = std::vector<reply>{}, "models"_a = std::map<std::string, std::string>{}, "seq"_a = 0,
            "Nothing is checked here but the types: call validate() (the store does).")
        .def_readwrite("seq", &impression::seq, "Store order (0 = not stored yet).")
        .def_readwrite("id", &impression::id, "Unique id; empty: the store assigns one.")
        .def_readwrite("case_id", &impression::case_id)
        .def_property(
            "turn", [](const impression& i) { return i.turn; },
            [](impression& i, std::int64_t v) { i.turn = u32_arg(v, "Impression", "turn"); })
        .def_readwrite("timestamp_ms", &impression::timestamp_ms, "When it was shown, Unix milliseconds.")
        .def_readwrite("query", &impression::query)
        .def_readwrite("context", &impression::context, "Conversation turns before the query (a copy).")
        .def_readwrite("retrieved", &impression::retrieved, "Retrieval stage, ranks 1..n (a copy).")
        .def_readwrite("shown", &impression::shown, "Reranked list the agent saw, ranks 1..n (a copy).")
        .def_readwrite("replies", &impression::replies, "0, 1 or 2 replies: [0] is A, [1] is B (a copy).")
        .def_readwrite("models", &impression::models, "Role ('retriever', 'reranker', ...) -> version id (a copy).")
        .def(
            "find_shown",
            [](const impression& i, const std::string& doc_id) -> std::optional<candidate> {
                const candidate* c = i.find_shown(doc_id);
                if (c) return *c;
                return std::nullopt;
            },
            "doc_id"_a, "The shown Candidate with this doc id, or None.")
        .def("validate", [](const impression& i) { validate(i); },
             "Raises ConfigError naming the field: empty case_id/query/doc id/variant/text, negative timestamp, ranks "
             "not 1..n, duplicate or non-finite candidates, a shown doc not retrieved, more than two replies or two on "
             "the same side, empty model role/version.")
        .def("__repr__", &impression_repr);
    add_dict_support<impression>(
        imp, [](const impression& i) { return to_py_dict(i); },
        [](const json& j) {
            impression i;
            from_json(j, i);
            return i;
        },
        "An Impression from its JSON form ('type' optional, must be 'impression'). Raises ConfigError naming the field "
        "for a missing required key, a wrong type or an unknown key.");

    // ---- annotation bodies ----
    py::class_<preference> pref(m, "Preference",
                                "Pairwise preference between reply A and reply B: choice 'a' | 'b' | 'tie' | 'both_bad', "
                                "strength 'slight' | 'clear' | 'strong'.");
    pref.def(py::init([](const std::string& choice, const std::string& strength, std::string rationale) {
                 return preference{parse_enum<preference_choice>(choice, "choice"),
                                   parse_enum<preference_strength>(strength, "strength"), std::move(rationale)};
             }),
             "choice"_a, "strength"_a = "slight", "rationale"_a = "")
        .def_property(
            "choice", [](const preference& p) { return std::string(to_string(p.choice)); },
            [](preference& p, const std::string& s) { p.choice = parse_enum<preference_choice>(s, "choice"); })
        .def_property(
            "strength", [](const preference& p) { return std::string(to_string(p.strength)); },
            [](preference& p, const std::string& s) { p.strength = parse_enum<preference_strength>(s, "strength"); })
        .def_readwrite("rationale", &preference::rationale)
        .def("__repr__", &preference_repr);
    add_dict_support<preference>(
        pref, &body_to_json<preference>,
        [](const json& j) { return body_from_json<preference>(j, "preference", {"choice", "strength", "rationale"}); },
        "A Preference from {'choice', 'strength', 'rationale'}. Raises ConfigError naming the field.");

    py::class_<adoption> adop(m, "Adoption",
                              "Whether the agent used a reply: outcome 'used_as_is' | 'used_with_edits' | 'not_used', "
                              "the slot (0 = A, 1 = B), the text sent, reasons from a fixed list ('wrong_policy', "
                              "'missing_information', 'not_applicable', 'tone', 'too_long', 'hallucinated_detail', "
                              "'wrong_reference', 'other').");
    adop.def(py::init([](const std::string& outcome, std::int64_t reply, std::string final_text,
                         const std::vector<std::string>& reasons, std::string rationale) {
                 return adoption{parse_enum<adoption_outcome>(outcome, "outcome"), u32_arg(reply, "Adoption", "reply"),
                                 std::move(final_text), reasons_arg(reasons), std::move(rationale)};
             }),
             "outcome"_a, "reply"_a = 0, "final_text"_a = "", "reasons"_a = std::vector<std::string>{}, "rationale"_a = "")
        .def_property(
            "outcome", [](const adoption& d) { return std::string(to_string(d.outcome)); },
            [](adoption& d, const std::string& s) { d.outcome = parse_enum<adoption_outcome>(s, "outcome"); })
        .def_property(
            "reply", [](const adoption& d) { return d.reply; },
            [](adoption& d, std::int64_t v) { d.reply = u32_arg(v, "Adoption", "reply"); }, "Slot: 0 = A, 1 = B.")
        .def_readwrite("final_text", &adoption::final_text)
        .def_property(
            "reasons", [](const adoption& d) { return reason_names(d.reasons); },
            [](adoption& d, const std::vector<std::string>& v) { d.reasons = reasons_arg(v); }, "Reason names (a copy).")
        .def_readwrite("rationale", &adoption::rationale)
        .def("__repr__", &adoption_repr);
    add_dict_support<adoption>(
        adop, &body_to_json<adoption>,
        [](const json& j) {
            return body_from_json<adoption>(j, "adoption", {"outcome", "reply", "final_text", "reasons", "rationale"});
        },
        "An Adoption from {'outcome', 'reply', 'final_text', 'reasons', 'rationale'}. Raises ConfigError naming the field.");

    py::class_<relevance_label> lab(m, "RelevanceLabel", "The agent's judgement of one shown reference.");
    lab.def(py::init([](std::string doc_id, bool relevant) { return relevance_label{std::move(doc_id), relevant}; }),
            "doc_id"_a, "relevant"_a)
        .def_readwrite("doc_id", &relevance_label::doc_id)
        .def_readwrite("relevant", &relevance_label::relevant)
        .def("__iter__", [](const relevance_label& l) { return py::iter(py::make_tuple(l.doc_id, l.relevant)); },
             "Unpacks as (doc_id, relevant).")
        .def("__repr__", &label_repr);
    add_dict_support<relevance_label>(lab, [](const relevance_label& l) { return json(l); }, &label_from_json,
                                      "A RelevanceLabel from {'doc_id', 'relevant'}. Raises ConfigError naming the field.");

    py::class_<knowledge_relevance> rel(
        m, "KnowledgeRelevance",
        "Relevance labels of shown references, plus relevant references the agent selected by hand (not shown). "
        "labels may be given as a list of RelevanceLabel, a list of (doc_id, relevant) pairs or a dict "
        "{doc_id: relevant}; it reads back as a list of RelevanceLabel.");
    rel.def(py::init([](const py::object& labels, std::vector<std::string> selected) {
                return knowledge_relevance{labels_arg(labels), std::move(selected)};
            }),
            "labels"_a = py::list(), "selected"_a = std::vector<std::string>{})
        .def_property(
            "labels", [](const knowledge_relevance& r) { return r.labels; },
            [](knowledge_relevance& r, const py::object& v) { r.labels = labels_arg(v); },
            "List of RelevanceLabel (a copy); accepts the forms the constructor does.")
        .def_readwrite("selected", &knowledge_relevance::selected, "Doc ids selected by hand (a copy).")
        .def("__repr__", &relevance_repr);
    add_dict_support<knowledge_relevance>(
        rel, &body_to_json<knowledge_relevance>,
        [](const json& j) { return body_from_json<knowledge_relevance>(j, "knowledge_relevance", {"labels", "selected"}); },
        "A KnowledgeRelevance from {'labels': [{'doc_id', 'relevant'}...], 'selected': [...]}. Raises ConfigError "
        "naming the field.");

    py::class_<missing_knowledge> miss(m, "MissingKnowledge",
                                       "What the knowledge base lacks to answer the case, and where it could come from.");
    miss.def(py::init([](std::string description, std::string suggested_source) {
                 return missing_knowledge{std::move(description), std::move(suggested_source)};
             }),
             "description"_a, "suggested_source"_a = "")
        .def_readwrite("description", &missing_knowledge::description)
        .def_readwrite("suggested_source", &missing_knowledge::suggested_source)
        .def("__repr__", &missing_repr);
    add_dict_support<missing_knowledge>(
        miss, &body_to_json<missing_knowledge>,
        [](const json& j) {
            return body_from_json<missing_knowledge>(j, "missing_knowledge", {"description", "suggested_source"});
        },
        "A MissingKnowledge from {'description', 'suggested_source'}. Raises ConfigError naming the field.");

    // ---- Annotation ----
    py::class_<annotation> ann(
        m, "Annotation",
        "One agent annotation of an impression: common fields plus a body (Preference, Adoption, KnowledgeRelevance or "
        "MissingKnowledge); kind names the body's type. body returns a copy: assign a new body to change it.");
    ann.def(py::init([](std::string impression_id, std::string annotator, annotation_body body,
                        std::int64_t timestamp_ms, std::int64_t time_to_annotate_ms, double weight, std::string id,
                        std::int64_t seq) {
                annotation a;
                a.seq = seq;
                a.id = std::move(id);
                a.impression_id = std::move(impression_id);
                a.annotator = std::move(annotator);
                a.timestamp_ms = timestamp_ms;
                a.time_to_annotate_ms = time_to_annotate_ms;
                a.weight = weight;
                a.body = std::move(body);
                return a;
            }),
            "impression_id"_a, "annotator"_a, "body"_a, "timestamp_ms"_a, "time_to_annotate_ms"_a = 0, "weight"_a = 1.0,
            "id"_a = "", "seq"_a = 0, "Nothing is checked here but the types: call validate() (the store does).")
        .def_readwrite("seq", &annotation::seq, "Store order (0 = not stored yet).")
        .def_readwrite("id", &annotation::id, "Unique id; empty: the store assigns one.")
        .def_readwrite("impression_id", &annotation::impression_id)
        .def_readwrite("annotator", &annotation::annotator)
        .def_readwrite("timestamp_ms", &annotation::timestamp_ms)
        .def_readwrite("time_to_annotate_ms", &annotation::time_to_annotate_ms)
        .def_readwrite("weight", &annotation::weight)
        .def_property(
            "body", [](const annotation& a) { return a.body; },
            [](annotation& a, const py::object& b) { a.body = body_arg(b); },
            "Preference | Adoption | KnowledgeRelevance | MissingKnowledge (a copy).")
        .def_property_readonly("kind", [](const annotation& a) { return std::string(to_string(a.kind())); },
                               "'preference', 'adoption', 'knowledge_relevance' or 'missing_knowledge'.")
        .def(
            "validate",
            [](const annotation& a, const std::optional<impression>& imp) {
                if (!imp) return validate(a);
                validate(a, *imp);
            },
            "impression"_a = py::none(),
            "Raises ConfigError naming the field. Alone: empty impression_id/annotator, negative times, bad weight, "
            "adoption slot > 1, used_with_edits without final_text, repeated reasons, relevance without labels, "
            "repeated or empty doc ids. With the impression: also a preference without two replies, an adoption "
            "slot not shown, a label for a reference not shown, a hand-selected reference that was shown.")
        .def("__repr__", &annotation_repr);
    add_dict_support<annotation>(
        ann, [](const annotation& a) { return to_py_dict(a); },
        [](const json& j) {
            annotation a;
            from_json(j, a);
            return a;
        },
        "An Annotation from its JSON form ('type' names the body). Raises ConfigError naming the field for a missing "
        "required key, a wrong type, a bad enum or an unknown key.");
}

}  // namespace aitl::python
