"""A few caller corpus conversations as real phone calls: baresip dials the embedded SIP endpoint and plays them.

Prepared for CI (issue 11: "CI replays a subset over real SIP"); runs inside the loopback-only namespace that
scripts/test sets up, like the other SIP tests. Only conversations that today's agent passes are here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.qa.corpus_channels import play_typed
from agent.qa.corpus_manifest import Conversation, load_corpus
from benchmarks.caller_corpus import sip_conversation
from tests.integration.sip_peers import in_loopback_namespace, peers_missing

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sip,
    pytest.mark.skipif(
        not in_loopback_namespace(), reason="SIP tests run inside a loopback-only namespace (scripts/test)"
    ),
    pytest.mark.skipif(bool(peers_missing()), reason=f"missing SIP peers: {peers_missing()}"),
]

PASSING_TODAY = ("known_caller_test_drive", "trade_in_then_nope")
CONVERSATIONS = [c for c in load_corpus().conversations if c.name in PASSING_TODAY]


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.name for c in CONVERSATIONS])
async def test_corpus_conversation_over_sip(conversation: Conversation, tmp_path: Path) -> None:
    typed = await play_typed(conversation)  # its replies time the caller's silences
    outcome = await sip_conversation(tmp_path, conversation, gap_s=10.0, typed=typed)
    heard = "\n".join(f"  caller: {t.heard!r}\n  agent: {t.reply!r}" for t in outcome.transcript)
    assert outcome.passed, "\n".join(outcome.failures) + "\n" + heard
    assert outcome.words_recalled >= 0.8 * outcome.words_said
