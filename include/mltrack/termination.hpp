// Why: a SLURM time limit, a preemption or Ctrl-C ends a job with a signal, and a run left RUNNING with its
// last seconds of metrics in memory is the usual result. This opt-in handler catches SIGTERM, SIGUSR1 and
// SIGINT: the signal handler itself only stores the signal in an atomic and writes one byte to a pipe (both
// async-signal-safe); a small thread wakes up, ends every open run with PREEMPTED (SIGINT: CANCELLED),
// flushes every sink within a time bound, then restores the default action and re-raises the signal, so the
// job still dies of it (and its exit status says so). Never installed unless constructed. A forked child
// gets the previous actions back (a pthread_atfork hook): it has no watcher thread to act on a signal.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "error.hpp"
#include "tracker.hpp"

MLTRACK_NAMESPACE_BEGIN

struct termination_options {
    std::vector<int> signals{SIGTERM, SIGUSR1, SIGINT};  ///< caught while the handler lives
    std::chrono::milliseconds timeout{10000};  ///< longest wait for the sinks (SLURM's KillWait is 30 s)
    bool reraise = true;  ///< re-raise with the default action after flushing (false: the program goes on and
                          ///< polls triggered(), e.g. to checkpoint and exit by itself)
    std::function<void(int signal)> on_signal;  ///< runs first, on the handler's thread (save a checkpoint...)
};

/// The state a run ends with for a signal: CANCELLED for SIGINT (someone pressed Ctrl-C), else PREEMPTED.
inline run_state state_for_signal(int signal) noexcept {
    return signal == SIGINT ? run_state::cancelled : run_state::preempted;
}

namespace detail {

struct termination_globals {
    std::atomic<int> signal{0};     ///< the first signal caught (0: none)
    std::atomic<int> wake_fd{-1};   ///< the pipe's write end
    std::atomic<bool> installed{false};
    /// The actions the handler replaced, for a forked child (which has no watcher thread) to get back.
    static constexpr int max_signals = 16;
    int caught[max_signals] = {};
    struct sigaction previous[max_signals] = {};
    std::atomic<int> count{0};
};

inline termination_globals& termination() noexcept {
    static termination_globals g;  // constant-initialized: safe to reach from a signal handler
    return g;
}

/// In a child of fork(): the handler's copy is there but its watcher thread is not, so a caught signal
/// would only be stored and the child would ignore SIGTERM and SIGINT. Puts back the actions the handler
/// replaced (sigaction is async-signal-safe) and detaches the child from the parent's pipe.
inline void termination_forget_in_child() noexcept {
    auto& g = termination();
    if (!g.installed.load(std::memory_order_relaxed)) return;
    g.wake_fd.store(-1, std::memory_order_relaxed);
    const int n = g.count.load(std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) ::sigaction(g.caught[i], &g.previous[i], nullptr);
    g.count.store(0, std::memory_order_relaxed);
    g.installed.store(false, std::memory_order_relaxed);  // a child may install its own handler
}

/// The forking thread's signal mask before fork() blocked the caught signals.
inline sigset_t& termination_mask_before_fork() noexcept {
    static thread_local sigset_t mask;
    return mask;
}

/// Registers the fork hooks once per process: the caught signals are blocked across fork() (so one that
/// arrives while the child is being made waits, and then meets the restored action, instead of being
/// stored where no thread looks), the child gets the previous actions back, both unblock.
inline void termination_watch_forks() noexcept {
    static const int registered = ::pthread_atfork(
        [] {
            auto& g = termination();
            sigset_t block;
            sigemptyset(&block);
            const int n = g.installed.load() ? g.count.load() : 0;
            for (int i = 0; i < n; ++i) sigaddset(&block, g.caught[i]);
            ::pthread_sigmask(SIG_BLOCK, &block, &termination_mask_before_fork());
        },
        [] { ::pthread_sigmask(SIG_SETMASK, &termination_mask_before_fork(), nullptr); },
        [] {
            termination_forget_in_child();
            ::pthread_sigmask(SIG_SETMASK, &termination_mask_before_fork(), nullptr);
        });
    (void)registered;
}

extern "C" inline void termination_signal_handler(int sig) {
    const int saved = errno;
    auto& g = termination();
    int none = 0;
    g.signal.compare_exchange_strong(none, sig);
    const int fd = g.wake_fd.load();
    if (fd >= 0) {
        const char byte = 1;
        (void)!::write(fd, &byte, 1);
    }
    errno = saved;
}

}  // namespace detail

/// RAII: installs the handler for the given trackers and removes it (restoring the previous actions) when
/// destroyed. One may be installed at a time in a process (error state.9 otherwise).
///
///     mltrack::tracker t{{"job"}, mltrack::sinks::jsonl{"runs"}};
///     mltrack::termination_handler on_term{t};   // after the tracker: destroyed before it
class termination_handler {
public:
    explicit termination_handler(tracker_base& t, termination_options options = {})
        : termination_handler(std::vector<tracker_base*>{&t}, std::move(options)) {}

    termination_handler(const std::vector<tracker_base*>& trackers, termination_options options)
        : options_(std::move(options)) {
        for (auto* t : trackers)
            if (t && t->core_) cores_.push_back(t->core_);
        auto& g = detail::termination();
        if (g.installed.exchange(true))
            throw error(error_category::state, 9, "a termination_handler is already installed in this process");
        if (::pipe2(pipe_, O_CLOEXEC) != 0) {
            g.installed.store(false);
            throw error(error_category::io, 30, std::string("cannot create the termination handler's pipe: ") +
                                                    std::strerror(errno));
        }
        ::fcntl(pipe_[1], F_SETFL, O_NONBLOCK);  // the signal handler must never block
        g.signal.store(0);
        g.wake_fd.store(pipe_[1]);
        thread_ = std::thread([this] { watch(); });
        detail::termination_watch_forks();
        g.count.store(0);
        for (int sig : options_.signals) {
            struct sigaction sa {};
            sa.sa_handler = &detail::termination_signal_handler;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESTART;
            struct sigaction previous {};
            if (::sigaction(sig, &sa, &previous) != 0) continue;
            previous_.emplace_back(sig, previous);
            const int i = g.count.load();
            if (i < detail::termination_globals::max_signals) {
                g.caught[i] = sig;
                g.previous[i] = previous;
                g.count.store(i + 1);
            }
        }
    }

    termination_handler(const termination_handler&) = delete;
    termination_handler& operator=(const termination_handler&) = delete;

    ~termination_handler() {
        if (::getpid() != pid_) {  // a forked child's copy: the thread and the globals are the parent's
            if (thread_.joinable()) new std::thread(std::move(thread_));  // leaked on purpose: never joined
            return;
        }
        detail::termination().count.store(0);
        for (auto& p : previous_) ::sigaction(p.first, &p.second, nullptr);
        stopping_.store(true);
        const char byte = 0;
        (void)!::write(pipe_[1], &byte, 1);
        if (thread_.joinable()) thread_.join();
        auto& g = detail::termination();
        g.wake_fd.store(-1);
        ::close(pipe_[0]);
        ::close(pipe_[1]);
        g.installed.store(false);
    }

    /// True once a signal was caught (and, when it returned, the runs were ended and flushed).
    bool triggered() const noexcept { return handled_.load(std::memory_order_acquire) != 0; }
    /// The signal that was caught, or 0.
    int signal() const noexcept { return handled_.load(std::memory_order_acquire); }
    /// False when the sinks did not finish within the timeout (the signal was re-raised anyway).
    bool flushed_in_time() const noexcept { return in_time_.load(std::memory_order_acquire); }

private:
    void watch() noexcept {
        for (;;) {
            char byte = 0;
            const ssize_t n = ::read(pipe_[0], &byte, 1);
            if (n < 0 && errno == EINTR) continue;
            if (stopping_.load()) return;
            const int sig = detail::termination().signal.load();
            if (n <= 0 || sig == 0) continue;
            handle(sig);
            return;  // one signal is handled once; later ones only set the atomic
        }
    }

    void handle(int sig) noexcept {
        if (options_.on_signal) {
            try { options_.on_signal(sig); } catch (...) {}
        }
        const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
        bool in_time = true;
        for (auto& c : cores_) {
            try {
                c->end_open_runs(state_for_signal(sig));
                in_time = c->flush_for(deadline - std::chrono::steady_clock::now()) && in_time;
            } catch (...) {
                in_time = false;
            }
        }
        in_time_.store(in_time, std::memory_order_release);
        handled_.store(sig, std::memory_order_release);
        if (!options_.reraise) return;
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        ::sigaction(sig, &dfl, nullptr);
        sigset_t only;
        sigemptyset(&only);
        sigaddset(&only, sig);
        ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);  // this thread inherited its creator's mask
        ::raise(sig);
    }

    termination_options options_;
    pid_t pid_ = ::getpid();  ///< the process that installed it (a forked child's copy does nothing)
    std::vector<std::shared_ptr<detail::core>> cores_;
    std::vector<std::pair<int, struct sigaction>> previous_;
    int pipe_[2] = {-1, -1};
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> handled_{0};
    std::atomic<bool> in_time_{true};
};

MLTRACK_NAMESPACE_END
