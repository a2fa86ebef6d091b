#pragma once
/// @file eval/qrels.hpp
/// @brief Relevance judgements ("qrels"): query id -> document id -> graded relevance, with a
/// reader for BEIR qrels TSV and TREC qrels files and a writer for both.

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/eval_text.hpp"
#include "../error.hpp"

namespace aitl {

/**
 * @brief Relevance judgements: query id -> document id -> graded relevance.
 *
 * Grades are integers as in trec_eval: a grade >= the relevance level (1 by default) is
 * relevant, 0 is judged non-relevant, a negative grade is "judged unjudged" (trec_eval's -1)
 * and counts as non-relevant. nDCG uses the grade itself as the gain (see eval/metrics.hpp).
 * A query whose inner map is empty is treated as absent (as pytrec_eval does).
 *
 * @code
 * aitl::qrels q = aitl::read_qrels("beir/scifact/qrels/test.tsv");
 * int grade = q.at("1").at("31715818");
 * @endcode
 */
using qrels = std::map<std::string, std::map<std::string, int>>;

/// @brief On-disk layouts of qrels.
enum class qrels_format {
    beir,  ///< `query-id<TAB>corpus-id<TAB>score`, one header line
    trec   ///< `qid iter docid rel` (iter ignored, written as 0), no header
};

/**
 * @brief Reads a qrels file, BEIR TSV or TREC, detected from the first non-blank line.
 *
 * Format rules:
 *  - A line that holds a tab is split on tabs (fields trimmed, so BEIR ids may contain
 *    spaces) when that gives the expected number of columns; otherwise, and for lines without
 *    a tab, on runs of whitespace (as trec_eval splits). Blank lines are skipped; `\r\n`
 *    endings and a UTF-8 byte-order mark are accepted.
 *  - 3 columns -> BEIR `query-id corpus-id score`. The first line is a header and is skipped
 *    when its score column is not an integer (BEIR files start with
 *    `query-id<TAB>corpus-id<TAB>score`; a file without a header loses no judgement).
 *  - 4 columns -> TREC `qid iter docid rel`; `iter` is ignored (as trec_eval does).
 *  - Every line must have the column count of the first one. Ids must be non-empty; the
 *    grade must be a decimal integer (optional sign; "1.0" is rejected, as BEIR's loader does).
 *  - Duplicate (query, document) pairs: trec_eval refuses any duplicate ("duplicate docs");
 *    aitl accepts an exact repeat (same grade, no effect on any metric, which is also what
 *    BEIR's and pytrec_eval's dict loaders produce) and rejects a repeat with a different
 *    grade as a parse_error on the later line.
 *
 * @param path file to read
 * @returns the judgements (an empty qrels when the file holds no judgement line)
 * @throws io_error when the file does not exist or cannot be read
 * @throws parse_error (file, 1-based line, field `query-id`/`corpus-id`/`score` for BEIR,
 *         `qid`/`docid`/`rel` for TREC, "" for a wrong column count) on a malformed line
 * @note Thread safety: a free function with no shared state.
 */
inline qrels read_qrels(const std::filesystem::path& path) {
    namespace t = detail::eval_text;
    std::ifstream in = t::open_in(path, "read_qrels");
    const std::string file = path.string();
    qrels result;
    std::string line;
    std::size_t line_no = 0;
    std::size_t columns = 0;  // 0 until the first non-blank line fixes the format
    std::vector<std::string_view> f;
    while (t::next_line(in, line, line_no, file)) {
        if (t::is_blank(line)) continue;
        t::split_tsv_or_ws(line, f);
        const bool tab_split_fits = columns == 0 ? (f.size() == 3 || f.size() == 4) : f.size() == columns;
        if (!tab_split_fits) t::split_ws(line, f);  // e.g. TREC files mixing tabs and spaces
        if (columns == 0) {
            if (f.size() != 3 && f.size() != 4) {
                throw parse_error(file, line_no, "",
                                  "wrong number of columns (got " + std::to_string(f.size()) +
                                      ", expected 3 for BEIR `query-id corpus-id score` or 4 "
                                      "for TREC `qid iter docid rel`)");
            }
            columns = f.size();
            int ignored = 0;
            if (columns == 3 && !t::parse_int(f[2], ignored)) continue;  // BEIR header line
        } else if (f.size() != columns) {
            throw parse_error(file, line_no, "",
                              "wrong number of columns (got " + std::to_string(f.size()) +
                                  ", expected " + std::to_string(columns) + " as on the first line)");
        }
        const bool beir = columns == 3;
        const std::string_view qid = f[0], docid = beir ? f[1] : f[2], grade_text = f[columns - 1];
        const char* qid_field = beir ? "query-id" : "qid";
        const char* doc_field = beir ? "corpus-id" : "docid";
        const char* grade_field = beir ? "score" : "rel";
        if (qid.empty()) throw parse_error(file, line_no, qid_field, "empty (expected a query id)");
        if (docid.empty()) {
            throw parse_error(file, line_no, doc_field, "empty (expected a document id)");
        }
        int grade = 0;
        if (!t::parse_int(grade_text, grade)) {
            throw parse_error(file, line_no, grade_field,
                              "not an integer (got " + t::quote(grade_text) +
                                  ", expected an integer relevance grade)");
        }
        auto& judged = result[std::string(qid)];
        auto [it, inserted] = judged.emplace(std::string(docid), grade);
        if (!inserted && it->second != grade) {
            throw parse_error(file, line_no, grade_field,
                              "conflicting duplicate judgement of document " + t::quote(docid) +
                                  " for query " + t::quote(qid) + " (got " + std::to_string(grade) +
                                  ", expected " + std::to_string(it->second) +
                                  " as judged on an earlier line)");
        }
    }
    if (in.bad()) {
        throw io_error("read_qrels: read failed (got '" + file + "', expected a readable file)");
    }
    return result;
}

/**
 * @brief Writes qrels as BEIR TSV (with the `query-id corpus-id score` header) or TREC
 * (`qid 0 docid rel`), queries and documents in id order; queries with no judgement write
 * nothing. read_qrels reads the file back to an equal qrels.
 *
 * @throws config_error when an id is empty or cannot be written as one field (BEIR: holds a
 *         tab or newline; TREC: holds any whitespace)
 * @throws io_error when the file cannot be written
 * @note Thread safety: a free function with no shared state.
 */
inline void write_qrels(const std::filesystem::path& path, const qrels& judgements,
                        qrels_format format = qrels_format::beir) {
    namespace t = detail::eval_text;
    const bool beir = format == qrels_format::beir;
    auto check = [&](const std::string& id, const char* what) {
        bool ok = beir ? (!id.empty() && id.find_first_of("\t\n\r") == std::string::npos &&
                          t::trim(id).size() == id.size())
                       : t::is_token(id);
        if (!ok || !t::is_readable_id(id)) {
            throw config_error(std::string("write_qrels: ") + what + " id cannot be written (got " +
                               t::quote(id) + ", expected a non-empty UTF-8 id without a leading byte-order mark, " +
                               (beir ? "tabs, newlines or edge spaces)" : "whitespace)"));
        }
    };
    for (const auto& [qid, judged] : judgements) {
        if (judged.empty()) continue;
        check(qid, "query");
        for (const auto& entry : judged) check(entry.first, "document");
    }
    std::ofstream out = t::open_out(path, "write_qrels");
    if (beir) out << "query-id\tcorpus-id\tscore\n";
    for (const auto& [qid, judged] : judgements) {
        for (const auto& [docid, grade] : judged) {
            if (beir) {
                out << qid << '\t' << docid << '\t' << grade << '\n';
            } else {
                out << qid << " 0 " << docid << ' ' << grade << '\n';
            }
        }
    }
    t::finish_out(out, path, "write_qrels");
}

/// @returns The number of (query, document) judgements in `judgements`.
inline std::size_t judgement_count(const qrels& judgements) {
    std::size_t n = 0;
    for (const auto& entry : judgements) n += entry.second.size();
    return n;
}

}  // namespace aitl
