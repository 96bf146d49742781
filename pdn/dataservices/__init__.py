"""The shared data services as each tenant receives them: what its tenant file entitles it to."""
