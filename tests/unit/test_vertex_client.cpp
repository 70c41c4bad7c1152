// The read side of the Vertex AI sink (sinks::vertex_ai_client): runs logged through the sink, listed back
// like get_experiment_df(), compared with the JSONL copy; exact time series; model download; Model
// Registry upload; deletes waiting for their operations. Against the fake server (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

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
    // Without an image: the prebuilt one for the model's framework and version, as the SDK picks it
    // (xgboost 2.0 in us-central1), and for TensorFlow the SavedModel folder as the artifact URI.
    reg.serving_container_image.clear();
    const std::string picked = client.register_model("exp-models", "r", "model.bst", reg);
    const std::string tf = client.register_model("exp-models", "r", "saved", reg);
    const auto st2 = f.server.state();
    CHECK(st2["models"][picked]["containerSpec"]["imageUri"] == "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.2-0:latest");
    CHECK(st2["models"][tf]["containerSpec"]["imageUri"] == "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest");
    const std::string tf_uri = st2["models"][tf]["artifactUri"];
    CHECK(tf_uri.size() > 6);
    CHECK(tf_uri.substr(tf_uri.size() - 6) == "/saved");
    CHECK(st2["validation_errors"].empty());
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
    // The SDK refuses that name then (test_vertex_run_lifecycle); deleting the leftovers frees it.
    CHECK_FALSE(client.delete_run("exp-del", "a", true));
    st = f.server.state();
    CHECK_FALSE(st["artifacts"].contains(store + "/artifacts/exp-del-a-tb-run"));

    // A run of the same name again starts afresh.
    {
        mltrack::tracker t{f.config("exp-del"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("a");
        run.log("x", 2, 2);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto series = client.read_time_series("exp-del", "a");
    REQUIRE(series.at("x").size() == 1);
    CHECK(series.at("x")[0].step == 2);

    CHECK(client.delete_run("exp-del", "b", true));
    st = f.server.state();
    CHECK_FALSE(st["artifacts"].contains(store + "/artifacts/exp-del-b-tb-run"));
    CHECK(st["tb_runs"].size() == 2);  // a (new) and c

    CHECK(client.delete_experiment("exp-del"));
    st = f.server.state();
    CHECK(st["contexts"].empty());
    CHECK(client.list_experiments().empty());
    CHECK_FALSE(client.delete_experiment("exp-del"));
    CHECK(st["validation_errors"].empty());
}

TEST_CASE("vertex client: a run's classification metrics, models, artifacts and executions, as the SDK reads them") {
    fixture f;
    unit::temp_dir dir;
    unit::write_file(dir / "model.bst", "booster");
    {
        mltrack::tracker t{f.config("exp-reads"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r");
        run.log_classification_metrics({"cat", "dog"}, {{9, 1}, {2, 8}}, {0.1, 0.5}, {0.6, 0.9}, {0.9, 0.1}, "val");
        auto model = run.log_model(dir / "model.bst", {"xgboost", "2.0.3"});
        auto ex = run.start_execution("train", {}, {mltrack::artifact::reference("data", "gs://b/data.csv")});
        ex.add_outputs({model});
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    sinks::vertex_ai_client client{f.options()};
    const auto cms = client.get_classification_metrics("exp-reads", "r");
    REQUIRE(cms.size() == 1);
    CHECK(cms[0].display_name == "val");
    CHECK(cms[0].labels == std::vector<std::string>{"cat", "dog"});
    CHECK(cms[0].matrix == std::vector<std::vector<std::int64_t>>{{9, 1}, {2, 8}});
    CHECK(cms[0].fpr == std::vector<double>{0.1, 0.5});
    CHECK(cms[0].tpr == std::vector<double>{0.6, 0.9});
    CHECK(cms[0].thresholds == std::vector<double>{0.9, 0.1});
    const auto models = client.get_experiment_models("exp-reads", "r");
    REQUIRE(models.size() == 1);
    CHECK(models[0].framework_name == "xgboost");
    CHECK(models[0].framework_version == "2.0.3");
    CHECK(models[0].model_file == "model.bst");
    CHECK(models[0].uri.rfind("gs://staging-bucket/mltrack/exp-reads/r/model.bst-", 0) == 0);
    std::multiset<std::string> schemas;
    for (const auto& a : client.get_artifacts("exp-reads", "r")) schemas.insert(a.schema_title);
    CHECK(schemas == std::multiset<std::string>{"google.ClassificationMetrics", "google.ExperimentModel",
                                                "google.VertexTensorboardRun", "system.Dataset"});
    const auto execs = client.get_executions("exp-reads", "r");
    REQUIRE(execs.size() == 1);
    CHECK(execs[0].display_name == "train");
    CHECK(execs[0].state == "COMPLETE");
    CHECK(execs[0].schema_title == "system.ContainerExecution");
    CHECK_ERROR_ID("state.42", client.get_executions("exp-reads", "nope"));
    // xgboost 2.0.3: no prebuilt 2.0.3 image and none above it in major 2 but 2.1: the SDK takes 2.1.
    const std::string m = client.register_model("exp-reads", "r", "model.bst", {});
    CHECK(f.server.state()["models"][m]["containerSpec"]["imageUri"] ==
          "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.2-1:latest");
}

TEST_CASE("vertex client: the experiment table has pipeline runs and legacy preview runs, as get_experiment_df") {
    fixture f;
    {
        mltrack::tracker t{f.config("exp-mixed"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("cpp-run");
        run.log_params({{"lr", 0.1}});
    }
    // A PipelineJob logged to the experiment and a run of the Experiments preview, as the SDK left them.
    const std::string ectx = store + "/contexts/exp-mixed";
    const std::string pctx = store + "/contexts/pipeline-123";
    const std::string prun = store + "/executions/pipeline-123-run";
    const std::string pmet = store + "/artifacts/pipeline-123-metrics";
    const std::string legacy = store + "/executions/exp-mixed-old-run";
    const std::string lmet = store + "/artifacts/exp-mixed-old-run-metrics";
    nlohmann::json seed;
    seed["contexts"][pctx] = {{"name", pctx}, {"displayName", "pipeline-123"}, {"schemaTitle", "system.PipelineRun"},
                              {"parentContexts", {ectx}}, {"metadata", nlohmann::json::object()}};
    seed["executions"][prun] = {{"name", prun}, {"displayName", "pipeline-123"}, {"schemaTitle", "system.Run"},
                                {"state", "COMPLETE"}, {"metadata", {{"input:epochs", 5}, {"other", 1}}}};
    seed["artifacts"][pmet] = {{"name", pmet}, {"schemaTitle", "system.Metrics"}, {"metadata", {{"auc", 0.8}}}};
    seed["executions"][legacy] = {{"name", legacy}, {"displayName", "old-run"}, {"schemaTitle", "system.Run"},
                                  {"state", "FAILED"}, {"metadata", {{"batch", 32}}}};
    seed["artifacts"][lmet] = {{"name", lmet}, {"schemaTitle", "system.Metrics"}, {"metadata", {{"loss", 0.4}}}};
    seed["context_executions"][pctx] = {prun};
    seed["context_artifacts"][pctx] = {pmet};
    seed["context_executions"][ectx] = {legacy};
    f.server.seed(seed);

    sinks::vertex_ai_client client{f.options()};
    std::map<std::string, sinks::vertex_run_row> rows;
    for (auto& r : client.list_runs("exp-mixed")) rows[r.run_name] = r;
    REQUIRE(rows.size() == 3);
    CHECK(rows["cpp-run"].run_type == "system.ExperimentRun");
    CHECK(rows["pipeline-123"].run_type == "system.PipelineRun");
    CHECK(rows["pipeline-123"].params == nlohmann::json({{"epochs", 5}}));
    CHECK(rows["pipeline-123"].metrics == nlohmann::json({{"auc", 0.8}}));
    CHECK(rows["pipeline-123"].state == "COMPLETE");
    CHECK(rows["old-run"].run_type == "system.Run");
    CHECK(rows["old-run"].params == nlohmann::json({{"batch", 32}}));
    CHECK(rows["old-run"].metrics == nlohmann::json({{"loss", 0.4}}));
    CHECK(rows["old-run"].state == "FAILED");
    const auto old = client.get_run("exp-mixed", "old-run");
    REQUIRE(old);
    CHECK(old->run_type == "system.Run");
    // The same rows the SDK's reader finds.
    const auto df = f.server.get("/_control/sdk/experiment_df?experiment=exp-mixed");
    REQUIRE(df["rows"].size() == 3);
    for (const auto& row : df["rows"]) {
        const auto& mine = rows.at(row["run_name"].get<std::string>());
        CHECK(row["run_type"] == mine.run_type);
        CHECK(row["state"] == mine.state);
        for (auto it = mine.params.begin(); it != mine.params.end(); ++it) CHECK(row["param." + it.key()] == it.value());
        for (auto it = mine.metrics.begin(); it != mine.metrics.end(); ++it) CHECK(row["metric." + it.key()] == it.value());
    }
    CHECK(f.server.state()["validation_errors"].empty());
}

TEST_CASE("vertex client: delete_experiment(delete_backing_tensorboard_runs) removes the runs' TensorBoard runs") {
    fixture f;
    {
        mltrack::tracker t{f.config("exp-rmtb"), sinks::vertex_ai{f.options()}};
        for (const char* n : {"a", "b"}) t.start_run(n).log("x", 1.0, 1);
    }
    sinks::vertex_ai_client client{f.options()};
    CHECK(client.delete_experiment("exp-rmtb", true));
    const auto st = f.server.state();
    CHECK(st["contexts"].empty());
    CHECK(st["tb_runs"].empty());
    CHECK(st["artifacts"].empty());
    CHECK(st["tb_experiments"].size() == 1);  // the SDK keeps the TensorBoard experiment
}
