"""A zoo of published recurrent architectures, small and randomly initialised, each a factory of the user-model
contract (cases/models.py): `run --model cases.zoo.crnn:factory` runs one through the suite's whole matrix.

Every model keeps the recurrent layout of its source (layer type, direction, stacking, state handling, time- or
batch-major, packing) and the layers that feed and read it; sizes are cut to hidden sizes of 8-32 so an export takes
well under a second. Each file's docstring cites its source and says what is kept and what is simplified.
"""
from __future__ import annotations

ZOO: dict[str, str] = {
    "crnn": "cases.zoo.crnn:factory",
    "tacotron2_decoder": "cases.zoo.tacotron2_decoder:factory",
    "silero_vad": "cases.zoo.silero_vad:factory",
    "deepspeech": "cases.zoo.deepspeech:factory",
    "pyannote": "cases.zoo.pyannote:factory",
    "wavernn": "cases.zoo.wavernn:factory",
    "rnnt_predictor": "cases.zoo.rnnt_predictor:factory",
    "packed_text_encoder": "cases.zoo.packed_text_encoder:factory",
}

__all__ = ["ZOO"]
