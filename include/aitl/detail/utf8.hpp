#pragma once
// UTF-8 decoding and validation shared by the tokenizer, the analyzers and every loader that
// reports where a file stops being UTF-8.

#include <cstddef>
#include <string>
#include <string_view>

namespace aitl {
namespace detail {

/// One decoded code point: `length` bytes consumed (1 for an invalid byte), `valid` false
/// for a byte that does not start a well-formed UTF-8 sequence.
struct utf8_decoded {
    char32_t code_point;
    std::size_t length;
    bool valid;
};

inline utf8_decoded decode_utf8(std::string_view s, std::size_t i) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) return {b0, 1, true};
    const std::size_t n = s.size() - i;
    auto cont = [&](std::size_t k) {
        return k < n && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    };
    auto byte = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        if (cont(1)) return {(static_cast<char32_t>(b0 & 0x1F) << 6) | byte(1), 2, true};
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (cont(1) && cont(2)) {
            char32_t cp = (static_cast<char32_t>(b0 & 0x0F) << 12) | (byte(1) << 6) | byte(2);
            if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return {cp, 3, true};
        }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (cont(1) && cont(2) && cont(3)) {
            char32_t cp = (static_cast<char32_t>(b0 & 0x07) << 18) | (byte(1) << 12) | (byte(2) << 6) | byte(3);
            if (cp >= 0x10000 && cp <= 0x10FFFF) return {cp, 4, true};
        }
    }
    return {0xFFFD, 1, false};
}

inline void append_utf8(char32_t cp, std::string& out) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

/// @returns The byte offset of the first byte that does not start a well-formed UTF-8 sequence
/// (truncated, overlong, surrogate or stray continuation), or `text.size()` when all is valid.
inline std::size_t utf8_invalid_offset(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        if (static_cast<unsigned char>(text[i]) < 0x80) {
            ++i;
            continue;
        }
        const utf8_decoded d = decode_utf8(text, i);
        if (!d.valid) return i;
        i += d.length;
    }
    return text.size();
}

/// "0xFF 0xFE" for up to 4 bytes from `at` (for messages about bytes that are not UTF-8).
inline std::string hex_bytes(std::string_view text, std::size_t at, std::size_t count = 4) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (std::size_t i = at; i < text.size() && i < at + count; ++i) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (!out.empty()) out += ' ';
        out += "0x";
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

}  // namespace detail
}  // namespace aitl
