#pragma once
/// @file flywheel/index_lifecycle.hpp
/// @brief Index lifecycle (blue/green): when the encoder changes, every document is re-embedded
/// into a new index while the active one keeps serving; the new index's recall is checked
/// against exact search on a sample, it is published to a registry as a new version, and only
/// then replaces the active index, atomically.
///
/// This header does not include retrieval/hnsw.hpp (which one translation unit per binary may
/// include): instantiate `basic_serving_index<Encoder, hnsw_index>` in the translation unit that
/// includes it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/json_parse.hpp"
#include "../concepts.hpp"
#include "../config.hpp"
#include "../error.hpp"
#include "../retrieval/dense.hpp"
#include "../retrieval/exact.hpp"
#include "../types.hpp"
#include "index_lifecycle_config.hpp"
#include "registry.hpp"

namespace aitl {

namespace detail {
template <class E, class = void>
struct has_save_artifact : std::false_type {};
template <class E>
struct has_save_artifact<E, std::void_t<decltype(bool(std::declval<const E&>().save_artifact(std::string())))>>
    : std::true_type {};
template <class T, class = void>
struct has_save_file : std::false_type {};
template <class T>
struct has_save_file<T, std::void_t<decltype(std::declval<const T&>().save(std::string()))>> : std::true_type {};
template <class T, class = void>
struct has_load_file : std::false_type {};
template <class T>
struct has_load_file<T, std::void_t<decltype(T(T::load(std::string())))>> : std::true_type {};
template <class I, class = void>
struct has_threaded_add : std::false_type {};
template <class I>
struct has_threaded_add<I, std::void_t<decltype(std::declval<I&>().add(std::vector<label_t>(), std::declval<const row_matrix&>(),
                                                                         std::size_t{}))>> : std::true_type {};

// Writes the encoder's file; false when it has none (save_artifact() may decline at run time).
template <class Encoder>
bool save_encoder_artifact(const Encoder& e, const std::string& path) {
    if constexpr (has_save_artifact<Encoder>::value) return e.save_artifact(path);
    else if constexpr (has_save_file<Encoder>::value) {
        e.save(path);
        return true;
    } else {
        (void)e;
        (void)path;
        return false;
    }
}

template <class Index>
Index make_lifecycle_index(hnsw_config c, std::size_t dim, std::size_t n) {
    c.dim = dim;
    c.max_elements = std::max<std::size_t>(n, 1);
    if constexpr (std::is_constructible<Index, hnsw_config>::value) return Index(c);
    else return Index(c.dim, c.metric);
}

// A fresh folder removed (with its content) on destruction.
class staging_folder {
public:
    staging_folder(const std::string& parent, const std::string& where) {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::path base = parent.empty() ? fs::temp_directory_path(ec) : fs::path(parent);
        std::random_device rd;
        const auto t = std::chrono::steady_clock::now().time_since_epoch().count();
        for (int attempt = 0; attempt < 16; ++attempt) {
            path_ = base / ("aitl-index-" + std::to_string(static_cast<unsigned long long>(t)) + "-" + std::to_string(rd()));
            fs::create_directories(base, ec);
            if (fs::create_directory(path_, ec)) return;
        }
        throw io_error(where + ": cannot create a staging folder (got '" + base.string() +
                       "', expected a writable folder)");
    }
    staging_folder(const staging_folder&) = delete;
    staging_folder& operator=(const staging_folder&) = delete;
    ~staging_folder() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline std::string fixed3(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", x);
    return buf;
}
}  // namespace detail

/**
 * @brief One immutable index: an encoder, the vector index of every document, and the document
 * ids by label (document i of the build has label i). Searched concurrently by any number of
 * threads; never changed after construction.
 *
 * @tparam Encoder `dim()` and `encode(texts)` (see concepts.hpp).
 * @tparam Index `dim()`, `size()`, `search(const float*, k)`, `search_batch(rows, k, threads)`:
 *         hnsw_index or exact_index.
 * @note Thread safety: every member is const; as thread-safe as the encoder's encode().
 */
template <class Encoder, class Index>
class index_generation {
public:
    /// @throws dimension_error when encoder.dim() != index.dim(); config_error when the ids do
    /// not match the index size.
    index_generation(std::string version, Encoder encoder, Index index, std::vector<std::string> ids)
        : version_(std::move(version)), encoder_(std::move(encoder)), index_(std::move(index)), ids_(std::move(ids)) {
        require_encoder<Encoder>();
        if (static_cast<std::size_t>(encoder_.dim()) != index_.dim())
            throw dimension_error("index_generation::index_generation: encoder and index dimensions differ (got " +
                                  std::to_string(encoder_.dim()) + ", expected " + std::to_string(index_.dim()) + ")");
        if (ids_.size() != index_.size())
            throw config_error("index_generation::index_generation: one id per indexed vector (got " +
                               std::to_string(ids_.size()) + " ids, expected " + std::to_string(index_.size()) + ")");
    }

    /// @returns The version: the registry's id ("v000003") or "memory-N" for an unpublished build.
    const std::string& version() const noexcept { return version_; }
    const Encoder& encoder() const noexcept { return encoder_; }
    const Index& index() const noexcept { return index_; }
    /// @returns The document ids, by label.
    const std::vector<std::string>& ids() const noexcept { return ids_; }
    std::size_t size() const noexcept { return ids_.size(); }
    std::size_t dim() const { return index_.dim(); }

    /// @returns The k documents nearest to `query`, best first. @throws config_error when k == 0.
    hits search(std::string_view query, std::size_t k) const {
        detail::check_k("index_generation::search", k);
        const row_matrix q = encoded({std::string(query)});
        return to_hits(index_.search(q.row(0).data(), k));
    }

    /// @brief search() for every query, searched on `threads` threads (0 = all).
    std::vector<hits> search_batch(const std::vector<std::string>& queries, std::size_t k, std::size_t threads = 0) const {
        detail::check_k("index_generation::search_batch", k);
        std::vector<hits> out(queries.size());
        if (queries.empty()) return out;
        const knn_result r = index_.search_batch(encoded(queries), k, threads);
        for (Eigen::Index i = 0; i < r.labels.rows(); ++i)
            for (Eigen::Index j = 0; j < r.labels.cols(); ++j) {
                const auto l = r.labels(i, j);
                if (l < 0 || static_cast<std::size_t>(l) >= ids_.size()) break;
                out[static_cast<std::size_t>(i)].push_back(hit{ids_[static_cast<std::size_t>(l)], r.scores(i, j)});
            }
        return out;
    }

private:
    row_matrix encoded(const std::vector<std::string>& texts) const {
        row_matrix m = encoder_.encode(texts);
        if (static_cast<std::size_t>(m.rows()) != texts.size() || static_cast<std::size_t>(m.cols()) != index_.dim())
            throw dimension_error("index_generation::search: the encoder returned the wrong shape (got " +
                                  std::to_string(m.rows()) + " x " + std::to_string(m.cols()) + ", expected " +
                                  std::to_string(texts.size()) + " x " + std::to_string(index_.dim()) + ")");
        return m;
    }
    hits to_hits(const std::vector<neighbor>& found) const {
        hits out;
        out.reserve(found.size());
        for (const auto& n : found)
            if (n.label < ids_.size()) out.push_back(hit{ids_[n.label], n.score});
        return out;
    }

    std::string version_;
    Encoder encoder_;
    Index index_;
    std::vector<std::string> ids_;
};

/// @brief Progress of a rebuild: stage ("embed", "build", "check", "publish"), done, total.
using rebuild_progress = std::function<void(const std::string& stage, std::size_t done, std::size_t total)>;

/**
 * @brief Serves searches from an active index (blue) and replaces it by a rebuilt one (green)
 * atomically, after a recall check and (optionally) publication to a model registry.
 *
 * The active index is a `std::shared_ptr<const index_generation>` read with `std::atomic_load`:
 * a search takes a snapshot and keeps that generation alive until it returns, so searches in
 * flight during a switch finish on the index they started with, and every result comes wholly
 * from one generation. `rebuild()` re-embeds every document with the new encoder, builds the
 * green index while blue keeps serving, measures recall@k of green against exact search over
 * the same vectors on a seeded sample (the given queries, else document texts), and only when
 * recall >= `min_recall` saves the index files (`index.bin`, `index.bin.aitl.json`, `ids.json`,
 * `rebuild.json`, and `encoder.bin` when the encoder can save itself), adds them to the registry
 * as a new version, promotes it, and switches. Otherwise blue keeps serving and the report says
 * why. Registry commits are atomic (see basic_model_registry), so a crash at any moment leaves
 * the previous or the new champion, whose files hash to the manifest.
 *
 * @tparam Encoder an encoder (`dim()`, `encode(texts)`). It is saved as `encoder.bin` when it
 *         has `bool save_artifact(path) const` (returning true) or `void save(path) const`;
 *         `load(registry, version)` without an encoder needs `static Encoder load(path)`.
 * @tparam Index `hnsw_index` (or any index with `Index(hnsw_config)` or `Index(dim, metric)`,
 *         `add`, `search`, `search_batch`; `save(path)` and `static load(path)` for a registry).
 * @note Thread safety: search(), snapshot(), version() and switch_to() may run concurrently
 *       with everything; rebuilds are serialised by an internal mutex.
 *
 * @code
 * aitl::serving_index<aitl::hashed_encoder, aitl::hnsw_index> serving;
 * aitl::model_registry registry("index-registry");
 * aitl::rebuild_report r = serving.rebuild(kb, std::move(new_encoder), {}, &registry);
 * if (!r.switched) std::cerr << r.reason << "\n";   // blue keeps serving
 * aitl::hits top = serving.search("can I bring my dog", 10);
 * @endcode
 */
template <class Encoder, class Index>
class basic_serving_index {
public:
    using generation_type = index_generation<Encoder, Index>;
    using snapshot_type = std::shared_ptr<const generation_type>;

    /// @brief No active index until the first rebuild() or switch_to().
    basic_serving_index() = default;
    /// @brief Serves `initial` (may be null).
    explicit basic_serving_index(snapshot_type initial) : active_(std::move(initial)) {}
    basic_serving_index(const basic_serving_index&) = delete;
    basic_serving_index& operator=(const basic_serving_index&) = delete;

    /// @returns The active generation (null when none); it stays valid after a switch.
    snapshot_type snapshot() const { return std::atomic_load(&active_); }
    /// @returns The active version, "" when none.
    std::string version() const {
        const snapshot_type s = snapshot();
        return s ? s->version() : std::string();
    }
    /// @returns The documents of the active index (0 when none).
    std::size_t size() const {
        const snapshot_type s = snapshot();
        return s ? s->size() : 0;
    }

    /// @returns The k best documents of the active index. @throws state_error when there is
    /// none; config_error when k == 0.
    hits search(std::string_view query, std::size_t k) const { return active("search")->search(query, k); }
    /// @brief search() for every query on one snapshot (`threads` threads, 0 = all).
    std::vector<hits> search_batch(const std::vector<std::string>& queries, std::size_t k, std::size_t threads = 0) const {
        return active("search_batch")->search_batch(queries, k, threads);
    }

    /// @brief Makes `next` the active generation (atomically). @returns The previous one.
    snapshot_type switch_to(snapshot_type next) { return std::atomic_exchange(&active_, std::move(next)); }

    /**
     * @brief Re-embeds `docs` with `encoder`, builds a new index, checks its recall and, when
     * good enough, publishes it to `registry` (when not null) and switches to it.
     * @param docs any range of aitl::document (a knowledge_base, a vector); `indexed_text()` is embedded.
     * @param queries texts of the recall check; empty: document texts are sampled.
     * @returns The report; `switched == false` (and the reason) when recall < min_recall or
     *          there are no documents.
     * @throws config_error for an invalid config, an empty or repeated document id, or a
     *         registry with an Index that cannot save; dimension_error when the encoder
     *         misbehaves; io_error when publishing fails (the active index is unchanged).
     */
    template <class Documents, class RegistryMutex = std::mutex>
    rebuild_report rebuild(const Documents& docs, Encoder encoder, const rebuild_config& config = {},
                           basic_model_registry<RegistryMutex>* registry = nullptr,
                           const std::vector<std::string>& queries = {}, const rebuild_progress& progress = {}) {
        static const std::string where = "serving_index::rebuild";
        static_assert(detail::is_document_range<Documents>::value, "aitl: docs must be a range of aitl::document");
        require_encoder<Encoder>();
        config.validate();
        if constexpr (!detail::has_save_file<Index>::value)
            if (registry != nullptr)
                throw config_error(where + ": this index type cannot be saved (got a registry, expected none)");
        std::lock_guard<std::mutex> serial(rebuild_mutex_);
        auto report_progress = [&](const char* stage, std::size_t done, std::size_t total) {
            if (progress) progress(stage, done, total);
        };
        const std::string blue = version();
        const std::string blue_name = blue.empty() ? "no index" : "'" + blue + "'";

        rebuild_report rep;
        rep.min_recall = config.min_recall;
        rep.dim = encoder.dim();
        std::vector<std::string> ids, texts;
        {
            std::unordered_set<std::string> seen;
            for (const document& d : docs) {
                if (d.id.empty()) throw config_error(where + ": empty document id (got \"\", expected a non-empty id)");
                if (!seen.insert(d.id).second)
                    throw config_error(where + ": duplicate document id (got \"" + d.id + "\", expected unique ids)");
                ids.push_back(d.id);
                texts.push_back(d.indexed_text());
            }
        }
        const std::size_t n = ids.size();
        rep.documents = n;
        if (n == 0) {
            rep.reason = "no documents to index (got 0, expected >= 1); " + blue_name + " keeps serving";
            return rep;
        }

        // 1. Re-embed (blue keeps serving meanwhile).
        auto t0 = std::chrono::steady_clock::now();
        const auto dim = static_cast<Eigen::Index>(encoder.dim());
        row_matrix vectors(static_cast<Eigen::Index>(n), dim);
        std::vector<std::string> chunk;
        for (std::size_t b = 0; b < n; b += config.batch_size) {
            const std::size_t e = std::min(n, b + config.batch_size);
            chunk.assign(texts.begin() + static_cast<std::ptrdiff_t>(b), texts.begin() + static_cast<std::ptrdiff_t>(e));
            const row_matrix m = encoder.encode(chunk);
            if (m.rows() != static_cast<Eigen::Index>(e - b) || m.cols() != dim)
                throw dimension_error(where + ": the encoder returned the wrong shape (got " + std::to_string(m.rows()) +
                                      " x " + std::to_string(m.cols()) + ", expected " + std::to_string(e - b) + " x " +
                                      std::to_string(dim) + ")");
            vectors.middleRows(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(e - b)) = m;
            report_progress("embed", e, n);
        }
        rep.seconds_embed = detail::seconds_since(t0);

        // 2. Build green.
        t0 = std::chrono::steady_clock::now();
        std::vector<label_t> labels(n);
        for (std::size_t i = 0; i < n; ++i) labels[i] = i;
        Index green = detail::make_lifecycle_index<Index>(config.hnsw, static_cast<std::size_t>(dim), n);
        if constexpr (detail::has_threaded_add<Index>::value) green.add(labels, vectors, config.threads);
        else green.add(labels, vectors);
        report_progress("build", n, n);
        rep.seconds_build = detail::seconds_since(t0);

        // 3. Recall@k of green against exact search over the same vectors, on a seeded sample.
        t0 = std::chrono::steady_clock::now();
        rep.recall = check_recall(green, vectors, encoder, queries, config, rep);
        report_progress("check", rep.sample, rep.sample);
        rep.seconds_check = detail::seconds_since(t0);
        const std::string numbers = "recall@" + std::to_string(rep.k) + " " + detail::fixed3(rep.recall) + " on " +
                                    std::to_string(rep.sample) + " sampled queries, min_recall " +
                                    detail::fixed3(config.min_recall);
        if (rep.recall < config.min_recall) {
            rep.reason = numbers + ": below the threshold, " + blue_name + " keeps serving";
            return rep;
        }

        // 4. Publish (files, registry add + promote), then switch.
        t0 = std::chrono::steady_clock::now();
        std::string version_id;
        if (registry != nullptr) {
            version_id = publish(*registry, green, encoder, ids, config, rep, blue);
            report_progress("publish", 1, 1);
        } else {
            version_id = "memory-" + std::to_string(++builds_);
        }
        rep.seconds_publish = registry != nullptr ? detail::seconds_since(t0) : 0.0;
        auto next = std::make_shared<const generation_type>(version_id, std::move(encoder), std::move(green), std::move(ids));
        switch_to(std::move(next));
        rep.switched = true;
        rep.version = version_id;
        rep.reason = numbers + ": switched from " + blue_name + " to '" + version_id + "'";
        return rep;
    }

    /// @brief rebuild() without a registry (in memory only).
    template <class Documents>
    rebuild_report rebuild(const Documents& docs, Encoder encoder, const rebuild_config& config, std::nullptr_t,
                           const std::vector<std::string>& queries = {}, const rebuild_progress& progress = {}) {
        return rebuild(docs, std::move(encoder), config, static_cast<basic_model_registry<std::mutex>*>(nullptr), queries,
                       progress);
    }

    /**
     * @brief Loads `version` of `registry` (after verify(): its files hash to the manifest) as
     * a generation searched with `encoder`.
     * @throws not_found for an unknown version or a missing artifact; io_error for files that
     *         do not verify or load; dimension_error when the encoder does not fit the index.
     */
    template <class RegistryMutex>
    static snapshot_type load(const basic_model_registry<RegistryMutex>& registry, const std::string& version,
                              Encoder encoder) {
        static_assert(detail::has_load_file<Index>::value, "aitl: Index must provide `static Index load(path)`");
        registry.verify(version);
        Index index = Index::load(registry.file(version, "index.bin").string());
        std::vector<std::string> ids = read_ids(registry.file(version, "ids.json"));
        return std::make_shared<const generation_type>(version, std::move(encoder), std::move(index), std::move(ids));
    }

    /// @brief load() with the encoder read from the version's `encoder.bin` (`Encoder::load`).
    template <class RegistryMutex, class E = Encoder, std::enable_if_t<detail::has_load_file<E>::value, int> = 0>
    static snapshot_type load(const basic_model_registry<RegistryMutex>& registry, const std::string& version) {
        registry.verify(version);
        Encoder encoder = Encoder::load(registry.file(version, "encoder.bin").string());
        return load(registry, version, std::move(encoder));
    }

private:
    snapshot_type active(const char* what) const {
        snapshot_type s = snapshot();
        if (!s)
            throw state_error(std::string("serving_index::") + what +
                              ": no active index (got none, expected a rebuild() or switch_to() first)");
        return s;
    }

    static double check_recall(const Index& green, const row_matrix& vectors, const Encoder& encoder,
                               const std::vector<std::string>& queries, const rebuild_config& config,
                               rebuild_report& rep) {
        const std::size_t n = static_cast<std::size_t>(vectors.rows());
        const std::size_t pool = queries.empty() ? n : queries.size();
        const std::size_t m = std::min(config.sample, pool);
        std::vector<std::size_t> order(pool);
        for (std::size_t i = 0; i < pool; ++i) order[i] = i;
        std::mt19937_64 rng(config.seed);
        for (std::size_t i = 0; i < m; ++i) {  // partial Fisher-Yates: the same sample on every platform
            const std::size_t j = i + static_cast<std::size_t>(rng() % (pool - i));
            std::swap(order[i], order[j]);
        }
        row_matrix q(static_cast<Eigen::Index>(m), vectors.cols());
        if (queries.empty()) {
            for (std::size_t i = 0; i < m; ++i) q.row(static_cast<Eigen::Index>(i)) = vectors.row(static_cast<Eigen::Index>(order[i]));
        } else {
            std::vector<std::string> texts(m);
            for (std::size_t i = 0; i < m; ++i) texts[i] = queries[order[i]];
            q = encoder.encode(texts);
            if (q.rows() != static_cast<Eigen::Index>(m) || q.cols() != vectors.cols())
                throw dimension_error("serving_index::rebuild: the encoder returned the wrong shape (got " +
                                      std::to_string(q.rows()) + " x " + std::to_string(q.cols()) + ", expected " +
                                      std::to_string(m) + " x " + std::to_string(vectors.cols()) + ")");
        }
        const std::size_t k = std::min(config.k, n);
        rep.sample = m;
        rep.k = k;
        exact_index_st exact(static_cast<std::size_t>(vectors.cols()), config.hnsw.metric);
        std::vector<label_t> labels(n);
        for (std::size_t i = 0; i < n; ++i) labels[i] = i;
        exact.add(labels, vectors);
        const knn_result truth = exact.search_batch(q, k, config.threads);
        const knn_result got = green.search_batch(q, k, config.threads);
        std::size_t found = 0, expected = 0;
        for (Eigen::Index i = 0; i < truth.labels.rows(); ++i) {
            std::unordered_set<std::int64_t> t;
            for (Eigen::Index j = 0; j < truth.labels.cols(); ++j)
                if (truth.labels(i, j) >= 0) t.insert(truth.labels(i, j));
            expected += t.size();
            for (Eigen::Index j = 0; j < got.labels.cols(); ++j) found += t.count(got.labels(i, j));
        }
        return expected == 0 ? 1.0 : static_cast<double>(found) / static_cast<double>(expected);
    }

    template <class RegistryMutex>
    static std::string publish(basic_model_registry<RegistryMutex>& registry, const Index& green, const Encoder& encoder,
                               const std::vector<std::string>& ids, const rebuild_config& config,
                               const rebuild_report& rep, const std::string& blue) {
        static const std::string where = "serving_index::rebuild";
        detail::staging_folder staging(config.staging_dir, where);
        const auto& dir = staging.path();
        green.save((dir / "index.bin").string());
        std::map<std::string, std::filesystem::path> files{{"index.bin", dir / "index.bin"},
                                                           {"index.bin.aitl.json", dir / "index.bin.aitl.json"},
                                                           {"ids.json", dir / "ids.json"},
                                                           {"rebuild.json", dir / "rebuild.json"}};
        write_text(dir / "ids.json", nlohmann::json{{"format", "aitl.index_ids"}, {"version", 1}, {"ids", ids}}.dump());
        write_text(dir / "rebuild.json", nlohmann::json{{"config", config}, {"report", rep}}.dump(2));
        if (detail::save_encoder_artifact(encoder, (dir / "encoder.bin").string())) files["encoder.bin"] = dir / "encoder.bin";
        const nlohmann::json metrics{{"recall", rep.recall}, {"k", rep.k},       {"sample", rep.sample},
                                     {"documents", rep.documents}, {"dim", rep.dim}};
        std::string parent;
        if (!blue.empty() && blue.rfind("memory-", 0) != 0) {
            try {
                (void)registry.get(blue);
                parent = blue;
            } catch (const not_found&) {
            }
        }
        const std::string v = registry.add(files, version_info{parent, 0, metrics, "index rebuild"});
        registry.promote(v, nlohmann::json{{"reason", "index rebuild"},
                                           {"recall", rep.recall},
                                           {"min_recall", rep.min_recall},
                                           {"sample", rep.sample}});
        return v;
    }

    static void write_text(const std::filesystem::path& path, const std::string& text) {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out)
            throw io_error("serving_index::rebuild: cannot write file (got '" + path.string() + "', expected a writable path)");
    }

    static std::vector<std::string> read_ids(const std::filesystem::path& path) {
        static const std::string where = "serving_index::load";
        std::ifstream in(path, std::ios::binary);
        if (!in) throw io_error(where + ": cannot open file (got '" + path.string() + "', expected a readable file)");
        try {
            const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            const nlohmann::json j = detail::parse_json(text, path.string(), 0, where);
            if (j.at("format") != "aitl.index_ids" || j.at("version") != 1)
                throw io_error(where + ": not an ids file (got '" + path.string() + "', expected format aitl.index_ids version 1)");
            return j.at("ids").get<std::vector<std::string>>();
        } catch (const nlohmann::json::exception& e) {
            throw io_error(where + ": corrupt ids file (got '" + path.string() + "': " + e.what() +
                           ", expected the JSON rebuild() writes)");
        }
    }

    snapshot_type active_;  // read and written only with std::atomic_load / std::atomic_exchange
    std::mutex rebuild_mutex_;
    std::size_t builds_ = 0;  // guarded by rebuild_mutex_
};

/// @brief The default instantiation's name: `serving_index<Encoder, Index>`.
template <class Encoder, class Index>
using serving_index = basic_serving_index<Encoder, Index>;

}  // namespace aitl
