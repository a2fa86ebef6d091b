// expect: Encoder must provide `row_matrix encode
#include <aitl/retrieval/dense.hpp>
#include <aitl/retrieval/exact.hpp>
struct only_dim {
    std::size_t dim() const { return 4; }
};
int main() {
    aitl::dense_retriever<only_dim, aitl::exact_index> dense(only_dim{}, aitl::exact_index(4));
    (void)dense;
}
