"""The work of a run: one Job per (case, exporter, shape mode), or one CorpusJob per corpus test; each yields one
result per runtime and run shape."""
from __future__ import annotations

from dataclasses import dataclass

from typing import Callable

from cases import KINDS, InvalidCaseError, parse_case, preset_cases, select
from cases.case import Case
from cases.inputs import length_patterns
from cases.modes import mode_label
from cases.space import PRESET_MODELS, PRESETS
from verdict.errors import UsageError
from verdict.records import Result, RunOptions, error_info, result_key
from verdict.status import Status


class Work:
    """What the worker pool runs: one model, judged in every runtime at every run shape.

    Subclasses say where the model and the expected outputs come from (`coordinates`, `run_shapes`);
    this class builds the results (`result`), so every result of a run is made in one place.
    """

    runtimes: tuple[str, ...]

    @property
    def key(self) -> str:
        raise NotImplementedError

    def coordinates(self) -> dict:
        """case, params, exporter, dynamic, opset: what each result of this work records first."""
        raise NotImplementedError

    def run_shapes(self) -> list[tuple]:
        raise NotImplementedError

    def result_key(self, runtime: str, run_shape: tuple) -> str:
        c = self.coordinates()
        return result_key(c["case"], c["exporter"], c["dynamic"], c["opset"], runtime, run_shape)

    def result(self, runtime: str, run_shape: tuple, status: Status, stage: str, **fields) -> Result:
        """The result of this work in `runtime` at `run_shape`, observed `status` (expectations come later)."""
        fields.setdefault("message", (fields.get("error").message if fields.get("error") else ""))
        return Result(key=self.result_key(runtime, run_shape), **self.coordinates(), runtime=runtime,
                      run_shape=list(run_shape), status=status, raw_status=status, stage=stage, **fields)

    def result_keys(self, runtime: str | None = None) -> list[str]:
        return [self.result_key(r, shape) for r in ((runtime,) if runtime else self.runtimes) for shape in self.run_shapes()]

    def results_for(self, keys) -> list[tuple[str, tuple]]:
        """(runtime, run shape) of each of `keys`, in the work's order."""
        wanted = set(keys)
        return [(r, shape) for r in self.runtimes for shape in self.run_shapes() if self.result_key(r, shape) in wanted]


@dataclass(frozen=True)
class Job(Work):
    """A case exported by an exporter, judged against torch eager."""

    case: Case
    exporter: str
    dynamic: bool
    opset: int
    runtimes: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.case.id}|{self.exporter}|{mode_label(self.dynamic)}|{self.opset}"

    @property
    def model_name(self) -> str:
        return f"{self.case.id}__{self.exporter}-{mode_label(self.dynamic)}-op{self.opset}.onnx"

    def coordinates(self) -> dict:
        return {"case": self.case.id, "params": self.case.params(), "exporter": self.exporter, "dynamic": self.dynamic, "opset": self.opset}

    def run_shapes(self) -> list[tuple]:
        """Static models run at the export shape; dynamic ones also at 1x1 and a longer, wider shape.

        A packed case runs each shape with each pattern of sequence lengths (cases.inputs.LENGTH_PATTERNS)
        where the shape has room for it (cases.inputs.length_patterns): (seq_len, batch, pattern).
        """
        export = (self.case.seq_len, self.case.batch)
        sizes = [export] if not self.dynamic else [export, (1, 1), (2 * self.case.seq_len + 1, self.case.batch + 2)]
        if self.case.packed:
            patterns = [(seq, batch, p) for seq, batch in sizes for p in length_patterns(seq, batch)]
            return list(dict.fromkeys(patterns))
        return list(dict.fromkeys(sizes))


@dataclass(frozen=True)
class ModelJob(Job):
    """A user's model (cases.models.ModelRef, in `case`) exported by an exporter, judged against torch eager."""

    def run_shapes(self) -> list[tuple]:
        """The export shape, and for a dynamic export the factory's other run shapes: (time, batch[, lengths pattern])."""
        return list(self._sizes())

    def sizes_of(self, run_shape: tuple) -> tuple[dict[str, int], str | None]:
        """The dynamic labels' sizes, and the lengths pattern, a run shape stands for."""
        return self._sizes()[tuple(run_shape)]

    def _sizes(self) -> dict[tuple, tuple[dict[str, int], str | None]]:
        from cases.models import run_shape_of

        spec = self.case.spec
        shapes = [{}] + (spec.run_shapes if self.dynamic else [])
        found: dict[tuple, tuple[dict[str, int], str | None]] = {}
        for sizes in shapes:
            size = run_shape_of(spec, sizes)
            for pattern in length_patterns(*size) if spec.lengths else (None,):
                found.setdefault(run_shape_of(spec, sizes, pattern), (sizes, pattern))
        return found


@dataclass(frozen=True)
class CorpusJob(Work):
    """A test of a corpus (conformance/corpus.py): the model, inputs and expected outputs are files."""

    corpus_dir: str
    test: dict  # the manifest's entry
    runtimes: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.test["name"]

    @property
    def model_name(self) -> str:
        return f"{self.test['name']}.onnx"

    def coordinates(self) -> dict:
        return {name: self.test[name] for name in ("case", "params", "exporter", "dynamic", "opset")}

    def run_shapes(self) -> list[tuple]:
        return [tuple(shape) for shape in self.test["run_shapes"]]


def make_jobs(cases: list, exporters: list[str], modes: list[bool], runtimes: list[str], opsets: list[int]) -> list[Job]:
    """Every (case or user model, exporter, mode, opset) the exporter can write; see not_applicable_records for the rest."""
    from exporters import EXPORTERS

    return [
        (Job if isinstance(case, Case) else ModelJob)(case, exporter, dynamic, opset, tuple(runtimes))
        for case in cases
        for exporter in exporters
        for opset in opsets
        if not EXPORTERS[exporter].opset_unsupported(opset)
        for dynamic in modes
    ]


def not_applicable_records(cases: list, exporters: list[str], opsets: list[int]) -> list[Result]:
    """Cases torch or the suite cannot build, and the opsets an exporter cannot write, each with the reason."""
    from exporters import EXPORTERS

    records = [not_applicable_record(case, case.invalid_reason()) for case in cases if case.invalid_reason()]
    records += [
        not_applicable_record(case, reason, exporter=exporter, opset=opset)
        for case in cases if not case.invalid_reason()
        for exporter in exporters
        for opset in opsets
        if (reason := EXPORTERS[exporter].opset_unsupported(opset))
    ]
    return records


# Expected cost of a job in TorchScript exports: a Dynamo export (torch.export + onnxscript) takes about
# 30 of them and dominates its job; each run and its comparison takes about a tenth of one, which
# matters when exports come from the cache. Unknown exporters count as TorchScript.
EXPORTER_COST = {"torchscript": 1, "dynamo": 30}
RUN_COST = 0.1


def job_cost(job: Work) -> float:
    """A corpus test (a node case of the run) exports nothing: its runs alone."""
    export = EXPORTER_COST.get(job.exporter, 1) if isinstance(job, Job) else 0
    return export + RUN_COST * len(job.result_keys())


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' -> (K, N) with 1 <= K <= N; ValueError with the reason otherwise."""
    index, sep, count = text.partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        index = count = 0
    if not sep or not 1 <= index <= count:
        raise ValueError(f"--shard {text!r} is not of the form K/N with 1 <= K <= N (e.g. 2/4)")
    return index, count


def shard_jobs(jobs: list[Job], index: int, count: int) -> list[Job]:
    """Shard `index` (1-based) of `count`: greedy longest-first by expected cost, ties to the lowest shard.

    Deterministic: every machine of a CI matrix computes the same assignment from the same job list.
    """
    loads = [0.0] * count
    mine = set()
    for job in sorted(jobs, key=lambda j: (-job_cost(j), j.key)):
        shard = loads.index(min(loads))
        loads[shard] += job_cost(job)
        if shard == index - 1:
            mine.add(job.key)
    return [job for job in jobs if job.key in mine]


def not_applicable_record(case, reason: str, *, exporter: str | None = None, opset: int | None = None) -> Result:
    return Result(key=result_key(case.id, exporter, None, opset, None, None), case=case.id, params=case.params(), exporter=exporter,
                  opset=opset, status=Status.NOT_APPLICABLE, raw_status=Status.NOT_APPLICABLE, stage="case", message=reason)


def resolve_cases(options: RunOptions) -> list[Case]:
    unknown_kinds = [k for k in options.kinds if k not in KINDS]
    if unknown_kinds:
        raise UsageError(f"unknown kind {unknown_kinds[0]!r}; choose from {', '.join(KINDS)}")
    preset = preset_of(options)
    if options.cases:
        try:
            cases = [parse_case(spec) for spec in options.cases]
        except InvalidCaseError as exc:
            raise UsageError(str(exc)) from None
    elif preset is None:
        cases = []
    else:
        if preset not in PRESETS:
            raise UsageError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        cases = preset_cases(preset)
    return select(cases, options.select, options.kinds)


def preset_of(options: RunOptions) -> str | None:
    """The preset a selection draws cases from: the one named, else "default", else none where --model names models."""
    return options.preset or (None if options.models else "default")


def model_sources(options: RunOptions) -> list[str]:
    """The factories of the users' models a selection holds: --model, and the preset's (cases.space.PRESET_MODELS)."""
    return list(dict.fromkeys([*options.models, *PRESET_MODELS.get(preset_of(options) or "", ())]))


def selected_node_tests(options: RunOptions) -> tuple[list, list[str]]:
    """(the suite's node cases, the names of onnx's recurrent node tests) a selection holds.

    A preset brings its own (cases.space.PRESET_NODE_CASES) where the cases come from it (no --case) and no --kinds
    narrows them, kept by -k as cases are; --node-cases brings every node case of the suite's, whatever the selection.
    """
    from cases.node_cases import NODE_CASES
    from cases.space import PRESET_NODE_CASES

    kept = lambda name: not options.select or any(s in name for s in options.select)  # noqa: E731
    groups = PRESET_NODE_CASES.get(preset_of(options) or "", ()) if not options.cases and not options.kinds else ()
    suite = [case for case in NODE_CASES if options.node_cases or ("suite" in groups and kept(case.id))]
    onnx_names = []
    if "onnx" in groups:
        from cases.onnx_node_tests import onnx_node_test_names

        onnx_names = [name for name in onnx_node_test_names() if kept(name)]
    return suite, onnx_names


def resolve_models(options: RunOptions) -> tuple[list, list[Result]]:
    """(the selected users' models, one EXPORT_ERROR result per model that cannot be imported or built).

    What is wrong with what a factory returns is a UsageError (exit 2) naming the factory and the field."""
    from cases.models import ModelError, ModelRef, check_path

    models, broken, sources_by_id = [], [], {}
    for source in model_sources(options):
        try:
            model = ModelRef(check_path(source))
            model.spec
        except ModelError as exc:
            raise UsageError(str(exc)) from None
        except Exception as exc:  # the model's own import or construction failed: a result, not a crash of the run
            broken.append(unbuildable_model_record(source, exc))
            continue
        if model.id in sources_by_id:
            raise UsageError(f"--model {source} and {sources_by_id[model.id]} are both named {model.spec.name!r}; give one a name "
                             "of its own (ModelSpec.name)")
        sources_by_id[model.id] = source
        if not options.select or any(s in model.id for s in options.select):
            models.append(model)
    return models, broken


def unbuildable_model_record(source: str, exc: BaseException) -> Result:
    from cases.models import default_name

    case = f"model-{default_name(source)}"
    error = error_info(exc)
    return Result(key=result_key(case, None, None, None, None, None), case=case, params={"kind": "model", "source": source},
                  status=Status.EXPORT_ERROR, raw_status=Status.EXPORT_ERROR, stage="model", error=error,
                  message=f"cannot build the model from {source}: {error.type}: {error.message}")


def in_selection(options: RunOptions) -> Callable[[Result], bool]:
    """Whether a result (of another run) is one these options would produce: its case selected, and its exporter,
    shape mode, opset and runtime among those that ran. What diff uses to tell a lost result from one not asked for."""
    try:
        case_ids = {case.id for case in resolve_cases(options)}
    except UsageError:
        case_ids = set()
    sources = set(model_sources(options))
    suite_cases, onnx_names = selected_node_tests(options)
    node_ids = {case.id for case in suite_cases} | set(onnx_names)

    def covers(result: Result) -> bool:
        if result.case in node_ids:  # stored tests: no exporter, shape mode or opset of the run's
            return result.runtime in (None, *(options.runtimes or ()))
        return ((result.case in case_ids or result.params.get("source") in sources)
                and result.exporter in (None, *(options.exporters or ()))
                and result.opset in (None, *(options.opsets or ()))
                and (result.dynamic is None or mode_label(result.dynamic) in (options.modes or ()))
                and result.runtime in (None, *(options.runtimes or ())))

    return covers
