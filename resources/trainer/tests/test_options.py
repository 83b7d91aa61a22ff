"""The trainer's half of "the options stated once": the command line offers exactly what
options.json lists (the backend's half is src/main/training/recipe.test.ts)."""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import fixtures

from lgms_trainer import __main__ as cli


def _commands():
    with open(cli.OPTIONS_FILE, encoding="utf-8") as f:
        return json.load(f)["commands"]


class Options(unittest.TestCase):
    def test_help_lists_every_option_of_the_file(self):
        # Through the real command line, as a reader would ask for it.
        for command, spec in _commands().items():
            out = subprocess.run([sys.executable, "-m", "lgms_trainer", command, "--help"], cwd=fixtures.TRAINER_DIR,
                                 capture_output=True, text=True, check=True).stdout
            for name, option in spec["options"].items():
                self.assertIn(f"--{name}", out, f"{command} --help does not offer --{name}")
                if option["help"]:
                    first_words = " ".join(option["help"].split()[:3])
                    self.assertIn(first_words, " ".join(out.split()), f"{command} --{name}'s help is not shown")

    def test_parser_takes_type_default_and_choices_from_the_file(self):
        parser = cli.build_parser()
        for command, spec in _commands().items():
            required = [a for n, o in spec["options"].items() if o.get("required") for a in (f"--{n}", "1")]
            args = parser.parse_args([command, *required])
            for name, option in spec["options"].items():
                value = getattr(args, name.replace("-", "_"))
                if option["type"] == "flag":
                    self.assertIs(value, False, f"{command} --{name}")
                elif not option.get("required"):
                    self.assertEqual(value, option.get("default"), f"{command} --{name}")
        args = parser.parse_args(["train", "--data", "d", "--out", "o", "--max-steps", "12", "--lr", "0.5",
                                  "--freeze-norm", "--optimizer", "adamw"])
        self.assertEqual((args.max_steps, args.lr, args.freeze_norm, args.optimizer), (12, 0.5, True, "adamw"))

    def test_an_option_the_file_does_not_list_is_refused(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as raised:
            cli.build_parser().parse_args(["train", "--data", "d", "--out", "o", "--learning-rate", "0.1"])
        self.assertEqual(raised.exception.code, 2)
        self.assertIn("unrecognized arguments: --learning-rate", err.getvalue())
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            cli.build_parser().parse_args(["train", "--data", "d", "--out", "o", "--optimizer", "adam"])

    def test_a_malformed_entry_is_refused_naming_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = os.path.join(tmp, "options.json")
            with open(bad, "w", encoding="utf-8") as f:
                json.dump({"commands": {"train": {"help": "", "options": {"rate": {"type": "double", "help": ""}}}}}, f)
            with mock.patch.object(cli, "OPTIONS_FILE", bad), self.assertRaisesRegex(ValueError, "train --rate"):
                cli.build_parser()


if __name__ == "__main__":
    unittest.main()
