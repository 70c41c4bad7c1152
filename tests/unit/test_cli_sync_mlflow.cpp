// `mltrack sync ROOT --to mlflow:URI`: runs logged offline to JSONL (or live while the server was down)
// reach the fake MLflow server through the real command and libcurl, a second sync sends nothing, points
// logged after a sync go into the same MLflow run, a sync interrupted by faults duplicates nothing, and a run
// partly delivered live is completed without duplicates.
#include <doctest/doctest.h>

#include <mltrack/mltrack.hpp>
#include <mltrack/sinks/mlflow.hpp>

#include <string>

#include "../mlflow/mlflow_fixture.hpp"
#include "cli/cli_support.hpp"

using namespace mlflow_test;
namespace fs = std::filesystem;

namespace {

mltrack::config offline(const std::string& experiment) {
    mltrack::config c{experiment};
    c.dispatch = mltrack::dispatch_mode::inline_;
    return c;
}

void log_steps(const fs::path& root, mltrack::start_mode mode, int first, int last) {
    mltrack::tracker t{offline("exp-sync"), mltrack::sinks::jsonl{root}};
    auto run = t.start_run("run-1", mode);
    if (mode == mltrack::start_mode::create) run.log_params({{"lr", 0.5}, {"optimizer", "sgd"}});
    auto loss = run.metric("loss");
    for (int s = first; s <= last; ++s) loss.log(1.0 / s, s);
    run.log_metrics({{"final", 1.0 / last}});
}

}  // namespace

TEST_CASE("mltrack sync --to mlflow: idempotent and incremental, into one MLflow run") {
    if (cli_test::skip_without_binary()) return;
    fixture f;
    unit::temp_dir dir;
    const fs::path root = dir / "mlruns";
    log_steps(root, mltrack::start_mode::create, 1, 50);
    const std::string dest = "mlflow:" + f.server.url();

    auto r = cli_test::run({"sync", root.string(), "--to", dest});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("synced 1 run") != std::string::npos);
    auto st = f.server.state();
    auto runs = f.runs_named(st, "exp-sync", "run-1");
    REQUIRE(runs.size() == 1);
    CHECK(history(runs[0], "loss").size() == 50);
    CHECK(runs[0]["params"]["lr"] == "0.5");
    CHECK(runs[0]["info"]["status"] == "FINISHED");
    CHECK(runs[0]["tags"]["mlflow.runName"] == "run-1");
    CHECK(runs[0]["tags"]["mlflow.source.type"] == "LOCAL");

    // Again: nothing new is sent.
    const auto before = f.server.state()["requests"].dump();
    r = cli_test::run({"sync", root.string(), "--to", dest});
    REQUIRE(r.status == 0);
    CHECK(r.out.find("synced 0 runs") != std::string::npos);
    CHECK(f.server.state()["requests"].dump() == before);

    // The run goes on offline; the next sync sends only the new points, into the same MLflow run.
    log_steps(root, mltrack::start_mode::resume, 51, 80);
    r = cli_test::run({"sync", root.string(), "--to", dest});
    REQUIRE(r.status == 0);
    st = f.server.state();
    runs = f.runs_named(st, "exp-sync", "run-1");
    REQUIRE(runs.size() == 1);
    const auto h = history(runs[0], "loss");
    REQUIRE(h.size() == 80);
    for (int s = 1; s <= 80; ++s) CHECK(h[static_cast<std::size_t>(s - 1)].first == s);
    CHECK(runs[0]["info"]["status"] == "FINISHED");
    CHECK(st["validation_errors"].empty());

    // Usage errors name the expected form.
    r = cli_test::run({"sync", root.string(), "--to", "mlflow:file:///tmp/x"});
    CHECK(r.status == 2);
    CHECK(r.err.find("mlflow:http://") != std::string::npos);
}

TEST_CASE("mltrack sync --to mlflow: a server down for the whole run, then a sync under faults, once") {
    if (cli_test::skip_without_binary()) return;
    fixture f;
    unit::temp_dir dir;
    const fs::path root = dir / "mlruns";
    {
        // Live logging while the server is down: JSONL keeps everything.
        mltrack::sinks::mlflow_options o;
        o.tracking_uri = "http://127.0.0.1:9";
        o.close_timeout = std::chrono::milliseconds(200);
        o.connect_timeout = std::chrono::milliseconds(100);
        mltrack::tracker t{f.config("exp-down"), mltrack::sinks::jsonl{root}, mltrack::sinks::mlflow{o}};
        auto run = t.start_run("r");
        run.log_params({{"seed", 1}});
        auto m = run.metric("loss");
        for (int s = 0; s < 3000; ++s) m.log(s * 0.25, s);
    }
    CHECK(f.joined_errors().find("[mltrack.error.io.44]") != std::string::npos);

    // The server is back, flaky: 20% of requests meet 429, 503 or a reset (applied or not).
    f.server.faults({{{"probability", 0.05}, {"kind", "status"}, {"status", 429}, {"retry_after", 0}},
                     {{"probability", 0.05 / 0.95}, {"kind", "status"}, {"status", 503}},
                     {{"probability", 0.05 / 0.90}, {"kind", "reset"}},
                     {{"probability", 0.05 / 0.85}, {"kind", "reset_after"}}},
                    3);
    const std::string dest = "mlflow:" + f.server.url();
    cli_test::result r;
    for (int attempt = 0; attempt < 5; ++attempt) {  // a sync that fails leaves its cursor: run it again
        r = cli_test::run({"sync", root.string(), "--to", dest});
        if (r.status == 0) break;
    }
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    const auto st = f.server.state();
    INFO(st["faults_injected"].dump());
    CHECK_FALSE(st["faults_injected"].empty());
    const auto runs = f.runs_named(st, "exp-down", "r");
    REQUIRE(runs.size() == 1);
    const auto h = history(runs[0], "loss");
    REQUIRE(h.size() == 3000);
    for (int s = 0; s < 3000; ++s) CHECK(h[static_cast<std::size_t>(s)] == std::make_pair(std::int64_t{s}, s * 0.25));
    CHECK(runs[0]["params"]["seed"] == "1");
    CHECK(runs[0]["info"]["status"] == "FINISHED");
}

TEST_CASE("mltrack sync --to mlflow: a run partly delivered live is completed, not duplicated") {
    if (cli_test::skip_without_binary()) return;
    fixture f;
    unit::temp_dir dir;
    const fs::path root = dir / "mlruns";
    {
        auto o = f.options();
        o.close_timeout = std::chrono::milliseconds(300);
        mltrack::tracker t{f.config("exp-part"), mltrack::sinks::jsonl{root}, mltrack::sinks::mlflow{o}};
        auto run = t.start_run("r");
        auto m = run.metric("loss");
        for (int s = 0; s < 100; ++s) m.log(s, s);
        t.flush();
        REQUIRE(wait_for_run(f, "exp-part", "r"));
        // The server starts refusing everything: the rest stays in JSONL only.
        f.server.faults({{{"probability", 1.0}, {"kind", "status"}, {"status", 503}}});
        for (int s = 100; s < 200; ++s) m.log(s, s);
    }
    f.server.faults(nlohmann::json::array());
    auto r = cli_test::run({"sync", root.string(), "--to", "mlflow:" + f.server.url()});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    const auto st = f.server.state();
    const auto runs = f.runs_named(st, "exp-part", "r");
    REQUIRE(runs.size() == 1);  // the run of that name is found, not made again
    const auto h = history(runs[0], "loss");
    REQUIRE(h.size() == 200);
    for (int s = 0; s < 200; ++s) CHECK(h[static_cast<std::size_t>(s)].first == s);
}

TEST_CASE("mltrack sync --to mlflow: a model whose files are gone is reported; the rest is sent") {
    if (cli_test::skip_without_binary()) return;
    fixture f;
    unit::temp_dir dir;
    const fs::path root = dir / "mlruns";
    unit::write_file(dir / "model.bin", "weights");
    {
        mltrack::tracker t{offline("exp-gone"), mltrack::sinks::jsonl{root}};
        auto run = t.start_run("r");
        run.log("loss", 0.5, 1);
        (void)run.log_model(dir / "model.bin", {"custom", "1"});
        run.log("loss", 0.25, 2);
    }
    fs::remove(dir / "model.bin");
    fs::remove_all(root / "exp-gone" / "r" / "artifacts");
    auto r = cli_test::run({"sync", root.string(), "--to", "mlflow:" + f.server.url()});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.status == 0);
    CHECK(r.err.find("[mltrack.error.io.45]") != std::string::npos);
    const auto st = f.server.state();
    const auto runs = f.runs_named(st, "exp-gone", "r");
    REQUIRE(runs.size() == 1);
    CHECK(history(runs[0], "loss").size() == 2);
    CHECK(st["artifacts"].empty());
    CHECK(runs[0]["info"]["status"] == "FINISHED");
}
