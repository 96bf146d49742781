"""Whether a pod may open a connection to another, by the NetworkPolicies alone (v1 semantics).

kwok runs no network, so isolation is checked on the objects: the policies the cluster holds,
evaluated the way a conforming network plugin enforces them. Traffic from S to D on a port is
allowed when S's egress and D's ingress both allow it; a side no policy selects is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    namespace: str
    namespace_labels: dict[str, str]
    pod_labels: dict[str, str]


def _expression_holds(expression: dict[str, Any], labels: dict[str, str]) -> bool:
    key, operator = expression["key"], expression["operator"]
    values = expression.get("values") or []
    return {
        "In": key in labels and labels[key] in values,
        "NotIn": not (key in labels and labels[key] in values),
        "Exists": key in labels,
        "DoesNotExist": key not in labels,
    }[operator]


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); {} selects all."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expression_holds(e, labels) for e in selector.get("matchExpressions") or [])


def _peer_matches(peer: dict[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        return False  # pod-to-pod traffic is matched by selectors, not by a CIDR
    namespace_selector = peer.get("namespaceSelector")
    pod_selector = peer.get("podSelector")
    if namespace_selector is None and other.namespace != policy_namespace:
        return False  # a podSelector alone means: in the policy's own namespace
    if namespace_selector is not None and not _selects(namespace_selector, other.namespace_labels):
        return False
    return _selects(pod_selector or {}, other.pod_labels)


def _port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        start, end = entry.get("port"), entry.get("endPort")
        if (
            start is None
            or (end is None and start == port)
            or (end is not None and start <= port <= end)
        ):
            return True
    return False


def _allowed(
    policies: list[Manifest], me: Endpoint, other: Endpoint, port: tuple[int, str], direction: str
) -> bool:
    number, protocol = port
    kind = "Ingress" if direction == "ingress" else "Egress"
    peers_key = "from" if direction == "ingress" else "to"
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == me.namespace
        and kind in (p["spec"].get("policyTypes") or ["Ingress"])
        and _selects(p["spec"].get("podSelector") or {}, me.pod_labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(direction) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(peer, me.namespace, other) for peer in peers)
            if peer_ok and _port_matches(rule, number, protocol):
                return True
    return False


def can_connect(
    policies: list[Manifest], source: Endpoint, target: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    return _allowed(policies, source, target, (port, protocol), "egress") and _allowed(
        policies, target, source, (port, protocol), "ingress"
    )
