"""onnxruntime with one execution provider; catches silent fallback to the CPU provider."""
from __future__ import annotations

import json
import os
import re
import tempfile
from collections import defaultdict
from functools import cache

from conformance.runtimes.base import RuntimeOutput, SessionRuntime
from verdict.records import ANSI_ESCAPE
from exporters.capture import captured_output

CPU = "CPUExecutionProvider"


def placement_from_profile(events: list[dict]) -> dict[str, dict[str, int]]:
    """op type -> provider -> node count, from an onnxruntime profile's node events."""
    placement: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seen = set()
    for event in events:
        args = event.get("args") or {}
        if event.get("cat") != "Node" or "provider" not in args:
            continue
        # Each node shows up several times (fence before/after, kernel time): count it once.
        node = event.get("name", "").rsplit("_", 2)[0]
        if node in seen:
            continue
        seen.add(node)
        placement[args.get("op_name", "?")][args["provider"]] += 1
    return {op: dict(providers) for op, providers in placement.items()}


def float_nodes_on_cpu(events: list[dict]) -> list[str]:
    """Nodes computing floating-point tensors on the CPU provider: real work that fell back.

    onnxruntime keeps small integer shape computations on CPU on purpose; those are not fallback.
    """
    names = []
    for event in events:
        args = event.get("args") or {}
        if event.get("cat") != "Node" or args.get("provider") != CPU:
            continue
        output_types = [t for shape in args.get("output_type_shape", []) for t in shape]
        if any(t in ("float", "float16", "double", "bfloat16") for t in output_types):
            label = f"{args.get('op_name', '?')}:{event.get('name', '').rsplit('_', 2)[0]}"
            if label not in names:
                names.append(label)
    return names


def _probe_model() -> bytes:
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    # IR 8 with opset 13: old enough for any onnxruntime this suite runs, whatever onnx writes by default.
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


# How onnxruntime says why a provider did not start: Python's "EP Error" print when creating it raised,
# or only its C++ log ("Failed to load library ... libcuda.so.1 ...") when it quietly carried on without it.
FALLBACK_SIGNS = ("EP Error", "Failed to load library", "Failed to create")


DIRECTORIES = re.compile(r"/[^\s:]*/")


def fallback_reason(output: str) -> str | None:
    """What onnxruntime printed that says why it fell back, from its first such line; None if it said nothing."""
    for line in ANSI_ESCAPE.sub("", output).splitlines():
        if line.startswith("*"):  # the banner around "EP Error"
            continue
        for sign in FALLBACK_SIGNS:
            if sign in line:
                return DIRECTORIES.sub("", line[line.index(sign):].strip())
    return None


@cache
def provider_start_failure(provider: str) -> str | None:
    """None when a session really starts on `provider` here, else why not.

    onnxruntime-gpu lists CUDAExecutionProvider even on a machine with no GPU or no CUDA libraries:
    a session asked for it then logs an error and silently runs on CPU. Probing with a one-node
    model tells "no usable device here" (SKIPPED) from "this session fell back" (FALLBACK).
    """
    import onnxruntime as ort

    with captured_output() as output:
        if provider == "CUDAExecutionProvider" and hasattr(ort, "preload_dlls"):
            # Finds CUDA and cuDNN in pip's nvidia-* packages (onnxruntime-gpu[cuda,cudnn]).
            ort.preload_dlls()
        try:
            session = ort.InferenceSession(_probe_model(), providers=[provider, CPU])
        except Exception as exc:
            return f"a session on it failed to start: {str(exc).strip().splitlines()[0]}"
    if provider in session.get_providers():
        return None
    reason = fallback_reason(output.text)
    return "a session asked for it fell back to CPU" + (f": {reason[:300]}" if reason else "")


GRAPH_OPTIMIZATION_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}
SESSION_INT_OPTIONS = ("intra_op_num_threads", "inter_op_num_threads")


class OrtRuntime(SessionRuntime):
    def __init__(self, provider: str = CPU, name: str | None = None, provider_options: dict | None = None):
        self.provider = provider
        self.name = name or f"ort:{provider}"
        self.provider_options = provider_options or {}
        self.threads = 0  # 0: onnxruntime's default; the worker sets its Settings.threads
        self.session_options: dict = {}
        self._record_options()

    def _record_options(self) -> None:
        self.options = {"provider": self.provider}
        if self.provider_options:
            self.options["provider_options"] = dict(self.provider_options)
        if self.session_options:
            self.options["session_options"] = dict(self.session_options)

    def configure(self, options: dict) -> None:
        """Session options by name (graph_optimization_level, intra/inter_op_num_threads); the rest go to the provider."""
        for key, value in options.items():
            if key == "graph_optimization_level":
                if str(value) not in GRAPH_OPTIMIZATION_LEVELS:
                    raise ValueError(f"graph_optimization_level must be one of {', '.join(GRAPH_OPTIMIZATION_LEVELS)}")
                self.session_options[key] = str(value)
            elif key in SESSION_INT_OPTIONS:
                try:
                    self.session_options[key] = int(value)
                except ValueError:
                    raise ValueError(f"{key} must be an integer (got {value!r})") from None
            else:
                self.provider_options[key] = str(value)
        self._record_options()

    def available(self):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            return False, f"onnxruntime not importable: {exc}"
        providers = ort.get_available_providers()
        if self.provider not in providers:
            short = self.provider.replace("ExecutionProvider", "")
            return False, (
                f"{short} EP not available: this onnxruntime {ort.__version__} build has {', '.join(providers)}"
            )
        failure = provider_start_failure(self.provider) if self.provider != CPU else None
        if failure:
            short = self.provider.replace("ExecutionProvider", "")
            return False, f"{short} EP is in this onnxruntime {ort.__version__} build but cannot run here: {failure}"
        return True, ""

    def repro_source(self) -> str:
        lines = ["import onnxruntime as ort", "", "", "def run(model_path, feeds):", "    options = ort.SessionOptions()"]
        for key in SESSION_INT_OPTIONS:
            if key in self.session_options:
                lines.append(f"    options.{key} = {self.session_options[key]}")
        if "graph_optimization_level" in self.session_options:
            level = GRAPH_OPTIMIZATION_LEVELS[self.session_options["graph_optimization_level"]]
            lines.append(f"    options.graph_optimization_level = ort.GraphOptimizationLevel.{level}")
        provider = (self.provider, self.provider_options) if self.provider_options else self.provider
        lines += [f"    session = ort.InferenceSession(model_path, options, providers=[{provider!r}])",
                  "    print('providers:', session.get_providers())",
                  "    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))"]
        return "\n".join(lines) + "\n"

    @property
    def checks_placement(self) -> bool:
        return self.provider != CPU

    def load(self, model_path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
        for key in SESSION_INT_OPTIONS:
            if key in self.session_options:
                setattr(options, key, self.session_options[key])
        if "graph_optimization_level" in self.session_options:
            level = GRAPH_OPTIMIZATION_LEVELS[self.session_options["graph_optimization_level"]]
            options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
        if self.checks_placement:
            options.enable_profiling = True
            options.profile_file_prefix = os.path.join(tempfile.gettempdir(), f"ort-profile-{os.getpid()}")
        providers = [(self.provider, self.provider_options)] if self.provider_options else [self.provider]
        if self.provider != CPU:
            providers.append(CPU)
        with captured_output() as output:  # onnxruntime says why it fell back, then carries on
            session = ort.InferenceSession(model_path, sess_options=options, providers=providers)
        reason = fallback_reason(output.text)
        return {"session": session, "events": None, "ep_error": reason[:300] if reason else None}

    def run_session(self, state, feeds):
        session = state["session"]
        outputs = dict(zip((o.name for o in session.get_outputs()), session.run(None, feeds)))
        providers = session.get_providers()
        result = RuntimeOutput(outputs=outputs, providers=providers)
        if not self.checks_placement:
            return result
        if state["events"] is None:
            # Placement is fixed when the session is created: one profiled run tells it.
            profile = session.end_profiling()
            with open(profile) as f:
                state["events"] = json.load(f)
            os.unlink(profile)
        result.placement = placement_from_profile(state["events"])
        if self.provider not in providers:
            result.fallback = f"session providers are {providers}: {self.provider} was not used" + (
                f" ({state['ep_error']})" if state["ep_error"] else "")
        else:
            on_cpu = float_nodes_on_cpu(state["events"])
            if on_cpu:
                result.fallback = f"{len(on_cpu)} node(s) computing floats ran on {CPU}: {', '.join(on_cpu)}"
        return result
