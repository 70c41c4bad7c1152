// Why: "was it the input pipeline, the memory or the GPU?" needs system numbers next to the loss curve. An
// opt-in sampler (RAII, one thread, a condition variable so destruction is prompt) reads /proc for the
// process's CPU, RSS and I/O and the host's memory, and NVML for each GPU's utilization, memory and power.
// NVML is loaded with dlopen when the sampler first samples: no link-time dependency, and on a machine without
// it the sampler says so once and goes on without GPU metrics. Points go through metric handles (the hot
// path), as a time series whose step is the whole seconds since the sampler started.
// Not included by <mltrack/mltrack.hpp>; needs -ldl on old glibc (CMake and meson add it).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <dlfcn.h>
#include <unistd.h>

#include "../environment.hpp"
#include "../error.hpp"
#include "../run.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace autolog {

/// How system_metrics samples.
struct system_metrics_options {
    /// Time between samples. Zero: no thread; call sample() yourself. Negative: error config.60.
    std::chrono::microseconds period{std::chrono::seconds(10)};
    bool gpu = true;                                       ///< sample GPUs through NVML when it loads
    std::filesystem::path proc_root = "/proc";             ///< where self/stat, self/statm, self/io, meminfo are
    std::string nvml_library = "libnvidia-ml.so.1";        ///< the name given to dlopen
    /// Problems (a /proc file that cannot be read, NVML absent), each reported once. Default: one line on
    /// stderr, "mltrack: system metrics: <message>". Called on the sampling thread; must not throw.
    std::function<void(const std::string&)> on_error{};
    /// Wall clock in ns since the epoch for the points' times; when set it also measures the steps and the
    /// CPU interval (tests). Default: system_clock for times, steady_clock for steps and intervals.
    std::int64_t (*clock)() noexcept = nullptr;
};

namespace detail {

/// utime + stime (clock ticks) from the text of /proc/<pid>/stat; false when malformed. Fields are counted
/// after the last ')' since the command name may hold spaces and parentheses.
inline bool parse_proc_stat_ticks(const std::string& text, unsigned long long& ticks) {
    const auto close = text.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream in(text.substr(close + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15; ++i) {  // field 3 is the state; utime is 14, stime 15
        if (!(in >> field)) return false;
        try {
            if (i == 14 || i == 15) {
                std::size_t used = 0;
                const auto v = std::stoull(field, &used);
                if (used != field.size()) return false;
                (i == 14 ? utime : stime) = v;
            }
        } catch (const std::exception&) {
            return false;
        }
    }
    ticks = utime + stime;
    return true;
}

/// The value of a "Name: 123 kB" or "name: 123" line of /proc/meminfo or /proc/<pid>/io, times `unit`.
inline bool parse_named_number(const std::string& text, std::string_view name, double unit, double& value) {
    bool found = false;
    ::mltrack::detail::for_each_line(text, [&](std::string_view line) {
        if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0 || line[name.size()] != ':')
            return false;
        std::istringstream in{std::string(line.substr(name.size() + 1))};
        unsigned long long v = 0;
        if (in >> v) {
            value = static_cast<double>(v) * unit;
            found = true;
        }
        return true;  // the first line of that name decides
    });
    return found;
}

/// The few NVML declarations the sampler needs (from the public nvml.h ABI).
namespace nvml {
using return_t = int;  // nvmlReturn_t: 0 is NVML_SUCCESS
struct device_st;
using device_t = device_st*;
struct utilization_t {
    unsigned int gpu;     // percent of time a kernel was running
    unsigned int memory;  // percent of time memory was read or written
};
struct memory_t {
    unsigned long long total, free, used;  // bytes
};
}  // namespace nvml

/// NVML loaded with dlopen; unusable (ok() false, why() says why) when the library or a symbol is missing
/// or nvmlInit fails.
class nvml_library {
public:
    explicit nvml_library(const std::string& name) {
        handle_ = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle_) {
            const char* e = ::dlerror();
            why_ = "NVML not available (" + (e ? std::string(e) : "cannot load " + name) + "); GPU metrics are off";
            return;
        }
        bool all = sym(init_, "nvmlInit_v2") && sym(shutdown_, "nvmlShutdown") &&
                   sym(count_, "nvmlDeviceGetCount_v2") && sym(by_index_, "nvmlDeviceGetHandleByIndex_v2") &&
                   sym(utilization_, "nvmlDeviceGetUtilizationRates") && sym(memory_, "nvmlDeviceGetMemoryInfo") &&
                   sym(power_, "nvmlDeviceGetPowerUsage");
        if (!all) {
            why_ = "NVML library " + name + " lacks a function the sampler needs; GPU metrics are off";
            return;
        }
        if (const int rc = init_(); rc != 0) {
            why_ = "nvmlInit failed (NVML error " + std::to_string(rc) + "); GPU metrics are off";
            init_ = nullptr;
            return;
        }
        unsigned int n = 0;
        if (count_(&n) != 0) n = 0;
        for (unsigned int i = 0; i < n; ++i) {
            nvml::device_t d = nullptr;
            devices_.push_back(by_index_(i, &d) == 0 ? d : nullptr);
        }
        ok_ = true;
    }
    nvml_library(const nvml_library&) = delete;
    nvml_library& operator=(const nvml_library&) = delete;
    ~nvml_library() {
        if (init_ && shutdown_) shutdown_();
        if (handle_) ::dlclose(handle_);
    }

    bool ok() const noexcept { return ok_; }
    const std::string& why() const noexcept { return why_; }
    std::size_t devices() const noexcept { return devices_.size(); }

    bool utilization(std::size_t i, double& percent) const noexcept {
        nvml::utilization_t u{};
        if (!devices_[i] || utilization_(devices_[i], &u) != 0) return false;
        percent = u.gpu;
        return true;
    }
    bool memory_used(std::size_t i, double& bytes) const noexcept {
        nvml::memory_t m{};
        if (!devices_[i] || memory_(devices_[i], &m) != 0) return false;
        bytes = static_cast<double>(m.used);
        return true;
    }
    bool power_watts(std::size_t i, double& watts) const noexcept {
        unsigned int mw = 0;
        if (!devices_[i] || power_(devices_[i], &mw) != 0) return false;
        watts = mw / 1000.0;
        return true;
    }

private:
    template <class F>
    bool sym(F& f, const char* name) {
        void* p = ::dlsym(handle_, name);
        if (!p) return false;
        static_assert(sizeof(F) == sizeof(void*), "function pointers are data-pointer sized on POSIX");
        std::memcpy(&f, &p, sizeof f);
        return true;
    }

    void* handle_ = nullptr;
    bool ok_ = false;
    std::string why_;
    nvml::return_t (*init_)() = nullptr;
    nvml::return_t (*shutdown_)() = nullptr;
    nvml::return_t (*count_)(unsigned int*) = nullptr;
    nvml::return_t (*by_index_)(unsigned int, nvml::device_t*) = nullptr;
    nvml::return_t (*utilization_)(nvml::device_t, nvml::utilization_t*) = nullptr;
    nvml::return_t (*memory_)(nvml::device_t, nvml::memory_t*) = nullptr;
    nvml::return_t (*power_)(nvml::device_t, unsigned int*) = nullptr;
    std::vector<nvml::device_t> devices_;
};

}  // namespace detail

/// Samples system metrics into a run, every `period` on its own thread, until it is destroyed or the run
/// ends. Declare it after the run it samples (it keeps a reference: it must not outlive the run, and the run
/// must not be moved while it samples):
///
///     auto run = tracker.start_run("r1");
///     mltrack::autolog::system_metrics sampler{run, {std::chrono::seconds(10)}};
///
/// Keys (each logged when its source can be read): system/cpu_percent (from the second sample on),
/// system/rss_bytes, system/memory_used_bytes, system/memory_available_bytes, system/io_read_bytes,
/// system/io_write_bytes, system/gpu.<i>.utilization, system/gpu.<i>.memory_used_bytes,
/// system/gpu.<i>.power_watts.
class system_metrics {
public:
    /// Throws mltrack::error: config.60 for a negative period; state.3 / state.4 / state.5 when the run has
    /// ended, its tracker is closed or the run object is empty. Never throws after that.
    explicit system_metrics(run& r, system_metrics_options options = {}) : run_(r), options_(std::move(options)) {
        if (options_.period.count() < 0)
            throw error(error_category::config, 60,
                        "system_metrics period is negative (" + std::to_string(options_.period.count()) +
                            " us); use a positive period, or zero to sample only when sample() is called");
        cpu_ = run_.metric("system/cpu_percent");  // throws the run's state errors
        rss_ = run_.metric("system/rss_bytes");
        mem_used_ = run_.metric("system/memory_used_bytes");
        mem_available_ = run_.metric("system/memory_available_bytes");
        io_read_ = run_.metric("system/io_read_bytes");
        io_write_ = run_.metric("system/io_write_bytes");
        start_ = monotonic_ns();
        if (options_.period.count() > 0 && !run_.inert()) {  // an inert rank or child: no thread, nothing read
            running_ = true;
            try {
                thread_ = std::thread([this] { loop(); });
            } catch (const std::exception& e) {
                running_ = false;
                report(std::string("cannot start the sampling thread: ") + e.what());
            }
        }
    }

    system_metrics(const system_metrics&) = delete;
    system_metrics& operator=(const system_metrics&) = delete;

    /// Stops the thread (without waiting for the period to pass) and joins it.
    ~system_metrics() {
        stop();
        if (forked()) {
            (void)nvml_.release();  // NVML belongs to the parent: never shut it down from a child
            (void)sync_.release();
        }
    }

    /// Stops sampling; idempotent, callable from any thread. In a forked child (which has no sampling
    /// thread, and where the parent's thread may have held a lock at the fork) it only forgets the parent's
    /// thread and takes no lock.
    void stop() noexcept {
        if (forked()) {
            // The parent's thread does not exist here: neither join nor detach it (pthread_detach on it is
            // undefined, and ThreadSanitizer aborts on it); park the handle where it is never destroyed.
            if (thread_.joinable()) {
                try {
                    static auto* const parked = new std::vector<std::thread>();  // reachable: not a leak
                    parked->push_back(std::move(thread_));
                } catch (...) {
                    thread_.detach();  // out of memory: the lesser evil
                }
            }
            return;
        }
        std::lock_guard<std::mutex> stopping(sync_->stop_m);
        {
            std::lock_guard<std::mutex> lock(sync_->wait_m);
            stop_ = true;
        }
        sync_->wait_cv.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    /// Takes one sample now and logs it. False (and nothing logged) once the run has ended or the tracker
    /// closed, and in a forked child. Never throws.
    bool sample() noexcept {
        if (forked()) return false;
        std::lock_guard<std::mutex> lock(sync_->sample_m);
        try {
            return sample_locked();
        } catch (...) {
            return run_active();
        }
    }

    /// Samples taken and logged so far.
    std::uint64_t samples() const noexcept { return samples_.load(std::memory_order_acquire); }
    /// Whether the sampling thread is still sampling (false without a thread, after stop(), or once the run
    /// ended).
    bool running() const noexcept { return running_.load(std::memory_order_acquire); }

private:
    std::int64_t monotonic_ns() const noexcept {
        if (options_.clock) return options_.clock();
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
    std::int64_t wall_ns() const noexcept {
        if (options_.clock) return options_.clock();
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    bool run_active() const noexcept { return run_.active(); }
    bool forked() const noexcept { return ::getpid() != owner_pid_; }

    void report(const std::string& message) noexcept {
        try {
            if (options_.on_error)
                options_.on_error(message);
            else
                std::fprintf(stderr, "mltrack: system metrics: %s\n", message.c_str());
        } catch (...) {
        }
    }

    /// Reports a source's failure the first time only.
    void failed(unsigned bit, const std::string& message) {
        if (reported_ & bit) return;
        reported_ |= bit;
        report(message);
    }

    void loop() noexcept {
        auto next = std::chrono::steady_clock::now();
        for (;;) {
            if (!sample()) break;
            next += options_.period;
            const auto now = std::chrono::steady_clock::now();
            if (next < now) next = now + options_.period;  // a slow sample: skip, do not burst
            std::unique_lock<std::mutex> lock(sync_->wait_m);
            if (sync_->wait_cv.wait_until(lock, next, [this] { return stop_; })) break;
        }
        running_.store(false, std::memory_order_release);
    }

    bool sample_locked() {
        if (!run_active()) return false;
        const std::int64_t mono = monotonic_ns();
        const std::int64_t time = wall_ns();
        const std::int64_t step = (mono - start_) / 1000000000;
        points_.clear();
        const auto& root = options_.proc_root;
        std::string text;

        unsigned long long ticks = 0;
        if (::mltrack::detail::read_small_file(root / "self" / "stat", text) && detail::parse_proc_stat_ticks(text, ticks)) {
            if (have_cpu_ && mono > cpu_mono_ && ticks >= cpu_ticks_) {
                const double seconds = static_cast<double>(mono - cpu_mono_) / 1e9;
                points_.emplace_back(&cpu_, static_cast<double>(ticks - cpu_ticks_) / clock_ticks_ / seconds * 100.0);
            }
            have_cpu_ = true;
            cpu_ticks_ = ticks;
            cpu_mono_ = mono;
        } else {
            failed(1, "cannot read or parse " + (root / "self" / "stat").string() + "; system/cpu_percent is not sampled");
        }

        std::istringstream statm;
        unsigned long long size = 0, resident = 0;
        if (::mltrack::detail::read_small_file(root / "self" / "statm", text) && (statm.str(text), statm >> size >> resident)) {
            points_.emplace_back(&rss_, static_cast<double>(resident) * page_size_);
        } else {
            failed(2, "cannot read or parse " + (root / "self" / "statm").string() + "; system/rss_bytes is not sampled");
        }

        double total = 0, available = 0;
        if (::mltrack::detail::read_small_file(root / "meminfo", text) && detail::parse_named_number(text, "MemTotal", 1024, total) &&
            detail::parse_named_number(text, "MemAvailable", 1024, available)) {
            points_.emplace_back(&mem_used_, total - available);
            points_.emplace_back(&mem_available_, available);
        } else {
            failed(4, "cannot read MemTotal and MemAvailable from " + (root / "meminfo").string() +
                          "; system/memory_used_bytes and system/memory_available_bytes are not sampled");
        }

        double read = 0, write = 0;
        if (::mltrack::detail::read_small_file(root / "self" / "io", text) && detail::parse_named_number(text, "read_bytes", 1, read) &&
            detail::parse_named_number(text, "write_bytes", 1, write)) {
            points_.emplace_back(&io_read_, read);
            points_.emplace_back(&io_write_, write);
        } else {
            failed(8, "cannot read read_bytes and write_bytes from " + (root / "self" / "io").string() +
                          "; system/io_read_bytes and system/io_write_bytes are not sampled");
        }

        if (options_.gpu) sample_gpus();

        if (!run_active()) return false;
        for (const auto& [handle, value] : points_) handle->log(value, step, time);
        samples_.fetch_add(1, std::memory_order_release);
        return true;
    }

    void sample_gpus() {
        if (!nvml_tried_) {
            nvml_tried_ = true;
            nvml_ = std::make_unique<detail::nvml_library>(options_.nvml_library);
            if (!nvml_->ok()) {
                failed(16, nvml_->why());
                nvml_.reset();
                return;
            }
            for (std::size_t i = 0; i < nvml_->devices(); ++i) {
                const std::string prefix = "system/gpu." + std::to_string(i) + ".";
                gpu_.push_back({run_.metric(prefix + "utilization"), run_.metric(prefix + "memory_used_bytes"),
                                run_.metric(prefix + "power_watts")});
            }
        }
        if (!nvml_) return;
        for (std::size_t i = 0; i < gpu_.size(); ++i) {
            double v = 0;
            if (nvml_->utilization(i, v)) points_.emplace_back(&gpu_[i].utilization, v);
            if (nvml_->memory_used(i, v)) points_.emplace_back(&gpu_[i].memory_used, v);
            if (nvml_->power_watts(i, v)) points_.emplace_back(&gpu_[i].power, v);
        }
    }

    struct gpu_handles {
        metric_handle utilization, memory_used, power;
    };

    run& run_;
    system_metrics_options options_;
    metric_handle cpu_, rss_, mem_used_, mem_available_, io_read_, io_write_;
    std::vector<gpu_handles> gpu_;
    std::unique_ptr<detail::nvml_library> nvml_;
    bool nvml_tried_ = false;
    std::vector<std::pair<const metric_handle*, double>> points_;
    std::int64_t start_ = 0;
    bool have_cpu_ = false;
    unsigned long long cpu_ticks_ = 0;
    std::int64_t cpu_mono_ = 0;
    unsigned reported_ = 0;
    const double clock_ticks_ = static_cast<double>(::sysconf(_SC_CLK_TCK) > 0 ? ::sysconf(_SC_CLK_TCK) : 100);
    const double page_size_ = static_cast<double>(::sysconf(_SC_PAGESIZE) > 0 ? ::sysconf(_SC_PAGESIZE) : 4096);

    const pid_t owner_pid_ = ::getpid();
    struct sync_state {
        std::mutex stop_m;
        std::mutex sample_m;
        std::mutex wait_m;
        std::condition_variable wait_cv;
    };
    // On the heap so a forked child can leak it: destroying a condition variable the parent's thread waits
    // on blocks forever in the child (glibc waits for waiters that do not exist there).
    std::unique_ptr<sync_state> sync_ = std::make_unique<sync_state>();
    bool stop_ = false;
    std::atomic<bool> running_{false};
    std::atomic<std::uint64_t> samples_{0};
    std::thread thread_;
};

}  // namespace autolog
MLTRACK_NAMESPACE_END
