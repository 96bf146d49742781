"""A host check's judgement of what a host's own tool printed: whether it passes, and the
evidence the report shows either way."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    passes: bool
    evidence: str
