#pragma once
// Thin RAII wrappers over the SQLite C API: a connection with a cache of prepared statements,
// a statement handle that resets itself, a transaction and a savepoint. Failures become
// aitl exceptions (io_error by default) carrying SQLite's message and the database path.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <sqlite3.h>

#include "../error.hpp"

namespace aitl {
namespace detail {

// Throws the aitl exception that fits a SQLite result code.
[[noreturn]] inline void sqlite_throw(int rc, std::string_view where, const std::string& what) {
    std::string msg = std::string(where) + ": " + what + " (SQLite: " + sqlite3_errstr(rc) + ")";
    switch (rc & 0xff) {
        case SQLITE_READONLY: throw state_error(msg);
        case SQLITE_CONSTRAINT: throw config_error(msg);
        default: throw io_error(msg);
    }
}

class sqlite_db;

// A prepared statement owned by a connection's cache; `sqlite_stmt` is the handle handed out
// for one use: it binds, steps and resets (bindings cleared) when it goes out of scope.
class sqlite_stmt {
public:
    sqlite_stmt(sqlite3_stmt* s, sqlite_db* db) noexcept : s_(s), db_(db) {}
    sqlite_stmt(const sqlite_stmt&) = delete;
    sqlite_stmt& operator=(const sqlite_stmt&) = delete;
    sqlite_stmt(sqlite_stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)), db_(o.db_) {}
    ~sqlite_stmt() {
        if (s_) {
            sqlite3_reset(s_);
            sqlite3_clear_bindings(s_);
        }
    }

    // Binding, 1-based like SQLite.
    sqlite_stmt& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
    sqlite_stmt& bind(int i, int v) { return check(sqlite3_bind_int64(s_, i, v)); }
    sqlite_stmt& bind(int i, unsigned v) { return check(sqlite3_bind_int64(s_, i, v)); }
    sqlite_stmt& bind(int i, double v) { return check(sqlite3_bind_double(s_, i, v)); }
    sqlite_stmt& bind(int i, std::string_view v) {
        return check(sqlite3_bind_text64(s_, i, v.data() ? v.data() : "", v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    }
    // Text that outlives the statement's use (no copy).
    sqlite_stmt& bind_static(int i, std::string_view v) {
        return check(sqlite3_bind_text64(s_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8));
    }
    sqlite_stmt& bind_null(int i) { return check(sqlite3_bind_null(s_, i)); }

    // One step: true when a row is available, false when done.
    bool step();
    // Steps a statement that returns no rows.
    void run() {
        while (step()) {
        }
    }

    std::int64_t int64(int c) const noexcept { return sqlite3_column_int64(s_, c); }
    double real(int c) const noexcept { return sqlite3_column_double(s_, c); }
    bool is_null(int c) const noexcept { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
    std::string_view text(int c) const noexcept {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
        int n = sqlite3_column_bytes(s_, c);
        return p ? std::string_view(p, static_cast<std::size_t>(n)) : std::string_view();
    }
    std::string str(int c) const { return std::string(text(c)); }
    void assign(int c, std::string& out) const {
        auto t = text(c);
        out.assign(t.data(), t.size());
    }

    sqlite3_stmt* get() const noexcept { return s_; }

private:
    sqlite_stmt& check(int rc);
    sqlite3_stmt* s_;
    sqlite_db* db_;
};

// One connection. Not thread-safe (opened with SQLITE_OPEN_NOMUTEX): one thread at a time.
class sqlite_db {
public:
    sqlite_db() = default;
    sqlite_db(const std::string& path, int flags, std::string_view where) : path_(path) {
        sqlite3* h = nullptr;
        int rc = sqlite3_open_v2(path.c_str(), &h, flags | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            std::string msg = h ? sqlite3_errmsg(h) : sqlite3_errstr(rc);
            sqlite3_close_v2(h);
            throw io_error(std::string(where) + ": cannot open '" + path + "' (" + msg + ")");
        }
        h_ = h;
        sqlite3_extended_result_codes(h_, 1);
    }
    sqlite_db(const sqlite_db&) = delete;
    sqlite_db& operator=(const sqlite_db&) = delete;
    sqlite_db(sqlite_db&& o) noexcept
        : h_(std::exchange(o.h_, nullptr)), path_(std::move(o.path_)), cache_(std::move(o.cache_)) {}
    sqlite_db& operator=(sqlite_db&& o) noexcept {
        if (this != &o) {
            close();
            h_ = std::exchange(o.h_, nullptr);
            path_ = std::move(o.path_);
            cache_ = std::move(o.cache_);
        }
        return *this;
    }
    ~sqlite_db() { close(); }

    void close() noexcept {
        for (auto& [sql, s] : cache_) sqlite3_finalize(s);
        cache_.clear();
        if (h_) sqlite3_close_v2(h_);
        h_ = nullptr;
    }

    sqlite3* handle() const noexcept { return h_; }
    const std::string& path() const noexcept { return path_; }

    // Runs SQL without results (may hold several statements).
    void exec(const char* sql) {
        char* err = nullptr;
        int rc = sqlite3_exec(h_, sql, nullptr, nullptr, &err);
        if (rc != SQLITE_OK) {
            std::string msg = err ? err : sqlite3_errmsg(h_);
            sqlite3_free(err);
            fail(rc, msg);
        }
    }

    // Runs one statement without results through the cache (transaction control: parsed once).
    void run(const std::string& sql) { prepare(sql).run(); }

    // A cached prepared statement for `sql` (prepared once per connection).
    sqlite_stmt prepare(const std::string& sql) {
        auto it = cache_.find(sql);
        if (it == cache_.end()) {
            sqlite3_stmt* s = nullptr;
            int rc = sqlite3_prepare_v3(h_, sql.c_str(), static_cast<int>(sql.size() + 1), SQLITE_PREPARE_PERSISTENT,
                                        &s, nullptr);
            if (rc != SQLITE_OK) fail(rc, sqlite3_errmsg(h_));
            it = cache_.emplace(sql, s).first;
        }
        return sqlite_stmt(it->second, this);
    }

    // The single integer of a one-row query (`fallback` when it returns no row or NULL).
    std::int64_t scalar(const std::string& sql, std::int64_t fallback = 0) {
        auto st = prepare(sql);
        if (!st.step() || st.is_null(0)) return fallback;
        return st.int64(0);
    }

    bool in_transaction() const noexcept { return h_ && !sqlite3_get_autocommit(h_); }

    [[noreturn]] void fail(int rc, const std::string& msg) const {
        sqlite_throw(rc, "sqlite_store", "'" + path_ + "': " + msg);
    }

private:
    sqlite3* h_ = nullptr;
    std::string path_;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

inline bool sqlite_stmt::step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_->fail(rc, sqlite3_errmsg(sqlite3_db_handle(s_)));
}

inline sqlite_stmt& sqlite_stmt::check(int rc) {
    if (rc != SQLITE_OK) db_->fail(rc, sqlite3_errmsg(sqlite3_db_handle(s_)));
    return *this;
}

// Transaction control, prepared once per connection.
struct sqlite_sql {
    static inline const std::string begin = "BEGIN", begin_immediate = "BEGIN IMMEDIATE", commit = "COMMIT",
                                     savepoint = "SAVEPOINT aitl_item", release = "RELEASE aitl_item";
};

// BEGIN [IMMEDIATE] ... COMMIT; rolls back when destroyed uncommitted.
class sqlite_transaction {
public:
    sqlite_transaction(sqlite_db& db, bool immediate) : db_(&db) {
        db.run(immediate ? sqlite_sql::begin_immediate : sqlite_sql::begin);
        open_ = true;
    }
    sqlite_transaction(const sqlite_transaction&) = delete;
    sqlite_transaction& operator=(const sqlite_transaction&) = delete;
    ~sqlite_transaction() { rollback(); }
    void commit() {
        db_->run(sqlite_sql::commit);
        open_ = false;
    }
    void rollback() noexcept {
        if (open_ && db_->in_transaction()) sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        open_ = false;
    }

private:
    sqlite_db* db_;
    bool open_ = false;
};

// SAVEPOINT inside a transaction: release() keeps the work, destruction without release undoes
// it (ROLLBACK TO + RELEASE) and leaves the enclosing transaction open.
class sqlite_savepoint {
public:
    explicit sqlite_savepoint(sqlite_db& db) : db_(&db) {
        db.run(sqlite_sql::savepoint);
        open_ = true;
    }
    sqlite_savepoint(const sqlite_savepoint&) = delete;
    sqlite_savepoint& operator=(const sqlite_savepoint&) = delete;
    ~sqlite_savepoint() {
        if (open_ && db_->in_transaction()) {
            sqlite3_exec(db_->handle(), "ROLLBACK TO aitl_item", nullptr, nullptr, nullptr);
            sqlite3_exec(db_->handle(), "RELEASE aitl_item", nullptr, nullptr, nullptr);
        }
    }
    void release() {
        db_->run(sqlite_sql::release);
        open_ = false;
    }

private:
    sqlite_db* db_;
    bool open_ = false;
};

}  // namespace detail
}  // namespace aitl
