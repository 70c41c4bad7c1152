// Why: `mltrack check` also vouches for TensorBoard event files, whose damage (a flipped byte, a file cut
// short by a crash) TensorBoard itself reports only as missing points. This layer checks what every event
// file must satisfy, independently of the sink that wrote it: TFRecord framing (u64 length, masked CRC32C of
// the length, payload, masked CRC32C of the payload), each payload a well-formed protobuf message, and the
// first event carrying file_version "brain.Event:2".
//
// Then each Event is decoded and its summaries checked by kind, against what TensorBoard's plugins accept
// (specs/tensorboard.md): a finite wall time; every Summary.Value has a tag and exactly one value; a plugin's
// tensor has the dtype and shape that plugin reads (histograms DOUBLE/FLOAT [k,3], text STRING, images
// STRING [2+n], pr_curves FLOAT [6,n]) and as many elements as its shape says; hparams content is a
// well-formed message; a SessionLog status is one TensorBoard knows.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <mltrack/detail/tensorboard/crc32c.hpp>

#include "check_jsonl.hpp"

namespace mltrack_cli {

namespace detail {

inline bool read_varint(const unsigned char*& p, const unsigned char* e, std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p < e; shift += 7) {
        const unsigned char b = *p++;
        v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

/// Walks a protobuf message; returns "" when well-formed, else what is wrong. Field 3 (a string starting
/// with "brain.Event:") is reported through `file_version`.
inline std::string walk_message(std::string_view msg, std::string* file_version) {
    const auto* p = reinterpret_cast<const unsigned char*>(msg.data());
    const auto* e = p + msg.size();
    while (p < e) {
        std::uint64_t key = 0;
        if (!read_varint(p, e, key)) return "a field tag is cut short";
        const auto field = key >> 3;
        const auto type = key & 7;
        if (field == 0) return "field number 0";
        std::uint64_t v = 0;
        switch (type) {
            case 0:
                if (!read_varint(p, e, v)) return "a varint is cut short";
                break;
            case 1:
                if (e - p < 8) return "a 64-bit field is cut short";
                p += 8;
                break;
            case 5:
                if (e - p < 4) return "a 32-bit field is cut short";
                p += 4;
                break;
            case 2:
                if (!read_varint(p, e, v)) return "a length is cut short";
                if (v > static_cast<std::uint64_t>(e - p)) return "a length-delimited field runs past the record";
                if (field == 3 && file_version) file_version->assign(reinterpret_cast<const char*>(p), v);
                p += v;
                break;
            default:
                return "unknown wire type " + std::to_string(type) + " (field " + std::to_string(field) + ")";
        }
    }
    return {};
}

/// One field of a well-formed protobuf message (walk_message said so).
struct pb_field {
    std::uint64_t number = 0;
    std::uint64_t wire = 0;
    std::uint64_t varint = 0;  ///< wire 0; the raw bits for wire 1 and 5
    std::string_view bytes;    ///< wire 2
};

inline std::vector<pb_field> fields_of(std::string_view msg) {
    std::vector<pb_field> out;
    const auto* p = reinterpret_cast<const unsigned char*>(msg.data());
    const auto* e = p + msg.size();
    while (p < e) {
        std::uint64_t key = 0;
        if (!read_varint(p, e, key)) break;
        pb_field f;
        f.number = key >> 3;
        f.wire = key & 7;
        if (f.wire == 0) {
            if (!read_varint(p, e, f.varint)) break;
        } else if (f.wire == 1 || f.wire == 5) {
            const int n = f.wire == 1 ? 8 : 4;
            if (e - p < n) break;
            for (int i = 0; i < n; ++i) f.varint |= static_cast<std::uint64_t>(p[i]) << (8 * i);
            p += n;
        } else if (f.wire == 2) {
            std::uint64_t len = 0;
            if (!read_varint(p, e, len) || len > static_cast<std::uint64_t>(e - p)) break;
            f.bytes = std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len));
            p += len;
        } else {
            break;
        }
        out.push_back(f);
    }
    return out;
}

/// A message field that must itself be well-formed; "" when fine.
inline std::string sub_message(const pb_field& f, const char* what) {
    if (f.wire != 2) return std::string(what) + " is not a message";
    const std::string bad = walk_message(f.bytes, nullptr);
    return bad.empty() ? bad : std::string(what) + " is not a well-formed message: " + bad;
}

/// Checks a TensorProto for the plugin that reads it; "" when fine.
inline std::string check_tensor(std::string_view tensor, const std::string& plugin) {
    std::uint64_t dtype = 0;
    std::vector<std::int64_t> shape;
    std::uint64_t content = 0, strings = 0, floats = 0, doubles = 0;
    for (const auto& f : fields_of(tensor)) {
        if (f.number == 1 && f.wire == 0) dtype = f.varint;
        else if (f.number == 2 && f.wire == 2) {
            for (const auto& d : fields_of(f.bytes))
                if (d.number == 2 && d.wire == 2)
                    for (const auto& sz : fields_of(d.bytes))
                        if (sz.number == 1 && sz.wire == 0) shape.push_back(static_cast<std::int64_t>(sz.varint));
        } else if (f.number == 4 && f.wire == 2) content = f.bytes.size();
        else if (f.number == 8) ++strings;
        else if (f.number == 5) floats += f.wire == 2 ? f.bytes.size() / 4 : 1;
        else if (f.number == 6) doubles += f.wire == 2 ? f.bytes.size() / 8 : 1;
    }
    std::uint64_t elements = 1;
    for (auto d : shape) {
        if (d < 0) return "a tensor dimension is negative";
        elements *= static_cast<std::uint64_t>(d);
    }
    const std::string where = "plugin \"" + plugin + "\": ";
    auto numeric = [&](std::uint64_t width) -> std::string {
        const std::uint64_t have = content ? content / width : (width == 4 ? floats : doubles);
        if (content % width) return where + "tensor_content is not a whole number of elements";
        if (have != elements)
            return where + "the tensor has " + std::to_string(have) + " values for a shape of " +
                   std::to_string(elements);
        return {};
    };
    if (plugin == "histograms") {
        if (dtype != 1 && dtype != 2) return where + "a histogram is not a FLOAT or DOUBLE tensor";
        if (shape.size() != 2 || shape[1] != 3) return where + "a histogram is not a [k, 3] tensor";
        return numeric(dtype == 1 ? 4 : 8);
    }
    if (plugin == "pr_curves") {
        if (dtype != 1) return where + "a PR curve is not a FLOAT tensor";
        if (shape.size() != 2 || shape[0] != 6) return where + "a PR curve is not a [6, n] tensor";
        return numeric(4);
    }
    if (plugin == "text" || plugin == "images") {
        if (dtype != 7) return where + "not a STRING tensor";
        if (plugin == "images" && (shape.size() != 1 || shape[0] < 3))
            return where + "an image is not a [2 + n] string tensor";
        if (strings != elements)
            return where + "the tensor has " + std::to_string(strings) + " strings for a shape of " +
                   std::to_string(elements);
    }
    return {};
}

/// Checks one Summary.Value; "" when fine.
inline std::string check_summary_value(std::string_view value) {
    std::string_view tag;
    std::string plugin;
    int kinds = 0;
    const pb_field* tensor = nullptr;
    const auto fields = fields_of(value);
    for (const auto& f : fields) {
        if (f.number == 1 && f.wire == 2) tag = f.bytes;
        else if (f.number == 2) {
            if (f.wire != 5) return "simple_value is not a 32-bit float";
            ++kinds;
        } else if (f.number >= 3 && f.number <= 6) {
            ++kinds;
            if (const auto bad = sub_message(f, "a legacy value"); !bad.empty()) return bad;
        } else if (f.number == 8) {
            ++kinds;
            if (const auto bad = sub_message(f, "the tensor"); !bad.empty()) return bad;
            tensor = &f;
        } else if (f.number == 9) {
            if (const auto bad = sub_message(f, "the metadata"); !bad.empty()) return bad;
            for (const auto& m : fields_of(f.bytes))
                if (m.number == 1 && m.wire == 2)
                    for (const auto& pd : fields_of(m.bytes)) {
                        if (pd.number == 1 && pd.wire == 2) plugin.assign(pd.bytes);
                        if (pd.number == 2 && pd.wire == 2 && !pd.bytes.empty() && plugin == "hparams") {
                            const std::string bad = walk_message(pd.bytes, nullptr);
                            if (!bad.empty()) return "hparams plugin content is not a well-formed message: " + bad;
                        }
                    }
        }
    }
    const std::string name = tag.empty() ? std::string("a value") : "value '" + std::string(tag) + "'";
    if (tag.empty()) return "a summary value has no tag";
    if (kinds != 1 && plugin != "hparams")  // hparams values carry their data in the metadata only
        return name + " has " + std::to_string(kinds) + " values (exactly one expected)";
    if (tensor) {
        const std::string bad = check_tensor(tensor->bytes, plugin);
        if (!bad.empty()) return name + ": " + bad;
    }
    return {};
}

}  // namespace detail

/// Checks one Event payload (record `index` of the file). Empty when fine.
inline std::string check_tensorboard_event(std::size_t index, std::string_view payload) {
    std::string version;
    std::string bad = detail::walk_message(payload, index == 0 ? &version : nullptr);
    if (!bad.empty()) return "the Event is not a well-formed protobuf message: " + bad;
    if (index == 0 && version.rfind("brain.Event:", 0) != 0)
        return "the first event has no file_version \"brain.Event:2\"";
    for (const auto& f : detail::fields_of(payload)) {
        if (f.number == 1) {  // wall_time, seconds
            if (f.wire != 1) return "wall_time is not a double";
            double t = 0;
            std::memcpy(&t, &f.varint, sizeof t);
            if (!(t >= 0) || t > 1e11) return "wall_time " + std::to_string(t) + " is not a plausible time";
        } else if (f.number == 5) {  // summary
            for (const auto& v : detail::fields_of(f.bytes)) {
                if (v.number != 1) continue;
                if (v.wire != 2) return "a summary value is not a message";
                const std::string why = detail::check_summary_value(v.bytes);
                if (!why.empty()) return why;
            }
        } else if (f.number == 7) {  // session_log
            for (const auto& l : detail::fields_of(f.bytes))
                if (l.number == 1 && (l.wire != 0 || l.varint > 3))
                    return "session_log status " + std::to_string(l.varint) + " is not one TensorBoard knows";
        }
    }
    return {};
}

/// Checks a TensorBoard event file; problems read "file:offset N: message" (byte offset of the record).
inline file_check check_tensorboard(const fs::path& file) {
    file_check out;
    const std::string name = file.string();
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        out.problems.push_back("cannot open " + name);
        return out;
    }
    auto problem = [&](std::uint64_t offset, std::size_t index, const std::string& message) {
        out.problems.push_back(name + ":offset " + std::to_string(offset) + ": record " + std::to_string(index) +
                               ": " + message);
    };
    std::uint64_t offset = 0;
    std::string payload;
    for (std::size_t index = 0;; ++index) {
        unsigned char head[12];
        in.read(reinterpret_cast<char*>(head), 12);
        const auto got = static_cast<std::size_t>(in.gcount());
        if (got == 0) break;
        if (got < 12) {
            problem(offset, index, "truncated record header (" + std::to_string(got) + " of 12 bytes)");
            break;
        }
        const std::uint64_t len = mltrack::detail::load_le64(head);
        const std::uint32_t len_crc = mltrack::detail::load_le32(head + 8);
        if (mltrack::detail::masked_crc32c(head, 8) != len_crc) {
            problem(offset, index, "length CRC mismatch (the length field or its CRC is damaged); stopped here");
            break;
        }
        if (len > (1ull << 32)) {
            problem(offset, index, "implausible record length " + std::to_string(len) + "; stopped here");
            break;
        }
        payload.resize(static_cast<std::size_t>(len));
        in.read(payload.data(), static_cast<std::streamsize>(len));
        unsigned char foot[4];
        const auto got_payload = static_cast<std::uint64_t>(in.gcount());
        if (got_payload < len) {
            problem(offset, index, "truncated record: " + std::to_string(len) + " bytes announced, " +
                                       std::to_string(got_payload) + " present");
            break;
        }
        in.read(reinterpret_cast<char*>(foot), 4);
        if (in.gcount() < 4) {
            problem(offset, index, "truncated record: its data CRC is missing");
            break;
        }
        if (mltrack::detail::masked_crc32c(payload.data(), payload.size()) != mltrack::detail::load_le32(foot)) {
            problem(offset, index, "data CRC mismatch (the record's bytes are damaged)");
        } else {
            const std::string bad = check_tensorboard_event(index, payload);
            if (!bad.empty()) problem(offset, index, bad);
        }
        ++out.lines;
        offset += 16 + len;
    }
    return out;
}

/// True for file names TensorBoard reads: events.out.tfevents.*
inline bool is_tensorboard_file(const fs::path& p) {
    return p.filename().string().find("tfevents") != std::string::npos;
}

}  // namespace mltrack_cli
