#pragma once
/// @file text/tokenizer.hpp
/// @brief UTF-8-safe word tokenizer and the code-point helpers the analyzers build on.
///
/// A token is a maximal run of word code points (letters and digits of any script, plus
/// combining marks), where two word runs are also joined by
///  - an apostrophe (`'` or U+2019) between two word code points: "don't", "hotel's";
///  - a `.` or `,` between two ASCII digits: "4.5", "1,000".
/// (Xapian's TermGenerator and Lucene's StandardTokenizer keep these too.) Everything else
/// separates tokens: spaces, punctuation, symbols, emoji, and every byte that is not part of
/// a valid UTF-8 sequence (truncated, overlong, surrogate or stray continuation bytes). A
/// token is never cut inside a multi-byte sequence, and non-ASCII words (accents, CJK runs)
/// stay whole.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/utf8.hpp"

namespace aitl {
namespace detail {

inline bool in_range(char32_t c, char32_t lo, char32_t hi) noexcept { return c >= lo && c <= hi; }

/// Word code points: ASCII letters and digits, and every non-ASCII code point that is not in
/// a punctuation, symbol, space, control, emoji, private-use or special block. This keeps
/// letters, digits and combining marks of all scripts without a Unicode database.
inline bool is_word_code_point(char32_t c) noexcept {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c <= 0xBF) return c == 0xAA || c == 0xB5 || c == 0xBA;  // C1 controls, Latin-1 punct.
    if (c == 0xD7 || c == 0xF7) return false;                    // × ÷
    if (c < 0x0370) return true;                                 // Latin, IPA, modifiers, marks
    if (c == 0x037E || c == 0x0387) return false;                // Greek punctuation
    if (in_range(c, 0x055A, 0x055F) || c == 0x0589 || c == 0x058A) return false;  // Armenian
    if (c == 0x05BE || c == 0x05C0 || c == 0x05C3 || c == 0x05C6 || in_range(c, 0x05F3, 0x05F4))
        return false;  // Hebrew
    if (in_range(c, 0x0600, 0x060F) || c == 0x061B || in_range(c, 0x061D, 0x061F) ||
        in_range(c, 0x066A, 0x066D) || c == 0x06D4)
        return false;  // Arabic
    if (c == 0x0964 || c == 0x0965 || c == 0x0970 || c == 0x0E4F || c == 0x0E5A || c == 0x0E5B)
        return false;  // Devanagari danda, Thai signs
    if (in_range(c, 0x0F04, 0x0F12) || in_range(c, 0x104A, 0x104F) || in_range(c, 0x10FB, 0x10FB) ||
        in_range(c, 0x1360, 0x1368) || c == 0x1680 || in_range(c, 0x16EB, 0x16ED) ||
        in_range(c, 0x17D4, 0x17D6) || in_range(c, 0x1800, 0x180A))
        return false;  // Tibetan, Myanmar, Georgian, Ethiopic, Ogham, Runic, Khmer, Mongolian
    if (in_range(c, 0x2000, 0x2BFF)) return false;  // punctuation, super/subscripts, currency,
                                                    // letterlike, arrows, math, box, dingbats
    if (in_range(c, 0x2E00, 0x2E7F) || in_range(c, 0x2FF0, 0x2FFF)) return false;
    if (in_range(c, 0x3000, 0x303F))  // CJK symbols and punctuation, except letter-like marks
        return in_range(c, 0x3005, 0x3007) || in_range(c, 0x3021, 0x3029) ||
               in_range(c, 0x3031, 0x3035) || in_range(c, 0x303B, 0x303C);
    if (c == 0x30A0 || c == 0x30FB) return false;  // Katakana double hyphen, middle dot
    if (in_range(c, 0xA4FE, 0xA4FF) || in_range(c, 0xA60D, 0xA60F) || in_range(c, 0xA673, 0xA673) ||
        in_range(c, 0xA6F2, 0xA6F7) || in_range(c, 0xA874, 0xA877) || in_range(c, 0xA8CE, 0xA8CF))
        return false;
    if (in_range(c, 0xD800, 0xF8FF)) return false;  // surrogates, private use
    if (in_range(c, 0xFD3E, 0xFD3F) || in_range(c, 0xFE00, 0xFE6F) || c == 0xFEFF) return false;
    if (in_range(c, 0xFF00, 0xFFEF))  // fullwidth / halfwidth forms: keep letters and digits
        return in_range(c, 0xFF10, 0xFF19) || in_range(c, 0xFF21, 0xFF3A) ||
               in_range(c, 0xFF41, 0xFF5A) || in_range(c, 0xFF66, 0xFFDC);
    if (c >= 0xFFF0 && c <= 0xFFFF) return false;  // specials (incl. U+FFFD)
    if (in_range(c, 0x10100, 0x1013F) || in_range(c, 0x1D000, 0x1D24F) ||
        in_range(c, 0x1F000, 0x1FBFF))
        return false;  // Aegean numbers, musical symbols, emoji, pictographs, symbols
    if (c >= 0xE0000) return false;  // tags, variation selectors supplement, private use
    return true;
}

inline bool is_apostrophe(char32_t c) noexcept { return c == U'\'' || c == 0x2019; }

inline bool is_ascii_digit(char32_t c) noexcept { return c >= '0' && c <= '9'; }

/// Simple lower-case mapping for Latin (incl. Extended-A and Vietnamese), Greek, Cyrillic,
/// Armenian and fullwidth Latin; other code points are returned unchanged.
inline char32_t to_lower(char32_t c) noexcept {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c < 0x100) return (in_range(c, 0xC0, 0xDE) && c != 0xD7) ? c + 0x20 : c;
    if (c < 0x180) {
        if (c == 0x130) return U'i';
        if (c == 0x178) return 0xFF;
        if ((in_range(c, 0x100, 0x12F) || in_range(c, 0x132, 0x137) || in_range(c, 0x14A, 0x177)) &&
            (c % 2 == 0))
            return c + 1;
        if ((in_range(c, 0x139, 0x148) || in_range(c, 0x179, 0x17E)) && (c % 2 == 1)) return c + 1;
        return c;
    }
    if (c < 0x370) return c;
    if (c < 0x400) {
        if (in_range(c, 0x391, 0x3AB) && c != 0x3A2) return c + 0x20;
        if (c == 0x386) return 0x3AC;
        if (in_range(c, 0x388, 0x38A)) return c + 0x25;
        if (c == 0x38C) return 0x3CC;
        if (c == 0x38E || c == 0x38F) return c + 0x3F;
        return c;
    }
    if (c < 0x530) {
        if (in_range(c, 0x410, 0x42F)) return c + 0x20;
        if (in_range(c, 0x400, 0x40F)) return c + 0x50;
        if ((in_range(c, 0x460, 0x481) || in_range(c, 0x48A, 0x4BF) || in_range(c, 0x4D0, 0x52F)) &&
            (c % 2 == 0))
            return c + 1;
        if (in_range(c, 0x4C1, 0x4CE) && (c % 2 == 1)) return c + 1;
        if (c == 0x4C0) return 0x4CF;
        return c;
    }
    if (in_range(c, 0x531, 0x556)) return c + 0x30;
    if ((in_range(c, 0x1E00, 0x1E95) || in_range(c, 0x1EA0, 0x1EFF)) && (c % 2 == 0)) return c + 1;
    if (in_range(c, 0xFF21, 0xFF3A)) return c + 0x20;
    return c;
}

}  // namespace detail

/**
 * @brief Calls `fn(std::string_view token)` for every token of `text`, in order.
 *
 * Tokens are substrings of `text` (no copy, case kept); see the file comment for the rules.
 * Invalid UTF-8 never throws: bad bytes act as separators.
 * @code
 * aitl::for_each_token("Café au lait, 4.5€!", [](std::string_view t) { ... });
 * // "Café", "au", "lait", "4.5"
 * @endcode
 */
template <class Fn>
void for_each_token(std::string_view text, Fn&& fn) {
    const std::size_t n = text.size();
    std::size_t i = 0;
    std::size_t start = 0;
    bool in_token = false;
    bool prev_digit = false;
    while (i < n) {
        const auto byte = static_cast<unsigned char>(text[i]);
        detail::utf8_decoded d = byte < 0x80 ? detail::utf8_decoded{byte, 1, true} : detail::decode_utf8(text, i);
        const bool word = d.valid && detail::is_word_code_point(d.code_point);
        if (word) {
            if (!in_token) {
                start = i;
                in_token = true;
            }
            prev_digit = detail::is_ascii_digit(d.code_point);
            i += d.length;
            continue;
        }
        if (in_token && d.valid && i + d.length < n) {
            const bool apostrophe = detail::is_apostrophe(d.code_point);
            const bool number_sep = (d.code_point == U'.' || d.code_point == U',') && prev_digit;
            if (apostrophe || number_sep) {
                detail::utf8_decoded next = detail::decode_utf8(text, i + d.length);
                const bool joins = next.valid && (apostrophe ? detail::is_word_code_point(next.code_point)
                                                             : detail::is_ascii_digit(next.code_point));
                if (joins) {
                    i += d.length;
                    continue;
                }
            }
        }
        if (in_token) {
            fn(text.substr(start, i - start));
            in_token = false;
        }
        prev_digit = false;
        i += d.length;
    }
    if (in_token) fn(text.substr(start, n - start));
}

/**
 * @brief Splits UTF-8 text into word tokens (case kept, no stop words, no stemming).
 * @returns The tokens in order, each a copy of a substring of `text`.
 * @code
 * aitl::tokenize("Hello, wörld! 東京タワー 🙂 don't");  // {"Hello", "wörld", "東京タワー", "don't"}
 * @endcode
 */
inline std::vector<std::string> tokenize(std::string_view text) {
    std::vector<std::string> out;
    for_each_token(text, [&](std::string_view t) { out.emplace_back(t); });
    return out;
}

/// @returns Whether `text` is well-formed UTF-8.
inline bool is_valid_utf8(std::string_view text) noexcept { return detail::utf8_invalid_offset(text) == text.size(); }

}  // namespace aitl
