"""NB101 ``ModelMetrics`` records: a small proto2 wire-format decoder (and encoder, for tests).

Schema (nasbench/lib/model_metrics.proto)::

    message ModelMetrics   { repeated EvaluationData evaluation_data = 1;
                             optional int32 trainable_parameters = 2; optional double total_time = 3; }
    message EvaluationData { optional double current_epoch = 1; optional double training_time = 2;
                             optional double train_accuracy = 3; optional double validation_accuracy = 4;
                             optional double test_accuracy = 5; optional string checkpoint_path = 6; }

Wire format: each field is a varint key ``field_number << 3 | wire_type`` followed by a varint
(type 0), 8 bytes (type 1), a varint length and that many bytes (type 2) or 4 bytes (type 5);
types 3/4 open and close a (deprecated) group. As in protobuf, unknown fields and fields whose
wire type does not match the schema are skipped, and the last occurrence of a scalar field wins.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import List, Tuple

_DOUBLE = struct.Struct("<d")
_EVAL_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy", 4: "validation_accuracy", 5: "test_accuracy"}
#: evaluation_data entries: [0] at initialisation, [1] halfway, [2] end of training
FINAL = 2


class ProtoError(ValueError):
    """The bytes are not a well-formed ModelMetrics message."""


@dataclass
class EvaluationData:
    current_epoch: float = 0.0
    training_time: float = 0.0
    train_accuracy: float = 0.0
    validation_accuracy: float = 0.0
    test_accuracy: float = 0.0
    checkpoint_path: str = ""


@dataclass
class ModelMetrics:
    evaluation_data: List[EvaluationData] = field(default_factory=list)
    trainable_parameters: int = 0
    total_time: float = 0.0


def _varint(buf: bytes, pos: int, end: int) -> Tuple[int, int]:
    """(value, next position) of the varint at ``pos``."""
    value = shift = 0
    while True:
        if pos >= end:
            raise ProtoError("message ends inside a varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift >= 70:
            raise ProtoError("varint longer than 10 bytes")


def _fields(buf: bytes, pos: int, end: int):
    """Yield (field number, wire type, value) up to ``end``; value is the integer of a varint,
    else the (start, stop) positions of the field's bytes. Groups are skipped."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos, end)
            yield number, wire, value
        elif wire == 3:
            pos = _skip_group(buf, pos, end, number)
        else:
            stop = _skip_value(buf, pos, end, wire, number)
            if wire == 2:
                pos = _varint(buf, pos, end)[1]
            yield number, wire, (pos, stop)
            pos = stop


def _skip_value(buf: bytes, pos: int, end: int, wire: int, number: int) -> int:
    """Position after the value (of wire type ``wire``) starting at ``pos``."""
    if wire == 0:
        return _varint(buf, pos, end)[1]
    if wire == 1:
        stop = pos + 8
    elif wire == 5:
        stop = pos + 4
    elif wire == 2:
        length, pos = _varint(buf, pos, end)
        stop = pos + length
    elif wire == 3:
        return _skip_group(buf, pos, end, number)
    else:
        raise ProtoError(f"invalid wire type {wire} for field {number}")
    if stop > end:
        raise ProtoError(f"field {number} runs {stop - end} byte(s) past the end of its message")
    return stop


def _skip_group(buf: bytes, pos: int, end: int, number: int) -> int:
    """Position after the end-group key that closes group ``number``."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        if key & 7 == 4:
            if key >> 3 != number:
                raise ProtoError(f"group {number} closed by end-group of field {key >> 3}")
            return pos
        pos = _skip_value(buf, pos, end, key & 7, key >> 3)
    raise ProtoError(f"group {number} is not terminated")


def _int32(value: int) -> int:
    """A varint read as int32 (negative values are sign-extended to 64 bits on the wire)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _decode_evaluation(buf: bytes, start: int, stop: int) -> EvaluationData:
    data = EvaluationData()
    for number, wire, value in _fields(buf, start, stop):
        if wire == 1 and number in _EVAL_FIELDS:
            setattr(data, _EVAL_FIELDS[number], _DOUBLE.unpack_from(buf, value[0])[0])
        elif wire == 2 and number == 6:
            try:
                data.checkpoint_path = bytes(buf[value[0] : value[1]]).decode("utf-8")
            except UnicodeDecodeError:
                raise ProtoError("checkpoint_path is not UTF-8") from None
    return data


def decode_model_metrics(buf: bytes) -> ModelMetrics:
    """Decode a serialized ModelMetrics; ProtoError says what is malformed."""
    metrics = ModelMetrics()
    for number, wire, value in _fields(buf, 0, len(buf)):
        if number == 1 and wire == 2:
            metrics.evaluation_data.append(_decode_evaluation(buf, *value))
        elif number == 2 and wire == 0:
            metrics.trainable_parameters = _int32(value)
        elif number == 3 and wire == 1:
            metrics.total_time = _DOUBLE.unpack_from(buf, value[0])[0]
    return metrics


# The benchmark's writer emits every field in number order with no checkpoint path, so nearly
# every record has this exact byte layout: three 47-byte EvaluationData entries (5 doubles),
# the parameter varint, the total time. Matching it with one regex lets the reader skip the
# field walk; anything else goes through the general decoder.
_CANONICAL = re.compile(
    rb"(?:\x0a\x2d\x09.{8}\x11.{8}\x19.{8}\x21.{8}\x29.{8}){3}\x10([\x80-\xff]{0,9}[\x00-\x7f])\x19.{8}",
    re.DOTALL,
)
_FINAL_OFFSET = 47 * FINAL


def final_metrics(buf: bytes) -> Tuple[int, float, float, float]:
    """(trainable_parameters, final training_time, validation_accuracy, test_accuracy).

    "Final" is ``evaluation_data[2]``, as in the benchmark's API. ProtoError when malformed or
    when fewer than three evaluations are present.
    """
    match = _CANONICAL.fullmatch(buf)
    if match is not None:
        time, valid, test = _final_struct(buf)
        varint = match.group(1)
        params = varint[0] if len(varint) == 1 else _varint(varint, 0, len(varint))[0]
        return _int32(params), time, valid, test
    metrics = decode_model_metrics(buf)
    if len(metrics.evaluation_data) <= FINAL:
        raise ProtoError(f"only {len(metrics.evaluation_data)} evaluation entries; the final one is entry {FINAL}")
    final = metrics.evaluation_data[FINAL]
    return metrics.trainable_parameters, final.training_time, final.validation_accuracy, final.test_accuracy


def _final_struct(buf: bytes) -> Tuple[float, float, float]:
    # entry layout: key 0x0a, length 0x2d, then (key, double) x 5; training_time is the 2nd double
    t = _DOUBLE.unpack_from(buf, _FINAL_OFFSET + 2 + 9 + 1)[0]
    v = _DOUBLE.unpack_from(buf, _FINAL_OFFSET + 2 + 27 + 1)[0]
    a = _DOUBLE.unpack_from(buf, _FINAL_OFFSET + 2 + 36 + 1)[0]
    return t, v, a


# ----------------------------------------------------------------------------- encoding


def _put_varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32 -> 10-byte two's complement, as protobuf writes it
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_evaluation(data: EvaluationData) -> bytes:
    """Serialized EvaluationData (every field written, path only when non-empty)."""
    out = bytearray()
    for number, name in _EVAL_FIELDS.items():
        out += bytes([number << 3 | 1]) + _DOUBLE.pack(getattr(data, name))
    if data.checkpoint_path:
        path = data.checkpoint_path.encode("utf-8")
        out += b"\x32" + _put_varint(len(path)) + path
    return bytes(out)


def encode_model_metrics(metrics: ModelMetrics) -> bytes:
    """Serialized ModelMetrics, fields in number order as protobuf writes them."""
    out = bytearray()
    for data in metrics.evaluation_data:
        body = encode_evaluation(data)
        out += b"\x0a" + _put_varint(len(body)) + body
    out += b"\x10" + _put_varint(metrics.trainable_parameters)
    out += b"\x19" + _DOUBLE.pack(metrics.total_time)
    return bytes(out)

