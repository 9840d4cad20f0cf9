"""Claims as cells: one claim or one negative control, run in any process (a Dask worker).

``python -m verify run --workers N`` runs every claim and every control as an independent cell on
:class:`sim.sweep.Engine`; :func:`run_cell` is the job a worker runs. It is a module-level function
of an importable module, so Dask pickles it by reference and the worker imports the claims itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._claim import Evidence, get_claim, load_module


def run_cell(claim_id: str, mode: str, control: bool, modules: Sequence[str] = (),
             overrides: Mapping[str, str] | None = None) -> Evidence:
    """:meth:`verify.Claim.run_guarded` of claim ``claim_id`` (or of its negative control).

    Parameters
    ----------
    claim_id : str
        A registered claim id: a built-in or entry-point claim, or one registered by ``modules``.
    mode : {"quick", "full"}
    control : bool
        Run the negative control instead of the claim.
    modules : sequence of str
        Modules to import first (``--module``), so that their claims are registered in this process.
    overrides : mapping, optional
        ``--set`` overrides of the claim's settings (``{key: text}``).

    Returns
    -------
    Evidence
        The claim's evidence; an exception of the claim is its verdict ``error``, as in a serial run.
    """
    for name in modules:
        load_module(name)
    return get_claim(claim_id).run_guarded(mode, control=control, overrides=dict(overrides or {}))
