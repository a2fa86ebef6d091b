// Tests of learn/examples.hpp and learn/compile.hpp: compiling stored annotations into
// retrieval examples, rerank lists, preference pairs / KTO examples and qrels; time split;
// mined negatives.
#include <aitl/concepts.hpp>
#include <aitl/error.hpp>
#include <aitl/learn/compile.hpp>
#include <aitl/learn/examples.hpp>
#include <aitl/learn/reward_model.hpp>
#include <aitl/store/sqlite_store.hpp>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "aitl_catch.hpp"

namespace fs = std::filesystem;

namespace {

struct temp_store {
    fs::path dir;
    aitl::sqlite_store store;
    static fs::path make_dir() {
        std::random_device rd;
        fs::path p = fs::temp_directory_path() /
                     ("aitl_test_learn_" + std::to_string(::getpid()) + "_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(p);
        return p;
    }
    temp_store() : dir(make_dir()), store((dir / "s.db").string(), {aitl::durability::normal}) {}
    ~temp_store() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

aitl::impression make_imp(const std::string& id, const std::string& case_id, const std::string& query,
                          std::int64_t ts, const std::vector<std::string>& shown, const std::vector<std::string>& extra_retrieved,
                          const std::string& reply_a, const std::string& reply_b) {
    aitl::impression imp;
    imp.id = id;
    imp.case_id = case_id;
    imp.query = query;
    imp.timestamp_ms = ts;
    std::uint32_t r = 1;
    for (const auto& d : shown) {
        imp.retrieved.push_back({d, r, 20.0 - r});
        imp.shown.push_back({d, r, 1.0 / r});
        ++r;
    }
    for (const auto& d : extra_retrieved) {
        imp.retrieved.push_back({d, r, 20.0 - r});
        ++r;
    }
    imp.replies = {{"top1", reply_a, aitl::screen_position::left}, {"top3", reply_b, aitl::screen_position::right}};
    imp.models = {{"retriever", "bm25@0"}};
    return imp;
}

aitl::annotation ann(const std::string& imp, const std::string& who, std::int64_t ts, double w, aitl::annotation_body body) {
    aitl::annotation a;
    a.impression_id = imp;
    a.annotator = who;
    a.timestamp_ms = ts;
    a.weight = w;
    a.body = std::move(body);
    return a;
}

aitl::knowledge_relevance rel(std::vector<std::pair<std::string, bool>> labels, std::vector<std::string> selected = {}) {
    aitl::knowledge_relevance r;
    for (auto& [d, y] : labels) r.labels.push_back({d, y});
    r.selected = std::move(selected);
    return r;
}

aitl::preference pref(aitl::preference_choice c, aitl::preference_strength s = aitl::preference_strength::slight) {
    return aitl::preference{c, s, ""};
}

aitl::adoption adopt(aitl::adoption_outcome o, std::uint32_t slot, std::string final_text = "") {
    aitl::adoption d;
    d.outcome = o;
    d.reply = slot;
    d.final_text = std::move(final_text);
    return d;
}

const std::string kRefund = "how do I get a refund?";

// Five impressions, three annotators on the first, a repeated query, a tie, both_bad, a weight-0
// and a low-weight annotation, a missing-knowledge flag. Returns the seq of the last annotation
// of impression 3.
std::int64_t fill(aitl::sqlite_store& s) {
    using C = aitl::preference_choice;
    using S = aitl::preference_strength;
    using O = aitl::adoption_outcome;
    auto imp1 = make_imp("imp1", "c1", kRefund, 1000, {"d1", "d2", "d3", "d4"}, {"d9", "d7"},
                         "Refunds take 5 days [d1]", "Contact billing [d2]");
    imp1.context = {"Hi", "I was charged twice"};
    s.append(imp1);
    s.append(make_imp("imp2", "c2", "reset my password", 2000, {"p1", "p2", "p3"}, {}, "Use the reset link [p1]",
                      "Call us [p2]"));
    s.append(make_imp("imp3", "c3", kRefund, 3000, {"d1", "d2", "d5"}, {}, "Refund policy [d5]", "Refunds [d1]"));
    s.append(make_imp("imp4", "c4", "cancel my booking", 4000, {"x1", "x2"}, {}, "Cancel here [x1]", "Fees [x2]"));
    s.append(make_imp("imp5", "c5", "change address", 5000, {"a1", "a2"}, {}, "Profile page [a1]", "Settings [a2]"));

    // imp1: three annotators
    s.append(ann("imp1", "agent-1", 1100, 1.0, rel({{"d1", true}, {"d2", false}, {"d3", true}, {"d4", false}}, {"d9"})));
    s.append(ann("imp1", "agent-2", 1200, 1.0, rel({{"d1", true}, {"d2", false}, {"d3", false}, {"d4", false}})));
    s.append(ann("imp1", "agent-3", 1300, 0.5, rel({{"d1", false}, {"d4", true}})));
    s.append(ann("imp1", "agent-1", 1150, 1.0, pref(C::b, S::strong)));
    s.append(ann("imp1", "agent-2", 1250, 1.0, pref(C::a, S::slight)));
    s.append(ann("imp1", "agent-3", 1350, 0.5, pref(C::b, S::clear)));
    s.append(ann("imp1", "agent-1", 1160, 1.0, adopt(O::used_with_edits, 1, "Contact billing, they refund in 5 days.")));
    // imp2: one annotator, tie, adopted as is
    s.append(ann("imp2", "agent-4", 2100, 1.0, rel({{"p1", true}, {"p2", false}, {"p3", false}})));
    s.append(ann("imp2", "agent-4", 2150, 1.0, pref(C::tie)));
    s.append(ann("imp2", "agent-4", 2160, 1.0, adopt(O::used_as_is, 0)));
    // imp3: the refund query again; both bad; not used
    s.append(ann("imp3", "agent-5", 3100, 1.0, rel({{"d1", true}, {"d2", true}, {"d5", true}})));
    s.append(ann("imp3", "agent-5", 3150, 1.0, pref(C::both_bad)));
    const std::string last3 = s.append(ann("imp3", "agent-5", 3160, 1.0, adopt(O::not_used, 0)));
    // imp4: a weight-0 annotation (ignored) and a low-weight one; a gap flag
    s.append(ann("imp4", "agent-6", 4100, 0.0, rel({{"x1", false}, {"x2", true}})));
    s.append(ann("imp4", "agent-7", 4110, 0.2, rel({{"x1", true}, {"x2", false}})));
    s.append(ann("imp4", "agent-7", 4120, 1.0, aitl::missing_knowledge{"no article on cancelling", ""}));
    // imp5
    s.append(ann("imp5", "agent-8", 5100, 1.0, rel({{"a1", true}, {"a2", false}})));
    return s.get_annotation(last3).seq;
}

const aitl::retrieval_example& by_query(const std::vector<aitl::retrieval_example>& v, const std::string& q) {
    auto it = std::find_if(v.begin(), v.end(), [&](const auto& e) { return e.query == q; });
    REQUIRE(it != v.end());
    return *it;
}

struct fixed_retriever {
    aitl::hits h;
    aitl::hits search(std::string_view, std::size_t k) const {
        return aitl::hits(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(std::min(k, h.size())));
    }
};

}  // namespace

TEST_CASE("compile_retrieval merges annotators and repeated queries by weighted majority", "[learn-data]") {
    temp_store t;
    fill(t.store);
    auto ex = aitl::compile_retrieval(t.store);
    REQUIRE(ex.size() == 4);  // refund (imp1 + imp3), password, cancel, address
    const auto& refund = by_query(ex, kRefund);
    CHECK(refund.impression_id == "imp1");
    CHECK(refund.case_id == "c1");
    // d1: 2 + 1 relevant vs 0.5; d5 relevant; d9 selected (last); d3 tied 1 vs 1 → left out
    CHECK(refund.positives == std::vector<std::string>{"d1", "d5", "d9"});
    // d2: 1 relevant (imp3) vs 2 not; d4: 0.5 vs 2
    CHECK(refund.hard_negatives == std::vector<std::string>{"d2", "d4"});
    CHECK(refund.weight == Approx((1.0 + 1.0 + 0.5 + 1.0) / 4));
    CHECK(refund.timestamp_ms == 3100);
    CHECK(by_query(ex, "cancel my booking").weight == Approx(0.2));  // weight-0 annotation ignored
    CHECK(by_query(ex, "cancel my booking").positives == std::vector<std::string>{"x1"});

    // dedup: every (query, positive) pair occurs once, and no document is both positive and negative
    std::set<std::pair<std::string, std::string>> pairs;
    std::size_t n = 0;
    for (const auto& e : ex) {
        for (const auto& p : e.positives) {
            pairs.emplace(e.query, p);
            ++n;
            CHECK(std::find(e.hard_negatives.begin(), e.hard_negatives.end(), p) == e.hard_negatives.end());
        }
    }
    CHECK(pairs.size() == n);

    aitl::compile_options o;
    o.min_weight = 0.5;
    CHECK(aitl::compile_retrieval(t.store, o).size() == 3);
    auto j = nlohmann::json(refund);
    CHECK(j.at("positives").size() == 3);
    CHECK(j.at("mined_negatives").empty());
}

TEST_CASE("compile_rerank gives graded labels per impression, hand-selected documents appended", "[learn-data]") {
    temp_store t;
    fill(t.store);
    auto lists = aitl::compile_rerank(t.store);
    REQUIRE(lists.size() == 5);
    const auto& l = lists[0];
    CHECK(l.impression_id == "imp1");
    CHECK(l.context == std::vector<std::string>{"Hi", "I was charged twice"});
    REQUIRE(l.candidates.size() == 4);  // d3 tied → left out
    CHECK(l.candidates[0].doc_id == "d1");
    CHECK(l.candidates[1].doc_id == "d2");
    CHECK(l.candidates[2].doc_id == "d4");
    CHECK(l.candidates[3].doc_id == "d9");
    CHECK(l.labels == std::vector<int>{1, 0, 0, 2});
    CHECK(l.candidates[0].rank == 1);
    CHECK(l.candidates[3].rank == 0);  // not shown
    CHECK(l.retrieval_ranks == std::vector<std::uint32_t>{1, 2, 4, 5});  // d9 retrieved at 5
    CHECK(l.retrieval_scores[0] == Approx(19.0));
    CHECK(l.labels.size() == l.candidates.size());
    CHECK(l.retrieval_scores.size() == l.candidates.size());
    // imp3 on its own (not merged with imp1): all three relevant
    CHECK(lists[2].labels == std::vector<int>{1, 1, 1});
    CHECK(nlohmann::json(l).at("labels") == nlohmann::json::array({1, 0, 0, 2}));
}

TEST_CASE("compile_preferences weighs strengths, drops or keeps ties, turns both_bad into KTO negatives",
          "[learn-data]") {
    temp_store t;
    fill(t.store);
    auto d = aitl::compile_preferences(t.store);
    REQUIRE(d.pairs.size() == 2);
    const auto& p = d.pairs[0];
    CHECK(p.source == "preference");
    CHECK(p.impression_id == "imp1");
    CHECK(p.prompt == "Hi\nI was charged twice\n" + kRefund);
    CHECK(p.chosen == "Contact billing [d2]");  // b: 1.5 vs a: 1
    CHECK(p.rejected == "Refunds take 5 days [d1]");
    CHECK(p.weight == Approx((1.0 * 3 + 0.5 * 2) / 2));  // mean of weight x strength over b votes
    CHECK(p.timestamp_ms == 1350);
    CHECK(p.query_id == "c1");  // the key compile_qrels gives imp1's judgements
    const auto& e = d.pairs[1];
    CHECK(e.source == "adoption");
    CHECK(e.chosen == "Contact billing, they refund in 5 days.");
    CHECK(e.rejected == "Contact billing [d2]");
    CHECK(e.weight == Approx(1.0));

    REQUIRE(d.kto.size() == 4);
    CHECK(d.kto[0].impression_id == "imp2");
    CHECK(d.kto[0].label);
    CHECK(d.kto[0].completion == "Use the reset link [p1]");
    CHECK(d.kto[0].source == "adoption");
    CHECK(std::count_if(d.kto.begin(), d.kto.end(), [](const auto& k) { return !k.label; }) == 3);
    CHECK(std::count_if(d.kto.begin(), d.kto.end(), [](const auto& k) { return k.source == "preference"; }) == 2);

    aitl::compile_options o;
    o.keep_ties = true;
    o.both_bad_as_kto_negatives = false;
    o.strength_weights = {1.0, 1.0, 1.0};
    auto d2 = aitl::compile_preferences(t.store, o);
    REQUIRE(d2.pairs.size() == 4);
    CHECK(d2.pairs[0].weight == Approx((1.0 + 0.5) / 2));
    CHECK(d2.pairs[2].impression_id == "imp2");
    CHECK(d2.pairs[2].weight == Approx(0.5));
    CHECK(d2.pairs[2].chosen == d2.pairs[3].rejected);
    CHECK(d2.kto.size() == 2);
    CHECK(nlohmann::json(d.kto[0]).at("label") == true);
    CHECK(nlohmann::json(p).at("source") == "preference");
    CHECK(nlohmann::json(p).at("query_id") == "c1");
}

TEST_CASE("compile_qrels judges by majority per case; a hand-selected document is relevant", "[learn-data]") {
    temp_store t;
    fill(t.store);
    auto q = aitl::compile_qrels(t.store);
    CHECK(aitl::judgement_count(q.judgements) == 4 + 3 + 3 + 2 + 2);
    CHECK(q.judgements.at("c1") == std::map<std::string, int>{{"d1", 1}, {"d2", 0}, {"d4", 0}, {"d9", 1}});
    CHECK(q.judgements.at("c3") == std::map<std::string, int>{{"d1", 1}, {"d2", 1}, {"d5", 1}});
    CHECK(q.queries.at("c1") == kRefund);
    CHECK(q.queries.size() == q.judgements.size());
}

TEST_CASE("the compilers read only the watermark window", "[learn-data]") {
    temp_store t;
    const auto seq3 = fill(t.store);
    aitl::compile_options o;
    o.after_seq = seq3;
    auto ex = aitl::compile_retrieval(t.store, o);
    REQUIRE(ex.size() == 2);
    CHECK(ex[0].query == "cancel my booking");
    CHECK(ex[1].query == "change address");
    CHECK(aitl::compile_preferences(t.store, o).pairs.empty());
    o.after_seq = 0;
    o.until_seq = seq3;
    CHECK(aitl::compile_retrieval(t.store, o).size() == 2);
    CHECK(aitl::compile_rerank(t.store, o).size() == 3);
    auto fb = aitl::load_feedback(t.store, o);
    CHECK(fb.impressions.size() == 3);
    CHECK(aitl::compile_preferences(fb, o).kto.size() == 4);
}

TEST_CASE("time_split puts strictly earlier items in training, never leaking", "[learn-data]") {
    temp_store t;
    fill(t.store);
    auto s = aitl::time_split(aitl::compile_retrieval(t.store), 0.5);
    REQUIRE(s.train.size() == 2);
    REQUIRE(s.validation.size() == 2);
    CHECK(s.train[0].query == "reset my password");
    CHECK(s.train[1].query == kRefund);
    // a boundary shared by several items: all of them go to validation
    std::vector<aitl::kto_example> v(10);
    for (std::size_t i = 0; i < v.size(); ++i) v[i].timestamp_ms = static_cast<std::int64_t>(i < 4 ? i : 5);
    auto s2 = aitl::time_split(v, 0.3);
    CHECK(s2.train.size() == 4);
    CHECK(s2.validation.size() == 6);
    std::int64_t max_train = -1, min_val = 1 << 30;
    for (const auto& x : s2.train) max_train = std::max(max_train, x.timestamp_ms);
    for (const auto& x : s2.validation) min_val = std::min(min_val, x.timestamp_ms);
    CHECK(max_train < min_val);
    CHECK(aitl::time_split(v, 0.0).validation.empty());
    CHECK(aitl::time_split(v, 1.0).train.empty());
    CHECK_THROWS_AS(aitl::time_split(v, 1.5), aitl::config_error);
    CHECK_THROWS_AS(aitl::time_split(v, -0.1), aitl::config_error);
}

TEST_CASE("mine_negatives adds retriever hits that are neither positive nor hard negative", "[learn-data]") {
    temp_store t;
    fill(t.store);
    auto ex = aitl::compile_retrieval(t.store);
    fixed_retriever r{{{"d1", 5.f}, {"d7", 4.f}, {"d2", 3.f}, {"d8", 2.f}, {"d5", 1.f}, {"d6", 0.5f}}};
    aitl::mine_negatives(ex, r, 10, 2);
    const auto& refund = by_query(ex, kRefund);
    CHECK(refund.mined_negatives == std::vector<std::string>{"d7", "d8"});
    CHECK(refund.negatives() == std::vector<std::string>{"d2", "d4", "d7", "d8"});
    aitl::mine_negatives(ex, r, 2, 5);
    CHECK(by_query(ex, kRefund).mined_negatives == std::vector<std::string>{"d7"});
    CHECK_THROWS_AS(aitl::mine_negatives(ex, r, 0, 1), aitl::config_error);
}

TEST_CASE("compile_options validate and round-trip through JSON", "[learn-data]") {
    aitl::compile_options o;
    o.after_seq = 3;
    o.keep_ties = true;
    o.strength_weights = {1.0, 1.5, 4.0};
    aitl::compile_options back = nlohmann::json(o).get<aitl::compile_options>();
    CHECK(back.after_seq == 3);
    CHECK(back.keep_ties);
    CHECK(back.strength_weights[2] == 4.0);
    CHECK_THROWS_AS(nlohmann::json({{"after", 1}}).get<aitl::compile_options>(), aitl::config_error);
    aitl::compile_options bad;
    bad.after_seq = -1;
    CHECK_THROWS_AS(aitl::validate(bad), aitl::config_error);
    bad = {};
    bad.after_seq = 5;
    bad.until_seq = 2;
    CHECK_THROWS_AS(aitl::validate(bad), aitl::config_error);
    bad = {};
    bad.strength_weights[1] = 0.0;
    CHECK_THROWS_AS(aitl::validate(bad), aitl::config_error);
    bad = {};
    bad.min_weight = -1;
    aitl::store_model m;
    CHECK_THROWS_AS(aitl::compile_retrieval(m, bad), aitl::config_error);
    CHECK(aitl::compile_retrieval(m).empty());
}

TEST_CASE("compilers read many impressions in one query and match the per-impression path", "[learn-data]") {
    temp_store t;
    std::vector<aitl::impression> imps;
    std::vector<aitl::annotation> anns;
    for (int i = 0; i < 120; ++i) {
        const std::string id = "imp-" + std::to_string(i);
        imps.push_back(make_imp(id, "case-" + std::to_string(i % 40), "query " + std::to_string(i % 40), 1000 * i,
                                {"doc-" + std::to_string(i % 7), "doc-" + std::to_string(i % 7 + 10)}, {}, "reply a " + id,
                                "reply b " + id));
        anns.push_back(ann(id, "agent-" + std::to_string(i % 3), 1000 * i + 10, 1.0,
                           rel({{"doc-" + std::to_string(i % 7), true}, {"doc-" + std::to_string(i % 7 + 10), false}})));
        anns.push_back(ann(id, "agent-" + std::to_string(i % 3), 1000 * i + 20, 1.0,
                           pref(i % 2 ? aitl::preference_choice::a : aitl::preference_choice::b)));
    }
    t.store.append(imps, anns);
    auto ex = aitl::compile_retrieval(t.store);
    CHECK(ex.size() == 40);  // 120 impressions of 40 distinct queries
    CHECK(aitl::compile_rerank(t.store).size() == 120);
    CHECK(aitl::compile_preferences(t.store).pairs.size() == 120);
    aitl::compile_options o;
    o.after_seq = t.store.get_annotation(t.store.annotations_since(0, 0)[200].id).seq;  // 39 left: the slow path
    auto fb = aitl::load_feedback(t.store, o);
    CHECK(fb.annotations.size() == 39);
    CHECK(fb.impressions.size() == 20);
    CHECK(fb.impressions.front().id == "imp-100");
}

// ---- reward model (learn/reward_model.hpp)

namespace {

// Planted preference: the chosen reply cites the reference that shares the question's words;
// the rejected one cites an unrelated reference (and is longer, so length alone misleads).
struct planted {
    std::vector<aitl::preference_pair> pairs;
    std::vector<std::vector<std::string>> refs;
};

planted make_planted(std::size_t n, std::uint64_t seed) {
    const std::vector<std::string> topics{"password reset", "refund card", "hotel parking", "train ticket",
                                          "wifi router",    "bank transfer", "museum hours", "taxi booking"};
    std::mt19937_64 rng(seed);
    planted p;
    for (std::size_t i = 0; i < n; ++i) {
        const auto a = aitl::detail::uniform_index(rng, topics.size());
        auto b = aitl::detail::uniform_index(rng, topics.size() - 1);
        if (b >= a) ++b;
        const std::string good = "d" + std::to_string(a), bad = "d" + std::to_string(b);
        aitl::preference_pair pp;
        pp.prompt = "hello there\nhow does the " + topics[a] + " work?";
        pp.chosen = "The " + topics[a] + " works online. [" + good + "]";
        pp.rejected = "Sadly the " + topics[b] + " is closed today and tomorrow as well. [" + bad + "]";
        pp.weight = 1.0 + static_cast<double>(i % 3);
        const bool swap = aitl::detail::uniform_index(rng, 2) == 1;
        std::vector<std::string> r{"[" + good + "] All about the " + topics[a] + ": it works online.",
                                   "[" + bad + "] All about the " + topics[b] + ": closed today."};
        if (swap) std::swap(r[0], r[1]);
        p.pairs.push_back(pp);
        p.refs.push_back(r);
    }
    return p;
}

}  // namespace

TEST_CASE("reward_model learns a planted preference and chooses the grounded reply", "[reward]") {
    auto train = make_planted(200, 1), test = make_planted(100, 2);
    aitl::reward_model rm;
    CHECK_FALSE(rm.trained());
    std::size_t reports = 0;
    auto res = rm.train(train.pairs, train.refs, test.pairs, test.refs, [&](const aitl::train_progress& p) {
        ++reports;
        CHECK(p.end_of_epoch);
        return true;
    });
    CHECK(rm.trained());
    CHECK(reports == res.epochs_run);
    CHECK(res.best_validation > 0.95);
    CHECK(rm.accuracy(test.pairs, test.refs) > 0.95);
    const auto& q = test.pairs[0].prompt;
    CHECK(rm.choose(q, {test.pairs[0].rejected, test.pairs[0].chosen}, test.refs[0]) == 1);
    CHECK(rm.score(q, test.pairs[0].chosen, test.refs[0]) > rm.score(q, test.pairs[0].rejected, test.refs[0]));
    // features: a valid citation of a given reference, an invalid one
    const auto f = rm.features("q\nhow does the password reset work?", "Reset it. [d0] [zz]",
                               {"[d0] password reset help"});
    const auto& names = aitl::reward_model::feature_names();
    REQUIRE(f.size() == names.size());
    auto at = [&](const std::string& n) { return f[static_cast<std::size_t>(std::find(names.begin(), names.end(), n) - names.begin())]; };
    CHECK(at("citation_validity") == Approx(0.5));
    CHECK(at("cites_top") == 1.0);
    CHECK(at("cited_question_overlap") == Approx(2.0 / 3.0));  // password, reset of {password, reset, work}
    // the callback can stop training
    aitl::reward_model stopped;
    auto r2 = stopped.train(train.pairs, train.refs, {}, {}, [](const aitl::train_progress&) { return false; });
    CHECK(r2.cancelled);
    CHECK(r2.epochs_run == 1);
}

TEST_CASE("reward_model training is deterministic and save/load keeps the bytes", "[reward]") {
    auto data = make_planted(150, 3);
    aitl::reward_model_config c;
    c.validation_fraction = 0.2;
    c.seed = 7;
    aitl::reward_model a(c), b(c);
    a.train(data.pairs, data.refs);
    b.train(data.pairs, data.refs);
    CHECK(a.to_bytes() == b.to_bytes());
    const auto path = (fs::temp_directory_path() / ("aitl_reward_" + std::to_string(::getpid()) + ".json")).string();
    a.save(path);
    auto l = aitl::reward_model::load(path);
    fs::remove(path);
    CHECK(l.to_bytes() == a.to_bytes());
    CHECK(l.score("q", data.pairs[0].chosen, data.refs[0]) == a.score("q", data.pairs[0].chosen, data.refs[0]));
    CHECK_THROWS_AS(aitl::reward_model::from_bytes("{\"format\": \"other\"}"), aitl::parse_error);
    CHECK_THROWS_AS(aitl::reward_model::from_bytes("not json"), aitl::parse_error);
    CHECK_THROWS_AS(aitl::reward_model::load("/nonexistent/dir/model.json"), aitl::io_error);
}

TEST_CASE("reward_model's cited_prior follows the documents' relevance feedback and is saved", "[reward]") {
    aitl::reward_model_config c;
    c.prior_strength = 2.0;
    aitl::reward_model rm(c);
    const auto& names = aitl::reward_model::feature_names();
    const auto k = static_cast<std::size_t>(std::find(names.begin(), names.end(), "cited_prior") - names.begin());
    REQUIRE(k < names.size());
    const std::vector<std::string> refs{"[good] Parking\nThe hotel has free parking.", "[bad] Museum\nOpen at nine.",
                                        "[new] Parking\nParking is free."};
    auto prior = [&](const aitl::reward_model& m, const std::string& reply) { return m.features("q\nparking?", reply, refs)[k]; };
    CHECK(prior(rm, "Yes. [good]") == 0.0);  // no feedback yet
    rm.set_document_relevance({{"q1", {{"good", 1}, {"bad", 0}}}, {"q2", {{"good", 2}, {"bad", 0}, {"other", 1}}}});
    // base rate 3/5; good (2 + 2 * 0.6) / (2 + 2); bad (0 + 1.2) / 4; never judged: the base rate
    CHECK(prior(rm, "Yes. [good]") == Approx(0.8));
    CHECK(prior(rm, "Yes. [bad]") == Approx(0.3));
    CHECK(prior(rm, "Yes. [good] [bad]") == Approx(0.55));
    CHECK(prior(rm, "Yes. [new]") == Approx(0.6));
    CHECK(prior(rm, "Yes. [elsewhere]") == 0.0);  // cites no given reference
    REQUIRE(rm.document_relevance().size() == 3);
    CHECK(rm.document_relevance().at("good").relevant == 2.0);
    CHECK(rm.document_relevance().at("good").judged == 2.0);

    // replies alike but for the document they cite: only the feedback tells them apart
    aitl::qrels fb;
    std::vector<aitl::preference_pair> pairs;
    std::vector<std::vector<std::string>> prefs;
    std::mt19937_64 rng(5);
    for (int d = 0; d < 8; ++d) fb["q" + std::to_string(d)]["d" + std::to_string(d)] = d % 2 == 0 ? 1 : 0;
    for (std::size_t i = 0; i < 120; ++i) {
        const auto g = 2 * aitl::detail::uniform_index(rng, 4), b = 2 * aitl::detail::uniform_index(rng, 4) + 1;
        aitl::preference_pair pp;
        pp.prompt = "hi\nwhat about it?";
        pp.chosen = "See this article. [d" + std::to_string(g) + "]";
        pp.rejected = "See this article. [d" + std::to_string(b) + "]";
        std::vector<std::string> r{"[d" + std::to_string(g) + "] Article\nAll about it.", "[d" + std::to_string(b) + "] Article\nAll about it."};
        if (aitl::detail::uniform_index(rng, 2) == 1) std::swap(r[0], r[1]);
        pairs.push_back(pp);
        prefs.push_back(r);
    }
    aitl::reward_model with(c), without(c);
    with.set_document_relevance(fb);
    with.train(pairs, prefs);
    without.train(pairs, prefs);
    CHECK(with.accuracy(pairs, prefs) > 0.95);
    CHECK(without.accuracy(pairs, prefs) < 0.7);
    const auto back = aitl::reward_model::from_bytes(with.to_bytes());
    CHECK(back.to_bytes() == with.to_bytes());
    CHECK(back.document_relevance().at("d0").relevant == 1.0);
    CHECK(back.score(pairs[0].prompt, pairs[0].chosen, prefs[0]) == with.score(pairs[0].prompt, pairs[0].chosen, prefs[0]));
    auto j = nlohmann::json::parse(with.to_bytes());
    j["documents"]["d0"] = {2.0, 1.0};
    CHECK_THROWS_AS(aitl::reward_model::from_bytes(j.dump()), aitl::parse_error);
    j["documents"]["d0"] = "x";
    CHECK_THROWS_AS(aitl::reward_model::from_bytes(j.dump()), aitl::parse_error);
    c.prior_strength = 0.0;
    CHECK_THROWS_AS(aitl::reward_model(c), aitl::config_error);
}

TEST_CASE("reward_model training leaves each pair's own relevance judgements out of cited_prior", "[reward]") {
    aitl::reward_model_config c;
    c.prior_strength = 2.0;
    const auto& names = aitl::reward_model::feature_names();
    const auto k = static_cast<std::size_t>(std::find(names.begin(), names.end(), "cited_prior") - names.begin());
    REQUIRE(k < names.size());
    // q1 is the only query that judged "own"; q2 and q3 judged other documents
    aitl::reward_model rm(c);
    rm.set_document_relevance({{"q1", {{"own", 1}}}, {"q2", {{"other", 0}}}, {"q3", {{"third", 1}}}});
    const std::vector<std::string> refs{"[own] Parking\nFree parking.", "[other] Museum\nOpen at nine."};
    const auto served = rm.features("q\nparking?", "Yes. [own]", refs)[k];
    const auto trained = rm.features("q\nparking?", "Yes. [own]", refs, "q1")[k];
    CHECK(served == Approx((1.0 + 2.0 * (2.0 / 3.0)) / (1.0 + 2.0)));  // its own label counts when serving
    CHECK(trained == Approx(0.5));  // left out: the prior of the other queries' rate (1 of 2)
    CHECK(rm.features("q\nparking?", "Yes. [other]", refs, "q1")[k] == Approx((0.0 + 2.0 * 0.5) / (1.0 + 2.0)));
    CHECK(rm.features("q\nparking?", "Yes. [own]", refs, "unknown-query")[k] == served);
    REQUIRE(rm.relevance_judgements().size() == 3);

    // Each pair cites a document that only its own query judged: the chosen reply's document is
    // judged relevant, the rejected one's not. Seeing its own labels, cited_prior would separate
    // every pair; left out, both documents get the same prior and nothing separates them.
    aitl::qrels fb;
    std::vector<aitl::preference_pair> pairs;
    std::vector<std::vector<std::string>> prefs;
    for (int i = 0; i < 60; ++i) {
        const std::string q = "case-" + std::to_string(i), good = "g" + std::to_string(i), bad = "b" + std::to_string(i);
        fb[q] = {{good, 1}, {bad, 0}};
        aitl::preference_pair pp;
        pp.prompt = "hi\nwhat about it?";
        pp.chosen = "See this article. [" + good + "]";
        pp.rejected = "See this article. [" + bad + "]";
        pp.query_id = q;
        pairs.push_back(pp);
        std::vector<std::string> r{"[" + good + "] Article\nAll about it.", "[" + bad + "] Article\nAll about it."};
        if (i % 2) std::swap(r[0], r[1]);
        prefs.push_back(r);
    }
    aitl::reward_model loo(c), leaky(c);
    loo.set_document_relevance(fb);
    loo.train(pairs, prefs);
    CHECK(loo.weights()[k] == 0.0);  // cited_prior carries nothing in training
    CHECK(loo.accuracy(pairs, prefs) == Approx(0.5));
    auto no_ids = pairs;
    for (auto& p : no_ids) p.query_id.clear();
    leaky.set_document_relevance(fb);
    leaky.train(no_ids, prefs);
    CHECK(leaky.weights()[k] > 0.5);  // without query ids the labels leak
    CHECK(leaky.accuracy(no_ids, prefs) == 1.0);
    // the judgements are saved with the model, so leave-one-out survives a round trip
    const auto back = aitl::reward_model::from_bytes(loo.to_bytes());
    CHECK(back.to_bytes() == loo.to_bytes());
    CHECK(back.features(pairs[0].prompt, pairs[0].chosen, prefs[0], "case-0") ==
          loo.features(pairs[0].prompt, pairs[0].chosen, prefs[0], "case-0"));
    auto j = nlohmann::json::parse(loo.to_bytes());
    j["judgements"]["case-0"]["g0"] = 0;  // disagrees with the per-document counts
    CHECK_THROWS_AS(aitl::reward_model::from_bytes(j.dump()), aitl::parse_error);
    j["judgements"] = "x";
    CHECK_THROWS_AS(aitl::reward_model::from_bytes(j.dump()), aitl::parse_error);
}

TEST_CASE("reward_model rejects bad settings and inputs", "[reward]") {
    aitl::reward_model_config c;
    c.l2 = -1;
    CHECK_THROWS_AS(aitl::reward_model(c), aitl::config_error);
    c = {};
    c.epochs = 0;
    CHECK_THROWS_AS(aitl::validate(c), aitl::config_error);
    c = {};
    c.validation_fraction = 1.0;
    CHECK_THROWS_AS(aitl::validate(c), aitl::config_error);
    c = {};
    c.top_references = 0;
    CHECK_THROWS_AS(aitl::validate(c), aitl::config_error);
    aitl::reward_model_config r;
    CHECK_THROWS_AS(aitl::from_json(nlohmann::json{{"l2s", 1}}, r), aitl::config_error);
    CHECK_THROWS_AS(aitl::from_json(nlohmann::json{{"l2", "x"}}, r), aitl::config_error);
    CHECK_THROWS_AS(aitl::from_json(nlohmann::json{{"tolerance", -1.0}}, r), aitl::config_error);
    aitl::reward_model_config rt;
    rt.l2 = 0.5;
    rt.top_references = 2;
    aitl::reward_model_config back = nlohmann::json(rt).get<aitl::reward_model_config>();
    CHECK(nlohmann::json(back) == nlohmann::json(rt));
    aitl::reward_model rm;
    CHECK_THROWS_AS(rm.train({}), aitl::config_error);
    auto data = make_planted(4, 1);
    CHECK_THROWS_AS(rm.train(data.pairs, {{"x"}}), aitl::dimension_error);
    data.pairs[1].weight = 0;
    CHECK_THROWS_AS(rm.train(data.pairs, data.refs), aitl::config_error);
    CHECK_THROWS_AS(rm.choose("q", {}, {}), aitl::config_error);
}
