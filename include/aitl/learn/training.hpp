#pragma once
/// @file learn/training.hpp
/// @brief What every aitl trainer shares: the progress report handed to callbacks, the
/// training summary, and deterministic random draws.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aitl {

/**
 * @brief One progress report of a trainer, handed to its callback after every step and at
 * the end of every epoch.
 */
struct train_progress {
    std::size_t epoch = 0;            ///< 1-based epoch
    std::size_t epochs = 0;           ///< epochs configured (the run may stop earlier)
    std::size_t step = 0;             ///< 1-based step within the epoch
    std::size_t steps = 0;            ///< steps per epoch
    double loss = 0.0;                ///< mean training loss of the epoch so far
    double validation = std::numeric_limits<double>::quiet_NaN();       ///< last validation score (NaN: none yet)
    double best_validation = std::numeric_limits<double>::quiet_NaN();  ///< best validation score so far
    bool end_of_epoch = false;        ///< true for the report after the epoch's validation
};

/// @brief A progress callback: return false to stop training (the best model so far is kept).
using progress_callback = std::function<bool(const train_progress&)>;

/// @brief Summary of one training run.
struct train_result {
    std::size_t epochs_run = 0;       ///< epochs completed
    std::size_t best_epoch = 0;       ///< epoch whose model was kept (0: the initial model)
    double best_validation = std::numeric_limits<double>::quiet_NaN();  ///< its validation score (NaN: no validation)
    std::vector<double> train_loss;   ///< mean training loss per epoch
    std::vector<double> validation;   ///< validation score per epoch (empty without validation data)
    bool stopped_early = false;       ///< patience ran out
    bool cancelled = false;           ///< the callback returned false
};

inline void to_json(nlohmann::json& j, const train_result& r) {
    auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
    nlohmann::json v = nlohmann::json::array();
    for (double x : r.validation) v.push_back(num(x));
    j = nlohmann::json{{"epochs_run", r.epochs_run},       {"best_epoch", r.best_epoch},
                       {"best_validation", num(r.best_validation)}, {"train_loss", r.train_loss},
                       {"validation", v},                   {"stopped_early", r.stopped_early},
                       {"cancelled", r.cancelled}};
}

namespace detail {

// Uniform integer in [0, n) from mt19937_64 by rejection: the same numbers on every platform
// (std::uniform_int_distribution's algorithm is implementation-defined).
inline std::size_t uniform_index(std::mt19937_64& rng, std::size_t n) {
    const std::uint64_t range = static_cast<std::uint64_t>(n);
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % range;
    std::uint64_t x;
    do {
        x = rng();
    } while (x >= limit);
    return static_cast<std::size_t>(x % range);
}

// Fisher-Yates with uniform_index (std::shuffle is implementation-defined).
template <class T>
void seeded_shuffle(std::vector<T>& v, std::mt19937_64& rng) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniform_index(rng, i)]);
}

// Adam's bias-corrected step sizes for step t (1-based).
struct adam_step {
    double lr_t;
    adam_step(double lr, double beta1, double beta2, std::size_t t)
        : lr_t(lr * std::sqrt(1.0 - std::pow(beta2, static_cast<double>(t))) /
               (1.0 - std::pow(beta1, static_cast<double>(t)))) {}
};

}  // namespace detail
}  // namespace aitl
