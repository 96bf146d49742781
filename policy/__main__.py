"""Serve pdn's policy pack to the engine (the rules live in pdn/policies.py, unit-tested)."""

from pdn.policies import serve_pack

serve_pack("pdn-guardrails")
