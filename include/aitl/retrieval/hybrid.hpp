#pragma once
/// @file hybrid.hpp
/// @brief Hybrid retrieval: two retrievers' ranked lists fused by reciprocal rank (RRF) or
/// by weighted min-max-normalised scores.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../concepts.hpp"
#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../types.hpp"
#include "any_retriever.hpp"

namespace aitl {

/// @brief How hybrid merges its two lists.
enum class fusion_method {
    rrf,      ///< reciprocal rank fusion: sum over lists of 1 / (rrf_k + rank), rank from 1
    weighted  ///< weight * norm(first) + (1 - weight) * norm(second), min-max normalised per list
};

/// @returns "rrf" or "weighted".
inline std::string fusion_method_name(fusion_method m) { return m == fusion_method::weighted ? "weighted" : "rrf"; }

/// @brief Parses "rrf" / "weighted". @throws config_error otherwise.
inline fusion_method parse_fusion_method(const std::string& name) {
    if (name == "rrf") return fusion_method::rrf;
    if (name == "weighted") return fusion_method::weighted;
    throw config_error("aitl::parse_fusion_method: unknown method (got \"" + name + "\", expected \"rrf\" or \"weighted\")");
}

inline void to_json(nlohmann::json& j, fusion_method m) { j = fusion_method_name(m); }
inline void from_json(const nlohmann::json& j, fusion_method& m) { m = parse_fusion_method(j.get<std::string>()); }

/**
 * @brief Settings of hybrid (validated by its constructor; round-trip through JSON).
 */
struct fusion_config {
    fusion_method method = fusion_method::rrf;
    float rrf_k = 60.0f;      ///< RRF's rank offset, finite and >= 0
    float weight = 0.5f;      ///< weight of the first list in weighted fusion, in [0, 1]
    std::size_t depth = 100;  ///< candidates taken from each list (at least k are), >= 1

    /// @throws config_error naming the first invalid field.
    void validate() const {
        if (!std::isfinite(rrf_k) || rrf_k < 0.0f)
            throw config_error("fusion_config::validate: rrf_k out of range (got " + std::to_string(rrf_k) +
                               ", expected a finite value >= 0)");
        if (!std::isfinite(weight) || weight < 0.0f || weight > 1.0f)
            throw config_error("fusion_config::validate: weight out of range (got " + std::to_string(weight) +
                               ", expected 0 <= weight <= 1)");
        if (depth == 0) throw config_error("fusion_config::validate: depth must be positive (got 0, expected >= 1)");
    }
};

inline void to_json(nlohmann::json& j, const fusion_config& c) {
    j = nlohmann::json{{"method", c.method}, {"rrf_k", c.rrf_k}, {"weight", c.weight}, {"depth", c.depth}};
}

/// @throws config_error on an unknown key or a wrong type (missing keys keep their defaults).
inline void from_json(const nlohmann::json& j, fusion_config& c) {
    const char* t = "fusion_config";
    detail::config_check_keys(j, t, {"method", "rrf_k", "weight", "depth"});
    detail::config_read_key(j, t, "method", c.method);
    detail::config_read_key(j, t, "rrf_k", c.rrf_k);
    detail::config_read_key(j, t, "weight", c.weight);
    detail::config_read_key(j, t, "depth", c.depth);
}

namespace detail {
// The k best (id, fused score) pairs as hits, best first, ties by smaller id.
inline hits best_fused(std::vector<std::pair<std::string_view, double>>& fused, std::size_t k) {
    auto better = [](const std::pair<std::string_view, double>& a, const std::pair<std::string_view, double>& b) {
        return a.second > b.second || (a.second == b.second && a.first < b.first);
    };
    const std::size_t n = std::min(k, fused.size());
    std::partial_sort(fused.begin(), fused.begin() + static_cast<std::ptrdiff_t>(n), fused.end(), better);
    hits out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(hit{std::string(fused[i].first), static_cast<float>(fused[i].second)});
    return out;
}
}  // namespace detail

/// @brief Fuses two ranked lists (best first) into the k best, ordered by fused score, ties
/// by smaller id. A document missing from one list gets 0 from it. Under weighted fusion a
/// list's scores are min-max normalised to [0, 1]; a list whose scores are all equal
/// normalises to 1. Only the first occurrence of an id within a list counts.
inline hits fuse(const hits& first, const hits& second, std::size_t k, const fusion_config& config) {
    std::unordered_map<std::string_view, std::size_t> at;
    at.reserve(first.size() + second.size());
    std::vector<std::pair<std::string_view, double>> fused;
    fused.reserve(first.size() + second.size());
    auto add_list = [&](const hits& list, double weight) {
        float lo = 0.0f, hi = 0.0f;
        if (!list.empty()) {
            lo = hi = list.front().score;
            for (const hit& h : list) {
                lo = std::min(lo, h.score);
                hi = std::max(hi, h.score);
            }
        }
        std::unordered_map<std::string_view, bool> seen;
        seen.reserve(list.size());
        for (std::size_t rank = 0; rank < list.size(); ++rank) {
            const hit& h = list[rank];
            if (!seen.emplace(h.id, true).second) continue;
            double contribution;
            if (config.method == fusion_method::rrf) {
                contribution = 1.0 / (static_cast<double>(config.rrf_k) + static_cast<double>(rank + 1));
            } else {
                const double norm = hi > lo ? (static_cast<double>(h.score) - lo) / (static_cast<double>(hi) - lo) : 1.0;
                contribution = weight * norm;
            }
            auto ins = at.emplace(h.id, fused.size());
            if (ins.second) fused.emplace_back(h.id, contribution);
            else fused[ins.first->second].second += contribution;
        }
    };
    const bool weighted = config.method == fusion_method::weighted;
    add_list(first, weighted ? config.weight : 1.0);
    add_list(second, weighted ? 1.0 - config.weight : 1.0);
    return detail::best_fused(fused, k);
}

/**
 * @brief Weighted reciprocal rank fusion of any number of ranked lists (best first): a document
 * scores the sum over lists of weight / (rrf_k + rank), rank 1-based, counting only its first
 * occurrence in a list. Returns the k best by fused score, ties by smaller id.
 * @throws config_error for a weights size other than the lists' (empty weights: all 1), a
 * negative or non-finite weight, or a negative or non-finite rrf_k.
 * @code
 * aitl::hits pool = aitl::fuse_rrf({&bm25_hits, &dense_hits}, {1.0, 0.5}, 300);
 * @endcode
 */
inline hits fuse_rrf(const std::vector<const hits*>& lists, std::vector<double> weights, std::size_t k, double rrf_k = 60.0) {
    if (weights.empty()) weights.assign(lists.size(), 1.0);
    if (weights.size() != lists.size())
        throw config_error("aitl::fuse_rrf: one weight per list (got " + std::to_string(weights.size()) + " weights, expected " +
                           std::to_string(lists.size()) + ")");
    for (double w : weights)
        if (!(std::isfinite(w) && w >= 0.0))
            throw config_error("aitl::fuse_rrf: weight out of range (got " + std::to_string(w) + ", expected a finite value >= 0)");
    if (!(std::isfinite(rrf_k) && rrf_k >= 0.0))
        throw config_error("aitl::fuse_rrf: rrf_k out of range (got " + std::to_string(rrf_k) + ", expected a finite value >= 0)");
    std::unordered_map<std::string_view, std::size_t> at;
    std::vector<std::pair<std::string_view, double>> fused;
    for (std::size_t l = 0; l < lists.size(); ++l) {
        if (!lists[l] || weights[l] == 0.0) continue;
        std::unordered_map<std::string_view, bool> seen;
        for (std::size_t rank = 0; rank < lists[l]->size(); ++rank) {
            const hit& h = (*lists[l])[rank];
            if (!seen.emplace(h.id, true).second) continue;
            const double contribution = weights[l] / (rrf_k + static_cast<double>(rank + 1));
            auto ins = at.emplace(h.id, fused.size());
            if (ins.second) fused.emplace_back(h.id, contribution);
            else fused[ins.first->second].second += contribution;
        }
    }
    return detail::best_fused(fused, k);
}

/**
 * @brief Retriever fusing two retrievers (see concepts.hpp) by RRF or weighted scores.
 *
 * Each search takes max(depth, k) candidates from both retrievers and fuses them (aitl::fuse).
 * The two retrievers are held by value: to share one that lives elsewhere, pass an
 * any_retriever built from a std::shared_ptr (or a hybrid of any_retriever, as the Python
 * HybridRetriever does).
 *
 * @tparam First, Second retrievers; `search_batch(queries, k, threads)` is used when they
 *         have it.
 * @note Thread safety: hybrid has no mutable state of its own; it is as thread-safe as its
 *       two retrievers (searching while someone mutates them through first()/second() is
 *       their business).
 *
 * @code
 * aitl::hybrid<aitl::bm25, Dense> h(std::move(bm25), std::move(dense),
 *                                   aitl::fusion_config{aitl::fusion_method::rrf, 60.0f});
 * aitl::hits top = h.search("refund for a cancelled booking", 75);
 * @endcode
 */
template <class First, class Second>
class hybrid {
public:
    /// @throws config_error when `config` is invalid.
    hybrid(First first, Second second, fusion_config config = {})
        : first_(std::move(first)), second_(std::move(second)), config_(config) {
        require_retriever<First>();
        require_retriever<Second>();
        config_.validate();
    }

    /// @returns The fusion settings.
    const fusion_config& config() const noexcept { return config_; }
    First& first() noexcept { return first_; }
    const First& first() const noexcept { return first_; }
    Second& second() noexcept { return second_; }
    const Second& second() const noexcept { return second_; }

    /// @brief The k best documents of the fused lists. @throws config_error when k == 0.
    hits search(std::string_view query, std::size_t k) const {
        detail::check_k("hybrid::search", k);
        const std::size_t depth = std::max(config_.depth, k);
        return fuse(first_.search(query, depth), second_.search(query, depth), k, config_);
    }

    /// @brief search() for every query; each side runs its own batch search on `threads`
    /// threads (0 = all). @throws config_error when k == 0.
    std::vector<hits> search_batch(const std::vector<std::string>& queries, std::size_t k,
                                   std::size_t threads = 0) const {
        detail::check_k("hybrid::search_batch", k);
        const std::size_t depth = std::max(config_.depth, k);
        const std::vector<hits> a = detail::search_batch_of(first_, queries, depth, threads);
        const std::vector<hits> b = detail::search_batch_of(second_, queries, depth, threads);
        std::vector<hits> out(queries.size());
        for (std::size_t i = 0; i < queries.size(); ++i) out[i] = fuse(a[i], b[i], k, config_);
        return out;
    }

private:
    First first_;
    Second second_;
    fusion_config config_;
};

}  // namespace aitl
