// Trainers: contrastive encoder training, the learned feature ranker, the reranker contract.
#include <aitl/concepts.hpp>
#include <aitl/error.hpp>
#include <aitl/eval/qrels.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/learn/encoder_trainer.hpp>
#include <aitl/rerank/feature_ranker.hpp>
#include <aitl/retrieval/bm25.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aitl_catch.hpp"

namespace {
namespace fs = std::filesystem;

fs::path helpcentre() { return fs::path(__FILE__).parent_path() / ".." / ".." / "examples" / "data" / "helpcentre"; }

struct slice {
    aitl::knowledge_base kb;
    std::vector<std::pair<std::string, std::string>> queries;  // (id, text), file order
    aitl::qrels judgements;
};

const slice& data() {
    static const slice s = [] {
        slice d{aitl::knowledge_base::load_beir(helpcentre().string()), {}, aitl::read_qrels(helpcentre() / "qrels" / "test.tsv")};
        std::ifstream in(helpcentre() / "queries.jsonl");
        for (std::string line; std::getline(in, line);) {
            if (line.empty()) continue;
            const auto j = nlohmann::json::parse(line);
            if (d.judgements.count(j.at("_id").get<std::string>()))
                d.queries.emplace_back(j.at("_id").get<std::string>(), j.at("text").get<std::string>());
        }
        return d;
    }();
    return s;
}

// (query, relevant doc text) pairs, negatives = the non-relevant docs among BM25's top 5.
std::vector<aitl::contrastive_example> pairs(std::size_t from, std::size_t to) {
    const slice& d = data();
    aitl::bm25 index;
    index.add(d.kb);
    std::vector<aitl::contrastive_example> out;
    for (std::size_t i = from; i < std::min(to, d.queries.size()); ++i) {
        const auto& rel = d.judgements.at(d.queries[i].first);
        std::vector<std::string> neg;
        for (const auto& h : index.search(d.queries[i].second, 5))
            if (!rel.count(h.id)) neg.push_back(d.kb.get(h.id).indexed_text());
        for (const auto& r : rel)
            if (r.second > 0) out.push_back({d.queries[i].second, d.kb.get(r.first).indexed_text(), neg, 1.0});
    }
    return out;
}

aitl::hashed_encoder small_encoder() {
    aitl::hashed_encoder_config c;
    c.dim = 32;
    c.buckets = 1u << 12;
    return aitl::hashed_encoder(c);
}

bool same_bytes(const aitl::row_matrix& a, const aitl::row_matrix& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

std::vector<aitl::ranking_list> lists(std::size_t from, std::size_t to) {
    const slice& d = data();
    aitl::bm25 index;
    index.add(d.kb);
    std::vector<aitl::ranking_list> out;
    for (std::size_t i = from; i < std::min(to, d.queries.size()); ++i) {
        aitl::ranking_list l{d.queries[i].second, index.search(d.queries[i].second, 20), {}, 1.0, {}};
        for (std::size_t r = 0; r < std::min<std::size_t>(8, l.candidates.size()); ++r) {
            const auto& rel = d.judgements.at(d.queries[i].first);
            auto it = rel.find(l.candidates[r].id);
            l.labels.emplace_back(l.candidates[r].id, it != rel.end() && it->second > 0 ? 1.0 : 0.0);
        }
        out.push_back(std::move(l));
    }
    return out;
}
}  // namespace

TEST_CASE("encoder training lowers the contrastive loss and raises validation recall", "[learn][encoder]") {
    const auto train = pairs(0, 24), val = pairs(24, 34);
    aitl::hashed_encoder enc = small_encoder();
    aitl::encoder_trainer_config c;
    c.epochs = 15;
    c.batch_size = 8;
    c.learning_rate = 0.01;
    c.patience = 0;
    aitl::encoder_trainer trainer(c);
    const double before = trainer.loss(enc, train);
    const double recall_before = trainer.recall_at_k(enc, train);
    const aitl::train_result r = trainer.train(enc, train);
    const double after = trainer.loss(enc, train);
    CHECK(r.epochs_run == 15);
    CHECK(r.train_loss.size() == 15);
    CHECK(r.train_loss.back() < r.train_loss.front());
    CHECK(after < 0.5 * before);
    CHECK(trainer.recall_at_k(enc, train) >= recall_before);
    CHECK(enc.projection().allFinite());
    (void)val;
}

TEST_CASE("encoder training is deterministic for a seed", "[learn][encoder]") {
    const auto train = pairs(0, 34);
    aitl::encoder_trainer_config c;
    c.epochs = 3;
    c.batch_size = 8;
    c.hard_negatives = 2;
    aitl::hashed_encoder a = small_encoder(), b = small_encoder(), other = small_encoder();
    aitl::encoder_trainer(c).train(a, train);
    aitl::encoder_trainer(c).train(b, train);
    CHECK(same_bytes(a.projection(), b.projection()));
    c.seed = 7;
    aitl::encoder_trainer(c).train(other, train);
    CHECK_FALSE(same_bytes(a.projection(), other.projection()));
}

TEST_CASE("encoder training with dense Adam lowers the loss and is deterministic", "[learn][encoder]") {
    const auto train = pairs(0, 24);
    aitl::encoder_trainer_config c;
    c.epochs = 10;
    c.batch_size = 8;
    c.learning_rate = 0.01;
    c.patience = 0;
    c.sparse_adam = false;
    aitl::hashed_encoder a = small_encoder(), b = small_encoder(), lazy = small_encoder();
    aitl::encoder_trainer trainer(c);
    const double before = trainer.loss(a, train);
    trainer.train(a, train);
    trainer.train(b, train);
    CHECK(trainer.loss(a, train) < 0.5 * before);
    CHECK(same_bytes(a.projection(), b.projection()));
    c.sparse_adam = true;
    aitl::encoder_trainer(c).train(lazy, train);
    CHECK_FALSE(same_bytes(a.projection(), lazy.projection()));
    const nlohmann::json j = c;
    CHECK(j.at("sparse_adam") == true);
}

TEST_CASE("encoder training stops early, keeps the best model, and obeys the callback", "[learn][encoder]") {
    const auto train = pairs(0, 24), val = pairs(24, 34);
    aitl::encoder_trainer_config c;
    c.epochs = 200;
    c.batch_size = 8;
    c.learning_rate = 0.05;
    c.patience = 2;
    c.validation_k = 3;
    aitl::hashed_encoder enc = small_encoder();
    std::size_t reports = 0;
    const aitl::train_result r = aitl::encoder_trainer(c).train(enc, train, val, [&](const aitl::train_progress& p) {
        ++reports;
        CHECK(p.epoch >= 1);
        CHECK(p.step <= p.steps);
        return true;
    });
    CHECK(r.stopped_early);
    CHECK(r.epochs_run < 200);
    CHECK(r.validation.size() == r.epochs_run);
    CHECK(reports > r.epochs_run);
    CHECK(r.best_validation == Approx(aitl::encoder_trainer(c).recall_at_k(enc, val)));

    aitl::hashed_encoder fresh = small_encoder();
    const aitl::train_result stop = aitl::encoder_trainer(c).train(fresh, train, {}, [](const aitl::train_progress&) { return false; });
    CHECK(stop.cancelled);
    CHECK(stop.epochs_run == 0);
}

TEST_CASE("encoder trainer settings are validated and round-trip through JSON", "[learn][encoder][config]") {
    aitl::encoder_trainer_config c;
    c.temperature = 0.0;
    CHECK_THROWS_AS(aitl::encoder_trainer(c), aitl::config_error);
    c = {};
    c.batch_size = 0;
    CHECK_THROWS_AS(aitl::encoder_trainer(c), aitl::config_error);
    c = {};
    c.learning_rate = std::nan("");
    CHECK_THROWS_AS(aitl::encoder_trainer(c), aitl::config_error);
    c = {};
    c.epochs = 0;
    CHECK_THROWS_AS(aitl::encoder_trainer(c), aitl::config_error);
    c = {};
    c.beta2 = 1.0;
    CHECK_THROWS_AS(aitl::encoder_trainer(c), aitl::config_error);
    c = {};
    c.seed = 42;
    c.hard_negatives = 3;
    const nlohmann::json j = c;
    const auto back = j.get<aitl::encoder_trainer_config>();
    CHECK(nlohmann::json(back) == j);
    CHECK_THROWS_AS(nlohmann::json({{"epoch", 3}}).get<aitl::encoder_trainer_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"epochs", "3"}}).get<aitl::encoder_trainer_config>(), aitl::config_error);

    aitl::hashed_encoder enc = small_encoder();
    aitl::encoder_trainer t;
    CHECK_THROWS_AS(t.train(enc, {}), aitl::config_error);
    CHECK_THROWS_AS(t.train(enc, {{"", "doc", {}, 1.0}}), aitl::config_error);
    CHECK_THROWS_AS(t.train(enc, {{"q", "", {}, 1.0}}), aitl::config_error);
    CHECK_THROWS_AS(t.train(enc, {{"q", "doc", {}, -1.0}}), aitl::config_error);
}

TEST_CASE("the reranker contract detects rerank()", "[learn][rerank][concepts]") {
    STATIC_REQUIRE(aitl::is_reranker_v<aitl::reranker_model>);
    STATIC_REQUIRE(aitl::is_reranker_v<aitl::identity_reranker>);
    STATIC_REQUIRE(aitl::is_reranker_v<aitl::feature_ranker>);
    STATIC_REQUIRE_FALSE(aitl::is_reranker_v<aitl::retriever_model>);
    aitl::require_reranker<aitl::feature_ranker>();
    const aitl::hits c{{"a", 3.0f}, {"b", 2.0f}, {"c", 1.0f}};
    CHECK(aitl::identity_reranker{}.rerank("q", c, 2) == aitl::hits{{"a", 3.0f}, {"b", 2.0f}});
    CHECK(aitl::identity_reranker{}.rerank("q", c, 9).size() == 3);
    CHECK_THROWS_AS(aitl::identity_reranker{}.rerank("q", c, 0), aitl::config_error);
}

TEST_CASE("features: title match, overlap, feedback statistics", "[learn][rerank][features]") {
    aitl::knowledge_base kb;
    aitl::document d1{"h1", "Grand Hotel", "Free parking is available for guests.", {{"doc_type", "faq"}}};
    aitl::document d2{"h2", "Plaza Inn", "Parking costs ten pounds a night.", {{"doc_type", "review"}}};
    kb.add(d1);
    kb.add(d2);
    aitl::feature_extractor fx(kb);
    const aitl::hits c{{"h1", 2.0f}, {"h2", 1.0f}};
    Eigen::MatrixXd x = fx.extract("I am staying at the Grand Hotel.\nIs parking free?", c);
    REQUIRE(x.rows() == 2);
    REQUIRE(x.cols() == static_cast<Eigen::Index>(aitl::rerank_feature_names().size()));
    CHECK(x(0, 0) == 1.0);
    CHECK(x(1, 0) == 0.0);
    CHECK(x(0, 5) == Approx(1.0));  // title terms all in the conversation
    CHECK(x(1, 5) == 0.0);
    CHECK(x(0, 7) == 1.0);
    CHECK(x(0, 4) > x(1, 4));  // "free" and "parking" vs only "parking"
    CHECK(x(0, 8) == 0.0);     // no encoder
    fx.add_feedback("h2", {3.0, 0.0, 1.0});
    fx.add_feedback("h1", {0.0, 4.0, 0.0});
    x = fx.extract("parking", c);
    // smoothed toward the global rate p = 4/8 (prior strength 5): (4 + 2.5) / 9 - 0.5
    CHECK(x(1, 10) == Approx(6.5 / 9.0 - 0.5));
    CHECK(x(0, 10) == Approx(2.5 / 9.0 - 0.5));
    CHECK(x(1, 11) == Approx(std::log((6.5 / 9.0) / (2.5 / 9.0))));
    CHECK(x(0, 11) < 0.0);
    CHECK(x(1, 9) > x(0, 9));  // review docs were relevant, faq ones not
    // a document without feedback of its own gets exactly 0: neither pushed down nor up
    const std::unordered_map<std::string, aitl::doc_feedback> minus{{"h2", {3.0, 0.0, 1.0}}};
    const Eigen::MatrixXd xm = fx.extract("parking", c, &minus);
    CHECK(xm(1, 10) == 0.0);
    CHECK(xm(1, 11) == 0.0);
    const aitl::hits unseen{{"h1", 2.0f}, {"nowhere", 1.0f}};
    CHECK(fx.extract("parking", unseen)(1, 10) == 0.0);
    CHECK(fx.extract("parking", unseen)(1, 11) == 0.0);
    fx.set_encoder([](const std::vector<std::string>& t) { return aitl::row_matrix(aitl::row_matrix::Ones(static_cast<Eigen::Index>(t.size()), 1)); });
    CHECK(fx.extract("parking", c)(0, 8) == 1.0);
    aitl::rerank_feature_config bad;
    bad.prior_strength = 0.0;
    CHECK_THROWS_AS(aitl::feature_extractor(kb, bad), aitl::config_error);
}

TEST_CASE("feature ranker learns from labelled lists, deterministically, and saves to bytes", "[learn][rerank]") {
    const slice& d = data();
    const auto train = lists(0, 24), val = lists(24, 34);
    aitl::feature_ranker_config c;
    c.model = aitl::ranker_kind::linear;
    c.epochs = 20;
    aitl::feature_ranker a(d.kb, c), b(d.kb, c);
    const double before = a.ndcg(train, 8);
    const aitl::train_result r = a.fit(train, val);
    b.fit(train, val);
    CHECK(a.fitted());
    CHECK(a.save() == b.save());
    CHECK(a.ndcg(train, 8) >= before);
    CHECK(r.best_validation >= a.ndcg(val, 8) - 1e-12);

    const auto& q = d.queries[30].second;
    aitl::bm25 index;
    index.add(d.kb);
    const aitl::hits cands = index.search(q, 20);
    const aitl::hits top = a.rerank(q, cands, 5);
    CHECK(top.size() == std::min<std::size_t>(5, cands.size()));
    for (std::size_t i = 1; i < top.size(); ++i) CHECK(top[i - 1].score >= top[i].score);
    CHECK_THROWS_AS(a.rerank(q, cands, 0), aitl::config_error);

    const aitl::feature_ranker loaded = aitl::feature_ranker::load(a.save(), d.kb);
    CHECK(loaded.save() == a.save());
    CHECK(loaded.rerank(q, cands, 5) == top);
    CHECK_THROWS_AS(aitl::feature_ranker::load("{}", d.kb), aitl::parse_error);
    CHECK_THROWS_AS(aitl::feature_ranker::load("not json", d.kb), aitl::parse_error);

    // Per-list dense scores replace the encoder's feature (out-of-fold training), deterministically.
    auto with_dense = train;
    for (auto& l : with_dense)
        for (std::size_t i = 0; i < l.candidates.size(); ++i)
            l.dense.emplace_back(l.candidates[i].id, 1.0 / (1.0 + static_cast<double>(i)));
    aitl::feature_ranker da(d.kb, c), db(d.kb, c);
    da.fit(with_dense);
    db.fit(with_dense);
    CHECK(da.save() == db.save());
    CHECK(da.save() != a.save());
    CHECK(nlohmann::json::parse(da.save()).at("dense") == true);
    auto bad = train;
    bad[0].dense = {{"x", std::nan("")}};
    CHECK_THROWS_AS(aitl::feature_ranker(d.kb, c).fit(bad), aitl::config_error);

    aitl::feature_ranker untrained(d.kb);
    CHECK(untrained.rerank(q, cands, 3) == aitl::hits(cands.begin(), cands.begin() + 3));
}

TEST_CASE("feature ranker settings are validated and round-trip through JSON", "[learn][rerank][config]") {
    const slice& d = data();
    aitl::feature_ranker_config c;
    c.ndcg_k = 0;
    CHECK_THROWS_AS(aitl::feature_ranker(d.kb, c), aitl::config_error);
    c = {};
    c.deep_pair_weight = 2.0;
    CHECK_THROWS_AS(aitl::feature_ranker(d.kb, c), aitl::config_error);
    c = {};
    c.features.bm25_b = 1.5f;
    CHECK_THROWS_AS(aitl::feature_ranker(d.kb, c), aitl::config_error);
    c = {};
    c.seed = 3;
    c.deep_pair_per_dcg = true;
    c.features.doc_type_key = "kind";
    const nlohmann::json j = c;
    CHECK(nlohmann::json(j.get<aitl::feature_ranker_config>()) == j);
    CHECK_THROWS_AS(nlohmann::json({{"features", {{"bogus", 1}}}}).get<aitl::feature_ranker_config>(), aitl::config_error);
    aitl::feature_ranker r(d.kb);
    CHECK_THROWS_AS(r.fit({{"", {}, {}, 1.0, {}}}), aitl::config_error);
    CHECK_THROWS_AS(r.fit({{"q", {}, {{"x", -1.0}}, 1.0, {}}}), aitl::config_error);
    CHECK_THROWS_AS(r.fit({{"q", {}, {}, std::nan(""), {}}}), aitl::config_error);
    c = {};
    c.base_weight = -1.0;
    CHECK_THROWS_AS(aitl::feature_ranker(d.kb, c), aitl::config_error);
    CHECK_THROWS_AS(aitl::feature_ranker::load(R"({"format": "aitl.feature_ranker", "version": 1})", d.kb), aitl::parse_error);
}

TEST_CASE("feature ranker is a correction of the first stage: no evidence reproduces it", "[learn][rerank]") {
    const slice& d = data();
    aitl::bm25 index;
    index.add(d.kb);
    const auto& q = d.queries[30].second;
    const aitl::hits cands = index.search(q, 20);
    REQUIRE(cands.size() > 5);
    for (const aitl::ranker_kind kind : {aitl::ranker_kind::linear, aitl::ranker_kind::trees}) {
        aitl::feature_ranker_config c;
        c.model = kind;
        aitl::feature_ranker empty(d.kb, c);
        empty.fit({});  // no training list at all
        CHECK(empty.fitted());
        aitl::hits top = empty.rerank(q, cands, 20);
        REQUIRE(top.size() == cands.size());
        for (std::size_t i = 0; i < top.size(); ++i) CHECK(top[i].id == cands[i].id);
        // lists without a relevant document carry no evidence either
        aitl::feature_ranker none(d.kb, c);
        none.fit({{q, cands, {{cands[0].id, 0.0}}, 1.0, {}}});
        top = none.rerank(q, cands, 20);
        for (std::size_t i = 0; i < top.size(); ++i) CHECK(top[i].id == cands[i].id);
    }
    // rerank_lists ranks a list's own candidates with the list's dense scores
    aitl::feature_ranker_config c;
    c.model = aitl::ranker_kind::linear;
    aitl::feature_ranker r(d.kb, c);
    r.fit(lists(0, 24));
    aitl::ranking_list held{q, cands, {{"not-a-candidate", 2.0}}, 1.0, {}};
    const std::vector<aitl::hits> got = r.rerank_lists({held});
    REQUIRE(got.size() == 1);
    CHECK(got[0].size() == cands.size());  // the judged non-candidate stays out
    CHECK(got[0] == r.rerank(q, cands, cands.size()));
}

TEST_CASE("the linear correction shrinks toward 0 when training lists are few", "[learn][rerank]") {
    const slice& d = data();
    aitl::feature_ranker_config c;
    c.model = aitl::ranker_kind::linear;
    c.learn_feedback = false;
    c.epochs = 20;
    auto norm = [&](std::size_t n) {
        aitl::feature_ranker r(d.kb, c);
        r.fit(lists(0, n));
        double t = 0.0;
        for (double w : r.weights()) t += w * w;
        return std::sqrt(t);
    };
    const double few = norm(2), many = norm(30);
    CHECK(few < many);
    c.l2 = 1e6;  // an overwhelming penalty leaves the first stage as it is
    aitl::feature_ranker r(d.kb, c);
    r.fit(lists(0, 30));
    for (double w : r.weights()) CHECK(std::abs(w) < 1e-3);
}

namespace {
// Lists whose grade depends on the `dense` column alone, through a middle band: relevant iff
// 0.4 <= dense < 0.6 (no linear function of the features ranks that band first). Candidate
// scores and dense values come from a fixed LCG; every document has the same text.
const aitl::knowledge_base& band_kb() {
    static const aitl::knowledge_base kb = [] {
        aitl::knowledge_base k;
        for (int i = 0; i < 40; ++i) k.add(aitl::document{"d" + std::to_string(i), "item", "an item", {}});
        return k;
    }();
    return kb;
}

std::vector<aitl::ranking_list> band_lists(std::size_t n, std::uint64_t seed) {
    std::uint64_t state = seed * 2654435761u + 1;
    auto next = [&state] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<double>(state >> 11) * 0x1.0p-53;
    };
    std::vector<aitl::ranking_list> out;
    for (std::size_t l = 0; l < n; ++l) {
        aitl::ranking_list list{"which item", {}, {}, 1.0, {}};
        for (int i = 0; i < 40; ++i) {
            const std::string id = "d" + std::to_string(i);
            const double dense = next();
            list.candidates.push_back({id, static_cast<float>(next())});
            list.dense.emplace_back(id, dense);
            list.labels.emplace_back(id, dense >= 0.4 && dense < 0.6 ? 1.0 : 0.0);
        }
        std::sort(list.candidates.begin(), list.candidates.end(), [](const aitl::hit& a, const aitl::hit& b) { return a.score > b.score; });
        out.push_back(std::move(list));
    }
    return out;
}

aitl::feature_ranker_config tree_config() {
    aitl::feature_ranker_config c;
    c.model = aitl::ranker_kind::trees;
    c.learn_feedback = false;
    c.trees.rounds = 60;
    return c;
}
}  // namespace

TEST_CASE("boosted trees learn a middle-band ranking that the linear model cannot", "[learn][rerank][trees]") {
    const auto train = band_lists(60, 1), test = band_lists(20, 2);
    aitl::feature_ranker_config lc = tree_config();
    lc.model = aitl::ranker_kind::linear;
    lc.epochs = 30;
    aitl::feature_ranker linear(band_kb(), lc), trees(band_kb(), tree_config());
    linear.fit(train);
    const aitl::train_result r = trees.fit(train);
    CHECK(r.epochs_run == 60);
    CHECK(r.best_epoch == 60);
    CHECK(r.train_loss.back() < r.train_loss.front());
    CHECK(trees.trees().size() == 60);
    CHECK(trees.weights().empty());
    CHECK(trees.ndcg(test, 8) > 0.95);
    CHECK(linear.ndcg(test, 8) < 0.75);
    CHECK(trees.ndcg(test, 8) > linear.ndcg(test, 8) + 0.2);
}

TEST_CASE("boosted trees are deterministic for a seed and round-trip through save/load", "[learn][rerank][trees]") {
    const slice& d = data();
    const auto train = lists(0, 30);
    aitl::feature_ranker_config c = tree_config();
    c.trees.subsample = 0.8;
    c.trees.feature_subsample = 0.7;
    aitl::feature_ranker a(d.kb, c), b(d.kb, c);
    const double before = a.ndcg(train, 8);
    a.fit(train);
    b.fit(train);
    CHECK(a.save() == b.save());
    CHECK(a.ndcg(train, 8) > before);
    c.seed = 1;
    aitl::feature_ranker other(d.kb, c);
    other.fit(train);
    CHECK(other.save() != a.save());

    const aitl::feature_ranker loaded = aitl::feature_ranker::load(a.save(), d.kb);
    CHECK(loaded.fitted());
    CHECK(loaded.save() == a.save());
    CHECK(loaded.trees().size() == a.trees().size());
    aitl::bm25 index;
    index.add(d.kb);
    for (std::size_t i = 30; i < 34; ++i) {
        const auto& q = d.queries[i].second;
        const aitl::hits cands = index.search(q, 20);
        CHECK(loaded.score(q, cands) == a.score(q, cands));
        CHECK(loaded.rerank(q, cands, 5) == a.rerank(q, cands, 5));
    }
    // corrupt trees are parse errors, not crashes
    auto j = nlohmann::json::parse(a.save());
    j["trees"]["trees"][0][2][0] = 0;  // the root's left child pointing at itself
    CHECK_THROWS_AS(aitl::feature_ranker::load(j.dump(), d.kb), aitl::parse_error);
    j = nlohmann::json::parse(a.save());
    j["config"]["model"] = "linear";
    CHECK_THROWS_AS(aitl::feature_ranker::load(j.dump(), d.kb), aitl::parse_error);
}

TEST_CASE("boosted trees stop early, keep the best round, and obey the callback", "[learn][rerank][trees]") {
    const auto train = band_lists(40, 3), val = band_lists(15, 4);
    aitl::feature_ranker_config c = tree_config();
    c.trees.rounds = 400;
    c.trees.learning_rate = 0.5;
    c.patience = 5;
    aitl::feature_ranker r(band_kb(), c);
    const aitl::train_result res = r.fit(train, val);
    REQUIRE(res.stopped_early);
    CHECK(res.epochs_run < 400);
    CHECK(res.epochs_run == res.best_epoch + 5);
    CHECK(r.trees().size() == res.best_epoch);
    CHECK(res.validation.size() == res.epochs_run);
    CHECK(res.best_validation == *std::max_element(res.validation.begin(), res.validation.end()));
    CHECK(r.ndcg(val, 8) == Approx(res.best_validation).margin(1e-12));

    std::size_t calls = 0;
    aitl::feature_ranker s(band_kb(), c);
    const aitl::train_result cancelled = s.fit(train, {}, [&calls](const aitl::train_progress& p) {
        ++calls;
        CHECK(p.end_of_epoch);
        return p.epoch < 3;
    });
    CHECK(cancelled.cancelled);
    CHECK(calls == 3);
    CHECK(cancelled.epochs_run == 3);
    CHECK(s.trees().size() == 3);
}

TEST_CASE("boosted tree settings are validated and round-trip through JSON", "[learn][rerank][trees][config]") {
    const auto& kb = band_kb();
    auto throws_naming = [&kb](const aitl::feature_ranker_config& c, const std::string& field, const std::string& expected) {
        try {
            aitl::feature_ranker r(kb, c);
            FAIL("no config_error for " << field);
        } catch (const aitl::config_error& e) {
            const std::string what = e.what();
            CHECK(what.find(field) != std::string::npos);
            CHECK(what.find(expected) != std::string::npos);
        }
    };
    aitl::feature_ranker_config c = tree_config();
    c.trees.rounds = 0;
    throws_naming(c, "rounds", "1..100000");
    c = tree_config();
    c.trees.learning_rate = 0.0;
    throws_naming(c, "learning_rate", "0 < learning_rate <= 1");
    c = tree_config();
    c.trees.max_depth = 0;
    throws_naming(c, "max_depth", "1..30");
    c = tree_config();
    c.trees.max_leaves = 1;
    throws_naming(c, "max_leaves", "2..65536");
    c = tree_config();
    c.trees.max_bins = 257;
    throws_naming(c, "max_bins", "2..256");
    c = tree_config();
    c.trees.subsample = 1.5;
    throws_naming(c, "subsample", "0 < subsample <= 1");
    c = tree_config();
    c.trees.feature_subsample = 0.0;
    throws_naming(c, "feature_subsample", "0 < feature_subsample <= 1");
    c = tree_config();
    c.trees.min_child_weight = -1.0;
    throws_naming(c, "min_child_weight", ">= 0");
    c = tree_config();
    c.trees.l2 = std::nan("");
    throws_naming(c, "l2", ">= 0");

    c = tree_config();
    c.trees.max_leaves = 15;
    c.trees.subsample = 0.5;
    const nlohmann::json j = c;
    CHECK(j.at("model") == "trees");
    CHECK(nlohmann::json(j.get<aitl::feature_ranker_config>()) == j);
    CHECK(nlohmann::json({{"model", "linear"}}).get<aitl::feature_ranker_config>().model == aitl::ranker_kind::linear);
    CHECK_THROWS_AS(nlohmann::json({{"model", "forest"}}).get<aitl::feature_ranker_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"model", 1}}).get<aitl::feature_ranker_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"trees", {{"depth", 3}}}}).get<aitl::feature_ranker_config>(), aitl::config_error);
}
