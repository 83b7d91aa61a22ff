"""Every public function of the trainer says what it takes and returns (issue 24): each function
and method without a leading underscore (constructors included) annotates every parameter and
its return. The annotations are strings (`from __future__ import annotations`, so `X | None`
works on Python 3.9 and torch 1.13); where the running Python can evaluate them, they must name
something that exists."""

import importlib
import inspect
import pkgutil
import sys
import typing
import unittest

import fixtures  # noqa: F401  (puts the trainer on sys.path)

import lgms_trainer


def _modules():
    for info in pkgutil.iter_modules(lgms_trainer.__path__):
        yield importlib.import_module(f"lgms_trainer.{info.name}")


def public_functions():
    """(qualified name, function) of every public function and method defined in the package."""
    for module in _modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr != "__init__":
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    elif isinstance(member, property):
                        member = member.fget
                    if inspect.isfunction(member):
                        yield f"{module.__name__}.{name}.{attr}", member


def missing_annotations(fn):
    """What fn leaves unannotated: parameter names (self/cls excepted) and 'return'."""
    sig = inspect.signature(fn)
    missing = [p.name for p in sig.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


class Annotations(unittest.TestCase):
    def test_the_walk_finds_the_package(self):
        names = [n for n, _ in public_functions()]
        self.assertIn("lgms_trainer.train.run_train", names)
        self.assertIn("lgms_trainer.blocks.GMS.__init__", names)
        self.assertGreater(len(names), 100)

    def test_every_public_function_is_annotated(self):
        gaps = [f"{name}: {', '.join(missing)}" for name, fn in public_functions()
                if (missing := missing_annotations(fn))]
        self.assertEqual(gaps, [], "public functions without annotations:\n  " + "\n  ".join(gaps))

    def test_the_walk_would_catch_a_gap(self):
        def unhinted(x, y: int):
            return x

        self.assertEqual(missing_annotations(unhinted), ["x", "return"])

    @unittest.skipIf(sys.version_info < (3, 10), "X | Y annotations evaluate from Python 3.10 on")
    def test_annotations_name_what_exists(self):
        broken = []
        for name, fn in public_functions():
            try:
                typing.get_type_hints(fn)
            except Exception as e:  # a name that does not resolve
                broken.append(f"{name}: {type(e).__name__}: {e}")
        self.assertEqual(broken, [])


if __name__ == "__main__":
    unittest.main()
