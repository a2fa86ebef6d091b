// expect: Store must provide `std::string append.const impression
#include <aitl/concepts.hpp>
struct annotations_only {
    std::string append(const aitl::annotation& a) { return a.id; }
    aitl::impression get_impression(std::string_view) const { return {}; }
    std::vector<aitl::annotation> annotations_since(std::int64_t, std::size_t) const { return {}; }
};
int main() {
    aitl::require_store<annotations_only>();
}
