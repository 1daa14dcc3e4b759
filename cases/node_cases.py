"""ONNX LSTM node cases: operator attributes the torch exporters never emit but other producers do.

Each case is one LSTM node made with onnx.helper: small sizes, seeded weights as initializers, graph
inputs X, initial_h, initial_c (and sequence_lens where lengths vary within the batch), outputs Y,
Y_h, Y_c. Expected outputs come from onnx.reference.ReferenceEvaluator run on the same computation
unrolled into elementary ops (MatMul, Sigmoid, Clip, Where, ...): its LSTM kernel ignores clip,
activations, input_forget and (onnx 1.23) sequence_lens, so the node itself cannot be the truth.

The spec is read literally where runtimes differ: clip bounds the input of every activation, h(Ct)
included (onnxruntime clips only the gates' inputs; `clip-gates` is the case both readings agree on).
Needs onnx and numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NODE_OPSET = 14  # LSTM-14 added layout; it is still the operator's latest version
# Written explicitly: onnx's default is the newest IR it knows (14 in onnx 1.23), which onnxruntime 1.31 refuses
# ("Unsupported model IR version: 14, max supported IR version: 13"). IR 8 carries opset 14 everywhere.
NODE_IR_VERSION = 8
PRODUCER = "onnx.helper"  # what the corpus records in the exporter column for these cases
INPUT_SIZE, HIDDEN_SIZE, SEQ_LEN, BATCH = 2, 3, 4, 3
OUTPUTS = ("Y", "Y_h", "Y_c")
GATES = "iofc"  # the order of the gates' blocks in W, R and B
PEEPHOLES = "iof"  # the order of the blocks in P
DEFAULT_ACTIVATIONS = ("Sigmoid", "Tanh", "Tanh")  # f, g, h
# Activations that take parameters, in the order they consume activation_alpha / activation_beta;
# each is also the ONNX operator of the same name, whose defaults apply when a list runs out.
ACTIVATION_PARAMETERS = {"HardSigmoid": ("alpha", "beta"), "LeakyRelu": ("alpha",), "ThresholdedRelu": ("alpha",), "Elu": ("alpha",)}


@dataclass(frozen=True)
class NodeCase:
    name: str
    attributes: dict = field(default_factory=dict)
    peepholes: bool = False
    sequence_lens: tuple[int, ...] | None = None
    seed: int = 0

    @property
    def id(self) -> str:
        return f"node-lstm-{self.name}"

    @property
    def num_directions(self) -> int:
        return 2 if self.attributes.get("direction") == "bidirectional" else 1

    @property
    def batch_major(self) -> bool:
        return self.attributes.get("layout", 0) == 1

    def params(self) -> dict:
        """The node's attributes plus the sizes: what results record and expectations match ("params.<name>").

        Lists are joined with commas ("Relu,Tanh,Tanh"): every param is a scalar, as a Case's are.
        """
        params = {"input_size": INPUT_SIZE, "hidden_size": HIDDEN_SIZE, "seq_len": SEQ_LEN, "batch": BATCH, "dtype": "float32",
                  **self.attributes}
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
        return {"X": x, "initial_h": self._state_shape(), "initial_c": self._state_shape()}

    def _input_types(self) -> list:
        types = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in self._float_input_shapes().items()]
        if self.sequence_lens:
            types.insert(1, helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, (BATCH,)))
        return types

    def _output_types(self) -> list:
        d = self.num_directions
        y = (BATCH, SEQ_LEN, d, HIDDEN_SIZE) if self.batch_major else (SEQ_LEN, d, BATCH, HIDDEN_SIZE)
        shapes = {"Y": y, "Y_h": self._state_shape(), "Y_c": self._state_shape()}
        return [helper.make_tensor_value_info(name, TensorProto.FLOAT, shapes[name]) for name in OUTPUTS]

    def weights(self) -> dict[str, np.ndarray]:
        """W, R, B (and P) in the operator's layout, seeded so every process builds the same node."""
        rng = np.random.default_rng(self.seed)
        d, h = self.num_directions, HIDDEN_SIZE
        shapes = {"W": (d, 4 * h, INPUT_SIZE), "R": (d, 4 * h, h), "B": (d, 8 * h)}
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
        """The case itself: one LSTM node."""
        weights = self.weights()
        inputs = ["X", "W", "R", "B", "sequence_lens" if self.sequence_lens else "", "initial_h", "initial_c"]
        if self.peepholes:
            inputs.append("P")
        node = helper.make_node("LSTM", inputs, list(OUTPUTS), hidden_size=HIDDEN_SIZE, **self.attributes)
        return self._model([node], [numpy_helper.from_array(array, name) for name, array in weights.items()])

    def unrolled_model(self) -> onnx.ModelProto:
        """The same computation as elementary ops, one block per direction and time step."""
        graph = _Graph()
        x, h0, c0 = "X", "initial_h", "initial_c"
        if self.batch_major:
            x, h0, c0 = (graph.op("Transpose", name, perm=[1, 0, 2]) for name in (x, h0, c0))
        weights = self.weights()
        per_direction = [self._unroll_direction(graph, d, x, h0, c0, weights) for d in range(self.num_directions)]
        y = graph.op("Concat", *(ys for ys, _, _ in per_direction), axis=1)
        y_h = graph.op("Concat", *(h for _, h, _ in per_direction), axis=0)
        y_c = graph.op("Concat", *(c for _, _, c in per_direction), axis=0)
        if self.batch_major:
            y = graph.op("Transpose", y, perm=[2, 0, 1, 3])
            y_h, y_c = (graph.op("Transpose", name, perm=[1, 0, 2]) for name in (y_h, y_c))
        for name, value in zip(OUTPUTS, (y, y_h, y_c)):
            graph.nodes.append(helper.make_node("Identity", [value], [name]))
        return self._model(graph.nodes, graph.constants)

    def expected_outputs(self) -> dict[str, np.ndarray]:
        from onnx.reference import ReferenceEvaluator

        outputs = ReferenceEvaluator(self.unrolled_model()).run(None, self.feeds())
        return dict(zip(OUTPUTS, outputs))

    def _activations(self) -> list[tuple[str, dict]]:
        """(operator, attributes) for f, g, h of each direction, alpha/beta handed out in order."""
        names = self.attributes.get("activations", list(DEFAULT_ACTIVATIONS) * self.num_directions)
        supplies = {"alpha": iter(self.attributes.get("activation_alpha", [])), "beta": iter(self.attributes.get("activation_beta", []))}
        activations = []
        for name in names:
            taken = {p: next(supplies[p], None) for p in ACTIVATION_PARAMETERS.get(name, ())}
            activations.append((name, {p: v for p, v in taken.items() if v is not None}))
        return activations

    def _unroll_direction(self, graph: "_Graph", d: int, x: str, h0: str, c0: str, weights: dict) -> tuple[str, str, str]:
        """Y [seq, 1, batch, hidden], Y_h and Y_c [1, batch, hidden] of direction d, from sequence-major inputs."""
        h = HIDDEN_SIZE
        f, g, h_act = self._activations()[3 * d : 3 * d + 3]
        w, r, b = weights["W"][d], weights["R"][d], weights["B"][d]
        gate = {
            name: (graph.const(w[k * h : (k + 1) * h].T), graph.const(r[k * h : (k + 1) * h].T),
                   graph.const(b[k * h : (k + 1) * h] + b[(4 + k) * h : (5 + k) * h]))
            for k, name in enumerate(GATES)
        }
        peephole = dict(zip(PEEPHOLES, np.split(weights["P"][d], 3))) if self.peepholes else {}
        state_h = graph.op("Gather", h0, graph.const(np.int64(d)), axis=0)
        state_c = graph.op("Gather", c0, graph.const(np.int64(d)), axis=0)
        reverse = self.attributes.get("direction") == "reverse" or d == 1
        outputs = {}
        for t in reversed(range(SEQ_LEN)) if reverse else range(SEQ_LEN):
            x_t = graph.op("Gather", x, graph.const(np.int64(t)), axis=0)

            def activated(activation, name, cell=None):
                w_t, r_t, bias = gate[name]
                z = graph.op("Add", graph.op("Add", graph.op("MatMul", x_t, w_t), graph.op("MatMul", state_h, r_t)), bias)
                if name in peephole:
                    z = graph.op("Add", z, graph.op("Mul", graph.const(peephole[name]), cell))
                return self._activate(graph, activation, z)

            i = activated(f, "i", state_c)
            forget = graph.op("Sub", graph.const(np.float32(1)), i) if self.attributes.get("input_forget") else activated(f, "f", state_c)
            new_c = graph.op("Add", graph.op("Mul", forget, state_c), graph.op("Mul", i, activated(g, "c")))
            new_h = graph.op("Mul", activated(f, "o", new_c), self._activate(graph, h_act, new_c))
            if self.sequence_lens:
                # Past a sequence's end its state holds and its output is zero (reverse: until its start).
                running = graph.op("Unsqueeze", graph.op("Less", graph.const(np.int32(t)), "sequence_lens"), graph.const(np.array([1])))
                outputs[t] = graph.op("Where", running, new_h, graph.const(np.float32(0)))
                state_h, state_c = graph.op("Where", running, new_h, state_h), graph.op("Where", running, new_c, state_c)
            else:
                outputs[t], state_h, state_c = new_h, new_h, new_c
        steps = [graph.op("Unsqueeze", outputs[t], graph.const(np.array([0, 1]))) for t in range(SEQ_LEN)]
        first = graph.const(np.array([0]))
        return graph.op("Concat", *steps, axis=0), graph.op("Unsqueeze", state_h, first), graph.op("Unsqueeze", state_c, first)

    def _activate(self, graph: "_Graph", activation: tuple[str, dict], value: str) -> str:
        if "clip" in self.attributes:
            bound = np.float32(self.attributes["clip"])
            value = graph.op("Clip", value, graph.const(-bound), graph.const(bound))
        name, attributes = activation
        return graph.op(name, value, **attributes)


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
]
