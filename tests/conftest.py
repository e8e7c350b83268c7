import warnings

import pytest


@pytest.fixture(autouse=True)
def _quiet_gym_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*WARN.*")
        yield
