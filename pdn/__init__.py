"""pdn: infrastructure as code and platform orchestration for Indonesia's national DC."""

import os

# pdn loads gRPC (Pulumi's automation API) and forks tools from the same process (ansible-runner,
# rsync, ssh). With gRPC's fork support on, grpcio 1.81 and later restart a poller thread in the
# forked child that dies on the closed epoll descriptor before the tool is exec'd
# (grpc/grpc#43055): about 1 fork in 300 failed here. Off, no fork failed in 600.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
