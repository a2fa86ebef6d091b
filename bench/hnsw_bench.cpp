// Benchmark of aitl's C++ vector indexes (hnsw_index and, with --exact, exact_index).
// Driven by bench/bench_dense.py, which writes the data and the exact ground truth:
//
//   hnsw_bench --base base.fbin --queries queries.fbin --gt gt.ibin --k 75
//              [--M 16] [--ef-construction 200] [--ef 50,100,200] [--threads 2]
//              [--search-threads 1,2] [--metric ip|cosine] [--exact] [--repeat 3]
//
// .fbin: int32 rows, int32 cols, rows*cols float32. .ibin: int32 rows, int32 cols, int32 data.
// Prints one JSON object on stdout: build seconds, and per (ef, threads) queries/s and
// recall@k against the ground truth (best of --repeat runs).
#include <aitl/retrieval/exact.hpp>
#include <aitl/retrieval/hnsw.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

template <class T>
std::vector<T> read_bin(const std::string& path, std::int32_t& rows, std::int32_t& cols) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    in.read(reinterpret_cast<char*>(&rows), 4);
    in.read(reinterpret_cast<char*>(&cols), 4);
    std::vector<T> data(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(T)));
    if (!in) throw std::runtime_error("truncated " + path);
    return data;
}

std::vector<std::size_t> parse_list(const std::string& s) {
    std::vector<std::size_t> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(std::stoul(item));
    return out;
}

double recall(const aitl::knn_result& r, const std::vector<std::int32_t>& gt, std::int32_t gt_cols, std::size_t k) {
    std::size_t hit = 0;
    for (Eigen::Index i = 0; i < r.labels.rows(); ++i) {
        const std::int32_t* row = gt.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(gt_cols);
        std::unordered_set<std::int64_t> truth(row, row + k);
        for (std::size_t j = 0; j < k; ++j) hit += truth.count(r.labels(i, static_cast<Eigen::Index>(j)));
    }
    return static_cast<double>(hit) / static_cast<double>(r.labels.rows() * static_cast<Eigen::Index>(k));
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> opt = {{"k", "75"},          {"M", "16"},     {"ef-construction", "200"},
                                              {"ef", "50,100,200"}, {"threads", "2"}, {"search-threads", "1,2"},
                                              {"metric", "ip"},     {"repeat", "3"}};
    bool run_exact = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--exact") {
            run_exact = true;
        } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
            opt[a.substr(2)] = argv[++i];
        } else {
            std::cerr << "usage: hnsw_bench --base F --queries F --gt F [--k 75] [--M 16] [--ef-construction 200]"
                         " [--ef 50,100,200] [--threads 2] [--search-threads 1,2] [--metric ip] [--exact] [--repeat 3]\n";
            return 2;
        }
    }
    try {
        std::int32_t n = 0, d = 0, nq = 0, dq = 0, ng = 0, kg = 0;
        const auto base = read_bin<float>(opt.at("base"), n, d);
        const auto queries = read_bin<float>(opt.at("queries"), nq, dq);
        const auto gt = read_bin<std::int32_t>(opt.at("gt"), ng, kg);
        const std::size_t k = std::stoul(opt["k"]);
        if (dq != d || ng != nq || static_cast<std::size_t>(kg) < k) throw std::runtime_error("inconsistent inputs");
        const std::size_t threads = std::stoul(opt["threads"]), repeat = std::stoul(opt["repeat"]);
        Eigen::Map<const aitl::row_matrix> X(base.data(), n, d), Q(queries.data(), nq, d);
        std::vector<aitl::label_t> labels(static_cast<std::size_t>(n));
        for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = i;

        nlohmann::json out;
        out["n"] = n;
        out["dim"] = d;
        out["queries"] = nq;
        out["k"] = k;
        out["simd"] = aitl::detail::simd::isa_name(aitl::detail::simd::best());

        if (run_exact) {
            aitl::exact_index exact(static_cast<std::size_t>(d), aitl::parse_similarity(opt["metric"]));
            exact.add(labels, X);
            nlohmann::json rows = nlohmann::json::array();
            for (std::size_t t : parse_list(opt["search-threads"])) {
                for (std::size_t kk : {std::size_t{10}, k}) {
                    double best = 1e300;
                    aitl::knn_result r;
                    for (std::size_t rep = 0; rep < repeat; ++rep) {
                        const auto t0 = clock_type::now();
                        r = exact.search_batch(Q, kk, t);
                        best = std::min(best, seconds_since(t0));
                    }
                    rows.push_back({{"threads", t}, {"k", kk}, {"qps", nq / best},
                                    {"recall", recall(r, gt, kg, kk)}});
                }
            }
            out["exact"] = rows;
        }

        aitl::hnsw_config cfg;
        cfg.dim = static_cast<std::size_t>(d);
        cfg.metric = aitl::parse_similarity(opt["metric"]);
        cfg.M = std::stoul(opt["M"]);
        cfg.ef_construction = std::stoul(opt["ef-construction"]);
        cfg.max_elements = static_cast<std::size_t>(n);
        aitl::hnsw_index index(cfg);
        const auto t0 = clock_type::now();
        index.add(labels, X, threads);
        out["build_seconds"] = seconds_since(t0);
        out["build_threads"] = threads;

        nlohmann::json rows = nlohmann::json::array();
        for (std::size_t ef : parse_list(opt["ef"])) {
            index.set_ef(ef);
            for (std::size_t t : parse_list(opt["search-threads"])) {
                double best = 1e300;
                aitl::knn_result r;
                for (std::size_t rep = 0; rep < repeat; ++rep) {
                    const auto t1 = clock_type::now();
                    r = index.search_batch(Q, k, t);
                    best = std::min(best, seconds_since(t1));
                }
                rows.push_back({{"ef", ef}, {"threads", t}, {"qps", nq / best}, {"recall", recall(r, gt, kg, k)}});
            }
        }
        out["hnsw"] = rows;
        std::cout << out.dump() << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "hnsw_bench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
