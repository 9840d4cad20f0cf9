"""The README stays true: its tables name every claim and figure, its commands exist."""

import re
from pathlib import Path

from paper_figures import all_figures
from verify import all_claims

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_claim_and_figure_is_in_the_readme():
    missing = [c.id for c in all_claims() if f"`{c.id}`" not in README]
    missing += [f for f in all_figures() if f"`{f}`" not in README]
    assert not missing, f"README tables miss {missing}"


def test_readme_names_no_unknown_claim():
    ids = {c.id for c in all_claims()}
    prefixes = ("device.", "asgd.", "agd.", "tt.", "rl.", "pulse.", "nets.", "pipeline.", "certify.")
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_.]+)` \|", README, flags=re.M)
    unknown = [r for r in rows if r.startswith(prefixes) and r not in ids and r not in all_figures()]
    assert not unknown, f"README lists claims that do not exist: {unknown}"


def test_setup_commands_exist():
    assert "make figures QUICK=1" in README and "make test" in README
    makefile = (ROOT / "Makefile").read_text()
    for target in ("test:", "figures:", "verify:", "bench:"):
        assert target in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
