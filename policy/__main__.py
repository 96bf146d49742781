"""Serve pdn's policy pack to the engine (the rules live in pdn/policies.py, unit-tested)."""

from pulumi_policy import EnforcementLevel, PolicyPack

from pdn.policies import POLICIES

PolicyPack(name="pdn-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
