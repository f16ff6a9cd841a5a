"""The public API is annotated: every function and class in ``fastlin.__all__`` and every
public method those classes define carries parameter and return annotations that resolve.

Modules import typing-only names (aliases of :mod:`fastlin._typing`, classes of modules
loaded lazily) under ``if TYPE_CHECKING:``. Resolving an annotation here therefore runs
those import blocks too, which checks that every name they import exists.
"""

import ast
import builtins
import functools
import importlib.resources
import inspect
import pathlib
import sys
import tomllib
import typing

import pytest

import fastlin

# Public names whose modules are annotated separately, and are not checked here.
NOT_CHECKED: set[str] = set()

SKIPPED_PARAMETERS = {"self", "cls"}


def _defining_class(cls, name):
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass
    return None


def _from_fastlin(obj):
    module = getattr(obj, "__module__", None) or ""
    return module == "fastlin" or module.startswith("fastlin.")


def _methods(cls):
    """(qualified name, function) for the public methods, properties and ``__init__`` that
    the class or its fastlin bases define (scikit-learn's and object's are left out)."""
    for name in sorted(dir(cls)):
        if name.startswith("_") and name != "__init__":
            continue
        klass = _defining_class(cls, name)
        if klass is None or not _from_fastlin(klass):
            continue
        value = vars(klass)[name]
        if isinstance(value, (classmethod, staticmethod)):
            yield f"{cls.__name__}.{name}", value.__func__
        elif isinstance(value, property):
            yield f"{cls.__name__}.{name}", value.fget
        elif inspect.isfunction(value):
            yield f"{cls.__name__}.{name}", value
        # other attributes (scikit-learn's set_*_request descriptors, fitted-attribute
        # descriptors, class constants) are not methods


def _public_callables():
    out = []
    for name in fastlin.__all__:
        if name in NOT_CHECKED:
            continue
        obj = getattr(fastlin, name)
        if inspect.isfunction(obj):
            out.append((name, obj))
        elif inspect.isclass(obj):
            out.extend(_methods(obj))
    return out


def _public_classes():
    return [
        (name, getattr(fastlin, name))
        for name in fastlin.__all__
        if name not in NOT_CHECKED and inspect.isclass(getattr(fastlin, name))
    ]


CALLABLES = _public_callables()
CLASSES = _public_classes()


@functools.cache
def _type_checking_names(module_name):
    """The names a module imports under ``if TYPE_CHECKING:``, imported for real."""
    module = sys.modules[module_name]
    tree = ast.parse(inspect.getsource(module))
    namespace = {
        "__name__": module.__name__,
        "__package__": module.__package__,
        "__builtins__": builtins,
    }
    for node in tree.body:
        if not isinstance(node, ast.If):
            continue
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            code = compile(ast.Module(body=node.body, type_ignores=[]), module.__file__, "exec")
            exec(code, namespace)
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


def _hints(obj, module_name):
    return typing.get_type_hints(obj, localns=_type_checking_names(module_name))


def test_public_api_found():
    names = {qualname for qualname, _ in CALLABLES}
    for expected in (
        "LinearRegression.fit",
        "LinearRegression.__init__",
        "Ridge.save",
        "Ridge.load",
        "StandardScaler.transform",
        "ChunkSource.iter_chunks",
        "RegressionInference.rsquared",
        "QRStats.from_arrays",
        "open_source",
        "CalibrationResult.__init__",
    ):
        assert expected in names
    # set_*_request and fit_transform come from scikit-learn; their annotations are its own
    assert "LinearRegression.set_fit_request" not in names
    assert "StandardScaler.fit_transform" not in names


def test_not_checked_names_are_public():
    assert NOT_CHECKED <= set(fastlin.__all__)


@pytest.mark.parametrize("qualname, fn", CALLABLES, ids=[q for q, _ in CALLABLES])
def test_annotated(qualname, fn):
    signature = inspect.signature(fn)
    missing = [
        p.name
        for p in signature.parameters.values()
        if p.name not in SKIPPED_PARAMETERS
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.annotation is inspect.Parameter.empty
    ]
    assert not missing, f"{qualname}: parameters without an annotation: {missing}"
    if fn.__name__ != "__init__":
        assert signature.return_annotation is not inspect.Signature.empty, (
            f"{qualname}: no return annotation"
        )


@pytest.mark.parametrize("qualname, fn", CALLABLES, ids=[q for q, _ in CALLABLES])
def test_annotations_resolve(qualname, fn):
    hints = _hints(fn, fn.__module__)
    if fn.__name__ != "__init__":
        assert "return" in hints


@pytest.mark.parametrize("name, cls", CLASSES, ids=[n for n, _ in CLASSES])
def test_class_annotations_resolve(name, cls):
    _hints(cls, cls.__module__)


def test_py_typed_is_shipped():
    assert importlib.resources.files("fastlin").joinpath("py.typed").is_file()
    pyproject = pathlib.Path(fastlin.__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():  # a source checkout: the wheel's package data lists the marker
        config = tomllib.loads(pyproject.read_text())
        assert "py.typed" in config["tool"]["setuptools"]["package-data"]["fastlin"]
