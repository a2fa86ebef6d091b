#pragma once
/// @file hnsw.hpp
/// @brief Approximate vector index: HNSW graph (hnswlib) with aitl's vectorised inner product.
///
/// This is the only aitl header that includes hnswlib. hnswlib 0.6.2 (Debian 12) defines
/// non-inline functions in its headers, so at most ONE translation unit per binary may
/// include this header. Coded against hnswlib 0.6.2's API; also compiles with 0.8.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <iterator>
#include <cmath>
#include <cstring>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/json_parse.hpp"
#include "../config.hpp"
#include "../detail/simd.hpp"
#include "../detail/topk.hpp"
#include "../error.hpp"
#include "../types.hpp"
#include "hnsw_config.hpp"
#include "knn.hpp"

// aitl::aitl defines NO_MANUAL_VECTORIZATION (hnswlib's compile-time SIMD distances are
// replaced by aitl's run-time dispatched ones below). hnswlib's graph construction only
// prefetches under USE_SSE, which is baseline on x86-64: keep the prefetches, as hnswlib's
// own builds do. (Its prefetch reads one neighbour id past the end of a link list, a benign
// over-read that AddressSanitizer reports: sanitizer builds go without.)
#if defined(__SANITIZE_ADDRESS__)
#define AITL_HNSW_NO_PREFETCH
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AITL_HNSW_NO_PREFETCH
#endif
#endif
#if AITL_SIMD_X86 && !defined(USE_SSE) && !defined(AITL_HNSW_NO_PREFETCH)
#define USE_SSE
#endif
#include <hnswlib/hnswlib.h>

namespace aitl {

namespace detail {

inline float hnsw_ip_distance_generic(const void* a, const void* b, const void* n) {
    return 1.0f - simd::dot_generic(static_cast<const float*>(a), static_cast<const float*>(b),
                                    *static_cast<const std::size_t*>(n));
}
#if AITL_SIMD_X86
AITL_TARGET_AVX2 inline float hnsw_ip_distance_avx2(const void* a, const void* b, const void* n) {
    return 1.0f - simd::dot_avx2(static_cast<const float*>(a), static_cast<const float*>(b),
                                 *static_cast<const std::size_t*>(n));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
AITL_TARGET_AVX512 inline float hnsw_ip_distance_avx512(const void* a, const void* b, const void* n) {
    return 1.0f - simd::dot_avx512(static_cast<const float*>(a), static_cast<const float*>(b),
                                   *static_cast<const std::size_t*>(n));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

/// hnswlib space: distance 1 - <a, b>, vectorised for the CPU found at run time.
class hnsw_ip_space final : public hnswlib::SpaceInterface<float> {
public:
    explicit hnsw_ip_space(std::size_t dim) : dim_(dim) {
        fn_ = &hnsw_ip_distance_generic;
#if AITL_SIMD_X86
        if (simd::best() == simd::isa::avx512) fn_ = &hnsw_ip_distance_avx512;
        else if (simd::best() == simd::isa::avx2) fn_ = &hnsw_ip_distance_avx2;
#endif
    }
    size_t get_data_size() override { return dim_ * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return fn_; }
    void* get_dist_func_param() override { return &dim_; }

private:
    std::size_t dim_;
    hnswlib::DISTFUNC<float> fn_;
};

/// 64-bit checksum of a file (four interleaved multiply-xor lanes over 8-byte words).
inline std::uint64_t hnsw_file_checksum(const std::string& path, std::uint64_t& bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error("hnsw_index::load: cannot open file (got \"" + path + "\", expected a readable file)");
    std::uint64_t lane[4] = {0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull,
                             0x27d4eb2f165667c5ull};
    constexpr std::uint64_t prime = 0x100000001b3ull;
    std::vector<char> buf(1 << 20);
    bytes = 0;
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const std::size_t got = static_cast<std::size_t>(in.gcount());
        if (got == 0) break;
        std::size_t i = 0;
        for (; i + 32 <= got; i += 32)
            for (int l = 0; l < 4; ++l) {
                std::uint64_t w;
                std::memcpy(&w, buf.data() + i + 8 * l, 8);
                lane[l] = (lane[l] ^ w) * prime;
            }
        for (; i < got; ++i) lane[0] = (lane[0] ^ static_cast<unsigned char>(buf[i])) * prime;
        bytes += got;
    }
    std::uint64_t h = bytes;
    for (auto l : lane) h = (h ^ l) * prime ^ (l >> 29);
    return h;
}

}  // namespace detail

/**
 * @brief Approximate nearest-neighbour index (HNSW) over float32 vectors, inner product or
 * cosine.
 *
 * Wraps hnswlib's HierarchicalNSW with an inner-product space vectorised at run time
 * (AVX-512 / AVX2 / generic). Searches use aitl's own traversal of the hnswlib graph
 * (no shared counters, deterministic order: score, then smaller label). The capacity grows
 * automatically. remove() marks a vector deleted (it stays in the graph, is never returned,
 * and adding its label again replaces it).
 *
 * save(path) writes hnswlib's index file at `path` (readable by hnswlib itself) and aitl's
 * metadata (metric, dim, M, ef, ..., size and checksum of the index file) at
 * `path + ".aitl.json"`; load() checks both.
 *
 * @tparam Mutex thread policy: `default_mutex` (`hnsw_index`, `hnsw_index_mt`) or
 *         `detail::null_mutex` (`hnsw_index_st`).
 * @note Thread safety: with `std::shared_mutex` searches run concurrently; add, remove,
 *       set_ef take an exclusive lock (add itself inserts on several threads). The `_st`
 *       variant does no locking. With threads > 1, add shares hnswlib's level generator
 *       between the inserting threads (as hnswlib's own add_items does), so the graph differs
 *       from run to run; threads = 1 builds the same graph for the same seed and data.
 *
 * @code
 * aitl::hnsw_index index(aitl::hnsw_config{384, aitl::similarity::cosine});
 * index.add(labels, vectors);          // parallel insertion
 * index.set_ef(128);
 * auto result = index.search_batch(queries, 75);
 * index.save("kb.hnsw");
 * auto again = aitl::hnsw_index::load("kb.hnsw");
 * @endcode
 */
template <class Mutex = default_mutex>
class basic_hnsw_index {
public:
    /// @throws config_error when `config` is invalid.
    explicit basic_hnsw_index(hnsw_config config) : config_(config) {
        config_.validate();
        space_ = std::make_unique<detail::hnsw_ip_space>(config_.dim);
        index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), config_.max_elements, config_.M,
                                                                  config_.ef_construction, config_.seed);
        sync_compact();
    }
    /// @brief An index with the default settings for `dim` and `m`.
    explicit basic_hnsw_index(std::size_t dim, aitl::similarity m = aitl::similarity::inner_product)
        : basic_hnsw_index(hnsw_config{dim, m}) {}

    basic_hnsw_index(const basic_hnsw_index&) = delete;
    basic_hnsw_index& operator=(const basic_hnsw_index&) = delete;
    basic_hnsw_index(basic_hnsw_index&& other) noexcept {
        std::unique_lock<Mutex> lock(other.mutex_);
        move_from(other);
    }
    basic_hnsw_index& operator=(basic_hnsw_index&& other) noexcept {
        if (this != &other) {
            std::unique_lock<Mutex> a(mutex_, std::defer_lock), b(other.mutex_, std::defer_lock);
            std::lock(a, b);
            move_from(other);
        }
        return *this;
    }

    /// @returns The vector dimension.
    std::size_t dim() const noexcept { return config_.dim; }
    /// @returns The similarity metric.
    aitl::similarity metric() const noexcept { return config_.metric; }

    /// @returns The settings, with the current ef and capacity.
    hnsw_config config() const {
        std::shared_lock<Mutex> lock(mutex_);
        hnsw_config c = config_;
        if (index_) c.max_elements = index_->max_elements_;
        return c;
    }

    /// @returns The number of stored vectors, deleted ones excluded.
    std::size_t size() const {
        std::shared_lock<Mutex> lock(mutex_);
        return index_ ? static_cast<std::size_t>(index_->cur_element_count) - static_cast<std::size_t>(index_->num_deleted_) : 0;
    }
    bool empty() const { return size() == 0; }

    /// @returns The current capacity (it grows automatically).
    std::size_t capacity() const {
        std::shared_lock<Mutex> lock(mutex_);
        return index_ ? index_->max_elements_ : 0;
    }

    /// @returns Whether `label` is stored (and not removed).
    bool contains(label_t label) const {
        std::shared_lock<Mutex> lock(mutex_);
        return live(label);
    }

    /// @returns The search-time candidate list size.
    std::size_t ef() const {
        std::shared_lock<Mutex> lock(mutex_);
        return config_.ef;
    }
    /// @brief Sets ef (search uses max(ef, k)). @throws config_error when ef == 0.
    void set_ef(std::size_t ef) {
        if (ef == 0) throw config_error("hnsw_index::set_ef: ef must be positive (got 0, expected >= 1)");
        std::unique_lock<Mutex> lock(mutex_);
        config_.ef = ef;
    }

    /**
     * @brief Adds one vector per row of `vectors`, labelled `labels[i]`, on `threads` threads.
     * @param threads 0 = all hardware threads.
     * @throws dimension_error when labels.size() != rows, cols != dim(), or a value is NaN/inf;
     *         config_error when a label is stored already, repeated, or >= 2^63. These
     *         checks run before any change. A label removed earlier may be added again.
     */
    void add(const std::vector<label_t>& labels, const Eigen::Ref<const row_matrix>& vectors,
             std::size_t threads = 0) {
        static const std::string where = "hnsw_index::add";
        if (static_cast<Eigen::Index>(labels.size()) != vectors.rows())
            throw dimension_error(where + ": one label per vector (got " + std::to_string(labels.size()) +
                                  " labels, expected " + std::to_string(vectors.rows()) + ")");
        detail::check_vectors(where, vectors, config_.dim);
        row_matrix normalised;
        const float* data = vectors.data();
        std::size_t stride = static_cast<std::size_t>(vectors.outerStride());
        if (config_.metric == aitl::similarity::cosine) {
            normalised = vectors;
            for (Eigen::Index i = 0; i < normalised.rows(); ++i)
                detail::simd::normalize(normalised.row(i).data(), config_.dim);
            data = normalised.data();
            stride = config_.dim;
        }
        std::unique_lock<Mutex> lock(mutex_);
        require(where);
        auto& h = *index_;
        std::vector<std::size_t> fresh;
        {
            std::unordered_set<label_t> batch;
            batch.reserve(labels.size());
            for (std::size_t i = 0; i < labels.size(); ++i) {
                const label_t l = labels[i];
                detail::check_label(where, l);
                if (live(l) || !batch.insert(l).second)
                    throw config_error(where + ": duplicate label (got " + std::to_string(l) +
                                       ", expected a label not stored yet)");
                // A removed label moves to a new element and the removed one stays removed:
                // hnswlib 0.6.2's update of a removed element copies neighbour lists with
                // memcpy(nullptr, .., 0) whenever one of them, or one of its neighbours', is
                // empty (undefined behaviour; found by fuzzing).
                h.label_lookup_.erase(static_cast<hnswlib::labeltype>(l));
                fresh.push_back(i);
            }
        }
        const std::size_t needed = static_cast<std::size_t>(h.cur_element_count) + fresh.size();
        if (needed > h.max_elements_) {
            h.resizeIndex(std::max(needed, 2 * h.max_elements_));
            sync_compact();
        }
        auto insert = [&](std::size_t i) {
            h.addPoint(static_cast<const void*>(data + i * stride), static_cast<hnswlib::labeltype>(labels[i]));
        };
        std::size_t start = 0;
        if (!fresh.empty() && h.cur_element_count == 0) insert(fresh[start++]);  // entry point first
        const std::size_t rest = fresh.size() - start;
        detail::parallel_tasks(rest, rest < 64 ? 1 : threads, [&](std::size_t t) { insert(fresh[start + t]); });
        if (config_.compact_search)
            for (label_t l : labels) refresh_compact(h.label_lookup_.at(static_cast<hnswlib::labeltype>(l)));
    }

    /// @brief Adds one vector of dim() floats.
    void add(label_t label, const float* vector) {
        add(std::vector<label_t>{label}, Eigen::Map<const row_matrix>(vector, 1, static_cast<Eigen::Index>(config_.dim)), 1);
    }
    /// @brief Adds one vector; its size must equal dim().
    void add(label_t label, const std::vector<float>& vector) {
        if (vector.size() != config_.dim)
            throw dimension_error("hnsw_index::add: wrong dimension (got " + std::to_string(vector.size()) +
                                  ", expected " + std::to_string(config_.dim) + ")");
        add(label, vector.data());
    }

    /// @brief Marks `label` deleted: never returned again, excluded from size().
    /// @throws not_found when it is not stored (or removed already).
    void remove(label_t label) {
        std::unique_lock<Mutex> lock(mutex_);
        require("hnsw_index::remove");
        if (!live(label))
            throw not_found("hnsw_index::remove: unknown label (got " + std::to_string(label) +
                            ", expected a stored label)");
        index_->markDelete(static_cast<hnswlib::labeltype>(label));
    }

    /// @returns The stored vector of `label` (normalised under cosine). @throws not_found.
    std::vector<float> vector(label_t label) const {
        std::shared_lock<Mutex> lock(mutex_);
        if (!live(label))
            throw not_found("hnsw_index::vector: unknown label (got " + std::to_string(label) +
                            ", expected a stored label)");
        const auto id = index_->label_lookup_.at(static_cast<hnswlib::labeltype>(label));
        const float* v = reinterpret_cast<const float*>(index_->getDataByInternalId(id));
        return std::vector<float>(v, v + config_.dim);
    }

    /**
     * @brief The (approximately) k best vectors for one query of dim() floats.
     * @returns At most k neighbours, best first.
     * @throws config_error when k == 0; dimension_error when the query holds NaN/inf.
     */
    std::vector<neighbor> search(const float* query, std::size_t k) const {
        static const std::string where = "hnsw_index::search";
        detail::check_k(where, k);
        detail::check_vector(where, query, config_.dim);
        std::vector<float> q(query, query + config_.dim);
        if (config_.metric == aitl::similarity::cosine) detail::simd::normalize(q.data(), config_.dim);
        std::shared_lock<Mutex> lock(mutex_);
        require(where);
        k = std::min(k, std::max<std::size_t>(static_cast<std::size_t>(index_->cur_element_count), 1));
        return search_locked(q.data(), k, std::max(config_.ef, k));
    }

    /// @brief search() with a query given as a vector (its size must equal dim()).
    std::vector<neighbor> search(const std::vector<float>& query, std::size_t k) const {
        if (query.size() != config_.dim)
            throw dimension_error("hnsw_index::search: wrong dimension (got " + std::to_string(query.size()) +
                                  ", expected " + std::to_string(config_.dim) + ")");
        return search(query.data(), k);
    }

    /**
     * @brief search() for each row of `queries` on `threads` threads (0 = all).
     * @returns labels and scores, (queries.rows() x min(k, max(size(), 1))), padded with -1 / -inf
     *          where fewer are found: a k larger than the index allocates nothing more.
     * @throws config_error when k == 0; dimension_error on a wrong width or NaN/inf.
     */
    knn_result search_batch(const Eigen::Ref<const row_matrix>& queries, std::size_t k,
                            std::size_t threads = 0) const {
        static const std::string where = "hnsw_index::search_batch";
        detail::check_k(where, k);
        k = std::min(k, std::max<std::size_t>(size(), 1));
        detail::check_vectors(where, queries, config_.dim, "queries");
        knn_result out;
        out.labels.resize(queries.rows(), static_cast<Eigen::Index>(k));
        out.scores.resize(queries.rows(), static_cast<Eigen::Index>(k));
        const std::size_t nq = static_cast<std::size_t>(queries.rows());
        const bool cosine = config_.metric == aitl::similarity::cosine;
        std::shared_lock<Mutex> lock(mutex_);
        require(where);
        const std::size_t ef = std::max(config_.ef, k);
        detail::parallel_tasks(nq, nq < 4 ? 1 : threads, [&](std::size_t i) {
            const float* q = queries.row(static_cast<Eigen::Index>(i)).data();
            std::vector<float> tmp;
            if (cosine) {
                tmp.assign(q, q + config_.dim);
                detail::simd::normalize(tmp.data(), config_.dim);
                q = tmp.data();
            }
            detail::write_row(out, static_cast<Eigen::Index>(i), search_locked(q, k, ef));
        });
        return out;
    }

    /**
     * @brief Writes the index to `path` and its metadata to `path + ".aitl.json"`.
     * @throws io_error when a file cannot be written completely.
     */
    void save(const std::string& path) const {
        static const std::string where = "hnsw_index::save";
        std::shared_lock<Mutex> lock(mutex_);
        require(where);
        {
            std::ofstream probe(path, std::ios::binary | std::ios::trunc);
            if (!probe) throw io_error(where + ": cannot open file for writing (got \"" + path + "\", expected a writable path)");
        }
        try {
            index_->saveIndex(path);
        } catch (const std::exception& e) {
            throw io_error(where + ": hnswlib failed to write (got \"" + std::string(e.what()) + "\", expected success)");
        }
        std::uint64_t bytes = 0;
        const std::uint64_t sum = detail::hnsw_file_checksum(path, bytes);
        if (bytes != expected_file_bytes())
            throw io_error(where + ": incomplete index file (got " + std::to_string(bytes) + " bytes, expected " +
                           std::to_string(expected_file_bytes()) + ")");
        nlohmann::json meta = {{"format", "aitl.hnsw"}, {"version", 1},   {"config", config_},
                               {"elements", static_cast<std::size_t>(index_->cur_element_count)},
                               {"deleted", static_cast<std::size_t>(index_->num_deleted_)},
                               {"file_bytes", bytes},  {"checksum", sum}};
        std::ofstream out(path + ".aitl.json", std::ios::trunc);
        out << meta.dump(2) << "\n";
        out.flush();
        if (!out) throw io_error(where + ": cannot write metadata (got \"" + path + ".aitl.json\", expected a writable path)");
    }

    /**
     * @brief Loads an index written by save().
     * @throws io_error when either file is missing, unreadable, truncated or corrupt, or the
     *         two do not match.
     */
    static basic_hnsw_index load(const std::string& path) {
        static const std::string where = "hnsw_index::load";
        const std::string meta_path = path + ".aitl.json";
        std::ifstream meta_in(meta_path);
        if (!meta_in)
            throw io_error(where + ": missing metadata file (got \"" + meta_path + "\", expected the file save() writes)");
        nlohmann::json meta;
        hnsw_config cfg;
        std::uint64_t file_bytes = 0, checksum = 0;
        std::size_t elements = 0;
        try {
            std::string text((std::istreambuf_iterator<char>(meta_in)), std::istreambuf_iterator<char>());
            meta = detail::parse_json(text, meta_path, 0, where);
            if (!meta.is_object() || meta.value("format", nlohmann::json()) != "aitl.hnsw" ||
                meta.value("version", nlohmann::json()) != 1)
                throw io_error(where + ": not an aitl hnsw metadata file (got \"" + meta_path + "\", expected format aitl.hnsw version 1)");
            cfg = meta.at("config").get<hnsw_config>();
            cfg.validate();
            // Counts must be JSON unsigned integers: get<size_t>() of 1e20 would be a float cast
            // out of range (found by fuzzing).
            auto count = [&](const char* key) {
                const auto& v = meta.at(key);
                if (!v.is_number_unsigned())
                    throw io_error(where + ": corrupt metadata file (got " + key + " = " + v.dump().substr(0, 40) + " in \"" +
                                   meta_path + "\", expected a non-negative integer)");
                return v.get<std::uint64_t>();
            };
            file_bytes = count("file_bytes");
            checksum = count("checksum");
            elements = static_cast<std::size_t>(count("elements"));
        } catch (const io_error&) {
            throw;
        } catch (const std::exception& e) {
            throw io_error(where + ": corrupt metadata file (got \"" + meta_path + "\": " + e.what() +
                           ", expected the JSON save() writes)");
        }
        std::uint64_t bytes = 0;
        const std::uint64_t sum = detail::hnsw_file_checksum(path, bytes);
        if (bytes != file_bytes || sum != checksum)
            throw io_error(where + ": corrupt or truncated index file (got " + std::to_string(bytes) +
                           " bytes, expected " + std::to_string(file_bytes) + " bytes with the saved checksum)");
        check_header(path, cfg, elements);
        basic_hnsw_index out(cfg, empty_tag{});
        out.space_ = std::make_unique<detail::hnsw_ip_space>(cfg.dim);
        try {
            out.index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(out.space_.get(), path, false, 0);
        } catch (const std::exception& e) {
            throw io_error(where + ": hnswlib cannot read the index (got \"" + std::string(e.what()) + "\", expected a valid index)");
        }
        // hnswlib 0.6.2 leaves num_deleted_ uninitialised when loading: recount.
        std::size_t deleted = 0;
        for (std::size_t i = 0; i < elements; ++i)
            deleted += out.index_->isMarkedDeleted(static_cast<hnswlib::tableint>(i)) ? 1 : 0;
        out.index_->num_deleted_ = deleted;
        out.index_->level_generator_.seed(cfg.seed + elements);
        out.sync_compact();
        if (cfg.compact_search)
            for (std::size_t i = 0; i < elements; ++i) out.refresh_compact(static_cast<hnswlib::tableint>(i));
        return out;
    }

private:
    struct empty_tag {};
    basic_hnsw_index(const hnsw_config& cfg, empty_tag) : config_(cfg) {}

    void sync_compact() {
        if (config_.compact_search) compact_.resize(index_->max_elements_ * config_.dim);
    }
    void refresh_compact(hnswlib::tableint id) {
        detail::simd::to_bf16(reinterpret_cast<const float*>(index_->getDataByInternalId(id)), config_.dim,
                              compact_.data() + static_cast<std::size_t>(id) * config_.dim);
    }

    void require(const std::string& where) const {
        if (!index_) throw state_error(where + ": the index was moved from (got no index, expected a live index)");
    }

    bool live(label_t label) const {
        if (!index_) return false;
        auto it = index_->label_lookup_.find(static_cast<hnswlib::labeltype>(label));
        return it != index_->label_lookup_.end() && !index_->isMarkedDeleted(it->second);
    }

    std::uint64_t expected_file_bytes() const {
        const auto& h = *index_;
        std::uint64_t n = 96 + static_cast<std::uint64_t>(h.cur_element_count) * h.size_data_per_element_;
        for (std::size_t i = 0; i < static_cast<std::size_t>(h.cur_element_count); ++i)
            n += 4 + (h.element_levels_[i] > 0 ? h.size_links_per_element_ * static_cast<std::size_t>(h.element_levels_[i]) : 0);
        return n;
    }

    // Checks hnswlib's header against the metadata before hnswlib allocates from it.
    // Checks the whole hnswlib file against its metadata before hnswlib reads it: hnswlib 0.6.2
    // trusts every count, offset and neighbour id it reads (a forged file made it read and write
    // out of bounds; found by fuzzing). Layout: a 96-byte header, the level-0 block of every
    // element (links, vector, label), then per element a u32 size and its upper-level links.
    static void check_header(const std::string& path, const hnsw_config& cfg, std::size_t elements) {
        using hnswlib::linklistsizeint;
        using hnswlib::tableint;
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto bad = [&](const std::string& what) {
            throw io_error("hnsw_index::load: index file does not match its metadata or is corrupt (got " + what +
                           "; expected the file save() writes for " + std::to_string(elements) + " elements of dim " +
                           std::to_string(cfg.dim) + ", M " + std::to_string(cfg.M) + ")");
        };
        std::size_t at = 0;
        auto read = [&](auto& v) {
            if (bytes.size() - at < sizeof v) bad("a file cut short at byte " + std::to_string(at));
            std::memcpy(&v, bytes.data() + at, sizeof v);
            at += sizeof v;
        };
        std::uint64_t offset0 = 0, capacity = 0, count = 0, per_element = 0, label_offset = 0, links_offset = 0;
        std::int32_t max_level = 0;
        std::uint32_t entry = 0;
        std::uint64_t max_m = 0, max_m0 = 0, m = 0, ef_construction = 0;
        double mult = 0;
        read(offset0), read(capacity), read(count), read(per_element), read(label_offset), read(links_offset);
        read(max_level), read(entry), read(max_m), read(max_m0), read(m), read(mult), read(ef_construction);
        const std::uint64_t links0 = 2 * cfg.M * sizeof(tableint) + sizeof(linklistsizeint);
        const std::uint64_t want_per_element = links0 + cfg.dim * sizeof(float) + sizeof(hnswlib::labeltype);
        if (count != elements || count > capacity || offset0 != 0 || per_element != want_per_element ||
            links_offset != links0 || label_offset != links0 + cfg.dim * sizeof(float) || max_m != cfg.M ||
            max_m0 != 2 * cfg.M || m != cfg.M)
            bad(std::to_string(count) + " elements of " + std::to_string(per_element) + " bytes");
        // Capacity grows by doubling from config.max_elements (or to exactly what a batch needs).
        if (capacity > std::max<std::uint64_t>(cfg.max_elements, 2 * count))
            bad("capacity " + std::to_string(capacity));
        // mult is 1 / ln(M), as hnswlib sets it; a forged one made its level draw overflow an int
        // (found by fuzzing).
        const double want_mult = 1.0 / std::log(static_cast<double>(cfg.M));
        // An empty index has no entry point (-1) and no level: hnswlib would start an add there.
        if (!(std::abs(mult - want_mult) <= 1e-9 * want_mult) || max_level < (count > 0 ? 0 : -1) || max_level > 1000 ||
            (count > 0 ? entry >= count : (entry != static_cast<std::uint32_t>(-1) || max_level != -1)))
            bad("level " + std::to_string(max_level) + ", entry point " + std::to_string(entry));
        if ((bytes.size() - at) / per_element < count) bad("a file cut short in the vectors");
        const std::size_t level0 = at;
        at += count * per_element;
        const std::uint64_t upper_bytes = max_m * sizeof(tableint) + sizeof(linklistsizeint);
        // Upper levels first (a neighbour at level l must itself reach level l: hnswlib reads its
        // level-l list without checking; found by fuzzing), then every list.
        std::vector<int> levels(count, 0);
        std::vector<std::size_t> upper(count, 0);  // offset of each element's upper lists
        for (std::uint64_t i = 0; i < count; ++i) {
            std::uint32_t size = 0;
            read(size);
            if (size % upper_bytes != 0 || size / upper_bytes > static_cast<std::uint64_t>(max_level) ||
                bytes.size() - at < size)
                bad("element " + std::to_string(i) + " with " + std::to_string(size) + " bytes of upper links");
            levels[i] = static_cast<int>(size / upper_bytes);
            upper[i] = at;
            at += size;
        }
        auto check_list = [&](const char* list, std::uint64_t max_n, std::uint64_t element, int level) {
            linklistsizeint n = 0;
            std::memcpy(&n, list, sizeof n);
            n &= 0xFFFF;  // the high bytes hold the deleted mark
            if (n > max_n) bad("element " + std::to_string(element) + " with " + std::to_string(n) + " neighbours at level " +
                               std::to_string(level));
            for (linklistsizeint i = 0; i < n; ++i) {
                tableint nb = 0;
                std::memcpy(&nb, list + sizeof n + i * sizeof nb, sizeof nb);
                if (nb >= count || levels[nb] < level)
                    bad("element " + std::to_string(element) + " linked to " + std::to_string(nb) + " at level " +
                        std::to_string(level));
            }
        };
        std::unordered_set<hnswlib::labeltype> labels;
        int top_level = -1;
        for (std::uint64_t i = 0; i < count; ++i) {
            const char* block = bytes.data() + level0 + i * per_element;
            check_list(block, max_m0, i, 0);
            hnswlib::labeltype label = 0;
            std::memcpy(&label, block + label_offset, sizeof label);
            // A removed element may share its label with a later one (add() after remove()).
            const bool removed = (static_cast<unsigned char>(block[2]) & 0x01) != 0;
            if (label > static_cast<hnswlib::labeltype>(max_label) || (!removed && !labels.insert(label).second))
                bad("element " + std::to_string(i) + " with label " + std::to_string(label) + " (out of range or repeated)");
            for (int l = 1; l <= levels[i]; ++l) check_list(bytes.data() + upper[i] + (l - 1) * upper_bytes, max_m, i, l);
            top_level = std::max(top_level, levels[i]);
        }
        if (at != bytes.size()) bad(std::to_string(bytes.size() - at) + " bytes after the last element");
        if (count > 0 && (top_level != max_level || levels[entry] != max_level))
            bad("top level " + std::to_string(max_level) + " but elements up to " + std::to_string(top_level));
    }

    // Greedy descent through the upper layers, then a best-first search of the base layer
    // (hnswlib's searchKnn without its shared metric counters). Caller holds the lock.
    std::vector<neighbor> search_locked(const float* q, std::size_t k, std::size_t ef) const {
        using hnswlib::tableint;
        const auto& h = *index_;
        if (h.cur_element_count == 0) return {};
        const auto& kern = detail::simd::kernels();
        const std::size_t dim = config_.dim;
        const bool compact = config_.compact_search;
        auto full = [&](tableint id) { return reinterpret_cast<const float*>(h.getDataByInternalId(id)); };
        auto half = [&](tableint id) { return compact_.data() + static_cast<std::size_t>(id) * dim; };
        auto dist = [&](tableint id) { return compact ? -kern.dot_bf16(q, half(id), dim) : -kern.dot(q, full(id), dim); };

        tableint cur = h.enterpoint_node_;
        float cur_dist = dist(cur);
        for (int level = h.maxlevel_; level > 0; --level) {
            bool changed = true;
            while (changed) {
                changed = false;
                const hnswlib::linklistsizeint* ll = h.get_linklist(cur, level);
                const std::size_t n = h.getListCount(const_cast<hnswlib::linklistsizeint*>(ll));
                const tableint* nb = reinterpret_cast<const tableint*>(ll + 1);
                for (std::size_t i = 0; i < n; ++i) {
                    const float d = dist(nb[i]);
                    if (d < cur_dist) {
                        cur_dist = d;
                        cur = nb[i];
                        changed = true;
                    }
                }
            }
        }

        const bool has_deleted = h.num_deleted_ > 0;
        const std::size_t row_bytes = dim * (compact ? sizeof(std::uint16_t) : sizeof(float));
        const std::size_t prefetch_bytes = std::min<std::size_t>(row_bytes, 256);
        std::vector<tableint> todo(h.maxM0_ + 1);
        std::vector<float> dots(h.maxM0_ + 1);
        using entry = std::pair<float, tableint>;
        std::priority_queue<entry> top;                                                  // worst on top
        std::priority_queue<entry, std::vector<entry>, std::greater<entry>> candidates;  // best on top
        hnswlib::VisitedList* vl = h.visited_list_pool_->getFreeVisitedList();
        struct release_guard {
            const hnswlib::HierarchicalNSW<float>& h;
            hnswlib::VisitedList* vl;
            ~release_guard() { h.visited_list_pool_->releaseVisitedList(vl); }
        } guard{h, vl};
        hnswlib::vl_type* visited = vl->mass;
        const hnswlib::vl_type tag = vl->curV;

        float bound = std::numeric_limits<float>::max();
        if (!has_deleted || !h.isMarkedDeleted(cur)) {
            top.emplace(cur_dist, cur);
            bound = cur_dist;
        }
        candidates.emplace(cur_dist, cur);
        visited[cur] = tag;
        while (!candidates.empty()) {
            const entry c = candidates.top();
            if (c.first > bound && (top.size() >= ef || !has_deleted)) break;
            candidates.pop();
            const hnswlib::linklistsizeint* ll = h.get_linklist0(c.second);
            const std::size_t n = h.getListCount(const_cast<hnswlib::linklistsizeint*>(ll));
            const tableint* nb = reinterpret_cast<const tableint*>(ll + 1);
            // Gather the unvisited neighbours and prefetch all their vectors at once (many
            // misses in flight), then score them four at a time.
            std::size_t m = 0;
            for (std::size_t j = 0; j < n; ++j) {
                const tableint id = nb[j];
                if (visited[id] == tag) continue;
                visited[id] = tag;
                const char* v = compact ? reinterpret_cast<const char*>(half(id)) : reinterpret_cast<const char*>(full(id));
                for (std::size_t off = 0; off < prefetch_bytes; off += 64) detail::simd::prefetch(v + off);
                todo[m++] = id;
            }
            std::size_t j = 0;
            if (compact) {
                for (; j + 4 <= m; j += 4) {
                    const std::uint16_t* xs[4] = {half(todo[j]), half(todo[j + 1]), half(todo[j + 2]), half(todo[j + 3])};
                    kern.dot4_bf16(q, xs, dim, dots.data() + j);
                }
                for (; j < m; ++j) dots[j] = kern.dot_bf16(q, half(todo[j]), dim);
            } else {
                for (; j + 4 <= m; j += 4) {
                    const float* xs[4] = {full(todo[j]), full(todo[j + 1]), full(todo[j + 2]), full(todo[j + 3])};
                    kern.dot4(q, xs, dim, dots.data() + j);
                }
                for (; j < m; ++j) dots[j] = kern.dot(q, full(todo[j]), dim);
            }
            for (j = 0; j < m; ++j) {
                const float d = -dots[j];
                const tableint id = todo[j];
                if (top.size() < ef || d < bound) {
                    candidates.emplace(d, id);
                    detail::simd::prefetch(h.get_linklist0(candidates.top().second));
                    if (!has_deleted || !h.isMarkedDeleted(id)) top.emplace(d, id);
                    if (top.size() > ef) top.pop();
                    if (!top.empty()) bound = top.top().first;
                }
            }
        }
        std::vector<neighbor> found;
        found.reserve(top.size());
        for (; !top.empty(); top.pop()) {
            const tableint id = top.top().second;
            const float score = compact ? kern.dot(q, full(id), dim) : -top.top().first;  // exact float32
            found.push_back(neighbor{static_cast<label_t>(h.getExternalLabel(id)), score});
        }
        std::sort(found.begin(), found.end(), [](const neighbor& a, const neighbor& b) {
            return detail::better(a.score, a.label, b.score, b.label);
        });
        if (found.size() > k) found.resize(k);
        return found;
    }

    void move_from(basic_hnsw_index& o) noexcept {
        config_ = o.config_;
        space_ = std::move(o.space_);
        index_ = std::move(o.index_);
        compact_ = std::move(o.compact_);
        o.compact_.clear();
    }

    hnsw_config config_;
    std::unique_ptr<detail::hnsw_ip_space> space_;  // index_ points into it: declared first, destroyed last
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
    std::vector<std::uint16_t> compact_;  // bfloat16 copy of the vectors by internal id (compact_search)
    mutable Mutex mutex_;
};

/// @brief HNSW index, thread-safe (shared mutex).
using hnsw_index = basic_hnsw_index<default_mutex>;
/// @brief Same as hnsw_index.
using hnsw_index_mt = basic_hnsw_index<default_mutex>;
/// @brief HNSW index without locking.
using hnsw_index_st = basic_hnsw_index<detail::null_mutex>;

}  // namespace aitl
