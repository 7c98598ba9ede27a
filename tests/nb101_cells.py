"""NB101 cells shared by the NB101 tests: the Inception-like cell of the official README."""

from nasbench_cli.nb101.spec import CONV1X1, CONV3X3, MAXPOOL3X3

README_MATRIX = [
    [0, 1, 1, 1, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
README_OPS = ["input", CONV1X1, CONV3X3, CONV3X3, CONV3X3, MAXPOOL3X3, "output"]
#: its module hash in the benchmark
README_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"
