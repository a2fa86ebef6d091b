// Python binding of learn/reward_model.hpp: RewardModel (Bradley–Terry over reply features).
//
// Feature extraction, training and scoring run with the GIL released; the progress callback
// takes it back for each report.
#include <aitl/learn/reward_model.hpp>

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "pyjson.hpp"

namespace aitl::python {
namespace {

using namespace pybind11::literals;
using nlohmann::json;
using refs_t = std::vector<std::vector<std::string>>;

reward_model_config config_arg(const py::object& config) {
    reward_model_config c;
    if (!config.is_none()) from_json(py_to_json(config, "RewardModel"), c);
    return c;
}

py::dict progress_dict(const train_progress& p) {
    py::dict d;
    d["epoch"] = p.epoch;
    d["epochs"] = p.epochs;
    d["step"] = p.step;
    d["steps"] = p.steps;
    d["loss"] = p.loss;
    d["validation"] = p.validation;
    d["best_validation"] = p.best_validation;
    d["end_of_epoch"] = p.end_of_epoch;
    return d;
}

refs_t refs_arg(const py::object& refs) { return refs.is_none() ? refs_t{} : refs.cast<refs_t>(); }

}  // namespace

void bind_reward(py::module_& m) {
    py::class_<reward_model>(
        m, "RewardModel",
        "Bradley-Terry reward model: P(chosen > rejected) = sigmoid(w . (phi(chosen) - phi(rejected))) over "
        "standardised reply features (see feature_names()): length, overlap with the question and the "
        "conversation, grounding in the references, citation count and validity, relevance and rank of the cited "
        "references, repetition, novel terms, and the cited documents' relevance rate in relevance feedback "
        "(set_document_relevance). A query's last line is the question, the lines before it the "
        "conversation; a reference may start with its '[doc_id]' marker so citations can be checked. Trained by "
        "Newton steps (deterministic: same data, same bytes).")
        .def(py::init([](const py::object& config) { return reward_model(config_arg(config)); }), "config"_a = py::none(),
             "config: dict of settings {'l2', 'epochs', 'tolerance', 'patience', 'min_delta', 'validation_fraction', "
             "'seed', 'top_references', 'prior_strength', 'analyzer'} (missing keys take defaults). Raises ConfigError for unknown keys or "
             "values out of range.")
        .def_property_readonly("config", [](const reward_model& r) { return json_to_py(json(r.config())); },
                               "The settings as a dict.")
        .def_static("feature_names", &reward_model::feature_names, "The feature names, in the order of features().")
        .def_property_readonly("weights", &reward_model::weights, "Weights of the standardised features.")
        .def_property_readonly("feature_mean", &reward_model::feature_mean)
        .def_property_readonly("feature_scale", &reward_model::feature_scale)
        .def_property_readonly("trained", &reward_model::trained)
        .def(
            "set_document_relevance",
            [](reward_model& r, const qrels& judgements) { r.set_document_relevance(judgements); }, "judgements"_a,
            "Sets the relevance evidence behind the cited_prior feature from judgements {query id: {doc id: grade}} "
            "(e.g. aitl.compile_qrels(store).judgements): each judgement counts once for its document, relevant when "
            "grade > 0. Call before train(); the evidence is saved with the model. Training leaves each pair's own "
            "query (PreferencePair.query_id) out of that pair's cited_prior; score and choose use all of it.")
        .def_property_readonly(
            "document_relevance",
            [](const reward_model& r) {
                py::dict d;
                for (const auto& [id, e] : r.document_relevance()) d[py::str(id)] = py::make_tuple(e.relevant, e.judged);
                return d;
            },
            "{doc id: (relevant, judged)}: the evidence set by set_document_relevance (empty: none).")
        .def_property_readonly(
            "relevance_judgements", [](const reward_model& r) { return r.relevance_judgements(); },
            "{query id: {doc id: 0 or 1}}: the judgements behind document_relevance, kept per query so that "
            "training leaves each pair's own query (PreferencePair.query_id) out of its cited_prior.")
        .def(
            "features",
            [](const reward_model& r, const std::string& query, const std::string& reply,
               const std::vector<std::string>& references, const std::string& leave_out) {
                py::gil_scoped_release release;
                return r.features(query, reply, references, leave_out);
            },
            "query"_a, "reply"_a, "references"_a = std::vector<std::string>{}, "leave_out"_a = "",
            "The raw features of one reply. leave_out: a query id whose relevance judgements cited_prior leaves "
            "out, as training does for a pair with that query_id ('' : all evidence, as score and choose).")
        .def(
            "score",
            [](const reward_model& r, const std::string& query, const std::string& reply,
               const std::vector<std::string>& references) {
                py::gil_scoped_release release;
                return r.score(query, reply, references);
            },
            "query"_a, "reply"_a, "references"_a = std::vector<std::string>{},
            "The reward of one reply (higher is better).")
        .def(
            "choose",
            [](const reward_model& r, const std::string& query, const std::vector<std::string>& candidates,
               const std::vector<std::string>& references) {
                py::gil_scoped_release release;
                return r.choose(query, candidates, references);
            },
            "query"_a, "candidates"_a, "references"_a = std::vector<std::string>{},
            "Index of the best-scored candidate (the first of equal scores). Raises ConfigError for no candidates.")
        .def(
            "train",
            [](reward_model& r, const std::vector<preference_pair>& pairs, const py::object& references,
               const std::vector<preference_pair>& validation, const py::object& validation_references,
               const py::object& progress) {
                const refs_t refs = refs_arg(references), vrefs = refs_arg(validation_references);
                progress_callback cb;
                if (!progress.is_none()) {
                    cb = [progress](const train_progress& p) {
                        py::gil_scoped_acquire gil;
                        py::object out = progress(progress_dict(p));
                        return out.is_none() || out.cast<bool>();
                    };
                }
                train_result res;
                {
                    py::gil_scoped_release release;
                    res = r.train(pairs, refs, validation, vrefs, cb);
                }
                return json_to_py(json(res));
            },
            "pairs"_a, "references"_a = py::none(), "validation"_a = std::vector<preference_pair>{},
            "validation_references"_a = py::none(), "progress"_a = py::none(),
            "Trains on PreferencePairs (query = prompt; the judgements of a pair's query_id are left out of its "
            "cited_prior). references: one list of reference texts per pair, or None. "
            "progress(dict) is called after every Newton step; returning False stops (the best model is kept). "
            "Returns the training summary dict {'epochs_run', 'best_epoch', 'best_validation', 'train_loss', "
            "'validation', 'stopped_early', 'cancelled'}. Raises ConfigError for no pairs or a weight <= 0, "
            "DimensionError when references do not match the pairs.")
        .def(
            "accuracy",
            [](const reward_model& r, const std::vector<preference_pair>& pairs, const py::object& references) {
                const refs_t refs = refs_arg(references);
                py::gil_scoped_release release;
                return r.accuracy(pairs, refs);
            },
            "pairs"_a, "references"_a = py::none(),
            "Weighted share of pairs whose chosen reply scores higher (equal scores count half); NaN for none.")
        .def("to_bytes", [](const reward_model& r) { return py::bytes(r.to_bytes()); },
             "The model as JSON bytes (the same model always gives the same bytes).")
        .def_static(
            "from_bytes", [](const py::bytes& b) { return reward_model::from_bytes(std::string(b)); }, "data"_a,
            "A model from to_bytes() output. Raises ParseError for anything else.")
        .def(
            "save", [](const reward_model& r, const py::object& path) { r.save(path_arg(path)); }, "path"_a,
            "Writes to_bytes() to a file. Raises IoError.")
        .def_static(
            "load", [](const py::object& path) { return reward_model::load(path_arg(path)); }, "path"_a,
            "Reads a saved model. Raises IoError, ParseError.")
        .def("__repr__", [](const reward_model& r) {
            return std::string("RewardModel(trained=") + (r.trained() ? "True" : "False") +
                   ", features=" + std::to_string(reward_model::feature_count) + ")";
        });
}

}  // namespace aitl::python
