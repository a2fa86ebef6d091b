// Tests of flywheel/gaps.hpp (knowledge-gap report) and detail/clustering.hpp: signals read from
// a store, clustering, ranking by frequency and recency, JSON and Markdown, error paths; a small
// real-data case on DSTC11 Track 5 questions. Also text/escape.hpp, which keeps the untrusted text
// of the Markdown reports (gap report, gate decision) inert.
#include <aitl/detail/clustering.hpp>
#include <aitl/error.hpp>
#include <aitl/flywheel/gaps.hpp>
#include <aitl/flywheel/gate.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>
#include <aitl/store/sqlite_store.hpp>
#include <aitl/text/escape.hpp>
#include <aitl/text/tokenizer.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "aitl_catch.hpp"

namespace fs = std::filesystem;

namespace {

struct gap_store {
    fs::path dir;
    aitl::sqlite_store store;
    static fs::path make_dir() {
        std::random_device rd;
        fs::path p = fs::temp_directory_path() /
                     ("aitl_test_gaps_" + std::to_string(::getpid()) + "_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(p);
        return p;
    }
    gap_store() : dir(make_dir()), store((dir / "s.db").string(), {aitl::durability::normal}) {}
    ~gap_store() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    int n = 0;
    // One impression showing d1, d2; returns its id.
    std::string serve(const std::string& case_id, const std::string& query, std::int64_t t) {
        aitl::impression imp;
        imp.id = "imp-" + std::to_string(n++);
        imp.case_id = case_id;
        imp.query = query;
        imp.timestamp_ms = t;
        imp.shown = {{"d1", 1, 2.0}, {"d2", 2, 1.0}};
        return store.append(imp);
    }
    void flag(const std::string& imp, const std::string& description, const std::string& source = "") {
        aitl::annotation a;
        a.impression_id = imp;
        a.annotator = "agent-1";
        a.body = aitl::missing_knowledge{description, source};
        store.append(a);
    }
    void relevance(const std::string& imp, bool d1, bool d2, std::vector<std::string> selected = {}) {
        aitl::annotation a;
        a.impression_id = imp;
        a.annotator = "agent-2";
        a.body = aitl::knowledge_relevance{{{"d1", d1}, {"d2", d2}}, std::move(selected)};
        store.append(a);
    }
};

const std::int64_t t0 = 1700000000000;
const std::int64_t day = 86400000;

// Two topics of flags (parking: 6, pets: 4, older) and unrelated noise.
void fill_topics(gap_store& s) {
    const char* parking[] = {"is there parking at the hotel", "can I park my car at the hotel",
                             "hotel parking garage price", "where do guests park their cars",
                             "is parking free for hotel guests", "parking spaces near the hotel"};
    const char* pets[] = {"can I bring my dog", "are dogs and cats allowed", "pet policy for dogs",
                          "is my cat welcome"};
    for (int i = 0; i < 4; ++i) {
        auto id = s.serve("pet-" + std::to_string(i), pets[i], t0 + i * 1000);
        s.flag(id, std::string("No article about pets: ") + pets[i], i % 2 ? "pet policy page" : "");
    }
    for (int i = 0; i < 6; ++i) {
        auto id = s.serve("park-" + std::to_string(i), parking[i], t0 + 10 * day + i * 1000);
        s.flag(id, std::string("No article about parking: ") + parking[i]);
        s.relevance(id, false, false);
    }
    auto lone = s.serve("lone", "what is the wifi password", t0 + 10 * day);
    s.relevance(lone, false, false);  // a no_relevant signal on its own
    auto fine = s.serve("fine", "breakfast hours", t0 + 10 * day);
    s.relevance(fine, true, false);  // not a gap
    auto found = s.serve("found", "late checkout", t0 + 10 * day);
    s.relevance(found, false, false, {"d9"});  // the agent found it by hand: not a gap
}

// A transparent encoder for the synthetic cases: one dimension per keyword (its count in the text).
struct keyword_encoder {
    std::vector<std::string> words{"park", "pet", "dog", "cat", "wifi", "car"};
    std::size_t dim() const { return words.size(); }
    aitl::row_matrix encode(const std::vector<std::string>& texts) const {
        aitl::row_matrix out = aitl::row_matrix::Zero(static_cast<Eigen::Index>(texts.size()), static_cast<Eigen::Index>(dim()));
        for (std::size_t i = 0; i < texts.size(); ++i)
            for (std::size_t w = 0; w < words.size(); ++w)
                for (std::size_t at = texts[i].find(words[w]); at != std::string::npos; at = texts[i].find(words[w], at + 1))
                    out(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(w)) += 1.0f;
        return out;
    }
};

// Whether `needle` occurs in `md` not preceded by a backslash escape (an odd run of backslashes).
bool has_unescaped(const std::string& md, const std::string& needle) {
    for (std::size_t at = md.find(needle); at != std::string::npos; at = md.find(needle, at + 1)) {
        std::size_t slashes = 0;
        while (slashes < at && md[at - 1 - slashes] == '\\') ++slashes;
        if (slashes % 2 == 0) return true;
    }
    return false;
}

std::size_t count_unescaped(const std::string& line, char c) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\\') {
            ++i;  // skip the escaped character
        } else if (line[i] == c) {
            ++n;
        }
    }
    return n;
}

std::vector<std::string> lines_of(const std::string& md) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t nl = md.find('\n'); nl != std::string::npos; nl = md.find('\n', start)) {
        out.push_back(md.substr(start, nl - start));
        start = nl + 1;
    }
    if (start < md.size()) out.push_back(md.substr(start));
    return out;
}

// Untrusted text that tries to become HTML, a link, an image, a heading, a code span, a table
// cell break, a thematic break, a comment, an entity or an autolink; one has invalid UTF-8.
const std::vector<std::string> payloads = {
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<iframe src=//evil>", "[click](javascript:alert(1))",
    "<javascript:alert(1)>", "![t](http://evil.example/b.png)", "\n# injected heading", "`` `code` ``", "a|b", "***",
    "<!-- -->", "&lt;script&gt;", "https://evil.example", "bad \xff\xfe bytes \xc3", "www.evil.example",
    "user@evil.example", "1. item\r\n- item\n> quote\n---", "a\\", "~~gone~~ $x$ {: onclick=alert(1)}"};

// The Markdown can hold none of the constructs above, whatever renders it (`brackets`: the
// template itself writes [low, high] intervals, which are no link without a destination).
void check_inert(const std::string& md, bool brackets = false) {
    CHECK(aitl::is_valid_utf8(md));
    CHECK(md.find('<') == std::string::npos);
    CHECK(md.find('>') == std::string::npos);
    CHECK(md.find('\r') == std::string::npos);
    CHECK(md.find('\t') == std::string::npos);
    CHECK(md.find("![") == std::string::npos);
    for (const char* s : {"](", "]:", "`", "*", "~", "$", "{", "javascript:", "http:", "https:", "www.", "@evil"})
        CHECK_FALSE(has_unescaped(md, s));
    if (!brackets) CHECK_FALSE(has_unescaped(md, "["));
}

std::set<std::string> prefixes(const aitl::gap_cluster& c) {
    std::set<std::string> out;
    for (const auto& id : c.case_ids) out.insert(id.substr(0, id.find('-')));
    return out;
}

}  // namespace

TEST_CASE("clustering groups near-identical vectors and merges by average link", "[gaps]") {
    aitl::row_matrix x(6, 3);
    x << 1, 0, 0, 0.99f, 0.1f, 0, 0, 1, 0, 0.05f, 1, 0, 0, 0, 1, 0.7f, 0.7f, 0;
    aitl::detail::normalize_rows(x);
    auto c = aitl::detail::cluster_leader_average_link(x, 0.95, 0.9);
    REQUIRE(c.size() == 4);
    CHECK(c[0] == std::vector<std::size_t>{0, 1});
    CHECK(c[1] == std::vector<std::size_t>{2, 3});
    CHECK(c[2] == std::vector<std::size_t>{4});
    CHECK(c[3] == std::vector<std::size_t>{5});
    // 0.5: the diagonal joins the x group (mean link 0.74), the y group stays apart (0.29)
    auto half = aitl::detail::cluster_leader_average_link(x, 0.95, 0.5);
    REQUIRE(half.size() == 3);
    CHECK(half[0] == std::vector<std::size_t>{0, 1, 5});
    CHECK(half[1] == std::vector<std::size_t>{2, 3});
    // 0.25 joins the y group too; z (mean link 0) stays alone
    auto merged = aitl::detail::cluster_leader_average_link(x, 0.95, 0.25);
    REQUIRE(merged.size() == 2);
    CHECK(merged[0] == std::vector<std::size_t>{0, 1, 2, 3, 5});
    CHECK(merged[1] == std::vector<std::size_t>{4});
    // threshold -1 merges everything; empty input gives nothing
    CHECK(aitl::detail::cluster_leader_average_link(x, 1.0, -1.0).size() == 1);
    CHECK(aitl::detail::cluster_leader_average_link(aitl::row_matrix(0, 3), 0.5, 0.5).empty());
}

TEST_CASE("gap signals are flags and impressions where nothing relevant was shown or selected", "[gaps]") {
    gap_store s;
    fill_topics(s);
    std::int64_t watermark = -1;
    auto sig = aitl::collect_gap_signals(s.store, 0, true, &watermark);
    REQUIRE(sig.size() == 11);  // 4 + 6 flags, 1 lone no_relevant
    CHECK(watermark == s.store.stats().annotation_watermark);
    std::size_t flags = 0;
    for (const auto& g : sig) flags += g.kind == aitl::gap_signal_kind::missing_knowledge;
    CHECK(flags == 10);
    CHECK(sig[0].case_id == "pet-0");
    CHECK(sig[0].descriptions == std::vector<std::string>{"No article about pets: can I bring my dog"});
    CHECK(sig[1].suggested_sources == std::vector<std::string>{"pet policy page"});
    CHECK(sig[0].text() == "can I bring my dog\nNo article about pets: can I bring my dog");
    CHECK(sig.back().case_id == "lone");
    CHECK(sig.back().kind == aitl::gap_signal_kind::no_relevant);
    CHECK(sig.back().text() == "what is the wifi password");
    CHECK(aitl::collect_gap_signals(s.store, 0, false).size() == 10);
    // since: only annotations after the watermark count
    const std::int64_t mid = sig[3].seq;
    auto later = aitl::collect_gap_signals(s.store, mid);
    CHECK(later.size() == 7);
    CHECK(later.front().case_id == "park-0");
    CHECK(aitl::collect_gap_signals(s.store, watermark).empty());
    CHECK_THROWS_AS(aitl::collect_gap_signals(s.store, -1), aitl::config_error);
}

TEST_CASE("the report ranks topics by frequency and recency and is deterministic", "[gaps]") {
    gap_store s;
    fill_topics(s);
    keyword_encoder enc;
    aitl::gap_report_config cfg;
    auto rep = aitl::make_gap_report(s.store, enc, cfg, "keywords");
    CHECK(rep.signals == 11);
    CHECK(rep.missing_knowledge_signals == 10);
    CHECK(rep.no_relevant_signals == 1);
    CHECK(rep.encoder == "keywords");
    CHECK(rep.dim == 6);
    CHECK(rep.now_ms == t0 + 10 * day + 5000);
    REQUIRE(rep.clusters.size() >= 2);
    const auto& top = rep.clusters[0];
    CHECK(prefixes(top) == std::set<std::string>{"park"});
    CHECK(top.size == 6);
    CHECK(top.rank == 1);
    CHECK(top.distinct_cases == 6);
    CHECK(top.missing_knowledge == 6);
    CHECK(top.share == Approx(6.0 / 11));
    CHECK(top.first_seen_ms == t0 + 10 * day);
    CHECK(top.last_seen_ms == t0 + 10 * day + 5000);
    CHECK(top.representatives.size() == 3);
    CHECK(top.representatives[0].similarity >= top.representatives[2].similarity);
    CHECK(top.top_terms.size() <= 8);
    REQUIRE(top.top_terms.size() >= 3);
    CHECK((top.top_terms[0].term == "parking" || top.top_terms[1].term == "parking" || top.top_terms[2].term == "parking"));
    CHECK(prefixes(rep.clusters[1]) == std::set<std::string>{"pet"});
    CHECK(rep.clusters[1].suggested_sources.size() == 1);
    CHECK(rep.clusters[1].suggested_sources[0].value == "pet policy page");
    CHECK(rep.clusters[1].suggested_sources[0].count == 2);
    // pets are 10 days older: at a 7-day half-life 4 flags weigh 4 * 0.5^(10/7) ~ 1.49
    CHECK(rep.clusters[1].score == Approx(4 * std::exp2(-(10.0 * day + 5000 - 1500) / (7.0 * day))).epsilon(0.01));
    CHECK(top.score == Approx(6.0).epsilon(0.001));

    // recency flips the order when the older topic is larger: pets get 8 more old flags
    {
        gap_store s2;
        fill_topics(s2);
        for (int i = 0; i < 8; ++i) {
            auto id = s2.serve("pet-x" + std::to_string(i), "are pets like dogs allowed " + std::to_string(i), t0);
            s2.flag(id, "No article about pets: dogs and cats");
        }
        auto slow = cfg;
        slow.half_life_days = 1000;  // ~ plain counts: pets (12) first
        auto a = aitl::make_gap_report(s2.store, enc, slow);
        REQUIRE(!a.clusters.empty());
        CHECK(prefixes(a.clusters[0]) == std::set<std::string>{"pet"});
        auto fast = cfg;
        fast.half_life_days = 1;  // recent parking first
        auto b = aitl::make_gap_report(s2.store, enc, fast);
        CHECK(prefixes(b.clusters[0]) == std::set<std::string>{"park"});
    }

    // determinism: the same report twice (JSON equal)
    CHECK(nlohmann::json(aitl::make_gap_report(s.store, enc, cfg, "keywords")) == nlohmann::json(rep));
    aitl::hashed_encoder hashed;
    CHECK(nlohmann::json(aitl::make_gap_report(s.store, hashed, cfg)) ==
          nlohmann::json(aitl::make_gap_report(s.store, hashed, cfg)));

    // min size and max clusters; members off
    auto c2 = cfg;
    c2.min_cluster_size = 5;
    c2.include_members = false;
    auto big = aitl::make_gap_report(s.store, enc, c2);
    REQUIRE(big.clusters.size() == 1);
    CHECK(big.clusters_found == 1);
    CHECK(big.clustered_signals == 6);
    CHECK(big.clusters[0].impression_ids.empty());
    CHECK(big.clusters[0].case_ids.empty());
    c2.min_cluster_size = 1;
    c2.max_clusters = 1;
    auto one = aitl::make_gap_report(s.store, enc, c2);
    CHECK(one.clusters.size() == 1);
    CHECK(one.clusters_found >= 3);
    // nothing after the watermark: an empty report that keeps the watermark
    auto c3 = cfg;
    c3.since = rep.watermark;
    auto none = aitl::make_gap_report(s.store, enc, c3);
    CHECK(none.signals == 0);
    CHECK(none.clusters.empty());
    CHECK(none.watermark == rep.watermark);
    CHECK(aitl::to_markdown(none).find("No clusters.") != std::string::npos);
}

TEST_CASE("gap report JSON round-trips and Markdown has the summary, table and sections", "[gaps]") {
    gap_store s;
    fill_topics(s);
    auto rep = aitl::make_gap_report(s.store, keyword_encoder{}, {}, "keywords");
    nlohmann::json j = rep;
    for (const char* k : {"config", "encoder", "dim", "signals", "missing_knowledge_signals", "no_relevant_signals",
                          "clusters_found", "clustered_signals", "watermark", "now_ms", "clusters"})
        CHECK(j.contains(k));
    const auto& c = j["clusters"][0];
    for (const char* k : {"rank", "score", "size", "share", "distinct_cases", "missing_knowledge", "no_relevant",
                          "first_seen_ms", "last_seen_ms", "cohesion", "top_terms", "representatives", "selected_docs",
                          "suggested_sources", "impression_ids", "case_ids"})
        CHECK(c.contains(k));
    CHECK(c["representatives"][0].contains("query"));
    CHECK(c["representatives"][0]["kind"] == "missing_knowledge");
    aitl::gap_report back = j.get<aitl::gap_report>();
    CHECK(nlohmann::json(back) == j);
    CHECK(aitl::to_markdown(back) == aitl::to_markdown(rep));

    const std::string md = aitl::to_markdown(rep);
    CHECK(md.rfind("# Knowledge-gap report\n", 0) == 0);
    CHECK(md.find("11 gap signals (10 missing-knowledge flags, 1 impressions with nothing relevant shown)") !=
          std::string::npos);
    CHECK(md.find("| # | score | signals |") != std::string::npos);
    const auto h1 = md.find("\n## 1. ");
    REQUIRE(h1 != std::string::npos);
    CHECK(md.substr(h1, md.find('\n', h1 + 1) - h1).find("parking") != std::string::npos);
    CHECK(md.find("2023-11-24") != std::string::npos);  // t0 + 10 days, UTC
    CHECK(md.find("- suggested sources: pet policy page (2)") != std::string::npos);
    CHECK(md.find("    - flag: No article about parking:") != std::string::npos);

    aitl::gap_report_config cj = nlohmann::json{{"since", 3}, {"max_clusters", 0}, {"half_life_days", 2.5}}
                                     .get<aitl::gap_report_config>();
    CHECK(cj.since == 3);
    CHECK(cj.max_clusters == 0);
    CHECK(nlohmann::json(cj).get<aitl::gap_report_config>().half_life_days == 2.5);
}

TEST_CASE("gap report settings and inputs are validated", "[gaps]") {
    auto bad = [](auto change) {
        aitl::gap_report_config c;
        change(c);
        return c;
    };
    CHECK_THROWS_AS(bad([](auto& c) { c.since = -1; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& c) { c.min_cluster_size = 0; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& c) { c.similarity_threshold = 1.5; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& c) { c.leader_threshold = std::nan(""); }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& c) { c.half_life_days = 0; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& c) { c.now_ms = -5; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& c) { c.no_relevant_weight = 2; }).validate(), aitl::config_error);
    CHECK_THROWS_AS(bad([](auto& c) { c.batch_size = 0; }).validate(), aitl::config_error);
    try {
        bad([](auto& c) { c.half_life_days = -2; }).validate();
        FAIL("expected config_error");
    } catch (const aitl::config_error& e) {
        CHECK(std::string(e.what()) ==
              "gap_report_config::validate: half_life_days out of range (got -2.000000, expected a finite value > 0)");
    }
    CHECK_THROWS_AS(nlohmann::json({{"treshold", 0.5}}).get<aitl::gap_report_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"since", "x"}}).get<aitl::gap_report_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"max_clusters", -1}}).get<aitl::gap_report_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json::array().get<aitl::gap_report_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"clusters", 3}}).get<aitl::gap_report>(), aitl::parse_error);

    std::vector<aitl::gap_signal> sig(2);
    sig[0].query = "a";
    sig[1].query = "b";
    CHECK_THROWS_AS(aitl::build_gap_report(sig, aitl::row_matrix(3, 4)), aitl::dimension_error);
    aitl::row_matrix nan = aitl::row_matrix::Ones(2, 4);
    nan(1, 2) = std::nanf("");
    CHECK_THROWS_AS(aitl::build_gap_report(sig, nan), aitl::dimension_error);
    aitl::gap_report_config c;
    c.min_cluster_size = 0;
    CHECK_THROWS_AS(aitl::build_gap_report(sig, aitl::row_matrix::Ones(2, 4), c), aitl::config_error);
    // two identical vectors: one cluster of two (centring leaves zero rows alone)
    aitl::gap_report_config plain;
    plain.center = false;
    auto r = aitl::build_gap_report(sig, aitl::row_matrix::Ones(2, 4), plain, "ones");
    REQUIRE(r.clusters.size() == 1);
    CHECK(r.clusters[0].size == 2);
    CHECK(r.clusters[0].cohesion == Approx(1.0));
}

TEST_CASE("gap report on DSTC11 questions: withheld hotels become the top clusters", "[gaps]") {
    // Real questions of the DSTC11 Track 5 validation split: those about three withheld hotels
    // are flagged (the description names the hotel, as the simulated agents do), those about
    // every other entity add "nothing relevant" noise (one in four).
    const fs::path root = fs::path(AITL_DATA_DIR) / "dstc11-track5";
    nlohmann::json knowledge = nlohmann::json::parse(std::ifstream(root / "knowledge.json"));
    nlohmann::json logs = nlohmann::json::parse(std::ifstream(root / "val" / "logs.json"));
    nlohmann::json labels = nlohmann::json::parse(std::ifstream(root / "val" / "labels.json"));
    const std::set<std::string> withheld{"hotel:2", "hotel:3", "hotel:7"};
    gap_store s;
    std::vector<aitl::impression> imps;
    std::vector<aitl::annotation> anns;
    std::map<std::string, std::string> entity_of;  // case id -> withheld entity
    std::size_t noise = 0;
    for (std::size_t i = 0; i < logs.size(); ++i) {
        if (!labels[i]["target"].get<bool>() || labels[i]["knowledge"].empty()) continue;
        const auto& k = labels[i]["knowledge"][0];
        const std::string domain = k["domain"].get<std::string>();
        const std::string entity = domain + ":" + std::to_string(k["entity_id"].get<int>());
        const std::string question = logs[i].back()["text"].get<std::string>();
        aitl::impression imp;
        imp.id = "imp-" + std::to_string(i);
        imp.case_id = "val-" + std::to_string(i);
        imp.query = question;
        imp.timestamp_ms = t0 + static_cast<std::int64_t>(i) * 60000;
        imp.shown = {{"d1", 1, 1.0}};
        aitl::annotation a;
        a.impression_id = imp.id;
        a.annotator = "agent-1";
        if (withheld.count(entity)) {
            const std::string name = knowledge[domain][std::to_string(k["entity_id"].get<int>())]["name"];
            a.body = aitl::missing_knowledge{"No article covers: " + question + " (about " + name + ")", ""};
            entity_of[imp.case_id] = entity;
        } else if (i % 4 == 0) {
            a.body = aitl::knowledge_relevance{{{"d1", false}}, {}};
            ++noise;
        } else {
            continue;
        }
        imps.push_back(imp);
        anns.push_back(a);
    }
    s.store.append(imps, anns);
    REQUIRE(entity_of.size() > 250);
    REQUIRE(noise > 300);
    aitl::gap_report_config cfg;
    auto rep = aitl::make_gap_report(s.store, aitl::hashed_encoder{}, cfg, "hashed");
    REQUIRE(rep.clusters.size() == 10);
    std::size_t covered = 0, flag_members = 0, flag_majority = 0;
    std::set<std::string> top_entities;
    for (const auto& c : rep.clusters) {
        std::map<std::string, std::size_t> votes;
        for (const auto& id : c.case_ids)
            if (entity_of.count(id)) ++votes[entity_of[id]], ++covered;
        if (2 * c.missing_knowledge > c.size) {  // a cluster of flags: mostly one hotel
            REQUIRE(!votes.empty());
            auto best = std::max_element(votes.begin(), votes.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
            if (c.rank <= 2) CHECK(static_cast<double>(best->second) / static_cast<double>(c.size) >= 0.8);  // purity
            flag_members += c.size;
            flag_majority += best->second;
            top_entities.insert(best->first);
        }
    }
    CHECK(static_cast<double>(covered) / static_cast<double>(entity_of.size()) >= 0.7);
    CHECK(top_entities == withheld);
    CHECK(static_cast<double>(flag_majority) / static_cast<double>(flag_members) >= 0.8);  // weighted purity
    CHECK(2 * rep.clusters[0].missing_knowledge > rep.clusters[0].size);
}

TEST_CASE("escape_markdown makes untrusted text inert inline Markdown", "[escape]") {
    using aitl::escape_markdown;
    CHECK(escape_markdown("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;");
    CHECK(escape_markdown("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;");
    CHECK(escape_markdown("<iframe src=//evil>") == "&lt;iframe src=//evil&gt;");
    CHECK(escape_markdown("[click](javascript:alert(1))") == "\\[click\\](javascript\\:alert(1))");
    CHECK(escape_markdown("<javascript:alert(1)>") == "&lt;javascript\\:alert(1)&gt;");
    CHECK(escape_markdown("![t](http://evil.example/b.png)") == "!\\[t\\](http\\://evil\\.example/b\\.png)");
    CHECK(escape_markdown("\n# injected heading") == "\\# injected heading");
    CHECK(escape_markdown("x\r\n# injected heading") == "x  \\# injected heading");
    CHECK(escape_markdown("`` `code` ``") == "\\`\\` \\`code\\` \\`\\`");
    CHECK(escape_markdown("a|b") == "a\\|b");
    CHECK(escape_markdown("***") == "\\*\\*\\*");
    CHECK(escape_markdown("<!-- -->") == "&lt;!-- --&gt;");
    CHECK(escape_markdown("&lt;script&gt;") == "&amp;lt;script&amp;gt;");
    CHECK(escape_markdown("https://evil.example") == "https\\://evil\\.example");
    CHECK(escape_markdown("www.evil.example/x www.&") == "www\\.evil\\.example/x www\\.&amp;");
    CHECK(escape_markdown("user@evil.example") == "user\\@evil\\.example");
    CHECK(escape_markdown("bad \xff\xfe bytes \xc3") == "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes \xEF\xBF\xBD");
    CHECK(escape_markdown(std::string("nul\0esc\x1b[0m\x7f", 12)) == "nul esc \\[0m");
    CHECK(escape_markdown("line\xE2\x80\xA8sep\xC2\x85nel") == "line sep nel");
    CHECK(escape_markdown("a\\") == "a\\\\");  // a trailing backslash cannot escape what follows
    CHECK(escape_markdown("~~gone~~ $x$ {: onclick}") == "\\~\\~gone\\~\\~ \\$x\\$ \\{: onclick\\}");
    // block starts only at the start of the text (leading spaces dropped)
    CHECK(escape_markdown("   - item") == "\\- item");
    CHECK(escape_markdown("+ x") == "\\+ x");
    CHECK(escape_markdown("===") == "\\===");
    CHECK(escape_markdown("---") == "\\---");
    CHECK(escape_markdown("1. item") == "1\\. item");
    CHECK(escape_markdown("12) item") == "12\\) item");
    CHECK(escape_markdown("> quote") == "&gt; quote");
    CHECK(escape_markdown(": def") == "\\: def");
    // ordinary text stays readable: numbers, times, metric names, sentences, quotes, non-ASCII
    for (const char* same : {"recall@75", "ndcg@10", "4.5 stars", "1,000 (approx.)", "10:30", "note: it's \"fine\"",
                             "a - b + c = d", "this... and that!", "Zürich 東京 🙂", "x/y, 50% off?"})
        CHECK(escape_markdown(same) == same);
    CHECK(escape_markdown("e.g. this") == "e\\.g. this");  // "e.g" could be a host name
    CHECK(escape_markdown("e.g.x") == "e\\.g\\.x");
    CHECK(escape_markdown("") == "");
    CHECK(escape_markdown(" \n\t ") == "");
    for (const auto& p : payloads) {
        INFO(p);
        const std::string e = escape_markdown(p);
        check_inert(e);
        CHECK(e.find('\n') == std::string::npos);
        CHECK(count_unescaped(e, '|') == 0);
        CHECK(escape_markdown(e).find('<') == std::string::npos);  // escaping twice stays inert
    }
}

TEST_CASE("escape_html escapes the five HTML characters and repairs UTF-8", "[escape]") {
    using aitl::escape_html;
    CHECK(escape_html("<img src=x onerror='alert(1)'>") == "&lt;img src=x onerror=&#39;alert(1)&#39;&gt;");
    CHECK(escape_html("a & \"b\"\nc\td") == "a &amp; &quot;b&quot;\nc\td");
    CHECK(escape_html("&lt;") == "&amp;lt;");
    CHECK(escape_html(std::string("x\0y\x1b\xc2\x9fz\xff", 8)) == "x y  z\xEF\xBF\xBD");
    CHECK(escape_html("[x](javascript:y) # h") == "[x](javascript:y) # h");  // Markdown is not HTML's business
}

TEST_CASE("the gap report's Markdown keeps customer and agent text inert", "[gaps][escape]") {
    gap_store s;
    // every text of a cluster is a payload: case and impression ids, queries, flags, sources, documents
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        aitl::impression imp;
        imp.id = "imp-" + std::to_string(i) + "|" + payloads[(i + 3) % payloads.size()];
        imp.case_id = "case-" + std::to_string(i) + payloads[(i + 1) % payloads.size()];
        imp.query = "park " + payloads[i];
        imp.timestamp_ms = t0 + static_cast<std::int64_t>(i) * 1000;
        imp.shown = {{"d1", 1, 2.0}, {"d2", 2, 1.0}};
        const std::string id = s.store.append(imp);
        s.flag(id, payloads[(i + 2) % payloads.size()], payloads[(i + 5) % payloads.size()]);
        s.relevance(id, false, false, {payloads[(i + 7) % payloads.size()]});
    }
    aitl::gap_report_config cfg;
    cfg.representatives = payloads.size();
    cfg.center = false;  // the keyword vectors are all alike: one cluster
    auto rep = aitl::make_gap_report(s.store, keyword_encoder{}, cfg, "keywords <b>|\n# x");
    REQUIRE(rep.clusters.size() == 1);
    REQUIRE(rep.clusters[0].representatives.size() == payloads.size());
    for (std::size_t i = 0; i < payloads.size() && i < rep.clusters[0].top_terms.size(); ++i)
        rep.clusters[0].top_terms[i].term = payloads[i];  // terms are analyzer tokens; test the escaping anyway
    const std::string md = aitl::to_markdown(rep);
    INFO(md);
    check_inert(md);
    std::size_t headings = 0, rows = 0;
    for (const auto& line : lines_of(md)) {
        if (!line.empty() && line[0] == '#') {
            ++headings;
            CHECK((line == "# Knowledge-gap report" || line.rfind("## 1. ", 0) == 0));
        }
        if (line.rfind("| ", 0) == 0 || line.rfind("|---", 0) == 0) {
            ++rows;
            CHECK(count_unescaped(line, '|') == 10);  // 9 columns, no cell broken by the data
        }
        if (line.rfind("  - case ", 0) == 0) CHECK(line.find(", missing_knowledge): park ") != std::string::npos);
    }
    CHECK(headings == 2);
    CHECK(rows == 3);
    CHECK(md.find("encoder keywords &lt;b&gt;\\| / \\# x (6 dims)") != std::string::npos);
    CHECK(md.find("  - case case-0&lt;img src=x onerror=alert(1)&gt; (imp-0\\|\\[click\\](javascript\\:alert(1)), missing_knowledge): "
                  "park &lt;script&gt;alert(1)&lt;/script&gt;\n") != std::string::npos);
    CHECK(md.find("    - flag: \\[click\\](javascript\\:alert(1))\n") != std::string::npos);
    CHECK(md.find("  - case case-5 / \\# injected heading (") != std::string::npos);
    CHECK(md.find("- suggested sources: ") != std::string::npos);
    CHECK(md.find("- documents agents selected by hand: ") != std::string::npos);
    // a long query is cut at a UTF-8 boundary, then escaped, and marked with an ellipsis
    CHECK(aitl::detail::gap_inline(std::string(300, '<'), 10) == "&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;\xE2\x80\xA6");
    CHECK(aitl::detail::gap_inline("www" + std::string(20, 'x'), 3) == "www\xE2\x80\xA6");
    CHECK(aitl::detail::gap_inline("\xC3\xA9\xC3\xA9", 3) == "\xC3\xA9\xE2\x80\xA6");
}

TEST_CASE("the gate decision's Markdown escapes the reason and metric names", "[gate][escape]") {
    aitl::gate_decision d;
    d.promote = false;
    d.reason = "rejected: <script>alert(1)</script>\n# injected | [x](javascript:y)";
    aitl::gate_check c;
    c.metric = "recall@75|<img src=x onerror=alert(1)>";
    c.set = "fresh";
    c.result.n = 3;
    d.fresh.push_back(c);
    c.metric = "ndcg@10";
    c.set = "guard";
    d.guard.push_back(c);
    const std::string md = d.to_markdown();
    INFO(md);
    check_inert(md.substr(std::string("**rejected**").size()), true);
    CHECK(md.rfind("**rejected**: &lt;script&gt;alert(1)&lt;/script&gt; \\# injected \\| \\[x\\](javascript\\:y)\n\n", 0) == 0);
    CHECK(md.find("| fresh | recall@75\\|&lt;img src=x onerror=alert(1)&gt; | 3 |") != std::string::npos);
    CHECK(md.find("| guard | ndcg@10 | 3 |") != std::string::npos);
    for (const auto& line : lines_of(md))
        if (line.rfind("|", 0) == 0) CHECK(count_unescaped(line, '|') == 10);
}
