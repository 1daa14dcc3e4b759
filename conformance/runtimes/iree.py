"""IREE, a compiler runtime: ONNX imported through torch-mlir, compiled ahead of time for the host CPU, then run.

Loading a model is three steps, each the tool a user of IREE runs:

1. `iree-import-onnx model.onnx -o model.mlir` (iree.compiler.tools.import_onnx, in iree-base-compiler): onnx's
   checker and shape inference, then the graph as torch-mlir's `torch.operator "onnx.<Op>"` ops;
2. `iree-compile model.mlir --iree-hal-target-backends=llvm-cpu --iree-llvmcpu-target-cpu=host -o model.vmfb`:
   torch-mlir lowers each ONNX op (LSTM, GRU and RNN expand to loops over time), and LLVM compiles for this CPU;
3. iree.runtime (iree-base-runtime) loads the module on the `local-sync` driver (one thread, as the suite's
   workers run) and calls the function named after the ONNX graph.

A failed import or compile is the runtime's LOAD_ERROR, a failed call its RUN_ERROR; either carries the tool's
own message (its diagnostics, without the echoed source or native stack). Dynamic dimensions stay dynamic: the
module takes any size where the ONNX model declares a symbolic one, so one compile serves every run shape.

Compiled modules (.vmfb) are cached like exports, one directory per key under `~/.cache/lstm-onnx-conformance/iree`
(beside the export cache; `--runtime-option iree:cache_dir=PATH` moves it, `cache_dir=none` compiles every model
afresh). The key holds everything the module depends on: the model's bytes (and any external data), the compiler's
version and revision, the runtime's version (which must read the module), onnx's version (the importer runs its
checker and shape inference), every import and compile flag, the CPU that `host` resolves to (its model name and
feature flags) and a digest of this file. A failed import or compile is cached too, with its message.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

from conformance.runtimes.base import SessionRuntime

BACKEND = "llvm-cpu"
DRIVERS = ("local-sync", "local-task")
IMPORT_FLAGS: tuple[str, ...] = ()  # iree-import-onnx's defaults: onnx's checker and shape inference with data propagation
# Single-threaded compiles: a worker uses one core (the module is the same either way).
COMPILE_FLAGS = (f"--iree-hal-target-backends={BACKEND}", "--mlir-disable-threading")
TOOL_TIMEOUT_S = 600
MESSAGE_LINES = 20

# `file.mlir:12:5: error: ...` and `loc("name"): note: ...`: MLIR's diagnostics.
DIAGNOSTIC = re.compile(r"^(?P<where>\S.*?): (?P<severity>error|warning|note|remark): (?P<text>.*)$")
# iree.runtime's status: `Error invoking function: c/runtime/src/iree/....c:225: INVALID_ARGUMENT; ...`
RUNTIME_SOURCE = re.compile(r"^(?:Error invoking function: )?(?:\S+\.(?:c|cc|h):\d+: )?")
RUNTIME_FRAME = re.compile(r"^\[\s*\d+\]")
ILLEGAL_OP = re.compile(r"^(?P<what>failed to legalize operation '[\w.]+'(?: that was explicitly marked illegal)?): (?P<op>.*)$")
ONNX_OP_NAME = re.compile(r'name = "(?P<name>onnx\.[\w.]+)"')
LINE_LIMIT = 400
FATAL = re.compile(r"^(?:LLVM ERROR|error|fatal error|ERROR)\b", re.IGNORECASE)
CURRENT_OPERATION = re.compile(r"^see current operation:\s*(?P<op>.*)$")


class IreeError(RuntimeError):
    """A failure of one of IREE's tools, with the tool's message; `transient` where the tool did not finish (killed, or
    out of time): that says nothing of the model, and is not cached."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class IreeImportError(IreeError):
    pass


class IreeCompileError(IreeError):
    pass


class IreeLoadError(IreeError):
    pass


class IreeRunError(IreeError):
    pass


def _diagnostic(match: re.Match) -> list[str]:
    """A diagnostic as `severity: text`, without the temporary file's location.

    torch-mlir keeps an ONNX op it cannot lower as `torch.operator "onnx.<Op>"`, and the error then quotes the whole
    op: its name goes first, the quoted op to a line of its own, so the first line says which op failed.
    """
    text = match["text"].strip()
    quoted = ILLEGAL_OP.match(text)
    if quoted and (name := ONNX_OP_NAME.search(quoted["op"])):
        return [f"{match['severity']}: {quoted['what']}: {name['name']}", f"  {quoted['op']}"]
    return [f"{match['severity']}: {text}"]


def _clip(line: str) -> str:
    return line if len(line) <= LINE_LIMIT else f"{line[:LINE_LIMIT]} ..."


def _traceback_exception(lines: list[str]) -> list[str]:
    """The exception a Python traceback ends with: its lines after the last frame (the ones not indented)."""
    last_frame = max((i for i, line in enumerate(lines) if line.startswith("  File ")), default=-1)
    tail = [line for line in lines[last_frame + 1:] if not line.startswith((" ", "\t")) and not line.startswith("Traceback")]
    return tail or lines[-1:]


def tool_message(tool: str, stderr: str, returncode: int) -> str:
    """The meaningful lines of a tool's stderr, the first of them naming the tool and the first error.

    MLIR diagnostics keep their severity and text (the temporary file's location, the echoed source line and the
    caret go); a Python traceback keeps the exception it ended with; a crash keeps what it said before the stack.
    """
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    crash = next((i for i, line in enumerate(lines) if line.startswith(("PLEASE submit a bug report", "Stack dump:"))), None)
    if crash is not None:
        lines = lines[:crash]
    diagnostics: list[str] = []
    for match in filter(None, map(DIAGNOSTIC.match, lines)):
        shown = CURRENT_OPERATION.match(match["text"].strip())
        if shown and (not shown["op"] or f"  {shown['op']}" in diagnostics):
            continue  # the op the error quoted already, or one printed over the lines dropped
        diagnostics.extend(_diagnostic(match))
    if diagnostics:
        first = next((i for i, d in enumerate(diagnostics) if d.startswith("error:")), 0)
        kept = list(dict.fromkeys(diagnostics[first:first + 2] + diagnostics))
    elif any(line.startswith("Traceback") for line in lines):
        kept = _traceback_exception(lines)
    else:  # LLVM's own errors (`LLVM ERROR: ...`) and anything else: the error line first, each line once
        lines = list(dict.fromkeys(lines))
        kept = [line for line in lines if FATAL.match(line)] + [line for line in lines if not FATAL.match(line)]
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        kept = [f"killed by {name}", *kept]
    elif not kept:
        kept = [f"exit status {returncode}, nothing on stderr"]
    if len(kept) > MESSAGE_LINES:
        kept = [*kept[:MESSAGE_LINES], f"... ({len(kept) - MESSAGE_LINES} more lines)"]
    return "\n".join(_clip(line) for line in [f"{tool}: {kept[0]}", *kept[1:]])


def runtime_message(exc: Exception) -> str:
    """iree.runtime's error without the C source location and the VM's stack frames."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    kept = [line for line in lines if not RUNTIME_FRAME.match(line)] or lines
    if kept:
        kept[0] = RUNTIME_SOURCE.sub("", kept[0], count=1)
    return "\n".join(kept) or type(exc).__name__


def _die_with_parent() -> None:
    """A worker killed on a timeout takes its import or compile with it (Linux; elsewhere nothing)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_tool(tool: str, argv: list[str], error: type[IreeError]) -> None:
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=TOOL_TIMEOUT_S,
                              preexec_fn=preexec)
    except subprocess.TimeoutExpired:
        raise error(f"{tool}: did not finish in {TOOL_TIMEOUT_S} s", transient=True) from None
    if proc.returncode != 0:
        raise error(tool_message(tool, proc.stderr, proc.returncode), transient=proc.returncode < 0)


# The cache key's parts.

@cache
def versions() -> dict[str, str]:
    """The IREE packages' versions, the compiler's revision and onnx's (the importer runs onnx)."""
    import iree.compiler.version as compiler_version
    import iree.runtime.version as runtime_version

    found = {"iree-compiler": compiler_version.VERSION, "iree-runtime": runtime_version.VERSION,
             "iree-revision": ",".join(f"{k}={v}" for k, v in sorted(compiler_version.REVISIONS.items()))}
    for package in ("iree-base-compiler", "iree-base-runtime", "onnx"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = ""
    return found


@cache
def host_cpu() -> dict[str, str]:
    """What `--iree-llvmcpu-target-cpu=host` resolves from: the CPU's architecture, model name and feature flags."""
    found = {"model name": "", "flags": "", "Features": ""}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in found and not found[key.strip()]:
                found[key.strip()] = " ".join(sorted(value.split()))
    except OSError:
        pass
    flags = found["flags"] or found["Features"]
    return {"machine": platform.machine(), "processor": platform.processor(), "model": found["model name"],
            "flags": hashlib.sha256(flags.encode()).hexdigest()[:16]}


@cache
def own_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _tensors(graph):
    """Every tensor a graph holds (initializers, Constant values), its subgraphs' included."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _tensors(subgraph)


def model_digest(model_path: str, model=None) -> str:
    """The model's bytes and those of any external data it names (`model`: the file, loaded without external data)."""
    import onnx

    digest = hashlib.sha256(Path(model_path).read_bytes())
    if model is None:
        model = onnx.load(model_path, load_external_data=False)
    locations = sorted({entry.value for tensor in _tensors(model.graph) if tensor.data_location == onnx.TensorProto.EXTERNAL
                        for entry in tensor.external_data if entry.key == "location"})
    for location in locations:
        digest.update(f"\0{location}\0".encode())
        digest.update((Path(model_path).parent / location).read_bytes())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    from conformance.cache import default_cache_dir as exports

    return exports().parent / "iree"


class ModuleCache:
    """Compiled modules, one directory per key (`key[:2]/key/`, as the export cache), stored atomically."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def get(self, key: str) -> tuple[dict, bytes | None] | None:
        entry = self._entry(key)
        try:
            record = json.loads((entry / "compile.json").read_text())
            return record, (entry / "module.vmfb").read_bytes() if record["ok"] else None
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, record: dict, module: bytes | None) -> None:
        entry = self._entry(key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".tmp-"))
        if module is not None:
            (staging / "module.vmfb").write_bytes(module)
        (staging / "compile.json").write_text(json.dumps(record, indent=1, sort_keys=True))
        try:
            os.rename(staging, entry)
        except OSError:  # another worker stored the same module first
            shutil.rmtree(staging, ignore_errors=True)


@dataclass
class IreeModule:
    context: object
    function: object
    inputs: list[str]   # the function's arguments: the graph's inputs that are not initializers, in order
    outputs: list[str]  # the graph's outputs, in order


class IreeRuntime(SessionRuntime):
    name = "iree"

    def __init__(self):
        self.target_cpu = "host"
        self.driver = "local-sync"
        self.cache_dir: str | None = str(default_cache_dir())
        self._config = None
        self._record_options()

    def _record_options(self) -> None:
        # What changes the numbers; the cache's place does not, and is not recorded.
        self.options = {"target": BACKEND, "target_cpu": self.target_cpu, "driver": self.driver}

    def configure(self, options: dict) -> None:
        """target_cpu (an LLVM CPU name, default host), driver (local-sync or local-task), cache_dir (a path, or none)."""
        for key, value in options.items():
            value = str(value)
            if key == "target_cpu" and value:
                self.target_cpu = value
            elif key == "driver" and value in DRIVERS:
                self.driver = value
            elif key == "cache_dir":
                self.cache_dir = None if value.lower() in ("", "none", "off") else value
            else:
                raise ValueError(f"iree takes target_cpu=NAME, driver={'|'.join(DRIVERS)}, cache_dir=PATH|none (got {key}={value})")
        self._config = None
        self._record_options()

    def available(self):
        try:
            import iree.compiler  # noqa: F401
            import iree.runtime as rt
            from iree.compiler.tools.binaries import find_tool
        except ImportError as exc:
            return False, f"iree not importable ({exc}): pip install iree-base-compiler iree-base-runtime"
        try:
            find_tool("iree-compile")
        except Exception as exc:  # noqa: BLE001 (the package raises a bare ValueError or OSError)
            return False, f"iree-compile not found: {exc}"
        drivers = rt.query_available_drivers()
        if self.driver not in drivers:
            return False, f"iree.runtime {versions()['iree-runtime']} has no {self.driver} driver (has {', '.join(drivers)})"
        return True, ""

    def compile_flags(self) -> list[str]:
        return [*COMPILE_FLAGS, f"--iree-llvmcpu-target-cpu={self.target_cpu}"]

    def cache_key(self, model_path: str, model=None) -> str:
        payload = {"model": model_digest(model_path, model), "versions": versions(), "import": list(IMPORT_FLAGS),
                   "compile": self.compile_flags(), "python": platform.python_version(), "code": own_digest(),
                   "host": host_cpu() if self.target_cpu == "host" else None}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]

    def compile(self, model_path: str, model=None) -> bytes:
        """The compiled module (.vmfb) of an ONNX model (`model`: the file, loaded without external data, if at hand),
        from the cache when it holds it; raises IreeImportError or IreeCompileError."""
        cache = ModuleCache(self.cache_dir) if self.cache_dir else None
        key = self.cache_key(model_path, model) if cache else ""
        hit = cache.get(key) if cache else None
        if hit is not None:
            record, module = hit
            if record["ok"]:
                return module
            raise (IreeImportError if record["stage"] == "import" else IreeCompileError)(record["message"])
        try:
            module = self._compile_afresh(model_path)
        except IreeError as exc:
            if cache is not None and not exc.transient:
                stage = "import" if isinstance(exc, IreeImportError) else "compile"
                cache.put(key, {"ok": False, "stage": stage, "message": str(exc), "versions": versions()}, None)
            raise
        if cache is not None:
            cache.put(key, {"ok": True, "flags": self.compile_flags(), "versions": versions()}, module)
        return module

    def _compile_afresh(self, model_path: str) -> bytes:
        from iree.compiler.tools.binaries import find_tool

        with tempfile.TemporaryDirectory(prefix="iree-") as scratch:
            mlir, vmfb = Path(scratch) / "model.mlir", Path(scratch) / "model.vmfb"
            run_tool("iree-import-onnx", [sys.executable, "-m", "iree.compiler.tools.import_onnx", str(model_path),
                                          *IMPORT_FLAGS, "-o", str(mlir)], IreeImportError)
            run_tool("iree-compile", [find_tool("iree-compile"), str(mlir), *self.compile_flags(), "-o", str(vmfb)],
                     IreeCompileError)
            return vmfb.read_bytes()

    def _runtime_config(self):
        import iree.runtime as rt

        if self._config is None:
            self._config = rt.Config(self.driver)
        return self._config

    def load(self, model_path):
        import iree.runtime as rt
        import onnx

        model = onnx.load(model_path, load_external_data=False)
        graph = model.graph
        module = self.compile(model_path, model)
        config = self._runtime_config()
        try:
            vm_module = rt.VmModule.copy_buffer(config.vm_instance, module)
            context = rt.SystemContext(config=config)
            context.add_vm_module(vm_module)
            function = context.modules[vm_module.name][graph.name]
        except (RuntimeError, ValueError, KeyError) as exc:
            raise IreeLoadError(f"iree.runtime cannot load the compiled module: {runtime_message(exc)}") from None
        initializers = {tensor.name for tensor in graph.initializer}
        inputs = [value.name for value in graph.input if value.name not in initializers]
        return IreeModule(context, function, inputs, [value.name for value in graph.output])

    def repro_source(self) -> str:
        """run(model_path, feeds) with the same tools, flags and driver, and nothing of the suite."""
        import_flags = ", ".join(map(repr, IMPORT_FLAGS))
        return (
            "import os\nimport subprocess\nimport sys\nimport tempfile\n\n"
            "import iree.runtime as rt\nimport numpy as np\nimport onnx\n"
            "from iree.compiler.tools.binaries import find_tool\n\n\n"
            "def run(model_path, feeds):\n"
            "    graph = onnx.load(model_path).graph\n"
            "    with tempfile.TemporaryDirectory() as scratch:\n"
            "        mlir, vmfb = os.path.join(scratch, 'model.mlir'), os.path.join(scratch, 'model.vmfb')\n"
            "        subprocess.run([sys.executable, '-m', 'iree.compiler.tools.import_onnx', model_path"
            f"{', ' + import_flags if import_flags else ''}, '-o', mlir], check=True)\n"
            f"        subprocess.run([find_tool('iree-compile'), mlir, {', '.join(map(repr, self.compile_flags()))}, '-o', vmfb], check=True)\n"
            "        module = open(vmfb, 'rb').read()\n"
            f"    config = rt.Config({self.driver!r})\n"
            "    vm_module = rt.VmModule.copy_buffer(config.vm_instance, module)\n"
            "    context = rt.SystemContext(config=config)\n"
            "    context.add_vm_module(vm_module)\n"
            "    function = context.modules[vm_module.name][graph.name]\n"
            "    initializers = {t.name for t in graph.initializer}\n"
            "    results = function(*[feeds[v.name] for v in graph.input if v.name not in initializers])\n"
            "    results = results if isinstance(results, (list, tuple)) else [results]\n"
            "    return {v.name: np.array(r.to_host()) for v, r in zip(graph.output, results)}\n"
        )

    def run_session(self, session, feeds):
        arguments = [np.ascontiguousarray(feeds[name]) for name in session.inputs]
        try:
            results = session.function(*arguments)
        except (RuntimeError, ValueError) as exc:
            raise IreeRunError(runtime_message(exc)) from None
        if not isinstance(results, (list, tuple)):
            results = [results]
        # Named by position, as the graph lists its outputs; a value past them keeps a name of its own, so the
        # comparison counts it (OUTPUT_COUNT_MISMATCH).
        names = [*session.outputs, *(f"<returned value {i}>" for i in range(len(session.outputs), len(results)))]
        return {name: np.array(value.to_host() if hasattr(value, "to_host") else value, copy=True)
                for name, value in zip(names, results)}
