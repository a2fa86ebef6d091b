#pragma once
/// @file store/sqlite_schema.hpp
/// @brief The SQLite schema of `basic_sqlite_store` and its migrations.
///
/// A store file is a SQLite database in WAL mode. `meta` holds `schema_version` (the number of
/// migration steps applied) and `application` = 'aitl'. Migrations are an ordered list of steps;
/// opening a store applies the missing ones in one transaction. Step 1 creates the tables, step 2
/// the secondary indexes the queries use. Every `seq` is an INTEGER PRIMARY KEY (the rowid)
/// assigned by the store, monotonic in commit order: it is the watermark readers resume from.
/// An impression or annotation and all its child rows are written in one transaction.
///
/// Step 1 (tables):
/// @code{.sql}
/// CREATE TABLE meta (
///   key   TEXT PRIMARY KEY,          -- 'schema_version' | 'application'
///   value TEXT NOT NULL              -- '2' | 'aitl'
/// ) WITHOUT ROWID;
/// CREATE TABLE impressions (
///   seq          INTEGER PRIMARY KEY, -- store order, the impression watermark
///   id           TEXT NOT NULL UNIQUE,-- impression id ("imp-" + 16 hex digits when assigned)
///   case_id      TEXT NOT NULL,       -- support case (conversation)
///   turn         INTEGER NOT NULL,    -- turn of the conversation
///   timestamp_ms INTEGER NOT NULL,    -- when shown, Unix milliseconds
///   query        TEXT NOT NULL,       -- the query the retriever ran
///   context      TEXT NOT NULL,       -- earlier turns, a JSON array of strings
///   n_retrieved  INTEGER NOT NULL,    -- rows of impression_candidates with stage 0
///   n_shown      INTEGER NOT NULL,    -- rows of impression_candidates with stage 1
///   n_replies    INTEGER NOT NULL     -- rows of impression_replies (0..2)
/// );
/// CREATE TABLE impression_candidates (
///   impression_seq INTEGER NOT NULL REFERENCES impressions(seq),
///   stage          INTEGER NOT NULL,  -- 0 = retrieved, 1 = shown
///   rank           INTEGER NOT NULL,  -- 1-based rank within the stage
///   doc_id         TEXT NOT NULL,     -- knowledge-base document id
///   score          REAL NOT NULL,     -- the stage's score (IEEE double, exact)
///   PRIMARY KEY (impression_seq, stage, rank)
/// ) WITHOUT ROWID;
/// CREATE TABLE impression_replies (
///   impression_seq INTEGER NOT NULL REFERENCES impressions(seq),
///   slot           INTEGER NOT NULL,  -- 0 = reply A, 1 = reply B
///   variant        TEXT NOT NULL,     -- generator variant
///   position       INTEGER NOT NULL,  -- 0 = left, 1 = right
///   text           TEXT NOT NULL,     -- the reply as shown
///   PRIMARY KEY (impression_seq, slot)
/// ) WITHOUT ROWID;
/// CREATE TABLE impression_models (
///   impression_seq INTEGER NOT NULL REFERENCES impressions(seq),
///   role           TEXT NOT NULL,     -- "retriever", "reranker", "generator", ...
///   version        TEXT NOT NULL,     -- model version id
///   PRIMARY KEY (impression_seq, role)
/// ) WITHOUT ROWID;
/// CREATE TABLE annotations (
///   seq                 INTEGER PRIMARY KEY, -- store order, the annotation watermark
///   id                  TEXT NOT NULL UNIQUE,-- annotation id ("ann-" + 16 hex digits when assigned)
///   impression_id       TEXT NOT NULL REFERENCES impressions(id),
///   kind                INTEGER NOT NULL, -- 0 preference, 1 adoption, 2 knowledge_relevance, 3 missing_knowledge
///   annotator           TEXT NOT NULL,    -- agent id
///   timestamp_ms        INTEGER NOT NULL, -- when made, Unix milliseconds
///   time_to_annotate_ms INTEGER NOT NULL, -- time the agent spent
///   weight              REAL NOT NULL,    -- quality weight
///   choice              INTEGER,          -- preference: 0 a, 1 b, 2 tie, 3 both_bad
///   strength            INTEGER,          -- preference: 0 slight, 1 clear, 2 strong
///   rationale           TEXT,             -- preference, adoption: free text
///   outcome             INTEGER,          -- adoption: 0 used_as_is, 1 used_with_edits, 2 not_used
///   reply               INTEGER,          -- adoption: slot (0 = A, 1 = B)
///   reasons             INTEGER,          -- adoption: bitmask, bit r = adoption_reason r
///   final_text          TEXT,             -- adoption: the text sent
///   description         TEXT,             -- missing_knowledge: what is missing
///   suggested_source    TEXT,             -- missing_knowledge: where it could come from
///   n_labels            INTEGER NOT NULL  -- knowledge_relevance: rows of relevance_labels; else 0
/// );
/// CREATE TABLE relevance_labels (
///   annotation_seq INTEGER NOT NULL REFERENCES annotations(seq),
///   ord            INTEGER NOT NULL,  -- 0..n_labels-1: the labels in order, then the selections
///   doc_id         TEXT NOT NULL,     -- document id
///   label          INTEGER NOT NULL,  -- 0 = shown, not relevant; 1 = shown, relevant; 2 = selected by hand
///   PRIMARY KEY (annotation_seq, ord)
/// ) WITHOUT ROWID;
/// @endcode
/// Columns of the other annotation types are NULL. Foreign keys are documentation: the store
/// checks references itself (SQLite's enforcement is off).
///
/// Step 2 (indexes): impressions(timestamp_ms), impressions(case_id, turn),
/// impression_models(version), annotations(timestamp_ms), annotations(annotator, timestamp_ms),
/// annotations(impression_id), annotations(kind, seq), relevance_labels(doc_id).

#include <string>
#include <vector>

#include "../detail/sqlite.hpp"
#include "../error.hpp"

namespace aitl {

/// @brief The schema version this library writes (the number of migration steps).
inline constexpr int sqlite_schema_version = 2;

namespace detail {

inline const std::vector<const char*>& sqlite_migrations() {
    static const std::vector<const char*> steps{
        // 1: tables
        R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE impressions (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, case_id TEXT NOT NULL, turn INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL, query TEXT NOT NULL, context TEXT NOT NULL,
  n_retrieved INTEGER NOT NULL, n_shown INTEGER NOT NULL, n_replies INTEGER NOT NULL);
CREATE TABLE impression_candidates (
  impression_seq INTEGER NOT NULL REFERENCES impressions(seq), stage INTEGER NOT NULL,
  rank INTEGER NOT NULL, doc_id TEXT NOT NULL, score REAL NOT NULL,
  PRIMARY KEY (impression_seq, stage, rank)) WITHOUT ROWID;
CREATE TABLE impression_replies (
  impression_seq INTEGER NOT NULL REFERENCES impressions(seq), slot INTEGER NOT NULL,
  variant TEXT NOT NULL, position INTEGER NOT NULL, text TEXT NOT NULL,
  PRIMARY KEY (impression_seq, slot)) WITHOUT ROWID;
CREATE TABLE impression_models (
  impression_seq INTEGER NOT NULL REFERENCES impressions(seq), role TEXT NOT NULL,
  version TEXT NOT NULL, PRIMARY KEY (impression_seq, role)) WITHOUT ROWID;
CREATE TABLE annotations (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, impression_id TEXT NOT NULL REFERENCES impressions(id),
  kind INTEGER NOT NULL, annotator TEXT NOT NULL, timestamp_ms INTEGER NOT NULL,
  time_to_annotate_ms INTEGER NOT NULL, weight REAL NOT NULL,
  choice INTEGER, strength INTEGER, rationale TEXT, outcome INTEGER, reply INTEGER, reasons INTEGER,
  final_text TEXT, description TEXT, suggested_source TEXT, n_labels INTEGER NOT NULL);
CREATE TABLE relevance_labels (
  annotation_seq INTEGER NOT NULL REFERENCES annotations(seq), ord INTEGER NOT NULL,
  doc_id TEXT NOT NULL, label INTEGER NOT NULL,
  PRIMARY KEY (annotation_seq, ord)) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('application', 'aitl');
)sql",
        // 2: secondary indexes for the queries
        R"sql(
CREATE INDEX impressions_by_time ON impressions(timestamp_ms);
CREATE INDEX impressions_by_case ON impressions(case_id, turn);
CREATE INDEX impression_models_by_version ON impression_models(version);
CREATE INDEX annotations_by_time ON annotations(timestamp_ms);
CREATE INDEX annotations_by_annotator ON annotations(annotator, timestamp_ms);
CREATE INDEX annotations_by_impression ON annotations(impression_id);
CREATE INDEX annotations_by_kind ON annotations(kind, seq);
CREATE INDEX relevance_labels_by_doc ON relevance_labels(doc_id);
)sql",
    };
    return steps;
}

// The tables of the main schema, sorted (sqlite_* internals excluded).
inline std::vector<std::string> sqlite_user_tables(sqlite_db& db) {
    std::vector<std::string> out;
    auto st = db.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    while (st.step()) out.push_back(st.str(0));
    return out;
}

// The schema version of an open database: 0 for an empty database.
// @throws state_error when the database holds tables but is not an aitl store.
inline int sqlite_read_schema_version(sqlite_db& db, const char* where) {
    auto tables = sqlite_user_tables(db);
    if (tables.empty()) return 0;
    bool has_meta = false;
    for (const auto& t : tables) has_meta = has_meta || t == "meta";
    std::string list;
    for (const auto& t : tables) list += (list.empty() ? "" : ", ") + t;
    auto not_ours = [&](const std::string& why) {
        throw state_error(std::string(where) + ": '" + db.path() + "' is not an aitl store (" + why +
                          "; tables: " + list + ")");
    };
    if (!has_meta) not_ours("no meta table");
    std::string app, version;
    {
        auto st = db.prepare("SELECT key, value FROM meta WHERE key IN ('application', 'schema_version')");
        while (st.step()) (st.text(0) == "application" ? app : version) = st.str(1);
    }
    if (app != "aitl") not_ours("meta.application is '" + app + "', expected 'aitl'");
    int v = 0;
    try {
        v = std::stoi(version);
    } catch (const std::exception&) {
        not_ours("meta.schema_version is '" + version + "', expected a number");
    }
    if (v < 1) not_ours("meta.schema_version is " + version + ", expected >= 1");
    return v;
}

// Applies migration steps current+1 .. target in one write transaction; returns the version
// reached. Version 0 means an empty database. `target` may be below the library's version
// (tests build old stores this way).
// @throws state_error when the stored version is newer than `target` allows reading, or the
// file is not an aitl store.
inline int sqlite_migrate(sqlite_db& db, int target, const char* where) {
    const auto& steps = sqlite_migrations();
    if (target < 1 || target > static_cast<int>(steps.size()))
        throw config_error(std::string(where) + ": schema version out of range (got " + std::to_string(target) +
                           ", expected 1.." + std::to_string(steps.size()) + ")");
    sqlite_transaction txn(db, true);
    int current = sqlite_read_schema_version(db, where);
    if (current > sqlite_schema_version)
        throw state_error(std::string(where) + ": '" + db.path() + "' has schema version " + std::to_string(current) +
                          ", newer than this library's " + std::to_string(sqlite_schema_version) +
                          " (expected <= " + std::to_string(sqlite_schema_version) + "; upgrade aitl)");
    if (current >= target) return current;
    for (int v = current + 1; v <= target; ++v) db.exec(steps[static_cast<std::size_t>(v - 1)]);
    auto st = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)");
    st.bind(1, std::to_string(target)).run();
    txn.commit();
    return target;
}

}  // namespace detail
}  // namespace aitl
