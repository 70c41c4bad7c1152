// Helpers for the tests of the `mltrack` command (tests/unit/test_cli_*.cpp): find the binary, run it and
// capture stdout, stderr and the exit status, compare with golden files (MLTRACK_UPDATE_GOLDEN=1 rewrites
// them), and a small RFC 4180 CSV parser (independent of the command's writer).
//
// The binary comes from the compile definition MLTRACK_CLI_PATH (the CMake build passes it) or from the
// environment variable MLTRACK_CLI; without either, tests that need it are skipped with a message.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <doctest/doctest.h>

#include "unit/unit_support.hpp"

namespace cli_test {

namespace fs = std::filesystem;

/// The mltrack binary, or "" when none is known.
inline std::string binary() {
    if (const char* env = std::getenv("MLTRACK_CLI"); env && *env) return env;
#ifdef MLTRACK_CLI_PATH
    return MLTRACK_CLI_PATH;
#else
    return {};
#endif
}

/// True (after a clear message) when the binary is unknown: the calling test should return.
inline bool skip_without_binary() {
    if (!binary().empty() && fs::exists(binary())) return false;
    MESSAGE("SKIPPED: the mltrack binary is unknown (build with CMake, which defines MLTRACK_CLI_PATH, or set "
            "MLTRACK_CLI=/path/to/mltrack)");
    return true;
}

/// The folder of the golden files: tests/data/cli.
inline fs::path data_dir() {
    if (const char* env = std::getenv("MLTRACK_TEST_DATA"); env && *env) return fs::path(env) / "cli";
#ifdef MLTRACK_TEST_DATA_DIR
    return fs::path(MLTRACK_TEST_DATA_DIR) / "cli";
#else
    return fs::path(__FILE__).parent_path().parent_path() / "data" / "cli";
#endif
}

inline std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

struct result {
    int status = -1;  ///< exit status (128+signal when killed)
    std::string out;
    std::string err;
};

/// Runs `mltrack ARGS...` with stdout and stderr captured (not a terminal), in `cwd` when given.
inline result run(const std::vector<std::string>& args, const fs::path& cwd = {}) {
    static int counter = 0;
    const fs::path tmp = fs::temp_directory_path() /
                         ("mltrack-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::string cmd;
    if (!cwd.empty()) cmd += "cd " + quote(cwd.string()) + " && ";
    cmd += quote(binary());
    for (const auto& a : args) cmd += " " + quote(a);
    cmd += " > " + quote(tmp.string() + ".out") + " 2> " + quote(tmp.string() + ".err") + " < /dev/null";
    const int raw = std::system(cmd.c_str());
    result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
    auto slurp = [](const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    r.out = slurp(tmp.string() + ".out");
    r.err = slurp(tmp.string() + ".err");
    std::error_code ec;
    fs::remove(tmp.string() + ".out", ec);
    fs::remove(tmp.string() + ".err", ec);
    return r;
}

/// Compares `actual` with the golden file tests/data/cli/<name>; MLTRACK_UPDATE_GOLDEN=1 writes it instead.
inline void check_golden(const std::string& name, const std::string& actual) {
    const fs::path file = data_dir() / name;
    if (const char* up = std::getenv("MLTRACK_UPDATE_GOLDEN"); up && std::string(up) == "1") {
        unit::write_file(file, actual);
        MESSAGE("golden file rewritten: " << name);
        return;
    }
    REQUIRE_MESSAGE(fs::exists(file), "missing golden file " << file.string()
                                                             << " (MLTRACK_UPDATE_GOLDEN=1 writes it)");
    const std::string expected = unit::read_file(file);
    if (expected != actual) {
        // Point at the first differing line, then show both in full.
        std::istringstream a(actual), e(expected);
        std::string la, le;
        int line = 1;
        while (std::getline(e, le) && std::getline(a, la) && la == le) ++line;
        FAIL_CHECK("output differs from golden file " << name << " at line " << line << "\n--- expected\n"
                                                      << expected << "--- actual\n"
                                                      << actual);
    }
}

/// Parses RFC 4180 CSV (quoted fields with "" escapes and embedded newlines; '\n' or "\r\n" line ends).
inline std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, in_field = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
            continue;
        }
        if (c == '"' && field.empty()) {
            quoted = true;
            in_field = true;
        } else if (c == ',') {
            row.push_back(field);
            field.clear();
            in_field = false;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            row.push_back(field);
            rows.push_back(row);
            row.clear();
            field.clear();
            in_field = false;
        } else {
            field += c;
            in_field = true;
        }
    }
    REQUIRE_MESSAGE(!quoted, "unterminated quoted CSV field");
    if (in_field || !row.empty()) {
        row.push_back(field);
        rows.push_back(row);
    }
    return rows;
}

}  // namespace cli_test
