// Why: one validator for every name that mltrack accepts. Experiment and run names become folder names,
// so they are held to a small portable alphabet that can never escape the store's root ("..", "/", "\",
// NUL, absolute paths, leading dots are all impossible). Metric, param and artifact keys are free-form
// UTF-8 (TensorBoard tags like "train/loss") but never contain control characters or invalid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "error.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Longest experiment or run name, in bytes.
inline constexpr std::size_t max_name_length = 128;
/// Longest metric, param or artifact key, in bytes.
inline constexpr std::size_t max_key_length = 256;

namespace detail {

/// A printable rendering of arbitrary bytes for error messages: at most 64 characters, escapes \xNN.
inline std::string printable(std::string_view s) {
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

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid (overlong forms,
/// surrogates and code points above U+10FFFF are invalid).
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
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

/// True when `name` is a valid experiment or run name: 1 to 128 bytes of [A-Za-z0-9._-], starting with
/// a letter or digit.
inline bool is_valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_name_length) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
    }
    return true;
}

/// Throws mltrack::error (category name, ids 1-4) unless `name` is a valid experiment or run name.
/// `what` names the thing in the message ("experiment name", "run name").
inline void validate_name(std::string_view what, std::string_view name) {
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

/// Throws mltrack::error (category name, ids 1, 2, 5, 6) unless `key` is a valid metric, param or artifact
/// key: 1 to 256 bytes of valid UTF-8 without control characters.
inline void validate_key(std::string_view what, std::string_view key) {
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
