"""Episode figures: the RGB image with the prompt and the executed grasp drawn on it."""

from __future__ import annotations

import numpy as np

from graspsim.grasp import ImageGrasp
from graspsim.prompts import Prompt

PROMPT_COLOUR = (255, 0, 255)
SUCCESS_COLOUR = (0, 200, 0)
FAILURE_COLOUR = (230, 30, 30)
NEUTRAL_COLOUR = (255, 220, 0)


def draw_prompt(rgb: np.ndarray, prompt: Prompt) -> np.ndarray:
    """Draw points (filled dots; negatives hollow), box or mask outline, and text."""
    import cv2

    img = np.ascontiguousarray(rgb.copy())
    for (u, v), label in zip(prompt.points, prompt.labels):
        cv2.circle(img, (int(round(u)), int(round(v))), 4, PROMPT_COLOUR, -1 if label == 1 else 1, cv2.LINE_AA)
    if prompt.box is not None:
        u0, v0, u1, v1 = (int(round(b)) for b in prompt.box)
        cv2.rectangle(img, (u0, v0), (u1, v1), PROMPT_COLOUR, 1)
    if prompt.mask is not None:
        contours, _ = cv2.findContours(prompt.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(img, contours, -1, PROMPT_COLOUR, 1)
    if prompt.text:
        cv2.putText(img, prompt.text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, PROMPT_COLOUR, 1, cv2.LINE_AA)
    return img


def draw_grasp(rgb: np.ndarray, grasp: ImageGrasp, colour=NEUTRAL_COLOUR) -> np.ndarray:
    """Draw a grasp rectangle: thin lines along the closing direction, thick jaws."""
    import cv2

    img = np.ascontiguousarray(rgb.copy())
    g = grasp if grasp.jaw_px > 0 else ImageGrasp(grasp.u, grasp.v, grasp.angle, grasp.opening_px, 8.0, grasp.score)
    c = np.round(g.corners()).astype(np.int32)
    cv2.line(img, tuple(c[1]), tuple(c[2]), colour, 3, cv2.LINE_AA)  # jaws
    cv2.line(img, tuple(c[3]), tuple(c[0]), colour, 3, cv2.LINE_AA)
    cv2.line(img, tuple(c[0]), tuple(c[1]), colour, 1, cv2.LINE_AA)  # closing lines
    cv2.line(img, tuple(c[2]), tuple(c[3]), colour, 1, cv2.LINE_AA)
    cv2.circle(img, (int(round(g.u)), int(round(g.v))), 2, colour, -1)
    return img


def episode_figure(rgb: np.ndarray, prompt: Prompt | None, grasp: ImageGrasp | None, success: bool | None) -> np.ndarray:
    """The per-episode figure: RGB + prompt + grasp (green success, red failure)."""
    img = rgb if prompt is None else draw_prompt(rgb, prompt)
    if grasp is not None:
        colour = NEUTRAL_COLOUR if success is None else (SUCCESS_COLOUR if success else FAILURE_COLOUR)
        img = draw_grasp(img, grasp, colour)
    return img


def save_png(path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG."""
    import cv2

    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise ValueError(f"could not write image {str(path)!r}")


def _panel_mask(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    img = (rgb.astype(np.float32) * 0.4).astype(np.uint8)
    img[mask] = (0.4 * rgb[mask] + 0.6 * np.array(PROMPT_COLOUR)).astype(np.uint8)
    return img


def _panel_heat(values: np.ndarray, shape) -> np.ndarray:
    """A [0, 1] map as a colour image of ``shape`` (nearest-neighbour upscaling)."""
    import cv2

    v = np.clip(np.nan_to_num(values.astype(np.float32)), 0.0, 1.0)
    v = cv2.resize(v, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(cv2.applyColorMap((v * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)


def model_figure(rgb, prompt, mask, grasp, quality, success) -> np.ndarray:
    """GraspSAM's figure, five panels side by side: RGB | prompt | predicted mask |
    predicted grasp | quality map. ``quality`` may be at a lower resolution (it is
    shown over the padded square frame of the model, cropped to the image)."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    q = _panel_heat(quality, (side, side))[:h, :w]
    colour = NEUTRAL_COLOUR if success is None else (SUCCESS_COLOUR if success else FAILURE_COLOUR)
    grasp_panel = rgb if grasp is None else draw_grasp(rgb, grasp, colour)
    panels = [rgb, draw_prompt(rgb, prompt) if prompt is not None else rgb, _panel_mask(rgb, mask.astype(bool)), grasp_panel, q]
    gap = np.full((h, 4, 3), 255, np.uint8)
    out = [panels[0]]
    for p in panels[1:]:
        out += [gap, p]
    return np.concatenate(out, axis=1)


def write_video(path, frames, caption: list[str], fps: int = 20) -> int:
    """Write ``frames`` ((phase, rgb uint8 H×W×3) pairs, as recorded by
    :class:`graspsim.sim.replay.ReplayRecorder`) to an MP4 file (``mp4v``) with the
    ``caption`` lines and the phase drawn in each frame; returns the number of
    frames written. The file is written next to its final name and renamed, so an
    interrupted write never leaves a broken video under that name."""
    import os
    from pathlib import Path

    import cv2

    if not frames:
        raise ValueError("write_video: no frames to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0][1].shape[:2]
    tmp = path.with_name(path.stem + ".part.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise ValueError(f"cannot write a video to {str(path)!r} (no mp4v encoder in this OpenCV)")
    try:
        for phase, rgb in frames:
            bgr = np.ascontiguousarray(rgb[..., ::-1])
            for k, line in enumerate([*caption, phase]):
                y = 16 + 16 * k
                cv2.putText(bgr, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 3, cv2.LINE_AA)
                cv2.putText(bgr, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
            writer.write(bgr)
    finally:
        writer.release()
    os.replace(tmp, path)
    return len(frames)
