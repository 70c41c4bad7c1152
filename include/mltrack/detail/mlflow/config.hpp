// Why: the sink, `mltrack sync` and the blocking reads must resolve the tracking server, its credentials
// and its TLS settings the way MLflow's own client does (the same environment variables, the same
// precedence: basic credentials before a token, MLFLOW_TRACKING_INSECURE_TLS read as MLflow reads booleans
// and refused together with a CA bundle), so one function here does it. Secrets end up only in the
// Authorization header value held by the credentials object; messages name where they came from.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "../../error.hpp"
#include "../http/http.hpp"
#include "../vertex/auth.hpp"
#include "../vertex/bodies.hpp"
#include "../vertex/engine.hpp"
#include "../vertex/env.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

/// Options of the MLflow sink. Everything has a default from MLflow's own environment variables
/// (docs/mlflow.md).
struct mlflow_options {
    std::string tracking_uri;  ///< http(s)://host[:port][/prefix]; default MLFLOW_TRACKING_URI
    std::string experiment;    ///< the MLflow experiment to log into (default: the tracker's experiment name)
    std::string token;         ///< bearer token; default MLFLOW_TRACKING_TOKEN
    std::string username;      ///< basic auth (with password; wins over a token, as in MLflow); default
    std::string password;      ///< MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD
    std::string ca_file;       ///< CA bundle; default MLFLOW_TRACKING_SERVER_CERT_PATH
    std::string client_cert;   ///< client certificate (PEM); default MLFLOW_TRACKING_CLIENT_CERT_PATH
    std::optional<bool> insecure_tls;  ///< skip TLS verification; default MLFLOW_TRACKING_INSECURE_TLS
                                       ///< (true/false/1/0, as MLflow reads it); refused with a CA bundle
    std::string register_model_as;     ///< when set, each logged model becomes a version of this
                                       ///< registered model (registered-models/create, model-versions/create)
    std::string local_root;    ///< a JSONL root: artifact copies are read from <root>/<exp>/<run>/<path>
                               ///< when the original file is gone (sync)

    std::chrono::milliseconds flush_interval{1000};  ///< metric points are sent at least this often
    std::size_t max_metrics_per_request = 1000;       ///< MLflow's limit: 1000 (and 1000 entities per batch)
    std::size_t max_buffered_points = 1u << 20;       ///< points kept while undelivered (~40 MB); beyond: not
                                                      ///< sent to MLflow (the JSONL copy keeps them), counted
    std::size_t max_queued_requests = 100000;         ///< operations kept while undelivered
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds request_timeout{60000};
    std::chrono::milliseconds backoff_initial{1000};
    std::chrono::milliseconds backoff_max{60000};
    std::chrono::milliseconds close_timeout{30000};   ///< close() waits this long for delivery
    bool check_exists = true;  ///< exists() asks the server (a blocking runs/search, for start_mode checks)
};

/// Counters of an MLflow sink (a snapshot).
struct mlflow_stats {
    std::uint64_t requests = 0, retries = 0, transport_errors = 0, throttled = 0, server_errors = 0;
    std::uint64_t operations_queued = 0, operations_done = 0, operations_refused = 0, operations_rejected = 0;
    std::uint64_t points_buffered = 0, points_sent = 0, points_dropped = 0, points_rejected = 0;
    std::uint64_t batch_requests = 0;  ///< runs/log-batch requests acknowledged
    std::uint64_t undelivered_points = 0, undelivered_operations = 0;
    bool idle = true;
};

/// A handle on a sink's counters that stays valid after the sink moved into a tracker.
class mlflow_monitor {
public:
    explicit mlflow_monitor(std::shared_ptr<const detail::vertex_counters> c) : c_(std::move(c)) {}
    mlflow_stats stats() const {
        mlflow_stats s;
        const auto& c = *c_;
        auto v = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
        s.requests = v(c.requests);
        s.retries = v(c.retries);
        s.transport_errors = v(c.transport_errors);
        s.throttled = v(c.throttled);
        s.server_errors = v(c.server_errors);
        s.operations_queued = v(c.steps_queued);
        s.operations_done = v(c.steps_done);
        s.operations_refused = v(c.steps_refused);
        s.operations_rejected = v(c.steps_rejected);
        s.points_buffered = v(c.points_buffered);
        s.points_sent = v(c.points_sent);
        s.points_dropped = v(c.points_dropped);
        s.points_rejected = v(c.points_rejected);
        s.batch_requests = v(c.write_requests);
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
struct ml_config {
    sinks::mlflow_options options;
    std::string base;        ///< the tracking URI without a trailing '/'
    std::string host;        ///< its host[:port] (plain http is allowed to it: the user named it)
    std::string user;        ///< MLFLOW_TRACKING_USERNAME, for the mlflow.user tag (as MLflow's client)
    bool insecure = false;

    std::string api(const std::string& method) const { return base + "/api/2.0/mlflow/" + method; }
    std::string artifacts(const std::string& path) const { return base + "/api/2.0/mlflow-artifacts/artifacts/" + path; }
    std::string experiment_name(const std::string& tracker_experiment) const {
        return options.experiment.empty() ? tracker_experiment : options.experiment;
    }
};

struct ml_resolved {
    ml_config cfg;
    credentials creds;
    http_options http;
};

/// MLflow's boolean environment variables: true/false/1/0, any case; anything else is an error.
inline std::optional<bool> mlflow_bool_env(const char* name) {
    const char* raw = std::getenv(name);
    if (!raw) return std::nullopt;
    std::string v(raw);
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "true" || v == "1") return true;
    if (v == "false" || v == "0") return false;
    throw error(error_category::config, 82,
                std::string(name) + " must be one of true, false, 1, 0 (any case), as MLflow reads it; got '" +
                    v.substr(0, 32) + "'");
}

/// Resolves the tracking URI, credentials and TLS settings from the options, then MLflow's environment
/// variables. Throws config.80 (no URI), config.81 (not an http(s) server URI), config.82 (TLS settings),
/// config.40/41 (plain http is refused... except to the host the URI names, see below).
inline ml_resolved resolve_mlflow_config(sinks::mlflow_options options) {
    ml_resolved out;
    auto& cfg = out.cfg;
    std::string uri = first_of({options.tracking_uri, env_value("MLFLOW_TRACKING_URI")});
    if (uri.empty())
        throw error(error_category::config, 80,
                    "no MLflow tracking server: set mlflow_options::tracking_uri or MLFLOW_TRACKING_URI "
                    "(http://host:5000 or https://...)");
    while (!uri.empty() && uri.back() == '/') uri.pop_back();
    const auto sh = url_scheme_host(uri);
    if (sh.first != "http" && sh.first != "https")
        throw error(error_category::config, 81,
                    "the MLflow tracking URI must be an http(s) tracking server, not '" + url_for_message(uri) +
                        "' (file stores, databases and 'databricks' are not supported: the JSONL sink is the "
                        "local store; log there and `mltrack sync` to a server)");
    if (uri.find('?') != std::string::npos || uri.find('#') != std::string::npos)
        throw error(error_category::config, 81,
                    "the MLflow tracking URI must not have a query or fragment: '" + url_for_message(uri) + "'");
    // MLflow talks plain http to whatever server the user names (tracking servers on a cluster often have
    // no TLS); so does this sink, to that host only, never following redirects elsewhere.
    {
        const auto at = uri.find("://");
        std::string authority = uri.substr(at + 3);
        authority = authority.substr(0, authority.find('/'));
        if (authority.find('@') != std::string::npos)
            throw error(error_category::config, 81,
                        "the MLflow tracking URI must not hold credentials (user:password@host): use "
                        "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD");
        cfg.host = authority;
    }
    check_url(uri, cfg.host);
    cfg.base = uri;

    const std::string user = first_of({options.username, env_value("MLFLOW_TRACKING_USERNAME")});
    const std::string password = first_of({options.password, env_value("MLFLOW_TRACKING_PASSWORD")});
    const std::string token = first_of({options.token, env_value("MLFLOW_TRACKING_TOKEN")});
    cfg.user = user;
    if (!user.empty() && !password.empty()) {
        const std::string from = options.username.empty() ? "MLFLOW_TRACKING_USERNAME/PASSWORD" : "the username option";
        out.creds = credentials::fixed("Basic " + base64(user + ":" + password), "basic auth from " + from);
    } else if (!token.empty()) {
        out.creds = credentials::fixed("Bearer " + token,
                                       options.token.empty() ? "MLFLOW_TRACKING_TOKEN" : "the token option");
    } else {
        out.creds = credentials::fixed("", "no credentials");
    }

    const std::string ca = first_of({options.ca_file, env_value("MLFLOW_TRACKING_SERVER_CERT_PATH")});
    const bool insecure = options.insecure_tls ? *options.insecure_tls
                                               : mlflow_bool_env("MLFLOW_TRACKING_INSECURE_TLS").value_or(false);
    if (insecure && !ca.empty())
        throw error(error_category::config, 82,
                    "MLFLOW_TRACKING_INSECURE_TLS is true and a CA bundle (MLFLOW_TRACKING_SERVER_CERT_PATH) is "
                    "set: MLflow refuses both together; set one of them");
    cfg.insecure = insecure;
    out.http.verify_tls = !insecure;
    out.http.ca_file = ca;
    out.http.client_cert = first_of({options.client_cert, env_value("MLFLOW_TRACKING_CLIENT_CERT_PATH")});
    out.http.connect_timeout = options.connect_timeout;
    out.http.timeout = options.request_timeout;
    if (options.max_metrics_per_request == 0 || options.max_metrics_per_request > 1000)
        options.max_metrics_per_request = 1000;
    cfg.options = std::move(options);
    return out;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
