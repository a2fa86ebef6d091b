// expect: Store must provide `std::vector<annotation> annotations_since
#include <aitl/concepts.hpp>
struct no_feed {
    std::string append(const aitl::impression& i) { return i.id; }
    std::string append(const aitl::annotation& a) { return a.id; }
    aitl::impression get_impression(std::string_view) const { return {}; }
    std::vector<aitl::annotation> all() const { return {}; }
};
int main() {
    aitl::require_store<no_feed>();
}
