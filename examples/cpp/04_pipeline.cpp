// Serve support cases through the pipeline (BM25 top-75 -> reranker top-8 -> champion and
// challenger replies on randomised sides -> impression logged), record an agent's annotations,
// and swap in a retrained reranker while serving.
//   example_04_pipeline [BEIR_DIR]        (default: examples/data/helpcentre)
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <aitl/pipeline.hpp>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    fs::path data = argc > 1 ? fs::path(argv[1]) : fs::path(__FILE__).parent_path().parent_path() / "data" / "helpcentre";
    auto kb = aitl::knowledge_base::load_beir(data.string());
    fs::path dir = fs::temp_directory_path() / "aitl_example_04";
    fs::remove_all(dir);
    fs::create_directories(dir);

    aitl::bm25 bm25;
    bm25.add(kb);
    aitl::pipeline_config cfg;  // k = 75, n = 8, variants "top" (A) and "coverage" (B)
    cfg.models = {{"retriever", "bm25@1"}, {"reranker", "untrained@0"}, {"generator", "extractive@1"}};
    aitl::pipeline p(kb, std::move(bm25), aitl::feature_ranker(kb), aitl::extractive_generator(),
                     aitl::sqlite_store((dir / "feedback.db").string()), cfg);

    aitl::impression imp = p.suggest({"case-1001", "my card was declined at checkout"});
    std::printf("impression %s: %zu retrieved, %zu shown\n", imp.id.c_str(), imp.retrieved.size(), imp.shown.size());
    for (const auto& r : imp.replies)
        std::printf("  %-8s (%s): %.70s...\n", r.variant.c_str(), std::string(aitl::to_string(r.position)).c_str(),
                    r.text.c_str());

    // The agent's feedback, validated against what was shown.
    aitl::annotation a;
    a.impression_id = imp.id;
    a.annotator = "agent-01";
    a.timestamp_ms = imp.timestamp_ms + 5000;
    a.body = aitl::knowledge_relevance{{{imp.shown[0].doc_id, true}, {imp.shown[1].doc_id, false}}, {}};
    p.record(a);
    a.body = aitl::knowledge_relevance{{{"not-shown", true}}, {}};
    try {
        p.record(a);
    } catch (const aitl::config_error& e) {
        std::printf("refused: %s\n", e.what());
    }

    // A reranker trained on that feedback is swapped in while serving; models are logged with it.
    aitl::feature_ranker_config rc;
    rc.model = aitl::ranker_kind::linear;
    aitl::feature_ranker ranker(kb, rc);
    aitl::ranking_list list;
    list.query = imp.query;
    list.candidates = p.retriever()->search(imp.query, 75);
    list.labels = {{imp.shown[0].doc_id, 1.0}};
    ranker.fit({list});
    p.set_reranker(std::move(ranker), "linear@1");
    auto batch = p.suggest_many({{"case-1002", "how do I return a sofa"}, {"case-1003", "card declined twice"}});
    for (const auto& i : batch)
        std::printf("%s: reranker %s, top %s, reply A on the %s\n", i.case_id.c_str(), i.models.at("reranker").c_str(),
                    i.shown.empty() ? "-" : i.shown[0].doc_id.c_str(),
                    std::string(aitl::to_string(i.replies[0].position)).c_str());
    auto stats = p.store().stats();
    std::printf("store: %zu impressions, %zu annotations\n", stats.impressions, stats.annotations());
    return stats.impressions == 3 && stats.annotations() == 1 ? 0 : 1;
}
