// detail/vertex/lineage.hpp against the fake server: executions logged whole, and live ones as the SDK's
// start_execution makes them (RUNNING, updated, ended; resumed by id, never created by a resume), with
// their input and output events, once each (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <set>

#include <mltrack/sinks/vertex_ai.hpp>

#include "../vertex/vertex_fixture.hpp"

using namespace vertex_test;
namespace sinks = mltrack::sinks;

TEST_CASE("vertex lineage: a live execution is RUNNING while it runs, then updated and ended in place") {
    fixture f;
    unit::temp_dir dir;
    unit::write_file(dir / "model.bst", "booster");
    std::string id;
    {
        mltrack::tracker t{f.config("exp-live"), sinks::jsonl{dir / "mlruns"}, sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r");
        mltrack::execution_options o;
        o.schema_title = "system.CustomJobExecution";
        o.metadata = {{"epochs", 3}};
        auto ex = run.start_execution("train", o, {mltrack::artifact::reference("data", "gs://b/train.csv")});
        id = ex.id();
        t.flush();
        const std::string name = store + "/executions/" + id;
        REQUIRE(wait_until([&] { return f.server.state()["executions"].contains(name); }));
        CHECK(f.server.state()["executions"][name]["state"] == "RUNNING");
        ex.update({{"host", "node-1"}});
        ex.add_outputs({run.log_model(dir / "model.bst", {"xgboost", "2.0"})});
        ex.add_outputs({run.log_model(dir / "model.bst", {"xgboost", "2.0"})});  // the same edge: one event
    }  // COMPLETE on scope exit
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    CHECK(st["sdk_errors"].empty());
    REQUIRE(st["executions"].size() == 1);
    const auto& ex = st["executions"][store + "/executions/" + id];
    CHECK(ex["displayName"] == "train");
    CHECK(ex["schemaTitle"] == "system.CustomJobExecution");
    CHECK(ex["state"] == "COMPLETE");
    CHECK(ex["metadata"] == nlohmann::json({{"epochs", 3}, {"host", "node-1"}}));
    std::multiset<std::string> types;
    for (const auto& e : st["events"]) types.insert(e["type"]);
    CHECK(types == std::multiset<std::string>{"INPUT", "OUTPUT"});
    CHECK(st["context_executions"][store + "/contexts/exp-live-r"] == nlohmann::json::array({store + "/executions/" + id}));
    CHECK(st["requests_by_method"]["metadataStores.executions.patch"] == 2);  // metadata, then the end state
}

TEST_CASE("vertex lineage: resume_execution continues an execution the Python SDK made; a missing one is not created") {
    fixture f;
    {
        mltrack::tracker t{f.config("exp-resume-exec"), sinks::vertex_ai{f.options()}};
        t.start_run("r").end();
    }
    const std::string name = store + "/executions/python-exec-1";
    f.server.seed({{"executions",
                    {{name,
                      {{"name", name}, {"displayName", "python step"}, {"schemaTitle", "system.ContainerExecution"},
                       {"state", "FAILED"}, {"etag", "5"}, {"metadata", {{"from", "python"}}}}}}}});
    {
        mltrack::tracker t{f.config("exp-resume-exec"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r", mltrack::start_mode::resume);
        auto again = run.resume_execution("python-exec-1");
        again.update({{"retried", true}});
        auto ghost = run.resume_execution("no-such-exec");
        ghost.end(mltrack::run_state::failed);
    }
    CHECK(f.joined_errors().find("[mltrack.error.state.44] execution 'no-such-exec' does not exist in Vertex AI") !=
          std::string::npos);
    const auto st = f.server.state();
    REQUIRE(st["executions"].size() == 1);  // the missing one was not created
    const auto& ex = st["executions"][name];
    CHECK(ex["state"] == "COMPLETE");
    CHECK(ex["displayName"] == "python step");  // kept: a PATCH sends back what it read
    CHECK(ex["metadata"] == nlohmann::json({{"from", "python"}, {"retried", true}}));
    CHECK(st["validation_errors"].empty());
    CHECK(st["sdk_errors"].empty());
}
