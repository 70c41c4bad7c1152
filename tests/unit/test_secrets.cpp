// Secrets never leak: runs logged through JSONL, TensorBoard and the Vertex AI sink (against the fake
// service, with faults so that error messages are produced) with a known fake access token in
// GOOGLE_OAUTH_ACCESS_TOKEN, then with a fake authorized_user credentials file; every output file, the
// captured stderr and every error message are searched for the secrets. Also: TLS verification cannot be
// turned off by any environment variable (a self-signed local TLS server is refused whatever is set), plain
// http goes only to loopback, and the credentials file is read, never copied or changed.
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/sinks/tensorboard.hpp>
#include <mltrack/sinks/vertex_ai.hpp>
#include <mltrack/tracker.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../vertex/vertex_fixture.hpp"
#include "unit_support.hpp"

extern char** environ;

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

const std::string fake_token = "ya29.FAKE-SECRET-ACCESS-TOKEN-7f3a9c51";
const std::string fake_client_secret = "FAKE-CLIENT-SECRET-b71e0d";
const std::string fake_refresh_token = "1//FAKE-REFRESH-SECRET-42d0aa";

/// Redirects this process's stderr into a file for its lifetime.
class stderr_capture {
public:
    explicit stderr_capture(const fs::path& file) {
        std::fflush(stderr);
        saved_ = ::dup(2);
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        REQUIRE(fd >= 0);
        ::dup2(fd, 2);
        ::close(fd);
    }
    ~stderr_capture() {
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
    }

private:
    int saved_ = -1;
};

/// Every regular file under `root` whose bytes contain `secret` (empty when none does).
std::vector<std::string> files_containing(const fs::path& root, const std::string& secret) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.is_regular_file() && unit::read_file(e.path()).find(secret) != std::string::npos)
            out.push_back(e.path().string());
    return out;
}

/// Logs a run into JSONL, TensorBoard and Vertex AI with some of the requests failing.
void log_run(vertex_test::fixture& f, const fs::path& out, const std::string& experiment, bool default_handler) {
    f.server.faults(nlohmann::json::parse(R"([
        {"methods": ".", "kind": "status", "status": 401, "probability": 0.05},
        {"methods": ".", "kind": "status", "status": 500, "probability": 0.1},
        {"methods": ".", "kind": "status", "status": 400, "paths": "timeSeries", "probability": 0.05},
        {"methods": ".", "kind": "reset", "probability": 0.05}
    ])"),
                    3);
    auto o = f.options();
    o.access_token.clear();  // from the environment or the credentials file
    auto cfg = f.config(experiment);
    if (default_handler) cfg.on_error = nullptr;  // the library's own stderr handler
    tracker t{cfg, sinks::jsonl{out / "jsonl"}, sinks::tensorboard{out / "tb"}, sinks::vertex_ai{o}};
    auto run = t.start_run("run-1");
    run.log_params({{"lr", 0.01}, {"optimizer", "adam"}});
    for (int s = 0; s < 200; ++s) run.log("loss", 1.0 / (s + 1), s);
    run.log_metrics({{"best", 0.5}});
    run.end();
}

void check_no_secret(const fs::path& out, const vertex_test::fixture& f, const std::vector<std::string>& secrets) {
    for (const auto& secret : secrets) {
        CHECK_MESSAGE(files_containing(out, secret).empty(), "'" << secret << "' found in an output file");
        CHECK_MESSAGE(f.joined_errors().find(secret) == std::string::npos, "'" << secret << "' in an error message");
    }
    CHECK(f.joined_errors().find("Bearer") == std::string::npos);
    CHECK(files_containing(out, "Bearer ").empty());
}

}  // namespace

TEST_CASE("secrets: a token from GOOGLE_OAUTH_ACCESS_TOKEN is in no file, no stderr line, no error message") {
    vertex_test::fixture f;
    unit::temp_dir out;
    f.server.config({{"static_tokens", {fake_token}}});
    f.env.set("GOOGLE_OAUTH_ACCESS_TOKEN", fake_token);
    {
        stderr_capture capture(out / "stderr.txt");
        log_run(f, out.path(), "secrets-env", true);
    }
    // The run reached the service with the token (so the token was really used), through the faults.
    const auto st = f.server.state();
    CHECK(vertex_test::under(st["contexts"], vertex_test::store + "/contexts/secrets-env-run-1").size() == 1);
    CHECK(st["faults_injected"].size() > 0);
    check_no_secret(out.path(), f, {fake_token, fake_token.substr(5)});
    CHECK(unit::read_file(out / "stderr.txt").find("[mltrack.error.") != std::string::npos);  // errors were printed
    // The JSONL run (with whatever environment it captured) is complete.
    const auto lines = unit::parse_jsonl(out / "jsonl" / "secrets-env" / "run-1" / "events.jsonl");
    CHECK(unit::of_kind(lines, "metrics").size() == 200);
}

TEST_CASE("secrets: a credentials file is read, never copied; its secrets and the tokens it yields stay out") {
    vertex_test::fixture f;
    unit::temp_dir out;
    f.server.config({{"authorized_user", {{"client_id", "cid.apps"}, {"client_secret", fake_client_secret},
                                          {"refresh_token", fake_refresh_token}}}});
    const fs::path creds = f.home / "adc.json";
    const std::string creds_text = nlohmann::json{{"type", "authorized_user"}, {"client_id", "cid.apps"},
                                                  {"client_secret", fake_client_secret},
                                                  {"refresh_token", fake_refresh_token},
                                                  {"quota_project_id", "test-project"}}
                                       .dump(2);
    unit::write_file(creds, creds_text);
    fs::permissions(creds, fs::perms::owner_read | fs::perms::owner_write);
    const auto mtime = fs::last_write_time(creds);
    f.env.set("GOOGLE_APPLICATION_CREDENTIALS", creds.string());
    f.env.set("MLTRACK_TOKEN_ENDPOINT", f.server.url() + "/token");
    {
        stderr_capture capture(out / "stderr.txt");
        log_run(f, out.path(), "secrets-file", false);
    }
    const auto st = f.server.state();
    CHECK(st["token_requests"].size() >= 1);  // tokens were really obtained with the file's refresh token
    CHECK(vertex_test::under(st["contexts"], vertex_test::store + "/contexts/secrets-file-run-1").size() == 1);
    check_no_secret(out.path(), f, {fake_client_secret, fake_refresh_token, "ya29."});
    // Read, never copied (no output file holds its bytes or its key names) and never changed.
    CHECK(files_containing(out.path(), "refresh_token").empty());
    CHECK(files_containing(out.path(), "client_secret").empty());
    CHECK(unit::read_file(creds) == creds_text);
    CHECK(fs::last_write_time(creds) == mtime);
    std::size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(f.home.path())) files += e.is_regular_file();
    CHECK(files == 1);  // nothing written next to it either (no token cache)
}

TEST_CASE("secrets: TLS verification cannot be turned off by the environment") {
    unit::temp_dir dir;
    // A TLS server on loopback with a self-signed certificate: a verifying client must refuse it.
    const std::string key = (dir / "key.pem").string(), cert = (dir / "cert.pem").string();
    const std::string gen = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout '" + key +
                            "' -out '" + cert + "' >/dev/null 2>&1";
    if (std::system(gen.c_str()) != 0) {
        MESSAGE("skipped: the openssl command is not available to make a certificate");
        return;
    }
    const std::string server_py =
        "import socket, ssl, sys\n"
        "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
        "ctx.load_cert_chain(sys.argv[1], sys.argv[2])\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(8)\n"
        "print(s.getsockname()[1], flush=True)\n"
        "while True:\n"
        "    c, _ = s.accept()\n"
        "    try:\n"
        "        t = ctx.wrap_socket(c, server_side=True); t.recv(1)\n"
        "    except Exception:\n"
        "        pass\n"
        "    c.close()\n";
    unit::write_file(dir / "tls_server.py", server_py);
    const fs::path port_file = dir / "port";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, port_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const std::string script = (dir / "tls_server.py").string();
    std::vector<char*> args{const_cast<char*>("python3"), const_cast<char*>(script.c_str()),
                            const_cast<char*>(cert.c_str()), const_cast<char*>(key.c_str()), nullptr};
    pid_t pid = -1;
    REQUIRE(::posix_spawnp(&pid, "python3", &actions, nullptr, args.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    struct killer {
        pid_t pid;
        ~killer() {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    } kill_at_exit{pid};
    REQUIRE(vertex_test::wait_until([&] { return fs::exists(port_file) && fs::file_size(port_file) > 1; }));
    const std::string port = unit::read_file(port_file).substr(0, unit::read_file(port_file).find('\n'));

    // Every variable other tools read to skip verification, and what a user might guess for mltrack.
    vertex_test::env_guard env;
    const std::vector<std::pair<std::string, std::string>> settings{
        {"CURL_INSECURE", "1"}, {"CURLOPT_SSL_VERIFYPEER", "0"}, {"CURLOPT_SSL_VERIFYHOST", "0"},
        {"GIT_SSL_NO_VERIFY", "1"}, {"PYTHONHTTPSVERIFY", "0"}, {"NODE_TLS_REJECT_UNAUTHORIZED", "0"},
        {"MLTRACK_INSECURE", "1"}, {"MLTRACK_TLS_VERIFY", "0"},
        {"MLTRACK_SSL_VERIFY", "0"}, {"MLTRACK_VERIFY_TLS", "0"}, {"MLTRACK_NO_VERIFY", "1"}};
    for (const auto& kv : settings) env.set(kv.first, kv.second);
    detail::http_client http;
    detail::http_request r;
    r.url = "https://127.0.0.1:" + port + "/v1/projects";
    const auto res = http.perform(r);
    CHECK_FALSE(res.ok);
    CHECK_MESSAGE(res.error.find("certificate") != std::string::npos, res.error);
}

TEST_CASE("secrets: plain http only to loopback, for the sink's endpoints and their environment variables too") {
    vertex_test::fixture f;
    auto o = f.options();
    o.endpoint = "http://10.1.2.3:8080";
    CHECK_ERROR_ID("config.40", sinks::vertex_ai{o});
    o = f.options();
    o.endpoint.clear();
    f.env.set("MLTRACK_VERTEX_ENDPOINT", "http://aiplatform.example.com");
    CHECK_ERROR_ID("config.40", sinks::vertex_ai{o});
    f.env.set("MLTRACK_VERTEX_ENDPOINT", "http://127.0.0.1:1");
    CHECK_NOTHROW(sinks::vertex_ai{o});
}
