// Tests of flywheel/registry.hpp (the model registry: add, promote, reject, rollback, verify,
// recovery, errors, two objects and many threads on one directory, crash safety under SIGKILL)
// and of its building blocks detail/sha256.hpp and detail/durable_file.hpp.
#include <aitl/config.hpp>
#include <aitl/detail/durable_file.hpp>
#include <aitl/detail/sha256.hpp>
#include <aitl/error.hpp>
#include <aitl/flywheel/registry.hpp>
#include <aitl/flywheel/registry_types.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aitl_catch.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

// Explicit instantiations: every member of both thread policies compiles.
template class aitl::basic_model_registry<std::mutex>;
template class aitl::basic_model_registry<aitl::detail::null_mutex>;

namespace {

struct reg_temp_dir {
    fs::path path;
    reg_temp_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() /
               ("aitl_test_registry_" + std::to_string(::getpid()) + "_" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~reg_temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path operator/(const std::string& name) const { return path / name; }
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

fs::path put(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
}

std::string random_bytes(std::uint64_t seed, std::size_t n) {
    std::mt19937_64 rng(seed);
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i += 8) {
        const std::uint64_t x = rng();
        for (std::size_t b = 0; b < 8 && i + b < n; ++b) s[i + b] = static_cast<char>(x >> (8 * b));
    }
    return s;
}


// Every file under `dir` (relative path -> bytes) and every folder (relative path -> "<dir>").
std::map<std::string, std::string> tree(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        out[fs::relative(e.path(), dir).string()] = e.is_directory() ? std::string("<dir>") : slurp(e.path());
    return out;
}

// Sets a file's mtime back to `t` (a tampering that keeps size and mtime).
void keep_mtime(const fs::path& p, fs::file_time_type t) { fs::last_write_time(p, t); }

std::vector<std::string> listed_dirs(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir / "versions")) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

TEST_CASE("sha256 matches the FIPS 180-4 / NIST test vectors, whole and in uneven chunks", "[registry]") {
    using aitl::detail::sha256_hex;
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                     "mnopqrstnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    CHECK(sha256_hex("The quick brown fox jumps over the lazy dog") ==
          "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
    // One million 'a', fed in chunks that straddle block boundaries.
    aitl::detail::sha256 h;
    const std::string a(1000000, 'a');
    std::size_t off = 0, step = 1;
    while (off < a.size()) {
        const std::size_t n = std::min(step, a.size() - off);
        h.update(a.data() + off, n);
        off += n;
        step = step * 3 % 1021 + 1;
    }
    CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // Every length around the padding boundary agrees between one update and byte-by-byte updates.
    for (std::size_t n = 50; n < 140; ++n) {
        const std::string s = random_bytes(n, n);
        aitl::detail::sha256 b;
        for (char c : s) b.update(&c, 1);
        CHECK(b.hex_digest() == sha256_hex(s));
    }
    reg_temp_dir dir;
    const auto p = put(dir / "f.bin", "abc");
    const auto d = aitl::detail::sha256_file(p, "test");
    CHECK(d.sha256 == sha256_hex("abc"));
    CHECK(d.bytes == 3);
    CHECK_THROWS_NAMING(aitl::io_error, aitl::detail::sha256_file(dir / "missing", "test"), "missing");
}

TEST_CASE("durable file helpers replace atomically, copy with a hash, lock exclusively and name failures",
          "[registry]") {
    namespace d = aitl::detail;
    reg_temp_dir dir;
    const auto target = dir / "state.json";
    d::write_file_durable(target, "old", "test");
    d::write_file_durable(target, "new content", "test");
    CHECK(slurp(target) == "new content");
    CHECK_FALSE(fs::exists(d::temp_path_for(target)));
    CHECK(d::temp_path_for(target).filename() == "state.json.tmp");
    CHECK(d::read_file(target, "test") == "new content");
    CHECK_THROWS_NAMING(aitl::io_error, d::read_file(dir / "nope", "reader::read"), "reader::read: cannot open");
    CHECK_THROWS_AS(d::write_file_durable(dir / "no" / "such" / "dir" / "f", "x", "test"), aitl::io_error);

    const std::string bytes = random_bytes(7, 300001);
    const auto src = put(dir / "src.bin", bytes);
    d::create_dirs_durable(dir / "a" / "b" / "c", "test");
    CHECK(fs::is_directory(dir / "a" / "b" / "c"));
    const auto r = d::copy_file_durable(src, dir / "a" / "b" / "c" / "dst.bin", "test");
    CHECK(r.bytes == bytes.size());
    CHECK(r.sha256 == d::sha256_hex(bytes));
    CHECK(slurp(dir / "a" / "b" / "c" / "dst.bin") == bytes);
    const auto empty = d::copy_file_durable(put(dir / "empty", ""), dir / "empty2", "test");
    CHECK(empty.bytes == 0);
    CHECK(empty.sha256 == d::sha256_hex(""));
    CHECK_THROWS_NAMING(aitl::io_error, d::copy_file_durable(dir / "missing", dir / "x", "copier::copy"),
                           "copier::copy: cannot open for reading");
    CHECK_THROWS_AS(d::copy_file_durable(dir / "a", dir / "x", "test"), aitl::io_error);  // a directory
    CHECK_FALSE(fs::exists(dir / "x"));
    CHECK_FALSE(fs::exists(dir / "x.tmp"));
    put(dir / "file", "x");
    CHECK_THROWS_AS(d::create_dirs_durable(dir / "file" / "sub", "test"), aitl::io_error);

    // dir_lock: a second lock (another open of the file) waits until the first is released.
    std::atomic<int> inside{0}, max_inside{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                d::dir_lock lock(dir / ".lock", "test");
                const int now = ++inside;
                int m = max_inside.load();
                while (now > m && !max_inside.compare_exchange_weak(m, now)) {
                }
                std::this_thread::yield();
                --inside;
            }
        });
    for (auto& t : ts) t.join();
    CHECK(max_inside.load() == 1);
}

// ---------------------------------------------------------------------------------------------
// Registry semantics
// ---------------------------------------------------------------------------------------------

TEST_CASE("model registry: add makes a challenger, promote a champion, reject and supersede close it", "[registry]") {
    reg_temp_dir tmp;
    aitl::model_registry reg(tmp / "reg");
    CHECK(reg.dir() == fs::absolute(tmp / "reg"));
    CHECK_FALSE(reg.champion());
    CHECK_FALSE(reg.challenger());
    CHECK(reg.versions().empty());
    CHECK(reg.manifest()["next_id"] == 1);
    CHECK(reg.manifest()["format"] == "aitl.model_registry");

    const auto enc = put(tmp / "src" / "encoder.bin", random_bytes(1, 5000));
    const auto idx = put(tmp / "src" / "index.hnsw", random_bytes(2, 7000));
    aitl::version_info info;
    info.watermark = 42;
    info.metrics = {{"ndcg@10", 0.41}};
    info.note = "round 1";
    const std::string v1 = reg.add({{"encoder.bin", enc}, {"index.hnsw", idx}}, info);
    CHECK(v1 == "v000001");
    auto c = reg.challenger();
    REQUIRE(c);
    CHECK(c->version == v1);
    CHECK(c->status == "challenger");
    CHECK(c->watermark == 42);
    CHECK(c->metrics["ndcg@10"] == 0.41);
    CHECK(c->note == "round 1");
    CHECK(c->decision.is_null());
    CHECK(c->created.size() == 24);
    CHECK(c->created.back() == 'Z');
    REQUIRE(c->artifacts.size() == 2);
    CHECK(c->artifacts[0].name == "encoder.bin");
    CHECK(c->artifacts[0].bytes == 5000);
    CHECK(c->artifacts[0].sha256 == aitl::detail::sha256_hex(random_bytes(1, 5000)));
    CHECK(slurp(reg.file(v1, "index.hnsw")) == random_bytes(2, 7000));
    CHECK(reg.file(v1, "encoder.bin") == reg.dir() / "versions" / v1 / "encoder.bin");
    reg.verify(v1);

    reg.promote(v1, json{{"promote", true}, {"reason", "first"}});
    CHECK(reg.champion()->version == v1);
    CHECK(reg.champion()->decision["reason"] == "first");
    CHECK_FALSE(reg.challenger());

    info.parent = v1;
    const std::string v2 = reg.add({{"encoder.bin", enc}}, info);
    CHECK(v2 == "v000002");
    CHECK(reg.get(v2).parent == v1);
    const std::string v3 = reg.add({{"encoder.bin", enc}}, info);  // supersedes v2
    CHECK(reg.get(v2).status == "rejected");
    CHECK(reg.get(v2).decision == json{{"reason", "superseded"}});
    CHECK(reg.challenger()->version == v3);
    reg.reject(v3, json{{"reason", "no lift"}, {"p_value", 0.4}});
    CHECK(reg.get(v3).status == "rejected");
    CHECK(reg.get(v3).decision["p_value"] == 0.4);
    CHECK_FALSE(reg.challenger());
    CHECK(reg.champion()->version == v1);

    const std::string v4 = reg.add({{"encoder.bin", idx}});
    reg.promote(v4);
    CHECK(reg.get(v1).status == "retired");
    CHECK(reg.champion()->version == v4);
    CHECK(reg.champion()->decision.is_null());
    const auto m = reg.manifest();
    CHECK(m["champion"] == v4);
    CHECK(m["champion_history"] == json{v1, v4});
    CHECK(m["next_id"] == 5);
    CHECK(reg.versions().size() == 4);

    // A retired version can be promoted again; a re-opened registry sees the same manifest.
    reg.promote(v1, json{{"reason", "manual"}});
    CHECK(reg.champion()->version == v1);
    CHECK(reg.get(v4).status == "retired");
    aitl::model_registry_st again(tmp / "reg");
    CHECK(again.manifest() == reg.manifest());
    CHECK(listed_dirs(reg.dir()) == std::vector<std::string>{v1, v2, v3, v4});

    // JSON round trips of the records.
    for (const auto& v : reg.versions()) CHECK(json(v).get<aitl::model_version>() == v);
    aitl::version_info vi = json(info).get<aitl::version_info>();
    CHECK(json(vi) == json(info));
    CHECK_THROWS_AS(json({{"version", "v000001"}, {"status", "winner"}, {"artifacts", json::array()}})
                        .get<aitl::model_version>(),
                    aitl::config_error);
    CHECK_THROWS_AS(json({{"name", "a"}, {"sha256", "xyz"}, {"bytes", 1}}).get<aitl::artifact_record>(),
                    aitl::config_error);
    CHECK_THROWS_AS(json({{"parent", ""}, {"extra", 1}}).get<aitl::version_info>(), aitl::config_error);
}

TEST_CASE("rollback restores the previous champion whose files hash bit-for-bit to the bytes added",
          "[registry]") {
    reg_temp_dir tmp;
    aitl::model_registry reg(tmp / "reg");
    CHECK_FALSE(reg.rollback());  // no champion: nothing happens
    std::vector<std::string> originals;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        originals.push_back(random_bytes(100 + i, 200000 + 1000 * i));
        // The same source path each round: the registry must keep its own copies.
        const auto src = put(tmp / "src" / "encoder.bin", originals.back());
        ids.push_back(reg.add({{"encoder.bin", src}, {"config.json", put(tmp / "src" / "c.json", "{}")}}));
        reg.promote(ids.back());
    }
    const auto before = reg.manifest();
    CHECK(reg.rollback() == ids[1]);
    CHECK(reg.champion()->version == ids[1]);
    CHECK(reg.get(ids[2]).status == "retired");
    const auto back = slurp(reg.file(ids[1], "encoder.bin"));
    CHECK(back == originals[1]);
    CHECK(aitl::detail::sha256_hex(back) == reg.champion()->artifacts[1].sha256);
    CHECK(reg.champion()->artifacts[1].name == "encoder.bin");
    reg.verify(ids[1]);

    CHECK(reg.rollback() == ids[0]);
    CHECK(slurp(reg.file(ids[0], "encoder.bin")) == originals[0]);
    const auto at_first = reg.manifest();
    CHECK_FALSE(reg.rollback());  // no earlier champion
    CHECK(reg.manifest() == at_first);
    CHECK(at_first["champion_history"] == json{ids[0]});
    CHECK(before["champion_history"] == json{ids[0], ids[1], ids[2]});

    // Rejected versions in the history are skipped.
    reg.promote(ids[1]);
    reg.promote(ids[2]);
    reg.reject(ids[1], json{{"reason", "regression found"}});
    CHECK(reg.rollback() == ids[0]);
    CHECK(reg.get(ids[2]).status == "retired");
}

TEST_CASE("model registry rejects every bad input with a clear error", "[registry]") {
    reg_temp_dir tmp;
    aitl::model_registry reg(tmp / "reg");
    const auto src = put(tmp / "src" / "a.bin", "bytes");
    using files_t = std::map<std::string, fs::path>;
    CHECK_THROWS_NAMING(aitl::config_error, reg.add(files_t{}), "no artifact files");
    for (const std::string& bad : std::vector<std::string>{"", "a/b", "../a", "..", ".", "a\\b", "x..y", "state.tmp", std::string(256, 'n'), std::string("a\0b", 3)})
        CHECK_THROWS_NAMING(aitl::config_error, reg.add(files_t{{bad, src}}), "invalid artifact name");
    CHECK_THROWS_NAMING(aitl::io_error, reg.add(files_t{{"a.bin", tmp / "src" / "missing.bin"}}), "missing.bin");
    CHECK_THROWS_AS(reg.add(files_t{{"a.bin", tmp / "src"}}), aitl::io_error);  // a directory
    aitl::version_info info;
    info.watermark = -1;
    CHECK_THROWS_NAMING(aitl::config_error, reg.add(files_t{{"a.bin", src}}, info), "watermark");
    info.watermark = 0;
    info.metrics = json::array({1, 2});
    CHECK_THROWS_NAMING(aitl::config_error, reg.add(files_t{{"a.bin", src}}, info), "metrics");
    info.metrics = json::object();
    info.parent = "v000009";
    CHECK_THROWS_NAMING(aitl::not_found, reg.add(files_t{{"a.bin", src}}, info), "unknown parent");
    CHECK(reg.versions().empty());  // nothing of a failed add is registered
    CHECK(listed_dirs(reg.dir()).empty());
    CHECK(reg.manifest()["next_id"] == 1);

    const auto v1 = reg.add(files_t{{"a.bin", src}});
    CHECK_THROWS_NAMING(aitl::not_found, reg.get("v000002"), "unknown version (got 'v000002'");
    CHECK_THROWS_AS(reg.get(""), aitl::not_found);
    CHECK_THROWS_AS(reg.promote("nope"), aitl::not_found);
    CHECK_THROWS_AS(reg.reject("v000007", nullptr), aitl::not_found);
    CHECK_THROWS_AS(reg.verify("v000007"), aitl::not_found);
    CHECK_THROWS_AS(reg.file("v000007", "a.bin"), aitl::not_found);
    CHECK_THROWS_NAMING(aitl::not_found, reg.file(v1, "b.bin"), "expected one of a.bin");
    reg.promote(v1);
    CHECK_THROWS_NAMING(aitl::state_error, reg.promote(v1), "got status 'champion'");
    CHECK_THROWS_NAMING(aitl::state_error, reg.reject(v1, nullptr), "rollback");
    const auto v2 = reg.add(files_t{{"a.bin", src}});
    reg.reject(v2, json{{"reason", "worse"}});
    CHECK_THROWS_NAMING(aitl::state_error, reg.promote(v2), "got status 'rejected'");
    CHECK_THROWS_AS(reg.reject(v2, nullptr), aitl::state_error);

    // The registry path is a file, or cannot be created.
    put(tmp / "plain", "x");
    CHECK_THROWS_AS(aitl::model_registry(tmp / "plain"), aitl::io_error);
    CHECK_THROWS_AS(aitl::model_registry(""), aitl::config_error);
}

TEST_CASE("verify detects missing, truncated and altered artifact files", "[registry]") {
    reg_temp_dir tmp;
    aitl::model_registry reg(tmp / "reg");
    const std::string bytes = random_bytes(5, 4096);
    const auto v = reg.add({{"m.bin", put(tmp / "m.bin", bytes)}, {"n.bin", put(tmp / "n.bin", "n")}});
    reg.verify(v);
    const auto m = reg.file(v, "m.bin");
    std::string altered = bytes;
    altered[100] ^= 1;
    put(m, altered);
    CHECK_THROWS_NAMING(aitl::io_error, reg.verify(v), "m.bin");
    CHECK_THROWS_NAMING(aitl::io_error, reg.verify(v), "sha256");
    put(m, bytes.substr(0, 10));
    CHECK_THROWS_NAMING(aitl::io_error, reg.verify(v), "got 10 bytes");
    put(m, bytes);
    reg.verify(v);
    fs::remove(reg.file(v, "n.bin"));
    CHECK_THROWS_NAMING(aitl::io_error, reg.verify(v), "missing");
    // With verification off verify() still checks; file() hands the path out unchecked.
    aitl::model_registry trusting(tmp / "reg", aitl::registry_options{false});
    CHECK_THROWS_NAMING(aitl::io_error, trusting.verify(v), "missing");
    CHECK(trusting.file(v, "n.bin") == reg.dir() / "versions" / v / "n.bin");
}

TEST_CASE("file(), promote(), rollback() and opening refuse tampered or missing artifacts and change nothing",
          "[registry]") {
    reg_temp_dir tmp;
    const auto dir = tmp / "reg";
    aitl::model_registry reg(dir);
    const std::string b1 = random_bytes(61, 5000), b2 = random_bytes(62, 5000), b3 = random_bytes(63, 5000);
    const auto v1 = reg.add({{"m.bin", put(tmp / "m.bin", b1)}, {"n.bin", put(tmp / "n.bin", "n")}});
    reg.promote(v1);
    const auto v2 = reg.add({{"m.bin", put(tmp / "m.bin", b2)}, {"n.bin", tmp / "n.bin"}});
    reg.promote(v2);
    const auto sha = [](const std::string& b) { return aitl::detail::sha256_hex(b); };
    const auto m1 = dir / "versions" / v1 / "m.bin";
    const auto m2 = dir / "versions" / v2 / "m.bin";
    CHECK(slurp(reg.file(v1, "m.bin")) == b1);

    // A same-size tampering that restores the mtime: file() still sees it.
    std::string bad = b1;
    bad[2500] ^= 0x20;
    const auto t1 = fs::last_write_time(m1);
    put(m1, bad);
    keep_mtime(m1, t1);
    const std::string expect_bad = "model_registry::file: artifact file corrupted: '" + m1.string() + "' (got 5000 bytes, sha256 " +
                                   sha(bad) + ", expected 5000 bytes, sha256 " + sha(b1) + ")";
    CHECK_THROWS_NAMING(aitl::io_error, reg.file(v1, "m.bin"), expect_bad);

    // rollback() refuses to reinstate the tampered previous champion; the manifest stays as it was.
    auto before = reg.manifest();
    CHECK_THROWS_NAMING(aitl::io_error, reg.rollback(),
                        "model_registry::rollback: cannot reinstate version 'v000001': artifact file corrupted: '" +
                            m1.string() + "' (got 5000 bytes, sha256 " + sha(bad));
    CHECK_THROWS_NAMING(aitl::io_error, reg.rollback(), "expected 5000 bytes, sha256 " + sha(b1));
    CHECK(reg.manifest() == before);
    CHECK(reg.champion()->version == v2);
    // promote() of a tampered retired version: refused, nothing changes.
    CHECK_THROWS_NAMING(aitl::io_error, reg.promote(v1), "model_registry::promote: cannot promote version 'v000001'");
    CHECK(reg.manifest() == before);
    put(m1, b1);  // restored: both work again
    CHECK(slurp(reg.file(v1, "m.bin")) == b1);
    CHECK(reg.rollback() == v1);
    reg.promote(v2);
    before = reg.manifest();

    // A challenger whose file went missing cannot be promoted.
    const auto v3 = reg.add({{"m.bin", put(tmp / "m.bin", b3)}, {"n.bin", tmp / "n.bin"}});
    const auto m3 = dir / "versions" / v3 / "m.bin";
    fs::remove(m3);
    before = reg.manifest();
    CHECK_THROWS_NAMING(aitl::io_error, reg.promote(v3),
                        "cannot promote version 'v000003': artifact file missing (got no file '" + m3.string() +
                            "', expected 5000 bytes, sha256 " + sha(b3) + ")");
    CHECK_THROWS_NAMING(aitl::io_error, reg.file(v3, "m.bin"), "artifact file missing");
    CHECK(reg.manifest() == before);
    reg.reject(v3, json{{"reason", "files lost"}});

    // Opening verifies the champion; opting out opens, and verify() still checks on request.
    put(m2, b2.substr(0, 4999));
    CHECK_THROWS_NAMING(aitl::io_error, aitl::model_registry(dir),
                        "model_registry::model_registry: the champion 'v000002' does not verify: artifact file corrupted: '" +
                            m2.string() + "' (got 4999 bytes");
    CHECK_THROWS_NAMING(aitl::io_error, aitl::model_registry(dir), "open with verify_artifacts = false");
    aitl::model_registry_st trusting(dir, aitl::registry_options{false});
    CHECK_FALSE(trusting.options().verify_artifacts);
    CHECK(reg.options().verify_artifacts);
    CHECK(slurp(trusting.file(v2, "m.bin")) == b2.substr(0, 4999));  // trusted, not checked
    CHECK_THROWS_NAMING(aitl::io_error, trusting.verify(v2), "got 4999 bytes");
    CHECK(trusting.rollback() == v1);  // the way out: back to an intact version
    aitl::model_registry reopened(dir);
    CHECK(reopened.champion()->version == v1);

    // registry_options round-trips through JSON; unknown keys and wrong types are config_error.
    CHECK(json(aitl::registry_options{}) == json{{"verify_artifacts", true}});
    CHECK(json{{"verify_artifacts", false}}.get<aitl::registry_options>() == aitl::registry_options{false});
    CHECK(json::object().get<aitl::registry_options>() == aitl::registry_options{});
    CHECK_THROWS_NAMING(aitl::config_error, json({{"verify", true}}).get<aitl::registry_options>(), "'verify'");
    CHECK_THROWS_NAMING(aitl::config_error, json({{"verify_artifacts", 1}}).get<aitl::registry_options>(),
                        "verify_artifacts");
}

TEST_CASE("a file hashed once is not trusted after a same-size, same-mtime rewrite (the per-process cache keys on "
          "ctime and inode)",
          "[registry]") {
    reg_temp_dir tmp;
    aitl::model_registry reg(tmp / "reg");
    const std::string bytes = random_bytes(71, 20000);
    const auto v = reg.add({{"m.bin", put(tmp / "m.bin", bytes)}});
    const auto path = reg.dir() / "versions" / v / "m.bin";
    // Files written in the last 2 s are never cached (coarse timestamps): wait until this one
    // may be, then check it (hashed and remembered) and check it again (from the cache).
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    CHECK(reg.file(v, "m.bin") == path);
    CHECK(reg.file(v, "m.bin") == path);
    reg.promote(v);
    // Same size, same mtime, in place (same inode): the ctime changed, so the file is re-hashed.
    const auto t = fs::last_write_time(path);
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(10000);
        f.put(static_cast<char>(bytes[10000] ^ 1));
    }
    keep_mtime(path, t);
    CHECK(fs::file_size(path) == bytes.size());
    CHECK(fs::last_write_time(path) == t);
    CHECK_THROWS_NAMING(aitl::io_error, reg.file(v, "m.bin"), "artifact file corrupted: '" + path.string());
    CHECK_THROWS_NAMING(aitl::io_error, aitl::model_registry(tmp / "reg"), "the champion 'v000001' does not verify");
    put(path, bytes);
    CHECK(reg.file(v, "m.bin") == path);
}

TEST_CASE("add() refuses NaN and infinite metrics at any depth, naming the key path and the value", "[registry]") {
    reg_temp_dir tmp;
    aitl::model_registry reg(tmp / "reg");
    const auto src = put(tmp / "a.bin", "a");
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    aitl::version_info info;
    auto refused = [&](json metrics, const std::string& text) {
        info.metrics = std::move(metrics);
        CHECK_THROWS_NAMING(aitl::config_error, reg.add({{"a.bin", src}}, info), text);
    };
    refused(json{{"ndcg@10", nan}}, "model_registry::add: metric 'metrics.ndcg@10' is not a finite number (got nan, expected a finite number)");
    refused(json{{"ok", 1.0}, {"loss", inf}}, "metric 'metrics.loss' is not a finite number (got inf,");
    refused(json{{"training", {{"encoder", {{"train_loss", {0.5, 0.4, -inf}}}}}}},
            "metric 'metrics.training.encoder.train_loss[2]' is not a finite number (got -inf,");
    refused(json{{"folds", json::array({json{{"r", 1}}, json{{"r", nan}}})}}, "'metrics.folds[1].r' is not a finite number (got nan");
    // Deep nesting is walked without recursion.
    json deep = nan;
    for (int i = 0; i < 2000; ++i) deep = json::array({std::move(deep)});
    refused(json{{"deep", std::move(deep)}}, "(got nan, expected a finite number)");
    CHECK(reg.versions().empty());  // nothing registered
    CHECK(listed_dirs(reg.dir()).empty());
    info.metrics = json{{"ndcg@10", 0.41}, {"n", 3}, {"max", std::numeric_limits<double>::max()}, {"s", "nan"}};
    const auto v = reg.add({{"a.bin", src}}, info);
    CHECK(reg.get(v).metrics == info.metrics);
}

TEST_CASE("a corrupted or inconsistent manifest gives parse_error naming the file and field", "[registry]") {
    reg_temp_dir tmp;
    const auto dir = tmp / "reg";
    json good;
    {
        aitl::model_registry reg(dir);
        const auto v = reg.add({{"a.bin", put(tmp / "a.bin", "a")}});
        reg.promote(v);
        reg.add({{"a.bin", put(tmp / "a.bin", "b")}});
        good = reg.manifest();
    }
    const auto manifest = dir / "manifest.json";
    auto expect = [&](const std::string& text, const std::string& field) {
        put(manifest, text);
        INFO(text.substr(0, 200));
        try {
            aitl::model_registry reg(dir);
            FAIL("no parse_error");
        } catch (const aitl::parse_error& e) {
            CHECK(e.file() == fs::absolute(manifest).string());
            CHECK(e.field() == field);
            CHECK(std::string(e.what()).find("manifest.json") != std::string::npos);
        }
    };
    expect("{\"format\": \"aitl.model_registry\", \"format_ver", "");
    expect("[]", "");
    auto edit = [&](auto f) {
        json j = good;
        f(j);
        return j.dump();
    };
    expect(edit([](json& j) { j["format"] = "something else"; }), "format");
    expect(edit([](json& j) { j["format_version"] = 99; }), "format_version");
    expect(edit([](json& j) { j.erase("next_id"); }), "next_id");
    expect(edit([](json& j) { j["next_id"] = 2; }), "versions[1].version");
    expect(edit([](json& j) { j["versions"][1]["status"] = "winner"; }), "versions[1]");
    expect(edit([](json& j) { j["versions"][0]["artifacts"][0]["sha256"] = "abc"; }), "versions[0]");
    expect(edit([](json& j) { j["versions"][1]["version"] = "v000001"; }), "versions[1].version");
    expect(edit([](json& j) { j["versions"][1]["status"] = "champion"; }), "champion");
    expect(edit([](json& j) { j["champion"] = nullptr; }), "champion");
    expect(edit([](json& j) { j["champion_history"] = json::array(); }), "champion_history");
    expect(edit([](json& j) { j["champion_history"] = json{"v000005"}; }), "champion_history[0]");
    expect(edit([](json& j) { j["extra"] = 1; }), "extra");
    // The reads of an opened registry report it too.
    put(manifest, good.dump());
    aitl::model_registry reg(dir);
    put(manifest, "not json");
    CHECK_THROWS_AS(reg.versions(), aitl::parse_error);
    CHECK_THROWS_AS(reg.add({{"a.bin", tmp / "a.bin"}}), aitl::parse_error);
    put(manifest, good.dump());
    CHECK(reg.versions().size() == 2);
}

TEST_CASE("opening recovers from an interrupted call: it removes only uncommitted adds' folders and "
          "quarantines every other unlisted entry",
          "[registry]") {
    reg_temp_dir tmp;
    const auto dir = tmp / "reg";
    std::string v1;
    json before;
    {
        aitl::model_registry reg(dir);
        CHECK(reg.recovered().empty());
        v1 = reg.add({{"a.bin", put(tmp / "a.bin", "a")}});
        reg.promote(v1);
        before = reg.manifest();
        CHECK_FALSE(fs::exists(dir / "versions" / v1 / aitl::detail::registry_marker_name));  // gone before the commit
    }
    // What a crashed add or commit leaves: a folder with add()'s marker (killed while copying), an
    // empty one (killed right after mkdir), one without the marker (killed between its last copy
    // and its commit), a stray temp manifest; and what someone put there.
    put(dir / "versions" / "v000002" / "a.bin.tmp", "partial");
    put(dir / "versions" / "v000002" / aitl::detail::registry_marker_name, aitl::detail::registry_marker_text("v000002"));
    fs::create_directories(dir / "versions" / "v000004");
    put(dir / "versions" / "v000003" / "a.bin", "complete, never committed");
    put(dir / "versions" / "junk.tmp", "x");
    put(dir / "versions" / "my-precious" / "a.bin", "precious");
    put(dir / "versions" / "v000005" / aitl::detail::registry_marker_name, "not add()'s marker text");
    put(dir / "manifest.json.tmp", "{\"half\": ");
    put(dir / "notes.txt", "the user's notes next to the registry");
    fs::create_directories(dir / "quarantine" / "junk.tmp");  // taken: the next one is junk.tmp.1
    aitl::model_registry reg(dir);
    CHECK(reg.manifest() == before);
    CHECK(listed_dirs(dir) == std::vector<std::string>{v1});
    CHECK_FALSE(fs::exists(dir / "manifest.json.tmp"));
    CHECK(slurp(dir / "notes.txt") == "the user's notes next to the registry");  // outside versions/: untouched
    const auto q = dir / "quarantine";
    CHECK(slurp(q / "v000003" / "a.bin") == "complete, never committed");
    CHECK(slurp(q / "junk.tmp.1") == "x");
    CHECK(fs::is_directory(q / "junk.tmp"));
    CHECK(slurp(q / "my-precious" / "a.bin") == "precious");
    CHECK(slurp(q / "v000005" / aitl::detail::registry_marker_name) == "not add()'s marker text");
    CHECK_FALSE(fs::exists(q / "v000002"));
    CHECK_FALSE(fs::exists(q / "v000004"));
    const auto rec = reg.recovered();
    std::map<std::string, aitl::recovery_record> by_name;
    for (const auto& r : rec) by_name[r.from.filename().string()] = r;
    REQUIRE(rec.size() == 6);
    CHECK(by_name["v000002"].action == "removed");
    CHECK(by_name["v000002"].to.empty());
    CHECK(by_name["v000002"].from == dir / "versions" / "v000002");
    CHECK(by_name["v000004"].action == "removed");
    CHECK(by_name["v000003"].action == "quarantined");
    CHECK(by_name["v000003"].to == q / "v000003");
    CHECK(by_name["v000003"].reason.find("not listed in the manifest") != std::string::npos);
    CHECK(by_name["junk.tmp"].to == q / "junk.tmp.1");
    CHECK(by_name["my-precious"].action == "quarantined");
    CHECK(by_name["my-precious"].reason == "not a version folder of this registry");
    CHECK(by_name["v000005"].action == "quarantined");
    CHECK(json(by_name["junk.tmp"]) == json{{"action", "quarantined"}, {"from", (dir / "versions" / "junk.tmp").string()},
                                            {"to", (q / "junk.tmp.1").string()}, {"reason", "not a version folder of this registry"}});
    // A copy carries the log; a clean reopen has none.
    CHECK(aitl::model_registry(reg).recovered().size() == 6);
    CHECK(aitl::model_registry(dir).recovered().empty());
    // The next add reuses the id no commit has named.
    CHECK(reg.add({{"a.bin", tmp / "a.bin"}}) == "v000002");
    reg.verify("v000002");
    reg.verify(v1);
    // A second stray of the same name never overwrites the first in quarantine.
    put(dir / "versions" / "my-precious" / "a.bin", "second");
    aitl::model_registry again(dir);
    CHECK(slurp(q / "my-precious" / "a.bin") == "precious");
    CHECK(slurp(q / "my-precious.1" / "a.bin") == "second");
}

TEST_CASE("add() meeting a folder left by another process's interrupted add quarantines or removes it, never "
          "loses it",
          "[registry]") {
    reg_temp_dir tmp;
    aitl::model_registry reg(tmp / "reg");
    const auto src = put(tmp / "a.bin", "a");
    // Left after this object opened: with the marker (removed) or without it (quarantined).
    put(reg.dir() / "versions" / "v000001" / aitl::detail::registry_marker_name,
        aitl::detail::registry_marker_text("v000001"));
    CHECK(reg.add({{"a.bin", src}}) == "v000001");
    put(reg.dir() / "versions" / "v000002" / "a.bin", "someone's bytes");
    CHECK(reg.add({{"a.bin", src}}) == "v000002");
    CHECK(slurp(reg.dir() / "quarantine" / "v000002" / "a.bin") == "someone's bytes");
    reg.verify("v000001");
    reg.verify("v000002");
    const auto rec = reg.recovered();
    REQUIRE(rec.size() == 2);
    CHECK(rec[0].action == "removed");
    CHECK(rec[1].action == "quarantined");
    CHECK(rec[1].to == reg.dir() / "quarantine" / "v000002");
}

TEST_CASE("deleting manifest.json loses no version: opening refuses and every file stays byte-identical",
          "[registry]") {
    reg_temp_dir tmp;
    const auto dir = tmp / "reg";
    {
        aitl::model_registry reg(dir);
        for (int i = 0; i < 5; ++i) {
            const auto v = reg.add({{"m.bin", put(tmp / "m.bin", random_bytes(40 + static_cast<std::uint64_t>(i), 3000))}});
            if (i % 2 == 0) reg.promote(v);
        }
    }
    const std::string manifest = slurp(dir / "manifest.json");
    fs::remove(dir / "manifest.json");
    const auto before = tree(dir);
    CHECK(before.count("versions/v000005/m.bin") == 1);
    for (int attempt = 0; attempt < 2; ++attempt) {  // refusing twice changes nothing either
        try {
            aitl::model_registry reg(dir);
            FAIL("opened a registry without its manifest");
        } catch (const aitl::state_error& e) {
            const std::string msg = e.what();
            INFO(msg);
            CHECK(msg.find("model_registry::model_registry: manifest missing in '" + fs::absolute(dir).string()) == 0);
            CHECK(msg.find("5 version folder(s) in versions/: v000001, v000002, v000003, v000004, v000005") !=
                  std::string::npos);
            CHECK(msg.find("restore manifest.json from a backup") != std::string::npos);
            CHECK(msg.find("nothing was changed") != std::string::npos);
        }
        CHECK(tree(dir) == before);
    }
    CHECK_FALSE(fs::exists(dir / "quarantine"));
    // Restoring the manifest brings every version back, intact.
    put(dir / "manifest.json", manifest);
    aitl::model_registry reg(dir);
    CHECK(reg.versions().size() == 5);
    CHECK(reg.recovered().empty());
    for (const auto& v : reg.versions()) reg.verify(v.version);
    CHECK(slurp(reg.file("v000005", "m.bin")) == random_bytes(44, 3000));
}

TEST_CASE("a folder that is not a registry is refused and nothing of it is moved, deleted or added",
          "[registry]") {
    reg_temp_dir tmp;
    // The reported case: someone's versions/my-precious/a.bin.
    const auto a = tmp / "a";
    put(a / "versions" / "my-precious" / "a.bin", "precious");
    auto before = tree(a);
    CHECK_THROWS_NAMING(aitl::state_error, aitl::model_registry(a), "1 version folder(s) in versions/: my-precious");
    CHECK(tree(a) == before);
    // A project folder.
    const auto b = tmp / "b";
    put(b / "README.md", "# my project");
    put(b / "src" / "main.cpp", "int main() {}");
    put(b / ".lock", "");
    before = tree(b);
    try {
        aitl::model_registry reg(b);
        FAIL("opened a project folder");
    } catch (const aitl::state_error& e) {
        const std::string msg = e.what();
        INFO(msg);
        CHECK(msg.find("not a model registry: '" + fs::absolute(b).string() + "' holds other files (got 2 item(s): README.md, src") !=
              std::string::npos);
        CHECK(msg.find("expected an empty folder or one with manifest.json") != std::string::npos);
    }
    CHECK(tree(b) == before);
    CHECK_THROWS_AS(aitl::model_registry_st(b, aitl::registry_options{false}), aitl::state_error);
    put(tmp / "d" / "versions" / "stray.txt", "x");  // a file in versions/ is no version folder
    CHECK_THROWS_NAMING(aitl::state_error, aitl::model_registry(tmp / "d"), "holds other files (got 1 item(s): versions/stray.txt,");
    CHECK(slurp(tmp / "d" / "versions" / "stray.txt") == "x");
    // An empty folder, a new one, or what an interrupted creation left, become a registry.
    fs::create_directories(tmp / "empty");
    CHECK(aitl::model_registry(tmp / "empty").versions().empty());
    CHECK(aitl::model_registry(tmp / "new" / "nested").versions().empty());
    const auto c = tmp / "c";
    fs::create_directories(c / "versions");
    put(c / ".lock", "");
    put(c / "manifest.json.tmp", "{\"for");
    aitl::model_registry reg(c);
    CHECK(reg.versions().empty());
    CHECK(reg.recovered().empty());
    CHECK_FALSE(fs::exists(c / "manifest.json.tmp"));
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

TEST_CASE("two registry objects on one directory interleaving adds and promotes lose no version", "[registry]") {
    reg_temp_dir tmp;
    aitl::model_registry a(tmp / "reg");
    aitl::model_registry_st b(tmp / "reg");
    const auto src = put(tmp / "a.bin", random_bytes(3, 1000));
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) {
        ids.push_back(a.add({{"a.bin", src}}));
        b.promote(ids.back());
        ids.push_back(b.add({{"a.bin", src}}));
        a.promote(ids.back());
    }
    CHECK(a.versions().size() == 12);
    CHECK(b.manifest() == a.manifest());
    CHECK(a.champion()->version == "v000012");
    CHECK(a.manifest()["champion_history"].size() == 12);
    std::set<std::string> unique(ids.begin(), ids.end());
    CHECK(unique.size() == 12);
}

TEST_CASE("many threads and two objects adding, promoting, rolling back and reading concurrently keep one "
          "consistent history",
          "[registry]") {
    reg_temp_dir tmp;
    aitl::model_registry a(tmp / "reg");
    aitl::model_registry b(tmp / "reg");
    std::vector<fs::path> srcs;
    for (int t = 0; t < 4; ++t) srcs.push_back(put(tmp / ("s" + std::to_string(t)), random_bytes(t, 20000 + t)));
    std::atomic<bool> stop{false};
    std::atomic<int> reads{0}, bad_reads{0};
    std::vector<std::vector<std::string>> added(4);
    std::vector<std::thread> writers, readers;
    for (int t = 0; t < 4; ++t)
        writers.emplace_back([&, t] {
            auto& reg = t % 2 ? b : a;
            for (int i = 0; i < 6; ++i) {
                aitl::version_info info;
                info.note = "t" + std::to_string(t);
                const std::string v = reg.add({{"m.bin", srcs[static_cast<std::size_t>(t)]}}, info);
                added[static_cast<std::size_t>(t)].push_back(v);
                try {
                    if (i % 2 == 0) reg.promote(v, json{{"by", t}});
                    if (i == 3) reg.rollback();
                } catch (const aitl::state_error&) {
                    // another thread's add superseded v first: expected
                }
            }
        });
    for (int r = 0; r < 2; ++r)
        readers.emplace_back([&, r] {
            const auto& reg = r ? b : a;
            while (!stop.load()) {
                const auto vs = reg.versions();
                const auto c = reg.champion();
                std::size_t champions = 0;
                for (const auto& v : vs) champions += v.status == "champion";
                if (champions > 1) ++bad_reads;
                if (c) reg.verify(c->version);
                ++reads;
            }
        });
    for (auto& t : writers) t.join();
    stop = true;
    for (auto& t : readers) t.join();
    std::set<std::string> all;
    for (const auto& v : added) all.insert(v.begin(), v.end());
    CHECK(all.size() == 24);
    const auto vs = a.versions();
    REQUIRE(vs.size() == 24);
    for (std::size_t i = 0; i < vs.size(); ++i) {
        CHECK(vs[i].version == aitl::detail::registry_version_id(i + 1));
        CHECK(all.count(vs[i].version) == 1);
        a.verify(vs[i].version);
        // Each version holds the bytes of the thread that added it.
        const int t = vs[i].note[1] - '0';
        CHECK(vs[i].artifacts[0].bytes == static_cast<std::uint64_t>(20000 + t));
    }
    CHECK(bad_reads.load() == 0);
    CHECK(reads.load() > 0);

}

// ---------------------------------------------------------------------------------------------
// Crash safety
// ---------------------------------------------------------------------------------------------

namespace {

std::uint64_t crash_seed(int round, int iter) { return 1000003ull * static_cast<std::uint64_t>(round) + static_cast<std::uint64_t>(iter); }

std::size_t crash_size(std::uint64_t seed, int file) { return 100000 + static_cast<std::size_t>((seed * 7919 + file * 104729) % 300000); }

[[noreturn]] void registry_crash_child(const fs::path& dir, const fs::path& stage, int round, int fd) {
    try {
        aitl::model_registry reg(dir);
        for (int iter = 0;; ++iter) {
            const std::uint64_t seed = crash_seed(round, iter);
            std::map<std::string, fs::path> files;
            for (int f = 0; f < 2; ++f) {
                const std::string name = f == 0 ? "encoder.bin" : "index.hnsw";
                files[name] = put(stage / name, random_bytes(seed * 2 + static_cast<std::uint64_t>(f), crash_size(seed, f)));
            }
            aitl::version_info info;
            info.note = std::to_string(round) + " " + std::to_string(iter);
            const auto c = reg.champion();
            info.parent = c ? c->version : "";
            const std::string v = reg.add(files, info);
            reg.promote(v, json{{"round", round}, {"iter", iter}});
            const std::string line = v + "\n";
            if (::write(fd, line.data(), line.size()) < 0) ::_exit(3);
        }
    } catch (...) {
        ::_exit(2);
    }
}

}  // namespace

TEST_CASE("a registry killed with SIGKILL at random moments always reopens with a whole champion", "[registry][crash]") {
    reg_temp_dir tmp;
    const auto dir = tmp / "reg";
    // The kill delays spread over a few add+promote cycles of this machine's disk (fsync speed
    // varies widely): time two cycles first, then kill after 1 ms .. 3 cycles (40 to 400 ms).
    int cycle_ms = 0;
    {
        aitl::model_registry cal(tmp / "calibrate");
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 2; ++i) {
            const auto s1 = put(tmp / "cal" / "encoder.bin", random_bytes(9, 250000));
            const auto s2 = put(tmp / "cal" / "index.hnsw", random_bytes(10, 250000));
            cal.promote(cal.add({{"encoder.bin", s1}, {"index.hnsw", s2}}));
        }
        cycle_ms = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count() / 2);
    }
    const int max_delay_ms = std::min(400, std::max(40, 3 * cycle_ms));
    std::mt19937 rng(20250605);
    std::uint64_t last_acked = 0;  // number of the last promote the child reported done
    int passed = 0, killed = 0;
    std::size_t checked_from = 0;  // versions before this index were verified in an earlier round
    for (int round = 0; round < 20; ++round) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        const int delay_ms = 1 + static_cast<int>(rng() % static_cast<unsigned>(max_delay_ms));
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(fds[0]);
            registry_crash_child(dir, tmp / ("stage" + std::to_string(round)), round, fds[1]);
        }
        ::close(fds[1]);
        ::usleep(static_cast<useconds_t>(delay_ms) * 1000);
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        std::string got;
        char buf[4096];
        for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
        ::close(fds[0]);
        for (std::size_t start = 0, nl; (nl = got.find('\n', start)) != std::string::npos; start = nl + 1)
            last_acked = aitl::detail::registry_version_number(got.substr(start, nl - start));

        bool ok = true;
        auto expect = [&](bool cond, const std::string& what) {
            if (!cond) {
                ok = false;
                FAIL_CHECK("round " << round << " (delay " << delay_ms << " ms): " << what);
            }
        };
        try {
            aitl::model_registry reg(dir);  // opens and recovers
            const auto vs = reg.versions();
            std::vector<std::string> names;
            for (const auto& v : vs) names.push_back(v.version);
            expect(listed_dirs(dir) == names, "version folders equal the listed versions");
            if (fs::exists(dir / "quarantine"))  // an add killed between its last copy and its commit
                for (const auto& e : fs::directory_iterator(dir / "quarantine")) {
                    const std::string q = e.path().filename().string();
                    expect(aitl::detail::registry_version_number(q.substr(0, q.find('.'))) > 0,
                           "quarantine holds only version folders (got " + q + ")");
                }
            expect(!fs::exists(dir / "manifest.json.tmp"), "no temp manifest");
            const auto c = reg.champion();
            expect(last_acked == 0 || c.has_value(), "a champion after an acknowledged promote");
            if (c) {
                const std::uint64_t n = aitl::detail::registry_version_number(c->version);
                expect(n >= last_acked, "the champion is not older than the last acknowledged promote");
                reg.verify(c->version);
                // Bit-for-bit: regenerate the bytes the child wrote for this version.
                int r = 0, it = 0;
                expect(std::sscanf(c->note.c_str(), "%d %d", &r, &it) == 2, "note readable");
                const std::uint64_t seed = crash_seed(r, it);
                expect(slurp(reg.file(c->version, "encoder.bin")) == random_bytes(seed * 2, crash_size(seed, 0)),
                       "encoder.bin bit-for-bit");
                expect(slurp(reg.file(c->version, "index.hnsw")) == random_bytes(seed * 2 + 1, crash_size(seed, 1)),
                       "index.hnsw bit-for-bit");
                expect(c->decision["round"] == r && c->decision["iter"] == it, "decision of its promote");
            }
            for (std::size_t i = checked_from; i < vs.size(); ++i) reg.verify(vs[i].version);
            checked_from = vs.size();
        } catch (const std::exception& e) {
            expect(false, std::string("exception: ") + e.what());
        }
        passed += ok;
    }
    CHECK(killed == 20);
    CHECK(passed == 20);
    CHECK(last_acked > 0);
    if (std::getenv("AITL_TEST_VERBOSE"))
        std::fprintf(stderr,
                     "registry crash test: %d/20 rounds passed, cycle %d ms, delays 1..%d ms, last acknowledged "
                     "promote v%06llu, %zu versions\n",
                     passed, cycle_ms, max_delay_ms, static_cast<unsigned long long>(last_acked), checked_from);
}
