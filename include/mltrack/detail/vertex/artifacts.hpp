// Why: models, datasets, classification metrics and other artifacts of a run become Vertex artifacts
// attributed to the run, with their files in Cloud Storage; ids are deterministic so that a retry or a
// later sync finds what it already made.
#pragma once

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../../error.hpp"
#include "../files.hpp"
#include "../sha256.hpp"
#include "bodies.hpp"
#include "engine.hpp"
#include "env.hpp"
#include "ids.hpp"
#include "state.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Where an artifact's files go in Cloud Storage, deterministic so that retries, syncs and executions that
/// name the same artifact agree: <staging>/<experiment id>/<run id>/<name>-<8 hex of its digest>.
inline std::string vx_artifact_dir(const vx_context& c, const vx_run& r, const artifact& a) {
    const std::string digest = a.sha256.empty() ? sha256::of(a.source) : a.sha256;
    return c.cfg.staging + "/" + r.exp->id + "/" + r.run_id + "/" + a.name + "-" + digest.substr(0, 8);
}

inline std::string vx_artifact_id(const vx_run& r, const artifact& a) {
    const char* prefix = a.type == artifact_type::model ? "model" : a.type == artifact_type::dataset ? "dataset" : "artifact";
    return vertex_record_id(prefix, r.context_id, a.name + "\n" + (a.sha256.empty() ? a.source : a.sha256));
}

/// "gs://<bucket>/<folder>" for an artifact saved under the Cloud Storage FUSE mount of Vertex jobs
/// ("<gcs_mount>/<bucket>/<folder>/<name>"): it is in Cloud Storage already. "" otherwise.
inline std::string vx_mounted_uri(const vx_context& c, const artifact& a) {
    std::string mount = c.cfg.options.gcs_mount;
    while (mount.size() > 1 && mount.back() == '/') mount.pop_back();
    if (mount.empty() || a.source.size() <= mount.size() + 1 || a.source.compare(0, mount.size(), mount) != 0 ||
        a.source[mount.size()] != '/')
        return {};
    const std::string rest = a.source.substr(mount.size() + 1);
    const auto slash = rest.rfind('/');
    if (slash == std::string::npos || slash == 0) return {};  // a bucket of its own is not an artifact folder
    return "gs://" + rest.substr(0, slash);
}

/// The URI an artifact gets: its own gs:// or other URI, its place under the /gcs mount, its Cloud Storage
/// copy in the staging bucket; else its local path (file://) for datasets and other artifacts, and ""
/// for a model: the SDK's log_model refuses to log a model it cannot put in Cloud Storage (config.50).
inline std::string vx_artifact_uri(const vx_context& c, const vx_run& r, const artifact& a) {
    if (a.source.find("://") != std::string::npos) return a.source;
    const std::string mounted = vx_mounted_uri(c, a);
    if (!mounted.empty()) return mounted;
    if (!c.cfg.staging.empty() && !local_artifact_file(a, c.cfg.options.local_root, r.info).empty())
        return vx_artifact_dir(c, r, a);
    if (a.type == artifact_type::model) return {};
    return "file://" + a.source;
}

/// config.50: a model that cannot be logged to Vertex AI for want of a staging bucket.
inline error vx_no_staging_error(const vx_run& r, const artifact& a) {
    return error(error_category::config, 50,
                 "model '" + a.name + "' of run '" + r.context_id +
                     "' is not logged to Vertex AI: it has no staging bucket to go to (set "
                     "vertex_ai_options::staging_bucket or MLTRACK_VERTEX_STAGING_BUCKET, save it under the /gcs "
                     "mount, or log a gs:// URI); the Python SDK's log_model refuses it too. The JSONL copy keeps it");
}

/// A classification-metrics, model or other artifact of a run: files uploaded to Cloud Storage (models and
/// artifacts with a local file), the artifact created with a deterministic id, and attributed to the run.
class vx_artifact_step final : public vertex_step {
public:
    vx_artifact_step(vx_context& c, std::shared_ptr<vx_run> r, record rec) : c_(c), r_(std::move(r)), rec_(std::move(rec)) {
        if (rec_.kind == record_kind::classification) {
            const auto& m = rec_.get_classification();
            id_ = vertex_record_id("cm", r_->context_id, std::to_string(rec_.time_ns) + "\n" + m.display_name);
            body_ = classification_artifact_body(m);
        } else {
            const artifact& a = rec_.get_artifact();
            id_ = vx_artifact_id(*r_, a);
            uri_ = vx_artifact_uri(c_, *r_, a);
            body_ = artifact_body(a, uri_);
            plan_uploads(a);
        }
    }
    std::string label() const override {
        return (rec_.kind == record_kind::classification ? "log classification metrics '" : "log artifact '") +
               (rec_.kind == record_kind::classification ? rec_.get_classification().display_name
                                                         : rec_.get_artifact().name) +
               "' of run '" + r_->context_id + "'";
    }

    std::optional<http_request> next(vertex_engine&) override {
        if (r_->failed) return std::nullopt;  // its run step reported why
        if (r_->context_name.empty())
            throw error(error_category::io, 41, "run '" + r_->context_id + "' could not be created");
        const std::string store = c_.store_path();
        while (upload_ < uploads_.size()) {
            const auto& u = uploads_[upload_];
            const std::string mount = gcs_mount_path(u.second, c_.cfg.options.gcs_mount);
            if (!mount.empty()) {  // inside a Vertex job: the bucket is mounted
                std::error_code ec;
                std::filesystem::create_directories(std::filesystem::path(mount).parent_path(), ec);
                std::filesystem::copy_file(u.first, mount, std::filesystem::copy_options::overwrite_existing, ec);
                if (ec) throw error(error_category::io, 45, "cannot copy " + u.first.string() + " to " + mount);
                ++upload_;
                continue;
            }
            const std::string rest = u.second.substr(5);
            const auto slash = rest.find('/');
            http_request req;
            req.method = "POST";
            req.url = c_.cfg.gcs + "/upload/storage/v1/b/" + url_encode(rest.substr(0, slash)) +
                      "/o?uploadType=media&name=" + url_encode(rest.substr(slash + 1));
            req.headers.push_back("Content-Type: application/octet-stream");
            req.body_file = u.first;
            return req;
        }
        switch (phase_) {
            case 0: return json_request("POST", c_.v1(store + "/artifacts?artifactId=" + id_), &body_);
            case 1: {
                const nlohmann::json body{{"artifacts", {store + "/artifacts/" + id_}}};
                return json_request("POST", c_.v1(r_->context_name + ":addContextArtifactsAndExecutions"), &body);
            }
            default: return std::nullopt;
        }
    }

    step_outcome on_response(vertex_engine&, const http_response& r) override {
        if (upload_ < uploads_.size()) {
            if (ok(r)) {
                ++upload_;
                return step_outcome::next;
            }
            return step_outcome::drop;
        }
        if (phase_ == 0 && (ok(r) || is_status(r, 409, "ALREADY_EXISTS"))) {
            phase_ = 1;
            return step_outcome::next;
        }
        if (phase_ == 1 && ok(r)) {
            phase_ = 2;
            return step_outcome::next;
        }
        return step_outcome::drop;
    }

private:
    void plan_uploads(const artifact& a) {
        if (a.source.find("://") != std::string::npos || !vx_mounted_uri(c_, a).empty()) return;
        const auto local = local_artifact_file(a, c_.cfg.options.local_root, r_->info);
        if (local.empty() || c_.cfg.staging.empty()) return;
        const std::string dir = vx_artifact_dir(c_, *r_, a);
        std::error_code ec;
        if (std::filesystem::is_directory(local, ec)) {
            std::vector<std::filesystem::path> files;
            for (const auto& e : std::filesystem::recursive_directory_iterator(local, ec))
                if (e.is_regular_file()) files.push_back(e.path());
            std::sort(files.begin(), files.end());
            for (const auto& f : files)
                uploads_.emplace_back(f, dir + "/" + a.name + "/" + f.lexically_relative(local).generic_string());
        } else {
            uploads_.emplace_back(local, dir + "/" + a.name);
        }
    }

    vx_context& c_;
    std::shared_ptr<vx_run> r_;
    record rec_;
    std::string id_, uri_;
    nlohmann::json body_;
    std::vector<std::pair<std::filesystem::path, std::string>> uploads_;  ///< local file -> gs:// object
    std::size_t upload_ = 0;
    int phase_ = 0;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
