// Tests of the dense side of retrieval/: SIMD kernels, exact_index, hnsw_index (the only test
// translation unit that includes retrieval/hnsw.hpp), callback_encoder, dense_retriever,
// fusion (hybrid) and any_retriever.
#include <aitl/detail/simd.hpp>
#include <aitl/error.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/retrieval/any_retriever.hpp>
#include <aitl/retrieval/bm25.hpp>
#include <aitl/retrieval/callback_encoder.hpp>
#include <aitl/retrieval/dense.hpp>
#include <aitl/retrieval/exact.hpp>
#include <aitl/retrieval/fused.hpp>
#include <aitl/retrieval/hnsw.hpp>
#include <aitl/retrieval/hybrid.hpp>
#include <aitl/retrieval/reranked.hpp>
#include <aitl/types.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <unistd.h>

#include "aitl_catch.hpp"

namespace fs = std::filesystem;

// Explicit instantiations: every member of every policy compiles.
template class aitl::basic_exact_index<aitl::default_mutex>;
template class aitl::basic_exact_index<aitl::detail::null_mutex>;
template class aitl::basic_hnsw_index<aitl::default_mutex>;
template class aitl::basic_hnsw_index<aitl::detail::null_mutex>;
template class aitl::dense_retriever<aitl::callback_encoder, aitl::exact_index>;
template class aitl::dense_retriever<aitl::callback_encoder, aitl::hnsw_index_st, aitl::detail::null_mutex>;
template class aitl::hybrid<aitl::any_retriever, aitl::any_retriever>;

namespace {

aitl::row_matrix random_matrix(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal;
    aitl::row_matrix m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(gen);
    return m;
}

std::vector<aitl::label_t> iota_labels(std::size_t n, aitl::label_t first = 0) {
    std::vector<aitl::label_t> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = first + i;
    return out;
}

// Brute force: the k best (label, score) pairs, score desc then label asc, in double precision.
std::vector<std::pair<aitl::label_t, double>> brute_force(const aitl::row_matrix& base,
                                                          const std::vector<aitl::label_t>& labels,
                                                          const float* q, std::size_t k, bool cosine) {
    const std::size_t d = static_cast<std::size_t>(base.cols());
    auto norm_of = [d](const float* v) {
        double s = 0;
        for (std::size_t i = 0; i < d; ++i) s += static_cast<double>(v[i]) * v[i];
        return s > 0 ? std::sqrt(s) : 1.0;
    };
    const double qn = cosine ? norm_of(q) : 1.0;
    std::vector<std::pair<aitl::label_t, double>> all;
    for (Eigen::Index i = 0; i < base.rows(); ++i) {
        const float* x = base.row(i).data();
        double dot = 0;
        for (std::size_t j = 0; j < d; ++j) dot += static_cast<double>(x[j]) * q[j];
        all.emplace_back(labels[static_cast<std::size_t>(i)], cosine ? dot / (qn * norm_of(x)) : dot);
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return a.second > b.second || (a.second == b.second && a.first < b.first);
    });
    all.resize(std::min(k, all.size()));
    return all;
}

// A fresh folder per test case, removed at the end.
struct scratch_dir {
    fs::path path;
    scratch_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("aitl_test_dense_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

// Letter-frequency encoder (26 dims): deterministic, no weights.
struct letter_encoder {
    std::size_t dim() const { return 26; }
    aitl::row_matrix encode(const std::vector<std::string>& texts) const {
        aitl::row_matrix out = aitl::row_matrix::Zero(static_cast<Eigen::Index>(texts.size()), 26);
        for (std::size_t i = 0; i < texts.size(); ++i)
            for (char c : texts[i])
                if (c >= 'a' && c <= 'z') out(static_cast<Eigen::Index>(i), c - 'a') += 1.0f;
        return out;
    }
};

// A retriever returning a fixed list, recording the k it was asked for.
struct fixed_retriever {
    aitl::hits list;
    mutable std::atomic<std::size_t> last_k{0};
    fixed_retriever(aitl::hits l) : list(std::move(l)) {}
    fixed_retriever(const fixed_retriever& o) : list(o.list) {}
    aitl::hits search(std::string_view, std::size_t k) const {
        last_k = k;
        aitl::hits out = list;
        if (out.size() > k) out.resize(k);
        return out;
    }
};

double recall_at(const aitl::knn_result& got, const aitl::knn_result& truth) {
    std::size_t hit = 0, total = 0;
    for (Eigen::Index i = 0; i < truth.labels.rows(); ++i) {
        std::set<std::int64_t> t(truth.labels.row(i).data(), truth.labels.row(i).data() + truth.labels.cols());
        for (Eigen::Index j = 0; j < got.labels.cols(); ++j) hit += t.count(got.labels(i, j));
        total += static_cast<std::size_t>(truth.labels.cols());
    }
    return static_cast<double>(hit) / static_cast<double>(total);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// SIMD kernels
// ---------------------------------------------------------------------------------------

TEST_CASE("Every SIMD level the CPU offers computes the same inner products as a scalar loop", "[exact]") {
    namespace simd = aitl::detail::simd;
    std::vector<simd::isa> levels{simd::isa::generic};
    if (simd::best() != simd::isa::generic) levels.push_back(simd::isa::avx2);
    if (simd::best() == simd::isa::avx512) levels.push_back(simd::isa::avx512);
    std::mt19937 gen(7);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (simd::isa level : levels) {
        const auto& k = simd::kernels_for(level);
        CAPTURE(simd::isa_name(level));
        CHECK(k.level == level);
        for (std::size_t n : {1u, 3u, 8u, 15u, 16u, 17u, 31u, 64u, 65u, 100u, 384u}) {
            std::vector<float> a(n), b(n);
            double ref = 0;
            for (std::size_t i = 0; i < n; ++i) {
                a[i] = u(gen);
                b[i] = u(gen);
                ref += static_cast<double>(a[i]) * b[i];
            }
            CHECK(k.dot(a.data(), b.data(), n) == Approx(ref).margin(1e-4));
        }
        // Panels: 3 panels (48 vectors) of dimension 19, queries packed by k.rows.
        const std::size_t d = 19, np = 3, W = simd::panel_width, R = k.rows;
        struct alignas(64) row16 { float v[16]; };
        std::vector<row16> panels(np * d);
        aitl::row_matrix x(static_cast<Eigen::Index>(np * W), static_cast<Eigen::Index>(d));
        for (std::size_t j = 0; j < np * W; ++j)
            for (std::size_t p = 0; p < d; ++p) {
                const float v = u(gen);
                x(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(p)) = v;
                panels[(j / W) * d + p].v[j % W] = v;
            }
        aitl::row_matrix q = random_matrix(static_cast<Eigen::Index>(R), static_cast<Eigen::Index>(d), 3);
        std::vector<float> packed(R * d), out(R * np * W), row(np * W);
        simd::pack_queries(q.data(), d, R, d, R, packed.data());
        k.tile(packed.data(), d, panels[0].v, np, out.data(), np * W);
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t j = 0; j < np * W; ++j)
                CHECK(out[r * np * W + j] ==
                      Approx(x.row(static_cast<Eigen::Index>(j)).dot(q.row(static_cast<Eigen::Index>(r)))).margin(1e-4));
        k.row(q.data(), d, panels[0].v, np, row.data());
        for (std::size_t j = 0; j < np * W; ++j)
            CHECK(row[j] == Approx(x.row(static_cast<Eigen::Index>(j)).dot(q.row(0))).margin(1e-4));
        // dot4 and the bfloat16 kernels, against float32 / rounded references.
        for (std::size_t n : {5u, 16u, 37u, 384u}) {
            aitl::row_matrix v = random_matrix(5, static_cast<Eigen::Index>(n), static_cast<unsigned>(n));
            const float* xs[4] = {v.row(1).data(), v.row(2).data(), v.row(3).data(), v.row(4).data()};
            std::vector<std::uint16_t> h(4 * n);
            for (int j = 0; j < 4; ++j) simd::to_bf16(xs[j], n, h.data() + j * n);
            const std::uint16_t* hs[4] = {h.data(), h.data() + n, h.data() + 2 * n, h.data() + 3 * n};
            float d4[4], h4[4];
            k.dot4(v.row(0).data(), xs, n, d4);
            k.dot4_bf16(v.row(0).data(), hs, n, h4);
            for (int j = 0; j < 4; ++j) {
                double ref = 0, ref16 = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    ref += static_cast<double>(v(0, static_cast<Eigen::Index>(i))) * xs[j][i];
                    ref16 += static_cast<double>(v(0, static_cast<Eigen::Index>(i))) * simd::from_bf16(hs[j][i]);
                }
                CHECK(d4[j] == Approx(ref).margin(1e-3));
                CHECK(h4[j] == Approx(ref16).margin(1e-3));
                CHECK(k.dot_bf16(v.row(0).data(), hs[j], n) == Approx(ref16).margin(1e-3));
                CHECK(std::abs(ref16 - ref) < 0.02 * std::sqrt(static_cast<double>(n)));
            }
        }
        // find_ge: first index with s[i] >= t.
        for (std::size_t n : {0u, 7u, 33u, 100u}) {
            std::vector<float> sc(n);
            for (auto& v : sc) v = u(gen);
            for (float t : {-2.0f, 0.5f, 0.99f, 2.0f}) {
                std::size_t ref = 0;
                while (ref < n && sc[ref] < t) ++ref;
                CHECK(k.find_ge(sc.data(), n, t) == ref);
            }
        }
    }
}

TEST_CASE("topk keeps the k best pairs with ties broken by the smaller label", "[exact]") {
    std::mt19937 gen(5);
    std::uniform_int_distribution<int> coarse(0, 20);  // many equal scores
    for (std::size_t k : {1u, 3u, 10u, 75u, 600u}) {
        CAPTURE(k);
        std::vector<float> scores(500);
        std::vector<aitl::neighbor> all;
        for (std::size_t i = 0; i < scores.size(); ++i) {
            scores[i] = static_cast<float>(coarse(gen));
            all.push_back(aitl::neighbor{static_cast<aitl::label_t>(1000 - i), scores[i]});
        }
        std::sort(all.begin(), all.end(), [](const aitl::neighbor& a, const aitl::neighbor& b) {
            return aitl::detail::better(a.score, a.label, b.score, b.label);
        });
        all.resize(std::min(k, all.size()));
        auto label_of = [](std::size_t i) { return static_cast<aitl::label_t>(1000 - i); };
        for (int variant = 0; variant < 3; ++variant) {
            aitl::detail::topk best(k);
            if (variant == 0) {
                best.scan(scores.data(), scores.size(), label_of);
            } else if (variant == 1) {
                best.scan(scores.data(), scores.size(), label_of, aitl::detail::simd::kernels().find_ge);
            } else {  // two halves merged
                aitl::detail::topk other(k);
                best.scan(scores.data(), 250, label_of);
                other.scan(scores.data() + 250, 250, [](std::size_t i) { return static_cast<aitl::label_t>(750 - i); });
                best.merge(other);
            }
            CHECK(best.take_sorted() == all);
        }
    }
    aitl::detail::topk none(0);
    none.push(1.0f, 1);
    CHECK(none.take_sorted().empty());
}

// ---------------------------------------------------------------------------------------
// exact_index
// ---------------------------------------------------------------------------------------

TEST_CASE("exact_index search equals a brute-force reference for both metrics", "[exact]") {
    const std::size_t n = 1000, d = 37, k = 10;
    const aitl::row_matrix base = random_matrix(n, d, 1);
    const aitl::row_matrix queries = random_matrix(50, d, 2);
    const auto labels = iota_labels(n, 100);
    for (aitl::similarity m : {aitl::similarity::inner_product, aitl::similarity::cosine}) {
        CAPTURE(aitl::similarity_name(m));
        aitl::exact_index index(d, m);
        index.add(labels, base);
        CHECK(index.size() == n);
        CHECK(index.dim() == d);
        CHECK(index.metric() == m);
        const aitl::knn_result batch = index.search_batch(queries, k, 2);
        REQUIRE(batch.labels.rows() == 50);
        REQUIRE(batch.labels.cols() == static_cast<Eigen::Index>(k));
        for (Eigen::Index i = 0; i < queries.rows(); ++i) {
            const auto ref = brute_force(base, labels, queries.row(i).data(), k, m == aitl::similarity::cosine);
            const auto single = index.search(queries.row(i).data(), k);
            REQUIRE(single.size() == k);
            for (std::size_t j = 0; j < k; ++j) {
                CHECK(batch.scores(i, static_cast<Eigen::Index>(j)) == Approx(ref[j].second).margin(1e-4));
                CHECK(single[j].score == Approx(ref[j].second).margin(1e-4));
                CHECK(static_cast<aitl::label_t>(batch.labels(i, static_cast<Eigen::Index>(j))) == single[j].label);
                const bool clear_gap = (j == 0 || ref[j - 1].second - ref[j].second > 1e-3) &&
                                       (j + 1 == ref.size() || ref[j].second - ref[j + 1].second > 1e-3);
                if (clear_gap) CHECK(single[j].label == ref[j].first);
            }
        }
        // Threads and SIMD chunking do not change results.
        const aitl::knn_result one = index.search_batch(queries, k, 1);
        const aitl::knn_result many = index.search_batch(queries, k, 5);
        CHECK(one.labels == batch.labels);
        CHECK(many.labels == batch.labels);
        CHECK(one.scores == batch.scores);
    }
}

TEST_CASE("exact_index splits few queries over database shards and merges them exactly", "[exact]") {
    const std::size_t n = 20000, d = 16, k = 7;
    const aitl::row_matrix base = random_matrix(n, d, 11);
    const aitl::row_matrix queries = random_matrix(20, d, 12);
    aitl::exact_index index(d);
    index.add(iota_labels(n), base);
    const aitl::knn_result serial = index.search_batch(queries, k, 1);
    const aitl::knn_result sharded = index.search_batch(queries, k, 4);
    CHECK(serial.labels == sharded.labels);
    CHECK(serial.scores == sharded.scores);
    const auto ref = brute_force(base, iota_labels(n), queries.row(3).data(), k, false);
    for (std::size_t j = 0; j < k; ++j) CHECK(sharded.scores(3, static_cast<Eigen::Index>(j)) == Approx(ref[j].second).margin(1e-4));
}

TEST_CASE("exact_index pads batch results with -1 and -inf and breaks ties by label", "[exact]") {
    aitl::exact_index index(4);
    const std::vector<float> v{1, 0, 0, 0};
    index.add(9, v);
    index.add(3, v);
    index.add(5, std::vector<float>{0, 1, 0, 0});
    const auto single = index.search(v, 10);
    REQUIRE(single.size() == 3);
    CHECK(single[0].label == 3);
    CHECK(single[1].label == 9);
    CHECK(single[0].score == Approx(1.0f));
    CHECK(single[2].label == 5);
    CHECK(single[2].score == Approx(0.0f));
    const aitl::knn_result r = index.search_batch(Eigen::Map<const aitl::row_matrix>(v.data(), 1, 4), 5);
    CHECK(r.labels(0, 0) == 3);
    CHECK(r.labels(0, 1) == 9);
    REQUIRE(r.labels.cols() == 3);  // k = 5 beyond the 3 stored: capped, nothing padded
    CHECK(r.labels(0, 2) == 5);
    aitl::exact_index empty(4);
    const aitl::knn_result none = empty.search_batch(Eigen::Map<const aitl::row_matrix>(v.data(), 1, 4), 2);
    CHECK(none.labels(0, 0) == -1);
    CHECK(empty.search(v, 3).empty());
}

TEST_CASE("exact_index remove drops a vector and keeps the others searchable", "[exact]") {
    const std::size_t n = 40, d = 5;
    const aitl::row_matrix base = random_matrix(n, d, 4);
    aitl::exact_index index(d, aitl::similarity::cosine);
    index.add(iota_labels(n), base);
    for (aitl::label_t l : {0u, 17u, 39u, 16u}) index.remove(l);
    CHECK(index.size() == n - 4);
    CHECK_FALSE(index.contains(17));
    CHECK(index.contains(18));
    for (Eigen::Index i = 0; i < static_cast<Eigen::Index>(n); ++i) {
        const auto found = index.search(base.row(i).data(), n);
        CHECK(found.size() == n - 4);
        for (const auto& nb : found) CHECK((nb.label != 0 && nb.label != 17 && nb.label != 39 && nb.label != 16));
        if (i != 0 && i != 17 && i != 39 && i != 16) {
            CHECK(found[0].label == static_cast<aitl::label_t>(i));  // itself, cosine 1
            CHECK(found[0].score == Approx(1.0f));
        }
    }
    // Stored vectors are normalised under cosine.
    const auto v = index.vector(5);
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    CHECK(norm == Approx(1.0));
    CHECK(index.labels().size() == n - 4);
    index.add(17, base.row(17).data());  // a removed label can come back
    CHECK(index.search(base.row(17).data(), 1)[0].label == 17);
    index.clear();
    CHECK(index.empty());
}

TEST_CASE("exact_index rejects bad input with the numbers in the message", "[exact]") {
    aitl::exact_index index(4);
    index.add({1, 2}, random_matrix(2, 4, 5));
    CHECK_THROWS_AS(aitl::exact_index(0), aitl::config_error);
    CHECK_THROWS_AS(index.add({3}, random_matrix(1, 5, 5)), aitl::dimension_error);
    try {
        index.add({3}, random_matrix(1, 3, 5));
        FAIL("expected dimension_error");
    } catch (const aitl::dimension_error& e) {
        CHECK(std::string(e.what()).find("got 3, expected 4") != std::string::npos);
    }
    CHECK_THROWS_AS(index.add({3, 4}, random_matrix(1, 4, 5)), aitl::dimension_error);
    CHECK_THROWS_AS(index.add(3, std::vector<float>{1, 2, 3}), aitl::dimension_error);
    CHECK_THROWS_AS(index.add(3, std::vector<float>{1, std::nanf(""), 3, 4}), aitl::dimension_error);
    CHECK_THROWS_AS(index.add(3, std::vector<float>{1, std::numeric_limits<float>::infinity(), 3, 4}), aitl::dimension_error);
    CHECK_THROWS_AS(index.add({1}, random_matrix(1, 4, 5)), aitl::config_error);      // stored already
    CHECK_THROWS_AS(index.add({7, 7}, random_matrix(2, 4, 5)), aitl::config_error);   // repeated
    CHECK_THROWS_AS(index.add(aitl::max_label + 1, std::vector<float>{1, 2, 3, 4}), aitl::config_error);
    CHECK(index.size() == 2);  // nothing was added by the failed calls
    const std::vector<float> q{1, 2, 3, 4};
    CHECK_THROWS_AS(index.search(q, 0), aitl::config_error);
    CHECK_THROWS_AS(index.search(std::vector<float>{1, 2}, 1), aitl::dimension_error);
    CHECK_THROWS_AS(index.search(std::vector<float>{1, 2, std::nanf(""), 4}, 1), aitl::dimension_error);
    CHECK_THROWS_AS(index.search_batch(random_matrix(2, 4, 1), 0), aitl::config_error);
    CHECK_THROWS_AS(index.search_batch(random_matrix(2, 3, 1), 1), aitl::dimension_error);
    aitl::row_matrix bad = random_matrix(3, 4, 1);
    bad(2, 1) = -std::numeric_limits<float>::infinity();
    try {
        index.search_batch(bad, 1);
        FAIL("expected dimension_error");
    } catch (const aitl::dimension_error& e) {
        CHECK(std::string(e.what()).find("row 2") != std::string::npos);
    }
    CHECK_THROWS_AS(index.remove(99), aitl::not_found);
    CHECK_THROWS_AS(index.vector(99), aitl::not_found);
}

TEST_CASE("exact_index copies and moves", "[exact]") {
    aitl::exact_index_st a(3);
    a.add(1, std::vector<float>{1, 0, 0});
    aitl::exact_index_st b = a;
    b.add(2, std::vector<float>{0, 1, 0});
    CHECK(a.size() == 1);
    CHECK(b.size() == 2);
    aitl::exact_index_st c = std::move(b);
    CHECK(c.size() == 2);
    CHECK(c.search(std::vector<float>{0, 1, 0}, 1)[0].label == 2);
    aitl::exact_index mt(3);
    mt = aitl::exact_index(3);
    CHECK(mt.empty());
}

// ---------------------------------------------------------------------------------------
// hnsw_index
// ---------------------------------------------------------------------------------------

TEST_CASE("hnsw_index reaches recall 0.95 of exact search at ef 200", "[hnsw]") {
    const std::size_t n = 3000, d = 32, k = 10;
    const aitl::row_matrix base = random_matrix(n, d, 21);
    const aitl::row_matrix queries = random_matrix(100, d, 22);
    for (int variant = 0; variant < 3; ++variant) {
        const aitl::similarity m = variant == 1 ? aitl::similarity::cosine : aitl::similarity::inner_product;
        CAPTURE(aitl::similarity_name(m), variant);
        aitl::exact_index exact(d, m);
        exact.add(iota_labels(n), base);
        aitl::hnsw_config cfg;
        cfg.dim = d;
        cfg.metric = m;
        cfg.compact_search = variant != 2;  // bfloat16 traversal, or float32 throughout
        cfg.ef = 200;
        cfg.max_elements = 100;  // grows automatically
        aitl::hnsw_index index(cfg);
        index.add(iota_labels(n), base, 2);
        CHECK(index.size() == n);
        CHECK(index.capacity() >= n);
        const aitl::knn_result truth = exact.search_batch(queries, k);
        const aitl::knn_result got = index.search_batch(queries, k, 2);
        CHECK(recall_at(got, truth) >= 0.95);
        // The scores are exact float32 scores of the metric, whatever the traversal used.
        for (Eigen::Index i = 0; i < got.labels.rows(); ++i)
            for (Eigen::Index j = 0; j < static_cast<Eigen::Index>(k); ++j) {
                const auto v = exact.vector(static_cast<aitl::label_t>(got.labels(i, j)));
                Eigen::VectorXf q = queries.row(i).transpose();
                if (m == aitl::similarity::cosine) q.normalize();
                CHECK(got.scores(i, j) == Approx(Eigen::Map<const Eigen::VectorXf>(v.data(), d).dot(q)).margin(1e-4));
                if (j > 0) CHECK(got.scores(i, j - 1) >= got.scores(i, j));
            }
        // Single searches agree with the batch.
        const auto single = index.search(queries.row(5).data(), k);
        for (std::size_t j = 0; j < single.size(); ++j)
            CHECK(static_cast<std::int64_t>(single[j].label) == got.labels(5, static_cast<Eigen::Index>(j)));
    }
}

TEST_CASE("hnsw_index remove hides a label for good and a removed label can be added again", "[hnsw]") {
    const std::size_t n = 500, d = 8;
    const aitl::row_matrix base = random_matrix(n, d, 31);
    aitl::hnsw_index index(aitl::hnsw_config{d, aitl::similarity::cosine});
    index.add(iota_labels(n), base);
    for (aitl::label_t l = 0; l < n; l += 5) index.remove(l);
    CHECK(index.size() == n - n / 5);
    CHECK_FALSE(index.contains(10));
    CHECK(index.contains(11));
    CHECK_THROWS_AS(index.remove(10), aitl::not_found);  // removed already
    const aitl::knn_result r = index.search_batch(base, 20);
    for (Eigen::Index i = 0; i < r.labels.rows(); ++i)
        for (Eigen::Index j = 0; j < r.labels.cols(); ++j) CHECK(r.labels(i, j) % 5 != 0);
    CHECK(index.search(base.row(11).data(), 1)[0].label == 11);
    index.add(10, base.row(10).data());
    CHECK(index.contains(10));
    CHECK(index.size() == n - n / 5 + 1);
    CHECK(index.search(base.row(10).data(), 1)[0].label == 10);
    CHECK_THROWS_AS(index.add(10, base.row(10).data()), aitl::config_error);
}

TEST_CASE("hnsw_index save and load round-trip the results and the settings", "[hnsw]") {
    scratch_dir dir;
    const std::size_t n = 800, d = 12;
    const aitl::row_matrix base = random_matrix(n, d, 41);
    aitl::hnsw_config cfg;
    cfg.dim = d;
    cfg.metric = aitl::similarity::cosine;
    cfg.M = 8;
    cfg.ef_construction = 64;
    cfg.ef = 77;
    aitl::hnsw_index index(cfg);
    index.add(iota_labels(n, 1000), base);
    index.remove(1003);
    const std::string path = dir.file("kb.hnsw");
    index.save(path);
    CHECK(fs::exists(path + ".aitl.json"));
    auto loaded = aitl::hnsw_index::load(path);
    CHECK(loaded.dim() == d);
    CHECK(loaded.metric() == aitl::similarity::cosine);
    CHECK(loaded.config().M == 8);
    CHECK(loaded.config().ef_construction == 64);
    CHECK(loaded.ef() == 77);
    CHECK(loaded.size() == n - 1);
    CHECK_FALSE(loaded.contains(1003));
    const aitl::row_matrix queries = random_matrix(30, d, 42);
    const aitl::knn_result a = index.search_batch(queries, 15), b = loaded.search_batch(queries, 15);
    CHECK(a.labels == b.labels);
    CHECK(a.scores == b.scores);
    loaded.add(5000, base.row(0).data());  // still writable
    CHECK(loaded.size() == n);
}

TEST_CASE("hnsw_index load and save report missing, corrupt and mismatched files as io_error", "[hnsw]") {
    scratch_dir dir;
    aitl::hnsw_index index(aitl::hnsw_config{6});
    index.add(iota_labels(50), random_matrix(50, 6, 51));
    const std::string path = dir.file("x.hnsw");
    index.save(path);
    CHECK_THROWS_AS(aitl::hnsw_index::load(dir.file("missing.hnsw")), aitl::io_error);
    CHECK_THROWS_AS(index.save(dir.file("no/such/dir/x.hnsw")), aitl::io_error);

    // Index file without its metadata.
    fs::copy_file(path, dir.file("alone.hnsw"));
    CHECK_THROWS_AS(aitl::hnsw_index::load(dir.file("alone.hnsw")), aitl::io_error);

    // One flipped byte.
    fs::copy_file(path, dir.file("flip.hnsw"));
    fs::copy_file(path + ".aitl.json", dir.file("flip.hnsw.aitl.json"));
    {
        std::fstream f(dir.file("flip.hnsw"), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(200);
        char c = 0;
        f.read(&c, 1);
        f.seekp(200);
        c = static_cast<char>(c ^ 0x5a);
        f.write(&c, 1);
    }
    CHECK_THROWS_AS(aitl::hnsw_index::load(dir.file("flip.hnsw")), aitl::io_error);

    // Truncated index file.
    fs::copy_file(path, dir.file("cut.hnsw"));
    fs::copy_file(path + ".aitl.json", dir.file("cut.hnsw.aitl.json"));
    fs::resize_file(dir.file("cut.hnsw"), fs::file_size(path) / 2);
    CHECK_THROWS_AS(aitl::hnsw_index::load(dir.file("cut.hnsw")), aitl::io_error);

    // Metadata that is not JSON, and metadata of another index.
    fs::copy_file(path, dir.file("junk.hnsw"));
    std::ofstream(dir.file("junk.hnsw.aitl.json")) << "{not json";
    CHECK_THROWS_AS(aitl::hnsw_index::load(dir.file("junk.hnsw")), aitl::io_error);
    aitl::hnsw_index other(aitl::hnsw_config{7});
    other.add(iota_labels(50), random_matrix(50, 7, 52));
    other.save(dir.file("other.hnsw"));
    fs::copy_file(path, dir.file("mixed.hnsw"));
    fs::copy_file(dir.file("other.hnsw.aitl.json"), dir.file("mixed.hnsw.aitl.json"));
    CHECK_THROWS_AS(aitl::hnsw_index::load(dir.file("mixed.hnsw")), aitl::io_error);
}

TEST_CASE("hnsw_index is movable and a moved-from index reports state_error", "[hnsw]") {
    const aitl::row_matrix base = random_matrix(100, 4, 61);
    aitl::hnsw_index a(aitl::hnsw_config{4, aitl::similarity::cosine});
    a.add(iota_labels(100), base);
    aitl::hnsw_index b = std::move(a);
    CHECK(b.size() == 100);
    CHECK(b.search(base.row(7).data(), 1)[0].label == 7);
    CHECK(a.size() == 0);
    CHECK_THROWS_AS(a.search(base.row(7).data(), 1), aitl::state_error);
    a = std::move(b);
    CHECK(a.search(base.row(9).data(), 1)[0].label == 9);
    std::vector<aitl::hnsw_index_st> many;
    many.emplace_back(aitl::hnsw_config{4});
    many.emplace_back(aitl::hnsw_config{4});  // reallocation moves the first
    many[0].add(1, base.row(1).data());
    CHECK(many[0].size() == 1);
}

TEST_CASE("hnsw_index rejects bad settings and bad input", "[hnsw]") {
    CHECK_THROWS_AS(aitl::hnsw_index(aitl::hnsw_config{0}), aitl::config_error);
    aitl::hnsw_config cfg{4};
    cfg.M = 1;
    CHECK_THROWS_AS(aitl::hnsw_index(cfg), aitl::config_error);
    cfg = aitl::hnsw_config{4};
    cfg.ef = 0;
    CHECK_THROWS_AS(cfg.validate(), aitl::config_error);
    aitl::hnsw_index index(aitl::hnsw_config{4});
    index.add({1, 2}, random_matrix(2, 4, 71));
    CHECK_THROWS_AS(index.set_ef(0), aitl::config_error);
    CHECK_THROWS_AS(index.add({3}, random_matrix(1, 5, 71)), aitl::dimension_error);
    CHECK_THROWS_AS(index.add({3, 4}, random_matrix(1, 4, 71)), aitl::dimension_error);
    CHECK_THROWS_AS(index.add(3, std::vector<float>{1, 2, 3}), aitl::dimension_error);
    CHECK_THROWS_AS(index.add(3, std::vector<float>{1, 2, std::nanf(""), 4}), aitl::dimension_error);
    CHECK_THROWS_AS(index.add(3, std::vector<float>{1, 2, std::numeric_limits<float>::infinity(), 4}), aitl::dimension_error);
    CHECK_THROWS_AS(index.add({1}, random_matrix(1, 4, 71)), aitl::config_error);
    CHECK_THROWS_AS(index.add({8, 8}, random_matrix(2, 4, 71)), aitl::config_error);
    CHECK_THROWS_AS(index.add(aitl::max_label + 1, std::vector<float>{1, 2, 3, 4}), aitl::config_error);
    CHECK(index.size() == 2);
    CHECK_THROWS_AS(index.search(std::vector<float>{1, 2, 3, 4}, 0), aitl::config_error);
    CHECK_THROWS_AS(index.search(std::vector<float>{1, 2, 3}, 1), aitl::dimension_error);
    CHECK_THROWS_AS(index.search(std::vector<float>{1, std::nanf(""), 3, 4}, 1), aitl::dimension_error);
    CHECK_THROWS_AS(index.search_batch(random_matrix(2, 4, 1), 0), aitl::config_error);
    CHECK_THROWS_AS(index.search_batch(random_matrix(2, 2, 1), 3), aitl::dimension_error);
    CHECK_THROWS_AS(index.remove(42), aitl::not_found);
    CHECK_THROWS_AS(index.vector(42), aitl::not_found);
    // k beyond the index: the result is capped at the index size, so k = 2^40 allocates no more
    // than k = 2 (it used to allocate k-long padded rows: 12 GB for k = 1e9).
    const aitl::knn_result r = index.search_batch(random_matrix(1, 4, 1), 5);
    CHECK(r.labels.cols() == 2);
    CHECK(r.labels(0, 1) != -1);
    const aitl::knn_result huge = index.search_batch(random_matrix(3, 4, 1), std::size_t{1} << 40);
    CHECK(huge.labels.rows() == 3);
    CHECK(huge.labels.cols() == 2);
    CHECK(index.search(std::vector<float>{1, 2, 3, 4}, std::size_t{1} << 40).size() == 2);
}

TEST_CASE("hnsw_config round-trips through JSON", "[hnsw]") {
    aitl::hnsw_config c;
    c.dim = 384;
    c.metric = aitl::similarity::cosine;
    c.M = 24;
    c.ef_construction = 300;
    c.ef = 64;
    c.max_elements = 5000;
    c.seed = 7;
    const nlohmann::json j = c;
    CHECK(j.at("metric") == "cosine");
    const auto back = j.get<aitl::hnsw_config>();
    CHECK(back.dim == 384);
    CHECK(back.metric == aitl::similarity::cosine);
    CHECK(back.M == 24);
    CHECK(back.ef_construction == 300);
    CHECK(back.ef == 64);
    CHECK(back.max_elements == 5000);
    CHECK(back.seed == 7);
    CHECK(back.compact_search);
    c.compact_search = false;
    CHECK_FALSE(nlohmann::json(c).get<aitl::hnsw_config>().compact_search);
    CHECK_THROWS_AS(aitl::parse_similarity("l2"), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"dim", 3}, {"metric", "l2"}}.get<aitl::hnsw_config>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"dim", 3}, {"efc", 3}}.get<aitl::hnsw_config>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"dim", "three"}}.get<aitl::hnsw_config>()), aitl::config_error);
    CHECK(nlohmann::json{{"dim", 3}}.get<aitl::hnsw_config>().M == 16);  // missing keys keep defaults
}

// ---------------------------------------------------------------------------------------
// callback_encoder
// ---------------------------------------------------------------------------------------

TEST_CASE("callback_encoder checks the shape and the values the function returns", "[encoder]") {
    int calls = 0;
    aitl::callback_encoder ok(3, [&](const std::vector<std::string>& texts) {
        ++calls;
        aitl::row_matrix m(static_cast<Eigen::Index>(texts.size()), 3);
        for (Eigen::Index i = 0; i < m.rows(); ++i) m.row(i) << static_cast<float>(texts[static_cast<std::size_t>(i)].size()), 1, 2;
        return m;
    });
    static_assert(aitl::is_encoder_v<aitl::callback_encoder>, "callback_encoder is an encoder");
    CHECK(ok.dim() == 3);
    const aitl::row_matrix v = ok.encode({"ab", "abcd"});
    CHECK(v.rows() == 2);
    CHECK(v(1, 0) == 4.0f);
    CHECK(ok.encode({}).rows() == 0);
    CHECK(calls == 1);

    aitl::callback_encoder wrong_cols(3, [](const std::vector<std::string>& t) {
        return aitl::row_matrix::Zero(static_cast<Eigen::Index>(t.size()), 4);
    });
    try {
        wrong_cols.encode({"a", "b"});
        FAIL("expected dimension_error");
    } catch (const aitl::dimension_error& e) {
        CHECK(std::string(e.what()).find("got 2 x 4, expected 2 x 3") != std::string::npos);
    }
    aitl::callback_encoder wrong_rows(3, [](const std::vector<std::string>&) { return aitl::row_matrix::Zero(1, 3); });
    CHECK_THROWS_AS(wrong_rows.encode({"a", "b"}), aitl::dimension_error);
    aitl::callback_encoder nan(2, [](const std::vector<std::string>& t) {
        aitl::row_matrix m = aitl::row_matrix::Zero(static_cast<Eigen::Index>(t.size()), 2);
        m(1, 1) = std::nanf("");
        return m;
    });
    try {
        nan.encode({"a", "b", "c"});
        FAIL("expected dimension_error");
    } catch (const aitl::dimension_error& e) {
        CHECK(std::string(e.what()).find("row 1") != std::string::npos);
    }
    aitl::callback_encoder inf(2, [](const std::vector<std::string>& t) {
        aitl::row_matrix m = aitl::row_matrix::Zero(static_cast<Eigen::Index>(t.size()), 2);
        m(0, 0) = std::numeric_limits<float>::infinity();
        return m;
    });
    CHECK_THROWS_AS(inf.encode({"a"}), aitl::dimension_error);
    CHECK_THROWS_AS(aitl::callback_encoder(0, [](const std::vector<std::string>&) { return aitl::row_matrix(); }),
                    aitl::config_error);
    CHECK_THROWS_AS(aitl::callback_encoder(2, nullptr), aitl::config_error);
}

// ---------------------------------------------------------------------------------------
// dense_retriever
// ---------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("dense_retriever maps ids to labels and finds the closest texts", "[dense]", aitl::exact_index,
                   aitl::hnsw_index) {
    using retriever = aitl::dense_retriever<letter_encoder, TestType>;
    static_assert(aitl::is_retriever_v<retriever>, "dense_retriever is a retriever");
    retriever dense(letter_encoder{}, TestType(26, aitl::similarity::cosine));
    dense.add("zoo", "zzzooo");
    dense.add(aitl::document{"abc", "", "aaabbbccc"});
    dense.add(std::vector<aitl::document>{{"xyz", "", "xxyyzz"}, {"mmm", "title", "mmmmm"}});
    aitl::knowledge_base kb;
    kb.add(aitl::document{"kb1", "", "kkkqqq"});
    kb.add(aitl::document{"kb2", "", "wwwvvv"});
    dense.add(kb);
    dense.add({"e1", "e2"}, {"eeee", "eeef"});
    CHECK(dense.size() == 8);
    CHECK(dense.contains("kb2"));
    CHECK(dense.dim() == 26);

    const aitl::hits top = dense.search("zo zo zo", 3);
    REQUIRE(top.size() == 3);
    CHECK(top[0].id == "zoo");
    CHECK(top[0].score == Approx(1.0f));
    CHECK(dense.search("kqkq", 1)[0].id == "kb1");
    CHECK(dense.search("title", 1)[0].id == "mmm");  // indexed_text() includes the title

    const std::vector<std::string> queries{"abcabc", "xyz", "eee"};
    const auto batch = dense.search_batch(queries, 2, 2);
    REQUIRE(batch.size() == 3);
    for (std::size_t i = 0; i < queries.size(); ++i) CHECK(batch[i] == dense.search(queries[i], 2));
    CHECK(batch[2][0].id == "e1");

    dense.update("e1", "ffff");
    CHECK(dense.search("ffff", 1)[0].id == "e1");
    CHECK(dense.size() == 8);
    dense.remove("zoo");
    CHECK(dense.size() == 7);
    CHECK_FALSE(dense.contains("zoo"));
    for (const auto& h : dense.search("zzzooo", 7)) CHECK(h.id != "zoo");
    dense.add("zoo", "zzzooo");  // the id is free again
    CHECK(dense.search("zzzooo", 1)[0].id == "zoo");

    CHECK_THROWS_AS(dense.add("abc", "again"), aitl::config_error);
    CHECK_THROWS_AS(dense.add("", "empty id"), aitl::config_error);
    CHECK_THROWS_AS(dense.add({"n1", "n1"}, {"a", "b"}), aitl::config_error);
    CHECK_THROWS_AS(dense.add({"n1", "n2"}, {"a"}), aitl::config_error);
    CHECK(dense.size() == 8);
    CHECK_THROWS_AS(dense.remove("nope"), aitl::not_found);
    CHECK_THROWS_AS(dense.update("nope", "x"), aitl::not_found);
    CHECK_THROWS_AS(dense.search("abc", 0), aitl::config_error);
    CHECK_THROWS_AS(dense.search_batch(queries, 0), aitl::config_error);
    CHECK_THROWS_AS(retriever(letter_encoder{}, TestType(25)), aitl::dimension_error);
}

TEST_CASE("dense_retriever with a callback_encoder rejects what the callback gets wrong", "[dense]") {
    bool poison = false;
    aitl::callback_encoder enc(4, [&](const std::vector<std::string>& texts) {
        aitl::row_matrix m = aitl::row_matrix::Ones(static_cast<Eigen::Index>(texts.size()), 4);
        for (std::size_t i = 0; i < texts.size(); ++i) m(static_cast<Eigen::Index>(i), 0) = static_cast<float>(texts[i].size());
        if (poison) m(0, 2) = std::nanf("");
        return m;
    });
    aitl::dense_retriever<aitl::callback_encoder, aitl::exact_index> dense(enc, aitl::exact_index(4), 2);
    std::vector<std::string> ids, texts;
    for (int i = 0; i < 7; ++i) {  // more than one encoding batch
        ids.push_back("d" + std::to_string(i));
        texts.push_back(std::string(static_cast<std::size_t>(i + 1), 'x'));
    }
    dense.add(ids, texts);
    CHECK(dense.size() == 7);
    CHECK(dense.search("xxxxxxxxxx", 1)[0].id == "d6");
    poison = true;
    CHECK_THROWS_AS(dense.add("bad", "text"), aitl::dimension_error);
    CHECK_THROWS_AS(dense.search("q", 3), aitl::dimension_error);
    CHECK(dense.size() == 7);
}

// ---------------------------------------------------------------------------------------
// Fusion, hybrid, any_retriever
// ---------------------------------------------------------------------------------------

TEST_CASE("Reciprocal rank fusion orders hand-made lists as expected", "[hybrid]") {
    const aitl::hits a{{"A", 9.0f}, {"B", 5.0f}, {"C", 1.0f}};
    const aitl::hits b{{"C", 0.9f}, {"A", 0.8f}, {"D", 0.7f}};
    aitl::fusion_config cfg;  // rrf, k = 60
    const aitl::hits f = aitl::fuse(a, b, 10, cfg);
    REQUIRE(f.size() == 4);
    CHECK(f[0].id == "A");  // 1/61 + 1/62
    CHECK(f[1].id == "C");  // 1/63 + 1/61
    CHECK(f[2].id == "B");  // 1/62
    CHECK(f[3].id == "D");  // 1/63
    CHECK(f[0].score == Approx(1.0 / 61 + 1.0 / 62));
    CHECK(f[3].score == Approx(1.0 / 63));
    CHECK(aitl::fuse(a, b, 2, cfg).size() == 2);
    // Equal fused scores: smaller id first.
    const aitl::hits g = aitl::fuse(aitl::hits{{"y", 1}}, aitl::hits{{"x", 1}}, 5, cfg);
    CHECK(g[0].id == "x");
    CHECK(g[1].id == "y");
}

TEST_CASE("Weighted reciprocal rank fusion of several lists", "[hybrid]") {
    const aitl::hits a{{"A", 9.0f}, {"B", 5.0f}, {"C", 1.0f}};
    const aitl::hits b{{"C", 0.9f}, {"A", 0.8f}, {"D", 0.7f}};
    const aitl::hits c{{"D", 1.0f}, {"D", 0.5f}};  // a repeated id counts once
    const aitl::hits f = aitl::fuse_rrf({&a, &b, &c}, {1.0, 0.5, 2.0}, 10);
    REQUIRE(f.size() == 4);
    CHECK(f[0].id == "D");  // 0.5/63 + 2/61
    CHECK(f[0].score == Approx(0.5 / 63 + 2.0 / 61));
    CHECK(f[1].id == "A");  // 1/61 + 0.5/62
    // equal weights = fuse() under RRF; weight 0 drops a list; empty weights = all 1
    CHECK(aitl::fuse_rrf({&a, &b}, {}, 10) == aitl::fuse(a, b, 10, aitl::fusion_config{}));
    CHECK(aitl::fuse_rrf({&a, &b}, {1.0, 0.0}, 10).size() == 3);
    CHECK(aitl::fuse_rrf({&a, &b}, {1.0, 0.0}, 10)[0].id == "A");
    CHECK(aitl::fuse_rrf({&a}, {1.0}, 2).size() == 2);
    CHECK_THROWS_AS(aitl::fuse_rrf({&a, &b}, {1.0}, 10), aitl::config_error);
    CHECK_THROWS_AS(aitl::fuse_rrf({&a}, {-1.0}, 10), aitl::config_error);
    CHECK_THROWS_AS(aitl::fuse_rrf({&a}, {std::nan("")}, 10), aitl::config_error);
    CHECK_THROWS_AS(aitl::fuse_rrf({&a}, {1.0}, 10, -1.0), aitl::config_error);
}

TEST_CASE("Weighted fusion min-max normalises each list and weights the first", "[hybrid]") {
    const aitl::hits a{{"A", 10.0f}, {"B", 5.0f}, {"C", 0.0f}};
    const aitl::hits b{{"C", 3.0f}, {"A", 2.0f}, {"D", 1.0f}};
    aitl::fusion_config cfg;
    cfg.method = aitl::fusion_method::weighted;
    cfg.weight = 0.5f;
    aitl::hits f = aitl::fuse(a, b, 10, cfg);
    REQUIRE(f.size() == 4);
    CHECK(f[0].id == "A");
    CHECK(f[0].score == Approx(0.75));
    CHECK(f[1].id == "C");
    CHECK(f[1].score == Approx(0.5));
    CHECK(f[2].id == "B");
    CHECK(f[2].score == Approx(0.25));
    CHECK(f[3].id == "D");
    CHECK(f[3].score == Approx(0.0));
    cfg.weight = 0.9f;
    f = aitl::fuse(a, b, 10, cfg);
    CHECK(f[0].id == "A");
    CHECK(f[1].id == "B");  // 0.45
    CHECK(f[2].id == "C");  // 0.1
    CHECK(f[3].id == "D");
    // A list of equal scores normalises to 1.
    cfg.weight = 0.5f;
    f = aitl::fuse(aitl::hits{{"p", 3}, {"q", 3}}, aitl::hits{}, 10, cfg);
    CHECK(f[0].id == "p");
    CHECK(f[0].score == Approx(0.5));
    CHECK(f[1].score == Approx(0.5));
}

TEST_CASE("fusion_config validates and round-trips through JSON", "[hybrid]") {
    aitl::fusion_config c;
    c.method = aitl::fusion_method::weighted;
    c.rrf_k = 10.0f;
    c.weight = 0.25f;
    c.depth = 40;
    const nlohmann::json j = c;
    CHECK(j.at("method") == "weighted");
    const auto back = j.get<aitl::fusion_config>();
    CHECK(back.method == aitl::fusion_method::weighted);
    CHECK(back.rrf_k == 10.0f);
    CHECK(back.weight == 0.25f);
    CHECK(back.depth == 40);
    c.weight = 1.5f;
    CHECK_THROWS_AS(c.validate(), aitl::config_error);
    c.weight = 0.5f;
    c.rrf_k = -1.0f;
    CHECK_THROWS_AS(c.validate(), aitl::config_error);
    c.rrf_k = 60.0f;
    c.depth = 0;
    CHECK_THROWS_AS(c.validate(), aitl::config_error);
    CHECK_THROWS_AS(aitl::parse_fusion_method("max"), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"method", "max"}}.get<aitl::fusion_config>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"wieght", 0.5}}.get<aitl::fusion_config>()), aitl::config_error);
    CHECK(nlohmann::json::object().get<aitl::fusion_config>().rrf_k == 60.0f);
}

TEST_CASE("hybrid asks both retrievers for max(depth, k) candidates and fuses them", "[hybrid]") {
    aitl::fusion_config cfg;
    cfg.depth = 3;
    aitl::hybrid<fixed_retriever, fixed_retriever> h(fixed_retriever({{"A", 3}, {"B", 2}, {"C", 1}, {"Z", 0}}),
                                                    fixed_retriever({{"C", 3}, {"A", 2}, {"D", 1}}), cfg);
    static_assert(aitl::is_retriever_v<aitl::hybrid<fixed_retriever, fixed_retriever>>, "hybrid is a retriever");
    const aitl::hits top = h.search("q", 2);
    CHECK(h.first().last_k == 3);
    CHECK(h.second().last_k == 3);
    REQUIRE(top.size() == 2);
    CHECK(top[0].id == "A");
    CHECK(top[1].id == "C");
    h.search("q", 5);
    CHECK(h.first().last_k == 5);
    const auto batch = h.search_batch({"q1", "q2"}, 2, 2);
    REQUIRE(batch.size() == 2);
    CHECK(batch[1] == top);
    CHECK_THROWS_AS(h.search("q", 0), aitl::config_error);
    CHECK_THROWS_AS(h.search_batch({"q"}, 0), aitl::config_error);
    cfg.weight = -0.1f;
    CHECK_THROWS_AS((aitl::hybrid<fixed_retriever, fixed_retriever>(fixed_retriever({}), fixed_retriever({}), cfg)),
                    aitl::config_error);
}

TEST_CASE("any_retriever shares a retriever and composes hybrids chosen at run time", "[hybrid]") {
    auto a = std::make_shared<fixed_retriever>(aitl::hits{{"A", 3}, {"B", 2}});
    aitl::any_retriever ra(a);
    CHECK(static_cast<bool>(ra));
    CHECK(ra.target<fixed_retriever>() == a.get());
    CHECK(ra.target<aitl::bm25>() == nullptr);
    CHECK(ra.search("q", 1).size() == 1);
    CHECK(a->last_k == 1);
    const auto batch = ra.search_batch({"x", "y", "z"}, 2, 3);  // no search_batch: parallel search
    CHECK(batch.size() == 3);
    CHECK(batch[2][1].id == "B");
    CHECK_THROWS_AS(ra.search("q", 0), aitl::config_error);
    aitl::any_retriever empty;
    CHECK_THROWS_AS(empty.search("q", 1), aitl::state_error);

    using any_hybrid = aitl::hybrid<aitl::any_retriever, aitl::any_retriever>;
    any_hybrid inner(ra, aitl::any_retriever(fixed_retriever({{"B", 1}, {"C", 0.5f}})));
    any_hybrid outer(aitl::any_retriever(std::move(inner)), aitl::any_retriever(fixed_retriever({{"C", 1}})));
    const aitl::hits top = outer.search("q", 3);
    REQUIRE(top.size() == 3);
    // inner: B (1/62 + 1/61), A (1/61), C (1/62); outer: C (1/63 + 1/61), B (1/61), A (1/62)
    CHECK(top[0].id == "C");
    CHECK(top[1].id == "B");
    CHECK(top[2].id == "A");
}

TEST_CASE("hybrid fuses BM25 and a dense retriever over the same documents", "[hybrid]") {
    aitl::knowledge_base kb;
    kb.add(aitl::document{"refund", "Refunds", "how to get a refund for a cancelled booking"});
    kb.add(aitl::document{"password", "Passwords", "reset your password from the login page"});
    kb.add(aitl::document{"pets", "Pets", "are pets allowed in the apartment"});
    aitl::bm25 lexical;
    lexical.add(kb);
    aitl::dense_retriever<letter_encoder, aitl::exact_index> dense(letter_encoder{}, aitl::exact_index(26, aitl::similarity::cosine));
    dense.add(kb);
    aitl::hybrid<aitl::any_retriever, aitl::any_retriever> h(aitl::any_retriever(std::move(lexical)),
                                                             aitl::any_retriever(std::move(dense)));
    const aitl::hits top = h.search("refund cancelled booking", 3);
    REQUIRE_FALSE(top.empty());
    CHECK(top[0].id == "refund");
    const auto batch = h.search_batch({"reset password", "pets apartment"}, 1, 2);
    CHECK(batch[0][0].id == "password");
    CHECK(batch[1][0].id == "pets");
}

// Reverses the candidates (a reranker whose effect is easy to see).
struct reverse_reranker {
    mutable std::atomic<std::size_t> last_candidates{0};
    reverse_reranker() = default;
    reverse_reranker(const reverse_reranker&) {}
    aitl::hits rerank(std::string_view, const aitl::hits& candidates, std::size_t k) const {
        last_candidates = candidates.size();
        aitl::hits out(candidates.rbegin(), candidates.rend());
        for (std::size_t i = 0; i < out.size(); ++i) out[i].score = static_cast<float>(out.size() - i);
        if (out.size() > k) out.resize(k);
        return out;
    }
};

TEST_CASE("fused: weighted RRF of several retrievers, zero-weight parts never searched", "[hybrid]") {
    auto a = std::make_shared<fixed_retriever>(aitl::hits{{"A", 9}, {"B", 8}, {"C", 7}});
    auto b = std::make_shared<fixed_retriever>(aitl::hits{{"C", 5}, {"D", 4}});
    auto z = std::make_shared<fixed_retriever>(aitl::hits{{"Z", 1}});
    aitl::fused f({aitl::any_retriever(a), aitl::any_retriever(b), aitl::any_retriever(z)}, {1.0, 2.0, 0.0}, 4, 0.0);
    static_assert(aitl::is_retriever_v<aitl::fused>, "fused is a retriever");
    // A 1/1, B 1/2, C 1/3 + 2/1, D 2/2
    const aitl::hits top = f.search("q", 3);
    REQUIRE(top.size() == 3);
    CHECK(top[0].id == "C");
    CHECK(top[0].score == Approx(1.0 / 3 + 2.0));
    CHECK(top[1].id == "A");
    CHECK(top[2].id == "D");
    CHECK(a->last_k == 4);  // max(depth, k)
    CHECK(z->last_k == 0);  // weight 0: not searched
    f.search("q", 6);
    CHECK(a->last_k == 6);
    CHECK(f.search_batch({"x", "y"}, 3, 2)[1] == top);
    // the same as the free function over the same lists
    const aitl::hits la = a->search("q", 4), lb = b->search("q", 4);
    CHECK(aitl::fuse_rrf({&la, &lb}, {1.0, 2.0}, 3, 0.0) == top);
    CHECK_THROWS_AS(f.search("q", 0), aitl::config_error);
    CHECK_THROWS_AS(aitl::fused({}), aitl::config_error);
    CHECK_THROWS_AS(aitl::fused({aitl::any_retriever()}), aitl::config_error);
    CHECK_THROWS_AS(aitl::fused({aitl::any_retriever(a)}, {1.0, 1.0}), aitl::config_error);
    CHECK_THROWS_AS(aitl::fused({aitl::any_retriever(a)}, {0.0}), aitl::config_error);
    CHECK_THROWS_AS(aitl::fused({aitl::any_retriever(a)}, {-1.0}), aitl::config_error);
    CHECK_THROWS_AS(aitl::fused({aitl::any_retriever(a)}, {std::nan("")}), aitl::config_error);
    CHECK_THROWS_AS(aitl::fused({aitl::any_retriever(a)}, {}, 0), aitl::config_error);
    CHECK_THROWS_AS(aitl::fused({aitl::any_retriever(a)}, {}, 10, -1.0), aitl::config_error);
}

TEST_CASE("reranked: the reranker orders the first stage's top max(depth, k)", "[hybrid]") {
    auto first = std::make_shared<fixed_retriever>(aitl::hits{{"A", 5}, {"B", 4}, {"C", 3}, {"D", 2}, {"E", 1}});
    auto ranker = std::make_shared<reverse_reranker>();
    aitl::reranked<fixed_retriever, reverse_reranker> r(first, ranker, 4);
    static_assert(aitl::is_retriever_v<aitl::reranked<fixed_retriever, reverse_reranker>>, "reranked is a retriever");
    const aitl::hits top = r.search("q", 2);
    CHECK(first->last_k == 4);
    CHECK(ranker->last_candidates == 4);
    REQUIRE(top.size() == 2);
    CHECK(top[0].id == "D");  // the pool's last comes first: the whole pool was reranked
    CHECK(top[1].id == "C");
    const auto batch = r.search_batch({"x", "y", "z"}, 2, 2);
    REQUIRE(batch.size() == 3);
    CHECK(batch[2] == top);
    aitl::reranked<fixed_retriever, reverse_reranker> exact(fixed_retriever({{"A", 2}, {"B", 1}, {"C", 0}}),
                                                              reverse_reranker{});
    CHECK(exact.search("q", 2)[0].id == "B");  // depth 0: rerank exactly k
    aitl::reranked<fixed_retriever, reverse_reranker> none(fixed_retriever({}), reverse_reranker{}, 10);
    CHECK(none.search("q", 3).empty());
    CHECK_THROWS_AS(r.search("q", 0), aitl::config_error);
    CHECK_THROWS_AS((aitl::reranked<fixed_retriever, reverse_reranker>(std::shared_ptr<fixed_retriever>(), ranker)),
                    aitl::config_error);
}

TEST_CASE("filtered: excluded documents are never returned but stay in the inner retriever", "[hybrid]") {
    auto inner = std::make_shared<fixed_retriever>(aitl::hits{{"A", 5}, {"B", 4}, {"C", 3}, {"D", 2}});
    aitl::filtered<fixed_retriever> f(inner, {"B", "Z"});
    const aitl::hits top = f.search("q", 2);
    CHECK(inner->last_k == 4);  // k + the excluded count
    REQUIRE(top.size() == 2);
    CHECK(top[0].id == "A");
    CHECK(top[1].id == "C");
    CHECK(f.excluded() == std::vector<std::string>{"B", "Z"});
    CHECK(f.search_batch({"x", "y"}, 2, 2)[1] == top);
    aitl::filtered<fixed_retriever> deep(inner, {"A", "B", "C"}, 3);
    CHECK(deep.search("q", 2).empty());  // the depth held only excluded documents
    CHECK(inner->last_k == 3);
    aitl::filtered<fixed_retriever> none(inner, {});
    CHECK(none.search("q", 1).size() == 1);
    // composed: BM25 + a dense retriever fused, reranked, filtered; all shared, searched in C++
    aitl::knowledge_base kb;
    kb.add(aitl::document{"refund", "Refunds", "how to get a refund for a cancelled booking"});
    kb.add(aitl::document{"refund-old", "Refunds (old)", "refund for a cancelled booking, the old policy"});
    kb.add(aitl::document{"password", "Passwords", "reset your password from the login page"});
    auto lexical = std::make_shared<aitl::bm25>();
    lexical->add(kb);
    auto dense = std::make_shared<aitl::dense_retriever<letter_encoder, aitl::exact_index>>(
        letter_encoder{}, aitl::exact_index(26, aitl::similarity::cosine));
    dense->add(kb);
    auto pool = std::make_shared<aitl::fused>(
        std::vector<aitl::any_retriever>{aitl::any_retriever(lexical), aitl::any_retriever(dense)},
        std::vector<double>{1.0, 0.5}, 10);
    aitl::filtered<aitl::reranked<aitl::fused, aitl::identity_reranker>> served(
        aitl::reranked<aitl::fused, aitl::identity_reranker>(pool, aitl::identity_reranker{}, 10), {"refund-old"});
    const aitl::hits got = served.search("refund cancelled booking", 3);
    REQUIRE(got.size() == 2);  // all three were candidates; the excluded one is gone
    CHECK(((got[0].id == "refund" && got[1].id == "password") || (got[0].id == "password" && got[1].id == "refund")));
}

TEST_CASE("hnsw_index: a label removed and added again works when its element had no neighbours", "[hnsw]") {
    // The lone element (and the top-level entry point) has empty neighbour lists, on which
    // hnswlib's update is undefined behaviour: a removed label always moves to a new element.
    aitl::hnsw_index index(aitl::hnsw_config{4});
    index.add(1, std::vector<float>{1, 0, 0, 0});
    index.remove(1);
    index.add(1, std::vector<float>{0, 1, 0, 0});
    CHECK(index.size() == 1);
    const auto hits = index.search(std::vector<float>{0, 1, 0, 0}, 3);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].label == 1);
    CHECK(hits[0].score == Approx(1.0f));
    index.add(2, std::vector<float>{0, 0, 1, 0});
    CHECK(index.size() == 2);
    // Saved with the removed element still in the file, it loads back the same.
    const auto path = (std::filesystem::temp_directory_path() / ("aitl_readd_" + std::to_string(::getpid()) + ".hnsw")).string();
    index.save(path);
    const auto back = aitl::hnsw_index::load(path);
    CHECK(back.size() == 2);
    CHECK(back.search(std::vector<float>{0, 1, 0, 0}, 1).at(0).label == 1);
    std::filesystem::remove(path);
    std::filesystem::remove(path + ".aitl.json");
}
