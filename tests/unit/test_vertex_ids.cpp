// Unit tests of the Vertex id derivation (detail/vertex/ids.hpp), the bodies and encodings
// (detail/vertex/bodies.hpp), error parsing and backoff (detail/vertex/rest.hpp). The bodies are checked
// against the discovery document's schemas by the fake server (needs -lcurl).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <set>

#include <mltrack/detail/vertex/bodies.hpp>
#include <mltrack/detail/vertex/ids.hpp>
#include <mltrack/detail/vertex/rest.hpp>
#include <mltrack/names.hpp>

#include "../vertex/fake_vertex.hpp"
#include "unit_support.hpp"

using namespace mltrack::detail;

namespace {

bool valid_vertex_id(const std::string& s, std::size_t min_len, std::size_t max_len) {
    if (s.size() < min_len || s.size() > max_len) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

std::string hash6(const std::string& s) { return sha256::of(s).substr(0, 6); }

}  // namespace

TEST_CASE("vertex ids: valid names stay, others are lowercased, mapped and suffixed with a hash") {
    CHECK(vertex_experiment_id("mnist-cnn") == "mnist-cnn");
    CHECK(vertex_experiment_id("MNIST_cnn") == "mnist-cnn-" + hash6("MNIST_cnn"));
    CHECK(vertex_experiment_id("exp.v2") == "exp-v2-" + hash6("exp.v2"));
    CHECK(vertex_experiment_id("abc") == "abc-" + hash6("abc"));  // context ids need 4 characters
    CHECK(vertex_experiment_id("abcd") == "abcd");
    CHECK(vertex_run_id("exp", "lr-0.01") == "lr-0-01-" + hash6("lr-0.01"));
    CHECK(vertex_run_id("exp", "r") == "r");
    CHECK(vertex_run_context_id("exp", "r") == "exp-r");
    // Names that differ only by case or by '.' / '_' / '-' get different ids.
    std::set<std::string> ids;
    for (const char* n : {"run-a", "Run-a", "run_a", "run.a", "RUN-A", "run-A"}) ids.insert(vertex_run_id("e", n));
    CHECK(ids.size() == 6);
}

TEST_CASE("vertex ids: every valid mltrack name maps to ids that fit every Vertex limit") {
    std::mt19937 rng(42);
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    std::uniform_int_distribution<std::size_t> len(1, mltrack::max_name_length), pick(0, alphabet.size() - 1),
        first(0, 61);
    for (int i = 0; i < 2000; ++i) {
        auto name = [&] {
            std::string s(1, alphabet[first(rng)]);
            const auto n = len(rng);
            while (s.size() < n) s += alphabet[pick(rng)];
            return s;
        };
        const std::string e = name(), r = name();
        REQUIRE(mltrack::is_valid_name(e));
        REQUIRE(mltrack::is_valid_name(r));
        const std::string eid = vertex_experiment_id(e);
        const std::string rid = vertex_run_id(eid, r);
        const std::string rc = vertex_run_context_id(eid, rid);
        CAPTURE(e);
        CAPTURE(r);
        CHECK(valid_vertex_id(eid, 4, 64));
        CHECK(valid_vertex_id(rid, 1, 128));
        CHECK(valid_vertex_id(rc, 4, 121));
        CHECK(valid_vertex_id(rc + "-tb-run", 4, 128));
        CHECK(vertex_experiment_id(e) == eid);  // deterministic
    }
    const std::string long_name(128, 'a');
    CHECK(vertex_experiment_id(long_name).size() == 64);
    CHECK(vertex_run_id(vertex_experiment_id(long_name), long_name).size() == 121 - 1 - 64);
}

TEST_CASE("vertex ids: the service's rule, checked as the SDK uses names (experiment-run contexts, name.40-42)") {
    CHECK(vertex_id_violation("mnist-cnn") == std::string::npos);
    CHECK(vertex_id_violation("0abc-") == std::string::npos);
    CHECK(vertex_id_violation("-abc") == 0);
    CHECK(vertex_id_violation("lr-0.10") == 4);
    CHECK(vertex_id_violation("Run_1") == 0);
    check_vertex_experiment_name("mnist");
    check_vertex_experiment_name(std::string(128, 'e'));
    CHECK(unit::error_of([] { check_vertex_experiment_name("MNIST_cnn"); }) ==
          "[mltrack.error.name.40] experiment 'MNIST_cnn' is not a Vertex AI id (character 0): Vertex AI ids are "
          "lowercase letters, digits and '-', starting with a letter or digit; an experiment is 4 to 128 characters "
          "and '<experiment>-<run>' at most 121. Rename it, or set vertex_ai_options::id_mapping = "
          "vertex_id_mapping::hashed");
    CHECK(unit::error_of([] { check_vertex_experiment_name("abc"); }) ==
          "[mltrack.error.name.40] experiment 'abc' is not a Vertex AI id (3 characters): Vertex AI ids are lowercase "
          "letters, digits and '-', starting with a letter or digit; an experiment is 4 to 128 characters and "
          "'<experiment>-<run>' at most 121. Rename it, or set vertex_ai_options::id_mapping = "
          "vertex_id_mapping::hashed");
    CHECK_ERROR_ID("name.40", check_vertex_experiment_name(std::string(129, 'e')));
    check_vertex_run_name("exp1", std::string(116, 'r'));  // 4 + 1 + 116 = 121
    CHECK(unit::error_of([] { check_vertex_run_name("exp1", std::string(117, 'r')); })
              .rfind("[mltrack.error.name.42] 'exp1-rrrr", 0) == 0);
    CHECK_ERROR_ID("name.41", check_vertex_run_name("exp1", ""));
    CHECK_ERROR_ID("name.41", check_vertex_run_name("exp1", "a.b"));
}

TEST_CASE("vertex ids: records get ids from their run and content") {
    const auto a = vertex_record_id("cm", "exp-r", "123\nval");
    CHECK(a.rfind("cm-", 0) == 0);
    CHECK(a.size() == 27);
    CHECK(valid_vertex_id(a, 4, 128));
    CHECK(a == vertex_record_id("cm", "exp-r", "123\nval"));
    CHECK(a != vertex_record_id("cm", "exp-r2", "123\nval"));
    CHECK(a != vertex_record_id("cm", "exp-r", "124\nval"));
}

TEST_CASE("vertex bodies: proto3 JSON encodings") {
    CHECK(iso_utc(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(iso_utc(1767268800123456789) == "2026-01-01T12:00:00.123456Z");
    CHECK(iso_utc(-1000) == "1969-12-31T23:59:59.999999Z");
    CHECK(proto_double(0.5) == 0.5);
    CHECK(proto_double(std::nan("")) == "NaN");
    CHECK(proto_double(HUGE_VAL) == "Infinity");
    CHECK(proto_double(-HUGE_VAL) == "-Infinity");
    CHECK(scalar_point(7, 0, 1.5) ==
          nlohmann::json::parse(R"({"step":"7","wallTime":"1970-01-01T00:00:00.000000Z","scalar":{"value":1.5}})"));
    CHECK(struct_param(mltrack::param_value(3)) == 3);
    CHECK(struct_param(mltrack::param_value(true)) == true);
    CHECK(struct_param(mltrack::param_value("adam")) == "adam");
}

TEST_CASE("vertex bodies: what the SDK sends") {
    CHECK(experiment_context_body("e", "") ==
          nlohmann::json::parse(R"({"displayName":"e","schemaTitle":"system.Experiment","schemaVersion":"0.0.1",
                                    "metadata":{"experiment_deleted":false}})"));
    CHECK(run_context_body("r") ==
          nlohmann::json::parse(R"({"displayName":"r","schemaTitle":"system.ExperimentRun","schemaVersion":"0.0.1",
                                    "metadata":{"_params":{},"_metrics":{},"_state":"RUNNING"}})"));
    CHECK(tensorboard_experiment_body("e") ==
          nlohmann::json::parse(
              R"({"displayName":"e","labels":{"vertex_tensorboard_experiment_source":"vertex_experiment"}})"));
    CHECK(tensorboard_run_artifact_body("https://x", "tb/runs/r") ==
          nlohmann::json::parse(R"({"uri":"https://x/v1/tb/runs/r","schemaTitle":"google.VertexTensorboardRun",
                                    "schemaVersion":"0.0.1","state":"LIVE",
                                    "metadata":{"resourceName":"tb/runs/r","vertex_experiment_tracking":true}})"));
    // A full-update PATCH carries every settable field and no output-only one.
    const auto ctx = nlohmann::json::parse(R"({"name":"n","displayName":"d","etag":"7","schemaTitle":"s",
        "schemaVersion":"v","metadata":{},"createTime":"t","updateTime":"t","parentContexts":["p"]})");
    CHECK(context_patch_body(ctx) ==
          nlohmann::json::parse(R"({"name":"n","displayName":"d","etag":"7","schemaTitle":"s","schemaVersion":"v",
                                    "metadata":{}})"));
}

TEST_CASE("vertex bodies: every body is valid against the discovery document (checked by the fake server)") {
    vertex_test::fake_vertex server;
    const std::string base = server.url() + "/v1/projects/p/locations/us-central1";
    http_client http;
    auto send = [&](const std::string& method, const std::string& url, const nlohmann::json& body) {
        auto r = json_request(method, base + url, &body);
        r.headers.push_back("Authorization: Bearer test-token");
        const auto res = http.perform(r);
        REQUIRE(res.ok);
        return res.response.status;
    };
    mltrack::classification_metrics cm;
    cm.labels = {"a", "b"};
    cm.matrix = {{1, 2}, {3, 4}};
    cm.fpr = {0.1};
    cm.tpr = {0.2};
    cm.thresholds = {0.5};
    mltrack::artifact model;
    model.type = mltrack::artifact_type::model;
    model.name = "m.bst";
    model.sha256 = std::string(64, 'a');
    model.size = 10;
    model.framework = "xgboost";
    mltrack::execution ex;
    ex.name = "train";
    ex.metadata = {{"k", "v"}};
    // Every request reaches its method (404 for the missing store is fine); none is refused as invalid.
    send("POST", "/metadataStores/default/contexts?contextId=abcd", experiment_context_body("e", "desc"));
    send("POST", "/metadataStores/default/contexts?contextId=abcd-r", run_context_body("r"));
    send("POST", "/metadataStores/default/artifacts?artifactId=abcd-r-tb-run",
         tensorboard_run_artifact_body("https://x", "tb"));
    send("POST", "/metadataStores/default/artifacts", classification_artifact_body(cm));
    send("POST", "/metadataStores/default/artifacts?artifactId=model-1", artifact_body(model, "gs://b/m"));
    send("POST", "/metadataStores/default/executions?executionId=exec-1", execution_body(ex));
    send("POST", "/tensorboards/1/experiments?tensorboardExperimentId=e", tensorboard_experiment_body("e"));
    send("POST", "/tensorboards/1/experiments/e/runs?tensorboardRunId=r", tensorboard_run_body("r"));
    send("POST", "/tensorboards/1/experiments/e:batchCreate",
         nlohmann::json{{"requests", {time_series_create_request("tb/runs/r", "loss")}}});
    send("POST", "/tensorboards/1/experiments/e/runs/r:write",
         nlohmann::json{{"timeSeriesData",
                         {{{"tensorboardTimeSeriesId", "1"}, {"valueType", "SCALAR"},
                           {"values", {scalar_point(1, 0, std::nan("")), scalar_point(2, 0, 1)}}}}}});
    auto st = server.state();
    CHECK(st["validation_errors"].empty());
    CHECK(st["unknown"].empty());
    // And the fake does refuse what is invalid.
    send("POST", "/metadataStores/default/contexts?contextId=abcd", nlohmann::json{{"schemaTitle", 5}});
    send("POST", "/metadataStores/default/artifacts", nlohmann::json{{"state", "DONE"}});
    send("POST", "/tensorboards/1/experiments/e/runs/r:write",
         nlohmann::json{{"timeSeriesData", {{{"values", {{{"step", "x"}}}}}}}});
    send("POST", "/metadataStores/default/contexts?bogus=1", run_context_body("r"));
    st = server.state();
    CHECK(st["validation_errors"].size() == 4);
}

TEST_CASE("vertex ids: the fake refuses ids as the service does, and answers 409 to creates of what exists") {
    vertex_test::fake_vertex server;
    const std::string base = server.url() + "/v1/projects/test-project/locations/us-central1";
    http_client http;
    auto send = [&](const std::string& method, const std::string& url, const nlohmann::json& body) {
        auto r = json_request(method, base + url, &body);
        r.headers.push_back("Authorization: Bearer test-token");
        const auto res = http.perform(r);
        REQUIRE(res.ok);
        return std::make_pair(res.response.status, parse_api_error(res.response).status);
    };
    server.seed({{"stores", {{"projects/123456789012/locations/us-central1/metadataStores/default", nlohmann::json::object()}}},
                 {"tensorboards", {{"projects/123456789012/locations/us-central1/tensorboards/1", nlohmann::json::object()}}}});
    const auto ctx = run_context_body("r");
    for (const char* bad : {"MNIST_cnn", "lr-0.10", "-abc", "abc", "Run-1"})
        CHECK(send("POST", std::string("/metadataStores/default/contexts?contextId=") + bad, ctx).first == 400);
    CHECK(send("POST", "/metadataStores/default/contexts?contextId=" + std::string(129, 'a'), ctx).first == 400);
    CHECK(send("POST", "/metadataStores/default/contexts?contextId=0abc-", ctx).first == 200);
    CHECK(send("POST", "/metadataStores/default/contexts?contextId=0abc-", ctx) == std::make_pair(409L, std::string("ALREADY_EXISTS")));
    CHECK(send("POST", "/tensorboards/1/experiments?tensorboardExperimentId=-e", tensorboard_experiment_body("e")).first == 400);
    CHECK(send("POST", "/tensorboards/1/experiments?tensorboardExperimentId=e", tensorboard_experiment_body("e")).first == 200);
    CHECK(send("POST", "/tensorboards/1/experiments?tensorboardExperimentId=e", tensorboard_experiment_body("e")).first == 409);
    CHECK(send("POST", "/tensorboards/1/experiments/e/runs?tensorboardRunId=R", tensorboard_run_body("R")).first == 400);
    CHECK(send("POST", "/tensorboards/1/experiments/e/runs?tensorboardRunId=r", tensorboard_run_body("r")).first == 200);
    CHECK(send("POST", "/tensorboards/1/experiments/e/runs?tensorboardRunId=r", tensorboard_run_body("r")).first == 409);
    CHECK(server.state()["validation_errors"].empty());  // refused by the id rule, not by the schema
}

TEST_CASE("vertex rest: error bodies and retry classes") {
    http_response r;
    r.status = 409;
    r.body = R"({"error":{"code":409,"message":"Specified Context `etag`: `1` does not match","status":"ABORTED"}})";
    const auto e = parse_api_error(r);
    CHECK(e.status == "ABORTED");
    CHECK(describe(e) == "HTTP 409 ABORTED: Specified Context `etag`: `1` does not match");
    r.body = "<html>";
    CHECK(parse_api_error(r).status.empty());
    for (long s : {408, 429, 500, 502, 503, 504}) CHECK(retryable_status(s));
    for (long s : {400, 401, 403, 404, 409, 412}) CHECK_FALSE(retryable_status(s));
}

TEST_CASE("vertex rest: exponential backoff with jitter, capped, never below Retry-After") {
    backoff_policy b{std::chrono::milliseconds(100), std::chrono::milliseconds(1000)};
    std::mt19937_64 rng(1);
    for (unsigned attempt = 1; attempt < 12; ++attempt) {
        const auto d = b.delay(attempt, std::nullopt, rng).count();
        const long long full = std::min<long long>(100LL << (attempt - 1), 1000);
        CHECK(d >= full / 2);
        CHECK(d <= full);
    }
    CHECK(b.delay(1, std::chrono::milliseconds(30000), rng).count() == 30000);
    CHECK(b.delay(1, std::chrono::hours(2), rng) == std::chrono::minutes(15));
}

TEST_CASE("vertex rest: endpoints") {
    CHECK(vertex_api_base("", "us-central1") == "https://us-central1-aiplatform.googleapis.com");
    CHECK(vertex_api_base("", "us") == "https://aiplatform.us.rep.googleapis.com");
    CHECK(vertex_api_base("", "global") == "https://aiplatform.googleapis.com");
    CHECK(vertex_api_base("http://127.0.0.1:9/v1/", "x") == "http://127.0.0.1:9");
    CHECK_ERROR_ID("config.40", vertex_api_base("http://10.1.2.3", "x"));
    CHECK(gcs_api_base("") == "https://storage.googleapis.com");
}
