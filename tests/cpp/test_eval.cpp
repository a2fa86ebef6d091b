// Tests of eval/: qrels and TREC run files, trec_eval's ranking rules and the metrics.
// Expected values are computed by hand (and agree with pytrec_eval, see tests/python/test_eval.py).
#include <aitl/error.hpp>
#include <aitl/eval/metrics.hpp>
#include <aitl/eval/qrels.hpp>
#include <aitl/eval/trec.hpp>
#include <aitl/types.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "aitl_catch.hpp"

namespace fs = std::filesystem;

namespace {

// A fresh folder per test case, removed at the end.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("aitl_test_eval_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path write(const std::string& name, const std::string& text) const {
        fs::path p = path / name;
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
    std::string read(const std::string& name) const {
        std::ifstream in(path / name, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
};

template <class F>
aitl::parse_error catch_parse_error(F&& f) {
    try {
        f();
    } catch (const aitl::parse_error& e) {
        return e;
    }
    FAIL("expected aitl::parse_error");
    return aitl::parse_error("", 0, "", "");
}

// The hand-made case (also in tests/python/test_eval.py).
aitl::qrels example_qrels() {
    return {{"q1", {{"a", 1}, {"b", 2}, {"c", 0}}},
            {"q2", {{"x", 0}}},
            {"q3", {{"z", 1}}},
            {"q4", {{"m", 1}, {"n", -1}}},
            {"q6", {{"y", 1}}}};
}

aitl::run example_run() {
    return {{"q1", {{"a", 1.0f}, {"b", 1.0f}, {"d", 2.0f}}},  // ranked d, b, a (tie: "b" > "a")
            {"q2", {{"x", 1.0f}}},
            {"q3", {}},
            {"q4", {{"n", 3.0f}, {"m", 1.0f}}},
            {"q5", {{"z", 1.0f}}}};
}

const double log2_3 = std::log2(3.0);

}  // namespace

// --------------------------------------------------------------------------------------
// qrels
// --------------------------------------------------------------------------------------

TEST_CASE("read_qrels reads BEIR TSV with its header", "[eval][qrels]") {
    temp_dir dir;
    auto p = dir.write("test.tsv",
                       "\xEF\xBB\xBFquery-id\tcorpus-id\tscore\r\n"
                       "q1\td1\t1\r\n"
                       "\n"
                       "q1\td 2\t2\r\n"  // ids may hold spaces in a tab-separated line
                       "q2\td1\t0\n"
                       "q1\td1\t1\n");  // an exact repeat is accepted
    aitl::qrels q = aitl::read_qrels(p);
    REQUIRE(q.size() == 2);
    CHECK(q.at("q1").size() == 2);
    CHECK(q.at("q1").at("d1") == 1);
    CHECK(q.at("q1").at("d 2") == 2);
    CHECK(q.at("q2").at("d1") == 0);
    CHECK(aitl::judgement_count(q) == 3);
}

TEST_CASE("read_qrels reads a BEIR file without a header and TREC qrels", "[eval][qrels]") {
    temp_dir dir;
    auto beir = dir.write("noheader.tsv", "q1\td1\t1\nq1\td2\t-1\n");
    aitl::qrels a = aitl::read_qrels(beir);
    CHECK(a.at("q1").at("d1") == 1);
    CHECK(a.at("q1").at("d2") == -1);

    auto trec = dir.write("qrels.trec", "301 0 FBIS3-10082 1\n301  0\tFBIS3-10169 0\n302 Q0 LA01 +2\n");
    aitl::qrels b = aitl::read_qrels(trec);
    REQUIRE(b.size() == 2);
    CHECK(b.at("301").at("FBIS3-10082") == 1);
    CHECK(b.at("301").at("FBIS3-10169") == 0);
    CHECK(b.at("302").at("LA01") == 2);

    auto empty = dir.write("empty.tsv", "query-id\tcorpus-id\tscore\n");
    CHECK(aitl::read_qrels(empty).empty());
}

TEST_CASE("read_qrels reports malformed lines with file, line and field", "[eval][qrels]") {
    temp_dir dir;
    SECTION("a grade that is not an integer") {
        auto p = dir.write("a.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t1.0\n");
        CHECK_THROWS_AS(aitl::read_qrels(p), aitl::parse_error);
        auto e = catch_parse_error([&] { aitl::read_qrels(p); });
        CHECK(e.file() == p.string());
        CHECK(e.line() == 3);
        CHECK(e.field() == "score");
    }
    SECTION("a TREC grade that is not an integer") {
        auto p = dir.write("b.trec", "q1 0 d1 1\nq1 0 d2 high\n");
        auto e = catch_parse_error([&] { aitl::read_qrels(p); });
        CHECK(e.line() == 2);
        CHECK(e.field() == "rel");
    }
    SECTION("a line with the wrong number of columns") {
        auto p = dir.write("c.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n\nq1\td2\n");
        auto e = catch_parse_error([&] { aitl::read_qrels(p); });
        CHECK(e.line() == 4);
        CHECK(e.field() == "");
        auto p2 = dir.write("d.tsv", "q1 d1\n");
        CHECK_THROWS_AS(aitl::read_qrels(p2), aitl::parse_error);
        auto p3 = dir.write("e.trec", "q1 0 d1 1\nq1 0 d2 1 extra\n");
        CHECK(catch_parse_error([&] { aitl::read_qrels(p3); }).line() == 2);
    }
    SECTION("an empty id") {
        auto p = dir.write("f.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n\td2\t1\n");
        auto e = catch_parse_error([&] { aitl::read_qrels(p); });
        CHECK(e.line() == 3);
        CHECK(e.field() == "query-id");
        auto p2 = dir.write("g.tsv", "q1\t \t1\n");
        auto e2 = catch_parse_error([&] { aitl::read_qrels(p2); });
        CHECK(e2.line() == 1);
        CHECK(e2.field() == "corpus-id");
    }
    SECTION("a duplicate judgement with a different grade") {
        auto p = dir.write("h.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td1\t1\nq1\td1\t2\n");
        auto e = catch_parse_error([&] { aitl::read_qrels(p); });
        CHECK(e.line() == 4);
        CHECK(e.field() == "score");
        CHECK(std::string(e.what()).find("got 2, expected 1") != std::string::npos);
    }
}

TEST_CASE("read_qrels throws io_error on a missing file", "[eval][qrels]") {
    temp_dir dir;
    CHECK_THROWS_AS(aitl::read_qrels(dir.path / "missing.tsv"), aitl::io_error);
    CHECK_THROWS_AS(aitl::read_qrels(dir.path), aitl::io_error);  // a folder
}

TEST_CASE("write_qrels round-trips BEIR and TREC files", "[eval][qrels]") {
    temp_dir dir;
    aitl::qrels q = {{"q 1", {{"d1", 2}, {"d2", 0}}}, {"q2", {{"d3", -1}}}, {"q3", {}}};
    aitl::write_qrels(dir.path / "a.tsv", q);
    CHECK(dir.read("a.tsv") == "query-id\tcorpus-id\tscore\nq 1\td1\t2\nq 1\td2\t0\nq2\td3\t-1\n");
    aitl::qrels back = aitl::read_qrels(dir.path / "a.tsv");
    q.erase("q3");  // a query without judgements writes nothing
    CHECK(back == q);

    aitl::qrels t = {{"q1", {{"d1", 1}}}, {"q2", {{"d3", 3}}}};
    aitl::write_qrels(dir.path / "b.trec", t, aitl::qrels_format::trec);
    CHECK(dir.read("b.trec") == "q1 0 d1 1\nq2 0 d3 3\n");
    CHECK(aitl::read_qrels(dir.path / "b.trec") == t);

    CHECK_THROWS_AS(aitl::write_qrels(dir.path / "c.trec", q, aitl::qrels_format::trec), aitl::config_error);
    CHECK_THROWS_AS(aitl::write_qrels(dir.path / "d.tsv", aitl::qrels{{"q1", {{"", 1}}}}), aitl::config_error);
    CHECK_THROWS_AS(aitl::write_qrels(dir.path / "e.tsv", aitl::qrels{{"q\t1", {{"d", 1}}}}),
                    aitl::config_error);
    CHECK_THROWS_AS(aitl::write_qrels(dir.path / "no" / "such" / "dir.tsv", t), aitl::io_error);
}

// --------------------------------------------------------------------------------------
// TREC runs
// --------------------------------------------------------------------------------------

TEST_CASE("trec_eval orders by score, then by document id in decreasing byte order", "[eval][trec]") {
    CHECK(aitl::trec_before("a", 2.0, "b", 1.0));
    CHECK(aitl::trec_before("b", 1.0, "a", 1.0));
    CHECK_FALSE(aitl::trec_before("a", 1.0, "b", 1.0));
    CHECK(aitl::trec_before("a", 1.0, "B", 1.0));           // 'a' (0x61) > 'B' (0x42)
    CHECK(aitl::trec_before("\xc3\xa9", 1.0, "z", 1.0));   // bytes compare unsigned, as strcmp
    CHECK(aitl::trec_before("ab", 1.0, "a", 1.0));          // a prefix ranks after
    CHECK(aitl::trec_before("a", 1.0, "z", std::nan("")));  // NaN last
    aitl::hits h = {{"d1", 0.5f}, {"d3", 1.0f}, {"d2", 1.0f}, {"d10", 1.0f}};
    aitl::trec_sort(h);
    CHECK(h == aitl::hits{{"d3", 1.0f}, {"d2", 1.0f}, {"d10", 1.0f}, {"d1", 0.5f}});
}

TEST_CASE("write_trec_run writes trec_eval's order with 1-based ranks and reads back", "[eval][trec]") {
    temp_dir dir;
    aitl::run r = {{"q2", {{"a", 0.25f}, {"b", 0.75f}}},
                   {"q1", {{"x", 1.0f}, {"y", 1.0f}, {"z", 0.1f}}},
                   {"q3", {}}};
    aitl::write_trec_run(dir.path / "run.trec", r, "bm25");
    CHECK(dir.read("run.trec") ==
          "q1 Q0 y 1 1 bm25\n"
          "q1 Q0 x 2 1 bm25\n"
          "q1 Q0 z 3 0.1 bm25\n"
          "q2 Q0 b 1 0.75 bm25\n"
          "q2 Q0 a 2 0.25 bm25\n");
    aitl::run back = aitl::read_trec_run(dir.path / "run.trec");
    REQUIRE(back.size() == 2);  // q3 had no hit: nothing written
    CHECK(back.at("q1") == aitl::hits{{"y", 1.0f}, {"x", 1.0f}, {"z", 0.1f}});
    CHECK(back.at("q2") == aitl::hits{{"b", 0.75f}, {"a", 0.25f}});

    // Scores survive exactly (shortest round-trip text).
    std::mt19937 gen(7);
    std::uniform_real_distribution<float> u(-50.0f, 50.0f);
    aitl::run big;
    for (int q = 0; q < 5; ++q)
        for (int d = 0; d < 40; ++d) big["q" + std::to_string(q)].push_back({"d" + std::to_string(d), u(gen)});
    aitl::write_trec_run(dir.path / "big.trec", big);
    aitl::run big_back = aitl::read_trec_run(dir.path / "big.trec");
    for (auto& [qid, list] : big) aitl::trec_sort(list);
    CHECK(big_back == big);

    aitl::scored_run s = {{"q1", {{"a", 0.1}, {"b", 0.30000000000000004}}}};
    aitl::write_trec_run(dir.path / "s.trec", s);
    CHECK(dir.read("s.trec") == "q1 Q0 b 1 0.30000000000000004 aitl\nq1 Q0 a 2 0.1 aitl\n");
}

TEST_CASE("read_trec_run ignores the rank column and accepts any whitespace", "[eval][trec]") {
    temp_dir dir;
    auto p = dir.write("r.trec", "q1 Q0 d1 1 0.5 run\r\n\nq1\tQ0\td2\t1\t2.5\trun\nq1 Q0 d3 7 -1e3 run\n");
    aitl::run r = aitl::read_trec_run(p);
    CHECK(r.at("q1") == aitl::hits{{"d2", 2.5f}, {"d1", 0.5f}, {"d3", -1000.0f}});
}

TEST_CASE("read_trec_run reports malformed lines with file, line and field", "[eval][trec]") {
    temp_dir dir;
    SECTION("wrong field count") {
        auto p = dir.write("a.trec", "q1 Q0 d1 1 0.5 run\nq1 Q0 d2 2 0.4\n");
        CHECK_THROWS_AS(aitl::read_trec_run(p), aitl::parse_error);
        auto e = catch_parse_error([&] { aitl::read_trec_run(p); });
        CHECK(e.line() == 2);
        CHECK(e.field() == "");
        CHECK(e.file() == p.string());
    }
    SECTION("bad score") {
        auto p = dir.write("b.trec", "q1 Q0 d1 1 0.5 run\n\nq1 Q0 d2 2 high run\n");
        auto e = catch_parse_error([&] { aitl::read_trec_run(p); });
        CHECK(e.line() == 3);
        CHECK(e.field() == "score");
        auto p2 = dir.write("b2.trec", "q1 Q0 d1 1 nan run\n");
        CHECK(catch_parse_error([&] { aitl::read_trec_run(p2); }).field() == "score");
    }
    SECTION("bad rank") {
        auto p = dir.write("c.trec", "q1 Q0 d1 first 0.5 run\n");
        auto e = catch_parse_error([&] { aitl::read_trec_run(p); });
        CHECK(e.line() == 1);
        CHECK(e.field() == "rank");
    }
    SECTION("duplicate document for one query") {
        auto p = dir.write("d.trec",
                           "q1 Q0 d1 1 0.9 run\nq2 Q0 d1 1 0.9 run\nq1 Q0 d2 2 0.8 run\n"
                           "q1 Q0 d1 3 0.7 run\nq1 Q0 d2 4 0.6 run\n");
        auto e = catch_parse_error([&] { aitl::read_trec_run(p); });
        CHECK(e.line() == 4);
        CHECK(e.field() == "docid");
        CHECK(std::string(e.what()).find("first on line 1") != std::string::npos);
    }
    CHECK_THROWS_AS(aitl::read_trec_run(dir.path / "missing.trec"), aitl::io_error);
}

TEST_CASE("write_trec_run rejects what the format cannot hold", "[eval][trec]") {
    temp_dir dir;
    const fs::path p = dir.path / "x.trec";
    aitl::run ok = {{"q1", {{"d1", 1.0f}}}};
    CHECK_THROWS_AS(aitl::write_trec_run(p, ok, ""), aitl::config_error);
    CHECK_THROWS_AS(aitl::write_trec_run(p, ok, "my run"), aitl::config_error);
    CHECK_THROWS_AS(aitl::write_trec_run(p, aitl::run{{"q 1", {{"d1", 1.0f}}}}), aitl::config_error);
    CHECK_THROWS_AS(aitl::write_trec_run(p, aitl::run{{"q1", {{"d\t1", 1.0f}}}}), aitl::config_error);
    CHECK_THROWS_AS(aitl::write_trec_run(p, aitl::run{{"q1", {{"d1", std::nanf("")}}}}), aitl::config_error);
    CHECK_THROWS_AS(aitl::write_trec_run(p, aitl::run{{"q1", {{"d1", 1.0f}, {"d1", 0.5f}}}}),
                    aitl::config_error);
    CHECK_THROWS_AS(aitl::write_trec_run(p, aitl::scored_run{{"q1", {{"d1", std::nan("")}}}}),
                    aitl::config_error);
    CHECK_THROWS_AS(aitl::write_trec_run(dir.path / "no" / "dir" / "x.trec", ok), aitl::io_error);
}

// --------------------------------------------------------------------------------------
// metrics
// --------------------------------------------------------------------------------------

TEST_CASE("parse_metric accepts the documented names and rejects the rest", "[eval]") {
    CHECK(aitl::parse_metric("recall@75") == aitl::metric{aitl::metric_kind::recall, 75});
    CHECK(aitl::parse_metric("precision@8") == aitl::metric{aitl::metric_kind::precision, 8});
    CHECK(aitl::parse_metric("ndcg@10") == aitl::metric{aitl::metric_kind::ndcg, 10});
    CHECK(aitl::parse_metric("ndcg") == aitl::metric{aitl::metric_kind::ndcg, 0});
    CHECK(aitl::parse_metric("mrr@10") == aitl::metric{aitl::metric_kind::mrr, 10});
    CHECK(aitl::parse_metric("mrr") == aitl::metric{aitl::metric_kind::mrr, 0});
    CHECK(aitl::parse_metric("map") == aitl::metric{aitl::metric_kind::map, 0});
    CHECK(aitl::parse_metric("map@100") == aitl::metric{aitl::metric_kind::map, 100});
    CHECK(aitl::parse_metric("hit_rate@10") == aitl::metric{aitl::metric_kind::hit_rate, 10});
    CHECK(aitl::parse_metric("recall@075").name() == "recall@75");
    CHECK(aitl::parse_metric("hit_rate@1").name() == "hit_rate@1");
    CHECK(aitl::parse_metric("map").name() == "map");

    for (const char* bad : {"recall@0", "recall@-1", "precision@", "ndcg@x", "ndcg@1.5", "mrr@+3",
                            "recall", "precision", "hit_rate", "Recall@10", "P@8", "success@10",
                            "recall_75", "", "@10", "map@99999999999999999999999"}) {
        INFO(bad);
        CHECK_THROWS_AS(aitl::parse_metric(bad), aitl::config_error);
    }
    try {
        aitl::parse_metric("bleu");
        FAIL("expected config_error");
    } catch (const aitl::config_error& e) {
        CHECK(std::string(e.what()).find("recall@k, precision@k, ndcg@k") != std::string::npos);
    }
}

TEST_CASE("evaluate follows trec_eval on a hand-made case", "[eval]") {
    aitl::eval_config cfg;
    cfg.metrics = {"precision@2", "precision@8", "recall@2", "recall@75", "ndcg@1", "ndcg@2",
                   "ndcg@3", "ndcg",  "mrr",      "mrr@1",     "map",    "map@2",  "hit_rate@1",
                   "hit_rate@10"};
    aitl::evaluation e = aitl::evaluate(example_qrels(), example_run(), cfg);
    CHECK(e.metrics == cfg.metrics);
    CHECK(e.queries == 4);  // q1..q4; q5 is not judged, q6 was not retrieved
    CHECK(e.queries_without_qrels == std::vector<std::string>{"q5"});
    CHECK(e.queries_without_run == std::vector<std::string>{"q6"});

    // q1: ranking d (unjudged), b (2), a (1); num_rel 2; ideal gains 2, 1.
    const auto& q1 = e.per_query.at("q1");
    CHECK(q1.at("precision@2") == Approx(0.5));
    CHECK(q1.at("precision@8") == Approx(0.25));  // divides by k even when fewer were retrieved
    CHECK(q1.at("recall@2") == Approx(0.5));
    CHECK(q1.at("recall@75") == Approx(1.0));
    CHECK(q1.at("ndcg@1") == Approx(0.0));
    CHECK(q1.at("ndcg@2") == Approx((2 / log2_3) / (2 + 1 / log2_3)));
    CHECK(q1.at("ndcg@3") == Approx((2 / log2_3 + 1 / 2.0) / (2 + 1 / log2_3)));
    CHECK(q1.at("ndcg@3") == Approx(0.66967181649423));  // pytrec_eval's ndcg_cut_3
    CHECK(q1.at("ndcg") == Approx(q1.at("ndcg@3")));
    CHECK(q1.at("mrr") == Approx(0.5));
    CHECK(q1.at("mrr@1") == Approx(0.0));
    CHECK(q1.at("map") == Approx((1 / 2.0 + 2 / 3.0) / 2));
    CHECK(q1.at("map@2") == Approx(0.25));
    CHECK(q1.at("hit_rate@1") == Approx(0.0));
    CHECK(q1.at("hit_rate@10") == Approx(1.0));

    // q2 (only non-relevant judgements) and q3 (no hit) are evaluated, every metric 0.
    for (const char* q : {"q2", "q3"}) {
        for (const auto& [name, value] : e.per_query.at(q)) {
            INFO(q << " " << name);
            CHECK(value == 0.0);
        }
    }
    // q4: n (grade -1, not relevant) then m (1).
    const auto& q4 = e.per_query.at("q4");
    CHECK(q4.at("precision@2") == Approx(0.5));
    CHECK(q4.at("recall@2") == Approx(1.0));
    CHECK(q4.at("ndcg@2") == Approx(1 / log2_3));
    CHECK(q4.at("mrr") == Approx(0.5));
    CHECK(q4.at("map") == Approx(0.5));

    CHECK(e.mean.at("recall@2") == Approx((0.5 + 0 + 0 + 1.0) / 4));
    CHECK(e.mean.at("hit_rate@10") == Approx(0.5));
    CHECK(e.per_query.count("q5") == 0);
    CHECK(e.per_query.count("q6") == 0);

    cfg.average_complete = true;  // trec_eval -c: q6 counts as 0 in the means
    aitl::evaluation c = aitl::evaluate(example_qrels(), example_run(), cfg);
    CHECK(c.queries == 4);
    CHECK(c.mean.at("recall@2") == Approx(1.5 / 5));
    CHECK(c.per_query == e.per_query);
}

TEST_CASE("evaluate gives the same values for a run and the equivalent scored_run", "[eval]") {
    aitl::scored_run s;
    for (const auto& [qid, list] : example_run()) {
        auto& docs = s[qid];
        for (const auto& h : list) docs[h.id] = h.score;
    }
    aitl::evaluation a = aitl::evaluate(example_qrels(), example_run());
    aitl::evaluation b = aitl::evaluate(example_qrels(), s);
    CHECK(a.per_query == b.per_query);
    CHECK(a.mean == b.mean);
    CHECK(a.metrics == aitl::default_metrics());
    // Default metrics over q1: recall@8 = 1, precision@8 = 2/8, mrr@10 = 1/2.
    CHECK(a.per_query.at("q1").at("recall@8") == Approx(1.0));
    CHECK(a.per_query.at("q1").at("precision@75") == Approx(2.0 / 75));
    CHECK(a.per_query.at("q1").at("mrr@10") == Approx(0.5));
}

TEST_CASE("evaluate breaks score ties by document id, not by input order", "[eval]") {
    aitl::qrels q = {{"q", {{"a", 1}}}};
    // Same scores, two input orders: trec_eval ranks "b" (not relevant) before "a" either way.
    aitl::run r1 = {{"q", {{"a", 1.0f}, {"b", 1.0f}}}};
    aitl::run r2 = {{"q", {{"b", 1.0f}, {"a", 1.0f}}}};
    for (const auto& r : {r1, r2}) {
        aitl::evaluation e = aitl::evaluate(q, r, {"mrr", "precision@1"});
        CHECK(e.per_query.at("q").at("mrr") == Approx(0.5));
        CHECK(e.per_query.at("q").at("precision@1") == 0.0);
    }
    // A higher score wins whatever the order.
    aitl::run r3 = {{"q", {{"b", 0.5f}, {"a", 0.9f}}}};
    CHECK(aitl::evaluate(q, r3, std::vector<std::string>{"mrr"}).per_query.at("q").at("mrr") == 1.0);
}

TEST_CASE("evaluate uses graded gains and the relevance level", "[eval]") {
    aitl::qrels q = {{"q", {{"g3", 3}, {"g2", 2}, {"g1", 1}, {"g0", 0}}}};
    aitl::run r = {{"q", {{"g1", 4.0f}, {"g0", 3.0f}, {"g3", 2.0f}, {"g2", 1.0f}}}};
    aitl::eval_config cfg;
    cfg.metrics = {"ndcg@4", "ndcg@2", "precision@4", "recall@2", "map", "mrr"};
    aitl::evaluation e = aitl::evaluate(q, r, cfg);
    const double idcg4 = 3 + 2 / log2_3 + 1 / 2.0;
    const double dcg4 = 1 + 3 / 2.0 + 2 / std::log2(5.0);
    const auto& v = e.per_query.at("q");
    CHECK(v.at("ndcg@4") == Approx(dcg4 / idcg4));
    CHECK(v.at("ndcg@2") == Approx(1 / (3 + 2 / log2_3)));
    CHECK(v.at("precision@4") == Approx(0.75));
    CHECK(v.at("recall@2") == Approx(1 / 3.0));
    CHECK(v.at("map") == Approx((1 + 2 / 3.0 + 3 / 4.0) / 3));
    CHECK(v.at("mrr") == 1.0);

    cfg.relevance_level = 2;  // only g3, g2 are relevant; nDCG gains are unchanged
    aitl::evaluation e2 = aitl::evaluate(q, r, cfg);
    const auto& w = e2.per_query.at("q");
    CHECK(w.at("ndcg@4") == Approx(dcg4 / idcg4));
    CHECK(w.at("precision@4") == Approx(0.5));
    CHECK(w.at("recall@2") == 0.0);
    CHECK(w.at("map") == Approx((1 / 3.0 + 2 / 4.0) / 2));
    CHECK(w.at("mrr") == Approx(1 / 3.0));
}

TEST_CASE("evaluate counts no query when run and qrels share none", "[eval]") {
    aitl::evaluation e = aitl::evaluate(aitl::qrels{{"q1", {{"a", 1}}}}, aitl::run{{"q2", {{"a", 1.0f}}}});
    CHECK(e.queries == 0);
    CHECK(e.per_query.empty());
    CHECK(e.mean.at("map") == 0.0);
    CHECK(e.queries_without_qrels == std::vector<std::string>{"q2"});
    CHECK(e.queries_without_run == std::vector<std::string>{"q1"});
    // A judged query with an empty map is treated as absent (as pytrec_eval does).
    aitl::evaluation f = aitl::evaluate(aitl::qrels{{"q1", {}}}, aitl::run{{"q1", {{"a", 1.0f}}}});
    CHECK(f.queries == 0);
    CHECK(f.queries_without_qrels == std::vector<std::string>{"q1"});
}

TEST_CASE("evaluate rejects bad settings and bad runs", "[eval]") {
    const aitl::qrels q = example_qrels();
    const aitl::run r = example_run();
    aitl::eval_config cfg;
    cfg.metrics = {"recall@10", "recal@10"};
    CHECK_THROWS_AS(aitl::evaluate(q, r, cfg), aitl::config_error);
    cfg.metrics = {"precision@0"};
    CHECK_THROWS_AS(aitl::evaluate(q, r, cfg), aitl::config_error);
    cfg.metrics = {};
    CHECK_THROWS_AS(aitl::evaluate(q, r, cfg), aitl::config_error);
    cfg = aitl::eval_config{};
    cfg.relevance_level = 0;
    CHECK_THROWS_AS(aitl::evaluate(q, r, cfg), aitl::config_error);

    aitl::run dup = {{"q1", {{"a", 1.0f}, {"b", 0.5f}, {"a", 0.2f}}}};
    CHECK_THROWS_AS(aitl::evaluate(q, dup), aitl::config_error);
    aitl::run nan = {{"q1", {{"a", std::nanf("")}}}};
    CHECK_THROWS_AS(aitl::evaluate(q, nan), aitl::config_error);
    aitl::scored_run nan2 = {{"q1", {{"a", std::nan("")}}}};
    CHECK_THROWS_AS(aitl::evaluate(q, nan2), aitl::config_error);
    // A duplicate in a query that is not judged is never looked at (trec_eval skips it too).
    aitl::run dup_unjudged = {{"q9", {{"a", 1.0f}, {"a", 0.2f}}}};
    CHECK_NOTHROW(aitl::evaluate(q, dup_unjudged));
}

TEST_CASE("repeated metric names are evaluated once", "[eval]") {
    aitl::evaluation e =
        aitl::evaluate(example_qrels(), example_run(), std::vector<std::string>{"map", "recall@010", "recall@10", "map"});
    CHECK(e.metrics == std::vector<std::string>{"map", "recall@10"});
    CHECK(e.mean.size() == 2);
}

TEST_CASE("eval_config and evaluation round-trip through JSON", "[eval]") {
    aitl::eval_config cfg;
    cfg.metrics = {"ndcg@5", "map"};
    cfg.relevance_level = 2;
    cfg.average_complete = true;
    nlohmann::json j = cfg;
    CHECK(j.at("relevance_level") == 2);
    aitl::eval_config back = j.get<aitl::eval_config>();
    CHECK(back.metrics == cfg.metrics);
    CHECK(back.relevance_level == 2);
    CHECK(back.average_complete);
    aitl::eval_config defaults = nlohmann::json::object().get<aitl::eval_config>();
    CHECK(defaults.metrics == aitl::default_metrics());
    CHECK_THROWS_AS(nlohmann::json({{"metrics", {"bleu"}}}).get<aitl::eval_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"relevance_level", "one"}}).get<aitl::eval_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"relevance_level", 0}}).get<aitl::eval_config>(), aitl::config_error);

    aitl::evaluation e = aitl::evaluate(example_qrels(), example_run());
    nlohmann::json je = e;
    aitl::evaluation e2 = je.get<aitl::evaluation>();
    CHECK(e2.metrics == e.metrics);
    CHECK(e2.per_query == e.per_query);
    CHECK(e2.mean == e.mean);
    CHECK(e2.queries == e.queries);
    CHECK(e2.queries_without_run == e.queries_without_run);
    CHECK_THROWS_AS(nlohmann::json::object().get<aitl::evaluation>(), aitl::config_error);
}

TEST_CASE("evaluate on runs read from files equals evaluate in memory", "[eval][trec][qrels]") {
    temp_dir dir;
    aitl::write_qrels(dir.path / "q.tsv", example_qrels());
    aitl::write_trec_run(dir.path / "r.trec", example_run(), "t");
    aitl::evaluation a = aitl::evaluate(aitl::read_qrels(dir.path / "q.tsv"), aitl::read_trec_run(dir.path / "r.trec"));
    aitl::evaluation b = aitl::evaluate(example_qrels(), example_run());
    // q3 (no hit) cannot be written to a TREC file, so it drops out of the file version.
    b.per_query.erase("q3");
    CHECK(a.per_query == b.per_query);
    CHECK(a.queries == 3);
    CHECK(a.queries_without_run == std::vector<std::string>{"q3", "q6"});
}

namespace {

// Straightforward reference: sort the whole ranking, then apply trec_eval's formulas.
double naive_metric(const std::string& name, const std::map<std::string, int>& judged, aitl::hits ranked,
                    int level) {
    aitl::trec_sort(ranked);
    const aitl::metric m = aitl::parse_metric(name);
    const std::size_t n = ranked.size(), depth = m.k == 0 ? n : std::min(m.k, n);
    auto grade = [&](std::size_t i) {
        auto it = judged.find(ranked[i].id);
        return it == judged.end() ? -1 : it->second;
    };
    std::size_t num_rel = 0;
    std::vector<int> ideal;
    for (const auto& [d, g] : judged) {
        num_rel += g >= level ? 1 : 0;
        if (g > 0) ideal.push_back(g);
    }
    std::sort(ideal.rbegin(), ideal.rend());
    double sum = 0.0, idcg = 0.0;
    std::size_t rel = 0;
    for (std::size_t i = 0; i < depth; ++i) {
        const int g = grade(i);
        switch (m.kind) {
            case aitl::metric_kind::mrr:
                if (g >= level) return 1.0 / static_cast<double>(i + 1);
                break;
            case aitl::metric_kind::map:
                if (g >= level) sum += static_cast<double>(++rel) / static_cast<double>(i + 1);
                break;
            case aitl::metric_kind::ndcg:
                if (g > 0) sum += g / std::log2(static_cast<double>(i + 2));
                break;
            default:
                rel += g >= level ? 1 : 0;
        }
    }
    switch (m.kind) {
        case aitl::metric_kind::mrr: return 0.0;
        case aitl::metric_kind::map: return num_rel == 0 ? 0.0 : sum / static_cast<double>(num_rel);
        case aitl::metric_kind::ndcg:
            for (std::size_t i = 0; i < (m.k == 0 ? ideal.size() : std::min(m.k, ideal.size())); ++i)
                idcg += ideal[i] / std::log2(static_cast<double>(i + 2));
            return idcg > 0 ? sum / idcg : 0.0;
        case aitl::metric_kind::precision: return static_cast<double>(rel) / static_cast<double>(m.k);
        case aitl::metric_kind::recall: return num_rel == 0 ? 0.0 : static_cast<double>(rel) / static_cast<double>(num_rel);
        case aitl::metric_kind::hit_rate: return rel > 0 ? 1.0 : 0.0;
    }
    return 0.0;
}

}  // namespace

TEST_CASE("evaluate equals a full-sort reference on a seeded random run with many ties", "[eval]") {
    std::mt19937 gen(12345);
    aitl::qrels q;
    aitl::run r;
    for (int i = 0; i < 150; ++i) {
        const std::string qid = "q" + std::to_string(i);
        std::uniform_int_distribution<int> n_judged(1, 30), n_ret(0, 90), doc(0, 199), grade(-1, 3), score(0, 12);
        for (int j = n_judged(gen); j > 0; --j) q[qid]["d" + std::to_string(doc(gen))] = grade(gen);
        std::set<int> picked;
        for (int j = n_ret(gen); j > 0; --j) picked.insert(doc(gen));
        for (int d : picked) r[qid].push_back({"d" + std::to_string(d), static_cast<float>(score(gen)) / 4.0f});
        std::shuffle(r[qid].begin(), r[qid].end(), gen);
    }
    const std::vector<std::string> names = {"recall@1", "recall@10", "recall@75", "precision@1", "precision@8",
                                            "precision@75", "ndcg@1", "ndcg@10", "ndcg@75", "ndcg", "mrr",
                                            "mrr@3", "map", "map@10", "hit_rate@1", "hit_rate@10"};
    for (int level : {1, 2}) {
        aitl::eval_config cfg;
        cfg.metrics = names;
        cfg.relevance_level = level;
        aitl::evaluation e = aitl::evaluate(q, r, cfg);
        REQUIRE(e.queries == 150);
        for (const auto& [qid, list] : r) {
            for (const std::string& name : names) {
                INFO(qid << " " << name << " level " << level);
                CHECK(e.per_query.at(qid).at(name) == Approx(naive_metric(name, q.at(qid), list, level)).margin(1e-12));
            }
        }
    }
}
