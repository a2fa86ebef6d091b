// expect: Generator must provide `generated_reply generate
#include <aitl/concepts.hpp>
struct not_a_generator {
    aitl::generated_reply generate(std::string_view, const std::vector<aitl::reference>&) const { return {}; }
    std::vector<std::string> variants() const { return {"default"}; }
};
int main() {
    aitl::require_generator<not_a_generator>();
}
