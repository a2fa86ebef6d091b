#pragma once
/// @file text/escape.hpp
/// @brief Escaping of untrusted text (customer queries, agents' notes, document ids, names read
/// from files) for Markdown and HTML output: `escape_markdown` and `escape_html`.
///
/// Every aitl report that writes such text into Markdown (the knowledge-gap report, the gate's
/// decision table) goes through `escape_markdown`; the Python bindings are
/// `aitl.escape_markdown` and `aitl.escape_html`, so Python code escapes with the same rules.
///
/// The output of `escape_markdown` is inert both as Markdown and once a CommonMark/GFM renderer
/// turns it into HTML with raw HTML enabled: no HTML tag or comment, no link, image, autolink
/// (`<...>`, GFM's bare `http://`, `www.` and e-mail autolinks, linkify's `//host.tld`),
/// heading, list, block quote, thematic break, code span, emphasis, strikethrough, math or
/// table-cell break can form, wherever on a line the text is placed, and the rendered text
/// reads as the input.

#include <cstddef>
#include <string>
#include <string_view>

#include "../detail/utf8.hpp"

namespace aitl {
namespace detail {

// Control characters (C0, DEL, C1) and the Unicode line/paragraph separators.
inline bool escape_is_control(char32_t c) noexcept {
    return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x2028 || c == 0x2029;
}

// The code points of `text`: invalid UTF-8 as U+FFFD (one per bad byte), controls as `ctrl`
// (tab, LF and CR kept when `keep_lines`).
inline std::u32string escape_decode(std::string_view text, bool keep_lines) {
    std::u32string cps;
    cps.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const utf8_decoded d = decode_utf8(text, i);
        i += d.length;
        char32_t c = d.code_point;
        if (escape_is_control(c) && !(keep_lines && (c == '\t' || c == '\n' || c == '\r'))) c = ' ';
        cps.push_back(c);
    }
    return cps;
}

inline bool escape_is_digit(char32_t c) noexcept { return c >= '0' && c <= '9'; }

// Whether cps[i] follows "www" (any case): GFM links "www." after any delimiter, whatever follows.
inline bool escape_after_www(const std::u32string& cps, std::size_t i) noexcept {
    if (i < 3) return false;
    for (std::size_t k = i - 3; k < i; ++k)
        if (cps[k] != 'w' && cps[k] != 'W') return false;
    return true;
}

}  // namespace detail

/**
 * @brief Escapes untrusted text for inline use in Markdown (a table cell, a list item, a
 * heading, a paragraph; at the start of a line or anywhere in it).
 *
 * The rules, applied to the text's code points:
 *  - invalid UTF-8 becomes U+FFFD (one per bad byte); control characters (C0 including tab, CR
 *    and LF, DEL, C1) and U+2028/U+2029 become a space, so the text stays on one line;
 *  - `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;` (no raw HTML, no `<...>` autolink, no
 *    entity reference of the input is decoded);
 *  - `` \ ` * _ [ ] { } | ~ # $ `` are backslash-escaped (no code span, emphasis, link, image,
 *    footnote, attribute list, table-cell break, strikethrough, heading or math);
 *  - `:` is backslash-escaped unless a space, a digit or the end follows (`https\://`,
 *    `javascript\:`; "10:30" and "note: " stay); `@` unless a space or the end follows, or a
 *    number that ends the word ("recall@75" stays, `user\@host`, `a\@1.2.3.4`); `.` unless a
 *    space, the end or ASCII punctuation other than `_` and `-` follows, or it stands between
 *    two digits, and always after "www" (`evil\.example`, `www\.`; "4.5", "end." and
 *    "..." stay): no bare URL or e-mail autolink forms;
 *  - leading and trailing spaces are dropped (four at the start of a line would make a code
 *    block); at the start, `-`, `+`, `=`, `:` and a `.` or `)` that follows a run of digits and
 *    precedes a space or the end are backslash-escaped (no list, thematic break or setext
 *    underline).
 *
 * `"` and `'` are kept: outside link titles and HTML attributes, which cannot form, they mean
 * nothing to Markdown. Rendered by a CommonMark renderer (cmark, markdown-it, mistune), the
 * text reads as the input after the first rule and the trimming; renderers without
 * CommonMark's escapes of `:`, `@`, `=`, `$`, `~` (Python-Markdown) show those backslashes,
 * still inert. One construct survives: cmark-gfm's e-mail autolink (its text is merged
 * before it looks), which turns `user@host.tld` into a `mailto:` link.
 *
 * @param text any bytes (UTF-8 expected).
 * @returns Valid UTF-8 without control characters.
 * @note Thread safety: a pure function.
 *
 * @code
 * aitl::escape_markdown("[click](javascript:alert(1)) <b>");
 * // "\\[click\\](javascript\\:alert(1)) &lt;b&gt;"
 * @endcode
 */
inline std::string escape_markdown(std::string_view text) {
    std::u32string cps = detail::escape_decode(text, false);
    const std::size_t first = cps.find_first_not_of(U' ');
    cps = first == std::u32string::npos ? std::u32string() : cps.substr(first, cps.find_last_not_of(U' ') + 1 - first);
    std::string out;
    out.reserve(text.size() + text.size() / 8 + 8);
    bool lead_digits = false;  // the text so far is one or more digits
    for (std::size_t i = 0; i < cps.size(); ++i) {
        const bool start = i == 0;
        const char32_t c = cps[i];
        const char32_t prev = i > 0 ? cps[i - 1] : U' ';
        const char32_t next = i + 1 < cps.size() ? cps[i + 1] : U' ';  // the end acts as a space
        const bool next_space = next == U' ';
        const bool next_digit = detail::escape_is_digit(next);
        const bool next_punct = next > ' ' && next < 0x7F && !next_digit && !(next >= 'A' && next <= 'Z') &&
                                !(next >= 'a' && next <= 'z') && next != '_' && next != '-';
        bool escape = false;
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '\\': case '`': case '*': case '_': case '[': case ']': case '{': case '}':
            case '|': case '~': case '#': case '$':
                escape = true;
                break;
            case ':': escape = start || !(next_space || next_digit); break;
            case '@': {  // kept before a number that ends the word ("recall@75"), not before a host
                std::size_t j = i + 1;
                while (j < cps.size() && detail::escape_is_digit(cps[j])) ++j;
                const char32_t after = j < cps.size() ? cps[j] : U' ';
                escape = !(next_space || (j > i + 1 && after != '.' && after != '-' && after != '_' &&
                                          !(after >= 'A' && after <= 'Z') && !(after >= 'a' && after <= 'z') &&
                                          after < 0x80));
                break;
            }
            case '.':
                escape = (lead_digits && next_space) || detail::escape_after_www(cps, i) ||
                         !(next_space || next_punct || (detail::escape_is_digit(prev) && next_digit));
                break;
            case ')': escape = lead_digits && next_space; break;
            case '-': case '+': case '=': escape = start; break;
            default: break;
        }
        if (c != '&' && c != '<' && c != '>') {
            if (escape) out += '\\';
            detail::append_utf8(c, out);
        }
        const bool digit = detail::escape_is_digit(c);
        lead_digits = (start || lead_digits) && digit;
    }
    return out;
}

/**
 * @brief Escapes untrusted text for HTML element content and quoted attribute values.
 *
 * `&`, `<`, `>`, `"`, `'` become `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`; invalid UTF-8
 * becomes U+FFFD (one per bad byte); control characters other than tab, LF and CR (C0, DEL, C1)
 * become a space. Not for unquoted attributes, URLs, `<script>` or `<style>` content.
 *
 * @param text any bytes (UTF-8 expected).
 * @returns Valid UTF-8.
 * @note Thread safety: a pure function.
 *
 * @code
 * aitl::escape_html("<img src=x onerror='alert(1)'>");
 * // "&lt;img src=x onerror=&#39;alert(1)&#39;&gt;"
 * @endcode
 */
inline std::string escape_html(std::string_view text) {
    const std::u32string cps = detail::escape_decode(text, true);
    std::string out;
    out.reserve(text.size() + text.size() / 8 + 8);
    for (const char32_t c : cps) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: detail::append_utf8(c, out); break;
        }
    }
    return out;
}

}  // namespace aitl
