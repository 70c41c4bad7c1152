// Why: the steps of the MLflow sink share what the server told it (experiment and run ids, the run's
// artifact URI) and what waits to be sent (points, params, tags, the end state). Keeping that state in one
// place, apart from the steps, lets each step be read on its own.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../record.hpp"
#include "../http/http.hpp"
#include "../vertex/engine.hpp"
#include "../vertex/rest.hpp"
#include "../jsonl/json_line.hpp"
#include "config.hpp"
#include "limits.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Everything the sink knows about one MLflow experiment.
struct ml_experiment {
    std::string name;
    std::string id;            ///< once found or created
    bool failed = false;       ///< could not be found or created: every run of it is refused
    bool setup_done = false;
};

/// A metric point waiting to go out: the run's key slot, step, timestamp in ms, value.
struct ml_point {
    std::uint32_t key;
    std::int64_t step;
    std::int64_t timestamp_ms;
    double value;
};

/// Everything the sink knows about one run.
struct ml_run {
    run_info info;
    std::shared_ptr<ml_experiment> exp;
    std::string name;          ///< the MLflow run name (mlflow.runName): the mltrack run name
    std::string run_id;        ///< the MLflow run id, once created or found
    std::string artifact_uri;  ///< from the server (mlflow-artifacts:/<exp>/<run>/artifacts with a proxy)
    bool failed = false;       ///< could not be created or found: nothing more is sent for it
    bool adopted = false;      ///< an MLflow run of that name existed (resume, retry, a later sync)

    // Metric keys, as JSON string literals, by slot; a slot with an empty literal is a key MLflow refuses.
    std::vector<std::string> key_json;
    std::vector<std::int32_t> slot_of_metric;          ///< the tracker's metric id -> slot (-1: not yet)
    std::map<std::string, std::uint32_t> slot_of_key;  ///< for summary metrics
    std::deque<ml_point> points;
    std::size_t buffered = 0;  ///< == points.size(), mirrored in counters.points_buffered

    std::vector<std::pair<std::string, std::string>> pending_params;  ///< in logging order, not yet sent
    std::map<std::string, std::string> params;   ///< every param sent or queued: MLflow keeps the first value
    std::map<std::string, std::string> pending_tags;
    std::set<std::string> reported_keys;         ///< keys already reported as refused (once each)
    bool warned_histograms = false;
    std::optional<std::string> pending_state;    ///< RUNNING, FINISHED, FAILED, KILLED
    std::int64_t end_time_ms = 0;
    bool batch_queued = false;
    bool ended = false;
    std::uint32_t artifact_seq = 0;

    /// The slot of a metric key, made on first use; -1 when MLflow would refuse the key.
    std::int32_t slot_for(const std::string& key, std::string& problem);
};

/// The shared context of the steps.
struct ml_context {
    ml_config cfg;
    std::shared_ptr<vertex_counters> counters;
    std::unique_ptr<vertex_engine> engine;
    bool closing = false;

    void buffered_delta(std::int64_t d) {
        if (d >= 0) counters->points_buffered.fetch_add(static_cast<std::uint64_t>(d), std::memory_order_relaxed);
        else counters->points_buffered.fetch_sub(static_cast<std::uint64_t>(-d), std::memory_order_relaxed);
    }
};

/// A JSON body of the server, or an empty object; throws io.41 when it is not JSON.
inline nlohmann::json ml_body(const http_response& r) {
    if (r.body.empty()) return nlohmann::json::object();
    try {
        return nlohmann::json::parse(r.body);
    } catch (const std::exception&) {
        throw error(error_category::io, 41, "the MLflow server answered with a body that is not JSON (HTTP " +
                                                std::to_string(r.status) + ")");
    }
}

inline bool ml_ok(const http_response& r) { return r.status >= 200 && r.status < 300; }

/// MLflow's error code of a response ("RESOURCE_ALREADY_EXISTS", "INVALID_PARAMETER_VALUE"...), or "".
inline std::string ml_error_code(const http_response& r) { return parse_api_error(r).status; }

/// An MLflow API request (POST with a JSON body, or GET with the query already in `method`).
inline http_request ml_request(const ml_context& c, const std::string& verb, const std::string& method,
                               const nlohmann::json* body = nullptr) {
    http_request r = json_request(verb, c.cfg.api(method), body);
    r.plain_http_host = c.cfg.host;
    return r;
}

/// MLflow's run status for an mltrack run state (PREEMPTED and CANCELLED are KILLED: MLflow has no other).
inline const char* mlflow_status(run_state s) noexcept {
    switch (s) {
        case run_state::running: return "RUNNING";
        case run_state::complete: return "FINISHED";
        case run_state::failed: return "FAILED";
        case run_state::cancelled:
        case run_state::preempted: return "KILLED";
    }
    return "FINISHED";
}

inline std::int32_t ml_run::slot_for(const std::string& key, std::string& problem) {
    auto it = slot_of_key.find(key);
    if (it != slot_of_key.end()) return key_json[it->second].empty() ? -1 : static_cast<std::int32_t>(it->second);
    problem = mlflow_key_problem(key);
    std::string literal;
    if (problem.empty()) append_json_string(literal, key);
    const auto slot = static_cast<std::uint32_t>(key_json.size());
    key_json.push_back(std::move(literal));
    slot_of_key.emplace(key, slot);
    return key_json[slot].empty() ? -1 : static_cast<std::int32_t>(slot);
}

}  // namespace detail
MLTRACK_NAMESPACE_END
