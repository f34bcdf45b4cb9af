"""Reads and writes lstmkit model files with Python's standard library only.

An lstmkit model file is a safetensors file: an 8-byte little-endian header
length, a JSON header, then the raw little-endian tensor data. The header
maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
(offsets into the data) and "__metadata__" to a map of strings, in which
lstmkit keeps its config, its format version and a CRC-32 of the data:

    lstmkit.format_version  "2" when the file uses one of the options
                            below the output_steps, else "1"
    lstmkit.kind            "model" or "checkpoint"
    lstmkit.input_size, lstmkit.hidden_size, lstmkit.num_layers,
    lstmkit.output_size     decimal integers (output_size 0: no head)
    lstmkit.output_activation  "identity" or "softmax"
    lstmkit.output_steps    "every" or "last"
    lstmkit.bidirectional   "true" (written only when true)
    lstmkit.proj_size       a decimal integer P (written only when P > 0)
    lstmkit.dropout         the shortest %g text of the float32 probability
                            that reads back as the same float32 (written
                            only when nonzero)
    lstmkit.batch_first     "true" (written only when true)
    lstmkit.checksum        "crc32:" and 8 lower-case hex digits: zlib.crc32
                            of the whole data section

A file without one of the four option keys has the option's default (false,
0, 0.0, false). Format version 2 added them; a file that uses none is
version 1, exactly what earlier versions wrote. Version 1 readers of this
module ignored unknown keys, so they would have misread a file with an
option: the version number makes them refuse it.

The tensors are PyTorch's nn.LSTM state_dict names, per layer k and per
direction (the reverse direction's names end in "_reverse"): weight_ih_l{k}
[4H, I_k], weight_hh_l{k} [4H, P], bias_ih_l{k} [4H], bias_hh_l{k} [4H], and
with a projection weight_hr_l{k} [P, H] (gates i, f, g, o; P = proj_size, or
H without a projection; I_0 = input_size, I_k = D * P above with D = 2 for a
bidirectional model, else 1); then head.weight [O, D * P] and head.bias [O],
in that order.

This module writes exactly the bytes lstmkit's C++ writer does (sorted keys,
no spaces, the header padded with spaces to a multiple of 8 bytes), so a file
can go through Python and back unchanged. It needs neither numpy nor the
safetensors package: tensor data is passed around as bytes.
"""

import json
import os
import struct
import zlib

# The newest version this module reads; OPTIONS_FORMAT_VERSION added the
# nn.LSTM options.
FORMAT_VERSION = 2
OPTIONS_FORMAT_VERSION = 2
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
# nn.LSTM's other options: in the metadata only when not at these defaults.
OPTION_DEFAULTS = {"bidirectional": False, "proj_size": 0, "dropout": 0.0,
                   "batch_first": False}


class FormatError(ValueError):
    """A file that is not a valid lstmkit or safetensors file."""


def format_crc32(data):
    return "crc32:%08x" % (zlib.crc32(data) & 0xFFFFFFFF)


def with_defaults(config):
    """config with every OPTION_DEFAULTS key it lacks added."""
    full = dict(OPTION_DEFAULTS)
    full.update(config)
    return full


def directions(config):
    return 2 if with_defaults(config)["bidirectional"] else 1


def state_width(config):
    """P: the width of one direction's h (proj_size, or hidden_size)."""
    return with_defaults(config)["proj_size"] or config["hidden_size"]


def parameter_names(config):
    """lstmkit's tensor names in file order (PyTorch's state_dict order)."""
    config = with_defaults(config)
    names = []
    for k in range(config["num_layers"]):
        for suffix in ("", "_reverse")[:directions(config)]:
            kinds = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
            if config["proj_size"] > 0:
                kinds.append("weight_hr")
            names += ["%s_l%d%s" % (kind, k, suffix) for kind in kinds]
    if config["output_size"] > 0:
        names += ["head.weight", "head.bias"]
    return names


def parameter_shapes(config):
    """{name: shape} for a config dict (the CONFIG_KEYS, and those of
    OPTION_DEFAULTS that differ from the defaults)."""
    config = with_defaults(config)
    i, h = config["input_size"], config["hidden_size"]
    p = state_width(config)
    layer_output = directions(config) * p
    shapes = {}
    for k in range(config["num_layers"]):
        for suffix in ("", "_reverse")[:directions(config)]:
            shapes["weight_ih_l%d%s" % (k, suffix)] = [
                4 * h, i if k == 0 else layer_output]
            shapes["weight_hh_l%d%s" % (k, suffix)] = [4 * h, p]
            shapes["bias_ih_l%d%s" % (k, suffix)] = [4 * h]
            shapes["bias_hh_l%d%s" % (k, suffix)] = [4 * h]
            if config["proj_size"] > 0:
                shapes["weight_hr_l%d%s" % (k, suffix)] = [p, h]
    if config["output_size"] > 0:
        shapes["head.weight"] = [config["output_size"], layer_output]
        shapes["head.bias"] = [config["output_size"]]
    return shapes


def float32(value):
    """value rounded to the nearest float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def format_probability(value):
    """The shortest "%.{p}g" text that reads back as the same float32, as
    lstmkit's C++ writer formats lstmkit.dropout."""
    value = float32(value)
    for precision in range(1, 10):
        text = "%.*g" % (precision, value)
        if float32(float(text)) == value:
            return text
    return text


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
    options = with_defaults(config)
    if not 0.0 <= float32(options["dropout"]) < 1.0:
        raise ValueError("dropout must be in [0, 1), got %r"
                         % options["dropout"])
    uses_options = any(
        (float32(options[key]) if key == "dropout" else options[key]) !=
        default for key, default in OPTION_DEFAULTS.items())
    metadata["lstmkit.format_version"] = str(
        OPTIONS_FORMAT_VERSION if uses_options else 1)
    metadata["lstmkit.kind"] = kind
    for key in CONFIG_KEYS:
        metadata[RESERVED_PREFIX + key] = str(config[key])
    if options["bidirectional"]:
        metadata["lstmkit.bidirectional"] = "true"
    if options["proj_size"] > 0:
        metadata["lstmkit.proj_size"] = str(options["proj_size"])
    if float32(options["dropout"]) != 0.0:
        metadata["lstmkit.dropout"] = format_probability(options["dropout"])
    if options["batch_first"]:
        metadata["lstmkit.batch_first"] = "true"
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
    try:
        for key in CONFIG_KEYS:
            value = metadata[RESERVED_PREFIX + key]
            textual = key in ("output_activation", "output_steps")
            config[key] = value if textual else int(value)
    except KeyError as e:
        raise FormatError("metadata %s is missing" % e)
    except ValueError as e:
        raise FormatError("metadata: %s" % e)
    for key, default in OPTION_DEFAULTS.items():
        text = metadata.get(RESERVED_PREFIX + key)
        if text is not None and version < OPTIONS_FORMAT_VERSION:
            raise FormatError("metadata lstmkit.%s: format version %d does "
                              "not define it" % (key, version))
        if text is None:
            config[key] = default
        elif isinstance(default, bool):
            if text not in ("true", "false"):
                raise FormatError("metadata lstmkit.%s must be \"true\" or "
                                  "\"false\", got %r" % (key, text))
            config[key] = text == "true"
        else:
            try:
                config[key] = type(default)(text)
            except ValueError:
                raise FormatError("metadata lstmkit.%s must be a %s, got %r"
                                  % (key, "decimal integer" if key ==
                                     "proj_size" else "number", text))
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
