"""The independent jail.conf(5) parser (tests/freebsd/jailconf5.py), one grammar
feature per test, and jail(8)'s error messages. That every file the generated
module writes reads the same by it and by the model is checked after each run
in test_puppet_freebsd.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.freebsd.jailconf5 import JailConfError, parse_root, parse_text


def params(text: str, jail: str = "j") -> dict[str, list[str] | bool]:
    return parse_text(text).resolve(jail)


def error(text: str) -> str:
    with pytest.raises(JailConfError) as caught:
        config = parse_text(text)
        for name in config.jails:
            config.resolve(name)
    return str(caught.value)


# --- statements ---


def test_a_block_defines_a_jail_whose_name_is_a_parameter() -> None:
    assert params("j { path = /x; }") == {"name": ["j"], "path": ["/x"]}


def test_a_value_without_equals_sign_is_still_a_value() -> None:
    assert params("j { path /x; }")["path"] == ["/x"]


def test_a_comma_separated_list_is_a_list_of_values() -> None:
    conf = "j { ip4.addr = 10.1.1.1, 10.1.1.2 ,10.1.1.3; }"
    assert params(conf)["ip4.addr"] == ["10.1.1.1", "10.1.1.2", "10.1.1.3"]


def test_plus_equals_appends_and_equals_replaces() -> None:
    conf = "j { a = 1; a += 2; a += 3, 4; b = 1; b = 2; c += 5; }"
    got = params(conf)
    assert (got["a"], got["b"], got["c"]) == (["1", "2", "3", "4"], ["2"], ["5"])


def test_a_name_alone_is_true_and_a_no_prefix_is_false() -> None:
    got = params("j { persist; allow.nomount; mount.nodevfs; exec.clean; }")
    assert got == {
        "name": ["j"],
        "persist": True,
        "allow.mount": False,
        "mount.devfs": False,
        "exec.clean": True,
    }


def test_empty_statements_are_allowed() -> None:
    assert params(";; j { ; a = 1;; } ;")["a"] == ["1"]


def test_nested_blocks_name_jails_parent_dot_child() -> None:
    config = parse_text("a { x = 1; b { y = 2; c { z = 3; } } }")
    assert config.jails == ["a", "a.b", "a.b.c"]
    assert config.resolve("a.b") == {"name": ["a.b"], "y": ["2"]}


def test_a_jail_name_may_be_quoted_but_not_hold_a_variable() -> None:
    assert parse_text('"my jail" { }').jails == ["my jail"]
    assert error("$x { }") == "jail.conf line 1: $x: syntax error"


def test_the_name_parameter_cannot_be_redefined() -> None:
    assert error("j { name = k; }") == 'j: cannot redefine parameter "name"'


def test_an_unknown_jail_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        parse_text("j { }").resolve("k")


# --- wildcards and parameters outside blocks ---


def test_parameters_outside_blocks_apply_to_every_jail() -> None:
    config = parse_text('path = "/jails/$name";\na { }\nb { path = /b; }')
    assert config.resolve("a")["path"] == ["/jails/a"]
    assert config.resolve("b")["path"] == ["/b"]


def test_later_definitions_win_even_from_a_wildcard() -> None:
    config = parse_text("* { a = 1; }\nj { a = 2; b = 2; }\n* { b = 3; }\nc = 4;")
    got = config.resolve("j")
    assert (got["a"], got["b"], got["c"]) == (["2"], ["3"], ["4"])


def test_a_partial_wildcard_applies_to_the_jails_below_its_prefix() -> None:
    config = parse_text("foo.* { w = 1; }\nfoo.bar { }\nfoobar { }")
    assert config.jails == ["foo.bar", "foobar"]
    assert config.resolve("foo.bar")["w"] == ["1"]
    assert "w" not in config.resolve("foobar")


def test_a_jail_may_have_several_blocks() -> None:
    config = parse_text("j { a = 1; }\nk { }\nj { a += 2; }")
    assert config.jails == ["j", "k"]
    assert config.resolve("j")["a"] == ["1", "2"]


# --- strings ---


def test_single_quotes_keep_variables_and_specials_literal() -> None:
    assert params("j { a = '$name; {x} # not a comment'; }")["a"] == ["$name; {x} # not a comment"]


def test_backslash_escapes_work_in_single_quotes_too() -> None:
    # jaillex.l runs every quoted string through the same escape handling.
    assert params(r"j { a = 'it\'s\t'; }")["a"] == ["it's\t"]


def test_double_quotes_take_c_escapes() -> None:
    conf = r'j { a = "q\"b\\ \n\t\a\v\f\r\b|\101\x41\x4a\0|\z\$"; }'
    assert params(conf)["a"] == ['q"b\\ \n\t\a\v\f\r\b|AAJ\0|z$']


def test_octal_escapes_stop_after_three_digits() -> None:
    assert params(r'j { a = "\1012"; }')["a"] == ["A2"]


def test_a_backslash_newline_joins_lines() -> None:
    assert params('j { a = "one \\\ntwo"; }')["a"] == ["one two"]


def test_double_quotes_and_words_expand_variables() -> None:
    conf = 'j { $v = x; a = "/p/$name/${v}z"; b = /p/$name; c = ${v}y; }'
    got = params(conf)
    assert (got["a"], got["b"], got["c"]) == (["/p/j/xz"], ["/p/j"], ["xy"])


def test_a_short_variable_is_letters_digits_and_underscores() -> None:
    assert params('j { a = $name.d; b = "$name-x"; }')["a"] == ["j.d"]
    assert params('j { b = "$name-x"; }')["b"] == ["j-x"]


def test_a_parameter_can_be_a_variable_and_braces_take_dotted_names() -> None:
    conf = 'j { host.hostname = h.example; a = "${host.hostname}/${path}"; path = /p; }'
    assert params(conf)["a"] == ["h.example//p"]


def test_a_dollar_without_a_name_is_a_dollar() -> None:
    got = params('j { a = "5$"; b = $; c = "$ x"; }')
    assert (got["a"], got["b"], got["c"]) == (["5$"], ["$"], ["$ x"])


def test_a_multi_valued_parameter_substitutes_joined_by_commas() -> None:
    assert params('j { ip = 1, 2; a = "[$ip]"; }')["a"] == ["[1,2]"]


def test_variables_are_not_parameters() -> None:
    assert params("j { $v = 1; a = $v; }") == {"name": ["j"], "a": ["1"]}


def test_adjacent_pieces_make_one_string() -> None:
    conf = """j { a = one'two'"three"$name'$name'four; }"""
    assert params(conf)["a"] == ["onetwothreej$namefour"]


def test_single_character_words_join_their_neighbours() -> None:
    assert parse_text("foo.* { }\na = x+y/z*;").sections[0].name == "foo.*"
    assert params("j { }\na = x+y/z*;")["a"] == ["x+y/z*"]


def test_an_empty_quoted_string_is_a_value() -> None:
    assert params("j { exec.start = ''; exec.stop = \"\"; }")["exec.start"] == [""]


# --- comments ---


def test_the_three_comment_styles() -> None:
    conf = """# shell
j { // c++ ; }
  a = 1; /* c
  spanning ; } lines */ b = 2; # a = 3;
}
"""
    got = params(conf)
    assert (got["a"], got["b"]) == (["1"], ["2"])


def test_a_comment_ends_a_word() -> None:
    assert params("j { a = x#y;\n; b = c//d\n; }")["a"] == ["x"]


def test_lines_are_counted_through_multi_line_comments_and_strings() -> None:
    assert error('/*\n\n*/ a = "x\ny";\nb = c d;') == "jail.conf line 5: d: syntax error"


# --- includes ---


def write(root: Path, path: str, text: str) -> None:
    (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    (root / path.lstrip("/")).write_text(text)


def test_include_reads_a_glob_in_sorted_order_where_it_is_written(tmp_path: Path) -> None:
    write(tmp_path, "/etc/jail.conf", 'a = 0;\n.include "/etc/jail.conf.d/*.conf";\nb = 9;')
    write(tmp_path, "/etc/jail.conf.d/2.conf", "j { a += 2; b = 2; }")
    write(tmp_path, "/etc/jail.conf.d/1.conf", "j { a += 1; }")
    write(tmp_path, "/etc/jail.conf.d/1.conf.off", "j { a += 3; }")
    config = parse_root(tmp_path)
    assert config.files == [
        "/etc/jail.conf",
        "/etc/jail.conf.d/1.conf",
        "/etc/jail.conf.d/2.conf",
    ]
    assert config.resolve("j") == {"name": ["j"], "a": ["0", "1", "2"], "b": ["9"]}


def test_a_glob_that_matches_nothing_includes_nothing(tmp_path: Path) -> None:
    write(tmp_path, "/etc/jail.conf", '.include "/usr/local/etc/jail[.]conf";\nj { }')
    assert parse_root(tmp_path).jails == ["j"]


def test_a_plain_include_must_exist(tmp_path: Path) -> None:
    write(tmp_path, "/etc/jail.conf", '.include "/etc/other.conf";')
    with pytest.raises(JailConfError, match=r"^/etc/other.conf: No such file or directory$"):
        parse_root(tmp_path)


def test_an_include_inside_a_block_adds_to_that_jail(tmp_path: Path) -> None:
    write(tmp_path, "/etc/jail.conf", 'j { .include "j.inc"; }')
    write(tmp_path, "/etc/j.inc", "path = /j; k { }")
    config = parse_root(tmp_path)
    assert config.jails == ["j", "j.k"]
    assert config.resolve("j")["path"] == ["/j"]


def test_an_include_filename_must_be_literal() -> None:
    assert error('.include "$name.conf";') == (
        "jail.conf line 1: .include: the filename must be a literal string"
    )


def test_errors_name_the_included_file(tmp_path: Path) -> None:
    write(tmp_path, "/etc/jail.conf", '.include "/etc/jail.conf.d/*.conf";')
    write(tmp_path, "/etc/jail.conf.d/j.conf", "j {\n  a = 1\n}")
    with pytest.raises(JailConfError, match=r"^/etc/jail.conf.d/j.conf line 3: }: syntax error$"):
        parse_root(tmp_path)


# --- errors, as jail(8) words them ---


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("j {", "jail.conf: unexpected EOF"),
        ("j { a = 1;", "jail.conf: unexpected EOF"),
        ("a = 1", "jail.conf: unexpected EOF"),
        ("j { a = ; }", "jail.conf line 1: ;: syntax error"),
        ("j { a = 1,; }", "jail.conf line 1: ;: syntax error"),
        ("j { a = 1 2; }", "jail.conf line 1: 2: syntax error"),
        ('j { a = "x" "y"; }', 'jail.conf line 1: "y": syntax error'),
        ("\n\n}", "jail.conf line 3: }: syntax error"),
        ("j { a b = 1; }", "jail.conf line 1: =: syntax error"),
        ("j { a = 1 }", "jail.conf line 1: }: syntax error"),
        ("j { = 1; }", "jail.conf line 1: =: syntax error"),
        ('j { a"b" = 1; }', 'jail.conf line 1: "b": syntax error'),
        ("j { a = é; }", "jail.conf line 1: é: syntax error"),
        ('\nj { a = "x; }', "jail.conf line 2: unterminated string"),
        ("j { a = 'x; }", "jail.conf line 1: unterminated string"),
        ("/* x\n", "jail.conf line 1: unterminated comment"),
        ("j { a = ${x\n}; }", "jail.conf line 1: unterminated variable"),
        ('j { a = "${x"; }', "jail.conf line 1: unterminated variable"),
        ('j { a = "$x"; }', 'j: a: variable "x" not found'),
        ("j { b; a = $b; }", 'j: a: variable "b" not found'),
        ("j { a = $b; b = $a; }", "j: b: variable loop"),
    ],
)
def test_errors(text: str, message: str) -> None:
    assert error(text) == message
