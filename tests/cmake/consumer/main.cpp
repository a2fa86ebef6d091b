// A downstream project: includes the umbrella header and uses the library end to end.
#include <aitl/aitl.hpp>

#include <iostream>

int main() {
    aitl::document d{"d1", "Refunds", "Refunds take five days.", nlohmann::json::object(), 1};
    std::cout << "aitl " << aitl::version_string << ": " << d.indexed_text().size() << " chars\n";
    return d.id == "d1" ? 0 : 1;
}
