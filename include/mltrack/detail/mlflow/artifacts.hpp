// Why: MLflow shows a run's files from its artifact store, which a tracking server started with
// --artifacts-destination (or --serve-artifacts) proxies: a client PUTs each file to
// /api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/<path>, the place the run's artifact_uri
// (mlflow-artifacts:/<experiment>/<run>/artifacts) names. A PUT of the same bytes to the same path is
// idempotent, so retries and a later sync never duplicate a file. A model folder gets an `MLmodel` file
// (unless it has one) so that MLflow's model tooling recognises it; classification metrics become a JSON
// file under classification/; a model can be registered as a new model version.
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../error.hpp"
#include "../files.hpp"
#include "../../names.hpp"
#include "../../record.hpp"
#include "../time_text.hpp"
#include "state.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The proxy path of a run's artifact root ("<exp>/<run>/artifacts"), or "" when the run's artifact URI is
/// not served by the mlflow-artifacts proxy (s3://, file://...: the server cannot take uploads then).
inline std::string mlflow_proxy_root(const std::string& artifact_uri) {
    const std::string scheme = "mlflow-artifacts:";
    if (artifact_uri.compare(0, scheme.size(), scheme) != 0) return {};
    std::string rest = artifact_uri.substr(scheme.size());
    if (rest.compare(0, 2, "//") == 0) {  // mlflow-artifacts://host:port/path
        const auto slash = rest.find('/', 2);
        rest = slash == std::string::npos ? std::string() : rest.substr(slash);
    }
    while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    return rest;
}

/// An MLmodel file (YAML) for a model folder logged by mltrack: the flavor is the model's framework.
inline std::string mlflow_mlmodel(const artifact& a, const std::string& run_id, std::int64_t time_ns) {
    auto q = [](const std::string& s) {  // a YAML single-quoted scalar
        std::string out = "'";
        for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
        return out + "'";
    };
    std::string flavor = a.framework.empty() ? "mltrack" : a.framework;
    for (auto& ch : flavor)
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')) ch = '_';
    std::string y;
    y += "artifact_path: " + q(a.name) + "\n";
    y += "flavors:\n  " + flavor + ":\n";
    y += "    data: " + q(a.directory ? std::string(".") : std::filesystem::path(a.source).filename().string()) + "\n";
    if (!a.framework_version.empty()) y += "    " + flavor + "_version: " + q(a.framework_version) + "\n";
    y += "    logged_by: mltrack\n";
    y += "run_id: " + q(run_id) + "\n";
    if (!a.sha256.empty()) y += "model_uuid: " + q(a.sha256.substr(0, 32)) + "\n";
    std::string when = iso_utc(time_ns);
    y += "utc_time_created: " + q(when) + "\n";
    return y;
}

/// Classification metrics as the JSON file the sink uploads (classification/<name>.json).
inline std::string mlflow_classification_json(const classification_metrics& m) {
    nlohmann::ordered_json j;
    j["display_name"] = m.display_name;
    j["labels"] = m.labels;
    j["confusion_matrix"] = m.matrix;
    j["fpr"] = m.fpr;
    j["tpr"] = m.tpr;
    j["thresholds"] = m.thresholds;
    return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// One file to upload: from disk, or from memory (MLmodel, classification JSON).
struct ml_upload {
    std::string path;                 ///< under the run's artifact root
    std::filesystem::path file;       ///< when set, the body is streamed from it
    std::string bytes;                ///< otherwise
    std::optional<artifact> mlmodel;  ///< an MLmodel file for this model, written when sent (it names the run id)
    std::int64_t time_ns = 0;
};

/// PUTs a list of files through the mlflow-artifacts proxy, then (for a model, as an option) registers it.
class ml_artifact_step final : public vertex_step {
public:
    ml_artifact_step(ml_context& c, std::shared_ptr<ml_run> r, std::string what, std::vector<ml_upload> files,
                     std::string register_path = {})
        : c_(c), r_(std::move(r)), what_(std::move(what)), files_(std::move(files)),
          register_path_(std::move(register_path)) {}
    std::string label() const override { return "upload " + what_ + " to MLflow run '" + r_->name + "'"; }

    std::optional<http_request> next(vertex_engine&) override {
        if (r_->failed || r_->run_id.empty()) return std::nullopt;
        if (i_ == 0 && root_.empty()) {
            root_ = mlflow_proxy_root(r_->artifact_uri);
            if (root_.empty()) {
                drop_error = error(error_category::config, 83,
                                   what_ + " of MLflow run '" + r_->name + "' is not uploaded: the run's artifact URI '" +
                                       r_->artifact_uri +
                                       "' is not served by the tracking server (start it with --artifacts-destination "
                                       "or --serve-artifacts); the JSONL copy keeps it");
                throw *drop_error;
            }
        }
        if (i_ < files_.size()) {
            const ml_upload& u = files_[i_];
            http_request req;
            req.method = "PUT";
            req.url = c_.cfg.artifacts(root_ + "/" + url_encode(u.path, true));
            req.plain_http_host = c_.cfg.host;
            req.headers.push_back("Content-Type: application/octet-stream");
            if (!u.file.empty()) req.body_file = u.file;
            else if (u.mlmodel) req.body = mlflow_mlmodel(*u.mlmodel, r_->run_id, u.time_ns);
            else req.body = u.bytes;
            return req;
        }
        if (register_path_.empty() || c_.cfg.options.register_model_as.empty()) return std::nullopt;
        const std::string& model = c_.cfg.options.register_model_as;
        switch (reg_) {
            case 0: {
                const nlohmann::json body{{"name", model}};
                return ml_request(c_, "POST", "registered-models/create", &body);
            }
            case 1:
                return ml_request(c_, "GET", "model-versions/search?filter=" +
                                                 url_encode("name='" + model + "' and run_id='" + r_->run_id + "'"));
            case 2: {
                const nlohmann::json body{{"name", model},
                                          {"source", r_->artifact_uri + "/" + register_path_},
                                          {"run_id", r_->run_id}};
                auto req = ml_request(c_, "POST", "model-versions/create", &body);
                req.fresh_connection = true;
                return req;
            }
            default: return std::nullopt;
        }
    }

    step_outcome on_response(vertex_engine&, const http_response& r) override {
        if (i_ < files_.size()) {
            if (!ml_ok(r)) return step_outcome::drop;
            ++i_;
            return step_outcome::next;
        }
        const std::string code = ml_error_code(r);
        switch (reg_) {
            case 0:
                if (ml_ok(r) || code == "RESOURCE_ALREADY_EXISTS") {
                    reg_ = 1;
                    return step_outcome::next;
                }
                return step_outcome::drop;
            case 1: {
                if (!ml_ok(r)) return step_outcome::drop;
                const auto j = ml_body(r);
                const std::string source = r_->artifact_uri + "/" + register_path_;
                if (j.contains("model_versions"))
                    for (const auto& v : j["model_versions"])
                        if (v.value("source", std::string()) == source) {  // registered already (retry, sync)
                            reg_ = 3;
                            return step_outcome::next;
                        }
                reg_ = 2;
                return step_outcome::next;
            }
            case 2:
                if (!ml_ok(r)) return step_outcome::drop;
                reg_ = 3;
                return step_outcome::next;
            default: return step_outcome::next;
        }
    }

    /// A version create whose answer was lost may have made the version: look before creating again.
    void on_retry(vertex_engine&) override {
        if (i_ >= files_.size() && reg_ == 2) reg_ = 1;
    }

private:
    ml_context& c_;
    std::shared_ptr<ml_run> r_;
    std::string what_;
    std::vector<ml_upload> files_;
    std::string register_path_;
    std::string root_;
    std::size_t i_ = 0;
    int reg_ = 0;
};

/// The uploads of an artifact record: its file, or every file of its folder (sorted), under its name; a
/// model folder also gets an MLmodel file unless it has one. Throws io.45 when the local copy is missing.
inline std::vector<ml_upload> ml_artifact_uploads(const ml_context& c, const ml_run& r, const artifact& a,
                                                  std::int64_t time_ns) {
    namespace fs = std::filesystem;
    const fs::path local = local_artifact_file(a, c.cfg.options.local_root, r.info);
    if (local.empty())
        throw error(error_category::io, 45,
                    "artifact '" + printable(a.name) + "' of run '" + r.name + "' has no local file to upload (" +
                        (a.source.empty() ? std::string("no source") : "source '" + a.source + "' is gone") +
                        (c.cfg.options.local_root.empty() ? std::string() : " and no copy under the local root") + ")");
    std::vector<ml_upload> out;
    std::error_code ec;
    bool has_mlmodel = false;
    if (fs::is_directory(local, ec)) {
        std::vector<fs::path> files;
        for (fs::recursive_directory_iterator it(local, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_regular_file(ec)) files.push_back(it->path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            const std::string rel = f.lexically_relative(local).generic_string();
            if (rel == "MLmodel") has_mlmodel = true;
            out.push_back({a.name + "/" + rel, f, {}, std::nullopt, 0});
        }
    } else if (a.type == artifact_type::model) {
        out.push_back({a.name + "/" + local.filename().string(), local, {}, std::nullopt, 0});  // a model is a folder in MLflow
    } else {
        out.push_back({a.name, local, {}, std::nullopt, 0});
    }
    if (a.type == artifact_type::model && !has_mlmodel) {
        artifact named = a;
        named.directory = fs::is_directory(local, ec);
        if (!named.directory) named.source = local.string();
        out.push_back({a.name + "/MLmodel", {}, {}, named, time_ns});
    }
    return out;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
