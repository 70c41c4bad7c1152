/* A C consumer of mltrack's C API (built by the CMake, meson and Makefile routes in tests/consumers/): logs
 * one run to JSONL under DIR; the route checks DIR/consumer-exp/r1/events.jsonl.
 * Usage: consumer_c DIR      exit status 0 when every call succeeded */
#include <stdio.h>

#include <mltrack/c/mltrack.h>

int main(int argc, char** argv) {
    char options[2048];
    mltrack_tracker t;
    mltrack_run r;
    mltrack_metric loss;
    if (argc != 2) {
        fprintf(stderr, "usage: consumer_c DIR\n");
        return 2;
    }
    snprintf(options, sizeof options, "experiment=consumer-exp; sink=jsonl:%s", argv[1]);
    if (mltrack_tracker_open_options(options, &t) != MLTRACK_OK || mltrack_run_start(t, "r1", MLTRACK_START_CREATE, &r, NULL) != MLTRACK_OK ||
        mltrack_run_param_double(r, "lr", 0.1) != MLTRACK_OK || mltrack_run_metric(r, "loss", &loss) != MLTRACK_OK ||
        mltrack_metric_log(loss, 0.5, 0) != MLTRACK_OK || mltrack_run_end(r, MLTRACK_STATE_COMPLETE) != MLTRACK_OK ||
        mltrack_tracker_close(t) != MLTRACK_OK) {
        fprintf(stderr, "consumer_c: %s\n", mltrack_last_error());
        return 1;
    }
    printf("consumer_c: logged with mltrack %s\n", mltrack_version());
    return 0;
}
