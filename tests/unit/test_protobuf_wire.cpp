// detail/tensorboard/protobuf_wire.hpp: varints, zigzag, little-endian fixed fields, keys of high field numbers, packed
// fields and nested messages whose length needs more bytes, checked as bytes and through the tests'
// independent protobuf parser.
#include <mltrack/detail/tensorboard/protobuf_wire.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "support/tb_decoder.hpp"
#include "unit_support.hpp"

using namespace mltrack::detail;

namespace {
std::string hex(const std::string& s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        if (!out.empty()) out += ' ';
        out += d[c >> 4];
        out += d[c & 15];
    }
    return out;
}
std::string varint(std::uint64_t v) {
    std::string s;
    pb::append_varint(s, v);
    return s;
}
}  // namespace

TEST_CASE("protobuf_wire: varints") {
    CHECK(hex(varint(0)) == "00");
    CHECK(hex(varint(1)) == "01");
    CHECK(hex(varint(127)) == "7f");
    CHECK(hex(varint(128)) == "80 01");
    CHECK(hex(varint(300)) == "ac 02");
    CHECK(hex(varint(16383)) == "ff 7f");
    CHECK(hex(varint(16384)) == "80 80 01");
    CHECK(hex(varint(std::numeric_limits<std::uint64_t>::max())) == "ff ff ff ff ff ff ff ff ff 01");
    for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 1ull << 35, 1ull << 63, ~0ull}) {
        CHECK(varint(v).size() == pb::varint_size(v));
        std::size_t at = 0;
        CHECK(tbdec::message::varint(varint(v), at) == v);
    }
}

TEST_CASE("protobuf_wire: int64 fields, negative values take 10 bytes") {
    std::string s;
    pb::field_int(s, 2, -1);
    CHECK(hex(s) == "10 ff ff ff ff ff ff ff ff ff 01");
    s.clear();
    pb::field_int(s, 2, 42);
    CHECK(hex(s) == "10 2a");
    s.clear();
    pb::field_int(s, 2, (std::int64_t{1} << 31) + 5);
    const auto m = tbdec::message::parse(s);
    CHECK(m.int64(2) == (std::int64_t{1} << 31) + 5);
    s.clear();
    pb::field_int(s, 2, std::numeric_limits<std::int64_t>::min());
    CHECK(tbdec::message::parse(s).int64(2) == std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("protobuf_wire: zigzag") {
    CHECK(pb::zigzag64(0) == 0u);
    CHECK(pb::zigzag64(-1) == 1u);
    CHECK(pb::zigzag64(1) == 2u);
    CHECK(pb::zigzag64(-2) == 3u);
    CHECK(pb::zigzag64(std::numeric_limits<std::int64_t>::max()) == ~0ull - 1);
    CHECK(pb::zigzag64(std::numeric_limits<std::int64_t>::min()) == ~0ull);
    CHECK(pb::zigzag32(-1) == 1u);
    CHECK(pb::zigzag32(std::numeric_limits<std::int32_t>::min()) == 0xffffffffu);
    std::string s;
    pb::field_sint(s, 1, -3);
    CHECK(hex(s) == "08 05");
}

TEST_CASE("protobuf_wire: fixed fields are little-endian, keys of high field numbers take two bytes") {
    std::string s;
    pb::field_double(s, 1, 1700000000.5);
    CHECK(hex(s) == "09 00 00 20 40 fc 54 d9 41");
    s.clear();
    pb::field_float(s, 2, 0.25f);
    CHECK(hex(s) == "15 00 00 80 3e");
    s.clear();
    pb::field_float(s, 2, 0.0f);  // a oneof member: written even when zero
    CHECK(hex(s) == "15 00 00 00 00");
    s.clear();
    pb::field_fixed32(s, 3, 0x01020304u);
    pb::field_fixed64(s, 4, 0x0102030405060708ull);
    CHECK(hex(s) == "1d 04 03 02 01 21 08 07 06 05 04 03 02 01");
    s.clear();
    pb::field_uint(s, 16, 7);  // uint32_val = 16
    CHECK(hex(s) == "80 01 07");
    s.clear();
    pb::append_key(s, 17, pb::wire::len);
    CHECK(hex(s) == "8a 01");
    s.clear();
    pb::field_bool(s, 4, false);
    CHECK(hex(s) == "20 00");
    s.clear();
    pb::field_bytes(s, 1, "loss");
    CHECK(hex(s) == "0a 04 6c 6f 73 73");
    s.clear();
    pb::field_bytes(s, 1, "");
    CHECK(hex(s) == "0a 00");
}

TEST_CASE("protobuf_wire: packed repeated fields") {
    std::string s;
    const float f[] = {0.75f, -1.0f};
    pb::field_packed_float(s, 5, f, 2);
    CHECK(hex(s) == "2a 08 00 00 40 3f 00 00 80 bf");
    s.clear();
    const double d[] = {1.0};
    pb::field_packed_double(s, 6, d, 1);
    CHECK(hex(s) == "32 08 00 00 00 00 00 00 f0 3f");
    s.clear();
    const std::int64_t v[] = {1, 300, -1};
    pb::field_packed_varint(s, 10, v, 3);
    CHECK(hex(s) == "52 0d 01 ac 02 ff ff ff ff ff ff ff ff ff 01");
    s.clear();
    pb::field_packed_sint(s, 1, v, 3);
    CHECK(hex(s) == "0a 04 02 d8 04 01");
    s.clear();
    pb::field_packed_float(s, 5, f, 0);
    CHECK(hex(s) == "2a 00");
}

TEST_CASE("protobuf_wire: nested messages of every length class") {
    for (std::size_t body : {0u, 1u, 126u, 127u, 128u, 129u, 16383u, 16384u, 70000u, 2100000u}) {
        CAPTURE(body);
        std::string s = "prefix";
        auto m = pb::nested::begin(s, 5);
        s.append(body, 'x');
        CHECK(m.end(s) == body);
        CHECK(s.size() == 6 + 1 + pb::varint_size(body) + body);
        const auto msg = tbdec::message::parse(std::string_view(s).substr(6));
        REQUIRE(msg.fields.size() == 1);
        CHECK(msg.fields[0].number == 5);
        CHECK(msg.fields[0].bytes == std::string(body, 'x'));
    }
}

TEST_CASE("protobuf_wire: nested inside nested, inner growing past one length byte") {
    std::string s;
    auto outer = pb::nested::begin(s, 1);
    pb::field_int(s, 1, 9);
    auto inner = pb::nested::begin(s, 2);
    pb::field_bytes(s, 1, std::string(200, 'a'));
    inner.end(s);
    pb::field_int(s, 3, 11);
    outer.end(s);
    const auto o = tbdec::message::parse(s).sub(1);
    CHECK(o.int64(1) == 9);
    CHECK(o.sub(2).str(1) == std::string(200, 'a'));
    CHECK(o.int64(3) == 11);
}
