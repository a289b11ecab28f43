"""`inspector dataset`: listed by `inspector --help`, and every subcommand explains itself and its options."""

from cli_support import run, refused_by_argparse
from inspector.cli import build_parser


def _subcommands():
    parser = build_parser()
    top = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    dataset = top.choices["dataset"]
    sub = next(a for a in dataset._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices


def test_the_dataset_family_is_listed_and_each_subcommand_has_help():
    top = run("--help")
    assert top.returncode == 0 and "dataset" in top.stdout
    family = run("dataset", "--help")
    commands = _subcommands()
    assert set(commands) == {"import", "from-logs", "merge", "split", "info"}
    for name, parser in commands.items():
        assert name in family.stdout
        out = run("dataset", name, "--help")
        assert out.returncode == 0, out.stderr
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in out.stdout, f"dataset {name} --help does not mention {flag}"
            if action.option_strings:
                assert action.help, f"dataset {name} {action.option_strings} has no help text"
        if name != "info":
            assert "--quiet" in out.stdout


def test_a_bad_option_value_is_refused_in_one_line(tmp_path):
    r = run("dataset", "split", tmp_path / "d.h5", "--train", "t.h5", "--test", "v.h5", "--seed", "-1")
    refused_by_argparse(r, "--seed", "seed")
