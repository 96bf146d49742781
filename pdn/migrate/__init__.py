"""Consolidating agency server rooms: discover, assess, plan waves (migrate, verify, cut over and
roll back to come), as Ansible playbooks (playbooks/) run through ansible-runner."""
