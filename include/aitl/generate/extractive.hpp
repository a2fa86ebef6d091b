#pragma once
/// @file generate/extractive.hpp
/// @brief `extractive_generator`: an offline, deterministic grounded generator that quotes the
/// most relevant sentences of the top references and cites each as `[doc_id]`.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../text/analyzer.hpp"
#include "extractive_config.hpp"
#include "reference.hpp"
#include "sentences.hpp"

namespace aitl {

/**
 * @brief Composes a reply from the most relevant sentences of the top references, each group
 * of sentences followed by the `[doc_id]` marker of the reference it comes from.
 *
 * For a variant (see `extractive_variant`): the first `references` distinct references are
 * split into sentences (`split_sentences`; at most `max_sentences_per_reference` each, markers
 * already in them removed). Each sentence s of the reference at rank r (0-based) gets a
 * BM25 relevance to the query over this pool of sentences — query terms of the last line (the
 * question) weigh 1, terms only in the lines before it `context_weight`; plus `title_weight` ×
 * weight × idf for each query term in the reference's title — normalised by the best one to
 * [0, 1], and the score `(relevance + rank_prior / (r + 1))`, times `1 − question_penalty` for a
 * sentence ending in '?'. Sentences are then picked greedily, by
 * score (`relevance`) or by `(1 − λ)·score − λ·max Jaccard similarity to the picked ones`
 * (`mmr`), skipping near-duplicates (Jaccard ≥ 0.8), sentences whose relevance is below
 * `min_relevance` of the best (`new_reference_relevance` for a reference not cited yet), and
 * sentences that would exceed `max_words` (a first sentence longer than that is cut at a word
 * boundary and ends in "..."), up to `max_sentences`. The reply lists the picked sentences by
 * reference rank, then position, each reference's sentences followed by its marker. When no
 * sentence or title shares a term with the query, the reply is the first sentence of the first
 * reference; with no references (or no text in them), the reply
 * is `fallback` and cites nothing.
 *
 * Deterministic: ties go to the better-ranked reference, then the earlier sentence.
 *
 * @note Thread safety: `generate` is const and may run concurrently (stemming is serialised by
 * the analyzer's stemmer mutex).
 * @code
 * aitl::extractive_generator gen;                 // variants "top" and "coverage"
 * std::vector<aitl::reference> refs{{"delivery-costs", "Delivery costs",
 *     "Standard delivery costs 4.95 and is free on orders over 50. Express costs 9.95."}};
 * auto r = gen.generate("is delivery free if I spend a lot", refs, "top");
 * // r.text == "Standard delivery costs 4.95 and is free on orders over 50. [delivery-costs]"
 * @endcode
 */
class extractive_generator {
public:
    /// @throws config_error for settings out of range.
    explicit extractive_generator(extractive_config config = {})
        : config_(checked(std::move(config))), analyzer_(config_.analyzer) {}

    /// @returns The settings.
    const extractive_config& config() const noexcept { return config_; }

    /// @returns The variant names, in the order of the config.
    std::vector<std::string> variants() const {
        std::vector<std::string> out;
        out.reserve(config_.variants.size());
        for (const auto& v : config_.variants) out.push_back(v.name);
        return out;
    }

    /// @returns The settings of a variant. @throws config_error for an unknown name.
    const extractive_variant& variant(std::string_view name) const {
        for (const auto& v : config_.variants)
            if (v.name == name) return v;
        std::string names;
        for (const auto& v : config_.variants) names += (names.empty() ? "" : ", ") + v.name;
        throw config_error("extractive_generator::generate: unknown variant (got '" + std::string(name) +
                           "', expected one of " + names + ")");
    }

    /**
     * @brief The reply of one variant.
     * @param query the question; when it has several lines, the last one is the question and
     *        the ones before it the conversation.
     * @param refs the references, best first (repeated doc ids are read once).
     * @param variant one of `variants()`.
     * @returns The reply; its citations are ids of `refs`, in the order of the text.
     * @throws config_error for an unknown variant, or a used reference whose doc id cannot be
     *         written as a marker (empty, whitespace or brackets).
     */
    generated_reply generate(std::string_view query, const std::vector<reference>& refs, std::string_view variant) const {
        return run(query, refs, this->variant(variant));
    }

    /// @brief The reply for ad-hoc variant settings (`v.name` becomes the reply's variant).
    /// @throws config_error as `generate`, and for settings out of range.
    generated_reply generate_with(std::string_view query, const std::vector<reference>& refs,
                                  const extractive_variant& v) const {
        {
            extractive_config one = config_;
            one.variants = {v};
            validate(one, "extractive_generator::generate_with");
        }
        return run(query, refs, v);
    }

private:
    generated_reply run(std::string_view query, const std::vector<reference>& refs, const extractive_variant& v) const {
        generated_reply out;
        out.variant = v.name;
        const auto used = pick_references(refs, v.references);
        std::vector<std::map<std::string, unsigned>> titles;
        std::vector<candidate> pool = candidates(refs, used, titles);
        if (pool.empty()) {
            out.text = config_.fallback;
            return out;
        }
        score(query, pool, v);
        const auto chosen = select(pool, v);
        compose(refs, used, pool, chosen, out);
        return out;
    }

    struct candidate {
        std::size_t rank = 0;  // index into the used references
        std::size_t pos = 0;   // sentence index within its reference
        std::string text;
        std::map<std::string, unsigned> terms;  // of the sentence
        const std::map<std::string, unsigned>* title = nullptr;  // of its reference's title
        std::size_t length = 0;  // number of terms
        std::size_t words = 0;
        bool question = false;
        double relevance = 0.0;  // normalised to [0, 1]
        double score = 0.0;
    };

    static extractive_config checked(extractive_config c) {
        validate(c, "extractive_generator::extractive_generator");
        return c;
    }

    static std::vector<std::size_t> pick_references(const std::vector<reference>& refs, std::size_t n) {
        std::vector<std::size_t> used;
        for (std::size_t i = 0; i < refs.size() && used.size() < n; ++i) {
            bool seen = false;
            for (std::size_t u : used) seen = seen || refs[u].doc_id == refs[i].doc_id;
            if (seen) continue;
            if (!citable_id(refs[i].doc_id))
                throw config_error("extractive_generator::generate: refs[" + std::to_string(i) +
                                   "].doc_id cannot be cited (got '" + refs[i].doc_id +
                                   "', expected a non-empty id without whitespace or brackets)");
            used.push_back(i);
        }
        return used;
    }

    static bool ends_with_question(std::string_view s) {
        while (!s.empty() && (s.back() == '"' || s.back() == '\'' || s.back() == ')')) s.remove_suffix(1);
        if (!s.empty() && s.back() == '?') return true;
        return s.size() >= 3 && s.substr(s.size() - 3) == "\xEF\xBC\x9F";  // U+FF1F
    }

    std::vector<candidate> candidates(const std::vector<reference>& refs, const std::vector<std::size_t>& used,
                                      std::vector<std::map<std::string, unsigned>>& titles) const {
        std::vector<candidate> pool;
        titles.assign(used.size(), {});
        for (std::size_t r = 0; r < used.size(); ++r) {
            analyzer_.for_each_term(refs[used[r]].title, [&](std::string_view t) { ++titles[r][std::string(t)]; });
            const std::string& text = refs[used[r]].text;
            std::size_t pos = 0;
            for (const auto& [a, b] : sentence_spans(text)) {
                if (pos >= config_.max_sentences_per_reference) break;
                candidate c;
                c.text = strip_citations(std::string_view(text).substr(a, b - a));
                if (c.text.empty()) continue;
                c.rank = r;
                c.pos = pos++;
                c.title = &titles[r];
                analyzer_.for_each_term(c.text, [&](std::string_view t) {
                    ++c.terms[std::string(t)];
                    ++c.length;
                });
                c.words = count_words(c.text);
                c.question = ends_with_question(c.text);
                pool.push_back(std::move(c));
            }
        }
        return pool;
    }

    void score(std::string_view query, std::vector<candidate>& pool, const extractive_variant& v) const {
        // query term -> weight: 1 for the question (last non-empty line), context_weight otherwise
        std::map<std::string, double> q;
        std::vector<std::string_view> lines;
        for (std::size_t start = 0; start <= query.size();) {
            std::size_t end = query.find('\n', start);
            if (end == std::string_view::npos) end = query.size();
            const auto line = query.substr(start, end - start);
            if (line.find_first_not_of(" \t\r") != std::string_view::npos) lines.push_back(line);
            start = end + 1;
        }
        for (std::size_t i = 0; i < lines.size(); ++i) {
            const double w = i + 1 == lines.size() ? 1.0 : config_.context_weight;
            analyzer_.for_each_term(lines[i], [&](std::string_view t) {
                double& x = q[std::string(t)];
                x = std::max(x, w);
            });
        }
        const double n = static_cast<double>(pool.size());
        double avg = 0.0;
        for (const auto& c : pool) avg += static_cast<double>(c.length);
        avg = avg > 0 ? avg / n : 1.0;
        std::map<std::string, double> idf;  // query term -> weight x idf over the pool
        for (const auto& [term, w] : q) {
            if (w <= 0) continue;
            double df = 0.0;
            for (const auto& c : pool) df += c.terms.count(term) || c.title->count(term) ? 1.0 : 0.0;
            if (df > 0) idf[term] = w * std::log(1.0 + (n - df + 0.5) / (df + 0.5));
        }
        double best = 0.0;
        for (auto& c : pool) {
            double s = 0.0;
            for (const auto& [term, wi] : idf) {
                if (c.title->count(term)) s += config_.title_weight * wi;
                auto it = c.terms.find(term);
                if (it == c.terms.end()) continue;
                const double tf = it->second;
                const double norm = config_.k1 * (1.0 - config_.b + config_.b * static_cast<double>(c.length) / avg);
                s += wi * tf * (config_.k1 + 1.0) / (tf + norm);
            }
            c.relevance = s;
            best = std::max(best, s);
        }
        for (auto& c : pool) {
            c.relevance = best > 0 ? c.relevance / best : 0.0;
            c.score = (c.relevance + v.rank_prior / static_cast<double>(c.rank + 1)) *
                      (c.question ? 1.0 - config_.question_penalty : 1.0);
        }
    }

    static double jaccard(const candidate& a, const candidate& b) {
        if (a.text == b.text) return 1.0;
        if (a.terms.empty() || b.terms.empty()) return 0.0;
        std::size_t common = 0;
        for (const auto& [t, n] : a.terms) common += b.terms.count(t);
        return static_cast<double>(common) / static_cast<double>(a.terms.size() + b.terms.size() - common);
    }

    // Indices of the picked sentences, in pick order.
    static std::vector<std::size_t> select(std::vector<candidate>& pool, const extractive_variant& v) {
        std::vector<std::size_t> chosen;
        bool any_relevant = false;
        for (const auto& c : pool) any_relevant = any_relevant || c.relevance > 0;
        if (!any_relevant) {  // nothing matches the query: the lead sentence of the first reference
            chosen.push_back(0);
            fit_first(pool[0], v.max_words);
            return chosen;
        }
        std::vector<bool> out(pool.size(), false);
        for (std::size_t i = 0; i < pool.size(); ++i) out[i] = pool[i].relevance <= 0;
        std::size_t words = 0;
        while (chosen.size() < v.max_sentences) {
            std::size_t best = pool.size();
            double best_value = -std::numeric_limits<double>::infinity();
            for (std::size_t i = 0; i < pool.size(); ++i) {
                if (out[i]) continue;
                double sim = 0.0;
                for (std::size_t c : chosen) sim = std::max(sim, jaccard(pool[i], pool[c]));
                if (sim >= 0.8) {
                    out[i] = true;
                    continue;
                }
                const double value =
                    v.strategy == selection_strategy::mmr ? (1.0 - v.redundancy) * pool[i].score - v.redundancy * sim : pool[i].score;
                if (value > best_value) best = i, best_value = value;  // strict: earlier wins ties
            }
            if (best == pool.size()) break;
            out[best] = true;
            candidate& c = pool[best];
            if (chosen.empty()) {
                fit_first(c, v.max_words);
            } else {
                bool cited = false;
                for (std::size_t k : chosen) cited = cited || pool[k].rank == c.rank;
                const double need = cited ? v.min_relevance : std::max(v.min_relevance, v.new_reference_relevance);
                if (c.relevance < need || words + c.words > v.max_words) continue;
            }
            words += c.words;
            chosen.push_back(best);
        }
        return chosen;
    }

    // A first sentence longer than the word budget keeps its first max_words words + "...".
    static void fit_first(candidate& c, std::size_t max_words) {
        if (c.words <= max_words) return;
        std::size_t n = 0, i = 0;
        bool in_word = false;
        for (; i < c.text.size(); ++i) {
            const bool s = detail::ascii_space(c.text[i]);
            if (!s && !in_word && n++ == max_words) break;
            in_word = !s;
        }
        std::string cut = c.text.substr(0, i);
        while (!cut.empty() && detail::ascii_space(cut.back())) cut.pop_back();
        c.text = cut + "...";
        c.words = max_words;
    }

    static void compose(const std::vector<reference>& refs, const std::vector<std::size_t>& used,
                        const std::vector<candidate>& pool, std::vector<std::size_t> chosen, generated_reply& out) {
        std::sort(chosen.begin(), chosen.end(), [&](std::size_t a, std::size_t b) {
            return pool[a].rank != pool[b].rank ? pool[a].rank < pool[b].rank : pool[a].pos < pool[b].pos;
        });
        for (std::size_t k = 0; k < chosen.size(); ++k) {
            const candidate& c = pool[chosen[k]];
            if (!out.text.empty()) out.text.push_back(' ');
            out.text += c.text;
            if (k + 1 == chosen.size() || pool[chosen[k + 1]].rank != c.rank) {
                const std::string& id = refs[used[c.rank]].doc_id;
                out.text += ' ';
                out.text += format_citation(id);
                out.citations.push_back(id);
            }
        }
    }

    extractive_config config_;
    analyzer analyzer_;
};

}  // namespace aitl
