"""The Pulumi project of the tenant shards (its program is __main__.py)."""
