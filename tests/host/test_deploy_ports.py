"""host_tools.ports: --port, then $HOST_TOOLS_PORT, then the one ESP32 adapter by VID:PID."""

from __future__ import annotations

import pytest

from host_tools import ports
from host_tools.errors import NoDeviceError

CP2102 = ports.SeenPort("/dev/ttyUSB0", 0x10C4, 0xEA60, "CP2102 USB to UART")
CH340 = ports.SeenPort("/dev/ttyUSB1", 0x1A86, 0x7523, "USB Serial")
MOUSE = ports.SeenPort("/dev/ttyACM0", 0x046D, 0xC52B, "Unifying receiver")
BUILTIN = ports.SeenPort("/dev/ttyS0", None, None, "n/a")


def test_explicit_port_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ports.ENV_VAR, "/dev/from-env")
    monkeypatch.setattr(ports, "list_ports", lambda: pytest.fail("must not scan"))
    assert ports.resolve_port("/dev/explicit") == "/dev/explicit"


def test_environment_before_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ports.ENV_VAR, "/dev/from-env")
    monkeypatch.setattr(ports, "list_ports", lambda: pytest.fail("must not scan"))
    assert ports.resolve_port(None) == "/dev/from-env"


def test_single_esp32_adapter_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ports.ENV_VAR, raising=False)
    monkeypatch.setattr(ports, "list_ports", lambda: [BUILTIN, MOUSE, CH340])
    assert ports.resolve_port(None) == "/dev/ttyUSB1"


def test_none_found_lists_what_was_seen() -> None:
    with pytest.raises(NoDeviceError) as e:
        ports.pick_esp32_port([BUILTIN, MOUSE])
    text = str(e.value)
    assert "/dev/ttyS0" in text and "046d:c52b" in text and "--port" in text


def test_several_found_asks_to_choose() -> None:
    with pytest.raises(NoDeviceError) as e:
        ports.pick_esp32_port([CP2102, CH340])
    assert "/dev/ttyUSB0" in str(e.value) and "/dev/ttyUSB1" in str(e.value)
    assert "several" in str(e.value)
