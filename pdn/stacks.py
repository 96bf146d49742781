"""Pulumi stacks of the pdn program, driven through the pinned CLI."""

from __future__ import annotations

from pathlib import Path

from pdn.pulumi_env import PulumiEnvError, PulumiEnvironment, ensure_kubernetes_plugin, run_pulumi

LOCAL_STACK = "local"
KUBECONFIG_KEY = "pdn:kubeconfig"


def select(env: PulumiEnvironment, stack: str) -> None:
    """Select the stack, creating it with the passphrase secrets provider if it is new."""
    run_pulumi(
        env,
        ["stack", "select", stack, "--create", "--secrets-provider", "passphrase"],
        capture=True,
    )


def set_kubeconfig(env: PulumiEnvironment, stack: str, kubeconfig: Path) -> None:
    """Store the kubeconfig as secret stack config (through stdin, never on a command line)."""
    wanted = kubeconfig.read_text()
    try:
        current = run_pulumi(
            env, ["config", "get", KUBECONFIG_KEY, "--stack", stack], capture=True
        ).stdout
    except PulumiEnvError:
        current = None
    if current is not None and current.rstrip("\n") == wanted.rstrip("\n"):
        return  # unchanged: keep the config file (and its ciphertext) as it is
    run_pulumi(
        env,
        ["config", "set", "--secret", KUBECONFIG_KEY, "--stack", stack],
        capture=True,
        stdin_text=wanted,
    )


def up(env: PulumiEnvironment, stack: str, kubeconfig: Path | None = None) -> None:
    ensure_kubernetes_plugin(env)
    select(env, stack)
    if kubeconfig is not None:
        set_kubeconfig(env, stack, kubeconfig)
    run_pulumi(env, ["up", "--stack", stack, "--yes", "--skip-preview"])


def destroy(env: PulumiEnvironment, stack: str) -> None:
    ensure_kubernetes_plugin(env)
    select(env, stack)
    run_pulumi(env, ["destroy", "--stack", stack, "--yes", "--skip-preview"])
