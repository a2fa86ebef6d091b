#pragma once
// Internals of store/sqlite_store.hpp: the JSONL export of a store (a header line, then the
// impressions and the annotations in seq order) and its import (read and checked in full
// before anything is written; errors are parse_errors with the file, line and field).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_parse.hpp"
#include "../error.hpp"
#include "../feedback/annotation.hpp"
#include "../feedback/impression.hpp"
#include "../store/sqlite_schema.hpp"
#include "sqlite.hpp"
#include "sqlite_records.hpp"

namespace aitl {
namespace detail {

struct store_jsonl_records {
    std::vector<impression> impressions;
    std::vector<std::size_t> impression_lines;
    std::vector<annotation> annotations;
    std::vector<std::size_t> annotation_lines;
};

// The field named in a record error message ("...: field 'labels[2].doc_id': ..."), or "".
inline std::string message_field(const std::string& msg) {
    const std::string key = "field '";
    auto b = msg.find(key);
    if (b == std::string::npos) return {};
    b += key.size();
    auto e = msg.find('\'', b);
    return e == std::string::npos ? std::string() : msg.substr(b, e - b);
}

inline void export_store_jsonl(sqlite_db& db, const std::string& path) {
    const char* w = "sqlite_store::export_jsonl";
    const std::int64_t n_imp = db.scalar("SELECT count(*) FROM impressions");
    const std::int64_t n_ann = db.scalar("SELECT count(*) FROM annotations");
    const std::string tmp = path + ".tmp";
    try {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw io_error(std::string(w) + ": cannot write '" + tmp + "'");
        out << "{\"type\":\"aitl_store\",\"schema_version\":" << sqlite_schema_version
            << ",\"impressions\":" << n_imp << ",\"annotations\":" << n_ann << "}\n";
        const std::size_t page = 4096;
        for (store_filter f{};;) {
            f.limit = page;
            auto v = query_impressions(db, f);
            for (const auto& x : v) out << nlohmann::json(x).dump() << '\n';
            if (v.size() < page) break;
            f.after_seq = v.back().seq;
        }
        for (annotation_query q{};;) {
            q.filter.limit = page;
            auto v = query_annotations(db, q);
            for (const auto& x : v) out << nlohmann::json(x).dump() << '\n';
            if (v.size() < page) break;
            q.filter.after_seq = v.back().seq;
        }
        out.flush();
        if (!out) throw io_error(std::string(w) + ": cannot write '" + tmp + "' (disk full?)");
    } catch (...) {
        std::remove(tmp.c_str());
        throw;
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw io_error(std::string(w) + ": cannot rename '" + tmp + "' to '" + path + "'");
    }
}

// Reads and checks a whole export file (nothing is written).
inline store_jsonl_records read_store_jsonl(const std::string& path) {
    const char* w = "sqlite_store::import_jsonl";
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(std::string(w) + ": cannot open '" + path + "'");
    store_jsonl_records out;
    std::string line;
    std::size_t ln = 0;
    std::int64_t want_imp = -1, want_ann = -1;
    auto header_error = [&](const std::string& field, const std::string& what) {
        throw parse_error(path, 1, field, std::string(w) + ": bad header: " + what);
    };
    while (std::getline(in, line)) {
        ++ln;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (ln > 1 && line.find_first_not_of(" \t") == std::string::npos) continue;
        const nlohmann::json j = parse_json(line, path, ln, w);
        if (ln == 1) {
            if (!j.is_object() || !j.contains("type") || j["type"] != "aitl_store")
                header_error("type", "expected {\"type\":\"aitl_store\",\"schema_version\":" +
                                         std::to_string(sqlite_schema_version) + ",\"impressions\":N,\"annotations\":M}");
            for (auto it = j.begin(); it != j.end(); ++it)
                if (it.key() != "type" && it.key() != "schema_version" && it.key() != "impressions" &&
                    it.key() != "annotations")
                    header_error(it.key(), "unknown key (expected type, schema_version, impressions, annotations)");
            for (const char* k : {"schema_version", "impressions", "annotations"})
                if (!j.contains(k) || !j[k].is_number_integer() || j[k].get<std::int64_t>() < 0)
                    header_error(k, "missing or not a non-negative integer (got " +
                                        (j.contains(k) ? j[k].dump() : std::string("nothing")) + ")");
            const auto v = j["schema_version"].get<std::int64_t>();
            if (v < 1 || v > sqlite_schema_version)
                header_error("schema_version", "unsupported (got " + std::to_string(v) + ", expected 1.." +
                                                   std::to_string(sqlite_schema_version) + ")");
            want_imp = j["impressions"].get<std::int64_t>();
            want_ann = j["annotations"].get<std::int64_t>();
            continue;
        }
        try {
            if (j.is_object() && j.contains("type") && j["type"] == "impression") {
                impression imp = j.get<impression>();
                validate(imp);
                out.impressions.push_back(std::move(imp));
                out.impression_lines.push_back(ln);
            } else {
                annotation a = j.get<annotation>();
                validate(a);
                out.annotations.push_back(std::move(a));
                out.annotation_lines.push_back(ln);
            }
        } catch (const config_error& e) {
            throw parse_error(path, ln, message_field(e.what()), e.what());
        }
    }
    if (ln == 0) throw parse_error(path, 0, "type", std::string(w) + ": empty file (expected the aitl_store header line)");
    if (static_cast<std::int64_t>(out.impressions.size()) != want_imp)
        header_error("impressions", "count does not match (header says " + std::to_string(want_imp) + ", file has " +
                                        std::to_string(out.impressions.size()) + ")");
    if (static_cast<std::int64_t>(out.annotations.size()) != want_ann)
        header_error("annotations", "count does not match (header says " + std::to_string(want_ann) + ", file has " +
                                        std::to_string(out.annotations.size()) + ")");
    return out;
}

// Writes checked records inside the caller's transaction. Explicit seqs must exceed the
// table's current largest seq; errors are parse_errors naming the record's line.
template <class NewId>
void import_store_records(sqlite_db& db, const store_jsonl_records& recs, const std::string& path, NewId new_id) {
    auto check_seq = [&](std::int64_t seq, std::int64_t max_seq, std::size_t ln) {
        if (seq != 0 && seq <= max_seq)
            throw parse_error(path, ln, "seq",
                              "sqlite_store::import_jsonl: seq not after the store's (got " + std::to_string(seq) +
                                  ", expected > " + std::to_string(max_seq) +
                                  ": imported records keep their seq, which must follow the stored ones and increase)");
    };
    std::int64_t max_seq = db.scalar("SELECT max(seq) FROM impressions");
    for (std::size_t i = 0; i < recs.impressions.size(); ++i) {
        const impression& imp = recs.impressions[i];
        const std::size_t ln = recs.impression_lines[i];
        check_seq(imp.seq, max_seq, ln);
        try {
            insert_with_id(
                imp.id, "imp-", new_id,
                [&](const std::string& id, bool* taken) { return insert_impression(db, imp, id, imp.seq, taken); },
                &max_seq);
        } catch (const config_error& e) {
            throw parse_error(path, ln, message_field(e.what()), e.what());
        }
    }
    max_seq = db.scalar("SELECT max(seq) FROM annotations");
    for (std::size_t i = 0; i < recs.annotations.size(); ++i) {
        const annotation& a = recs.annotations[i];
        const std::size_t ln = recs.annotation_lines[i];
        check_seq(a.seq, max_seq, ln);
        try {
            // validate(a) ran when the line was read; here the checks against the impression.
            auto outline = read_impression_outline(db, a.impression_id);
            if (!outline)
                throw parse_error(path, ln, "impression_id",
                                  "sqlite_store::import_jsonl: unknown impression (got '" + a.impression_id +
                                      "', expected an impression stored or in the file)");
            validate_against_outline(a, a.impression_id, *outline);
            insert_with_id(
                a.id, "ann-", new_id,
                [&](const std::string& id, bool* taken) { return insert_annotation(db, a, id, a.seq, taken); },
                &max_seq);
        } catch (const config_error& e) {
            throw parse_error(path, ln, message_field(e.what()), e.what());
        }
    }
}

}  // namespace detail
}  // namespace aitl
