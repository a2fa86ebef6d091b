// Tests of eval/significance.hpp (paired tests, sign test), flywheel/gate.hpp (gated promotion)
// and flywheel/scheduler.hpp (count / cadence / drift triggers).
#include <aitl/error.hpp>
#include <aitl/eval/significance.hpp>
#include <aitl/feedback/annotation.hpp>
#include <aitl/flywheel/gate.hpp>
#include <aitl/flywheel/scheduler.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "aitl_catch.hpp"

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
bool any_has(const std::vector<std::string>& v, const std::string& part) {
    for (const auto& s : v)
        if (has(s, part)) return true;
    return false;
}

// Two-sided sign-flip p-value by brute force over every sign pattern of every difference
// (zeros included), independent of the library's Gray-code walk.
double brute_force_p(const std::vector<double>& base, const std::vector<double>& chall) {
    const std::size_t n = base.size();
    double obs = 0, abs_sum = 0;
    for (std::size_t i = 0; i < n; ++i) obs += chall[i] - base[i], abs_sum += std::fabs(chall[i] - base[i]);
    std::size_t hits = 0;
    for (std::uint64_t mask = 0; mask < (std::uint64_t{1} << n); ++mask) {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += ((mask >> i) & 1u ? -1.0 : 1.0) * (chall[i] - base[i]);
        if (std::fabs(s) >= std::fabs(obs) - 1e-10 * abs_sum) ++hits;
    }
    return static_cast<double>(hits) / static_cast<double>(std::uint64_t{1} << n);
}

// Per-query scores of `n` queries in [0, 1], graded in steps of 1/8 like precision@8.
std::vector<double> scores(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<double> v(n);
    for (auto& x : v) x = static_cast<double>(rng() % 9) / 8.0;
    return v;
}

// `base` improved by `step` on a `share` of the queries (capped at 1), seeded.
std::vector<double> improved(const std::vector<double>& base, double step, double share, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<double> v = base;
    for (auto& x : v)
        if (static_cast<double>(rng() % 1000) < share * 1000) x = std::min(1.0, std::max(0.0, x + step));
    return v;
}

aitl::gate_scores make_scores(std::size_t n_fresh, std::size_t n_guard, std::uint32_t seed) {
    aitl::gate_scores s;
    std::uint32_t k = seed;
    for (const char* m : {"recall@75", "precision@8"}) s.fresh[m] = scores(n_fresh, ++k);
    for (const char* m : {"ndcg@10", "mrr@10", "recall@75", "precision@8"}) s.guard[m] = scores(n_guard, ++k);
    return s;
}

aitl::annotation ann(aitl::annotation_body body, std::int64_t ts = 1000) {
    aitl::annotation a;
    a.impression_id = "imp";
    a.annotator = "agent";
    a.timestamp_ms = ts;
    a.body = std::move(body);
    return a;
}

aitl::annotation adoption_ann(bool adopted, std::int64_t ts = 1000) {
    aitl::adoption d;
    d.outcome = adopted ? aitl::adoption_outcome::used_with_edits : aitl::adoption_outcome::not_used;
    d.final_text = "sent";
    return ann(d, ts);
}

aitl::annotation relevance_ann(std::size_t relevant, std::size_t irrelevant, std::int64_t ts = 1000) {
    aitl::knowledge_relevance r;
    for (std::size_t i = 0; i < relevant + irrelevant; ++i) r.labels.push_back({"d" + std::to_string(i), i < relevant});
    return ann(r, ts);
}

}  // namespace

// ------------------------------------------------------------------------------------------
// significance
// ------------------------------------------------------------------------------------------

TEST_CASE("the exact sign-flip p-value equals brute-force enumeration on small n", "[significance]") {
    for (std::uint32_t seed = 1; seed <= 6; ++seed) {
        const std::size_t n = 6 + seed;  // 7..12 queries
        auto b = scores(n, seed), c = improved(b, 0.25, 0.6, seed + 100);
        aitl::paired_result r = aitl::paired_test(b, c);
        CHECK(r.exact);
        CHECK(r.rounds == 0);
        CHECK(r.p_value == Approx(brute_force_p(b, c)).margin(1e-12));
    }
    // all five differences +1: only the all-plus and all-minus patterns are as extreme
    aitl::paired_result r = aitl::paired_test({0, 0, 0, 0, 0}, {1, 1, 1, 1, 1});
    CHECK(r.p_value == Approx(2.0 / 32));
    CHECK(r.mean_diff == Approx(1.0));
    CHECK(r.ties == 0);
}

TEST_CASE("the Monte Carlo sign-flip p-value converges to the exact one", "[significance]") {
    auto b = scores(14, 7), c = improved(b, 0.125, 0.5, 8);
    aitl::significance_config exact_cfg;
    aitl::significance_config mc;
    mc.exact_max = 0;
    mc.rounds = 200000;
    const double exact = aitl::paired_test(b, c, exact_cfg).p_value;
    const aitl::paired_result approx = aitl::paired_test(b, c, mc);
    CHECK_FALSE(approx.exact);
    CHECK(approx.rounds == 200000);
    CHECK(exact > 0.001);
    CHECK(std::fabs(approx.p_value - exact) < 0.005);
}

TEST_CASE("paired tests are deterministic for a seed", "[significance]") {
    auto b = scores(2000, 3), c = improved(improved(b, 0.125, 0.05, 4), -0.125, 0.045, 5);
    for (const char* method : {"permutation", "bootstrap"}) {
        aitl::significance_config cfg;
        cfg.method = method;
        cfg.seed = 42;
        const auto r1 = aitl::paired_test(b, c, cfg), r2 = aitl::paired_test(b, c, cfg);
        CHECK(r1.p_value == r2.p_value);
        CHECK(r1.ci_low == r2.ci_low);
        CHECK(r1.ci_high == r2.ci_high);
        CHECK(r1.method == method);
        CHECK(r1.n == 2000);
        CHECK(r1.ties > 1800);
        cfg.seed = 43;
        const auto r3 = aitl::paired_test(b, c, cfg);
        CHECK(r3.mean_diff == r1.mean_diff);
        CHECK(r3.p_value != r1.p_value);
        CHECK(r3.p_value == Approx(r1.p_value).margin(0.02));
    }
}

TEST_CASE("the bootstrap interval covers the true mean difference on synthetic data", "[significance]") {
    // challenger = base + 0.05 + noise(sd 0.2): the true mean difference is 0.05
    std::mt19937 rng(11);
    std::normal_distribution<double> noise(0.0, 0.2);
    int covered = 0;
    const int datasets = 40;
    aitl::significance_config cfg;
    cfg.method = "bootstrap";
    cfg.rounds = 2000;
    for (int t = 0; t < datasets; ++t) {
        std::vector<double> b(300), c(300);
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = noise(rng), c[i] = b[i] + 0.05 + noise(rng);
        cfg.seed = static_cast<std::uint64_t>(t);
        const auto r = aitl::paired_test(b, c, cfg);
        CHECK(r.ci_low <= r.mean_diff);
        CHECK(r.mean_diff <= r.ci_high);
        // half-width close to 1.96 * 0.2 / sqrt(300) = 0.0226
        CHECK((r.ci_high - r.ci_low) / 2 == Approx(0.0226).epsilon(0.2));
        covered += (r.ci_low <= 0.05 && 0.05 <= r.ci_high) ? 1 : 0;
        CHECK(r.p_value < 0.01);
    }
    CHECK(covered >= 34);  // 95% nominal: 38 expected
    // the permutation's normal interval agrees with the percentile interval
    std::vector<double> b(500), c(500);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = noise(rng), c[i] = b[i] + 0.05 + noise(rng);
    cfg.seed = 1;
    const auto boot = aitl::paired_test(b, c, cfg);
    const auto perm = aitl::paired_test(b, c, {});
    CHECK(perm.ci_low == Approx(boot.ci_low).margin(0.004));
    CHECK(perm.ci_high == Approx(boot.ci_high).margin(0.004));
}

TEST_CASE("paired tests handle no queries and all ties", "[significance]") {
    for (const char* method : {"permutation", "bootstrap"}) {
        aitl::significance_config cfg;
        cfg.method = method;
        const auto r = aitl::paired_test({}, {}, cfg);
        CHECK(r.n == 0);
        CHECK(r.p_value == 1.0);
        CHECK(r.mean_diff == 0.0);
        const auto t = aitl::paired_test({0.5, 0.25, 1}, {0.5, 0.25, 1}, cfg);
        CHECK(t.ties == 3);
        CHECK(t.p_value == 1.0);
        CHECK(t.ci_low == 0.0);
        CHECK(t.ci_high == 0.0);
    }
}

TEST_CASE("paired_test rejects mismatched, non-finite input and bad settings", "[significance]") {
    CHECK_THROWS_AS(aitl::paired_test({1, 2}, {1}), aitl::dimension_error);
    CHECK_THROWS_AS(aitl::paired_test({1, NAN}, {1, 2}), aitl::dimension_error);
    CHECK_THROWS_AS(aitl::paired_test({1, 2}, {1, INFINITY}), aitl::dimension_error);
    auto bad = [](auto edit) {
        aitl::significance_config c;
        edit(c);
        return c;
    };
    CHECK_THROWS_AS(aitl::paired_test({1}, {2}, bad([](auto& c) { c.method = "t-test"; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::paired_test({1}, {2}, bad([](auto& c) { c.rounds = 0; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::paired_test({1}, {2}, bad([](auto& c) { c.confidence = 1.0; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::paired_test({1}, {2}, bad([](auto& c) { c.confidence = 0.0; })), aitl::config_error);
    CHECK_THROWS_AS(aitl::paired_test({1}, {2}, bad([](auto& c) { c.exact_max = 25; })), aitl::config_error);
    try {
        aitl::paired_test({1, 2, 3}, {1, 2});
        FAIL("expected dimension_error");
    } catch (const aitl::dimension_error& e) {
        CHECK(has(e.what(), "paired_test: score vectors differ in length (got 3 base and 2 challenger"));
    }
    aitl::significance_config c;
    c.method = "bootstrap";
    c.seed = 5;
    nlohmann::json j = c;
    CHECK(j.get<aitl::significance_config>().seed == 5);
    CHECK(j.get<aitl::significance_config>().method == "bootstrap");
    CHECK_THROWS_AS((nlohmann::json{{"rounds", 5}, {"bogus", 1}}.get<aitl::significance_config>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"rounds", "many"}}.get<aitl::significance_config>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"method", "z"}}.get<aitl::significance_config>()), aitl::config_error);
}

TEST_CASE("sign_test is the exact two-sided binomial test", "[significance]") {
    CHECK(aitl::sign_test(0, 0) == 1.0);
    CHECK(aitl::sign_test(5, 5) == 1.0);
    CHECK(aitl::sign_test(1, 0) == 1.0);
    CHECK(aitl::sign_test(10, 0) == Approx(2.0 / 1024));
    CHECK(aitl::sign_test(0, 10) == Approx(2.0 / 1024));
    CHECK(aitl::sign_test(60, 40) == Approx(0.05688793364098078).epsilon(1e-9));  // scipy.stats.binomtest
    CHECK(aitl::sign_test(8, 2) == Approx(0.109375));
    // large counts: close to the normal approximation with continuity correction
    const double p = aitl::sign_test(5000, 5200);
    const double z = (5100.0 - 5000.0 - 0.5) / std::sqrt(10200 * 0.25);
    CHECK(p == Approx(std::erfc(z / std::sqrt(2.0))).epsilon(0.01));
    CHECK(aitl::sign_test(100000, 0) == 0.0);  // underflows to 0, no NaN
}

// ------------------------------------------------------------------------------------------
// gate
// ------------------------------------------------------------------------------------------

TEST_CASE("the gate promotes a clearly better challenger", "[gate]") {
    const auto champ = make_scores(200, 150, 1);
    auto chall = champ;
    chall.fresh["recall@75"] = improved(champ.fresh.at("recall@75"), 0.25, 0.5, 2);
    chall.fresh["precision@8"] = improved(champ.fresh.at("precision@8"), 0.125, 0.5, 3);
    const auto d = aitl::gate(champ, chall);
    CHECK(d.promote);
    CHECK(d.fresh_queries == 200);
    CHECK(d.guard_queries == 150);
    REQUIRE(d.fresh.size() == 2);
    CHECK(d.fresh[0].better);
    CHECK(d.fresh[1].better);
    CHECK(d.guard.size() == 4);
    CHECK(d.guard_regressions.empty());
    CHECK(d.deciding_metric == "recall@75");
    CHECK(has(d.reason, "promoted: recall@75 +0.1"));
    CHECK(has(d.reason, "precision@8 +0.0"));
    CHECK(has(d.reason, "on fresh (200 queries); no guard regression beyond 0.01"));
    INFO(d.reason);
    const std::string md = d.to_markdown();
    CHECK(has(md, "**promoted**"));
    CHECK(has(md, "| fresh | recall@75 | 200 |"));
    CHECK(has(md, "| guard | ndcg@10 | 150 |"));
    const auto j = d.to_json();
    CHECK(j["promote"] == true);
    CHECK(j["fresh"][0]["result"]["n"] == 200);
    CHECK(j["config"]["alpha"] == 0.05);
    // deterministic
    CHECK(aitl::gate(champ, chall).reason == d.reason);
}

TEST_CASE("the gate rejects a challenger with worse per-query recall and names the metric", "[gate]") {
    const auto champ = make_scores(200, 150, 5);
    auto chall = champ;
    // an inverted ranking: relevant documents pushed to the bottom, so recall falls on most queries
    for (auto& x : chall.fresh["recall@75"]) x = x * 0.4;
    chall.fresh["precision@8"] = improved(champ.fresh.at("precision@8"), 0.125, 0.5, 6);
    const auto d = aitl::gate(champ, chall);
    CHECK_FALSE(d.promote);
    CHECK(d.deciding_metric == "recall@75");
    CHECK(d.deciding_set == "fresh");
    CHECK(d.fresh[0].worse);
    CHECK(has(d.reason, "rejected: recall@75 on fresh fell 0."));
    CHECK(has(d.reason, "(diff -0."));
    CHECK(has(d.reason, "p=") );
    // the worse metric decides even when the other one is better and only "any" is required
    aitl::gate_config any;
    any.require = "any";
    CHECK_FALSE(aitl::gate(champ, chall, any).promote);
}

TEST_CASE("the gate rejects a guard regression beyond the tolerance", "[gate]") {
    const auto champ = make_scores(200, 150, 9);
    auto chall = champ;
    chall.fresh["recall@75"] = improved(champ.fresh.at("recall@75"), 0.25, 0.5, 2);
    chall.fresh["precision@8"] = improved(champ.fresh.at("precision@8"), 0.125, 0.5, 3);
    chall.guard["ndcg@10"] = improved(champ.guard.at("ndcg@10"), -0.125, 0.4, 4);  // about -0.05
    auto d = aitl::gate(champ, chall);
    CHECK_FALSE(d.promote);
    CHECK(d.deciding_metric == "ndcg@10");
    CHECK(d.deciding_set == "guard");
    CHECK(d.guard_regressions == std::vector<std::string>{"ndcg@10"});
    CHECK(has(d.reason, "rejected: guard regression: ndcg@10 on guard fell"));
    CHECK(has(d.reason, "tolerance 0.010"));
    // a tolerance above the drop lets it through
    aitl::gate_config loose;
    loose.tolerances["ndcg@10"] = 0.2;
    d = aitl::gate(champ, chall, loose);
    CHECK(d.promote);
    CHECK(has(d.reason, "no guard regression beyond 0.20"));
    // a small drop within 0.01 is no regression
    chall.guard["ndcg@10"] = champ.guard.at("ndcg@10");
    chall.guard["ndcg@10"][0] = std::max(0.0, chall.guard["ndcg@10"][0] - 1.0);  // < 1/150 on the mean
    CHECK(aitl::gate(champ, chall).promote);
}

TEST_CASE("the gate rejects too few queries and no significant gain", "[gate]") {
    auto champ = make_scores(20, 150, 13);
    auto chall = champ;
    chall.fresh["recall@75"] = improved(champ.fresh.at("recall@75"), 0.5, 1.0, 2);
    chall.fresh["precision@8"] = improved(champ.fresh.at("precision@8"), 0.5, 1.0, 3);
    auto d = aitl::gate(champ, chall);
    CHECK_FALSE(d.promote);
    CHECK(d.reason == "rejected: too few fresh queries (got 20, expected at least 30)");
    champ = make_scores(100, 10, 13);
    chall = champ;
    d = aitl::gate(champ, chall);
    CHECK(d.reason == "rejected: too few guard queries (got 10, expected at least 30)");
    // no guard configured: guard data not needed
    aitl::gate_config no_guard;
    no_guard.guard.clear();
    champ.guard.clear();
    chall = champ;
    d = aitl::gate(champ, chall, no_guard);
    CHECK_FALSE(d.promote);
    CHECK(has(d.reason, "rejected: no significant gain on fresh (require all at alpha 0.050): recall@75 +0.000 (p=1.0)"));
    // only recall better: "any" promotes, "all" does not
    chall.fresh["recall@75"] = improved(champ.fresh.at("recall@75"), 0.25, 0.5, 2);
    d = aitl::gate(champ, chall, no_guard);
    CHECK_FALSE(d.promote);
    CHECK(d.deciding_metric == "precision@8");
    no_guard.require = "any";
    d = aitl::gate(champ, chall, no_guard);
    CHECK(d.promote);
    CHECK(has(d.reason, "no guard metric configured"));
}

TEST_CASE("the gate's config and input errors", "[gate]") {
    const auto champ = make_scores(50, 50, 1);
    auto bad = [&](auto edit) {
        aitl::gate_config c;
        edit(c);
        CHECK_THROWS_AS(aitl::gate(champ, champ, c), aitl::config_error);
        CHECK_THROWS_AS(nlohmann::json(c).get<aitl::gate_config>(), aitl::config_error);
    };
    bad([](auto& c) { c.primary.clear(); });
    bad([](auto& c) { c.primary = {"recall@75", "recall@75"}; });
    bad([](auto& c) { c.primary = {""}; });
    bad([](auto& c) { c.guard = {"ndcg@10", "ndcg@10"}; });
    bad([](auto& c) { c.require = "most"; });
    bad([](auto& c) { c.alpha = 0.0; });
    bad([](auto& c) { c.alpha = 0.6; });
    bad([](auto& c) { c.method = "t"; });
    bad([](auto& c) { c.rounds = 0; });
    bad([](auto& c) { c.tolerance = -0.1; });
    bad([](auto& c) { c.tolerance = NAN; });
    bad([](auto& c) { c.tolerances["map"] = 0.1; });
    bad([](auto& c) { c.tolerances["ndcg@10"] = -1; });
    bad([](auto& c) { c.min_queries = 0; });
    CHECK_THROWS_AS((nlohmann::json{{"alpha", "0.05"}}.get<aitl::gate_config>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"threshold", 1}}.get<aitl::gate_config>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json::array().get<aitl::gate_config>()), aitl::config_error);
    aitl::gate_config c;
    c.alpha = 0.01;
    c.tolerances["mrr@10"] = 0.02;
    c.seed = 9;
    const auto back = nlohmann::json(c).get<aitl::gate_config>();
    CHECK(nlohmann::json(back) == nlohmann::json(c));
    CHECK(back.tolerance_of("mrr@10") == 0.02);
    CHECK(back.tolerance_of("ndcg@10") == 0.01);
    // missing metric, length mismatch, NaN
    auto missing = champ;
    missing.fresh.erase("precision@8");
    CHECK_THROWS_AS(aitl::gate(champ, missing), aitl::config_error);
    auto missing_guard = champ;
    missing_guard.guard.erase("mrr@10");
    CHECK_THROWS_AS(aitl::gate(missing_guard, champ), aitl::config_error);
    auto shorter = champ;
    shorter.fresh["precision@8"].pop_back();
    CHECK_THROWS_AS(aitl::gate(champ, shorter), aitl::dimension_error);
    auto nan = champ;
    nan.guard["ndcg@10"][3] = NAN;
    CHECK_THROWS_AS(aitl::gate(champ, nan), aitl::dimension_error);
}

// ------------------------------------------------------------------------------------------
// scheduler
// ------------------------------------------------------------------------------------------

TEST_CASE("count triggers fire at their thresholds with the right retrain set", "[scheduler]") {
    aitl::scheduler_config cfg;
    cfg.min_counts = {{"knowledge_relevance", 10}, {"preference", 5}, {"adoption", 5}, {"missing_knowledge", 3}};
    cfg.cadence_ms = 0;
    const aitl::scheduler sched(cfg);
    aitl::scheduler_state st;
    for (int i = 0; i < 9; ++i) st.observe(relevance_ann(1, 1));
    auto d = sched.due(st, 2000);
    CHECK_FALSE(d.run);
    CHECK(d.retrain.empty());
    CHECK(any_has(d.reasons, "count: 9 new knowledge_relevance annotations since the last run (threshold 10)"));
    st.observe(relevance_ann(1, 1));
    d = sched.due(st, 2000);
    CHECK(d.run);
    CHECK(d.retrain == std::vector<std::string>{"encoder", "reranker"});
    REQUIRE(d.reasons.size() == 1);
    CHECK(d.reasons[0] ==
          "count: 10 new knowledge_relevance annotations since the last run (threshold 10) -> encoder, reranker");

    aitl::scheduler_state pref;
    for (int i = 0; i < 5; ++i) pref.observe(ann(aitl::preference{aitl::preference_choice::a, {}, ""}));
    d = sched.due(pref, 2000);
    CHECK(d.run);
    CHECK(d.retrain == std::vector<std::string>{"reward_model"});
    CHECK(has(d.reasons[0], "5 new preference annotations"));

    aitl::scheduler_state adopt;
    for (int i = 0; i < 5; ++i) adopt.observe(adoption_ann(true));
    CHECK(sched.due(adopt, 0).retrain == std::vector<std::string>{"reward_model"});

    aitl::scheduler_state gaps;
    for (int i = 0; i < 3; ++i) gaps.observe(ann(aitl::missing_knowledge{"refund policy for pets", ""}));
    d = sched.due(gaps, 0);
    CHECK(d.run);
    CHECK(d.retrain.empty());
    CHECK(has(d.reasons[0], "knowledge-gap report only"));

    // a run clears the counts
    st.record_run(3000);
    CHECK(st.count(aitl::annotation_kind::knowledge_relevance) == 0);
    CHECK(st.last_run_ms == 3000);
    CHECK_FALSE(sched.due(st, 4000).run);
    // a type absent from min_counts has no count trigger
    aitl::scheduler_config only_rel;
    only_rel.min_counts = {{"knowledge_relevance", 100}};
    only_rel.cadence_ms = 0;
    CHECK_FALSE(aitl::scheduler(only_rel).due(pref, 0).run);
}

TEST_CASE("the cadence trigger retrains everything once the period has passed", "[scheduler]") {
    aitl::scheduler_config cfg;
    cfg.min_counts.clear();
    cfg.cadence_ms = 3600 * 1000;
    const aitl::scheduler sched(cfg);
    aitl::scheduler_state st;
    CHECK_FALSE(sched.due(st, 10'000'000).run);  // nothing observed, never run
    st.observe(adoption_ann(true, 1'000'000));
    auto d = sched.due(st, 1'000'000 + 3500 * 1000);
    CHECK_FALSE(d.run);
    CHECK(any_has(d.reasons, "cadence: 58.3 min since the first annotation (cadence 1.0 h)"));
    d = sched.due(st, 1'000'000 + 3600 * 1000);
    CHECK(d.run);
    CHECK(d.retrain == std::vector<std::string>{"encoder", "reranker", "reward_model"});
    CHECK(d.reasons[0] == "cadence: 1.0 h since the first annotation (cadence 1.0 h) with 1 new annotations -> all models");
    st.record_run(5'000'000);
    d = sched.due(st, 5'000'000 + 7200 * 1000);  // period passed but nothing new
    CHECK_FALSE(d.run);
    CHECK(any_has(d.reasons, "but only 0 new annotations (expected at least 1)"));
    st.observe(adoption_ann(false, 5'000'001));
    d = sched.due(st, 5'000'000 + 7200 * 1000);
    CHECK(d.run);
    CHECK(has(d.reasons[0], "2.0 h since the last run"));
}

TEST_CASE("the drift trigger fires when adoption or relevance rates drop", "[scheduler]") {
    aitl::scheduler_config cfg;
    cfg.min_counts.clear();
    cfg.cadence_ms = 0;
    cfg.drift_min_window = 100;
    cfg.drift_threshold = 0.1;
    const aitl::scheduler sched(cfg);
    aitl::scheduler_state st;
    for (int i = 0; i < 100; ++i) st.observe(adoption_ann(i < 70));        // baseline 0.70
    for (int i = 0; i < 50; ++i) st.observe(relevance_ann(1, 1));          // 100 marks, 0.50
    auto d = sched.due(st, 0);
    CHECK_FALSE(d.run);  // no baseline yet
    CHECK(any_has(d.reasons, "drift: adoption rate windows too small (baseline 0, recent 100"));
    st.record_run(1);
    CHECK(st.baseline_adoption.n == 100);
    CHECK(st.baseline_adoption.rate() == Approx(0.7));
    CHECK(st.baseline_relevance.rate() == Approx(0.5));
    for (int i = 0; i < 100; ++i) st.observe(adoption_ann(i < 61));  // 0.61: drop 0.09
    for (int i = 0; i < 50; ++i) st.observe(relevance_ann(1, 1));
    d = sched.due(st, 2);
    CHECK_FALSE(d.run);
    CHECK(any_has(d.reasons, "drift: adoption rate 0.700 -> 0.610 (drop 0.090, threshold 0.100; baseline 100, recent 100 judgements)"));
    auto st2 = st;
    for (int i = 0; i < 10; ++i) st2.observe(adoption_ann(false));  // 61/110 = 0.555
    d = sched.due(st2, 2);
    CHECK(d.run);
    CHECK(d.retrain == std::vector<std::string>{"encoder", "reranker", "reward_model"});
    CHECK(d.reasons == std::vector<std::string>{
        "drift: adoption rate 0.700 -> 0.555 (drop 0.145, threshold 0.100; baseline 100, recent 110 judgements) -> all models"});
    for (int i = 0; i < 50; ++i) st.observe(relevance_ann(0, 2));  // relevance 50/200 = 0.25
    d = sched.due(st, 2);
    CHECK(d.run);
    REQUIRE(d.reasons.size() == 1);
    CHECK(any_has(d.reasons, "drift: relevance rate 0.500 -> 0.250 (drop 0.250"));
    // a run clears the recent window but keeps the baseline; re-baselining replaces it
    st.record_run(3);
    CHECK(st.baseline_relevance.rate() == Approx(0.5));
    CHECK(st.recent_relevance.n == 0);
    for (int i = 0; i < 100; ++i) st.observe(relevance_ann(0, 1));
    st.record_run(4, true);
    CHECK(st.baseline_relevance.n == 100);
    CHECK(st.baseline_relevance.rate() == 0.0);
}

TEST_CASE("scheduler config and state round-trip through JSON; errors name the field", "[scheduler]") {
    aitl::scheduler_state st;
    st.observe(adoption_ann(true, 7));
    st.observe(relevance_ann(2, 1, 5));
    st.observe(ann(aitl::preference{}, 9));
    st.record_run(10);
    st.observe(adoption_ann(false, 12));
    const nlohmann::json j = st;
    CHECK(j["counts"]["adoption"] == 1);
    CHECK(j["baseline"]["relevance"]["rate"].get<double>() == Approx(2.0 / 3));
    CHECK(j.get<aitl::scheduler_state>() == st);
    CHECK_THROWS_AS((nlohmann::json{{"counts", {{"likes", 1}}}}.get<aitl::scheduler_state>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"when", 1}}.get<aitl::scheduler_state>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"recent", {{"adoption", {{"n", 1}, {"positive", 2}}}}}}.get<aitl::scheduler_state>()),
                    aitl::config_error);

    aitl::scheduler_config cfg;
    cfg.min_counts = {{"adoption", 3}};
    cfg.cadence_ms = 5;
    const auto back = nlohmann::json(cfg).get<aitl::scheduler_config>();
    CHECK(nlohmann::json(back) == nlohmann::json(cfg));
    auto bad = [](auto edit) {
        aitl::scheduler_config c;
        edit(c);
        CHECK_THROWS_AS(aitl::scheduler(c), aitl::config_error);
        CHECK_THROWS_AS(nlohmann::json(c).get<aitl::scheduler_config>(), aitl::config_error);
    };
    bad([](auto& c) { c.min_counts["relevance"] = 5; });
    bad([](auto& c) { c.cadence_ms = -1; });
    bad([](auto& c) { c.drift_threshold = 0; });
    bad([](auto& c) { c.drift_threshold = 1.5; });
    CHECK_THROWS_AS((nlohmann::json{{"cadence", 5}}.get<aitl::scheduler_config>()), aitl::config_error);
    CHECK_THROWS_AS((nlohmann::json{{"min_counts", {{"adoption", "x"}}}}.get<aitl::scheduler_config>()),
                    aitl::config_error);
    try {
        aitl::scheduler_config c;
        c.min_counts["relevance"] = 5;
        aitl::scheduler s(c);
        FAIL("expected config_error");
    } catch (const aitl::config_error& e) {
        CHECK(has(e.what(), "scheduler: unknown annotation type in min_counts (got 'relevance'"));
    }
}
