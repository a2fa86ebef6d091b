#pragma once
// Internals of store/sqlite_store.hpp: writing impressions and annotations as rows of the
// schema in store/sqlite_schema.hpp, and reading them back in bulk. Reads run one ordered
// query over the parent table and one per child table over the same seq range, then merge:
// no per-row JSON (except an impression's context) and no per-row child queries.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_parse.hpp"
#include "../error.hpp"
#include "../feedback/annotation.hpp"
#include "../feedback/impression.hpp"
#include "../store/store_types.hpp"
#include "sqlite.hpp"

namespace aitl {
namespace detail {

// ---------------------------------------------------------------------------------------------
// Filters → SQL
// ---------------------------------------------------------------------------------------------

struct sql_where {
    std::string sql;  // " AND ..." terms after "WHERE <alias>.seq > ?1"
    std::vector<std::variant<std::int64_t, std::string>> args;  // bound from ?2 on
    bool narrowed = false;  // something beyond after_seq/limit (seqs of the result may be sparse)

    void add(const std::string& term) {
        sql += " AND " + term;
        narrowed = true;
    }
    void bind_all(sqlite_stmt& st, int first) const {
        for (std::size_t i = 0; i < args.size(); ++i) {
            int at = first + static_cast<int>(i);
            if (const auto* v = std::get_if<std::int64_t>(&args[i])) st.bind(at, *v);
            else st.bind_static(at, std::get<std::string>(args[i]));
        }
    }
};

// An internal id filter on top of the public one (get_annotation).
struct annotation_query {
    store_filter filter;
    std::optional<std::string> id;
};

inline sql_where annotation_where(const annotation_query& q) {
    sql_where w;
    const auto& f = q.filter;
    if (q.id) w.add("a.id = ?"), w.args.emplace_back(*q.id);
    if (f.from_ms) w.add("a.timestamp_ms >= ?"), w.args.emplace_back(*f.from_ms);
    if (f.to_ms) w.add("a.timestamp_ms < ?"), w.args.emplace_back(*f.to_ms);
    if (f.annotator) w.add("a.annotator = ?"), w.args.emplace_back(*f.annotator);
    if (f.kind) w.add("a.kind = ?"), w.args.emplace_back(static_cast<std::int64_t>(*f.kind));
    if (f.impression_id) w.add("a.impression_id = ?"), w.args.emplace_back(*f.impression_id);
    if (f.case_id)
        w.add("a.impression_id IN (SELECT id FROM impressions WHERE case_id = ?)"), w.args.emplace_back(*f.case_id);
    if (f.model_version)
        w.add("a.impression_id IN (SELECT i.id FROM impression_models m JOIN impressions i ON i.seq = "
              "m.impression_seq WHERE m.version = ?)"),
            w.args.emplace_back(*f.model_version);
    return w;
}

inline sql_where impression_where(const store_filter& f) {
    sql_where w;
    if (f.impression_id) w.add("i.id = ?"), w.args.emplace_back(*f.impression_id);
    if (f.from_ms) w.add("i.timestamp_ms >= ?"), w.args.emplace_back(*f.from_ms);
    if (f.to_ms) w.add("i.timestamp_ms < ?"), w.args.emplace_back(*f.to_ms);
    if (f.case_id) w.add("i.case_id = ?"), w.args.emplace_back(*f.case_id);
    if (f.model_version)
        w.add("i.seq IN (SELECT impression_seq FROM impression_models WHERE version = ?)"),
            w.args.emplace_back(*f.model_version);
    if (f.annotator || f.kind) {
        std::string t = "EXISTS (SELECT 1 FROM annotations a WHERE a.impression_id = i.id";
        if (f.annotator) t += " AND a.annotator = ?", w.args.emplace_back(*f.annotator);
        if (f.kind) t += " AND a.kind = ?", w.args.emplace_back(static_cast<std::int64_t>(*f.kind));
        w.add(t + ")");
    }
    return w;
}

inline std::int64_t sql_limit(std::size_t limit) {
    return limit == 0 || limit > static_cast<std::size_t>(INT64_MAX) ? -1 : static_cast<std::int64_t>(limit);
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

// Steps an INSERT; a UNIQUE violation on `id` (the table's only UNIQUE column) becomes
// config_error naming the field, or, with `id_taken`, sets it and returns false (the statement
// is undone, the transaction stays open: the caller retries with another generated id). A
// primary key violation (explicit seq) names `seq`.
inline bool sqlite_insert(sqlite_stmt& st, sqlite_db& db, const char* where, std::string_view id, std::int64_t seq,
                          bool* id_taken = nullptr) {
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) return true;
    if (rc == SQLITE_CONSTRAINT_UNIQUE && id_taken) {
        *id_taken = true;
        return false;
    }
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        record_field_error(where, "id", "duplicate (got '" + std::string(id) + "', already stored)");
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_ROWID)
        record_field_error(where, "seq", "duplicate (got " + std::to_string(seq) + ", already stored)");
    db.fail(rc, sqlite3_errmsg(db.handle()));
}

inline void bind_seq(sqlite_stmt& st, int i, std::int64_t seq) {
    if (seq > 0) st.bind(i, seq);
    else st.bind_null(i);
}

// Inserts an impression (already validated) with its child rows; seq 0 → next seq. Returns seq,
// or 0 when `id_taken` is given and the id is already stored (nothing written).
inline std::int64_t insert_impression(sqlite_db& db, const impression& imp, std::string_view id, std::int64_t seq,
                                      bool* id_taken = nullptr) {
    const char* w = "sqlite_store::append";
    {
        static const std::string sql =
            "INSERT INTO impressions (seq, id, case_id, turn, timestamp_ms, query, context, n_retrieved, n_shown, "
            "n_replies) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        auto st = db.prepare(sql);
        bind_seq(st, 1, seq);
        std::string context = nlohmann::json(imp.context).dump();
        st.bind_static(2, id)
            .bind_static(3, imp.case_id)
            .bind(4, static_cast<std::int64_t>(imp.turn))
            .bind(5, imp.timestamp_ms)
            .bind_static(6, imp.query)
            .bind_static(7, context)
            .bind(8, static_cast<std::int64_t>(imp.retrieved.size()))
            .bind(9, static_cast<std::int64_t>(imp.shown.size()))
            .bind(10, static_cast<std::int64_t>(imp.replies.size()));
        if (!sqlite_insert(st, db, w, id, seq, id_taken)) return 0;
    }
    const std::int64_t s = sqlite3_last_insert_rowid(db.handle());
    static const std::string cand_sql =
        "INSERT INTO impression_candidates (impression_seq, stage, rank, doc_id, score) VALUES (?, ?, ?, ?, ?)";
    auto cand = db.prepare(cand_sql);
    for (int stage = 0; stage < 2; ++stage)
        for (const auto& c : stage == 0 ? imp.retrieved : imp.shown) {
            cand.bind(1, s).bind(2, stage).bind(3, static_cast<std::int64_t>(c.rank)).bind_static(4, c.doc_id).bind(5, c.score);
            cand.run();
            sqlite3_reset(cand.get());
        }
    static const std::string rep_sql =
        "INSERT INTO impression_replies (impression_seq, slot, variant, position, text) VALUES (?, ?, ?, ?, ?)";
    auto rep = db.prepare(rep_sql);
    for (std::size_t i = 0; i < imp.replies.size(); ++i) {
        const auto& r = imp.replies[i];
        rep.bind(1, s).bind(2, static_cast<std::int64_t>(i)).bind_static(3, r.variant)
            .bind(4, static_cast<std::int64_t>(r.position)).bind_static(5, r.text);
        rep.run();
        sqlite3_reset(rep.get());
    }
    static const std::string mod_sql = "INSERT INTO impression_models (impression_seq, role, version) VALUES (?, ?, ?)";
    auto mod = db.prepare(mod_sql);
    for (const auto& [role, version] : imp.models) {
        mod.bind(1, s).bind_static(2, role).bind_static(3, version);
        mod.run();
        sqlite3_reset(mod.get());
    }
    return s;
}

inline std::int64_t reasons_mask(const std::vector<adoption_reason>& rs) {
    std::int64_t m = 0;
    for (auto r : rs) m |= std::int64_t{1} << static_cast<int>(r);
    return m;
}

// Inserts an annotation (already validated) with its relevance_labels rows. Returns seq, or 0
// when `id_taken` is given and the id is already stored (nothing written).
inline std::int64_t insert_annotation(sqlite_db& db, const annotation& a, std::string_view id, std::int64_t seq,
                                      bool* id_taken = nullptr) {
    const char* w = "sqlite_store::append";
    const auto* kr = std::get_if<knowledge_relevance>(&a.body);
    {
        static const std::string sql =
            "INSERT INTO annotations (seq, id, impression_id, kind, annotator, timestamp_ms, time_to_annotate_ms, "
            "weight, choice, strength, rationale, outcome, reply, reasons, final_text, description, "
            "suggested_source, n_labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        auto st = db.prepare(sql);
        bind_seq(st, 1, seq);
        st.bind_static(2, id)
            .bind_static(3, a.impression_id)
            .bind(4, static_cast<std::int64_t>(a.kind()))
            .bind_static(5, a.annotator)
            .bind(6, a.timestamp_ms)
            .bind(7, a.time_to_annotate_ms)
            .bind(8, a.weight);
        if (const auto* p = std::get_if<preference>(&a.body)) {
            st.bind(9, static_cast<std::int64_t>(p->choice)).bind(10, static_cast<std::int64_t>(p->strength));
            st.bind_static(11, p->rationale);
        } else if (const auto* d = std::get_if<adoption>(&a.body)) {
            st.bind_static(11, d->rationale)
                .bind(12, static_cast<std::int64_t>(d->outcome))
                .bind(13, static_cast<std::int64_t>(d->reply))
                .bind(14, reasons_mask(d->reasons))
                .bind_static(15, d->final_text);
        } else if (const auto* m = std::get_if<missing_knowledge>(&a.body)) {
            st.bind_static(16, m->description).bind_static(17, m->suggested_source);
        }
        st.bind(18, kr ? static_cast<std::int64_t>(kr->labels.size() + kr->selected.size()) : std::int64_t{0});
        if (!sqlite_insert(st, db, w, id, seq, id_taken)) return 0;
    }
    const std::int64_t s = sqlite3_last_insert_rowid(db.handle());
    if (kr) {
        static const std::string lab_sql =
            "INSERT INTO relevance_labels (annotation_seq, ord, doc_id, label) VALUES (?, ?, ?, ?)";
        auto lab = db.prepare(lab_sql);
        std::int64_t ord = 0;
        for (const auto& l : kr->labels) {
            lab.bind(1, s).bind(2, ord++).bind_static(3, l.doc_id).bind(4, l.relevant ? 1 : 0);
            lab.run();
            sqlite3_reset(lab.get());
        }
        for (const auto& d : kr->selected) {
            lab.bind(1, s).bind(2, ord++).bind_static(3, d).bind(4, 2);
            lab.run();
            sqlite3_reset(lab.get());
        }
    }
    return s;
}

// What validate(annotation, impression) reads of an impression besides its id: the number of
// replies and the shown doc ids (rank order).
struct impression_outline {
    std::size_t n_replies = 0;
    std::vector<std::string> shown;

    static impression_outline of(const impression& imp) {
        impression_outline o;
        o.n_replies = imp.replies.size();
        o.shown.reserve(imp.shown.size());
        for (const auto& c : imp.shown) o.shown.push_back(c.doc_id);
        return o;
    }
    bool is_shown(std::string_view doc_id) const {
        return std::find(shown.begin(), shown.end(), doc_id) != shown.end();
    }
};

// validate(a, imp) minus validate(a), on the outline of the impression stored under `id`: the
// same checks and messages.
inline void validate_against_outline(const annotation& a, const std::string& id, const impression_outline& o) {
    validate_against_impression(a, id, o.n_replies, o.shown.size(),
                                [&o](std::string_view doc_id) { return o.is_shown(doc_id); });
}

// Inserts a record under `id`, or when it is empty under `new_id(prefix)`: a collision of a fresh
// id fails the insert on the UNIQUE index (`*taken` set, nothing written) and another id is drawn.
// `insert(id, taken)` writes the record and returns its seq. @returns The id stored.
template <class NewId, class Insert>
std::string insert_with_id(const std::string& id, const char* prefix, NewId&& new_id, Insert&& insert,
                           std::int64_t* seq = nullptr) {
    if (!id.empty()) {
        std::int64_t s = insert(id, nullptr);
        if (seq) *seq = s;
        return id;
    }
    for (;;) {
        std::string fresh = new_id(prefix);
        bool taken = false;
        std::int64_t s = insert(fresh, &taken);
        if (!taken) {
            if (seq) *seq = s;
            return fresh;
        }
    }
}

// The outline of the stored impression `id` (nullopt when it is not stored).
inline std::optional<impression_outline> read_impression_outline(sqlite_db& db, std::string_view id) {
    impression_outline o;
    std::int64_t seq = 0;
    {
        static const std::string sql = "SELECT seq, n_replies FROM impressions WHERE id = ?";
        auto st = db.prepare(sql);
        st.bind_static(1, id);
        if (!st.step()) return std::nullopt;
        seq = st.int64(0);
        o.n_replies = static_cast<std::size_t>(st.int64(1));
    }
    static const std::string sql =
        "SELECT doc_id FROM impression_candidates WHERE impression_seq = ? AND stage = 1 ORDER BY rank";
    auto st = db.prepare(sql);
    st.bind(1, seq);
    while (st.step()) o.shown.emplace_back(st.text(0));
    return o;
}

// The writer's cache of impression outlines (id → outline), so an annotation is checked without
// reading its impression back. Invariant: a committed entry describes a committed impression
// (impressions are never changed or deleted, so it stays true). Entries learnt inside a
// transaction (impressions written, or looked up: the lookup sees the transaction's own writes)
// are pending until it commits and dropped when it rolls back; a savepoint's entries are dropped
// back to its mark() when it rolls back. Bounded: two generations of at most capacity/2
// committed entries each; when the young one fills it becomes the old one and the old one is
// dropped (hits in the old one move to the young one: an approximate LRU).
class outline_cache {
public:
    using map = std::unordered_map<std::string, impression_outline>;
    using entry = map::value_type;  // {id, outline}

    explicit outline_cache(std::size_t capacity = 8192) : half_(std::max<std::size_t>(1, capacity / 2)) {}

    const entry* find(const std::string& id) {
        if (auto it = pending_.find(id); it != pending_.end()) return &*it;
        if (auto it = young_.find(id); it != young_.end()) return &*it;
        if (auto it = old_.find(id); it != old_.end())
            return &*young_.insert(old_.extract(it)).position;  // node moved: the address is kept
        return nullptr;
    }
    // Adds a pending entry (kept as it is when `id` is pending already).
    const entry& add(std::string_view id, impression_outline o) {
        auto [it, added] = pending_.try_emplace(std::string(id), std::move(o));
        if (added) journal_.push_back(&it->first);
        return *it;
    }
    std::size_t mark() const noexcept { return journal_.size(); }
    void rollback_to(std::size_t mark) noexcept {
        while (journal_.size() > mark) {
            pending_.erase(pending_.find(*journal_.back()));  // by iterator: the key is the element's own
            journal_.pop_back();
        }
    }
    void rollback() noexcept {
        pending_.clear();
        journal_.clear();
    }
    // After COMMIT succeeded: must not throw (an entry that cannot be moved is dropped).
    void commit() noexcept {
        journal_.clear();
        try {
            while (!pending_.empty()) {
                auto node = pending_.extract(pending_.begin());
                old_.erase(node.key());
                young_.insert(std::move(node));
            }
        } catch (...) {
            pending_.clear();
        }
        if (young_.size() >= half_) {
            old_ = std::move(young_);
            young_.clear();
        }
    }

private:
    std::size_t half_;
    map pending_, young_, old_;
    std::vector<const std::string*> journal_;  // keys of pending_, in the order added
};

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

// Reads the child rows of the records out[need[0]], out[need[1]], ... (ascending seq) and hands
// each row to `take(record, stmt)`. Column 0 of `cols` is the parent seq. When the records are
// dense in seq order (a feed, or a broad filter) one range query over the child table's primary
// key is merged with them, skipping rows of records not asked for; when they are sparse (a
// selective filter) each record's rows are fetched by primary key. Either way the cost follows
// the rows returned, whatever plan SQLite would pick for a join.
template <class T, class Take>
void read_children(sqlite_db& db, std::vector<T>& out, const std::vector<std::size_t>& need, const char* table,
                   const char* seq_col, const char* cols, const char* order, Take take) {
    if (need.empty()) return;
    const std::int64_t first = out[need.front()].seq, last = out[need.back()].seq;
    const std::string select = std::string("SELECT ") + seq_col + ", " + cols + " FROM " + table + " WHERE ";
    if (static_cast<std::uint64_t>(last - first) <= 4 * static_cast<std::uint64_t>(need.size()) + 64) {
        auto st = db.prepare(select + seq_col + " >= ? AND " + seq_col + " <= ? ORDER BY " + seq_col + ", " + order);
        st.bind(1, first).bind(2, last);
        std::size_t at = 0;
        while (st.step()) {
            const std::int64_t seq = st.int64(0);
            while (at < need.size() && out[need[at]].seq < seq) ++at;
            if (at == need.size()) break;
            if (out[need[at]].seq == seq) take(out[need[at]], st);
        }
    } else {
        auto st = db.prepare(select + seq_col + " = ? ORDER BY " + order);
        for (std::size_t i : need) {
            st.bind(1, out[i].seq);
            while (st.step()) take(out[i], st);
            sqlite3_reset(st.get());
        }
    }
}

// A stored value that is not what aitl wrote (a row edited outside aitl): a parse_error naming
// the database, the table, the seq and the column, never a silent 0.
[[noreturn]] inline void stored_value_error(const sqlite_db& db, const char* table, std::int64_t seq, const char* column,
                                            const std::string& got, const std::string& expected) {
    throw parse_error(db.path(), 0, std::string(table) + "[seq " + std::to_string(seq) + "]." + column,
                      "sqlite_store: stored value not valid (got " + got + ", expected " + expected +
                          "); the row was changed outside aitl");
}

// validate() of a record read back, its config_error re-raised with the row's location.
template <class Record>
void check_stored(const sqlite_db& db, const char* table, const Record& r) {
    try {
        validate(r);
    } catch (const config_error& e) {
        stored_value_error(db, table, r.seq, "(record)", "a record that does not validate: " + std::string(e.what()),
                           "a valid record");
    }
}

// Typed reads of one row: the SQLite type and the range are checked (sqlite3_column_int64 of a
// text is 0, which would pass any later check).
struct stored_row {
    const sqlite_stmt& st;
    const sqlite_db& db;
    const char* table;
    std::int64_t seq;

    std::string got(int c) const {  // the value as a message shows it
        switch (sqlite3_column_type(st.get(), c)) {
            case SQLITE_NULL: return "NULL";
            case SQLITE_INTEGER: return "integer " + std::to_string(st.int64(c));
            case SQLITE_FLOAT: return "real " + std::to_string(st.real(c));
            case SQLITE_BLOB: return "a blob of " + std::to_string(sqlite3_column_bytes(st.get(), c)) + " bytes";
            default: {
                std::string t(st.text(c).substr(0, 40));
                for (char& ch : t)
                    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x80) ch = '?';
                return "text '" + t + (st.text(c).size() > 40 ? "...'" : "'");
            }
        }
    }
    std::int64_t integer(int c, const char* column, std::int64_t lo, std::int64_t hi) const {
        if (sqlite3_column_type(st.get(), c) != SQLITE_INTEGER || st.int64(c) < lo || st.int64(c) > hi)
            stored_value_error(db, table, seq, column, got(c),
                               "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
        return st.int64(c);
    }
    double number(int c, const char* column) const {
        const int t = sqlite3_column_type(st.get(), c);
        if (t != SQLITE_INTEGER && t != SQLITE_FLOAT) stored_value_error(db, table, seq, column, got(c), "a number");
        return st.real(c);
    }
    std::string_view text(int c, const char* column, bool nullable = false) const {
        const int t = sqlite3_column_type(st.get(), c);
        if (t != SQLITE_TEXT && !(nullable && t == SQLITE_NULL))
            stored_value_error(db, table, seq, column, got(c), nullable ? "text or NULL" : "text");
        return st.text(c);
    }
};

inline std::vector<annotation> query_annotations(sqlite_db& db, const annotation_query& q) {
    std::vector<annotation> out;
    const sql_where w = annotation_where(q);
    const auto& f = q.filter;
    // Without statistics SQLite may scan the whole table in seq order rather than sort a time
    // window; a window without a more selective equality uses the time index.
    const bool by_time = (f.from_ms || f.to_ms) && !f.annotator && !f.impression_id && !q.id;
    std::vector<std::size_t> with_labels;
    {
        auto st = db.prepare(
            "SELECT a.seq, a.id, a.impression_id, a.kind, a.annotator, a.timestamp_ms, a.time_to_annotate_ms, a.weight, "
            "a.choice, a.strength, a.rationale, a.outcome, a.reply, a.reasons, a.final_text, a.description, "
            "a.suggested_source, a.n_labels FROM annotations a" +
            std::string(by_time ? " INDEXED BY annotations_by_time" : "") + " WHERE a.seq > ?" + w.sql +
            " ORDER BY a.seq LIMIT ?");
        st.bind(1, f.after_seq);
        w.bind_all(st, 2);
        const std::int64_t limit = sql_limit(f.limit);
        st.bind(2 + static_cast<int>(w.args.size()), limit);
        if (!w.narrowed) {  // seqs are dense: the range bounds the count
            std::int64_t n = db.scalar("SELECT max(seq) FROM annotations") - f.after_seq;
            if (limit > 0) n = std::min(n, limit);
            if (n > 0) out.reserve(static_cast<std::size_t>(n));
        }
        constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
        while (st.step()) {
            annotation& a = out.emplace_back();
            a.seq = st.int64(0);
            const stored_row row{st, db, "annotations", a.seq};
            a.id = row.text(1, "id");
            a.impression_id = row.text(2, "impression_id");
            const auto kind = row.integer(3, "kind", 0, 3);
            a.annotator = row.text(4, "annotator");
            a.timestamp_ms = row.integer(5, "timestamp_ms", 0, big);
            a.time_to_annotate_ms = row.integer(6, "time_to_annotate_ms", 0, big);
            a.weight = row.number(7, "weight");
            switch (kind) {
                case 0: {
                    auto& p = a.body.emplace<preference>();
                    p.choice = static_cast<preference_choice>(row.integer(8, "choice", 0, 3));
                    p.strength = static_cast<preference_strength>(row.integer(9, "strength", 0, 2));
                    p.rationale = row.text(10, "rationale", true);
                    break;
                }
                case 1: {
                    auto& d = a.body.emplace<adoption>();
                    d.rationale = row.text(10, "rationale", true);
                    d.outcome = static_cast<adoption_outcome>(row.integer(11, "outcome", 0, 2));
                    d.reply = static_cast<std::uint32_t>(row.integer(12, "reply", 0, 1));
                    const auto mask = row.integer(13, "reasons", 0, 255);
                    for (int r = 0; r < 8; ++r)
                        if (mask & (std::int64_t{1} << r)) d.reasons.push_back(static_cast<adoption_reason>(r));
                    d.final_text = row.text(14, "final_text", true);
                    break;
                }
                case 2: {
                    auto& r = a.body.emplace<knowledge_relevance>();
                    const auto n = static_cast<std::size_t>(row.integer(17, "n_labels", 0, big));
                    if (n > 0) {
                        r.labels.reserve(std::min<std::size_t>(n, 4096));
                        with_labels.push_back(out.size() - 1);
                    }
                    break;
                }
                default: {
                    auto& m = a.body.emplace<missing_knowledge>();
                    m.description = row.text(15, "description", true);
                    m.suggested_source = row.text(16, "suggested_source", true);
                    break;
                }
            }
        }
    }
    read_children(db, out, with_labels, "relevance_labels", "annotation_seq", "doc_id, label", "ord",
                  [&db](annotation& a, sqlite_stmt& st) {
                      const stored_row row{st, db, "relevance_labels", a.seq};
                      auto& r = std::get<knowledge_relevance>(a.body);
                      const auto label = row.integer(2, "label", 0, 2);
                      if (label == 2) r.selected.emplace_back(row.text(1, "doc_id"));
                      else r.labels.push_back({std::string(row.text(1, "doc_id")), label == 1});
                  });
    for (const auto& a : out) check_stored(db, "annotations", a);
    return out;
}

inline std::vector<impression> query_impressions(sqlite_db& db, const store_filter& f) {
    std::vector<impression> out;
    const sql_where w = impression_where(f);
    const bool by_time = (f.from_ms || f.to_ms) && !f.impression_id && !f.case_id;
    std::vector<std::size_t> all;
    {
        auto st = db.prepare(
            "SELECT i.seq, i.id, i.case_id, i.turn, i.timestamp_ms, i.query, i.context, i.n_retrieved, i.n_shown, "
            "i.n_replies FROM impressions i" +
            std::string(by_time ? " INDEXED BY impressions_by_time" : "") + " WHERE i.seq > ?" + w.sql +
            " ORDER BY i.seq LIMIT ?");
        st.bind(1, f.after_seq);
        w.bind_all(st, 2);
        st.bind(2 + static_cast<int>(w.args.size()), sql_limit(f.limit));
        constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
        while (st.step()) {
            all.push_back(out.size());
            impression& imp = out.emplace_back();
            imp.seq = st.int64(0);
            const stored_row row{st, db, "impressions", imp.seq};
            imp.id = row.text(1, "id");
            imp.case_id = row.text(2, "case_id");
            imp.turn = static_cast<std::uint32_t>(row.integer(3, "turn", 0, std::numeric_limits<std::uint32_t>::max()));
            imp.timestamp_ms = row.integer(4, "timestamp_ms", 0, big);
            imp.query = row.text(5, "query");
            const auto ctx = row.text(6, "context");
            if (ctx != "[]") {
                const std::string field = "impressions[seq " + std::to_string(imp.seq) + "].context";
                const auto j = parse_json(ctx, db.path(), 0, "sqlite_store: stored context", field);
                if (!j.is_array() || !std::all_of(j.begin(), j.end(), [](const auto& x) { return x.is_string(); }))
                    stored_value_error(db, "impressions", imp.seq, "context", row.got(6), "a JSON array of strings");
                imp.context = j.get<std::vector<std::string>>();
            }
            imp.retrieved.reserve(static_cast<std::size_t>(std::min<std::int64_t>(row.integer(7, "n_retrieved", 0, big), 4096)));
            imp.shown.reserve(static_cast<std::size_t>(std::min<std::int64_t>(row.integer(8, "n_shown", 0, big), 4096)));
            imp.replies.reserve(static_cast<std::size_t>(row.integer(9, "n_replies", 0, 2)));
        }
    }
    read_children(db, out, all, "impression_candidates", "impression_seq", "stage, rank, doc_id, score", "stage, rank",
                  [&db](impression& imp, sqlite_stmt& st) {
                      const stored_row row{st, db, "impression_candidates", imp.seq};
                      auto& list = row.integer(1, "stage", 0, 1) == 0 ? imp.retrieved : imp.shown;
                      const auto rank = row.integer(2, "rank", 0, std::numeric_limits<std::uint32_t>::max());
                      list.push_back({std::string(row.text(3, "doc_id")), static_cast<std::uint32_t>(rank),
                                      row.number(4, "score")});
                  });
    read_children(db, out, all, "impression_replies", "impression_seq", "slot, variant, position, text", "slot",
                  [&db](impression& imp, sqlite_stmt& st) {
                      const stored_row row{st, db, "impression_replies", imp.seq};
                      const auto position = row.integer(3, "position", 0, 1);
                      imp.replies.push_back({std::string(row.text(2, "variant")), std::string(row.text(4, "text")),
                                             static_cast<screen_position>(position)});
                  });
    read_children(db, out, all, "impression_models", "impression_seq", "role, version", "role",
                  [&db](impression& imp, sqlite_stmt& st) {
                      const stored_row row{st, db, "impression_models", imp.seq};
                      imp.models.emplace(row.text(1, "role"), row.text(2, "version"));
                  });
    for (const auto& imp : out) check_stored(db, "impressions", imp);
    return out;
}

}  // namespace detail
}  // namespace aitl
