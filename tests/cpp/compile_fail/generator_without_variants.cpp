// expect: Generator must provide `std::vector<std::string> variants
#include <aitl/concepts.hpp>
struct not_a_generator {
    aitl::generated_reply generate(std::string_view, const std::vector<aitl::reference>&, std::string_view) const {
        return {};
    }
};
int main() {
    aitl::require_generator<not_a_generator>();
}
