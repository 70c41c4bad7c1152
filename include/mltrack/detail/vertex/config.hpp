// Why: the sink and the client that reads runs back must agree on everything they resolve from options
// and the environment (credentials, project, location, endpoints, staging bucket, ids), so both call the
// one function here. The options and the counters of the sink are declared here too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "../../error.hpp"
#include "../http/http.hpp"
#include "auth.hpp"
#include "engine.hpp"
#include "env.hpp"
#include "ids.hpp"
#include "rest.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

/// How experiment and run names become Vertex AI ids (docs/vertex.md, "Ids").
enum class vertex_id_mapping {
    exact,   ///< the names are the ids, as with the Python SDK; a name the service refuses fails start_run
    hashed,  ///< names outside the rule map to "<lowercased>-<6 hex>" ids, display names keep the names
};

/// Options of the Vertex AI sink. Everything has a default from the environment (see docs/vertex.md).
struct vertex_ai_options {
    std::string project;   ///< project id or number; default GOOGLE_CLOUD_PROJECT, CLOUD_ML_PROJECT_ID, the
                           ///< credentials' project, the metadata server's
    std::string location;  ///< default GOOGLE_CLOUD_REGION, CLOUD_ML_REGION, "us-central1"
    std::string experiment;  ///< the Vertex experiment id to log into, verbatim (default: AIP_EXPERIMENT_NAME,
                             ///< else derived from the tracker's experiment name)
    std::string run;         ///< the Vertex run id, verbatim (default: AIP_EXPERIMENT_RUN_NAME, else derived)
    std::string experiment_description;
    vertex_id_mapping id_mapping = vertex_id_mapping::exact;  ///< names -> ids (exact: the SDK's way)

    std::string endpoint;        ///< API base URL; default MLTRACK_VERTEX_ENDPOINT, else https://{L}-aiplatform...
    std::string gcs_endpoint;    ///< default MLTRACK_GCS_ENDPOINT, else https://storage.googleapis.com
    std::string token_endpoint;  ///< default MLTRACK_TOKEN_ENDPOINT, else the credentials file's token_uri
    std::string metadata_host;   ///< default GCE_METADATA_HOST, else metadata.google.internal
    std::string access_token;    ///< explicit token (default GOOGLE_OAUTH_ACCESS_TOKEN, then ADC)
    std::string credentials_file;  ///< default GOOGLE_APPLICATION_CREDENTIALS, then gcloud's ADC file
    bool service_account_token_exchange = false;  ///< exchange service-account JWTs for tokens (AIP-4112)
    std::string ca_file;         ///< extra CA bundle for private endpoints

    std::string tensorboard;     ///< backing TensorBoard (resource name or id); default: the experiment's,
                                 ///< else the project's default one (AIP_TENSORBOARD_RESOURCE_NAME in jobs)
    bool time_series = true;     ///< false: never find, create or bind a TensorBoard (the SDK's
                                 ///< experiment_tensorboard=False); an experiment bound already is used
    bool create_tensorboard = true;  ///< create a default TensorBoard when the project has none (billable)
    std::string staging_bucket;  ///< gs://bucket[/prefix] for model files; default MLTRACK_VERTEX_STAGING_BUCKET,
                                 ///< else AIP_MODEL_DIR
    std::string gcs_mount = "/gcs";  ///< Cloud Storage FUSE mount of Vertex jobs (copied there when present)
    std::string local_root;      ///< a JSONL root: artifact copies are read from <root>/<exp>/<run>/<path>
                                 ///< when the original file is gone (sync)

    std::chrono::milliseconds flush_interval{1000};  ///< time-series points are sent at least this often
    std::size_t max_points_per_request = 5000;        ///< API limit: 5000
    std::size_t max_buffered_points = 1u << 20;       ///< points kept while undelivered (~32 MB); beyond:
                                                      ///< dropped from Vertex (JSONL keeps them), counted
    std::size_t max_queued_requests = 100000;         ///< operations kept while undelivered
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds request_timeout{60000};
    std::chrono::milliseconds backoff_initial{1000};
    std::chrono::milliseconds backoff_max{60000};
    std::chrono::milliseconds close_timeout{30000};   ///< close() waits this long for delivery
    bool check_exists = true;   ///< exists() asks the service (a blocking GET, for start_mode checks);
                                ///< a resume never creates a run either way
    bool only_chief = true;     ///< inside a multi-replica job only the chief (CLUSTER_SPEC) logs
};

/// Counters of a Vertex sink (a snapshot).
struct vertex_ai_stats {
    std::uint64_t requests = 0, retries = 0, transport_errors = 0, throttled = 0, server_errors = 0, aborted = 0;
    std::uint64_t token_refreshes = 0;
    std::uint64_t operations_queued = 0, operations_done = 0, operations_refused = 0, operations_rejected = 0;
    std::uint64_t points_buffered = 0, points_sent = 0, points_dropped = 0, points_rejected = 0;
    std::uint64_t write_requests = 0;
    std::uint64_t undelivered_points = 0, undelivered_operations = 0;
    bool idle = true;
};

/// A handle on a sink's counters that stays valid after the sink moved into a tracker.
class vertex_ai_monitor {
public:
    explicit vertex_ai_monitor(std::shared_ptr<const detail::vertex_counters> c) : c_(std::move(c)) {}
    vertex_ai_stats stats() const {
        vertex_ai_stats s;
        const auto& c = *c_;
        auto v = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
        s.requests = v(c.requests);
        s.retries = v(c.retries);
        s.transport_errors = v(c.transport_errors);
        s.throttled = v(c.throttled);
        s.server_errors = v(c.server_errors);
        s.aborted = v(c.aborted);
        s.token_refreshes = v(c.token_refreshes);
        s.operations_queued = v(c.steps_queued);
        s.operations_done = v(c.steps_done);
        s.operations_refused = v(c.steps_refused);
        s.operations_rejected = v(c.steps_rejected);
        s.points_buffered = v(c.points_buffered);
        s.points_sent = v(c.points_sent);
        s.points_dropped = v(c.points_dropped);
        s.points_rejected = v(c.points_rejected);
        s.write_requests = v(c.write_requests);
        s.undelivered_points = v(c.undelivered_points);
        s.undelivered_operations = v(c.undelivered_steps);
        s.idle = c.idle.load(std::memory_order_relaxed);
        return s;
    }

private:
    std::shared_ptr<const detail::vertex_counters> c_;
};

}  // namespace sinks

namespace detail {

/// The options with every default resolved.
struct vx_config {
    sinks::vertex_ai_options options;
    std::string project, location, api, gcs;
    std::string parent;   ///< projects/{P}/locations/{L}
    std::string staging;  ///< gs://bucket/prefix, or ""
    bool chief = true;

    bool hashed() const noexcept { return options.id_mapping == sinks::vertex_id_mapping::hashed; }

    /// The Vertex ids of an experiment and a run: an explicit id wins; else the names themselves (exact:
    /// name.40-42 when the service would refuse them) or their hashed mapping.
    std::string experiment_id(std::string_view experiment) const {
        if (!options.experiment.empty()) return options.experiment;
        if (hashed()) return vertex_experiment_id(experiment);
        check_vertex_experiment_name(experiment);
        return std::string(experiment);
    }
    std::string run_id(std::string_view experiment, std::string_view run) const {
        if (!options.run.empty()) return options.run;
        const std::string eid = experiment_id(experiment);
        if (hashed()) return vertex_run_id(eid, run);
        check_vertex_run_name(eid, run);
        return std::string(run);
    }
    /// The display names the SDK would show: the names, or the explicit ids when those are given.
    std::string experiment_display_name(std::string_view experiment) const {
        return options.experiment.empty() ? std::string(experiment) : options.experiment;
    }
    std::string run_display_name(std::string_view run) const {
        return options.run.empty() ? std::string(run) : options.run;
    }
    std::string v1(const std::string& resource) const { return api + "/v1/" + resource; }
};

struct vx_resolved {
    vx_config cfg;
    credentials creds;
    http_options http;
};

inline bool is_vertex_id(const std::string& s) {
    return !s.empty() && s.size() <= 128 && vertex_id_violation(s) == std::string::npos;
}

/// Resolves credentials, project, location, endpoints and the staging bucket from the options, then the
/// environment (docs/vertex.md). Throws mltrack::error config.40-46 when something is missing or invalid.
inline vx_resolved resolve_vertex_config(sinks::vertex_ai_options options) {
    vx_resolved out;
    auto& cfg = out.cfg;
    const auto job = read_vertex_job_environment();
    cfg.chief = job.chief || !options.only_chief;
    if (options.experiment.empty()) options.experiment = job.experiment;
    if (options.run.empty()) options.run = job.run;
    if (options.tensorboard.empty()) options.tensorboard = job.tensorboard;
    if (options.max_points_per_request == 0 || options.max_points_per_request > 5000)
        options.max_points_per_request = 5000;

    auth_config auth;
    auth.access_token = options.access_token;
    auth.credentials_file = options.credentials_file;
    auth.token_endpoint = options.token_endpoint;
    auth.metadata_host = options.metadata_host;
    auth.service_account_token_exchange = options.service_account_token_exchange;
    out.creds = credentials::discover(auth);

    out.http.connect_timeout = options.connect_timeout;
    out.http.timeout = options.request_timeout;
    out.http.ca_file = options.ca_file;

    cfg.project = first_of({options.project, job.project, out.creds.project()});
    if (cfg.project.empty() && out.creds.kind() == credential_kind::metadata_server && job.job_id.empty()) {
        http_options quick = out.http;
        quick.connect_timeout = std::chrono::milliseconds(2000);
        http_client probe(quick);
        cfg.project = out.creds.metadata_project(probe);
    }
    if (cfg.project.empty())
        throw error(error_category::config, 42,
                    "no Google Cloud project: set vertex_ai_options::project or GOOGLE_CLOUD_PROJECT");
    cfg.location = first_of({options.location, job.location, "us-central1"});
    cfg.api = vertex_api_base(options.endpoint, cfg.location);
    cfg.gcs = gcs_api_base(options.gcs_endpoint);
    cfg.parent = "projects/" + cfg.project + "/locations/" + cfg.location;
    std::string staging = first_of({options.staging_bucket, env_value("MLTRACK_VERTEX_STAGING_BUCKET"), job.model_dir});
    while (!staging.empty() && staging.back() == '/') staging.pop_back();
    if (!staging.empty() && (staging.size() <= 5 || staging.compare(0, 5, "gs://") != 0))
        throw error(error_category::config, 46, "the staging bucket must be a gs:// URI, not '" + staging + "'");
    cfg.staging = staging;
    for (const auto& id : {options.experiment, options.run})
        if (!id.empty() && !is_vertex_id(id))
            throw error(error_category::config, 46,
                        "'" + id + "' is not a Vertex AI id (lowercase letters, digits and '-', starting with a "
                        "letter or digit)");
    cfg.options = std::move(options);
    return out;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
