// run.hpp: the RAII run handle, cold-call validation, models and artifacts, lineage.
#include <mltrack/run.hpp>
#include <mltrack/reader.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/sinks/memory.hpp>
#include <mltrack/tracker.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <memory>
#include <set>
#include <thread>
#include <stdexcept>
#include <string>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

config quiet(const char* experiment, std::vector<std::string>* errors = nullptr) {
    config c{experiment};
    c.on_error = [errors](const sink_error& e) {
        if (errors) errors->push_back(e.sink + ": " + e.message);
    };
    return c;
}

/// SHA-256 of a file as the system's sha256sum computes it: a reader independent of mltrack's.
std::string sha256sum(const fs::path& file) {
    const std::string cmd = "sha256sum '" + file.string() + "'";
    std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
    REQUIRE(p);
    char buf[65] = {};
    REQUIRE(std::fread(buf, 1, 64, p.get()) == 64);
    return std::string(buf, 64);
}

/// The folder digest as docs/format.md defines it, computed with sha256sum over a manifest file.
std::string folder_digest(const fs::path& dir, const fs::path& scratch, std::uint64_t& size) {
    std::map<std::string, std::string> files;
    size = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) {
            files[fs::relative(e.path(), dir).generic_string()] = sha256sum(e.path());
            size += fs::file_size(e.path());
        }
    std::string manifest;
    for (const auto& [rel, sum] : files) {
        manifest += rel;
        manifest += '\0';
        manifest += sum;
        manifest += '\n';
    }
    unit::write_file(scratch, manifest);
    return sha256sum(scratch);
}

std::vector<nlohmann::json> lines_of(const fs::path& root, const char* experiment, const char* run) {
    return unit::parse_jsonl(root / experiment / run / "events.jsonl");
}

std::string final_state(const fs::path& root, const char* experiment, const char* run) {
    const auto lines = lines_of(root, experiment, run);
    const auto ends = unit::of_kind(lines, "run_end");
    if (ends.empty()) return "RUNNING";
    return ends.back().at("state").get<std::string>();
}

struct starts_run_while_unwinding {
    tracker* t;
    ~starts_run_while_unwinding() {
        // Created during unwinding, left normally: must end COMPLETE, not FAILED.
        auto r = t->start_run("made-while-unwinding");
        r.log_params({{"x", 1}});
    }
};

}  // namespace

TEST_CASE("RAII: scope exit ends COMPLETE, an exception ends FAILED") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        { auto r = t.start_run("normal"); }
        try {
            auto r = t.start_run("thrown");
            r.log("loss", 1.0, 0);
            throw std::runtime_error("boom");
        } catch (const std::runtime_error&) {
        }
        try {
            starts_run_while_unwinding guard{&t};
            throw 1;
        } catch (int) {
        }
        try {
            throw 2;
        } catch (int) {
            auto r = t.start_run("made-in-catch");  // in a handler, nothing is unwinding
        }
        {
            auto r = t.start_run("explicit");
            r.end(run_state::cancelled);
        }
        auto open = t.start_run("left-open");
        t.close();  // the tracker closes first: the run stays RUNNING
    }
    CHECK(final_state(dir.path(), "exp", "normal") == "COMPLETE");
    CHECK(final_state(dir.path(), "exp", "thrown") == "FAILED");
    CHECK(final_state(dir.path(), "exp", "made-while-unwinding") == "COMPLETE");
    CHECK(final_state(dir.path(), "exp", "made-in-catch") == "COMPLETE");
    CHECK(final_state(dir.path(), "exp", "explicit") == "CANCELLED");
    CHECK(final_state(dir.path(), "exp", "left-open") == "RUNNING");
}

TEST_CASE("end twice, logging after end, empty and moved-from runs") {
    unit::temp_dir dir;
    tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
    auto r = t.start_run("r");
    CHECK(r.active());
    CHECK(r.name() == "r");
    CHECK(r.experiment() == "exp");
    CHECK_FALSE(r.resumed());
    r.end(run_state::failed);
    CHECK_FALSE(r.active());
    CHECK_NOTHROW(r.end());  // nothing happens: the first state stays
    CHECK_NOTHROW(r.end(run_state::complete));
    CHECK_ERROR_ID("state.3", r.log_params({{"a", 1}}));
    CHECK_ERROR_ID("state.3", r.log_metrics({{"a", 1.0}}));
    CHECK_ERROR_ID("state.3", r.log("a", 1.0, 1));
    CHECK_ERROR_ID("state.3", r.log_time_series({{"a", 1.0}}, 1));
    CHECK_ERROR_ID("state.3", r.metric("a"));
    CHECK_ERROR_ID("state.3", r.log_classification_metrics({"a"}, {{1}}));
    CHECK_ERROR_ID("state.3", r.log_model(dir.path()));
    execution e;
    e.name = "x";
    CHECK_ERROR_ID("state.3", r.log_execution(e));
    const auto what = unit::error_of([&] { r.log_params({{"a", 1}}); });
    CHECK(what == "[mltrack.error.state.3] run 'r' has already ended");

    run empty;
    CHECK_FALSE(empty.active());
    CHECK_ERROR_ID("state.5", empty.log_params({{"a", 1}}));
    CHECK_NOTHROW(empty.end());

    auto a = t.start_run("a");
    auto handle = a.metric("m");  // handles outlive a move of their run (the documented way to share a run)
    run b = std::move(a);
    handle.log(1.0, 1);
    CHECK_FALSE(a.active());  // NOLINT(bugprone-use-after-move)
    CHECK_ERROR_ID("state.5", a.log_params({{"a", 1}}));
    CHECK(b.active());
    b.log_params({{"a", 1}});
    auto c = t.start_run("c");
    b = std::move(c);  // the run "a" held by b ends COMPLETE here
    t.flush();
    CHECK(final_state(dir.path(), "exp", "a") == "COMPLETE");
    CHECK(read_run(dir.path() / "exp" / "a").series.at("m").size() == 1);
    CHECK(b.name() == "c");
    b.end(run_state::cancelled);
    t.flush();
    CHECK(final_state(dir.path(), "exp", "c") == "CANCELLED");
    CHECK(final_state(dir.path(), "exp", "r") == "FAILED");
}

TEST_CASE("log_params validation: keys, non-finite floats, huge strings") {
    unit::temp_dir dir;
    tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
    auto r = t.start_run("r");
    CHECK_ERROR_ID("value.1", r.log_params({{"lr", std::nan("")}}));
    CHECK_ERROR_ID("value.1", r.log_params({{"lr", HUGE_VAL}}));
    CHECK_ERROR_ID("value.1", r.log_params({{"ok", 1}, {"lr", -HUGE_VAL}}));  // nothing of the call is logged
    CHECK_ERROR_ID("value.1", r.log_params({{"f", std::nanf("")}}));
    const auto what = unit::error_of([&] { r.log_params({{"lr", std::nan("")}}); });
    CHECK(what == "[mltrack.error.value.1] param 'lr' is not finite (NaN or infinity)");
    CHECK_ERROR_ID("value.3", r.log_params({{"notes", std::string(70 * 1024, 'x')}}));
    CHECK_ERROR_ID("value.3", r.log_params({{"notes", std::string(65537, 'x')}}));
    CHECK_NOTHROW(r.log_params({{"max", std::string(65536, 'y')}}));
    CHECK_ERROR_ID("name.1", r.log_params({{"", 1}}));
    CHECK_ERROR_ID("name.6", r.log_params({{"a\tb", 1}}));
    CHECK_ERROR_ID("name.5", r.log_params({{"\xc0\xaf", 1}}));
    CHECK_ERROR_ID("name.2", r.log_params({{std::string(257, 'k'), 1}}));
    CHECK_ERROR_ID("name.1", r.log_metrics({{"", 1.0}}));
    CHECK_ERROR_ID("name.6", r.log_time_series({{"ok", 1.0}, {"bad\n", 2.0}}, 0));
    r.log_params({});  // nothing to log: no line
    r.log_metrics(named_values<double>{});
    r.log_params({{"ok", 1}, {"optimizer", "adam"}, {"lr", 0.01}, {"on", true}, {"one", 1.0}});
    r.end();
    t.flush();
    const auto lines = lines_of(dir.path(), "exp", "r");
    const auto params = unit::of_kind(lines, "params");
    REQUIRE(params.size() == 2);  // the 64 KiB string and the last call
    CHECK(params[0].at("values").at("max").get<std::string>().size() == 65536);
    const auto& v = params[1].at("values");
    CHECK(v.size() == 5);
    CHECK(v.at("ok").is_number_integer());
    CHECK(v.at("optimizer") == "adam");
    CHECK(v.at("lr").is_number_float());
    CHECK(v.at("lr").get<double>() == 0.01);
    CHECK(v.at("on") == true);
    CHECK(v.at("one").is_number_float());  // 1.0 is written "1.0"
    CHECK(unit::of_kind(lines, "summary").empty());
    CHECK(unit::of_kind(lines, "metrics").empty());
}

TEST_CASE("free-form strings with invalid UTF-8 never break the file") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        r.log_params({{"latin1", "caf\xe9"}, {"ok", "caf\xc3\xa9"}});
        r.log_model("gs://bucket/m\xff.bin", {"xgb\xfe", "1"}, {"m.bin", true, {}});
        CHECK_ERROR_ID("name.3", r.log_model("gs://bucket/m\xff.bin"));  // the name comes from the URI
    }
    const auto lines = lines_of(dir.path(), "exp", "r");
    const auto v = unit::of_kind(lines, "params").at(0).at("values");
    CHECK(v.at("latin1") == "caf\xef\xbf\xbd");  // U+FFFD
    CHECK(v.at("ok") == "caf\xc3\xa9");
    const auto run = read_run(dir.path() / "exp" / "r");
    CHECK(run.params.at("latin1").as_string() == "caf\xef\xbf\xbd");
    CHECK(run.artifacts.at(0).framework == "xgb\xef\xbf\xbd");
    CHECK(run.artifacts.at(0).source == "gs://bucket/m\xef\xbf\xbd.bin");
}

TEST_CASE("log_model copies a file into artifacts/ with its size and SHA-256") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    const auto model_file = dir.path() / "src" / "model.bst";
    std::string bytes;
    for (int i = 0; i < 100000; ++i) bytes += static_cast<char>(i * 7 + i / 256);
    unit::write_file(model_file, bytes);
    tracker t{quiet("exp"), sinks::jsonl{root}};
    auto r = t.start_run("r");
    const auto a = r.log_model(model_file, {"xgboost", "1.7.4"}, {"", true, {{"note", "best"}}});
    // the copy exists when log_model returns, without a flush
    const auto copy = root / "exp" / "r" / "artifacts" / "model.bst";
    REQUIRE(fs::exists(copy));
    CHECK(unit::read_file(copy) == bytes);
    CHECK_FALSE(fs::exists(root / "exp" / "r" / "artifacts" / "model.bst.partial"));
    CHECK(a.name == "model.bst");
    CHECK(a.type == artifact_type::model);
    CHECK(a.path == "artifacts/model.bst");
    CHECK(a.size == bytes.size());
    CHECK(a.sha256 == sha256sum(model_file));
    CHECK(a.source == fs::absolute(model_file).lexically_normal().string());
    CHECK_FALSE(a.directory);
    // logging the same name again replaces the copy
    unit::write_file(model_file, "v2");
    const auto a2 = r.log_model(model_file, {"xgboost", "1.7.4"});
    CHECK(unit::read_file(copy) == "v2");
    CHECK(a2.size == 2);
    r.end();
    t.flush();
    const auto arts = unit::of_kind(lines_of(root, "exp", "r"), "artifact");
    REQUIRE(arts.size() == 2);
    const auto& j = arts[0];
    CHECK(j.at("type") == "model");
    CHECK(j.at("name") == "model.bst");
    CHECK(j.at("path") == "artifacts/model.bst");
    CHECK(j.at("size") == bytes.size());
    CHECK(j.at("sha256") == a.sha256);
    CHECK(j.at("framework") == "xgboost");
    CHECK(j.at("framework_version") == "1.7.4");
    CHECK(j.at("directory") == false);
    CHECK(j.at("source") == a.source);
    CHECK(j.at("metadata") == nlohmann::json{{"note", "best"}});
    CHECK(arts[1].at("sha256") == sha256sum(model_file));
    CHECK_FALSE(arts[1].contains("metadata"));
}

TEST_CASE("log_model copies a folder; the digest is over the sorted manifest") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    const auto src = dir.path() / "ckpt";
    unit::write_file(src / "weights.bin", std::string(5000, '\x01'));
    unit::write_file(src / "config.json", "{\"layers\": 3}");
    unit::write_file(src / "sub" / "deeper" / "a.txt", "a");
    unit::write_file(src / "sub" / "b.txt", "");
    fs::create_directories(src / "empty-folder");
    std::uint64_t expected_size = 0;
    const auto expected = folder_digest(src, dir.path() / "manifest", expected_size);
    tracker t{quiet("exp"), sinks::jsonl{root}};
    auto r = t.start_run("r");
    const auto a = r.log_model(src, {"libtorch", "2.1"});
    CHECK(a.directory);
    CHECK(a.name == "ckpt");
    CHECK(a.size == expected_size);
    CHECK(a.size == 5000 + 13 + 1);
    CHECK(a.sha256 == expected);
    const auto copy = root / "exp" / "r" / "artifacts" / "ckpt";
    CHECK(unit::read_file(copy / "weights.bin") == std::string(5000, '\x01'));
    CHECK(unit::read_file(copy / "sub" / "deeper" / "a.txt") == "a");
    CHECK(fs::exists(copy / "sub" / "b.txt"));
    // a folder given with a trailing slash is the same folder, with the same name
    const auto b = r.log_model(src.string() + "/", {}, {"ckpt-again", true, {}});
    CHECK(b.sha256 == expected);
    const auto c = r.log_artifact(src.string() + "/");
    CHECK(c.name == "ckpt");
    CHECK(c.type == artifact_type::artifact);
    r.end();
    t.flush();
    const auto arts = unit::of_kind(lines_of(root, "exp", "r"), "artifact");
    REQUIRE(arts.size() == 3);
    CHECK(arts[0].at("directory") == true);
    CHECK(arts[0].at("size") == expected_size);
    CHECK(arts[0].at("sha256") == expected);
    CHECK(arts[0].at("path") == "artifacts/ckpt");
}

TEST_CASE("references: copy = false and URIs are not copied") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    const auto f = dir.path() / "huge.ckpt";
    unit::write_file(f, "checkpoint");
    tracker t{quiet("exp"), sinks::jsonl{root}};
    auto r = t.start_run("r");
    const auto a = r.log_model(f, {}, {"", false, {}});
    CHECK(a.path.empty());
    CHECK(a.size == 10);
    CHECK(a.sha256 == sha256sum(f));  // measured, not copied
    const auto u = r.log_model("gs://bucket/models/model.bst", {"xgboost", "1.7.4"});
    CHECK(u.name == "model.bst");
    CHECK(u.source == "gs://bucket/models/model.bst");
    CHECK(u.path.empty());
    CHECK(u.size == 0);
    CHECK(u.sha256.empty());
    const auto folder_uri = r.log_model("gs://bucket/models/run-7/", {"tensorflow", "2.15"});
    CHECK(folder_uri.name == "run-7");  // a Vertex model folder URI ends with '/'
    const auto named = r.log_artifact("s3://b/x.csv", {"train-set", true, {}}, artifact_type::dataset);
    CHECK(named.name == "train-set");
    CHECK(named.type == artifact_type::dataset);
    r.end();
    t.flush();
    CHECK_FALSE(fs::exists(root / "exp" / "r" / "artifacts"));
    const auto arts = unit::of_kind(lines_of(root, "exp", "r"), "artifact");
    REQUIRE(arts.size() == 4);
    CHECK_FALSE(arts[0].contains("path"));
    CHECK(arts[0].at("sha256") == a.sha256);
    CHECK_FALSE(arts[1].contains("path"));
    CHECK_FALSE(arts[1].contains("sha256"));
    CHECK(arts[1].at("size") == 0);
    CHECK(arts[3].at("type") == "dataset");
}

TEST_CASE("log_model errors: missing path io.2, bad names") {
    unit::temp_dir dir;
    tracker t{quiet("exp"), sinks::jsonl{dir.path() / "mlruns"}};
    auto r = t.start_run("r");
    CHECK_ERROR_ID("io.2", r.log_model(dir.path() / "nope.bin"));
    const auto what = unit::error_of([&] { r.log_model(dir.path() / "nope.bin"); });
    CHECK(what.find("nope.bin") != std::string::npos);
    CHECK_ERROR_ID("io.3", r.log_model("/dev/null"));  // neither a file nor a folder
    unit::write_file(dir.path() / "ok.bin", "x");
    CHECK_ERROR_ID("name.3", r.log_model(dir.path() / "ok.bin", {}, {"my model", true, {}}));
    CHECK_ERROR_ID("name.4", r.log_model(dir.path() / "ok.bin", {}, {"..", true, {}}));
    CHECK_ERROR_ID("name.3", r.log_model(dir.path() / "ok.bin", {}, {"a/b", true, {}}));
    unit::write_file(dir.path() / "bad name.bin", "x");
    CHECK_ERROR_ID("name.3", r.log_model(dir.path() / "bad name.bin"));
    r.end();
    t.flush();
    CHECK(unit::of_kind(lines_of(dir.path() / "mlruns", "exp", "r"), "artifact").empty());
}

TEST_CASE("an artifact name with '..' inside stays in the run folder and reads back") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    unit::write_file(dir.path() / "model..v2.bin", "weights");
    {
        tracker t{quiet("exp"), sinks::jsonl{root}};
        auto r = t.start_run("r");
        const auto a = r.log_model(dir.path() / "model..v2.bin");
        CHECK(a.path == "artifacts/model..v2.bin");
    }
    CHECK(unit::read_file(root / "exp" / "r" / "artifacts" / "model..v2.bin") == "weights");
    const auto run = read_run(root / "exp" / "r");
    REQUIRE(run.artifacts.size() == 1);
    CHECK(run.artifact_path(run.artifacts[0]) == root / "exp" / "r" / "artifacts" / "model..v2.bin");
}

namespace {

/// Changes the current directory for a scope.
struct in_directory {
    fs::path before = fs::current_path();
    explicit in_directory(const fs::path& p) { fs::current_path(p); }
    ~in_directory() { fs::current_path(before); }
};

}  // namespace

TEST_CASE("log_artifact of a folder that contains the run's root is refused (value.10), nothing copied") {
    unit::temp_dir dir;
    unit::write_file(dir.path() / "work" / "data.bin", std::string(1000, 'd'));
    in_directory cd(dir.path() / "work");
    std::vector<std::string> errors;
    config c = quiet("exp", &errors);
    c.dispatch = dispatch_mode::inline_;
    tracker t{c, sinks::jsonl{"mlruns"}};  // the root inside the working directory
    auto r = t.start_run("r");
    const auto what = unit::error_of([&] { (void)r.log_artifact("."); });
    CHECK(unit::has_id(what, "value.10"));
    CHECK(what.find("it would copy itself") != std::string::npos);
    // the run folder itself, and a folder holding a link to the root, are refused the same way
    CHECK(unit::has_id(unit::error_of([&] { (void)r.log_artifact("mlruns/exp/r"); }), "value.10"));
    fs::create_directories(dir.path() / "other");
    fs::create_directory_symlink(dir.path() / "work", dir.path() / "other" / "link");
    CHECK(unit::has_id(unit::error_of([&] { (void)r.log_artifact(dir.path() / "other"); }), "value.10"));
    r.end();
    const auto run_dir = dir.path() / "work" / "mlruns" / "exp" / "r";
    std::size_t entries = 0;
    if (fs::exists(run_dir / "artifacts"))
        for (const auto& e : fs::directory_iterator(run_dir / "artifacts")) (void)e, ++entries;
    CHECK(entries == 0);  // no copy, no partial copy
    const auto arts = unit::of_kind(unit::parse_jsonl(run_dir / "events.jsonl"), "artifact");
    REQUIRE(arts.size() == 3);  // recorded as references, with the reason
    CHECK_FALSE(arts[0].contains("path"));
    CHECK(arts[0].at("metadata").at("copy_error").get<std::string>().find("artifact 'work'") == 0);
}

TEST_CASE("a relative root is resolved once: a chdir() during the run changes where nothing goes") {
    unit::temp_dir dir;
    unit::write_file(dir.path() / "a" / "m.bin", "model");
    fs::create_directories(dir.path() / "b");
    in_directory cd(dir.path() / "a");
    config c = quiet("exp");
    c.dispatch = dispatch_mode::inline_;
    tracker t{c, sinks::jsonl{"mlruns"}};
    auto r = t.start_run("r");
    fs::current_path(dir.path() / "b");
    const auto a = r.log_model(dir.path() / "a" / "m.bin");
    auto r2 = t.start_run("r2");
    r2.end();
    r.end();
    CHECK(a.path == "artifacts/m.bin");
    CHECK(unit::read_file(dir.path() / "a" / "mlruns" / "exp" / "r" / "artifacts" / "m.bin") == "model");
    CHECK(fs::exists(dir.path() / "a" / "mlruns" / "exp" / "r2" / "events.jsonl"));
    CHECK_FALSE(fs::exists(dir.path() / "b" / "mlruns"));
}

TEST_CASE("log_execution: lineage round trip") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    unit::write_file(dir.path() / "model.bst", "m");
    {
        tracker t{quiet("exp"), sinks::jsonl{root}};
        auto r = t.start_run("r");
        const auto model = r.log_model(dir.path() / "model.bst", {"xgboost", "1.7.4"});
        execution e;
        e.name = "train step/1";
        e.state = run_state::failed;
        e.inputs.push_back(artifact::reference("train-set", "gs://bucket/train.csv"));
        e.inputs.push_back(artifact::reference("base-model", "gs://bucket/base", artifact_type::model));
        e.outputs.push_back(model);
        e.metadata = {{"epochs", 3}, {"host", "node-1"}};
        r.log_execution(e);
        execution minimal;
        minimal.name = "eval";
        r.log_execution(minimal);
        // validation
        execution bad = minimal;
        bad.name = "";
        CHECK_ERROR_ID("name.1", r.log_execution(bad));
        bad = minimal;
        bad.schema_title = "a\nb";
        CHECK_ERROR_ID("name.6", r.log_execution(bad));
        bad = minimal;
        bad.inputs.push_back(artifact::reference("../etc", "gs://x"));
        CHECK_ERROR_ID("name.4", r.log_execution(bad));
        bad = minimal;
        artifact nothing;
        nothing.name = "nothing";
        bad.outputs.push_back(nothing);
        CHECK_ERROR_ID("value.4", r.log_execution(bad));
    }
    const auto ex = unit::of_kind(lines_of(root, "exp", "r"), "execution");
    REQUIRE(ex.size() == 2);
    CHECK(ex[0].at("name") == "train step/1");
    CHECK(ex[0].at("schema_title") == "system.ContainerExecution");
    CHECK(ex[0].at("state") == "FAILED");
    REQUIRE(ex[0].at("inputs").size() == 2);
    CHECK(ex[0].at("inputs")[0].at("type") == "dataset");
    CHECK(ex[0].at("inputs")[0].at("source") == "gs://bucket/train.csv");
    CHECK(ex[0].at("inputs")[1].at("type") == "model");
    CHECK(ex[0].at("outputs")[0].at("path") == "artifacts/model.bst");
    CHECK(ex[0].at("metadata").at("epochs") == 3);
    CHECK(ex[1].at("inputs").empty());
    CHECK(ex[1].at("state") == "COMPLETE");
    CHECK_FALSE(ex[1].contains("metadata"));
    const auto run = read_run(root / "exp" / "r");
    REQUIRE(run.executions.size() == 2);
    const auto& e = run.executions[0];
    CHECK(e.name == "train step/1");
    CHECK(e.state == run_state::failed);
    REQUIRE(e.inputs.size() == 2);
    CHECK(e.inputs[0].name == "train-set");
    CHECK(e.inputs[0].type == artifact_type::dataset);
    CHECK(e.inputs[1].type == artifact_type::model);
    REQUIRE(e.outputs.size() == 1);
    CHECK(e.outputs[0].framework == "xgboost");
    CHECK(e.outputs[0].sha256 == sha256sum(dir.path() / "model.bst"));
    CHECK(e.metadata.at("host") == "node-1");
}

TEST_CASE("log_classification_metrics validates before logging") {
    sinks::memory mem;
    auto cfg = quiet("exp");
    cfg.dispatch = dispatch_mode::inline_;
    tracker t{cfg, mem};
    auto r = t.start_run("r");
    CHECK_ERROR_ID("shape.3", r.log_classification_metrics({"a", "b"}, {{1, 2}, {3}}));
    CHECK_ERROR_ID("shape.6", r.log_classification_metrics({}, {}));
    CHECK_ERROR_ID("value.2", r.log_classification_metrics({}, {}, {std::nan("")}, {0.5}, {0.5}));
    CHECK_ERROR_ID("name.6", r.log_classification_metrics({"a\n"}, {{1}}));
    CHECK_ERROR_ID("name.1", r.log_classification_metrics({""}, {{1}}));
    CHECK_ERROR_ID("name.5", r.log_classification_metrics({"a"}, {{1}}, {}, {}, {}, "\xff"));
    CHECK(mem.count(record_kind::classification) == 0);
    r.log_classification_metrics({"cat", "dog"}, {{9, 1}, {2, 8}}, {0.1, 0.5}, {0.6, 0.9}, {0.9, 0.1}, "validation");
    const auto e = mem.entries();
    REQUIRE(mem.count(record_kind::classification) == 1);
    const auto& c = e.back().payload->get_classification();
    CHECK(c.display_name == "validation");
    CHECK(c.matrix[1][0] == 2);
}

TEST_CASE("log_time_series: one wall time for all values; NaN and infinities kept") {
    sinks::memory mem;
    auto cfg = quiet("exp");
    cfg.dispatch = dispatch_mode::inline_;
    tracker t{cfg, mem};
    auto r = t.start_run("r");
    r.log_time_series({{"val/loss", 0.3}, {"val/acc", std::nan("")}, {"inf", -HUGE_VAL}}, 7);
    r.log_time_series(named_values<double>{{"val/loss", 0.2}}, -3);
    const auto e = mem.entries();
    REQUIRE(e.size() == 5);
    CHECK(e[1].time_ns == e[2].time_ns);
    CHECK(e[2].time_ns == e[3].time_ns);
    CHECK(e[1].step == 7);
    CHECK(std::isnan(e[2].value));
    CHECK(e[3].value == -HUGE_VAL);
    CHECK(e[4].step == -3);
}

TEST_CASE("steps: a point without a step takes its metric's next step; explicit steps count") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        auto loss = r.metric("loss");
        loss.log(0.5);          // 1
        loss.log(0.4);          // 2
        r.log("acc", 0.1);      // 1: per metric
        loss.log(0.3, 10);      // explicit
        loss.log(0.2);          // 11
        loss.log(0.1, 3);       // a lower explicit step is kept as logged
        loss.log(0.05);         // 12: after the highest
        r.log("acc", 0.2);      // 2
    }
    const auto run = read_run(dir / "exp" / "r");
    std::vector<std::int64_t> loss, acc;
    for (const auto& p : run.series.at("loss")) loss.push_back(p.step);
    for (const auto& p : run.series.at("acc")) acc.push_back(p.step);
    CHECK(loss == std::vector<std::int64_t>{1, 2, 10, 11, 3, 12});
    CHECK(acc == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("steps: log_time_series without a step puts every value at the run's next step") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        r.log_time_series({{"loss", 1.0}, {"acc", 0.1}});  // 1
        r.log_time_series({{"loss", 0.9}});                // 2
        r.log_time_series({{"val", 0.5}});                 // 3: the run's next, not val's first
        r.log("loss", 0.8, 7);
        r.log_time_series(named_values<double>{{"loss", 0.7}, {"val", 0.4}});  // 8
        CHECK_ERROR_ID("name.1", r.log_time_series({{"", 1.0}}));
    }
    const auto lines = unit::of_kind(lines_of(dir.path(), "exp", "r"), "metrics");
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].at("step") == 1);
    CHECK(lines[0].at("values") == nlohmann::json({{"loss", 1.0}, {"acc", 0.1}}));  // one line: one time
    CHECK(lines[1].at("step") == 2);
    CHECK(lines[2].at("step") == 3);
    CHECK(lines[3].at("step") == 7);
    CHECK(lines[4].at("step") == 8);
    CHECK(lines[4].at("values").size() == 2);
}

TEST_CASE("steps: points without a step from several threads take distinct steps, in each thread's order") {
    unit::temp_dir dir;
    const int threads = 4, per = 2000;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        auto m = r.metric("x");
        std::vector<std::thread> ts;
        for (int k = 0; k < threads; ++k)
            ts.emplace_back([&, k] {
                for (int i = 0; i < per; ++i) m.log(k * 1e6 + i);
            });
        for (auto& th : ts) th.join();
    }
    const auto run = read_run(dir / "exp" / "r");
    const auto& pts = run.series.at("x");
    REQUIRE(pts.size() == static_cast<std::size_t>(threads * per));
    std::map<int, std::int64_t> last_step;
    std::set<std::int64_t> steps;
    for (const auto& p : pts) {
        const int k = static_cast<int>(p.value / 1e6);
        CHECK(p.step > last_step[k]);  // a thread's points keep their order
        last_step[k] = p.step;
        steps.insert(p.step);
    }
    CHECK(steps.size() == pts.size());
    CHECK(*steps.begin() == 1);
    CHECK(*steps.rbegin() == threads * per);
}

TEST_CASE("steps: a resumed run's points without a step continue after the steps in its file") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        r.log("loss", 1.0, 40);
        r.log("acc", 0.5);  // 1
    }
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r", start_mode::resume);
        r.log("loss", 0.9);                 // 41
        r.log("acc", 0.6);                  // 2
        r.log("new", 0.1);                  // 1
        r.log_time_series({{"acc", 0.7}});  // 42: the run's next
    }
    {  // a sink without steps (memory) next to it changes nothing
        sinks::memory mem;
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}, mem};
        auto r = t.start_run("r", start_mode::resume);
        r.log("loss", 0.8);  // 42
    }
    const auto run = read_run(dir / "exp" / "r");
    CHECK(run.series.at("loss").back().step == 42);
    CHECK(run.series.at("loss")[1].step == 41);
    CHECK(run.series.at("acc")[1].step == 2);
    CHECK(run.series.at("acc")[2].step == 42);
    CHECK(run.series.at("new")[0].step == 1);
}

TEST_CASE("summary metrics take strings: kept apart from numbers, latest value of a key wins across kinds") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        r.log_metrics({{"acc", 0.97}, {"best_model", "resnet"}, {"epochs", 12}, {"looks_like", "NaN"}});
        r.log_metrics({{"acc", "n/a"}});                  // a number becomes a string
        r.log_metrics({{"best_model", 2.5}});             // and back
        r.log_metrics(named_values<summary_value>{{"note", std::string("ok")}});
        CHECK_ERROR_ID("value.6", r.log_metrics({{"huge", std::string(65537, 'x')}}));
        CHECK_ERROR_ID("name.1", r.log_metrics({{"", "x"}}));
    }
    const auto lines = unit::of_kind(lines_of(dir.path(), "exp", "r"), "summary");
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].at("values") == nlohmann::json({{"acc", 0.97}, {"epochs", 12.0}}));
    CHECK(lines[0].at("text") == nlohmann::json({{"best_model", "resnet"}, {"looks_like", "NaN"}}));
    CHECK(lines[1].at("values").empty());
    CHECK(lines[2].count("text") == 0);
    const auto run = read_run(dir / "exp" / "r");
    CHECK(run.summary_text.at("acc") == "n/a");
    CHECK(run.summary.count("acc") == 0);
    CHECK(run.summary.at("best_model") == 2.5);
    CHECK(run.summary_text.count("best_model") == 0);
    CHECK(run.summary_text.at("looks_like") == "NaN");  // a string, not a NaN number
    CHECK(run.summary.at("epochs") == 12.0);
    CHECK(run.summary_text.at("note") == "ok");
    REQUIRE(run.records[1].kind == record_kind::summary);
    CHECK(run.records[1].texts.size() == 2);
}

TEST_CASE("curves the MLflow and W&B ways: log(d, step), log_metrics(d, step), log(d); summaries by log_summary") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto run = t.start_run("r");
        run.log({{"loss", 1.0}, {"acc", 0.1}}, 0);
        run.log_metrics({{"loss", 0.5}, {"acc", 0.2}}, 1);  // with a step: points of curves
        std::map<std::string, double> m{{"loss", 0.25}, {"acc", 0.3}};
        run.log(m, 2);
        std::unordered_map<std::string, double> um{{"loss", 0.125}};
        run.log(um);  // no step: the run's next step, 3
        run.log_metrics({{"final_loss", 0.125}});          // without a step: a summary (the Vertex AI SDK's)
        run.log_summary({{"best", "epoch 3"}, {"epochs", 4}});
        run.log_summary(std::map<std::string, double>{{"auc", 0.9}});
        run.log_params(std::map<std::string, int>{{"batch", 64}});
        run.log_params(std::map<std::string, param_value>{{"lr", 0.01}, {"opt", "adam"}});
    }
    const auto r = read_run(dir / "exp" / "r");
    std::vector<std::int64_t> steps;
    for (const auto& p : r.series.at("loss")) steps.push_back(p.step);
    CHECK(steps == std::vector<std::int64_t>{0, 1, 2, 3});
    CHECK(r.series.at("acc").size() == 3);
    CHECK(r.summary.at("final_loss") == 0.125);
    CHECK(r.summary.at("auc") == 0.9);
    CHECK(r.summary.at("epochs") == 4);
    CHECK(r.summary_text.at("best") == "epoch 3");
    CHECK(r.params.at("batch").as_int() == 64);
    CHECK(r.params.at("opt").as_string() == "adam");
    CHECK(!r.series.count("final_loss"));
}

TEST_CASE("last_step: what the run reached, in this opening and, after a resume, in the sinks") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto run = t.start_run("r");
        CHECK(!run.last_step());
        CHECK(!run.last_step("loss"));
        for (int s = 0; s < 10; ++s) run.log("loss", 1.0 / (s + 1), s);
        run.log("acc", 0.5, 20);
        CHECK(run.last_step() == std::int64_t{20});
        CHECK(run.last_step("loss") == std::int64_t{9});
        CHECK(!run.last_step("never"));
        CHECK_ERROR_ID("name.6", run.last_step("bad\nkey"));
    }
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};  // a new process, say: the JSONL file answers
        auto run = t.start_run("r", start_mode::resume);
        CHECK(run.last_step("loss") == std::int64_t{9});
        CHECK(run.last_step() == std::int64_t{20});
        const auto next = run.last_step("loss").value_or(-1) + 1;
        run.log("loss", 0.05, next);
        CHECK(run.last_step("loss") == std::int64_t{10});
        run.end();
        CHECK_ERROR_ID("state.3", run.last_step());
    }
}

TEST_CASE("tags: set_tag, set_tags (a map too), tags at start; JSONL lines, the reader, the latest value wins") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto run = t.start_run("r", start_mode::create, {}, {{"team", "vision"}, {"stage", "dev"}});
        run.set_tag("stage", "prod");
        run.set_tags(std::map<std::string, std::string>{{"dataset", u8"imagenet-1k \u503c"}});
        CHECK_ERROR_ID("name.1", run.set_tag("", "x"));
        CHECK_ERROR_ID("value.6", run.set_tag("big", std::string(70000, 'x')));
    }
    const auto lines = unit::parse_jsonl(dir / "exp" / "r" / "events.jsonl");
    const auto tags = unit::of_kind(lines, "tags");
    REQUIRE(tags.size() == 3);
    CHECK(tags[0].at("values") == nlohmann::json{{"team", "vision"}, {"stage", "dev"}});
    const auto r = read_run(dir / "exp" / "r");
    CHECK(r.tags == std::map<std::string, std::string>{{"team", "vision"}, {"stage", "prod"}, {"dataset", u8"imagenet-1k \u503c"}});
}
