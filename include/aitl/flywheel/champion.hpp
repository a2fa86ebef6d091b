#pragma once
/// @file champion.hpp
/// @brief Serving a registry version from C++, with no Python: the serving recipe a version
/// carries (`serving.json`) and `load_champion`, which composes BM25, the trained dense
/// retrievers (weighted RRF) and the trained feature ranker into one retriever.
///
/// The flywheel (Python) writes `serving.json` next to a version's artifacts; a C++ service opens
/// the same registry, loads the champion and swaps it into its pipeline with its version:
/// @code
/// aitl::model_registry reg("flywheel/work/registry");
/// aitl::served_champion c = aitl::load_champion(reg, kb);
/// pipeline.set_retriever(c.retriever, c.model_name());   // e.g. "bm25+dense+ranker@v000004"
/// @endcode

#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detail/config_json.hpp"
#include "../detail/durable_file.hpp"
#include "../detail/json_parse.hpp"
#include "../error.hpp"
#include "../kb/knowledge_base.hpp"
#include "../rerank/feature_ranker.hpp"
#include "../retrieval/any_retriever.hpp"
#include "../retrieval/bm25.hpp"
#include "../retrieval/dense.hpp"
#include "../retrieval/exact.hpp"
#include "../retrieval/fused.hpp"
#include "../retrieval/hashed_encoder.hpp"
#include "../retrieval/reranked.hpp"
#include "registry.hpp"

namespace aitl {

/// @brief One trained dense retriever of a recipe: a hashed encoder saved as a version's file.
struct serving_dense {
    std::string encoder;  ///< artifact name of a `hashed_encoder::save` file, e.g. "encoder.bin"
    double weight = 0.0;  ///< its RRF weight next to BM25's 1 (0: trained but not served)
};

/**
 * @brief How a registry version is served: BM25 (weight 1) fused by weighted RRF with the dense
 * retrievers whose weight is > 0, over a pool of `pool` candidates, then reranked by the feature
 * ranker when there is one. Stored as the artifact `serving.json`:
 * `{"format": "aitl.serving", "version": 1, "pool": 300, "rrf_k": 60, "dense": [{"encoder":
 * "encoder.bin", "weight": 0.5}], "ranker": "ranker.bin", "ranker_encoder": "encoder.bin"}`
 * (`ranker` and `ranker_encoder` may be null).
 */
struct serving_recipe {
    std::size_t pool = 300;             ///< candidates fused and reranked, >= 1
    double rrf_k = 60.0;                ///< RRF's rank offset, finite, >= 0
    std::vector<serving_dense> dense;   ///< trained dense retrievers
    std::string ranker;                 ///< artifact name of a `feature_ranker::save` file; "": none
    std::string ranker_encoder;         ///< encoder of the ranker's dense feature; "": none

    /// @returns What is served, e.g. "bm25+dense+ranker" (the first part of a model name).
    std::string kind() const {
        bool fused = false;
        for (const auto& d : dense) fused = fused || d.weight > 0.0;
        return std::string("bm25") + (fused ? "+dense" : "") + (ranker.empty() ? "" : "+ranker");
    }

    /// @throws config_error naming the first invalid field.
    void validate() const {
        const std::string w = "serving_recipe::validate";
        if (pool == 0) throw config_error(w + ": pool must be positive (got 0, expected >= 1)");
        if (!(std::isfinite(rrf_k) && rrf_k >= 0.0))
            throw config_error(w + ": rrf_k out of range (got " + std::to_string(rrf_k) + ", expected a finite value >= 0)");
        for (std::size_t i = 0; i < dense.size(); ++i) {
            if (dense[i].encoder.empty())
                throw config_error(w + ": dense[" + std::to_string(i) + "].encoder is empty (expected an artifact name)");
            if (!(std::isfinite(dense[i].weight) && dense[i].weight >= 0.0))
                throw config_error(w + ": dense[" + std::to_string(i) + "].weight out of range (got " +
                                   std::to_string(dense[i].weight) + ", expected a finite value >= 0)");
        }
        if (ranker.empty() && !ranker_encoder.empty())
            throw config_error(w + ": ranker_encoder without a ranker (got '" + ranker_encoder + "', expected none)");
    }
};

inline void to_json(nlohmann::json& j, const serving_recipe& r) {
    nlohmann::json dense = nlohmann::json::array();
    for (const auto& d : r.dense) dense.push_back({{"encoder", d.encoder}, {"weight", d.weight}});
    auto name = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
    j = nlohmann::json{{"format", "aitl.serving"}, {"version", 1},          {"pool", r.pool},
                       {"rrf_k", r.rrf_k},         {"dense", std::move(dense)}, {"ranker", name(r.ranker)},
                       {"ranker_encoder", name(r.ranker_encoder)}};
}

/// @throws config_error on an unknown key, a wrong type, another format or version, or an
/// invalid value (named).
inline void from_json(const nlohmann::json& j, serving_recipe& r) {
    const char* t = "serving_recipe";
    detail::config_check_keys(j, t, {"format", "version", "pool", "rrf_k", "dense", "ranker", "ranker_encoder"});
    if (j.value("format", nlohmann::json()) != nlohmann::json("aitl.serving") ||
        j.value("version", nlohmann::json()) != nlohmann::json(1))
        throw config_error(std::string(t) + ": not a serving recipe of version 1 (got format " +
                           j.value("format", nlohmann::json()).dump() + ", version " +
                           j.value("version", nlohmann::json()).dump() + ", expected \"aitl.serving\", 1)");
    detail::config_read_key(j, t, "pool", r.pool);
    detail::config_read_key(j, t, "rrf_k", r.rrf_k);
    r.dense.clear();
    if (auto it = j.find("dense"); it != j.end()) {
        if (!it->is_array()) throw config_error(std::string(t) + ": field 'dense' has the wrong type (got " + it->type_name() + ", expected array)");
        for (const auto& d : *it) {
            const std::string at = std::string(t) + ".dense[" + std::to_string(r.dense.size()) + "]";
            if (!d.is_object()) throw config_error(at + ": wrong type (got " + std::string(d.type_name()) + ", expected object)");
            detail::config_check_keys(d, at.c_str(), {"encoder", "weight"});
            serving_dense x;
            detail::config_read_key(d, at.c_str(), "encoder", x.encoder);
            detail::config_read_key(d, at.c_str(), "weight", x.weight);
            r.dense.push_back(std::move(x));
        }
    }
    for (auto [key, field] : {std::pair<const char*, std::string*>{"ranker", &r.ranker}, {"ranker_encoder", &r.ranker_encoder}}) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) field->clear();
        else detail::config_read_key(j, t, key, *field);
    }
    r.validate();
}

/**
 * @brief A registry version ready to serve: its recipe and the composed retriever.
 * @note Thread safety: `retriever` may be searched from several threads.
 */
struct served_champion {
    std::string version;     ///< the registry version ("base" when the registry has no champion)
    serving_recipe recipe;   ///< how it is served
    any_retriever retriever; ///< reranked(fused({bm25, dense...}, weights), ranker), or a part of it
    /// @returns The impression model name, e.g. "bm25+dense+ranker@v000004".
    std::string model_name() const { return recipe.kind() + "@" + version; }
};

/**
 * @brief Loads a registry version for serving over `kb`, with no Python: BM25 built over `kb`,
 * each dense retriever with weight > 0 (its hashed encoder file, exact cosine search over `kb`),
 * fused by weighted RRF (BM25 weight 1) over `recipe.pool` candidates, then reranked over the
 * pool by the feature ranker (its encoder attached when the model uses the dense feature).
 *
 * Every file is read through `registry.file()`, so it is verified against the manifest's SHA-256.
 *
 * @param version "" = the champion; with no champion, plain BM25 as version "base".
 * @throws not_found for an unknown version or a version without `serving.json`; io_error for a
 *         missing or tampered file; parse_error / config_error for an invalid recipe or model.
 */
template <class Mutex>
served_champion load_champion(const basic_model_registry<Mutex>& registry, const knowledge_base& kb,
                              std::string version = {}) {
    const char* w = "aitl::load_champion";
    auto lexical = std::make_shared<bm25>();
    lexical->add(kb);
    served_champion out;
    if (version.empty()) {
        const auto c = registry.champion();
        if (!c) {
            out.version = "base";
            out.retriever = any_retriever(std::shared_ptr<const bm25>(std::move(lexical)));
            return out;
        }
        version = c->version;
    }
    const model_version v = registry.get(version);
    if (!v.has_artifact("serving.json"))
        throw not_found(std::string(w) + ": version " + version +
                        " has no serving.json (got the artifacts of a version written without a serving recipe, "
                        "expected one published by the flywheel or by a C++ program)");
    const auto recipe_path = registry.file(version, "serving.json");
    const nlohmann::json j =
        detail::parse_json(detail::read_file(recipe_path, w), recipe_path.string(), 0, w, "serving.json");
    out.version = version;
    out.recipe = j.get<serving_recipe>();
    const serving_recipe& r = out.recipe;

    std::vector<any_retriever> parts{any_retriever(std::shared_ptr<const bm25>(lexical))};
    std::vector<double> weights{1.0};
    using dense_type = dense_retriever<hashed_encoder, exact_index>;
    for (const auto& d : r.dense) {
        if (d.weight <= 0.0) continue;
        hashed_encoder enc = hashed_encoder::load(registry.file(version, d.encoder).string());
        const std::size_t dim = enc.dim();
        auto dense = std::make_shared<dense_type>(std::move(enc), exact_index(dim, similarity::cosine));
        dense->add(kb);
        parts.emplace_back(std::shared_ptr<const dense_type>(std::move(dense)));
        weights.push_back(d.weight);
    }
    any_retriever first = parts.size() == 1
                              ? parts.front()
                              : any_retriever(fused(std::move(parts), std::move(weights), r.pool, r.rrf_k));
    if (r.ranker.empty()) {
        out.retriever = std::move(first);
        return out;
    }
    auto ranker = std::make_shared<feature_ranker>(
        feature_ranker::load(detail::read_file(registry.file(version, r.ranker), w), kb));
    if (!r.ranker_encoder.empty()) {
        auto enc = std::make_shared<const hashed_encoder>(
            hashed_encoder::load(registry.file(version, r.ranker_encoder).string()));
        ranker->features().set_encoder([enc](const std::vector<std::string>& t) { return enc->encode(t); });
    }
    if (ranker->uses_dense() && !ranker->features().has_encoder())
        throw config_error(std::string(w) + ": the ranker of " + version +
                           " uses the dense feature but the recipe names no ranker_encoder (got none, expected an "
                           "encoder artifact)");
    out.retriever = any_retriever(reranked<any_retriever, feature_ranker>(
        std::move(first), std::shared_ptr<const feature_ranker>(std::move(ranker)), r.pool));
    return out;
}

}  // namespace aitl
