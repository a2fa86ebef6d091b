// aitl::sqlite_store from C++ against plain SQLite used directly (same schema, created with the
// same migration SQL, same settings, same rows, prepared statements, one BEGIN IMMEDIATE/COMMIT
// per append call): durable appends one at a time and in batches, bulk reads since a
// watermark, database size. Run by bench/bench_store.py, which also runs the Python sqlite3
// peer on the rows `data` writes; every subcommand prints one JSON object on stdout.
//
//   store_bench schema                                        the migration SQL (for the Python peer)
//   store_bench mix   [--n N] [--seed S]                    JSON size of the annotation mix
//   store_bench data  --out F.jsonl --impressions P --annotations N [--seed S]
//   store_bench write --system aitl|raw --durability full|normal --mode one|batch
//                     --count N [--batch B] [--impressions P] [--seed S] --db PATH [--existing]
//   store_bench fill  --db PATH [--impressions P] [--per-impression K]   fill, export, size
//   store_bench scan  --system aitl|raw --db PATH [--repeats R] [--check]  read all since 0
//   store_bench profile --db PATH [--count N] [--batch B]   where aitl's append time goes
//
// The workload is deterministic for a seed: impressions carry ids (the serving system logs
// them), annotations do not (aitl assigns "ann-" + 16 hex digits and checks it is unused; the
// raw writer draws an id of the same form).
#include <aitl/store/sqlite_schema.hpp>
#include <aitl/store/sqlite_store.hpp>
#include <aitl/version.hpp>

#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using aitl::annotation;
using aitl::impression;

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::string hex16(std::uint64_t v) {
    static const char* hex = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = hex[v & 0xf];
    return s;
}

std::uint64_t splitmix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// ------------------------------------------------------------------------------------------
// workload: realistic impressions (75 retrieved, 8 shown, 2 replies, 3 models) and a mix of
// annotations of about 0.5 KB each in their JSON form
// ------------------------------------------------------------------------------------------

const char* const k_words[] = {
    "the",      "guest",    "asked",    "about",    "parking",  "breakfast", "included", "room",
    "check",    "in",       "out",      "late",     "early",    "policy",    "refund",   "cancel",
    "booking",  "hotel",    "free",     "wifi",     "pets",     "allowed",   "station",  "taxi",
    "train",    "ticket",   "price",    "per",      "night",    "restaurant", "vegetarian", "menu",
    "table",    "reservation", "open",  "until",    "weekend",  "the",       "reply",    "cites",
    "answers",  "question", "directly", "wrong",    "document", "missing",   "hours",    "address",
    "near",     "city",     "centre",   "airport",  "shuttle",  "service",   "charge",   "deposit",
    "card",     "cash",     "accepted", "can",      "you",      "we",        "our",      "is",
    "are",      "not",      "with",     "for",      "and",      "a",         "to",       "of",
    "on",       "at",       "your",     "stay",     "please",   "note",      "that",     "this",
    "available", "upon",    "request",  "extra",    "bed",      "children",  "under",    "twelve",
    "stay",     "gym",      "pool",     "spa",      "terrace",  "view",      "quiet",    "noise",
    "review",   "mentions", "staff",    "friendly", "helpful",  "clean",     "spacious", "small"};
constexpr std::size_t k_n_words = sizeof(k_words) / sizeof(k_words[0]);

class generator {
public:
    explicit generator(std::uint64_t seed) : rng_(seed) {}

    std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
    double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

    // DSTC11-style knowledge ids: "hotel:20:faq:3", "restaurant:14:review:2:5".
    std::string doc_id() {
        static const char* domains[] = {"hotel", "restaurant", "attraction", "taxi", "train"};
        std::string d = std::string(domains[pick(5)]) + ":" + std::to_string(pick(300));
        if (uniform() < 0.6) return d + ":faq:" + std::to_string(pick(25));
        return d + ":review:" + std::to_string(pick(12)) + ":" + std::to_string(pick(8));
    }

    std::string sentence(std::size_t min_chars) {
        std::string s;
        while (s.size() < min_chars) {
            if (!s.empty()) s += ' ';
            s += k_words[pick(k_n_words)];
        }
        s[0] = static_cast<char>(s[0] - 'a' + 'A');
        return s + ".";
    }

    std::string text(std::size_t min_chars) {
        std::string t;
        while (t.size() < min_chars) t += (t.empty() ? "" : " ") + sentence(60 + pick(50));
        return t;
    }

    impression make_impression(std::size_t i) {
        impression imp;
        imp.id = "imp-" + hex16(splitmix(i + 1));
        imp.case_id = "case-" + std::to_string(100000 + i / 3);
        imp.turn = static_cast<std::uint32_t>(i % 3);
        imp.timestamp_ms = 1700000000000 + static_cast<std::int64_t>(i) * 37000;
        imp.query = sentence(40 + pick(40));
        for (std::uint32_t t = 0; t < imp.turn; ++t) imp.context.push_back(sentence(50 + pick(60)));
        std::vector<std::string> ids;
        while (ids.size() < 75) {
            std::string d = doc_id();
            if (std::find(ids.begin(), ids.end(), d) == ids.end()) ids.push_back(std::move(d));
        }
        double score = 25.0 + 5.0 * uniform();
        for (std::size_t r = 0; r < ids.size(); ++r) {
            imp.retrieved.push_back({ids[r], static_cast<std::uint32_t>(r + 1), score});
            score -= 0.05 + 0.3 * uniform();
        }
        std::vector<std::size_t> order(20);  // the reranker reorders the top 20, shows 8
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng_);
        for (std::size_t r = 0; r < 8; ++r)
            imp.shown.push_back({ids[order[r]], static_cast<std::uint32_t>(r + 1), 0.95 - 0.1 * static_cast<double>(r)});
        const bool a_left = uniform() < 0.5;
        imp.replies.push_back({"champion", text(200) + " [" + imp.shown[0].doc_id + "]",
                               a_left ? aitl::screen_position::left : aitl::screen_position::right});
        imp.replies.push_back({"challenger", text(200) + " [" + imp.shown[1].doc_id + "]",
                               a_left ? aitl::screen_position::right : aitl::screen_position::left});
        imp.models = {{"retriever", "bm25@3"}, {"reranker", "cross-encoder@2"}, {"generator", "extractive@1"}};
        return imp;
    }

    // Mix: 35% knowledge_relevance (8 labels + 1 hand-selected), 30% preference (one-sentence
    // rationale), 30% adoption (~300-character final text, 2 reasons), 5% missing_knowledge.
    annotation make_annotation(const impression& imp) {
        annotation a;
        a.impression_id = imp.id;
        a.annotator = "agent-" + std::string(pick(40) < 10 ? "0" : "") + std::to_string(pick(40));
        a.time_to_annotate_ms = 1500 + static_cast<std::int64_t>(pick(28000));
        a.timestamp_ms = imp.timestamp_ms + 2000 + a.time_to_annotate_ms + static_cast<std::int64_t>(pick(60000));
        const double u = uniform();
        if (u < 0.35) {
            aitl::knowledge_relevance r;
            for (const auto& c : imp.shown) r.labels.push_back({c.doc_id, uniform() < 0.4});
            for (;;) {
                std::string d = doc_id();
                if (!imp.find_shown(d)) {
                    r.selected.push_back(std::move(d));
                    break;
                }
            }
            a.body = std::move(r);
        } else if (u < 0.65) {
            static const aitl::preference_choice choices[] = {aitl::preference_choice::a, aitl::preference_choice::b,
                                                              aitl::preference_choice::a, aitl::preference_choice::b,
                                                              aitl::preference_choice::tie,
                                                              aitl::preference_choice::both_bad};
            a.body = aitl::preference{choices[pick(6)], static_cast<aitl::preference_strength>(pick(3)),
                                      sentence(60 + pick(50))};
        } else if (u < 0.95) {
            aitl::adoption d;
            d.outcome = uniform() < 0.7 ? aitl::adoption_outcome::used_with_edits : aitl::adoption_outcome::not_used;
            d.reply = static_cast<std::uint32_t>(pick(2));
            d.final_text = text(270);
            const auto r1 = pick(8);
            const auto r2 = (r1 + 1 + pick(7)) % 8;
            d.reasons = {static_cast<aitl::adoption_reason>(r1), static_cast<aitl::adoption_reason>(r2)};
            a.body = std::move(d);
        } else {
            a.body = aitl::missing_knowledge{sentence(70 + pick(40)), imp.shown[pick(8)].doc_id.substr(0, 9) + " website"};
        }
        return a;
    }

private:
    std::mt19937_64 rng_;
    std::uint64_t next_id_ = 0;
};

struct workload {
    std::vector<impression> impressions;
    std::vector<annotation> annotations;
};

// Impressions first, then annotations of uniformly drawn impressions: a prefix of a larger
// workload with the same seed and impression count is the smaller one.
workload make_workload(std::size_t n_imps, std::size_t n_anns, std::uint64_t seed) {
    generator g(seed);
    workload w;
    for (std::size_t i = 0; i < n_imps; ++i) w.impressions.push_back(g.make_impression(i));
    for (std::size_t i = 0; i < n_anns; ++i) w.annotations.push_back(g.make_annotation(w.impressions[g.pick(n_imps)]));
    return w;
}

// The JSON form as stored (id of 20 characters, seq of 7 digits).
std::size_t stored_json_size(annotation a, std::int64_t seq) {
    a.seq = seq;
    a.id = "ann-" + hex16(splitmix(static_cast<std::uint64_t>(seq)));
    return nlohmann::json(a).dump().size();
}

// ------------------------------------------------------------------------------------------
// plain SQLite, used directly
// ------------------------------------------------------------------------------------------

class raw_store {
public:
    enum class open_mode { create, existing, read_only };

    raw_store(const std::string& path, aitl::durability d, open_mode mode) {
        const int flags = mode == open_mode::read_only ? SQLITE_OPEN_READONLY
                                                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        check(sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr), "open");
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_busy_timeout(db_, 10000);
        if (mode == open_mode::read_only) {
            exec("PRAGMA mmap_size=1073741824");  // as aitl's readers
            return;
        }
        exec("PRAGMA journal_mode=WAL");
        exec(d == aitl::durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        if (mode == open_mode::create) {
            exec("BEGIN IMMEDIATE");
            for (const char* step : aitl::detail::sqlite_migrations()) exec(step);
            exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', '2')");
            exec("COMMIT");
        }
        begin_ = prepare("BEGIN IMMEDIATE");
        commit_ = prepare("COMMIT");
        ins_ann_ = prepare(
            "INSERT INTO annotations (seq, id, impression_id, kind, annotator, timestamp_ms, time_to_annotate_ms, "
            "weight, choice, strength, rationale, outcome, reply, reasons, final_text, description, "
            "suggested_source, n_labels) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        ins_lab_ = prepare("INSERT INTO relevance_labels (annotation_seq, ord, doc_id, label) VALUES (?, ?, ?, ?)");
        ins_imp_ = prepare(
            "INSERT INTO impressions (seq, id, case_id, turn, timestamp_ms, query, context, n_retrieved, n_shown, "
            "n_replies) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        ins_cand_ = prepare(
            "INSERT INTO impression_candidates (impression_seq, stage, rank, doc_id, score) VALUES (?, ?, ?, ?, ?)");
        ins_rep_ = prepare(
            "INSERT INTO impression_replies (impression_seq, slot, variant, position, text) VALUES (?, ?, ?, ?, ?)");
        ins_mod_ = prepare("INSERT INTO impression_models (impression_seq, role, version) VALUES (?, ?, ?)");
        std::random_device rd;
        rng_.seed((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
    }
    raw_store(const raw_store&) = delete;
    raw_store& operator=(const raw_store&) = delete;
    ~raw_store() {
        for (auto* s : {begin_, commit_, ins_ann_, ins_lab_, ins_imp_, ins_cand_, ins_rep_, ins_mod_}) sqlite3_finalize(s);
        sqlite3_close_v2(db_);
    }

    void append(const annotation& a) {
        run(begin_);
        try {
            insert(a);
            run(commit_);
        } catch (...) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    void append(const std::vector<annotation>& v, std::size_t from, std::size_t n) {
        run(begin_);
        try {
            for (std::size_t i = from; i < from + n; ++i) insert(v[i]);
            run(commit_);
        } catch (...) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    void append(const std::vector<impression>& v) {
        run(begin_);
        for (const auto& imp : v) insert(imp);
        run(commit_);
    }

    // The same two ordered scans as aitl (annotations, then relevance_labels merged by seq).
    std::vector<annotation> read_since(std::int64_t watermark) {
        exec("BEGIN");
        std::vector<annotation> out;
        {
            sqlite3_stmt* s = prepare("SELECT max(seq) FROM annotations");
            if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) > watermark)
                out.reserve(static_cast<std::size_t>(sqlite3_column_int64(s, 0) - watermark));
            sqlite3_finalize(s);
        }
        std::size_t labels = 0;
        const auto t_start = clock_type::now();
        sqlite3_stmt* s = prepare(
            "SELECT seq, id, impression_id, kind, annotator, timestamp_ms, time_to_annotate_ms, weight, choice, "
            "strength, rationale, outcome, reply, reasons, final_text, description, suggested_source, n_labels "
            "FROM annotations WHERE seq > ? ORDER BY seq");
        sqlite3_bind_int64(s, 1, watermark);
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            annotation& a = out.emplace_back();
            a.seq = sqlite3_column_int64(s, 0);
            assign(s, 1, a.id);
            assign(s, 2, a.impression_id);
            const auto kind = sqlite3_column_int(s, 3);
            assign(s, 4, a.annotator);
            a.timestamp_ms = sqlite3_column_int64(s, 5);
            a.time_to_annotate_ms = sqlite3_column_int64(s, 6);
            a.weight = sqlite3_column_double(s, 7);
            if (kind == 0) {
                auto& p = a.body.emplace<aitl::preference>();
                p.choice = static_cast<aitl::preference_choice>(sqlite3_column_int(s, 8));
                p.strength = static_cast<aitl::preference_strength>(sqlite3_column_int(s, 9));
                assign(s, 10, p.rationale);
            } else if (kind == 1) {
                auto& d = a.body.emplace<aitl::adoption>();
                assign(s, 10, d.rationale);
                d.outcome = static_cast<aitl::adoption_outcome>(sqlite3_column_int(s, 11));
                d.reply = static_cast<std::uint32_t>(sqlite3_column_int(s, 12));
                const auto mask = sqlite3_column_int64(s, 13);
                for (int r = 0; r < 8; ++r)
                    if (mask & (std::int64_t{1} << r)) d.reasons.push_back(static_cast<aitl::adoption_reason>(r));
                assign(s, 14, d.final_text);
            } else if (kind == 2) {
                const auto n = static_cast<std::size_t>(sqlite3_column_int64(s, 17));
                a.body.emplace<aitl::knowledge_relevance>().labels.reserve(n);
                labels += n;
            } else {
                auto& m = a.body.emplace<aitl::missing_knowledge>();
                assign(s, 15, m.description);
                assign(s, 16, m.suggested_source);
            }
        }
        sqlite3_finalize(s);
        check(rc == SQLITE_DONE ? SQLITE_OK : rc, "read annotations");
        annotation_scan_s = seconds_since(t_start);
        const auto t_labels = clock_type::now();
        if (labels > 0) {
            s = prepare(
                "SELECT annotation_seq, doc_id, label FROM relevance_labels WHERE annotation_seq > ? "
                "ORDER BY annotation_seq, ord");
            sqlite3_bind_int64(s, 1, watermark);
            std::size_t at = 0;
            while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                const auto seq = sqlite3_column_int64(s, 0);
                while (at < out.size() && out[at].seq < seq) ++at;
                if (at == out.size()) break;
                auto* r = std::get_if<aitl::knowledge_relevance>(&out[at].body);
                if (out[at].seq != seq || !r) continue;
                const char* p = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
                std::string doc(p, static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
                const int label = sqlite3_column_int(s, 2);
                if (label == 2) r->selected.push_back(std::move(doc));
                else r->labels.push_back({std::move(doc), label == 1});
            }
            sqlite3_finalize(s);
        }
        label_scan_s = seconds_since(t_labels);
        exec("COMMIT");
        return out;
    }

    bool ordered_ids = false;
    double annotation_scan_s = 0;  // of the last read_since: the annotations query
    double label_scan_s = 0;       // the relevance_labels query and merge

    std::int64_t scalar(const char* sql) {
        sqlite3_stmt* s = prepare(sql);
        std::int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_finalize(s);
        return v;
    }

    void exec(const char* sql) {
        char* err = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = std::string(sql).substr(0, 60) + ": " + (err ? err : sqlite3_errmsg(db_));
            sqlite3_free(err);
            throw std::runtime_error(msg);
        }
    }

    sqlite3* handle() const { return db_; }

private:
    void check(int rc, const char* what) {
        if (rc != SQLITE_OK) throw std::runtime_error(std::string("raw sqlite: ") + what + ": " + sqlite3_errmsg(db_));
    }
    sqlite3_stmt* prepare(const char* sql) {
        sqlite3_stmt* s = nullptr;
        check(sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr), sql);
        return s;
    }
    void run(sqlite3_stmt* s) {
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) check(rc, sqlite3_sql(s));
    }
    static void assign(sqlite3_stmt* s, int c, std::string& out) {
        const char* p = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
        if (p) out.assign(p, static_cast<std::size_t>(sqlite3_column_bytes(s, c)));
    }
    static void text(sqlite3_stmt* s, int i, const std::string& v) {
        sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
    }

    void insert(const annotation& a) {
        sqlite3_stmt* s = ins_ann_;
        // ordered_ids (an experiment): time-ordered ids, so the UNIQUE index on id is appended to
        const std::string id = "ann-" + hex16(ordered_ids ? (static_cast<std::uint64_t>(std::chrono::duration_cast<
                                                                 std::chrono::milliseconds>(std::chrono::system_clock::now()
                                                                                                .time_since_epoch())
                                                                 .count())
                                                             << 22) |
                                                                (next_id_++ & 0x3fffff)
                                                       : rng_());
        const auto* kr = std::get_if<aitl::knowledge_relevance>(&a.body);
        text(s, 1, id);
        text(s, 2, a.impression_id);
        sqlite3_bind_int(s, 3, static_cast<int>(a.body.index()));
        text(s, 4, a.annotator);
        sqlite3_bind_int64(s, 5, a.timestamp_ms);
        sqlite3_bind_int64(s, 6, a.time_to_annotate_ms);
        sqlite3_bind_double(s, 7, a.weight);
        if (const auto* p = std::get_if<aitl::preference>(&a.body)) {
            sqlite3_bind_int(s, 8, static_cast<int>(p->choice));
            sqlite3_bind_int(s, 9, static_cast<int>(p->strength));
            text(s, 10, p->rationale);
        } else if (const auto* d = std::get_if<aitl::adoption>(&a.body)) {
            std::int64_t mask = 0;
            for (auto r : d->reasons) mask |= std::int64_t{1} << static_cast<int>(r);
            text(s, 10, d->rationale);
            sqlite3_bind_int(s, 11, static_cast<int>(d->outcome));
            sqlite3_bind_int(s, 12, static_cast<int>(d->reply));
            sqlite3_bind_int64(s, 13, mask);
            text(s, 14, d->final_text);
        } else if (const auto* m = std::get_if<aitl::missing_knowledge>(&a.body)) {
            text(s, 15, m->description);
            text(s, 16, m->suggested_source);
        }
        sqlite3_bind_int64(s, 17, kr ? static_cast<std::int64_t>(kr->labels.size() + kr->selected.size()) : 0);
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (rc != SQLITE_DONE) check(rc, "insert annotation");
        if (!kr) return;
        const std::int64_t seq = sqlite3_last_insert_rowid(db_);
        int ord = 0;
        auto label = [&](const std::string& doc, int value) {
            sqlite3_bind_int64(ins_lab_, 1, seq);
            sqlite3_bind_int(ins_lab_, 2, ord++);
            text(ins_lab_, 3, doc);
            sqlite3_bind_int(ins_lab_, 4, value);
            run(ins_lab_);
        };
        for (const auto& l : kr->labels) label(l.doc_id, l.relevant ? 1 : 0);
        for (const auto& d : kr->selected) label(d, 2);
    }

    void insert(const impression& imp) {
        sqlite3_stmt* s = ins_imp_;
        const std::string context = nlohmann::json(imp.context).dump();
        text(s, 1, imp.id);
        text(s, 2, imp.case_id);
        sqlite3_bind_int64(s, 3, imp.turn);
        sqlite3_bind_int64(s, 4, imp.timestamp_ms);
        text(s, 5, imp.query);
        text(s, 6, context);
        sqlite3_bind_int64(s, 7, static_cast<std::int64_t>(imp.retrieved.size()));
        sqlite3_bind_int64(s, 8, static_cast<std::int64_t>(imp.shown.size()));
        sqlite3_bind_int64(s, 9, static_cast<std::int64_t>(imp.replies.size()));
        run(s);
        const std::int64_t seq = sqlite3_last_insert_rowid(db_);
        for (int stage = 0; stage < 2; ++stage)
            for (const auto& c : stage == 0 ? imp.retrieved : imp.shown) {
                sqlite3_bind_int64(ins_cand_, 1, seq);
                sqlite3_bind_int(ins_cand_, 2, stage);
                sqlite3_bind_int64(ins_cand_, 3, c.rank);
                text(ins_cand_, 4, c.doc_id);
                sqlite3_bind_double(ins_cand_, 5, c.score);
                run(ins_cand_);
            }
        for (std::size_t i = 0; i < imp.replies.size(); ++i) {
            sqlite3_bind_int64(ins_rep_, 1, seq);
            sqlite3_bind_int64(ins_rep_, 2, static_cast<std::int64_t>(i));
            text(ins_rep_, 3, imp.replies[i].variant);
            sqlite3_bind_int(ins_rep_, 4, static_cast<int>(imp.replies[i].position));
            text(ins_rep_, 5, imp.replies[i].text);
            run(ins_rep_);
        }
        for (const auto& [role, version] : imp.models) {
            sqlite3_bind_int64(ins_mod_, 1, seq);
            text(ins_mod_, 2, role);
            text(ins_mod_, 3, version);
            run(ins_mod_);
        }
    }

    sqlite3* db_ = nullptr;
    sqlite3_stmt* begin_ = nullptr;
    sqlite3_stmt* commit_ = nullptr;
    sqlite3_stmt* ins_ann_ = nullptr;
    sqlite3_stmt* ins_lab_ = nullptr;
    sqlite3_stmt* ins_imp_ = nullptr;
    sqlite3_stmt* ins_cand_ = nullptr;
    sqlite3_stmt* ins_rep_ = nullptr;
    sqlite3_stmt* ins_mod_ = nullptr;
    std::mt19937_64 rng_;
    std::uint64_t next_id_ = 0;
};

// ------------------------------------------------------------------------------------------
// helpers
// ------------------------------------------------------------------------------------------

struct args {
    std::map<std::string, std::string> kv;
    std::string get(const std::string& k, const std::string& fallback = "") const {
        auto it = kv.find(k);
        return it == kv.end() ? fallback : it->second;
    }
    std::size_t num(const std::string& k, std::size_t fallback) const {
        auto it = kv.find(k);
        return it == kv.end() ? fallback : static_cast<std::size_t>(std::stoull(it->second));
    }
    bool flag(const std::string& k) const { return kv.count(k) > 0; }
};

args parse_args(int argc, char** argv, int from) {
    args a;
    for (int i = from; i < argc; ++i) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument " + k);
        k = k.substr(2);
        if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) a.kv[k] = argv[++i];
        else a.kv[k] = "1";
    }
    return a;
}

void remove_db(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

std::uintmax_t file_size_or_0(const std::string& path) {
    std::error_code ec;
    auto n = std::filesystem::file_size(path, ec);
    return ec ? 0 : n;
}

nlohmann::json latency_summary(std::vector<double> ms) {
    if (ms.empty()) return nullptr;
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) { return ms[static_cast<std::size_t>(p * static_cast<double>(ms.size() - 1) + 0.5)]; };
    return {{"mean_ms", std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size())},
            {"p50_ms", pct(0.5)},
            {"p99_ms", pct(0.99)},
            {"max_ms", ms.back()}};
}

// ------------------------------------------------------------------------------------------
// subcommands
// ------------------------------------------------------------------------------------------

nlohmann::json cmd_mix(const args& a) {
    const std::size_t n = a.num("n", 20000);
    const auto w = make_workload(1000, n, a.num("seed", 42));
    std::size_t total = 0;
    std::map<std::string, std::pair<std::size_t, std::size_t>> per;  // kind -> (count, bytes)
    for (std::size_t i = 0; i < n; ++i) {
        const auto bytes = stored_json_size(w.annotations[i], 1000000 + static_cast<std::int64_t>(i));
        total += bytes;
        auto& p = per[std::string(aitl::to_string(w.annotations[i].kind()))];
        p.first += 1;
        p.second += bytes;
    }
    std::size_t imp_bytes = 0;
    for (const auto& imp : w.impressions) {
        auto copy = imp;
        copy.seq = 100000;
        imp_bytes += nlohmann::json(copy).dump().size();
    }
    nlohmann::json kinds = nlohmann::json::object();
    for (const auto& [k, p] : per)
        kinds[k] = {{"share", static_cast<double>(p.first) / static_cast<double>(n)},
                    {"mean_json_bytes", static_cast<double>(p.second) / static_cast<double>(p.first)}};
    return {{"annotations", n},
            {"mean_json_bytes", static_cast<double>(total) / static_cast<double>(n)},
            {"kinds", kinds},
            {"impression_mean_json_bytes", static_cast<double>(imp_bytes) / 1000.0}};
}

nlohmann::json cmd_data(const args& a) {
    const auto w = make_workload(a.num("impressions", 1000), a.num("annotations", 1000), a.num("seed", 42));
    std::ofstream out(a.get("out"));
    if (!out) throw std::runtime_error("cannot write " + a.get("out"));
    for (const auto& imp : w.impressions) out << nlohmann::json(imp).dump() << "\n";
    for (const auto& ann : w.annotations) out << nlohmann::json(ann).dump() << "\n";
    return {{"impressions", w.impressions.size()}, {"annotations", w.annotations.size()}};
}

nlohmann::json cmd_write(const args& a) {
    const std::string system = a.get("system"), mode = a.get("mode"), path = a.get("db");
    const auto dur = a.get("durability", "full") == "full" ? aitl::durability::full : aitl::durability::normal;
    const std::size_t count = a.num("count", 1000), batch = mode == "one" ? 1 : a.num("batch", 100);
    const std::size_t n_imps = a.num("impressions", 1000);
    if (path.empty() || (system != "aitl" && system != "raw") || (mode != "one" && mode != "batch") || count % batch)
        throw std::runtime_error("write: bad arguments");
    // --existing: append to a filled store, annotating its newest impressions (annotations
    // follow their impressions within minutes); otherwise a fresh store with the workload's.
    const bool existing = a.flag("existing");
    workload w;
    std::int64_t before = 0;
    if (existing) {
        aitl::sqlite_store_config rc;
        rc.read_only = true;
        aitl::sqlite_store reader(path, rc);
        const auto stats = reader.stats();
        before = static_cast<std::int64_t>(stats.annotations());
        aitl::store_filter f;
        f.after_seq = std::max<std::int64_t>(0, stats.impression_watermark - static_cast<std::int64_t>(n_imps));
        w.impressions = reader.impressions(f);
        generator g(a.num("seed", 42) + static_cast<std::uint64_t>(before));
        for (std::size_t i = 0; i < count; ++i)
            w.annotations.push_back(g.make_annotation(w.impressions[g.pick(w.impressions.size())]));
    } else {
        remove_db(path);
        w = make_workload(n_imps, count, a.num("seed", 42));
    }
    std::vector<double> commit_ms;
    commit_ms.reserve(count / batch);
    double seconds = 0;
    if (system == "aitl") {
        aitl::sqlite_store_config config;
        config.durability_mode = dur;
        aitl::sqlite_store store(path, config);
        if (!existing) store.append(w.impressions);
        std::vector<std::vector<annotation>> groups;  // built before the clock starts
        if (batch > 1)
            for (std::size_t i = 0; i < count; i += batch)
                groups.emplace_back(w.annotations.begin() + static_cast<std::ptrdiff_t>(i),
                                    w.annotations.begin() + static_cast<std::ptrdiff_t>(i + batch));
        const auto t0 = clock_type::now();
        for (std::size_t i = 0; i < count; i += batch) {
            const auto t = clock_type::now();
            if (batch == 1) store.append(w.annotations[i]);
            else store.append(groups[i / batch]);
            commit_ms.push_back(seconds_since(t) * 1000.0);
        }
        seconds = seconds_since(t0);
    } else {
        raw_store store(path, dur, existing ? raw_store::open_mode::existing : raw_store::open_mode::create);
        if (const std::size_t kib = a.num("cache-kib", 0)) {  // experiment: SQLite's default is 2,000 KiB
            const std::string pragma = "PRAGMA cache_size=-" + std::to_string(kib);
            store.exec(pragma.c_str());
        }
        if (const std::size_t pages = a.num("autocheckpoint", 0)) {  // experiment: SQLite's default is 1,000
            const std::string pragma = "PRAGMA wal_autocheckpoint=" + std::to_string(pages);
            store.exec(pragma.c_str());
        }
        store.ordered_ids = a.flag("ordered-ids");
        if (!existing) store.append(w.impressions);
        const auto t0 = clock_type::now();
        for (std::size_t i = 0; i < count; i += batch) {
            const auto t = clock_type::now();
            if (batch == 1) store.append(w.annotations[i]);
            else store.append(w.annotations, i, batch);
            commit_ms.push_back(seconds_since(t) * 1000.0);
        }
        seconds = seconds_since(t0);
    }
    std::int64_t stored = 0, labels = 0;
    {
        raw_store check(path, dur, raw_store::open_mode::read_only);
        stored = check.scalar("SELECT count(*) FROM annotations");
        labels = check.scalar("SELECT count(*) FROM relevance_labels");
    }
    if (stored - before != static_cast<std::int64_t>(count))
        throw std::runtime_error("write: stored " + std::to_string(stored - before) + " annotations, expected " +
                                 std::to_string(count));
    if (!a.flag("keep") && !existing) remove_db(path);
    return {{"system", system},
            {"durability", aitl::to_string(dur)},
            {"mode", mode},
            {"batch", batch},
            {"annotations", count},
            {"store_annotations_before", before},
            {"relevance_labels", labels},
            {"commits", count / batch},
            {"seconds", seconds},
            {"annotations_per_s", static_cast<double>(count) / seconds},
            {"commits_per_s", static_cast<double>(count / batch) / seconds},
            {"commit_latency", latency_summary(commit_ms)}};
}

nlohmann::json cmd_fill(const args& a) {
    const std::string path = a.get("db");
    const std::size_t n_imps = a.num("impressions", 100000), per = a.num("per-impression", 10);
    const std::size_t block = 1000;
    if (path.empty()) throw std::runtime_error("fill: --db is required");
    remove_db(path);
    nlohmann::json out;

    // Fill with aitl: normal durability, batches of 1,000 (impressions, then their annotations).
    {
        aitl::sqlite_store_config config;
        config.durability_mode = aitl::durability::normal;
        aitl::sqlite_store store(path, config);
        generator g(a.num("seed", 42));
        double t_imp = 0, t_ann = 0;
        std::vector<impression> imps;
        std::vector<annotation> anns;
        for (std::size_t first = 0; first < n_imps; first += block) {
            imps.clear();
            for (std::size_t i = first; i < std::min(n_imps, first + block); ++i) imps.push_back(g.make_impression(i));
            auto t = clock_type::now();
            store.append(imps);
            t_imp += seconds_since(t);
            anns.clear();
            for (const auto& imp : imps)
                for (std::size_t k = 0; k < per; ++k) anns.push_back(g.make_annotation(imp));
            std::shuffle(anns.begin(), anns.end(), std::mt19937_64(first));
            for (std::size_t i = 0; i < anns.size(); i += block) {
                std::vector<annotation> batch(anns.begin() + static_cast<std::ptrdiff_t>(i),
                                              anns.begin() + static_cast<std::ptrdiff_t>(std::min(anns.size(), i + block)));
                t = clock_type::now();
                store.append(batch);
                t_ann += seconds_since(t);
            }
            if ((first / block) % 10 == 9)
                std::cerr << "[store_bench] filled " << (first + block) << " impressions\r" << std::flush;
        }
        std::cerr << "\n";
        const auto stats = store.stats();
        out["fill"] = {{"impressions", stats.impressions},
                       {"annotations", stats.annotations()},
                       {"impression_seconds", t_imp},
                       {"annotation_seconds", t_ann},
                       {"impressions_per_s", static_cast<double>(stats.impressions) / t_imp},
                       {"annotations_per_s", static_cast<double>(stats.annotations()) / t_ann},
                       {"stats", stats}};

        // JSONL export of the whole store: its size, split by record type.
        const std::string jsonl = path + ".jsonl";
        auto t = clock_type::now();
        store.export_jsonl(jsonl);
        const double export_s = seconds_since(t);
        std::ifstream in(jsonl);
        std::string line;
        std::size_t imp_bytes = 0, ann_bytes = 0, header = 0, lines = 0;
        while (std::getline(in, line)) {
            const std::size_t n = line.size() + 1;
            if (lines++ == 0) header += n;
            else if (line.find("\"type\":\"impression\"") != std::string::npos) imp_bytes += n;
            else ann_bytes += n;
        }
        out["jsonl"] = {{"bytes", file_size_or_0(jsonl)},
                        {"impression_bytes", imp_bytes},
                        {"annotation_bytes", ann_bytes},
                        {"annotation_mean_bytes", static_cast<double>(ann_bytes) / static_cast<double>(stats.annotations())},
                        {"export_seconds", export_s}};
        std::filesystem::remove(jsonl);
    }

    // Size: .db + WAL as left by the writer, then after a TRUNCATE checkpoint; pages per object.
    {
        const auto db_before = file_size_or_0(path), wal_before = file_size_or_0(path + "-wal");
        raw_store db(path, aitl::durability::normal, raw_store::open_mode::existing);
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
        nlohmann::json objects = nlohmann::json::object();
        std::uint64_t ann_part = 0, imp_part = 0, other = 0;
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(db.handle(),
                           "SELECT d.name, coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d LEFT JOIN "
                           "sqlite_master m ON m.name = d.name GROUP BY d.name ORDER BY 3 DESC",
                           -1, &s, nullptr);
        while (sqlite3_step(s) == SQLITE_ROW) {
            const std::string name = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
            const std::string table = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
            const auto bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
            objects[name] = bytes;
            if (table == "annotations" || table == "relevance_labels") ann_part += bytes;
            else if (table.rfind("impression", 0) == 0) imp_part += bytes;
            else other += bytes;
        }
        sqlite3_finalize(s);
        const auto free_pages = db.scalar("PRAGMA freelist_count");
        const auto page_size = db.scalar("PRAGMA page_size");
        out["size"] = {{"db_bytes_before_checkpoint", db_before},
                       {"wal_bytes_before_checkpoint", wal_before},
                       {"db_bytes", file_size_or_0(path)},
                       {"wal_bytes", file_size_or_0(path + "-wal")},
                       {"page_size", page_size},
                       {"free_pages", free_pages},
                       {"annotation_tables_bytes", ann_part},
                       {"impression_tables_bytes", imp_part},
                       {"other_bytes", other},
                       {"objects", objects}};
    }

    return out;
}

struct usage {
    double user_s, sys_s;
    long minflt;
};

usage rusage_now() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return {static_cast<double>(r.ru_utime.tv_sec) + 1e-6 * static_cast<double>(r.ru_utime.tv_usec),
            static_cast<double>(r.ru_stime.tv_sec) + 1e-6 * static_cast<double>(r.ru_stime.tv_usec), r.ru_minflt};
}

// Reads every annotation since watermark 0 into memory, `repeats` times in this process (the
// first read also pays for fresh memory: page faults), each result freed before the next.
// aitl: annotations_since(0); raw: the same rows into the same structs. --check compares both.
nlohmann::json cmd_scan(const args& a) {
    const std::string path = a.get("db"), system = a.get("system");
    const std::size_t repeats = a.num("repeats", 3);
    if (path.empty() || (system != "aitl" && system != "raw")) throw std::runtime_error("scan: bad arguments");
    nlohmann::json reads = nlohmann::json::array();
    std::size_t n = 0;
    std::int64_t checksum = 0;
    std::unique_ptr<aitl::sqlite_store> store;
    if (system == "aitl") {
        aitl::sqlite_store_config config;
        config.read_only = true;
        store = std::make_unique<aitl::sqlite_store>(path, config);
    }
    double raw_ann = 0, raw_lab = 0;
    auto read_once = [&]() {
        if (store) return store->annotations_since(0);
        raw_store raw(path, aitl::durability::normal, raw_store::open_mode::read_only);
        auto v = raw.read_since(0);
        raw_ann = raw.annotation_scan_s;
        raw_lab = raw.label_scan_s;
        return v;
    };
    for (std::size_t r = 0; r < repeats; ++r) {
        const auto u0 = rusage_now();
        const auto t = clock_type::now();
        auto v = read_once();
        const double wall = seconds_since(t);
        const auto u1 = rusage_now();
        n = v.size();
        checksum = 0;
        for (const auto& x : v) checksum += x.seq + static_cast<std::int64_t>(x.body.index());
        nlohmann::json one{{"seconds", wall},
                           {"user_seconds", u1.user_s - u0.user_s},
                           {"sys_seconds", u1.sys_s - u0.sys_s},
                           {"minor_faults", u1.minflt - u0.minflt}};
        if (!store) one["annotation_scan_seconds"] = raw_ann, one["label_scan_seconds"] = raw_lab;
        reads.push_back(one);
        std::cerr << "[store_bench] " << system << " read " << n << " annotations in " << wall << " s\n";
    }
    nlohmann::json out{{"system", system}, {"annotations", n}, {"checksum", checksum}, {"reads", reads}};
    if (a.flag("check")) {
        aitl::sqlite_store_config config;
        config.read_only = true;
        const auto x = aitl::sqlite_store(path, config).annotations_since(0);
        raw_store raw(path, aitl::durability::normal, raw_store::open_mode::read_only);
        const auto y = raw.read_since(0);
        if (x != y) throw std::runtime_error("scan: aitl and raw reads differ");
        out["check"] = "aitl annotations_since(0) == raw read";
    }
    return out;
}

// Where an aitl append's time goes: the steps of the store's write path (detail functions,
// called in the store's order on one connection inside one transaction) against the raw insert
// of the same annotations, plus whole append(vector) calls of both (normal durability).
nlohmann::json cmd_profile(const args& a) {
    const std::string path = a.get("db");
    const std::size_t n = a.num("count", 20000), batch = a.num("batch", 100), n_imps = a.num("impressions", 1000);
    if (path.empty()) throw std::runtime_error("profile: --db is required");
    const auto w = make_workload(n_imps, n, a.num("seed", 42));
    const std::string raw_path = path + ".raw";
    nlohmann::json out;
    auto per_us = [&](double s) { return s * 1e6 / static_cast<double>(n); };

    // Whole calls, alternating aitl and raw by batch.
    remove_db(path);
    remove_db(raw_path);
    {
        aitl::sqlite_store_config config;
        config.durability_mode = aitl::durability::normal;
        aitl::sqlite_store store(path, config);
        store.append(w.impressions);
        raw_store raw(raw_path, aitl::durability::normal, raw_store::open_mode::create);
        raw.append(w.impressions);
        // Half the annotations one at a time, half in batches; aitl and raw alternate call by call.
        const std::size_t half = n / 2 / batch * batch;
        std::vector<std::vector<annotation>> groups;
        for (std::size_t i = half; i + batch <= 2 * half; i += batch)
            groups.emplace_back(w.annotations.begin() + static_cast<std::ptrdiff_t>(i),
                                w.annotations.begin() + static_cast<std::ptrdiff_t>(i + batch));
        double t_aitl = 0, t_raw = 0, t_aitl_b = 0, t_raw_b = 0;
        for (std::size_t i = 0; i < half; ++i) {
            auto t = clock_type::now();
            store.append(w.annotations[i]);
            t_aitl += seconds_since(t);
            t = clock_type::now();
            raw.append(w.annotations[i]);
            t_raw += seconds_since(t);
        }
        for (std::size_t g = 0; g < groups.size(); ++g) {
            auto t = clock_type::now();
            store.append(groups[g]);
            t_aitl_b += seconds_since(t);
            t = clock_type::now();
            raw.append(w.annotations, half + g * batch, batch);
            t_raw_b += seconds_since(t);
        }
        const auto us = [&](double sec) { return sec * 1e6 / static_cast<double>(half); };
        out["append_us_per_annotation_normal_durability"] = {
            {"one_at_a_time", {{"aitl", us(t_aitl)}, {"raw", us(t_raw)}}},
            {"batch", {{"aitl", us(t_aitl_b)}, {"raw", us(t_raw_b)}, {"size", batch}}}};
    }
    remove_db(path);
    remove_db(raw_path);

    // The steps, one transaction each side, same annotations.
    {
        aitl::sqlite_store_config config;
        config.durability_mode = aitl::durability::normal;
        { aitl::sqlite_store(path, config).append(w.impressions); }
        aitl::detail::sqlite_db db(path, SQLITE_OPEN_READWRITE, "profile");
        db.exec("PRAGMA synchronous=NORMAL");
        std::mt19937_64 rng(7);
        auto t = clock_type::now();
        double t_validate = 0, t_lookup = 0, t_validate_imp = 0, t_id = 0, t_insert = 0, t_group = 0, t_read = 0;
        double k_lookup[4] = {0, 0, 0, 0}, k_validate[4] = {0, 0, 0, 0}, k_insert[4] = {0, 0, 0, 0};
        std::size_t k_count[4] = {0, 0, 0, 0};
        {
            // The store's writer keeps the outlines of the impressions it wrote or looked up.
            aitl::detail::outline_cache outlines;
            for (const auto& imp : w.impressions) outlines.add(imp.id, aitl::detail::impression_outline::of(imp));
            outlines.commit();
            const auto t_all = clock_type::now();
            aitl::detail::sqlite_transaction txn(db, true);
            for (const auto& ann : w.annotations) {
                const std::size_t k = ann.body.index();
                ++k_count[k];
                auto t = clock_type::now();
                aitl::validate(ann);
                const double v1 = seconds_since(t);
                t_validate += v1;
                t = clock_type::now();
                const auto* imp = outlines.find(ann.impression_id);
                const double l = seconds_since(t);
                t_lookup += l;
                k_lookup[k] += l;
                t = clock_type::now();
                aitl::detail::validate_against_outline(ann, imp->first, imp->second);
                const double v2 = seconds_since(t);
                t_validate_imp += v2;
                k_validate[k] += v1 + v2;
                t = clock_type::now();
                const std::string id = "ann-" + hex16(rng());
                t_id += seconds_since(t);
                t = clock_type::now();
                bool taken = false;
                aitl::detail::insert_annotation(db, ann, id, 0, &taken);
                if (taken) throw std::runtime_error("id collision");
                const double ins = seconds_since(t);
                t_insert += ins;
                k_insert[k] += ins;
            }
            txn.commit();
            t_group = seconds_since(t_all);
            // What a cache miss costs: the outline read from the database.
            aitl::detail::sqlite_transaction read(db, false);
            t = clock_type::now();
            for (const auto& ann : w.annotations)
                if (!aitl::detail::read_impression_outline(db, ann.impression_id)) throw std::runtime_error("lost impression");
            t_read = seconds_since(t);
            read.commit();
        }
        raw_store raw(raw_path, aitl::durability::normal, raw_store::open_mode::create);
        raw.append(w.impressions);
        t = clock_type::now();
        raw.append(w.annotations, 0, n);
        const double t_raw = seconds_since(t);
        // The statement cache's cost alone: a lookup by SQL text (a std::string built, hashed, compared).
        const std::string ins =
            "INSERT INTO annotations (seq, id, impression_id, kind, annotator, timestamp_ms, time_to_annotate_ms, "
            "weight, choice, strength, rationale, outcome, reply, reasons, final_text, description, "
            "suggested_source, n_labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        t = clock_type::now();
        for (std::size_t i = 0; i < n; ++i) {
            auto st = db.prepare(std::string(ins.c_str()));
        }
        const double t_prepare = seconds_since(t);
        // A transaction's BEGIN IMMEDIATE + COMMIT: parsed each time by sqlite3_exec (as the
        // store does) against prepared statements (as the raw writer does); nothing written.
        t = clock_type::now();
        for (std::size_t i = 0; i < n; ++i) {
            aitl::detail::sqlite_transaction txn(db, true);
            txn.commit();
        }
        const double t_exec_txn = seconds_since(t);
        double t_prepared_txn = 0;
        {
            sqlite3_stmt *b = nullptr, *c = nullptr;
            sqlite3_prepare_v2(db.handle(), "BEGIN IMMEDIATE", -1, &b, nullptr);
            sqlite3_prepare_v2(db.handle(), "COMMIT", -1, &c, nullptr);
            t = clock_type::now();
            for (std::size_t i = 0; i < n; ++i) {
                sqlite3_step(b);
                sqlite3_reset(b);
                sqlite3_step(c);
                sqlite3_reset(c);
            }
            t_prepared_txn = seconds_since(t);
            sqlite3_finalize(b);
            sqlite3_finalize(c);
        }
        // The clock's own cost per reading (subtract 2 per step if it matters).
        t = clock_type::now();
        double sink = 0;
        for (std::size_t i = 0; i < n; ++i) sink += seconds_since(clock_type::now());
        const double t_clock = seconds_since(t);
        out["steps_us_per_annotation"] = {
            {"validate(annotation) before submit", per_us(t_validate)},
            {"impression outline from the writer's cache", per_us(t_lookup)},
            {"validate_against_outline (the impression checks of validate(annotation, impression))",
             per_us(t_validate_imp)},
            {"random id (checked by the insert's UNIQUE index)", per_us(t_id)},
            {"read_impression_outline on a cache miss (SELECT impression + its shown doc ids)", per_us(t_read)},
            {"insert_annotation (annotation row + relevance_labels rows)", per_us(t_insert)},
            {"sum of steps, one transaction", per_us(t_group)},
            {"raw insert of the same rows, one transaction", per_us(t_raw)},
            {"statement cache lookup of the annotation INSERT (one prepare() call)", per_us(t_prepare)},
            {"empty transaction, BEGIN IMMEDIATE/COMMIT via sqlite3_exec (per call)", per_us(t_exec_txn)},
            {"empty transaction, prepared BEGIN IMMEDIATE/COMMIT (per call)", per_us(t_prepared_txn)},
            {"two clock readings (timer overhead per step)", per_us(t_clock) + (sink < 0 ? 1 : 0)}};
        nlohmann::json kinds = nlohmann::json::object();
        for (std::size_t k = 0; k < 4; ++k) {
            if (!k_count[k]) continue;
            const double c = static_cast<double>(k_count[k]);
            kinds[std::string(aitl::to_string(static_cast<aitl::annotation_kind>(k)))] = {
                {"share", c / static_cast<double>(n)},
                {"outline_cache_lookup_us", k_lookup[k] * 1e6 / c},
                {"both_validates_us", k_validate[k] * 1e6 / c},
                {"insert_annotation_us", k_insert[k] * 1e6 / c}};
        }
        out["steps_by_kind"] = kinds;
    }
    remove_db(path);
    remove_db(raw_path);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: store_bench schema|mix|data|write|fill|scan|profile [--options]\n";
        return 2;
    }
    try {
        const std::string cmd = argv[1];
        const args a = parse_args(argc, argv, 2);
        nlohmann::json out;
        if (cmd == "schema") out = {{"migrations", aitl::detail::sqlite_migrations()},
                                    {"schema_version", aitl::sqlite_schema_version}};
        else if (cmd == "mix") out = cmd_mix(a);
        else if (cmd == "data") out = cmd_data(a);
        else if (cmd == "write") out = cmd_write(a);
        else if (cmd == "fill") out = cmd_fill(a);
        else if (cmd == "scan") out = cmd_scan(a);
        else if (cmd == "profile") out = cmd_profile(a);
        else throw std::runtime_error("unknown subcommand " + cmd);
        out["sqlite_version"] = sqlite3_libversion();
        out["aitl_version"] = aitl::version_string;
        std::cout << out.dump() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "store_bench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
