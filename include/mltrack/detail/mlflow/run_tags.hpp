// Why: the MLflow UI groups, filters and labels runs by the system tags MLflow's Python client sets at
// start_run (mlflow/tracking/context: mlflow.runName, mlflow.user, mlflow.source.name, mlflow.source.type,
// mlflow.source.git.commit). A C++ run carries the same tags, taken from the environment mltrack captured
// when the run started, so it shows like a Python one; the user's own tags follow.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "../../record.hpp"
#include "limits.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The tags a run is created with: MLflow's system tags, then the run's own tags (metadata "tags").
/// `user` is MLFLOW_TRACKING_USERNAME when set (MLflow's client prefers it too), else the captured user.
inline std::map<std::string, std::string> mlflow_run_tags(const run_info& run, const std::string& run_name,
                                                          const std::string& user) {
    std::map<std::string, std::string> tags;
    const nlohmann::json& md = run.metadata;
    const nlohmann::json* env = md.is_object() && md.contains("environment") && md["environment"].is_object()
                                    ? &md["environment"]
                                    : nullptr;
    auto str = [](const nlohmann::json* j, const char* k) -> std::string {
        if (!j || !j->contains(k) || !(*j)[k].is_string()) return {};
        return (*j)[k].get<std::string>();
    };
    tags["mlflow.runName"] = run_name;
    std::string u = user.empty() ? str(env, "user") : user;
    tags["mlflow.user"] = u.empty() ? "unknown" : u;  // MLflow's _DEFAULT_USER
    std::string source;
    if (env && env->contains("command_line") && (*env)["command_line"].is_array() &&
        !(*env)["command_line"].empty() && (*env)["command_line"][0].is_string())
        source = (*env)["command_line"][0].get<std::string>();
    tags["mlflow.source.name"] = source.empty() ? "<console>" : source;  // MLflow: sys.argv[0], else <console>
    tags["mlflow.source.type"] = "LOCAL";
    if (env && env->contains("git") && (*env)["git"].is_object()) {
        const std::string commit = str(&(*env)["git"], "commit");
        if (!commit.empty()) tags["mlflow.source.git.commit"] = commit;
    }
    if (md.is_object() && md.contains("tags") && md["tags"].is_object())
        for (auto it = md["tags"].begin(); it != md["tags"].end(); ++it)
            if (it.value().is_string()) tags[it.key()] = it.value().get<std::string>();
    for (auto& kv : tags)
        if (utf8_chars(kv.second) > mlflow_max_tag_value_length)
            kv.second = utf8_prefix(kv.second, mlflow_max_tag_value_length);
    return tags;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
