// expect: Encoder must provide `std::size_t dim\(\) const`
#include <aitl/concepts.hpp>
struct no_dim {
    aitl::row_matrix encode(const std::vector<std::string>&) const { return {}; }
};
int main() {
    aitl::require_encoder<no_dim>();
}
