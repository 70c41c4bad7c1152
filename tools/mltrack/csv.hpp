// Why: CSV output must read back in pandas, R and Python's csv module whatever the names and values hold
// (commas, quotes, newlines). Fields are quoted only when needed, as RFC 4180 says; lines end with '\n'.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mltrack_cli {

/// Appends one CSV field, quoted when it holds a comma, a quote, a line break or edge blanks.
inline void append_csv_field(std::string& out, std::string_view field) {
    const bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
                       (!field.empty() && (field.front() == ' ' || field.back() == ' '));
    if (!quote) {
        out.append(field.data(), field.size());
        return;
    }
    out += '"';
    for (char c : field) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

/// Appends a whole CSV record with its '\n'.
inline void append_csv_row(std::string& out, const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ',';
        append_csv_field(out, fields[i]);
    }
    out += '\n';
}

}  // namespace mltrack_cli
