#pragma once
/// @file any_retriever.hpp
/// @brief Type-erased retriever: any type with `hits search(std::string_view, std::size_t)
/// const` behind one concrete type, so components chosen at run time compose (e.g. a hybrid
/// of two retrievers picked from Python).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "../concepts.hpp"
#include "../detail/topk.hpp"
#include "../error.hpp"
#include "../types.hpp"

namespace aitl {

namespace detail {

template <class R, class = void>
struct has_search_batch : std::false_type {};
template <class R>
struct has_search_batch<R, void_t<decltype(std::declval<const R&>().search_batch(
                               std::declval<const std::vector<std::string>&>(), std::declval<std::size_t>(),
                               std::declval<std::size_t>()))>>
    : std::is_convertible<decltype(std::declval<const R&>().search_batch(std::declval<const std::vector<std::string>&>(),
                                                                          std::declval<std::size_t>(),
                                                                          std::declval<std::size_t>())),
                          std::vector<hits>> {};

/// r.search_batch(queries, k, threads) when R has it, else r.search per query on `threads` threads.
template <class R>
std::vector<hits> search_batch_of(const R& r, const std::vector<std::string>& queries, std::size_t k,
                                  std::size_t threads) {
    if constexpr (has_search_batch<R>::value) {
        return r.search_batch(queries, k, threads);
    } else {
        std::vector<hits> out(queries.size());
        parallel_tasks(queries.size(), threads, [&](std::size_t i) { out[i] = r.search(queries[i], k); });
        return out;
    }
}

}  // namespace detail

/**
 * @brief A retriever of any type, shared by pointer (copies share the same object).
 *
 * Holds a `std::shared_ptr` to the wrapped retriever and forwards `search` and
 * `search_batch` (the wrapped type's own search_batch when it has one, else `search` per
 * query on several threads). An empty any_retriever throws state_error when searched.
 *
 * @note Thread safety: exactly that of the wrapped retriever.
 *
 * @code
 * auto bm25 = std::make_shared<aitl::bm25>();
 * aitl::any_retriever r(bm25);            // shares bm25
 * aitl::hits top = r.search("refund", 10);
 * @endcode
 */
class any_retriever {
public:
    /// @brief An empty retriever (searching it throws state_error).
    any_retriever() = default;

    /// @brief Shares `retriever` (which may point to const).
    template <class R>
    explicit any_retriever(std::shared_ptr<R> retriever) {
        using T = std::remove_const_t<R>;
        require_retriever<T>();
        if (!retriever) return;
        type_ = &typeid(T);
        self_ = std::shared_ptr<const void>(std::move(retriever));
        search_ = [](const void* p, std::string_view q, std::size_t k) -> hits {
            return static_cast<const T*>(p)->search(q, k);
        };
        batch_ = [](const void* p, const std::vector<std::string>& qs, std::size_t k, std::size_t threads) {
            return detail::search_batch_of(*static_cast<const T*>(p), qs, k, threads);
        };
    }

    /// @brief Takes ownership of a retriever moved in.
    template <class R, std::enable_if_t<!std::is_same<std::decay_t<R>, any_retriever>::value &&
                                            is_retriever_v<std::decay_t<R>>,
                                        int> = 0>
    explicit any_retriever(R&& retriever)
        : any_retriever(std::make_shared<std::decay_t<R>>(std::forward<R>(retriever))) {}

    /// @returns Whether a retriever is held.
    explicit operator bool() const noexcept { return static_cast<bool>(self_); }

    /// @returns The held retriever when its type is exactly R, else nullptr.
    template <class R>
    const R* target() const noexcept {
        return self_ && *type_ == typeid(R) ? static_cast<const R*>(self_.get()) : nullptr;
    }

    /// @brief Forwards to the held retriever. @throws config_error when k == 0; state_error when empty.
    hits search(std::string_view query, std::size_t k) const {
        detail::check_k("any_retriever::search", k);
        require("any_retriever::search");
        return search_(self_.get(), query, k);
    }

    /// @brief Forwards to the held retriever (threads: 0 = all). @throws as search().
    std::vector<hits> search_batch(const std::vector<std::string>& queries, std::size_t k,
                                   std::size_t threads = 0) const {
        detail::check_k("any_retriever::search_batch", k);
        require("any_retriever::search_batch");
        return batch_(self_.get(), queries, k, threads);
    }

private:
    void require(const std::string& where) const {
        if (!self_) throw state_error(where + ": empty retriever (got none, expected a wrapped retriever)");
    }

    std::shared_ptr<const void> self_;
    const std::type_info* type_ = nullptr;
    hits (*search_)(const void*, std::string_view, std::size_t) = nullptr;
    std::vector<hits> (*batch_)(const void*, const std::vector<std::string>&, std::size_t, std::size_t) = nullptr;
};

}  // namespace aitl
