#pragma once
// Internals shared by the vector indexes: bounded top-k selection with deterministic
// tie-breaking, a small parallel-for over tasks, and input validation.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../retrieval/knn.hpp"
#include "../types.hpp"

namespace aitl::detail {

/// Order of results: higher score first; equal scores by smaller label first.
inline bool better(float sa, label_t la, float sb, label_t lb) noexcept {
    return sa > sb || (sa == sb && la < lb);
}

/// Keeps the k best (score, label) pairs seen so far (ties broken by smaller label).
/// Candidates that beat the current threshold are appended to a buffer of up to 2k pairs;
/// a full buffer is cut back to its k best (nth_element), which raises the threshold to the
/// k-th best pair. Amortised O(1) per accepted candidate.
class topk {
public:
    explicit topk(std::size_t k = 0) { reset(k); }

    void reset(std::size_t k) {
        k_ = k;
        buf_.clear();
        thr_score_ = -std::numeric_limits<float>::infinity();
        thr_label_ = std::numeric_limits<label_t>::max();
        have_thr_ = false;
    }
    std::size_t k() const noexcept { return k_; }

    /// Scores below this cannot enter (-inf until k pairs were kept).
    float threshold() const noexcept { return thr_score_; }

    void push(float score, label_t label) {
        if (k_ == 0 || std::isnan(score)) return;
        if (have_thr_ && !better(score, label, thr_score_, thr_label_)) return;
        buf_.push_back(neighbor{label, score});
        if (buf_.size() >= 2 * k_) compact();
    }

    /// Offers scores[0, n), the label of scores[i] being label_of(i). `find_ge(s, n, t)`
    /// returns the index of the first s[i] >= t (or n): a vectorised skip over the scores
    /// that cannot enter.
    template <class LabelOf, class FindGe>
    void scan(const float* scores, std::size_t n, LabelOf&& label_of, FindGe&& find_ge) {
        if (k_ == 0) return;
        std::size_t i = 0;
        while (i < n) {
            i += find_ge(scores + i, n - i, thr_score_);
            if (i >= n) break;
            push(scores[i], label_of(i));
            ++i;
        }
    }

    /// scan() with a scalar skip.
    template <class LabelOf>
    void scan(const float* scores, std::size_t n, LabelOf&& label_of) {
        scan(scores, n, std::forward<LabelOf>(label_of), [](const float* s, std::size_t m, float t) {
            std::size_t j = 0;
            while (j < m && s[j] < t) ++j;
            return j;
        });
    }

    /// Moves the kept pairs out, best first (at most k); the object is left empty.
    std::vector<neighbor> take_sorted() {
        if (buf_.size() > k_) compact();
        std::vector<neighbor> out;
        out.swap(buf_);
        std::sort(out.begin(), out.end(), order);
        reset(k_);
        return out;
    }

    /// Offers every pair kept by `other`.
    void merge(const topk& other) {
        for (const auto& n : other.buf_) push(n.score, n.label);
    }

private:
    static bool order(const neighbor& a, const neighbor& b) noexcept {
        return better(a.score, a.label, b.score, b.label);
    }
    void compact() {
        std::nth_element(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(k_ - 1), buf_.end(), order);
        buf_.resize(k_);
        const neighbor& kth = buf_[k_ - 1];  // the worst kept: nth_element put it at k - 1
        thr_score_ = kth.score;
        thr_label_ = kth.label;
        have_thr_ = true;
    }

    std::size_t k_ = 0;
    std::vector<neighbor> buf_;
    float thr_score_;
    label_t thr_label_;
    bool have_thr_ = false;
};

/// Writes `found` (best first) into row `row` of `out`, padding with -1 / -inf up to k.
inline void write_row(knn_result& out, Eigen::Index row, const std::vector<neighbor>& found) {
    const Eigen::Index k = out.labels.cols();
    Eigen::Index j = 0;
    for (; j < k && j < static_cast<Eigen::Index>(found.size()); ++j) {
        out.labels(row, j) = static_cast<std::int64_t>(found[static_cast<std::size_t>(j)].label);
        out.scores(row, j) = found[static_cast<std::size_t>(j)].score;
    }
    for (; j < k; ++j) {
        out.labels(row, j) = no_label;
        out.scores(row, j) = -std::numeric_limits<float>::infinity();
    }
}

/// 0 -> the hardware's thread count (at least 1).
inline std::size_t resolve_threads(std::size_t threads) noexcept {
    if (threads == 0) threads = std::thread::hardware_concurrency();
    return threads == 0 ? 1 : threads;
}

/// Runs fn(task) for task in [0, n_tasks) on up to `threads` threads (the caller's thread
/// included), handing tasks out one at a time. The first exception thrown is rethrown.
template <class Fn>
void parallel_tasks(std::size_t n_tasks, std::size_t threads, Fn&& fn) {
    threads = std::min(resolve_threads(threads), n_tasks);
    if (threads <= 1) {
        for (std::size_t t = 0; t < n_tasks; ++t) fn(t);
        return;
    }
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&] {
        for (;;) {
            const std::size_t t = next.fetch_add(1);
            if (t >= n_tasks || failed.load(std::memory_order_relaxed)) return;
            try {
                fn(t);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                failed = true;
            }
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (std::size_t i = 0; i + 1 < threads; ++i) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

/// Index of the first non-finite value of v[0, n), or n.
inline std::size_t first_non_finite(const float* v, std::size_t n) noexcept {
    float probe = 0.0f;  // x * 0 is NaN exactly when x is NaN or inf
    for (std::size_t i = 0; i < n; ++i) probe += v[i] * 0.0f;
    if (probe == 0.0f) return n;
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(v[i])) return i;
    return n;
}

/// Checks a block of vectors: `dim` columns, finite values. `where` is "type::method".
inline void check_vectors(const std::string& where, const Eigen::Ref<const row_matrix>& m,
                          std::size_t dim, const char* what = "vectors") {
    if (static_cast<std::size_t>(m.cols()) != dim)
        throw dimension_error(where + ": " + what + " have the wrong dimension (got " +
                              std::to_string(m.cols()) + ", expected " + std::to_string(dim) + ")");
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
        const std::size_t j = first_non_finite(m.row(i).data(), dim);
        if (j != dim)
            throw dimension_error(where + ": row " + std::to_string(i) + " of the " + what +
                                  " holds NaN or inf (got " + std::to_string(m(i, Eigen::Index(j))) +
                                  " at column " + std::to_string(j) + ", expected finite values)");
    }
}

/// Checks one vector of length dim (a raw pointer: the caller vouches for the length).
inline void check_vector(const std::string& where, const float* v, std::size_t dim) {
    const std::size_t j = first_non_finite(v, dim);
    if (j != dim)
        throw dimension_error(where + ": the vector holds NaN or inf (got " + std::to_string(v[j]) +
                              " at column " + std::to_string(j) + ", expected finite values)");
}

/// k == 0 -> config_error.
inline void check_k(const std::string& where, std::size_t k) {
    if (k == 0) throw config_error(where + ": k must be positive (got 0, expected k >= 1)");
}

/// label > max_label -> config_error.
inline void check_label(const std::string& where, label_t label) {
    if (label > max_label)
        throw config_error(where + ": label out of range (got " + std::to_string(label) +
                           ", expected at most " + std::to_string(max_label) + ")");
}

}  // namespace aitl::detail
