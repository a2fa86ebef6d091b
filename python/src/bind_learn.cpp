// Python binding of the trainers: learn/encoder_trainer.hpp (ContrastiveExample, EncoderTrainer,
// train_encoder) and rerank/feature_ranker.hpp (RankingList, FeatureRanker).
//
// Training runs with the GIL released; the progress callback takes the GIL back to call the
// Python callable (a Python exception in it stops training and is re-raised after).
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/learn/encoder_trainer.hpp>
#include <aitl/learn/training.hpp>
#include <aitl/rerank/feature_ranker.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
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

// A Python progress callable wrapped for a GIL-free trainer: the first exception it raises is
// kept (and training stopped) so that it can be re-raised once the trainer returns.
struct progress_bridge {
    py::object fn;
    std::shared_ptr<std::optional<py::error_already_set>> error = std::make_shared<std::optional<py::error_already_set>>();

    progress_callback callback() const {
        if (fn.is_none()) return {};
        py::object f = fn;
        auto err = error;
        return [f, err](const train_progress& p) {
            py::gil_scoped_acquire gil;
            try {
                py::dict d("epoch"_a = p.epoch, "epochs"_a = p.epochs, "step"_a = p.step, "steps"_a = p.steps,
                           "loss"_a = p.loss, "validation"_a = p.validation, "best_validation"_a = p.best_validation,
                           "end_of_epoch"_a = p.end_of_epoch);
                py::object r = f(d);
                return r.is_none() || r.cast<bool>();
            } catch (py::error_already_set& e) {
                if (!err->has_value()) err->emplace(std::move(e));
                return false;
            }
        };
    }
    void rethrow() {
        if (error->has_value()) {
            py::error_already_set e = std::move(**error);
            error->reset();
            throw e;
        }
    }
    ~progress_bridge() {
        // The kept exception (if not re-raised) holds Python references: drop it with the GIL.
        if (error && error->has_value()) error->reset();
    }
};

py::object result_dict(const train_result& r) { return json_to_py(json(r)); }

contrastive_example example_arg(py::handle h, const char* where, std::size_t i) {
    if (py::isinstance<contrastive_example>(h)) return h.cast<contrastive_example>();
    if (py::isinstance<py::dict>(h)) {
        py::dict d = py::reinterpret_borrow<py::dict>(h);
        contrastive_example ex;
        ex.query = d["query"].cast<std::string>();
        ex.positive = d["positive"].cast<std::string>();
        if (d.contains("negatives")) ex.negatives = d["negatives"].cast<std::vector<std::string>>();
        if (d.contains("weight")) ex.weight = d["weight"].cast<double>();
        return ex;
    }
    if (py::isinstance<py::tuple>(h) || py::isinstance<py::list>(h)) {
        py::sequence s = py::reinterpret_borrow<py::sequence>(h);
        if (s.size() >= 2 && s.size() <= 4) {
            contrastive_example ex;
            ex.query = s[0].cast<std::string>();
            ex.positive = s[1].cast<std::string>();
            if (s.size() >= 3) ex.negatives = s[2].cast<std::vector<std::string>>();
            if (s.size() >= 4) ex.weight = s[3].cast<double>();
            return ex;
        }
    }
    throw config_error(std::string(where) + ": example " + std::to_string(i) + " has the wrong type (got " +
                       type_name(h) + ", expected a ContrastiveExample, a dict or a (query, positive[, negatives[, weight]]) tuple)");
}

std::vector<contrastive_example> examples_arg(const py::object& obj, const char* where) {
    std::vector<contrastive_example> out;
    if (obj.is_none()) return out;
    std::size_t i = 0;
    for (py::handle h : obj) out.push_back(example_arg(h, where, i++));
    return out;
}

ranking_list list_arg(py::handle h, const char* where) {
    if (py::isinstance<ranking_list>(h)) return h.cast<ranking_list>();
    if (py::isinstance<py::dict>(h)) {
        py::dict d = py::reinterpret_borrow<py::dict>(h);
        ranking_list l;
        l.query = d["query"].cast<std::string>();
        l.candidates = hits_from_py(d["candidates"], where);
        if (d.contains("labels")) {
            py::object labels = d["labels"];
            if (py::isinstance<py::dict>(labels))
                for (auto kv : py::reinterpret_borrow<py::dict>(labels))
                    l.labels.emplace_back(kv.first.cast<std::string>(), kv.second.cast<double>());
            else
                l.labels = labels.cast<std::vector<std::pair<std::string, double>>>();
        }
        if (d.contains("weight")) l.weight = d["weight"].cast<double>();
        if (d.contains("dense")) {
            py::object dense = d["dense"];
            if (py::isinstance<py::dict>(dense))
                for (auto kv : py::reinterpret_borrow<py::dict>(dense))
                    l.dense.emplace_back(kv.first.cast<std::string>(), kv.second.cast<double>());
            else
                l.dense = dense.cast<std::vector<std::pair<std::string, double>>>();
        }
        return l;
    }
    throw config_error(std::string(where) + ": a list has the wrong type (got " + type_name(h) +
                       ", expected a RankingList or a dict with query, candidates, labels)");
}

std::vector<ranking_list> lists_arg(const py::object& obj, const char* where) {
    std::vector<ranking_list> out;
    if (obj.is_none()) return out;
    for (py::handle h : obj) out.push_back(list_arg(h, where));
    return out;
}

template <class Config>
Config config_arg(const py::object& config, const py::kwargs& kwargs, const char* where) {
    json j = json::object();
    if (!config.is_none()) j = py_to_json(config, where);
    for (auto kv : kwargs) j[kv.first.cast<std::string>()] = py_to_json(kv.second, where);
    Config c = j.get<Config>();
    c.validate();
    return c;
}

py::tuple train_encoder_py(const hashed_encoder& encoder, const py::object& train, const py::object& validation,
                           const py::object& config, const py::object& progress, const py::kwargs& kwargs) {
    const auto cfg = config_arg<encoder_trainer_config>(config, kwargs, "train_encoder");
    const auto tr = examples_arg(train, "train_encoder");
    const auto va = examples_arg(validation, "train_encoder");
    progress_bridge bridge{progress};
    auto cb = bridge.callback();
    hashed_encoder out = encoder;
    train_result r;
    {
        py::gil_scoped_release release;
        encoder_trainer trainer(cfg);
        r = trainer.train(out, tr, va, cb);
    }
    bridge.rethrow();
    return py::make_tuple(py::cast(std::move(out)), result_dict(r));
}

}  // namespace

void bind_learn(py::module_& m) {
    py::class_<contrastive_example>(m, "ContrastiveExample",
                                    "A query, one relevant document text and hard-negative texts, for train_encoder.")
        .def(py::init([](std::string query, std::string positive, std::vector<std::string> negatives, double weight) {
                 return contrastive_example{std::move(query), std::move(positive), std::move(negatives), weight};
             }),
             "query"_a, "positive"_a, "negatives"_a = std::vector<std::string>{}, "weight"_a = 1.0)
        .def_readwrite("query", &contrastive_example::query)
        .def_readwrite("positive", &contrastive_example::positive)
        .def_readwrite("negatives", &contrastive_example::negatives)
        .def_readwrite("weight", &contrastive_example::weight)
        .def("__repr__", [](const contrastive_example& e) {
            return "ContrastiveExample(query=" + py::repr(py::str(e.query)).cast<std::string>() +
                   ", negatives=" + std::to_string(e.negatives.size()) + ")";
        });

    py::class_<encoder_trainer>(
        m, "EncoderTrainer",
        "Contrastive (InfoNCE, in-batch + hard negatives) training of a HashedEncoder's projection with Adam. "
        "Settings as a dict and/or keywords: epochs, batch_size, learning_rate, temperature, hard_negatives, "
        "beta1, beta2, epsilon, patience, min_delta, validation_k, seed, sparse_adam.")
        .def(py::init([](const py::object& config, const py::kwargs& kwargs) {
                 return encoder_trainer(config_arg<encoder_trainer_config>(config, kwargs, "EncoderTrainer"));
             }),
             "config"_a = py::none())
        .def_property_readonly("config", [](const encoder_trainer& t) { return json_to_py(json(t.config())); })
        .def(
            "train",
            [](const encoder_trainer& t, hashed_encoder& enc, const py::object& train, const py::object& validation,
               const py::object& progress) {
                const auto tr = examples_arg(train, "EncoderTrainer.train");
                const auto va = examples_arg(validation, "EncoderTrainer.train");
                progress_bridge bridge{progress};
                auto cb = bridge.callback();
                train_result r;
                {
                    py::gil_scoped_release release;
                    r = t.train(enc, tr, va, cb);
                }
                bridge.rethrow();
                return result_dict(r);
            },
            "encoder"_a, "train"_a, "validation"_a = py::none(), "progress"_a = py::none(),
            "Trains `encoder` in place; returns the summary dict. progress(dict) returning False stops.")
        .def(
            "loss",
            [](const encoder_trainer& t, const hashed_encoder& enc, const py::object& ex) {
                const auto e = examples_arg(ex, "EncoderTrainer.loss");
                py::gil_scoped_release release;
                return t.loss(enc, e);
            },
            "encoder"_a, "examples"_a)
        .def(
            "recall_at_k",
            [](const encoder_trainer& t, const hashed_encoder& enc, const py::object& ex) {
                const auto e = examples_arg(ex, "EncoderTrainer.recall_at_k");
                py::gil_scoped_release release;
                return t.recall_at_k(enc, e);
            },
            "encoder"_a, "examples"_a);

    m.def("train_encoder", &train_encoder_py, "encoder"_a, "train"_a, "validation"_a = py::none(), "config"_a = py::none(),
          "progress"_a = py::none(),
          "Trains a copy of `encoder` (settings as in EncoderTrainer); returns (trained HashedEncoder, summary dict).");

    py::class_<ranking_list>(m, "RankingList",
                             "A training list for FeatureRanker: query, candidates (Hits or (id, score)), "
                             "labels [(doc id, grade)] with 0 not relevant, 1 relevant, 2 selected; weight.")
        .def(py::init([](std::string query, const py::object& candidates, std::vector<std::pair<std::string, double>> labels,
                         double weight, std::vector<std::pair<std::string, double>> dense) {
                 return ranking_list{std::move(query), hits_from_py(candidates, "RankingList"), std::move(labels), weight,
                                     std::move(dense)};
             }),
             "query"_a, "candidates"_a, "labels"_a = std::vector<std::pair<std::string, double>>{}, "weight"_a = 1.0,
             "dense"_a = std::vector<std::pair<std::string, double>>{},
             "dense: [(doc id, score)] replacing the attached encoder's dense feature for this list (out-of-fold scores).")
        .def_readwrite("query", &ranking_list::query)
        .def_readwrite("candidates", &ranking_list::candidates)
        .def_readwrite("labels", &ranking_list::labels)
        .def_readwrite("weight", &ranking_list::weight)
        .def_readwrite("dense", &ranking_list::dense);

    py::class_<feature_ranker>(
        m, "FeatureRanker",
        "Learned reranker over query-document features (feature_names()) trained with LambdaRank on NDCG@k: "
        "model='trees' (gradient-boosted trees, LambdaMART; settings in trees={rounds, learning_rate, max_depth, "
        "max_leaves, min_child_weight, l2, min_split_gain, subsample, feature_subsample, max_bins}) or model='linear' "
        "(epochs, learning_rate, l2, beta1, beta2, epsilon). Either model is a correction on top of the first-stage "
        "order: candidate i starts at -base_weight * log2(2 + i), so a model without evidence reproduces the first "
        "stage. Settings as a dict and/or keywords (model, trees, epochs, learning_rate, ndcg_k, deep_pair_weight, "
        "deep_pair_per_dcg, l2, base_weight, patience, min_delta, learn_feedback, leave_one_out, beta1, beta2, "
        "epsilon, seed, features).")
        .def(py::init([](const knowledge_base& kb, const py::object& config, const py::kwargs& kwargs) {
                 auto c = config_arg<feature_ranker_config>(config, kwargs, "FeatureRanker");
                 py::gil_scoped_release release;
                 return feature_ranker(kb, std::move(c));
             }),
             "kb"_a, "config"_a = py::none())
        .def_property_readonly("config", [](const feature_ranker& r) { return json_to_py(json(r.config())); })
        .def_property_readonly("fitted", &feature_ranker::fitted)
        .def_property_readonly("weights", &feature_ranker::weights)
        .def_static("feature_names", &rerank_feature_names)
        .def(
            "set_encoder",
            [](feature_ranker& r, const hashed_encoder& enc) {
                auto e = std::make_shared<hashed_encoder>(enc);
                py::gil_scoped_release release;
                r.features().set_encoder([e](const std::vector<std::string>& t) { return e->encode(t); });
            },
            "encoder"_a, "Attaches (a copy of) a HashedEncoder for the dense feature; encodes every document now.")
        .def("clear_encoder", [](feature_ranker& r) { r.features().clear_encoder(); })
        .def_property_readonly("has_encoder", [](const feature_ranker& r) { return r.features().has_encoder(); })
        .def(
            "add_feedback",
            [](feature_ranker& r, const std::string& id, double relevant, double not_relevant, double selected) {
                r.features().add_feedback(id, doc_feedback{relevant, not_relevant, selected});
            },
            "doc_id"_a, "relevant"_a = 0.0, "not_relevant"_a = 0.0, "selected"_a = 0.0)
        .def("clear_feedback", [](feature_ranker& r) { r.features().clear_feedback(); })
        .def_property_readonly("feedback",
                               [](const feature_ranker& r) {
                                   py::dict d;
                                   for (const auto& f : r.features().feedback())
                                       d[py::str(f.first)] = py::make_tuple(f.second.relevant, f.second.not_relevant, f.second.selected);
                                   return d;
                               })
        .def(
            "features",
            [](const feature_ranker& r, const std::string& query, const py::object& candidates) {
                const hits c = hits_from_py(candidates, "FeatureRanker.features");
                Eigen::MatrixXd x;
                {
                    py::gil_scoped_release release;
                    x = r.features().extract(query, c);
                }
                py::array_t<double> a({static_cast<py::ssize_t>(x.rows()), static_cast<py::ssize_t>(x.cols())});
                auto v = a.mutable_unchecked<2>();
                for (Eigen::Index i = 0; i < x.rows(); ++i)
                    for (Eigen::Index j = 0; j < x.cols(); ++j) v(i, j) = x(i, j);
                return a;
            },
            "query"_a, "candidates"_a, "The raw (unstandardised) feature matrix, one row per candidate.")
        .def(
            "fit",
            [](feature_ranker& r, const py::object& train, const py::object& validation, const py::object& progress) {
                const auto tr = lists_arg(train, "FeatureRanker.fit");
                const auto va = lists_arg(validation, "FeatureRanker.fit");
                progress_bridge bridge{progress};
                auto cb = bridge.callback();
                train_result res;
                {
                    py::gil_scoped_release release;
                    res = r.fit(tr, va, cb);
                }
                bridge.rethrow();
                return result_dict(res);
            },
            "train"_a, "validation"_a = py::none(), "progress"_a = py::none(),
            "Trains on RankingLists (or dicts); returns the summary dict.")
        .def(
            "score",
            [](const feature_ranker& r, const std::string& query, const py::object& candidates) {
                const hits c = hits_from_py(candidates, "FeatureRanker.score");
                py::gil_scoped_release release;
                return r.score(query, c);
            },
            "query"_a, "candidates"_a)
        .def(
            "rerank",
            [](const feature_ranker& r, const std::string& query, const py::object& candidates, std::size_t k) {
                const hits c = hits_from_py(candidates, "FeatureRanker.rerank");
                py::gil_scoped_release release;
                return r.rerank(query, c, k);
            },
            "query"_a, "candidates"_a, "k"_a, "The k best candidates by the model, best first, as Hits.")
        .def(
            "rerank_many",
            [](const feature_ranker& r, const std::vector<std::string>& queries, const py::object& candidates, std::size_t k) {
                std::vector<hits> c;
                for (py::handle h : candidates) c.push_back(hits_from_py(h, "FeatureRanker.rerank_many"));
                if (c.size() != queries.size())
                    throw dimension_error("FeatureRanker.rerank_many: candidate lists and queries differ in number (got " +
                                          std::to_string(c.size()) + ", expected " + std::to_string(queries.size()) + ")");
                std::vector<hits> out(c.size());
                py::gil_scoped_release release;
                for (std::size_t i = 0; i < c.size(); ++i) out[i] = r.rerank(queries[i], c[i], k);
                return out;
            },
            "queries"_a, "candidates"_a, "k"_a)
        .def(
            "rerank_lists",
            [](const feature_ranker& r, const py::object& lists) {
                const auto l = lists_arg(lists, "FeatureRanker.rerank_lists");
                py::gil_scoped_release release;
                return r.rerank_lists(l);
            },
            "lists"_a,
            "Reranks each RankingList's own candidates (judged documents outside them stay out), using the list's dense "
            "scores in place of the encoder's when it has them: how cross-validation scores held-out lists.")
        .def(
            "ndcg",
            [](const feature_ranker& r, const py::object& lists, std::size_t k) {
                const auto l = lists_arg(lists, "FeatureRanker.ndcg");
                py::gil_scoped_release release;
                return r.ndcg(l, k);
            },
            "lists"_a, "k"_a = 8)
        .def("save", [](const feature_ranker& r) { return py::bytes(r.save()); }, "The model as bytes (deterministic).")
        .def("save_file", [](const feature_ranker& r, const py::object& path) { r.save_file(path_arg(path)); }, "path"_a)
        .def_static(
            "load",
            [](const py::bytes& b, const knowledge_base& kb) { return feature_ranker::load(std::string(b), kb); },
            "data"_a, "kb"_a, "A ranker from save() bytes (attach the encoder again when it uses the dense feature).")
        .def_static(
            "load_file", [](const py::object& path, const knowledge_base& kb) { return feature_ranker::load_file(path_arg(path), kb); },
            "path"_a, "kb"_a);
    register_reranker<feature_ranker>("feature_ranker");  // shared with pipelines, reranks in C++
}

}  // namespace aitl::python
