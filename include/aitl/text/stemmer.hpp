#pragma once
/// @file text/stemmer.hpp
/// @brief RAII wrapper of a Snowball (libstemmer) stemmer, UTF-8.

#include <libstemmer.h>

#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"

namespace aitl {

/**
 * @brief A Snowball stemmer for one language ("english" is Porter2), UTF-8 in and out.
 *
 * Copying creates a second, independent libstemmer object for the same language.
 * @note Thread safety: libstemmer objects are not thread-safe; `stem()` serialises calls on
 * one instance with an internal mutex, so a shared `const stemmer` is safe. Threads that stem
 * a lot should each use their own copy.
 * @code
 * aitl::stemmer s("english");
 * s.stem("running");  // "run"
 * @endcode
 */
class stemmer {
public:
    /// @throws config_error when libstemmer has no algorithm of that name (message lists them).
    explicit stemmer(std::string language = "english") : language_(std::move(language)) { open(); }

    stemmer(const stemmer& other) : language_(other.language_) { open(); }
    stemmer& operator=(const stemmer& other) {
        if (this != &other) {
            stemmer copy(other);
            *this = std::move(copy);
        }
        return *this;
    }
    stemmer(stemmer&&) noexcept = default;
    stemmer& operator=(stemmer&&) noexcept = default;
    ~stemmer() = default;

    /// @returns The language name given at construction.
    const std::string& language() const noexcept { return language_; }

    /// @returns The stem of `word` (expected lower case, UTF-8).
    std::string stem(std::string_view word) const {
        std::string out;
        stem_into(word, out);
        return out;
    }

    /// @brief Writes the stem of `word` into `out` (replacing its content).
    /// @throws state_error on a moved-from stemmer.
    void stem_into(std::string_view word, std::string& out) const {
        if (!handle_) throw state_error("stemmer::stem: moved-from stemmer (got no libstemmer object, expected one)");
        std::lock_guard<std::mutex> guard(*mutex_);
        const sb_symbol* s = sb_stemmer_stem(handle_.get(), reinterpret_cast<const sb_symbol*>(word.data()),
                                             static_cast<int>(word.size()));
        if (s == nullptr) throw std::bad_alloc();
        out.assign(reinterpret_cast<const char*>(s), static_cast<std::size_t>(sb_stemmer_length(handle_.get())));
    }

    /// @returns The algorithm names libstemmer provides ("english", "french", "porter", ...).
    static std::vector<std::string> languages() {
        std::vector<std::string> out;
        for (const char** p = sb_stemmer_list(); *p != nullptr; ++p) out.emplace_back(*p);
        return out;
    }

private:
    struct deleter {
        void operator()(sb_stemmer* s) const noexcept { sb_stemmer_delete(s); }
    };

    void open() {
        handle_.reset(sb_stemmer_new(language_.c_str(), "UTF_8"));
        if (!handle_) {
            std::string known;
            for (const auto& l : languages()) known += (known.empty() ? "" : ", ") + l;
            throw config_error("stemmer::stemmer: unknown language (got '" + language_ + "', expected one of " +
                               known + ")");
        }
        mutex_ = std::make_unique<std::mutex>();
    }

    std::string language_;
    std::unique_ptr<sb_stemmer, deleter> handle_;
    std::unique_ptr<std::mutex> mutex_;
};

}  // namespace aitl
