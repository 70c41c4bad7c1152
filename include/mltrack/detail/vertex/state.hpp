// Why: the steps of the Vertex sink share what it learned from the service (server names, etags, the
// TensorBoard a run writes to, the ids of its time series) and what waits to be sent (points, params,
// summary metrics, the end state). Keeping that state in one place, apart from the steps, lets each step
// be read on its own.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../record.hpp"
#include "../http/http.hpp"
#include "config.hpp"
#include "engine.hpp"
#include "rest.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Everything the sink knows about one Vertex experiment.
struct vx_experiment {
    std::string name;           ///< ours
    std::string id;             ///< the Vertex context / TensorBoard experiment id
    std::string context_name;   ///< server name, once created or found
    nlohmann::json context;     ///< as last returned (for PATCH)
    std::string tensorboard;    ///< backing TensorBoard's server name
    std::string tb_experiment;  ///< TensorBoard experiment's server name
    bool failed = false;        ///< the experiment could not be set up (every run of it is refused)
    bool tb_failed = false;     ///< no TensorBoard: time series are refused
};

struct vx_point {
    std::int64_t step;
    std::int64_t time_ns;
    double value;
};

struct vx_series {
    std::string key;
    std::string id;  ///< the server's time series id, once known
    std::deque<vx_point> points;
};

/// Everything the sink knows about one run.
struct vx_run {
    run_info info;
    std::shared_ptr<vx_experiment> exp;
    std::string run_id, context_id;
    std::string context_name;
    nlohmann::json context;
    std::string tb_run;
    bool failed = false;
    bool adopted = false;   ///< the run existed on the service already (resume, retry, sync)
    std::vector<std::unique_ptr<vx_series>> by_metric;  ///< indexed by the tracker's metric id
    std::unordered_map<std::string, vx_series*> by_key;
    std::unordered_map<std::string, std::string> series_ids;  ///< key -> server id, as far as known

    /// Records the server id of a series (from a list or a create), whether or not it has points yet.
    void learn_series(const nlohmann::json& ts) {
        const std::string key = ts.value("displayName", std::string());
        const std::string name = ts.value("name", std::string());
        if (key.empty() || name.empty()) return;
        const std::string id = name.substr(name.rfind('/') + 1);
        series_ids[key] = id;
        auto it = by_key.find(key);
        if (it != by_key.end()) it->second->id = id;
    }
    std::size_t buffered = 0;
    bool flush_queued = false;
    nlohmann::json pending_params = nlohmann::json::object();
    nlohmann::json pending_metrics = nlohmann::json::object();
    std::optional<std::string> pending_state;
    bool patch_queued = false;
    bool ended = false;  ///< run_end seen: no more points will come
};

/// The shared context of the steps: configuration, engine, runs.
struct vx_context {
    vx_config cfg;
    std::shared_ptr<vertex_counters> counters;
    std::unique_ptr<vertex_engine> engine;
    std::string store_name;  ///< the metadata store's server name
    bool store_failed = false;
    bool warned_no_staging = false;
    bool closing = false;  ///< close() started: flushes send everything buffered

    std::string v1(const std::string& resource) const { return cfg.v1(resource); }
    std::string store_path() const {
        return store_name.empty() ? cfg.parent + "/metadataStores/default" : store_name;
    }
    void buffered_delta(std::int64_t d) {
        if (d >= 0) counters->points_buffered.fetch_add(static_cast<std::uint64_t>(d), std::memory_order_relaxed);
        else counters->points_buffered.fetch_sub(static_cast<std::uint64_t>(-d), std::memory_order_relaxed);
    }
};

inline nlohmann::json parse_body(const http_response& r) {
    if (r.body.empty()) return nlohmann::json::object();
    try {
        return nlohmann::json::parse(r.body);
    } catch (const std::exception&) {
        throw error(error_category::io, 41, "the service answered with a body that is not JSON");
    }
}

inline bool ok(const http_response& r) { return r.status >= 200 && r.status < 300; }

inline bool is_status(const http_response& r, long http, const char* status) {
    if (r.status != http) return false;
    return parse_api_error(r).status == status;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
