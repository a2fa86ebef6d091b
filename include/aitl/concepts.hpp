#pragma once
/// @file concepts.hpp
/// @brief The contracts of aitl's template slots: for each, a doc comment of the required
/// members, a detection trait, a `static_assert` helper whose message names the missing
/// member, and a small reference model that compiles (see tests/cpp/compile_fail/).

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "feedback/annotation.hpp"
#include "feedback/impression.hpp"
#include "generate/reference.hpp"
#include "types.hpp"
#include "error.hpp"

namespace aitl {
namespace detail {
template <class...>
using void_t = void;
}  // namespace detail

// --------------------------------------------------------------------------------------
// Retriever
// --------------------------------------------------------------------------------------

/**
 * @brief Retriever contract.
 *
 * A type `R` is a retriever when, for `const R r`, `std::string_view q`, `std::size_t k`:
 *  - `r.search(q, k)` returns `aitl::hits` (best first, at most k);
 *    k == 0 throws `config_error`.
 *
 * Indexable retrievers also provide `add(std::string_view id, std::string_view text)`,
 * `remove(std::string_view id)` and `size()`.
 */
template <class R, class = void>
struct is_retriever : std::false_type {};
template <class R>
struct is_retriever<R, detail::void_t<decltype(std::declval<const R&>().search(
                           std::declval<std::string_view>(), std::declval<std::size_t>()))>>
    : std::is_convertible<decltype(std::declval<const R&>().search(
                              std::declval<std::string_view>(), std::declval<std::size_t>())),
                          hits> {};
template <class R>
inline constexpr bool is_retriever_v = is_retriever<R>::value;

/// @brief Fails compilation with a message naming the missing member.
template <class R>
constexpr void require_retriever() {
    static_assert(is_retriever_v<R>,
                  "aitl: Retriever must provide `hits search(std::string_view query, std::size_t k) const`");
}

/// @brief Reference model of the retriever contract (returns nothing).
struct retriever_model {
    hits search(std::string_view, std::size_t) const { return {}; }
};

// --------------------------------------------------------------------------------------
// Encoder
// --------------------------------------------------------------------------------------

/**
 * @brief Encoder contract.
 *
 * A type `E` is an encoder when, for `const E e`, `std::vector<std::string> texts`:
 *  - `e.dim()` returns the fixed output dimension (`std::size_t`, > 0);
 *  - `e.encode(texts)` returns an `aitl::row_matrix` of `texts.size()` rows and `dim()`
 *    columns, finite values.
 */
template <class E, class = void>
struct has_dim : std::false_type {};
template <class E>
struct has_dim<E, detail::void_t<decltype(std::declval<const E&>().dim())>>
    : std::is_convertible<decltype(std::declval<const E&>().dim()), std::size_t> {};

template <class E, class = void>
struct has_encode : std::false_type {};
template <class E>
struct has_encode<E, detail::void_t<decltype(std::declval<const E&>().encode(
                         std::declval<const std::vector<std::string>&>()))>>
    : std::is_convertible<decltype(std::declval<const E&>().encode(
                              std::declval<const std::vector<std::string>&>())),
                          row_matrix> {};

template <class E>
inline constexpr bool is_encoder_v = has_dim<E>::value && has_encode<E>::value;

/// @brief Fails compilation with a message naming the missing member.
template <class E>
constexpr void require_encoder() {
    static_assert(has_dim<E>::value, "aitl: Encoder must provide `std::size_t dim() const`");
    static_assert(has_encode<E>::value,
                  "aitl: Encoder must provide `row_matrix encode(const std::vector<std::string>&) const`");
}

/// @brief Reference model of the encoder contract (zero vectors of dimension 1).
struct encoder_model {
    std::size_t dim() const { return 1; }
    row_matrix encode(const std::vector<std::string>& texts) const {
        return row_matrix::Zero(static_cast<Eigen::Index>(texts.size()), 1);
    }
};


// --------------------------------------------------------------------------------------
// Reranker
// --------------------------------------------------------------------------------------

/**
 * @brief Reranker contract.
 *
 * A type `R` is a reranker when, for `const R r`, `std::string_view q`, `const hits& c`,
 * `std::size_t k`:
 *  - `r.rerank(q, c, k)` returns `aitl::hits`: at most k of the candidates `c`, best first
 *    (scores are the reranker's); k == 0 throws `config_error`.
 *
 * `identity_reranker` keeps the first stage's order; `feature_ranker`
 * (rerank/feature_ranker.hpp) is the learned one.
 */
template <class R, class = void>
struct is_reranker : std::false_type {};
template <class R>
struct is_reranker<R, detail::void_t<decltype(std::declval<const R&>().rerank(
                          std::declval<std::string_view>(), std::declval<const hits&>(), std::declval<std::size_t>()))>>
    : std::is_convertible<decltype(std::declval<const R&>().rerank(std::declval<std::string_view>(),
                                                                   std::declval<const hits&>(), std::declval<std::size_t>())),
                          hits> {};
template <class R>
inline constexpr bool is_reranker_v = is_reranker<R>::value;

/// @brief Fails compilation with a message naming the missing member.
template <class R>
constexpr void require_reranker() {
    static_assert(is_reranker_v<R>,
                  "aitl: Reranker must provide `hits rerank(std::string_view query, const hits& candidates, std::size_t k) const`");
}

/// @brief Reference model of the reranker contract (returns nothing).
struct reranker_model {
    hits rerank(std::string_view, const hits&, std::size_t) const { return {}; }
};

/// @brief The reranker that keeps the first stage's order: the first k candidates.
struct identity_reranker {
    /// @throws config_error when k == 0.
    hits rerank(std::string_view, const hits& candidates, std::size_t k) const {
        if (k == 0) throw config_error("identity_reranker::rerank: k must be positive (got 0, expected >= 1)");
        return hits(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(k < candidates.size() ? k : candidates.size()));
    }
};

// --------------------------------------------------------------------------------------
// Store
// --------------------------------------------------------------------------------------

/**
 * @brief Store contract: where impressions and annotations are appended and read back.
 *
 * A type `S` is a store when, for `S s`, `const S cs`, `impression i`, `annotation a`:
 *  - `s.append(i)` validates and stores the impression, returns its id (`std::string`);
 *  - `s.append(a)` validates the annotation against its stored impression, stores it, returns
 *    its id; nothing is stored when it throws;
 *  - `cs.get_impression(std::string_view id)` returns the `impression` (throws `not_found`);
 *  - `cs.annotations_since(std::int64_t watermark, std::size_t limit)` returns the annotations
 *    stored after `watermark` (their `seq` is larger), in store order, at most `limit` (0 = all).
 *
 * `basic_sqlite_store` (store/sqlite_store.hpp) is the embedded default; a server database
 * plugs in by providing the same members.
 */
template <class S, class = void>
struct has_append_impression : std::false_type {};
template <class S>
struct has_append_impression<S, detail::void_t<decltype(std::declval<S&>().append(std::declval<const impression&>()))>>
    : std::is_convertible<decltype(std::declval<S&>().append(std::declval<const impression&>())), std::string> {};

template <class S, class = void>
struct has_append_annotation : std::false_type {};
template <class S>
struct has_append_annotation<S, detail::void_t<decltype(std::declval<S&>().append(std::declval<const annotation&>()))>>
    : std::is_convertible<decltype(std::declval<S&>().append(std::declval<const annotation&>())), std::string> {};

template <class S, class = void>
struct has_get_impression : std::false_type {};
template <class S>
struct has_get_impression<S, detail::void_t<decltype(std::declval<const S&>().get_impression(std::declval<std::string_view>()))>>
    : std::is_convertible<decltype(std::declval<const S&>().get_impression(std::declval<std::string_view>())), impression> {};

template <class S, class = void>
struct has_annotations_since : std::false_type {};
template <class S>
struct has_annotations_since<S, detail::void_t<decltype(std::declval<const S&>().annotations_since(
                                    std::declval<std::int64_t>(), std::declval<std::size_t>()))>>
    : std::is_convertible<decltype(std::declval<const S&>().annotations_since(std::declval<std::int64_t>(),
                                                                              std::declval<std::size_t>())),
                          std::vector<annotation>> {};

template <class S>
inline constexpr bool is_store_v = has_append_impression<S>::value && has_append_annotation<S>::value &&
                                   has_get_impression<S>::value && has_annotations_since<S>::value;

/// @brief Fails compilation with a message naming the missing member.
template <class S>
constexpr void require_store() {
    static_assert(has_append_impression<S>::value, "aitl: Store must provide `std::string append(const impression&)`");
    static_assert(has_append_annotation<S>::value, "aitl: Store must provide `std::string append(const annotation&)`");
    static_assert(has_get_impression<S>::value,
                  "aitl: Store must provide `impression get_impression(std::string_view) const`");
    static_assert(has_annotations_since<S>::value,
                  "aitl: Store must provide `std::vector<annotation> annotations_since(std::int64_t, std::size_t) const`");
}

/// @brief Reference model of the store contract (stores nothing, finds nothing).
struct store_model {
    std::string append(const impression& i) { return i.id; }
    std::string append(const annotation& a) { return a.id; }
    impression get_impression(std::string_view) const { throw not_found("store_model::get_impression: empty store"); }
    std::vector<annotation> annotations_since(std::int64_t, std::size_t) const { return {}; }
};

// --------------------------------------------------------------------------------------
// Generator
// --------------------------------------------------------------------------------------

/**
 * @brief Generator contract.
 *
 * A type `G` is a generator when, for `const G g`, `std::string_view q`,
 * `const std::vector<reference>& refs` (best first), `std::string_view v`:
 *  - `g.generate(q, refs, v)` returns a `generated_reply` whose text cites references as
 *    `[doc_id]` markers and whose `citations` list the cited ids of `refs`; an unknown variant
 *    `v` throws `config_error`; no references is an expected case (a fallback reply);
 *  - `g.variants()` returns the variant names it accepts (`std::vector<std::string>`, non-empty).
 *
 * `extractive_generator` (generate/extractive.hpp) is the offline default,
 * `callback_generator` (generate/callback_generator.hpp) wraps any function (e.g. an LLM) and
 * `reward_selected_generator` (generate/best_of_n.hpp) picks the best of N by a reward model.
 */
template <class G, class = void>
struct has_generate : std::false_type {};
template <class G>
struct has_generate<G, detail::void_t<decltype(std::declval<const G&>().generate(
                           std::declval<std::string_view>(), std::declval<const std::vector<reference>&>(),
                           std::declval<std::string_view>()))>>
    : std::is_convertible<decltype(std::declval<const G&>().generate(std::declval<std::string_view>(),
                                                                     std::declval<const std::vector<reference>&>(),
                                                                     std::declval<std::string_view>())),
                          generated_reply> {};

template <class G, class = void>
struct has_variants : std::false_type {};
template <class G>
struct has_variants<G, detail::void_t<decltype(std::declval<const G&>().variants())>>
    : std::is_convertible<decltype(std::declval<const G&>().variants()), std::vector<std::string>> {};

template <class G>
struct is_generator : std::integral_constant<bool, has_generate<G>::value && has_variants<G>::value> {};
template <class G>
inline constexpr bool is_generator_v = is_generator<G>::value;

/// @brief Fails compilation with a message naming the missing member.
template <class G>
constexpr void require_generator() {
    static_assert(has_generate<G>::value,
                  "aitl: Generator must provide `generated_reply generate(std::string_view query, const "
                  "std::vector<reference>& refs, std::string_view variant) const`");
    static_assert(has_variants<G>::value, "aitl: Generator must provide `std::vector<std::string> variants() const`");
}

/// @brief Reference model of the generator contract (one variant "default", an empty reply).
struct generator_model {
    generated_reply generate(std::string_view, const std::vector<reference>&, std::string_view variant) const {
        if (variant != "default")
            throw config_error("generator_model::generate: unknown variant (got '" + std::string(variant) +
                               "', expected default)");
        return generated_reply{{}, {}, std::string(variant)};
    }
    std::vector<std::string> variants() const { return {"default"}; }
};

/**
 * @brief Reward model contract (as used for best-of-N).
 *
 * A type `M` is a reward scorer when, for `const M m`, `m.score(std::string_view query,
 * std::string_view reply, const std::vector<std::string>& references)` returns a number (higher is
 * better); `references` are the texts of `reward_references` ("[doc_id] title\ntext").
 * `reward_model` (learn/reward_model.hpp) is the trained Bradley–Terry one.
 */
template <class M, class = void>
struct is_reward_scorer : std::false_type {};
template <class M>
struct is_reward_scorer<M, detail::void_t<decltype(std::declval<const M&>().score(
                               std::declval<std::string_view>(), std::declval<std::string_view>(),
                               std::declval<const std::vector<std::string>&>()))>>
    : std::is_convertible<decltype(std::declval<const M&>().score(std::declval<std::string_view>(),
                                                                  std::declval<std::string_view>(),
                                                                  std::declval<const std::vector<std::string>&>())),
                          double> {};
template <class M>
inline constexpr bool is_reward_scorer_v = is_reward_scorer<M>::value;

/// @brief Fails compilation with a message naming the missing member.
template <class M>
constexpr void require_reward_scorer() {
    static_assert(is_reward_scorer_v<M>,
                  "aitl: RewardModel must provide `double score(std::string_view query, std::string_view reply, const "
                  "std::vector<std::string>& references) const`");
}

/// @brief Reference model of the reward scorer contract (every reply scores 0).
struct reward_scorer_model {
    double score(std::string_view, std::string_view, const std::vector<std::string>&) const { return 0.0; }
};

}  // namespace aitl
