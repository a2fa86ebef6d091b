#pragma once
/// @file store/store_types.hpp
/// @brief Settings of the SQLite store (`sqlite_store_config`), query filters (`store_filter`)
/// and counts (`store_stats`).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../detail/record_json.hpp"
#include "../error.hpp"
#include "../feedback/annotation.hpp"

namespace aitl {

/// @brief When an append is acknowledged.
enum class durability : std::uint8_t {
    full,   ///< `PRAGMA synchronous=FULL`: an acknowledged append survives a crash or power loss
    normal  ///< `PRAGMA synchronous=NORMAL`: survives a process crash; a power loss may drop the
            ///< last commits (never corrupts)
};

namespace detail {
template <>
struct enum_names<durability> {
    static constexpr const char* type = "durability";
    static constexpr std::array<std::string_view, 2> names{"full", "normal"};
};
}  // namespace detail

/// @returns "full" or "normal".
inline std::string_view to_string(durability d) { return detail::enum_to_name(d); }

/**
 * @brief Settings of `basic_sqlite_store`.
 *
 * JSON form: `{"durability": "full"|"normal", "busy_timeout_ms": 10000, "group_commit_max": 512,
 * "read_only": false}` (every key optional).
 */
struct sqlite_store_config {
    durability durability_mode = durability::full;  ///< JSON key "durability"
    int busy_timeout_ms = 10000;        ///< wait this long for another process's write lock, >= 0
    std::size_t group_commit_max = 512; ///< most append calls committed in one transaction, >= 1
    bool read_only = false;             ///< open read-only: every write throws state_error

    friend bool operator==(const sqlite_store_config& a, const sqlite_store_config& b) {
        return a.durability_mode == b.durability_mode && a.busy_timeout_ms == b.busy_timeout_ms &&
               a.group_commit_max == b.group_commit_max && a.read_only == b.read_only;
    }
    friend bool operator!=(const sqlite_store_config& a, const sqlite_store_config& b) { return !(a == b); }
};

/// @throws config_error when busy_timeout_ms < 0, group_commit_max is 0, or the durability is invalid.
inline void validate(const sqlite_store_config& c, const char* where = "sqlite_store_config") {
    if (static_cast<std::size_t>(c.durability_mode) > 1)
        throw config_error(std::string(where) + ": durability invalid (got " +
                           std::to_string(static_cast<int>(c.durability_mode)) + ", expected full or normal)");
    if (c.busy_timeout_ms < 0)
        throw config_error(std::string(where) + ": busy_timeout_ms out of range (got " +
                           std::to_string(c.busy_timeout_ms) + ", expected >= 0)");
    if (c.group_commit_max == 0)
        throw config_error(std::string(where) + ": group_commit_max out of range (got 0, expected >= 1)");
}

inline void to_json(nlohmann::json& j, const sqlite_store_config& c) {
    j = nlohmann::json{{"durability", to_string(c.durability_mode)},
                       {"busy_timeout_ms", c.busy_timeout_ms},
                       {"group_commit_max", c.group_commit_max},
                       {"read_only", c.read_only}};
}

/// @throws config_error on an unknown key, a wrong type or an unknown durability name.
inline void from_json(const nlohmann::json& j, sqlite_store_config& c) {
    const char* t = "sqlite_store_config";
    detail::config_check_keys(j, t, {"durability", "busy_timeout_ms", "group_commit_max", "read_only"});
    if (j.contains("durability")) {
        std::string name;
        detail::config_read_key(j, t, "durability", name);
        c.durability_mode = detail::enum_from_name<durability>(name, "sqlite_store_config::from_json", "durability");
    }
    detail::config_read_key(j, t, "busy_timeout_ms", c.busy_timeout_ms);
    if (auto it = j.find("group_commit_max"); it != j.end() && it->is_number_integer() && it->get<long long>() < 0)
        throw config_error(std::string(t) + "::from_json: group_commit_max out of range (got " + it->dump() +
                           ", expected >= 1)");
    detail::config_read_key(j, t, "group_commit_max", c.group_commit_max);
    detail::config_read_key(j, t, "read_only", c.read_only);
}

/**
 * @brief Which records a query returns; unset members do not filter. Results are in `seq` order.
 *
 * For `annotations()`: `from_ms`/`to_ms` bound the annotation's timestamp, `case_id` and
 * `model_version` select annotations whose impression has that case or used that model version
 * (any role). For `impressions()`: `from_ms`/`to_ms` bound the impression's timestamp,
 * `annotator` and `kind` select impressions with at least one such annotation, `impression_id`
 * selects one impression.
 *
 * @code
 * aitl::store_filter f;
 * f.annotator = "agent-07"; f.kind = aitl::annotation_kind::preference; f.from_ms = t0; f.limit = 100;
 * for (const auto& a : store.annotations(f)) use(a);
 * @endcode
 */
struct store_filter {
    std::optional<std::int64_t> from_ms;        ///< timestamp_ms >= from_ms
    std::optional<std::int64_t> to_ms;          ///< timestamp_ms < to_ms
    std::optional<std::string> annotator;       ///< annotator id
    std::optional<std::string> case_id;         ///< support case of the impression
    std::optional<std::string> model_version;   ///< a version in the impression's `models`
    std::optional<std::string> impression_id;   ///< the impression (its annotations)
    std::optional<annotation_kind> kind;        ///< annotation type
    std::int64_t after_seq = 0;                 ///< only records with seq > after_seq
    std::size_t limit = 0;                      ///< at most this many (0 = no limit)
};

/// @brief Counts of a store and its watermarks (largest seq, 0 when empty).
struct store_stats {
    std::size_t impressions = 0;
    std::size_t preference = 0;
    std::size_t adoption = 0;
    std::size_t knowledge_relevance = 0;
    std::size_t missing_knowledge = 0;
    std::int64_t impression_watermark = 0;  ///< largest impression seq
    std::int64_t annotation_watermark = 0;  ///< largest annotation seq

    /// @returns The number of annotations of all four types.
    std::size_t annotations() const noexcept {
        return preference + adoption + knowledge_relevance + missing_knowledge;
    }
    /// @returns The number of annotations of one type.
    std::size_t count(annotation_kind k) const noexcept {
        switch (k) {
            case annotation_kind::preference: return preference;
            case annotation_kind::adoption: return adoption;
            case annotation_kind::knowledge_relevance: return knowledge_relevance;
            case annotation_kind::missing_knowledge: return missing_knowledge;
        }
        return 0;
    }

    friend bool operator==(const store_stats& a, const store_stats& b) {
        return a.impressions == b.impressions && a.preference == b.preference && a.adoption == b.adoption &&
               a.knowledge_relevance == b.knowledge_relevance && a.missing_knowledge == b.missing_knowledge &&
               a.impression_watermark == b.impression_watermark && a.annotation_watermark == b.annotation_watermark;
    }
    friend bool operator!=(const store_stats& a, const store_stats& b) { return !(a == b); }
};

/// @brief JSON form: `{"impressions", "preference", "adoption", "knowledge_relevance",
/// "missing_knowledge", "annotations", "impression_watermark", "annotation_watermark"}`.
inline void to_json(nlohmann::json& j, const store_stats& s) {
    j = nlohmann::json{{"impressions", s.impressions},
                       {"preference", s.preference},
                       {"adoption", s.adoption},
                       {"knowledge_relevance", s.knowledge_relevance},
                       {"missing_knowledge", s.missing_knowledge},
                       {"annotations", s.annotations()},
                       {"impression_watermark", s.impression_watermark},
                       {"annotation_watermark", s.annotation_watermark}};
}

}  // namespace aitl
