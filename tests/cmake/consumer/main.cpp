// A downstream project: the umbrella header, plus hnsw.hpp in this one translation unit.
#include <aitl/aitl.hpp>
#include <aitl/retrieval/hnsw.hpp>

#include <filesystem>
#include <iostream>

int main() {
    aitl::knowledge_base kb;
    kb.add({"refund", "Refunds", "Refunds reach your card within five days.", nlohmann::json::object(), 1});
    kb.add({"login", "Sign-in problems", "Reset your password from the sign-in page.", nlohmann::json::object(), 1});

    aitl::bm25 lexical;
    lexical.add(kb);
    aitl::hashed_encoder encoder;
    aitl::dense_retriever<aitl::hashed_encoder, aitl::hnsw_index> dense(
        encoder, aitl::hnsw_index(encoder.dim(), aitl::similarity::cosine));
    dense.add(kb);
    aitl::hybrid<aitl::bm25, decltype(dense)> hybrid(std::move(lexical), std::move(dense));

    const aitl::hits top = hybrid.search("when will my refund arrive", 1);
    aitl::run run{{"q1", top}};
    aitl::qrels judged{{"q1", {{"refund", 1}}}};
    const double recall = aitl::evaluate(judged, run, std::vector<std::string>{"recall@1"}).mean.at("recall@1");

    // The feedback store links SQLite through aitl::aitl.
    const auto db = std::filesystem::temp_directory_path() / "aitl_consumer_store.db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);
    aitl::impression imp;
    imp.case_id = "case-1";
    imp.query = "when will my refund arrive";
    imp.shown = {{top.at(0).id, 1, top.at(0).score}};
    aitl::annotation label;
    label.annotator = "agent-1";
    label.body = aitl::knowledge_relevance{{{top.at(0).id, true}}, {}};
    std::size_t stored = 0;
    {
        aitl::sqlite_store store(db.string());
        label.impression_id = store.append(imp);
        store.append(label);
        stored = store.stats().annotations();
    }
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);

    std::cout << "aitl " << aitl::version_string << ": top hit " << top.at(0).id << ", recall@1 " << recall
              << ", stored annotations " << stored << "\n";
    return recall == 1.0 && stored == 1 ? 0 : 1;
}
