"""Python's frame stack kept in memory: its 16 KiB chunks reused instead of unmapped.

CPython 3.11 to 3.13 keep a thread's frames in chunks of 16 KiB, taken with ``mmap`` from
the arena allocator when a call does not fit in the current chunk and returned with
``munmap`` as soon as the call that opened the chunk returns (CPython issue gh-142183, fixed
in March 2026 by keeping one chunk a thread, in the later releases of 3.13 and 3.14). A
program whose calls go up and down across a chunk's end pays two system calls and four page
faults for every such call: Numba's compiler does it hundreds of thousands of times, a
quarter of a cold compile's CPU in the kernel.

:func:`keep_frame_chunks` puts a small cache of such chunks in front of the process's arena
allocator (``PyObject_SetArenaAllocator``): a 16 KiB block freed goes to the cache (up to
:data:`SLOTS` of them), and the next 16 KiB block asked for comes from it. Every block still
comes from and, past the cache, goes back to the allocator that was there before, so blocks
taken before the cache existed are freed as they were. The cache's two functions are a few
lines of LLVM IR compiled by llvmlite (which Numba loads anyway): the arena allocator is
called without Python's help and must not run Python code. The interpreter holds the GIL
whenever it takes or frees such a block, which serialises the cache.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

__all__ = ["CHUNK_BYTES", "SLOTS", "keep_frame_chunks"]

#: The size of a frame-stack chunk (CPython's ``_PY_DATA_STACK_CHUNK_SIZE``); only blocks of
#: exactly this size are cached (the allocator's other blocks are obmalloc's 1 MiB arenas).
CHUNK_BYTES = 16 * 1024

#: How many freed chunks the cache holds at most (256 KiB).
SLOTS = 16

#: The state's fields (machine words): the previous allocator's context, its alloc and free
#: functions, the count of cached chunks, then the chunks.
_CTX, _ALLOC, _FREE, _COUNT, _HEAD = range(5)

_IR = f"""
define ptr @vidnet_sim_chunk_alloc(ptr %st, i64 %size) {{
entry:
  %chunk = icmp eq i64 %size, {CHUNK_BYTES}
  %np = getelementptr inbounds i64, ptr %st, i64 {_COUNT}
  %n = load i64, ptr %np
  %some = icmp ugt i64 %n, 0
  %hit = and i1 %chunk, %some
  br i1 %hit, label %cached, label %pass
cached:
  %m = sub i64 %n, 1
  store i64 %m, ptr %np
  %at = add i64 %m, {_HEAD}
  %slot = getelementptr inbounds ptr, ptr %st, i64 %at
  %block = load ptr, ptr %slot
  ret ptr %block
pass:
  %ctxp = getelementptr inbounds ptr, ptr %st, i64 {_CTX}
  %ctx = load ptr, ptr %ctxp
  %fp = getelementptr inbounds ptr, ptr %st, i64 {_ALLOC}
  %f = load ptr, ptr %fp
  %new = call ptr %f(ptr %ctx, i64 %size)
  ret ptr %new
}}

define void @vidnet_sim_chunk_free(ptr %st, ptr %block, i64 %size) {{
entry:
  %chunk = icmp eq i64 %size, {CHUNK_BYTES}
  %np = getelementptr inbounds i64, ptr %st, i64 {_COUNT}
  %n = load i64, ptr %np
  %room = icmp ult i64 %n, {SLOTS}
  %keep = and i1 %chunk, %room
  br i1 %keep, label %cache, label %pass
cache:
  %at = add i64 %n, {_HEAD}
  %slot = getelementptr inbounds ptr, ptr %st, i64 %at
  store ptr %block, ptr %slot
  %m = add i64 %n, 1
  store i64 %m, ptr %np
  ret void
pass:
  %ctxp = getelementptr inbounds ptr, ptr %st, i64 {_CTX}
  %ctx = load ptr, ptr %ctxp
  %fp = getelementptr inbounds ptr, ptr %st, i64 {_FREE}
  %f = load ptr, ptr %fp
  call void %f(ptr %ctx, ptr %block, i64 %size)
  ret void
}}
"""


class _ArenaAllocator(ctypes.Structure):
    """CPython's ``PyObjectArenaAllocator``."""

    _fields_ = [("ctx", ctypes.c_void_p), ("alloc", ctypes.c_void_p), ("free", ctypes.c_void_p)]


#: What must outlive the process's use of the cache: its state, the compiled code's engine.
_kept: list[Any] = []


def applies() -> bool:
    """Whether the cache is put in place here: CPython 3.11 to 3.13 with the GIL (the releases
    of 3.13 from March 2026 keep a chunk themselves, the cache then sees fewer frees)."""
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    version = (3, 11) <= sys.version_info[:2] < (3, 14)
    return sys.implementation.name == "cpython" and version and gil


def keep_frame_chunks() -> bool:
    """Put the chunk cache in front of the process's arena allocator, once; whether it is
    there. Nothing is done (``False``) where it does not apply (:func:`applies`) or when
    llvmlite cannot compile it."""
    if _kept:
        return True
    if not applies():
        return False
    try:
        import llvmlite.binding as llvm

        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        module = llvm.parse_assembly(_IR)
        module.verify()
        machine = llvm.Target.from_default_triple().create_target_machine()
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        alloc = engine.get_function_address("vidnet_sim_chunk_alloc")
        free = engine.get_function_address("vidnet_sim_chunk_free")
    except Exception:  # an optional speed-up: never stop the import for it
        return False
    if not (alloc and free):
        return False
    state = (ctypes.c_void_p * (_HEAD + SLOTS))()
    before = _ArenaAllocator()
    ctypes.pythonapi.PyObject_GetArenaAllocator(ctypes.byref(before))
    state[_CTX], state[_ALLOC], state[_FREE] = before.ctx, before.alloc, before.free
    state[_COUNT] = 0
    _kept.extend((state, engine, module, machine))
    ours = _ArenaAllocator(ctypes.cast(state, ctypes.c_void_p), alloc, free)
    ctypes.pythonapi.PyObject_SetArenaAllocator(ctypes.byref(ours))
    return True


keep_frame_chunks()  # on import: the package's __init__ imports this module second
