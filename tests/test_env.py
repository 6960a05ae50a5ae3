import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from dorset_bcp.env import env_bool, load_dotenv


def test_it_reads_a_developers_env_file_without_overriding_real_variables(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\n\nBCP_TEST_A=1\nBCP_TEST_B='quoted value'\n")
    monkeypatch.setenv("BCP_TEST_A", "0")
    monkeypatch.delenv("BCP_TEST_B", raising=False)

    load_dotenv(env_file)

    assert env_bool("BCP_TEST_A") is False  # the real environment wins
    assert os.environ["BCP_TEST_B"] == "quoted value"
    monkeypatch.delenv("BCP_TEST_B")


def test_it_ignores_a_missing_env_file(tmp_path):
    load_dotenv(tmp_path / "absent")


def test_it_refuses_a_malformed_line_with_its_number(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("OK=1\nnot a setting\n")
    with pytest.raises(ImproperlyConfigured, match=":2: expected NAME=value"):
        load_dotenv(env_file)


def test_it_refuses_a_bad_boolean_loudly(monkeypatch):
    monkeypatch.setenv("BCP_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="BCP_TEST_FLAG must be one of"):
        env_bool("BCP_TEST_FLAG")
