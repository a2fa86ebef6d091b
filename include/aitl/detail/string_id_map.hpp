#pragma once
// Insert-only open-addressing hash map from byte strings to uint32 values, keys stored in one
// arena (no allocation per key, lookups by string_view without building a std::string).
// Used for BM25 vocabularies and token caches.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aitl {
namespace detail {

inline std::uint64_t string_hash(std::string_view s) noexcept {
    // FNV-1a over 8-byte words (then the tail), splitmix64 finaliser: fast for short keys,
    // identical on every platform.
    std::uint64_t h = 14695981039346656037ull ^ s.size();
    const char* p = s.data();
    std::size_t n = s.size();
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 1099511628211ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    std::uint64_t tail = 0;
    if (n) std::memcpy(&tail, p, n);
    h = (h ^ tail) * 1099511628211ull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

class string_id_map {
public:
    static constexpr std::uint32_t npos = 0xFFFFFFFFu;

    std::size_t size() const noexcept { return size_; }

    std::uint32_t find(std::string_view key) const noexcept {
        if (slots_.empty()) return npos;
        const std::uint64_t h = string_hash(key);
        const auto tag = static_cast<std::uint32_t>(h >> 32);
        for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
            const slot& s = slots_[i];
            if (s.length == empty) return npos;
            if (s.tag == tag && s.length == key.size() && std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0)
                return s.value;
        }
    }

    /// Inserts key -> value unless present; returns the stored value and whether it was inserted.
    std::pair<std::uint32_t, bool> insert(std::string_view key, std::uint32_t value) {
        if ((size_ + 1) * 4 > slots_.size() * 3) grow();
        const std::uint64_t h = string_hash(key);
        const auto tag = static_cast<std::uint32_t>(h >> 32);
        std::size_t i = h & mask_;
        for (;; i = (i + 1) & mask_) {
            slot& s = slots_[i];
            if (s.length == empty) break;
            if (s.tag == tag && s.length == key.size() && std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0)
                return {s.value, false};
        }
        if (arena_.size() + key.size() > 0xFFFFFFFFull) throw std::length_error("string_id_map: more than 4 GiB of keys");
        slot& s = slots_[i];
        s.tag = tag;
        s.offset = static_cast<std::uint32_t>(arena_.size());
        s.length = static_cast<std::uint32_t>(key.size());
        s.value = value;
        arena_.append(key.data(), key.size());
        ++size_;
        return {value, true};
    }

    void clear() {
        slots_.clear();
        arena_.clear();
        size_ = 0;
        mask_ = 0;
    }

    std::size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(slot) + arena_.capacity(); }

private:
    static constexpr std::uint32_t empty = 0xFFFFFFFFu;
    struct slot {
        std::uint32_t tag = 0;
        std::uint32_t offset = 0;
        std::uint32_t length = empty;
        std::uint32_t value = 0;
    };

    void grow() {
        std::vector<slot> old;
        old.swap(slots_);
        const std::size_t cap = old.empty() ? 64 : old.size() * 2;
        slots_.assign(cap, slot{});
        mask_ = cap - 1;
        for (const slot& s : old) {
            if (s.length == empty) continue;
            const std::uint64_t h = string_hash(std::string_view(arena_.data() + s.offset, s.length));
            std::size_t i = h & mask_;
            while (slots_[i].length != empty) i = (i + 1) & mask_;
            slots_[i] = s;
        }
    }

    std::vector<slot> slots_;
    std::string arena_;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
};

}  // namespace detail
}  // namespace aitl
