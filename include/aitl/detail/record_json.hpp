#pragma once
// Strict JSON readers for records (impressions, annotations): a wrong type, a missing required
// key or an unknown key is a config_error naming the field; callers reading files rethrow it as
// a parse_error with the file and line.

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "config_json.hpp"

namespace aitl {
namespace detail {

inline std::string field_path(std::string_view prefix, std::string_view key) {
    if (prefix.empty()) return std::string(key);
    return std::string(prefix) + "." + std::string(key);
}

[[noreturn]] inline void record_field_error(std::string_view where, std::string_view field,
                                            std::string_view what) {
    throw config_error(std::string(where) + ": field '" + std::string(field) + "': " + std::string(what));
}

inline void record_check_object(const nlohmann::json& j, std::string_view where, std::string_view field) {
    if (!j.is_object())
        record_field_error(where, field.empty() ? std::string_view("(record)") : field,
                           std::string("wrong type (got ") + j.type_name() + ", expected object)");
}

inline void record_check_keys(const nlohmann::json& j, std::string_view where, std::string_view prefix,
                              std::initializer_list<const char*> keys) {
    if (const std::string* key = find_unknown_key(j, keys))
        record_field_error(where, field_path(prefix, *key), "unknown key (expected one of " + key_list(keys) + ")");
}

template <class T>
std::string record_expected_type() {
    if constexpr (std::is_same_v<T, std::string>) return "string";
    else if constexpr (std::is_same_v<T, bool>) return "boolean";
    else if constexpr (std::is_floating_point_v<T>) return "number";
    else if constexpr (std::is_integral_v<T>)
        return "integer in [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
               std::to_string(std::numeric_limits<T>::max()) + "]";
    else return "value";
}

template <class T>
bool record_type_ok(const nlohmann::json& v) {
    if constexpr (std::is_same_v<T, std::string>) return v.is_string();
    else if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
    else if constexpr (std::is_floating_point_v<T>) return v.is_number();
    else if constexpr (std::is_integral_v<T>) {
        if (!v.is_number_integer()) return false;
        if (v.is_number_unsigned())
            return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        auto x = v.get<std::int64_t>();
        if constexpr (std::is_unsigned_v<T>) return x >= 0 && static_cast<std::uint64_t>(x) <= std::numeric_limits<T>::max();
        else return x >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                    x <= static_cast<std::int64_t>(std::numeric_limits<T>::max());
    } else return true;
}

// Reads `key` into `out`; absent → required ? error : keep default.
template <class T>
void record_read(const nlohmann::json& j, std::string_view where, std::string_view prefix, const char* key,
                 T& out, bool required) {
    auto it = j.find(key);
    if (it == j.end() || (!required && it->is_null())) {
        if (required) record_field_error(where, field_path(prefix, key), "missing required key");
        return;
    }
    if (!record_type_ok<T>(*it))
        record_field_error(where, field_path(prefix, key),
                           std::string("wrong type (got ") + it->type_name() + " " + it->dump() +
                               ", expected " + record_expected_type<T>() + ")");
    out = it->get<T>();
}

// Enum <-> name tables: specialise enum_names<E> with `static constexpr std::array names` and `type`.
template <class E>
struct enum_names;

template <class E>
std::string_view enum_to_name(E e) {
    const auto& names = enum_names<E>::names;
    auto i = static_cast<std::size_t>(e);
    return i < names.size() ? names[i] : std::string_view("?");
}

template <class E>
E enum_from_name(std::string_view s, std::string_view where, std::string_view field) {
    const auto& names = enum_names<E>::names;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == s) return static_cast<E>(i);
    std::string list;
    for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
    record_field_error(where, field, "unknown " + std::string(enum_names<E>::type) + " (got '" +
                                         std::string(s) + "', expected one of " + list + ")");
}

template <class E>
void record_read_enum(const nlohmann::json& j, std::string_view where, std::string_view prefix, const char* key,
                      E& out, bool required) {
    std::string s;
    bool present = j.contains(key) && !(!required && j.at(key).is_null());
    record_read(j, where, prefix, key, s, required);
    if (present) out = enum_from_name<E>(s, where, field_path(prefix, key));
}

}  // namespace detail
}  // namespace aitl
