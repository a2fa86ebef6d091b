// libFuzzer target: an HNSW index as hnsw_index::save writes it (hnsw_index::load), then
// used: what load accepts must be searchable and extendable.
//
// Input: the metadata JSON (`<path>.aitl.json`), a NUL byte, the hnswlib index file. When the
// metadata object lacks "file_bytes" or "checksum", the harness fills in the true values, so
// mutations of the index file reach the header checks and hnswlib's reader instead of stopping
// at the checksum (which guards against truncation, not against crafted files). Without a NUL
// the whole input is the metadata and the index file is empty.
#include <aitl/retrieval/hnsw.hpp>

#include <cstring>
#include <vector>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = aitl_fuzz::as_view(data, size);
    const std::size_t nul = input.find('\0');
    std::string meta(input.substr(0, nul));
    const std::string_view index = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
    const std::string path = aitl_fuzz::write_file("index.hnsw", index);
    nlohmann::json j = nlohmann::json::parse(meta, nullptr, false);
    if (j.is_object() && (!j.contains("file_bytes") || !j.contains("checksum"))) {
        std::uint64_t bytes = 0;
        const std::uint64_t sum = aitl::detail::hnsw_file_checksum(path, bytes);
        if (!j.contains("file_bytes")) j["file_bytes"] = bytes;
        if (!j.contains("checksum")) j["checksum"] = sum;
        meta = j.dump();
    }
    aitl_fuzz::write_file("index.hnsw.aitl.json", meta);
    try {
        aitl::hnsw_index_st idx = aitl::hnsw_index_st::load(path);
        if (idx.dim() > 1024) return 0;  // a valid but large index: the query below would be big
        std::vector<float> q(idx.dim(), 1.0f);
        (void)idx.search(q, 3);
        aitl::label_t fresh = 0;
        while (idx.contains(fresh)) ++fresh;
        idx.add(fresh, q);
        (void)idx.search(q, 5);
        idx.remove(fresh);
        (void)idx.search(q, 1);
    } catch (const aitl::error&) {
    }
    return 0;
}

// The JSON mutation applies to the metadata, the part before the NUL.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
    std::minstd_rand rng(seed);
    const std::string_view input = aitl_fuzz::as_view(data, size);
    const std::size_t nul = input.find('\0');
    if (nul != std::string_view::npos && rng() % 2 == 0) {
        std::string meta(input.substr(0, nul));
        if (aitl_fuzz::mutate_json_text(meta, rng) && meta.size() + (size - nul) <= max_size) {
            std::string out = meta + std::string(input.substr(nul));
            std::memcpy(data, out.data(), out.size());
            return out.size();
        }
    }
    return LLVMFuzzerMutate(data, size, max_size);
}
