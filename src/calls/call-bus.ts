import { EventEmitter } from 'node:events';
import type { CallRecordDto } from './call-record';

/** In-process domain events. `call:update` carries the whole record with its increasing version. */
export interface CallBusEvents {
  'call:update': [call: CallRecordDto];
}

export type CallBus = ReturnType<typeof createCallBus>;

export function createCallBus() {
  const emitter = new EventEmitter<CallBusEvents>();
  emitter.setMaxListeners(0);
  return {
    publish(call: CallRecordDto): void {
      emitter.emit('call:update', call);
    },
    subscribe(listener: (call: CallRecordDto) => void): () => void {
      emitter.on('call:update', listener);
      return () => emitter.off('call:update', listener);
    },
  };
}
