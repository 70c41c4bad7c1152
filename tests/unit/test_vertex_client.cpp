// The read side of the Vertex AI sink (sinks::vertex_ai_client): runs logged through the sink, listed back
// like get_experiment_df(), compared with the JSONL copy; exact time series; model download; Model
// Registry upload; deletes waiting for their operations. Against the fake server (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <cmath>

#include <mltrack/sinks/vertex_ai.hpp>

#include "../vertex/vertex_fixture.hpp"

using namespace vertex_test;
namespace sinks = mltrack::sinks;

namespace {

double num(const nlohmann::json& v) { return v.is_number() ? v.get<double>() : std::nan(""); }

}  // namespace

TEST_CASE("vertex client: the experiment table shows what the JSONL copy holds, page after page") {
    fixture f;
    f.server.config({{"page_cap", 2}});  // every list takes several pages
    unit::temp_dir dir;
    const int runs = 5;
    {
        mltrack::tracker t{f.config("exp-df"), sinks::jsonl{dir / "mlruns"}, sinks::vertex_ai{f.options()}};
        for (int i = 0; i < runs; ++i) {
            auto run = t.start_run("run-" + std::to_string(i));
            run.log_params({{"lr", 0.1 * (i + 1)}, {"layers", i}, {"opt", "sgd"}, {"bn", i % 2 == 0}});
            for (int s = 0; s < 1500; ++s) {
                run.log("loss", 1.0 / (s + 1 + i), s);
                if (s % 7 == 0) run.log("acc", s / 1500.0, s);
            }
            run.log_metrics({{"final", i * 1.5}});
            if (i == 3) run.end(mltrack::run_state::failed);
        }
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    f.server.config({{"page_cap", 3}});
    sinks::vertex_ai_client client{f.options()};
    CHECK(client.list_experiments() == std::vector<std::string>{"exp-df"});
    const auto rows = client.list_runs("exp-df");
    REQUIRE(rows.size() == static_cast<std::size_t>(runs));
    for (const auto& row : rows) {
        const auto jsonl = mltrack::read_run(dir / "mlruns", "exp-df", row.run_name);
        CAPTURE(row.run_name);
        CHECK(row.experiment == "exp-df");
        CHECK(row.run_id == "exp-df-" + row.run_name);
        CHECK(row.run_type == "system.ExperimentRun");
        CHECK(row.state == mltrack::to_string(jsonl.state));
        REQUIRE(row.params.size() == jsonl.params.size());
        for (const auto& kv : jsonl.params) {
            const auto& v = row.params.at(kv.first);
            if (kv.second.is_string()) CHECK(v == kv.second.as_string());
            else if (kv.second.is_bool()) CHECK(v == kv.second.as_bool());
            else CHECK(num(v) == kv.second.as_double());  // Struct numbers are doubles
        }
        REQUIRE(row.metrics.size() == jsonl.summary.size());
        for (const auto& kv : jsonl.summary) CHECK(num(row.metrics.at(kv.first)) == kv.second);
        REQUIRE(row.time_series.size() == jsonl.series.size());
        for (const auto& kv : jsonl.series) CHECK(row.time_series.at(kv.first) == kv.second.back().value);

        const auto series = client.read_time_series("exp-df", row.run_name);
        REQUIRE(series.size() == jsonl.series.size());
        for (const auto& kv : jsonl.series) {
            const auto& got = series.at(kv.first);
            REQUIRE(got.size() == kv.second.size());
            for (std::size_t i = 0; i < got.size(); ++i) {
                CHECK(got[i].step == kv.second[i].step);
                CHECK(got[i].value == kv.second[i].value);
                CHECK(got[i].time_ns / 1000 == kv.second[i].time_ns / 1000);  // RFC 3339 with microseconds
            }
        }
    }
    CHECK(client.get_run("exp-df", "run-3")->state == "FAILED");
    CHECK_FALSE(client.get_run("exp-df", "nope"));
    CHECK_ERROR_ID("state.41", client.list_runs("no-such-experiment"));
    CHECK(f.server.state()["validation_errors"].empty());
}

TEST_CASE("vertex client: models come back from Cloud Storage and go to the Model Registry") {
    fixture f;
    unit::temp_dir dir, out;
    std::filesystem::create_directories(dir / "saved" / "variables");
    unit::write_file(dir / "saved" / "saved_model.pb", "graph");
    unit::write_file(dir / "saved" / "variables" / "variables.data", std::string(100000, 'w'));
    unit::write_file(dir / "model.bst", "booster");
    {
        mltrack::tracker t{f.config("exp-models"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r");
        run.log_model(dir / "saved", {"tensorflow", "2.15"});
        run.log_model(dir / "model.bst", {"xgboost", "2.0"});
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    sinks::vertex_ai_client client{f.options()};
    auto files = client.download_artifact("exp-models", "r", "saved", out.path());
    CHECK(files.size() == 2);
    CHECK(unit::read_file(out / "saved/saved_model.pb") == "graph");
    CHECK(unit::read_file(out / "saved/variables/variables.data") == std::string(100000, 'w'));
    files = client.download_artifact("exp-models", "r", "model.bst", out.path());
    REQUIRE(files.size() == 1);
    CHECK(unit::read_file(out / "model.bst") == "booster");
    CHECK_ERROR_ID("state.42", client.download_artifact("exp-models", "r", "missing", out.path()));

    sinks::vertex_model_registration reg;
    reg.serving_container_image = "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.2-0:latest";
    const std::string model = client.register_model("exp-models", "r", "model.bst", reg);
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    REQUIRE(st["models"].contains(model));
    CHECK(st["models"][model]["displayName"] == "model.bst");
    CHECK(st["models"][model]["artifactUri"].get<std::string>().rfind("gs://staging-bucket/mltrack/exp-models/r/", 0) == 0);
    CHECK(st["models"][model]["containerSpec"]["imageUri"] == reg.serving_container_image);
    reg.serving_container_image.clear();
    CHECK_ERROR_ID("config.46", client.register_model("exp-models", "r", "model.bst", reg));
}

TEST_CASE("vertex client: deletes wait for their operations; a deleted run's name can be used again") {
    fixture f;
    f.server.config({{"lro_polls", 3}, {"lro_seconds", 30}});
    {
        mltrack::tracker t{f.config("exp-del"), sinks::vertex_ai{f.options()}};
        for (const char* n : {"a", "b", "c"}) {
            auto run = t.start_run(n);
            run.log("x", 1, 1);
        }
    }
    sinks::vertex_ai_client client{f.options()};
    CHECK(client.delete_run("exp-del", "a"));  // the SDK's default: the TensorBoard run and its link stay
    CHECK_FALSE(client.get_run("exp-del", "a"));
    CHECK_FALSE(client.delete_run("exp-del", "a"));
    auto st = f.server.state();
    CHECK(st["contexts"].size() == 3);
    CHECK(st["artifacts"].contains(store + "/artifacts/exp-del-a-tb-run"));

    // A run of the same name again: the stale "-tb-run" artifact is reused (it points to the same TB run).
    {
        mltrack::tracker t{f.config("exp-del"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("a");
        run.log("x", 2, 2);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto series = client.read_time_series("exp-del", "a");
    CHECK(series.at("x").size() == 2);

    CHECK(client.delete_run("exp-del", "b", true));
    st = f.server.state();
    CHECK_FALSE(st["artifacts"].contains(store + "/artifacts/exp-del-b-tb-run"));
    CHECK(st["tb_runs"].size() == 2);

    CHECK(client.delete_experiment("exp-del"));
    st = f.server.state();
    CHECK(st["contexts"].empty());
    CHECK(client.list_experiments().empty());
    CHECK_FALSE(client.delete_experiment("exp-del"));
    CHECK(st["validation_errors"].empty());
}
