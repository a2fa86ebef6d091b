#pragma once
/// @file flywheel/index_lifecycle_config.hpp
/// @brief Settings and report of an index rebuild (`basic_serving_index::rebuild`), with their
/// JSON forms. Kept apart from index_lifecycle.hpp so configuration code needs no index types.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../error.hpp"
#include "../retrieval/hnsw_config.hpp"

namespace aitl {

/**
 * @brief Settings of an index rebuild: how the new (green) index is built, and how its recall
 * is checked against exact search before it replaces the active (blue) one.
 *
 * JSON: `{"sample": 200, "k": 10, "min_recall": 0.9, "hnsw": {...}, "seed": 42, "threads": 0,
 * "batch_size": 256, "staging_dir": ""}` (every key optional).
 */
struct rebuild_config {
    std::size_t sample = 200;     ///< queries of the recall check (>= 1; fewer when fewer exist)
    std::size_t k = 10;           ///< recall@k of the check (>= 1)
    double min_recall = 0.9;      ///< the green index replaces blue only when recall >= this (0..1)
    /// HNSW settings of the green index; `dim` is ignored (the encoder's dim is used).
    hnsw_config hnsw{};
    std::uint64_t seed = 42;      ///< draws the check's sample
    std::size_t threads = 0;      ///< threads for building and checking (0 = all hardware threads)
    std::size_t batch_size = 256; ///< texts per encode() call (>= 1)
    /// Folder for the files written before they are added to the registry ("" = the system's
    /// temporary folder). A unique subfolder is used and removed afterwards.
    std::string staging_dir;

    /// @throws config_error naming the first invalid field.
    void validate() const {
        auto fail = [](const std::string& what, const std::string& got, const std::string& expected) {
            throw config_error("rebuild_config::validate: " + what + " (got " + got + ", expected " + expected + ")");
        };
        if (sample == 0) fail("sample must be positive", "0", ">= 1");
        if (k == 0) fail("k must be positive", "0", ">= 1");
        if (!(min_recall >= 0.0 && min_recall <= 1.0)) fail("min_recall out of range", std::to_string(min_recall), "0..1");
        if (batch_size == 0) fail("batch_size must be positive", "0", ">= 1");
        hnsw_config h = hnsw;
        h.dim = 1;
        h.validate();
    }
};

inline void to_json(nlohmann::json& j, const rebuild_config& c) {
    nlohmann::json h = c.hnsw;
    h.erase("dim");
    j = nlohmann::json{{"sample", c.sample},   {"k", c.k},
                       {"min_recall", c.min_recall}, {"hnsw", h},
                       {"seed", c.seed},       {"threads", c.threads},
                       {"batch_size", c.batch_size}, {"staging_dir", c.staging_dir}};
}

/// @throws config_error on an unknown key or a wrong type (missing keys keep their defaults).
inline void from_json(const nlohmann::json& j, rebuild_config& c) {
    const char* t = "rebuild_config";
    detail::config_check_keys(j, t, {"sample", "k", "min_recall", "hnsw", "seed", "threads", "batch_size", "staging_dir"});
    detail::config_read_key(j, t, "sample", c.sample);
    detail::config_read_key(j, t, "k", c.k);
    detail::config_read_key(j, t, "min_recall", c.min_recall);
    if (auto it = j.find("hnsw"); it != j.end()) from_json(*it, c.hnsw);
    detail::config_read_key(j, t, "seed", c.seed);
    detail::config_read_key(j, t, "threads", c.threads);
    detail::config_read_key(j, t, "batch_size", c.batch_size);
    detail::config_read_key(j, t, "staging_dir", c.staging_dir);
}

/**
 * @brief What a rebuild did. `switched` tells whether the green index now serves; `reason`
 * says why (with the numbers) either way.
 *
 * JSON: `{"switched", "reason", "version", "recall", "sample", "k", "min_recall", "documents",
 * "dim", "seconds_embed", "seconds_build", "seconds_check", "seconds_publish"}`.
 */
struct rebuild_report {
    bool switched = false;        ///< the green index replaced the active one
    std::string reason;           ///< why it switched or not, with the numbers
    std::string version;          ///< the new version (registry id or "memory-N"); "" when not switched
    double recall = 0.0;          ///< recall@k of the green HNSW against exact search on the sample
    std::size_t sample = 0;       ///< queries in the check
    std::size_t k = 0;            ///< k of the check (min(config k, documents))
    double min_recall = 0.0;      ///< the threshold applied
    std::size_t documents = 0;    ///< documents embedded
    std::size_t dim = 0;          ///< the encoder's dimension
    double seconds_embed = 0.0;   ///< re-embedding every document
    double seconds_build = 0.0;   ///< building the HNSW graph
    double seconds_check = 0.0;   ///< the recall check (exact index + both searches)
    double seconds_publish = 0.0; ///< saving files and the registry commits (0 without registry)
};

inline void to_json(nlohmann::json& j, const rebuild_report& r) {
    j = nlohmann::json{{"switched", r.switched},
                       {"reason", r.reason},
                       {"version", r.version},
                       {"recall", r.recall},
                       {"sample", r.sample},
                       {"k", r.k},
                       {"min_recall", r.min_recall},
                       {"documents", r.documents},
                       {"dim", r.dim},
                       {"seconds_embed", r.seconds_embed},
                       {"seconds_build", r.seconds_build},
                       {"seconds_check", r.seconds_check},
                       {"seconds_publish", r.seconds_publish}};
}

}  // namespace aitl
