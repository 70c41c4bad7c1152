// Why: what the sink wrote must be readable back from C++ the way the Python SDK reads it: the experiment
// table of get_experiment_df() (one row per run, pipeline run and legacy run: name, state, params,
// summary metrics, last time-series values), a run's time series, classification metrics, models,
// artifacts and executions, its model files, registration in the Model Registry, and deletes of runs and
// experiments (long-running operations waited for). These are cold, blocking calls made from the caller's
// thread, with the same configuration, credentials, ids and retries as the sink; every list follows
// nextPageToken.
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
#include "bodies.hpp"
#include "client_types.hpp"
#include "config.hpp"
#include "prebuilt_containers.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

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

    /// The experiment table, as get_experiment_df(): one row per run (system.ExperimentRun), per pipeline
    /// run logged to the experiment (system.PipelineRun) and per legacy preview run (system.Run
    /// executions). Reading creates nothing (the SDK makes missing TensorBoard links while it reads).
    /// Throws state.41 when the experiment does not exist.
    std::vector<vertex_run_row> list_runs(std::string_view experiment, bool include_time_series = true) {
        const std::string eid = experiment_id(experiment);
        const auto exp = get_optional(store() + "/contexts/" + eid);
        if (!exp || exp->value("schemaTitle", std::string()) != "system.Experiment")
            throw error(error_category::state, 41, "experiment '" + eid + "' does not exist in Vertex AI");
        std::vector<vertex_run_row> rows;
        const std::string exp_name = exp->value("name", std::string());
        const std::string filter = "(schema_title=\"system.ExperimentRun\" OR schema_title=\"system.PipelineRun\") "
                                   "AND parent_contexts:\"" + exp_name + "\"";
        for (const auto& c : list(store() + "/contexts", "contexts", filter))
            rows.push_back(c.value("schemaTitle", std::string()) == "system.PipelineRun"
                               ? pipeline_row_of(eid, c)
                               : row_of(eid, c, include_time_series));
        for (const auto& e : list(store() + "/executions", "executions",
                                  "schema_title=\"system.Run\" AND in_context(\"" + exp_name + "\")"))
            rows.push_back(legacy_row_of(eid, e));
        return rows;
    }

    /// One run's row (ExperimentRun(run, experiment), a legacy system.Run execution too); nullopt when it
    /// does not exist.
    std::optional<vertex_run_row> get_run(std::string_view experiment, std::string_view run,
                                          bool include_time_series = true) {
        const std::string eid = experiment_id(experiment);
        const std::string rc = detail::vertex_run_context_id(eid, run_id(experiment, run));
        const auto c = get_optional(store() + "/contexts/" + rc);
        if (c && c->value("schemaTitle", std::string()) == "system.ExperimentRun")
            return row_of(eid, *c, include_time_series);
        if (c) return std::nullopt;
        const auto e = get_optional(store() + "/executions/" + rc);  // a run of the Experiments preview
        if (e && e->value("schemaTitle", std::string()) == "system.Run") return legacy_row_of(eid, *e);
        return std::nullopt;
    }

    /// A run's classification metrics (ExperimentRun.get_classification_metrics()). state.42 without the run.
    std::vector<vertex_classification_metrics> get_classification_metrics(std::string_view experiment,
                                                                          std::string_view run) {
        std::vector<vertex_classification_metrics> out;
        for (const auto& a : in_run("artifacts", experiment, run, "google.ClassificationMetrics")) {
            vertex_classification_metrics m;
            m.id = a.value("name", std::string());
            m.display_name = a.value("displayName", std::string());
            const auto& md = detail::metadata_of(a);
            if (md.contains("confusionMatrix") && md["confusionMatrix"].is_object()) {
                const auto& cm = md["confusionMatrix"];
                if (cm.contains("annotationSpecs"))
                    for (const auto& spec : cm["annotationSpecs"]) m.labels.push_back(detail::str_of(spec, "displayName"));
                if (cm.contains("rows"))
                    for (const auto& row : cm["rows"]) {
                        m.matrix.emplace_back();
                        for (const auto& x : row) m.matrix.back().push_back(x.is_number() ? x.get<std::int64_t>() : 0);
                    }
            }
            if (md.contains("confidenceMetrics") && md["confidenceMetrics"].is_array())
                for (const auto& p : md["confidenceMetrics"]) {
                    m.fpr.push_back(number(p.value("falsePositiveRate", nlohmann::json(0.0))));
                    m.tpr.push_back(number(p.value("recall", nlohmann::json(0.0))));
                    m.thresholds.push_back(number(p.value("confidenceThreshold", nlohmann::json(0.0))));
                }
            out.push_back(std::move(m));
        }
        return out;
    }

    /// A run's models (ExperimentRun.get_experiment_models()). state.42 without the run.
    std::vector<vertex_experiment_model> get_experiment_models(std::string_view experiment, std::string_view run) {
        std::vector<vertex_experiment_model> out;
        for (const auto& a : in_run("artifacts", experiment, run, "google.ExperimentModel")) {
            vertex_experiment_model m;
            m.resource_name = a.value("name", std::string());
            m.display_name = a.value("displayName", std::string());
            m.uri = a.value("uri", std::string());
            m.metadata = detail::metadata_of(a);
            m.framework_name = detail::str_of(m.metadata, "frameworkName");
            m.framework_version = detail::str_of(m.metadata, "frameworkVersion");
            m.model_file = detail::str_of(m.metadata, "modelFile");
            m.model_class = detail::str_of(m.metadata, "modelClass");
            out.push_back(std::move(m));
        }
        return out;
    }

    /// Every artifact attributed to a run (ExperimentRun.get_artifacts()). state.42 without the run.
    std::vector<vertex_metadata_resource> get_artifacts(std::string_view experiment, std::string_view run) {
        std::vector<vertex_metadata_resource> out;
        for (const auto& a : in_run("artifacts", experiment, run, {})) out.push_back(resource_of(a));
        return out;
    }

    /// Every execution attributed to a run (ExperimentRun.get_executions()). state.42 without the run.
    std::vector<vertex_metadata_resource> get_executions(std::string_view experiment, std::string_view run) {
        std::vector<vertex_metadata_resource> out;
        for (const auto& e : in_run("executions", experiment, run, {})) out.push_back(resource_of(e));
        return out;
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
                    const std::string rel = object.substr(prefix.size());
                    const std::string want(artifact_name);
                    if (rel != want && rel.rfind(want + "/", 0) != 0) continue;  // the artifact's own files only
                    const auto to = dest / std::filesystem::path(rel).lexically_normal();
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

    /// Registers a logged model in the Model Registry (models:upload with its artifact URI), waiting for
    /// the operation; returns the model's resource name. Without a serving container image, the prebuilt
    /// one for the model's framework and version is used, as the SDK picks it (config.51 when there is
    /// none). A TensorFlow model's artifact URI is its SavedModel folder.
    std::string register_model(std::string_view experiment, std::string_view run, std::string_view artifact_name,
                               const vertex_model_registration& m) {
        const auto art = find_artifact(experiment, run, artifact_name);
        const std::string uri = art.value("uri", std::string());
        const auto& md = detail::metadata_of(art);
        const std::string framework = detail::str_of(md, "frameworkName");
        std::string image = m.serving_container_image;
        if (image.empty()) {
            if (art.value("schemaTitle", std::string()) != "google.ExperimentModel")
                throw error(error_category::config, 51,
                            "artifact '" + std::string(artifact_name) + "' is not a model logged with its framework; "
                            "set vertex_model_registration::serving_container_image");
            image = detail::prebuilt_serving_image(framework, detail::str_of(md, "frameworkVersion"), cfg_.location);
        }
        const std::string model_uri = framework == "tensorflow" ? uri + "/" + std::string(artifact_name) : uri;
        nlohmann::json model{{"displayName", m.display_name.empty() ? std::string(artifact_name) : m.display_name},
                             {"artifactUri", model_uri},
                             {"containerSpec", {{"imageUri", image}}}};
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

    static series_point point_of(const nlohmann::json& p) {
        series_point s;
        const auto& step = p.contains("step") ? p["step"] : nlohmann::json("0");
        s.step = step.is_string() ? std::stoll(step.get<std::string>()) : step.get<std::int64_t>();
        s.time_ns = detail::parse_rfc3339(p.value("wallTime", std::string()));
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

    /// The run context's server name; state.42 when the run does not exist.
    std::string run_context_name(std::string_view experiment, std::string_view run) {
        const auto ctx = get_optional(store() + "/contexts/" +
                                      detail::vertex_run_context_id(experiment_id(experiment), run_id(experiment, run)));
        if (!ctx) throw error(error_category::state, 42, "run '" + std::string(run) + "' does not exist in Vertex AI");
        return ctx->value("name", std::string());
    }

    /// The artifacts or executions attributed to a run, of one schema ("": all).
    std::vector<nlohmann::json> in_run(const char* collection, std::string_view experiment, std::string_view run,
                                       const std::string& schema_title) {
        // Filters must use the names the server returns (with the project number), not ones built here.
        std::string filter = "in_context(\"" + run_context_name(experiment, run) + "\")";
        if (!schema_title.empty()) filter += " AND schema_title=\"" + schema_title + "\"";
        return list(store() + "/" + collection, collection, filter);
    }

    static vertex_metadata_resource resource_of(const nlohmann::json& r) {
        vertex_metadata_resource out;
        out.resource_name = r.value("name", std::string());
        out.display_name = r.value("displayName", std::string());
        out.schema_title = r.value("schemaTitle", std::string());
        out.state = r.value("state", std::string());
        out.uri = r.value("uri", std::string());
        out.metadata = detail::metadata_of(r);
        return out;
    }

    /// The latest artifact of a run with that display name; state.42 when there is none.
    nlohmann::json find_artifact(std::string_view experiment, std::string_view run, std::string_view artifact_name) {
        nlohmann::json best;
        std::int64_t latest = 0;
        for (const auto& a : in_run("artifacts", experiment, run, {})) {
            if (a.value("displayName", std::string()) != artifact_name || a.value("uri", std::string()).empty()) continue;
            const std::int64_t created = detail::parse_rfc3339(a.value("createTime", std::string()));
            if (best.is_null() || created >= latest) {
                best = a;
                latest = created;
            }
        }
        if (best.is_null())
            throw error(error_category::state, 42, "run '" + std::string(run) + "' has no artifact named '" +
                                                       std::string(artifact_name) + "' in Vertex AI");
        return best;
    }

    std::string artifact_uri(std::string_view experiment, std::string_view run, std::string_view artifact_name) {
        return find_artifact(experiment, run, artifact_name).value("uri", std::string());
    }

    /// A system.PipelineRun row: params from its system.Run execution's "input:" keys, its state, metrics
    /// from its metrics artifacts (pipeline_jobs.py, _query_experiment_row).
    vertex_run_row pipeline_row_of(const std::string& eid, const nlohmann::json& c) {
        vertex_run_row row;
        row.experiment = eid;
        row.resource_name = c.value("name", std::string());
        row.run_id = row.resource_name.substr(row.resource_name.rfind('/') + 1);
        row.run_name = c.value("displayName", std::string());
        row.run_type = "system.PipelineRun";
        const std::string in = "in_context(\"" + row.resource_name + "\")";
        const auto runs = list(store() + "/executions", "executions", "schema_title=\"system.Run\" AND " + in);
        if (!runs.empty()) {
            const auto& md = detail::metadata_of(runs.front());
            for (auto it = md.begin(); it != md.end(); ++it)
                if (it.key().rfind("input:", 0) == 0) row.params[it.key().substr(6)] = it.value();
            row.state = runs.front().value("state", std::string());
        }
        const std::string metrics = "(schema_title=\"system.Metrics\" OR schema_title=\"google.ClassificationMetrics\" OR "
                                    "schema_title=\"google.RegressionMetrics\" OR schema_title=\"google.ForecastingMetrics\")";
        for (const auto& a : list(store() + "/artifacts", "artifacts", metrics + " AND " + in)) {
            const auto& md = detail::metadata_of(a);
            for (auto it = md.begin(); it != md.end(); ++it) row.metrics[it.key()] = it.value();
        }
        return row;
    }

    /// A run of the Experiments preview: a system.Run execution (params: its metadata, state: its state)
    /// and its "<id>-metrics" system.Metrics artifact.
    vertex_run_row legacy_row_of(const std::string& eid, const nlohmann::json& e) {
        vertex_run_row row;
        row.experiment = eid;
        row.resource_name = e.value("name", std::string());
        row.run_id = row.resource_name.substr(row.resource_name.rfind('/') + 1);
        row.run_name = e.value("displayName", std::string());
        row.run_type = "system.Run";
        row.state = e.value("state", std::string());
        row.params = detail::metadata_of(e);
        const auto metrics = get_optional(store() + "/artifacts/" + row.run_id + "-metrics");
        if (metrics && metrics->value("schemaTitle", std::string()) == "system.Metrics")
            row.metrics = detail::metadata_of(*metrics);
        return row;
    }

    detail::vx_config cfg_;
    std::unique_ptr<detail::rest_caller> caller_;
};

}  // namespace sinks
MLTRACK_NAMESPACE_END
