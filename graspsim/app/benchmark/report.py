"""``report.md`` and the figures of a benchmark folder, and markdown results tables.

Figures (PNG, in ``figures/``): ``success_by_category.png`` (success rate
per object category and policy, with Wilson 95% intervals),
``failure_modes.png`` (failure-mode counts per policy and prompt), and
``examples_<policy>_<prompt>.png`` (a grid of saved episode figures, up to
three successes in the left column and three failures in the right; with a
learned model in GraspSAM's style RGB | prompt | mask | grasp | quality).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .episode import safe_name
from .store import write_text_atomic
from .summary import grounder_label, prompt_label

EXAMPLES_PER_KIND = 3


def _pct(x) -> str:
    return f"{x:.2f}"


def results_table(summaries: list[tuple[str, dict]]) -> str:
    """One markdown row per (policy, prompt) group of each ``(scenes, summary)``."""
    from graspsim.grasp_metrics import active_metrics

    seen = {m for _, summary in summaries for g in summary["groups"].values() for m in g.get("metrics", {})}
    metrics = [m for m in active_metrics() if m.rate_key and (m.name == "rect" or m.name in seen)]
    rows = [
        "| policy | gripper | scenes | prompt | episodes | success (95% CI) | "
        + "".join(f"{m.title or m.name} | " for m in metrics)
        + "agreement | main failure modes | latency p50 / p95 ms | episodes/s per worker |",
        "|---|---|---|---|---|---|" + "---|" * len(metrics) + "---|---|---|---|",
    ]
    for scenes, summary in summaries:
        for g in summary["groups"].values():
            modes = sorted(((n, m) for m, n in g["failure_modes"].items() if n), reverse=True)[:2]
            lo, hi = g["success_ci95"]
            measured = g.get("metrics") or ({"rect": {"accuracy": g["rect_accuracy"]}} if "rect_accuracy" in g else {})
            cells = "".join(f"{_pct(measured[m.name]['accuracy']) if m.name in measured else '-'} | " for m in metrics)
            agree = _pct(g["agreement_rate"]) if "agreement_rate" in g else "-"
            errors = f" ({g['errors']} errors)" if g["errors"] else ""
            rows.append(
                f"| {g['policy']} | {summary.get('config', {}).get('gripper', 'franka')} | {scenes} | {prompt_label(g)} | {g['episodes']}{errors} "
                f"| {_pct(g['success_rate'])} ({_pct(lo)}–{_pct(hi)}) | {cells}{agree} "
                f"| {', '.join(f'{m} {n}' for n, m in modes) or '-'} "
                f"| {g['policy_latency_ms']['p50']:.1f} / {g['policy_latency_ms']['p95']:.1f} "
                f"| {g['episodes_per_second_per_worker']:.2f} |"
            )
    return "\n".join(rows)


def scenes_of(summary: dict) -> str:
    c = summary.get("config", {})
    return f"suite {c['suite']}" if c.get("suite") else f"{c.get('objects')} {c.get('layout')}"


def _category_table(summary: dict, key: str = "per_category", title: str = "category") -> str:
    """Success per value of a group's ``key`` ("per_category", "per_appearance"), one column per group."""
    groups = summary["groups"]
    categories = sorted({c for g in groups.values() for c in g.get(key, {})})
    rows = [f"| {title} | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    for c in categories:
        cells = []
        for g in groups.values():
            s = g.get(key, {}).get(c)
            cells.append("-" if s is None else f"{s['rate']:.2f} ({s['successes']}/{s['episodes']})")
        rows.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _agreement_lines(g: dict) -> list[str]:
    lines = []
    for name, m in g.get("metrics", {}).items():
        a = m["agreement"]
        lines += [
            f"Agreement of {m['title']} with lifting, `{g['policy']}/{g['prompt']}` "
            f"({m['episodes']} measured episodes):",
            "",
            "| | lifted | not lifted |",
            "|---|---|---|",
            f"| {name} correct | {a[f'{name}_yes_lift_yes']} | {a[f'{name}_yes_lift_no']} |",
            f"| {name} wrong | {a[f'{name}_no_lift_yes']} | {a[f'{name}_no_lift_no']} |",
            "",
        ]
    return lines


def report_markdown(summary: dict, records: list[dict], figures: list[str], out=None) -> str:
    c = summary["config"]
    lines = [
        "# graspsim benchmark report",
        "",
        f"Scenes: {scenes_of(summary)}; seed {c['seed']}; environment {c['env']}; "
        f"gripper {c.get('gripper', 'franka')}; "
        + ("" if c.get("schedule", "full") == "full" else f"**{c['schedule']} executor schedule** (not the full one); ")
        + f"{summary['episodes']} finished episodes, {summary['errors']} errors; "
        f"{summary['workers']} worker(s), backend {summary['backend']}; {summary['elapsed_s']:.0f} s "
        f"({summary['episodes_per_second']:.2f} episodes/s).",
        "",
        "## Results",
        "",
        results_table([(scenes_of(summary), summary)]),
        "",
        "Success intervals are Wilson 95% score intervals. Rectangle-metric accuracy counts labelled "
        "episodes only.",
        "",
    ]
    declutter = [g for g in summary["groups"].values() if "declutter_rate" in g]
    if declutter:
        lines += ["## Clutter removal", "", "| policy | prompt | rounds | attempts | grasp success rate | declutter rate |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {g['policy']} | {prompt_label(g)} | {g['episodes']} | {g['attempts']} | {_pct(g['grasp_success_rate'])} "
                  f"| {_pct(g['declutter_rate'])} |" for g in declutter]
        lines.append("")
    lines += ["## Success by object category", "", _category_table(summary), ""]
    if any(g.get("per_appearance") for g in summary["groups"].values()):
        lines += ["## Success by appearance", "",
                  ("Appearance: as the suite's scenes store it (randomised where they carry one). "
                   if c.get("suite") and c.get("appearance", "catalogue") == "catalogue"
                   else f"Appearance: {c.get('appearance', 'catalogue')}. ")
                  + "Groups by the target's colour: achromatic-light "
                  "(white, light grey), achromatic-dark (dark grey, black), chromatic, textured.", "",
                  _category_table(summary, "per_appearance", "target appearance"), ""]
    for g in summary["groups"].values():
        lines += _agreement_lines(g)
    failed_videos = [r for r in records if r.get("video") and r.get("success") is False]
    if failed_videos:
        lines += ["## Replays of failed grasps", ""]
        for r in failed_videos:
            try:
                link = Path(r["video"]).resolve().relative_to(Path(out).resolve()) if out is not None else r["video"]
            except ValueError:
                link = r["video"]
            lines.append(f"- [`{r['key']}`]({link}): {r['failure_mode']} ({r['target_name']})")
        lines.append("")
    errors = [r for r in records if r.get("error")]
    if errors:
        lines += ["## Errors", ""]
        lines += [f"- `{r['key']}` (seed {r['seed']}): {r['error'].strip().splitlines()[-1]}" for r in errors[:20]]
        if len(errors) > 20:
            lines.append(f"- ... and {len(errors) - 20} more (see episodes.jsonl)")
        lines.append("")
    if figures:
        lines += ["## Figures", ""] + [f"![{Path(f).stem}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def _plot_categories(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = summary["groups"]
    categories = sorted({c for g in groups.values() for c in g["per_category"]})
    fig, ax = plt.subplots(figsize=(min(12.0, max(5.0, 0.5 * len(categories) * max(1, len(groups)) ** 0.5 + 2)), 4.0))
    width = 0.8 / max(1, len(groups))
    x = np.arange(len(categories))
    for k, (name, g) in enumerate(groups.items()):
        rates = np.array([g["per_category"].get(c, {"rate": np.nan})["rate"] for c in categories])
        ci = np.array([g["per_category"].get(c, {"ci95": [np.nan, np.nan]})["ci95"] for c in categories])
        err = np.vstack([rates - ci[:, 0], ci[:, 1] - rates])
        ax.bar(x + (k - (len(groups) - 1) / 2) * width, rates, width, yerr=err, capsize=2, label=name)
    ax.set_xticks(x, categories, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate (95% CI)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_failures(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = summary["groups"]
    modes = [m for m in next(iter(groups.values()))["failure_modes"]
             if any(g["failure_modes"][m] for g in groups.values())]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(groups) + 2), 3.6))
    bottom = np.zeros(len(groups))
    for m in modes:
        counts = np.array([g["failure_modes"][m] for g in groups.values()], float)
        ax.bar(list(groups), counts, bottom=bottom, label=m)
        bottom += counts
    ax.set_ylabel("failed episodes")
    ax.tick_params(axis="x", rotation=30)
    if modes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _example_grid(out: Path, records: list[dict], label: str, prompt: str) -> np.ndarray | None:
    import cv2

    folder = out / "figures" / "episodes" / safe_name(label) / prompt
    ok = [r for r in records if r.get("error") is None and r["policy"] == label and r["prompt_kind"] == prompt]

    def images(success: bool) -> list[np.ndarray]:
        found = []
        for r in ok:
            path = folder / f"episode_{r['episode']:04d}.png"
            if bool(r["success"]) == success and path.is_file():
                found.append(cv2.imread(str(path), cv2.IMREAD_COLOR))
            if len(found) == EXAMPLES_PER_KIND:
                break
        return found

    good, bad = images(True), images(False)
    if not good and not bad:
        return None
    shape = (good or bad)[0].shape
    blank = np.full(shape, 255, np.uint8)
    rows = []
    for k in range(max(len(good), len(bad))):
        left = good[k] if k < len(good) else blank
        right = bad[k] if k < len(bad) else blank
        rows.append(np.hstack([left, np.full((shape[0], 8, 3), 255, np.uint8), right]))
    header = np.full((28, rows[0].shape[1], 3), 255, np.uint8)
    for text, x in (("successes", 6), ("failures", shape[1] + 14)):
        cv2.putText(header, text, (x, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([header] + rows)


def write_report(out, summary: dict, records: list[dict]) -> list[str]:
    """Write the figures and ``report.md`` into ``out``; returns the figure paths (relative)."""
    import cv2

    out = Path(out)
    (out / "figures").mkdir(exist_ok=True)
    figures = []
    if summary["episodes"]:
        _plot_categories(summary, out / "figures" / "success_by_category.png")
        _plot_failures(summary, out / "figures" / "failure_modes.png")
        figures += ["figures/success_by_category.png", "figures/failure_modes.png"]
        for g in summary["groups"].values():
            grid = _example_grid(out, records, g["policy"], g["prompt"])
            if grid is not None:
                name = f"figures/examples_{safe_name(g['policy'])}_{g['prompt']}.png"
                cv2.imwrite(str(out / name), grid)
                figures.append(name)
    write_text_atomic(out / "report.md", report_markdown(summary, records, figures, out))
    return figures


def _agreement_text(name: str, table: dict) -> str:
    width = max(len(name) + 9, 15)
    return "\n".join([
        " " * (width + 2) + "lifted   not lifted",
        f"{name + ' correct':<{width}}  {table[f'{name}_yes_lift_yes']:>7d}   {table[f'{name}_yes_lift_no']:>10d}",
        f"{name + ' wrong':<{width}}  {table[f'{name}_no_lift_yes']:>7d}   {table[f'{name}_no_lift_no']:>10d}",
    ])


def format_summary(summary: dict) -> str:
    """The summary as terminal text: one block per (policy, prompt) group."""
    lines = [f"{summary['episodes']} episodes, {summary['errors']} errors, {summary['elapsed_s']:.1f} s "
             f"({summary['episodes_per_second']:.2f} episodes/s, {summary.get('workers', 1)} worker(s))"]
    for name, g in summary["groups"].items():
        lo, hi = g["success_ci95"]
        lines += [
            f"== {name}" + (f" (grounder: {grounder_label(g)})" if g.get("grounder") else ""),
            f"success rate: {g['success_rate']:.3f} ({g['successes']}/{g['episodes']}), 95% CI {lo:.3f}–{hi:.3f}"
            + (f"; {g['errors']} error(s)" if g["errors"] else ""),
            "failure modes: " + ", ".join(f"{k}={v}" for k, v in g["failure_modes"].items()),
            f"policy latency: p50 {g['policy_latency_ms']['p50']:.1f} ms, p95 {g['policy_latency_ms']['p95']:.1f} ms",
        ]
        if "pick_rate" in g:
            lines.append(f"target picked (predicted mask IoU >= 0.5): {g['pick_rate']:.3f}, "
                         f"mean mask IoU {g['mean_target_mask_iou']:.3f}")
        if "declutter_rate" in g:
            lines.append(f"grasp success rate {g['grasp_success_rate']:.3f} over {g['attempts']} attempts, "
                         f"declutter rate {g['declutter_rate']:.3f}")
        for metric_name, m in g.get("metrics", {}).items():
            lines += [
                f"{m['title']}: {m['accuracy']:.3f} over {m['episodes']} measured episode(s)",
                f"agreement with lifting: {m['agreement_rate']:.3f}",
                _agreement_text(metric_name, m["agreement"]),
            ]
    return "\n".join(lines)


def pivot_table(summaries: list[tuple[str, dict]]) -> str:
    """One row per (policy, prompt), one column per scene set: lift success and, in
    brackets, the rectangle-metric accuracy of the executed grasp."""
    columns = list(dict.fromkeys(scenes for scenes, _ in summaries))
    cells: dict[str, dict[str, str]] = {}
    for scenes, summary in summaries:
        for g in summary["groups"].values():
            rect = f" ({_pct(g['rect_accuracy'])})" if "rect_accuracy" in g else ""
            cells.setdefault(f"{g['policy']}, {prompt_label(g)}", {})[scenes] = f"{_pct(g['success_rate'])}{rect}"
    rows = ["| policy, prompt | " + " | ".join(c.replace("suite ", "") for c in columns) + " |",
            "|---|" + "---|" * len(columns)]
    rows += [f"| {name} | " + " | ".join(row.get(c, "-") for c in columns) + " |" for name, row in cells.items()]
    return "\n".join(rows)


def summary_table(folders, pivot: bool = False) -> str:
    """The markdown results table of benchmark (or run) folders, one row per group
    (``pivot``: one row per policy and prompt, one column per scene set)."""
    import json

    summaries = []
    for folder in folders:
        path = Path(folder) / "summary.json"
        if not path.is_file():
            raise ValueError(f"{str(path)!r} does not exist: is {str(folder)!r} a finished benchmark folder?")
        summary = json.loads(path.read_text())
        if "groups" not in summary:
            raise ValueError(f"{str(path)!r} is not a graspsim benchmark summary (no 'groups')")
        summaries.append((scenes_of(summary), summary))
    return pivot_table(summaries) if pivot else results_table(summaries)
