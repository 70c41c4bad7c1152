// Why: the JSON bodies the Vertex sink sends are exactly those the Python SDK sends (schema titles, schema
// versions, metadata keys, states), written in one place next to the value encodings they need: proto3
// JSON (int64 as strings, RFC 3339 UTC timestamps, "NaN"/"Infinity" for non-finite doubles) and the
// google.protobuf.Struct rules of metadata (numbers are doubles, no NaN: those become strings, as the SDK
// does for summary metrics).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../record.hpp"
#include "../time_text.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

inline constexpr const char* vertex_schema_version = "0.0.1";

// ------------------------------------------------------------------ reading what the service returns

/// A JSON object's string field, "" when absent or not a string.
inline std::string str_of(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return {};
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// The "metadata" object of a resource (an empty object when it has none).
inline const nlohmann::json& metadata_of(const nlohmann::json& resource) {
    static const nlohmann::json empty = nlohmann::json::object();
    if (!resource.is_object()) return empty;
    auto it = resource.find("metadata");
    return it != resource.end() && it->is_object() ? *it : empty;
}

/// The TensorBoard run of a "-tb-run" artifact, as the SDK accepts it (schema google.VertexTensorboardRun and
/// metadata.vertex_experiment_tracking true); "" when it does not qualify.
inline std::string linked_tensorboard_run(const nlohmann::json& artifact) {
    if (str_of(artifact, "schemaTitle") != "google.VertexTensorboardRun") return {};
    const auto& md = metadata_of(artifact);
    auto tracking = md.find("vertex_experiment_tracking");
    if (tracking == md.end() || *tracking != true) return {};
    return str_of(md, "resourceName");
}

/// ".../tensorboards/T/experiments/E/runs/R" -> ".../tensorboards/T/experiments/E".
inline std::string tensorboard_experiment_of(const std::string& tb_run) {
    const auto at = tb_run.rfind("/runs/");
    return at == std::string::npos ? std::string() : tb_run.substr(0, at);
}

// ------------------------------------------------------------------ encodings

/// RFC 3339 UTC ("2026-01-01T12:00:00.123Z", any number of fraction digits) to ns since the epoch; 0 when
/// it does not parse or is out of the years 1-9999.
inline std::int64_t parse_rfc3339(const std::string& t) {
    std::tm tm{};
    int frac_digits = 0;
    long long frac = 0;
    if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                    &tm.tm_sec) != 6)
        return 0;
    const auto dot = t.find('.');
    if (dot != std::string::npos)
        for (std::size_t i = dot + 1; i < t.size() && t[i] >= '0' && t[i] <= '9' && frac_digits < 9; ++i, ++frac_digits)
            frac = frac * 10 + (t[i] - '0');
    while (frac_digits++ < 9) frac *= 10;
    if (tm.tm_year < 1 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
        return 0;  // not a time the service writes (and no overflow below)
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(::timegm(&tm)) * 1000000000 + frac;
}

/// The display name the SDK gives a default TensorBoard it creates: "Default Tensorboard " followed by
/// Python's datetime.now().isoformat(sep=" "), local time, microseconds left out when zero.
inline std::string default_tensorboard_display_name(std::int64_t time_ns) {
    std::int64_t ns = 0;
    const std::time_t t = split_epoch_ns(time_ns, ns);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "Default Tensorboard %04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string out = buf;
    const int us = static_cast<int>(ns / 1000);
    if (us != 0) {
        std::snprintf(buf, sizeof buf, ".%06d", us);
        out += buf;
    }
    return out;
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
/// Histograms are TENSOR series of the "histograms" plugin, as the TensorBoard uploader sends them.
inline nlohmann::json time_series_create_request(const std::string& tb_run_name, const std::string& key,
                                                 bool tensor = false) {
    return {{"parent", tb_run_name},
            {"tensorboardTimeSeries",
             {{"displayName", key},
              {"valueType", tensor ? "TENSOR" : "SCALAR"},
              {"pluginName", tensor ? "histograms" : "scalars"}}}};
}

/// Standard base64 with padding (proto3 JSON `bytes`).
inline std::string base64(std::string_view in) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        out += abc[(v >> 18) & 63];
        out += abc[(v >> 12) & 63];
        out += abc[(v >> 6) & 63];
        out += abc[v & 63];
    }
    if (i < in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += abc[(v >> 18) & 63];
        out += abc[(v >> 12) & 63];
        out += i + 1 < in.size() ? abc[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

/// A histogram as TensorBoard's histograms plugin stores it, serialized: a TensorProto of DT_DOUBLE (2),
/// shape [k, 3] (rows left, right, count), values in tensor_content (little-endian). This is what the
/// uploader sends as TensorboardTensor.value.
inline std::string histogram_tensor_proto(const std::vector<histogram_bucket>& buckets) {
    auto varint = [](std::string& o, std::uint64_t v) {
        while (v >= 0x80) {
            o += static_cast<char>((v & 0x7f) | 0x80);
            v >>= 7;
        }
        o += static_cast<char>(v);
    };
    auto dim = [&](std::string& o, std::uint64_t size) {
        std::string d;
        if (size != 0) {
            d += '\x08';  // Dim.size
            varint(d, size);
        }
        o += '\x12';  // TensorShapeProto.dim
        varint(o, d.size());
        o += d;
    };
    std::string shape;
    dim(shape, buckets.size());
    dim(shape, 3);
    std::string content;
    content.reserve(buckets.size() * 24);
    for (const auto& b : buckets)
        for (double v : {b.left, b.right, b.count}) {
            std::uint64_t bits;
            std::memcpy(&bits, &v, sizeof bits);
            for (int i = 0; i < 8; ++i) content += static_cast<char>((bits >> (8 * i)) & 0xff);
        }
    std::string out;
    out += '\x08';  // dtype
    varint(out, 2);  // DT_DOUBLE
    out += '\x12';  // tensor_shape
    varint(out, shape.size());
    out += shape;
    if (!content.empty()) {
        out += '\x22';  // tensor_content
        varint(out, content.size());
        out += content;
    }
    return out;
}

/// One point of a runs:write request.
inline nlohmann::json scalar_point(std::int64_t step, std::int64_t time_ns, double value) {
    return {{"step", std::to_string(step)}, {"wallTime", iso_utc(time_ns)}, {"scalar", {{"value", proto_double(value)}}}};
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
        if (!md.contains("modelClass"))
            md["modelClass"] = a.metadata.is_object() ? a.metadata.value("model_class", std::string()) : std::string();
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
/// An Execution.State name: PREEMPTED (mltrack's own) is CANCELLED there.
inline const char* execution_state(run_state s) noexcept {
    return to_string(s == run_state::preempted ? run_state::cancelled : s);
}

inline nlohmann::json execution_body(const execution& e) {
    nlohmann::json b{{"displayName", e.name},
                     {"schemaTitle", e.schema_title},
                     {"schemaVersion", vertex_schema_version},
                     {"state", execution_state(e.state)},
                     {"metadata", e.metadata.is_object() ? e.metadata : nlohmann::json::object()}};
    return b;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
