#pragma once
/// @file version.hpp
/// @brief Library version (kept equal to pyproject.toml and aitl.__version__; a test checks).

#define AITL_VERSION_MAJOR 0
#define AITL_VERSION_MINOR 1
#define AITL_VERSION_PATCH 0
#define AITL_VERSION_STRING "0.1.0"

namespace aitl {
/// @brief The library version as "MAJOR.MINOR.PATCH".
inline constexpr const char* version_string = AITL_VERSION_STRING;
}  // namespace aitl
