// Types of the Simple Comet modern client (simple-comet.mjs, and the global
// SimpleComet of simple-comet.umd.js). The contract is docs/PROTOCOL.md,
// "The modern browser client".

/** One message of a channel. */
export interface Message {
  /** The published text. */
  content: string;
  /**
   * The message id: unique and increasing across the server, time × 100000
   * (units of 10 µs). It stays below 2^53 until about the year 4800, so a
   * plain number holds it exactly.
   */
  id: number;
  /** Publish time, Unix seconds. */
  ts: number;
}

/** What onReply gets: only this subscription's channels, only new messages. */
export interface Reply {
  /** Channel name → its new messages, oldest first. */
  messages: Record<string, Message[]>;
  /** The `since` of the read this came from. */
  since: number;
  /** The newest id when the server took the reply. */
  last_id: number;
  /** Channels in which retention dropped messages this subscription had not been given. */
  truncated?: string[];
}

export type State = "connecting" | "live" | "retrying" | "stopped";

/** A failed poll that concerns the subscription; the client retries it by itself. */
export interface SubscribeError {
  /**
   * "network": fetch failed; "timeout": no answer within `timeout`;
   * "http": not a JSON reply (status tells); "server": an error reply
   * (code: -1 … -5); "url": not a read URL; "unsupported": no browser
   * (Node, server-side rendering), nothing is polled.
   */
  kind: "network" | "timeout" | "http" | "server" | "url" | "unsupported";
  /** The reply's return_code, for kind "server". */
  code?: number;
  /** The HTTP status, when there was an answer. */
  status?: number;
  message: string;
  /** Milliseconds until the next attempt. */
  retryIn?: number;
  /** True when another tab's poll failed and this tab was told. */
  relayed?: boolean;
}

export interface SubscribeOptions {
  /** The client_id of session channels. */
  clientId?: string;
  /** Start after this id (default 0: whatever the channels retain). */
  since?: number;
  /** Share one poll with every subscription of the same group in every tab (default true). */
  share?: boolean;
  /**
   * Milliseconds: a poll unanswered this long is abandoned and retried, and
   * a visible tab that heard nothing from the tab that polls for it for this
   * long checks on it and takes over (default 45000; keep it above the
   * server's --http-timeout).
   */
  timeout?: number;
  onState?: (state: State) => void;
  onError?: (error: SubscribeError) => void;
  /** Channels where messages were lost to retention before they could be delivered. */
  onGap?: (channels: string[]) => void;
}

/** A running subscription. */
export interface Subscription {
  /** Stops it for good; calling it again does nothing. */
  cancel(): void;
}

/**
 * Subscribes to a read URL (`…/channels/a%7Cb.json` or `.jsonp`, any
 * origin). A string for options is the client id, as with the first client.
 */
export function subscribe(
  url: string,
  onReply: (reply: Reply) => void,
  options?: string | SubscribeOptions,
): Subscription;

/** Does nothing: pages written for the first client call it. */
export function start(): void;

/** The UMD build defines these as the global SimpleComet. */
export as namespace SimpleComet;
