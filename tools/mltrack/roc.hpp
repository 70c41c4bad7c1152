// Why: a run logs only a few ROC points (one per threshold it chose), rarely the corners. A ROC curve
// always runs from (0,0) (nothing predicted positive) to (1,1) (everything predicted positive), so the area
// must be taken over the logged points plus those two corners; without them a run with an AUC of 0.94
// showed 0.55. `mltrack show` and `mltrack report` both use this header, so they print the same number and
// the report draws the curve the number was computed from.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

namespace mltrack_cli {

/// The ROC curve of logged (fpr, tpr) points, as drawn and integrated: points with a NaN or infinite
/// coordinate are skipped (as are the extra entries of the longer vector), the rest are sorted by (fpr, tpr),
/// and (0,0) and (1,1) are added. Empty when no finite point is left.
inline std::vector<std::pair<double, double>> roc_curve(const std::vector<double>& fpr,
                                                        const std::vector<double>& tpr) {
    std::vector<std::pair<double, double>> pts;
    const std::size_t n = std::min(fpr.size(), tpr.size());
    pts.reserve(n + 2);
    for (std::size_t i = 0; i < n; ++i)
        if (std::isfinite(fpr[i]) && std::isfinite(tpr[i])) pts.emplace_back(fpr[i], tpr[i]);
    if (pts.empty()) return pts;
    pts.emplace_back(0.0, 0.0);
    pts.emplace_back(1.0, 1.0);
    std::sort(pts.begin(), pts.end());
    return pts;
}

/// The area under roc_curve(fpr, tpr) by the trapezoid rule, or NaN when no finite point was logged.
inline double roc_auc(const std::vector<double>& fpr, const std::vector<double>& tpr) {
    const auto pts = roc_curve(fpr, tpr);
    if (pts.empty()) return std::numeric_limits<double>::quiet_NaN();
    double auc = 0;
    for (std::size_t i = 1; i < pts.size(); ++i)
        auc += (pts[i].first - pts[i - 1].first) * (pts[i].second + pts[i - 1].second) / 2;
    return auc;
}

}  // namespace mltrack_cli
