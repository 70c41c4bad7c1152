// An independent reader of TensorBoard event files, written from the format spec (shared specs,
// tensorboard.md, sections 2-6), for the tests. It shares no code with the writer: its own CRC32C table
// (built at run time, byte at a time, as TensorBoard's pure-Python reader does), its own varint and
// little-endian parsing, its own message layouts. It reads TFRecord framing with both CRCs, Event,
// Summary.Value, SummaryMetadata, TensorProto, the hparams plugin protos and the PR-curve plugin data, and
// reports a torn tail or a bad CRC the way TensorBoard's readers do (stop there, keep what came before).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tbdec {

// ------------------------------------------------------------------------------------------- CRC32C

inline std::uint32_t crc32c(std::string_view data) {
    static const std::vector<std::uint32_t> table = [] {
        std::vector<std::uint32_t> t(256);
        const std::uint32_t poly = 0x82F63B78u;  // Castagnoli, reflected
        for (std::uint32_t n = 0; n < 256; ++n) {
            std::uint32_t c = n;
            for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? poly : 0u);
            t[n] = c;
        }
        return t;
    }();
    std::uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char b : data) crc = table[(crc ^ b) & 0xFFu] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

inline std::uint32_t masked(std::uint32_t crc) {
    const std::uint32_t rotated = (crc >> 15) | (crc << 17);
    return rotated + 0xA282EAD8u;
}

inline std::uint32_t unmask(std::uint32_t m) {
    const std::uint32_t rot = m - 0xA282EAD8u;
    return (rot >> 17) | (rot << 15);
}

inline std::uint64_t read_le(std::string_view s, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
    return v;
}

// ------------------------------------------------------------------------------------------- framing

enum class stop { end, truncated, bad_length_crc, bad_data_crc };

struct frames {
    std::vector<std::string> payloads;
    std::vector<std::size_t> offsets;  ///< where each record starts
    stop how = stop::end;
    std::size_t stopped_at = 0;  ///< offset of the record that could not be read (== size when how == end)
};

/// Splits a file into TFRecord payloads, checking the length CRC and the data CRC of each.
inline frames read_frames(std::string_view file) {
    frames out;
    std::size_t at = 0;
    while (true) {
        out.stopped_at = at;
        if (at == file.size()) {
            out.how = stop::end;
            return out;
        }
        if (file.size() - at < 12) {
            out.how = stop::truncated;
            return out;
        }
        const std::uint64_t len = read_le(file, at, 8);
        const auto len_crc = static_cast<std::uint32_t>(read_le(file, at + 8, 4));
        if (masked(crc32c(file.substr(at, 8))) != len_crc) {
            out.how = stop::bad_length_crc;
            return out;
        }
        if (file.size() - at - 12 < len + 4) {
            out.how = stop::truncated;
            return out;
        }
        const std::string_view payload = file.substr(at + 12, static_cast<std::size_t>(len));
        const auto data_crc = static_cast<std::uint32_t>(read_le(file, at + 12 + static_cast<std::size_t>(len), 4));
        if (masked(crc32c(payload)) != data_crc) {
            out.how = stop::bad_data_crc;
            return out;
        }
        out.payloads.emplace_back(payload);
        out.offsets.push_back(at);
        at += 12 + static_cast<std::size_t>(len) + 4;
    }
}

// ------------------------------------------------------------------------------------------- protobuf

struct field {
    std::uint32_t number = 0;
    int wire = 0;            ///< 0 varint, 1 i64, 2 len, 5 i32
    std::uint64_t num = 0;   ///< varint, i64 and i32 values
    std::string bytes;       ///< len values
};

/// A parsed message: its fields in wire order. Throws std::runtime_error on malformed bytes.
struct message {
    std::vector<field> fields;

    static std::uint64_t varint(std::string_view s, std::size_t& at) {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (at >= s.size()) throw std::runtime_error("varint runs past the end");
            const auto b = static_cast<unsigned char>(s[at++]);
            if (shift == 63 && (b & 0x7e)) throw std::runtime_error("varint overflows 64 bits");
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        throw std::runtime_error("varint longer than 10 bytes");
    }

    static message parse(std::string_view s) {
        message m;
        std::size_t at = 0;
        while (at < s.size()) {
            field f;
            const std::uint64_t key = varint(s, at);
            f.number = static_cast<std::uint32_t>(key >> 3);
            f.wire = static_cast<int>(key & 7);
            if (f.number == 0) throw std::runtime_error("field number 0");
            switch (f.wire) {
                case 0: f.num = varint(s, at); break;
                case 1:
                    if (s.size() - at < 8) throw std::runtime_error("fixed64 runs past the end");
                    f.num = read_le(s, at, 8);
                    at += 8;
                    break;
                case 5:
                    if (s.size() - at < 4) throw std::runtime_error("fixed32 runs past the end");
                    f.num = read_le(s, at, 4);
                    at += 4;
                    break;
                case 2: {
                    const std::uint64_t n = varint(s, at);
                    if (n > s.size() - at) throw std::runtime_error("length-delimited field runs past the end");
                    f.bytes.assign(s.substr(at, static_cast<std::size_t>(n)));
                    at += static_cast<std::size_t>(n);
                    break;
                }
                default: throw std::runtime_error("unsupported wire type " + std::to_string(f.wire));
            }
            m.fields.push_back(std::move(f));
        }
        return m;
    }

    const field* find(std::uint32_t n) const {
        const field* last = nullptr;  // protobuf: the last occurrence of a singular field wins
        for (const auto& f : fields)
            if (f.number == n) last = &f;
        return last;
    }
    std::vector<const field*> all(std::uint32_t n) const {
        std::vector<const field*> v;
        for (const auto& f : fields)
            if (f.number == n) v.push_back(&f);
        return v;
    }
    bool has(std::uint32_t n) const { return find(n) != nullptr; }
    std::int64_t int64(std::uint32_t n) const {
        const field* f = find(n);
        if (!f) return 0;
        if (f->wire != 0) throw std::runtime_error("field " + std::to_string(n) + " is not a varint");
        return static_cast<std::int64_t>(f->num);
    }
    double f64(std::uint32_t n) const {
        const field* f = find(n);
        if (!f) return 0.0;
        if (f->wire != 1) throw std::runtime_error("field " + std::to_string(n) + " is not a fixed64");
        double d;
        std::memcpy(&d, &f->num, 8);
        return d;
    }
    float f32(std::uint32_t n) const {
        const field* f = find(n);
        if (!f) return 0.0f;
        if (f->wire != 5) throw std::runtime_error("field " + std::to_string(n) + " is not a fixed32");
        const auto u = static_cast<std::uint32_t>(f->num);
        float x;
        std::memcpy(&x, &u, 4);
        return x;
    }
    std::string str(std::uint32_t n) const {
        const field* f = find(n);
        if (!f) return {};
        if (f->wire != 2) throw std::runtime_error("field " + std::to_string(n) + " is not length-delimited");
        return f->bytes;
    }
    message sub(std::uint32_t n) const { return parse(str(n)); }
};

inline float as_float(std::uint32_t u) {
    float x;
    std::memcpy(&x, &u, 4);
    return x;
}
inline double as_double(std::uint64_t u) {
    double x;
    std::memcpy(&x, &u, 8);
    return x;
}

// ------------------------------------------------------------------------------------------- tensors

struct tensor {
    std::int64_t dtype = 0;  ///< 1 DT_FLOAT, 2 DT_DOUBLE, 7 DT_STRING
    bool has_shape = false;
    std::vector<std::int64_t> shape;
    std::string content;  ///< tensor_content
    std::vector<float> float_val;
    std::vector<double> double_val;
    std::vector<std::string> string_val;

    std::int64_t elements() const {
        std::int64_t n = 1;
        for (auto d : shape) n *= d;
        return n;
    }

    /// The numbers, as make_ndarray reads them: tensor_content when non-empty, else the typed list
    /// (a single value broadcast to the shape).
    std::vector<double> numbers() const {
        std::vector<double> v;
        if (!content.empty()) {
            const std::size_t w = dtype == 2 ? 8 : 4;
            if (content.size() % w) throw std::runtime_error("tensor_content is not a whole number of elements");
            for (std::size_t i = 0; i < content.size(); i += w)
                v.push_back(w == 8 ? as_double(read_le(content, i, 8))
                                   : static_cast<double>(as_float(static_cast<std::uint32_t>(read_le(content, i, 4)))));
        } else if (dtype == 1) {
            for (float f : float_val) v.push_back(f);
        } else if (dtype == 2) {
            v = double_val;
        }
        if (v.size() == 1 && elements() > 1) v.assign(static_cast<std::size_t>(elements()), v[0]);
        return v;
    }
};

/// Packed (or unpacked) repeated fixed-width values.
template <class T>
void read_repeated_fixed(const message& m, std::uint32_t n, int width, std::vector<T>& out) {
    for (const field* f : m.all(n)) {
        if (f->wire == 2) {
            if (f->bytes.size() % static_cast<std::size_t>(width)) throw std::runtime_error("packed field size");
            for (std::size_t i = 0; i < f->bytes.size(); i += static_cast<std::size_t>(width)) {
                if (width == 4) out.push_back(static_cast<T>(as_float(static_cast<std::uint32_t>(read_le(f->bytes, i, 4)))));
                else out.push_back(static_cast<T>(as_double(read_le(f->bytes, i, 8))));
            }
        } else if ((width == 4 && f->wire == 5) || (width == 8 && f->wire == 1)) {
            if (width == 4) out.push_back(static_cast<T>(as_float(static_cast<std::uint32_t>(f->num))));
            else out.push_back(static_cast<T>(as_double(f->num)));
        } else {
            throw std::runtime_error("repeated field " + std::to_string(n) + " has the wrong wire type");
        }
    }
}

inline tensor parse_tensor(const std::string& bytes) {
    const message m = message::parse(bytes);
    tensor t;
    t.dtype = m.int64(1);
    if (m.has(2)) {
        t.has_shape = true;
        const message shape = m.sub(2);
        for (const field* d : shape.all(2)) t.shape.push_back(message::parse(d->bytes).int64(1));
    }
    t.content = m.str(4);
    read_repeated_fixed(m, 5, 4, t.float_val);
    read_repeated_fixed(m, 6, 8, t.double_val);
    for (const field* f : m.all(8)) {
        if (f->wire != 2) throw std::runtime_error("string_val with the wrong wire type");
        t.string_val.push_back(f->bytes);
    }
    return t;
}

// ------------------------------------------------------------------------------------------- events

struct value {
    std::string tag;
    bool has_simple = false;
    float simple = 0.0f;
    bool has_tensor = false;
    tensor t;
    bool has_metadata = false;
    std::string plugin;   ///< metadata.plugin_data.plugin_name
    std::string content;  ///< metadata.plugin_data.content
    std::int64_t data_class = 0;
    bool has_histo = false;  ///< the legacy form (not written by the sink, but decoded)
    bool has_image = false;
};

struct event {
    double wall_time = 0.0;
    std::int64_t step = 0;
    bool has_file_version = false;
    std::string file_version;
    std::string writer;  ///< source_metadata.writer
    bool has_summary = false;
    std::vector<value> values;
    bool has_session_log = false;
    std::int64_t session_status = 0;  ///< 1 START
    std::size_t offset = 0;           ///< where the record starts in the file
    std::size_t payload_size = 0;
};

inline value parse_value(const std::string& bytes) {
    const message m = message::parse(bytes);
    value v;
    v.tag = m.str(1);
    if (const field* f = m.find(2)) {
        if (f->wire != 5) throw std::runtime_error("simple_value is not a fixed32");
        v.has_simple = true;
        v.simple = m.f32(2);
    }
    v.has_image = m.has(4);
    v.has_histo = m.has(5);
    if (m.has(8)) {
        v.has_tensor = true;
        v.t = parse_tensor(m.str(8));
    }
    if (m.has(9)) {
        v.has_metadata = true;
        const message md = m.sub(9);
        v.data_class = md.int64(4);
        if (md.has(1)) {
            const message pd = md.sub(1);
            v.plugin = pd.str(1);
            v.content = pd.str(2);
        }
    }
    return v;
}

inline event parse_event(const std::string& payload) {
    const message m = message::parse(payload);
    event e;
    e.payload_size = payload.size();
    e.wall_time = m.f64(1);
    e.step = m.int64(2);
    if (m.has(3)) {
        e.has_file_version = true;
        e.file_version = m.str(3);
    }
    if (m.has(5)) {
        e.has_summary = true;
        const message s = m.sub(5);
        for (const field* f : s.all(1)) e.values.push_back(parse_value(f->bytes));
    }
    if (m.has(7)) {
        e.has_session_log = true;
        e.session_status = m.sub(7).int64(1);
    }
    if (m.has(10)) e.writer = m.sub(10).str(1);
    return e;
}

struct file {
    std::vector<event> events;
    stop how = stop::end;
    std::size_t stopped_at = 0;
    std::size_t size = 0;
};

/// Decodes every complete record; stops (keeping what came before) at a torn or CRC-bad record. A record
/// with valid CRCs that does not parse throws.
inline file decode(std::string_view bytes) {
    const frames fr = read_frames(bytes);
    file out;
    out.how = fr.how;
    out.stopped_at = fr.stopped_at;
    out.size = bytes.size();
    for (std::size_t i = 0; i < fr.payloads.size(); ++i) {
        event e = parse_event(fr.payloads[i]);
        e.offset = fr.offsets[i];
        out.events.push_back(std::move(e));
    }
    return out;
}

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline file decode_file(const std::string& path) { return decode(slurp(path)); }

// ------------------------------------------------------------------------------------------- hparams

/// google.protobuf.Value: which member is set, and its value.
struct hp_value {
    enum kind_t { none, null_value, number, string, boolean, other } kind = none;
    double number_value = 0.0;
    std::string string_value;
    bool bool_value = false;
};

inline hp_value parse_hp_value(const std::string& bytes) {
    const message m = message::parse(bytes);
    hp_value v;
    if (m.has(2)) {
        v.kind = hp_value::number;
        v.number_value = m.f64(2);
    } else if (m.has(3)) {
        v.kind = hp_value::string;
        v.string_value = m.str(3);
    } else if (m.has(4)) {
        v.kind = hp_value::boolean;
        v.bool_value = m.int64(4) != 0;
    } else if (m.has(1)) {
        v.kind = hp_value::null_value;
    } else if (m.has(5) || m.has(6)) {
        v.kind = hp_value::other;
    }
    return v;
}

struct session_start {
    std::map<std::string, hp_value> hparams;
    std::string group_name;
    double start_time_secs = 0.0;
};

struct session_end {
    std::int64_t status = 0;  ///< 0 unknown, 1 success, 2 failure, 3 running
    double end_time_secs = 0.0;
};

struct hparam_info {
    std::string name;
    std::int64_t type = 0;
    bool has_interval = false;
    double min_value = 0.0, max_value = 0.0;
    std::vector<hp_value> discrete;
};

struct metric_info {
    std::string group;
    std::string tag;
    std::int64_t dataset_type = 0;
};

struct experiment {
    std::string name;
    std::string description;
    std::vector<hparam_info> hparams;
    std::vector<metric_info> metrics;
};

/// HParamsPluginData: which oneof member is set (2 experiment, 3 session_start_info, 4 session_end_info).
inline int hparams_kind(const std::string& content) {
    const message m = message::parse(content);
    if (m.int64(1) != 0) throw std::runtime_error("HParamsPluginData.version must be 0");
    if (m.has(2)) return 2;
    if (m.has(3)) return 3;
    if (m.has(4)) return 4;
    return 0;
}

inline session_start parse_session_start(const std::string& content) {
    const message info = message::parse(content).sub(3);
    session_start s;
    for (const field* f : info.all(1)) {
        const message entry = message::parse(f->bytes);
        s.hparams[entry.str(1)] = parse_hp_value(entry.str(2));
    }
    s.group_name = info.str(4);
    s.start_time_secs = info.f64(5);
    return s;
}

inline session_end parse_session_end(const std::string& content) {
    const message info = message::parse(content).sub(4);
    return session_end{info.int64(1), info.f64(2)};
}

inline experiment parse_experiment(const std::string& content) {
    const message x = message::parse(content).sub(2);
    experiment e;
    e.description = x.str(1);
    e.name = x.str(6);
    for (const field* f : x.all(4)) {
        const message h = message::parse(f->bytes);
        hparam_info hi;
        hi.name = h.str(1);
        hi.type = h.int64(4);
        if (h.has(6)) {
            hi.has_interval = true;
            const message iv = h.sub(6);
            hi.min_value = iv.f64(1);
            hi.max_value = iv.f64(2);
        }
        if (h.has(5)) {
            const message list = h.sub(5);
            for (const field* v : list.all(1)) hi.discrete.push_back(parse_hp_value(v->bytes));
        }
        e.hparams.push_back(std::move(hi));
    }
    for (const field* f : x.all(5)) {
        const message mi = message::parse(f->bytes);
        const message name = mi.sub(1);
        e.metrics.push_back(metric_info{name.str(1), name.str(2), mi.int64(5)});
    }
    return e;
}

/// PrCurvePluginData.num_thresholds.
inline std::int64_t pr_num_thresholds(const std::string& content) { return message::parse(content).int64(2); }

}  // namespace tbdec
