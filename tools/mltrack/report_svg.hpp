// Why: the report draws its charts as inline SVG, written by hand, so the HTML file needs no script, no
// library and no network. This header holds the drawing: XML escaping, "nice" axis ticks (1, 2, 5 times a
// power of ten, or decades on a log axis), a line chart with one path per run (gaps where a value is NaN or
// infinite; axes that span the data, or a fixed domain such as a ROC curve's unit square) and a scatter
// chart (numeric or categorical x). Every element is closed and every attribute quoted, so the output is
// well-formed XML as well as HTML.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mltrack_cli {
namespace svg {

/// Escapes text for XML content and attribute values. "://" is written with entities, so that no text in
/// a report (a URI in a param, say) ever reads as a network reference to a tool scanning the file.
inline std::string escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
                    out += ' ';
                } else if (c == '/' && i >= 1 && s[i - 1] == ':' && i + 1 < s.size() && s[i + 1] == '/') {
                    out += "&#47;&#47;";
                    ++i;
                } else {
                    out += c;
                }
        }
    }
    return out;
}

/// A coordinate with one decimal.
inline std::string coord(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

/// A tick label: up to 4 significant digits.
inline std::string tick_label(double v) {
    if (std::fabs(v) < 1e-12) v = 0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

/// An axis: its domain (widened to nice bounds) and tick positions.
struct axis {
    double lo = 0, hi = 1;
    bool log = false;
    std::vector<double> ticks;

    /// Maps a value in the domain to [0, 1].
    double unit(double v) const {
        if (log) return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
        return (v - lo) / (hi - lo);
    }
};

inline axis make_axis(double lo, double hi, bool log = false, int target = 5) {
    axis a;
    a.log = log && lo > 0 && hi > 0;
    if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
    if (a.log) {
        const double l0 = std::floor(std::log10(lo)), l1 = std::ceil(std::log10(hi));
        a.lo = std::pow(10.0, l0);
        a.hi = std::pow(10.0, l1 > l0 ? l1 : l0 + 1);
        for (double e = l0; e <= std::log10(a.hi) + 1e-9; ++e) a.ticks.push_back(std::pow(10.0, e));
        return a;
    }
    if (hi < lo) std::swap(lo, hi);
    if (hi - lo <= 0) {
        const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    const double span = hi - lo;
    double step = std::pow(10.0, std::floor(std::log10(span / target)));
    const double err = target / span * step;
    if (err <= 0.15) step *= 10;
    else if (err <= 0.35) step *= 5;
    else if (err <= 0.75) step *= 2;
    a.lo = std::floor(lo / step) * step;
    a.hi = std::ceil(hi / step) * step;
    for (double v = a.lo; v <= a.hi + step * 1e-9; v += step) a.ticks.push_back(v);
    return a;
}

/// The plot area inside an SVG of width w and height h.
struct frame {
    double w = 560, h = 300;
    double left = 64, right = 16, top = 16, bottom = 44;
    double x(const axis& a, double v) const { return left + a.unit(v) * (w - left - right); }
    double y(const axis& a, double v) const { return h - bottom - a.unit(v) * (h - top - bottom); }
};

/// Axes, grid lines, tick labels and axis titles.
inline void draw_axes(std::string& out, const frame& f, const axis& ax, const axis& ay, const std::string& xlabel,
                      const std::string& ylabel, const std::vector<std::string>& x_categories = {}) {
    out += "<g class=\"axes\">";
    for (double t : ay.ticks) {
        const std::string y = coord(f.y(ay, t));
        out += "<line class=\"grid\" x1=\"" + coord(f.left) + "\" x2=\"" + coord(f.w - f.right) + "\" y1=\"" + y +
               "\" y2=\"" + y + "\"/>";
        out += "<text class=\"tick\" x=\"" + coord(f.left - 6) + "\" y=\"" + y + "\" dy=\"0.32em\" text-anchor=\"end\">" +
               escape(tick_label(t)) + "</text>";
    }
    if (x_categories.empty()) {
        for (double t : ax.ticks) {
            const std::string x = coord(f.x(ax, t));
            out += "<line class=\"grid\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + coord(f.top) + "\" y2=\"" +
                   coord(f.h - f.bottom) + "\"/>";
            out += "<text class=\"tick\" x=\"" + x + "\" y=\"" + coord(f.h - f.bottom + 16) +
                   "\" text-anchor=\"middle\">" + escape(tick_label(t)) + "</text>";
        }
    } else {
        for (std::size_t i = 0; i < x_categories.size(); ++i) {
            const std::string x = coord(f.x(ax, static_cast<double>(i)));
            std::string label = x_categories[i];
            if (label.size() > 14) label = label.substr(0, 13) + "~";
            out += "<text class=\"tick\" x=\"" + x + "\" y=\"" + coord(f.h - f.bottom + 16) +
                   "\" text-anchor=\"middle\">" + escape(label) + "</text>";
        }
    }
    out += "<rect class=\"plot\" x=\"" + coord(f.left) + "\" y=\"" + coord(f.top) + "\" width=\"" +
           coord(f.w - f.left - f.right) + "\" height=\"" + coord(f.h - f.top - f.bottom) + "\"/>";
    out += "<text class=\"label\" x=\"" + coord(f.left + (f.w - f.left - f.right) / 2) + "\" y=\"" + coord(f.h - 6) +
           "\" text-anchor=\"middle\">" + escape(xlabel) + "</text>";
    out += "<text class=\"label\" transform=\"translate(14," + coord(f.top + (f.h - f.top - f.bottom) / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">" + escape(ylabel) + "</text>";
    out += "</g>";
}

/// One run's line: its label (tooltip), color and (x, y) points in order.
struct line {
    std::string label;
    std::string color;
    std::vector<std::pair<double, double>> points;
};

/// Axis ranges a chart always shows, whatever its data (a ROC curve: [0,1] on both axes). Data outside them
/// still widens the axes, so that nothing is drawn outside the plot.
struct domain {
    double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
};

/// A line chart of every line over shared axes; NaN or infinite y values leave a gap. Without `fixed`, the
/// axes span the data.
inline std::string line_chart(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                              const std::vector<line>& lines, const frame& f = {},
                              const std::optional<domain>& fixed = std::nullopt) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    if (fixed) x0 = fixed->x0, x1 = fixed->x1, y0 = fixed->y0, y1 = fixed->y1;
    for (const auto& l : lines)
        for (const auto& p : l.points) {
            x0 = std::min(x0, p.first);
            x1 = std::max(x1, p.first);
            if (std::isfinite(p.second)) {
                y0 = std::min(y0, p.second);
                y1 = std::max(y1, p.second);
            }
        }
    if (!(x0 <= x1)) x0 = 0, x1 = 1;
    if (!(y0 <= y1)) y0 = 0, y1 = 1;
    const axis ax = make_axis(x0, x1), ay = make_axis(y0, y1);
    std::string out = "<svg class=\"chart\" role=\"img\" width=\"" + coord(f.w) + "\" height=\"" + coord(f.h) +
                      "\" viewBox=\"0 0 " + coord(f.w) + " " + coord(f.h) + "\"><title>" + escape(title) + "</title>";
    draw_axes(out, f, ax, ay, xlabel, ylabel);
    for (const auto& l : lines) {
        // Runs of finite points form segments; a segment of one point is drawn as a dot.
        std::string d, dots;
        std::size_t seg_len = 0;
        std::pair<double, double> seg_first{0, 0};
        auto end_segment = [&] {
            if (seg_len == 1)
                dots += "<circle cx=\"" + coord(f.x(ax, seg_first.first)) + "\" cy=\"" +
                        coord(f.y(ay, seg_first.second)) + "\" r=\"2.5\" fill=\"" + l.color + "\"><title>" +
                        escape(l.label) + "</title></circle>";
            seg_len = 0;
        };
        for (const auto& p : l.points) {
            if (!std::isfinite(p.second)) {
                end_segment();
                continue;
            }
            if (seg_len == 0) seg_first = p;
            d += seg_len ? " L" : (d.empty() ? "M" : " M");
            d += coord(f.x(ax, p.first)) + " " + coord(f.y(ay, p.second));
            ++seg_len;
        }
        end_segment();
        if (!d.empty())
            out += "<path class=\"series\" stroke=\"" + l.color + "\" d=\"" + d + "\"><title>" + escape(l.label) +
                   "</title></path>";
        out += dots;
    }
    out += "</svg>";
    return out;
}

struct point {
    double x = 0, y = 0;
    std::string color;
    std::string label;
};

/// A scatter chart. With `categories`, x is an index into them; `log_x` uses a log axis for x.
inline std::string scatter_chart(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                                 const std::vector<point>& points, const std::vector<std::string>& categories = {},
                                 bool log_x = false, const frame& f = {}) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const auto& p : points) {
        if (!std::isfinite(p.y) || !std::isfinite(p.x)) continue;
        x0 = std::min(x0, p.x);
        x1 = std::max(x1, p.x);
        y0 = std::min(y0, p.y);
        y1 = std::max(y1, p.y);
    }
    if (!(x0 <= x1)) x0 = 0, x1 = 1;
    if (!(y0 <= y1)) y0 = 0, y1 = 1;
    // Dots must not sit on the frame: pad the data range by 5% before rounding it to nice ticks.
    // (A range that starts at or above zero is not padded below zero.)
    const double py = (y1 - y0) * 0.05, px = (x1 - x0) * 0.05;
    y0 = y0 >= 0 ? std::max(0.0, y0 - py) : y0 - py;
    y1 += py;
    if (!log_x) x0 = x0 >= 0 ? std::max(0.0, x0 - px) : x0 - px, x1 += px;
    else x0 /= 1.2, x1 *= 1.2;
    axis ax;
    if (!categories.empty()) {
        ax.lo = -0.5;
        ax.hi = static_cast<double>(categories.size()) - 0.5;
    } else {
        ax = make_axis(x0, x1, log_x);
    }
    const axis ay = make_axis(y0, y1);
    std::string out = "<svg class=\"chart\" role=\"img\" width=\"" + coord(f.w) + "\" height=\"" + coord(f.h) +
                      "\" viewBox=\"0 0 " + coord(f.w) + " " + coord(f.h) + "\"><title>" + escape(title) + "</title>";
    draw_axes(out, f, ax, ay, xlabel, ylabel, categories);
    for (const auto& p : points) {
        if (!std::isfinite(p.y) || !std::isfinite(p.x)) continue;
        out += "<circle class=\"dot\" cx=\"" + coord(f.x(ax, p.x)) + "\" cy=\"" + coord(f.y(ay, p.y)) +
               "\" r=\"4\" fill=\"" + p.color + "\"><title>" + escape(p.label) + "</title></circle>";
    }
    out += "</svg>";
    return out;
}

/// The color of run i of n: ten distinct colors (Tableau 10), then hues spread by the golden angle.
inline std::string run_color(std::size_t i) {
    static const char* const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    if (i < 10) return palette[i];
    char buf[48];
    std::snprintf(buf, sizeof buf, "hsl(%d,65%%,45%%)", static_cast<int>(std::fmod(i * 137.508, 360.0)));
    return buf;
}

}  // namespace svg
}  // namespace mltrack_cli
