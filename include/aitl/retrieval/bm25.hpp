#pragma once
/// @file retrieval/bm25.hpp
/// @brief Okapi BM25 over an in-memory inverted index: incremental add/remove, exact top-k
/// with dynamic pruning, parallel batch search.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/bm25_index.hpp"
#include "../detail/bm25_kernels.hpp"
#include "../error.hpp"
#include "../kb/knowledge_base.hpp"
#include "../types.hpp"
#include "bm25_config.hpp"

namespace aitl {

/**
 * @brief BM25 retriever: an inverted index over analysed text with incremental updates.
 *
 * Terms get integer ids; postings are (document number, tf) arrays in document order.
 * Per-document length norms and per-posting impacts tf / (tf + norm) are recomputed lazily,
 * on the first search after a mutation. `search` scores term-at-a-time into a dense
 * accumulator, rarest term first, tracking touched documents while they are few (no full
 * scan for selective queries). With `dynamic_pruning`, once the k-th best partial score
 * exceeds what the remaining (common) terms could add, only the candidates that can still
 * enter the top k are finished (MaxScore; exact: the same hits as exhaustive scoring). It
 * pays when a few rare terms decide the top k; on long queries full of common words it
 * seldom triggers and costs a few percent. Ties are broken by insertion order (earlier
 * document first), as Xapian does. `remove` takes effect at once (statistics included);
 * dead postings are purged when they exceed a quarter of the index.
 *
 * @tparam Mutex thread policy: `default_mutex` (many concurrent searches, one writer) or
 * `detail::null_mutex` (no locking).
 * @note Thread safety: with `bm25_mt` (= `bm25`) every member may be called concurrently;
 * searches share a reader lock, add/remove take the writer lock. `bm25_st` is not thread-safe.
 * @code
 * aitl::bm25 index;                                  // k1 = 0.5, b = 0.75, English analyzer
 * index.add("faq-1", "Refunds arrive within 5 business days.");
 * index.add(aitl::knowledge_base::load_beir("corpus.jsonl"));
 * aitl::hits top = index.search("when will I get my refund?", 75);
 * @endcode
 */
template <class Mutex = default_mutex>
class basic_bm25 {
public:
    using mutex_type = Mutex;

    /// @throws config_error for invalid settings (see `validate`).
    explicit basic_bm25(bm25_config config = {}) : index_(checked(std::move(config))) {}

    basic_bm25(const basic_bm25& other) : index_(other.copy_index()) {}
    basic_bm25(basic_bm25&& other) : index_(other.take_index()) {}
    basic_bm25& operator=(const basic_bm25& other) {
        if (this != &other) {
            detail::bm25_index copy = other.copy_index();
            std::lock_guard<Mutex> guard(mutex_);
            index_ = std::move(copy);
            stale_ = true;
        }
        return *this;
    }
    basic_bm25& operator=(basic_bm25&& other) {
        if (this != &other) {
            detail::bm25_index taken = other.take_index();
            std::lock_guard<Mutex> guard(mutex_);
            index_ = std::move(taken);
            stale_ = true;
        }
        return *this;
    }

    /// @returns The settings.
    const bm25_config& config() const noexcept { return index_.config(); }

    /// @brief Indexes `text` under `id`.
    /// @throws config_error for an empty or already indexed id.
    void add(std::string_view id, std::string_view text) {
        std::lock_guard<Mutex> guard(mutex_);
        index_.check_new_id(id, "bm25::add");
        stale_ = true;
        index_.add(id, {}, text, false);
    }

    /// @brief Indexes `doc.indexed_text()` (title and text) under `doc.id`.
    void add(const document& doc) {
        std::lock_guard<Mutex> guard(mutex_);
        index_.check_new_id(doc.id, "bm25::add");
        stale_ = true;
        index_.add(doc.id, doc.title, doc.text, false);
    }

    /// @brief Indexes every document (all ids are checked before anything is added).
    void add(const std::vector<document>& docs) { add_all(docs, "bm25::add"); }

    /// @brief Indexes every document of a knowledge base.
    void add(const knowledge_base& kb) { add_all(kb, "bm25::add"); }

    /// @brief Replaces the text indexed under `id`.
    /// @throws not_found for an unknown id.
    void update(std::string_view id, std::string_view text) {
        std::lock_guard<Mutex> guard(mutex_);
        index_.remove(id, "bm25::update");
        stale_ = true;
        index_.add(id, {}, text, false);
    }

    /// @brief Removes a document: later searches never return it; statistics are updated.
    /// @throws not_found for an unknown id.
    void remove(std::string_view id) {
        std::lock_guard<Mutex> guard(mutex_);
        index_.remove(id, "bm25::remove");
        stale_ = true;
    }

    /// @brief Removes every document.
    void clear() {
        std::lock_guard<Mutex> guard(mutex_);
        index_ = detail::bm25_index(index_.config());
        stale_ = true;
    }

    bool contains(std::string_view id) const {
        detail::read_guard<Mutex> guard(mutex_);
        return index_.contains(id);
    }

    /// @returns The number of documents.
    std::size_t size() const {
        detail::read_guard<Mutex> guard(mutex_);
        return index_.size();
    }

    /// @returns Statistics of the live documents.
    bm25_stats stats() const {
        detail::read_guard<Mutex> guard(mutex_);
        return index_.stats();
    }

    /**
     * @brief The k best documents for `query`, best first (fewer when fewer match).
     *
     * A document matches when it shares at least one term with the query (OR semantics).
     * @throws config_error when k == 0.
     */
    hits search(std::string_view query, std::size_t k) const {
        if (k == 0) throw config_error("bm25::search: k must be positive (got 0, expected >= 1)");
        detail::read_guard<Mutex> guard(mutex_);
        refresh_if_stale();
        static thread_local detail::bm25_scratch scratch;
        return index_.search(query, k, scratch);
    }

    /**
     * @brief `search` for each query, on `threads` threads (0: one per hardware thread).
     * @returns One result list per query, in query order.
     * @throws config_error when k == 0.
     */
    std::vector<hits> search_batch(const std::vector<std::string>& queries, std::size_t k,
                                   std::size_t threads = 0) const {
        if (k == 0) throw config_error("bm25::search_batch: k must be positive (got 0, expected >= 1)");
        std::vector<hits> out(queries.size());
        if (queries.empty()) return out;
        if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
        threads = std::min(threads, queries.size());
        detail::read_guard<Mutex> guard(mutex_);
        refresh_if_stale();
        if (threads == 1) {
            static thread_local detail::bm25_scratch scratch;
            for (std::size_t i = 0; i < queries.size(); ++i) out[i] = index_.search(queries[i], k, scratch);
            return out;
        }
        std::atomic<std::size_t> next{0};
        std::exception_ptr failure;
        std::mutex failure_mutex;
        auto work = [&] {
            detail::bm25_scratch scratch;
            try {
                for (std::size_t i = next++; i < queries.size(); i = next++) out[i] = index_.search(queries[i], k, scratch);
            } catch (...) {
                std::lock_guard<std::mutex> g(failure_mutex);
                if (!failure) failure = std::current_exception();
                next = queries.size();
            }
        };
        std::vector<std::thread> pool;
        pool.reserve(threads - 1);
        for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
        work();
        for (auto& t : pool) t.join();
        if (failure) std::rethrow_exception(failure);
        return out;
    }

private:
    static bm25_config checked(bm25_config c) {
        validate(c, "bm25::bm25");
        return c;
    }

    detail::bm25_index copy_index() const {
        detail::read_guard<Mutex> guard(mutex_);
        return index_;
    }

    detail::bm25_index take_index() {
        std::lock_guard<Mutex> guard(mutex_);
        detail::bm25_index out = std::move(index_);
        index_ = detail::bm25_index(out.config());
        stale_ = true;
        return out;
    }

    template <class Docs>
    void add_all(const Docs& docs, const char* where) {
        std::lock_guard<Mutex> guard(mutex_);
        {
            std::unordered_map<std::string_view, int> seen;
            for (const document& d : docs) {
                index_.check_new_id(d.id, where);
                if (!seen.emplace(d.id, 0).second)
                    throw config_error(std::string(where) + ": duplicate id (got '" + d.id + "' twice, expected unique ids)");
            }
        }
        stale_ = true;
        try {
            for (const document& d : docs) {
                index_.add(d.id, d.title, d.text, true);
                if (index_.pending() >= detail::bm25_index::flush_every) index_.flush_pending();
            }
        } catch (...) {
            index_.flush_pending();
            throw;
        }
        index_.flush_pending();
        index_.shrink();
    }

    // Norms and impacts depend on collection statistics: recomputed on the first search after
    // a mutation, under the reader lock, by one thread (double-checked under refresh_mutex_).
    void refresh_if_stale() const {
        if (!stale_.load(std::memory_order_acquire)) return;
        std::lock_guard<std::mutex> guard(refresh_mutex_);
        if (!stale_.load(std::memory_order_relaxed)) return;
        index_.refresh();
        stale_.store(false, std::memory_order_release);
    }

    detail::bm25_index index_;
    mutable Mutex mutex_;
    mutable std::mutex refresh_mutex_;
    mutable std::atomic<bool> stale_{true};
};

/// @brief BM25 for concurrent use (shared reader lock).
using bm25_mt = basic_bm25<default_mutex>;
/// @brief BM25 without locking, for single-threaded use.
using bm25_st = basic_bm25<detail::null_mutex>;
/// @brief The default BM25: `bm25_mt`.
using bm25 = bm25_mt;

}  // namespace aitl
