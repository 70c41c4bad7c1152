/* The C API, call by call, with every bad argument it must refuse (NULL handles and pointers, NULL and
 * non-UTF-8 strings, negative counts, values out of range, use after end and close, double end and close,
 * made-up handles), logging from many threads, the termination handler and the rank policy. What it logs is
 * then read back by the C++ reader (c_readback) and checked by `mltrack check`.
 *
 *   test_c_api OUT_DIR READBACK [MLTRACK_CLI]
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "c_test.h"

static const char* out_dir;
static const char* readback;

/* Runs c_readback on OUT_DIR/<experiment>/<run> with the expectations; checks it passes. */
static void read_back(const char* experiment, const char* run, const char* expectations) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s/%s/%s' %s", readback, out_dir, experiment, run, expectations);
    ++c_test_checks;
    if (system(cmd) != 0) {
        ++c_test_failures;
        fprintf(stderr, "read back failed: %s\n", cmd);
    }
}

static mltrack_tracker open_jsonl(const char* experiment, const char* extra) {
    char options[2048];
    mltrack_tracker t = {0};
    snprintf(options, sizeof options, "experiment=%s; sink=jsonl:%s; capture_environment=0%s", experiment, out_dir,
             extra ? extra : "");
    CHECK_OK(mltrack_tracker_open_options(options, &t));
    return t;
}

static void test_errors_and_version(void) {
    CHECK(strcmp(mltrack_last_error(), "") == 0);
    CHECK(strcmp(mltrack_last_error_id(), "") == 0);
    CHECK(strlen(mltrack_version()) >= 5);
    CHECK(strcmp(mltrack_status_string(MLTRACK_OK), "ok") == 0);
    CHECK(strcmp(mltrack_status_string(MLTRACK_E_HANDLE), "invalid handle") == 0);
    CHECK(strcmp(mltrack_status_string(-7), "unknown status") == 0);
    CHECK_FAILS(mltrack_config_init(NULL), MLTRACK_E_ARGUMENT, "c.1");
    /* The message starts with the id in brackets, like mltrack::error::what(). */
    CHECK(strncmp(mltrack_last_error(), "[mltrack.error.c.1] ", 20) == 0);
}

static void test_tracker_config(void) {
    mltrack_config c;
    mltrack_tracker t = {12345};
    const char* sinks[2];
    char dir[1024];
    int rank = -5, world = -5, inert = -5;

    CHECK_OK(mltrack_config_init(&c));
    CHECK(c.rank == -1 && c.world_size == -1 && c.capture_environment == 1 && c.experiment == NULL);
    CHECK_FAILS(mltrack_tracker_open(NULL, &t), MLTRACK_E_ARGUMENT, "c.1");
    CHECK(t.id == 0); /* out is cleared first */
    CHECK_FAILS(mltrack_tracker_open(&c, NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.1"); /* no experiment */
    c.experiment = "bad name";
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_NAME, "name.3");
    c.experiment = "..";
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_NAME, "name.4");
    c.experiment = "capi";
    c.sink_count = -1;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.2");
    c.sink_count = 1;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.1"); /* sinks NULL */
    sinks[0] = NULL;
    c.sinks = sinks;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.1");
    sinks[0] = "ftp:somewhere";
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_CONFIG, "c.5");
    sinks[0] = "jsonl:";
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_CONFIG, "c.5");
    sinks[0] = "mlflow:ftp://127.0.0.1:5000"; /* not an http(s) tracking URI, or no MLflow sink in this build */
    {
        int mlflow_built = -1;
        CHECK_OK(mltrack_sink_supported("mlflow", &mlflow_built));
        if (mlflow_built) CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_CONFIG, "c.5");
        else CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_UNSUPPORTED, "c.6");
    }
    snprintf(dir, sizeof dir, "jsonl:%s", out_dir);
    sinks[0] = dir;
    c.overflow = 7;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.4");
    c.overflow = MLTRACK_OVERFLOW_BLOCK;
    c.dispatch = -1;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.4");
    c.dispatch = MLTRACK_DISPATCH_INLINE;
    c.ranks = 2;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.4");
    c.ranks = MLTRACK_RANKS_ZERO;
    c.world_size = 0;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.4");
    c.world_size = 2;
    c.rank = 5;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_CONFIG, "config.4");
    c.rank = -1;
    c.world_size = -1;
    c.queue_capacity = -3;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.2");
    c.queue_capacity = 0;
    c.flush_interval_ms = -1;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.2");
    c.flush_interval_ms = 0;
    c.capture_environment = 2;
    CHECK_FAILS(mltrack_tracker_open(&c, &t), MLTRACK_E_ARGUMENT, "c.4");
    c.capture_environment = 0;
    CHECK_OK(mltrack_tracker_open(&c, &t));
    CHECK(t.id != 0);
    CHECK_OK(mltrack_tracker_rank(t, &rank, &world, &inert));
    CHECK(rank == 0 && world == 1 && inert == 0);
    CHECK_OK(mltrack_tracker_rank(t, NULL, NULL, NULL));
    CHECK_OK(mltrack_tracker_close(t));
    CHECK_FAILS(mltrack_tracker_close(t), MLTRACK_E_HANDLE, "c.3"); /* double close */
    CHECK_FAILS(mltrack_tracker_flush(t), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_tracker_rank(t, &rank, &world, &inert), MLTRACK_E_HANDLE, "c.3");
}

static void test_sink_schemes(void) {
    mltrack_tracker t = {0};
    int supported = -1;
    CHECK_FAILS(mltrack_sink_supported(NULL, &supported), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_sink_supported("jsonl", NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_OK(mltrack_sink_supported("jsonl", &supported));
    CHECK(supported == 1);
    CHECK_OK(mltrack_sink_supported("tensorboard", &supported));
    CHECK(supported == 1);
    CHECK_OK(mltrack_sink_supported("mlflow", &supported));
    if (supported) { /* built with libcurl: the URI is checked before anything is contacted */
        CHECK_FAILS(mltrack_tracker_open_options("experiment=x; sink=mlflow:file:///tmp", &t), MLTRACK_E_CONFIG, "c.5");
        CHECK_FAILS(mltrack_tracker_open_options("experiment=x; sink=mlflow:127.0.0.1:5000", &t), MLTRACK_E_CONFIG, "c.5");
    } else {
        CHECK_FAILS(mltrack_tracker_open_options("experiment=x; sink=mlflow:http://127.0.0.1:5000", &t),
                    MLTRACK_E_UNSUPPORTED, "c.6");
    }
    CHECK_OK(mltrack_sink_supported("gopher", &supported));
    CHECK(supported == 0);
    CHECK_OK(mltrack_sink_supported("vertex", &supported));
    if (supported) { /* built with libcurl: the URI is checked before anything is contacted */
        CHECK_FAILS(mltrack_tracker_open_options("experiment=x; sink=vertex:project-only", &t), MLTRACK_E_CONFIG, "c.5");
        CHECK_FAILS(mltrack_tracker_open_options("experiment=x; sink=vertex:a/b/c", &t), MLTRACK_E_CONFIG, "c.5");
        CHECK_FAILS(mltrack_tracker_open_options("experiment=x; sink=vertex:/us-central1", &t), MLTRACK_E_CONFIG, "c.5");
    } else {
        CHECK_FAILS(mltrack_tracker_open_options("experiment=x; sink=vertex:p/us-central1", &t), MLTRACK_E_UNSUPPORTED,
                    "c.6");
    }
}

static void test_option_strings(void) {
    mltrack_tracker t = {0};
    mltrack_stats s;
    const char not_terminated[] = {'e', 'x', 'p', 'e', 'r', 'i', 'm', 'e', 'n', 't', '=', 'o', 'p', 't', 's', 'X'};
    CHECK_FAILS(mltrack_tracker_open_options(NULL, &t), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x", NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_tracker_open_options("sink=jsonl:x", &t), MLTRACK_E_CONFIG, "c.5"); /* no experiment */
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x; colour=blue", &t), MLTRACK_E_CONFIG, "c.5");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x; ranks", &t), MLTRACK_E_CONFIG, "c.5");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x; ranks=some", &t), MLTRACK_E_CONFIG, "c.5");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x; queue_capacity=lots", &t), MLTRACK_E_CONFIG, "c.5");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x; queue_capacity=0", &t), MLTRACK_E_CONFIG, "c.5");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x; rank=-2", &t), MLTRACK_E_CONFIG, "c.5");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x; overflow=spill", &t), MLTRACK_E_CONFIG, "c.5");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x; dispatch=later", &t), MLTRACK_E_CONFIG, "c.5");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=x; capture_environment=yes", &t), MLTRACK_E_CONFIG, "c.5");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=\xc3\x28", &t), MLTRACK_E_ARGUMENT, "c.9");
    CHECK_FAILS(mltrack_tracker_open_options("experiment=a/b", &t), MLTRACK_E_NAME, "name.3");
    CHECK_FAILS(mltrack_tracker_open_options_n("experiment=x", -1, &t), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_FAILS(mltrack_tracker_open_options_n(NULL, 3, &t), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_tracker_open_options_n("experiment=x\0y", 14, &t), MLTRACK_E_ARGUMENT, "c.9");
    /* A length that stops before the 'X': the string needs no NUL. */
    CHECK_OK(mltrack_tracker_open_options_n(not_terminated, 15, &t));
    CHECK_OK(mltrack_tracker_stats(t, &s));
    CHECK(s.queue_capacity == 65536);
    CHECK_FAILS(mltrack_tracker_stats(t, NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_OK(mltrack_tracker_close(t));
    CHECK_OK(mltrack_tracker_open_options(
        "experiment = spaced ;\n queue_capacity=1024; overflow=drop_newest; dispatch=inline; flush_interval_ms=5;"
        " ranks=every; rank=0; world_size=1; capture_environment=0;;",
        &t));
    CHECK_OK(mltrack_tracker_stats(t, &s));
    CHECK(s.queue_capacity == 1024);
    CHECK_OK(mltrack_tracker_close(t));
}

static void test_handles(void) {
    mltrack_tracker zero_t = {0}, made_up_t = {0xdeadbeef12345678ull};
    mltrack_run zero_r = {0}, made_up_r = {((uint64_t)7 << 32) | 3u};
    mltrack_metric zero_m = {0}, made_up_m = {0xffffffffffffffffull};
    mltrack_run r = {99};
    CHECK_FAILS(mltrack_tracker_flush(zero_t), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_tracker_flush(made_up_t), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_tracker_close(made_up_t), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_run_start(zero_t, "r", MLTRACK_START_CREATE, &r, NULL), MLTRACK_E_HANDLE, "c.3");
    CHECK(r.id == 0);
    CHECK_FAILS(mltrack_run_end(zero_r, MLTRACK_STATE_COMPLETE), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_run_end(made_up_r, MLTRACK_STATE_COMPLETE), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_run_param_int(made_up_r, "k", 1), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_run_log(zero_r, "k", 1.0, 0), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_metric_log(zero_m, 1.0, 0), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_metric_log(made_up_m, 1.0, 0), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_metric_log_at(made_up_m, 1.0, 0, 0), MLTRACK_E_HANDLE, "c.3");
}

static void test_run_calls(void) {
    mltrack_tracker t = open_jsonl("capi", NULL);
    mltrack_run r = {0}, again = {0};
    mltrack_metric loss = {0}, acc = {0}, keep = {0};
    int resumed = -1, found = -1;
    int64_t step = -1;
    const char* keys[3] = {"series/a", "series/b", NULL};
    const double values[3] = {1.0, 2.0, 3.0};
    const char* labels[2] = {"cat", "dog"};
    const int64_t matrix[4] = {5, 1, 2, 7};
    const double fpr[3] = {0.0, 0.25, 1.0}, tpr[3] = {0.0, 0.75, 1.0}, thr[3] = {1.0, 0.5, 0.0};
    const double hist[5] = {0.1, 0.2, 0.2, 0.9, NAN};
    char model[1024];
    FILE* f;
    int i;

    CHECK_FAILS(mltrack_run_start(t, "r1", MLTRACK_START_CREATE, NULL, NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_start(t, NULL, MLTRACK_START_CREATE, &r, NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_start(t, "r1", 9, &r, NULL), MLTRACK_E_ARGUMENT, "c.4");
    CHECK_FAILS(mltrack_run_start(t, "-rf", MLTRACK_START_CREATE, &r, NULL), MLTRACK_E_NAME, "name.4");
    CHECK_FAILS(mltrack_run_start(t, "", MLTRACK_START_CREATE, &r, NULL), MLTRACK_E_NAME, "name.1");
    CHECK_FAILS(mltrack_run_start(t, "missing", MLTRACK_START_RESUME, &r, NULL), MLTRACK_E_STATE, "state.2");
    CHECK_OK(mltrack_run_start(t, "r1", MLTRACK_START_CREATE, &r, &resumed));
    CHECK(resumed == 0);
    CHECK_FAILS(mltrack_run_start(t, "r1", MLTRACK_START_CREATE_OR_RESUME, &again, NULL), MLTRACK_E_STATE, "state.6");

    /* params */
    CHECK_OK(mltrack_run_param_int(r, "p/int", -42));
    CHECK_OK(mltrack_run_param_double(r, "p/double", 0.5));
    CHECK_OK(mltrack_run_param_bool(r, "p/bool", 1));
    CHECK_OK(mltrack_run_param_string(r, "p/string", "caf\xc3\xa9"));
    CHECK_FAILS(mltrack_run_param_int(r, NULL, 1), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_param_int(r, "", 1), MLTRACK_E_NAME, "name.1");
    CHECK_FAILS(mltrack_run_param_int(r, "bad\xff", 1), MLTRACK_E_NAME, "name.5");
    CHECK_FAILS(mltrack_run_param_int(r, "tab\there", 1), MLTRACK_E_NAME, "name.6");
    CHECK_FAILS(mltrack_run_param_double(r, "p/nan", NAN), MLTRACK_E_VALUE, "value.1");
    CHECK_FAILS(mltrack_run_param_double(r, "p/inf", INFINITY), MLTRACK_E_VALUE, "value.1");
    CHECK_FAILS(mltrack_run_param_bool(r, "p/bool", 2), MLTRACK_E_ARGUMENT, "c.4");
    CHECK_FAILS(mltrack_run_param_string(r, "p/s", NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_param_string(r, "p/s", "\xed\xa0\x80"), MLTRACK_E_ARGUMENT, "c.9"); /* a surrogate */

    /* tags and summary metrics */
    CHECK_OK(mltrack_run_set_tag(r, "team", "hpc"));
    CHECK_FAILS(mltrack_run_set_tag(r, "team", NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_set_tag(r, NULL, "x"), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_set_tag(r, "team", "\x80"), MLTRACK_E_ARGUMENT, "c.9");
    CHECK_OK(mltrack_run_summary(r, "best/acc", 0.97));
    CHECK_OK(mltrack_run_summary_string(r, "best/model", "resnet"));
    CHECK_FAILS(mltrack_run_summary(r, NULL, 1.0), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_summary_string(r, "x", NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_summary_string(r, "x", "\xc0\xaf"), MLTRACK_E_ARGUMENT, "c.9"); /* overlong */

    /* by key */
    for (i = 0; i < 10; ++i) CHECK_OK(mltrack_run_log(r, "bykey", i * 0.5, i));
    CHECK_OK(mltrack_run_log_n(r, "bykey/nextXXX", 10, 1.0, MLTRACK_STEP_NEXT)); /* "bykey/next" */
    CHECK_OK(mltrack_run_log_n(r, "bykey/nextXXX", 10, 1.0, MLTRACK_STEP_NEXT));
    CHECK_FAILS(mltrack_run_log(r, NULL, 1.0, 0), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_log_n(r, "k", -1, 1.0, 0), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_FAILS(mltrack_run_log_n(r, NULL, 1, 1.0, 0), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_log_n(r, "a\0b", 3, 1.0, 0), MLTRACK_E_NAME, "name.6");
    CHECK_FAILS(mltrack_run_log(r, "\xf8\x88\x80\x80\x80", 1.0, 0), MLTRACK_E_NAME, "name.5");

    /* time series */
    CHECK_OK(mltrack_run_log_series(r, keys, values, 2, 3));
    CHECK_OK(mltrack_run_log_series(r, keys, values, 2, MLTRACK_STEP_NEXT));
    CHECK_OK(mltrack_run_log_series(r, NULL, NULL, 0, 3)); /* nothing to log */
    CHECK_FAILS(mltrack_run_log_series(r, keys, values, -1, 3), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_FAILS(mltrack_run_log_series(r, NULL, values, 2, 3), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_log_series(r, keys, NULL, 2, 3), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_log_series(r, keys, values, 3, 3), MLTRACK_E_ARGUMENT, "c.1"); /* keys[2] NULL */

    /* classification metrics */
    CHECK_OK(mltrack_run_log_classification(r, "val", labels, 2, matrix, fpr, tpr, thr, 3));
    CHECK_OK(mltrack_run_log_classification(r, NULL, labels, 2, matrix, NULL, NULL, NULL, 0));
    CHECK_FAILS(mltrack_run_log_classification(r, NULL, labels, -2, matrix, NULL, NULL, NULL, 0), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_FAILS(mltrack_run_log_classification(r, NULL, labels, 2, matrix, fpr, tpr, thr, -1), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_FAILS(mltrack_run_log_classification(r, NULL, NULL, 2, matrix, NULL, NULL, NULL, 0), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_log_classification(r, NULL, labels, 2, NULL, NULL, NULL, NULL, 0), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_log_classification(r, NULL, labels, 2, matrix, fpr, NULL, thr, 3), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_log_classification(r, "\xff", labels, 2, matrix, NULL, NULL, NULL, 0), MLTRACK_E_ARGUMENT, "c.9");
    CHECK_FAILS(mltrack_run_log_classification(r, NULL, keys, 3, matrix, NULL, NULL, NULL, 0), MLTRACK_E_ARGUMENT, "c.1");
    {
        const double bad_fpr[3] = {0.0, NAN, 1.0};
        CHECK_FAILS(mltrack_run_log_classification(r, NULL, labels, 2, matrix, bad_fpr, tpr, thr, 3), MLTRACK_E_VALUE,
                    "value.2");
    }
    CHECK_FAILS(mltrack_run_log_classification(r, NULL, labels, 0, NULL, NULL, NULL, NULL, 0), MLTRACK_E_SHAPE, "shape.6");
    {
        const int64_t negative[4] = {5, -1, 2, 7};
        CHECK_FAILS(mltrack_run_log_classification(r, NULL, labels, 2, negative, NULL, NULL, NULL, 0), MLTRACK_E_SHAPE,
                    "shape.4");
    }
    CHECK_OK(mltrack_run_log_classification(r, "roc-only", NULL, 0, NULL, fpr, tpr, thr, 3));

    /* histograms */
    CHECK_OK(mltrack_run_log_histogram(r, "weights", hist, 5, 1, 4));
    CHECK_OK(mltrack_run_log_histogram(r, "weights", hist, 5, 2, 0));
    CHECK_FAILS(mltrack_run_log_histogram(r, "weights", NULL, 5, 2, 0), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_log_histogram(r, "weights", hist, -5, 2, 0), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_FAILS(mltrack_run_log_histogram(r, "weights", hist, 5, 2, -1), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_FAILS(mltrack_run_log_histogram(r, NULL, hist, 5, 2, 0), MLTRACK_E_ARGUMENT, "c.1");

    /* models and artifacts */
    snprintf(model, sizeof model, "%s/model.bin", out_dir);
    f = fopen(model, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs("weights", f);
        fclose(f);
    }
    CHECK_OK(mltrack_run_log_model(r, model, "custom", "1.0", NULL, 1));
    CHECK_OK(mltrack_run_log_artifact(r, model, "model-ref.bin", MLTRACK_ARTIFACT_DATASET, 0));
    CHECK_OK(mltrack_run_log_artifact(r, "gs://bucket/data.csv", "data.csv", MLTRACK_ARTIFACT_DATASET, 0));
    CHECK_FAILS(mltrack_run_log_model(r, NULL, NULL, NULL, NULL, 1), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_log_model(r, model, NULL, NULL, NULL, 3), MLTRACK_E_ARGUMENT, "c.4");
    CHECK_FAILS(mltrack_run_log_artifact(r, model, NULL, 9, 1), MLTRACK_E_ARGUMENT, "c.4");
    CHECK_FAILS(mltrack_run_log_artifact(r, model, "\xfe", MLTRACK_ARTIFACT, 1), MLTRACK_E_ARGUMENT, "c.9");
    CHECK_FAILS(mltrack_run_log_model(r, "/nonexistent/file/of/a/test", NULL, NULL, NULL, 1), MLTRACK_E_IO, "io.2");

    /* metric handles */
    CHECK_FAILS(mltrack_run_metric(r, NULL, &loss), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_metric(r, "loss", NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_metric(r, "", &loss), MLTRACK_E_NAME, "name.1");
    CHECK_FAILS(mltrack_run_metric_n(r, "loss", -4, &loss), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_OK(mltrack_run_metric(r, "train/loss", &loss));
    CHECK_OK(mltrack_run_metric_n(r, "train/accXX", 9, &acc)); /* "train/acc" */
    CHECK(loss.id != 0 && acc.id != 0 && loss.id != acc.id);
    for (i = 0; i < 100; ++i) CHECK_OK(mltrack_metric_log(loss, 1.0 / (i + 1), i));
    CHECK_OK(mltrack_metric_log(acc, 0.5, MLTRACK_STEP_NEXT));
    CHECK_OK(mltrack_metric_log(acc, 0.6, MLTRACK_STEP_NEXT));
    CHECK_OK(mltrack_metric_log_at(acc, 0.7, 3, 1700000000000000000ll));
    CHECK_OK(mltrack_metric_log(loss, NAN, 100)); /* non-finite metrics are kept */
    CHECK_FAILS(mltrack_metric_log_at(acc, 0.7, MLTRACK_STEP_NEXT, 0), MLTRACK_E_ARGUMENT, "c.4");
    CHECK_OK(mltrack_run_last_step(r, NULL, &step, &found));
    CHECK(found == 1 && step == 100);
    CHECK_OK(mltrack_run_last_step(r, "train/acc", &step, &found));
    CHECK(found == 1 && step == 3);
    CHECK_OK(mltrack_run_last_step(r, "never/logged", &step, &found));
    CHECK(found == 0);
    CHECK_FAILS(mltrack_run_last_step(r, NULL, NULL, &found), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_run_last_step(r, NULL, &step, NULL), MLTRACK_E_ARGUMENT, "c.1");

    /* end, then use after end */
    keep = loss;
    CHECK_FAILS(mltrack_run_end(r, 0), MLTRACK_E_ARGUMENT, "c.4"); /* RUNNING is not an end state */
    CHECK_FAILS(mltrack_run_end(r, 17), MLTRACK_E_ARGUMENT, "c.4");
    CHECK_OK(mltrack_run_end(r, MLTRACK_STATE_COMPLETE));
    CHECK_FAILS(mltrack_run_end(r, MLTRACK_STATE_COMPLETE), MLTRACK_E_HANDLE, "c.3"); /* double end */
    CHECK_FAILS(mltrack_run_param_int(r, "late", 1), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_run_log(r, "late", 1.0, 0), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_run_metric(r, "late", &loss), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_metric_log(keep, 1.0, 1000), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_run_last_step(r, NULL, &step, &found), MLTRACK_E_HANDLE, "c.3");

    /* resume: steps go on, and the run's old metric handle stays dead */
    CHECK_FAILS(mltrack_run_start(t, "r1", MLTRACK_START_CREATE, &r, NULL), MLTRACK_E_STATE, "state.1");
    CHECK_OK(mltrack_run_start(t, "r1", MLTRACK_START_RESUME, &again, &resumed));
    CHECK(resumed == 1);
    CHECK_OK(mltrack_run_last_step(again, "train/loss", &step, &found));
    CHECK(found == 1 && step == 100);
    CHECK_FAILS(mltrack_metric_log(keep, 1.0, 1000), MLTRACK_E_HANDLE, "c.3");
    CHECK_OK(mltrack_run_metric(again, "train/loss", &loss));
    CHECK_OK(mltrack_metric_log(loss, 0.001, 101));
    CHECK_OK(mltrack_run_end(again, MLTRACK_STATE_FAILED));

    /* a run left open when its tracker closes stays RUNNING, and its handles die with the tracker */
    CHECK_OK(mltrack_run_start(t, "left-open", MLTRACK_START_CREATE, &r, NULL));
    CHECK_OK(mltrack_run_metric(r, "x", &loss));
    CHECK_OK(mltrack_metric_log(loss, 1.0, 0));
    CHECK_OK(mltrack_tracker_close(t));
    CHECK_FAILS(mltrack_metric_log(loss, 1.0, 1), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_run_end(r, MLTRACK_STATE_COMPLETE), MLTRACK_E_HANDLE, "c.3");
    CHECK_FAILS(mltrack_run_start(t, "r2", MLTRACK_START_CREATE, &r, NULL), MLTRACK_E_HANDLE, "c.3");

    read_back("capi", "r1",
              "state=FAILED resumes=1 param:p/int=-42 param:p/double=0.5 param:p/bool=true param:p/string=caf\xc3\xa9 "
              "tag:team=hpc summary:best/acc=0.97 summary_text:best/model=resnet points:bykey=10 steps:bykey=0..9 "
              "steps:bykey/next=1..2 points:series/a=2 points:series/b=2 classifications=3 histograms:weights=2 "
              "artifacts=3 points:train/loss=102 steps:train/acc=1..3");
    read_back("capi", "left-open", "state=RUNNING points:x=1");
}

/* ---- many threads logging through metric handles (their own and a shared one) */
enum { threads = 8, per_thread = 5000 };
static mltrack_metric shared_metric;
static mltrack_run mt_run;
static int thread_errors[threads];

static void* log_many(void* arg) {
    const int k = (int)(intptr_t)arg;
    char key[32];
    mltrack_metric own = {0};
    int i;
    snprintf(key, sizeof key, "thread/%d", k);
    if (mltrack_run_metric(mt_run, key, &own) != MLTRACK_OK) ++thread_errors[k];
    for (i = 0; i < per_thread; ++i) {
        if (mltrack_metric_log(own, (double)i, i) != MLTRACK_OK) ++thread_errors[k];
        if (mltrack_metric_log(shared_metric, (double)k, (int64_t)k * per_thread + i) != MLTRACK_OK) ++thread_errors[k];
        if (i % 500 == 0 && mltrack_run_log(mt_run, "by/key", 1.0, (int64_t)k * per_thread + i) != MLTRACK_OK)
            ++thread_errors[k];
    }
    return NULL;
}

static void test_threads(void) {
    mltrack_tracker t = open_jsonl("capi", "; queue_capacity=4096");
    pthread_t th[threads];
    char expectations[512];
    int k;
    CHECK_OK(mltrack_run_start(t, "threads", MLTRACK_START_CREATE, &mt_run, NULL));
    CHECK_OK(mltrack_run_metric(mt_run, "shared", &shared_metric));
    for (k = 0; k < threads; ++k) CHECK(pthread_create(&th[k], NULL, log_many, (void*)(intptr_t)k) == 0);
    for (k = 0; k < threads; ++k) CHECK(pthread_join(th[k], NULL) == 0);
    for (k = 0; k < threads; ++k) CHECK(thread_errors[k] == 0);
    CHECK_OK(mltrack_run_end(mt_run, MLTRACK_STATE_COMPLETE));
    CHECK_OK(mltrack_tracker_close(t));
    snprintf(expectations, sizeof expectations,
             "state=COMPLETE points:shared=%d points:thread/0=%d points:thread/7=%d steps:thread/3=0..%d points:by/key=%d",
             threads * per_thread, per_thread, per_thread, per_thread - 1, threads * per_thread / 500);
    read_back("capi", "threads", expectations);
}

/* ---- the termination handler, without re-raising: the program polls and goes on */
static void test_termination(void) {
    mltrack_tracker t = open_jsonl("capi", NULL);
    mltrack_run r = {0};
    mltrack_metric m = {0};
    struct timespec pause = {0, 1000000};
    int waited = 0;
    CHECK_FAILS(mltrack_termination_remove(), MLTRACK_E_STATE, "c.11");
    CHECK_FAILS(mltrack_termination_install(NULL, 1, 0, 0), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_termination_install(&t, -1, 0, 0), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_FAILS(mltrack_termination_install(&t, 1, -5, 0), MLTRACK_E_ARGUMENT, "c.2");
    CHECK_FAILS(mltrack_termination_install(&t, 1, 0, 4), MLTRACK_E_ARGUMENT, "c.4");
    {
        mltrack_tracker bad = {77};
        CHECK_FAILS(mltrack_termination_install(&bad, 1, 0, 0), MLTRACK_E_HANDLE, "c.3");
    }
    CHECK(mltrack_termination_signal() == 0);
    CHECK_OK(mltrack_termination_install(&t, 1, 5000, 0));
    CHECK_FAILS(mltrack_termination_install(&t, 1, 5000, 0), MLTRACK_E_STATE, "state.9");
    CHECK_OK(mltrack_run_start(t, "preempted", MLTRACK_START_CREATE, &r, NULL));
    CHECK_OK(mltrack_run_metric(r, "loss", &m));
    CHECK_OK(mltrack_metric_log(m, 1.0, 0));
    CHECK(raise(SIGTERM) == 0);
    while (mltrack_termination_signal() == 0 && waited < 10000) {
        nanosleep(&pause, NULL);
        ++waited;
    }
    CHECK(mltrack_termination_signal() == SIGTERM);
    CHECK_OK(mltrack_termination_remove());
    CHECK(mltrack_termination_signal() == 0);
    CHECK_OK(mltrack_run_end(r, MLTRACK_STATE_COMPLETE)); /* too late: the handler ended it PREEMPTED */
    CHECK_OK(mltrack_tracker_close(t));
    read_back("capi", "preempted", "state=PREEMPTED points:loss=1");
}

/* ---- ranks: rank 2 of 4 writes nothing under ranks=zero, its own file under ranks=every */
static void test_ranks(void) {
    mltrack_tracker t = open_jsonl("capi", "; rank=2; world_size=4; ranks=zero");
    mltrack_run r = {0};
    mltrack_metric m = {0};
    int rank = -1, world = -1, inert = -1;
    CHECK_OK(mltrack_tracker_rank(t, &rank, &world, &inert));
    CHECK(rank == 2 && world == 4 && inert == 1);
    CHECK_OK(mltrack_run_start(t, "ranked", MLTRACK_START_CREATE, &r, NULL));
    CHECK_OK(mltrack_run_metric(r, "loss", &m));
    CHECK_OK(mltrack_metric_log(m, 1.0, 0));
    CHECK_OK(mltrack_run_end(r, MLTRACK_STATE_COMPLETE));
    CHECK_OK(mltrack_tracker_close(t));

    t = open_jsonl("capi", "; rank=0; world_size=2; ranks=every");
    CHECK_OK(mltrack_run_start(t, "ranked", MLTRACK_START_CREATE, &r, NULL));
    CHECK_OK(mltrack_run_log(r, "loss", 0.0, 0));
    CHECK_OK(mltrack_run_end(r, MLTRACK_STATE_COMPLETE));
    CHECK_OK(mltrack_tracker_close(t));
    t = open_jsonl("capi", "; rank=1; world_size=2; ranks=every");
    CHECK_OK(mltrack_tracker_rank(t, &rank, &world, &inert));
    CHECK(rank == 1 && world == 2 && inert == 0);
    CHECK_OK(mltrack_run_start(t, "ranked", MLTRACK_START_CREATE_OR_RESUME, &r, NULL));
    CHECK_OK(mltrack_run_log(r, "loss", 1.0, 0));
    CHECK_OK(mltrack_run_end(r, MLTRACK_STATE_COMPLETE));
    CHECK_OK(mltrack_tracker_close(t));
    read_back("capi", "ranked", "state=COMPLETE points:loss=1 ranks=1 world_size=2");

    CHECK_FAILS(mltrack_detect_rank(NULL, &world), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_FAILS(mltrack_detect_rank(&rank, NULL), MLTRACK_E_ARGUMENT, "c.1");
    CHECK_OK(mltrack_detect_rank(&rank, &world));
    CHECK(rank >= 0 && world >= 1 && rank < world);
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_c_api OUT_DIR READBACK [MLTRACK_CLI]\n");
        return 2;
    }
    out_dir = argv[1];
    readback = argv[2];
    test_errors_and_version();
    test_tracker_config();
    test_sink_schemes();
    test_option_strings();
    test_handles();
    test_run_calls();
    test_threads();
    test_termination();
    test_ranks();
    if (argc > 3) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "'%s' check '%s'", argv[3], out_dir);
        ++c_test_checks;
        if (system(cmd) != 0) {
            ++c_test_failures;
            fprintf(stderr, "failed: %s\n", cmd);
        }
    }
    return c_test_report("test_c_api");
}
