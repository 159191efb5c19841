// Hot-path messages of the watch actor.
import type { RevisionEvents } from './core.js';

/**
 * mvcc → watch: the events of the revisions one apply batch made (sent only while someone
 * watches). `missed`: the batch was applied without events, as nobody watched when it began.
 */
export interface AppliedEvents { revisions: RevisionEvents[]; missed?: boolean }

/** gateway → watch, batched per event-loop turn; `s` names the client's stream. */
export type WatchRequestItem =
  | { t: 'create'; s: number; req: Record<string, any> }
  | { t: 'cancel'; s: number; id: number }
  | { t: 'progress'; s: number }
  | { t: 'close'; s: number }
  /** The gateway has written this many bytes of the stream's responses to the client. */
  | { t: 'ack'; s: number; bytes: number };

export interface WatchRequests { items: WatchRequestItem[] }

/** watch → gateway: encoded WatchResponses to write, per stream, in order, as `count` joined gRPC frames. */
export interface WatchOutput { streams: { s: number; frames: Uint8Array; count: number }[] }
