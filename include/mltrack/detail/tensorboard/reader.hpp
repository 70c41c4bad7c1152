// Why: the sink continues runs that an earlier process wrote. To show what TensorBoard needs after a resume
// (the run's session with its earlier params and start time, stepless summaries at the step the run reached)
// it reads back the few fields it wrote itself: TFRecord frames with both CRCs checked, Event.step, and the
// tag, plugin and content of each Summary.Value. Anything else is skipped; a torn or damaged record ends
// the walk, as it ends TensorBoard's own reading of that file.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <set>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

#include "crc32c.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {
namespace tb {

/// A cursor over one serialized protobuf message: next() yields each field's number and wire type, then
/// the caller reads (varint(), bytes(), fixed64()) or skip()s its value. Malformed input sets !ok().
class pb_cursor {
public:
    explicit pb_cursor(std::string_view m) noexcept : p_(m.data()), end_(m.data() + m.size()) {}

    bool next(std::uint32_t& field, int& wire) noexcept {
        if (!ok_ || p_ >= end_) return false;
        const std::uint64_t key = varint();
        field = static_cast<std::uint32_t>(key >> 3);
        wire = static_cast<int>(key & 7);
        return ok_;
    }
    std::uint64_t varint() noexcept {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ >= end_) break;
            const auto b = static_cast<unsigned char>(*p_++);
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        ok_ = false;
        return 0;
    }
    std::string_view bytes() noexcept {
        const std::uint64_t n = varint();
        if (!ok_ || n > static_cast<std::uint64_t>(end_ - p_)) {
            ok_ = false;
            return {};
        }
        std::string_view s(p_, static_cast<std::size_t>(n));
        p_ += n;
        return s;
    }
    std::uint64_t fixed64() noexcept {
        if (end_ - p_ < 8) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p_[i]);
        p_ += 8;
        return v;
    }
    double f64() noexcept {
        const std::uint64_t u = fixed64();
        double d;
        std::memcpy(&d, &u, 8);
        return d;
    }
    void skip(int wire) noexcept {
        switch (wire) {
            case 0: varint(); break;
            case 1: fixed64(); break;
            case 2: bytes(); break;
            case 5:
                if (end_ - p_ < 4) ok_ = false;
                else p_ += 4;
                break;
            default: ok_ = false;
        }
    }
    bool ok() const noexcept { return ok_; }

private:
    const char* p_;
    const char* end_;
    bool ok_ = true;
};

/// Calls f(payload) for each complete record of a TFRecord file whose CRCs match, in order; stops at the
/// first torn or damaged record. Returns the number of records read.
template <class F>
std::size_t for_each_record(std::string_view file, F&& f) {
    std::size_t at = 0, n = 0;
    while (file.size() - at >= 12) {
        std::uint64_t len = 0;
        std::uint32_t len_crc = 0, data_crc = 0;
        for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(file[at + static_cast<std::size_t>(i)]);
        for (int i = 3; i >= 0; --i) len_crc = (len_crc << 8) | static_cast<unsigned char>(file[at + 8 + static_cast<std::size_t>(i)]);
        if (masked_crc32c(file.data() + at, 8) != len_crc || len > file.size() - at - 16) break;
        const std::string_view payload = file.substr(at + 12, static_cast<std::size_t>(len));
        for (int i = 3; i >= 0; --i)
            data_crc = (data_crc << 8) | static_cast<unsigned char>(file[at + 12 + len + static_cast<std::size_t>(i)]);
        if (masked_crc32c(payload.data(), payload.size()) != data_crc) break;
        f(payload);
        ++n;
        at += 16 + static_cast<std::size_t>(len);
    }
    return n;
}

/// What the sink reads back of one Event: its step, and for each Summary.Value its tag and, when present,
/// its metadata's plugin name and content.
struct event_fields {
    std::int64_t step = 0;
    bool summary = false;
};

/// Calls value(tag, plugin, content) for each Summary.Value of an Event payload; returns the Event's step.
template <class F>
event_fields read_event(std::string_view payload, F&& value) {
    event_fields e;
    pb_cursor ev(payload);
    std::uint32_t field = 0;
    int wire = 0;
    while (ev.next(field, wire)) {
        if (field == 2 && wire == 0) {
            e.step = static_cast<std::int64_t>(ev.varint());
        } else if (field == 5 && wire == 2) {
            e.summary = true;
            pb_cursor summary(ev.bytes());
            while (summary.next(field, wire)) {
                if (field != 1 || wire != 2) {
                    summary.skip(wire);
                    continue;
                }
                pb_cursor v(summary.bytes());
                std::string_view tag, plugin, content;
                while (v.next(field, wire)) {
                    if (field == 1 && wire == 2) {
                        tag = v.bytes();
                    } else if (field == 9 && wire == 2) {  // SummaryMetadata{plugin_data 1: {plugin_name 1, content 2}}
                        pb_cursor md(v.bytes());
                        while (md.next(field, wire)) {
                            if (field != 1 || wire != 2) {
                                md.skip(wire);
                                continue;
                            }
                            pb_cursor pd(md.bytes());
                            while (pd.next(field, wire)) {
                                if (field == 1 && wire == 2) plugin = pd.bytes();
                                else if (field == 2 && wire == 2) content = pd.bytes();
                                else pd.skip(wire);
                            }
                        }
                    } else {
                        v.skip(wire);
                    }
                }
                value(tag, plugin, content);
            }
        } else {
            ev.skip(wire);
        }
    }
    return e;
}

/// The largest step of any Summary event in the event files of these folders (`skip` aside), if any.
inline std::optional<std::int64_t> max_step_in(std::initializer_list<std::filesystem::path> dirs, std::string_view skip);

/// The highest step of each scalar tag in the event files of these folders (`skip` aside). Scalars are the
/// values without plugin metadata, of tags that never had any in their file (a text or image tag has its
/// metadata on its first value only).
inline std::map<std::string, std::int64_t> max_scalar_steps(std::initializer_list<std::filesystem::path> dirs,
                                                            std::string_view skip);

/// A whole file's bytes ("" when it cannot be read).
inline std::string read_whole_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::optional<std::int64_t> max_step_in(std::initializer_list<std::filesystem::path> dirs, std::string_view skip) {
    std::optional<std::int64_t> best;
    for (const auto& dir : dirs) {
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string n = it->path().filename().string();
            if (n.find("tfevents") == std::string::npos || n == skip) continue;
            for_each_record(read_whole_file(it->path()), [&](std::string_view payload) {
                const auto ev = read_event(payload, [](std::string_view, std::string_view, std::string_view) {});
                if (ev.summary && (!best || ev.step > *best)) best = ev.step;
            });
        }
    }
    return best;
}

inline std::map<std::string, std::int64_t> max_scalar_steps(std::initializer_list<std::filesystem::path> dirs,
                                                            std::string_view skip) {
    std::map<std::string, std::int64_t> out;
    for (const auto& dir : dirs) {
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string n = it->path().filename().string();
            if (n.find("tfevents") == std::string::npos || n == skip) continue;
            std::map<std::string, std::int64_t> steps;
            std::set<std::string, std::less<>> others;
            for_each_record(read_whole_file(it->path()), [&](std::string_view payload) {
                std::vector<std::string> tags;
                const auto ev = read_event(payload, [&](std::string_view tag, std::string_view plugin, std::string_view) {
                    if (plugin.empty()) tags.emplace_back(tag);
                    else others.emplace(tag);
                });
                for (auto& t : tags) {
                    auto [slot, fresh] = steps.try_emplace(std::move(t), ev.step);
                    if (!fresh && ev.step > slot->second) slot->second = ev.step;
                }
            });
            for (const auto& kv : steps) {
                if (others.count(kv.first)) continue;
                auto [slot, fresh] = out.try_emplace(kv.first, kv.second);
                if (!fresh && kv.second > slot->second) slot->second = kv.second;
            }
        }
    }
    return out;
}

}  // namespace tb
}  // namespace detail
MLTRACK_NAMESPACE_END
