// detail/files.hpp and the JSONL sink's artifact copies: links followed (the Hugging Face cache layout),
// loops and dangling links refused, a failed copy leaving nothing, the recorded digest that of the copy,
// and a kill while re-logging an artifact never leaving its recorded copy damaged.
#include <mltrack/detail/files.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/tracker.hpp>

#include <chrono>
#include <csignal>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

config quiet(const char* experiment, std::vector<std::string>* errors = nullptr) {
    config c{experiment};
    c.dispatch = dispatch_mode::inline_;
    c.capture_environment = false;
    c.on_error = [errors](const sink_error& e) {
        if (errors) errors->push_back(e.sink + ": " + e.message);
    };
    return c;
}

/// Everything under a folder, links included, as "rel" (files), "rel/" (folders), "rel@" (links).
std::vector<std::string> listing(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        const auto rel = fs::relative(e.path(), dir).generic_string();
        if (e.is_symlink()) out.push_back(rel + "@");
        else if (e.is_directory()) out.push_back(rel + "/");
        else out.push_back(rel);
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Names in a folder that start with '.' (copy_into's temporary and set-aside names) or end in .partial.
std::vector<std::string> leftovers(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const auto n = e.path().filename().string();
        if (n[0] == '.' || n.find(".partial") != std::string::npos) out.push_back(n);
    }
    return out;
}

}  // namespace

TEST_CASE("a model folder of symbolic links (the Hugging Face cache layout) is stored as files") {
    unit::temp_dir dir;
    const auto cache = dir.path() / "hub" / "models--org--m";
    unit::write_file(cache / "blobs" / "aa11", "{\"hidden\": 8}");
    unit::write_file(cache / "blobs" / "bb22", std::string(3000, 'w'));
    const auto snap = cache / "snapshots" / "rev1";
    fs::create_directories(snap / "sub");
    fs::create_symlink("../../blobs/aa11", snap / "config.json");
    fs::create_symlink("../../../blobs/bb22", snap / "sub" / "model.safetensors");
    const auto root = dir.path() / "mlruns";
    tracker t{quiet("exp"), sinks::jsonl{root}};
    auto r = t.start_run("r");
    const auto a = r.log_model(snap, {"transformers", "4.40"}, {"hf-model", true, {}});
    const auto copy = root / "exp" / "r" / "artifacts" / "hf-model";
    CHECK(listing(copy) == std::vector<std::string>{"config.json", "sub/", "sub/model.safetensors"});
    fs::remove_all(dir.path() / "hub");  // the cache is cleaned: the run keeps its model
    CHECK(unit::read_file(copy / "config.json") == "{\"hidden\": 8}");
    CHECK(unit::read_file(copy / "sub" / "model.safetensors") == std::string(3000, 'w'));
    CHECK(a.size == 13 + 3000);
    CHECK(detail::digest_path(copy).sha256 == a.sha256);
}

TEST_CASE("links to folders are followed; a link loop (io.16) and a dangling link (io.17) are refused") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    unit::write_file(dir.path() / "shared" / "vocab.txt", "abc");
    unit::write_file(dir.path() / "m" / "w.bin", "w");
    fs::create_directory_symlink("../shared", dir.path() / "m" / "tokenizer");
    std::vector<std::string> errors;
    tracker t{quiet("exp", &errors), sinks::jsonl{root}};
    auto r = t.start_run("r");
    const auto a = r.log_model(dir.path() / "m");
    const auto copy = root / "exp" / "r" / "artifacts" / "m";
    CHECK(listing(copy) == std::vector<std::string>{"tokenizer/", "tokenizer/vocab.txt", "w.bin"});
    CHECK(a.size == 4);

    // a link back to a folder above it
    unit::write_file(dir.path() / "loop1" / "w.bin", "w");
    fs::create_directory_symlink("..", dir.path() / "loop1" / "up");
    CHECK(unit::has_id(unit::error_of([&] { (void)r.log_artifact(dir.path() / "loop1"); }), "io.16"));
    // two links that point at each other, inside the folder and as the path itself
    unit::write_file(dir.path() / "loop2" / "w.bin", "w");
    fs::create_symlink("b", dir.path() / "loop2" / "a");
    fs::create_symlink("a", dir.path() / "loop2" / "b");
    CHECK(unit::has_id(unit::error_of([&] { (void)r.log_artifact(dir.path() / "loop2"); }), "io.16"));
    CHECK(unit::has_id(unit::error_of([&] { (void)r.log_artifact(dir.path() / "loop2" / "a"); }), "io.16"));
    CHECK_THROWS_AS(detail::digest_path(dir.path() / "loop2"), error);  // never std::filesystem's exception
    // a link to nothing
    unit::write_file(dir.path() / "dangling" / "w.bin", "w");
    fs::create_symlink("gone.bin", dir.path() / "dangling" / "x.bin");
    CHECK(unit::has_id(unit::error_of([&] { (void)r.log_artifact(dir.path() / "dangling"); }), "io.17"));
    CHECK(errors.empty());  // refused on the caller's thread, before anything was recorded
    r.end();
    CHECK(unit::of_kind(unit::parse_jsonl(root / "exp" / "r" / "events.jsonl"), "artifact").size() == 1);
    CHECK(leftovers(root / "exp" / "r" / "artifacts").empty());
}

namespace {

/// A sink placed before the JSONL sink that rewrites an artifact's source when it sees its record: the
/// source changes after log_artifact measured it and before the JSONL sink copies it.
struct rewriting_sink {
    fs::path file;
    std::string bytes;
    void write(const batch& b) {
        for (const auto& e : b)
            if (e.kind == record_kind::artifact) unit::write_file(file, bytes);
    }
    void flush() {}
    void close() {}
    std::string_view name() const { return "rewriter"; }
};

}  // namespace

TEST_CASE("the recorded SHA-256 is the stored copy's, even when the source changes while it is logged") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    const auto src = dir.path() / "m.bin";
    unit::write_file(src, "before");
    basic_tracker t{quiet("exp"), rewriting_sink{src, "after, longer"}, sinks::jsonl{root}};
    auto r = t.start_run("r");
    const auto a = r.log_model(src);
    const auto copy = root / "exp" / "r" / "artifacts" / "m.bin";
    REQUIRE(unit::read_file(copy) == "after, longer");
    const auto stored = detail::digest_path(copy);
    CHECK(a.sha256 == stored.sha256);  // what log_model returns
    CHECK(a.size == stored.size);
    r.end();
    const auto line = unit::of_kind(unit::parse_jsonl(root / "exp" / "r" / "events.jsonl"), "artifact").at(0);
    CHECK(line.at("sha256") == stored.sha256);  // what the run records
    CHECK(line.at("size") == stored.size);
}

TEST_CASE("a failed copy throws io.13, leaves no partial copy, keeps the earlier copy, records no path") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    unit::write_file(dir.path() / "v1" / "ckpt" / "a.bin", "small");
    unit::write_file(dir.path() / "v2" / "ckpt" / "a.bin", "small");
    unit::write_file(dir.path() / "v2" / "ckpt" / "b.bin", std::string(1 << 20, 'b'));
    // In a child whose files may not grow past 256 KiB (RLIMIT_FSIZE): v1 fits, v2 cannot be copied.
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit lim{256 << 10, 256 << 10};
        ::setrlimit(RLIMIT_FSIZE, &lim);
        int code = 0;
        try {
            tracker t{quiet("exp"), sinks::jsonl{root}};
            auto r = t.start_run("r");
            (void)r.log_model(dir.path() / "v1" / "ckpt");
            try {
                (void)r.log_model(dir.path() / "v2" / "ckpt");
                code = 10;  // no error
            } catch (const error& e) {
                if (e.category() != error_category::io || e.id() != 13) code = 11;
            }
            r.end();
        } catch (...) {
            code = 12;
        }
        ::_exit(code);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const auto arts = root / "exp" / "r" / "artifacts";
    CHECK(leftovers(arts).empty());
    CHECK(listing(arts / "ckpt") == std::vector<std::string>{"a.bin"});  // v1's copy, whole
    const auto lines = unit::of_kind(unit::parse_jsonl(root / "exp" / "r" / "events.jsonl"), "artifact");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].at("path") == "artifacts/ckpt");
    CHECK_FALSE(lines[1].contains("path"));  // a reference: no copy was stored
    CHECK(lines[1].at("metadata").at("copy_error").get<std::string>().find("cannot copy artifact 'ckpt'") == 0);
}

TEST_CASE("a kill while re-logging an artifact leaves its recorded copy whole") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    // Two versions of a folder of many files, so that replacing one takes a while.
    for (const char v : {'A', 'B'})
        for (int i = 0; i < 200; ++i)
            unit::write_file(dir.path() / std::string(1, v) / "ckpt" / ("f" + std::to_string(i)), std::string(2048, v));
    const auto digest_a = detail::digest_path(dir.path() / "A" / "ckpt").sha256;
    const auto digest_b = detail::digest_path(dir.path() / "B" / "ckpt").sha256;
    std::mt19937 rng(std::random_device{}());
    const auto arts = root / "exp" / "r" / "artifacts";
    {  // the run exists before the first kill (a kill at its creation is another test's subject)
        tracker t{quiet("exp"), sinks::jsonl{root}};
        t.start_run("r").end();
    }
    int killed_with_a_record = 0;
    for (int trial = 0; trial < 24; ++trial) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            try {
                tracker t{quiet("exp"), sinks::jsonl{root}};
                auto r = t.start_run("r", start_mode::create_or_resume);
                for (int i = 0;; ++i) {
                    (void)r.log_artifact(dir.path() / (i % 2 ? "B" : "A") / "ckpt");
                    t.flush();  // its line on disk before the next replacement starts
                }
            } catch (...) {
            }
            ::_exit(1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 1200)(rng)));
        ::kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFSIGNALED(status));
        // The latest complete artifact line says what the copy holds: under its name, or (a kill between
        // the renames, or before the new line was written) set aside under its hidden name.
        const auto lines = unit::of_kind(unit::parse_jsonl(root / "exp" / "r" / "events.jsonl"), "artifact");
        if (lines.empty()) continue;
        ++killed_with_a_record;
        const std::string recorded = lines.back().at("sha256");
        CHECK((recorded == digest_a || recorded == digest_b));
        std::string at_name, aside;
        if (fs::exists(arts / "ckpt")) at_name = detail::digest_path(arts / "ckpt").sha256;
        if (fs::exists(arts / ".ckpt.replaced")) aside = detail::digest_path(arts / ".ckpt.replaced").sha256;
        INFO("trial " << trial);
        CHECK((at_name == recorded || aside == recorded));
    }
    CHECK(killed_with_a_record > 0);
}
