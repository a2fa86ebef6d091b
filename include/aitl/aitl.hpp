#pragma once
/// @file aitl.hpp
/// @brief Umbrella header: includes every public aitl header.

#include "config.hpp"
#include "concepts.hpp"
#include "error.hpp"
#include "fwd.hpp"
#include "types.hpp"
#include "version.hpp"
