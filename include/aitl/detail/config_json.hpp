#pragma once
// Helpers for the from_json of settings structs: unknown keys and wrong types become
// config_error (missing keys keep their defaults).

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "../error.hpp"

namespace aitl {
namespace detail {
// Reads `key` from a config object when present; wrong types and unknown keys are config_errors.
template <class T>
void config_read_key(const nlohmann::json& j, const char* type, const char* key, T& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
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
