#!/usr/bin/env bash
# examples/hpc_job under mpirun -np 4 in both rank policies, with exact point counts per rank checked by an
# independent reader (Python's json module):
#   zero:  rank 0 writes events.jsonl, no other rank writes anything (no rank files, no TensorBoard folders);
#   every: events.jsonl + events.rank-{1,2,3}.jsonl and TensorBoard <run>/rank-{1,2,3}/, STEPS points each;
# then `mltrack show` lists the ranks of the every-rank run.
#   mpirun_hpc_job.sh MPIEXEC HPC_JOB MLTRACK_CLI OUT_DIR
set -euo pipefail
mpiexec=$1 job=$2 cli=$3 out=$4
steps=250
rm -rf "$out"
mkdir -p "$out"
# Open MPI refuses to run as root without these (CI containers run as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
for policy in zero every; do
    MLTRACK_RANKS=$policy "$mpiexec" -np 4 --oversubscribe -x MLTRACK_RANKS "$job" --out "$out/$policy" --steps $steps \
        > "$out/$policy.log" 2>&1 || { cat "$out/$policy.log"; exit 1; }
    cat "$out/$policy.log"
done
python3 - "$out" $steps <<'PY'
import json, os, sys
out, steps = sys.argv[1], int(sys.argv[2])
def points(path):
    lines = [json.loads(l) for l in open(path)]
    assert lines[0]["kind"] == "run_start", path
    assert lines[-1]["kind"] == "run_end" and lines[-1]["state"] == "COMPLETE", (path, lines[-1])
    loss = [l["step"] for l in lines if l["kind"] == "metrics" and "loss" in l["values"]]
    assert loss == list(range(steps)), (path, len(loss))
    return lines[0]
run = "runs/hpc-example/hpc-job"
zero = os.path.join(out, "zero", run)
assert sorted(os.listdir(zero)) == ["events.jsonl"], os.listdir(zero)
head = points(os.path.join(zero, "events.jsonl"))
assert head["world_size"] == 4 and head["rank"] == 0, head
tb = os.path.join(out, "zero", "tb/hpc-example/hpc-job")
assert all(not d.startswith("rank-") for d in os.listdir(tb)), os.listdir(tb)
every = os.path.join(out, "every", run)
names = ["events.jsonl"] + ["events.rank-%d.jsonl" % r for r in (1, 2, 3)]
assert sorted(os.listdir(every)) == sorted(names), os.listdir(every)
for r, name in enumerate(names):
    head = points(os.path.join(every, name))
    assert head.get("rank", 0) == r and head["world_size"] == 4, head
tb = os.path.join(out, "every", "tb/hpc-example/hpc-job")
assert sorted(d for d in os.listdir(tb) if d.startswith("rank-")) == ["rank-1", "rank-2", "rank-3"], os.listdir(tb)
print("mpirun: both policies wrote exactly %d points per writing rank" % steps)
PY
"$cli" show "$out/every/runs/hpc-example/hpc-job" > "$out/show.txt"
cat "$out/show.txt"
grep -q "^ranks (4)" "$out/show.txt"
