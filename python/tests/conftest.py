import os
import sys

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def source_dir():
    return os.environ.get("JEFFREYS_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
