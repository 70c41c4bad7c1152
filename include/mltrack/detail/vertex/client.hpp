// Why: what the sink wrote must be readable back from C++ the way the Python SDK reads it: the experiment
// table of get_experiment_df() (one row per run: name, state, params, summary metrics, last time-series
// values), a run's full time series, its model files, and deletes of runs and experiments (long-running
// operations waited for). These are cold, blocking calls made from the caller's thread, with the same
// configuration, credentials, ids and retries as the sink; every list follows nextPageToken.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../error.hpp"
#include "../../reader.hpp"
#include "config.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

/// One row of the experiment table, as aiplatform.get_experiment_df() builds it.
struct vertex_run_row {
    std::string experiment;     ///< the experiment's id
    std::string run_name;       ///< the run context's display name (our run name)
    std::string run_id;         ///< the run context id, "<experiment id>-<run id>"
    std::string run_type;       ///< "system.ExperimentRun"
    std::string state;          ///< "RUNNING", "COMPLETE", "FAILED", "CANCELLED"...
    nlohmann::json params = nlohmann::json::object();   ///< param.<key> columns
    nlohmann::json metrics = nlohmann::json::object();  ///< metric.<key> columns (summary metrics)
    std::map<std::string, double> time_series;  ///< time_series_metric.<key>: the value at the highest step read
    std::string resource_name;  ///< the run context's full name
};

/// Registration of a logged model in the Vertex AI Model Registry.
struct vertex_model_registration {
    std::string display_name;               ///< default: the artifact's name
    std::string serving_container_image;    ///< required: a prediction container image URI
    std::string description;
};

/// Reads, deletes and registers what the Vertex AI sink logged. Blocking; use it from any one thread.
class vertex_ai_client {
public:
    /// The same options as the sink (project, location, endpoints, credentials...).
    explicit vertex_ai_client(vertex_ai_options options = {}) {
        auto r = detail::resolve_vertex_config(std::move(options));
        cfg_ = std::move(r.cfg);
        caller_ = std::make_unique<detail::rest_caller>(
            std::move(r.creds), r.http, detail::backoff_policy{cfg_.options.backoff_initial, cfg_.options.backoff_max});
    }

    const std::string& project() const noexcept { return cfg_.project; }
    const std::string& location() const noexcept { return cfg_.location; }
    std::string experiment_id(std::string_view experiment) const { return cfg_.experiment_id(experiment); }
    std::string run_id(std::string_view experiment, std::string_view run) const { return cfg_.run_id(experiment, run); }

    /// Vertex experiments of the project (ids), without the TensorBoard experiments custom jobs make.
    std::vector<std::string> list_experiments() {
        std::vector<std::string> out;
        for (const auto& c : list(store() + "/contexts", "contexts", "schema_title=\"system.Experiment\"")) {
            if (c.contains("metadata") && c["metadata"].contains("tensorboard_link")) continue;
            const std::string name = c.value("name", std::string());
            out.push_back(name.substr(name.rfind('/') + 1));
        }
        return out;
    }

    /// The experiment table: one row per run. Throws state.41 when the experiment does not exist.
    std::vector<vertex_run_row> list_runs(std::string_view experiment, bool include_time_series = true) {
        const std::string eid = experiment_id(experiment);
        const auto exp = get_optional(store() + "/contexts/" + eid);
        if (!exp || exp->value("schemaTitle", std::string()) != "system.Experiment")
            throw error(error_category::state, 41, "experiment '" + eid + "' does not exist in Vertex AI");
        std::vector<vertex_run_row> rows;
        const std::string filter =
            "schema_title=\"system.ExperimentRun\" AND parent_contexts:\"" + exp->value("name", std::string()) + "\"";
        for (const auto& c : list(store() + "/contexts", "contexts", filter))
            rows.push_back(row_of(eid, c, include_time_series));
        return rows;
    }

    /// One run's row; nullopt when it does not exist.
    std::optional<vertex_run_row> get_run(std::string_view experiment, std::string_view run,
                                          bool include_time_series = true) {
        const std::string eid = experiment_id(experiment);
        const auto c = get_optional(store() + "/contexts/" + detail::vertex_run_context_id(eid, run_id(experiment, run)));
        if (!c || c->value("schemaTitle", std::string()) != "system.ExperimentRun") return std::nullopt;
        return row_of(eid, *c, include_time_series);
    }

    /// Every point of every time series of a run, by key, sorted by step (exportTensorboardTimeSeries,
    /// paged: exact, not the sampled batchRead).
    std::map<std::string, std::vector<series_point>> read_time_series(std::string_view experiment,
                                                                      std::string_view run) {
        std::map<std::string, std::vector<series_point>> out;
        const auto tbr = tensorboard_run(detail::vertex_run_context_id(experiment_id(experiment), run_id(experiment, run)));
        if (tbr.empty()) return out;
        for (const auto& ts : list(tbr + "/timeSeries", "tensorboardTimeSeries", {}, 1000)) {
            if (ts.value("valueType", std::string()) != "SCALAR") continue;
            auto& points = out[ts.value("displayName", std::string())];
            std::string token;
            do {
                nlohmann::json body{{"pageSize", 10000}};
                if (!token.empty()) body["pageToken"] = token;
                const auto j = caller_->call_json(detail::json_request(
                    "POST", cfg_.v1(ts.value("name", std::string()) + ":exportTensorboardTimeSeries"), &body));
                if (j.contains("timeSeriesDataPoints"))
                    for (const auto& p : j["timeSeriesDataPoints"]) points.push_back(point_of(p));
                token = j.value("nextPageToken", std::string());
            } while (!token.empty());
            std::stable_sort(points.begin(), points.end(),
                             [](const series_point& a, const series_point& b) { return a.step < b.step; });
        }
        return out;
    }

    /// Deletes a run context (and, when asked, its TensorBoard run and "-tb-run" artifact), waiting for
    /// the operations. Its other artifacts and executions stay, as with the SDK. False when it did not exist.
    bool delete_run(std::string_view experiment, std::string_view run, bool delete_backing_tensorboard_run = false) {
        const std::string rc = detail::vertex_run_context_id(experiment_id(experiment), run_id(experiment, run));
        return delete_run_context(rc, delete_backing_tensorboard_run);
    }

    /// Deletes every run of an experiment, then the experiment context. False when it did not exist.
    bool delete_experiment(std::string_view experiment, bool delete_backing_tensorboard_runs = false) {
        const std::string eid = experiment_id(experiment);
        const auto exp = get_optional(store() + "/contexts/" + eid);
        if (!exp) return false;
        const std::string filter =
            "schema_title=\"system.ExperimentRun\" AND parent_contexts:\"" + exp->value("name", std::string()) + "\"";
        for (const auto& c : list(store() + "/contexts", "contexts", filter)) {
            const std::string name = c.value("name", std::string());
            delete_run_context(name.substr(name.rfind('/') + 1), delete_backing_tensorboard_runs);
        }
        return remove(store() + "/contexts/" + eid);
    }

    /// Downloads the files of a model (or other artifact) logged by a run into `dest`; returns the files.
    /// Throws state.42 when the run has no artifact of that name.
    std::vector<std::filesystem::path> download_artifact(std::string_view experiment, std::string_view run,
                                                         std::string_view artifact_name,
                                                         const std::filesystem::path& dest) {
        const std::string uri = artifact_uri(experiment, run, artifact_name);
        std::vector<std::filesystem::path> files;
        std::filesystem::create_directories(dest);
        if (uri.rfind("file://", 0) == 0) {
            const std::filesystem::path src = uri.substr(7);
            const auto to = dest / src.filename();
            std::filesystem::copy(src, to, std::filesystem::copy_options::recursive |
                                               std::filesystem::copy_options::overwrite_existing);
            files.push_back(to);
            return files;
        }
        if (uri.rfind("gs://", 0) != 0)
            throw error(error_category::state, 42, "artifact '" + std::string(artifact_name) + "' is at " + uri +
                                                       ", which this client cannot download");
        const std::string rest = uri.substr(5);
        const auto slash = rest.find('/');
        const std::string bucket = rest.substr(0, slash);
        const std::string prefix = slash == std::string::npos ? std::string() : rest.substr(slash + 1) + "/";
        std::string token;
        do {
            const auto j = caller_->call_json(detail::json_request(
                "GET", cfg_.gcs + "/storage/v1/b/" + detail::url_encode(bucket) + "/o?prefix=" +
                           detail::url_encode(prefix) + (token.empty() ? "" : "&pageToken=" + detail::url_encode(token))));
            if (j.contains("items"))
                for (const auto& o : j["items"]) {
                    const std::string object = o.value("name", std::string());
                    const auto to = dest / std::filesystem::path(object.substr(prefix.size())).lexically_normal();
                    if (to.lexically_relative(dest).string().rfind("..", 0) == 0) continue;  // stay under dest
                    auto r = caller_->call(detail::json_request(
                        "GET", cfg_.gcs + "/storage/v1/b/" + detail::url_encode(bucket) + "/o/" +
                                   detail::url_encode(object) + "?alt=media"));
                    if (r.status != 200)
                        throw error(error_category::io, 41, "downloading gs://" + bucket + "/" + object + ": " +
                                                                detail::describe(detail::parse_api_error(r)));
                    std::filesystem::create_directories(to.parent_path());
                    std::ofstream out(to, std::ios::binary | std::ios::trunc);
                    out.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
                    if (!out) throw error(error_category::io, 45, "cannot write " + to.string());
                    files.push_back(to);
                }
            token = j.value("nextPageToken", std::string());
        } while (!token.empty());
        return files;
    }

    /// Registers a logged model in the Model Registry (models:upload with its artifact URI and the serving
    /// container given), waiting for the operation; returns the model's resource name.
    std::string register_model(std::string_view experiment, std::string_view run, std::string_view artifact_name,
                               const vertex_model_registration& m) {
        if (m.serving_container_image.empty())
            throw error(error_category::config, 46, "register_model needs a serving container image");
        const std::string uri = artifact_uri(experiment, run, artifact_name);
        nlohmann::json model{{"displayName", m.display_name.empty() ? std::string(artifact_name) : m.display_name},
                             {"artifactUri", uri},
                             {"containerSpec", {{"imageUri", m.serving_container_image}}}};
        if (!m.description.empty()) model["description"] = m.description;
        const nlohmann::json body{{"model", model}};
        const auto op = wait(caller_->call_json(detail::json_request("POST", cfg_.v1(cfg_.parent + "/models:upload"), &body)));
        if (!op.contains("response") || !op["response"].contains("model"))
            throw error(error_category::io, 41, "models:upload finished without a model");
        return op["response"]["model"].get<std::string>();
    }

private:
    std::string store() const { return cfg_.parent + "/metadataStores/default"; }

    std::optional<nlohmann::json> get_optional(const std::string& resource) {
        const auto r = caller_->call(detail::json_request("GET", cfg_.v1(resource)));
        if (r.status == 404) return std::nullopt;
        if (r.status != 200)
            throw error(error_category::io, 41, "GET " + resource + ": " + detail::describe(detail::parse_api_error(r)));
        return nlohmann::json::parse(r.body);
    }

    /// Every item of a list method, following nextPageToken.
    std::vector<nlohmann::json> list(const std::string& collection, const char* field, const std::string& filter,
                                     int page_size = 100) {
        std::vector<nlohmann::json> out;
        std::string token;
        do {
            std::string url = cfg_.v1(collection) + "?pageSize=" + std::to_string(page_size);
            if (!filter.empty()) url += "&filter=" + detail::url_encode(filter);
            if (!token.empty()) url += "&pageToken=" + detail::url_encode(token);
            const auto j = caller_->call_json(detail::json_request("GET", url));
            if (j.contains(field))
                for (const auto& x : j[field]) out.push_back(x);
            token = j.value("nextPageToken", std::string());
        } while (!token.empty());
        return out;
    }

    /// Polls a long-running operation until it is done; throws io.41 with its error.
    nlohmann::json wait(nlohmann::json op) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
        while (!op.value("done", false)) {
            if (std::chrono::steady_clock::now() > deadline)
                throw error(error_category::io, 41, "operation " + op.value("name", std::string()) + " did not finish");
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            op = caller_->call_json(detail::json_request("GET", cfg_.v1(op.value("name", std::string()))));
        }
        if (op.contains("error"))
            throw error(error_category::io, 41, "operation " + op.value("name", std::string()) + " failed: " +
                                                    op["error"].value("message", std::string("?")));
        return op;
    }

    /// DELETE with the operation waited for; false on 404.
    bool remove(const std::string& resource) {
        const auto r = caller_->call(detail::json_request("DELETE", cfg_.v1(resource)));
        if (r.status == 404) return false;
        if (r.status != 200)
            throw error(error_category::io, 41, "DELETE " + resource + ": " + detail::describe(detail::parse_api_error(r)));
        wait(nlohmann::json::parse(r.body));
        return true;
    }

    bool delete_run_context(const std::string& rc, bool with_tensorboard) {
        if (with_tensorboard) {
            const auto art = get_optional(store() + "/artifacts/" + rc + "-tb-run");
            if (art) {
                const std::string tbr = art->contains("metadata") ? (*art)["metadata"].value("resourceName", std::string())
                                                                  : std::string();
                if (!tbr.empty()) remove(tbr);
                remove(store() + "/artifacts/" + rc + "-tb-run");
            }
        }
        return remove(store() + "/contexts/" + rc);
    }

    /// The TensorBoard run linked to a run context through its "-tb-run" artifact ("" when none).
    std::string tensorboard_run(const std::string& rc) {
        const auto art = get_optional(store() + "/artifacts/" + rc + "-tb-run");
        if (!art || art->value("schemaTitle", std::string()) != "google.VertexTensorboardRun") return {};
        const auto& md = (*art)["metadata"];
        if (!md.is_object() || md.value("vertex_experiment_tracking", false) != true) return {};
        return md.value("resourceName", std::string());
    }

    static double number(const nlohmann::json& v) {
        if (v.is_number()) return v.get<double>();
        if (v == "NaN") return std::nan("");
        if (v == "Infinity") return HUGE_VAL;
        if (v == "-Infinity") return -HUGE_VAL;
        return std::nan("");
    }

    static std::int64_t parse_time(const std::string& t) {
        std::tm tm{};
        int frac_digits = 0;
        long long frac = 0;
        if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min, &tm.tm_sec) != 6)
            return 0;
        const auto dot = t.find('.');
        if (dot != std::string::npos)
            for (std::size_t i = dot + 1; i < t.size() && t[i] >= '0' && t[i] <= '9' && frac_digits < 9; ++i, ++frac_digits)
                frac = frac * 10 + (t[i] - '0');
        while (frac_digits++ < 9) frac *= 10;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return static_cast<std::int64_t>(::timegm(&tm)) * 1000000000 + frac;
    }

    static series_point point_of(const nlohmann::json& p) {
        series_point s;
        const auto& step = p.contains("step") ? p["step"] : nlohmann::json("0");
        s.step = step.is_string() ? std::stoll(step.get<std::string>()) : step.get<std::int64_t>();
        s.time_ns = parse_time(p.value("wallTime", std::string()));
        s.value = p.contains("scalar") && p["scalar"].contains("value") ? number(p["scalar"]["value"]) : std::nan("");
        return s;
    }

    vertex_run_row row_of(const std::string& eid, const nlohmann::json& c, bool include_time_series) {
        vertex_run_row row;
        row.experiment = eid;
        row.resource_name = c.value("name", std::string());
        row.run_id = row.resource_name.substr(row.resource_name.rfind('/') + 1);
        row.run_name = c.value("displayName", std::string());
        row.run_type = c.value("schemaTitle", std::string());
        const auto md = c.contains("metadata") && c["metadata"].is_object() ? c["metadata"] : nlohmann::json::object();
        row.state = md.value("_state", std::string("STATE_UNSPECIFIED"));
        if (md.contains("_params") && md["_params"].is_object()) row.params = md["_params"];
        if (md.contains("_metrics") && md["_metrics"].is_object()) row.metrics = md["_metrics"];
        if (!include_time_series) return row;
        const std::string tbr = tensorboard_run(row.run_id);
        if (tbr.empty()) return row;
        const auto series = list(tbr + "/timeSeries", "tensorboardTimeSeries", {}, 1000);
        const std::string tb = tbr.substr(0, tbr.find("/experiments/"));
        for (std::size_t i = 0; i < series.size(); i += 20) {  // batchRead takes 20 series at most
            std::string url = cfg_.v1(tb + ":batchRead");
            std::map<std::string, std::string> key_of;
            char sep = '?';
            for (std::size_t k = i; k < std::min(series.size(), i + 20); ++k) {
                const std::string name = series[k].value("name", std::string());
                key_of[name.substr(name.rfind('/') + 1)] = series[k].value("displayName", std::string());
                url += sep;
                url += "timeSeries=" + detail::url_encode(name, true);
                sep = '&';
            }
            const auto j = caller_->call_json(detail::json_request("GET", url));
            if (!j.contains("timeSeriesData")) continue;
            for (const auto& d : j["timeSeriesData"]) {
                if (d.value("valueType", std::string()) != "SCALAR" || !d.contains("values") || d["values"].empty())
                    continue;
                // batchRead samples at most 1000 points; take the highest step it returned.
                const nlohmann::json* best = nullptr;
                std::int64_t best_step = 0;
                for (const auto& v : d["values"]) {
                    const auto p = point_of(v);
                    if (!best || p.step >= best_step) {
                        best = &v;
                        best_step = p.step;
                    }
                }
                row.time_series[key_of[d.value("tensorboardTimeSeriesId", std::string())]] = point_of(*best).value;
            }
        }
        return row;
    }

    std::string artifact_uri(std::string_view experiment, std::string_view run, std::string_view artifact_name) {
        const auto ctx = get_optional(store() + "/contexts/" +
                                      detail::vertex_run_context_id(experiment_id(experiment), run_id(experiment, run)));
        if (!ctx) throw error(error_category::state, 42, "run '" + std::string(run) + "' does not exist in Vertex AI");
        // Filters must use the names the server returns (with the project number), not ones built here.
        const std::string rc = ctx->value("name", std::string());
        std::string uri, latest;
        for (const auto& a : list(store() + "/artifacts", "artifacts", "in_context(\"" + rc + "\")")) {
            if (a.value("displayName", std::string()) != artifact_name) continue;
            const std::string created = a.value("createTime", std::string());
            if (uri.empty() || created >= latest) {
                uri = a.value("uri", std::string());
                latest = created;
            }
        }
        if (uri.empty())
            throw error(error_category::state, 42, "run '" + std::string(run) + "' has no artifact named '" +
                                                       std::string(artifact_name) + "' in Vertex AI");
        return uri;
    }

    detail::vx_config cfg_;
    std::unique_ptr<detail::rest_caller> caller_;
};

}  // namespace sinks
MLTRACK_NAMESPACE_END
