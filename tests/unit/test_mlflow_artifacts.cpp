// Unit tests of detail/mlflow/artifacts.hpp and run_tags.hpp: where files go under the mlflow-artifacts
// proxy, the MLmodel file, and the system tags a run is created with (needs -lcurl).
#include <doctest/doctest.h>

#include <mltrack/sinks/mlflow.hpp>

#include "../mlflow/mlflow_fixture.hpp"

using mltrack::detail::mlflow_mlmodel;
using mltrack::detail::mlflow_proxy_root;
using mltrack::detail::mlflow_run_tags;

TEST_CASE("mlflow artifacts: the proxy root of a run's artifact URI") {
    CHECK(mlflow_proxy_root("mlflow-artifacts:/1/abc/artifacts") == "1/abc/artifacts");
    CHECK(mlflow_proxy_root("mlflow-artifacts://host:5000/1/abc/artifacts/") == "1/abc/artifacts");
    CHECK(mlflow_proxy_root("s3://bucket/1/abc/artifacts").empty());
    CHECK(mlflow_proxy_root("file:///srv/mlruns/1/abc/artifacts").empty());
    CHECK(mlflow_proxy_root("").empty());
}

TEST_CASE("mlflow artifacts: the MLmodel file names the flavor, the run and the path") {
    mltrack::artifact a;
    a.type = mltrack::artifact_type::model;
    a.name = "it's";
    a.framework = "xgboost";
    a.framework_version = "1.7.4";
    a.source = "/tmp/model.bst";
    a.sha256 = std::string(64, 'a');
    const std::string y = mlflow_mlmodel(a, "0123abcd", 1700000000000000000LL);
    CHECK(y.find("artifact_path: 'it''s'\n") != std::string::npos);  // YAML single quotes doubled
    CHECK(y.find("flavors:\n  xgboost:\n    data: 'model.bst'\n    xgboost_version: '1.7.4'\n") != std::string::npos);
    CHECK(y.find("run_id: '0123abcd'\n") != std::string::npos);
    CHECK(y.find("utc_time_created: '2023-11-14T22:13:20.000000Z'\n") != std::string::npos);
    a.framework = "scikit-learn";  // a flavor is an identifier
    CHECK(mlflow_mlmodel(a, "x", 0).find("  scikit_learn:\n") != std::string::npos);
}

TEST_CASE("mlflow run tags: MLflow's system tags from the captured environment") {
    mltrack::run_info run;
    run.name = "r1";
    run.metadata = {{"environment",
                     {{"user", "alice"},
                      {"command_line", {"/opt/train", "--lr", "0.1"}},
                      {"git", {{"commit", "abc123"}, {"branch", "main"}}}}},
                    {"tags", {{"team", "vision"}, {"n", 3}}}};
    auto tags = mlflow_run_tags(run, "r1", "");
    CHECK(tags["mlflow.runName"] == "r1");
    CHECK(tags["mlflow.user"] == "alice");
    CHECK(tags["mlflow.source.name"] == "/opt/train");
    CHECK(tags["mlflow.source.type"] == "LOCAL");
    CHECK(tags["mlflow.source.git.commit"] == "abc123");
    CHECK(tags["team"] == "vision");
    CHECK(tags.count("n") == 0);  // only text tags
    // MLFLOW_TRACKING_USERNAME wins, as in MLflow's client; without anything: "unknown", "<console>".
    CHECK(mlflow_run_tags(run, "r1", "bob")["mlflow.user"] == "bob");
    mltrack::run_info bare;
    tags = mlflow_run_tags(bare, "x", "");
    CHECK(tags["mlflow.user"] == "unknown");
    CHECK(tags["mlflow.source.name"] == "<console>");
    CHECK(tags.count("mlflow.source.git.commit") == 0);
    // Tag values are cut to MLflow's 5000 characters.
    run.metadata["environment"]["command_line"][0] = std::string(6000, 'p');
    CHECK(mlflow_run_tags(run, "r1", "")["mlflow.source.name"].size() == 5000);
}

TEST_CASE("mlflow config: the tracking URI and credentials, resolved as MLflow resolves them") {
    mlflow_test::mlflow_env env;
    env.set("MLFLOW_TRACKING_URI", "https://mlflow.example.com/prefix/");
    env.set("MLFLOW_TRACKING_USERNAME", "u");
    env.set("MLFLOW_TRACKING_PASSWORD", "p");
    auto r = mltrack::detail::resolve_mlflow_config({});
    CHECK(r.cfg.base == "https://mlflow.example.com/prefix");
    CHECK(r.cfg.api("runs/search") == "https://mlflow.example.com/prefix/api/2.0/mlflow/runs/search");
    CHECK(r.cfg.artifacts("1/a/artifacts/m") == "https://mlflow.example.com/prefix/api/2.0/mlflow-artifacts/artifacts/1/a/artifacts/m");
    CHECK(r.creds.token() == "Basic dTpw");
    CHECK(r.creds.source() == "basic auth from MLFLOW_TRACKING_USERNAME/PASSWORD");
    CHECK(r.http.verify_tls);
    // A user name without a password is not basic auth (as in MLflow): the token, else nothing.
    ::unsetenv("MLFLOW_TRACKING_PASSWORD");
    env.set("MLFLOW_TRACKING_TOKEN", "t");
    r = mltrack::detail::resolve_mlflow_config({});
    CHECK(r.creds.token() == "Bearer t");
    ::unsetenv("MLFLOW_TRACKING_TOKEN");
    r = mltrack::detail::resolve_mlflow_config({});
    CHECK(r.creds.token().empty());
    mltrack::detail::http_request req;
    mltrack::detail::authorize(req, r.creds);
    CHECK(req.headers.empty());  // no credentials: no Authorization header at all
    env.set("MLFLOW_TRACKING_INSECURE_TLS", "1");
    r = mltrack::detail::resolve_mlflow_config({});
    CHECK_FALSE(r.http.verify_tls);
    mltrack::sinks::mlflow_options o;
    o.insecure_tls = false;  // the option wins over the variable
    CHECK(mltrack::detail::resolve_mlflow_config(o).http.verify_tls);
}
