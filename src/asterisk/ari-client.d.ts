/**
 * Minimal typings for ari-client 2.2.0 (plain JS, no types of its own): only what ari.client.ts
 * uses, private fields included (marked). Its defects are described in ../../../shared/LIBRARIES.md
 * and at the top of ari.client.ts. Promises are bluebird's: always handle their rejections.
 */
declare module 'ari-client' {
  import type { EventEmitter } from 'node:events';

  namespace ari {
    /** The `ws` (6.x) socket the library opens for the events websocket. */
    interface EventSocket extends EventEmitter {
      readonly readyState: number;
      ping(): void;
      terminate(): void;
      close(): void;
    }

    interface ChannelSnapshot {
      id: string;
      name: string;
      state: string;
      caller?: { name: string; number: string };
      dialplan?: { context: string; exten: string; priority: number };
    }

    interface StoredRecordingSnapshot {
      name: string;
      format: string;
    }

    interface OriginateParams {
      endpoint: string;
      extension?: string;
      context?: string;
      priority?: number;
      callerId?: string;
      /** seconds; Asterisk's default 30 */
      timeout?: number;
      /** sent as the JSON body `{ "variables": { … } }` */
      variables?: Record<string, string>;
    }

    interface Client extends EventEmitter {
      /**
       * Opens `/ari/events?app=…&api_key=user:pass`. Resolves on the first open; reconnects by itself
       * (100 ms doubling to 10 s, 10 retries) and then emits `WebSocketMaxRetries` and gives up.
       */
      start(apps: string | string[], subscribeAll?: boolean): PromiseLike<void>;
      /** Closes the websocket (throws when start() never ran). A pending retry still fires. */
      stop(): void;
      /** Pings the websocket (throws unless it is open). */
      ping(): void;
      channels: { originate(params: OriginateParams): PromiseLike<ChannelSnapshot> };
      recordings: {
        getStored(params: { recordingName: string }): PromiseLike<StoredRecordingSnapshot>;
        deleteStored(params: { recordingName: string }): PromiseLike<void>;
      };
      /** private: the current events socket */
      _ws?: EventSocket;
      /** private: set by stop() so the close is not treated as a drop */
      _wsClosed?: boolean;
      /** private: the swagger API built from the api-docs (events models by type) */
      _swagger?: { apis?: { events?: { models?: Record<string, unknown> } } };
    }

    /** Fetches /ari/api-docs/resources.json (once without credentials, then with) and every declaration. */
    function connect(url: string, user: string, pass: string): PromiseLike<Client>;
  }
  export = ari;
}
