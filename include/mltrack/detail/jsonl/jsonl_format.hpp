// Why: the JSONL format is a public contract (docs/format.md). This header is the one place that spells
// each line on the write side, so the sink and anything else that writes runs (replay, tools) agree.
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "../../record.hpp"
#include "json_line.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The format name and version in every run's first line.
inline constexpr const char* jsonl_format_name = "mltrack.jsonl";
inline constexpr int jsonl_format_version = 1;

inline void append_json(std::string& out, const nlohmann::json& j) {
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline void append_param(std::string& out, const param_value& v) {
    if (v.is_int()) append_int(out, v.as_int());
    else if (v.is_double()) append_float(out, v.as_double());
    else if (v.is_bool()) out += v.as_bool() ? "true" : "false";
    else append_json_string(out, v.as_string());
}

inline void append_line_head(std::string& out, const char* kind, std::int64_t time_ns) {
    out += "{\"kind\":\"";
    out += kind;
    out += "\",\"time\":";
    append_time(out, time_ns);
}

/// {"name":value,...} in the values' order.
template <class V, class F>
void append_object(std::string& out, const named_values<V>& values, F&& append_value) {
    out += '{';
    bool first = true;
    for (const auto& kv : values) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, kv.first);
        out += ':';
        append_value(out, kv.second);
    }
    out += '}';
}

template <class V, class F>
void append_values(std::string& out, const named_values<V>& values, F&& append_value) {
    out += "\"values\":";
    append_object(out, values, std::forward<F>(append_value));
}

inline void append_string_value(std::string& out, const std::string& v) { append_json_string(out, v); }

inline void append_artifact_fields(std::string& out, const artifact& a) {
    out += "\"type\":\"";
    out += to_string(a.type);
    out += "\",\"name\":";
    append_json_string(out, a.name);
    out += ",\"source\":";
    append_json_string(out, a.source);
    if (!a.path.empty()) {
        out += ",\"path\":";
        append_json_string(out, a.path);
    }
    out += ",\"directory\":";
    out += a.directory ? "true" : "false";
    out += ",\"size\":";
    append_uint(out, a.size);
    if (!a.sha256.empty()) {
        out += ",\"sha256\":";
        append_json_string(out, a.sha256);
    }
    if (!a.framework.empty()) {
        out += ",\"framework\":";
        append_json_string(out, a.framework);
    }
    if (!a.framework_version.empty()) {
        out += ",\"framework_version\":";
        append_json_string(out, a.framework_version);
    }
    if (!a.metadata.empty()) {
        out += ",\"metadata\":";
        append_json(out, a.metadata);
    }
}

template <class T, class F>
void append_array(std::string& out, const std::vector<T>& v, F&& f) {
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        f(out, v[i]);
    }
    out += ']';
}

/// Appends the whole line (with '\n') for a cold record of a run.
inline void append_record_line(std::string& out, const record& r) {
    switch (r.kind) {
        case record_kind::params:
            append_line_head(out, "params", r.time_ns);
            out += ',';
            append_values(out, r.get_params(), append_param);
            break;
        case record_kind::summary:
            append_line_head(out, "summary", r.time_ns);
            out += ',';
            append_values(out, r.get_values(), append_double);
            if (!r.texts.empty()) {  // string values: their own object, so "NaN" stays a string
                out += ",\"text\":";
                append_object(out, r.texts, append_string_value);
            }
            break;
        case record_kind::tags: {
            append_line_head(out, "tags", r.time_ns);
            out += ',';
            append_values(out, r.texts, append_string_value);
            break;
        }
        case record_kind::metric:
            append_line_head(out, "metrics", r.time_ns);
            out += ",\"step\":";
            append_int(out, r.step);
            out += ',';
            append_values(out, r.get_values(), append_double);
            break;
        case record_kind::classification: {
            const auto& c = r.get_classification();
            append_line_head(out, "classification", r.time_ns);
            if (!c.display_name.empty()) {
                out += ",\"name\":";
                append_json_string(out, c.display_name);
            }
            out += ",\"labels\":";
            append_array(out, c.labels, [](std::string& o, const std::string& s) { append_json_string(o, s); });
            out += ",\"matrix\":";
            append_array(out, c.matrix, [](std::string& o, const std::vector<std::int64_t>& row) {
                append_array(o, row, [](std::string& o2, std::int64_t v) { append_int(o2, v); });
            });
            out += ",\"fpr\":";
            append_array(out, c.fpr, append_double);
            out += ",\"tpr\":";
            append_array(out, c.tpr, append_double);
            out += ",\"thresholds\":";
            append_array(out, c.thresholds, append_double);
            break;
        }
        case record_kind::artifact:
            append_line_head(out, "artifact", r.time_ns);
            out += ',';
            append_artifact_fields(out, r.get_artifact());
            break;
        case record_kind::execution: {
            const auto& e = r.get_execution();
            append_line_head(out, "execution", r.time_ns);
            if (!e.id.empty()) {
                out += ",\"id\":";
                append_json_string(out, e.id);
            }
            if (e.resumed) out += ",\"resumed\":true";
            out += ",\"name\":";
            append_json_string(out, e.name);
            out += ",\"schema_title\":";
            append_json_string(out, e.schema_title);
            out += ",\"state\":\"";
            out += to_string(e.state);
            out += '"';
            auto objects = [](std::string& o, const artifact& a) {
                o += '{';
                append_artifact_fields(o, a);
                o += '}';
            };
            out += ",\"inputs\":";
            append_array(out, e.inputs, objects);
            out += ",\"outputs\":";
            append_array(out, e.outputs, objects);
            if (!e.metadata.empty()) {
                out += ",\"metadata\":";
                append_json(out, e.metadata);
            }
            break;
        }
        case record_kind::histogram: {
            const auto& h = r.get_histogram();
            append_line_head(out, "histogram", r.time_ns);
            out += ",\"step\":";
            append_int(out, r.step);
            out += ",\"name\":";
            append_json_string(out, h.name);
            out += ",\"buckets\":";
            append_array(out, h.buckets, [](std::string& o, const histogram_bucket& b) {
                o += '[';
                append_double(o, b.left);
                o += ',';
                append_double(o, b.right);
                o += ',';
                append_double(o, b.count);
                o += ']';
            });
            break;
        }
        case record_kind::run_end:
            append_line_head(out, "run_end", r.time_ns);
            out += ",\"state\":\"";
            out += to_string(r.get_state());
            out += '"';
            break;
        case record_kind::run_start:
        case record_kind::run_resume:
            append_line_head(out, to_string(r.kind), r.time_ns);  // written by append_run_open_line
            break;
    }
    out += "}\n";
}

/// The events file of a rank in a run folder: events.jsonl for rank 0 (and every run outside a multi-rank
/// job), events.rank-<r>.jsonl for rank r > 0 under rank_policy::every.
inline std::string events_file_name(int rank) {
    return rank > 0 ? "events.rank-" + std::to_string(rank) + ".jsonl" : std::string("events.jsonl");
}

/// The rank r > 0 written as `<r>` in a rank file or folder name (decimal, no leading zero, at most 9
/// digits), or -1.
inline int parse_rank_number(std::string_view digits) {
    if (digits.empty() || digits.size() > 9 || digits[0] == '0') return -1;
    int r = 0;
    for (char ch : digits) {
        if (ch < '0' || ch > '9') return -1;
        r = r * 10 + (ch - '0');
    }
    return r;
}

/// The rank of an events file name, or -1 when it is not one ("events.jsonl" is rank 0).
inline int events_file_rank(std::string_view file) {
    if (file == "events.jsonl") return 0;
    constexpr std::string_view head = "events.rank-", tail = ".jsonl";
    if (file.size() <= head.size() + tail.size() || file.substr(0, head.size()) != head ||
        file.substr(file.size() - tail.size()) != tail)
        return -1;
    return parse_rank_number(file.substr(head.size(), file.size() - head.size() - tail.size()));
}

/// Where rank r's copies of artifacts go inside the run folder: artifacts/ for rank 0, artifacts.rank-<r>/.
inline std::string artifacts_folder(int rank) {
    return rank > 0 ? "artifacts.rank-" + std::to_string(rank) + "/" : std::string("artifacts/");
}

/// The first line of a run ("run_start", with the format version) or of a continuation ("run_resume",
/// with the bytes of a torn last line that were discarded before it).
inline void append_run_open_line(std::string& out, const run_info& info, std::uint64_t discarded_bytes) {
    if (!info.resumed) {
        append_line_head(out, "run_start", info.start_time_ns);
        out += ",\"format\":\"";
        out += jsonl_format_name;
        out += "\",\"format_version\":";
        append_int(out, jsonl_format_version);
        out += ",\"mltrack_version\":\"" MLTRACK_VERSION_STRING "\",\"experiment\":";
        append_json_string(out, info.experiment);
        out += ",\"run\":";
        append_json_string(out, info.name);
    } else {
        append_line_head(out, "run_resume", info.start_time_ns);
        out += ",\"discarded_bytes\":";
        append_uint(out, discarded_bytes);
    }
    if (info.world_size > 1 || info.rank > 0) {  // a job of several ranks (absent: rank 0 of 1)
        out += ",\"rank\":";
        append_int(out, info.rank);
        out += ",\"world_size\":";
        append_int(out, info.world_size);
    }
    if (!info.metadata.empty()) {
        out += ",\"metadata\":";
        append_json(out, info.metadata);
    }
    out += "}\n";
}

}  // namespace detail
MLTRACK_NAMESPACE_END
