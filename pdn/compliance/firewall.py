"""PDN-NET-1 judged on what the kernel holds (`nft -j list ruleset`), not on a file: for IPv4
and for IPv6, some input chain must drop what no rule accepts (its policy, or a last rule that
drops or rejects everything), with no rule before it that accepts everything."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pdn.compliance.errors import ComplianceError
from pdn.compliance.verdict import Verdict

# The address families an nftables table family filters.
_COVERS = {"inet": {"ipv4", "ipv6"}, "ip": {"ipv4"}, "ip6": {"ipv6"}}
_TERMINAL_DENY = {"drop", "reject"}
_NO_MATCH = {"counter", "log", "limit"}  # statements that do not narrow what a rule applies to


@dataclass(frozen=True)
class _Chain:
    family: str
    table: str
    name: str
    policy: str
    rules: tuple[list[dict[str, Any]], ...]

    @property
    def label(self) -> str:
        return f"{self.family} {self.table} {self.name}"


def _unconditional(expr: list[dict[str, Any]], verdicts: set[str]) -> bool:
    """The rule applies to every packet and ends in one of verdicts."""
    kinds = [next(iter(statement)) for statement in expr]
    return bool(kinds) and kinds[-1] in verdicts and set(kinds[:-1]) <= _NO_MATCH


def _tcp_ports(chain: _Chain) -> list[str]:
    """The TCP destination ports the chain accepts, as the evidence names them."""
    ports: list[str] = []
    for expr in chain.rules:
        if not expr or next(iter(expr[-1])) != "accept":
            continue
        for statement in expr:
            match = statement.get("match", {})
            payload = match.get("left", {}).get("payload", {})
            if payload.get("protocol") != "tcp" or payload.get("field") != "dport":
                continue
            right = match.get("right")
            values = right.get("set", []) if isinstance(right, dict) else [right]
            ports += [json.dumps(v) if isinstance(v, dict) else str(v) for v in values]
    return ports


def _chains(document: dict[str, Any]) -> list[_Chain]:
    rules: dict[tuple[str, str, str], list[list[dict[str, Any]]]] = {}
    for entry in document.get("nftables", []):
        if "rule" in entry:
            rule = entry["rule"]
            key = (rule["family"], rule["table"], rule["chain"])
            rules.setdefault(key, []).append(list(rule.get("expr", [])))
    chains = []
    for entry in document.get("nftables", []):
        chain = entry.get("chain")
        if chain is None or chain.get("hook") != "input" or chain.get("type") != "filter":
            continue
        key = (chain["family"], chain["table"], chain["name"])
        chains.append(_Chain(*key, str(chain.get("policy", "accept")), tuple(rules.get(key, []))))
    return chains


def _denies_by_default(chain: _Chain) -> bool:
    for expr in chain.rules:
        if _unconditional(expr, {"accept"}):
            return False  # everything after it, the policy included, is never reached
        if _unconditional(expr, _TERMINAL_DENY):
            return True
    return chain.policy == "drop"


def judge(listing: str) -> Verdict:
    """The verdict on `nft -j list ruleset`'s output."""
    try:
        document = json.loads(listing)
    except json.JSONDecodeError as err:
        raise ComplianceError(f"nft -j list ruleset did not print JSON: {err}") from err
    chains = _chains(document)
    covered: set[str] = set()
    said = []
    for chain in chains:
        denies = _denies_by_default(chain)
        if denies:
            covered |= _COVERS.get(chain.family, set())
        ports = _tcp_ports(chain)
        said.append(
            f"{chain.label}: policy {chain.policy}, "
            f"{'denies' if denies else 'does not deny'} by default"
            + (f", tcp in {', '.join(ports)}" if ports else "")
        )
    open_families = sorted({"ipv4", "ipv6"} - covered)
    if not chains:
        return Verdict(False, "no input filter chain: everything coming in is accepted")
    if open_families:
        said.append(f"nothing denies by default for {' and '.join(open_families)}")
    return Verdict(not open_families, "; ".join(said))
