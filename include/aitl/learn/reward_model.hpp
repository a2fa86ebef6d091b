#pragma once
/// @file learn/reward_model.hpp
/// @brief A Bradley–Terry reward model over hand-made reply features, trained from preference
/// pairs by Newton's method (IRLS); picks the best of N candidate replies.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "../detail/json_parse.hpp"
#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../eval/qrels.hpp"
#include "../text/analyzer.hpp"
#include "examples.hpp"
#include "reward_features.hpp"
#include "training.hpp"

namespace aitl {

/**
 * @brief Settings of a `reward_model`.
 *
 * JSON form: `{"l2": 0.01, "epochs": 50, "tolerance": 1e-10, "patience": 5, "min_delta": 0,
 * "validation_fraction": 0, "seed": 0, "top_references": 3, "prior_strength": 5, "analyzer": {...}}`
 * (every key optional).
 */
struct reward_model_config {
    double l2 = 0.01;                 ///< L2 penalty on the weights (standardised features), finite, >= 0
    std::size_t epochs = 50;          ///< Newton steps at most, >= 1
    double tolerance = 1e-10;         ///< stop when the loss improves by less, finite, >= 0
    std::size_t patience = 5;         ///< stop after this many steps without validation gain (0: never)
    double min_delta = 0.0;           ///< smallest validation gain that counts, finite, >= 0
    double validation_fraction = 0.0; ///< without validation pairs, hold out this share (seeded), [0, 1)
    std::uint64_t seed = 0;           ///< seed of that hold-out draw
    std::size_t top_references = 3;   ///< references counted as "top" (the first n given), >= 1
    double prior_strength = 5.0;      ///< judgements at the overall relevance rate added to each document's
                                      ///< own (smoothing of `cited_prior`), finite, > 0
    analyzer_config analyzer;         ///< how texts become terms (stems, no stop words by default)
};

/// @throws config_error naming the setting and its range.
inline void validate(const reward_model_config& c, const char* where = "reward_model_config") {
    auto bad = [&](const char* what, double got, const char* expected) {
        throw config_error(std::string(where) + ": " + what + " out of range (got " + std::to_string(got) +
                           ", expected " + expected + ")");
    };
    if (!std::isfinite(c.l2) || c.l2 < 0) bad("l2", c.l2, "finite, >= 0");
    if (c.epochs < 1) bad("epochs", static_cast<double>(c.epochs), ">= 1");
    if (!std::isfinite(c.tolerance) || c.tolerance < 0) bad("tolerance", c.tolerance, "finite, >= 0");
    if (!std::isfinite(c.min_delta) || c.min_delta < 0) bad("min_delta", c.min_delta, "finite, >= 0");
    if (!(c.validation_fraction >= 0 && c.validation_fraction < 1))
        bad("validation_fraction", c.validation_fraction, "0 <= validation_fraction < 1");
    if (c.top_references < 1) bad("top_references", static_cast<double>(c.top_references), ">= 1");
    if (!std::isfinite(c.prior_strength) || c.prior_strength <= 0) bad("prior_strength", c.prior_strength, "finite, > 0");
    if (c.analyzer.stopwords && c.analyzer.language != "english")
        throw config_error(std::string(where) + ": analyzer stop words are only shipped for English (got language '" +
                           c.analyzer.language + "', expected 'english')");
}

inline void to_json(nlohmann::json& j, const reward_model_config& c) {
    j = nlohmann::json{{"l2", c.l2},
                       {"epochs", c.epochs},
                       {"tolerance", c.tolerance},
                       {"patience", c.patience},
                       {"min_delta", c.min_delta},
                       {"validation_fraction", c.validation_fraction},
                       {"seed", c.seed},
                       {"top_references", c.top_references},
                       {"prior_strength", c.prior_strength},
                       {"analyzer", c.analyzer}};
}

/// @throws config_error on unknown keys or wrong types (missing keys keep their defaults), and
/// for values out of range.
inline void from_json(const nlohmann::json& j, reward_model_config& c) {
    const char* t = "reward_model_config";
    detail::config_check_keys(j, t, {"l2", "epochs", "tolerance", "patience", "min_delta", "validation_fraction",
                                     "seed", "top_references", "prior_strength", "analyzer"});
    detail::config_read_key(j, t, "l2", c.l2);
    detail::config_read_key(j, t, "epochs", c.epochs);
    detail::config_read_key(j, t, "tolerance", c.tolerance);
    detail::config_read_key(j, t, "patience", c.patience);
    detail::config_read_key(j, t, "min_delta", c.min_delta);
    detail::config_read_key(j, t, "validation_fraction", c.validation_fraction);
    detail::config_read_key(j, t, "seed", c.seed);
    detail::config_read_key(j, t, "top_references", c.top_references);
    detail::config_read_key(j, t, "prior_strength", c.prior_strength);
    if (auto it = j.find("analyzer"); it != j.end()) from_json(*it, c.analyzer);
    validate(c, "reward_model_config::from_json");
}

/**
 * @brief Bradley–Terry reward model: P(chosen ≻ rejected) = σ(w · (φ(chosen) − φ(rejected))).
 *
 * φ is `reward_features` (learn/reward_features.hpp): length, overlap with the question and the
 * conversation, grounding in the references, citation count and validity, relevance and rank of
 * the cited references, repetition, novel terms, and `cited_prior`: the mean over the cited
 * references of their document's relevance rate in the relevance feedback given by
 * `set_document_relevance` (e.g. `compile_qrels(...).judgements`): (relevant + s·p) / (judged + s),
 * s = `prior_strength`, p = the rate over all judgements (a document never judged gets p); 0
 * without such feedback. The evidence is part of the model.
 *
 * Leave-one-out: a training pair must not see its own relevance labels. For each pair whose
 * `preference_pair::query_id` is set (`compile_preferences` sets it to the qrels query id of the
 * pair's impression, the key `compile_qrels` uses), training (and `accuracy`) compute
 * `cited_prior` from the evidence without that query's judgements (documents, counts and p);
 * `score` and `choose` (serving) use all evidence. `features(..., leave_out)` shows either view.
 *
 * Features are standardised with the training replies' mean and deviation (kept in the model).
 *
 * Training minimises the weighted mean logistic loss (pair weight = `preference_pair::weight`)
 * plus `l2 / 2 · |w|²` by Newton steps with step halving: no random draws, so the same data gives
 * the same model bytes (the seed only picks a hold-out share when asked). Each Newton step is one
 * "epoch" of the progress reports; the validation score is the weighted share of validation pairs
 * ranked right (equal scores count half); the best step's weights are kept.
 *
 * @note Thread safety: `score`, `choose` and `features` are const and may run concurrently (each
 * call copies no state; stemming is serialised by the analyzer's stemmer mutex); `train`,
 * `set_document_relevance` and `load` must not run concurrently with anything else on the same model.
 * @code
 * aitl::reward_model rm;
 * rm.set_document_relevance(compile_qrels(store).judgements);  // optional, before train
 * rm.train(pairs, references);   // pairs: compile_preferences(...).pairs
 * std::size_t best = rm.choose(prompt, {reply_a, reply_b}, shown_texts);
 * @endcode
 */
class reward_model {
public:
    static constexpr std::size_t feature_count = reward_features::count;

    /// @brief Relevance feedback on one document: judgements that it is relevant, judgements.
    struct document_evidence {
        double relevant = 0.0;
        double judged = 0.0;
        friend bool operator==(const document_evidence& a, const document_evidence& b) {
            return a.relevant == b.relevant && a.judged == b.judged;
        }
    };

    /// @throws config_error for settings out of range.
    explicit reward_model(reward_model_config config = {})
        : config_(std::move(config)), features_(check(config_).analyzer, config_.top_references) {
        weights_.assign(feature_count, 0.0);
        mean_.assign(feature_count, 0.0);
        scale_.assign(feature_count, 1.0);
    }

    /// @returns The feature names, in the order of `features()` (`reward_features::names()`).
    static const std::vector<std::string>& feature_names() { return reward_features::names(); }

    /**
     * @brief Sets the per-document relevance evidence behind `cited_prior` (replacing any):
     * every (query, document) judgement counts once for the document, as relevant when its
     * grade is > 0. The judgements are kept per query id, so that training can leave a pair's own
     * query out (see the class comment). Call it before `train`: the trained weights assume this
     * evidence.
     */
    void set_document_relevance(const qrels& judgements) {
        judgements_.clear();
        for (const auto& [query, judged] : judgements)
            for (const auto& [doc, grade] : judged) judgements_[query][doc] = grade > 0 ? 1 : 0;
        documents_.clear();
        for (const auto& [query, judged] : judgements_) {
            for (const auto& [doc, relevant] : judged) {
                auto& e = documents_[doc];
                e.judged += 1.0;
                e.relevant += relevant;
            }
        }
        update_base_rate();
    }
    /// @returns The relevance evidence per document id (empty: none set).
    const std::map<std::string, document_evidence>& document_relevance() const noexcept { return documents_; }
    /// @returns The judgements behind it, per query id (grades 0 / 1; empty: none set, or a model
    /// loaded from bytes that kept only the per-document counts).
    const qrels& relevance_judgements() const noexcept { return judgements_; }

    const reward_model_config& config() const noexcept { return config_; }
    /// @returns Weights of the standardised features (all 0 before training).
    const std::vector<double>& weights() const noexcept { return weights_; }
    const std::vector<double>& feature_mean() const noexcept { return mean_; }
    const std::vector<double>& feature_scale() const noexcept { return scale_; }
    /// @returns true once trained or loaded.
    bool trained() const noexcept { return trained_; }

    /**
     * @returns The raw (not standardised) features of one reply, see `reward_features`.
     * @param leave_out a relevance-feedback query id whose judgements `cited_prior` leaves out, as
     * training does for a pair of that `query_id` ("": all evidence, as `score` and `choose`).
     */
    std::vector<double> features(std::string_view query, std::string_view reply, const std::vector<std::string>& references,
                                 std::string_view leave_out = {}) const {
        return features_of(features_.prepare(query, references), reply, evidence_without(leave_out));
    }

    /// @returns The reward of one reply (higher is better; only differences are meaningful).
    double score(std::string_view query, std::string_view reply, const std::vector<std::string>& references) const {
        return dot(features(query, reply, references));
    }

    /// @returns The index of the best-scored candidate (the first of equal scores).
    /// @throws config_error when `candidates` is empty.
    std::size_t choose(std::string_view query, const std::vector<std::string>& candidates,
                       const std::vector<std::string>& references) const {
        if (candidates.empty())
            throw config_error("reward_model::choose: no candidates (got 0, expected at least 1)");
        const auto ctx = features_.prepare(query, references);
        const auto all = evidence_without({});
        std::size_t best = 0;
        double best_score = -std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            const double s = dot(features_of(ctx, candidates[i], all));
            if (s > best_score) best = i, best_score = s;
        }
        return best;
    }

    /**
     * @brief Trains on preference pairs (query = `pair.prompt`).
     * @param references One list per pair (the documents shown with its replies), or empty
     * (no references for any pair).
     * @param validation Pairs for early stopping (empty: `validation_fraction` of `pairs`, or none).
     * @param progress Called after every Newton step; returning false stops (best model kept).
     * @throws config_error when there are no pairs or a weight is not finite or <= 0;
     * dimension_error when a references list does not match its pairs.
     */
    train_result train(const std::vector<preference_pair>& pairs, const std::vector<std::vector<std::string>>& references = {},
                       const std::vector<preference_pair>& validation = {},
                       const std::vector<std::vector<std::string>>& validation_references = {},
                       const progress_callback& progress = {}) {
        check_pairs(pairs, references, "pairs");
        check_pairs(validation, validation_references, "validation");
        if (pairs.empty()) throw config_error("reward_model::train: no training pairs (got 0, expected at least 1)");
        std::vector<std::size_t> train_idx(pairs.size()), val_idx;
        for (std::size_t i = 0; i < pairs.size(); ++i) train_idx[i] = i;
        if (validation.empty() && config_.validation_fraction > 0 && pairs.size() > 1) {
            std::mt19937_64 rng(config_.seed);
            detail::seeded_shuffle(train_idx, rng);
            auto n_val = static_cast<std::size_t>(std::llround(config_.validation_fraction * static_cast<double>(pairs.size())));
            n_val = std::min(std::max<std::size_t>(n_val, 1), pairs.size() - 1);
            val_idx.assign(train_idx.end() - static_cast<std::ptrdiff_t>(n_val), train_idx.end());
            train_idx.resize(pairs.size() - n_val);
            std::sort(train_idx.begin(), train_idx.end());
            std::sort(val_idx.begin(), val_idx.end());
        }
        auto rows = [&](const std::vector<preference_pair>& ps, const std::vector<std::vector<std::string>>& refs,
                        const std::vector<std::size_t>& idx, Eigen::MatrixXd& chosen, Eigen::MatrixXd& rejected,
                        Eigen::VectorXd& w) {
            static const std::vector<std::string> none;
            chosen.resize(static_cast<Eigen::Index>(idx.size()), feature_count);
            rejected.resize(chosen.rows(), feature_count);
            w.resize(chosen.rows());
            for (std::size_t r = 0; r < idx.size(); ++r) {
                const auto& p = ps[idx[r]];
                const auto ctx = features_.prepare(p.prompt, refs.empty() ? none : refs[idx[r]]);
                const auto ev = evidence_without(p.query_id);
                const auto fc = features_of(ctx, p.chosen, ev), fr = features_of(ctx, p.rejected, ev);
                for (std::size_t k = 0; k < feature_count; ++k) {
                    chosen(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k)) = fc[k];
                    rejected(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k)) = fr[k];
                }
                w(static_cast<Eigen::Index>(r)) = p.weight;
            }
        };
        Eigen::MatrixXd tc, tr, vc, vr;
        Eigen::VectorXd tw, vw;
        rows(pairs, references, train_idx, tc, tr, tw);
        if (!validation.empty()) {
            std::vector<std::size_t> all(validation.size());
            for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
            rows(validation, validation_references, all, vc, vr, vw);
        } else if (!val_idx.empty()) {
            rows(pairs, references, val_idx, vc, vr, vw);
        }
        // standardisation from the training replies (chosen and rejected)
        const double n_rows = 2.0 * static_cast<double>(tc.rows());
        for (Eigen::Index k = 0; k < static_cast<Eigen::Index>(feature_count); ++k) {
            const double m = (tc.col(k).sum() + tr.col(k).sum()) / n_rows;
            const double v = ((tc.col(k).array() - m).square().sum() + (tr.col(k).array() - m).square().sum()) / n_rows;
            mean_[static_cast<std::size_t>(k)] = m;
            scale_[static_cast<std::size_t>(k)] = v > 1e-24 ? std::sqrt(v) : 1.0;
        }
        auto diff = [&](const Eigen::MatrixXd& c, const Eigen::MatrixXd& r) {
            Eigen::MatrixXd d = c - r;
            for (Eigen::Index k = 0; k < d.cols(); ++k) d.col(k) /= scale_[static_cast<std::size_t>(k)];
            return d;
        };
        const Eigen::MatrixXd D = diff(tc, tr);
        const Eigen::MatrixXd V = vc.rows() ? diff(vc, vr) : Eigen::MatrixXd();
        const double wsum = tw.sum();
        const auto F = static_cast<Eigen::Index>(feature_count);
        auto loss_of = [&](const Eigen::VectorXd& w) {
            const Eigen::VectorXd s = D * w;
            double l = 0;
            for (Eigen::Index i = 0; i < s.size(); ++i) l += tw(i) * softplus(-s(i));
            return l / wsum + 0.5 * config_.l2 * w.squaredNorm();
        };
        auto val_score = [&](const Eigen::VectorXd& w) {
            const Eigen::VectorXd s = V * w;
            double right = 0;
            for (Eigen::Index i = 0; i < s.size(); ++i) right += vw(i) * (s(i) > 0 ? 1.0 : s(i) == 0 ? 0.5 : 0.0);
            return right / vw.sum();
        };
        const bool validating = V.rows() > 0;
        Eigen::VectorXd w = Eigen::VectorXd::Zero(F), best_w = w;
        train_result result;
        double loss = loss_of(w);
        double best_val = validating ? val_score(w) : std::numeric_limits<double>::quiet_NaN();
        result.best_validation = best_val;
        std::size_t since_best = 0;
        for (std::size_t epoch = 1; epoch <= config_.epochs; ++epoch) {
            const Eigen::VectorXd s = D * w;
            Eigen::VectorXd g = config_.l2 * w;
            Eigen::MatrixXd H = config_.l2 * Eigen::MatrixXd::Identity(F, F);
            Eigen::VectorXd hw(s.size());
            for (Eigen::Index i = 0; i < s.size(); ++i) {
                const double p = sigmoid(s(i));  // P(chosen wins)
                g -= (tw(i) * (1.0 - p) / wsum) * D.row(i).transpose();
                hw(i) = tw(i) * p * (1.0 - p) / wsum;
            }
            H.noalias() += D.transpose() * hw.asDiagonal() * D;
            H.diagonal().array() += 1e-9;  // keeps H definite when l2 = 0 and a feature is constant
            const Eigen::VectorXd step = H.ldlt().solve(g);
            double t = 1.0, new_loss = loss;
            Eigen::VectorXd cand = w;
            for (int halvings = 0; halvings < 30; ++halvings, t *= 0.5) {
                cand = w - t * step;
                new_loss = loss_of(cand);
                if (new_loss <= loss) break;
            }
            const double gain = loss - new_loss;
            if (new_loss <= loss) w = cand, loss = new_loss;
            result.epochs_run = epoch;
            result.train_loss.push_back(loss);
            train_progress rep;
            rep.epoch = epoch;
            rep.epochs = config_.epochs;
            rep.step = rep.steps = 1;
            rep.loss = loss;
            rep.end_of_epoch = true;
            if (validating) {
                const double v = val_score(w);
                result.validation.push_back(v);
                rep.validation = v;
                if (v > best_val + config_.min_delta || (epoch == 1 && v >= best_val)) {
                    best_val = v, best_w = w, result.best_epoch = epoch, since_best = 0;
                } else {
                    ++since_best;
                }
                rep.best_validation = best_val;
            } else {
                best_w = w;
                result.best_epoch = epoch;
            }
            if (progress && !progress(rep)) {
                result.cancelled = true;
                break;
            }
            if (validating && config_.patience > 0 && since_best >= config_.patience) {
                result.stopped_early = true;
                break;
            }
            if (!(gain > config_.tolerance)) break;
        }
        result.best_validation = validating ? best_val : std::numeric_limits<double>::quiet_NaN();
        for (std::size_t k = 0; k < feature_count; ++k) weights_[k] = best_w(static_cast<Eigen::Index>(k));
        trained_ = true;
        return result;
    }

    /// @returns The weighted share of pairs whose chosen reply scores higher (equal scores count
    /// half), each pair's features computed as in training (its `query_id`'s judgements left out);
    /// NaN for no pairs. @throws dimension_error as `train`.
    double accuracy(const std::vector<preference_pair>& pairs,
                    const std::vector<std::vector<std::string>>& references = {}) const {
        check_pairs(pairs, references, "pairs");
        static const std::vector<std::string> none;
        double right = 0, total = 0;
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            const auto ctx = features_.prepare(pairs[i].prompt, references.empty() ? none : references[i]);
            const auto ev = evidence_without(pairs[i].query_id);
            const double d = dot(features_of(ctx, pairs[i].chosen, ev)) - dot(features_of(ctx, pairs[i].rejected, ev));
            right += pairs[i].weight * (d > 0 ? 1.0 : d == 0 ? 0.5 : 0.0);
            total += pairs[i].weight;
        }
        return total > 0 ? right / total : std::numeric_limits<double>::quiet_NaN();
    }

    /// @returns The model as JSON text (settings, feature names, mean, scale, weights, the relevance
    /// evidence per document and the judgements per query behind it): the same model always gives
    /// the same bytes.
    std::string to_bytes() const {
        nlohmann::json j{{"format", "aitl.reward_model"}, {"version", 1},       {"config", config_},
                         {"features", feature_names()},  {"mean", mean_},        {"scale", scale_},
                         {"weights", weights_},          {"trained", trained_}};
        nlohmann::json docs = nlohmann::json::object();
        for (const auto& [id, e] : documents_) docs[id] = {e.relevant, e.judged};
        j["documents"] = std::move(docs);
        j["judgements"] = judgements_;
        return j.dump();
    }

    /// @throws parse_error for text that is not a saved reward model (field named), config_error
    /// for bad settings in it.
    static reward_model from_bytes(std::string_view bytes, const std::string& source = "<bytes>") {
        const nlohmann::json j = detail::parse_json(bytes, source, 0, "reward_model::from_bytes");
        // Compared as JSON values: a field of another type is "not a reward model", never a
        // nlohmann::type_error (found by fuzzing).
        if (!j.is_object() || !j.contains("format") || j["format"] != "aitl.reward_model")
            throw parse_error(source, 0, "format", "reward_model::from_bytes: not a reward model (expected format 'aitl.reward_model')");
        if (!j.contains("version") || j["version"] != 1)
            throw parse_error(source, 0, "version", "reward_model::from_bytes: unsupported version (expected 1)");
        reward_model_config c;
        if (!j.contains("config")) throw parse_error(source, 0, "config", "reward_model::from_bytes: missing");
        from_json(j["config"], c);
        reward_model m(c);
        auto vec = [&](const char* key, std::vector<double>& out) {
            try {
                out = j.at(key).get<std::vector<double>>();
            } catch (const nlohmann::json::exception&) {
                throw parse_error(source, 0, key, "reward_model::from_bytes: missing or not a list of numbers");
            }
            if (out.size() != feature_count)
                throw parse_error(source, 0, key, "reward_model::from_bytes: wrong length (got " + std::to_string(out.size()) +
                                                      ", expected " + std::to_string(feature_count) + ")");
        };
        if (!j.contains("features") || j["features"] != nlohmann::json(feature_names()))
            throw parse_error(source, 0, "features", "reward_model::from_bytes: feature names differ from this version's");
        vec("mean", m.mean_);
        vec("scale", m.scale_);
        vec("weights", m.weights_);
        if (auto it = j.find("trained"); it != j.end()) {
            if (!it->is_boolean())
                throw parse_error(source, 0, "trained", std::string("reward_model::from_bytes: wrong type (got ") +
                                                            it->type_name() + ", expected boolean)");
            m.trained_ = it->get<bool>();
        }
        if (auto it = j.find("documents"); it != j.end()) {
            if (!it->is_object())
                throw parse_error(source, 0, "documents", "reward_model::from_bytes: not an object of [relevant, judged]");
            for (const auto& [id, e] : it->items()) {
                document_evidence ev;
                try {
                    ev.relevant = e.at(0).get<double>();
                    ev.judged = e.at(1).get<double>();
                } catch (const nlohmann::json::exception&) {
                    throw parse_error(source, 0, "documents", "reward_model::from_bytes: document '" + id +
                                                                  "' is not [relevant, judged]");
                }
                if (e.size() != 2 || !(ev.relevant >= 0 && ev.judged >= ev.relevant && std::isfinite(ev.judged)))
                    throw parse_error(source, 0, "documents", "reward_model::from_bytes: document '" + id +
                                                                  "' out of range (expected [relevant, judged], 0 <= relevant <= judged)");
                m.documents_.emplace(id, ev);
            }
            m.update_base_rate();
        }
        if (auto it = j.find("judgements"); it != j.end()) {
            qrels judged;
            try {
                if (!it->is_object()) throw config_error("not an object");
                for (const auto& [q, docs] : it->items()) {
                    if (!docs.is_object()) throw config_error("not an object");
                    for (const auto& [d, grade] : docs.items())  // integers only: get<int>() of 1e308 is UB
                        judged[q][d] = detail::json_integer<int>(grade, "grade");
                }
            } catch (const config_error&) {
                throw parse_error(source, 0, "judgements", "reward_model::from_bytes: not an object {query id: {doc id: grade}}");
            }
            const auto documents = m.documents_;
            if (!judged.empty()) m.set_document_relevance(judged);  // empty: per-document counts only
            if (!(m.documents_ == documents))
                throw parse_error(source, 0, "judgements", "reward_model::from_bytes: the judgements disagree with 'documents' (expected "
                                                           "the per-document counts of the judgements)");
        }
        return m;
    }

    /// @throws io_error when the file cannot be written.
    void save(const std::string& path) const {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        const std::string b = to_bytes();
        f.write(b.data(), static_cast<std::streamsize>(b.size()));
        if (!f) throw io_error("reward_model::save: cannot write (got path '" + path + "')");
    }

    /// @throws io_error when the file cannot be read; parse_error as `from_bytes`.
    static reward_model load(const std::string& path) {
        std::ifstream f(path, std::ios::binary);
        if (!f) throw io_error("reward_model::load: cannot open (got path '" + path + "')");
        std::string b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        return from_bytes(b, path);
    }

private:
    // The relevance evidence one pair may see: all of it but the judgements of `held` (if any).
    struct evidence {
        const std::map<std::string, int>* held = nullptr;
        double base_rate = 0.0;
    };

    static const reward_model_config& check(const reward_model_config& c) {
        validate(c, "reward_model::reward_model");
        return c;
    }

    static double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
    static double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

    void check_pairs(const std::vector<preference_pair>& pairs, const std::vector<std::vector<std::string>>& refs,
                     const char* what) const {
        if (!refs.empty() && refs.size() != pairs.size())
            throw dimension_error(std::string("reward_model::train: ") + what + " references do not match the pairs (got " +
                                  std::to_string(refs.size()) + " lists, expected " + std::to_string(pairs.size()) + " or 0)");
        for (std::size_t i = 0; i < pairs.size(); ++i)
            if (!std::isfinite(pairs[i].weight) || pairs[i].weight <= 0)
                throw config_error(std::string("reward_model::train: ") + what + "[" + std::to_string(i) +
                                   "].weight out of range (got " + std::to_string(pairs[i].weight) + ", expected finite, > 0)");
    }

    void update_base_rate() {
        relevant_total_ = judged_total_ = 0;
        for (const auto& [id, e] : documents_) relevant_total_ += e.relevant, judged_total_ += e.judged;
        base_rate_ = judged_total_ > 0 ? relevant_total_ / judged_total_ : 0.0;
    }

    evidence evidence_without(std::string_view query_id) const {
        evidence ev{nullptr, base_rate_};
        if (query_id.empty()) return ev;
        const auto it = judgements_.find(std::string(query_id));
        if (it == judgements_.end()) return ev;
        ev.held = &it->second;
        double rel = relevant_total_, n = judged_total_;
        for (const auto& [doc, relevant] : it->second) rel -= relevant, n -= 1.0;
        ev.base_rate = n > 0 ? rel / n : 0.0;
        return ev;
    }

    double prior_of(const std::string& id, const evidence& ev) const {
        double rel = 0, judged = 0;
        if (const auto it = documents_.find(id); it != documents_.end()) rel = it->second.relevant, judged = it->second.judged;
        if (ev.held) {
            if (const auto h = ev.held->find(id); h != ev.held->end()) rel -= h->second, judged -= 1.0;
        }
        return (rel + config_.prior_strength * ev.base_rate) / (judged + config_.prior_strength);
    }

    std::vector<double> features_of(const reward_features::context& c, std::string_view reply, const evidence& ev) const {
        if (documents_.empty()) return features_.extract(c, reply);
        return features_.extract(c, reply, [&](const std::string& id) { return prior_of(id, ev); });
    }

    double dot(const std::vector<double>& f) const {
        double s = 0;
        for (std::size_t k = 0; k < feature_count; ++k) s += weights_[k] * (f[k] - mean_[k]) / scale_[k];
        return s;
    }

    reward_model_config config_;
    reward_features features_;
    std::vector<double> weights_, mean_, scale_;
    qrels judgements_;  // query id -> doc id -> 0 / 1
    std::map<std::string, document_evidence> documents_;
    double relevant_total_ = 0.0, judged_total_ = 0.0, base_rate_ = 0.0;
    bool trained_ = false;
};

}  // namespace aitl
