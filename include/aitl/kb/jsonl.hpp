#pragma once
/// @file kb/jsonl.hpp
/// @brief Reading and writing JSON Lines files, with errors that name the file, the 1-based
/// line and the field.

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "../detail/json_parse.hpp"
#include "../error.hpp"

namespace aitl {
namespace detail {

inline bool is_directory(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_directory(path, ec);
}

/**
 * Calls `fn(const nlohmann::json& object, std::size_t line)` for each non-blank line of a
 * JSONL file. A line that is not JSON or not an object raises parse_error(file, line, "").
 * A missing or unreadable file raises io_error. A UTF-8 BOM and CR line ends are accepted.
 */
template <class Fn>
void read_jsonl_objects(const std::string& path, const char* where, Fn&& fn) {
    if (is_directory(path))
        throw io_error(std::string(where) + ": is a directory (got '" + path + "', expected a .jsonl file)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(std::string(where) + ": cannot open (got '" + path + "', expected a readable file)");
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::string_view view(line);
        if (number == 1 && view.substr(0, 3) == "\xEF\xBB\xBF") view.remove_prefix(3);
        while (!view.empty() && (view.back() == '\r' || view.back() == ' ' || view.back() == '\t'))
            view.remove_suffix(1);
        std::size_t first = view.find_first_not_of(" \t");
        if (first == std::string_view::npos) continue;  // blank line
        nlohmann::json j = parse_json(view, path, number, where);
        if (!j.is_object())
            throw parse_error(path, number, "",
                              std::string("not a JSON object (got ") + j.type_name() + ", expected object)");
        fn(j, number);
    }
    if (in.bad()) throw io_error(std::string(where) + ": read failed (got '" + path + "')");
}

/// Writes one JSON value per line; invalid UTF-8 inside strings is replaced by U+FFFD.
class jsonl_writer {
public:
    jsonl_writer(const std::string& path, const char* where) : path_(path), where_(where), out_(path, std::ios::binary) {
        if (!out_)
            throw io_error(std::string(where_) + ": cannot open for writing (got '" + path_ + "', expected a writable path)");
    }
    void write(const nlohmann::json& j) {
        out_ << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        if (!out_) throw io_error(std::string(where_) + ": write failed (got '" + path_ + "')");
    }
    void close() {
        out_.close();
        if (!out_) throw io_error(std::string(where_) + ": write failed (got '" + path_ + "')");
    }

private:
    std::string path_;
    const char* where_;
    std::ofstream out_;
};

}  // namespace detail
}  // namespace aitl
