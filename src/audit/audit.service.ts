import type { DataSource } from 'typeorm';
import type { Principal } from '../users/principal';
import { AuditLog } from './audit-log.entity';

export type AuditService = ReturnType<typeof createAuditService>;

/** Append-only record of who did what. Never stores secrets (callers pass field names, not values). */
export function createAuditService(ds: DataSource) {
  const repo = ds.getRepository(AuditLog);
  return {
    async record(
      actor: Principal | null,
      action: string,
      entityType: string | null,
      entityId: string | null,
      details: Record<string, unknown> = {},
      ip: string | null = null,
    ): Promise<void> {
      await repo.insert(repo.create({ actorUserId: actor?.userId ?? null, action, entityType, entityId, details, ip }));
    },
    async list(limit = 100) {
      const rows = await repo.find({ order: { at: 'DESC' }, take: limit });
      return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
    },
  };
}
