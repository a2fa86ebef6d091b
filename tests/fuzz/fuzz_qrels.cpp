// libFuzzer target: a qrels file, BEIR TSV or TREC (read_qrels); what it accepts must be
// written by write_qrels in both formats and read back equal.
#include <aitl/eval/qrels.hpp>

#include "fuzz_common.hpp"

namespace {

[[noreturn]] void round_trip_failure(const char* format, const char* what) {
    std::fprintf(stderr, "qrels: write_qrels(%s) + read_qrels round trip: %s\n", format, what);
    std::abort();
}

// Ids write_qrels refuses (config_error) are allowed to stop the round trip; anything it
// writes must read back to the judgements it was given (queries without judgements dropped).
void round_trip(const aitl::qrels& q, aitl::qrels_format format, const char* name) {
    const std::string copy = (aitl_fuzz::scratch_dir() / "copy.qrels").string();
    try {
        aitl::write_qrels(copy, q, format);
    } catch (const aitl::config_error&) {
        return;
    }
    aitl::qrels expected;
    for (const auto& [qid, judged] : q)
        if (!judged.empty()) expected.emplace(qid, judged);
    try {
        if (aitl::read_qrels(copy) != expected) round_trip_failure(name, "the judgements changed");
    } catch (const aitl::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        round_trip_failure(name, "read_qrels refused what write_qrels wrote");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = aitl_fuzz::write_file("input.qrels", aitl_fuzz::as_view(data, size));
    aitl::qrels q;
    try {
        q = aitl::read_qrels(path);
    } catch (const aitl::error&) {
        return 0;
    }
    round_trip(q, aitl::qrels_format::beir, "beir");
    round_trip(q, aitl::qrels_format::trec, "trec");
    return 0;
}
