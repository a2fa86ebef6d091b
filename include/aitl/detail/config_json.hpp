#pragma once
// Helpers for the from_json of settings structs: unknown keys and wrong types become
// config_error (missing keys keep their defaults).

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <string>

#include <nlohmann/json.hpp>

#include "../error.hpp"

namespace aitl {
namespace detail {
// Reads `key` from a config object when present; wrong types and unknown keys are config_errors.
// An integer field takes only a JSON integer in T's range: nlohmann's get<T>() would cast 1e308
// or -1 into it (undefined or wrapped; found by fuzzing).
template <class T>
void config_read_key(const nlohmann::json& j, const char* type, const char* key, T& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        bool fits = false;
        constexpr auto hi = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        if (it->is_number_unsigned()) {
            fits = it->get<std::uint64_t>() <= hi;
        } else if (it->is_number_integer()) {
            const std::int64_t v = it->get<std::int64_t>();
            fits = v >= 0 ? static_cast<std::uint64_t>(v) <= hi
                          : std::is_signed_v<T> && v >= static_cast<std::int64_t>(std::numeric_limits<T>::min());
        }
        if (!fits)
            throw config_error(std::string(type) + "::from_json: wrong value for '" + key + "' (got " +
                               it->dump().substr(0, 40) + ", expected an integer in [" +
                               std::to_string(std::numeric_limits<T>::min()) + ", " +
                               std::to_string(std::numeric_limits<T>::max()) + "])");
    }
    try {
        out = it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw config_error(std::string(type) + "::from_json: wrong type for '" + key + "' (got " +
                           it->type_name() + ")");
    }
}

// The first key of object `j` not in `keys` (nullptr when all are known).
inline const std::string* find_unknown_key(const nlohmann::json& j, std::initializer_list<const char*> keys) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool known = false;
        for (const char* k : keys) known = known || it.key() == k;
        if (!known) return &it.key();
    }
    return nullptr;
}

// "a, b, c": the keys for an error message.
inline std::string key_list(std::initializer_list<const char*> keys) {
    std::string list;
    for (const char* k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
    return list;
}

inline void config_check_keys(const nlohmann::json& j, const char* type, std::initializer_list<const char*> keys) {
    if (!j.is_object())
        throw config_error(std::string(type) + "::from_json: not an object (got " + j.type_name() +
                           ", expected object)");
    if (const std::string* key = find_unknown_key(j, keys))
        throw config_error(std::string(type) + "::from_json: unknown key (got '" + *key + "', expected one of " +
                           key_list(keys) + ")");
}
}  // namespace detail
}  // namespace aitl
