// Why: the bodies of the name and key validators, apart so that in compiled mode (detail/compiled.hpp) they are
// compiled once.
#pragma once

#include "names.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

MLTRACK_INLINE std::string printable(std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < s.size() && out.size() < 64; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (out.size() >= 64 && s.size() > 64) out += "...";
    return out;
}

MLTRACK_INLINE std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) return 1;
    std::size_t n = 0;
    unsigned cp = 0;
    if ((b0 & 0xe0) == 0xc0) { n = 2; cp = b0 & 0x1fu; }
    else if ((b0 & 0xf0) == 0xe0) { n = 3; cp = b0 & 0x0fu; }
    else if ((b0 & 0xf8) == 0xf0) { n = 4; cp = b0 & 0x07u; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3fu);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;  // overlong
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}
}  // namespace detail

MLTRACK_INLINE bool is_valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_name_length) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
    }
    return true;
}

MLTRACK_INLINE void validate_name(std::string_view what, std::string_view name) {
    if (name.empty()) throw error(error_category::name, 1, std::string(what) + " is empty");
    if (name.size() > max_name_length)
        throw error(error_category::name, 2,
                    std::string(what) + " is " + std::to_string(name.size()) + " bytes long; the limit is " +
                        std::to_string(max_name_length) + ": '" + detail::printable(name) + "'");
    const char c0 = name[0];
    if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z') || (c0 >= '0' && c0 <= '9')))
        throw error(error_category::name, 4,
                    std::string(what) + " '" + detail::printable(name) +
                        "' must start with a letter or digit (names become folder names)");
    for (std::size_t i = 1; i < name.size(); ++i) {
        const char c = name[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok)
            throw error(error_category::name, 3,
                        std::string(what) + " '" + detail::printable(name) + "' has a character not allowed at byte " +
                            std::to_string(i) + " (allowed: letters, digits, '.', '_', '-')");
    }
}

MLTRACK_INLINE void validate_key(std::string_view what, std::string_view key) {
    if (key.empty()) throw error(error_category::name, 1, std::string(what) + " is empty");
    if (key.size() > max_key_length)
        throw error(error_category::name, 2,
                    std::string(what) + " is " + std::to_string(key.size()) + " bytes long; the limit is " +
                        std::to_string(max_key_length) + ": '" + detail::printable(key) + "'");
    for (std::size_t i = 0; i < key.size();) {
        const auto c = static_cast<unsigned char>(key[i]);
        if (c < 0x20 || c == 0x7f)
            throw error(error_category::name, 6,
                        std::string(what) + " '" + detail::printable(key) + "' has a control character at byte " +
                            std::to_string(i));
        const std::size_t n = detail::utf8_sequence_length(key, i);
        if (n == 0)
            throw error(error_category::name, 5,
                        std::string(what) + " '" + detail::printable(key) + "' is not valid UTF-8 at byte " +
                            std::to_string(i));
        i += n;
    }
}

MLTRACK_NAMESPACE_END
