/* Why: C and Fortran simulation codes (climate, CFD, molecular dynamics with learned parts) want the same
 * tracker as C++ code: the same files, the same rank handling and preemption safety, the same nanosecond
 * metric handles. This is the C99 interface to it, implemented over the C++ library in a small compiled
 * library (CMake target mltrack::c, pkg-config mltrack-c, meson dependency mltrack-c).
 *
 * Conventions (docs/c-fortran.md has the whole story):
 *   - Every function returns an int status: MLTRACK_OK (0) or one of the mltrack_status codes. After a
 *     failure, mltrack_last_error() gives this thread's message and mltrack_last_error_id() its stable id
 *     ("mltrack.error.name.3", "mltrack.error.c.1"...; docs/errors.md). A success leaves them as they were.
 *   - No C++ exception ever leaves a function of this header; no argument makes one crash: NULL pointers,
 *     NULL or invalid UTF-8 strings, negative counts, stale handles are all reported as errors.
 *   - Handles (mltrack_tracker, mltrack_run, mltrack_metric) are small values: an index into a registry and
 *     a generation. A zero handle is never valid. A handle that was closed or ended (or never opened) is
 *     detected, whatever the value: MLTRACK_E_HANDLE, id c.3. Closing a tracker ends the validity of its
 *     runs and metrics; ending a run ends that of its metrics.
 *   - Strings are UTF-8, NUL-terminated, except where a length is given (the *_n functions).
 */
#ifndef MLTRACK_C_MLTRACK_H
#define MLTRACK_C_MLTRACK_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(MLTRACK_C_BUILDING)
#define MLTRACK_C_API __declspec(dllexport)
#elif defined(__GNUC__)
#define MLTRACK_C_API __attribute__((visibility("default")))
#else
#define MLTRACK_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------------------------- */

typedef enum mltrack_status {
    MLTRACK_OK = 0,
    MLTRACK_E_ARGUMENT = 1,    /* NULL pointer, negative count, value out of range, not UTF-8 (ids c.1, c.2, c.4, c.9) */
    MLTRACK_E_HANDLE = 2,      /* zero, unknown, closed or ended handle (c.3) */
    MLTRACK_E_NAME = 3,        /* invalid experiment, run, metric or param name (name.*) */
    MLTRACK_E_VALUE = 4,       /* invalid value (value.*) */
    MLTRACK_E_SHAPE = 5,       /* mismatched lengths (shape.*) */
    MLTRACK_E_STATE = 6,       /* not allowed in this state: run exists, run missing... (state.*) */
    MLTRACK_E_IO = 7,          /* file system (io.*) */
    MLTRACK_E_FORMAT = 8,      /* malformed file (format.*) */
    MLTRACK_E_CONFIG = 9,      /* invalid configuration or option string (config.*, c.5) */
    MLTRACK_E_UNSUPPORTED = 10, /* a sink this library was built without (c.6) */
    MLTRACK_E_NOMEM = 11,      /* out of memory, or the handle registry is full (c.7) */
    MLTRACK_E_INTERNAL = 12    /* an unexpected failure inside the library (c.8) */
} mltrack_status;

/* This thread's message of the latest failure, "" before any. Valid until this thread's next failing call. */
MLTRACK_C_API const char* mltrack_last_error(void);
/* This thread's stable id of the latest failure without the brackets ("mltrack.error.name.3"), "" before any. */
MLTRACK_C_API const char* mltrack_last_error_id(void);
/* A short constant description of a status code ("invalid handle"...). */
MLTRACK_C_API const char* mltrack_status_string(int status);
/* The library's version, "major.minor.patch" (the C++ library's). */
MLTRACK_C_API const char* mltrack_version(void);

/* ---------------------------------------------------------------------------------------------------------
 * Handles
 * ------------------------------------------------------------------------------------------------------- */

typedef struct mltrack_tracker { uint64_t id; } mltrack_tracker;
typedef struct mltrack_run { uint64_t id; } mltrack_run;
typedef struct mltrack_metric { uint64_t id; } mltrack_metric;

/* ---------------------------------------------------------------------------------------------------------
 * Tracker
 * ------------------------------------------------------------------------------------------------------- */

enum { MLTRACK_OVERFLOW_BLOCK = 0, MLTRACK_OVERFLOW_DROP_NEWEST = 1 };
enum { MLTRACK_DISPATCH_THREADED = 0, MLTRACK_DISPATCH_INLINE = 1 };
enum { MLTRACK_RANKS_ZERO = 0, MLTRACK_RANKS_EVERY = 1 };

/* Tracker configuration. Fill it with mltrack_config_init (the defaults), then set what you need. */
typedef struct mltrack_config {
    const char* experiment;     /* required: the experiment name */
    const char* const* sinks;   /* sink URIs: "jsonl:DIR", "tensorboard:DIR", "vertex:PROJECT/LOCATION", "mlflow:URI" */
    int64_t sink_count;         /* number of URIs in sinks (0 or more) */
    int64_t queue_capacity;     /* slots in the queue (rounded up to a power of two); 0: 65536 */
    int overflow;               /* MLTRACK_OVERFLOW_BLOCK (default) or MLTRACK_OVERFLOW_DROP_NEWEST */
    int dispatch;               /* MLTRACK_DISPATCH_THREADED (default) or MLTRACK_DISPATCH_INLINE */
    int64_t flush_interval_ms;  /* sinks are flushed this often while records arrive; 0: 250 */
    int ranks;                  /* MLTRACK_RANKS_ZERO (default) or MLTRACK_RANKS_EVERY (MLTRACK_RANKS wins) */
    int rank;                   /* this process's rank; -1: from the launcher's environment */
    int world_size;             /* ranks in the job; -1: from the environment */
    int capture_environment;    /* 1 (default): host, git commit, SLURM ids... in run metadata; 0: none */
} mltrack_config;

/* Fills *config with the defaults (experiment NULL, no sinks). */
MLTRACK_C_API int mltrack_config_init(mltrack_config* config);

/* Opens a tracker: starts its writer thread (unless inline) and opens its sinks. */
MLTRACK_C_API int mltrack_tracker_open(const mltrack_config* config, mltrack_tracker* out);

/* Opens a tracker from an option string of key=value pairs separated by ';' or new lines:
 *   "experiment=heat; sink=jsonl:runs; sink=tensorboard:runs/tb; ranks=every"
 * Keys: experiment, sink (repeatable), queue_capacity, overflow (block|drop_newest), dispatch
 * (threaded|inline), flush_interval_ms, ranks (zero|every), rank, world_size, capture_environment (0|1).
 * Spaces around keys and values are ignored. An unknown key or a bad value is MLTRACK_E_CONFIG (c.5). */
MLTRACK_C_API int mltrack_tracker_open_options(const char* options, mltrack_tracker* out);
/* The same with an explicit length (no NUL needed; for Fortran). */
MLTRACK_C_API int mltrack_tracker_open_options_n(const char* options, int64_t length, mltrack_tracker* out);

/* Whether this library was built with the sink of a URI scheme ("jsonl", "tensorboard", "vertex", "mlflow"):
 * *supported is 1 or 0 (0 too for a scheme it does not know). */
MLTRACK_C_API int mltrack_sink_supported(const char* scheme, int* supported);

/* Blocks until everything logged before the call is written and flushed by every sink. */
MLTRACK_C_API int mltrack_tracker_flush(mltrack_tracker tracker);

/* Writes what is queued, flushes and closes the sinks, stops the writer, and releases the handle with
 * those of its runs and metrics. Runs not ended stay RUNNING in the record (as after a crash): end them
 * first. A second close is MLTRACK_E_HANDLE. */
MLTRACK_C_API int mltrack_tracker_close(mltrack_tracker tracker);

/* This process's rank and the job's world size as the tracker resolved them; *inert is 1 when it writes
 * nothing (a rank other than 0 under MLTRACK_RANKS_ZERO). Any output pointer may be NULL. */
MLTRACK_C_API int mltrack_tracker_rank(mltrack_tracker tracker, int* rank, int* world_size, int* inert);

typedef struct mltrack_stats {
    uint64_t enqueued, written, dropped, late, sink_errors, queue_capacity;
} mltrack_stats;
MLTRACK_C_API int mltrack_tracker_stats(mltrack_tracker tracker, mltrack_stats* out);

/* ---------------------------------------------------------------------------------------------------------
 * Runs
 * ------------------------------------------------------------------------------------------------------- */

enum { MLTRACK_START_CREATE = 0, MLTRACK_START_RESUME = 1, MLTRACK_START_CREATE_OR_RESUME = 2 };
enum {
    MLTRACK_STATE_COMPLETE = 1,
    MLTRACK_STATE_FAILED = 2,
    MLTRACK_STATE_CANCELLED = 3,
    MLTRACK_STATE_PREEMPTED = 4
};

/* Starts a run (mode: MLTRACK_START_*). CREATE fails with state.1 when it exists, RESUME with state.2 when
 * it does not. *resumed (may be NULL) is 1 when the run continues an existing one. */
MLTRACK_C_API int mltrack_run_start(mltrack_tracker tracker, const char* name, int mode, mltrack_run* out,
                                    int* resumed);

/* Ends the run with a state (MLTRACK_STATE_*) and releases the handle with those of its metrics. */
MLTRACK_C_API int mltrack_run_end(mltrack_run run, int state);

/* The highest step the run has reached, over all metrics (key NULL) or one metric, counting earlier
 * openings of a resumed run: *found is 0 before any point. */
MLTRACK_C_API int mltrack_run_last_step(mltrack_run run, const char* key, int64_t* step, int* found);

/* Params (the latest value of a key wins). Floats must be finite (value.1), strings at most 64 KiB. */
MLTRACK_C_API int mltrack_run_param_int(mltrack_run run, const char* key, int64_t value);
MLTRACK_C_API int mltrack_run_param_double(mltrack_run run, const char* key, double value);
MLTRACK_C_API int mltrack_run_param_bool(mltrack_run run, const char* key, int value);
MLTRACK_C_API int mltrack_run_param_string(mltrack_run run, const char* key, const char* value);

/* A tag (a text label of the run). */
MLTRACK_C_API int mltrack_run_set_tag(mltrack_run run, const char* key, const char* value);

/* Summary metrics: one value per key for the whole run. */
MLTRACK_C_API int mltrack_run_summary(mltrack_run run, const char* key, double value);
MLTRACK_C_API int mltrack_run_summary_string(mltrack_run run, const char* key, const char* value);

/* The step that means "the metric's next step": one more than its highest, 1 for its first point. */
#define MLTRACK_STEP_NEXT INT64_MIN

/* Logs one point by key (a key this thread used before is found without allocating; a new key is
 * validated and interned). The run is looked up under a lock: metric handles are the faster path. */
MLTRACK_C_API int mltrack_run_log(mltrack_run run, const char* key, double value, int64_t step);
MLTRACK_C_API int mltrack_run_log_n(mltrack_run run, const char* key, int64_t key_length, double value,
                                    int64_t step);

/* Logs n values of a time series at one step (or MLTRACK_STEP_NEXT: the run's next step, shared by all). */
MLTRACK_C_API int mltrack_run_log_series(mltrack_run run, const char* const* keys, const double* values,
                                         int64_t n, int64_t step);

/* Classification metrics: `labels` (n_labels names), `matrix` (n_labels * n_labels counts, row-major: row =
 * true class), and optional ROC points fpr/tpr/thresholds (n_points each; all three NULL when n_points is 0).
 * display_name may be NULL. Validated with the Vertex AI SDK's rules (shape.*, value.2). */
MLTRACK_C_API int mltrack_run_log_classification(mltrack_run run, const char* display_name,
                                                 const char* const* labels, int64_t n_labels,
                                                 const int64_t* matrix, const double* fpr, const double* tpr,
                                                 const double* thresholds, int64_t n_points);

/* A histogram of n values at a step, in `buckets` equal-width buckets (0: 30). */
MLTRACK_C_API int mltrack_run_log_histogram(mltrack_run run, const char* key, const double* values, int64_t n,
                                            int64_t step, int64_t buckets);

enum { MLTRACK_ARTIFACT = 0, MLTRACK_ARTIFACT_MODEL = 1, MLTRACK_ARTIFACT_DATASET = 2 };

/* Logs a model file or folder; copied into the run's artifacts/ folder (copy=1) before the call returns,
 * or kept as a reference (copy=0; a URI such as gs://... always is). framework, framework_version and name
 * may be NULL (name defaults to the file name). */
MLTRACK_C_API int mltrack_run_log_model(mltrack_run run, const char* path, const char* framework,
                                        const char* framework_version, const char* name, int copy);
/* Logs any artifact (type MLTRACK_ARTIFACT*), stored like a model. */
MLTRACK_C_API int mltrack_run_log_artifact(mltrack_run run, const char* path, const char* name, int type, int copy);

/* ---------------------------------------------------------------------------------------------------------
 * Metric handles: the hot path
 * ------------------------------------------------------------------------------------------------------- */

/* Interns a metric key once (validated: name.*) and returns its handle, valid until the run ends. */
MLTRACK_C_API int mltrack_run_metric(mltrack_run run, const char* key, mltrack_metric* out);
MLTRACK_C_API int mltrack_run_metric_n(mltrack_run run, const char* key, int64_t key_length, mltrack_metric* out);

/* Logs one point at `step` (or MLTRACK_STEP_NEXT). No lock, no allocation, no system call: one check of the
 * handle and the C++ metric handle's push. Any thread. NaN and infinities are kept. */
MLTRACK_C_API int mltrack_metric_log(mltrack_metric metric, double value, int64_t step);
/* The same with an explicit wall time, ns since the Unix epoch. */
MLTRACK_C_API int mltrack_metric_log_at(mltrack_metric metric, double value, int64_t step, int64_t time_ns);

/* ---------------------------------------------------------------------------------------------------------
 * Termination handler (SIGTERM, SIGUSR1, SIGINT) and ranks
 * ------------------------------------------------------------------------------------------------------- */

/* Installs the process's termination handler for n trackers: on SIGTERM or SIGUSR1 every open run of them
 * ends PREEMPTED (SIGINT: CANCELLED) and is flushed within timeout_ms (0: 10000). reraise=1: then the
 * process dies of the signal; reraise=0: it goes on, and polls mltrack_termination_signal() to stop by
 * itself. One handler per process (state.9). */
MLTRACK_C_API int mltrack_termination_install(const mltrack_tracker* trackers, int64_t n, int64_t timeout_ms,
                                              int reraise);
/* The signal caught and handled (runs ended and flushed), or 0. Never blocks: poll it from the time loop. */
MLTRACK_C_API int mltrack_termination_signal(void);
/* Removes the handler, restoring the previous signal actions. MLTRACK_E_STATE (c.11) when none is installed. */
MLTRACK_C_API int mltrack_termination_remove(void);

/* This process's rank and world size from the launcher's environment (Open MPI, MPICH, PMIx, SLURM...),
 * without a tracker and without linking MPI. */
MLTRACK_C_API int mltrack_detect_rank(int* rank, int* world_size);

#ifdef __cplusplus
}
#endif

#endif /* MLTRACK_C_MLTRACK_H */
