// Why: `ls` and `show` print tables for people. A table is a header and rows of cells; it is written with
// columns padded to their widest cell (numbers right-aligned), two spaces between columns and no trailing
// blanks, so it reads well in a terminal and diffs well in golden files.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "cli.hpp"
#include "text.hpp"

namespace mltrack_cli {

struct text_table {
    std::vector<std::string> header;            ///< empty: no header line
    std::vector<std::vector<std::string>> rows;
    std::vector<bool> right;                    ///< right-align this column (numbers); default left
    std::string indent;                         ///< written before every line

    /// Writes the table aligned. Cells are made single-line first.
    void write(output& out) const {
        std::size_t ncols = header.size();
        for (const auto& r : rows) ncols = std::max(ncols, r.size());
        std::vector<std::size_t> width(ncols, 0);
        auto measure = [&](const std::vector<std::string>& r) {
            for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], display_width(r[i]));
        };
        measure(header);
        for (const auto& r : rows) measure(r);
        auto line = [&](const std::vector<std::string>& r) {
            std::string s = indent;
            for (std::size_t i = 0; i < ncols; ++i) {
                const std::string cell = i < r.size() ? one_line(r[i]) : std::string();
                const std::size_t pad = width[i] - std::min(width[i], display_width(cell));
                if (i) s += "  ";
                const bool align_right = i < right.size() && right[i];
                if (align_right) s.append(pad, ' ');
                s += cell;
                if (!align_right) s.append(pad, ' ');
            }
            while (!s.empty() && s.back() == ' ') s.pop_back();
            out << s << '\n';
        };
        if (!header.empty()) line(header);
        for (const auto& r : rows) line(r);
    }
};

}  // namespace mltrack_cli
