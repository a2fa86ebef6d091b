// Shared helpers of the libFuzzer targets: a private scratch folder per process (removed at
// exit) for loaders that only take a path. The targets catch aitl::error only, so any other
// exception reaches std::terminate at its throw site and libFuzzer reports it with the stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace aitl_fuzz {

// Created on first use under $TMPDIR (scripts/fuzz.sh points it into build/fuzz/work), removed
// by exit(); a crash leaves it behind. Never destroyed, so the atexit handler may still use it.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path* dir = [] {
        std::string tmpl = (std::filesystem::temp_directory_path() / "aitl-fuzz-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            std::perror("aitl fuzz: mkdtemp");
            std::abort();
        }
        auto* d = new std::filesystem::path(tmpl);
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(scratch_dir(), ec);
        });
        return d;
    }();
    return *dir;
}

// Writes `data` to <scratch>/<name> (truncating) and returns the path.
inline std::string write_file(const std::string& name, std::string_view data) {
    const std::string path = (scratch_dir() / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) {
        std::fprintf(stderr, "aitl fuzz: cannot write %s\n", path.c_str());
        std::abort();
    }
    return path;
}

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Structure-aware mutation of JSON: replaces one value of a parsed document with a value of
// another type (or removes a member, renames a key, copies in another value), the type confusions byte-level
// mutation rarely reaches ({"format": 1} instead of {"format": "..."}). `text` is one JSON
// document or JSON Lines (one line is mutated); returns false when nothing in it parses.
inline bool mutate_json_text(std::string& text, std::minstd_rand& rng) {
    using nlohmann::json;
    std::vector<std::string> parts;
    json doc = json::parse(text, nullptr, false);
    std::size_t which = 0;
    if (doc.is_discarded()) {  // JSON Lines: one line that parses
        std::size_t start = 0;
        while (start <= text.size()) {
            std::size_t end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            parts.push_back(text.substr(start, end - start));
            start = end + 1;
        }
        std::vector<std::size_t> ok;
        for (std::size_t i = 0; i < parts.size(); ++i)
            if (!parts[i].empty() && !json::parse(parts[i], nullptr, false).is_discarded()) ok.push_back(i);
        if (ok.empty()) return false;
        which = ok[rng() % ok.size()];
        doc = json::parse(parts[which], nullptr, false);
    }
    std::vector<json*> nodes;
    std::vector<json*> todo{&doc};
    while (!todo.empty()) {
        json* n = todo.back();
        todo.pop_back();
        nodes.push_back(n);
        if (n->is_structured())
            for (auto& child : *n) todo.push_back(&child);
    }
    // Keys, for renaming one: (object, key) pairs.
    std::vector<std::pair<json*, std::string>> keys;
    for (json* n : nodes)
        if (n->is_object())
            for (auto it = n->begin(); it != n->end(); ++it) keys.emplace_back(n, it.key());
    if (!keys.empty() && rng() % 5 == 0) {
        auto& [object, key] = keys[rng() % keys.size()];
        const std::string choices[] = {"", " " + key, "0" + key, key + "\t", key + "\xc3\xa9", keys[rng() % keys.size()].second};
        const std::string& renamed = choices[rng() % (sizeof choices / sizeof choices[0])];
        if (!object->contains(renamed)) {
            json value = std::move((*object)[key]);
            object->erase(key);
            (*object)[renamed] = std::move(value);
        }
    } else {
        json& target = *nodes[rng() % nodes.size()];
        static const json values[] = {nullptr, true, false, 0, -1, 1, 2, 1.5, -0.0, 1e308,
                                      std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::uint64_t>::max(),
                                      "", "x", "\xef\xbf\xbd", json::array(), json::object(), json::array({1, "a"}),
                                      json::object({{"", 0}})};
        switch (rng() % 4) {
            case 0:  // remove a member or element
                if (target.is_object() && !target.empty()) {
                    auto it = target.begin();
                    std::advance(it, static_cast<std::ptrdiff_t>(rng() % target.size()));
                    target.erase(it);
                    break;
                }
                if (target.is_array() && !target.empty()) {
                    target.erase(target.begin() + static_cast<std::ptrdiff_t>(rng() % target.size()));
                    break;
                }
                [[fallthrough]];
            case 1:  // another node's value
                target = json(*nodes[rng() % nodes.size()]);
                break;
            default:  // a value of some type
                target = values[rng() % (sizeof values / sizeof values[0])];
        }
    }
    const std::string out = doc.dump(-1, ' ', false, json::error_handler_t::replace);
    if (parts.empty()) {
        text = out;
    } else {
        parts[which] = out;
        text.clear();
        for (std::size_t i = 0; i < parts.size(); ++i) text += (i ? "\n" : "") + parts[i];
    }
    return true;
}

// A LLVMFuzzerCustomMutator body for JSON inputs after `keep` leading bytes: half the time the
// JSON mutation above, else (or when it does not apply or does not fit) libFuzzer's own.
inline std::size_t mutate_json(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned int seed,
                               std::size_t keep = 0) {
    std::minstd_rand rng(seed);
    if (size > keep && rng() % 2 == 0) {
        std::string text(reinterpret_cast<const char*>(data) + keep, size - keep);
        if (mutate_json_text(text, rng) && keep + text.size() <= max_size) {
            std::memcpy(data + keep, text.data(), text.size());
            return keep + text.size();
        }
    }
    return LLVMFuzzerMutate(data, size, max_size);
}

}  // namespace aitl_fuzz
