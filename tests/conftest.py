import warnings

import pytest


@pytest.fixture(autouse=True)
def _quiet_gym_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*WARN.*")
        yield


@pytest.fixture(scope="module")
def torch_one_thread():
    """One intra-op torch thread for a test module: CPU tests share a small machine, and
    oversubscribed OpenMP threads spin (a tenfold slowdown when the cores are busy)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def labelled_dataset(tmp_path_factory):
    """``labelled_dataset(n)``: a tiny data set written by ``graspsim label`` (n single-object
    primitives scenes, seed 11, 3 trials per object), labelled once per session; read-only."""
    from graspsim.app.labelling import LabelConfig, label_dataset

    made = {}

    def make(scenes: int):
        if scenes not in made:
            out = tmp_path_factory.mktemp(f"sim{scenes}") / "data"
            label_dataset(LabelConfig(layout="single", scenes=scenes, seed=11, trials_per_object=3), out, progress=False)
            made[scenes] = out
        return made[scenes]

    return make


@pytest.fixture(scope="module")
def tiny():
    """An untrained ``tiny`` GraspSAM (seed 0) with some signal in its zero-initialised grasp
    head, so outputs differ per prompt; one per test module."""
    import torch

    from graspsim.policies.graspsam import build_graspsam

    torch.manual_seed(0)
    model = build_graspsam("tiny")
    with torch.no_grad():
        model.mask_decoder.grasp_head.bias.copy_(torch.tensor([0.2, 0.0, 0.0, 0.3]))
    return model
