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

inline void config_check_keys(const nlohmann::json& j, const char* type, std::initializer_list<const char*> keys) {
    if (!j.is_object())
        throw config_error(std::string(type) + "::from_json: not an object (got " + j.type_name() +
                           ", expected object)");
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool known = false;
        for (const char* k : keys) known = known || it.key() == k;
        if (!known) {
            std::string list;
            for (const char* k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
            throw config_error(std::string(type) + "::from_json: unknown key (got '" + it.key() +
                               "', expected one of " + list + ")");
        }
    }
}
}  // namespace detail
}  // namespace aitl
