/* The C example: a 2-D heat-equation solver (explicit finite differences on an n x n plate, a hot square in
 * the middle, the edges held at 0) run as a parameter sweep over the diffusivity. Each value is a run with
 * its params, the residual and the energy at every step (metric handles: the hot path), two probes as a time
 * series, and summary metrics and a histogram of the final field; a last run holds the sweep's results.
 * Everything goes to JSONL (the source of truth) and TensorBoard.
 *
 *   c_heat [--out DIR] [--steps N] [--n GRID] [--sink URI]
 * --sink adds a sink by URI to the JSONL and TensorBoard ones (e.g. mlflow:http://127.0.0.1:5000).
 *   then: mltrack ls DIR/runs    tensorboard --logdir DIR/tb
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mltrack/c/mltrack.h>

/* Stops the program with the library's message when a call fails. */
static void check(int rc, const char* what) {
    if (rc != MLTRACK_OK) {
        fprintf(stderr, "c_heat: %s: %s\n", what, mltrack_last_error());
        exit(1);
    }
}

/* One explicit step of dT/dt = alpha * laplacian(T) (dx = 1); returns the largest change of a cell. */
static double step_heat(const double* t, double* next, int n, double r) {
    double residual = 0.0;
    int i, j;
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            const int k = i * n + j;
            double d;
            if (i == 0 || j == 0 || i == n - 1 || j == n - 1) {
                next[k] = 0.0; /* the edges are held at 0 */
                continue;
            }
            next[k] = t[k] + r * (t[k - n] + t[k + n] + t[k - 1] + t[k + 1] - 4.0 * t[k]);
            d = fabs(next[k] - t[k]);
            if (d > residual) residual = d;
        }
    return residual;
}

static double energy_of(const double* t, int n) {
    double e = 0.0;
    int k;
    for (k = 0; k < n * n; ++k) e += t[k];
    return e;
}

int main(int argc, char** argv) {
    const char* out = "mltrack-out";
    const char* extra_sink = NULL;
    long steps = 200;
    int n = 32;
    const double alphas[] = {0.05, 0.1, 0.2};
    const double dt = 0.2;
    enum { sweep_size = sizeof alphas / sizeof alphas[0] };
    double final_energy[sweep_size];
    char options[4096];
    mltrack_tracker tracker;
    mltrack_run run;
    int a, i;

    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out = argv[++i];
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) n = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--sink") == 0 && i + 1 < argc) extra_sink = argv[++i];
        else {
            fprintf(stderr, "usage: c_heat [--out DIR] [--steps N] [--n GRID] [--sink URI]\n");
            return 2;
        }
    }
    if (steps < 1 || n < 4 || n > 4096) {
        fprintf(stderr, "c_heat: --steps must be at least 1 and --n from 4 to 4096\n");
        return 2;
    }

    snprintf(options, sizeof options, "experiment=c-heat; sink=jsonl:%s/runs; sink=tensorboard:%s/tb%s%s", out, out,
             extra_sink ? "; sink=" : "", extra_sink ? extra_sink : "");
    check(mltrack_tracker_open_options(options, &tracker), "open the tracker");

    for (a = 0; a < sweep_size; ++a) {
        const double alpha = alphas[a], r = alpha * dt;
        double* t = calloc((size_t)n * (size_t)n, sizeof *t);
        double* next = calloc((size_t)n * (size_t)n, sizeof *next);
        char name[64];
        mltrack_metric residual_m, energy_m;
        double residual = 0.0;
        long s;
        int j;
        if (!t || !next) {
            fprintf(stderr, "c_heat: out of memory\n");
            return 1;
        }
        for (i = n / 4; i < 3 * n / 4; ++i)
            for (j = n / 4; j < 3 * n / 4; ++j) t[i * n + j] = 1.0;

        snprintf(name, sizeof name, "alpha-%.2f", alpha);
        check(mltrack_run_start(tracker, name, MLTRACK_START_CREATE, &run, NULL), "start a run");
        check(mltrack_run_param_double(run, "alpha", alpha), "param");
        check(mltrack_run_param_double(run, "dt", dt), "param");
        check(mltrack_run_param_int(run, "grid", n), "param");
        check(mltrack_run_param_int(run, "steps", steps), "param");
        check(mltrack_run_param_string(run, "scheme", "ftcs"), "param");
        check(mltrack_run_param_bool(run, "stable", 4.0 * r <= 1.0), "param");
        check(mltrack_run_set_tag(run, "solver", "heat2d"), "tag");
        check(mltrack_run_metric(run, "residual", &residual_m), "metric");
        check(mltrack_run_metric(run, "energy", &energy_m), "metric");

        for (s = 0; s < steps; ++s) {
            double* swap;
            residual = step_heat(t, next, n, r);
            swap = t;
            t = next;
            next = swap;
            /* The hot path: a status is returned, and there is nothing to check in a loop that cannot fail
             * once the handles are made. */
            mltrack_metric_log(residual_m, residual, s);
            mltrack_metric_log(energy_m, energy_of(t, n), s);
            if (s % 10 == 0) {
                const char* keys[2] = {"probe/center", "probe/corner"};
                const double values[2] = {t[(n / 2) * n + n / 2], t[(n / 4) * n + n / 4]};
                check(mltrack_run_log_series(run, keys, values, 2, s), "time series");
            }
        }
        final_energy[a] = energy_of(t, n);
        check(mltrack_run_summary(run, "final/energy", final_energy[a]), "summary");
        check(mltrack_run_summary(run, "final/residual", residual), "summary");
        check(mltrack_run_summary_string(run, "verdict", residual < 1e-3 ? "settled" : "evolving"), "summary");
        check(mltrack_run_log_histogram(run, "field", t, (int64_t)n * n, steps, 20), "histogram");
        check(mltrack_run_end(run, MLTRACK_STATE_COMPLETE), "end the run");
        printf("c_heat: %s: %ld steps, residual %.3g, energy %.4f\n", name, steps, residual, final_energy[a]);
        free(t);
        free(next);
    }

    /* The sweep's own run: its result per diffusivity, one step per value. */
    check(mltrack_run_start(tracker, "sweep", MLTRACK_START_CREATE, &run, NULL), "start the sweep run");
    check(mltrack_run_param_int(run, "values", sweep_size), "param");
    for (a = 0; a < sweep_size; ++a) {
        check(mltrack_run_log(run, "sweep/alpha", alphas[a], a), "log");
        check(mltrack_run_log(run, "sweep/final_energy", final_energy[a], a), "log");
    }
    check(mltrack_run_end(run, MLTRACK_STATE_COMPLETE), "end the sweep run");
    check(mltrack_tracker_close(tracker), "close the tracker");
    printf("c_heat: %d runs in %s/runs/c-heat (JSONL) and %s/tb (TensorBoard)\n", sweep_size + 1, out, out);
    return 0;
}
