// Why: every Vertex end-to-end test needs the same things: one fake server per test binary (reset between
// tests), a clean environment, sink options pointing at the fake with short backoffs, and readers of the
// fake's state that index resources by name. Assertions are made on that state (what the service would
// hold), never on what the sink believes it sent.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <mltrack/sinks/vertex_ai.hpp>

#include "../unit/unit_support.hpp"
#include "env_guard.hpp"
#include "fake_vertex.hpp"

namespace vertex_test {

inline fake_vertex& shared_server() {
    static fake_vertex s;
    return s;
}

inline const std::string project_number = "123456789012";
inline const std::string parent = "projects/" + project_number + "/locations/us-central1";
inline const std::string store = parent + "/metadataStores/default";

struct fixture {
    unit::temp_dir home;
    env_guard env{home.path().string()};
    fake_vertex& server = shared_server();
    std::vector<std::string> errors;

    fixture() {
        server.reset();
        server.config({{"page_cap", 0}, {"lro_polls", 1}, {"lro_seconds", 0.3}, {"expires_in", 3600}});
    }
    ~fixture() { server.reset(); }

    mltrack::sinks::vertex_ai_options options() const {
        mltrack::sinks::vertex_ai_options o;
        o.project = "test-project";
        o.location = "us-central1";
        o.endpoint = server.url();
        o.gcs_endpoint = server.url();
        o.access_token = "test-token";
        o.staging_bucket = "gs://staging-bucket/mltrack";
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
};

/// Polls `pred` until it holds or `limit` passes (for states reached asynchronously); true when it held.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(20000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

/// The resources of one table of the fake's state whose names start with `prefix`.
inline std::vector<nlohmann::json> under(const nlohmann::json& table, const std::string& prefix) {
    std::vector<nlohmann::json> out;
    for (auto it = table.begin(); it != table.end(); ++it)
        if (it.key().rfind(prefix, 0) == 0) out.push_back(it.value());
    return out;
}

/// The points of a time series as (step, value) pairs, from the fake's state.
inline std::vector<std::pair<std::int64_t, double>> points_of(const nlohmann::json& ts) {
    std::vector<std::pair<std::int64_t, double>> out;
    for (const auto& p : ts["points"]) {
        const auto& v = p["value"];
        double d = v.is_string() ? (v == "NaN" ? std::nan("") : v == "Infinity" ? HUGE_VAL : -HUGE_VAL) : v.get<double>();
        out.emplace_back(std::stoll(p["step"].get<std::string>()), d);
    }
    return out;
}

/// The time series of a TensorBoard run, by display name.
inline std::map<std::string, nlohmann::json> series_by_key(const nlohmann::json& st, const std::string& tb_run) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& ts : under(st["time_series"], tb_run + "/timeSeries/")) out[ts["displayName"]] = ts;
    return out;
}

}  // namespace vertex_test
