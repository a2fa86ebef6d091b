#pragma once
/// @file eval/trec.hpp
/// @brief Runs (query id -> ranked hits), trec_eval's ranking order, and the TREC run file
/// format `qid Q0 docid rank score tag`.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/eval_text.hpp"
#include "../error.hpp"
#include "../types.hpp"

namespace aitl {

/**
 * @brief A run: query id -> the hits retrieved for it (what a retriever's search returns).
 *
 * @code
 * aitl::run r;
 * r["q1"] = retriever.search("how do I get a refund", 75);
 * aitl::write_trec_run("bm25.trec", r, "bm25");
 * @endcode
 */
using run = std::map<std::string, hits>;

/**
 * @brief A run in pytrec_eval's shape: query id -> document id -> score, in double
 * precision (a document cannot appear twice for one query).
 */
using scored_run = std::map<std::string, std::map<std::string, double>>;

/**
 * @brief trec_eval's ranking order: score descending, ties broken by document id in
 * decreasing byte order (`strcmp(b, a)` in trec_eval's form_res_rels.c, comp_sim_docno).
 * @returns true when (`id_a`, `score_a`) ranks before (`id_b`, `score_b`).
 */
inline bool trec_before(std::string_view id_a, double score_a, std::string_view id_b,
                        double score_b) noexcept {
    const bool nan_a = score_a != score_a, nan_b = score_b != score_b;
    if (nan_a != nan_b) return nan_b;  // NaN ranks last (trec_eval's readers never see NaN)
    if (!nan_a && score_a != score_b) return score_a > score_b;
    return id_a > id_b;
}

/// @brief Sorts hits into trec_eval's ranking order (see trec_before). The order trec_eval
/// evaluates is this one whatever order the hits came in, and whatever a file's rank column says.
inline void trec_sort(hits& h) {
    std::sort(h.begin(), h.end(), [](const hit& a, const hit& b) {
        return trec_before(a.id, a.score, b.id, b.score);
    });
}

/**
 * @brief Reads a TREC run file: lines `qid Q0 docid rank score tag`, split on whitespace.
 *
 * Rules (those of trec_eval's reader, made strict): exactly 6 fields per non-blank line; `Q0`
 * and `tag` are not checked; `rank` must be an integer but is otherwise ignored, because
 * trec_eval ranks by score (see trec_before); `score` must be a decimal number (not NaN). A
 * document may appear only once per query (trec_eval stops with "duplicate docs"). Each
 * query's hits are returned in trec_eval's order. Scores are stored as `float` (aitl::hit):
 * scores written with more than ~7 significant digits may become equal and are then ordered
 * by id, as trec_eval orders ties; runs written by write_trec_run read back exactly.
 *
 * @throws io_error when the file does not exist or cannot be read
 * @throws parse_error (file, 1-based line, field "" for a wrong field count, else `qid`,
 *         `docid`, `rank` or `score`) on a malformed line or a duplicate document
 * @note Thread safety: a free function with no shared state.
 */
inline run read_trec_run(const std::filesystem::path& path) {
    namespace t = detail::eval_text;
    std::ifstream in = t::open_in(path, "read_trec_run");
    const std::string file = path.string();
    run result;
    std::map<std::string, std::vector<std::size_t>> lines;  // line of each hit, parallel to result
    std::string line;
    std::size_t line_no = 0;
    std::vector<std::string_view> f;
    while (t::next_line(in, line, line_no, file)) {
        if (t::is_blank(line)) continue;
        t::split_ws(line, f);
        if (f.size() != 6) {
            throw parse_error(file, line_no, "",
                              "wrong number of fields (got " + std::to_string(f.size()) +
                                  ", expected 6: qid Q0 docid rank score tag)");
        }
        long long rank = 0;
        if (!t::parse_int(f[3], rank)) {
            throw parse_error(file, line_no, "rank",
                              "not an integer (got " + t::quote(f[3]) + ", expected an integer)");
        }
        double score = 0.0;
        if (!t::parse_double(f[4], score)) {
            throw parse_error(file, line_no, "score",
                              "not a number (got " + t::quote(f[4]) + ", expected a decimal number)");
        }
        std::string qid(f[0]);
        lines[qid].push_back(line_no);
        result[std::move(qid)].push_back(hit{std::string(f[2]), static_cast<float>(score)});
    }
    if (in.bad()) {
        throw io_error("read_trec_run: read failed (got '" + file + "', expected a readable file)");
    }
    // Duplicates: report the earliest line that repeats a (query, document) pair.
    std::size_t dup_line = 0, first_line = 0;
    const std::string* dup_query = nullptr;
    const std::string* dup_doc = nullptr;
    std::vector<std::size_t> order;
    for (const auto& entry : result) {  // not a structured binding: clang < 16 cannot capture one in a lambda
        const std::string& qid = entry.first;
        const auto& list = entry.second;
        const std::vector<std::size_t>& at = lines[qid];
        order.resize(list.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return list[a].id != list[b].id ? list[a].id < list[b].id : at[a] < at[b];
        });
        for (std::size_t i = 1; i < order.size(); ++i) {
            const std::size_t prev = order[i - 1], cur = order[i];
            if (list[prev].id == list[cur].id && (dup_line == 0 || at[cur] < dup_line)) {
                dup_line = at[cur];
                first_line = at[prev];
                dup_query = &qid;
                dup_doc = &list[cur].id;
            }
        }
    }
    if (dup_line != 0) {
        throw parse_error(file, dup_line, "docid",
                          "duplicate document " + t::quote(*dup_doc) + " for query " +
                              t::quote(*dup_query) +
                              " (got a second line, expected one line per document; first on line " +
                              std::to_string(first_line) + ")");
    }
    for (auto& entry : result) trec_sort(entry.second);
    return result;
}

namespace detail {

inline void check_trec_tag(std::string_view tag) {
    if (!eval_text::is_token(tag)) {
        throw config_error("write_trec_run: bad run tag (got " + eval_text::quote(tag) +
                           ", expected a non-empty tag without whitespace)");
    }
}

inline void check_trec_id(std::string_view id, const char* what) {
    if (!eval_text::is_token(id) || !eval_text::is_readable_id(id)) {
        throw config_error(std::string("write_trec_run: ") + what + " id cannot be written (got " +
                           eval_text::quote(id) + ", expected a non-empty UTF-8 id without whitespace or a leading "
                           "byte-order mark)");
    }
}

inline void check_trec_score(std::string_view qid, std::string_view docid, double score) {
    if (score != score) {
        throw config_error("write_trec_run: NaN score for document " + eval_text::quote(docid) +
                           " of query " + eval_text::quote(qid) + " (got NaN, expected a number)");
    }
}

// Writes one query's entries, already in trec_eval order, with 1-based ranks.
template <class Entries>
void write_trec_query(std::ofstream& out, const std::string& qid, const Entries& entries,
                      std::string_view tag) {
    std::size_t rank = 0;
    for (const auto& [id, score] : entries) {
        out << qid << " Q0 " << id << ' ' << ++rank << ' ' << eval_text::format_score(score) << ' '
            << tag << '\n';
    }
}

}  // namespace detail

/**
 * @brief Writes a run as a TREC run file, one line `qid Q0 docid rank score tag` per hit.
 *
 * Queries are written in id order; each query's hits are written in trec_eval's order
 * (trec_sort), with ranks 1, 2, ... so that the rank column agrees with the order trec_eval
 * evaluates. Scores are written with the shortest text that reads back to the same value.
 * A query with no hits writes no line (the format cannot express it).
 *
 * @throws config_error on an empty or whitespace-holding query id, document id or tag, a
 *         NaN score, or a document listed twice for one query
 * @throws io_error when the file cannot be written
 * @note Thread safety: a free function with no shared state.
 */
inline void write_trec_run(const std::filesystem::path& path, const run& r,
                           std::string_view tag = "aitl") {
    detail::check_trec_tag(tag);
    std::map<std::string, std::vector<std::pair<std::string_view, float>>> sorted;
    for (const auto& [qid, list] : r) {
        if (list.empty()) continue;
        detail::check_trec_id(qid, "query");
        auto& entries = sorted[qid];
        entries.reserve(list.size());
        for (const hit& h : list) {
            detail::check_trec_id(h.id, "document");
            detail::check_trec_score(qid, h.id, h.score);
            entries.emplace_back(h.id, h.score);
        }
        std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
            return trec_before(a.first, a.second, b.first, b.second);
        });
        std::vector<std::string_view> ids;
        ids.reserve(entries.size());
        for (const auto& e : entries) ids.push_back(e.first);
        std::sort(ids.begin(), ids.end());
        auto dup = std::adjacent_find(ids.begin(), ids.end());
        if (dup != ids.end()) {
            throw config_error("write_trec_run: duplicate document " + detail::eval_text::quote(*dup) +
                               " for query " + detail::eval_text::quote(qid) +
                               " (got it twice, expected each document once per query)");
        }
    }
    std::ofstream out = detail::eval_text::open_out(path, "write_trec_run");
    for (const auto& [qid, entries] : sorted) detail::write_trec_query(out, qid, entries, tag);
    detail::eval_text::finish_out(out, path, "write_trec_run");
}

/// @brief Writes a pytrec_eval-shaped run (query -> document -> score) as a TREC run file;
/// same rules as the `run` overload, scores in double precision.
inline void write_trec_run(const std::filesystem::path& path, const scored_run& r,
                           std::string_view tag = "aitl") {
    detail::check_trec_tag(tag);
    std::map<std::string, std::vector<std::pair<std::string_view, double>>> sorted;
    for (const auto& [qid, docs] : r) {
        if (docs.empty()) continue;
        detail::check_trec_id(qid, "query");
        auto& entries = sorted[qid];
        entries.reserve(docs.size());
        for (const auto& [docid, score] : docs) {
            detail::check_trec_id(docid, "document");
            detail::check_trec_score(qid, docid, score);
            entries.emplace_back(docid, score);
        }
        std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
            return trec_before(a.first, a.second, b.first, b.second);
        });
    }
    std::ofstream out = detail::eval_text::open_out(path, "write_trec_run");
    for (const auto& [qid, entries] : sorted) detail::write_trec_query(out, qid, entries, tag);
    detail::eval_text::finish_out(out, path, "write_trec_run");
}

}  // namespace aitl
