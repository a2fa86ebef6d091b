#pragma once
/// @file error.hpp
/// @brief The exception hierarchy: every error aitl throws derives from aitl::error.
///
/// Messages follow `"<type>::<method>: <what> (got <x>, expected <y>)"`.
/// Expected outcomes ("nothing to retrain", "no hit") are return values, never exceptions.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace aitl {

/// @brief Root of all aitl exceptions.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// @brief An argument or setting is out of its valid range (e.g. k <= 0, b outside [0, 1]).
class config_error : public error {
public:
    using error::error;
};

/// @brief A vector has the wrong dimension, or holds NaN/inf.
class dimension_error : public error {
public:
    using error::error;
};

/// @brief An id (document, label, query) is not known.
class not_found : public error {
public:
    using error::error;
};

/// @brief A file could not be opened, read or written.
class io_error : public error {
public:
    using error::error;
};

/// @brief Malformed input data; carries the file, 1-based line and field.
class parse_error : public error {
public:
    parse_error(std::string file, std::size_t line, std::string field, const std::string& what)
        : error(file + ":" + std::to_string(line) + ": field '" + field + "': " + what),
          file_(std::move(file)),
          line_(line),
          field_(std::move(field)) {}

    /// @returns The file that held the bad data.
    const std::string& file() const noexcept { return file_; }
    /// @returns The 1-based line number (0 when the whole file is at fault).
    std::size_t line() const noexcept { return line_; }
    /// @returns The field that was missing or malformed ("" when the line itself is not JSON).
    const std::string& field() const noexcept { return field_; }

private:
    std::string file_;
    std::size_t line_;
    std::string field_;
};

/// @brief An operation is not valid in the object's current state (e.g. search before build).
class state_error : public error {
public:
    using error::error;
};

}  // namespace aitl
