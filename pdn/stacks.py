"""Pulumi stacks of the pdn program, driven through the pinned CLI."""

from __future__ import annotations

from pdn.pulumi_env import PulumiEnvironment, ensure_kubernetes_plugin, run_pulumi

LOCAL_STACK = "local"


def select(env: PulumiEnvironment, stack: str) -> None:
    """Select the stack, creating it with the passphrase secrets provider if it is new."""
    run_pulumi(
        env,
        ["stack", "select", stack, "--create", "--secrets-provider", "passphrase"],
        capture=True,
    )


def up(env: PulumiEnvironment, stack: str) -> None:
    ensure_kubernetes_plugin(env)
    select(env, stack)
    run_pulumi(env, ["up", "--stack", stack, "--yes", "--skip-preview"])


def destroy(env: PulumiEnvironment, stack: str) -> None:
    ensure_kubernetes_plugin(env)
    select(env, stack)
    run_pulumi(env, ["destroy", "--stack", stack, "--yes", "--skip-preview"])
