// Why: the tracker half of the C API: configuration (a struct or a key=value option string), sinks named
// by URI through one table of schemes (a new sink is one entry), open/flush/close, ranks, statistics and
// the process's termination handler. Trackers still open at exit() are closed then, so a C or Fortran
// program that ends without closing keeps what it logged.
#include "support.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#if MLTRACK_C_WITH_VERTEX
#include <mltrack/sinks/mlflow.hpp>
#include <mltrack/sinks/vertex_ai.hpp>
#endif

namespace mltrack_c {
namespace {

[[noreturn]] void config_error(std::string message) {
    throw c_error{MLTRACK_E_CONFIG, "c.5", std::move(message)};
}

// ---- sinks by URI: "<scheme>:<where>"

using sink_factory = mltrack::sinks::any (*)(const std::string& where);

struct sink_scheme {
    const char* scheme;
    const char* form;         ///< how the URI is written, for messages
    sink_factory make;        ///< nullptr: not built into this library
    const char* unavailable;  ///< why, when make is nullptr
};

mltrack::sinks::any make_jsonl(const std::string& where) { return mltrack::sinks::jsonl{where}; }
mltrack::sinks::any make_tensorboard(const std::string& where) { return mltrack::sinks::tensorboard{where}; }
#if MLTRACK_C_WITH_VERTEX
mltrack::sinks::any make_vertex(const std::string& where) {
    const auto slash = where.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == where.size() ||
        where.find('/', slash + 1) != std::string::npos)
        config_error("sink 'vertex:" + where + "' is not vertex:PROJECT/LOCATION (e.g. vertex:my-project/us-central1)");
    mltrack::sinks::vertex_ai_options o;
    o.project = where.substr(0, slash);
    o.location = where.substr(slash + 1);
    return mltrack::sinks::vertex_ai{o};
}
// "mlflow:http://host:port" (the tracking server), or "mlflow:" alone: MLFLOW_TRACKING_URI.
mltrack::sinks::any make_mlflow(const std::string& where) {
    if (!where.empty() && where.rfind("http://", 0) != 0 && where.rfind("https://", 0) != 0)
        config_error("sink 'mlflow:" + where + "' is not mlflow:http(s)://HOST[:PORT] (or mlflow: alone for "
                     "MLFLOW_TRACKING_URI)");
    mltrack::sinks::mlflow_options o;
    o.tracking_uri = where;
    return mltrack::sinks::mlflow{std::move(o)};
}
#endif

constexpr sink_scheme schemes[] = {
    {"jsonl", "jsonl:DIR", &make_jsonl, nullptr},
    {"tensorboard", "tensorboard:DIR", &make_tensorboard, nullptr},
#if MLTRACK_C_WITH_VERTEX
    {"vertex", "vertex:PROJECT/LOCATION", &make_vertex, nullptr},
#else
    {"vertex", "vertex:PROJECT/LOCATION", nullptr, "this library was built without libcurl"},
#endif
#if MLTRACK_C_WITH_VERTEX
    {"mlflow", "mlflow:URI", &make_mlflow, nullptr},
#else
    {"mlflow", "mlflow:URI", nullptr, "this library was built without libcurl"},
#endif
};

mltrack::sinks::any make_sink(std::string_view uri) {
    const auto colon = uri.find(':');
    const std::string_view scheme = colon == std::string_view::npos ? std::string_view() : uri.substr(0, colon);
    std::string known;
    for (const auto& s : schemes) {
        known += known.empty() ? "" : ", ";
        known += s.form;
        if (scheme != s.scheme) continue;
        const std::string where(uri.substr(colon + 1));
        if (!s.make)
            throw c_error{MLTRACK_E_UNSUPPORTED, "c.6",
                          "sink '" + std::string(uri) + "': " + s.unavailable};
        if (where.empty()) config_error("sink '" + std::string(uri) + "' has nothing after the ':' (" + s.form + ")");
        return s.make(where);
    }
    config_error("sink '" + mltrack::detail::printable(std::string(uri)) + "' is not one of " + known);
}

// ---- configuration

/// What both configuration routes fill before the tracker is made.
struct settings {
    mltrack::config cfg;
    std::vector<mltrack::sinks::any> sinks;
};

std::uint64_t open_tracker(settings s);

mltrack::overflow_policy overflow_of(int v) {
    if (v == MLTRACK_OVERFLOW_BLOCK) return mltrack::overflow_policy::block;
    if (v == MLTRACK_OVERFLOW_DROP_NEWEST) return mltrack::overflow_policy::drop_newest;
    throw c_error{MLTRACK_E_ARGUMENT, "c.4", "overflow is " + std::to_string(v) + ", not an MLTRACK_OVERFLOW_* value"};
}
mltrack::dispatch_mode dispatch_of(int v) {
    if (v == MLTRACK_DISPATCH_THREADED) return mltrack::dispatch_mode::threaded;
    if (v == MLTRACK_DISPATCH_INLINE) return mltrack::dispatch_mode::inline_;
    throw c_error{MLTRACK_E_ARGUMENT, "c.4", "dispatch is " + std::to_string(v) + ", not an MLTRACK_DISPATCH_* value"};
}
mltrack::rank_policy ranks_of(int v) {
    if (v == MLTRACK_RANKS_ZERO) return mltrack::rank_policy::zero;
    if (v == MLTRACK_RANKS_EVERY) return mltrack::rank_policy::every;
    throw c_error{MLTRACK_E_ARGUMENT, "c.4", "ranks is " + std::to_string(v) + ", not an MLTRACK_RANKS_* value"};
}

void check_rank_numbers(int rank, int world_size) {
    if (rank < -1 || world_size < -1 || world_size == 0)
        throw c_error{MLTRACK_E_ARGUMENT, "c.4",
                      "rank " + std::to_string(rank) + " / world_size " + std::to_string(world_size) +
                          ": each is -1 (from the environment) or a rank below a positive size"};
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::int64_t option_int(std::string_view key, std::string_view v, std::int64_t lo, std::int64_t hi) {
    const std::string s(v);
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || errno != 0 || *end != '\0' || n < lo || n > hi)
        config_error("option " + std::string(key) + "='" + mltrack::detail::printable(s) + "' is not an integer from " +
                     std::to_string(lo) + " to " + std::to_string(hi));
    return n;
}

settings parse_options(std::string_view text) {
    settings s;
    bool have_experiment = false;
    std::size_t at = 0;
    while (at <= text.size()) {
        std::size_t end = text.find_first_of(";\n", at);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view item = trim(text.substr(at, end - at));
        at = end + 1;
        if (item.empty()) continue;
        const auto eq = item.find('=');
        if (eq == std::string_view::npos)
            config_error("option '" + mltrack::detail::printable(std::string(item)) + "' is not key=value");
        const std::string_view key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
        if (key == "experiment") {
            s.cfg.experiment = std::string(value);
            have_experiment = true;
        } else if (key == "sink") {
            s.sinks.push_back(make_sink(value));
        } else if (key == "queue_capacity") {
            s.cfg.queue_capacity = static_cast<std::size_t>(option_int(key, value, 1, std::int64_t{1} << 30));
        } else if (key == "overflow") {
            if (value == "block") s.cfg.overflow = mltrack::overflow_policy::block;
            else if (value == "drop_newest") s.cfg.overflow = mltrack::overflow_policy::drop_newest;
            else config_error("option overflow='" + std::string(value) + "' is not block or drop_newest");
        } else if (key == "dispatch") {
            if (value == "threaded") s.cfg.dispatch = mltrack::dispatch_mode::threaded;
            else if (value == "inline") s.cfg.dispatch = mltrack::dispatch_mode::inline_;
            else config_error("option dispatch='" + std::string(value) + "' is not threaded or inline");
        } else if (key == "flush_interval_ms") {
            s.cfg.flush_interval = std::chrono::milliseconds(option_int(key, value, 1, std::int64_t{1} << 40));
        } else if (key == "ranks") {
            if (value == "zero") s.cfg.ranks = mltrack::rank_policy::zero;
            else if (value == "every") s.cfg.ranks = mltrack::rank_policy::every;
            else config_error("option ranks='" + std::string(value) + "' is not zero or every");
        } else if (key == "rank") {
            s.cfg.rank = static_cast<int>(option_int(key, value, -1, 1 << 30));
        } else if (key == "world_size") {
            s.cfg.world_size = static_cast<int>(option_int(key, value, -1, 1 << 30));
        } else if (key == "capture_environment") {
            s.cfg.capture_environment = option_int(key, value, 0, 1) == 1;
        } else {
            config_error("unknown option '" + mltrack::detail::printable(std::string(key)) +
                         "' (experiment, sink, queue_capacity, overflow, dispatch, flush_interval_ms, ranks, rank, "
                         "world_size, capture_environment)");
        }
    }
    if (!have_experiment) config_error("the options name no experiment (experiment=NAME)");
    check_rank_numbers(s.cfg.rank, s.cfg.world_size);
    return s;
}

std::uint64_t open_tracker(settings s) {
    auto obj = std::make_shared<tracker_obj>();
    obj->tracker = std::make_unique<mltrack::tracker>(std::move(s.cfg), std::move(s.sinks));
    return tracker_registry.add(std::move(obj));
}

/// Closes every tracker still open when the process exits (registered with the first open).
void close_all_at_exit() noexcept {
    std::vector<std::shared_ptr<tracker_obj>> open;
    try {
        tracker_registry.for_each([&](const std::shared_ptr<tracker_obj>& t) { open.push_back(t); });
    } catch (...) {
    }
    for (auto& t : open) {
        std::lock_guard<std::mutex> lock(t->mutex);
        if (t->tracker) t->tracker->close();
    }
}

void register_exit_hook() noexcept {
    static const bool registered = std::atexit(&close_all_at_exit) == 0;
    (void)registered;
}

int store_handle(std::uint64_t h, mltrack_tracker* out) {
    out->id = h;
    register_exit_hook();
    return MLTRACK_OK;
}

// ---- the termination handler: one per process
std::mutex termination_mutex;
std::unique_ptr<mltrack::termination_handler> termination;

}  // namespace
}  // namespace mltrack_c

using namespace mltrack_c;

extern "C" {

MLTRACK_C_API int mltrack_config_init(mltrack_config* config) {
    return guarded([&] {
        need(config, "config");
        std::memset(config, 0, sizeof *config);
        config->overflow = MLTRACK_OVERFLOW_BLOCK;
        config->dispatch = MLTRACK_DISPATCH_THREADED;
        config->ranks = MLTRACK_RANKS_ZERO;
        config->rank = -1;
        config->world_size = -1;
        config->capture_environment = 1;
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_tracker_open(const mltrack_config* config, mltrack_tracker* out) {
    return guarded([&] {
        need(out, "out");
        out->id = 0;
        need(config, "config");
        settings s;
        s.cfg.experiment = std::string(text(config->experiment, "config->experiment"));
        need_count(config->sink_count, "config->sink_count");
        if (config->sink_count > 0) need(config->sinks, "config->sinks");
        need_count(config->queue_capacity, "config->queue_capacity");
        need_count(config->flush_interval_ms, "config->flush_interval_ms");
        if (config->queue_capacity > (std::int64_t{1} << 30))
            throw c_error{MLTRACK_E_ARGUMENT, "c.4", "config->queue_capacity is above 2^30"};
        for (std::int64_t i = 0; i < config->sink_count; ++i)
            s.sinks.push_back(make_sink(text(config->sinks[i], "config->sinks[i]")));
        if (config->queue_capacity > 0) s.cfg.queue_capacity = static_cast<std::size_t>(config->queue_capacity);
        s.cfg.overflow = overflow_of(config->overflow);
        s.cfg.dispatch = dispatch_of(config->dispatch);
        if (config->flush_interval_ms > 0) s.cfg.flush_interval = std::chrono::milliseconds(config->flush_interval_ms);
        s.cfg.ranks = ranks_of(config->ranks);
        check_rank_numbers(config->rank, config->world_size);
        s.cfg.rank = config->rank;
        s.cfg.world_size = config->world_size;
        if (config->capture_environment != 0 && config->capture_environment != 1)
            throw c_error{MLTRACK_E_ARGUMENT, "c.4", "config->capture_environment is not 0 or 1"};
        s.cfg.capture_environment = config->capture_environment == 1;
        return store_handle(open_tracker(std::move(s)), out);
    });
}

MLTRACK_C_API int mltrack_tracker_open_options_n(const char* options, int64_t length, mltrack_tracker* out) {
    return guarded([&] {
        need(out, "out");
        out->id = 0;
        need(options, "options");
        need_count(length, "length");
        const std::string_view text(options, static_cast<std::size_t>(length));
        // The option string is text: checked as UTF-8 like other values (names are checked by the tracker).
        std::string copy(text);
        utf8_text(copy.c_str(), "options");
        if (copy.find('\0') != std::string::npos)
            throw c_error{MLTRACK_E_ARGUMENT, "c.9", "options contain a NUL byte"};
        return store_handle(open_tracker(parse_options(text)), out);
    });
}

MLTRACK_C_API int mltrack_tracker_open_options(const char* options, mltrack_tracker* out) {
    if (!options) {
        if (out) out->id = 0;
        return fail(MLTRACK_E_ARGUMENT, "c.1", "options is NULL");
    }
    return mltrack_tracker_open_options_n(options, static_cast<int64_t>(std::strlen(options)), out);
}

MLTRACK_C_API int mltrack_sink_supported(const char* scheme, int* supported) {
    return guarded([&] {
        need(supported, "supported");
        *supported = 0;
        const std::string_view s = text(scheme, "scheme");
        for (const auto& entry : schemes)
            if (s == entry.scheme) *supported = entry.make ? 1 : 0;
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_tracker_flush(mltrack_tracker tracker) {
    return guarded([&] {
        auto t = tracker_of(tracker);
        t->tracker->flush();
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_tracker_close(mltrack_tracker tracker) {
    return guarded([&] {
        std::shared_ptr<tracker_obj> t;
        if (!tracker_registry.remove(tracker.id, &t))
            throw c_error{MLTRACK_E_HANDLE, "c.3", "the tracker handle is not open (never opened, or closed)"};
        std::vector<std::shared_ptr<run_obj>> ended;
        {
            std::lock_guard<std::mutex> lock(t->mutex);
            t->tracker->close();  // first: runs released below then stay as they are (RUNNING when not ended)
            for (const std::uint64_t r : t->runs)
                if (auto p = release_run(r)) ended.push_back(std::move(p));
            t->runs.clear();
        }
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_tracker_rank(mltrack_tracker tracker, int* rank, int* world_size, int* inert) {
    return guarded([&] {
        auto t = tracker_of(tracker);
        if (rank) *rank = t->tracker->rank().rank;
        if (world_size) *world_size = t->tracker->rank().world_size;
        if (inert) *inert = t->tracker->inert() ? 1 : 0;
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_tracker_stats(mltrack_tracker tracker, mltrack_stats* out) {
    return guarded([&] {
        need(out, "out");
        auto t = tracker_of(tracker);
        const auto s = t->tracker->stats();
        out->enqueued = s.enqueued;
        out->written = s.written;
        out->dropped = s.dropped;
        out->late = s.late;
        out->sink_errors = s.sink_errors;
        out->queue_capacity = s.queue_capacity;
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_termination_install(const mltrack_tracker* trackers, int64_t n, int64_t timeout_ms,
                                              int reraise) {
    return guarded([&] {
        need_count(n, "n");
        if (n > 0) need(trackers, "trackers");
        need_count(timeout_ms, "timeout_ms");
        if (reraise != 0 && reraise != 1)
            throw c_error{MLTRACK_E_ARGUMENT, "c.4", "reraise is " + std::to_string(reraise) + ", not 0 or 1"};
        std::vector<std::shared_ptr<tracker_obj>> keep;
        std::vector<mltrack::tracker_base*> bases;
        for (std::int64_t i = 0; i < n; ++i) {
            keep.push_back(tracker_of(trackers[i]));
            bases.push_back(keep.back()->tracker.get());
        }
        mltrack::termination_options o;
        if (timeout_ms > 0) o.timeout = std::chrono::milliseconds(timeout_ms);
        o.reraise = reraise == 1;
        std::lock_guard<std::mutex> lock(termination_mutex);
        if (termination)
            throw mltrack::error(mltrack::error_category::state, 9,
                                 "a termination handler is already installed in this process");
        termination = std::make_unique<mltrack::termination_handler>(bases, std::move(o));
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_termination_signal(void) {
    // The C++ handler's own record of the signal it handled: read without the mutex (atomic), as polling
    // from a time loop must not block. The handler object lives until mltrack_termination_remove.
    std::unique_lock<std::mutex> lock(termination_mutex, std::try_to_lock);
    if (!lock.owns_lock() || !termination) return 0;
    return termination->signal();
}

MLTRACK_C_API int mltrack_termination_remove(void) {
    return guarded([&] {
        std::lock_guard<std::mutex> lock(termination_mutex);
        if (!termination)
            throw c_error{MLTRACK_E_STATE, "c.11", "no termination handler is installed"};
        termination.reset();
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_detect_rank(int* rank, int* world_size) {
    return guarded([&] {
        need(rank, "rank");
        need(world_size, "world_size");
        const auto r = mltrack::detect_rank();
        *rank = r.rank;
        *world_size = r.world_size;
        return MLTRACK_OK;
    });
}

}  // extern "C"
