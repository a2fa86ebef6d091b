// A downstream project: the umbrella header, plus hnsw.hpp in this one translation unit.
#include <aitl/aitl.hpp>
#include <aitl/retrieval/hnsw.hpp>

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
    std::cout << "aitl " << aitl::version_string << ": top hit " << top.at(0).id << ", recall@1 " << recall << "\n";
    return recall == 1.0 ? 0 : 1;
}
