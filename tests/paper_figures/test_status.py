"""Fidelity records (``python -m paper_figures status``) and the README table generated from them."""

import json
import re
from pathlib import Path

import pytest

from paper_figures import all_figures, status
from paper_figures.__main__ import main
from paper_figures._fidelity import FIGURE_EVIDENCE_PREFIX, Fidelity
from verify import all_claims

FIGS = all_figures()
RECORDS = status.records()
CLAIM_IDS = {c.id for c in all_claims()}
README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_figure_has_a_record():
    assert set(RECORDS) == set(FIGS)


@pytest.mark.parametrize("fid", list(FIGS))
def test_evidence_exists(fid):
    rec = RECORDS[fid][1]
    assert rec.evidence
    for ev in rec.evidence:
        if ev.startswith(FIGURE_EVIDENCE_PREFIX):
            assert ev.removeprefix(FIGURE_EVIDENCE_PREFIX) in FIGS, ev
        else:
            assert ev in CLAIM_IDS, f"{fid}: evidence {ev!r} is not a registered claim"


@pytest.mark.parametrize("fid", list(FIGS))
def test_verdict_is_backed(fid):
    rec = RECORDS[fid][1]
    if rec.verdict == "reproduces":
        # a reproduction is backed by at least one registered claim, and names no flipping factor
        assert any(ev in CLAIM_IDS for ev in rec.evidence)
        assert rec.factor is None
    else:
        # a deviation says what is off, and names the suspected factor or says none is known
        assert rec.notes.strip()
        assert rec.factor or "ablation" in rec.notes


def test_fidelity_validates():
    good = dict(statement="s", verdict="reproduces", evidence=("a.b",), regime="exact")
    Fidelity(**good)
    for key, bad in (("verdict", "partial"), ("regime", "pulse"), ("evidence", ()),
                     ("evidence", ["a.b"]), ("evidence", ("",)), ("statement", " "),
                     ("larger", ["epochs=3"]), ("larger", ("epochs",))):
        with pytest.raises(ValueError, match=f"Fidelity.{key}"):
            Fidelity(**(good | {key: bad}))


@pytest.mark.parametrize("fid", [f for f in FIGS if RECORDS[f][1].larger])
def test_larger_grid_overrides_resolve(fid):
    """A figure's larger-grid overrides name real settings and change the full configuration (the
    command printed by ``status`` runs as written)."""
    spec, rec = RECORDS[fid]
    overrides = dict(o.split("=", 1) for o in rec.larger)
    larger = spec.configs.resolve("full", overrides)
    assert larger != spec.configs.full
    assert status.larger_command(fid, rec).startswith(f"python -m paper_figures {fid} --set ")


def test_readme_table_is_generated():
    text = README.read_text()
    section = text[text.index("## Figures\n"):]
    section = section[:section.index("\n## ")]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    assert table == status.markdown_table()
    assert len(re.findall(r"^\| `", table, flags=re.M)) == len(FIGS)


def test_cli_status_table(capsys):
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["id", "paper", "item"]
    assert [ln.split()[0] for ln in lines[1:]] == list(FIGS)
    for ln, (fid, (_, rec)) in zip(lines[1:], RECORDS.items(), strict=True):
        assert rec.verdict in ln.split() and ln.endswith(", ".join(rec.evidence)), fid


def test_cli_status_json(capsys):
    assert main(["status", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == list(FIGS)
    for r in rows:
        rec = RECORDS[r["id"]][1]
        assert r["verdict"] == rec.verdict and r["evidence"] == list(rec.evidence)
        assert {"statement", "regime", "factor", "notes", "reference", "title"} <= set(r)


@pytest.mark.parametrize("argv, message", [
    (["status", "exact_fig1_lr"], "'status' takes no figure ids"),
    (["exact_fig1_lr", "--json"], "--json is only valid with 'status'"),
])
def test_cli_status_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
