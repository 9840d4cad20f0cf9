import os

import matplotlib
from hypothesis import settings

os.environ.setdefault("AIMC_PROGRESS", "0")  # no progress bars in tests
matplotlib.use("Agg")

# CI draws the same examples every run (derandomize: a red run is reproducible, never a lucky draw);
# HYPOTHESIS_PROFILE=explore searches fresh random examples locally
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, database=None)
settings.register_profile("explore", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
