// Search a help centre with BM25, dense (HNSW) and hybrid retrieval, then evaluate them.
//   example_01_search [BEIR_DIR]        (default: examples/data/helpcentre)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <aitl/eval/metrics.hpp>
#include <aitl/eval/qrels.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/retrieval/bm25.hpp>
#include <aitl/retrieval/dense.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>
#include <aitl/retrieval/hnsw.hpp>
#include <aitl/retrieval/hybrid.hpp>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

// queries.jsonl: one {"_id": ..., "text": ...} per line.
std::map<std::string, std::string> read_queries(const fs::path& file) {
    std::map<std::string, std::string> queries;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) {
            auto j = nlohmann::json::parse(line);
            queries[j.at("_id").get<std::string>()] = j.at("text").get<std::string>();
        }
    return queries;
}

template <class Retriever>
aitl::evaluation evaluate(const Retriever& r, const std::map<std::string, std::string>& queries,
                          const aitl::qrels& judgements, const std::vector<std::string>& metrics) {
    aitl::run run;
    for (const auto& [id, text] : queries) run[id] = r.search(text, 10);
    return aitl::evaluate(judgements, run, metrics);
}

int run(const fs::path& data) {
    const auto kb = aitl::knowledge_base::load_beir(data.string());  // corpus.jsonl
    const auto queries = read_queries(data / "queries.jsonl");
    const aitl::qrels judgements = aitl::read_qrels(data / "qrels" / "test.tsv");
    std::printf("%zu articles, %zu questions\n", kb.size(), queries.size());

    aitl::bm25 bm25;  // stemmed, English stop words removed
    bm25.add(kb);

    // Dense: hashed n-gram encoder (no model weights) into an HNSW index.
    aitl::hashed_encoder encoder;  // 256 dims
    aitl::dense_retriever<aitl::hashed_encoder, aitl::hnsw_index> dense(
        encoder, aitl::hnsw_index(encoder.dim(), aitl::similarity::cosine));
    dense.add(kb);

    // Hybrid: reciprocal rank fusion of both rankings (it owns both retrievers).
    aitl::hybrid<aitl::bm25, decltype(dense)> hybrid(std::move(bm25), std::move(dense),
                                                     aitl::fusion_config{aitl::fusion_method::rrf, 60.0f});

    std::printf("\nTop 3 for \"my card keeps getting rejected at checkout\":\n");
    for (const aitl::hit& h : hybrid.search("my card keeps getting rejected at checkout", 3))
        std::printf("  %-20s %.4f  %s\n", h.id.c_str(), h.score, kb.get(h.id).title.c_str());

    const std::vector<std::string> metrics{"recall@1", "recall@5", "ndcg@10", "mrr@10"};
    std::printf("\n%-10s", "retriever");
    for (const auto& m : metrics) std::printf("%11s", m.c_str());
    std::printf("\n");
    const aitl::evaluation results[] = {evaluate(hybrid.first(), queries, judgements, metrics),
                                        evaluate(hybrid.second(), queries, judgements, metrics),
                                        evaluate(hybrid, queries, judgements, metrics)};
    const char* names[] = {"bm25", "dense", "hybrid"};
    for (int i = 0; i < 3; ++i) {
        std::printf("%-10s", names[i]);
        for (const auto& m : metrics) std::printf("%11.3f", results[i].mean.at(m));
        std::printf("\n");
    }

    // The floor the test relies on: hybrid finds the right article in its top 5 for most questions.
    const double recall5 = results[2].mean.at("recall@5");
    if (results[2].queries != queries.size() || recall5 < 0.6) {
        std::fprintf(stderr, "hybrid recall@5 too low: %.3f < 0.6\n", recall5);
        return 1;
    }
    return 0;
}

int main(int argc, char** argv) {
    const fs::path data = argc > 1 ? fs::path(argv[1])
                                   : fs::path(__FILE__).parent_path().parent_path() / "data" / "helpcentre";
    try {
        return run(data);
    } catch (const std::exception& e) {  // aitl::error and nlohmann::json's parse errors
        std::fprintf(stderr, "example_01_search: %s\n", e.what());
        return 1;
    }
}
