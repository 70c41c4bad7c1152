#!/usr/bin/env python3
"""MLflow's own Python client doing the logging the C++ bench does, against the same server: 4 metrics per
step through MlflowClient.log_batch (1000 metrics per call, the most MLflow takes) and through
mlflow.log_metric (one request per point). Prints the caller's time per point and requests per 1000 points.

    bench_python.py --uri URI [--points N] [--single N]
"""
import argparse
import os
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True)
    ap.add_argument("--points", type=int, default=40000)
    ap.add_argument("--single", type=int, default=2000)
    args = ap.parse_args()
    os.environ["MLFLOW_TRACKING_URI"] = args.uri
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient()
    exp = client.get_experiment_by_name("mltrack-bench")
    eid = exp.experiment_id if exp else client.create_experiment("mltrack-bench")
    keys = ["train/loss", "train/accuracy", "val/loss", "lr"]

    run = client.create_run(eid, run_name="python-log-batch-%d" % time.time())
    steps = args.points // 4
    pending, calls = [], 0
    t0 = time.perf_counter()
    for s in range(steps):
        ts = int(time.time() * 1000)
        x = 1.0 / (s + 1)
        for k, v in zip(keys, (x, 1 - x, x * 1.1, 0.001)):
            pending.append(Metric(k, v, ts, s))
        if len(pending) >= 1000:
            client.log_batch(run.info.run_id, metrics=pending)
            calls += 1
            pending = []
    if pending:
        client.log_batch(run.info.run_id, metrics=pending)
        calls += 1
    dt = time.perf_counter() - t0
    client.set_terminated(run.info.run_id)
    print("MlflowClient.log_batch (1000 metrics per call): %d points in %.2f s: caller %.0f ns/point, "
          "%.2f requests per 1000 points, %.0f points/s" % (steps * 4, dt, dt * 1e9 / (steps * 4),
                                                            1000.0 * calls / (steps * 4), steps * 4 / dt))

    mlflow.set_experiment(experiment_id=eid)
    with mlflow.start_run(run_name="python-log-metric-%d" % time.time()):
        n = args.single // 4
        t0 = time.perf_counter()
        for s in range(n):
            x = 1.0 / (s + 1)
            for k, v in zip(keys, (x, 1 - x, x * 1.1, 0.001)):
                mlflow.log_metric(k, v, step=s)
        dt = time.perf_counter() - t0
    print("mlflow.log_metric (one call per point): %d points in %.2f s: caller %.0f ns/point, "
          "1000 requests per 1000 points, %.0f points/s" % (n * 4, dt, dt * 1e9 / (n * 4), n * 4 / dt))


if __name__ == "__main__":
    main()
