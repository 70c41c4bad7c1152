// Helpers shared by the unit tests: a fresh temporary folder per test, an independent JSONL reader
// (nlohmann::json straight from the bytes, never mltrack's own reader), and error-id matchers.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <mltrack/config.hpp>
#include <mltrack/error.hpp>

namespace unit {

namespace fs = std::filesystem;

/// A fresh, unique folder under the system temp dir, removed (with everything in it) on destruction.
class temp_dir {
public:
    temp_dir() {
        static std::atomic<unsigned> counter{0};
        std::random_device rd;
        for (int attempt = 0;; ++attempt) {
            std::ostringstream name;
            name << "mltrack-unit-" << ::getpid() << "-" << counter.fetch_add(1) << "-" << std::hex << rd();
            path_ = fs::temp_directory_path() / name.str();
            std::error_code ec;
            if (fs::create_directory(path_, ec)) break;
            if (attempt > 100) throw std::runtime_error("cannot create a temporary folder");
        }
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const noexcept { return path_; }
    fs::path operator/(const std::string& s) const { return path_ / s; }

private:
    fs::path path_;
};

inline std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot open " << p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write_file(const fs::path& p, std::string_view bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

inline void append_file(const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::app);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

/// Splits a JSONL file into lines; every line must end with '\n' (a complete file) and parse as one JSON
/// object with nlohmann::json, independently of mltrack's reader.
inline std::vector<nlohmann::json> parse_jsonl(const fs::path& file) {
    const std::string text = read_file(file);
    std::vector<nlohmann::json> out;
    REQUIRE_MESSAGE((text.empty() || text.back() == '\n'), file.string() << " does not end with a newline");
    std::size_t start = 0;
    while (start < text.size()) {
        const auto nl = text.find('\n', start);
        const std::string line = text.substr(start, nl - start);
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const std::exception& e) {
            FAIL("line " << out.size() + 1 << " of " << file.string() << " is not JSON: " << e.what() << ": " << line);
        }
        // plain ifs, not one assertion per line: files have up to a million lines
        if (!j.is_object()) FAIL("line " << out.size() + 1 << " is not an object");
        if (!j.contains("kind")) FAIL("line " << out.size() + 1 << " has no kind");
        out.push_back(std::move(j));
        start = nl + 1;
    }
    return out;
}

/// The lines of one kind.
inline std::vector<nlohmann::json> of_kind(const std::vector<nlohmann::json>& lines, const std::string& kind) {
    std::vector<nlohmann::json> out;
    for (const auto& j : lines)
        if (j.at("kind") == kind) out.push_back(j);
    return out;
}

/// A tracker config that writes on the caller's thread (no writer thread: what a call wrote is on disk when it
/// returns) and fails the test on any sink error.
inline mltrack::config inline_config(const char* experiment) {
    mltrack::config c{experiment};
    c.dispatch = mltrack::dispatch_mode::inline_;
    c.on_error = [](const mltrack::sink_error& e) { FAIL("sink error: " << e.message); };
    return c;
}

/// Runs f and returns the what() of the mltrack::error it throws ("" when it throws nothing; another
/// exception type fails the test).
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const mltrack::error& e) {
        return e.what();
    } catch (const std::exception& e) {
        FAIL("expected mltrack::error, got another exception: " << e.what());
    }
    return "";
}

/// True when `what` starts with the stable id, e.g. starts_with_id(msg, "name.3") for "[mltrack.error.name.3] ...".
inline bool has_id(const std::string& what, const std::string& id) {
    const std::string prefix = "[mltrack.error." + id + "] ";
    return what.compare(0, prefix.size(), prefix) == 0;
}

/// Runs `child` (returning an exit code) in a forked process and returns the wait status. The child _exits
/// with its result (3 when it threw); an alarm turns a deadlock in it into SIGALRM instead of a hung test.
template <class F>
int run_forked(F&& child) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::alarm(60);
        int rc = 1;
        try {
            rc = child();
        } catch (...) {
            rc = 3;
        }
        ::_exit(rc);
    }
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return status;
}

}  // namespace unit

/// CHECK that the expression (the remaining arguments, commas allowed) throws mltrack::error whose message
/// starts with "[mltrack.error.<id>] ".
#define CHECK_ERROR_ID(id, ...)                                                                         \
    do {                                                                                                \
        const std::string unit_what_ = ::unit::error_of([&] { (void)(__VA_ARGS__); });                  \
        CHECK_MESSAGE(::unit::has_id(unit_what_, id), "expected [mltrack.error." << id << "], got: '" \
                                                                                  << unit_what_ << "'"); \
    } while (0)

/// Scaled-down loop counts under sanitizers (which are 5-20x slower); the same code paths run.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNIT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNIT_SANITIZED 1
#endif
#endif
#ifndef UNIT_SANITIZED
#define UNIT_SANITIZED 0
#endif

/// ThreadSanitizer (GCC says __SANITIZE_THREAD__, Clang __has_feature(thread_sanitizer)).
#if defined(__SANITIZE_THREAD__)
#define UNIT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNIT_TSAN 1
#endif
#endif
#ifndef UNIT_TSAN
#define UNIT_TSAN 0
#endif
