#pragma once
// Internals of retrieval/bm25.hpp: the BM25 inverted index without its thread policy.
// basic_bm25<Mutex> wraps it with locking and lazy refresh.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../retrieval/bm25_config.hpp"
#include "../text/analyzer.hpp"
#include "../text/tokenizer.hpp"
#include "../types.hpp"
#include "bm25_kernels.hpp"
#include "string_id_map.hpp"

namespace aitl {
namespace detail {

// Not thread-safe by itself: mutations need exclusive access; search() is const and may run
// concurrently once refresh() has run after the last mutation.
class bm25_index {
public:
    static constexpr std::uint32_t npos = string_id_map::npos;
    static constexpr std::uint32_t stop = 0xFFFFFFFEu;
    static constexpr std::size_t flush_every = std::size_t(1) << 22;  // pending postings

    explicit bm25_index(bm25_config c) : s_(std::move(c)) {}

    const bm25_config& config() const noexcept { return s_.config; }
    std::size_t size() const noexcept { return s_.live; }
    std::size_t pending() const noexcept { return pending_doc_.size(); }
    bool contains(std::string_view id) const { return s_.ids.count(std::string(id)) != 0; }

    bm25_stats stats() const {
        bm25_stats st;
        st.documents = s_.live;
        for (std::uint32_t d : s_.df) st.terms += d != 0;
        st.postings = s_.postings_total - s_.dead_postings;
        st.average_length = s_.live ? static_cast<double>(s_.total_length) / static_cast<double>(s_.live) : 0.0;
        return st;
    }

    void check_new_id(std::string_view id, const char* where) const {
        if (id.empty()) throw config_error(std::string(where) + ": empty id (expected a non-empty string)");
        if (s_.ids.count(std::string(id)))
            throw config_error(std::string(where) + ": duplicate id (got '" + std::string(id) + "', expected a new id)");
        if (s_.ext_ids.size() >= 0xFFFFFFF0u)
            throw config_error(std::string(where) + ": index full (got 2^32 documents, expected fewer)");
    }

    // Batch adds append (term, doc, tf) to the pending arrays, merged by flush_pending().
    void add(std::string_view id, std::string_view title, std::string_view text, bool batch) {
        const auto d = static_cast<std::uint32_t>(s_.ext_ids.size());
        std::vector<std::uint32_t>& terms = terms_buf_;
        terms.clear();
        auto on_token = [&](std::string_view raw) {
            const std::uint32_t t = intern_token(raw);
            if (t != stop) terms.push_back(t);
        };
        for_each_token(title, on_token);
        for_each_token(text, on_token);
        const auto len = static_cast<std::uint32_t>(terms.size());
        std::sort(terms.begin(), terms.end());
        std::size_t unique = 0;  // run-length: terms[u] with tf_buf_[u]
        tf_buf_.clear();
        for (std::size_t i = 0; i < terms.size();) {
            std::size_t j = i;
            while (j < terms.size() && terms[j] == terms[i]) ++j;
            terms[unique++] = terms[i];
            tf_buf_.push_back(static_cast<std::uint16_t>(std::min<std::size_t>(j - i, 0xFFFF)));
            i = j;
        }
        terms.resize(unique);
        const std::size_t forward_size = s_.forward.size();
        std::size_t appended = 0;
        try {
            std::uint32_t prev = 0;
            for (std::uint32_t t : terms) {
                put_varint(s_.forward, t - prev);
                prev = t;
            }
            s_.forward_at.push_back(s_.forward.size());
            s_.ext_ids.emplace_back(id);
            s_.length.push_back(len);
            s_.alive.push_back(1);
            s_.ids.emplace(std::string(id), d);
            for (; appended < unique; ++appended) {
                const std::uint32_t t = terms[appended];
                if (batch) {
                    pending_term_.push_back(t);
                    pending_doc_.push_back(d);
                    pending_tf_.push_back(tf_buf_[appended]);
                } else {
                    s_.postings[t].docs.push_back(d);
                    try {
                        s_.postings[t].tfs.push_back(tf_buf_[appended]);
                    } catch (...) {
                        s_.postings[t].docs.pop_back();
                        throw;
                    }
                }
            }
        } catch (...) {  // roll back to the state before this document
            for (std::size_t i = 0; i < appended; ++i) {
                if (batch) {
                    pending_term_.pop_back();
                    pending_doc_.pop_back();
                    pending_tf_.resize(pending_doc_.size());
                } else {
                    s_.postings[terms[i]].docs.pop_back();
                    s_.postings[terms[i]].tfs.pop_back();
                }
            }
            s_.forward.resize(forward_size);
            s_.forward_at.resize(d + 1);
            s_.ext_ids.resize(d);
            s_.length.resize(d);
            s_.alive.resize(d);
            s_.ids.erase(std::string(id));
            throw;
        }
        for (std::uint32_t t : terms) ++s_.df[t];
        ++s_.live;
        s_.total_length += len;
        s_.postings_total += unique;
    }

    // Moves the pending postings into the per-term lists (counting sort by term; documents
    // stay in ascending order because pending documents are newer than indexed ones).
    void flush_pending() {
        const std::size_t n = pending_term_.size();
        if (n == 0) return;
        const std::size_t terms = s_.postings.size();
        std::vector<std::size_t> start(terms + 1, 0);
        for (std::uint32_t t : pending_term_) ++start[t + 1];
        for (std::size_t t = 0; t < terms; ++t) start[t + 1] += start[t];
        std::vector<std::uint32_t> docs(n);
        std::vector<std::uint16_t> tfs(n);
        {
            std::vector<std::size_t> at(start.begin(), start.end() - 1);
            for (std::size_t i = 0; i < n; ++i) {
                const std::size_t j = at[pending_term_[i]]++;
                docs[j] = pending_doc_[i];
                tfs[j] = pending_tf_[i];
            }
        }
        std::vector<std::uint32_t>().swap(pending_term_);
        std::vector<std::uint32_t>().swap(pending_doc_);
        std::vector<std::uint16_t>().swap(pending_tf_);
        for (std::size_t t = 0; t < terms; ++t) {
            if (start[t] == start[t + 1]) continue;
            term_postings& p = s_.postings[t];
            p.docs.insert(p.docs.end(), docs.begin() + static_cast<std::ptrdiff_t>(start[t]),
                          docs.begin() + static_cast<std::ptrdiff_t>(start[t + 1]));
            p.tfs.insert(p.tfs.end(), tfs.begin() + static_cast<std::ptrdiff_t>(start[t]),
                         tfs.begin() + static_cast<std::ptrdiff_t>(start[t + 1]));
        }
    }

    // Drops the slack that geometric growth left in the posting lists (after bulk adds).
    void shrink() {
        for (term_postings& p : s_.postings) {
            if (p.docs.capacity() > p.docs.size() + p.docs.size() / 8 + 16) {
                p.docs.shrink_to_fit();
                p.tfs.shrink_to_fit();
            }
        }
    }

    void remove(std::string_view id, const char* where) {
        auto it = s_.ids.find(std::string(id));
        if (it == s_.ids.end()) throw not_found(std::string(where) + ": unknown id (got '" + std::string(id) + "')");
        const std::uint32_t d = it->second;
        s_.ids.erase(it);
        s_.alive[d] = 0;
        std::string().swap(s_.ext_ids[d]);
        std::size_t n = 0;
        for_each_varint_delta(s_.forward.data() + s_.forward_at[d], s_.forward.data() + s_.forward_at[d + 1],
                                      [&](std::uint32_t t) {
                                          --s_.df[t];
                                          ++n;
                                      });
        s_.dead_postings += n;
        s_.total_length -= s_.length[d];
        --s_.live;
        if (s_.dead_postings > 4096 && s_.dead_postings * 4 > s_.postings_total) compact();
    }

    // Recomputes what depends on collection statistics: per-document norms, per-posting
    // impacts tf / (tf + norm) and per-term maximum impacts. The owner calls it once after
    // a burst of mutations, before searching, with no other refresh or mutation running.
    void refresh() const {
        const std::size_t n = s_.ext_ids.size();
        const double avg = s_.live && s_.total_length ? static_cast<double>(s_.total_length) / static_cast<double>(s_.live) : 1.0;
        const double k1 = s_.config.k1, b = s_.config.b;
        std::vector<float> norm(n);
        for (std::size_t d = 0; d < n; ++d)
            norm[d] = s_.alive[d] ? static_cast<float>(k1 * ((1.0 - b) + b * std::max(s_.length[d] / avg, 0.5)))
                                  : std::numeric_limits<float>::infinity();
        const std::size_t terms = s_.postings.size();
        impacts_.resize(terms);
        bound_.assign(terms, 0.0f);
        auto fill = [&](std::size_t from, std::size_t to) {
            for (std::size_t t = from; t < to; ++t) {
                const term_postings& p = s_.postings[t];
                std::vector<float>& imp = impacts_[t];
                imp.resize(p.docs.size());
                if (imp.capacity() > 2 * imp.size() + 16) imp.shrink_to_fit();
                float best = 0.0f;
                for (std::size_t j = 0; j < imp.size(); ++j) {
                    const float tf = static_cast<float>(p.tfs[j]);
                    imp[j] = tf / (tf + norm[p.docs[j]]);
                    best = std::max(best, imp[j]);
                }
                bound_[t] = best;
            }
        };
        // large indexes: term ranges of about equal postings on several threads
        const std::size_t total = s_.postings_total;
        const std::size_t workers =
            total < (std::size_t(1) << 21) ? 1 : std::min<std::size_t>(8, std::max(1u, std::thread::hardware_concurrency()));
        if (workers == 1) {
            fill(0, terms);
        } else {
            std::vector<std::size_t> cuts{0};
            std::size_t seen = 0;
            for (std::size_t t = 0; t < terms && cuts.size() < workers; ++t) {
                seen += s_.postings[t].docs.size();
                if (seen * workers >= total * cuts.size()) cuts.push_back(t + 1);
            }
            cuts.push_back(terms);
            std::vector<std::thread> pool;
            std::vector<std::exception_ptr> failures(cuts.size());
            for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
                pool.emplace_back([&, i] {
                    try {
                        fill(cuts[i], cuts[i + 1]);
                    } catch (...) {
                        failures[i] = std::current_exception();
                    }
                });
            for (auto& t : pool) t.join();
            for (auto& f : failures)
                if (f) std::rethrow_exception(f);
        }
    }

    hits search(std::string_view query, std::size_t k, bm25_scratch& sc) const {
        sc.raw_terms.clear();
        for_each_token(query, [&](std::string_view raw) {
            const std::uint32_t t = lookup_token(raw, sc);
            if (t != npos && t != stop && s_.df[t] != 0) sc.raw_terms.push_back(t);
        });
        hits out;
        if (sc.raw_terms.empty()) return out;
        std::sort(sc.raw_terms.begin(), sc.raw_terms.end());
        // distinct terms, rarest first, equal df by term text (not by id, which depends on the
        // index history): every strategy of the kernel, and every index holding the same
        // documents, adds the same floats in the same order
        std::vector<std::uint32_t>& uniq = sc.list_df;
        uniq.clear();
        for (std::size_t i = 0; i < sc.raw_terms.size();) {
            std::size_t j = i;
            while (j < sc.raw_terms.size() && sc.raw_terms[j] == sc.raw_terms[i]) ++j;
            uniq.push_back(sc.raw_terms[i]);
            i = j;
        }
        std::sort(uniq.begin(), uniq.end(), [&](std::uint32_t a, std::uint32_t b) {
            return s_.df[a] != s_.df[b] ? s_.df[a] < s_.df[b] : s_.order[a] != s_.order[b] ? s_.order[a] < s_.order[b] : a < b;
        });
        const double n_docs = static_cast<double>(s_.live), k1 = s_.config.k1;
        sc.lists.clear();
        for (std::uint32_t t : uniq) {
            const double df = s_.df[t];
            double r = (n_docs - df + 0.5) / (df + 0.5);
            if (r < 2.0) r = r * 0.5 + 1.0;
            double q = 1.0;
            if (!s_.config.unique_query_terms) {
                auto range = std::equal_range(sc.raw_terms.begin(), sc.raw_terms.end(), t);
                q = static_cast<double>(range.second - range.first);
            }
            const auto w = static_cast<float>(std::log(r) * (k1 + 1.0) * q);
            const term_postings& p = s_.postings[t];
            sc.lists.push_back({p.docs.data(), impacts_[t].data(), p.docs.size(), w, w * bound_[t]});
        }
        const auto& best = bm25_top_k(sc, s_.ext_ids.size(), k, s_.config.dynamic_pruning);
        out.reserve(best.size());
        for (const auto& b : best) out.push_back({s_.ext_ids[b.doc], b.score});
        return out;
    }

private:
    struct term_postings {
        std::vector<std::uint32_t> docs;  // ascending document numbers
        std::vector<std::uint16_t> tfs;   // saturates at 65535
    };

    struct state {
        bm25_config config;
        analyzer text;
        string_id_map vocab;        // term -> term id
        string_id_map token_cache;  // raw token -> term id | stop
        std::vector<term_postings> postings;
        std::vector<std::uint32_t> df;      // live documents per term
        std::vector<std::uint64_t> order;   // hash of the term: orders equal-df terms by text
        std::vector<std::string> ext_ids;   // by document number; "" once removed
        std::vector<std::uint32_t> length;  // indexed tokens per document
        std::vector<std::uint8_t> alive;
        std::vector<std::uint8_t> forward;  // sorted term ids per document, delta varint
        std::vector<std::uint64_t> forward_at{0};
        std::unordered_map<std::string, std::uint32_t> ids;
        std::size_t live = 0;
        std::uint64_t total_length = 0;
        std::size_t postings_total = 0;  // including those of removed documents
        std::size_t dead_postings = 0;

        explicit state(bm25_config c) : config(std::move(c)), text(config.analyzer) {}
    };

    // Term id of a raw token, creating the term (writers only).
    std::uint32_t intern_token(std::string_view raw) {
        std::uint32_t t = s_.token_cache.find(raw);
        if (t != npos) return t;
        if (!s_.text.analyze_token(raw, norm_buf_, stem_buf_)) {
            s_.token_cache.insert(raw, stop);
            return stop;
        }
        auto ins = s_.vocab.insert(stem_buf_, static_cast<std::uint32_t>(s_.postings.size()));
        if (ins.second) {
            s_.postings.emplace_back();
            s_.df.push_back(0);
            s_.order.push_back(string_hash(stem_buf_));
        }
        s_.token_cache.insert(raw, ins.first);
        return ins.first;
    }

    // Term id of a raw token, or npos / stop (readers).
    std::uint32_t lookup_token(std::string_view raw, bm25_scratch& sc) const {
        std::uint32_t t = s_.token_cache.find(raw);
        if (t != npos) return t;
        if (!s_.text.analyze_token(raw, sc.norm_buf, sc.stem_buf)) return stop;
        return s_.vocab.find(sc.stem_buf);
    }

    // Drops removed documents from every posting list and renumbers the live ones (order kept).
    void compact() {
        const std::size_t n = s_.ext_ids.size();
        std::vector<std::uint32_t> renumber(n, npos);
        std::uint32_t next = 0;
        for (std::size_t d = 0; d < n; ++d)
            if (s_.alive[d]) renumber[d] = next++;
        for (term_postings& p : s_.postings) {
            std::size_t w = 0;
            for (std::size_t i = 0; i < p.docs.size(); ++i) {
                const std::uint32_t nd = renumber[p.docs[i]];
                if (nd == npos) continue;
                p.docs[w] = nd;
                p.tfs[w] = p.tfs[i];
                ++w;
            }
            p.docs.resize(w);
            p.tfs.resize(w);
            if (p.docs.capacity() > 2 * w + 16) {
                p.docs.shrink_to_fit();
                p.tfs.shrink_to_fit();
            }
        }
        std::vector<std::string> ext_ids;
        std::vector<std::uint32_t> length;
        std::vector<std::uint8_t> forward;
        std::vector<std::uint64_t> forward_at{0};
        ext_ids.reserve(next);
        length.reserve(next);
        forward_at.reserve(next + 1);
        for (std::size_t d = 0; d < n; ++d) {
            if (!s_.alive[d]) continue;
            ext_ids.push_back(std::move(s_.ext_ids[d]));
            length.push_back(s_.length[d]);
            forward.insert(forward.end(), s_.forward.begin() + static_cast<std::ptrdiff_t>(s_.forward_at[d]),
                           s_.forward.begin() + static_cast<std::ptrdiff_t>(s_.forward_at[d + 1]));
            forward_at.push_back(forward.size());
        }
        for (auto& kv : s_.ids) kv.second = renumber[kv.second];
        s_.ext_ids = std::move(ext_ids);
        s_.length = std::move(length);
        s_.forward = std::move(forward);
        s_.forward_at = std::move(forward_at);
        s_.alive.assign(next, 1);
        s_.postings_total -= s_.dead_postings;
        s_.dead_postings = 0;
    }

    state s_;
    // writer scratch (used by mutations only)
    std::vector<std::uint32_t> terms_buf_;
    std::vector<std::uint16_t> tf_buf_;
    std::string norm_buf_, stem_buf_;
    std::vector<std::uint32_t> pending_term_, pending_doc_;
    std::vector<std::uint16_t> pending_tf_;
    // derived from s_ by refresh()
    mutable std::vector<std::vector<float>> impacts_;
    mutable std::vector<float> bound_;
};

}  // namespace detail
}  // namespace aitl
