"""A stand-in for ``notebooks/rep_review.ipynb`` in the batch, cluster and run-safety tests: quick, and scriptable per rep.

Its parameters cell is the review's (the names the batch injects), then the test's own code, then the summary
output as :func:`coachkit.export.publish_summary` makes it, written without importing coachkit (pandas) in the
kernel, so that the notebook stays quick under the tests' short timeouts.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from coachkit import export

#: The review's parameters, as the batch injects them.
PARAMETERS = 'rep_id: str = ""\ndata: str = ""\nas_of: str = ""\nweeks: int = 4\nplaybook: str = ""\nprevious: str = ""'


def write_fake_review(path: Path, code: str, *, headline: bool = True) -> Path:
    """Write the notebook to ``path`` and return it: parameters, ``code``, summary. ``headline``: the summary
    holds one headline KPI, "Length" (the rep id's length); else none."""
    items = ' [{"key": "len", "label": "Length", "value": len(rep_id)}]' if headline else " []"
    summary = (
        "from IPython.display import display\n"
        f'display({{"{export.SUMMARY_MIME}": {{"rep_id": rep_id, "name": rep_id, "headline":{items}}}}}, raw=True)'
    )
    nb = new_notebook(
        cells=[
            new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
            new_code_cell(code),
            new_code_cell(summary),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path
