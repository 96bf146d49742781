"""PDN-TIME-1 judged on what the host's NTP daemon says (`chronyc -c tracking`): synchronised
(leap status Normal) to a server, not to its own local clock, and within a second of it."""

from __future__ import annotations

import csv
import io

from pdn.compliance.verdict import Verdict

MAX_OFFSET_SECONDS = 1.0
# chronyd's reference when it is its own source (`local`), and when it has none.
_LOCAL_REFERENCES = {"7F7F0101", "4C4F434C", "00000000"}
_FIELDS = 14  # chronyc 4.x: id, name, stratum, ref time, system offset, ... , leap status


def judge(tracking_csv: str) -> Verdict:
    """The verdict on `chronyc -n -c tracking`'s one line."""
    rows = [r for r in csv.reader(io.StringIO(tracking_csv)) if r]
    if len(rows) != 1 or len(rows[0]) < _FIELDS:
        said = " ".join(tracking_csv.split())[:200] or "nothing"
        return Verdict(False, f"chronyc tracking did not report: {said}")
    row = rows[0]
    try:
        offset = float(row[4])
    except ValueError:
        return Verdict(False, f"chronyc tracking did not report an offset: {row[4]!r}")
    ref_id, server, stratum, leap = row[0], row[1], row[2], row[13]
    evidence = f"reference {server or '-'} (stratum {stratum}), offset {offset:+.6f} s, leap {leap}"
    if leap != "Normal":
        return Verdict(False, f"not synchronised: {evidence}")
    if ref_id.upper() in _LOCAL_REFERENCES:
        return Verdict(False, f"keeps time with its own clock, not a server: {evidence}")
    if abs(offset) > MAX_OFFSET_SECONDS:
        return Verdict(False, f"more than {MAX_OFFSET_SECONDS:.0f} s off: {evidence}")
    return Verdict(True, f"synchronised: {evidence}")
