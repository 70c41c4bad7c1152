// End-to-end tests of sinks/vertex_ai.hpp: a real tracker, the real sink, real libcurl, and the fake Vertex
// server (tests/vertex/fake_vertex.py), whose state is then compared with what the Python SDK creates
// (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

#include <mltrack/sinks/vertex_ai.hpp>

#include "../vertex/vertex_fixture.hpp"

using namespace vertex_test;
namespace sinks = mltrack::sinks;

namespace {

/// Logs the quickstart-like run: params, 3 series, summary metrics, classification metrics, a model file,
/// an execution with a dataset input and the model as output.
void log_full_run(mltrack::tracker& t, const std::string& run_name, const unit::temp_dir& dir, int steps) {
    auto run = t.start_run(run_name);
    run.log_params({{"lr", 0.01}, {"batch", 64}, {"optimizer", "adam"}, {"augment", true}});
    auto loss = run.metric("train/loss");
    auto acc = run.metric("val/acc");
    for (int s = 1; s <= steps; ++s) {
        loss.log(1.0 / s, s);
        if (s % 10 == 0) acc.log(0.5 + s / (2.0 * steps), s);
    }
    run.log("weird", std::nan(""), 1);
    run.log("weird", HUGE_VAL, 2);
    run.log_metrics({{"accuracy", 0.97}, {"loss", 0.03}});
    run.log_classification_metrics({"cat", "dog"}, {{9, 1}, {1, 9}}, {0.1, 0.5}, {0.6, 0.9}, {0.9, 0.1}, "validation");
    unit::write_file(dir / "model.bst", "model-bytes-0123456789");
    auto model = run.log_model(dir / "model.bst", {"xgboost", "1.7.4"});
    mltrack::execution e;
    e.name = "train";
    e.inputs.push_back(mltrack::artifact::reference("train-set", "gs://data/train.csv"));
    e.outputs.push_back(model);
    run.log_execution(e);
    run.end();
}

}  // namespace

TEST_CASE("vertex: a run creates exactly the resources the Python SDK creates") {
    fixture f;
    unit::temp_dir dir;
    const int steps = 250;
    {
        mltrack::tracker t{f.config("exp-e2e"), sinks::jsonl{dir / "mlruns"}, sinks::vertex_ai{f.options()}};
        log_full_run(t, "run-1", dir, steps);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    CHECK(st["sdk_errors"].empty());
    CHECK(st["unknown"].empty());

    // The metadata store, created through its long-running operation.
    REQUIRE(st["stores"].size() == 1);
    CHECK(st["stores"].contains(store));

    // Two contexts: the experiment, and the run as its child.
    REQUIRE(st["contexts"].size() == 2);
    const auto& exp = st["contexts"][store + "/contexts/exp-e2e"];
    CHECK(exp["displayName"] == "exp-e2e");
    CHECK(exp["schemaTitle"] == "system.Experiment");
    CHECK(exp["schemaVersion"] == "0.0.1");
    CHECK(exp["metadata"]["experiment_deleted"] == false);
    REQUIRE(st["tensorboards"].size() == 1);
    const std::string tb = st["tensorboards"].begin().key();
    CHECK(exp["metadata"]["backing_tensorboard_resource"] == tb);
    CHECK(exp["metadata"].size() == 2);
    CHECK(st["tensorboards"][tb]["isDefault"] == true);
    // Named as the SDK names it: "Default Tensorboard " + datetime.now().isoformat(sep=" ") (the fake checks).
    CHECK(st["tensorboards"][tb]["displayName"].get<std::string>().rfind("Default Tensorboard 20", 0) == 0);

    const std::string rc = store + "/contexts/exp-e2e-run-1";
    const auto& run = st["contexts"][rc];
    CHECK(run["displayName"] == "run-1");
    CHECK(run["schemaTitle"] == "system.ExperimentRun");
    CHECK(run["schemaVersion"] == "0.0.1");
    CHECK(run["parentContexts"] == nlohmann::json::array({store + "/contexts/exp-e2e"}));
    const auto& md = run["metadata"];
    CHECK(md["_state"] == "COMPLETE");
    CHECK(md["_params"] == nlohmann::json({{"lr", 0.01}, {"batch", 64}, {"optimizer", "adam"}, {"augment", true}}));
    CHECK(md["_metrics"] == nlohmann::json({{"accuracy", 0.97}, {"loss", 0.03}}));
    CHECK(md.size() == 3);

    // TensorBoard experiment, run and time series.
    const std::string tbe = tb + "/experiments/exp-e2e";
    REQUIRE(st["tb_experiments"].size() == 1);
    CHECK(st["tb_experiments"][tbe]["displayName"] == "exp-e2e");
    CHECK(st["tb_experiments"][tbe]["labels"] ==
          nlohmann::json({{"vertex_tensorboard_experiment_source", "vertex_experiment"}}));
    const std::string tbr = tbe + "/runs/run-1";
    REQUIRE(st["tb_runs"].size() == 1);
    CHECK(st["tb_runs"][tbr]["displayName"] == "run-1");
    const auto series = series_by_key(st, tbr);
    REQUIRE(series.size() == 3);
    for (const auto& kv : series) {
        CHECK(kv.second["valueType"] == "SCALAR");
        CHECK(kv.second["pluginName"] == "scalars");
    }
    const auto loss = points_of(series.at("train/loss"));
    REQUIRE(loss.size() == static_cast<std::size_t>(steps));
    for (int s = 1; s <= steps; ++s) {
        CHECK(loss[s - 1].first == s);
        CHECK(loss[s - 1].second == 1.0 / s);
    }
    CHECK(points_of(series.at("val/acc")).size() == static_cast<std::size_t>(steps / 10));
    const auto weird = points_of(series.at("weird"));
    REQUIRE(weird.size() == 2);
    CHECK(std::isnan(weird[0].second));
    CHECK(weird[1].second == HUGE_VAL);
    CHECK(st["overwrites"] == 0);

    // Artifacts: the -tb-run link, classification metrics, the model, the execution's dataset.
    REQUIRE(st["artifacts"].size() == 4);
    const auto& link = st["artifacts"][store + "/artifacts/exp-e2e-run-1-tb-run"];
    CHECK(link["schemaTitle"] == "google.VertexTensorboardRun");
    CHECK(link["schemaVersion"] == "0.0.1");
    CHECK(link["state"] == "LIVE");
    CHECK(link["uri"] == f.server.url() + "/v1/" + tbr);
    CHECK(link["metadata"] == nlohmann::json({{"resourceName", tbr}, {"vertex_experiment_tracking", true}}));
    CHECK_FALSE(link.contains("displayName"));

    std::map<std::string, nlohmann::json> by_schema;
    for (auto it = st["artifacts"].begin(); it != st["artifacts"].end(); ++it) by_schema[it.value()["schemaTitle"]] = it.value();
    const auto& cm = by_schema.at("google.ClassificationMetrics");
    CHECK(cm["displayName"] == "validation");
    CHECK(cm["state"] == "LIVE");
    CHECK(cm["metadata"]["confusionMatrix"] ==
          nlohmann::json::parse(R"({"annotationSpecs":[{"displayName":"cat"},{"displayName":"dog"}],"rows":[[9,1],[1,9]]})"));
    CHECK(cm["metadata"]["confidenceMetrics"] ==
          nlohmann::json::parse(R"([{"confidenceThreshold":0.9,"recall":0.6,"falsePositiveRate":0.1},
                                    {"confidenceThreshold":0.1,"recall":0.9,"falsePositiveRate":0.5}])"));
    const auto& model = by_schema.at("google.ExperimentModel");
    CHECK(model["displayName"] == "model.bst");
    CHECK(model["metadata"]["frameworkName"] == "xgboost");
    CHECK(model["metadata"]["frameworkVersion"] == "1.7.4");
    CHECK(model["metadata"]["modelFile"] == "model.bst");
    CHECK(model["metadata"].contains("modelClass"));
    const std::string uri = model["uri"];
    REQUIRE(uri.rfind("gs://staging-bucket/mltrack/exp-e2e/run-1/model.bst-", 0) == 0);
    const std::string object = "staging-bucket/" + uri.substr(std::string("gs://staging-bucket/").size()) + "/model.bst";
    REQUIRE(st["objects"].contains(object));
    CHECK(st["objects"][object]["size"] == 22);
    CHECK(st["objects"][object]["sha256"] == model["metadata"]["sha256"]);
    const auto& dataset = by_schema.at("system.Dataset");
    CHECK(dataset["uri"] == "gs://data/train.csv");
    CHECK(dataset["displayName"] == "train-set");

    // All attributed to the run; the execution and its events.
    std::set<std::string> attributed;
    for (const auto& a : st["context_artifacts"][rc]) attributed.insert(a);
    std::set<std::string> all;
    for (auto it = st["artifacts"].begin(); it != st["artifacts"].end(); ++it) all.insert(it.key());
    CHECK(attributed == all);
    REQUIRE(st["executions"].size() == 1);
    const auto& ex = st["executions"].begin().value();
    CHECK(ex["displayName"] == "train");
    CHECK(ex["schemaTitle"] == "system.ContainerExecution");
    CHECK(ex["state"] == "COMPLETE");
    CHECK(st["context_executions"][rc] == nlohmann::json::array({ex["name"]}));
    REQUIRE(st["events"].size() == 2);
    std::set<std::pair<std::string, std::string>> events;
    for (const auto& e : st["events"]) events.emplace(e["artifact"], e["type"]);
    CHECK(events == std::set<std::pair<std::string, std::string>>{{dataset["name"], "INPUT"}, {model["name"], "OUTPUT"}});
    CHECK(st["contexts"].size() == 2);

    // What the Python SDK's get_experiment_df reads (the fake's SdkReader, written from the SDK's source).
    const auto df = f.server.get("/_control/sdk/experiment_df?experiment=exp-e2e");
    INFO(df.dump());
    REQUIRE(df.contains("rows"));
    REQUIRE(df["rows"].size() == 1);
    auto row = df["rows"][0];
    CHECK(row["experiment_name"] == "exp-e2e");
    CHECK(row["run_name"] == "run-1");
    CHECK(row["run_type"] == "system.ExperimentRun");
    CHECK(row["state"] == "COMPLETE");
    CHECK(row["param.lr"] == 0.01);
    CHECK(row["param.optimizer"] == "adam");
    CHECK(row["metric.accuracy"] == 0.97);
    CHECK(row["time_series_metric.train/loss"] == 1.0 / steps);
    CHECK(df["side_effects"].empty());
}

TEST_CASE("vertex: every point arrives when a run ends, or the tracker closes, while points are still being sent") {
    fixture f;
    auto o = f.options();
    o.max_points_per_request = 1000;
    const int steps = UNIT_SANITIZED ? 5000 : 25000;
    mltrack::run open_run;
    {
        mltrack::tracker t{f.config("exp-tail"), sinks::vertex_ai{o}};
        auto ended = t.start_run("ended");
        open_run = t.start_run("open");
        auto a = ended.metric("a");
        auto b = open_run.metric("b");
        for (int s = 0; s < steps; ++s) {
            a.log(s, s);
            b.log(-s, s);
        }
        ended.end();
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    const std::string tb = st["tensorboards"].begin().key();
    CHECK(points_of(series_by_key(st, tb + "/experiments/exp-tail/runs/ended").at("a")).size() == static_cast<std::size_t>(steps));
    CHECK(points_of(series_by_key(st, tb + "/experiments/exp-tail/runs/open").at("b")).size() == static_cast<std::size_t>(steps));
    CHECK(st["contexts"][store + "/contexts/exp-tail-ended"]["metadata"]["_state"] == "COMPLETE");
    CHECK(st["contexts"][store + "/contexts/exp-tail-open"]["metadata"]["_state"] == "RUNNING");
}

TEST_CASE("vertex: names are the Vertex ids, as with the SDK; a name the service refuses fails at start_run") {
    fixture f;
    unit::temp_dir dir;
    {
        mltrack::tracker t{f.config("mnist-cnn"), sinks::jsonl{dir / "mlruns"}, sinks::vertex_ai{f.options()}};
        CHECK(unit::error_of([&] { (void)t.start_run("lr-0.10"); }) ==
              "[mltrack.error.name.41] run 'lr-0.10' is not a Vertex AI id (character 4): Vertex AI ids are lowercase "
              "letters, digits and '-', starting with a letter or digit; an experiment is 4 to 128 characters and "
              "'<experiment>-<run>' at most 121. Rename it, or set vertex_ai_options::id_mapping = "
              "vertex_id_mapping::hashed");
        CHECK_ERROR_ID("name.41", t.start_run("Run_1"));
        CHECK_ERROR_ID("name.42", t.start_run(std::string(112, 'r')));  // "mnist-cnn-" + 112 = 122 > 121
        CHECK_FALSE(std::filesystem::exists(dir / "mlruns" / "mnist-cnn" / "lr-0.10"));  // refused before any sink
        auto run = t.start_run("lr-0-10");
        run.log("loss", 0.5, 1);
    }
    {
        mltrack::tracker t{f.config("MNIST_cnn"), sinks::vertex_ai{f.options()}};
        CHECK_ERROR_ID("name.40", t.start_run("fine"));
        mltrack::tracker t3{f.config("abc"), sinks::vertex_ai{f.options()}};
        CHECK_ERROR_ID("name.40", t3.start_run("fine"));  // contexts are 4 to 128 characters
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    // The SDK finds the run by the name it is shown under, and its table lists it.
    const auto found = f.server.get("/_control/sdk/experiment_run?experiment=mnist-cnn&run=lr-0-10");
    CHECK(found.value("error", "") == "");
    CHECK(found["display_name"] == "lr-0-10");
    const auto df = f.server.get("/_control/sdk/experiment_df?experiment=mnist-cnn");
    REQUIRE(df["rows"].size() == 1);
    CHECK(df["rows"][0]["run_name"] == "lr-0-10");
    CHECK(df["rows"][0]["time_series_metric.loss"] == 0.5);
    CHECK(df["side_effects"].empty());
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    CHECK(st["contexts"].size() == 2);
}

TEST_CASE("vertex: the hashed mapping (opt-in) gives arbitrary names documented ids; display names stay") {
    fixture f;
    auto o = f.options();
    o.id_mapping = sinks::vertex_id_mapping::hashed;
    {
        sinks::vertex_ai sink{o};
        CHECK(sink.experiment_id("MNIST_cnn") == "mnist-cnn-" + mltrack::detail::sha256::of("MNIST_cnn").substr(0, 6));
        CHECK(sink.run_id("MNIST_cnn", "lr-0.01") == "lr-0-01-" + mltrack::detail::sha256::of("lr-0.01").substr(0, 6));
        CHECK(sink.run_id("exp-ok", "plain-run") == "plain-run");
        mltrack::tracker t{f.config("MNIST_cnn"), std::move(sink)};
        auto run = t.start_run("lr-0.01");
        run.log("loss", 0.5, 1);
        run.end();
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    const std::string eid = "mnist-cnn-" + mltrack::detail::sha256::of("MNIST_cnn").substr(0, 6);
    const std::string rid = "lr-0-01-" + mltrack::detail::sha256::of("lr-0.01").substr(0, 6);
    CHECK(st["contexts"][store + "/contexts/" + eid]["displayName"] == "MNIST_cnn");
    CHECK(st["contexts"][store + "/contexts/" + eid + "-" + rid]["displayName"] == "lr-0.01");
    const std::string tb = st["tensorboards"].begin().key();
    CHECK(st["tb_runs"][tb + "/experiments/" + eid + "/runs/" + rid]["displayName"] == "lr-0.01");
    // As documented: the SDK shows "lr-0.01" but finds the run only by its id.
    CHECK(f.server.get("/_control/sdk/experiment_run?experiment=" + eid + "&run=lr-0.01")["error"]
              .get<std::string>()
              .rfind("NotFound", 0) == 0);
}

TEST_CASE("vertex: an existing default TensorBoard and experiment are reused, not recreated") {
    fixture f;
    const std::string tb = parent + "/tensorboards/42";
    f.server.seed({{"stores", {{store, {{"name", store}}}}},
                   {"tensorboards", {{tb, {{"name", tb}, {"displayName", "mine"}, {"isDefault", true}}}}}});
    for (int round = 0; round < 2; ++round) {
        mltrack::tracker t{f.config("exp-reuse"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r" + std::to_string(round));
        run.log("x", 1.0, 1);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    CHECK(st["tensorboards"].size() == 1);
    CHECK(st["contexts"][store + "/contexts/exp-reuse"]["metadata"]["backing_tensorboard_resource"] == tb);
    CHECK(st["contexts"].size() == 3);
    CHECK(st["tb_experiments"].size() == 1);
    CHECK(st["tb_runs"].size() == 2);
    CHECK(st["requests_by_method"].value("metadataStores.create", 0) == 0);
    CHECK(st["requests_by_method"].value("tensorboards.create", 0) == 0);
}

TEST_CASE("vertex: a run still open when its tracker closes stays RUNNING, as in the JSONL record") {
    fixture f;
    mltrack::run run;
    {
        mltrack::tracker t{f.config("exp-open"), sinks::vertex_ai{f.options()}};
        run = t.start_run("r");
        run.log("x", 1.0, 1);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["contexts"][store + "/contexts/exp-open-r"]["metadata"]["_state"] == "RUNNING");
    CHECK(points_of(series_by_key(st, st["tb_runs"].begin().key()).at("x")).size() == 1);
}

TEST_CASE("vertex: resume continues a run: state RUNNING again, series reused, steps go on") {
    fixture f;
    unit::temp_dir dir;
    {
        mltrack::tracker t{f.config("exp-resume"), sinks::jsonl{dir / "mlruns"}, sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r");
        run.log_params({{"a", 1}});
        for (int s = 1; s <= 10; ++s) run.log("loss", s, s);
        run.end(mltrack::run_state::failed);
    }
    CHECK(f.server.state()["contexts"][store + "/contexts/exp-resume-r"]["metadata"]["_state"] == "FAILED");
    {
        mltrack::tracker t{f.config("exp-resume"), sinks::jsonl{dir / "mlruns"}, sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r", mltrack::start_mode::resume);
        CHECK(wait_until([&] {
            return f.server.state()["contexts"][store + "/contexts/exp-resume-r"]["metadata"]["_state"] == "RUNNING";
        }));
        run.log_params({{"b", 2}});
        for (int s = 11; s <= 20; ++s) run.log("loss", s, s);
        run.log("other", 1, 1);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    const auto& ctx = st["contexts"][store + "/contexts/exp-resume-r"];
    CHECK(ctx["metadata"]["_state"] == "COMPLETE");  // RUNNING while resumed, then ended by the RAII run
    CHECK(ctx["metadata"]["_params"] == nlohmann::json({{"a", 1}, {"b", 2}}));
    const std::string tb = st["tensorboards"].begin().key();
    const auto series = series_by_key(st, tb + "/experiments/exp-resume/runs/r");
    REQUIRE(series.size() == 2);
    CHECK(points_of(series.at("loss")).size() == 20);
    CHECK(st["requests_by_method"]["tensorboards.experiments.runs.timeSeries.list"] == 1);
    CHECK(st["overwrites"] == 0);
    // The SDK's resume reads the run and PATCHes its state: nothing made again, no link repointed.
    CHECK(st["requests_by_method"]["metadataStores.contexts.addContextChildren"] == 1);
    CHECK(st["requests_by_method"]["metadataStores.artifacts.create"] == 1);
    CHECK(st["requests_by_method"].value("metadataStores.artifacts.patch", 0) == 0);
    CHECK(st["requests_by_method"]["tensorboards.experiments.runs.create"] == 1);
    CHECK(st["sdk_errors"].empty());
}

TEST_CASE("vertex: exists() asks the service, so start_mode::create refuses a run Vertex already has") {
    fixture f;
    {
        mltrack::tracker t{f.config("exp-exists"), sinks::vertex_ai{f.options()}};
        t.start_run("r").end();
    }
    mltrack::tracker t{f.config("exp-exists"), sinks::vertex_ai{f.options()}};
    CHECK_ERROR_ID("state.1", t.start_run("r"));
    CHECK_ERROR_ID("state.2", t.start_run("missing", mltrack::start_mode::resume));
    auto again = t.start_run("r", mltrack::start_mode::create_or_resume);
    CHECK(again.resumed());
}

TEST_CASE("vertex: a model goes to the /gcs mount inside Vertex jobs instead of the upload API") {
    fixture f;
    unit::temp_dir dir, mount;
    std::filesystem::create_directories(mount / "staging-bucket");
    auto o = f.options();
    o.gcs_mount = mount.path().string();
    {
        mltrack::tracker t{f.config("exp-mount"), sinks::vertex_ai{o}};
        auto run = t.start_run("r");
        std::filesystem::create_directories(dir / "saved" / "variables");
        unit::write_file(dir / "saved" / "saved_model.pb", "pb");
        unit::write_file(dir / "saved" / "variables" / "v.data", "vv");
        run.log_model(dir / "saved", {"tensorflow", "2.15"});
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["objects"].empty());
    std::string uri;
    for (auto it = st["artifacts"].begin(); it != st["artifacts"].end(); ++it)
        if (it.value()["schemaTitle"] == "google.ExperimentModel") uri = it.value()["uri"];
    REQUIRE(uri.rfind("gs://staging-bucket/mltrack/exp-mount/r/saved-", 0) == 0);
    const auto local = mount / ("staging-bucket/" + uri.substr(20));
    CHECK(unit::read_file(local / "saved" / "saved_model.pb") == "pb");
    CHECK(unit::read_file(local / "saved" / "variables" / "v.data") == "vv");
}

TEST_CASE("vertex: without a TensorBoard, time series are counted and reported, nothing else changes") {
    fixture f;
    auto o = f.options();
    o.time_series = false;
    sinks::vertex_ai sink{o};
    auto mon = sink.monitor();
    {
        mltrack::tracker t{f.config("exp-notb"), std::move(sink)};
        auto run = t.start_run("r");
        run.log_params({{"a", 1}});
        for (int s = 0; s < 100; ++s) run.log("loss", s, s);
    }
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    CHECK(st["tensorboards"].empty());
    CHECK(st["tb_experiments"].empty());
    CHECK(st["contexts"].size() == 2);
    CHECK(st["artifacts"].empty());
    CHECK(mon.stats().points_rejected == 100);
    REQUIRE_FALSE(f.errors.empty());
    CHECK(f.joined_errors().find("config.49") != std::string::npos);
}

TEST_CASE("vertex: a replica that is not the chief logs nothing") {
    fixture f;
    f.env.set("CLUSTER_SPEC", R"({"cluster":{},"task":{"type":"workerpool1","index":3}})");
    {
        mltrack::tracker t{f.config("exp-chief"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r");
        run.log("loss", 1, 1);
    }
    CHECK(f.server.state()["requests_by_method"].empty());
    CHECK(f.joined_errors().find("config.48") != std::string::npos);
}

TEST_CASE("vertex: configuration errors are clear") {
    fixture f;
    auto o = f.options();
    o.project.clear();
    CHECK_ERROR_ID("config.42", sinks::vertex_ai{o});
    o = f.options();
    o.endpoint = "http://vertex.example.com";
    CHECK_ERROR_ID("config.40", sinks::vertex_ai{o});
    o = f.options();
    o.staging_bucket = "/local/dir";
    CHECK_ERROR_ID("config.46", sinks::vertex_ai{o});
    o = f.options();
    o.experiment = "Not_An_Id";
    CHECK_ERROR_ID("config.46", sinks::vertex_ai{o});
    f.env.set("GOOGLE_CLOUD_PROJECT", "from-env");
    o = f.options();
    o.project.clear();
    CHECK(sinks::vertex_ai{o}.project() == "from-env");
    f.env.set("MLTRACK_VERTEX_ENDPOINT", "https://private.example/v1/");
    o.endpoint.clear();
    CHECK(sinks::vertex_ai{o}.api_base() == "https://private.example");
    o.location = "europe-west4";
    f.env.set("MLTRACK_VERTEX_ENDPOINT", "");
    CHECK(sinks::vertex_ai{o}.api_base() == "https://europe-west4-aiplatform.googleapis.com");
}

namespace {
/// Voluntary context switches (wake-ups from sleep) of every thread of this process but the calling one.
long other_threads_wakeups() {
    long sum = 0;
    const std::string self = std::to_string(static_cast<long>(::syscall(SYS_gettid)));
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        if (task.path().filename() == self) continue;
        std::ifstream in(task.path() / "status");
        for (std::string line; std::getline(in, line);)
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0) sum += std::stol(line.substr(24));
    }
    return sum;
}
}  // namespace

TEST_CASE("vertex: an idle tracker with the Vertex sink sleeps once everything is delivered") {
    fixture f;
    auto c = f.config("exp-idle");
    c.poll_interval = std::chrono::milliseconds(200);
    mltrack::tracker t{c, sinks::vertex_ai{f.options()}};
    auto run = t.start_run("run-idle");
    for (int s = 0; s < 10; ++s) run.log("loss", 1.0 / (s + 1), s);
    t.flush();
    // Delivered (the flush interval is 1 s): then nothing is queued, buffered or in flight.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const long before = other_threads_wakeups();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const long woke = other_threads_wakeups() - before;
    INFO("wake-ups of the other threads over 500 ms: " << woke);
    CHECK(woke <= 15);  // the writer's timer (200 ms) a few times; ticking the sink every millisecond was ~500
    run.end();
    t.close();
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
}
