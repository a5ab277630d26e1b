"""The letters' PDF reader, shared with the demo's checks (``simulation/pdf_text.py``)."""

from simulation.pdf_text import Run, page_text, text_runs

__all__ = ["Run", "page_text", "text_runs"]
