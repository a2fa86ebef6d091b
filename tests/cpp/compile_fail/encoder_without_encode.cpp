// expect: Encoder must provide `row_matrix encode
#include <aitl/concepts.hpp>
struct no_encode {
    std::size_t dim() const { return 4; }
};
int main() {
    aitl::require_encoder<no_encode>();
}
