#!/bin/bash
# Every figure issue 14 asks of a GraspSAM checkpoint, in one run (one worker, hours on this 2-core CPU):
#   docs/evaluate_graspsam.sh CHECKPOINT OUT [STAGE ...]
#   docs/evaluate_graspsam.sh checkpoints/tiny_rgbd_text/best.pt runs/v9            # every stage
#   docs/evaluate_graspsam.sh checkpoints/tiny_rgbd_text/best.pt runs/v9 ablation   # one stage
# Stages (each skips the folders it already finished; benchmark runs resume with --resume):
#   ablation  the policy's selection steps switched on one at a time, on validation scenes: 100 generated
#             pile scenes of train-split objects of every set the model trained on, randomised
#             appearance, seeds 70000-70099 (never the test suites), point and box prompts
#   suites    graspsam (default steps), graspsam-model and the analytic policy on the four shipped suites,
#             point and box
#   text      the text-test suite: graspsam reading phrases with the model's own grounding map (--grounder
#             model) in the training and the held-out phrasing, and with the catalogue oracle, for comparison
#   offline   top-1 of the model alone against the suites' dense labels (data/suite-* folders)
#   latency   the policy's latency on a new image and on a further prompt, 2 torch threads
# Tables: python docs/ablation_table.py OUT/ablation ; graspsim table --by-scenes OUT/suites/* ; OUT/offline/*.txt ;
#         graspsim table OUT/text/*
set -e
ck=$1; out=$2; shift 2
stages=${*:-ablation suites offline latency text}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$out"

bench() {  # bench FOLDER ARGS...: one benchmark run, resumed if it was cut off
  local dir=$1; shift
  if [ -f "$dir/summary.json" ]; then echo "done: $dir"; return; fi
  local resume=""; [ -f "$dir/episodes.jsonl" ] && resume="--resume"
  graspsim benchmark "$@" --workers 1 --no-figures --quiet $resume --out "$dir"
}

for stage in $stages; do
  case $stage in
  ablation)
    # plain decoding first, then each step added in the order the policy applies them (depth-refine: the
    # default since session 9; colour-refine: instead of depth-refine, off by default)
    declare -A steps=(
      [plain]='{"fit_opening": false, "collision_check": false, "fallback": false, "depth_refine": false}'
      [fit]='{"fit_opening": true, "collision_check": false, "fallback": false, "depth_refine": false}'
      [fit-check]='{"fit_opening": true, "collision_check": true, "fallback": false, "depth_refine": false}'
      [fallback]='{"depth_refine": false}'
      [depth-refine]='{"depth_refine": true}'
      [colour-refine]='{"colour_refine": true, "depth_refine": false}'
    )
    for objs in primitives random-urdfs procedural; do
      for name in plain fit fit-check fallback depth-refine colour-refine; do
        bench "$out/ablation/$objs-$name" --policy "graspsam@$ck" --as graspsam --objects $objs --split train \
          --layout pile --appearance randomised --seed 70000 --episodes 100 --prompt point --prompt box \
          --policy-kwargs "${steps[$name]}"
      done
      bench "$out/ablation/$objs-analytic" --policy analytic --objects $objs --split train --layout pile \
        --appearance randomised --seed 70000 --episodes 100 --prompt point --prompt box
    done ;;
  suites)
    for suite in primitives-test random-urdfs-test appearance-test procedural-test; do
      bench "$out/suites/$suite" --policy "graspsam@$ck" --policy "graspsam-model@$ck" --policy analytic \
        --as graspsam --as graspsam-model --as analytic --suite $suite --prompt point --prompt box
    done ;;
  offline)
    mkdir -p "$out/offline"
    for data in data/suite-primitives-test-v2 data/suite-random-urdfs-test-v2 data/suite-appearance-test \
                data/suite-procedural-test; do
      f="$out/offline/$(basename $data).txt"
      [ -s "$f" ] || graspsim eval graspsam --checkpoint "$ck" --data $data --quiet > "$f"
      echo "$data: $(grep -E '^ *(point|box):' "$f" | tr -s ' ' | tr '\n' ';')"
    done ;;
  text)
    for phrasing in train held_out; do
      bench "$out/text/model-$phrasing" --policy "graspsam@$ck" --policy "graspsam-model@$ck" --as graspsam \
        --as graspsam-model --suite text-test --prompt text --phrasing $phrasing --grounder model
    done
    bench "$out/text/catalogue-train" --policy "graspsam@$ck" --policy "graspsam-model@$ck" --as graspsam \
      --as graspsam-model --suite text-test --prompt text --phrasing train --grounder catalogue ;;
  latency)
    graspsim bench policy --policy graspsam --checkpoint "$ck" --threads 2 | tee "$out/latency.txt" ;;
  *) echo "unknown stage $stage (ablation, suites, offline, latency, text)" >&2; exit 2 ;;
  esac
done
