"""docs/structured_envs.md's YAML presets build against the example env (its python and shell blocks
run in test_docs.py, like every page's)."""
import re
from pathlib import Path

import pytest
import yaml

from maze_cli.config_validation import instantiate_node
from maze_cli.envs import PackingEnv

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "structured_envs.md"
BLOCKS = re.findall(r"```(python|bash|yaml)\n(.*?)```", PAGE.read_text(), re.S)


def _blocks(kind):
    return [pytest.param(code, id=f"{kind}{index}") for index, (lang, code) in enumerate(BLOCKS) if lang == kind]


def test_page_has_examples_of_every_kind():
    assert {lang for lang, _ in BLOCKS} == {"python", "bash", "yaml"}


@pytest.mark.parametrize("code", _blocks("yaml"))
def test_yaml_presets_build_for_the_example_env(code):
    env = PackingEnv()
    node = yaml.safe_load(code)
    composer = instantiate_node(node, "policy", action_spaces_dict=env.action_spaces_dict,
                                observation_spaces_dict=env.observation_spaces_dict,
                                agent_counts_dict=env.agent_counts_dict)
    assert sorted(composer.policy.networks) == ["0", "1"]
