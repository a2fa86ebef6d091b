// Tests of text/ (tokenizer, stop words, stemmer, analyzer, n-grams), kb/ (knowledge_base and
// its loaders), retrieval/bm25.hpp and retrieval/hashed_encoder.hpp.
#include <aitl/concepts.hpp>
#include <aitl/error.hpp>
#include <aitl/kb/knowledge_base.hpp>
#include <aitl/kb/queries.hpp>
#include <aitl/retrieval/bm25.hpp>
#include <aitl/retrieval/hashed_encoder.hpp>
#include <aitl/text/analyzer.hpp>
#include <aitl/text/ngram.hpp>
#include <aitl/text/stemmer.hpp>
#include <aitl/text/stopwords.hpp>
#include <aitl/text/tokenizer.hpp>
#include <aitl/types.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "aitl_catch.hpp"

namespace fs = std::filesystem;
using strings = std::vector<std::string>;

namespace {

// A fresh temporary folder, removed at scope exit.
struct temp_dir {
    fs::path path;
    temp_dir() {
        static std::atomic<int> counter{0};
        path = fs::temp_directory_path() / ("aitl_test_a_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name, const std::string& content) const {
        std::ofstream(path / name, std::ios::binary) << content;
        return (path / name).string();
    }
};

std::vector<std::string> ids_of(const aitl::hits& h) {
    std::vector<std::string> out;
    for (const auto& x : h) out.push_back(x.id);
    return out;
}

// Xapian's BM25Weight (k2 = 0, min_normlen = 0.5) for one term, in double precision.
double xapian_term(double n_docs, double df, double tf, double len, double avg, double k1, double b) {
    double r = (n_docs - df + 0.5) / (df + 0.5);
    if (r < 2) r = r * 0.5 + 1;
    const double norm = std::max(len / avg, 0.5);
    return std::log(r) * (k1 + 1) * tf / (tf + k1 * ((1 - b) + b * norm));
}

// A seeded random corpus over a Zipf-like vocabulary of letter words.
std::vector<aitl::document> random_corpus(std::size_t n, unsigned seed, std::size_t vocab = 400) {
    std::mt19937 gen(seed);
    std::vector<std::string> words;
    for (std::size_t i = 0; i < vocab; ++i) {
        std::string w;
        for (std::size_t x = i + 26 * 26; x; x /= 26) w.push_back(static_cast<char>('a' + x % 26));
        if (!aitl::is_english_stopword(w)) words.push_back(w);
    }
    std::vector<double> weights;
    for (std::size_t i = 0; i < words.size(); ++i) weights.push_back(1.0 / (1.0 + static_cast<double>(i)));
    std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
    std::uniform_int_distribution<int> len(3, 30);
    std::vector<aitl::document> docs;
    for (std::size_t d = 0; d < n; ++d) {
        std::string text;
        for (int i = len(gen); i > 0; --i) text += words[pick(gen)] + " ";
        docs.push_back({"d" + std::to_string(d), "", text, nlohmann::json::object(), 1});
    }
    return docs;
}

}  // namespace

// ======================================================================================
// text
// ======================================================================================

TEST_CASE("tokenize splits on punctuation and keeps word-internal apostrophes and decimals", "[text]") {
    CHECK(aitl::tokenize("Hello, world! It's 4.5 stars; 1,000 guests") ==
          strings{"Hello", "world", "It's", "4.5", "stars", "1,000", "guests"});
    CHECK(aitl::tokenize("Wi-Fi e-mail x_y a/b") == strings{"Wi", "Fi", "e", "mail", "x", "y", "a", "b"});
    CHECK(aitl::tokenize("'quoted' end. 4. .5 a'") == strings{"quoted", "end", "4", "5", "a"});
    CHECK(aitl::tokenize("don\xE2\x80\x99t") == strings{"don\xE2\x80\x99t"});  // U+2019 apostrophe
    CHECK(aitl::tokenize("").empty());
    CHECK(aitl::tokenize(" \t\n!?").empty());
}

TEST_CASE("tokenize keeps accented, CJK and Cyrillic words whole and drops emoji", "[text]") {
    CHECK(aitl::tokenize("Café naïve Ærøskøbing") == strings{"Café", "naïve", "Ærøskøbing"});
    CHECK(aitl::tokenize("東京タワー、大阪。") == strings{"東京タワー", "大阪"});
    CHECK(aitl::tokenize("Привет, мир") == strings{"Привет", "мир"});
    CHECK(aitl::tokenize("ok😀go 👍🏽 fine") == strings{"ok", "go", "fine"});
    CHECK(aitl::tokenize("price€5 «quote» a—b") == strings{"price", "5", "quote", "a", "b"});
    CHECK(aitl::tokenize("cafe\xCC\x81") == strings{"cafe\xCC\x81"});  // combining acute stays
}

TEST_CASE("tokenize treats invalid UTF-8 as separators and never splits a sequence", "[text]") {
    CHECK(aitl::tokenize("caf\xC3") == strings{"caf"});              // truncated 2-byte sequence
    CHECK(aitl::tokenize("a\xFF" "b") == strings{"a", "b"});         // invalid byte
    CHECK(aitl::tokenize("x\xC0\xAFy") == strings{"x", "y"});        // overlong '/'
    CHECK(aitl::tokenize("p\xED\xA0\x80q") == strings{"p", "q"});    // UTF-16 surrogate
    CHECK(aitl::tokenize("\x80\x80word") == strings{"word"});        // stray continuations
    CHECK(aitl::tokenize("\xE6\x9D\xB1\xE4") == strings{"東"});      // CJK then a truncated one
    CHECK(aitl::is_valid_utf8("Café 東京 😀"));
    CHECK_FALSE(aitl::is_valid_utf8("caf\xC3"));

    std::mt19937 gen(7);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 300; ++round) {
        std::string s;
        for (int i = 0; i < 64; ++i) s.push_back(static_cast<char>(byte(gen)));
        std::size_t from = 0;
        aitl::for_each_token(s, [&](std::string_view t) {
            REQUIRE_FALSE(t.empty());
            REQUIRE(aitl::is_valid_utf8(t));                       // whole sequences only
            REQUIRE(t.data() >= s.data() + from);                  // in order, no overlap
            from = static_cast<std::size_t>(t.data() - s.data()) + t.size();
        });
    }
}

TEST_CASE("the English stop list is sorted and holds contractions", "[text]") {
    const auto words = aitl::english_stopwords();
    CHECK(words.size() == 174);
    CHECK(std::is_sorted(words.begin(), words.end()));
    CHECK(aitl::is_english_stopword("the"));
    CHECK(aitl::is_english_stopword("don't"));
    CHECK(aitl::is_english_stopword("would"));
    CHECK_FALSE(aitl::is_english_stopword("hotel"));
    CHECK_FALSE(aitl::is_english_stopword("The"));  // expects lower case
}

TEST_CASE("stemmer wraps Snowball and is safe to share between threads", "[text]") {
    aitl::stemmer s;
    CHECK(s.language() == "english");
    CHECK(s.stem("running") == "run");
    CHECK(s.stem("hotels") == "hotel");
    CHECK(s.stem("hotel's") == "hotel");
    CHECK(s.stem("") == "");
    aitl::stemmer copy = s;
    CHECK(copy.stem("parking") == "park");
    aitl::stemmer french("french");
    CHECK(french.stem("chevaux") == "cheval");
    CHECK_THROWS_AS(aitl::stemmer("klingon"), aitl::config_error);
    const auto langs = aitl::stemmer::languages();
    CHECK(std::find(langs.begin(), langs.end(), "english") != langs.end());

    std::atomic<int> wrong{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) wrong += s.stem(i % 2 ? "connections" : "generously") != (i % 2 ? "connect" : "generous");
        });
    for (auto& t : pool) t.join();
    CHECK(wrong == 0);
    aitl::stemmer moved = std::move(copy);
    CHECK_THROWS_AS(copy.stem("x"), aitl::state_error);  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("analyzer lower-cases, drops stop words and stems", "[text]") {
    aitl::analyzer a;
    CHECK(a.tokens("The hotels' Wi-Fi is FREE, isn’t it?") == strings{"hotel", "wi", "fi", "free"});
    CHECK(a.tokens("ÉCOLE Ελλάδα МОСКВА") == strings{"école", "ελλάδα", "москва"});
    CHECK(a.tokens("").empty());
    CHECK(a.tokens("the and of").empty());

    aitl::analyzer keep({true, false, false, "english"});
    CHECK(keep.tokens("The Hotels don’t") == strings{"the", "hotels", "don't"});
    aitl::analyzer raw({false, false, false, "english"});
    CHECK(raw.tokens("The Hotels") == strings{"The", "Hotels"});
    aitl::analyzer french({true, false, true, "french"});
    CHECK(french.tokens("Les chevaux") == strings{"le", "cheval"});
    CHECK_THROWS_AS(aitl::analyzer({true, true, true, "french"}), aitl::config_error);  // no French stop list
    CHECK_THROWS_AS(aitl::analyzer({true, false, true, "nope"}), aitl::config_error);
}

TEST_CASE("analyzer_config round-trips through JSON and rejects bad keys", "[text]") {
    aitl::analyzer_config c{false, true, false, "english"};
    nlohmann::json j = c;
    CHECK(j.get<aitl::analyzer_config>() == c);
    CHECK(nlohmann::json::object().get<aitl::analyzer_config>() == aitl::analyzer_config{});
    CHECK_THROWS_AS(nlohmann::json({{"lowercse", true}}).get<aitl::analyzer_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"stem", "yes"}}).get<aitl::analyzer_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json::array().get<aitl::analyzer_config>(), aitl::config_error);
}

TEST_CASE("FNV-1a and n-gram hashing are fixed, seeded and merged by index", "[text]") {
    CHECK(aitl::fnv1a64("") == 14695981039346656037ull);
    CHECK(aitl::fnv1a64("a") == 0xaf63dc4c8601ec8cull);
    CHECK(aitl::fnv1a64("foobar") == 0x85944171f73967e8ull);

    aitl::ngram_config c;
    c.buckets = 1u << 20;
    // "ab": 1 word unigram + char 3-grams "<ab", "ab>" + 4-gram "<ab>" = 4 features
    auto f = aitl::hashed_ngrams({"ab"}, c);
    CHECK(f.size() == 4);
    for (const auto& x : f) CHECK(std::fabs(x.value) == 1.0f);
    // 2 unigrams + 1 bigram + 2 * 3 char grams
    CHECK(aitl::hashed_ngrams({"ab", "cd"}, c).size() == 9);
    CHECK(aitl::hashed_ngrams({"ab", "ab"}, c).size() == 5);  // repeated features merge
    for (const auto& x : aitl::hashed_ngrams({"ab", "ab"}, c)) CHECK(std::fabs(x.value) >= 1.0f);
    auto g = aitl::hashed_ngrams({"free", "parking", "東京"}, c);
    CHECK(std::is_sorted(g.begin(), g.end(), [](auto& a, auto& b) { return a.index < b.index; }));
    CHECK(std::adjacent_find(g.begin(), g.end(), [](auto& a, auto& b) { return a.index == b.index; }) == g.end());
    CHECK(g == aitl::hashed_ngrams({"free", "parking", "東京"}, c));
    aitl::ngram_config other = c;
    other.seed = 1;
    CHECK_FALSE(g == aitl::hashed_ngrams({"free", "parking", "東京"}, other));
    CHECK(aitl::hashed_ngrams({}, c).empty());

    aitl::ngram_config bad = c;
    bad.buckets = 0;
    CHECK_THROWS_AS(aitl::validate(bad), aitl::config_error);
    bad = c;
    bad.word_ngram_max = 0;
    bad.char_ngram_max = 0;
    CHECK_THROWS_AS(aitl::validate(bad), aitl::config_error);
    bad = c;
    bad.char_ngram_min = 6;
    CHECK_THROWS_AS(aitl::validate(bad), aitl::config_error);
    nlohmann::json j = c;
    CHECK(j.get<aitl::ngram_config>().buckets == c.buckets);
}

// ======================================================================================
// kb
// ======================================================================================

TEST_CASE("knowledge_base adds, updates, removes and iterates in insertion order", "[kb]") {
    aitl::knowledge_base kb;
    kb.add({"b", "Bee", "second letter"});
    kb.add({"a", "Ay", "first letter", {{"lang", "en"}}});
    kb.add({"c", "", "third"});
    CHECK(kb.size() == 3);
    CHECK(kb.ids() == strings{"b", "a", "c"});
    CHECK(kb.get("a").metadata["lang"] == "en");
    CHECK(kb.contains("c"));
    CHECK(kb.find("zz") == nullptr);

    CHECK(kb.update({"a", "Ay", "first letter, revised"}) == 2);
    CHECK(kb.get("a").version == 2);
    CHECK(kb.get("a").text == "first letter, revised");
    CHECK(kb.ids() == strings{"b", "a", "c"});  // position kept

    kb.remove("b");
    CHECK_FALSE(kb.contains("b"));
    CHECK(kb.size() == 2);
    CHECK(kb.ids() == strings{"a", "c"});

    CHECK_THROWS_AS(kb.add({"a", "", "dup"}), aitl::config_error);
    CHECK_THROWS_AS(kb.add({"", "", "no id"}), aitl::config_error);
    CHECK_THROWS_AS(kb.add({"m", "", "x", nlohmann::json::array()}), aitl::config_error);
    CHECK_THROWS_AS(kb.update({"zz", "", "x"}), aitl::not_found);
    CHECK_THROWS_AS(kb.remove("zz"), aitl::not_found);
    CHECK_THROWS_AS(kb.get("b"), aitl::not_found);

    for (int i = 0; i < 200; ++i) kb.add({"x" + std::to_string(i), "", "t"});
    for (int i = 0; i < 200; i += 2) kb.remove("x" + std::to_string(i));  // triggers compaction
    auto ids = kb.ids();
    CHECK(ids.size() == 102);
    CHECK(ids[0] == "a");
    CHECK(ids[2] == "x1");
    CHECK(ids.back() == "x199");
    CHECK(kb.get("x101").text == "t");
}

TEST_CASE("knowledge_base loads BEIR corpora with metadata, blank lines, BOM and CRLF", "[kb]") {
    temp_dir tmp;
    tmp.file("corpus.jsonl",
             "\xEF\xBB\xBF{\"_id\": \"d1\", \"title\": \"Refunds\", \"text\": \"Refunds take 5 days.\", \"url\": \"u1\"}\r\n"
             "\n"
             "   \n"
             "{\"_id\": 42, \"text\": \"Numeric id, no title\", \"metadata\": {\"src\": \"faq\"}}\n"
             "{\"_id\": \"d3\", \"title\": \"Caf\\u00e9\", \"text\": \"東京 😀\", \"metadata\": null}\n");
    for (const std::string& path : {tmp.path.string(), (tmp.path / "corpus.jsonl").string()}) {
        auto kb = aitl::knowledge_base::load_beir(path);
        REQUIRE(kb.size() == 3);
        CHECK(kb.ids() == strings{"d1", "42", "d3"});
        CHECK(kb.get("d1").title == "Refunds");
        CHECK(kb.get("d1").metadata == nlohmann::json{{"url", "u1"}});
        CHECK(kb.get("42").title.empty());
        CHECK(kb.get("42").metadata == nlohmann::json{{"src", "faq"}});
        CHECK(kb.get("d3").title == "Café");
        CHECK(kb.get("d3").text == "東京 😀");
    }
}

TEST_CASE("knowledge_base loaders report file, line and field of malformed input", "[kb]") {
    temp_dir tmp;
    auto expect_parse_error = [&](const std::string& content, std::size_t line, const std::string& field, bool beir = true) {
        const std::string path = tmp.file("bad.jsonl", content);
        try {
            if (beir)
                aitl::knowledge_base::load_beir(path);
            else
                aitl::knowledge_base::load_jsonl(path);
            FAIL("no parse_error for: " << content);
        } catch (const aitl::parse_error& e) {
            CHECK(e.file() == path);
            CHECK(e.line() == line);
            CHECK(e.field() == field);
            CHECK(std::string(e.what()).find("expected") != std::string::npos);
        }
    };
    const std::string ok = "{\"_id\": \"a\", \"text\": \"x\"}\n";
    expect_parse_error(ok + "{not json\n", 2, "");
    expect_parse_error(ok + "\n[1, 2]\n", 3, "");
    expect_parse_error(ok + "{\"title\": \"t\", \"text\": \"x\"}\n", 2, "_id");
    expect_parse_error("{\"_id\": \"\", \"text\": \"x\"}\n", 1, "_id");
    expect_parse_error("{\"_id\": 1.5, \"text\": \"x\"}\n", 1, "_id");
    expect_parse_error("{\"_id\": \"a\", \"title\": 3, \"text\": \"x\"}\n", 1, "title");
    expect_parse_error("{\"_id\": \"a\", \"text\": [\"x\"]}\n", 1, "text");
    expect_parse_error("{\"_id\": \"a\", \"title\": \"t\"}\n", 1, "text");
    expect_parse_error("{\"_id\": \"a\", \"text\": \"x\", \"metadata\": 5}\n", 1, "metadata");
    expect_parse_error("{\"id\": \"a\", \"text\": \"x\", \"metadata\": [1]}\n", 1, "metadata", false);
    expect_parse_error("{\"id\": \"a\", \"text\": \"x\", \"version\": 0}\n", 1, "version", false);
    expect_parse_error("{\"_id\": \"a\", \"text\": \"x\"}\n", 1, "id", false);  // BEIR key in aitl JSONL

    const std::string dup = tmp.file("dup.jsonl", ok + "{\"_id\": \"b\", \"text\": \"y\"}\n\n" + ok);
    try {
        aitl::knowledge_base::load_beir(dup);
        FAIL("duplicate ids accepted");
    } catch (const aitl::parse_error& e) {
        CHECK(e.line() == 4);
        CHECK(e.field() == "_id");
        CHECK(std::string(e.what()).find("line 1") != std::string::npos);  // names the first line too
    }
    CHECK_THROWS_AS(aitl::knowledge_base::load_beir((tmp.path / "missing.jsonl").string()), aitl::io_error);
    CHECK_THROWS_AS(aitl::knowledge_base::load_jsonl(tmp.path.string()), aitl::io_error);  // a directory
    CHECK_THROWS_AS(aitl::knowledge_base::load_beir(tmp.file("empty.jsonl", "")), aitl::config_error);
    CHECK_THROWS_AS(aitl::knowledge_base::load_beir(tmp.file("blank.jsonl", "\n  \n")), aitl::config_error);

    // Bytes that are not UTF-8 are named with the byte offset, not reported as "not valid JSON";
    // deep nesting is refused before parsing, with a short message.
    const std::string latin1 = tmp.file("latin1.jsonl", ok + "{\"_id\": \"b\", \"text\": \"caf\xe9\"}\n");
    const std::string m = what_of<aitl::parse_error>([&] { aitl::knowledge_base::load_beir(latin1); });
    CHECK(m.find(latin1 + ":2:") == 0);
    CHECK(m.find("not valid UTF-8 (got byte 0xE9, expected UTF-8 text) at byte 25 of the line") != std::string::npos);
    const std::string deep = tmp.file("deep.jsonl", "{\"_id\": \"a\", \"text\": \"x\", \"metadata\": {\"k\": " +
                                                        std::string(60000, '[') + std::string(60000, ']') + "}}\n");
    const std::string d = what_of<aitl::parse_error>([&] { aitl::knowledge_base::load_beir(deep); });
    CHECK(d.find("nested too deeply (got more than 128 levels") != std::string::npos);
    CHECK(d.size() < 300);
    // nlohmann's echo of the input ("last read: '...'") is cut from syntax errors.
    const std::string junk = tmp.file("junk.jsonl", "{\"_id\": \"" + std::string(5000, 'x') + "\" oops}\n");
    CHECK(what_of<aitl::parse_error>([&] { aitl::knowledge_base::load_beir(junk); }).size() < 400);
}

TEST_CASE("read_queries reads BEIR queries in file order like the corpus (BOM, CRLF, integer ids)", "[kb]") {
    temp_dir tmp;
    const std::string q = tmp.file("queries.jsonl", "\xEF\xBB\xBF{\"_id\": \"q2\", \"text\": \"refund?\"}\r\n\n"
                                                    "{\"_id\": 7, \"text\": \"caf\u00e9\", \"extra\": 1}\n");
    const auto got = aitl::read_queries(q);
    REQUIRE(got.size() == 2);
    CHECK(got[0] == std::pair<std::string, std::string>{"q2", "refund?"});
    CHECK(got[1] == std::pair<std::string, std::string>{"7", "café"});
    const std::string r = tmp.file("responses.jsonl", "{\"_id\": \"q2\", \"response\": \"yes\"}\n");
    CHECK(aitl::read_queries(r, "response").at(0).second == "yes");
    auto expect = [&](const std::string& content, std::size_t line, const std::string& field) {
        const std::string path = tmp.file("bad.jsonl", content);
        try {
            aitl::read_queries(path);
            FAIL("no parse_error for: " << content);
        } catch (const aitl::parse_error& e) {
            CHECK(e.line() == line);
            CHECK(e.field() == field);
        }
    };
    expect("{\"text\": \"x\"}\n", 1, "_id");
    expect("{\"_id\": \"\", \"text\": \"x\"}\n", 1, "_id");
    expect("{\"_id\": \"a\"}\n", 1, "text");
    expect("{\"_id\": \"a\", \"text\": 3}\n", 1, "text");
    expect("{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"a\", \"text\": \"y\"}\n", 2, "_id");
    expect("{\"_id\": \"a\", \"text\": \"\xff\"}\n", 1, "");
    CHECK_THROWS_AS(aitl::read_queries((tmp.path / "none").string()), aitl::io_error);
}

TEST_CASE("knowledge_base save_jsonl and load_jsonl round-trip", "[kb]") {
    temp_dir tmp;
    aitl::knowledge_base kb;
    kb.add({"faq-1", "Café ☕", "Line one\nline \"two\"", {{"tags", {"a", "b"}}, {"n", 3}}});
    kb.add({"faq-2", "", "東京 😀"});
    kb.update({"faq-2", "", "東京 😀 updated"});
    const std::string path = (tmp.path / "kb.jsonl").string();
    kb.save_jsonl(path);
    auto back = aitl::knowledge_base::load_jsonl(path);
    REQUIRE(back.size() == 2);
    CHECK(back.ids() == kb.ids());
    for (const auto& d : kb) {
        const auto& e = back.get(d.id);
        CHECK(e.title == d.title);
        CHECK(e.text == d.text);
        CHECK(e.metadata == d.metadata);
        CHECK(e.version == d.version);
    }
    CHECK(back.get("faq-2").version == 2);
    CHECK_THROWS_AS(kb.save_jsonl((tmp.path / "no" / "such" / "dir.jsonl").string()), aitl::io_error);
}

// ======================================================================================
// bm25
// ======================================================================================

TEST_CASE("bm25 ranks documents by Xapian's BM25 formula", "[bm25]") {
    aitl::bm25_config c;
    c.k1 = 1.0f;
    c.b = 0.5f;
    c.unique_query_terms = false;
    aitl::bm25 idx(c);
    idx.add("h1", "Hotel with free parking and free wifi");
    idx.add("h2", "Cheap hotel in the north");
    idx.add("r1", "Restaurant serving Indian food");
    idx.add("r2", "Parking is not available at the restaurant");
    CHECK(idx.size() == 4);

    auto h = idx.search("free parking", 10);
    REQUIRE(h.size() == 2);
    CHECK(ids_of(h) == strings{"h1", "r2"});
    // lengths without stop words: h1 "hotel free park free wifi" 5, h2 "cheap hotel north" 3,
    // r1 "restaur serv indian food" 4, r2 "park avail restaur" 3
    const double avg = 15.0 / 4;
    const double h1 = xapian_term(4, 1, 2, 5, avg, 1, 0.5) + xapian_term(4, 2, 1, 5, avg, 1, 0.5);
    const double r2 = xapian_term(4, 2, 1, 3, avg, 1, 0.5);
    CHECK(h[0].score == Approx(h1).epsilon(1e-5));
    CHECK(h[1].score == Approx(r2).epsilon(1e-5));
    // repeated query words count again unless unique_query_terms
    CHECK(idx.search("parking parking", 1)[0].score == Approx(2 * xapian_term(4, 2, 1, 3, avg, 1, 0.5)).epsilon(1e-5));

    CHECK(idx.search("the of and", 10).empty());  // stop words only
    CHECK(idx.search("submarine", 10).empty());
    CHECK(idx.search("", 10).empty());
    CHECK(idx.search("hotel", 1).size() == 1);
    CHECK_THROWS_AS(idx.search("hotel", 0), aitl::config_error);
    CHECK_THROWS_AS(idx.search_batch({"hotel"}, 0), aitl::config_error);
}

TEST_CASE("bm25 remove drops the document and updates statistics", "[bm25]") {
    aitl::bm25 idx;
    idx.add("a", "free parking near the station");
    idx.add("b", "parking garage open all night");
    idx.add(aitl::document{"c", "Parking", "parking parking everywhere"});
    const auto before = idx.stats();
    CHECK(before.documents == 3);
    CHECK(idx.search("parking", 10).size() == 3);

    idx.remove("c");
    CHECK(idx.size() == 2);
    CHECK_FALSE(idx.contains("c"));
    const auto after = idx.stats();
    CHECK(after.documents == 2);
    CHECK(after.postings == before.postings - 2);  // "park" and "everywher"
    CHECK(after.terms == before.terms - 1);        // "everywher" is gone
    for (const auto& x : idx.search("parking everywhere", 10)) CHECK(x.id != "c");

    // scores equal those of an index that never saw "c"
    aitl::bm25 fresh;
    fresh.add("a", "free parking near the station");
    fresh.add("b", "parking garage open all night");
    CHECK(idx.search("parking station", 10) == fresh.search("parking station", 10));

    CHECK_THROWS_AS(idx.remove("c"), aitl::not_found);
    CHECK_THROWS_AS(idx.remove("zz"), aitl::not_found);
    CHECK_THROWS_AS(idx.update("zz", "x"), aitl::not_found);
    CHECK_THROWS_AS(idx.add("a", "again"), aitl::config_error);
    CHECK_THROWS_AS(idx.add("", "no id"), aitl::config_error);
    idx.add("c", "re-added with other words");
    CHECK(idx.search("words", 5)[0].id == "c");
    idx.update("c", "now about parking");
    CHECK(idx.search("words", 5).empty());
    idx.clear();
    CHECK(idx.size() == 0);
    CHECK(idx.search("parking", 5).empty());
}

TEST_CASE("bm25 breaks ties by insertion order and returns at most k hits", "[bm25]") {
    aitl::bm25 idx;
    for (int i = 0; i < 20; ++i) idx.add("t" + std::to_string(i), "identical text about towels");
    auto h = idx.search("towels", 5);
    CHECK(ids_of(h) == strings{"t0", "t1", "t2", "t3", "t4"});
    idx.remove("t1");
    CHECK(ids_of(idx.search("towels", 3)) == strings{"t0", "t2", "t3"});
    CHECK(idx.search("towels", 100).size() == 19);
}

TEST_CASE("bm25 pruning, batch search and bulk adds give the same hits as plain search", "[bm25]") {
    const auto docs = random_corpus(3000, 11);
    aitl::bm25_config exhaustive;
    exhaustive.dynamic_pruning = false;
    aitl::bm25 plain(exhaustive);
    for (const auto& d : docs) plain.add(d.id, d.text);
    aitl::bm25 pruned;  // dynamic_pruning = true, bulk add
    pruned.add(docs);
    aitl::knowledge_base kb;
    for (const auto& d : docs) kb.add(d);
    aitl::bm25_st single_threaded(exhaustive);
    single_threaded.add(kb);

    std::vector<std::string> queries;
    std::mt19937 gen(5);
    for (int q = 0; q < 150; ++q) {
        const auto& a = docs[gen() % docs.size()].text;
        const auto& b = docs[gen() % docs.size()].text;
        queries.push_back(a.substr(0, a.size() / 2) + " " + b.substr(b.size() / 2));
    }
    std::size_t diff = 0;
    for (std::size_t k : {1, 10, 75}) {
        const auto batch = pruned.search_batch(queries, k, 3);
        const auto batch1 = pruned.search_batch(queries, k, 1);
        for (std::size_t q = 0; q < queries.size(); ++q) {
            const auto expected = plain.search(queries[q], k);
            diff += pruned.search(queries[q], k) != expected;
            diff += batch[q] != expected;
            diff += batch1[q] != expected;
            diff += single_threaded.search(queries[q], k) != expected;
            REQUIRE(expected.size() <= k);
            for (std::size_t i = 1; i < expected.size(); ++i) REQUIRE(expected[i - 1].score >= expected[i].score);
        }
    }
    CHECK(diff == 0);
    CHECK(pruned.search_batch({}, 5).empty());
    CHECK_THROWS_AS(pruned.add(docs[0]), aitl::config_error);  // already there
    std::vector<aitl::document> twice{{"n1", "", "x"}, {"n1", "", "y"}};
    CHECK_THROWS_AS(pruned.add(twice), aitl::config_error);
    CHECK_FALSE(pruned.contains("n1"));  // nothing added
}

TEST_CASE("bm25 top k equals a brute-force ranking in double precision", "[bm25]") {
    const auto docs = random_corpus(4000, 21, 200);  // small vocabulary: queries touch most documents
    aitl::bm25 idx;
    idx.add(docs);
    const aitl::analyzer text;
    std::vector<std::map<std::string, int>> tf(docs.size());
    std::vector<double> len(docs.size());
    std::map<std::string, double> df;
    double total = 0;
    for (std::size_t d = 0; d < docs.size(); ++d) {
        for (const auto& t : text.tokens(docs[d].text)) ++tf[d][t];
        len[d] = 0;
        for (const auto& [t, n] : tf[d]) {
            len[d] += n;
            df[t] += 1;
        }
        total += len[d];
    }
    const double n_docs = static_cast<double>(docs.size()), avg = total / n_docs, k1 = idx.config().k1, b = idx.config().b;
    std::mt19937 gen(9);
    for (int q = 0; q < 40; ++q) {
        const std::string query = docs[gen() % docs.size()].text + " " + docs[gen() % docs.size()].text;
        const auto terms = text.tokens(query);
        const std::set<std::string> unique(terms.begin(), terms.end());
        std::vector<double> score(docs.size(), 0.0);
        for (std::size_t d = 0; d < docs.size(); ++d)
            for (const auto& t : unique) {
                auto it = tf[d].find(t);
                if (it != tf[d].end()) score[d] += xapian_term(n_docs, df[t], it->second, len[d], avg, k1, b);
            }
        std::vector<double> sorted = score;
        std::sort(sorted.rbegin(), sorted.rend());
        for (std::size_t k : {1, 10, 75}) {
            const auto h = idx.search(query, k);
            REQUIRE(h.size() == k);
            for (const auto& x : h)
                REQUIRE(x.score == Approx(score[std::stoul(x.id.substr(1))]).epsilon(1e-5));
            REQUIRE(h.back().score == Approx(sorted[k - 1]).epsilon(1e-5));  // nothing better missed
        }
    }
}

TEST_CASE("bm25 purges removed documents and then equals a freshly built index", "[bm25]") {
    const auto docs = random_corpus(2000, 3);
    aitl::bm25 idx;
    idx.add(docs);
    const auto postings = idx.stats().postings;
    aitl::bm25 fresh;
    for (std::size_t i = 0; i < docs.size(); ++i) {
        if (i % 5 < 2)
            idx.remove(docs[i].id);  // 40% removed: more than a quarter of the postings
        else
            fresh.add(docs[i]);
    }
    CHECK(idx.size() == fresh.size());
    CHECK(idx.stats().postings == fresh.stats().postings);
    CHECK(idx.stats().postings < postings);
    for (std::size_t q = 0; q < 60; ++q) {
        const std::string query = docs[q * 7].text + " " + docs[q * 13 + 1].text;
        CHECK(idx.search(query, 20) == fresh.search(query, 20));
    }
}

TEST_CASE("bm25 copies are independent and concurrent searches run beside a writer", "[bm25]") {
    aitl::bm25 idx;
    idx.add("a", "breakfast included");
    aitl::bm25 copy = idx;
    idx.add("b", "breakfast buffet");
    CHECK(copy.size() == 1);
    CHECK(idx.size() == 2);
    aitl::bm25 moved = std::move(copy);
    CHECK(moved.search("breakfast", 5).size() == 1);
    copy = idx;
    CHECK(copy.size() == 2);

    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::thread reader([&] {
        while (!done) {
            auto h = idx.search("breakfast buffet room", 10);
            if (h.empty() || h.size() > 10) ++bad;
        }
    });
    for (int i = 0; i < 300; ++i) idx.add("r" + std::to_string(i), "room " + std::to_string(i) + " breakfast");
    for (int i = 0; i < 300; i += 3) idx.remove("r" + std::to_string(i));
    done = true;
    reader.join();
    CHECK(bad == 0);
    CHECK(idx.size() == 202);
}

TEST_CASE("bm25 and hashed_encoder satisfy the retriever and encoder contracts", "[bm25][hashed_encoder]") {
    STATIC_REQUIRE(aitl::is_retriever_v<aitl::bm25>);
    STATIC_REQUIRE(aitl::is_retriever_v<aitl::bm25_st>);
    STATIC_REQUIRE(aitl::is_encoder_v<aitl::hashed_encoder>);
    STATIC_REQUIRE_FALSE(aitl::is_encoder_v<aitl::bm25>);
    STATIC_REQUIRE(std::is_copy_constructible_v<aitl::bm25> && std::is_move_constructible_v<aitl::bm25>);
    STATIC_REQUIRE(std::is_move_constructible_v<aitl::hashed_encoder>);
}

TEST_CASE("bm25_config is validated and round-trips through JSON", "[bm25]") {
    aitl::bm25_config c;
    c.k1 = -0.1f;
    CHECK_THROWS_AS(aitl::bm25(c), aitl::config_error);
    c.k1 = std::nanf("");
    CHECK_THROWS_AS(aitl::bm25(c), aitl::config_error);
    c = {};
    c.b = 1.5f;
    CHECK_THROWS_AS(aitl::bm25(c), aitl::config_error);
    c.b = -0.01f;
    CHECK_THROWS_AS(aitl::bm25(c), aitl::config_error);
    c = {};
    c.analyzer.language = "nope";
    CHECK_THROWS_AS(aitl::bm25(c), aitl::config_error);
    c = {};
    c.k1 = 0.0f;  // boundary values are fine
    c.b = 1.0f;
    CHECK_NOTHROW(aitl::bm25(c));

    aitl::bm25_config d;
    d.k1 = 1.2f;
    d.b = 0.75f;
    d.unique_query_terms = false;
    d.analyzer.stopwords = false;
    nlohmann::json j = d;
    auto back = j.get<aitl::bm25_config>();
    CHECK(back.k1 == d.k1);
    CHECK(back.b == d.b);
    CHECK(back.unique_query_terms == false);
    CHECK(back.analyzer == d.analyzer);
    CHECK_THROWS_AS(nlohmann::json({{"k_1", 1}}).get<aitl::bm25_config>(), aitl::config_error);
    CHECK_THROWS_AS(nlohmann::json({{"b", "half"}}).get<aitl::bm25_config>(), aitl::config_error);
}

namespace {
// DSTC11 Track 5 validation as a BEIR folder: one document per FAQ (question + answer) and
// per review sentence, titled with the entity name; queries are the last three turns.
struct dstc11_data {
    aitl::knowledge_base kb;
    std::vector<std::string> queries;
    std::vector<std::set<std::string>> relevant;
};

const dstc11_data& dstc11() {
    static const dstc11_data data = [] {
        dstc11_data out;
        const fs::path root = fs::path(AITL_DATA_DIR) / "dstc11-track5";
        nlohmann::json knowledge = nlohmann::json::parse(std::ifstream(root / "knowledge.json"));
        temp_dir tmp;
        {
            std::ofstream corpus(tmp.path / "corpus.jsonl");
            for (auto& [domain, entities] : knowledge.items())
                for (auto& [entity, e] : entities.items()) {
                    const std::string name = e.value("name", std::string());
                    for (auto& [faq_id, faq] : e["faqs"].items())
                        corpus << nlohmann::json{{"_id", domain + ":" + entity + ":faq:" + faq_id},
                                                 {"title", name},
                                                 {"text", faq["question"].get<std::string>() + " " +
                                                              faq["answer"].get<std::string>()},
                                                 {"domain", domain}}
                                      .dump()
                               << "\n";
                    for (auto& [review_id, review] : e["reviews"].items())
                        for (auto& [sent_id, sent] : review["sentences"].items())
                            corpus << nlohmann::json{{"_id", domain + ":" + entity + ":review:" + review_id + ":" + sent_id},
                                                     {"title", name},
                                                     {"text", sent},
                                                     {"domain", domain}}
                                          .dump()
                                   << "\n";
                }
        }
        out.kb = aitl::knowledge_base::load_beir(tmp.path.string());
        nlohmann::json logs = nlohmann::json::parse(std::ifstream(root / "val" / "logs.json"));
        nlohmann::json labels = nlohmann::json::parse(std::ifstream(root / "val" / "labels.json"));
        for (std::size_t i = 0; i < logs.size(); ++i) {
            if (!labels[i]["target"].get<bool>()) continue;
            std::string q;
            const auto& turns = logs[i];
            for (std::size_t t = turns.size() > 3 ? turns.size() - 3 : 0; t < turns.size(); ++t)
                q += (q.empty() ? "" : " ") + turns[t]["text"].get<std::string>();
            std::set<std::string> rel;
            for (const auto& k : labels[i]["knowledge"]) {
                std::string id = k["domain"].get<std::string>() + ":" + std::to_string(k["entity_id"].get<int>()) + ":" +
                                 k["doc_type"].get<std::string>() + ":" + std::to_string(k["doc_id"].get<int>());
                if (k["doc_type"] == "review") id += ":" + std::to_string(k["sent_id"].get<int>());
                rel.insert(id);
            }
            out.queries.push_back(q);
            out.relevant.push_back(rel);
        }
        return out;
    }();
    return data;
}

double recall_at(const aitl::bm25& idx, std::size_t k) {
    const auto& data = dstc11();
    const auto results = idx.search_batch(data.queries, k);
    double sum = 0;
    for (std::size_t q = 0; q < results.size(); ++q) {
        std::size_t found = 0;
        for (const auto& h : results[q]) found += data.relevant[q].count(h.id);
        sum += static_cast<double>(found) / static_cast<double>(data.relevant[q].size());
    }
    return sum / static_cast<double>(results.size());
}
}  // namespace

TEST_CASE("bm25 on DSTC11: defaults reach recall@75 0.65, Xapian's settings about 0.40", "[bm25][data]") {
    const auto& data = dstc11();
    REQUIRE(data.kb.size() == 10882);
    REQUIRE(data.queries.size() == 2129);
    CHECK(data.kb.get("hotel:0:faq:0").title == "A AND B GUEST HOUSE");
    CHECK(data.kb.get("hotel:0:faq:0").metadata["domain"] == "hotel");

    aitl::bm25 ours;
    ours.add(data.kb);
    CHECK(ours.size() == 10882);
    const auto top = ours.search("Does the A and B Guest House allow pets?", 5);
    REQUIRE_FALSE(top.empty());
    CHECK(top[0].id == "hotel:0:faq:1");  // "Can I bring my pet to A and B Guest House?"
    const double r_ours = recall_at(ours, 75);

    aitl::bm25_config xapian_like;  // BM25Weight(k1 = 1, b = 0.5), no stop list, OR query
    xapian_like.k1 = 1.0f;
    xapian_like.b = 0.5f;
    xapian_like.unique_query_terms = false;
    xapian_like.analyzer.stopwords = false;
    aitl::bm25 xl(xapian_like);
    xl.add(data.kb);
    const double r_xapian_like = recall_at(xl, 75);
    CAPTURE(r_ours, r_xapian_like);
    CHECK(r_ours == Approx(0.650).margin(0.01));
    CHECK(r_xapian_like == Approx(0.401).margin(0.02));  // Xapian 1.4 measures 0.4012
}

// ======================================================================================
// hashed_encoder
// ======================================================================================

TEST_CASE("hashed_encoder gives unit rows, zero rows for empty text, and is deterministic", "[hashed_encoder]") {
    aitl::hashed_encoder_config c;
    c.dim = 32;
    c.buckets = 1024;
    aitl::hashed_encoder enc(c);
    CHECK(enc.dim() == 32);
    const strings texts{"Is there free parking at the hotel?", "Does the hotel offer free parking?", "",
                        "the of and", "Quantum chromodynamics lecture notes"};
    const aitl::row_matrix v = enc.encode(texts);
    REQUIRE(v.rows() == 5);
    REQUIRE(v.cols() == 32);
    CHECK(v.allFinite());
    CHECK(v.row(0).norm() == Approx(1.0f).epsilon(1e-5));
    CHECK(v.row(4).norm() == Approx(1.0f).epsilon(1e-5));
    CHECK(v.row(2).norm() == 0.0f);  // empty: zero, not NaN
    CHECK(v.row(3).norm() == 0.0f);  // only stop words
    CHECK(v.row(0).dot(v.row(1)) > v.row(0).dot(v.row(4)) + 0.2f);
    CHECK(enc.encode({}).rows() == 0);

    aitl::hashed_encoder same(c);
    CHECK(same.projection() == enc.projection());
    CHECK(same.encode(texts) == v);
    auto d = c;
    d.seed = 9;
    aitl::hashed_encoder other(d);
    CHECK_FALSE(other.projection() == enc.projection());

    // orthonormal columns
    const Eigen::MatrixXf gram = enc.projection().transpose() * enc.projection();
    CHECK((gram - Eigen::MatrixXf::Identity(32, 32)).cwiseAbs().maxCoeff() < 1e-5f);
    CHECK(enc.projection().rows() == 1024);
    // pinned values: mt19937_64 + Box-Muller + Cholesky-QR are the same everywhere
    CHECK(enc.projection()(0, 0) == Approx(0.0110768387f).epsilon(1e-4));
    CHECK(enc.projection()(1023, 31) == Approx(0.0215069316f).epsilon(1e-4));
    CHECK(enc.projection()(17, 5) == Approx(-0.0123842517f).epsilon(1e-4));
    const auto f = enc.features("free parking");
    double norm = 0;
    for (const auto& x : f) norm += x.value * x.value;
    CHECK(norm == Approx(1.0));
}

TEST_CASE("hashed_encoder projection is settable, validated, and saved with the config", "[hashed_encoder]") {
    aitl::hashed_encoder_config c;
    c.dim = 8;
    c.buckets = 64;
    c.word_ngram_max = 1;
    aitl::hashed_encoder enc(c);
    aitl::row_matrix p = aitl::row_matrix::Zero(64, 8);
    p(0, 0) = 1.0f;
    CHECK_THROWS_AS(enc.set_projection(aitl::row_matrix::Zero(64, 9)), aitl::dimension_error);
    CHECK_THROWS_AS(enc.set_projection(aitl::row_matrix::Zero(63, 8)), aitl::dimension_error);
    aitl::row_matrix nan = p;
    nan(3, 3) = std::nanf("");
    CHECK_THROWS_AS(enc.set_projection(nan), aitl::dimension_error);
    enc.projection()(5, 5) = 2.0f;  // in-place training
    CHECK(enc.projection()(5, 5) == 2.0f);
    enc.set_projection(p);
    CHECK(enc.projection() == p);

    temp_dir tmp;
    const std::string path = (tmp.path / "enc.bin").string();
    enc.save(path);
    auto back = aitl::hashed_encoder::load(path);
    CHECK(back.projection() == p);
    CHECK(back.dim() == 8);
    CHECK(back.config().word_ngram_max == 1);
    CHECK(back.encode({"hello world"}) == enc.encode({"hello world"}));
    CHECK_THROWS_AS(aitl::hashed_encoder::load((tmp.path / "missing.bin").string()), aitl::io_error);
    CHECK_THROWS_AS(aitl::hashed_encoder::load(tmp.file("junk.bin", "not an encoder at all")), aitl::parse_error);
    CHECK_THROWS_AS(enc.save((tmp.path / "no" / "dir" / "x.bin").string()), aitl::io_error);
}

TEST_CASE("hashed_encoder_config is validated and round-trips through JSON", "[hashed_encoder]") {
    aitl::hashed_encoder_config c;
    c.dim = 0;
    CHECK_THROWS_AS(aitl::hashed_encoder(c), aitl::config_error);
    c = {};
    c.buckets = 16;
    c.dim = 32;  // more dims than buckets
    CHECK_THROWS_AS(aitl::hashed_encoder(c), aitl::config_error);
    c = {};
    c.word_ngram_max = 0;
    c.char_ngram_max = 0;
    CHECK_THROWS_AS(aitl::hashed_encoder(c), aitl::config_error);
    c = {};
    c.char_ngram_min = 4;
    c.char_ngram_max = 2;
    CHECK_THROWS_AS(aitl::hashed_encoder(c), aitl::config_error);

    aitl::hashed_encoder_config d;
    d.dim = 64;
    d.seed = 77;
    d.analyzer.stem = true;
    nlohmann::json j = d;
    auto back = j.get<aitl::hashed_encoder_config>();
    CHECK(back.dim == 64);
    CHECK(back.seed == 77);
    CHECK(back.analyzer == d.analyzer);
    CHECK_THROWS_AS(nlohmann::json({{"dims", 3}}).get<aitl::hashed_encoder_config>(), aitl::config_error);
}
