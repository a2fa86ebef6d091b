#pragma once
/// @file reranked.hpp
/// @brief Composed retrievers: a trained reranker over the top of any first stage
/// (`reranked`), and a first stage with documents kept out of serving (`filtered`).
///
/// With `fused` (fused.hpp) they make a served champion a C++ object that the pipeline owns:
/// `reranked(fused({bm25, dense}, weights), feature_ranker)` searches with no callback.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../concepts.hpp"
#include "../detail/shared_component.hpp"
#include "../detail/topk.hpp"
#include "../error.hpp"
#include "../types.hpp"
#include "any_retriever.hpp"

namespace aitl {

/**
 * @brief A retriever that reranks the top `depth` of another retriever.
 *
 * `search(q, k)` takes the first stage's top max(depth, k) and returns the reranker's best k of
 * them, so a reranker corrects the whole candidate pool, not only what is shown: recall@k of the
 * composed retriever counts the reranker's order. `depth` 0 means k (rerank exactly what is
 * returned).
 *
 * @tparam Retriever the retriever contract (concepts.hpp); its `search_batch` is used when it
 *         has one.
 * @tparam Reranker the reranker contract, e.g. feature_ranker or identity_reranker.
 * @note Thread safety: no mutable state of its own; as thread-safe as its two components
 *       (held by `std::shared_ptr<const …>`; pass a shared_ptr to share one).
 * @code
 * aitl::reranked<aitl::any_retriever, aitl::feature_ranker> champion(first_stage, ranker, 300);
 * aitl::hits top = champion.search("refund for a cancelled booking", 75);
 * @endcode
 */
template <class Retriever, class Reranker>
class reranked {
public:
    using retriever_type = Retriever;
    using reranker_type = Reranker;

    /// @param retriever, reranker values or `std::shared_ptr`s to share.
    /// @throws config_error for a null shared_ptr.
    template <class R, class RR>
    reranked(R&& retriever, RR&& reranker, std::size_t depth = 0)
        : retriever_(detail::shared_component<const Retriever>(std::forward<R>(retriever), "reranked::reranked")),
          reranker_(detail::shared_component<const Reranker>(std::forward<RR>(reranker), "reranked::reranked")),
          depth_(depth) {
        require_retriever<Retriever>();
        require_reranker<Reranker>();
    }

    /// @returns The candidates reranked per search (0: k).
    std::size_t depth() const noexcept { return depth_; }
    const Retriever& retriever() const noexcept { return *retriever_; }
    const Reranker& reranker() const noexcept { return *reranker_; }

    /// @brief The reranker's k best of the first stage's top max(depth, k).
    /// @throws config_error when k == 0; what the components throw.
    hits search(std::string_view query, std::size_t k) const {
        detail::check_k("reranked::search", k);
        const hits candidates = retriever_->search(query, std::max(depth_, k));
        if (candidates.empty()) return candidates;
        return reranker_->rerank(query, candidates, k);
    }

    /// @brief search() for every query: the first stage's batch search, then the reranker on
    /// `threads` threads (0 = all). @throws as search().
    std::vector<hits> search_batch(const std::vector<std::string>& queries, std::size_t k,
                                   std::size_t threads = 0) const {
        detail::check_k("reranked::search_batch", k);
        std::vector<hits> out = detail::search_batch_of(*retriever_, queries, std::max(depth_, k), threads);
        detail::parallel_tasks(queries.size(), threads, [&](std::size_t i) {
            if (!out[i].empty()) out[i] = reranker_->rerank(queries[i], out[i], k);
        });
        return out;
    }

private:
    std::shared_ptr<const Retriever> retriever_;
    std::shared_ptr<const Reranker> reranker_;
    std::size_t depth_;
};

/**
 * @brief A retriever that never returns some documents (e.g. articles not yet published, or a
 * simulation's held-out documents), while they stay indexed.
 *
 * `search(q, k)` takes the inner retriever's top max(depth, k), drops the excluded ids and
 * returns the first k left (fewer when the excluded ones filled the depth).
 *
 * @note Thread safety: immutable after construction; as thread-safe as the inner retriever.
 * @code
 * aitl::filtered<aitl::bm25> served(std::move(bm25), {"draft-1", "draft-2"}, 300);
 * @endcode
 */
template <class Retriever>
class filtered {
public:
    /// @param retriever a value or a `std::shared_ptr` to share.
    /// @param depth candidates taken from the inner retriever (0: k + the excluded count).
    /// @throws config_error for a null shared_ptr.
    template <class R>
    filtered(R&& retriever, std::vector<std::string> exclude, std::size_t depth = 0)
        : retriever_(detail::shared_component<const Retriever>(std::forward<R>(retriever), "filtered::filtered")),
          exclude_(exclude.begin(), exclude.end()),
          depth_(depth) {
        require_retriever<Retriever>();
    }

    const Retriever& retriever() const noexcept { return *retriever_; }
    /// @returns The excluded document ids, sorted.
    std::vector<std::string> excluded() const {
        std::vector<std::string> out(exclude_.begin(), exclude_.end());
        std::sort(out.begin(), out.end());
        return out;
    }

    /// @brief The first k of the inner top max(depth, k) that are not excluded.
    /// @throws config_error when k == 0.
    hits search(std::string_view query, std::size_t k) const {
        detail::check_k("filtered::search", k);
        return keep(retriever_->search(query, inner_k(k)), k);
    }

    /// @brief search() for every query (threads: 0 = all). @throws as search().
    std::vector<hits> search_batch(const std::vector<std::string>& queries, std::size_t k,
                                   std::size_t threads = 0) const {
        detail::check_k("filtered::search_batch", k);
        std::vector<hits> out = detail::search_batch_of(*retriever_, queries, inner_k(k), threads);
        for (auto& h : out) h = keep(std::move(h), k);
        return out;
    }

private:
    std::size_t inner_k(std::size_t k) const { return depth_ ? std::max(depth_, k) : k + exclude_.size(); }

    hits keep(hits in, std::size_t k) const {
        if (exclude_.empty()) {
            if (in.size() > k) in.resize(k);
            return in;
        }
        hits out;
        out.reserve(std::min(k, in.size()));
        for (auto& h : in) {
            if (out.size() == k) break;
            if (!exclude_.count(h.id)) out.push_back(std::move(h));
        }
        return out;
    }

    std::shared_ptr<const Retriever> retriever_;
    std::unordered_set<std::string> exclude_;
    std::size_t depth_;
};

}  // namespace aitl
