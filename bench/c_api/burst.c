/* The C side of bench_c_api: `count` back-to-back mltrack_metric_log calls, compiled as C in its own
 * translation unit (as a C program calls the library: through the shared object's exported function). */
#include <mltrack/c/mltrack.h>

int bench_c_burst(mltrack_metric metric, int64_t first_step, int count) {
    int bad = 0, i;
    for (i = 0; i < count; ++i) bad += mltrack_metric_log(metric, 0.5, first_step + i) != MLTRACK_OK;
    return bad;
}
