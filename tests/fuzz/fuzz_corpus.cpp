// libFuzzer target: a knowledge-base corpus file, read as BEIR corpus.jsonl
// (knowledge_base::load_beir) and as aitl's JSONL (knowledge_base::load_jsonl); what
// load_jsonl accepts must survive save_jsonl + load_jsonl unchanged.
#include <aitl/kb/knowledge_base.hpp>

#include "fuzz_common.hpp"

namespace {

[[noreturn]] void round_trip_failure(const char* what) {
    std::fprintf(stderr, "knowledge_base: save_jsonl + load_jsonl round trip: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = aitl_fuzz::write_file("corpus.jsonl", aitl_fuzz::as_view(data, size));
    try {
        const aitl::knowledge_base kb = aitl::knowledge_base::load_beir(path);
        for (const auto& d : kb) (void)kb.get(d.id);
    } catch (const aitl::error&) {
    }
    aitl::knowledge_base kb;
    try {
        kb = aitl::knowledge_base::load_jsonl(path);
    } catch (const aitl::error&) {
        return 0;
    }
    const std::string copy = (aitl_fuzz::scratch_dir() / "copy.jsonl").string();
    kb.save_jsonl(copy);
    try {
        const aitl::knowledge_base back = aitl::knowledge_base::load_jsonl(copy);
        if (back.size() != kb.size()) round_trip_failure("the number of documents changed");
        for (const auto& d : kb) {
            const aitl::document* b = back.find(d.id);
            if (b == nullptr) round_trip_failure("a document id was lost");
            if (b->title != d.title || b->text != d.text || b->metadata != d.metadata || b->version != d.version)
                round_trip_failure("a document changed");
        }
    } catch (const aitl::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        round_trip_failure("load_jsonl refused what save_jsonl wrote");
    }
    return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
    return aitl_fuzz::mutate_json(data, size, max_size, seed);
}
