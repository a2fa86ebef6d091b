#pragma once
/// @file rerank/boosted_trees.hpp
/// @brief Gradient-boosted regression trees: histogram-based (quantile bins computed once),
/// grown leaf-wise under a depth and a leaf limit, Newton leaf values, shrinkage, seeded
/// row and feature subsampling. The loss is the caller's (feature_ranker uses LambdaRank).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../learn/training.hpp"

namespace aitl {

/// @brief Settings of gradient-boosted trees (`feature_ranker_config::trees`).
struct boosted_trees_config {
    // Defaults tuned by 3-fold cross-validation of LambdaRank NDCG@8 training lists on DSTC11's
    // training cases (bench/bench_learn.py's data; the held-out lists unused): small, strongly
    // regularised trees generalise best there (150 rounds at 0.2, l2 10: 7 leaves CV nDCG@10 0.789,
    // 15 leaves 0.770; 7 leaves with l2 3 / 10 / 30 / 100: 0.771 / 0.791 / 0.803 / 0.794; XGBoost
    // rank:pairwise with its defaults 0.762), and 150 rounds at 0.2 match 300 at 0.1 in half the time.
    std::size_t rounds = 150;        ///< trees (boosting rounds), 1..100000
    double learning_rate = 0.2;      ///< shrinkage of every tree's leaf values, in (0, 1]
    std::size_t max_depth = 6;       ///< deepest leaf (root: depth 0), 1..30
    std::size_t max_leaves = 7;      ///< leaves per tree (grown best gain first), 2..65536
    double min_child_weight = 0.01;  ///< smallest hessian sum of a leaf, finite and >= 0
    double l2 = 30.0;                ///< L2 penalty on leaf values (added to the hessian sum), finite and >= 0
    double min_split_gain = 0.0;     ///< smallest loss reduction of a split, finite and >= 0
    double subsample = 1.0;          ///< share of rows each tree sees (seeded draw), in (0, 1]
    double feature_subsample = 1.0;  ///< share of features each tree may split on (seeded draw), in (0, 1]
    std::size_t max_bins = 64;       ///< quantile bins per feature, 2..256

    /// @throws config_error naming the first invalid field.
    void validate() const {
        auto fail = [](const std::string& what, const std::string& got, const std::string& expected) {
            throw config_error("boosted_trees_config::validate: " + what + " out of range (got " + got + ", expected " +
                               expected + ")");
        };
        auto finite_nonneg = [](double x) { return std::isfinite(x) && x >= 0.0; };
        if (rounds == 0 || rounds > 100000) fail("rounds", std::to_string(rounds), "1..100000");
        if (!(learning_rate > 0.0 && learning_rate <= 1.0))
            fail("learning_rate", std::to_string(learning_rate), "0 < learning_rate <= 1");
        if (max_depth == 0 || max_depth > 30) fail("max_depth", std::to_string(max_depth), "1..30");
        if (max_leaves < 2 || max_leaves > 65536) fail("max_leaves", std::to_string(max_leaves), "2..65536");
        if (!finite_nonneg(min_child_weight)) fail("min_child_weight", std::to_string(min_child_weight), "a finite value >= 0");
        if (!finite_nonneg(l2)) fail("l2", std::to_string(l2), "a finite value >= 0");
        if (!finite_nonneg(min_split_gain)) fail("min_split_gain", std::to_string(min_split_gain), "a finite value >= 0");
        if (!(subsample > 0.0 && subsample <= 1.0)) fail("subsample", std::to_string(subsample), "0 < subsample <= 1");
        if (!(feature_subsample > 0.0 && feature_subsample <= 1.0))
            fail("feature_subsample", std::to_string(feature_subsample), "0 < feature_subsample <= 1");
        if (max_bins < 2 || max_bins > 256) fail("max_bins", std::to_string(max_bins), "2..256");
    }
};

inline void to_json(nlohmann::json& j, const boosted_trees_config& c) {
    j = nlohmann::json{{"rounds", c.rounds},
                       {"learning_rate", c.learning_rate},
                       {"max_depth", c.max_depth},
                       {"max_leaves", c.max_leaves},
                       {"min_child_weight", c.min_child_weight},
                       {"l2", c.l2},
                       {"min_split_gain", c.min_split_gain},
                       {"subsample", c.subsample},
                       {"feature_subsample", c.feature_subsample},
                       {"max_bins", c.max_bins}};
}

/// @throws config_error on an unknown key or a wrong type (missing keys keep their defaults).
inline void from_json(const nlohmann::json& j, boosted_trees_config& c) {
    const char* t = "boosted_trees_config";
    detail::config_check_keys(j, t, {"rounds", "learning_rate", "max_depth", "max_leaves", "min_child_weight", "l2",
                                     "min_split_gain", "subsample", "feature_subsample", "max_bins"});
    detail::config_read_key(j, t, "rounds", c.rounds);
    detail::config_read_key(j, t, "learning_rate", c.learning_rate);
    detail::config_read_key(j, t, "max_depth", c.max_depth);
    detail::config_read_key(j, t, "max_leaves", c.max_leaves);
    detail::config_read_key(j, t, "min_child_weight", c.min_child_weight);
    detail::config_read_key(j, t, "l2", c.l2);
    detail::config_read_key(j, t, "min_split_gain", c.min_split_gain);
    detail::config_read_key(j, t, "subsample", c.subsample);
    detail::config_read_key(j, t, "feature_subsample", c.feature_subsample);
    detail::config_read_key(j, t, "max_bins", c.max_bins);
}

/// @brief One regression tree as flat arrays; node 0 is the root, a leaf has feature -1.
/// An inner node sends a row left when `row(feature) <= threshold`.
struct regression_tree {
    std::vector<std::int32_t> feature;
    std::vector<double> threshold;
    std::vector<std::int32_t> left, right;
    std::vector<double> value;  ///< leaf values (0 at inner nodes)

    /// @returns The leaf value reached by `row` (anything with `row(j)`).
    template <class Row>
    double predict(const Row& row) const {
        std::size_t n = 0;
        while (feature[n] >= 0)
            n = static_cast<std::size_t>(row(static_cast<Eigen::Index>(feature[n])) <= threshold[n] ? left[n] : right[n]);
        return value[n];
    }
};

/**
 * @brief An ensemble of regression trees: the score of a row is the sum of its leaf values.
 * Trained by `fit_boosted_trees`; saved as JSON by `to_json` (doubles round-trip exactly).
 * @note Thread safety: const members may run concurrently.
 */
class boosted_trees {
public:
    boosted_trees() = default;
    explicit boosted_trees(std::size_t features) : features_(features) {}

    /// @returns The number of input columns.
    std::size_t features() const noexcept { return features_; }
    /// @returns The number of trees.
    std::size_t size() const noexcept { return trees_.size(); }
    const std::vector<regression_tree>& trees() const noexcept { return trees_; }
    void push_back(regression_tree t) { trees_.push_back(std::move(t)); }
    /// @brief Keeps the first `n` trees.
    void truncate(std::size_t n) { trees_.resize(std::min(n, trees_.size())); }

    /// @returns The score of every row of `x` (x.cols() == features()).
    Eigen::VectorXd predict(const Eigen::MatrixXd& x) const {
        Eigen::VectorXd out = Eigen::VectorXd::Zero(x.rows());
        for (const auto& t : trees_)
            for (Eigen::Index i = 0; i < x.rows(); ++i) out(i) += t.predict(x.row(i));
        return out;
    }

    /// @returns {"features": d, "trees": [[feature[], threshold[], left[], right[], value[]], ...]}.
    nlohmann::json to_json() const {
        nlohmann::json ts = nlohmann::json::array();
        for (const auto& t : trees_) ts.push_back({t.feature, t.threshold, t.left, t.right, t.value});
        return nlohmann::json{{"features", features_}, {"trees", std::move(ts)}};
    }

    /// @brief The inverse of `to_json`.
    /// @throws parse_error for a malformed tree (wrong lengths, child or feature indices out of range).
    static boosted_trees from_json(const nlohmann::json& j) {
        auto bad = [](const std::string& what) {
            return parse_error("<bytes>", 0, "trees", what + " (expected trees written by boosted_trees::to_json)");
        };
        try {
            using detail::json_integers;
            boosted_trees m(detail::json_integer<std::size_t>(j.at("features"), "features"));
            for (const auto& jt : j.at("trees")) {
                regression_tree t{json_integers<std::int32_t>(jt.at(0), "feature"), jt.at(1).get<std::vector<double>>(),
                                  json_integers<std::int32_t>(jt.at(2), "left"),
                                  json_integers<std::int32_t>(jt.at(3), "right"), jt.at(4).get<std::vector<double>>()};
                const std::size_t n = t.feature.size();
                if (n == 0 || t.threshold.size() != n || t.left.size() != n || t.right.size() != n || t.value.size() != n)
                    throw bad("tree arrays of different lengths (got " + std::to_string(n) + " features)");
                for (std::size_t i = 0; i < n; ++i) {
                    if (t.feature[i] < 0) continue;
                    // children come after their parent, so every path ends at a leaf
                    const auto in = [&](std::int32_t c) { return c > static_cast<std::int32_t>(i) && static_cast<std::size_t>(c) < n; };
                    if (static_cast<std::size_t>(t.feature[i]) >= m.features_ || !in(t.left[i]) || !in(t.right[i]))
                        throw bad("node " + std::to_string(i) + " out of range (got feature " + std::to_string(t.feature[i]) +
                                  ", children " + std::to_string(t.left[i]) + "/" + std::to_string(t.right[i]) + ")");
                }
                m.trees_.push_back(std::move(t));
            }
            return m;
        } catch (const nlohmann::json::exception& e) {
            throw bad(std::string("malformed: ") + e.what());
        } catch (const config_error& e) {
            throw bad(std::string("malformed: ") + e.what());
        }
    }

private:
    std::size_t features_ = 0;
    std::vector<regression_tree> trees_;
};

namespace detail {

// Features quantised once: per feature ascending cuts (bin b holds x <= cuts[b] and above the
// previous cut; the last bin is above every cut), stored per row as global bin indices. Only
// features with two bins or more are stored (column c is input feature `feature[c]`).
struct binned_matrix {
    std::size_t rows = 0, cols = 0;
    std::vector<std::size_t> feature;
    std::vector<std::vector<double>> cuts;
    std::vector<std::uint32_t> offset;  // first global bin of each column; offset[cols] = total bins
    std::vector<std::uint16_t> bin;     // rows x cols, row-major

    explicit binned_matrix(const Eigen::MatrixXd& x, std::size_t max_bins) : rows(static_cast<std::size_t>(x.rows())), offset(1, 0) {
        std::vector<double> v;
        for (std::size_t f = 0; f < static_cast<std::size_t>(x.cols()); ++f) {
            // quantiles of at most 2^16 evenly strided rows (sorting every row buys nothing)
            const std::size_t stride = std::max<std::size_t>(1, rows >> 16);
            v.clear();
            for (std::size_t i = 0; i < rows; i += stride) v.push_back(x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(f)));
            std::sort(v.begin(), v.end());
            std::vector<double> distinct;
            for (double d : v)
                if (distinct.empty() || d > distinct.back()) distinct.push_back(d);
            std::vector<double> c;
            if (distinct.size() <= max_bins) {
                for (std::size_t i = 0; i + 1 < distinct.size(); ++i) c.push_back(distinct[i] + (distinct[i + 1] - distinct[i]) / 2);
            } else {
                for (std::size_t b = 1; b < max_bins; ++b) {
                    const double q = v[b * v.size() / max_bins];
                    if (q < distinct.back() && (c.empty() || q > c.back())) c.push_back(q);
                }
            }
            if (c.empty()) continue;
            feature.push_back(f);
            offset.push_back(offset.back() + static_cast<std::uint32_t>(c.size() + 1));
            cuts.push_back(std::move(c));
        }
        cols = feature.size();
        bin.resize(rows * cols);
        for (std::size_t f = 0; f < cols; ++f) {
            const auto& c = cuts[f];
            for (std::size_t i = 0; i < rows; ++i) {
                const double val = x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(feature[f]));
                const auto b = static_cast<std::uint32_t>(std::lower_bound(c.begin(), c.end(), val) - c.begin());
                bin[i * cols + f] = static_cast<std::uint16_t>(offset[f] + b);
            }
        }
    }
};

struct grad_pair {
    double g = 0.0, h = 0.0;
};

// Grows one tree leaf-wise over rows idx (reordered in place so that every leaf owns a range).
class tree_grower {
public:
    tree_grower(const binned_matrix& data, const boosted_trees_config& c) : data_(data), c_(c) {}

    struct leaf_range {
        std::size_t begin, end;
        double value;
    };

    // Returns the tree; `leaves` gets each leaf's row range within idx and its value.
    regression_tree grow(std::vector<std::uint32_t>& idx, const std::vector<grad_pair>& gh, const std::vector<char>& use_feature,
                         std::vector<leaf_range>& leaves) {
        regression_tree t;
        work_.clear();
        used_hists_ = 0;
        auto add_node = [&t] {
            t.feature.push_back(-1);
            t.threshold.push_back(0.0);
            t.left.push_back(-1);
            t.right.push_back(-1);
            t.value.push_back(0.0);
            return static_cast<std::size_t>(t.feature.size() - 1);
        };
        leaf root{0, idx.size(), 0.0, 0.0, 0, add_node(), new_hist(), {}};
        build(root.hist, idx, root.begin, root.end, gh);
        for (std::size_t k = 0; k < idx.size(); ++k) {
            root.g += gh[idx[k]].g;
            root.h += gh[idx[k]].h;
        }
        find_split(root, use_feature);
        work_.push_back(root);
        std::size_t n_leaves = 1;
        while (n_leaves < c_.max_leaves) {
            std::size_t best = work_.size();
            for (std::size_t i = 0; i < work_.size(); ++i)
                if (work_[i].split.feature >= 0 && (best == work_.size() || work_[i].split.gain > work_[best].split.gain)) best = i;
            if (best == work_.size()) break;
            leaf p = work_[best];
            const auto f = static_cast<std::size_t>(p.split.feature);
            const std::uint32_t cut = p.split.bin;
            // stable partition of the rows: bin <= cut left
            std::size_t mid = p.begin;
            tmp_.clear();
            for (std::size_t k = p.begin; k < p.end; ++k) {
                const std::uint32_t r = idx[k];
                if (data_.bin[r * data_.cols + f] <= cut) idx[mid++] = r;
                else tmp_.push_back(r);
            }
            std::copy(tmp_.begin(), tmp_.end(), idx.begin() + static_cast<std::ptrdiff_t>(mid));
            leaf l{p.begin, mid, p.split.gl, p.split.hl, p.depth + 1, add_node(), 0, {}};
            leaf r{mid, p.end, p.g - p.split.gl, p.h - p.split.hl, p.depth + 1, add_node(), 0, {}};
            t.feature[p.node] = static_cast<std::int32_t>(data_.feature[f]);
            t.threshold[p.node] = data_.cuts[f][cut - data_.offset[f]];
            t.left[p.node] = static_cast<std::int32_t>(l.node);
            t.right[p.node] = static_cast<std::int32_t>(r.node);
            // histogram of the smaller child, the larger one's by subtraction from the parent's
            leaf& small = (l.end - l.begin) <= (r.end - r.begin) ? l : r;
            leaf& large = &small == &l ? r : l;
            small.hist = new_hist();
            build(small.hist, idx, small.begin, small.end, gh);
            large.hist = p.hist;
            auto& ph = hists_[p.hist];
            const auto& sh = hists_[small.hist];
            for (std::size_t b = 0; b < ph.size(); ++b) {
                ph[b].g -= sh[b].g;
                ph[b].h -= sh[b].h;
            }
            find_split(l, use_feature);
            find_split(r, use_feature);
            work_[best] = l;
            work_.push_back(r);
            ++n_leaves;
        }
        leaves.clear();
        std::sort(work_.begin(), work_.end(), [](const leaf& a, const leaf& b) { return a.begin < b.begin; });
        for (const leaf& w : work_) {
            const double v = -c_.learning_rate * w.g / (w.h + c_.l2);
            t.value[w.node] = std::isfinite(v) ? v : 0.0;
            leaves.push_back({w.begin, w.end, t.value[w.node]});
        }
        return t;
    }

private:
    struct split_info {
        double gain = 0.0;
        std::int32_t feature = -1;
        std::uint32_t bin = 0;  // global bin index of the last bin going left
        double gl = 0.0, hl = 0.0;
    };
    struct leaf {
        std::size_t begin, end;
        double g, h;
        std::size_t depth, node, hist;
        split_info split;
    };

    std::size_t new_hist() {
        const std::size_t total = data_.offset[data_.cols];
        if (used_hists_ == hists_.size()) hists_.emplace_back(total);
        auto& h = hists_[used_hists_];
        std::fill(h.begin(), h.end(), grad_pair{});
        return used_hists_++;
    }

    void build(std::size_t hist, const std::vector<std::uint32_t>& idx, std::size_t begin, std::size_t end,
               const std::vector<grad_pair>& gh) {
        grad_pair* h = hists_[hist].data();
        const std::size_t d = data_.cols;
        for (std::size_t k = begin; k < end; ++k) {
            const std::uint32_t r = idx[k];
            const std::uint16_t* b = data_.bin.data() + static_cast<std::size_t>(r) * d;
            const grad_pair x = gh[r];
            for (std::size_t f = 0; f < d; ++f) {
                grad_pair& e = h[b[f]];
                e.g += x.g;
                e.h += x.h;
            }
        }
    }

    void find_split(leaf& w, const std::vector<char>& use_feature) const {
        w.split = split_info{};
        if (w.depth >= c_.max_depth || w.end - w.begin < 2 || w.h < 2.0 * c_.min_child_weight) return;
        const double lam = c_.l2;
        const double parent = w.g * w.g / (w.h + lam);
        const auto& h = hists_[w.hist];
        for (std::size_t f = 0; f < data_.cols; ++f) {
            if (!use_feature[data_.feature[f]]) continue;
            double gl = 0.0, hl = 0.0;
            for (std::uint32_t b = data_.offset[f]; b + 1 < data_.offset[f + 1]; ++b) {
                gl += h[b].g;
                hl += h[b].h;
                const double gr = w.g - gl, hr = w.h - hl;
                if (hl < c_.min_child_weight) continue;
                if (hr < c_.min_child_weight) break;
                const double gain = gl * gl / (hl + lam) + gr * gr / (hr + lam) - parent;
                if (gain > c_.min_split_gain && gain > w.split.gain) w.split = split_info{gain, static_cast<std::int32_t>(f), b, gl, hl};
            }
        }
    }

    const binned_matrix& data_;
    const boosted_trees_config& c_;
    std::vector<std::vector<grad_pair>> hists_;
    std::size_t used_hists_ = 0;
    std::vector<leaf> work_;
    std::vector<std::uint32_t> tmp_;
};

// Uniform double in [0, 1) from mt19937_64 (the same on every platform).
inline double uniform_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace detail

/// @brief How `fit_boosted_trees` stops and draws.
struct boosting_options {
    std::size_t patience = 0;  ///< stop after this many rounds without validation gain (0: never)
    double min_delta = 0.0;    ///< smallest validation gain that counts
    std::uint64_t seed = 0;    ///< row and feature subsampling
};

/**
 * @brief Trains `model` by gradient boosting on the rows of `x`.
 *
 * Each round: `gradients(scores, gh)` fills the first and second derivatives of the loss at
 * the current scores (one per row; `gh` comes sized) and returns the loss; a tree is grown on
 * the histograms of the (subsampled) rows and its shrunk Newton leaf values -G/(H + l2) added.
 * With validation rows, `metric(validation_scores)` (higher is better) is tracked, the model is
 * cut back to the best round (0 trees when no round beat the empty model) and training stops
 * after `options.patience` rounds without gain. One progress report per round (step 1 of 1).
 * Deterministic: one thread, a fixed order, seeded draws.
 * @tparam Gradients `double(const Eigen::VectorXd& scores, std::vector<detail::grad_pair>& gh)`
 * @tparam Metric `double(const Eigen::VectorXd& validation_scores)`
 */
template <class Gradients, class Metric>
train_result fit_boosted_trees(boosted_trees& model, const Eigen::MatrixXd& x, Gradients&& gradients, const Eigen::MatrixXd& validation,
                               Metric&& metric, const boosted_trees_config& config, const boosting_options& options = {},
                               const progress_callback& progress = {}) {
    config.validate();
    model = boosted_trees(static_cast<std::size_t>(x.cols()));
    train_result result;
    const std::size_t n = static_cast<std::size_t>(x.rows()), d = static_cast<std::size_t>(x.cols());
    const bool validating = validation.rows() > 0;
    if (validating && validation.cols() != x.cols())
        throw dimension_error("fit_boosted_trees: validation columns (got " + std::to_string(validation.cols()) + ", expected " +
                              std::to_string(x.cols()) + ")");
    if (n == 0) return result;
    const detail::binned_matrix data(x, config.max_bins);
    detail::tree_grower grower(data, config);
    std::mt19937_64 rng(options.seed);
    Eigen::VectorXd scores = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(n));
    Eigen::VectorXd vscores = Eigen::VectorXd::Zero(validation.rows());
    std::vector<detail::grad_pair> gh(n);
    std::vector<std::uint32_t> idx;
    std::vector<char> in_sample(n, 1), use_feature(d, 1);
    std::vector<std::size_t> feature_order(d);
    std::vector<detail::tree_grower::leaf_range> leaves;
    std::size_t best_round = 0, stale = 0;
    if (validating) result.best_validation = metric(vscores);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t round = 1; round <= config.rounds; ++round) {
        const double loss = gradients(static_cast<const Eigen::VectorXd&>(scores), gh);
        idx.clear();
        for (std::size_t i = 0; i < n; ++i) {
            in_sample[i] = config.subsample >= 1.0 || detail::uniform_unit(rng) < config.subsample;
            if (in_sample[i]) idx.push_back(static_cast<std::uint32_t>(i));
        }
        if (config.feature_subsample < 1.0 && d > 0) {
            for (std::size_t f = 0; f < d; ++f) feature_order[f] = f;
            detail::seeded_shuffle(feature_order, rng);
            const auto keep = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(config.feature_subsample * static_cast<double>(d))));
            for (std::size_t f = 0; f < d; ++f) use_feature[feature_order[f]] = f < keep;
        }
        regression_tree tree = grower.grow(idx, gh, use_feature, leaves);
        for (const auto& l : leaves)
            for (std::size_t k = l.begin; k < l.end; ++k) scores(idx[k]) += l.value;
        if (idx.size() < n)
            for (std::size_t i = 0; i < n; ++i)
                if (!in_sample[i]) scores(static_cast<Eigen::Index>(i)) += tree.predict(x.row(static_cast<Eigen::Index>(i)));
        for (Eigen::Index i = 0; i < validation.rows(); ++i) vscores(i) += tree.predict(validation.row(i));
        model.push_back(std::move(tree));
        result.epochs_run = round;
        result.train_loss.push_back(loss);
        if (validating) {
            const double score = metric(static_cast<const Eigen::VectorXd&>(vscores));
            result.validation.push_back(score);
            if (score > result.best_validation + options.min_delta) {
                result.best_validation = score;
                best_round = round;
                stale = 0;
            } else {
                ++stale;
            }
        } else {
            best_round = round;
        }
        result.best_epoch = best_round;
        if (progress && !progress(train_progress{round, config.rounds, 1, 1, loss, validating ? result.validation.back() : nan,
                                                 result.best_validation, true})) {
            result.cancelled = true;
            break;
        }
        if (validating && options.patience > 0 && stale >= options.patience && round < config.rounds) {
            result.stopped_early = true;
            break;
        }
    }
    model.truncate(best_round);
    return result;
}

}  // namespace aitl
