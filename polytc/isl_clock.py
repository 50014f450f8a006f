"""A CPU-time limit for isl's work.

isl bounds its work by a count of operations (``set_max_operations``), but
the time an operation takes varies by orders of magnitude: a random
program's AST build (fuzz seed 9180, program 62) ran 12 s for 5 million
operations, and over 200 s before reaching the 30 million that the kernel
corpus may use.  isl also stops at its next operation once
``isl_ctx_abort`` has been called, which is meant to be called from
elsewhere while isl works; islpy holds the GIL through each isl call, so no
Python thread can.  Here a POSIX timer on the calling thread's CPU clock
(``timer_create`` with ``SIGEV_THREAD``) calls ``isl_ctx_abort`` itself,
from a thread of the C library, which needs no GIL.  CPU time, not wall
time: a loaded machine gives up on the same work as an idle one.

islpy gives no access to the ``isl_ctx *`` behind a Context, so it is read
from the nanobind instance (``{PyObject_HEAD; int32 offset; flags}``, the
C++ ``ctx`` struct whose only member is the pointer), and checked through
isl itself before use.  Where any of this is missing (not Linux, another
islpy binding, a check that fails) there is no limit and only the
operation count bounds isl.
"""
from __future__ import annotations

import ctypes
import logging
from contextlib import contextmanager
from typing import Iterator

import islpy as isl

_log = logging.getLogger(__name__)

_CLOCK_THREAD_CPUTIME_ID = 3
_SIGEV_THREAD = 2
_NANOBIND_READY = 2  # nb_inst.state of a constructed instance


class _SigVal(ctypes.Union):
    _fields_ = [("sival_int", ctypes.c_int), ("sival_ptr", ctypes.c_void_p)]


class _SigEvent(ctypes.Structure):
    """glibc's ``struct sigevent`` (64 bytes) with its SIGEV_THREAD members."""
    _fields_ = [("sigev_value", _SigVal), ("sigev_signo", ctypes.c_int),
                ("sigev_notify", ctypes.c_int), ("notify_function", ctypes.c_void_p),
                ("notify_attributes", ctypes.c_void_p), ("_pad", ctypes.c_byte * 32)]


class _TimeSpec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _ITimerSpec(ctypes.Structure):
    _fields_ = [("it_interval", _TimeSpec), ("it_value", _TimeSpec)]


class _Native:
    """The C functions the limit calls (an AttributeError where one is missing)."""

    def __init__(self) -> None:
        import islpy._isl as binding
        isl_lib = ctypes.CDLL(binding.__file__)
        libc = ctypes.CDLL(None, use_errno=True)
        self.abort = ctypes.cast(isl_lib.isl_ctx_abort, ctypes.c_void_p).value
        self.get_max_operations = isl_lib.isl_ctx_get_max_operations
        self.get_max_operations.restype = ctypes.c_ulong
        self.get_max_operations.argtypes = [ctypes.c_void_p]
        self.timer_create = libc.timer_create
        self.timer_create.argtypes = [ctypes.c_int, ctypes.POINTER(_SigEvent),
                                      ctypes.POINTER(ctypes.c_void_p)]
        self.timer_settime = libc.timer_settime
        self.timer_settime.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                       ctypes.POINTER(_ITimerSpec), ctypes.c_void_p]
        self.timer_delete = libc.timer_delete
        self.timer_delete.argtypes = [ctypes.c_void_p]


_native: _Native | None | bool = False  # False: not looked up yet


def _functions() -> _Native | None:
    global _native
    if _native is False:
        try:
            _native = _Native()
        except (AttributeError, OSError, ImportError) as error:
            _log.debug("no CPU-time limit for isl: %s", error)
            _native = None
    return _native  # type: ignore[return-value]


def _ctx_pointer(ctx: isl.Context, native: _Native) -> int | None:
    """The ``isl_ctx *`` that ``ctx`` wraps, or None where it cannot be read
    and confirmed."""
    if type(type(ctx)).__module__ != "nanobind":
        return None
    base = id(ctx)
    offset = ctypes.c_int32.from_address(base + 16).value
    flags = ctypes.c_uint32.from_address(base + 20).value
    if flags & 3 != _NANOBIND_READY or not 16 <= offset <= 256:
        return None
    instance = base + offset if flags & 4 else ctypes.c_void_p.from_address(base + offset).value
    if not instance:
        return None
    pointer = ctypes.c_void_p.from_address(instance).value
    if not pointer:
        return None
    saved = ctx.get_max_operations()
    try:  # a value isl can only report through the pointer if it is ctx's
        ctx.set_max_operations(7_654_321)
        confirmed = native.get_max_operations(pointer) == 7_654_321
    finally:
        ctx.set_max_operations(saved)
    return pointer if confirmed else None


@contextmanager
def cpu_limit(ctx: isl.Context, seconds: float | None) -> Iterator[None]:
    """isl fails its next operation on ``ctx`` once the calling thread has
    used ``seconds`` of CPU time in the block (``isl.Error``; :func:`aborted`
    then holds until the block ends); nothing where ``seconds`` is None or
    the platform cannot (see the module's docstring)."""
    native = _functions() if seconds is not None and seconds > 0 else None
    pointer = _ctx_pointer(ctx, native) if native is not None else None
    if native is None or pointer is None or seconds is None:
        yield
        return
    event = _SigEvent()
    event.sigev_notify = _SIGEV_THREAD
    event.notify_function = native.abort
    event.sigev_value.sival_ptr = pointer
    timer = ctypes.c_void_p()
    if native.timer_create(_CLOCK_THREAD_CPUTIME_ID, ctypes.byref(event),
                           ctypes.byref(timer)) != 0:
        _log.debug("timer_create failed (errno %d)", ctypes.get_errno())
        yield
        return
    whole = int(seconds)
    when = _ITimerSpec(_TimeSpec(0, 0),
                       _TimeSpec(whole, max(1, int((seconds - whole) * 1e9))))  # 0 disarms
    try:
        native.timer_settime(timer, 0, ctypes.byref(when), None)
        yield
    finally:
        native.timer_delete(timer)
        # Even a timer deleted in time may have fired just before: isl keeps
        # failing every operation until its abort is withdrawn.
        if ctx.aborted():
            ctx.resume()


def supported(ctx: isl.Context) -> bool:
    """Whether :func:`cpu_limit` can stop isl on ``ctx`` here."""
    native = _functions()
    return native is not None and _ctx_pointer(ctx, native) is not None


def aborted(ctx: isl.Context) -> bool:
    """Whether a :func:`cpu_limit` has passed on ``ctx`` (inside its block)."""
    return bool(ctx.aborted())
