"""Our own data sets: the folders written by ``graspsim label``.

Layout (all images of a data set share one camera)::

    <root>/
      dataset.json      format "graspsim-sim", version, object set, layout, split,
                        seed, trials per object, camera, planned scene count
      suite.jsonl       every scene spec with its world-grasp labels (a labelled
                        suite file; rewritten whenever scenes are added)
      scenes/<scene>/   <scene> = 6-digit scene number n; its seed is seed + n
        rgb.png         uint8 RGB
        depth.tiff      float32 z-depth in metres (0 = no depth)
        mask.png        uint8 instance mask: 0 = table, i + 1 = object index i
        camera.json     width, height, fov_deg, height_m, intrinsics, extrinsics
        scene.json      the scene spec with its labels (world grasps x, y, z, yaw, opening_m)
        grasps.json     per labelled object: index, name, category, visible_px,
                        positive / negative rectangles (u, v, angle, opening, jaw),
                        the failure mode of each negative, candidate counts
        <scene>_<index>_grasps.txt   the object's positives as Jacquard lines

A scene folder is written under a temporary name and renamed when complete,
so a folder that exists is whole (that is what resuming relies on).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from graspsim.datasets.sample import GraspDataset, GraspObject, GraspSample
from graspsim.rectangles import as_rects, format_jacquard

FORMAT = "graspsim-sim"
VERSION = 1
LAYOUT = """\
<root>/dataset.json
<root>/scenes/<scene>/rgb.png, depth.tiff, mask.png, camera.json, scene.json, grasps.json
<root>/scenes/<scene>/<scene>_<object>_grasps.txt
"""


def scene_name(number: int) -> str:
    return f"{number:06d}"


def camera_dict(camera) -> dict:
    return {
        "width": camera.width, "height": camera.height, "fov_deg": camera.fov_deg, "height_m": camera.height_m,
        "centre": list(camera.centre), "near": camera.near, "far": camera.far,
        "intrinsics": camera.intrinsics.tolist(), "extrinsics": camera.extrinsics.tolist(),
    }


def camera_from_dict(d: dict):
    from graspsim.camera import Camera

    return Camera(int(d["width"]), int(d["height"]), float(d["fov_deg"]), float(d["height_m"]), tuple(d["centre"]),
                  float(d["near"]), float(d["far"]))


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def write_dataset_header(root: Path, header: dict) -> None:
    """Create ``root`` and its dataset.json, or check that an existing one matches ``header``."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "dataset.json"
    full = {"format": FORMAT, "version": VERSION, **header}
    if path.exists():
        old = json.loads(path.read_text())
        keys = [k for k in full if k != "scenes"]
        diff = {k: (old.get(k), full[k]) for k in keys if old.get(k) != full[k]}
        if diff:
            raise ValueError(
                f"{root} holds a different data set; differing fields (existing, requested): {diff}. "
                "Use another --out folder."
            )
        full["scenes"] = max(int(old.get("scenes", 0)), int(full.get("scenes", 0)))
    _write_json(path, full)
    (root / "scenes").mkdir(exist_ok=True)


def write_scene(root: Path, number: int, spec, frame: dict, labels: dict, camera, object_set) -> Path:
    """Write one labelled scene atomically (temporary folder, then rename)."""
    import cv2

    name = scene_name(number)
    final = root / "scenes" / name
    tmp = root / "scenes" / f".{name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    seg = frame["segmentation"]
    if seg.max() > 255:
        raise ValueError(f"scene {name}: {seg.max()} objects do not fit an 8-bit instance mask")
    ok = cv2.imwrite(str(tmp / "rgb.png"), cv2.cvtColor(frame["rgb"], cv2.COLOR_RGB2BGR))
    ok &= cv2.imwrite(str(tmp / "depth.tiff"), frame["depth"].astype(np.float32))
    ok &= cv2.imwrite(str(tmp / "mask.png"), seg.astype(np.uint8))
    if not ok:
        raise OSError(f"could not write the images of scene {name} under {tmp}")
    _write_json(tmp / "camera.json", camera_dict(camera))
    (tmp / "scene.json").write_text(spec.with_labels(labels).to_json() + "\n")
    counts = np.bincount(seg.ravel().astype(np.int64), minlength=len(spec.objects) + 1)
    objects = []
    for index, lab in sorted(labels.items()):
        pos, neg = lab.rects(camera)
        info = object_set.get(spec.objects[index].name)
        objects.append({
            "index": index, "name": info.name, "category": info.category, "visible_px": int(counts[index + 1]),
            "positive": np.round(pos, 4).tolist(), "negative": np.round(neg, 4).tolist(), "negative_modes": list(lab.negative_modes),
            "candidates": lab.candidates, "filtered": lab.filtered,
        })
        (tmp / f"{name}_{index}_grasps.txt").write_text(format_jacquard(pos))
    _write_json(tmp / "grasps.json", {"scene": name, "objects": objects})
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def completed_scenes(root: Path) -> list[int]:
    """Scene numbers whose folders are complete."""
    scenes = Path(root) / "scenes"
    if not scenes.is_dir():
        return []
    return sorted(int(p.name) for p in scenes.iterdir() if p.is_dir() and p.name.isdigit() and (p / "grasps.json").is_file())


def write_suite_file(root: Path) -> Path:
    """Collect every scene.json into ``suite.jsonl`` (sorted by scene), atomically."""
    from graspsim.scene import SceneSpec, save_suite

    root = Path(root)
    specs = [SceneSpec.from_json((root / "scenes" / scene_name(n) / "scene.json").read_text()) for n in completed_scenes(root)]
    save_suite(root / "suite.jsonl", specs)
    return root / "suite.jsonl"


class SimDataset(GraspDataset):
    """A data set written by ``graspsim label`` (layout in the module docstring).

    One sample per scene; one object per labelled object (key = object index,
    identity = catalogue name, so object-wise splits hold out catalogue
    objects). ``GraspSample.meta`` holds the camera dict and the scene spec.
    """

    format = "sim"
    layout = LAYOUT

    def __init__(self, root):
        super().__init__(root)
        header = self.root / "dataset.json"
        if not header.is_file():
            raise ValueError(self.layout_error(f"{header} is missing"))
        self.header = json.loads(header.read_text())
        if self.header.get("format") != FORMAT:
            raise ValueError(f"{header}: format is {self.header.get('format')!r}, expected {FORMAT!r}")
        self._scene_dirs = [self.root / "scenes" / scene_name(n) for n in completed_scenes(self.root)]
        if not self._scene_dirs:
            raise ValueError(self.layout_error(f"{self.root} has no complete scene folders"))
        self.ids = [d.name for d in self._scene_dirs]
        self._grasps = [self._read_grasps(d) for d in self._scene_dirs]
        self._objects = [[(str(o["index"]), o["name"]) for o in g["objects"]] for g in self._grasps]

    @staticmethod
    def _read_grasps(scene_dir: Path) -> dict:
        path = scene_dir / "grasps.json"
        try:
            data = json.loads(path.read_text())
            for o in data["objects"]:
                for key in ("positive", "negative"):
                    o[key] = as_rects(o[key], source=f"{path} object {o['index']} {key}")
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: malformed grasp file ({exc})") from None
        return data

    def load(self, i: int) -> GraspSample:
        from graspsim.datasets.image_io import read_depth_tiff, read_image_unchanged, read_rgb

        d = self._scene_dirs[i]
        rgb = read_rgb(d / "rgb.png", self.ids[i])
        depth = read_depth_tiff(d / "depth.tiff")
        mask = read_image_unchanged(d / "mask.png", f"sample {self.ids[i]!r} instance mask")
        objects = [
            GraspObject(
                key=str(o["index"]), identity=o["name"], grasps=o["positive"], negatives=o["negative"],
                mask=mask == o["index"] + 1, name=o["name"], category=o["category"],
            )
            for o in self._grasps[i]["objects"]
        ]
        meta = {
            "source": str(d),
            "camera": json.loads((d / "camera.json").read_text()),
            "scene": json.loads((d / "scene.json").read_text()),
            "depth_units": "m",
        }
        return GraspSample(self.ids[i], rgb, depth, objects, meta)
