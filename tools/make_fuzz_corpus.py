#!/usr/bin/python3
"""Writes the seed corpus of the model-file fuzzer into tests/fuzz/corpus/.

    python3 tools/make_fuzz_corpus.py

Needs only the standard library. The corpus is committed; rerun this to
change it. It holds small valid files of every kind the readers accept
(models in F32 and BF16, with and without a head, with extra metadata,
bidirectional and projected models with dropout and batch_first, plain
safetensors files with PyTorch's names, of bidirectional and projected
LSTMs too, checkpoints during and between runs) and one broken file for
each check the readers make, so that fuzzing starts next to every branch.
Deterministic: seeded, fixed key order.
"""

import json
import os
import random
import struct
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import lstmkit_file  # noqa: E402

OUT_DIR = os.path.join(TOOLS, "..", "tests", "fuzz", "corpus")
rng = random.Random(1234)

SMALL = {"input_size": 2, "hidden_size": 2, "num_layers": 2,
         "output_size": 1, "output_activation": "identity",
         "output_steps": "every"}


def floats(count):
    return struct.pack("<%df" % count,
                       *[rng.uniform(-0.5, 0.5) for _ in range(count)])


def bf16s(count):
    # The upper halves of random floats in (-0.5, 0.5).
    data = floats(count)
    return b"".join(data[4 * i + 2:4 * i + 4] for i in range(count))


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def parameters(config, dtype="F32", prefix=""):
    shapes = lstmkit_file.parameter_shapes(config)
    names = lstmkit_file.parameter_names(config)
    make = floats if dtype == "F32" else bf16s
    return [(prefix + n, dtype, shapes[n], make(count(shapes[n])))
            for n in names]


def model(config, dtype="F32", extra=None, checksum=True):
    return lstmkit_file.encode(
        parameters(config, dtype),
        lstmkit_file.model_metadata(config, "model", extra), checksum)


def checkpoint(config, kind, steps, in_run, order=None, epoch=1,
               next_batch=1, batch_size=2, drop=None):
    tensors = parameters(config)
    if steps > 0:
        moments = ["first"] + (["second"] if kind == "adam" else [])
        for moment in moments:
            for name, dtype, shape, _ in parameters(config):
                tensors.append(("optimizer.%s.%s" % (moment, name), dtype,
                                shape, floats(count(shape))))
    if in_run:
        order = order if order is not None else [2, 0, 3, 1]
        tensors.append(("trainer.order", "I64", [len(order)],
                        struct.pack("<%dq" % len(order), *order)))
    if drop:
        tensors = [t for t in tensors if t[0] != drop]
    metadata = lstmkit_file.model_metadata(config, "checkpoint")
    metadata["lstmkit.optimizer"] = json.dumps(
        {"kind": kind, "learning_rate": 0.01, "weight_decay": 0.0,
         "momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-08,
         "steps": steps}, sort_keys=True, separators=(",", ":"))
    metadata["lstmkit.trainer"] = json.dumps(
        {"batch_size": batch_size, "shuffle_state": "12345678901234567890",
         "in_run": in_run, "epoch": epoch if in_run else 0,
         "next_batch": next_batch if in_run else 0,
         "rng_state": "987654321" if in_run else "0",
         "loss_sum": 1.5 if in_run else 0.0,
         "weight_sum": 4.0 if in_run else 0.0},
        sort_keys=True, separators=(",", ":"))
    return lstmkit_file.encode(tensors, metadata)


def raw(header_text, data=b"", length=None):
    header = header_text.encode("utf-8") if isinstance(
        header_text, str) else header_text
    return struct.pack("<Q", len(header) if length is None else length) + \
        header + data


def split(blob):
    (length,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + length].decode("utf-8")), blob[8 + length:]


def rebuild(header, data):
    return raw(json.dumps(header, sort_keys=True, separators=(",", ":")),
               data)


def damaged(mutate, blob=None):
    header, data = split(blob if blob is not None else model(SMALL))
    result = mutate(header, data)
    return rebuild(header, result if result is not None else data)


def with_metadata(key, value, config=SMALL, version=None):
    metadata = lstmkit_file.model_metadata(config, "model")
    if version is not None:
        metadata["lstmkit.format_version"] = version
    if value is None:
        del metadata[key]
    else:
        metadata[key] = value
    return lstmkit_file.encode(parameters(config), metadata)


def corpus():
    softmax_last = dict(SMALL, output_size=3, output_activation="softmax",
                        output_steps="last", num_layers=1)
    no_head = dict(SMALL, output_size=0, num_layers=1)
    # Every nn.LSTM option at once: two directions, h projected to 2 of 3
    # units, so layer 1 reads 4 values and the head 4.
    options = dict(SMALL, hidden_size=3, bidirectional=True, proj_size=2,
                   dropout=0.25, batch_first=True)
    bidirectional = dict(SMALL, bidirectional=True, num_layers=1)
    projected = dict(SMALL, hidden_size=3, proj_size=1)
    valid = {
        "model_f32": model(SMALL),
        "model_bf16_softmax_last": model(softmax_last, "BF16"),
        "model_no_head_with_metadata": model(
            no_head, extra={"vocabulary": "a\nb\n\u00e9", "mean": "0.5"}),
        "model_without_checksum": model(SMALL, checksum=False),
        "plain_pytorch_names": lstmkit_file.encode(parameters(SMALL)),
        "plain_with_format_pt": lstmkit_file.encode(
            parameters(SMALL), {"format": "pt"}, checksum=False),
        "checkpoint_adam_in_run": checkpoint(SMALL, "adam", 3, True),
        "checkpoint_sgd_between_runs": checkpoint(SMALL, "sgd", 6, False),
        "checkpoint_before_first_step": checkpoint(SMALL, "adam", 0, False),
    }
    good = model(SMALL)
    broken = {
        "empty": b"",
        "shorter_than_length": b"\x05\x00\x00",
        "huge_header_length": raw("{}", length=1 << 40),
        "truncated_header": raw("{}", length=100),
        "not_json": raw("{\"a\":"),
        "json_array": raw("[1,2,3]"),
        "duplicate_key": raw('{"a":{"dtype":"F32","dtype":"F32"}}'),
        "deep_nesting": raw("[" * 64 + "]" * 64),
        "invalid_utf8": raw(b'{"\xff":1}'),
        "unknown_dtype": damaged(
            lambda h, d: h["bias_ih_l0"].update(dtype="F33")),
        "f16_dtype": damaged(lambda h, d: h["bias_ih_l0"].update(
            dtype="F16", shape=[16])),
        "negative_shape": damaged(
            lambda h, d: h["bias_ih_l0"].update(shape=[-8])),
        "shape_overflow": damaged(lambda h, d: h["bias_ih_l0"].update(
            shape=[1 << 32, 1 << 32, 1 << 32])),
        "offsets_past_end": damaged(lambda h, d: h["head.bias"].update(
            data_offsets=[10000, 10004])),
        "offsets_reversed": damaged(lambda h, d: h["head.bias"].update(
            data_offsets=[h["head.bias"]["data_offsets"][1],
                          h["head.bias"]["data_offsets"][0]])),
        "overlapping_offsets": damaged(lambda h, d: h["bias_hh_l0"].update(
            data_offsets=h["bias_ih_l0"]["data_offsets"])),
        "trailing_bytes": damaged(lambda h, d: d + b"\0\0\0\0"),
        "shape_mismatch": lstmkit_file.encode(
            [(n, t, [8, 3] if n == "weight_hh_l0" else s,
              floats(24) if n == "weight_hh_l0" else b)
             for n, t, s, b in parameters(SMALL)],
            lstmkit_file.model_metadata(SMALL)),
        "missing_tensor": lstmkit_file.encode(
            parameters(SMALL)[:-1], lstmkit_file.model_metadata(SMALL)),
        "unknown_tensor": lstmkit_file.encode(
            parameters(SMALL) + [("embedding.weight", "F32", [2], floats(2))],
            lstmkit_file.model_metadata(SMALL)),
        "prefixed_names": lstmkit_file.encode(
            parameters(SMALL, prefix="lstm.")),
        "bidirectional_missing_reverse": lstmkit_file.encode(
            parameters(SMALL) + [("weight_ih_l0_reverse", "F32", [8, 2],
                                  floats(16))]),
        "checksum_mismatch": good[:-1] + bytes([good[-1] ^ 1]),
        "bad_checksum_text": damaged(lambda h, d: h["__metadata__"].update(
            {"lstmkit.checksum": "crc32:XYZ"})),
        "future_version": with_metadata("lstmkit.format_version", "3"),
        "no_version": with_metadata("lstmkit.format_version", None),
        "bad_hidden_size": with_metadata("lstmkit.hidden_size", "two"),
        "unknown_lstmkit_key": with_metadata("lstmkit.colour", "blue"),
        "softmax_without_head": lstmkit_file.encode(
            parameters(no_head), dict(lstmkit_file.model_metadata(no_head),
                                      **{"lstmkit.output_activation":
                                         "softmax"})),
        "metadata_not_string": damaged(
            lambda h, d: h["__metadata__"].update(note=5)),
        "checkpoint_order_not_permutation": checkpoint(
            SMALL, "adam", 3, True, order=[0, 0, 1, 2]),
        "checkpoint_missing_moment": checkpoint(
            SMALL, "adam", 3, True, drop="optimizer.second.head.bias"),
        "checkpoint_position_past_end": checkpoint(
            SMALL, "sgd", 3, True, next_batch=9),
        "checkpoint_bad_trainer_json": damaged(
            lambda h, d: h["__metadata__"].update(
                {"lstmkit.trainer": "{\"batch_size\":"}),
            checkpoint(SMALL, "sgd", 6, False)),
    }
    # The nn.LSTM options, drawn last so that the files above keep their
    # bytes.
    valid.update({
        "model_bidirectional_projected_options": model(options),
        "model_bidirectional_bf16": model(bidirectional, "BF16"),
        "plain_bidirectional_projected": lstmkit_file.encode(
            parameters(dict(options, dropout=0.0, batch_first=False))),
        "plain_projected_no_head": lstmkit_file.encode(
            parameters(dict(projected, output_size=0))),
        "checkpoint_bidirectional_projected": checkpoint(
            options, "adam", 2, True),
    })
    broken.update({
        "reverse_tensors_not_in_config": lstmkit_file.encode(
            parameters(bidirectional),
            lstmkit_file.model_metadata(SMALL)),
        "projection_not_in_config": lstmkit_file.encode(
            parameters(projected),
            lstmkit_file.model_metadata(dict(projected, proj_size=0))),
        "projection_shape_mismatch": lstmkit_file.encode(
            [(n, t, [2, 3] if n == "weight_hr_l1" else s,
              floats(6) if n == "weight_hr_l1" else b)
             for n, t, s, b in parameters(projected)],
            lstmkit_file.model_metadata(projected)),
        "plain_projection_without_layer_0": lstmkit_file.encode(
            [t for t in parameters(projected) if t[0] != "weight_hr_l0"]),
        "proj_size_not_below_hidden": with_metadata(
            "lstmkit.proj_size", "3", config=dict(SMALL, hidden_size=3),
            version="2"),
        "bad_bidirectional_text": with_metadata(
            "lstmkit.bidirectional", "yes", version="2"),
        "bad_dropout_text": with_metadata("lstmkit.dropout", "0.5x",
                                          version="2"),
        "dropout_out_of_range": with_metadata("lstmkit.dropout", "1",
                                              version="2"),
        "bad_batch_first_text": with_metadata("lstmkit.batch_first", "1",
                                              version="2"),
        "option_in_version_1": with_metadata("lstmkit.batch_first", "true"),
    })
    return valid, broken


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for name in os.listdir(OUT_DIR):
        os.unlink(os.path.join(OUT_DIR, name))
    valid, broken = corpus()
    for prefix, files in (("valid_", valid), ("broken_", broken)):
        for name, blob in files.items():
            with open(os.path.join(OUT_DIR, prefix + name), "wb") as f:
                f.write(blob)
    print("%s: %d valid and %d broken files" % (
        os.path.relpath(OUT_DIR), len(valid), len(broken)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
