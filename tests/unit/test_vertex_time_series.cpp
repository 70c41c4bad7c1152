// detail/vertex/time_series.hpp against the fake server: points without a step take the steps the SDK's
// step=None gives (continuing after what Vertex has for a resumed run), and histograms go as the
// TensorBoard uploader sends them (TENSOR series of the histograms plugin, decoded here by the fake's own
// protobuf reader), so the Vertex TensorBoard web app shows them (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <mltrack/sinks/vertex_ai.hpp>

#include <chrono>
#include <thread>

#include "../vertex/vertex_fixture.hpp"

using namespace vertex_test;
namespace sinks = mltrack::sinks;

TEST_CASE("vertex time series: points without a step get the SDK's steps, and a resume continues after Vertex's") {
    fixture f;
    {
        mltrack::tracker t{f.config("exp-autostep"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r");
        run.log_time_series({{"loss", 1.0}, {"acc", 0.1}});  // 1, as log_time_series_metrics(step=None)
        run.log_time_series({{"loss", 0.9}, {"acc", 0.2}});  // 2
        run.log("lr", 0.01);                                 // 1: this metric's next
    }
    // Another process resumes it with no JSONL copy: the steps come from Vertex (the series' maxStep).
    {
        mltrack::tracker t{f.config("exp-autostep"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r", mltrack::start_mode::resume);
        run.log_time_series({{"loss", 0.8}});  // 3
        run.log("lr", 0.02);                   // 2
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    const std::string tb = st["tensorboards"].begin().key();
    const auto series = series_by_key(st, tb + "/experiments/exp-autostep/runs/r");
    CHECK(points_of(series.at("loss")) == std::vector<std::pair<std::int64_t, double>>{{1, 1.0}, {2, 0.9}, {3, 0.8}});
    CHECK(points_of(series.at("acc")) == std::vector<std::pair<std::int64_t, double>>{{1, 0.1}, {2, 0.2}});
    CHECK(points_of(series.at("lr")) == std::vector<std::pair<std::int64_t, double>>{{1, 0.01}, {2, 0.02}});
    CHECK(st["overwrites"] == 0);
}

TEST_CASE("vertex time series: histograms are TENSOR series of the histograms plugin, as the uploader sends them") {
    fixture f;
    const std::vector<double> values{0.1, 0.2, 0.2, 0.5, 0.9, 1.5};
    std::vector<mltrack::histogram_bucket> logged;
    {
        mltrack::tracker t{f.config("exp-histo"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r");
        for (int s = 1; s <= 3; ++s) run.log_histogram("layer1/weights", values, s, 5);
        logged = mltrack::tensorboard_histogram(values, 5);
        run.log_histogram("edges", std::vector<mltrack::histogram_bucket>{{0.0, 1.0, 2.0}, {1.0, 2.0, 0.5}}, 7);
        run.log("loss", 0.5, 1);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    const std::string tb = st["tensorboards"].begin().key();
    const auto series = series_by_key(st, tb + "/experiments/exp-histo/runs/r");
    REQUIRE(series.size() == 3);
    const auto& w = series.at("layer1/weights");
    CHECK(w["valueType"] == "TENSOR");
    CHECK(w["pluginName"] == "histograms");
    REQUIRE(w["points"].size() == 3);
    for (const auto& p : w["points"]) {
        REQUIRE(p["buckets"].size() == logged.size());
        for (std::size_t i = 0; i < logged.size(); ++i) {
            CHECK(p["buckets"][i][0] == logged[i].left);
            CHECK(p["buckets"][i][1] == logged[i].right);
            CHECK(p["buckets"][i][2] == logged[i].count);
        }
    }
    CHECK(series.at("edges")["points"][0]["step"] == "7");
    CHECK(series.at("edges")["points"][0]["buckets"] == nlohmann::json::parse("[[0.0,1.0,2.0],[1.0,2.0,0.5]]"));
    CHECK(series.at("loss")["valueType"] == "SCALAR");
    // The SDK's table takes scalars only.
    const auto df = f.server.get("/_control/sdk/experiment_df?experiment=exp-histo");
    CHECK(df["rows"][0]["time_series_metric.loss"] == 0.5);
    CHECK_FALSE(df["rows"][0].contains("time_series_metric.edges"));
}

TEST_CASE("vertex time series: the histogram TensorProto, byte for byte") {
    // DT_DOUBLE (08 02), shape [1, 3] (12 08 | 12 02 08 01 | 12 02 08 03), tensor_content of 24 bytes.
    const std::string p = mltrack::detail::histogram_tensor_proto({{0.0, 1.0, 2.0}});
    const std::string head("\x08\x02\x12\x08\x12\x02\x08\x01\x12\x02\x08\x03\x22\x18", 14);
    REQUIRE(p.size() == 14 + 24);
    CHECK(p.substr(0, 14) == head);
    CHECK(p.substr(14, 8) == std::string(8, '\0'));                                      // 0.0
    CHECK(p.substr(22, 8) == std::string("\x00\x00\x00\x00\x00\x00\xf0\x3f", 8));       // 1.0
    CHECK(p.substr(30, 8) == std::string("\x00\x00\x00\x00\x00\x00\x00\x40", 8));       // 2.0
    CHECK(mltrack::detail::base64("") == "");
    CHECK(mltrack::detail::base64("f") == "Zg==");
    CHECK(mltrack::detail::base64("fo") == "Zm8=");
    CHECK(mltrack::detail::base64("foo") == "Zm9v");
    CHECK(mltrack::detail::base64("\xff\xfe") == "//4=");
    // No buckets: shape [0, 3], no content.
    CHECK(mltrack::detail::histogram_tensor_proto({}) == std::string("\x08\x02\x12\x06\x12\x00\x12\x02\x08\x03", 10));
}

TEST_CASE("vertex time series: the tracker's timed flushes send nothing early; the sink's own interval batches") {
    fixture f;
    auto c = f.config("exp-batch");
    c.flush_interval = std::chrono::milliseconds(20);  // the tracker flushes often while points arrive
    auto o = f.options();
    o.flush_interval = std::chrono::seconds(30);  // the sink's own schedule: not within this test
    mltrack::tracker t{c, sinks::vertex_ai{o}};
    auto run = t.start_run("run-batch");
    auto loss = run.metric("loss");
    for (int s = 0; s < 60; ++s) {
        loss.log(1.0 / (s + 1), s);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto writes = [&] {
        const auto st = f.server.state();
        const auto& by = st["requests_by_method"];
        return by.contains("tensorboards.experiments.runs.write") ? by["tensorboards.experiments.runs.write"].get<int>() : 0;
    };
    CHECK(writes() == 0);  // the tracker's timed flushes: none of them a request (5 before the fix)
    t.flush();  // an explicit flush sends at once (delivery follows on the writer): one request for all 60 points
    for (int i = 0; i < 500 && writes() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(writes() == 1);
    const auto series = series_by_key(f.server.state(), f.server.state()["tensorboards"].begin().key() +
                                                            "/experiments/exp-batch/runs/run-batch");
    REQUIRE(series.count("loss") == 1);
    CHECK(points_of(series.at("loss")).size() == 60);
    run.end();
    t.close();
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
}
