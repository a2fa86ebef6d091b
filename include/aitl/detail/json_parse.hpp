#pragma once
// The one way aitl parses JSON text (files, store rows, manifests, model headers): the text is
// checked first for UTF-8 and for nesting deeper than `json_max_depth`, so hostile input gets a
// short parse_error naming the byte offset instead of a stack overflow or a message that echoes
// megabytes of raw bytes. Values built in memory (C++ callers, Python dicts) are checked with
// `check_json_depth`, which does not recurse either.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "utf8.hpp"

namespace aitl {

/// Nesting levels (arrays and objects) accepted in any JSON aitl reads or stores. Real records
/// nest a handful of levels; the limit keeps recursive serialisers far from the stack's end.
inline constexpr std::size_t json_max_depth = 128;

namespace detail {

/// Where and why a JSON text is refused before parsing.
struct json_text_problem {
    std::size_t byte = 0;  // 0-based offset in the text
    std::string what;      // "" = no problem
};

/// Checks UTF-8 and the nesting depth in one pass (strings and escapes are skipped).
inline json_text_problem check_json_text(std::string_view text, std::size_t max_depth = json_max_depth) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            const utf8_decoded d = decode_utf8(text, i);
            if (!d.valid)
                return {i, "not valid UTF-8 (got byte " + hex_bytes(text, i, 1) + ", expected UTF-8 text)"};
            i += d.length - 1;
            continue;
        }
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return {i, "nested too deeply (got more than " + std::to_string(max_depth) + " levels, expected at most " +
                               std::to_string(max_depth) + ")"};
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return {};
}

/// nlohmann's message without its "last read: '…'" echo of the input, at most ~160 bytes.
inline std::string short_json_error(const nlohmann::json::exception& e) {
    std::string s = e.what();
    const auto last = s.find("; last read: '");
    if (last != std::string::npos) {
        const auto end = s.find("'; ", last + 14);
        s = s.substr(0, last) + (end == std::string::npos ? std::string() : "; " + s.substr(end + 3));
    }
    if (s.size() > 160) {
        std::size_t n = 160;
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
        s = s.substr(0, n) + "...";
    }
    return s;
}

/**
 * Parses one JSON value. Every problem is a parse_error(file, line, field, message) whose
 * message starts with `where` and names the byte offset: invalid UTF-8, nesting deeper than
 * `json_max_depth`, or a syntax error. A UTF-8 byte-order mark at the start is skipped.
 */
inline nlohmann::json parse_json(std::string_view text, const std::string& file, std::size_t line,
                                 std::string_view where, const std::string& field = "") {
    std::size_t bom = 0;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") {
        text.remove_prefix(3);
        bom = 3;
    }
    // A whole file (line 0) is reported at the line of the offending byte.
    auto at_line = [&](std::size_t byte) {
        if (line != 0) return line;
        std::size_t n = 1;
        for (std::size_t i = 0; i < byte && i < text.size(); ++i) n += text[i] == '\n';
        return n;
    };
    const json_text_problem p = check_json_text(text);
    if (!p.what.empty())
        throw parse_error(file, at_line(p.byte), field,
                          std::string(where) + ": " + p.what + " at byte " + std::to_string(p.byte + bom) +
                              (line != 0 ? " of the line" : ""));
    try {
        return nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error& e) {
        throw parse_error(file, at_line(e.byte == 0 ? 0 : e.byte - 1), field,
                          std::string(where) + ": not valid JSON (" + short_json_error(e) + ")");
    } catch (const nlohmann::json::exception& e) {
        throw parse_error(file, line, field, std::string(where) + ": not valid JSON (" + short_json_error(e) + ")");
    }
}

/// @returns The nesting depth of `j` (a scalar is 0, `[]` is 1), without recursion; stops
/// counting once `limit` is exceeded.
inline std::size_t json_depth(const nlohmann::json& j, std::size_t limit = json_max_depth) {
    std::size_t deepest = 0;
    std::vector<std::pair<const nlohmann::json*, std::size_t>> todo{{&j, 0}};
    while (!todo.empty()) {
        auto [v, d] = todo.back();
        todo.pop_back();
        if (!v->is_structured()) continue;
        if (++d > deepest) deepest = d;
        if (deepest > limit) break;
        for (const auto& x : *v) todo.emplace_back(&x, d);
    }
    return deepest;
}

/// Throws config_error when `j` nests deeper than `json_max_depth`.
inline void check_json_depth(const nlohmann::json& j, std::string_view where, std::string_view field) {
    if (json_depth(j) > json_max_depth)
        throw config_error(std::string(where) + ": field '" + std::string(field) + "' nested too deeply (got more than " +
                           std::to_string(json_max_depth) + " levels, expected at most " +
                           std::to_string(json_max_depth) + ")");
}

}  // namespace detail
}  // namespace aitl
