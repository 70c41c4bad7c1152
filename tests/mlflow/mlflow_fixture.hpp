// Why: every MLflow end-to-end test needs the same things: one fake MLflow server per test binary (reset
// between tests), an environment without the machine's own MLFLOW_* settings, sink options pointing at the
// fake with short backoffs, and readers of the fake's state by experiment and run name. Assertions are made on
// that state (what the server would hold), never on what the sink believes it sent.
#pragma once

#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <mltrack/sinks/mlflow.hpp>

#include "../unit/unit_support.hpp"
#include "../vertex/env_guard.hpp"
#include "../vertex/fake_vertex.hpp"

namespace mlflow_test {

/// The fake MLflow server (the generic fake-server child process, with the MLflow script).
inline vertex_test::fake_vertex& shared_server() {
    static vertex_test::fake_vertex s({}, "mlflow/fake_mlflow.py");
    return s;
}

/// Saves and unsets the MLFLOW_* variables the sink reads, restoring them on exit.
struct mlflow_env {
    vertex_test::env_guard guard;
    mlflow_env() {
        for (const char* n : {"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
                              "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_INSECURE_TLS",
                              "MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_CLIENT_CERT_PATH"}) {
            guard.set(n, "");
            ::unsetenv(n);
        }
    }
    void set(const std::string& n, const std::string& v) { guard.set(n, v); }
};

struct fixture {
    mlflow_env env;
    vertex_test::fake_vertex& server = shared_server();
    std::vector<std::string> errors;

    fixture() { server.reset(); }
    ~fixture() { server.reset(); }

    mltrack::sinks::mlflow_options options() const {
        mltrack::sinks::mlflow_options o;
        o.tracking_uri = server.url();
        o.backoff_initial = std::chrono::milliseconds(10);
        o.backoff_max = std::chrono::milliseconds(100);
        o.flush_interval = std::chrono::milliseconds(50);
        o.close_timeout = std::chrono::milliseconds(60000);
        o.request_timeout = std::chrono::milliseconds(5000);
        return o;
    }

    /// Tracker config that collects sink errors instead of printing them.
    mltrack::config config(const std::string& experiment) {
        mltrack::config c{experiment};
        c.on_error = [this](const mltrack::sink_error& e) { errors.push_back(e.sink + ": " + e.message); };
        c.flush_interval = std::chrono::milliseconds(100);
        return c;
    }

    std::string joined_errors() const {
        std::string s;
        for (const auto& e : errors) s += e + "\n";
        return s;
    }

    /// The runs of the fake's state whose experiment is `experiment` and whose name is `run`.
    std::vector<nlohmann::json> runs_named(const nlohmann::json& st, const std::string& experiment,
                                           const std::string& run) const {
        std::string eid;
        for (const auto& e : st["experiments"])
            if (e["name"] == experiment) eid = e["experiment_id"];
        std::vector<nlohmann::json> out;
        for (const auto& r : st["runs"])
            if (r["info"]["experiment_id"] == eid && r["info"]["run_name"] == run) out.push_back(r);
        return out;
    }
};

/// Polls the fake until the run exists with at least one metric (states reached asynchronously).
inline bool wait_for_run(fixture& f, const std::string& experiment, const std::string& run,
                         std::chrono::milliseconds limit = std::chrono::milliseconds(20000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        const auto runs = f.runs_named(f.server.state(), experiment, run);
        if (!runs.empty() && !runs[0]["metrics"].empty()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

/// A metric history of the fake's state as (step, value) pairs, in step order.
inline std::vector<std::pair<std::int64_t, double>> history(const nlohmann::json& run, const std::string& key) {
    std::vector<std::pair<std::int64_t, double>> out;
    if (!run["metrics"].contains(key)) return out;
    for (const auto& p : run["metrics"][key]) {
        const auto& v = p["value"];
        const double d = v.is_string() ? (v == "NaN" ? std::nan("") : v == "Infinity" ? HUGE_VAL : -HUGE_VAL)
                                       : v.get<double>();
        out.emplace_back(p["step"].get<std::int64_t>(), d);
    }
    return out;
}

}  // namespace mlflow_test
