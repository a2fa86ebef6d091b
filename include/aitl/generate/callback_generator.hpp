#pragma once
/// @file generate/callback_generator.hpp
/// @brief `callback_generator`: any function (e.g. a call to an LLM) as a generator.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "reference.hpp"
#include "sentences.hpp"

namespace aitl {

/// @brief The function behind a `callback_generator`: (query, references best first, variant)
/// → reply text with `[doc_id]` citation markers.
using generate_callback =
    std::function<std::string(std::string_view query, const std::vector<reference>& refs, std::string_view variant)>;

/**
 * @brief A generator that calls a function for the reply text, e.g. a prompt to any LLM.
 *
 * The callback gets the query, the references (best first) and one of the declared variant
 * names (e.g. "concise" / "detailed", or two prompts or models to compare); it returns the reply
 * text, which should cite references with `[doc_id]` markers. The reply's `citations` are the
 * markers of that text that name one of `refs`, in order of first use; markers naming anything
 * else stay in the text but are not citations (the reward model and the agents see them as
 * invalid).
 *
 * @note Thread safety: `generate` is const and as safe as the callback (it is called as is,
 * without locking).
 * @code
 * aitl::callback_generator gen([](std::string_view q, const std::vector<aitl::reference>& refs, std::string_view) {
 *     return refs.empty() ? std::string("No article found.") : my_llm(q, refs);
 * }, {"default"});
 * @endcode
 */
class callback_generator {
public:
    /// @param fn the callback (non-empty).
    /// @param variants the names it accepts: non-empty, unique, no empty name.
    /// @throws config_error for an empty callback or invalid variant names.
    explicit callback_generator(generate_callback fn, std::vector<std::string> variants = {"default"})
        : fn_(std::move(fn)), variants_(std::move(variants)) {
        const char* w = "callback_generator::callback_generator";
        if (!fn_) throw config_error(std::string(w) + ": empty callback (got an empty function, expected a callable)");
        if (variants_.empty()) throw config_error(std::string(w) + ": no variants (got 0, expected at least 1)");
        for (std::size_t i = 0; i < variants_.size(); ++i) {
            if (variants_[i].empty())
                throw config_error(std::string(w) + ": variants[" + std::to_string(i) +
                                   "] is empty (got '', expected a name)");
            for (std::size_t j = 0; j < i; ++j)
                if (variants_[j] == variants_[i])
                    throw config_error(std::string(w) + ": duplicate variant name (got '" + variants_[i] +
                                       "' twice, expected unique names)");
        }
    }

    /// @returns The declared variant names.
    std::vector<std::string> variants() const { return variants_; }

    /**
     * @brief Calls the callback and reads the citations from its text.
     * @throws config_error for a variant that was not declared; whatever the callback throws.
     */
    generated_reply generate(std::string_view query, const std::vector<reference>& refs, std::string_view variant) const {
        bool known = false;
        for (const auto& v : variants_) known = known || v == variant;
        if (!known) {
            std::string names;
            for (const auto& v : variants_) names += (names.empty() ? "" : ", ") + v;
            throw config_error("callback_generator::generate: unknown variant (got '" + std::string(variant) +
                               "', expected one of " + names + ")");
        }
        generated_reply out;
        out.text = fn_(query, refs, variant);
        out.variant = std::string(variant);
        out.citations = cited_references(out.text, refs);
        return out;
    }

    /// @returns The ids of the `[doc_id]` markers of `text` that name one of `refs`, in order of
    /// first use.
    static std::vector<std::string> cited_references(std::string_view text, const std::vector<reference>& refs) {
        std::vector<std::string> out;
        for (auto& id : citation_markers(text)) {
            bool given = false;
            for (const auto& r : refs) given = given || r.doc_id == id;
            if (given) out.push_back(std::move(id));
        }
        return out;
    }

private:
    generate_callback fn_;
    std::vector<std::string> variants_;
};

}  // namespace aitl
