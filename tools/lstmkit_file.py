"""Reads and writes lstmkit model files with Python's standard library only.

An lstmkit model file is a safetensors file: an 8-byte little-endian header
length, a JSON header, then the raw little-endian tensor data. The header
maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
(offsets into the data) and "__metadata__" to a map of strings, in which
lstmkit keeps its config, its format version and a CRC-32 of the data:

    lstmkit.format_version  "1"
    lstmkit.kind            "model" or "checkpoint"
    lstmkit.input_size, lstmkit.hidden_size, lstmkit.num_layers,
    lstmkit.output_size     decimal integers (output_size 0: no head)
    lstmkit.output_activation  "identity" or "softmax"
    lstmkit.output_steps    "every" or "last"
    lstmkit.checksum        "crc32:" and 8 lower-case hex digits: zlib.crc32
                            of the whole data section

The tensors are PyTorch's nn.LSTM state_dict names (weight_ih_l{k} [4H, I_k],
weight_hh_l{k} [4H, H], bias_ih_l{k} [4H], bias_hh_l{k} [4H], gates i, f, g,
o), then head.weight [O, H] and head.bias [O], in that order.

This module writes exactly the bytes lstmkit's C++ writer does (sorted keys,
no spaces, the header padded with spaces to a multiple of 8 bytes), so a file
can go through Python and back unchanged. It needs neither numpy nor the
safetensors package: tensor data is passed around as bytes.
"""

import json
import os
import struct
import zlib

FORMAT_VERSION = 1
RESERVED_PREFIX = "lstmkit."
CHECKSUM_KEY = "lstmkit.checksum"
MAX_HEADER_BYTES = 64 << 20

DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "F64": 8, "I64": 8, "U64": 8,
}

CONFIG_KEYS = ("input_size", "hidden_size", "num_layers", "output_size",
               "output_activation", "output_steps")


class FormatError(ValueError):
    """A file that is not a valid lstmkit or safetensors file."""


def format_crc32(data):
    return "crc32:%08x" % (zlib.crc32(data) & 0xFFFFFFFF)


def parameter_names(num_layers, has_head):
    """lstmkit's tensor names in file order."""
    names = []
    for k in range(num_layers):
        names += ["weight_ih_l%d" % k, "weight_hh_l%d" % k,
                  "bias_ih_l%d" % k, "bias_hh_l%d" % k]
    if has_head:
        names += ["head.weight", "head.bias"]
    return names


def parameter_shapes(config):
    """{name: shape} for a config dict (the CONFIG_KEYS)."""
    i, h = config["input_size"], config["hidden_size"]
    shapes = {}
    for k in range(config["num_layers"]):
        shapes["weight_ih_l%d" % k] = [4 * h, i if k == 0 else h]
        shapes["weight_hh_l%d" % k] = [4 * h, h]
        shapes["bias_ih_l%d" % k] = [4 * h]
        shapes["bias_hh_l%d" % k] = [4 * h]
    if config["output_size"] > 0:
        shapes["head.weight"] = [config["output_size"], h]
        shapes["head.bias"] = [config["output_size"]]
    return shapes


def model_metadata(config, kind="model", extra=None):
    """The __metadata__ of an lstmkit file, without the checksum."""
    metadata = {}
    for key, value in (extra or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError("metadata keys and values must be strings")
        if not key or key.startswith(RESERVED_PREFIX):
            raise ValueError("metadata key %r is empty or reserved" % key)
        metadata[key] = value
    if config["output_activation"] not in ("identity", "softmax"):
        raise ValueError("output_activation must be identity or softmax")
    if config["output_steps"] not in ("every", "last"):
        raise ValueError("output_steps must be every or last")
    metadata["lstmkit.format_version"] = str(FORMAT_VERSION)
    metadata["lstmkit.kind"] = kind
    for key in CONFIG_KEYS:
        metadata[RESERVED_PREFIX + key] = str(config[key])
    return metadata


def _render_header(header):
    text = json.dumps(header, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")
    return text + b" " * (-len(text) % 8)


def encode(tensors, metadata=None, checksum=True):
    """A safetensors file's bytes.

    tensors: a list of (name, dtype, shape, data) in file order, data being
    little-endian bytes. metadata: a dict of strings or None. With checksum,
    metadata gets lstmkit.checksum (metadata must then be given).
    """
    header = {}
    offset = 0
    for name, dtype, shape, data in tensors:
        size = DTYPE_SIZES[dtype]
        for d in shape:
            size *= d
        if len(data) != size:
            raise ValueError("tensor %s: %d bytes for %s %s, expected %d"
                             % (name, len(data), dtype, shape, size))
        if name in header or name == "__metadata__":
            raise ValueError("tensor name %r repeated or reserved" % name)
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    data = b"".join(t[3] for t in tensors)
    if metadata is not None:
        metadata = dict(metadata)
        if checksum:
            metadata[CHECKSUM_KEY] = format_crc32(data)
        header["__metadata__"] = metadata
    text = _render_header(header)
    return struct.pack("<Q", len(text)) + text + data


def _unique_keys(pairs):
    """A JSON object's dict; JSON readers disagree on repeated keys, so a
    file with any is refused."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("the key %r appears twice" % key)
        result[key] = value
    return result


def decode(blob, name="file"):
    """Parses a safetensors file's bytes, checking its structure and, when it
    has one, its lstmkit checksum.

    Returns (tensors, metadata): tensors maps name -> (dtype, shape, bytes)
    in file order; metadata is the __metadata__ dict ({} when absent).
    """
    if len(blob) < 8:
        raise FormatError("%s: %d bytes, too short" % (name, len(blob)))
    (length,) = struct.unpack("<Q", blob[:8])
    if length > MAX_HEADER_BYTES or length > len(blob) - 8:
        raise FormatError("%s: bad header length %d" % (name, length))
    try:
        header = json.loads(blob[8:8 + length].decode("utf-8"),
                            object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError("%s: the header is not valid JSON: %s" % (name, e))
    if not isinstance(header, dict):
        raise FormatError("%s: the header is not a JSON object" % name)
    data = blob[8 + length:]
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise FormatError("%s: __metadata__ must map strings to strings"
                          % name)
    entries = []
    for tensor, entry in header.items():
        try:
            dtype, shape = entry["dtype"], entry["shape"]
            begin, end = entry["data_offsets"]
            size = DTYPE_SIZES[dtype]
        except (KeyError, TypeError, ValueError):
            raise FormatError("%s: tensor %r: bad entry %r"
                              % (name, tensor, entry))
        for d in shape:
            size *= d
        if not 0 <= begin <= end <= len(data) or end - begin != size:
            raise FormatError("%s: tensor %r: bad data_offsets %r"
                              % (name, tensor, entry["data_offsets"]))
        entries.append((begin, end, tensor, dtype, list(shape)))
    entries.sort()
    covered = 0
    for begin, end, tensor, _, _ in entries:
        if begin != covered:
            raise FormatError("%s: tensor %r starts at %d, expected %d"
                              % (name, tensor, begin, covered))
        covered = end
    if covered != len(data):
        raise FormatError("%s: the tensors cover %d of %d data bytes"
                          % (name, covered, len(data)))
    if CHECKSUM_KEY in metadata and metadata[CHECKSUM_KEY] != format_crc32(
            data):
        raise FormatError("%s: checksum mismatch: the file records %s, its "
                          "data gives %s" % (name, metadata[CHECKSUM_KEY],
                                             format_crc32(data)))
    tensors = {t: (dtype, shape, bytes(data[b:e]))
               for b, e, t, dtype, shape in entries}
    return tensors, metadata


def config_from_metadata(metadata):
    """The config dict of an lstmkit file, or None for a plain file."""
    if "lstmkit.format_version" not in metadata:
        return None
    version = int(metadata["lstmkit.format_version"])
    if version > FORMAT_VERSION:
        raise FormatError("format version %d is newer than %d"
                          % (version, FORMAT_VERSION))
    config = {}
    for key in CONFIG_KEYS:
        value = metadata[RESERVED_PREFIX + key]
        textual = key in ("output_activation", "output_steps")
        config[key] = value if textual else int(value)
    return config


def extra_metadata(metadata):
    """The entries outside lstmkit's reserved prefix."""
    return {k: v for k, v in metadata.items()
            if not k.startswith(RESERVED_PREFIX)}


def write_atomically(path, blob):
    """Replaces path with blob so that a crash leaves the old or the new
    file: a temporary file in the same directory, fsync, rename, fsync of the
    directory."""
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, ".%s.tmp-%d"
                             % (os.path.basename(path), os.getpid()))
    try:
        with open(temporary, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
