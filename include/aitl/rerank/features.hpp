#pragma once
/// @file rerank/features.hpp
/// @brief Features of (query, candidate document) pairs for learned reranking: first-stage
/// score and rank, BM25, term overlap, title (entity) match with the conversation, dense
/// similarity, document-type prior and per-document feedback statistics.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../kb/knowledge_base.hpp"
#include "../text/analyzer.hpp"
#include "../types.hpp"

namespace aitl {

/// @brief Settings of `feature_extractor`.
struct rerank_feature_config {
    std::string doc_type_key = "doc_type";  ///< metadata key of the document type ("" or missing: one type)
    double prior_strength = 5.0;            ///< pseudo-count pulling feedback rates to the global rate, > 0 (5: as the
                                            ///< reward model's cited_prior; a document needs a few labels to move)
    float bm25_k1 = 0.5f;                   ///< the BM25 feature's k1, >= 0
    float bm25_b = 0.75f;                   ///< the BM25 feature's b, in [0, 1]
    analyzer_config analyzer{};             ///< stemmed English by default

    /// @throws config_error naming the first invalid field.
    void validate() const {
        if (!(prior_strength > 0.0 && std::isfinite(prior_strength)))
            throw config_error("rerank_feature_config::validate: prior_strength out of range (got " +
                               std::to_string(prior_strength) + ", expected a finite value > 0)");
        if (!(bm25_k1 >= 0.0f && std::isfinite(bm25_k1)))
            throw config_error("rerank_feature_config::validate: bm25_k1 out of range (got " + std::to_string(bm25_k1) +
                               ", expected a finite value >= 0)");
        if (!(bm25_b >= 0.0f && bm25_b <= 1.0f))
            throw config_error("rerank_feature_config::validate: bm25_b out of range (got " + std::to_string(bm25_b) +
                               ", expected 0 <= b <= 1)");
    }
};

inline void to_json(nlohmann::json& j, const rerank_feature_config& c) {
    j = nlohmann::json{{"doc_type_key", c.doc_type_key}, {"prior_strength", c.prior_strength},
                       {"bm25_k1", c.bm25_k1}, {"bm25_b", c.bm25_b}, {"analyzer", c.analyzer}};
}

/// @throws config_error on an unknown key or a wrong type.
inline void from_json(const nlohmann::json& j, rerank_feature_config& c) {
    const char* t = "rerank_feature_config";
    detail::config_check_keys(j, t, {"doc_type_key", "prior_strength", "bm25_k1", "bm25_b", "analyzer"});
    detail::config_read_key(j, t, "doc_type_key", c.doc_type_key);
    detail::config_read_key(j, t, "prior_strength", c.prior_strength);
    detail::config_read_key(j, t, "bm25_k1", c.bm25_k1);
    detail::config_read_key(j, t, "bm25_b", c.bm25_b);
    if (j.contains("analyzer")) from_json(j.at("analyzer"), c.analyzer);
}

/// @brief Feedback counts of one document (weighted sums of annotations).
struct doc_feedback {
    double relevant = 0.0;      ///< shown and marked relevant
    double not_relevant = 0.0;  ///< shown and marked not relevant
    double selected = 0.0;      ///< added by hand by an agent
};

/// @returns The names of the features, in column order.
inline const std::vector<std::string>& rerank_feature_names() {
    static const std::vector<std::string> names = {
        "stage_score",      "stage_rank",  "bm25",          "query_overlap",  "last_turn_overlap", "title_match",
        "title_match_rel",  "title_best",  "dense",         "doc_type_prior", "feedback_rate",     "feedback_log_odds"};
    return names;
}

/**
 * @brief Computes the reranking features of every candidate of a list, one row each.
 *
 * The query is the conversation (turns separated by newlines; the last non-empty line is
 * the customer's current turn). Columns (see `rerank_feature_names`):
 *  - `stage_score`: the candidate's first-stage score, min-max normalised within the list;
 *    `stage_rank`: log(1 + rank) in the list (the fused rank under hybrid retrieval);
 *  - `bm25`: BM25 of the conversation against the document, divided by the list's maximum;
 *  - `query_overlap` / `last_turn_overlap`: idf-weighted share of the conversation's / the
 *    current turn's terms that occur in the document;
 *  - `title_match`: idf-weighted (over titles) share of the document title's terms that occur
 *    in the conversation (the entity a document is about is usually its title);
 *    `title_match_rel`: the same divided by the list's maximum; `title_best`: 1 when it is
 *    the list's maximum (and > 0);
 *  - `dense`: cosine of query and document embeddings when an encoder is attached, else 0;
 *  - `doc_type_prior`: share of relevant labels among the labelled documents of this type
 *    (metadata `doc_type_key`), smoothed to the global share;
 *  - `feedback_rate`: the document's (relevant + selected + a·p) / (labelled + a) − p, with p the
 *    global share of relevant labels and a = `prior_strength`; `feedback_log_odds`: the log odds
 *    of that smoothed rate minus the log odds of p. Both are 0 for a document without feedback:
 *    they say how much a document's own labels move it away from the prior, never how often it
 *    was shown (no popularity count), so a new document is neither pushed down nor up.
 * Candidates that are not in the knowledge base get zero text features.
 * @note Thread safety: `extract` is const and may run concurrently (with a thread-safe
 * encoder); adding feedback or attaching an encoder needs exclusive access.
 */
class feature_extractor {
public:
    /// @throws config_error for invalid settings.
    explicit feature_extractor(const knowledge_base& kb, rerank_feature_config config = {})
        : config_(checked(std::move(config))), text_(config_.analyzer) {
        std::unordered_map<std::string, std::uint32_t> type_of;
        std::unordered_map<std::string, std::vector<std::uint32_t>> title_cache;
        std::size_t total_len = 0;
        for (const document& d : kb) {
            doc_info info;
            std::map<std::uint32_t, std::uint32_t> tf;
            const auto toks = text_.tokens(d.indexed_text());
            for (const auto& t : toks) ++tf[intern(t)];
            info.length = static_cast<std::uint32_t>(toks.size());
            total_len += toks.size();
            info.terms.assign(tf.begin(), tf.end());
            for (const auto& p : info.terms) {
                if (df_.size() <= p.first) df_.resize(p.first + 1, 0);
                ++df_[p.first];
            }
            auto tc = title_cache.find(d.title);
            if (tc == title_cache.end()) {
                std::vector<std::uint32_t> tt;
                for (const auto& t : text_.tokens(d.title)) tt.push_back(intern(t));
                std::sort(tt.begin(), tt.end());
                tt.erase(std::unique(tt.begin(), tt.end()), tt.end());
                for (auto t : tt) {
                    if (title_df_.size() <= t) title_df_.resize(t + 1, 0);
                    ++title_df_[t];
                }
                tc = title_cache.emplace(d.title, std::move(tt)).first;
            }
            info.title = tc->second;
            std::string type;
            if (!config_.doc_type_key.empty()) {
                auto it = d.metadata.find(config_.doc_type_key);
                if (it != d.metadata.end()) type = it->is_string() ? it->get<std::string>() : it->dump();
            }
            auto ti = type_of.emplace(type, static_cast<std::uint32_t>(types_.size()));
            if (ti.second) types_.push_back(type);
            info.type = ti.first->second;
            row_of_.emplace(d.id, docs_.size());
            ids_.push_back(d.id);
            texts_.push_back(d.indexed_text());
            docs_.push_back(std::move(info));
        }
        df_.resize(terms_.size(), 0);
        title_df_.resize(terms_.size(), 0);
        titles_ = title_cache.size();
        type_rel_.assign(types_.size(), 0.0);
        type_n_.assign(types_.size(), 0.0);
        avg_len_ = docs_.empty() ? 1.0 : std::max(1.0, static_cast<double>(total_len) / static_cast<double>(docs_.size()));
    }

    const rerank_feature_config& config() const noexcept { return config_; }
    /// @returns The number of feature columns.
    static std::size_t size() noexcept { return 12; }
    /// @returns The number of documents known.
    std::size_t documents() const noexcept { return docs_.size(); }

    /// @brief Attaches an encoder for the `dense` feature: every document is encoded now.
    /// @param encode texts → one L2-normalised row per text (e.g. a hashed_encoder's encode).
    /// @throws dimension_error when it returns the wrong number of rows.
    void set_encoder(std::function<row_matrix(const std::vector<std::string>&)> encode) {
        row_matrix e = docs_.empty() ? row_matrix() : encode(texts_);
        if (static_cast<std::size_t>(e.rows()) != docs_.size())
            throw dimension_error("feature_extractor::set_encoder: wrong number of rows (got " + std::to_string(e.rows()) +
                                  ", expected " + std::to_string(docs_.size()) + ")");
        doc_vectors_ = std::move(e);
        encode_ = std::move(encode);
    }
    /// @brief Detaches the encoder (the `dense` feature becomes 0).
    void clear_encoder() {
        encode_ = nullptr;
        doc_vectors_ = row_matrix();
    }
    bool has_encoder() const noexcept { return static_cast<bool>(encode_); }

    /// @brief Adds weighted feedback counts of one document.
    void add_feedback(std::string_view doc_id, const doc_feedback& f) {
        doc_feedback& d = feedback_[std::string(doc_id)];
        d.relevant += f.relevant;
        d.not_relevant += f.not_relevant;
        d.selected += f.selected;
        add_to_totals(doc_id, f, 1.0);
    }
    /// @brief Removes every feedback count.
    void clear_feedback() {
        feedback_.clear();
        type_rel_.assign(types_.size(), 0.0);
        type_n_.assign(types_.size(), 0.0);
        all_rel_ = all_n_ = 0.0;
    }
    /// @returns The feedback counts by document id.
    const std::unordered_map<std::string, doc_feedback>& feedback() const noexcept { return feedback_; }

    /**
     * @brief The feature matrix of a candidate list: one row per candidate, `size()` columns.
     * @param minus feedback to leave out (a training list's own labels), by document id.
     */
    Eigen::MatrixXd extract(std::string_view query, const hits& candidates,
                            const std::unordered_map<std::string, doc_feedback>* minus = nullptr) const {
        const auto n = static_cast<Eigen::Index>(candidates.size());
        Eigen::MatrixXd x = Eigen::MatrixXd::Zero(n, static_cast<Eigen::Index>(size()));
        if (n == 0) return x;
        const std::vector<std::uint32_t> q = known_terms(query);
        const std::string_view last = last_turn(query);
        const std::vector<std::uint32_t> l = known_terms(last);
        const double q_unknown = unknown_weight(query), l_unknown = unknown_weight(last);
        double qw = q_unknown, lw = l_unknown;
        for (auto t : q) qw += idf(t);
        for (auto t : l) lw += idf(t);
        row_matrix qv;
        if (encode_) qv = encode_(std::vector<std::string>{std::string(query)});
        double lo = candidates.front().score, hi = lo;
        for (const hit& h : candidates) {
            lo = std::min(lo, static_cast<double>(h.score));
            hi = std::max(hi, static_cast<double>(h.score));
        }
        // totals with `minus` removed
        double all_rel = all_rel_, all_n = all_n_;
        std::vector<double> type_rel = type_rel_, type_n = type_n_;
        if (minus) {
            for (const auto& m : *minus) {
                all_rel -= m.second.relevant + m.second.selected;
                all_n -= m.second.relevant + m.second.not_relevant + m.second.selected;
                auto it = row_of_.find(m.first);
                if (it != row_of_.end()) {
                    type_rel[docs_[it->second].type] -= m.second.relevant + m.second.selected;
                    type_n[docs_[it->second].type] -= m.second.relevant + m.second.not_relevant + m.second.selected;
                }
            }
        }
        const double a = config_.prior_strength;
        const double global = all_n > 0.0 ? std::max(0.0, all_rel) / all_n : 0.0;
        double bm_max = 0.0, tm_max = 0.0;
        for (Eigen::Index i = 0; i < n; ++i) {
            const hit& h = candidates[static_cast<std::size_t>(i)];
            x(i, 0) = hi > lo ? (h.score - lo) / (hi - lo) : 1.0;
            x(i, 1) = std::log1p(static_cast<double>(i));
            doc_feedback f;
            auto fb = feedback_.find(h.id);
            if (fb != feedback_.end()) f = fb->second;
            if (minus) {
                auto mi = minus->find(h.id);
                if (mi != minus->end()) {
                    f.relevant -= mi->second.relevant;
                    f.not_relevant -= mi->second.not_relevant;
                    f.selected -= mi->second.selected;
                }
            }
            const double labelled = std::max(0.0, f.relevant + f.not_relevant + f.selected);
            const double rel = std::min(labelled, std::max(0.0, f.relevant + f.selected));
            if (labelled > 0.0 && global > 0.0 && global < 1.0) {
                const double rate = (rel + a * global) / (labelled + a);
                x(i, 10) = rate - global;
                x(i, 11) = std::log(rate / (1.0 - rate)) - std::log(global / (1.0 - global));
            }
            auto it = row_of_.find(h.id);
            if (it == row_of_.end()) {
                x(i, 9) = global;
                continue;
            }
            const doc_info& d = docs_[it->second];
            const double tn = std::max(0.0, type_n[d.type]);
            x(i, 9) = (std::max(0.0, type_rel[d.type]) + a * 10.0 * global) / (tn + a * 10.0);
            const double norm = config_.bm25_k1 * ((1.0 - config_.bm25_b) + config_.bm25_b * d.length / avg_len_);
            double bm = 0.0, qo = 0.0, lo_ = 0.0;
            for (auto t : q) {
                const std::uint32_t tf = term_frequency(d, t);
                if (tf == 0) continue;
                bm += bm25_idf(t) * tf * (config_.bm25_k1 + 1.0) / (tf + norm);
                qo += idf(t);
            }
            for (auto t : l)
                if (term_frequency(d, t) > 0) lo_ += idf(t);
            x(i, 2) = bm;
            x(i, 3) = qw > 0.0 ? qo / qw : 0.0;
            x(i, 4) = lw > 0.0 ? lo_ / lw : 0.0;
            double tw = 0.0, tm = 0.0;
            for (auto t : d.title) {
                const double w = title_idf(t);
                tw += w;
                if (std::binary_search(q.begin(), q.end(), t)) tm += w;
            }
            x(i, 5) = tw > 0.0 ? tm / tw : 0.0;
            if (encode_ && qv.rows() == 1) x(i, 8) = static_cast<double>(qv.row(0).dot(doc_vectors_.row(static_cast<Eigen::Index>(it->second))));
            bm_max = std::max(bm_max, x(i, 2));
            tm_max = std::max(tm_max, x(i, 5));
        }
        for (Eigen::Index i = 0; i < n; ++i) {
            if (bm_max > 0.0) x(i, 2) /= bm_max;
            x(i, 6) = tm_max > 0.0 ? x(i, 5) / tm_max : 0.0;
            x(i, 7) = tm_max > 0.0 && x(i, 5) == tm_max ? 1.0 : 0.0;
        }
        return x;
    }

private:
    struct doc_info {
        std::vector<std::pair<std::uint32_t, std::uint32_t>> terms;  // (term, tf), sorted by term
        std::vector<std::uint32_t> title;                            // distinct title terms, sorted
        std::uint32_t length = 0;
        std::uint32_t type = 0;
    };

    static rerank_feature_config checked(rerank_feature_config c) {
        c.validate();
        return c;
    }

    std::uint32_t intern(const std::string& t) {
        auto ins = terms_.emplace(t, static_cast<std::uint32_t>(terms_.size()));
        return ins.first->second;
    }

    // Distinct known terms of a text, sorted.
    std::vector<std::uint32_t> known_terms(std::string_view text) const {
        std::vector<std::uint32_t> out;
        for (const auto& t : text_.tokens(text)) {
            auto it = terms_.find(t);
            if (it != terms_.end()) out.push_back(it->second);
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    // Idf mass of a text's distinct terms that no document has.
    double unknown_weight(std::string_view text) const {
        std::vector<std::string> toks = text_.tokens(text);
        std::sort(toks.begin(), toks.end());
        toks.erase(std::unique(toks.begin(), toks.end()), toks.end());
        double w = 0.0;
        for (const auto& t : toks)
            if (!terms_.count(t)) w += std::log((static_cast<double>(docs_.size()) + 1.0) / 0.5);
        return w;
    }

    // The last line with a non-blank character (the whole text when there is none).
    static std::string_view last_turn(std::string_view text) {
        std::size_t end = text.size();
        while (end > 0) {
            const std::size_t nl = text.rfind('\n', end - 1);
            const std::size_t start = nl == std::string_view::npos ? 0 : nl + 1;
            const std::string_view line = text.substr(start, end - start);
            if (line.find_first_not_of(" \t\r") != std::string_view::npos) return line;
            if (nl == std::string_view::npos) break;
            end = nl;
        }
        return text;
    }

    static std::uint32_t term_frequency(const doc_info& d, std::uint32_t t) {
        auto it = std::lower_bound(d.terms.begin(), d.terms.end(), std::make_pair(t, std::uint32_t{0}));
        return it != d.terms.end() && it->first == t ? it->second : 0;
    }

    double idf(std::uint32_t t) const {
        return std::log((static_cast<double>(docs_.size()) + 1.0) / (static_cast<double>(df_[t]) + 0.5));
    }
    double bm25_idf(std::uint32_t t) const {
        const double nd = static_cast<double>(docs_.size()), df = static_cast<double>(df_[t]);
        return std::log1p((nd - df + 0.5) / (df + 0.5));
    }
    double title_idf(std::uint32_t t) const {
        return std::log((static_cast<double>(titles_) + 1.0) / (static_cast<double>(title_df_[t]) + 0.5));
    }

    void add_to_totals(std::string_view doc_id, const doc_feedback& f, double sign) {
        if (type_rel_.size() != types_.size()) {
            type_rel_.resize(types_.size(), 0.0);
            type_n_.resize(types_.size(), 0.0);
        }
        const double rel = f.relevant + f.selected, n = f.relevant + f.not_relevant + f.selected;
        all_rel_ += sign * rel;
        all_n_ += sign * n;
        auto it = row_of_.find(std::string(doc_id));
        if (it != row_of_.end()) {
            type_rel_[docs_[it->second].type] += sign * rel;
            type_n_[docs_[it->second].type] += sign * n;
        }
    }

    rerank_feature_config config_;
    analyzer text_;
    std::unordered_map<std::string, std::uint32_t> terms_;
    std::vector<std::uint32_t> df_, title_df_;
    std::size_t titles_ = 0;
    double avg_len_ = 1.0;
    std::vector<doc_info> docs_;
    std::vector<std::string> ids_, texts_, types_;
    std::unordered_map<std::string, std::size_t> row_of_;
    std::function<row_matrix(const std::vector<std::string>&)> encode_;
    row_matrix doc_vectors_;
    std::unordered_map<std::string, doc_feedback> feedback_;
    std::vector<double> type_rel_, type_n_;
    double all_rel_ = 0.0, all_n_ = 0.0;
};

}  // namespace aitl
