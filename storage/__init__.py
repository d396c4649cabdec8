"""Sans-IO partition storage: segment files, offset and time indexes, recovery, retention.

Synchronous and thread-safe per log; no networking, no asyncio, no threads of its own.  Modules:

* :mod:`storage.config` — :class:`~storage.config.LogConfig`, Kafka 3.9 topic keys and defaults,
  broker ``log.*`` synonyms.
* :mod:`storage.log_manager` — :class:`~storage.log_manager.LogManager`: log dirs, checkpoints,
  clean-shutdown marker, retention, periodic duties (:meth:`~storage.log_manager.LogManager.tick`).
* :mod:`storage.log` — :class:`~storage.log.Log`, one partition: append, read, roll, retention,
  truncation, offsets by time and epoch.
* :mod:`storage.log_loader` — opening a partition directory and crash recovery.
* :mod:`storage.segment` — :class:`~storage.segment.LogSegment`: ``.log`` + ``.index`` +
  ``.timeindex``.
* :mod:`storage.index`, :mod:`storage.offset_index`, :mod:`storage.time_index` — mmap-backed
  sparse indexes.
* :mod:`storage.leader_epoch` — ``leader-epoch-checkpoint`` cache.
* :mod:`storage.checkpoint` — Kafka's text checkpoint files, atomic writes.
* :mod:`storage.file_slice`, :mod:`storage.file_cache`, :mod:`storage.batch_scan` — open files,
  zero-copy slices, the open-descriptor bound, reading batches from files.
* :mod:`storage.errors` — exceptions with Kafka error codes; :mod:`storage.clock` — injectable time.
* :mod:`storage.producer_state` — idempotent/transactional producer state (used by the partition
  layer beside the log).
"""
