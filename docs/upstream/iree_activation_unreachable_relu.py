"""IREE (torch-mlir's ONNX import): a recurrent op's activation other than Sigmoid, Tanh or Relu (LeakyRelu, HardSigmoid,
Elu, Softsign, ...) compiles and computes Relu instead, silently (createActivationByName ends in llvm_unreachable).

    python iree_activation_unreachable_relu.py      # needs onnx, numpy, iree-base-compiler, iree-base-runtime
"""
import subprocess, sys, tempfile
import numpy as np, onnx, iree.runtime as rt
from onnx import helper as h, TensorProto as T, numpy_helper as nh
from iree.compiler.tools.binaries import find_tool

def iree_run(model, x):
    d = tempfile.mkdtemp(); onnx.save(model, f"{d}/m.onnx")
    subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", f"{d}/m.onnx", "-o", f"{d}/m.mlir"], check=True)
    subprocess.run([find_tool("iree-compile"), f"{d}/m.mlir", "--iree-hal-target-backends=llvm-cpu",
                    "--iree-llvmcpu-target-cpu=host", "-o", f"{d}/m.vmfb"], check=True)
    config = rt.Config("local-sync"); context = rt.SystemContext(config=config)
    context.add_vm_module(rt.VmModule.copy_buffer(config.vm_instance, open(f"{d}/m.vmfb", "rb").read()))
    return np.asarray(context.modules.module["g"](x).to_host())

def rnn(x, W, R, f):  # the ONNX RNN equation H = f(X W^T + H R^T), no bias
    H, ys = np.zeros((x.shape[1], 8)), []
    for xt in x:
        H = f(xt @ W.T + H @ R.T); ys.append(H)
    return np.stack(ys)[:, None]

activations = {"LeakyRelu": ([0.1], [], lambda v: np.where(v > 0, v, 0.1 * v)),
               "HardSigmoid": ([0.3], [0.6], lambda v: np.clip(0.3 * v + 0.6, 0, 1)),
               "Softsign": ([], [], lambda v: v / (1 + np.abs(v)))}
rng = np.random.default_rng(0)
W, R, x = rng.standard_normal((8, 4)), rng.standard_normal((8, 8)) * 0.3, rng.standard_normal((5, 3, 4)).astype(np.float32)
for name, (alpha, beta, f) in activations.items():
    node = h.make_node("RNN", ["X", "W", "R"], ["Y"], hidden_size=8, activations=[name], **({"activation_alpha": alpha} if alpha else {}),
                       **({"activation_beta": beta} if beta else {}))
    graph = h.make_graph([node], "g", [h.make_tensor_value_info("X", T.FLOAT, [5, 3, 4])], [h.make_tensor_value_info("Y", T.FLOAT, [5, 1, 3, 8])],
                         [nh.from_array(W[None].astype(np.float32), "W"), nh.from_array(R[None].astype(np.float32), "R")])
    y = iree_run(h.make_model(graph, opset_imports=[h.make_opsetid("", 14)]), x)
    print(f"RNN activations=['{name}']: IREE vs numpy {name} max abs {np.abs(y - rnn(x, W, R, f)).max():.3g}, "
          f"vs numpy Relu max abs {np.abs(y - rnn(x, W, R, lambda v: np.maximum(v, 0))).max():.3g}")
