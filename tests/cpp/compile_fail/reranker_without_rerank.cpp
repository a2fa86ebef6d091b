// expect: Reranker must provide `hits rerank
#include <aitl/concepts.hpp>
struct not_a_reranker {
    aitl::hits rerank(std::string_view, std::size_t) const { return {}; }
};
int main() {
    aitl::require_reranker<not_a_reranker>();
}
