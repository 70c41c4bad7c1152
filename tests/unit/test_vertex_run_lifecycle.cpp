// detail/vertex/run_lifecycle.hpp against the fake server: a run is created as the SDK's start_run creates
// it, resumed as start_run(resume=True) resumes it (read, never created, never relinked), refused where the
// SDK refuses it (a name left by a deleted run, an id of another experiment's run), and PATCHed with its
// params, summary metrics (numbers and strings) and state (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <mltrack/sinks/vertex_ai.hpp>

#include "../vertex/vertex_fixture.hpp"

using namespace vertex_test;
namespace sinks = mltrack::sinks;

namespace {

bool has_error(const fixture& f, const std::string& id) {
    return f.joined_errors().find("[mltrack.error." + id + "]") != std::string::npos;
}

/// A run made by the Python SDK with its own TensorBoard (start_run(run, tensorboard=tb2)) in an experiment
/// bound to tb1: what it leaves in the service.
void seed_python_run(fixture& f, const std::string& exp, const std::string& run) {
    const std::string tb1 = parent + "/tensorboards/111", tb2 = parent + "/tensorboards/222";
    const std::string ectx = store + "/contexts/" + exp, rctx = ectx + "-" + run;
    const std::string tbr = tb2 + "/experiments/" + exp + "/runs/" + run;
    const std::string art = store + "/artifacts/" + exp + "-" + run + "-tb-run";
    const std::string t0 = "2026-01-01T10:00:00.000000Z";
    nlohmann::json seed;
    seed["stores"][store] = {{"name", store}};
    seed["tensorboards"][tb1] = {{"name", tb1}, {"displayName", "Default Tensorboard 2026-01-01 10:00:00"}, {"isDefault", true}};
    seed["tensorboards"][tb2] = {{"name", tb2}, {"displayName", "python's own"}};
    seed["contexts"][ectx] = {{"name", ectx}, {"displayName", exp}, {"schemaTitle", "system.Experiment"},
                              {"schemaVersion", "0.0.1"}, {"etag", "1"}, {"parentContexts", nlohmann::json::array()},
                              {"createTime", t0},
                              {"metadata", {{"experiment_deleted", false}, {"backing_tensorboard_resource", tb1}}}};
    seed["contexts"][rctx] = {{"name", rctx}, {"displayName", run}, {"schemaTitle", "system.ExperimentRun"},
                              {"schemaVersion", "0.0.1"}, {"etag", "2"}, {"parentContexts", {ectx}}, {"createTime", t0},
                              {"metadata", {{"_params", {{"lr", 0.1}}}, {"_metrics", nlohmann::json::object()},
                                            {"_state", "COMPLETE"}}}};
    seed["tb_experiments"][tb2 + "/experiments/" + exp] = {{"name", tb2 + "/experiments/" + exp}, {"displayName", exp}};
    seed["tb_runs"][tbr] = {{"name", tbr}, {"displayName", run}};
    seed["artifacts"][art] = {{"name", art}, {"schemaTitle", "google.VertexTensorboardRun"}, {"schemaVersion", "0.0.1"},
                              {"state", "LIVE"}, {"etag", "3"}, {"createTime", "2026-01-01T10:00:01.000000Z"},
                              {"uri", f.server.url() + "/v1/" + tbr},
                              {"metadata", {{"resourceName", tbr}, {"vertex_experiment_tracking", true}}}};
    seed["context_artifacts"][rctx] = nlohmann::json::array({art});
    f.server.seed(seed);
}

}  // namespace

TEST_CASE("vertex run lifecycle: a resume of a run Vertex does not have never creates it, even unanswered") {
    fixture f;
    unit::temp_dir dir;
    {  // the experiment exists; the run does not
        mltrack::tracker t{f.config("exp-resume-none"), sinks::vertex_ai{f.options()}};
        t.start_run("other").end();
    }
    // 503 for the existence check (both its tries) and then twice more: the sink's own GET retries until
    // the service answers, and its answer (404) is final.
    f.server.faults(nlohmann::json::parse(
        R"([{"methods": "contexts.get", "paths": "contexts/exp-resume-none-ghost", "kind": "status", "status": 503, "count": 4}])"));
    sinks::vertex_ai sink{f.options()};
    auto mon = sink.monitor();
    {
        mltrack::tracker t{f.config("exp-resume-none"), sinks::jsonl{dir / "mlruns"}, std::move(sink)};
        {  // the JSONL copy has the run (logged offline), Vertex does not
            mltrack::tracker local{f.config("exp-resume-none"), sinks::jsonl{dir / "mlruns"}};
            local.start_run("ghost").end();
        }
        auto run = t.start_run("ghost", mltrack::start_mode::resume);
        for (int s = 1; s <= 50; ++s) run.log("loss", s, s);
        run.log_params({{"a", 1}});
    }
    const auto st = f.server.state();
    CHECK(st["faults_injected"]["status:503"] == 4);
    CHECK_FALSE(st["contexts"].contains(store + "/contexts/exp-resume-none-ghost"));
    CHECK(st["contexts"].size() == 2);
    CHECK(st["tb_runs"].size() == 1);
    CHECK(has_error(f, "state.43"));
    CHECK(f.joined_errors().find("does not exist in Vertex AI (context exp-resume-none-ghost): a resume never creates "
                                 "a run") != std::string::npos);
    CHECK(mon.stats().points_rejected == 50);
    CHECK(mon.stats().points_sent == 0);
    const auto jsonl = mltrack::read_run(dir / "mlruns" / "exp-resume-none" / "ghost");
    CHECK(jsonl.series.at("loss").size() == 50);  // nothing lost where it is kept
    CHECK(st["validation_errors"].empty());
}

TEST_CASE("vertex run lifecycle: a resume the service never answers is reported at close; nothing is created") {
    fixture f;
    auto o = f.options();
    o.check_exists = false;
    o.close_timeout = std::chrono::milliseconds(800);
    f.server.faults(nlohmann::json::parse(R"([{"methods": "contexts.get", "kind": "status", "status": 503}])"));
    sinks::vertex_ai sink{o};
    auto mon = sink.monitor();
    {
        mltrack::tracker t{f.config("exp-unanswered"), std::move(sink)};
        auto run = t.start_run("r", mltrack::start_mode::resume);
        run.log("loss", 1.0, 1);
    }
    f.server.clear_faults();
    const auto st = f.server.state();
    CHECK_FALSE(st["contexts"].contains(store + "/contexts/exp-unanswered-r"));
    CHECK(has_error(f, "io.44"));
    CHECK(mon.stats().undelivered_operations > 0);
    CHECK(mon.stats().undelivered_points == 1);
}

TEST_CASE("vertex run lifecycle: a resume keeps the run's own TensorBoard link and adds it to no experiment") {
    fixture f;
    seed_python_run(f, "exp-python", "py-run");
    {
        mltrack::tracker t{f.config("exp-python"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("py-run", mltrack::start_mode::resume);
        REQUIRE(run.resumed());
        run.log("loss", 0.5, 3);
        run.log_params({{"b", 2}});
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    CHECK(st["sdk_errors"].empty());
    const std::string tbr2 = parent + "/tensorboards/222/experiments/exp-python/runs/py-run";
    const auto series = series_by_key(st, tbr2);
    REQUIRE(series.count("loss") == 1);  // written where the run's link points, not to the experiment's TB
    CHECK(points_of(series.at("loss")) == std::vector<std::pair<std::int64_t, double>>{{3, 0.5}});
    CHECK(st["tb_runs"].size() == 1);
    CHECK(st["tb_experiments"].size() == 1);
    CHECK(st["requests_by_method"].value("metadataStores.contexts.addContextChildren", 0) == 0);
    CHECK(st["requests_by_method"].value("metadataStores.artifacts.patch", 0) == 0);
    CHECK(st["requests_by_method"].value("metadataStores.artifacts.create", 0) == 0);
    const auto& ctx = st["contexts"][store + "/contexts/exp-python-py-run"];
    CHECK(ctx["metadata"]["_state"] == "COMPLETE");  // RUNNING while resumed, ended by the RAII run
    CHECK(ctx["metadata"]["_params"] == nlohmann::json({{"lr", 0.1}, {"b", 2}}));
    CHECK(ctx["parentContexts"].size() == 1);
    CHECK(f.server.get("/_control/sdk/experiment_run?experiment=exp-python&run=py-run")["tensorboard_run"] == tbr2);
}

TEST_CASE("vertex run lifecycle: an id taken by a run of another experiment is refused, the other run untouched") {
    fixture f;
    {
        mltrack::tracker t{f.config("exp-a"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("b-c");  // context "exp-a-b-c"
        run.log("loss", 1.0, 1);
    }
    const auto before = f.server.state();
    for (const auto mode : {mltrack::start_mode::create, mltrack::start_mode::resume}) {
        auto o = f.options();
        o.check_exists = false;  // so that start_run goes ahead and the sink meets the collision
        mltrack::tracker t{f.config("exp-a-b"), sinks::vertex_ai{o}};
        auto run = t.start_run("c", mode);  // context "exp-a-b-c" as well
        run.log("loss", 99.0, 2);
        run.log_params({{"intruder", 1}});
    }
    CHECK(has_error(f, "state.45"));
    const auto st = f.server.state();
    const auto& ctx = st["contexts"][store + "/contexts/exp-a-b-c"];
    CHECK(ctx["parentContexts"] == nlohmann::json::array({store + "/contexts/exp-a"}));
    CHECK(ctx["metadata"] == before["contexts"][store + "/contexts/exp-a-b-c"]["metadata"]);
    CHECK(st["artifacts"] == before["artifacts"]);
    const std::string tb = st["tensorboards"].begin().key();
    CHECK(points_of(series_by_key(st, tb + "/experiments/exp-a/runs/b-c").at("loss")).size() == 1);
    CHECK(st["sdk_errors"].empty());
    CHECK(st["validation_errors"].empty());
}

TEST_CASE("vertex run lifecycle: a run re-created after a delete that kept its TensorBoard run is refused") {
    fixture f;
    unit::temp_dir dir;
    auto log = [&](double v) {
        mltrack::tracker t{f.config("exp-again"), sinks::jsonl{dir / "mlruns"}, sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r", mltrack::start_mode::create_or_resume);
        run.log("loss", v, 1);
        run.log("loss", v, 2);
    };
    log(1.0);
    sinks::vertex_ai_client client{f.options()};
    REQUIRE(client.delete_run("exp-again", "r"));  // the SDK's default: TensorBoard run and link stay
    // The JSONL copy still has the run: start it anew there too. The run context's create is applied but
    // its answer lost, so the sink finds a bare context of its own: still refused and rolled back.
    std::filesystem::remove_all(dir / "mlruns" / "exp-again" / "r");
    f.server.faults(nlohmann::json::parse(
        R"([{"methods": "contexts.create", "paths": "contextId=exp-again-r", "kind": "reset_after", "count": 1}])"));
    log(2.0);
    CHECK(f.server.state()["faults_injected"]["reset_after"] == 1);
    CHECK(has_error(f, "state.46"));
    CHECK(f.joined_errors().find("a deleted run of that name left its TensorBoard run") != std::string::npos);
    CHECK(f.joined_errors().find("the run context made here was deleted again") != std::string::npos);
    auto st = f.server.state();
    CHECK_FALSE(st["contexts"].contains(store + "/contexts/exp-again-r"));  // rolled back, as the SDK does
    const std::string tb = st["tensorboards"].begin().key();
    const std::string tbr = tb + "/experiments/exp-again/runs/r";
    CHECK(points_of(series_by_key(st, tbr).at("loss")) ==
          std::vector<std::pair<std::int64_t, double>>{{1, 1.0}, {2, 1.0}});  // the new points did not go there
    CHECK(mltrack::read_run(dir / "mlruns" / "exp-again" / "r").series.at("loss").back().value == 2.0);

    // delete_backing_tensorboard_run = true clears what the first run left; the name is free again.
    CHECK_FALSE(client.delete_run("exp-again", "r", true));  // no context any more; its leftovers go
    st = f.server.state();
    CHECK_FALSE(st["artifacts"].contains(store + "/artifacts/exp-again-r-tb-run"));
    CHECK_FALSE(st["tb_runs"].contains(tbr));
    f.errors.clear();
    std::filesystem::remove_all(dir / "mlruns" / "exp-again" / "r");
    log(3.0);
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    st = f.server.state();
    CHECK(points_of(series_by_key(st, tbr).at("loss")) == std::vector<std::pair<std::int64_t, double>>{{1, 3.0}, {2, 3.0}});
    CHECK(st["sdk_errors"].empty());
    CHECK(st["validation_errors"].empty());
    CHECK(f.server.get("/_control/sdk/experiment_df?experiment=exp-again")["rows"].size() == 1);
}

TEST_CASE("vertex run lifecycle: summary metrics that are strings are kept as strings in _metrics") {
    fixture f;
    {
        mltrack::tracker t{f.config("exp-strings"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r");
        run.log_metrics({{"accuracy", 0.9}, {"best_model", "resnet-50"}, {"note", "NaN"}});
        run.log_metrics({{"accuracy", "n/a"}});
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["contexts"][store + "/contexts/exp-strings-r"]["metadata"]["_metrics"] ==
          nlohmann::json({{"accuracy", "n/a"}, {"best_model", "resnet-50"}, {"note", "NaN"}}));
    CHECK(st["sdk_errors"].empty());
    const auto row = sinks::vertex_ai_client{f.options()}.get_run("exp-strings", "r");
    REQUIRE(row);
    CHECK(row->metrics["best_model"] == "resnet-50");
}

TEST_CASE("vertex run lifecycle: tags are the run context's labels where they follow the label rules (value.40)") {
    fixture f;
    {
        mltrack::tracker t{f.config("exp-tags"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r", mltrack::start_mode::create, {}, {{"team", "vision"}, {"stage", "dev"}});
        run.set_tag("stage", "prod");
        run.set_tag("Owner", "Ada Lovelace");  // not a label: kept in JSONL only, reported once
        run.set_tag("Owner", "Ada");
        run.log_params({{"lr", 0.1}});
    }
    INFO(f.joined_errors());
    const auto st = f.server.state();
    const auto& ctx = st["contexts"][store + "/contexts/exp-tags-r"];
    CHECK(ctx["labels"] == nlohmann::json({{"team", "vision"}, {"stage", "prod"}}));
    CHECK(ctx["metadata"]["_params"] == nlohmann::json({{"lr", 0.1}}));
    CHECK(ctx["metadata"]["_state"] == "COMPLETE");
    CHECK(st["sdk_errors"].empty());
    REQUIRE(f.errors.size() == 1);
    CHECK(has_error(f, "value.40"));
    CHECK(f.joined_errors().find("'Owner'") != std::string::npos);
}
