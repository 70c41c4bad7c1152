// detail/vertex/artifacts.hpp against the fake server: models go to Cloud Storage or not to Vertex at all
// (the SDK's log_model refuses a model it cannot store there), models saved under the /gcs mount of
// Vertex jobs are logged by their gs:// folder without an upload (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <mltrack/sinks/vertex_ai.hpp>

#include "../vertex/vertex_fixture.hpp"

using namespace vertex_test;
namespace sinks = mltrack::sinks;

TEST_CASE("vertex artifacts: log_model without a staging bucket fails clearly; nothing file:// reaches the cloud") {
    fixture f;
    unit::temp_dir dir;
    unit::write_file(dir / "model.bst", "booster");
    unit::write_file(dir / "notes.txt", "notes");
    auto o = f.options();
    o.staging_bucket.clear();
    sinks::vertex_ai sink{o};
    auto mon = sink.monitor();
    {
        mltrack::tracker t{f.config("exp-nobucket"), sinks::jsonl{dir / "mlruns"}, std::move(sink)};
        auto run = t.start_run("r");
        auto model = run.log_model(dir / "model.bst", {"xgboost", "2.0"});
        run.log_model("gs://elsewhere/models/m1", {"xgboost", "2.0"});  // a URI is fine: it is in the cloud
        run.log_artifact(dir / "notes.txt");                            // not a model: its path, as the SDK's Artifact
        mltrack::execution e;
        e.name = "fit";
        e.outputs.push_back(model);
        e.outputs.push_back(mltrack::artifact::reference("report", "gs://elsewhere/report.html", mltrack::artifact_type::artifact));
        run.log_execution(e);
    }
    const std::string errors = f.joined_errors();
    CHECK(errors.find("[mltrack.error.config.50] model 'model.bst' of run 'exp-nobucket-r' is not logged to Vertex AI: "
                      "it has no staging bucket to go to") != std::string::npos);
    const auto st = f.server.state();
    CHECK(st["sdk_errors"].empty());  // no ExperimentModel outside Cloud Storage
    std::vector<std::string> models;
    for (auto it = st["artifacts"].begin(); it != st["artifacts"].end(); ++it)
        if (it.value()["schemaTitle"] == "google.ExperimentModel") models.push_back(it.value()["uri"]);
    CHECK(models == std::vector<std::string>{"gs://elsewhere/models/m1"});
    // The execution keeps its other output.
    REQUIRE(st["executions"].size() == 1);
    CHECK(st["events"].size() == 1);
    CHECK(mon.stats().operations_rejected >= 1);
    // The JSONL copy has the model.
    const auto jsonl = mltrack::read_run(dir / "mlruns" / "exp-nobucket" / "r");
    REQUIRE(jsonl.find_artifact("model.bst"));
    CHECK(unit::read_file(jsonl.artifact_path(*jsonl.find_artifact("model.bst"))) == "booster");
}

TEST_CASE("vertex artifacts: a model saved under the /gcs mount is logged by its gs:// folder, without an upload") {
    fixture f;
    unit::temp_dir mount;
    std::filesystem::create_directories(mount / "my-bucket" / "job-1" / "model");
    unit::write_file(mount / "my-bucket" / "job-1" / "model" / "model.bst", "booster");
    auto o = f.options();
    o.staging_bucket.clear();
    o.gcs_mount = mount.path().string();
    {
        mltrack::tracker t{f.config("exp-mounted"), sinks::vertex_ai{o}};
        auto run = t.start_run("r");
        run.log_model(mount / "my-bucket" / "job-1" / "model" / "model.bst", {"xgboost", "2.0"}, {"", false, {}});
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["objects"].empty());
    std::string uri;
    for (auto it = st["artifacts"].begin(); it != st["artifacts"].end(); ++it)
        if (it.value()["schemaTitle"] == "google.ExperimentModel") uri = it.value()["uri"];
    CHECK(uri == "gs://my-bucket/job-1/model");
    CHECK(st["sdk_errors"].empty());
}
