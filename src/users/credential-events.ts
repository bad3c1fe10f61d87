import { EventEmitter } from 'node:events';

/**
 * "This user's credentials changed": a logout, a password or role change, a deactivation, a revoked
 * API token. The live layer checks that user's open sockets again at once instead of at its next
 * periodic re-check.
 */
export type CredentialEvents = ReturnType<typeof createCredentialEvents>;

export function createCredentialEvents() {
  const emitter = new EventEmitter<{ changed: [userId: string] }>();
  emitter.setMaxListeners(0);
  return {
    changed(userId: string): void {
      emitter.emit('changed', userId);
    },
    subscribe(listener: (userId: string) => void): () => void {
      emitter.on('changed', listener);
      return () => emitter.off('changed', listener);
    },
  };
}
