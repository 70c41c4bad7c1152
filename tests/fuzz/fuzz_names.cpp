// libFuzzer target: the name validator (mltrack/names.hpp). Properties checked on arbitrary bytes:
// validate_name throws exactly when is_valid_name is false, and only mltrack::error; every valid name is a
// valid key; a valid key is valid UTF-8 without control characters (checked here by an independent decoder);
// printable() output is ASCII and bounded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <mltrack/names.hpp>

namespace {

bool throws_name(std::string_view s) {
    try {
        mltrack::validate_name("name", s);
        return false;
    } catch (const mltrack::error& e) {
        if (e.category() != mltrack::error_category::name) std::abort();
        return true;
    }
}

bool throws_key(std::string_view s) {
    try {
        mltrack::validate_key("key", s);
        return false;
    } catch (const mltrack::error& e) {
        if (e.category() != mltrack::error_category::name) std::abort();
        return true;
    }
}

/// Independent check: well-formed UTF-8 (RFC 3629 table), no C0 controls and no DEL.
bool plain_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        auto cont = [&](std::size_t k, unsigned lo, unsigned hi) {
            if (i + k >= s.size()) return false;
            const auto c = static_cast<unsigned char>(s[i + k]);
            return c >= lo && c <= hi;
        };
        if (b < 0x20 || b == 0x7f) return false;
        if (b < 0x80) { i += 1; continue; }
        if (b >= 0xc2 && b <= 0xdf && cont(1, 0x80, 0xbf)) { i += 2; continue; }
        if (b == 0xe0 && cont(1, 0xa0, 0xbf) && cont(2, 0x80, 0xbf)) { i += 3; continue; }
        if (((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) && cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf)) { i += 3; continue; }
        if (b == 0xed && cont(1, 0x80, 0x9f) && cont(2, 0x80, 0xbf)) { i += 3; continue; }
        if (b == 0xf0 && cont(1, 0x90, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf)) { i += 4; continue; }
        if (b >= 0xf1 && b <= 0xf3 && cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf)) { i += 4; continue; }
        if (b == 0xf4 && cont(1, 0x80, 0x8f) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf)) { i += 4; continue; }
        return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    const bool name_bad = throws_name(s);
    if (name_bad == mltrack::is_valid_name(s)) std::abort();
    const bool key_bad = throws_key(s);
    if (!name_bad && key_bad) std::abort();
    const bool key_expected_ok = !s.empty() && s.size() <= mltrack::max_key_length && plain_utf8(s);
    if (key_bad == key_expected_ok) std::abort();
    const std::string p = mltrack::detail::printable(s);
    if (p.size() > 64 + 4 + 3) std::abort();
    for (char c : p)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) std::abort();
    return 0;
}
