#pragma once
// The model registry's internals: the manifest (in memory, to and from JSON, with every
// invariant checked when read), version ids, the marker of an uncommitted add, artifact checks.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "../flywheel/registry_types.hpp"
#include "config_json.hpp"
#include "durable_file.hpp"
#include "json_parse.hpp"
#include "sha256.hpp"

namespace aitl {

namespace detail {
// The manifest in memory. Invariants (checked when read): version ids unique and below next_id;
// at most one "champion" (= `champion`) and one "challenger"; the history lists existing
// versions and ends with the champion.
struct registry_manifest {
    static constexpr const char* format_name = "aitl.model_registry";
    static constexpr int format_version = 1;

    std::uint64_t next_id = 1;
    std::string champion;                       // "" = none
    std::vector<std::string> champion_history;  // every promotion in order; back() == champion
    std::vector<model_version> versions;        // in id order

    model_version* find(const std::string& v) {
        for (auto& x : versions)
            if (x.version == v) return &x;
        return nullptr;
    }
    const model_version* find(const std::string& v) const { return const_cast<registry_manifest*>(this)->find(v); }
    model_version* with_status(const char* s) {
        for (auto& x : versions)
            if (x.status == s) return &x;
        return nullptr;
    }
};

inline nlohmann::json manifest_to_json(const registry_manifest& m) {
    return nlohmann::json{{"format", registry_manifest::format_name},
                          {"format_version", registry_manifest::format_version},
                          {"next_id", m.next_id},
                          {"champion", m.champion.empty() ? nlohmann::json() : nlohmann::json(m.champion)},
                          {"champion_history", m.champion_history},
                          {"versions", m.versions}};
}

inline std::string registry_version_id(std::uint64_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "v%06llu", static_cast<unsigned long long>(n));
    return buf;
}

// The number of "v000042" (0 when it is not such an id).
inline std::uint64_t registry_version_number(const std::string& v) {
    if (v.size() < 2 || v[0] != 'v' || v.size() > 20) return 0;
    std::uint64_t n = 0;
    for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] < '0' || v[i] > '9') return 0;
        n = n * 10 + static_cast<std::uint64_t>(v[i] - '0');
    }
    return registry_version_id(n) == v ? n : 0;
}

// Parses and checks a manifest; every problem is a parse_error naming the file and the field.
inline registry_manifest manifest_from_text(const std::string& text, const std::string& file) {
    auto fail = [&](const std::string& field, const std::string& what) -> void {
        throw parse_error(file, 0, field, "model registry manifest: " + what);
    };
    const nlohmann::json j = parse_json(text, file, 0, "model registry manifest");
    if (!j.is_object()) fail("", std::string("wrong type (got ") + j.type_name() + ", expected object)");
    auto field = [&](const char* key) -> const nlohmann::json& {
        auto it = j.find(key);
        if (it == j.end()) fail(key, "missing required key");
        return *it;
    };
    if (auto* k = find_unknown_key(j, {"format", "format_version", "next_id", "champion", "champion_history", "versions"}))
        fail(*k, "unknown key");
    const auto& fmt = field("format");
    if (!fmt.is_string() || fmt.get<std::string>() != registry_manifest::format_name)
        fail("format", "not a model registry (got " + fmt.dump() + ", expected \"" + registry_manifest::format_name + "\")");
    const auto& fv = field("format_version");
    if (!fv.is_number_integer() || fv.get<std::int64_t>() != registry_manifest::format_version)
        fail("format_version", "unsupported (got " + fv.dump() + ", expected " +
                                   std::to_string(registry_manifest::format_version) + ")");
    registry_manifest m;
    const auto& next = field("next_id");
    if (!next.is_number_unsigned() || next.get<std::uint64_t>() < 1)
        fail("next_id", "wrong value (got " + next.dump() + ", expected an integer >= 1)");
    m.next_id = next.get<std::uint64_t>();
    const auto& vs = field("versions");
    if (!vs.is_array()) fail("versions", std::string("wrong type (got ") + vs.type_name() + ", expected array)");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < vs.size(); ++i) {
        const std::string f = "versions[" + std::to_string(i) + "]";
        model_version v;
        try {
            v = vs[i].get<model_version>();
        } catch (const config_error& e) {
            fail(f, e.what());
        }
        const std::uint64_t n = registry_version_number(v.version);
        if (n == 0 || n >= m.next_id)
            fail(f + ".version", "invalid version id (got '" + v.version + "', expected v000001 .. " +
                                     registry_version_id(m.next_id - 1) + ")");
        if (!seen.insert(v.version).second) fail(f + ".version", "duplicate version (got '" + v.version + "')");
        m.versions.push_back(std::move(v));
    }
    const auto& ch = field("champion");
    if (!ch.is_null() && !ch.is_string()) fail("champion", std::string("wrong type (got ") + ch.type_name() + ", expected string or null)");
    if (ch.is_string()) m.champion = ch.get<std::string>();
    const auto& hist = field("champion_history");
    if (!hist.is_array()) fail("champion_history", std::string("wrong type (got ") + hist.type_name() + ", expected array)");
    for (std::size_t i = 0; i < hist.size(); ++i) {
        if (!hist[i].is_string() || seen.count(hist[i].get<std::string>()) == 0)
            fail("champion_history[" + std::to_string(i) + "]", "not a listed version (got " + hist[i].dump() + ")");
        m.champion_history.push_back(hist[i].get<std::string>());
    }
    std::size_t champions = 0, challengers = 0;
    for (const auto& v : m.versions) {
        champions += v.status == "champion";
        challengers += v.status == "challenger";
    }
    if (challengers > 1) fail("versions", "more than one challenger (got " + std::to_string(challengers) + ", expected at most 1)");
    if (m.champion.empty() ? champions != 0 : (champions != 1 || m.find(m.champion) == nullptr ||
                                               m.find(m.champion)->status != "champion"))
        fail("champion", "does not match the versions' statuses (got " + ch.dump() + " and " +
                             std::to_string(champions) + " version(s) with status champion)");
    if (!m.champion.empty() && (m.champion_history.empty() || m.champion_history.back() != m.champion))
        fail("champion_history", "does not end with the champion (got " + hist.dump() + ", expected last '" + m.champion + "')");
    return m;
}

// The marker add() writes into a new version folder before copying and removes before its
// commit: a folder holding it (with this text) never reached a commit, so recovery may delete it.
// Its name ends in ".tmp", which artifact names may not.
inline constexpr const char* registry_marker_name = ".aitl-uncommitted.tmp";
inline std::string registry_marker_text(const std::string& version) {
    return "aitl.model_registry: folder of version " + version + " being added; not committed\n";
}

// "" when the file at `path` has the size and SHA-256 of `a`, else what differs (for an
// io_error). `use_cache`: accept a file whose identity is unchanged since it last matched.
// @throws io_error when the file exists but cannot be read.
inline std::string artifact_problem(const std::filesystem::path& path, const artifact_record& a,
                                    const std::string& where, bool use_cache) {
    auto& cache = verified_files::instance();
    file_identity id;
    if (!file_identity_of(path, id)) {
        cache.forget(path.string());
        return "artifact file missing (got no file '" + path.string() + "', expected " + std::to_string(a.bytes) +
               " bytes, sha256 " + a.sha256 + ")";
    }
    if (use_cache && cache.known(path.string(), id, a.sha256, a.bytes)) return "";
    const auto started = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
    const auto d = sha256_file(path, where);
    if (d.bytes != a.bytes || d.sha256 != a.sha256) {
        cache.forget(path.string());
        return "artifact file corrupted: '" + path.string() + "' (got " + std::to_string(d.bytes) + " bytes, sha256 " +
               d.sha256 + ", expected " + std::to_string(a.bytes) + " bytes, sha256 " + a.sha256 + ")";
    }
    // The identity from before hashing: a write during the hash changes the ctime, so the next
    // check hashes again.
    cache.remember(path.string(), id, a.sha256, a.bytes, static_cast<std::int64_t>(started));
    return "";
}

// "a, b, c, ... z" (at most `show` names, then the last).
inline std::string name_sample(const std::vector<std::string>& names, std::size_t show = 4) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i == show && names.size() > show + 1) {
            out += ", ... " + names.back();
            break;
        }
        out += (i ? ", " : "") + names[i];
    }
    return out;
}

inline std::string utc_now_iso8601() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}
}  // namespace detail

}  // namespace aitl
