"""The php_config module's rewrite of a PHP application's configuration: settings replaced
where they stand, missing ones added after the opening tag, the rest of the file untouched."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

MODULE = (
    Path(__file__).resolve().parents[2]
    / "playbooks/collections/ansible_collections/pdn/migrate/plugins/modules/php_config.py"
)


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("php_config", MODULE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


AGENCY = """<?php
// SIMPEG Kabupaten Bekasi
define('DB_HOST', '198.18.192.11');
define("DB_NAME", "simpeg");
define('DB_PASSWORD', 'rahasia');
define('APP_TITLE', 'SIMPEG');
"""


def test_settings_are_replaced_in_place_and_missing_ones_added() -> None:
    configured = _module().configured
    after = configured(
        AGENCY,
        {"DB_HOST": "'198.18.208.1'", "DB_NAME": "'kab_bekasi'", "DB_PORT": "13306"},
    )
    assert after == (
        "<?php\n"
        "define('DB_PORT', 13306);\n"
        "// SIMPEG Kabupaten Bekasi\n"
        "define('DB_HOST', '198.18.208.1');\n"
        "define('DB_NAME', 'kab_bekasi');\n"
        "define('DB_PASSWORD', 'rahasia');\n"
        "define('APP_TITLE', 'SIMPEG');\n"
    )
    # A second pass changes nothing.
    assert configured(after, {"DB_HOST": "'198.18.208.1'", "DB_PORT": "13306"}) == after


def test_a_file_without_an_opening_tag_gets_one() -> None:
    assert _module().configured("", {"DB_PORT": "3306"}) == "<?php\ndefine('DB_PORT', 3306);\n"
