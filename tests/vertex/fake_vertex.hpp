// Why: the Vertex tests run the real sink through real libcurl against tests/vertex/fake_vertex.py, a fake
// of the service that keeps state and validates every body against the API's discovery document. This
// helper starts that server as a child process (python3 from MLTRACK_PYTHON, script found through the
// MLTRACK_SOURCE_DIR compile definition or this file's own path), reads its port, and talks to its
// control endpoints. The child is killed (by its pid) when the helper goes away.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <mltrack/detail/http/http.hpp>

extern char** environ;

namespace vertex_test {

namespace fs = std::filesystem;

/// Where a fake server's script is (`rel` under tests/, e.g. "vertex/fake_vertex.py"): under MLTRACK_SOURCE_DIR
/// when the build defines it, else next to this file's folder.
inline fs::path script_path(const std::string& rel) {
#ifdef MLTRACK_SOURCE_DIR
    {
        const fs::path p = fs::path(MLTRACK_SOURCE_DIR) / "tests" / rel;
        if (fs::exists(p)) return p;
    }
#endif
    const fs::path here = fs::path(__FILE__).parent_path().parent_path() / rel;
    if (fs::exists(here)) return fs::absolute(here);
    throw std::runtime_error("cannot find tests/" + rel + " (define MLTRACK_SOURCE_DIR)");
}

/// Where tests/vertex/ is.
inline fs::path script_dir() { return script_path("vertex/fake_vertex.py").parent_path(); }

/// A fake server run as a child process: the Vertex AI one by default, or another script of tests/ (the
/// MLflow one) that prints its port first and serves the same /_control/ endpoints.
class fake_vertex {
public:
    explicit fake_vertex(std::vector<std::string> extra_args = {}, const std::string& rel = "vertex/fake_vertex.py") {
        const char* py = std::getenv("MLTRACK_PYTHON");
        const std::string python = py && *py ? py : "python3";
        const std::string script = script_path(rel).string();
        std::vector<std::string> args{python, script};
        for (auto& a : extra_args) args.push_back(std::move(a));
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);

        int out[2];
        if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_addclose(&fa, out[0]);
        posix_spawn_file_actions_addclose(&fa, out[1]);
        const int rc = ::posix_spawnp(&pid_, python.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(out[1]);
        if (rc != 0) {
            ::close(out[0]);
            throw std::runtime_error("cannot start " + python);
        }
        std::string line;
        char c;
        while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
        ::close(out[0]);
        port_ = std::atoi(line.c_str());
        if (port_ <= 0) {
            stop();
            throw std::runtime_error("the fake server " + rel + " did not start (got '" + line + "')");
        }
    }
    fake_vertex(const fake_vertex&) = delete;
    fake_vertex& operator=(const fake_vertex&) = delete;
    ~fake_vertex() { stop(); }

    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
    }

    int port() const noexcept { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

    nlohmann::json get(const std::string& path) {
        mltrack::detail::http_request r;
        r.url = url() + path;
        auto res = client_.perform(r);
        if (!res.ok) throw std::runtime_error(res.error);
        return nlohmann::json::parse(res.response.body);
    }

    nlohmann::json post(const std::string& path, const nlohmann::json& body) {
        mltrack::detail::http_request r;
        r.method = "POST";
        r.url = url() + path;
        r.body = body.dump();
        r.headers.push_back("Content-Type: application/json");
        auto res = client_.perform(r);
        if (!res.ok) throw std::runtime_error(res.error);
        return nlohmann::json::parse(res.response.body);
    }

    nlohmann::json state() { return get("/_control/state"); }
    void faults(const nlohmann::json& rules, int seed = 1) {
        post("/_control/faults", {{"rules", rules}, {"seed", seed}});
    }
    void clear_faults() { faults(nlohmann::json::array()); }
    void config(const nlohmann::json& cfg) { post("/_control/config", cfg); }
    void reset() { post("/_control/reset", nlohmann::json::object()); }
    void seed(const nlohmann::json& tables) { post("/_control/seed", tables); }

private:
    pid_t pid_ = -1;
    int port_ = 0;
    mltrack::detail::http_client client_;
};

}  // namespace vertex_test
