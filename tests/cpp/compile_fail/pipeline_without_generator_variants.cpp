// expect: Generator must provide `std::vector<std::string> variants
#include <aitl/pipeline.hpp>
// A generator without variants(): basic_pipeline refuses it when it is assembled.
struct no_variants {
    aitl::generated_reply generate(std::string_view, const std::vector<aitl::reference>&, std::string_view) const {
        return {};
    }
};
int main() {
    aitl::knowledge_base kb;
    aitl::basic_pipeline<aitl::retriever_model, aitl::identity_reranker, no_variants, aitl::store_model> p(
        kb, aitl::retriever_model{}, aitl::identity_reranker{}, no_variants{}, aitl::store_model{});
}
