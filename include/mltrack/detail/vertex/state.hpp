// Why: the steps of the Vertex sink share what it learned from the service (server names, etags, the
// TensorBoard run a run writes to, the ids of its time series) and what waits to be sent (points, params,
// summary metrics, the end state). Keeping that state in one place, apart from the steps, lets each step
// be read on its own.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../record.hpp"
#include "../http/http.hpp"
#include "bodies.hpp"
#include "config.hpp"
#include "engine.hpp"
#include "rest.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Everything the sink knows about one Vertex experiment.
struct vx_experiment {
    std::string name;           ///< its display name
    std::string id;             ///< the Vertex context / TensorBoard experiment id
    std::string context_name;   ///< server name, once created or found
    nlohmann::json context;     ///< as last returned (for PATCH)
    std::string tensorboard;    ///< backing TensorBoard's server name ("" when it has none)
    bool failed = false;        ///< the experiment could not be set up (every run of it is refused)
    bool setup_done = false;    ///< the setup step finished (successfully or not)
};

struct vx_point {
    std::int64_t step;
    std::int64_t time_ns;
    double value;
};

/// A histogram point: its TensorProto, already base64 (a TENSOR time series of the histograms plugin).
struct vx_tensor_point {
    std::int64_t step;
    std::int64_t time_ns;
    std::string tensor_b64;
};

/// One time series of a run: scalars (a metric) or tensors (a histogram key).
struct vx_series {
    std::string key;
    bool tensor = false;  ///< TENSOR, plugin "histograms"; else SCALAR, plugin "scalars"
    std::string id;       ///< the server's time series id, once known
    std::deque<vx_point> points;
    std::deque<vx_tensor_point> tensors;
    std::size_t pending() const noexcept { return tensor ? tensors.size() : points.size(); }
};

/// Everything the sink knows about one run.
struct vx_run {
    run_info info;
    std::shared_ptr<vx_experiment> exp;
    std::string run_id, context_id, display_name;
    std::string context_name;
    nlohmann::json context;
    std::string tb_run;         ///< the TensorBoard run the run is linked to (its "-tb-run" artifact)
    std::string tb_experiment;  ///< that TensorBoard run's experiment (time series are created there)
    bool failed = false;        ///< the run could not be created or resumed: nothing more is sent for it
    bool refused = false;       ///< its names are not Vertex ids (name.40-42): nothing is sent for it
    bool adopted = false;       ///< the run existed on the service already (resume, retry, sync)
    bool warned_no_tensorboard = false;  ///< config.49 reported for this run
    std::set<std::string> linked_executions;   ///< live executions attributed to the run by this sink
    std::set<std::string> resumed_executions;  ///< live executions resumed in the run: they must exist
    std::set<std::string> missing_executions;  ///< resumed ones the service does not have (state.44 reported)

    std::vector<std::unique_ptr<vx_series>> series;       ///< every series, in creation order
    std::vector<vx_series*> by_metric;                    ///< scalars, by the tracker's metric id
    std::unordered_map<std::string, vx_series*> by_key;   ///< scalars by key
    std::unordered_map<std::string, vx_series*> by_histogram;  ///< tensors by key
    std::unordered_map<std::string, std::string> series_ids;   ///< display name -> server id, as far as known

    /// Records the server id of a series (from a list or a create), whether or not it has points yet.
    void learn_series(const nlohmann::json& ts) {
        const std::string key = ts.value("displayName", std::string());
        const std::string name = ts.value("name", std::string());
        if (key.empty() || name.empty()) return;
        const std::string id = name.substr(name.rfind('/') + 1);
        series_ids[key] = id;
        const bool tensor = ts.value("valueType", std::string()) == "TENSOR";
        auto& index = tensor ? by_histogram : by_key;
        auto it = index.find(key);
        if (it != index.end()) it->second->id = id;
    }

    /// The series of a key (made on first use; its id is filled in when the service told it already).
    vx_series& series_for(const std::string& key, bool tensor) {
        auto& index = tensor ? by_histogram : by_key;
        auto it = index.find(key);
        if (it != index.end()) return *it->second;
        series.push_back(std::make_unique<vx_series>());
        vx_series& s = *series.back();
        s.key = key;
        s.tensor = tensor;
        auto known = series_ids.find(key);
        if (known != series_ids.end()) s.id = known->second;
        index.emplace(key, &s);
        return s;
    }

    std::size_t buffered = 0;
    bool flush_queued = false;
    nlohmann::json pending_params = nlohmann::json::object();
    nlohmann::json pending_metrics = nlohmann::json::object();
    nlohmann::json pending_labels = nlohmann::json::object();  ///< tags that are valid labels, not yet sent
    std::set<std::string> unlabelled_tags;  ///< tags that cannot be labels (value.40 reported once each)
    std::optional<std::string> pending_state;
    bool patch_queued = false;
    bool ended = false;  ///< run_end seen: no more points will come

    /// Whether the run can take time series (linked to a TensorBoard run).
    bool has_tensorboard() const noexcept { return !tb_run.empty() && !tb_experiment.empty(); }
};

/// The shared context of the steps: configuration, engine, runs.
struct vx_context {
    vx_config cfg;
    std::shared_ptr<vertex_counters> counters;
    std::unique_ptr<vertex_engine> engine;
    std::string store_name;  ///< the metadata store's server name
    bool store_failed = false;
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
