// Why: the report draws its charts as inline SVG, written by hand, so the HTML file needs no script, no
// library and no network. This header holds the drawing: XML escaping, "nice" axis ticks (1, 2, 5 times a
// power of ten, or decades on a log axis), a line chart with one path per run (gaps where a value is NaN or
// infinite; axes that span the data, or a fixed domain such as a ROC curve's unit square) and a scatter
// chart (numeric or categorical x). Every element is closed and every attribute quoted, so the output is
// well-formed XML as well as HTML.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mltrack_cli {
namespace svg {

/// Text made safe for an XML 1.0 document in UTF-8: invalid UTF-8 bytes, code points XML forbids (control
/// characters other than tab, line feed and carriage return; U+FFFE and U+FFFF; surrogates) and the C1
/// controls U+0080-U+009F become U+FFFD, the replacement character, so they stay visible.
inline std::string clean(std::string_view s) {
    static const char replacement[] = "\xEF\xBF\xBD";
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') out += replacement;
            else if (b == 0x7F) out += replacement;
            else out += static_cast<char>(b);
            ++i;
            continue;
        }
        const std::size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
        std::uint32_t cp = len == 4 ? b & 0x07u : len == 3 ? b & 0x0Fu : b & 0x1Fu;
        bool whole = len != 0 && i + len <= s.size();  // a lead byte and its continuation bytes
        for (std::size_t k = 1; whole && k < len; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            whole = (c & 0xC0) == 0x80;
            cp = (cp << 6) | (c & 0x3Fu);
        }
        // Overlong forms, surrogates, beyond U+10FFFF, U+FFFE/U+FFFF and C1 controls are all replaced, one
        // U+FFFD for the sequence; a broken sequence, one U+FFFD per byte.
        static const std::uint32_t min_of[] = {0, 0, 0x80, 0x800, 0x10000};
        const bool ok = whole && cp >= min_of[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) &&
                        cp != 0xFFFE && cp != 0xFFFF && !(cp >= 0x80 && cp <= 0x9F);
        if (ok) out.append(s.substr(i, len));
        else out += replacement;
        i += whole ? len : 1;
    }
    return out;
}

/// Escapes text for XML content and attribute values (after clean()). "://" is written with entities, so
/// that no text in a report (a URI in a param, say) ever reads as a network reference to a tool scanning
/// the file.
inline std::string escape(std::string_view raw) {
    const std::string s = clean(raw);
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
            case '\r': out += "&#13;"; break;
            default:
                if (c == '/' && i >= 1 && s[i - 1] == ':' && i + 1 < s.size() && s[i + 1] == '/') {
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

/// A tick label: up to 4 significant digits, more when neighbours would read the same.
inline std::string tick_label(double v, int digits = 4) {
    if (std::fabs(v) < 1e-12) v = 0;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

/// The labels of a list of ticks: the fewest significant digits (4 to 15) that tell neighbours apart.
inline std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
    std::vector<std::string> out;
    for (int digits = 4; digits <= 15; ++digits) {
        out.clear();
        bool distinct = true;
        for (double t : ticks) {
            out.push_back(tick_label(t, digits));
            distinct = distinct && (out.size() < 2 || out[out.size() - 2] != out.back());
        }
        if (distinct) break;
    }
    return out;
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

/// At most this many ticks on an axis, whatever the data: the tick loops count ticks, never add a step
/// until a bound is reached (a step below the spacing of doubles near the bound would never reach it).
inline constexpr int max_ticks = 60;

inline axis make_axis(double lo, double hi, bool log = false, int target = 5) {
    axis a;
    if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
    if (hi < lo) std::swap(lo, hi);
    a.log = log && lo > 0 && hi > 0;
    if (a.log) {
        // Decades, clamped to the normal doubles; several decades a tick when they are many.
        const double l0 = std::max(-307.0, std::floor(std::log10(lo)));
        double l1 = std::min(308.0, std::ceil(std::log10(hi)));
        if (l1 <= l0) l1 = l0 + 1;
        a.lo = std::pow(10.0, l0);
        a.hi = std::pow(10.0, l1);
        const int decades = static_cast<int>(l1 - l0);
        const int every = std::max(1, (decades + max_ticks / 4 - 1) / (max_ticks / 4));
        for (int k = 0; k <= decades; k += every) a.ticks.push_back(std::pow(10.0, l0 + k));
        return a;
    }
    // A span that doubles cannot divide into ticks (values a few ulps apart, 0.3 and 0.1+0.2) is drawn as
    // a flat line, padded as equal values are.
    const double mag = std::max(std::fabs(lo), std::fabs(hi));
    if (!(hi - lo > mag * 1e-12)) {
        const double pad = mag == 0 ? 1 : mag * 0.1;
        lo = (lo + hi) / 2 - pad;
        hi = lo + 2 * pad;
    }
    double span = hi - lo;
    if (!std::isfinite(span)) {  // -1e308 .. 1e308: the span overflows
        a.lo = lo;
        a.hi = hi;
        a.ticks = {lo, 0.0, hi};
        return a;
    }
    double step = std::pow(10.0, std::floor(std::log10(span / target)));
    const double err = target / span * step;
    if (err <= 0.15) step *= 10;
    else if (err <= 0.35) step *= 5;
    else if (err <= 0.75) step *= 2;
    a.lo = std::floor(lo / step) * step;
    a.hi = std::ceil(hi / step) * step;
    if (!std::isfinite(a.lo) || !std::isfinite(a.hi) || !(a.hi > a.lo)) a.lo = lo, a.hi = hi;
    const double n = std::min<double>(max_ticks, std::round((a.hi - a.lo) / step));
    for (int k = 0; k <= static_cast<int>(n); ++k) a.ticks.push_back(a.lo + k * step);
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
    const auto ylabels = tick_labels(ay.ticks), xlabels = tick_labels(ax.ticks);
    for (std::size_t i = 0; i < ay.ticks.size(); ++i) {
        const std::string y = coord(f.y(ay, ay.ticks[i]));
        out += "<line class=\"grid\" x1=\"" + coord(f.left) + "\" x2=\"" + coord(f.w - f.right) + "\" y1=\"" + y +
               "\" y2=\"" + y + "\"/>";
        out += "<text class=\"tick\" x=\"" + coord(f.left - 6) + "\" y=\"" + y + "\" dy=\"0.32em\" text-anchor=\"end\">" +
               escape(ylabels[i]) + "</text>";
    }
    if (x_categories.empty()) {
        for (std::size_t i = 0; i < ax.ticks.size(); ++i) {
            const std::string x = coord(f.x(ax, ax.ticks[i]));
            out += "<line class=\"grid\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + coord(f.top) + "\" y2=\"" +
                   coord(f.h - f.bottom) + "\"/>";
            out += "<text class=\"tick\" x=\"" + x + "\" y=\"" + coord(f.h - f.bottom + 16) +
                   "\" text-anchor=\"middle\">" + escape(xlabels[i]) + "</text>";
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
    int run = -1;       ///< the run's index in the page (data-run, for highlighting), -1 for none
    bool best = false;  ///< marks the line's last finite point as the chart's best run
};

/// ` data-run="i"` for a run's element, nothing for other elements.
inline std::string run_attribute(int run) {
    return run < 0 ? std::string() : " data-run=\"" + std::to_string(run) + "\"";
}

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
    std::string best_marks;  // drawn last, above every line
    for (const auto& l : lines) {
        // Runs of finite points form segments; a segment of one point is drawn as a dot.
        std::string d, dots;
        std::size_t seg_len = 0;
        std::pair<double, double> seg_first{0, 0};
        auto end_segment = [&] {
            if (seg_len == 1)
                dots += "<circle cx=\"" + coord(f.x(ax, seg_first.first)) + "\" cy=\"" +
                        coord(f.y(ay, seg_first.second)) + "\" r=\"2.5\" fill=\"" + l.color + "\"" +
                        run_attribute(l.run) + "><title>" +
                        escape(l.label) + "</title></circle>";
            seg_len = 0;
        };
        const std::pair<double, double>* last = nullptr;
        for (const auto& p : l.points) {
            if (!std::isfinite(p.second)) {
                end_segment();
                continue;
            }
            last = &p;
            if (seg_len == 0) seg_first = p;
            d += seg_len ? " L" : (d.empty() ? "M" : " M");
            d += coord(f.x(ax, p.first)) + " " + coord(f.y(ay, p.second));
            ++seg_len;
        }
        end_segment();
        if (!d.empty())
            out += "<path class=\"series\" stroke=\"" + l.color + "\"" + run_attribute(l.run) + " d=\"" + d +
                   "\"><title>" + escape(l.label) + "</title></path>";
        out += dots;
        if (l.best && last)
            best_marks += "<circle class=\"best\" cx=\"" + coord(f.x(ax, last->first)) + "\" cy=\"" +
                          coord(f.y(ay, last->second)) + "\" r=\"6\" stroke=\"" + l.color + "\"" +
                          run_attribute(l.run) + "><title>best: " + escape(l.label) + "</title></circle>";
    }
    out += best_marks;
    out += "</svg>";
    return out;
}

struct point {
    double x = 0, y = 0;
    std::string color;
    std::string label;
    int run = -1;  ///< as line::run
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
               "\" r=\"4\" fill=\"" + p.color + "\"" + run_attribute(p.run) + "><title>" + escape(p.label) +
               "</title></circle>";
    }
    out += "</svg>";
    return out;
}

/// The color of run i: ten distinct colors (Tableau 10), then hues spread by the golden angle, with the
/// lightness and saturation cycling through three steps so that runs of similar hue still differ.
inline std::string run_color(std::size_t i) {
    static const char* const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    if (i < 10) return palette[i];
    static const int light[] = {42, 30, 55}, sat[] = {70, 85, 60};
    char buf[48];
    std::snprintf(buf, sizeof buf, "hsl(%d,%d%%,%d%%)", static_cast<int>(std::fmod(static_cast<double>(i) * 137.508, 360.0)),
                  sat[(i / 3) % 3], light[i % 3]);
    return buf;
}

}  // namespace svg
}  // namespace mltrack_cli
