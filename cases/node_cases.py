"""ONNX recurrent node cases (LSTM, GRU, RNN): operator attributes the torch exporters never emit but other producers do.

Each case is one LSTM, GRU or RNN node made with onnx.helper: small sizes, seeded weights as initializers,
graph inputs X, initial_h (and initial_c for LSTM; sequence_lens where lengths vary within the batch),
outputs Y, Y_h (and Y_c). Expected outputs come from onnx.reference.ReferenceEvaluator run on the same
computation unrolled into elementary ops (MatMul, Sigmoid, Clip, Where, ...): its recurrent kernels ignore
clip, activations, input_forget and (onnx 1.23) sequence_lens, so the node itself cannot be the truth.

The spec is read literally where runtimes differ: clip bounds the input of every activation, an LSTM's
h(Ct) included (onnxruntime clips only the gates' inputs; `clip-gates` is the case both readings agree on).
Needs onnx and numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NODE_OPSET = 14  # LSTM-14, GRU-14 and RNN-14 added layout; later versions only add bfloat16
# Written explicitly: onnx's default is the newest IR it knows (14 in onnx 1.23), which onnxruntime 1.31 refuses
# ("Unsupported model IR version: 14, max supported IR version: 13"). IR 8 carries opset 14 everywhere.
NODE_IR_VERSION = 8
PRODUCER = "onnx.helper"  # what the corpus records in the exporter column for these cases
INPUT_SIZE, HIDDEN_SIZE, SEQ_LEN, BATCH = 2, 3, 4, 3
PEEPHOLES = "iof"  # the order of the blocks in an LSTM's P
# Activations that take parameters, in the order they consume activation_alpha / activation_beta;
# each is also the ONNX operator of the same name, whose defaults apply when a list runs out.
ACTIVATION_PARAMETERS = {"HardSigmoid": ("alpha", "beta"), "LeakyRelu": ("alpha",), "ThresholdedRelu": ("alpha",), "Elu": ("alpha",)}


# The type of each parameter a node case records (NodeCase.params, and for onnx's own node tests and any backend test
# cases.onnx_node_tests.recurrent_params): what an expectation's "params.<name>" condition is checked against when it
# is loaded. `origin`: where a test came from ("onnx 1.23.2 test_lstm_batchwise").
NODE_PARAM_TYPES: dict[str, type] = {
    "op": str, "input_size": int, "hidden_size": int, "seq_len": int, "batch": int, "dtype": str, "direction": str,
    "layout": int, "clip": float, "input_forget": int, "linear_before_reset": int, "activations": str,
    "activation_alpha": str, "activation_beta": str, "peepholes": bool, "sequence_lens": str, "origin": str,
}


@dataclass(frozen=True)
class Recurrence:
    """What one ONNX recurrent operator's node looks like from outside."""

    gates: str  # the order of the gates' blocks in W, R and B
    activations: tuple[str, ...]  # the default of each activation slot of one direction
    states: tuple[str, ...]  # the initial-state inputs, in the node's input order
    outputs: tuple[str, ...]  # Y, then the final value of each state


RECURRENCES = {
    "LSTM": Recurrence("iofc", ("Sigmoid", "Tanh", "Tanh"), ("initial_h", "initial_c"), ("Y", "Y_h", "Y_c")),  # f, g, h
    "GRU": Recurrence("zrh", ("Sigmoid", "Tanh"), ("initial_h",), ("Y", "Y_h")),  # f, g
    "RNN": Recurrence("i", ("Tanh",), ("initial_h",), ("Y", "Y_h")),  # f
}


@dataclass(frozen=True)
class NodeCase:
    name: str
    attributes: dict = field(default_factory=dict)
    peepholes: bool = False  # LSTM only
    sequence_lens: tuple[int, ...] | None = None
    seed: int = 0
    op: str = "LSTM"

    @property
    def id(self) -> str:
        return f"node-{self.op.lower()}-{self.name}"

    @property
    def recurrence(self) -> Recurrence:
        return RECURRENCES[self.op]

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.recurrence.outputs

    @property
    def num_directions(self) -> int:
        return 2 if self.attributes.get("direction") == "bidirectional" else 1

    @property
    def batch_major(self) -> bool:
        return self.attributes.get("layout", 0) == 1

    def params(self) -> dict:
        """The operator, its attributes and the sizes: what results record and expectations match ("params.<name>").

        Lists are joined with commas ("Relu,Tanh,Tanh"): every param is a scalar, as a Case's are.
        """
        params = {"op": self.op, "input_size": INPUT_SIZE, "hidden_size": HIDDEN_SIZE, "seq_len": SEQ_LEN, "batch": BATCH,
                  "dtype": "float32", **self.attributes}
        if self.peepholes:
            params["peepholes"] = True
        if self.sequence_lens:
            params["sequence_lens"] = self.sequence_lens
        return {name: ",".join(map(str, v)) if isinstance(v, (list, tuple)) else v for name, v in params.items()}

    def _state_shape(self) -> tuple[int, ...]:
        d = self.num_directions
        return (BATCH, d, HIDDEN_SIZE) if self.batch_major else (d, BATCH, HIDDEN_SIZE)

    def _float_input_shapes(self) -> dict[str, tuple[int, ...]]:
        x = (BATCH, SEQ_LEN, INPUT_SIZE) if self.batch_major else (SEQ_LEN, BATCH, INPUT_SIZE)
        return {"X": x, **{state: self._state_shape() for state in self.recurrence.states}}

    def _input_types(self) -> list:
        types = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in self._float_input_shapes().items()]
        if self.sequence_lens:
            types.insert(1, helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, (BATCH,)))
        return types

    def _output_types(self) -> list:
        d = self.num_directions
        y = (BATCH, SEQ_LEN, d, HIDDEN_SIZE) if self.batch_major else (SEQ_LEN, d, BATCH, HIDDEN_SIZE)
        shapes = {"Y": y, "Y_h": self._state_shape(), "Y_c": self._state_shape()}
        return [helper.make_tensor_value_info(name, TensorProto.FLOAT, shapes[name]) for name in self.outputs]

    def weights(self) -> dict[str, np.ndarray]:
        """W, R, B (and P) in the operator's layout, seeded so every process builds the same node."""
        rng = np.random.default_rng(self.seed)
        d, h, gates = self.num_directions, HIDDEN_SIZE, len(self.recurrence.gates)
        shapes = {"W": (d, gates * h, INPUT_SIZE), "R": (d, gates * h, h), "B": (d, 2 * gates * h)}
        if self.peepholes:
            shapes["P"] = (d, 3 * h)
        return {name: rng.uniform(-1.0, 1.0, shape).astype(np.float32) for name, shape in shapes.items()}

    def feeds(self) -> dict[str, np.ndarray]:
        """Named and ordered as the model's inputs."""
        rng = np.random.default_rng([self.seed, 1])  # a stream apart from the weights'
        feeds = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in self._float_input_shapes().items()}
        if self.sequence_lens:
            feeds["sequence_lens"] = np.array(self.sequence_lens, dtype=np.int32)
        return {value_info.name: feeds[value_info.name] for value_info in self._input_types()}

    def _model(self, nodes: list, initializers: list) -> onnx.ModelProto:
        graph = helper.make_graph(nodes, self.id, self._input_types(), self._output_types(), initializers)
        return helper.make_model(graph, ir_version=NODE_IR_VERSION, opset_imports=[helper.make_opsetid("", NODE_OPSET)],
                                 producer_name=PRODUCER)

    def model(self) -> onnx.ModelProto:
        """The case itself: one LSTM, GRU or RNN node."""
        weights = self.weights()
        inputs = ["X", "W", "R", "B", "sequence_lens" if self.sequence_lens else "", *self.recurrence.states]
        if self.peepholes:
            inputs.append("P")
        node = helper.make_node(self.op, inputs, list(self.outputs), hidden_size=HIDDEN_SIZE, **self.attributes)
        return self._model([node], [numpy_helper.from_array(array, name) for name, array in weights.items()])

    def unrolled_model(self) -> onnx.ModelProto:
        """The same computation as elementary ops, one block per direction and time step."""
        graph = _Graph()
        x, states = "X", list(self.recurrence.states)
        if self.batch_major:
            x, *states = (graph.op("Transpose", name, perm=[1, 0, 2]) for name in (x, *states))
        weights = self.weights()
        per_direction = [self._unroll_direction(graph, d, x, states, weights) for d in range(self.num_directions)]
        y = graph.op("Concat", *(outputs[0] for outputs in per_direction), axis=1)
        finals = [graph.op("Concat", *(outputs[k] for outputs in per_direction), axis=0) for k in range(1, len(self.outputs))]
        if self.batch_major:
            y = graph.op("Transpose", y, perm=[2, 0, 1, 3])
            finals = [graph.op("Transpose", name, perm=[1, 0, 2]) for name in finals]
        for name, value in zip(self.outputs, (y, *finals)):
            graph.nodes.append(helper.make_node("Identity", [value], [name]))
        return self._model(graph.nodes, graph.constants)

    def expected_outputs(self) -> dict[str, np.ndarray]:
        from onnx.reference import ReferenceEvaluator

        outputs = ReferenceEvaluator(self.unrolled_model()).run(None, self.feeds())
        return dict(zip(self.outputs, outputs))

    def _activations(self) -> list[tuple[str, dict]]:
        """(operator, attributes) for each activation slot of each direction, alpha/beta handed out in order."""
        names = self.attributes.get("activations", list(self.recurrence.activations) * self.num_directions)
        supplies = {"alpha": iter(self.attributes.get("activation_alpha", [])), "beta": iter(self.attributes.get("activation_beta", []))}
        activations = []
        for name in names:
            taken = {p: next(supplies[p], None) for p in ACTIVATION_PARAMETERS.get(name, ())}
            activations.append((name, {p: v for p, v in taken.items() if v is not None}))
        return activations

    def _unroll_direction(self, graph: "_Graph", d: int, x: str, states: list[str], weights: dict) -> list[str]:
        """Y [seq, 1, batch, hidden] and each final state [1, batch, hidden] of direction d, from sequence-major inputs."""
        slots = len(self.recurrence.activations)
        step = {"LSTM": self._lstm_step, "GRU": self._gru_step, "RNN": self._rnn_step}[self.op](
            graph, d, weights, self._activations()[slots * d : slots * (d + 1)])
        state = [graph.op("Gather", name, graph.const(np.int64(d)), axis=0) for name in states]
        reverse = self.attributes.get("direction") == "reverse" or d == 1
        outputs = {}
        for t in reversed(range(SEQ_LEN)) if reverse else range(SEQ_LEN):
            new_state = step(graph.op("Gather", x, graph.const(np.int64(t)), axis=0), state)
            if self.sequence_lens:
                # Past a sequence's end its state holds and its output is zero (reverse: until its start).
                running = graph.op("Unsqueeze", graph.op("Less", graph.const(np.int32(t)), "sequence_lens"), graph.const(np.array([1])))
                outputs[t] = graph.op("Where", running, new_state[0], graph.const(np.float32(0)))
                state = [graph.op("Where", running, new, old) for new, old in zip(new_state, state)]
            else:
                outputs[t], state = new_state[0], new_state
        steps = [graph.op("Unsqueeze", outputs[t], graph.const(np.array([0, 1]))) for t in range(SEQ_LEN)]
        first = graph.const(np.array([0]))
        return [graph.op("Concat", *steps, axis=0), *(graph.op("Unsqueeze", name, first) for name in state)]

    def _gates(self, graph: "_Graph", d: int, weights: dict) -> dict[str, tuple[str, str, str]]:
        """Each gate's (W^T, R^T, Wb + Rb) of direction d, as constants."""
        h, count = HIDDEN_SIZE, len(self.recurrence.gates)
        w, r, b = weights["W"][d], weights["R"][d], weights["B"][d]
        return {
            name: (graph.const(w[k * h : (k + 1) * h].T), graph.const(r[k * h : (k + 1) * h].T),
                   graph.const(b[k * h : (k + 1) * h] + b[(count + k) * h : (count + k + 1) * h]))
            for k, name in enumerate(self.recurrence.gates)
        }

    def _lstm_step(self, graph: "_Graph", d: int, weights: dict, activations: list) -> Callable[[str, list[str]], list[str]]:
        f, g, h_act = activations
        gate = self._gates(graph, d, weights)
        peephole = dict(zip(PEEPHOLES, np.split(weights["P"][d], 3))) if self.peepholes else {}

        def step(x_t: str, state: list[str]) -> list[str]:
            state_h, state_c = state

            def activated(activation, name, cell=None):
                z = _linear(graph, x_t, state_h, gate[name])
                if name in peephole:
                    z = graph.op("Add", z, graph.op("Mul", graph.const(peephole[name]), cell))
                return self._activate(graph, activation, z)

            i = activated(f, "i", state_c)
            forget = graph.op("Sub", graph.const(np.float32(1)), i) if self.attributes.get("input_forget") else activated(f, "f", state_c)
            new_c = graph.op("Add", graph.op("Mul", forget, state_c), graph.op("Mul", i, activated(g, "c")))
            return [graph.op("Mul", activated(f, "o", new_c), self._activate(graph, h_act, new_c)), new_c]

        return step

    def _gru_step(self, graph: "_Graph", d: int, weights: dict, activations: list) -> Callable[[str, list[str]], list[str]]:
        f, g = activations
        gate = self._gates(graph, d, weights)
        w_h, r_h, _ = gate["h"]
        if self.attributes.get("linear_before_reset"):  # Wbh and Rbh apart: the reset gate scales Rbh alone
            w_bias, r_bias = (graph.const(b[2 * HIDDEN_SIZE :]) for b in np.split(weights["B"][d], 2))
        one = graph.const(np.float32(1))

        def step(x_t: str, state: list[str]) -> list[str]:
            (previous,) = state
            z = self._activate(graph, f, _linear(graph, x_t, previous, gate["z"]))
            r = self._activate(graph, f, _linear(graph, x_t, previous, gate["r"]))
            if self.attributes.get("linear_before_reset"):
                recurrent = graph.op("Mul", r, graph.op("Add", graph.op("MatMul", previous, r_h), r_bias))
                candidate = graph.op("Add", graph.op("Add", graph.op("MatMul", x_t, w_h), recurrent), w_bias)
            else:
                candidate = _linear(graph, x_t, graph.op("Mul", r, previous), gate["h"])
            return [graph.op("Add", graph.op("Mul", graph.op("Sub", one, z), self._activate(graph, g, candidate)), graph.op("Mul", z, previous))]

        return step

    def _rnn_step(self, graph: "_Graph", d: int, weights: dict, activations: list) -> Callable[[str, list[str]], list[str]]:
        (f,) = activations
        gate = self._gates(graph, d, weights)
        return lambda x_t, state: [self._activate(graph, f, _linear(graph, x_t, state[0], gate["i"]))]

    def _activate(self, graph: "_Graph", activation: tuple[str, dict], value: str) -> str:
        if "clip" in self.attributes:
            bound = np.float32(self.attributes["clip"])
            value = graph.op("Clip", value, graph.const(-bound), graph.const(bound))
        name, attributes = activation
        return graph.op(name, value, **attributes)


def _linear(graph: "_Graph", x_t: str, h: str, gate: tuple[str, str, str]) -> str:
    """Xt*(W^T) + Ht-1*(R^T) + Wb + Rb for one gate."""
    w_t, r_t, bias = gate
    return graph.op("Add", graph.op("Add", graph.op("MatMul", x_t, w_t), graph.op("MatMul", h, r_t)), bias)


class _Graph:
    """Collects elementary nodes and constants; each op() returns the name of its new value."""

    def __init__(self):
        self.nodes: list = []
        self.constants: list = []

    def const(self, value) -> str:
        name = f"const{len(self.constants)}"
        self.constants.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, **attributes) -> str:
        name = f"{op_type.lower()}{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [name], **attributes))
        return name


NODE_CASES = [
    NodeCase("reverse", {"direction": "reverse"}),
    NodeCase("peepholes", {"direction": "bidirectional"}, peepholes=True),
    NodeCase("input-forget", {"input_forget": 1}),
    # Bounds the gates' inputs only: |Ct| stays below it, so both readings of clip agree.
    NodeCase("clip-gates", {"clip": 3.0}),
    # Bounds the cell state's way into h as well: only the literal reading of the spec gives these outputs.
    NodeCase("clip", {"clip": 0.5}),
    NodeCase("activations-relu", {"activations": ["Relu", "Tanh", "Tanh"]}),
    NodeCase("activations-hardsigmoid", {"activations": ["HardSigmoid", "Tanh", "Tanh"], "activation_alpha": [0.3], "activation_beta": [0.6]}),
    NodeCase("sequence-lens", {"direction": "bidirectional"}, sequence_lens=(4, 2, 3)),
    NodeCase("layout", {"layout": 1}),
    # GRU: torch always exports linear_before_reset=1; the ONNX default, and what other producers emit, is 0.
    NodeCase("linear-before-reset-0", {"linear_before_reset": 0}, op="GRU"),
    NodeCase("linear-before-reset-1", {"linear_before_reset": 1}, op="GRU"),
    NodeCase("reverse", {"direction": "reverse"}, op="GRU"),
    NodeCase("clip", {"clip": 0.5}, op="GRU"),
    NodeCase("sequence-lens", {"direction": "bidirectional"}, sequence_lens=(4, 2, 3), op="GRU"),
    NodeCase("layout", {"layout": 1}, op="GRU"),
    NodeCase("activations-relu", {"activations": ["Relu"]}, op="RNN"),
    NodeCase("activations-leakyrelu", {"activations": ["LeakyRelu"], "activation_alpha": [0.1]}, op="RNN"),
    NodeCase("clip", {"clip": 0.5}, op="RNN"),
    NodeCase("reverse", {"direction": "reverse"}, op="RNN"),
    NodeCase("sequence-lens", {"direction": "bidirectional"}, sequence_lens=(4, 2, 3), op="RNN"),
    NodeCase("layout", {"layout": 1}, op="RNN"),
]
