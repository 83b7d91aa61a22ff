// What the import worker and its reader threads share: the worker data, the messages, and the
// layout of the shared arrays.
import type { MessagePort } from 'node:worker_threads';
import type { Ingested, ScannedFile } from './ingest';

export interface ReaderData {
  dbPath: string;
  sqliteBinding?: string;
  /** Int32Array over it, indexed by NEXT, POSTED and STOP; shared by all readers. */
  control: SharedArrayBuffer;
  /** Int32Array over it: SLOTS states (1 = holds bytes the import worker has not stored yet), then FREED. This reader's own. */
  slots: SharedArrayBuffer;
  /** The file list arrives on it first (readers start while the import worker scans), then results go back. */
  port: MessagePort;
}

/** The first and only message to a reader. */
export interface ReaderFiles {
  files: ScannedFile[];
}

/** A new image's bytes, left in one of the reader's slots for the import worker to store. */
export interface SlotRef {
  slot: number;
  buffer: SharedArrayBuffer;
  length: number;
}

export type ReaderMessage = { type: 'results'; results: { result: Ingested; bytes?: SlotRef }[] } | { type: 'done' };

/** The next file index to claim (Atomics.add by every thread that ingests). */
export const NEXT = 0;
/** Bumped and notified by a reader after each message, so the import worker can sleep on it. */
export const POSTED = 1;
/** Set to 1 by the import worker: stop claiming files (cancel, or the end). */
export const STOP = 2;
export const CONTROL_SLOTS = 3;

/** Slots per reader: how far a reader may run ahead of the import worker's writes. */
export const SLOTS = 16;
/** Index after the slot states: bumped and notified by the import worker whenever it frees a slot. */
export const FREED = SLOTS;
