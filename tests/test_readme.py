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


def _section_code(heading: str) -> str:
    """The first ```python block after ``heading`` in the README."""
    start = README.index(heading)
    return re.search(r"```python\n(.*?)```", README[start:], flags=re.S).group(1)


def test_bring_your_own_device_snippet_runs(capsys):
    """The README's "Bring your own device" snippet: one response -> sim device -> Analog SGD and
    Tiki-Taka -> the general bound in one call, which holds on the runs."""
    namespace: dict = {}
    exec(compile(_section_code("## Bring your own device"), "README.md", "exec"), namespace)
    ev, dev = namespace["ev"], namespace["dev"]
    assert ev.bound.id == "asgd.upper.general" and ev.applicable
    assert ev.check("README").passed is True
    assert dev.symmetric_point() == 0.0 and namespace["tt"].steps == namespace["K"]
    assert "1 - w**2/(2*tau**2) | w/(2*tau)" in capsys.readouterr().out
