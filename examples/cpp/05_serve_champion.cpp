// Serve the champion of a model registry from C++, with no Python: load_champion composes BM25,
// the trained dense retriever (weighted RRF) and the trained feature ranker into one retriever,
// and the pipeline logs every impression with the registry version that served it.
//   example_05_serve_champion REGISTRY_DIR BEIR_DIR   serve what a flywheel published
//                                                     (e.g. flywheel/work/registry and the data)
//   example_05_serve_champion                         publish two versions here first, on
//                                                     examples/data/helpcentre, then serve, roll back
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <aitl/eval/qrels.hpp>
#include <aitl/flywheel/champion.hpp>
#include <aitl/flywheel/registry.hpp>
#include <aitl/kb/queries.hpp>
#include <aitl/pipeline.hpp>

namespace fs = std::filesystem;

// A version trained in C++: a feature ranker (linear LambdaRank) on the qrels of the first
// `n` questions over BM25's top 50, plus a seeded hashed encoder fused at `weight`.
static std::string publish(aitl::model_registry& reg, const aitl::knowledge_base& kb, const fs::path& data,
                           std::size_t n, double weight, const fs::path& dir) {
    const auto queries = aitl::read_queries((data / "queries.jsonl").string());
    const aitl::qrels truth = aitl::read_qrels(data / "qrels" / "test.tsv");
    aitl::bm25 bm25;
    bm25.add(kb);
    std::vector<aitl::ranking_list> lists;
    for (std::size_t i = 0; i < queries.size() && lists.size() < n; ++i) {
        auto it = truth.find(queries[i].first);
        if (it == truth.end()) continue;
        aitl::ranking_list l;
        l.query = queries[i].second;
        l.candidates = bm25.search(l.query, 50);
        for (const auto& [doc, grade] : it->second) l.labels.push_back({doc, static_cast<double>(grade)});
        lists.push_back(std::move(l));
    }
    aitl::feature_ranker_config rc;
    rc.model = aitl::ranker_kind::linear;
    aitl::feature_ranker ranker(kb, rc);
    ranker.fit(lists);
    fs::create_directories(dir);
    ranker.save_file((dir / "ranker.bin").string());
    aitl::hashed_encoder(aitl::hashed_encoder_config{}).save((dir / "encoder.bin").string());
    aitl::serving_recipe recipe;
    recipe.pool = 100;
    recipe.dense = {{"encoder.bin", weight}};
    recipe.ranker = "ranker.bin";
    std::ofstream(dir / "serving.json") << nlohmann::json(recipe).dump(2) << "\n";
    aitl::version_info info;
    info.parent = reg.champion() ? reg.champion()->version : "";
    info.metrics = {{"training_lists", lists.size()}};
    const std::string v = reg.add({{"ranker.bin", dir / "ranker.bin"},
                                   {"encoder.bin", dir / "encoder.bin"},
                                   {"serving.json", dir / "serving.json"}},
                                  info);
    reg.promote(v, {{"reason", "example: published without a gate"}});
    return v;
}

int main(int argc, char** argv) {
    const bool own = argc < 3;
    const fs::path examples = fs::path(__FILE__).parent_path().parent_path();
    const fs::path data = own ? examples / "data" / "helpcentre" : fs::path(argv[2]);
    const fs::path dir = fs::temp_directory_path() / "aitl_example_05";
    if (own) fs::remove_all(dir);
    const auto kb = aitl::knowledge_base::load_beir(data.string());
    aitl::model_registry reg(own ? (dir / "registry").string() : std::string(argv[1]));
    if (own) {
        publish(reg, kb, data, 10, 0.5, dir / "staging" / "a");
        publish(reg, kb, data, 30, 1.0, dir / "staging" / "b");
    }

    // The champion as one C++ retriever, swapped into a pipeline with its version.
    aitl::served_champion champion = aitl::load_champion(reg, kb);
    std::printf("champion %s: %s\n", champion.version.c_str(), champion.model_name().c_str());
    aitl::pipeline_config cfg;
    cfg.models = {{"retriever", champion.model_name()}, {"reranker", "identity@1"}, {"generator", "extractive@1"}};
    fs::create_directories(dir);
    aitl::basic_pipeline<aitl::any_retriever, aitl::identity_reranker, aitl::extractive_generator, aitl::sqlite_store> p(
        kb, champion.retriever, aitl::identity_reranker{}, aitl::extractive_generator(),
        aitl::sqlite_store((dir / (own ? "feedback.db" : "served.db")).string()), cfg);

    const auto queries = aitl::read_queries((data / "queries.jsonl").string());
    std::vector<aitl::support_case> cases;
    for (std::size_t i = 0; i < queries.size() && cases.size() < 3; ++i)
        cases.push_back({queries[i].first, queries[i].second});
    bool ok = true;
    for (const auto& imp : p.suggest_many(cases)) {
        std::printf("  %-10s %s -> %s\n", imp.case_id.c_str(), imp.models.at("retriever").c_str(),
                    imp.shown.empty() ? "-" : imp.shown[0].doc_id.c_str());
        ok = ok && imp.models.at("retriever") == champion.model_name();
    }

    if (own) {  // roll back: the previous version serves, and the impressions say so
        reg.rollback();
        champion = aitl::load_champion(reg, kb);
        p.set_retriever(champion.retriever, champion.model_name());
        const auto imp = p.suggest({"case-rollback", cases.front().query});
        std::printf("after rollback: %s\n", imp.models.at("retriever").c_str());
        ok = ok && champion.version == "v000001" && imp.models.at("retriever") == "bm25+dense+ranker@v000001";
    }
    return ok ? 0 : 1;
}
