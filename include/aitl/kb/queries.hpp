#pragma once
/// @file kb/queries.hpp
/// @brief `read_queries`: a BEIR `queries.jsonl` (or any JSONL of id -> text, such as
/// `responses.jsonl`) read strictly, in file order.

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "jsonl.hpp"

namespace aitl {

/**
 * @brief Reads `{"_id": id, "<text_key>": text}` lines in file order.
 *
 * The same reader as the corpus's: blank lines skipped, a UTF-8 byte-order mark and `\r\n`
 * accepted, non-UTF-8 bytes and nesting deeper than `json_max_depth` refused with the byte
 * offset. An integer id is taken as its decimal text (as BEIR's loader does); other keys are
 * ignored.
 * @param path the JSONL file
 * @param text_key the field holding the text ("text" for queries, "response" for replies)
 * @returns (id, text) pairs in file order
 * @throws io_error when the file cannot be read; parse_error naming file, line and field for a
 *         line that is not a JSON object, a missing, empty or non-string id or text, or an id
 *         seen before.
 * @code
 * for (const auto& [id, text] : aitl::read_queries("beir/scifact/queries.jsonl")) search(text);
 * @endcode
 */
inline std::vector<std::pair<std::string, std::string>> read_queries(const std::string& path,
                                                                     const std::string& text_key = "text") {
    std::vector<std::pair<std::string, std::string>> out;
    std::map<std::string, std::size_t> seen;  // id -> line
    detail::read_jsonl_objects(path, "read_queries", [&](const nlohmann::json& j, std::size_t line) {
        auto id = j.find("_id");
        if (id == j.end()) throw parse_error(path, line, "_id", "missing (expected a non-empty string)");
        std::string key;
        if (id->is_string()) key = id->get<std::string>();
        else if (id->is_number_integer()) key = id->dump();
        else
            throw parse_error(path, line, "_id",
                              std::string("wrong type (got ") + id->type_name() + ", expected a non-empty string)");
        if (key.empty()) throw parse_error(path, line, "_id", "empty (expected a non-empty string)");
        auto text = j.find(text_key);
        if (text == j.end()) throw parse_error(path, line, text_key, "missing (expected a string)");
        if (!text->is_string())
            throw parse_error(path, line, text_key,
                              std::string("wrong type (got ") + text->type_name() + ", expected string)");
        auto [it, fresh] = seen.emplace(key, line);
        if (!fresh)
            throw parse_error(path, line, "_id",
                              "duplicate id (got '" + key + "', first on line " + std::to_string(it->second) + ")");
        out.emplace_back(std::move(key), text->get<std::string>());
    });
    return out;
}

}  // namespace aitl
