// live_execution.hpp: executions logged live (start_execution, updates, end, resume_execution), one id over
// their records, folded back into one execution by the reader.
#include <mltrack/live_execution.hpp>
#include <mltrack/reader.hpp>
#include <mltrack/run.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/tracker.hpp>

#include <stdexcept>
#include <string>

#include "unit_support.hpp"

using namespace mltrack;

namespace {

config quiet(const char* experiment) {
    config c{experiment};
    c.on_error = [](const sink_error&) {};
    return c;
}

std::vector<nlohmann::json> lines_of(const unit::fs::path& root, const char* experiment, const char* run) {
    return unit::parse_jsonl(root / experiment / run / "events.jsonl");
}

}  // namespace

TEST_CASE("live executions: RUNNING at start, artifacts and metadata added, ended; one execution when read") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    unit::write_file(dir.path() / "model.bst", "m");
    std::string id, failed_id;
    {
        tracker t{quiet("exp"), sinks::jsonl{root}};
        auto r = t.start_run("r");
        execution_options o;
        o.metadata = {{"epochs", 3}};
        auto ex = r.start_execution("Train step", o, {artifact::reference("data", "gs://b/train.csv")});
        id = ex.id();
        CHECK(id.rfind("train-step-", 0) == 0);
        CHECK(is_valid_execution_id(id));
        ex.update({{"host", "node-1"}});
        ex.add_outputs({r.log_model(dir.path() / "model.bst", {"xgboost", "2.0"})});
        ex.end();
        CHECK_FALSE(ex.active());
        CHECK_ERROR_ID("state.10", ex.update({{"late", 1}}));
        ex.end();  // again: nothing
        try {
            auto scoped = r.start_execution("eval", {"system.ContainerExecution", nlohmann::json::object(), "eval-0001"});
            failed_id = scoped.id();
            throw std::runtime_error("boom");
        } catch (const std::runtime_error&) {
        }
        execution_options bad;
        bad.id = "Bad_Id";
        CHECK_ERROR_ID("name.7", r.start_execution("x", bad));
        CHECK_ERROR_ID("name.7", r.resume_execution("abc"));
        CHECK_ERROR_ID("value.7", r.start_execution("x", {"system.ContainerExecution", nlohmann::json::array(), ""}));
        auto again = r.resume_execution(id);
        again.end(run_state::cancelled);
    }
    const auto lines = unit::of_kind(lines_of(root, "exp", "r"), "execution");
    REQUIRE(lines.size() == 8);
    CHECK(lines[0].at("id") == id);
    CHECK(lines[0].at("state") == "RUNNING");
    CHECK(lines[0].at("inputs").size() == 1);
    CHECK(lines[1].at("metadata") == nlohmann::json({{"epochs", 3}, {"host", "node-1"}}));
    CHECK(lines[2].at("outputs").size() == 1);
    CHECK(lines[3].at("state") == "COMPLETE");
    CHECK(lines[4].at("id") == "eval-0001");
    CHECK(lines[5].at("state") == "FAILED");  // left by an exception
    CHECK(lines[6].at("resumed") == true);
    CHECK(lines[6].at("state") == "RUNNING");  // resumed...
    CHECK(lines[7].count("resumed") == 0);
    CHECK(lines[7].at("state") == "CANCELLED");
    const auto run = read_run(root / "exp" / "r");
    REQUIRE(run.executions.size() == 2);
    const auto& e = run.executions[0];
    CHECK(e.id == id);
    CHECK(e.name == "Train step");
    CHECK(e.state == run_state::cancelled);  // ...and ended again
    CHECK(e.inputs.size() == 1);
    CHECK(e.outputs.size() == 1);
    CHECK(e.metadata.at("host") == "node-1");
    CHECK(run.executions[1].state == run_state::failed);
}
