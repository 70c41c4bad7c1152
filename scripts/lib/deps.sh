# Sourced by scripts/test.sh and scripts/demo.sh: makes sure the Debian packages mltrack needs are there.
# As root, missing packages are installed; otherwise the apt-get line to run is printed.

mltrack_need_packages() {
    local missing=()
    local pkg
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "mltrack: not a Debian system (no dpkg-query): not checking for packages (${*})" >&2
        return 0
    fi
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "mltrack: missing packages (${missing[*]}) and no apt-get: install the equivalents by hand" >&2
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "mltrack: missing Debian packages; run as root:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        return 1
    fi
    echo "==> installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# What building and running the library and its demo needs.
MLTRACK_BUILD_PACKAGES=(g++ cmake ninja-build pkg-config python3 nlohmann-json3-dev libcurl4-openssl-dev)
# What the whole test suite needs on top of that.
MLTRACK_TEST_PACKAGES=(doctest-dev meson git libssl-dev libbenchmark-dev libspdlog-dev  # the last two: bench/
                       valgrind clang libclang-rt-14-dev  # tests/valgrind, tests/fuzz (libFuzzer)
                       openmpi-bin libopenmpi-dev  # tests/hpc: mpirun -np 4 on examples/hpc_job, mltrack/mpi.hpp
                       gfortran)  # the Fortran module, its test and examples/fortran_mpi (Open MPI's mpi.mod)
# The framework adapters' test and examples (XGBoost's C API, LibTorch): installed by scripts/test.sh in full mode.
MLTRACK_AUTOLOG_PACKAGES=(libxgboost-dev libtorch-dev)
