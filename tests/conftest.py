import os

import matplotlib
from hypothesis import settings

os.environ.setdefault("AIMC_PROGRESS", "0")  # no progress bars in tests
matplotlib.use("Agg")

settings.register_profile("ci", max_examples=60, deadline=None)
settings.load_profile("ci")
