#pragma once
// How composed types hold their parts: a std::shared_ptr argument is shared, a value is moved
// into a new std::shared_ptr (basic_pipeline's slots, reranked, filtered, fused,
// reward_selected_generator).
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "../error.hpp"

namespace aitl::detail {

template <class T>
struct is_shared_ptr : std::false_type {};
template <class T>
struct is_shared_ptr<std::shared_ptr<T>> : std::true_type {};

/// `arg` as a std::shared_ptr<T> (T may be const): shared when it is a shared_ptr (null:
/// config_error naming `where`), else moved or copied into a new one.
template <class T, class Arg>
std::shared_ptr<T> shared_component(Arg&& arg, const char* where) {
    using A = std::decay_t<Arg>;
    if constexpr (is_shared_ptr<A>::value) {
        static_assert(std::is_convertible<A, std::shared_ptr<T>>::value,
                      "aitl: a shared_ptr component must point to the slot's type");
        std::shared_ptr<T> p = std::forward<Arg>(arg);
        if (!p) throw config_error(std::string(where) + ": null component (got nullptr, expected an object)");
        return p;
    } else {
        return std::make_shared<T>(std::forward<Arg>(arg));
    }
}

}  // namespace aitl::detail
