#pragma once
// Internals of retrieval/bm25.hpp: per-thread scratch space, top-k selection with the
// deterministic tie-break (higher score first, then lower internal document number), the
// delta-varint forward index codec and the read-lock helper of the thread policy.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace aitl {
namespace detail {

template <class M, class = void>
struct has_lock_shared : std::false_type {};
template <class M>
struct has_lock_shared<M, std::void_t<decltype(std::declval<M&>().lock_shared())>> : std::true_type {};

// Shared (reader) lock when the policy mutex has one, exclusive otherwise (e.g. std::mutex).
template <class M>
class read_guard {
public:
    explicit read_guard(M& m) : m_(m) {
        if constexpr (has_lock_shared<M>::value)
            m_.lock_shared();
        else
            m_.lock();
    }
    ~read_guard() {
        if constexpr (has_lock_shared<M>::value)
            m_.unlock_shared();
        else
            m_.unlock();
    }
    read_guard(const read_guard&) = delete;
    read_guard& operator=(const read_guard&) = delete;

private:
    M& m_;
};

struct scored_doc {
    float score;
    std::uint32_t doc;
};

// a ranks before b
inline bool ranks_before(const scored_doc& a, const scored_doc& b) noexcept {
    return a.score > b.score || (a.score == b.score && a.doc < b.doc);
}

// Keeps the k best scored_docs (a heap whose front is the worst kept).
class bm25_heap {
public:
    void reset(std::size_t k) {
        k_ = k;
        heap_.clear();
    }
    bool full() const noexcept { return heap_.size() >= k_; }
    float threshold() const noexcept { return heap_.front().score; }
    void push(float score, std::uint32_t doc) {
        scored_doc s{score, doc};
        if (heap_.size() < k_) {
            heap_.push_back(s);
            std::push_heap(heap_.begin(), heap_.end(), ranks_before);
        } else if (ranks_before(s, heap_.front())) {
            std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
            heap_.back() = s;
            std::push_heap(heap_.begin(), heap_.end(), ranks_before);
        }
    }
    std::vector<scored_doc>& sorted() {
        std::sort_heap(heap_.begin(), heap_.end(), ranks_before);
        return heap_;
    }

private:
    std::size_t k_ = 0;
    std::vector<scored_doc> heap_;
};

// One query term's posting list as the scoring kernel sees it.
struct scored_list {
    const std::uint32_t* docs;   // ascending document numbers
    const float* impacts;        // tf / (tf + norm(doc)), 0 for removed documents
    std::size_t size;
    float weight;                // idf * (k1 + 1) * query-term factor
    float bound;                 // weight * max impact
};

// Per-thread working memory of a search: accumulator over all documents (kept all-zero
// between searches), touched/candidate lists, and small buffers.
struct bm25_scratch {
    std::vector<float> acc;
    std::vector<std::uint32_t> touched;
    std::vector<std::uint32_t> candidates;
    std::vector<float> values;
    std::vector<std::uint32_t> raw_terms;
    std::vector<scored_list> lists;
    std::vector<std::uint32_t> list_df;
    std::vector<double> rest;  // rest[i] = sum of bounds of lists i..end
    std::string norm_buf, stem_buf;
    bm25_heap best;
    bool dirty = false;
};

// k-th largest value of acc over the given docs (k >= 1, docs.size() >= k).
inline float kth_largest(const std::vector<float>& acc, const std::vector<std::uint32_t>& docs, std::size_t k,
                         std::vector<float>& buf) {
    buf.resize(docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) buf[i] = acc[docs[i]];
    std::nth_element(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(k - 1), buf.end(), std::greater<float>());
    return buf[k - 1];
}

// First position >= from with list[pos] >= target (exponential then binary search).
inline std::size_t gallop(const std::uint32_t* list, std::size_t from, std::size_t n, std::uint32_t target) noexcept {
    if (from >= n || list[from] >= target) return from;
    std::size_t step = 1, lo = from, hi = from + 1;
    while (hi < n && list[hi] < target) {
        lo = hi;
        step *= 2;
        hi = from + step;
    }
    if (hi > n) hi = n;
    return static_cast<std::size_t>(std::lower_bound(list + lo + 1, list + hi, target) - list);
}

inline void put_varint(std::vector<std::uint8_t>& out, std::uint32_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(v));
}

// Calls fn(term) for the delta-varint encoded sorted term ids in [p, end).
template <class Fn>
void for_each_varint_delta(const std::uint8_t* p, const std::uint8_t* end, Fn&& fn) {
    std::uint32_t prev = 0;
    while (p < end) {
        std::uint32_t v = 0;
        int shift = 0;
        while (*p & 0x80) {
            v |= static_cast<std::uint32_t>(*p++ & 0x7F) << shift;
            shift += 7;
        }
        v |= static_cast<std::uint32_t>(*p++) << shift;
        prev += v;
        fn(prev);
    }
}

// acc + w * impact, rounded the same way on every code path: fused where the target has
// FMA (compilers would otherwise fuse some loops and not others), plain otherwise.
inline float add_product(float acc, float w, float impact) noexcept {
#if defined(FP_FAST_FMAF) || defined(__FP_FAST_FMAF)
    return std::fma(w, impact, acc);
#else
    return acc + w * impact;
#endif
}

// Exact top-k of sum over lists of weight * impact, term-at-a-time in the given list order
// (so every strategy adds the same floats in the same order and returns the same ranking).
// While few documents are touched it tracks them (no full scan). With `prune`, once the k-th
// best partial score exceeds the bounds of all remaining lists (MaxScore), only candidates
// that can still enter the top k are finished, by galloping search in the remaining lists.
inline const std::vector<scored_doc>& bm25_top_k(bm25_scratch& sc, std::size_t n_docs, std::size_t k, bool prune) {
    if (sc.dirty) std::fill(sc.acc.begin(), sc.acc.end(), 0.0f);
    if (sc.acc.size() < n_docs) sc.acc.resize(n_docs, 0.0f);
    sc.dirty = true;
    sc.touched.clear();
    float* acc = sc.acc.data();
    const std::size_t m = sc.lists.size();
    prune = prune && m > 1;
    if (prune) {
        sc.rest.assign(m + 1, 0.0);
        for (std::size_t i = m; i-- > 0;) sc.rest[i] = sc.rest[i + 1] + sc.lists[i].bound;
    }
    constexpr double margin = 1.0 - 1e-4;  // float rounding of sums and bounds
    const std::size_t cap = std::max<std::size_t>(n_docs / 8, k);
    bool tracking = true, pruned = false;
    float theta = 0.0f;
    std::size_t i = 0;
    for (; i < m; ++i) {
        const scored_list& l = sc.lists[i];
        if (prune && tracking && i > 0 && sc.touched.size() >= k && l.size > sc.touched.size()) {
            theta = std::max(theta, kth_largest(sc.acc, sc.touched, k, sc.values));
            if (sc.rest[i] < theta * margin) {
                pruned = true;
                break;
            }
        }
        const float w = l.weight;
        if (tracking) {
            for (std::size_t j = 0; j < l.size; ++j) {
                const std::uint32_t d = l.docs[j];
                const float imp = l.impacts[j];
                float& a = acc[d];
                if (a == 0.0f && imp > 0.0f) sc.touched.push_back(d);  // weights are > 0
                a = add_product(a, w, imp);
            }
            if (sc.touched.size() > cap) tracking = false;
        } else {
            for (std::size_t j = 0; j < l.size; ++j) {
                float& a = acc[l.docs[j]];
                a = add_product(a, w, l.impacts[j]);
            }
        }
    }
    if (pruned) {
        sc.candidates.clear();
        for (std::uint32_t d : sc.touched)
            if (acc[d] + sc.rest[i] >= theta * margin) sc.candidates.push_back(d);
        std::sort(sc.candidates.begin(), sc.candidates.end());
        for (std::size_t j = i; j < m && !sc.candidates.empty(); ++j) {
            const scored_list& l = sc.lists[j];
            std::size_t pos = 0;
            for (std::uint32_t d : sc.candidates) {
                pos = gallop(l.docs, pos, l.size, d);
                if (pos == l.size) break;
                if (l.docs[pos] == d) acc[d] = add_product(acc[d], l.weight, l.impacts[pos]);
            }
            if (j + 1 < m) {
                if (sc.candidates.size() > k) theta = std::max(theta, kth_largest(sc.acc, sc.candidates, k, sc.values));
                const double rest = sc.rest[j + 1], lo = theta * margin;
                sc.candidates.erase(std::remove_if(sc.candidates.begin(), sc.candidates.end(),
                                                   [&](std::uint32_t d) { return acc[d] + rest < lo; }),
                                    sc.candidates.end());
            }
        }
    }
    sc.best.reset(k);
    if (pruned || tracking) {
        for (std::uint32_t d : pruned ? sc.candidates : sc.touched) sc.best.push(acc[d], d);
        for (std::uint32_t d : sc.touched) acc[d] = 0.0f;
    } else {
        // documents come in order, so an equal score ranks after: only v > threshold enters;
        // blocks of 16 are tested at once (vectorised) and most are skipped
        float threshold = 0.0f;
        auto visit = [&](std::size_t d) {
            const float v = acc[d];
            if (v > threshold) {
                sc.best.push(v, static_cast<std::uint32_t>(d));
                if (sc.best.full()) threshold = sc.best.threshold();
            }
        };
        std::size_t d = 0;
        for (; d + 16 <= n_docs; d += 16) {
            int above = 0;
            for (std::size_t j = 0; j < 16; ++j) above |= acc[d + j] > threshold;
            if (above)
                for (std::size_t j = 0; j < 16; ++j) visit(d + j);
        }
        for (; d < n_docs; ++d) visit(d);
        std::fill(acc, acc + n_docs, 0.0f);
    }
    sc.dirty = false;
    return sc.best.sorted();
}

}  // namespace detail
}  // namespace aitl
