"""Train a Stable-Baselines3 agent (PPO or SAC, CnnPolicy) on graspsim/PromptedGraspImage-v0.

    pip install -e ".[rl]"
    python examples/sb3_image.py --algo ppo --layout single --steps 20000 --out runs/sb3-ppo-single
    python examples/sb3_image.py --algo sac --layout single --steps 20000 --out runs/sb3-sac-single
    python examples/sb3_image.py --algo ppo --actions relative --steps 20000 --out runs/sb3-ppo-single-relative
    python examples/sb3_image.py --algo ppo --actions relative --view anchor --steps 20000 --out runs/sb3-ppo-single-anchor
    python examples/sb3_image.py --algo ppo --actions relative --view anchor --layout pile --prompt point,box \
        --init-from policies/checkpoints/sb3_ppo_anchor_primitives.pth --steps 50000 --out runs/sb3-ppo-pile-more

The observation is a 5-channel 84 x 84 image (RGB, height above the table,
the prompt drawn as a channel) and the action (u, v, angle, opening) in
[-1, 1]^4 (see graspsim.envs.wrappers). The agent is saved to
``OUT/model.zip`` every ``--save-every`` steps and at the end; running the
same command again continues from it. Success over steps is logged to
``OUT/progress.csv`` (steps, episodes, success rate of the last 100) and
drawn as ``OUT/curve.png`` at the end (``--plot-only`` redraws it).
``--init-from`` starts a new agent from another's policy network (its ``model.zip``
or an exported ``.pth``, e.g. the shipped one) instead of random weights;
``--schedule fast`` trains on the labeller's faster grasp schedule (grasps about
2.5x faster; evaluate on the full one). The
saved agent runs as a policy:
``graspsim benchmark --policy sb3-ppo@OUT/model.zip --suite primitives-test ...``.
"""

from __future__ import annotations

import argparse
import csv
import json
import textwrap
from pathlib import Path


def main(argv=None) -> None:
    import gymnasium as gym
    import numpy as np
    import stable_baselines3 as sb3
    from stable_baselines3.common.callbacks import BaseCallback

    import graspsim  # noqa: F401 - registers the environments
    from graspsim.policies.sb3_agent import mapping_record, warm_start
    from graspsim.sim.executor import SCHEDULES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algo", choices=("ppo", "sac"), default="ppo")
    parser.add_argument("--objects", default="primitives")
    parser.add_argument("--layout", default="single", choices=("single", "pile", "packed"))
    parser.add_argument("--prompt", default="point",
                        help="a prompt kind, or kinds separated by commas (point,box): each episode draws one")
    parser.add_argument("--actions", default="absolute", choices=("absolute", "relative"),
                        help="relative: (u, v) as offsets from the prompted pixel (PromptRelativeAction)")
    parser.add_argument("--view", default="full", choices=("full", "anchor"),
                        help="anchor: the image cropped around the prompted pixel (ImageObservation view)")
    parser.add_argument("--camera-px", type=int, default=320, help="rendered image width and height")
    parser.add_argument("--steps", type=int, default=20000, help="environment steps (one grasp each)")
    parser.add_argument("--n-steps", type=int, default=256, help="PPO: steps per rollout (minibatches of 64 or fewer)")
    parser.add_argument("--save-every", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-from", type=Path, default=None, metavar="CHECKPOINT",
                        help="a new agent starts from this agent's policy network (model.zip or exported .pth; same "
                             "--actions and --view) instead of random weights; ignored when OUT/model.zip exists")
    parser.add_argument("--schedule", default="full", choices=tuple(SCHEDULES),
                        help="the environment's grasp schedule (fast: the labeller's, grasps about 2.5x faster)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plot-only", action="store_true", help="only redraw OUT/curve.png from OUT/progress.csv")
    parser.add_argument("--export", type=Path, default=None, metavar="PATH.pth",
                        help="only write OUT/model.zip's policy network in half precision to PATH.pth "
                             "(and its action mapping to PATH.json), for sb3-ppo@PATH.pth")
    args = parser.parse_args(argv)
    if args.plot_only:
        plot_progress(args.out, curve_title(args))
        return
    if args.export is not None:
        from graspsim.policies.sb3_agent import export_policy

        print(f"wrote {export_policy(args.out / 'model.zip', args.export, args.algo, args.out / 'model.json')}")
        return

    args.out.mkdir(parents=True, exist_ok=True)
    env = gym.make("graspsim/PromptedGraspImage-v0", objects=args.objects, layout=args.layout, prompt=tuple(args.prompt.split(",")),
                   split="train", actions=args.actions, view=args.view, width=args.camera_px, height=args.camera_px,
                   schedule=args.schedule)
    # how the agent's actions map onto grasps, for the sb3-ppo / sb3-sac policies that run it later
    mapping = mapping_record(args.actions, env.get_wrapper_attr("radius_px") if args.actions == "relative" else None,
                             env.get_wrapper_attr("view_radius_px"))
    meta = args.out / "model.json"
    if meta.is_file() and json.loads(meta.read_text()) != mapping:
        raise SystemExit(f"{meta} records {meta.read_text().strip()}, not {mapping}: use another --out")
    meta.write_text(json.dumps(mapping))
    algo = {"ppo": sb3.PPO, "sac": sb3.SAC}[args.algo]
    path = args.out / "model.zip"
    if path.is_file():
        model = algo.load(path, env=env)
        # a fresh scene stream: reseeding with the start seed would replay the scenes already trained on
        model.set_random_seed(args.seed + model.num_timesteps)
        print(f"resuming from {path} at {model.num_timesteps} steps")
    else:
        kwargs = dict(n_steps=args.n_steps, batch_size=min(64, args.n_steps)) if args.algo == "ppo" else dict(buffer_size=20000, learning_starts=500)
        model = algo("CnnPolicy", env, seed=args.seed, verbose=0, **kwargs)
        if args.init_from is not None:
            warm_start(model, args.init_from, args.algo, mapping)
            print(f"starting from the policy network of {args.init_from}")

    class Progress(BaseCallback):
        """Appends (steps, episodes, success rate of the last 100) to progress.csv and saves periodically."""

        def __init__(self):
            super().__init__()
            self.successes: list[bool] = []
            self.episodes_before = episodes_logged(args.out / "progress.csv")

        def _on_step(self) -> bool:
            for info, done in zip(self.locals["infos"], self.locals["dones"]):
                if done:
                    self.successes.append(bool(info.get("success")))
            if self.num_timesteps % args.save_every == 0:
                save_atomically(model, path)
                recent = self.successes[-100:]
                with open(args.out / "progress.csv", "a", newline="") as f:
                    csv.writer(f).writerow([self.num_timesteps, self.episodes_before + len(self.successes),
                                            f"{np.mean(recent) if recent else 0.0:.3f}"])
            return True

    remaining = max(args.steps - model.num_timesteps, 0)
    model.learn(remaining, callback=Progress(), reset_num_timesteps=False, progress_bar=False)
    save_atomically(model, path)
    print(f"saved {path} after {model.num_timesteps} steps")
    plot_progress(args.out, curve_title(args))


def curve_title(args) -> str:
    return (f"{args.algo.upper()} on {args.objects} {args.layout} scenes, {args.prompt} prompts, {args.actions} actions"
            + (", anchor view" if args.view == "anchor" else "")
            + (f", {args.schedule} schedule" if args.schedule != "full" else "")
            + (f", from {args.init_from.name}" if args.init_from is not None else ""))


def save_atomically(model, path: Path) -> None:
    """Save through a temporary file so that a run killed mid-save leaves the previous agent intact."""
    partial = path.with_name(path.stem + ".partial.zip")
    model.save(partial)
    partial.replace(path)


def episodes_logged(progress: Path) -> int:
    """Episodes counted by earlier runs into the same ``progress.csv`` (0 when there is none)."""
    if not progress.is_file():
        return 0
    rows = [r for r in csv.reader(open(progress)) if r]
    return int(rows[-1][1]) if rows else 0


def plot_progress(out: Path, title: str) -> Path:
    """Draw ``out/progress.csv`` (success rate of the last 100 episodes over environment steps) as ``out/curve.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in csv.reader(open(out / "progress.csv")) if r]
    steps = [int(r[0]) for r in rows]
    rate = [float(r[2]) for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    ax.plot(steps, rate, lw=1.5)
    ax.set_xlabel("environment steps (one grasp each)")
    ax.set_ylabel("lift success, last 100 episodes")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title(textwrap.fill(title, 64), fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "curve.png")
    plt.close(fig)
    return out / "curve.png"


if __name__ == "__main__":
    main()
