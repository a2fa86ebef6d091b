#pragma once
// Crash-safe file primitives (POSIX): the building blocks of atomic commits on disk.
//
// The recipe for replacing a file so that a crash (SIGKILL or power loss) at any moment leaves
// either the old or the new content, never a mix:
//   1. write the new content to a temporary file next to the target (same directory, so the
//      rename stays on one file system): temp_path_for(target) = "<target>.tmp";
//   2. fsync the temporary file (its data is on disk before its name points to it);
//   3. rename(temp, target): atomic on POSIX, readers see the old or the new file;
//   4. fsync the directory (the rename itself is on disk).
// write_file_durable() and copy_file_durable() do exactly this. Files written into a fresh
// directory that a later commit publishes (a registry version, an index build) can skip the
// rename: write, fsync each file, fsync the directory, then commit the file that names them.
//
// Temporary names are fixed ("<target>.tmp"), so two writers of one target must serialise, e.g.
// with dir_lock, and recovery after a crash may delete leftover "*.tmp" files under that lock.
// Recovery that cannot prove an entry is its own moves it aside with rename_no_replace() (never
// overwriting) instead of deleting it. file_identity and verified_files let a reader skip
// re-hashing a file that has not changed since its SHA-256 last matched.
//
// Every failure throws io_error "<where>: cannot <action> '<path>' (<strerror>)"; `where` is
// the caller's "type::method" so that messages name the public call.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "../error.hpp"
#include "sha256.hpp"

namespace aitl {
namespace detail {

/// Throws io_error "<where>: cannot <action> '<path>' (<strerror(err)>)".
[[noreturn]] inline void throw_io(const std::string& where, const char* action, const std::filesystem::path& path,
                                  int err = errno) {
    throw io_error(where + ": cannot " + action + " '" + path.string() + "' (" + std::strerror(err) + ")");
}

/// A file descriptor closed on destruction (movable, not copyable).
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    /// Closes and reports the error of close() (a delayed write error on some file systems).
    void close(const std::filesystem::path& path, const std::string& where) {
        const int fd = std::exchange(fd_, -1);
        if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) throw_io(where, "close", path);
    }

private:
    int fd_ = -1;
};

/// open(2) with O_CLOEXEC, retried on EINTR. @throws io_error naming `action` and the path.
inline unique_fd open_fd(const std::filesystem::path& path, int flags, const std::string& where,
                         const char* action = "open", mode_t mode = 0644) {
    int fd;
    do fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) throw_io(where, action, path);
    return unique_fd(fd);
}

/// Writes all `n` bytes (handles short writes and EINTR).
inline void write_all(int fd, const void* data, std::size_t n, const std::filesystem::path& path,
                      const std::string& where) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw_io(where, "write", path);
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

/// Reads up to `n` bytes, fewer only at end of file (handles EINTR). @returns the bytes read.
inline std::size_t read_some(int fd, void* data, std::size_t n, const std::filesystem::path& path,
                             const std::string& where) {
    char* p = static_cast<char*>(data);
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_io(where, "read", path);
        }
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    return got;
}

/// fsync(2) of an open file.
inline void fsync_fd(int fd, const std::filesystem::path& path, const std::string& where) {
    int rc;
    do rc = ::fsync(fd);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) throw_io(where, "fsync", path);
}

/// fsync(2) of a directory: makes creations, renames and removals of its entries durable.
inline void fsync_dir(const std::filesystem::path& dir, const std::string& where) {
    unique_fd fd = open_fd(dir.empty() ? std::filesystem::path(".") : dir, O_RDONLY | O_DIRECTORY, where,
                           "open directory");
    int rc;
    do rc = ::fsync(fd.get());
    while (rc != 0 && errno == EINTR);
    // Some file systems refuse fsync on directories (EINVAL): there is nothing more to do there.
    if (rc != 0 && errno != EINVAL) throw_io(where, "fsync directory", dir);
}

/// rename(2): atomic replacement of `to` by `from` (same file system).
inline void rename_file(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& where) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        const int err = errno;
        throw io_error(where + ": cannot rename '" + from.string() + "' to '" + to.string() + "' (" +
                       std::strerror(err) + ")");
    }
}

/// rename(2) that never replaces: moves `from` to `to` unless `to` exists (a file, a folder or a
/// dangling symlink). Uses renameat2(RENAME_NOREPLACE) where the kernel and file system support
/// it (atomic), else an lstat check then rename (callers serialise with dir_lock).
/// @returns false when `to` exists (nothing moved). @throws io_error naming both paths.
inline bool rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to,
                              const std::string& where) {
    auto fail = [&](int err) {
        throw io_error(where + ": cannot move '" + from.string() + "' to '" + to.string() + "' (" +
                       std::strerror(err) + ")");
    };
#if defined(RENAME_NOREPLACE) && defined(AT_FDCWD)
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
    if (errno == EEXIST) return false;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) fail(errno);
#endif
    struct stat st {};
    if (::lstat(to.c_str(), &st) == 0) return false;
    if (errno != ENOENT) fail(errno);
    if (::rename(from.c_str(), to.c_str()) != 0) fail(errno);
    return true;
}

/// The parent directory of `p` ("." for a bare file name).
inline std::filesystem::path parent_dir(const std::filesystem::path& p) {
    auto d = p.parent_path();
    return d.empty() ? std::filesystem::path(".") : d;
}

/// The temporary file used to replace `target`: "<target>.tmp" in the same directory.
inline std::filesystem::path temp_path_for(const std::filesystem::path& target) {
    std::filesystem::path t = target;
    t += ".tmp";
    return t;
}

/// Creates `dir` and its missing parents, fsyncing the parent of each directory created (a
/// directory entry is durable only once its parent is synced). Existing directories are fine.
/// @throws io_error when a directory cannot be created or `dir` exists as a non-directory.
inline void create_dirs_durable(const std::filesystem::path& dir, const std::string& where) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return;
    const fs::path parent = dir.parent_path();
    if (!parent.empty() && parent != dir) create_dirs_durable(parent, where);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw_io(where, "create directory", dir);
    if (!fs::is_directory(dir, ec)) throw_io(where, "create directory", dir, ENOTDIR);
    fsync_dir(parent_dir(dir), where);
}

/// Atomically replaces (or creates) `target` with `data`: write "<target>.tmp", fsync, rename,
/// and with `sync_dir` fsync the directory (pass false to batch several files, then call
/// fsync_dir once). A crash leaves the old or the new file, plus possibly a stale "<target>.tmp".
/// @throws io_error; the temporary file is removed on failure.
inline void write_file_durable(const std::filesystem::path& target, std::string_view data, const std::string& where,
                               bool sync_dir = true) {
    const std::filesystem::path tmp = temp_path_for(target);
    try {
        unique_fd fd = open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, where, "create");
        write_all(fd.get(), data.data(), data.size(), tmp, where);
        fsync_fd(fd.get(), tmp, where);
        fd.close(tmp, where);
        rename_file(tmp, target, where);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    if (sync_dir) fsync_dir(parent_dir(target), where);
}

/// Size and SHA-256 of what copy_file_durable wrote.
struct copy_result {
    std::uint64_t bytes = 0;
    std::string sha256;  ///< 64 lowercase hex digits
};

/**
 * Copies `src` to `dst` durably and hashes the bytes on the way (one read of the source):
 * write "<dst>.tmp", fsync, rename to `dst`, and with `sync_dir` fsync dst's directory. The
 * source must be a regular file (not a directory). A crash leaves no `dst` or the complete one.
 * @throws io_error naming the file that failed; the temporary file is removed on failure.
 */
inline copy_result copy_file_durable(const std::filesystem::path& src, const std::filesystem::path& dst,
                                     const std::string& where, bool sync_dir = true) {
    unique_fd in = open_fd(src, O_RDONLY, where, "open for reading");
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) throw_io(where, "stat", src);
    if (!S_ISREG(st.st_mode)) throw_io(where, "copy", src, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    const std::filesystem::path tmp = temp_path_for(dst);
    copy_result out;
    try {
        unique_fd fd = open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, where, "create");
        sha256 h;
        static constexpr std::size_t chunk = 1 << 16;
        char buf[chunk];
        for (;;) {
            const std::size_t n = read_some(in.get(), buf, chunk, src, where);
            if (n == 0) break;
            h.update(buf, n);
            write_all(fd.get(), buf, n, tmp, where);
            out.bytes += n;
            if (n < chunk) break;
        }
        fsync_fd(fd.get(), tmp, where);
        fd.close(tmp, where);
        rename_file(tmp, dst, where);
        out.sha256 = h.hex_digest();
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    if (sync_dir) fsync_dir(parent_dir(dst), where);
    return out;
}

/// The whole content of a file. @throws io_error naming the file.
inline std::string read_file(const std::filesystem::path& path, const std::string& where) {
    unique_fd fd = open_fd(path, O_RDONLY, where, "open for reading");
    std::string out;
    char buf[1 << 15];
    for (;;) {
        const std::size_t n = read_some(fd.get(), buf, sizeof buf, path, where);
        out.append(buf, n);
        if (n < sizeof buf) break;
    }
    return out;
}

/// Removes a file or a directory tree when present (no error when absent). @throws io_error.
inline void remove_all_if_exists(const std::filesystem::path& p, const std::string& where) {
    std::error_code ec;
    std::filesystem::remove_all(p, ec);
    if (ec) throw io_error(where + ": cannot remove '" + p.string() + "' (" + ec.message() + ")");
}

/// What identifies one state of a file's bytes without reading them: a write, truncate, rename
/// over it or utimensat() changes the ctime (which user space cannot set), so a match means the
/// bytes were not rewritten through the file system since they were hashed (a raw device write,
/// silent disk corruption or a changed system clock can still go unseen).
struct file_identity {
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    friend bool operator==(const file_identity& a, const file_identity& b) {
        return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns &&
               a.ctime_ns == b.ctime_ns;
    }
};

/// false when `p` is missing or not a regular file (symlinks followed).
inline bool file_identity_of(const std::filesystem::path& p, file_identity& out) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    out.dev = static_cast<std::uint64_t>(st.st_dev);
    out.ino = static_cast<std::uint64_t>(st.st_ino);
    out.size = static_cast<std::uint64_t>(st.st_size);
    out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    out.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    return true;
}

/// Per process: files whose bytes hashed to an expected SHA-256, by path and file_identity, so
/// that a check of an unchanged file need not read it again (the model registry's artifacts).
/// A file is remembered only when its ctime is at least 2 s older than the start of the hash
/// that checked it: timestamps are coarse (a clock tick, or a second on some file systems), so
/// a same-size rewrite just after a write could keep the identity (git's "racily clean" rule).
/// Thread-safe; bounded (cleared at 100,000 entries).
class verified_files {
public:
    static verified_files& instance() {
        static verified_files cache;
        return cache;
    }
    bool known(const std::string& path, const file_identity& id, const std::string& sha256, std::uint64_t bytes) {
        std::lock_guard<std::mutex> g(mu_);
        auto it = map_.find(path);
        return it != map_.end() && it->second.id == id && it->second.sha256 == sha256 && it->second.bytes == bytes;
    }
    /// `hash_started_ns`: the wall-clock time (ns since the epoch) before the file was read.
    void remember(const std::string& path, const file_identity& id, const std::string& sha256, std::uint64_t bytes,
                  std::int64_t hash_started_ns) {
        if (id.ctime_ns > hash_started_ns - 2000000000) return;  // too recent to trust its identity
        std::lock_guard<std::mutex> g(mu_);
        if (map_.size() >= 100000) map_.clear();  // a bound, far above any registry's artifact count
        map_[path] = entry{id, sha256, bytes};
    }
    void forget(const std::string& path) {
        std::lock_guard<std::mutex> g(mu_);
        map_.erase(path);
    }

private:
    struct entry {
        file_identity id;
        std::string sha256;
        std::uint64_t bytes = 0;
    };
    std::mutex mu_;
    std::unordered_map<std::string, entry> map_;
};

/**
 * An exclusive advisory lock held on a lock file (flock(2), LOCK_EX) for the object's lifetime:
 * serialises writers across processes and across objects of one process (each dir_lock opens
 * the file itself, and flock locks of separate opens conflict). The kernel drops the lock when
 * the holder dies, so a killed writer never leaves a stale lock. The lock file is created when
 * missing and never removed. Not re-entrant: a thread must not take a second dir_lock on the
 * same file while it holds one (it would wait for itself). NFS may not honour flock.
 * @code
 * detail::dir_lock lock(dir / ".lock", "model_registry::add");   // blocks until acquired
 * ... read state, write files, commit ...
 * @endcode
 */
class dir_lock {
public:
    dir_lock(const std::filesystem::path& lock_file, const std::string& where)
        : fd_(open_fd(lock_file, O_RDWR | O_CREAT, where, "open lock file")) {
        int rc;
        do rc = ::flock(fd_.get(), LOCK_EX);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) throw_io(where, "lock", lock_file);
    }
    dir_lock(dir_lock&&) noexcept = default;
    dir_lock& operator=(dir_lock&&) noexcept = default;
    ~dir_lock() = default;  // closing the descriptor releases the lock

private:
    unique_fd fd_;
};

}  // namespace detail
}  // namespace aitl
