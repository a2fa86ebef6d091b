#pragma once
/// @file kb/knowledge_base.hpp
/// @brief The knowledge base: documents {id, title, text, metadata, version} in insertion
/// order, with BEIR and JSONL loaders.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "../types.hpp"
#include "jsonl.hpp"

namespace aitl {

/**
 * @brief Documents keyed by unique id, iterated in insertion order.
 *
 * `update` replaces a document and bumps its version; `remove` drops it (later iteration and
 * lookups never see it). Loaders read BEIR `corpus.jsonl` (`_id`, `title`, `text`; other keys
 * go to metadata) and aitl's own JSONL (`id`, `title`, `text`, `metadata`, `version`).
 * @note Thread safety: like a standard container: concurrent const access is safe, any
 * mutation needs exclusive access.
 * @code
 * auto kb = aitl::knowledge_base::load_beir("data/scifact");   // folder or corpus.jsonl
 * kb.add({"faq-1", "Refunds", "Refunds take 5 days."});
 * for (const aitl::document& d : kb) std::cout << d.id << '\n';
 * @endcode
 */
class knowledge_base {
    struct slot {
        document doc;
        bool alive;
    };

public:
    /// @brief Forward iterator over the live documents, in insertion order.
    class const_iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = document;
        using difference_type = std::ptrdiff_t;
        using pointer = const document*;
        using reference = const document&;

        const_iterator() = default;
        reference operator*() const { return (*slots_)[i_].doc; }
        pointer operator->() const { return &(*slots_)[i_].doc; }
        const_iterator& operator++() {
            ++i_;
            skip();
            return *this;
        }
        const_iterator operator++(int) {
            const_iterator t = *this;
            ++*this;
            return t;
        }
        friend bool operator==(const const_iterator& a, const const_iterator& b) { return a.i_ == b.i_; }
        friend bool operator!=(const const_iterator& a, const const_iterator& b) { return a.i_ != b.i_; }

    private:
        friend class knowledge_base;
        const_iterator(const std::vector<slot>* s, std::size_t i) : slots_(s), i_(i) { skip(); }
        void skip() {
            while (i_ < slots_->size() && !(*slots_)[i_].alive) ++i_;
        }
        const std::vector<slot>* slots_ = nullptr;
        std::size_t i_ = 0;
    };
    using iterator = const_iterator;

    knowledge_base() = default;

    /// @brief Adds a document.
    /// @throws config_error for an empty or duplicate id, non-object metadata, or version 0.
    void add(document doc) {
        check(doc, "knowledge_base::add");
        if (index_.count(doc.id)) throw config_error("knowledge_base::add: duplicate id (got '" + doc.id + "', expected a new id)");
        index_.emplace(doc.id, slots_.size());
        slots_.push_back({std::move(doc), true});
        ++live_;
    }

    /// @brief Replaces the document with the same id; its version becomes the old one + 1.
    /// @returns The new version.
    /// @throws not_found for an unknown id; config_error for non-object metadata.
    std::uint64_t update(document doc) {
        check(doc, "knowledge_base::update");
        auto it = index_.find(doc.id);
        if (it == index_.end()) throw not_found("knowledge_base::update: unknown id (got '" + doc.id + "')");
        document& old = slots_[it->second].doc;
        doc.version = old.version + 1;
        old = std::move(doc);
        return old.version;
    }

    /// @brief Removes a document.
    /// @throws not_found for an unknown id.
    void remove(std::string_view id) {
        auto it = index_.find(std::string(id));
        if (it == index_.end()) throw not_found("knowledge_base::remove: unknown id (got '" + std::string(id) + "')");
        slots_[it->second].alive = false;
        slots_[it->second].doc = document{};
        index_.erase(it);
        --live_;
        if (slots_.size() > 64 && live_ < slots_.size() / 2) compact();
    }

    /// @returns The document with this id.
    /// @throws not_found for an unknown id.
    const document& get(std::string_view id) const {
        const document* d = find(id);
        if (!d) throw not_found("knowledge_base::get: unknown id (got '" + std::string(id) + "')");
        return *d;
    }

    /// @returns The document with this id, or nullptr.
    const document* find(std::string_view id) const {
        auto it = index_.find(std::string(id));
        return it == index_.end() ? nullptr : &slots_[it->second].doc;
    }

    bool contains(std::string_view id) const { return index_.count(std::string(id)) != 0; }
    std::size_t size() const noexcept { return live_; }
    bool empty() const noexcept { return live_ == 0; }
    const_iterator begin() const { return const_iterator(&slots_, 0); }
    const_iterator end() const { return const_iterator(&slots_, slots_.size()); }

    /// @returns The ids in insertion order.
    std::vector<std::string> ids() const {
        std::vector<std::string> out;
        out.reserve(live_);
        for (const auto& d : *this) out.push_back(d.id);
        return out;
    }

    void reserve(std::size_t n) {
        slots_.reserve(n);
        index_.reserve(n);
    }

    void clear() {
        slots_.clear();
        index_.clear();
        live_ = 0;
    }

    /**
     * @brief Loads a BEIR corpus: `path` is `corpus.jsonl` or a folder holding it.
     *
     * Each line: `_id` (non-empty string or integer), `title` (string, optional), `text`
     * (string); every other key goes to metadata (members of a `metadata` object are merged
     * in). Blank lines are skipped.
     * @throws io_error for a missing file; parse_error(file, line, field) for a malformed line
     * or a duplicate id (the message names both lines); config_error for a file without documents.
     */
    static knowledge_base load_beir(const std::string& path) {
        std::string file = path;
        if (detail::is_directory(path)) file = path + (path.empty() || path.back() == '/' ? "" : "/") + "corpus.jsonl";
        return load(file, "_id", "knowledge_base::load_beir");
    }

    /**
     * @brief Loads aitl's JSONL: `id` (non-empty string or integer), `title` (string, optional),
     * `text` (string), `metadata` (object, optional), `version` (integer >= 1, optional);
     * other keys go to metadata.
     * @throws as `load_beir`.
     */
    static knowledge_base load_jsonl(const std::string& path) { return load(path, "id", "knowledge_base::load_jsonl"); }

    /// @brief Writes every document as one line of aitl's JSONL (`load_jsonl` reads it back).
    /// @throws io_error when the file cannot be written.
    void save_jsonl(const std::string& path) const {
        detail::jsonl_writer w(path, "knowledge_base::save_jsonl");
        for (const auto& d : *this) {
            w.write(nlohmann::json{{"id", d.id}, {"title", d.title}, {"text", d.text}, {"metadata", d.metadata},
                                   {"version", d.version}});
        }
        w.close();
    }

private:
    static void check(document& doc, const char* where) {
        if (doc.id.empty()) throw config_error(std::string(where) + ": empty id (expected a non-empty string)");
        if (doc.metadata.is_null()) doc.metadata = nlohmann::json::object();
        if (!doc.metadata.is_object())
            throw config_error(std::string(where) + ": metadata is not an object (got " + doc.metadata.type_name() +
                               ", expected object)");
        detail::check_json_depth(doc.metadata, where, "metadata");  // save_jsonl's dump recurses
        if (doc.version == 0) throw config_error(std::string(where) + ": version 0 (expected >= 1)");
    }

    void compact() {
        std::vector<slot> kept;
        kept.reserve(live_);
        index_.clear();
        for (auto& s : slots_) {
            if (!s.alive) continue;
            index_.emplace(s.doc.id, kept.size());
            kept.push_back(std::move(s));
        }
        slots_ = std::move(kept);
    }

    static knowledge_base load(const std::string& file, const char* id_key, const char* where) {
        knowledge_base kb;
        std::vector<std::size_t> lines;  // line of each slot, for duplicate messages
        const bool ours = std::string_view(id_key) == "id";
        detail::read_jsonl_objects(file, where, [&](const nlohmann::json& j, std::size_t line) {
            document d;
            auto id = j.find(id_key);
            if (id == j.end()) throw parse_error(file, line, id_key, "missing (expected a non-empty string)");
            if (id->is_string())
                d.id = id->get<std::string>();
            else if (id->is_number_integer())
                d.id = id->dump();
            else
                throw parse_error(file, line, id_key,
                                  std::string("not a string (got ") + id->type_name() + ", expected a non-empty string)");
            if (d.id.empty()) throw parse_error(file, line, id_key, "empty (expected a non-empty string)");
            auto title = j.find("title");
            if (title != j.end()) {
                if (!title->is_string())
                    throw parse_error(file, line, "title", std::string("not a string (got ") + title->type_name() +
                                                               ", expected string)");
                d.title = title->get<std::string>();
            }
            auto text = j.find("text");
            if (text == j.end()) throw parse_error(file, line, "text", "missing (expected a string)");
            if (!text->is_string())
                throw parse_error(file, line, "text",
                                  std::string("not a string (got ") + text->type_name() + ", expected string)");
            d.text = text->get<std::string>();
            for (auto it = j.begin(); it != j.end(); ++it) {
                const std::string& key = it.key();
                if (key == id_key || key == "title" || key == "text") continue;
                if (key == "metadata") {
                    if (!it->is_object()) {
                        if (ours || !it->is_null())
                            throw parse_error(file, line, "metadata", std::string("not an object (got ") +
                                                                          it->type_name() + ", expected object)");
                        continue;
                    }
                    for (auto m = it->begin(); m != it->end(); ++m)
                        if (!d.metadata.contains(m.key())) d.metadata[m.key()] = *m;
                } else if (ours && key == "version") {
                    if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0)
                        throw parse_error(file, line, "version",
                                          "not a positive integer (got " + it->dump() + ", expected >= 1)");
                    d.version = it->get<std::uint64_t>();
                } else {
                    d.metadata[key] = *it;
                }
            }
            auto dup = kb.index_.find(d.id);
            if (dup != kb.index_.end())
                throw parse_error(file, line, id_key,
                                  "duplicate id '" + d.id + "' (first on line " + std::to_string(lines[dup->second]) +
                                      ", expected unique ids)");
            lines.push_back(line);
            kb.index_.emplace(d.id, kb.slots_.size());
            kb.slots_.push_back({std::move(d), true});
            ++kb.live_;
        });
        if (kb.empty())
            throw config_error(std::string(where) + ": no documents (got 0 in '" + file + "', expected at least 1)");
        return kb;
    }

    std::vector<slot> slots_;
    std::unordered_map<std::string, std::size_t> index_;
    std::size_t live_ = 0;
};

}  // namespace aitl
