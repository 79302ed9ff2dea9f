# Reads safetensors files without the safetensors package: an 8-byte little-endian header length, a JSON
# header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw tensor bytes
# (offsets count from the end of the header). Only what the benchmarks need: F32 and BF16 tensors, as float32.
import json
import struct

import numpy
import torch


def read_header(path):
    """(header dict without __metadata__, byte offset where tensor data starts)."""
    with open(path, "rb") as file:
        (header_length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(header_length))
    header.pop("__metadata__", None)
    return header, 8 + header_length


def read_tensor(path, header, data_start, name):
    """One tensor of the file as a float32 torch tensor."""
    entry = header[name]
    begin, end = entry["data_offsets"]
    with open(path, "rb") as file:
        file.seek(data_start + begin)
        raw = bytearray(file.read(end - begin))
    if entry["dtype"] == "F32":
        array = numpy.frombuffer(raw, dtype=numpy.float32)
    elif entry["dtype"] == "BF16":
        array = (numpy.frombuffer(raw, dtype=numpy.uint16).astype(numpy.uint32) << 16).view(numpy.float32)
    else:
        raise ValueError(f"{path}: tensor {name} has unsupported dtype {entry['dtype']}")
    return torch.from_numpy(array.reshape(entry["shape"]))


def read_safetensors(path):
    """{name: float32 tensor} for every tensor of the file."""
    header, data_start = read_header(path)
    return {name: read_tensor(path, header, data_start, name) for name in header}
