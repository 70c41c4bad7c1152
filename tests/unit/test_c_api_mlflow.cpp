// The C API's mlflow:URI sink end to end: what a C or Fortran caller logs through libmltrack-c reaches an
// MLflow tracking server (the fake one, tests/mlflow/fake_mlflow.py, through real libcurl on loopback) as the
// C++ sink sends it, and a URI that is not an http(s) tracking URI is refused before anything is contacted.
#include <doctest/doctest.h>

#include <string>

#include <mltrack/c/mltrack.h>
#include <mltrack/sinks/mlflow.hpp>

#include "../mlflow/mlflow_fixture.hpp"

TEST_CASE("C API: a run logged through an mlflow: sink URI is the MLflow run the C++ sink makes") {
    mlflow_test::fixture f;
    unit::temp_dir dir;
    const std::string options = "experiment=c-mlflow; capture_environment=0; sink=jsonl:" + (dir / "runs").string() +
                                "; sink=mlflow:" + f.server.url();
    mltrack_tracker t{};
    REQUIRE(mltrack_tracker_open_options(options.c_str(), &t) == MLTRACK_OK);
    mltrack_run r{};
    int resumed = -1;
    REQUIRE(mltrack_run_start(t, "c-run", MLTRACK_START_CREATE, &r, &resumed) == MLTRACK_OK);
    CHECK(resumed == 0);
    CHECK(mltrack_run_param_double(r, "lr", 0.1) == MLTRACK_OK);
    CHECK(mltrack_run_param_int(r, "batch", 64) == MLTRACK_OK);
    CHECK(mltrack_run_param_string(r, "solver", "jacobi") == MLTRACK_OK);
    CHECK(mltrack_run_set_tag(r, "code", "heat") == MLTRACK_OK);
    mltrack_metric loss{};
    REQUIRE(mltrack_run_metric(r, "train/loss", &loss) == MLTRACK_OK);
    const int steps = 1500;  // two log-batch requests at least
    for (int s = 0; s < steps; ++s) REQUIRE(mltrack_metric_log(loss, 1.0 / (s + 1), s) == MLTRACK_OK);
    CHECK(mltrack_run_summary(r, "accuracy", 0.9) == MLTRACK_OK);
    CHECK(mltrack_run_end(r, MLTRACK_STATE_COMPLETE) == MLTRACK_OK);
    CHECK(mltrack_tracker_close(t) == MLTRACK_OK);

    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    const auto runs = f.runs_named(st, "c-mlflow", "c-run");
    REQUIRE(runs.size() == 1);
    const auto& run = runs[0];
    CHECK(run["info"]["status"] == "FINISHED");
    CHECK(run["tags"]["mlflow.runName"] == "c-run");
    CHECK(run["tags"]["code"] == "heat");
    CHECK(run["params"]["lr"] == "0.1");
    CHECK(run["params"]["batch"] == "64");
    CHECK(run["params"]["solver"] == "jacobi");
    const auto h = mlflow_test::history(run, "train/loss");
    REQUIRE(h.size() == static_cast<std::size_t>(steps));
    for (int s = 0; s < steps; ++s) {
        CHECK(h[static_cast<std::size_t>(s)].first == s);
        CHECK(h[static_cast<std::size_t>(s)].second == doctest::Approx(1.0 / (s + 1)));
    }
    const auto acc = mlflow_test::history(run, "accuracy");
    REQUIRE(acc.size() == 1);
    CHECK(acc[0].second == doctest::Approx(0.9));
}

TEST_CASE("C API: an mlflow: URI that is not http(s) is refused before anything is contacted") {
    int supported = -1;
    REQUIRE(mltrack_sink_supported("mlflow", &supported) == MLTRACK_OK);
    CHECK(supported == 1);  // this test is built only with libcurl
    mltrack_tracker t{};
    CHECK(mltrack_tracker_open_options("experiment=x; sink=mlflow:ftp://127.0.0.1:1", &t) == MLTRACK_E_CONFIG);
    CHECK(std::string(mltrack_last_error_id()) == "mltrack.error.c.5");
    CHECK(std::string(mltrack_last_error()).find("mlflow:http(s)://HOST[:PORT]") != std::string::npos);
}
