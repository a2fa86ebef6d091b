// Python binding of learn/examples.hpp and learn/compile.hpp: the compiled dataset classes
// (RetrievalExample, RerankList, PreferencePair, KtoExample, PreferenceData, FeedbackQrels),
// compile_retrieval / compile_rerank / compile_preferences / compile_qrels on a SqliteStore (or
// a path, opened read-only), and time_split.
//
// The store is read and the data compiled with the GIL released.
#include <aitl/learn/compile.hpp>
#include <aitl/learn/examples.hpp>
#include <aitl/store/sqlite_store.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
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

// A SqliteStore, or a path opened read-only for the call.
std::shared_ptr<sqlite_store> store_arg(const py::object& store, const char* where) {
    if (py::isinstance<py::str>(store) || py::isinstance<py::bytes>(store) || py::hasattr(store, "__fspath__")) {
        const std::string path = path_arg(store);
        sqlite_store_config c;
        c.read_only = true;
        py::gil_scoped_release release;
        return std::make_shared<sqlite_store>(path, c);
    }
    return store_from_py(store, where);
}

compile_options options_arg(std::int64_t after_seq, std::int64_t until_seq, double min_weight,
                            const std::array<double, 3>& strength_weights, bool keep_ties,
                            bool both_bad_as_kto_negatives, std::map<std::string, std::string> models,
                            const char* where) {
    compile_options o;
    o.after_seq = after_seq;
    o.until_seq = until_seq;
    o.min_weight = min_weight;
    o.strength_weights = strength_weights;
    o.keep_ties = keep_ties;
    o.both_bad_as_kto_negatives = both_bad_as_kto_negatives;
    o.models = std::move(models);
    validate(o, where);
    return o;
}

template <class T>
py::object dict_of(const T& x) {
    return json_to_py(json(x));
}

template <class Result, class Compile>
Result run_compile(const py::object& store, const compile_options& o, const char* where, Compile compile) {
    auto s = store_arg(store, where);
    py::gil_scoped_release release;
    return compile(load_feedback(*s, o), o);
}

template <class T>
void def_time_split(py::module_& m, const char* doc) {
    m.def(
        "time_split",
        [](std::vector<T> items, double validation_fraction) {
            auto r = time_split(std::move(items), validation_fraction);
            return std::make_pair(std::move(r.train), std::move(r.validation));
        },
        "items"_a, "validation_fraction"_a, doc);
}

constexpr const char* kWindowDoc =
    "store: a SqliteStore or the path of one (opened read-only). Reads the annotations with after_seq < seq <= "
    "until_seq (until_seq 0: no bound), ignoring those whose weight is 0 or below min_weight; several annotators "
    "of an impression are merged by weighted majority. models: {role: version}: only feedback on impressions "
    "whose models[role] equal these (e.g. {\"retriever\": \"bm25+dense+ranker@v000004\"}); empty: all.";

}  // namespace

void bind_learn_data(py::module_& m) {
    py::class_<retrieval_example>(m, "RetrievalExample",
                                  "One query with the documents agents judged relevant (positives: shown and judged "
                                  "relevant, then hand-selected) and not relevant (hard_negatives), plus negatives "
                                  "mined from a retriever. Document ids only.")
        .def(py::init<>())
        .def_readwrite("case_id", &retrieval_example::case_id)
        .def_readwrite("impression_id", &retrieval_example::impression_id)
        .def_readwrite("query", &retrieval_example::query)
        .def_readwrite("positives", &retrieval_example::positives)
        .def_readwrite("hard_negatives", &retrieval_example::hard_negatives)
        .def_readwrite("mined_negatives", &retrieval_example::mined_negatives)
        .def_readwrite("weight", &retrieval_example::weight)
        .def_readwrite("timestamp_ms", &retrieval_example::timestamp_ms)
        .def("negatives", &retrieval_example::negatives, "hard_negatives followed by mined_negatives.")
        .def("to_dict", &dict_of<retrieval_example>,
             "{'case_id', 'impression_id', 'query', 'positives', 'hard_negatives', 'mined_negatives', 'weight', "
             "'timestamp_ms'}.")
        .def("__repr__", [](const retrieval_example& e) {
            return "RetrievalExample(query=" + py::repr(py::str(e.query)).cast<std::string>() +
                   ", positives=" + std::to_string(e.positives.size()) +
                   ", hard_negatives=" + std::to_string(e.hard_negatives.size()) +
                   ", mined_negatives=" + std::to_string(e.mined_negatives.size()) + ")";
        });

    py::class_<rerank_list>(m, "RerankList",
                            "One impression's shown candidates with graded labels (0 not relevant, 1 relevant, 2 "
                            "selected by hand: appended with rank 0), and each candidate's retrieval score and rank "
                            "(0 when not retrieved).")
        .def(py::init<>())
        .def_readwrite("case_id", &rerank_list::case_id)
        .def_readwrite("impression_id", &rerank_list::impression_id)
        .def_readwrite("query", &rerank_list::query)
        .def_readwrite("context", &rerank_list::context)
        .def_readwrite("candidates", &rerank_list::candidates)
        .def_readwrite("labels", &rerank_list::labels)
        .def_readwrite("retrieval_scores", &rerank_list::retrieval_scores)
        .def_readwrite("retrieval_ranks", &rerank_list::retrieval_ranks)
        .def_readwrite("weight", &rerank_list::weight)
        .def_readwrite("timestamp_ms", &rerank_list::timestamp_ms)
        .def("to_dict", &dict_of<rerank_list>,
             "{'case_id', 'impression_id', 'query', 'context', 'candidates', 'labels', 'retrieval_scores', "
             "'retrieval_ranks', 'weight', 'timestamp_ms'}.")
        .def("__repr__", [](const rerank_list& l) {
            return "RerankList(impression_id=" + py::repr(py::str(l.impression_id)).cast<std::string>() +
                   ", candidates=" + std::to_string(l.candidates.size()) + ")";
        });

    py::class_<preference_pair>(m, "PreferencePair",
                                "A chosen and a rejected reply to one prompt (context turns and query, one per "
                                "line); source 'preference' or 'adoption'.")
        .def(py::init<>())
        .def_readwrite("impression_id", &preference_pair::impression_id)
        .def_readwrite("prompt", &preference_pair::prompt)
        .def_readwrite("chosen", &preference_pair::chosen)
        .def_readwrite("rejected", &preference_pair::rejected)
        .def_readwrite("weight", &preference_pair::weight)
        .def_readwrite("source", &preference_pair::source)
        .def_readwrite("timestamp_ms", &preference_pair::timestamp_ms)
        .def_readwrite("query_id", &preference_pair::query_id,
                       "Relevance-feedback query id of the pair's case (compile_qrels' key; '' for none): "
                       "RewardModel.train leaves that query's judgements out of the pair's cited_prior.")
        .def("to_dict", &dict_of<preference_pair>,
             "{'impression_id', 'prompt', 'chosen', 'rejected', 'weight', 'source', 'timestamp_ms', 'query_id'}.")
        .def("__repr__", [](const preference_pair& p) {
            return "PreferencePair(impression_id=" + py::repr(py::str(p.impression_id)).cast<std::string>() +
                   ", source=" + py::repr(py::str(p.source)).cast<std::string>() +
                   ", weight=" + py::repr(py::float_(p.weight)).cast<std::string>() + ")";
        });

    py::class_<kto_example>(m, "KtoExample",
                            "One reply (completion) to a prompt with a desirable (True) / undesirable (False) label.")
        .def(py::init<>())
        .def_readwrite("impression_id", &kto_example::impression_id)
        .def_readwrite("prompt", &kto_example::prompt)
        .def_readwrite("completion", &kto_example::completion)
        .def_readwrite("label", &kto_example::label)
        .def_readwrite("weight", &kto_example::weight)
        .def_readwrite("source", &kto_example::source)
        .def_readwrite("timestamp_ms", &kto_example::timestamp_ms)
        .def("to_dict", &dict_of<kto_example>,
             "{'impression_id', 'prompt', 'completion', 'label', 'weight', 'source', 'timestamp_ms'}.")
        .def("__repr__", [](const kto_example& k) {
            return "KtoExample(impression_id=" + py::repr(py::str(k.impression_id)).cast<std::string>() +
                   ", label=" + std::string(k.label ? "True" : "False") + ")";
        });

    py::class_<preference_data>(m, "PreferenceData", "Preference pairs and KTO examples compiled from replies' feedback.")
        .def_readwrite("pairs", &preference_data::pairs)
        .def_readwrite("kto", &preference_data::kto)
        .def(
            "to_dict",
            [](const preference_data& d) {
                py::dict out;
                out["pairs"] = json_to_py(json(d.pairs));
                out["kto"] = json_to_py(json(d.kto));
                return out;
            },
            "{'pairs': [...], 'kto': [...]} (each item as its to_dict).")
        .def("__repr__", [](const preference_data& d) {
            return "PreferenceData(pairs=" + std::to_string(d.pairs.size()) + ", kto=" + std::to_string(d.kto.size()) +
                   ")";
        });

    py::class_<feedback_qrels>(m, "FeedbackQrels",
                               "Qrels compiled from relevance feedback (query id = case id, '#turn' appended for "
                               "turns after 0; grade 1 relevant, 0 judged not relevant) and each query's text.")
        .def_readwrite("qrels", &feedback_qrels::judgements, "dict[query id, dict[doc id, grade]].")
        .def_readwrite("queries", &feedback_qrels::queries, "dict[query id, query text].")
        .def(
            "to_dict",
            [](const feedback_qrels& q) {
                py::dict out;
                out["qrels"] = py::cast(q.judgements);
                out["queries"] = py::cast(q.queries);
                return out;
            },
            "{'qrels': {...}, 'queries': {...}}.")
        .def("__len__", [](const feedback_qrels& q) { return judgement_count(q.judgements); },
             "The number of (query, document) judgements.")
        .def("__repr__", [](const feedback_qrels& q) {
            return "FeedbackQrels(queries=" + std::to_string(q.judgements.size()) +
                   ", judgements=" + std::to_string(judgement_count(q.judgements)) + ")";
        });

    const std::array<double, 3> sw = compile_options{}.strength_weights;
    m.def(
        "compile_retrieval",
        [](const py::object& store, std::int64_t after_seq, std::int64_t until_seq, double min_weight,
           std::map<std::string, std::string> models) {
            auto o = options_arg(after_seq, until_seq, min_weight, compile_options{}.strength_weights, false, true,
                                 std::move(models), "compile_retrieval");
            return run_compile<std::vector<retrieval_example>>(
                store, o, "compile_retrieval",
                [](const feedback_batch& fb, const compile_options& op) { return compile_retrieval(fb, op); });
        },
        "store"_a, "after_seq"_a = 0, "until_seq"_a = 0, "min_weight"_a = 0.0, "models"_a = std::map<std::string, std::string>{},
        (std::string("Retrieval examples, one per distinct query text (repeated queries merged): positives, hard "
                     "negatives, weight (mean annotation weight), timestamp_ms (latest annotation). Queries without a "
                     "positive are left out. ") + kWindowDoc).c_str());
    m.def(
        "compile_rerank",
        [](const py::object& store, std::int64_t after_seq, std::int64_t until_seq, double min_weight,
           std::map<std::string, std::string> models) {
            auto o = options_arg(after_seq, until_seq, min_weight, compile_options{}.strength_weights, false, true,
                                 std::move(models), "compile_rerank");
            return run_compile<std::vector<rerank_list>>(
                store, o, "compile_rerank",
                [](const feedback_batch& fb, const compile_options& op) { return compile_rerank(fb, op); });
        },
        "store"_a, "after_seq"_a = 0, "until_seq"_a = 0, "min_weight"_a = 0.0, "models"_a = std::map<std::string, std::string>{},
        (std::string("Rerank lists, one per impression with relevance feedback. ") + kWindowDoc).c_str());
    m.def(
        "compile_preferences",
        [](const py::object& store, std::int64_t after_seq, std::int64_t until_seq, double min_weight,
           const std::array<double, 3>& strength_weights, bool keep_ties, bool both_bad_as_kto_negatives,
           std::map<std::string, std::string> models) {
            auto o = options_arg(after_seq, until_seq, min_weight, strength_weights, keep_ties,
                                 both_bad_as_kto_negatives, std::move(models), "compile_preferences");
            return run_compile<preference_data>(
                store, o, "compile_preferences",
                [](const feedback_batch& fb, const compile_options& op) { return compile_preferences(fb, op); });
        },
        "store"_a, "after_seq"_a = 0, "until_seq"_a = 0, "min_weight"_a = 0.0, "strength_weights"_a = sw,
        "keep_ties"_a = false, "both_bad_as_kto_negatives"_a = true, "models"_a = std::map<std::string, std::string>{},
        (std::string("Preference pairs and KTO examples. Preference a/b: chosen = that reply, weight = annotation "
                     "weight x strength_weights[slight, clear, strong]; tie: dropped, or two pairs of weight 0.5 "
                     "(keep_ties); both_bad: two KTO negatives (both_bad_as_kto_negatives). Adoption: used_as_is -> "
                     "KTO positive, not_used -> KTO negative, used_with_edits -> pair (final text over the "
                     "suggestion). ") + kWindowDoc).c_str());
    m.def(
        "compile_qrels",
        [](const py::object& store, std::int64_t after_seq, std::int64_t until_seq, double min_weight,
           std::map<std::string, std::string> models) {
            auto o = options_arg(after_seq, until_seq, min_weight, compile_options{}.strength_weights, false, true,
                                 std::move(models), "compile_qrels");
            return run_compile<feedback_qrels>(
                store, o, "compile_qrels",
                [](const feedback_batch& fb, const compile_options& op) { return compile_qrels(fb, op); });
        },
        "store"_a, "after_seq"_a = 0, "until_seq"_a = 0, "min_weight"_a = 0.0, "models"_a = std::map<std::string, std::string>{},
        (std::string("Qrels from relevance feedback, by weighted majority per case (hand-selected = relevant). ") +
         kWindowDoc).c_str());

    m.def(
        "mine_negatives",
        [](const py::list& examples, const py::object& retriever, py::ssize_t k, py::ssize_t n) {
            if (k < 1) throw config_error("mine_negatives: k out of range (got " + std::to_string(k) + ", expected >= 1)");
            if (n < 0) throw config_error("mine_negatives: n out of range (got " + std::to_string(n) + ", expected >= 0)");
            std::vector<retrieval_example> xs;
            xs.reserve(examples.size());
            for (std::size_t i = 0; i < examples.size(); ++i) {
                if (!py::isinstance<retrieval_example>(examples[i]))
                    throw py::type_error("mine_negatives: examples[" + std::to_string(i) +
                                         "] is not a RetrievalExample (got " + type_name(examples[i]) + ")");
                xs.push_back(examples[i].cast<const retrieval_example&>());
            }
            const any_retriever r = retriever_from_py(retriever, "mine_negatives");
            {
                py::gil_scoped_release release;
                mine_negatives(xs, r, static_cast<std::size_t>(k), static_cast<std::size_t>(n));
            }
            for (std::size_t i = 0; i < xs.size(); ++i)
                examples[i].cast<retrieval_example&>().mined_negatives = std::move(xs[i].mined_negatives);
        },
        "examples"_a, "retriever"_a, "k"_a = 30, "n"_a = 1,
        "Sets each RetrievalExample's mined_negatives (in place) to up to n of the retriever's top-k hits for its "
        "query that are neither a positive nor a hard negative, best first (aitl::mine_negatives). retriever: BM25 or "
        "any retriever a Pipeline takes. Raises ConfigError when k < 1 or n < 0.");

    def_time_split<retrieval_example>(
        m,
        "Split compiled items (a list of RetrievalExample, RerankList, PreferencePair or KtoExample) by "
        "timestamp_ms into (train, validation): every training item is strictly earlier than every validation item "
        "(items sharing the boundary time go to validation). Raises ConfigError unless 0 <= validation_fraction <= 1.");
    def_time_split<rerank_list>(m, "");
    def_time_split<preference_pair>(m, "");
    def_time_split<kto_example>(m, "");
}

}  // namespace aitl::python
