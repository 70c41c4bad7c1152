// names.hpp: one validator for experiment/run/artifact names (folder names) and for metric/param keys.
#include <mltrack/names.hpp>

#include <string>
#include <vector>

#include "unit_support.hpp"

using mltrack::is_valid_name;
using mltrack::validate_key;
using mltrack::validate_name;

namespace {
std::string s(const char* p, std::size_t n) { return std::string(p, n); }
}  // namespace

TEST_CASE("valid experiment and run names") {
    for (const std::string& n : std::vector<std::string>{"a", "Z", "0", "lr-0.01", "run_1", "A.b-c_d", "9lives", "a..b", "x-", "x.",
                                std::string(128, 'r')}) {
        CAPTURE(n);
        CHECK(is_valid_name(n));
        CHECK_NOTHROW(validate_name("run name", n));
    }
}

TEST_CASE("empty names and keys: name.1") {
    CHECK_FALSE(is_valid_name(""));
    CHECK_ERROR_ID("name.1", validate_name("run name", ""));
    CHECK_ERROR_ID("name.1", validate_key("metric key", ""));
    const auto what = unit::error_of([] { validate_name("experiment name", ""); });
    CHECK(what == "[mltrack.error.name.1] experiment name is empty");
}

TEST_CASE("too long: name.2 (129 bytes, 10 KiB), with the length in the message") {
    CHECK_ERROR_ID("name.2", validate_name("run name", std::string(129, 'a')));
    const std::string big(10 * 1024, 'a');
    CHECK_FALSE(is_valid_name(big));
    const auto what = unit::error_of([&] { validate_name("run name", big); });
    CHECK(unit::has_id(what, "name.2"));
    CHECK(what.find("10240 bytes") != std::string::npos);
    CHECK(what.size() < 300);  // the name itself is abbreviated in the message
    CHECK_ERROR_ID("name.2", validate_key("metric key", std::string(257, 'k')));
    CHECK_ERROR_ID("name.2", validate_key("metric key", big));
    CHECK_NOTHROW(validate_key("metric key", std::string(256, 'k')));
}

TEST_CASE("path tricks never pass as names") {
    // A name must start with a letter or digit: name.4 for everything that starts otherwise.
    for (const std::string& n : std::vector<std::string>{"..", ".", "/", "\\", "-rf", ".hidden", "_x", "/etc", "\\\\server", "~", " a",
                                s("\0", 1), s("\0abc", 4), "\x01", "\n", "\xc3\xa9t\xc3\xa9"}) {
        CAPTURE(n);
        CHECK_FALSE(is_valid_name(n));
        CHECK_ERROR_ID("name.4", validate_name("run name", n));
    }
    // After the first byte: name.3 for anything outside [A-Za-z0-9._-].
    for (const std::string& n : std::vector<std::string>{"a/b", "a/../b", "a\\b", "a b", s("a\0b", 3), "a\x01", "a\x7f", "a\n", "a\t",
                                "a:b", "C:", "a*", "caf\xc3\xa9", "a\xff", "a\xc0\xaf", "a\xed\xa0\x80", "x~"}) {
        CAPTURE(n);
        CHECK_FALSE(is_valid_name(n));
        CHECK_ERROR_ID("name.3", validate_name("run name", n));
    }
}

TEST_CASE("name.3 names the offending byte and escapes it") {
    const auto what = unit::error_of([] { validate_name("run name", std::string("ab\0c", 4)); });
    CHECK(what == "[mltrack.error.name.3] run name 'ab\\x00c' has a character not allowed at byte 2 (allowed: "
                  "letters, digits, '.', '_', '-')");
    const auto what4 = unit::error_of([] { validate_name("experiment name", ".."); });
    CHECK(what4 ==
          "[mltrack.error.name.4] experiment name '..' must start with a letter or digit (names become folder names)");
}

TEST_CASE("valid keys: free-form UTF-8") {
    for (const std::string& k : std::vector<std::string>{"train/loss", "a b", "..", "/", "-x", ".", "\\", "caf\xc3\xa9", "\xe6\x97\xa5",
                                "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xc2\x80", "\"quoted\"",
                                "{}[]:,"}) {
        CAPTURE(k);
        CHECK_NOTHROW(validate_key("metric key", k));
    }
}

TEST_CASE("control characters in keys: name.6") {
    for (int c = 0; c < 0x20; ++c) {
        const std::string k = "a" + std::string(1, static_cast<char>(c)) + "b";
        CAPTURE(c);
        CHECK_ERROR_ID("name.6", validate_key("param key", k));
    }
    CHECK_ERROR_ID("name.6", validate_key("param key", "del\x7f"));
    CHECK_ERROR_ID("name.6", validate_key("param key", s("\0", 1)));
    const auto what = unit::error_of([] { validate_key("param key", "ab\ncd"); });
    CHECK(what == "[mltrack.error.name.6] param key 'ab\\x0acd' has a control character at byte 2");
}

TEST_CASE("invalid UTF-8 in keys: name.5") {
    const std::vector<std::string> bad = {
        "\xff",                  // never valid
        "\xfe",                  //
        "\x80",                  // lone continuation byte
        "\xbf\x80",             // two continuation bytes
        "\xc3",                  // truncated 2-byte sequence at the end
        "\xe6\x97",              // truncated 3-byte sequence
        "\xf0\x9f\x98",          // truncated 4-byte sequence
        "\xc3(",                 // bad continuation
        "\xc0\xaf",              // overlong '/'
        "\xc1\xbf",              // overlong
        "\xe0\x80\xaf",          // overlong 3-byte '/'
        "\xe0\x9f\xbf",          // overlong 3-byte U+07FF
        "\xf0\x80\x80\xaf",      // overlong 4-byte '/'
        "\xf0\x8f\xbf\xbf",      // overlong 4-byte U+FFFF
        "\xed\xa0\x80",          // surrogate U+D800
        "\xed\xbf\xbf",          // surrogate U+DFFF
        "\xed\xa0\xbd\xed\xb8\x80",  // a CESU-8 surrogate pair
        "\xf4\x90\x80\x80",      // U+110000
        "\xf5\x80\x80\x80",      //
        "\xf8\x88\x80\x80\x80",  // 5-byte form
        "\xfc\x84\x80\x80\x80\x80",  // 6-byte form
    };
    for (const auto& k : bad) {
        CAPTURE(mltrack::detail::printable(k));
        const auto what = unit::error_of([&] { validate_key("metric key", "ok" + k); });
        CHECK_MESSAGE(unit::has_id(what, "name.5"), what);
        CHECK(what.find("at byte 2") != std::string::npos);
    }
}

TEST_CASE("valid for keys but not for names, and every valid name is a valid key") {
    for (const std::string& k : std::vector<std::string>{"train/loss", "a b", "..", "caf\xc3\xa9", std::string(200, 'a'), "-x"}) {
        CAPTURE(k);
        CHECK_NOTHROW(validate_key("metric key", k));
        CHECK_FALSE(is_valid_name(k));
        CHECK_THROWS_AS(validate_name("run name", k), mltrack::error);
    }
    // The name alphabet is a subset of the key alphabet and 128 < 256: no name is an invalid key.
    std::mt19937 rng(7);
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    for (int i = 0; i < 2000; ++i) {
        std::string n(1 + rng() % 128, 'a');
        for (auto& c : n) c = alphabet[rng() % alphabet.size()];
        if (!is_valid_name(n)) {
            CHECK_THROWS_AS(validate_name("n", n), mltrack::error);
            continue;
        }
        CHECK_NOTHROW(validate_name("n", n));
        CHECK_NOTHROW(validate_key("k", n));
    }
}

TEST_CASE("is_valid_name agrees with validate_name on every single byte and byte pair") {
    for (int a = 0; a < 256; ++a) {
        const std::string one(1, static_cast<char>(a));
        bool threw = false;
        try { validate_name("n", one); } catch (const mltrack::error&) { threw = true; }
        CHECK(is_valid_name(one) == !threw);
        for (int b = 0; b < 256; b += 7) {
            const std::string two = one + static_cast<char>(b);
            threw = false;
            try { validate_name("n", two); } catch (const mltrack::error&) { threw = true; }
            CHECK(is_valid_name(two) == !threw);
        }
    }
}

TEST_CASE("printable escapes and abbreviates") {
    CHECK(mltrack::detail::printable("abc") == "abc");
    CHECK(mltrack::detail::printable(std::string("a\0\\\xff", 4)) == "a\\x00\\x5c\\xff");
    const auto p = mltrack::detail::printable(std::string(1000, 'x'));
    CHECK(p == std::string(64, 'x') + "...");
}
