// Why: MLflow refuses a whole runs/log-batch request when one key or value breaks its rules
// (mlflow/utils/validation.py), which would hold back every good point sent with it. The sink checks each
// key and value against the same rules before it queues anything, so a bad one is reported once and kept
// out (the JSONL copy keeps it), and the batches it sends are always accepted.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "../../error.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

// The limits of mlflow/utils/validation.py (MLflow 2.x).
inline constexpr std::size_t mlflow_max_metrics_per_batch = 1000;
inline constexpr std::size_t mlflow_max_params_tags_per_batch = 100;
inline constexpr std::size_t mlflow_max_entities_per_batch = 1000;
inline constexpr std::size_t mlflow_max_batch_bytes = 1000000;  ///< the JSON body of one log-batch
inline constexpr std::size_t mlflow_max_key_length = 250;
inline constexpr std::size_t mlflow_max_param_value_length = 6000;
inline constexpr std::size_t mlflow_max_tag_value_length = 5000;

/// posixpath.normpath, for the names MLflow checks (no "//", "/./", "..", leading or trailing '/').
inline std::string posix_normpath(std::string_view p) {
    if (p.empty()) return ".";
    const bool absolute = p.front() == '/';
    std::string out;
    std::size_t i = 0;
    std::vector<std::string> segs;
    while (i <= p.size()) {
        const std::size_t j = p.find('/', i);
        const std::string_view seg = p.substr(i, (j == std::string_view::npos ? p.size() : j) - i);
        if (seg.empty() || seg == ".") {
        } else if (seg == "..") {
            if (!segs.empty() && segs.back() != "..") segs.pop_back();
            else if (!absolute) segs.emplace_back("..");
        } else {
            segs.emplace_back(seg);
        }
        if (j == std::string_view::npos) break;
        i = j + 1;
    }
    if (absolute) out = "/";
    for (std::size_t k = 0; k < segs.size(); ++k) {
        if (k) out += '/';
        out += segs[k];
    }
    if (out.empty()) out = ".";
    return out;
}

/// Why MLflow would refuse this metric, param or tag key ("" when it takes it): characters outside
/// letters, digits, '_', '-', '.', ' ' and '/' (bytes of non-ASCII UTF-8 letters are left for the server to
/// judge), a name that is not its own normal path form, or more than 250 characters.
inline std::string mlflow_key_problem(std::string_view key) {
    if (key.empty()) return "it is empty";
    for (char ch : key) {
        const auto c = static_cast<unsigned char>(ch);
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '-' || c == '.' || c == ' ' || c == '/' || c >= 0x80;
        if (!ok)
            return std::string("it has the character '") + ch +
                   "' (MLflow takes letters, digits, '_', '-', '.', ' ' and '/')";
    }
    const std::string norm = posix_normpath(key);
    if (norm != key || norm == "." || norm.rfind("..", 0) == 0 || norm.front() == '/')
        return "MLflow treats names as paths and this one would resolve to '" + norm + "'";
    std::size_t chars = 0;  // Python counts characters, not bytes
    for (char ch : key)
        if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++chars;
    if (chars > mlflow_max_key_length)
        return "it has " + std::to_string(chars) + " characters (MLflow's limit is 250)";
    return {};
}

/// The length of a UTF-8 string in characters (what MLflow's length limits count).
inline std::size_t utf8_chars(std::string_view s) {
    std::size_t n = 0;
    for (char ch : s)
        if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++n;
    return n;
}

/// The first `limit` characters of a UTF-8 string.
inline std::string utf8_prefix(std::string_view s, std::size_t limit) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (n == limit) return std::string(s.substr(0, i));
            ++n;
        }
    }
    return std::string(s);
}

}  // namespace detail
MLTRACK_NAMESPACE_END
