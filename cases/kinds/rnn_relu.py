"""torch.nn.RNN with nonlinearity='relu'."""
from cases.kinds.base import Kind

KIND = Kind("rnn_relu", "Rrelu", "RNN", layer_options=(("nonlinearity", "relu"),), label="RNN (relu)")
