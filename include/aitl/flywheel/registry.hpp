#pragma once
/// @file flywheel/registry.hpp
/// @brief `basic_model_registry`: versioned model artifacts in a directory with a manifest,
/// champion/challenger roles, promote, reject and rollback, each one atomic manifest commit.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/json_parse.hpp"
#include "../config.hpp"
#include "../detail/durable_file.hpp"
#include "../detail/sha256.hpp"
#include "../error.hpp"
#include "registry_types.hpp"

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

/**
 * @brief A directory of versioned model artifacts with a manifest: champion/challenger roles,
 * promote, reject and rollback (the `registry` slot of the flywheel).
 *
 * Layout: `<dir>/manifest.json` (format, next id, versions, champion, champion history),
 * `<dir>/versions/<v>/<artifact name>` and `<dir>/.lock`. Life cycle of a version: `add()` makes
 * it the challenger (a previous challenger becomes "rejected" with decision
 * `{"reason": "superseded"}`); `promote()` makes the challenger (or a retired version) the
 * champion and retires the old champion; `reject()` marks a challenger or retired version
 * "rejected" for good; `rollback()` reinstates the previous champion of the history.
 *
 * Crash safety: artifact files are copied into a fresh version folder and fsynced before the
 * manifest names them; every change is one manifest commit (write `manifest.json.tmp`, fsync,
 * rename, fsync the directory). A crash at any moment leaves the old or the new manifest, never a
 * mix, and the constructor removes what an interrupted call left (temporary files, version
 * folders the manifest does not list).
 *
 * @tparam Mutex thread policy: `std::mutex` or `detail::null_mutex`. The registry keeps no state
 * in memory but its path: every call reads the manifest from disk.
 * @note Thread safety: every member may be called concurrently, and several registry objects or
 * processes may share one directory: mutating calls take an exclusive flock on `<dir>/.lock`
 * and re-read the manifest under it, so none loses another's update; reads see the last
 * committed manifest. The object is movable and copyable (it is a path).
 * @code
 * aitl::model_registry reg("registry");
 * std::string v = reg.add({{"encoder.bin", "out/encoder.bin"}}, {"", 1200, {{"ndcg@10", 0.41}}, "round 3"});
 * if (gate_passes) reg.promote(v, {{"promote", true}}); else reg.reject(v, {{"reason", "no lift"}});
 * auto path = reg.file(reg.champion()->version, "encoder.bin");
 * reg.rollback();                                   // back to the previous champion
 * @endcode
 */
template <class Mutex = std::mutex>
class basic_model_registry {
public:
    using mutex_type = Mutex;

    /**
     * @brief Opens (or creates) the registry in `dir` and recovers after a crash (needs write
     * access: it takes the directory lock).
     * @throws config_error for an empty path; io_error when the directory or its files cannot be
     *         created or read; parse_error naming the file and field when manifest.json is
     *         malformed or inconsistent.
     */
    explicit basic_model_registry(std::filesystem::path dir) : dir_(absolute_dir(std::move(dir))) {
        const std::string w = "model_registry::model_registry";
        detail::create_dirs_durable(dir_ / "versions", w);
        detail::dir_lock lock(lock_path(), w);
        std::error_code ec;
        registry_manifest m;
        if (std::filesystem::exists(manifest_path(), ec)) m = load(w);
        else commit(m, w);
        // Recovery: what no commit names is garbage of an interrupted call.
        detail::remove_all_if_exists(detail::temp_path_for(manifest_path()), w);
        std::vector<std::filesystem::path> garbage;
        std::filesystem::directory_iterator it(dir_ / "versions", ec), end;
        for (; !ec && it != end; it.increment(ec)) {
            std::error_code type_ec;
            if (m.find(it->path().filename().string()) == nullptr || !it->is_directory(type_ec))
                garbage.push_back(it->path());
        }
        if (ec) throw io_error(w + ": cannot list '" + (dir_ / "versions").string() + "' (" + ec.message() + ")");
        for (const auto& g : garbage) detail::remove_all_if_exists(g, w);
        if (!garbage.empty()) detail::fsync_dir(dir_ / "versions", w);
    }

    basic_model_registry(const basic_model_registry& o) : dir_(o.dir_) {}
    basic_model_registry(basic_model_registry&& o) noexcept : dir_(std::move(o.dir_)) {}
    basic_model_registry& operator=(basic_model_registry o) noexcept {
        dir_ = std::move(o.dir_);
        return *this;
    }

    /**
     * @brief Copies `files` into a new version and commits it as the challenger.
     * @param files artifact name (a plain file name such as "encoder.bin") -> source file.
     * @param info parent ("" or a listed version), watermark (>= 0), metrics (an object), note.
     * @returns The new version id ("v000001", "v000002", ...).
     * @throws config_error for no files, an invalid name, a negative watermark or non-object
     *         metrics; not_found for an unknown parent; io_error when a source cannot be read or
     *         a copy fails (nothing is registered then).
     */
    std::string add(const std::map<std::string, std::filesystem::path>& files, const version_info& info = {}) {
        const std::string w = "model_registry::add";
        if (files.empty()) throw config_error(w + ": no artifact files (got 0, expected at least 1)");
        for (const auto& [name, src] : files) {
            if (auto p = detail::artifact_name_problem(name); !p.empty())
                throw config_error(w + ": invalid artifact name (got '" + name + "': " + p +
                                   ", expected a plain file name)");
            std::error_code ec;
            if (!std::filesystem::is_regular_file(src, ec))
                throw io_error(w + ": cannot read the source of artifact '" + name + "' (got '" + src.string() +
                               "', expected an existing regular file)");
        }
        if (info.watermark < 0)
            throw config_error(w + ": watermark out of range (got " + std::to_string(info.watermark) + ", expected >= 0)");
        if (!info.metrics.is_object())
            throw config_error(w + ": metrics must be an object (got " + std::string(info.metrics.type_name()) + ")");

        std::lock_guard<Mutex> guard(mutex_);
        detail::dir_lock lock(lock_path(), w);
        registry_manifest m = load(w);
        if (!info.parent.empty() && m.find(info.parent) == nullptr)
            throw not_found(w + ": unknown parent version (got '" + info.parent + "', expected a version listed in '" +
                            manifest_path().string() + "')");
        model_version v;
        v.version = detail::registry_version_id(m.next_id);
        v.parent = info.parent;
        v.watermark = info.watermark;
        v.metrics = info.metrics;
        v.note = info.note;
        v.status = "challenger";
        const auto vdir = dir_ / "versions" / v.version;
        try {
            detail::remove_all_if_exists(vdir, w);  // left by an add that died before its commit
            detail::create_dirs_durable(vdir, w);
            for (const auto& [name, src] : files) {
                const auto r = detail::copy_file_durable(src, vdir / name, w, false);
                v.artifacts.push_back(artifact_record{name, r.sha256, r.bytes});
            }
            detail::fsync_dir(vdir, w);
        } catch (...) {
            std::error_code ec;
            std::filesystem::remove_all(vdir, ec);
            throw;
        }
        v.created = detail::utc_now_iso8601();
        if (model_version* old = m.with_status("challenger")) {
            old->status = "rejected";
            old->decision = nlohmann::json{{"reason", "superseded"}};
        }
        m.versions.push_back(v);
        ++m.next_id;
        commit(m, w);
        return v.version;
    }

    /**
     * @brief Makes `version` (the challenger or a retired version) the champion; the old champion
     * becomes "retired". One atomic manifest commit.
     * @param decision the gate decision kept with the version (any JSON).
     * @throws not_found for an unknown version; state_error when it is already the champion or
     *         was rejected.
     */
    void promote(const std::string& version, const nlohmann::json& decision = nullptr) {
        const std::string w = "model_registry::promote";
        std::lock_guard<Mutex> guard(mutex_);
        detail::dir_lock lock(lock_path(), w);
        registry_manifest m = load(w);
        model_version& v = must_find(m, version, w);
        if (v.status != "challenger" && v.status != "retired")
            throw state_error(w + ": cannot promote version '" + version + "' (got status '" + v.status +
                              "', expected challenger or retired)");
        if (model_version* old = m.with_status("champion")) old->status = "retired";
        v.status = "champion";
        v.decision = decision;
        m.champion = version;
        m.champion_history.push_back(version);
        commit(m, w);
    }

    /**
     * @brief Marks `version` (the challenger or a retired version) "rejected" with the decision.
     * @throws not_found for an unknown version; state_error when it is the champion (use
     *         rollback) or already rejected.
     */
    void reject(const std::string& version, const nlohmann::json& decision) {
        const std::string w = "model_registry::reject";
        std::lock_guard<Mutex> guard(mutex_);
        detail::dir_lock lock(lock_path(), w);
        registry_manifest m = load(w);
        model_version& v = must_find(m, version, w);
        if (v.status != "challenger" && v.status != "retired")
            throw state_error(w + ": cannot reject version '" + version + "' (got status '" + v.status +
                              "', expected challenger or retired; roll a champion back with rollback())");
        v.status = "rejected";
        v.decision = decision;
        commit(m, w);
    }

    /**
     * @brief Reinstates the previous champion of the history (skipping versions rejected since);
     * the current champion becomes "retired". One atomic manifest commit.
     * @returns The new champion, or nullopt when there is no previous champion (nothing changes).
     */
    std::optional<std::string> rollback() {
        const std::string w = "model_registry::rollback";
        std::lock_guard<Mutex> guard(mutex_);
        detail::dir_lock lock(lock_path(), w);
        registry_manifest m = load(w);
        auto& h = m.champion_history;  // h.back() == the champion
        if (m.champion.empty() || h.size() < 2) return std::nullopt;
        std::size_t i = h.size() - 1;
        for (;;) {
            if (i == 0) return std::nullopt;
            --i;
            const model_version* p = m.find(h[i]);
            if (h[i] != m.champion && p != nullptr && p->status == "retired") break;
        }
        m.find(m.champion)->status = "retired";
        m.champion = h[i];
        m.find(m.champion)->status = "champion";
        h.resize(i + 1);
        commit(m, w);
        return m.champion;
    }

    /// @returns The champion, or nullopt when none was promoted.
    std::optional<model_version> champion() const { return with_status("champion", "model_registry::champion"); }

    /// @returns The challenger (added, not yet promoted or rejected), or nullopt.
    std::optional<model_version> challenger() const { return with_status("challenger", "model_registry::challenger"); }

    /// @returns The version with this id. @throws not_found when it is not listed.
    model_version get(const std::string& version) const {
        registry_manifest m = load("model_registry::get");
        return must_find(m, version, "model_registry::get");
    }

    /// @returns Every version in id order.
    std::vector<model_version> versions() const { return load("model_registry::versions").versions; }

    /// @returns The path of artifact `name` of `version`. @throws not_found for an unknown
    /// version or artifact name.
    std::filesystem::path file(const std::string& version, const std::string& name) const {
        const std::string w = "model_registry::file";
        registry_manifest m = load(w);
        const model_version& v = must_find(m, version, w);
        if (!v.has_artifact(name)) {
            std::string names;
            for (const auto& a : v.artifacts) names += (names.empty() ? "" : ", ") + a.name;
            throw not_found(w + ": unknown artifact of version '" + version + "' (got '" + name +
                            "', expected one of " + names + ")");
        }
        return dir_ / "versions" / version / name;
    }

    /**
     * @brief Re-hashes every artifact of `version` against the manifest.
     * @throws not_found for an unknown version; io_error naming the file when one is missing,
     *         unreadable, or its size or SHA-256 differs.
     */
    void verify(const std::string& version) const {
        const std::string w = "model_registry::verify";
        registry_manifest m = load(w);
        const model_version& v = must_find(m, version, w);
        for (const auto& a : v.artifacts) {
            const auto path = dir_ / "versions" / version / a.name;
            std::error_code ec;
            if (!std::filesystem::is_regular_file(path, ec))
                throw io_error(w + ": artifact file missing (got no file '" + path.string() + "', expected " +
                               std::to_string(a.bytes) + " bytes)");
            const auto d = detail::sha256_file(path, w);
            if (d.bytes != a.bytes || d.sha256 != a.sha256)
                throw io_error(w + ": artifact file corrupted: '" + path.string() + "' (got " + std::to_string(d.bytes) +
                               " bytes, sha256 " + d.sha256 + ", expected " + std::to_string(a.bytes) +
                               " bytes, sha256 " + a.sha256 + ")");
        }
    }

    /// @returns The manifest as committed (format, format_version, next_id, champion,
    /// champion_history, versions).
    nlohmann::json manifest() const { return detail::manifest_to_json(load("model_registry::manifest")); }

    /// @returns The registry directory (absolute).
    const std::filesystem::path& dir() const { return dir_; }

    /// @returns `<dir>/manifest.json`.
    std::filesystem::path manifest_path() const { return dir_ / "manifest.json"; }

private:
    using registry_manifest = detail::registry_manifest;

    std::filesystem::path lock_path() const { return dir_ / ".lock"; }

    static std::filesystem::path absolute_dir(std::filesystem::path dir) {
        if (dir.empty()) throw config_error("model_registry::model_registry: empty directory path (got '', expected a folder)");
        std::error_code ec;
        auto abs = std::filesystem::absolute(dir, ec);
        if (ec) throw io_error("model_registry::model_registry: cannot resolve '" + dir.string() + "' (" + ec.message() + ")");
        return abs;
    }

    registry_manifest load(const std::string& where) const {
        const auto p = manifest_path();
        return detail::manifest_from_text(detail::read_file(p, where), p.string());
    }

    void commit(const registry_manifest& m, const std::string& where) {
        detail::write_file_durable(manifest_path(), detail::manifest_to_json(m).dump(1) + "\n", where);
    }

    template <class M>
    static auto must_find(M& m, const std::string& version, const std::string& where) -> decltype(*m.find(version)) {
        auto* v = m.find(version);
        if (v == nullptr)
            throw not_found(where + ": unknown version (got '" + version + "', expected one of " +
                            std::to_string(m.versions.size()) + " registered versions" +
                            (m.versions.empty() ? std::string()
                                                : ", " + m.versions.front().version + " .. " + m.versions.back().version) +
                            ")");
        return *v;
    }

    std::optional<model_version> with_status(const char* s, const char* where) const {
        registry_manifest m = load(where);
        if (model_version* v = m.with_status(s)) return *v;
        return std::nullopt;
    }

    std::filesystem::path dir_;
    mutable Mutex mutex_;
};

/// @brief The thread-safe registry (every member may be called from many threads).
using model_registry = basic_model_registry<std::mutex>;
/// @brief The registry without in-process locking (the directory lock still guards writers).
using model_registry_st = basic_model_registry<detail::null_mutex>;

}  // namespace aitl
