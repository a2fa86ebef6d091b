#pragma once
/// @file config.hpp
/// @brief Compile-time configuration and the thread-policy building blocks.

#include <mutex>
#include <shared_mutex>

namespace aitl {
namespace detail {

/// A mutex that does nothing: the single-threaded (`_st`) policy.
struct null_mutex {
    void lock() noexcept {}
    void unlock() noexcept {}
    bool try_lock() noexcept { return true; }
    void lock_shared() noexcept {}
    void unlock_shared() noexcept {}
    bool try_lock_shared() noexcept { return true; }
};

}  // namespace detail

/// @brief Thread policy of the `_mt` aliases: many concurrent readers, one writer.
using default_mutex = std::shared_mutex;

}  // namespace aitl
