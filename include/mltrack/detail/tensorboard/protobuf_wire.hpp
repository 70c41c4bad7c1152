// Why: the TensorBoard sink writes protobuf without libprotobuf. These are the few wire-format primitives it
// needs (varint, zigzag, fixed32/64, length-delimited fields, packed repeated fields), each appending to one
// reused std::string, so encoding an event allocates nothing beyond that buffer's growth. Integers are
// written byte by byte in little-endian order, never as native memory. Nested messages are written in place:
// the length is patched afterwards and the body moved only when the length needs more than one byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {
namespace pb {

/// The protobuf wire types this encoder uses.
enum class wire : std::uint32_t { varint = 0, i64 = 1, len = 2, i32 = 5 };

/// Bytes a varint of v takes (1..10).
constexpr std::size_t varint_size(std::uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

inline void append_varint(std::string& out, std::uint64_t v) {
    char tmp[10];
    std::size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = static_cast<char>(static_cast<unsigned char>(v | 0x80));
        v >>= 7;
    }
    tmp[n++] = static_cast<char>(static_cast<unsigned char>(v));
    out.append(tmp, n);
}

/// Writes a varint into exactly varint_size(v) bytes at p; returns the end.
inline char* put_varint(char* p, std::uint64_t v) noexcept {
    while (v >= 0x80) {
        *p++ = static_cast<char>(static_cast<unsigned char>(v | 0x80));
        v >>= 7;
    }
    *p++ = static_cast<char>(static_cast<unsigned char>(v));
    return p;
}

constexpr std::uint64_t zigzag64(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(-(static_cast<std::uint64_t>(v) >> 63));
}
constexpr std::uint32_t zigzag32(std::int32_t v) noexcept {
    return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(-(static_cast<std::uint32_t>(v) >> 31));
}

inline void put_fixed32(char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(static_cast<unsigned char>(v >> (8 * i)));
}
inline void put_fixed64(char* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(static_cast<unsigned char>(v >> (8 * i)));
}

inline std::uint32_t float_bits(float f) noexcept {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}
inline std::uint64_t double_bits(double d) noexcept {
    std::uint64_t u;
    std::memcpy(&u, &d, sizeof u);
    return u;
}

inline void append_fixed32(std::string& out, std::uint32_t v) {
    char tmp[4];
    put_fixed32(tmp, v);
    out.append(tmp, 4);
}
inline void append_fixed64(std::string& out, std::uint64_t v) {
    char tmp[8];
    put_fixed64(tmp, v);
    out.append(tmp, 8);
}

constexpr std::uint64_t make_key(std::uint32_t field, wire type) noexcept {
    return (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(type);
}

inline void append_key(std::string& out, std::uint32_t field, wire type) { append_varint(out, make_key(field, type)); }

// ---- scalar fields (always written: callers skip proto3 defaults themselves where that is allowed)

/// int32, int64, uint32, uint64, enum: a negative value takes 10 bytes (sign-extended to 64 bits).
inline void field_int(std::string& out, std::uint32_t field, std::int64_t v) {
    append_key(out, field, wire::varint);
    append_varint(out, static_cast<std::uint64_t>(v));
}
inline void field_uint(std::string& out, std::uint32_t field, std::uint64_t v) {
    append_key(out, field, wire::varint);
    append_varint(out, v);
}
/// sint32 / sint64 (zigzag).
inline void field_sint(std::string& out, std::uint32_t field, std::int64_t v) {
    append_key(out, field, wire::varint);
    append_varint(out, zigzag64(v));
}
inline void field_bool(std::string& out, std::uint32_t field, bool v) {
    append_key(out, field, wire::varint);
    out += static_cast<char>(v ? 1 : 0);
}
inline void field_float(std::string& out, std::uint32_t field, float v) {
    append_key(out, field, wire::i32);
    append_fixed32(out, float_bits(v));
}
inline void field_double(std::string& out, std::uint32_t field, double v) {
    append_key(out, field, wire::i64);
    append_fixed64(out, double_bits(v));
}
inline void field_fixed32(std::string& out, std::uint32_t field, std::uint32_t v) {
    append_key(out, field, wire::i32);
    append_fixed32(out, v);
}
inline void field_fixed64(std::string& out, std::uint32_t field, std::uint64_t v) {
    append_key(out, field, wire::i64);
    append_fixed64(out, v);
}
/// string / bytes / an already-serialized message.
inline void field_bytes(std::string& out, std::uint32_t field, std::string_view v) {
    append_key(out, field, wire::len);
    append_varint(out, v.size());
    out.append(v.data(), v.size());
}

// ---- packed repeated fields

inline void field_packed_float(std::string& out, std::uint32_t field, const float* v, std::size_t n) {
    append_key(out, field, wire::len);
    append_varint(out, 4 * n);
    const std::size_t at = out.size();
    out.resize(at + 4 * n);
    for (std::size_t i = 0; i < n; ++i) put_fixed32(&out[at + 4 * i], float_bits(v[i]));
}
inline void field_packed_double(std::string& out, std::uint32_t field, const double* v, std::size_t n) {
    append_key(out, field, wire::len);
    append_varint(out, 8 * n);
    const std::size_t at = out.size();
    out.resize(at + 8 * n);
    for (std::size_t i = 0; i < n; ++i) put_fixed64(&out[at + 8 * i], double_bits(v[i]));
}
/// Packed int32/int64/uint32/uint64/enum/bool values (negative ones take 10 bytes each).
template <class Int>
void field_packed_varint(std::string& out, std::uint32_t field, const Int* v, std::size_t n) {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < n; ++i) bytes += varint_size(static_cast<std::uint64_t>(v[i]));
    append_key(out, field, wire::len);
    append_varint(out, bytes);
    for (std::size_t i = 0; i < n; ++i) append_varint(out, static_cast<std::uint64_t>(v[i]));
}
/// Packed sint32/sint64 values (zigzag).
inline void field_packed_sint(std::string& out, std::uint32_t field, const std::int64_t* v, std::size_t n) {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < n; ++i) bytes += varint_size(zigzag64(v[i]));
    append_key(out, field, wire::len);
    append_varint(out, bytes);
    for (std::size_t i = 0; i < n; ++i) append_varint(out, zigzag64(v[i]));
}

// ---- nested messages written in place

/// Opens a length-delimited field whose body the caller appends next; end() patches the length. One byte
/// is reserved for the length, so bodies under 128 bytes are never moved.
///
///   auto m = pb::nested::begin(buf, 5);  ... append the body ...  m.end(buf);
class nested {
public:
    static nested begin(std::string& out, std::uint32_t field) {
        append_key(out, field, wire::len);
        out += '\0';
        return nested(out.size());
    }
    /// Patches the length; returns the body's size.
    std::size_t end(std::string& out) const {
        const std::size_t body = out.size() - start_;
        const std::size_t n = varint_size(body);
        if (n > 1) {
            out.insert(start_, n - 1, '\0');  // moves the body right; rare (bodies of 128 bytes or more)
        }
        put_varint(&out[start_ - 1], body);
        return body;
    }

private:
    explicit nested(std::size_t start) : start_(start) {}
    std::size_t start_;  ///< offset of the body (the length byte is just before it)
};

}  // namespace pb
}  // namespace detail
MLTRACK_NAMESPACE_END
