"""NB101 module specs: the official hash, pruning, validity rules, the space's codes and mutation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasbench_cli.errors import InvalidArchError
from nasbench_cli.nb101.spec import CONV1X1, CONV3X3, MAXPOOL3X3, ModelSpec, hash_module, parse_arch
from nasbench_cli.spaces.nb101 import NUM_CODES, SPEC_BASE, NB101Space, decode, encode

from nb101_cells import README_HASH, README_MATRIX, README_OPS


def readme_spec() -> ModelSpec:
    return ModelSpec(README_MATRIX, README_OPS)


def test_readme_cell_has_the_official_hash():
    assert readme_spec().hash == README_HASH


def test_hash_does_not_depend_on_integer_types():
    # numpy 2 prints np.int64(1) inside tuples: degrees must be Python ints in the hashed text
    for dtype in (np.int8, np.int32, np.int64, bool):
        assert ModelSpec(np.array(README_MATRIX, dtype=dtype), README_OPS).hash == README_HASH


def test_hash_is_invariant_under_vertex_permutation():
    spec = readme_spec()
    matrix, labels = spec.matrix, spec.labels
    rng = np.random.default_rng(0)
    for _ in range(10):
        perm = rng.permutation(len(labels))
        permuted = matrix[np.ix_(perm, perm)]
        assert hash_module(permuted, [labels[p] for p in perm]) == README_HASH


def test_relabelled_spec_in_topological_order_has_same_hash():
    # swap vertices 1 and 2 (both input -> v -> output), keeping the matrix upper-triangular
    perm = [0, 2, 1, 3, 4, 5, 6]
    matrix = np.array(README_MATRIX)[np.ix_(perm, perm)]
    ops = [README_OPS[p] for p in perm]
    other = ModelSpec(matrix, ops)
    assert other.arch_str != readme_spec().arch_str
    assert other.hash == README_HASH


def test_hash_changes_with_an_op_or_an_edge():
    ops = list(README_OPS)
    ops[5] = CONV3X3
    assert ModelSpec(README_MATRIX, ops).hash != README_HASH
    matrix = np.array(README_MATRIX)
    matrix[1, 6] = 0
    matrix[1, 2] = 1
    assert ModelSpec(matrix, README_OPS).hash != README_HASH


def test_pruning_drops_dangling_and_unreachable_vertices():
    # vertex 2 has no way to the output, vertex 3 is not reachable from the input
    matrix = np.zeros((6, 6), dtype=int)
    matrix[0, 1] = matrix[1, 5] = 1  # input -> 1 -> output
    matrix[0, 2] = 1  # input -> 2 (dead end)
    matrix[3, 4] = matrix[4, 5] = 1  # 3 -> 4 -> output, 3 has no input
    matrix[0, 4] = 1  # 4 is reachable: keeps vertex 4 but not 3
    ops = ["input", CONV3X3, MAXPOOL3X3, CONV1X1, CONV1X1, "output"]
    spec = ModelSpec(matrix, ops)
    assert spec.ops == ("input", CONV3X3, CONV1X1, "output")
    expected = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    np.testing.assert_array_equal(spec.matrix, expected)
    assert spec.hash == ModelSpec(expected, list(spec.ops)).hash
    np.testing.assert_array_equal(spec.original_matrix, matrix)


def test_pruning_happens_before_the_edge_limit():
    # 10 edges in the given graph, 9 after the dangling vertex 5 is pruned: valid, as in the benchmark
    matrix = np.zeros((7, 7), dtype=int)
    for i, j in [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (3, 4), (4, 6), (0, 6), (2, 6), (0, 5)]:
        matrix[i, j] = 1
    spec = ModelSpec(matrix, ["input"] + [CONV3X3] * 5 + ["output"])
    assert spec.num_vertices == 6 and spec.num_edges == 9


def test_input_wired_straight_to_output_is_valid():
    spec = ModelSpec([[0, 1], [0, 0]], ["input", "output"])
    assert spec.num_vertices == 2 and len(spec.hash) == 32


@pytest.mark.parametrize(
    "matrix, ops, message",
    [
        (np.zeros((3, 3)), ["input", CONV3X3, "output"], "no path from the input to the output"),
        ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", CONV3X3, "output"], "no path"),
        ([[0, 1], [1, 0]], ["input", "output"], "upper-triangular"),
        ([[0, 1, 1], [0, 0, 1]], ["input", CONV3X3, "output"], "square"),
        ([[0, 2], [0, 0]], ["input", "output"], "0 or 1"),
        ([[0, 1], [0, 0]], ["input", CONV3X3, "output"], "2 vertices in the adjacency but 3 operations"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [CONV3X3, CONV3X3, "output"], "must start with 'input'"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"], "unknown operation 'conv5x5'"),
        (np.triu(np.ones((8, 8), dtype=int), 1) * np.eye(8, k=1, dtype=int), ["input"] + [CONV3X3] * 6 + ["output"],
         "8 vertices"),
        (np.triu(np.ones((7, 7), dtype=int), 1), ["input"] + [CONV3X3] * 5 + ["output"], "21 edges"),
    ],
)
def test_invalid_specs_are_rejected_with_a_reason(matrix, ops, message):
    with pytest.raises(InvalidArchError, match=message):
        ModelSpec(matrix, ops)


def test_arch_string_round_trip_and_aliases():
    spec = readme_spec()
    text = spec.arch_str
    assert text.startswith("0111010" "0000001") and text.endswith("|input,conv1x1-bn-relu,conv3x3-bn-relu,"
                                                                   "conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3,output")
    assert ModelSpec.from_arch_str(text) == spec
    short = text.split("|")[0] + "|in,conv1x1,conv3x3,conv3x3,conv3x3,maxpool,out"
    assert ModelSpec.from_arch_str(short).hash == README_HASH


@pytest.mark.parametrize("text, message", [
    ("0100", "expected '<adjacency bits>"),
    ("010|input,output", "2 operations need 4 adjacency bits"),
    ("0120|input,output", "2 operations need 4"),
])
def test_malformed_arch_strings(text, message):
    with pytest.raises(InvalidArchError, match=message):
        parse_arch(text)


# ------------------------------------------------------------------ the space without a table


def test_codes_round_trip():
    rng = np.random.default_rng(1)
    for code in rng.integers(NUM_CODES, size=50):
        matrix, ops = decode(int(code))
        assert encode(matrix, ops) == code
    with pytest.raises(InvalidArchError, match="out of range"):
        decode(NUM_CODES)


def test_space_without_table_samples_distinct_valid_specs(tmp_path):
    space = NB101Space(tmp_path)  # no nb101/ground_truth.csv here
    assert len(space) == SPEC_BASE + NUM_CODES and "spec code" in space.index_order
    rng = np.random.default_rng(0)
    indices = space.sample(rng, 60)
    hashes = [space.hash_of(i) for i in indices]
    assert len(set(hashes)) == 60
    for index in indices:
        text = space.arch_str(index)
        assert index >= SPEC_BASE and space.index_of(text) == index  # canonical spec indices
        assert space.spec(index).hash == ModelSpec.from_arch_str(text).hash
    assert space.sample(np.random.default_rng(0), 60) == indices  # reproducible


def test_space_without_table_index_and_ref_handling(tmp_path):
    space = NB101Space(tmp_path)
    code = space.index_of(readme_spec().arch_str)
    assert space.hash_of(code) == README_HASH
    # an isomorphic relabelling parses to a different canonical code with the same hash
    perm = [0, 2, 1, 3, 4, 5, 6]
    other = ModelSpec(np.array(README_MATRIX)[np.ix_(perm, perm)], [README_OPS[p] for p in perm])
    assert space.hash_of(space.index_of(other.arch_str)) == README_HASH
    assert space.parse_ref(str(code)) == code
    with pytest.raises(InvalidArchError, match="not a valid spec"):
        space.parse_ref(str(SPEC_BASE))  # code 0: no edges at all
    with pytest.raises(InvalidArchError, match="data convert"):
        space.parse_ref("0")  # a row of the table, which is missing
    with pytest.raises(InvalidArchError, match="needs the benchmark table"):
        space.index_of(README_HASH)


def test_mutation_gives_a_valid_different_neighbour(tmp_path):
    space = NB101Space(tmp_path)
    rng = np.random.default_rng(3)
    for parent in space.sample(rng, 25) + [space.index_of(readme_spec().arch_str)]:
        child = space.mutate(parent, rng)
        a, b = space.spec(parent), space.spec(child)  # spec() raises if the child is invalid
        assert a.hash != b.hash
        assert space.index_of(b.arch_str) == child


def test_mutation_is_one_edit_away():
    # the README cell has 7 vertices (no padding): children are its single-edit neighbours
    neighbours = set()
    for i, j in itertools.combinations(range(7), 2):
        matrix = np.array(README_MATRIX)
        matrix[i, j] ^= 1
        neighbours.add(_hash_or_none(matrix, README_OPS))
    for v in range(1, 6):
        for op in (CONV3X3, CONV1X1, MAXPOOL3X3):
            neighbours.add(_hash_or_none(README_MATRIX, README_OPS[:v] + [op] + README_OPS[v + 1:]))
    neighbours -= {None, README_HASH}
    space = NB101Space(None)
    parent = space.index_of(readme_spec().arch_str)
    rng = np.random.default_rng(5)
    children = {space.hash_of(space.mutate(parent, rng)) for _ in range(60)}
    assert children <= neighbours
    assert len(children) > len(neighbours) // 2  # uniform over the neighbours, not stuck on one


def _hash_or_none(matrix, ops):
    try:
        return ModelSpec(matrix, ops).hash
    except InvalidArchError:
        return None
