"""The review's sections, one module each, in reading order: header, summary, effort, outcomes, follow_up,
feedback, effort_vs_feedback, pipeline, focus, definitions.

Each section is a pure function of a :class:`coachkit.SalesData`, a rep id and a
:class:`coachkit.window.Window`, returning a :class:`coachkit.review.page.Section`. Import them from
:mod:`coachkit.review` (``review.header(...)``); this package re-exports nothing, so that each module's name
stays the module.
"""
