// Why: inside a Vertex AI custom job everything the sink needs is in the environment (project, region,
// experiment, run, model folder, which replica is the chief), and outside one a few variables override
// endpoints for tests and private endpoints. Reading them in one place keeps the precedence rules (the
// Python SDK's) documented and testable.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The value of an environment variable; unset and empty are the same ("").
inline std::string env_value(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

/// The first non-empty of the arguments.
inline std::string first_of(std::initializer_list<std::string> values) {
    for (const auto& v : values)
        if (!v.empty()) return v;
    return {};
}

/// "projects/p/locations/l/metadataStores/default/contexts/abc" -> "abc"; a plain id stays as it is.
inline std::string strip_context_prefix(std::string v) {
    const auto at = v.rfind("/contexts/");
    if (at != std::string::npos) v.erase(0, at + 10);
    return v;
}

/// Whether this process is the replica that should log, from CLUSTER_SPEC (or TF_CONFIG): the chief is task
/// type "workerpool0" or "chief" with index 0. Without a cluster spec every process is the chief.
inline bool is_chief_replica(std::string_view cluster_spec) {
    if (cluster_spec.empty()) return true;
    try {
        const auto j = nlohmann::json::parse(cluster_spec);
        const auto& task = j.at("task");
        const std::string type = task.value("type", std::string("workerpool0"));
        const int index = task.value("index", 0);
        return (type == "workerpool0" || type == "chief" || type == "master") && index == 0;
    } catch (const std::exception&) {
        return true;  // unreadable: do not silence logging
    }
}

/// What a Vertex AI training job tells its containers.
struct vertex_job_environment {
    std::string project;           ///< GOOGLE_CLOUD_PROJECT, else CLOUD_ML_PROJECT_ID (a project number)
    std::string location;          ///< GOOGLE_CLOUD_REGION, else CLOUD_ML_REGION
    std::string experiment;        ///< AIP_EXPERIMENT_NAME (id, full context name stripped)
    std::string run;               ///< AIP_EXPERIMENT_RUN_NAME, without the "<experiment>-" prefix
    std::string model_dir;         ///< AIP_MODEL_DIR
    std::string tensorboard_log_dir;  ///< AIP_TENSORBOARD_LOG_DIR
    std::string tensorboard;       ///< AIP_TENSORBOARD_RESOURCE_NAME
    std::string job_id;            ///< CLOUD_ML_JOB_ID: set only inside a Vertex job
    bool chief = true;             ///< from CLUSTER_SPEC / TF_CONFIG
};

inline vertex_job_environment read_vertex_job_environment() {
    vertex_job_environment e;
    e.project = first_of({env_value("GOOGLE_CLOUD_PROJECT"), env_value("CLOUD_ML_PROJECT_ID")});
    e.location = first_of({env_value("GOOGLE_CLOUD_REGION"), env_value("CLOUD_ML_REGION")});
    e.experiment = strip_context_prefix(env_value("AIP_EXPERIMENT_NAME"));
    e.run = strip_context_prefix(env_value("AIP_EXPERIMENT_RUN_NAME"));
    if (!e.experiment.empty() && e.run.size() > e.experiment.size() + 1 &&
        e.run.compare(0, e.experiment.size() + 1, e.experiment + "-") == 0)
        e.run.erase(0, e.experiment.size() + 1);
    e.model_dir = env_value("AIP_MODEL_DIR");
    e.tensorboard_log_dir = env_value("AIP_TENSORBOARD_LOG_DIR");
    e.tensorboard = env_value("AIP_TENSORBOARD_RESOURCE_NAME");
    e.job_id = env_value("CLOUD_ML_JOB_ID");
    const std::string spec = first_of({env_value("CLUSTER_SPEC"), env_value("TF_CONFIG")});
    e.chief = is_chief_replica(spec);
    return e;
}

/// "gs://bucket/a/b" -> "<mount>/bucket/a/b" when the Cloud Storage FUSE mount of Vertex jobs has that
/// bucket; "" otherwise.
inline std::string gcs_mount_path(std::string_view uri, const std::filesystem::path& mount = "/gcs") {
    if (uri.substr(0, 5) != "gs://") return {};
    const std::string rest(uri.substr(5));
    const auto slash = rest.find('/');
    const std::string bucket = rest.substr(0, slash);
    std::error_code ec;
    if (bucket.empty() || !std::filesystem::is_directory(mount / bucket, ec)) return {};
    return (mount / rest).string();
}

}  // namespace detail
MLTRACK_NAMESPACE_END
