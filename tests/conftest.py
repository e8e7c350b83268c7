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
