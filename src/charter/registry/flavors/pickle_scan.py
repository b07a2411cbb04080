"""Inspecting a pickle or joblib file without loading it: which callables would it import?

Unpickling runs code: every class or function a pickle names (``GLOBAL``, ``STACK_GLOBAL``,
``INST``) can be called with arguments of the pickle's choosing. So before charter lets joblib
load a file, :func:`scan` walks its opcodes with :mod:`pickletools` (nothing is executed or
imported from the file) and collects every name it would import; :func:`refused` keeps those
outside the allow-list. Only a file that names nothing else is ever loaded.

joblib writes NumPy array data raw between pickle opcodes, right after each
``NumpyArrayWrapper``; the scan follows the opcode stack far enough to know each array's shape and
dtype, and skips exactly its bytes (an object array is a nested pickle, scanned in turn).

The allow-list: classes (not functions) of scikit-learn, NumPy, SciPy, XGBoost and LightGBM, NumPy
ufuncs, a few named reconstructors, and plain builtin types; modules for testing, f2py and
distutils, and classes that touch files (``numpy.memmap``), are never trusted. A user extends it
by exact name: ``charter register … --trust module.Name`` or ``CHARTER_TRUSTED_TYPES``.
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import lzma
import math
import pickletools
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from charter.errors import ModelFileError

TRUSTED_ROOTS = frozenset({"sklearn", "numpy", "scipy", "xgboost", "lightgbm"})
NEVER_TRUSTED_PARTS = frozenset({"testing", "_testing", "f2py", "distutils", "_datasource"})
NEVER_TRUSTED = frozenset({"numpy.memmap", "numpy.DataSource", "numpy.lib.format.open_memmap"})
TRUSTED_NAMES = frozenset(
    {
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "copyreg._reconstructor",
        "_codecs.encode",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        "copy_reg._reconstructor",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.deque",
    }
    | {
        f"{module}.{name}"
        for module in ("builtins", "__builtin__")  # the second: protocols 0-2
        for name in [
            "object",
            "bool",
            "int",
            "float",
            "complex",
            "str",
            "bytes",
            "bytearray",
            "tuple",
            "list",
            "dict",
            "set",
            "frozenset",
            "slice",
            "range",
            "NoneType",
        ]
    }
)
_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"
_MAGIC = (
    (b"\x1f\x8b", gzip.decompress),
    (b"BZh", bz2.decompress),
    (b"\xfd7zXZ", lzma.decompress),
    (b"]\x00\x00", lzma.decompress),
    (b"x", zlib.decompress),
)


@dataclass
class _Global:
    name: str


@dataclass
class _Object:
    made_by: Any
    args: Any
    state: Any = None


@dataclass
class _Scan:
    imports: set[str] = field(default_factory=set)


_MARK = object()


def scan(data: bytes, name: str) -> set[str]:
    """Every ``module.Name`` the pickle (or joblib file) ``data`` would import, unexecuted."""
    for magic, decompress in _MAGIC:
        if data.startswith(magic):
            try:
                data = decompress(data)
            except (OSError, ValueError, EOFError, zlib.error, lzma.LZMAError) as exc:
                raise ModelFileError(f"{name}: cannot decompress the joblib file: {exc}") from exc
            break
    result = _Scan()
    handle = io.BytesIO(data)
    try:
        _walk(handle, result)
    except ModelFileError:
        raise
    except Exception as exc:  # a malformed stream: it is not loaded either way
        raise ModelFileError(
            f"{name} cannot be loaded as a scikit-learn model with joblib: it is not a pickle "
            f"charter can inspect ({type(exc).__name__}: {exc})",
            hint="Save it with joblib.dump(model, path), or use skops or ONNX.",
        ) from exc
    return result.imports


def _walk(handle: io.BytesIO, result: _Scan) -> None:
    stack: list[Any] = []
    memo: dict[Any, Any] = {}
    for opcode, arg, _pos in pickletools.genops(handle):
        op = opcode.name
        if op in ("PROTO", "FRAME"):
            continue
        if op == "STOP":
            return
        if op in ("PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4"):
            raise ModelFileError(f"the pickle uses {op}, which charter does not load")
        if op in ("GLOBAL", "INST"):
            module, attr = str(arg).split(" ", 1)
            result.imports.add(f"{module}.{attr}")
            if op == "INST":
                args = _pop_mark(stack)
                stack.append(_Object(_Global(f"{module}.{attr}"), tuple(args)))
            else:
                stack.append(_Global(f"{module}.{attr}"))
        elif op == "STACK_GLOBAL":
            attr, module = stack.pop(), stack.pop()
            if not isinstance(attr, str) or not isinstance(module, str):
                raise ModelFileError("the pickle computes the name of what it imports")
            result.imports.add(f"{module}.{attr}")
            stack.append(_Global(f"{module}.{attr}"))
        elif op == "BUILD":
            state = stack.pop()
            target = stack[-1]
            if isinstance(target, _Object):
                target.state = state
                if isinstance(target.made_by, _Global) and target.made_by.name == _WRAPPER:
                    _skip_array(handle, state, result)
        else:
            _stack_op(op, arg, stack, memo)


def _stack_op(op: str, arg: Any, stack: list[Any], memo: dict[Any, Any]) -> None:
    """The opcodes that only move values around: enough to know each array's shape and dtype."""
    if op == "MARK":
        stack.append(_MARK)
    elif op in ("EMPTY_TUPLE",):
        stack.append(())
    elif op in ("EMPTY_LIST",):
        stack.append([])
    elif op in ("EMPTY_DICT",):
        stack.append({})
    elif op in ("EMPTY_SET",):
        stack.append(set())
    elif op in ("TUPLE", "LIST", "FROZENSET"):
        items = _pop_mark(stack)
        stack.append(tuple(items) if op != "LIST" else items)
    elif op in ("TUPLE1", "TUPLE2", "TUPLE3"):
        count = int(op[-1])
        items = stack[-count:]
        del stack[-count:]
        stack.append(tuple(items))
    elif op == "DICT":
        items = _pop_mark(stack)
        stack.append(_pairs(items))
    elif op in ("APPEND", "APPENDS", "ADDITEMS"):
        items = [stack.pop()] if op == "APPEND" else _pop_mark(stack)
        if isinstance(stack[-1], list):
            stack[-1].extend(items)
    elif op in ("SETITEM", "SETITEMS"):
        items = stack[-2:] if op == "SETITEM" else _pop_mark(stack)
        if op == "SETITEM":
            del stack[-2:]
        if isinstance(stack[-1], dict):
            stack[-1].update(_pairs(items))
    elif op in ("REDUCE", "NEWOBJ"):
        args = stack.pop()
        stack.append(_Object(stack.pop(), args))
    elif op == "NEWOBJ_EX":
        stack.pop()
        args = stack.pop()
        stack.append(_Object(stack.pop(), args))
    elif op == "OBJ":
        items = _pop_mark(stack)
        stack.append(_Object(items[0], tuple(items[1:])))
    elif op == "POP":
        stack.pop()
    elif op == "POP_MARK":
        _pop_mark(stack)
    elif op == "DUP":
        stack.append(stack[-1])
    elif op in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[arg] = stack[-1]
    elif op == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif op in ("GET", "BINGET", "LONG_BINGET"):
        stack.append(memo[arg])
    elif op in ("NEXT_BUFFER", "READONLY_BUFFER"):
        stack.append(None)
    else:  # every other opcode pushes its (already decoded) argument
        stack.append(arg)


def _pop_mark(stack: list[Any]) -> list[Any]:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is _MARK:
            items = stack[index + 1 :]
            del stack[index:]
            return items
    raise ValueError("MARK missing")


def _pairs(items: list[Any]) -> dict[Any, Any]:
    return {
        items[i] if _hashable(items[i]) else repr(items[i]): items[i + 1]
        for i in range(0, len(items) - 1, 2)
    }


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _skip_array(handle: io.BytesIO, state: Any, result: _Scan) -> None:
    """Step over the raw bytes joblib wrote after a NumpyArrayWrapper, without reading them."""
    if not isinstance(state, dict):
        raise ValueError("a NumpyArrayWrapper without its state")
    dtype = state.get("dtype")
    if not (isinstance(dtype, _Object) and isinstance(dtype.args, tuple) and dtype.args):
        raise ValueError("a NumpyArrayWrapper whose dtype cannot be read")
    kind = np.dtype(str(dtype.args[0]))  # a type code such as 'f8': parsing it runs nothing
    if kind.hasobject:
        _walk(handle, result)  # an object array is written as a nested pickle
        return
    itemsize = kind.itemsize
    sized = dtype.state if isinstance(dtype.state, tuple) and len(dtype.state) > 5 else None
    if sized is not None and isinstance(sized[5], int) and sized[5] > 0:
        itemsize = sized[5]  # a flexible dtype ('U', 'S', 'V') records its own size
    shape = state.get("shape")
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError("a NumpyArrayWrapper whose shape cannot be read")
    if state.get("numpy_array_alignment_bytes") is not None:
        padding = handle.read(1)
        handle.seek(int.from_bytes(padding, "little"), io.SEEK_CUR)
    handle.seek(math.prod(shape) * itemsize, io.SEEK_CUR)


# -- the allow-list -----------------------------------------------------------------------------
def trusted(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a pickle may import ``name`` (``module.Name``)."""
    if name in set(extra) or name in TRUSTED_NAMES:
        return True
    module, _, attr = name.rpartition(".")
    parts = module.split(".")
    if parts[0] not in TRUSTED_ROOTS or name in NEVER_TRUSTED:
        return False
    if NEVER_TRUSTED_PARTS.intersection(parts) or attr.startswith("__"):
        return False
    try:  # an installed, trusted library's module: importing it runs nothing of the file's
        target = importlib.import_module(module)
        for part in attr.split("."):
            target = getattr(target, part)
    except Exception:
        return False
    return isinstance(target, (type, np.ufunc))


def refused(imports: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """The imports outside the allow-list, sorted."""
    allowed = list(extra)
    return sorted(name for name in set(imports) if not trusted(name, allowed))
