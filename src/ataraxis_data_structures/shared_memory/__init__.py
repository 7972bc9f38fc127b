"""A NumPy array in named shared memory, read and written by many processes under one lock."""

from .shared_memory_array import SharedMemoryArray, SharedMemoryFormatError, SharedMemoryLockWarning

__all__ = ["SharedMemoryArray", "SharedMemoryFormatError", "SharedMemoryLockWarning"]
