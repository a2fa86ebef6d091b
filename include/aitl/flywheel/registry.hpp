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

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../config.hpp"
#include "../detail/durable_file.hpp"
#include "../detail/registry_manifest.hpp"
#include "../error.hpp"
#include "registry_types.hpp"

namespace aitl {


/**
 * @brief A directory of versioned model artifacts with a manifest: champion/challenger roles,
 * promote, reject and rollback (the `registry` slot of the flywheel).
 *
 * Layout: `<dir>/manifest.json` (format, next id, versions, champion, champion history),
 * `<dir>/versions/<v>/<artifact name>`, `<dir>/.lock` and, after a recovery, `<dir>/quarantine/`.
 * Life cycle of a version: `add()` makes it the challenger (a previous challenger becomes
 * "rejected" with decision `{"reason": "superseded"}`); `promote()` makes the challenger (or a
 * retired version) the champion and retires the old champion; `reject()` marks a challenger or
 * retired version "rejected" for good; `rollback()` reinstates the previous champion of the
 * history.
 *
 * Crash safety: artifact files are copied into a fresh version folder and fsynced before the
 * manifest names them; every change is one manifest commit (write `manifest.json.tmp`, fsync,
 * rename, fsync the directory). A crash at any moment leaves the old or the new manifest, never a
 * mix.
 *
 * Recovery never deletes what the registry did not create. Opening removes a stale
 * `manifest.json.tmp`, and for each entry of `versions/` that the manifest does not list: a
 * version folder that provably never reached a commit (empty, or holding the marker
 * `.aitl-uncommitted.tmp` that add() writes before copying and deletes before its commit) is
 * removed; anything else (a folder of an add() killed between its last copy and its commit, a
 * folder or file someone put there) is moved to `<dir>/quarantine/<name>` (`<name>.1`, `.2`, ...
 * when taken; nothing is overwritten). Each action is listed by `recovered()` and summarised in
 * one line on stderr. Without `manifest.json` the constructor opens only an empty (or new)
 * folder: a folder with version folders or any other content is refused (state_error, nothing
 * touched), so a lost manifest never costs a version and a user's folder is never a registry by
 * mistake.
 *
 * Integrity (`registry_options::verify_artifacts`, on by default): opening checks the champion's
 * files, and `file()`, `promote()` and `rollback()` check the files they hand out or reinstate
 * (size and SHA-256 against the manifest); a mismatch is an io_error naming the file and both
 * hashes, and changes nothing. Within a process a file that matched (and was last written more
 * than 2 s before) is not hashed again while its (device, inode, size, mtime, ctime) stay the
 * same; the ctime cannot be set from user space, so only a change that bypasses the file system
 * (a raw device write, silent disk corruption, a changed system clock) goes unseen until
 * `verify()`, which always re-hashes. `add()` refuses non-finite metrics (JSON cannot store
 * them: they used to become null).
 *
 * @tparam Mutex thread policy: `std::mutex` or `detail::null_mutex`. The registry keeps no state
 * in memory but its path, options and recovery log: every call reads the manifest from disk.
 * @note Thread safety: every member may be called concurrently (with `null_mutex`, except
 * `recovered()` against `add()`), and several registry objects or processes may share one
 * directory: mutating calls take an exclusive flock on `<dir>/.lock` and re-read the manifest
 * under it, so none loses another's update; reads see the last committed manifest. The object is
 * movable and copyable.
 * @code
 * aitl::model_registry reg("registry");
 * std::string v = reg.add({{"encoder.bin", "out/encoder.bin"}}, {"", 1200, {{"ndcg@10", 0.41}}, "round 3"});
 * if (gate_passes) reg.promote(v, {{"promote", true}}); else reg.reject(v, {{"reason", "no lift"}});
 * auto path = reg.file(reg.champion()->version, "encoder.bin");   // verified against the manifest
 * reg.rollback();                                   // back to the previous champion
 * @endcode
 */
template <class Mutex = std::mutex>
class basic_model_registry {
public:
    using mutex_type = Mutex;

    /**
     * @brief Opens (or creates) the registry in `dir`, recovers after a crash (see the class
     * notes) and, with `options.verify_artifacts`, verifies the champion's files. Needs write
     * access: it takes the directory lock.
     * @throws config_error for an empty path; state_error when `dir` has no manifest.json but is
     *         not empty (version folders of a registry whose manifest was lost, or someone
     *         else's files: nothing is changed); io_error when the directory or its files cannot
     *         be created, read or moved, or a champion file is missing or differs from the
     *         manifest; parse_error naming the file and field when manifest.json is malformed or
     *         inconsistent.
     */
    explicit basic_model_registry(std::filesystem::path dir, registry_options options = {})
        : dir_(absolute_dir(std::move(dir))), options_(options) {
        const std::string w = "model_registry::model_registry";
        refuse_unless_empty(w);  // before creating anything, not even the lock file
        detail::create_dirs_durable(dir_, w);
        registry_manifest m;
        {
            detail::dir_lock lock(lock_path(), w);
            std::error_code ec;
            if (std::filesystem::exists(manifest_path(), ec)) {
                m = load(w);
            } else {
                refuse_unless_empty(w);  // again under the lock
                commit(m, w);
            }
            detail::create_dirs_durable(dir_ / "versions", w);
            recover(m, w);
        }
        if (options_.verify_artifacts && !m.champion.empty())
            check_version(m, m.champion, w, "the champion '" + m.champion + "' does not verify: ",
                          "; the manifest is unchanged: restore the file, or open with verify_artifacts = false "
                          "and promote() or rollback() to an intact version");
    }

    basic_model_registry(const basic_model_registry& o)
        : dir_(o.dir_), options_(o.options_), recovered_(o.recovered()) {}
    basic_model_registry(basic_model_registry&& o) noexcept
        : dir_(std::move(o.dir_)), options_(o.options_), recovered_(std::move(o.recovered_)) {}
    basic_model_registry& operator=(basic_model_registry o) noexcept {
        dir_ = std::move(o.dir_);
        options_ = o.options_;
        recovered_ = std::move(o.recovered_);
        return *this;
    }

    /**
     * @brief Copies `files` into a new version and commits it as the challenger.
     * @param files artifact name (a plain file name such as "encoder.bin") -> source file.
     * @param info parent ("" or a listed version), watermark (>= 0), metrics (an object whose
     *        numbers are all finite, at any depth), note.
     * @returns The new version id ("v000001", "v000002", ...).
     * @throws config_error for no files, an invalid name, a negative watermark, non-object metrics
     *         or a NaN/inf metric (naming its path, e.g. "metrics.loss[2]"); not_found for an
     *         unknown parent; io_error when a source cannot be read or a copy fails (nothing is
     *         registered then).
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
        if (auto bad = detail::first_non_finite(info.metrics, "metrics"); !bad.first.empty())
            throw config_error(w + ": metric '" + bad.first + "' is not a finite number (got " +
                               detail::number_text(bad.second) + ", expected a finite number)");

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
        std::error_code ec;
        if (std::filesystem::exists(std::filesystem::symlink_status(vdir, ec)))  // another process's add died
            log_recovery({dispose_unlisted(vdir, false, m.next_id, w)}, w);
        const auto marker = vdir / detail::registry_marker_name;
        bool created = false;
        try {
            detail::create_dirs_durable(vdir, w);
            created = true;
            {
                detail::unique_fd fd = detail::open_fd(marker, O_WRONLY | O_CREAT | O_EXCL, w, "create");
                const std::string text = detail::registry_marker_text(v.version);
                detail::write_all(fd.get(), text.data(), text.size(), marker, w);
                fd.close(marker, w);
            }
            for (const auto& [name, src] : files) {
                const auto r = detail::copy_file_durable(src, vdir / name, w, false);
                v.artifacts.push_back(artifact_record{name, r.sha256, r.bytes});
            }
            if (::unlink(marker.c_str()) != 0) detail::throw_io(w, "remove", marker);
            detail::fsync_dir(vdir, w);  // the copies' names and the marker's removal, before the commit
        } catch (...) {
            if (created) std::filesystem::remove_all(vdir, ec);  // this call's own folder
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
     * becomes "retired". One atomic manifest commit, after verifying the version's files (with
     * `verify_artifacts`).
     * @param decision the gate decision kept with the version (any JSON).
     * @throws not_found for an unknown version; state_error when it is already the champion or
     *         was rejected; io_error naming the file and both hashes when a file of `version` is
     *         missing or differs from the manifest (nothing changes).
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
        if (options_.verify_artifacts)
            check_version(m, version, w, "cannot promote version '" + version + "': ", "; nothing was changed");
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
     *
     * With `verify_artifacts` the version to reinstate is verified first; a tampered or missing
     * file refuses the rollback (io_error) rather than skipping to an older version, so the
     * caller decides: restore the file, reject() that version and roll back again, or promote()
     * another one.
     * @returns The new champion, or nullopt when there is no previous champion (nothing changes).
     * @throws io_error naming the file and both hashes when a file of the previous champion is
     *         missing or differs from the manifest (nothing changes).
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
        if (options_.verify_artifacts)
            check_version(m, h[i], w, "cannot reinstate version '" + h[i] + "': ",
                          "; nothing was changed: restore the file, or reject('" + h[i] +
                              "') and roll back again, or promote() another version");
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

    /**
     * @brief The path of artifact `name` of `version`, for loading it; with `verify_artifacts`
     * the file is checked against the manifest first (hashed once per process while unchanged).
     * @throws not_found for an unknown version or artifact name; io_error naming the file and
     *         both hashes when it is missing or differs from the manifest.
     */
    std::filesystem::path file(const std::string& version, const std::string& name) const {
        const std::string w = "model_registry::file";
        registry_manifest m = load(w);
        const model_version& v = must_find(m, version, w);
        for (const auto& a : v.artifacts)
            if (a.name == name) {
                auto path = dir_ / "versions" / version / name;
                if (options_.verify_artifacts)
                    if (auto p = detail::artifact_problem(path, a, w, true); !p.empty()) throw io_error(w + ": " + p);
                return path;
            }
        std::string names;
        for (const auto& a : v.artifacts) names += (names.empty() ? "" : ", ") + a.name;
        throw not_found(w + ": unknown artifact of version '" + version + "' (got '" + name + "', expected one of " +
                        names + ")");
    }

    /**
     * @brief Re-hashes every artifact of `version` against the manifest (always reads the files,
     * whatever `verify_artifacts` says).
     * @throws not_found for an unknown version; io_error naming the file when one is missing,
     *         unreadable, or its size or SHA-256 differs.
     */
    void verify(const std::string& version) const {
        const std::string w = "model_registry::verify";
        registry_manifest m = load(w);
        for (const auto& a : must_find(m, version, w).artifacts)
            if (auto p = detail::artifact_problem(dir_ / "versions" / version / a.name, a, w, false); !p.empty())
                throw io_error(w + ": " + p);
    }

    /// @returns The manifest as committed (format, format_version, next_id, champion,
    /// champion_history, versions).
    nlohmann::json manifest() const { return detail::manifest_to_json(load("model_registry::manifest")); }

    /// @returns What recovery did to entries of `versions/` no commit names, in order: when this
    /// object opened, and when its add() met a folder left by another process's interrupted add.
    /// Empty after a clean open.
    std::vector<recovery_record> recovered() const {
        std::lock_guard<Mutex> guard(mutex_);
        return recovered_;
    }

    /// @returns The settings it was opened with.
    const registry_options& options() const { return options_; }

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

    // Without a manifest, opens only a folder that holds nothing but what a registry being created
    // writes (.lock, manifest.json.tmp, an empty versions/); else state_error, nothing touched.
    void refuse_unless_empty(const std::string& w) const {
        namespace fs = std::filesystem;
        std::error_code ec;
        if (fs::exists(fs::symlink_status(manifest_path(), ec)) || !fs::is_directory(dir_, ec)) return;
        std::vector<std::string> versions, others;
        auto list = [&](const fs::path& d, bool top) {
            std::error_code lec;
            fs::directory_iterator it(d, lec), end;
            for (; !lec && it != end; it.increment(lec)) {
                const std::string name = it->path().filename().string();
                const auto st = fs::symlink_status(it->path(), ec);
                if (top && (name == ".lock" || name == "manifest.json.tmp") && fs::is_regular_file(st)) continue;
                if (top && name == "versions" && fs::is_directory(st)) continue;
                if (top) others.push_back(name);
                else if (fs::is_directory(fs::status(it->path(), ec))) versions.push_back(name);
                else others.push_back("versions/" + name);
            }
            if (lec) throw io_error(w + ": cannot list '" + d.string() + "' (" + lec.message() + ")");
        };
        list(dir_, true);
        if (fs::is_directory(fs::symlink_status(dir_ / "versions", ec))) list(dir_ / "versions", false);
        if (versions.empty() && others.empty()) return;
        std::sort(versions.begin(), versions.end());
        std::sort(others.begin(), others.end());
        const std::string also = others.empty() ? std::string()
                                                : " and " + std::to_string(others.size()) + " other item(s): " +
                                                      detail::name_sample(others);
        if (!versions.empty())
            throw state_error(w + ": manifest missing in '" + dir_.string() + "' (got no manifest.json but " +
                              std::to_string(versions.size()) + " version folder(s) in versions/: " +
                              detail::name_sample(versions) + also +
                              ", expected manifest.json next to them); nothing was changed: restore manifest.json "
                              "from a backup, or move '" + (dir_ / "versions").string() + "' away (e.g. to '" +
                              (dir_ / "quarantine").string() + "') to start an empty registry here");
        throw state_error(w + ": not a model registry: '" + dir_.string() + "' holds other files (got " +
                          std::to_string(others.size()) + " item(s): " + detail::name_sample(others) +
                          ", expected an empty folder or one with manifest.json); nothing was changed: open a new "
                          "or empty folder");
    }

    // Under the lock: removes a stale temp manifest and disposes of every entry of versions/ that
    // `m` does not list as a folder (see the class notes).
    void recover(const registry_manifest& m, const std::string& w) {
        namespace fs = std::filesystem;
        std::error_code ec;
        const auto tmp = detail::temp_path_for(manifest_path());
        if (fs::is_regular_file(fs::symlink_status(tmp, ec))) detail::remove_all_if_exists(tmp, w);
        std::vector<std::pair<fs::path, bool>> unlisted;  // path, listed (but not a folder)
        std::error_code list_ec;
        fs::directory_iterator it(dir_ / "versions", list_ec), end;
        for (; !list_ec && it != end; it.increment(list_ec)) {
            std::error_code type_ec;
            const bool listed = m.find(it->path().filename().string()) != nullptr;
            if (!listed || !fs::is_directory(fs::status(it->path(), type_ec)))  // a symlinked folder is fine
                unlisted.emplace_back(it->path(), listed);
        }
        if (list_ec)
            throw io_error(w + ": cannot list '" + (dir_ / "versions").string() + "' (" + list_ec.message() + ")");
        std::sort(unlisted.begin(), unlisted.end());
        std::vector<recovery_record> done;
        for (const auto& [p, listed] : unlisted) done.push_back(dispose_unlisted(p, listed, m.next_id, w));
        log_recovery(std::move(done), w);
    }

    // Removes `p` when it is provably an uncommitted add's folder (a version id >= next_id, empty
    // or holding the marker), else moves it to quarantine/.
    recovery_record dispose_unlisted(const std::filesystem::path& p, bool listed, std::uint64_t next_id,
                                     const std::string& w) {
        namespace fs = std::filesystem;
        std::error_code ec;
        const std::uint64_t n = detail::registry_version_number(p.filename().string());
        if (!listed && n >= next_id && fs::is_directory(fs::symlink_status(p, ec))) {
            if (::rmdir(p.c_str()) == 0) return {"removed", p, {}, "empty folder of an interrupted add()"};
            const auto marker = p / detail::registry_marker_name;
            std::string text;
            if (fs::is_regular_file(fs::symlink_status(marker, ec)) && fs::file_size(marker, ec) < 4096) {
                try {
                    text = detail::read_file(marker, w);
                } catch (const io_error&) {
                }
            }
            if (text == detail::registry_marker_text(p.filename().string())) {
                detail::remove_all_if_exists(p, w);
                return {"removed", p, {}, "folder of an add() interrupted before its commit (it holds add()'s marker)"};
            }
        }
        const std::string reason = listed ? "listed in the manifest but not a folder"
                                   : n == 0 ? "not a version folder of this registry"
                                            : "version folder not listed in the manifest (an add() interrupted "
                                              "after copying, or not made by this registry)";
        const fs::path q = dir_ / "quarantine";
        detail::create_dirs_durable(q, w);
        const std::string name = p.filename().string();
        for (unsigned i = 0; i < 100000; ++i) {
            fs::path to = q / (i == 0 ? name : name + "." + std::to_string(i));
            if (detail::rename_no_replace(p, to, w)) return {"quarantined", p, to, reason};
        }
        throw io_error(w + ": cannot quarantine '" + p.string() + "' (got 100000 names taken in '" + q.string() +
                       "', expected a free one)");
    }

    // Makes the moves durable, keeps the records and prints one line on stderr.
    void log_recovery(std::vector<recovery_record> done, const std::string& w) {
        if (done.empty()) return;
        detail::fsync_dir(dir_ / "versions", w);
        std::string moved, removed;
        std::size_t n_moved = 0, n_removed = 0;
        for (const auto& r : done) {
            const std::string from = r.from.lexically_relative(dir_).string();
            if (r.action == "removed") {
                removed += (n_removed++ ? ", " : "") + from;
            } else {
                moved += (n_moved++ ? ", " : "") + from + " -> " + r.to.lexically_relative(dir_).string();
            }
        }
        if (n_moved) detail::fsync_dir(dir_ / "quarantine", w);
        std::string line = "aitl: warning: model registry '" + dir_.string() + "': recovery";
        if (n_moved) line += " moved " + std::to_string(n_moved) + " unlisted item(s) to quarantine (" + moved + ")";
        if (n_removed)
            line += std::string(n_moved ? " and" : "") + " removed " + std::to_string(n_removed) +
                    " uncommitted version folder(s) of interrupted adds (" + removed + ")";
        std::fprintf(stderr, "%s\n", line.c_str());
        recovered_.insert(recovered_.end(), done.begin(), done.end());
    }

    // Verifies every artifact of `version` (cached per process); io_error prefix + problem + suffix.
    void check_version(const registry_manifest& m, const std::string& version, const std::string& w,
                       const std::string& prefix, const std::string& suffix) const {
        for (const auto& a : must_find(m, version, w).artifacts)
            if (auto p = detail::artifact_problem(dir_ / "versions" / version / a.name, a, w, true); !p.empty())
                throw io_error(w + ": " + prefix + p + suffix);
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
    registry_options options_;
    std::vector<recovery_record> recovered_;
    mutable Mutex mutex_;
};

/// @brief The thread-safe registry (every member may be called from many threads).
using model_registry = basic_model_registry<std::mutex>;
/// @brief The registry without in-process locking (the directory lock still guards writers).
using model_registry_st = basic_model_registry<detail::null_mutex>;

}  // namespace aitl
