#!/usr/bin/python3
"""Hand-written safetensors reader and writer (F32, F16, BF16), single file or sharded.

The `safetensors` package is not available here, so this module writes the format itself,
laid out the way the official Rust library (`safetensors/src/tensor.rs`, `prepare`) lays it out:

    [u64 little-endian N][N bytes of JSON header, padded with spaces to a multiple of 8][data]

- header: {"__metadata__": {"format": "pt"}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...},
  compact JSON (serde_json), metadata first, then the tensors in data order;
- data order: descending dtype, then name (so by name when all tensors share a dtype);
  offsets are relative to the first byte after the header, contiguous, no gaps.

Sharded checkpoints follow `transformers.save_pretrained`: `model-00001-of-0000N.safetensors`
files plus `model.safetensors.index.json` = {"metadata": {"total_size": bytes}, "weight_map": {name: file}}.

The writer is streaming: the header is computed from (name, dtype, shape) alone, and each tensor
(or block of rows of a tensor) is written at its offset in any order, so the full-size model never
needs to be in memory at once.

Only numpy is needed (torch is not imported here).
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass

import numpy as np

# dtype name -> (bytes per element, numpy storage dtype). BF16 is stored as raw uint16.
DTYPES = {
    "F32": (4, np.dtype("<f4")),
    "F16": (2, np.dtype("<f2")),
    "BF16": (2, np.dtype("<u2")),
}
# The official library orders dtypes by their enum declaration (BOOL, U8, I8, F8_*, I16, U16, F16,
# BF16, I32, U32, F32, F64, I64, U64) and sorts descending; this is that order for the ones we write.
_DTYPE_RANK = {"F16": 6, "BF16": 7, "F32": 10}

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"


def shard_file_name(index: int, count: int) -> str:
    """`transformers` names shard i (1-based) of n like this."""
    return f"model-{index:05d}-of-{count:05d}.safetensors"


# ----------------------------------------------------------------------------------------------
# Conversions


def float32_to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), rounding to nearest even like torch's `.to(bfloat16)`."""
    f = np.ascontiguousarray(values, dtype=np.float32)
    u = f.view(np.uint32)
    rounding_bias = ((u >> 16) & 1) + np.uint32(0x7FFF)
    bits = ((u + rounding_bias) >> 16).astype(np.uint16)
    nan = np.isnan(f)
    if nan.any():
        bits[nan] = 0x7FC0
    return bits


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def encode(values: np.ndarray, dtype: str) -> np.ndarray:
    """Any float array -> the storage array (little-endian) for `dtype`."""
    if dtype == "F32":
        return np.ascontiguousarray(values, dtype="<f4")
    if dtype == "F16":
        # Cast from float32 so float64 input rounds once, the way torch's float32 -> float16 would.
        return np.ascontiguousarray(np.asarray(values, dtype=np.float32).astype("<f2"))
    if dtype == "BF16":
        return float32_to_bf16_bits(np.asarray(values, dtype=np.float32)).astype("<u2")
    raise ValueError(f"unsupported dtype {dtype}; use F32, F16 or BF16")


def decode(stored: np.ndarray, dtype: str, out_dtype=np.float32) -> np.ndarray:
    """Storage array -> floats (`out_dtype`, default float32). F16/BF16 upcast exactly."""
    if dtype == "BF16":
        return bf16_bits_to_float32(stored).astype(out_dtype, copy=False)
    return np.asarray(stored).astype(out_dtype, copy=False)


# ----------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: tuple

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * DTYPES[self.dtype][0]


def build_header(specs: list[TensorSpec], metadata: dict | None = None) -> tuple[bytes, dict]:
    """Returns (8-byte length + padded JSON header, {name: (begin, end)} relative to the data start)."""
    if metadata is None:
        metadata = {"format": "pt"}
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("duplicate tensor names")
    ordered = sorted(specs, key=lambda s: (-_DTYPE_RANK[s.dtype], s.name))
    header: dict = {"__metadata__": metadata}
    offsets = {}
    pos = 0
    for s in ordered:
        offsets[s.name] = (pos, pos + s.nbytes)
        header[s.name] = {"dtype": s.dtype, "shape": list(s.shape), "data_offsets": [pos, pos + s.nbytes]}
        pos += s.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text, offsets


class SafetensorsWriter:
    """Streams one .safetensors file: header first, then tensors (or row blocks) in any order.

    with SafetensorsWriter(path, specs) as w:
        w.write("a", array)                # whole tensor
        w.write_rows("emb", 0, rows)       # or blocks of rows, first dimension
    Closing checks that every byte of every tensor was written.
    """

    def __init__(self, path: str, specs: list[TensorSpec], metadata: dict | None = None):
        self.path = path
        self.specs = {s.name: s for s in specs}
        header, self.offsets = build_header(specs, metadata)
        self.data_start = len(header)
        self.total = self.data_start + sum(s.nbytes for s in specs)
        self.written = {s.name: 0 for s in specs}
        self.f = open(path, "wb")
        self.f.write(header)
        self.f.truncate(self.total)

    def write(self, name: str, values: np.ndarray) -> None:
        spec = self.specs[name]
        if tuple(values.shape) != tuple(spec.shape):
            raise ValueError(f"{name}: shape {tuple(values.shape)} != declared {spec.shape}")
        self.write_rows(name, 0, values)

    def write_rows(self, name: str, row_start: int, rows: np.ndarray) -> None:
        spec = self.specs[name]
        if tuple(rows.shape[1:]) != tuple(spec.shape[1:]):
            raise ValueError(f"{name}: row shape {rows.shape[1:]} != declared {spec.shape[1:]}")
        if row_start < 0 or row_start + rows.shape[0] > spec.shape[0]:
            raise ValueError(f"{name}: rows {row_start}..{row_start + rows.shape[0]} out of {spec.shape[0]}")
        data = encode(rows, spec.dtype).tobytes()
        row_bytes = spec.nbytes // spec.shape[0] if spec.shape[0] else 0
        self.f.seek(self.data_start + self.offsets[name][0] + row_start * row_bytes)
        self.f.write(data)
        self.written[name] += len(data)

    def close(self) -> None:
        if self.f is None:
            return
        self.f.close()
        self.f = None
        missing = [n for n, s in self.specs.items() if self.written[n] != s.nbytes]
        if missing:
            raise RuntimeError(f"{self.path}: tensors not (fully) written: {missing[:5]}")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        elif self.f is not None:
            self.f.close()
            self.f = None


def save_file(tensors: dict[str, tuple[np.ndarray, str]], path: str, metadata: dict | None = None) -> None:
    """Writes {name: (array, dtype)} to one file."""
    specs = [TensorSpec(n, d, tuple(a.shape)) for n, (a, d) in tensors.items()]
    with SafetensorsWriter(path, specs, metadata) as w:
        for n, (a, _) in tensors.items():
            w.write(n, a)


def plan_shards(specs_in_model_order: list[TensorSpec], shard_count: int) -> list[list[TensorSpec]]:
    """Cuts the tensors, in state-dict order as `save_pretrained` walks them, into `shard_count`
    contiguous groups of roughly equal bytes (each non-empty)."""
    if shard_count < 1 or shard_count > len(specs_in_model_order):
        raise ValueError(f"cannot make {shard_count} shards of {len(specs_in_model_order)} tensors")
    total = sum(s.nbytes for s in specs_in_model_order)
    groups: list[list[TensorSpec]] = [[] for _ in range(shard_count)]
    cumulative = 0
    g = 0
    for i, s in enumerate(specs_in_model_order):
        remaining_tensors = len(specs_in_model_order) - i
        remaining_groups = shard_count - g
        # Move on when this group has reached its share, or when each later group needs one tensor.
        if groups[g] and g < shard_count - 1 and (
            cumulative >= total * (g + 1) / shard_count or remaining_tensors < remaining_groups
        ):
            g += 1
        groups[g].append(s)
        cumulative += s.nbytes
    if any(not grp for grp in groups):
        raise ValueError("shard plan left an empty shard")
    return groups


class ModelWriter:
    """Writes a model's tensors into `directory` as `model.safetensors`, or as N shards plus the index.

    Tensors may be written in any order; each is routed to its shard.
    """

    def __init__(self, directory: str, specs_in_model_order: list[TensorSpec], shard_count: int = 1,
                 metadata: dict | None = None):
        self.directory = directory
        self.writers: dict[str, SafetensorsWriter] = {}
        self.route: dict[str, SafetensorsWriter] = {}
        self.files: list[str] = []
        if shard_count == 1:
            groups = [specs_in_model_order]
            names = [SINGLE_FILE]
        else:
            groups = plan_shards(specs_in_model_order, shard_count)
            names = [shard_file_name(i + 1, shard_count) for i in range(shard_count)]
        self.weight_map = {}
        for file_name, group in zip(names, groups):
            w = SafetensorsWriter(os.path.join(directory, file_name), group, metadata)
            self.writers[file_name] = w
            self.files.append(file_name)
            for s in group:
                self.route[s.name] = w
                self.weight_map[s.name] = file_name
        self.total_size = sum(s.nbytes for s in specs_in_model_order)
        self.shard_count = shard_count

    def write(self, name: str, values: np.ndarray) -> None:
        self.route[name].write(name, values)

    def write_rows(self, name: str, row_start: int, rows: np.ndarray) -> None:
        self.route[name].write_rows(name, row_start, rows)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        if self.shard_count > 1:
            index = {"metadata": {"total_size": self.total_size},
                     "weight_map": dict(sorted(self.weight_map.items()))}
            with open(os.path.join(self.directory, INDEX_FILE), "w", encoding="utf-8") as f:
                # save_pretrained: json.dumps(index, indent=2, sort_keys=True) + "\n"
                f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            for w in self.writers.values():
                if w.f is not None:
                    w.f.close()
                    w.f = None


# ----------------------------------------------------------------------------------------------
# Reading


class SafetensorsFile:
    """One .safetensors file, memory-mapped, validated the way the official loader validates it:
    header length within the file, offsets contiguous from 0 to the end of the data, byte counts
    matching dtype × shape."""

    def __init__(self, path: str):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size - 8 or n > 100_000_000:
                raise ValueError(f"{path}: header length {n} does not fit a {size}-byte file")
            raw = f.read(n)
        if not raw.startswith(b"{"):
            raise ValueError(f"{path}: header does not start with '{{'")
        header = json.loads(raw.decode("utf-8"))
        self.metadata = header.pop("__metadata__", None)
        self.data_start = 8 + n
        self.header = header
        expected = 0
        for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            if info["dtype"] not in DTYPES:
                raise ValueError(f"{path}: {name} has unsupported dtype {info['dtype']}")
            begin, end = info["data_offsets"]
            if begin != expected:
                raise ValueError(f"{path}: {name} starts at {begin}, expected {expected} (gap or overlap)")
            want = math.prod(info["shape"]) * DTYPES[info["dtype"]][0]
            if end - begin != want:
                raise ValueError(f"{path}: {name} has {end - begin} bytes, dtype × shape says {want}")
            expected = end
        if self.data_start + expected != size:
            raise ValueError(f"{path}: data ends at {self.data_start + expected}, file has {size} bytes")
        self._map = np.memmap(path, dtype=np.uint8, mode="r") if size > 0 else None

    def keys(self) -> list[str]:
        return list(self.header.keys())

    def dtype(self, name: str) -> str:
        return self.header[name]["dtype"]

    def shape(self, name: str) -> tuple:
        return tuple(self.header[name]["shape"])

    def stored(self, name: str) -> np.ndarray:
        """The raw stored array (F32/F16 floats, BF16 uint16 bits), a read-only view of the mapping."""
        info = self.header[name]
        begin, end = info["data_offsets"]
        buf = self._map[self.data_start + begin:self.data_start + end]
        return buf.view(DTYPES[info["dtype"]][1]).reshape(info["shape"])

    def get(self, name: str, out_dtype=np.float32) -> np.ndarray:
        return decode(self.stored(name), self.dtype(name), out_dtype)

    def get_rows(self, name: str, rows, out_dtype=np.float32) -> np.ndarray:
        """Selected rows (first dimension) only, so a 1 GB embedding table is never read whole."""
        return decode(self.stored(name)[np.asarray(rows)], self.dtype(name), out_dtype)


class ModelTensors:
    """All tensors of a model folder: `model.safetensors`, or the shards named by
    `model.safetensors.index.json`."""

    def __init__(self, directory: str):
        self.directory = directory
        index_path = os.path.join(directory, INDEX_FILE)
        single_path = os.path.join(directory, SINGLE_FILE)
        self.files: dict[str, SafetensorsFile] = {}
        self.where: dict[str, SafetensorsFile] = {}
        if os.path.exists(single_path):
            f = SafetensorsFile(single_path)
            self.files[SINGLE_FILE] = f
            for k in f.keys():
                self.where[k] = f
        elif os.path.exists(index_path):
            with open(index_path, encoding="utf-8") as fh:
                index = json.load(fh)
            total = 0
            for name, file_name in index["weight_map"].items():
                if file_name not in self.files:
                    self.files[file_name] = SafetensorsFile(os.path.join(directory, file_name))
                f = self.files[file_name]
                if name not in f.header:
                    raise ValueError(f"{INDEX_FILE} maps {name} to {file_name}, which lacks it")
                self.where[name] = f
            for f in self.files.values():
                for k in f.keys():
                    if k not in self.where:
                        raise ValueError(f"{f.path} holds {k}, which {INDEX_FILE} does not map")
                    total += f.header[k]["data_offsets"][1] - f.header[k]["data_offsets"][0]
            declared = index.get("metadata", {}).get("total_size")
            if declared is not None and declared != total:
                raise ValueError(f"{INDEX_FILE}: total_size {declared} != {total} bytes of tensors")
        else:
            raise FileNotFoundError(f"neither {SINGLE_FILE} nor {INDEX_FILE} in {directory}")

    def keys(self) -> list[str]:
        return list(self.where.keys())

    def dtype(self, name: str) -> str:
        return self.where[name].dtype(name)

    def shape(self, name: str) -> tuple:
        return self.where[name].shape(name)

    def get(self, name: str, out_dtype=np.float32) -> np.ndarray:
        return self.where[name].get(name, out_dtype)

    def get_rows(self, name: str, rows, out_dtype=np.float32) -> np.ndarray:
        return self.where[name].get_rows(name, rows, out_dtype)
