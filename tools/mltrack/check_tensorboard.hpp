// Why: `mltrack check` also vouches for TensorBoard event files, whose damage (a flipped byte, a file cut
// short by a crash) TensorBoard itself reports only as missing points. This layer checks what every event
// file must satisfy, independently of the sink that wrote it: TFRecord framing (u64 length, masked CRC32C of
// the length, payload, masked CRC32C of the payload), each payload a well-formed protobuf message, and the
// first event carrying file_version "brain.Event:2".
//
// Hook: decoding each Event's summaries (the kinds the TensorBoard sink writes: scalars, hparams, text...)
// belongs in check_tensorboard_event() below, written against detail/tensorboard_format.hpp once the sink is
// part of the build; today it checks the wire format of every event and the file_version of record 0.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <mltrack/detail/crc32c.hpp>

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

}  // namespace detail

/// Checks one Event payload (record `index` of the file). Empty when fine.
inline std::string check_tensorboard_event(std::size_t index, std::string_view payload) {
    std::string version;
    std::string bad = detail::walk_message(payload, index == 0 ? &version : nullptr);
    if (!bad.empty()) return "the Event is not a well-formed protobuf message: " + bad;
    if (index == 0 && version.rfind("brain.Event:", 0) != 0)
        return "the first event has no file_version \"brain.Event:2\"";
    // Hook: decode Summary values and check their kinds against the TensorBoard sink's spec here.
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
