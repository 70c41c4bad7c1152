// Why: reading long runs (gigabytes of JSONL) can take many seconds; a command that goes quiet that long
// looks hung. read_progress plugs into read_options::progress and, on a terminal only, once the command has
// read for over a second, keeps one line on stderr up to date: what is being read, how far, how fast.
// Pipes and logs get nothing (their output must stay parseable). Files read in parallel add up.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <mltrack/run_data.hpp>

#include "cli.hpp"
#include "text.hpp"

namespace mltrack_cli {

class read_progress {
public:
    /// `command` prefixes the line ("mltrack sync"). `total_bytes` is what the whole command will read
    /// (0: unknown, and each file's own share is shown).
    explicit read_progress(std::string command, std::uint64_t total_bytes = 0)
        : command_(std::move(command)), total_(total_bytes), live_(is_terminal(stderr)), t0_(clock::now()) {}
    read_progress(const read_progress&) = delete;
    read_progress& operator=(const read_progress&) = delete;
    ~read_progress() { clear(); }

    /// Sets `options.progress` to report reading `label` (safe from several threads at once).
    void attach(mltrack::read_options& options, std::string label) {
        if (!live_) return;
        auto seen = std::make_shared<std::uint64_t>(0);
        auto name = std::make_shared<std::string>(std::move(label));
        options.progress = [this, seen, name](std::uint64_t done, std::uint64_t file_total) {
            done_ += done - *seen;
            *seen = done;
            update(*name, done, file_total);
        };
    }

    /// Removes the progress line (call before printing anything else to stderr).
    void clear() {
        std::lock_guard<std::mutex> lock(draw_);
        if (shown_) {
            std::fputs("\r\033[K", stderr);
            std::fflush(stderr);
            shown_ = false;
        }
    }

private:
    using clock = std::chrono::steady_clock;
    void update(const std::string& label, std::uint64_t done, std::uint64_t file_total) {
        std::unique_lock<std::mutex> lock(draw_, std::try_to_lock);
        if (!lock.owns_lock()) return;  // another thread is drawing
        const auto now = clock::now();
        if (now - t0_ < std::chrono::seconds(1) || now - last_ < std::chrono::milliseconds(200)) return;
        last_ = now;
        const double s = std::chrono::duration<double>(now - t0_).count();
        const std::uint64_t all = done_.load();
        const std::uint64_t of = total_ ? total_ : file_total;
        const std::uint64_t at = total_ ? all : done;
        const int pct = of ? static_cast<int>(100.0 * static_cast<double>(at) / static_cast<double>(of)) : 0;
        std::fprintf(stderr, "\r\033[K%s: %s: %d%% (%.0f of %.0f MB, %.0f MB/s)", command_.c_str(),
                     one_line(label).c_str(), pct > 100 ? 100 : pct, static_cast<double>(at) / 1e6,
                     static_cast<double>(of) / 1e6, s > 0 ? static_cast<double>(all) / 1e6 / s : 0.0);
        std::fflush(stderr);
        shown_ = true;
    }

    std::string command_;
    std::uint64_t total_;
    bool live_;
    std::atomic<std::uint64_t> done_{0};
    std::mutex draw_;
    bool shown_ = false;
    clock::time_point t0_, last_{};
};

}  // namespace mltrack_cli
