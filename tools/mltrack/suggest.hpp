// Why: a typo in `-e`, `-k`, `--metric`, `--columns` or a filter key used to give an empty answer with no
// hint. Every command that takes a name now says "did you mean ..." with the closest known name.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace mltrack_cli {

/// Levenshtein distance (insertions, deletions, substitutions), ASCII case-insensitive.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

/// The candidate closest to `name` (ties: the first), or "" when none is close: within a third of the
/// longer name's length (at least 2 edits), or one is a prefix of the other.
inline std::string closest_name(std::string_view name, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_d = std::string::npos;
    for (const auto& c : candidates) {
        const std::size_t d = edit_distance(name, c);
        const std::size_t limit = std::max<std::size_t>(2, std::max(name.size(), c.size()) / 3);
        const bool prefix = !name.empty() && (c.rfind(std::string(name), 0) == 0 || name.rfind(c, 0) == 0);
        if ((d <= limit || prefix) && d < best_d) best = c, best_d = d;
    }
    return best;
}

/// "; did you mean 'x'?" or, without a close name, " (known: a, b, c)" (at most `shown` names), or "".
inline std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates,
                                std::size_t shown = 8) {
    const std::string best = closest_name(name, candidates);
    if (!best.empty()) return "; did you mean '" + best + "'?";
    if (candidates.empty()) return {};
    std::string all;
    for (std::size_t i = 0; i < candidates.size() && i < shown; ++i) all += (i ? ", " : "") + candidates[i];
    if (candidates.size() > shown) all += ", ... (" + std::to_string(candidates.size()) + " in all)";
    return " (known: " + all + ")";
}

}  // namespace mltrack_cli
