// expect: Store must provide `std::string append.const annotation
#include <aitl/concepts.hpp>
struct impressions_only {
    std::string append(const aitl::impression& i) { return i.id; }
    aitl::impression get_impression(std::string_view) const { return {}; }
    std::vector<aitl::annotation> annotations_since(std::int64_t, std::size_t) const { return {}; }
};
int main() {
    aitl::require_store<impressions_only>();
}
