// Why: a scatter per param shows one param at a time; a sweep over several params needs them side by side.
// Parallel coordinates draw one vertical axis per param (numeric, logarithmic when it spans 100x or more, or
// categorical) and the metric last, and each run as one line across them, colored by its metric from amber
// (worse) to blue (better), so the params of the good runs stand out as bundles. Inline SVG, like every
// chart of the report; each line carries its run's index so that highlighting a run finds it here too.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <mltrack/summary.hpp>

#include "report_svg.hpp"

namespace mltrack_cli {
namespace svg {

/// One run in the chart.
struct pc_run {
    int run = -1;
    std::string label;
    const std::map<std::string, mltrack::param_value>* params = nullptr;
    double metric = 0;
};

/// The color of a metric value at t in [0, 1] (1: the best of the chart).
inline std::string quality_color(double t) {
    t = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) : 0.0;
    const int r = static_cast<int>(std::lround(240 + (33 - 240) * t));
    const int g = static_cast<int>(std::lround(170 + (102 - 170) * t));
    const int b = static_cast<int>(std::lround(80 + (172 - 80) * t));
    char buf[16];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
    return buf;
}

/// Parallel coordinates of `params` (in order) and the metric. Params no run has are skipped; a run
/// without a param leaves a gap at that axis.
inline std::string parallel_chart(const std::string& metric, bool lower_better, const std::vector<std::string>& params,
                                  const std::vector<pc_run>& runs) {
    struct pc_axis {
        std::string name;
        std::vector<std::string> categories;  // empty: numeric
        axis a;
    };
    std::vector<pc_axis> axes;
    for (const auto& key : params) {
        bool numeric = true;
        double lo = INFINITY, hi = -INFINITY;
        std::set<std::string> distinct;
        for (const auto& r : runs) {
            auto it = r.params->find(key);
            if (it == r.params->end()) continue;
            distinct.insert(it->second.to_text());
            if (it->second.is_int() || it->second.is_double()) {
                const double v = it->second.as_double();
                if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
            } else {
                numeric = false;
            }
        }
        if (distinct.empty()) continue;
        pc_axis ax{key, {}, {}};
        if (numeric && lo <= hi) ax.a = make_axis(lo, hi, lo > 0 && hi / lo >= 100);
        else if (numeric) continue;
        else ax.categories.assign(distinct.begin(), distinct.end());
        axes.push_back(std::move(ax));
    }
    double m0 = INFINITY, m1 = -INFINITY;
    for (const auto& r : runs) m0 = std::min(m0, r.metric), m1 = std::max(m1, r.metric);
    axes.push_back({metric, {}, make_axis(m0, m1)});

    frame f;
    f.left = 56;
    f.right = 56;
    f.top = 30;
    f.bottom = 24;
    f.h = 320;
    f.w = std::max(560.0, 120.0 * static_cast<double>(axes.size()) + f.left + f.right - 120);
    const double gap = axes.size() > 1 ? (f.w - f.left - f.right) / static_cast<double>(axes.size() - 1) : 0;
    auto ax_x = [&](std::size_t k) { return f.left + gap * static_cast<double>(k); };
    // The position of a value on axis k in [0, 1], or NaN when the run has no value there.
    auto position = [&](std::size_t k, const pc_run& r) -> double {
        const auto& ax = axes[k];
        if (k + 1 == axes.size()) return ax.a.unit(r.metric);
        auto it = r.params->find(ax.name);
        if (it == r.params->end()) return NAN;
        if (ax.categories.empty()) {
            const double v = it->second.as_double();
            return std::isfinite(v) && (!ax.a.log || v > 0) ? ax.a.unit(v) : NAN;
        }
        const auto at = std::find(ax.categories.begin(), ax.categories.end(), it->second.to_text());
        const double n = static_cast<double>(ax.categories.size());
        return (static_cast<double>(at - ax.categories.begin()) + 0.5) / n;
    };
    auto y_of = [&](double u) { return f.h - f.bottom - u * (f.h - f.top - f.bottom); };

    std::string out = "<svg class=\"chart parallel\" role=\"img\" width=\"" + coord(f.w) + "\" height=\"" +
                      coord(f.h) + "\" viewBox=\"0 0 " + coord(f.w) + " " + coord(f.h) + "\"><title>" +
                      escape("params vs " + metric) + "</title>";
    // The lines first, the axes over them; the best run's line last, so that it is on top.
    std::vector<std::size_t> order(runs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto quality = [&](double v) {
        const double t = m1 > m0 ? (v - m0) / (m1 - m0) : 1.0;
        return lower_better ? 1 - t : t;
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return quality(runs[a].metric) < quality(runs[b].metric); });
    for (std::size_t i : order) {
        const auto& r = runs[i];
        std::string d;
        bool pen = false;
        for (std::size_t k = 0; k < axes.size(); ++k) {
            const double u = position(k, r);
            if (!std::isfinite(u)) {
                pen = false;
                continue;
            }
            d += (pen ? " L" : (d.empty() ? "M" : " M")) + coord(ax_x(k)) + " " + coord(y_of(u));
            pen = true;
        }
        if (d.empty()) continue;
        out += "<path class=\"pline\" stroke=\"" + quality_color(quality(r.metric)) + "\"" + run_attribute(r.run) +
               " d=\"" + d + "\"><title>" + escape(r.label + ": " + metric + "=" + tick_label(r.metric, 6)) +
               "</title></path>";
    }
    for (std::size_t k = 0; k < axes.size(); ++k) {
        const auto& ax = axes[k];
        const std::string x = coord(ax_x(k));
        out += "<g class=\"axes\"><line class=\"paxis\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + coord(f.top) +
               "\" y2=\"" + coord(f.h - f.bottom) + "\"/>";
        std::string name = ax.name;
        if (name.size() > 18) name = name.substr(0, 17) + "~";
        out += "<text class=\"label\" x=\"" + x + "\" y=\"" + coord(f.top - 12) + "\" text-anchor=\"middle\">" +
               escape(name) + "<title>" + escape(ax.name) + "</title></text>";
        std::vector<std::pair<double, std::string>> ticks;  // position, label
        if (ax.categories.empty()) {
            const auto labels = tick_labels(ax.a.ticks);
            for (std::size_t t = 0; t < ax.a.ticks.size(); ++t) ticks.emplace_back(ax.a.unit(ax.a.ticks[t]), labels[t]);
        } else {
            const double n = static_cast<double>(ax.categories.size());
            const std::size_t every = ax.categories.size() / 12 + 1;  // at most about 12 labels
            for (std::size_t c = 0; c < ax.categories.size(); c += every) {
                std::string label = ax.categories[c];
                if (label.size() > 12) label = label.substr(0, 11) + "~";
                ticks.emplace_back((static_cast<double>(c) + 0.5) / n, label);
            }
        }
        for (const auto& t : ticks)
            out += "<text class=\"tick\" x=\"" + coord(ax_x(k) - 4) + "\" y=\"" + coord(y_of(t.first)) +
                   "\" dy=\"0.32em\" text-anchor=\"end\">" + escape(t.second) + "</text>";
        out += "</g>";
    }
    out += "</svg>";
    return out;
}

}  // namespace svg
}  // namespace mltrack_cli
