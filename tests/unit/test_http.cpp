// Tests of detail/http/http.hpp through real libcurl against the fake server on loopback (needs -lcurl).
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <netinet/in.h>

#include <mltrack/detail/http/http.hpp>

#include "../vertex/fake_vertex.hpp"
#include "unit_support.hpp"

using mltrack::detail::http_client;
using mltrack::detail::http_options;
using mltrack::detail::http_request;
using mltrack::detail::http_response;

namespace {

vertex_test::fake_vertex& server() {
    static vertex_test::fake_vertex s;
    return s;
}

int unused_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const int port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

}  // namespace

TEST_CASE("http: every method sends its body and headers and gets status, headers and body back") {
    http_client c;
    for (const char* m : {"GET", "POST", "PATCH", "PUT", "DELETE"}) {
        http_request r;
        r.method = m;
        r.url = server().url() + "/_control/echo?x=1";
        r.headers = {"Content-Type: application/json", "X-Test: yes"};
        if (std::string(m) != "GET" && std::string(m) != "DELETE") r.body = R"({"k":"v"})";
        const auto res = c.perform(r);
        REQUIRE(res.ok);
        CHECK(res.response.status == 200);
        const auto j = nlohmann::json::parse(res.response.body);
        CHECK(j["method"] == m);
        CHECK(j["path"] == "/_control/echo?x=1");
        CHECK(j["headers"]["X-Test"] == "yes");
        CHECK(j["headers"]["User-Agent"].get<std::string>().rfind("mltrack/", 0) == 0);
        CHECK(j["body"] == r.body);
        CHECK(res.response.header("content-type") != nullptr);
    }
}

TEST_CASE("http: an empty POST sends Content-Length 0") {
    http_client c;
    http_request r;
    r.method = "POST";
    r.url = server().url() + "/_control/echo";
    const auto res = c.perform(r);
    REQUIRE(res.ok);
    const auto j = nlohmann::json::parse(res.response.body);
    CHECK(j["headers"]["Content-Length"] == "0");
    CHECK(j["body"] == "");
}

TEST_CASE("http: error statuses are responses, with Retry-After and ETag read") {
    http_client c;
    http_request r;
    r.url = server().url() + "/_control/status/429?retry_after=7&etag=abc";
    auto res = c.perform(r);
    REQUIRE(res.ok);
    CHECK(res.response.status == 429);
    REQUIRE(res.response.retry_after());
    CHECK(res.response.retry_after()->count() == 7000);
    CHECK(res.response.etag() == "abc");

    r.url = server().url() + "/_control/status/503";
    res = c.perform(r);
    REQUIRE(res.ok);
    CHECK(res.response.status == 503);
    CHECK_FALSE(res.response.retry_after());
}

TEST_CASE("http: Retry-After as an HTTP-date") {
    http_response r;
    r.headers.emplace_back("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT");  // in the past: retry now
    REQUIRE(r.retry_after());
    CHECK(r.retry_after()->count() == 0);
    r.headers.clear();
    r.headers.emplace_back("retry-after", "soon");
    CHECK_FALSE(r.retry_after());
}

TEST_CASE("http: one connection is kept alive and reused across requests") {
    http_client c;
    const auto before = server().get("/_control/stats")["connections"].get<int>();
    for (int i = 0; i < 20; ++i) {
        http_request r;
        r.method = i % 2 ? "POST" : "GET";
        r.url = server().url() + "/_control/echo";
        r.body = "x";
        REQUIRE(c.perform(r).ok);
    }
    CHECK(c.transfers() == 20);
    CHECK(c.connects() == 1);
    const auto after = server().get("/_control/stats")["connections"].get<int>();
    CHECK(after - before == 1);  // ours (the helper's own connection was open before `before`)
}

TEST_CASE("http: transport failures are values with clear, retryable-or-not messages") {
    http_options o;
    o.connect_timeout = std::chrono::milliseconds(2000);
    http_client c(o);

    SUBCASE("timeout") {
        http_request r;
        r.url = server().url() + "/_control/slow?delay=2";
        r.timeout = std::chrono::milliseconds(300);
        const auto res = c.perform(r);
        CHECK_FALSE(res.ok);
        CHECK(res.retryable);
        CHECK(res.error.find("timed out") != std::string::npos);
        CHECK(res.error.find("?delay") == std::string::npos);  // no query strings in messages
    }
    SUBCASE("connection refused") {
        http_request r;
        r.url = "http://127.0.0.1:" + std::to_string(unused_port()) + "/v1/x?token=SECRET";
        r.headers.push_back("Authorization: Bearer SECRET-TOKEN");
        const auto res = c.perform(r);
        CHECK_FALSE(res.ok);
        CHECK(res.retryable);
        CHECK(res.error.find("cannot connect") != std::string::npos);
        CHECK(res.error.find("SECRET") == std::string::npos);
    }
    SUBCASE("connection reset") {
        http_request r;
        r.url = server().url() + "/_control/reset_conn";
        const auto res = c.perform(r);
        CHECK_FALSE(res.ok);
        CHECK(res.retryable);
    }
    SUBCASE("response over the limit") {
        http_options small;
        small.max_response_bytes = 1000;
        http_client s(small);
        http_request r;
        r.url = server().url() + "/_control/big?bytes=5000";
        const auto res = s.perform(r);
        CHECK_FALSE(res.ok);
        CHECK_FALSE(res.retryable);
        CHECK(res.error.find("larger than the limit") != std::string::npos);
    }
    SUBCASE("https to a plain http server fails the TLS handshake") {
        http_request r;
        r.url = "https://127.0.0.1:" + std::to_string(server().port()) + "/_control/echo";
        const auto res = c.perform(r);
        CHECK_FALSE(res.ok);
    }
}

TEST_CASE("http: plain http only to loopback, or to the one host named (the metadata server)") {
    using mltrack::detail::check_url;
    CHECK_NOTHROW(check_url("https://us-central1-aiplatform.googleapis.com/v1/x"));
    CHECK_NOTHROW(check_url("http://127.0.0.1:8080/v1"));
    CHECK_NOTHROW(check_url("http://127.9.9.9/v1"));
    CHECK_NOTHROW(check_url("http://localhost:1/"));
    CHECK_NOTHROW(check_url("http://[::1]:80/"));
    CHECK_ERROR_ID("config.40", check_url("http://us-central1-aiplatform.googleapis.com/v1"));
    CHECK_ERROR_ID("config.40", check_url("http://127.0.0.1.example.com/v1"));
    CHECK_ERROR_ID("config.40", check_url("http://10.0.0.1/v1"));
    CHECK_ERROR_ID("config.41", check_url("ftp://127.0.0.1/"));
    CHECK_ERROR_ID("config.41", check_url("not a url"));
    CHECK_NOTHROW(check_url("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal"));
    CHECK_NOTHROW(check_url("http://169.254.169.254/computeMetadata/v1/", "169.254.169.254:80"));
    CHECK_ERROR_ID("config.40", check_url("http://evil.example/computeMetadata/v1/", "metadata.google.internal"));

    http_client c;
    http_request r;
    r.url = "http://example.com/";
    CHECK_ERROR_ID("config.40", c.perform(r));
}

TEST_CASE("http: asynchronous transfers are driven by poll() without blocking") {
    http_client c;
    http_request r;
    r.url = server().url() + "/_control/slow?delay=0.2";
    c.start(r);
    CHECK(c.busy());
    CHECK_ERROR_ID("state.40", c.start(r));
    int polls = 0;
    std::optional<mltrack::detail::http_result> res;
    const auto t0 = std::chrono::steady_clock::now();
    while (!(res = c.poll())) {
        ++polls;
        const auto p0 = std::chrono::steady_clock::now();
        c.wait(std::chrono::milliseconds(5));
        CHECK(std::chrono::steady_clock::now() - p0 < std::chrono::milliseconds(500));
    }
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(150));
    CHECK(polls > 3);
    REQUIRE(res->ok);
    CHECK(res->response.status == 200);
    CHECK_FALSE(c.busy());
    // The same handle then serves a blocking request.
    r.url = server().url() + "/_control/echo";
    CHECK(c.perform(r).ok);
}

TEST_CASE("http: a body streamed from a file") {
    unit::temp_dir dir;
    std::string big(300000, 'a');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    unit::write_file(dir / "blob.bin", big);
    http_client c;
    http_request r;
    r.method = "POST";
    r.url = server().url() + "/_control/echo";
    r.body_file = dir / "blob.bin";
    const auto res = c.perform(r);
    REQUIRE(res.ok);
    CHECK(nlohmann::json::parse(res.response.body)["body"] == big);
    r.body_file = dir / "missing.bin";
    CHECK_ERROR_ID("io.45", c.perform(r));
}

TEST_CASE("http: url_encode") {
    using mltrack::detail::url_encode;
    CHECK(url_encode("schema_title=\"system.Experiment\" AND x") == "schema_title%3D%22system.Experiment%22%20AND%20x");
    CHECK(url_encode("a/b c", true) == "a/b%20c");
    CHECK(url_encode("a/b") == "a%2Fb");
}

TEST_CASE("http: a Retry-After date with fields out of range is ignored, not an overflow (fuzz finding)") {
    for (const char* v : {"Sun, 06 Nov -2147483648 08:49:37 GMT", "Sun, 06 Nov 2147483647 08:49:37 GMT",
                          "Sun, 99 Nov 2015 08:49:37 GMT", "Sun, 06 Nov 2015 25:61:99 GMT"}) {
        http_response r;
        r.headers.emplace_back("retry-after", v);
        CHECK_FALSE(r.retry_after());
    }
}
