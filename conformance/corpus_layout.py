"""The corpus on disk, in the ONNX backend-test layout: what export-corpus writes and the worker reads.

    DIR/manifest.json                       every test, export failures and not-applicable cases included
    DIR/expectations.toml                   the expectations that apply, copied at export time
    DIR/test_<name>/model.onnx
    DIR/test_<name>/test_data_set_<i>/input_<n>.pb, output_<n>.pb    one data set per run shape
                                            (+ oracle_<n>.pb: the fp64 oracle's outputs, fp16/bf16 tests)

Tensors are named as the model's inputs and outputs: input_<n> is the n-th graph input that is not an
initializer, output_<n> the n-th graph output (oracle_<n> too), as onnx's backend-test runner feeds them.

Any other ONNX backend-test directory reads too, without a manifest (`backend_tests`): onnx's own
onnx/backend/test/data/node, onnxruntime's, a vendor's, or `python -m cases.onnx_node_tests DIR`. Each folder
holding a model.onnx is a test, named by its folder; each test_data_set_<i> is a run, run shape [i]; an optional
data.json gives rtol and atol (onnx's loader reads it so; its defaults otherwise) and, this suite's addition, the
test's origin. What a folder lacks makes it a MalformedTest with the reason, never an error of the whole directory.
Needs onnx and numpy only.
"""
from __future__ import annotations

import functools
import json
import re
from collections import Counter
from pathlib import Path

FORMAT = "lstm-onnx-conformance corpus"
VERSION = 1
MANIFEST = "manifest.json"
EXPECTATIONS_FILE = "expectations.toml"
MODEL = "model.onnx"
DATA_JSON = "data.json"
# onnx's backend-test tolerances, where a test's data.json gives none: onnx.backend.test.loader.load_model_tests
# (rtol = 1e-3, atol = 1e-7) and every node test's expect() in onnx.backend.test.case.node (onnx 1.23.2).
BACKEND_RTOL, BACKEND_ATOL = 1e-3, 1e-7
# params.kind of a backend test that is not one recurrent node (those are "node-lstm", "node-gru", "node-rnn").
BACKEND_KIND = "backend-test"
UNKNOWN_PRODUCER = "unknown"  # the exporter column of a test whose model names no producer
DATA_SET = re.compile(r"^test_data_set_(\d+)$")


def data_set_dir(test_dir: Path, index: int) -> Path:
    return test_dir / f"test_data_set_{index}"


def tensor_paths(data_dir: Path, kind: str, count: int) -> list[Path]:
    """`kind` is "input", "output" or "oracle"; files are numbered in the order of the model's inputs or outputs."""
    return [data_dir / f"{kind}_{n}.pb" for n in range(count)]


def write_tensors(data_dir: Path, kind: str, arrays: dict) -> None:
    from onnx import numpy_helper

    for path, (name, array) in zip(tensor_paths(data_dir, kind, len(arrays)), arrays.items()):
        path.write_bytes(numpy_helper.from_array(array, name).SerializeToString())


def read_tensors(data_dir: Path, kind: str, count: int) -> dict:
    """The data set's tensors of `kind`, named by position as the model beside it (DIR/<test>/model.onnx) names its
    inputs (not initializers) or outputs; by the names stored in the files where the counts differ."""
    import onnx
    from onnx import numpy_helper

    names = graph_names(data_dir.parent / MODEL).get("output" if kind == "oracle" else kind)
    if names is not None and len(names) != count:
        names = None
    arrays = {}
    for n, path in enumerate(tensor_paths(data_dir, kind, count)):
        tensor = onnx.load_tensor(str(path))
        arrays[names[n] if names else tensor.name] = numpy_helper.to_array(tensor)
    return arrays


def graph_names(model_path: Path) -> dict[str, list[str]]:
    """{"input": the graph inputs that are not initializers, "output": the graph outputs}, by name; {} if unreadable."""
    try:
        stat = model_path.stat()
    except OSError:
        return {}
    return _graph_names(str(model_path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _graph_names(path: str, mtime_ns: int, size: int) -> dict[str, list[str]]:
    import onnx

    try:
        graph = onnx.load_model(path, load_external_data=False).graph
    except Exception:
        return {}
    initializers = {i.name for i in graph.initializer}
    return {"input": [i.name for i in graph.input if i.name not in initializers], "output": [o.name for o in graph.output]}


class MalformedTest(Exception):
    """A backend-test folder that cannot be run as it is: `reason`, and what is known of its coordinates.

    `status`: INVALID_MODEL for a folder that is broken (no model.onnx, an unreadable model or tensor, counts that
    disagree), NOT_APPLICABLE for a well-formed test this suite cannot run (a model to download, non-tensor values).
    """

    def __init__(self, reason: str, coordinates: dict, status: str = "INVALID_MODEL"):
        super().__init__(reason)
        self.reason, self.coordinates, self.status = reason, coordinates, status


def is_backend_dir(corpus_dir: Path) -> bool:
    """Whether a directory without a manifest holds backend-test folders (one with a model.onnx or a data set)."""
    return any(_looks_like_test(d) for d in _test_dirs(corpus_dir))


def _test_dirs(corpus_dir: Path) -> list[Path]:
    return sorted(d for d in corpus_dir.iterdir() if d.is_dir() and not d.name.startswith((".", "__")))


def _looks_like_test(folder: Path) -> bool:
    return (folder / MODEL).exists() or (folder / DATA_JSON).exists() or any(DATA_SET.match(p.name) for p in folder.iterdir())


def backend_tests(corpus_dir: Path) -> tuple[list[dict], list[MalformedTest]]:
    """Each folder of a backend-test directory as a corpus test entry (as manifest.json lists them), or why it cannot be.

    Every folder counts, so that one without a model.onnx is reported rather than skipped; hidden folders and
    __pycache__ do not.
    """
    tests, malformed = [], []
    for folder in _test_dirs(corpus_dir):
        try:
            tests.append(backend_test(folder))
        except MalformedTest as exc:
            malformed.append(exc)
    return tests, malformed


def backend_test(test_dir: Path) -> dict:
    """A backend-test folder as a corpus test entry; MalformedTest with the reason where it cannot be run as it is.

    Reads the model (without external data) and every tensor, so that what is wrong is found before any runtime runs.
    """
    import onnx
    from onnx import numpy_helper

    from cases.onnx_node_tests import recurrent_params

    name = test_dir.name
    coordinates = {"case": name, "params": {"kind": BACKEND_KIND}, "exporter": None, "dynamic": False, "opset": None}

    def malformed(reason: str, status: str = "INVALID_MODEL") -> MalformedTest:
        return MalformedTest(reason, coordinates, status)

    data = _data_json(test_dir, malformed)
    if not (test_dir / MODEL).is_file():
        if data.get("url"):
            raise malformed(f"no {MODEL}: its {DATA_JSON} names a model to download ({data['url']}), and run-corpus downloads "
                            "nothing", "NOT_APPLICABLE")
        raise malformed(f"no {MODEL} in the test folder")
    try:
        model = onnx.load_model(test_dir / MODEL, load_external_data=False)
    except Exception as exc:
        raise malformed(f"{MODEL} is not a readable ONNX model: {type(exc).__name__}: {str(exc).strip()[:300]}") from None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    coordinates.update(exporter=model.producer_name or UNKNOWN_PRODUCER, opset=opset)
    if len(model.graph.node) == 1:
        coordinates["params"]["op"] = model.graph.node[0].op_type
    initializers = {i.name for i in model.graph.initializer}
    declared = {"input": [i for i in model.graph.input if i.name not in initializers], "output": list(model.graph.output)}
    for kind, infos in declared.items():
        for info in infos:
            if info.type.WhichOneof("value") not in ("tensor_type", None):
                raise malformed(f"{kind} {info.name!r} is a {info.type.WhichOneof('value').removesuffix('_type')}: this suite "
                                "feeds and compares tensors only", "NOT_APPLICABLE")
    numbers = sorted(int(m.group(1)) for p in test_dir.iterdir() if p.is_dir() and (m := DATA_SET.match(p.name)))
    if not numbers:
        raise malformed("no test_data_set_0 in the test folder")
    if numbers != list(range(len(numbers))):
        raise malformed(f"its data sets are numbered {', '.join(map(str, numbers))}, not 0 to {len(numbers) - 1}")
    first_feeds: dict = {}
    dtype = None
    for index in numbers:
        data_dir = data_set_dir(test_dir, index)
        for kind, infos in declared.items():
            found = sorted(p.name for p in data_dir.iterdir() if re.fullmatch(rf"{kind}_\d+\.pb", p.name))
            wanted = [p.name for p in tensor_paths(data_dir, kind, len(infos))]
            if found != sorted(wanted):
                raise malformed(f"{data_dir.name} holds {len(found)} {kind}_<n>.pb ({', '.join(found) or 'none'}) for the model's "
                                f"{len(infos)} {kind}s ({', '.join(i.name for i in infos) or 'none'})")
            for info, path in zip(infos, tensor_paths(data_dir, kind, len(infos))):
                try:
                    array = numpy_helper.to_array(onnx.load_tensor(str(path)))
                except Exception as exc:
                    raise malformed(f"{data_dir.name}/{path.name} is not a readable TensorProto: {type(exc).__name__}: "
                                    f"{str(exc).strip()[:300]}") from None
                if array.dtype.kind in "OSU":
                    raise malformed(f"{data_dir.name}/{path.name} holds {array.dtype} values: this suite compares numbers only",
                                    "NOT_APPLICABLE")
                if index == 0 and kind == "input":
                    first_feeds[info.name] = array
                dtype = dtype or str(array.dtype)
    params = recurrent_params(model, first_feeds) or {**coordinates["params"], "dtype": dtype}
    if data.get("origin"):
        params["origin"] = str(data["origin"])
    coordinates["params"] = params
    ops = Counter(node.op_type for node in model.graph.node)
    return {
        "name": name, **coordinates, "run_shapes": [[i] for i in numbers], "dtype": params.get("dtype", dtype),
        "tolerance": {"rtol": float(_given(data.get("rtol"), BACKEND_RTOL)), "atol": float(_given(data.get("atol"), BACKEND_ATOL))},
        "export": {"status": "PASS", "opset": opset, "ops": dict(sorted(ops.items())), "cached": False, "seconds": 0.0, "log": ""},
        "status": "PASS", "inputs": [i.name for i in declared["input"]], "outputs": [o.name for o in declared["output"]],
    }


def _given(value, default):
    return default if value is None else value


def _data_json(test_dir: Path, malformed) -> dict:
    """The folder's data.json ({} where there is none): rtol and atol numbers where given."""
    path = test_dir / DATA_JSON
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise malformed(f"{DATA_JSON} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise malformed(f"{DATA_JSON} is not a JSON object")
    for key in ("rtol", "atol"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf")):
            raise malformed(f"{DATA_JSON}: {key} = {value!r} is not a tolerance")
    return data
