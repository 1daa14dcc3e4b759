"""torch.nn.RNN with its default nonlinearity, tanh."""
from cases.kinds.base import Kind

KIND = Kind("rnn_tanh", "Rtanh", "RNN", layer_options=(("nonlinearity", "tanh"),), label="RNN (tanh)")
