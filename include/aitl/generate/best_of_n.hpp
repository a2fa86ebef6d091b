#pragma once
/// @file generate/best_of_n.hpp
/// @brief Best-of-N reply selection by a reward model: `best_of_n` over given candidates and
/// `reward_selected_generator`, a generator that generates N variants and serves the best.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../concepts.hpp"
#include "../detail/shared_component.hpp"
#include "../error.hpp"
#include "reference.hpp"

namespace aitl {

/// @returns A reference as the reward model reads it: `"[doc_id] title\ntext"` (`"[doc_id] text"`
/// without a title), so that the model can check the reply's citations.
inline std::string reward_reference_text(const reference& r) {
    std::string out = "[" + r.doc_id + "] ";
    if (!r.title.empty()) out += r.title + "\n";
    out += r.text;
    return out;
}

/// @returns `reward_reference_text` of each reference, in order.
inline std::vector<std::string> reward_references(const std::vector<reference>& refs) {
    std::vector<std::string> out;
    out.reserve(refs.size());
    for (const auto& r : refs) out.push_back(reward_reference_text(r));
    return out;
}

/// @brief The outcome of `best_of_n`: the index of the best candidate and every score.
struct best_of_n_result {
    std::size_t best = 0;        ///< index of the highest score (the first of equal scores)
    std::vector<double> scores;  ///< one per candidate, in their order
};

/**
 * @brief Scores each candidate reply with the reward model and picks the highest.
 * @throws config_error when there are no candidates.
 * @note Thread safety: as safe as the reward model's `score` (`reward_model`'s is const-safe).
 * @code
 * auto r = aitl::best_of_n(rm, query, {gen.generate(query, refs, "top"), gen.generate(query, refs, "coverage")}, refs);
 * @endcode
 */
template <class RewardModel>
best_of_n_result best_of_n(const RewardModel& reward_model, std::string_view query,
                           const std::vector<generated_reply>& candidates, const std::vector<reference>& refs) {
    require_reward_scorer<RewardModel>();
    if (candidates.empty()) throw config_error("best_of_n: no candidates (got 0, expected at least 1)");
    const std::vector<std::string> texts = reward_references(refs);
    best_of_n_result out;
    out.scores.reserve(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        out.scores.push_back(static_cast<double>(reward_model.score(query, candidates[i].text, texts)));
        if (out.scores[i] > out.scores[out.best]) out.best = i;
    }
    return out;
}

/// @brief A candidate reply and its reward.
struct scored_reply {
    generated_reply reply;
    double score = 0.0;
};


/**
 * @brief A generator that generates several variants of another generator and serves the one
 * the reward model scores highest (best-of-N).
 *
 * `variants()` is `name` ("best") followed by the wrapped generator's variants. `generate` with
 * `name` generates each of `candidates` (default: all the generator's variants) and returns the
 * best-scored reply (the first of equal scores; its `variant` is the chosen candidate's, e.g.
 * "coverage"); any other variant is passed through to the wrapped generator.
 *
 * @tparam Generator the generator contract (concepts.hpp).
 * @tparam RewardModel `double score(std::string_view, std::string_view, const
 *         std::vector<std::string>&) const`, e.g. `reward_model`.
 * @note Thread safety: `generate` is const and as safe as both components; the components are
 * held by `std::shared_ptr<const …>` (pass a shared_ptr to share one, e.g. a reward model that is
 * retrained elsewhere — not while a `generate` runs).
 * @code
 * aitl::reward_selected_generator<aitl::extractive_generator, aitl::reward_model> best(
 *     aitl::extractive_generator(), trained_reward_model);
 * auto r = best.generate(query, refs, "best");  // the better of "top" and "coverage"
 * @endcode
 */
template <class Generator, class RewardModel>
class reward_selected_generator {
public:
    using generator_type = Generator;
    using reward_model_type = RewardModel;

    /**
     * @param generator the wrapped generator (a value or a `std::shared_ptr` to one).
     * @param reward_model the scorer (a value or a `std::shared_ptr` to one).
     * @param candidates the variants generated for `name` (empty: all of the generator's); each
     *        must be one of the generator's, no repeats.
     * @param name the best-of-N variant name; must not be one of the generator's.
     * @throws config_error for a null shared_ptr, an unknown or repeated candidate, or a clashing
     *         or empty name.
     */
    template <class G, class M>
    reward_selected_generator(G&& generator, M&& reward_model, std::vector<std::string> candidates = {},
                              std::string name = "best")
        : generator_(detail::shared_component<const Generator>(std::forward<G>(generator), where)),
          reward_model_(detail::shared_component<const RewardModel>(std::forward<M>(reward_model), where)),
          candidates_(std::move(candidates)),
          name_(std::move(name)) {
        require_generator<Generator>();
        require_reward_scorer<RewardModel>();
        const std::vector<std::string> offered = generator_->variants();
        auto offers = [&](const std::string& v) {
            for (const auto& o : offered)
                if (o == v) return true;
            return false;
        };
        if (name_.empty()) throw config_error(std::string(where) + ": empty name (got '', expected e.g. 'best')");
        if (offers(name_))
            throw config_error(std::string(where) + ": name clashes with a generator variant (got '" + name_ +
                               "', expected a name the generator does not use)");
        if (candidates_.empty()) candidates_ = offered;
        for (std::size_t i = 0; i < candidates_.size(); ++i) {
            if (!offers(candidates_[i]))
                throw config_error(std::string(where) + ": unknown candidate variant (got '" + candidates_[i] +
                                   "', expected one of the generator's variants)");
            for (std::size_t j = 0; j < i; ++j)
                if (candidates_[j] == candidates_[i])
                    throw config_error(std::string(where) + ": repeated candidate variant (got '" + candidates_[i] +
                                       "' twice, expected distinct variants)");
        }
        if (candidates_.empty())
            throw config_error(std::string(where) + ": no candidates (got 0, expected at least 1)");
    }

    /// @returns `name()` followed by the wrapped generator's variants.
    std::vector<std::string> variants() const {
        std::vector<std::string> out{name_};
        for (auto& v : generator_->variants()) out.push_back(std::move(v));
        return out;
    }

    /**
     * @brief The best-scored candidate for `name()`, or the wrapped generator's reply for its
     * own variants.
     * @throws config_error for an unknown variant; what the components throw.
     */
    generated_reply generate(std::string_view query, const std::vector<reference>& refs, std::string_view variant) const {
        if (variant != name_) return generator_->generate(query, refs, variant);
        auto all = generate_all(query, refs);
        std::size_t best = 0;
        for (std::size_t i = 1; i < all.size(); ++i)
            if (all[i].score > all[best].score) best = i;
        return std::move(all[best].reply);
    }

    /// @returns Every candidate's reply with its reward, in the order of `candidates()`.
    std::vector<scored_reply> generate_all(std::string_view query, const std::vector<reference>& refs) const {
        std::vector<generated_reply> replies;
        replies.reserve(candidates_.size());
        for (const auto& v : candidates_) replies.push_back(generator_->generate(query, refs, v));
        const best_of_n_result r = best_of_n(*reward_model_, query, replies, refs);
        std::vector<scored_reply> out;
        out.reserve(replies.size());
        for (std::size_t i = 0; i < replies.size(); ++i) out.push_back(scored_reply{std::move(replies[i]), r.scores[i]});
        return out;
    }

    /// @returns The best-of-N variant's name.
    const std::string& name() const noexcept { return name_; }
    /// @returns The variants generated for `name()`.
    const std::vector<std::string>& candidates() const noexcept { return candidates_; }
    const Generator& generator() const noexcept { return *generator_; }
    const RewardModel& reward_model() const noexcept { return *reward_model_; }

private:
    static constexpr const char* where = "reward_selected_generator::reward_selected_generator";
    std::shared_ptr<const Generator> generator_;
    std::shared_ptr<const RewardModel> reward_model_;
    std::vector<std::string> candidates_;
    std::string name_;
};

}  // namespace aitl
