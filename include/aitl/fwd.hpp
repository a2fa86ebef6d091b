#pragma once
/// @file fwd.hpp
/// @brief Forward declarations of aitl's public types, for headers that only name them.

#include <cstdint>

namespace aitl {
class error;
class config_error;
class dimension_error;
class not_found;
class io_error;
class parse_error;
class state_error;
struct document;
struct hit;
struct sqlite_store_config;
struct store_filter;
struct store_stats;
template <class Mutex>
class basic_sqlite_store;
}  // namespace aitl
