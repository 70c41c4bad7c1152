// Why: the JSON bodies the Vertex sink sends are exactly those the Python SDK sends (schema titles, schema
// versions, metadata keys, states), written in one place next to the value encodings they need: proto3
// JSON (int64 as strings, RFC 3339 UTC timestamps, "NaN"/"Infinity" for non-finite doubles) and the
// google.protobuf.Struct rules of metadata (numbers are doubles, no NaN: those become strings, as the SDK
// does for summary metrics).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../../record.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

inline constexpr const char* vertex_schema_version = "0.0.1";

/// RFC 3339 UTC with microseconds: "2026-01-01T12:00:00.123456Z".
inline std::string rfc3339(std::int64_t time_ns) {
    std::int64_t secs = time_ns / 1000000000;
    std::int64_t ns = time_ns % 1000000000;
    if (ns < 0) {
        ns += 1000000000;
        --secs;
    }
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ns / 1000));
    return buf;
}

/// A double for a proto3 JSON double field (TensorBoard scalars): non-finite values as strings.
inline nlohmann::json proto_double(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    return v;
}

/// A double for a Struct (context metadata): Struct has no NaN or infinity, so those become strings.
inline nlohmann::json struct_double(double v) { return proto_double(v); }

/// A param value for a Struct: numbers, bools and strings as they are (integers become doubles server-side).
inline nlohmann::json struct_param(const param_value& v) {
    if (v.is_int()) return v.as_int();
    if (v.is_double()) return struct_double(v.as_double());
    if (v.is_bool()) return v.as_bool();
    return v.as_string();
}

/// POST {store}/contexts?contextId=E (experiment.create).
inline nlohmann::json experiment_context_body(const std::string& display_name, const std::string& description) {
    nlohmann::json b{{"displayName", display_name},
                     {"schemaTitle", "system.Experiment"},
                     {"schemaVersion", vertex_schema_version},
                     {"metadata", {{"experiment_deleted", false}}}};
    if (!description.empty()) b["description"] = description;
    return b;
}

/// POST {store}/contexts?contextId=E-R (ExperimentRun.create).
inline nlohmann::json run_context_body(const std::string& display_name) {
    return {{"displayName", display_name},
            {"schemaTitle", "system.ExperimentRun"},
            {"schemaVersion", vertex_schema_version},
            {"metadata",
             {{"_params", nlohmann::json::object()}, {"_metrics", nlohmann::json::object()}, {"_state", "RUNNING"}}}};
}

/// The body of a full-update PATCH of a context, from the context the server last returned: every field
/// the client may set (a PATCH without updateMask clears what is left out), output-only fields dropped.
inline nlohmann::json context_patch_body(const nlohmann::json& ctx) {
    nlohmann::json b = nlohmann::json::object();
    for (const char* k : {"name", "displayName", "etag", "schemaTitle", "schemaVersion", "metadata", "description",
                          "labels"})
        if (ctx.contains(k)) b[k] = ctx[k];
    return b;
}

/// The same for an artifact or an execution.
inline nlohmann::json resource_patch_body(const nlohmann::json& r) {
    nlohmann::json b = context_patch_body(r);
    for (const char* k : {"uri", "state"})
        if (r.contains(k)) b[k] = r[k];
    return b;
}

/// POST {tensorboard}/experiments?tensorboardExperimentId=E.
inline nlohmann::json tensorboard_experiment_body(const std::string& display_name) {
    return {{"displayName", display_name},
            {"labels", {{"vertex_tensorboard_experiment_source", "vertex_experiment"}}}};
}

/// POST {tb experiment}/runs?tensorboardRunId=R.
inline nlohmann::json tensorboard_run_body(const std::string& display_name) { return {{"displayName", display_name}}; }

/// POST {store}/artifacts?artifactId=E-R-tb-run: links the run to its TensorBoard run (console charts).
inline nlohmann::json tensorboard_run_artifact_body(const std::string& api_base, const std::string& tb_run_name) {
    return {{"uri", api_base + "/v1/" + tb_run_name},
            {"schemaTitle", "google.VertexTensorboardRun"},
            {"schemaVersion", vertex_schema_version},
            {"state", "LIVE"},
            {"metadata", {{"resourceName", tb_run_name}, {"vertex_experiment_tracking", true}}}};
}

/// One entry of {tb experiment}:batchCreate: a scalar time series named after the metric key.
inline nlohmann::json time_series_create_request(const std::string& tb_run_name, const std::string& key) {
    return {{"parent", tb_run_name},
            {"tensorboardTimeSeries", {{"displayName", key}, {"valueType", "SCALAR"}, {"pluginName", "scalars"}}}};
}

/// One point of a runs:write request.
inline nlohmann::json scalar_point(std::int64_t step, std::int64_t time_ns, double value) {
    return {{"step", std::to_string(step)}, {"wallTime", rfc3339(time_ns)}, {"scalar", {{"value", proto_double(value)}}}};
}

/// POST {store}/artifacts?artifactId=...: a google.ClassificationMetrics artifact.
inline nlohmann::json classification_artifact_body(const classification_metrics& m) {
    nlohmann::json md = nlohmann::json::object();
    if (!m.labels.empty()) {
        nlohmann::json specs = nlohmann::json::array();
        for (const auto& l : m.labels) specs.push_back({{"displayName", l}});
        md["confusionMatrix"] = {{"annotationSpecs", specs}, {"rows", m.matrix}};
    }
    if (!m.fpr.empty()) {
        nlohmann::json points = nlohmann::json::array();
        for (std::size_t i = 0; i < m.fpr.size(); ++i)
            points.push_back({{"confidenceThreshold", m.thresholds[i]}, {"recall", m.tpr[i]},
                              {"falsePositiveRate", m.fpr[i]}});
        md["confidenceMetrics"] = points;
    }
    nlohmann::json b{{"schemaTitle", "google.ClassificationMetrics"},
                     {"schemaVersion", vertex_schema_version},
                     {"state", "LIVE"},
                     {"metadata", md}};
    if (!m.display_name.empty()) b["displayName"] = m.display_name;
    return b;
}

/// The schema title an artifact type maps to.
inline const char* artifact_schema_title(artifact_type t) noexcept {
    switch (t) {
        case artifact_type::model: return "google.ExperimentModel";
        case artifact_type::dataset: return "system.Dataset";
        case artifact_type::artifact: return "system.Artifact";
    }
    return "system.Artifact";
}

/// POST {store}/artifacts?artifactId=...: a model (google.ExperimentModel, as log_model writes it), a dataset
/// or another artifact, at `uri`.
inline nlohmann::json artifact_body(const artifact& a, const std::string& uri) {
    nlohmann::json md = nlohmann::json::object();
    if (a.metadata.is_object())
        for (auto it = a.metadata.begin(); it != a.metadata.end(); ++it) md[it.key()] = it.value();
    if (a.type == artifact_type::model) {
        md["frameworkName"] = a.framework;
        md["frameworkVersion"] = a.framework_version;
        md["modelFile"] = a.name;
        if (!md.contains("modelClass")) md["modelClass"] = a.metadata.value("model_class", std::string());
    }
    if (!a.sha256.empty()) md["sha256"] = a.sha256;
    if (a.size) md["size"] = static_cast<double>(a.size);
    nlohmann::json b{{"uri", uri},
                     {"displayName", a.name},
                     {"schemaTitle", artifact_schema_title(a.type)},
                     {"schemaVersion", vertex_schema_version},
                     {"state", "LIVE"},
                     {"metadata", md}};
    return b;
}

/// POST {store}/executions?executionId=...
inline nlohmann::json execution_body(const execution& e) {
    nlohmann::json b{{"displayName", e.name},
                     {"schemaTitle", e.schema_title},
                     {"schemaVersion", vertex_schema_version},
                     {"state", to_string(e.state)},
                     {"metadata", e.metadata.is_object() ? e.metadata : nlohmann::json::object()}};
    return b;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
