#pragma once
/// @file generate/sentences.hpp
/// @brief Sentence splitting and `[doc_id]` citation markers: what generators write and what
/// the reward model and the simulated agents read back.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../error.hpp"

namespace aitl {
namespace detail {

inline bool ascii_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

inline bool ascii_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }

// Length of a CJK sentence end (U+3002 。 U+FF01 ！ U+FF1F ？) starting at text[i], else 0.
inline std::size_t wide_sentence_end(std::string_view text, std::size_t i) noexcept {
    if (i + 3 > text.size()) return 0;
    const auto b0 = static_cast<unsigned char>(text[i]), b1 = static_cast<unsigned char>(text[i + 1]),
               b2 = static_cast<unsigned char>(text[i + 2]);
    if (b0 == 0xE3 && b1 == 0x80 && b2 == 0x82) return 3;
    if (b0 == 0xEF && b1 == 0xBC && (b2 == 0x81 || b2 == 0x9F)) return 3;
    return 0;
}

// True when the word ending just before the '.' at `dot` is an abbreviation ("e.g.", "Mr.",
// "No.") or a single letter (an initial): no sentence ends there.
inline bool abbreviation_before(std::string_view text, std::size_t dot) noexcept {
    std::size_t start = dot;
    while (start > 0 && !ascii_space(text[start - 1]) && text[start - 1] != '(' && text[start - 1] != '"') --start;
    std::string word;
    for (std::size_t i = start; i < dot; ++i) {
        const char c = text[i];
        if (c == '.') continue;
        word.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
    }
    if (word.size() == 1 && ascii_lower(word[0])) return true;
    static const char* const known[] = {"e.g", "eg", "i.e", "ie", "etc", "vs", "mr", "mrs", "ms", "dr", "st",
                                        "approx", "incl", "cf", "jr", "sr", "fig", "ca"};
    for (const char* k : known)
        if (word == k) return true;
    return false;
}

// The marker id of "[id]" starting at text[i] (which is '['), or an empty view.
inline std::string_view marker_at(std::string_view text, std::size_t i) noexcept {
    std::size_t j = i + 1;
    while (j < text.size() && text[j] != ']' && text[j] != '[' && !ascii_space(text[j])) ++j;
    if (j >= text.size() || text[j] != ']' || j == i + 1) return {};
    return text.substr(i + 1, j - i - 1);
}

}  // namespace detail

/**
 * @brief The sentences of a text as byte ranges `[first, second)` into it, whitespace trimmed.
 *
 * A sentence ends after `.`, `!` or `?` (with any closing quotes or brackets after them)
 * followed by whitespace or the end of the text — not after an abbreviation such as "e.g." or
 * "Mr." or a single-letter initial, and not inside "4.95" —, after `。`, `！` or `？`, and at
 * every line break. Splitting happens at ASCII bytes or whole UTF-8 sequences only, so every
 * range is valid UTF-8 when the text is.
 * @note Thread safety: a pure function.
 */
inline std::vector<std::pair<std::size_t, std::size_t>> sentence_spans(std::string_view text) {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    std::size_t start = 0;
    auto emit = [&](std::size_t end) {
        std::size_t a = start, b = end;
        while (a < b && detail::ascii_space(text[a])) ++a;
        while (b > a && detail::ascii_space(text[b - 1])) --b;
        if (b > a) out.emplace_back(a, b);
        start = end;
    };
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        if (c == '\n') {
            emit(i);
            ++i;
            continue;
        }
        if (const std::size_t w = detail::wide_sentence_end(text, i)) {
            i += w;
            emit(i);
            continue;
        }
        if (c == '.' || c == '!' || c == '?') {
            std::size_t j = i + 1;
            while (j < text.size() && (text[j] == '.' || text[j] == '!' || text[j] == '?')) ++j;
            while (j < text.size() && (text[j] == '"' || text[j] == '\'' || text[j] == ')' || text[j] == ']')) ++j;
            const bool at_break = j == text.size() || detail::ascii_space(text[j]);
            if (at_break && !(c == '.' && j == i + 1 && detail::abbreviation_before(text, i))) {
                emit(j);
            }
            i = j;
            continue;
        }
        ++i;
    }
    emit(text.size());
    return out;
}

/**
 * @brief The sentences of a text (see `sentence_spans` for the rules).
 * @code
 * aitl::split_sentences("Returns are free. E.g. within 30 days!\nCall us.");
 * // {"Returns are free.", "E.g. within 30 days!", "Call us."}
 * @endcode
 * @note Thread safety: a pure function.
 */
inline std::vector<std::string> split_sentences(std::string_view text) {
    std::vector<std::string> out;
    for (const auto& [a, b] : sentence_spans(text)) out.emplace_back(text.substr(a, b - a));
    return out;
}

/// @returns true when `id` can be written as a citation marker: non-empty, without whitespace
/// and without `[` or `]`.
inline bool citable_id(std::string_view id) noexcept {
    if (id.empty()) return false;
    for (char c : id)
        if (c == '[' || c == ']' || detail::ascii_space(c)) return false;
    return true;
}

/**
 * @brief The citation marker of a document: `"[" + doc_id + "]"`.
 * @throws config_error when the id cannot be cited (empty, whitespace or brackets in it).
 */
inline std::string format_citation(std::string_view doc_id) {
    if (!citable_id(doc_id))
        throw config_error("format_citation: doc id cannot be written as a marker (got '" + std::string(doc_id) +
                           "', expected a non-empty id without whitespace or brackets)");
    std::string out;
    out.reserve(doc_id.size() + 2);
    out.push_back('[');
    out.append(doc_id);
    out.push_back(']');
    return out;
}

/**
 * @brief The distinct ids of the `[doc_id]` markers in a text, in order of first appearance.
 *
 * A marker is `[` + one or more characters that are neither whitespace nor brackets + `]`
 * (the form `sim.citations` and the reward model read); "[see above]" is not a marker.
 * @code
 * aitl::citation_markers("Free over 50 [delivery-costs]. [faq:1][delivery-costs]");  // {"delivery-costs", "faq:1"}
 * @endcode
 * @note Thread safety: a pure function.
 */
inline std::vector<std::string> citation_markers(std::string_view text) {
    std::vector<std::string> out;
    for (std::size_t i = text.find('['); i != std::string_view::npos; i = text.find('[', i + 1)) {
        const std::string_view id = detail::marker_at(text, i);
        if (id.empty()) continue;
        bool seen = false;
        for (const auto& o : out) seen = seen || o == id;
        if (!seen) out.emplace_back(id);
    }
    return out;
}

/// @returns `text` without its `[doc_id]` markers, runs of whitespace collapsed to one space and
/// trimmed (a space left before `.`, `,`, `!`, `?`, `;` or `:` is removed).
/// @note Thread safety: a pure function.
inline std::string strip_citations(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool space = false;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == '[') {
            const std::string_view id = detail::marker_at(text, i);
            if (!id.empty()) {
                i += id.size() + 2;
                continue;
            }
        }
        if (detail::ascii_space(text[i])) {
            space = !out.empty();
        } else {
            const char c = text[i];
            const bool punct = c == '.' || c == ',' || c == '!' || c == '?' || c == ';' || c == ':';
            if (space && !punct) out.push_back(' ');
            space = false;
            out.push_back(c);
        }
        ++i;
    }
    return out;
}

/// @returns The number of whitespace-separated words of `text`.
inline std::size_t count_words(std::string_view text) noexcept {
    std::size_t n = 0;
    bool in_word = false;
    for (char c : text) {
        const bool s = detail::ascii_space(c);
        n += !s && !in_word;
        in_word = !s;
    }
    return n;
}

}  // namespace aitl
