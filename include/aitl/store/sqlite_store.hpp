#pragma once
/// @file store/sqlite_store.hpp
/// @brief `basic_sqlite_store`: the durable, embedded store of impressions and annotations
/// (SQLite, WAL mode, group commit, a pool of read connections, JSONL export/import).

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include "../concepts.hpp"
#include "../config.hpp"
#include "../detail/sqlite.hpp"
#include "../detail/sqlite_records.hpp"
#include "../detail/store_jsonl.hpp"
#include "../error.hpp"
#include "../feedback/annotation.hpp"
#include "../feedback/impression.hpp"
#include "sqlite_schema.hpp"
#include "store_types.hpp"

namespace aitl {

/**
 * @brief Durable store of impressions and annotations in one SQLite file (the `Store` slot).
 *
 * Every append is validated first (`validate(impression)`; `validate(annotation, impression)`
 * against the stored impression, looked up inside the write transaction so it may come from the
 * same batch) and is all or nothing: an annotation and its relevance labels, an impression and
 * its candidates, replies and models, a whole batch, an import — each is one transaction or one
 * savepoint. The store assigns `seq` (monotonic in commit order: the watermark readers resume
 * from with `annotations_since`) and, for an empty `id`, a unique id ("imp-" / "ann-" + 16 hex
 * digits). Returned ids are the stored ids.
 *
 * Writes: WAL journal, `BEGIN IMMEDIATE`, `busy_timeout_ms` for other processes writing the same
 * file. With `durability::full` an append returns only after its transaction is committed and
 * synced (acknowledged = durable, even on power loss). With the `_mt` policy concurrent appends
 * are group-committed: one waiting thread becomes the leader and writes up to
 * `group_commit_max` queued calls in one transaction (one fsync), each in its own savepoint, so
 * a call that fails validation is rolled back alone and only its caller gets the exception.
 * A single thread pays exactly one transaction per append call.
 *
 * Reads use a pool of read-only connections (one per concurrent reader, opened lazily) and see
 * committed data only, as of the start of the call; they run concurrently with the writer.
 *
 * @tparam Mutex thread policy: `std::mutex` (every member may be called from many threads) or
 * `detail::null_mutex` (no locking, one thread).
 * @note Thread safety: with `sqlite_store_mt` (= `sqlite_store`) every member may be called
 * concurrently; several store objects (or processes) may open the same file. `sqlite_store_st`
 * is for one thread. The object is movable, not copyable; do not move it while in use.
 * @code
 * aitl::sqlite_store store("feedback.db");          // created (schema v2) when missing
 * std::string imp_id = store.append(imp);           // imp: an aitl::impression
 * aitl::annotation a;
 * a.impression_id = imp_id; a.annotator = "agent-07"; a.timestamp_ms = 1700000004200;
 * a.body = aitl::preference{aitl::preference_choice::b, aitl::preference_strength::clear, ""};
 * store.append(a);
 * for (const auto& x : store.annotations_since(last_seen)) { train_on(x); last_seen = x.seq; }
 * store.export_jsonl("feedback.jsonl");
 * @endcode
 */
template <class Mutex = std::mutex>
class basic_sqlite_store {
public:
    using mutex_type = Mutex;

    /**
     * @brief Opens (or creates) the store at `path` and applies missing schema migrations.
     * @throws config_error for invalid settings; io_error when the file cannot be opened or is
     *         not a SQLite database; state_error when it is a database but not an aitl store, when
     *         its schema is newer than this library's, or when `read_only` and it is missing or
     *         needs a migration.
     */
    explicit basic_sqlite_store(const std::string& path, sqlite_store_config config = {})
        : s_(std::make_unique<state>(path, std::move(config))) {
        require_store<basic_sqlite_store>();
        open();
    }

    basic_sqlite_store(basic_sqlite_store&&) noexcept = default;
    basic_sqlite_store& operator=(basic_sqlite_store&&) noexcept = default;

    /**
     * @brief Validates and stores an impression.
     * @returns Its id (assigned when `imp.id` was empty).
     * @throws config_error naming the field (invalid impression, duplicate `id`); state_error
     *         when read-only; io_error when the database fails (nothing is stored).
     */
    std::string append(const impression& imp) { return std::move(append_many(&imp, 1, nullptr, 0).front()); }

    /**
     * @brief Validates an annotation against its stored impression and stores it.
     * @returns Its id (assigned when `a.id` was empty).
     * @throws not_found when `impression_id` is not stored; config_error naming the field;
     *         state_error when read-only; io_error when the database fails.
     */
    std::string append(const annotation& a) { return std::move(append_many(nullptr, 0, &a, 1).front()); }

    /// @brief Stores impressions in one transaction: all of them or, on any error, none.
    /// @returns Their ids, in order.
    std::vector<std::string> append(const std::vector<impression>& imps) {
        return append_many(imps.data(), imps.size(), nullptr, 0);
    }

    /// @brief Stores annotations in one transaction: all of them or, on any error, none. Their
    /// impressions must be stored (earlier or in the same group commit).
    /// @returns Their ids, in order.
    std::vector<std::string> append(const std::vector<annotation>& anns) {
        return append_many(nullptr, 0, anns.data(), anns.size());
    }

    /**
     * @brief Stores impressions and annotations in one transaction: all of them or, on any error,
     * none. The impressions are written first, so the annotations may refer to them.
     * @returns The impression ids, in order, followed by the annotation ids, in order.
     * @throws as the single appends (not_found, config_error, state_error, io_error); nothing
     *         of the call is stored then.
     * @code
     * auto ids = store.append(std::vector<aitl::impression>{imp}, {a1, a2});  // a1, a2 refer to imp.id
     * @endcode
     */
    std::vector<std::string> append(const std::vector<impression>& imps, const std::vector<annotation>& anns) {
        return append_many(imps.data(), imps.size(), anns.data(), anns.size());
    }

    /// @returns The impression with this id. @throws not_found when it is not stored.
    impression get_impression(std::string_view id) const {
        store_filter f;
        f.impression_id = std::string(id);
        auto v = impressions(f);
        if (v.empty())
            throw not_found("sqlite_store::get_impression: unknown impression id (got '" + std::string(id) +
                            "', not stored in '" + s_->path + "')");
        return std::move(v.front());
    }

    /// @returns Whether an impression with this id is stored.
    bool contains_impression(std::string_view id) const {
        auto r = reader();
        auto st = r->prepare("SELECT 1 FROM impressions WHERE id = ?");
        st.bind_static(1, id);
        return st.step();
    }

    /// @returns The annotation with this id. @throws not_found when it is not stored.
    annotation get_annotation(std::string_view id) const {
        detail::annotation_query q;
        q.id = std::string(id);
        auto v = read_annotations(q);
        if (v.empty())
            throw not_found("sqlite_store::get_annotation: unknown annotation id (got '" + std::string(id) +
                            "', not stored in '" + s_->path + "')");
        return std::move(v.front());
    }

    /// @returns Whether an annotation with this id is stored.
    bool contains_annotation(std::string_view id) const {
        auto r = reader();
        auto st = r->prepare("SELECT 1 FROM annotations WHERE id = ?");
        st.bind_static(1, id);
        return st.step();
    }

    /// @returns The impressions matching `filter`, in seq order.
    std::vector<impression> impressions(const store_filter& filter = {}) const {
        auto r = reader();
        detail::sqlite_transaction txn(*r, false);
        auto out = detail::query_impressions(*r, filter);
        txn.commit();
        return out;
    }

    /// @returns The annotations matching `filter`, in seq order.
    std::vector<annotation> annotations(const store_filter& filter = {}) const {
        detail::annotation_query q;
        q.filter = filter;
        return read_annotations(q);
    }

    /**
     * @brief The annotations stored after `watermark` (seq > watermark), in seq order.
     *
     * Resume from the last seq seen: no annotation is missed or returned twice, since seq is
     * monotonic in commit order. @param limit at most this many (0 = all).
     */
    std::vector<annotation> annotations_since(std::int64_t watermark, std::size_t limit = 0) const {
        detail::annotation_query q;
        q.filter.after_seq = watermark;
        q.filter.limit = limit;
        return read_annotations(q);
    }

    /// @returns Counts per record type and the watermarks (one consistent snapshot).
    store_stats stats() const {
        auto r = reader();
        detail::sqlite_transaction txn(*r, false);
        store_stats out;
        {
            auto st = r->prepare("SELECT count(*), coalesce(max(seq), 0) FROM impressions");
            st.step();
            out.impressions = static_cast<std::size_t>(st.int64(0));
            out.impression_watermark = st.int64(1);
        }
        {
            // min(seq) names a row of a kind aitl never writes (edited outside aitl): the same
            // error as reading it, so stats and export never disagree.
            auto st = r->prepare("SELECT kind, count(*), min(seq) FROM annotations GROUP BY kind");
            while (st.step()) {
                const auto n = static_cast<std::size_t>(st.int64(1));
                const detail::stored_row row{st, *r, "annotations", st.int64(2)};
                switch (row.integer(0, "kind", 0, 3)) {
                    case 0: out.preference = n; break;
                    case 1: out.adoption = n; break;
                    case 2: out.knowledge_relevance = n; break;
                    default: out.missing_knowledge = n; break;
                }
            }
        }
        out.annotation_watermark = r->scalar("SELECT max(seq) FROM annotations");
        txn.commit();
        return out;
    }

    /// @returns The largest annotation seq (0 when there is none): pass it to `annotations_since`.
    std::int64_t watermark() const {
        auto r = reader();
        return r->scalar("SELECT max(seq) FROM annotations");
    }

    /**
     * @brief Writes every record to a JSONL file (atomically: a temporary file, then a rename).
     *
     * Line 1 is the header `{"type":"aitl_store","schema_version":2,"impressions":N,"annotations":M}`,
     * then the N impressions and the M annotations in seq order, in their JSON forms (with seq
     * and id). One snapshot: appends made meanwhile are not included.
     * @throws io_error when the file cannot be written.
     */
    void export_jsonl(const std::string& path) const {
        auto r = reader();
        detail::sqlite_transaction txn(*r, false);
        detail::export_store_jsonl(*r, path);
        txn.commit();
    }

    /**
     * @brief Reads a file written by `export_jsonl` and stores every record in one transaction,
     * keeping their seq and id (exporting the result writes the same bytes).
     *
     * Records without seq or id get new ones. Imported seqs must exceed the store's watermark
     * (of their table) and increase down the file, so readers' watermarks stay valid.
     * @returns The number of records imported.
     * @throws parse_error naming the line and field (not JSON, bad header, invalid record, an id
     *         already stored, a seq not after the watermark, an unknown impression); the store is
     *         then unchanged. io_error when the file cannot be read; state_error when read-only.
     */
    std::size_t import_jsonl(const std::string& path) {
        check_writable("sqlite_store::import_jsonl");
        detail::store_jsonl_records records = detail::read_store_jsonl(path);
        std::size_t n = records.impressions.size() + records.annotations.size();
        std::function<void(detail::sqlite_db&)> work = [&](detail::sqlite_db& db) {
            detail::import_store_records(db, records, path, [this](const char* p) { return new_id(p); });
        };
        write_request req;
        req.work = &work;
        submit(req);
        return n;
    }

    /// @returns The schema version of the file (== `sqlite_schema_version` once opened).
    int schema_version() const noexcept { return s_->schema_version; }
    /// @returns The path the store was opened with.
    const std::string& path() const noexcept { return s_->path; }
    /// @returns The settings.
    const sqlite_store_config& config() const noexcept { return s_->config; }

private:
    static constexpr bool single_threaded = std::is_same_v<Mutex, detail::null_mutex>;
    using condition = std::conditional_t<std::is_same_v<Mutex, std::mutex>, std::condition_variable,
                                         std::condition_variable_any>;

    struct write_request {
        const impression* imps = nullptr;
        std::size_t n_imps = 0;
        const annotation* anns = nullptr;
        std::size_t n_anns = 0;
        const std::function<void(detail::sqlite_db&)>* work = nullptr;  // import
        std::vector<std::string> ids;
        std::exception_ptr error;
        bool done = false;
    };

    struct state {
        state(std::string p, sqlite_store_config c) : path(std::move(p)), config(std::move(c)) {
            if (path.empty())
                throw config_error("sqlite_store: empty path (got '', expected the path of a store file such as 'feedback.db')");
            if (path.find('\0') != std::string::npos)
                throw config_error("sqlite_store: path holds a NUL byte (got " + std::to_string(path.size()) +
                                   " bytes, expected a file path)");
            validate(config, "sqlite_store");
            std::random_device rd;
            std::seed_seq seed{rd(), rd(), rd(), rd()};
            rng.seed(seed);
        }
        std::string path;
        sqlite_store_config config;
        int schema_version = 0;
        detail::sqlite_db writer;  // used by the leader only (or the one thread of `_st`)
        std::mt19937_64 rng;       // id generator, used under the writer only
        detail::outline_cache outlines;  // of impressions, used under the writer only
        Mutex write_mutex;
        condition wake;
        std::deque<write_request*> queue;
        bool leader = false;
        Mutex pool_mutex;
        std::vector<std::unique_ptr<detail::sqlite_db>> idle;  // read connections not in use
    };

    // A read connection borrowed from the pool for one call.
    class reader_lease {
    public:
        reader_lease(state& s, std::unique_ptr<detail::sqlite_db> db) : s_(&s), db_(std::move(db)) {}
        reader_lease(const reader_lease&) = delete;
        reader_lease& operator=(const reader_lease&) = delete;
        ~reader_lease() {
            if (db_->in_transaction()) sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
            std::lock_guard<Mutex> guard(s_->pool_mutex);
            s_->idle.push_back(std::move(db_));
        }
        detail::sqlite_db* operator->() const noexcept { return db_.get(); }
        detail::sqlite_db& operator*() const noexcept { return *db_; }

    private:
        state* s_;
        std::unique_ptr<detail::sqlite_db> db_;
    };

    void open() {
        state& s = *s_;
        const char* w = "sqlite_store";
        if (s.config.read_only) {
            detail::sqlite_db db(s.path, SQLITE_OPEN_READONLY, w);
            configure_reader(db);
            detail::sqlite_transaction txn(db, false);
            s.schema_version = detail::sqlite_read_schema_version(db, w);
            txn.commit();
            if (s.schema_version == 0)
                throw state_error(std::string(w) + ": '" + s.path + "' is not an aitl store (no tables; opened read_only, so "
                                  "it was not created)");
            check_version(s.schema_version);
            if (s.schema_version < sqlite_schema_version)
                throw state_error(std::string(w) + ": '" + s.path + "' has schema version " +
                                  std::to_string(s.schema_version) + " (expected " +
                                  std::to_string(sqlite_schema_version) +
                                  "; open it once without read_only to migrate it)");
            s.idle.push_back(std::make_unique<detail::sqlite_db>(std::move(db)));
            return;
        }
        if (std::string why = open_problem(); !why.empty()) throw io_error(why);
        try {
            s.writer = detail::sqlite_db(s.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, w);
            sqlite3_busy_timeout(s.writer.handle(), s.config.busy_timeout_ms);
            {
                // Refuse foreign or newer databases before changing anything in them.
                detail::sqlite_transaction txn(s.writer, false);
                check_version(detail::sqlite_read_schema_version(s.writer, w));
                txn.commit();
            }
            s.writer.exec("PRAGMA journal_mode=WAL");
        } catch (const io_error& e) {
            explain_open_failure(e);
        }
        s.writer.exec("PRAGMA cache_size=-65536");  // 64 MiB: index inserts stay in memory
        s.writer.exec(s.config.durability_mode == durability::full ? "PRAGMA synchronous=FULL"
                                                                  : "PRAGMA synchronous=NORMAL");
        s.schema_version = detail::sqlite_migrate(s.writer, sqlite_schema_version, w);
    }

    // SQLite says "unable to open database file" (or "attempt to write a readonly database")
    // for every reason: the one that applies, or "" when none is seen.
    std::string open_problem() const {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::path file(s_->path);
        fs::path folder = file.parent_path();
        if (folder.empty()) folder = ".";
        const std::string w = "sqlite_store: cannot open '" + s_->path + "'";
        if (fs::is_directory(file, ec)) return w + " (got a folder, expected a store file)";
        if (!fs::is_directory(folder, ec))
            return w + " (got no folder '" + folder.string() + "', expected an existing folder; create it first)";
        const bool exists = fs::exists(file, ec);
        if (::access(folder.c_str(), W_OK | X_OK) != 0) {
            if (!exists)
                return w + " (folder '" + folder.string() + "' is not writable, so the store cannot be created; "
                       "expected a writable folder)";
            if (!fs::exists(file.string() + "-wal", ec))
                return w + " (folder '" + folder.string() + "' is not writable: SQLite must create '" +
                       file.filename().string() + "-wal' and '-shm' next to the store; expected a writable folder, "
                       "or open the store with read_only)";
        }
        if (exists && ::access(file.c_str(), R_OK | W_OK) != 0)
            return w + " (the file is not readable and writable by this user; expected write access, or open it "
                       "with read_only)";
        return "";
    }

    [[noreturn]] void explain_open_failure(const io_error& e) const {
        if (std::string why = open_problem(); !why.empty()) throw io_error(why);
        throw e;
    }

    void check_version(int v) const {
        if (v > sqlite_schema_version)
            throw state_error("sqlite_store: '" + s_->path + "' has schema version " + std::to_string(v) +
                              ", newer than this library's " + std::to_string(sqlite_schema_version) +
                              " (expected <= " + std::to_string(sqlite_schema_version) + "; upgrade aitl)");
    }

    void configure_reader(detail::sqlite_db& db) const {
        sqlite3_busy_timeout(db.handle(), s_->config.busy_timeout_ms);
        // Reads map the file instead of copying pages (the WAL is still read through the cache).
        db.exec("PRAGMA mmap_size=1073741824");
    }

    reader_lease reader() const {
        state& s = *s_;
        {
            std::lock_guard<Mutex> guard(s.pool_mutex);
            if (!s.idle.empty()) {
                auto db = std::move(s.idle.back());
                s.idle.pop_back();
                return reader_lease(s, std::move(db));
            }
        }
        auto db = std::make_unique<detail::sqlite_db>(s.path, SQLITE_OPEN_READONLY, "sqlite_store");
        configure_reader(*db);
        return reader_lease(s, std::move(db));
    }

    std::vector<annotation> read_annotations(const detail::annotation_query& q) const {
        auto r = reader();
        detail::sqlite_transaction txn(*r, false);
        auto out = detail::query_annotations(*r, q);
        txn.commit();
        return out;
    }

    void check_writable(const char* where) const {
        if (s_->config.read_only)
            throw state_error(std::string(where) + ": store '" + s_->path +
                              "' was opened read_only (expected read_only = false to write)");
    }

    // prefix + 16 hex digits: 11 of Unix milliseconds (ids sort roughly by creation time, so
    // inserts into the id indexes stay local) and 5 random ones; uniqueness is checked on insert.
    std::string new_id(const char* prefix) {
        static const char* hex = "0123456789abcdef";
        const auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       std::chrono::system_clock::now().time_since_epoch())
                                                       .count());
        std::uint64_t v = (ms << 20) | (s_->rng() & 0xfffff);
        std::string id(prefix);
        const std::size_t n = id.size();
        id.resize(n + 16);
        for (std::size_t i = 16; i-- > 0; v >>= 4) id[n + i] = hex[v & 0xf];
        return id;
    }

    std::vector<std::string> append_many(const impression* imps, std::size_t n_imps, const annotation* anns,
                                         std::size_t n_anns) {
        check_writable("sqlite_store::append");
        const bool batch = n_imps + n_anns > 1;
        for (std::size_t i = 0; i < n_imps; ++i) at_item(batch, "impressions", i, [&] { validate(imps[i]); });
        for (std::size_t i = 0; i < n_anns; ++i) at_item(batch, "annotations", i, [&] { validate(anns[i]); });
        if (n_imps + n_anns == 0) return {};
        write_request req;
        req.imps = imps;
        req.n_imps = n_imps;
        req.anns = anns;
        req.n_anns = n_anns;
        submit(req);
        return std::move(req.ids);
    }

    // Runs fn; in a batch, its config_error or not_found names the item ("annotations[3]: ...").
    template <class Fn>
    static void at_item(bool batch, const char* list, std::size_t i, Fn&& fn) {
        if (!batch) return fn();
        const std::string at = std::string("sqlite_store::append: ") + list + "[" + std::to_string(i) + "]: ";
        try {
            fn();
        } catch (const config_error& e) {
            throw config_error(at + e.what());
        } catch (const not_found& e) {
            throw not_found(at + e.what());
        }
    }

    // Writes one request's records on the writer connection (inside a transaction). Annotations
    // were validated on their own in append_many; here against their impression's outline.
    void write_items(write_request& r) {
        detail::sqlite_db& db = s_->writer;
        if (r.work) {
            (*r.work)(db);
            return;
        }
        detail::outline_cache& outlines = s_->outlines;
        r.ids.reserve(r.n_imps + r.n_anns);
        for (std::size_t i = 0; i < r.n_imps; ++i) {
            const impression& imp = r.imps[i];
            r.ids.push_back(insert_with_id(imp.id, "imp-", [&](const std::string& id, bool* taken) {
                return detail::insert_impression(db, imp, id, 0, taken);
            }));
            outlines.add(r.ids.back(), detail::impression_outline::of(imp));
        }
        for (std::size_t i = 0; i < r.n_anns; ++i) {
            const annotation& a = r.anns[i];
            const auto* known = outlines.find(a.impression_id);
            at_item(r.n_imps + r.n_anns > 1, "annotations", i, [&] {
                if (!known) {
                    auto o = detail::read_impression_outline(db, a.impression_id);
                    if (!o)
                        throw not_found("sqlite_store::append: field 'impression_id': unknown impression (got '" +
                                        a.impression_id + "', expected the id of a stored impression)");
                    known = &outlines.add(a.impression_id, std::move(*o));
                }
                detail::validate_against_outline(a, known->first, known->second);
            });
            r.ids.push_back(insert_with_id(a.id, "ann-", [&](const std::string& id, bool* taken) {
                return detail::insert_annotation(db, a, id, 0, taken);
            }));
        }
    }

    template <class Insert>
    std::string insert_with_id(const std::string& id, const char* prefix, Insert insert) {
        // Fresh ids: 11 hex digits of time + 5 random; a collision is retried (detail::insert_with_id).
        return detail::insert_with_id(id, prefix, [this](const char* p) { return new_id(p); }, insert);
    }

    // Writes a group of requests in one transaction; each request's outcome lands in it.
    // The outline cache follows the transaction: its entries are published by commit() only
    // after COMMIT succeeded, dropped with a rolled-back savepoint or transaction.
    void write_group(write_request* const* group, std::size_t n) noexcept {
        detail::sqlite_db& db = s_->writer;
        detail::outline_cache& outlines = s_->outlines;
        try {
            detail::sqlite_transaction txn(db, true);
            if (n == 1) {
                try {
                    write_items(*group[0]);
                } catch (...) {
                    group[0]->error = std::current_exception();
                    outlines.rollback();
                    return;  // rolled back by txn
                }
            } else {
                for (std::size_t i = 0; i < n; ++i) {
                    const std::size_t mark = outlines.mark();
                    try {
                        detail::sqlite_savepoint sp(db);
                        write_items(*group[i]);
                        sp.release();
                    } catch (...) {
                        outlines.rollback_to(mark);
                        group[i]->error = std::current_exception();
                        group[i]->ids.clear();
                        if (!db.in_transaction()) throw;  // SQLite rolled the whole transaction back
                    }
                }
            }
            txn.commit();
            outlines.commit();
        } catch (...) {
            outlines.rollback();
            for (std::size_t i = 0; i < n; ++i) {
                if (!group[i]->error) group[i]->error = std::current_exception();
                group[i]->ids.clear();
            }
        }
    }

    void submit(write_request& req) {
        if constexpr (single_threaded) {
            write_request* one = &req;
            write_group(&one, 1);
        } else {
            state& s = *s_;
            std::unique_lock<Mutex> lock(s.write_mutex);
            s.queue.push_back(&req);
            std::vector<write_request*> group;
            while (!req.done) {
                if (s.leader) {
                    s.wake.wait(lock);
                    continue;
                }
                s.leader = true;
                const std::size_t n = std::min(s.queue.size(), s.config.group_commit_max);
                group.assign(s.queue.begin(), s.queue.begin() + static_cast<std::ptrdiff_t>(n));
                s.queue.erase(s.queue.begin(), s.queue.begin() + static_cast<std::ptrdiff_t>(n));
                lock.unlock();
                write_group(group.data(), group.size());
                lock.lock();
                for (auto* r : group) r->done = true;
                s.leader = false;
                s.wake.notify_all();
            }
        }
        if (req.error) std::rethrow_exception(req.error);
    }

    std::unique_ptr<state> s_;
};

/// @brief SQLite store for concurrent use (group commit, pooled readers).
using sqlite_store_mt = basic_sqlite_store<std::mutex>;
/// @brief SQLite store without locking, for one thread.
using sqlite_store_st = basic_sqlite_store<detail::null_mutex>;
/// @brief The default SQLite store (`sqlite_store_mt`).
using sqlite_store = sqlite_store_mt;

}  // namespace aitl
