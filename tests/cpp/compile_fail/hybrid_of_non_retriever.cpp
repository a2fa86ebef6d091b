// expect: Retriever must provide `hits search
#include <aitl/retrieval/any_retriever.hpp>
#include <aitl/retrieval/hybrid.hpp>
struct not_a_retriever {
    int find(int) const { return 0; }
};
int main() {
    aitl::hybrid<aitl::any_retriever, not_a_retriever> h(aitl::any_retriever(), not_a_retriever{});
    (void)h;
}
