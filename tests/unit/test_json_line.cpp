// detail/jsonl/json_line.hpp: hand-formatted JSON pieces, checked by parsing them back with nlohmann::json.
#include <mltrack/detail/jsonl/json_line.hpp>
#include <mltrack/names.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack::detail;

namespace {
std::string str(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}
std::string dbl(double v) {
    std::string out;
    append_double(out, v);
    return out;
}
std::string flt(double v) {
    std::string out;
    append_float(out, v);
    return out;
}
std::string tstr(std::int64_t ns) {
    std::string out;
    append_time(out, ns);
    return out;
}
std::uint64_t bits(double v) {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}
/// Parses a value the way mltrack's reader does: numbers, or the three non-finite strings.
double read_double(const std::string& text) {
    const auto j = nlohmann::json::parse(text);
    if (j.is_string()) {
        if (j == "NaN") return std::nan("");
        if (j == "Infinity") return HUGE_VAL;
        if (j == "-Infinity") return -HUGE_VAL;
        FAIL("unexpected string " << text);
    }
    REQUIRE(j.is_number());
    return j.get<double>();
}
}  // namespace

TEST_CASE("strings: quotes, backslashes and control characters are escaped") {
    CHECK(str("") == "\"\"");
    CHECK(str("abc") == "\"abc\"");
    CHECK(str("a\"b") == "\"a\\\"b\"");
    CHECK(str("a\\b") == "\"a\\\\b\"");
    CHECK(str("\n\r\t") == "\"\\n\\r\\t\"");
    CHECK(str(std::string("\0", 1)) == "\"\\u0000\"");
    CHECK(str("\x01\x1f\x7f") == "\"\\u0001\\u001f\\u007f\"");
    CHECK(str("\b\f") == "\"\\u0008\\u000c\"");
    CHECK(str("/") == "\"/\"");
    // every byte below 0x80, alone, round-trips through nlohmann
    for (int c = 0; c < 0x80; ++c) {
        const std::string s(1, static_cast<char>(c));
        CAPTURE(c);
        const auto j = nlohmann::json::parse(str(s));
        CHECK(j.get<std::string>() == s);
    }
}

TEST_CASE("strings: UTF-8 passes through unchanged") {
    for (const std::string& s : {std::string("caf\xc3\xa9"), std::string("\xe6\x97\xa5\xe6\x9c\xac"),
                                std::string("\xf0\x9f\x98\x80 ok"), std::string("\xef\xbf\xbf"),
                                std::string("\xf4\x8f\xbf\xbf")}) {
        const auto out = str(s);
        CHECK(out == "\"" + s + "\"");
        CHECK(nlohmann::json::parse(out).get<std::string>() == s);
    }
}

TEST_CASE("strings: invalid UTF-8 never makes an invalid JSON line") {
    // Free-form text (param string values, artifact sources, frameworks) is not validated as UTF-8; the
    // line must still parse, with each invalid sequence replaced by U+FFFD.
    for (const std::string& s : {std::string("\xff"), std::string("a\xc3"), std::string("\xc0\xaf"),
                                std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                                std::string("x\x80y"), std::string("\xe6\x97")}) {
        CAPTURE(mltrack::detail::printable(s));
        const auto out = str(s);
        nlohmann::json j;
        REQUIRE_NOTHROW(j = nlohmann::json::parse(out));
        CHECK(j.get<std::string>().find("\xef\xbf\xbd") != std::string::npos);
    }
    CHECK(nlohmann::json::parse(str("x\x80y")).get<std::string>() == "x\xef\xbf\xbdy");
    // random bytes: always one valid JSON string
    std::mt19937 rng(42);
    for (int i = 0; i < 2000; ++i) {
        std::string s(rng() % 16, '\0');
        for (auto& c : s) c = static_cast<char>(rng());
        const auto out = str(s);
        CHECK(nlohmann::json::accept(out));
    }
}

TEST_CASE("integers") {
    std::string out;
    append_int(out, std::numeric_limits<std::int64_t>::min());
    out += ' ';
    append_int(out, std::numeric_limits<std::int64_t>::max());
    out += ' ';
    append_uint(out, std::numeric_limits<std::uint64_t>::max());
    out += ' ';
    append_int(out, 0);
    CHECK(out == "-9223372036854775808 9223372036854775807 18446744073709551615 0");
}

TEST_CASE("doubles: shortest round-trip form") {
    CHECK(dbl(0.1) == "0.1");
    CHECK(dbl(1.0) == "1");
    CHECK(dbl(0.0) == "0");
    CHECK(dbl(1e300) == "1e+300");
    CHECK(dbl(-2.5) == "-2.5");
    CHECK(dbl(5e-324) == "5e-324");
    CHECK(dbl(0.30000000000000004) == "0.30000000000000004");
    CHECK(dbl(std::numeric_limits<double>::max()) == "1.7976931348623157e+308");
    std::mt19937_64 rng(1);
    for (int i = 0; i < 20000; ++i) {
        std::uint64_t b = rng();
        double v;
        std::memcpy(&v, &b, sizeof v);
        if (!std::isfinite(v)) continue;
        const auto text = dbl(v);
        CAPTURE(text);
        CHECK(bits(read_double(text)) == bits(v));
    }
}

TEST_CASE("doubles: -0.0 and subnormals round-trip bit for bit") {
    for (double v : {-0.0, 0.0, 5e-324, -5e-324, 2.2250738585072009e-308, std::numeric_limits<double>::min(),
                     std::numeric_limits<double>::denorm_min() * 12345, -std::numeric_limits<double>::max(),
                     9007199254740993.0, 18446744073709551616.0, -9223372036854775808.0, 1e22, 123.0}) {
        const auto text = dbl(v);
        CAPTURE(text);
        CHECK(bits(read_double(text)) == bits(v));
        const auto ftext = flt(v);
        CAPTURE(ftext);
        const auto j = nlohmann::json::parse(ftext);
        CHECK(j.is_number_float());
        CHECK(bits(j.get<double>()) == bits(v));
    }
}

TEST_CASE("doubles: NaN and infinities become proto3 JSON strings") {
    CHECK(dbl(std::nan("")) == "\"NaN\"");
    CHECK(dbl(-std::nan("")) == "\"NaN\"");
    CHECK(dbl(HUGE_VAL) == "\"Infinity\"");
    CHECK(dbl(-HUGE_VAL) == "\"-Infinity\"");
    CHECK(std::isnan(read_double(dbl(std::numeric_limits<double>::quiet_NaN()))));
    CHECK(read_double(dbl(HUGE_VAL)) == HUGE_VAL);
    CHECK(read_double(dbl(-HUGE_VAL)) == -HUGE_VAL);
    CHECK(flt(std::nan("")) == "\"NaN\"");
    CHECK(flt(-HUGE_VAL) == "\"-Infinity\"");
}

TEST_CASE("append_float always reads back as a float") {
    CHECK(flt(1.0) == "1.0");
    CHECK(flt(0.0) == "0.0");
    CHECK(flt(-3.0) == "-3.0");
    CHECK(flt(64.0) == "64.0");
    CHECK(flt(0.01) == "0.01");
    CHECK(flt(1e300) == "1e+300");
    CHECK(flt(1e21) == "1e+21");
    for (double v : {1.0, 0.0, -3.0, 64.0, 1e15, 1e16, 123456789.0, 0.5}) {
        CAPTURE(v);
        const auto j = nlohmann::json::parse(flt(v));
        CHECK(j.is_number_float());
        CHECK(j.get<double>() == v);
    }
    std::string out = "prefix 1 ";  // an 'e' or '.' before the value does not count
    append_float(out, 2.0);
    CHECK(out == "prefix 1 2.0");
    std::string out2 = "e";
    append_float(out2, 7.0);
    CHECK(out2 == "e7.0");
}

TEST_CASE("time: seconds with exactly six decimals") {
    CHECK(tstr(0) == "0.000000");
    CHECK(tstr(1764384000123456789) == "1764384000.123456");
    CHECK(tstr(1764384000000000000) == "1764384000.000000");
    CHECK(tstr(1000) == "0.000001");
    CHECK(tstr(999) == "0.000000");  // below a microsecond: truncated toward -infinity
    CHECK(tstr(1) == "0.000000");
    CHECK(tstr(std::numeric_limits<std::int64_t>::max()) == "9223372036.854775");
}

TEST_CASE("time: negative times read back as the same number") {
    CHECK(tstr(-1000) == "-0.000001");
    CHECK(tstr(-1500000000) == "-1.500000");
    CHECK(tstr(-1000000000) == "-1.000000");
    CHECK(tstr(-1) == "-0.000001");  // floor to the microsecond below
    CHECK(tstr(-999999999) == "-1.000000");
    CHECK(tstr(-1764384000123456000) == "-1764384000.123456");
    CHECK(tstr(std::numeric_limits<std::int64_t>::min()) == "-9223372036.854776");
    // the text, read as a number, is floor(t / 1 us) microseconds
    std::mt19937_64 rng(3);
    for (int i = 0; i < 20000; ++i) {
        const auto t = static_cast<std::int64_t>(rng() % 4000000000000000000ull) - 2000000000000000000ll;
        std::int64_t us = t / 1000;
        if (t < 0 && t % 1000) --us;
        const auto text = tstr(t);
        CAPTURE(t);
        CAPTURE(text);
        const auto j = nlohmann::json::parse(text);
        CHECK(std::llround(j.get<double>() * 1e6) == us);
        const auto dot = text.find('.');
        REQUIRE(dot != std::string::npos);
        CHECK(text.size() - dot - 1 == 6);
    }
}

TEST_CASE("write_time and write_double (the JSONL sink's buffer path) give append_time's and append_double's bytes") {
    std::mt19937_64 rng(7);
    std::vector<double> values{0.0, -0.0, 1.0, -1.5, 1e-320, 1.7976931348623157e308, std::nan(""), HUGE_VAL,
                               -HUGE_VAL, 0.1, 1e21, 123456789.125};
    for (int i = 0; i < 2000; ++i) {
        double d;
        const std::uint64_t bits = rng();
        std::memcpy(&d, &bits, sizeof d);
        values.push_back(d);
    }
    for (double v : values) {
        std::string a;
        mltrack::detail::append_double(a, v);
        char buf[40];
        const char* end = mltrack::detail::write_double(buf, v);
        CHECK(std::string(buf, static_cast<std::size_t>(end - buf)) == a);
    }
    std::vector<std::int64_t> times{0, 1, 999, 1000, -1, -999, -1000, -1001, -1500000000, 1764384000123456789,
                                    std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()};
    for (int i = 0; i < 2000; ++i) times.push_back(static_cast<std::int64_t>(rng()));
    for (auto t : times) {
        std::string a;
        mltrack::detail::append_time(a, t);
        char buf[40];
        const char* end = mltrack::detail::write_time(buf, t);
        CHECK(std::string(buf, static_cast<std::size_t>(end - buf)) == a);
    }
}
