// expect: Retriever must provide `hits search
#include <aitl/concepts.hpp>
struct not_a_retriever {
    int find(int) const { return 0; }
};
int main() {
    aitl::require_retriever<not_a_retriever>();
}
