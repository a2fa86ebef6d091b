// Python binding of generate/: Reference, GeneratedReply, ExtractiveGenerator, CallbackGenerator,
// RewardSelectedGenerator, make_references, split_sentences, citation_markers, strip_citations.
//
// Generation runs with the GIL released; a CallbackGenerator takes the GIL back to call its Python
// function, so it may be called from C++ threads (e.g. a pipeline serving a batch).
#include <aitl/generate/best_of_n.hpp>
#include <aitl/generate/callback_generator.hpp>
#include <aitl/generate/extractive.hpp>
#include <aitl/generate/reference.hpp>
#include <aitl/generate/sentences.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/learn/reward_model.hpp>

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <functional>
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

reference reference_from_dict(const py::dict& d, const std::string& where) {
    reference r;
    bool has_id = false;
    for (auto item : d) {
        const std::string key = py::str(item.first);
        py::handle v = item.second;
        try {
            if (key == "doc_id") r.doc_id = v.cast<std::string>(), has_id = true;
            else if (key == "title") r.title = v.is_none() ? std::string() : v.cast<std::string>();
            else if (key == "text") r.text = v.cast<std::string>();
            else if (key == "score") r.score = v.cast<double>();
            else
                throw config_error(where + ": unknown key (got '" + key + "', expected doc_id, title, text, score)");
        } catch (const py::cast_error&) {
            throw config_error(where + ": field '" + key + "' has the wrong type (got " + type_name(v) + ")");
        }
    }
    if (!has_id) throw config_error(where + ": field 'doc_id' is missing (expected a document id)");
    return r;
}

// Reference objects or dicts {doc_id, title, text, score}; TypeError for anything else.
std::vector<reference> refs_from_py(const py::handle& refs) {
    std::vector<reference> out;
    if (refs.is_none()) return out;
    if (py::isinstance<py::str>(refs) || !py::isinstance<py::iterable>(refs))
        throw py::type_error("refs: expected a list of Reference or dict (got " + type_name(refs) + ")");
    std::size_t i = 0;
    for (py::handle h : refs) {
        const std::string where = "refs[" + std::to_string(i++) + "]";
        if (py::isinstance<reference>(h))
            out.push_back(h.cast<reference>());
        else if (py::isinstance<py::dict>(h))
            out.push_back(reference_from_dict(h.cast<py::dict>(), where));
        else
            throw py::type_error(where + ": expected a Reference or a dict {doc_id, title, text, score} (got " +
                                 type_name(h) + ")");
    }
    return out;
}

py::dict reference_dict(const reference& r) {
    return py::dict("doc_id"_a = r.doc_id, "title"_a = r.title, "text"_a = r.text, "score"_a = r.score);
}

py::dict reply_dict(const generated_reply& r) {
    return py::dict("text"_a = r.text, "citations"_a = r.citations, "variant"_a = r.variant);
}

// A Python function as a generate_callback: called with the GIL, refs as a list of Reference.
generate_callback python_callback(py::object fn) {
    auto f = share(std::move(fn));
    return [f](std::string_view query, const std::vector<reference>& refs, std::string_view variant) {
        py::gil_scoped_acquire gil;
        py::object out = (*f)(py::str(query.data(), query.size()), py::cast(refs),
                              py::str(variant.data(), variant.size()));
        if (!py::isinstance<py::str>(out))
            throw py::type_error("CallbackGenerator: the function must return the reply text as str (got " +
                                 type_name(out) + ")");
        return out.cast<std::string>();
    };
}

// Any bound generator behind one type (the wrapped generator of RewardSelectedGenerator).
struct any_generator {
    std::function<generated_reply(std::string_view, const std::vector<reference>&, std::string_view)> fn;
    std::vector<std::string> names;
    shared_object owner;  // keeps the Python object alive
    generated_reply generate(std::string_view q, const std::vector<reference>& refs, std::string_view v) const {
        return fn(q, refs, v);
    }
    std::vector<std::string> variants() const { return names; }
};

// The reward model of a Python RewardModel object (kept alive by `owner`).
struct reward_ref {
    const reward_model* model = nullptr;
    shared_object owner;
    double score(std::string_view q, std::string_view reply, const std::vector<std::string>& refs) const {
        return model->score(q, reply, refs);
    }
};

using py_best_generator = reward_selected_generator<any_generator, reward_ref>;

template <class G>
any_generator wrap(std::shared_ptr<G> g, py::handle owner) {
    any_generator a;
    a.names = g->variants();
    a.owner = share(py::reinterpret_borrow<py::object>(owner));
    a.fn = [g](std::string_view q, const std::vector<reference>& refs, std::string_view v) { return g->generate(q, refs, v); };
    return a;
}

any_generator generator_from_py(py::handle h) {
    if (py::isinstance<extractive_generator>(h)) return wrap(h.cast<std::shared_ptr<extractive_generator>>(), h);
    if (py::isinstance<callback_generator>(h)) return wrap(h.cast<std::shared_ptr<callback_generator>>(), h);
    if (py::isinstance<py_best_generator>(h)) return wrap(h.cast<std::shared_ptr<py_best_generator>>(), h);
    throw py::type_error("RewardSelectedGenerator: generator must be an ExtractiveGenerator, CallbackGenerator or "
                         "RewardSelectedGenerator (got " + type_name(h) + ")");
}

template <class G>
generated_reply generate_released(const G& g, const std::string& query, const py::object& refs, const std::string& variant) {
    const std::vector<reference> r = refs_from_py(refs);
    py::gil_scoped_release release;
    return g.generate(query, r, variant);
}

const char* refs_doc =
    "refs: the references, best first, as Reference objects or dicts {'doc_id', 'title', 'text', 'score'}.";

}  // namespace

void bind_generate(py::module_& m) {
    py::class_<reference>(m, "Reference",
                          "One knowledge-base document handed to a generator, in rank order: doc_id (cited as "
                          "'[doc_id]'), title, text, score (the ranking stage's, higher = more relevant).")
        .def(py::init([](std::string doc_id, std::string title, std::string text, double score) {
                 return reference{std::move(doc_id), std::move(title), std::move(text), score};
             }),
             "doc_id"_a, "title"_a = "", "text"_a = "", "score"_a = 0.0)
        .def_readwrite("doc_id", &reference::doc_id)
        .def_readwrite("title", &reference::title)
        .def_readwrite("text", &reference::text)
        .def_readwrite("score", &reference::score)
        .def("to_dict", [](const reference& r) { return as_dict_t(reference_dict(r)); },
             "{'doc_id', 'title', 'text', 'score'}.")
        .def_static(
            "from_dict", [](const py::dict& d) { return reference_from_dict(d, "Reference.from_dict"); }, "d"_a,
            "A Reference from {'doc_id', 'title', 'text', 'score'} (doc_id required). Raises ConfigError for unknown "
            "keys or wrong types.")
        .def("__eq__", [](const reference& a, const reference& b) {
            return a.doc_id == b.doc_id && a.title == b.title && a.text == b.text && a.score == b.score;
        })
        .def("__repr__", [](const reference& r) {
            return "Reference(doc_id=" + repr_str(r.doc_id) + ", title=" + repr_str(r.title) +
                   ", text=" + repr_str(r.text) + ", score=" + std::string(py::repr(py::float_(r.score))) + ")";
        })
        .def(py::pickle([](const reference& r) { return py::make_tuple(r.doc_id, r.title, r.text, r.score); },
                        [](const py::tuple& t) {
                            if (t.size() != 4) throw py::value_error("Reference: bad pickle state");
                            return reference{t[0].cast<std::string>(), t[1].cast<std::string>(),
                                             t[2].cast<std::string>(), t[3].cast<double>()};
                        }));

    py::class_<generated_reply>(m, "GeneratedReply",
                                "A generated reply: text (with '[doc_id]' citation markers), citations (the doc ids "
                                "of the given references it cites, in order of first use), variant (what made it).")
        .def(py::init([](std::string text, std::vector<std::string> citations, std::string variant) {
                 return generated_reply{std::move(text), std::move(citations), std::move(variant)};
             }),
             "text"_a = "", "citations"_a = std::vector<std::string>{}, "variant"_a = "")
        .def_readwrite("text", &generated_reply::text)
        .def_readwrite("citations", &generated_reply::citations)
        .def_readwrite("variant", &generated_reply::variant)
        .def("to_dict", [](const generated_reply& r) { return as_dict_t(reply_dict(r)); },
             "{'text', 'citations', 'variant'}.")
        .def("__eq__", [](const generated_reply& a, const generated_reply& b) {
            return a.text == b.text && a.citations == b.citations && a.variant == b.variant;
        })
        .def("__repr__", [](const generated_reply& r) {
            return "GeneratedReply(variant=" + repr_str(r.variant) + ", text=" + repr_str(r.text, 60) +
                   ", citations=" + std::string(py::repr(py::cast(r.citations))) + ")";
        });

    py::class_<extractive_generator, std::shared_ptr<extractive_generator>>(
        m, "ExtractiveGenerator",
        "Offline grounded generator: quotes the most relevant sentences of the top references (BM25 over their "
        "sentences with the reference's rank as a prior) and cites each reference used as '[doc_id]' after its "
        "sentences. Variants 'top' (first 2 references, by relevance) and 'coverage' (first 4, MMR redundancy "
        "penalty) by default. Deterministic; with no references the reply is the config's 'fallback' and cites "
        "nothing.")
        .def(py::init([](const py::object& config) {
                 extractive_config c;
                 if (!config.is_none()) from_json(py_to_json(config, "ExtractiveGenerator"), c);
                 return std::make_shared<extractive_generator>(std::move(c));
             }),
             "config"_a = py::none(),
             "config: dict {'variants': [{'name', 'references', 'strategy' ('relevance' | 'mmr'), 'max_sentences', "
             "'max_words', 'rank_prior', 'redundancy', 'min_relevance'}, ...], 'context_weight', 'question_penalty', "
             "'k1', 'b', 'max_sentences_per_reference', 'fallback', 'analyzer'} (missing keys take defaults; "
             "'variants' replaces the default list). Raises ConfigError for unknown keys or values out of range.")
        .def_property_readonly("variants", &extractive_generator::variants, "The variant names, in config order.")
        .def_property_readonly("config", [](const extractive_generator& g) { return as_dict_t(json_to_py(json(g.config()))); },
                               "The settings as a dict.")
        .def("generate", &generate_released<extractive_generator>, "query"_a, "refs"_a, "variant"_a = "top",
             (std::string("The reply of one variant as a GeneratedReply. query: the question (several lines: the last "
                          "is the question, the ones before the conversation). ") +
              refs_doc +
              " Raises ConfigError for an unknown variant or a doc_id that cannot be cited (empty, whitespace or "
              "brackets).")
                 .c_str())
        .def("__repr__", [](const extractive_generator& g) {
            return "ExtractiveGenerator(variants=" + std::string(py::repr(py::cast(g.variants()))) + ")";
        });

    py::class_<callback_generator, std::shared_ptr<callback_generator>>(
        m, "CallbackGenerator",
        "A generator that calls a Python function, e.g. a prompt to any LLM: fn(query: str, refs: list[Reference], "
        "variant: str) -> str. The reply's citations are the '[doc_id]' markers of the returned text that name one of "
        "the given references. The function is called with the GIL held, also from C++ threads.")
        .def(py::init([](py::function fn, std::vector<std::string> variants) {
                 return std::make_shared<callback_generator>(python_callback(std::move(fn)), std::move(variants));
             }),
             "fn"_a, "variants"_a = std::vector<std::string>{"default"},
             "fn(query, refs, variant) -> str; variants: the names it accepts (non-empty, unique). Raises ConfigError "
             "for invalid variant names.")
        .def_property_readonly("variants", &callback_generator::variants, "The declared variant names.")
        .def(
            "generate",
            [](const callback_generator& g, const std::string& query, const py::object& refs, const py::object& variant) {
                const std::string v = variant.is_none() ? g.variants().front() : variant.cast<std::string>();
                return generate_released(g, query, refs, v);
            },
            "query"_a, "refs"_a, "variant"_a = py::none(),
            (std::string("Calls fn and returns a GeneratedReply. ") + refs_doc +
             " variant: None = the first declared one. Raises ConfigError for an undeclared variant, TypeError when "
             "fn does not return a str, and whatever fn raises.")
                .c_str())
        .def("__repr__", [](const callback_generator& g) {
            return "CallbackGenerator(variants=" + std::string(py::repr(py::cast(g.variants()))) + ")";
        });

    py::class_<py_best_generator, std::shared_ptr<py_best_generator>>(
        m, "RewardSelectedGenerator",
        "Best-of-N: generates several variants of another generator and serves the one the reward model scores "
        "highest. variants = [name] + the generator's variants; generating `name` ('best') picks among "
        "`candidates`, any other variant is passed through.")
        .def(py::init([](const py::object& generator, const py::object& reward, const py::object& candidates,
                         std::string name) {
                 if (!py::isinstance<reward_model>(reward))
                     throw py::type_error("RewardSelectedGenerator: reward_model must be a RewardModel (got " +
                                          type_name(reward) + ")");
                 reward_ref rm{&reward.cast<const reward_model&>(), share(reward)};
                 std::vector<std::string> cands;
                 if (!candidates.is_none()) cands = candidates.cast<std::vector<std::string>>();
                 return std::make_shared<py_best_generator>(generator_from_py(generator), std::move(rm),
                                                            std::move(cands), std::move(name));
             }),
             "generator"_a, "reward_model"_a, "candidates"_a = py::none(), "name"_a = "best",
             "generator: ExtractiveGenerator, CallbackGenerator or RewardSelectedGenerator; reward_model: RewardModel "
             "(held by reference: retraining it changes later choices); candidates: the variants to choose among "
             "(None: all the generator's). Raises ConfigError for an unknown or repeated candidate or a name the "
             "generator already uses, TypeError for other types.")
        .def_property_readonly("variants", &py_best_generator::variants, "[name] + the generator's variants.")
        .def_property_readonly("candidates", &py_best_generator::candidates, "The variants chosen among.")
        .def_property_readonly("name", &py_best_generator::name, "The best-of-N variant name.")
        .def("generate", &generate_released<py_best_generator>, "query"_a, "refs"_a, "variant"_a = "best",
             (std::string("The best-scored candidate's reply (its variant is the candidate's) for variant == name, "
                          "else the generator's reply. ") +
              refs_doc + " Raises ConfigError for an unknown variant.")
                 .c_str())
        .def(
            "generate_all",
            [](const py_best_generator& g, const std::string& query, const py::object& refs) {
                const std::vector<reference> r = refs_from_py(refs);
                std::vector<scored_reply> all;
                {
                    py::gil_scoped_release release;
                    all = g.generate_all(query, r);
                }
                py::list out;
                for (auto& s : all) out.append(py::make_tuple(py::cast(std::move(s.reply)), s.score));
                return py::typing::List<py::typing::Tuple<generated_reply, double>>(std::move(out));
            },
            "query"_a, "refs"_a,
            (std::string("Every candidate's (GeneratedReply, reward) in candidates order. ") + refs_doc).c_str())
        .def("__repr__", [](const py_best_generator& g) {
            return "RewardSelectedGenerator(name=" + repr_str(g.name()) +
                   ", candidates=" + std::string(py::repr(py::cast(g.candidates()))) + ")";
        });

    m.def(
        "make_references",
        [](const knowledge_base& kb, const py::iterable& items) {
            std::vector<reference> out;
            std::size_t i = 0;
            for (py::handle h : items) {
                std::string id;
                double score = 0.0;
                if (py::isinstance<py::str>(h)) {
                    id = h.cast<std::string>();
                } else if (py::isinstance<hit>(h)) {
                    const hit& x = h.cast<const hit&>();
                    id = x.id;
                    score = x.score;
                } else if (py::isinstance<py::tuple>(h) && py::len(h) == 2) {
                    auto t = h.cast<py::tuple>();
                    id = t[0].cast<std::string>();
                    score = t[1].cast<double>();
                } else {
                    throw py::type_error("make_references: items[" + std::to_string(i) +
                                         "]: expected a doc id, a Hit or an (id, score) tuple (got " + type_name(h) + ")");
                }
                const document* d = kb.find(id);
                if (!d)
                    throw not_found("make_references: unknown document (got '" + id + "' at " + std::to_string(i) +
                                    ", expected an id of the knowledge base)");
                out.push_back(reference{d->id, d->title, d->text, score});
                ++i;
            }
            return out;
        },
        "kb"_a, "hits_or_doc_ids"_a,
        "References for a generator from a KnowledgeBase: items are doc ids (score 0), Hits or (id, score) tuples, "
        "best first. Raises NotFoundError for an id not in the knowledge base.");

    m.def("reward_references", [](const std::vector<reference>& refs) { return reward_references(refs); }, "refs"_a,
          "References as a reward model reads them (RewardModel.score / choose / train): '[doc_id] title\\ntext' "
          "('[doc_id] text' without a title), the form RewardSelectedGenerator gives it.");
    m.def("split_sentences", [](const std::string& text) { return split_sentences(text); }, "text"_a,
          "The sentences of a text: ends after '.', '!' or '?' followed by whitespace (not after abbreviations "
          "such as 'e.g.' or initials, not inside '4.95'), after CJK full stops, and at line breaks; trimmed.");
    m.def("citation_markers", [](const std::string& text) { return citation_markers(text); }, "text"_a,
          "The distinct ids of the '[doc_id]' markers of a text (no whitespace or brackets inside), in order of "
          "first appearance.");
    m.def("strip_citations", [](const std::string& text) { return strip_citations(text); }, "text"_a,
          "The text without its '[doc_id]' markers, whitespace collapsed.");
    m.def("format_citation", [](const std::string& doc_id) { return format_citation(doc_id); }, "doc_id"_a,
          "'[' + doc_id + ']'. Raises ConfigError for an id that cannot be a marker (empty, whitespace, brackets).");
}

}  // namespace aitl::python
