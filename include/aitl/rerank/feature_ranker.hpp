#pragma once
/// @file rerank/feature_ranker.hpp
/// @brief A learned reranker over (query, document) features (rerank/features.hpp): a linear
/// model or gradient-boosted trees (rerank/boosted_trees.hpp), trained with LambdaRank on NDCG@k.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "../detail/json_parse.hpp"
#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../kb/knowledge_base.hpp"
#include "../learn/training.hpp"
#include "../types.hpp"
#include "boosted_trees.hpp"
#include "features.hpp"

namespace aitl {

/**
 * @brief One training list: a query, the candidates the first stage returned for it, and the
 * grades of the judged documents.
 *
 * Grades: 0 = judged not relevant, 1 = relevant, 2 = selected by hand (gain 2^grade - 1).
 * Candidates without a grade count as 0 for training but add nothing to the feedback
 * statistics; judged documents missing from the candidates are appended to the list.
 */
struct ranking_list {
    std::string query;
    hits candidates;
    std::vector<std::pair<std::string, double>> labels;  ///< (doc id, grade >= 0)
    double weight = 1.0;                                 ///< finite, >= 0
    /// Scores of the `dense` feature by doc id, replacing the attached encoder's for this list
    /// (e.g. out-of-fold scores from an encoder not trained on this query, so that training
    /// features look like serving ones); documents missing here get 0. Empty: the encoder's.
    std::vector<std::pair<std::string, double>> dense;
};

/// @brief The model of a `feature_ranker`.
enum class ranker_kind {
    linear,  ///< a weight per standardised feature, trained by Adam (`epochs`, `learning_rate`, `l2`, Adam's settings)
    trees    ///< gradient-boosted regression trees (LambdaMART; `trees` settings)
};

/// @returns "linear" or "trees".
inline std::string ranker_kind_name(ranker_kind k) { return k == ranker_kind::trees ? "trees" : "linear"; }

/// @brief Parses "linear" / "trees". @throws config_error otherwise.
inline ranker_kind parse_ranker_kind(const std::string& name) {
    if (name == "linear") return ranker_kind::linear;
    if (name == "trees") return ranker_kind::trees;
    throw config_error("aitl::parse_ranker_kind: unknown model (got \"" + name + "\", expected \"linear\" or \"trees\")");
}

inline void to_json(nlohmann::json& j, ranker_kind k) { j = ranker_kind_name(k); }
inline void from_json(const nlohmann::json& j, ranker_kind& k) { k = parse_ranker_kind(j.get<std::string>()); }

/// @brief Settings of `feature_ranker` (and its features).
struct feature_ranker_config {
    /// Trees by default: on DSTC11's reranker benchmark (bench/bench_learn.py, same features) they
    /// reach a held-out nDCG@10 of 0.699 against the linear model's 0.629 (XGBoost rank:pairwise
    /// 0.704), fitting in 0.85 s against 0.26 s; in `aitl learn` (pool 300, feedback features)
    /// they lift recall@75 to 0.902 against 0.886 with the same precision@8 (0.287), though
    /// nDCG@10 there is 0.638 against 0.654. Choose `linear` for a fit in a quarter of the time.
    ranker_kind model = ranker_kind::trees;
    std::size_t epochs = 30;         ///< linear: passes over the lists, 1..10000
    double learning_rate = 0.05;     ///< linear: Adam step size, in (0, 1]
    std::size_t ndcg_k = 8;          ///< LambdaRank optimises NDCG@ndcg_k (the shown top 8), >= 1
    double deep_pair_weight = 0.01;  ///< floor of a pair's |ΔNDCG| (NDCG units; see deep_pair_per_dcg): keeps pairs below
                                     ///< the cut-off in play, which is what lifts recall@75; in [0, 1]
    bool deep_pair_per_dcg = false;  ///< true: the floor is in DCG units (divided by the list's ideal DCG), so
                                     ///< lists with many relevant documents weigh deep pairs less
    double l2 = 5.0;                 ///< linear: L2 penalty on the weights (in units of one training list's loss, so it
                                     ///< pulls the correction toward 0 more when there are few lists), >= 0
    double base_weight = 1.0;        ///< the first-stage order as a prior: candidate i (0-based) starts at
                                     ///< -base_weight * log2(2 + i) and the model learns a correction on top of it, so an
                                     ///< empty model (no lists, no trees) reproduces the first stage; 0: no prior, finite, >= 0
    std::size_t patience = 5;        ///< stop after this many epochs (trees: rounds) without validation gain (0: never)
    double min_delta = 0.0;          ///< smallest validation gain that counts, >= 0
    bool learn_feedback = true;      ///< fit() adds the training lists' labels to the feedback statistics
    bool leave_one_out = true;       ///< a training list's features leave out its own labels
    double beta1 = 0.9;              ///< linear: Adam, in [0, 1)
    double beta2 = 0.999;            ///< linear: Adam, in [0, 1)
    double epsilon = 1e-8;           ///< linear: Adam, in (0, 1)
    std::uint64_t seed = 0;          ///< linear: list order; trees: row and feature subsampling
    boosted_trees_config trees{};    ///< trees: rounds, shrinkage, depth, leaves, bins...
    rerank_feature_config features{};

    /// @throws config_error naming the first invalid field.
    void validate() const {
        auto fail = [](const std::string& what, const std::string& got, const std::string& expected) {
            throw config_error("feature_ranker_config::validate: " + what + " out of range (got " + got + ", expected " +
                               expected + ")");
        };
        if (epochs == 0 || epochs > 10000) fail("epochs", std::to_string(epochs), "1..10000");
        if (!(learning_rate > 0.0 && learning_rate <= 1.0)) fail("learning_rate", std::to_string(learning_rate), "0 < learning_rate <= 1");
        if (ndcg_k == 0) fail("ndcg_k", "0", ">= 1");
        if (!(deep_pair_weight >= 0.0 && deep_pair_weight <= 1.0)) fail("deep_pair_weight", std::to_string(deep_pair_weight), "0..1");
        if (!(l2 >= 0.0 && std::isfinite(l2))) fail("l2", std::to_string(l2), "a finite value >= 0");
        if (!(base_weight >= 0.0 && std::isfinite(base_weight))) fail("base_weight", std::to_string(base_weight), "a finite value >= 0");
        if (!(min_delta >= 0.0 && std::isfinite(min_delta))) fail("min_delta", std::to_string(min_delta), "a finite value >= 0");
        if (!(beta1 >= 0.0 && beta1 < 1.0)) fail("beta1", std::to_string(beta1), "0 <= beta1 < 1");
        if (!(beta2 >= 0.0 && beta2 < 1.0)) fail("beta2", std::to_string(beta2), "0 <= beta2 < 1");
        if (!(epsilon > 0.0 && epsilon < 1.0)) fail("epsilon", std::to_string(epsilon), "0 < epsilon < 1");
        trees.validate();
        features.validate();
    }
};

inline void to_json(nlohmann::json& j, const feature_ranker_config& c) {
    j = nlohmann::json{{"model", c.model},
                       {"epochs", c.epochs},
                       {"learning_rate", c.learning_rate},
                       {"ndcg_k", c.ndcg_k},
                       {"deep_pair_weight", c.deep_pair_weight},
                       {"deep_pair_per_dcg", c.deep_pair_per_dcg},
                       {"l2", c.l2},
                       {"base_weight", c.base_weight},
                       {"patience", c.patience},
                       {"min_delta", c.min_delta},
                       {"learn_feedback", c.learn_feedback},
                       {"leave_one_out", c.leave_one_out},
                       {"beta1", c.beta1},
                       {"beta2", c.beta2},
                       {"epsilon", c.epsilon},
                       {"seed", c.seed},
                       {"trees", c.trees},
                       {"features", c.features}};
}

/// @throws config_error on an unknown key or a wrong type (missing keys keep their defaults).
inline void from_json(const nlohmann::json& j, feature_ranker_config& c) {
    const char* t = "feature_ranker_config";
    detail::config_check_keys(j, t, {"model", "epochs", "learning_rate", "ndcg_k", "deep_pair_weight", "deep_pair_per_dcg", "l2", "base_weight", "patience",
                                     "min_delta", "learn_feedback", "leave_one_out", "beta1", "beta2", "epsilon", "seed", "trees",
                                     "features"});
    detail::config_read_key(j, t, "model", c.model);
    detail::config_read_key(j, t, "epochs", c.epochs);
    detail::config_read_key(j, t, "learning_rate", c.learning_rate);
    detail::config_read_key(j, t, "ndcg_k", c.ndcg_k);
    detail::config_read_key(j, t, "deep_pair_weight", c.deep_pair_weight);
    detail::config_read_key(j, t, "deep_pair_per_dcg", c.deep_pair_per_dcg);
    detail::config_read_key(j, t, "l2", c.l2);
    detail::config_read_key(j, t, "base_weight", c.base_weight);
    detail::config_read_key(j, t, "patience", c.patience);
    detail::config_read_key(j, t, "min_delta", c.min_delta);
    detail::config_read_key(j, t, "learn_feedback", c.learn_feedback);
    detail::config_read_key(j, t, "leave_one_out", c.leave_one_out);
    detail::config_read_key(j, t, "beta1", c.beta1);
    detail::config_read_key(j, t, "beta2", c.beta2);
    detail::config_read_key(j, t, "epsilon", c.epsilon);
    detail::config_read_key(j, t, "seed", c.seed);
    if (j.contains("trees")) from_json(j.at("trees"), c.trees);
    if (j.contains("features")) from_json(j.at("features"), c.features);
}

/**
 * @brief Reranker (see concepts.hpp): gradient-boosted trees (`model = trees`, the default) or
 * a linear model over `feature_extractor`'s features, trained with LambdaRank.
 *
 * A correction, not a replacement: every candidate starts from a prior score of its first-stage
 * position, -base_weight * log2(2 + i), and the model (linear weights or trees) adds to it. With no
 * training lists, or trees that never beat the empty model, the ranking is the first stage's; the
 * linear model's L2 penalty (per total training loss) and the trees' L2 on leaf values shrink the
 * correction toward 0 where lists are few. Which correction to use at all (none, linear, trees) is
 * chosen by cross-validation on the training feedback in Python (`aitl.learn.select_ranker`).
 *
 * Why listwise LambdaRank: what agents see is the top 8, so the loss is RankNet's pairwise
 * logistic loss with each pair weighted by the change of NDCG@8 its swap causes; a small
 * floor (`deep_pair_weight`) keeps pairs ranked below 8 in play, which moves relevant
 * documents into the top 75 as well. The model is linear over standardised features: on
 * DSTC11 the features carry the signal and a linear model trains in a second. (There the
 * floor changed nothing measurable: 0, 0.001 and 0.01 gave the same ranking quality.)
 *
 * The `dense` feature: when the attached encoder was trained on the same queries as the
 * training lists, their dense scores are better than they will be on new queries and the model
 * over-trusts them. Give each training list out-of-fold scores (`ranking_list::dense`, from an
 * encoder trained without that query, e.g. 2-fold) and attach the full encoder for serving: on
 * DSTC11 that raised precision@8 of the held-out half from 0.249 to 0.261.
 *
 * Trees (LambdaMART, rerank/boosted_trees.hpp): each round fits one tree to the lists'
 * LambdaRank gradients (the same |ΔNDCG@k| pair weights and floor, list weights) with Newton
 * leaf values; `train_loss` is then 1 - mean NDCG@k of the training lists before each round.
 * Features are used raw (trees need no standardisation). The features interact (a dense score
 * means more when the title matches), which a linear model cannot express.
 *
 * Linear: training runs one Adam step per list (lists in a seeded order), keeps the weights with the
 * best validation NDCG@k (mean over lists; the untrained model, which keeps the first-stage
 * order, is the starting point), and stops after `patience` epochs without gain.
 * Deterministic for a seed: one thread, fixed order, doubles.
 * @note Thread safety: `rerank` is const and may run concurrently; `fit`, `load` and
 * feedback changes need exclusive access.
 * @code
 * aitl::feature_ranker ranker(kb);
 * ranker.fit(lists);                                   // std::vector<aitl::ranking_list>
 * aitl::hits top8 = ranker.rerank(query, bm25.search(query, 300), 8);
 * std::string bytes = ranker.save();                   // aitl::feature_ranker::load(bytes, kb)
 * @endcode
 */
class feature_ranker {
public:
    /// @throws config_error for invalid settings.
    explicit feature_ranker(const knowledge_base& kb, feature_ranker_config config = {})
        : config_(checked(std::move(config))), features_(kb, config_.features) {}

    const feature_ranker_config& config() const noexcept { return config_; }
    /// @returns The feature extractor (attach an encoder, add feedback).
    feature_extractor& features() noexcept { return features_; }
    const feature_extractor& features() const noexcept { return features_; }
    /// @returns Whether the model uses the dense feature (then an encoder must be attached to score).
    bool uses_dense() const noexcept { return dense_; }
    /// @returns Whether fit() or load() set a model.
    bool fitted() const noexcept { return fitted_; }
    /// @returns The weights per standardised feature (empty before fit and for trees).
    std::vector<double> weights() const { return std::vector<double>(weights_.data(), weights_.data() + weights_.size()); }
    /// @returns The boosted trees (empty before fit and for the linear model).
    const boosted_trees& trees() const noexcept { return trees_; }

    /**
     * @brief Trains the model on `train`, early-stopping on `validation` (when given).
     * @throws config_error for an invalid list (empty query, negative or non-finite grade or weight).
     */
    train_result fit(const std::vector<ranking_list>& train, const std::vector<ranking_list>& validation = {},
                     const progress_callback& progress = {}) {
        check_lists(train, "fit: train");
        check_lists(validation, "fit: validation");
        if (config_.learn_feedback)
            for (const auto& l : train)
                for (const auto& f : own_feedback(l)) features_.add_feedback(f.first, f.second);
        std::vector<Eigen::MatrixXd> xs, vx;
        std::vector<Eigen::VectorXd> ys, vy;
        std::vector<double> ws;
        for (const auto& l : train) {
            Eigen::VectorXd y;
            Eigen::MatrixXd x = list_features(l, config_.learn_feedback && config_.leave_one_out, y);
            if (y.size() == 0 || y.maxCoeff() <= 0.0 || l.weight <= 0.0) continue;
            xs.push_back(std::move(x));
            ys.push_back(std::move(y));
            ws.push_back(l.weight);
        }
        for (const auto& l : validation) {
            Eigen::VectorXd y;
            vx.push_back(list_features(l, false, y));
            vy.push_back(std::move(y));
        }
        const auto d = static_cast<Eigen::Index>(feature_extractor::size());
        dense_ = features_.has_encoder() ||
                 std::any_of(train.begin(), train.end(), [](const ranking_list& l) { return !l.dense.empty(); });
        fitted_ = true;
        trees_ = boosted_trees();
        if (config_.model == ranker_kind::trees) {
            mean_ = scale_ = weights_ = Eigen::VectorXd();
            return fit_trees(xs, ys, ws, vx, vy, progress);
        }
        mean_ = Eigen::VectorXd::Zero(d);
        scale_ = Eigen::VectorXd::Ones(d);
        weights_ = Eigen::VectorXd::Zero(d);
        std::size_t rows = 0;
        for (const auto& x : xs) {
            mean_ += x.colwise().sum().transpose();
            rows += static_cast<std::size_t>(x.rows());
        }
        if (rows > 0) {
            mean_ /= static_cast<double>(rows);
            Eigen::VectorXd var = Eigen::VectorXd::Zero(d);
            for (const auto& x : xs) var += (x.rowwise() - mean_.transpose()).array().square().colwise().sum().matrix().transpose();
            var /= static_cast<double>(rows);
            for (Eigen::Index j = 0; j < d; ++j) scale_(j) = var(j) > 1e-18 ? std::sqrt(var(j)) : 1.0;
        }
        for (auto& x : xs) x = standardise(x);
        for (auto& x : vx) x = standardise(x);
        std::vector<double> idcgs;
        std::vector<Eigen::VectorXd> gains;
        for (const auto& y : ys) {
            idcgs.push_back(ideal_dcg(y, config_.ndcg_k));
            gains.push_back(gains_of(y));
        }
        train_result result;
        const bool validating = !validation.empty();
        Eigen::VectorXd best = weights_;
        if (validating) result.best_validation = mean_ndcg(vx, vy, weights_);
        Eigen::VectorXd m = Eigen::VectorXd::Zero(d), v = Eigen::VectorXd::Zero(d);
        std::vector<std::size_t> order(xs.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::mt19937_64 rng(config_.seed);
        std::size_t t = 0, stale = 0;
        const std::size_t steps = xs.size();
        for (std::size_t epoch = 1; epoch <= config_.epochs && !xs.empty(); ++epoch) {
            detail::seeded_shuffle(order, rng);
            double loss_sum = 0.0, wsum = 0.0;
            for (std::size_t s = 0; s < steps; ++s) {
                const std::size_t i = order[s];
                const Eigen::VectorXd sc = prior(xs[i].rows()) + xs[i] * weights_;
                Eigen::VectorXd lambda = Eigen::VectorXd::Zero(sc.size());
                const double loss = lambdas(sc.data(), ys[i], gains[i], idcgs[i], lambda.data(), nullptr);
                loss_sum += ws[i] * loss;
                wsum += ws[i];
                Eigen::VectorXd g = -ws[i] * (xs[i].transpose() * lambda) + (config_.l2 / static_cast<double>(steps)) * weights_;
                ++t;
                const detail::adam_step a(config_.learning_rate, config_.beta1, config_.beta2, t);
                m = config_.beta1 * m + (1.0 - config_.beta1) * g;
                v = config_.beta2 * v + (1.0 - config_.beta2) * g.cwiseProduct(g);
                weights_.array() -= a.lr_t * m.array() / (v.array().sqrt() + config_.epsilon);
                if (progress && !progress(train_progress{epoch, config_.epochs, s + 1, steps, loss_sum / wsum,
                                                         result.validation.empty() ? std::numeric_limits<double>::quiet_NaN()
                                                                                   : result.validation.back(),
                                                         result.best_validation, false})) {
                    result.cancelled = true;
                    break;
                }
            }
            if (result.cancelled) break;
            result.epochs_run = epoch;
            result.train_loss.push_back(wsum > 0.0 ? loss_sum / wsum : 0.0);
            if (validating) {
                const double score = mean_ndcg(vx, vy, weights_);
                result.validation.push_back(score);
                if (score > result.best_validation + config_.min_delta) {
                    result.best_validation = score;
                    result.best_epoch = epoch;
                    best = weights_;
                    stale = 0;
                } else {
                    ++stale;
                }
            } else {
                result.best_epoch = epoch;
                best = weights_;
            }
            if (progress && !progress(train_progress{epoch, config_.epochs, steps, steps, result.train_loss.back(),
                                                     validating ? result.validation.back() : std::numeric_limits<double>::quiet_NaN(),
                                                     result.best_validation, true})) {
                result.cancelled = true;
                break;
            }
            if (validating && config_.patience > 0 && stale >= config_.patience && epoch < config_.epochs) {
                result.stopped_early = true;
                break;
            }
        }
        weights_ = validating || result.cancelled ? best : weights_;
        return result;
    }

    /// @returns The model's score of every candidate (the first-stage scores before fit).
    /// @throws state_error when the model uses the dense feature and no encoder is attached.
    std::vector<double> score(std::string_view query, const hits& candidates) const {
        std::vector<double> out(candidates.size());
        if (!fitted()) {
            for (std::size_t i = 0; i < candidates.size(); ++i) out[i] = candidates[i].score;
            return out;
        }
        if (dense_ && !features_.has_encoder())
            throw state_error("feature_ranker::score: the model uses the dense feature but no encoder is attached "
                              "(got none, expected features().set_encoder(...))");
        const Eigen::VectorXd s = predict(features_.extract(query, candidates));
        for (std::size_t i = 0; i < candidates.size(); ++i) out[i] = s(static_cast<Eigen::Index>(i));
        return out;
    }

    /**
     * @brief The k best candidates by the model, best first, with the model's scores (ties keep
     * the first-stage order). Before fit: the first k candidates unchanged.
     * @throws config_error when k == 0; state_error as `score`.
     */
    hits rerank(std::string_view query, const hits& candidates, std::size_t k) const {
        if (k == 0) throw config_error("feature_ranker::rerank: k must be positive (got 0, expected >= 1)");
        if (!fitted()) return hits(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(std::min(k, candidates.size())));
        const std::vector<double> s = score(query, candidates);
        std::vector<std::size_t> idx(candidates.size());
        for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return s[a] > s[b]; });
        hits out;
        for (std::size_t i = 0; i < std::min(k, idx.size()); ++i)
            out.push_back(hit{candidates[idx[i]].id, static_cast<float>(s[idx[i]])});
        return out;
    }

    /**
     * @brief Reranks each list's own candidates (judged documents that are not candidates stay
     * out), with the list's `dense` scores in place of the attached encoder's when it has them:
     * how cross-validation scores held-out lists. Before fit: the candidates unchanged.
     */
    std::vector<hits> rerank_lists(const std::vector<ranking_list>& lists) const {
        check_lists(lists, "rerank_lists:");
        std::vector<hits> out;
        out.reserve(lists.size());
        for (const auto& l : lists) {
            if (!fitted()) {
                out.push_back(l.candidates);
                continue;
            }
            if (dense_ && l.dense.empty() && !features_.has_encoder())
                throw state_error("feature_ranker::rerank_lists: the model uses the dense feature but a list has no dense "
                                  "scores and no encoder is attached (got none, expected ranking_list::dense or an encoder)");
            Eigen::MatrixXd x = features_.extract(l.query, l.candidates);
            set_dense(x, l.candidates, l.dense);
            const Eigen::VectorXd s = predict(x);
            std::vector<std::size_t> idx(l.candidates.size());
            for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
            std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return s(static_cast<Eigen::Index>(a)) > s(static_cast<Eigen::Index>(b)); });
            hits h;
            h.reserve(idx.size());
            for (std::size_t i : idx) h.push_back(hit{l.candidates[i].id, static_cast<float>(s(static_cast<Eigen::Index>(i)))});
            out.push_back(std::move(h));
        }
        return out;
    }

    /// @returns Mean NDCG@k of the model over `lists` (ungraded candidates count as 0).
    double ndcg(const std::vector<ranking_list>& lists, std::size_t k) const {
        if (lists.empty()) return 0.0;
        double total = 0.0;
        for (const auto& l : lists) {
            Eigen::VectorXd y;
            Eigen::MatrixXd x = list_features(l, false, y);
            const Eigen::VectorXd s = fitted() ? predict(x) : prior(x.rows());
            total += ndcg_at(s, y, k);
        }
        return total / static_cast<double>(lists.size());
    }

    /// @returns The model as bytes (JSON): settings, standardisation and weights (linear) or the
    /// trees, and the feedback statistics; identical for identical models. The knowledge base and encoder are not included.
    std::string save() const {
        nlohmann::json j;
        j["format"] = "aitl.feature_ranker";
        j["version"] = 2;
        j["config"] = config_;
        j["feature_names"] = rerank_feature_names();
        j["mean"] = std::vector<double>(mean_.data(), mean_.data() + mean_.size());
        j["scale"] = std::vector<double>(scale_.data(), scale_.data() + scale_.size());
        j["weights"] = weights();
        j["trees"] = fitted_ && config_.model == ranker_kind::trees ? trees_.to_json() : nlohmann::json(nullptr);
        j["dense"] = dense_;
        const std::map<std::string, doc_feedback> sorted(features_.feedback().begin(), features_.feedback().end());
        nlohmann::json fb = nlohmann::json::array();
        for (const auto& f : sorted) fb.push_back({f.first, f.second.relevant, f.second.not_relevant, f.second.selected});
        j["feedback"] = std::move(fb);
        return j.dump();
    }

    /// @brief Writes `save()` to a file. @throws io_error.
    void save_file(const std::string& path) const {
        std::ofstream out(path, std::ios::binary);
        const std::string bytes = save();
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) throw io_error("feature_ranker::save_file: cannot write (got '" + path + "')");
    }

    /// @brief A ranker from `save()` bytes over `kb` (attach the encoder again if the model uses it).
    /// @throws parse_error for bytes that are not a saved feature ranker; config_error for bad settings.
    static feature_ranker load(const std::string& bytes, const knowledge_base& kb) {
        const nlohmann::json j = detail::parse_json(bytes, "<bytes>", 0, "feature_ranker::load", "feature_ranker");
        auto bad = [](const std::string& what) {
            return parse_error("<bytes>", 0, "feature_ranker", what + " (expected bytes written by feature_ranker::save)");
        };
        // Compared as JSON values: a field of another type is a parse_error, never a type_error.
        if (!j.is_object() || !j.contains("format") || j["format"] != "aitl.feature_ranker") throw bad("not a feature ranker");
        if (!j.contains("version") || j["version"] != 2)
            throw bad("unknown version (got " + (j.contains("version") ? j["version"].dump() : std::string("none")) + ", expected 2)");
        try {
            feature_ranker r(kb, j.at("config").get<feature_ranker_config>());
            const auto mean = j.at("mean").get<std::vector<double>>(), scale = j.at("scale").get<std::vector<double>>(),
                       w = j.at("weights").get<std::vector<double>>();
            if (j.at("feature_names").get<std::vector<std::string>>() != rerank_feature_names()) throw bad("other features");
            const std::size_t d = feature_extractor::size();
            if (!w.empty() && (w.size() != d || mean.size() != d || scale.size() != d)) throw bad("wrong number of weights");
            if (!w.empty()) {
                r.mean_ = Eigen::Map<const Eigen::VectorXd>(mean.data(), static_cast<Eigen::Index>(d));
                r.scale_ = Eigen::Map<const Eigen::VectorXd>(scale.data(), static_cast<Eigen::Index>(d));
                r.weights_ = Eigen::Map<const Eigen::VectorXd>(w.data(), static_cast<Eigen::Index>(d));
                r.fitted_ = r.config_.model == ranker_kind::linear;
            }
            if (j.contains("trees") && !j.at("trees").is_null()) {
                if (r.config_.model != ranker_kind::trees) throw bad("trees saved for a linear model");
                r.trees_ = boosted_trees::from_json(j.at("trees"));
                if (r.trees_.features() != d)
                    throw bad("trees over other features (got " + std::to_string(r.trees_.features()) + ", expected " + std::to_string(d) + ")");
                r.fitted_ = true;
            }
            r.dense_ = j.at("dense").get<bool>();
            for (const auto& f : j.at("feedback"))
                r.features_.add_feedback(f.at(0).get<std::string>(),
                                         doc_feedback{f.at(1).get<double>(), f.at(2).get<double>(), f.at(3).get<double>()});
            return r;
        } catch (const nlohmann::json::exception& e) {
            throw bad(std::string("malformed: ") + e.what());
        }
    }

    /// @brief `load` from a file. @throws io_error when unreadable; parse_error as `load`.
    static feature_ranker load_file(const std::string& path, const knowledge_base& kb) {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw io_error("feature_ranker::load_file: cannot open (got '" + path + "')");
        std::ostringstream ss;
        ss << in.rdbuf();
        return load(ss.str(), kb);
    }

private:
    static feature_ranker_config checked(feature_ranker_config c) {
        c.validate();
        return c;
    }

    static void check_lists(const std::vector<ranking_list>& lists, const char* which) {
        for (std::size_t i = 0; i < lists.size(); ++i) {
            const std::string at = std::string("feature_ranker::") + which + " list " + std::to_string(i);
            if (lists[i].query.empty()) throw config_error(at + ": empty query (got \"\", expected text)");
            for (const auto& d : lists[i].dense)
                if (!std::isfinite(d.second))
                    throw config_error(at + ": dense score of '" + d.first + "' is not finite (got " + std::to_string(d.second) +
                                       ", expected a finite value)");
            if (!(std::isfinite(lists[i].weight) && lists[i].weight >= 0.0))
                throw config_error(at + ": weight out of range (got " + std::to_string(lists[i].weight) + ", expected a finite value >= 0)");
            for (const auto& l : lists[i].labels)
                if (!(std::isfinite(l.second) && l.second >= 0.0))
                    throw config_error(at + ": grade of '" + l.first + "' out of range (got " + std::to_string(l.second) +
                                       ", expected a finite value >= 0)");
        }
    }

    // The feedback a list's labels contribute: grade 0 not relevant, (0, 2) relevant, >= 2 selected.
    static std::unordered_map<std::string, doc_feedback> own_feedback(const ranking_list& l) {
        std::unordered_map<std::string, doc_feedback> out;
        for (const auto& lab : l.labels) {
            doc_feedback& f = out[lab.first];
            if (lab.second <= 0.0) f.not_relevant += l.weight;
            else if (lab.second < 2.0) f.relevant += l.weight;
            else f.selected += l.weight;
        }
        return out;
    }

    Eigen::MatrixXd list_features(const ranking_list& l, bool leave_out, Eigen::VectorXd& y) const {
        hits cands = l.candidates;
        std::unordered_map<std::string, double> grade;
        for (const auto& lab : l.labels) grade[lab.first] = std::max(grade[lab.first], lab.second);
        std::unordered_set<std::string> present;
        for (const auto& h : cands) present.insert(h.id);
        float low = cands.empty() ? 0.0f : cands.back().score;
        for (const auto& h : cands) low = std::min(low, h.score);
        std::vector<std::string> extra;
        for (const auto& lab : l.labels)
            if (!present.count(lab.first) && std::find(extra.begin(), extra.end(), lab.first) == extra.end()) extra.push_back(lab.first);
        for (const auto& id : extra) cands.push_back(hit{id, low});
        y.resize(static_cast<Eigen::Index>(cands.size()));
        for (std::size_t i = 0; i < cands.size(); ++i) {
            auto g = grade.find(cands[i].id);
            y(static_cast<Eigen::Index>(i)) = g == grade.end() ? 0.0 : g->second;
        }
        Eigen::MatrixXd x;
        if (!leave_out) {
            x = features_.extract(l.query, cands);
        } else {
            const auto minus = own_feedback(l);
            x = features_.extract(l.query, cands, &minus);
        }
        set_dense(x, cands, l.dense);
        return x;
    }

    // Replaces the dense column by a list's own scores (when it has any; missing documents: 0).
    static void set_dense(Eigen::MatrixXd& x, const hits& cands, const std::vector<std::pair<std::string, double>>& scores) {
        if (scores.empty()) return;
        const std::unordered_map<std::string, double> dense(scores.begin(), scores.end());
        for (std::size_t i = 0; i < cands.size(); ++i) {
            auto it = dense.find(cands[i].id);
            x(static_cast<Eigen::Index>(i), 8) = it == dense.end() ? 0.0 : it->second;
        }
    }

    // The model's scores of raw feature rows.
    Eigen::VectorXd predict(const Eigen::MatrixXd& x) const {
        if (config_.model == ranker_kind::trees) return prior(x.rows()) + trees_.predict(x);
        return prior(x.rows()) + standardise(x) * weights_;
    }

    // The first-stage order as a score: row i (the i-th candidate) gets -base_weight * log2(2 + i).
    Eigen::VectorXd prior(Eigen::Index rows) const {
        Eigen::VectorXd p(rows);
        for (Eigen::Index i = 0; i < rows; ++i) p(i) = -config_.base_weight * std::log2(2.0 + static_cast<double>(i));
        return p;
    }

    // LambdaMART: the trees are fitted to the LambdaRank gradients and hessians of every list
    // (list weights multiply both), early-stopping on the validation lists' NDCG@k.
    train_result fit_trees(const std::vector<Eigen::MatrixXd>& xs, const std::vector<Eigen::VectorXd>& ys, const std::vector<double>& ws,
                           const std::vector<Eigen::MatrixXd>& vx, const std::vector<Eigen::VectorXd>& vy,
                           const progress_callback& progress) {
        const auto d = static_cast<Eigen::Index>(feature_extractor::size());
        auto stack = [d](const std::vector<Eigen::MatrixXd>& ms, std::vector<Eigen::Index>& offsets) {
            offsets.assign(1, 0);
            for (const auto& m : ms) offsets.push_back(offsets.back() + m.rows());
            Eigen::MatrixXd out(offsets.back(), d);
            for (std::size_t i = 0; i < ms.size(); ++i) out.middleRows(offsets[i], ms[i].rows()) = ms[i];
            return out;
        };
        std::vector<Eigen::Index> off, voff;
        const Eigen::MatrixXd x = stack(xs, off), v = stack(vx, voff);
        // the trees learn a correction of the first-stage prior: scores = prior + trees
        Eigen::VectorXd base(x.rows()), vbase(v.rows());
        for (std::size_t i = 0; i < xs.size(); ++i) base.segment(off[i], xs[i].rows()) = prior(xs[i].rows());
        for (std::size_t i = 0; i < vx.size(); ++i) vbase.segment(voff[i], vx[i].rows()) = prior(vx[i].rows());
        std::vector<double> idcgs;
        std::vector<Eigen::VectorXd> gains;
        double wsum = 0.0;
        for (std::size_t i = 0; i < ys.size(); ++i) {
            idcgs.push_back(ideal_dcg(ys[i], config_.ndcg_k));
            gains.push_back(gains_of(ys[i]));
            wsum += ws[i];
        }
        std::vector<double> lam, hes;
        Eigen::VectorXd s;
        auto gradients = [&](const Eigen::VectorXd& trees_score, std::vector<detail::grad_pair>& gh) {
            s = trees_score + base;
            double loss = 0.0;
            for (std::size_t i = 0; i < ys.size(); ++i) {
                const auto n = static_cast<std::size_t>(ys[i].size());
                lam.assign(n, 0.0);
                hes.assign(n, 0.0);
                loss += ws[i] * lambdas(s.data() + off[i], ys[i], gains[i], idcgs[i], lam.data(), hes.data());
                for (std::size_t r = 0; r < n; ++r) gh[static_cast<std::size_t>(off[i]) + r] = {-ws[i] * lam[r], ws[i] * hes[r]};
            }
            return wsum > 0.0 ? loss / wsum : 0.0;
        };
        auto metric = [&](const Eigen::VectorXd& trees_score) {
            const Eigen::VectorXd vs = trees_score + vbase;
            double t = 0.0;
            for (std::size_t i = 0; i < vy.size(); ++i) t += ndcg_at(vs.segment(voff[i], vy[i].size()), vy[i], config_.ndcg_k);
            return vy.empty() ? 0.0 : t / static_cast<double>(vy.size());
        };
        return fit_boosted_trees(trees_, x, gradients, v, metric, config_.trees,
                                 boosting_options{config_.patience, config_.min_delta, config_.seed}, progress);
    }

    Eigen::MatrixXd standardise(const Eigen::MatrixXd& x) const {
        return ((x.rowwise() - mean_.transpose()).array().rowwise() / scale_.transpose().array()).matrix();
    }

    static std::vector<Eigen::Index> ranks_of(const Eigen::VectorXd& s) {
        std::vector<Eigen::Index> idx(static_cast<std::size_t>(s.size()));
        for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<Eigen::Index>(i);
        std::stable_sort(idx.begin(), idx.end(), [&](Eigen::Index a, Eigen::Index b) { return s(a) > s(b); });
        std::vector<Eigen::Index> rank(idx.size());
        for (std::size_t r = 0; r < idx.size(); ++r) rank[static_cast<std::size_t>(idx[r])] = static_cast<Eigen::Index>(r);
        return rank;
    }

    static double ideal_dcg(const Eigen::VectorXd& y, std::size_t k) {
        std::vector<double> g(y.data(), y.data() + y.size());
        std::sort(g.begin(), g.end(), std::greater<double>());
        double idcg = 0.0;
        for (std::size_t r = 0; r < std::min(k, g.size()); ++r) idcg += (std::pow(2.0, g[r]) - 1.0) / std::log2(r + 2.0);
        return idcg;
    }

    static double ndcg_at(const Eigen::VectorXd& s, const Eigen::VectorXd& y, std::size_t k) {
        const double idcg = ideal_dcg(y, k);
        if (idcg <= 0.0) return 0.0;
        const auto rank = ranks_of(s);
        double dcg = 0.0;
        for (Eigen::Index i = 0; i < y.size(); ++i)
            if (static_cast<std::size_t>(rank[static_cast<std::size_t>(i)]) < k)
                dcg += (std::pow(2.0, y(i)) - 1.0) / std::log2(rank[static_cast<std::size_t>(i)] + 2.0);
        return dcg / idcg;
    }

    double mean_ndcg(const std::vector<Eigen::MatrixXd>& xs, const std::vector<Eigen::VectorXd>& ys, const Eigen::VectorXd& w) const {
        if (xs.empty()) return 0.0;
        double t = 0.0;
        for (std::size_t i = 0; i < xs.size(); ++i) t += ndcg_at(prior(xs[i].rows()) + xs[i] * w, ys[i], config_.ndcg_k);
        return t / static_cast<double>(xs.size());
    }

    static Eigen::VectorXd gains_of(const Eigen::VectorXd& y) { return (Eigen::pow(2.0, y.array()) - 1.0).matrix(); }

    // LambdaRank over one list of scores s: lambda_i accumulates |ΔNDCG_ij| * sigmoid(s_j - s_i)
    // for pairs y_i > y_j (and lambda_j the opposite), hess (when given) |ΔNDCG_ij| * rho * (1 - rho)
    // for both. |ΔNDCG| only involves the top k, found by partial sort (ties: list order).
    // Returns the list's |ΔNDCG|-weighted pairwise logistic loss, or without `hess`, 1 - NDCG@k
    // (which costs no logarithm per pair).
    // With `hess`, sigmoid comes from a table (steps of 1/1024 over [-16, 16]): no exp per pair.
    double lambdas(const double* s, const Eigen::VectorXd& y, const Eigen::VectorXd& gain, double idcg, double* lambda,
                   double* hess) const {
        const auto n = static_cast<std::size_t>(y.size());
        if (idcg <= 0.0) return 0.0;
        const std::size_t k = std::min(config_.ndcg_k, n);
        thread_local std::vector<std::size_t> idx;
        thread_local std::vector<double> disc;
        idx.resize(n);
        for (std::size_t i = 0; i < n; ++i) idx[i] = i;
        auto before = [s](std::size_t a, std::size_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); };
        if (k < n) std::nth_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), before);
        std::sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), before);
        disc.assign(n, 0.0);
        static const std::vector<double> table = [] {
            std::vector<double> t(32769);
            for (std::size_t i = 0; i < t.size(); ++i) t[i] = 1.0 / (1.0 + std::exp(static_cast<double>(i) / 1024.0 - 16.0));
            return t;
        }();
        double dcg = 0.0;
        for (std::size_t r = 0; r < k; ++r) {
            disc[idx[r]] = 1.0 / std::log2(static_cast<double>(r) + 2.0);
            dcg += gain(static_cast<Eigen::Index>(idx[r])) * disc[idx[r]];
        }
        const double floor = config_.deep_pair_per_dcg ? config_.deep_pair_weight / idcg : config_.deep_pair_weight;
        double loss = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double yi = y(static_cast<Eigen::Index>(i));
            if (yi <= 0.0) continue;
            const double gi = gain(static_cast<Eigen::Index>(i)), di = disc[i];
            for (std::size_t j = 0; j < n; ++j) {
                if (yi <= y(static_cast<Eigen::Index>(j))) continue;
                const double delta = std::max(std::abs((gi - gain(static_cast<Eigen::Index>(j))) * (di - disc[j])) / idcg, floor);
                if (delta <= 0.0) continue;
                const double z = s[i] - s[j];
                if (hess) {
                    const double at = std::min(std::max((z + 16.0) * 1024.0 + 0.5, 0.0), 32768.0);
                    const double rho = table[static_cast<std::size_t>(at)];
                    const double h = delta * rho * (1.0 - rho);
                    lambda[i] += delta * rho;
                    lambda[j] -= delta * rho;
                    hess[i] += h;
                    hess[j] += h;
                } else {
                    const double e = std::exp(z);
                    const double rho = 1.0 / (1.0 + e);
                    lambda[i] += delta * rho;
                    lambda[j] -= delta * rho;
                    loss += delta * (z > 0 ? std::log1p(1.0 / e) : -z + std::log1p(e));
                }
            }
        }
        return hess ? 1.0 - dcg / idcg : loss;
    }

    feature_ranker_config config_;
    feature_extractor features_;
    Eigen::VectorXd mean_, scale_, weights_;
    boosted_trees trees_;
    bool dense_ = false;
    bool fitted_ = false;
};

}  // namespace aitl
