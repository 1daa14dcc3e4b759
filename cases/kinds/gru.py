"""torch.nn.GRU: one state; torch's gates apply the reset after the recurrent product (ONNX linear_before_reset=1)."""
from cases.kinds.base import Kind

KIND = Kind("gru", "G", "GRU")
