// libFuzzer target: the model registry manifest (detail::manifest_from_text, what
// model_registry reads from <dir>/manifest.json); an accepted manifest must survive
// manifest_to_json + manifest_from_text.
#include <aitl/flywheel/registry.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    aitl::detail::registry_manifest m;
    try {
        m = aitl::detail::manifest_from_text(text, "manifest.json");
    } catch (const aitl::error&) {
        return 0;
    }
    const nlohmann::json j = aitl::detail::manifest_to_json(m);
    try {
        const auto back = aitl::detail::manifest_from_text(j.dump(2), "manifest.json");
        if (aitl::detail::manifest_to_json(back) != j) {
            std::fprintf(stderr, "registry manifest: to_json + from_text changed the manifest\n");
            std::abort();
        }
    } catch (const aitl::error& e) {
        std::fprintf(stderr, "registry manifest: manifest_from_text refused manifest_to_json's output: %s\n", e.what());
        std::abort();
    }
    return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
    return aitl_fuzz::mutate_json(data, size, max_size, seed);
}
