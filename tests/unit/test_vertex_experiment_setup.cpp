// detail/vertex/experiment_setup.hpp with the run creation that follows it, against the fake server: the
// backing TensorBoard as aiplatform.init() binds it, the TensorBoard experiment made at start_run (as the
// SDK's start_run makes it), and every run linked to its TensorBoard run, time series or not, so that the
// SDK's get_experiment_df creates nothing while it reads (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <regex>

#include <mltrack/sinks/vertex_ai.hpp>

#include "../vertex/vertex_fixture.hpp"

using namespace vertex_test;
namespace sinks = mltrack::sinks;

TEST_CASE("vertex experiment setup: a run without time series in a bound experiment gets its TensorBoard link") {
    fixture f;
    {  // A Python session bound the experiment to the default TensorBoard (aiplatform.init(experiment=...)).
        mltrack::tracker t{f.config("exp-bound"), sinks::vertex_ai{f.options()}};
        t.start_run("python-like").log("loss", 1.0, 1);
    }
    auto o = f.options();
    o.time_series = false;  // this sink binds nothing, but uses what the experiment has
    {
        mltrack::tracker t{f.config("exp-bound"), sinks::vertex_ai{o}};
        auto run = t.start_run("params-only");
        run.log_params({{"lr", 0.1}});
        run.log_metrics({{"acc", 0.5}});
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    const std::string tb = st["tensorboards"].begin().key();
    const auto& link = st["artifacts"][store + "/artifacts/exp-bound-params-only-tb-run"];
    CHECK(link["metadata"]["resourceName"] == tb + "/experiments/exp-bound/runs/params-only");
    CHECK(st["context_artifacts"][store + "/contexts/exp-bound-params-only"].size() == 1);
    // Reading it as the SDK does creates nothing.
    const auto df = f.server.get("/_control/sdk/experiment_df?experiment=exp-bound");
    CHECK(df["rows"].size() == 2);
    CHECK(df["side_effects"].empty());
    CHECK(st["sdk_errors"].empty());
    CHECK(st["validation_errors"].empty());
}

TEST_CASE("vertex experiment setup: time_series = false in an unbound experiment binds nothing; points are reported") {
    fixture f;
    auto o = f.options();
    o.time_series = false;
    sinks::vertex_ai sink{o};
    auto mon = sink.monitor();
    {
        mltrack::tracker t{f.config("exp-unbound"), std::move(sink)};
        auto run = t.start_run("r");
        for (int s = 0; s < 30; ++s) run.log("loss", s, s);
    }
    const auto st = f.server.state();
    CHECK(st["tensorboards"].empty());
    CHECK_FALSE(st["contexts"][store + "/contexts/exp-unbound"]["metadata"].contains("backing_tensorboard_resource"));
    CHECK(st["artifacts"].empty());
    CHECK(mon.stats().points_rejected == 30);
    CHECK(f.joined_errors().find("[mltrack.error.config.49]") != std::string::npos);
    // Without a backing TensorBoard the SDK's read has nothing to create either.
    CHECK(f.server.get("/_control/sdk/experiment_df?experiment=exp-unbound")["side_effects"].empty());
}

TEST_CASE("vertex experiment setup: the TensorBoard experiment is made with the first run, as the SDK's start_run does") {
    fixture f;
    {
        mltrack::tracker t{f.config("exp-tbe"), sinks::vertex_ai{f.options()}};
        t.flush();
        CHECK(wait_until([&] { return f.server.state()["requests_by_method"].value("tensorboards.create", 0) == 0; }));
        auto run = t.start_run("r");
        run.log("x", 1.0, 1);
    }
    const auto log = f.server.get("/_control/log");
    std::vector<std::string> order;
    for (const auto& e : log) {
        const std::string m = e["method"];
        if (m == "metadataStores.contexts.patch" && order.empty()) continue;
        if (m == "metadataStores.contexts.create" || m == "tensorboards.experiments.create" ||
            m == "tensorboards.experiments.runs.create")
            order.push_back(m);
    }
    // experiment context, run context, then the TensorBoard experiment and run (start_run's assignment)
    CHECK(order == std::vector<std::string>{"metadataStores.contexts.create", "metadataStores.contexts.create",
                                            "tensorboards.experiments.create", "tensorboards.experiments.runs.create"});
    const auto st = f.server.state();
    const std::string name = st["tensorboards"].begin().value()["displayName"];
    // "Default Tensorboard " + datetime.now().isoformat(sep=" "): local time, microseconds unless zero.
    CHECK(std::regex_match(name, std::regex(R"(Default Tensorboard \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?)")));
    CHECK(st["sdk_errors"].empty());
}

TEST_CASE("vertex experiment setup: the default TensorBoard's display name, byte for byte as Python writes it") {
    // 2026-01-02 03:04:05.000007 and .000000 in the process's local time zone, written with Python's rules.
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    const std::int64_t t = 1767323045LL * 1000000000LL;  // 2026-01-02T03:04:05Z
    CHECK(mltrack::detail::default_tensorboard_display_name(t + 7000) == "Default Tensorboard 2026-01-02 03:04:05.000007");
    CHECK(mltrack::detail::default_tensorboard_display_name(t) == "Default Tensorboard 2026-01-02 03:04:05");
    CHECK(mltrack::detail::default_tensorboard_display_name(t + 123456789) ==
          "Default Tensorboard 2026-01-02 03:04:05.123456");
}
