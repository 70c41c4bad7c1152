// Fault tests of sinks/mlflow.hpp against the fake MLflow server: throttling, server errors and connection
// resets (before a request is applied, and after it was applied with the answer lost) on every endpoint;
// the final server state must hold everything exactly once. Also a server that is down for the whole run,
// and the bound on what the sink keeps while it waits (needs -lcurl).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include <mltrack/sinks/mlflow.hpp>

#include "../mlflow/mlflow_fixture.hpp"

using namespace mlflow_test;
namespace sinks = mltrack::sinks;

namespace {

/// The value the tests log for metric m at step s (distinct for every point).
double value_of(int m, int s) { return m * 100000.0 + s * 0.5; }

const char* const metric_names[] = {"train/loss", "train/accuracy", "val/loss", "lr"};

/// Checks that a run holds its 4 metrics with every step exactly once, and its params.
void check_run(const nlohmann::json& r, int steps) {
    CHECK(r["info"]["status"] == "FINISHED");
    CHECK(r["params"]["seed"] == "42");
    CHECK(r["params"]["optimizer"] == "sgd");
    for (int m = 0; m < 4; ++m) {
        const auto h = history(r, metric_names[m]);
        CAPTURE(metric_names[m]);
        REQUIRE(h.size() == static_cast<std::size_t>(steps));
        for (int s = 0; s < steps; ++s) {
            CHECK(h[static_cast<std::size_t>(s)].first == s);
            CHECK(h[static_cast<std::size_t>(s)].second == value_of(m, s));
        }
    }
}

void log_run(mltrack::tracker& t, const std::string& name, int steps) {
    auto run = t.start_run(name);
    run.log_params({{"seed", 42}, {"optimizer", "sgd"}});
    std::vector<mltrack::metric_handle> ms;
    for (const char* n : metric_names) ms.push_back(run.metric(n));
    for (int s = 0; s < steps; ++s)
        for (int m = 0; m < 4; ++m) ms[static_cast<std::size_t>(m)].log(value_of(m, s), s);
    run.end();
}

}  // namespace

TEST_CASE("mlflow faults: 20% throttling, server errors and resets lose and duplicate nothing") {
    fixture f;
    const int steps = 1500;
    // Each request meets a fault with probability 0.2 in all: 429 (with Retry-After 0), 500, 503, a reset
    // before the server applies it, and a reset after it applied it (the answer is lost: the sink sends the
    // same request again, which must not duplicate anything).
    f.server.faults({{{"probability", 0.04}, {"kind", "status"}, {"status", 429}, {"retry_after", 0}},
                     {{"probability", 0.04 / 0.96}, {"kind", "status"}, {"status", 500}},
                     {{"probability", 0.04 / 0.92}, {"kind", "status"}, {"status", 503}},
                     {{"probability", 0.04 / 0.88}, {"kind", "reset"}},
                     {{"probability", 0.04 / 0.84}, {"kind", "reset_after"}}},
                    7);
    auto o = f.options();
    o.max_metrics_per_request = 200;  // more requests, so more faults
    {
        mltrack::tracker t{f.config("faulty"), sinks::mlflow{o}};
        log_run(t, "run-a", steps);
        log_run(t, "run-b", steps);
    }
    const auto st = f.server.state();
    INFO(f.joined_errors());
    INFO(st["faults_injected"].dump());
    CHECK(st["validation_errors"].empty());
    for (const char* k : {"status:429", "status:500", "status:503", "reset", "reset_after"})
        CHECK(st["faults_injected"].value(k, 0) > 0);
    int named = 0;
    for (const auto& e : st["experiments"]) named += e["name"] == "faulty";
    CHECK(named == 1);
    for (const char* name : {"run-a", "run-b"}) {
        const auto runs = f.runs_named(st, "faulty", name);
        REQUIRE(runs.size() == 1);
        check_run(runs[0], steps);
    }
    // Only retry notices were reported (io.46), never a loss.
    for (const auto& e : f.errors) CHECK(e.find("[mltrack.error.io.46]") != std::string::npos);
}

TEST_CASE("mlflow faults: a server down for the whole run: the tracker never waits on it, JSONL has all") {
    mlflow_env env;
    unit::temp_dir dir;
    std::vector<std::string> errors;
    sinks::mlflow_options o;
    o.tracking_uri = "http://127.0.0.1:9";  // discard port: nothing listens
    o.backoff_initial = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(50);
    o.close_timeout = std::chrono::milliseconds(300);
    o.connect_timeout = std::chrono::milliseconds(200);
    mltrack::config c{"down"};
    c.on_error = [&](const mltrack::sink_error& e) { errors.push_back(e.message); };
    sinks::mlflow sink{o};
    const auto monitor = sink.monitor();
    {
        mltrack::tracker t{c, sinks::jsonl{dir / "mlruns"}, std::move(sink)};
        log_run(t, "r", 500);
        CHECK(t.stats().dropped == 0);
    }
    const auto s = monitor.stats();
    CHECK(s.points_sent == 0);
    CHECK(s.undelivered_points == 2000);
    CHECK(s.transport_errors > 0);
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    INFO(all);
    CHECK(all.find("[mltrack.error.io.44]") != std::string::npos);
    // The JSONL copy is complete: `mltrack sync --to mlflow:URI` sends it later (test_cli_sync_mlflow).
    std::size_t points = 0;
    for (const auto& l : unit::parse_jsonl(dir / "mlruns" / "down" / "r" / "events.jsonl"))
        if (l["kind"] == "metrics") points += l["values"].size();
    CHECK(points == 2000);
}

TEST_CASE("mlflow faults: what waits for the server is bounded, and what is not kept is counted") {
    mlflow_env env;
    std::vector<std::string> errors;
    sinks::mlflow_options o;
    o.tracking_uri = "http://127.0.0.1:9";
    o.max_buffered_points = 100;
    o.close_timeout = std::chrono::milliseconds(100);
    o.connect_timeout = std::chrono::milliseconds(100);
    mltrack::config c{"bounded"};
    c.on_error = [&](const mltrack::sink_error& e) { errors.push_back(e.message); };
    sinks::mlflow sink{o};
    const auto monitor = sink.monitor();
    {
        mltrack::tracker t{c, std::move(sink)};
        log_run(t, "r", 100);  // 400 points
    }
    const auto s = monitor.stats();
    CHECK(s.points_dropped == 300);
    CHECK(s.undelivered_points == 100);
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    CHECK(all.find("[mltrack.error.io.43]") != std::string::npos);
}

TEST_CASE("mlflow faults: a run deleted on the server meanwhile stops its uploads, reported") {
    fixture f;
    {
        mltrack::tracker t{f.config("gone"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r");
        run.log("x", 1.0, 0);
        t.flush();
        REQUIRE(wait_for_run(f, "gone", "r"));
        const auto st = f.server.state();
        const auto id = f.runs_named(st, "gone", "r")[0]["info"]["run_id"].get<std::string>();
        f.server.post("/_control/delete_run", {{"run_id", id}});
        run.log("x", 2.0, 1);
    }
    const std::string all = f.joined_errors();
    INFO(all);
    CHECK(all.find("must be in the 'active' state") != std::string::npos);
}

TEST_CASE("mlflow faults: a run the server forbids (403) is reported once and stops sending") {
    fixture f;
    {
        mltrack::tracker t{f.config("forbidden"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r");
        run.log("x", 1.0, 0);
        t.flush();
        REQUIRE(wait_for_run(f, "forbidden", "r"));
        f.server.faults({{{"methods", "^runs/log-batch$"}, {"kind", "status"}, {"status", 403}}});
        for (int s = 1; s < 50; ++s) {
            run.log("x", s, s);
            t.flush();
        }
    }
    const std::string all = f.joined_errors();
    INFO(all);
    std::size_t reports = 0;
    for (auto p = all.find("HTTP 403"); p != std::string::npos; p = all.find("HTTP 403", p + 1)) ++reports;
    CHECK(reports == 1);
    CHECK(f.server.state()["faults_injected"]["status:403"] == 1);  // no request after the refusal
    const auto runs = f.runs_named(f.server.state(), "forbidden", "r");
    REQUIRE(runs.size() == 1);
    CHECK(history(runs[0], "x").size() == 1);
}

TEST_CASE("mlflow faults: a redirect is never followed (it would carry the credentials elsewhere)") {
    fixture f;
    f.env.set("MLFLOW_TRACKING_TOKEN", "secret-token");
    auto o = f.options();
    o.tracking_uri = f.server.url() + "/_control/redirect";  // answers 302 to another host for every path
    o.close_timeout = std::chrono::milliseconds(300);
    {
        mltrack::tracker t{f.config("redirected"), sinks::mlflow{o}};
        auto run = t.start_run("r");
        run.log("x", 1.0, 0);
    }
    const std::string all = f.joined_errors();
    INFO(all);
    CHECK(all.find("HTTP 302") != std::string::npos);
    CHECK(all.find("secret-token") == std::string::npos);
    CHECK(f.server.state()["runs"].empty());
}
