// Why: readers refuse lines longer than their limit (64 MiB by default, format.6), so a writer that produced
// one would make a whole run unreadable. The JSONL sink writes no line over the limit: a params, summary or
// tags record is split into several lines of the same kind and time (each key once; readers merge them as
// they merge separate calls), and a record that cannot be split (a huge classification matrix, artifact or
// run metadata) is not written at all, counted as lost and reported (io.18).
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "../../record.hpp"
#include "jsonl_format.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The longest line the JSONL sink writes, '\n' included: the readers' default max_line_bytes.
inline constexpr std::size_t jsonl_max_line_bytes = std::size_t{64} << 20;

namespace line_limit_impl {

template <class V>
std::pair<named_values<V>, named_values<V>> halves(const named_values<V>& v) {
    const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    return {named_values<V>(v.begin(), mid), named_values<V>(mid, v.end())};
}

/// A record's two halves (by keys), or false when it holds a single key.
inline bool split(const record& r, record& a, record& b) {
    a = record();
    b = record();
    a.kind = b.kind = r.kind;
    a.time_ns = b.time_ns = r.time_ns;
    a.step = b.step = r.step;
    if (r.kind == record_kind::params) {
        if (r.get_params().size() < 2) return false;
        auto h = halves(r.get_params());
        a.payload = std::move(h.first);
        b.payload = std::move(h.second);
        return true;
    }
    if (r.kind == record_kind::tags) {
        if (r.texts.size() < 2) return false;
        auto h = halves(r.texts);
        a.texts = std::move(h.first);
        b.texts = std::move(h.second);
        return true;
    }
    // summary: numbers, then texts, then one of each apart
    const auto& values = r.get_values();
    if (values.size() >= 2) {
        auto h = halves(values);
        a.payload = std::move(h.first);
        a.texts = r.texts;
        b.payload = std::move(h.second);
        return true;
    }
    if (r.texts.size() >= 2) {
        auto h = halves(r.texts);
        a.payload = values;
        a.texts = std::move(h.first);
        b.payload = named_values<double>();
        b.texts = std::move(h.second);
        return true;
    }
    if (values.size() == 1 && r.texts.size() == 1) {
        a.payload = values;
        b.payload = named_values<double>();
        b.texts = r.texts;
        return true;
    }
    return false;
}

}  // namespace line_limit_impl

/// Whether a record of this kind can be written as several lines (params, summary, tags).
inline bool splittable(record_kind k) {
    return k == record_kind::params || k == record_kind::summary || k == record_kind::tags;
}

/// Appends the record's line to `out` when it is at most `limit` bytes long; a longer params, summary or tags
/// record is appended as several lines, each within the limit. Returns the number of lines appended: 0 when
/// the record (or one of its keys alone) cannot fit, and then `out` is left as it was.
inline std::size_t append_record_lines(std::string& out, const record& r, std::size_t limit) {
    const std::size_t at = out.size();
    append_record_line(out, r);
    if (out.size() - at <= limit) return 1;
    out.resize(at);
    record a, b;
    if (!splittable(r.kind) || !line_limit_impl::split(r, a, b)) return 0;
    const std::size_t first = append_record_lines(out, a, limit);
    const std::size_t second = first ? append_record_lines(out, b, limit) : 0;
    if (first == 0 || second == 0) {
        out.resize(at);
        return 0;
    }
    return first + second;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
