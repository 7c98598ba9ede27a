"""NB101 tfrecord reading: framing and CRCs, JSON payloads, ModelMetrics protos, aggregation,
damaged files, the compact table and the space built on it.

Files are written here in the official format. The framing and CRC32C used to write them are
re-implemented in this file (bitwise, checked against the CRC-32C check value) rather than
taken from the code under test.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasbench_cli.errors import DataCorruptError, DataMissingError, InvalidArchError
from nasbench_cli.nb101 import tfrecord
from nasbench_cli.nb101.metrics import (
    ProtoError,
    decode_model_metrics,
    encode_model_metrics,
    final_metrics,
)
from nasbench_cli.nb101.reader import convert_nb101_tfrecord, load_nb101_table, read_nb101_tfrecord
from nasbench_cli.nb101.spec import CONV1X1, CONV3X3, MAXPOOL3X3, ModelSpec
from nasbench_cli.spaces.nb101 import NB101Space

# ------------------------------------------------------------------ an independent writer


def _crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    crc = _crc32c_bitwise(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _frame(payload: bytes) -> bytes:
    length = struct.pack("<Q", len(payload))
    return length + struct.pack("<I", _masked(length)) + payload + struct.pack("<I", _masked(payload))


def _double(field: int, value: float) -> bytes:
    return bytes([field << 3 | 1]) + struct.pack("<d", value)


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _metrics_bytes(params: int, finals, path: str = "") -> bytes:
    """ModelMetrics written field by field from the schema: init, halfway, final evaluations."""
    out = b""
    for epoch, (time, valid, test) in zip((0.0, 54.0, 108.0), [(0.0, 0.1, 0.1), (finals[0] / 2, 0.5, 0.5), finals]):
        body = _double(1, epoch) + _double(2, time) + _double(3, 0.9) + _double(4, valid) + _double(5, test)
        if path:
            body += b"\x32" + _varint(len(path)) + path.encode()
        out += b"\x0a" + _varint(len(body)) + body
    return out + b"\x10" + _varint(params) + _double(3, 1234.5)


def _payload(spec: ModelSpec, epochs: int, metrics: bytes, separators=(", ", ": ")) -> bytes:
    bits, ops = spec.arch_str.split("|")
    item = [spec.hash, epochs, bits, ops, base64.b64encode(metrics).decode()]
    return json.dumps(item, separators=separators).encode()


def _spec(k: int) -> ModelSpec:
    """A few distinct valid specs."""
    ops = [CONV3X3, CONV1X1, MAXPOOL3X3]
    return ModelSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                     ["input", ops[k % 3], ops[(k // 3) % 3], "output"])


# three repeats of two modules at 108 epochs, one module also at 4 epochs:
# (spec index, epochs, params, (final time, valid, test))
RECORDS = [
    (0, 108, 1000, (100.0, 0.90, 0.91)),
    (0, 108, 1000, (110.0, 0.92, 0.89)),
    (0, 108, 1000, (120.0, 0.94, 0.90)),
    (1, 108, 2000, (200.0, 0.80, 0.81)),
    (1, 108, 2000, (210.0, 0.70, 0.71)),
    (1, 108, 2000, (220.0, 0.60, 0.61)),
    (1, 4, 2000, (20.0, 0.50, 0.40)),
]


def _write(path: Path, payloads) -> list:
    """Write framed payloads; returns the byte offset of each record."""
    offsets, data = [], b""
    for payload in payloads:
        offsets.append(len(data))
        data += _frame(payload)
    path.write_bytes(data)
    return offsets


def _good_payloads():
    return [_payload(_spec(k), e, _metrics_bytes(p, f)) for k, e, p, f in RECORDS]


# ------------------------------------------------------------------ CRC and framing


def test_crc32c_check_values():
    assert _crc32c_bitwise(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert tfrecord.crc32c(b"123456789") == 0xE3069283
    assert tfrecord.crc32c_python(b"123456789") == 0xE3069283
    data = bytes(range(256)) * 3
    assert tfrecord.crc32c_python(data) == _crc32c_bitwise(data) == tfrecord.crc32c(data)
    assert tfrecord.frame(b"payload") == _frame(b"payload")


@pytest.mark.parametrize("chunk_size", [5, 64, 1 << 20])
def test_iter_records_across_chunk_boundaries(tmp_path, chunk_size):
    payloads = [b"", b"x" * 100, b"abc", b"y" * 7]
    offsets = _write(tmp_path / "r.tfrecord", payloads)
    got = [(o, bytes(p)) for o, p in tfrecord.iter_records(tmp_path / "r.tfrecord", chunk_size=chunk_size)]
    assert got == list(zip(offsets, payloads))


# ------------------------------------------------------------------ ModelMetrics


def test_metrics_decoder_reads_schema_fields():
    raw = _metrics_bytes(2_694_282, (3000.0, 0.93, 0.925), path="gs://bucket/model.ckpt-1")
    metrics = decode_model_metrics(raw)
    assert metrics.trainable_parameters == 2_694_282 and metrics.total_time == 1234.5
    assert [e.current_epoch for e in metrics.evaluation_data] == [0.0, 54.0, 108.0]
    final = metrics.evaluation_data[2]
    assert (final.training_time, final.validation_accuracy, final.test_accuracy) == (3000.0, 0.93, 0.925)
    assert final.train_accuracy == 0.9 and final.checkpoint_path == "gs://bucket/model.ckpt-1"
    assert final_metrics(raw) == (2_694_282, 3000.0, 0.93, 0.925)
    assert encode_model_metrics(metrics) == raw  # encoder writes the same bytes
    assert decode_model_metrics(encode_model_metrics(metrics)) == metrics


def test_metrics_decoder_skips_unknown_fields_and_handles_negative_int32():
    raw = _metrics_bytes(7, (1.0, 0.5, 0.25))
    extra = b"\x38\x05" + b"\x42\x03abc" + b"\x4d\x00\x00\x80\x3f" + b"\x53\x08\x01\x54"  # varint, bytes, fixed32, group
    metrics = decode_model_metrics(extra + raw)
    assert metrics.trainable_parameters == 7
    assert final_metrics(extra + raw) == (7, 1.0, 0.5, 0.25)
    negative = b"\x10" + _varint(-5)
    assert decode_model_metrics(negative).trainable_parameters == -5
    # a later scalar wins, as in protobuf
    assert final_metrics(raw + b"\x10" + _varint(9))[0] == 9


def test_final_metrics_reads_entries_in_any_field_order():
    body = _double(5, 0.7) + _double(4, 0.6) + _double(2, 42.0)
    entry = b"\x0a" + bytes([len(body)]) + body
    raw = b"\x10\x03" + entry * 2 + entry
    assert final_metrics(raw) == (3, 42.0, 0.6, 0.7)


@pytest.mark.parametrize("raw, message", [
    (b"\x0a\x05\x09\x00", "past the end"),
    (b"\x10\xff", "inside a varint"),
    (b"\x0f", "invalid wire type"),
    (b"\x00\x01", "field number 0"),
])
def test_metrics_decoder_rejects_malformed_bytes(raw, message):
    with pytest.raises(ProtoError, match=message):
        decode_model_metrics(raw)


def test_final_metrics_needs_three_evaluations():
    body = _double(2, 1.0)
    with pytest.raises(ProtoError, match="only 2 evaluation entries"):
        final_metrics((b"\x0a" + bytes([len(body)]) + body) * 2 + b"\x10\x01")


# ------------------------------------------------------------------ the reader


def test_reader_aggregates_repeats_per_epoch_budget(tmp_path):
    path = tmp_path / "nasbench_only108.tfrecord"
    _write(path, _good_payloads())
    table = read_nb101_tfrecord(path, progress=False)
    h0, h1 = _spec(0).hash, _spec(1).hash
    assert list(table.index) == sorted([h0, h1]) and list(table["arch_index"]) == list(table.index)
    assert table.loc[h0, "arch"] == _spec(0).arch_str
    assert table.loc[h0, "cifar10/test@108"] == pytest.approx(90.0)  # mean of .91 .89 .90, in %
    assert table.loc[h0, "cifar10/test-max@108"] == pytest.approx(91.0)
    assert table.loc[h0, "cifar10/valid@108"] == pytest.approx(92.0)
    assert table.loc[h0, "cifar10/valid-max@108"] == pytest.approx(94.0)
    assert table.loc[h0, "train_time@108"] == pytest.approx(110.0)
    assert table.loc[h1, "cifar10/test@108"] == pytest.approx(71.0)
    assert table.loc[h1, "cifar10/test-max@108"] == pytest.approx(81.0)
    assert table.loc[h1, "cifar10/valid-max@4"] == pytest.approx(50.0)
    assert table.loc[h1, "cifar10/test@4"] == pytest.approx(40.0)
    assert np.isnan(table.loc[h0, "cifar10/test@4"])  # module 0 has no 4-epoch record
    assert table.loc[h0, "params"] == 1000 and table.loc[h1, "params"] == 2000
    assert [c for c in table.columns if c.endswith("@4")] == [
        "cifar10/test@4", "cifar10/test-max@4", "cifar10/valid@4", "cifar10/valid-max@4", "train_time@4"]


def test_reader_matches_a_naive_aggregation_over_many_flushes(tmp_path, monkeypatch):
    import nasbench_cli.nb101.reader as reader

    monkeypatch.setattr(reader, "FLUSH_EVERY", 7)  # exercise the batched folding and array growth
    rng = np.random.default_rng(0)
    specs = [_spec(k) for k in range(9)]
    records = [(int(rng.integers(9)), int(rng.choice([12, 108])), rng.uniform(0, 1, 3)) for _ in range(200)]
    payloads = [_payload(specs[k], e, _metrics_bytes(k * 10, (t * 100, v, a))) for k, e, (t, v, a) in records]
    path = tmp_path / "many.tfrecord"
    _write(path, payloads)
    table = read_nb101_tfrecord(path, progress=False)
    frame = pd.DataFrame([(specs[k].hash, e, t * 100, v * 100, a * 100) for k, e, (t, v, a) in records],
                         columns=["hash", "epochs", "time", "valid", "test"])
    for (module_hash, epochs), group in frame.groupby(["hash", "epochs"]):
        row = table.loc[module_hash]
        assert row[f"cifar10/test@{epochs}"] == pytest.approx(group["test"].mean())
        assert row[f"cifar10/test-max@{epochs}"] == pytest.approx(group["test"].max())
        assert row[f"cifar10/valid@{epochs}"] == pytest.approx(group["valid"].mean())
        assert row[f"cifar10/valid-max@{epochs}"] == pytest.approx(group["valid"].max())
        assert row[f"train_time@{epochs}"] == pytest.approx(group["time"].mean())
    assert len(table) == frame["hash"].nunique()


def test_reader_accepts_other_json_spacing_and_metrics_layouts(tmp_path):
    plain = tmp_path / "plain.tfrecord"
    _write(plain, _good_payloads())
    other = tmp_path / "other.tfrecord"
    _write(other, [_payload(_spec(k), e, _metrics_bytes(p, f, path="/ckpt/model.ckpt-9"), separators=(",", ":"))
                   for k, e, p, f in RECORDS])
    pd.testing.assert_frame_equal(read_nb101_tfrecord(plain, progress=False), read_nb101_tfrecord(other, progress=False))


def _damaged(tmp_path: Path, index: int, payload: bytes = None):
    """The good file with record ``index`` replaced; returns its path and that record's offset."""
    payloads = _good_payloads()
    if payload is not None:
        payloads[index] = payload
    offsets = _write(tmp_path / "bad.tfrecord", payloads)
    return tmp_path / "bad.tfrecord", offsets[index]


def test_bad_payload_crc(tmp_path):
    path, offset = _damaged(tmp_path, 3)
    data = bytearray(path.read_bytes())
    data[offset + 12 + 5] ^= 0x01  # flip a bit inside record 3's payload
    path.write_bytes(bytes(data))
    with pytest.raises(DataCorruptError, match=rf"bad\.tfrecord: record at byte offset {offset}: payload .* CRC"):
        read_nb101_tfrecord(path, progress=False)


def test_bad_length_crc(tmp_path):
    path, offset = _damaged(tmp_path, 2)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40  # the length field
    path.write_bytes(bytes(data))
    with pytest.raises(DataCorruptError, match=rf"bad\.tfrecord: record at byte offset {offset}: length field"):
        read_nb101_tfrecord(path, progress=False)


@pytest.mark.parametrize("cut", [3, 12, 40])
def test_truncated_file(tmp_path, cut):
    path, offset = _damaged(tmp_path, len(RECORDS) - 1)
    data = path.read_bytes()
    path.write_bytes(data[: offset + cut])
    with pytest.raises(DataCorruptError, match=rf"bad\.tfrecord: truncated record at byte offset {offset}"):
        read_nb101_tfrecord(path, progress=False)


def test_bad_json(tmp_path):
    path, offset = _damaged(tmp_path, 4, payload=b'["abc", 108, "0100"')
    with pytest.raises(DataCorruptError, match=rf"bad\.tfrecord: record at byte offset {offset}: payload is not valid JSON"):
        read_nb101_tfrecord(path, progress=False)


def test_json_of_the_wrong_shape(tmp_path):
    path, offset = _damaged(tmp_path, 1, payload=b'{"hash": 1}')
    with pytest.raises(DataCorruptError, match=rf"byte offset {offset}: payload must be a JSON list"):
        read_nb101_tfrecord(path, progress=False)


def test_bad_base64(tmp_path):
    good = json.loads(_good_payloads()[5])
    good[4] = good[4][:-3] + "!!="
    path, offset = _damaged(tmp_path, 5, payload=json.dumps(good).encode())
    with pytest.raises(DataCorruptError, match=rf"bad\.tfrecord: record at byte offset {offset}: metrics field is not valid base64"):
        read_nb101_tfrecord(path, progress=False)


def test_bad_proto(tmp_path):
    good = json.loads(_good_payloads()[0])
    good[4] = base64.b64encode(base64.b64decode(good[4])[:-4]).decode()  # cut inside total_time
    path, offset = _damaged(tmp_path, 0, payload=json.dumps(good).encode())
    assert offset == 0
    with pytest.raises(DataCorruptError, match=r"bad\.tfrecord: record at byte offset 0: metrics are not a ModelMetrics"):
        read_nb101_tfrecord(path, progress=False)


def test_adjacency_that_does_not_fit_the_operations(tmp_path):
    good = json.loads(_good_payloads()[0])
    good[2] = good[2] + "0"
    path, offset = _damaged(tmp_path, 0, payload=json.dumps(good).encode())
    with pytest.raises(DataCorruptError, match="adjacency has 17 bits but 4 operations need 16"):
        read_nb101_tfrecord(path, progress=False)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataMissingError, match=r"nope\.tfrecord.*storage\.googleapis\.com/nasbench"):
        read_nb101_tfrecord(tmp_path / "nope.tfrecord", progress=False)
    (tmp_path / "empty.tfrecord").write_bytes(b"")
    with pytest.raises(DataCorruptError, match="no records"):
        read_nb101_tfrecord(tmp_path / "empty.tfrecord", progress=False)


# ------------------------------------------------------------------ compact table and the space


def _table_dir(tmp_path: Path) -> Path:
    """A data dir whose NB101 table holds the README cell and all its valid single-edit neighbours."""
    readme = ModelSpec(
        [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
         [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
        ["input", CONV1X1, CONV3X3, CONV3X3, CONV3X3, MAXPOOL3X3, "output"],
    )
    specs = {readme.hash: readme}
    edits = [(i, j, None) for i in range(7) for j in range(i + 1, 7)]
    edits += [(v, None, op) for v in range(1, 6) for op in (CONV3X3, CONV1X1, MAXPOOL3X3)]
    for i, j, op in edits:
        matrix, ops = readme.matrix.copy(), list(readme.ops)
        if op is None:
            matrix[i, j] ^= 1
        else:
            ops[i] = op
        try:
            spec = ModelSpec(matrix, ops)
        except InvalidArchError:
            continue
        specs.setdefault(spec.hash, spec)
    payloads = [_payload(s, 108, _metrics_bytes(100 + n, (1.0, 0.5, 0.5 + n / 1000)))
                for n, s in enumerate(specs.values()) for _ in range(3)]
    _write(tmp_path / "nasbench_only108.tfrecord", payloads)
    convert_nb101_tfrecord(tmp_path / "nasbench_only108.tfrecord", tmp_path / "data" / "nb101" / "ground_truth.csv",
                           progress=False)
    return tmp_path / "data"


def test_compact_table_round_trip_and_space_over_it(tmp_path):
    data_dir = _table_dir(tmp_path)
    csv_path = data_dir / "nb101" / "ground_truth.csv"
    table = load_nb101_table(csv_path)
    assert list(table.columns[:2]) == ["arch_index", "arch"] and list(table.index) == sorted(table.index)
    space = NB101Space(data_dir)
    assert len(space) == len(table) > 5 and "sorted by module hash" in space.index_order
    readme_hash = "28cfc7874f6d200472e1a9dcd8650aa0"
    row = space.index_of(readme_hash)
    assert space.hash_of(row) == readme_hash and space.index_of(space.arch_str(row)) == row
    for index in range(len(space)):
        assert space.spec(index).hash == space.hash_of(index)  # stored specs hash to their key
    rng = np.random.default_rng(0)
    assert sorted(space.sample(rng, len(space))) == list(range(len(space)))
    children = {space.mutate(row, rng) for _ in range(30)}
    assert row not in children and children <= set(range(len(space))) and len(children) > 1
    with pytest.raises(InvalidArchError, match="is not in"):
        space.index_of("0" * 32)
    net = space.build(row, num_classes=1, stem_channels=8, init="naswot")
    assert net.classifier.out_features == 1


def test_corrupt_table_is_reported(tmp_path):
    path = tmp_path / "nb101" / "ground_truth.csv"
    path.parent.mkdir(parents=True)
    path.write_text("arch,params\n0100|input|output,5\n")
    with pytest.raises(DataCorruptError, match="lacks column"):
        NB101Space(tmp_path)
    # a row longer than the header is refused by the checked reader (pandas made the extra cell an index)
    path.write_text("arch,params\n0100|input,output,5\n")
    with pytest.raises(DataCorruptError, match="line 2 has 3 cells, the header 2"):
        NB101Space(tmp_path)


def test_pure_python_crc_fallback_reads_the_same(tmp_path, monkeypatch):
    path = tmp_path / "nasbench_only108.tfrecord"
    _write(path, _good_payloads())
    fast = read_nb101_tfrecord(path, progress=False)
    monkeypatch.setattr(tfrecord, "crc32c", tfrecord.crc32c_python)
    pd.testing.assert_frame_equal(read_nb101_tfrecord(path, progress=False), fast)


@pytest.mark.parametrize("payload, fragment", [(b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
                                               (b'["abc", ' + b"9" * 5000 + b', "0", "a", "b"]', "not valid JSON"),
                                               (b'["abc", 10000000000000000000000, "0", "a", "b"]', "epochs must be")])
def test_absurd_payloads_are_one_line_not_a_recursion_or_overflow(tmp_path, payload, fragment):
    path, offset = _damaged(tmp_path, 2, payload=payload)
    with pytest.raises(DataCorruptError, match=rf"byte offset {offset}: .*{fragment}"):
        read_nb101_tfrecord(path, progress=False)
