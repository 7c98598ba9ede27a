"""`nasbench proxies|spaces|datasets --json`: the registries as JSON, the same entries as the text."""

from __future__ import annotations

import json

from click.testing import CliRunner

from nasbench_cli.cli import main
from nasbench_cli.datasets import DATASETS
from nasbench_cli.proxies import PROXIES, PROXY_GROUPS
from nasbench_cli.spaces import SPACES


def _json(command: str):
    result = CliRunner().invoke(main, [command, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_proxies_json_lists_every_proxy_and_group_with_its_conditions():
    records = {r["name"]: r for r in _json("proxies")}
    assert set(records) == set(PROXIES.names()) | set(PROXY_GROUPS.names())
    assert records["ntk"]["direction"] == "min" and records["synflow"]["bn"] is False
    assert records["az_nas"]["kind"] == "group" and records["az_nas"]["aggregate"] == "log-rank"
    assert len(records["az_nas"]["members"]) == 4


def test_spaces_and_datasets_json_match_the_registries_and_the_text():
    spaces = _json("spaces")
    assert [r["name"] for r in spaces] == SPACES.names()
    text = CliRunner().invoke(main, ["spaces"]).output.splitlines()
    assert [line.split()[0] for line in text] == SPACES.names()
    datasets = {r["name"]: r for r in _json("datasets")}
    assert set(datasets) == set(DATASETS.names())
    assert datasets["cifar100"]["num_classes"] == 100 and datasets["ImageNet16-120"]["image_size"] == 16
