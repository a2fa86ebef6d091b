#pragma once
/// @file exact.hpp
/// @brief Exact (brute-force) vector index: every query is scored against every stored
/// vector with a blocked, vectorised matrix product and a partial top-k.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/simd.hpp"
#include "../detail/topk.hpp"
#include "../error.hpp"
#include "../types.hpp"
#include "knn.hpp"

namespace aitl {

/**
 * @brief Exact inner-product / cosine index over float32 vectors.
 *
 * Vectors live in one contiguous buffer of panels of 16 vectors (each panel laid out
 * dimension-major: the packed operand of a matrix product, kept packed so no search repacks
 * the database). A batch is a blocked matrix product: a block of 512 stored vectors stays in
 * L2 while every tile of queries (12 with AVX-512, 6 with AVX2, 4 generic) is scored against
 * it by a register-tiled kernel chosen at run time (no -march=native needed), each tile of
 * scores then feeds a partial top-k per query (vectorised threshold skip, amortised O(1)
 * insertion). search_batch splits the work over query blocks and, for few queries, over
 * database shards whose top-k lists are merged, on std::threads. (Eigen's GEMM was measured
 * too: its vectorisation is fixed at compile time, 4-7x slower without -march=native.)
 *
 * Results are ordered by score, best first; equal scores by smaller label. A batch search
 * returns exactly k columns, padded with label -1 / score -inf when fewer than k vectors are
 * stored; search() returns min(k, size()) neighbours.
 *
 * @tparam Mutex thread policy: `default_mutex` (`exact_index`, `exact_index_mt`) or
 *         `detail::null_mutex` (`exact_index_st`).
 * @note Thread safety: with `std::shared_mutex` searches run concurrently with each other and
 *       add/remove take an exclusive lock; the `_st` variant does no locking.
 *
 * @code
 * aitl::exact_index index(384, aitl::similarity::cosine);
 * index.add({7, 8}, vectors);                  // row_matrix (2 x 384)
 * auto best = index.search(query.data(), 10);  // std::vector<aitl::neighbor>
 * auto batch = index.search_batch(queries, 75, 2);
 * @endcode
 */
template <class Mutex = default_mutex>
class basic_exact_index {
public:
    /// @param dim vector dimension (> 0). @param m inner_product or cosine.
    /// @throws config_error when dim == 0.
    explicit basic_exact_index(std::size_t dim, aitl::similarity m = aitl::similarity::inner_product)
        : dim_(dim), metric_(m) {
        if (dim == 0) throw config_error("exact_index::exact_index: dim must be positive (got 0, expected >= 1)");
    }

    basic_exact_index(const basic_exact_index& other) {
        std::shared_lock<Mutex> lock(other.mutex_);
        copy_from(other);
    }
    basic_exact_index(basic_exact_index&& other) noexcept {
        std::unique_lock<Mutex> lock(other.mutex_);
        move_from(other);
    }
    basic_exact_index& operator=(const basic_exact_index& other) {
        if (this != &other) *this = basic_exact_index(other);
        return *this;
    }
    basic_exact_index& operator=(basic_exact_index&& other) noexcept {
        if (this != &other) {
            std::unique_lock<Mutex> a(mutex_, std::defer_lock), b(other.mutex_, std::defer_lock);
            std::lock(a, b);
            move_from(other);
        }
        return *this;
    }

    /// @returns The vector dimension.
    std::size_t dim() const noexcept { return dim_; }
    /// @returns The similarity metric.
    aitl::similarity metric() const noexcept { return metric_; }

    /// @returns The number of stored vectors.
    std::size_t size() const {
        std::shared_lock<Mutex> lock(mutex_);
        return labels_.size();
    }
    bool empty() const { return size() == 0; }

    /// @returns Whether `label` is stored.
    bool contains(label_t label) const {
        std::shared_lock<Mutex> lock(mutex_);
        return slot_of_.count(label) != 0;
    }

    /// @returns The stored labels (in storage order, which removals change).
    std::vector<label_t> labels() const {
        std::shared_lock<Mutex> lock(mutex_);
        return labels_;
    }

    /// @brief Reserves room for `n` vectors in total.
    void reserve(std::size_t n) {
        std::unique_lock<Mutex> lock(mutex_);
        panels_.reserve(panels_for(n) * dim_);
        labels_.reserve(n);
        slot_of_.reserve(n);
    }

    /**
     * @brief Adds one vector per row of `vectors`, labelled `labels[i]`.
     * @throws dimension_error when labels.size() != rows, cols != dim(), or a value is NaN/inf;
     *         config_error when a label is already stored, repeated, or >= 2^63.
     *         Nothing is added when it throws.
     */
    void add(const std::vector<label_t>& labels, const Eigen::Ref<const row_matrix>& vectors) {
        static const std::string where = "exact_index::add";
        if (static_cast<Eigen::Index>(labels.size()) != vectors.rows())
            throw dimension_error(where + ": one label per vector (got " + std::to_string(labels.size()) +
                                  " labels, expected " + std::to_string(vectors.rows()) + ")");
        detail::check_vectors(where, vectors, dim_);
        std::unique_lock<Mutex> lock(mutex_);
        check_new_labels(where, labels);
        const std::size_t first = labels_.size(), n = labels.size();
        panels_.resize(panels_for(first + n) * dim_);  // zero-filled; may throw before any change
        labels_.reserve(first + n);
        std::vector<float> tmp(dim_);
        for (std::size_t i = 0; i < n; ++i) {
            const float* src = vectors.row(static_cast<Eigen::Index>(i)).data();
            if (metric_ == aitl::similarity::cosine) {
                std::copy(src, src + dim_, tmp.begin());
                detail::simd::normalize(tmp.data(), dim_);
                src = tmp.data();
            }
            write_column(first + i, src);
            labels_.push_back(labels[i]);
            slot_of_.emplace(labels[i], first + i);
        }
    }

    /// @brief Adds one vector of dim() floats.
    /// @throws as the batch add.
    void add(label_t label, const float* vector) {
        add(std::vector<label_t>{label},
            Eigen::Map<const row_matrix>(vector, 1, static_cast<Eigen::Index>(dim_)));
    }

    /// @brief Adds one vector; its size must equal dim().
    void add(label_t label, const std::vector<float>& vector) {
        if (vector.size() != dim_)
            throw dimension_error("exact_index::add: wrong dimension (got " + std::to_string(vector.size()) +
                                  ", expected " + std::to_string(dim_) + ")");
        add(label, vector.data());
    }

    /// @brief Removes the vector labelled `label`.
    /// @throws not_found when it is not stored.
    void remove(label_t label) {
        std::unique_lock<Mutex> lock(mutex_);
        auto it = slot_of_.find(label);
        if (it == slot_of_.end())
            throw not_found("exact_index::remove: unknown label (got " + std::to_string(label) +
                            ", expected a stored label)");
        const std::size_t slot = it->second, last = labels_.size() - 1;
        slot_of_.erase(it);
        if (slot != last) {
            for (std::size_t p = 0; p < dim_; ++p) at(slot, p) = at(last, p);
            labels_[slot] = labels_[last];
            slot_of_[labels_[slot]] = slot;
        }
        for (std::size_t p = 0; p < dim_; ++p) at(last, p) = 0.0f;
        labels_.pop_back();
        panels_.resize(panels_for(labels_.size()) * dim_);
    }

    /// @brief Removes every vector.
    void clear() {
        std::unique_lock<Mutex> lock(mutex_);
        panels_.clear();
        labels_.clear();
        slot_of_.clear();
    }

    /// @returns The stored vector of `label` (normalised under cosine).
    /// @throws not_found when it is not stored.
    std::vector<float> vector(label_t label) const {
        std::shared_lock<Mutex> lock(mutex_);
        auto it = slot_of_.find(label);
        if (it == slot_of_.end())
            throw not_found("exact_index::vector: unknown label (got " + std::to_string(label) +
                            ", expected a stored label)");
        std::vector<float> out(dim_);
        for (std::size_t p = 0; p < dim_; ++p) out[p] = at(it->second, p);
        return out;
    }

    /**
     * @brief The k best stored vectors for one query of dim() floats.
     * @returns min(k, size()) neighbours, best first.
     * @throws config_error when k == 0; dimension_error when the query holds NaN/inf.
     */
    std::vector<neighbor> search(const float* query, std::size_t k) const {
        static const std::string where = "exact_index::search";
        detail::check_k(where, k);
        detail::check_vector(where, query, dim_);
        std::vector<float> q(query, query + dim_);
        if (metric_ == aitl::similarity::cosine) detail::simd::normalize(q.data(), dim_);
        const auto& kern = detail::simd::kernels();
        std::shared_lock<Mutex> lock(mutex_);
        const std::size_t n = labels_.size(), np = panels_for(n);
        detail::topk best(std::min(k, n));
        std::vector<float> scores(block_panels * simd_width);
        for (std::size_t p0 = 0; p0 < np; p0 += block_panels) {
            const std::size_t cnt = std::min(block_panels, np - p0);
            kern.row(q.data(), dim_, panel_data(p0), cnt, scores.data());
            const std::size_t base = p0 * simd_width, valid = std::min(cnt * simd_width, n - base);
            best.scan(scores.data(), valid, [&](std::size_t i) { return labels_[base + i]; }, kern.find_ge);
        }
        return best.take_sorted();
    }

    /// @brief search() with a query given as a vector (its size must equal dim()).
    std::vector<neighbor> search(const std::vector<float>& query, std::size_t k) const {
        if (query.size() != dim_)
            throw dimension_error("exact_index::search: wrong dimension (got " + std::to_string(query.size()) +
                                  ", expected " + std::to_string(dim_) + ")");
        return search(query.data(), k);
    }

    /**
     * @brief The k best stored vectors for each row of `queries`.
     * @param threads worker threads, 0 = all hardware threads.
     * @returns labels and scores, (queries.rows() x min(k, max(size(), 1))), padded with -1 / -inf
     *          where fewer are found: a k larger than the index allocates nothing more.
     * @throws config_error when k == 0; dimension_error on a wrong width or NaN/inf.
     */
    knn_result search_batch(const Eigen::Ref<const row_matrix>& queries, std::size_t k,
                            std::size_t threads = 0) const {
        static const std::string where = "exact_index::search_batch";
        detail::check_k(where, k);
        k = std::min(k, std::max<std::size_t>(size(), 1));
        detail::check_vectors(where, queries, dim_, "queries");
        const std::size_t nq = static_cast<std::size_t>(queries.rows());
        knn_result out;
        out.labels.resize(queries.rows(), static_cast<Eigen::Index>(k));
        out.scores.resize(queries.rows(), static_cast<Eigen::Index>(k));
        if (nq == 0) return out;

        row_matrix normalised;
        const float* qdata = queries.data();
        Eigen::Index qstride = queries.outerStride();
        if (metric_ == aitl::similarity::cosine) {
            normalised = queries;
            for (Eigen::Index i = 0; i < normalised.rows(); ++i) detail::simd::normalize(normalised.row(i).data(), dim_);
            qdata = normalised.data();
            qstride = normalised.outerStride();
        }

        const auto& kern = detail::simd::kernels();
        const std::size_t R = kern.rows, tiles = (nq + R - 1) / R;
        // Queries packed once, tile by tile ([p][R] per tile of R queries).
        std::vector<float> packed(tiles * R * dim_);
        for (std::size_t t = 0; t < tiles; ++t)
            detail::simd::pack_queries(qdata + t * R * static_cast<std::size_t>(qstride), static_cast<std::size_t>(qstride),
                                       std::min(R, nq - t * R), dim_, R, packed.data() + t * R * dim_);

        std::shared_lock<Mutex> lock(mutex_);
        const std::size_t n = labels_.size(), np = panels_for(n);
        // A database block (block_panels panels) stays in L2 while every query tile of a query
        // block streams past it: the database is read from memory once per query block.
        threads = detail::resolve_threads(threads);
        if (static_cast<double>(nq) * static_cast<double>(n) * static_cast<double>(dim_) < 4e6) threads = 1;
        // Work items: query blocks, so that every thread streams the database once per block
        // (no merge); with fewer query tiles than threads, database chunks whose top-k lists
        // are merged at the end.
        std::size_t tiles_per_qb = query_block / R;
        if (threads > 1) tiles_per_qb = std::max<std::size_t>(1, std::min(tiles_per_qb, (tiles + threads - 1) / threads));
        const std::size_t n_qb = (tiles + tiles_per_qb - 1) / tiles_per_qb;
        std::size_t n_chunks = 1;
        if (threads > 1 && n_qb < threads)
            n_chunks = std::max<std::size_t>(1, std::min((threads + n_qb - 1) / n_qb, np / block_panels));
        const std::size_t n_tasks = n_qb * n_chunks;

        std::vector<std::vector<detail::topk>> partial(n_tasks);
        std::unique_ptr<std::atomic<std::size_t>[]> remaining(new std::atomic<std::size_t>[n_qb]);
        for (std::size_t b = 0; b < n_qb; ++b) remaining[b] = n_chunks;

        detail::parallel_tasks(n_tasks, threads, [&](std::size_t task) {
            const std::size_t qb = task / n_chunks, chunk = task % n_chunks;
            const std::size_t t0 = qb * tiles_per_qb, t1 = std::min(tiles, t0 + tiles_per_qb);
            const std::size_t q0 = t0 * R, rows = std::min(nq, t1 * R) - q0;
            std::vector<detail::topk>& heaps = partial[task];
            heaps.assign(rows, detail::topk(std::min(k, n)));
            const std::size_t ld = block_panels * simd_width;
            std::vector<float> scores(R * ld);
            const std::size_t pbeg = np * chunk / n_chunks, pend = np * (chunk + 1) / n_chunks;
            for (std::size_t p0 = pbeg; p0 < pend; p0 += block_panels) {
                const std::size_t cnt = std::min(block_panels, pend - p0);
                const std::size_t base = p0 * simd_width, valid = std::min(cnt * simd_width, n - base);
                const float* x = panel_data(p0);
                for (std::size_t t = t0; t < t1; ++t) {
                    kern.tile(packed.data() + t * R * dim_, dim_, x, cnt, scores.data(), ld);
                    const std::size_t tr = std::min(R, nq - t * R);
                    for (std::size_t r = 0; r < tr; ++r)
                        heaps[(t - t0) * R + r].scan(scores.data() + r * ld, valid,
                                                     [&](std::size_t i) { return labels_[base + i]; }, kern.find_ge);
                }
            }
            if (remaining[qb].fetch_sub(1, std::memory_order_acq_rel) != 1) return;
            // Last chunk of this query block: merge the chunks and write the rows.
            auto& merged = partial[qb * n_chunks];
            for (std::size_t c = 1; c < n_chunks; ++c) {
                auto& other = partial[qb * n_chunks + c];
                for (std::size_t r = 0; r < rows; ++r) merged[r].merge(other[r]);
                std::vector<detail::topk>().swap(other);
            }
            for (std::size_t r = 0; r < rows; ++r)
                detail::write_row(out, static_cast<Eigen::Index>(q0 + r), merged[r].take_sorted());
        });
        return out;
    }

private:
    static constexpr std::size_t simd_width = detail::simd::panel_width;
    static constexpr std::size_t block_panels = 32;   // database vectors per block: 512
    static constexpr std::size_t query_block = 1152;  // queries per block (a multiple of 4, 6, 12)

    struct alignas(64) panel_row {
        float v[detail::simd::panel_width];
    };

    static std::size_t panels_for(std::size_t n) noexcept { return (n + simd_width - 1) / simd_width; }

    float& at(std::size_t slot, std::size_t p) noexcept {
        return panels_[(slot / simd_width) * dim_ + p].v[slot % simd_width];
    }
    const float& at(std::size_t slot, std::size_t p) const noexcept {
        return panels_[(slot / simd_width) * dim_ + p].v[slot % simd_width];
    }
    const float* panel_data(std::size_t panel) const noexcept { return panels_[panel * dim_].v; }
    void write_column(std::size_t slot, const float* v) noexcept {
        for (std::size_t p = 0; p < dim_; ++p) at(slot, p) = v[p];
    }

    void check_new_labels(const std::string& where, const std::vector<label_t>& labels) const {
        std::unordered_set<label_t> batch;
        batch.reserve(labels.size());
        for (label_t l : labels) {
            detail::check_label(where, l);
            if (slot_of_.count(l) != 0 || !batch.insert(l).second)
                throw config_error(where + ": duplicate label (got " + std::to_string(l) +
                                   ", expected a label not stored yet)");
        }
    }

    void copy_from(const basic_exact_index& o) {
        dim_ = o.dim_;
        metric_ = o.metric_;
        panels_ = o.panels_;
        labels_ = o.labels_;
        slot_of_ = o.slot_of_;
    }
    void move_from(basic_exact_index& o) noexcept {
        dim_ = o.dim_;
        metric_ = o.metric_;
        panels_ = std::move(o.panels_);
        labels_ = std::move(o.labels_);
        slot_of_ = std::move(o.slot_of_);
        o.panels_.clear();
        o.labels_.clear();
        o.slot_of_.clear();
    }

    std::size_t dim_ = 0;
    aitl::similarity metric_ = aitl::similarity::inner_product;
    std::vector<panel_row> panels_;  // panel c, dimension p at [c * dim_ + p]; unused lanes are 0
    std::vector<label_t> labels_;    // slot -> label
    std::unordered_map<label_t, std::size_t> slot_of_;
    mutable Mutex mutex_;
};

/// @brief Exact index, thread-safe (shared mutex).
using exact_index = basic_exact_index<default_mutex>;
/// @brief Same as exact_index.
using exact_index_mt = basic_exact_index<default_mutex>;
/// @brief Exact index without locking.
using exact_index_st = basic_exact_index<detail::null_mutex>;

}  // namespace aitl
