// Why: the TensorBoard event-file format, hand-encoded (see the spec in docs/tensorboard.md): TFRecord frames
// with masked CRC32C, Event and Summary.Value messages, the tensor forms of histograms, images, text and PR
// curves, and the hparams plugin's protos. Fields are written in ascending field-number order with proto3
// defaults omitted (except oneof members, which are always written), so the output is byte-identical to
// protobuf's own serializer and golden tests can compare bytes. The sink (sinks/tensorboard.hpp) decides
// what to write; this file only knows how. The public value types of a declared hparams experiment are in
// sinks/tensorboard_hparams.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../../record.hpp"
#include "../../sinks/tensorboard_hparams.hpp"
#include "crc32c.hpp"
#include "protobuf_wire.hpp"

MLTRACK_NAMESPACE_BEGIN

namespace detail {
namespace tb {

// ---------------------------------------------------------------------------------------------------------
// Framing

/// The TFRecord header is 12 bytes (u64le length, u32le masked CRC32C of the length), the footer 4.
inline constexpr std::size_t record_overhead = 16;

/// Opens a frame: reserves the header; the payload follows. Returns the frame's offset.
inline std::size_t begin_record(std::string& buf) {
    const std::size_t at = buf.size();
    buf.append(12, '\0');
    return at;
}

/// Closes the frame opened at `at`: fills in the length and its CRC, appends the payload's CRC.
inline void end_record(std::string& buf, std::size_t at) {
    const std::uint64_t len = buf.size() - at - 12;
    pb::put_fixed64(&buf[at], len);
    pb::put_fixed32(&buf[at + 8], masked_crc32c(&buf[at], 8));
    pb::append_fixed32(buf, masked_crc32c(buf.data() + at + 12, static_cast<std::size_t>(len)));
}

/// Wall time in seconds from nanoseconds, exact to the microsecond (seconds and fraction kept apart).
inline double wall_seconds(std::int64_t ns) noexcept {
    std::int64_t s = ns / 1000000000;
    std::int64_t r = ns % 1000000000;
    if (r < 0) {
        r += 1000000000;
        --s;
    }
    return static_cast<double>(s) + static_cast<double>(r) / 1e9;
}

// ---------------------------------------------------------------------------------------------------------
// Event (event.proto): wall_time 1 (double), step 2 (int64), file_version 3, summary 5, session_log 7,
// source_metadata 10.

inline void event_head(std::string& buf, double wall_time, std::int64_t step) {
    pb::field_double(buf, 1, wall_time);
    if (step != 0) pb::field_int(buf, 2, step);
}

/// Record 0 of every file: file_version "brain.Event:2" and, when `writer` is not empty, source_metadata.
inline void file_version_record(std::string& buf, double wall_time, std::string_view writer) {
    const auto at = begin_record(buf);
    event_head(buf, wall_time, 0);
    pb::field_bytes(buf, 3, "brain.Event:2");
    if (!writer.empty()) {
        auto m = pb::nested::begin(buf, 10);
        pb::field_bytes(buf, 1, writer.substr(0, 128));
        m.end(buf);
    }
    end_record(buf, at);
}

/// SessionLog{status: START} at `step`: tells the Python reader to drop older points with step >= it.
inline void session_start_record(std::string& buf, double wall_time, std::int64_t step) {
    const auto at = begin_record(buf);
    event_head(buf, wall_time, step);
    buf.append("\x3a\x02\x08\x01", 4);
    end_record(buf, at);
}

/// An Event holding one Summary, whose values the caller appends between begin and end.
struct summary_event {
    std::size_t record;
    pb::nested summary;
};

inline summary_event begin_summary(std::string& buf, double wall_time, std::int64_t step) {
    const auto at = begin_record(buf);
    event_head(buf, wall_time, step);
    return summary_event{at, pb::nested::begin(buf, 5)};
}

inline void end_summary(std::string& buf, const summary_event& e) {
    e.summary.end(buf);
    end_record(buf, e.record);
}

// ---------------------------------------------------------------------------------------------------------
// Summary.Value (summary.proto): tag 1, simple_value 2 (float), tensor 8, metadata 9.

/// `0a <len> tag`: the encoded start of a Summary.Value body, cached per metric by the sink.
inline std::string encode_tag(std::string_view tag) {
    std::string s;
    pb::field_bytes(s, 1, tag);
    return s;
}

/// A scalar as `simple_value` (always written, also for 0.0), from a pre-encoded tag.
inline void value_simple_encoded(std::string& buf, std::string_view encoded_tag, float v) {
    buf += '\x0a';
    pb::append_varint(buf, encoded_tag.size() + 5);
    buf.append(encoded_tag.data(), encoded_tag.size());
    buf += '\x15';
    pb::append_fixed32(buf, pb::float_bits(v));
}

inline void value_simple(std::string& buf, std::string_view tag, float v) {
    auto val = pb::nested::begin(buf, 1);
    pb::field_bytes(buf, 1, tag);
    pb::field_float(buf, 2, v);
    val.end(buf);
}

/// SummaryMetadata (field 9 of Summary.Value): plugin_data{plugin_name, content}.
inline void value_metadata(std::string& buf, std::string_view plugin, std::string_view content) {
    auto m = pb::nested::begin(buf, 9);
    auto pd = pb::nested::begin(buf, 1);
    pb::field_bytes(buf, 1, plugin);
    if (!content.empty()) pb::field_bytes(buf, 2, content);
    pd.end(buf);
    m.end(buf);
}

// TensorProto (tensor.proto): dtype 1, tensor_shape 2, tensor_content 4, string_val 8.
enum dtype : std::int64_t { dt_float = 1, dt_double = 2, dt_string = 7 };

/// TensorShapeProto{dim 2: Dim{size 1}} as field 2 of a TensorProto. An empty list is rank 0 (`12 00`).
inline void tensor_shape(std::string& buf, std::initializer_list<std::int64_t> dims) {
    auto s = pb::nested::begin(buf, 2);
    for (auto d : dims) {
        auto dim = pb::nested::begin(buf, 2);
        if (d != 0) pb::field_int(buf, 1, d);
        dim.end(buf);
    }
    s.end(buf);
}

/// A DT_STRING tensor value (string_val, one field per element, as TensorBoard requires).
template <class Strings>
void value_string_tensor(std::string& buf, std::string_view tag, std::initializer_list<std::int64_t> dims,
                         const Strings& strings, std::string_view plugin, std::string_view content,
                         bool with_metadata) {
    auto val = pb::nested::begin(buf, 1);
    pb::field_bytes(buf, 1, tag);
    auto t = pb::nested::begin(buf, 8);
    pb::field_int(buf, 1, dt_string);
    tensor_shape(buf, dims);
    for (const auto& s : strings) pb::field_bytes(buf, 8, std::string_view(s));
    t.end(buf);
    if (with_metadata) value_metadata(buf, plugin, content);
    val.end(buf);
}

/// A numeric tensor value, raw little-endian `tensor_content` (DT_DOUBLE or DT_FLOAT).
template <class T>
void value_numeric_tensor(std::string& buf, std::string_view tag, std::initializer_list<std::int64_t> dims,
                          const T* v, std::size_t n, std::string_view plugin, std::string_view content,
                          bool with_metadata) {
    static_assert(std::is_same_v<T, double> || std::is_same_v<T, float>, "DT_DOUBLE or DT_FLOAT");
    auto val = pb::nested::begin(buf, 1);
    pb::field_bytes(buf, 1, tag);
    auto t = pb::nested::begin(buf, 8);
    pb::field_int(buf, 1, std::is_same_v<T, double> ? dt_double : dt_float);
    tensor_shape(buf, dims);
    if (n > 0) {
        pb::append_key(buf, 4, pb::wire::len);
        pb::append_varint(buf, n * sizeof(T));
        const std::size_t at = buf.size();
        buf.resize(at + n * sizeof(T));
        for (std::size_t i = 0; i < n; ++i) {
            if constexpr (std::is_same_v<T, double>)
                pb::put_fixed64(&buf[at + 8 * i], pb::double_bits(v[i]));
            else
                pb::put_fixed32(&buf[at + 4 * i], pb::float_bits(v[i]));
        }
    }
    t.end(buf);
    if (with_metadata) value_metadata(buf, plugin, content);
    val.end(buf);
}

/// A histogram: DT_DOUBLE [k, 3] rows (left, right, count), plugin "histograms".
inline void value_histogram(std::string& buf, std::string_view tag, const std::vector<histogram_bucket>& b,
                            bool with_metadata) {
    std::vector<double> flat;
    flat.reserve(b.size() * 3);
    for (const auto& x : b) {
        flat.push_back(x.left);
        flat.push_back(x.right);
        flat.push_back(x.count);
    }
    value_numeric_tensor(buf, tag, {static_cast<std::int64_t>(b.size()), 3}, flat.data(), flat.size(),
                         "histograms", {}, with_metadata);
}

/// Images: DT_STRING [2 + N] = ["<width>", "<height>", png...], plugin "images".
inline void value_image(std::string& buf, std::string_view tag, std::string_view png, std::uint32_t width,
                        std::uint32_t height, bool with_metadata) {
    const std::string w = std::to_string(width), h = std::to_string(height);
    const std::string_view parts[3] = {w, h, png};
    value_string_tensor(buf, tag, {3}, parts, "images", {}, with_metadata);
}

/// Text (markdown): DT_STRING rank 0, plugin "text".
inline void value_text(std::string& buf, std::string_view tag, std::string_view text, bool with_metadata) {
    const std::string_view parts[1] = {text};
    value_string_tensor(buf, tag, {}, parts, "text", {}, with_metadata);
}

/// A table of text: DT_STRING [rows, cols], row-major, plugin "text" (TensorBoard draws it as a table).
inline void value_text_table(std::string& buf, std::string_view tag, const std::vector<std::string>& cells,
                             std::size_t rows, std::size_t cols, bool with_metadata) {
    value_string_tensor(buf, tag, {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols)}, cells,
                        "text", {}, with_metadata);
}

/// One point of a PR curve, at one threshold (columns ordered by increasing threshold).
struct pr_point {
    double tp = 0, fp = 0, tn = 0, fn = 0;
};

/// A PR curve: DT_FLOAT [6, N] rows TP, FP, TN, FN, precision, recall; plugin "pr_curves" with
/// PrCurvePluginData{num_thresholds: N}. Precision and recall as TensorBoard computes them.
inline void value_pr_curve(std::string& buf, std::string_view tag, const std::vector<pr_point>& pts,
                           bool with_metadata) {
    const std::size_t n = pts.size();
    std::vector<float> m(6 * n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& p = pts[i];
        m[0 * n + i] = static_cast<float>(p.tp);
        m[1 * n + i] = static_cast<float>(p.fp);
        m[2 * n + i] = static_cast<float>(p.tn);
        m[3 * n + i] = static_cast<float>(p.fn);
        m[4 * n + i] = static_cast<float>(p.tp / std::max(1e-7, p.tp + p.fp));
        m[5 * n + i] = static_cast<float>(p.tp / std::max(1e-7, p.tp + p.fn));
    }
    std::string content;
    pb::field_uint(content, 2, n);  // num_thresholds (version 0 omitted)
    value_numeric_tensor(buf, tag, {6, static_cast<std::int64_t>(n)}, m.data(), m.size(), "pr_curves", content,
                         with_metadata);
}

// ---------------------------------------------------------------------------------------------------------
// hparams (plugins/hparams/plugin_data.proto, api.proto; google/protobuf/struct.proto)

/// google.protobuf.Value for a param: numbers (ints too) as number_value, bools, strings.
inline void struct_value(std::string& buf, const param_value& v) {
    if (v.is_bool()) pb::field_bool(buf, 4, v.as_bool());
    else if (v.is_string()) pb::field_bytes(buf, 3, v.as_string());
    else pb::field_double(buf, 2, v.as_double());
}

/// HParamsPluginData{session_start_info 3: SessionStartInfo{hparams 1 (map, sorted by key), group_name 4,
/// start_time_secs 5}}.
inline std::string hparams_session_start(const std::map<std::string, param_value>& params,
                                         std::string_view group_name, double start_time_secs) {
    std::string out;
    auto info = pb::nested::begin(out, 3);
    for (const auto& kv : params) {
        auto entry = pb::nested::begin(out, 1);
        pb::field_bytes(out, 1, kv.first);
        auto value = pb::nested::begin(out, 2);
        struct_value(out, kv.second);
        value.end(out);
        entry.end(out);
    }
    if (!group_name.empty()) pb::field_bytes(out, 4, group_name);
    if (start_time_secs != 0.0) pb::field_double(out, 5, start_time_secs);
    info.end(out);
    return out;
}

/// The hparams Status enum, from a run's state.
enum class session_status : std::int64_t { unknown = 0, success = 1, failure = 2, running = 3 };

inline session_status status_of(run_state s) noexcept {
    switch (s) {
        case run_state::complete: return session_status::success;
        case run_state::failed: return session_status::failure;
        case run_state::cancelled: return session_status::failure;
        case run_state::preempted: return session_status::failure;
        case run_state::running: return session_status::running;
    }
    return session_status::unknown;
}

/// HParamsPluginData{session_end_info 4: SessionEndInfo{status 1, end_time_secs 2}}.
inline std::string hparams_session_end(session_status status, double end_time_secs) {
    std::string out;
    auto info = pb::nested::begin(out, 4);
    if (status != session_status::unknown) pb::field_int(out, 1, static_cast<std::int64_t>(status));
    if (end_time_secs != 0.0) pb::field_double(out, 2, end_time_secs);
    info.end(out);
    return out;
}

/// HParamsPluginData{experiment 2: Experiment{description 1, user 2, time_created_secs 3, hparam_infos 4,
/// metric_infos 5, name 6}}.
inline std::string hparams_experiment(const tensorboard_experiment& x) {
    std::string out;
    auto exp = pb::nested::begin(out, 2);
    if (!x.description.empty()) pb::field_bytes(out, 1, x.description);
    if (!x.user.empty()) pb::field_bytes(out, 2, x.user);
    if (x.time_created_secs != 0.0) pb::field_double(out, 3, x.time_created_secs);
    for (const auto& h : x.hparams) {
        auto hi = pb::nested::begin(out, 4);
        pb::field_bytes(out, 1, h.name);
        if (!h.display_name.empty()) pb::field_bytes(out, 2, h.display_name);
        if (!h.description.empty()) pb::field_bytes(out, 3, h.description);
        if (h.type != tensorboard_hparam_type::unset) pb::field_int(out, 4, static_cast<std::int64_t>(h.type));
        if (h.interval) {
            auto iv = pb::nested::begin(out, 6);
            if (h.interval->first != 0.0) pb::field_double(out, 1, h.interval->first);
            if (h.interval->second != 0.0) pb::field_double(out, 2, h.interval->second);
            iv.end(out);
        } else if (!h.values.empty()) {
            auto list = pb::nested::begin(out, 5);
            for (const auto& v : h.values) {
                auto value = pb::nested::begin(out, 1);
                struct_value(out, v);
                value.end(out);
            }
            list.end(out);
        }
        hi.end(out);
    }
    for (const auto& m : x.metrics) {
        auto mi = pb::nested::begin(out, 5);
        auto name = pb::nested::begin(out, 1);
        if (!m.group.empty()) pb::field_bytes(out, 1, m.group);
        if (!m.tag.empty()) pb::field_bytes(out, 2, m.tag);
        name.end(out);
        if (!m.display_name.empty()) pb::field_bytes(out, 3, m.display_name);
        if (!m.description.empty()) pb::field_bytes(out, 4, m.description);
        if (m.dataset != tensorboard_dataset::unknown) pb::field_int(out, 5, static_cast<std::int64_t>(m.dataset));
        mi.end(out);
    }
    if (!x.name.empty()) pb::field_bytes(out, 6, x.name);
    exp.end(out);
    return out;
}

/// An hparams Summary.Value: the tag, TensorBoard's null tensor {DT_FLOAT, shape [0]}, and the metadata
/// whose content is the HParamsPluginData.
inline void value_hparams(std::string& buf, std::string_view tag, std::string_view content) {
    auto val = pb::nested::begin(buf, 1);
    pb::field_bytes(buf, 1, tag);
    buf.append("\x42\x06\x08\x01\x12\x02\x12\x00", 8);
    value_metadata(buf, "hparams", content);
    val.end(buf);
}

// ---------------------------------------------------------------------------------------------------------
// Markdown helpers for the text dashboard

/// A table cell: '|' escaped, line breaks turned into spaces.
inline std::string markdown_cell(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '|') out += "\\|";
        else if (c == '\n' || c == '\r') out += ' ';
        else out += c;
    }
    return out;
}

}  // namespace tb
}  // namespace detail
MLTRACK_NAMESPACE_END
