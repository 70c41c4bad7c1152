// Why: scalars are nearly all a TensorBoard file holds, so their encoding is the sink's hot loop. Points of
// one step logged within 1 ms of each other (loss, lr and accuracy by separate calls) share one Event, which
// stays open at the end of the buffer so later points, even from later batches, can extend it; a lone point
// that starts an Event is built in one stack buffer and appended once. Both paths write the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "crc32c.hpp"
#include "format.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {
namespace tb {

/// The last scalar Event of a buffer, which later points of its step may extend. `time_ns` is its first
/// point's time (the Event's wall_time); `generation` the buffer's when it was written (a buffer written out
/// or moved invalidates it).
struct open_event {
    std::size_t record = 0, len_at = 0, values_at = 0, end = 0;
    std::uint64_t generation = ~0ull;
    std::int64_t step = 0, time_ns = 0;

    /// Whether a point at `step` and `time_ns` may go into this Event, `window_ns` being the most its points
    /// may lie from the first one.
    bool extends(const std::string& buf, std::uint64_t buffer_generation, std::int64_t at_step, std::int64_t at_ns,
                 std::int64_t window_ns) const noexcept {
        return generation == buffer_generation && end == buf.size() && step == at_step && within(at_ns, time_ns, window_ns);
    }

    static bool within(std::int64_t a, std::int64_t b, std::int64_t window_ns) noexcept {
        const auto d = a >= b ? static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b)
                              : static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a);
        return d < static_cast<std::uint64_t>(window_ns);
    }
};

/// Appends n scalars (tag(k) the k-th encoded tag `0a <len> tag`, value(k) its value) at `step` to `buf`:
/// into the open Event when `extend`, else as a new Event at `time_ns`. Returns the records added (0 or 1).
/// The caller reserves the buffer first, so nothing throws once the buffer is touched.
template <class Tag, class Value>
std::size_t append_scalars(std::string& buf, open_event& open, std::uint64_t generation, bool extend,
                           std::int64_t step, std::int64_t time_ns, std::size_t n, Tag&& tag, Value&& value) {
    std::size_t records = 0;
    const std::string& tag1 = tag(0);
    if (n == 1 && !extend && tag1.size() + 7 < 128) {
        // One point that starts an Event (later points may extend it): built in one stack buffer.
        char tmp[12 + 9 + 11 + 2 + 128 + 4];
        char* p = tmp + 12;
        *p++ = '\x09';  // Event.wall_time
        pb::put_fixed64(p, pb::double_bits(wall_seconds(time_ns)));
        p += 8;
        if (step != 0) {
            *p++ = '\x10';  // Event.step
            p = pb::put_varint(p, static_cast<std::uint64_t>(step));
        }
        *p++ = '\x2a';  // Event.summary
        const std::size_t len_off = static_cast<std::size_t>(p - tmp);
        *p++ = static_cast<char>(tag1.size() + 7);
        *p++ = '\x0a';  // Summary.value
        *p++ = static_cast<char>(tag1.size() + 5);
        std::memcpy(p, tag1.data(), tag1.size());
        p += tag1.size();
        *p++ = '\x15';  // simple_value
        pb::put_fixed32(p, pb::float_bits(static_cast<float>(value(0))));
        p += 4;
        const auto len = static_cast<std::size_t>(p - tmp - 12);
        pb::put_fixed64(tmp, len);
        pb::put_fixed32(tmp + 8, masked_crc32c(tmp, 8));
        pb::put_fixed32(p, masked_crc32c(tmp + 12, len));
        p += 4;
        open.record = buf.size();
        buf.append(tmp, static_cast<std::size_t>(p - tmp));
        open.len_at = open.record + len_off;
        open.values_at = open.len_at + 1;
        records = 1;
    } else {
        if (extend) {
            buf.resize(buf.size() - 4);  // the footer (CRC) is recomputed below
        } else {
            open.record = begin_record(buf);
            event_head(buf, wall_seconds(time_ns), step);
            buf += '\x2a';  // Event.summary
            open.len_at = buf.size();
            buf += '\0';
            open.values_at = buf.size();
            records = 1;
        }
        for (std::size_t k = 0; k < n; ++k) value_simple_encoded(buf, tag(k), static_cast<float>(value(k)));
        // The Summary's length: one byte until 128 bytes of values, then the values move right.
        const std::size_t body = buf.size() - open.values_at;
        const std::size_t have = open.values_at - open.len_at, need = pb::varint_size(body);
        if (need > have) {
            buf.insert(open.values_at, need - have, '\0');
            open.values_at = open.len_at + need;
        }
        pb::put_varint(&buf[open.len_at], body);
        end_record(buf, open.record);
    }
    open.end = buf.size();
    open.generation = generation;
    open.step = step;
    if (!extend) open.time_ns = time_ns;
    return records;
}

}  // namespace tb
}  // namespace detail
MLTRACK_NAMESPACE_END
