"""How coachkit's charts are displayed: offline, interactive where a frontend can draw Vega-Lite, SVG everywhere.

- :func:`enable_interactive`: Altair's renderer ``"coachkit"``, a bundle of the Vega-Lite spec (JupyterLab draws
  it with its own bundled Vega: tooltips, hover, no CDN, trusted or not), its SVG (nbconvert's HTML export, nbval)
  and one line of text (:func:`mimebundle`). ``import coachkit`` in a kernel switches to it on the first chart
  (:func:`coachkit.notebook.install_display`).
- :func:`enable_svg`, :func:`to_svg`: static SVG only (the reviews).
- :func:`offline_jupyter_charts`: ``altair.JupyterChart`` widgets (the explorer app) with their JavaScript
  bundled, not fetched from a CDN.

Re-exported by :mod:`coachkit.charts`.
"""

from __future__ import annotations

from typing import Any

import altair as alt

__all__ = [
    "VEGALITE_MIME",
    "enable_svg",
    "spec_bundle",
    "mimebundle",
    "enable_interactive",
    "offline_jupyter_charts",
    "to_svg",
]


def enable_svg() -> None:
    """Render charts as inline SVG: offline and deterministic (never the papermill-breaking mimetype)."""
    alt.renderers.enable("svg")


#: The Vega-Lite MIME type JupyterLab 4 draws itself with its bundled Vega (no CDN). Altair 6 writes the v6 type,
#: which JupyterLab does not know; coachkit's specs compile with either version.
VEGALITE_MIME = "application/vnd.vegalite.v5+json"


def _title_text(spec: dict[str, Any]) -> str:
    title = spec.get("title")
    text = title.get("text", "") if isinstance(title, dict) else title
    if isinstance(text, list):
        text = " ".join(str(t) for t in text)
    return str(text or "").strip()


def spec_bundle(spec: dict[str, Any], *, svg: str | None = None) -> dict[str, Any]:
    """The display bundle of a Vega-Lite ``spec`` (see :func:`mimebundle`); ``svg``: its drawing, when known."""
    from altair.utils.mimebundle import spec_to_mimebundle

    if svg is None:
        svg = spec_to_mimebundle(spec, format="svg", mode="vega-lite")["image/svg+xml"]
    title = _title_text(spec)
    return {
        VEGALITE_MIME: spec,
        "image/svg+xml": svg,
        "text/plain": f"<chart: {title}>" if title else "<chart>",
    }


def mimebundle(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """How coachkit shows a chart in a notebook: interactive where a frontend can, static everywhere else, offline.

    - ``application/vnd.vegalite.v5+json``: the spec. JupyterLab draws it with its own bundled Vega, so tooltips
      and hover work without any network request, in trusted and untrusted notebooks alike.
    - ``image/svg+xml``: the static drawing (:func:`to_svg`), which nbconvert's HTML export and nbval use.
    - ``text/plain``: ``<chart: TITLE>``, for frontends that can draw neither.
    """
    spec = chart.to_dict(validate=False, context={"pre_transform": False})
    return spec_bundle(spec, svg=to_svg(chart))


def _renderer(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return spec_bundle(spec)


def enable_interactive() -> None:
    """Make coachkit's bundle (:func:`mimebundle`) Altair's renderer, named ``"coachkit"`` (idempotent).

    Every chart displayed in a notebook is then drawn interactively by JupyterLab and stored with its SVG.
    """
    if "coachkit" not in alt.renderers.names():
        alt.renderers.register("coachkit", _renderer)
    alt.renderers.enable("coachkit")


def offline_jupyter_charts(cache_dir: str | None = None) -> None:
    """Make ``altair.JupyterChart`` load its JavaScript from Python instead of a CDN (idempotent).

    Altair's ``JupyterChart.enable_offline()`` bundles vega-embed with vl-convert, about 2 s per process;
    the bundle is kept in ``cache_dir`` (default ``~/.cache/coachkit``), keyed by the Altair and vl-convert
    versions, and written atomically, so that later processes read it in milliseconds.
    """
    import os
    from pathlib import Path

    import vl_convert

    from .files import write_text

    if getattr(alt.JupyterChart, "_is_offline", False):
        return
    home_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "coachkit"
    folder = Path(cache_dir) if cache_dir else home_cache
    path = folder / f"jupyterchart-altair{alt.__version__}-vlc{vl_convert.__version__}.js"
    try:
        esm = path.read_text(encoding="utf-8")
    except OSError:
        esm = None
    if esm and hasattr(alt.JupyterChart, "_esm"):
        alt.JupyterChart._esm = esm
        alt.JupyterChart._is_offline = True
        return
    alt.JupyterChart.enable_offline()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text(path, alt.JupyterChart._esm)
    except OSError:  # a read-only home only costs the 2 s again next time
        pass


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as SVG, the same bytes as Altair's ``svg`` renderer draws it, without validating its spec.

    Displaying a chart validates its full spec against the Vega-Lite schema (about 1 s per review
    of 12 charts); coachkit's charts are validated by their tests, so the review skips it here. The
    spec goes through Altair's own ``svg`` conversion (vl-convert, Altair's Vega-Lite version and
    the renderer's locale options), so the output matches ``display(chart)`` exactly.
    """
    from altair.utils.mimebundle import spec_to_mimebundle

    spec = chart.to_dict(validate=False, context={"pre_transform": False})
    return spec_to_mimebundle(spec, format="svg", mode="vega-lite")["image/svg+xml"]
