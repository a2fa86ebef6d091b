#pragma once
/// @file learn/reward_features.hpp
/// @brief The hand-made reply features of the reward model (learn/reward_model.hpp): what a
/// reply shares with its question, its conversation and the references shown with it.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../text/analyzer.hpp"

namespace aitl {

/**
 * @brief Feature extraction φ(query, reply, references) of `reward_model`.
 *
 * Inputs:
 *  - `query`: the prompt; its last non-empty line is the question, the lines before it the
 *    conversation (the form of `make_prompt`).
 *  - `reply`: text with `[doc_id]` citation markers (removed before its terms are taken).
 *  - `references`: the documents shown with the reply, best first; each may start with its own
 *    `[doc_id]` marker (e.g. `"[kb-12] How to reset a password. ..."`), which lets citations be
 *    checked. Empty: every reference feature is 0.
 *
 * Terms come from the configured `analyzer` (distinct terms unless said otherwise). Features
 * (names as `names()`):
 *  - `log_terms`: log(1 + number of reply terms); `log_chars`: log(1 + bytes of the reply);
 *  - `question_overlap` / `conversation_overlap`: share of the question's / conversation's terms
 *    found in the reply; `reply_in_prompt`: share of the reply's terms found in the prompt;
 *  - `grounding`: share of the reply's terms found in some reference; `top_grounding`: in the
 *    first `top_references`; `cited_grounding`: in the references the reply cites;
 *  - `citations`: log(1 + distinct markers); `citation_validity`: share of them naming a given
 *    reference (0 without markers); `invalid_citations`: log(1 + markers naming none);
 *  - `cited_question_overlap` (mean) and `cited_question_overlap_min`: share of the question's
 *    terms found in each cited reference; `cited_conversation_overlap`: the same for the
 *    conversation (mean); `cited_rank`: mean of 1 / rank of the cited references;
 *  - `repetition`: 1 − distinct / total reply terms; `novel`: share of the reply's terms found
 *    neither in the prompt nor in a reference;
 *  - `cites_top`: 1 when the reply cites the first reference; `log_sentences`: log(1 + sentence
 *    ends ". ", "! ", "? " or at the end);
 *  - `cited_title_match`: mean over the cited references of the share of their title's terms
 *    found in the prompt (a reference's title is its first line when it has several, e.g. the
 *    entity a review is about); `cited_question_form`: share of cited references holding a "?"
 *    (question-and-answer entries such as FAQs);
 *  - `cited_prior`: mean over the cited references of `prior(doc_id)`, the caller's relevance
 *    prior of the document (`reward_model` derives it from relevance feedback); 0 without a prior.
 *
 * @note Thread safety: `prepare` and `extract` are const and may run concurrently (stemming is
 * serialised by the analyzer's stemmer mutex).
 * @code
 * aitl::reward_features fx(aitl::analyzer_config{}, 3);
 * auto ctx = fx.prepare("Hi\nhow do I reset my password?", {"[kb-1] Passwords\nReset it under Settings."});
 * std::vector<double> phi = fx.extract(ctx, "Open Settings and reset it. [kb-1]");
 * @endcode
 */
class reward_features {
public:
    static constexpr std::size_t count = 22;
    /// Relevance prior of a cited document id (empty function: `cited_prior` is 0).
    using prior_function = std::function<double(const std::string&)>;

    using term_set = std::set<std::string>;
    /// @brief One reference, analysed.
    struct reference {
        std::string id;  ///< "" when the text has no leading marker
        term_set terms;
        term_set title;  ///< terms of the first line when the text has several
        bool question_form = false;
    };
    /// @brief A prompt and its references, analysed once for any number of replies.
    struct context {
        term_set question, conversation, prompt;
        std::vector<reference> refs;
        term_set all_refs, top_refs;
    };

    /// @param top_references how many of the first references count as "top" (>= 1; the caller validates).
    explicit reward_features(analyzer_config analyzer = {}, std::size_t top_references = 3)
        : analyzer_(std::move(analyzer)), top_references_(top_references) {}

    /// @returns The feature names, in the order of `extract()`.
    static const std::vector<std::string>& names() {
        static const std::vector<std::string> names{
            "log_terms",          "log_chars",           "question_overlap",      "conversation_overlap",
            "reply_in_prompt",    "grounding",           "top_grounding",         "cited_grounding",
            "citations",          "citation_validity",   "invalid_citations",     "cited_question_overlap",
            "cited_question_overlap_min", "cited_conversation_overlap", "cited_rank", "repetition",
            "novel",              "cites_top",           "log_sentences",         "cited_title_match",
            "cited_question_form", "cited_prior"};
        return names;
    }

    /// @returns The analysed prompt (question, conversation) and references.
    context prepare(std::string_view query, const std::vector<std::string>& references) const {
        context c;
        std::vector<std::string_view> lines;
        std::size_t start = 0;
        while (start <= query.size()) {
            std::size_t end = query.find('\n', start);
            if (end == std::string_view::npos) end = query.size();
            auto line = query.substr(start, end - start);
            if (line.find_first_not_of(" \t\r") != std::string_view::npos) lines.push_back(line);
            start = end + 1;
        }
        for (std::size_t i = 0; i < lines.size(); ++i) {
            for (auto& t : terms(lines[i])) {
                c.prompt.insert(t);
                (i + 1 == lines.size() ? c.question : c.conversation).insert(std::move(t));
            }
        }
        for (std::size_t r = 0; r < references.size(); ++r) {
            std::string_view text = references[r];
            reference ref;
            const auto first = text.find_first_not_of(" \t\r\n");
            if (first != std::string_view::npos && text[first] == '[') {
                const auto close = text.find(']', first);
                if (close != std::string_view::npos) {
                    auto id = text.substr(first + 1, close - first - 1);
                    if (!id.empty() && id.find_first_of(" \t\r\n[") == std::string_view::npos) {
                        ref.id = std::string(id);
                        text = text.substr(close + 1);
                    }
                }
            }
            ref.terms = terms(text);
            const auto nl = text.find('\n');
            if (nl != std::string_view::npos && text.find_first_not_of(" \t\r\n", nl) != std::string_view::npos)
                ref.title = terms(text.substr(0, nl));
            ref.question_form = text.find('?') != std::string_view::npos;
            c.all_refs.insert(ref.terms.begin(), ref.terms.end());
            if (r < top_references_) c.top_refs.insert(ref.terms.begin(), ref.terms.end());
            c.refs.push_back(std::move(ref));
        }
        return c;
    }

    /// @returns The `count` raw features of one reply in a prepared context (see the class comment).
    std::vector<double> extract(const context& c, std::string_view reply, const prior_function& prior = {}) const {
        std::vector<double> f(count, 0.0);
        std::string text;
        const auto cited = markers(reply, &text);
        std::size_t total = 0;
        term_set rt;
        analyzer_.for_each_term(text, [&](std::string_view t) {
            ++total;
            rt.emplace(t);
        });
        f[0] = std::log1p(static_cast<double>(total));
        f[1] = std::log1p(static_cast<double>(reply.size()));
        f[2] = share_in(c.question, rt);
        f[3] = share_in(c.conversation, rt);
        f[4] = share_in(rt, c.prompt);
        f[5] = share_in(rt, c.all_refs);
        f[6] = share_in(rt, c.top_refs);
        term_set cited_terms;
        std::size_t valid = 0;
        double q_sum = 0, q_min = 1, conv_sum = 0, rank_sum = 0, title_sum = 0, qform = 0, prior_sum = 0;
        for (const auto& id : cited) {
            for (std::size_t r = 0; r < c.refs.size(); ++r) {
                if (c.refs[r].id.empty() || c.refs[r].id != id) continue;
                ++valid;
                const auto& rt_ref = c.refs[r].terms;
                cited_terms.insert(rt_ref.begin(), rt_ref.end());
                const double q = share_in(c.question, rt_ref);
                q_sum += q;
                q_min = std::min(q_min, q);
                conv_sum += share_in(c.conversation, rt_ref);
                rank_sum += 1.0 / static_cast<double>(r + 1);
                title_sum += share_in(c.refs[r].title, c.prompt);
                qform += c.refs[r].question_form ? 1.0 : 0.0;
                if (prior) prior_sum += prior(id);
                break;
            }
        }
        f[7] = share_in(rt, cited_terms);
        f[8] = std::log1p(static_cast<double>(cited.size()));
        f[9] = cited.empty() ? 0.0 : static_cast<double>(valid) / static_cast<double>(cited.size());
        f[10] = std::log1p(static_cast<double>(cited.size() - valid));
        if (valid) {
            const auto v = static_cast<double>(valid);
            f[11] = q_sum / v;
            f[12] = q_min;
            f[13] = conv_sum / v;
            f[14] = rank_sum / v;
            f[19] = title_sum / v;
            f[20] = qform / v;
            f[21] = prior_sum / v;
        }
        f[15] = total ? 1.0 - static_cast<double>(rt.size()) / static_cast<double>(total) : 0.0;
        if (!rt.empty()) {
            std::size_t novel = 0;
            for (const auto& t : rt) novel += !c.prompt.count(t) && !c.all_refs.count(t);
            f[16] = static_cast<double>(novel) / static_cast<double>(rt.size());
        }
        f[17] = !c.refs.empty() && !c.refs[0].id.empty() &&
                        std::find(cited.begin(), cited.end(), c.refs[0].id) != cited.end()
                    ? 1.0
                    : 0.0;
        std::size_t sentences = 0;
        for (std::size_t i = 0; i < text.size(); ++i)
            if ((text[i] == '.' || text[i] == '!' || text[i] == '?') && (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n'))
                ++sentences;
        f[18] = std::log1p(static_cast<double>(sentences));
        return f;
    }

private:
    // Citation markers [id] (no whitespace or brackets inside), distinct, in order; `rest` gets the
    // text without them.
    static std::vector<std::string> markers(std::string_view text, std::string* rest) {
        std::vector<std::string> out;
        std::size_t i = 0;
        while (i < text.size()) {
            if (text[i] == '[') {
                std::size_t j = i + 1;
                while (j < text.size() && text[j] != ']' && text[j] != '[' && text[j] != ' ' && text[j] != '\n' &&
                       text[j] != '\t' && text[j] != '\r')
                    ++j;
                if (j < text.size() && text[j] == ']' && j > i + 1) {
                    std::string id(text.substr(i + 1, j - i - 1));
                    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(std::move(id));
                    if (rest) rest->push_back(' ');
                    i = j + 1;
                    continue;
                }
            }
            if (rest) rest->push_back(text[i]);
            ++i;
        }
        return out;
    }

    term_set terms(std::string_view text) const {
        term_set s;
        analyzer_.for_each_term(text, [&](std::string_view t) { s.emplace(t); });
        return s;
    }

    static double share_in(const term_set& a, const term_set& b) {  // |a ∩ b| / |a|, 0 for empty a
        if (a.empty()) return 0.0;
        std::size_t n = 0;
        for (const auto& t : a) n += b.count(t);
        return static_cast<double>(n) / static_cast<double>(a.size());
    }

    analyzer analyzer_;
    std::size_t top_references_;
};

}  // namespace aitl
