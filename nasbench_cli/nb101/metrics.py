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


_FINAL_ENTRY = struct.Struct("<BdBdBdBdBd")  # an EvaluationData with its 5 doubles in order
_FINAL_KEYS = (0x09, 0x11, 0x19, 0x21, 0x29)


def final_metrics(buf: bytes) -> Tuple[int, float, float, float]:
    """(trainable_parameters, final training_time, validation_accuracy, test_accuracy).

    "Final" is ``evaluation_data[2]``, as in the benchmark's API. ProtoError when malformed or
    when fewer than three evaluations are present.

    This is the reader's per-record hot path: it walks the top level inline for the common case
    (one-byte keys and entry lengths) and decodes only the final entry, with one struct call when
    it holds the usual five doubles (entries 0 and 1 are skipped by their lengths, unread);
    anything unusual goes through the general decoder, which also produces the precise error.
    """
    n = len(buf)
    pos = entries = params = 0
    final = None
    try:
        while pos < n:
            key = buf[pos]
            if key == 0x0A:  # evaluation_data
                length = buf[pos + 1]
                if length >= 0x80:
                    return _final_general(buf)
                if entries == FINAL:
                    final = pos + 2
                entries += 1
                pos += 2 + length
            elif key == 0x10:  # trainable_parameters (varint)
                params, shift, pos = 0, 0, pos + 1
                while True:
                    byte = buf[pos]
                    pos += 1
                    params |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
                    if shift >= 70:
                        return _final_general(buf)
            elif key == 0x19:  # total_time
                pos += 9
            else:
                return _final_general(buf)
    except IndexError:
        return _final_general(buf)
    if pos != n or final is None:
        return _final_general(buf)
    if buf[final - 1] == 45:  # the usual 5-double entry: one struct call
        values = _FINAL_ENTRY.unpack_from(buf, final)
        if values[0::2] == _FINAL_KEYS:
            return _int32(params), values[3], values[7], values[9]
    data = _decode_evaluation(buf, final, final + buf[final - 1])
    return _int32(params), data.training_time, data.validation_accuracy, data.test_accuracy


def _final_general(buf: bytes) -> Tuple[int, float, float, float]:
    metrics = decode_model_metrics(buf)
    if len(metrics.evaluation_data) <= FINAL:
        raise ProtoError(f"only {len(metrics.evaluation_data)} evaluation entries; the final one is entry {FINAL}")
    final = metrics.evaluation_data[FINAL]
    return metrics.trainable_parameters, final.training_time, final.validation_accuracy, final.test_accuracy


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

