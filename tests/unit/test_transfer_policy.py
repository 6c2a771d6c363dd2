"""Who a call may be transferred to (the allow-list) and who is calling (SIP caller id), as pure functions."""

from __future__ import annotations

import pytest

from telephony.sip_caller_id import caller_identity
from telephony.transfer_policy import is_transfer_allowed

pytestmark = pytest.mark.unit

SARAH = "sip:sarah@10.0.0.5:5060"


@pytest.mark.parametrize(
    ("target", "allow_list", "allowed"),
    [
        # exact URI entries
        (SARAH, (SARAH,), True),
        ("sip:mike@10.0.0.5:5060", (SARAH,), False),
        ("sip:sarah@10.0.0.5", (SARAH,), False),  # the entry names a port
        ("sip:sarah@10.0.0.5:5060", (f"  {SARAH}\n",), True),  # entries are configuration: trimmed
        # a whole host, any port
        ("sip:anyone@pbx.example", ("@pbx.example",), True),
        ("sip:anyone@pbx.example:5080", ("@pbx.example",), True),
        ("sips:anyone@pbx.example", ("@pbx.example",), True),
        ("sip:pbx.example", ("@pbx.example",), True),  # no user part
        ("sip:anyone@PBX.Example", ("@pbx.example",), True),  # host names are case-insensitive
        ("sip:anyone@pbx.example", ("@PBX.EXAMPLE",), True),
        ("sip:anyone@evil.example", ("@pbx.example",), False),
        ("sip:anyone@pbx.example.evil.example", ("@pbx.example",), False),
        ("sip:anyone@evilpbx.example", ("@pbx.example",), False),
        # a host and one port
        ("sip:anyone@127.0.0.1:5090", ("@127.0.0.1:5090",), True),
        ("sip:anyone@127.0.0.1:5091", ("@127.0.0.1:5090",), False),
        ("sip:anyone@127.0.0.1", ("@127.0.0.1:5090",), False),
        ("sip:anyone@127.0.0.10:5090", ("@127.0.0.1:5090",), False),
        ("sip:anyone@[2001:db8::5]:5060", ("@[2001:db8::5]:5060",), True),
        ("sip:anyone@[2001:db8::5]:5061", ("@[2001:db8::5]:5060",), False),
        ("sip:anyone@[2001:db8::5]", ("@[2001:db8::5]",), True),
        # several entries: any one may match
        ("sip:anyone@127.0.0.1:5090", ("@10.0.0.9", "@127.0.0.1:5090"), True),
        # other schemes
        ("tel:+19005550100", ("@127.0.0.1",), False),
        ("tel:+19005550100", ("tel:+19005550100",), False),  # only SIP URIs, even when listed
        ("http://127.0.0.1/", ("@127.0.0.1",), False),
        ("sip:sarah@10.0.0.5:5060", ("@10.0.0.5:5060",), True),
        # parameters, headers, display names, whitespace, smuggled addresses
        ("sip:sarah@10.0.0.5:5060;transport=tcp", ("@10.0.0.5",), False),
        ("sip:sarah@10.0.0.5:5060;transport=tcp", ("sip:sarah@10.0.0.5:5060;transport=tcp",), False),
        ("sip:sarah@10.0.0.5?Replaces=abc%40host%3Bto-tag%3D1", ("@10.0.0.5",), False),
        ("sip:sarah;user=phone@10.0.0.5", ("@10.0.0.5",), False),
        ("<sip:sarah@10.0.0.5>", ("@10.0.0.5",), False),
        ('"Sarah" <sip:sarah@10.0.0.5>', ("@10.0.0.5",), False),
        ("sip:sarah @10.0.0.5", ("@10.0.0.5",), False),
        (" sip:sarah@10.0.0.5", ("@10.0.0.5",), False),
        ("sip:sarah@10.0.0.5\r\n", ("@10.0.0.5",), False),
        ("sip:sarah@10.0.0.5\r\nX-Evil: 1", ("@10.0.0.5",), False),
        ("sip:evil.example>@10.0.0.5", ("@10.0.0.5",), False),  # Refer-To: <sip:evil.example>@...>
        ("sip:a,<sip:evil.example>@10.0.0.5", ("@10.0.0.5",), False),
        ("sip:sarah:secret@10.0.0.5", ("@10.0.0.5",), False),
        ("sip:sarah@10.0.0.5:notaport", ("@10.0.0.5",), False),
        ("sip:+15551230000@10.0.0.5", ("@10.0.0.5",), True),  # E.164 user parts are fine
        # nothing allowed
        (SARAH, (), False),
        ("", ("@10.0.0.5",), False),
        ("sip:", ("@10.0.0.5",), False),
        (SARAH, ("",), False),
        (SARAH, ("@",), False),
    ],
)
def test_transfer_targets_must_be_plain_sip_uris_on_the_allow_list(
    target: str, allow_list: tuple[str, ...], allowed: bool
) -> None:
    assert is_transfer_allowed(target, allow_list) is allowed


@pytest.mark.parametrize(
    ("peer_uri", "headers", "number"),
    [
        ("sip:+15550142233@trunk.example", {}, "+15550142233"),
        ("sips:+15550142233@trunk.example:5061", {}, "+15550142233"),
        ("sip:5550142233@trunk.example;user=phone", {}, "5550142233"),
        ("sip:caller@127.0.0.1:5080", {}, "caller"),
        ("tel:+15550142233", {}, "+15550142233"),
        ("tel:+15550142233;phone-context=example.com", {}, "+15550142233"),
        # P-Asserted-Identity (what a trunk vouches for) wins over From
        ("sip:sipp@10.0.0.1", {"P-Asserted-Identity": "<sip:+15550142233@trunk.example>"}, "+15550142233"),
        ("sip:sipp@10.0.0.1", {"P-Asserted-Identity": '"Maria G" <tel:+15550142233>'}, "+15550142233"),
        ("sip:sipp@10.0.0.1", {"P-Asserted-Identity": "sip:+15550142233@trunk.example"}, "+15550142233"),
        (
            "sip:sipp@10.0.0.1",
            {"P-Asserted-Identity": "<sip:+15550142233@trunk.example;user=phone>, <tel:+15550149999>"},
            "+15550142233",
        ),
        # header names are case-insensitive; the stack reports them as they came on the wire
        ("sip:sipp@10.0.0.1", {"p-asserted-identity": "<sip:+15550142233@trunk.example>"}, "+15550142233"),
        ("sip:sipp@10.0.0.1", {"P-ASSERTED-IDENTITY": "<sip:+15550142233@trunk.example>"}, "+15550142233"),
        # a display name that looks like a URI is not the number
        (
            "sip:x@h",
            {"P-Asserted-Identity": '"Hotel: Ritz" <sip:+15550142233@trunk.example>'},
            "+15550142233",
        ),
        ("sip:x@h", {"P-Asserted-Identity": '"sip:+19990000000" <sip:+15550142233@t>'}, "+15550142233"),
        # Remote-Party-ID when there is no P-Asserted-Identity
        (
            "sip:sipp@10.0.0.1",
            {"Remote-Party-ID": "<sip:+15550142233@trunk.example>;party=calling"},
            "+15550142233",
        ),
        (
            "sip:sipp@10.0.0.1",
            {"Remote-Party-ID": "<sip:+19990000000@t>", "P-Asserted-Identity": "<tel:+15550142233>"},
            "+15550142233",
        ),
        # withheld numbers
        ("sip:anonymous@anonymous.invalid", {}, None),
        ("sip:Anonymous@anonymous.invalid", {}, None),
        ("sip:unknown@trunk.example", {}, None),
        ("sip:restricted@trunk.example", {}, None),
        ('"Anonymous" <sip:anonymous@anonymous.invalid>', {}, None),
        ("sip:anonymous@anonymous.invalid", {"P-Asserted-Identity": "<sip:anonymous@x>"}, None),
        # a withheld PAI falls back to From
        ("sip:+15550142233@trunk.example", {"P-Asserted-Identity": "<sip:anonymous@x>"}, "+15550142233"),
        # an anonymous From with a vouched-for identity
        ("sip:anonymous@anonymous.invalid", {"P-Asserted-Identity": "<tel:+15550142233>"}, "+15550142233"),
        # nothing usable
        ("", {}, None),
        ("sip:127.0.0.1", {}, None),
        ("mailto:someone@example.com", {}, None),
    ],
)
def test_caller_number_prefers_the_asserted_identity_and_hides_withheld_numbers(
    peer_uri: str, headers: dict[str, str], number: str | None
) -> None:
    # From a believed peer (a trusted trunk); an untrusted peer's headers are tested in test_sip_trust.
    caller = caller_identity(peer_uri, headers, vouched=True)
    assert caller.number == number
