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

/// The local file of an artifact: its source, else its copy under local_root.
inline std::filesystem::path vx_local_file(const vx_context& c, const vx_run& r, const artifact& a) {
    std::error_code ec;
    if (!a.source.empty() && a.source.find("://") == std::string::npos && std::filesystem::exists(a.source, ec))
        return a.source;
    if (!c.cfg.options.local_root.empty() && !a.path.empty()) {
        const auto p = std::filesystem::path(c.cfg.options.local_root) / r.info.experiment / r.info.name / a.path;
        if (std::filesystem::exists(p, ec)) return p;
    }
    return {};
}

/// The URI an artifact gets: its own gs:// or other URI, its Cloud Storage copy, or its local path.
inline std::string vx_artifact_uri(const vx_context& c, const vx_run& r, const artifact& a) {
    if (a.source.find("://") != std::string::npos) return a.source;
    if (!c.cfg.staging.empty() && !vx_local_file(c, r, a).empty()) return vx_artifact_dir(c, r, a);
    return "file://" + a.source;
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
        if (r_->failed || r_->context_name.empty())
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
        if (a.source.find("://") != std::string::npos) return;
        const auto local = vx_local_file(c_, *r_, a);
        if (local.empty() || c_.cfg.staging.empty()) {
            if (a.type == artifact_type::model && c_.cfg.staging.empty() && !c_.warned_no_staging) {
                c_.warned_no_staging = true;
                c_.engine->report(error(error_category::config, 46,
                                        "model '" + a.name + "' is not uploaded: no staging bucket (set "
                                        "vertex_ai_options::staging_bucket or MLTRACK_VERTEX_STAGING_BUCKET); its "
                                        "artifact points at the local path"));
            }
            return;
        }
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
