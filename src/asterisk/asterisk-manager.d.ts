/**
 * Minimal typings for asterisk-manager 0.2.0 (plain JS, no types of its own): only what
 * ami.client.ts uses. The library's behaviour, including its defects, is described in
 * ../../../shared/LIBRARIES.md and at the top of ami.client.ts.
 */
declare module 'asterisk-manager' {
  namespace AsteriskManager {
    /**
     * A frame as the library emits it: header names lowercased and trimmed, values as sent after
     * the first ': ' (not trimmed), a repeated header becomes an array, and `Variable:` /
     * `ChanVariable:` headers become an object `{ NAME: value }` (split on the first '=').
     */
    type FrameValue = string | string[] | Record<string, string>;
    type Frame = Record<string, FrameValue | undefined>;

    /** Callback of `action()`: `err` is the response itself when `Response: Error`. */
    type ActionCallback = (err: Frame | undefined, response?: Frame) => void;

    interface Manager {
      readonly options: { port: number | undefined; host: string; username: string; password: string; events: boolean };
      /** Opens the TCP connection; `callback` runs on TCP connect (the banner is not awaited). */
      connect(port: number, host: string, callback?: (err: null) => void): void;
      /** Sends `Action: login` with the constructor's credentials; only this sets the library's
       * "authenticated" flag that lets other actions be written instead of held. */
      login(callback?: (err?: Frame) => void): void;
      /**
       * Writes an action. Keys are normalised (`Key` = first letter upper, rest lower); the ActionID
       * is taken ONLY from a lowercase `actionid` key (any other spelling is dropped and replaced by
       * a Date.now() id). Returns the ActionID used. The callback is registered with `once(actionId)`
       * and is never removed by the library.
       */
      action(action: Record<string, string>, callback?: ActionCallback): string;
      /** `end()`s the socket if it is open (a half-open peer keeps it open: see ami.client.ts). */
      disconnect(callback?: () => void): void;
      isConnected(): boolean;

      on(event: 'managerevent', listener: (frame: Frame) => void): this;
      on(event: 'response', listener: (frame: Frame) => void): this;
      on(event: 'asterisk', listener: (frame: Frame) => void): this;
      on(event: 'connect' | 'close' | 'end', listener: () => void): this;
      on(event: 'error', listener: (err: Error) => void): this;
      on(event: string, listener: (...args: never[]) => void): this;
      removeListener(event: string, listener: (...args: never[]) => void): this;
      removeAllListeners(event?: string): this;
      listeners(event: string): Array<(...args: unknown[]) => void>;
      /** `rawevent` with a parsed frame: the library routes it (ActionID callbacks, managerevent, …). */
      emit(event: 'rawevent', frame: Frame): boolean;
    }
  }

  function AsteriskManager(port?: number, host?: string, username?: string, password?: string, events?: boolean): AsteriskManager.Manager;

  export = AsteriskManager;
}
