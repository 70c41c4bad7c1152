// End-to-end tests of sinks/mlflow.hpp: a real tracker, the real sink, real libcurl, and the fake MLflow
// server (tests/mlflow/fake_mlflow.py), whose state is then compared with what MLflow's Python client makes
// (needs -lcurl).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include <mltrack/sinks/mlflow.hpp>

#include "../mlflow/mlflow_fixture.hpp"

using namespace mlflow_test;
namespace sinks = mltrack::sinks;

namespace {

/// Params, two curves, NaN and infinities, summary metrics, a tag, classification metrics and a model.
void log_full_run(mltrack::tracker& t, const std::string& run_name, const unit::temp_dir& dir, int steps) {
    auto run = t.start_run(run_name);
    run.log_params({{"lr", 0.01}, {"batch", 64}, {"optimizer", "adam"}, {"augment", true}});
    run.set_tag("team", "vision");
    auto loss = run.metric("train/loss");
    auto acc = run.metric("train/accuracy");
    for (int s = 1; s <= steps; ++s) {
        loss.log(1.0 / s, s);
        acc.log(1.0 - 1.0 / s, s);
    }
    run.log("weird", std::nan(""), 1);
    run.log("weird", HUGE_VAL, 2);
    run.log("weird", -HUGE_VAL, 3);
    run.log_metrics({{"accuracy", 0.97}, {"loss", 0.03}});
    run.log_classification_metrics({"cat", "dog"}, {{9, 1}, {1, 9}}, {0.1, 0.5}, {0.6, 0.9}, {0.9, 0.1}, "validation");
    unit::write_file(dir / "model.bst", "model-bytes-0123456789");
    (void)run.log_model(dir / "model.bst", {"xgboost", "1.7.4"});
    run.end();
}

/// A model folder with a nested file.
void fs_write_model(const unit::temp_dir& dir) {
    std::filesystem::create_directories(dir / "model" / "sub");
    unit::write_file(dir / "model" / "weights.bin", "0123456789");
    unit::write_file(dir / "model" / "sub" / "config.json", "{\"layers\": 3}");
}

}  // namespace

TEST_CASE("mlflow: a run becomes the MLflow run the Python client makes") {
    fixture f;
    unit::temp_dir dir;
    const int steps = 2500;  // 5000 points of two curves: several log-batch requests of at most 1000
    {
        mltrack::tracker t{f.config("exp-e2e"), sinks::jsonl{dir / "mlruns"}, sinks::mlflow{f.options()}};
        log_full_run(t, "run-1", dir, steps);
    }
    INFO(f.joined_errors());
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    // Histograms are the only thing reported (none were logged): no error at all.
    CHECK(f.errors.empty());

    const auto runs = f.runs_named(st, "exp-e2e", "run-1");
    REQUIRE(runs.size() == 1);
    const auto& r = runs[0];
    CHECK(r["info"]["status"] == "FINISHED");
    CHECK(r["info"]["end_time"].get<std::int64_t>() >= r["info"]["start_time"].get<std::int64_t>());
    CHECK(r["info"]["lifecycle_stage"] == "active");

    // MLflow's system tags, as mlflow.start_run(run_name=...) sets them, and the user's tag.
    const auto& tags = r["tags"];
    CHECK(tags["mlflow.runName"] == "run-1");
    CHECK(tags["mlflow.source.type"] == "LOCAL");
    CHECK_FALSE(tags["mlflow.source.name"].get<std::string>().empty());
    CHECK_FALSE(tags["mlflow.user"].get<std::string>().empty());
    CHECK(tags["team"] == "vision");

    // Params as text, the way MLflow's client str()s them.
    CHECK(r["params"]["lr"] == "0.01");
    CHECK(r["params"]["batch"] == "64");
    CHECK(r["params"]["optimizer"] == "adam");
    CHECK(r["params"]["augment"] == "true");

    // Every point once, in order, with millisecond timestamps.
    const auto h = history(r, "train/loss");
    REQUIRE(h.size() == static_cast<std::size_t>(steps));
    for (int s = 1; s <= steps; ++s) {
        CHECK(h[static_cast<std::size_t>(s - 1)].first == s);
        CHECK(h[static_cast<std::size_t>(s - 1)].second == doctest::Approx(1.0 / s));
    }
    CHECK(history(r, "train/accuracy").size() == static_cast<std::size_t>(steps));
    for (const auto& p : r["metrics"]["train/loss"]) {
        const auto ts = p["timestamp"].get<std::int64_t>();
        CHECK(ts > 1600000000000);  // milliseconds since the epoch, not ns or s
        CHECK(ts < 4000000000000);
    }
    // NaN and the infinities, as MLflow's JSON reader takes them.
    const auto w = history(r, "weird");
    REQUIRE(w.size() == 3);
    CHECK(std::isnan(w[0].second));
    CHECK(w[1].second == HUGE_VAL);
    CHECK(w[2].second == -HUGE_VAL);
    // Summary metrics: metrics at step 0.
    REQUIRE(history(r, "accuracy").size() == 1);
    CHECK(history(r, "accuracy")[0] == std::make_pair(std::int64_t{0}, 0.97));

    // Batches within MLflow's limits, and few of them.
    std::size_t batches = 0;
    for (const auto& n : st["batch_sizes"]) {
        CHECK(n.get<int>() <= 1000);
        ++batches;
    }
    CHECK(batches < 30);

    // Files through the mlflow-artifacts proxy, under the run's artifact root; the model with an MLmodel.
    const std::string root = r["info"]["experiment_id"].get<std::string>() + "/" +
                             r["info"]["run_id"].get<std::string>() + "/artifacts/";
    const auto& files = st["artifacts"];
    CHECK(files.contains(root + "model.bst/model.bst"));
    REQUIRE(files.contains(root + "model.bst/MLmodel"));
    const std::string mlmodel = st["artifact_text"][root + "model.bst/MLmodel"];
    CHECK(mlmodel.find("flavors:\n  xgboost:") != std::string::npos);
    CHECK(mlmodel.find("run_id: '" + r["info"]["run_id"].get<std::string>() + "'") != std::string::npos);
    REQUIRE(files.contains(root + "classification/validation.json"));
    const auto cm = nlohmann::json::parse(st["artifact_text"][root + "classification/validation.json"].get<std::string>());
    CHECK(cm["labels"] == nlohmann::json({"cat", "dog"}));
    CHECK(cm["confusion_matrix"] == nlohmann::json({{9, 1}, {1, 9}}));
}

TEST_CASE("mlflow: the experiment is found by name, made once, and shared by runs") {
    fixture f;
    unit::temp_dir dir;
    {
        mltrack::tracker t{f.config("shared"), sinks::mlflow{f.options()}};
        for (const char* name : {"a", "b", "c"}) {
            auto run = t.start_run(name);
            run.log("x", 1.0, 1);
        }
    }
    {
        mltrack::tracker t{f.config("shared"), sinks::mlflow{f.options()}};
        auto run = t.start_run("d");
        run.log("x", 1.0, 1);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    int named = 0;
    for (const auto& e : st["experiments"]) named += e["name"] == "shared";
    CHECK(named == 1);
    CHECK(st["requests"]["experiments/create"] == 1);
    for (const char* name : {"a", "b", "c", "d"}) CHECK(f.runs_named(st, "shared", name).size() == 1);
}

TEST_CASE("mlflow: a lost answer to a create makes nothing twice") {
    fixture f;
    // The server applies the creates, then resets the connection: the sink must find what it made.
    f.server.faults({{{"methods", "^(experiments/create|runs/create)$"}, {"kind", "reset_after"}, {"count", 2}}});
    {
        mltrack::tracker t{f.config("lost"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r");
        run.log("x", 1.0, 1);
    }
    INFO(f.joined_errors());
    const auto st = f.server.state();
    CHECK(st["faults_injected"]["reset_after"] == 2);
    int named = 0;
    for (const auto& e : st["experiments"]) named += e["name"] == "lost";
    CHECK(named == 1);
    const auto runs = f.runs_named(st, "lost", "r");
    REQUIRE(runs.size() == 1);
    CHECK(history(runs[0], "x").size() == 1);
    CHECK(runs[0]["info"]["status"] == "FINISHED");
}

TEST_CASE("mlflow: resume continues the run of that name and its steps") {
    fixture f;
    {
        mltrack::tracker t{f.config("res"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r");
        auto m = run.metric("loss");
        for (int s = 0; s < 10; ++s) m.log(10.0 - s, s);
        run.end(mltrack::run_state::preempted);
    }
    {
        auto st = f.server.state();
        REQUIRE(f.runs_named(st, "res", "r").size() == 1);
        CHECK(f.runs_named(st, "res", "r")[0]["info"]["status"] == "KILLED");  // PREEMPTED is KILLED in MLflow
    }
    {
        mltrack::tracker t{f.config("res"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r", mltrack::start_mode::resume);
        auto m = run.metric("loss");
        m.log(0.5);  // no step: continues after the server's last step (9)
        m.log(0.25);
        run.end(mltrack::run_state::failed);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    const auto runs = f.runs_named(st, "res", "r");
    REQUIRE(runs.size() == 1);
    CHECK(runs[0]["info"]["status"] == "FAILED");
    const auto h = history(runs[0], "loss");
    REQUIRE(h.size() == 12);
    CHECK(h[10] == std::make_pair(std::int64_t{10}, 0.5));
    CHECK(h[11] == std::make_pair(std::int64_t{11}, 0.25));
}

TEST_CASE("mlflow: a resume of a run MLflow does not have creates nothing") {
    fixture f;
    unit::temp_dir dir;
    {
        // The JSONL sink has the run, so the tracker resumes it; MLflow has never seen it.
        mltrack::tracker t{f.config("nores"), sinks::jsonl{dir / "mlruns"}};
        auto run = t.start_run("r");
        run.log("x", 1.0, 1);
    }
    {
        auto o = f.options();
        o.check_exists = false;
        mltrack::tracker t{f.config("nores"), sinks::jsonl{dir / "mlruns"}, sinks::mlflow{o}};
        auto run = t.start_run("r", mltrack::start_mode::resume);
        run.log("x", 2.0, 2);
    }
    const auto st = f.server.state();
    CHECK(f.runs_named(st, "nores", "r").empty());
    CHECK(st["requests"].value("runs/create", 0) == 0);
    REQUIRE_FALSE(f.errors.empty());
    CHECK(f.joined_errors().find("[mltrack.error.state.80]") != std::string::npos);
}

TEST_CASE("mlflow: a param logged again with another value keeps MLflow's first value and says so") {
    fixture f;
    {
        mltrack::tracker t{f.config("params"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r");
        run.log_params({{"lr", 0.1}, {"depth", 3}});
        run.log_params({{"lr", 0.1}});  // the same value again: fine, nothing sent
        run.log_params({{"lr", 0.2}, {"seed", 7}});
    }
    auto st = f.server.state();
    auto runs = f.runs_named(st, "params", "r");
    REQUIRE(runs.size() == 1);
    CHECK(runs[0]["params"]["lr"] == "0.1");
    CHECK(runs[0]["params"]["depth"] == "3");
    CHECK(runs[0]["params"]["seed"] == "7");
    REQUIRE(f.errors.size() == 1);
    CHECK(f.errors[0].find("[mltrack.error.value.81]") != std::string::npos);
    CHECK(f.errors[0].find("'lr'") != std::string::npos);

    // From another tracker the server refuses it: only that param is left out, the others and the metrics land.
    f.errors.clear();
    {
        mltrack::tracker t{f.config("params"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r", mltrack::start_mode::resume);
        run.log_params({{"extra", "x"}, {"lr", 0.3}, {"other", 1}});
        run.log("m", 1.0, 1);
    }
    st = f.server.state();
    runs = f.runs_named(st, "params", "r");
    REQUIRE(runs.size() == 1);
    CHECK(runs[0]["params"]["lr"] == "0.1");
    CHECK(runs[0]["params"]["extra"] == "x");
    CHECK(runs[0]["params"]["other"] == "1");
    CHECK(history(runs[0], "m").size() == 1);
    INFO(f.joined_errors());
    REQUIRE(f.errors.size() == 1);
    CHECK(f.errors[0].find("[mltrack.error.value.81]") != std::string::npos);
    CHECK(f.errors[0].find("Changing param values is not allowed") != std::string::npos);
}

TEST_CASE("mlflow: keys and values MLflow refuses are reported once and kept out; the rest lands") {
    fixture f;
    {
        mltrack::tracker t{f.config("bad"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r");
        for (int s = 0; s < 5; ++s) {
            run.log("good", s, s);
            run.log("bad@key", s, s);   // '@' is not an MLflow name character
            run.log("a//b", s, s);      // not its own normal path
        }
        run.log_params({{"long", std::string(6001, 'x')}, {"fine", std::string(6000, 'y')}});
        run.set_tag("big", std::string(5001, 'z'));
        run.set_tag("ok", "yes");
        run.log_metrics({{"sum:mary", 1.0}});
    }
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    const auto runs = f.runs_named(st, "bad", "r");
    REQUIRE(runs.size() == 1);
    CHECK(history(runs[0], "good").size() == 5);
    CHECK_FALSE(runs[0]["metrics"].contains("bad@key"));
    CHECK_FALSE(runs[0]["params"].contains("long"));
    CHECK(runs[0]["params"]["fine"].get<std::string>().size() == 6000);
    CHECK_FALSE(runs[0]["tags"].contains("big"));
    CHECK(runs[0]["tags"]["ok"] == "yes");
    const std::string all = f.joined_errors();
    INFO(all);
    // One report per key, not per point.
    auto count = [&](const std::string& s) {
        std::size_t n = 0;
        for (auto p = all.find(s); p != std::string::npos; p = all.find(s, p + 1)) ++n;
        return n;
    };
    CHECK(count("'bad@key'") == 1);
    CHECK(count("'a//b'") == 1);
    CHECK(count("'sum:mary'") == 1);
    CHECK(count("[mltrack.error.name.80]") == 3);
    CHECK(count("[mltrack.error.value.80]") == 2);
    CHECK(f.server.state()["runs"].size() == 1);
}

TEST_CASE("mlflow: run states map to MLflow's statuses") {
    fixture f;
    const std::vector<std::pair<mltrack::run_state, const char*>> cases{
        {mltrack::run_state::complete, "FINISHED"},
        {mltrack::run_state::failed, "FAILED"},
        {mltrack::run_state::cancelled, "KILLED"},
        {mltrack::run_state::preempted, "KILLED"}};
    {
        mltrack::tracker t{f.config("states"), sinks::mlflow{f.options()}};
        int i = 0;
        for (const auto& c : cases) {
            auto run = t.start_run("r" + std::to_string(i++));
            run.end(c.first);
        }
    }
    const auto st = f.server.state();
    int i = 0;
    for (const auto& c : cases) {
        const auto runs = f.runs_named(st, "states", "r" + std::to_string(i++));
        REQUIRE(runs.size() == 1);
        CHECK(runs[0]["info"]["status"] == c.second);
    }
}

TEST_CASE("mlflow: credentials from MLflow's variables, basic before a token, never in a message") {
    fixture f;
    SUBCASE("token") {
        f.env.set("MLFLOW_TRACKING_TOKEN", "s3cr3t-token");
        f.server.config({{"auth", "Bearer s3cr3t-token"}});
        sinks::mlflow s{f.options()};
        CHECK(s.credentials_source() == "MLFLOW_TRACKING_TOKEN");
        mltrack::tracker t{f.config("auth"), std::move(s)};
        auto run = t.start_run("r");
        run.log("x", 1.0, 1);
    }
    SUBCASE("basic wins over a token") {
        f.env.set("MLFLOW_TRACKING_TOKEN", "s3cr3t-token");
        f.env.set("MLFLOW_TRACKING_USERNAME", "alice");
        f.env.set("MLFLOW_TRACKING_PASSWORD", "pa:ss");
        f.server.config({{"auth", "Basic YWxpY2U6cGE6c3M="}});  // base64("alice:pa:ss")
        mltrack::tracker t{f.config("auth"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r");
        run.log("x", 1.0, 1);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    REQUIRE(f.runs_named(st, "auth", "r").size() == 1);
    CHECK(history(f.runs_named(st, "auth", "r")[0], "x").size() == 1);
}

TEST_CASE("mlflow: wrong credentials are reported without the secret, and nothing is lost from JSONL") {
    fixture f;
    unit::temp_dir dir;
    f.env.set("MLFLOW_TRACKING_TOKEN", "wrong-token-value");
    f.server.config({{"auth", "Bearer right"}});
    auto o = f.options();
    o.close_timeout = std::chrono::milliseconds(500);
    {
        mltrack::tracker t{f.config("auth"), sinks::jsonl{dir / "mlruns"}, sinks::mlflow{o}};
        auto run = t.start_run("r");
        run.log("x", 1.0, 1);
    }
    const std::string all = f.joined_errors();
    INFO(all);
    CHECK(all.find("401") != std::string::npos);
    CHECK(all.find("wrong-token-value") == std::string::npos);
    CHECK(all.find("[mltrack.error.io.44]") != std::string::npos);  // undelivered at close, counted
    CHECK(unit::parse_jsonl(dir / "mlruns" / "auth" / "r" / "events.jsonl").size() >= 3);
}

TEST_CASE("mlflow: configuration errors") {
    mlflow_env env;
    auto id_of = [](const std::function<void()>& fn) { return unit::error_of(fn); };
    CHECK(unit::has_id(id_of([] { sinks::mlflow s{sinks::mlflow_options{}}; }), "config.80"));
    for (const char* uri : {"file:///tmp/mlruns", "databricks", "sqlite:///x.db", "./mlruns"}) {
        sinks::mlflow_options o;
        o.tracking_uri = uri;
        CAPTURE(uri);
        CHECK(unit::has_id(id_of([&] { sinks::mlflow s{o}; }), "config.81"));
    }
    {
        sinks::mlflow_options o;
        o.tracking_uri = "http://alice:pw@127.0.0.1:5000";
        const auto e = id_of([&] { sinks::mlflow s{o}; });
        CHECK(unit::has_id(e, "config.81"));
        CHECK(e.find("pw") == std::string::npos);
    }
    {
        env.set("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000");
        env.set("MLFLOW_TRACKING_INSECURE_TLS", "yes");
        CHECK(unit::has_id(id_of([] { sinks::mlflow s{sinks::mlflow_options{}}; }), "config.82"));
        env.set("MLFLOW_TRACKING_INSECURE_TLS", "TRUE");
        env.set("MLFLOW_TRACKING_SERVER_CERT_PATH", "/etc/ssl/certs/ca-certificates.crt");
        CHECK(unit::has_id(id_of([] { sinks::mlflow s{sinks::mlflow_options{}}; }), "config.82"));
        env.set("MLFLOW_TRACKING_SERVER_CERT_PATH", "");
        ::unsetenv("MLFLOW_TRACKING_SERVER_CERT_PATH");
        sinks::mlflow s{sinks::mlflow_options{}};  // TRUE is true, as MLflow reads it
        CHECK(s.tracking_uri() == "http://127.0.0.1:5000");
    }
    // Plain http to the host the URI names is allowed (as MLflow does); the URI's trailing '/' is dropped.
    sinks::mlflow_options o;
    o.tracking_uri = "http://mlflow.internal:5000/";
    sinks::mlflow s{o};
    CHECK(s.tracking_uri() == "http://mlflow.internal:5000");
}

TEST_CASE("mlflow: MLflow's key rules") {
    using mltrack::detail::mlflow_key_problem;
    for (const char* ok : {"train/loss", "a.b-c_d e", "x", "val/acc@1x"})
        if (std::string(ok).find('@') == std::string::npos) CHECK(mlflow_key_problem(ok).empty());
    for (const char* bad : {"a//b", "/a", "a/", "./a", "a/./b", "../a", "a/..", ".", "a@b", "a:b", "a\"b"})
        CHECK_FALSE(mlflow_key_problem(bad).empty());
    CHECK(mlflow_key_problem(std::string(250, 'k')).empty());
    CHECK_FALSE(mlflow_key_problem(std::string(251, 'k')).empty());
}

TEST_CASE("mlflow: an experiment in MLflow's trash is refused, not recreated") {
    fixture f;
    {
        mltrack::tracker t{f.config("trashed"), sinks::mlflow{f.options()}};
        auto run = t.start_run("a");
        run.log("x", 1.0, 1);
    }
    f.server.post("/_control/delete_experiment", {{"name", "trashed"}});
    f.errors.clear();
    {
        mltrack::tracker t{f.config("trashed"), sinks::mlflow{f.options()}};
        auto run = t.start_run("b");
        run.log("x", 1.0, 1);
    }
    const auto st = f.server.state();
    CHECK(f.runs_named(st, "trashed", "b").empty());
    CHECK(st["requests"]["experiments/create"] == 1);
    CHECK(f.joined_errors().find("[mltrack.error.state.82]") != std::string::npos);
}

TEST_CASE("mlflow: histograms are reported once per run and kept out") {
    fixture f;
    {
        mltrack::tracker t{f.config("hist"), sinks::mlflow{f.options()}};
        auto run = t.start_run("r");
        const std::vector<double> values{1, 2, 3, 4};
        for (int s = 0; s < 3; ++s) run.log_histogram("weights", values, s);
        run.log("x", 1.0, 1);
    }
    const auto st = f.server.state();
    const auto runs = f.runs_named(st, "hist", "r");
    REQUIRE(runs.size() == 1);
    CHECK(history(runs[0], "x").size() == 1);
    REQUIRE(f.errors.size() == 1);
    CHECK(f.errors[0].find("[mltrack.error.value.83]") != std::string::npos);
}

TEST_CASE("mlflow: a model becomes one registered model version, also after a lost answer") {
    fixture f;
    unit::temp_dir dir;
    f.server.faults({{{"methods", "^model-versions/create$"}, {"kind", "reset_after"}, {"count", 1}}});
    auto o = f.options();
    o.register_model_as = "my-model";
    fs_write_model(dir);
    {
        mltrack::tracker t{f.config("reg"), sinks::mlflow{o}};
        auto run = t.start_run("r");
        (void)run.log_model(dir / "model", {"custom", "1.0"});
    }
    INFO(f.joined_errors());
    const auto st = f.server.state();
    CHECK(st["faults_injected"]["reset_after"] == 1);
    const auto runs = f.runs_named(st, "reg", "r");
    REQUIRE(runs.size() == 1);
    REQUIRE(st["registered_models"].contains("my-model"));
    const auto& versions = st["registered_models"]["my-model"]["versions"];
    REQUIRE(versions.size() == 1);
    CHECK(versions[0]["source"] == runs[0]["info"]["artifact_uri"].get<std::string>() + "/model");
    CHECK(versions[0]["run_id"] == runs[0]["info"]["run_id"]);
    // A folder keeps its layout, and gets an MLmodel.
    const std::string root = runs[0]["info"]["experiment_id"].get<std::string>() + "/" +
                             runs[0]["info"]["run_id"].get<std::string>() + "/artifacts/model/";
    CHECK(st["artifacts"].contains(root + "weights.bin"));
    CHECK(st["artifacts"].contains(root + "sub/config.json"));
    CHECK(st["artifacts"].contains(root + "MLmodel"));
}

TEST_CASE("mlflow: ranks: rank 0 speaks for the job; another rank's tracker sends nothing to MLflow") {
    fixture f;
    unit::temp_dir dir;
    for (int rank : {1, 0}) {
        auto c = f.config("ranks");
        c.ranks = mltrack::rank_policy::every;
        c.rank = rank;
        c.world_size = 2;
        mltrack::tracker t{c, sinks::jsonl{dir / "mlruns"}, sinks::mlflow{f.options()}};
        auto run = t.start_run("r", mltrack::start_mode::create_or_resume);
        run.log("x", rank, 1);
    }
    INFO(f.joined_errors());
    const auto st = f.server.state();
    const auto runs = f.runs_named(st, "ranks", "r");
    REQUIRE(runs.size() == 1);
    const auto h = history(runs[0], "x");
    REQUIRE(h.size() == 1);
    CHECK(h[0].second == 0.0);  // rank 0's value, not rank 1's
}

TEST_CASE("mlflow: an experiment another job creates at the same moment is used, not duplicated") {
    fixture f;
    f.server.faults({{{"methods", "^experiments/create$"}, {"kind", "concurrent_create"}, {"count", 1}}});
    auto o = f.options();
    o.check_exists = false;  // only the sink's own lookups
    {
        mltrack::tracker t{f.config("race"), sinks::mlflow{o}};
        auto run = t.start_run("r");
        run.log("x", 1.0, 1);
    }
    INFO(f.joined_errors());
    CHECK(f.errors.empty());
    const auto st = f.server.state();
    CHECK(st["faults_injected"]["concurrent_create"] == 1);
    CHECK(st["requests"]["experiments/get-by-name"] == 2);  // looked up again after RESOURCE_ALREADY_EXISTS
    int named = 0;
    for (const auto& e : st["experiments"]) named += e["name"] == "race";
    CHECK(named == 1);
    REQUIRE(f.runs_named(st, "race", "r").size() == 1);
}
