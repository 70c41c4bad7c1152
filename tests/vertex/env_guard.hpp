// Why: the auth chain and the training-job detection read the environment. Each Vertex test starts from a
// clean one (no real credentials of the machine running the tests can leak in: HOME points to an empty
// folder) and restores the original on exit.
#pragma once

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vertex_test {

class env_guard {
public:
    /// Saves and unsets every variable the Vertex code reads; HOME is set to `home` when given.
    explicit env_guard(const std::string& home = {}) {
        for (const char* n : names()) save_unset(n);
        if (!home.empty()) set("HOME", home);
    }
    env_guard(const env_guard&) = delete;
    env_guard& operator=(const env_guard&) = delete;
    ~env_guard() {
        for (auto& kv : saved_) {
            if (kv.second) ::setenv(kv.first.c_str(), kv.second->c_str(), 1);
            else ::unsetenv(kv.first.c_str());
        }
    }

    void set(const std::string& name, const std::string& value) {
        if (!saved_.count(name)) {
            const char* v = std::getenv(name.c_str());
            saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
        }
        ::setenv(name.c_str(), value.c_str(), 1);
    }

    static const std::vector<const char*>& names() {
        static const std::vector<const char*> n{
            "GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "HOME",
            "GCE_METADATA_HOST", "GCE_METADATA_ROOT", "MLTRACK_TOKEN_ENDPOINT", "MLTRACK_VERTEX_ENDPOINT",
            "MLTRACK_GCS_ENDPOINT", "MLTRACK_VERTEX_STAGING_BUCKET", "GOOGLE_CLOUD_PROJECT", "CLOUD_ML_PROJECT_ID",
            "GOOGLE_CLOUD_REGION", "CLOUD_ML_REGION", "AIP_EXPERIMENT_NAME", "AIP_EXPERIMENT_RUN_NAME",
            "AIP_MODEL_DIR", "AIP_TENSORBOARD_LOG_DIR", "AIP_TENSORBOARD_RESOURCE_NAME", "CLOUD_ML_JOB_ID",
            "CLUSTER_SPEC", "TF_CONFIG"};
        return n;
    }

private:
    void save_unset(const std::string& name) {
        const char* v = std::getenv(name.c_str());
        saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
        ::unsetenv(name.c_str());
    }
    std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace vertex_test
