#pragma once
/// @file pipeline.hpp
/// @brief `basic_pipeline`: one served suggestion end to end — retrieve top-k, rerank to top-n,
/// generate a champion and a challenger reply on randomised sides, log the impression — and
/// the agent's annotations recorded against it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "concepts.hpp"
#include "config.hpp"
#include "detail/topk.hpp"
#include "error.hpp"
#include "feedback/annotation.hpp"
#include "feedback/impression.hpp"
#include "generate/extractive.hpp"
#include "generate/reference.hpp"
#include "kb/knowledge_base.hpp"
#include "pipeline_config.hpp"
#include "rerank/feature_ranker.hpp"
#include "retrieval/bm25.hpp"
#include "store/sqlite_store.hpp"
#include "types.hpp"
#include "detail/shared_component.hpp"

namespace aitl {
namespace detail {

template <class S, class = void>
struct has_append_impressions : std::false_type {};
template <class S>
struct has_append_impressions<S, void_t<decltype(std::declval<S&>().append(std::declval<const std::vector<impression>&>()))>>
    : std::true_type {};
template <class S, class = void>
struct has_append_annotations : std::false_type {};
template <class S>
struct has_append_annotations<S, void_t<decltype(std::declval<S&>().append(std::declval<const std::vector<annotation>&>()))>>
    : std::true_type {};

inline std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

inline std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ull) noexcept {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

inline std::string hex16(std::uint64_t v) {
    static const char* digits = "0123456789abcdef";
    std::string out(16, '0');
    for (std::size_t i = 16; i-- > 0; v >>= 4) out[i] = digits[v & 0xf];
    return out;
}

inline std::int64_t now_ms() {
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
}
}  // namespace detail

/**
 * @brief The serving loop of the flywheel: for a support case, retrieve the top `k` (75)
 * documents, rerank them to the top `n` (8) shown to the agent, generate two replies (the
 * champion and the challenger generator variants), place them on randomised sides, log the
 * impression in the store and return it; `record` stores the agent's annotations of it.
 *
 * Impressions: `retrieved` = the retriever's top k (ranks 1..k, its scores), `shown` = the
 * reranker's top n of those (its scores), `replies[0]` ("A") = the champion variant's reply,
 * `replies[1]` ("B") = the challenger's (a variant whose reply text is empty is left out),
 * `models` = `config().models`. The generator gets the references of the shown documents
 * (title, text, reranker score; ids missing from the knowledge base are skipped) and the
 * conversation as its query: the context turns and then the query, one per line (line breaks
 * inside a turn become spaces), the convention of extractive_generator.
 *
 * The impression's id is the case's `impression_id` or, when empty, "imp-" + 16 hex digits
 * hashed from (seed, case_id, turn, timestamp_ms, query, the serial number of the suggestion in
 * this object), so a fresh pipeline with the same seed given the
 * same cases in the same order logs the same ids. Reply A is on the left when bit 0 of a
 * seeded hash of the id is 0 (`randomise_positions = false`: always left), so sides are
 * reproducible per seed and independent of the content.
 *
 * @tparam Retriever `hits search(std::string_view, std::size_t) const` (concepts.hpp), e.g.
 *         bm25, dense_retriever, hybrid, any_retriever.
 * @tparam Reranker `hits rerank(std::string_view, const hits&, std::size_t) const`, e.g.
 *         identity_reranker, feature_ranker.
 * @tparam Generator `generated_reply generate(std::string_view, const std::vector<reference>&,
 *         std::string_view variant) const` and `std::vector<std::string> variants() const`,
 *         e.g. extractive_generator, callback_generator.
 * @tparam Store `append(impression)`, `append(annotation)`, `get_impression(id)`,
 *         `annotations_since(...)`, e.g. sqlite_store; `append(std::vector<impression>)` (one
 *         transaction) is used by suggest_many when it exists.
 * @tparam Mutex guards the swappable parts (components, models, variants): `std::mutex`
 *         (`pipeline_mt`) or `detail::null_mutex` (`pipeline_st`).
 *
 * Components are held by `std::shared_ptr`: pass a value to move it in, or a `std::shared_ptr`
 * to share one with other code (e.g. the store the flywheel reads). The knowledge base is held
 * by reference and must outlive the pipeline.
 *
 * @note Thread safety: with `std::mutex`, `suggest`, `suggest_many`, `record` and the setters may
 * be called concurrently: each suggestion takes a snapshot of the components, models and variants
 * under the mutex and runs without it, so a swap (e.g. promoting a retrained reranker) applies to
 * the suggestions that start after it, and in-flight ones finish with the parts they started with.
 * The components themselves must allow concurrent const calls (bm25, dense_retriever,
 * feature_ranker, extractive_generator and sqlite_store_mt do), and the knowledge base must not
 * change while serving. With `detail::null_mutex`: one thread. Movable, not copyable; do not
 * move it while in use.
 *
 * @code
 * auto kb = aitl::knowledge_base::load_beir("examples/data/helpcentre");
 * aitl::bm25 bm25;
 * bm25.add(kb);
 * aitl::pipeline p(kb, std::move(bm25), aitl::feature_ranker(kb), aitl::extractive_generator(),
 *                  aitl::sqlite_store("feedback.db"));
 * aitl::impression imp = p.suggest({"case-1", "my card was declined"});
 * aitl::annotation a;
 * a.impression_id = imp.id; a.annotator = "agent-07"; a.timestamp_ms = imp.timestamp_ms + 5000;
 * a.body = aitl::preference{aitl::preference_choice::a, aitl::preference_strength::clear, ""};
 * p.record(a);                      // validated against the stored impression
 * p.set_reranker(std::move(retrained), "trees@2");   // while serving
 * @endcode
 */
template <class Retriever, class Reranker, class Generator, class Store, class Mutex = std::mutex>
class basic_pipeline {
public:
    using retriever_type = Retriever;
    using reranker_type = Reranker;
    using generator_type = Generator;
    using store_type = Store;
    using mutex_type = Mutex;

    /**
     * @brief Assembles a pipeline. Each component is a value (moved in) or a `std::shared_ptr`
     * to it (shared).
     * @throws config_error for invalid settings, a null shared_ptr, or a champion or challenger
     *         variant the generator does not list in `variants()`.
     */
    template <class R, class RR, class G, class S>
    basic_pipeline(const knowledge_base& kb, R&& retriever, RR&& reranker, G&& generator, S&& store,
                   pipeline_config config = {})
        : s_(std::make_unique<state>()) {
        require_retriever<Retriever>();
        require_reranker<Reranker>();
        require_generator<Generator>();
        require_store<Store>();
        const char* w = "pipeline::pipeline";
        validate(config, w);
        s_->kb = &kb;
        s_->parts.retriever = detail::shared_component<const Retriever>(std::forward<R>(retriever), w);
        s_->parts.reranker = detail::shared_component<const Reranker>(std::forward<RR>(reranker), w);
        s_->parts.generator = detail::shared_component<const Generator>(std::forward<G>(generator), w);
        s_->store = detail::shared_component<Store>(std::forward<S>(store), w);
        check_variants(*s_->parts.generator, config.champion_variant, config.challenger_variant, w);
        s_->parts.config = std::move(config);
    }

    basic_pipeline(basic_pipeline&&) noexcept = default;
    basic_pipeline& operator=(basic_pipeline&&) noexcept = default;

    /**
     * @brief Serves one case: retrieve, rerank, generate two replies, log the impression.
     * @returns The impression as stored (its `seq` stays 0: read it back with
     *          `store().get_impression(id)` for the store's order number).
     * @throws config_error for an invalid case or an invalid impression (e.g. a reranker that
     *         returned a document it was not given, a non-finite score, a duplicate id); what
     *         the components and the store throw. Nothing is stored when it throws.
     */
    impression suggest(const support_case& c) {
        const serving_parts p = snapshot();
        const std::uint64_t serial = s_->serial.fetch_add(1);
        impression imp = build(p, c, serial, "pipeline::suggest");
        imp.id = s_->store->append(imp);
        return imp;
    }

    /**
     * @brief Serves many cases, on `threads` threads (0 = all hardware threads), and logs them
     * in one store transaction when the store has `append(std::vector<impression>)`.
     * @returns The impressions, in the order of `cases`.
     * @throws as suggest(); then nothing of the call is stored (with a transactional store).
     */
    std::vector<impression> suggest_many(const std::vector<support_case>& cases, std::size_t threads = 1) {
        const serving_parts p = snapshot();
        const std::uint64_t first = s_->serial.fetch_add(cases.size());
        std::vector<impression> out(cases.size());
        detail::parallel_tasks(cases.size(), threads, [&](std::size_t i) {
            out[i] = build(p, cases[i], first + i, "pipeline::suggest_many");
        });
        if (out.empty()) return out;
        if constexpr (detail::has_append_impressions<Store>::value) {
            std::vector<std::string> ids = s_->store->append(out);
            for (std::size_t i = 0; i < out.size(); ++i) out[i].id = std::move(ids[i]);
        } else {
            for (auto& imp : out) imp.id = s_->store->append(imp);
        }
        return out;
    }

    /**
     * @brief The impression suggest() would log for `c`, without storing it (a dry run; it
     * uses a serial number, so the next suggest() gets another id).
     * @throws as suggest(), except for store errors.
     */
    impression draft(const support_case& c) {
        const serving_parts p = snapshot();
        return build(p, c, s_->serial.fetch_add(1), "pipeline::draft");
    }

    /**
     * @brief Validates an annotation against its stored impression and stores it.
     * @returns Its id (assigned by the store when empty).
     * @throws not_found when the impression is not stored; config_error naming the field
     *         (validate(annotation, impression): e.g. a relevance label for a document that was
     *         not shown, an adoption of a reply that was not shown). Nothing is stored then.
     */
    std::string record(const annotation& a) {
        check_annotation(a);
        return s_->store->append(a);
    }

    /// @brief record() for many annotations, stored in one transaction when the store has
    /// `append(std::vector<annotation>)`: all of them or, on any error, none.
    /// @returns Their ids, in order.
    std::vector<std::string> record(const std::vector<annotation>& anns) {
        for (const auto& a : anns) check_annotation(a);
        if constexpr (detail::has_append_annotations<Store>::value) {
            return s_->store->append(anns);
        } else {
            std::vector<std::string> ids;
            for (const auto& a : anns) ids.push_back(s_->store->append(a));
            return ids;
        }
    }

    /// @brief Serves later suggestions with this retriever (value or shared_ptr); a non-empty
    /// `version` becomes `models["retriever"]`. @throws config_error for a null shared_ptr.
    template <class R>
    void set_retriever(R&& retriever, const std::string& version = {}) {
        auto p = detail::shared_component<const Retriever>(std::forward<R>(retriever), "pipeline::set_retriever");
        std::lock_guard<Mutex> lock(s_->mutex);
        s_->parts.retriever = std::move(p);
        if (!version.empty()) s_->parts.config.models["retriever"] = version;
    }

    /// @brief Serves later suggestions with this reranker; a non-empty `version` becomes
    /// `models["reranker"]`. @throws config_error for a null shared_ptr.
    template <class RR>
    void set_reranker(RR&& reranker, const std::string& version = {}) {
        auto p = detail::shared_component<const Reranker>(std::forward<RR>(reranker), "pipeline::set_reranker");
        std::lock_guard<Mutex> lock(s_->mutex);
        s_->parts.reranker = std::move(p);
        if (!version.empty()) s_->parts.config.models["reranker"] = version;
    }

    /// @brief Serves later suggestions with this generator; a non-empty `version` becomes
    /// `models["generator"]`. @throws config_error for a null shared_ptr or when it lacks the
    /// champion or challenger variant.
    template <class G>
    void set_generator(G&& generator, const std::string& version = {}) {
        const char* w = "pipeline::set_generator";
        auto p = detail::shared_component<const Generator>(std::forward<G>(generator), w);
        std::lock_guard<Mutex> lock(s_->mutex);
        check_variants(*p, s_->parts.config.champion_variant, s_->parts.config.challenger_variant, w);
        s_->parts.generator = std::move(p);
        if (!version.empty()) s_->parts.config.models["generator"] = version;
    }

    /// @brief Sets the generator variants of reply A (champion) and reply B (challenger), e.g.
    /// after a promotion. @throws config_error when empty, equal, or not offered by the generator.
    void set_variants(const std::string& champion, const std::string& challenger) {
        const char* w = "pipeline::set_variants";
        std::lock_guard<Mutex> lock(s_->mutex);
        pipeline_config c = s_->parts.config;
        c.champion_variant = champion;
        c.challenger_variant = challenger;
        validate(c, w);
        check_variants(*s_->parts.generator, champion, challenger, w);
        s_->parts.config = std::move(c);
    }

    /// @brief Replaces the role → version map logged with later impressions.
    /// @throws config_error for an empty role or version.
    void set_models(std::map<std::string, std::string> models) {
        std::lock_guard<Mutex> lock(s_->mutex);
        pipeline_config c = s_->parts.config;
        c.models = std::move(models);
        validate(c, "pipeline::set_models");
        s_->parts.config = std::move(c);
    }

    /// @brief Sets one role's version. @throws config_error for an empty role or version.
    void set_model(const std::string& role, const std::string& version) {
        std::lock_guard<Mutex> lock(s_->mutex);
        pipeline_config c = s_->parts.config;
        c.models[role] = version;
        validate(c, "pipeline::set_model");
        s_->parts.config = std::move(c);
    }

    /// @returns A copy of the settings (with the current models and variants).
    pipeline_config config() const {
        std::lock_guard<Mutex> lock(s_->mutex);
        return s_->parts.config;
    }
    /// @returns The current retriever (shared: it stays valid after a swap).
    std::shared_ptr<const Retriever> retriever() const { return snapshot().retriever; }
    /// @returns The current reranker.
    std::shared_ptr<const Reranker> reranker() const { return snapshot().reranker; }
    /// @returns The current generator.
    std::shared_ptr<const Generator> generator() const { return snapshot().generator; }
    /// @returns The store (fixed for the pipeline's lifetime).
    Store& store() const noexcept { return *s_->store; }
    /// @returns The store, shared.
    const std::shared_ptr<Store>& shared_store() const noexcept { return s_->store; }
    /// @returns The knowledge base the replies are grounded in.
    const knowledge_base& kb() const noexcept { return *s_->kb; }

private:
    struct serving_parts {
        std::shared_ptr<const Retriever> retriever;
        std::shared_ptr<const Reranker> reranker;
        std::shared_ptr<const Generator> generator;
        pipeline_config config;
    };
    struct state {
        const knowledge_base* kb = nullptr;
        std::shared_ptr<Store> store;
        mutable Mutex mutex;
        serving_parts parts;  // guarded by mutex
        std::atomic<std::uint64_t> serial{0};
    };

    serving_parts snapshot() const {
        std::lock_guard<Mutex> lock(s_->mutex);
        return s_->parts;
    }

    static void check_variants(const Generator& g, const std::string& champion, const std::string& challenger,
                               const char* where) {
        const std::vector<std::string> offered = g.variants();
        std::string list;
        bool has_a = false, has_b = false;
        for (const auto& v : offered) {
            has_a = has_a || v == champion;
            has_b = has_b || v == challenger;
            list += (list.empty() ? "" : ", ") + v;
        }
        for (const auto* v : {&champion, &challenger})
            if (!(v == &champion ? has_a : has_b))
                throw config_error(std::string(where) + ": the generator has no variant '" + *v + "' (got '" + *v +
                                   "', expected one of: " + list + ")");
    }

    void check_annotation(const annotation& a) const {
        validate(a);
        impression imp;
        try {
            imp = s_->store->get_impression(a.impression_id);
        } catch (const not_found&) {
            throw not_found("pipeline::record: field 'impression_id': unknown impression (got '" + a.impression_id +
                            "', expected the id of a stored impression)");
        }
        validate(a, imp);
    }

    std::string impression_id(const serving_parts& p, const support_case& c, std::int64_t ts, std::uint64_t serial) const {
        if (!c.impression_id.empty()) return c.impression_id;
        std::uint64_t h = detail::splitmix64(p.config.seed);
        h = detail::splitmix64(h ^ detail::fnv1a(c.case_id));
        h = detail::splitmix64(h ^ c.turn);
        h = detail::splitmix64(h ^ static_cast<std::uint64_t>(ts));
        h = detail::splitmix64(h ^ detail::fnv1a(c.query));
        h = detail::splitmix64(h ^ serial);
        return "imp-" + detail::hex16(h);
    }

    static std::string one_line(std::string s) {
        for (auto& ch : s)
            if (ch == '\n' || ch == '\r') ch = ' ';
        return s;
    }

    impression build(const serving_parts& p, const support_case& c, std::uint64_t serial, const char* where) const {
        validate(c, where);
        const pipeline_config& cfg = p.config;
        impression imp;
        imp.case_id = c.case_id;
        imp.turn = c.turn;
        imp.timestamp_ms = c.timestamp_ms == 0 ? detail::now_ms() : c.timestamp_ms;
        imp.query = c.query;
        imp.context = c.context;
        imp.models = cfg.models;
        imp.id = impression_id(p, c, imp.timestamp_ms, serial);

        hits retrieved = p.retriever->search(c.query, cfg.k);
        if (retrieved.size() > cfg.k) retrieved.resize(cfg.k);
        hits shown;
        if (!retrieved.empty()) shown = p.reranker->rerank(c.query, retrieved, cfg.n);
        if (shown.size() > cfg.n) shown.resize(cfg.n);
        imp.retrieved.reserve(retrieved.size());
        for (std::size_t i = 0; i < retrieved.size(); ++i)
            imp.retrieved.push_back({retrieved[i].id, static_cast<std::uint32_t>(i + 1), retrieved[i].score});
        imp.shown.reserve(shown.size());
        for (std::size_t i = 0; i < shown.size(); ++i)
            imp.shown.push_back({shown[i].id, static_cast<std::uint32_t>(i + 1), shown[i].score});

        std::vector<reference> refs;
        refs.reserve(shown.size());
        for (const auto& h : shown)
            if (const document* d = s_->kb->find(h.id)) refs.push_back(reference{d->id, d->title, d->text, h.score});

        const std::uint64_t side = detail::splitmix64(detail::fnv1a(imp.id) ^ detail::splitmix64(~cfg.seed));
        const bool a_left = !cfg.randomise_positions || (side & 1u) == 0;
        // The generator reads the conversation: context turns, then the query, one per line.
        std::string conversation;
        for (const auto& turn : c.context) conversation += one_line(turn) + "\n";
        conversation += one_line(c.query);
        for (const std::string* variant : {&cfg.champion_variant, &cfg.challenger_variant}) {
            generated_reply r = p.generator->generate(conversation, refs, *variant);
            if (r.text.empty()) continue;
            const bool is_a = variant == &cfg.champion_variant;
            imp.replies.push_back(reply{*variant, std::move(r.text),
                                        is_a == a_left ? screen_position::left : screen_position::right});
        }
        if (imp.replies.size() == 1) imp.replies[0].position = screen_position::left;
        validate(imp);
        return imp;
    }

    std::unique_ptr<state> s_;
};

/// @brief The default pipeline: BM25, the learned feature ranker (first-stage order until fitted),
/// the extractive generator and the SQLite store; for concurrent use.
using pipeline_mt = basic_pipeline<bm25, feature_ranker, extractive_generator, sqlite_store>;
/// @brief The default pipeline for one thread (no locking of the swappable parts).
using pipeline_st = basic_pipeline<bm25, feature_ranker, extractive_generator, sqlite_store, detail::null_mutex>;
/// @brief The default pipeline (`pipeline_mt`).
using pipeline = pipeline_mt;

}  // namespace aitl
