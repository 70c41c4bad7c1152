#!/usr/bin/env bash
# examples/fortran_mpi under mpirun -np 4, read back by the C++ reader (c_readback) and `mltrack check`:
#   zero:   the job is preempted (SIGTERM) after step 39: its run is PREEMPTED with steps 0..39, every rank wrote
#           a checkpoint; the requeued job resumes the run and ends it COMPLETE with steps 0..99, exactly once
#           each; only rank 0 wrote (no rank files);
#   every:  the same with MLTRACK_RANKS=every: each rank's file has its own local/residual, resumed too.
#   mpirun_fortran.sh MPIEXEC FORTRAN_MPI READBACK MLTRACK_CLI OUT_DIR
set -euo pipefail
mpiexec=$1 job=$2 readback=$3 cli=$4 out=$5
steps=100 stop=39
rm -rf "$out"
mkdir -p "$out"
# Open MPI refuses to run as root without these (CI containers run as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
for policy in zero every; do
    dir="$out/$policy" run="$out/$policy/runs/fortran-mpi/rod"
    MLTRACK_RANKS=$policy "$mpiexec" -np 4 --oversubscribe -x MLTRACK_RANKS "$job" --out "$dir" --steps $steps \
        --stop-at $stop
    for r in 0 1 2 3; do [ -f "$dir/checkpoint.rank-$r" ] || { echo "no checkpoint of rank $r" >&2; exit 1; }; done
    "$readback" "$run" state=PREEMPTED steps:residual=0..$stop steps:energy=0..$stop param:ranks=4 world_size=4
    MLTRACK_RANKS=$policy "$mpiexec" -np 4 --oversubscribe -x MLTRACK_RANKS "$job" --out "$dir" --steps $steps
    for r in 0 1 2 3; do [ ! -e "$dir/checkpoint.rank-$r" ] || { echo "checkpoint of rank $r left" >&2; exit 1; }; done
    if [ $policy = zero ]; then ranks=0; else ranks=3; fi
    "$readback" "$run" state=COMPLETE resumes=1 steps:residual=0..$((steps - 1)) steps:energy=0..$((steps - 1)) \
        steps:local/residual=0..$((steps - 1)) param:alpha=0.25 param:method=explicit ranks=$ranks world_size=4
    "$cli" check "$dir/runs"
    "$cli" check "$dir/tb"
done
echo "mpirun_fortran: preempted, requeued and resumed under both rank policies"
