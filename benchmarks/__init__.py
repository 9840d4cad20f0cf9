"""Performance benchmarks (``make bench``); targets are ratios measured in one run."""
