"""A process that has loaded gRPC (Pulumi's automation API) forks tools (ansible-runner, ssh)
that must start every time: pdn turns gRPC's fork support off before gRPC is loaded."""

from __future__ import annotations

import os
import subprocess
import sys

FORKS = """
import concurrent.futures, pdn, grpc, pexpect
server = grpc.server(concurrent.futures.ThreadPoolExecutor(2))
server.add_insecure_port("127.0.0.1:0")
server.start()
channel = grpc.insecure_channel("127.0.0.1:1")  # a client retrying, as the engine's is
try:
    grpc.channel_ready_future(channel).result(timeout=0.2)
except grpc.FutureTimeoutError:
    pass
failed = 0
for _ in range(600):
    child = pexpect.spawn("/bin/true")  # as ansible-runner starts ansible-playbook
    child.delayafterclose = child.ptyproc.delayafterclose = 0
    child.expect(pexpect.EOF)
    child.close()
    failed += child.exitstatus != 0
print(failed)
"""


def test_forks_beside_a_grpc_server_all_start() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRPC_ENABLE_FORK_SUPPORT"}
    done = subprocess.run(
        [sys.executable, "-c", FORKS],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0", done.stderr
