#pragma once
/// @file fused.hpp
/// @brief A retriever fusing any number of retrievers by weighted reciprocal rank (`fuse_rrf`):
/// e.g. BM25 (weight 1) with a trained dense retriever (its weight chosen on training data).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/topk.hpp"
#include "../error.hpp"
#include "../types.hpp"
#include "any_retriever.hpp"
#include "hybrid.hpp"

namespace aitl {

/**
 * @brief Weighted RRF of several retrievers: each with a positive weight contributes
 * weight / (rrf_k + rank) for every document of its top max(depth, k) (ranks from 1); the k
 * best fused scores are returned, ties by smaller id. Parts with weight 0 are not searched.
 *
 * The parts are `any_retriever`s, so they are shared, not copied (wrap a `std::shared_ptr`).
 *
 * @note Thread safety: immutable after construction; as thread-safe as the parts.
 * @code
 * aitl::fused pool({aitl::any_retriever(bm25), aitl::any_retriever(dense)}, {1.0, 0.5}, 300);
 * aitl::hits top = pool.search("refund for a cancelled booking", 300);
 * @endcode
 */
class fused {
public:
    /**
     * @param parts the retrievers (at least one, none empty).
     * @param weights one per part, finite, >= 0, at least one > 0 (empty: all 1).
     * @param depth candidates taken from each part (at least k are), >= 1.
     * @param rrf_k RRF's rank offset, finite, >= 0.
     * @throws config_error naming the first invalid argument.
     */
    fused(std::vector<any_retriever> parts, std::vector<double> weights = {}, std::size_t depth = 100,
          double rrf_k = 60.0)
        : parts_(std::move(parts)), weights_(std::move(weights)), depth_(depth), rrf_k_(rrf_k) {
        const char* w = "fused::fused";
        if (parts_.empty()) throw config_error(std::string(w) + ": no retriever (got 0, expected at least 1)");
        for (std::size_t i = 0; i < parts_.size(); ++i)
            if (!parts_[i])
                throw config_error(std::string(w) + ": retriever " + std::to_string(i) +
                                   " is empty (got an empty any_retriever, expected a retriever)");
        if (weights_.empty()) weights_.assign(parts_.size(), 1.0);
        if (weights_.size() != parts_.size())
            throw config_error(std::string(w) + ": one weight per retriever (got " + std::to_string(weights_.size()) +
                               " weights, expected " + std::to_string(parts_.size()) + ")");
        for (std::size_t i = 0; i < weights_.size(); ++i)
            if (!(std::isfinite(weights_[i]) && weights_[i] >= 0.0))
                throw config_error(std::string(w) + ": weights[" + std::to_string(i) + "] out of range (got " +
                                   std::to_string(weights_[i]) + ", expected a finite value >= 0)");
        if (std::none_of(weights_.begin(), weights_.end(), [](double x) { return x > 0.0; }))
            throw config_error(std::string(w) + ": every weight is 0 (expected at least one > 0)");
        if (depth_ == 0) throw config_error(std::string(w) + ": depth must be positive (got 0, expected >= 1)");
        if (!(std::isfinite(rrf_k_) && rrf_k_ >= 0.0))
            throw config_error(std::string(w) + ": rrf_k out of range (got " + std::to_string(rrf_k_) +
                               ", expected a finite value >= 0)");
    }

    const std::vector<any_retriever>& parts() const noexcept { return parts_; }
    const std::vector<double>& weights() const noexcept { return weights_; }
    std::size_t depth() const noexcept { return depth_; }
    double rrf_k() const noexcept { return rrf_k_; }

    /// @brief The k best documents by weighted RRF. @throws config_error when k == 0.
    hits search(std::string_view query, std::size_t k) const {
        detail::check_k("fused::search", k);
        std::vector<hits> lists(parts_.size());
        for (std::size_t i = 0; i < parts_.size(); ++i)
            if (weights_[i] > 0.0) lists[i] = parts_[i].search(query, std::max(depth_, k));
        return fuse(lists, k);
    }

    /// @brief search() for every query; each part runs its own batch search on `threads`
    /// threads (0 = all). @throws as search().
    std::vector<hits> search_batch(const std::vector<std::string>& queries, std::size_t k,
                                   std::size_t threads = 0) const {
        detail::check_k("fused::search_batch", k);
        std::vector<std::vector<hits>> runs(parts_.size());
        for (std::size_t i = 0; i < parts_.size(); ++i)
            if (weights_[i] > 0.0) runs[i] = parts_[i].search_batch(queries, std::max(depth_, k), threads);
        std::vector<hits> out(queries.size());
        std::vector<hits> lists(parts_.size());
        for (std::size_t q = 0; q < queries.size(); ++q) {
            for (std::size_t i = 0; i < parts_.size(); ++i)
                if (weights_[i] > 0.0) lists[i] = std::move(runs[i][q]);
            out[q] = fuse(lists, k);
        }
        return out;
    }

private:
    hits fuse(const std::vector<hits>& lists, std::size_t k) const {
        std::vector<const hits*> ptrs;
        ptrs.reserve(lists.size());
        for (const auto& l : lists) ptrs.push_back(&l);
        return fuse_rrf(ptrs, weights_, k, rrf_k_);
    }

    std::vector<any_retriever> parts_;
    std::vector<double> weights_;
    std::size_t depth_;
    double rrf_k_;
};

}  // namespace aitl
