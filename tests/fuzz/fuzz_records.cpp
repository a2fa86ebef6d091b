// libFuzzer target: impression / annotation records as a store JSONL export
// (sqlite_store::import_jsonl: the header line, then one JSON record per line, each read by
// the strict record readers of detail/record_json.hpp and validated).
//
// Every input is checked by detail::read_store_jsonl (import_jsonl's reading half, no
// database); an input it accepts is imported into a fresh store, exported, imported into a
// second fresh store and exported again: both exports must be equal.
#include <aitl/store/sqlite_store.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "fuzz_common.hpp"

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void remove_store(const std::string& path) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix, ec);
}

// Imports `jsonl` into a new store at `db` and exports it to `out`.
void import_export(const std::string& db, const std::string& jsonl, const std::string& out) {
    remove_store(db);
    aitl::sqlite_store_config config;
    config.durability_mode = aitl::durability::normal;
    aitl::sqlite_store_st store(db, config);
    store.import_jsonl(jsonl);
    store.export_jsonl(out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = aitl_fuzz::write_file("input.jsonl", aitl_fuzz::as_view(data, size));
    try {
        (void)aitl::detail::read_store_jsonl(path);
    } catch (const aitl::error&) {
        return 0;
    }
    const auto& dir = aitl_fuzz::scratch_dir();
    const std::string db1 = (dir / "a.db").string(), db2 = (dir / "b.db").string();
    const std::string out1 = (dir / "a.jsonl").string(), out2 = (dir / "b.jsonl").string();
    try {
        import_export(db1, path, out1);
    } catch (const aitl::parse_error&) {
        return 0;  // checks against the store: unknown impression, an annotation that does not fit it, seq order
    }
    try {
        import_export(db2, out1, out2);
    } catch (const aitl::error& e) {
        std::fprintf(stderr, "sqlite_store: import_jsonl refused what export_jsonl wrote: %s\n", e.what());
        std::abort();
    }
    if (slurp(out1) != slurp(out2)) {
        std::fprintf(stderr, "sqlite_store: export -> import -> export changed the file\n");
        std::abort();
    }
    remove_store(db1);
    remove_store(db2);
    return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
    return aitl_fuzz::mutate_json(data, size, max_size, seed);
}
