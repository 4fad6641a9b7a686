"""A MicroPython device's raw REPL through mpremote's own transport, with host_tools errors.

`deploy` and `device-test` drive a board (or the sim's pseudo-terminal) the way the `mpremote`
command does: they use `mpremote.transport_serial.SerialTransport` as a library, never a
transport of their own. This wrapper only adds what both commands share: entering the raw REPL
with a clear error when the token does not answer, running a snippet and returning its output,
and converting mpremote's exceptions into host_tools.errors types.
"""

from __future__ import annotations

import ast
import contextlib
import io
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from host_tools.errors import DeviceCommandError, DeviceTimeoutError, NoDeviceError

log = logging.getLogger(__name__)

BAUDRATE = 115200
# A blocking read never returns if the device stays silent (mpremote reads a pseudo-terminal
# without checking for waiting input), so every read gives up after this and is retried.
READ_TIMEOUT_S = 2.0
# A token that is just booting (after a reset) can miss the Ctrl-C that stops it: try again.
RAW_REPL_ATTEMPTS = 4
RAW_REPL_ATTEMPT_S = 4


_REMOVE_FILES = """\
import os
for p in %r:
    try:
        os.remove(p)
    except OSError:
        pass
"""


class DeviceLink:
    def __init__(self, port: str) -> None:
        from mpremote.transport import TransportError  # type: ignore[import-untyped]
        from mpremote.transport_serial import SerialTransport  # type: ignore[import-untyped]

        self.port = port
        try:
            self.transport = SerialTransport(port, baudrate=BAUDRATE, timeout=READ_TIMEOUT_S)
        except TransportError as e:
            raise NoDeviceError(f"cannot open {port}: {e}") from None
        except OSError as e:
            raise NoDeviceError(f"cannot open {port}: {e.strerror or e}") from None

    def __enter__(self) -> DeviceLink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.transport.close()
        except OSError:
            pass

    def enter_raw_repl(self, soft_reset: bool = True) -> None:
        """Stop the running firmware and get a clean raw REPL (main.py does not run there)."""
        from mpremote.transport import TransportError

        error: Exception | None = None
        for attempt in range(1, RAW_REPL_ATTEMPTS + 1):
            seen = io.StringIO()  # mpremote prints what it got instead on failure
            try:
                with contextlib.redirect_stdout(seen):
                    self.transport.enter_raw_repl(
                        soft_reset=soft_reset, timeout_overall=RAW_REPL_ATTEMPT_S
                    )
                return
            except TransportError as e:
                log.info("raw REPL attempt %d: %s %s", attempt, e, seen.getvalue())
                error = e
        raise DeviceTimeoutError(
            f"{self.port} did not give a MicroPython raw REPL ({error}); is MicroPython "
            "flashed, is another program using the port, or is the token locked "
            "(Ctrl-C disabled)?"
        )

    def exec(
        self,
        code: str,
        timeout: float = 10,
        data_consumer: Callable[[bytes], None] | None = None,
    ) -> str:
        """Run `code` in the raw REPL; return what it printed. Raises if it raised."""
        out, err = self.exec_capture(code, timeout, data_consumer)
        if err:
            raise DeviceCommandError(f"the device raised: {err.strip().splitlines()[-1]}")
        return out

    def exec_capture(
        self,
        code: str,
        timeout: float = 10,
        data_consumer: Callable[[bytes], None] | None = None,
    ) -> tuple[str, str]:
        """Run `code`; return (stdout, stderr text), the latter holding any traceback."""
        from mpremote.transport import TransportError

        try:
            out, err = self.transport.exec_raw(code, timeout=timeout, data_consumer=data_consumer)
        except TransportError as e:
            raise DeviceTimeoutError(f"{self.port} stopped answering: {e}") from None
        return out.decode(errors="replace"), err.decode(errors="replace")

    def remove_files(self, paths: list[str]) -> None:
        """Remove these files on the device; a file already gone is not an error."""
        self.exec(_REMOVE_FILES % (list(paths),))

    def eval(self, code: str, timeout: float = 10) -> Any:
        """Run `code`, which prints one Python literal (repr), and return its value."""
        return ast.literal_eval(self.exec(code, timeout).strip())

    def write_file(self, path: str, data: bytes) -> None:
        from mpremote.transport import TransportError

        try:
            self.transport.fs_writefile(path, data)
        except TransportError as e:
            raise DeviceCommandError(f"writing {path} failed: {e}") from None
        except OSError as e:
            raise DeviceCommandError(f"writing {path} failed: {e}") from None

    def reset_into_firmware(self) -> None:
        """Leave the raw REPL and soft-reset from the normal REPL, so main.py starts."""
        self.transport.exit_raw_repl()
        self.transport.serial.write(b"\x04")
        self.transport.serial.flush()
