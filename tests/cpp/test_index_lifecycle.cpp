// Tests of flywheel/index_lifecycle.hpp: blue/green rebuilds of the dense index with a recall
// check, concurrent searches during a switch, publication to the model registry, and a crash
// test (SIGKILL during rebuild-and-publish, 20 times) on DSTC11 Track 5 FAQs.
#include <aitl/error.hpp>
#include <aitl/flywheel/index_lifecycle.hpp>
#include <aitl/flywheel/registry.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>
#include <aitl/types.hpp>

// hnsw.hpp is included by test_dense.cpp too (see the header).
#define AITL_HNSW_TU_PREFIX aitl_test_index_lifecycle
#include <aitl/detail/hnsw_extra_tu.hpp>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aitl_catch.hpp"

namespace fs = std::filesystem;

using serving = aitl::serving_index<aitl::hashed_encoder, aitl::hnsw_index>;
template class aitl::basic_serving_index<aitl::hashed_encoder, aitl::hnsw_index>;
template class aitl::index_generation<aitl::hashed_encoder, aitl::hnsw_index>;

namespace {

struct faq_data {
    std::vector<aitl::document> docs;    // every DSTC11 FAQ: "domain:entity:faq:id", entity name, Q + A
    std::vector<std::string> questions;  // last user turns of the validation split that need knowledge
};

const faq_data& faqs() {
    static const faq_data data = [] {
        faq_data out;
        const fs::path root = fs::path(AITL_DATA_DIR) / "dstc11-track5";
        const nlohmann::json knowledge = nlohmann::json::parse(std::ifstream(root / "knowledge.json"));
        for (auto& [domain, entities] : knowledge.items())
            for (auto& [entity, e] : entities.items())
                for (auto& [faq_id, faq] : e["faqs"].items())
                    out.docs.push_back(aitl::document{domain + ":" + entity + ":faq:" + faq_id, e.value("name", std::string()),
                                                      faq["question"].get<std::string>() + " " + faq["answer"].get<std::string>()});
        const nlohmann::json logs = nlohmann::json::parse(std::ifstream(root / "val" / "logs.json"));
        const nlohmann::json labels = nlohmann::json::parse(std::ifstream(root / "val" / "labels.json"));
        for (std::size_t i = 0; i < logs.size() && out.questions.size() < 400; ++i)
            if (labels[i]["target"].get<bool>()) out.questions.push_back(logs[i].back()["text"].get<std::string>());
        return out;
    }();
    return data;
}

aitl::hashed_encoder encoder(std::uint64_t seed, std::size_t dim = 64, std::uint32_t buckets = 4096) {
    aitl::hashed_encoder_config c;
    c.dim = dim;
    c.buckets = buckets;
    c.seed = seed;
    return aitl::hashed_encoder(c);
}

aitl::rebuild_config quick_config() {
    aitl::rebuild_config c;
    c.threads = 1;
    c.hnsw.M = 12;
    c.hnsw.ef_construction = 64;
    c.hnsw.ef = 64;
    return c;
}

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("aitl-test-index-lifecycle-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// Exact text of a result list (scores in hex, so equality is bit equality).
std::string key_of(const aitl::hits& h) {
    std::string s;
    char buf[64];
    for (const auto& x : h) {
        std::snprintf(buf, sizeof buf, "|%a", static_cast<double>(x.score));
        s += x.id + buf + ";";
    }
    return s;
}

}  // namespace

TEST_CASE("rebuild_config validates and round-trips through JSON", "[index_lifecycle]") {
    aitl::rebuild_config c;
    c.sample = 50;
    c.k = 5;
    c.min_recall = 0.75;
    c.hnsw.M = 8;
    c.hnsw.ef = 33;
    c.staging_dir = "/tmp/x";
    const nlohmann::json j = c;
    CHECK_FALSE(j["hnsw"].contains("dim"));
    const auto back = j.get<aitl::rebuild_config>();
    CHECK(nlohmann::json(back) == j);
    CHECK(back.hnsw.M == 8);
    CHECK(back.staging_dir == "/tmp/x");
    CHECK_NOTHROW(c.validate());

    auto bad = [](auto change) {
        aitl::rebuild_config b;
        change(b);
        return b;
    };
    CHECK_THROWS_AS(bad([](auto& b) { b.sample = 0; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& b) { b.k = 0; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& b) { b.min_recall = 1.5; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& b) { b.batch_size = 0; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& b) { b.hnsw.M = 1; }).validate(), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"samples", 3}}.get<aitl::rebuild_config>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"k", "ten"}}.get<aitl::rebuild_config>()), aitl::config_error);
}

TEST_CASE("a rebuild switches only when the recall check passes; a bad index keeps blue serving", "[index_lifecycle]") {
    const auto& data = faqs();
    REQUIRE(data.docs.size() == 2869);
    serving s;
    CHECK(s.version().empty());
    CHECK_FALSE(s.snapshot());
    CHECK_THROWS_AS(s.search("pets allowed?", 5), aitl::state_error);

    std::vector<std::string> stages;
    const aitl::rebuild_report first = s.rebuild(data.docs, encoder(1), quick_config(), nullptr, data.questions,
                                                 [&](const std::string& stage, std::size_t, std::size_t) {
                                                     if (stages.empty() || stages.back() != stage) stages.push_back(stage);
                                                 });
    CHECK(first.switched);
    CHECK(first.version == "memory-1");
    CHECK(s.version() == "memory-1");
    CHECK(s.size() == 2869);
    CHECK(first.documents == 2869);
    CHECK(first.dim == 64);
    CHECK(first.sample == 200);
    CHECK(first.k == 10);
    CHECK(first.recall >= 0.9);
    CHECK(first.recall <= 1.0);
    CHECK(first.reason.find("switched from no index to 'memory-1'") != std::string::npos);
    CHECK(stages == std::vector<std::string>{"embed", "build", "check"});
    const nlohmann::json jr = first;
    CHECK(jr.at("switched").get<bool>());
    CHECK(jr.at("seconds_embed").get<double>() >= 0.0);

    const std::string question = data.questions.front();
    const aitl::hits before = s.search(question, 10);
    REQUIRE(before.size() == 10);

    // A graph of degree 2 searched with ef 1: far below exact search on 2869 documents.
    aitl::rebuild_config poor = quick_config();
    poor.hnsw.M = 2;
    poor.hnsw.ef_construction = 1;
    poor.hnsw.ef = 1;
    const aitl::rebuild_report rejected = s.rebuild(data.docs, encoder(2), poor, nullptr);
    CHECK_FALSE(rejected.switched);
    CHECK(rejected.version.empty());
    CHECK(rejected.recall < 0.9);
    CHECK(rejected.sample == 200);
    CHECK(rejected.reason.find("below the threshold, 'memory-1' keeps serving") != std::string::npos);
    CHECK(s.version() == "memory-1");
    CHECK(key_of(s.search(question, 10)) == key_of(before));

    // The same poor graph passes when the threshold allows it: the check decides, nothing else.
    poor.min_recall = 0.0;
    const aitl::rebuild_report accepted = s.rebuild(data.docs, encoder(2), poor, nullptr);
    CHECK(accepted.switched);
    CHECK(accepted.recall == Approx(rejected.recall));
    CHECK(s.version() == "memory-2");

    // Edge cases: nothing to index is a return value; bad ids are errors; blue stays.
    const aitl::rebuild_report none = s.rebuild(std::vector<aitl::document>{}, encoder(3), quick_config(), nullptr);
    CHECK_FALSE(none.switched);
    CHECK(none.reason.find("no documents") != std::string::npos);
    std::vector<aitl::document> dup{{"a", "", "one"}, {"a", "", "two"}};
    CHECK_THROWS_AS(s.rebuild(dup, encoder(3), quick_config(), nullptr), aitl::config_error);
    aitl::rebuild_config invalid;
    invalid.k = 0;
    CHECK_THROWS_AS(s.rebuild(data.docs, encoder(3), invalid, nullptr), aitl::config_error);
    CHECK_THROWS_AS(s.search(question, 0), aitl::config_error);
    CHECK(s.version() == "memory-2");

    // A small corpus: k and the sample shrink to what exists.
    serving tiny;
    std::vector<aitl::document> three(data.docs.begin(), data.docs.begin() + 3);
    const aitl::rebuild_report t = tiny.rebuild(three, encoder(4), quick_config(), nullptr);
    CHECK(t.switched);
    CHECK(t.k == 3);
    CHECK(t.sample == 3);
    CHECK(t.recall == 1.0);
    CHECK(tiny.search("x", 10).size() <= 3);
}

TEST_CASE("searches in flight during a rebuild and switch never fail and each comes wholly from one index",
          "[index_lifecycle]") {
    const auto& data = faqs();
    serving s;
    REQUIRE(s.rebuild(data.docs, encoder(11), quick_config(), nullptr).switched);
    const serving::snapshot_type blue = s.snapshot();
    const std::vector<std::string> qs(data.questions.begin(), data.questions.begin() + 40);
    std::vector<std::string> old_key(qs.size());
    for (std::size_t i = 0; i < qs.size(); ++i) old_key[i] = key_of(blue->search(qs[i], 10));

    constexpr int n_threads = 3;
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::atomic<long> done[n_threads] = {};
    std::vector<std::map<std::size_t, std::set<std::string>>> other(n_threads);  // results that are not blue's
    std::vector<std::thread> pool;
    for (int t = 0; t < n_threads; ++t)
        pool.emplace_back([&, t] {
            for (std::size_t i = static_cast<std::size_t>(t); !stop.load(); i = (i + 1) % qs.size()) {
                try {
                    const std::string k = key_of(s.search(qs[i], 10));
                    if (k != old_key[i]) other[t][i].insert(k);
                } catch (...) {
                    failures.fetch_add(1);
                }
                done[t].fetch_add(1);
            }
        });
    auto wait_all = [&](long target) {
        for (int t = 0; t < n_threads; ++t)
            while (done[t].load() < target) std::this_thread::yield();
    };
    wait_all(50);  // every thread is searching blue before the rebuild starts
    const aitl::rebuild_report r = s.rebuild(data.docs, encoder(12), quick_config(), nullptr);
    REQUIRE(r.switched);
    long after = 0;
    for (int t = 0; t < n_threads; ++t) after = std::max(after, done[t].load());
    wait_all(after + 200);  // and keeps searching green after the switch
    stop = true;
    for (auto& th : pool) th.join();

    CHECK(failures.load() == 0);
    const serving::snapshot_type green = s.snapshot();
    CHECK(green->version() == "memory-2");
    std::size_t differ = 0;
    for (std::size_t i = 0; i < qs.size(); ++i) {
        const std::string new_key = key_of(green->search(qs[i], 10));
        differ += new_key != old_key[i];
        for (int t = 0; t < n_threads; ++t) {
            auto it = other[t].find(i);
            if (it == other[t].end()) continue;
            CHECK(it->second.size() == 1);  // never a mix: the only non-blue result is green's
            CHECK(*it->second.begin() == new_key);
        }
    }
    CHECK(differ >= 36);  // the two encoders rank differently: results identify their index
    std::size_t seen_green = 0;
    for (int t = 0; t < n_threads; ++t) seen_green += other[t].size();
    CHECK(seen_green > 0);
    // The snapshot taken before the switch still answers from blue.
    CHECK(key_of(blue->search(qs[0], 10)) == old_key[0]);
    CHECK(s.switch_to(blue) == green);
    CHECK(s.version() == "memory-1");
}

TEST_CASE("a rebuild publishes a registry version that loads and answers as the serving index", "[index_lifecycle]") {
    const auto& data = faqs();
    temp_dir tmp;
    aitl::model_registry reg(tmp.path / "registry");
    aitl::rebuild_config cfg = quick_config();
    cfg.staging_dir = (tmp.path / "staging").string();
    serving s;
    const aitl::rebuild_report r1 = s.rebuild(data.docs, encoder(21), cfg, &reg, data.questions);
    REQUIRE(r1.switched);
    CHECK(r1.version == "v000001");
    CHECK(s.version() == "v000001");
    CHECK(r1.seconds_publish > 0.0);
    auto champion = reg.champion();
    REQUIRE(champion);
    CHECK(champion->version == "v000001");
    std::set<std::string> names;
    for (const auto& a : champion->artifacts) names.insert(a.name);
    CHECK(names == std::set<std::string>{"encoder.bin", "ids.json", "index.bin", "index.bin.aitl.json", "rebuild.json"});
    CHECK(champion->metrics.at("recall").get<double>() == Approx(r1.recall));
    CHECK(champion->metrics.at("documents").get<std::size_t>() == 2869);
    CHECK(fs::is_empty(tmp.path / "staging"));  // the staging folder is removed

    const serving::snapshot_type loaded = serving::load(reg, "v000001");  // encoder from encoder.bin
    CHECK(loaded->version() == "v000001");
    CHECK(loaded->size() == 2869);
    for (std::size_t i = 0; i < 20; ++i)
        CHECK(key_of(loaded->search(data.questions[i], 10)) == key_of(s.search(data.questions[i], 10)));

    const aitl::rebuild_report r2 = s.rebuild(data.docs, encoder(22), cfg, &reg);
    REQUIRE(r2.switched);
    CHECK(r2.version == "v000002");
    CHECK(reg.champion()->version == "v000002");
    CHECK(reg.get("v000002").parent == "v000001");
    CHECK(reg.get("v000001").status == "retired");

    aitl::rebuild_config poor = cfg;
    poor.hnsw.M = 2;
    poor.hnsw.ef_construction = 1;
    poor.hnsw.ef = 1;
    CHECK_FALSE(s.rebuild(data.docs, encoder(23), poor, &reg).switched);
    CHECK(reg.versions().size() == 2);  // nothing is published when the check fails
    CHECK(reg.champion()->version == "v000002");

    // Loading checks the files against the manifest.
    {
        std::fstream f(reg.file("v000001", "ids.json"), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(3);
        f.put('#');
    }
    CHECK_THROWS_AS(serving::load(reg, "v000001"), aitl::io_error);
    CHECK_THROWS_AS(serving::load(reg, "v000009"), aitl::not_found);
    CHECK_NOTHROW(serving::load(reg, "v000002", encoder(22)));
    CHECK_THROWS_AS(serving::load(reg, "v000002", encoder(22, 32)), aitl::dimension_error);
}

TEST_CASE("crash test: SIGKILL during rebuild-and-publish leaves a champion whose files verify and load",
          "[index_lifecycle]") {
    const auto& data = faqs();
    const std::vector<aitl::document> docs(data.docs.begin(), data.docs.begin() + 600);
    temp_dir tmp;
    const fs::path dir = tmp.path / "registry";
    aitl::rebuild_config cfg = quick_config();
    cfg.sample = 50;
    cfg.staging_dir = (tmp.path / "staging").string();
    auto small_encoder = [](std::uint64_t seed) { return encoder(seed, 48, 2048); };

    // The first version, published by this process; its duration scales the kill times.
    double iteration = 0.0;
    {
        aitl::model_registry reg(dir);
        serving s;
        const auto t0 = std::chrono::steady_clock::now();
        REQUIRE(s.rebuild(docs, small_encoder(1000), cfg, &reg).switched);
        iteration = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    std::set<std::string> doc_ids;
    for (const auto& d : docs) doc_ids.insert(d.id);

    std::mt19937 rng(20250601);
    std::uniform_real_distribution<double> when(0.1, 3.0);
    std::string last = "v000001";
    int advanced = 0;
    for (int round = 0; round < 20; ++round) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {  // child: rebuild and publish with a new encoder, forever
            try {
                aitl::model_registry reg(dir);
                serving s;
                for (std::uint64_t i = 1;; ++i) s.rebuild(docs, small_encoder(1000 + 100 * static_cast<std::uint64_t>(round) + i), cfg, &reg);
            } catch (...) {
                ::_exit(3);
            }
        }
        const auto delay = std::chrono::duration<double>(when(rng) * iteration);
        std::this_thread::sleep_for(delay);
        ::kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFSIGNALED(status));  // killed, not failed
        CHECK(WTERMSIG(status) == SIGKILL);

        aitl::model_registry reg(dir);  // recovers
        const auto champion = reg.champion();
        REQUIRE(champion);
        CHECK(champion->version >= last);
        if (champion->version != last) ++advanced;
        last = champion->version;
        CHECK_NOTHROW(reg.verify(champion->version));
        for (const auto& e : fs::directory_iterator(dir / "versions")) {
            CHECK(e.is_directory());
            CHECK_NOTHROW(reg.get(e.path().filename().string()));  // nothing the manifest does not list
        }
        const serving::snapshot_type g = serving::load(reg, champion->version);
        CHECK(g->size() == 600);
        const aitl::hits h = g->search(data.questions[static_cast<std::size_t>(round)], 5);
        REQUIRE(h.size() == 5);
        for (const auto& x : h) CHECK(doc_ids.count(x.id) == 1);
    }
    CHECK(advanced >= 1);
}
