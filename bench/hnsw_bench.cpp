// Benchmark of aitl's C++ vector indexes (hnsw_index and exact_index). Driven by
// bench/bench_dense.py, which writes the data and the exact ground truth and interleaves the
// runs of this program with those of its Python peers:
//
//   hnsw_bench --base base.fbin --queries queries.fbin --gt gt.ibin [--k 75] [--mode all]
//              [--M 16] [--ef-construction 200] [--ef 50,100,200] [--threads 2]
//              [--search-threads 1,2] [--metric ip|cosine] [--repeat 3] [--index PATH]
//              [--k-list 10,75] [--exact]
//   --mode build   builds the HNSW index on --threads threads (saved to --index when given)
//   --mode search  loads --index and searches it for every ef and search thread count
//   --mode exact   exact_index search for every search thread count and k of --k-list
//   --mode all     build then search (and exact with --exact)
//
// .fbin: int32 rows, int32 cols, rows*cols float32. .ibin: int32 rows, int32 cols, int32 data.
// Prints one JSON object on stdout: build seconds, and per (ef, threads) queries/s and
// recall@k against the ground truth (best of --repeat timed runs after one untimed run).
#include <aitl/retrieval/exact.hpp>
#include <aitl/retrieval/hnsw.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
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
    std::map<std::string, std::string> opt = {{"k", "75"},          {"M", "16"},      {"ef-construction", "200"},
                                              {"ef", "50,100,200"}, {"threads", "2"}, {"search-threads", "1,2"},
                                              {"metric", "ip"},     {"repeat", "3"},  {"mode", "all"},
                                              {"k-list", "10,75"}};
    bool run_exact = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--exact") {
            run_exact = true;
        } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
            opt[a.substr(2)] = argv[++i];
        } else {
            std::cerr << "usage: hnsw_bench --base F --queries F --gt F [--mode all|build|search|exact] [--k 75]"
                         " [--M 16] [--ef-construction 200] [--ef 50,100,200] [--threads 2] [--search-threads 1,2]"
                         " [--metric ip] [--repeat 3] [--index PATH] [--k-list 10,75] [--exact]\n";
            return 2;
        }
    }
    try {
        const std::string mode = opt["mode"];
        std::int32_t n = 0, d = 0, nq = 0, dq = 0, ng = 0, kg = 0;
        const auto queries = read_bin<float>(opt.at("queries"), nq, dq);
        const auto gt = read_bin<std::int32_t>(opt.at("gt"), ng, kg);
        std::vector<float> base;
        if (mode != "search") base = read_bin<float>(opt.at("base"), n, d);
        else d = dq;
        const std::size_t k = std::stoul(opt["k"]);
        if (dq != d || ng != nq || static_cast<std::size_t>(kg) < k) throw std::runtime_error("inconsistent inputs");
        const std::size_t threads = std::stoul(opt["threads"]), repeat = std::stoul(opt["repeat"]);
        Eigen::Map<const aitl::row_matrix> X(base.data(), n, d), Q(queries.data(), nq, d);
        std::vector<aitl::label_t> labels(static_cast<std::size_t>(n));
        for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = i;

        nlohmann::json out;
        out["queries"] = nq;
        out["dim"] = d;
        out["k"] = k;
        out["simd"] = aitl::detail::simd::isa_name(aitl::detail::simd::best());

        if (mode == "exact" || (mode == "all" && run_exact)) {
            aitl::exact_index exact(static_cast<std::size_t>(d), aitl::parse_similarity(opt["metric"]));
            exact.add(labels, X);
            nlohmann::json rows = nlohmann::json::array();
            for (std::size_t t : parse_list(opt["search-threads"])) {
                for (std::size_t kk : parse_list(opt["k-list"])) {
                    double best = 1e300;
                    aitl::knn_result r = exact.search_batch(Q, kk, t);  // warm-up, untimed
                    for (std::size_t rep = 0; rep < repeat; ++rep) {
                        const auto t0 = clock_type::now();
                        r = exact.search_batch(Q, kk, t);
                        best = std::min(best, seconds_since(t0));
                    }
                    rows.push_back({{"threads", t}, {"k", kk}, {"qps", nq / best},
                                    {"recall", recall(r, gt, kg, std::min<std::size_t>(kk, static_cast<std::size_t>(kg)))}});
                }
            }
            out["exact"] = rows;
        }

        if (mode == "build" || mode == "all" || mode == "search") {
            std::unique_ptr<aitl::hnsw_index> index;
            if (mode == "search") {
                index = std::make_unique<aitl::hnsw_index>(aitl::hnsw_index::load(opt.at("index")));
            } else {
                aitl::hnsw_config cfg;
                cfg.dim = static_cast<std::size_t>(d);
                cfg.metric = aitl::parse_similarity(opt["metric"]);
                cfg.M = std::stoul(opt["M"]);
                cfg.ef_construction = std::stoul(opt["ef-construction"]);
                cfg.max_elements = static_cast<std::size_t>(n);
                index = std::make_unique<aitl::hnsw_index>(cfg);
                const auto t0 = clock_type::now();
                index->add(labels, X, threads);
                out["build_seconds"] = seconds_since(t0);
                out["build_threads"] = threads;
                out["n"] = n;
                if (opt.count("index")) index->save(opt["index"]);
            }
            if (mode != "build") {
                nlohmann::json rows = nlohmann::json::array();
                for (std::size_t ef : parse_list(opt["ef"])) {
                    index->set_ef(ef);
                    for (std::size_t t : parse_list(opt["search-threads"])) {
                        double best = 1e300;
                        aitl::knn_result r = index->search_batch(Q, k, t);  // warm-up, untimed
                        for (std::size_t rep = 0; rep < repeat; ++rep) {
                            const auto t1 = clock_type::now();
                            r = index->search_batch(Q, k, t);
                            best = std::min(best, seconds_since(t1));
                        }
                        rows.push_back({{"ef", ef}, {"threads", t}, {"qps", nq / best}, {"recall", recall(r, gt, kg, k)}});
                    }
                }
                out["hnsw"] = rows;
            }
        }
        std::cout << out.dump() << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "hnsw_bench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
