import type { DataSource } from 'typeorm';

export interface ExtensionOwner {
  extension: string;
  userId: string | null;
  name: string | null;
}

/**
 * The extensions registered in calltrack, kept in memory for the event path (which never waits on
 * the database). Reloaded after every change made here and periodically for changes made by
 * another process, so adding or removing an extension applies to the next PBX event.
 */
export interface ExtensionDirectory {
  has(extension: string): boolean;
  lookup(extension: string): ExtensionOwner | undefined;
  extensionsOf(userId: string): string[];
  reload(): Promise<void>;
}

export function createExtensionDirectory(ds: DataSource): ExtensionDirectory {
  let byNumber = new Map<string, ExtensionOwner>();
  return {
    has: (extension) => byNumber.has(extension),
    lookup: (extension) => byNumber.get(extension),
    extensionsOf: (userId) => [...byNumber.values()].filter((e) => e.userId === userId).map((e) => e.extension),
    async reload() {
      const rows: { number: string; user_id: string | null; name: string | null }[] = await ds.query(
        `SELECT e.number, e.user_id, u.name FROM extensions e LEFT JOIN users u ON u.id = e.user_id`,
      );
      byNumber = new Map(rows.map((r) => [r.number, { extension: r.number, userId: r.user_id, name: r.name }]));
    },
  };
}
