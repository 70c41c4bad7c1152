// Tests of detail/vertex/auth.hpp (Application Default Credentials) against the fake server's token
// endpoint, metadata server and API (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <mltrack/detail/vertex/auth.hpp>

#include "../vertex/env_guard.hpp"
#include "../vertex/fake_vertex.hpp"
#include "../vertex/rsa_key.hpp"
#include "unit_support.hpp"

using mltrack::detail::auth_config;
using mltrack::detail::credential_kind;
using mltrack::detail::credentials;
using mltrack::detail::http_client;
using mltrack::detail::http_request;

namespace {

vertex_test::fake_vertex& server() {
    static vertex_test::fake_vertex s;
    return s;
}

const vertex_test::rsa_key& key() {
    static const vertex_test::rsa_key k = vertex_test::make_rsa_key();
    return k;
}

/// An API call with the token: 404 for the missing store means the server accepted the credentials.
long api_status(http_client& http, const std::string& token, const std::string& user_project = {}) {
    http_request r;
    r.url = server().url() + "/v1/projects/test-project/locations/us-central1/metadataStores/default";
    r.headers.push_back("Authorization: Bearer " + token);
    if (!user_project.empty()) r.headers.push_back("x-goog-user-project: " + user_project);
    const auto res = http.perform(r);
    REQUIRE(res.ok);
    return res.response.status;
}

void write_json(const std::filesystem::path& p, const nlohmann::json& j) { unit::write_file(p, j.dump(2)); }

nlohmann::json user_file() {
    return {{"type", "authorized_user"}, {"client_id", "cid.apps"}, {"client_secret", "csecret-xyz"},
            {"refresh_token", "1//refresh-SECRET"}, {"quota_project_id", "quota-proj"}};
}

nlohmann::json sa_file() {
    return {{"type", "service_account"}, {"project_id", "sa-project"}, {"private_key_id", "kid-123"},
            {"private_key", key().pem}, {"client_email", "trainer@sa-project.iam.gserviceaccount.com"},
            {"token_uri", "https://oauth2.googleapis.com/token"}};
}

void register_accounts() {
    server().config({{"authorized_user", {{"client_id", "cid.apps"}, {"client_secret", "csecret-xyz"},
                                          {"refresh_token", "1//refresh-SECRET"}}},
                     {"service_account", {{"client_email", "trainer@sa-project.iam.gserviceaccount.com"},
                                          {"private_key_id", "kid-123"}, {"n", key().n}, {"e", key().e}}},
                     {"expires_in", 3600}});
}

}  // namespace

TEST_CASE("auth: an explicit token, then GOOGLE_OAUTH_ACCESS_TOKEN, come first and never refresh") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    env.set("GOOGLE_OAUTH_ACCESS_TOKEN", "from-env");
    auth_config cfg;
    cfg.access_token = "explicit";
    auto c = credentials::discover(cfg);
    CHECK(c.kind() == credential_kind::static_token);
    CHECK(c.token() == "explicit");
    CHECK(c.fresh());
    CHECK_FALSE(c.refresh_request());
    c.invalidate();  // a static token cannot be refreshed, so it stays
    CHECK(c.token() == "explicit");

    auto d = credentials::discover(auth_config{});
    CHECK(d.token() == "from-env");
    CHECK(d.source() == "GOOGLE_OAUTH_ACCESS_TOKEN");
    http_client http;
    CHECK(api_status(http, "test-token") == 404);
    CHECK(api_status(http, "wrong") == 401);
}

TEST_CASE("auth: authorized_user from GOOGLE_APPLICATION_CREDENTIALS, refreshed at the token endpoint") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    register_accounts();
    write_json(home / "user.json", user_file());
    env.set("GOOGLE_APPLICATION_CREDENTIALS", (home / "user.json").string());
    env.set("MLTRACK_TOKEN_ENDPOINT", server().url() + "/token");
    auto c = credentials::discover(auth_config{});
    CHECK(c.kind() == credential_kind::authorized_user);
    CHECK(c.quota_project() == "quota-proj");
    CHECK(c.project() == "quota-proj");
    CHECK(c.source().find("user.json") != std::string::npos);
    CHECK_FALSE(c.fresh());
    http_client http;
    const std::string token = c.blocking_token(http);
    CHECK(token.rfind("ya29.", 0) == 0);
    CHECK(c.fresh());
    CHECK(api_status(http, token, c.quota_project()) == 404);
    const auto st = server().state();
    CHECK(st["user_projects"] == nlohmann::json::array({"quota-proj"}));
    CHECK(st["token_requests"].back()["grant_type"] == "refresh_token");
}

TEST_CASE("auth: a rejected refresh token is reported without the secrets") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    register_accounts();
    auto f = user_file();
    f["refresh_token"] = "1//revoked-SECRET";
    write_json(home / "user.json", f);
    auth_config cfg;
    cfg.credentials_file = (home / "user.json").string();
    cfg.token_endpoint = server().url() + "/token";
    auto c = credentials::discover(cfg);
    http_client http;
    const std::string what = unit::error_of([&] { c.blocking_token(http); });
    CHECK(unit::has_id(what, "io.42"));
    CHECK(what.find("invalid_grant") != std::string::npos);
    CHECK(what.find("SECRET") == std::string::npos);
    CHECK(what.find("csecret") == std::string::npos);
}

TEST_CASE("auth: gcloud's well-known ADC file, under CLOUDSDK_CONFIG or HOME") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    register_accounts();
    env.set("MLTRACK_TOKEN_ENDPOINT", server().url() + "/token");
    write_json(home / ".config" / "gcloud" / "application_default_credentials.json", user_file());
    auto c = credentials::discover(auth_config{});
    CHECK(c.kind() == credential_kind::authorized_user);
    CHECK(c.source().find(".config/gcloud/application_default_credentials.json") != std::string::npos);

    unit::temp_dir sdk;
    write_json(sdk / "application_default_credentials.json", sa_file());
    env.set("CLOUDSDK_CONFIG", sdk.path().string());
    auto d = credentials::discover(auth_config{});
    CHECK(d.kind() == credential_kind::service_account);
    CHECK(d.project() == "sa-project");

    // GOOGLE_APPLICATION_CREDENTIALS comes before the well-known file.
    write_json(home / "other.json", user_file());
    env.set("GOOGLE_APPLICATION_CREDENTIALS", (home / "other.json").string());
    CHECK(credentials::discover(auth_config{}).source().find("other.json") != std::string::npos);
}

TEST_CASE("auth: a service account signs its own RS256 JWT, which the server verifies") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    register_accounts();
    write_json(home / "sa.json", sa_file());
    auth_config cfg;
    cfg.credentials_file = (home / "sa.json").string();
    auto c = credentials::discover(cfg);
    REQUIRE(c.kind() == credential_kind::service_account);
    http_client http;
    const std::string jwt = c.blocking_token(http);
    CHECK(std::count(jwt.begin(), jwt.end(), '.') == 2);
    CHECK(c.refreshes() == 1);
    CHECK(api_status(http, jwt) == 404);
    CHECK(server().state()["auth_seen"].dump().find("self_signed_jwt") != std::string::npos);
    // Another key's signature is refused.
    const std::string forged = jwt.substr(0, jwt.rfind('.') + 1) + jwt.substr(jwt.rfind('.') + 1, 10) + "AAAA";
    CHECK(api_status(http, forged) == 401);
}

TEST_CASE("auth: a service account can exchange its JWT for an access token instead") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    register_accounts();
    write_json(home / "sa.json", sa_file());
    auth_config cfg;
    cfg.credentials_file = (home / "sa.json").string();
    cfg.service_account_token_exchange = true;
    cfg.token_endpoint = server().url() + "/token";
    auto c = credentials::discover(cfg);
    http_client http;
    const std::string token = c.blocking_token(http);
    CHECK(token.rfind("ya29.", 0) == 0);
    CHECK(api_status(http, token) == 404);
    CHECK(server().state()["token_requests"].back()["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer");
}

TEST_CASE("auth: the metadata server is the last resort, at GCE_METADATA_HOST") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    env.set("GCE_METADATA_HOST", server().host());
    auto c = credentials::discover(auth_config{});
    CHECK(c.kind() == credential_kind::metadata_server);
    CHECK(c.metadata_host() == server().host());
    http_client http;
    const std::string token = c.blocking_token(http);
    CHECK(api_status(http, token) == 404);
    CHECK(c.metadata_project(http) == "tenant-project-tp");
    CHECK(server().state()["token_requests"].back()["grant_type"] == "metadata");

    // A host that is not loopback is still allowed over plain http: it is the metadata server.
    auth_config cfg;
    cfg.metadata_host = "169.254.169.254";
    auto real = credentials::discover(cfg);
    auto req = real.refresh_request();
    REQUIRE(req);
    CHECK_NOTHROW(mltrack::detail::check_url(req->url, req->plain_http_host));
}

TEST_CASE("auth: tokens are refreshed before they expire") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    register_accounts();
    server().config({{"expires_in", 400}});
    env.set("GCE_METADATA_HOST", server().host());
    auth_config cfg;
    cfg.refresh_margin = std::chrono::seconds(300);
    auto c = credentials::discover(cfg);
    http_client http;
    const std::string first = c.blocking_token(http);
    const auto now = credentials::clock::now();
    CHECK(c.fresh(now));
    CHECK_FALSE(c.fresh(now + std::chrono::seconds(120)));  // inside the margin: due for a refresh
    CHECK(c.usable(now + std::chrono::seconds(120)));       // but still usable if the refresh fails
    c.invalidate();
    const std::string second = c.blocking_token(http);
    CHECK(second != first);
    CHECK(c.refreshes() == 2);
    server().config({{"expires_in", 3600}});
}

TEST_CASE("auth: unreadable or unsupported credentials fail clearly, without quoting the file") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    unit::write_file(home / "bad.json", "{\"private_key\": \"-----BEGIN SECRET\" oops");
    auth_config cfg;
    cfg.credentials_file = (home / "bad.json").string();
    const std::string what = unit::error_of([&] { credentials::discover(cfg); });
    CHECK(unit::has_id(what, "config.43"));
    CHECK(what.find("SECRET") == std::string::npos);

    write_json(home / "ext.json", {{"type", "external_account"}});
    cfg.credentials_file = (home / "ext.json").string();
    CHECK_ERROR_ID("config.43", credentials::discover(cfg));

    auto sa = sa_file();
    sa.erase("client_email");
    write_json(home / "sa.json", sa);
    cfg.credentials_file = (home / "sa.json").string();
    CHECK_ERROR_ID("config.43", credentials::discover(cfg));

    sa = sa_file();
    sa["private_key"] = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
    write_json(home / "sa.json", sa);
    auto c = credentials::discover(cfg);
    CHECK_ERROR_ID("config.43", c.refresh_request());

    cfg.credentials_file = (home / "missing.json").string();
    CHECK_ERROR_ID("config.43", credentials::discover(cfg));

    auth_config none;
    none.use_metadata_server = false;
    CHECK_ERROR_ID("config.45", credentials::discover(none));
}

TEST_CASE("auth: base64url without padding") {
    using mltrack::detail::base64url;
    CHECK(base64url("") == "");
    CHECK(base64url("f") == "Zg");
    CHECK(base64url("fo") == "Zm8");
    CHECK(base64url("foo") == "Zm9v");
    CHECK(base64url("\xfb\xff") == "-_8");
}

TEST_CASE("vertex env: training-job variables") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    env.set("CLOUD_ML_PROJECT_ID", "987654321");
    env.set("CLOUD_ML_REGION", "europe-west4");
    env.set("AIP_EXPERIMENT_NAME", "projects/987654321/locations/europe-west4/metadataStores/default/contexts/exp-a");
    env.set("AIP_EXPERIMENT_RUN_NAME",
            "projects/987654321/locations/europe-west4/metadataStores/default/contexts/exp-a-run-7");
    env.set("CLUSTER_SPEC", R"({"cluster":{"workerpool0":["h:1"],"workerpool1":["h:2"]},"task":{"type":"workerpool1","index":0}})");
    auto e = mltrack::detail::read_vertex_job_environment();
    CHECK(e.project == "987654321");
    CHECK(e.location == "europe-west4");
    CHECK(e.experiment == "exp-a");
    CHECK(e.run == "run-7");
    CHECK_FALSE(e.chief);
    env.set("GOOGLE_CLOUD_PROJECT", "my-project");
    env.set("CLUSTER_SPEC", R"({"task":{"type":"workerpool0","index":0}})");
    e = mltrack::detail::read_vertex_job_environment();
    CHECK(e.project == "my-project");
    CHECK(e.chief);
    CHECK(mltrack::detail::is_chief_replica(""));
    CHECK_FALSE(mltrack::detail::is_chief_replica(R"({"task":{"type":"chief","index":1}})"));

    unit::temp_dir mount;
    std::filesystem::create_directories(mount / "bucket");
    CHECK(mltrack::detail::gcs_mount_path("gs://bucket/a/b", mount.path()) == (mount / "bucket/a/b").string());
    CHECK(mltrack::detail::gcs_mount_path("gs://other/a", mount.path()).empty());
    CHECK(mltrack::detail::gcs_mount_path("/local/a", mount.path()).empty());
}

TEST_CASE("auth: a huge, negative or fractional expires_in is bounded to [0, 1 day], not an overflow (fuzz finding)") {
    unit::temp_dir home;
    vertex_test::env_guard env(home.path().string());
    env.set("GCE_METADATA_HOST", server().host());
    for (const double expires_in : {9.3e18, -9.3e18, 3.4e20, -1.0}) {  // as JSON integers and as doubles
        server().config({{"expires_in", expires_in}});
        auth_config cfg;
        cfg.refresh_margin = std::chrono::seconds(0);
        auto c = credentials::discover(cfg);
        http_client http;
        CHECK_FALSE(c.blocking_token(http).empty());
        const auto now = credentials::clock::now();
        CHECK(c.fresh(now) == (expires_in > 0));
        CHECK_FALSE(c.fresh(now + std::chrono::hours(25)));
    }
    server().config({{"expires_in", 3600}});
}
