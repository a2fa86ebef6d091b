#pragma once
// Internals shared by the eval/ readers and writers (qrels.hpp, trec.hpp): line reading,
// field splitting, strict number parsing and formatting. Not public API.

#include <charconv>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../error.hpp"
#include "utf8.hpp"

namespace aitl::detail::eval_text {

/// Opens `path` for reading or throws io_error naming `who`.
inline std::ifstream open_in(const std::filesystem::path& path, const char* who) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw io_error(std::string(who) + ": cannot open file (got '" + path.string() +
                       "', expected an existing readable file)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw io_error(std::string(who) + ": cannot open file (got '" + path.string() +
                       "', expected a readable file)");
    }
    return in;
}

/// Opens `path` for writing (truncating) or throws io_error naming `who`.
inline std::ofstream open_out(const std::filesystem::path& path, const char* who) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw io_error(std::string(who) + ": cannot open file for writing (got '" + path.string() +
                       "', expected a writable path)");
    }
    return out;
}

/// Flushes and checks a finished output stream.
inline void finish_out(std::ofstream& out, const std::filesystem::path& path, const char* who) {
    out.flush();
    if (!out) {
        throw io_error(std::string(who) + ": write failed (got '" + path.string() +
                       "', expected a writable path with free space)");
    }
}

/// Reads one line, without its '\n' or '\r\n'; strips a UTF-8 byte-order mark on line 1.
/// A line that is not UTF-8 is a parse_error naming `file`, the line and the byte.
inline bool next_line(std::istream& in, std::string& line, std::size_t& line_no, const std::string& file) {
    if (!std::getline(in, line)) return false;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    const std::size_t bad = utf8_invalid_offset(line);
    if (bad != line.size())
        throw parse_error(file, line_no, "", "not valid UTF-8 (got byte " + hex_bytes(line, bad, 1) +
                                                 ", expected UTF-8 text) at byte " + std::to_string(bad) + " of the line");
    return true;
}

/// Whether an id can be written so that next_line reads it back: UTF-8, not starting with a
/// byte-order mark (which the first line of a file loses).
inline bool is_readable_id(std::string_view id) {
    return utf8_invalid_offset(id) == id.size() && id.substr(0, 3) != "\xEF\xBB\xBF";
}

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

inline bool is_blank(std::string_view s) {
    for (char c : s)
        if (!is_space(c)) return false;
    return true;
}

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

/// Splits on runs of whitespace (spaces and tabs), as trec_eval reads its files.
inline void split_ws(std::string_view line, std::vector<std::string_view>& out) {
    out.clear();
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i])) ++i;
        std::size_t j = i;
        while (j < line.size() && !is_space(line[j])) ++j;
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j;
    }
}

/// A line holding a tab is split on single tabs (fields trimmed, so ids may hold spaces);
/// any other line is split on runs of spaces.
inline void split_tsv_or_ws(std::string_view line, std::vector<std::string_view>& out) {
    if (line.find('\t') == std::string_view::npos) {
        split_ws(line, out);
        return;
    }
    out.clear();
    std::size_t start = 0;
    while (true) {
        std::size_t tab = line.find('\t', start);
        out.push_back(trim(line.substr(start, tab == std::string_view::npos ? line.size() - start
                                                                             : tab - start)));
        if (tab == std::string_view::npos) break;
        start = tab + 1;
    }
    // Trailing tabs produce empty last fields: drop them (editors and spreadsheets add them).
    while (out.size() > 1 && out.back().empty()) out.pop_back();
}

/// Strict integer: optional sign, decimal digits, nothing else; fits in Int.
template <class Int>
inline bool parse_int(std::string_view s, Int& value) {
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
        if (!s.empty() && s.front() == '-') return false;
    }
    if (s.empty()) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc() && ptr == s.data() + s.size();
}

/// Strict decimal floating point (C locale; "inf" accepted, NaN rejected).
inline bool parse_double(std::string_view s, double& value) {
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
        if (!s.empty() && s.front() == '-') return false;
    }
    if (s.empty()) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc() && ptr == s.data() + s.size() && value == value;
}

/// Shortest text that reads back to the same value.
template <class Float>
inline std::string format_score(Float value) {
    char buf[64];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    return ec == std::errc() ? std::string(buf, ptr) : std::to_string(value);
}

/// Quotes a field for an error message, cut to a readable length.
inline std::string quote(std::string_view s) {
    constexpr std::size_t max_len = 60;
    if (s.size() <= max_len) return "'" + std::string(s) + "'";
    return "'" + std::string(s.substr(0, max_len)) + "...'";
}

/// True when `id` can be written as one whitespace-free field.
inline bool is_token(std::string_view id) {
    if (id.empty()) return false;
    for (char c : id)
        if (is_space(c) || c == '\n' || c == '\r') return false;
    return true;
}

}  // namespace aitl::detail::eval_text
