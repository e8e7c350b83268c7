#!/bin/bash
# Mutation-test one module with chosen test files, in a copy of the tree (the checkout stays clean):
#   docs/mutate_module.sh NAME "module.glob*" SOURCE_PATH TEST_FILE [TEST_FILE ...]
#   docs/mutate_module.sh prompts "graspsim.prompts*" graspsim/prompts.py tests/test_prompts.py tests/test_envs.py
#   docs/mutate_module.sh decoding "graspsim.policies.graspsam.decoding*" policies/graspsam/decoding.py tests/test_graspsam_utils.py
# The copy is $MUT_DIR/NAME (default /tmp/graspsim-mut/NAME); it ends with summary.txt (mutmut's counts)
# and mutmut-results.txt (every mutant's fate). One core, three hours at most.
# In the copy, envs/, objects/ and policies/ move under graspsim/ (where the package mapping of
# pyproject.toml installs them), so that mutmut's mutants/ tree imports their mutated code too;
# SOURCE_PATH stays the checkout's path.
set -e
name=$1; glob=$2; src=$3; shift 3
tests=$(printf '"%s", ' "$@")
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
dir=${MUT_DIR:-/tmp/graspsim-mut}/$name
rm -rf "$dir" && mkdir -p "$dir"
cd "$root" && git ls-files | tar -cf - -T - | tar -xf - -C "$dir"
cd "$dir"
for pkg in envs objects policies; do mv "$pkg" "graspsim/$pkg"; done
case $src in envs/*|objects/*|policies/*) src=graspsim/$src ;; esac
python - "$src" "$tests" <<'PY'
import re, sys
src, tests = sys.argv[1], sys.argv[2]
s = open("pyproject.toml").read()
s = re.sub(r"package-dir = \{[^}]*\}", 'package-dir = { "graspsim" = "graspsim" }', s)
s = re.sub(r"also_copy = \[[^\]]*\]", 'also_copy = ["graspsim", "tests"]', s)
s = re.sub(r"source_paths = \[[^\]]*\]", f'source_paths = ["{src}"]', s)
s = re.sub(r"pytest_add_cli_args_test_selection = \[[^\]]*\]", f"pytest_add_cli_args_test_selection = [{tests}]", s)
open("pyproject.toml", "w").write(s)
PY
export OMP_NUM_THREADS=1
timeout 10800 mutmut run --max-children 1 "$glob" > mutmut-run.log 2>&1 || true
mutmut results --all true > mutmut-results.txt 2>&1 || true
mutmut export-cicd-stats > /dev/null 2>&1 || true
cat mutants/mutmut-cicd-stats.json > summary.txt 2>/dev/null || echo "no stats" > summary.txt
cat summary.txt
