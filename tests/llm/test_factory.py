"""Provider selection and construction (no network, no server)."""

from __future__ import annotations

import pytest
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from recagents.llm.factory import configured_model_name, make_chat_model, resolve_provider
from recagents.llm.failures import LLMConfigError


@pytest.mark.parametrize(
    ("flag", "configured", "key", "expected"),
    [
        (None, "auto", None, "local"),  # nothing configured → embedded local model
        (None, "auto", "sk-test", "openai"),  # a key → OpenAI
        ("ollama", "auto", "sk-test", "ollama"),  # the explicit flag beats the key
        ("local", "openai", "sk-test", "local"),  # the flag beats the configured provider
        (None, "openai-compatible", None, "openai-compatible"),  # configured provider
        (None, "ollama", "sk-test", "ollama"),  # configured provider beats the key
        ("auto", "auto", "sk-test", "openai"),  # flag "auto" means: decide as usual
    ],
)
def test_provider_resolution(make_settings, flag, configured, key, expected):
    settings = make_settings(llm_provider=configured, openai_api_key=key)
    assert resolve_provider(settings, flag) == expected


def test_empty_key_does_not_select_openai(make_settings):
    assert resolve_provider(make_settings(openai_api_key="")) == "local"


def test_unknown_provider_names_the_setting(make_settings):
    with pytest.raises(LLMConfigError, match="RECAGENTS_LLM_PROVIDER"):
        resolve_provider(make_settings(), "anthropic")


def test_openai_handle(make_settings):
    handle = make_chat_model(make_settings(openai_api_key="sk-test", llm_timeout_s=7.0))
    assert handle.backend == "openai"
    assert handle.model == "gpt-4o-mini"
    assert isinstance(handle.chat_model, ChatOpenAI)
    assert handle.chat_model.request_timeout == 7.0
    assert handle.capabilities.native_tools and handle.capabilities.json_schema
    assert handle.usage in handle.chat_model.callbacks


def test_openai_without_key_is_a_clear_error(make_settings):
    with pytest.raises(LLMConfigError, match="RECAGENTS_OPENAI_API_KEY"):
        make_chat_model(make_settings(llm_provider="openai"))


def test_openai_compatible_handle(make_settings):
    settings = make_settings(
        llm_provider="openai-compatible",
        llm_base_url="http://127.0.0.1:8000/v1/",
        llm_model="qwen2.5-7b-instruct",
    )
    handle = make_chat_model(settings)
    assert handle.backend == "openai-compatible"
    assert handle.base_url == "http://127.0.0.1:8000/v1"
    assert handle.chat_model.model_name == "qwen2.5-7b-instruct"
    assert not handle.capabilities.native_tools  # unknown server: plan-then-execute
    assert handle.capabilities.json_schema


def test_openai_compatible_needs_url_and_model(make_settings):
    with pytest.raises(LLMConfigError, match="RECAGENTS_LLM_BASE_URL"):
        make_chat_model(make_settings(llm_provider="openai-compatible", llm_model="m"))
    with pytest.raises(LLMConfigError, match="RECAGENTS_LLM_MODEL"):
        make_chat_model(
            make_settings(llm_provider="openai-compatible", llm_base_url="http://h:1/v1")
        )


def test_ollama_handle_and_model_override(make_settings):
    settings = make_settings(ollama_base_url="http://127.0.0.1:11434/", ollama_num_ctx=4096)
    handle = make_chat_model(settings, provider="ollama")
    assert isinstance(handle.chat_model, ChatOllama)
    assert handle.model == "qwen2.5:7b"
    assert handle.chat_model.num_ctx == 4096
    assert handle.capabilities.context_tokens == 4096
    assert handle.transport_retries == settings.llm_max_retries
    assert make_chat_model(settings, provider="ollama", model="llama3.1:8b").model == "llama3.1:8b"


def test_ollama_model_comes_from_its_own_setting_or_the_flag(make_settings):
    # A .env written for OpenAI (RECAGENTS_LLM_MODEL) must not override the Ollama model, and
    # an explicit flag (--self_host --model X) wins over everything.
    settings = make_settings(llm_model="gpt-4o", ollama_model="qwen2.5:7b")
    assert configured_model_name(settings, "ollama") == "qwen2.5:7b"
    assert make_chat_model(settings, provider="ollama").model == "qwen2.5:7b"
    flagged = make_chat_model(settings, provider="ollama", model="llama3.1:8b")
    assert flagged.model == flagged.chat_model.model == "llama3.1:8b"
    assert configured_model_name(settings, "openai") == "gpt-4o"  # still used where it belongs
    assert configured_model_name(settings, "openai", "gpt-4.1") == "gpt-4.1"


def test_tool_calling_override(make_settings):
    settings = make_settings(
        llm_provider="openai-compatible",
        llm_base_url="http://h:1/v1",
        llm_model="m",
        llm_tool_calling=True,
        llm_context_tokens=32768,
    )
    caps = make_chat_model(settings).capabilities
    assert caps.native_tools and caps.context_tokens == 32768


def test_unknown_local_model_names_the_setting(make_settings):
    with pytest.raises(LLMConfigError, match="RECAGENTS_LOCAL_MODEL"):
        make_chat_model(make_settings(), provider="local", model="gpt-2")


def test_local_model_path_must_exist(make_settings, tmp_path):
    settings = make_settings(local_model_path=tmp_path / "nope.gguf")
    with pytest.raises(LLMConfigError, match="RECAGENTS_LOCAL_MODEL_PATH"):
        make_chat_model(settings, provider="local")
