// store.hpp: the JSONL root as a local store (list, read, delete, load_model), never reaching outside it.
#include <mltrack/store.hpp>
#include <mltrack/tracker.hpp>

#include <string>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {


/// root/<experiment>/<run> for each pair, with a model in the first run of each experiment.
void populate(const fs::path& root, const fs::path& scratch) {
    unit::write_file(scratch / "model.bst", "weights");
    for (const char* exp : {"mnist", "cifar"}) {
        tracker t{unit::inline_config(exp), sinks::jsonl{root}};
        for (const char* name : {"run-b", "run-a", "run-c"}) {
            auto r = t.start_run(name);
            r.log("loss", 0.5, 1);
            if (std::string(name) == "run-b") {
                r.log_model(scratch / "model.bst", {"xgboost", "1.7.4"});
                r.log_model("gs://bucket/remote.bst", {}, {"remote", true, {}});
                r.log_model(scratch / "model.bst", {}, {"by-ref", false, {}});
                r.log_artifact(scratch / "model.bst", {"plain", true, {}});
            }
        }
    }
}

}  // namespace

TEST_CASE("list_experiments and list_runs: sorted, valid names only") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    CHECK(list_experiments(root).empty());  // no root yet
    populate(root, dir.path());
    fs::create_directories(root / ".trash");
    fs::create_directories(root / "has space");
    unit::write_file(root / "a-file", "x");
    fs::create_directories(root / "mnist" / "no-events-yet");
    unit::write_file(root / "mnist" / "stray.txt", "x");
    unit::write_file(root / "mnist" / "-bad" / "events.jsonl", "x");
    CHECK(list_experiments(root) == std::vector<std::string>{"cifar", "mnist"});
    CHECK(list_runs(root, "mnist") == std::vector<std::string>{"run-a", "run-b", "run-c"});
    CHECK(list_runs(root, "unknown").empty());
    CHECK_ERROR_ID("name.4", list_runs(root, ".."));
    CHECK_ERROR_ID("name.3", list_runs(root, "mnist/run-a"));
}

TEST_CASE("read_run(root, experiment, run)") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    populate(root, dir.path());
    const auto run = read_run(root, "mnist", "run-b");
    CHECK(run.name == "run-b");
    CHECK(run.experiment == "mnist");
    CHECK(run.artifacts.size() == 4);
    CHECK_ERROR_ID("io.4", read_run(root, "mnist", "run-z"));
    CHECK_ERROR_ID("name.4", read_run(root, "mnist", ".."));
}

TEST_CASE("load_model: the run's copy, or the source of a reference; state.8 otherwise") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    populate(root, dir.path());
    const auto p = load_model(root, "mnist", "run-b", "model.bst");
    CHECK(p == root / "mnist" / "run-b" / "artifacts" / "model.bst");
    CHECK(unit::read_file(p) == "weights");
    CHECK(load_model(root, "mnist", "run-b", "remote") == fs::path("gs://bucket/remote.bst"));
    CHECK(load_model(root, "mnist", "run-b", "by-ref") == fs::absolute(dir.path() / "model.bst").lexically_normal());
    CHECK_ERROR_ID("state.8", load_model(root, "mnist", "run-b", "plain"));  // an artifact, not a model
    CHECK_ERROR_ID("state.8", load_model(root, "mnist", "run-a", "model.bst"));
    const auto what = unit::error_of([&] { load_model(root, "mnist", "run-a", "model.bst"); });
    CHECK(what == "[mltrack.error.state.8] run 'run-a' has no model named 'model.bst'");
    CHECK_ERROR_ID("io.4", load_model(root, "mnist", "missing", "model.bst"));
    CHECK_ERROR_ID("name.4", load_model(root, "..", "run-b", "model.bst"));
}

TEST_CASE("delete_run and delete_experiment") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    populate(root, dir.path());
    CHECK(fs::exists(root / "mnist" / "run-b" / "artifacts" / "model.bst"));
    delete_run(root, "mnist", "run-b");
    CHECK_FALSE(fs::exists(root / "mnist" / "run-b"));
    CHECK(list_runs(root, "mnist") == std::vector<std::string>{"run-a", "run-c"});
    CHECK(list_runs(root, "cifar").size() == 3);  // the other experiment is untouched
    CHECK_ERROR_ID("state.2", delete_run(root, "mnist", "run-b"));
    CHECK_ERROR_ID("state.2", delete_run(root, "nothing", "run-a"));
    const auto what = unit::error_of([&] { delete_run(root, "mnist", "run-b"); });
    CHECK(what == "[mltrack.error.state.2] run 'run-b' does not exist in experiment 'mnist'");
    // a folder without events.jsonl is not a run
    fs::create_directories(root / "mnist" / "not-a-run");
    CHECK_ERROR_ID("state.2", delete_run(root, "mnist", "not-a-run"));
    CHECK(fs::exists(root / "mnist" / "not-a-run"));
    delete_experiment(root, "mnist");
    CHECK_FALSE(fs::exists(root / "mnist"));
    CHECK(list_experiments(root) == std::vector<std::string>{"cifar"});
    CHECK_ERROR_ID("state.7", delete_experiment(root, "mnist"));
    CHECK(unit::error_of([&] { delete_experiment(root, "mnist"); }) ==
          "[mltrack.error.state.7] experiment 'mnist' does not exist");
}

TEST_CASE("names like '..' are rejected before anything on disk is touched") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    fs::create_directories(root / "exp");
    // victims outside the root, where '..' would lead
    unit::write_file(dir.path() / "victim" / "events.jsonl", "precious");
    unit::write_file(dir.path() / "mlruns-sibling" / "r" / "events.jsonl", "precious");
    unit::write_file(root / "exp" / "events.jsonl", "precious");
    const std::vector<std::string> bad = {"..", ".", "../victim", "/", "", "a/b", "a\\b", std::string("a\0b", 3),
                                          "-x", ".hidden", std::string(200, 'a')};
    for (const auto& name : bad) {
        CAPTURE(detail::printable(name));
        CHECK_THROWS_AS(delete_run(root, "..", "victim"), error);
        CHECK_THROWS_AS(delete_run(root, "exp", name), error);
        CHECK_THROWS_AS(delete_run(root, name, "r"), error);
        CHECK_THROWS_AS(delete_experiment(root, name), error);
        CHECK_THROWS_AS(list_runs(root, name), error);
        CHECK_THROWS_AS(load_model(root, name, "r", "m"), error);
        CHECK_THROWS_AS(load_model(root, "exp", name, "m"), error);
        const auto what = unit::error_of([&] { delete_run(root, "exp", name); });
        CHECK(what.rfind("[mltrack.error.name.", 0) == 0);
    }
    CHECK(unit::read_file(dir.path() / "victim" / "events.jsonl") == "precious");
    CHECK(unit::read_file(dir.path() / "mlruns-sibling" / "r" / "events.jsonl") == "precious");
    CHECK(unit::read_file(root / "exp" / "events.jsonl") == "precious");
    CHECK(fs::exists(root / "exp"));
}

TEST_CASE("a symbolic link loop in the root is skipped and reported, never thrown by a listing") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    populate(root, dir.path());
    fs::create_symlink("loop-exp", root / "loop-exp");          // a link to itself, among the experiments
    fs::create_symlink("loop-run", root / "mnist" / "loop-run");  // and among the runs
    std::vector<std::string> problems;
    CHECK(list_experiments(root, &problems) == std::vector<std::string>{"cifar", "mnist"});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("loop-exp: skipped: ") != std::string::npos);
    problems.clear();
    CHECK(list_runs(root, "mnist", &problems) == std::vector<std::string>{"run-a", "run-b", "run-c"});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("loop-run: skipped: ") != std::string::npos);
    CHECK(list_runs(root, "mnist").size() == 3);  // without a problems list: skipped silently
    problems.clear();
    CHECK(read_experiment(root, "mnist", {}, &problems).size() == 3);
    CHECK(problems.size() == 1);
    CHECK_THROWS_AS((void)read_run(root / "mnist" / "loop-run"), error);  // io.4, not filesystem_error
}
