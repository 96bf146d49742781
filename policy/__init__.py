"""The CrossGuard policy pack of pdn (its program is __main__.py; the rules are in pdn.policies)."""
