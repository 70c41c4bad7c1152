#!/usr/bin/env bash
# Prepares TensorBoard's own Python reader from a snapshot of tensorflow/tensorboard, for run.sh:
# exports its `tensorboard` package (no web frontend) into DEST and generates its *_pb2.py modules with
# Debian's protoc. TensorFlow is not needed (TensorBoard falls back to its own stub).
#   setup.sh GIT_DIR DEST      GIT_DIR: the snapshot's git directory (a bare clone of tensorflow/tensorboard)
# Missing Debian packages are installed when run as root (else the apt-get line is printed).
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,6p' "$0"; exit 2; }
git_dir=$1 dest=$2
cd "$(dirname "$0")/../.."
source scripts/lib/deps.sh
mltrack_need_packages protobuf-compiler python3-protobuf python3-numpy python3-absl python3-werkzeug \
    python3-packaging python3-markdown python3-bleach python3-grpcio python3-pil
mkdir -p "$dest"
# git archive stops at a missing blob (snapshots may lack large files); the package itself is small.
git --git-dir="$git_dir" archive HEAD tensorboard | tar -x -C "$dest" 2>/dev/null || true
[ -f "$dest/tensorboard/__init__.py" ] || { echo "setup.sh: no tensorboard package in $git_dir" >&2; exit 1; }
(cd "$dest" && find tensorboard -name '*.proto' ! -path '*/uploader/*' ! -path '*/webapp/*' -print0 |
    xargs -0 protoc --python_out=. -I . -I /usr/include)
/usr/bin/python3 -c "import sys; sys.path.insert(0, '$dest'); from tensorboard.compat.proto import event_pb2" >/dev/null
echo "TensorBoard's reader is ready in $dest (pass --tensorboard $dest to run.sh, or set TENSORBOARD_SRC)"
