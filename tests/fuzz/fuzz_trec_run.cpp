// libFuzzer target: a TREC run file (read_trec_run). aitl has no C++ reader of BEIR
// queries.jsonl (aitl.beir.load_queries is Python: tests/fuzz/python/fuzz_beir.py), so the
// eval reader besides qrels fuzzed here is the run reader.
#include <aitl/eval/trec.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = aitl_fuzz::write_file("input.run", aitl_fuzz::as_view(data, size));
    try {
        const aitl::run r = aitl::read_trec_run(path);
        for (const auto& [qid, hits] : r)
            for (std::size_t i = 1; i < hits.size(); ++i)
                if (!aitl::trec_before(hits[i - 1].id, hits[i - 1].score, hits[i].id, hits[i].score)) {
                    std::fprintf(stderr, "read_trec_run: hits of query '%s' not in trec_eval order at %zu\n",
                                 qid.c_str(), i);
                    std::abort();
                }
    } catch (const aitl::error&) {
    }
    return 0;
}
