#pragma once
// Helpers for the from_json of settings structs: unknown keys and wrong types become
// config_error (missing keys keep their defaults).

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <vector>
#include <string>

#include <nlohmann/json.hpp>

#include "../error.hpp"

namespace aitl {
namespace detail {
// Reads `key` from a config object when present; wrong types and unknown keys are config_errors.
// Whether `v` is a JSON integer in T's range. nlohmann's get<T>() would cast 1e308 or -1 into
// an integer type (undefined or wrapped; found by fuzzing), so every integer read from a file
// goes through this or json_integer.
template <class T>
bool json_integer_fits(const nlohmann::json& v) {
    constexpr auto hi = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= hi;
    if (!v.is_number_integer()) return false;
    const std::int64_t x = v.get<std::int64_t>();
    return x >= 0 ? static_cast<std::uint64_t>(x) <= hi
                  : std::is_signed_v<T> && x >= static_cast<std::int64_t>(std::numeric_limits<T>::min());
}

template <class T>
std::string json_integer_expected() {
    return "an integer in [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
           std::to_string(std::numeric_limits<T>::max()) + "]";
}

// `v` as T; config_error "<what>: wrong value (got .., expected an integer in [lo, hi])".
template <class T>
T json_integer(const nlohmann::json& v, const std::string& what) {
    if (!json_integer_fits<T>(v))
        throw config_error(what + ": wrong value (got " + v.dump().substr(0, 40) + ", expected " +
                           json_integer_expected<T>() + ")");
    return v.get<T>();
}

// An array of integers, each checked as json_integer.
template <class T>
std::vector<T> json_integers(const nlohmann::json& v, const std::string& what) {
    if (!v.is_array())
        throw config_error(what + ": wrong type (got " + std::string(v.type_name()) + ", expected an array of integers)");
    std::vector<T> out;
    out.reserve(v.size());
    for (const auto& x : v) out.push_back(json_integer<T>(x, what));
    return out;
}

// Reads `key` from a config object when present; wrong types and unknown keys are config_errors.
template <class T>
void config_read_key(const nlohmann::json& j, const char* type, const char* key, T& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (!json_integer_fits<T>(*it))
            throw config_error(std::string(type) + "::from_json: wrong value for '" + key + "' (got " +
                               it->dump().substr(0, 40) + ", expected " + json_integer_expected<T>() + ")");
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
