// expect: Store must provide `impression get_impression
#include <aitl/concepts.hpp>
struct write_only {
    std::string append(const aitl::impression& i) { return i.id; }
    std::string append(const aitl::annotation& a) { return a.id; }
    std::vector<aitl::annotation> annotations_since(std::int64_t, std::size_t) const { return {}; }
};
int main() {
    aitl::require_store<write_only>();
}
