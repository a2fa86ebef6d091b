// libFuzzer target: the saved models aitl reads back, dispatched on the content:
//  - "AITLHENC..." -> hashed_encoder::load (binary file: magic, version, JSON config, projection);
//  - anything else -> feature_ranker::load (bytes, over a 3-document knowledge base) and
//    reward_model::from_bytes (bytes); each refuses the other's JSON by its "format".
// What loads is then used once (encode, score, rerank), and the JSON models must survive
// save + load.
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/learn/reward_model.hpp>
#include <aitl/rerank/feature_ranker.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>

#include "fuzz_common.hpp"

namespace {

const aitl::knowledge_base& kb() {
    static const aitl::knowledge_base* k = [] {
        auto* out = new aitl::knowledge_base;
        out->add({"d1", "Refunds", "Refunds take five working days.", nlohmann::json::object(), 1});
        out->add({"d2", "Delivery", "Parcels ship within two days.", nlohmann::json::object(), 1});
        out->add({"d3", "", "Reset your password from the login page.", nlohmann::json::object(), 1});
        return out;
    }();
    return *k;
}

[[noreturn]] void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "%s: %s\n", what, detail.c_str());
    std::abort();
}

void hashed_encoder(std::string_view input) {
    const std::string path = aitl_fuzz::write_file("encoder.bin", input);
    try {
        const aitl::hashed_encoder enc = aitl::hashed_encoder::load(path);
        (void)enc.encode({"where is my parcel", ""});
    } catch (const aitl::error&) {
    }
}

void feature_ranker(const std::string& bytes) {
    std::string saved;
    const aitl::hits candidates{{"d1", 2.0f}, {"d2", 1.0f}, {"d3", 0.5f}};
    try {
        const aitl::feature_ranker r = aitl::feature_ranker::load(bytes, kb());
        (void)r.rerank("refund delivery", candidates, 2);
        saved = r.save();
    } catch (const aitl::error&) {
        return;
    }
    try {
        const aitl::feature_ranker back = aitl::feature_ranker::load(saved, kb());
        if (back.save() != saved) fail("feature_ranker: save + load changed the model", saved);
    } catch (const aitl::error& e) {
        fail("feature_ranker: load refused what save wrote", e.what());
    }
}

void reward_model(const std::string& bytes) {
    std::string saved;
    try {
        const aitl::reward_model m = aitl::reward_model::from_bytes(bytes);
        (void)m.score("how long do refunds take", "Refunds take five working days.",
                      {"Refunds take five working days."});
        saved = m.to_bytes();
    } catch (const aitl::error&) {
        return;
    }
    try {
        const aitl::reward_model back = aitl::reward_model::from_bytes(saved);
        if (back.to_bytes() != saved) fail("reward_model: to_bytes + from_bytes changed the model", saved);
    } catch (const aitl::error& e) {
        fail("reward_model: from_bytes refused what to_bytes wrote", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = aitl_fuzz::as_view(data, size);
    if (input.substr(0, 8) == "AITLHENC") {
        hashed_encoder(input);
        return 0;
    }
    const std::string bytes(input);
    feature_ranker(bytes);
    reward_model(bytes);
    return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
    return aitl_fuzz::mutate_json(data, size, max_size, seed);
}
