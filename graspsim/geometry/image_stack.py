"""The observation as one image for CNN policies: RGB, height above the table, the prompt.

Shared by the environments' ``ImageObservation`` wrapper (graspsim.envs.wrappers),
which trains an agent on it, and the policy that runs a trained agent
(graspsim.policies.sb3_agent), so both see the same pixels.

:func:`image_stack` returns a channels-first uint8 ``(5, S, S)`` array
(channels :data:`IMAGE_CHANNELS`), each channel resized to ``size`` × ``size``
with OpenCV's area interpolation: R, G, B; the height above the table
(:func:`height_image`: 0 at the table and for missing depth, 255 at
``max_height_m``, clipped); and the prompt (:func:`prompt_channel`, in the
full image's pixels before the resize). With ``view_radius_px`` the image is
first cropped to the square of side 2 × ``view_radius_px`` (rounded to whole
pixels) centred on the prompt's anchor pixel
(:func:`graspsim.prompts.prompt_anchor`, rounded), zero where the square leaves
the image: an egocentric view in which the prompted object sits at the centre.
"""

from __future__ import annotations

import numpy as np

IMAGE_CHANNELS = ("red", "green", "blue", "height", "prompt")
#: default scale of the height channel: metres above the table that map to 255
MAX_HEIGHT_M = 0.15
#: default standard deviation (full-image pixels) of a point prompt's blob
POINT_SIGMA_PX = 6.0


def height_image(observation: dict, max_height_m: float = MAX_HEIGHT_M) -> np.ndarray:
    """Height above the table as uint8 H×W: 0 at the table (and missing depth), 255 at ``max_height_m``."""
    from graspsim.geometry.clearance import heights_above_table

    heights = np.nan_to_num(heights_above_table(np.asarray(observation["depth"], np.float32),
                                                observation["intrinsics"], observation["extrinsics"]), nan=0.0)
    return np.rint(np.clip(heights / max_height_m, 0.0, 1.0) * 255.0).astype(np.uint8)


def prompt_channel(prompt, shape: tuple[int, int], sigma_px: float = POINT_SIGMA_PX) -> np.ndarray:
    """The prompt drawn as a float32 H×W channel in [0, 255]: each positive point a
    Gaussian blob of ``sigma_px`` (peak 255), a box filled with 255, a mask as is
    (255 inside), a text prompt nothing (it has no place in an image)."""
    h, w = shape
    out = np.zeros((h, w), np.float32)
    if prompt.kind == "mask" and prompt.mask is not None:
        out[np.asarray(prompt.mask) > 0] = 255.0
    elif prompt.kind == "box" and prompt.box is not None:
        u0, v0, u1, v1 = (int(round(float(b))) for b in prompt.box)
        out[max(v0, 0):max(v1 + 1, 0), max(u0, 0):max(u1 + 1, 0)] = 255.0
    elif len(prompt.points):
        vv, uu = np.mgrid[0:h, 0:w].astype(np.float32)
        for (u, v), label in zip(prompt.points, prompt.labels):
            if label == 1:
                blob = 255.0 * np.exp(-((uu - u) ** 2 + (vv - v) ** 2) / (2 * sigma_px**2))
                np.maximum(out, blob, out=out)
    return out


def crop_around(channels: np.ndarray, centre_uv, radius_px: float) -> np.ndarray:
    """The (C, 2r, 2r) square of ``channels`` (C, H, W) centred on the pixel nearest
    ``centre_uv`` (r = ``radius_px`` rounded), zero outside the image."""
    if not (np.isfinite(radius_px) and radius_px >= 1):
        raise ValueError(f"view radius_px must be a number >= 1, got {radius_px!r}")
    r = int(round(radius_px))
    u, v = (int(round(float(x))) for x in centre_uv)
    c, h, w = channels.shape
    out = np.zeros((c, 2 * r, 2 * r), channels.dtype)
    u0, v0 = u - r, v - r
    su, sv = slice(max(u0, 0), min(u0 + 2 * r, w)), slice(max(v0, 0), min(v0 + 2 * r, h))
    if su.start < su.stop and sv.start < sv.stop:
        out[:, sv.start - v0:sv.stop - v0, su.start - u0:su.stop - u0] = channels[:, sv, su]
    return out


def image_stack(observation: dict, size: int, max_height_m: float = MAX_HEIGHT_M,
                point_sigma_px: float = POINT_SIGMA_PX, view_radius_px: float | None = None) -> np.ndarray:
    """The (5, size, size) uint8 image of an environment observation (module docstring);
    ``view_radius_px``: crop around the prompt's anchor first (ValueError for a text prompt)."""
    import cv2

    from graspsim.prompts import Prompt, prompt_anchor

    rgb = np.asarray(observation["rgb"], np.uint8)
    h, w = rgb.shape[:2]
    height = height_image(observation, max_height_m)
    prompt_obj = Prompt.from_observation(observation["prompt"])
    prompt = prompt_channel(prompt_obj, (h, w), point_sigma_px)
    channels = [rgb[..., 0], rgb[..., 1], rgb[..., 2], height, prompt]
    if view_radius_px is not None:
        channels = list(crop_around(np.stack([np.asarray(c, np.float32) for c in channels]),
                                    prompt_anchor(prompt_obj), view_radius_px))
    small = [cv2.resize(np.asarray(c, np.float32), (size, size), interpolation=cv2.INTER_AREA) for c in channels]
    return np.ascontiguousarray(np.clip(np.rint(np.stack(small)), 0, 255).astype(np.uint8))


__all__ = ["IMAGE_CHANNELS", "MAX_HEIGHT_M", "POINT_SIGMA_PX", "crop_around", "height_image", "image_stack", "prompt_channel"]
