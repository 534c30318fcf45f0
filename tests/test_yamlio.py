from __future__ import annotations

from generator import yamlio

DATA = {
    "jails::apps": {
        "shop": {
            "domains": ["shop.example.com"],
            "port": 8000,
            "flag": True,
            "numeric_text": "8080",
            "url": "https://git.example.com/x.git",
            "dash": "-m",
            "empty": [],
            "env": {},
        }
    },
    "jails::list": [{"a": 1, "b": "two"}, "plain"],
}


def test_emit_round_trips_through_a_yaml_parser() -> None:
    text = yamlio.emit(DATA)
    assert text.startswith("---\n")
    assert yamlio.load_fast(text) == DATA


def test_emit_is_deterministic_and_quotes_only_when_needed() -> None:
    text = yamlio.emit(DATA)
    assert text == yamlio.emit(DATA)
    assert 'numeric_text: "8080"' in text
    assert 'dash: "-m"' in text
    assert "url: https://git.example.com/x.git" in text
    assert "  - plain\n" in text


def test_merge_keeps_comments_and_foreign_keys_byte_for_byte() -> None:
    original = yamlio.emit(DATA)
    edited = (
        "# Hand-written header\n---\n"
        "ntp::servers: [0.pool.ntp.org]   # keep this\n"
        + original.removeprefix("---\n").replace("  shop:\n", "  shop:  # our shop\n")
        + "# trailing note\n"
        + "other::key:\n  nested: {a: 1}\n"
    )
    changed = {
        "jails::apps": {"shop": {**DATA["jails::apps"]["shop"], "port": 9000}},  # type: ignore[dict-item]
        "jails::list": DATA["jails::list"],
    }
    merged = yamlio.merge(edited, changed, ["jails::apps", "jails::list"])
    assert merged == edited.replace("port: 8000", "port: 9000")
    assert yamlio.merge(merged, changed, ["jails::apps", "jails::list"]) == merged


def test_merge_removes_owned_keys_no_longer_written() -> None:
    text = "---\nkeep: 1\njails::nginx_prefix: /x\n"
    assert yamlio.merge(text, {}, ["jails::nginx_prefix"]) == "---\nkeep: 1\n"
