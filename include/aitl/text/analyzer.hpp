#pragma once
/// @file text/analyzer.hpp
/// @brief Text analysis for indexing and querying: tokenize → lower-case → drop stop words
/// → stem.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "stemmer.hpp"
#include "stopwords.hpp"
#include "tokenizer.hpp"

namespace aitl {

/**
 * @brief Settings of an `analyzer`.
 *
 * Defaults suit English retrieval: lower case, Snowball's English stop list, Porter2 stems.
 * Stop words are only shipped for English: `stopwords` with another language is an error.
 */
struct analyzer_config {
    bool lowercase = true;            ///< fold case (Latin, Greek, Cyrillic, Armenian, fullwidth)
    bool stopwords = true;            ///< drop English stop words (before stemming)
    bool stem = true;                 ///< Snowball stemming
    std::string language = "english"; ///< libstemmer algorithm name

    friend bool operator==(const analyzer_config& a, const analyzer_config& b) {
        return a.lowercase == b.lowercase && a.stopwords == b.stopwords && a.stem == b.stem &&
               a.language == b.language;
    }
    friend bool operator!=(const analyzer_config& a, const analyzer_config& b) { return !(a == b); }
};

inline void to_json(nlohmann::json& j, const analyzer_config& c) {
    j = nlohmann::json{{"lowercase", c.lowercase}, {"stopwords", c.stopwords}, {"stem", c.stem},
                       {"language", c.language}};
}


/// @throws config_error on unknown keys or wrong types; missing keys keep their defaults.
inline void from_json(const nlohmann::json& j, analyzer_config& c) {
    detail::config_check_keys(j, "analyzer_config", {"lowercase", "stopwords", "stem", "language"});
    detail::config_read_key(j, "analyzer_config", "lowercase", c.lowercase);
    detail::config_read_key(j, "analyzer_config", "stopwords", c.stopwords);
    detail::config_read_key(j, "analyzer_config", "stem", c.stem);
    detail::config_read_key(j, "analyzer_config", "language", c.language);
}

/**
 * @brief Turns text into index terms: `tokenize` → lower case → stop words → Snowball stem.
 *
 * Apostrophes are normalised (U+2019 → `'`) so "don’t" and "don't" agree.
 * @note Thread safety: all members are const and may be called concurrently; stemming on one
 * analyzer is serialised by its stemmer's mutex (copy the analyzer per thread to avoid that).
 * @code
 * aitl::analyzer a;                       // lower case, English stop words, Porter2
 * a.tokens("The hotels' Wi-Fi is free");  // {"hotel", "wi", "fi", "free"}
 * @endcode
 */
class analyzer {
public:
    /// @throws config_error for an unknown stemmer language, or stop words for a language
    /// other than English.
    explicit analyzer(analyzer_config config = {}) : config_(std::move(config)) {
        if (config_.stopwords && config_.language != "english")
            throw config_error("analyzer::analyzer: stop words are only shipped for English (got language '" +
                               config_.language + "', expected 'english' or stopwords = false)");
        if (config_.stem) stemmer_.emplace(config_.language);
    }

    /// @returns The settings.
    const analyzer_config& config() const noexcept { return config_; }

    /// @returns The index terms of `text`, in order (repeats kept).
    std::vector<std::string> tokens(std::string_view text) const {
        std::vector<std::string> out;
        for_each_term(text, [&](std::string_view t) { out.emplace_back(t); });
        return out;
    }

    /// @brief Calls `fn(std::string_view term)` for each index term of `text` (the view is only
    /// valid during the call).
    template <class Fn>
    void for_each_term(std::string_view text, Fn&& fn) const {
        std::string norm, stemmed;
        for_each_token(text, [&](std::string_view raw) {
            if (analyze_token(raw, norm, stemmed)) fn(std::string_view(stemmed));
        });
    }

    /// @brief Analyses one token (as produced by `for_each_token`): writes its term into `out`.
    /// @param scratch Buffer for the normalised form (reused between calls).
    /// @returns false when the token is a stop word (then `out` is unspecified).
    bool analyze_token(std::string_view raw, std::string& scratch, std::string& out) const {
        normalize(raw, scratch);
        if (config_.stopwords && is_english_stopword(scratch)) return false;
        if (stemmer_)
            stemmer_->stem_into(scratch, out);
        else
            out.assign(scratch);
        return true;
    }

    /// @brief Writes `token` lower-cased (when configured), with U+2019 mapped to `'`, into `out`.
    void normalize(std::string_view token, std::string& out) const {
        out.clear();
        for (std::size_t i = 0; i < token.size();) {
            const auto byte = static_cast<unsigned char>(token[i]);
            if (byte < 0x80) {
                out.push_back(config_.lowercase && byte >= 'A' && byte <= 'Z' ? static_cast<char>(byte + 32)
                                                                              : static_cast<char>(byte));
                ++i;
                continue;
            }
            detail::utf8_decoded d = detail::decode_utf8(token, i);
            if (!d.valid) {
                out.push_back(token[i]);  // not produced by the tokenizer; copied as is
            } else if (d.code_point == 0x2019) {
                out.push_back('\'');
            } else {
                detail::append_utf8(config_.lowercase ? detail::to_lower(d.code_point) : d.code_point, out);
            }
            i += d.length;
        }
    }

private:
    analyzer_config config_;
    std::optional<stemmer> stemmer_;
};

}  // namespace aitl
