#pragma once
/// @file flywheel/registry_types.hpp
/// @brief The records of the model registry: `artifact_record` (one file of a version),
/// `version_info` (what `add()` is told), `model_version` (a version as the manifest holds it),
/// `registry_options` (its settings) and `recovery_record` (what recovery moved or removed), with
/// their JSON forms.

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/record_json.hpp"
#include "../error.hpp"

namespace aitl {

/// @brief One file of a registered version: its name in the version folder, its SHA-256 (64
/// lowercase hex digits) and size. JSON: `{"name": ..., "sha256": ..., "bytes": ...}`.
struct artifact_record {
    std::string name;
    std::string sha256;
    std::uint64_t bytes = 0;

    friend bool operator==(const artifact_record& a, const artifact_record& b) {
        return a.name == b.name && a.sha256 == b.sha256 && a.bytes == b.bytes;
    }
    friend bool operator!=(const artifact_record& a, const artifact_record& b) { return !(a == b); }
};

/// @brief What `basic_model_registry::add` is told about a new version.
/// JSON: `{"parent": "", "watermark": 0, "metrics": {}, "note": ""}` (every key optional).
struct version_info {
    std::string parent;                                     ///< the version it was trained from; "" = none
    std::int64_t watermark = 0;                             ///< store seq of the last annotation used in training, >= 0
    nlohmann::json metrics = nlohmann::json::object();      ///< free-form numbers (an object)
    std::string note;                                       ///< free text
};

/// @brief One registered version as the manifest holds it.
///
/// JSON: `{"version", "parent", "watermark", "metrics", "decision", "created", "status", "note",
/// "artifacts": [artifact_record...]}`.
struct model_version {
    std::string version;                                ///< "v000001", "v000002", ... (monotonic)
    std::string parent;                                 ///< "" = none
    std::int64_t watermark = 0;                         ///< store seq of the last annotation used in training
    nlohmann::json metrics = nlohmann::json::object();  ///< as given to add()
    nlohmann::json decision;                            ///< gate decision given to promote()/reject() (null until then)
    std::string created;                                ///< ISO-8601 UTC, e.g. "2025-06-01T12:00:00.123Z"
    std::string status;                                 ///< "challenger" | "champion" | "retired" | "rejected"
    std::string note;
    std::vector<artifact_record> artifacts;             ///< sorted by name

    /// @returns Whether it has an artifact with this name.
    bool has_artifact(std::string_view name) const {
        for (const auto& a : artifacts)
            if (a.name == name) return true;
        return false;
    }

    friend bool operator==(const model_version& a, const model_version& b) {
        return a.version == b.version && a.parent == b.parent && a.watermark == b.watermark &&
               a.metrics == b.metrics && a.decision == b.decision && a.created == b.created &&
               a.status == b.status && a.note == b.note && a.artifacts == b.artifacts;
    }
    friend bool operator!=(const model_version& a, const model_version& b) { return !(a == b); }
};

/**
 * @brief Settings of `basic_model_registry`. JSON: `{"verify_artifacts": true}`.
 *
 * `verify_artifacts` (default true): check each artifact's size and SHA-256 against the manifest
 * when the registry opens (the champion's files), in `file()`, `promote()` and `rollback()`; a
 * mismatch is an io_error and changes nothing. false trusts the files (no hashing; for very large
 * artifacts on trusted storage); `verify()` still checks on request.
 */
struct registry_options {
    bool verify_artifacts = true;  ///< verify artifacts on open, file(), promote() and rollback()

    friend bool operator==(const registry_options& a, const registry_options& b) {
        return a.verify_artifacts == b.verify_artifacts;
    }
    friend bool operator!=(const registry_options& a, const registry_options& b) { return !(a == b); }
};

/// @brief One thing the registry's recovery did to an entry of `versions/` that no committed
/// manifest names. JSON: `{"action", "from", "to", "reason"}` (paths as strings).
struct recovery_record {
    /// "quarantined": moved to `<dir>/quarantine/<name>[.N]` (nothing is deleted); "removed":
    /// deleted, only for a version folder that provably never reached a commit (empty, or holding
    /// the marker add() writes before copying and removes before its commit).
    std::string action;
    std::filesystem::path from;  ///< where it was (absolute)
    std::filesystem::path to;    ///< where it is now (absolute; empty when removed)
    std::string reason;          ///< why, e.g. "not listed in the manifest"
};

/// @brief The four statuses of a version, in the order of their life cycle.
inline constexpr std::array<std::string_view, 4> model_statuses{"challenger", "champion", "retired", "rejected"};

/// @returns Whether `s` is one of `model_statuses`.
inline bool is_model_status(std::string_view s) {
    for (auto x : model_statuses)
        if (x == s) return true;
    return false;
}

namespace detail {
inline bool is_sha256_hex(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

/// Why `name` cannot be an artifact file name ("" when it can): non-empty, at most 255 bytes,
/// no '/', '\\' or NUL, no "..", not ".", not ending in ".tmp" (reserved for temporary files).
inline std::string artifact_name_problem(std::string_view name) {
    if (name.empty()) return "empty name";
    if (name.size() > 255) return "longer than 255 bytes";
    if (name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos)
        return "contains a path separator";
    if (name.find('\0') != std::string_view::npos) return "contains a NUL byte";
    if (name == "." || name.find("..") != std::string_view::npos) return "contains '..' or is '.'";
    if (name.size() >= 4 && name.substr(name.size() - 4) == ".tmp") return "ends in '.tmp' (reserved)";
    return "";
}

inline std::string number_text(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    return nlohmann::json(x).dump();
}

/// The first non-finite number (NaN, +inf, -inf) in `j` at any depth, depth-first in key order:
/// its path below `root` ("metrics.training.loss[2]") and value; {"", 0} when every number is
/// finite. Iterative, so deep nesting cannot overflow the stack.
inline std::pair<std::string, double> first_non_finite(const nlohmann::json& j, const std::string& root) {
    std::vector<std::pair<const nlohmann::json*, std::string>> todo{{&j, root}};
    while (!todo.empty()) {
        auto [x, path] = std::move(todo.back());
        todo.pop_back();
        if (x->is_number_float()) {
            const double d = x->get<double>();
            if (!std::isfinite(d)) return {path, d};
        } else if (x->is_object()) {
            std::vector<std::pair<const nlohmann::json*, std::string>> kids;
            for (auto it = x->begin(); it != x->end(); ++it) kids.emplace_back(&*it, path + "." + it.key());
            todo.insert(todo.end(), kids.rbegin(), kids.rend());
        } else if (x->is_array()) {
            for (std::size_t i = x->size(); i-- > 0;) todo.emplace_back(&(*x)[i], path + "[" + std::to_string(i) + "]");
        }
    }
    return {"", 0.0};
}
}  // namespace detail

inline void to_json(nlohmann::json& j, const artifact_record& a) {
    j = nlohmann::json{{"name", a.name}, {"sha256", a.sha256}, {"bytes", a.bytes}};
}

/// @throws config_error naming the field (missing or wrong-typed key, unknown key, bad name or hash).
inline void from_json(const nlohmann::json& j, artifact_record& a) {
    const char* w = "artifact_record::from_json";
    detail::record_check_object(j, w, "");
    detail::record_check_keys(j, w, "", {"name", "sha256", "bytes"});
    detail::record_read(j, w, "", "name", a.name, true);
    detail::record_read(j, w, "", "sha256", a.sha256, true);
    detail::record_read(j, w, "", "bytes", a.bytes, true);
    if (auto p = detail::artifact_name_problem(a.name); !p.empty())
        detail::record_field_error(w, "name", "invalid artifact name (got '" + a.name + "': " + p + ")");
    if (!detail::is_sha256_hex(a.sha256))
        detail::record_field_error(w, "sha256", "not a SHA-256 (got '" + a.sha256 + "', expected 64 lowercase hex digits)");
}

inline void to_json(nlohmann::json& j, const version_info& v) {
    j = nlohmann::json{{"parent", v.parent}, {"watermark", v.watermark}, {"metrics", v.metrics}, {"note", v.note}};
}

/// @throws config_error naming the field.
inline void from_json(const nlohmann::json& j, version_info& v) {
    const char* w = "version_info::from_json";
    detail::record_check_object(j, w, "");
    detail::record_check_keys(j, w, "", {"parent", "watermark", "metrics", "note"});
    detail::record_read(j, w, "", "parent", v.parent, false);
    detail::record_read(j, w, "", "watermark", v.watermark, false);
    detail::record_read(j, w, "", "note", v.note, false);
    if (auto it = j.find("metrics"); it != j.end() && !it->is_null()) {
        detail::record_check_object(*it, w, "metrics");
        v.metrics = *it;
    }
}

inline void to_json(nlohmann::json& j, const registry_options& o) {
    j = nlohmann::json{{"verify_artifacts", o.verify_artifacts}};
}

/// @throws config_error naming the field (wrong type, unknown key).
inline void from_json(const nlohmann::json& j, registry_options& o) {
    const char* w = "registry_options::from_json";
    detail::record_check_object(j, w, "");
    detail::record_check_keys(j, w, "", {"verify_artifacts"});
    detail::record_read(j, w, "", "verify_artifacts", o.verify_artifacts, false);
}

inline void to_json(nlohmann::json& j, const recovery_record& r) {
    j = nlohmann::json{{"action", r.action}, {"from", r.from.string()}, {"to", r.to.string()}, {"reason", r.reason}};
}

inline void to_json(nlohmann::json& j, const model_version& v) {
    j = nlohmann::json{{"version", v.version}, {"parent", v.parent},   {"watermark", v.watermark},
                       {"metrics", v.metrics}, {"decision", v.decision}, {"created", v.created},
                       {"status", v.status},   {"note", v.note},         {"artifacts", v.artifacts}};
}

/// @throws config_error naming the field (e.g. "artifacts[1].sha256", "status").
inline void from_json(const nlohmann::json& j, model_version& v) {
    const char* w = "model_version::from_json";
    detail::record_check_object(j, w, "");
    detail::record_check_keys(j, w, "",
                              {"version", "parent", "watermark", "metrics", "decision", "created", "status", "note",
                               "artifacts"});
    detail::record_read(j, w, "", "version", v.version, true);
    detail::record_read(j, w, "", "parent", v.parent, false);
    detail::record_read(j, w, "", "watermark", v.watermark, false);
    detail::record_read(j, w, "", "created", v.created, false);
    detail::record_read(j, w, "", "status", v.status, true);
    detail::record_read(j, w, "", "note", v.note, false);
    if (!is_model_status(v.status))
        detail::record_field_error(w, "status",
                                   "unknown status (got '" + v.status +
                                       "', expected one of challenger, champion, retired, rejected)");
    v.metrics = nlohmann::json::object();
    if (auto it = j.find("metrics"); it != j.end() && !it->is_null()) {
        detail::record_check_object(*it, w, "metrics");
        v.metrics = *it;
    }
    auto d = j.find("decision");
    v.decision = d == j.end() ? nlohmann::json() : *d;
    v.artifacts.clear();
    auto a = j.find("artifacts");
    if (a == j.end()) detail::record_field_error(w, "artifacts", "missing required key");
    if (!a->is_array())
        detail::record_field_error(w, "artifacts", std::string("wrong type (got ") + a->type_name() + ", expected array)");
    for (std::size_t i = 0; i < a->size(); ++i) {
        try {
            v.artifacts.push_back((*a)[i].get<artifact_record>());
        } catch (const config_error& e) {
            detail::record_field_error(w, "artifacts[" + std::to_string(i) + "]", e.what());
        }
    }
}

}  // namespace aitl
