#pragma once
/// @file text/ngram.hpp
/// @brief Hashed word n-grams and character n-grams → sparse feature vectors (the "hashing
/// trick"). The hash is FNV-1a 64 with a splitmix64 finaliser: fixed by this file, the same
/// on every platform and standard library (never std::hash).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "tokenizer.hpp"

namespace aitl {

/// @brief FNV-1a 64-bit hash of `bytes`, continuing from `h` (default: the FNV offset basis).
constexpr std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h = 14695981039346656037ull) noexcept {
    for (char c : bytes) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

/// @brief splitmix64 finaliser: spreads the bits of `x` (bijective).
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/// @brief One non-zero coordinate of a sparse vector.
struct sparse_feature {
    std::uint32_t index;
    float value;
    friend bool operator==(const sparse_feature& a, const sparse_feature& b) {
        return a.index == b.index && a.value == b.value;
    }
};

/// @brief Sparse vector: features sorted by index, each index once.
using sparse_vector = std::vector<sparse_feature>;

/**
 * @brief Settings of `hashed_ngrams`.
 *
 * Word n-grams of order 1..`word_ngram_max` (0 disables them) and character n-grams of
 * `char_ngram_min`..`char_ngram_max` code points over each token wrapped as "<token>"
 * (fastText style; `char_ngram_max` = 0 disables them), hashed into `buckets` with a random
 * sign (so collisions cancel on average instead of adding up).
 */
struct ngram_config {
    std::size_t word_ngram_max = 2;
    std::size_t char_ngram_min = 3;
    std::size_t char_ngram_max = 5;
    std::uint32_t buckets = 1u << 15;
    std::uint64_t seed = 0;
};

/// @throws config_error when a range is empty or inverted, or both n-gram kinds are off.
inline void validate(const ngram_config& c, const char* where = "ngram_config") {
    const std::string w(where);
    if (c.buckets == 0 || c.buckets > (1u << 30))
        throw config_error(w + ": buckets out of range (got " + std::to_string(c.buckets) + ", expected 1..2^30)");
    if (c.word_ngram_max == 0 && c.char_ngram_max == 0)
        throw config_error(w + ": no features (got word_ngram_max = 0 and char_ngram_max = 0, expected one > 0)");
    if (c.word_ngram_max > 8)
        throw config_error(w + ": word_ngram_max too large (got " + std::to_string(c.word_ngram_max) +
                           ", expected 0..8)");
    if (c.char_ngram_max > 0 && (c.char_ngram_min == 0 || c.char_ngram_min > c.char_ngram_max || c.char_ngram_max > 16))
        throw config_error(w + ": bad character n-gram range (got " + std::to_string(c.char_ngram_min) + ".." +
                           std::to_string(c.char_ngram_max) + ", expected 1 <= min <= max <= 16)");
}

inline void to_json(nlohmann::json& j, const ngram_config& c) {
    j = nlohmann::json{{"word_ngram_max", c.word_ngram_max}, {"char_ngram_min", c.char_ngram_min},
                       {"char_ngram_max", c.char_ngram_max}, {"buckets", c.buckets}, {"seed", c.seed}};
}

inline void from_json(const nlohmann::json& j, ngram_config& c) {
    const char* t = "ngram_config";
    detail::config_check_keys(j, t, {"word_ngram_max", "char_ngram_min", "char_ngram_max", "buckets", "seed"});
    detail::config_read_key(j, t, "word_ngram_max", c.word_ngram_max);
    detail::config_read_key(j, t, "char_ngram_min", c.char_ngram_min);
    detail::config_read_key(j, t, "char_ngram_max", c.char_ngram_max);
    detail::config_read_key(j, t, "buckets", c.buckets);
    detail::config_read_key(j, t, "seed", c.seed);
}

namespace detail {
inline void add_hashed(std::uint64_t h, const ngram_config& c, std::vector<sparse_feature>& out) {
    h = mix64(h ^ mix64(c.seed + 0x9e3779b97f4a7c15ull));
    const auto index = static_cast<std::uint32_t>((h >> 1) % c.buckets);
    out.push_back({index, (h & 1u) ? 1.0f : -1.0f});
}
}  // namespace detail

/**
 * @brief Hashed n-gram features of a token sequence (counts, signed, merged by index).
 *
 * Deterministic for a given `ngram_config` (the seed changes every hash).
 * @code
 * aitl::ngram_config c;                       // words 1-2, chars 3-5, 2^15 buckets
 * auto f = aitl::hashed_ngrams({"free", "wifi"}, c);
 * @endcode
 */
inline sparse_vector hashed_ngrams(const std::vector<std::string>& tokens, const ngram_config& c) {
    std::vector<sparse_feature> raw;
    // word n-grams: order n is salted with n; tokens are joined by 0x1F (unit separator)
    for (std::size_t n = 1; n <= c.word_ngram_max; ++n) {
        for (std::size_t i = 0; i + n <= tokens.size(); ++i) {
            std::uint64_t h = fnv1a64(std::string_view("w") , 14695981039346656037ull ^ n);
            for (std::size_t j = 0; j < n; ++j) {
                if (j) h = fnv1a64(std::string_view("\x1f", 1), h);
                h = fnv1a64(tokens[i + j], h);
            }
            detail::add_hashed(h, c, raw);
        }
    }
    // character n-grams over code points of "<token>"
    if (c.char_ngram_max > 0) {
        std::vector<std::size_t> bounds;  // byte offsets of code point starts, plus the end
        std::string wrapped;
        for (const auto& tok : tokens) {
            wrapped.assign("<");
            wrapped += tok;
            wrapped += '>';
            bounds.clear();
            for (std::size_t i = 0; i < wrapped.size();) {
                bounds.push_back(i);
                i += detail::decode_utf8(wrapped, i).length;
            }
            bounds.push_back(wrapped.size());
            const std::size_t cps = bounds.size() - 1;
            for (std::size_t n = c.char_ngram_min; n <= c.char_ngram_max && n <= cps; ++n) {
                for (std::size_t i = 0; i + n <= cps; ++i) {
                    std::string_view gram(wrapped.data() + bounds[i], bounds[i + n] - bounds[i]);
                    if (gram == "<" || gram == ">") continue;
                    detail::add_hashed(fnv1a64(gram, fnv1a64("c")), c, raw);
                }
            }
        }
    }
    std::sort(raw.begin(), raw.end(), [](const sparse_feature& a, const sparse_feature& b) { return a.index < b.index; });
    sparse_vector out;
    for (const auto& f : raw) {
        if (!out.empty() && out.back().index == f.index)
            out.back().value += f.value;
        else
            out.push_back(f);
    }
    out.erase(std::remove_if(out.begin(), out.end(), [](const sparse_feature& f) { return f.value == 0.0f; }),
              out.end());
    return out;
}

}  // namespace aitl
