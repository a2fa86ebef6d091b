// aitl::bm25 from C++, without Python: build time, single-thread latency, batch throughput
// and peak RSS over a BEIR folder (corpus.jsonl, queries.jsonl). Run by bench/bench_bm25.py
// as the "aitl-cpp" row; prints one JSON object.
//
//   bm25_search <beir folder> [max queries] [threads] [run.json]
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/retrieval/bm25.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

double status_mb(const std::string& key) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
    return -1.0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: bm25_search <beir folder> [max queries] [threads] [run.json]\n";
        return 2;
    }
    const std::string dir = argv[1];
    const std::size_t max_queries = argc > 2 ? std::stoul(argv[2]) : 0;
    const std::size_t threads = argc > 3 ? std::stoul(argv[3]) : std::max(1u, std::thread::hardware_concurrency());
    const std::string run_path = argc > 4 ? argv[4] : "";

    auto t = clock_type::now();
    const auto kb = aitl::knowledge_base::load_beir(dir);
    const double load_s = seconds_since(t);
    const double rss_loaded = status_mb("VmRSS:");

    std::vector<std::string> qids, queries;
    {
        std::ifstream in(dir + "/queries.jsonl");
        std::string line;
        while (std::getline(in, line)) {
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            const auto j = nlohmann::json::parse(line);
            qids.push_back(j.at("_id").get<std::string>());
            queries.push_back(j.at("text").get<std::string>());
            if (max_queries && queries.size() == max_queries) break;
        }
    }

    aitl::bm25_config config;  // defaults: k1 = 0.5, b = 0.75, English stop list and stemmer
    t = clock_type::now();
    aitl::bm25 index(config);
    index.add(kb);
    index.search("warm up", 1);  // computes norms and impacts
    const double build_s = seconds_since(t);
    const double rss_built = status_mb("VmRSS:");

    for (std::size_t i = 0; i < std::min<std::size_t>(20, queries.size()); ++i) index.search(queries[i], 75);
    std::vector<double> latency;
    std::vector<aitl::hits> run;
    for (const auto& q : queries) {
        t = clock_type::now();
        run.push_back(index.search(q, 75));
        latency.push_back(seconds_since(t) * 1000.0);
    }
    t = clock_type::now();
    const auto batch = index.search_batch(queries, 75, threads);
    const double batch_s = seconds_since(t);
    if (batch != run) {
        std::cerr << "search_batch differs from search\n";
        return 1;
    }
    std::vector<double> sorted = latency;
    std::sort(sorted.begin(), sorted.end());
    const auto pct = [&](double p) { return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5)]; };
    const auto stats = index.stats();

    nlohmann::json out{{"load_s", load_s},
                       {"build_s", build_s},
                       {"rss_after_load_mb", rss_loaded},
                       {"rss_after_build_mb", rss_built},
                       {"peak_rss_mb", status_mb("VmHWM:")},
                       {"latency",
                        {{"mean_ms", std::accumulate(latency.begin(), latency.end(), 0.0) / static_cast<double>(latency.size())},
                         {"p50_ms", pct(0.5)},
                         {"p99_ms", pct(0.99)}}},
                       {"batch_qps", static_cast<double>(queries.size()) / batch_s},
                       {"index",
                        {{"documents", stats.documents},
                         {"terms", stats.terms},
                         {"postings", stats.postings},
                         {"average_length", stats.average_length}}}};
    if (!run_path.empty()) {
        nlohmann::json r = nlohmann::json::object();
        for (std::size_t i = 0; i < qids.size(); ++i) {
            auto& list = r[qids[i]] = nlohmann::json::array();
            for (const auto& h : run[i]) list.push_back({h.id, h.score});
        }
        std::ofstream(run_path) << r.dump();
    }
    std::cout << out.dump() << "\n";
    return 0;
}
