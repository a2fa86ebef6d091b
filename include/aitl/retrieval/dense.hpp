#pragma once
/// @file dense.hpp
/// @brief Dense retriever: an encoder turns texts into vectors, a vector index finds the
/// nearest ones; string document ids are mapped to the index's integer labels.

#include <cstddef>
#include <iterator>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../concepts.hpp"
#include "../config.hpp"
#include "../detail/topk.hpp"
#include "../error.hpp"
#include "../types.hpp"
#include "knn.hpp"

namespace aitl {

namespace detail {
template <class R, class = void>
struct is_document_range : std::false_type {};
template <class R>
struct is_document_range<R, void_t<decltype(std::begin(std::declval<const R&>())),
                                   decltype(std::end(std::declval<const R&>()))>>
    : std::is_convertible<decltype(*std::begin(std::declval<const R&>())), const document&> {};
}  // namespace detail

/**
 * @brief Retriever (see concepts.hpp) over dense vectors.
 *
 * Documents get consecutive uint64 labels in the index; ids and labels are mapped both
 * ways. Batch adds encode texts in chunks of `batch_size` and insert them with one index
 * call. Scores are the index's (inner product or cosine).
 *
 * @tparam Encoder an encoder (`dim()`, `encode(texts)`), e.g. hashed_encoder, callback_encoder.
 * @tparam Index a vector index with `dim()`, `add(labels, row_matrix)`, `remove(label)`,
 *         `search(const float*, k)` and `search_batch(row_matrix, k, threads)`:
 *         exact_index or hnsw_index.
 * @tparam Mutex guards the id maps (`default_mutex` or `detail::null_mutex`); the index has
 *         its own policy.
 * @note Thread safety: searches run concurrently; add/update/remove are exclusive with the
 *       default Mutex. Encoding runs outside the lock, so the encoder must tolerate concurrent
 *       encode() calls when several threads search at once.
 *
 * @code
 * aitl::dense_retriever<aitl::callback_encoder, aitl::exact_index> dense(
 *     encoder, aitl::exact_index(encoder.dim(), aitl::similarity::cosine));
 * dense.add(kb);                          // any range of aitl::document
 * aitl::hits top = dense.search("how do I reset my password", 75);
 * @endcode
 */
template <class Encoder, class Index, class Mutex = default_mutex>
class dense_retriever {
public:
    /// @throws dimension_error when encoder.dim() != index.dim(); config_error when batch_size == 0.
    dense_retriever(Encoder encoder, Index index, std::size_t batch_size = 256)
        : encoder_(std::move(encoder)), index_(std::move(index)), batch_size_(batch_size) {
        require_encoder<Encoder>();
        if (static_cast<std::size_t>(encoder_.dim()) != index_.dim())
            throw dimension_error("dense_retriever::dense_retriever: encoder and index dimensions differ (got " +
                                  std::to_string(encoder_.dim()) + ", expected " + std::to_string(index_.dim()) + ")");
        if (batch_size_ == 0)
            throw config_error("dense_retriever::dense_retriever: batch_size must be positive (got 0, expected >= 1)");
    }

    dense_retriever(dense_retriever&& other) noexcept(std::is_nothrow_move_constructible<Encoder>::value &&
                                                      std::is_nothrow_move_constructible<Index>::value)
        : encoder_(std::move(other.encoder_)),
          index_(std::move(other.index_)),
          batch_size_(other.batch_size_),
          next_label_(other.next_label_),
          label_of_(std::move(other.label_of_)),
          id_of_(std::move(other.id_of_)) {}
    dense_retriever(const dense_retriever&) = delete;
    dense_retriever& operator=(const dense_retriever&) = delete;

    /// @returns The encoder.
    const Encoder& encoder() const noexcept { return encoder_; }
    /// @returns The index (reading it while another thread adds is the index's business).
    const Index& index() const noexcept { return index_; }
    /// @returns The index, for its settings (e.g. hnsw_index::set_ef). Adding or removing
    /// vectors through it bypasses the id maps: use the retriever's add/remove instead.
    Index& index() noexcept { return index_; }
    /// @returns The vector dimension.
    std::size_t dim() const { return index_.dim(); }

    /// @returns The number of documents.
    std::size_t size() const {
        std::shared_lock<Mutex> lock(mutex_);
        return label_of_.size();
    }

    /// @returns Whether `id` is indexed.
    bool contains(std::string_view id) const {
        std::shared_lock<Mutex> lock(mutex_);
        return label_of_.count(std::string(id)) != 0;
    }

    /// @brief Encodes and indexes one text. @throws config_error on an empty or duplicate id.
    void add(std::string_view id, std::string_view text) {
        add(std::vector<std::string>{std::string(id)}, std::vector<std::string>{std::string(text)});
    }

    /// @brief Indexes `doc.indexed_text()` (title and text) under `doc.id`.
    void add(const document& doc) { add(doc.id, doc.indexed_text()); }

    /**
     * @brief Encodes `texts` in batches and indexes them under `ids`.
     * @throws config_error when the sizes differ or an id is empty, repeated or already
     *         indexed; dimension_error when the encoder misbehaves. Nothing is added when it throws.
     */
    void add(const std::vector<std::string>& ids, const std::vector<std::string>& texts) {
        static const std::string where = "dense_retriever::add";
        if (ids.size() != texts.size())
            throw config_error(where + ": one text per id (got " + std::to_string(texts.size()) +
                               " texts, expected " + std::to_string(ids.size()) + ")");
        {
            std::shared_lock<Mutex> lock(mutex_);
            check_new_ids(where, ids);
        }
        const row_matrix vectors = encode_all(texts);
        std::unique_lock<Mutex> lock(mutex_);
        check_new_ids(where, ids);  // again: another thread may have added meanwhile
        std::vector<label_t> labels(ids.size());
        for (std::size_t i = 0; i < ids.size(); ++i) labels[i] = next_label_ + i;
        index_.add(labels, vectors);
        next_label_ += ids.size();
        for (std::size_t i = 0; i < ids.size(); ++i) {
            label_of_.emplace(ids[i], labels[i]);
            id_of_.emplace(labels[i], ids[i]);
        }
    }

    /// @brief Indexes every document of a range of aitl::document (a std::vector, a
    /// knowledge_base, ...), encoding `indexed_text()` in batches.
    template <class Documents, std::enable_if_t<detail::is_document_range<Documents>::value, int> = 0>
    void add(const Documents& docs) {
        std::vector<std::string> ids, texts;
        for (const document& d : docs) {
            ids.push_back(d.id);
            texts.push_back(d.indexed_text());
        }
        add(ids, texts);
    }

    /// @brief Re-encodes the text of an indexed document. @throws not_found for an unknown id.
    void update(std::string_view id, std::string_view text) {
        const std::string key(id);
        {
            std::shared_lock<Mutex> lock(mutex_);
            if (!label_of_.count(key)) throw unknown("dense_retriever::update", key);
        }
        const row_matrix v = encode_all(std::vector<std::string>{std::string(text)});
        std::unique_lock<Mutex> lock(mutex_);
        auto it = label_of_.find(key);
        if (it == label_of_.end()) throw unknown("dense_retriever::update", key);
        const label_t fresh = next_label_;
        index_.add(std::vector<label_t>{fresh}, v);
        ++next_label_;
        index_.remove(it->second);
        id_of_.erase(it->second);
        id_of_.emplace(fresh, key);
        it->second = fresh;
    }

    /// @brief Removes a document. @throws not_found for an unknown id.
    void remove(std::string_view id) {
        std::unique_lock<Mutex> lock(mutex_);
        auto it = label_of_.find(std::string(id));
        if (it == label_of_.end()) throw unknown("dense_retriever::remove", std::string(id));
        index_.remove(it->second);
        id_of_.erase(it->second);
        label_of_.erase(it);
    }

    /**
     * @brief The k documents nearest to `query`, best first.
     * @throws config_error when k == 0.
     */
    hits search(std::string_view query, std::size_t k) const {
        detail::check_k("dense_retriever::search", k);
        const row_matrix q = encode_all(std::vector<std::string>{std::string(query)});
        std::shared_lock<Mutex> lock(mutex_);
        return to_hits(index_.search(q.row(0).data(), k));
    }

    /**
     * @brief search() for every query: the queries are encoded in batches, then searched on
     * `threads` threads (0 = all).
     * @throws config_error when k == 0.
     */
    std::vector<hits> search_batch(const std::vector<std::string>& queries, std::size_t k,
                                   std::size_t threads = 0) const {
        detail::check_k("dense_retriever::search_batch", k);
        std::vector<hits> out(queries.size());
        if (queries.empty()) return out;
        const row_matrix q = encode_all(queries);
        std::shared_lock<Mutex> lock(mutex_);
        const knn_result r = index_.search_batch(q, k, threads);
        for (Eigen::Index i = 0; i < r.labels.rows(); ++i) {
            hits& h = out[static_cast<std::size_t>(i)];
            h.reserve(static_cast<std::size_t>(r.labels.cols()));
            for (Eigen::Index j = 0; j < r.labels.cols(); ++j) {
                if (r.labels(i, j) < 0) break;
                auto it = id_of_.find(static_cast<label_t>(r.labels(i, j)));
                if (it != id_of_.end()) h.push_back(hit{it->second, r.scores(i, j)});
            }
        }
        return out;
    }

private:
    static not_found unknown(const std::string& where, const std::string& id) {
        return not_found(where + ": unknown id (got \"" + id + "\", expected an indexed document id)");
    }

    void check_new_ids(const std::string& where, const std::vector<std::string>& ids) const {
        std::unordered_set<std::string_view> batch;
        batch.reserve(ids.size());
        for (const auto& id : ids) {
            if (id.empty()) throw config_error(where + ": empty id (got \"\", expected a non-empty id)");
            if (label_of_.count(id) != 0 || !batch.insert(id).second)
                throw config_error(where + ": duplicate id (got \"" + id + "\", expected an id not indexed yet)");
        }
    }

    row_matrix encode_all(const std::vector<std::string>& texts) const {
        const auto dim = static_cast<Eigen::Index>(index_.dim());
        if (texts.size() <= batch_size_) return checked(encoder_.encode(texts), texts.size());
        row_matrix out(static_cast<Eigen::Index>(texts.size()), dim);
        std::vector<std::string> chunk;
        for (std::size_t b = 0; b < texts.size(); b += batch_size_) {
            const std::size_t e = std::min(texts.size(), b + batch_size_);
            chunk.assign(texts.begin() + static_cast<std::ptrdiff_t>(b), texts.begin() + static_cast<std::ptrdiff_t>(e));
            out.middleRows(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(e - b)) =
                checked(encoder_.encode(chunk), chunk.size());
        }
        return out;
    }

    row_matrix checked(row_matrix m, std::size_t rows) const {
        if (static_cast<std::size_t>(m.rows()) != rows || static_cast<std::size_t>(m.cols()) != index_.dim())
            throw dimension_error("dense_retriever::encode: the encoder returned the wrong shape (got " +
                                  std::to_string(m.rows()) + " x " + std::to_string(m.cols()) + ", expected " +
                                  std::to_string(rows) + " x " + std::to_string(index_.dim()) + ")");
        return m;
    }

    hits to_hits(const std::vector<neighbor>& found) const {
        hits out;
        out.reserve(found.size());
        for (const auto& n : found) {
            auto it = id_of_.find(n.label);
            if (it != id_of_.end()) out.push_back(hit{it->second, n.score});
        }
        return out;
    }

    Encoder encoder_;
    Index index_;
    std::size_t batch_size_;
    label_t next_label_ = 0;
    std::unordered_map<std::string, label_t> label_of_;
    std::unordered_map<label_t, std::string> id_of_;
    mutable Mutex mutex_;
};

}  // namespace aitl
