"""``--signing-profiles`` is parsed as SAM CLI parses it (regex findall over
``" " + value``; quoted values; one ``:`` at most), both by the parser and by the CLI."""

from __future__ import annotations

import pytest

from provider.errors import ValidationError
from sam_ext.signing_profiles import SigningProfileRef as Ref
from sam_ext.signing_profiles import parse_signing_profiles

OWNER = "123456789012"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fn=Profile", {"Fn": Ref("Profile")}),
        (f"Fn=Profile:{OWNER}", {"Fn": Ref("Profile", OWNER)}),
        (
            f"Fn=Profile Layer=Other:{OWNER} Fn2=Third",
            {"Fn": Ref("Profile"), "Layer": Ref("Other", OWNER), "Fn2": Ref("Third")},
        ),
        (f'Fn="Profile:{OWNER}"', {"Fn": Ref("Profile", OWNER)}),
        ('Fn="Profile" Layer="Other"', {"Fn": Ref("Profile"), "Layer": Ref("Other")}),
        ('"Fn"=Profile', {"Fn": Ref("Profile")}),
        ("   Fn=Profile     Layer=Other   ", {"Fn": Ref("Profile"), "Layer": Ref("Other")}),
        # Text that is not a pair, beside valid pairs, is ignored (SAM's findall).
        ("Fn=Profile junk Layer=Other", {"Fn": Ref("Profile"), "Layer": Ref("Other")}),
        ("Fn=Profile my-fn=X", {"Fn": Ref("Profile")}),
        ("Fn=Profile Layer=", {"Fn": Ref("Profile")}),
        # A trailing ':' means no owner.
        ("Fn=Profile:", {"Fn": Ref("Profile")}),
        # Nested resources by their path (ChildStack/FunctionId), and nested stacks' ids.
        (
            f"Child/Fn=Profile Child/Grand/Layer=Other:{OWNER} Child=Third",
            {
                "Child/Fn": Ref("Profile"),
                "Child/Grand/Layer": Ref("Other", OWNER),
                "Child": Ref("Third"),
            },
        ),
        # Empty input means no profiles, as SAM CLI's ("",).
        ("", {}),
        ((), {}),
    ],
)
def test_pairs_are_found_as_sam_cli_finds_them(value: object, expected: dict[str, Ref]) -> None:
    assert parse_signing_profiles(value) == expected  # type: ignore[arg-type]


def test_repeated_values_and_samconfig_lists_are_merged_last_wins() -> None:
    assert parse_signing_profiles(("Fn=One", f"Layer=Two:{OWNER}")) == {
        "Fn": Ref("One"),
        "Layer": Ref("Two", OWNER),
    }
    assert parse_signing_profiles(["Fn=One Layer=Two", "Fn=Three"]) == {
        "Fn": Ref("Three"),
        "Layer": Ref("Two"),
    }


@pytest.mark.parametrize(
    ("value", "naming"),
    [
        ("Fn=Profile:111111111111:222222222222", "Profile:111111111111:222222222222"),
        ('Fn="a:b:c"', "a:b:c"),
        ("Ok=Fine Fn=a:b:c", "a:b:c"),
    ],
)
def test_more_than_one_colon_is_an_error_naming_the_input(value: str, naming: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_signing_profiles(value)
    assert naming in str(raised.value)
    assert "more than one ':'" in str(raised.value)


@pytest.mark.parametrize("value", ['Fn=""', f"Fn=:{OWNER}", 'Fn="":'])
def test_an_empty_profile_name_is_an_error(value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_signing_profiles(value)
    assert "Fn has no profile name" in str(raised.value)


@pytest.mark.parametrize("value", ["garbage", "Fn", "Fn=", "=Profile", "my-fn=Profile"])
def test_no_pair_at_all_is_an_error_naming_the_input(value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_signing_profiles(value)
    assert repr(value) in str(raised.value)


def test_a_bad_item_among_repeated_values_is_named() -> None:
    assert parse_signing_profiles(("Fn=P",)) == {"Fn": Ref("P")}
    with pytest.raises(ValidationError) as raised:
        parse_signing_profiles(("Fn=P", "nonsense"))
    assert "'nonsense'" in str(raised.value)


# --- the same through the CLI ------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "naming"),
    [
        ("HelloFunction=Publisher:1:2", "Publisher:1:2"),
        ("garbage", "garbage"),
        ('HelloFunction=""', "HelloFunction has no profile name"),
    ],
)
def test_cli_refuses_bad_values_before_any_work(
    sam_ext, app, publisher, value: str, naming: str
) -> None:
    result = sam_ext("package", "--signing-profiles", value, *publisher.overrides, status=2)
    assert naming in result.err
    assert "--signing-profiles" in result.err
    assert result.out == ""
    assert not (app / ".sam-ext").exists()
    assert sam_ext.jobs() == 0


def test_cli_merges_repeated_options(sam_ext, app, publisher, tools) -> None:
    result = sam_ext(
        "package",
        "--signing-profiles",
        "HelloFunction=Publisher",
        "--signing-profiles",
        "SharedLayer=Publisher",
        *publisher.overrides,
    )
    assert result.row("HelloFunction")[1] == "Publisher"
    assert result.row("SharedLayer")[1] == "Publisher"
    assert result.row("GoodbyeFunction")[1] == "-"
    assert sam_ext.jobs() == 2


def test_cli_double_quoted_value_with_owner_signs_as_that_owner(sam_ext, app, publisher) -> None:
    # The local keystore's account is 000000000000.
    result = sam_ext(
        "package",
        "--signing-profiles",
        'HelloFunction="Publisher:000000000000" SharedLayer=Publisher',
        *publisher.overrides,
    )
    assert result.row("HelloFunction")[1] == "Publisher:000000000000"
    assert result.row("HelloFunction")[-1] == "ALLOW"
    assert sam_ext.jobs() == 2


def test_cli_owner_of_another_account_is_named(sam_ext, app, publisher) -> None:
    result = sam_ext(
        "package",
        "--signing-profiles",
        f"HelloFunction=Publisher:{OWNER} SharedLayer=Publisher",
        *publisher.overrides,
        status=2,
    )
    assert OWNER in result.err
    assert "Publisher" in result.err
    assert sam_ext.jobs() == 0
