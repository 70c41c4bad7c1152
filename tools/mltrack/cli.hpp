// Why: every command parses its arguments, reports usage errors and writes its output the same way. This
// header holds those shared pieces: exit codes, a small option parser (--opt VALUE, --opt=VALUE, flags,
// "--" ends options), terminal detection and a buffered writer for large outputs (export streams millions
// of lines).
#pragma once

#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

namespace mltrack_cli {

/// Exit codes of every command.
enum exit_code : int {
    exit_ok = 0,       ///< done, nothing wrong
    exit_problem = 1,  ///< a problem was found (check) or the command failed (unreadable file, write error)
    exit_usage = 2,    ///< bad arguments
};

/// A mistake in the command line: printed with a hint to --help, exit code 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The command failed: printed as "mltrack CMD: message", exit code 1.
struct command_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// One option a command accepts.
struct option_spec {
    const char* name;         ///< "--format"
    const char* short_name;   ///< "-o", or nullptr
    bool takes_value;         ///< --format VALUE
};

/// A parsed command line: positional arguments and the values of each option (in order; flags get "").
class arguments {
public:
    std::vector<std::string> positional;

    bool has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
    /// The last value of an option, or `fallback` when it was not given.
    std::string get(std::string_view name, std::string fallback = {}) const {
        auto it = values_.find(std::string(name));
        return it == values_.end() ? fallback : it->second.back();
    }
    /// Every value of a repeatable option.
    std::vector<std::string> all(std::string_view name) const {
        auto it = values_.find(std::string(name));
        return it == values_.end() ? std::vector<std::string>{} : it->second;
    }
    void add(const std::string& name, std::string value) { values_[name].push_back(std::move(value)); }

private:
    std::map<std::string, std::vector<std::string>> values_;
};

/// Parses args against the options a command accepts; "-h"/"--help" is always accepted.
inline arguments parse_arguments(const std::vector<std::string>& args, std::initializer_list<option_spec> spec) {
    arguments out;
    auto find = [&](std::string_view name) -> const option_spec* {
        for (const auto& o : spec)
            if (name == o.name || (o.short_name && name == o.short_name)) return &o;
        return nullptr;
    };
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (options_done || a.size() < 2 || a[0] != '-') {
            out.positional.push_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        if (a == "-h" || a == "--help") {
            out.add("--help", "");
            continue;
        }
        std::string name = a;
        std::string value;
        bool inline_value = false;
        if (a.rfind("--", 0) == 0) {
            const auto eq = a.find('=');
            if (eq != std::string::npos) {
                name = a.substr(0, eq);
                value = a.substr(eq + 1);
                inline_value = true;
            }
        }
        const option_spec* o = find(name);
        if (!o) throw usage_error("unknown option '" + name + "'");
        if (o->takes_value) {
            if (!inline_value) {
                if (i + 1 >= args.size()) throw usage_error("option '" + name + "' needs a value");
                value = args[++i];
            }
        } else if (inline_value) {
            throw usage_error("option '" + name + "' takes no value");
        }
        out.add(o->name, value);
    }
    return out;
}

/// True when the stream is a terminal (aligned tables, progress bars) rather than a pipe or file.
inline bool is_terminal(std::FILE* f) { return ::isatty(::fileno(f)) == 1; }

/// A buffered writer to a FILE*, flushed in large blocks; write errors are remembered, not thrown.
class output {
public:
    explicit output(std::FILE* f) : f_(f) { buf_.reserve(block * 2); }
    output(const output&) = delete;
    output& operator=(const output&) = delete;
    ~output() { flush(); }

    output& operator<<(std::string_view s) {
        buf_.append(s.data(), s.size());
        if (buf_.size() >= block) flush();
        return *this;
    }
    output& operator<<(char c) {
        buf_ += c;
        if (buf_.size() >= block) flush();
        return *this;
    }
    /// Direct access for formatting helpers that append; call maybe_flush() after.
    std::string& buffer() { return buf_; }
    void maybe_flush() {
        if (buf_.size() >= block) flush();
    }
    void flush() {
        if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) failed_ = true;
        buf_.clear();
        if (std::fflush(f_) != 0) failed_ = true;
    }
    /// True when a write failed (disk full, closed pipe...).
    bool failed() const { return failed_; }

private:
    static constexpr std::size_t block = 1u << 20;
    std::FILE* f_;
    std::string buf_;
    bool failed_ = false;
};

}  // namespace mltrack_cli
