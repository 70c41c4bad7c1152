// termination.hpp: SIGTERM / SIGUSR1 end every open run PREEMPTED, SIGINT CANCELLED; every point logged
// before the signal is in the files; the sinks are flushed within the timeout; the signal is re-raised with
// its default action, so the process still dies of it. Children are forked so the test process survives.
#include <doctest/doctest.h>

#include <mltrack/mltrack.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "support/tb_decoder.hpp"
#include "unit/unit_support.hpp"

namespace {

namespace fs = std::filesystem;

/// Forks; the child logs `signal_at + 1` steps, sends itself `sig`, then goes on logging until it dies.
/// The child writes the last step it logged before the signal to `marker`. Returns the wait status.
int child_killed_by(int sig, const fs::path& root, const fs::path& marker, bool with_callback = false) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::alarm(60);
        mltrack::config c{"exp"};
        c.flush_interval = std::chrono::hours(1);  // only the handler's flush can save the tail
#if defined(__SANITIZE_THREAD__)
        c.dispatch = mltrack::dispatch_mode::inline_;  // TSan cannot start threads after a multi-threaded fork
#endif
        mltrack::tracker t{c, mltrack::sinks::jsonl{root / "runs"}, mltrack::sinks::tensorboard{root / "tb"}};
        auto run = t.start_run("r");
        mltrack::termination_options o;
        if (with_callback) o.on_signal = [&run](int s) { run.log_metrics({{"checkpoint_signal", double(s)}}); };
        mltrack::termination_handler handler{t, o};
        auto loss = run.metric("loss");
        const std::int64_t signal_at = 300;
        for (std::int64_t i = 0;; ++i) {
            loss.log(1.0 / double(i + 1), i);
            if (i == signal_at) {
                unit::write_file(marker, std::to_string(i));
                ::kill(::getpid(), sig);
            }
            if (i > signal_at) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return status;
}

void check_ended(int sig, const char* state, bool with_callback = false) {
    unit::temp_dir dir;
    const int status = child_killed_by(sig, dir.path(), dir / "marker", with_callback);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == sig);  // re-raised with the default action: the job dies of its signal
    const auto before = std::stoll(unit::read_file(dir / "marker"));
    const fs::path file = dir / "runs" / "exp" / "r" / "events.jsonl";
    const auto lines = unit::parse_jsonl(file);  // every line parses: nothing torn
    std::int64_t expect = 0;
    for (const auto& j : unit::of_kind(lines, "metrics")) CHECK(j["step"].get<std::int64_t>() == expect++);
    CHECK(expect > before);  // every point logged before the signal, and nothing missing after
    REQUIRE(lines.back()["kind"] == "run_end");
    CHECK(lines.back()["state"] == state);
    CHECK(unit::of_kind(lines, "run_end").size() == 1);
    if (with_callback) {
        const auto s = unit::of_kind(lines, "summary");
        REQUIRE(s.size() == 1);
        CHECK(s[0]["values"]["checkpoint_signal"] == double(sig));
    }
    // The reader agrees, and TensorBoard got the same points.
    const auto back = mltrack::read_run(dir / "runs" / "exp" / "r");
    CHECK(mltrack::to_string(back.state) == std::string(state));
    CHECK_FALSE(back.torn_tail);
    std::size_t tb_points = 0;
    for (const auto& e : fs::directory_iterator(dir / "tb" / "exp" / "r"))
        for (const auto& ev : tbdec::decode_file(e.path().string()).events)
            for (const auto& v : ev.values) tb_points += v.tag == "loss" ? 1 : 0;
    CHECK(tb_points == back.series.at("loss").size());
}

/// A sink that blocks in flush() until released: the handler must give up after its timeout.
struct stuck_sink {
    std::shared_ptr<std::atomic<bool>> release = std::make_shared<std::atomic<bool>>(false);
    std::string_view name() const { return "stuck"; }
    void write(const mltrack::batch&) {}
    void flush() {
        while (!release->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
};

template <class Pred>
bool eventually(Pred p) {  // liveness only: a generous bound, never a timing assertion
    for (int i = 0; i < 30000 && !p(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return p();
}

}  // namespace

TEST_CASE("SIGTERM (time limit): the run ends PREEMPTED with every point, and the process dies of SIGTERM") {
    check_ended(SIGTERM, "PREEMPTED");
}

TEST_CASE("SIGUSR1 (preemption notice): PREEMPTED; on_signal runs first and its record is kept") {
    check_ended(SIGUSR1, "PREEMPTED", true);
}

TEST_CASE("SIGINT (Ctrl-C): CANCELLED") { check_ended(SIGINT, "CANCELLED"); }

TEST_CASE("reraise = false: the program goes on, the run is ended and flushed, later calls are late") {
    unit::temp_dir dir;
    struct sigaction before {};
    ::sigaction(SIGTERM, nullptr, &before);
    {
        mltrack::tracker t{{"exp"}, mltrack::sinks::jsonl{dir / "runs"}};
        auto run = t.start_run("r");
        auto other = t.start_run("s");
        mltrack::termination_options o;
        o.reraise = false;
        mltrack::termination_handler handler{t, o};
        CHECK_ERROR_ID("state.9", mltrack::termination_handler(t, o));  // one per process
        for (int i = 0; i < 100; ++i) run.log("loss", i, i);
        CHECK_FALSE(handler.triggered());
        ::raise(SIGTERM);
        REQUIRE(eventually([&] { return handler.triggered(); }));
        CHECK(handler.signal() == SIGTERM);
        CHECK(handler.flushed_in_time());
        // Both runs are on disk, ended, before anything else happens.
        for (const char* name : {"r", "s"}) {
            const auto lines = unit::parse_jsonl(dir / "runs" / "exp" / name / "events.jsonl");
            CHECK(lines.back()["state"] == "PREEMPTED");
        }
        CHECK(unit::of_kind(unit::parse_jsonl(dir / "runs" / "exp" / "r" / "events.jsonl"), "metrics").size() == 100);
        run.log("loss", 1.0, 100);  // after the end: counted late, never written
        run.end();
        t.flush();
        CHECK(t.stats().late >= 1);
    }
    struct sigaction after {};
    ::sigaction(SIGTERM, nullptr, &after);
    CHECK((after.sa_handler == before.sa_handler));  // the previous action is back
    const auto lines = unit::parse_jsonl(dir / "runs" / "exp" / "r" / "events.jsonl");
    CHECK(unit::of_kind(lines, "run_end").size() == 1);
    CHECK(unit::of_kind(lines, "metrics").size() == 100);
    mltrack::termination_options o;
    o.reraise = false;
    mltrack::tracker t2{{"exp"}, mltrack::sinks::memory{}};
    mltrack::termination_handler again{t2, o};  // installable again once the first is gone
    CHECK_FALSE(again.triggered());
}

TEST_CASE("a sink that never finishes: the handler gives up after its timeout") {
    stuck_sink sink;
    auto release = sink.release;
    mltrack::tracker t{{"exp"}, sink};
    auto run = t.start_run("r");
    run.log("loss", 1.0, 0);
    {
        mltrack::termination_options o;
        o.reraise = false;
        o.timeout = std::chrono::milliseconds(100);
        mltrack::termination_handler handler{t, o};
        ::raise(SIGUSR1);
        REQUIRE(eventually([&] { return handler.triggered(); }));
        CHECK_FALSE(handler.flushed_in_time());
        release->store(true);
    }
}

TEST_CASE("a child forked while the handler is installed dies of SIGTERM and SIGINT, and keeps an ignored SIGUSR1") {
    // The child inherits the handler but not its thread: without restoring the previous actions it would
    // store the signal where nothing looks, and live on.
    if (UNIT_TSAN) {
        // ThreadSanitizer's runtime takes every signal first and delivers it later from its own bookkeeping,
        // which a child forked from a multi-threaded process does not run: the default action never comes.
        // The other builds (GCC, ASan+UBSan, meson) run this test.
        MESSAGE("skipped under ThreadSanitizer");
        return;
    }
    struct sigaction ignore {}, usr1_before {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGUSR1, &ignore, &usr1_before);  // the action before the handler: ignored (like nohup)
    {
        mltrack::tracker t{{"exp"}, mltrack::sinks::memory{}};
        mltrack::termination_options o;
        o.reraise = false;
        mltrack::termination_handler handler{t, o};
        for (const int sig : {SIGTERM, SIGINT}) {
            for (int trial = 0; trial < 5; ++trial) {
                int ready[2];
                REQUIRE(::pipe(ready) == 0);
                const pid_t pid = ::fork();
                if (pid == 0) {
                    ::alarm(10);  // a child that ignores the signal dies of SIGALRM instead: a failure, not a hang
                    ::close(ready[0]);
                    (void)!::write(ready[1], "r", 1);
                    if (sig == SIGTERM) ::kill(::getpid(), SIGUSR1);  // ignored, as before the handler
                    for (;;) ::pause();
                }
                REQUIRE(pid > 0);
                ::close(ready[1]);
                char byte = 0;
                REQUIRE(::read(ready[0], &byte, 1) == 1);
                ::close(ready[0]);
                if (trial % 2 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
                ::kill(pid, sig);
                int status = 0;
                REQUIRE(::waitpid(pid, &status, 0) == pid);
                INFO("signal " << sig << ", status " << status);
                REQUIRE(WIFSIGNALED(status));
                CHECK(WTERMSIG(status) == sig);
            }
        }
        CHECK_FALSE(handler.triggered());  // the children's signals never reached the parent's handler
        // A signal sent at the moment of the fork: blocked across it, then met by the restored action.
        for (int trial = 0; trial < 20; ++trial) {
            const pid_t pid = ::fork();
            if (pid == 0) {
                ::alarm(10);
                for (;;) ::pause();
            }
            REQUIRE(pid > 0);
            ::kill(pid, SIGTERM);
            int status = 0;
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            REQUIRE(WIFSIGNALED(status));
            CHECK(WTERMSIG(status) == SIGTERM);
        }
        CHECK_FALSE(handler.triggered());
    }
    ::sigaction(SIGUSR1, &usr1_before, nullptr);
}

TEST_CASE("state_for_signal") {
    CHECK(mltrack::state_for_signal(SIGINT) == mltrack::run_state::cancelled);
    CHECK(mltrack::state_for_signal(SIGTERM) == mltrack::run_state::preempted);
    CHECK(mltrack::state_for_signal(SIGUSR1) == mltrack::run_state::preempted);
    CHECK(std::string(mltrack::to_string(mltrack::run_state::preempted)) == "PREEMPTED");
    CHECK(mltrack::parse_run_state("PREEMPTED") == mltrack::run_state::preempted);
}
